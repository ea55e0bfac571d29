/* xca/responder.c -- the node's SOAP dispatch table: the XCA responding
 * gateway (ITI-38, ITI-39) and the XDS.b registry and repository (ITI-18,
 * ITI-41, ITI-43), plain SOAP or MTOM/XOP. */
#include "xca/xca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/mtom.h"
#include "node/soap.h"
#include "xca/privacy.h"
#include "mpi/v3.h"
#include "xca/xcpd.h"

/* What a transaction handler gets: the request, its attachments (NULL
 * unless MTOM), and the response Body to fill. */
struct txn {
	const struct xca_responder *r;
	const struct soap_msg      *m;
	const struct mtom_msg      *att;
	xmlNode                    *body;
	struct xca_outcome         *out;
};
typedef hie_err (*txn_fn)(struct txn *t);

/* What a registry answer says for the log and audit record: why the body
 * could not be read (HIE_EPROTO, a Fault follows), or the IHE error the
 * response carries. */
static hie_err
registry_outcome(struct xca_outcome *out, hie_err e, const struct reg_error *err, const char *expected)
{
	if (e == HIE_EPROTO)
		snprintf(out->detail, sizeof(out->detail), "body is not %s", expected);
	else if (e == HIE_OK && err->code != NULL)
		snprintf(out->detail, sizeof(out->detail), "%s: %.200s", err->code, err->context);
	return e;
}

/* ITI-38: any stored query against the local registry (ITI TF-2b
 * 3.38.4.1.3: a responding gateway answers them all), the same engine as
 * ITI-18. */
static hie_err
stored_query(struct txn *t, const char *home)
{
	struct reg_sq_opts  o = { home, t->r->max_results };
	struct xca_outcome *out = t->out;
	struct reg_error    err;
	hie_err             e;

	e = reg_sq_answer(t->r->reg, t->m->body, t->body, &o, &err, out->patient);
	return registry_outcome(out, e, &err, "an AdhocQueryRequest");
}

static hie_err
iti38(struct txn *t)
{
	hie_err e;

	xca_privacy_capture_query(t->m->body, t->out);
	e = stored_query(t, t->r->home);
	/* Consent: what the patient did not allow is not in the answer. */
	if (e == HIE_OK && t->r->consent != NULL)
		e = xca_privacy_filter_query(t->r, t->body, t->out);
	return e;
}

/* ITI-18: the same engine, for this community's own document consumers
 * (no homeCommunityId on the results).  Consent binds them as it binds
 * other communities: an opted-out patient is invisible to every responder. */
static hie_err
iti18(struct txn *t)
{
	hie_err e;

	xca_privacy_capture_query(t->m->body, t->out);
	e = stored_query(t, NULL);
	if (e == HIE_OK && t->r->consent != NULL)
		e = xca_privacy_filter_query(t->r, t->body, t->out);
	return e;
}

/* ITI-41: one submission, stored durably before the response is built. */
static hie_err
iti41(struct txn *t)
{
	struct reg_pnr_opts o = { t->r->repository_id, t->r->max_submission_objects,
		t->r->max_document_bytes, t->r->max_document_bytes };
	struct reg_error    err;
	hie_err             e;

	e = reg_pnr_answer(t->r->reg, t->m->body, t->att, t->body, &o, &err, t->out->patient);
	return registry_outcome(t->out, e, &err, "a ProvideAndRegisterDocumentSetRequest");
}

/* ITI-39 and ITI-43: documents from the local repository (ITI-43 without
 * a homeCommunityId). */
static hie_err
retrieve(struct txn *t, const char *home)
{
	const struct xca_responder *r = t->r;
	const struct soap_msg      *m = t->m;
	xmlNode                    *body = t->body;
	struct xca_outcome         *out = t->out;
	struct reg_doc_ref *refs = calloc(REG_MAX_RETRIEVE, sizeof(*refs)), *denied = NULL;
	size_t              n, found, ndenied = 0;
	char                why[256];
	hie_err             e;

	if (refs == NULL)
		return HIE_ENOMEM;
	if ((e = reg_retrieve_request_parse(m->body, refs, &n, why, sizeof(why))) != HIE_OK) {
		snprintf(out->detail, sizeof(out->detail), "%s", why);
		free(refs);
		return HIE_EPROTO;
	}
	/* Consent, for ITI-39 and for this community's own consumers
	 * (ITI-43) alike: a withheld document is answered as a missing one. */
	if (r->consent != NULL) {
		if ((denied = calloc(REG_MAX_RETRIEVE, sizeof(*denied))) == NULL) {
			free(refs);
			return HIE_ENOMEM;
		}
		xca_privacy_filter_retrieve(r, refs, &n, denied, &ndenied, out);
	}
	/* The audit record names the documents disclosed. */
	for (size_t i = 0, k = 0; i < n && k + 1 < sizeof(out->documents); i++)
		k += (size_t) snprintf(out->documents + k, sizeof(out->documents) - k, "%s%s", i ? " " : "", refs[i].unique_id);
	e = reg_retrieve_response_build(body, r->reg, home, r->repository_id, refs, n, r->lim.max_bytes, &found);
	if (e == HIE_OK && ndenied > 0)
		xca_privacy_retrieve_errors(body, denied, ndenied);
	if (e == HIE_OK && found < n + ndenied)
		snprintf(out->detail, sizeof(out->detail), "%zu of %zu documents not found", n + ndenied - found, n + ndenied);
	free(refs);
	free(denied);
	return e;
}

static hie_err
iti39(struct txn *t)
{
	return retrieve(t, t->r->home);
}

static hie_err
iti43(struct txn *t)
{
	return retrieve(t, NULL);
}

/* ITI-55, ITI-45, ITI-47: patient queries answered from the MPI
 * (xca/xcpd.c). */
static hie_err
iti55(struct txn *t)
{
	return xcpd_answer(t->r, XCPD_ITI55, t->m->body, t->body, t->out);
}

static hie_err
iti45(struct txn *t)
{
	return xcpd_answer(t->r, XCPD_ITI45, t->m->body, t->body, t->out);
}

static hie_err
iti47(struct txn *t)
{
	return xcpd_answer(t->r, XCPD_ITI47, t->m->body, t->body, t->out);
}

/* The transactions this node answers.  Dispatch, logs and metrics read
 * this table. */
static const struct {
	const char *action;
	const char *response_action;
	const char *name;
	txn_fn      fn;
} transactions[] = {
	{ SOAP_ACTION_ITI38, SOAP_ACTION_ITI38_RESP, "ITI-38", iti38 },
	{ SOAP_ACTION_ITI39, SOAP_ACTION_ITI39_RESP, "ITI-39", iti39 },
	{ SOAP_ACTION_ITI18, SOAP_ACTION_ITI18_RESP, "ITI-18", iti18 },
	{ SOAP_ACTION_ITI41, SOAP_ACTION_ITI41_RESP, "ITI-41", iti41 },
	{ SOAP_ACTION_ITI43, SOAP_ACTION_ITI43_RESP, "ITI-43", iti43 },
	{ V3_ACTION_ITI55, V3_ACTION_ITI55_RESP, "ITI-55", iti55 },
	{ V3_ACTION_ITI45, V3_ACTION_ITI45_RESP, "ITI-45", iti45 },
	{ V3_ACTION_ITI47, V3_ACTION_ITI47_RESP, "ITI-47", iti47 },
};

static hie_err
fault(const char *code, const char *subcode, const char *reason, const char *relates_to,
    char **resp, size_t *rlen, struct xca_outcome *out)
{
	out->status = "fault";
	snprintf(out->detail, sizeof(out->detail), "%s", reason);
	return soap_fault(code, subcode, reason, relates_to, resp, rlen);
}

/* The Document elements of a retrieve response become attachments: each
 * base64 text is decoded into a part and replaced by an xop:Include.
 * parts[] and their buffers are the caller's to free. */
static hie_err
to_attachments(xmlNode *n, struct mtom_part *parts, char (*ids)[MTOM_CONTENT_ID_SIZE], size_t *np, size_t max,
    size_t max_bytes)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		hie_err e;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns != NULL && strcmp((const char *) c->ns->href, REG_NS_XDSB) == 0 &&
		    strcmp((const char *) c->name, "Document") == 0) {
			xmlChar *text = xmlNodeGetContent(c);
			char    *bytes;
			size_t   len;
			if (*np == max) {
				xmlFree(text);
				return HIE_ETOOBIG;
			}
			e = hie_base64_decode((const char *) text, text ? strlen((const char *) text) : 0, max_bytes, &bytes, &len);
			xmlFree(text);
			if (e != HIE_OK)
				return e;
			mtom_content_id(ids[*np], MTOM_CONTENT_ID_SIZE);
			parts[*np] = (struct mtom_part) { ids[*np], "application/octet-stream", bytes, len };
			(*np)++;
			xmlNodeSetContent(c, NULL);
			if ((e = mtom_add_include(c, ids[*np - 1])) != HIE_OK)
				return e;
			continue;
		}
		if ((e = to_attachments(c, parts, ids, np, max, max_bytes)) != HIE_OK)
			return e;
	}
	return HIE_OK;
}

/* Serialises the signed response, as MTOM when the request was. */
static hie_err
serialise(const struct xca_responder *r, xmlDoc *doc, int mtom, const char *action, char **resp, size_t *rlen,
    char *ctype, size_t ctcap)
{
	struct mtom_part *parts = NULL;
	char (*ids)[MTOM_CONTENT_ID_SIZE] = NULL;
	size_t            np = 0;
	char             *xml = NULL;
	size_t            xlen;
	hie_err           e = HIE_OK;

	if (mtom) {
		parts = calloc(REG_MAX_RETRIEVE, sizeof(*parts));
		ids = calloc(REG_MAX_RETRIEVE, sizeof(*ids));
		if (parts == NULL || ids == NULL)
			e = HIE_ENOMEM;
		else
			e = to_attachments(xmlDocGetRootElement(doc), parts, ids, &np, REG_MAX_RETRIEVE, r->lim.max_bytes);
	}
	/* Signed after the Documents became xop:Includes: the signature
	 * covers the envelope as sent. */
	if (e == HIE_OK)
		e = r->signer != NULL ? wss_sign_text(r->signer, doc, NULL, NULL, r->ttl_s, &xml, &xlen)
		                      : hie_xml_dump(doc, &xml, &xlen);
	if (e == HIE_OK && mtom) {
		hie_buf b;
		hie_buf_init(&b, xlen + 4096 + r->lim.max_bytes + np * 512);
		e = mtom_build(&b, ctype, ctcap, action, xml, xlen, parts, np);
		free(xml);
		xml = NULL;
		if (e == HIE_OK)
			*resp = hie_buf_take(&b, rlen);
		hie_buf_free(&b);
	} else if (e == HIE_OK) {
		*resp = xml;
		*rlen = xlen;
		if (ctype != NULL)
			snprintf(ctype, ctcap, "application/soap+xml; charset=utf-8");
	}
	for (size_t i = 0; i < np; i++)
		free((void *) parts[i].data);
	free(parts);
	free(ids);
	return e;
}

hie_err
xca_respond(const struct xca_responder *r, const char *req, size_t len, const char *rid, char **resp,
    size_t *rlen, struct xca_outcome *out)
{
	return xca_respond_mime(r, NULL, req, len, rid, resp, rlen, NULL, 0, out);
}

hie_err
xca_respond_mime(const struct xca_responder *r, const char *ctype_in, const char *req, size_t len, const char *rid,
    char **resp, size_t *rlen, char *ctype_out, size_t ctcap, struct xca_outcome *out)
{
	struct mtom_limits mlim = { 1000, 8192, r->lim.max_bytes };
	struct mtom_msg    mm = { 0 };
	struct soap_msg    m;
	struct txn         t;
	xmlDoc            *doc;
	xmlNode           *body;
	hie_err            e;
	size_t             i;
	int                mtom = 0;

	(void) rid;
	*resp = NULL;
	*rlen = 0;
	if (ctype_out != NULL && ctcap > 0)
		snprintf(ctype_out, ctcap, "application/soap+xml; charset=utf-8");
	out->transaction = "unknown";
	out->status = "ok";
	out->detail[0] = '\0';
	out->requester[0] = '\0';
	out->security = 0;
	out->community[0] = '\0';
	out->patient[0] = '\0';
	out->documents[0] = '\0';
	out->withheld = 0;
	out->consent_override = 0;
	out->withheld_why[0] = '\0';
	out->query[0] = '\0';
	memset(&out->claims, 0, sizeof(out->claims));
	if (ctype_in != NULL && strncasecmp(ctype_in, "multipart/related", 17) == 0) {
		const struct mtom_part *root;
		char                    why[200], reason[256];
		if ((e = mtom_parse(ctype_in, req, len, &mlim, &mm, why, sizeof(why))) != HIE_OK) {
			snprintf(reason, sizeof(reason), "malformed MTOM/XOP message: %s", why);
			mtom_free(&mm);
			return fault("Sender", NULL, reason, NULL, resp, rlen, out);
		}
		mtom = 1;
		root = mtom_root(&mm);
		req = root->data;
		len = root->len;
	}
	if ((e = soap_parse(req, len, &r->lim, &m)) != HIE_OK) {
		const char *sub = e == HIE_EXMLHOSTILE || e == HIE_ETOOBIG ? "s:HostileOrOversized" : NULL;
		mtom_free(&mm);
		return fault("Sender", sub, hie_strerror(e), NULL, resp, rlen, out);
	}
	for (i = 0; i < sizeof(transactions) / sizeof(transactions[0]); i++)
		if (strcmp(m.action, transactions[i].action) == 0)
			break;
	if (i == sizeof(transactions) / sizeof(transactions[0])) {
		e = fault("Sender", "a:ActionNotSupported", "this node does not serve that wsa:Action",
		    m.message_id, resp, rlen, out);
		goto done;
	}
	out->transaction = transactions[i].name;
	/* Before anything reads the request: is it signed by a member, for
	 * us, fresh, and never seen before? */
	if (!r->allow_unsigned) {
		struct wss_identity who;
		char                why[256];
		if ((e = wss_verify(r->verifier, &m, 1, NULL, &who, why, sizeof(why))) != HIE_OK) {
			out->security = 1;
			hie_strlcpy(out->community, who.community, sizeof(out->community));
			e = fault("Sender", wss_fault_code(e), why, m.message_id, resp, rlen, out);
			goto done;
		}
		snprintf(out->requester, sizeof(out->requester), "%s %s", who.community, who.claims.subject_id);
		hie_strlcpy(out->community, who.community, sizeof(out->community));
		out->claims = who.claims;
	}
	if ((e = soap_envelope_new(transactions[i].response_action, NULL,
	         m.message_id != NULL ? m.message_id : SOAP_WSA_ANONYMOUS, &doc, &body, NULL)) != HIE_OK)
		goto done;
	t = (struct txn) { r, &m, mtom ? &mm : NULL, body, out };
	e = transactions[i].fn(&t);
	if (e == HIE_OK) {
		if (out->detail[0] != '\0')
			out->status = "error"; /* an ebRS error response, still a valid answer */
		e = serialise(r, doc, mtom, transactions[i].response_action, resp, rlen, ctype_out, ctcap);
	}
	xmlFreeDoc(doc);
	if (e == HIE_EPROTO) {
		/* The handler could not read the request at all. */
		char why[sizeof(out->detail)];
		memcpy(why, out->detail, sizeof(why));
		e = fault("Sender", NULL, why, m.message_id, resp, rlen, out);
	} else if (e != HIE_OK && e != HIE_ENOMEM) {
		free(*resp);
		*resp = NULL;
		e = fault("Receiver", NULL, hie_strerror(e), m.message_id, resp, rlen, out);
	}
done:
	if (out->status[0] == 'f' && ctype_out != NULL && ctcap > 0)
		snprintf(ctype_out, ctcap, "application/soap+xml; charset=utf-8");
	soap_msg_free(&m);
	mtom_free(&mm);
	return e;
}
