/*
 * tests/bench/bench_audit.c -- audit records appended per second (queued
 * and group-committed, synced), and what auditing adds to answering an
 * ITI-38 request in process (same requests with and without a record, and
 * with consent checked as well), and ATNA rendering per second.
 *   bench_audit DIR RECORDS QUERIES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/atna.h"
#include "node/audit.h"
#include "node/consent.h"
#include "node/soap.h"
#include "node/store.h"
#include "xca/xca.h"

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const struct audit_event ev = { .event = "ITI-38", .role = "responder", .outcome = AUDIT_SUCCESS,
	.rid = "0123456789abcdef0123456789abcdef", .source = "urn:oid:1.3.6.1.4.1.21367.13.20.1000",
	.user = "Dr. Anna Lee", .role_code = "112247003", .purpose = "TREATMENT",
	.patient = "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO" };

static hie_err
render(void *arg, uint64_t seq, const char *json, size_t len)
{
	hie_buf b;
	(void) seq;
	hie_buf_init(&b, 1 << 20);
	if (audit_atna(json, len, "bench", "urn:oid:1.3.6.1.4.1.21367.13.20.2000", &b) == HIE_OK)
		(*(long *) arg)++;
	hie_buf_free(&b);
	return HIE_OK;
}

int
main(int argc, char **argv)
{
	MDB_env             *env;
	audit_log           *a;
	struct xca_responder r;
	struct reg_query     q;
	xmlDoc              *doc;
	xmlNode             *body;
	char                *req, *resp;
	size_t               len, rlen;
	long                 records, queries;
	double               t0, secs[3];
	consent             *cons;
	struct consent_defaults def = { CONSENT_PERMIT, 1 };

	if (argc != 4)
		return fprintf(stderr, "usage: bench_audit DIR RECORDS QUERIES\n"), 2;
	records = atol(argv[2]);
	queries = atol(argv[3]);
	hie_log_set_level(HIE_LOG_ERR);
	hie_xml_init();
	if (hie_store_open(argv[1], 4096, &env) != HIE_OK || audit_open(env, &a) != HIE_OK)
		return 1;
	t0 = now_ms();
	for (long i = 0; i < records; i++)
		while (audit_record(a, &ev) == HIE_EBUSY)
			; /* queue full: the writer catches up */
	audit_close(a); /* waits until everything is on disk */
	printf("audit: records=%ld appended=%.0f/s (synced group commits, hash chained)\n", records,
	    records / ((now_ms() - t0) / 1e3));

	/* Rendering stored records as ATNA (hie-node audit list --atna, the
	 * syslog form). */
	{
		long rendered = 0;
		t0 = now_ms();
		audit_each(env, 1, render, &rendered, NULL);
		printf("atna: rendered=%ld %.0f/s\n", rendered, rendered / ((now_ms() - t0) / 1e3));
	}

	/* ITI-38 in process: without the audit record, with it (as the daemon
	 * writes it: query and documents), and with consent checked too. */
	memset(&r, 0, sizeof(r));
	r.home = "urn:oid:1.3.6.1.4.1.21367.13.20.2000";
	r.repository_id = "1.3.6.1.4.1.21367.13.20.2000.1";
	r.lim = hie_xml_default_limits;
	r.max_results = 100;
	r.allow_unsigned = 1;
	if (reg_open(env, &r.reg) != HIE_OK || audit_open(env, &a) != HIE_OK || consent_open(env, &def, &cons) != HIE_OK)
		return 1;
	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO");
	q.approved_only = 1;
	soap_envelope_new(SOAP_ACTION_ITI38, "tls+tcp://x:1", NULL, &doc, &body, NULL);
	reg_ebrim_query_build(body, &q, r.home);
	hie_xml_dump(doc, &req, &len);
	xmlFreeDoc(doc);
	for (int with = 0; with < 3; with++) {
		r.consent = with == 2 ? cons : NULL;
		t0 = now_ms();
		for (long i = 0; i < queries; i++) {
			struct xca_outcome out;
			struct audit_event e = ev;
			xca_respond(&r, req, len, "bench", &resp, &rlen, &out);
			free(resp);
			e.query = out.query;
			e.documents = out.documents;
			if (with)
				while (audit_record(a, &e) == HIE_EBUSY)
					;
		}
		secs[with] = (now_ms() - t0) / 1e3;
	}
	audit_close(a);
	printf("ITI-38 in process (unsigned, empty registry): %.0f/s without audit, %.0f/s with: "
	       "auditing costs %.1f us per request\n",
	    queries / secs[0], queries / secs[1], (secs[1] - secs[0]) * 1e6 / queries);
	printf("ITI-38 in process with audit and consent: %.0f/s: consent adds %.1f us per request\n",
	    queries / secs[2], (secs[2] - secs[1]) * 1e6 / queries);
	consent_close(cons);
	free(req);
	return 0;
}
