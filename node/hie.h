/*
 * node/hie.h -- the base every hienode module stands on: the project error
 * type, one-line logging, and bounded byte buffers.
 *
 * Errors: every public function of every module returns hie_err.  HIE_OK is
 * 0; the other numbers are stable (they appear in logs, audit records and
 * metrics), so new codes are appended to HIE_ERRORS, never renumbered.
 * Library errors (LMDB, libxml2, xmlsec, OpenSSL, nng, curl) are translated
 * at the module boundary; the raw code goes to the log line.
 *
 * Logging: one line per event on stderr:
 *   2026-11-25T16:50:05Z INFO  xca HIE-XCA-PEER rid=4f2a.. message
 * No patient data above debug level.
 *
 * Threading: all functions here are thread-safe.
 */
#ifndef NODE_HIE_H
#define NODE_HIE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* X(name, number, message).  Append only. */
#define HIE_ERRORS(X)                                                        \
	X(HIE_OK, 0, "success")                                              \
	X(HIE_ENOMEM, 1, "out of memory")                                    \
	X(HIE_EINVAL, 2, "invalid argument")                                 \
	X(HIE_EIO, 3, "input/output error")                                  \
	X(HIE_ENOTFOUND, 4, "not found")                                     \
	X(HIE_EEXIST, 5, "already exists")                                   \
	X(HIE_ETOOBIG, 6, "input exceeds a configured size limit")           \
	X(HIE_ECONFIG, 7, "invalid configuration")                           \
	X(HIE_EXML, 8, "malformed XML")                                      \
	X(HIE_EXMLHOSTILE, 9, "XML with DTD, entities or excessive nesting") \
	X(HIE_ESOAP, 10, "not a valid SOAP message for this transaction")   \
	X(HIE_EDB, 11, "database error")                                     \
	X(HIE_ECRYPTO, 12, "cryptographic operation failed")                 \
	X(HIE_ECERT, 13, "certificate not trusted")                          \
	X(HIE_ETLS, 14, "TLS configuration error")                           \
	X(HIE_ENET, 15, "network error")                                     \
	X(HIE_ETIMEDOUT, 16, "deadline exceeded")                            \
	X(HIE_ECLOSED, 17, "object closed or shutting down")                 \
	X(HIE_EPEER, 18, "peer answered with an error")                      \
	X(HIE_EREFUSED, 19, "refused by policy")                             \
	X(HIE_EPERM, 20, "insecure file permissions")                        \
	X(HIE_EMETADATA, 21, "document metadata invalid")                    \
	X(HIE_EDUPLICATE, 22, "unique id already registered")                \
	X(HIE_EBUSY, 23, "address in use or resource busy")                  \
	X(HIE_EPROTO, 24, "protocol error")                                  \
	X(HIE_ESIG, 25, "signature missing, invalid or not covering the message") \
	X(HIE_EEXPIRED, 26, "timestamp or assertion outside its validity")  \
	X(HIE_EREPLAY, 27, "message or assertion seen before")              \
	X(HIE_EAUDIENCE, 28, "assertion not meant for this community")     \
	X(HIE_EUNSIGNED, 29, "required signature or assertion missing")      \
	X(HIE_EHL7, 30, "malformed or unsupported HL7 v2 message")          \
	X(HIE_EAMBIGUOUS, 31, "more than one candidate matches")            \
	X(HIE_EUNKNOWNPATIENT, 32, "patient id not known to this node")     \
	X(HIE_EHASH, 33, "document hash or size does not match its metadata") \
	X(HIE_EMISSINGDOC, 34, "document referenced by metadata is missing") \
	X(HIE_EPATIENT, 35, "patient ids in one submission do not match")   \
	X(HIE_EQUERYPARAM, 36, "stored query parameter missing or invalid") \
	X(HIE_EUNKNOWNQUERY, 37, "unknown stored query id")

typedef enum {
#define HIE_X_ENUM(name, num, msg) name = num,
	HIE_ERRORS(HIE_X_ENUM)
#undef HIE_X_ENUM
} hie_err;

/* Static message for the code; never NULL. */
const char *hie_strerror(hie_err e);
/* Static symbolic name ("HIE_ETIMEDOUT"); never NULL. */
const char *hie_errname(hie_err e);

/* ---- logging ---- */
typedef enum { HIE_LOG_DEBUG, HIE_LOG_INFO, HIE_LOG_WARN, HIE_LOG_ERR } hie_log_level;

/* Messages below this level are dropped.  Default INFO. */
void hie_log_set_level(hie_log_level lvl);
/* module: "xca"; event: stable id such as "HIE-XCA-PEER"; rid may be NULL. */
void hie_log(hie_log_level lvl, const char *module, const char *event,
    const char *rid, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A fresh random request id (32 hex chars + NUL). */
void hie_request_id(char out[33]);
/* A fresh RFC 4122 version 4 UUID as "urn:uuid:..." (45 chars + NUL). */
void hie_urn_uuid(char out[46]);
/* The same UUID's text alone, 8-4-4-4-12 hex digits (36 chars + NUL). */
void hie_uuid(char out[37]);
/* Milliseconds from a monotonic clock. */
int64_t hie_now_ms(void);

/* ---- bounded buffer (after curl's dynbuf) ----
 * Grows on demand up to max, fixed at init; going past max is HIE_ETOOBIG,
 * never a silent realloc past the limit.  The buffer owns data; free with
 * hie_buf_free.  data is always NUL terminated when len > 0. */
typedef struct {
	char  *data;
	size_t len;
	size_t cap;
	size_t max;
} hie_buf;

void   hie_buf_init(hie_buf *b, size_t max);
hie_err hie_buf_add(hie_buf *b, const void *p, size_t n);
/* Makes room for n more bytes now (one allocation instead of doublings);
 * HIE_ETOOBIG past max. */
hie_err hie_buf_reserve(hie_buf *b, size_t n);
hie_err hie_buf_addstr(hie_buf *b, const char *s);
hie_err hie_buf_printf(hie_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
hie_err hie_buf_json_str(hie_buf *b, const char *s);
/* Hands the data to the caller (free() it) and resets b. */
char  *hie_buf_take(hie_buf *b, size_t *len);
void   hie_buf_free(hie_buf *b);

/* Copies src into dst[cap]; HIE_ETOOBIG if it does not fit (dst then holds
 * a truncated, terminated copy). */
hie_err hie_strlcpy(char *dst, const char *src, size_t cap);

/* Reads a whole file up to max bytes.  *out is NUL terminated; free() it. */
hie_err hie_read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes a file atomically (tmp, fsync, rename) with the given mode. */
hie_err hie_write_file(const char *path, const void *data, size_t len, unsigned mode);

/* ---- base64 (RFC 4648) ----
 * Encode: *out is malloc'd, NUL terminated.  Decode skips XML whitespace,
 * refuses anything else that is not base64 (HIE_EINVAL) and output beyond
 * max bytes (HIE_ETOOBIG). */
hie_err hie_base64_encode(const void *in, size_t len, char **out, size_t *outlen);
hie_err hie_base64_decode(const char *in, size_t len, size_t max, char **out, size_t *outlen);

/* SHA-1 of p[n] as 40 lowercase hex digits (the XDS hash slot). */
void hie_sha1_hex(const void *p, size_t n, char out[41]);

#endif /* NODE_HIE_H */
