/*
 * tests/bench/bench_registry.c -- the registry in process: register
 * ENTRIES DocumentEntries for PATIENTS patients (synthetic metadata, 2 kB
 * documents) in batches of real, durable transactions, then run FindDocuments
 * for random patients and print rates and latency percentiles.
 *   bench_registry DIR ENTRIES PATIENTS QUERIES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "node/store.h"
#include "registry/registry.h"

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static const char *types[] = { "34133-9", "18842-5", "57133-1", "52521-2", "11506-3", "11488-4" };

int
main(int argc, char **argv)
{
	MDB_env         *env;
	reg             *r;
	struct reg_entry e;
	char             doc[2048];
	long             entries, patients, queries;
	double           t0, *lat;
	size_t           found = 0;
	struct stat      sb;
	char             path[4096];

	if (argc != 5)
		return fprintf(stderr, "usage: bench_registry DIR ENTRIES PATIENTS QUERIES\n"), 2;
	entries = atol(argv[2]);
	patients = atol(argv[3]);
	queries = atol(argv[4]);
	if (hie_store_open(argv[1], 8192, &env) != HIE_OK || reg_open(env, &r) != HIE_OK)
		return fprintf(stderr, "cannot open %s\n", argv[1]), 1;
	memset(doc, 'x', sizeof(doc));
	t0 = now_ms();
	for (long i = 0; i < entries; i++) {
		memset(&e, 0, sizeof(e));
		snprintf(doc, 64, "<doc n='%ld'/>", i); /* distinct bytes, distinct hash */
		snprintf(e.unique_id, sizeof(e.unique_id), "2.25.1234567.%ld", i);
		snprintf(e.patient_id, sizeof(e.patient_id), "P%ld^^^&1.3.6.1.4.1.21367.13.20.3000&ISO", i % patients);
		strcpy(e.repository_id, "1.3.6.1.4.1.21367.13.20.3000.1");
		strcpy(e.type_code, types[i % 6]);
		strcpy(e.type_scheme, "2.16.840.1.113883.6.1");
		strcpy(e.class_code, e.type_code);
		strcpy(e.confidentiality, "N");
		strcpy(e.format_code, "urn:hl7-org:sdwg:ccda-structuredBody:2.1");
		snprintf(e.creation_time, sizeof(e.creation_time), "2026%02ld%02ld120000", 1 + i % 12, 1 + i % 28);
		strcpy(e.title, "Synthetic document");
		strcpy(e.mime_type, "text/xml");
		if (reg_put(r, &e, doc, sizeof(doc)) != HIE_OK)
			return fprintf(stderr, "put %ld failed\n", i), 1;
	}
	if (entries > 0)
		printf("register: entries=%ld patients=%ld rate=%.0f/s (one durable transaction each)\n", entries, patients,
		    entries / ((now_ms() - t0) / 1e3));
	snprintf(path, sizeof(path), "%s/data.mdb", argv[1]);
	if (stat(path, &sb) == 0)
		printf("lmdb size: %.1f MiB\n", sb.st_size / 1048576.0);
	lat = calloc((size_t) queries, sizeof(*lat));
	srand(42);
	t0 = now_ms();
	for (long i = 0; i < queries; i++) {
		struct reg_query  q;
		struct reg_result res;
		double            s = now_ms();
		memset(&q, 0, sizeof(q));
		snprintf(q.patient_id, sizeof(q.patient_id), "P%d^^^&1.3.6.1.4.1.21367.13.20.3000&ISO", rand() % (int) patients);
		q.approved_only = 1;
		q.max_results = 1000;
		if (reg_find_documents(r, &q, &res) != HIE_OK)
			return fprintf(stderr, "find failed\n"), 1;
		found += res.n;
		reg_result_free(&res);
		lat[i] = now_ms() - s;
	}
	qsort(lat, (size_t) queries, sizeof(*lat), cmp);
	printf("find-documents: queries=%ld docs/query=%.1f rate=%.0f/s p50=%.3fms p99=%.3fms max=%.3fms\n", queries,
	    (double) found / queries, queries / ((now_ms() - t0) / 1e3), lat[queries / 2], lat[queries * 99 / 100],
	    lat[queries - 1]);
	free(lat);
	reg_close(r);
	hie_store_close(env);
	return 0;
}
