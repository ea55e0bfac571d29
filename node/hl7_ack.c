/*
 * node/hl7_ack.c -- HL7 v2 acknowledgements (see node/hl7.h): ACK messages
 * in original (AA/AE/AR) and enhanced (CA/CE/CR) mode with an ERR segment
 * in the form of the answered message's version, for parsed messages and
 * for bytes the parser refused (from what can be salvaged of their MSH).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/hl7.h"
#include "node/hl7_int.h"

/* Appends while nothing has failed yet: build() reads as the segment it writes. */
#define TRY(x)                   \
	do {                     \
		if (e == HIE_OK) \
			e = (x); \
	} while (0)

/* What an ACK needs from the message it answers; raw fields are still
 * escaped in d and, for a parsed message, UTF-8. */
struct ackin {
	char  d[6];
	int   escape_fields; /* salvaged from a broken MSH-2: escape, don't copy */
	struct {
		const char *p;
		size_t      n;
	} f[19]; /* raw MSH-n, n = 3..18 */
	char             event[4];
	int              version_num; /* 0: unknown, ERR in the v2.5 form */
	enum hl7_charset cs;
	char             accept_ack[3];
	char             app_ack[3];
	int              is_ack;
};

static const char *const code_names[] = { "AA", "AE", "AR", "CA", "CE", "CR" };

/* Outcome -> code, per mode; and when MSH-15 asks for an accept ack
 * (HL7 v2 chapter 2, table 0155). */
static const enum hl7_ack_code mode_codes[2][3] = {
	{ HL7_AA, HL7_AE, HL7_AR },
	{ HL7_CA, HL7_CE, HL7_CR },
};
static const struct {
	const char *value;
	int         on_success, on_failure;
} accept_rules[] = {
	{ "AL", 1, 1 },
	{ "NE", 0, 0 },
	{ "ER", 0, 1 },
	{ "SU", 1, 0 },
	{ "", 1, 1 }, /* enhanced mode through MSH-16 only: answer, senders wait */
};

static hie_err
add_field(hie_buf *b, const struct ackin *in, const char *p, size_t n)
{
	if (!in->escape_fields)
		return hie_buf_add(b, p, n);
	{
		char tmp[256];
		size_t k = 0;
		for (size_t i = 0; i < n && k + 1 < sizeof(tmp); i++) {
			unsigned char c = (unsigned char) p[i];
			tmp[k++]        = c < 0x20 || c >= 0x7F ? '?' : (char) c;
		}
		tmp[k] = 0;
		return hl7_escape(in->d, tmp, b);
	}
}

static void
now_ts(char out[24])
{
	time_t    t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y%m%d%H%M%S+0000", &tm);
}

/* UTF-8 in b->data[from..] to 8859-1 (or ASCII), in place: the answer
 * goes out in the character set of the message it answers. */
static void
to_charset(hie_buf *b, size_t from, enum hl7_charset cs)
{
	size_t i = from, o = from;
	if (cs == HL7_CS_UTF8)
		return;
	while (i < b->len) {
		unsigned char c = (unsigned char) b->data[i];
		if (c < 0x80) {
			b->data[o++] = (char) c;
			i++;
			continue;
		}
		if (cs == HL7_CS_8859_1 && (c == 0xC2 || c == 0xC3) && i + 1 < b->len) {
			b->data[o++] = (char) (((c & 0x03) << 6) | ((unsigned char) b->data[i + 1] & 0x3F));
			i += 2;
			continue;
		}
		b->data[o++] = '?';
		i++;
		while (i < b->len && ((unsigned char) b->data[i] & 0xC0) == 0x80)
			i++;
	}
	b->len = o;
	if (b->len > 0)
		b->data[b->len] = 0;
}

/* app: an application acknowledgement sent as a message of its own
 * (enhanced mode): it asks for the receiver's accept acknowledgement
 * (MSH-15 AL), which is how the sender knows it was delivered, and never
 * for an application acknowledgement (MSH-16 NE). */
static hie_err
build(const struct ackin *in, enum hl7_ack_code code, const struct hl7_error *err, int app,
    hie_buf *out)
{
	const char  fs = in->d[0], cs = in->d[1], ss = in->d[4];
	size_t      start = out->len, last;
	char        ts[24], rid[33], id[21];
	const int   swap[] = { 0, 0, 0, 5, 6, 3, 4 }; /* ACK MSH-3..6 <- original */
	int         v25    = in->version_num == 0 || hl7_version_at_least(in->version_num, 25);
	hie_err     e      = HIE_OK;

	now_ts(ts);
	hie_request_id(rid);
	memcpy(id, rid, 20); /* ST of 20: fits the v2.3 MSH-10 length */
	id[20] = 0;

	/* MSH */
	e = hie_buf_printf(out, "MSH%c", fs);
	for (int i = 1; i < 6 && in->d[i] != 0 && e == HIE_OK; i++)
		e = hie_buf_add(out, &in->d[i], 1);
	last = out->len;
	for (int f = 3; f <= 18 && e == HIE_OK; f++) {
		size_t before = out->len;
		e = hie_buf_add(out, &fs, 1);
		if (f <= 6)
			TRY(add_field(out, in, in->f[swap[f]].p, in->f[swap[f]].n));
		else if (f == 7)
			TRY(hie_buf_addstr(out, ts));
		else if (f == 9) {
			/* v2.3: type^event; from v2.3.1 also the structure ACK. */
			TRY(hie_buf_addstr(out, "ACK"));
			if (in->event[0] != 0) {
				TRY(hie_buf_printf(out, "%c%s", cs, in->event));
				if (in->version_num != 23)
					TRY(hie_buf_printf(out, "%cACK", cs));
			}
		} else if (f == 10)
			TRY(hie_buf_addstr(out, id));
		else if (f == 11 || f == 12 || f == 18)
			TRY(add_field(out, in, in->f[f].p, in->f[f].n));
		else if ((f == 15 || f == 16) && code >= HL7_CA)
			/* never acknowledge an ACK */
			TRY(hie_buf_addstr(out, "NE"));
		else if (app && (f == 15 || f == 16))
			TRY(hie_buf_addstr(out, f == 15 ? "AL" : "NE"));
		if (out->len > before + 1)
			last = out->len;
	}
	if (e != HIE_OK)
		goto done;
	out->len = last; /* trailing empty fields dropped */
	e        = hie_buf_addstr(out, "\r");

	/* MSA: code, original control id, and before v2.5 the reason (MSA-3). */
	TRY(hie_buf_printf(out, "MSA%c%s%c", fs, code_names[code], fs));
	TRY(add_field(out, in, in->f[10].p, in->f[10].n));
	if (err != NULL && !v25 && err->text[0] != 0) {
		TRY(hie_buf_add(out, &fs, 1));
		TRY(hl7_escape(in->d, err->text, out));
	}
	TRY(hie_buf_addstr(out, "\r"));

	if (err != NULL && err->code != 0 && e == HIE_OK) {
		char sev = err->severity ? err->severity : 'E';
		if (v25) {
			/* ERR-2 ERL, ERR-3 CWE code^text^HL70357, ERR-4 severity,
			 * ERR-7 diagnostic information. */
			e = hie_buf_printf(out, "ERR%c%c", fs, fs);
			if (err->segment[0] != 0) {
				const int pos[] = { err->seq, err->field, err->rep, err->comp, err->sub };
				TRY(hie_buf_addstr(out, err->segment));
				for (size_t i = 0; i < 5; i++) {
					TRY(hie_buf_add(out, &cs, 1));
					if (pos[i] > 0)
						TRY(hie_buf_printf(out, "%d", pos[i]));
				}
				while (e == HIE_OK && out->data[out->len - 1] == cs)
					out->len--; /* positions not known */
			}
			TRY(hie_buf_printf(out, "%c%d%c%s%cHL70357%c%c%c%c%c", fs, err->code, cs,
			    hl7_error_text(err->code), cs, fs, sev, fs, fs, fs));
			TRY(hl7_escape(in->d, err->text, out));
		} else {
			/* ERR-1 ELD: segment^sequence^field^code&text&HL70357 */
			e = hie_buf_printf(out, "ERR%c%s%c", fs, err->segment, cs);
			if (err->seq > 0)
				TRY(hie_buf_printf(out, "%d", err->seq));
			TRY(hie_buf_add(out, &cs, 1));
			if (err->field > 0)
				TRY(hie_buf_printf(out, "%d", err->field));
			TRY(hie_buf_printf(out, "%c%d%c%s%cHL70357", cs, err->code, ss,
			    hl7_error_text(err->code), ss));
		}
		TRY(hie_buf_addstr(out, "\r"));
	}
done:
	if (e != HIE_OK) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = 0;
		return e;
	}
	to_charset(out, start, in->cs);
	return HIE_OK;
}

static hie_err
from_msg(const hl7_msg *m, struct ackin *in)
{
	struct hl7_header h;
	memset(in, 0, sizeof(*in));
	hl7_get_header(m, &h);
	memcpy(in->d, h.delims, 6);
	for (int f = 3; f <= 18; f++)
		hl7_get_raw(m, "MSH", 1, f, &in->f[f].p, &in->f[f].n);
	memcpy(in->event, h.event, sizeof(in->event));
	in->version_num = h.version_num;
	in->cs          = h.charset;
	memcpy(in->accept_ack, h.accept_ack, 3);
	memcpy(in->app_ack, h.app_ack, 3);
	in->is_ack = strcmp(h.type, "ACK") == 0;
	return HIE_OK;
}

/* Salvage what an ACK needs from bytes the parser refused. */
static hie_err
from_raw(const char *p, size_t n, struct ackin *in)
{
	size_t i, nd, end;
	int    f;
	memset(in, 0, sizeof(*in));
	in->cs = HL7_CS_ASCII;
	if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3, n -= 3;
	while (n > 0 && (*p == '\r' || *p == '\n'))
		p++, n--;
	if (n < 4 || memcmp(p, "MSH", 3) != 0 || p[3] <= 0x20 || p[3] >= 0x7F ||
	    isalnum((unsigned char) p[3]))
		return HIE_EHL7;
	if (hl7_read_delims(p, n, in->d, &nd, NULL) != HIE_OK) {
		/* Broken MSH-2: answer in the standard delimiters and escape
		 * whatever we copy, since its own delimiters are unknown. */
		memcpy(in->d, (char[6]){ p[3], '^', '~', '\\', '&', 0 }, 6);
		if (strchr("^~\\&", p[3]) != NULL)
			in->d[0] = '|';
		in->escape_fields = 1;
	}
	for (end = 0; end < n && p[end] != '\r' && p[end] != '\n'; end++)
		;
	/* Split the first segment at the field separator: piece k is MSH-(k+1). */
	for (i = 3, f = 1; i < end && f < 18;) {
		size_t s = ++i;
		while (i < end && p[i] != p[3])
			i++;
		f++;
		if (f >= 3) {
			in->f[f].p = p + s;
			in->f[f].n = i - s;
		}
	}
	for (int k = 3; k <= 18; k++) {
		/* A raw field with control or non-ASCII bytes of unknown charset
		 * is copied escaped and sanitised. */
		for (size_t j = 0; j < in->f[k].n; j++) {
			unsigned char c = (unsigned char) in->f[k].p[j];
			if (c < 0x20 || c >= 0x7F)
				in->escape_fields = 1;
		}
	}
	{
		const char *v  = in->f[12].p;
		size_t      vn = 0;
		while (v != NULL && vn < in->f[12].n && v[vn] != in->d[1])
			vn++;
		in->version_num = v != NULL ? hl7_version_num(v, vn) : 0;
	}
	{
		const char *t  = in->f[9].p;
		size_t      tn = in->f[9].n, k = 0;
		/* MSH-9.2 when it looks like an event code. */
		while (t != NULL && k < tn && t[k] != in->d[1])
			k++;
		if (t != NULL && k < tn && tn - k - 1 >= 3) {
			const char *ev = t + k + 1;
			if (isalnum((unsigned char) ev[0]) && isalnum((unsigned char) ev[1]) &&
			    isalnum((unsigned char) ev[2]) && (tn - k - 1 == 3 || ev[3] == in->d[1]))
				memcpy(in->event, ev, 3);
		}
		in->is_ack = t != NULL && tn >= 3 && memcmp(t, "ACK", 3) == 0 &&
		    (tn == 3 || t[3] == in->d[1]);
	}
	for (int k = 15; k <= 16; k++) {
		char *dst = k == 15 ? in->accept_ack : in->app_ack;
		if (in->f[k].n == 2)
			memcpy(dst, in->f[k].p, 2);
	}
	return HIE_OK;
}

static hie_err
respond(const struct ackin *in, enum hl7_outcome outcome, const struct hl7_error *err,
    hie_buf *out)
{
	int enhanced = in->accept_ack[0] != 0 || in->app_ack[0] != 0;
	if (in->is_ack || (unsigned) outcome > HL7_REJECT)
		return in->is_ack ? HIE_OK : HIE_EINVAL;
	if (enhanced) {
		size_t k;
		for (k = 0; k < sizeof(accept_rules) / sizeof(accept_rules[0]); k++)
			if (strcmp(accept_rules[k].value, in->accept_ack) == 0)
				break;
		if (k == sizeof(accept_rules) / sizeof(accept_rules[0]))
			k = 0; /* unknown value (salvaged): answer */
		if (!(outcome == HL7_ACCEPT ? accept_rules[k].on_success : accept_rules[k].on_failure))
			return HIE_OK;
	}
	return build(in, mode_codes[enhanced][outcome], outcome == HL7_ACCEPT ? NULL : err, 0, out);
}

/* The MSH-16 rule for this outcome: -1 when MSH-16 is not one of the
 * table 0155 values (no separate application acknowledgement), else
 * whether one is wanted. */
static int
app_rule(const struct ackin *in, enum hl7_outcome outcome)
{
	if (in->is_ack || in->app_ack[0] == 0)
		return -1;
	for (size_t k = 0; k + 1 < sizeof(accept_rules) / sizeof(accept_rules[0]); k++)
		if (strcmp(accept_rules[k].value, in->app_ack) == 0)
			return outcome == HL7_ACCEPT ? accept_rules[k].on_success : accept_rules[k].on_failure;
	return -1;
}

int
hl7_app_ack_mode(const hl7_msg *m)
{
	struct ackin in;
	from_msg(m, &in);
	/* NE: the accept ack is the sender's only news, so it keeps the
	 * outcome (CE for an error) -- as the AL/NE lab feeds of the corpus
	 * expect. */
	return app_rule(&in, HL7_ACCEPT) >= 0 && strcmp(in.app_ack, "NE") != 0;
}

hie_err
hl7_app_ack(const hl7_msg *m, enum hl7_outcome outcome, const struct hl7_error *err, hie_buf *out)
{
	struct ackin in;
	if ((unsigned) outcome > HL7_REJECT)
		return HIE_EINVAL;
	from_msg(m, &in);
	if (app_rule(&in, outcome) <= 0)
		return HIE_OK;
	return build(&in, mode_codes[0][outcome], outcome == HL7_ACCEPT ? NULL : err, 1, out);
}

hie_err
hl7_ack(const hl7_msg *m, enum hl7_outcome outcome, const struct hl7_error *err, hie_buf *out)
{
	struct ackin in;
	from_msg(m, &in);
	return respond(&in, outcome, err, out);
}

hie_err
hl7_ack_build(const hl7_msg *m, enum hl7_ack_code code, const struct hl7_error *err,
    hie_buf *out)
{
	struct ackin in;
	if ((unsigned) code > HL7_CR)
		return HIE_EINVAL;
	from_msg(m, &in);
	return build(&in, code, err, 0, out);
}

hie_err
hl7_nak(const char *buf, size_t len, const struct hl7_error *err, hie_buf *out)
{
	struct ackin     in;
	enum hl7_outcome o = HL7_ERROR;
	if (from_raw(buf, len, &in) != HIE_OK)
		return HIE_EHL7;
	/* Header problems reject the message; content problems are errors. */
	if (err == NULL || strcmp(err->segment, "MSH") == 0 || err->segment[0] == 0 ||
	    (err->code >= 200 && err->code <= 203))
		o = HL7_REJECT;
	return respond(&in, o, err, out);
}

hie_err
hl7_ack_parse(const char *buf, size_t len, char code[3], char *control_id, size_t cap,
    int *err_code)
{
	hl7_msg *m;
	char     v[16];
	hie_err  e;

	code[0] = 0;
	if (cap > 0)
		control_id[0] = 0;
	*err_code = 0;
	if ((e = hl7_parse_ex(buf, len, NULL, 1, &m, NULL)) != HIE_OK)
		return e;
	if (hl7_get(m, "MSA", 1, 1, 1, 1, 1, v, sizeof(v)) != HIE_OK || strlen(v) != 2) {
		hl7_free(m);
		return HIE_EHL7;
	}
	memcpy(code, v, 3);
	e = hl7_get(m, "MSA", 1, 2, 1, 1, 1, control_id, cap);
	if (hl7_get(m, "ERR", 1, 3, 1, 1, 1, v, sizeof(v)) == HIE_OK && v[0] == 0)
		hl7_get(m, "ERR", 1, 1, 1, 4, 1, v, sizeof(v));
	*err_code = atoi(v);
	hl7_free(m);
	return e;
}
