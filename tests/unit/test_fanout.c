/*
 * tests/unit/test_fanout.c -- the fan-out coordinator against real peers:
 * nng REP sockets on loopback with mutual TLS (certificates from the
 * project's own CA code), answering from a real LMDB registry, or
 * misbehaving on purpose (hang, garbage, wrong community, rogue CA).
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/cert.h"
#include "node/store.h"
#include "testutil.h"
#include "xca/xca.h"

#define PID "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO"
#define DEADLINE_MS 700

enum mode { ANSWER, HANG, GARBAGE, WRONG_HOME, UNSIGNED };

struct peer {
	const char              *name, *community;
	enum mode                mode;
	int                      rogue; /* certificate from another CA */
	char                     addr[64];
	nng_socket               sock;
	nng_aio                 *aio;
	nng_ctx                  ctx;
	int                      sending;
	struct node_tls_material tls;
	nng_tls_config          *cfg;
	struct xca_responder     resp;
	wss_signer              *signer;
	wss_verifier            *verifier;
};

static char     dir[256];
static MDB_env *env;
static reg     *registry;
static struct node_tls_material coord_tls;
static const struct wss_claims  claims = { .subject_id = "Dr. Test", .subject_role = "112247003",
	 .organization = "coordinator", .organization_id = "urn:oid:1.2.3.1", .home_community = "urn:oid:1.2.3.1",
	 .purpose_of_use = "TREATMENT" };

static void
peer_cb(void *arg)
{
	struct peer *p = arg;
	nng_msg     *req, *msg;
	char        *out;
	size_t       len;

	if (nng_aio_result(p->aio) != 0) {
		if (p->sending) {
			nng_msg_free(nng_aio_get_msg(p->aio));
			p->sending = 0;
			nng_ctx_recv(p->ctx, p->aio);
		}
		return;
	}
	if (p->sending) {
		p->sending = 0;
		nng_ctx_recv(p->ctx, p->aio);
		return;
	}
	req = nng_aio_get_msg(p->aio);
	if (p->mode == HANG) {
		nng_msg_free(req); /* never answer, never ask again */
		return;
	}
	nng_msg_alloc(&msg, 0);
	if (p->mode == GARBAGE) {
		nng_msg_append(msg, "\x00\x01 this is not SOAP", 20);
	} else {
		struct xca_outcome o;
		xca_respond(&p->resp, nng_msg_body(req), nng_msg_len(req), "t", &out, &len, &o);
		nng_msg_append(msg, out, len);
		free(out);
	}
	nng_msg_free(req);
	p->sending = 1;
	nng_aio_set_msg(p->aio, msg);
	nng_ctx_send(p->ctx, p->aio);
}

static void
load_tls(const char *sub, struct node_tls_material *m)
{
	char c[400], k[400], ca[400];
	snprintf(c, sizeof(c), "%s/%s/node.crt", dir, sub);
	snprintf(k, sizeof(k), "%s/%s/node.key", dir, sub);
	snprintf(ca, sizeof(ca), "%s/%s/ca.crt", dir, sub);
	assert_int_equal(node_tls_load(c, k, ca, NULL, m), HIE_OK);
}

static void
peer_start(struct peer *p)
{
	char         sub[400], ca[400];
	nng_listener l;

	snprintf(sub, sizeof(sub), "%s/%s", dir, p->name);
	snprintf(ca, sizeof(ca), "%s/%s", dir, p->rogue ? "rogueca" : "ca");
	assert_int_equal(cert_issue(ca, p->name, p->community, 1, sub), HIE_OK);
	load_tls(p->name, &p->tls);
	if (p->rogue) { /* trusts the real CA, presents a rogue certificate */
		char real[400];
		size_t n;
		free(p->tls.ca);
		snprintf(real, sizeof(real), "%s/ca/ca.crt", dir);
		assert_int_equal(hie_read_file(real, 1 << 20, &p->tls.ca, &n), HIE_OK);
	}
	snprintf(p->addr, sizeof(p->addr), "tls+tcp://127.0.0.1:%d", tu_free_port());
	p->resp.home = p->mode == WRONG_HOME ? "urn:oid:6.6.6" : p->community;
	p->resp.repository_id = "1.2.3.9.1";
	p->resp.reg = registry;
	p->resp.lim = hie_xml_default_limits;
	p->resp.max_results = 100;
	{
		/* Each peer checks our signed requests and signs its answers,
		 * as a node does (an UNSIGNED peer does not sign). */
		struct wss_verifier_cfg vc = { .ca_pem = p->tls.ca, .community = p->community, .clock_skew_s = 60,
			.max_ttl_s = 600, .replay = NULL };
		assert_int_equal(wss_verifier_new(&vc, &p->verifier), HIE_OK);
		assert_int_equal(wss_signer_new(p->tls.cert, p->tls.key, &p->signer), HIE_OK);
		p->resp.verifier = p->verifier;
		p->resp.signer = p->mode == UNSIGNED ? NULL : p->signer;
		p->resp.ttl_s = 300;
	}
	assert_int_equal(nng_rep0_open(&p->sock), 0);
	assert_int_equal(node_tls_config(&p->tls, NULL, &p->cfg), HIE_OK);
	assert_int_equal(nng_listener_create(&l, p->sock, p->addr), 0);
	assert_int_equal(nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, p->cfg), 0);
	assert_int_equal(nng_listener_start(l, 0), 0);
	assert_int_equal(nng_aio_alloc(&p->aio, peer_cb, p), 0);
	assert_int_equal(nng_ctx_open(&p->ctx, p->sock), 0);
	nng_ctx_recv(p->ctx, p->aio);
}

static void
peer_stop(struct peer *p)
{
	nng_aio_stop(p->aio);
	nng_close(p->sock);
	nng_aio_free(p->aio);
	nng_tls_config_free(p->cfg);
	node_tls_free(&p->tls);
	wss_signer_free(p->signer);
	wss_verifier_free(p->verifier);
}

/* ---- waiting for a query ---- */
static nng_mtx           *mtx;
static nng_cv            *cv;
static struct xca_result *result;

static void
on_done(struct xca_result *res, void *arg)
{
	(void) arg;
	nng_mtx_lock(mtx);
	result = res;
	nng_cv_wake(cv);
	nng_mtx_unlock(mtx);
}

/* A fan-out to peers[n] with the coordinator's certificate. */
static xca_fanout *
fanout_to(struct peer *peers, size_t n, int overall_ms)
{
	struct node_peers     dirp;
	struct xca_fanout_cfg fc;
	xca_fanout           *fo;

	dirp.n = n;
	dirp.v = calloc(n + 1, sizeof(*dirp.v));
	for (size_t i = 0; i < n; i++) {
		strcpy(dirp.v[i].name, peers[i].name);
		strcpy(dirp.v[i].community, peers[i].community);
		strcpy(dirp.v[i].address, peers[i].addr);
	}
	memset(&fc, 0, sizeof(fc));
	fc.peers = &dirp;
	fc.tls = &coord_tls;
	fc.home = "urn:oid:1.2.3.1";
	fc.peer_deadline_ms = DEADLINE_MS;
	fc.overall_deadline_ms = overall_ms;
	fc.max_results = 1000;
	fc.max_message_bytes = 1 << 20;
	fc.lim = hie_xml_default_limits;
	fc.ttl_s = 300;
	fc.clock_skew_s = 60;
	assert_int_equal(xca_fanout_new(&fc, &fo), HIE_OK);
	free(dirp.v);
	return fo;
}

static struct xca_result *
run_query(struct peer *peers, size_t n, int64_t *ms)
{
	struct reg_query   q;
	xca_fanout        *fo = fanout_to(peers, n, DEADLINE_MS * 2);
	struct xca_result *res;
	int64_t            t0;

	/* Let the dialers connect (or fail their handshakes) first. */
	nng_msleep(1700);
	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, PID);
	q.approved_only = 1;
	q.max_results = 1000;
	result = NULL;
	t0 = hie_now_ms();
	assert_int_equal(xca_fanout_query(fo, &q, &claims, "test", on_done, NULL), HIE_OK);
	nng_mtx_lock(mtx);
	while (result == NULL)
		nng_cv_wait(cv);
	res = result;
	nng_mtx_unlock(mtx);
	*ms = hie_now_ms() - t0;
	xca_fanout_release(fo);
	return res;
}

static const struct xca_peer_result *
peer_result(const struct xca_result *res, const char *name)
{
	for (size_t i = 0; i < res->npeers; i++)
		if (strcmp(res->peers[i].name, name) == 0)
			return &res->peers[i];
	fail_msg("no result for %s", name);
	return NULL;
}

static int
setup(void **state)
{
	char               p[400];

	(void) state;
	tu_tmpdir(dir);
	snprintf(p, sizeof(p), "%s/ca", dir);
	assert_int_equal(cert_ca_init(p, "test CA", 2), HIE_OK);
	snprintf(p, sizeof(p), "%s/rogueca", dir);
	assert_int_equal(cert_ca_init(p, "rogue CA", 2), HIE_OK);
	snprintf(p, sizeof(p), "%s/ca", dir);
	{
		char sub[400];
		snprintf(sub, sizeof(sub), "%s/coordinator", dir);
		assert_int_equal(cert_issue(p, "coordinator", "urn:oid:1.2.3.1", 1, sub), HIE_OK);
	}
	load_tls("coordinator", &coord_tls);
	snprintf(p, sizeof(p), "%s/db", dir);
	assert_int_equal(hie_store_open(p, 64, &env), HIE_OK);
	assert_int_equal(reg_open(env, &registry), HIE_OK);
	tu_load_demo(registry, "1.2.3.9.1", 2);
	nng_mtx_alloc(&mtx);
	nng_cv_alloc(&cv, mtx);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	node_tls_free(&coord_tls);
	reg_close(registry);
	hie_store_close(env);
	tu_rmtree(dir);
	return 0;
}

static void
test_two_good_peers(void **state)
{
	struct peer        peers[] = {
		{ .name = "hospital-b", .community = "urn:oid:1.2.3.2", .mode = ANSWER },
		{ .name = "hospital-c", .community = "urn:oid:1.2.3.3", .mode = ANSWER },
	};
	struct xca_result *res;
	int64_t            ms;

	(void) state;
	for (size_t i = 0; i < 2; i++)
		peer_start(&peers[i]);
	res = run_query(peers, 2, &ms);
	print_message("two peers answered in %lld ms\n", (long long) ms);
	assert_int_equal(peer_result(res, "hospital-b")->status, XCA_OK);
	assert_int_equal(peer_result(res, "hospital-c")->status, XCA_OK);
	assert_int_equal(peer_result(res, "hospital-b")->documents, 2);
	/* Both peers list the same two documents (one registry behind them):
	 * deduplicated by uniqueId. */
	assert_int_equal(res->docs.n, 2);
	assert_string_equal(res->docs.v[0].type_code, "18842-5");
	xca_result_free(res);
	for (size_t i = 0; i < 2; i++)
		peer_stop(&peers[i]);
}

static struct xca_retrieved *retrieved;

static void
on_retrieved(struct xca_retrieved *r, void *arg)
{
	(void) arg;
	nng_mtx_lock(mtx);
	retrieved = r;
	nng_cv_wake(cv);
	nng_mtx_unlock(mtx);
}

static struct xca_retrieved *
run_retrieve(xca_fanout *fo, const char *home, const char *uid)
{
	struct reg_doc_ref    ref;
	struct xca_retrieved *r;

	memset(&ref, 0, sizeof(ref));
	strcpy(ref.home, home);
	strcpy(ref.repository_id, "1.2.3.9.1");
	strcpy(ref.unique_id, uid);
	retrieved = NULL;
	assert_int_equal(xca_fanout_retrieve(fo, &ref, &claims, "test", on_retrieved, NULL), HIE_OK);
	nng_mtx_lock(mtx);
	while (retrieved == NULL)
		nng_cv_wait(cv);
	r = retrieved;
	nng_mtx_unlock(mtx);
	return r;
}

static void
test_retrieve(void **state)
{
	struct peer           p = { .name = "hospital-r", .community = "urn:oid:1.2.3.2", .mode = ANSWER };
	xca_fanout           *fo;
	struct xca_retrieved *r;
	struct reg_doc_ref    ref;

	(void) state;
	peer_start(&p);
	fo = fanout_to(&p, 1, DEADLINE_MS);
	nng_msleep(300);

	r = run_retrieve(fo, p.community, "2.25.299418744817305917185341891893493520418^HB-DS-0002");
	assert_int_equal(r->peer.status, XCA_OK);
	assert_string_equal(r->mime, "text/xml");
	assert_non_null(strstr(r->doc, "Discharge Summary"));
	xca_retrieved_free(r);

	r = run_retrieve(fo, p.community, "2.25.1^missing");
	assert_int_equal(r->peer.status, XCA_ERROR);
	assert_non_null(strstr(r->peer.error, "XDSDocumentUniqueIdError"));
	assert_null(r->doc);
	xca_retrieved_free(r);

	memset(&ref, 0, sizeof(ref));
	strcpy(ref.home, "urn:oid:7.7.7");
	assert_int_equal(xca_fanout_retrieve(fo, &ref, &claims, "t", on_retrieved, NULL), HIE_ENOTFOUND);
	xca_fanout_release(fo);
	peer_stop(&p);
}

static void
test_faulty_peers(void **state)
{
	struct peer        peers[] = {
		{ .name = "good", .community = "urn:oid:1.2.3.2", .mode = ANSWER },
		{ .name = "hangs", .community = "urn:oid:1.2.3.3", .mode = HANG },
		{ .name = "garbage", .community = "urn:oid:1.2.3.4", .mode = GARBAGE },
		{ .name = "liar", .community = "urn:oid:1.2.3.5", .mode = WRONG_HOME },
		{ .name = "rogue", .community = "urn:oid:1.2.3.6", .mode = ANSWER, .rogue = 1 },
		{ .name = "unsigned", .community = "urn:oid:1.2.3.8", .mode = UNSIGNED },
		{ .name = "down", .community = "urn:oid:1.2.3.7", .mode = ANSWER },
	};
	const size_t                  n = sizeof(peers) / sizeof(peers[0]);
	struct xca_result            *res;
	const struct xca_peer_result *pr;
	int64_t                       ms;

	(void) state;
	for (size_t i = 0; i < n - 1; i++)
		peer_start(&peers[i]);
	/* "down": an address where nothing listens. */
	snprintf(peers[n - 1].addr, sizeof(peers[n - 1].addr), "tls+tcp://127.0.0.1:%d", tu_free_port());
	res = run_query(peers, n, &ms);
	for (size_t i = 0; i < res->npeers; i++)
		print_message("  %-8s %-8s %4lld ms  %s\n", res->peers[i].name, xca_status_name(res->peers[i].status),
		    (long long) res->peers[i].ms, res->peers[i].error);
	print_message("whole query: %lld ms (peer deadline %d ms)\n", (long long) ms, DEADLINE_MS);

	assert_int_equal(peer_result(res, "good")->status, XCA_OK);
	assert_int_equal(peer_result(res, "good")->documents, 2);
	pr = peer_result(res, "hangs");
	assert_int_equal(pr->status, XCA_TIMEOUT);
	assert_true(pr->ms >= DEADLINE_MS - 5);
	assert_true(pr->ms < DEADLINE_MS * 2 - 100); /* its own deadline, not the overall one */
	assert_int_equal(peer_result(res, "garbage")->status, XCA_ERROR);
	pr = peer_result(res, "liar");
	assert_int_equal(pr->status, XCA_ERROR);
	assert_non_null(strstr(pr->error, "claims community"));
	pr = peer_result(res, "rogue");
	assert_int_equal(pr->status, XCA_ERROR);
	assert_non_null(strstr(pr->error, "not connected"));
	assert_int_equal(peer_result(res, "down")->status, XCA_ERROR);
	pr = peer_result(res, "unsigned");
	assert_int_equal(pr->status, XCA_ERROR);
	assert_non_null(strstr(pr->error, "response refused: message is not signed"));
	/* Only the good peer's documents are in the result. */
	assert_int_equal(res->docs.n, 2);
	/* Bounded by the deadline: the hung peer did not hold the query
	 * beyond it (generous margin; figures go to benchmarks). */
	assert_true(ms < DEADLINE_MS * 2 + 500);
	xca_result_free(res);
	for (size_t i = 0; i < n - 1; i++)
		peer_stop(&peers[i]);
}

static void
test_no_peers(void **state)
{
	struct xca_result *res;
	int64_t            ms;

	(void) state;
	res = run_query(NULL, 0, &ms);
	assert_int_equal(res->npeers, 0);
	assert_int_equal(res->docs.n, 0);
	xca_result_free(res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_good_peers),
		cmocka_unit_test(test_retrieve),
		cmocka_unit_test(test_faulty_peers),
		cmocka_unit_test(test_no_peers),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
