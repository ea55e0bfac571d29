/*
 * tests/unit/lmdb_fill.c -- `lmdb_fill DATA_DIR MAP_MB fill|clear`: fills a
 * node's LMDB environment to its map size with a scratch database (as a
 * full disk would leave it), or drops that database again.  For the
 * fail-closed audit test (tests/audit_node.sh): another process, the real
 * file, no mocks.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/store.h"

int
main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi  dbi;
	size_t   chunk = 1 << 20, n = 0;
	char    *junk;

	if (argc != 4 || (strcmp(argv[3], "fill") != 0 && strcmp(argv[3], "clear") != 0)) {
		fprintf(stderr, "usage: lmdb_fill DATA_DIR MAP_MB fill|clear\n");
		return 2;
	}
	if (hie_store_open(argv[1], (size_t) strtoul(argv[2], NULL, 10), &env) != HIE_OK)
		return 1;
	if (mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, "filler", MDB_CREATE, &dbi) != 0 ||
	    mdb_txn_commit(txn) != 0)
		return 1;
	if (strcmp(argv[3], "clear") == 0) {
		int rc = mdb_txn_begin(env, NULL, 0, &txn);
		if (rc == 0 && (rc = mdb_drop(txn, dbi, 0)) == 0)
			rc = mdb_txn_commit(txn);
		hie_store_close(env);
		return rc == 0 ? 0 : 1;
	}
	if ((junk = calloc(1, chunk)) == NULL)
		return 1;
	/* Largest pieces first, then smaller ones into what is left. */
	while (chunk >= 64) {
		MDB_val k = { sizeof(n), &n }, v = { chunk, junk };
		int     rc;
		if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
			break;
		rc = mdb_put(txn, dbi, &k, &v, 0);
		rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
		if (rc == 0)
			n++;
		else if (rc == MDB_MAP_FULL)
			chunk /= 2;
		else
			break;
	}
	printf("filled with %zu records\n", n);
	free(junk);
	hie_store_close(env);
	return 0;
}
