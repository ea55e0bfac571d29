/*
 * node/audit.h -- the audit trail: one record per transaction the node
 * takes part in, per security refusal, and per start and stop, kept in
 * LMDB as a hash chain so that a changed, removed or reordered record is
 * found by audit_verify.
 *
 * Storage: named database "audit" in the node's environment; key = sequence
 * number (8 bytes, big endian, from 1), value = SHA-256 of the previous
 * record's value (32 bytes) followed by the record as one JSON object.
 *
 * Writes: audit_record only queues (bounded); one writer thread appends
 * what is queued in one synced transaction (group commit), so auditing adds
 * no fsync to a request's latency.  The price: a crash loses at most the
 * records queued in the last few milliseconds.  A full queue is an error
 * the caller sees (HIE_EBUSY); a failed write (disk or map full) keeps the
 * records queued and retries; what is lost is counted (audit_counts) and
 * logged, never silent.
 *
 * Threading: audit_record is thread-safe; audit_close flushes and stops the
 * writer and must not be called from an nng callback.
 */
#ifndef NODE_AUDIT_H
#define NODE_AUDIT_H

#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>

#include "node/hie.h"

/* DICOM PS3.15 / RFC 3881 EventOutcomeIndicator values. */
enum audit_outcome {
	AUDIT_SUCCESS = 0,
	AUDIT_MINOR_FAILURE = 4,
	AUDIT_SERIOUS_FAILURE = 8,
	AUDIT_MAJOR_FAILURE = 12,
};

/* Every field may be NULL.  Strings are copied. */
struct audit_event {
	const char        *event;   /* "ITI-38", "ITI-39", "security-alert", "node-start"... */
	const char        *role;    /* "responder", "initiator", "node" */
	enum audit_outcome outcome;
	const char        *rid;     /* request id (logs carry the same) */
	const char        *source;  /* the other community (urn:oid:...) */
	const char        *user;    /* the requester from the XUA assertion */
	const char        *role_code;
	const char        *purpose; /* purpose of use */
	const char        *patient; /* CX */
	const char        *detail;  /* reason of a refusal or an error, summary */
	/* Added for ATNA (node/atna.h) and the accounting of disclosures. */
	const char        *organization; /* the requester's organization (XUA) */
	const char        *documents;    /* document uniqueIds disclosed or received, space separated */
	const char        *query;        /* query parameters as sent (ParticipantObjectQuery) */
	const char        *peer;         /* the other node: name or address */
	const char        *local;        /* this node's community (AuditSourceID) */
	const char        *trigger;      /* HL7 v2: MSH-9, e.g. ADT^A01 (query then holds MSH-10) */
	const char        *action;       /* "C", "R", "U", "D" where the event says which */
};

typedef struct audit_log audit_log;

/* Opens the audit database in env and starts the writer. */
hie_err audit_open(MDB_env *env, audit_log **out);
/* Flushes what is queued, stops the writer, frees. */
void    audit_close(audit_log *a);
/* Queues one record. */
hie_err audit_record(audit_log *a, const struct audit_event *ev);
/* Records written and records refused (queue full) since open. */
void    audit_counts(audit_log *a, uint64_t *written, uint64_t *refused);
/* Measurement only ([audit] off_for_measurement): from now on records are
 * dropped at once (counted as discarded), to measure what auditing costs.
 * Never for production: nothing of what the node does is then recorded. */
void    audit_discard(audit_log *a, int on);
/* 1 after audit_discard(a, 1). */
int     audit_discarding(audit_log *a);
/* 1 if records can be taken and the last write succeeded.  Transactions
 * check this first: what cannot be audited is not done (fail closed). */
int     audit_ready(audit_log *a);

/*
 * Walks the whole chain.  HIE_OK with *n records; otherwise HIE_EDB with
 * *bad the sequence number of the first record that does not fit (changed,
 * missing before it, or out of order) and the reason in why.
 */
hie_err audit_verify(MDB_env *env, uint64_t *n, uint64_t *bad, char *why, size_t whycap);

/* The sequence number of the last stored record (0: none). */
hie_err audit_last_seq(MDB_env *env, uint64_t *seq);

/* Prints the last `last` records (0: all) as JSON lines. */
hie_err audit_list(MDB_env *env, size_t last, FILE *out);

/*
 * Calls fn for every record from sequence number `from` on (1: all), in
 * order, inside one read transaction: json[len] is the stored JSON object
 * (not NUL terminated; valid during the call only).  A non-HIE_OK return
 * from fn stops the walk and is returned.  *next (may be NULL) gets the
 * sequence number after the last record seen: the cursor a reader that
 * follows the trail (syslog forwarder) persists.
 */
typedef hie_err (*audit_each_fn)(void *arg, uint64_t seq, const char *json, size_t len);
hie_err audit_each(MDB_env *env, uint64_t from, audit_each_fn fn, void *arg, uint64_t *next);

/*
 * The accounting of disclosures (HIPAA 45 CFR 164.528): every record in
 * which this node, as a responder, gave documents or document metadata
 * about patient to another community, from since (YYYY-MM-DD, NULL or ""
 * for all) on: when, who (community, organization, person, role), why
 * (purpose of use), which transaction and which documents.  One line per
 * disclosure (tab separated, with a header), or JSON lines with json = 1.
 * *count gets the number listed.
 */
hie_err audit_disclosures(MDB_env *env, const char *patient, const char *since, int json, FILE *out, size_t *count);

#endif /* NODE_AUDIT_H */
