/*
 * node/auditcli.c -- `hie-node audit verify|list|disclosures -c FILE`:
 * checks the audit trail's hash chain (exit 0 intact, 1 with the first bad
 * record), prints its records as JSON lines or as ATNA audit messages
 * (--atna, one XML document per line), or lists a patient's disclosures.
 * Safe while the node runs (LMDB readers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/atna.h"
#include "node/daemon.h"
#include "node/store.h"

static const char usage[] = "usage: hie-node audit verify -c FILE\n"
                            "       hie-node audit list -c FILE [-n LAST] [--atna]\n"
                            "       hie-node audit disclosures -c FILE --patient ID [--since YYYY-MM-DD] [--json]\n";

struct atna_walk {
	const struct node_config *cfg;
	uint64_t                  first; /* print from this sequence number */
	size_t                    bad;
};

static hie_err
print_atna(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct atna_walk *w = arg;
	hie_buf           b;

	if (seq < w->first)
		return HIE_OK;
	hie_buf_init(&b, 1 << 20);
	if (audit_atna(json, len, w->cfg->name, w->cfg->community, &b) == HIE_OK) {
		printf("%s\n", b.data);
	} else {
		fprintf(stderr, "hie-node audit: record %llu cannot be rendered as ATNA\n", (unsigned long long) seq);
		w->bad++;
	}
	hie_buf_free(&b);
	return HIE_OK;
}

static hie_err
count_records(void *arg, uint64_t seq, const char *json, size_t len)
{
	(void) json;
	(void) len;
	*(uint64_t *) arg = seq;
	return HIE_OK;
}

int
node_cmd_audit(int argc, char **argv)
{
	struct node_config cfg;
	MDB_env           *env;
	const char        *patient = NULL, *since = NULL;
	size_t             last = 0;
	int                atna = 0, json = 0, rc = 1;
	hie_err            e;

	if (argc < 4 || strcmp(argv[2], "-c") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[1], "list") == 0 && strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			last = (size_t) strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[1], "list") == 0 && strcmp(argv[i], "--atna") == 0)
			atna = 1;
		else if (strcmp(argv[1], "disclosures") == 0 && strcmp(argv[i], "--patient") == 0 && i + 1 < argc)
			patient = argv[++i];
		else if (strcmp(argv[1], "disclosures") == 0 && strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			since = argv[++i];
		else if (strcmp(argv[1], "disclosures") == 0 && strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if ((strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "list") != 0 && strcmp(argv[1], "disclosures") != 0) ||
	    (strcmp(argv[1], "disclosures") == 0 && patient == NULL)) {
		fputs(usage, stderr);
		return 2;
	}
	if (since != NULL && (strlen(since) != 10 || since[4] != '-' || since[7] != '-')) {
		fprintf(stderr, "hie-node audit: --since must be YYYY-MM-DD\n");
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
	} else if (strcmp(argv[1], "disclosures") == 0) {
		size_t count;
		e = audit_disclosures(env, patient, since, json, stdout, &count);
		if (e != HIE_OK)
			fprintf(stderr, "hie-node audit: %s\n", hie_strerror(e));
		else
			fprintf(stderr, "%zu disclosures\n", count);
		rc = e == HIE_OK ? 0 : 1;
	} else if (atna) {
		struct atna_walk w = { &cfg, 1, 0 };
		uint64_t         top = 0;
		if (last > 0 && audit_each(env, 1, count_records, &top, NULL) == HIE_OK && top >= last)
			w.first = top - last + 1;
		e = audit_each(env, w.first, print_atna, &w, NULL);
		rc = e == HIE_OK && w.bad == 0 ? 0 : 1;
	} else {
		rc = audit_list(env, last, stdout) == HIE_OK ? 0 : 1;
	}
	hie_store_close(env);
	return rc;
}
