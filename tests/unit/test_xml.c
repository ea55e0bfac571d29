/* tests/unit/test_xml.c -- the hardened parser refuses what attackers send. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/xml.h"
#include "testutil.h"

static const struct {
	const char *name;
	const char *xml;
	hie_err     want;
} cases[] = {
	{ "plain", "<a><b x='1'>t</b></a>", HIE_OK },
	{ "namespaced", "<s:Envelope xmlns:s='urn:x'><s:Body/></s:Envelope>", HIE_OK },
	{ "not well-formed", "<a><b></a>", HIE_EXML },
	{ "empty", "", HIE_EXML },
	{ "garbage", "\x01\x02\xff\xfe garbage", HIE_EXML },
	{ "xxe file", "<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>",
	    HIE_EXMLHOSTILE },
	{ "xxe network", "<!DOCTYPE a SYSTEM 'http://127.0.0.1:1/evil.dtd'><a/>", HIE_EXMLHOSTILE },
	{ "billion laughs",
	    "<!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
	    "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>]><l>&c;</l>",
	    HIE_EXMLHOSTILE },
	{ "parameter entity", "<!DOCTYPE a [<!ENTITY % p SYSTEM 'http://x/'> %p;]><a/>", HIE_EXMLHOSTILE },
	{ "undeclared entity", "<a>&nope;</a>", HIE_EXML },
	{ "unbound prefix", "<a><x:b/></a>", HIE_EXML },
};

static void
test_cases(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xmlDoc *doc = NULL;
		hie_err e = hie_xml_parse(cases[i].xml, strlen(cases[i].xml), NULL, &doc);
		if (e != cases[i].want)
			fail_msg("case '%s': got %s, want %s", cases[i].name, hie_errname(e), hie_errname(cases[i].want));
		assert_true((e == HIE_OK) == (doc != NULL));
		xmlFreeDoc(doc);
	}
}

static char *
nested(int depth)
{
	char *s = malloc((size_t) depth * 7 + 1), *p = s;
	for (int i = 0; i < depth; i++)
		p += sprintf(p, "<a>");
	for (int i = 0; i < depth; i++)
		p += sprintf(p, "</a>");
	return s;
}

static void
test_depth(void **state)
{
	struct hie_xml_limits lim = hie_xml_default_limits;
	xmlDoc               *doc;
	char                 *ok = nested(lim.max_depth), *deep = nested(lim.max_depth + 1), *huge = nested(10000);

	(void) state;
	assert_int_equal(hie_xml_parse(ok, strlen(ok), &lim, &doc), HIE_OK);
	xmlFreeDoc(doc);
	assert_int_equal(hie_xml_parse(deep, strlen(deep), &lim, &doc), HIE_EXMLHOSTILE);
	assert_int_equal(hie_xml_parse(huge, strlen(huge), &lim, &doc), HIE_EXMLHOSTILE);
	free(ok);
	free(deep);
	free(huge);
}

static void
test_size_attrs_names(void **state)
{
	struct hie_xml_limits lim = hie_xml_default_limits;
	char                  buf[8192];
	xmlDoc               *doc;
	int                   n;

	(void) state;
	lim.max_bytes = 10;
	assert_int_equal(hie_xml_parse("<a>0123456789</a>", 17, &lim, &doc), HIE_ETOOBIG);
	lim = hie_xml_default_limits;
	n = sprintf(buf, "<a");
	for (int i = 0; i <= lim.max_attrs; i++)
		n += sprintf(buf + n, " a%d='x'", i);
	sprintf(buf + n, "/>");
	assert_int_equal(hie_xml_parse(buf, strlen(buf), &lim, &doc), HIE_EXMLHOSTILE);
	memset(buf, 'n', 400);
	buf[0] = '<';
	strcpy(buf + 400, "/>");
	assert_int_equal(hie_xml_parse(buf, strlen(buf), &lim, &doc), HIE_EXMLHOSTILE);
}

static void
test_helpers(void **state)
{
	const char *x = "<r xmlns='urn:a' xmlns:b='urn:b'><b:k v='1'/><k v='2'> text </k><k v='3'/></r>";
	xmlDoc     *doc;
	xmlNode    *root, *k;
	char        t[16];

	(void) state;
	assert_int_equal(hie_xml_parse(x, strlen(x), NULL, &doc), HIE_OK);
	root = xmlDocGetRootElement(doc);
	k = hie_xml_child(root, "urn:a", "k");
	assert_string_equal(hie_xml_attr(k, "v"), "2");
	assert_int_equal(hie_xml_text(k, t, sizeof(t)), HIE_OK);
	assert_string_equal(t, "text");
	assert_string_equal(hie_xml_attr(hie_xml_next(k, "urn:a", "k"), "v"), "3");
	assert_string_equal(hie_xml_attr(hie_xml_find(root, "urn:b", "k"), "v"), "1");
	assert_null(hie_xml_child(root, "urn:c", "k"));
	xmlFreeDoc(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_size_attrs_names),
		cmocka_unit_test(test_helpers),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
