/*
 * node/hl7.c -- HL7 v2 ER7 parser and accessors (see node/hl7.h).
 *
 * One pass finds the delimiters and MSH-18 in the raw bytes, a second
 * copies the message into an owned buffer (CR segment ends, UTF-8), a
 * third indexes segments and fields and validates every escape sequence.
 * Repetitions, components and subcomponents are found on access by
 * scanning the one field asked for: fields are short, and most of a
 * message is never read.
 */
#include "node/hl7.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/hl7_int.h"

const struct hl7_limits hl7_default_limits = {
	.max_bytes    = 16u << 20,
	.max_segments = 10000,
	.max_fields   = 512,
};

/* ---- table 0357 ---- */

static const struct {
	int         code;
	const char *text;
} err_texts[] = {
	{ 0, "Message accepted" },
	{ 100, "Segment sequence error" },
	{ 101, "Required field missing" },
	{ 102, "Data type error" },
	{ 103, "Table value not found" },
	{ 104, "Value too long" },
	{ 200, "Unsupported message type" },
	{ 201, "Unsupported event code" },
	{ 202, "Unsupported processing id" },
	{ 203, "Unsupported version id" },
	{ 204, "Unknown key identifier" },
	{ 205, "Duplicate key identifier" },
	{ 206, "Application record locked" },
	{ 207, "Application internal error" },
};

const char *
hl7_error_text(int code)
{
	for (size_t i = 0; i < sizeof(err_texts) / sizeof(err_texts[0]); i++)
		if (err_texts[i].code == code)
			return err_texts[i].text;
	return "Application internal error";
}

static hie_err
verr(struct hl7_error *e, int code, const char *segment, int seq, int field, int rep,
    int comp, int sub, const char *fmt, va_list ap)
{
	if (e == NULL)
		return HIE_EHL7;
	memset(e, 0, sizeof(*e));
	e->code = code;
	if (segment != NULL)
		snprintf(e->segment, sizeof(e->segment), "%s", segment);
	e->seq      = seq;
	e->field    = field;
	e->rep      = rep;
	e->comp     = comp;
	e->sub      = sub;
	e->severity = 'E';
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	return HIE_EHL7;
}

hie_err
hl7_error_set(struct hl7_error *e, int code, const char *segment, int seq, int field,
    const char *fmt, ...)
{
	va_list ap;
	hie_err r;
	va_start(ap, fmt);
	r = verr(e, code, segment, seq, field, 0, 0, 0, fmt, ap);
	va_end(ap);
	return r;
}

static hie_err __attribute__((format(printf, 9, 10)))
fail_at(struct hl7_error *e, int code, const char *segment, int seq, int field, int rep,
    int comp, int sub, const char *fmt, ...)
{
	va_list ap;
	hie_err r;
	va_start(ap, fmt);
	r = verr(e, code, segment, seq, field, rep, comp, sub, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- versions and character sets ---- */

/* MSH-12 values this node speaks; num orders them (ERR form from 25). */
static const struct {
	const char *id;
	int         num;
} versions[] = {
	{ "2.3", 23 }, { "2.3.1", 231 }, { "2.4", 24 }, { "2.5", 25 }, { "2.5.1", 251 },
	{ "2.6", 26 }, { "2.7", 27 }, { "2.7.1", 271 }, { "2.8", 28 }, { "2.8.1", 281 },
	{ "2.8.2", 282 },
};

int
hl7_version_num(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strlen(versions[i].id) == n && memcmp(versions[i].id, s, n) == 0)
			return versions[i].num;
	return 0;
}

/* Ordering of version numbers: 23 < 231 < 24 ... compare as 2.x.y. */
int
hl7_version_at_least(int num, int want)
{
	int a = num < 100 ? num * 10 : num;
	int b = want < 100 ? want * 10 : want;
	return a >= b;
}

/* MSH-18 (table 0211), first repetition.  AUTO: "" and ASCII, where
 * senders that declare nothing or ASCII routinely send UTF-8 or Latin-1
 * anyway: valid UTF-8 is kept, anything else is read as 8859-1. */
enum cs_decl { CS_AUTO, CS_LATIN1, CS_UTF8 };
static const struct {
	const char  *name;
	enum cs_decl cs;
} charsets[] = {
	{ "", CS_AUTO },
	{ "ASCII", CS_AUTO },
	{ "8859/1", CS_LATIN1 },
	{ "UNICODE UTF-8", CS_UTF8 },
	{ "UNICODE", CS_UTF8 }, /* v2.3-2.5 name for ISO 10646; UTF-8 in practice */
	{ "UTF-8", CS_UTF8 },   /* not in table 0211, but common */
};

static int
utf8_valid(const unsigned char *p, size_t n, size_t *nhigh)
{
	size_t i = 0;
	*nhigh   = 0;
	while (i < n) {
		unsigned char c = p[i];
		size_t        k;
		uint32_t      cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		(*nhigh)++;
		if (c >= 0xC2 && c <= 0xDF) {
			k  = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k  = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k  = 3;
			cp = c & 0x07;
		} else
			return 0;
		if (i + k >= n)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + j] & 0x3F);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* ---- delimiters ---- */

static int
delim_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7F && !isalnum(c);
}

hie_err
hl7_read_delims(const char *p, size_t n, char d[6], size_t *nd, struct hl7_error *err)
{
	size_t k = 0;
	if (n < 4 || memcmp(p, "MSH", 3) != 0)
		return fail_at(err, HL7_E_SEGMENT_SEQUENCE, "MSH", 1, 0, 0, 0, 0,
		    "message does not start with an MSH segment");
	d[0] = p[3];
	if (!delim_ok((unsigned char) d[0]))
		return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 1, 0, 0, 0,
		    "MSH-1 is not a valid field separator");
	while (4 + k < n && p[4 + k] != d[0] && p[4 + k] != '\r' && p[4 + k] != '\n') {
		if (k == 5)
			return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 2, 0, 0, 0,
			    "MSH-2 has more than five encoding characters");
		d[1 + k] = p[4 + k];
		k++;
	}
	if (k < 4)
		return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 2, 0, 0, 0,
		    "MSH-2 needs four encoding characters, has %zu", k);
	for (size_t i = 0; i <= k; i++) {
		if (!delim_ok((unsigned char) d[i]))
			return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 2, 0, 0, 0,
			    "MSH-2 has an invalid encoding character");
		for (size_t j = 0; j < i; j++)
			if (d[i] == d[j])
				return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 2, 0, 0, 0,
				    "MSH-2 repeats an encoding character");
	}
	/* MSH-2 order: component, repetition, escape, subcomponent[, truncation];
	 * d keeps that order after the field separator. */
	if (k == 4)
		d[5] = 0;
	*nd = k + 1;
	return HIE_OK;
}

/* ---- the message ---- */

struct span {
	uint32_t off, len;
};

struct seg {
	char     id[4];
	uint32_t field0;  /* index of field 1 in m->fields */
	uint32_t nfields; /* fields 1..nfields */
};

struct hl7_msg {
	char             *buf; /* owned, NUL terminated */
	size_t            len;
	struct seg       *segs;
	size_t            nsegs;
	struct span      *fields;
	struct hl7_header h;
	char              fs, cs, rs, es, ss, ts;
	int               latin1; /* \X..\ bytes are 8859-1 */
};

void
hl7_free(hl7_msg *m)
{
	if (m == NULL)
		return;
	free(m->buf);
	free(m->segs);
	free(m->fields);
	free(m);
}

static int
seq_of(const hl7_msg *m, size_t pos)
{
	int seq = 1;
	for (size_t i = 0; i < pos; i++)
		if (memcmp(m->segs[i].id, m->segs[pos].id, 4) == 0)
			seq++;
	return seq;
}

/* ---- escape sequences ---- */

enum esc_kind { ESC_DELIM, ESC_NONE, ESC_HEX, ESC_NEWLINES, ESC_SPACES, ESC_BAD };

/* Formatting escapes of chapter 2 (FT data); those with an argument take
 * an optional signed number. */
static const struct {
	const char   *name;
	enum esc_kind kind;
} fmt_escapes[] = {
	{ ".br", ESC_NEWLINES }, { ".sp", ESC_NEWLINES }, { ".sk", ESC_SPACES },
	{ ".fi", ESC_NONE },     { ".nf", ESC_NONE },     { ".in", ESC_NONE },
	{ ".ti", ESC_NONE },     { ".ce", ESC_NONE },
};

/* The escape between two escape characters, s[n].  *arg: delimiter char,
 * or count. */
static enum esc_kind
esc_classify(const hl7_msg *m, const char *s, size_t n, int *arg)
{
	*arg = 0;
	if (n == 0)
		return ESC_BAD;
	if (n == 1) {
		/* Table of single-letter escapes: letter -> delimiter. */
		const char map[][2] = { { 'F', m->fs }, { 'S', m->cs }, { 'T', m->ss },
			{ 'R', m->rs }, { 'E', m->es }, { 'P', m->ts } };
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (s[0] == map[i][0]) {
				if (map[i][1] == 0)
					return ESC_BAD; /* \P\ without a truncation char */
				*arg = (unsigned char) map[i][1];
				return ESC_DELIM;
			}
		if (s[0] == 'H' || s[0] == 'N')
			return ESC_NONE;
		return ESC_BAD;
	}
	if (s[0] == 'X') {
		if ((n - 1) % 2 != 0)
			return ESC_BAD;
		for (size_t i = 1; i < n; i += 2) {
			if (!isxdigit((unsigned char) s[i]) || !isxdigit((unsigned char) s[i + 1]))
				return ESC_BAD;
			if (s[i] == '0' && s[i + 1] == '0')
				return ESC_BAD; /* NUL would cut every C string downstream */
		}
		return ESC_HEX;
	}
	if (s[0] == 'Z')
		return ESC_NONE;
	if (s[0] == '.' && n >= 3) {
		for (size_t i = 0; i < sizeof(fmt_escapes) / sizeof(fmt_escapes[0]); i++) {
			size_t j = 3;
			long   v = 1;
			if (memcmp(s, fmt_escapes[i].name, 3) != 0)
				continue;
			while (j < n && s[j] == ' ')
				j++;
			if (j < n && (s[j] == '+' || s[j] == '-'))
				j++;
			if (j < n) {
				v = 0;
				for (; j < n; j++) {
					if (!isdigit((unsigned char) s[j]))
						return ESC_BAD;
					if (v < 1000)
						v = v * 10 + (s[j] - '0');
				}
			}
			/* Bounded: a hostile "\.sp 99999\" must not amplify. */
			*arg = v > 100 ? 100 : (int) v;
			return fmt_escapes[i].kind;
		}
	}
	return ESC_BAD; /* including \C..\ and \M..\ (ISO 2022 switches) */
}

/* Validates one field's escapes and bytes; the location names the
 * repetition/component/subcomponent where the problem is. */
static hie_err
check_field(const hl7_msg *m, size_t pos, int field, struct span f, struct hl7_error *err)
{
	const char *p   = m->buf + f.off;
	int         rep = 1, comp = 1, sub = 1;
	for (size_t i = 0; i < f.len; i++) {
		char c = p[i];
		if (c == m->rs) {
			rep++;
			comp = sub = 1;
		} else if (c == m->cs) {
			comp++;
			sub = 1;
		} else if (c == m->ss)
			sub++;
		else if (c == '\0')
			return fail_at(err, HL7_E_DATA_TYPE, m->segs[pos].id, seq_of(m, pos), field,
			    rep, comp, sub, "NUL byte in field");
		else if (c == m->es) {
			size_t j = i + 1;
			int    arg;
			while (j < f.len && p[j] != m->es && p[j] != m->rs && p[j] != m->cs &&
			    p[j] != m->ss)
				j++;
			if (j >= f.len || p[j] != m->es)
				return fail_at(err, HL7_E_DATA_TYPE, m->segs[pos].id, seq_of(m, pos),
				    field, rep, comp, sub, "unterminated escape sequence");
			if (esc_classify(m, p + i + 1, j - i - 1, &arg) == ESC_BAD)
				return fail_at(err, HL7_E_DATA_TYPE, m->segs[pos].id, seq_of(m, pos),
				    field, rep, comp, sub, "invalid escape sequence");
			i = j;
		}
	}
	return HIE_OK;
}

/* Output sink: a fixed buffer or a hie_buf. */
struct sink {
	char    *p;
	size_t   len, cap;
	hie_buf *b;
	hie_err  e;
};

static void
put(struct sink *k, const char *s, size_t n)
{
	if (k->e != HIE_OK)
		return;
	if (k->b != NULL) {
		k->e = hie_buf_add(k->b, s, n);
		return;
	}
	if (k->len + n >= k->cap) {
		size_t room = k->cap - 1 - k->len;
		memcpy(k->p + k->len, s, room);
		k->len += room;
		k->e = HIE_ETOOBIG;
		return;
	}
	memcpy(k->p + k->len, s, n);
	k->len += n;
}

static void
put_latin1(struct sink *k, unsigned char c)
{
	char u[2];
	if (c < 0x80) {
		put(k, (const char *) &c, 1);
		return;
	}
	u[0] = (char) (0xC0 | (c >> 6));
	u[1] = (char) (0x80 | (c & 0x3F));
	put(k, u, 2);
}

static int
hexval(char c)
{
	return isdigit((unsigned char) c) ? c - '0' : (tolower((unsigned char) c) - 'a' + 10);
}

/* Unescapes p[n] (already validated by check_field) into k. */
static void
decode(const hl7_msg *m, const char *p, size_t n, struct sink *k)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && p[j] != m->es)
			j++;
		put(k, p + i, j - i);
		if (j >= n)
			break;
		{
			size_t        e = j + 1;
			int           arg;
			enum esc_kind kind;
			while (e < n && p[e] != m->es)
				e++;
			kind = esc_classify(m, p + j + 1, e - j - 1, &arg);
			switch (kind) {
			case ESC_DELIM: {
				char c = (char) arg;
				put(k, &c, 1);
				break;
			}
			case ESC_HEX:
				for (size_t h = j + 2; h + 1 < e; h += 2) {
					unsigned char c = (unsigned char) (hexval(p[h]) * 16 + hexval(p[h + 1]));
					if (m->latin1)
						put_latin1(k, c);
					else
						put(k, (const char *) &c, 1);
				}
				break;
			case ESC_NEWLINES:
			case ESC_SPACES:
				for (int r = 0; r < arg; r++)
					put(k, kind == ESC_NEWLINES ? "\n" : " ", 1);
				break;
			default:
				break;
			}
			i = e + 1;
		}
	}
}

/* ---- parse ---- */

static hie_err
too_big(struct hl7_error *err, const char *what, size_t have, size_t max)
{
	return fail_at(err, HL7_E_INTERNAL, "", 0, 0, 0, 0, 0,
	    "message exceeds the limit of %zu %s (has %zu or more)", max, what, have);
}

/* Raw MSH field n (n >= 3) of the first segment p[len]: *s, *sn. */
static void
raw_msh_field(const char *p, size_t len, char fs, int n, const char **s, size_t *sn)
{
	size_t i = 4, start;
	int    f = 2; /* position 4 starts MSH-2 */
	*s       = NULL;
	*sn      = 0;
	while (i < len && p[i] != '\r' && p[i] != '\n') {
		if (p[i] == fs) {
			f++;
			if (f == n) {
				start = ++i;
				while (i < len && p[i] != fs && p[i] != '\r' && p[i] != '\n')
					i++;
				*s  = p + start;
				*sn = i - start;
				return;
			}
		}
		i++;
	}
}

/* Header values are codes: surrounding spaces are a sender's padding. */
static void
trim(char *v)
{
	size_t n = strlen(v), i = 0;
	while (n > 0 && v[n - 1] == ' ')
		v[--n] = 0;
	while (v[i] == ' ')
		i++;
	memmove(v, v + i, n - i + 1);
}

static hie_err
header(hl7_msg *m, int lenient, struct hl7_error *err)
{
	struct hl7_header *h = &m->h;
	char               v[200];
	hie_err            e;

	memcpy(h->delims, &m->fs, 1);
	h->delims[1] = m->cs;
	h->delims[2] = m->rs;
	h->delims[3] = m->es;
	h->delims[4] = m->ss;
	h->delims[5] = m->ts;

	/* MSH-9: type^event^structure */
	if ((e = hl7_get(m, "MSH", 1, 9, 1, 1, 1, v, sizeof(v))) != HIE_OK || v[0] == 0)
		return fail_at(err, HL7_E_REQUIRED_MISSING, "MSH", 1, 9, 1, 1, 0,
		    "MSH-9 message type missing");
	if (strlen(v) != 3 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != 3)
		return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 9, 1, 1, 0,
		    "MSH-9.1 is not a message type");
	memcpy(h->type, v, 4);
	hl7_get(m, "MSH", 1, 9, 1, 2, 1, v, sizeof(v));
	if (v[0] == 0 && strcmp(h->type, "ACK") != 0)
		return fail_at(err, HL7_E_REQUIRED_MISSING, "MSH", 1, 9, 1, 2, 0,
		    "MSH-9.2 trigger event missing");
	if (v[0] != 0 &&
	    (strlen(v) != 3 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != 3))
		return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 9, 1, 2, 0,
		    "MSH-9.2 is not a trigger event");
	memcpy(h->event, v, strlen(v) + 1);
	if (hl7_get(m, "MSH", 1, 9, 1, 3, 1, h->structure, sizeof(h->structure)) != HIE_OK)
		return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 9, 1, 3, 0,
		    "MSH-9.3 message structure too long");
	/* MSH-10 */
	e = hl7_get(m, "MSH", 1, 10, 1, 1, 1, h->control_id, sizeof(h->control_id));
	if (e == HIE_ETOOBIG)
		return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 10, 0, 0, 0,
		    "MSH-10 longer than 199 characters");
	if (h->control_id[0] == 0)
		return fail_at(err, HL7_E_REQUIRED_MISSING, "MSH", 1, 10, 0, 0, 0,
		    "MSH-10 message control id missing");
	/* MSH-11: P, D or T (table 0103) */
	hl7_get(m, "MSH", 1, 11, 1, 1, 1, v, sizeof(v));
	trim(v);
	if (v[0] == 0)
		return fail_at(err, HL7_E_REQUIRED_MISSING, "MSH", 1, 11, 0, 0, 0,
		    "MSH-11 processing id missing");
	if ((strlen(v) != 1 || strchr("PDT", v[0]) == NULL) && !lenient)
		return fail_at(err, HL7_E_UNSUPPORTED_PROC, "MSH", 1, 11, 1, 1, 0,
		    "MSH-11 processing id is not P, D or T");
	h->processing_id[0] = v[0];
	/* MSH-12 */
	hl7_get(m, "MSH", 1, 12, 1, 1, 1, v, sizeof(v));
	trim(v);
	if (v[0] == 0)
		return fail_at(err, HL7_E_REQUIRED_MISSING, "MSH", 1, 12, 0, 0, 0,
		    "MSH-12 version id missing");
	if ((h->version_num = hl7_version_num(v, strlen(v))) == 0 && !lenient)
		return fail_at(err, HL7_E_UNSUPPORTED_VER, "MSH", 1, 12, 1, 1, 0,
		    "MSH-12 version is not 2.3 to 2.8.2");
	hie_strlcpy(h->version, v, sizeof(h->version)); /* lenient: may be cut */
	/* MSH-15, MSH-16: table 0155 */
	for (int f = 15; f <= 16; f++) {
		char *dst = f == 15 ? h->accept_ack : h->app_ack;
		hl7_get(m, "MSH", 1, f, 1, 1, 1, v, sizeof(v));
		trim(v);
		if (!lenient && v[0] != 0 && strcmp(v, "AL") != 0 && strcmp(v, "NE") != 0 &&
		    strcmp(v, "ER") != 0 && strcmp(v, "SU") != 0)
			return fail_at(err, HL7_E_TABLE_VALUE, "MSH", 1, f, 1, 1, 0,
			    "MSH-%d is not AL, NE, ER or SU", f);
		hie_strlcpy(dst, v, 3);
	}
	return HIE_OK;
}

hie_err
hl7_parse_ex(const char *in, size_t len, const struct hl7_limits *lim, int lenient,
    hl7_msg **out, struct hl7_error *err)
{
	hl7_msg       *m = NULL;
	char           d[6];
	size_t         nd, nhigh = 0, i, o, nfs, ncr, nf;
	const char    *cs_raw;
	size_t         cs_len;
	enum cs_decl   decl = CS_AUTO;
	int            latin1;
	hie_err        e;

	*out = NULL;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (lim == NULL)
		lim = &hl7_default_limits;
	if (len > lim->max_bytes)
		return too_big(err, "bytes", len, lim->max_bytes);
	/* A UTF-8 byte order mark and blank lines before MSH are noise. */
	if (len >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0) {
		in += 3;
		len -= 3;
	}
	while (len > 0 && (*in == '\r' || *in == '\n')) {
		in++;
		len--;
	}
	if ((e = hl7_read_delims(in, len, d, &nd, err)) != HIE_OK)
		return e;

	/* MSH-18 decides how the bytes are read. */
	raw_msh_field(in, len, d[0], 18, &cs_raw, &cs_len);
	if (cs_raw != NULL) {
		size_t n = 0, k;
		while (n < cs_len && cs_raw[n] != d[2] && cs_raw[n] != d[1])
			n++;
		for (k = 0; k < sizeof(charsets) / sizeof(charsets[0]); k++)
			if (strlen(charsets[k].name) == n && strncasecmp(charsets[k].name, cs_raw, n) == 0)
				break;
		if (k == sizeof(charsets) / sizeof(charsets[0]))
			return fail_at(err, HL7_E_TABLE_VALUE, "MSH", 1, 18, 1, 1, 0,
			    "MSH-18 character set not supported (ASCII, 8859/1, UNICODE UTF-8)");
		decl = charsets[k].cs;
	}
	if (decl == CS_LATIN1)
		latin1 = 1;
	else if (utf8_valid((const unsigned char *) in, len, &nhigh))
		latin1 = 0;
	else if (decl == CS_UTF8)
		return fail_at(err, HL7_E_DATA_TYPE, "MSH", 1, 18, 0, 0, 0,
		    "MSH-18 declares UTF-8 but the message is not valid UTF-8");
	else
		latin1 = 1;
	if (latin1) {
		nhigh = 0;
		for (i = 0; i < len; i++)
			nhigh += (unsigned char) in[i] >= 0x80;
	}

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return HIE_ENOMEM;
	m->fs = d[0], m->cs = d[1], m->rs = d[2], m->es = d[3], m->ss = d[4], m->ts = d[5];
	m->latin1 = latin1;
	if ((m->buf = malloc(len + (latin1 ? nhigh : 0) + 1)) == NULL)
		goto nomem;
	/* Copy: CRLF and LF become CR; 8859-1 becomes UTF-8.  Count segment
	 * ends and field separators to size the index exactly. */
	nfs = ncr = 0;
	for (i = 0, o = 0; i < len; i++) {
		unsigned char c = (unsigned char) in[i];
		if (c == '\n') {
			if (i > 0 && in[i - 1] == '\r')
				continue;
			c = '\r';
		}
		if (c == '\r')
			ncr++;
		else if (c == (unsigned char) m->fs)
			nfs++;
		if (c >= 0x80 && latin1) {
			m->buf[o++] = (char) (0xC0 | (c >> 6));
			m->buf[o++] = (char) (0x80 | (c & 0x3F));
		} else
			m->buf[o++] = (char) c;
	}
	m->buf[o] = 0;
	m->len    = o;
	if ((m->segs = calloc(ncr + 1, sizeof(*m->segs))) == NULL ||
	    (m->fields = calloc(nfs + 2 * (ncr + 1) + 1, sizeof(*m->fields))) == NULL)
		goto nomem;

	/* Index segments and fields. */
	nf = 0;
	for (i = 0; i < m->len;) {
		size_t      end = i, pos = m->nsegs;
		struct seg *s;
		while (end < m->len && m->buf[end] != '\r')
			end++;
		if (end == i) { /* empty line between segments */
			i++;
			continue;
		}
		if (m->nsegs == lim->max_segments) {
			e = too_big(err, "segments", m->nsegs + 1, lim->max_segments);
			goto fail;
		}
		s = &m->segs[m->nsegs++];
		if (end - i < 3 || !isupper((unsigned char) m->buf[i]) ||
		    !(isupper((unsigned char) m->buf[i + 1]) || isdigit((unsigned char) m->buf[i + 1])) ||
		    !(isupper((unsigned char) m->buf[i + 2]) || isdigit((unsigned char) m->buf[i + 2])) ||
		    (end - i > 3 && m->buf[i + 3] != m->fs)) {
			e = fail_at(err, HL7_E_SEGMENT_SEQUENCE, "", (int) pos + 1, 0, 0, 0, 0,
			    "segment %zu has no valid segment id", pos + 1);
			goto fail;
		}
		memcpy(s->id, m->buf + i, 3);
		s->field0 = (uint32_t) nf;
		if ((pos == 0) != (memcmp(s->id, "MSH", 3) == 0)) {
			e = fail_at(err, HL7_E_SEGMENT_SEQUENCE, s->id, seq_of(m, pos), 0, 0, 0, 0,
			    pos == 0 ? "first segment is not MSH" : "MSH inside a message");
			goto fail;
		}
		if (pos == 0) {
			/* MSH-1 is the separator itself, MSH-2 the encoding characters. */
			m->fields[nf++] = (struct span){ (uint32_t) (i + 3), 1 };
			m->fields[nf++] = (struct span){ (uint32_t) (i + 4), (uint32_t) (nd - 1) };
			i += 4 + (nd - 1);
		} else
			i += 3;
		/* Now at a field separator (or the segment end). */
		while (i < end) {
			size_t fstart = ++i;
			while (i < end && m->buf[i] != m->fs)
				i++;
			if (nf - s->field0 == lim->max_fields) {
				e = fail_at(err, HL7_E_INTERNAL, s->id, seq_of(m, pos), 0, 0, 0, 0,
				    "segment exceeds the limit of %zu fields", lim->max_fields);
				goto fail;
			}
			m->fields[nf++] = (struct span){ (uint32_t) fstart, (uint32_t) (i - fstart) };
		}
		s->nfields = (uint32_t) (nf - s->field0);
		for (uint32_t f = pos == 0 ? 2 : 0; f < s->nfields; f++)
			if ((e = check_field(m, pos, (int) f + 1, m->fields[s->field0 + f], err)) != HIE_OK)
				goto fail;
		i = end + 1;
	}
	if ((e = header(m, lenient, err)) != HIE_OK)
		goto fail;
	m->h.charset = latin1 ? HL7_CS_8859_1 : (nhigh > 0 || decl == CS_UTF8 ? HL7_CS_UTF8 : HL7_CS_ASCII);
	*out = m;
	return HIE_OK;
nomem:
	e = HIE_ENOMEM;
fail:
	hl7_free(m);
	return e;
}

hie_err
hl7_parse(const char *in, size_t len, const struct hl7_limits *lim, hl7_msg **out,
    struct hl7_error *err)
{
	return hl7_parse_ex(in, len, lim, 0, out, err);
}

/* ---- access ---- */

hie_err
hl7_get_header(const hl7_msg *m, struct hl7_header *out)
{
	*out = m->h;
	return HIE_OK;
}

hie_err
hl7_raw(const hl7_msg *m, const char **buf, size_t *len)
{
	*buf = m->buf;
	*len = m->len;
	return HIE_OK;
}

static const struct seg *
find_seg(const hl7_msg *m, const char *id, int seq)
{
	for (size_t i = 0; i < m->nsegs; i++)
		if (strncmp(m->segs[i].id, id, 4) == 0 && --seq == 0)
			return &m->segs[i];
	return NULL;
}

/* The nth (from 1) piece of p[n] split at c. */
static void
piece(const char **p, size_t *n, char c, int idx)
{
	const char *s = *p, *end = *p + *n;
	while (--idx > 0) {
		while (s < end && *s != c)
			s++;
		if (s == end) {
			*n = 0;
			return;
		}
		s++;
	}
	*p = s;
	while (s < end && *s != c)
		s++;
	*n = (size_t) (s - *p);
}

static hie_err
get(const hl7_msg *m, const char *seg, int seq, int field, int rep, int comp, int sub,
    struct sink *k)
{
	const struct seg *s;
	const char       *p;
	size_t            n;

	if (seq < 1 || field < 1 || rep < 1 || comp < 1 || sub < 1)
		return HIE_EINVAL;
	if ((s = find_seg(m, seg, seq)) == NULL)
		return HIE_ENOTFOUND;
	if ((uint32_t) field > s->nfields)
		return HIE_OK;
	p = m->buf + m->fields[s->field0 + field - 1].off;
	n = m->fields[s->field0 + field - 1].len;
	if (s == &m->segs[0] && field <= 2) {
		if (rep == 1 && comp == 1 && sub == 1)
			put(k, p, n);
		return k->e;
	}
	piece(&p, &n, m->rs, rep);
	piece(&p, &n, m->cs, comp);
	piece(&p, &n, m->ss, sub);
	decode(m, p, n, k);
	return k->e;
}

hie_err
hl7_get(const hl7_msg *m, const char *seg, int seq, int field, int rep, int comp, int sub,
    char *out, size_t cap)
{
	struct sink k = { out, 0, cap, NULL, HIE_OK };
	hie_err     e;
	if (cap == 0)
		return HIE_ETOOBIG;
	e          = get(m, seg, seq, field, rep, comp, sub, &k);
	out[k.len] = 0;
	return e;
}

hie_err
hl7_get_buf(const hl7_msg *m, const char *seg, int seq, int field, int rep, int comp,
    int sub, hie_buf *out)
{
	struct sink k = { NULL, 0, 0, out, HIE_OK };
	return get(m, seg, seq, field, rep, comp, sub, &k);
}

hie_err
hl7_get_raw(const hl7_msg *m, const char *seg, int seq, int field, const char **p,
    size_t *len)
{
	const struct seg *s;
	*p   = "";
	*len = 0;
	if (seq < 1 || field < 1)
		return HIE_EINVAL;
	if ((s = find_seg(m, seg, seq)) == NULL)
		return HIE_ENOTFOUND;
	if ((uint32_t) field <= s->nfields) {
		*p   = m->buf + m->fields[s->field0 + field - 1].off;
		*len = m->fields[s->field0 + field - 1].len;
	}
	return HIE_OK;
}

hie_err
hl7_count_segments(const hl7_msg *m, const char *seg, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < m->nsegs; i++)
		if (strncmp(m->segs[i].id, seg, 4) == 0)
			(*n)++;
	return HIE_OK;
}

hie_err
hl7_field_reps(const hl7_msg *m, const char *seg, int seq, int field, size_t *n)
{
	const char *p;
	size_t      len;
	hie_err     e;
	*n = 0;
	if ((e = hl7_get_raw(m, seg, seq, field, &p, &len)) != HIE_OK)
		return e;
	if (len == 0)
		return HIE_OK;
	*n = 1;
	if (strncmp(seg, "MSH", 4) == 0 && field <= 2)
		return HIE_OK;
	for (size_t i = 0; i < len; i++)
		*n += p[i] == m->rs;
	return HIE_OK;
}

hie_err
hl7_segment_total(const hl7_msg *m, size_t *n)
{
	*n = m->nsegs;
	return HIE_OK;
}

hie_err
hl7_segment_at(const hl7_msg *m, size_t pos, char id[4], int *seq)
{
	if (pos >= m->nsegs)
		return HIE_ENOTFOUND;
	memcpy(id, m->segs[pos].id, 4);
	*seq = seq_of(m, pos);
	return HIE_OK;
}

hie_err
hl7_escape(const char *d, const char *s, hie_buf *out)
{
	/* delimiter -> escape letter, in hl7_header.delims order */
	static const char letters[] = "FSRET";
	hie_err           e         = HIE_OK;
	for (; *s != 0 && e == HIE_OK; s++) {
		const char *hit = NULL;
		for (int i = 0; i < 5 && d[i] != 0; i++)
			if (*s == d[i])
				hit = &letters[i];
		if (d[5] != 0 && *s == d[5]) {
			static const char p = 'P';
			hit                 = &p;
		}
		if (hit != NULL) {
			char esc[3] = { d[3], *hit, d[3] };
			e           = hie_buf_add(out, esc, 3);
		} else if (*s == '\r' || *s == '\n') {
			if (*s == '\r' && s[1] == '\n')
				s++;
			e = hie_buf_printf(out, "%c.br%c", d[3], d[3]);
		} else
			e = hie_buf_add(out, s, 1);
	}
	return e;
}
