/*
 * node/import.c -- `hie-node import -c FILE doc.xml... | DIR`: registers
 * existing C-CDA documents, metadata derived from each document's header.
 * One line per file; exit 0 only if every file was imported.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/daemon.h"
#include "node/store.h"

static int
import_file(reg *r, const struct node_config *cfg, const struct hie_xml_limits *lim, const char *path)
{
	struct reg_entry e;
	char            *buf;
	size_t           len;
	char             why[256];
	hie_err          err;

	if ((err = hie_read_file(path, (size_t) cfg->max_message_bytes, &buf, &len)) != HIE_OK) {
		printf("rejected %s: %s\n", path, hie_strerror(err));
		return 0;
	}
	err = reg_ccda_extract(buf, len, lim, cfg->repository_id, &e, why, sizeof(why));
	if (err == HIE_OK) {
		struct reg_error re;
		err = reg_put_err(r, &e, buf, len, &re);
		if (err == HIE_EMETADATA && re.code != NULL)
			snprintf(why, sizeof(why), "%s", re.context);
	}
	free(buf);
	if (err == HIE_EEXIST) {
		printf("unchanged %s %s %s\n", e.unique_id, e.type_code, path);
		return 1;
	}
	if (err != HIE_OK) {
		printf("rejected %s: %s\n", path, err == HIE_EMETADATA && strcmp(why, "ok") != 0 ? why
		                                  : err == HIE_EDUPLICATE ? "uniqueId already registered with other content"
		                                                          : hie_strerror(err));
		return 0;
	}
	printf("imported %s %s %s\n", e.unique_id, e.type_code, path);
	return 1;
}

static int
import_dir(reg *r, const struct node_config *cfg, const struct hie_xml_limits *lim, const char *dir, int *failed)
{
	struct dirent **names;
	int             n = scandir(dir, &names, NULL, alphasort), count = 0;

	if (n < 0) {
		printf("rejected %s: cannot read directory\n", dir);
		(*failed)++;
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t      l = strlen(nm);
		char        path[4096];
		if (l > 4 && strcmp(nm + l - 4, ".xml") == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, nm);
			if (!import_file(r, cfg, lim, path))
				(*failed)++;
			count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int
node_cmd_import(int argc, char **argv)
{
	struct node_config    cfg;
	struct hie_xml_limits lim;
	MDB_env              *env;
	reg                  *r;
	hie_err               e;
	int                   failed = 0, i;

	if (argc < 4 || strcmp(argv[1], "-c") != 0) {
		fprintf(stderr, "usage: hie-node import -c FILE doc.xml... | DIR\n");
		return 2;
	}
	if (node_config_load(argv[2], &cfg, stderr) != HIE_OK)
		return 1;
	node_config_xml_limits(&cfg, &lim);
	hie_xml_init();
	/* LMDB is multi-process: importing while the node runs is safe. */
	if ((e = hie_store_open(cfg.data_dir, cfg.map_size_mb, &env)) != HIE_OK) {
		fprintf(stderr, "hie-node import: data_dir %s: %s\n", cfg.data_dir, hie_strerror(e));
		return 1;
	}
	if ((e = reg_open(env, &r)) != HIE_OK) {
		fprintf(stderr, "hie-node import: registry: %s\n", hie_strerror(e));
		hie_store_close(env);
		return 1;
	}
	for (i = 3; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			import_dir(r, &cfg, &lim, argv[i], &failed);
		else if (!import_file(r, &cfg, &lim, argv[i]))
			failed++;
	}
	reg_close(r);
	hie_store_close(env);
	hie_xml_shutdown();
	return failed == 0 ? 0 : 1;
}
