/* node/replay.c -- the bounded, expiring replay cache in LMDB. */
#include "node/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * MDB_WRITEMAP: a commit writes its pages straight into the shared map
 * instead of one pwrite per dirty page; with MDB_NOSYNC neither syncs, so
 * what survives is the same (a crash of the node loses nothing, the page
 * cache has it; a power cut can lose the last writes, see replay.h).  It
 * was 17-22 us per commit with pwrite and 3-4 us without on the 2-core
 * machine (docs/benchmarks.md, soap), two commits per signed round trip.
 * The cost of WRITEMAP: LMDB sizes the file to the whole map, sparse, and
 * a write into a hole when the disk is full would kill the node with
 * SIGBUS instead of failing the transaction.  So the blocks are reserved
 * ahead (posix_fallocate): before each write transaction at least twice
 * the pages in use plus RESERVE_STEP are allocated -- a transaction can at
 * most copy every page in use (purge touches every leaf) -- and if the
 * disk cannot give them the transaction is not started (HIE_EDB: the
 * message is refused, fail closed).  A stray pointer write in the node
 * could now corrupt the cache; the cache then errors and messages are
 * refused, nothing else is affected.
 */
#define RESERVE_STEP (16 << 20)

struct hie_replay {
	MDB_env *env;
	MDB_dbi  dbi;
	size_t   max;
	int      fd;       /* the data file */
	size_t   psize;    /* LMDB page size */
	off_t    reserved; /* bytes of it allocated (posix_fallocate); under LMDB's writer lock */
};

hie_err
hie_replay_open(const char *dir, size_t max_entries, hie_replay **out)
{
	hie_replay *rc;
	MDB_txn    *txn;
	/* Each entry is a key of at most 256 bytes and 8 bytes of expiry:
	 * size the map for max entries with B-tree overhead. */
	size_t map = (max_entries * 1024 + (16u << 20));

	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return HIE_EIO;
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return HIE_ENOMEM;
	rc->max = max_entries;
	if (mdb_env_create(&rc->env) != 0 || mdb_env_set_mapsize(rc->env, map) != 0 ||
	    mdb_env_open(rc->env, dir, MDB_NOTLS | MDB_NOSYNC | MDB_WRITEMAP, 0600) != 0 ||
	    mdb_txn_begin(rc->env, NULL, 0, &txn) != 0) {
		if (rc->env != NULL)
			mdb_env_close(rc->env);
		free(rc);
		return HIE_EDB;
	}
	if (mdb_dbi_open(txn, NULL, 0, &rc->dbi) != 0 || mdb_txn_commit(txn) != 0) {
		mdb_env_close(rc->env);
		free(rc);
		return HIE_EDB;
	}
	{
		MDB_stat st;
		if (mdb_env_get_fd(rc->env, &rc->fd) != 0 || mdb_env_stat(rc->env, &st) != 0) {
			mdb_env_close(rc->env);
			free(rc);
			return HIE_EDB;
		}
		rc->psize = st.ms_psize;
	}
	*out = rc;
	return HIE_OK;
}

/* Makes sure the blocks a write transaction may touch are allocated (see
 * the top of the file); called holding LMDB's writer lock (in a write
 * transaction).  0, or -1 if the disk cannot give them. */
static int
reserve(hie_replay *rc)
{
	MDB_envinfo info;
	off_t       need;

	if (mdb_env_info(rc->env, &info) != 0)
		return -1;
	need = (off_t) ((info.me_last_pgno + 1) * 2 * rc->psize) + RESERVE_STEP;
	if (need <= rc->reserved)
		return 0;
	/* Short: reserve a further RESERVE_STEP beyond what is needed now, so
	 * that the blocks are allocated once per RESERVE_STEP / 2 of growth;
	 * allocating just what was needed made every new page of the B-tree
	 * another posix_fallocate over the whole file (one per ~28 messages
	 * in bench_wss). */
	need += RESERVE_STEP;
	if ((size_t) need > info.me_mapsize)
		need = (off_t) info.me_mapsize;
	if (need > rc->reserved && posix_fallocate(rc->fd, 0, need) != 0)
		return -1;
	rc->reserved = need;
	return 0;
}

void
hie_replay_close(hie_replay *rc)
{
	if (rc == NULL)
		return;
	mdb_env_close(rc->env);
	free(rc);
}

static time_t
expiry_of(const MDB_val *v)
{
	int64_t t = 0;
	if (v->mv_size == sizeof(t))
		memcpy(&t, v->mv_data, sizeof(t));
	return (time_t) t;
}

/* Drops expired entries; returns how many live ones remain. */
static size_t
purge(hie_replay *rc, MDB_txn *txn, time_t now)
{
	MDB_cursor *cur;
	MDB_val     k, v;
	size_t      live = 0;

	if (mdb_cursor_open(txn, rc->dbi, &cur) != 0)
		return rc->max;
	for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (expiry_of(&v) < now)
			mdb_cursor_del(cur, 0);
		else
			live++;
	}
	mdb_cursor_close(cur);
	return live;
}

hie_err
hie_replay_check(hie_replay *rc, const char *id, time_t expires)
{
	return hie_replay_check_n(rc, &id, &expires, 1, NULL);
}

hie_err
hie_replay_check_n(hie_replay *rc, const char *const *ids, const time_t *expires, size_t n, size_t *which)
{
	MDB_txn *txn;
	MDB_val  k, v;
	MDB_stat st;
	size_t   entries;
	time_t   now = time(NULL);
	int      r;

	if (which != NULL)
		*which = 0;
	for (size_t i = 0; i < n; i++)
		if (ids[i] == NULL || ids[i][0] == '\0' || strlen(ids[i]) > 256) {
			if (which != NULL)
				*which = i;
			return HIE_EINVAL;
		}
	if (mdb_txn_begin(rc->env, NULL, 0, &txn) != 0)
		return HIE_EDB;
	if (reserve(rc) != 0 || mdb_stat(txn, rc->dbi, &st) != 0) {
		mdb_txn_abort(txn);
		return HIE_EDB;
	}
	/* Counted here from then on: this transaction is the only writer. */
	entries = st.ms_entries;
	for (size_t i = 0; i < n; i++) {
		int64_t e = (int64_t) expires[i];
		k.mv_data = (void *) ids[i];
		k.mv_size = strlen(ids[i]);
		if (which != NULL)
			*which = i;
		if (entries >= rc->max) {
			/* Full: a replay is still told as one (before the
			 * purge), then room is made or the message refused. */
			if (mdb_get(txn, rc->dbi, &k, &v) == 0 && expiry_of(&v) >= now) {
				mdb_txn_abort(txn);
				return HIE_EREPLAY;
			}
			if ((entries = purge(rc, txn, now)) >= rc->max) {
				mdb_txn_abort(txn);
				return HIE_EBUSY;
			}
		}
		/* One B-tree descent instead of a get and a put: NOOVERWRITE
		 * finds a recorded id and hands back its expiry. */
		v.mv_data = &e;
		v.mv_size = sizeof(e);
		if ((r = mdb_put(txn, rc->dbi, &k, &v, MDB_NOOVERWRITE)) == MDB_KEYEXIST) {
			if (expiry_of(&v) >= now) {
				mdb_txn_abort(txn);
				return HIE_EREPLAY;
			}
			/* Seen, but long enough ago: recorded again. */
			v.mv_data = &e;
			v.mv_size = sizeof(e);
			r = mdb_put(txn, rc->dbi, &k, &v, 0);
		} else if (r == 0) {
			entries++;
		}
		if (r != 0) {
			mdb_txn_abort(txn);
			return HIE_EDB;
		}
	}
	return mdb_txn_commit(txn) == 0 ? HIE_OK : HIE_EDB;
}
