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

static const struct xca_op_kind iti55 = {
	.transaction = "ITI-55",
	.action = V3_ACTION_ITI55,
	.response_action = V3_ACTION_ITI55_RESP,
	.build = disc_build,
	.read = disc_read,
	.complete = disc_complete,
};

hie_err
xca_fanout_discover(xca_fanout *fo, const struct mpi_patient *who, const struct wss_claims *claims, const char *rid,
    xca_discover_fn fn, void *arg)
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
		for (size_t i = 0; i < fo->n; i++)
			peers[i] = i, dc->conf[i] = -1;
		e = xca_op_start(fo, &iti55, peers, fo->n, dc->prs, claims, dc, rid);
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

/* ---- discovery, then ITI-38 to the peers that matched ---- */

struct chain {
	xca_fanout        *fo;
	struct reg_query   q;
	struct wss_claims  claims;
	char               rid[33];
	xca_done_fn        done;
	void              *arg;
	int64_t            t0;
};

static void
chain_done(struct xca_result *res, void *arg)
{
	struct chain *ch = arg;

	res->ms = hie_now_ms() - ch->t0;
	ch->done(res, ch->arg);
	xca_fanout_release(ch->fo);
	free(ch);
}

static void
chain_discovered(struct xca_discovery *d, void *arg)
{
	struct chain      *ch = arg;
	struct xca_result *res = calloc(1, sizeof(*res));
	size_t             n = d != NULL ? d->n : 0, k = 0, j;
	size_t            *peers = calloc(n + 1, sizeof(*peers));
	char             (*pids)[256] = calloc(n + 1, sizeof(*pids));

	if (res == NULL || peers == NULL || pids == NULL || (res->peers = calloc(n + 1, sizeof(*res->peers))) == NULL) {
		/* Nothing can be reported; the caller still hears the end. */
		free(peers);
		free(pids);
		xca_discovery_free(d);
		if (res == NULL) {
			xca_fanout_release(ch->fo);
			free(ch);
			return;
		}
		free(res->peers);
		res->peers = NULL;
		hie_strlcpy(res->patient, ch->q.patient_id, sizeof(res->patient));
		chain_done(res, ch);
		return;
	}
	hie_strlcpy(res->patient, ch->q.patient_id, sizeof(res->patient));
	res->npeers = n;
	/* Matched peers first (their ITI-38 results go there), then the rest
	 * with what discovery found. */
	for (size_t i = 0; i < n; i++)
		if (d->v[i].peer.status == XCA_OK) {
			peers[k] = i;
			res->peers[k] = d->v[i].peer;
			hie_strlcpy(pids[k], d->v[i].patient_id, sizeof(pids[k]));
			k++;
		}
	j = k;
	for (size_t i = 0; i < n; i++)
		if (d->v[i].peer.status != XCA_OK)
			res->peers[j++] = d->v[i].peer;
	hie_log(HIE_LOG_INFO, "xca", "HIE-XCPD-DISCOVER", ch->rid, "peers=%zu matched=%zu ms=%lld", n, k,
	    (long long) (d != NULL ? d->ms : 0));
	xca_discovery_free(d);
	if (k == 0 || xca_query_start(ch->fo, &ch->q, peers, pids, k, res, &ch->claims, ch->rid, chain_done, ch) !=
	                  HIE_OK) {
		if (k > 0) {
			/* Could not start: the matched peers are errors. */
			for (size_t i = 0; i < k; i++) {
				snprintf(res->peers[i].error, sizeof(res->peers[i].error), "%s", "ITI-38 not started");
				res->peers[i].status = XCA_ERROR;
			}
		}
		free(pids);
		free(peers);
		chain_done(res, ch);
		return;
	}
	free(peers);
}

hie_err
xca_fanout_query_discover(xca_fanout *fo, const struct reg_query *q, const struct mpi_patient *who,
    const struct wss_claims *claims, const char *rid, xca_done_fn done, void *arg)
{
	struct chain *ch = calloc(1, sizeof(*ch));
	hie_err       e;

	if (ch == NULL)
		return HIE_ENOMEM;
	xca_fanout_hold(fo);
	ch->fo = fo;
	ch->q = *q;
	ch->claims = *claims;
	hie_strlcpy(ch->rid, rid != NULL ? rid : "-", sizeof(ch->rid));
	ch->done = done;
	ch->arg = arg;
	ch->t0 = hie_now_ms();
	if ((e = xca_fanout_discover(fo, who, claims, rid, chain_discovered, ch)) != HIE_OK) {
		xca_fanout_release(fo);
		free(ch);
	}
	return e;
}
