/*
 * tests/unit/test_directory.c -- the signed peer directory: what the admin
 * signs with hie-certs' code verifies; every way of bending the file is
 * refused with its reason; and a verifier given the directory accepts a
 * member only with a certificate the directory lists for it.  Real CA,
 * real certificates, real signatures (certs module), no mocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certs/cert.h"
#include "certs/directory.h"
#include "node/directory.h"
#include "node/wss.h"
#include "registry/registry.h"
#include "testutil.h"

#define A "urn:oid:1.2.3.1"
#define B "urn:oid:1.2.3.2"

static char  dir[256], path[600], signed_path[600];
static char *ca_pem, *signed_text;

static int
setup(void **state)
{
	char p[600], q[600], why[300];

	(void) state;
	tu_tmpdir(dir);
	snprintf(p, sizeof(p), "%s/ca", dir);
	assert_int_equal(cert_ca_init(p, "test CA", 2), HIE_OK);
	snprintf(q, sizeof(q), "%s/a", dir);
	assert_int_equal(cert_issue(p, "node-a", A, 1, q), HIE_OK);
	snprintf(q, sizeof(q), "%s/a2", dir);
	assert_int_equal(cert_issue(p, "node-a", A, 1, q), HIE_OK);
	snprintf(q, sizeof(q), "%s/b", dir);
	assert_int_equal(cert_issue(p, "node-b", B, 1, q), HIE_OK);
	snprintf(path, sizeof(path), "%s/directory.ini", dir);
	snprintf(signed_path, sizeof(signed_path), "%s/directory.signed", dir);
	snprintf(q, sizeof(q), "%s/a/node.crt", dir);
	assert_int_equal(cert_directory_add(path, p, "node-a", A, "tls+tcp://127.0.0.1:1", NULL, q, why, sizeof(why)), HIE_OK);
	snprintf(q, sizeof(q), "%s/b/node.crt", dir);
	assert_int_equal(cert_directory_add(path, p, "node-b", B, "tls+tcp://127.0.0.1:2", "http://127.0.0.1:3", q, why,
	                     sizeof(why)),
	    HIE_OK);
	assert_int_equal(cert_directory_sign(path, p, signed_path, why, sizeof(why)), HIE_OK);
	snprintf(q, sizeof(q), "%s/ca/ca.crt", dir);
	ca_pem = tu_slurp(q, NULL);
	signed_text = tu_slurp(signed_path, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	free(ca_pem);
	free(signed_text);
	tu_rmtree(dir);
	return 0;
}

static void
test_signed_roundtrip(void **state)
{
	struct node_directory d;
	char                  why[300];

	(void) state;
	assert_int_equal(node_directory_parse(signed_text, strlen(signed_text), ca_pem, &d, why, sizeof(why)), HIE_OK);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.serial, 1);
	assert_true(d.signed_);
	assert_non_null(node_directory_find(&d, B));
	assert_string_equal(node_directory_find(&d, B)->http, "http://127.0.0.1:3");
	assert_null(node_directory_find(&d, "urn:oid:9.9"));
	node_directory_free(&d);
}

/* Replaces the first occurrence of from by to in a copy of s. */
static char *
bend(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char       *out;

	assert_non_null(p);
	out = malloc(strlen(s) - strlen(from) + strlen(to) + 1);
	memcpy(out, s, (size_t) (p - s));
	strcpy(out + (p - s), to);
	strcat(out, p + strlen(from));
	return out;
}

static void
test_bent_directories(void **state)
{
	char *rogue_pem, p[600], q[600], why[300];
	static const struct {
		const char *name, *from, *to;
		hie_err     want;
		const char *why;
	} cases[] = {
		{ "an address changed", "tls+tcp://127.0.0.1:2", "tls+tcp://10.6.6.6:2", HIE_ESIG, "does not verify" },
		{ "a fingerprint changed", "fingerprint = ", "fingerprint = 0", HIE_ESIG, "does not verify" },
		{ "a member added after signing", "serial = 1\n", "serial = 1\n\n[evil]\ncommunity = urn:oid:6.6\n", HIE_ESIG,
		    "does not verify" },
		{ "the serial rolled back", "serial = 1", "serial = 0", HIE_ESIG, "does not verify" },
		{ "the signature removed", "\nsignature = ", "\n; signature = ", HIE_ESIG, "not signed" },
		{ "junk after the signature", "\nsignature = ", "\nsignature = AAAA\n[x]\nsignature = ", HIE_ESIG,
		    "does not verify" },
		{ "a signature that is not base64", "\nsignature = ", "\nsignature = !!", HIE_ESIG, "not base64" },
	};
	struct node_directory d;

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char   *t = bend(signed_text, cases[i].from, cases[i].to);
		hie_err e = node_directory_parse(t, strlen(t), ca_pem, &d, why, sizeof(why));
		print_message("  %-32s -> %s: %s\n", cases[i].name, hie_errname(e), why);
		if (e != cases[i].want || strstr(why, cases[i].why) == NULL)
			fail_msg("case '%s': got %s (%s)", cases[i].name, hie_errname(e), why);
		free(t);
	}
	/* A NUL byte inside. */
	{
		char *t = strdup(signed_text);
		t[10] = '\0';
		assert_int_equal(node_directory_parse(t, strlen(signed_text), ca_pem, &d, why, sizeof(why)), HIE_ECONFIG);
		free(t);
	}
	/* Signed by another CA. */
	snprintf(p, sizeof(p), "%s/rogue", dir);
	assert_int_equal(cert_ca_init(p, "rogue", 2), HIE_OK);
	snprintf(q, sizeof(q), "%s/rogue/ca.crt", dir);
	rogue_pem = tu_slurp(q, NULL);
	assert_int_equal(node_directory_parse(signed_text, strlen(signed_text), rogue_pem, &d, why, sizeof(why)), HIE_ESIG);
	print_message("  %-32s -> HIE_ESIG: %s\n", "checked against another CA", why);
	free(rogue_pem);
}

static void
test_malformed_working_copy(void **state)
{
	static const struct {
		const char *name, *text, *why;
	} cases[] = {
		{ "key before a member", "community = urn:oid:1\n", "only serial" },
		{ "bad fingerprint", "[a]\ncommunity = urn:oid:1\naddress = tls+tcp://h:1\nfingerprint = 12\n", "64 hex" },
		{ "no fingerprint", "[a]\ncommunity = urn:oid:1\naddress = tls+tcp://h:1\n", "at least one fingerprint" },
		{ "plain tcp", "[a]\ncommunity = urn:oid:1\naddress = tcp://h:1\n", "tls+tcp" },
		{ "one community twice",
		    "[a]\ncommunity = urn:oid:1\naddress = tls+tcp://h:1\nfingerprint = "
		    "0000000000000000000000000000000000000000000000000000000000000000\n"
		    "[b]\ncommunity = urn:oid:1\naddress = tls+tcp://h:2\nfingerprint = "
		    "0000000000000000000000000000000000000000000000000000000000000001\n",
		    "already belongs" },
		{ "a member twice", "[a]\n[a]\n", "listed twice" },
		{ "unknown key", "[a]\ncolour = red\n", "unknown key" },
	};
	struct node_directory d;
	char                  why[300];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hie_err e = node_directory_parse(cases[i].text, strlen(cases[i].text), NULL, &d, why, sizeof(why));
		if (e != HIE_ECONFIG || strstr(why, cases[i].why) == NULL)
			fail_msg("case '%s': got %s (%s)", cases[i].name, hie_errname(e), why);
	}
}

/* Rotation: the admin lists a second certificate for node-a, then removes
 * the first; the serial goes up with each signing. */
static void
test_rotation_in_directory(void **state)
{
	struct node_directory d;
	char                  p[600], q[600], why[300];

	(void) state;
	snprintf(p, sizeof(p), "%s/ca", dir);
	snprintf(q, sizeof(q), "%s/a2/node.crt", dir);
	assert_int_equal(cert_directory_add(path, p, "node-a", A, NULL, NULL, q, why, sizeof(why)), HIE_OK);
	assert_int_equal(cert_directory_sign(path, p, NULL, why, sizeof(why)), HIE_OK);
	assert_int_equal(node_directory_load(path, ca_pem, &d, why, sizeof(why)), HIE_OK);
	assert_int_equal(d.serial, 2);
	assert_int_equal(node_directory_find(&d, A)->nfp, 2);
	node_directory_free(&d);
	snprintf(q, sizeof(q), "%s/a/node.crt", dir);
	assert_int_equal(cert_directory_remove(path, "node-a", q, why, sizeof(why)), HIE_OK);
	assert_int_equal(cert_directory_remove(path, "node-a", q, why, sizeof(why)), HIE_ENOTFOUND);
	assert_int_equal(node_directory_load(path, NULL, &d, why, sizeof(why)), HIE_OK);
	assert_int_equal(node_directory_find(&d, A)->nfp, 1);
	assert_false(d.signed_); /* edited: the signature is gone */
	node_directory_free(&d);
}

/* The verifier with the directory: a listed certificate passes, another
 * certificate of the same community does not, an unlisted community does
 * not. */
static void
test_verifier_members(void **state)
{
	struct node_directory   d;
	struct wss_verifier_cfg vc;
	struct wss_member      *members;
	wss_verifier           *v;
	char                    why[300], q[600];
	static const struct {
		const char *signer, *want_why;
		hie_err     want;
	} cases[] = {
		{ "b", "ok", HIE_OK },
		{ "a2", "not one the peer directory lists", HIE_ECERT },
	};

	(void) state;
	assert_int_equal(node_directory_parse(signed_text, strlen(signed_text), ca_pem, &d, why, sizeof(why)), HIE_OK);
	/* Only node-b listed, and node-a with its first certificate. */
	memset(&vc, 0, sizeof(vc));
	vc.ca_pem = ca_pem;
	vc.community = A;
	vc.clock_skew_s = 60;
	vc.max_ttl_s = 600;
	vc.directory = 1;
	assert_int_equal(node_directory_members(&d, &members, &vc.nmembers), HIE_OK);
	vc.members = members;
	assert_int_equal(wss_verifier_new(&vc, &v), HIE_OK);
	free(members);
	node_directory_free(&d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct soap_msg     m;
		struct wss_identity who;
		wss_signer         *s;
		xmlDoc             *doc;
		xmlNode            *body;
		char               *out;
		size_t              len;
		hie_err             e;

		snprintf(q, sizeof(q), "%s/%s", dir, cases[i].signer);
		s = tu_signer(q);
		assert_int_equal(soap_envelope_new(SOAP_ACTION_ITI38_RESP, NULL, "urn:uuid:x", &doc, &body, NULL), HIE_OK);
		xmlNewChild(body, NULL, BAD_CAST "R", BAD_CAST "x");
		assert_int_equal(wss_sign(s, doc, NULL, NULL, 300), HIE_OK);
		assert_int_equal(hie_xml_dump(doc, &out, &len), HIE_OK);
		xmlFreeDoc(doc);
		assert_int_equal(soap_parse(out, len, NULL, &m), HIE_OK);
		e = wss_verify(v, &m, 0, NULL, &who, why, sizeof(why));
		print_message("  signed by %-3s -> %s: %s\n", cases[i].signer, hie_errname(e), why);
		if (e != cases[i].want || strstr(why, cases[i].want_why) == NULL)
			fail_msg("signer %s: got %s (%s)", cases[i].signer, hie_errname(e), why);
		soap_msg_free(&m);
		free(out);
		wss_signer_free(s);
	}
	wss_verifier_free(v);
}

/* The rollback state: a sequence of directory serials as a node and the
 * offline tools meet them, with what each answers and what is remembered
 * after it. */
static void
test_serial_state(void **state)
{
	static const struct {
		int         record; /* node_directory_serial_check, else _compare */
		uint64_t    serial;
		hie_err     want;
		const char *file_after; /* NULL: no state file */
	} steps[] = {
		{ 0, 5, HIE_OK, NULL },     /* a tool before the node ever ran: nothing written */
		{ 1, 2, HIE_OK, "2\n" },    /* the node loads serial 2 */
		{ 1, 2, HIE_OK, "2\n" },    /* the same again (SIGHUP) */
		{ 0, 1, HIE_EREPLAY, "2\n" }, /* a tool meets an older one: refused, state kept */
		{ 0, 3, HIE_OK, "2\n" },    /* a tool meets a newer one: fine, not recorded */
		{ 1, 4, HIE_OK, "4\n" },    /* the node loads serial 4 */
		{ 1, 3, HIE_EREPLAY, "4\n" }, /* the node meets an older one */
	};
	char     st[700], why[300], *text;
	uint64_t highest;

	(void) state;
	node_directory_serial_path(dir, st, sizeof(st));
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		hie_err e = steps[i].record ? node_directory_serial_check(st, steps[i].serial, &highest, why, sizeof(why))
		                            : node_directory_serial_compare(st, steps[i].serial, &highest, why, sizeof(why));
		print_message("step %zu: %s serial %llu -> %s\n", i, steps[i].record ? "node" : "tool",
		    (unsigned long long) steps[i].serial, hie_strerror(e));
		assert_int_equal(e, steps[i].want);
		if (e == HIE_EREPLAY)
			assert_non_null(strstr(why, "is lower than serial"));
		if (steps[i].file_after == NULL) {
			assert_int_equal(access(st, F_OK), -1);
		} else {
			text = tu_slurp(st, NULL);
			assert_string_equal(text, steps[i].file_after);
			free(text);
		}
	}
	/* A damaged state file fails closed, for the node and the tools. */
	tu_write(st, "four\n");
	assert_int_equal(node_directory_serial_compare(st, 9, &highest, why, sizeof(why)), HIE_ECONFIG);
	assert_int_equal(node_directory_serial_check(st, 9, &highest, why, sizeof(why)), HIE_ECONFIG);
	assert_non_null(strstr(why, "not a directory serial"));
	unlink(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_roundtrip),
		cmocka_unit_test(test_bent_directories),
		cmocka_unit_test(test_malformed_working_copy),
		cmocka_unit_test(test_rotation_in_directory),
		cmocka_unit_test(test_verifier_members),
		cmocka_unit_test(test_serial_state),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
