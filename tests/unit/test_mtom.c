/* tests/unit/test_mtom.c -- MTOM/XOP: what real senders emit parses, what
 * broken or hostile senders emit is refused, and our own messages survive a
 * round trip with their binary bytes intact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/mtom.h"
#include "node/xml.h"
#include "testutil.h"

#define XOP "xmlns:xop='" MTOM_XOP_NS "'"

static const struct mtom_limits lim64k = { .max_total = 65536 };

/* ---- parsing, as data ---- */

static const struct {
	const char *name;
	const char *ctype;
	const char *body;
	hie_err     want;
	size_t      nparts; /* when HIE_OK */
	size_t      root;
	const char *root_data;
} cases[] = {
	{ "minimal", "multipart/related; boundary=B", "--B\r\nContent-ID: <a@x>\r\n\r\nhello\r\n--B--\r\n", HIE_OK, 1,
	    0, "hello" },
	{ "axis2 style quoted params",
	    "multipart/related; boundary=\"MIMEBoundary_abc\"; type=\"application/xop+xml\"; "
	    "start=\"<0.root@apache.org>\"; start-info=\"application/soap+xml\"; action=\"urn:x\"",
	    "--MIMEBoundary_abc\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n"
	    "Content-Transfer-Encoding: binary\r\nContent-ID: <0.root@apache.org>\r\n\r\n<e/>\r\n"
	    "--MIMEBoundary_abc\r\nContent-Type: text/xml\r\nContent-Transfer-Encoding: binary\r\n"
	    "Content-ID: <1.doc@apache.org>\r\n\r\n<doc/>\r\n--MIMEBoundary_abc--\r\n",
	    HIE_OK, 2, 0, "<e/>" },
	{ "case-varied names, unquoted values, start without <>",
	    "Multipart/Related;BOUNDARY=B ;  Type=application/xop+xml; START=r@x; Start-Info=application/soap+xml;",
	    "--B\r\ncontent-id: <a@x>\r\n\r\nA\r\n--B\r\nCONTENT-ID: <r@x>\r\n\r\nROOT\r\n--B--", HIE_OK, 2, 1, "ROOT" },
	{ "start names a later part", "multipart/related; boundary=B; start=\"<c>\"",
	    "--B\r\nContent-ID: <a>\r\n\r\nA\r\n--B\r\nContent-ID: <b>\r\n\r\nB\r\n--B\r\nContent-ID: <c>\r\n\r\nC\r\n--B--",
	    HIE_OK, 3, 2, "C" },
	{ "quoted boundary with space and escape", "multipart/related; boundary=\"a \\b\"",
	    "--a b\r\n\r\nx\r\n--a b--", HIE_OK, 1, 0, "x" },
	{ "bare LF", "multipart/related; boundary=B", "--B\nContent-ID: <a>\n\nline1\nline2\n--B--\n", HIE_OK, 1, 0,
	    "line1\nline2" },
	{ "preamble and epilogue", "multipart/related; boundary=B",
	    "This is a preamble.\r\n--B\r\n\r\nbody\r\n--B--\r\nThis is an epilogue --B\r\n", HIE_OK, 1, 0, "body" },
	{ "transport padding", "multipart/related; boundary=B", "--B \t\r\n\r\nbody\r\n--B--  \r\n", HIE_OK, 1, 0,
	    "body" },
	{ "folded header", "multipart/related; boundary=B",
	    "--B\r\nContent-Type: application/xop+xml;\r\n\ttype=\"application/soap+xml\"\r\nContent-ID:\r\n <a>\r\n\r\nx\r\n--B--",
	    HIE_OK, 1, 0, "x" },
	{ "part without headers", "multipart/related; boundary=B", "--B\r\n\r\ndata\r\n--B--", HIE_OK, 1, 0, "data" },
	{ "empty content", "multipart/related; boundary=B", "--B\r\nContent-ID: <a>\r\n\r\n\r\n--B--", HIE_OK, 1, 0, "" },
	{ "blank line taken by the delimiter", "multipart/related; boundary=B", "--B\r\nContent-ID: <a>\r\n\r\n--B--",
	    HIE_OK, 1, 0, "" },
	{ "boundary-like lines are content", "multipart/related; boundary=B",
	    "--B\r\n\r\nx\r\n--Bx\r\n--B-\r\n-- B\r\n--B--", HIE_OK, 1, 0, "x\r\n--Bx\r\n--B-\r\n-- B" },
	{ "delimiter only at line start", "multipart/related; boundary=B", "--B\r\n\r\nx--B\r\ny\r\n--B--", HIE_OK, 1,
	    0, "x--B\r\ny" },
	{ "base64 part", "multipart/related; boundary=B",
	    "--B\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n--B--", HIE_OK, 1, 0, "hello" },
	{ "BASE64 any case", "multipart/related; boundary=B",
	    "--B\r\ncontent-transfer-encoding:BASE64\r\n\r\naGVsbG8=\r\n--B--", HIE_OK, 1, 0, "hello" },
	{ "8bit and 7bit as is", "multipart/related; boundary=B",
	    "--B\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9\r\n--B\r\nContent-ID: <b>\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nb\r\n--B--",
	    HIE_OK, 2, 0, "\xc3\xa9" },
	{ "unknown headers ignored", "multipart/related; boundary=B",
	    "--B\r\nContent-Disposition: attachment; filename=\"x\"\r\nX-Foo: bar\r\n\r\nx\r\n--B--", HIE_OK, 1, 0, "x" },

	{ "not multipart", "text/xml; boundary=B", "--B\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "multipart/mixed", "multipart/mixed; boundary=B", "--B\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "no boundary", "multipart/related; type=\"application/xop+xml\"", "--B\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0,
	    NULL },
	{ "empty boundary", "multipart/related; boundary=\"\"", "--\r\n\r\nx\r\n----", HIE_EPROTO, 0, 0, NULL },
	{ "boundary over 70", "multipart/related; boundary=0123456789012345678901234567890123456789012345678901234567890123456789X",
	    "", HIE_EPROTO, 0, 0, NULL },
	{ "boundary with a bad character", "multipart/related; boundary=\"a<b\"", "--a<b\r\n\r\nx\r\n--a<b--",
	    HIE_EPROTO, 0, 0, NULL },
	{ "boundary ending in space", "multipart/related; boundary=\"ab \"", "--ab \r\n\r\nx\r\n--ab --", HIE_EPROTO, 0,
	    0, NULL },
	{ "boundary twice", "multipart/related; boundary=B; boundary=C", "--B\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0,
	    NULL },
	{ "unterminated quote", "multipart/related; boundary=\"B", "--B\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "parameter without value", "multipart/related; boundary", "", HIE_EPROTO, 0, 0, NULL },
	{ "garbage between parameters", "multipart/related; boundary=B x", "--B\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0,
	    NULL },
	{ "wrong boundary", "multipart/related; boundary=C", "--B\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "missing closing delimiter", "multipart/related; boundary=B", "--B\r\n\r\nhello\r\n", HIE_EPROTO, 0, 0, NULL },
	{ "truncated body", "multipart/related; boundary=B", "--B\r\nContent-ID: <a>\r\n\r\nhel", HIE_EPROTO, 0, 0,
	    NULL },
	{ "truncated in a delimiter", "multipart/related; boundary=B", "--B\r\n\r\nx\r\n--B", HIE_EPROTO, 0, 0, NULL },
	{ "empty body", "multipart/related; boundary=B", "", HIE_EPROTO, 0, 0, NULL },
	{ "only the close delimiter", "multipart/related; boundary=B", "--B--\r\n", HIE_EPROTO, 0, 0, NULL },
	{ "duplicate Content-ID", "multipart/related; boundary=B",
	    "--B\r\nContent-ID: <a>\r\n\r\n1\r\n--B\r\nContent-ID: <a>\r\n\r\n2\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "missing root", "multipart/related; boundary=B; start=\"<root>\"",
	    "--B\r\nContent-ID: <a>\r\n\r\n1\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "empty start", "multipart/related; boundary=B; start=\"<>\"", "--B\r\n\r\n1\r\n--B--", HIE_EPROTO, 0, 0,
	    NULL },
	{ "quoted-printable", "multipart/related; boundary=B",
	    "--B\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3D\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "invalid base64", "multipart/related; boundary=B",
	    "--B\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "header without colon", "multipart/related; boundary=B", "--B\r\nContent-ID <a>\r\n\r\nx\r\n--B--",
	    HIE_EPROTO, 0, 0, NULL },
	{ "continuation first", "multipart/related; boundary=B", "--B\r\n Content-ID: <a>\r\n\r\nx\r\n--B--", HIE_EPROTO,
	    0, 0, NULL },
	{ "no blank line", "multipart/related; boundary=B", "--B\r\nContent-ID: <a>\r\nX-Y: z\r\n--B--", HIE_EPROTO, 0,
	    0, NULL },
	{ "header runs into content", "multipart/related; boundary=B", "--B\r\nContent-ID: <a>\r\nnot a header\r\n\r\nx\r\n--B--",
	    HIE_EPROTO, 0, 0, NULL },
	{ "same header twice", "multipart/related; boundary=B",
	    "--B\r\nContent-Type: a/b\r\ncontent-type: c/d\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "control character in a header", "multipart/related; boundary=B",
	    "--B\r\nContent-ID: <a\x01>\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "empty Content-ID", "multipart/related; boundary=B", "--B\r\nContent-ID: <>\r\n\r\nx\r\n--B--", HIE_EPROTO,
	    0, 0, NULL },
	{ "empty part", "multipart/related; boundary=B", "--B\r\n--B\r\n\r\nx\r\n--B--", HIE_EPROTO, 0, 0, NULL },
	{ "delimiter not at a line start", "multipart/related; boundary=B", "x--B\r\n\r\nx\r\nx--B--", HIE_EPROTO, 0,
	    0, NULL },
};

static void
test_parse_cases(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mtom_msg m;
		char            why[128] = "untouched";
		hie_err         e = mtom_parse(cases[i].ctype, cases[i].body, strlen(cases[i].body), &lim64k, &m, why,
		            sizeof(why));
		if (e != cases[i].want)
			fail_msg("case '%s': got %s (%s), want %s", cases[i].name, hie_errname(e), why,
			    hie_errname(cases[i].want));
		if (e != HIE_OK) {
			if (why[0] == '\0' || strcmp(why, "untouched") == 0)
				fail_msg("case '%s': no reason given", cases[i].name);
			assert_int_equal(m.n, 0);
			assert_null(m.parts);
			continue;
		}
		if (m.n != cases[i].nparts || m.root != cases[i].root)
			fail_msg("case '%s': %zu parts root %zu, want %zu root %zu", cases[i].name, m.n, m.root,
			    cases[i].nparts, cases[i].root);
		assert_ptr_equal(mtom_root(&m), &m.parts[m.root]);
		if (m.parts[m.root].len != strlen(cases[i].root_data) ||
		    memcmp(m.parts[m.root].data, cases[i].root_data, m.parts[m.root].len) != 0)
			fail_msg("case '%s': root is '%.*s'", cases[i].name, (int) m.parts[m.root].len,
			    m.parts[m.root].data);
		mtom_free(&m);
		mtom_free(&m); /* twice is harmless */
	}
}

static void
test_parse_fields(void **state)
{
	const char     *ct = "multipart/related; type=\"application/xop+xml\"; boundary=B; start=\"<r>\"; "
	                     "start-info=\"application/soap+xml\"";
	const char     *body = "--B\r\nContent-ID: <r>\r\nContent-Type: application/xop+xml; type=\"application/soap+xml\""
	                       "\r\n\r\n<e/>\r\n--B\r\n\r\nnoid\r\n--B--";
	struct mtom_msg m;

	(void) state;
	assert_int_equal(mtom_parse(ct, body, strlen(body), &lim64k, &m, NULL, 0), HIE_OK);
	assert_string_equal(m.type, "application/xop+xml");
	assert_string_equal(m.start_info, "application/soap+xml");
	assert_string_equal(m.parts[0].content_id, "r");
	assert_string_equal(m.parts[0].content_type, "application/xop+xml; type=\"application/soap+xml\"");
	/* Zero copy: the part points into the body. */
	assert_ptr_equal(m.parts[0].data, strstr(body, "<e/>"));
	assert_string_equal(m.parts[1].content_id, "");
	assert_string_equal(m.parts[1].content_type, "application/octet-stream");
	mtom_free(&m);
	/* Arguments. */
	assert_int_equal(mtom_parse(NULL, body, strlen(body), &lim64k, &m, NULL, 0), HIE_EINVAL);
	assert_int_equal(mtom_parse(ct, body, strlen(body), NULL, &m, NULL, 0), HIE_EINVAL);
	assert_int_equal(mtom_parse(ct, NULL, 5, &lim64k, &m, NULL, 0), HIE_EINVAL);
	assert_int_equal(mtom_parse(ct, body, strlen(body), &(struct mtom_limits) { 0 }, &m, NULL, 0), HIE_EINVAL);
	assert_int_equal(mtom_parse(ct, body, strlen(body), NULL, NULL, NULL, 0), HIE_EINVAL);
}

/* ---- limits ---- */

static char *
many_parts(size_t n, size_t *len)
{
	hie_buf b;

	hie_buf_init(&b, 1 << 20);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(hie_buf_printf(&b, "--B\r\nContent-ID: <p%zu>\r\n\r\n%zu\r\n", i, i), HIE_OK);
	assert_int_equal(hie_buf_addstr(&b, "--B--\r\n"), HIE_OK);
	return hie_buf_take(&b, len);
}

static void
test_limits(void **state)
{
	const char        *ct = "multipart/related; boundary=B";
	const char        *one = "--B\r\nContent-ID: <a>\r\n\r\nx\r\n--B--"; /* header section: 19 bytes */
	struct mtom_limits l = { .max_total = 65536 };
	struct mtom_msg    m;
	char               why[128], *body;
	size_t             len;

	(void) state;
	l.max_header_bytes = 19;
	assert_int_equal(mtom_parse(ct, one, strlen(one), &l, &m, why, sizeof(why)), HIE_OK);
	mtom_free(&m);
	l.max_header_bytes = 18;
	assert_int_equal(mtom_parse(ct, one, strlen(one), &l, &m, why, sizeof(why)), HIE_EPROTO);
	assert_non_null(strstr(why, "header section longer"));
	/* A long header line cannot make the parser read past the limit. */
	body = malloc(20000);
	len = (size_t) sprintf(body, "--B\r\nX-Long: ");
	memset(body + len, 'a', 10000);
	len += 10000;
	len += (size_t) sprintf(body + len, "\r\n\r\nx\r\n--B--");
	assert_int_equal(mtom_parse(ct, body, len, &lim64k, &m, why, sizeof(why)), HIE_EPROTO);
	free(body);

	l.max_header_bytes = 0;
	l.max_parts = 3;
	body = many_parts(3, &len);
	assert_int_equal(mtom_parse(ct, body, len, &l, &m, why, sizeof(why)), HIE_OK);
	assert_int_equal(m.n, 3);
	mtom_free(&m);
	free(body);
	body = many_parts(4, &len);
	assert_int_equal(mtom_parse(ct, body, len, &l, &m, why, sizeof(why)), HIE_EPROTO);
	assert_non_null(strstr(why, "more than 3 parts"));
	free(body);
	/* The default: 1000 parts. */
	l.max_parts = 0;
	l.max_total = 1 << 20;
	body = many_parts(1000, &len);
	assert_int_equal(mtom_parse(ct, body, len, &l, &m, why, sizeof(why)), HIE_OK);
	assert_int_equal(m.n, 1000);
	assert_string_equal(mtom_find(&m, "cid:p999")->content_id, "p999");
	mtom_free(&m);
	free(body);
	body = many_parts(1001, &len);
	assert_int_equal(mtom_parse(ct, body, len, &l, &m, why, sizeof(why)), HIE_EPROTO);
	free(body);

	/* An id longer than mtom_find can resolve is refused up front. */
	for (size_t idlen = 512; idlen <= 513; idlen++) {
		body = malloc(1024);
		len = (size_t) sprintf(body, "--B\r\nContent-ID: <");
		memset(body + len, 'i', idlen);
		len += idlen;
		len += (size_t) sprintf(body + len, ">\r\n\r\nx\r\n--B--");
		assert_int_equal(mtom_parse(ct, body, len, &lim64k, &m, why, sizeof(why)), idlen == 512 ? HIE_OK : HIE_EPROTO);
		if (idlen == 512)
			assert_ptr_equal(mtom_find(&m, m.parts[0].content_id), &m.parts[0]);
		mtom_free(&m);
		free(body);
	}

	l.max_total = strlen(one) - 1;
	assert_int_equal(mtom_parse(ct, one, strlen(one), &l, &m, why, sizeof(why)), HIE_ETOOBIG);
	l.max_total = strlen(one);
	assert_int_equal(mtom_parse(ct, one, strlen(one), &l, &m, why, sizeof(why)), HIE_OK);
	mtom_free(&m);
}

/* ---- references ---- */

static void
test_find(void **state)
{
	const char     *ct = "multipart/related; boundary=B";
	const char     *body = "--B\r\nContent-ID: <abc@x>\r\n\r\n0\r\n--B\r\nContent-ID: <a/b%c d@y>\r\n\r\n1\r\n--B--";
	struct mtom_msg m;
	static const struct {
		const char *href;
		int         want; /* part index, -1: NULL */
	} refs[] = {
		{ "cid:abc%40x", 0 }, { "cid:abc@x", 0 }, { "CID:abc%40x", 0 }, { "abc@x", 0 }, { "<abc@x>", 0 },
		{ "cid:a%2Fb%25c%20d%40y", 1 }, { "cid:a%2fb%25c%20d@y", 1 }, { "a/b%c d@y", 1 },
		{ "cid:abc%40X", -1 }, { "cid:nope", -1 }, { "cid:", -1 }, { "", -1 }, { "cid:%zz", -1 },
		{ "cid:abc%4", -1 }, { "cid:abc%00", -1 }, { "cid:<abc@x>", -1 },
	};

	(void) state;
	assert_int_equal(mtom_parse(ct, body, strlen(body), &lim64k, &m, NULL, 0), HIE_OK);
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		const struct mtom_part *p = mtom_find(&m, refs[i].href);
		if (refs[i].want < 0 ? p != NULL : p != &m.parts[refs[i].want])
			fail_msg("href '%s': got %p", refs[i].href, (const void *) p);
	}
	assert_null(mtom_find(&m, NULL));
	assert_null(mtom_find(NULL, "cid:abc@x"));
	mtom_free(&m);
}

static void
test_element_bytes(void **state)
{
	const char *ct = "multipart/related; boundary=B; start=\"<root@1>\"";
	const char *root = "<r " XOP ">"
	                   "<inline>aGVs\n bG8=</inline>"
	                   "<inc><xop:Include href='cid:doc%401'/></inc>"
	                   "<wsinc>\n  <xop:Include href='cid:doc@1'/>\n</wsinc>"
	                   "<commented><!-- c --><xop:Include href='cid:doc@1'/></commented>"
	                   "<missing><xop:Include href='cid:nope@1'/></missing>"
	                   "<two><xop:Include href='cid:doc@1'/><xop:Include href='cid:doc@1'/></two>"
	                   "<mixed>aGVs<xop:Include href='cid:doc@1'/></mixed>"
	                   "<badb64>!!!!</badb64>"
	                   "<empty/>"
	                   "<other><x/></other>"
	                   "<wrongns><Include href='cid:doc@1'/></wrongns>"
	                   "<http><xop:Include href='http://evil/doc'/></http>"
	                   "<nohref><xop:Include/></nohref>"
	                   "<badesc><xop:Include href='cid:doc%4'/></badesc>"
	                   "<self><xop:Include href='cid:root@1'/></self>"
	                   "</r>";
	static const char doc[] = "DOC\r\n--B\0\xff\r";
	static const struct {
		const char *el;
		size_t      max;
		int         with_msg;
		hie_err     want;
		const char *bytes;
		size_t      len;
	} rows[] = {
		{ "inline", 100, 1, HIE_OK, "hello", 5 },
		{ "inline", 100, 0, HIE_OK, "hello", 5 },
		{ "inline", 5, 1, HIE_OK, "hello", 5 },
		{ "inline", 4, 1, HIE_ETOOBIG, NULL, 0 },
		{ "inc", 100, 1, HIE_OK, doc, sizeof(doc) - 1 },
		{ "inc", sizeof(doc) - 1, 1, HIE_OK, doc, sizeof(doc) - 1 },
		{ "inc", sizeof(doc) - 2, 1, HIE_ETOOBIG, NULL, 0 },
		{ "inc", 100, 0, HIE_EPROTO, NULL, 0 },
		{ "wsinc", 100, 1, HIE_OK, doc, sizeof(doc) - 1 },
		{ "commented", 100, 1, HIE_OK, doc, sizeof(doc) - 1 },
		{ "missing", 100, 1, HIE_ENOTFOUND, NULL, 0 },
		{ "two", 100, 1, HIE_EPROTO, NULL, 0 },
		{ "mixed", 100, 1, HIE_EPROTO, NULL, 0 },
		{ "badb64", 100, 1, HIE_EPROTO, NULL, 0 },
		{ "empty", 100, 1, HIE_OK, "", 0 },
		{ "other", 100, 1, HIE_EPROTO, NULL, 0 },
		{ "wrongns", 100, 1, HIE_EPROTO, NULL, 0 },
		{ "http", 100, 1, HIE_EPROTO, NULL, 0 },
		{ "nohref", 100, 1, HIE_EPROTO, NULL, 0 },
		{ "badesc", 100, 1, HIE_EPROTO, NULL, 0 },
		{ "self", 100, 1, HIE_EPROTO, NULL, 0 },
	};
	hie_buf         body;
	struct mtom_msg m;
	xmlDoc         *xd;
	char           *out;
	size_t          len;

	(void) state;
	hie_buf_init(&body, 4096);
	hie_buf_printf(&body, "--B\r\nContent-ID: <root@1>\r\n\r\n%s\r\n--B\r\nContent-ID: <doc@1>\r\n\r\n", root);
	hie_buf_add(&body, doc, sizeof(doc) - 1);
	assert_int_equal(hie_buf_addstr(&body, "\r\n--B--\r\n"), HIE_OK);
	assert_int_equal(mtom_parse(ct, body.data, body.len, &lim64k, &m, NULL, 0), HIE_OK);
	assert_int_equal(hie_xml_parse(m.parts[m.root].data, m.parts[m.root].len, NULL, &xd), HIE_OK);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		xmlNode *el = hie_xml_child(xmlDocGetRootElement(xd), NULL, rows[i].el);
		hie_err  e;

		assert_non_null(el);
		e = mtom_element_bytes(rows[i].with_msg ? &m : NULL, el, rows[i].max, &out, &len);
		if (e != rows[i].want)
			fail_msg("row %zu '%s': got %s, want %s", i, rows[i].el, hie_errname(e), hie_errname(rows[i].want));
		if (e != HIE_OK) {
			assert_null(out);
			continue;
		}
		assert_int_equal(len, rows[i].len);
		assert_memory_equal(out, rows[i].bytes, len);
		assert_int_equal(out[len], '\0');
		free(out);
	}
	assert_int_equal(mtom_element_bytes(&m, NULL, 10, &out, &len), HIE_EINVAL);
	xmlFreeDoc(xd);
	mtom_free(&m);
	hie_buf_free(&body);
}

/* ---- building ---- */

/* Bytes that break naive codecs: every byte value, line ends of every
 * kind, and lines that look like delimiters. */
static void
nasty(hie_buf *b, size_t seed)
{
	hie_buf_init(b, 1 << 20);
	for (int i = 0; i < 256; i++) {
		unsigned char c = (unsigned char) (i + seed);
		hie_buf_add(b, &c, 1);
	}
	hie_buf_addstr(b, "\r\n--MIMEBoundary_\r\n--\r\n\r\n--MIMEBoundary_0123--\r\n\n\r");
	if (seed % 2)
		hie_buf_addstr(b, "\r\n");
}

static void
roundtrip(size_t n)
{
	static const char *types[] = { "text/xml", "application/pdf", NULL, "image/png", "application/octet-stream" };
	struct mtom_part   att[5];
	hie_buf            data[5], body, b;
	char               ids[5][MTOM_CONTENT_ID_SIZE + 8], ctype[512], why[128], *xml, *got;
	size_t             xlen, glen;
	xmlDoc            *doc = xmlNewDoc(BAD_CAST "1.0"), *pd;
	xmlNode           *env = xmlNewNode(NULL, BAD_CAST "Envelope"), *el;
	xmlNs             *ns = xmlNewNs(env, BAD_CAST "http://www.w3.org/2003/05/soap-envelope", BAD_CAST "s");
	struct mtom_msg    m;

	xmlSetNs(env, ns);
	xmlDocSetRootElement(doc, env);
	for (size_t i = 0; i < n; i++) {
		nasty(&data[i], i);
		if (i == 3)
			data[i].len = 0; /* an empty document */
		mtom_content_id(ids[i], sizeof(ids[i]));
		if (i == 1)
			strcpy(ids[i], "odd/id%with:chars@x.org"); /* needs %-escaping in the href */
		att[i] = (struct mtom_part) { ids[i], types[i], data[i].data, data[i].len };
		el = xmlNewChild(env, NULL, BAD_CAST "Document", NULL);
		assert_int_equal(mtom_add_include(el, ids[i]), HIE_OK);
	}
	assert_int_equal(hie_xml_dump(doc, &xml, &xlen), HIE_OK);
	xmlFreeDoc(doc);

	hie_buf_init(&body, 1 << 20);
	assert_int_equal(mtom_build(&body, ctype, sizeof(ctype), "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", xml,
	                     xlen, att, n),
	    HIE_OK);
	assert_non_null(strstr(ctype, "multipart/related; type=\"application/xop+xml\"; boundary=\"MIMEBoundary_"));
	assert_non_null(strstr(ctype, "start-info=\"application/soap+xml\""));
	assert_non_null(strstr(ctype, "action=\"urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b\""));
	assert_int_equal(mtom_parse(ctype, body.data, body.len, &(struct mtom_limits) { .max_total = body.len }, &m, why,
	                     sizeof(why)),
	    HIE_OK);
	assert_int_equal(m.n, n + 1);
	assert_int_equal(m.root, 0);
	assert_string_equal(m.type, "application/xop+xml");
	assert_non_null(strstr(m.parts[0].content_type, "application/xop+xml"));
	assert_non_null(strstr(m.parts[0].content_type, "type=\"application/soap+xml\""));
	assert_int_equal(m.parts[0].len, xlen);
	assert_memory_equal(m.parts[0].data, xml, xlen);
	assert_int_equal(hie_xml_parse(m.parts[0].data, m.parts[0].len, NULL, &pd), HIE_OK);
	el = hie_xml_child(xmlDocGetRootElement(pd), NULL, "Document");
	for (size_t i = 0; i < n; i++, el = hie_xml_next(el, NULL, "Document")) {
		const struct mtom_part *p = mtom_find(&m, ids[i]);
		assert_non_null(p);
		assert_string_equal(p->content_type, types[i] != NULL ? types[i] : "application/octet-stream");
		assert_int_equal(p->len, data[i].len);
		assert_memory_equal(p->data, data[i].data, p->len);
		/* ...and through the XML, as a transaction handler reads it. */
		assert_non_null(el);
		assert_int_equal(mtom_element_bytes(&m, el, 1 << 20, &got, &glen), HIE_OK);
		assert_int_equal(glen, data[i].len);
		assert_memory_equal(got, data[i].data, glen);
		free(got);
		hie_buf_free(&data[i]);
	}
	xmlFreeDoc(pd);
	mtom_free(&m);
	/* The body is appended: what was in the buffer stays. */
	hie_buf_init(&b, 1 << 20);
	hie_buf_addstr(&b, "PREFIX");
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), NULL, xml, xlen, NULL, 0), HIE_OK);
	assert_memory_equal(b.data, "PREFIX--MIMEBoundary_", 21);
	assert_null(strstr(ctype, "action="));
	hie_buf_free(&b);
	hie_buf_free(&body);
	free(xml);
}

static void
test_roundtrip(void **state)
{
	(void) state;
	roundtrip(0);
	roundtrip(1);
	roundtrip(5);
}

static void
test_build_errors(void **state)
{
	struct mtom_part att[2] = { { "a@x", "text/plain", "1", 1 }, { "b@x", NULL, "2", 1 } };
	hie_buf          b;
	char             ctype[512], small[40];

	(void) state;
	hie_buf_init(&b, 1 << 16);
	hie_buf_addstr(&b, "keep");
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), "urn:\"x", "<e/>", 4, att, 2), HIE_EINVAL);
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), "urn:x\r\nX-Evil: 1", "<e/>", 4, att, 2), HIE_EINVAL);
	att[1].content_id = "a@x";
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), NULL, "<e/>", 4, att, 2), HIE_EINVAL);
	att[1].content_id = "<b@x>";
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), NULL, "<e/>", 4, att, 2), HIE_EINVAL);
	att[1].content_id = "b x";
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), NULL, "<e/>", 4, att, 2), HIE_EINVAL);
	att[1].content_id = "";
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), NULL, "<e/>", 4, att, 2), HIE_EINVAL);
	att[1].content_id = "b@x";
	att[1].content_type = "text/plain\r\nX-Evil: 1";
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), NULL, "<e/>", 4, att, 2), HIE_EINVAL);
	att[1].content_type = NULL;
	assert_int_equal(mtom_build(&b, small, sizeof(small), NULL, "<e/>", 4, att, 2), HIE_ETOOBIG);
	assert_string_equal(small, "");
	assert_int_equal(mtom_build(NULL, ctype, sizeof(ctype), NULL, "<e/>", 4, att, 2), HIE_EINVAL);
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), NULL, NULL, 4, att, 2), HIE_EINVAL);
	assert_int_equal(b.len, 4);
	hie_buf_free(&b);
	/* Over the buffer's max: nothing half-written stays behind. */
	hie_buf_init(&b, 300);
	hie_buf_addstr(&b, "keep");
	att[1].len = 200;
	att[1].data = memset(calloc(1, 200), 'z', 200);
	assert_int_equal(mtom_build(&b, ctype, sizeof(ctype), NULL, "<e/>", 4, att, 2), HIE_ETOOBIG);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "keep");
	assert_string_equal(ctype, "");
	free((char *) att[1].data);
	hie_buf_free(&b);
}

static void
test_ids_and_include(void **state)
{
	char     a[MTOM_CONTENT_ID_SIZE], b[MTOM_CONTENT_ID_SIZE], tiny[8] = "x";
	xmlDoc  *doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *el = xmlNewNode(NULL, BAD_CAST "Document"), *inc;
	char    *out;
	size_t   len;

	(void) state;
	mtom_content_id(a, sizeof(a));
	mtom_content_id(b, sizeof(b));
	assert_int_equal(strlen(a), 40);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_string_equal(a + 32, "@hienode");
	assert_string_not_equal(a, b);
	mtom_content_id(tiny, sizeof(tiny));
	assert_string_equal(tiny, "");

	xmlDocSetRootElement(doc, el);
	assert_int_equal(mtom_add_include(el, "a b"), HIE_EINVAL);
	assert_int_equal(mtom_add_include(el, ""), HIE_EINVAL);
	assert_int_equal(mtom_add_include(el, "<a@b>"), HIE_EINVAL);
	assert_int_equal(mtom_add_include(el, NULL), HIE_EINVAL);
	assert_int_equal(mtom_add_include(NULL, "a@b"), HIE_EINVAL);
	assert_null(el->children);
	assert_int_equal(mtom_add_include(el, "x/y%z\xc3\xa9@h"), HIE_OK);
	inc = el->children;
	assert_non_null(inc);
	assert_string_equal((const char *) inc->name, "Include");
	assert_string_equal((const char *) inc->ns->href, MTOM_XOP_NS);
	assert_string_equal(hie_xml_attr(inc, "href"), "cid:x%2Fy%25z%C3%A9@h");
	assert_int_equal(hie_xml_dump(doc, &out, &len), HIE_OK);
	assert_non_null(strstr(out, "<Document><xop:Include xmlns:xop=\"" MTOM_XOP_NS "\" href=\"cid:x%2Fy%25z%C3%A9@h\"/>"));
	free(out);
	xmlFreeDoc(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cases),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_element_bytes),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_ids_and_include),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
