/*
 * mpi/ops.c -- the write operations: add (match, then link or create),
 * update, link, unlink, merge, unmerge.  Each decides everything it can
 * before its first write and runs in one write transaction, so a refused
 * record or a failed write leaves nothing half-linked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/internal.h"

const char *
mpi_outcome_name(mpi_outcome o)
{
	static const char *const names[] = { "new", "linked-id", "linked-match", "review" };
	return (unsigned) o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

static int
deterministic(const struct mpi_ident *x)
{
	return strcmp(x->type, "SS") != 0;
}

/* The enterprise id the record's deterministic identifiers already point
 * to (0: none), skipping record `self`.  HIE_EAMBIGUOUS when they point to
 * two. */
static hie_err
id_owner(mpi *m, MDB_txn *txn, const struct mpi_patient *p, uint64_t self, uint64_t *eid, char *why,
    size_t cap)
{
	MDB_cursor *c;
	hie_err     e = HIE_OK;
	int         rc;

	*eid = 0;
	if ((rc = mdb_cursor_open(txn, m->idx, &c)) != 0)
		return hie_store_err(rc);
	for (size_t i = 0; i < p->n_ids && e == HIE_OK; i++) {
		char    key[300];
		size_t  a = strlen(p->ids[i].cx.authority), l = strlen(p->ids[i].cx.id);
		MDB_val k = { a + 1 + l, key }, v;
		if (!deterministic(&p->ids[i]))
			continue;
		memcpy(key, p->ids[i].cx.authority, a);
		key[a] = '\0';
		memcpy(key + a + 1, p->ids[i].cx.id, l);
		for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
			struct mpi_mk mk;
			uint64_t      rid = mpi_u64_get(v.mv_data);
			if (rid == self)
				continue;
			if ((e = mpi_mk_get(m, txn, rid, &mk)) != HIE_OK)
				break;
			if (*eid != 0 && mk.eid != *eid) {
				snprintf(why, cap, "identifiers already belong to enterprise ids %llu and %llu",
				    (unsigned long long) *eid, (unsigned long long) mk.eid);
				e = HIE_EAMBIGUOUS;
				break;
			}
			*eid = mk.eid;
		}
		if (e == HIE_OK && rc != 0 && rc != MDB_NOTFOUND)
			e = hie_store_err(rc);
	}
	mdb_cursor_close(c);
	return e;
}

#define REVIEW_MAX 3

/* One record inside the caller's transaction.  Per-record refusals go to
 * res->err with HIE_OK returned; a non-OK return is a database failure
 * that must abort the whole transaction. */
hie_err
mpi_add_one(mpi *m, MDB_txn *txn, const struct mpi_model *model, struct mpi_patient *p, unsigned flags,
    struct mpi_result *res)
{
	struct mpi_candidate cand[REVIEW_MAX + 1];
	struct mpi_mk        k;
	size_t               nc = 0, nreview = 0;
	uint64_t             eid = 0, rid;
	hie_err              e;

	memset(res, 0, sizeof(*res));
	if ((res->err = mpi_validate(p, res->why, sizeof(res->why))) != HIE_OK)
		return HIE_OK;
	if (p->updated == 0)
		p->updated = (int64_t) time(NULL);
	mpi_mk_build(p, &k);
	e = id_owner(m, txn, p, 0, &eid, res->why, sizeof(res->why));
	if (e == HIE_EAMBIGUOUS) {
		res->err = e;
		return HIE_OK;
	}
	if (e != HIE_OK)
		return e;
	if (eid != 0) {
		res->outcome = MPI_LINKED_ID;
		res->prob = 1;
	} else if (!(flags & MPI_ADD_NOMATCH)) {
		if ((e = mpi_score_candidates(m, txn, &k, model, model->review, cand, REVIEW_MAX + 1, &nc)) != HIE_OK)
			return e;
		res->prob = nc > 0 ? cand[0].prob : 0;
		if (nc > 0 && cand[0].prob >= model->link && !(nc > 1 && cand[1].prob >= model->link)) {
			eid = cand[0].eid;
			res->outcome = MPI_LINKED_MATCH;
		} else if (nc > 0) {
			/* Possible matches, or more than one sure one (which
			 * one is for a person to say): own id, queue entries. */
			res->outcome = MPI_REVIEW;
			nreview = nc > REVIEW_MAX ? REVIEW_MAX : nc;
		}
	}
	if ((e = mpi_counter_next(m, txn, "rid", &rid)) != HIE_OK)
		return e;
	if (eid == 0 && (e = mpi_counter_next(m, txn, "eid", &eid)) != HIE_OK)
		return e;
	p->rid = rid;
	p->eid = eid;
	k.eid = 0;
	if ((e = mpi_rec_put(m, txn, p)) != HIE_OK || (e = mpi_relink(m, txn, rid, &k, eid, MPI_H_ADD)) != HIE_OK ||
	    (e = mpi_index(m, txn, rid, p, &k, 1)) != HIE_OK)
		return e;
	for (size_t i = 0; i < nreview; i++)
		if ((e = mpi_review_put(m, txn, rid, cand[i].eid, cand[i].prob)) != HIE_OK)
			return e;
	res->rid = rid;
	res->eid = eid;
	return HIE_OK;
}

hie_err
mpi_add_batch(mpi *m, struct mpi_patient *p, size_t n, unsigned flags, struct mpi_result *res)
{
	struct mpi_model model;
	MDB_txn         *txn;
	hie_err          e;
	int              rc;

	if ((rc = mdb_txn_begin(m->env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	if ((e = mpi_model_load(m, txn, &model)) != HIE_OK)
		goto fail;
	if (n > 1)
		e = mpi_add_bulk(m, txn, &model, p, n, flags, res);
	else
		for (size_t i = 0; i < n && e == HIE_OK; i++)
			e = mpi_add_one(m, txn, &model, &p[i], flags, &res[i]);
	if (e != HIE_OK)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0)
		return hie_store_err(rc);
	return HIE_OK;
fail:
	mdb_txn_abort(txn);
	for (size_t i = 0; i < n; i++)
		p[i].rid = p[i].eid = 0, res[i].rid = res[i].eid = 0, res[i].err = e;
	return e;
}

hie_err
mpi_add(mpi *m, struct mpi_patient *p, unsigned flags, struct mpi_result *res)
{
	hie_err e = mpi_add_batch(m, p, 1, flags, res);

	return e != HIE_OK ? e : res->err;
}

/* Begins a write transaction, runs fn, commits or aborts. */
static hie_err
in_txn(mpi *m, hie_err (*fn)(mpi *, MDB_txn *, void *), void *arg)
{
	MDB_txn *txn;
	hie_err  e;
	int      rc;

	if ((rc = mdb_txn_begin(m->env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	if ((e = fn(m, txn, arg)) != HIE_OK) {
		mdb_txn_abort(txn);
		return e;
	}
	return hie_store_err(mdb_txn_commit(txn));
}


hie_err
mpi_update_in(mpi *m, MDB_txn *txn, void *arg)
{
	struct update_arg *u = arg;
	struct mpi_mk      ok, nk;
	uint64_t           owner;
	hie_err            e;

	if ((e = mpi_rec_get(m, txn, u->p->rid, u->old)) != HIE_OK ||
	    (e = mpi_mk_get(m, txn, u->p->rid, &ok)) != HIE_OK)
		return e == HIE_ENOTFOUND ? HIE_ENOTFOUND : e;
	if ((e = mpi_validate(u->p, u->res->why, sizeof(u->res->why))) != HIE_OK)
		return e;
	if ((e = id_owner(m, txn, u->p, u->p->rid, &owner, u->res->why, sizeof(u->res->why))) != HIE_OK)
		return e;
	if (u->p->updated == 0)
		u->p->updated = (int64_t) time(NULL);
	if ((e = mpi_index(m, txn, u->p->rid, u->old, &ok, 0)) != HIE_OK)
		return e;
	mpi_mk_build(u->p, &nk);
	nk.eid = ok.eid;
	if ((e = mpi_rec_put(m, txn, u->p)) != HIE_OK || (e = mpi_index(m, txn, u->p->rid, u->p, &nk, 1)) != HIE_OK)
		return e;
	if (owner != 0 && owner != ok.eid) {
		u->res->outcome = MPI_LINKED_ID;
		e = mpi_relink(m, txn, u->p->rid, &nk, owner, MPI_H_UPDATE);
	} else {
		e = mpi_mk_put(m, txn, u->p->rid, &nk);
		if (e == HIE_OK)
			e = mpi_hist_put(m, txn, u->p->rid, MPI_H_UPDATE, ok.eid, ok.eid);
	}
	u->p->eid = nk.eid;
	u->res->rid = u->p->rid;
	u->res->eid = nk.eid;
	return e;
}

hie_err
mpi_update(mpi *m, struct mpi_patient *p, struct mpi_result *res)
{
	struct update_arg u = { p, res, malloc(sizeof(struct mpi_patient)) };
	hie_err           e;

	memset(res, 0, sizeof(*res));
	if (u.old == NULL)
		return HIE_ENOMEM;
	e = in_txn(m, mpi_update_in, &u);
	free(u.old);
	res->err = e;
	return e;
}

/* ---- manual linking ---- */


/* A live enterprise id: not retired, with members. */
static hie_err
live_eid(mpi *m, MDB_txn *txn, uint64_t eid, uint64_t *live)
{
	uint64_t one;
	size_t   n;
	hie_err  e;

	if ((e = mpi_resolve_txn(m, txn, eid, live)) != HIE_OK)
		return e;
	if ((e = mpi_members_txn(m, txn, *live, &one, 1, &n)) != HIE_OK)
		return e;
	return n > 0 ? HIE_OK : HIE_EUNKNOWNPATIENT;
}

hie_err
mpi_link_in(mpi *m, MDB_txn *txn, void *arg)
{
	struct link_arg *l = arg;
	struct mpi_mk    k;
	uint64_t         to;
	hie_err          e;

	if ((e = mpi_mk_get(m, txn, l->rid, &k)) != HIE_OK)
		return e;
	if (l->new_eid != NULL) {
		if ((e = mpi_counter_next(m, txn, "eid", &to)) != HIE_OK)
			return e;
		*l->new_eid = to;
		return mpi_relink(m, txn, l->rid, &k, to, MPI_H_UNLINK);
	}
	if ((e = live_eid(m, txn, l->eid, &to)) != HIE_OK)
		return e;
	if (to == k.eid)
		return HIE_OK;
	return mpi_relink(m, txn, l->rid, &k, to, MPI_H_LINK);
}

hie_err
mpi_link(mpi *m, uint64_t rid, uint64_t eid)
{
	struct link_arg l = { rid, eid, NULL };
	return in_txn(m, mpi_link_in, &l);
}

hie_err
mpi_unlink(mpi *m, uint64_t rid, uint64_t *new_eid)
{
	struct link_arg l = { rid, 0, new_eid };
	*new_eid = 0;
	return in_txn(m, mpi_link_in, &l);
}

/* mpi.merge value: survivor (8), time (8), then the rids moved (8 each). */

hie_err
mpi_merge_in(mpi *m, MDB_txn *txn, void *arg)
{
	struct merge_arg *g = arg;
	unsigned char     kb[8], *val = NULL;
	uint64_t         *rids = NULL, live, one;
	size_t            n, n2;
	MDB_val           k = { 8, kb }, v;
	hie_err           e;
	int               rc;

	if (g->from == g->into)
		return HIE_EINVAL;
	if ((e = mpi_resolve_txn(m, txn, g->into, &live)) != HIE_OK)
		return e;
	if (live != g->into)
		return HIE_EINVAL; /* into was itself merged away */
	if ((e = mpi_resolve_txn(m, txn, g->from, &live)) != HIE_OK)
		return e;
	if (live != g->from)
		return HIE_EINVAL;
	if ((e = mpi_members_txn(m, txn, g->into, &one, 1, &n)) != HIE_OK)
		return e;
	if (n == 0)
		return HIE_EUNKNOWNPATIENT;
	if ((e = mpi_members_txn(m, txn, g->from, &one, 1, &n)) != HIE_OK)
		return e;
	if (n == 0)
		return HIE_EUNKNOWNPATIENT;
	if ((rids = malloc(n * sizeof(*rids))) == NULL || (val = malloc(16 + 8 * n)) == NULL) {
		e = HIE_ENOMEM;
		goto done;
	}
	if ((e = mpi_members_txn(m, txn, g->from, rids, n, &n2)) != HIE_OK)
		goto done;
	mpi_u64_put(val, g->into);
	mpi_u64_put(val + 8, (uint64_t) time(NULL));
	for (size_t i = 0; i < n; i++) {
		struct mpi_mk mk;
		mpi_u64_put(val + 16 + 8 * i, rids[i]);
		if ((e = mpi_mk_get(m, txn, rids[i], &mk)) != HIE_OK ||
		    (e = mpi_relink(m, txn, rids[i], &mk, g->into, MPI_H_MERGE)) != HIE_OK)
			goto done;
	}
	mpi_u64_put(kb, g->from);
	v.mv_data = val;
	v.mv_size = 16 + 8 * n;
	if ((rc = mdb_put(txn, m->merge, &k, &v, 0)) != 0)
		e = hie_store_err(rc);
done:
	free(rids);
	free(val);
	return e;
}

hie_err
mpi_merge(mpi *m, uint64_t from, uint64_t into)
{
	struct merge_arg g = { from, into };
	return in_txn(m, mpi_merge_in, &g);
}

static hie_err
unmerge_txn(mpi *m, MDB_txn *txn, void *arg)
{
	struct merge_arg *g = arg;
	unsigned char     kb[8];
	MDB_val           k = { 8, kb }, v;
	unsigned char    *val;
	uint64_t          live;
	size_t            n;
	hie_err           e = HIE_OK;
	int               rc;

	mpi_u64_put(kb, g->from);
	if ((rc = mdb_get(txn, m->merge, &k, &v)) != 0)
		return hie_store_err(rc);
	if (v.mv_size < 16 || (v.mv_size - 16) % 8 != 0)
		return HIE_EDB;
	/* Copy: the value lives in the map and the writes below may move it. */
	if ((val = malloc(v.mv_size)) == NULL)
		return HIE_ENOMEM;
	memcpy(val, v.mv_data, v.mv_size);
	n = (v.mv_size - 16) / 8;
	if ((rc = mdb_del(txn, m->merge, &k, NULL)) != 0) {
		e = hie_store_err(rc);
		goto done;
	}
	/* The survivor may have been merged on since: follow it. */
	if ((e = mpi_resolve_txn(m, txn, mpi_u64_get(val), &live)) != HIE_OK)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct mpi_mk mk;
		uint64_t      rid = mpi_u64_get(val + 16 + 8 * i);
		if ((e = mpi_mk_get(m, txn, rid, &mk)) != HIE_OK)
			goto done;
		/* Records linked elsewhere by hand since the merge stay. */
		if (mk.eid == live && (e = mpi_relink(m, txn, rid, &mk, g->from, MPI_H_UNMERGE)) != HIE_OK)
			goto done;
	}
done:
	free(val);
	return e;
}

hie_err
mpi_unmerge(mpi *m, uint64_t from)
{
	struct merge_arg g = { from, 0 };
	return in_txn(m, unmerge_txn, &g);
}

/* ---- inside a caller's transaction (see mpi/mpi.h): the HL7 v2 feed
 * applies a group of ADT messages and their acknowledgement records in one
 * transaction, one fsync for the group. ---- */

hie_err
mpi_add_txn(mpi *m, MDB_txn *txn, struct mpi_patient *p, unsigned flags, struct mpi_result *res)
{
	struct mpi_model model;
	hie_err          e;

	if ((e = mpi_model_load(m, txn, &model)) != HIE_OK)
		return e;
	if ((e = mpi_add_one(m, txn, &model, p, flags, res)) != HIE_OK)
		return e;
	return res->err;
}

hie_err
mpi_update_txn(mpi *m, MDB_txn *txn, struct mpi_patient *p, struct mpi_result *res)
{
	struct update_arg u = { p, res, malloc(sizeof(struct mpi_patient)) };
	hie_err           e;

	memset(res, 0, sizeof(*res));
	if (u.old == NULL)
		return HIE_ENOMEM;
	e = mpi_update_in(m, txn, &u);
	free(u.old);
	res->err = e;
	return e;
}

hie_err
mpi_merge_txn(mpi *m, MDB_txn *txn, uint64_t from, uint64_t into)
{
	struct merge_arg g = { from, into };
	return mpi_merge_in(m, txn, &g);
}

hie_err
mpi_unlink_txn(mpi *m, MDB_txn *txn, uint64_t rid, uint64_t *new_eid)
{
	struct link_arg l = { rid, 0, new_eid };
	*new_eid = 0;
	return mpi_link_in(m, txn, &l);
}

hie_err
mpi_get_txn(mpi *m, MDB_txn *txn, uint64_t rid, struct mpi_patient *out)
{
	struct mpi_mk k;
	hie_err       e;

	if ((e = mpi_rec_get(m, txn, rid, out)) != HIE_OK || (e = mpi_mk_get(m, txn, rid, &k)) != HIE_OK)
		return e;
	out->eid = k.eid;
	return HIE_OK;
}

hie_err
mpi_find_txn(mpi *m, MDB_txn *txn, const char *source, const struct mpi_cx *cx, uint64_t *rid, uint64_t *eid)
{
	char                key[300];
	size_t              a = strlen(cx->authority), l = strlen(cx->id);
	MDB_val             k = { a + 1 + l, key }, v;
	MDB_cursor         *c;
	struct mpi_patient *p = NULL;
	hie_err             e = HIE_ENOTFOUND;
	int                 rc;

	*rid = *eid = 0;
	if (a == 0 || l == 0 || a + 1 + l > 511)
		return HIE_EINVAL;
	memcpy(key, cx->authority, a);
	key[a] = '\0';
	memcpy(key + a + 1, cx->id, l);
	if (source != NULL && (p = malloc(sizeof(*p))) == NULL)
		return HIE_ENOMEM;
	if ((rc = mdb_cursor_open(txn, m->idx, &c)) != 0) {
		free(p);
		return hie_store_err(rc);
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		uint64_t      r = mpi_u64_get(v.mv_data);
		struct mpi_mk mk;
		hie_err       e2;
		if (p != NULL) {
			if ((e2 = mpi_rec_get(m, txn, r, p)) != HIE_OK) {
				e = e2;
				break;
			}
			if (strcmp(p->source, source) != 0)
				continue;
		}
		if ((e2 = mpi_mk_get(m, txn, r, &mk)) != HIE_OK) {
			e = e2;
			break;
		}
		*rid = r;
		*eid = mk.eid;
		e = HIE_OK;
		break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		e = hie_store_err(rc);
	mdb_cursor_close(c);
	free(p);
	if (e == HIE_OK && (e = mpi_resolve_txn(m, txn, *eid, eid)) != HIE_OK)
		return e;
	return e;
}
