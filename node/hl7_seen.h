/*
 * node/hl7_seen.h -- acknowledgements already given, for HL7 v2 senders
 * that retransmit: an LMDB database "hl7.seen" maps MSH-3 (sending
 * application) and MSH-10 (control id) to the ACK that was sent, with a
 * SHA-1 of the message, so that a retransmitted message gets the same ACK
 * again without being processed twice.
 *
 * A control id seen before with different content is not a
 * retransmission (some senders reuse ids): lookup reports it as new, the
 * caller processes it and its put replaces the record.
 *
 * Durability: put writes into the caller's write transaction, the one
 * that applies the message, so that "applied" and "ACK remembered" commit
 * together; the ACK is sent only after that commit (node/store.h).
 *
 * Threading: a hl7_seen may be used from any thread, with that thread's
 * transactions.  Records are kept until hl7_seen_prune removes them.
 */
#ifndef NODE_HL7_SEEN_H
#define NODE_HL7_SEEN_H

#include <lmdb.h>
#include <stdint.h>

#include "node/hie.h"
#include "node/hl7.h"

typedef struct hl7_seen hl7_seen;

/* Opens (creates) the database in env.  *out is the caller's. */
hie_err hl7_seen_open(MDB_env *env, hl7_seen **out);
void    hl7_seen_close(hl7_seen *s);

/* HIE_OK with the stored ACK appended to ack when this very message was
 * acknowledged before; HIE_ENOTFOUND when it is new.  txn NULL: a read
 * transaction of its own.  HIE_EDB on LMDB errors. */
hie_err hl7_seen_lookup(hl7_seen *s, MDB_txn *txn, const hl7_msg *m, hie_buf *ack);
/* Remembers ack[len] for m in the caller's write transaction (the caller
 * commits).  txn NULL: a write transaction of its own, committed here. */
hie_err hl7_seen_put(hl7_seen *s, MDB_txn *txn, const hl7_msg *m, const char *ack, size_t len);
/* Removes records older than max_age_s; *removed may be NULL. */
hie_err hl7_seen_prune(hl7_seen *s, int64_t max_age_s, size_t *removed);

#endif /* NODE_HL7_SEEN_H */
