/*
 * tests/unit/test_hl7.c -- the HL7 v2 parser and ACK builder through
 * node/hl7.h: tables of messages and the values, errors and
 * acknowledgements they must give; then every message of the shared
 * corpus (tests/data/corpus_hl7v2.expect).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/hl7.h"
#include "testutil.h"

#define HDR25 "MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|20240101120000||ADT^A04^ADT_A01|C1|P|2.5"

/* ---- values ---- */

static const char m_std[] =
    HDR25 "\r"
    "EVN|A04|20240101\r"
    "PID|1||123^^^HOSP&1.2.3&ISO~456^^^OTHER||DOE^JOHN \\T\\ JANE\\S\\X\\F\\Y\\R\\Z\\E\\W||\"\"\r"
    "NTE|1||line1\\.br\\line2\\H\\bold\\N\\ \\X41424344\\\\.sp 2\\x\\.sk 3\\y\\Zlocal\\|\r"
    "ZPD|custom|^^^\r";
static const char m_custom[] =
    "MSH#*!@%#SAPP#SFAC#RAPP#RFAC#20240101##ORU*R01#C2#T#2.3.1\r"
    "PID#1##A*B%C!D#|^~\\&#x@F@y\r";
static const char m_latin1[] =
    "MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|20240101||ADT^A08|C3|P|2.5.1||||||8859/1\r"
    "PID|1||9||M\xfcller^J\\XE9\\r\xf4me\r";
static const char m_utf8[] =
    "MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|20240101||ADT^A08|C4|P|2.8||||||UNICODE UTF-8\r"
    "PID|1||9||M\xc3\xbcller^\xe6\x9d\x8e\r";
static const char m_lf[] =
    "\xEF\xBB\xBF" HDR25 "\r\n"
    "PID|1||7\n"
    "\n"
    "PV1|1|I\r\n";
static const char m_v27[] =
    "MSH|^~\\&#|SAPP|SFAC|RAPP|RFAC|20240101||ADT^A31^ADT_A05|C5|D|2.7\r"
    "PID|1||X\\P\\Y\r";

static const struct {
	const char *msg;
	const char *seg;
	int         seq, field, rep, comp, sub;
	const char *want;
} values[] = {
	{ m_std, "MSH", 1, 1, 1, 1, 1, "|" },
	{ m_std, "MSH", 1, 2, 1, 1, 1, "^~\\&" },
	{ m_std, "MSH", 1, 3, 1, 1, 1, "SAPP" },
	{ m_std, "MSH", 1, 9, 1, 3, 1, "ADT_A01" },
	{ m_std, "PID", 1, 3, 1, 1, 1, "123" },
	{ m_std, "PID", 1, 3, 1, 4, 1, "HOSP" },
	{ m_std, "PID", 1, 3, 1, 4, 2, "1.2.3" },
	{ m_std, "PID", 1, 3, 1, 4, 3, "ISO" },
	{ m_std, "PID", 1, 3, 2, 1, 1, "456" },
	{ m_std, "PID", 1, 3, 2, 4, 1, "OTHER" },
	{ m_std, "PID", 1, 3, 3, 1, 1, "" },
	{ m_std, "PID", 1, 5, 1, 1, 1, "DOE" },
	{ m_std, "PID", 1, 5, 1, 2, 1, "JOHN & JANE^X|Y~Z\\W" },
	{ m_std, "PID", 1, 7, 1, 1, 1, "\"\"" },
	{ m_std, "PID", 1, 40, 1, 1, 1, "" },
	{ m_std, "NTE", 1, 3, 1, 1, 1, "line1\nline2bold ABCD\n\nx   y" },
	{ m_std, "ZPD", 1, 1, 1, 1, 1, "custom" },
	{ m_std, "ZPD", 1, 2, 1, 4, 1, "" },
	{ m_custom, "MSH", 1, 1, 1, 1, 1, "#" },
	{ m_custom, "MSH", 1, 2, 1, 1, 1, "*!@%" },
	{ m_custom, "MSH", 1, 9, 1, 2, 1, "R01" },
	{ m_custom, "PID", 1, 3, 1, 2, 2, "C" },
	{ m_custom, "PID", 1, 3, 2, 1, 1, "D" },
	{ m_custom, "PID", 1, 4, 1, 1, 1, "|^~\\&" },
	{ m_custom, "PID", 1, 5, 1, 1, 1, "x#y" },
	{ m_latin1, "PID", 1, 5, 1, 1, 1, "M\xc3\xbcller" },
	{ m_latin1, "PID", 1, 5, 1, 2, 1, "J\xc3\xa9r\xc3\xb4me" },
	{ m_utf8, "PID", 1, 5, 1, 1, 1, "M\xc3\xbcller" },
	{ m_utf8, "PID", 1, 5, 1, 2, 1, "\xe6\x9d\x8e" },
	{ m_lf, "PID", 1, 3, 1, 1, 1, "7" },
	{ m_lf, "PV1", 1, 2, 1, 1, 1, "I" },
	{ m_v27, "PID", 1, 3, 1, 1, 1, "X#Y" },
};

static void
test_values(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		hl7_msg         *m;
		struct hl7_error err;
		char             out[256];
		hie_err          e = hl7_parse(values[i].msg, strlen(values[i].msg), NULL, &m, &err);
		if (e != HIE_OK)
			fail_msg("value %zu: parse failed: %d %s", i, err.code, err.text);
		assert_int_equal(hl7_get(m, values[i].seg, values[i].seq, values[i].field,
		                     values[i].rep, values[i].comp, values[i].sub, out, sizeof(out)),
		    HIE_OK);
		if (strcmp(out, values[i].want) != 0)
			fail_msg("value %zu: %s-%d: got '%s' want '%s'", i, values[i].seg, values[i].field,
			    out, values[i].want);
		hl7_free(m);
	}
}

static void
test_structure(void **state)
{
	hl7_msg          *m;
	struct hl7_header h;
	size_t            n;
	char              id[4], small[4];
	int               seq;
	hie_buf           b;

	(void) state;
	assert_int_equal(hl7_parse(m_std, strlen(m_std), NULL, &m, NULL), HIE_OK);
	hl7_get_header(m, &h);
	assert_string_equal(h.type, "ADT");
	assert_string_equal(h.event, "A04");
	assert_string_equal(h.structure, "ADT_A01");
	assert_string_equal(h.control_id, "C1");
	assert_string_equal(h.version, "2.5");
	assert_int_equal(h.version_num, 25);
	assert_string_equal(h.processing_id, "P");
	assert_int_equal(h.charset, HL7_CS_ASCII);
	assert_int_equal(hl7_field_reps(m, "PID", 1, 3, &n), HIE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(hl7_field_reps(m, "PID", 1, 4, &n), HIE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(hl7_count_segments(m, "PID", &n), HIE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(hl7_count_segments(m, "OBX", &n), HIE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(hl7_segment_total(m, &n), HIE_OK);
	assert_int_equal(n, 5);
	assert_int_equal(hl7_segment_at(m, 4, id, &seq), HIE_OK);
	assert_string_equal(id, "ZPD");
	assert_int_equal(seq, 1);
	assert_int_equal(hl7_segment_at(m, 5, id, &seq), HIE_ENOTFOUND);
	assert_int_equal(hl7_get(m, "OBX", 1, 1, 1, 1, 1, small, sizeof(small)), HIE_ENOTFOUND);
	assert_int_equal(hl7_get(m, "PID", 2, 1, 1, 1, 1, small, sizeof(small)), HIE_ENOTFOUND);
	assert_int_equal(hl7_get(m, "PID", 1, 0, 1, 1, 1, small, sizeof(small)), HIE_EINVAL);
	assert_int_equal(hl7_get(m, "PID", 1, 5, 1, 2, 1, small, sizeof(small)), HIE_ETOOBIG);
	assert_string_equal(small, "JOH");
	hie_buf_init(&b, 1024);
	assert_int_equal(hl7_get_buf(m, "NTE", 1, 3, 1, 1, 1, &b), HIE_OK);
	assert_string_equal(b.data, "line1\nline2bold ABCD\n\nx   y");
	b.len = 0;
	assert_int_equal(hl7_escape(h.delims, "a|b^c~d\\e&f\r\ng", &b), HIE_OK);
	assert_string_equal(b.data, "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\.br\\g");
	hie_buf_free(&b);
	hl7_free(m);

	/* Repeated segments: the second OBX by occurrence and by position. */
	{
		static const char msg[] = "MSH|^~\\&|A|B|C|D|2024||ORU^R01|9|P|2.5.1\r"
					  "PID|1\rOBR|1\rOBX|1|TX|||first\rOBX|2|TX|||second\r";
		char v[32];
		assert_int_equal(hl7_parse(msg, strlen(msg), NULL, &m, NULL), HIE_OK);
		assert_int_equal(hl7_get(m, "OBX", 2, 5, 1, 1, 1, v, sizeof(v)), HIE_OK);
		assert_string_equal(v, "second");
		assert_int_equal(hl7_segment_at(m, 4, id, &seq), HIE_OK);
		assert_string_equal(id, "OBX");
		assert_int_equal(seq, 2);
		hl7_free(m);
	}
}

/* ---- errors ---- */

static const struct {
	const char *name;
	const char *msg;
	size_t      len; /* 0: strlen */
	int         code;
	const char *seg;
	int         field, comp;
} bad[] = {
	{ "empty", "", 0, 100, "MSH", 0, 0 },
	{ "missing MSH", "PID|1||123\r", 0, 100, "MSH", 0, 0 },
	{ "garbage", "\x01\x02\x03garbage\xff", 0, 100, "MSH", 0, 0 },
	{ "bad MSH-1", "MSHA^~\\&A", 0, 102, "MSH", 1, 0 },
	{ "short MSH-2", "MSH|^~|A|B|C|D|2024||ADT^A01|1|P|2.5\r", 0, 102, "MSH", 2, 0 },
	{ "repeated MSH-2", "MSH|^^\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\r", 0, 102, "MSH", 2, 0 },
	{ "long MSH-2", "MSH|^~\\&#$|A|B|C|D|2024||ADT^A01|1|P|2.5\r", 0, 102, "MSH", 2, 0 },
	{ "truncated", "MSH|^~\\&|APP", 0, 101, "MSH", 9, 1 },
	{ "no event", "MSH|^~\\&|A|B|C|D|2024||ADT|1|P|2.5\r", 0, 101, "MSH", 9, 2 },
	{ "bad type", "MSH|^~\\&|A|B|C|D|2024||ad^A01|1|P|2.5\r", 0, 102, "MSH", 9, 1 },
	{ "no control id", "MSH|^~\\&|A|B|C|D|2024||ADT^A01||P|2.5\r", 0, 101, "MSH", 10, 0 },
	{ "processing id", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|X|2.5\r", 0, 202, "MSH", 11, 1 },
	{ "no processing id", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1||2.5\r", 0, 101, "MSH", 11, 0 },
	{ "version 2.2", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.2\r", 0, 203, "MSH", 12, 1 },
	{ "version 2.9", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.9\r", 0, 203, "MSH", 12, 1 },
	{ "no version", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P\r", 0, 101, "MSH", 12, 0 },
	{ "accept ack", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5|||XX\r", 0, 103, "MSH", 15, 1 },
	{ "charset", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5||||||UNICODE UTF-16\r", 0, 103, "MSH", 18, 1 },
	{ "not utf-8", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5||||||UNICODE UTF-8\rPID|1||\xff\xfe\r", 0, 102, "MSH", 18, 0 },
	{ "bad escape", HDR25 "\rPID|1||1||A\\Q\\B\r", 0, 102, "PID", 5, 1 },
	{ "unterminated escape", HDR25 "\rPID|1||1||A^B\\F\r", 0, 102, "PID", 5, 2 },
	{ "escape across component", HDR25 "\rPID|1||1||A\\X4^1\\\r", 0, 102, "PID", 5, 1 },
	{ "odd hex", HDR25 "\rPID|1||1||\\X414\\\r", 0, 102, "PID", 5, 1 },
	{ "NUL hex", HDR25 "\rPID|1||1||\\X00\\\r", 0, 102, "PID", 5, 1 },
	{ "charset switch", HDR25 "\rPID|1||1||\\C2842\\\r", 0, 102, "PID", 5, 1 },
	{ "empty escape", HDR25 "\rPID|1||1||a\\\\b\r", 0, 102, "PID", 5, 1 },
	{ "truncation without char", HDR25 "\rPID|1||1||a\\P\\b\r", 0, 102, "PID", 5, 1 },
	{ "NUL byte", HDR25 "\rPID|1||1||a\0b\r", sizeof(HDR25 "\rPID|1||1||a\0b\r") - 1, 102, "PID", 5, 1 },
	{ "lower-case segment", HDR25 "\rpid|1\r", 0, 100, "", 0, 0 },
	{ "short segment id", HDR25 "\rPI\r", 0, 100, "", 0, 0 },
	{ "second MSH", HDR25 "\rPID|1\r" HDR25 "\r", 0, 100, "MSH", 0, 0 },
};

static void
test_errors(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hl7_msg         *m = (hl7_msg *) 1;
		struct hl7_error err;
		size_t           len = bad[i].len ? bad[i].len : strlen(bad[i].msg);
		hie_err          e   = hl7_parse(bad[i].msg, len, NULL, &m, &err);
		if (e != HIE_EHL7 || m != NULL)
			fail_msg("%s: want HIE_EHL7, got %d", bad[i].name, e);
		if (err.code != bad[i].code || strcmp(err.segment, bad[i].seg) != 0 ||
		    err.field != bad[i].field || err.comp != bad[i].comp)
			fail_msg("%s: got %d at %s-%d.%d (%s), want %d at %s-%d.%d", bad[i].name, err.code,
			    err.segment, err.field, err.comp, err.text, bad[i].code, bad[i].seg, bad[i].field,
			    bad[i].comp);
		assert_true(err.text[0] != 0);
	}
}

static void
test_limits(void **state)
{
	struct hl7_limits lim = hl7_default_limits;
	struct hl7_error  err;
	hl7_msg          *m;
	(void) state;
	lim.max_bytes = 100;
	assert_int_equal(hl7_parse(m_std, strlen(m_std), &lim, &m, &err), HIE_EHL7);
	assert_int_equal(err.code, 207);
	lim           = hl7_default_limits;
	lim.max_segments = 3;
	assert_int_equal(hl7_parse(m_std, strlen(m_std), &lim, &m, &err), HIE_EHL7);
	assert_int_equal(err.code, 207);
	lim            = hl7_default_limits;
	lim.max_fields = 5;
	assert_int_equal(hl7_parse(m_std, strlen(m_std), &lim, &m, &err), HIE_EHL7);
	assert_int_equal(err.code, 207);
	assert_string_equal(err.segment, "MSH");
	lim.max_fields = 12;
	assert_int_equal(hl7_parse(m_std, strlen(m_std), &lim, &m, &err), HIE_OK);
	hl7_free(m);
}

/* ---- acknowledgements ---- */

/* Segment n (from 0) of an ACK, CR-separated, into out. */
static void
seg_of(const char *ack, int n, char *out, size_t cap)
{
	const char *p = ack, *e;
	while (n-- > 0 && (p = strchr(p, '\r')) != NULL)
		p++;
	assert_non_null(p);
	e = strchr(p, '\r');
	assert_non_null(e);
	assert_true((size_t) (e - p) < cap);
	memcpy(out, p, (size_t) (e - p));
	out[e - p] = 0;
}

/* MSH of an ACK without its MSH-7 (time) and MSH-10 (fresh id). */
static void
msh_stable(const char *ack, char *out, size_t cap)
{
	char  msh[512], *f[32];
	int   n = 0;
	char *save, *tok;
	seg_of(ack, 0, msh, sizeof(msh));
	/* split keeping empties */
	for (tok = msh; n < 32; n++) {
		f[n] = tok;
		if ((save = strchr(tok, '|')) == NULL) {
			n++;
			break;
		}
		*save = 0;
		tok   = save + 1;
	}
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		const char *v = (i == 6 || i == 9) ? "*" : f[i];
		if (i > 0)
			strncat(out, "|", cap - strlen(out) - 1);
		strncat(out, v, cap - strlen(out) - 1);
	}
}

static const struct {
	const char      *name;
	const char      *msg;
	enum hl7_outcome outcome;
	int              with_err;
	const char      *msh;    /* NULL: no acknowledgement expected */
	const char      *msa, *err;
} acks[] = {
	{ "v2.5 AA", HDR25 "\rPID|1\r", HL7_ACCEPT, 0,
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|*||ACK^A04^ACK|*|P|2.5", "MSA|AA|C1", NULL },
	{ "v2.5 AE", HDR25 "\rPID|1\r", HL7_ERROR, 1,
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|*||ACK^A04^ACK|*|P|2.5", "MSA|AE|C1",
	    "ERR||PID^1^5^1^2|102^Data type error^HL70357|E|||bad \\T\\ name" },
	{ "v2.5 AR", HDR25 "\rPID|1\r", HL7_REJECT, 1,
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|*||ACK^A04^ACK|*|P|2.5", "MSA|AR|C1",
	    "ERR||PID^1^5^1^2|102^Data type error^HL70357|E|||bad \\T\\ name" },
	{ "v2.3 AE", "MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2024||ADT^A04|C9|T|2.3\rPID|1\r", HL7_ERROR, 1,
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|*||ACK^A04|*|T|2.3", "MSA|AE|C9|bad \\T\\ name",
	    "ERR|PID^1^5^102&Data type error&HL70357" },
	{ "v2.4 AA", "MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2024||ORU^R01|C8|P|2.4\r", HL7_ACCEPT, 0,
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|*||ACK^R01^ACK|*|P|2.4", "MSA|AA|C8", NULL },
	{ "enhanced AL", HDR25 "|||AL|NE\r", HL7_ACCEPT, 0,
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|*||ACK^A04^ACK|*|P|2.5|||NE|NE", "MSA|CA|C1", NULL },
	{ "enhanced AL error", HDR25 "|||AL|AL\r", HL7_ERROR, 1,
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|*||ACK^A04^ACK|*|P|2.5|||NE|NE", "MSA|CE|C1",
	    "ERR||PID^1^5^1^2|102^Data type error^HL70357|E|||bad \\T\\ name" },
	{ "enhanced NE", HDR25 "|||NE|NE\r", HL7_ACCEPT, 0, NULL, NULL, NULL },
	{ "enhanced ER ok", HDR25 "|||ER|NE\r", HL7_ACCEPT, 0, NULL, NULL, NULL },
	{ "enhanced ER fail", HDR25 "|||ER|NE\r", HL7_REJECT, 1,
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|*||ACK^A04^ACK|*|P|2.5|||NE|NE", "MSA|CR|C1",
	    "ERR||PID^1^5^1^2|102^Data type error^HL70357|E|||bad \\T\\ name" },
	{ "enhanced SU ok", HDR25 "|||SU|NE\r", HL7_ACCEPT, 0,
	    "MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|*||ACK^A04^ACK|*|P|2.5|||NE|NE", "MSA|CA|C1", NULL },
	{ "enhanced SU fail", HDR25 "|||SU|NE\r", HL7_ERROR, 1, NULL, NULL, NULL },
	{ "ACK of ACK", "MSH|^~\\&|A|B|C|D|2024||ACK^A01^ACK|X1|P|2.5\rMSA|AA|C1\r", HL7_ACCEPT, 0,
	    NULL, NULL, NULL },
	{ "custom delimiters", "MSH#*!@%#SA*1#SF#RA#RF#2024##ADT*A01#C7#P#2.5\r", HL7_ACCEPT, 0,
	    "MSH#*!@%#RA#RF#SA*1#SF#*##ACK*A01*ACK#*#P#2.5", NULL, NULL },
};

static void
test_acks(void **state)
{
	struct hl7_error err;
	(void) state;
	hl7_error_set(&err, 102, "PID", 1, 5, "bad & name");
	err.rep  = 1;
	err.comp = 2;
	for (size_t i = 0; i < sizeof(acks) / sizeof(acks[0]); i++) {
		hl7_msg *m;
		hie_buf  b;
		char     got[512];
		hie_buf_init(&b, 4096);
		assert_int_equal(hl7_parse(acks[i].msg, strlen(acks[i].msg), NULL, &m, NULL), HIE_OK);
		assert_int_equal(hl7_ack(m, acks[i].outcome, acks[i].with_err ? &err : NULL, &b), HIE_OK);
		if (acks[i].msh == NULL) {
			if (b.len != 0)
				fail_msg("%s: no ACK expected, got %s", acks[i].name, b.data);
		} else {
			assert_true(b.len > 0);
			if (strchr(acks[i].msh, '#') == NULL) {
				msh_stable(b.data, got, sizeof(got));
				if (strcmp(got, acks[i].msh) != 0)
					fail_msg("%s: MSH '%s' want '%s'", acks[i].name, got, acks[i].msh);
			} else {
				/* custom delimiters: compare the fixed head and tail */
				assert_memory_equal(b.data, "MSH#*!@%#RA#RF#SA*1#SF#", 23);
				assert_non_null(strstr(b.data, "##ACK*A01*ACK#"));
				assert_non_null(strstr(b.data, "\rMSA#AA#C7\r"));
			}
			if (acks[i].msa != NULL) {
				seg_of(b.data, 1, got, sizeof(got));
				if (strcmp(got, acks[i].msa) != 0)
					fail_msg("%s: MSA '%s' want '%s'", acks[i].name, got, acks[i].msa);
			}
			if (acks[i].err != NULL) {
				seg_of(b.data, 2, got, sizeof(got));
				if (strcmp(got, acks[i].err) != 0)
					fail_msg("%s: ERR '%s' want '%s'", acks[i].name, got, acks[i].err);
			}
			/* What we send, we can read back. */
			{
				char code[3], ctl[64];
				int  ec;
				assert_int_equal(hl7_ack_parse(b.data, b.len, code, ctl, sizeof(ctl), &ec), HIE_OK);
				assert_int_equal(ec, acks[i].with_err ? 102 : 0);
			}
		}
		hie_buf_free(&b);
		hl7_free(m);
	}
}

static void
test_nak(void **state)
{
	static const struct {
		const char *msg;
		const char *msa; /* NULL: unanswerable */
		int         code;
	} naks[] = {
		{ "MSH|^~\\&|SA|SF|RA|RF|2024||ADT^A01|N1|P|2.9\r", "MSA|AR|N1", 203 },
		{ "MSH|^~\\&|SA|SF|RA|RF|2024||ADT^A01|N2|P|2.5\rPID|1||\\Q\\\r", "MSA|AE|N2", 102 },
		{ "MSH|^~\\&|SA|SF|RA|RF|2024||ADT^A01|N3|P|2.3\rPID|1||\\Q\\\r", "MSA|AE|N3|invalid escape sequence", 102 },
		{ "MSH|^~\\&|SA|SF|RA|RF|2024||ADT^A01|N4|X|2.5\r", "MSA|AR|N4", 202 },
		{ "MSH|^~|SA|SF|RA|RF|2024||ADT^A01|N5|P|2.5\r", "MSA|AR|N5", 102 },
		{ "MSH|^~\\&|SA|SF|RA|RF|2024||ADT^A01|N6|P|2.5|||NE|NE\rPID|1||\\Q\\\r", "", 0 },
		{ "PID|1\r", NULL, 0 },
		{ "\x01\x02", NULL, 0 },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(naks) / sizeof(naks[0]); i++) {
		struct hl7_error err;
		hl7_msg         *m;
		hie_buf          b;
		hie_err          e;
		hie_buf_init(&b, 4096);
		assert_int_equal(hl7_parse(naks[i].msg, strlen(naks[i].msg), NULL, &m, &err), HIE_EHL7);
		e = hl7_nak(naks[i].msg, strlen(naks[i].msg), &err, &b);
		if (naks[i].msa == NULL) {
			assert_int_equal(e, HIE_EHL7);
		} else if (naks[i].msa[0] == 0) {
			assert_int_equal(e, HIE_OK);
			assert_int_equal(b.len, 0);
		} else {
			char got[256], code[3], ctl[32];
			int  ec;
			assert_int_equal(e, HIE_OK);
			seg_of(b.data, 1, got, sizeof(got));
			if (strcmp(got, naks[i].msa) != 0)
				fail_msg("nak %zu: MSA '%s' want '%s'", i, got, naks[i].msa);
			assert_int_equal(hl7_ack_parse(b.data, b.len, code, ctl, sizeof(ctl), &ec), HIE_OK);
			assert_int_equal(ec, naks[i].code);
		}
		hie_buf_free(&b);
	}
}

static void
test_ack_charset(void **state)
{
	/* The ACK goes back in 8859-1: MSH-5 carries the sender's "ü" as one byte. */
	static const char msg[] =
	    "MSH|^~\\&|S\xfc|SF|RA|RF|2024||ADT^A01|L1|P|2.5||||||8859/1\rPID|1\r";
	hl7_msg *m;
	hie_buf  b;
	(void) state;
	hie_buf_init(&b, 4096);
	assert_int_equal(hl7_parse(msg, strlen(msg), NULL, &m, NULL), HIE_OK);
	assert_int_equal(hl7_ack(m, HL7_ACCEPT, NULL, &b), HIE_OK);
	assert_non_null(strstr(b.data, "|RA|RF|S\xfc|SF|"));
	assert_non_null(strstr(b.data, "|8859/1\r"));
	hie_buf_free(&b);
	hl7_free(m);
}

/* ---- corpus ---- */

static void
test_corpus(void **state)
{
	const char *corpus = getenv("HIE_CORPUS");
	char        path[512], expect[512], line[512];
	FILE       *f;
	size_t      files = 0, listed = 0;
	DIR        *d;
	struct dirent *de;

	(void) state;
	snprintf(path, sizeof(path), "%s/hl7v2", corpus != NULL ? corpus : "");
	if (corpus == NULL || (d = opendir(path)) == NULL)
		skip(); /* main() turns this into 77 for the corpus run */
	while ((de = readdir(d)) != NULL)
		files += strstr(de->d_name, ".hl7") != NULL;
	closedir(d);
	tu_src(expect, sizeof(expect), "tests/data/corpus_hl7v2.expect");
	assert_non_null(f = fopen(expect, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		char              name[128], te[16], ctl[200], file[700], *buf;
		hl7_msg          *m;
		struct hl7_header h;
		struct hl7_error  err;
		size_t            len;
		hie_buf           ack;
		if (line[0] == '#' || sscanf(line, "%127s %15s %199s", name, te, ctl) != 3)
			continue;
		listed++;
		snprintf(file, sizeof(file), "%s/%s", path, name);
		buf = tu_slurp(file, &len);
		if (hl7_parse(buf, len, NULL, &m, &err) != HIE_OK)
			fail_msg("%s: %d at %s-%d: %s", name, err.code, err.segment, err.field, err.text);
		hl7_get_header(m, &h);
		snprintf(line, sizeof(line), "%s^%s", h.type, h.event);
		if (strcmp(line, te) != 0 || strcmp(h.control_id, ctl) != 0)
			fail_msg("%s: %s %s, want %s %s", name, line, h.control_id, te, ctl);
		/* And each can be answered (or, in enhanced mode with NE, not). */
		hie_buf_init(&ack, 1 << 16);
		assert_int_equal(hl7_ack(m, HL7_ACCEPT, NULL, &ack), HIE_OK);
		if (strcmp(h.accept_ack, "NE") != 0) {
			char code[3], actl[200];
			int  ec;
			assert_int_equal(hl7_ack_parse(ack.data, ack.len, code, actl, sizeof(actl), &ec), HIE_OK);
			assert_string_equal(actl, ctl);
			assert_string_equal(code, h.accept_ack[0] || h.app_ack[0] ? "CA" : "AA");
		} else
			assert_int_equal(ack.len, 0);
		hie_buf_free(&ack);
		hl7_free(m);
		free(buf);
	}
	fclose(f);
	assert_int_equal(listed, files);
}

/* "test_hl7" runs the unit tests; "test_hl7 corpus" the corpus, and exits
 * 77 (skipped) where the corpus is absent. */
int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "corpus") == 0) {
		const char *c = getenv("HIE_CORPUS");
		char        p[512];
		DIR        *d;
		const struct CMUnitTest corpus[] = { cmocka_unit_test(test_corpus) };
		snprintf(p, sizeof(p), "%s/hl7v2", c != NULL ? c : "/nonexistent");
		if ((d = opendir(p)) == NULL) {
			fprintf(stderr, "skipped: %s absent\n", p);
			return 77;
		}
		closedir(d);
		return cmocka_run_group_tests(corpus, NULL, NULL);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_acks),
		cmocka_unit_test(test_nak),
		cmocka_unit_test(test_ack_charset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
