/* tests/unit/test_config.c -- every bad key is named; the example is complete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "certs/cert.h"
#include "node/config.h"
#include "testutil.h"

static char dir[256];

static int
setup(void **state)
{
	char ca[300], node[300];
	(void) state;
	tu_tmpdir(dir);
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	snprintf(node, sizeof(node), "%s/node", dir);
	assert_int_equal(cert_ca_init(ca, "test CA", 30), HIE_OK);
	assert_int_equal(cert_issue(ca, "hospital-a", "urn:oid:1.2.3.4", 30, node), HIE_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	tu_rmtree(dir);
	return 0;
}

static const char base[] = "[node]\nname = hospital-a\ncommunity = urn:oid:1.2.3.4\n"
                           "[tls]\ncert = node.crt\nkey = node.key\nca = ca.crt\n";

/* Loads base + extra; returns the error text. */
static hie_err
load(const char *extra, char *errs, size_t cap, struct node_config *cfg)
{
	char  path[400], text[4096];
	FILE *f;
	hie_err e;

	snprintf(path, sizeof(path), "%s/node/test.ini", dir);
	snprintf(text, sizeof(text), "%s%s", base, extra);
	tu_write(path, text);
	f = fmemopen(errs, cap, "w");
	e = node_config_load(path, cfg, f);
	fclose(f);
	return e;
}

static void
test_defaults(void **state)
{
	struct node_config cfg;
	char               errs[2048] = "";

	(void) state;
	assert_int_equal(load("", errs, sizeof(errs), &cfg), HIE_OK);
	assert_string_equal(cfg.listen_peer, "tls+tcp://127.0.0.1:7400");
	assert_string_equal(cfg.listen_http, "http://127.0.0.1:7480");
	assert_string_equal(cfg.repository_id, "1.2.3.4.1");
	assert_int_equal(cfg.peer_deadline_ms, 5000);
	assert_non_null(strstr(cfg.cert, "/node/node.crt"));
	assert_true(cfg.mpi_link_threshold == 0.95 && cfg.mpi_review_threshold == 0.30);
	assert_int_equal(load("[mpi]\nlink_threshold = 0.99\nreview_threshold = 0.5\n", errs, sizeof(errs), &cfg), HIE_OK);
	assert_true(cfg.mpi_link_threshold == 0.99 && cfg.mpi_review_threshold == 0.5);
}

static void
test_bad_keys(void **state)
{
	static const struct {
		const char *extra, *want;
	} cases[] = {
		{ "[node]\nbogus = 1\n", "node.bogus: unknown key" },
		{ "[query]\npeer_deadline_ms = 10\n", "query.peer_deadline_ms: 10 is out of range" },
		{ "[query]\npeer_deadline_ms = soon\n", "query.peer_deadline_ms: not a whole number" },
		{ "[query]\npeer_deadline_ms = 9000\n", "query.overall_deadline_ms: must not be below" },
		{ "[listen]\npeer = tcp://0.0.0.0:7400\n", "listen.peer: must be a tls+tcp://" },
		{ "[tls]\ncrl = missing.pem\n", "tls.crl: file not found" },
		{ "[node]\nlog_level = loud\n", "node.log_level" },
		{ "[node]\nrepository_id = abc\n", "node.repository_id: must be an OID" },
		{ "[limits]\nmax_xml_depth = 100000\n", "limits.max_xml_depth" },
		{ "[node]\nname = dup\n", "node.name: given twice" },
		{ "[mpi]\nlink_threshold = 1.5\n", "mpi.link_threshold: not a probability" },
		{ "[mpi]\nreview_threshold = 0\n", "mpi.review_threshold: not a probability" },
		{ "[mpi]\nlink_threshold = high\n", "mpi.link_threshold: not a probability" },
		{ "[mpi]\nlink_threshold = 0.5\nreview_threshold = 0.6\n", "mpi.review_threshold: must not be above" },
	};
	struct node_config cfg;

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char errs[2048] = "";
		assert_int_equal(load(cases[i].extra, errs, sizeof(errs), &cfg), HIE_ECONFIG);
		if (strstr(errs, cases[i].want) == NULL)
			fail_msg("case %zu: want '%s' in '%s'", i, cases[i].want, errs);
	}
}

static void
test_missing_and_perms(void **state)
{
	struct node_config cfg;
	char               path[400], key[400], errs[2048] = "";
	FILE              *f;

	(void) state;
	snprintf(path, sizeof(path), "%s/node/empty.ini", dir);
	tu_write(path, "[node]\n");
	f = fmemopen(errs, sizeof(errs), "w");
	assert_int_equal(node_config_load(path, &cfg, f), HIE_ECONFIG);
	fclose(f);
	assert_non_null(strstr(errs, "node.name: required key is missing"));
	assert_non_null(strstr(errs, "node.community: required key is missing"));
	assert_non_null(strstr(errs, "tls.key: required key is missing"));

	snprintf(key, sizeof(key), "%s/node/node.key", dir);
	chmod(key, 0644);
	memset(errs, 0, sizeof(errs));
	assert_int_equal(load("", errs, sizeof(errs), &cfg), HIE_ECONFIG);
	assert_non_null(strstr(errs, "tls.key: private key is readable by group or others"));
	chmod(key, 0600);
}

/* conf/hie-node.ini.example documents every key the table knows. */
static void
test_example_complete(void **state)
{
	static const char *keys[] = { "name", "community", "repository_id", "data_dir", "log_level", "peer", "http",
		"cert", "key", "ca", "crl", "directory", "peer_deadline_ms", "overall_deadline_ms", "max_results",
		"max_message_bytes", "max_submission_objects", "max_xml_depth", "max_xml_attrs", "max_xml_name", "map_size_mb", "clock_skew_s",
		"message_ttl_s", "replay_max_entries", "link_threshold", "review_threshold" };
	char  path[400], pat[64];
	char *text;

	(void) state;
	tu_src(path, sizeof(path), "conf/hie-node.ini.example");
	text = tu_slurp(path, NULL);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(pat, sizeof(pat), "\n%s =", keys[i]);
		if (strstr(text, pat) == NULL)
			fail_msg("example config lacks %s", keys[i]);
	}
	free(text);
}

static void
test_new_config_loads(void **state)
{
	struct node_config cfg;
	char               path[400], errs[2048] = "";
	FILE              *f;

	(void) state;
	snprintf(path, sizeof(path), "%s/node/new.ini", dir);
	assert_int_equal(node_config_write_new(path, "hospital-a", "urn:oid:1.2.3.4", 7401, 7481, ""), HIE_OK);
	f = fmemopen(errs, sizeof(errs), "w");
	assert_int_equal(node_config_load(path, &cfg, f), HIE_OK);
	fclose(f);
	assert_string_equal(cfg.listen_peer, "tls+tcp://127.0.0.1:7401");
}

static void
test_peers(void **state)
{
	struct node_peers p;
	char              path[400], errs[2048] = "";
	FILE             *f;

	(void) state;
	snprintf(path, sizeof(path), "%s/peers.ini", dir);
	tu_write(path, "[a]\ncommunity = urn:oid:1.2.3.4\naddress = tls+tcp://127.0.0.1:1\n"
	               "[b]\ncommunity = urn:oid:1.2.3.5\naddress = tls+tcp://127.0.0.1:2\n");
	assert_int_equal(node_peers_load(path, "urn:oid:1.2.3.4", &p, NULL), HIE_OK);
	assert_int_equal(p.n, 1); /* our own entry is skipped */
	assert_string_equal(p.v[0].name, "b");
	node_peers_free(&p);
	tu_write(path, "[a]\ncommunity = nope\naddress = tcp://x\n[b]\naddress = tls+tcp://h:1\n");
	f = fmemopen(errs, sizeof(errs), "w");
	assert_int_equal(node_peers_load(path, NULL, &p, f), HIE_ECONFIG);
	fclose(f);
	assert_non_null(strstr(errs, "[a]: community must be urn:oid"));
	assert_non_null(strstr(errs, "[b]: needs both community and address"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_missing_and_perms),
		cmocka_unit_test(test_example_complete),
		cmocka_unit_test(test_new_config_loads),
		cmocka_unit_test(test_peers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
