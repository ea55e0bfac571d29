/*
 * tests/fuzz/fuzz_inbound.c -- the whole inbound path a peer can reach:
 * hardened parse, SOAP checks, WS-Security verification (a real CA and
 * replay cache made at start-up), dispatch and the ITI-38/39 handlers on a
 * real LMDB registry.  Whatever the input, the responder must produce a
 * response and not crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/cert.h"
#include "node/store.h"
#include "xca/xca.h"

static struct xca_responder r;

static void
init(void)
{
	static char dir[] = "/tmp/hie-fuzz-XXXXXX";
	char        p[256], *ca;
	size_t      n;
	MDB_env    *env;
	hie_replay *rp;
	struct wss_verifier_cfg vc;
	wss_verifier *v;

	hie_log_set_level(HIE_LOG_ERR);
	hie_xml_init();
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(p, sizeof(p), "%s/ca", dir);
	if (cert_ca_init(p, "fuzz CA", 30) != HIE_OK)
		abort();
	snprintf(p, sizeof(p), "%s/ca/ca.crt", dir);
	if (hie_read_file(p, 1 << 20, &ca, &n) != HIE_OK)
		abort();
	snprintf(p, sizeof(p), "%s/db", dir);
	if (hie_store_open(p, 64, &env) != HIE_OK || reg_open(env, &r.reg) != HIE_OK)
		abort();
	snprintf(p, sizeof(p), "%s/replay", dir);
	if (hie_replay_open(p, 100000, &rp) != HIE_OK)
		abort();
	memset(&vc, 0, sizeof(vc));
	vc.ca_pem = ca;
	vc.community = "urn:oid:1.2.3";
	vc.clock_skew_s = 300;
	vc.max_ttl_s = 600;
	vc.replay = rp;
	if (wss_verifier_new(&vc, &v) != HIE_OK)
		abort();
	free(ca); /* the verifier keeps its own copy of the trust store */
	r.home = "urn:oid:1.2.3";
	r.repository_id = "1.2.3.1";
	r.lim = hie_xml_default_limits;
	r.max_results = 100;
	r.verifier = v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int         ready;
	struct xca_outcome out;
	char              *resp;
	size_t             len;

	if (!ready) {
		init();
		ready = 1;
	}
	/* Signed path first, then the XCA layer alone, which is what a
	 * message that passes the signature checks reaches. */
	for (int unsigned_ok = 0; unsigned_ok < 2; unsigned_ok++) {
		r.allow_unsigned = unsigned_ok;
		if (xca_respond(&r, (const char *) data, size, "fuzz", &resp, &len, &out) != HIE_OK)
			abort(); /* only out of memory may leave no response */
		free(resp);
	}
	return 0;
}
