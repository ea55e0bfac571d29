/*
 * node/mtom.h -- MTOM/XOP for SOAP 1.2: the multipart/related codec that
 * carries XDS.b documents as binary attachments (ITI-41 Provide and Register
 * request, ITI-43 Retrieve response; IHE ITI TF-2x Appendix V).
 *
 * A message is a MIME multipart/related body (RFC 2046, RFC 2387) whose root
 * part is the SOAP envelope as application/xop+xml (W3C XOP 1.0); elements
 * that hold binary data carry an <xop:Include href="cid:..."/> child that
 * names another part by its Content-ID (RFC 2392).
 *
 * Parsing is zero copy: a parsed message points into the caller's body, which
 * must outlive it.  Only parts sent with Content-Transfer-Encoding: base64 are
 * decoded into memory the message owns.  Nothing in the body is trusted:
 * part count, header size and total size are bounded by mtom_limits, and a
 * malformed message is HIE_EPROTO with a one-line reason in why[].
 *
 * Accepted: CRLF line ends as RFC 2046 requires, and bare LF (some clients);
 * a preamble and an epilogue (ignored); transport padding after a delimiter;
 * folded header lines; header names in any case; quoted or token parameter
 * values; an empty part whose blank line doubles as the delimiter's line end.
 * Refused: a part without the header/body blank line, a transfer
 * encoding other than binary, 8bit, 7bit or base64 (quoted-printable has no
 * place in MTOM), duplicate Content-IDs, a start= that names no part.
 *
 * Threading: no shared state; a parsed mtom_msg may be read from several
 * threads at once.
 */
#ifndef NODE_MTOM_H
#define NODE_MTOM_H

#include <libxml/tree.h>
#include <stddef.h>

#include "node/hie.h"

/* Namespace of xop:Include (XOP 1.0). */
#define MTOM_XOP_NS "http://www.w3.org/2004/08/xop/include"
/* Size of a buffer for mtom_content_id: 32 hex + "@hienode" + NUL. */
#define MTOM_CONTENT_ID_SIZE 41

/*
 * Limits for mtom_parse.  A field left 0 takes its default: 1000 parts,
 * 8 KiB of headers per part.  max_total has no default: it bounds the body
 * length and, separately, the sum of the bytes decoded from base64 parts;
 * 0 is HIE_EINVAL.
 */
struct mtom_limits {
	size_t max_parts;
	size_t max_header_bytes; /* one part's header section, blank line included */
	size_t max_total;
};

/*
 * One MIME part.  In a parsed message every pointer is owned by the
 * mtom_msg (or, for data, by the body it was parsed from) and lives until
 * mtom_free.  As input to mtom_build they are the caller's.
 */
struct mtom_part {
	const char *content_id;   /* without <>, NUL terminated; "" when the part has none */
	const char *content_type; /* the header value as sent (parameters kept);
	                             "application/octet-stream" when absent */
	const char *data;         /* the bytes: points INTO the body (zero copy), or into a
	                             buffer the msg owns (base64 part); NOT NUL terminated */
	size_t      len;
};

/* A parsed message.  Fields are read-only for the caller. */
struct mtom_msg {
	struct mtom_part *parts;
	size_t            n;          /* >= 1 after a successful parse */
	size_t            root;       /* index of the root part: the one start= names, else 0 */
	char             *type;       /* type= parameter ("application/xop+xml") or NULL */
	char             *start_info; /* start-info= parameter ("application/soap+xml") or NULL */
	char            **owned_;     /* private: per-part decoded buffers, NULL entries allowed */
};

/*
 * Parses body[len] as the multipart/related message announced by
 * content_type, the HTTP Content-Type header value, e.g.
 *   multipart/related; type="application/xop+xml"; boundary="MIMEBoundary_abc";
 *   start="<0.root@apache.org>"; start-info="application/soap+xml"
 * lim is required (see mtom_limits).  On HIE_OK *out holds the parts; free it
 * with mtom_free, and keep body alive and unchanged until then.  On error
 * *out is empty (mtom_free on it is harmless) and why[whycap] (may be NULL)
 * says what was wrong, without echoing message content.
 * Not checked here: that the root is application/xop+xml with
 * type="application/soap+xml" (m->type and the root's content_type are
 * there for the caller), nor the SOAP action (use wsa:Action).
 * Errors: HIE_EINVAL (NULL arguments, max_total 0), HIE_ETOOBIG (len or the
 * decoded base64 over max_total), HIE_EPROTO (not multipart/related, missing
 * or invalid boundary, no parts, missing closing delimiter or truncated body,
 * part header section over max_header_bytes, more than max_parts parts,
 * malformed header, duplicate Content-ID, Content-ID over 512 bytes,
 * control characters in a header, unsupported or invalid transfer
 * encoding, start= naming no part), HIE_ENOMEM.
 */
hie_err mtom_parse(const char *content_type, const char *body, size_t len,
    const struct mtom_limits *lim, struct mtom_msg *out, char *why, size_t whycap);

/* Releases what mtom_parse allocated and empties m.  m may be NULL; calling
 * it twice is harmless. */
void mtom_free(struct mtom_msg *m);

/* The root part (the SOAP envelope), or NULL if m holds no parts. */
const struct mtom_part *mtom_root(const struct mtom_msg *m);

/*
 * The part whose Content-ID is named by href: either a cid: URL
 * ("cid:abc%40x", %-escapes decoded as RFC 2392 requires; "cid:" in any
 * case) or a bare id ("abc@x", with or without <>).  NULL if m is NULL, the
 * URL is malformed, or no part has that id.  Points into m.
 */
const struct mtom_part *mtom_find(const struct mtom_msg *m, const char *href);

/*
 * The binary content of an XML element, as XDS carries a Document: either
 * its text, base64 (whitespace allowed), or -- when its only element child
 * is xop:Include with href="cid:..." -- the bytes of the part it references.
 * m may be NULL (a message without attachments): an xop:Include is then
 * HIE_EPROTO.  On HIE_OK *out is malloc'd (NUL terminated for convenience,
 * the caller frees it) and *len is its length; on error *out is NULL.
 * Errors: HIE_EINVAL (NULL arguments), HIE_EPROTO (invalid base64, element
 * children other than one xop:Include, Include without a cid: href, Include
 * with no attachments), HIE_ENOTFOUND (no part with that id), HIE_ETOOBIG
 * (more than max bytes), HIE_ENOMEM.
 */
hie_err mtom_element_bytes(const struct mtom_msg *m, const xmlNode *el, size_t max,
    char **out, size_t *len);

/*
 * Adds <xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include"
 * href="cid:ID"/> as the last child of el, ID %-escaped as RFC 2392
 * requires.  The new node belongs to el's document.  content_id is given
 * without <> (e.g. from mtom_content_id).
 * Errors: HIE_EINVAL (NULL, empty or over-long id, control characters or
 * <> in it), HIE_ENOMEM.
 */
hie_err mtom_add_include(xmlNode *el, const char *content_id);

/*
 * Builds an MTOM message: the root part is root_xml[root_len], a SOAP 1.2
 * envelope, sent as application/xop+xml; type="application/soap+xml" with
 * action= when action is not NULL; then the n attachments in order, each
 * with the caller's content_id (without <>, unique, see mtom_add_include for
 * what is allowed), content_type (NULL: application/octet-stream) and
 * data[len], sent as binary.  The boundary is fresh and random and checked
 * not to occur in any part.
 * The body is appended to out (whose max bounds it); ctype[ctcap] receives
 * the matching HTTP Content-Type value (with boundary=, start=, start-info=
 * and action=).  On error out is left as it was and ctype is "".
 * Errors: HIE_EINVAL (bad ids, duplicates, or action/content types with
 * quotes or control characters), HIE_ETOOBIG (out's max or ctcap), HIE_ENOMEM.
 */
hie_err mtom_build(hie_buf *out, char *ctype, size_t ctcap, const char *action,
    const char *root_xml, size_t root_len, const struct mtom_part *att, size_t n);

/* Writes a fresh random content id "<32 hex>@hienode" (no <>) into out[cap];
 * cap should be MTOM_CONTENT_ID_SIZE.  A smaller cap gets "" (cap > 0). */
void mtom_content_id(char *out, size_t cap);

#endif /* NODE_MTOM_H */
