/*
 * node/mtom.c -- MTOM/XOP multipart/related codec (see node/mtom.h).
 *
 * The parser walks the body once: it finds each delimiter line with memmem,
 * reads the part's header section (bounded), and records where the part's
 * bytes are.  Nothing is copied except header values and base64 parts.
 */
#include "node/mtom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/xml.h"

#define DEFAULT_MAX_PARTS  1000
#define DEFAULT_MAX_HEADER 8192
#define MAX_BOUNDARY       70   /* RFC 2046 section 5.1.1 */
#define MAX_PARAM          1024 /* one Content-Type parameter value */
#define MAX_ID             512  /* one Content-ID, ours or a peer's */
#define DEFAULT_TYPE       "application/octet-stream"

static void
set_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

#define FAIL(code, ...)                          \
	do {                                     \
		e = (code);                      \
		set_why(why, whycap, __VA_ARGS__); \
		goto fail;                       \
	} while (0)

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* A control character has no business in a header value we keep: ids and
 * types end up in logs and in the XML we write. */
static int
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* RFC 2045 token characters (for names; values are read more leniently). */
static int
is_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 2046 bchars without the space, which may not end a boundary anyway. */
static int
is_bchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    strchr("'()+_,-./:=? ", c) != NULL;
}

static int
ci_eq_n(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

/* ---- the HTTP Content-Type ---- */

struct ctparams {
	char *boundary, *start, *type, *start_info;
};

static void
ctparams_free(struct ctparams *p)
{
	free(p->boundary);
	free(p->start);
	free(p->type);
	free(p->start_info);
	memset(p, 0, sizeof(*p));
}

/* Parses "multipart/related *(; name=value)"; keeps the four parameters
 * MTOM uses, refuses them twice (two boundaries would let two parsers
 * disagree on where parts end), ignores the others. */
static hie_err
parse_ctype(const char *s, struct ctparams *p, char *why, size_t whycap)
{
	char        val[MAX_PARAM + 1];
	const char *name, *t;
	size_t      nlen, vlen;
	char      **slot;
	hie_err     e = HIE_OK;

	while (is_ws(*s))
		s++;
	for (t = s; is_tchar((unsigned char) *t); t++)
		;
	if (!ci_eq_n(s, (size_t) (t - s), "multipart") || *t != '/')
		FAIL(HIE_EPROTO, "Content-Type is not multipart/related");
	for (s = ++t; is_tchar((unsigned char) *t); t++)
		;
	if (!ci_eq_n(s, (size_t) (t - s), "related"))
		FAIL(HIE_EPROTO, "Content-Type is not multipart/related");
	s = t;
	for (;;) {
		while (is_ws(*s))
			s++;
		if (*s == '\0')
			break;
		if (*s++ != ';')
			FAIL(HIE_EPROTO, "malformed Content-Type parameters");
		while (is_ws(*s))
			s++;
		if (*s == '\0')
			break; /* a trailing ';' is harmless */
		for (name = s; is_tchar((unsigned char) *s); s++)
			;
		nlen = (size_t) (s - name);
		while (is_ws(*s))
			s++;
		if (nlen == 0 || *s++ != '=')
			FAIL(HIE_EPROTO, "malformed Content-Type parameter");
		while (is_ws(*s))
			s++;
		vlen = 0;
		if (*s == '"') {
			for (s++; *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				if (*s == '\0' || *s == '\r' || *s == '\n')
					FAIL(HIE_EPROTO, "unterminated quoted Content-Type parameter");
				if (vlen == MAX_PARAM)
					FAIL(HIE_EPROTO, "Content-Type parameter longer than %d bytes", MAX_PARAM);
				val[vlen++] = *s;
			}
			s++;
		} else {
			/* Token values, but tolerant: peers send start-info=application/soap+xml
			 * unquoted although '/' is a tspecial. */
			for (; *s != '\0' && *s != ';' && *s != '"' && !is_ws(*s) && !is_ctl((unsigned char) *s); s++) {
				if (vlen == MAX_PARAM)
					FAIL(HIE_EPROTO, "Content-Type parameter longer than %d bytes", MAX_PARAM);
				val[vlen++] = *s;
			}
			if (vlen == 0)
				FAIL(HIE_EPROTO, "empty Content-Type parameter");
		}
		val[vlen] = '\0';
		slot = ci_eq_n(name, nlen, "boundary")     ? &p->boundary
		     : ci_eq_n(name, nlen, "start")        ? &p->start
		     : ci_eq_n(name, nlen, "type")         ? &p->type
		     : ci_eq_n(name, nlen, "start-info")   ? &p->start_info
		                                           : NULL;
		if (slot == NULL)
			continue;
		if (*slot != NULL)
			FAIL(HIE_EPROTO, "Content-Type parameter given twice");
		if ((*slot = strdup(val)) == NULL)
			FAIL(HIE_ENOMEM, "out of memory");
	}
	if (p->boundary == NULL)
		FAIL(HIE_EPROTO, "Content-Type has no boundary");
	vlen = strlen(p->boundary);
	if (vlen == 0 || vlen > MAX_BOUNDARY || p->boundary[vlen - 1] == ' ')
		FAIL(HIE_EPROTO, "boundary must be 1 to %d characters", MAX_BOUNDARY);
	for (size_t i = 0; i < vlen; i++)
		if (!is_bchar((unsigned char) p->boundary[i]))
			FAIL(HIE_EPROTO, "boundary has a character RFC 2046 does not allow");
	return HIE_OK;
fail:
	ctparams_free(p);
	return e;
}

/* ---- the body ---- */

struct delim {
	const char *d; /* "--" boundary */
	size_t      dlen;
};

/*
 * Finds the next delimiter line at or after from: "--boundary" at the start
 * of a line (offset 0 counts, for a body without preamble), followed by
 * "--" (the close delimiter) or by optional transport padding and a line
 * end.  A line that merely starts with the boundary is content.
 * Returns 1 with *at (where "--" starts), *next (after the line end) and
 * *closing set; 0 when there is none.
 */
static int
find_delim(const char *body, size_t len, size_t from, const struct delim *dl,
    size_t *at, size_t *next, int *closing)
{
	while (from < len && len - from >= dl->dlen) {
		const char *hit = memmem(body + from, len - from, dl->d, dl->dlen);
		size_t      h, q;

		if (hit == NULL)
			return 0;
		h = (size_t) (hit - body);
		from = h + 1;
		if (h != 0 && body[h - 1] != '\n')
			continue;
		q = h + dl->dlen;
		if (len - q >= 2 && body[q] == '-' && body[q + 1] == '-') {
			*at = h;
			*next = len; /* the rest is epilogue */
			*closing = 1;
			return 1;
		}
		while (q < len && is_ws(body[q]))
			q++;
		if (q < len && body[q] == '\r')
			q++;
		if (q < len && body[q] == '\n') {
			*at = h;
			*next = q + 1;
			*closing = 0;
			return 1;
		}
	}
	return 0;
}

struct hdrs {
	char *id, *type, *cte;
};

/* Copies a header value, unfolding it (the line ends of folded lines go,
 * their leading white space stays) and trimming it. */
static hie_err
header_value(const char *v, size_t n, char **out)
{
	char  *s, *w;
	size_t i;

	if ((s = malloc(n + 1)) == NULL)
		return HIE_ENOMEM;
	w = s;
	for (i = 0; i < n; i++) {
		if (v[i] == '\r' || v[i] == '\n')
			continue;
		if (is_ctl((unsigned char) v[i])) {
			free(s);
			return HIE_EPROTO;
		}
		if (w == s && is_ws(v[i]))
			continue;
		*w++ = v[i];
	}
	while (w > s && is_ws(w[-1]))
		w--;
	*w = '\0';
	*out = s;
	return HIE_OK;
}

/* One logical header line body[hs..he) (continuations included). */
static hie_err
header_line(const char *body, size_t hs, size_t he, struct hdrs *h, size_t part, char *why,
    size_t whycap)
{
	const char *colon = memchr(body + hs, ':', he - hs);
	size_t      nend;
	char      **slot;
	hie_err     e = HIE_OK;

	if (colon == NULL)
		FAIL(HIE_EPROTO, "part %zu: header line without ':'", part);
	nend = (size_t) (colon - body);
	while (nend > hs && is_ws(body[nend - 1]))
		nend--;
	if (nend == hs)
		FAIL(HIE_EPROTO, "part %zu: header line without a name", part);
	for (size_t i = hs; i < nend; i++)
		if (!is_tchar((unsigned char) body[i]))
			FAIL(HIE_EPROTO, "part %zu: malformed header name", part);
	slot = ci_eq_n(body + hs, nend - hs, "content-id")                  ? &h->id
	     : ci_eq_n(body + hs, nend - hs, "content-type")                ? &h->type
	     : ci_eq_n(body + hs, nend - hs, "content-transfer-encoding")   ? &h->cte
	                                                                    : NULL;
	if (slot == NULL)
		return HIE_OK; /* Content-Disposition, Content-Length, ...: not ours */
	if (*slot != NULL)
		FAIL(HIE_EPROTO, "part %zu: header given twice", part);
	e = header_value(colon + 1, he - (size_t) (colon + 1 - body), slot);
	if (e == HIE_EPROTO)
		FAIL(HIE_EPROTO, "part %zu: control character in a header", part);
	if (e != HIE_OK)
		FAIL(e, "out of memory");
	return HIE_OK;
fail:
	return e;
}

/*
 * Reads the header section of the part body[ps..pe): header lines up to a
 * blank line, at most maxh bytes.  *data is where the content starts.  A
 * part whose headers run to its very end (the blank line missing before an
 * empty body) is accepted: it is unambiguous.
 */
static hie_err
read_headers(const char *body, size_t ps, size_t pe, size_t maxh, struct hdrs *h, size_t *data,
    size_t part, char *why, size_t whycap)
{
	size_t  limit = pe - ps > maxh ? ps + maxh : pe;
	size_t  pos = ps, cur = SIZE_MAX, le, ce;
	hie_err e = HIE_OK;

	for (;;) {
		const char *nl;

		if (pos == pe && pos > ps) {
			*data = pe;
			break;
		}
		if ((nl = memchr(body + pos, '\n', limit - pos)) == NULL) {
			if (limit < pe)
				FAIL(HIE_EPROTO, "part %zu: header section longer than %zu bytes", part, maxh);
			FAIL(HIE_EPROTO, "part %zu: no blank line after the headers", part);
		}
		le = (size_t) (nl - body);
		ce = le > pos && body[le - 1] == '\r' ? le - 1 : le;
		if (ce == pos) {
			*data = le + 1;
			break;
		}
		if (is_ws(body[pos])) {
			if (cur == SIZE_MAX)
				FAIL(HIE_EPROTO, "part %zu: continuation line without a header", part);
		} else {
			if (cur != SIZE_MAX && (e = header_line(body, cur, pos, h, part, why, whycap)) != HIE_OK)
				return e;
			cur = pos;
		}
		pos = le + 1;
	}
	if (cur != SIZE_MAX && (e = header_line(body, cur, pos, h, part, why, whycap)) != HIE_OK)
		return e;
	return HIE_OK;
fail:
	return e;
}

/* Strips one pair of <> from an id: Content-ID and start= carry them,
 * though some senders leave them out. */
static void
strip_angles(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
}

/* Adds the part body[ds..de) with headers h to m; takes h's strings. */
static hie_err
add_part(struct mtom_msg *m, size_t *cap, const struct mtom_limits *lim, size_t *decoded,
    const char *body, size_t ds, size_t de, struct hdrs *h, char *why, size_t whycap)
{
	struct mtom_part *p;
	hie_err           e = HIE_OK;
	size_t            idx = m->n;

	if (m->n == lim->max_parts)
		FAIL(HIE_EPROTO, "more than %zu parts", lim->max_parts);
	if (m->n == *cap) {
		size_t ncap = *cap == 0 ? 8 : *cap * 2;
		void  *np, *no;

		if (ncap > lim->max_parts)
			ncap = lim->max_parts;
		if ((np = realloc(m->parts, ncap * sizeof(*m->parts))) == NULL)
			FAIL(HIE_ENOMEM, "out of memory");
		m->parts = np;
		if ((no = realloc(m->owned_, ncap * sizeof(*m->owned_))) == NULL)
			FAIL(HIE_ENOMEM, "out of memory");
		m->owned_ = no;
		*cap = ncap;
	}
	if (h->id == NULL && (h->id = strdup("")) == NULL)
		FAIL(HIE_ENOMEM, "out of memory");
	if (h->type == NULL && (h->type = strdup(DEFAULT_TYPE)) == NULL)
		FAIL(HIE_ENOMEM, "out of memory");
	if (h->id[0] != '\0') {
		strip_angles(h->id);
		if (h->id[0] == '\0')
			FAIL(HIE_EPROTO, "part %zu: empty Content-ID", idx);
		/* mtom_find resolves ids up to this length; a longer one could
		 * never be referenced. */
		if (strlen(h->id) > MAX_ID)
			FAIL(HIE_EPROTO, "part %zu: Content-ID longer than %d bytes", idx, MAX_ID);
	}
	p = &m->parts[idx];
	m->owned_[idx] = NULL;
	p->content_id = h->id;
	p->content_type = h->type;
	p->data = body + ds;
	p->len = de - ds;
	h->id = h->type = NULL;
	m->n++; /* from here mtom_free releases the part */
	if (h->cte == NULL || strcasecmp(h->cte, "binary") == 0 || strcasecmp(h->cte, "8bit") == 0 ||
	    strcasecmp(h->cte, "7bit") == 0)
		return HIE_OK;
	if (strcasecmp(h->cte, "base64") != 0)
		FAIL(HIE_EPROTO, "part %zu: unsupported Content-Transfer-Encoding", idx);
	{
		char  *dec;
		size_t dlen;

		e = hie_base64_decode(p->data, p->len, lim->max_total - *decoded, &dec, &dlen);
		if (e == HIE_ETOOBIG)
			FAIL(HIE_ETOOBIG, "decoded parts exceed %zu bytes", lim->max_total);
		if (e == HIE_EINVAL)
			FAIL(HIE_EPROTO, "part %zu: invalid base64", idx);
		if (e != HIE_OK)
			FAIL(e, "out of memory");
		*decoded += dlen;
		m->owned_[idx] = dec;
		p->data = dec;
		p->len = dlen;
	}
	return HIE_OK;
fail:
	return e;
}

hie_err
mtom_parse(const char *content_type, const char *body, size_t len, const struct mtom_limits *lim,
    struct mtom_msg *out, char *why, size_t whycap)
{
	struct ctparams    cp = { 0 };
	struct mtom_limits l;
	struct delim       dl;
	char               dbuf[2 + MAX_BOUNDARY + 1];
	struct hdrs        h = { 0 };
	size_t             cap = 0, decoded = 0, at, next, ps, pe, ds;
	int                closing;
	hie_err            e = HIE_OK;

	set_why(why, whycap, "%s", "");
	if (out == NULL)
		return HIE_EINVAL;
	memset(out, 0, sizeof(*out));
	if (content_type == NULL || (body == NULL && len > 0) || lim == NULL || lim->max_total == 0)
		FAIL(HIE_EINVAL, "invalid argument");
	l = *lim;
	if (l.max_parts == 0)
		l.max_parts = DEFAULT_MAX_PARTS;
	if (l.max_header_bytes == 0)
		l.max_header_bytes = DEFAULT_MAX_HEADER;
	if (len > l.max_total)
		FAIL(HIE_ETOOBIG, "body longer than %zu bytes", l.max_total);
	if ((e = parse_ctype(content_type, &cp, why, whycap)) != HIE_OK)
		goto fail;
	dl.dlen = (size_t) snprintf(dbuf, sizeof(dbuf), "--%s", cp.boundary);
	dl.d = dbuf;
	if (body == NULL || !find_delim(body, len, 0, &dl, &at, &next, &closing))
		FAIL(HIE_EPROTO, "no boundary delimiter in the body");
	if (closing)
		FAIL(HIE_EPROTO, "message has no parts");
	for (;;) {
		ps = next;
		if (!find_delim(body, len, ps, &dl, &at, &next, &closing))
			FAIL(HIE_EPROTO, "missing closing delimiter (truncated body?)");
		/* The line end before a delimiter belongs to the delimiter
		 * (RFC 2046), so it is not part of the content. */
		pe = at > ps ? at - 1 : ps;
		if (pe > ps && body[pe - 1] == '\r')
			pe--;
		if ((e = read_headers(body, ps, pe, l.max_header_bytes, &h, &ds, out->n, why, whycap)) != HIE_OK)
			goto fail;
		if ((e = add_part(out, &cap, &l, &decoded, body, ds, pe, &h, why, whycap)) != HIE_OK)
			goto fail;
		free(h.cte);
		h.cte = NULL;
		if (closing)
			break;
	}
	/* Duplicate ids would make a cid: reference ambiguous: which document
	 * was submitted would depend on the receiver's lookup order. */
	for (size_t i = 0; i < out->n; i++)
		for (size_t j = i + 1; j < out->n && out->parts[i].content_id[0] != '\0'; j++)
			if (strcmp(out->parts[i].content_id, out->parts[j].content_id) == 0)
				FAIL(HIE_EPROTO, "parts %zu and %zu have the same Content-ID", i, j);
	if (cp.start != NULL) {
		strip_angles(cp.start);
		for (out->root = 0; out->root < out->n; out->root++)
			if (cp.start[0] != '\0' && strcmp(out->parts[out->root].content_id, cp.start) == 0)
				break;
		if (out->root == out->n)
			FAIL(HIE_EPROTO, "start parameter names no part (missing root)");
	}
	out->type = cp.type;
	out->start_info = cp.start_info;
	cp.type = cp.start_info = NULL;
	ctparams_free(&cp);
	return HIE_OK;
fail:
	free(h.id);
	free(h.type);
	free(h.cte);
	ctparams_free(&cp);
	mtom_free(out);
	return e;
}

void
mtom_free(struct mtom_msg *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free((char *) m->parts[i].content_id);
		free((char *) m->parts[i].content_type);
		free(m->owned_[i]);
	}
	free(m->parts);
	free(m->owned_);
	free(m->type);
	free(m->start_info);
	memset(m, 0, sizeof(*m));
}

const struct mtom_part *
mtom_root(const struct mtom_msg *m)
{
	return m != NULL && m->root < m->n ? &m->parts[m->root] : NULL;
}

/* ---- references ---- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* HIE_EPROTO for a malformed reference, HIE_ENOTFOUND for an unknown id. */
static hie_err
find_part(const struct mtom_msg *m, const char *href, const struct mtom_part **out)
{
	char   id[MAX_ID + 1];
	size_t n = 0;

	*out = NULL;
	if (href == NULL)
		return HIE_EPROTO;
	if (strncasecmp(href, "cid:", 4) == 0) {
		for (const char *s = href + 4; *s != '\0'; s++) {
			int c = (unsigned char) *s;
			if (c == '%') {
				int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
				if (hi < 0 || lo < 0 || (hi | lo) == 0)
					return HIE_EPROTO;
				c = hi * 16 + lo;
				s += 2;
			}
			if (n == MAX_ID)
				return HIE_EPROTO;
			id[n++] = (char) c;
		}
		id[n] = '\0';
	} else {
		if (hie_strlcpy(id, href, sizeof(id)) != HIE_OK)
			return HIE_EPROTO;
		strip_angles(id);
	}
	if (id[0] == '\0')
		return HIE_EPROTO;
	for (size_t i = 0; m != NULL && i < m->n; i++)
		if (strcmp(m->parts[i].content_id, id) == 0) {
			*out = &m->parts[i];
			return HIE_OK;
		}
	return HIE_ENOTFOUND;
}

const struct mtom_part *
mtom_find(const struct mtom_msg *m, const char *href)
{
	const struct mtom_part *p;

	return find_part(m, href, &p) == HIE_OK ? p : NULL;
}

static int
is_xop_include(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
	    strcmp((const char *) n->ns->href, MTOM_XOP_NS) == 0 && strcmp((const char *) n->name, "Include") == 0;
}

static int
all_ws(const xmlChar *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return 0;
	return 1;
}

hie_err
mtom_element_bytes(const struct mtom_msg *m, const xmlNode *el, size_t max, char **out, size_t *len)
{
	const xmlNode          *inc = NULL, *c;
	const struct mtom_part *p;
	const char             *href;
	xmlChar                *txt;
	int                     text = 0;
	hie_err                 e;

	if (out == NULL || len == NULL)
		return HIE_EINVAL;
	*out = NULL;
	*len = 0;
	if (el == NULL)
		return HIE_EINVAL;
	for (c = el->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE) {
			if (inc != NULL || !is_xop_include(c))
				return HIE_EPROTO;
			inc = c;
		} else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && !all_ws(c->content)) {
			text = 1;
		}
	}
	if (inc == NULL) {
		size_t n;
		txt = xmlNodeGetContent(el);
		n = txt != NULL ? strlen((const char *) txt) : 0;
		e = hie_base64_decode(txt != NULL ? (const char *) txt : "", n, max, out, len);
		xmlFree(txt);
		return e == HIE_EINVAL ? HIE_EPROTO : e;
	}
	/* XOP 1.0: an element optimised with xop:Include has no other
	 * character content; text beside it means two conflicting values. */
	if (text)
		return HIE_EPROTO;
	href = hie_xml_attr(inc, "href");
	if (href == NULL || strncasecmp(href, "cid:", 4) != 0)
		return HIE_EPROTO;
	if (m == NULL || m->n == 0)
		return HIE_EPROTO; /* no attachments */
	if ((e = find_part(m, href, &p)) != HIE_OK)
		return e;
	if (p == &m->parts[m->root])
		return HIE_EPROTO; /* the envelope cannot be its own content */
	if (p->len > max)
		return HIE_ETOOBIG;
	if ((*out = malloc(p->len + 1)) == NULL)
		return HIE_ENOMEM;
	if (p->len > 0)
		memcpy(*out, p->data, p->len);
	(*out)[p->len] = '\0';
	*len = p->len;
	return HIE_OK;
}

/* ---- building ---- */

/* What we accept as a content id to send: what a Content-ID header and a
 * cid: URL can both carry once escaped. */
static int
valid_id(const char *id)
{
	size_t n;

	if (id == NULL || (n = strlen(id)) == 0 || n > MAX_ID)
		return 0;
	for (; *id != '\0'; id++) {
		unsigned char c = (unsigned char) *id;
		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>')
			return 0;
	}
	return 1;
}

/* A value we put inside a quoted parameter or a header line. */
static int
valid_value(const char *s, int quoted)
{
	if (s == NULL || strlen(s) > MAX_PARAM)
		return 0;
	for (; *s != '\0'; s++)
		if (is_ctl((unsigned char) *s) || (quoted && (*s == '"' || *s == '\\')))
			return 0;
	return 1;
}

hie_err
mtom_add_include(xmlNode *el, const char *content_id)
{
	static const char hex[] = "0123456789ABCDEF";
	char              href[4 + 3 * MAX_ID + 1], *w = href + 4;
	xmlNode          *inc;
	xmlNs            *ns;

	if (el == NULL || !valid_id(content_id))
		return HIE_EINVAL;
	memcpy(href, "cid:", 4);
	/* RFC 2392: the id is a URL here, so everything outside the
	 * unreserved set and a few harmless delimiters is %-escaped. */
	for (const char *s = content_id; *s != '\0'; s++) {
		unsigned char c = (unsigned char) *s;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    strchr("-._~@!$'()*+,;=:", c) != NULL) {
			*w++ = (char) c;
		} else {
			*w++ = '%';
			*w++ = hex[c >> 4];
			*w++ = hex[c & 15];
		}
	}
	*w = '\0';
	if ((inc = xmlNewDocNode(el->doc, NULL, BAD_CAST "Include", NULL)) == NULL)
		return HIE_ENOMEM;
	if ((ns = xmlNewNs(inc, BAD_CAST MTOM_XOP_NS, BAD_CAST "xop")) == NULL ||
	    xmlNewProp(inc, BAD_CAST "href", BAD_CAST href) == NULL) {
		xmlFreeNode(inc);
		return HIE_ENOMEM;
	}
	xmlSetNs(inc, ns);
	if (xmlAddChild(el, inc) == NULL) {
		xmlFreeNode(inc);
		return HIE_ENOMEM;
	}
	return HIE_OK;
}

void
mtom_content_id(char *out, size_t cap)
{
	char hex[33];

	if (out == NULL || cap == 0)
		return;
	if (cap < MTOM_CONTENT_ID_SIZE) {
		out[0] = '\0';
		return;
	}
	hie_request_id(hex);
	snprintf(out, cap, "%s@hienode", hex);
}

static int
contains(const char *hay, size_t n, const char *needle)
{
	return hay != NULL && memmem(hay, n, needle, strlen(needle)) != NULL;
}

static hie_err
add_part_out(hie_buf *out, const char *boundary, const char *type, const char *action, const char *id,
    const char *data, size_t len)
{
	hie_err e;

	if ((e = hie_buf_printf(out, "--%s\r\nContent-Type: %s", boundary, type)) != HIE_OK)
		return e;
	if (action != NULL && (e = hie_buf_printf(out, "; action=\"%s\"", action)) != HIE_OK)
		return e;
	if ((e = hie_buf_printf(out, "\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <%s>\r\n\r\n", id)) !=
	    HIE_OK)
		return e;
	if ((e = hie_buf_add(out, data, len)) != HIE_OK)
		return e;
	return hie_buf_add(out, "\r\n", 2);
}

hie_err
mtom_build(hie_buf *out, char *ctype, size_t ctcap, const char *action, const char *root_xml,
    size_t root_len, const struct mtom_part *att, size_t n)
{
	char    boundary[64], rootid[MTOM_CONTENT_ID_SIZE], hex[33];
	size_t  start, i, j, tries;
	int     w;
	hie_err e = HIE_OK;

	if (ctype != NULL && ctcap > 0)
		ctype[0] = '\0';
	if (out == NULL || ctype == NULL || ctcap == 0 || (root_xml == NULL && root_len > 0) || (att == NULL && n > 0))
		return HIE_EINVAL;
	if (action != NULL && !valid_value(action, 1))
		return HIE_EINVAL;
	for (i = 0; i < n; i++) {
		if (!valid_id(att[i].content_id) || (att[i].data == NULL && att[i].len > 0) ||
		    (att[i].content_type != NULL && !valid_value(att[i].content_type, 0)))
			return HIE_EINVAL;
		for (j = 0; j < i; j++)
			if (strcmp(att[i].content_id, att[j].content_id) == 0)
				return HIE_EINVAL;
	}
	/* A fresh random root id and boundary; either colliding with the
	 * caller's data is a 2^-128 event, but checking costs one pass and
	 * makes the message correct by construction. */
	for (tries = 0;; tries++) {
		int clash = 0;
		if (tries == 8)
			return HIE_EINVAL;
		mtom_content_id(rootid, sizeof(rootid));
		hie_request_id(hex);
		snprintf(boundary, sizeof(boundary), "MIMEBoundary_%s", hex);
		clash = contains(root_xml, root_len, boundary);
		for (i = 0; i < n && !clash; i++)
			clash = contains(att[i].data, att[i].len, boundary) || strcmp(att[i].content_id, rootid) == 0;
		if (!clash)
			break;
	}
	w = snprintf(ctype, ctcap,
	    "multipart/related; type=\"application/xop+xml\"; boundary=\"%s\"; start=\"<%s>\"; "
	    "start-info=\"application/soap+xml\"%s%s%s",
	    boundary, rootid, action != NULL ? "; action=\"" : "", action != NULL ? action : "",
	    action != NULL ? "\"" : "");
	if (w < 0 || (size_t) w >= ctcap) {
		ctype[0] = '\0';
		return HIE_ETOOBIG;
	}
	start = out->len;
	e = add_part_out(out, boundary, "application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"", action,
	    rootid, root_xml, root_len);
	for (i = 0; i < n && e == HIE_OK; i++)
		e = add_part_out(out, boundary, att[i].content_type != NULL ? att[i].content_type : DEFAULT_TYPE, NULL,
		    att[i].content_id, att[i].data, att[i].len);
	if (e == HIE_OK)
		e = hie_buf_printf(out, "--%s--\r\n", boundary);
	if (e != HIE_OK) {
		/* Leave out as it was: a half-written message must not be sent. */
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		ctype[0] = '\0';
	}
	return e;
}
