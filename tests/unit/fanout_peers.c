/*
 * tests/unit/fanout_peers.c -- see fanout_peers.h.
 */
#include "fanout_peers.h"

#include <nng/protocol/reqrep0/rep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/cert.h"

/* ---- the test's CA and coordinator ---- */

void
fp_load_tls(const char *dir, const char *sub, struct node_tls_material *m)
{
	/* Sized for dir (a temp dir) and sub: -O2 checks the worst case. */
	char c[1024], k[1024], ca[1024];

	snprintf(c, sizeof(c), "%s/%s/node.crt", dir, sub);
	snprintf(k, sizeof(k), "%s/%s/node.key", dir, sub);
	snprintf(ca, sizeof(ca), "%s/%s/ca.crt", dir, sub);
	assert_int_equal(node_tls_load(c, k, ca, NULL, m), HIE_OK);
}

/* ---- responder peers ---- */

enum { RECEIVING, WAITING, SENDING };

void
fp_respond(struct fp_peer *p, nng_msg *req, nng_msg *out, struct xca_outcome *o)
{
	char  *ans;
	size_t len;

	xca_respond(&p->resp, nng_msg_body(req), nng_msg_len(req), "t", &ans, &len, o);
	nng_msg_append(out, ans, len);
	free(ans);
}

static void
ctx_send(struct fp_ctx *c, nng_msg *msg)
{
	__atomic_store_n(&c->state, SENDING, __ATOMIC_RELEASE);
	nng_aio_set_msg(c->aio, msg);
	nng_ctx_send(c->ctx, c->aio);
}

/* One context's loop: receive, answer (now or after a delay), send,
 * receive again.  The aio and the timer share this callback; the state
 * says which of them finished. */
static void
ctx_cb(void *arg)
{
	struct fp_ctx  *c = arg;
	struct fp_peer *p = c->p;
	nng_msg        *req, *out;
	enum fp_action  act;
	int             delay = 0;
	int64_t         t0;

	switch (c->state) {
	case RECEIVING:
		if (nng_aio_result(c->aio) != 0)
			return; /* closed */
		t0 = hie_now_ms();
		req = nng_aio_get_msg(c->aio);
		if (nng_msg_alloc(&out, 0) != 0) {
			nng_msg_free(req);
			return;
		}
		if (p->answer != NULL) {
			act = p->answer(p, req, out, &delay);
		} else {
			struct xca_outcome o;
			fp_respond(p, req, out, &o);
			act = FP_SEND;
		}
		nng_msg_free(req);
		if (act != FP_SEND) {
			nng_msg_free(out);
			if (act == FP_SKIP)
				nng_ctx_recv(c->ctx, c->aio);
			return;
		}
		/* The delay runs from the request's arrival: making the
		 * answer is part of it. */
		delay -= (int) (hie_now_ms() - t0);
		if (delay > 0) {
			c->msg = out;
			c->state = WAITING;
			nng_sleep_aio(delay, c->timer);
			return;
		}
		ctx_send(c, out);
		return;
	case WAITING:
		out = c->msg;
		c->msg = NULL;
		if (nng_aio_result(c->timer) != 0) {
			nng_msg_free(out);
			return;
		}
		ctx_send(c, out);
		return;
	default:
		if (nng_aio_result(c->aio) != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			if (nng_aio_result(c->aio) == NNG_ECLOSED)
				return;
		}
		__atomic_store_n(&c->state, RECEIVING, __ATOMIC_RELEASE);
		nng_ctx_recv(c->ctx, c->aio);
	}
}

void
fp_peer_cert(struct fp_peer *p, const char *dir, const char *ca_sub)
{
	char sub[400], ca[400];

	snprintf(sub, sizeof(sub), "%s/%s", dir, p->name);
	snprintf(ca, sizeof(ca), "%s/%s", dir, ca_sub);
	assert_int_equal(cert_issue(ca, p->name, p->community, 1, sub), HIE_OK);
	fp_load_tls(dir, p->name, &p->tls);
	snprintf(p->addr, sizeof(p->addr), "tls+tcp://127.0.0.1:%d", tu_free_port());
}

void
fp_peer_store(struct fp_peer *p, const char *dir)
{
	char db[400];

	snprintf(db, sizeof(db), "%s/%s/db", dir, p->name);
	assert_int_equal(hie_store_open(db, 64, &p->env), HIE_OK);
	assert_int_equal(reg_open(p->env, &p->reg), HIE_OK);
	assert_int_equal(mpi_open(p->env, &p->mpi), HIE_OK);
}

void
fp_peer_responder(struct fp_peer *p, reg *r, mpi *m, const char *repository_id)
{
	/* Each peer checks the coordinator's signed requests and signs its
	 * answers, as a node does. */
	struct wss_verifier_cfg vc = { .ca_pem = p->tls.ca, .community = p->community, .clock_skew_s = 60,
		.max_ttl_s = 600, .replay = NULL };

	assert_int_equal(wss_verifier_new(&vc, &p->verifier), HIE_OK);
	assert_int_equal(wss_signer_new(p->tls.cert, p->tls.key, &p->signer), HIE_OK);
	p->resp.home = p->community;
	p->resp.repository_id = repository_id;
	p->resp.reg = r;
	p->resp.mpi = m;
	p->resp.lim = hie_xml_default_limits;
	p->resp.max_results = 100;
	p->resp.verifier = p->verifier;
	p->resp.signer = p->signer;
	p->resp.ttl_s = 300;
}

void
fp_peer_listen(struct fp_peer *p, size_t nctx)
{
	nng_listener l;

	assert_true(nctx >= 1 && nctx <= FP_MAXCTX);
	if (p->cfg == NULL)
		assert_int_equal(node_tls_config(&p->tls, NULL, &p->cfg), HIE_OK);
	assert_int_equal(nng_rep0_open(&p->sock), 0);
	assert_int_equal(nng_listener_create(&l, p->sock, p->addr), 0);
	assert_int_equal(nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, p->cfg), 0);
	assert_int_equal(nng_listener_start(l, 0), 0);
	p->nctx = nctx;
	for (size_t k = 0; k < nctx; k++) {
		struct fp_ctx *c = &p->c[k];
		c->p = p;
		c->state = RECEIVING;
		c->msg = NULL;
		assert_int_equal(nng_ctx_open(&c->ctx, p->sock), 0);
		assert_int_equal(nng_aio_alloc(&c->aio, ctx_cb, c), 0);
		assert_int_equal(nng_aio_alloc(&c->timer, ctx_cb, c), 0);
		nng_ctx_recv(c->ctx, c->aio);
	}
}

void
fp_peer_stop(struct fp_peer *p)
{
	if (p->nctx > 0) {
		/* Let answers being sent finish first (at most 15 s): nng 1.5.2
		 * can hang for good in nng_close on a TLS pipe that is still
		 * writing a large message (test_fanout_faults' 45 MB answer). */
		for (int waited = 0; waited < 1500; waited++) {
			int sending = 0;
			for (size_t k = 0; k < p->nctx; k++)
				sending |= __atomic_load_n(&p->c[k].state, __ATOMIC_ACQUIRE) == SENDING;
			if (!sending)
				break;
			nng_msleep(10);
		}
		for (size_t k = 0; k < p->nctx; k++) {
			nng_aio_stop(p->c[k].timer);
			nng_aio_stop(p->c[k].aio);
		}
		nng_close(p->sock);
		for (size_t k = 0; k < p->nctx; k++) {
			if (p->c[k].msg != NULL)
				nng_msg_free(p->c[k].msg);
			nng_aio_free(p->c[k].timer);
			nng_aio_free(p->c[k].aio);
		}
		p->nctx = 0;
	}
	if (p->cfg != NULL)
		nng_tls_config_free(p->cfg);
	p->cfg = NULL;
	node_tls_free(&p->tls);
	wss_signer_free(p->signer);
	wss_verifier_free(p->verifier);
	p->signer = NULL;
	p->verifier = NULL;
	if (p->mpi != NULL)
		mpi_close(p->mpi);
	if (p->reg != NULL)
		reg_close(p->reg);
	hie_store_close(p->env);
	p->mpi = NULL;
	p->reg = NULL;
	p->env = NULL;
}

/* ---- the fan-out ---- */

void
fp_fanout_cfg(struct xca_fanout_cfg *fc, const struct node_tls_material *tls, const char *home,
    int peer_deadline_ms, int overall_deadline_ms)
{
	memset(fc, 0, sizeof(*fc));
	fc->tls = tls;
	fc->home = home;
	fc->peer_deadline_ms = peer_deadline_ms;
	fc->overall_deadline_ms = overall_deadline_ms;
	fc->max_results = 1000;
	fc->max_message_bytes = 1 << 20;
	fc->lim = hie_xml_default_limits;
	fc->ttl_s = 300;
	fc->clock_skew_s = 60;
}

xca_fanout *
fp_fanout_new(struct xca_fanout_cfg *fc, struct fp_peer *const *peers, size_t n)
{
	struct node_peers dirp;
	xca_fanout       *fo;

	dirp.n = n;
	dirp.v = calloc(n + 1, sizeof(*dirp.v));
	assert_non_null(dirp.v);
	for (size_t i = 0; i < n; i++) {
		snprintf(dirp.v[i].name, sizeof(dirp.v[i].name), "%s", peers[i]->name);
		snprintf(dirp.v[i].community, sizeof(dirp.v[i].community), "%s", peers[i]->community);
		snprintf(dirp.v[i].address, sizeof(dirp.v[i].address), "%s", peers[i]->addr);
	}
	fc->peers = &dirp;
	assert_int_equal(xca_fanout_new(fc, &fo), HIE_OK);
	fc->peers = NULL;
	free(dirp.v);
	return fo;
}

size_t
fp_wait_connected(const xca_fanout *fo, size_t n, int tries, int step_ms)
{
	size_t up = 0;

	for (int t = 0; t < tries; t++) {
		up = 0;
		for (size_t i = 0; i < n; i++)
			up += xca_fanout_peer_connected(fo, i, NULL) != 0;
		if (up == n)
			break;
		nng_msleep(step_ms);
	}
	return up;
}

const struct xca_peer_result *
fp_peer_result(const struct xca_result *r, const char *name)
{
	for (size_t i = 0; i < r->npeers; i++)
		if (strcmp(r->peers[i].name, name) == 0)
			return &r->peers[i];
	fail_msg("no result for %s", name);
	return NULL;
}

/* ---- waiting for a callback ---- */

static void
fp_wait_init(struct fp_wait *w)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(nng_mtx_alloc(&w->mtx), 0);
	assert_int_equal(nng_cv_alloc(&w->cv, w->mtx), 0);
}

static void
fp_wait_fini(struct fp_wait *w)
{
	nng_cv_free(w->cv);
	nng_mtx_free(w->mtx);
}

void
fp_wait_arm(struct fp_wait *w)
{
	nng_mtx_lock(w->mtx);
	w->got = NULL;
	w->done = 0;
	w->t0 = hie_now_ms();
	nng_mtx_unlock(w->mtx);
}

static void
wake(struct fp_wait *w, void *got)
{
	nng_mtx_lock(w->mtx);
	w->got = got;
	w->done = 1;
	nng_cv_wake(w->cv);
	nng_mtx_unlock(w->mtx);
}

void
fp_on_result(struct xca_result *res, void *arg)
{
	wake(arg, res);
}

void
fp_on_discovery(struct xca_discovery *d, void *arg)
{
	wake(arg, d);
}

void
fp_on_retrieved(struct xca_retrieved *r, void *arg)
{
	wake(arg, r);
}

void *
fp_wait_done(struct fp_wait *w, int64_t *ms)
{
	void *got;

	nng_mtx_lock(w->mtx);
	while (!w->done)
		nng_cv_wait(w->cv);
	got = w->got;
	nng_mtx_unlock(w->mtx);
	if (ms != NULL)
		*ms = hie_now_ms() - w->t0;
	return got;
}

struct xca_result *
fp_query(struct fp_wait *w, xca_fanout *fo, const struct reg_query *q, const struct wss_claims *claims,
    const char *rid, int64_t *ms)
{
	fp_wait_arm(w);
	assert_int_equal(xca_fanout_query(fo, q, claims, rid, fp_on_result, w), HIE_OK);
	return fp_wait_done(w, ms);
}

/* ---- the coordinator's side ---- */

void
fp_world_init(struct fp_world *W, const char *community)
{
	char ca[400], sub[400];
	struct wss_claims *c = &W->claims;

	memset(W, 0, sizeof(*W));
	tu_tmpdir(W->dir);
	snprintf(ca, sizeof(ca), "%s/ca", W->dir);
	assert_int_equal(cert_ca_init(ca, "test CA", 2), HIE_OK);
	snprintf(sub, sizeof(sub), "%s/coordinator", W->dir);
	assert_int_equal(cert_issue(ca, "coordinator", community, 1, sub), HIE_OK);
	fp_load_tls(W->dir, "coordinator", &W->coord_tls);
	strcpy(c->subject_id, "Dr. Test");
	strcpy(c->subject_role, "112247003");
	strcpy(c->organization, "coordinator");
	snprintf(c->organization_id, sizeof(c->organization_id), "%s", community);
	snprintf(c->home_community, sizeof(c->home_community), "%s", community);
	strcpy(c->purpose_of_use, "TREATMENT");
	fp_wait_init(&W->w);
}

void
fp_world_registry(struct fp_world *W, size_t ndemo)
{
	char db[400];

	snprintf(db, sizeof(db), "%s/db", W->dir);
	assert_int_equal(hie_store_open(db, 64, &W->env), HIE_OK);
	assert_int_equal(reg_open(W->env, &W->reg), HIE_OK);
	tu_load_demo(W->reg, "1.2.3.9.1", ndemo);
}

void
fp_world_fini(struct fp_world *W)
{
	node_tls_free(&W->coord_tls);
	if (W->reg != NULL)
		reg_close(W->reg);
	hie_store_close(W->env);
	W->reg = NULL;
	W->env = NULL;
	tu_rmtree(W->dir);
	fp_wait_fini(&W->w);
}
