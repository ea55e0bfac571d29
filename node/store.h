/*
 * node/store.h -- the node's one LMDB environment.
 *
 * LMDB allows one open environment per process and path, so the node opens
 * it here once and hands the MDB_env to each module (registry, MPI, audit,
 * replay cache), which opens its own named databases in it.
 *
 * Durability: the environment is opened without MDB_NOSYNC/MDB_NOMETASYNC,
 * so every committed write transaction is on disk when mdb_txn_commit
 * returns.  No module relaxes that; an acknowledgement is only ever sent
 * after the commit that it acknowledges.
 */
#ifndef NODE_STORE_H
#define NODE_STORE_H

#include <lmdb.h>
#include <stddef.h>

#include "node/hie.h"

/* Creates dir (0700) if needed and opens the environment in it.
 * HIE_EIO names an unreadable or unwritable directory. */
hie_err hie_store_open(const char *dir, size_t map_size_mb, MDB_env **out);
void    hie_store_close(MDB_env *env);
/* HIE_OK if a read transaction can be started (health check). */
hie_err hie_store_check(MDB_env *env);

/* An LMDB return code as a hie_err: HIE_ENOTFOUND, HIE_EEXIST, HIE_ETOOBIG
 * (map full), or HIE_EDB for anything else (logged with LMDB's text). */
hie_err hie_store_err(int rc);

/* The named databases a module keeps in the environment: each handle is
 * stored at (char *) base + off. */
struct hie_store_db {
	const char *name;
	size_t      off;
	unsigned    flags; /* MDB_DUPSORT, ...; MDB_CREATE is implied */
};
/* Opens (creating) dbs[n] in one write transaction. */
hie_err hie_store_open_dbs(MDB_env *env, const struct hie_store_db *dbs, size_t n, void *base);

#endif /* NODE_STORE_H */
