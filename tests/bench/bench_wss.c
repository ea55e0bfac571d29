/*
 * tests/bench/bench_wss.c -- the cost of signed SOAP in process: sign an
 * ITI-38 request (timestamp, token, XUA assertion, signature), verify it
 * (with the replay cache), sign the response, verify it; N times.
 *   bench_wss CA_DIR NODE_DIR N
 * NODE_DIR holds node.crt/node.key from CA_DIR; the same node plays both
 * sides, which costs the same as two.
 *
 * The bound it is measured against, one ECDSA sign and one verify with the
 * same key per message, is measured here too, the way `openssl speed`
 * does (EVP_PKEY_sign/EVP_PKEY_verify of a SHA-256 digest, prepared
 * contexts), in blocks interleaved with the round trips: this virtual
 * machine changes speed from one second to the next, and a bound taken
 * minutes apart from the figure it divides made the ratio swing by a
 * third between runs of the same binary.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "node/wss.h"
#include "registry/registry.h"

static double
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* CPU seconds of this process, precise (clock_gettime, not the ticks
 * of getrusage): for the blocks, some milliseconds each. */
static double
cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The bound's operations, as openssl speed does them: prepared contexts
 * for the node's key, a SHA-256 digest signed and the signature verified. */
struct crypto {
	EVP_PKEY_CTX *sign, *verify;
	unsigned char md[32], sig[256];
	size_t        siglen;
	double        t_sign, t_verify, cpu; /* totals, seconds */
	long          n;
};

static int
crypto_init(struct crypto *k, const char *key_pem)
{
	BIO      *b = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *pk = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	int       ok;

	BIO_free(b);
	memset(k, 0, sizeof(*k));
	memset(k->md, 0x5a, sizeof(k->md));
	ok = pk != NULL && (k->sign = EVP_PKEY_CTX_new(pk, NULL)) != NULL && EVP_PKEY_sign_init(k->sign) == 1 &&
	     (k->verify = EVP_PKEY_CTX_new(pk, NULL)) != NULL && EVP_PKEY_verify_init(k->verify) == 1;
	EVP_PKEY_free(pk);
	return ok;
}

/* count sign+verify pairs, timed apart. */
static int
crypto_block(struct crypto *k, int count)
{
	double c0 = cpu_now();
	for (int i = 0; i < count; i++) {
		double t0 = now_us(), t1;
		k->siglen = sizeof(k->sig);
		if (EVP_PKEY_sign(k->sign, k->sig, &k->siglen, k->md, sizeof(k->md)) != 1)
			return 0;
		t1 = now_us();
		if (EVP_PKEY_verify(k->verify, k->sig, k->siglen, k->md, sizeof(k->md)) != 1)
			return 0;
		k->t_sign += (t1 - t0) / 1e6;
		k->t_verify += (now_us() - t1) / 1e6;
	}
	k->cpu += cpu_now() - c0;
	k->n += count;
	return 1;
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

int
main(int argc, char **argv)
{
	struct wss_verifier_cfg vc;
	struct wss_claims       c = { "Dr. Bench", "112247003", "bench", "", "", "TREATMENT" };
	wss_signer             *s;
	wss_verifier           *v;
	hie_replay             *rp;
	char                    community[128], rdir[4096];
	double                  t[4] = { 0 }, warm[4] = { 0 }, cpu = 0, c0 = 0;
	int                     n;
	struct crypto           k;
	struct reg_query        q;

	if (argc != 4)
		return fprintf(stderr, "usage: bench_wss CA_DIR NODE_DIR N\n"), 2;
	n = atoi(argv[3]);
	hie_xml_init();
	{
		char *cert = slurp(argv[2], "node.crt"), *key = slurp(argv[2], "node.key");
		if (wss_signer_new(cert, key, &s) != HIE_OK || !crypto_init(&k, key))
			return fprintf(stderr, "bad key\n"), 1;
		free(cert);
		free(key);
	}
	snprintf(community, sizeof(community), "%s", "urn:oid:1.3.6.1.4.1.21367.13.20.2000");
	strcpy(c.organization_id, community);
	strcpy(c.home_community, community);
	snprintf(rdir, sizeof(rdir), "%s/replay", argv[2]);
	if (hie_replay_open(rdir, 10000000, &rp) != HIE_OK)
		return 1;
	memset(&vc, 0, sizeof(vc));
	vc.ca_pem = slurp(argv[1], "ca.crt");
	vc.community = community;
	vc.clock_skew_s = 60;
	vc.max_ttl_s = 600;
	vc.replay = rp;
	if (wss_verifier_new(&vc, &v) != HIE_OK)
		return 1;
	/* The query both messages carry (18 KiB of struct, cleared once). */
	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO");
	q.approved_only = 1;
	/* 200 round trips first, not counted: what a running node has done
	 * already (the certificate's chain checked and cached, the allocator's
	 * and the replay cache's first pages touched, OpenSSL's tables
	 * loaded), so that the figure is the steady state. */
	if (!crypto_block(&k, 100))
		return fprintf(stderr, "openssl sign/verify failed\n"), 1;
	memset(&k.t_sign, 0, sizeof(k) - offsetof(struct crypto, t_sign));
	for (int i = -200; i < n; i++) {
		/* Blocks of 50 round trips and 100 sign+verify pairs (the
		 * bound's two messages per round trip), in turn. */
		double *tt = i >= 0 ? t : warm;
		/* CPU time is read per block of 50 (a system call each time;
		 * per round trip it would be part of what it measures). */
		if (i >= 0 && i % 50 == 0) {
			if (i > 0)
				cpu += cpu_now() - c0;
			if (!crypto_block(&k, 100))
				return fprintf(stderr, "openssl sign/verify failed\n"), 1;
			c0 = cpu_now();
		}
		for (int resp = 0; resp < 2; resp++) {
			xmlDoc             *doc;
			xmlNode            *body;
			struct soap_msg     m;
			struct wss_identity who;
			char               *x, why[256];
			size_t              len;
			double              t0;
			soap_envelope_new(resp ? SOAP_ACTION_ITI38_RESP : SOAP_ACTION_ITI38, "tls+tcp://x:1", NULL, &doc, &body, NULL);
			reg_ebrim_query_build(body, &q, community);
			/* Signing writes the message as sent (the node's path:
			 * xca/call.c, xca/responder.c). */
			t0 = now_us();
			if (wss_sign_text(s, doc, resp ? NULL : &c, community, 300, &x, &len) != HIE_OK)
				return fprintf(stderr, "sign failed\n"), 1;
			tt[resp * 2] += now_us() - t0;
			xmlFreeDoc(doc);
			if (i == -200 && getenv("BENCH_WSS_SHOW") != NULL) /* what is measured */
				fprintf(stderr, "%s (%zu bytes):\n%.*s\n", resp ? "response" : "request", len, (int) len, x);
			t0 = now_us();
			if (soap_parse(x, len, NULL, &m) != HIE_OK || wss_verify(v, &m, !resp, community, &who, why, sizeof(why)) != HIE_OK)
				return fprintf(stderr, "verify failed: %s\n", why), 1;
			tt[resp * 2 + 1] += now_us() - t0;
			soap_msg_free(&m);
			free(x);
		}
	}
	/* CPU time of the round trips: it also counts building the messages
	 * and freeing them, which the per-step times leave out. */
	cpu += cpu_now() - c0;
	printf("signed SOAP, %d round trips: sign request %.0f us, verify request %.0f us, sign response %.0f us, "
	       "verify response %.0f us; %.0f round trips/s on one core\n",
	    n, t[0] / n, t[1] / n, t[2] / n, t[3] / n, n / ((t[0] + t[1] + t[2] + t[3]) / 1e6));
	printf("CPU time: %.0f us per round trip (all of it, building and freeing included); %.0f round trips per "
	       "CPU-second\n",
	    cpu * 1e6 / n, n / cpu);
	{
		/* Per core: one sign + one verify per message, two messages. */
		double pair = (k.t_sign + k.t_verify) / k.n, pair_cpu = k.cpu / k.n;
		double rt = (t[0] + t[1] + t[2] + t[3]) / 1e6 / n, rt_cpu = cpu / n;
		printf("interleaved bound (%ld ECDSA sign + verify pairs as openssl speed does them: sign %.1f us, verify %.1f us): "
		       "%.0f round trips/s per core; ratio %.3f (wall), %.3f (per CPU-second)\n",
		    k.n, k.t_sign / k.n * 1e6, k.t_verify / k.n * 1e6, 1 / (2 * pair), 2 * pair / rt, 2 * pair_cpu / rt_cpu);
	}
	{
		unsigned long full, vouched;
		wss_verifier_counts(v, &full, &vouched);
		printf("assertion signatures: %lu vouched for by the message signature (no second ECDSA verification), "
		       "%lu verified in full\n",
		    vouched, full);
	}
	return 0;
}
