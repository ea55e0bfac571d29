/*
 * tests/unit/fanout_peers.h -- the scaffolding of the fan-out tests
 * (test_fanout, test_fanout_faults, test_fanout_stream, test_xcpd): a test
 * CA and the coordinator's certificate, responder peers on loopback (an nng
 * REP socket over tls+tcp with mutual TLS, certificates issued by the
 * project's certs module, a real xca_responder that verifies the signed
 * requests and signs its answers), the peer directory of a fan-out, the
 * coordinator's claims, waiting for the fan-out's dialers, and waiting for
 * a query's (or a discovery's or a retrieve's) callback.  Nothing is mocked.
 *
 * What a test keeps for itself: how its peers misbehave (an fp_answer_fn),
 * what is in their stores, its cases and its assertions.
 *
 * A test's own peer type embeds struct fp_peer as its FIRST member, so that
 * an fp_answer_fn can cast the fp_peer back to it.
 *
 * Failures are cmocka assertions (the test stops), except inside nng
 * callbacks (the answering side), where nothing can stop the test: there
 * a failure answers nothing and the test fails on the peer's status.
 */
#ifndef TESTS_UNIT_FANOUT_PEERS_H
#define TESTS_UNIT_FANOUT_PEERS_H

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "mpi/mpi.h"
#include "node/store.h"
#include "testutil.h"
#include "xca/xca.h"

/* ---- certificates ---- */

/* Loads dir/sub/node.crt, node.key and ca.crt into *m (node_tls_free). */
void fp_load_tls(const char *dir, const char *sub, struct node_tls_material *m);

/* ---- responder peers ---- */

/* What a peer does with one request. */
enum fp_action {
	FP_SEND, /* send out (after *delay_ms, counted from the request's arrival) */
	FP_SKIP, /* answer nothing; this context receives the next request */
	FP_HANG, /* answer nothing and never receive again on this context */
};
struct fp_peer;
/* Called on an nng thread with the request (freed by the caller after the
 * call) and an empty message out to fill (sent, or freed if not FP_SEND).
 * *delay_ms is 0 on entry.  NULL answer: fp_respond, sent at once. */
typedef enum fp_action (*fp_answer_fn)(struct fp_peer *p, nng_msg *req, nng_msg *out, int *delay_ms);

#define FP_MAXCTX 4

struct fp_peer {
	/* Set by the test. */
	const char  *name, *community;
	fp_answer_fn answer;
	/* Set by fp_peer_cert: the address it listens on (tls+tcp on
	 * 127.0.0.1, a free port) and its certificate, key and CA. */
	char                     addr[64];
	struct node_tls_material tls;
	/* fp_peer_listen (or the test, for a listener of its own). */
	nng_tls_config *cfg;
	/* fp_peer_responder: answers as community, signed by the peer's key;
	 * the test may change resp (home, signer) afterwards. */
	struct xca_responder resp;
	wss_signer          *signer;
	wss_verifier        *verifier;
	/* fp_peer_store: the peer's own LMDB with a registry and an MPI. */
	MDB_env *env;
	reg     *reg;
	mpi     *mpi;
	/* Private to fanout_peers.c. */
	nng_socket sock;
	size_t     nctx;
	struct fp_ctx {
		struct fp_peer *p;
		nng_ctx         ctx;
		nng_aio        *aio, *timer;
		nng_msg        *msg; /* waiting for its delay */
		int             state;
	} c[FP_MAXCTX];
};

/* The certificate of p->name for p->community issued by the CA in dir/ca_sub
 * (into dir/<name>), loaded into p->tls; p->addr a free loopback port. */
void fp_peer_cert(struct fp_peer *p, const char *dir, const char *ca_sub);
/* Opens dir/<name>/db with a registry and an MPI in p->env, p->reg, p->mpi. */
void fp_peer_store(struct fp_peer *p, const char *dir);
/* p->resp answering from r (and m, may be NULL) as p->community for
 * repository_id, verifying requests against p->tls.ca and signing with
 * p->tls's key (p->signer, p->verifier); max 100 results, ttl 300 s. */
void fp_peer_responder(struct fp_peer *p, reg *r, mpi *m, const char *repository_id);
/* A REP socket on p->addr with p->tls (p->cfg made here if NULL), nctx
 * (1..FP_MAXCTX) contexts each answering one request at a time. */
void fp_peer_listen(struct fp_peer *p, size_t nctx);
/* Stops the contexts and closes the socket (if listening), then frees
 * whatever of cfg, tls, signer, verifier, mpi, reg and env the peer has. */
void fp_peer_stop(struct fp_peer *p);
/* The default answer: xca_respond on p->resp, its answer appended to out;
 * *o its outcome.  The responder's own error answer is sent as it is. */
void fp_respond(struct fp_peer *p, nng_msg *req, nng_msg *out, struct xca_outcome *o);

/* ---- the fan-out ---- */

/* *fc with the coordinator's tls and home, the two deadlines, max 1000
 * results, 1 MiB messages, the default XML limits, ttl 300 s, 60 s skew;
 * no peers (fp_fanout_new sets them). */
void fp_fanout_cfg(struct xca_fanout_cfg *fc, const struct node_tls_material *tls, const char *home,
    int peer_deadline_ms, int overall_deadline_ms);
/* A fan-out with fc to peers[0..n) (name, community, addr), in that order;
 * released by the caller (xca_fanout_release).  fc->peers is left NULL. */
xca_fanout *fp_fanout_new(struct xca_fanout_cfg *fc, struct fp_peer *const *peers, size_t n);
/* Polls every step_ms, at most tries times, until the first n peers of fo
 * are connected; returns how many are. */
size_t fp_wait_connected(const xca_fanout *fo, size_t n, int tries, int step_ms);
/* The result of the peer called name (fails the test if there is none). */
const struct xca_peer_result *fp_peer_result(const struct xca_result *r, const char *name);

/* ---- waiting for a callback ---- */

struct fp_wait {
	nng_mtx *mtx; /* guards the rest; a streaming callback may take it */
	nng_cv  *cv;
	void    *got; /* what the callback handed over (the caller frees it) */
	int      done;
	int64_t  t0; /* hie_now_ms() at fp_wait_arm */
};
/* Before starting the call: not done, nothing got, the clock started. */
void fp_wait_arm(struct fp_wait *w);
/* Callbacks for xca_fanout_query*, _discover and _retrieve, arg = the wait. */
void fp_on_result(struct xca_result *res, void *arg);
void fp_on_discovery(struct xca_discovery *d, void *arg);
void fp_on_retrieved(struct xca_retrieved *r, void *arg);
/* Blocks until the callback ran; returns what it got, *ms (may be NULL)
 * the time since fp_wait_arm. */
void *fp_wait_done(struct fp_wait *w, int64_t *ms);
/* xca_fanout_query of q with claims, waited for: the result (the caller
 * frees it with xca_result_free), *ms from the call to the callback. */
struct xca_result *fp_query(struct fp_wait *w, xca_fanout *fo, const struct reg_query *q,
    const struct wss_claims *claims, const char *rid, int64_t *ms);

/* ---- the coordinator's side, set up once per test program ---- */

struct fp_world {
	char                     dir[256];  /* a fresh temp dir */
	struct node_tls_material coord_tls; /* dir/coordinator, issued by dir/ca */
	struct wss_claims        claims;    /* Dr. Test, medical doctor, TREATMENT */
	struct fp_wait           w;         /* for the queries of the test */
	MDB_env                 *env; /* fp_world_registry */
	reg                     *reg;
};
/* A temp dir with a CA in dir/ca ("test CA") and the coordinator's
 * certificate for community in dir/coordinator, loaded; claims of the
 * coordinator's clinician, organisation and home community both community;
 * w ready. */
void fp_world_init(struct fp_world *W, const char *community);
/* A registry in dir/db holding the first ndemo documents of conf/demo
 * (tu_load_demo, repository 1.2.3.9.1), for peers to answer from. */
void fp_world_registry(struct fp_world *W, size_t ndemo);
/* Frees all fp_world_init and fp_world_registry made and removes dir (stop
 * the peers first). */
void fp_world_fini(struct fp_world *W);

#endif
