/*
 * tests/bench/bench_xcpd.c -- how fast the responder answers ITI-55 (the
 * fan-out asks every peer before ITI-38, so this is on the clinician's
 * path).  Usage: bench_xcpd CA_DIR NODE_DIR REQ_DIR RECORDS QUERIES
 *
 * Loads RECORDS synthetic patients (no matching, one enterprise id each)
 * into an MPI in a scratch LMDB, then answers QUERIES ITI-55 requests,
 * each describing one stored patient (name, birth date, sex, postcode; no
 * identifier, so the demographic search runs), twice:
 *   answer  xca_respond without WS-Security (v3 parse, mpi_search, v3 build)
 *   signed  the node's path: request signature and assertion verified,
 *           response signed (requests pre-signed; no replay cache)
 * and prints p50/p99/max latency and answers/s (one thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi/v3.h"
#include "node/soap.h"
#include "node/store.h"
#include "xca/xca.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t) (rng >> 11);
}

/* A pronounceable name of 2-3 syllables, upper-case first letter. */
static void
name(char *out, size_t cap)
{
	static const char *const syl[] = { "ka", "lo", "mi", "ren", "sa", "to", "vel", "an", "bri", "cor", "da", "el",
		"fin", "gar", "hol", "is", "jun", "ker", "lin", "mar", "nor", "os", "per", "quin", "ros", "sel", "tur",
		"ul", "van", "wen", "yor", "zel" };
	int n = 2 + (int) (rnd() % 2);
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		strncat(out, syl[rnd() % (sizeof(syl) / sizeof(syl[0]))], cap - strlen(out) - 1);
	out[0] = (char) (out[0] - 'a' + 'A');
}

static void
person(struct mpi_patient *p, uint64_t i)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->source, "bench");
	p->n_names = 1;
	strcpy(p->names[0].use, "L");
	name(p->names[0].given, sizeof(p->names[0].given));
	name(p->names[0].family, sizeof(p->names[0].family));
	snprintf(p->birth_date, sizeof(p->birth_date), "%04u%02u%02u", 1930 + rnd() % 90, 1 + rnd() % 12, 1 + rnd() % 28);
	p->sex = rnd() % 2 ? 'F' : 'M';
	p->n_addrs = 1;
	snprintf(p->addrs[0].postcode, sizeof(p->addrs[0].postcode), "%05u", 10000 + rnd() % 90000);
	p->n_ids = 1;
	strcpy(p->ids[0].type, "MR");
	snprintf(p->ids[0].cx.id, sizeof(p->ids[0].cx.id), "P%llu", (unsigned long long) i);
	strcpy(p->ids[0].cx.authority, "1.2.3.2");
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

static char *
slurp(const char *dir, const char *file)
{
	char   p[1024], *b;
	size_t n;
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if (hie_read_file(p, 1 << 20, &b, &n) != HIE_OK) {
		fprintf(stderr, "cannot read %s\n", p);
		exit(1);
	}
	return b;
}

static void
report(const char *what, int64_t *us, size_t n, int64_t total_us, size_t matched, size_t ambiguous)
{
	qsort(us, n, sizeof(*us), cmp64);
	printf("%s: %zu ITI-55 answers, p50 %.3f ms, p99 %.3f ms, max %.3f ms, %.0f answers/s (1 thread), %zu matched, %zu ambiguous\n",
	    what, n, us[n / 2] / 1000.0, us[n * 99 / 100] / 1000.0, us[n - 1] / 1000.0, n * 1e6 / (double) total_us,
	    matched, ambiguous);
}

int
main(int argc, char **argv)
{
	char                 tmpl[] = "/tmp/hie-bench-xcpd-XXXXXX", *ca, *crt, *key;
	size_t               records, queries;
	MDB_env             *env;
	mpi                 *m;
	struct mpi_patient  *batch;
	struct mpi_result   *res;
	struct xca_responder r;
	wss_signer          *signer, *requester;
	wss_verifier        *verifier;
	char               **plain, **signed_req;
	size_t              *plen, *slen;
	int64_t             *us, t0;
	const struct wss_claims claims = { .subject_id = "Dr. Bench", .subject_role = "112247003",
		.organization = "bench", .organization_id = "urn:oid:1.2.3.1", .home_community = "urn:oid:1.2.3.1",
		.purpose_of_use = "TREATMENT" };

	if (argc != 6 || (records = strtoul(argv[4], NULL, 10)) == 0 || (queries = strtoul(argv[5], NULL, 10)) == 0) {
		fprintf(stderr, "usage: bench_xcpd CA_DIR NODE_DIR REQ_DIR RECORDS QUERIES\n");
		return 2;
	}
	hie_xml_init();
	hie_log_set_level(HIE_LOG_WARN);
	if (mkdtemp(tmpl) == NULL || hie_store_open(tmpl, 4096, &env) != HIE_OK || mpi_open(env, &m) != HIE_OK) {
		fprintf(stderr, "cannot open a scratch MPI in %s\n", tmpl);
		return 1;
	}
	batch = calloc(10000, sizeof(*batch));
	res = calloc(10000, sizeof(*res));
	plain = calloc(queries, sizeof(*plain));
	signed_req = calloc(queries, sizeof(*signed_req));
	plen = calloc(queries, sizeof(*plen));
	slen = calloc(queries, sizeof(*slen));
	us = calloc(queries, sizeof(*us));
	t0 = hie_now_ms();
	/* Query i describes record number (i * stride) % records: keep those
	 * demographics as they are generated. */
	{
		struct mpi_patient *want = calloc(queries, sizeof(*want));
		size_t              stride = records / queries ? records / queries : 1;
		for (size_t i = 0; i < records;) {
			size_t k = 0;
			for (; k < 10000 && i < records; k++, i++) {
				person(&batch[k], i);
				if (i % stride == 0 && i / stride < queries)
					want[i / stride] = batch[k];
			}
			if (mpi_add_batch(m, batch, k, MPI_ADD_NOMATCH, res) != HIE_OK) {
				fprintf(stderr, "load failed\n");
				return 1;
			}
		}
		printf("loaded %zu synthetic patients in %lld ms\n", records, (long long) (hie_now_ms() - t0));
		ca = slurp(argv[1], "ca.crt");
		crt = slurp(argv[2], "node.crt");
		key = slurp(argv[2], "node.key");
		if (wss_signer_new(crt, key, &signer) != HIE_OK) {
			fprintf(stderr, "bad node key/certificate\n");
			return 1;
		}
		free(crt), free(key);
		crt = slurp(argv[3], "node.crt");
		key = slurp(argv[3], "node.key");
		if (wss_signer_new(crt, key, &requester) != HIE_OK) {
			fprintf(stderr, "bad requester key/certificate\n");
			return 1;
		}
		{
			struct wss_verifier_cfg vc = { .ca_pem = ca, .community = "urn:oid:1.2.3.2", .clock_skew_s = 300,
				.max_ttl_s = 3600, .replay = NULL };
			if (wss_verifier_new(&vc, &verifier) != HIE_OK) {
				fprintf(stderr, "bad CA\n");
				return 1;
			}
		}
		for (size_t i = 0; i < queries; i++) {
			xmlDoc  *doc;
			xmlNode *body;
			struct mpi_patient q = want[i];
			q.n_ids = 0; /* demographics only: the search runs */
			soap_envelope_new(V3_ACTION_ITI55, "bench", NULL, &doc, &body, NULL);
			v3_query_build(body, &q, "1.2.3.1", "1.2.3.1", "1.2.3.2", "bench");
			hie_xml_dump(doc, &plain[i], &plen[i]);
			wss_sign_text(requester, doc, &claims, "urn:oid:1.2.3.2", 3600, &signed_req[i], &slen[i]);
			xmlFreeDoc(doc);
		}
		free(want);
	}
	memset(&r, 0, sizeof(r));
	r.home = "urn:oid:1.2.3.2";
	r.repository_id = "1.2.3.2.1";
	r.mpi = m;
	r.lim = hie_xml_default_limits;
	r.max_results = 100;
	r.ttl_s = 300;
	for (int pass = 0; pass < 2; pass++) {
		size_t matched = 0, ambiguous = 0;
		r.allow_unsigned = pass == 0;
		r.verifier = pass == 0 ? NULL : verifier;
		r.signer = pass == 0 ? NULL : signer;
		t0 = hie_now_ms();
		for (size_t i = 0; i < queries; i++) {
			struct xca_outcome o;
			char              *out;
			size_t             olen;
			{
				struct timespec a, b;
				clock_gettime(CLOCK_MONOTONIC, &a);
				xca_respond(&r, pass == 0 ? plain[i] : signed_req[i], pass == 0 ? plen[i] : slen[i], "b", &out,
				    &olen, &o);
				clock_gettime(CLOCK_MONOTONIC, &b);
				us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
			}
			matched += o.patient[0] != '\0' && strstr(out, "queryResponseCode code=\"OK\"") != NULL;
			ambiguous += strstr(out, "AnswerNotAvailable") != NULL;
			if (pass == 1 && strstr(out, "Fault") != NULL && i == 0)
				fprintf(stderr, "signed request refused: %s\n", o.detail);
			free(out);
		}
		report(pass == 0 ? "answer (no WS-Security)" : "signed (verify + answer + sign)", us, queries,
		    (hie_now_ms() - t0) * 1000, matched, ambiguous);
	}
	for (size_t i = 0; i < queries; i++)
		free(plain[i]), free(signed_req[i]);
	free(plain), free(signed_req), free(plen), free(slen), free(us), free(batch), free(res);
	free(ca), free(crt), free(key);
	wss_signer_free(signer);
	wss_signer_free(requester);
	wss_verifier_free(verifier);
	mpi_close(m);
	hie_store_close(env);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpl);
	}
	hie_xml_shutdown();
	return 0;
}
