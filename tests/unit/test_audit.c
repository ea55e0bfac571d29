/* tests/unit/test_audit.c -- the audit trail's hash chain finds changed,
 * removed and reordered records; the writer loses nothing on close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/audit.h"
#include "node/store.h"
#include "testutil.h"

static char     dir[256];
static MDB_env *env;

static void
write_events(int count)
{
	audit_log *a;
	uint64_t   written, refused;

	assert_int_equal(audit_open(env, &a), HIE_OK);
	for (int i = 0; i < count; i++) {
		char                detail[32];
		struct audit_event ev = { .event = "ITI-38", .role = "responder", .outcome = AUDIT_SUCCESS,
			.source = "urn:oid:1.2.3", .user = "Dr. \"Quote\" Test", .patient = "P1^^^&1.2&ISO", .detail = detail };
		snprintf(detail, sizeof(detail), "event %d", i);
		assert_int_equal(audit_record(a, &ev), HIE_OK);
	}
	/* Nothing refused; what is queued is written by close. */
	audit_counts(a, &written, &refused);
	assert_int_equal(refused, 0);
	audit_close(a);
}

static int
setup(void **state)
{
	(void) state;
	tu_tmpdir(dir);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	hie_store_close(env);
	tu_rmtree(dir);
	return 0;
}

/* Rewrites record seq with fn applied to its value (raw LMDB, as an
 * attacker with file access would). */
static void
tamper(uint64_t seq, int del, uint64_t swap_with)
{
	MDB_txn      *txn;
	MDB_dbi       dbi;
	unsigned char k[8], k2[8];
	MDB_val       key = { 8, k }, val, key2 = { 8, k2 }, val2;
	char         *copy, *copy2;

	for (int i = 7; i >= 0; i--) {
		k[i] = (unsigned char) (seq >> (8 * (7 - i)));
		k2[i] = (unsigned char) (swap_with >> (8 * (7 - i)));
	}
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "audit", 0, &dbi), 0);
	if (del) {
		assert_int_equal(mdb_del(txn, dbi, &key, NULL), 0);
	} else if (swap_with != 0) {
		MDB_val a, b;
		assert_int_equal(mdb_get(txn, dbi, &key, &val), 0);
		assert_int_equal(mdb_get(txn, dbi, &key2, &val2), 0);
		copy = malloc(val.mv_size);
		memcpy(copy, val.mv_data, val.mv_size);
		copy2 = malloc(val2.mv_size);
		memcpy(copy2, val2.mv_data, val2.mv_size);
		a.mv_data = copy2;
		a.mv_size = val2.mv_size;
		b.mv_data = copy;
		b.mv_size = val.mv_size;
		assert_int_equal(mdb_put(txn, dbi, &key, &a, 0), 0);
		assert_int_equal(mdb_put(txn, dbi, &key2, &b, 0), 0);
		free(copy);
		free(copy2);
	} else {
		assert_int_equal(mdb_get(txn, dbi, &key, &val), 0);
		copy = malloc(val.mv_size);
		memcpy(copy, val.mv_data, val.mv_size);
		copy[val.mv_size - 3] ^= 1; /* one bit inside the JSON */
		val.mv_data = copy;
		assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
		free(copy);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
}

static void
test_chain(void **state)
{
	uint64_t n, bad;
	char     why[256];
	FILE    *f;
	char     out[8192] = "";

	(void) state;
	assert_int_equal(audit_verify(env, &n, &bad, why, sizeof(why)), HIE_OK); /* empty */
	assert_int_equal(n, 0);
	write_events(100);
	write_events(20); /* reopened: the chain continues */
	assert_int_equal(audit_verify(env, &n, &bad, why, sizeof(why)), HIE_OK);
	assert_int_equal(n, 120);
	f = fmemopen(out, sizeof(out), "w");
	assert_int_equal(audit_list(env, 2, f), HIE_OK);
	fclose(f);
	assert_non_null(strstr(out, "119 {\"time\":"));
	assert_non_null(strstr(out, "\"user\":\"Dr. \\\"Quote\\\" Test\""));
	assert_non_null(strstr(out, "\"detail\":\"event 19\""));
	assert_null(strstr(out, "event 17"));
}

static void
test_tamper(void **state)
{
	static const struct {
		const char *name;
		uint64_t    seq;
		int         del;
		uint64_t    swap;
		uint64_t    want_bad;
		const char *why;
	} cases[] = {
		{ "changed", 50, 0, 0, 50, "record 50 was changed" },
		{ "removed", 30, 1, 0, 30, "record 30 is missing" },
		{ "reordered", 10, 0, 11, 9, "record 9 was changed, or record 10's link" },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t n, bad;
		char     why[256];
		/* A fresh trail each case. */
		hie_store_close(env);
		tu_rmtree(dir);
		tu_tmpdir(dir);
		assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
		write_events(60);
		tamper(cases[i].seq, cases[i].del, cases[i].swap);
		assert_int_equal(audit_verify(env, &n, &bad, why, sizeof(why)), HIE_EDB);
		print_message("  %-9s -> %s\n", cases[i].name, why);
		if (bad != cases[i].want_bad || strstr(why, cases[i].why) == NULL)
			fail_msg("case %s: bad=%llu why=%s", cases[i].name, (unsigned long long) bad, why);
		assert_int_equal(n, cases[i].want_bad - 1);
	}
}

/* A full disk (here: a full LMDB map) closes the trail: audit_ready says
 * so, and the records are kept queued, not dropped silently. */
static void
test_fail_closed(void **state)
{
	char       d[256];
	MDB_env   *small;
	audit_log *a;
	uint64_t   written, lost;
	int        ready = 1;

	(void) state;
	tu_tmpdir(d);
	assert_int_equal(hie_store_open(d, 1, &small), HIE_OK); /* 1 MiB */
	assert_int_equal(audit_open(small, &a), HIE_OK);
	assert_true(audit_ready(a));
	for (int i = 0; i < 20000 && ready; i++) {
		struct audit_event ev = { .event = "ITI-38", .outcome = AUDIT_SUCCESS,
			.detail = "padding padding padding padding padding padding padding padding padding padding" };
		if (audit_record(a, &ev) != HIE_OK)
			break;
		if (i % 1000 == 999) {
			struct timespec ts = { 0, 50000000 };
			nanosleep(&ts, NULL);
			ready = audit_ready(a);
		}
	}
	for (int i = 0; i < 100 && ready; i++) {
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
		ready = audit_ready(a);
	}
	assert_false(ready);
	audit_counts(a, &written, &lost);
	print_message("  map full after %llu records\n", (unsigned long long) written);
	assert_true(written > 0);
	audit_close(a);
	hie_store_close(small);
	tu_rmtree(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_fail_closed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
