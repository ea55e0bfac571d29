/*
 * node/peerlink.c -- the peer link listener: nng REP over tls+tcp with
 * mutual TLS.  A fixed pool of contexts, each an aio state machine
 * (receive, answer, send), so concurrency is bounded and no thread waits on
 * a slow peer.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"
#include "node/metrics.h"

#define WORKERS 32

struct worker {
	struct node *n;
	nng_aio     *aio;
	nng_ctx      ctx;
	int          sending;
};

struct peerlink {
	nng_socket      sock;
	nng_tls_config *tls;
	struct worker   w[WORKERS];
};

static void
answer(struct worker *w, nng_msg *req)
{
	struct xca_outcome out;
	char               rid[33];
	char              *resp;
	size_t             rlen;
	int64_t            t0 = hie_now_ms();
	nng_msg           *msg = NULL;

	hie_request_id(rid);
	if (xca_respond(&w->n->responder, nng_msg_body(req), nng_msg_len(req), rid, &resp, &rlen, &out) == HIE_OK) {
		if (nng_msg_alloc(&msg, 0) != 0 || nng_msg_append(msg, resp, rlen) != 0) {
			nng_msg_free(msg);
			msg = NULL;
		}
		free(resp);
	}
	nng_msg_free(req);
	node_audit_inbound(w->n, &out, rid);
	node_metrics_request(out.transaction, out.status, hie_now_ms() - t0);
	hie_log(strcmp(out.status, "ok") == 0 ? HIE_LOG_INFO : HIE_LOG_WARN, "peerlink", "HIE-PEER-REQ", rid,
	    "transaction=%s status=%s ms=%lld requester=\"%s\"%s%s", out.transaction, out.status,
	    (long long) (hie_now_ms() - t0), out.requester, out.detail[0] ? " detail=" : "", out.detail);
	if (msg == NULL) {
		/* Out of memory: no answer; the requester's deadline covers it. */
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	w->sending = 1;
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio);
}

static void
worker_cb(void *arg)
{
	struct worker *w = arg;
	int            rv = nng_aio_result(w->aio);

	if (w->sending) {
		w->sending = 0;
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(w->aio)); /* requester went away */
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return; /* shutting down */
	if (rv != 0) {
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	answer(w, nng_aio_get_msg(w->aio));
}

hie_err
node_peerlink_start(struct node *n)
{
	struct peerlink *pl;
	nng_listener     l;
	hie_err          e;
	int              rv;

	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		return HIE_ENOMEM;
	n->peerlink = pl;
	if (nng_rep0_open(&pl->sock) != 0)
		return HIE_ENOMEM;
	nng_socket_set_size(pl->sock, NNG_OPT_RECVMAXSZ, (size_t) n->cfg.max_message_bytes);
	if ((e = node_tls_config(&n->tls, NULL, &pl->tls)) != HIE_OK)
		return e;
	if ((rv = nng_listener_create(&l, pl->sock, n->cfg.listen_peer)) != 0)
		return HIE_ECONFIG;
	if (nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, pl->tls) != 0)
		return HIE_ETLS;
	if ((rv = nng_listener_start(l, 0)) != 0) {
		hie_log(HIE_LOG_ERR, "peerlink", "HIE-PEER-LISTEN", NULL, "%s: %s", n->cfg.listen_peer, nng_strerror(rv));
		return rv == NNG_EADDRINUSE ? HIE_EBUSY : HIE_ENET;
	}
	for (int i = 0; i < WORKERS; i++) {
		struct worker *w = &pl->w[i];
		w->n = n;
		if (nng_aio_alloc(&w->aio, worker_cb, w) != 0 || nng_ctx_open(&w->ctx, pl->sock) != 0)
			return HIE_ENOMEM;
		nng_ctx_recv(w->ctx, w->aio);
	}
	return HIE_OK;
}

void
node_peerlink_stop(struct node *n)
{
	struct peerlink *pl = n->peerlink;

	if (pl == NULL)
		return;
	/* Stop each worker first: an answer being sent finishes or fails,
	 * none is left half-done, then the socket goes. */
	for (int i = 0; i < WORKERS; i++)
		if (pl->w[i].aio != NULL)
			nng_aio_stop(pl->w[i].aio);
	nng_close(pl->sock);
	for (int i = 0; i < WORKERS; i++)
		if (pl->w[i].aio != NULL)
			nng_aio_free(pl->w[i].aio);
	if (pl->tls != NULL)
		nng_tls_config_free(pl->tls);
	free(pl);
	n->peerlink = NULL;
}
