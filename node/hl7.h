/*
 * node/hl7.h -- HL7 v2 (ER7, "pipe and hat") messages: a bounded parser,
 * accessors that return unescaped UTF-8 text, and acknowledgements
 * (original and enhanced mode) with ERR segments.
 *
 * Parsing: hl7_parse copies the message into one buffer it owns (line
 * ends normalised to CR, ISO 8859-1 converted to UTF-8) and indexes the
 * segments and fields of that buffer; nothing else is copied until an
 * accessor asks for a value.  It honours the separators of MSH-1/MSH-2
 * (four or, from v2.7, five encoding characters), validates every escape
 * sequence once, checks the header (MSH-9, -10, -11, -12 for v2.3 to
 * v2.8.2, MSH-18) and refuses, with HIE_EHL7, input beyond the limits.
 * Z-segments and segments this module does not know are indexed like any
 * other and never interpreted: handlers that do not ask for them never
 * see them.
 *
 * Errors: every refusal is HIE_EHL7 and fills a struct hl7_error: the HL7
 * error code (table 0357), where (segment, its sequence, field, repetition,
 * component, subcomponent) and a short reason; that is what goes into the
 * ERR segment of the AE/AR.
 *
 * Numbering follows HL7: segment occurrence, field, repetition, component
 * and subcomponent all count from 1.  An absent field, repetition,
 * component or subcomponent reads as "" (HL7 does not tell them apart); the
 * HL7 null value "" is returned as the two characters '""' so that update
 * semantics ("delete this value") stay visible to the caller.
 *
 * Escapes on read: \F\ \S\ \T\ \R\ \E\ \P\ become the delimiter they name,
 * \Xhh..\ the bytes (in the message's character set, so converted from
 * 8859-1 when that is the set), \.br\ a newline, \.sp n\ n newlines,
 * \.sk n\ n spaces; \H\ \N\ \.fi\ \.nf\ \.in\ \.ti\ \.ce\ and local \Z..\
 * escapes are layout or private hints and read as nothing.  The character
 * set switches \C..\ and \M..\ (ISO 2022) are refused (code 102): we would
 * otherwise hand out text in a set we do not know.
 *
 * Threading: a parsed hl7_msg is immutable; any number of threads may read
 * it at once.  Ownership: hl7_parse allocates the message, hl7_free frees
 * it; accessors write into buffers the caller owns.
 */
#ifndef NODE_HL7_H
#define NODE_HL7_H

#include <stddef.h>

#include "node/hie.h"

/* ---- limits ---- */
struct hl7_limits {
	size_t max_bytes;    /* whole message, as received */
	size_t max_segments; /* segments in one message */
	size_t max_fields;   /* fields in one segment */
};
/* 16 MiB (MDM/ORU can carry base64 documents), 10000 segments, 512 fields. */
extern const struct hl7_limits hl7_default_limits;

/* ---- errors (HL7 table 0357) ---- */
enum {
	HL7_E_SEGMENT_SEQUENCE   = 100,
	HL7_E_REQUIRED_MISSING   = 101,
	HL7_E_DATA_TYPE          = 102,
	HL7_E_TABLE_VALUE        = 103,
	HL7_E_UNSUPPORTED_TYPE   = 200,
	HL7_E_UNSUPPORTED_EVENT  = 201,
	HL7_E_UNSUPPORTED_PROC   = 202,
	HL7_E_UNSUPPORTED_VER    = 203,
	HL7_E_INTERNAL           = 207,
};

/* Where and why a message was refused.  Positions are 0 when unknown. */
struct hl7_error {
	int  code;       /* table 0357 */
	char segment[4]; /* "PID"; "" when no segment applies */
	int  seq;        /* occurrence of that segment, from 1 */
	int  field, rep, comp, sub;
	char severity;   /* 'E' (error, default when 0), 'W', 'I' */
	char text[160];  /* short reason, ASCII, no patient data */
};

/* Static text of a table 0357 code ("Data type error"); never NULL. */
const char *hl7_error_text(int code);
/* Fills e (code, location, formatted reason); returns HIE_EHL7 so that a
 * handler can write "return hl7_error_set(...)". */
hie_err hl7_error_set(struct hl7_error *e, int code, const char *segment, int seq,
    int field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- messages ---- */
typedef struct hl7_msg hl7_msg;

enum hl7_charset { HL7_CS_ASCII, HL7_CS_8859_1, HL7_CS_UTF8 };

/* The header fields every handler needs, decoded once by hl7_parse. */
struct hl7_header {
	char type[4];        /* MSH-9.1, "ADT" */
	char event[4];       /* MSH-9.2, "A04"; "" only for a bare ACK */
	char structure[8];   /* MSH-9.3, "ADT_A01"; may be "" */
	char control_id[200]; /* MSH-10 */
	char processing_id[2]; /* MSH-11.1: P, D or T */
	char version[8];     /* MSH-12.1, "2.5.1" */
	int  version_num;    /* 23, 231, 24, 25, 251, 26, 27, 271, 28, 281, 282 */
	enum hl7_charset charset; /* MSH-18 (first repetition) */
	char accept_ack[3];  /* MSH-15: AL, NE, ER, SU or "" */
	char app_ack[3];     /* MSH-16 */
	char delims[6];      /* field, component, repetition, escape, subcomponent[, truncation] */
};

/* Parses buf[len] (one message, without MLLP framing).  lim NULL means
 * hl7_default_limits; err may be NULL.  On success *out is the caller's
 * (hl7_free).  On HIE_EHL7 *out is NULL and err says where and why;
 * HIE_ENOMEM is the only other error. */
hie_err hl7_parse(const char *buf, size_t len, const struct hl7_limits *lim,
    hl7_msg **out, struct hl7_error *err);
void    hl7_free(hl7_msg *m);

/* Copies the decoded header into *out. */
hie_err hl7_get_header(const hl7_msg *m, struct hl7_header *out);
/* The message as parsed (CR separated, UTF-8), valid as long as m: for
 * hashing and storing the original. */
hie_err hl7_raw(const hl7_msg *m, const char **buf, size_t *len);

/* Unescaped UTF-8 text of seg(seq)-field(rep).comp.sub into out[cap].
 * HIE_ENOTFOUND when there is no such segment occurrence, HIE_ETOOBIG when
 * the value does not fit (out then holds a truncated, terminated copy),
 * HIE_EINVAL for a position < 1.  MSH-1 and MSH-2 read as the raw
 * delimiters. */
hie_err hl7_get(const hl7_msg *m, const char *seg, int seq, int field, int rep,
    int comp, int sub, char *out, size_t cap);
/* The same, appended to out (for values of unknown size: OBX-5 documents). */
hie_err hl7_get_buf(const hl7_msg *m, const char *seg, int seq, int field, int rep,
    int comp, int sub, hie_buf *out);
/* The raw (still escaped) text of a whole field, pointing into m. */
hie_err hl7_get_raw(const hl7_msg *m, const char *seg, int seq, int field,
    const char **p, size_t *len);

/* Number of segments with this id (0 when none). */
hie_err hl7_count_segments(const hl7_msg *m, const char *seg, size_t *n);
/* Number of repetitions of a field (0 when absent or empty). */
hie_err hl7_field_reps(const hl7_msg *m, const char *seg, int seq, int field, size_t *n);

/* Segment groups (OBR with its OBXs, PID with its PV1): walk by position.
 * Position counts every segment from 0 (MSH).  hl7_segment_at gives the
 * id and its occurrence number, to be passed to hl7_get. */
hie_err hl7_segment_total(const hl7_msg *m, size_t *n);
hie_err hl7_segment_at(const hl7_msg *m, size_t pos, char id[4], int *seq);

/* Appends s escaped for a field of a message with these delimiters
 * (struct hl7_header delims): delimiters become \F\ \S\ \T\ \R\ \E\, CR/LF
 * become \.br\.  For building replies (ACK texts, RSP segments). */
hie_err hl7_escape(const char *delims, const char *s, hie_buf *out);

/* ---- acknowledgements ----
 *
 * Original mode (MSH-15 and MSH-16 empty): one application
 * acknowledgement, AA/AE/AR, on the same connection.  Enhanced mode:
 * the accept acknowledgement CA/CE/CR is sent when MSH-15 asks for it (AL
 * always, ER on error, SU on success, NE never); the application
 * acknowledgement that MSH-16 asks for by the same rules is a separate
 * message the receiver sends later, on a connection of its own
 * (hl7_app_ack builds it; node/hl7_appack.h queues and delivers it).
 *
 * The ACK uses the delimiters and character set of the message it answers;
 * MSH-3/4 and MSH-5/6 are swapped, MSH-10 is a fresh id, MSA-2 the
 * original MSH-10.  The ERR segment has the v2.5+ form (ERR-2 location,
 * ERR-3 code^text^HL70357, ERR-4 severity, ERR-7 reason) from v2.5 on and
 * the ERR-1 form (segment^seq^field^code&text&HL70357) before, where the
 * reason goes in MSA-3.
 *
 * hl7_ack only ever appends to out; out->len == 0 afterwards means "no
 * acknowledgement to send" (enhanced mode, or m is itself an ACK). */
enum hl7_outcome {
	HL7_ACCEPT, /* processed (and durably stored): AA / CA */
	HL7_ERROR,  /* content error: AE / CE */
	HL7_REJECT, /* refused (header, unsupported type/version): AR / CR */
};
enum hl7_ack_code { HL7_AA, HL7_AE, HL7_AR, HL7_CA, HL7_CE, HL7_CR };

/* err may be NULL for HL7_ACCEPT. */
hie_err hl7_ack(const hl7_msg *m, enum hl7_outcome outcome, const struct hl7_error *err,
    hie_buf *out);
/* An acknowledgement with this exact code, whatever the mode says. */
hie_err hl7_ack_build(const hl7_msg *m, enum hl7_ack_code code, const struct hl7_error *err,
    hie_buf *out);
/* Whether m is in enhanced mode with MSH-16 AL, ER or SU: the processing
 * outcome then goes into a separate application acknowledgement
 * (hl7_app_ack) and the accept acknowledgement only says whether the
 * message was committed (CA) or refused before processing (CR).  0 in
 * original mode, when MSH-16 is empty, and for NE (no application ack
 * ever: the accept ack, CE for an error, is all the sender hears). */
int     hl7_app_ack_mode(const hl7_msg *m);
/* The application acknowledgement MSH-16 asks for after this outcome, as
 * a message of its own: MSA AA/AE/AR with MSA-2 the original MSH-10, an
 * ERR segment for AE/AR, a fresh MSH-10, MSH-15 AL (the receiver's accept
 * acknowledgement tells us it arrived) and MSH-16 NE.  Appends nothing
 * when MSH-16 does not want one (NE; ER on success; SU on failure; not
 * hl7_app_ack_mode). */
hie_err hl7_app_ack(const hl7_msg *m, enum hl7_outcome outcome, const struct hl7_error *err,
    hie_buf *out);

/* The answer to bytes hl7_parse refused with err: built from what can be
 * salvaged of their MSH (delimiters, MSH-3..6, -10, -11, -12, -15).  AR
 * (CR) when err points at MSH or is code 200..203, AE (CE) otherwise.
 * HIE_EHL7 when not even an MSH can be read: then there is nobody to
 * answer and the connection should be closed. */
hie_err hl7_nak(const char *buf, size_t len, const struct hl7_error *err, hie_buf *out);

/* Reads an acknowledgement (for senders: hie-node hl7-send, tests):
 * MSA-1 into code[3], MSA-2 into control_id[cap], and the first ERR's
 * code (0 when none). */
hie_err hl7_ack_parse(const char *buf, size_t len, char code[3], char *control_id,
    size_t cap, int *err_code);

#endif /* NODE_HL7_H */
