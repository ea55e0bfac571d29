/*
 * tests/bench/bench_registry.c -- the registry in process: register
 * ENTRIES DocumentEntries for PATIENTS patients (synthetic metadata, 2 kB
 * documents) in batches of real, durable transactions, then run FindDocuments
 * for random patients and print rates and latency percentiles.
 *   bench_registry DIR ENTRIES PATIENTS QUERIES [put|submit|none]
 * put (default): one reg_put (one durable transaction) per document.
 * submit: one reg_submit per patient -- a SubmissionSet, its ENTRIES/PATIENTS
 * DocumentEntries (BENCH_DOC_BYTES each, default 2048) and their HasMember
 * associations, as ITI-41 stores them; BENCH_NOSYNC=1 loads with LMDB's
 * MDB_NOSYNC and one mdb_env_sync at the end (a bulk load, said in the output).
 * none: query an existing DIR.  Queries run reg_find_documents, then
 * reg_sq_answer on a FindDocuments AdhocQueryRequest (response serialised).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "node/soap.h"
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

/* One reg_submit per patient: SS + k documents + k HasMember. */
static int
load_submit(reg *r, long entries, long patients, size_t doc_bytes)
{
	long              k = entries / patients;
	struct reg_doc   *docs = calloc((size_t) k, sizeof(*docs));
	struct reg_assoc *as = calloc((size_t) k, sizeof(*as));
	char             *bytes = malloc((size_t) k * doc_bytes);

	if (docs == NULL || as == NULL || bytes == NULL)
		return -1;
	memset(bytes, 'x', (size_t) k * doc_bytes);
	for (long p = 0; p < patients; p++) {
		struct reg_submission sub;
		struct reg_error      err;
		char                  pid[256];
		hie_err               e;

		snprintf(pid, sizeof(pid), "P%ld^^^&1.3.6.1.4.1.21367.13.20.3000&ISO", p);
		memset(&sub, 0, sizeof(sub));
		snprintf(sub.ss.entry_uuid, sizeof(sub.ss.entry_uuid), "SubmissionSet01");
		snprintf(sub.ss.unique_id, sizeof(sub.ss.unique_id), "2.25.7654321.%ld", p);
		strcpy(sub.ss.source_id, "1.3.6.1.4.1.21367.13.20.3000");
		strcpy(sub.ss.patient_id, pid);
		strcpy(sub.ss.submission_time, "20261125120000");
		strcpy(sub.ss.content_type_code, "34133-9");
		strcpy(sub.ss.content_type_scheme, "2.16.840.1.113883.6.1");
		for (long j = 0; j < k; j++) {
			long              i = p * k + j;
			struct reg_entry *e2 = &docs[j].e;
			char             *b = bytes + j * doc_bytes;
			memset(e2, 0, sizeof(*e2));
			snprintf(b, 64, "<doc n='%ld'/>", i);
			docs[j].bytes = b;
			docs[j].len = doc_bytes;
			snprintf(e2->entry_uuid, sizeof(e2->entry_uuid), "Document%ld", j);
			snprintf(e2->unique_id, sizeof(e2->unique_id), "2.25.1234567.%ld", i);
			strcpy(e2->patient_id, pid);
			strcpy(e2->repository_id, "1.3.6.1.4.1.21367.13.20.3000.1");
			strcpy(e2->type_code, types[i % 6]);
			strcpy(e2->type_scheme, "2.16.840.1.113883.6.1");
			strcpy(e2->class_code, e2->type_code);
			strcpy(e2->class_scheme, "2.16.840.1.113883.6.1");
			strcpy(e2->confidentiality, "N");
			strcpy(e2->format_code, "urn:hl7-org:sdwg:ccda-structuredBody:2.1");
			strcpy(e2->format_scheme, "1.3.6.1.4.1.19376.1.2.3");
			snprintf(e2->creation_time, sizeof(e2->creation_time), "2026%02ld%02ld120000", 1 + i % 12, 1 + i % 28);
			strcpy(e2->title, "Synthetic document");
			strcpy(e2->mime_type, "text/xml");
			hie_sha1_hex(b, doc_bytes, e2->hash);
			e2->size = doc_bytes;
			memset(&as[j], 0, sizeof(as[j]));
			snprintf(as[j].entry_uuid, sizeof(as[j].entry_uuid), "as%ld", j);
			strcpy(as[j].type, reg_assoc_urn(REG_AS_HASMEMBER));
			strcpy(as[j].source, "SubmissionSet01");
			strcpy(as[j].target, e2->entry_uuid);
			strcpy(as[j].ss_status, "Original");
		}
		sub.docs = docs;
		sub.n_docs = (size_t) k;
		sub.assocs = as;
		sub.n_assocs = (size_t) k;
		if ((e = reg_submit(r, &sub, &err)) != HIE_OK) {
			fprintf(stderr, "submit %ld failed: %s %s (%s)\n", p, hie_strerror(e), err.code ? err.code : "",
			    err.context);
			return -1;
		}
	}
	free(docs);
	free(as);
	free(bytes);
	return 0;
}

/* reg_sq_answer on a FindDocuments request for random patients: parse of
 * the request excluded, answer and its serialisation included. */
static void
bench_sq(reg *r, long patients, long queries, double *lat)
{
	size_t  objs = 0;
	double  t0 = now_ms();

	srand(43);
	for (long i = 0; i < queries; i++) {
		struct reg_query   q;
		struct reg_error   err;
		struct reg_sq_opts o = { NULL, 1000 };
		xmlDoc            *req, *resp;
		xmlNode           *body, *rbody;
		char               patient[256], *out;
		size_t             len;
		double             s;

		memset(&q, 0, sizeof(q));
		snprintf(q.patient_id, sizeof(q.patient_id), "P%d^^^&1.3.6.1.4.1.21367.13.20.3000&ISO", rand() % (int) patients);
		q.approved_only = 1;
		soap_envelope_new(SOAP_ACTION_ITI18, NULL, NULL, &req, &body, NULL);
		reg_ebrim_query_build(body, &q, NULL);
		soap_envelope_new(SOAP_ACTION_ITI18_RESP, NULL, NULL, &resp, &rbody, NULL);
		s = now_ms();
		if (reg_sq_answer(r, xmlFirstElementChild(body), rbody, &o, &err, patient) != HIE_OK || err.code != NULL) {
			fprintf(stderr, "sq failed: %s\n", err.code ? err.code : "?");
			exit(1);
		}
		hie_xml_dump(resp, &out, &len);
		lat[i] = now_ms() - s;
		objs += len;
		free(out);
		xmlFreeDoc(req);
		xmlFreeDoc(resp);
	}
	qsort(lat, (size_t) queries, sizeof(*lat), cmp);
	printf("stored-query FindDocuments (reg_sq_answer + XML out): queries=%ld bytes/answer=%.0f rate=%.0f/s "
	       "p50=%.3fms p99=%.3fms max=%.3fms\n",
	    queries, (double) objs / queries, queries / ((now_ms() - t0) / 1e3), lat[queries / 2],
	    lat[queries * 99 / 100], lat[queries - 1]);
}

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

	const char      *mode = argc == 6 ? argv[5] : "put";
	size_t           map_mb = getenv("BENCH_MAP_MB") ? (size_t) atol(getenv("BENCH_MAP_MB")) : 8192;

	if (argc != 5 && argc != 6)
		return fprintf(stderr, "usage: bench_registry DIR ENTRIES PATIENTS QUERIES [put|submit|none]\n"), 2;
	entries = atol(argv[2]);
	patients = atol(argv[3]);
	queries = atol(argv[4]);
	hie_xml_init();
	if (hie_store_open(argv[1], map_mb, &env) != HIE_OK || reg_open(env, &r) != HIE_OK)
		return fprintf(stderr, "cannot open %s\n", argv[1]), 1;
	memset(doc, 'x', sizeof(doc));
	if (strcmp(mode, "submit") == 0) {
		size_t db = getenv("BENCH_DOC_BYTES") ? (size_t) atol(getenv("BENCH_DOC_BYTES")) : 2048;
		int    nosync = getenv("BENCH_NOSYNC") && strcmp(getenv("BENCH_NOSYNC"), "1") == 0;
		if (nosync)
			mdb_env_set_flags(env, MDB_NOSYNC, 1);
		t0 = now_ms();
		if (load_submit(r, entries, patients, db) != 0)
			return 1;
		if (nosync) {
			mdb_env_sync(env, 1);
			mdb_env_set_flags(env, MDB_NOSYNC, 0);
		}
		printf("register: entries=%ld patients=%ld doc=%zu B rate=%.0f entries/s (one reg_submit per patient, "
		       "%ld docs each, %s)\n",
		    entries, patients, db, entries / ((now_ms() - t0) / 1e3), entries / patients,
		    nosync ? "bulk load: MDB_NOSYNC, one sync at the end" : "each one durable transaction");
		entries = 0;
	} else if (strcmp(mode, "none") == 0) {
		entries = 0;
	}
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
	if (entries > 0 && strcmp(mode, "put") == 0)
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
	printf("find-documents (reg_find_documents): queries=%ld docs/query=%.1f rate=%.0f/s p50=%.3fms p99=%.3fms max=%.3fms\n", queries,
	    (double) found / queries, queries / ((now_ms() - t0) / 1e3), lat[queries / 2], lat[queries * 99 / 100],
	    lat[queries - 1]);
	bench_sq(r, patients, queries, lat);
	free(lat);
	reg_close(r);
	hie_store_close(env);
	return 0;
}
