/*
 * tests/unit/test_v3.c -- the HL7 v3 codec (mpi/v3.h): our own messages
 * in tests/data/v3 (good ones, and hostile or wrong ones that must give
 * an AE detail and nothing else), build -> parse round trips, and with
 * "corpus" as argument: the IHE samples of ../shared/corpus and xmllint
 * validation of our responses and queries against the HL7 v3 NE2008
 * schemas (exit 77 when the corpus is absent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mpi/v3.h"
#include "testutil.h"

static int corpus_run;

static xmlDoc *
load(const char *path)
{
	size_t  len;
	char   *buf = tu_slurp(path, &len);
	xmlDoc *doc = NULL;

	assert_int_equal(v3_parse_buf(buf, len, NULL, &doc), HIE_OK);
	free(buf);
	return doc;
}

static xmlDoc *
load_own(const char *name)
{
	char p[512], rel[256];
	snprintf(rel, sizeof(rel), "tests/data/v3/%s", name);
	tu_src(p, sizeof(p), rel);
	return load(p);
}

static void
test_query_alice(void **state)
{
	xmlDoc         *doc = load_own("iti55_alice.xml");
	struct v3_query *q = calloc(1, sizeof(*q));
	struct v3_error err;

	(void) state;
	assert_int_equal(v3_query_parse(xmlDocGetRootElement(doc), q, &err), HIE_OK);
	assert_string_equal(q->h.id.root, "1.2.3.1");
	assert_string_equal(q->h.id.ext, "msg-55-1");
	assert_string_equal(q->h.sender_home, "1.2.3.1");
	assert_string_equal(q->h.receiver_home, "1.2.3.2");
	assert_string_equal(q->h.query_id.ext, "q-55-1");
	assert_int_equal(q->demo.n_names, 1);
	assert_string_equal(q->demo.names[0].given, "Alice");
	assert_string_equal(q->demo.names[0].middle, "Mary");
	assert_string_equal(q->demo.names[0].family, "Hoffmann");
	assert_string_equal(q->demo.birth_date, "19750314");
	assert_int_equal(q->demo.sex, 'F');
	assert_int_equal(q->demo.n_ids, 1);
	assert_string_equal(q->demo.ids[0].cx.id, "A-77");
	assert_string_equal(q->demo.ids[0].cx.authority, "1.2.3.1.7");
	assert_int_equal(q->demo.n_addrs, 1);
	assert_string_equal(q->demo.addrs[0].number, "12");
	assert_string_equal(q->demo.addrs[0].street, "Elm Street");
	assert_string_equal(q->demo.addrs[0].postcode, "62704");
	assert_int_equal(q->demo.n_phones, 1);
	assert_string_equal(q->demo.phones[0].number, "+1-217-555-0142");
	assert_string_equal(q->mothers_maiden, "Brandt");
	assert_int_equal(q->min_degree, -1);
	free(q);
	xmlFreeDoc(doc);
}

/* Each wrong message: its error, the queryResponseCode, and a location. */
static void
test_query_refusals(void **state)
{
	static const struct {
		const char *file;
		hie_err     e;
		const char *qrc, *code, *loc_has;
	} cases[] = {
		{ "iti55_unsupported.xml", HIE_EINVAL, "QE", "QE", "livingSubjectBirthPlaceName" },
		{ "iti55_bad_date.xml", HIE_EINVAL, "QE", "QE", "livingSubjectBirthTime" },
		{ "iti55_bad_gender.xml", HIE_EINVAL, "QE", "QE", "livingSubjectAdministrativeGender" },
		{ "iti55_bad_id.xml", HIE_EINVAL, "AE", "204", "livingSubjectId" },
		{ "iti55_too_many.xml", HIE_ETOOBIG, "QE", "QE", "livingSubjectName" },
		{ "iti55_long_name.xml", HIE_ETOOBIG, "QE", "QE", "livingSubjectName" },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xmlDoc          *doc = load_own(cases[i].file);
		struct v3_query *q = calloc(1, sizeof(*q));
		struct v3_error  err;
		hie_err          e = v3_query_parse(xmlDocGetRootElement(doc), q, &err);
		print_message("%s: %s %s %s at %s\n", cases[i].file, hie_errname(e), err.qrc, err.text, err.location);
		assert_int_equal(e, cases[i].e);
		assert_string_equal(err.qrc, cases[i].qrc);
		assert_string_equal(err.code, cases[i].code);
		assert_non_null(strstr(err.location, cases[i].loc_has));
		/* The header is still there for the AE response. */
		assert_string_equal(q->h.id.ext, "msg-55-1");
		free(q);
		xmlFreeDoc(doc);
	}
}

static void
test_hostile(void **state)
{
	char    p[512];
	size_t  len;
	char   *buf;
	xmlDoc *doc = NULL;

	(void) state;
	tu_src(p, sizeof(p), "tests/data/v3/iti55_doctype.xml");
	buf = tu_slurp(p, &len);
	assert_int_equal(v3_parse_buf(buf, len, NULL, &doc), HIE_EXMLHOSTILE);
	assert_null(doc);
	{
		struct hie_xml_limits lim = hie_xml_default_limits;
		lim.max_bytes = 1000;
		free(buf);
		tu_src(p, sizeof(p), "tests/data/v3/iti55_alice.xml");
		buf = tu_slurp(p, &len);
		assert_int_equal(v3_parse_buf(buf, len, &lim, &doc), HIE_ETOOBIG);
	}
	free(buf);
	/* Not the message at all. */
	doc = load_own("iti45_query.xml");
	{
		struct v3_query *q = calloc(1, sizeof(*q));
		struct v3_error  err;
		assert_int_equal(v3_query_parse(xmlDocGetRootElement(doc), q, &err), HIE_EPROTO);
		free(q);
	}
	xmlFreeDoc(doc);
}

static void
test_pix_query(void **state)
{
	xmlDoc             *doc = load_own("iti45_query.xml");
	struct v3_pix_query q;
	struct v3_error     err;

	(void) state;
	assert_int_equal(v3_pix_query_parse(xmlDocGetRootElement(doc), &q, &err), HIE_OK);
	assert_string_equal(q.id.id, "A-77");
	assert_string_equal(q.id.authority, "1.2.3.1.7");
	assert_int_equal(q.n_sources, 1);
	assert_string_equal(q.sources[0], "1.2.3.2.7");
	xmlFreeDoc(doc);
	doc = load_own("iti45_unsupported.xml");
	assert_int_equal(v3_pix_query_parse(xmlDocGetRootElement(doc), &q, &err), HIE_EINVAL);
	assert_string_equal(err.qrc, "QE");
	assert_non_null(strstr(err.location, "otherParam"));
	xmlFreeDoc(doc);
}

static struct mpi_patient
alice(void)
{
	struct mpi_patient p;

	memset(&p, 0, sizeof(p));
	p.n_names = 1;
	strcpy(p.names[0].given, "Alice");
	strcpy(p.names[0].family, "Hoffmann & Söhne <x>");
	strcpy(p.birth_date, "19750314");
	p.sex = 'F';
	p.n_addrs = 1;
	strcpy(p.addrs[0].number, "12");
	strcpy(p.addrs[0].street, "Elm Street");
	strcpy(p.addrs[0].city, "Springfield");
	strcpy(p.addrs[0].postcode, "62704");
	p.n_phones = 1;
	strcpy(p.phones[0].number, "+1-217-555-0142");
	strcpy(p.phones[0].use, "PRN");
	p.n_ids = 2;
	strcpy(p.ids[0].cx.id, "B-1");
	strcpy(p.ids[0].cx.authority, "1.2.3.2.7");
	strcpy(p.ids[1].cx.id, "123456789");
	strcpy(p.ids[1].cx.authority, MPI_CSV_SSN_OID);
	return p;
}

/* A new document whose root is a holder element (the SOAP Body's role). */
static xmlDoc *
holder(xmlNode **body)
{
	xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
	*body = xmlNewNode(NULL, BAD_CAST "Body");
	xmlDocSetRootElement(doc, *body);
	return doc;
}

static void
build_response(xmlNode *body, const struct v3_header *h, const char *ack, const char *qrc, const char *issue,
    const struct v3_error *err, int pix)
{
	struct v3_subject  s;
	struct v3_response r = { .req = h, .ack = ack, .qrc = qrc, .err = err, .issue = issue, .device = "1.2.3.2",
		.home = "1.2.3.2", .subjects = &s, .n = strcmp(qrc, "OK") == 0 };

	memset(&s, 0, sizeof(s));
	s.demo = alice();
	s.id = s.demo.ids[0].cx;
	s.confidence = pix ? -1 : 97;
	assert_int_equal(v3_response_build(body, &r, pix), HIE_OK);
}

static void
test_round_trip(void **state)
{
	struct v3_header  h = { .id = { "1.2.3.1", "m1" }, .sender_device = "1.2.3.1", .sender_home = "1.2.3.1",
		 .query_id = { "1.2.3.1", "q1" } };
	struct v3_subject subs[2];
	struct v3_result  res = { .subjects = subs, .cap = 2 };
	xmlNode          *body;
	xmlDoc           *doc = holder(&body);
	struct mpi_patient p = alice();

	(void) state;
	build_response(body, &h, "AA", "OK", NULL, NULL, 0);
	assert_int_equal(v3_response_parse(body->children, 0, &res), HIE_OK);
	assert_string_equal(res.ack, "AA");
	assert_string_equal(res.qrc, "OK");
	assert_string_equal(res.custodian, "1.2.3.2");
	assert_int_equal(res.n, 1);
	assert_string_equal(subs[0].id.id, "B-1");
	assert_int_equal(subs[0].confidence, 97);
	assert_string_equal(subs[0].demo.names[0].family, "Hoffmann & Söhne <x>");
	assert_string_equal(subs[0].demo.birth_date, "19750314");
	assert_int_equal(subs[0].demo.n_ids, 1); /* the SSN as asOtherIDs; B-1 is the patient id */
	xmlFreeDoc(doc);

	/* Ambiguous: NF with AnswerNotAvailable, nobody named. */
	doc = holder(&body);
	build_response(body, &h, "AA", "NF", "AnswerNotAvailable", NULL, 0);
	assert_int_equal(v3_response_parse(body->children, 0, &res), HIE_OK);
	assert_string_equal(res.qrc, "NF");
	assert_string_equal(res.issue, "AnswerNotAvailable");
	assert_int_equal(res.n, 0);
	xmlFreeDoc(doc);

	/* A query we build reads back as the same demographics. */
	doc = holder(&body);
	assert_int_equal(v3_query_build(body, &p, "1.2.3.1", "1.2.3.1", "1.2.3.2", "m2"), HIE_OK);
	{
		struct v3_query *q = calloc(1, sizeof(*q));
		struct v3_error  err;
		assert_int_equal(v3_query_parse(body->children, q, &err), HIE_OK);
		assert_string_equal(q->demo.names[0].family, p.names[0].family);
		assert_string_equal(q->demo.addrs[0].street, "Elm Street");
		assert_string_equal(q->demo.addrs[0].number, "12");
		assert_string_equal(q->demo.phones[0].number, p.phones[0].number);
		assert_int_equal(q->demo.n_ids, 2);
		assert_string_equal(q->demo.ids[1].type, "SS");
		assert_string_equal(q->h.sender_home, "1.2.3.1");
		assert_string_equal(q->h.receiver_home, "1.2.3.2");
		free(q);
	}
	xmlFreeDoc(doc);

	/* PIX. */
	doc = holder(&body);
	build_response(body, &h, "AA", "OK", NULL, NULL, 1);
	assert_int_equal(v3_response_parse(body->children, 1, &res), HIE_OK);
	assert_int_equal(res.n, 1);
	assert_int_equal(subs[0].demo.n_ids, 1);
	assert_string_equal(subs[0].demo.ids[0].cx.id, "123456789");
	xmlFreeDoc(doc);
}

/* ---- corpus ---- */

static char corpus[400];

static xmlDoc *
load_corpus(const char *rel)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", corpus, rel);
	return load(p);
}

static void
test_corpus_queries(void **state)
{
	struct v3_query    *q = calloc(1, sizeof(*q));
	struct v3_pix_query pq;
	struct v3_error     err;
	xmlDoc             *doc;

	(void) state;
	doc = load_corpus("ihe/ipf_ITI-55_XCPD_request.xml");
	assert_int_equal(v3_query_parse(xmlDocGetRootElement(doc), q, &err), HIE_OK);
	assert_string_equal(q->demo.names[0].given, "Jimmy");
	assert_string_equal(q->demo.names[0].family, "Jones");
	assert_string_equal(q->demo.birth_date, "19630805");
	assert_int_equal(q->demo.sex, 'M');
	assert_int_equal(q->demo.n_ids, 2);
	assert_string_equal(q->demo.ids[1].type, "SS");
	assert_string_equal(q->h.sender_home, "1.2.3.928.955");
	assert_int_equal(q->min_degree, 100);
	xmlFreeDoc(doc);

	doc = load_corpus("ihe/ipf_ITI-47_PDQv3_query.xml");
	assert_int_equal(v3_query_parse(xmlDocGetRootElement(doc), q, &err), HIE_OK);
	assert_int_equal(q->n_scoping, 3);
	assert_int_equal(q->min_degree, 75);
	assert_int_equal(q->initial_quantity, 2);
	xmlFreeDoc(doc);

	doc = load_corpus("ihe/connect_entity_ITI-55_PatientDiscovery_request.xml");
	{
		/* A whole CONNECT message: the PRPA_IN201305UV02 somewhere in it. */
		xmlNode *root = hie_xml_find(xmlDocGetRootElement(doc), V3_NS, "PRPA_IN201305UV02");
		hie_err  e;
		if (root == NULL)
			root = xmlDocGetRootElement(doc);
		/* A SoapUI template: its ${#Project#Gender} placeholders are
		 * refused with the parameter named, not searched for. */
		e = v3_query_parse(root, q, &err);
		print_message("CONNECT ITI-55 request: %s %s at %s\n", hie_errname(e), err.text, err.location);
		assert_int_equal(e, HIE_EINVAL);
		assert_non_null(strstr(err.location, "livingSubjectAdministrativeGender"));
	}
	xmlFreeDoc(doc);

	doc = load_corpus("schemas/samples/pixv3_ITI-45_PRPA_IN201309UV02_query.xml");
	assert_int_equal(v3_pix_query_parse(xmlDocGetRootElement(doc), &pq, &err), HIE_OK);
	assert_string_equal(pq.id.id, "PIX10501");
	assert_string_equal(pq.id.authority, "1.3.6.1.4.1.21367.2005.1.1");
	assert_string_equal(pq.sources[0], "1.3.6.1.4.1.21367.2005.1.2");
	xmlFreeDoc(doc);
	free(q);
}

static void
test_corpus_responses(void **state)
{
	struct v3_subject subs[8];
	struct v3_result  res = { .subjects = subs, .cap = 8 };
	xmlDoc           *doc;

	(void) state;
	doc = load_corpus("ihe/ipf_ITI-55_XCPD_response.xml");
	assert_int_equal(v3_response_parse(xmlDocGetRootElement(doc), 0, &res), HIE_OK);
	assert_string_equal(res.ack, "AA");
	assert_string_equal(res.qrc, "OK");
	assert_int_equal(res.n, 2);
	assert_string_equal(subs[0].id.id, "34827K410");
	assert_int_equal(subs[0].confidence, 92);
	assert_string_equal(res.custodian, "1.2.840.114350.1.13.99998.8734");
	xmlFreeDoc(doc);
	doc = load_corpus("ihe/ipf_ITI-47_PDQv3_response.xml");
	assert_int_equal(v3_response_parse(xmlDocGetRootElement(doc), 0, &res), HIE_OK);
	print_message("PDQ sample response: %zu patients\n", res.n);
	assert_int_equal(res.n, 7);
	res.cap = 6; /* more patients than the caller has room for */
	assert_int_equal(v3_response_parse(xmlDocGetRootElement(doc), 0, &res), HIE_ETOOBIG);
	xmlFreeDoc(doc);
	doc = load_corpus("schemas/samples/pixv3_ITI-45_PRPA_IN201310UV02_response.xml");
	assert_int_equal(v3_response_parse(xmlDocGetRootElement(doc), 1, &res), HIE_OK);
	assert_int_equal(res.n, 1);
	assert_string_equal(subs[0].id.id, "34827G409");
	assert_int_equal(subs[0].demo.n_ids, 2);
	xmlFreeDoc(doc);
}

/* Writes the message under body to a file and validates it with xmllint
 * against its NE2008 schema. */
static void
validate(xmlNode *body, const char *interaction)
{
	char     dir[256], file[400], cmd[1400];
	xmlDoc  *out = xmlNewDoc(BAD_CAST "1.0");
	FILE    *f;
	int      rc;

	xmlDocSetRootElement(out, xmlDocCopyNode(body->children, out, 1));
	tu_tmpdir(dir);
	snprintf(file, sizeof(file), "%s/%s.xml", dir, interaction);
	f = fopen(file, "w");
	assert_non_null(f);
	xmlDocDump(f, out);
	fclose(f);
	xmlFreeDoc(out);
	snprintf(cmd, sizeof(cmd),
	    "cd %s/schemas/ihe-iti/HL7V3/NE2008/multicacheschemas && xmllint --noout --schema %s.xsd %s 2>&1",
	    corpus, interaction, file);
	rc = system(cmd);
	print_message("xmllint %s: %s\n", interaction, rc == 0 ? "valid" : "INVALID");
	assert_int_equal(rc, 0);
	tu_rmtree(dir);
}

static void
test_corpus_schema(void **state)
{
	struct v3_header h = { .id = { "1.2.3.1", "m1" }, .sender_device = "1.2.3.1", .sender_home = "1.2.3.1",
		.query_id = { "1.2.3.1", "q1" } };
	struct v3_error  err = { .code = "204", .text = "unknown", .location = "/x", .qrc = "AE" };
	struct mpi_patient p = alice();
	xmlDoc          *req = load_own("iti55_alice.xml");
	xmlNode         *qbp = hie_xml_find(xmlDocGetRootElement(req), V3_NS, "queryByParameter");
	xmlNode         *body;
	xmlDoc          *doc;

	(void) state;
	/* Responses as the node sends them, with the request's query echoed. */
	const char *cases[][3] = { { "AA", "OK", NULL }, { "AA", "NF", "AnswerNotAvailable" }, { "AE", "QE", NULL } };
	for (size_t i = 0; i < 3; i++) {
		struct v3_subject  s;
		struct v3_response r = { .req = &h, .query = qbp, .ack = cases[i][0], .qrc = cases[i][1],
			.issue = cases[i][2], .err = i == 2 ? &err : NULL, .device = "1.2.3.2", .home = "1.2.3.2",
			.subjects = &s, .n = i == 0 };
		memset(&s, 0, sizeof(s));
		s.demo = alice();
		s.id = s.demo.ids[0].cx;
		s.confidence = 97;
		doc = holder(&body);
		assert_int_equal(v3_response_build(body, &r, 0), HIE_OK);
		validate(body, "PRPA_IN201306UV02");
		xmlFreeDoc(doc);
	}
	xmlFreeDoc(req);
	doc = holder(&body);
	build_response(body, &h, "AA", "OK", NULL, NULL, 1);
	validate(body, "PRPA_IN201310UV02");
	xmlFreeDoc(doc);
	doc = holder(&body);
	assert_int_equal(v3_query_build(body, &p, "1.2.3.1", "1.2.3.1", "1.2.3.2", "m2"), HIE_OK);
	validate(body, "PRPA_IN201305UV02");
	xmlFreeDoc(doc);
	doc = holder(&body);
	assert_int_equal(v3_pix_query_build(body, &p.ids[0].cx, "1.2.3.1", "1.2.3.1", "m3"), HIE_OK);
	validate(body, "PRPA_IN201309UV02");
	xmlFreeDoc(doc);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest own[] = {
		cmocka_unit_test(test_query_alice),
		cmocka_unit_test(test_query_refusals),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_pix_query),
		cmocka_unit_test(test_round_trip),
	};
	const struct CMUnitTest with_corpus[] = {
		cmocka_unit_test(test_corpus_queries),
		cmocka_unit_test(test_corpus_responses),
		cmocka_unit_test(test_corpus_schema),
	};
	int rc;

	hie_xml_init();
	if (argc > 1 && strcmp(argv[1], "corpus") == 0) {
		const char *c = getenv("HIE_CORPUS");
		struct stat st;
		corpus_run = 1;
		if (c == NULL || snprintf(corpus, sizeof(corpus), "%s", c) >= (int) sizeof(corpus) ||
		    stat(corpus, &st) != 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "corpus not found (HIE_CORPUS): skipped\n");
			return 77;
		}
		rc = cmocka_run_group_tests(with_corpus, NULL, NULL);
	} else {
		rc = cmocka_run_group_tests(own, NULL, NULL);
	}
	hie_xml_shutdown();
	return rc;
}
