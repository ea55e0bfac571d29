/*
 * node/peerlink.c -- the peer link listener: nng REP over tls+tcp with
 * mutual TLS.  A fixed pool of contexts, each an aio state machine
 * (receive, answer, send), so concurrency is bounded and no thread waits on
 * a slow peer.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"

#define WORKERS 32

struct peerlink;

struct worker {
	struct node     *n;
	struct peerlink *pl;
	nng_aio     *aio;
	nng_ctx      ctx;
	int          sending;
};

struct peerlink {
	nng_socket      sock;
	nng_listener    listener;
	nng_tls_config *tls;
	atomic_int      busy; /* requests received and not yet answered */
	struct worker   w[WORKERS];
};

static void
answer(struct worker *w, nng_msg *req)
{
	struct xca_outcome out;
	char              *resp;
	size_t             rlen;
	nng_msg           *msg = NULL;

	if (node_respond(w->n, "peerlink", NULL, nng_msg_body(req), nng_msg_len(req), &resp, &rlen, NULL, 0, &out) == HIE_OK) {
		if (nng_msg_alloc(&msg, 0) != 0 || nng_msg_append(msg, resp, rlen) != 0) {
			nng_msg_free(msg);
			msg = NULL;
		}
		free(resp);
	}
	nng_msg_free(req);
	if (msg == NULL) {
		/* Out of memory: no answer; the requester's deadline covers it. */
		atomic_fetch_sub(&w->pl->busy, 1);
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
		atomic_fetch_sub(&w->pl->busy, 1);
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
	atomic_fetch_add(&w->pl->busy, 1);
	answer(w, nng_aio_get_msg(w->aio));
}

/* Starts a listener on the peer address with tls (which it then holds). */
static hie_err
listen_with(struct node *n, struct peerlink *pl, nng_tls_config *tls)
{
	int rv;

	if ((rv = nng_listener_create(&pl->listener, pl->sock, n->cfg.listen_peer)) != 0)
		return HIE_ECONFIG;
	if (nng_listener_set_ptr(pl->listener, NNG_OPT_TLS_CONFIG, tls) != 0) {
		nng_listener_close(pl->listener);
		return HIE_ETLS;
	}
	if ((rv = nng_listener_start(pl->listener, 0)) != 0) {
		nng_listener_close(pl->listener);
		hie_log(HIE_LOG_ERR, "peerlink", "HIE-PEER-LISTEN", NULL, "%s: %s", n->cfg.listen_peer, nng_strerror(rv));
		return rv == NNG_EADDRINUSE ? HIE_EBUSY : HIE_ENET;
	}
	return HIE_OK;
}

/*
 * A listener's TLS config cannot change once it is started, so a new
 * certificate means a new listener: the old one is closed (its established
 * connections with it; peers reconnect within their reconnect interval,
 * about a second) and a new one bound.  Requests already received are
 * answered by the contexts, which belong to the socket, not the listener.
 * If the new one cannot start, the old configuration is put back.
 */
hie_err
node_peerlink_retls(struct node *n)
{
	struct peerlink *pl = n->peerlink;
	nng_tls_config  *tls;
	hie_err          e;

	if ((e = node_tls_config(&n->tls, NULL, &tls)) != HIE_OK)
		return e;
	/* Closing the listener closes its connections, and with them the
	 * answers being prepared on them: let those finish first (bounded;
	 * a request still on the wire at the close is lost here, and its
	 * requester resends it once, freshly signed, on its new connection:
	 * xca/call.c). */
	for (int i = 0; i < 300 && atomic_load(&pl->busy) > 0; i++)
		nng_msleep(10);
	if (atomic_load(&pl->busy) > 0)
		hie_log(HIE_LOG_WARN, "peerlink", "HIE-PEER-LISTEN", NULL,
		    "restarting the listener with %d answers still in progress", atomic_load(&pl->busy));
	nng_listener_close(pl->listener);
	if ((e = listen_with(n, pl, tls)) != HIE_OK) {
		nng_tls_config_free(tls);
		if (listen_with(n, pl, pl->tls) != HIE_OK)
			hie_log(HIE_LOG_ERR, "peerlink", "HIE-PEER-LISTEN", NULL, "peer listener down until the next SIGHUP");
		return e;
	}
	nng_tls_config_free(pl->tls);
	pl->tls = tls;
	return HIE_OK;
}

hie_err
node_peerlink_start(struct node *n)
{
	struct peerlink *pl;
	hie_err          e;

	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		return HIE_ENOMEM;
	n->peerlink = pl;
	if (nng_rep0_open(&pl->sock) != 0)
		return HIE_ENOMEM;
	nng_socket_set_size(pl->sock, NNG_OPT_RECVMAXSZ, (size_t) n->cfg.max_message_bytes);
	if ((e = node_tls_config(&n->tls, NULL, &pl->tls)) != HIE_OK)
		return e;
	if ((e = listen_with(n, pl, pl->tls)) != HIE_OK)
		return e;
	for (int i = 0; i < WORKERS; i++) {
		struct worker *w = &pl->w[i];
		w->n = n;
		w->pl = pl;
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
