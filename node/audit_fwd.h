/*
 * node/audit_fwd.h -- forwarding the audit trail to an audit repository:
 * IHE ATNA ITI-20 "Record Audit Event", each record as its DICOM audit
 * message (node/atna.h) in an RFC 5424 syslog message, sent over TLS with
 * RFC 5425 octet-counting framing ("LEN SP MSG").
 *
 * The local trail (node/audit.h) is the record; forwarding only follows
 * it.  One thread reads the trail in order from a cursor kept in LMDB
 * (named database "audit_fwd", key "cursor": the sequence number of the
 * last record the repository accepted), so a repository that is down, slow
 * or refusing never holds up or loses a local record, and after a restart
 * the forwarder resumes where the repository stopped accepting.
 *
 * Accepted: syslog over TLS has no acknowledgement.  A record counts as
 * accepted once the repository's TCP acknowledged all the bytes up to its
 * end (the socket's send queue, SIOCOUTQ, against what was written) and
 * the connection then stayed up for confirm_ms.  Whatever was not accepted
 * when the connection dropped is sent again: at-least-once, duplicates
 * possible (each message carries the record's sequence number in its
 * structured data, [hie@32473 seq="N"], so a repository can drop them).
 *
 * TLS: OpenSSL directly, not an nng stream: the acceptance rule needs the
 * socket (send queue, byte counts) and a blocking thread with deadlines is
 * simpler than nng's aio here.  TLS 1.2 or newer, this node's certificate
 * presented, the repository's checked against the network CA (and CRL) and
 * its name against the address's host.
 *
 * Message: <85>1 TIMESTAMP HOSTNAME hie-node PROCID IHE+RFC-3881
 * [hie@32473 seq="N"] BOM AuditMessage -- PRI 85 is facility 10
 * (security/authorization) and severity 5 (notice), MSGID as ITI TF-2a
 * 3.20.6 has it; TIMESTAMP is the record's own time.
 *
 * Threading: audit_fwd_stats is thread-safe; audit_fwd_stop joins the
 * thread (at most a few seconds: every network wait has a deadline).
 */
#ifndef NODE_AUDIT_FWD_H
#define NODE_AUDIT_FWD_H

#include <lmdb.h>
#include <stdint.h>

#include "node/hie.h"

/* Strings are copied at start. */
struct audit_fwd_config {
	const char *url;      /* tls+tcp://host:port */
	const char *cert;     /* PEM files: this node's certificate and key */
	const char *key;
	const char *ca;       /* trust anchor for the repository */
	const char *crl;      /* "" or NULL: none */
	const char *node;     /* HOSTNAME and AuditSourceID */
	const char *community;
	int         backoff_min_ms;
	int         backoff_max_s;
	int         confirm_ms;
};

struct audit_fwd_stats {
	uint64_t forwarded;  /* records sent since start (re-sends included) */
	uint64_t accepted;   /* the persisted cursor: last record accepted */
	uint64_t lag;        /* records in the trail after the cursor */
	uint64_t connects;   /* TLS connections made since start */
	uint64_t failures;   /* connection attempts or sends that failed */
	int      connected;  /* 1: a TLS connection to the repository is up */
	char     last_error[128]; /* why the last attempt failed ("" none) */
};

typedef struct audit_fwd audit_fwd;

/* Checks the config (HIE_ECONFIG for a bad url, HIE_ETLS for certificates
 * that do not load) and starts the thread; it connects in the background. */
hie_err audit_fwd_start(MDB_env *env, const struct audit_fwd_config *c, audit_fwd **out);
/* Stops and joins the thread; the cursor stays as last persisted. */
void    audit_fwd_stop(audit_fwd *f);
void    audit_fwd_stats(audit_fwd *f, struct audit_fwd_stats *s);

/* The persisted cursor of env (0: nothing accepted yet). */
hie_err audit_fwd_cursor(MDB_env *env, uint64_t *seq);

#endif /* NODE_AUDIT_FWD_H */
