/* xca/query.c -- the clinician query: ITI-38 FindDocuments to every peer,
 * results merged, deduplicated and sorted. */
#include <stdlib.h>
#include <string.h>

#include "xca/internal.h"
#include "xca/xcpd.h"

struct query_ctx {
	struct reg_query   q;
	char             (*pids)[256]; /* per call: the peer's own patient id (after XCPD); NULL: q.patient_id */
	struct xca_result *res;
	xca_done_fn        done;
	void              *arg;
	xca_peer_fn        on_peer; /* streaming; NULL: none */
	void              *peer_arg;
};

static hie_err
query_build(struct xca_op *op, struct xca_call *c, xmlNode *body)
{
	struct query_ctx *qc = op->ctx;
	struct reg_query  q;

	if (qc->pids == NULL)
		return reg_ebrim_query_build(body, &qc->q, op->fo->peers[c->peer].p.community);
	q = qc->q;
	hie_strlcpy(q.patient_id, qc->pids[c - op->calls], sizeof(q.patient_id));
	return reg_ebrim_query_build(body, &q, op->fo->peers[c->peer].p.community);
}

static enum xca_status
query_read(struct xca_op *op, struct xca_call *c, xmlNode *body, char *why, size_t cap)
{
	const char *community = op->fo->peers[c->peer].p.community;

	if (reg_ebrim_response_parse(body, op->fo->max_results, &c->docs, why, cap) != HIE_OK)
		return XCA_ERROR;
	/* Every entry must come from the community we asked: a peer that
	 * answers for another community is not believed at all. */
	for (size_t i = 0; i < c->docs.n; i++) {
		struct reg_entry *d = &c->docs.v[i];
		if (d->home_community[0] == '\0') {
			hie_strlcpy(d->home_community, community, sizeof(d->home_community));
		} else if (strcmp(d->home_community, community) != 0) {
			snprintf(why, cap, "peer claims community %.100s", d->home_community);
			return XCA_ERROR;
		}
	}
	c->pr->documents = c->docs.n;
	return XCA_OK;
}

/* Streaming: this peer's wanted entries, as soon as it is in. */
static void
query_finished(struct xca_op *op, struct xca_call *c)
{
	struct query_ctx *qc = op->ctx;
	struct reg_entry *v = NULL;
	size_t            k = 0;

	if (qc->on_peer == NULL)
		return;
	if (c->pr->status == XCA_OK && c->docs.n > 0 && (v = calloc(c->docs.n, sizeof(*v))) != NULL)
		for (size_t i = 0; i < c->docs.n; i++)
			if (xca_entry_wanted(&qc->q, &c->docs.v[i]))
				v[k++] = c->docs.v[i];
	qc->on_peer(c->pr, v, k, qc->peer_arg);
	free(v);
}

static int
by_uid(const void *a, const void *b)
{
	const struct reg_entry *x = a, *y = b;
	return strcmp(x->unique_id, y->unique_id);
}

static int
newest_first(const void *a, const void *b)
{
	const struct reg_entry *x = a, *y = b;
	int                     c = strcmp(y->creation_time, x->creation_time);
	return c != 0 ? c : strcmp(x->unique_id, y->unique_id);
}

/* Merges every ok peer's entries: one per uniqueId (the same document
 * reached through two communities is listed once), newest first. */
void
xca_docs_merge(const struct reg_query *q, size_t max, struct reg_entry *v, size_t k, struct reg_result *out)
{
	out->v = v;
	out->n = 0;
	if (v == NULL)
		return;
	qsort(v, k, sizeof(*v), by_uid);
	for (size_t i = 0; i < k; i++)
		if (xca_entry_wanted(q, &v[i]) && (out->n == 0 || strcmp(v[out->n - 1].unique_id, v[i].unique_id) != 0))
			v[out->n++] = v[i];
	qsort(v, out->n, sizeof(*v), newest_first);
	if (out->n > max)
		out->n = max;
}

static void
query_complete(struct xca_op *op)
{
	struct query_ctx  *qc = op->ctx;
	struct xca_result *res = qc->res;
	size_t             total = 0, k = 0;
	struct reg_entry  *v;

	for (size_t i = 0; i < op->ncalls; i++)
		total += op->calls[i].docs.n;
	if (total > 0 && (v = calloc(total, sizeof(*v))) != NULL) {
		for (size_t i = 0; i < op->ncalls; i++) {
			if (op->calls[i].docs.n == 0)
				continue;
			memcpy(v + k, op->calls[i].docs.v, op->calls[i].docs.n * sizeof(*v));
			k += op->calls[i].docs.n;
		}
		xca_docs_merge(&qc->q, op->fo->max_results, v, k, &res->docs);
	}
	res->ms = hie_now_ms() - op->t0;
	qc->done(res, qc->arg);
	free(qc->pids);
	free(qc);
}

static const struct xca_op_kind iti38 = {
	.transaction = "ITI-38",
	.action = SOAP_ACTION_ITI38,
	.response_action = SOAP_ACTION_ITI38_RESP,
	.build = query_build,
	.read = query_read,
	.complete = query_complete,
	.finished = query_finished,
};

hie_err
xca_query_start(xca_fanout *fo, const struct reg_query *q, const size_t *peers, char (*pids)[256], size_t n,
    struct xca_result *res, const struct wss_claims *claims, const char *rid, int64_t until, xca_peer_fn on_peer,
    void *peer_arg, xca_done_fn done, void *arg)
{
	struct query_ctx *qc = calloc(1, sizeof(*qc));
	hie_err           e;

	if (qc == NULL)
		return HIE_ENOMEM;
	qc->q = *q;
	qc->pids = pids;
	qc->res = res;
	qc->done = done;
	qc->arg = arg;
	qc->on_peer = on_peer;
	qc->peer_arg = peer_arg;
	if ((e = xca_op_start(fo, &iti38, peers, n, res->peers, claims, qc, rid, until)) != HIE_OK)
		free(qc);
	return e;
}

hie_err
xca_fanout_query(xca_fanout *fo, const struct reg_query *q, const struct wss_claims *claims, const char *rid,
    xca_done_fn done, void *arg)
{
	return xca_fanout_query_opts(fo, q, NULL, claims, rid, NULL, done, arg);
}

static hie_err
query_all(xca_fanout *fo, const struct reg_query *q, const struct wss_claims *claims, const char *rid,
    const struct xca_query_opts *o, xca_done_fn done, void *arg)
{
	struct query_ctx *qc = calloc(1, sizeof(*qc));
	size_t           *peers = calloc(fo->n + 1, sizeof(*peers));
	hie_err           e = HIE_ENOMEM;

	if (qc == NULL || peers == NULL || (qc->res = calloc(1, sizeof(*qc->res))) == NULL ||
	    (qc->res->peers = calloc(fo->n + 1, sizeof(*qc->res->peers))) == NULL)
		goto fail;
	qc->q = *q;
	qc->done = done;
	qc->arg = arg;
	qc->on_peer = o->on_peer;
	qc->peer_arg = o->peer_arg;
	hie_strlcpy(qc->res->patient, q->patient_id, sizeof(qc->res->patient));
	qc->res->npeers = fo->n;
	for (size_t i = 0; i < fo->n; i++)
		peers[i] = i;
	if ((e = xca_op_start(fo, &iti38, peers, fo->n, qc->res->peers, claims, qc, rid, xca_until(fo, o->budget_ms))) !=
	    HIE_OK)
		goto fail;
	free(peers);
	return HIE_OK;
fail:
	free(peers);
	if (qc != NULL)
		xca_result_free(qc->res);
	free(qc);
	return e;
}

hie_err
xca_fanout_query_opts(xca_fanout *fo, const struct reg_query *q, const struct mpi_patient *who,
    const struct wss_claims *claims, const char *rid, const struct xca_query_opts *opts, xca_done_fn done,
    void *arg)
{
	static const struct xca_query_opts none;

	if (opts == NULL)
		opts = &none;
	if (who != NULL)
		return xca_discover_query_start(fo, q, who, claims, rid, opts, done, arg);
	return query_all(fo, q, claims, rid, opts, done, arg);
}

void
xca_result_free(struct xca_result *res)
{
	if (res == NULL)
		return;
	free(res->peers);
	reg_result_free(&res->docs);
	free(res);
}
