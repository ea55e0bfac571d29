/* tests/unit/test_responder.c -- the responding gateway on a real registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/soap.h"
#include "node/store.h"
#include "testutil.h"
#include "xca/xca.h"

#define PID "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO"
#define HOME "urn:oid:1.2.3.4"

static char                 dir[256];
static MDB_env             *env;
static struct xca_responder resp;

static int
setup(void **state)
{
	(void) state;
	tu_tmpdir(dir);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(reg_open(env, &resp.reg), HIE_OK);
	resp.home = HOME;
	resp.repository_id = "1.2.3.4.1";
	resp.lim = hie_xml_default_limits;
	resp.max_results = 100;
	/* These tests are about the XCA layer; signing is test_wss's and
	 * test_fanout's (where both sides sign and verify for real). */
	resp.allow_unsigned = 1;
	tu_load_demo(resp.reg, "1.2.3.4.1", 3);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	reg_close(resp.reg);
	hie_store_close(env);
	tu_rmtree(dir);
	return 0;
}

static char *
request(const struct reg_query *q, const char *action, char msgid[46], size_t *len)
{
	xmlDoc  *doc;
	xmlNode *body;
	char    *out;

	assert_int_equal(soap_envelope_new(action, "tls+tcp://127.0.0.1:1", NULL, &doc, &body, msgid), HIE_OK);
	assert_int_equal(reg_ebrim_query_build(body, q, HOME), HIE_OK);
	assert_int_equal(hie_xml_dump(doc, &out, len), HIE_OK);
	xmlFreeDoc(doc);
	return out;
}

static void
ask(const char *req, size_t len, struct soap_msg *m, struct xca_outcome *out)
{
	char  *r;
	size_t rlen;

	assert_int_equal(xca_respond(&resp, req, len, "test", &r, &rlen, out), HIE_OK);
	assert_int_equal(soap_parse(r, rlen, NULL, m), HIE_OK);
	free(r);
}

static void
test_iti38(void **state)
{
	struct reg_query   q;
	struct reg_result  res;
	struct soap_msg    m;
	struct xca_outcome out;
	char               msgid[46], why[256], *req;
	size_t             len;

	(void) state;
	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, PID);
	q.approved_only = 1;
	req = request(&q, SOAP_ACTION_ITI38, msgid, &len);
	ask(req, len, &m, &out);
	free(req);
	assert_string_equal(out.transaction, "ITI-38");
	assert_string_equal(out.status, "ok");
	assert_string_equal(m.action, SOAP_ACTION_ITI38_RESP);
	assert_string_equal(m.relates_to, msgid);
	assert_int_equal(reg_ebrim_response_parse(m.body, 100, &res, why, sizeof(why)), HIE_OK);
	assert_int_equal(res.n, 3);
	for (size_t i = 0; i < res.n; i++)
		assert_string_equal(res.v[i].home_community, HOME);
	reg_result_free(&res);
	soap_msg_free(&m);
}

static void
test_errors(void **state)
{
	struct reg_query   q;
	struct soap_msg    m;
	struct xca_outcome out;
	char               msgid[46], why[256], reason[256], sub[64], *req;
	size_t             len;
	struct reg_result  res;

	(void) state;
	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, PID);
	q.approved_only = 1;

	/* Too many matches: an ebRS error, not a truncated list. */
	resp.max_results = 2;
	req = request(&q, SOAP_ACTION_ITI38, msgid, &len);
	ask(req, len, &m, &out);
	resp.max_results = 100;
	assert_int_equal(reg_ebrim_response_parse(m.body, 100, &res, why, sizeof(why)), HIE_EPEER);
	assert_non_null(strstr(why, "XDSTooManyResults"));
	soap_msg_free(&m);

	/* An action we do not serve. */
	ask(req, len, &m, &out);
	soap_msg_free(&m);
	free(req);
	req = request(&q, "urn:ihe:iti:2007:Nonsense", msgid, &len);
	ask(req, len, &m, &out);
	assert_true(m.is_fault);
	soap_fault_reason(&m, reason, sizeof(reason), sub, sizeof(sub));
	assert_string_equal(sub, "a:ActionNotSupported");
	assert_string_equal(m.relates_to, msgid);
	soap_msg_free(&m);
	free(req);
}

static char *
retrieve_request(const struct reg_doc_ref *refs, size_t n, size_t *len)
{
	xmlDoc  *doc;
	xmlNode *body;
	char    *out;

	assert_int_equal(soap_envelope_new(SOAP_ACTION_ITI39, "tls+tcp://127.0.0.1:1", NULL, &doc, &body, NULL), HIE_OK);
	assert_int_equal(reg_retrieve_request_build(body, refs, n), HIE_OK);
	assert_int_equal(hie_xml_dump(doc, &out, len), HIE_OK);
	xmlFreeDoc(doc);
	return out;
}

static void
test_iti39(void **state)
{
	struct reg_doc_ref refs[3] = {
		{ HOME, "1.2.3.4.1", "2.25.299418744817305917185341891893493520418^HB-DS-0002" },
		{ HOME, "1.2.3.4.1", "2.25.1^missing" },
		{ HOME, "9.9.9", "2.25.299418744817305917185341891893493520418^HB-CCD-0001" },
	};
	struct reg_doc_ref got;
	struct soap_msg    m;
	struct xca_outcome out;
	char               mime[64], why[256], *req, *doc, path[512], *want;
	size_t             len, dlen, wlen;

	(void) state;
	req = retrieve_request(refs, 3, &len);
	ask(req, len, &m, &out);
	free(req);
	assert_string_equal(out.transaction, "ITI-39");
	assert_string_equal(m.action, SOAP_ACTION_ITI39_RESP);
	assert_non_null(strstr(out.detail, "2 of 3 documents not found"));
	assert_string_equal(hie_xml_attr(hie_xml_child(m.body, REG_NS_RS, "RegistryResponse"), "status"),
	    "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:PartialSuccess");
	assert_non_null(hie_xml_find(m.body, REG_NS_RS, "RegistryError"));
	assert_int_equal(reg_retrieve_response_parse(m.body, 1 << 20, &got, mime, sizeof(mime), &doc, &dlen, why, sizeof(why)), HIE_OK);
	assert_string_equal(got.unique_id, refs[0].unique_id);
	assert_string_equal(mime, "text/xml");
	tu_src(path, sizeof(path), "conf/demo/hospital-b-discharge.xml");
	want = tu_slurp(path, &wlen);
	assert_int_equal(dlen, wlen);
	assert_memory_equal(doc, want, wlen); /* byte for byte */
	free(doc);
	free(want);
	soap_msg_free(&m);

	/* Nothing found: Failure, and the reader says why. */
	req = retrieve_request(refs + 1, 1, &len);
	ask(req, len, &m, &out);
	free(req);
	assert_int_equal(reg_retrieve_response_parse(m.body, 1 << 20, &got, mime, sizeof(mime), &doc, &dlen, why, sizeof(why)), HIE_ENOTFOUND);
	assert_string_equal(why, "XDSDocumentUniqueIdError");
	soap_msg_free(&m);
}

static void
test_iti39_limits(void **state)
{
	struct reg_doc_ref twice[2] = {
		{ HOME, "1.2.3.4.1", "2.25.299418744817305917185341891893493520418^HB-DS-0002" },
		{ HOME, "1.2.3.4.1", "2.25.299418744817305917185341891893493520418^HB-DS-0002" },
	};
	struct soap_msg    m;
	struct xca_outcome out;
	char              *req;
	size_t             len, n = 0;

	(void) state;
	/* The same document asked twice is returned once. */
	req = retrieve_request(twice, 2, &len);
	ask(req, len, &m, &out);
	for (xmlNode *d = hie_xml_child(m.body, REG_NS_XDSB, "DocumentResponse"); d;
	     d = hie_xml_next(d, REG_NS_XDSB, "DocumentResponse"))
		n++;
	assert_int_equal(n, 1);
	soap_msg_free(&m);
	/* A response may not grow past the message limit. */
	resp.lim.max_bytes = len + 1000;
	ask(req, len, &m, &out);
	resp.lim = hie_xml_default_limits;
	assert_null(hie_xml_child(m.body, REG_NS_XDSB, "DocumentResponse"));
	assert_string_equal(hie_xml_attr(hie_xml_find(m.body, REG_NS_RS, "RegistryError"), "errorCode"), "XDSRepositoryError");
	soap_msg_free(&m);
	free(req);
}

static void
test_iti39_bad_requests(void **state)
{
	struct reg_doc_ref *many = calloc(REG_MAX_RETRIEVE + 1, sizeof(*many));
	struct soap_msg     m;
	struct xca_outcome  out;
	char               *req;
	size_t              len;

	(void) state;
	for (int i = 0; i <= REG_MAX_RETRIEVE; i++) {
		strcpy(many[i].repository_id, "1.2.3.4.1");
		snprintf(many[i].unique_id, sizeof(many[i].unique_id), "2.25.%d", i);
	}
	req = retrieve_request(many, REG_MAX_RETRIEVE + 1, &len);
	ask(req, len, &m, &out);
	assert_true(m.is_fault);
	assert_non_null(strstr(out.detail, "more than"));
	soap_msg_free(&m);
	free(req);
	req = retrieve_request(many, 0, &len);
	ask(req, len, &m, &out);
	assert_true(m.is_fault);
	assert_non_null(strstr(out.detail, "no DocumentRequest"));
	soap_msg_free(&m);
	free(req);
	free(many);
}

static void
test_hostile(void **state)
{
	static const char *bad[] = {
		"",
		"garbage \x01\x02",
		"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
		"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body><x/></s:Body></s:Envelope>",
	};
	struct soap_msg    m;
	struct xca_outcome out;

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ask(bad[i], strlen(bad[i]), &m, &out);
		assert_true(m.is_fault);
		assert_string_equal(out.status, "fault");
		soap_msg_free(&m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iti38),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_iti39),
		cmocka_unit_test(test_iti39_limits),
		cmocka_unit_test(test_iti39_bad_requests),
		cmocka_unit_test(test_hostile),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
