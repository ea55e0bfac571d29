/*
 * tests/bench/bench_xds_http.c -- XDS.b over the node's HTTP listener:
 * pre-signs N distinct requests (the node refuses a replayed wsa:MessageID
 * or assertion, so each request is signed once, in process, before the
 * clock starts), then POSTs them from T threads (libcurl, one kept-alive
 * connection per thread) and prints requests/s and latency percentiles.
 *   bench_xds_http URL iti18 N THREADS CLIENT_DIR CLIENT_COMMUNITY AUDIENCE PATIENTS
 *       FindDocuments for random patients P0..P{PATIENTS-1} (bench_registry's)
 *   bench_xds_http URL iti41 N THREADS CLIENT_DIR CLIENT_COMMUNITY AUDIENCE KBYTES
 *       Provide and Register of one KBYTES C-CDA each (inline base64)
 *   bench_xds_http URL iti38 N THREADS CLIENT_DIR CLIENT_COMMUNITY AUDIENCE PATIENT_CX
 *       Cross Gateway Query (FindDocuments) for one patient, to /xca/iti38
 * CLIENT_DIR holds node.crt/node.key of a member of the federation.  A
 * request counts as an error unless HTTP 200 with a Success status.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/soap.h"
#include "node/wss.h"
#include "registry/registry.h"

struct msg {
	char  *xml;
	size_t len;
};

struct worker {
	const char *url;
	struct msg *m;
	int         n;
	double     *lat_ms;
	int         errors;
	char        first_error[512];
};

struct sink {
	char   buf[4096];
	size_t len;
	int    success;
};

static size_t
collect(char *p, size_t s, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t       t = s * n;
	/* Keep a window over chunk boundaries to find the status. */
	for (size_t i = 0; i < t; i++) {
		if (k->len == sizeof(k->buf) - 1) {
			k->buf[k->len] = '\0';
			if (strstr(k->buf, "ResponseStatusType:Success") != NULL)
				k->success = 1;
			memmove(k->buf, k->buf + 2048, k->len - 2048);
			k->len -= 2048;
		}
		k->buf[k->len++] = p[i];
	}
	k->buf[k->len] = '\0';
	if (strstr(k->buf, "ResponseStatusType:Success") != NULL)
		k->success = 1;
	return t;
}

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *
run(void *arg)
{
	struct worker     *w = arg;
	CURL              *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/soap+xml; charset=utf-8");

	curl_easy_setopt(c, CURLOPT_URL, w->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	for (int i = 0; i < w->n; i++) {
		struct sink k = { .len = 0, .success = 0 };
		double      t0 = now_ms();
		long        code = 0;
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, w->m[i].xml);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) w->m[i].len);
		if (curl_easy_perform(c) != CURLE_OK)
			k.success = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200 || !k.success) {
			if (w->errors++ == 0)
				snprintf(w->first_error, sizeof(w->first_error), "HTTP %ld %.400s", code, k.buf);
		}
		w->lat_ms[i] = now_ms() - t0;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static char *
slurp(const char *dir, const char *name)
{
	char   path[4096], *buf;
	size_t n;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (hie_read_file(path, 1 << 20, &buf, &n) != HIE_OK) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	return buf;
}

#define SLOT(n, v) "<rim:Slot name=\"" n "\"><rim:ValueList><rim:Value>" v "</rim:Value></rim:ValueList></rim:Slot>"
#define CLS(scheme, obj, code, coding)                                                                        \
	"<rim:Classification classificationScheme=\"" scheme "\" classifiedObject=\"" obj "\" id=\"cl-" code \
	"-" obj "\" nodeRepresentation=\"" code "\">" SLOT("codingScheme", coding) "</rim:Classification>"

/* An ITI-41 envelope for document i: a KBYTES C-CDA, inline base64. */
static char *
pnr(long i, size_t kbytes, const char *run_id, size_t *len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char              uid[128], pid[128], hash[41], *doc, *b, *x;
	size_t            dlen = kbytes * 1024, blen, cap;
	int               hdr;

	snprintf(uid, sizeof(uid), "2.25.%s.%ld", run_id, i);
	snprintf(pid, sizeof(pid), "BENCH41-%ld^^^&amp;1.3.6.1.4.1.21367.13.20.3000&amp;ISO", i % 1000);
	doc = malloc(dlen);
	hdr = snprintf(doc, dlen,
	    "<?xml version=\"1.0\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id root=\"%s\"/>"
	    "<code code=\"34133-9\" codeSystem=\"2.16.840.1.113883.6.1\"/><component><structuredBody><text>",
	    uid);
	for (size_t j = (size_t) hdr; j < dlen - 128; j++)
		doc[j] = "abcdefghij klmnopqrst uvwxyz\n"[(j * 7 + (size_t) i) % 30];
	dlen = dlen - 128 +
	       (size_t) snprintf(doc + dlen - 128, 128, "</text></structuredBody></component></ClinicalDocument>\n");
	hie_sha1_hex(doc, dlen, hash);
	blen = 4 * ((dlen + 2) / 3);
	b = malloc(blen + 1);
	for (size_t j = 0, o = 0; j < dlen; j += 3) {
		unsigned v = (unsigned char) doc[j] << 16 | (j + 1 < dlen ? (unsigned char) doc[j + 1] << 8 : 0) |
		             (j + 2 < dlen ? (unsigned char) doc[j + 2] : 0);
		b[o++] = b64[v >> 18 & 63];
		b[o++] = b64[v >> 12 & 63];
		b[o++] = j + 1 < dlen ? b64[v >> 6 & 63] : '=';
		b[o++] = j + 2 < dlen ? b64[v & 63] : '=';
	}
	b[blen] = '\0';
	cap = blen + 8192;
	x = malloc(cap);
	*len = (size_t) snprintf(x, cap,
	    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/addressing\">"
	    "<s:Header><a:Action>" SOAP_ACTION_ITI41 "</a:Action><a:MessageID>urn:uuid:%08lx-0000-4000-8000-%012lx</a:MessageID>"
	    "</s:Header><s:Body><xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb=\"urn:ihe:iti:xds-b:2007\">"
	    "<lcm:SubmitObjectsRequest xmlns:lcm=\"urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0\">"
	    "<rim:RegistryObjectList xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\">"
	    "<rim:ExtrinsicObject id=\"Document01\" mimeType=\"text/xml\" objectType=\"urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1\">"
	    SLOT("creationTime", "20261125120000") SLOT("hash", "%s") SLOT("size", "%zu")
	    CLS("urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a", "Document01", "34133-9", "2.16.840.1.113883.6.1")
	    CLS("urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f", "Document01", "N", "2.16.840.1.113883.5.25")
	    CLS("urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d", "Document01", "urn:hl7-org:sdwg:ccda-structuredBody:2.1", "1.3.6.1.4.1.19376.1.2.3")
	    CLS("urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", "Document01", "34133-9", "2.16.840.1.113883.6.1")
	    "<rim:ExternalIdentifier id=\"ei1\" identificationScheme=\"urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab\" registryObject=\"Document01\" value=\"%s\"/>"
	    "<rim:ExternalIdentifier id=\"ei2\" identificationScheme=\"urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427\" registryObject=\"Document01\" value=\"%s\"/>"
	    "</rim:ExtrinsicObject>"
	    "<rim:RegistryPackage id=\"SubmissionSet01\" objectType=\"urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage\">"
	    SLOT("submissionTime", "20261125120000")
	    CLS("urn:uuid:aa543740-bdda-424e-8c96-df4873be8500", "SubmissionSet01", "34133-9", "2.16.840.1.113883.6.1")
	    "<rim:ExternalIdentifier id=\"ei3\" identificationScheme=\"urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8\" registryObject=\"SubmissionSet01\" value=\"%s.1\"/>"
	    "<rim:ExternalIdentifier id=\"ei4\" identificationScheme=\"urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832\" registryObject=\"SubmissionSet01\" value=\"1.3.6.1.4.1.21367.13.20.1000\"/>"
	    "<rim:ExternalIdentifier id=\"ei5\" identificationScheme=\"urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446\" registryObject=\"SubmissionSet01\" value=\"%s\"/>"
	    "</rim:RegistryPackage>"
	    "<rim:Classification id=\"cl-ss\" classifiedObject=\"SubmissionSet01\" classificationNode=\"urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd\"/>"
	    "<rim:Association id=\"as01\" associationType=\"urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember\" "
	    "sourceObject=\"SubmissionSet01\" targetObject=\"Document01\">" SLOT("SubmissionSetStatus", "Original") "</rim:Association>"
	    "</rim:RegistryObjectList></lcm:SubmitObjectsRequest><xdsb:Document id=\"Document01\">%s</xdsb:Document>"
	    "</xdsb:ProvideAndRegisterDocumentSetRequest></s:Body></s:Envelope>",
	    (unsigned long) time(NULL), (unsigned long) i, hash, dlen, uid, pid, uid, pid, b);
	free(doc);
	free(b);
	return x;
}

int
main(int argc, char **argv)
{
	struct wss_claims c = { "Dr. Bench", "112247003", "bench", "", "", "TREATMENT" };
	wss_signer       *s;
	struct msg       *m;
	struct worker    *w;
	pthread_t        *th;
	const char       *kind;
	char              run_id[64];
	int               n, t, errors = 0;
	long              arg;
	double           *all, t0, secs, sign_ms;
	size_t            bytes = 0;

	if (argc != 9 || (strcmp(argv[2], "iti18") != 0 && strcmp(argv[2], "iti41") != 0 && strcmp(argv[2], "iti38") != 0)) {
		fprintf(stderr, "usage: bench_xds_http URL iti18|iti41|iti38 N THREADS CLIENT_DIR CLIENT_COMMUNITY AUDIENCE "
		                "PATIENTS|KBYTES|PATIENT_CX\n");
		return 2;
	}
	kind = argv[2];
	n = atoi(argv[3]);
	t = atoi(argv[4]);
	arg = strcmp(kind, "iti38") == 0 ? 1 : atol(argv[8]); /* iti38: argv[8] is the patient */
	if (n <= 0 || t <= 0 || arg <= 0)
		return 2;
	hie_xml_init();
	{
		char *cert = slurp(argv[5], "node.crt"), *key = slurp(argv[5], "node.key");
		if (wss_signer_new(cert, key, &s) != HIE_OK)
			return fprintf(stderr, "bad key\n"), 1;
		free(cert);
		free(key);
	}
	snprintf(c.organization_id, sizeof(c.organization_id), "%s", argv[6]);
	snprintf(c.home_community, sizeof(c.home_community), "%s", argv[6]);
	snprintf(run_id, sizeof(run_id), "%ld%d", (long) time(NULL), (int) getpid());
	m = calloc((size_t) n, sizeof(*m));
	srand(44);
	t0 = now_ms();
	for (int i = 0; i < n; i++) {
		struct soap_msg sm;
		xmlDoc         *doc;
		hie_err         e;
		if (strcmp(kind, "iti18") == 0 || strcmp(kind, "iti38") == 0) {
			struct reg_query q;
			xmlNode         *body;
			int              xca = strcmp(kind, "iti38") == 0;
			memset(&q, 0, sizeof(q));
			if (xca) /* one patient (argv[8]) whose documents the node holds */
				snprintf(q.patient_id, sizeof(q.patient_id), "%s", argv[8]);
			else
				snprintf(q.patient_id, sizeof(q.patient_id), "P%d^^^&1.3.6.1.4.1.21367.13.20.3000&ISO", rand() % (int) arg);
			q.approved_only = 1;
			if (soap_envelope_new(xca ? SOAP_ACTION_ITI38 : SOAP_ACTION_ITI18, NULL, NULL, &doc, &body, NULL) != HIE_OK ||
			    reg_ebrim_query_build(body, &q, NULL) != HIE_OK)
				return fprintf(stderr, "cannot build request\n"), 1;
			e = wss_sign_text(s, doc, &c, argv[7], 600, &m[i].xml, &m[i].len);
			xmlFreeDoc(doc);
		} else {
			size_t len;
			char  *x = pnr(i, (size_t) arg, run_id, &len);
			if ((e = soap_parse(x, len, NULL, &sm)) == HIE_OK) {
				e = wss_sign_text(s, sm.doc, &c, argv[7], 600, &m[i].xml, &m[i].len);
				soap_msg_free(&sm);
			}
			free(x);
		}
		if (e != HIE_OK)
			return fprintf(stderr, "cannot sign request %d: %s\n", i, hie_strerror(e)), 1;
		bytes += m[i].len;
	}
	sign_ms = now_ms() - t0;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	th = calloc((size_t) t, sizeof(*th));
	w = calloc((size_t) t, sizeof(*w));
	all = calloc((size_t) n, sizeof(*all));
	t0 = now_ms();
	for (int i = 0, off = 0; i < t; i++) {
		w[i].url = argv[1];
		w[i].n = n / t + (i < n % t);
		w[i].m = m + off;
		w[i].lat_ms = all + off;
		off += w[i].n;
		pthread_create(&th[i], NULL, run, &w[i]);
	}
	for (int i = 0; i < t; i++) {
		pthread_join(th[i], NULL);
		errors += w[i].errors;
		if (w[i].errors > 0)
			fprintf(stderr, "first error: %s\n", w[i].first_error);
	}
	secs = (now_ms() - t0) / 1e3;
	qsort(all, (size_t) n, sizeof(*all), cmp);
	printf("%s: requests=%d threads=%d rate=%.0f/s p50=%.2fms p99=%.2fms max=%.2fms errors=%d "
	       "(request %.0f kB avg; pre-signed in %.1f s, not counted)\n",
	    kind, n, t, n / secs, all[n / 2], all[n * 99 / 100], all[n - 1], errors, bytes / 1024.0 / n, sign_ms / 1e3);
	for (int i = 0; i < n; i++)
		free(m[i].xml);
	free(m);
	wss_signer_free(s);
	return errors > 0;
}
