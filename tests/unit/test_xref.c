/*
 * tests/unit/test_xref.c -- the registry and the MPI together (node/xref.h)
 * on one real LMDB environment: ITI-41's known-patient rule, and queries
 * that follow a patient merge and stop following it after an unmerge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi.h"
#include "node/store.h"
#include "node/xref.h"
#include "registry/registry.h"
#include "testutil.h"

#define AUTH  "1.3.6.1.4.1.21367.13.20.3000"
#define PID_A "DEMO-1001^^^&" AUTH "&ISO"
#define PID_B "DEMO-2002^^^&" AUTH "&ISO"

static char     dir[256];
static MDB_env *env;
static reg     *r;
static mpi     *m;

static int
setup(void **state)
{
	(void) state;
	tu_tmpdir(dir);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(reg_open(env, &r), HIE_OK);
	assert_int_equal(mpi_open(env, &m), HIE_OK);
	node_xref_attach(r, m, 1);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	mpi_close(m);
	reg_close(r);
	hie_store_close(env);
	tu_rmtree(dir);
	return 0;
}

/* One patient into the MPI as an ADT feed would put it; returns its eid. */
static uint64_t
feed(const char *id, const char *given, const char *family, const char *dob)
{
	struct mpi_patient p;
	struct mpi_result  res;

	memset(&p, 0, sizeof(p));
	strcpy(p.source, "test-adt");
	strcpy(p.names[0].given, given);
	strcpy(p.names[0].family, family);
	p.n_names = 1;
	strcpy(p.birth_date, dob);
	p.sex = 'F';
	strcpy(p.ids[0].cx.id, id);
	strcpy(p.ids[0].cx.authority, AUTH);
	strcpy(p.ids[0].type, "MR");
	p.n_ids = 1;
	assert_int_equal(mpi_add(m, &p, 0, &res), HIE_OK);
	return res.eid;
}

/* A demo document registered for patient pid (its own uniqueId). */
static hie_err
put_doc(const char *file, const char *pid, const char *uid)
{
	char             path[512], why[256], *buf;
	size_t           len;
	struct reg_entry e;
	hie_err          err;

	snprintf(path, sizeof(path), "conf/demo/%s", file);
	tu_src(path, sizeof(path), path);
	buf = tu_slurp(path, &len);
	assert_int_equal(reg_ccda_extract(buf, len, NULL, "1.2.3.4.1", &e, why, sizeof(why)), HIE_OK);
	strcpy(e.patient_id, pid);
	strcpy(e.source_patient_id, pid);
	strcpy(e.unique_id, uid);
	err = reg_put(r, &e, buf, len);
	free(buf);
	return err;
}

static size_t
docs_of(const char *pid)
{
	struct reg_query  q;
	struct reg_result res;
	size_t            n;

	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, pid);
	assert_int_equal(reg_find_documents(r, &q, &res), HIE_OK);
	n = res.n;
	reg_result_free(&res);
	return n;
}

static void
test_unknown_patient_refused(void **state)
{
	(void) state;
	assert_int_equal(put_doc("hospital-b-ccd.xml", PID_A, "1.2.3.9.1"), HIE_EUNKNOWNPATIENT);
	assert_int_equal(docs_of(PID_A), 0);
	feed("DEMO-1001", "Eve", "Everywoman", "19750512");
	assert_int_equal(put_doc("hospital-b-ccd.xml", PID_A, "1.2.3.9.1"), HIE_OK);
	assert_int_equal(docs_of(PID_A), 1);
}

static void
test_queries_follow_merge(void **state)
{
	uint64_t a, b;

	(void) state;
	a = feed("DEMO-1001", "Eve", "Everywoman", "19750512");
	/* Someone else entirely, so the MPI keeps them apart until a merge. */
	b = feed("DEMO-2002", "Zoltan", "Quimby", "19420101");
	assert_true(a != b);
	assert_int_equal(put_doc("hospital-b-ccd.xml", PID_A, "1.2.3.9.1"), HIE_OK);
	assert_int_equal(put_doc("hospital-b-discharge.xml", PID_A, "1.2.3.9.2"), HIE_OK);
	assert_int_equal(put_doc("hospital-c-referral.xml", PID_B, "1.2.3.9.3"), HIE_OK);
	assert_int_equal(docs_of(PID_A), 2);
	assert_int_equal(docs_of(PID_B), 1);

	/* ADT A40: B was a duplicate of A.  Either id now finds all three. */
	assert_int_equal(mpi_merge(m, b, a), HIE_OK);
	assert_int_equal(docs_of(PID_A), 3);
	assert_int_equal(docs_of(PID_B), 3);

	/* The merge was a mistake: each finds its own again. */
	assert_int_equal(mpi_unmerge(m, b), HIE_OK);
	assert_int_equal(docs_of(PID_A), 2);
	assert_int_equal(docs_of(PID_B), 1);
}

static void
test_other_authority_not_followed(void **state)
{
	struct mpi_patient p;
	struct mpi_result  res;

	(void) state;
	/* One person known under the domain id and under a clinic's local MRN
	 * (same record): a query for the domain id does not reach documents
	 * filed under the clinic's id. */
	memset(&p, 0, sizeof(p));
	strcpy(p.source, "test-adt");
	strcpy(p.names[0].given, "Eve");
	strcpy(p.names[0].family, "Everywoman");
	p.n_names = 1;
	strcpy(p.birth_date, "19750512");
	strcpy(p.ids[0].cx.id, "DEMO-1001");
	strcpy(p.ids[0].cx.authority, AUTH);
	strcpy(p.ids[1].cx.id, "MRN-77");
	strcpy(p.ids[1].cx.authority, "1.2.840.99.1");
	p.n_ids = 2;
	assert_int_equal(mpi_add(m, &p, 0, &res), HIE_OK);
	assert_int_equal(put_doc("hospital-b-ccd.xml", PID_A, "1.2.3.9.1"), HIE_OK);
	assert_int_equal(put_doc("hospital-c-referral.xml", "MRN-77^^^&1.2.840.99.1&ISO", "1.2.3.9.3"), HIE_OK);
	assert_int_equal(docs_of(PID_A), 1);
	assert_int_equal(docs_of("MRN-77^^^&1.2.840.99.1&ISO"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unknown_patient_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries_follow_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_authority_not_followed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
