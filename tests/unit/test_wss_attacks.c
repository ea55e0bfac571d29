/*
 * tests/unit/test_wss_attacks.c -- the attacks of issue 7 against inbound
 * verification, one data-driven case each, every one with the refusal it
 * must get:
 *   - the eight XML signature wrapping variants of Somorovsky et al., "On
 *     Breaking SAML" (2012), applied to the soap:Body and to the XUA
 *     assertion, each with the forged element keeping the signed id
 *     (duplicate ids) and with a fresh id (the signature still verifies, so
 *     only the "processed element is the signed element" rule stops it);
 *   - comments and whitespace injected in signed text, a reference to an id
 *     that is not there, an extra unsigned Body, expired and future
 *     timestamps, a replay, SHA-1 and HMAC signatures made with the right
 *     key, and hostile XML (XXE, billion laughs, quadratic blow-up, 10,000
 *     levels of nesting, an oversized message).
 * Certificates come from the project's own CA code; the replay cache is a
 * real LMDB in a temp dir; SHA-1/HMAC messages are really signed (xmlsec).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "certs/cert.h"
#include "node/dsig.h"
#include "node/wss.h"
#include "registry/registry.h"
#include "testutil.h"

#define A "urn:oid:1.2.3.1"
#define B "urn:oid:1.2.3.2"
#define WRAP_NS "urn:example:wrapper"

static char          dir[256];
static wss_signer   *signer_a, *signer_a2;
static wss_verifier *verifier_b;
static hie_replay   *replay;
static char         *ca_pem, *key_pem;

static const struct wss_claims claims_a = {
	.subject_id = "Dr. Anna Lee",
	.subject_role = "112247003",
	.organization = "Clinic A",
	.organization_id = A,
	.home_community = A,
	.purpose_of_use = "TREATMENT",
};

static int
setup(void **state)
{
	char                    p[600], q[600];
	struct wss_verifier_cfg vc;

	(void) state;
	tu_tmpdir(dir);
	snprintf(p, sizeof(p), "%s/ca", dir);
	assert_int_equal(cert_ca_init(p, "test CA", 2), HIE_OK);
	snprintf(q, sizeof(q), "%s/a", dir);
	assert_int_equal(cert_issue(p, "node-a", A, 1, q), HIE_OK);
	signer_a = tu_signer(q);
	/* A second trusted certificate of the same community (another
	 * signer: a rotated key, an IdP). */
	snprintf(q, sizeof(q), "%s/a2", dir);
	assert_int_equal(cert_issue(p, "node-a2", A, 1, q), HIE_OK);
	signer_a2 = tu_signer(q);
	snprintf(q, sizeof(q), "%s/a/node.key", dir);
	key_pem = tu_slurp(q, NULL);
	snprintf(p, sizeof(p), "%s/ca/ca.crt", dir);
	ca_pem = tu_slurp(p, NULL);
	snprintf(p, sizeof(p), "%s/replay", dir);
	assert_int_equal(hie_replay_open(p, 10000, &replay), HIE_OK);
	memset(&vc, 0, sizeof(vc));
	vc.ca_pem = ca_pem;
	vc.community = B;
	vc.clock_skew_s = 120;
	vc.max_ttl_s = 600;
	vc.replay = replay;
	assert_int_equal(wss_verifier_new(&vc, &verifier_b), HIE_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	wss_signer_free(signer_a);
	wss_signer_free(signer_a2);
	wss_verifier_free(verifier_b);
	hie_replay_close(replay);
	free(ca_pem);
	free(key_pem);
	tu_rmtree(dir);
	return 0;
}

/* ---- building and reading messages ---- */

/* A freshly signed ITI-38 request by s as a tree (timestamp valid ttl s). */
static xmlDoc *
signed_doc_by(const wss_signer *s, int ttl)
{
	xmlDoc          *doc;
	xmlNode         *body;
	struct reg_query q;

	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO");
	q.approved_only = 1;
	assert_int_equal(soap_envelope_new(SOAP_ACTION_ITI38, "tls+tcp://127.0.0.1:1", NULL, &doc, &body, NULL), HIE_OK);
	assert_int_equal(reg_ebrim_query_build(body, &q, B), HIE_OK);
	assert_int_equal(wss_sign(s, doc, &claims_a, B, ttl), HIE_OK);
	return doc;
}

static xmlDoc *
signed_doc(int ttl)
{
	return signed_doc_by(signer_a, ttl);
}

/* noinline: inlined at -O2, GCC 12 takes the string hie_xml_dump returns
 * through &out for a pointer to the local out itself and warns
 * (-Wdangling-pointer) at every use of the result. */
__attribute__((noinline)) static char *
dump(xmlDoc *doc)
{
	char   *out = NULL;
	size_t  len = 0;
	hie_err e = hie_xml_dump(doc, &out, &len);

	xmlFreeDoc(doc);
	assert_int_equal(e, HIE_OK);
	return out;
}

static xmlNode *
env_child(xmlDoc *doc, const char *name)
{
	return hie_xml_child(xmlDocGetRootElement(doc), SOAP_NS_ENV, name);
}

static xmlNode *
security(xmlDoc *doc)
{
	return hie_xml_child(env_child(doc, "Header"), WSS_NS_SEC, "Security");
}

static xmlNode *
msg_sig(xmlDoc *doc)
{
	return hie_xml_child(security(doc), DSIG_NS, "Signature");
}

static xmlNode *
assertion(xmlDoc *doc)
{
	return hie_xml_child(security(doc), SAML_NS, "Assertion");
}

/* What the attacker changes: the patient asked about, the clinician named. */
static void
falsify(xmlNode *n)
{
	static const struct {
		const char *from, *to;
	} edits[] = { { "DEMO-1001", "DEMO-6666" }, { "Dr. Anna Lee", "Dr. Mallory" } };

	for (; n != NULL; n = n->next) {
		if (n->type == XML_TEXT_NODE && n->content != NULL) {
			for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
				char *p = strstr((char *) n->content, edits[i].from);
				if (p != NULL)
					memcpy(p, edits[i].to, strlen(edits[i].to)); /* same length */
			}
		}
		if (n->type == XML_ELEMENT_NODE) {
			for (xmlAttr *a = n->properties; a != NULL; a = a->next)
				falsify(a->children);
			falsify(n->children);
		}
	}
}

/* Gives n a new id (wsu:Id or ID, whichever it has). */
static void
fresh_id(xmlNode *n)
{
	for (xmlAttr *a = n->properties; a != NULL; a = a->next)
		if ((strcmp((const char *) a->name, "Id") == 0 || strcmp((const char *) a->name, "ID") == 0) &&
		    a->children != NULL) {
			xmlNodeSetContent(a->children, BAD_CAST "_evil-0001");
			return;
		}
}

static xmlNode *
wrapper(xmlNode *parent, const char *ns, const char *prefix, const char *name)
{
	xmlNode *w = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
	xmlSetNs(w, xmlNewNs(w, BAD_CAST ns, BAD_CAST prefix));
	return w;
}

/* ---- the eight wrapping variants ---- */

enum target { BODY, ASSERTION };
enum idmode { SAME_ID, FRESH_ID };

/*
 * Applies XSW variant v (1..8) to target t of doc: the forged copy (evil,
 * falsified) is what a careless receiver would process; the signed
 * original goes where the variant hides it.  Variants, after the paper
 * (its Response-level 1-2 map to the message signature here):
 *   1 original inside the covering ds:Signature, evil in its place
 *   2 original just before the covering ds:Signature (detached), evil in its place
 *   3 evil inserted before the original, both present
 *   4 original nested inside evil
 *   5 original moved to the end of the soap:Header, evil in its place
 *   6 original inside the signature's KeyInfo (Body) or inside evil's own
 *     ds:Signature (assertion), evil in its place
 *   7 original inside an unknown Extensions element, evil in its place
 *   8 original inside a ds:Object of the signature, evil in its place
 */
static void
xsw(xmlDoc *doc, int v, enum target t, enum idmode idm)
{
	xmlNode *orig = t == BODY ? env_child(doc, "Body") : assertion(doc);
	xmlNode *evil = xmlDocCopyNode(orig, doc, 1), *sig, *w;

	falsify(evil->children);
	if (idm == FRESH_ID)
		fresh_id(evil);
	/* The signature that covers the target: the message signature for
	 * the Body, the assertion's own (in evil, a copy) for the assertion. */
	sig = t == BODY ? msg_sig(doc) : hie_xml_child(evil, DSIG_NS, "Signature");
	if (v == 3) {
		xmlAddPrevSibling(orig, evil);
		return;
	}
	xmlReplaceNode(orig, evil);
	switch (v) {
	case 1:
		xmlAddChild(sig, orig);
		break;
	case 2:
		xmlAddPrevSibling(sig, orig);
		break;
	case 4:
		/* Under the Body's one child so the Body still has one child. */
		xmlAddChild(t == BODY ? xmlFirstElementChild(evil) : evil, orig);
		break;
	case 5:
		xmlAddChild(env_child(doc, "Header"), orig);
		break;
	case 6:
		xmlAddChild(t == BODY ? hie_xml_child(sig, DSIG_NS, "KeyInfo") : sig, orig);
		break;
	case 7:
		w = wrapper(security(doc), WRAP_NS, "ext", "Extensions");
		xmlAddChild(w, orig);
		break;
	case 8:
		w = wrapper(sig, DSIG_NS, "ds", "Object");
		xmlAddChild(w, orig);
		break;
	default:
		fail_msg("no variant %d", v);
	}
}

/* ---- verification ---- */

static hie_err
verify(const char *xml, size_t len, const struct hie_xml_limits *lim, struct wss_identity *who, char *why,
    size_t whycap)
{
	struct soap_msg m;
	hie_err         e = soap_parse(xml, len, lim, &m);

	if (e != HIE_OK) {
		snprintf(why, whycap, "soap_parse: %s", hie_strerror(e));
		return e;
	}
	e = wss_verify(verifier_b, &m, 1, NULL, who, why, whycap);
	soap_msg_free(&m);
	return e;
}

static void
test_wrapping(void **state)
{
	struct wss_identity who;
	char                why[256];
	int                 ncase = 0;

	(void) state;
	for (int t = BODY; t <= ASSERTION; t++)
		for (int idm = SAME_ID; idm <= FRESH_ID; idm++)
			for (int v = 1; v <= 8; v++) {
				xmlDoc     *doc = signed_doc(300);
				char       *xml;
				hie_err     want = HIE_ESIG, e;
				const char *reason;

				xsw(doc, v, t, idm);
				xml = dump(doc);
				/* Fresh ids: the signature still verifies (the reason
				 * below is only reached after it did), so only the
				 * "processed is signed" rule is left to stop it. */
				if (t == BODY && v == 3) {
					want = HIE_ESOAP; /* two Bodies */
					reason = "soap_parse";
				} else if (idm == SAME_ID) {
					reason = "an element id appears twice";
				} else if (t == BODY && v == 1) {
					/* XML-DSig's content model has no place for it */
					reason = "unexpected Body in ds:Signature";
				} else if (0) {
					reason = "an element id appears twice";
				} else if (t == BODY) {
					reason = "the Body is not covered by the signature";
				} else if (v == 3) {
					reason = "more than one assertion";
				} else {
					reason = "the assertion is not covered by the message signature";
				}
				e = verify(xml, strlen(xml), NULL, &who, why, sizeof(why));
				print_message("  XSW%d %-9s %-8s -> %s: %s\n", v, t == BODY ? "Body" : "assertion",
				    idm == SAME_ID ? "same id" : "fresh id", hie_errname(e), why);
				if (e != want || strstr(why, reason) == NULL)
					fail_msg("XSW%d on the %s (%s): got %s (%s), want %s (%s)", v,
					    t == BODY ? "Body" : "assertion", idm == SAME_ID ? "same id" : "fresh id",
					    hie_errname(e), why, hie_errname(want), reason);
				free(xml);
				ncase++;
			}
	assert_int_equal(ncase, 32);
}

/* ---- re-signing with other algorithms (the right key, the wrong method) ---- */

/*
 * Replaces the message signature of doc by one over the same references
 * (plus extra_id if not NULL) made with sigalg/digest and key (owned).
 */
static void
resign(xmlDoc *doc, xmlSecTransformId sigalg, xmlSecTransformId digest, xmlSecKeyPtr key, const char *extra_id)
{
	xmlNode         *old = msg_sig(doc), *si = hie_xml_child(old, DSIG_NS, "SignedInfo"), *sig, *ki;
	xmlNode         *oldki = hie_xml_child(old, DSIG_NS, "KeyInfo");
	xmlSecDSigCtxPtr ctx;
	char             why[128], uri[DSIG_ID_MAX + 2];

	sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, sigalg, NULL, BAD_CAST "ds");
	assert_non_null(sig);
	for (xmlNode *r = hie_xml_child(si, DSIG_NS, "Reference"); r != NULL; r = hie_xml_next(r, DSIG_NS, "Reference")) {
		xmlNode *ref = xmlSecTmplSignatureAddReference(sig, digest, NULL, BAD_CAST hie_xml_attr(r, "URI"), NULL);
		assert_non_null(xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId));
	}
	if (extra_id != NULL) {
		xmlNode *ref;
		snprintf(uri, sizeof(uri), "#%s", extra_id);
		ref = xmlSecTmplSignatureAddReference(sig, digest, NULL, BAD_CAST uri, NULL);
		assert_non_null(xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId));
	}
	ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
	xmlUnlinkNode(oldki);
	for (xmlNode *c = oldki->children; c != NULL;) {
		xmlNode *next = c->next;
		xmlUnlinkNode(c);
		xmlAddChild(ki, c);
		c = next;
	}
	xmlFreeNode(oldki);
	xmlReplaceNode(old, sig);
	xmlFreeNode(old);
	assert_int_equal(dsig_register_ids(doc, why, sizeof(why)), HIE_OK);
	ctx = xmlSecDSigCtxCreate(NULL);
	assert_non_null(ctx);
	ctx->signKey = key;
	assert_int_equal(xmlSecDSigCtxSign(ctx, sig), 0);
	xmlSecDSigCtxDestroy(ctx);
}

static xmlSecKeyPtr
node_key(void)
{
	xmlSecKeyPtr k = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *) key_pem, (xmlSecSize) strlen(key_pem),
	    xmlSecKeyDataFormatPem, NULL, NULL, NULL);
	assert_non_null(k);
	return k;
}

static char *
make_sha1(void)
{
	xmlDoc *doc = signed_doc(300);
	resign(doc, xmlSecTransformEcdsaSha1Id, xmlSecTransformSha1Id, node_key(), NULL);
	return dump(doc);
}

static char *
make_sha1_digest(void)
{
	xmlDoc *doc = signed_doc(300);
	resign(doc, xmlSecTransformEcdsaSha256Id, xmlSecTransformSha1Id, node_key(), NULL);
	return dump(doc);
}

static char *
make_hmac(void)
{
	static const xmlSecByte secret[] = "a secret an attacker chose";
	xmlDoc                 *doc = signed_doc(300);
	xmlSecKeyPtr k = xmlSecKeyReadMemory(xmlSecKeyDataHmacId, secret, sizeof(secret) - 1);

	assert_non_null(k);
	resign(doc, xmlSecTransformHmacSha256Id, xmlSecTransformSha256Id, k, NULL);
	return dump(doc);
}

/* Validly signed, with one more reference to an element that is then
 * removed: the reference names nothing. */
static char *
make_missing_ref(void)
{
	xmlDoc  *doc = signed_doc(300);
	xmlNode *x = wrapper(env_child(doc, "Header"), WRAP_NS, "w", "Extra");
	xmlNs   *wsu = xmlSearchNsByHref(doc, xmlDocGetRootElement(doc), BAD_CAST WSS_NS_UTIL);

	xmlNewNsProp(x, wsu, BAD_CAST "Id", BAD_CAST "gone-1");
	resign(doc, xmlSecTransformEcdsaSha256Id, xmlSecTransformSha256Id, node_key(), "gone-1");
	xmlUnlinkNode(x);
	xmlFreeNode(x);
	return dump(doc);
}

/* ---- text-level bends ---- */

static char *
replace(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from), *out;

	assert_non_null(p);
	out = malloc(strlen(s) - strlen(from) + strlen(to) + 1);
	memcpy(out, s, (size_t) (p - s));
	strcpy(out + (p - s), to);
	strcat(out, p + strlen(from));
	free(s);
	return out;
}

static char *
make_ws_in_body_text(void)
{
	return replace(dump(signed_doc(300)), "DEMO-1001", "DEMO-1001 ");
}

static char *
make_ws_between_body_elements(void)
{
	char *x = dump(signed_doc(300));
	char *p = strstr(strstr(x, "<s:Body"), "><") + 1;
	char  save = *p;
	char *out;

	*p = '\0';
	out = malloc(strlen(x) + strlen(p + 1) + 8);
	sprintf(out, "%s\n  %c%s", x, save, p + 1);
	free(x);
	return out;
}

static char *
make_ws_in_assertion_name(void)
{
	return replace(dump(signed_doc(300)), ">Dr. Anna Lee<", ">Dr. Anna  Lee<");
}

static char *
make_ws_in_timestamp(void)
{
	char *x = dump(signed_doc(300));
	return replace(x, "<wsu:Created>", "<wsu:Created> ");
}

/* SOAP allows one Body; a second, unsigned one is refused. */
static char *
make_extra_body(void)
{
	char *x = dump(signed_doc(300));
	return replace(x, "</s:Envelope>",
	    "<s:Body><x:Q xmlns:x=\"urn:x\">DEMO-6666</x:Q></s:Body></s:Envelope>");
}

static char *
make_expired(void)
{
	return dump(signed_doc(-300));
}

/* Created an hour ahead (well beyond the clock skew), validly signed. */
static char *
make_future(void)
{
	xmlDoc  *doc = signed_doc(300);
	xmlNode *ts = hie_xml_child(security(doc), WSS_NS_UTIL, "Timestamp");
	time_t   t = time(NULL) + 3600;
	char     iso[32];
	struct tm tm;

	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	xmlNodeSetContent(hie_xml_child(ts, WSS_NS_UTIL, "Created"), BAD_CAST iso);
	t += 300;
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	xmlNodeSetContent(hie_xml_child(ts, WSS_NS_UTIL, "Expires"), BAD_CAST iso);
	resign(doc, xmlSecTransformEcdsaSha256Id, xmlSecTransformSha256Id, node_key(), NULL);
	return dump(doc);
}

/* ---- hostile XML inside a SOAP envelope ---- */

#define ENV_HEAD                                                                                         \
	"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "                                 \
	"xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header><a:Action>urn:ihe:iti:2007:"           \
	"CrossGatewayQuery</a:Action></s:Header><s:Body>"
#define ENV_TAIL "</s:Body></s:Envelope>"

static char *
make_xxe(void)
{
	return strdup("<?xml version=\"1.0\"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" ENV_HEAD
	              "<q>&x;</q>" ENV_TAIL);
}

static char *
make_billion_laughs(void)
{
	return strdup("<!DOCTYPE s:Envelope [<!ENTITY a \"lollollollol\">"
	              "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
	              "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
	              "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
	              "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\"><!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">]>" ENV_HEAD
	              "<q>&i;</q>" ENV_TAIL);
}

/* Quadratic blow-up: one 50 kB entity referenced 20,000 times (1 GB if
 * expanded) -- no nesting for a billion-laughs guard to catch. */
static char *
make_quadratic(void)
{
	size_t n = 50000, refs = 20000, cap = n + refs * 3 + 1024;
	char  *x = malloc(cap), *p = x;

	p += sprintf(p, "<!DOCTYPE s:Envelope [<!ENTITY a \"");
	memset(p, 'a', n);
	p += n;
	p += sprintf(p, "\">]>" ENV_HEAD "<q>");
	for (size_t i = 0; i < refs; i++)
		p += sprintf(p, "&a;");
	sprintf(p, "</q>" ENV_TAIL);
	return x;
}

static char *
make_deep(void)
{
	int   depth = 10000;
	char *x = malloc((size_t) depth * 7 + 1024), *p = x;

	p += sprintf(p, ENV_HEAD);
	for (int i = 0; i < depth; i++)
		p += sprintf(p, "<a>");
	for (int i = 0; i < depth; i++)
		p += sprintf(p, "</a>");
	sprintf(p, ENV_TAIL);
	return x;
}

/* Just over the configured size limit (here 1 MiB for the test). */
static char *
make_oversized(void)
{
	size_t n = (1u << 20) + 1;
	char  *x = malloc(n + 256), *p = x;

	p += sprintf(p, ENV_HEAD "<q>");
	memset(p, 'x', n);
	p += n;
	sprintf(p, "</q>" ENV_TAIL);
	return x;
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
		{ "whitespace in signed Body text", make_ws_in_body_text, HIE_ESIG, "digest of #Body-" },
		{ "whitespace between signed elements", make_ws_between_body_elements, HIE_ESIG, "digest of #Body-" },
		{ "whitespace in the assertion's NameID", make_ws_in_assertion_name, HIE_ESIG, "digest of #_" },
		{ "whitespace in the Timestamp", make_ws_in_timestamp, HIE_ESIG, "digest of #TS-" },
		{ "an extra unsigned Body", make_extra_body, HIE_ESOAP, "soap_parse" },
		{ "reference to a missing id", make_missing_ref, HIE_ESIG, "reference #gone-1 names no element" },
		{ "ECDSA-SHA1 signature", make_sha1, HIE_ESIG, "signature method http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1 not allowed" },
		{ "SHA-1 digests", make_sha1_digest, HIE_ESIG, "digest method http://www.w3.org/2000/09/xmldsig#sha1 not allowed" },
		{ "HMAC-SHA256 signature", make_hmac, HIE_ESIG, "signature method http://www.w3.org/2001/04/xmldsig-more#hmac-sha256 not allowed" },
		{ "expired timestamp", make_expired, HIE_EEXPIRED, "timestamp is stale" },
		{ "timestamp an hour ahead", make_future, HIE_EEXPIRED, "in the future" },
		{ "XXE", make_xxe, HIE_EXMLHOSTILE, "soap_parse" },
		{ "billion laughs", make_billion_laughs, HIE_EXMLHOSTILE, "soap_parse" },
		{ "quadratic blow-up", make_quadratic, HIE_EXMLHOSTILE, "soap_parse" },
		{ "10,000-deep nesting", make_deep, HIE_EXMLHOSTILE, "soap_parse" },
		{ "over the size limit", make_oversized, HIE_ETOOBIG, "soap_parse" },
	};
	struct hie_xml_limits lim = hie_xml_default_limits;
	struct wss_identity   who;
	char                  why[256];

	(void) state;
	lim.max_bytes = 1u << 20;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char   *xml = cases[i].make();
		hie_err e = verify(xml, strlen(xml), &lim, &who, why, sizeof(why));
		print_message("  %-38s -> %s: %s\n", cases[i].name, hie_errname(e), why);
		if (e != cases[i].want || strstr(why, cases[i].why) == NULL)
			fail_msg("case '%s': got %s (%s), want %s (%s)", cases[i].name, hie_errname(e), why,
			    hie_errname(cases[i].want), cases[i].why);
		free(xml);
	}
}

/* A comment inside signed text is dropped by exclusive C14N, so the
 * signature holds; what the node reads must then be the whole signed text,
 * not the part before the comment (the 2018 SAML comment truncation bugs). */
static void
test_comment_in_signed_text(void **state)
{
	static const struct {
		const char *name, *from, *to;
	} cases[] = {
		{ "Body text", "DEMO-1001", "DEMO-<!---->1001" },
		{ "assertion NameID", ">Dr. Anna Lee<", ">Dr. Anna <!-- .evil -->Lee<" },
		{ "assertion subject-id value", "<saml2:AttributeValue>Dr. Anna Lee<",
		    "<saml2:AttributeValue>Dr. <!---->Anna Lee<" },
		{ "assertion homeCommunityId value", "<saml2:AttributeValue>" A "<",
		    "<saml2:AttributeValue>urn:oid:1.2.3.<!-- 9 -->1<" },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wss_identity who;
		struct soap_msg     m;
		struct reg_query    q;
		char                why[256], *xml = replace(dump(signed_doc(300)), cases[i].from, cases[i].to);

		assert_int_equal(soap_parse(xml, strlen(xml), NULL, &m), HIE_OK);
		if (wss_verify(verifier_b, &m, 1, NULL, &who, why, sizeof(why)) != HIE_OK)
			fail_msg("comment in %s: %s", cases[i].name, why);
		print_message("  comment in %-30s -> ok, read as signed\n", cases[i].name);
		assert_int_equal(reg_ebrim_query_parse(m.body, &q, why, sizeof(why)), HIE_OK);
		assert_string_equal(q.patient_id, "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO");
		assert_string_equal(who.claims.subject_id, "Dr. Anna Lee");
		assert_string_equal(who.claims.home_community, A);
		soap_msg_free(&m);
		free(xml);
	}
}

/* The same message twice: the second is a replay, by MessageID, and a new
 * message that reuses the assertion is a replay of the assertion. */
static void
test_replay(void **state)
{
	struct wss_identity who;
	char                why[256], *xml = dump(signed_doc(300));

	(void) state;
	assert_int_equal(verify(xml, strlen(xml), NULL, &who, why, sizeof(why)), HIE_OK);
	assert_int_equal(verify(xml, strlen(xml), NULL, &who, why, sizeof(why)), HIE_EREPLAY);
	assert_non_null(strstr(why, "replayed"));
	print_message("  replayed message -> HIE_EREPLAY: %s\n", why);
	free(xml);
}

/* ---- who signed the assertion: vouched for, or verified in full ---- */

/* The inner ds:Signature of the assertion. */
static xmlNode *
inner_sig(xmlNode *as)
{
	return hie_xml_child(as, DSIG_NS, "Signature");
}

/* Changes one character of the assertion's SignatureValue (still base64
 * of 64 bytes): a broken inner signature. */
static void
break_inner_value(xmlNode *as)
{
	xmlNode *sv = hie_xml_child(inner_sig(as), DSIG_NS, "SignatureValue");
	xmlChar *t = xmlNodeGetContent(sv);

	assert_non_null(t);
	t[0] = t[0] == 'A' ? 'B' : 'A';
	xmlNodeSetContent(sv, t);
	xmlFree(t);
}

/* Adds a ds:KeyInfo naming a certificate to the assertion's signature
 * (outside what its enveloped reference digests). */
static void
add_inner_keyinfo(xmlNode *as)
{
	xmlNode *sig = inner_sig(as), *ki, *xd;
	xmlChar *tok = xmlNodeGetContent(hie_xml_child(as->parent, WSS_NS_SEC, "BinarySecurityToken"));

	ki = xmlNewChild(sig, sig->ns, BAD_CAST "KeyInfo", NULL);
	xd = xmlNewChild(ki, sig->ns, BAD_CAST "X509Data", NULL);
	xmlNewTextChild(xd, sig->ns, BAD_CAST "X509Certificate", tok);
	xmlFree(tok);
}

/* Changes a claim after the assertion was signed. */
static void
edit_claim(xmlNode *as)
{
	falsify(as->children);
}

/*
 * A request whose assertion (and first message signature) is by inner,
 * edited by edit (may be NULL), then carrying node-a's token and signed
 * again by node-a's key over the same references: an assertion by one
 * signer inside a message by node-a.
 */
static char *
make_mixed(const wss_signer *inner, void (*edit)(xmlNode *as))
{
	xmlDoc  *doc = signed_doc_by(inner, 300), *ad = signed_doc(300);
	xmlChar *tok = xmlNodeGetContent(hie_xml_child(security(ad), WSS_NS_SEC, "BinarySecurityToken"));

	xmlNodeSetContent(hie_xml_child(security(doc), WSS_NS_SEC, "BinarySecurityToken"), tok);
	xmlFree(tok);
	xmlFreeDoc(ad);
	if (edit != NULL)
		edit(assertion(doc));
	resign(doc, xmlSecTransformEcdsaSha256Id, xmlSecTransformSha256Id, node_key(), NULL);
	return dump(doc);
}

static char *
mixed_plain_a(void)
{
	return dump(signed_doc(300));
}

static char *
mixed_a_broken_value(void)
{
	return make_mixed(signer_a, break_inner_value);
}

static char *
mixed_a_edited(void)
{
	return make_mixed(signer_a, edit_claim);
}

static char *
mixed_a_keyinfo(void)
{
	return make_mixed(signer_a, add_inner_keyinfo);
}

static char *
mixed_a2(void)
{
	return make_mixed(signer_a2, NULL);
}

static char *
mixed_a2_broken_value(void)
{
	return make_mixed(signer_a2, break_inner_value);
}

static char *
mixed_a2_keyinfo(void)
{
	return make_mixed(signer_a2, add_inner_keyinfo);
}

/*
 * The assertion's own ECDSA verification is skipped only when the message
 * signature, by the same signer, covers it (node/wss.c, assertion_vouched):
 * the assertion names the message certificate's subject as its Issuer and
 * its signature names no key.  Then every byte of it is already
 * authenticated by that key, and only the structure, references and
 * digests of the inner signature are checked.  An assertion issued by
 * another certificate (even a trusted one) or naming a key is verified in
 * full with the message signer's certificate, as before: refused unless
 * that signer made it.
 */
static void
test_assertion_signer(void **state)
{
	static const struct {
		const char *name;
		char *(*make)(void);
		hie_err     want;
		const char *why;
		int         vouched; /* which path must have been taken */
	} cases[] = {
		{ "own assertion", mixed_plain_a, HIE_OK, "ok", 1 },
		/* The sender itself signed these bytes (its message signature
		 * covers the SignatureValue): it could have signed correctly,
		 * so this is its statement either way -- see wss.c. */
		{ "own, inner value broken", mixed_a_broken_value, HIE_OK, "ok", 1 },
		{ "own, claim edited after signing", mixed_a_edited, HIE_ESIG, "digest of", 1 },
		{ "own, inner KeyInfo", mixed_a_keyinfo, HIE_OK, "ok", 0 },
		{ "other trusted signer", mixed_a2, HIE_ESIG, "signature does not verify", 0 },
		{ "other signer, value broken", mixed_a2_broken_value, HIE_ESIG, "signature does not verify", 0 },
		{ "other signer, inner KeyInfo", mixed_a2_keyinfo, HIE_ESIG, "signature does not verify", 0 },
	};
	struct wss_identity who;
	char                why[256];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char         *xml = cases[i].make();
		unsigned long f0, v0, f1, v1;
		hie_err       e;

		wss_verifier_counts(verifier_b, &f0, &v0);
		e = verify(xml, strlen(xml), NULL, &who, why, sizeof(why));
		wss_verifier_counts(verifier_b, &f1, &v1);
		print_message("  %-32s -> %s (%s): %s\n", cases[i].name, hie_errname(e),
		    v1 > v0 ? "vouched" : f1 > f0 ? "full" : "none", why);
		if (e != cases[i].want || strstr(why, cases[i].why) == NULL)
			fail_msg("case '%s': got %s (%s)", cases[i].name, hie_errname(e), why);
		if (v1 - v0 != (unsigned long) cases[i].vouched || f1 - f0 != (unsigned long) !cases[i].vouched)
			fail_msg("case '%s': took the %s path", cases[i].name, v1 > v0 ? "vouched" : "full");
		if (e == HIE_OK)
			assert_string_equal(who.claims.subject_id, "Dr. Anna Lee");
		free(xml);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrapping),
		cmocka_unit_test(test_attacks),
		cmocka_unit_test(test_comment_in_signed_text),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_assertion_signer),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
