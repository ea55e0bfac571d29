/* tests/unit/test_ebrim.c -- ebRIM XML both ways, and parameter syntax. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"
#include "testutil.h"

static xmlDoc *
new_doc(xmlNode **parent)
{
	xmlDoc *d = xmlNewDoc(BAD_CAST "1.0");
	*parent = xmlNewNode(NULL, BAD_CAST "Body");
	xmlDocSetRootElement(d, *parent);
	return d;
}

/* Serialise and re-parse, so tests read what goes over the wire. */
static xmlDoc *
reparse(xmlDoc *d)
{
	char   *s;
	size_t  n;
	xmlDoc *out;

	assert_int_equal(hie_xml_dump(d, &s, &n), HIE_OK);
	assert_int_equal(hie_xml_parse(s, n, NULL, &out), HIE_OK);
	free(s);
	xmlFreeDoc(d);
	return out;
}

static void
test_query_roundtrip(void **state)
{
	struct reg_query q, back;
	xmlNode         *parent;
	xmlDoc          *d = new_doc(&parent);
	char             why[256];

	(void) state;
	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, "P'1^^^&1.2.3&ISO");
	q.approved_only = 1;
	strcpy(q.type_codes.v[0], "34133-9");
	strcpy(q.type_codes.v[1], "18842-5");
	q.type_codes.n = 2;
	strcpy(q.creation_from, "2026");
	strcpy(q.class_codes.v[0], "18842-5");
	q.class_codes.n = 1;
	strcpy(q.conf_codes[0].v[0], "N");
	strcpy(q.conf_codes[0].v[1], "R");
	q.conf_codes[0].n = 2;
	strcpy(q.conf_codes[1].v[0], "N");
	q.conf_codes[1].n = 1;
	q.n_conf_groups = 2;
	strcpy(q.authors[0], "^O'Brien%");
	q.n_authors = 1;
	strcpy(q.service_stop_to, "20270101");
	assert_int_equal(reg_ebrim_query_build(parent, &q, "urn:oid:1.2"), HIE_OK);
	d = reparse(d);
	assert_int_equal(reg_ebrim_query_parse(xmlDocGetRootElement(d)->children, &back, why, sizeof(why)), HIE_OK);
	assert_string_equal(back.patient_id, "P'1^^^&1.2.3&ISO"); /* '' unquoted */
	assert_int_equal(back.type_codes.n, 2);
	assert_string_equal(back.type_codes.v[1], "18842-5");
	assert_string_equal(back.creation_from, "2026");
	assert_true(back.approved_only);
	assert_string_equal(back.class_codes.v[0], "18842-5");
	assert_int_equal(back.n_conf_groups, 2);
	assert_int_equal(back.conf_codes[0].n, 2);
	assert_string_equal(back.conf_codes[0].v[1], "R");
	assert_int_equal(back.n_authors, 1);
	assert_string_equal(back.authors[0], "^O'Brien%");
	assert_string_equal(back.service_stop_to, "20270101");
	xmlFreeDoc(d);
}

static hie_err
parse_query(const char *slots, char *why)
{
	char             xml[4096];
	xmlDoc          *d;
	struct reg_query q;
	hie_err          e;

	snprintf(xml, sizeof(xml),
	    "<q:AdhocQueryRequest xmlns:q='" REG_NS_QUERY "' xmlns:rim='" REG_NS_RIM "'>"
	    "<rim:AdhocQuery id='" REG_SQ_FIND_DOCUMENTS "'>%s</rim:AdhocQuery></q:AdhocQueryRequest>", slots);
	assert_int_equal(hie_xml_parse(xml, strlen(xml), NULL, &d), HIE_OK);
	e = reg_ebrim_query_parse(xmlDocGetRootElement(d), &q, why, 256);
	xmlFreeDoc(d);
	return e;
}

#define SLOT(n, v) "<rim:Slot name='" n "'><rim:ValueList><rim:Value>" v "</rim:Value></rim:ValueList></rim:Slot>"
#define PIDS SLOT("$XDSDocumentEntryPatientId", "'1^^^&amp;1.2&amp;ISO'")
#define STATUS SLOT("$XDSDocumentEntryStatus", "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')")

static void
test_query_params(void **state)
{
	static const struct {
		const char *slots;
		hie_err     want;
	} cases[] = {
		{ PIDS STATUS, HIE_OK },
		{ PIDS STATUS SLOT("$XDSDocumentEntryTypeCode", "('a^^1','b^^1')"), HIE_OK },
		{ PIDS, HIE_EINVAL },                                                         /* status required */
		{ STATUS, HIE_EINVAL },                                                       /* patient required */
		{ PIDS PIDS STATUS, HIE_EINVAL },                                             /* patient twice */
		{ PIDS STATUS SLOT("$XDSDocumentEntryTypeCode", "('a^^1'"), HIE_EINVAL },     /* unclosed list */
		{ PIDS STATUS SLOT("$XDSDocumentEntryTypeCode", "(a^^1)"), HIE_EINVAL },      /* unquoted */
		{ PIDS STATUS SLOT("$XDSDocumentEntryTypeCode", "'x' OR 1=1"), HIE_EINVAL },  /* SQL-ish */
		{ PIDS STATUS SLOT("$XDSDocumentEntryCreationTimeFrom", "2026-01"), HIE_EINVAL },
		{ PIDS STATUS SLOT("$XDSDocumentEntryPracticeSettingCode", "('x^^1')"), HIE_OK },
		{ PIDS STATUS SLOT("$XDSFolderPatientId", "'1^^^&amp;1.2&amp;ISO'"), HIE_EINVAL }, /* not FindDocuments' */
		{ PIDS STATUS SLOT("$XDSDocumentEntryClassCode", "('x^^1')"), HIE_OK },
		{ PIDS STATUS SLOT("$XDSDocumentEntryClassCode", "('x^^1')") SLOT("$XDSDocumentEntryClassCode", "('y^^1')"),
		    HIE_EINVAL }, /* only confidentiality may repeat */
		{ PIDS STATUS SLOT("$XDSDocumentEntryConfidentialityCode", "('N^^2')")
		      SLOT("$XDSDocumentEntryConfidentialityCode", "('R^^2')"), HIE_OK },
		{ PIDS STATUS SLOT("$XDSDocumentEntryAuthorPerson", "'%Lee%'"), HIE_OK },
		{ PIDS STATUS SLOT("$XDSDocumentEntryServiceStartTimeFrom", "20260101"), HIE_OK },
		{ PIDS STATUS SLOT("$XDSDocumentEntryBogus", "'x'"), HIE_EINVAL },
		{ PIDS STATUS SLOT("$XDSDocumentEntryTypeCode",
		      "('1','2','3','4','5','6','7','8','9','10','11','12','13','14','15','16','17')"),
		    HIE_EINVAL }, /* more codes than allowed */
	};
	char why[256];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hie_err e = parse_query(cases[i].slots, why);
		if (e != cases[i].want)
			fail_msg("case %zu: got %s (%s)", i, hie_errname(e), why);
	}
}

static void
test_response_roundtrip(void **state)
{
	struct reg_entry  v[3];
	struct reg_result res = { v, 3 }, back;
	xmlNode          *parent;
	xmlDoc           *d = new_doc(&parent);
	char              why[256];

	(void) state;
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 3; i++) {
		snprintf(v[i].entry_uuid, sizeof(v[i].entry_uuid), "urn:uuid:0000000%d-0000-4000-8000-000000000000", i);
		snprintf(v[i].unique_id, sizeof(v[i].unique_id), "1.2.3^%d", i);
		strcpy(v[i].patient_id, "1^^^&1.2&ISO");
		strcpy(v[i].repository_id, "1.2.3.1");
		strcpy(v[i].status, "Approved");
		strcpy(v[i].type_code, "18842-5");
		strcpy(v[i].type_scheme, "2.16.840.1.113883.6.1");
		strcpy(v[i].type_display, "Discharge <Summary> & more");
		strcpy(v[i].confidentiality, "N");
		strcpy(v[i].format_code, "urn:hl7-org:sdwg:ccda-structuredBody:2.1");
		strcpy(v[i].creation_time, "20261110");
		strcpy(v[i].hash, "e6353b9b5e8282a7764be2d0e8b8efc0456c5bac");
		strcpy(v[i].title, "Title");
		strcpy(v[i].author, "^Okafor^Chidi");
		strcpy(v[i].mime_type, "text/xml");
		v[i].size = 1234 + (uint64_t) i;
	}
	assert_int_equal(reg_ebrim_response_build(parent, &res, "urn:oid:1.2"), HIE_OK);
	d = reparse(d);
	assert_int_equal(reg_ebrim_response_parse(xmlDocGetRootElement(d)->children, 10, &back, why, sizeof(why)), HIE_OK);
	assert_int_equal(back.n, 3);
	assert_string_equal(back.v[2].unique_id, "1.2.3^2");
	assert_string_equal(back.v[2].home_community, "urn:oid:1.2");
	assert_string_equal(back.v[2].type_display, "Discharge <Summary> & more");
	assert_string_equal(back.v[2].author, "^Okafor^Chidi");
	assert_string_equal(back.v[2].patient_id, "1^^^&1.2&ISO");
	assert_string_equal(back.v[0].confidentiality, "N");
	assert_int_equal(back.v[1].size, 1235);
	reg_result_free(&back);
	/* A peer that sends more than we accept is refused as a whole. */
	assert_int_equal(reg_ebrim_response_parse(xmlDocGetRootElement(d)->children, 2, &back, why, sizeof(why)), HIE_ETOOBIG);
	xmlFreeDoc(d);
}

static void
test_error_response(void **state)
{
	struct reg_result back;
	xmlNode          *parent;
	xmlDoc           *d = new_doc(&parent);
	char              why[256];

	(void) state;
	assert_int_equal(reg_ebrim_error_build(parent, "XDSStoredQueryParamNumber", "missing status"), HIE_OK);
	d = reparse(d);
	assert_int_equal(reg_ebrim_response_parse(xmlDocGetRootElement(d)->children, 10, &back, why, sizeof(why)), HIE_EPEER);
	assert_string_equal(why, "XDSStoredQueryParamNumber: missing status");
	xmlFreeDoc(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_roundtrip),
		cmocka_unit_test(test_query_params),
		cmocka_unit_test(test_response_roundtrip),
		cmocka_unit_test(test_error_response),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
