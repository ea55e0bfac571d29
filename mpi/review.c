/*
 * mpi/review.c -- the possible-match review queue: pairs (new record,
 * enterprise id it may belong to) that scored between the review and link
 * thresholds, waiting for a person to accept or reject them.
 *
 * mpi.review: id (8, big-endian) -> rid (8), eid (8), prob (8, IEEE bits),
 * time (8).
 */
#include <string.h>
#include <time.h>

#include "mpi/internal.h"

#define REVIEW_LEN 32

static uint64_t
dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

static double
bitsd(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

hie_err
mpi_review_put(mpi *m, MDB_txn *txn, uint64_t rid, uint64_t eid, double prob)
{
	unsigned char kb[8], vb[REVIEW_LEN];
	MDB_val       k = { 8, kb }, v = { REVIEW_LEN, vb };
	uint64_t      id;
	hie_err       e;

	if ((e = mpi_counter_next(m, txn, "review", &id)) != HIE_OK)
		return e;
	mpi_u64_put(kb, id);
	mpi_u64_put(vb, rid);
	mpi_u64_put(vb + 8, eid);
	mpi_u64_put(vb + 16, dbits(prob));
	mpi_u64_put(vb + 24, (uint64_t) time(NULL));
	return hie_store_err(mdb_put(txn, m->review, &k, &v, MDB_NOOVERWRITE));
}

static struct mpi_review
decode(uint64_t id, const unsigned char *b)
{
	return (struct mpi_review) { id, mpi_u64_get(b), mpi_u64_get(b + 8), bitsd(mpi_u64_get(b + 16)),
		(int64_t) mpi_u64_get(b + 24) };
}

hie_err
mpi_review_list(mpi *m, struct mpi_review *out, size_t cap, size_t *n)
{
	MDB_txn    *txn;
	MDB_cursor *c;
	MDB_val     k, v;
	int         rc;

	*n = 0;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_cursor_open(txn, m->review, &c)) == 0) {
		for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			if (k.mv_size != 8 || v.mv_size != REVIEW_LEN)
				continue;
			if (*n < cap)
				out[*n] = decode(mpi_u64_get(k.mv_data), v.mv_data);
			(*n)++;
		}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? HIE_OK : hie_store_err(rc);
}

static hie_err
decide(mpi *m, uint64_t id, int accept)
{
	unsigned char     kb[8];
	MDB_val           k = { 8, kb }, v;
	MDB_txn          *txn;
	struct mpi_review r;
	struct mpi_mk     mk;
	uint64_t          live;
	hie_err           e;
	int               rc;

	mpi_u64_put(kb, id);
	if ((rc = mdb_txn_begin(m->env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_get(txn, m->review, &k, &v)) != 0) {
		e = hie_store_err(rc);
		goto fail;
	}
	if (v.mv_size != REVIEW_LEN) {
		e = HIE_EDB;
		goto fail;
	}
	r = decode(id, v.mv_data);
	if ((rc = mdb_del(txn, m->review, &k, NULL)) != 0) {
		e = hie_store_err(rc);
		goto fail;
	}
	if ((e = mpi_mk_get(m, txn, r.rid, &mk)) != HIE_OK)
		goto fail;
	/* The candidate may have been merged since it was queued. */
	if ((e = mpi_resolve_txn(m, txn, r.eid, &live)) != HIE_OK)
		goto fail;
	if (accept && live != mk.eid)
		e = mpi_relink(m, txn, r.rid, &mk, live, MPI_H_ACCEPT);
	else
		e = mpi_hist_put(m, txn, r.rid, accept ? MPI_H_ACCEPT : MPI_H_REJECT, live, mk.eid);
	if (e != HIE_OK)
		goto fail;
	return hie_store_err(mdb_txn_commit(txn));
fail:
	mdb_txn_abort(txn);
	return e;
}

hie_err
mpi_review_accept(mpi *m, uint64_t id)
{
	return decide(m, id, 1);
}

hie_err
mpi_review_reject(mpi *m, uint64_t id)
{
	return decide(m, id, 0);
}
