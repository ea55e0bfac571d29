/* xca/peers.c -- the fan-out's peer connections: one REQ socket per peer,
 * dialed over tls+tcp with mutual TLS, reference counted. */
#include <errno.h>
#include <netdb.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xca/internal.h"

const char *
xca_status_name(enum xca_status s)
{
	static const char *const names[] = { "ok", "no-match", "timeout", "error", "refused" };
	return (unsigned) s < sizeof(names) / sizeof(names[0]) ? names[s] : "error";
}

static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct peer_conn *pc = arg;
	int64_t           lost;
	uint32_t          id = nng_pipe_id(p);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		nng_mtx_lock(pc->mtx);
		pc->pipe_id = id;
		nng_mtx_unlock(pc->mtx);
		atomic_fetch_add(&pc->npipes, 1);
		/* How long a reconnection takes is what an operator needs
		 * to see when queries wait on one. */
		if ((lost = atomic_load(&pc->lost_ms)) != 0)
			hie_log(HIE_LOG_INFO, "xca", "HIE-XCA-RECONNECTED", NULL, "peer=%s ms=%lld", pc->p.name,
			    (long long) (hie_now_ms() - lost));
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		/* Only the connection we were told of: a connection that
		 * closed before it was added (a reconnection failing its
		 * handshake) carried no call, and must not cancel the calls
		 * waiting for the next one -- a request resent after a drop
		 * was failed that way, 9 ms later, with no new connection yet. */
		nng_mtx_lock(pc->mtx);
		if (id != pc->pipe_id) {
			nng_mtx_unlock(pc->mtx);
			return;
		}
		pc->pipe_id = 0;
		atomic_fetch_sub(&pc->npipes, 1);
		atomic_store(&pc->lost_ms, hie_now_ms());
		/* One dialer, so one pipe: every call in flight rode on it.
		 * Cancelling only schedules their callbacks. */
		for (struct xca_call *c = pc->inflight; c != NULL; c = c->next) {
			c->lost = 1;
			nng_aio_cancel(c->aio);
		}
		nng_mtx_unlock(pc->mtx);
	}
}

/* Whether something accepts TCP connections at a tls+tcp:// address
 * (host:port or [v6]:port after the scheme), within timeout_ms. */
static int
tcp_accepts(const char *address, int timeout_ms)
{
	struct addrinfo  hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai, *a;
	char             host[256];
	const char      *h = strstr(address, "://"), *colon, *end;
	int              up = 0;

	if (h == NULL)
		return 0;
	h += 3;
	if (*h == '[') {
		if ((end = strchr(++h, ']')) == NULL || end[1] != ':')
			return 0;
		colon = end + 1;
	} else if ((colon = end = strrchr(h, ':')) == NULL) {
		return 0;
	}
	if ((size_t) (end - h) >= sizeof(host))
		return 0;
	memcpy(host, h, (size_t) (end - h));
	host[end - h] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return 0;
	for (a = ai; a != NULL && !up; a = a->ai_next) {
		int           fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int           err = 0;
		socklen_t     elen = sizeof(err);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			up = 1;
		else if (errno == EINPROGRESS && poll(&pfd, 1, timeout_ms) == 1 &&
		         getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
			up = 1;
		close(fd);
	}
	freeaddrinfo(ai);
	return up;
}

/* Probes are few: only calls to a peer without a connection ask, and one
 * answer serves every call for a while. */
#define PROBE_CACHE_MS   250
#define PROBE_TIMEOUT_MS 250

int
xca_peer_listening(struct peer_conn *pc)
{
	int64_t now = hie_now_ms(), at = atomic_load(&pc->probe_ms);
	int     up;

	if (at != 0 && now - at < PROBE_CACHE_MS)
		return atomic_load(&pc->probe_up);
	up = tcp_accepts(pc->p.address, PROBE_TIMEOUT_MS);
	atomic_store(&pc->probe_up, up);
	atomic_store(&pc->probe_ms, now);
	return up;
}

static hie_err
peer_open(struct peer_conn *pc, const struct xca_fanout_cfg *cfg)
{
	nng_dialer d;
	hie_err    e;
	int        rv;

	if (nng_mtx_alloc(&pc->mtx) != 0)
		return HIE_ENOMEM;
	pc->opened_ms = hie_now_ms();
	if (strncmp(pc->p.address, "https://", 8) == 0) {
		pc->https = 1; /* called through the fan-out's curl engine */
		return HIE_OK;
	}
	if ((rv = nng_req0_open(&pc->sock)) != 0)
		return HIE_ENOMEM;
	pc->sock_open = 1;
	pc->opened_ms = hie_now_ms();
	nng_pipe_notify(pc->sock, NNG_PIPE_EV_ADD_POST, pipe_event, pc);
	nng_pipe_notify(pc->sock, NNG_PIPE_EV_REM_POST, pipe_event, pc);
	/* Responses are bounded like every other input. */
	nng_socket_set_size(pc->sock, NNG_OPT_RECVMAXSZ, cfg->max_message_bytes);
	nng_socket_set_ms(pc->sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(pc->sock, NNG_OPT_RECONNMAXT, 1000);
	/* A request is never resent to another pipe behind our back. */
	nng_socket_set_ms(pc->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if ((e = node_tls_config(cfg->tls, pc->p.name, &pc->tls)) != HIE_OK)
		return e;
	if ((rv = nng_dialer_create(&d, pc->sock, pc->p.address)) != 0)
		return HIE_ECONFIG;
	if ((rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, pc->tls)) != 0)
		return HIE_ETLS;
	/* Non-blocking: a peer that is down now is retried in the background. */
	if ((rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0)
		return HIE_ENET;
	return HIE_OK;
}

static void fanout_destroy(xca_fanout *fo);

hie_err
xca_fanout_new(const struct xca_fanout_cfg *cfg, xca_fanout **out)
{
	xca_fanout *fo;
	hie_err     e;

	*out = NULL;
	if ((fo = calloc(1, sizeof(*fo))) == NULL)
		return HIE_ENOMEM;
	atomic_init(&fo->refs, 1);
	hie_strlcpy(fo->home, cfg->home, sizeof(fo->home));
	fo->peer_deadline_ms = cfg->peer_deadline_ms;
	fo->overall_deadline_ms = cfg->overall_deadline_ms;
	fo->max_results = cfg->max_results;
	fo->max_message_bytes = cfg->max_message_bytes;
	fo->lim = cfg->lim;
	fo->ttl_s = cfg->ttl_s;
	{
		struct wss_verifier_cfg vc = { .ca_pem = cfg->tls->ca, .crl_pem = cfg->tls->crl, .community = cfg->home,
			.clock_skew_s = cfg->clock_skew_s, .max_ttl_s = cfg->ttl_s * 2, .replay = NULL };
		/* Responses need no replay cache: each must relate to a fresh
		 * request id of ours. */
		if ((e = wss_signer_new(cfg->tls->cert, cfg->tls->key, &fo->signer)) != HIE_OK ||
		    (e = wss_verifier_new(&vc, &fo->verifier)) != HIE_OK) {
			fanout_destroy(fo);
			return e;
		}
	}
	if (cfg->peers->n > 0 && (fo->peers = calloc(cfg->peers->n, sizeof(*fo->peers))) == NULL) {
		fanout_destroy(fo);
		return HIE_ENOMEM;
	}
	fo->n = cfg->peers->n;
	for (size_t i = 0; i < fo->n; i++) {
		if (fo->https == NULL && strncmp(cfg->peers->v[i].address, "https://", 8) == 0 &&
		    (e = xca_https_new(cfg->tls, cfg->max_message_bytes, &fo->https)) != HIE_OK) {
			fanout_destroy(fo);
			return e;
		}
	}
	for (size_t i = 0; i < fo->n; i++) {
		fo->peers[i].p = cfg->peers->v[i];
		atomic_init(&fo->peers[i].npipes, 0);
		if ((e = peer_open(&fo->peers[i], cfg)) != HIE_OK) {
			hie_log(HIE_LOG_ERR, "xca", "HIE-XCA-PEER-OPEN", NULL, "peer %s (%s): %s",
			    fo->peers[i].p.name, fo->peers[i].p.address, hie_strerror(e));
			xca_fanout_release(fo);
			return e;
		}
	}
	*out = fo;
	return HIE_OK;
}

void
xca_fanout_hold(xca_fanout *fo)
{
	atomic_fetch_add(&fo->refs, 1);
}

static void
fanout_destroy(xca_fanout *fo)
{
	for (size_t i = 0; i < fo->n; i++) {
		if (fo->peers[i].sock_open)
			nng_close(fo->peers[i].sock);
		if (fo->peers[i].tls != NULL)
			nng_tls_config_free(fo->peers[i].tls);
		if (fo->peers[i].mtx != NULL)
			nng_mtx_free(fo->peers[i].mtx);
	}
	/* After the sockets: no call is in flight once the last reference
	 * goes, so the engine has nothing left to finish. */
	xca_https_free(fo->https);
	free(fo->peers);
	wss_signer_free(fo->signer);
	wss_verifier_free(fo->verifier);
	free(fo);
}

static void *
destroy_thread(void *arg)
{
	fanout_destroy(arg);
	return NULL;
}

void
xca_fanout_release(xca_fanout *fo)
{
	pthread_t t;

	if (fo == NULL || atomic_fetch_sub(&fo->refs, 1) != 1)
		return;
	/* The last reference may be dropped inside an aio callback of one of
	 * these sockets (the query that outlived a SIGHUP swap), and nng_close
	 * waits for those callbacks: close from a thread of our own instead. */
	if (pthread_create(&t, NULL, destroy_thread, fo) == 0) {
		pthread_detach(t);
		return;
	}
	hie_log(HIE_LOG_ERR, "xca", "HIE-XCA-LEAK", NULL, "cannot start a thread to close peer sockets");
}

size_t
xca_fanout_npeers(const xca_fanout *fo)
{
	return fo->n;
}

int
xca_fanout_peer_connected(const xca_fanout *fo, size_t i, const char **name)
{
	if (i >= fo->n)
		return 0;
	if (name != NULL)
		*name = fo->peers[i].p.name;
	if (fo->peers[i].https)
		return 1; /* no standing connection to watch: each call connects */
	return atomic_load(&((struct peer_conn *) &fo->peers[i])->npipes) > 0;
}
