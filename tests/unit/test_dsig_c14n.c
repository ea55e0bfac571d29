/*
 * tests/unit/test_dsig_c14n.c -- dsig's direct exclusive C14N of a "#id"
 * subtree gives exactly libxml2's (xmlC14NExecute) bytes, for every element
 * of documents chosen for the rules that differ between the two kinds of
 * code: namespaces declared far above, redeclared, undeclared (xmlns=""),
 * used only by an attribute, unused; attribute order by namespace URI;
 * escaping of text and attribute values; CDATA, PIs and comments; an
 * enveloped signature left out; many attributes out of order.  Also a
 * real signed ITI-38 request (from wss_sign, re-parsed), element by
 * element, and each ds:Signature's enveloping element without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/cert.h"
#include "node/dsig.h"
#include "node/wss.h"
#include "node/xml.h"
#include "registry/registry.h"
#include "testutil.h"

static const char *const docs[] = {
	/* namespaces from far above, used by attributes only, redeclared */
	"<r xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns:u=\"urn:unused\">"
	"<a:x b:z=\"1\" a:y=\"2\" c=\"3\" b=\"4\"><y xmlns:a=\"urn:a2\" a:q=\"5\"><a:w/></y></a:x>"
	"<b:v xmlns=\"\"><n/><m xmlns=\"urn:d\"><k/></m></b:v></r>",
	/* escaping: text, attribute values, character references, CDATA */
	"<e a=\"&lt;&amp;&gt;&quot;'&#9;&#10;&#13;x\">t&lt;&amp;&gt;\"'&#13;&#9;<![CDATA[<c&d>]]>"
	"<!-- gone --><?pi data here?><?empty?>end</e>",
	/* attribute order: no namespace first, then by URI, then local name */
	"<p:e xmlns:p=\"urn:z\" xmlns:q=\"urn:a\" xmlns:r=\"urn:m\" r:b=\"1\" q:c=\"2\" p:a=\"3\" z=\"4\" a=\"5\" "
	"xml:lang=\"en\"><q:f p:g=\"6\" xml:space=\"preserve\"> s </q:f></p:e>",
	/* the same prefix for different namespaces at different depths */
	"<s:a xmlns:s=\"urn:1\"><s:b xmlns:s=\"urn:2\"><s:c xmlns:s=\"urn:1\"><s:d/></s:c></s:b></s:a>",
	/* default namespace undone and redone below an unprefixed parent */
	"<a xmlns=\"urn:x\"><b xmlns=\"\"><c xmlns=\"urn:x\"><d xmlns=\"urn:y\"/></c></b></a>",
	/* an enveloped signature (left out of its parent's digest) */
	"<s:A xmlns:s=\"urn:saml\" ID=\"_1\"><s:I>me</s:I><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
	"<ds:SignedInfo>x</ds:SignedInfo></ds:Signature><s:S xmlns:hl7=\"urn:hl7-org:v3\"><hl7:R code=\"1\"/></s:S></s:A>",
	/* many attributes and namespaces out of order: dsig sorts up to 16 of
	 * each by insertion, more with qsort */
	"<m xmlns:z=\"urn:9\" xmlns:y=\"urn:8\" xmlns:x=\"urn:7\" xmlns:w=\"urn:6\" xmlns:v=\"urn:5\">"
	"<z:e k=\"1\" j=\"2\" y:i=\"3\" h=\"4\" x:g=\"5\" f=\"6\" w:e=\"7\" d=\"8\" v:c=\"9\" b=\"10\" z:a=\"11\"/>"
	"<y:e a17=\"q\" a16=\"p\" a15=\"o\" z:a14=\"n\" a13=\"m\" y:a12=\"l\" a11=\"k\" x:a10=\"j\" a09=\"i\" "
	"w:a08=\"h\" a07=\"g\" v:a06=\"f\" a05=\"e\" z:a04=\"d\" a03=\"c\" y:a02=\"b\" a01=\"a\" x:a00=\"-\" a18=\"r\"/></m>",
	/* non-ASCII text, whitespace-only text between elements */
	"<u xmlns=\"urn:u\">\n  <v>caf\xc3\xa9 \xe2\x82\xac</v>\n  <w a=\"\xc3\xa9\"/>\n</u>",
};

static int ncompared;

static xmlNode *
enclosing_signature(xmlNode *e)
{
	for (xmlNode *c = e->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && c->ns != NULL && strcmp((const char *) c->ns->href, DSIG_NS) == 0 &&
		    strcmp((const char *) c->name, "Signature") == 0)
			return c;
	return NULL;
}

static void
compare(xmlNode *e, xmlNode *exclude)
{
	char  *fast, *general;
	size_t nf, ng;

	assert_int_equal(dsig_c14n(e, exclude, 0, &fast, &nf), HIE_OK);
	assert_int_equal(dsig_c14n(e, exclude, 1, &general, &ng), HIE_OK);
	if (nf != ng || memcmp(fast, general, nf) != 0)
		fail_msg("C14N of <%s>%s differs:\n direct:  %s\n libxml2: %s", (const char *) e->name,
		    exclude != NULL ? " (enveloped)" : "", fast, general);
	free(fast);
	free(general);
	ncompared++;
}

static void
compare_all(xmlNode *e)
{
	for (; e != NULL; e = e->next) {
		xmlNode *sig;
		if (e->type != XML_ELEMENT_NODE)
			continue;
		compare(e, NULL);
		if ((sig = enclosing_signature(e)) != NULL)
			compare(e, sig);
		compare_all(e->children);
	}
}

static void
test_documents(void **state)
{
	(void) state;
	ncompared = 0;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		xmlDoc *doc;
		assert_int_equal(hie_xml_parse(docs[i], strlen(docs[i]), NULL, &doc), HIE_OK);
		compare_all(xmlDocGetRootElement(doc));
		xmlFreeDoc(doc);
	}
	print_message("  %d subtrees compared\n", ncompared);
	assert_int_equal(ncompared, 32);
}

/* Known output for one case, so that both agreeing on a wrong answer
 * would still fail (W3C exc-c14n: only visibly used namespaces). */
static void
test_known_answer(void **state)
{
	xmlDoc  *doc;
	char    *out;
	size_t   n;
	xmlNode *x;

	(void) state;
	assert_int_equal(hie_xml_parse(docs[0], strlen(docs[0]), NULL, &doc), HIE_OK);
	x = xmlDocGetRootElement(doc)->children;
	assert_int_equal(dsig_c14n(x, NULL, 0, &out, &n), HIE_OK);
	assert_string_equal(out, "<a:x xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" b=\"4\" c=\"3\" a:y=\"2\" b:z=\"1\">"
	                         "<y xmlns=\"urn:d\" xmlns:a=\"urn:a2\" a:q=\"5\"><a:w></a:w></y></a:x>");
	free(out);
	xmlFreeDoc(doc);
}

/* A signed request as the node sends it, re-parsed as a peer gets it. */
static void
test_signed_envelope(void **state)
{
	char                dir[256], p[600], q[600], *xml;
	size_t              len;
	wss_signer         *s;
	xmlDoc             *doc, *parsed;
	xmlNode            *body;
	struct reg_query    rq;
	struct wss_claims   c = { "Dr. C14N", "112247003", "org", "urn:oid:1.2.3.1", "urn:oid:1.2.3.1", "TREATMENT" };

	(void) state;
	tu_tmpdir(dir);
	snprintf(p, sizeof(p), "%s/ca", dir);
	assert_int_equal(cert_ca_init(p, "test CA", 2), HIE_OK);
	snprintf(q, sizeof(q), "%s/a", dir);
	assert_int_equal(cert_issue(p, "node-a", "urn:oid:1.2.3.1", 1, q), HIE_OK);
	s = tu_signer(q);
	memset(&rq, 0, sizeof(rq));
	strcpy(rq.patient_id, "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO");
	assert_int_equal(soap_envelope_new(SOAP_ACTION_ITI38, "tls+tcp://x:1", NULL, &doc, &body, NULL), HIE_OK);
	assert_int_equal(reg_ebrim_query_build(body, &rq, "urn:oid:1.2.3.1"), HIE_OK);
	assert_int_equal(wss_sign(s, doc, &c, "urn:oid:1.2.3.2", 300), HIE_OK);
	ncompared = 0;
	compare_all(xmlDocGetRootElement(doc)); /* as built in memory */
	assert_int_equal(hie_xml_dump(doc, &xml, &len), HIE_OK);
	assert_int_equal(hie_xml_parse(xml, len, NULL, &parsed), HIE_OK);
	compare_all(xmlDocGetRootElement(parsed));
	print_message("  %d subtrees of a signed ITI-38 request compared\n", ncompared);
	free(xml);
	xmlFreeDoc(parsed);
	xmlFreeDoc(doc);
	wss_signer_free(s);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documents),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_signed_envelope),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
