/*
 * tests/unit/test_fanout_stream.c -- issue 8's streamed results and single
 * query budget, between real parts: each peer is a responder with its own
 * LMDB (registry and MPI) behind an nng REP socket with mutual TLS, every
 * request and response signed and verified with certificates from the
 * project's own CA code.  A peer answers after a delay set per transaction
 * (ITI-55 discovery, ITI-38 query), the answer made on arrival.
 *
 * Streaming (discovery off): the peers answer ITI-38 after 450, 50, 250 ms
 * and one never answers; on_peer must see them in the order of their
 * delays, each with its own documents, the hung one last as a timeout,
 * all before done, and done's merged result must equal the plain query's.
 *
 * One budget (discovery on; peer deadline 1,500 ms, overall 2,000 ms):
 *   quick   discovery 50 ms, ITI-38 50 ms            -> ok
 *   late    discovery 2,500 ms (past the peer deadline) -> timeout
 *   eater   discovery 1,200 ms, ITI-38 1,200 ms: within the peer deadline
 *           each, but its ITI-38 has only the 800 ms left of the budget
 *           -> timeout (with a deadline per phase it was ok at 2.4 s)
 * and a peer's ITI-38 goes as soon as it matched: quick's documents are in
 * (and streamed) long before late times out in discovery.
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

#define COORD "urn:oid:1.2.5.1"
#define A1    "A-1^^^&1.2.5.1.7&ISO"
#define NCTX  4

struct peer {
	const char              *name, *community;
	int                      disc_ms, query_ms; /* -1: never answers */
	size_t                   ndocs;
	char                     addr[64];
	nng_socket               sock;
	nng_tls_config          *cfg;
	struct node_tls_material tls;
	struct xca_responder     resp;
	wss_signer              *signer;
	wss_verifier            *verifier;
	MDB_env                 *env;
	reg                     *reg;
	mpi                     *mpi;
	struct pctx {
		struct peer *p;
		nng_ctx      ctx;
		nng_aio     *aio, *timer;
		nng_msg     *resp;
		int          state; /* 0 receiving, 1 waiting, 2 sending */
	} c[NCTX];
};

static struct peer peers[] = {
	{ .name = "slow", .community = "urn:oid:1.2.5.2", .disc_ms = 0, .query_ms = 450, .ndocs = 1 },
	{ .name = "fast", .community = "urn:oid:1.2.5.3", .disc_ms = 0, .query_ms = 50, .ndocs = 2 },
	{ .name = "middle", .community = "urn:oid:1.2.5.4", .disc_ms = 0, .query_ms = 250, .ndocs = 3 },
	{ .name = "hung", .community = "urn:oid:1.2.5.5", .disc_ms = 0, .query_ms = -1, .ndocs = 1 },
	{ .name = "quick", .community = "urn:oid:1.2.5.6", .disc_ms = 50, .query_ms = 50, .ndocs = 1 },
	{ .name = "late", .community = "urn:oid:1.2.5.7", .disc_ms = 2500, .query_ms = 0, .ndocs = 1 },
	{ .name = "eater", .community = "urn:oid:1.2.5.8", .disc_ms = 1200, .query_ms = 1200, .ndocs = 1 },
};
#define NPEERS (sizeof(peers) / sizeof(peers[0]))

static char                     dir[256];
static struct node_tls_material coord_tls;
static const struct wss_claims  claims = { .subject_id = "Dr. Test", .subject_role = "112247003",
	 .organization = "coordinator", .organization_id = COORD, .home_community = COORD, .purpose_of_use = "TREATMENT" };

static void
pctx_cb(void *arg)
{
	struct pctx       *c = arg;
	struct xca_outcome o;
	nng_msg           *req;
	char              *out;
	size_t             len;
	int                delay;
	int64_t            t0;

	switch (c->state) {
	case 0:
		if (nng_aio_result(c->aio) != 0)
			return;
		t0 = hie_now_ms();
		req = nng_aio_get_msg(c->aio);
		xca_respond(&c->p->resp, nng_msg_body(req), nng_msg_len(req), "t", &out, &len, &o);
		nng_msg_free(req);
		delay = strcmp(o.transaction, "ITI-55") == 0 ? c->p->disc_ms : c->p->query_ms;
		if (delay < 0) {
			free(out); /* never answer; the context stays busy */
			return;
		}
		nng_msg_alloc(&c->resp, 0);
		nng_msg_append(c->resp, out, len);
		free(out);
		c->state = 1;
		delay -= (int) (hie_now_ms() - t0);
		nng_sleep_aio(delay > 0 ? delay : 0, c->timer);
		return;
	case 1:
		if (nng_aio_result(c->timer) != 0) {
			nng_msg_free(c->resp);
			return;
		}
		c->state = 2;
		nng_aio_set_msg(c->aio, c->resp);
		nng_ctx_send(c->ctx, c->aio);
		return;
	default:
		if (nng_aio_result(c->aio) != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			if (nng_aio_result(c->aio) == NNG_ECLOSED)
				return;
		}
		c->state = 0;
		nng_ctx_recv(c->ctx, c->aio);
	}
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

/* Alice at every peer, under the peer's own id, with ndocs documents. */
static void
peer_start(struct peer *p, size_t idx)
{
	char               sub[400], ca[400], pid[128], oid[64];
	nng_listener       l;
	struct mpi_patient a;
	struct mpi_result  mr;

	snprintf(sub, sizeof(sub), "%s/%s", dir, p->name);
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	assert_int_equal(cert_issue(ca, p->name, p->community, 1, sub), HIE_OK);
	load_tls(p->name, &p->tls);
	snprintf(sub, sizeof(sub), "%s/%s/db", dir, p->name);
	assert_int_equal(hie_store_open(sub, 64, &p->env), HIE_OK);
	assert_int_equal(reg_open(p->env, &p->reg), HIE_OK);
	assert_int_equal(mpi_open(p->env, &p->mpi), HIE_OK);
	snprintf(oid, sizeof(oid), "%s", p->community + 8);
	memset(&a, 0, sizeof(a));
	strcpy(a.source, "test");
	a.n_names = 1;
	strcpy(a.names[0].use, "L");
	strcpy(a.names[0].given, "Alice");
	strcpy(a.names[0].family, "Hoffmann");
	strcpy(a.birth_date, "19750314");
	a.sex = 'F';
	a.n_ids = 2;
	strcpy(a.ids[0].type, "MR");
	snprintf(a.ids[0].cx.id, sizeof(a.ids[0].cx.id), "%s-1", p->name);
	strcpy(a.ids[0].cx.authority, oid);
	/* The coordinator's id too: discovery matches on it. */
	strcpy(a.ids[1].type, "PI");
	strcpy(a.ids[1].cx.id, "A-1");
	strcpy(a.ids[1].cx.authority, "1.2.5.1.7");
	assert_int_equal(mpi_add(p->mpi, &a, 0, &mr), HIE_OK);
	snprintf(pid, sizeof(pid), "%s-1^^^&%s&ISO", p->name, oid);
	for (size_t i = 0; i < p->ndocs; i++) {
		struct reg_entry e;
		memset(&e, 0, sizeof(e));
		snprintf(e.unique_id, sizeof(e.unique_id), "2.25.%zu.%zu", idx + 1, i + 1);
		/* Both queries ask with the coordinator's id (no discovery) or
		 * the peer's (discovery): register under both. */
		strcpy(e.patient_id, A1);
		strcpy(e.repository_id, "1.2.5.9.1");
		strcpy(e.type_code, "34133-9");
		strcpy(e.class_code, "34133-9");
		strcpy(e.format_code, "urn:hl7-org:sdwg:ccda-structuredBody:2.1");
		strcpy(e.confidentiality, "N");
		snprintf(e.creation_time, sizeof(e.creation_time), "202611%02zu", 10 + i);
		strcpy(e.mime_type, "text/xml");
		assert_int_equal(reg_put(p->reg, &e, "<doc/>", 6), HIE_OK);
		e.entry_uuid[0] = '\0'; /* reg_put filled it in */
		snprintf(e.unique_id, sizeof(e.unique_id), "2.25.%zu.%zu.9", idx + 1, i + 1);
		strcpy(e.patient_id, pid);
		assert_int_equal(reg_put(p->reg, &e, "<doc/>", 6), HIE_OK);
	}
	snprintf(p->addr, sizeof(p->addr), "tls+tcp://127.0.0.1:%d", tu_free_port());
	p->resp.home = p->community;
	p->resp.repository_id = "1.2.5.9.1";
	p->resp.reg = p->reg;
	p->resp.mpi = p->mpi;
	p->resp.lim = hie_xml_default_limits;
	p->resp.max_results = 100;
	p->resp.ttl_s = 300;
	{
		struct wss_verifier_cfg vc = { .ca_pem = p->tls.ca, .community = p->community, .clock_skew_s = 60,
			.max_ttl_s = 600, .replay = NULL };
		assert_int_equal(wss_verifier_new(&vc, &p->verifier), HIE_OK);
		assert_int_equal(wss_signer_new(p->tls.cert, p->tls.key, &p->signer), HIE_OK);
		p->resp.verifier = p->verifier;
		p->resp.signer = p->signer;
	}
	assert_int_equal(nng_rep0_open(&p->sock), 0);
	assert_int_equal(node_tls_config(&p->tls, NULL, &p->cfg), HIE_OK);
	assert_int_equal(nng_listener_create(&l, p->sock, p->addr), 0);
	assert_int_equal(nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, p->cfg), 0);
	assert_int_equal(nng_listener_start(l, 0), 0);
	for (int k = 0; k < NCTX; k++) {
		struct pctx *c = &p->c[k];
		c->p = p;
		assert_int_equal(nng_ctx_open(&c->ctx, p->sock), 0);
		assert_int_equal(nng_aio_alloc(&c->aio, pctx_cb, c), 0);
		assert_int_equal(nng_aio_alloc(&c->timer, pctx_cb, c), 0);
		nng_ctx_recv(c->ctx, c->aio);
	}
}

static void
peer_stop(struct peer *p)
{
	for (int k = 0; k < NCTX; k++) {
		nng_aio_stop(p->c[k].timer);
		nng_aio_stop(p->c[k].aio);
	}
	nng_close(p->sock);
	for (int k = 0; k < NCTX; k++) {
		if (p->c[k].state == 1 && p->c[k].resp != NULL)
			nng_msg_free(p->c[k].resp);
		nng_aio_free(p->c[k].timer);
		nng_aio_free(p->c[k].aio);
	}
	nng_tls_config_free(p->cfg);
	node_tls_free(&p->tls);
	wss_signer_free(p->signer);
	wss_verifier_free(p->verifier);
	mpi_close(p->mpi);
	reg_close(p->reg);
	hie_store_close(p->env);
}

/* A fan-out to peers[first..first+n). */
static xca_fanout *
fanout(size_t first, size_t n, int peer_deadline, int overall)
{
	struct node_peers     dirp;
	struct xca_fanout_cfg fc;
	xca_fanout           *fo;

	dirp.n = n;
	dirp.v = calloc(n, sizeof(*dirp.v));
	for (size_t i = 0; i < n; i++) {
		strcpy(dirp.v[i].name, peers[first + i].name);
		strcpy(dirp.v[i].community, peers[first + i].community);
		strcpy(dirp.v[i].address, peers[first + i].addr);
	}
	memset(&fc, 0, sizeof(fc));
	fc.peers = &dirp;
	fc.tls = &coord_tls;
	fc.home = COORD;
	fc.peer_deadline_ms = peer_deadline;
	fc.overall_deadline_ms = overall;
	fc.max_results = 1000;
	fc.max_message_bytes = 1 << 20;
	fc.lim = hie_xml_default_limits;
	fc.ttl_s = 300;
	fc.clock_skew_s = 60;
	assert_int_equal(xca_fanout_new(&fc, &fo), HIE_OK);
	free(dirp.v);
	/* TLS handshakes are slow under ASan on a loaded machine. */
	for (int tries = 0; tries < 200; tries++) {
		size_t up = 0;
		for (size_t i = 0; i < n; i++)
			up += xca_fanout_peer_connected(fo, i, NULL) != 0;
		if (up == n)
			break;
		nng_msleep(100);
	}
	return fo;
}

static int
setup(void **state)
{
	char p[400], sub[400];

	(void) state;
	tu_tmpdir(dir);
	snprintf(p, sizeof(p), "%s/ca", dir);
	assert_int_equal(cert_ca_init(p, "test CA", 2), HIE_OK);
	snprintf(sub, sizeof(sub), "%s/coordinator", dir);
	assert_int_equal(cert_issue(p, "coordinator", COORD, 1, sub), HIE_OK);
	load_tls("coordinator", &coord_tls);
	for (size_t i = 0; i < NPEERS; i++)
		peer_start(&peers[i], i);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	for (size_t i = 0; i < NPEERS; i++)
		peer_stop(&peers[i]);
	node_tls_free(&coord_tls);
	tu_rmtree(dir);
	return 0;
}

/* What the callbacks saw. */
static nng_mtx           *mtx;
static nng_cv            *cv;
static struct xca_result *result;
static int                done;
static struct seen {
	char            name[NODE_STR];
	enum xca_status status;
	size_t          ndocs, wanted;
	int64_t         at;
	int             after_done;
} seen[16];
static size_t  nseen;
static int64_t t_start;

static void
on_peer(const struct xca_peer_result *p, const struct reg_entry *docs, size_t ndocs, void *arg)
{
	(void) arg;
	nng_mtx_lock(mtx);
	if (nseen < 16) {
		struct seen *s = &seen[nseen++];
		snprintf(s->name, sizeof(s->name), "%s", p->name);
		s->status = p->status;
		s->ndocs = ndocs;
		s->wanted = p->documents;
		s->at = hie_now_ms() - t_start;
		s->after_done = done;
		/* The entries are the peer's own. */
		for (size_t i = 0; i < ndocs; i++)
			assert_string_equal(docs[i].home_community, p->community);
	}
	nng_mtx_unlock(mtx);
}

static void
on_done(struct xca_result *res, void *arg)
{
	(void) arg;
	nng_mtx_lock(mtx);
	result = res;
	done = 1;
	nng_cv_wake(cv);
	nng_mtx_unlock(mtx);
}

static struct xca_result *
run(xca_fanout *fo, const struct mpi_patient *who, const struct xca_query_opts *o)
{
	struct reg_query q;

	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, A1);
	q.approved_only = 1;
	q.max_results = 1000;
	nng_mtx_lock(mtx);
	done = 0;
	nseen = 0;
	result = NULL;
	t_start = hie_now_ms();
	nng_mtx_unlock(mtx);
	assert_int_equal(xca_fanout_query_opts(fo, &q, who, &claims, "t-stream", o, on_done, NULL), HIE_OK);
	nng_mtx_lock(mtx);
	while (!done)
		nng_cv_wait(cv);
	nng_mtx_unlock(mtx);
	return result;
}

static const struct xca_peer_result *
final(const struct xca_result *r, const char *name)
{
	for (size_t i = 0; i < r->npeers; i++)
		if (strcmp(r->peers[i].name, name) == 0)
			return &r->peers[i];
	fail_msg("no result for %s", name);
	return NULL;
}

static void
test_stream(void **state)
{
	static const char *const order[] = { "fast", "middle", "slow", "hung" };
	static const size_t      ndocs[] = { 2, 3, 1, 0 };
	xca_fanout              *fo = fanout(0, 4, 1500, 3000);
	struct xca_query_opts    o = { .on_peer = on_peer };
	struct xca_result       *plain, *streamed;

	(void) state;
	plain = run(fo, NULL, NULL);
	assert_int_equal(nseen, 0);
	streamed = run(fo, NULL, &o);
	print_message("streamed query in %lld ms; peers as they came:\n", (long long) streamed->ms);
	for (size_t i = 0; i < nseen; i++)
		print_message("  +%lld ms %s %s %zu documents\n", (long long) seen[i].at, seen[i].name,
		    xca_status_name(seen[i].status), seen[i].ndocs);
	/* Every peer once, in the order of their delays, all before done. */
	assert_int_equal(nseen, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(seen[i].name, order[i]);
		assert_int_equal(seen[i].ndocs, ndocs[i]);
		assert_int_equal(seen[i].after_done, 0);
		assert_int_equal(seen[i].status, i < 3 ? XCA_OK : XCA_TIMEOUT);
	}
	/* The final result is the plain query's. */
	assert_int_equal(streamed->npeers, plain->npeers);
	for (size_t i = 0; i < plain->npeers; i++) {
		assert_string_equal(streamed->peers[i].name, plain->peers[i].name);
		assert_int_equal(streamed->peers[i].status, plain->peers[i].status);
		assert_int_equal(streamed->peers[i].documents, plain->peers[i].documents);
	}
	assert_int_equal(streamed->docs.n, 6);
	assert_int_equal(streamed->docs.n, plain->docs.n);
	for (size_t i = 0; i < plain->docs.n; i++)
		assert_string_equal(streamed->docs.v[i].unique_id, plain->docs.v[i].unique_id);
	xca_result_free(plain);
	xca_result_free(streamed);
	xca_fanout_release(fo);
}

static void
test_budget(void **state)
{
	xca_fanout           *fo = fanout(4, 3, 1500, 2000);
	struct mpi_patient    who;
	struct xca_query_opts o = { .on_peer = on_peer };
	struct xca_result    *r;

	(void) state;
	memset(&who, 0, sizeof(who));
	who.n_names = 1;
	strcpy(who.names[0].given, "Alice");
	strcpy(who.names[0].family, "Hoffmann");
	strcpy(who.birth_date, "19750314");
	who.sex = 'F';
	who.n_ids = 1;
	strcpy(who.ids[0].type, "MR");
	strcpy(who.ids[0].cx.id, "A-1");
	strcpy(who.ids[0].cx.authority, "1.2.5.1.7");
	r = run(fo, &who, &o);
	print_message("discovery + ITI-38 with one 2,000 ms budget (peer deadline 1,500 ms): %lld ms\n",
	    (long long) r->ms);
	for (size_t i = 0; i < r->npeers; i++)
		print_message("  %s %s %lld ms docs=%zu %s\n", r->peers[i].name, xca_status_name(r->peers[i].status),
		    (long long) r->peers[i].ms, r->peers[i].documents, r->peers[i].error);
	for (size_t i = 0; i < nseen; i++)
		print_message("  streamed +%lld ms %s %s\n", (long long) seen[i].at, seen[i].name,
		    xca_status_name(seen[i].status));
	assert_int_equal(r->npeers, 3);
	assert_int_equal(final(r, "quick")->status, XCA_OK);
	assert_int_equal(final(r, "quick")->documents, 1);
	/* Not answering discovery by the peer deadline: timeout. */
	assert_int_equal(final(r, "late")->status, XCA_TIMEOUT);
	/* Discovery took 1,200 of the 2,000 ms: ITI-38 had the rest, not a
	 * fresh peer deadline. */
	assert_int_equal(final(r, "eater")->status, XCA_TIMEOUT);
	assert_int_equal(r->docs.n, 1);
	/* Streamed: every peer once, in the order they finished. */
	assert_int_equal(nseen, 3);
	assert_string_equal(seen[0].name, "quick");
	assert_int_equal(seen[0].ndocs, 1);
	assert_string_equal(seen[1].name, "late");
	assert_int_equal(seen[1].status, XCA_TIMEOUT);
	assert_string_equal(seen[2].name, "eater");
	xca_result_free(r);

	/* A smaller budget from the caller (hie-query --deadline) is kept:
	 * 1,000 ms ends discovery for eater too; quick is unharmed. */
	o.budget_ms = 1000;
	r = run(fo, &who, &o);
	print_message("with a 1,000 ms budget: %lld ms\n", (long long) r->ms);
	assert_int_equal(final(r, "quick")->status, XCA_OK);
	assert_int_equal(final(r, "eater")->status, XCA_TIMEOUT);
	assert_int_equal(final(r, "late")->status, XCA_TIMEOUT);
	xca_result_free(r);
	xca_fanout_release(fo);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_budget),
	};
	int rc;

	hie_log_set_level(HIE_LOG_ERR);
	hie_xml_init();
	nng_mtx_alloc(&mtx);
	nng_cv_alloc(&cv, mtx);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	nng_cv_free(cv);
	nng_mtx_free(mtx);
	return rc;
}
