/*
 * node/import.c -- `hie-node import -c FILE doc.xml... | DIR`: registers
 * existing C-CDA documents, metadata derived from each document's header.
 * One line per file; exit 0 only if every file was imported.
 *
 * The document's patient (recordTarget) is also registered in the MPI when
 * no record there has its id yet: an imported document is the patient
 * identity feed for records that arrive without ADT, and the registry
 * (require_known_patient) only takes submissions for known patients.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/daemon.h"
#include "node/store.h"

/* One sourcePatientInfo field ("PID-n|value") component: the k-th
 * '^'-separated part of value into out. */
static void
spi_part(const char *value, int k, char *out, size_t cap)
{
	size_t n;

	for (; k > 0 && value != NULL; k--)
		if ((value = strchr(value, '^')) != NULL)
			value++;
	out[0] = '\0';
	if (value == NULL)
		return;
	n = strcspn(value, "^");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, value, n);
	out[n] = '\0';
}

/* The patient of an imported document (its sourcePatientInfo lines, see
 * registry/ccda.c) into the MPI, unless its id is known there already.
 * Prints one line; returns 0 when the MPI refused the record. */
static int
feed_mpi(mpi *m, const struct reg_entry *e)
{
	struct mpi_patient *p;
	struct mpi_result   res;
	struct mpi_cx       cx;
	uint64_t            eid;
	size_t              n;
	char                spi[sizeof(e->source_patient_info)];
	hie_err             err;

	if (mpi_cx_parse(e->patient_id, &cx) != HIE_OK)
		return 0;
	err = mpi_lookup_id(m, &cx, &eid, NULL, 0, &n);
	if (err == HIE_OK || err == HIE_EAMBIGUOUS)
		return 1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return 0;
	hie_strlcpy(p->source, "import", sizeof(p->source));
	p->ids[0].cx = cx;
	hie_strlcpy(p->ids[0].type, "MR", sizeof(p->ids[0].type));
	p->n_ids = 1;
	memcpy(spi, e->source_patient_info, sizeof(spi));
	for (char *save = NULL, *l = strtok_r(spi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *v = strchr(l, '|');
		if (v == NULL)
			continue;
		v++;
		if (strncmp(l, "PID-5|", 6) == 0) {
			spi_part(v, 0, p->names[0].family, sizeof(p->names[0].family));
			spi_part(v, 1, p->names[0].given, sizeof(p->names[0].given));
			hie_strlcpy(p->names[0].use, "L", sizeof(p->names[0].use));
			p->n_names = 1;
		} else if (strncmp(l, "PID-7|", 6) == 0) {
			hie_strlcpy(p->birth_date, v, sizeof(p->birth_date));
		} else if (strncmp(l, "PID-8|", 6) == 0) {
			p->sex = strchr("MFOU", v[0]) != NULL && v[1] == '\0' ? v[0] : 'U';
		} else if (strncmp(l, "PID-11|", 7) == 0) {
			spi_part(v, 0, p->addrs[0].street, sizeof(p->addrs[0].street));
			spi_part(v, 2, p->addrs[0].city, sizeof(p->addrs[0].city));
			spi_part(v, 3, p->addrs[0].state, sizeof(p->addrs[0].state));
			spi_part(v, 4, p->addrs[0].postcode, sizeof(p->addrs[0].postcode));
			spi_part(v, 5, p->addrs[0].country, sizeof(p->addrs[0].country));
			hie_strlcpy(p->addrs[0].use, "H", sizeof(p->addrs[0].use));
			p->n_addrs = 1;
		}
	}
	err = mpi_add(m, p, 0, &res);
	if (err == HIE_OK)
		printf("patient %s %s eid=%llu\n", e->patient_id, mpi_outcome_name(res.outcome),
		    (unsigned long long) res.eid);
	else
		printf("patient %s refused by the MPI: %s%s%s\n", e->patient_id, hie_strerror(err),
		    res.why[0] ? ": " : "", res.why);
	free(p);
	return err == HIE_OK;
}

static int
import_file(reg *r, mpi *m, const struct node_config *cfg, const struct hie_xml_limits *lim, const char *path)
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
	/* The patient first: a document must not be registered for a patient
	 * the MPI refused. */
	if (err == HIE_OK && !feed_mpi(m, &e)) {
		snprintf(why, sizeof(why), "the MPI refused the document's patient");
		err = HIE_EMETADATA;
	}
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
import_dir(reg *r, mpi *m, const struct node_config *cfg, const struct hie_xml_limits *lim, const char *dir, int *failed)
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
			if (!import_file(r, m, cfg, lim, path))
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
	mpi                  *m;
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
	if ((e = mpi_open(env, &m)) != HIE_OK) {
		fprintf(stderr, "hie-node import: MPI: %s\n", hie_strerror(e));
		reg_close(r);
		hie_store_close(env);
		return 1;
	}
	for (i = 3; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			import_dir(r, m, &cfg, &lim, argv[i], &failed);
		else if (!import_file(r, m, &cfg, &lim, argv[i]))
			failed++;
	}
	mpi_close(m);
	reg_close(r);
	hie_store_close(env);
	hie_xml_shutdown();
	return failed == 0 ? 0 : 1;
}
