/*
 * tests/unit/test_atna.c -- every kind of audit record the node writes,
 * stored in a real trail and rendered as an ATNA audit message: the
 * structure IHE asks for (event codes, source/destination/human requestor,
 * patient, query, documents), hostile text escaped, and (with the corpus)
 * each message valid against the DICOM schema (dicom2017c.xsd, xmllint).
 *
 *   test_atna          unit tests (no corpus needed)
 *   test_atna schema   schema validation; exits 77 (skipped) without the corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/atna.h"
#include "node/audit.h"
#include "node/store.h"
#include "node/xml.h"
#include "testutil.h"

#define HOME "urn:oid:1.2.3.4"
#define PEER "urn:oid:1.2.3.1"
#define PAT "P-77^^^&1.2.3.4.5&ISO"
#define Q "<query:AdhocQueryRequest xmlns:query=\"urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0\"/>"

/* One row per kind of record, as the node writes it (node/daemon.c,
 * node/http.c, node/consentcli.c), and what its ATNA form must say. */
static const struct row {
	struct audit_event ev;
	const char        *want[4]; /* substrings of the message */
} rows[] = {
	{ { .event = "ITI-18", .role = "responder", .source = HOME, .user = "Dr. Who", .role_code = "112247003",
	      .purpose = "TREATMENT", .patient = PAT, .query = Q, .local = HOME },
	    { "csd-code=\"110112\"", "csd-code=\"ITI-18\"", "<ParticipantObjectQuery>", "Medical doctor" } },
	{ { .event = "ITI-38", .role = "responder", .source = PEER, .user = "Dr. Anna Lee", .role_code = "112247003",
	      .purpose = "TREATMENT", .organization = "Clinic A", .patient = PAT, .query = Q, .documents = "1.2.3.1 1.2.3.2",
	      .local = HOME },
	    { "UserID=\"urn:oid:1.2.3.1\" UserIsRequestor=\"true\"><RoleIDCode csd-code=\"110153\"",
	        "UserName=\"Dr. Anna Lee, Clinic A\"", "ParticipantObjectID=\"1.2.3.2\"", "PurposeOfUse csd-code=\"TREATMENT\"" } },
	{ { .event = "ITI-38", .role = "initiator", .source = HOME, .peer = PEER, .user = "Dr. Anna Lee",
	      .role_code = "112247003", .purpose = "TREATMENT", .patient = PAT, .local = HOME, .outcome = AUDIT_MINOR_FAILURE },
	    { "UserID=\"urn:oid:1.2.3.4\" UserIsRequestor=\"true\"><RoleIDCode csd-code=\"110153\"",
	        "EventOutcomeIndicator=\"4\"", "csd-code=\"ITI-38\"", NULL } },
	{ { .event = "ITI-39", .role = "responder", .source = PEER, .user = "Dr. Anna Lee", .patient = PAT,
	      .documents = "1.2.3.1", .local = HOME },
	    { "csd-code=\"110106\"", "EventActionCode=\"R\"", "csd-code=\"9\"", NULL } },
	{ { .event = "ITI-39", .role = "initiator", .peer = PEER, .user = "Dr. Anna Lee", .documents = "1.2.3.1",
	      .local = HOME },
	    { "csd-code=\"110107\"", "EventActionCode=\"C\"", NULL, NULL } },
	{ { .event = "ITI-41", .role = "responder", .source = HOME, .user = "Dr. Who", .patient = PAT, .local = HOME },
	    { "csd-code=\"110107\"", "csd-code=\"ITI-41\"", NULL, NULL } },
	{ { .event = "ITI-43", .role = "responder", .source = HOME, .user = "Dr. Who", .patient = PAT,
	      .documents = "1.2.3.1", .local = HOME },
	    { "csd-code=\"110106\"", "csd-code=\"ITI-43\"", NULL, NULL } },
	{ { .event = "ITI-55", .role = "responder", .source = PEER, .user = "Dr. Anna Lee", .patient = PAT,
	      .query = "<PRPA_IN201305UV02/>", .local = HOME },
	    { "csd-code=\"110112\"", "csd-code=\"ITI-55\"", "<ParticipantObjectQuery>", NULL } },
	{ { .event = "ITI-45", .role = "responder", .source = PEER, .patient = PAT, .local = HOME },
	    { "csd-code=\"ITI-45\"", NULL, NULL, NULL } },
	{ { .event = "ITI-47", .role = "responder", .source = PEER, .patient = PAT, .local = HOME },
	    { "csd-code=\"ITI-47\"", NULL, NULL, NULL } },
	{ { .event = "ITI-55", .role = "initiator", .peer = PEER, .user = "Dr. Anna Lee", .patient = PAT, .local = HOME },
	    { "csd-code=\"ITI-55\"", NULL, NULL, NULL } },
	{ { .event = "ITI-8", .role = "responder", .source = "LAB^HOSP", .peer = "LAB^HOSP", .patient = PAT,
	      .query = "MSG00001", .trigger = "ADT^A08", .action = "U", .local = HOME },
	    { "csd-code=\"110110\"", "EventActionCode=\"U\"", "ParticipantObjectID=\"MSG00001\"", NULL } },
	{ { .event = "HL7v2", .role = "responder", .source = "LAB", .query = "MSG2", .trigger = "ORU^R01", .local = HOME,
	      .outcome = AUDIT_SERIOUS_FAILURE },
	    { "csd-code=\"HL7v2\"", "EventOutcomeIndicator=\"8\"", NULL, NULL } },
	{ { .event = "HL7-ADT", .role = "responder", .source = "mllp", .patient = PAT, .detail = "ADT^A04 AA: new",
	      .local = HOME },
	    { "csd-code=\"110110\"", "csd-code=\"ITI-8\"", "UserID=\"mllp\"", NULL } },
	{ { .event = "HL7-QBP", .role = "responder", .source = "mllp", .detail = "QBP^Q22 AA", .local = HOME },
	    { "csd-code=\"110112\"", "csd-code=\"ITI-21\"", NULL, NULL } },
	{ { .event = "security-alert", .role = "responder", .source = PEER, .outcome = AUDIT_SERIOUS_FAILURE,
	      .detail = "ITI-38 refused: signature <does not> verify & \"more\"", .local = HOME },
	    { "csd-code=\"110113\"", "csd-code=\"110126\"", "&lt;does not&gt; verify &amp; &quot;more&quot;", NULL } },
	{ { .event = "consent-denied", .role = "responder", .source = PEER, .user = "Dr. Anna Lee", .patient = PAT,
	      .outcome = AUDIT_MINOR_FAILURE, .detail = "ITI-38: 2 objects withheld (patient opted out)", .local = HOME },
	    { "csd-code=\"110132\"", NULL, NULL, NULL } },
	{ { .event = "emergency-override", .role = "responder", .source = PEER, .user = "Dr. Anna Lee",
	      .purpose = "EMERGENCY", .patient = PAT, .local = HOME },
	    { "csd-code=\"110127\"", "PurposeOfUse csd-code=\"EMERGENCY\"", NULL, NULL } },
	{ { .event = "consent-change", .role = "node", .source = HOME, .user = "privacy officer", .patient = PAT,
	      .action = "U", .detail = "set {\"policy\":\"deny\"}", .local = HOME },
	    { "csd-code=\"110135\"", NULL, NULL, NULL } },
	{ { .event = "config-reload", .role = "node", .source = HOME, .detail = "peer directory reloaded", .local = HOME },
	    { "csd-code=\"110129\"", NULL, NULL, NULL } },
	{ { .event = "node-start", .role = "node", .source = HOME, .detail = "node-a", .local = HOME },
	    { "csd-code=\"110100\"", "csd-code=\"110120\"", "csd-code=\"110150\"", NULL } },
	{ { .event = "node-stop", .role = "node", .source = HOME, .detail = "node-a", .local = HOME },
	    { "csd-code=\"110121\"", NULL, NULL, NULL } },
	/* An old record without the new fields still renders. */
	{ { .event = "ITI-38", .role = "responder", .source = PEER, .patient = PAT, .detail = "1.2.3.1" },
	    { "AuditEnterpriseSiteID=\"urn:oid:1.2.3.4\"", NULL, NULL, NULL } },
	/* A control character in a stored field does not break the XML. */
	{ { .event = "ITI-38", .role = "responder", .source = PEER, .user = "Dr.\x01 Evil\n", .patient = PAT },
	    { "UserID=\"Dr.? Evil \"", NULL, NULL, NULL } },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static char     dir[256];
static MDB_env *env;
static char    *rendered[NROWS];

static hie_err
render(void *arg, uint64_t seq, const char *json, size_t len)
{
	hie_buf b;
	(void) arg;
	assert_true(seq >= 1 && seq <= NROWS);
	hie_buf_init(&b, 1 << 20);
	assert_int_equal(audit_atna(json, len, "node-a", HOME, &b), HIE_OK);
	rendered[seq - 1] = hie_buf_take(&b, NULL);
	return HIE_OK;
}

static int
setup(void **state)
{
	audit_log *a;
	uint64_t   next;

	(void) state;
	tu_tmpdir(dir);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(audit_open(env, &a), HIE_OK);
	for (size_t i = 0; i < NROWS; i++)
		assert_int_equal(audit_record(a, &rows[i].ev), HIE_OK);
	audit_close(a);
	assert_int_equal(audit_each(env, 1, render, NULL, &next), HIE_OK);
	assert_int_equal(next, NROWS + 1);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	for (size_t i = 0; i < NROWS; i++)
		free(rendered[i]);
	hie_store_close(env);
	tu_rmtree(dir);
	return 0;
}

static void
test_structure(void **state)
{
	(void) state;
	for (size_t i = 0; i < NROWS; i++) {
		xmlDoc *doc;
		assert_non_null(rendered[i]);
		/* Well-formed through the project's hardened parser. */
		if (hie_xml_parse(rendered[i], strlen(rendered[i]), &hie_xml_default_limits, &doc) != HIE_OK)
			fail_msg("row %zu (%s) is not well-formed: %s", i, rows[i].ev.event, rendered[i]);
		xmlFreeDoc(doc);
		assert_non_null(strstr(rendered[i], "<AuditSourceIdentification"));
		assert_non_null(strstr(rendered[i], "AuditSourceID=\"node-a\""));
		/* Never the RFC 3881 attribute names (the negative sample). */
		assert_null(strstr(rendered[i], " code=\""));
		assert_null(strstr(rendered[i], "displayName="));
		for (size_t k = 0; k < 4 && rows[i].want[k] != NULL; k++)
			if (strstr(rendered[i], rows[i].want[k]) == NULL)
				fail_msg("row %zu (%s): \"%s\" not in %s", i, rows[i].ev.event, rows[i].want[k], rendered[i]);
		if (rows[i].ev.patient != NULL)
			assert_non_null(strstr(rendered[i], "ParticipantObjectID=\"P-77^^^&amp;1.2.3.4.5&amp;ISO\""));
	}
}

/* Not audit records: refused with HIE_EINVAL, nothing crashes. */
static void
test_garbage(void **state)
{
	static const char *bad[] = { "", "{", "[]", "{\"time\":\"2026-01-01T00:00:00Z\"}", "{\"event\":\"ITI-38\"}",
		"{\"event\":7,\"time\":\"x\"}", "null" };
	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hie_buf b;
		hie_buf_init(&b, 4096);
		assert_int_equal(audit_atna(bad[i], strlen(bad[i]), "n", HOME, &b), HIE_EINVAL);
		hie_buf_free(&b);
	}
}

static hie_err
count(void *arg, uint64_t seq, const char *json, size_t len)
{
	(void) seq;
	assert_true(len > 2 && json[0] == '{');
	(*(size_t *) arg)++;
	return HIE_OK;
}

/* audit_each from the middle, and a reader's cursor. */
static void
test_each_from(void **state)
{
	uint64_t next;
	size_t   n = 0;
	(void) state;
	assert_int_equal(audit_each(env, NROWS - 2, count, &n, &next), HIE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(next, NROWS + 1);
	n = 0;
	assert_int_equal(audit_each(env, NROWS + 1, count, &n, &next), HIE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(next, NROWS + 1);
}

/* Each message, and the schema's own positive sample, valid; the negative
 * (RFC 3881 style) sample refused: the validator itself is checked. */
static void
test_schema(void **state)
{
	const char *corpus = getenv("HIE_CORPUS");
	char        xsd[600], file[600], cmd[2000];
	(void) state;
	snprintf(xsd, sizeof(xsd), "%s/schemas/atna/dicom2017c.xsd", corpus);
	snprintf(cmd, sizeof(cmd), "xmllint --noout --schema '%s' '%s/schemas/samples/atna_NEGATIVE_rfc3881_style_record.xml' 2>/dev/null",
	    xsd, corpus);
	assert_int_not_equal(system(cmd), 0);
	for (size_t i = 0; i < NROWS; i++) {
		snprintf(file, sizeof(file), "%s/atna-%zu.xml", dir, i);
		tu_write(file, rendered[i]);
		snprintf(cmd, sizeof(cmd), "xmllint --noout --schema '%s' '%s'", xsd, file);
		if (system(cmd) != 0)
			fail_msg("row %zu (%s %s) does not validate: %s", i, rows[i].ev.event,
			    rows[i].ev.role ? rows[i].ev.role : "", rendered[i]);
	}
}

int
main(int argc, char **argv)
{
	hie_xml_init();
	if (argc > 1 && strcmp(argv[1], "schema") == 0) {
		const char *c = getenv("HIE_CORPUS");
		char        p[600];
		struct stat sb;
		const struct CMUnitTest schema[] = { cmocka_unit_test(test_schema) };
		snprintf(p, sizeof(p), "%s/schemas/atna/dicom2017c.xsd", c != NULL ? c : "/nonexistent");
		if (stat(p, &sb) != 0) {
			fprintf(stderr, "skipped: %s absent\n", p);
			return 77;
		}
		return cmocka_run_group_tests(schema, setup, teardown);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_each_from),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
