/*
 * xca/discover.c -- the initiating side of XCPD: ITI-55 Cross Gateway
 * Patient Discovery to every peer in parallel (the call machinery of
 * xca/call.c: one nng context and aio per peer, per-peer and overall
 * deadlines, signed requests, responses verified against the peer's
 * community), and the clinician query that runs it before ITI-38.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/v3.h"
#include "xca/internal.h"
#include "xca/xcpd.h"

struct disc_ctx {
	struct mpi_patient      who;
	struct xca_peer_result *prs;   /* one per call */
	char                  (*pids)[256];
	int                    *conf;
	xca_discover_fn         fn;
	void                   *arg;
	xca_disc_each_fn        each; /* optional: each peer as it is known */
	void                   *each_arg;
};

static const char *
oid_of(const char *home)
{
	return strncmp(home, "urn:oid:", 8) == 0 ? home + 8 : home;
}

static hie_err
disc_build(struct xca_op *op, struct xca_call *c, xmlNode *body)
{
	struct disc_ctx *dc = op->ctx;
	const char      *home = oid_of(op->fo->home);

	return v3_query_build(body, &dc->who, home, home, oid_of(op->fo->peers[c->peer].p.community), c->msgid + 9);
}

static enum xca_status
disc_read(struct xca_op *op, struct xca_call *c, xmlNode *body, char *why, size_t cap)
{
	struct disc_ctx  *dc = op->ctx;
	size_t            i = (size_t) (c - op->calls);
	const char       *community = oid_of(op->fo->peers[c->peer].p.community);
	struct v3_subject subs[2];
	struct v3_result  res = { .subjects = subs, .cap = 2 };
	hie_err           e;

	memset(subs, 0, sizeof(subs));
	if ((e = v3_response_parse(body, 0, &res)) == HIE_EPROTO) {
		snprintf(why, cap, "response is not a PRPA_IN201306UV02");
		return XCA_ERROR;
	}
	if (e == HIE_ETOOBIG || res.n > 1) {
		/* Not ours to choose between a peer's candidates. */
		snprintf(why, cap, "peer answered with several patients");
		return XCA_NO_MATCH;
	}
	if (strcmp(res.ack, "AA") != 0 || strcmp(res.qrc, "AE") == 0 || strcmp(res.qrc, "QE") == 0) {
		snprintf(why, cap, "peer error %s/%s: %.180s", res.ack, res.qrc, res.detail);
		return XCA_ERROR;
	}
	if (strcmp(res.qrc, "OK") != 0 || res.n == 0) {
		if (res.issue[0] != '\0')
			snprintf(why, cap, "%s", res.issue);
		return XCA_NO_MATCH;
	}
	/* The patient must be vouched for by the community we asked. */
	if (res.custodian[0] != '\0' && strcmp(res.custodian, community) != 0) {
		snprintf(why, cap, "peer claims community %.100s", res.custodian);
		return XCA_ERROR;
	}
	mpi_cx_format(&subs[0].id, dc->pids[i], sizeof(dc->pids[i]));
	dc->conf[i] = subs[0].confidence;
	return XCA_OK;
}

static void
disc_complete(struct xca_op *op)
{
	struct disc_ctx      *dc = op->ctx;
	struct xca_discovery *d = calloc(1, sizeof(*d));

	if (d != NULL && (d->v = calloc(op->ncalls + 1, sizeof(*d->v))) != NULL) {
		d->n = op->ncalls;
		for (size_t i = 0; i < op->ncalls; i++) {
			d->v[i].peer = dc->prs[i];
			d->v[i].confidence = dc->conf[i];
			if (dc->prs[i].status == XCA_OK)
				hie_strlcpy(d->v[i].patient_id, dc->pids[i], sizeof(d->v[i].patient_id));
		}
	} else if (d != NULL) {
		free(d);
		d = NULL;
	}
	if (d != NULL)
		d->ms = hie_now_ms() - op->t0;
	/* On out of memory fn gets NULL: it still hears the end. */
	dc->fn(d, dc->arg);
	free(dc->prs);
	free(dc->pids);
	free(dc->conf);
	free(dc);
}

static void
disc_finished(struct xca_op *op, struct xca_call *c)
{
	struct disc_ctx      *dc = op->ctx;
	size_t                i = (size_t) (c - op->calls);
	struct xca_discovered d;

	if (dc->each == NULL)
		return;
	memset(&d, 0, sizeof(d));
	d.peer = *c->pr;
	d.confidence = dc->conf[i];
	if (c->pr->status == XCA_OK)
		hie_strlcpy(d.patient_id, dc->pids[i], sizeof(d.patient_id));
	dc->each(&d, c->peer, dc->each_arg);
}

static const struct xca_op_kind iti55 = {
	.transaction = "ITI-55",
	.action = V3_ACTION_ITI55,
	.response_action = V3_ACTION_ITI55_RESP,
	.build = disc_build,
	.read = disc_read,
	.complete = disc_complete,
	.finished = disc_finished,
};

hie_err
xca_fanout_discover(xca_fanout *fo, const struct mpi_patient *who, const struct wss_claims *claims, const char *rid,
    xca_discover_fn fn, void *arg)
{
	return xca_discover_start(fo, who, claims, rid, 0, NULL, NULL, fn, arg);
}

hie_err
xca_discover_start(xca_fanout *fo, const struct mpi_patient *who, const struct wss_claims *claims, const char *rid,
    int64_t until, xca_disc_each_fn each, void *each_arg, xca_discover_fn fn, void *arg)
{
	struct disc_ctx *dc = calloc(1, sizeof(*dc));
	size_t          *peers = calloc(fo->n + 1, sizeof(*peers));
	hie_err          e = HIE_ENOMEM;

	if (who->n_names == 0 && who->birth_date[0] == '\0' && who->n_ids == 0)
		e = HIE_EINVAL;
	else if (dc != NULL && peers != NULL && (dc->prs = calloc(fo->n + 1, sizeof(*dc->prs))) != NULL &&
	         (dc->pids = calloc(fo->n + 1, sizeof(*dc->pids))) != NULL &&
	         (dc->conf = calloc(fo->n + 1, sizeof(*dc->conf))) != NULL) {
		dc->who = *who;
		dc->fn = fn;
		dc->arg = arg;
		dc->each = each;
		dc->each_arg = each_arg;
		for (size_t i = 0; i < fo->n; i++)
			peers[i] = i, dc->conf[i] = -1;
		e = xca_op_start(fo, &iti55, peers, fo->n, dc->prs, claims, dc, rid, until);
	}
	free(peers);
	if (e != HIE_OK && dc != NULL) {
		free(dc->prs);
		free(dc->pids);
		free(dc->conf);
		free(dc);
	}
	return e;
}

void
xca_discovery_free(struct xca_discovery *d)
{
	if (d == NULL)
		return;
	free(d->v);
	free(d);
}

hie_err
xca_patient_demographics(mpi *m, const char *patient_id, struct mpi_patient *out)
{
	struct mpi_cx     cx;
	struct mpi_ident *ids;
	uint64_t          eid, rids[8];
	size_t            n, nr;
	hie_err           e;

	memset(out, 0, sizeof(*out));
	if ((e = mpi_cx_parse(patient_id, &cx)) != HIE_OK)
		return e;
	if ((ids = calloc(32, sizeof(*ids))) == NULL)
		return HIE_ENOMEM;
	if ((e = mpi_lookup_id(m, &cx, &eid, ids, 32, &n)) == HIE_OK &&
	    (e = mpi_members(m, eid, rids, 8, &nr)) == HIE_OK) {
		/* The record holding the id asked for is the one the clinician
		 * means; its demographics go out, with every linked id. */
		uint64_t rid = rids[0];
		for (size_t i = 0; i < nr && i < 8; i++) {
			if (mpi_get(m, rids[i], out) != HIE_OK)
				continue;
			for (size_t k = 0; k < out->n_ids; k++)
				if (mpi_id_compare(&out->ids[k].cx, &cx) == 1)
					rid = rids[i];
		}
		if ((e = mpi_get(m, rid, out)) == HIE_OK) {
			out->n_ids = 0;
			for (size_t i = 0; i < n && i < 32 && out->n_ids < MPI_MAX_IDS; i++)
				out->ids[out->n_ids++] = ids[i];
		}
	}
	free(ids);
	return e;
}

/* ---- discovery, then ITI-38 to the peers that matched ----
 *
 * Pipelined: a peer that matches is asked ITI-38 at once, with its own id,
 * not when the slowest peer has answered discovery (or timed out): the
 * whole query has one budget, and a hung peer in discovery must not eat
 * the others' share of it.
 */

struct chain {
	xca_fanout             *fo;
	struct reg_query        q;
	struct wss_claims       claims;
	char                    rid[33];
	xca_done_fn             done;
	void                   *arg;
	int64_t                 t0;
	int64_t                 until;   /* discovery and ITI-38 share one budget */
	xca_peer_fn             on_peer; /* streaming */
	void                   *peer_arg;
	nng_mtx                *mtx;     /* the fields below */
	nng_mtx                *smtx;    /* on_peer one call at a time */
	size_t                  n, pending, matched;
	struct xca_peer_result *final;   /* per directory peer: its last phase's outcome */
	int                    *asked;   /* per directory peer: matched, ITI-38 asked */
	struct reg_entry       *docs;    /* every ok peer's entries */
	size_t                  ndocs;
	int                     oom;
};

/* One peer's ITI-38 of the chain. */
struct chain_leg {
	struct chain *ch;
	size_t        peer;
};

static void
chain_stream(const struct xca_peer_result *p, const struct reg_entry *docs, size_t ndocs, void *arg)
{
	struct chain *ch = arg;

	nng_mtx_lock(ch->smtx);
	ch->on_peer(p, docs, ndocs, ch->peer_arg);
	nng_mtx_unlock(ch->smtx);
}

static void
chain_free(struct chain *ch)
{
	xca_fanout_release(ch->fo);
	if (ch->mtx != NULL)
		nng_mtx_free(ch->mtx);
	if (ch->smtx != NULL)
		nng_mtx_free(ch->smtx);
	free(ch->final);
	free(ch->asked);
	free(ch->docs);
	free(ch);
}

/* Every peer is in: matched peers first (their ITI-38 outcome), then the
 * rest with what discovery found, each group in directory order. */
static void
chain_finish(struct chain *ch)
{
	struct xca_result *res = calloc(1, sizeof(*res));
	size_t             k = 0;

	if (res == NULL) {
		chain_free(ch);
		return;
	}
	hie_strlcpy(res->patient, ch->q.patient_id, sizeof(res->patient));
	if ((res->peers = calloc(ch->n + 1, sizeof(*res->peers))) != NULL) {
		for (int pass = 1; pass >= 0; pass--)
			for (size_t i = 0; i < ch->n; i++)
				if (ch->asked[i] == pass)
					res->peers[k++] = ch->final[i];
		res->npeers = ch->n;
	}
	xca_docs_merge(&ch->q, ch->fo->max_results, ch->docs, ch->ndocs, &res->docs);
	ch->docs = NULL; /* res has them */
	hie_log(HIE_LOG_INFO, "xca", "HIE-XCPD-DISCOVER", ch->rid, "peers=%zu matched=%zu ms=%lld", ch->n, ch->matched,
	    (long long) (hie_now_ms() - ch->t0));
	res->ms = hie_now_ms() - ch->t0;
	ch->done(res, ch->arg);
	chain_free(ch);
}

static void
chain_release(struct chain *ch)
{
	size_t left;

	nng_mtx_lock(ch->mtx);
	left = --ch->pending;
	nng_mtx_unlock(ch->mtx);
	if (left == 0)
		chain_finish(ch);
}

/* A peer's last word: its outcome, and its entries when ok. */
static void
chain_peer_done(struct chain *ch, size_t peer, const struct xca_peer_result *pr, const struct reg_result *docs)
{
	nng_mtx_lock(ch->mtx);
	ch->final[peer] = *pr;
	if (docs != NULL && docs->n > 0) {
		struct reg_entry *v = realloc(ch->docs, (ch->ndocs + docs->n) * sizeof(*v));
		if (v != NULL) {
			memcpy(v + ch->ndocs, docs->v, docs->n * sizeof(*v));
			ch->docs = v;
			ch->ndocs += docs->n;
		} else {
			ch->oom = 1;
		}
	}
	nng_mtx_unlock(ch->mtx);
	chain_release(ch);
}

static void
leg_done(struct xca_result *res, void *arg)
{
	struct chain_leg *leg = arg;

	chain_peer_done(leg->ch, leg->peer, &res->peers[0], &res->docs);
	xca_result_free(res);
	free(leg);
}

/* Discovery of one peer is known (on an nng thread). */
static void
chain_each(const struct xca_discovered *d, size_t peer, void *arg)
{
	struct chain      *ch = arg;
	struct chain_leg  *leg = NULL;
	struct xca_result *sub = NULL;
	char             (*pid)[256] = NULL;

	if (d->peer.status != XCA_OK) {
		/* Its final word: discovery's status goes out now. */
		if (ch->on_peer != NULL)
			chain_stream(&d->peer, NULL, 0, ch);
		chain_peer_done(ch, peer, &d->peer, NULL);
		return;
	}
	nng_mtx_lock(ch->mtx);
	ch->asked[peer] = 1;
	ch->matched++;
	nng_mtx_unlock(ch->mtx);
	if ((leg = calloc(1, sizeof(*leg))) != NULL && (sub = calloc(1, sizeof(*sub))) != NULL &&
	    (sub->peers = calloc(1, sizeof(*sub->peers))) != NULL && (pid = calloc(1, sizeof(*pid))) != NULL) {
		leg->ch = ch;
		leg->peer = peer;
		sub->npeers = 1;
		hie_strlcpy(sub->patient, ch->q.patient_id, sizeof(sub->patient));
		hie_strlcpy(pid[0], d->patient_id, sizeof(pid[0]));
		if (xca_query_start(ch->fo, &ch->q, &peer, pid, 1, sub, &ch->claims, ch->rid, ch->until,
		        ch->on_peer != NULL ? chain_stream : NULL, ch, leg_done, leg) == HIE_OK)
			return;
	}
	free(pid);
	xca_result_free(sub);
	free(leg);
	{
		/* Could not start: the matched peer is an error. */
		struct xca_peer_result pr = d->peer;
		pr.status = XCA_ERROR;
		snprintf(pr.error, sizeof(pr.error), "%s", "ITI-38 not started");
		if (ch->on_peer != NULL)
			chain_stream(&pr, NULL, 0, ch);
		chain_peer_done(ch, peer, &pr, NULL);
	}
}

static void
chain_discovered(struct xca_discovery *d, void *arg)
{
	/* Each peer went its way in chain_each. */
	xca_discovery_free(d);
	chain_release(arg);
}

hie_err
xca_fanout_query_discover(xca_fanout *fo, const struct reg_query *q, const struct mpi_patient *who,
    const struct wss_claims *claims, const char *rid, xca_done_fn done, void *arg)
{
	return xca_fanout_query_opts(fo, q, who, claims, rid, NULL, done, arg);
}

hie_err
xca_discover_query_start(xca_fanout *fo, const struct reg_query *q, const struct mpi_patient *who,
    const struct wss_claims *claims, const char *rid, const struct xca_query_opts *opts, xca_done_fn done,
    void *arg)
{
	struct chain *ch = calloc(1, sizeof(*ch));
	hie_err       e;

	if (ch == NULL)
		return HIE_ENOMEM;
	xca_fanout_hold(fo);
	ch->fo = fo;
	ch->n = fo->n;
	if (nng_mtx_alloc(&ch->mtx) != 0 || nng_mtx_alloc(&ch->smtx) != 0 ||
	    (ch->final = calloc(ch->n + 1, sizeof(*ch->final))) == NULL ||
	    (ch->asked = calloc(ch->n + 1, sizeof(*ch->asked))) == NULL) {
		chain_free(ch);
		return HIE_ENOMEM;
	}
	ch->q = *q;
	ch->claims = *claims;
	hie_strlcpy(ch->rid, rid != NULL ? rid : "-", sizeof(ch->rid));
	ch->done = done;
	ch->arg = arg;
	ch->t0 = hie_now_ms();
	ch->until = xca_until(fo, opts->budget_ms);
	ch->on_peer = opts->on_peer;
	ch->peer_arg = opts->peer_arg;
	/* One per peer, and one for discovery's own end. */
	ch->pending = ch->n + 1;
	if ((e = xca_discover_start(fo, who, claims, rid, ch->until, chain_each, ch, chain_discovered, ch)) != HIE_OK)
		chain_free(ch);
	return e;
}
