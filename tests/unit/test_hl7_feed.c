/*
 * tests/unit/test_hl7_feed.c -- the HL7 v2 feed in process, on a real LMDB
 * environment in a temp dir with the real MPI and registry: the PID
 * mapping (node/hl7_pid.h) field by field, and the feed's answers and
 * changes for the cases the shell tests do not isolate (update in place,
 * retransmission not reapplied, A37 unlink, a refused message writing
 * nothing, an MDM for an unknown patient).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mpi/mpi.h"
#include "node/hl7_feed.h"
#include "node/hl7_pid.h"
#include "node/store.h"
#include "registry/registry.h"
#include "testutil.h"

#define OID "1.2.840.114350.1.13.99.2.7.5.737384.14"
#define HDR "MSH|^~\\&|EPIC|MERCY^1.2.840.114350.1.13.99^ISO|HIE|NODE|20261125101500||"

struct env {
	char      dir[256];
	MDB_env  *env;
	mpi      *m;
	reg      *r;
	hl7_feed *f;
};

static int
setup(void **state)
{
	static struct env e;
	struct hl7_feed_cfg c;

	memset(&e, 0, sizeof(e));
	tu_tmpdir(e.dir);
	assert_int_equal(hie_store_open(e.dir, 64, &e.env), HIE_OK);
	assert_int_equal(mpi_open(e.env, &e.m), HIE_OK);
	assert_int_equal(reg_open(e.env, &e.r), HIE_OK);
	memset(&c, 0, sizeof(c));
	c.env = e.env;
	c.mpi = e.m;
	c.reg = e.r;
	c.local_oid = "1.3.6.1.4.1.21367.13.20.2000";
	c.repository_id = "1.3.6.1.4.1.21367.13.20.2000.1";
	assert_int_equal(hl7_feed_open(&c, &e.f), HIE_OK);
	*state = &e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	hl7_feed_close(e->f);
	reg_close(e->r);
	mpi_close(e->m);
	hie_store_close(e->env);
	tu_rmtree(e->dir);
	return 0;
}

/* Sends text (LF for CR) and returns MSA-1, with the ERR code in *ec. */
static const char *
send(struct env *e, const char *text, int *ec, hie_buf *ack)
{
	static char code[4];
	char        msg[4096], ctl[64];
	size_t      n = strlen(text);
	int         dummy;

	assert_true(n < sizeof(msg));
	for (size_t i = 0; i <= n; i++)
		msg[i] = text[i] == '\n' ? '\r' : text[i];
	ack->len = 0;
	assert_int_equal(hl7_feed_handle(e->f, msg, n, ack), HIE_OK);
	if (ack->len == 0)
		return "none";
	assert_int_equal(hl7_ack_parse(ack->data, ack->len, code, ctl, sizeof(ctl), ec != NULL ? ec : &dummy), HIE_OK);
	return code;
}

static uint64_t
eid_of(struct env *e, const char *id)
{
	struct mpi_cx cx;
	uint64_t      eid;
	size_t        n;
	snprintf(cx.id, sizeof(cx.id), "%s", id);
	snprintf(cx.authority, sizeof(cx.authority), "%s", OID);
	return mpi_lookup_id(e->m, &cx, &eid, NULL, 0, &n) == HIE_OK ? eid : 0;
}

static void
test_pid_mapping(void **state)
{
	static const char text[] = HDR "ADT^A04^ADT_A01|M1|P|2.5.1\r"
	    "PID|1|ALT7^^^OLDSYS|P1^^^&" OID "&ISO^MR~X9^^^BCBS^PI||Wilson^Grace^M^^^^L~Hart^Grace^^^^^M||19800412|F|||"
	    "12 Oak Ave^Apt 3^Dayton^OH^45402^USA^H~PO Box 9^^Dayton^OH^45401^^M||^PRN^PH^^1^937^5550101|(937)555-0199|||||123-45-6789\r";
	struct mpi_patient p;
	struct hl7_error   err;
	hl7_msg           *m;
	char               info[512];

	(void) state;
	assert_int_equal(hl7_parse(text, sizeof(text) - 1, NULL, &m, &err), HIE_OK);
	assert_int_equal(hl7_pid_to_patient(m, 1, "MERCY", "1.3.6.1.4.1.21367.13.20.2000", &p, &err), HIE_OK);
	assert_string_equal(p.source, "MERCY");
	/* PID-3 first (both repetitions), then PID-2, then PID-19 as SS */
	assert_int_equal(p.n_ids, 4);
	assert_string_equal(p.ids[0].cx.id, "P1");
	assert_string_equal(p.ids[0].cx.authority, OID);
	assert_string_equal(p.ids[0].type, "MR");
	assert_string_equal(p.ids[1].cx.id, "X9");
	assert_non_null(strstr(p.ids[1].cx.authority, "1.3.6.1.4.1.21367.13.20.2000.7."));
	assert_string_equal(p.ids[2].cx.id, "ALT7");
	assert_string_not_equal(p.ids[1].cx.authority, p.ids[2].cx.authority); /* BCBS vs OLDSYS */
	assert_string_equal(p.ids[3].cx.authority, "2.16.840.1.113883.4.1");
	assert_string_equal(p.ids[3].type, "SS");
	assert_int_equal(p.n_names, 2);
	assert_string_equal(p.names[0].family, "Wilson");
	assert_string_equal(p.names[0].given, "Grace");
	assert_string_equal(p.names[0].middle, "M");
	assert_string_equal(p.names[0].use, "L");
	assert_string_equal(p.names[1].use, "M");
	assert_string_equal(p.birth_date, "19800412");
	assert_int_equal(p.sex, 'F');
	assert_int_equal(p.n_addrs, 2);
	assert_string_equal(p.addrs[0].number, "12");
	assert_string_equal(p.addrs[0].street, "Oak Ave");
	assert_string_equal(p.addrs[0].line2, "Apt 3");
	assert_string_equal(p.addrs[0].postcode, "45402");
	assert_string_equal(p.addrs[0].use, "H");
	assert_string_equal(p.addrs[1].use, "M");
	assert_int_equal(p.n_phones, 2);
	assert_string_equal(p.phones[0].number, "9375550101"); /* XTN.6 + XTN.7 */
	assert_string_equal(p.phones[1].use, "WPN");
	assert_int_equal(hl7_pid_source_info(&p, info, sizeof(info)), HIE_OK);
	assert_non_null(strstr(info, "PID-3|P1^^^&" OID "&ISO\n"));
	assert_non_null(strstr(info, "PID-5|Wilson^Grace^M\n"));
	assert_non_null(strstr(info, "PID-7|19800412\nPID-8|F\nPID-11|12 Oak Ave^Apt 3^Dayton^OH^45402^USA"));
	hl7_free(m);
}

static void
test_pid_nobody(void **state)
{
	static const char text[] = HDR "ADT^A04|M2|P|2.5.1\rPID|1\r";
	struct mpi_patient p;
	struct hl7_error   err;
	hl7_msg           *m;

	(void) state;
	assert_int_equal(hl7_parse(text, sizeof(text) - 1, NULL, &m, &err), HIE_OK);
	assert_int_equal(hl7_pid_to_patient(m, 1, "S", "1.2.3", &p, &err), HIE_EHL7);
	assert_int_equal(err.code, HL7_E_REQUIRED_MISSING);
	assert_string_equal(err.segment, "PID");
	assert_int_equal(hl7_pid_to_patient(m, 2, "S", "1.2.3", &p, &err), HIE_EHL7);
	hl7_free(m);
}

static void
test_feed_adt(void **state)
{
	struct env *e = *state;
	hie_buf     ack, first;
	uint64_t    records, eids, r2;
	int         ec;

	hie_buf_init(&ack, 1 << 16);
	hie_buf_init(&first, 1 << 16);
	assert_string_equal(send(e, HDR "ADT^A04^ADT_A01|F1|P|2.5.1\nPID|1||P1^^^&" OID "&ISO^MR||Wilson^Grace||19800412|F\n",
	                        &ec, &first), "AA");
	assert_int_not_equal(eid_of(e, "P1"), 0);
	assert_int_equal(mpi_count(e->m, &records, &eids), HIE_OK);
	assert_int_equal(records, 1);
	/* the same sender and identifier: an update of the same record */
	assert_string_equal(send(e, HDR "ADT^A08^ADT_A01|F2|P|2.5.1\nPID|1||P1^^^&" OID "&ISO^MR||Wilson-Hart^Grace||19800412|F\n",
	                        &ec, &ack), "AA");
	assert_int_equal(mpi_count(e->m, &r2, &eids), HIE_OK);
	assert_int_equal(r2, 1);
	/* a retransmission of F1: the first ACK byte for byte, not reapplied */
	assert_string_equal(send(e, HDR "ADT^A04^ADT_A01|F1|P|2.5.1\nPID|1||P1^^^&" OID "&ISO^MR||Wilson^Grace||19800412|F\n",
	                        &ec, &ack), "AA");
	assert_int_equal(ack.len, first.len);
	assert_memory_equal(ack.data, first.data, ack.len);
	{
		struct mpi_patient p;
		struct mpi_cx      cx = { "P1", OID };
		uint64_t           eid;
		struct mpi_ident   ids[4];
		size_t             n;
		assert_int_equal(mpi_lookup_id(e->m, &cx, &eid, ids, 4, &n), HIE_OK);
		assert_int_equal(mpi_get(e->m, 1, &p), HIE_OK);
		assert_string_equal(p.names[0].family, "Wilson-Hart"); /* A08 stands */
	}
	/* a refused message writes nothing: bad birth date */
	assert_string_equal(send(e, HDR "ADT^A04^ADT_A01|F3|P|2.5.1\nPID|1||P7^^^&" OID "&ISO^MR||Doe^Jo||19801399|F\n",
	                        &ec, &ack), "AE");
	assert_int_equal(ec, HL7_E_DATA_TYPE);
	assert_int_equal(eid_of(e, "P7"), 0);
	/* unknown event and type */
	assert_string_equal(send(e, HDR "ADT^A99^ADT_A01|F4|P|2.5.1\nPID|1||P8^^^&" OID "&ISO\n", &ec, &ack), "AR");
	assert_int_equal(ec, HL7_E_UNSUPPORTED_EVENT);
	/* A37: two records linked by identifier, then unlinked */
	assert_string_equal(send(e, HDR "ADT^A04^ADT_A01|F5|P|2.5.1\nPID|1||P2^^^&" OID "&ISO^MR~S2^^^&1.2.3.4.5&ISO^PI||Ray^Al||19700101|M\n",
	                        &ec, &ack), "AA");
	assert_string_equal(send(e, "MSH|^~\\&|LAB|OTHERFAC|HIE|NODE|20261125||ADT^A04^ADT_A01|F6|P|2.5.1\nPID|1||S2^^^&1.2.3.4.5&ISO^PI||Ray^Al||19700101|M\n",
	                        &ec, &ack), "AA");
	{
		/* the second sender's record joined P2's enterprise id (S2 shared) */
		struct mpi_cx cx = { "S2", "1.2.3.4.5" };
		uint64_t      eid;
		size_t        n;
		assert_int_equal(mpi_lookup_id(e->m, &cx, &eid, NULL, 0, &n), HIE_OK);
		assert_int_equal(eid, eid_of(e, "P2"));
	}
	assert_string_equal(send(e, "MSH|^~\\&|LAB|OTHERFAC|HIE|NODE|20261125||ADT^A37^ADT_A37|F7|P|2.5.1\nPID|1||P2^^^&" OID
	                            "&ISO^MR\nPID|2||S2^^^&1.2.3.4.5&ISO^PI||Ray^Al\n",
	                        &ec, &ack), "AA");
	{
		struct mpi_cx cx = { "S2", "1.2.3.4.5" };
		uint64_t      eid;
		size_t        n;
		assert_int_equal(mpi_lookup_id(e->m, &cx, &eid, NULL, 0, &n), HIE_EAMBIGUOUS); /* now apart */
	}
	/* an MDM for a patient nobody fed: AE 204, nothing registered */
	assert_string_equal(send(e, HDR "MDM^T02^MDM_T02|F8|P|2.5.1\nPID|1||NOBODY^^^&" OID "&ISO\nTXA|1|DS|TX|20261125\nOBX|1|TX|||text\n",
	                        &ec, &ack), "AE");
	assert_int_equal(ec, 204);
	{
		size_t n;
		assert_int_equal(reg_count(e->r, &n), HIE_OK);
		assert_int_equal(n, 0);
	}
	hie_buf_free(&ack);
	hie_buf_free(&first);
}

/* MDM^T10: the new document replaces the one TXA-13 names (RPLC): the
 * parent becomes Deprecated; a T10 without TXA-13, or naming nothing
 * registered, is refused with nothing stored. */
static void
test_mdm_t10_replaces(void **state)
{
	struct env      *e = *state;
	struct reg_entry old, new;
	char            *bytes;
	size_t           len, n;
	hie_buf          ack;
	int              ec = 0;

	hie_buf_init(&ack, 1 << 16);
	assert_string_equal(send(e, HDR "ADT^A04^ADT_A01|T1|P|2.5.1\nPID|1||P5^^^&" OID "&ISO^MR||Ng^Lan||19610203|F\n",
	                        &ec, &ack), "AA");
	assert_string_equal(send(e, HDR "MDM^T02^MDM_T02|T2|P|2.5.1\nPID|1||P5^^^&" OID "&ISO\n"
	                        "TXA|1|DS|TX|20261125||||||||1.2.3.77.1\nOBX|1|TX|||first draft\n", &ec, &ack), "AA");
	assert_string_equal(send(e, HDR "MDM^T10^MDM_T02|T3|P|2.5.1\nPID|1||P5^^^&" OID "&ISO\n"
	                        "TXA|1|DS|TX|20261125||||||||1.2.3.77.2|1.2.3.77.1\nOBX|1|TX|||corrected\n", &ec, &ack), "AA");
	assert_int_equal(reg_get_document(e->r, "1.2.3.77.1", &old, &bytes, &len), HIE_OK);
	free(bytes);
	assert_int_equal(reg_get_document(e->r, "1.2.3.77.2", &new, &bytes, &len), HIE_OK);
	free(bytes);
	assert_non_null(strstr(old.status, "Deprecated"));
	assert_non_null(strstr(new.status, "Approved"));

	assert_string_equal(send(e, HDR "MDM^T10^MDM_T02|T4|P|2.5.1\nPID|1||P5^^^&" OID "&ISO\n"
	                        "TXA|1|DS|TX|20261125||||||||1.2.3.77.3\nOBX|1|TX|||no parent\n", &ec, &ack), "AE");
	assert_int_equal(ec, 101);
	assert_string_equal(send(e, HDR "MDM^T10^MDM_T02|T5|P|2.5.1\nPID|1||P5^^^&" OID "&ISO\n"
	                        "TXA|1|DS|TX|20261125||||||||1.2.3.77.4|1.2.3.77.99\nOBX|1|TX|||unknown parent\n", &ec, &ack), "AE");
	assert_int_equal(ec, 204);
	assert_int_equal(reg_count(e->r, &n), HIE_OK);
	assert_int_equal(n, 2);
	hie_buf_free(&ack);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid_mapping),
		cmocka_unit_test(test_pid_nobody),
		cmocka_unit_test_setup_teardown(test_feed_adt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mdm_t10_replaces, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
