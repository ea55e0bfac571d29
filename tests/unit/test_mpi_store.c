/* tests/unit/test_mpi_store.c -- the MPI on a real LMDB: add and link,
 * identifier lookup, search, merge/unmerge with history, the review queue,
 * update, manual link/unlink, and bad input that must leave nothing
 * half-linked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi.h"
#include "node/store.h"
#include "testutil.h"

#define HOSP "1.3.6.1.4.1.21367.13.20.3000"
#define CLIN "1.3.6.1.4.1.21367.13.20.1000"

static char     dir[256];
static MDB_env *env;
static mpi     *m;

static int
setup(void **state)
{
	(void) state;
	tu_tmpdir(dir);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(mpi_open(env, &m), HIE_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	mpi_close(m);
	hie_store_close(env);
	tu_rmtree(dir);
	return 0;
}

/* A record from a compact description; id may be NULL. */
static struct mpi_patient *
person(const char *given, const char *family, const char *dob, const char *num, const char *street,
    const char *city, const char *postcode, const char *id, const char *authority)
{
	static struct mpi_patient p;

	memset(&p, 0, sizeof(p));
	hie_strlcpy(p.source, "test", sizeof(p.source));
	p.n_names = 1;
	hie_strlcpy(p.names[0].use, "L", sizeof(p.names[0].use));
	hie_strlcpy(p.names[0].given, given, sizeof(p.names[0].given));
	hie_strlcpy(p.names[0].family, family, sizeof(p.names[0].family));
	hie_strlcpy(p.birth_date, dob, sizeof(p.birth_date));
	p.sex = 'F';
	if (street != NULL) {
		p.n_addrs = 1;
		hie_strlcpy(p.addrs[0].number, num, sizeof(p.addrs[0].number));
		hie_strlcpy(p.addrs[0].street, street, sizeof(p.addrs[0].street));
		hie_strlcpy(p.addrs[0].city, city, sizeof(p.addrs[0].city));
		hie_strlcpy(p.addrs[0].postcode, postcode, sizeof(p.addrs[0].postcode));
	}
	if (id != NULL) {
		p.n_ids = 1;
		hie_strlcpy(p.ids[0].cx.id, id, sizeof(p.ids[0].cx.id));
		hie_strlcpy(p.ids[0].cx.authority, authority, sizeof(p.ids[0].cx.authority));
		hie_strlcpy(p.ids[0].type, "MR", sizeof(p.ids[0].type));
	}
	return &p;
}

static uint64_t
add(struct mpi_patient *p, mpi_outcome want)
{
	struct mpi_result r;

	assert_int_equal(mpi_add(m, p, 0, &r), HIE_OK);
	if (r.outcome != want)
		fail_msg("outcome %s (prob %.3f), want %s", mpi_outcome_name(r.outcome), r.prob, mpi_outcome_name(want));
	assert_int_equal(r.eid, p->eid);
	return r.eid;
}

static uint64_t
records(void)
{
	uint64_t r, e;
	assert_int_equal(mpi_count(m, &r, &e), HIE_OK);
	return r;
}

static void
test_add_link_lookup(void **state)
{
	struct mpi_candidate c[4];
	struct mpi_ident     ids[8];
	struct mpi_patient   got, *q;
	struct mpi_cx        cx = { "H-100", HOSP };
	uint64_t             e1, e2, e3, eid;
	size_t               n;

	(void) state;
	e1 = add(person("Margaret", "O'Neil", "1961-03-14", "12", "Harbour Street", "Springfield", "2000", "H-100", HOSP),
	    MPI_NEW);
	/* Same hospital id, demographics that would not match: the id wins. */
	e2 = add(person("Peggy", "Smith", "19700101", "", "", "", "", "H-100", HOSP), MPI_LINKED_ID);
	assert_int_equal(e1, e2);
	/* Another clinic, nickname and a typo: a probabilistic link. */
	e3 = add(person("Peggy", "ONeill", "14/03/1961", "12", "harbour st", "Springfield", "2000", "C-7", CLIN),
	    MPI_LINKED_MATCH);
	assert_int_equal(e1, e3);
	add(person("Robert", "Jones", "19450607", "3", "Hill Road", "Shelbyville", "3999", "C-8", CLIN), MPI_NEW);

	assert_int_equal(mpi_lookup_id(m, &cx, &eid, ids, 8, &n), HIE_OK);
	assert_int_equal(eid, e1);
	assert_int_equal(n, 2); /* H-100 (once) and C-7 */
	assert_string_equal(ids[0].cx.id, "H-100");
	assert_string_equal(ids[1].cx.id, "C-7");
	hie_strlcpy(cx.id, "H-999", sizeof(cx.id));
	assert_int_equal(mpi_lookup_id(m, &cx, &eid, ids, 8, &n), HIE_EUNKNOWNPATIENT);

	/* Demographic search: the right enterprise id first, with its score. */
	q = person("margaret", "oneil", "19610314", "", NULL, "", "", NULL, NULL);
	assert_int_equal(mpi_search(m, q, 0.5, c, 4, &n), HIE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].eid, e1);
	assert_true(c[0].prob > 0.9);
	assert_int_equal(mpi_get(m, c[0].rid, &got), HIE_OK);
	assert_int_equal(got.eid, e1);
	assert_string_equal(got.birth_date, "19610314"); /* stored normalised */
}

static void
test_merge_unmerge(void **state)
{
	struct mpi_hist  h[8];
	struct mpi_ident ids[8];
	struct mpi_cx    cx = { "C-9", CLIN }, xs[8];
	uint64_t         a, b, live, rids[8], eid;
	size_t           n, na;

	(void) state;
	a = add(person("Ann", "Lee", "19800101", "1", "Main Street", "Town", "1000", "H-1", HOSP), MPI_NEW);
	add(person("Ann", "Lee", "19800101", "1", "Main Street", "Town", "1000", "H-1", HOSP), MPI_LINKED_ID);
	b = add(person("Anne", "Leigh", "19790505", "88", "Other Road", "City", "5000", "C-9", CLIN), MPI_NEW);
	assert_int_not_equal(a, b);
	assert_int_equal(mpi_members(m, a, rids, 8, &na), HIE_OK);
	assert_int_equal(na, 2);

	assert_int_equal(mpi_merge(m, b, a), HIE_OK);
	assert_int_equal(mpi_resolve(m, b, &live), HIE_OK);
	assert_int_equal(live, a);
	assert_int_equal(mpi_members(m, a, rids, 8, &n), HIE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(mpi_members(m, b, rids, 8, &n), HIE_OK); /* follows the merge */
	assert_int_equal(n, 3);
	assert_int_equal(mpi_lookup_id(m, &cx, &eid, ids, 8, &n), HIE_OK);
	assert_int_equal(eid, a);
	assert_int_equal(mpi_merge(m, a, b), HIE_EINVAL); /* b is retired */
	assert_int_equal(mpi_merge(m, a, a), HIE_EINVAL);
	/* What the registry queries for the retired patient's id: its own
	 * and the survivor's (H-1 once, though two records hold it). */
	assert_int_equal(mpi_resolve_cx(m, &cx, &eid, xs, 8, &n), HIE_OK);
	assert_int_equal(eid, a);
	assert_int_equal(n, 2);
	assert_string_equal(xs[0].id, "C-9");
	assert_string_equal(xs[1].id, "H-1");
	assert_string_equal(xs[1].authority, HOSP);
	assert_int_equal(mpi_resolve_cx(m, &cx, &eid, xs, 1, &n), HIE_OK);
	assert_int_equal(n, 2); /* the total, one filled */
	assert_string_equal(xs[0].id, "C-9");

	assert_int_equal(mpi_unmerge(m, b), HIE_OK);
	assert_int_equal(mpi_resolve(m, b, &live), HIE_OK);
	assert_int_equal(live, b);
	assert_int_equal(mpi_members(m, a, rids, 8, &n), HIE_OK);
	assert_int_equal(n, na);
	assert_int_equal(mpi_members(m, b, rids, 8, &n), HIE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(mpi_lookup_id(m, &cx, &eid, ids, 8, &n), HIE_OK);
	assert_int_equal(eid, b);
	assert_int_equal(mpi_unmerge(m, b), HIE_ENOTFOUND);
	assert_int_equal(mpi_resolve_cx(m, &cx, &eid, xs, 8, &n), HIE_OK);
	assert_int_equal(eid, b);
	assert_int_equal(n, 1);
	assert_string_equal(xs[0].id, "C-9");
	hie_strlcpy(cx.id, "C-404", sizeof(cx.id));
	assert_int_equal(mpi_resolve_cx(m, &cx, &eid, xs, 8, &n), HIE_EUNKNOWNPATIENT);

	/* The moved record's history: added, merged away, restored. */
	assert_int_equal(mpi_history(m, rids[0], h, 8, &n), HIE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(h[0].op, MPI_H_ADD);
	assert_int_equal(h[1].op, MPI_H_MERGE);
	assert_int_equal(h[1].from_eid, b);
	assert_int_equal(h[1].to_eid, a);
	assert_int_equal(h[2].op, MPI_H_UNMERGE);
	assert_int_equal(h[2].to_eid, b);
	assert_true(h[0].seq < h[1].seq && h[1].seq < h[2].seq);
}

static void
test_link_unlink_update(void **state)
{
	struct mpi_result  r;
	struct mpi_patient got;
	uint64_t           a, b, fresh, rids[4];
	size_t             n;

	(void) state;
	a = add(person("Tom", "Hardy", "19770915", "5", "Elm Street", "Hill", "4000", "H-5", HOSP), MPI_NEW);
	b = add(person("Zed", "Quist", "19500101", "9", "Oak Road", "Vale", "6000", "H-6", HOSP), MPI_NEW);
	assert_int_equal(mpi_members(m, b, rids, 4, &n), HIE_OK);
	assert_int_equal(mpi_link(m, rids[0], a), HIE_OK);
	assert_int_equal(mpi_members(m, a, rids, 4, &n), HIE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mpi_members(m, b, rids, 4, &n), HIE_EUNKNOWNPATIENT);
	assert_int_equal(mpi_link(m, rids[0], 999999), HIE_EUNKNOWNPATIENT);
	assert_int_equal(mpi_unlink(m, rids[1], &fresh), HIE_OK);
	assert_true(fresh != a && fresh != b);
	assert_int_equal(mpi_link(m, 424242, a), HIE_ENOTFOUND);

	/* Update keeps the link and replaces the demographics. */
	assert_int_equal(mpi_get(m, rids[0], &got), HIE_OK);
	hie_strlcpy(got.names[0].family, "Hardy-Smith", sizeof(got.names[0].family));
	assert_int_equal(mpi_update(m, &got, &r), HIE_OK);
	assert_int_equal(mpi_get(m, rids[0], &got), HIE_OK);
	assert_string_equal(got.names[0].family, "Hardy-Smith");
	assert_int_equal(got.eid, a);
	hie_strlcpy(got.birth_date, "19771315", sizeof(got.birth_date));
	assert_int_equal(mpi_update(m, &got, &r), HIE_EINVAL);
	got.rid = 777777;
	hie_strlcpy(got.birth_date, "19770915", sizeof(got.birth_date));
	assert_int_equal(mpi_update(m, &got, &r), HIE_ENOTFOUND);
}

/* The node's thresholds replace the model's: the same near match links
 * under the default, goes to review when linking asks for more. */
static void
test_thresholds(void **state)
{
	struct mpi_model md;

	(void) state;
	assert_int_equal(mpi_set_thresholds(m, 0.5, 0.6), HIE_EINVAL);
	assert_int_equal(mpi_set_thresholds(m, 1.5, 0.6), HIE_EINVAL);
	assert_int_equal(mpi_set_thresholds(m, 0.9, 0), HIE_EINVAL);
	add(person("Margaret", "O'Neil", "1961-03-14", "12", "Harbour Street", "Springfield", "2000", "H-100", HOSP),
	    MPI_NEW);
	add(person("Peggy", "ONeill", "14/03/1961", "12", "harbour st", "Springfield", "2000", "C-7", CLIN),
	    MPI_LINKED_MATCH);
	assert_int_equal(mpi_set_thresholds(m, 1.0, 0.05), HIE_OK);
	/* No identifier this time (one from the clinic's authority would
	 * conflict with C-7 and go to review whatever the thresholds). */
	add(person("Peggy", "ONeill", "14/03/1961", "12", "harbour st", "Springfield", "2000", NULL, NULL),
	    MPI_REVIEW);
	assert_int_equal(mpi_model_get(m, &md), HIE_OK);
	assert_true(md.link == 1.0 && md.review == 0.05);
}

/* The blocking measures: a record and its near copy meet in a block,
 * two strangers do not; the stats count the candidate pairs. */
static void
test_block_measures(void **state)
{
	struct mpi_result r1, r2, r3;
	double            pairs;
	uint64_t          blocks, skipped;
	int               shared;

	(void) state;
	assert_int_equal(mpi_add(m, person("Ann", "Lee", "19800101", "1", "Main Street", "Town", "1000", NULL, NULL),
	                     MPI_ADD_NOMATCH, &r1), HIE_OK);
	assert_int_equal(mpi_add(m, person("Anne", "Lee", "19800110", "1", "Main St", "Town", "1000", NULL, NULL),
	                     MPI_ADD_NOMATCH, &r2), HIE_OK);
	assert_int_equal(mpi_add(m, person("Bob", "Stone", "19500505", "9", "Hill Road", "City", "5000", NULL, NULL),
	                     MPI_ADD_NOMATCH, &r3), HIE_OK);
	assert_int_equal(mpi_block_shared(m, r1.rid, r2.rid, &shared), HIE_OK);
	assert_int_equal(shared, 1);
	assert_int_equal(mpi_block_shared(m, r1.rid, r3.rid, &shared), HIE_OK);
	assert_int_equal(shared, 0);
	assert_int_equal(mpi_block_shared(m, r1.rid, 999, &shared), HIE_ENOTFOUND);
	assert_int_equal(mpi_block_stats(m, &pairs, &blocks, &skipped), HIE_OK);
	assert_true(pairs >= 1 && pairs <= 5);
	assert_true(blocks > 5);
	assert_int_equal(skipped, 0);
}

static void
test_review_queue(void **state)
{
	struct mpi_candidate c[2];
	struct mpi_review    rv[4];
	struct mpi_model     md;
	struct mpi_patient   got;
	struct mpi_hist      h[4];
	struct mpi_result    r;
	uint64_t             a, cand;
	size_t               n;

	(void) state;
	a = add(person("Alice", "Walker", "19900220", "7", "Bay Road", "Port", "7000", "H-10", HOSP), MPI_NEW);
	/* Same surname and birth date, another given name, no address: a
	 * possible match.  Put the thresholds around its score so the test
	 * does not depend on the priors' exact numbers. */
	assert_int_equal(mpi_search(m, person("Beatrice", "Walker", "19900220", "", NULL, "", "", "C-10", CLIN), 0.0, c,
	                     2, &n),
	    HIE_OK);
	assert_int_equal(n, 1);
	assert_true(c[0].prob > 0.02 && c[0].prob < 0.98);
	assert_int_equal(mpi_model_get(m, &md), HIE_OK);
	md.link = c[0].prob + (1 - c[0].prob) / 2;
	md.review = c[0].prob / 2;
	assert_int_equal(mpi_model_set(m, &md), HIE_OK);

	add(person("Beatrice", "Walker", "19900220", "", NULL, "", "", "C-10", CLIN), MPI_REVIEW);
	add(person("Beatrice", "Walker", "19900220", "", NULL, "", "", "C-11", CLIN), MPI_REVIEW);
	assert_int_equal(mpi_review_list(m, rv, 4, &n), HIE_OK);
	assert_true(n >= 2);
	assert_int_equal(rv[0].eid, a);
	cand = rv[0].eid;

	assert_int_equal(mpi_review_accept(m, rv[0].id), HIE_OK);
	assert_int_equal(mpi_get(m, rv[0].rid, &got), HIE_OK);
	assert_int_equal(got.eid, cand);
	assert_int_equal(mpi_history(m, rv[0].rid, h, 4, &n), HIE_OK);
	assert_int_equal(h[n - 1].op, MPI_H_ACCEPT);
	assert_int_equal(mpi_review_accept(m, rv[0].id), HIE_ENOTFOUND);

	/* Reject: the record keeps its own enterprise id. */
	assert_int_equal(mpi_review_list(m, rv, 4, &n), HIE_OK);
	for (size_t i = 0; i < n; i++) {
		uint64_t before;
		assert_int_equal(mpi_get(m, rv[i].rid, &got), HIE_OK);
		before = got.eid;
		assert_int_equal(mpi_review_reject(m, rv[i].id), HIE_OK);
		assert_int_equal(mpi_get(m, rv[i].rid, &got), HIE_OK);
		assert_int_equal(got.eid, before);
	}
	assert_int_equal(mpi_review_list(m, rv, 4, &n), HIE_OK);
	assert_int_equal(n, 0);
	(void) r;
}

/* Surname frequencies: agreeing on a rare surname weighs more than on a
 * common one, all else equal; without the table both weigh the same. */
static void
test_family_frequency(void **state)
{
	static const char *const given[] = { "anna", "john", "mary", "peter", "susan", "paul" };
	struct mpi_model         md, plain;
	struct mpi_candidate     c[4];
	struct mpi_result        r;
	size_t                   n;
	double                   w_common, w_rare, a_common, a_rare;
	char                     dob[16];

	(void) state;
	/* A quarter of the records are Smiths; the rest have surnames of
	 * their own. */
	for (int i = 0; i < 100; i++) {
		snprintf(dob, sizeof(dob), "19%02d%02d%02d", 30 + i % 60, 1 + i % 12, 1 + i % 28);
		assert_int_equal(mpi_add(m, person(given[i % 6], "smith", dob, NULL, NULL, NULL, NULL, NULL, NULL),
		                     MPI_ADD_NOMATCH, &r), HIE_OK);
	}
	for (int i = 0; i < 300; i++) {
		char fam[32];
		snprintf(fam, sizeof(fam), "rare%c%c", 'a' + i % 26, 'a' + i / 26);
		assert_int_equal(mpi_add(m, person("anna", fam, "19500505", NULL, NULL, NULL, NULL, NULL, NULL),
		                     MPI_ADD_NOMATCH, &r), HIE_OK);
	}
	assert_int_equal(mpi_add(m, person("walter", "smith", "19810203", "5", "main street", "x", "2000", NULL, NULL),
	                     MPI_ADD_NOMATCH, &r), HIE_OK);
	assert_int_equal(mpi_add(m, person("walter", "zabrowski", "19810203", "5", "main street", "x", "2000", NULL,
	                     NULL), MPI_ADD_NOMATCH, &r), HIE_OK);
	mpi_model_default(&md);
	plain = md;
	assert_int_equal(mpi_family_count(m, &md), HIE_OK);
	a_common = mpi_family_adjust(&md, "smith");
	a_rare = mpi_family_adjust(&md, "zabrowski");
	assert_true(a_common < -1.0);
	assert_true(a_rare > 0 && a_rare <= MPI_FREQ_MAX_BOOST);
	assert_true(mpi_family_adjust(&plain, "smith") == 0);

	assert_int_equal(mpi_model_set(m, &md), HIE_OK);
	assert_int_equal(mpi_search(m, person("walter", "smith", "19810203", "5", "main street", "x", "2000", NULL, NULL),
	                     0.01, c, 4, &n), HIE_OK);
	assert_true(n >= 1);
	w_common = c[0].weight;
	assert_int_equal(mpi_search(m, person("walter", "zabrowski", "19810203", "5", "main street", "x", "2000", NULL,
	                     NULL), 0.01, c, 4, &n), HIE_OK);
	assert_true(n >= 1);
	w_rare = c[0].weight;
	assert_true(fabs((w_rare - w_common) - (a_rare - a_common)) < 1e-9);

	/* The same pairs under the model without the table weigh the same. */
	assert_int_equal(mpi_model_set(m, &plain), HIE_OK);
	assert_int_equal(mpi_search(m, person("walter", "smith", "19810203", "5", "main street", "x", "2000", NULL, NULL),
	                     0.01, c, 4, &n), HIE_OK);
	w_common = c[0].weight;
	assert_int_equal(mpi_search(m, person("walter", "zabrowski", "19810203", "5", "main street", "x", "2000", NULL,
	                     NULL), 0.01, c, 4, &n), HIE_OK);
	assert_true(fabs(c[0].weight - w_common) < 1e-9);
}

static void
test_bad_input(void **state)
{
	struct mpi_result   r;
	struct mpi_patient *p;
	uint64_t            before;

	(void) state;
	add(person("Ivy", "Stone", "19880808", "1", "Rock Road", "Quarry", "8000", "H-20", HOSP), MPI_NEW);
	add(person("Olga", "Brook", "19550505", "2", "River Road", "Ford", "8100", "C-20", CLIN), MPI_NEW);
	before = records();

	static const struct {
		int         what;
		const char *why;
	} cases[] = {
		{ 0, "no name" }, { 1, "neither a birth date nor an identifier" }, { 2, "invalid birth date" },
		{ 3, "invalid birth date" }, { 4, "invalid administrative sex" }, { 5, "impossible identifier" },
		{ 6, "impossible identifier" }, { 7, "two different identifiers" }, { 8, "control character" },
		{ 9, "impossible identifier" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = person("Eve", "Black", "19700101", "", NULL, "", "", "H-30", HOSP);
		switch (cases[i].what) {
		case 0: p->names[0].given[0] = p->names[0].family[0] = '\0'; break;
		case 1: p->birth_date[0] = '\0', p->n_ids = 0; break;
		case 2: hie_strlcpy(p->birth_date, "19700231", sizeof(p->birth_date)); break;
		case 3: hie_strlcpy(p->birth_date, "next tuesday", sizeof(p->birth_date)); break;
		case 4: p->sex = 'X'; break;
		case 5: hie_strlcpy(p->ids[0].cx.authority, "not-an-oid", sizeof(p->ids[0].cx.authority)); break;
		case 6: hie_strlcpy(p->ids[0].cx.id, "A^B", sizeof(p->ids[0].cx.id)); break;
		case 7:
			p->n_ids = 2;
			p->ids[1] = p->ids[0];
			hie_strlcpy(p->ids[1].cx.id, "H-31", sizeof(p->ids[1].cx.id));
			break;
		case 8: hie_strlcpy(p->names[0].family, "Bl\nack", sizeof(p->names[0].family)); break;
		case 9: p->ids[0].cx.id[0] = '\0'; break;
		}
		assert_int_equal(mpi_add(m, p, 0, &r), HIE_EINVAL);
		if (strstr(r.why, cases[i].why) == NULL)
			fail_msg("case %zu: why \"%s\", want \"%s\"", i, r.why, cases[i].why);
		assert_int_equal(r.rid, 0);
		assert_int_equal(records(), before);
	}

	/* Contradictory: ids of two different patients in one record. */
	p = person("Ivy", "Brook", "19880808", "", NULL, "", "", "H-20", HOSP);
	p->n_ids = 2;
	hie_strlcpy(p->ids[1].cx.id, "C-20", sizeof(p->ids[1].cx.id));
	hie_strlcpy(p->ids[1].cx.authority, CLIN, sizeof(p->ids[1].cx.authority));
	assert_int_equal(mpi_add(m, p, 0, &r), HIE_EAMBIGUOUS);
	assert_non_null(strstr(r.why, "already belong to enterprise ids"));
	assert_int_equal(records(), before);

	/* A batch: the bad record is refused alone, the others commit. */
	{
		struct mpi_patient batch[3];
		struct mpi_result  res[3];
		batch[0] = *person("Kai", "North", "20010101", "", NULL, "", "", NULL, NULL);
		batch[1] = *person("Kai", "North", "20010231", "", NULL, "", "", NULL, NULL);
		batch[2] = *person("Lia", "South", "20020202", "", NULL, "", "", NULL, NULL);
		assert_int_equal(mpi_add_batch(m, batch, 3, 0, res), HIE_OK);
		assert_int_equal(res[0].err, HIE_OK);
		assert_int_equal(res[1].err, HIE_EINVAL);
		assert_int_equal(res[2].err, HIE_OK);
		assert_int_equal(records(), before + 2);
	}
	assert_int_equal(mpi_search(m, person("", "", "", "", NULL, "", "", NULL, NULL), 0, NULL, 0, &(size_t) { 0 }),
	    HIE_EINVAL);
}

static void
test_persists(void **state)
{
	struct mpi_ident ids[4];
	struct mpi_cx    cx = { "H-40", HOSP };
	uint64_t         a, eid;
	size_t           n;

	(void) state;
	a = add(person("Noor", "Haddad", "19830303", "4", "Sea Road", "Bay", "9000", "H-40", HOSP), MPI_NEW);
	/* Acknowledged means committed: a fresh environment sees it. */
	mpi_close(m);
	hie_store_close(env);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(mpi_open(env, &m), HIE_OK);
	assert_int_equal(mpi_lookup_id(m, &cx, &eid, ids, 4, &n), HIE_OK);
	assert_int_equal(eid, a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_link_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_unmerge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thresholds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_measures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_unlink_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_review_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_family_frequency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persists, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
