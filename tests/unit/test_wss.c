/*
 * tests/unit/test_wss.c -- signed SOAP: what we sign verifies, and each way
 * attackers bend a signed message is refused with its own reason.
 * Certificates come from the project's own CA code; the replay cache is a
 * real LMDB in a temp dir.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "certs/cert.h"
#include "node/dsig.h"
#include "node/wss.h"
#include "registry/registry.h"
#include "testutil.h"

#define A "urn:oid:1.2.3.1"
#define B "urn:oid:1.2.3.2"
#define PID "DEMO-1001^^^&amp;1.3.6.1.4.1.21367.13.20.3000&amp;ISO"

static char          dir[256];
static wss_signer   *signer_a, *signer_rogue, *signer_revoked;
static wss_verifier *verifier_b, *verifier_b_crl;
static hie_replay   *replay;
static char         *ca_pem, *crl_pem;

static char *
file(const char *sub, const char *name)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	return tu_slurp(path, NULL);
}

static wss_signer *
signer(const char *sub)
{
	char d[600];
	snprintf(d, sizeof(d), "%s/%s", dir, sub);
	return tu_signer(d);
}

/* A verifier for community B trusting the test CA, with replay cache rp
 * (may be NULL) and CRL crl (may be NULL). */
static wss_verifier *
verifier_for(hie_replay *rp, const char *crl)
{
	struct wss_verifier_cfg vc;
	wss_verifier           *v;

	memset(&vc, 0, sizeof(vc));
	vc.ca_pem = ca_pem;
	vc.crl_pem = crl;
	vc.community = B;
	vc.clock_skew_s = 120;
	vc.max_ttl_s = 600;
	vc.replay = rp;
	assert_int_equal(wss_verifier_new(&vc, &v), HIE_OK);
	return v;
}

static int
setup(void **state)
{
	char p[600], q[600];

	(void) state;
	tu_tmpdir(dir);
	snprintf(p, sizeof(p), "%s/ca", dir);
	assert_int_equal(cert_ca_init(p, "test CA", 2), HIE_OK);
	snprintf(q, sizeof(q), "%s/a", dir);
	assert_int_equal(cert_issue(p, "node-a", A, 1, q), HIE_OK);
	snprintf(q, sizeof(q), "%s/revoked", dir);
	assert_int_equal(cert_issue(p, "node-r", A, 1, q), HIE_OK);
	snprintf(q, sizeof(q), "%s/revoked/node.crt", dir);
	assert_int_equal(cert_revoke(p, q), HIE_OK);
	assert_int_equal(cert_crl_write(p, 1, NULL), HIE_OK);
	snprintf(p, sizeof(p), "%s/rogueca", dir);
	assert_int_equal(cert_ca_init(p, "rogue CA", 2), HIE_OK);
	snprintf(q, sizeof(q), "%s/rogue", dir);
	assert_int_equal(cert_issue(p, "node-a", A, 1, q), HIE_OK);
	signer_a = signer("a");
	signer_rogue = signer("rogue");
	signer_revoked = signer("revoked");
	ca_pem = file("ca", "ca.crt");
	crl_pem = file("ca", "crl.pem");
	snprintf(p, sizeof(p), "%s/replay", dir);
	assert_int_equal(hie_replay_open(p, 1000, &replay), HIE_OK);
	verifier_b = verifier_for(replay, NULL);
	verifier_b_crl = verifier_for(replay, crl_pem);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	wss_signer_free(signer_a);
	wss_signer_free(signer_rogue);
	wss_signer_free(signer_revoked);
	wss_verifier_free(verifier_b);
	wss_verifier_free(verifier_b_crl);
	hie_replay_close(replay);
	free(ca_pem);
	free(crl_pem);
	tu_rmtree(dir);
	return 0;
}

static const struct wss_claims claims_a = {
	.subject_id = "Dr. Anna Lee",
	.subject_role = "112247003",
	.organization = "Clinic A",
	.organization_id = A,
	.home_community = A,
	.purpose_of_use = "TREATMENT",
};

/* A signed ITI-38 request from s, as the node sends it. */
static char *
signed_request(const wss_signer *s, const struct wss_claims *c, const char *audience, int ttl)
{
	xmlDoc          *doc;
	xmlNode         *body;
	struct reg_query q;
	char            *out;
	size_t           len;

	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO");
	q.approved_only = 1;
	assert_int_equal(soap_envelope_new(SOAP_ACTION_ITI38, "tls+tcp://127.0.0.1:1", NULL, &doc, &body, NULL), HIE_OK);
	assert_int_equal(reg_ebrim_query_build(body, &q, B), HIE_OK);
	if (s != NULL)
		assert_int_equal(wss_sign_text(s, doc, c, audience, ttl, &out, &len), HIE_OK);
	else
		assert_int_equal(hie_xml_dump(doc, &out, &len), HIE_OK);
	xmlFreeDoc(doc);
	return out;
}

static hie_err
verify(wss_verifier *v, const char *xml, const char *expected, struct wss_identity *who, char *why)
{
	struct soap_msg m;
	hie_err         e;

	e = soap_parse(xml, strlen(xml), NULL, &m);
	if (e != HIE_OK) {
		snprintf(why, 256, "soap_parse: %s", hie_strerror(e));
		return e;
	}
	e = wss_verify(v, &m, 1, expected, who, why, 256);
	soap_msg_free(&m);
	return e;
}

/* Replaces the first occurrence of from by to (caller frees). */
static char *
replace(const char *s, const char *from, const char *to)
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
test_roundtrip(void **state)
{
	struct wss_identity who;
	char                why[256], *xml = signed_request(signer_a, &claims_a, B, 300);

	(void) state;
	assert_int_equal(verify(verifier_b, xml, NULL, &who, why), HIE_OK);
	assert_string_equal(who.community, A);
	assert_true(who.has_claims);
	assert_string_equal(who.claims.subject_id, "Dr. Anna Lee");
	assert_string_equal(who.claims.purpose_of_use, "TREATMENT");
	assert_string_equal(who.claims.subject_role, "112247003");
	assert_string_equal(who.claims.home_community, A);
	/* The same bytes again: a replay. */
	assert_int_equal(verify(verifier_b, xml, NULL, &who, why), HIE_EREPLAY);
	free(xml);
}

/* Each case: how to bend a freshly signed request, and the refusal. */
static char *
bend_unsigned(void)
{
	return signed_request(NULL, NULL, NULL, 0);
}

static char *
bend_tamper_body(void)
{
	char *x = signed_request(signer_a, &claims_a, B, 300), *y = replace(x, "DEMO-1001", "DEMO-6666");
	free(x);
	return y;
}

/* Wrapping: the signed Body moves into a header; a new, unsigned Body
 * with another patient takes its place. */
static char *
bend_wrap_body(void)
{
	char       *x = signed_request(signer_a, &claims_a, B, 300);
	const char *b0 = strstr(x, "<s:Body"), *b1 = strstr(x, "</s:Body>") + 9;
	char       *signed_body = strndup(b0, (size_t) (b1 - b0));
	char       *evil_body = replace(signed_body, "DEMO-1001", "DEMO-6666");
	char       *evil2, *wrap, *out;
	/* Drop the evil Body's wsu:Id so ids stay unique. */
	char *id0 = strstr(evil_body, " wsu:Id=\""), *id1 = strchr(id0 + 9, '"') + 1;
	memmove(id0, id1, strlen(id1) + 1);
	evil2 = malloc(strlen(x) + strlen(signed_body) + 64);
	snprintf(evil2, strlen(x) + strlen(signed_body) + 64, "%.*s%s%s", (int) (b0 - x), x, evil_body, b1);
	wrap = malloc(strlen(signed_body) + 64);
	sprintf(wrap, "<w:Wrap xmlns:w=\"urn:x\">%s</w:Wrap></s:Header>", signed_body);
	out = replace(evil2, "</s:Header>", wrap);
	free(x);
	free(signed_body);
	free(evil_body);
	free(evil2);
	free(wrap);
	return out;
}

/* Wrapping with a duplicate id: a second element claims the Body's id. */
static char *
bend_duplicate_id(void)
{
	char       *x = signed_request(signer_a, &claims_a, B, 300);
	const char *id = strstr(strstr(x, "<s:Body"), "wsu:Id=\"");
	char        attr[200], wrap[400], *out;

	snprintf(attr, sizeof(attr), "%.*s", (int) (strchr(id + 8, '"') + 1 - id), id);
	snprintf(wrap, sizeof(wrap), "<w:Wrap xmlns:w=\"urn:x\" %s/></s:Header>", attr);
	out = replace(x, "</s:Header>", wrap);
	free(x);
	return out;
}

static char *
bend_assertion(void)
{
	char *x = signed_request(signer_a, &claims_a, B, 300), *y = replace(x, "Dr. Anna Lee", "Dr. Mallory");
	free(x);
	return y;
}

static char *
bend_second_security(void)
{
	char *x = signed_request(signer_a, &claims_a, B, 300);
	char *y = replace(x, "</s:Header>",
	    "<wsse:Security xmlns:wsse=\"" WSS_NS_SEC "\"/></s:Header>");
	free(x);
	return y;
}

static char *
bend_sha1(void)
{
	char *x = signed_request(signer_a, &claims_a, B, 300);
	char *y = replace(x, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1");
	free(x);
	return y;
}

static char *
bend_expired(void)
{
	return signed_request(signer_a, &claims_a, B, -300);
}

static char *
bend_long_lived(void)
{
	return signed_request(signer_a, &claims_a, B, 86400);
}

static char *
bend_audience(void)
{
	return signed_request(signer_a, &claims_a, "urn:oid:1.2.3.9", 300);
}

static char *
bend_rogue(void)
{
	return signed_request(signer_rogue, &claims_a, B, 300);
}

static char *
bend_claims_other_community(void)
{
	struct wss_claims c = claims_a;
	strcpy(c.home_community, "urn:oid:6.6.6");
	return signed_request(signer_a, &c, B, 300);
}

static char *
bend_no_assertion(void)
{
	return signed_request(signer_a, NULL, B, 300);
}

static void
test_attacks(void **state)
{
	static const struct {
		const char *name;
		char *(*make)(void);
		hie_err     want;
		const char *why;
	} cases[] = {
		{ "unsigned", bend_unsigned, HIE_EUNSIGNED, "not signed" },
		{ "body text changed", bend_tamper_body, HIE_ESIG, "does not verify" },
		{ "signed body moved, new body", bend_wrap_body, HIE_ESIG, "Body is not covered" },
		{ "duplicate id", bend_duplicate_id, HIE_ESIG, "appears twice" },
		{ "assertion changed", bend_assertion, HIE_ESIG, "" },
		{ "second Security header", bend_second_security, HIE_ESIG, "more than one" },
		{ "SHA-1 signature method", bend_sha1, HIE_ESIG, "" },
		{ "expired", bend_expired, HIE_EEXPIRED, "timestamp" },
		{ "a day-long timestamp", bend_long_lived, HIE_EEXPIRED, "too long-lived" },
		{ "wrong audience", bend_audience, HIE_EAUDIENCE, "audience" },
		{ "rogue CA", bend_rogue, HIE_ECERT, "not trusted" },
		{ "claims another community", bend_claims_other_community, HIE_ECERT, "claims community" },
		{ "no assertion", bend_no_assertion, HIE_EUNSIGNED, "assertion is required" },
	};
	struct wss_identity who;
	char                why[256];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char   *xml = cases[i].make();
		hie_err e = verify(verifier_b, xml, NULL, &who, why);
		print_message("  %-28s -> %s: %s\n", cases[i].name, hie_errname(e), why);
		if (e != cases[i].want || strstr(why, cases[i].why) == NULL)
			fail_msg("case '%s': got %s (%s)", cases[i].name, hie_errname(e), why);
		free(xml);
	}
}

static void
test_revoked_and_expected(void **state)
{
	struct wss_identity who;
	char                why[256], *xml;

	(void) state;
	xml = signed_request(signer_revoked, &claims_a, B, 300);
	assert_int_equal(verify(verifier_b_crl, xml, NULL, &who, why), HIE_ECERT);
	assert_non_null(strstr(why, "revoked"));
	free(xml);
	xml = signed_request(signer_a, &claims_a, B, 300);
	assert_int_equal(verify(verifier_b, xml, "urn:oid:9.9.9", &who, why), HIE_ECERT);
	assert_non_null(strstr(why, "expected urn:oid:9.9.9"));
	free(xml);
}

/* A comment inside signed text changes nothing: exclusive C14N drops it,
 * and readers join text nodes, so what is read is what was signed. */
static void
test_comment_injection(void **state)
{
	struct wss_identity who;
	struct soap_msg     m;
	struct reg_query    q;
	char                why[256], *xml = signed_request(signer_a, &claims_a, B, 300);
	char               *bent = replace(xml, "DEMO-1001", "DEMO-<!-- x -->1001");

	(void) state;
	assert_int_equal(soap_parse(bent, strlen(bent), NULL, &m), HIE_OK);
	assert_int_equal(wss_verify(verifier_b, &m, 1, NULL, &who, why, sizeof(why)), HIE_OK);
	assert_int_equal(reg_ebrim_query_parse(m.body, &q, why, sizeof(why)), HIE_OK);
	assert_string_equal(q.patient_id, "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO");
	soap_msg_free(&m);
	free(xml);
	free(bent);
}

/* The signer writes the signed parts as text (node/wss_sign.c), not
 * through libxml2: every DigestValue of both signatures must be the
 * SHA-256 of libxml2's own exclusive C14N of the referenced element in the
 * parsed message (minus the enveloped signature for the assertion's) --
 * an independent check of what our verifier and xmlsec1 also compute. */
static void
test_digests_independent(void **state)
{
	char           *xml = signed_request(signer_a, &claims_a, B, 300), why[128];
	struct soap_msg m;
	xmlNode        *root;
	int             checked = 0;

	(void) state;
	assert_int_equal(soap_parse(xml, strlen(xml), NULL, &m), HIE_OK);
	root = xmlDocGetRootElement(m.doc);
	assert_int_equal(dsig_register_ids(m.doc, why, sizeof(why)), HIE_OK);
	xmlNode *sec = hie_xml_find(root, WSS_NS_SEC, "Security");
	xmlNode *sigs[2] = { hie_xml_child(hie_xml_child(sec, SAML_NS, "Assertion"), DSIG_NS, "Signature"),
		hie_xml_child(sec, DSIG_NS, "Signature") };
	for (int i = 0; i < 2; i++) {
		xmlNode *si = hie_xml_child(sigs[i], DSIG_NS, "SignedInfo");
		assert_non_null(si);
		for (xmlNode *ref = hie_xml_child(si, DSIG_NS, "Reference"); ref != NULL;
		     ref = hie_xml_next(ref, DSIG_NS, "Reference")) {
			const char   *uri = hie_xml_attr(ref, "URI");
			xmlAttr      *id = xmlGetID(m.doc, BAD_CAST uri + 1);
			const char   *first = hie_xml_attr(hie_xml_find(ref, DSIG_NS, "Transform"), "Algorithm");
			int           enveloped = first != NULL && strcmp(first, DSIG_ALG_ENVELOPED) == 0;
			char          want[64], *c14n, b64[64];
			size_t        len;
			unsigned char md[32];
			assert_non_null(id);
			assert_int_equal(dsig_c14n(id->parent, enveloped ? sigs[i] : NULL, 1, &c14n, &len), HIE_OK);
			SHA256((unsigned char *) c14n, len, md);
			EVP_EncodeBlock((unsigned char *) b64, md, 32);
			assert_int_equal(hie_xml_text(hie_xml_child(ref, DSIG_NS, "DigestValue"), want, sizeof(want)), HIE_OK);
			if (strcmp(b64, want) != 0)
				fail_msg("%s: DigestValue %s, libxml2's C14N gives %s:\n%s", uri, want, b64, c14n);
			free(c14n);
			checked++;
		}
	}
	assert_int_equal(checked, 7); /* the assertion's own; timestamp, assertion, 3 wsa headers, Body */
	soap_msg_free(&m);
	free(xml);
}

/* Claims are text the clinician's side chooses: whatever XML must escape
 * arrives as it was sent; what XML cannot carry is refused at signing. */
static void
test_claims_text(void **state)
{
	static const char *const names[] = {
		"Dr. O'Brien & <S\xc3\xb6hne> \"quoted\"",
		"tab\there, line\nbreak, cr\rreturn",
		"\xe6\x9d\x8e\xe5\x8c\xbb\xe7\x94\x9f ]]> >",
	};
	static const char *const refused[] = { "bell\x07", "bad utf-8 \xc3(", "\x1b[31m" };
	struct wss_identity who;
	char                why[256], *xml;
	xmlDoc             *doc;
	xmlNode            *body;
	size_t              len;

	(void) state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct wss_claims c = claims_a;
		strcpy(c.subject_id, names[i]);
		strcpy(c.organization, names[i]);
		xml = signed_request(signer_a, &c, B, 300);
		if (verify(verifier_b, xml, NULL, &who, why) != HIE_OK)
			fail_msg("%s: %s", names[i], why);
		/* hie_xml_text trims the ends; the names have none to trim. */
		assert_string_equal(who.claims.subject_id, names[i]);
		assert_string_equal(who.claims.organization, names[i]);
		free(xml);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct wss_claims c = claims_a;
		strcpy(c.subject_id, refused[i]);
		assert_int_equal(soap_envelope_new(SOAP_ACTION_ITI38, "tls+tcp://127.0.0.1:1", NULL, &doc, &body, NULL), HIE_OK);
		assert_int_equal(wss_sign_text(signer_a, doc, &c, B, 300, &xml, &len), HIE_EINVAL);
		assert_null(xml);
		xmlFreeDoc(doc);
	}
}

/* hie-node soap sign takes envelopes written elsewhere: SOAP in the
 * default namespace, pretty-printed, a comment between headers.  They
 * are signed as they are and verify; a header block in no namespace under
 * a default one cannot be written canonically there, and is refused. */
static void
test_foreign_envelope(void **state)
{
	static const char env[] =
	    "<Envelope xmlns=\"" SOAP_NS_ENV "\" xmlns:wsa=\"" SOAP_NS_WSA "\">\n"
	    "  <Header>\n    <wsa:Action>urn:ihe:iti:2007:CrossGatewayQuery</wsa:Action>\n    <!-- hop -->\n"
	    "    <wsa:MessageID>urn:uuid:0f4b7d3e-8d55-4bb7-9d0c-3c1f9f0e2a11</wsa:MessageID>\n%s  </Header>\n"
	    "  <Body>\n    <q:AdhocQueryRequest xmlns:q=\"urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0\">"
	    "<q:ResponseOption returnType=\"LeafClass\"/></q:AdhocQueryRequest>\n  </Body>\n</Envelope>\n";
	static const char *const extra[] = { "", "    <Plain xmlns=\"\">x</Plain>\n" };
	struct wss_identity who;
	struct soap_msg     m;
	char                in[2048], why[256], *xml;
	size_t              len;

	(void) state;
	for (size_t i = 0; i < 2; i++) {
		snprintf(in, sizeof(in), env, extra[i]);
		assert_int_equal(soap_parse(in, strlen(in), NULL, &m), HIE_OK);
		if (i == 1) {
			assert_int_equal(wss_sign_text(signer_a, m.doc, &claims_a, B, 300, &xml, &len), HIE_ESOAP);
			soap_msg_free(&m);
			continue;
		}
		assert_int_equal(wss_sign_text(signer_a, m.doc, &claims_a, B, 300, &xml, &len), HIE_OK);
		soap_msg_free(&m);
		if (verify(verifier_b, xml, NULL, &who, why) != HIE_OK)
			fail_msg("%s\n%s", why, xml);
		free(xml);
	}
}

/* ECDSA values go between XML-DSig's r||s and OpenSSL's DER by hand
 * (node/dsig.c): one r or s in 128 starts with a zero byte and one in two
 * with its top bit set, the cases DER writes differently.  2048 signatures
 * meet each of them (checked: the loop counts them; none in 2048 has odds
 * of 1e-7).  No replay cache here: it would fill. */
static void
test_many_signatures(void **state)
{
	struct wss_identity who;
	wss_verifier       *v = verifier_for(NULL, NULL);
	char                why[256];
	int                 zero = 0, high = 0;

	(void) state;
	for (int i = 0; i < 2048; i++) {
		char       *xml = signed_request(signer_a, &claims_a, B, 300);
		const char *sv = strstr(strstr(xml, "</saml2:Assertion>"), "<ds:SignatureValue>") + 19;
		unsigned char raw[64];
		assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *) sv, 88), 66); /* 64 + "==" padding */
		zero += raw[0] == 0 || raw[32] == 0;
		high += (raw[0] & 0x80) != 0 || (raw[32] & 0x80) != 0;
		if (verify(v, xml, NULL, &who, why) != HIE_OK)
			fail_msg("signature %d: %s", i, why);
		free(xml);
	}
	wss_verifier_free(v);
	assert_true(zero > 0 && high > 0);
}

/* A replay cache full of unexpired ids refuses the next message (fail
 * closed) and says why. */
static void
test_replay_full(void **state)
{
	struct wss_identity who;
	wss_verifier       *v;
	hie_replay         *rp;
	char                p[600], why[256], *xml;

	(void) state;
	snprintf(p, sizeof(p), "%s/replay-small", dir);
	assert_int_equal(hie_replay_open(p, 2, &rp), HIE_OK);
	v = verifier_for(rp, NULL);
	xml = signed_request(signer_a, &claims_a, B, 300); /* its two ids fill the cache */
	assert_int_equal(verify(v, xml, NULL, &who, why), HIE_OK);
	free(xml);
	xml = signed_request(signer_a, &claims_a, B, 300);
	assert_int_equal(verify(v, xml, NULL, &who, why), HIE_EBUSY);
	assert_non_null(strstr(why, "replay cache full"));
	free(xml);
	wss_verifier_free(v);
	hie_replay_close(rp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_attacks),
		cmocka_unit_test(test_revoked_and_expected),
		cmocka_unit_test(test_comment_injection),
		cmocka_unit_test(test_digests_independent),
		cmocka_unit_test(test_claims_text),
		cmocka_unit_test(test_foreign_envelope),
		cmocka_unit_test(test_many_signatures),
		cmocka_unit_test(test_replay_full),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
