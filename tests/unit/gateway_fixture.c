/*
 * tests/unit/gateway_fixture.c -- see gateway_fixture.h.
 */
#include "gateway_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/cert.h"

void
tg_init(struct tg_gateway *g, const char *home, const char *asker_community)
{
	struct wss_verifier_cfg vc;
	char                    p[600], q[600], *ca;

	memset(g, 0, sizeof(*g));
	tu_tmpdir(g->dir);
	snprintf(p, sizeof(p), "%s/ca", g->dir);
	assert_int_equal(cert_ca_init(p, "test CA", 2), HIE_OK);
	snprintf(q, sizeof(q), "%s/asker", g->dir);
	assert_int_equal(cert_issue(p, "asker", asker_community, 1, q), HIE_OK);
	g->asker = tu_signer(q);
	snprintf(q, sizeof(q), "%s/responder", g->dir);
	assert_int_equal(cert_issue(p, "responder", home, 1, q), HIE_OK);
	g->responder_key = tu_signer(q);
	snprintf(p, sizeof(p), "%s/db", g->dir);
	assert_int_equal(hie_store_open(p, 64, &g->env), HIE_OK);
	assert_int_equal(reg_open(g->env, &g->resp.reg), HIE_OK);
	snprintf(p, sizeof(p), "%s/replay", g->dir);
	assert_int_equal(hie_replay_open(p, 10000, &g->replay), HIE_OK);
	snprintf(p, sizeof(p), "%s/ca/ca.crt", g->dir);
	ca = tu_slurp(p, NULL);
	memset(&vc, 0, sizeof(vc));
	vc.ca_pem = ca;
	vc.community = home;
	vc.clock_skew_s = 60;
	vc.max_ttl_s = 600;
	vc.replay = g->replay;
	assert_int_equal(wss_verifier_new(&vc, &g->resp.verifier), HIE_OK);
	free(ca);
	g->resp.home = home;
	g->resp.repository_id = "1.2.3.4.1";
	g->resp.lim = hie_xml_default_limits;
	g->resp.max_results = 100;
	g->resp.signer = g->responder_key;
	g->resp.ttl_s = 300;
	tu_load_demo(g->resp.reg, "1.2.3.4.1", 4);
}

void
tg_fini(struct tg_gateway *g)
{
	wss_verifier_free(g->resp.verifier);
	wss_signer_free(g->asker);
	wss_signer_free(g->responder_key);
	hie_replay_close(g->replay);
	reg_close(g->resp.reg);
	hie_store_close(g->env);
	tu_rmtree(g->dir);
	memset(g, 0, sizeof(*g));
}
