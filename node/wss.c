/* node/wss.c -- inbound WS-Security: verifying signed messages and their XUA assertions (the signer is node/wss_sign.c). */
#include "node/wss.h"

#include <openssl/bio.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/valid.h>

#include "node/dsig.h"
#include "node/wss_int.h"
#include "node/x509.h"

#define BST_VALUETYPE WSS_BST_VALUETYPE
#define HL7_NS WSS_HL7_NS

/* XUA attribute names and where each lives in struct wss_claims: what
 * node/wss_sign.c writes and read_claims reads. */
const struct wss_claim_attr wss_claim_attrs[] = {
#define C(f) offsetof(struct wss_claims, f), sizeof(((struct wss_claims *) 0)->f)
	{ "urn:oasis:names:tc:xspa:1.0:subject:subject-id", C(subject_id), NULL, NULL },
	{ "urn:oasis:names:tc:xspa:1.0:subject:organization", C(organization), NULL, NULL },
	{ "urn:oasis:names:tc:xspa:1.0:subject:organization-id", C(organization_id), NULL, NULL },
	{ "urn:nhin:names:saml:homeCommunityId", C(home_community), NULL, NULL },
	{ "urn:oasis:names:tc:xacml:2.0:subject:role", C(subject_role), "Role", "2.16.840.1.113883.6.96" },
	{ "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse", C(purpose_of_use), "PurposeOfUse", "2.16.840.1.113883.3.18.7.1" },
#undef C
};
const size_t wss_nclaims = sizeof(wss_claim_attrs) / sizeof(wss_claim_attrs[0]);

/* What wss_verify needs of a trusted certificate besides its key, worked
 * out once when the certificate enters the cache: decoding its SAN,
 * printing its subject and hashing its DER for every message was more
 * work than the cache lookup itself. */
struct cert_facts {
	char          community[128]; /* its SAN URI; "" if it names none */
	char          subject[256];   /* X509_NAME_oneline */
	unsigned char digest[32];     /* X509_digest, SHA-256: the peer directory's fingerprint */
	int           digest_ok;
};

/* Certificates that already passed the chain and CRL checks of this
 * verifier, by the exact text of the BinarySecurityToken they came in: a
 * peer signs every message with the same one, and decoding and verifying
 * it again costs more than the signature itself.  Keyed on the text, not
 * on a hash of the decoded DER, so that a hit needs neither the base64
 * decoding nor the hash (equal text decodes to equal DER; the same
 * certificate written differently only takes a second slot).  The cache
 * dies with the verifier, which SIGHUP replaces when the CA or CRL
 * changes. */
#define CERT_CACHE 32
struct cert_cache_entry {
	char             *token; /* the token's text (base64); NULL: empty slot */
	size_t            token_len;
	X509             *cert;
	dsig_key         *key;       /* its public key, prepared for verifying */
	time_t            not_after; /* 0 if unreadable: never a hit */
	struct cert_facts facts;
};

struct wss_verifier {
	X509_STORE             *store;
	char                    community[128];
	int                     skew;
	int                     max_ttl;
	hie_replay             *replay;
	int                     directory;
	struct wss_member      *members;
	size_t                  nmembers;
	pthread_mutex_t         mtx;
	struct cert_cache_entry cache[CERT_CACHE];
	unsigned                next; /* round-robin victim */
	/* Assertion signatures checked with their own ECDSA verification,
	 * and those vouched for by the message signature (check_assertion);
	 * under mtx. */
	unsigned long n_full, n_vouched;
};

/* ---- time ---- */

/* xs:dateTime in UTC ("Z"), optional fractional seconds; -1 if not. */
static time_t
parse_iso(const char *s)
{
	struct tm tm;
	char     *end;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z") != 0)
		return -1;
	return timegm(&tm);
}

/* ---- inbound ---- */

hie_err
wss_verifier_new(const struct wss_verifier_cfg *cfg, wss_verifier **out)
{
	wss_verifier *v;
	X509         *ca;
	BIO          *b;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return HIE_ENOMEM;
	hie_strlcpy(v->community, cfg->community ? cfg->community : "", sizeof(v->community));
	v->skew = cfg->clock_skew_s;
	v->max_ttl = cfg->max_ttl_s;
	v->replay = cfg->replay;
	pthread_mutex_init(&v->mtx, NULL);
	v->directory = cfg->directory;
	if (cfg->nmembers > 0) {
		if ((v->members = calloc(cfg->nmembers, sizeof(*v->members))) == NULL) {
			wss_verifier_free(v);
			return HIE_ENOMEM;
		}
		memcpy(v->members, cfg->members, cfg->nmembers * sizeof(*v->members));
		v->nmembers = cfg->nmembers;
	}
	if ((v->store = X509_STORE_new()) == NULL || (ca = hie_x509_from_pem(cfg->ca_pem)) == NULL) {
		wss_verifier_free(v);
		return HIE_ECERT;
	}
	X509_STORE_add_cert(v->store, ca);
	X509_free(ca);
	if (cfg->crl_pem != NULL && cfg->crl_pem[0] != '\0') {
		X509_CRL *crl;
		b = BIO_new_mem_buf(cfg->crl_pem, -1);
		crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (crl == NULL) {
			wss_verifier_free(v);
			return HIE_ECERT;
		}
		X509_STORE_add_crl(v->store, crl);
		X509_CRL_free(crl);
		X509_STORE_set_flags(v->store, X509_V_FLAG_CRL_CHECK);
	}
	*out = v;
	return HIE_OK;
}

void
wss_verifier_free(wss_verifier *v)
{
	if (v == NULL)
		return;
	for (int i = 0; i < CERT_CACHE; i++) {
		free(v->cache[i].token);
		X509_free(v->cache[i].cert);
		dsig_key_unref(v->cache[i].key);
	}
	pthread_mutex_destroy(&v->mtx);
	X509_STORE_free(v->store);
	free(v->members);
	free(v);
}

const char *
wss_fault_code(hie_err e)
{
	switch (e) {
	case HIE_ECERT:
		return "wsse:InvalidSecurityToken";
	case HIE_ESIG:
		return "wsse:FailedCheck";
	case HIE_EEXPIRED:
		return "wsse:MessageExpired";
	case HIE_EAUDIENCE:
	case HIE_EREPLAY:
		return "wsse:FailedAuthentication";
	default:
		return "wsse:InvalidSecurity";
	}
}

#define FAIL(code, ...)                                 \
	do {                                            \
		snprintf(why, whycap, __VA_ARGS__);     \
		e = (code);                             \
		goto done;                              \
	} while (0)

/* A cached certificate still valid at now whose token text is tok[len]
 * (a new reference), its prepared key (a new reference or NULL) and its
 * facts; NULL if none. */
static X509 *
cache_get(wss_verifier *v, const char *tok, size_t len, time_t now, dsig_key **key, struct cert_facts *facts)
{
	X509 *c = NULL;

	*key = NULL;
	pthread_mutex_lock(&v->mtx);
	for (int i = 0; i < CERT_CACHE; i++) {
		const struct cert_cache_entry *e = &v->cache[i];
		if (e->token == NULL || e->token_len != len || memcmp(e->token, tok, len) != 0)
			continue;
		/* X509_cmp_current_time(notAfter) > 0, with the time read once. */
		if (now < e->not_after) {
			c = e->cert;
			X509_up_ref(c);
			if (e->key != NULL)
				*key = dsig_key_ref(e->key);
			*facts = e->facts;
		}
		break;
	}
	pthread_mutex_unlock(&v->mtx);
	return c;
}

/* Works out the facts of c (see struct cert_facts). */
static void
cert_facts_of(X509 *c, struct cert_facts *f)
{
	unsigned int n = sizeof(f->digest);

	memset(f, 0, sizeof(*f)); /* community "" unless found */
	hie_x509_community(c, f->community, sizeof(f->community));
	X509_NAME_oneline(X509_get_subject_name(c), f->subject, sizeof(f->subject));
	f->digest_ok = X509_digest(c, EVP_sha256(), f->digest, &n) == 1 && n == sizeof(f->digest);
}

/* Caches c, which came as token text tok[len]; *key gets a reference to
 * its prepared key (NULL if none), *facts its facts. */
static void
cache_put(wss_verifier *v, const char *tok, size_t len, X509 *c, dsig_key **key, struct cert_facts *facts)
{
	struct cert_cache_entry *e;
	dsig_key                *k = NULL;
	char                    *t;
	struct tm                tm;
	time_t                   na = 0;

	*key = NULL;
	cert_facts_of(c, facts);
	if (dsig_key_new(X509_get0_pubkey(c), 0, &k) != HIE_OK)
		k = NULL; /* dsig_verify makes one per call then */
	if (ASN1_TIME_to_tm(X509_get0_notAfter(c), &tm) == 1 && (na = timegm(&tm)) == (time_t) -1)
		na = 0;
	if ((t = malloc(len + 1)) == NULL) {
		*key = k; /* not cached: this message only */
		return;
	}
	memcpy(t, tok, len);
	t[len] = '\0';
	pthread_mutex_lock(&v->mtx);
	e = &v->cache[v->next++ % CERT_CACHE];
	free(e->token);
	X509_free(e->cert);
	dsig_key_unref(e->key);
	e->token = t;
	e->token_len = len;
	X509_up_ref(c);
	e->cert = c;
	e->key = k;
	e->not_after = na;
	e->facts = *facts;
	if (k != NULL)
		*key = dsig_key_ref(k);
	pthread_mutex_unlock(&v->mtx);
}

/* The certificate in the BinarySecurityToken, checked against the CA, its
 * key prepared for verifying (*key, may be NULL; unref it) and its facts. */
static hie_err
token_cert(wss_verifier *v, xmlNode *sec, time_t now, X509 **out, dsig_key **key, struct cert_facts *facts, char *why,
    size_t whycap)
{
	xmlNode             *bst = hie_xml_child(sec, WSS_NS_SEC, "BinarySecurityToken");
	const char          *vt = hie_xml_attr(bst, "ValueType");
	xmlChar             *text = NULL;
	const char          *tok;
	char                *der = NULL;
	size_t               len, toklen;
	const unsigned char *p;
	X509                *c = NULL;
	X509_STORE_CTX      *ctx = NULL;
	hie_err              e = HIE_OK;

	*out = NULL;
	*key = NULL;
	if (bst == NULL || hie_xml_next(bst, WSS_NS_SEC, "BinarySecurityToken") != NULL)
		FAIL(HIE_ESIG, "exactly one BinarySecurityToken is required");
	if (vt == NULL || strcmp(vt, BST_VALUETYPE) != 0)
		FAIL(HIE_ECERT, "security token is not an X.509 v3 certificate");
	/* The token's text: read in place when it is one text node (what a
	 * parser makes of it), else gathered as xmlNodeGetContent does. */
	if (bst->children != NULL && bst->children->next == NULL && bst->children->type == XML_TEXT_NODE &&
	    bst->children->content != NULL)
		tok = (const char *) bst->children->content;
	else if ((text = xmlNodeGetContent(bst)) != NULL)
		tok = (const char *) text;
	else
		FAIL(HIE_ECERT, "security token is not base64");
	toklen = strlen(tok);
	if ((*out = cache_get(v, tok, toklen, now, key, facts)) != NULL)
		goto done;
	if (hie_base64_decode(tok, toklen, 64 * 1024, &der, &len) != HIE_OK)
		FAIL(HIE_ECERT, "security token is not base64");
	p = (const unsigned char *) der;
	if ((c = d2i_X509(NULL, &p, (long) len)) == NULL || p != (const unsigned char *) der + len)
		FAIL(HIE_ECERT, "security token is not a DER certificate");
	if ((ctx = X509_STORE_CTX_new()) == NULL || !X509_STORE_CTX_init(ctx, v->store, c, NULL))
		FAIL(HIE_ECRYPTO, "out of memory");
	if (X509_verify_cert(ctx) != 1)
		FAIL(HIE_ECERT, "signing certificate not trusted: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	cache_put(v, tok, toklen, c, key, facts);
	*out = c;
	c = NULL;
done:
	X509_STORE_CTX_free(ctx);
	X509_free(c);
	free(der);
	xmlFree(text);
	return e;
}

/* The signed peer directory names who may sign for a community: the CA
 * vouches that a certificate is the network's, the directory that it is
 * this member's current one (a revoked-but-not-yet-in-the-CRL or a
 * superseded certificate is refused as soon as the admin re-signs). */
static hie_err
directory_check(const wss_verifier *v, const struct cert_facts *cert, const char *community, char *why, size_t whycap)
{
	for (size_t i = 0; i < v->nmembers; i++) {
		if (strcmp(v->members[i].community, community) != 0)
			continue;
		if (!cert->digest_ok)
			break;
		for (int f = 0; f < v->members[i].nfp; f++)
			if (memcmp(v->members[i].fp[f], cert->digest, 32) == 0)
				return HIE_OK;
		snprintf(why, whycap, "signing certificate is not one the peer directory lists for %.100s", community);
		return HIE_ECERT;
	}
	snprintf(why, whycap, "community %.100s is not in the peer directory", community);
	return HIE_ECERT;
}

static xmlNode *
sec_header(const struct soap_msg *m, int *count)
{
	xmlNode *hdr = hie_xml_child(xmlDocGetRootElement(m->doc), SOAP_NS_ENV, "Header");
	xmlNode *sec = hie_xml_child(hdr, WSS_NS_SEC, "Security");

	*count = 0;
	for (xmlNode *s = sec; s != NULL; s = hie_xml_next(s, WSS_NS_SEC, "Security"))
		(*count)++;
	return sec;
}

/* Reads the claims of a (signature-checked) assertion. */
static void
read_claims(xmlNode *as, struct wss_claims *c)
{
	xmlNode *stmt = hie_xml_child(as, SAML_NS, "AttributeStatement");

	memset(c, 0, sizeof(*c));
	for (xmlNode *a = hie_xml_child(stmt, SAML_NS, "Attribute"); a; a = hie_xml_next(a, SAML_NS, "Attribute")) {
		const char *name = hie_xml_attr(a, "Name");
		xmlNode    *val = hie_xml_child(a, SAML_NS, "AttributeValue");
		for (size_t i = 0; name != NULL && val != NULL && i < wss_nclaims; i++) {
			char *dst = (char *) c + wss_claim_attrs[i].off;
			if (strcmp(name, wss_claim_attrs[i].name) != 0)
				continue;
			if (wss_claim_attrs[i].coded != NULL) {
				const char *code = hie_xml_attr(hie_xml_child(val, HL7_NS, wss_claim_attrs[i].coded), "code");
				if (code != NULL)
					hie_strlcpy(dst, code, wss_claim_attrs[i].cap);
				else
					hie_xml_text(val, dst, wss_claim_attrs[i].cap);
			} else {
				hie_xml_text(val, dst, wss_claim_attrs[i].cap);
			}
		}
	}
}

/*
 * Is the assertion's own signature vouched for by the message signature,
 * so that its ECDSA verification can be skipped?  The caller has verified
 * the message signature with cert's key (ECDSA included) and checked that
 * one of its references names the assertion's ID, whose digest matched.
 *
 * The argument.  That reference is an exclusive C14N of the whole
 * assertion subtree (ids are unique in the document, dsig_register_ids,
 * so "#ID" is this element; its only possible transform besides exc-c14n,
 * enveloped-signature, removes the message signature, which is the
 * assertion's sibling in wsse:Security, not inside it).  So every
 * character of the assertion that C14N keeps -- its ds:SignedInfo and
 * ds:SignatureValue included -- is what the holder of cert's key signed.
 * Verifying the inner SignatureValue with the same key proves again that
 * this key holder signed the assertion: nothing new.  What can be skipped
 * is only the public-key operation; the inner signature's structure,
 * algorithms, transforms, its reference to exactly this assertion and
 * that reference's digest are checked as before (dsig_verify_vouched).
 * The one message accepted now that was refused before: the key holder
 * itself sent an assertion naming itself as issuer with a wrong inner
 * SignatureValue -- it could as well have signed it correctly, so no
 * attacker without the key gains anything.  An XML signature wrapping
 * attack cannot use the difference: any change to the assertion's
 * canonical bytes fails the message signature's digest, a second
 * assertion or a duplicated ID is refused before, and the assertion
 * processed is the one the reference resolves to.
 *
 * "Same key" cannot be read from a signature without verifying it, so the
 * skip is taken only when the assertion says it is the sender's own: its
 * Issuer is the message certificate's subject (as wss_sign writes it) and
 * its signature carries no ds:KeyInfo (a KeyInfo names some key; ours
 * never has one).  Anything else -- an assertion issued by a third party
 * such as an IdP, or one naming a key -- is verified in full, with the
 * message certificate as before (so a different signer is refused).
 */
static int
assertion_vouched(const xmlNode *as, const xmlNode *sig, const char *cert_subject)
{
	char issuer[256];

	if (hie_xml_child(sig, DSIG_NS, "KeyInfo") != NULL)
		return 0;
	if (hie_xml_text(hie_xml_child(as, SAML_NS, "Issuer"), issuer, sizeof(issuer)) != HIE_OK)
		return 0;
	return cert_subject[0] != '\0' && strcmp(issuer, cert_subject) == 0;
}

/* Checks the assertion; its id and how long the replay cache must keep it
 * go to *aid and *aexp (wss_verify records them with the message id).
 * The message signature (cert's) already covers the assertion. */
static hie_err
check_assertion(wss_verifier *v, xmlNode *as, X509 *cert, dsig_key *key, struct dsig_memo *memo,
    const char *cert_community, struct wss_identity *who, time_t now, const char **aid, time_t *aexp, char *why,
    size_t whycap)
{
	char        refs[DSIG_MAX_REFS][DSIG_ID_MAX], aud[160];
	size_t      nrefs;
	xmlNode    *sig = hie_xml_child(as, DSIG_NS, "Signature");
	xmlNode    *cond = hie_xml_child(as, SAML_NS, "Conditions");
	xmlNode    *audn;
	const char *id = hie_xml_attr(as, "ID");
	time_t      nb = parse_iso(hie_xml_attr(cond, "NotBefore"));
	time_t      noa = parse_iso(hie_xml_attr(cond, "NotOnOrAfter"));
	hie_err     e = HIE_OK;
	int         aud_ok = 0, vouched;

	if (sig == NULL || id == NULL)
		FAIL(HIE_ESIG, "assertion is not signed");
	vouched = assertion_vouched(as, sig, who->subject);
	pthread_mutex_lock(&v->mtx);
	if (vouched)
		v->n_vouched++;
	else
		v->n_full++;
	pthread_mutex_unlock(&v->mtx);
	if ((e = (vouched ? dsig_verify_vouched : dsig_verify)(sig, cert, key, memo, refs, &nrefs, why, whycap)) != HIE_OK)
		goto done;
	if (nrefs != 1 || !dsig_covers(refs, nrefs, id))
		FAIL(HIE_ESIG, "assertion signature does not cover the assertion");
	if (nb < 0 || noa < 0 || now + v->skew < nb || now - v->skew >= noa || noa - nb > v->max_ttl + 60)
		FAIL(HIE_EEXPIRED, "assertion is outside NotBefore/NotOnOrAfter");
	for (xmlNode *ar = hie_xml_child(cond, SAML_NS, "AudienceRestriction"); ar;
	     ar = hie_xml_next(ar, SAML_NS, "AudienceRestriction"))
		for (audn = hie_xml_child(ar, SAML_NS, "Audience"); audn; audn = hie_xml_next(audn, SAML_NS, "Audience"))
			if (hie_xml_text(audn, aud, sizeof(aud)) == HIE_OK && strcmp(aud, v->community) == 0)
				aud_ok = 1;
	if (!aud_ok)
		FAIL(HIE_EAUDIENCE, "assertion audience is not this community");
	read_claims(as, &who->claims);
	who->has_claims = 1;
	if (strcmp(who->claims.home_community, cert_community) != 0)
		FAIL(HIE_ECERT, "assertion claims community %.100s, signer is %.100s", who->claims.home_community,
		    cert_community);
	*aid = id;
	*aexp = noa + v->skew;
done:
	return e;
}

hie_err
wss_verify(wss_verifier *v, const struct soap_msg *m, int require_assertion, const char *expected_community,
    struct wss_identity *who, char *why, size_t whycap)
{
	char        refs[DSIG_MAX_REFS][DSIG_ID_MAX];
	size_t      nrefs = 0;
	int         nsec;
	xmlNode    *sec = sec_header(m, &nsec), *ts, *sig, *as, *hdr;
	X509       *cert = NULL;
	dsig_key   *key = NULL;
	struct dsig_memo memo;
	struct cert_facts facts;
	const char *rids[2];
	time_t      rexp[2];
	size_t      nr = 0, which;
	time_t      now = time(NULL), created, expires;
	hie_err     e = HIE_OK;
	static const char *const wsa_headers[] = { "Action", "MessageID", "To", "RelatesTo" };

	memset(&memo, 0, sizeof(memo));
	memset(who, 0, sizeof(*who));
	snprintf(why, whycap, "ok");
	if (nsec != 1)
		FAIL(nsec == 0 ? HIE_EUNSIGNED : HIE_ESIG,
		    nsec == 0 ? "message is not signed (no wsse:Security header)" : "more than one wsse:Security header");
	if ((e = dsig_register_ids(m->doc, why, whycap)) != HIE_OK)
		goto done;
	if ((e = token_cert(v, sec, now, &cert, &key, &facts, why, whycap)) != HIE_OK)
		goto done;
	if (facts.community[0] == '\0')
		FAIL(HIE_ECERT, "signing certificate names no community");
	hie_strlcpy(who->community, facts.community, sizeof(who->community));
	hie_strlcpy(who->subject, facts.subject, sizeof(who->subject));
	if (expected_community != NULL && strcmp(who->community, expected_community) != 0)
		FAIL(HIE_ECERT, "signed by community %.100s, expected %.100s", who->community, expected_community);
	if (v->directory && (e = directory_check(v, &facts, who->community, why, whycap)) != HIE_OK)
		goto done;

	/* The message signature: the one ds:Signature directly in Security. */
	sig = hie_xml_child(sec, DSIG_NS, "Signature");
	if (sig == NULL || hie_xml_next(sig, DSIG_NS, "Signature") != NULL)
		FAIL(HIE_ESIG, "exactly one message signature is required");
	if ((e = dsig_verify(sig, cert, key, &memo, refs, &nrefs, why, whycap)) != HIE_OK)
		goto done;

	/* What we process must be what was signed. */
	if (!dsig_covers(refs, nrefs, dsig_node_id(m->body->parent)))
		FAIL(HIE_ESIG, "the Body is not covered by the signature");
	hdr = m->body->parent->parent != NULL ? hie_xml_child(m->body->parent->parent, SOAP_NS_ENV, "Header") : NULL;
	for (size_t i = 0; i < sizeof(wsa_headers) / sizeof(wsa_headers[0]); i++) {
		xmlNode *h = hie_xml_child(hdr, SOAP_NS_WSA, wsa_headers[i]);
		if (h != NULL && !dsig_covers(refs, nrefs, dsig_node_id(h)))
			FAIL(HIE_ESIG, "wsa:%s is not covered by the signature", wsa_headers[i]);
	}
	ts = hie_xml_child(sec, WSS_NS_UTIL, "Timestamp");
	if (ts == NULL || hie_xml_next(ts, WSS_NS_UTIL, "Timestamp") != NULL || !dsig_covers(refs, nrefs, dsig_node_id(ts)))
		FAIL(HIE_ESIG, "exactly one signed Timestamp is required");
	{
		char c[40], x[40];
		hie_xml_text(hie_xml_child(ts, WSS_NS_UTIL, "Created"), c, sizeof(c));
		hie_xml_text(hie_xml_child(ts, WSS_NS_UTIL, "Expires"), x, sizeof(x));
		created = parse_iso(c);
		expires = parse_iso(x);
	}
	if (created < 0 || expires < 0)
		FAIL(HIE_EEXPIRED, "timestamp Created/Expires missing or unreadable");
	if (expires < now - v->skew)
		FAIL(HIE_EEXPIRED, "timestamp is stale (expired %lld s ago)", (long long) (now - expires));
	if (created > now + v->skew)
		FAIL(HIE_EEXPIRED, "timestamp is in the future (created %lld s ahead)", (long long) (created - now));
	if (expires < created || expires - created > v->max_ttl)
		FAIL(HIE_EEXPIRED, "timestamp is too long-lived (%lld s, at most %d)", (long long) (expires - created),
		    v->max_ttl);

	as = hie_xml_child(sec, SAML_NS, "Assertion");
	if (as != NULL && hie_xml_next(as, SAML_NS, "Assertion") != NULL)
		FAIL(HIE_ESIG, "more than one assertion");
	if (as == NULL && require_assertion)
		FAIL(HIE_EUNSIGNED, "a SAML assertion is required");
	if (as != NULL) {
		if (!dsig_covers(refs, nrefs, hie_xml_attr(as, "ID")))
			FAIL(HIE_ESIG, "the assertion is not covered by the message signature");
		if ((e = check_assertion(v, as, cert, key, &memo, who->community, who, now, &rids[nr], &rexp[nr], why,
		         whycap)) != HIE_OK)
			goto done;
		nr++;
	}
	/* Both ids in one replay cache transaction: all recorded or none. */
	if (m->message_id != NULL) {
		rids[nr] = m->message_id;
		rexp[nr++] = expires + v->skew;
	}
	if (v->replay != NULL && nr > 0 && (e = hie_replay_check_n(v->replay, rids, rexp, nr, &which)) != HIE_OK) {
		int msg = rids[which] == m->message_id;
		FAIL(e, e == HIE_EBUSY     ? "replay cache full of unexpired ids (security.replay_max_entries)"
		        : e != HIE_EREPLAY ? "replay cache unavailable"
		        : msg              ? "message replayed (wsa:MessageID seen before)"
		                           : "assertion replayed");
	}
done:
	dsig_key_unref(key);
	X509_free(cert);
	return e;
}

void
wss_verifier_counts(wss_verifier *v, unsigned long *full, unsigned long *vouched)
{
	pthread_mutex_lock(&v->mtx);
	*full = v->n_full;
	*vouched = v->n_vouched;
	pthread_mutex_unlock(&v->mtx);
}
