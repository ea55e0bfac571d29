/* tests/unit/test_mpi_bulk.c -- mpi_add_batch (matched in parallel, then
 * written sorted) gives every record the outcome, record id, enterprise id
 * and review entries that adding the records one by one gives: the same
 * people registered again with typos, nicknames and moves, inside one
 * batch and across batches, identifiers shared (linked by id) and
 * conflicting (refused as ambiguous), invalid records among them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi.h"
#include "node/store.h"
#include "testutil.h"

#define N      1600
#define PEOPLE 500
#define AUTH   "1.3.6.1.4.1.21367.13.20.3000"

static const char *const given[] = { "anna", "william", "bill", "robert", "maria", "john", "jon", "susan",
	"margaret", "peggy", "thomas", "elena" };
static const char *const family[] = { "smith", "smyth", "jones", "garcia", "nguyen", "van der berg", "oconnor",
	"kowalski", "brown", "lee" };
static const char *const streets[] = { "main street", "high street", "park avenue", "oak road" };

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned
rnd(unsigned n)
{
	rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
	return (unsigned) ((rng * 0x2545f4914f6cdd1dull) >> 33) % n;
}

static void
make(struct mpi_patient *p, unsigned who, unsigned serial)
{
	/* Few names and birth dates: blocks hold many people, so matching
	 * has real work and the batch's own records meet each other. */
	unsigned g = who % 12, f = (who / 12) % 10, y = 1950 + who % 7, mo = 1 + who % 12, d = 1 + who % 28;

	memset(p, 0, sizeof(*p));
	hie_strlcpy(p->source, "test", sizeof(p->source));
	p->n_names = 1;
	hie_strlcpy(p->names[0].given, given[g], sizeof(p->names[0].given));
	hie_strlcpy(p->names[0].family, family[f], sizeof(p->names[0].family));
	snprintf(p->birth_date, sizeof(p->birth_date), "%04u%02u%02u", y, mo, d);
	p->sex = g % 2 ? 'M' : 'F';
	p->n_addrs = 1;
	snprintf(p->addrs[0].number, sizeof(p->addrs[0].number), "%u", 1 + who % 40);
	hie_strlcpy(p->addrs[0].street, streets[who % 4], sizeof(p->addrs[0].street));
	snprintf(p->addrs[0].postcode, sizeof(p->addrs[0].postcode), "%u", 2000 + who % 9);
	switch (rnd(10)) {
	case 0: p->names[0].family[1] = 'x'; break;              /* typo */
	case 1: hie_strlcpy(p->names[0].given, given[(g + 1) % 12], sizeof(p->names[0].given)); break;
	case 2: snprintf(p->addrs[0].postcode, sizeof(p->addrs[0].postcode), "%u", 3000 + rnd(9)); break;
	case 3: p->birth_date[7] = (char) ('0' + rnd(10)); break;
	case 4: hie_strlcpy(p->birth_date, "2001-02-30", sizeof(p->birth_date)); break; /* refused */
	default: break;
	}
	switch (rnd(6)) {
	case 0: /* the person's own record number: links by identifier */
		p->n_ids = 1;
		snprintf(p->ids[0].cx.id, sizeof(p->ids[0].cx.id), "P%u", who);
		break;
	case 1: /* a number of its own (a conflict when the person has another) */
		p->n_ids = 1;
		snprintf(p->ids[0].cx.id, sizeof(p->ids[0].cx.id), "S%u", serial);
		break;
	case 2: /* someone else's number: ambiguous when the person has one */
		p->n_ids = 1;
		snprintf(p->ids[0].cx.id, sizeof(p->ids[0].cx.id), "P%u", rnd(PEOPLE));
		break;
	default: break;
	}
	if (p->n_ids > 0) {
		hie_strlcpy(p->ids[0].cx.authority, AUTH, sizeof(p->ids[0].cx.authority));
		hie_strlcpy(p->ids[0].type, "MR", sizeof(p->ids[0].type));
	}
}

static void
test_batch_equals_one_by_one(void **state)
{
	static struct mpi_patient p[N], q[N];
	static struct mpi_result  r1[N], r2[N];
	struct mpi_review         v1[64], v2[64];
	char                      d1[256], d2[256];
	MDB_env                  *e1, *e2;
	mpi                      *m1, *m2;
	size_t                    nv1, nv2, outcomes[4] = { 0 }, refused = 0;
	uint64_t                  recs1, recs2, ents1, ents2;

	(void) state;
	for (unsigned i = 0; i < N; i++)
		make(&p[i], i < PEOPLE ? i : rnd(PEOPLE), i);
	memcpy(q, p, sizeof(p));
	tu_tmpdir(d1);
	tu_tmpdir(d2);
	assert_int_equal(hie_store_open(d1, 256, &e1), HIE_OK);
	assert_int_equal(hie_store_open(d2, 256, &e2), HIE_OK);
	assert_int_equal(mpi_open(e1, &m1), HIE_OK);
	assert_int_equal(mpi_open(e2, &m2), HIE_OK);
	for (size_t i = 0; i < N; i++) {
		hie_err e = mpi_add(m1, &p[i], 0, &r1[i]);
		assert_true(e == HIE_OK || e == r1[i].err);
	}
	/* Batches of 300 and 1300 (threads start at 256 records). */
	assert_int_equal(mpi_add_batch(m2, q, 300, 0, r2), HIE_OK);
	assert_int_equal(mpi_add_batch(m2, q + 300, N - 300, 0, r2 + 300), HIE_OK);
	for (size_t i = 0; i < N; i++) {
		if (r1[i].err != r2[i].err || r1[i].outcome != r2[i].outcome || r1[i].rid != r2[i].rid ||
		    r1[i].eid != r2[i].eid || fabs(r1[i].prob - r2[i].prob) > 1e-9)
			fail_msg("record %zu: one by one %s %s rid %llu eid %llu prob %.6f; batch %s %s rid %llu eid %llu prob %.6f",
			    i, hie_strerror(r1[i].err), mpi_outcome_name(r1[i].outcome), (unsigned long long) r1[i].rid,
			    (unsigned long long) r1[i].eid, r1[i].prob, hie_strerror(r2[i].err),
			    mpi_outcome_name(r2[i].outcome), (unsigned long long) r2[i].rid, (unsigned long long) r2[i].eid,
			    r2[i].prob);
		if (r1[i].err == HIE_OK) {
			assert_string_equal(r1[i].why, r2[i].why);
			outcomes[r1[i].outcome]++;
		} else
			refused++;
	}
	/* The set exercises every path. */
	for (int o = 0; o < 4; o++)
		if (outcomes[o] == 0)
			fail_msg("no record had outcome %s", mpi_outcome_name((mpi_outcome) o));
	assert_true(refused > 0);
	assert_int_equal(mpi_review_list(m1, v1, 64, &nv1), HIE_OK);
	assert_int_equal(mpi_review_list(m2, v2, 64, &nv2), HIE_OK);
	assert_int_equal(nv1, nv2);
	for (size_t i = 0; i < nv1 && i < 64; i++) {
		assert_int_equal(v1[i].id, v2[i].id);
		assert_int_equal(v1[i].rid, v2[i].rid);
		assert_int_equal(v1[i].eid, v2[i].eid);
	}
	assert_int_equal(mpi_count(m1, &recs1, &ents1), HIE_OK);
	assert_int_equal(mpi_count(m2, &recs2, &ents2), HIE_OK);
	assert_int_equal(recs1, recs2);
	assert_int_equal(ents1, ents2);
	/* The indexes written sorted are the indexes: searches and
	 * identifier lookups answer alike. */
	for (size_t i = 0; i < N; i += 7) {
		struct mpi_candidate c1[5], c2[5];
		size_t               n1, n2;
		uint64_t             x1, x2;
		struct mpi_ident     id1[4], id2[4];
		if (r1[i].err != HIE_OK)
			continue;
		assert_int_equal(mpi_search(m1, &p[i], 0.01, c1, 5, &n1), HIE_OK);
		assert_int_equal(mpi_search(m2, &q[i], 0.01, c2, 5, &n2), HIE_OK);
		assert_int_equal(n1, n2);
		for (size_t k = 0; k < n1; k++)
			assert_int_equal(c1[k].eid, c2[k].eid);
		if (p[i].n_ids > 0) {
			hie_err a = mpi_lookup_id(m1, &p[i].ids[0].cx, &x1, id1, 4, &n1);
			hie_err b = mpi_lookup_id(m2, &q[i].ids[0].cx, &x2, id2, 4, &n2);
			assert_int_equal(a, b);
			if (a == HIE_OK)
				assert_int_equal(x1, x2);
		}
	}
	mpi_close(m1);
	mpi_close(m2);
	hie_store_close(e1);
	hie_store_close(e2);
	tu_rmtree(d1);
	tu_rmtree(d2);
}

/* mpi_add_stream: batch k is matched while batch k - 1 is written, against
 * the store before it plus its records in memory.  Records loaded as a
 * stream of batches of 300 (6 batches: each matched with the one before
 * it as its in-memory prefix), with another writer committing a record in
 * the middle of the stream (next() adds one while the stream's writer
 * has a batch in hand): the batches that the commit makes stale are
 * matched again, and every record gets what adding them all one by one in
 * record id order gives. */
struct sctx {
	mpi                *m;
	struct mpi_patient *src, extra;
	struct mpi_result  *res, extra_res;
	size_t              n, next, done, calls, batch_sizes_ok;
};

static hie_err
s_next(void *arg, struct mpi_patient *p, size_t cap, size_t *n)
{
	struct sctx *x = arg;

	if (x->calls++ == 3) /* another writer, between two batches' commits */
		assert_int_equal(mpi_add(x->m, &x->extra, 0, &x->extra_res), HIE_OK);
	*n = x->n - x->next < cap ? x->n - x->next : cap;
	memcpy(p, x->src + x->next, *n * sizeof(*p));
	x->next += *n;
	return HIE_OK;
}

static hie_err
s_done(void *arg, struct mpi_patient *p, struct mpi_result *res, size_t n)
{
	struct sctx *x = arg;

	for (size_t j = 0; j < n; j++) {
		x->res[x->done + j] = res[j];
		assert_int_equal(p[j].rid, res[j].rid);
	}
	x->done += n;
	return HIE_OK;
}

struct ord {
	uint64_t rid;
	size_t   i; /* N: the extra record */
};

static int
ord_cmp(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;
	/* Refused records (rid 0) last: they write nothing. */
	uint64_t rx = x->rid ? x->rid : UINT64_MAX, ry = y->rid ? y->rid : UINT64_MAX;
	return rx < ry ? -1 : rx > ry ? 1 : x->i < y->i ? -1 : x->i > y->i;
}

static void
test_stream_equals_one_by_one(void **state)
{
	static struct mpi_patient p[N], q[N + 1];
	static struct mpi_result  r1[N + 1], r2[N + 1];
	static struct ord         o[N + 1];
	struct sctx               x;
	char                      d1[256], d2[256];
	MDB_env                  *e1, *e2;
	mpi                      *m1, *m2;
	size_t                    linked = 0;

	(void) state;
	rng = 0x243f6a8885a308d3ull;
	for (unsigned i = 0; i < N; i++)
		make(&p[i], i < PEOPLE ? i : rnd(PEOPLE), i);
	memcpy(q, p, sizeof(p));
	tu_tmpdir(d1);
	tu_tmpdir(d2);
	assert_int_equal(hie_store_open(d1, 256, &e1), HIE_OK);
	assert_int_equal(hie_store_open(d2, 256, &e2), HIE_OK);
	assert_int_equal(mpi_open(e1, &m1), HIE_OK);
	assert_int_equal(mpi_open(e2, &m2), HIE_OK);
	memset(&x, 0, sizeof(x));
	x.m = m2;
	x.src = p;
	x.res = r2;
	x.n = N;
	make(&x.extra, 7, N); /* person 7 again */
	x.extra.n_ids = 0;
	q[N] = x.extra;
	assert_int_equal(mpi_add_stream(m2, 300, 0, s_next, s_done, &x), HIE_OK);
	assert_int_equal(x.done, N);
	assert_true(x.extra_res.rid > 300); /* in the middle */
	r2[N] = x.extra_res;
	/* The reference: the same records one by one, in record id order. */
	for (size_t i = 0; i <= N; i++)
		o[i] = (struct ord) { r2[i].err == HIE_OK ? r2[i].rid : 0, i };
	qsort(o, N + 1, sizeof(*o), ord_cmp);
	for (size_t k = 0; k <= N; k++) {
		size_t  i = o[k].i;
		hie_err e = mpi_add(m1, &q[i], 0, &r1[i]);
		assert_true(e == HIE_OK || e == r1[i].err);
	}
	for (size_t i = 0; i <= N; i++) {
		if (r1[i].err != r2[i].err || r1[i].outcome != r2[i].outcome || r1[i].rid != r2[i].rid ||
		    r1[i].eid != r2[i].eid || fabs(r1[i].prob - r2[i].prob) > 1e-9)
			fail_msg("record %zu: one by one %s %s rid %llu eid %llu prob %.6f; stream %s %s rid %llu eid %llu prob %.6f",
			    i, hie_strerror(r1[i].err), mpi_outcome_name(r1[i].outcome), (unsigned long long) r1[i].rid,
			    (unsigned long long) r1[i].eid, r1[i].prob, hie_strerror(r2[i].err),
			    mpi_outcome_name(r2[i].outcome), (unsigned long long) r2[i].rid, (unsigned long long) r2[i].eid,
			    r2[i].prob);
		if (r1[i].err == HIE_OK)
			assert_string_equal(r1[i].why, r2[i].why);
		/* Records linked to a person of an earlier batch: the batches
		 * did meet. */
		linked += r2[i].err == HIE_OK && r2[i].outcome == MPI_LINKED_MATCH && i >= 300;
	}
	print_message("linked by match after the first batch: %zu\n", linked);
	assert_true(linked > 50);
	mpi_close(m1);
	mpi_close(m2);
	hie_store_close(e1);
	hie_store_close(e2);
	tu_rmtree(d1);
	tu_rmtree(d2);
}

/* next() failing after two batches: the error is returned, and the two
 * batches matched before it are written and acknowledged. */
static hie_err
fail_next(void *arg, struct mpi_patient *p, size_t cap, size_t *n)
{
	struct sctx *x = arg;

	if (x->calls++ == 2)
		return HIE_EINVAL;
	*n = cap;
	memcpy(p, x->src + x->next, cap * sizeof(*p));
	x->next += cap;
	return HIE_OK;
}

static void
test_stream_stops(void **state)
{
	static struct mpi_patient p[600];
	static struct mpi_result  r[600];
	struct sctx               x;
	char                      d[256];
	MDB_env                  *env;
	mpi                      *m;
	uint64_t                  recs, ents;
	size_t                    ok = 0;

	(void) state;
	for (unsigned i = 0; i < 600; i++)
		make(&p[i], i % PEOPLE, i);
	tu_tmpdir(d);
	assert_int_equal(hie_store_open(d, 256, &env), HIE_OK);
	assert_int_equal(mpi_open(env, &m), HIE_OK);
	memset(&x, 0, sizeof(x));
	x.src = p;
	x.res = r;
	x.n = 600;
	assert_int_equal(mpi_add_stream(m, 300, 0, fail_next, s_done, &x), HIE_EINVAL);
	assert_int_equal(mpi_add_stream(m, 0, 0, fail_next, s_done, &x), HIE_EINVAL);
	assert_int_equal(x.done, 600);
	for (size_t i = 0; i < 600; i++)
		ok += r[i].err == HIE_OK;
	assert_int_equal(mpi_count(m, &recs, &ents), HIE_OK);
	assert_int_equal(recs, ok);
	mpi_close(m);
	hie_store_close(env);
	tu_rmtree(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_equals_one_by_one),
		cmocka_unit_test(test_stream_equals_one_by_one),
		cmocka_unit_test(test_stream_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
