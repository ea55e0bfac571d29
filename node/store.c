/* node/store.c -- opening the node's LMDB environment. */
#include "node/store.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

hie_err
hie_store_open(const char *dir, size_t map_size_mb, MDB_env **out)
{
	MDB_env *env;
	int      rc;

	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return HIE_EIO;
	if (access(dir, R_OK | W_OK | X_OK) != 0)
		return HIE_EIO;
	if (mdb_env_create(&env) != 0)
		return HIE_ENOMEM;
	/* MDB_NOTLS: read transactions are tied to the transaction object,
	 * not the thread, since nng callbacks run on a thread pool. */
	if ((rc = mdb_env_set_maxdbs(env, 32)) != 0 ||
	    (rc = mdb_env_set_maxreaders(env, 512)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, map_size_mb << 20)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS, 0600)) != 0) {
		hie_log(HIE_LOG_ERR, "store", "HIE-STORE-OPEN", NULL, "%s: %s", dir, mdb_strerror(rc));
		mdb_env_close(env);
		return rc == EACCES || rc == ENOENT || rc == EROFS ? HIE_EIO : HIE_EDB;
	}
	*out = env;
	return HIE_OK;
}

void
hie_store_close(MDB_env *env)
{
	if (env != NULL)
		mdb_env_close(env);
}

hie_err
hie_store_check(MDB_env *env)
{
	MDB_txn *txn;

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return HIE_EDB;
	mdb_txn_abort(txn);
	return HIE_OK;
}

hie_err
hie_store_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return HIE_OK;
	case MDB_NOTFOUND:
		return HIE_ENOTFOUND;
	case MDB_KEYEXIST:
		return HIE_EEXIST;
	case MDB_MAP_FULL:
		return HIE_ETOOBIG;
	default:
		hie_log(HIE_LOG_ERR, "store", "HIE-STORE-DB", NULL, "%s", mdb_strerror(rc));
		return HIE_EDB;
	}
}

hie_err
hie_store_open_dbs(MDB_env *env, const struct hie_store_db *dbs, size_t n, void *base)
{
	MDB_txn *txn;
	int      rc;

	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	for (size_t i = 0; i < n; i++)
		if ((rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE | dbs[i].flags,
		         (MDB_dbi *) ((char *) base + dbs[i].off))) != 0) {
			mdb_txn_abort(txn);
			return hie_store_err(rc);
		}
	return hie_store_err(mdb_txn_commit(txn));
}
