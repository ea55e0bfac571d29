/*
 * node/hl7_appack.h -- HL7 v2 enhanced-mode application acknowledgements:
 * a durable outbound queue and the one thread that delivers it.
 *
 * In enhanced mode with MSH-16 AL, ER or SU the accept acknowledgement
 * CA/CR goes back on the sender's connection (node/hl7_feed.h) and the
 * application acknowledgement AA/AE (hl7_app_ack, node/hl7.h), when MSH-16
 * wants it for that outcome, is a message of its own, sent later to the
 * sender's inbound MLLP port.  Where
 * that is comes from a routes file ([hl7] app_ack_routes), one route a
 * line, first match wins:
 *
 *     # MSH-3 (sending application)  MSH-4 (sending facility)  destination
 *     EPIC                           MERCY                     tcp://10.1.2.3:6661
 *     *                              LABCORP                   tls+tcp://lab.example.org:6661
 *
 * Application and facility are the first component of MSH-3 and MSH-4 of
 * the message acknowledged, compared exactly; "*" matches anything.
 * tls+tcp:// uses this node's certificate and requires the receiver's
 * (network CA, host name checked), as the peer link does.
 *
 * Durability: hl7_appack_put writes the acknowledgement into the caller's
 * write transaction -- the one that applies the message and records its
 * accept acknowledgement (hl7.seen) -- so a crash can neither lose it nor
 * leave one for a message that was not applied.  The queue is the LMDB
 * database "hl7.appack" (key: 8-byte big-endian sequence number), read in
 * order by the sender thread: one connection per destination, kept open;
 * each acknowledgement asks for the receiver's accept acknowledgement
 * (MSH-15 AL) and is removed when that comes back CA (or AA: a receiver
 * in original mode).  Delivery is at least once: a crash between the
 * receiver's answer and the removal sends the same bytes (same MSH-10)
 * again.
 *
 * Failures, per destination, in queue order: no connection, no answer
 * within timeout_ms, an answer for another MSH-10, or CR/AR ("rejected
 * for reasons unrelated to content", e.g. the receiver is down) -- retried
 * after 1 s, doubling up to retry_max_ms, the later acknowledgements for
 * that destination waiting behind it.  CE/AE (the receiver refuses the
 * content; sending the same bytes again cannot change that): removed,
 * reported "refused".  No route for the sender: the acknowledgement stays
 * queued (reported "unrouted" when queued): a route added later and a
 * restart deliver it.  The queue holds at most max_queued
 * acknowledgements: putting one more removes the oldest, reported
 * "dropped" (the node writes an audit record), so a receiver that is down
 * for days or a sender without a route cannot fill the disk.
 *
 * Threading: put may be called from any thread inside its write
 * transaction; committed after that transaction committed.  The routes
 * are read once, at open.
 */
#ifndef NODE_HL7_APPACK_H
#define NODE_HL7_APPACK_H

#include <lmdb.h>
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>

#include "node/hie.h"
#include "node/hl7.h"

/* What happened to an application acknowledgement, for the node's log
 * line, metrics and audit trail.  Strings are valid during the call. */
struct hl7_appack_event {
	const char *what;       /* "queued", "unrouted", "delivered", "refused", "retry", "dropped" */
	const char *code;       /* AA, AE or AR */
	const char *control_id; /* MSA-2: the acknowledged message's MSH-10 */
	const char *ack_id;     /* MSH-10 of the application acknowledgement */
	const char *sender;     /* "APP^FACILITY" of the acknowledged message */
	const char *dest;       /* destination URL; "" without a route */
	const char *detail;     /* reason ("connection refused", "CE 207"); "" */
	size_t      n;          /* dropped: how many were removed (1 unless max_queued was lowered) */
};

struct hl7_appack_cfg {
	MDB_env    *env;
	const char *routes_file;  /* NULL or "": no routes */
	size_t      max_queued;   /* 0: 100000 */
	int         retry_max_ms; /* 0: 60000 */
	int         timeout_ms;   /* connect, and wait for the receiver's answer; 0: 10000 */
	/* A client TLS config for tls+tcp:// routes (server_name: the route's
	 * host); the queue frees it.  NULL: tls+tcp:// routes are refused. */
	hie_err (*tls_client)(void *arg, const char *server_name, nng_tls_config **out);
	void       *tls_arg;
	void (*report)(void *arg, const struct hl7_appack_event *ev); /* may be NULL */
	void       *report_arg;
};

typedef struct hl7_appack hl7_appack;

/* Reads the routes file (each problem written to err as "FILE:LINE:
 * reason"; HIE_ECONFIG), opens the database and starts the sender.  The
 * strings of cfg are copied.  *out is the caller's (hl7_appack_close). */
hie_err hl7_appack_open(const struct hl7_appack_cfg *cfg, FILE *err, hl7_appack **out);
/* Stops the sender, after the delivery attempt in progress (at most
 * timeout_ms for connecting and as long for the answer); what is not
 * delivered stays queued for the next start.  NULL is ignored. */
void    hl7_appack_close(hl7_appack *q);

/* What hl7_appack_put did, for hl7_appack_committed. */
struct hl7_appack_put_info {
	int    queued;           /* an acknowledgement was put */
	int    routed;
	char   code[3];
	char   ack_id[24];
	char   sender[136];
	char   dest[128];
	size_t dropped;          /* oldest removed to keep max_queued */
	char   dropped_ctl[64];  /* the first of them: its MSA-2, ... */
	char   dropped_sender[136];
	char   dropped_code[3];
};

/* Queues ack[len] (built by hl7_app_ack for m) in txn, the caller's write
 * transaction.  HIE_EDB (and the like) on LMDB errors: the caller must
 * then not commit the message as acknowledged.  *info is filled. */
hie_err hl7_appack_put(hl7_appack *q, MDB_txn *txn, const hl7_msg *m, const char *ack, size_t len,
    struct hl7_appack_put_info *info);
/* After the transaction of a put committed: reports it (queued or
 * unrouted, dropped) and wakes the sender.  control_id is m's MSH-10. */
void    hl7_appack_committed(hl7_appack *q, const struct hl7_appack_put_info *info, const char *control_id);

/* Acknowledgements queued now (read transaction of its own). */
hie_err hl7_appack_count(hl7_appack *q, size_t *n);

#endif /* NODE_HL7_APPACK_H */
