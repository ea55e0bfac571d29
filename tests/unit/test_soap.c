/* tests/unit/test_soap.c -- envelopes: what we build we read; the rest is refused. */
#include <stdlib.h>
#include <string.h>

#include "node/soap.h"
#include "testutil.h"

#define ENV "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope' " \
            "xmlns:a='http://www.w3.org/2005/08/addressing'>"

static void
test_roundtrip(void **state)
{
	xmlDoc         *doc;
	xmlNode        *body;
	char            id[46], *out;
	size_t          len;
	struct soap_msg m;

	(void) state;
	assert_int_equal(soap_envelope_new(SOAP_ACTION_ITI38, "tls+tcp://x:1", NULL, &doc, &body, id), HIE_OK);
	xmlNewChild(body, NULL, BAD_CAST "Payload", NULL);
	assert_int_equal(hie_xml_dump(doc, &out, &len), HIE_OK);
	xmlFreeDoc(doc);
	assert_int_equal(soap_parse(out, len, NULL, &m), HIE_OK);
	assert_string_equal(m.action, SOAP_ACTION_ITI38);
	assert_string_equal(m.message_id, id);
	assert_null(m.relates_to);
	assert_string_equal((const char *) m.body->name, "Payload");
	assert_false(m.is_fault);
	soap_msg_free(&m);
	free(out);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *name, *xml;
		hie_err     want;
	} cases[] = {
		{ "soap 1.1", "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Header/><s:Body><x/></s:Body></s:Envelope>", HIE_ESOAP },
		{ "no action", ENV "<s:Header/><s:Body><x/></s:Body></s:Envelope>", HIE_ESOAP },
		{ "two actions", ENV "<s:Header><a:Action>x</a:Action><a:Action>y</a:Action></s:Header><s:Body><x/></s:Body></s:Envelope>", HIE_ESOAP },
		{ "two bodies", ENV "<s:Header><a:Action>x</a:Action></s:Header><s:Body><x/></s:Body><s:Body><y/></s:Body></s:Envelope>", HIE_ESOAP },
		{ "two body children", ENV "<s:Header><a:Action>x</a:Action></s:Header><s:Body><x/><y/></s:Body></s:Envelope>", HIE_ESOAP },
		{ "empty body", ENV "<s:Header><a:Action>x</a:Action></s:Header><s:Body/></s:Envelope>", HIE_ESOAP },
		{ "element in action", ENV "<s:Header><a:Action>x<b/></a:Action></s:Header><s:Body><x/></s:Body></s:Envelope>", HIE_ESOAP },
		{ "dtd", "<!DOCTYPE s:Envelope [<!ENTITY x 'y'>]>" ENV "<s:Header><a:Action>x</a:Action></s:Header><s:Body><x/></s:Body></s:Envelope>", HIE_EXMLHOSTILE },
		{ "ok", ENV "<s:Header><a:Action>x</a:Action></s:Header><s:Body><x/></s:Body></s:Envelope>", HIE_OK },
	};
	struct soap_msg m;

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hie_err e = soap_parse(cases[i].xml, strlen(cases[i].xml), NULL, &m);
		if (e != cases[i].want)
			fail_msg("case '%s': got %s", cases[i].name, hie_errname(e));
		soap_msg_free(&m);
	}
}

static void
test_fault(void **state)
{
	char           *out, reason[128], sub[64];
	size_t          len;
	struct soap_msg m;

	(void) state;
	assert_int_equal(soap_fault("Sender", "wsse:InvalidSecurity", "signature missing", "urn:uuid:1", &out, &len), HIE_OK);
	assert_int_equal(soap_parse(out, len, NULL, &m), HIE_OK);
	assert_true(m.is_fault);
	assert_string_equal(m.relates_to, "urn:uuid:1");
	soap_fault_reason(&m, reason, sizeof(reason), sub, sizeof(sub));
	assert_string_equal(reason, "signature missing");
	assert_string_equal(sub, "wsse:InvalidSecurity");
	soap_msg_free(&m);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_fault),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
