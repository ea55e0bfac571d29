/* tests/unit/test_registry.c -- registry and repository on a real LMDB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/store.h"
#include "registry/registry.h"
#include "testutil.h"

#define PID "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO"

static char     dir[256];
static MDB_env *env;
static reg     *r;

static void
load_demo(const char *name, struct reg_entry *e, char **buf, size_t *len)
{
	char path[512], why[256];

	snprintf(path, sizeof(path), "conf/demo/%s", name);
	tu_src(path, sizeof(path), path);
	*buf = tu_slurp(path, len);
	assert_int_equal(reg_ccda_extract(*buf, *len, NULL, "1.2.3.4.1", e, why, sizeof(why)), HIE_OK);
}

static int
setup(void **state)
{
	(void) state;
	tu_tmpdir(dir);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(reg_open(env, &r), HIE_OK);
	tu_load_demo(r, "1.2.3.4.1", 4);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	reg_close(r);
	hie_store_close(env);
	tu_rmtree(dir);
	return 0;
}

static void
test_extract(void **state)
{
	struct reg_entry e;
	char            *buf;
	size_t           len;

	(void) state;
	load_demo("hospital-b-ccd.xml", &e, &buf, &len);
	assert_string_equal(e.patient_id, PID);
	assert_string_equal(e.unique_id, "2.25.299418744817305917185341891893493520418^HB-CCD-0001");
	assert_string_equal(e.type_code, "34133-9");
	assert_string_equal(e.creation_time, "20261002143000"); /* -0500 to UTC */
	assert_string_equal(e.service_start, "20261002");
	assert_string_equal(e.format_code, "urn:hl7-org:sdwg:ccda-structuredBody:2.1");
	assert_string_equal(e.confidentiality, "N");
	assert_string_equal(e.author, "^Lee^Anna");
	assert_string_equal(e.title, "Continuity of Care Document");
	assert_int_equal(e.size, len);
	free(buf);
}

static void
test_extract_rejects(void **state)
{
	static const struct {
		const char *xml, *why;
	} cases[] = {
		{ "<a/>", "not an HL7 CDA ClinicalDocument" },
		{ "<ClinicalDocument xmlns='urn:hl7-org:v3'><id root='1.2'/><code code='x'/></ClinicalDocument>",
		    "recordTarget/patientRole has no id" },
		{ "<ClinicalDocument xmlns='urn:hl7-org:v3'><code code='x'/></ClinicalDocument>", "ClinicalDocument/id has no root" },
		{ "<ClinicalDocument xmlns='urn:hl7-org:v3'><id root='1.2'/><code code='1'/><effectiveTime value='yesterday'/>"
		  "<recordTarget><patientRole><id root='1.2' extension='9'/></patientRole></recordTarget></ClinicalDocument>",
		    "effectiveTime" },
		{ "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>", "DTD" },
	};
	struct reg_entry e;
	char             why[256];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_not_equal(reg_ccda_extract(cases[i].xml, strlen(cases[i].xml), NULL, "1.2", &e, why, sizeof(why)), HIE_OK);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, why, cases[i].why);
	}
}

static void
test_find(void **state)
{
	struct reg_query  q;
	struct reg_result res;

	(void) state;
	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, PID);
	q.approved_only = 1;
	q.max_results = 100;
	assert_int_equal(reg_find_documents(r, &q, &res), HIE_OK);
	assert_int_equal(res.n, 4);
	assert_string_equal(res.v[0].type_code, "18842-5"); /* newest first */
	reg_result_free(&res);

	strcpy(q.type_codes.v[0], "57133-1");
	strcpy(q.type_codes.v[1], "52521-2");
	q.type_codes.n = 2;
	assert_int_equal(reg_find_documents(r, &q, &res), HIE_OK);
	assert_int_equal(res.n, 2);
	reg_result_free(&res);

	q.type_codes.n = 0;
	strcpy(q.creation_from, "20261015");
	strcpy(q.creation_to, "20261105");
	assert_int_equal(reg_find_documents(r, &q, &res), HIE_OK);
	assert_int_equal(res.n, 2);
	reg_result_free(&res);

	q.creation_from[0] = q.creation_to[0] = '\0';
	q.max_results = 3;
	assert_int_equal(reg_find_documents(r, &q, &res), HIE_ETOOBIG);
	assert_null(res.v);

	strcpy(q.patient_id, "OTHER^^^&1.2&ISO");
	q.max_results = 10;
	assert_int_equal(reg_find_documents(r, &q, &res), HIE_OK);
	assert_int_equal(res.n, 0);
	/* A prefix of a patient id is another patient. */
	strcpy(q.patient_id, "DEMO-100");
	assert_int_equal(reg_find_documents(r, &q, &res), HIE_OK);
	assert_int_equal(res.n, 0);
}

/* Each further FindDocuments parameter, alone, over the 4 demo documents
 * (CCD and discharge summary by Lee/Okafor at hospital-b, referral note and
 * care plan by Nguyen at hospital-c). */
static void f_class(struct reg_query *q) { strcpy(q->class_codes.v[0], "18842-5"); q->class_codes.n = 1; }
static void f_format(struct reg_query *q) { strcpy(q->format_codes.v[0], "urn:hl7-org:sdwg:ccda-structuredBody:2.1"); q->format_codes.n = 1; }
static void f_conf_n(struct reg_query *q) { strcpy(q->conf_codes[0].v[0], "N"); q->conf_codes[0].n = 1; q->n_conf_groups = 1; }
static void f_conf_and(struct reg_query *q)
{
	strcpy(q->conf_codes[0].v[0], "N");
	q->conf_codes[0].n = 1;
	strcpy(q->conf_codes[1].v[0], "R"); /* N and R at once: none is both */
	q->conf_codes[1].n = 1;
	q->n_conf_groups = 2;
}
static void f_author(struct reg_query *q) { strcpy(q->authors[0], "^Nguyen%"); q->n_authors = 1; }
static void f_author_one(struct reg_query *q) { strcpy(q->authors[0], "^_ee^Anna"); q->n_authors = 1; }
static void f_service(struct reg_query *q) { strcpy(q->service_start_from, "20261015"); strcpy(q->service_start_to, "20261102"); }
static void f_stop(struct reg_query *q) { strcpy(q->service_stop_to, "20261003"); }

static void
test_find_parameters(void **state)
{
	static const struct {
		const char *name;
		void (*set)(struct reg_query *);
		size_t want;
	} cases[] = {
		{ "class code", f_class, 1 },
		{ "format code", f_format, 4 },
		{ "confidentiality N", f_conf_n, 4 },
		{ "confidentiality N and R", f_conf_and, 0 },
		{ "author wildcard", f_author, 2 },
		{ "author single-character wildcard", f_author_one, 1 },
		{ "service start range", f_service, 2 },
		{ "service stop before", f_stop, 1 },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reg_query  q;
		struct reg_result res;
		memset(&q, 0, sizeof(q));
		strcpy(q.patient_id, PID);
		q.approved_only = 1;
		q.max_results = 100;
		cases[i].set(&q);
		assert_int_equal(reg_find_documents(r, &q, &res), HIE_OK);
		if (res.n != cases[i].want)
			fail_msg("%s: %zu documents, want %zu", cases[i].name, res.n, cases[i].want);
		reg_result_free(&res);
	}
}

static void
test_duplicates_and_hash(void **state)
{
	struct reg_entry e;
	char            *buf;
	size_t           len, n0, n1;

	(void) state;
	assert_int_equal(reg_count(r, &n0), HIE_OK);
	load_demo("hospital-b-ccd.xml", &e, &buf, &len);
	assert_int_equal(reg_put(r, &e, buf, len), HIE_EEXIST); /* identical resubmission */
	buf[len - 2] = ' ';                                       /* other bytes, same uniqueId */
	memset(e.hash, 0, sizeof(e.hash));
	memset(e.entry_uuid, 0, sizeof(e.entry_uuid));
	assert_int_equal(reg_put(r, &e, buf, len), HIE_EDUPLICATE);
	strcpy(e.hash, "0000000000000000000000000000000000000000");
	assert_int_equal(reg_put(r, &e, buf, len), HIE_EMETADATA);
	assert_int_equal(reg_count(r, &n1), HIE_OK);
	assert_int_equal(n0, n1); /* nothing half-stored */
	free(buf);
}

static void
test_get_and_reopen(void **state)
{
	struct reg_entry e;
	char            *doc;
	size_t           len;

	(void) state;
	/* Close and reopen: committed registrations survive. */
	reg_close(r);
	hie_store_close(env);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(reg_open(env, &r), HIE_OK);
	assert_int_equal(reg_get_document(r, "2.25.299418744817305917185341891893493520418^HB-DS-0002", &e, &doc, &len), HIE_OK);
	assert_string_equal(e.type_code, "18842-5");
	assert_int_equal(e.size, len);
	assert_non_null(strstr(doc, "Discharge Summary"));
	free(doc);
	assert_int_equal(reg_get_document(r, "1.2.3^nope", &e, &doc, &len), HIE_ENOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extract),
		cmocka_unit_test(test_extract_rejects),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_find_parameters),
		cmocka_unit_test(test_duplicates_and_hash),
		cmocka_unit_test(test_get_and_reopen),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
