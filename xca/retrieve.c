/* xca/retrieve.c -- ITI-39 Cross Gateway Retrieve of one document from the
 * peer that holds it. */
#include <stdlib.h>
#include <string.h>

#include "xca/internal.h"

struct retrieve_ctx {
	struct xca_retrieved *r;
	xca_retrieve_fn       fn;
	void                 *arg;
};

static hie_err
retrieve_build(struct xca_op *op, struct xca_call *c, xmlNode *body)
{
	struct retrieve_ctx *rc = op->ctx;
	(void) c;
	return reg_retrieve_request_build(body, &rc->r->ref, 1);
}

static enum xca_status
retrieve_read(struct xca_op *op, struct xca_call *c, xmlNode *body, char *why, size_t cap)
{
	struct retrieve_ctx *rc = op->ctx;
	struct reg_doc_ref   got;
	hie_err              e;

	char                *xop = NULL;
	size_t               xoplen = 0;

	if (c->att != NULL) {
		/* MTOM: the Document is an xop:Include of a part (or inline
		 * base64 still); its bytes are taken here and the element
		 * emptied, so that the registry's reader sees the rest. */
		xmlNode *dr = hie_xml_child(body, REG_NS_XDSB, "DocumentResponse");
		xmlNode *d = dr != NULL ? hie_xml_child(dr, REG_NS_XDSB, "Document") : NULL;
		if (d != NULL) {
			if ((e = mtom_element_bytes(c->att, d, op->fo->max_message_bytes, &xop, &xoplen)) != HIE_OK) {
				snprintf(why, cap, "Document: %s", hie_strerror(e));
				return XCA_ERROR;
			}
			xmlNodeSetContent(d, NULL);
		}
	}
	e = reg_retrieve_response_parse(body, op->fo->max_message_bytes, &got, c->mime, sizeof(c->mime), &c->doc,
	    &c->doclen, why, cap);
	if (e != HIE_OK) {
		free(xop);
		return XCA_ERROR;
	}
	if (xop != NULL) {
		free(c->doc);
		c->doc = xop;
		c->doclen = xoplen;
	}
	/* The document must be the one we asked for, from the community we
	 * asked: anything else is not believed. */
	if (strcmp(got.unique_id, rc->r->ref.unique_id) != 0 ||
	    strcmp(got.repository_id, rc->r->ref.repository_id) != 0 ||
	    (got.home[0] != '\0' && strcmp(got.home, op->fo->peers[c->peer].p.community) != 0)) {
		snprintf(why, cap, "peer returned another document than the one asked for");
		return XCA_ERROR;
	}
	c->pr->documents = 1;
	return XCA_OK;
}

static void
retrieve_complete(struct xca_op *op)
{
	struct retrieve_ctx *rc = op->ctx;
	struct xca_call     *c = &op->calls[0];

	if (rc->r->peer.status == XCA_OK) {
		rc->r->doc = c->doc; /* ownership moves to the result */
		rc->r->len = c->doclen;
		c->doc = NULL;
		memcpy(rc->r->mime, c->mime, sizeof(rc->r->mime));
	}
	rc->fn(rc->r, rc->arg);
	free(rc);
}

static const struct xca_op_kind iti39 = {
	.transaction = "ITI-39",
	.action = SOAP_ACTION_ITI39,
	.response_action = SOAP_ACTION_ITI39_RESP,
	.build = retrieve_build,
	.read = retrieve_read,
	.complete = retrieve_complete,
	.mtom = 1,
};

hie_err
xca_fanout_retrieve(xca_fanout *fo, const struct reg_doc_ref *ref, const struct wss_claims *claims, const char *rid,
    xca_retrieve_fn fn, void *arg)
{
	return xca_fanout_retrieve_budget(fo, ref, claims, rid, 0, fn, arg);
}

hie_err
xca_fanout_retrieve_budget(xca_fanout *fo, const struct reg_doc_ref *ref, const struct wss_claims *claims,
    const char *rid, int budget_ms, xca_retrieve_fn fn, void *arg)
{
	struct retrieve_ctx *rc;
	size_t               peer;
	hie_err              e;

	for (peer = 0; peer < fo->n; peer++)
		if (strcmp(fo->peers[peer].p.community, ref->home) == 0)
			break;
	if (peer == fo->n)
		return HIE_ENOTFOUND;
	if ((rc = calloc(1, sizeof(*rc))) == NULL || (rc->r = calloc(1, sizeof(*rc->r))) == NULL) {
		free(rc);
		return HIE_ENOMEM;
	}
	rc->r->ref = *ref;
	rc->fn = fn;
	rc->arg = arg;
	if ((e = xca_op_start(fo, &iti39, &peer, 1, &rc->r->peer, claims, rc, rid, xca_until(fo, budget_ms))) != HIE_OK) {
		xca_retrieved_free(rc->r);
		free(rc);
	}
	return e;
}

void
xca_retrieved_free(struct xca_retrieved *r)
{
	if (r == NULL)
		return;
	free(r->doc);
	free(r);
}
