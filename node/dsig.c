/*
 * node/dsig.c -- narrowed XML-DSig signing and verification.
 *
 * References are digested and SignedInfo signed/verified here with
 * libxml2's exclusive C14N and OpenSSL's EVP, not with xmlsec's DSig
 * context: xmlsec evaluates each "#id" reference as an XPath node set over
 * the whole document, which was most of the cost of a signed message (see
 * docs/benchmarks.md, soap).  The policy is the same: only what precheck
 * allows gets this far.  Ids are looked up in libxml2's id table, which
 * dsig_register_ids fills.
 */
#include "node/dsig.h"
#include "node/xml.h"

#include <libxml/c14n.h>
#include <libxml/hash.h>
#include <libxml/valid.h>
#include <libxml/xmlIO.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WSU_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define ALG_EXC_C14N DSIG_ALG_EXC_C14N
#define ALG_ENVELOPED DSIG_ALG_ENVELOPED
#define ALG_SHA256 DSIG_ALG_SHA256
#define ALG_ECDSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
#define ALG_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

const char *const dsig_id_attrs[] = { "Id", "ID", NULL };

const char *
dsig_node_id(const xmlNode *n)
{
	for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
		int named = strcmp((const char *) a->name, "Id") == 0 || strcmp((const char *) a->name, "ID") == 0;
		/* wsu:Id, or an unqualified Id/ID: nothing else names an id. */
		if (named && (a->ns == NULL || strcmp((const char *) a->ns->href, WSU_NS) == 0) && a->children != NULL)
			return (const char *) a->children->content;
	}
	return NULL;
}

/* ---- canonicalisation and digests without xmlsec's node sets ----
 *
 * xmlsec canonicalises a "#id" reference by building the referenced
 * subtree as an XPath node set and testing every node of the document
 * against it (quadratic in the message).  A same-document "#id" reference
 * is exactly "the element and everything inside it, minus comments" (minus
 * the enclosing signature with the enveloped transform), which a callback
 * can answer by walking parents.  libxml2's exclusive C14N does the rest,
 * streaming into the digest or signature context as it goes.
 */

/* SHA-256 fetched once: OpenSSL 3 otherwise looks the implementation up
 * again in every EVP_DigestInit/SignInit/VerifyInit with EVP_sha256(). */
static EVP_MD        *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md != NULL ? sha256_md : EVP_sha256();
}

const EVP_MD *
dsig_sha256(void)
{
	return sha256();
}

struct vis {
	const xmlNode *apex;    /* the referenced element */
	const xmlNode *exclude; /* the enveloped signature, or NULL */
};

static int
visible(void *user, xmlNodePtr node, xmlNodePtr parent)
{
	const struct vis *v = user;
	const xmlNode    *n = node;

	/* Namespace and attribute nodes belong to the element given as parent. */
	if (node == NULL)
		return 0;
	if (node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE)
		n = parent;
	for (; n != NULL; n = n->parent) {
		if (n == v->exclude)
			return 0;
		if (n == v->apex)
			return 1;
	}
	return 0;
}

/* Where canonical bytes go: a digest (md) or a buffer (hb). */
struct sink {
	EVP_MD_CTX *md;
	hie_buf    *hb;
	int         failed;
	hie_err     err; /* hb's error, when it failed */
};

static int
sink_write(void *ctx, const char *buf, int len)
{
	struct sink *s = ctx;
	int          ok;

	if (s->hb != NULL)
		ok = (s->err = hie_buf_add(s->hb, buf, (size_t) len)) == HIE_OK;
	else
		ok = EVP_DigestUpdate(s->md, buf, (size_t) len);
	if (ok != 1) {
		s->failed = 1;
		return -1;
	}
	return len;
}

/*
 * Exclusive C14N (without comments) of one element's subtree, written
 * directly: libxml2's xmlC14NExecute visits every node of the document for
 * each reference and builds lists for each element's namespaces and
 * attributes, which was a third of a signed message's time.  What a "#id"
 * reference selects is simple -- the element and all inside it, minus the
 * enveloped signature -- so the rules reduce to (W3C exc-c14n 3.1, C14N
 * 2.2-2.3): a namespace is output on an element that visibly uses it (its
 * own prefix, or a prefixed attribute's) unless the nearest output
 * ancestor already output the same prefix with the same value; the default
 * namespace is "" at the top (so xmlns="" only undoes an output default);
 * namespace declarations sorted by prefix, attributes by (namespace URI,
 * local name); text and attribute values escaped as C14N says.  Anything
 * unusual in the subtree (entity references, an InclusiveNamespaces
 * PrefixList) goes to libxml2 instead; tests/unit/test_dsig_c14n.c checks
 * both agree.
 */

struct c14n_ns {
	const char *prefix; /* "" for the default namespace */
	const char *href;
};

struct c14n {
	struct sink   *sink;
	struct sink   *sink2;  /* NULL, or what also gets all but the subtree mute2 */
	const xmlNode *mute2;
	int            muted2; /* inside mute2 now */
	char           buf[4096];
	size_t         n;
	const xmlNode *exclude;
	struct c14n_ns *stack; /* namespaces output by open ancestors */
	size_t          nstack, cap;
	int             failed;
};

static void
c_flush(struct c14n *c)
{
	if (c->n > 0 && sink_write(c->sink, c->buf, (int) c->n) < 0)
		c->failed = 1;
	if (c->n > 0 && c->sink2 != NULL && !c->muted2 && sink_write(c->sink2, c->buf, (int) c->n) < 0)
		c->failed = 1;
	c->n = 0;
}

static void
c_put(struct c14n *c, const char *s, size_t len)
{
	while (len > 0) {
		size_t k = sizeof(c->buf) - c->n;
		if (k == 0) {
			c_flush(c);
			k = sizeof(c->buf);
		}
		if (k > len)
			k = len;
		memcpy(c->buf + c->n, s, k);
		c->n += k;
		s += k;
		len -= k;
	}
}

static void
c_str(struct c14n *c, const char *s)
{
	c_put(c, s, strlen(s));
}

/* C14N's escaping (C14N 1.0, 2.3) of text (attr 0) or of an attribute
 * value (attr 1): the characters that need it, and the replacement of
 * each.  strcspn finds the next one: most text has none. */
static const char *
esc_stop(int attr)
{
	return attr ? "&<\"\t\n\r" : "&<>\r";
}

static const char *
esc_rep(char ch)
{
	switch (ch) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\t': return "&#x9;";
	case '\n': return "&#xA;";
	default: return "&#xD;"; /* '\r' */
	}
}

static void
c_escaped(struct c14n *c, const char *s, int attr)
{
	const char *stop = esc_stop(attr);

	for (;;) {
		size_t k = strcspn(s, stop);

		c_put(c, s, k);
		s += k;
		if (*s == '\0')
			return;
		c_str(c, esc_rep(*s++));
	}
}

hie_err
dsig_put_escaped(hie_buf *b, const char *s, int attr)
{
	const char *stop = esc_stop(attr);
	hie_err     e;

	for (;;) {
		size_t k = strcspn(s, stop);

		if ((e = hie_buf_add(b, s, k)) != HIE_OK)
			return e;
		s += k;
		if (*s == '\0')
			return HIE_OK;
		if ((e = hie_buf_addstr(b, esc_rep(*s++))) != HIE_OK)
			return e;
	}
}

static void
c_qname(struct c14n *c, const xmlNs *ns, const xmlChar *name)
{
	if (ns != NULL && ns->prefix != NULL) {
		c_str(c, (const char *) ns->prefix);
		c_put(c, ":", 1);
	}
	c_str(c, (const char *) name);
}

/* Can the direct path render this subtree?  Text-only attribute values,
 * and only elements, text, CDATA, comments and PIs inside. */
static int
fast_ok(const xmlNode *e)
{
	for (const xmlAttr *a = e->properties; a != NULL; a = a->next)
		for (const xmlNode *t = a->children; t != NULL; t = t->next)
			if (t->type != XML_TEXT_NODE)
				return 0;
	for (const xmlNode *n = e->children; n != NULL; n = n->next)
		switch (n->type) {
		case XML_ELEMENT_NODE:
			if (!fast_ok(n))
				return 0;
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		default:
			return 0;
		}
	return 1;
}

/* The value the nearest output ancestor gave prefix, or NULL. */
static const char *
rendered(const struct c14n *c, const char *prefix)
{
	for (size_t i = c->nstack; i > 0; i--)
		if (strcmp(c->stack[i - 1].prefix, prefix) == 0)
			return c->stack[i - 1].href;
	return prefix[0] == '\0' ? "" : NULL;
}

static int
ns_cmp(const void *a, const void *b)
{
	return strcmp(((const struct c14n_ns *) a)->prefix, ((const struct c14n_ns *) b)->prefix);
}

static int
attr_cmp(const void *a, const void *b)
{
	const xmlAttr *x = *(const xmlAttr *const *) a, *y = *(const xmlAttr *const *) b;
	const char    *xu = x->ns != NULL && x->ns->prefix != NULL ? (const char *) x->ns->href : "";
	const char    *yu = y->ns != NULL && y->ns->prefix != NULL ? (const char *) y->ns->href : "";
	int            r = strcmp(xu, yu);
	return r != 0 ? r : strcmp((const char *) x->name, (const char *) y->name);
}

static void c_element(struct c14n *c, const xmlNode *e);

static void
c_children(struct c14n *c, const xmlNode *e)
{
	for (const xmlNode *n = e->children; n != NULL && !c->failed; n = n->next)
		switch (n->type) {
		case XML_ELEMENT_NODE:
			if (n == c->exclude)
				break;
			if (n == c->mute2) { /* all of it to sink, none to sink2 */
				c_flush(c);
				c->muted2 = 1;
				c_element(c, n);
				c_flush(c);
				c->muted2 = 0;
				break;
			}
			c_element(c, n);
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (n->content != NULL)
				c_escaped(c, (const char *) n->content, 0);
			break;
		case XML_PI_NODE:
			c_str(c, "<?");
			c_str(c, (const char *) n->name);
			if (n->content != NULL && n->content[0] != '\0') {
				c_put(c, " ", 1);
				c_str(c, (const char *) n->content);
			}
			c_str(c, "?>");
			break;
		default: /* comments: not in a "#id" node set */
			break;
		}
}

static void
c_element(struct c14n *c, const xmlNode *e)
{
	size_t          mark = c->nstack, nattrs = 0, nns = 0;
	const xmlAttr  *small[32], **attrs = small;
	struct c14n_ns  nsmall[33], *ns = nsmall;

	for (const xmlAttr *a = e->properties; a != NULL; a = a->next)
		nattrs++;
	if (nattrs > 32) {
		attrs = malloc(nattrs * sizeof(*attrs));
		ns = malloc((nattrs + 1) * sizeof(*ns));
		if (attrs == NULL || ns == NULL) {
			c->failed = 1;
			goto out;
		}
	}
	/* The namespaces this element visibly uses, once each. */
	ns[nns].prefix = e->ns != NULL && e->ns->prefix != NULL ? (const char *) e->ns->prefix : "";
	ns[nns++].href = e->ns != NULL ? (const char *) e->ns->href : "";
	nattrs = 0;
	for (const xmlAttr *a = e->properties; a != NULL; a = a->next) {
		attrs[nattrs++] = a;
		if (a->ns != NULL && a->ns->prefix != NULL && strcmp((const char *) a->ns->prefix, "xml") != 0) {
			size_t i;
			for (i = 0; i < nns && strcmp(ns[i].prefix, (const char *) a->ns->prefix) != 0; i++)
				;
			if (i == nns) {
				ns[nns].prefix = (const char *) a->ns->prefix;
				ns[nns++].href = (const char *) a->ns->href;
			}
		}
	}
	/* Only those not already in force from an output ancestor. */
	{
		size_t k = 0;
		for (size_t i = 0; i < nns; i++) {
			const char *r = rendered(c, ns[i].prefix);
			if (r == NULL || strcmp(r, ns[i].href) != 0)
				ns[k++] = ns[i];
		}
		nns = k;
	}
	/* Insertion sorts for the usual few of each, where qsort's indirect
	 * calls cost more than the sorting; qsort past 16 (an element may
	 * carry up to [limits] max_attrs). */
	if (nns > 16)
		qsort(ns, nns, sizeof(*ns), ns_cmp);
	for (size_t i = 1; i < nns && nns <= 16; i++)
		for (size_t j = i; j > 0 && ns_cmp(&ns[j - 1], &ns[j]) > 0; j--) {
			struct c14n_ns t = ns[j];
			ns[j] = ns[j - 1];
			ns[j - 1] = t;
		}
	if (nattrs > 16)
		qsort(attrs, nattrs, sizeof(*attrs), attr_cmp);
	for (size_t i = 1; i < nattrs && nattrs <= 16; i++)
		for (size_t j = i; j > 0 && attr_cmp(&attrs[j - 1], &attrs[j]) > 0; j--) {
			const xmlAttr *t = attrs[j];
			attrs[j] = attrs[j - 1];
			attrs[j - 1] = t;
		}
	if (c->nstack + nns > c->cap) {
		size_t          cap = (c->nstack + nns) * 2 + 16;
		struct c14n_ns *s = realloc(c->stack, cap * sizeof(*s));
		if (s == NULL) {
			c->failed = 1;
			goto out;
		}
		c->stack = s;
		c->cap = cap;
	}
	c_put(c, "<", 1);
	c_qname(c, e->ns, e->name);
	for (size_t i = 0; i < nns; i++) {
		if (ns[i].prefix[0] == '\0') {
			c_str(c, " xmlns=\"");
		} else {
			c_str(c, " xmlns:");
			c_str(c, ns[i].prefix);
			c_str(c, "=\"");
		}
		c_escaped(c, ns[i].href, 1);
		c_put(c, "\"", 1);
		c->stack[c->nstack++] = ns[i];
	}
	for (size_t i = 0; i < nattrs; i++) {
		const xmlAttr *a = attrs[i];
		c_put(c, " ", 1);
		c_qname(c, a->ns != NULL && a->ns->prefix != NULL ? a->ns : NULL, a->name);
		c_str(c, "=\"");
		for (const xmlNode *t = a->children; t != NULL; t = t->next)
			if (t->content != NULL)
				c_escaped(c, (const char *) t->content, 1);
		c_put(c, "\"", 1);
	}
	c_put(c, ">", 1);
	c_children(c, e);
	c_str(c, "</");
	c_qname(c, e->ns, e->name);
	c_put(c, ">", 1);
out:
	c->nstack = mark;
	if (attrs != small)
		free((void *) attrs);
	if (ns != nsmall)
		free(ns);
}

/* The direct C14N of apex (minus exclude) into s; with s2, also into s2
 * minus the subtree mute2 (a child of apex): both digests of an element
 * that carries an enveloped signature in one walk (struct dsig_memo). */
static hie_err
c14n_direct2(const xmlNode *apex, const xmlNode *exclude, struct sink *s, struct sink *s2, const xmlNode *mute2)
{
	struct c14n c;
	hie_err     e;

	c.sink = s;
	c.sink2 = s2;
	c.mute2 = mute2;
	c.muted2 = 0;
	c.n = 0;
	c.exclude = exclude;
	c.stack = NULL;
	c.nstack = c.cap = 0;
	c.failed = 0;
	c_element(&c, apex);
	c_flush(&c);
	e = c.failed || s->failed || (s2 != NULL && s2->failed) ? HIE_ECRYPTO : HIE_OK;
	free(c.stack);
	return e;
}

static hie_err
c14n_direct(const xmlNode *apex, const xmlNode *exclude, struct sink *s)
{
	return c14n_direct2(apex, exclude, s, NULL, NULL);
}

/* libxml2's exclusive C14N with a visibility callback: the general path. */
static hie_err
c14n_libxml2(const xmlNode *apex, const xmlNode *exclude, xmlChar **prefixes, struct sink *s)
{
	struct vis         v = { apex, exclude };
	xmlOutputBufferPtr out = xmlOutputBufferCreateIO(sink_write, NULL, s, NULL);
	int                r;

	if (out == NULL)
		return HIE_ENOMEM;
	r = xmlC14NExecute(apex->doc, visible, &v, XML_C14N_EXCLUSIVE_1_0, prefixes, 0, out);
	if (xmlOutputBufferClose(out) < 0 || r < 0 || s->failed)
		return HIE_ECRYPTO;
	return HIE_OK;
}

/* Feeds the exclusive C14N (no comments) of apex's subtree, minus exclude,
 * to md.  prefixes: the InclusiveNamespaces PrefixList, or NULL. */
static hie_err
c14n_feed(const xmlNode *apex, const xmlNode *exclude, xmlChar **prefixes, EVP_MD_CTX *md)
{
	struct sink s = { md, NULL, 0, HIE_OK };

	if (prefixes == NULL && fast_ok(apex))
		return c14n_direct(apex, exclude, &s);
	return c14n_libxml2(apex, exclude, prefixes, &s);
}

/* The C14N of apex (minus exclude) appended to out, by the direct path
 * (general 0) or libxml2's (1); the buffer's own error if it failed. */
static hie_err
c14n_to_buf(const xmlNode *apex, const xmlNode *exclude, int general, hie_buf *out)
{
	struct sink s = { NULL, out, 0, HIE_OK };
	hie_err     e = general ? c14n_libxml2(apex, exclude, NULL, &s) : c14n_direct(apex, exclude, &s);

	return e != HIE_OK && s.err != HIE_OK ? s.err : e;
}

hie_err
dsig_c14n(const xmlNode *apex, const xmlNode *exclude, int general, char **out, size_t *len)
{
	hie_buf b;
	hie_err e;

	*out = NULL;
	*len = 0;
	if (!general && !fast_ok(apex))
		return HIE_EINVAL;
	hie_buf_init(&b, INT_MAX);
	if ((e = c14n_to_buf(apex, exclude, general, &b)) != HIE_OK) {
		hie_buf_free(&b);
		return e;
	}
	return (*out = hie_buf_take(&b, len)) != NULL ? HIE_OK : HIE_ENOMEM;
}

hie_err
dsig_c14n_append(const xmlNode *apex, hie_buf *out)
{
	return c14n_to_buf(apex, NULL, !fast_ok(apex), out);
}

static hie_err
digest_of(const xmlNode *apex, const xmlNode *exclude, xmlChar **prefixes, unsigned char md[32])
{
	EVP_MD_CTX  *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	hie_err      e = HIE_ECRYPTO;

	if (ctx == NULL)
		return HIE_ENOMEM;
	if (EVP_DigestInit_ex(ctx, sha256(), NULL) == 1 &&
	    (e = c14n_feed(apex, exclude, prefixes, ctx)) == HIE_OK)
		e = EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 32 ? HIE_OK : HIE_ECRYPTO;
	EVP_MD_CTX_free(ctx);
	return e;
}

/* The digest of apex whole (md) and without its child inner (md2), in one
 * walk; HIE_EINVAL if apex needs the general path. */
static hie_err
digest_pair(const xmlNode *apex, const xmlNode *inner, unsigned char md[32], unsigned char md2[32])
{
	EVP_MD_CTX  *c1 = EVP_MD_CTX_new(), *c2 = EVP_MD_CTX_new();
	struct sink  s1 = { c1, NULL, 0, HIE_OK }, s2 = { c2, NULL, 0, HIE_OK };
	unsigned int n1 = 0, n2 = 0;
	hie_err      e = HIE_ECRYPTO;

	if (!fast_ok(apex))
		e = HIE_EINVAL;
	else if (c1 != NULL && c2 != NULL && EVP_DigestInit_ex(c1, sha256(), NULL) == 1 &&
	         EVP_DigestInit_ex(c2, sha256(), NULL) == 1 && c14n_direct2(apex, NULL, &s1, &s2, inner) == HIE_OK &&
	         EVP_DigestFinal_ex(c1, md, &n1) == 1 && EVP_DigestFinal_ex(c2, md2, &n2) == 1 && n1 == 32 && n2 == 32)
		e = HIE_OK;
	EVP_MD_CTX_free(c1);
	EVP_MD_CTX_free(c2);
	return e;
}

/* Bytes of one of r and s in XML-DSig's ECDSA value (RFC 4050 / 6931):
 * the size of the curve's order. */
static int
ec_half(EVP_PKEY *pkey)
{
	return (EVP_PKEY_get_bits(pkey) + 7) / 8;
}

/*
 * ECDSA values in XML-DSig are r||s, each the size of the curve's order;
 * OpenSSL signs and verifies the DER form SEQUENCE { INTEGER r, INTEGER s }.
 * The two conversions are written out here: through ECDSA_SIG and BIGNUMs
 * they allocated five objects per signature (~1 % of a signed round trip).
 */

/* DER INTEGER of the unsigned big-endian v[n] at p (leading zeros dropped,
 * a 0x00 put back before a set top bit); returns its length.  n <= 66. */
static size_t
der_uint(unsigned char *p, const unsigned char *v, size_t n)
{
	size_t pad;

	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	pad = (v[0] & 0x80) != 0;
	p[0] = 0x02;
	p[1] = (unsigned char) (n + pad);
	p[2] = 0;
	memcpy(p + 2 + pad, v, n);
	return 2 + pad + n;
}

/* r||s (half bytes each, half <= 66) as DER into der (2 * half + 12 bytes
 * suffice); returns its length. */
static size_t
ecdsa_der(const unsigned char *raw, size_t half, unsigned char *der)
{
	unsigned char body[2 * 69];
	size_t        n = der_uint(body, raw, half), hdr = 2;

	n += der_uint(body + n, raw + half, half);
	der[0] = 0x30;
	if (n < 128) {
		der[1] = (unsigned char) n;
	} else {
		der[1] = 0x81;
		der[2] = (unsigned char) n;
		hdr = 3;
	}
	memcpy(der + hdr, body, n);
	return hdr + n;
}

/* One DER INTEGER at *p (of end) into out[half], left-padded: 0 if it is
 * not a non-negative integer that fits. */
static int
der_read_uint(const unsigned char **p, const unsigned char *end, unsigned char *out, size_t half)
{
	const unsigned char *q = *p;
	size_t               n;

	if (end - q < 2 || q[0] != 0x02 || (q[1] & 0x80) != 0 || (n = q[1]) == 0 || (size_t) (end - q - 2) < n)
		return 0;
	q += 2;
	if ((q[0] & 0x80) != 0)
		return 0; /* negative */
	while (n > 1 && q[0] == 0) {
		q++;
		n--;
	}
	if (n > half)
		return 0;
	memset(out, 0, half - n);
	memcpy(out + half - n, q, n);
	*p = q + n;
	return 1;
}

/* The DER signature der[len] OpenSSL made, as r||s into raw[2 * half]. */
static int
ecdsa_raw(const unsigned char *der, size_t len, unsigned char *raw, size_t half)
{
	const unsigned char *p = der + 2, *end = der + len;

	if (len < 8 || der[0] != 0x30)
		return 0;
	if (der[1] == 0x81)
		p++;
	else if ((der[1] & 0x80) != 0)
		return 0;
	return der_read_uint(&p, end, raw, half) && der_read_uint(&p, end, raw + half, half) && p == end;
}

/* ---- prepared keys ----
 *
 * EVP_DigestSignInit/EVP_DigestVerifyInit make a new EVP_PKEY_CTX each
 * time, and in OpenSSL 3 that costs a quarter of an ECDSA P-256 signature
 * (provider lookups, key export to the provider).  A dsig_key keeps
 * contexts initialised once for its key (sign or verify, SHA-256) and
 * lends one to each operation: SignedInfo's C14N is hashed with our own
 * digest context and the hash signed or verified with EVP_PKEY_sign or
 * EVP_PKEY_verify, which is what EVP_DigestSign does inside.  A context
 * serves one thread at a time, hence the pool.
 */
#define KEY_POOL 8

struct dsig_key {
	EVP_PKEY       *pkey;
	int             sign;
	pthread_mutex_t mtx;
	unsigned        refs; /* under mtx */
	EVP_PKEY_CTX   *idle[KEY_POOL];
	int             nidle;
};

hie_err
dsig_key_new(EVP_PKEY *pkey, int sign, dsig_key **out)
{
	dsig_key *k;

	*out = NULL;
	if (pkey == NULL)
		return HIE_EINVAL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return HIE_ENOMEM;
	if (EVP_PKEY_up_ref(pkey) != 1) {
		free(k);
		return HIE_ECRYPTO;
	}
	k->pkey = pkey;
	k->sign = sign;
	k->refs = 1;
	pthread_mutex_init(&k->mtx, NULL);
	*out = k;
	return HIE_OK;
}

dsig_key *
dsig_key_ref(dsig_key *k)
{
	pthread_mutex_lock(&k->mtx);
	k->refs++;
	pthread_mutex_unlock(&k->mtx);
	return k;
}

void
dsig_key_unref(dsig_key *k)
{
	unsigned left;

	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mtx);
	left = --k->refs;
	pthread_mutex_unlock(&k->mtx);
	if (left > 0)
		return;
	for (int i = 0; i < k->nidle; i++)
		EVP_PKEY_CTX_free(k->idle[i]);
	EVP_PKEY_free(k->pkey);
	pthread_mutex_destroy(&k->mtx);
	free(k);
}

EVP_PKEY *
dsig_key_pkey(const dsig_key *k)
{
	return k->pkey;
}

/* An initialised context of k's (from the pool or new), or NULL. */
static EVP_PKEY_CTX *
key_take(dsig_key *k)
{
	EVP_PKEY_CTX *c = NULL;

	pthread_mutex_lock(&k->mtx);
	if (k->nidle > 0)
		c = k->idle[--k->nidle];
	pthread_mutex_unlock(&k->mtx);
	if (c != NULL)
		return c;
	if ((c = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
	    (k->sign ? EVP_PKEY_sign_init(c) : EVP_PKEY_verify_init(c)) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(c, sha256()) != 1) {
		EVP_PKEY_CTX_free(c);
		return NULL;
	}
	return c;
}

static void
key_give(dsig_key *k, EVP_PKEY_CTX *c)
{
	pthread_mutex_lock(&k->mtx);
	if (k->nidle < KEY_POOL) {
		k->idle[k->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&k->mtx);
	EVP_PKEY_CTX_free(c);
}

const char *
dsig_key_alg(const dsig_key *k)
{
	return EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_EC ? ALG_ECDSA_SHA256 : ALG_RSA_SHA256;
}

/* Signs the canonical SignedInfo si[len] with key into *b64 (malloc'd):
 * ECDSA as r||s (XML-DSig's form, not DER). */
hie_err
dsig_sign_c14n(dsig_key *key, const char *si, size_t len, char **b64)
{
	EVP_PKEY            *pkey = key->pkey;
	EVP_PKEY_CTX        *ctx = NULL;
	unsigned char        der[512], raw[264], md[32];
	size_t               dlen = sizeof(der);
	hie_err              e = HIE_ECRYPTO;

	*b64 = NULL;
	if (!key->sign || EVP_PKEY_get_size(pkey) > (int) sizeof(der) ||
	    EVP_Digest(si, len, md, NULL, sha256(), NULL) != 1 || (ctx = key_take(key)) == NULL)
		goto done;
	if (EVP_PKEY_sign(ctx, der, &dlen, md, sizeof(md)) != 1) {
		EVP_PKEY_CTX_free(ctx); /* its state is unknown: not back to the pool */
		ctx = NULL;
		goto done;
	}
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
		int half = ec_half(pkey);
		if (2 * half > (int) sizeof(raw) || !ecdsa_raw(der, dlen, raw, (size_t) half))
			goto done;
		e = hie_base64_encode(raw, (size_t) (2 * half), b64, NULL);
	} else {
		e = hie_base64_encode(der, dlen, b64, NULL);
	}
done:
	if (ctx != NULL)
		key_give(key, ctx);
	ERR_clear_error();
	return e;
}

/* The element whose id attribute (registered with dsig_register_ids or
 * xmlAddID) has this value, or NULL. */
static xmlNode *
by_id(xmlDoc *doc, const char *id)
{
	xmlAttr *a = xmlGetID(doc, BAD_CAST id);
	return a != NULL && a->parent != NULL && a->parent->type == XML_ELEMENT_NODE ? a->parent : NULL;
}

/*
 * Every attribute named Id or ID counts, whatever its namespace: a "#x"
 * reference resolves through any of them (and through xml:id, which the
 * parser registers), so an id value must be unique among all of them or a
 * reference could resolve to another element than the one we check.
 */
static void
collect_ids(xmlNode *n, int *dup)
{
	for (; n != NULL && !*dup; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (xmlAttr *a = n->properties; a != NULL && !*dup; a = a->next) {
			xmlAttr *known;
			if ((strcmp((const char *) a->name, "Id") != 0 && strcmp((const char *) a->name, "ID") != 0) ||
			    a->children == NULL || a->children->content == NULL)
				continue;
			/* libxml2's id table is the one lookup: registered once
			 * (wss_sign registers the assertion before the rest). */
			if ((known = xmlGetID(n->doc, a->children->content)) == a)
				continue;
			if (known != NULL || xmlAddID(NULL, n->doc, a->children->content, a) == NULL)
				*dup = 1;
		}
		collect_ids(n->children, dup);
	}
}

hie_err
dsig_register_ids(xmlDoc *doc, char *why, size_t whycap)
{
	int dup = 0;

	/* libxml2 makes a document's id table with 256 slots on the first
	 * xmlAddID (a 12 KiB table cleared per message); a signed message
	 * has some ten ids, and the table grows by itself if there are more. */
	if (doc->ids == NULL)
		doc->ids = xmlHashCreateDict(16, doc->dict);
	collect_ids(xmlDocGetRootElement(doc), &dup);
	if (dup) {
		snprintf(why, whycap, "an element id appears twice");
		return HIE_ESIG;
	}
	return HIE_OK;
}

static const char *
alg_of(const xmlNode *n)
{
	const char *a = hie_xml_attr(n, "Algorithm");
	return a != NULL ? a : "(none)";
}

static int
alg_in(const char *alg, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(alg, *allowed) == 0)
			return 1;
	return 0;
}

/*
 * Reads SignedInfo before anything is computed, so that each thing we do
 * not accept is refused with its own reason: the
 * canonicalization, signature and digest methods, the transforms, and
 * each reference being "#id" naming an element of this document.
 */
static hie_err
precheck(xmlNode *sig, char *why, size_t whycap)
{
	static const char *const c14n[] = { "http://www.w3.org/2001/10/xml-exc-c14n#", NULL };
	static const char *const sigm[] = { "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", NULL };
	static const char *const digm[] = { "http://www.w3.org/2001/04/xmlenc#sha256", NULL };
	static const char *const xfrm[] = { "http://www.w3.org/2001/10/xml-exc-c14n#",
		"http://www.w3.org/2000/09/xmldsig#enveloped-signature", NULL };
	static const char *const parts[] = { "SignedInfo", "SignatureValue", "KeyInfo", "Object" };
	xmlNode *si = hie_xml_child(sig, DSIG_NS, "SignedInfo"), *m;
	int      n = 0;
	size_t   at = 0;

	/* XML-DSig's content model, in order: anything else inside the
	 * signature (a hidden copy of a signed element, say) is refused. */
	for (xmlNode *c = sig->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE && xmlIsBlankNode(c))
			continue;
		if (c->type == XML_COMMENT_NODE)
			continue;
		while (at < 4 && (c->type != XML_ELEMENT_NODE || c->ns == NULL ||
		                     strcmp((const char *) c->ns->href, DSIG_NS) != 0 ||
		                     strcmp((const char *) c->name, parts[at]) != 0))
			at++;
		if (at == 4) {
			snprintf(why, whycap, "unexpected %.60s in ds:Signature",
			    c->type == XML_ELEMENT_NODE ? (const char *) c->name : "text");
			return HIE_ESIG;
		}
		if (at < 3)
			at++; /* SignedInfo, SignatureValue, KeyInfo once; Object repeats */
	}
	if (si == NULL) {
		snprintf(why, whycap, "signature has no SignedInfo");
		return HIE_ESIG;
	}
	m = hie_xml_child(si, DSIG_NS, "CanonicalizationMethod");
	if (!alg_in(alg_of(m), c14n)) {
		snprintf(why, whycap, "canonicalization method %.100s not allowed", alg_of(m));
		return HIE_ESIG;
	}
	m = hie_xml_child(si, DSIG_NS, "SignatureMethod");
	if (!alg_in(alg_of(m), sigm)) {
		snprintf(why, whycap, "signature method %.100s not allowed", alg_of(m));
		return HIE_ESIG;
	}
	for (xmlNode *r = hie_xml_child(si, DSIG_NS, "Reference"); r != NULL; r = hie_xml_next(r, DSIG_NS, "Reference")) {
		const char *uri = hie_xml_attr(r, "URI");
		xmlNode    *ts = hie_xml_child(r, DSIG_NS, "Transforms");
		if (++n > DSIG_MAX_REFS) {
			snprintf(why, whycap, "too many references");
			return HIE_ESIG;
		}
		if (uri == NULL || uri[0] != '#' || uri[1] == '\0' || strchr(uri, '(') != NULL) {
			snprintf(why, whycap, "reference URI %.100s not allowed (only #id)", uri ? uri : "(none)");
			return HIE_ESIG;
		}
		if (xmlGetID(sig->doc, BAD_CAST uri + 1) == NULL) {
			snprintf(why, whycap, "reference %.100s names no element", uri);
			return HIE_ESIG;
		}
		for (xmlNode *t = hie_xml_child(ts, DSIG_NS, "Transform"); t != NULL; t = hie_xml_next(t, DSIG_NS, "Transform"))
			if (!alg_in(alg_of(t), xfrm)) {
				snprintf(why, whycap, "transform %.100s not allowed", alg_of(t));
				return HIE_ESIG;
			}
		m = hie_xml_child(r, DSIG_NS, "DigestMethod");
		if (!alg_in(alg_of(m), digm)) {
			snprintf(why, whycap, "digest method %.100s not allowed", alg_of(m));
			return HIE_ESIG;
		}
	}
	if (n == 0) {
		snprintf(why, whycap, "signature has no reference");
		return HIE_ESIG;
	}
	return HIE_OK;
}

/* The next element sibling from n on (n included), skipping comments and
 * whitespace; *junk set if anything else (text) is met. */
static xmlNode *
elem_from(xmlNode *n, int *junk)
{
	for (; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE)
			return n;
		if (n->type == XML_COMMENT_NODE || (n->type == XML_TEXT_NODE && xmlIsBlankNode(n)))
			continue;
		*junk = 1;
	}
	return NULL;
}

static int
is_ds(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && strcmp((const char *) n->ns->href, DSIG_NS) == 0 &&
	       strcmp((const char *) n->name, name) == 0;
}

#define MAX_PREFIXES 16
struct prefixes {
	char     text[256];
	xmlChar *list[MAX_PREFIXES + 1];
	int      n;
};

/*
 * Reads an exclusive C14N method or transform: nothing inside it but an
 * optional ec:InclusiveNamespaces whose PrefixList goes into p.
 */
static hie_err
read_c14n_params(const xmlNode *m, struct prefixes *p, char *why, size_t whycap)
{
	int      junk = 0;
	xmlNode *c = elem_from(m->children, &junk), *more;
	char    *save = NULL, *tok;

	memset(p, 0, sizeof(*p));
	if (c == NULL && !junk)
		return HIE_OK;
	more = c != NULL ? elem_from(c->next, &junk) : NULL;
	if (junk || more != NULL || c == NULL || c->ns == NULL || strcmp((const char *) c->ns->href, ALG_EXC_C14N) != 0 ||
	    strcmp((const char *) c->name, "InclusiveNamespaces") != 0) {
		snprintf(why, whycap, "unexpected content in a canonicalization method");
		return HIE_ESIG;
	}
	if (hie_strlcpy(p->text, hie_xml_attr(c, "PrefixList") ? hie_xml_attr(c, "PrefixList") : "", sizeof(p->text)) != HIE_OK) {
		snprintf(why, whycap, "InclusiveNamespaces PrefixList too long");
		return HIE_ESIG;
	}
	for (tok = strtok_r(p->text, " \t\r\n", &save); tok != NULL; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (p->n == MAX_PREFIXES) {
			snprintf(why, whycap, "InclusiveNamespaces PrefixList too long");
			return HIE_ESIG;
		}
		p->list[p->n++] = BAD_CAST tok;
	}
	return HIE_OK;
}

/* Base64 text of n decoded into out[cap]; the decoded length, or -1. */
static long
b64_value(const xmlNode *n, unsigned char *out, size_t cap)
{
	char   text[2048], *bin = NULL;
	size_t len;
	long   r = -1;

	if (hie_xml_text(n, text, sizeof(text)) != HIE_OK || hie_base64_decode(text, strlen(text), cap, &bin, &len) != HIE_OK)
		return -1;
	if (len <= cap) {
		memcpy(out, bin, len);
		r = (long) len;
	}
	free(bin);
	return r;
}

/* apex's first child that is a ds:Signature (an enveloped signature), or NULL. */
static xmlNode *
signature_child(const xmlNode *apex)
{
	for (xmlNode *c = apex->children; c != NULL; c = c->next)
		if (is_ds(c, "Signature"))
			return c;
	return NULL;
}

/* Checks one Reference (already prechecked): its transforms, then its
 * digest over the element it names; the id goes to id[DSIG_ID_MAX]. */
static hie_err
check_reference(xmlNode *sig, xmlNode *ref, char *id, struct dsig_memo *memo, char *why, size_t whycap)
{
	const char     *uri = hie_xml_attr(ref, "URI");
	int             junk = 0, enveloped = 0, exc = 0, nt = 0;
	xmlNode        *c = elem_from(ref->children, &junk), *apex, *inner;
	struct prefixes p;
	unsigned char   want[64], got[32];

	memset(&p, 0, sizeof(p));
	if (is_ds(c, "Transforms")) {
		for (xmlNode *t = elem_from(c->children, &junk); t != NULL; t = elem_from(t->next, &junk)) {
			const char *alg = hie_xml_attr(t, "Algorithm");
			nt++;
			if (!is_ds(t, "Transform") || alg == NULL || exc) {
				snprintf(why, whycap, "reference %.100s: transforms must be [enveloped-signature,] exc-c14n", uri);
				return HIE_ESIG;
			}
			if (strcmp(alg, ALG_ENVELOPED) == 0 && nt == 1) {
				enveloped = 1;
			} else if (strcmp(alg, ALG_EXC_C14N) == 0) {
				hie_err e = read_c14n_params(t, &p, why, whycap);
				if (e != HIE_OK)
					return e;
				exc = 1;
			} else {
				snprintf(why, whycap, "reference %.100s: transforms must be [enveloped-signature,] exc-c14n", uri);
				return HIE_ESIG;
			}
		}
		c = elem_from(c->next, &junk);
	}
	if (!exc) {
		snprintf(why, whycap, "reference %.100s: transforms must be [enveloped-signature,] exc-c14n", uri);
		return HIE_ESIG;
	}
	if (!is_ds(c, "DigestMethod") || !is_ds(c = elem_from(c->next, &junk), "DigestValue") ||
	    elem_from(c->next, &junk) != NULL || junk) {
		snprintf(why, whycap, "reference %.100s is not Transforms, DigestMethod, DigestValue", uri);
		return HIE_ESIG;
	}
	if ((apex = by_id(sig->doc, uri + 1)) == NULL) {
		snprintf(why, whycap, "reference %.100s names no element", uri);
		return HIE_ESIG;
	}
	if (b64_value(c, want, sizeof(want)) != (long) sizeof(got)) {
		snprintf(why, whycap, "reference %.100s: digest value is not a SHA-256 digest", uri);
		return HIE_ESIG;
	}
	if (memo != NULL && enveloped && p.n == 0 && memo->apex == apex && memo->inner == sig) {
		/* Taken with apex's whole digest, in the same walk, earlier in
		 * this verification (the document has not changed since). */
		memcpy(got, memo->md, sizeof(got));
	} else if (memo != NULL && !enveloped && p.n == 0 && (inner = signature_child(apex)) != NULL &&
	           digest_pair(apex, inner, got, memo->md) == HIE_OK) {
		memo->apex = apex;
		memo->inner = inner;
	} else if (digest_of(apex, enveloped ? sig : NULL, p.n > 0 ? p.list : NULL, got) != HIE_OK) {
		snprintf(why, whycap, "reference %.100s could not be canonicalized", uri);
		return HIE_ESIG;
	}
	if (CRYPTO_memcmp(want, got, sizeof(got)) != 0) {
		snprintf(why, whycap, "signature does not verify: digest of %.100s does not match", uri);
		return HIE_ESIG;
	}
	if (hie_strlcpy(id, uri + 1, DSIG_ID_MAX) != HIE_OK) {
		snprintf(why, whycap, "reference id too long");
		return HIE_ESIG;
	}
	return HIE_OK;
}

/* The SignatureValue in the DER form EVP wants: ECDSA's r||s re-encoded. */
static hie_err
signature_der(const xmlNode *sv, EVP_PKEY *pub, unsigned char *der, size_t *derlen)
{
	unsigned char raw[1024];
	long          n = b64_value(sv, raw, sizeof(raw));
	int           half = ec_half(pub);

	if (n <= 0)
		return HIE_ESIG;
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC) {
		if (n != EVP_PKEY_get_size(pub) || (size_t) n > *derlen)
			return HIE_ESIG;
		memcpy(der, raw, (size_t) n);
		*derlen = (size_t) n;
		return HIE_OK;
	}
	if (n != 2 * half || (size_t) (2 * half + 12) > *derlen)
		return HIE_ESIG;
	*derlen = ecdsa_der(raw, (size_t) half, der);
	return HIE_OK;
}

/* dsig_verify, and with check_value 0 dsig_verify_vouched: everything but
 * the public-key operation on SignatureValue. */
static hie_err
verify_sig(xmlNode *sig, X509 *cert, dsig_key *key, struct dsig_memo *memo, int check_value, char refs[][DSIG_ID_MAX],
    size_t *nrefs, char *why, size_t whycap)
{
	EVP_PKEY       *pub = X509_get0_pubkey(cert);
	xmlNode        *si, *cm, *sm, *c, *sv;
	struct prefixes p;
	int             junk = 0, ec;
	unsigned char   der[1100], md[32];
	size_t          derlen = sizeof(der);
	EVP_PKEY_CTX   *ctx = NULL;
	dsig_key       *own = NULL;
	hie_err         e;

	*nrefs = 0;
	if ((e = precheck(sig, why, whycap)) != HIE_OK)
		return e;
	if (pub == NULL)
		return HIE_ECRYPTO;
	si = hie_xml_child(sig, DSIG_NS, "SignedInfo");
	sv = hie_xml_child(sig, DSIG_NS, "SignatureValue");
	/* SignedInfo is CanonicalizationMethod, SignatureMethod, Reference+. */
	cm = elem_from(si->children, &junk);
	sm = cm != NULL ? elem_from(cm->next, &junk) : NULL;
	if (!is_ds(cm, "CanonicalizationMethod") || !is_ds(sm, "SignatureMethod")) {
		snprintf(why, whycap, "SignedInfo does not start with CanonicalizationMethod, SignatureMethod");
		return HIE_ESIG;
	}
	for (c = elem_from(sm->next, &junk); c != NULL; c = elem_from(c->next, &junk))
		if (!is_ds(c, "Reference"))
			break;
	if (c != NULL || junk || sm->children != NULL) {
		snprintf(why, whycap, "unexpected content in ds:SignedInfo");
		return HIE_ESIG;
	}
	if ((e = read_c14n_params(cm, &p, why, whycap)) != HIE_OK)
		return e;
	/* The method must be the key's: no RSA value checked with an EC key. */
	ec = strcmp(alg_of(sm), ALG_ECDSA_SHA256) == 0;
	if (ec != (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC) || (!ec && EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)) {
		snprintf(why, whycap, "signature method %.100s does not match the signing key", alg_of(sm));
		return HIE_ESIG;
	}
	for (c = elem_from(sm->next, &junk); c != NULL; c = elem_from(c->next, &junk)) {
		if ((e = check_reference(sig, c, refs[*nrefs], memo, why, whycap)) != HIE_OK) {
			*nrefs = 0;
			return e;
		}
		(*nrefs)++;
	}
	e = HIE_ESIG;
	if (sv == NULL || signature_der(sv, pub, der, &derlen) != HIE_OK) {
		snprintf(why, whycap, "signature does not verify (malformed SignatureValue)");
		goto done;
	}
	if (!check_value) {
		e = HIE_OK;
		goto done;
	}
	/* The prepared key must be this certificate's. */
	if (key != NULL && (key->sign || key->pkey != pub))
		key = NULL;
	if (key == NULL && dsig_key_new(pub, 0, &own) == HIE_OK)
		key = own;
	if (key == NULL || digest_of(si, NULL, p.n > 0 ? p.list : NULL, md) != HIE_OK || (ctx = key_take(key)) == NULL) {
		snprintf(why, whycap, "signature could not be processed");
		goto done;
	}
	if (EVP_PKEY_verify(ctx, der, derlen, md, sizeof(md)) != 1) {
		snprintf(why, whycap, "signature does not verify");
		goto done;
	}
	e = HIE_OK;
done:
	ERR_clear_error();
	if (ctx != NULL)
		key_give(key, ctx);
	dsig_key_unref(own);
	if (e != HIE_OK)
		*nrefs = 0;
	return e;
}

int
dsig_covers(char refs[][DSIG_ID_MAX], size_t n, const char *id)
{
	if (id == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(refs[i], id) == 0)
			return 1;
	return 0;
}

hie_err
dsig_verify(xmlNode *sig, X509 *cert, dsig_key *key, struct dsig_memo *memo, char refs[][DSIG_ID_MAX],
    size_t *nrefs, char *why, size_t whycap)
{
	return verify_sig(sig, cert, key, memo, 1, refs, nrefs, why, whycap);
}

hie_err
dsig_verify_vouched(xmlNode *sig, X509 *cert, dsig_key *key, struct dsig_memo *memo, char refs[][DSIG_ID_MAX],
    size_t *nrefs, char *why, size_t whycap)
{
	return verify_sig(sig, cert, key, memo, 0, refs, nrefs, why, whycap);
}
