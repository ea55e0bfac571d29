/* xca/responder.c -- the responding gateway's dispatch table and ITI-38. */
#include "xca/xca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/soap.h"

typedef hie_err (*txn_fn)(const struct xca_responder *r, const struct soap_msg *m,
    xmlNode *resp_body, struct xca_outcome *out);

/* ITI-38: any stored query against the local registry (ITI TF-2b
 * 3.38.4.1.3: a responding gateway answers them all), the same engine as
 * ITI-18. */
static hie_err
iti38(const struct xca_responder *r, const struct soap_msg *m, xmlNode *body, struct xca_outcome *out)
{
	struct reg_sq_opts o = { r->home, r->max_results };
	struct reg_error   err;
	hie_err            e;

	e = reg_sq_answer(r->reg, m->body, body, &o, &err, out->patient);
	if (e == HIE_EPROTO)
		snprintf(out->detail, sizeof(out->detail), "body is not an AdhocQueryRequest");
	else if (e == HIE_OK && err.code != NULL)
		snprintf(out->detail, sizeof(out->detail), "%s: %.200s", err.code, err.context);
	return e;
}

/* ITI-39: documents from the local repository. */
static hie_err
iti39(const struct xca_responder *r, const struct soap_msg *m, xmlNode *body, struct xca_outcome *out)
{
	struct reg_doc_ref *refs = calloc(REG_MAX_RETRIEVE, sizeof(*refs));
	size_t              n, found;
	char                why[256];
	hie_err             e;

	if (refs == NULL)
		return HIE_ENOMEM;
	if ((e = reg_retrieve_request_parse(m->body, refs, &n, why, sizeof(why))) != HIE_OK) {
		snprintf(out->detail, sizeof(out->detail), "%s", why);
		free(refs);
		return HIE_EPROTO;
	}
	/* The audit record names the documents disclosed. */
	for (size_t i = 0, k = 0; i < n && k + 1 < sizeof(out->documents); i++)
		k += (size_t) snprintf(out->documents + k, sizeof(out->documents) - k, "%s%s", i ? " " : "", refs[i].unique_id);
	e = reg_retrieve_response_build(body, r->reg, r->home, r->repository_id, refs, n, r->lim.max_bytes, &found);
	if (e == HIE_OK && found < n)
		snprintf(out->detail, sizeof(out->detail), "%zu of %zu documents not found", n - found, n);
	free(refs);
	return e;
}

/* The transactions this node answers.  Dispatch, logs and metrics read
 * this table; ITI-39, ITI-55 and the XDS.b transactions join it. */
static const struct {
	const char *action;
	const char *response_action;
	const char *name;
	txn_fn      fn;
} transactions[] = {
	{ SOAP_ACTION_ITI38, SOAP_ACTION_ITI38_RESP, "ITI-38", iti38 },
	{ SOAP_ACTION_ITI39, SOAP_ACTION_ITI39_RESP, "ITI-39", iti39 },
};

static hie_err
fault(const char *code, const char *subcode, const char *reason, const char *relates_to,
    char **resp, size_t *rlen, struct xca_outcome *out)
{
	out->status = "fault";
	snprintf(out->detail, sizeof(out->detail), "%s", reason);
	return soap_fault(code, subcode, reason, relates_to, resp, rlen);
}

hie_err
xca_respond(const struct xca_responder *r, const char *req, size_t len, const char *rid, char **resp,
    size_t *rlen, struct xca_outcome *out)
{
	struct soap_msg m;
	xmlDoc         *doc;
	xmlNode        *body;
	hie_err         e;
	size_t          i;

	(void) rid;
	*resp = NULL;
	*rlen = 0;
	out->transaction = "unknown";
	out->status = "ok";
	out->detail[0] = '\0';
	out->requester[0] = '\0';
	out->security = 0;
	out->community[0] = '\0';
	out->patient[0] = '\0';
	out->documents[0] = '\0';
	memset(&out->claims, 0, sizeof(out->claims));
	if ((e = soap_parse(req, len, &r->lim, &m)) != HIE_OK) {
		const char *sub = e == HIE_EXMLHOSTILE || e == HIE_ETOOBIG ? "s:HostileOrOversized" : NULL;
		return fault("Sender", sub, hie_strerror(e), NULL, resp, rlen, out);
	}
	for (i = 0; i < sizeof(transactions) / sizeof(transactions[0]); i++)
		if (strcmp(m.action, transactions[i].action) == 0)
			break;
	if (i == sizeof(transactions) / sizeof(transactions[0])) {
		e = fault("Sender", "a:ActionNotSupported", "this node does not serve that wsa:Action",
		    m.message_id, resp, rlen, out);
		soap_msg_free(&m);
		return e;
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
			soap_msg_free(&m);
			return e;
		}
		snprintf(out->requester, sizeof(out->requester), "%s %s", who.community, who.claims.subject_id);
		hie_strlcpy(out->community, who.community, sizeof(out->community));
		out->claims = who.claims;
	}
	if ((e = soap_envelope_new(transactions[i].response_action, NULL,
	         m.message_id != NULL ? m.message_id : SOAP_WSA_ANONYMOUS, &doc, &body, NULL)) != HIE_OK) {
		soap_msg_free(&m);
		return e;
	}
	e = transactions[i].fn(r, &m, body, out);
	if (e == HIE_OK) {
		if (out->detail[0] != '\0')
			out->status = "error"; /* an ebRS error response, still a valid answer */
		if (r->signer != NULL)
			e = wss_sign(r->signer, doc, NULL, NULL, r->ttl_s);
		if (e == HIE_OK)
			e = hie_xml_dump(doc, resp, rlen);
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
	soap_msg_free(&m);
	return e;
}
