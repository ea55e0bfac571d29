/*
 * node/replay.h -- the replay cache: message ids and assertion ids seen in
 * the last minutes, so that a captured signed message cannot be sent again.
 *
 * Its own LMDB environment (data_dir/replay), bounded in entries, each entry
 * expiring with the timestamp or assertion it came from.  It is the one
 * store opened with MDB_NOSYNC: losing its last writes in a power cut only
 * reopens a replay window as long as the clock skew allowance, while an
 * fsync per inbound message would halve the node's throughput.  Everything
 * else the node acknowledges is synced (node/store.h).
 *
 * Thread-safe: each call is one LMDB transaction.
 */
#ifndef NODE_REPLAY_H
#define NODE_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "node/hie.h"

typedef struct hie_replay hie_replay;

/* Opens (creating) the cache in dir, holding at most max_entries. */
hie_err hie_replay_open(const char *dir, size_t max_entries, hie_replay **out);
void    hie_replay_close(hie_replay *rc);

/*
 * Records id as seen until expires (unix time).  HIE_EREPLAY if it is
 * already there and not expired; HIE_EBUSY if the cache is full of live
 * entries even after dropping expired ones (the caller refuses the message:
 * fail closed).
 */
hie_err hie_replay_check(hie_replay *rc, const char *id, time_t expires);

/*
 * The same for ids[n] (expiring at expires[n]) in one transaction: all are
 * recorded or none.  On an error *which (may be NULL) is the index of the
 * id it is about (the replayed one for HIE_EREPLAY).  A signed request's
 * message id and assertion id go together: one LMDB commit per message.
 */
hie_err hie_replay_check_n(hie_replay *rc, const char *const *ids, const time_t *expires, size_t n, size_t *which);

#endif /* NODE_REPLAY_H */
