/*
 * node/auditcli.c -- `hie-node audit verify|list -c FILE`: checks the audit
 * trail's hash chain (exit 0 intact, 1 with the first bad record) or prints
 * its records as JSON lines.  Safe while the node runs (LMDB readers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"
#include "node/store.h"

int
node_cmd_audit(int argc, char **argv)
{
	struct node_config cfg;
	MDB_env           *env;
	hie_err            e;
	int                rc = 1;

	if (argc < 4 || strcmp(argv[2], "-c") != 0 || (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "list") != 0) ||
	    (strcmp(argv[1], "list") == 0 && argc != 4 && argc != 6) || (strcmp(argv[1], "verify") == 0 && argc != 4)) {
		fprintf(stderr, "usage: hie-node audit verify -c FILE\n       hie-node audit list -c FILE [-n LAST]\n");
		return 2;
	}
	if (node_config_load(argv[3], &cfg, stderr) != HIE_OK)
		return 1;
	if ((e = hie_store_open(cfg.data_dir, cfg.map_size_mb, &env)) != HIE_OK) {
		fprintf(stderr, "hie-node audit: data_dir %s: %s\n", cfg.data_dir, hie_strerror(e));
		return 1;
	}
	if (strcmp(argv[1], "verify") == 0) {
		uint64_t n, bad;
		char     why[256];
		e = audit_verify(env, &n, &bad, why, sizeof(why));
		if (e == HIE_OK) {
			printf("audit trail intact: %llu records\n", (unsigned long long) n);
			rc = 0;
		} else {
			printf("audit trail broken at record %llu: %s (%llu records before it are intact)\n",
			    (unsigned long long) bad, why, (unsigned long long) n);
		}
	} else {
		size_t last = argc == 6 && strcmp(argv[4], "-n") == 0 ? (size_t) strtoul(argv[5], NULL, 10) : 0;
		rc = audit_list(env, last, stdout) == HIE_OK ? 0 : 1;
	}
	hie_store_close(env);
	return rc;
}
