/*
 * node/wss_sign.c -- outbound WS-Security: the node's signer, and signed
 * messages written as text.
 *
 * Why text.  Every signed part of a message is digested in exclusive C14N,
 * and what the node sends must parse back to those canonical bytes.  The
 * header that signing adds -- timestamp, token, XUA assertion, the two
 * signatures -- is ours from end to end, so it is written here directly in
 * canonical form: namespace declarations where exclusive C14N renders
 * them, attributes in its order, explicit end tags, its escaping.  Its
 * digests are taken over that text, and no libxml2 nodes are built for it
 * only to be canonicalised twice, serialised and freed, which was most of
 * what signing cost besides the ECDSA operations (docs/benchmarks.md,
 * soap).  The parts callers build as trees (the WS-Addressing headers and
 * the Body) are canonicalised once each (dsig_c14n_append): those bytes
 * are digested and sent, so the Body is serialised once instead of twice.
 * What is sent leaves out the namespace declarations already in force
 * where a part sits (drop_declared, the timestamp's): a receiver would
 * parse each again, and they do not change the canonical form.
 *
 * A receiver parses the message and, canonicalising each referenced
 * element again, gets the digested bytes: unit.wss checks every
 * DigestValue against libxml2's own C14N of the parsed message, and the
 * xmlsec1 CLI and python3-xmlsec verify our messages in interop.xmlsec.
 */
#include "node/wss.h"

#include <libxml/xmlstring.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/dsig.h"
#include "node/wss_int.h"
#include "node/x509.h"
#include "node/xml.h"

#define SAML_FORMAT_X509 "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
#define SAML_FORMAT_UNSPEC "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
#define SAML_SENDER_VOUCHES "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"
#define SAML_AC_X509 "urn:oasis:names:tc:SAML:2.0:ac:classes:X509"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"

/* The canonical SignedInfo start tag, and the one inside a ds:Signature,
 * where ds is already declared. */
#define SI_C14N "<ds:SignedInfo xmlns:ds=\"" DSIG_NS "\">"
#define SI_INNER "<ds:SignedInfo>"

struct wss_signer {
	EVP_PKEY *key;
	dsig_key *dkey; /* key, prepared for signing */
	X509     *cert;
	char     *cert_b64; /* DER, base64: the BinarySecurityToken */
	char      issuer[256];
};

hie_err
wss_signer_new(const char *cert_pem, const char *key_pem, wss_signer **out)
{
	wss_signer    *s;
	BIO           *b;
	unsigned char *der = NULL;
	int            n;
	hie_err        e = HIE_ECRYPTO;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return HIE_ENOMEM;
	if ((s->cert = hie_x509_from_pem(cert_pem)) == NULL)
		goto fail;
	if ((b = BIO_new_mem_buf(key_pem, -1)) == NULL)
		goto fail;
	s->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (s->key == NULL || X509_check_private_key(s->cert, s->key) != 1)
		goto fail;
	if ((e = dsig_key_new(s->key, 1, &s->dkey)) != HIE_OK)
		goto fail;
	e = HIE_ECRYPTO;
	if ((n = i2d_X509(s->cert, &der)) <= 0)
		goto fail;
	e = hie_base64_encode(der, (size_t) n, &s->cert_b64, NULL);
	OPENSSL_free(der);
	if (e != HIE_OK)
		goto fail;
	X509_NAME_oneline(X509_get_subject_name(s->cert), s->issuer, sizeof(s->issuer));
	*out = s;
	return HIE_OK;
fail:
	wss_signer_free(s);
	return e;
}

void
wss_signer_free(wss_signer *s)
{
	if (s == NULL)
		return;
	dsig_key_unref(s->dkey);
	EVP_PKEY_free(s->key);
	X509_free(s->cert);
	free(s->cert_b64);
	free(s);
}

/* ---- writing text ----
 * A writer keeps the first error, so a message is written as a plain
 * sequence of calls and checked once. */

struct w {
	hie_buf *b;
	hie_err  e;
};

/* Appends each string up to a NULL. */
__attribute__((sentinel)) static void
put(struct w *w, ...)
{
	va_list     ap;
	const char *s;

	va_start(ap, w);
	while ((s = va_arg(ap, const char *)) != NULL)
		if (w->e == HIE_OK)
			w->e = hie_buf_addstr(w->b, s);
	va_end(ap);
}

static void
put_esc(struct w *w, const char *s, int attr)
{
	if (w->e == HIE_OK)
		w->e = dsig_put_escaped(w->b, s, attr);
}

static void
put_qname(struct w *w, const xmlNs *ns, const xmlChar *name)
{
	if (ns != NULL && ns->prefix != NULL)
		put(w, (const char *) ns->prefix, ":", NULL);
	put(w, (const char *) name, NULL);
}

static void
digest(const hie_buf *b, size_t from, unsigned char md[32])
{
	if (EVP_Digest(b->data + from, b->len - from, md, NULL, dsig_sha256(), NULL) != 1)
		memset(md, 0, 32); /* cannot happen with a fetched SHA-256; a zero digest fails verification */
}

static void
iso_time(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Text XML 1.0 can carry: valid UTF-8 without the C0 controls other than
 * tab, LF and CR, which XML cannot represent at all (not even as character
 * references).  A claim that is not is refused rather than sent as a
 * message no receiver can parse. */
static int
xml_text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
	return xmlCheckUTF8((const xmlChar *) s) == 1;
}

/* One ds:Reference, in canonical form (it is part of SignedInfo). */
static void
put_reference(struct w *w, const char *id, int enveloped, const unsigned char md[32])
{
	char b64[48];

	EVP_EncodeBlock((unsigned char *) b64, md, 32);
	put(w, "<ds:Reference URI=\"#", id, "\"><ds:Transforms>", NULL);
	if (enveloped)
		put(w, "<ds:Transform Algorithm=\"" DSIG_ALG_ENVELOPED "\"></ds:Transform>", NULL);
	put(w, "<ds:Transform Algorithm=\"" DSIG_ALG_EXC_C14N "\"></ds:Transform></ds:Transforms>",
	    "<ds:DigestMethod Algorithm=\"" DSIG_ALG_SHA256 "\"></ds:DigestMethod><ds:DigestValue>", b64,
	    "</ds:DigestValue></ds:Reference>", NULL);
}

/*
 * Writes a ds:Signature whose SignedInfo holds the references refs
 * (canonical text, put_reference): SignedInfo is signed in its canonical
 * form, which differs from the embedded one only in declaring ds itself.
 * bst_id non-NULL adds a KeyInfo naming the token (WSS X.509 token
 * profile 3.3.2).
 */
static void
put_signature(struct w *w, const wss_signer *s, const hie_buf *refs, const char *bst_id)
{
	hie_buf  si;
	struct w ws = { &si, HIE_OK };
	char    *value = NULL;

	hie_buf_init(&si, 64 * 1024);
	ws.e = hie_buf_reserve(&si, refs->len + 512);
	put(&ws, SI_C14N "<ds:CanonicalizationMethod Algorithm=\"" DSIG_ALG_EXC_C14N "\"></ds:CanonicalizationMethod>",
	    "<ds:SignatureMethod Algorithm=\"", dsig_key_alg(s->dkey), "\"></ds:SignatureMethod>", refs->data,
	    "</ds:SignedInfo>", NULL);
	if (ws.e == HIE_OK)
		ws.e = dsig_sign_c14n(s->dkey, si.data, si.len, &value);
	if (ws.e != HIE_OK) {
		if (w->e == HIE_OK)
			w->e = ws.e;
	} else {
		put(w, "<ds:Signature xmlns:ds=\"" DSIG_NS "\">" SI_INNER, si.data + strlen(SI_C14N),
		    "<ds:SignatureValue>", value, "</ds:SignatureValue>", NULL);
		if (bst_id != NULL)
			put(w, "<ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI=\"#", bst_id,
			    "\" ValueType=\"" WSS_BST_VALUETYPE "\"></wsse:Reference></wsse:SecurityTokenReference></ds:KeyInfo>",
			    NULL);
		put(w, "</ds:Signature>", NULL);
	}
	free(value);
	hie_buf_free(&si);
}

/* One XUA attribute; a coded one (role, purpose of use) as an hl7 CE. */
static void
put_claim(struct w *w, const struct wss_claim_attr *a, const char *value)
{
	put(w, "<saml2:Attribute Name=\"", a->name, "\"><saml2:AttributeValue>", NULL);
	if (a->coded == NULL) {
		put_esc(w, value, 0);
	} else {
		put(w, "<hl7:", a->coded, " xmlns:hl7=\"" WSS_HL7_NS "\" xmlns:xsi=\"" XSI_NS "\" code=\"", NULL);
		put_esc(w, value, 1);
		put(w, "\" codeSystem=\"", a->code_system, "\" xsi:type=\"CE\"></hl7:", a->coded, ">", NULL);
	}
	put(w, "</saml2:AttributeValue></saml2:Attribute>", NULL);
}

/*
 * Writes the XUA assertion (IHE ITI-40), issued by this node and signed
 * with its key (enveloped signature right after Issuer, SAML core 2.3.3),
 * and returns in md the digest the message signature's reference to it
 * needs.  The assertion's own reference excludes its signature, so the
 * parts before and after the signature are written apart and digested
 * together first.
 */
static void
put_assertion(struct w *w, const wss_signer *s, const struct wss_claims *c, const char *audience, int ttl,
    const char *id, unsigned char md[32])
{
	hie_buf       tail, refs;
	struct w      wt = { &tail, HIE_OK }, wr = { &refs, HIE_OK };
	char          now[32], until[32], before[32];
	time_t        t = time(NULL);
	size_t        start = w->b->len, head_end;
	unsigned char inner[32];
	EVP_MD_CTX   *ctx;

	iso_time(t, now);
	iso_time(t - 5, before);
	iso_time(t + ttl, until);
	put(w, "<saml2:Assertion xmlns:saml2=\"" SAML_NS "\" ID=\"", id, "\" IssueInstant=\"", now,
	    "\" Version=\"2.0\"><saml2:Issuer Format=\"" SAML_FORMAT_X509 "\">", NULL);
	put_esc(w, s->issuer, 0);
	put(w, "</saml2:Issuer>", NULL);
	head_end = w->b->len;

	hie_buf_init(&tail, 64 * 1024);
	wt.e = hie_buf_reserve(&tail, 4096);
	put(&wt, "<saml2:Subject><saml2:NameID Format=\"" SAML_FORMAT_UNSPEC "\">", NULL);
	put_esc(&wt, c->subject_id, 0);
	put(&wt, "</saml2:NameID><saml2:SubjectConfirmation Method=\"" SAML_SENDER_VOUCHES "\"></saml2:SubjectConfirmation>",
	    "</saml2:Subject><saml2:Conditions NotBefore=\"", before, "\" NotOnOrAfter=\"", until,
	    "\"><saml2:AudienceRestriction><saml2:Audience>", NULL);
	put_esc(&wt, audience, 0);
	put(&wt, "</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant=\"", now,
	    "\"><saml2:AuthnContext><saml2:AuthnContextClassRef>" SAML_AC_X509
	    "</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement><saml2:AttributeStatement>",
	    NULL);
	for (size_t i = 0; i < wss_nclaims; i++) {
		const char *v = (const char *) c + wss_claim_attrs[i].off;
		if (v[0] != '\0')
			put_claim(&wt, &wss_claim_attrs[i], v);
	}
	put(&wt, "</saml2:AttributeStatement></saml2:Assertion>", NULL);

	if (w->e == HIE_OK && wt.e == HIE_OK) {
		if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, dsig_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, w->b->data + start, head_end - start) != 1 ||
		    EVP_DigestUpdate(ctx, tail.data, tail.len) != 1 || EVP_DigestFinal_ex(ctx, inner, NULL) != 1)
			w->e = HIE_ECRYPTO;
		EVP_MD_CTX_free(ctx);
	}
	hie_buf_init(&refs, 4096);
	wr.e = hie_buf_reserve(&refs, 512);
	put_reference(&wr, id, 1, inner);
	if (w->e == HIE_OK)
		w->e = wt.e != HIE_OK ? wt.e : wr.e;
	if (w->e == HIE_OK)
		put_signature(w, s, &refs, NULL);
	if (w->e == HIE_OK)
		w->e = hie_buf_add(w->b, tail.data, tail.len);
	if (w->e == HIE_OK)
		digest(w->b, start, md);
	hie_buf_free(&tail);
	hie_buf_free(&refs);
}

/* The start tag of the Envelope or the Header as the tree has it (its
 * namespace declarations and attributes): the canonical parts inside
 * declare what they use themselves, these keep whatever else the
 * caller's envelope declared in scope. */
static void
put_start_tag(struct w *w, const xmlNode *n)
{
	put(w, "<", NULL);
	put_qname(w, n->ns, n->name);
	for (const xmlNs *d = n->nsDef; d != NULL; d = d->next) {
		put(w, d->prefix != NULL ? " xmlns:" : " xmlns", d->prefix != NULL ? (const char *) d->prefix : "", "=\"", NULL);
		put_esc(w, (const char *) d->href, 1);
		put(w, "\"", NULL);
	}
	for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
		put(w, " ", NULL);
		put_qname(w, a->ns, a->name);
		put(w, "=\"", NULL);
		for (const xmlNode *t = a->children; t != NULL; t = t->next)
			if (t->type == XML_TEXT_NODE && t->content != NULL)
				put_esc(w, (const char *) t->content, 1);
		put(w, "\"", NULL);
	}
	put(w, ">", NULL);
}

static void
put_end_tag(struct w *w, const xmlNode *n)
{
	put(w, "</", NULL);
	put_qname(w, n->ns, n->name);
	put(w, ">", NULL);
}

/*
 * Drops from the start tag of the canonical element at b->data[from..]
 * the namespace declarations that are already in force where it is sent:
 * those the Envelope (root) or the Header (hdr, may be NULL) declare with
 * the same prefix and URI, the nearer one counting.  Exclusive C14N writes
 * every namespace an element uses on it, and a receiver would parse each
 * of them again (a URI check, a dictionary lookup, an allocation: a tenth
 * of parsing our request).  The element parses to the same tree without
 * them, so its canonical form -- what was digested -- is unchanged.
 */
static void
drop_declared(hie_buf *b, size_t from, const xmlNode *root, const xmlNode *hdr)
{
	char *p = b->data + from, *end = b->data + b->len, *out;

	/* A canonical start tag: <qname, then ' name="value"' (values hold no
	 * '"': C14N writes &quot;), then '>'. */
	p += strcspn(p, " >");
	out = p;
	while (p < end && *p == ' ') {
		char  *name = p + 1, *eq = strchr(name, '='), *val, *close;
		size_t nlen, vlen;
		int    drop = 0;
		if (eq == NULL || eq[1] != '"' || (close = strchr(eq + 2, '"')) == NULL)
			break; /* not what C14N writes: leave the rest as it is */
		nlen = (size_t) (eq - name);
		val = eq + 2;
		vlen = (size_t) (close - val);
		if ((nlen == 5 || (nlen > 6 && name[5] == ':')) && strncmp(name, "xmlns", 5) == 0) {
			const char *prefix = nlen == 5 ? NULL : name + 6;
			size_t      plen = nlen == 5 ? 0 : nlen - 6;
			for (const xmlNode *n = hdr != NULL ? hdr : root; n != NULL && !drop; n = n == hdr ? root : NULL) {
				const xmlNs *d;
				for (d = n->nsDef; d != NULL; d = d->next)
					if (prefix == NULL ? d->prefix == NULL
					                   : d->prefix != NULL && strlen((const char *) d->prefix) == plen &&
					                         strncmp((const char *) d->prefix, prefix, plen) == 0)
						break;
				if (d == NULL)
					continue; /* not declared here: look further out */
				drop = d->href != NULL && strlen((const char *) d->href) == vlen &&
				       strncmp((const char *) d->href, val, vlen) == 0;
				break; /* the nearest declaration of the prefix decides */
			}
		}
		if (!drop) {
			memmove(out, p, (size_t) (close + 1 - p));
			out += close + 1 - p;
		}
		p = close + 1;
	}
	if (out != p) {
		memmove(out, p, (size_t) (end - p));
		b->len -= (size_t) (p - out);
		b->data[b->len] = '\0';
	}
}

/* A default namespace declared on the Envelope or the Header.  A canonical
 * part in no namespace would take it on when parsed where we put it
 * (exclusive C14N does not write xmlns="" at its top), so such a part is
 * refused: SOAP 1.2 wants header blocks namespace-qualified anyway. */
static int
default_ns_declared(const xmlNode *root, const xmlNode *hdr)
{
	for (const xmlNode *n = root; n != NULL; n = n == root ? hdr : NULL)
		for (const xmlNs *d = n->nsDef; d != NULL; d = d->next)
			if (d->prefix == NULL && d->href != NULL && d->href[0] != '\0')
				return 1;
	return 0;
}

/* Is wsu, the Envelope's declaration of the WSS utility namespace, the
 * prefix "wsu" in force inside the Header (which could redeclare it)? */
static int
wsu_in_force(const xmlNs *wsu, const xmlNode *hdr)
{
	if (wsu->prefix == NULL || strcmp((const char *) wsu->prefix, "wsu") != 0)
		return 0;
	for (const xmlNs *d = hdr->nsDef; d != NULL; d = d->next)
		if (d->prefix != NULL && strcmp((const char *) d->prefix, "wsu") == 0)
			return 0;
	return 1;
}

/* The wsa headers the message signature covers, in the order of its
 * references. */
static const char *const wsa_signed[] = { "Action", "MessageID", "To", "RelatesTo" };
#define NWSA (sizeof(wsa_signed) / sizeof(wsa_signed[0]))

hie_err
wss_sign_text(const wss_signer *s, xmlDoc *env, const struct wss_claims *claims, const char *audience, int ttl_s,
    char **out, size_t *len)
{
	xmlNode      *root = xmlDocGetRootElement(env), *hdr, *body, *wsa[NWSA];
	xmlNs        *wsu;
	hie_buf       o, bodyc, refs;
	struct w      w = { &o, HIE_OK }, wr = { &refs, HIE_OK };
	char          tag[37], aid[37], id[NWSA + 3][DSIG_ID_MAX], created[32], expires[32];
	unsigned char md_body[32], md_wsa[NWSA][32], md[32];
	time_t        t = time(NULL);
	size_t        from;
	int           dflt;
	const char   *soap_prefix;

	*out = NULL;
	*len = 0;
	hdr = root != NULL ? hie_xml_child(root, SOAP_NS_ENV, "Header") : NULL;
	body = root != NULL ? hie_xml_child(root, SOAP_NS_ENV, "Body") : NULL;
	if (hdr == NULL || body == NULL)
		return HIE_ESOAP;
	if (claims != NULL && (!xml_text_ok(claims->subject_id) || !xml_text_ok(claims->subject_role) ||
	                          !xml_text_ok(claims->organization) || !xml_text_ok(claims->organization_id) ||
	                          !xml_text_ok(claims->home_community) || !xml_text_ok(claims->purpose_of_use) ||
	                          (audience != NULL && !xml_text_ok(audience))))
		return HIE_EINVAL;
	/* One UUID tags the message's wsu:Ids (their prefixes differ); the
	 * assertion ID, which replay caches key on, has its own. */
	hie_uuid(tag);
	hie_uuid(aid);
	dflt = default_ns_declared(root, hdr);

	/* The tree parts get their wsu:Id (replacing any they had). */
	if ((wsu = xmlSearchNsByHref(env, root, BAD_CAST WSS_NS_UTIL)) == NULL &&
	    (wsu = xmlNewNs(root, BAD_CAST WSS_NS_UTIL, BAD_CAST "wsu")) == NULL)
		return HIE_ENOMEM;
	for (size_t i = 0; i < NWSA; i++) {
		wsa[i] = hie_xml_child(hdr, SOAP_NS_WSA, wsa_signed[i]);
		snprintf(id[i], DSIG_ID_MAX, "%s-%s", wsa_signed[i], tag);
		if (wsa[i] != NULL && xmlSetNsProp(wsa[i], wsu, BAD_CAST "Id", BAD_CAST id[i]) == NULL)
			return HIE_ENOMEM;
	}
	snprintf(id[NWSA], DSIG_ID_MAX, "Body-%s", tag);
	snprintf(id[NWSA + 1], DSIG_ID_MAX, "TS-%s", tag);
	snprintf(id[NWSA + 2], DSIG_ID_MAX, "X509-%s", tag);
	if (xmlSetNsProp(body, wsu, BAD_CAST "Id", BAD_CAST id[NWSA]) == NULL)
		return HIE_ENOMEM;

	/* The Body first: its digest goes into the signature, which the
	 * Header carries before it. */
	hie_buf_init(&o, INT_MAX);
	hie_buf_init(&bodyc, INT_MAX);
	hie_buf_init(&refs, 64 * 1024);
	if ((w.e = dsig_c14n_append(body, &bodyc)) == HIE_OK) {
		digest(&bodyc, 0, md_body);
		drop_declared(&bodyc, 0, root, NULL);
		/* The header comes to some 6 KiB with an assertion: one
		 * allocation for the whole message. */
		w.e = hie_buf_reserve(&o, bodyc.len + 8192);
	}
	if (w.e == HIE_OK)
		w.e = hie_buf_reserve(&refs, 2048);

	put_start_tag(&w, root);
	put_start_tag(&w, hdr);
	for (const xmlNode *h = hdr->children; h != NULL && w.e == HIE_OK; h = h->next) {
		if (h->type != XML_ELEMENT_NODE)
			continue; /* whitespace, comments: SOAP gives them no meaning */
		if (h->ns == NULL && dflt) {
			w.e = HIE_ESOAP;
			break;
		}
		from = o.len;
		w.e = dsig_c14n_append(h, &o);
		for (size_t i = 0; i < NWSA; i++)
			if (h == wsa[i] && w.e == HIE_OK)
				digest(&o, from, md_wsa[i]);
		if (w.e == HIE_OK)
			drop_declared(&o, from, root, hdr);
	}

	/* wsse:Security: it is not signed itself, its parts are. */
	soap_prefix = hdr->ns->prefix != NULL ? (const char *) hdr->ns->prefix : "soapenv";
	put(&w, "<wsse:Security xmlns:wsse=\"" WSS_NS_SEC "\"", NULL);
	if (!wsu_in_force(wsu, hdr))
		put(&w, " xmlns:wsu=\"" WSS_NS_UTIL "\"", NULL);
	if (hdr->ns->prefix == NULL)
		put(&w, " xmlns:soapenv=\"", (const char *) hdr->ns->href, "\"", NULL);
	put(&w, " ", soap_prefix, ":mustUnderstand=\"true\">", NULL);
	iso_time(t, created);
	iso_time(t + ttl_s, expires);
	/* The timestamp is digested in canonical form, which declares wsu on
	 * it, and sent without that declaration: Security's is in force. */
	{
		char ts[512];
		int  n = snprintf(ts, sizeof(ts),
		     "<wsu:Timestamp xmlns:wsu=\"" WSS_NS_UTIL "\" wsu:Id=\"%s\"><wsu:Created>%s</wsu:Created>"
		     "<wsu:Expires>%s</wsu:Expires></wsu:Timestamp>",
		     id[NWSA + 1], created, expires);
		if (EVP_Digest(ts, (size_t) n, md, NULL, dsig_sha256(), NULL) != 1 && w.e == HIE_OK)
			w.e = HIE_ECRYPTO;
		put(&w, "<wsu:Timestamp wsu:Id=\"", id[NWSA + 1], "\"><wsu:Created>", created, "</wsu:Created><wsu:Expires>",
		    expires, "</wsu:Expires></wsu:Timestamp>", NULL);
	}
	put_reference(&wr, id[NWSA + 1], 0, md);
	put(&w, "<wsse:BinarySecurityToken EncodingType=\"" WSS_BST_ENCODING "\" ValueType=\"" WSS_BST_VALUETYPE
	        "\" wsu:Id=\"", id[NWSA + 2], "\">", s->cert_b64, "</wsse:BinarySecurityToken>", NULL);
	if (claims != NULL && w.e == HIE_OK) {
		char as_id[40];
		snprintf(as_id, sizeof(as_id), "_%s", aid); /* an NCName: no leading digit */
		put_assertion(&w, s, claims, audience != NULL ? audience : "", ttl_s, as_id, md);
		put_reference(&wr, as_id, 0, md);
	}
	for (size_t i = 0; i < NWSA; i++)
		if (wsa[i] != NULL)
			put_reference(&wr, id[i], 0, md_wsa[i]);
	put_reference(&wr, id[NWSA], 0, md_body);
	if (w.e == HIE_OK && (w.e = wr.e) == HIE_OK)
		put_signature(&w, s, &refs, id[NWSA + 2]);
	put(&w, "</wsse:Security>", NULL);
	put_end_tag(&w, hdr);
	if (w.e == HIE_OK)
		w.e = hie_buf_add(&o, bodyc.data, bodyc.len);
	put_end_tag(&w, root);

	hie_buf_free(&bodyc);
	hie_buf_free(&refs);
	if (w.e != HIE_OK) {
		hie_buf_free(&o);
		return w.e;
	}
	*out = hie_buf_take(&o, len);
	return HIE_OK;
}

/* The tree form, for callers that go on working on the signed message
 * (tests, tools): the text parsed back into env. */
hie_err
wss_sign(const wss_signer *s, xmlDoc *env, const struct wss_claims *claims, const char *audience, int ttl_s)
{
	/* Our own output: the size and depth of the caller's tree. */
	static const struct hie_xml_limits own = { INT_MAX, 256, 1024, 1024 };
	xmlDoc  *d = NULL;
	xmlNode *root;
	char    *text, why[64];
	size_t   len;
	hie_err  e;

	if ((e = wss_sign_text(s, env, claims, audience, ttl_s, &text, &len)) != HIE_OK)
		return e;
	e = hie_xml_parse(text, len, &own, &d);
	free(text);
	if (e != HIE_OK)
		return e;
	if ((root = xmlDocCopyNode(xmlDocGetRootElement(d), env, 1)) == NULL) {
		xmlFreeDoc(d);
		return HIE_ENOMEM;
	}
	xmlFreeDoc(d);
	xmlFreeNode(xmlDocSetRootElement(env, root));
	return dsig_register_ids(env, why, sizeof(why));
}
