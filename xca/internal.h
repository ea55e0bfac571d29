/*
 * xca/internal.h -- shared by the files of the xca module only: the peer
 * connections and the generic "call every chosen peer, bounded by deadlines"
 * machinery that each outbound transaction (ITI-38 query, ITI-39 retrieve)
 * plugs into with a table of operations.
 */
#ifndef XCA_INTERNAL_H
#define XCA_INTERNAL_H

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <stdatomic.h>

#include "node/mtom.h"
#include "node/soap.h"
#include "xca/xca.h"

struct xca_call;

struct peer_conn {
	struct node_peer p;
	nng_socket       sock;
	int              sock_open;
	nng_tls_config  *tls;
	atomic_int       npipes;
	int64_t          opened_ms;
	/* When its last connection dropped (0: never): a peer restarting its
	 * listener (a certificate rotation) is back within a second. */
	_Atomic int64_t  lost_ms;
	/* Calls waiting on this peer: when its connection drops they fail at
	 * once (nng's REQ would otherwise wait for a new pipe and resend, so a
	 * peer that closes mid-answer, or whose answer is over
	 * max_message_bytes, would hold the call until its deadline). */
	nng_mtx         *mtx;
	struct xca_call *inflight;
	uint32_t         pipe_id; /* the connection added (0: none), under mtx */
	int              https;  /* an https:// SOAP endpoint, called by https.c */
	/* How long this peer took to answer lately (moving average, ms; 0:
	 * not known yet): requests are signed and sent to the slowest peers
	 * first, so the query waits on the slowest peer's delay, not on that
	 * delay plus the signing of every other request. */
	atomic_int       expect_ms;
	/* The last xca_peer_listening probe: when (0: never) and its answer. */
	_Atomic int64_t  probe_ms;
	atomic_int       probe_up;
};

/* Whether the peer's port accepts TCP connections now (a plain connect,
 * no TLS; answers cached briefly).  A peer whose connection dropped and
 * whose port still accepts is restarting its listener, not down. */
int xca_peer_listening(struct peer_conn *pc);

struct xca_https;

struct xca_fanout {
	atomic_int            refs;
	struct peer_conn     *peers;
	size_t                n;
	char                  home[NODE_STR];
	int                   peer_deadline_ms;
	int                   overall_deadline_ms;
	size_t                max_results;
	size_t                max_message_bytes;
	struct hie_xml_limits lim;
	wss_signer           *signer;   /* signs our requests */
	wss_verifier         *verifier; /* checks peers' responses */
	int                   ttl_s;
	struct xca_https     *https;    /* NULL unless a peer is https:// */
};

struct xca_op;

/* One request to one peer. */
struct xca_call {
	struct xca_op          *op;
	size_t                  peer;     /* index in fo->peers */
	struct xca_peer_result *pr;       /* where the outcome goes */
	nng_aio                *aio;
	nng_ctx                 ctx;
	int                     ctx_open;
	int                     receiving;
	int                     lost;     /* the peer's connection dropped */
	int                     retried;  /* resent once after a dropped connection */
	int                     reconnect_wait; /* ms: the send waits this long after the drop for the peer to reconnect */
	struct xca_call        *next, *prev; /* in the peer's inflight list */
	int64_t                 t0;
	int64_t                 deadline; /* t0 + min(peer, overall deadline) */
	int64_t                 sent;     /* when the request went out (0: not yet) */
	struct xca_call        *qnext;    /* in the signing queue (call.c) */
	char                    msgid[46];
	/* What the peer sent, by transaction. */
	struct reg_result       docs;     /* ITI-38 */
	char                   *doc;      /* ITI-39, malloc'd */
	size_t                  doclen;
	char                    mime[64];
	const struct mtom_msg  *att;      /* the answer's MTOM parts while kind->read runs; NULL: plain SOAP */
};

struct xca_op_kind {
	const char *transaction;     /* "ITI-38", for logs */
	const char *action;          /* request wsa:Action */
	const char *response_action; /* expected response wsa:Action */
	/* Appends the request body for call c. */
	hie_err (*build)(struct xca_op *op, struct xca_call *c, xmlNode *body);
	/* Reads a response (not a fault, right action) into c; returns the
	 * call's status, with the reason in why when not XCA_OK. */
	enum xca_status (*read)(struct xca_op *op, struct xca_call *c, xmlNode *body, char *why, size_t cap);
	/* Sent as MTOM/XOP (multipart/related) to https:// peers: ITI-39
	 * requires it (ITI TF-2b 3.39.5.1), and standard gateways answer in
	 * kind; the nng link carries plain SOAP. */
	int mtom;
	/* Every call is finished: hand the results over.  Runs once, on an
	 * nng thread; must not block. */
	void (*complete)(struct xca_op *op);
	/* Optional: call c has its outcome (c->pr; c->docs when ok), before
	 * complete; calls of one operation are passed one at a time. */
	void (*finished)(struct xca_op *op, struct xca_call *c);
};

struct xca_op {
	xca_fanout               *fo;
	const struct xca_op_kind *kind;
	nng_mtx                  *mtx;
	size_t                    pending;
	struct xca_call          *calls;
	size_t                    ncalls;
	int64_t                   t0;
	int64_t                   until;  /* the whole query's deadline (hie_now_ms clock) */
	char                      rid[33];
	struct wss_claims         claims; /* who asks: goes in each request's assertion */
	void                     *ctx;    /* the kind's own state */
};

/*
 * Starts kind's request to each peer in peers[n] (indexes in fo->peers),
 * each call's outcome going to results[i].  Each call ends by the peer
 * deadline and by until, the whole query's deadline (0: the overall
 * deadline from now), whichever comes first.  On HIE_OK, kind->complete
 * runs exactly once when the last call finishes (possibly before this
 * returns); on an error nothing was started.
 */
hie_err xca_op_start(xca_fanout *fo, const struct xca_op_kind *kind, const size_t *peers, size_t n,
    struct xca_peer_result *results, const struct wss_claims *claims, void *ctx, const char *rid, int64_t until);

/* The absolute deadline of a query with budget_ms (0, or more than the
 * configured overall deadline: the overall deadline) starting now. */
int64_t xca_until(const xca_fanout *fo, int budget_ms);

/* In discover.c: discovery, each call ending by until; each (optional)
 * gets every peer's outcome as soon as it is known (peer: its index in
 * fo->peers), one at a time, before fn. */
typedef void (*xca_disc_each_fn)(const struct xca_discovered *d, size_t peer, void *arg);
hie_err xca_discover_start(xca_fanout *fo, const struct mpi_patient *who, const struct wss_claims *claims,
    const char *rid, int64_t until, xca_disc_each_fn each, void *each_arg, xca_discover_fn fn, void *arg);
/* In discover.c: discovery, then ITI-38 to the peers that matched
 * (xca_fanout_query_opts with who). */
hie_err xca_discover_query_start(xca_fanout *fo, const struct reg_query *q, const struct mpi_patient *who,
    const struct wss_claims *claims, const char *rid, const struct xca_query_opts *opts, xca_done_fn done,
    void *arg);

/* ---- https.c: peers that are https:// SOAP endpoints ---- */
hie_err xca_https_new(const struct node_tls_material *tls, size_t max_bytes, struct xca_https **out);
void    xca_https_free(struct xca_https *h);
/* Posts body (malloc'd; taken over, even on error) to url, as ctype
 * (NULL: SOAP 1.2 with action); when the transfer ends,
 * xca_call_https_done runs on the engine's thread. */
hie_err xca_https_post(struct xca_https *h, struct xca_call *c, const char *url, const char *action,
    const char *ctype, char *body, size_t len, int timeout_ms);
/* In call.c: the transfer timed out, failed (err), or brought body of
 * Content-Type ctype. */
void xca_call_https_done(struct xca_call *c, int timed_out, const char *err, const char *ctype, const char *body,
    size_t len);

/* query.c: out gets v[k] (malloc'd, taken over) filtered by q, one
 * entry per uniqueId, newest first, at most max. */
void xca_docs_merge(const struct reg_query *q, size_t max, struct reg_entry *v, size_t k, struct reg_result *out);

/* Whether an entry a peer returned meets the query's type, creation time
 * and confidentiality filters (filter.c). */
int xca_entry_wanted(const struct reg_query *q, const struct reg_entry *e);

#endif /* XCA_INTERNAL_H */
