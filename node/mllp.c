/*
 * node/mllp.c -- MLLP listener and client on nng streams (see node/mllp.h).
 *
 * A connection is a pipeline with one owner at a time: its receive aio,
 * then a worker thread (the handler), then its send aio, then receive
 * again.  Whoever holds a connection is the only one touching its state,
 * so connections need no lock of their own; the listener's mutex guards
 * only the worker queue and the list of connections (for shutdown).
 * Freeing a stream or an aio may wait for nng's threads, which an aio
 * callback must never do, so a connection's end is also a worker job.
 */
#include "node/mllp.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node/hl7.h"

const struct mllp_opts mllp_default_opts = { 0 };

/* Big enough that a pipelining sender's waiting frames arrive in one
 * read and go to the handler as one group (one commit for all). */
#define RXCHUNK 65536
#define MAX_BATCH 256
#define BATCH_BYTES (1u << 20)

enum rx_state { WAIT_SB, IN_FRAME, AFTER_EB, DISCARD, DISCARD_EB };
enum job { JOB_FRAME, JOB_OVERSIZE, JOB_DESTROY };

struct conn {
	struct mllp_listener *l;
	nng_stream           *s;
	nng_aio              *rx, *tx;
	char                  rxbuf[RXCHUNK];
	size_t                rxoff, rxlen; /* unconsumed bytes rxbuf[rxoff..rxlen) */
	enum rx_state         st;
	size_t                garbage;
	int64_t               deadline; /* frame must end by then; 0 when between frames */
	hie_buf               frame;  /* the frames of a group, each followed by a NUL */
	size_t                cur_start, cur_len; /* the frame being read */
	struct {
		size_t off, len;
		int    oversize;
	} fr[MAX_BATCH];
	size_t                nfr;
	hie_buf               reply[MAX_BATCH];
	int                   close_after; /* a frame nobody can answer: close once sent */
	char                 *tx_data;
	size_t                tx_len, tx_off;
	enum job              job;
	struct conn          *next_job;
	struct conn          *prev, *next; /* listener's list */
};

struct mllp_listener {
	nng_stream_listener *nl;
	nng_aio             *accept;
	struct mllp_opts     o;
	mllp_handler         h;
	void                *arg;
	pthread_mutex_t      mu;
	pthread_cond_t       cv;      /* workers: job queued or stopping */
	pthread_cond_t       drained; /* mllp_close: a connection ended */
	struct conn         *q_head, *q_tail;
	struct conn         *conns;
	int                  nconns;
	int                  closing, stopping;
	pthread_t           *threads;
	int                  nthreads;
};

static hie_err
nng_to_hie(int rv)
{
	static const struct {
		int     nng;
		hie_err hie;
	} map[] = {
		{ NNG_ENOMEM, HIE_ENOMEM },       { NNG_EADDRINUSE, HIE_EBUSY },
		{ NNG_EADDRINVAL, HIE_EINVAL },   { NNG_EINVAL, HIE_EINVAL },
		{ NNG_ENOTSUP, HIE_EINVAL },      { NNG_ETIMEDOUT, HIE_ETIMEDOUT },
		{ NNG_ECLOSED, HIE_ECLOSED },     { NNG_ECONNSHUT, HIE_ECLOSED },
		{ NNG_ECONNRESET, HIE_ECLOSED },  { NNG_ECONNREFUSED, HIE_ENET },
		{ NNG_ECRYPTO, HIE_ETLS },        { NNG_EPEERAUTH, HIE_ETLS },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nng == rv)
			return map[i].hie;
	return HIE_ENET;
}

/* ---- worker queue ---- */

static void
enqueue(struct conn *c, enum job j)
{
	struct mllp_listener *l = c->l;
	pthread_mutex_lock(&l->mu);
	c->job      = j;
	c->next_job = NULL;
	if (l->q_tail != NULL)
		l->q_tail->next_job = c;
	else
		l->q_head = c;
	l->q_tail = c;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static void
end_conn(struct conn *c, const char *event, const char *why)
{
	if (event != NULL)
		hie_log(HIE_LOG_WARN, "mllp", event, NULL, "closing connection: %s", why);
	nng_stream_close(c->s);
	enqueue(c, JOB_DESTROY);
}

/* ---- receiving ---- */

static void start_recv(struct conn *c);

/* Runs the framing state machine over the buffered bytes.  1: a frame (or
 * an oversized frame) is complete; 0: more bytes needed; -1: close. */
static int
consume(struct conn *c, const char **why)
{
	struct mllp_listener *l = c->l;
	while (c->rxoff < c->rxlen) {
		const char *p = c->rxbuf + c->rxoff;
		size_t      n = c->rxlen - c->rxoff, i;
		switch (c->st) {
		case WAIT_SB:
			if (*p == MLLP_SB) {
				c->st        = IN_FRAME;
				c->deadline  = hie_now_ms() + l->o.frame_timeout_ms;
				c->cur_start = c->frame.len;
				c->cur_len   = 0;
			} else if (++c->garbage > l->o.max_garbage) {
				*why = "bytes that are not MLLP frames";
				return -1;
			}
			c->rxoff++;
			break;
		case IN_FRAME:
		case DISCARD:
			for (i = 0; i < n && p[i] != MLLP_EB && p[i] != MLLP_SB; i++)
				;
			if (c->st == IN_FRAME && i > 0) {
				size_t room = l->o.max_bytes - c->cur_len;
				if (i > room) {
					/* Keep the head (its MSH answers the sender), drop the rest. */
					hie_buf_add(&c->frame, p, room);
					c->cur_len += room;
					c->st = DISCARD;
				} else if (hie_buf_add(&c->frame, p, i) != HIE_OK) {
					*why = "out of memory";
					return -1;
				} else
					c->cur_len += i;
			}
			c->rxoff += i;
			if (i == n)
				break;
			if (p[i] == MLLP_SB) {
				/* The sender started over: so do we. */
				c->frame.len = c->cur_start;
				c->cur_len   = 0;
				c->st        = IN_FRAME;
			} else
				c->st = c->st == IN_FRAME ? AFTER_EB : DISCARD_EB;
			c->rxoff++;
			break;
		case AFTER_EB:
		case DISCARD_EB:
			if (*p != MLLP_CR) {
				*why = "0x1C not followed by 0x0D";
				return -1;
			}
			if (hie_buf_add(&c->frame, "", 1) != HIE_OK) {
				*why = "out of memory";
				return -1;
			}
			c->rxoff++;
			c->fr[c->nfr].off      = c->cur_start;
			c->fr[c->nfr].len      = c->cur_len;
			c->fr[c->nfr].oversize = c->st == DISCARD_EB;
			c->nfr++;
			c->cur_start = c->frame.len;
			c->cur_len   = 0;
			c->job      = JOB_FRAME;
			c->st       = WAIT_SB;
			c->garbage  = 0;
			c->deadline = 0;
			return 1;
		}
	}
	return 0;
}

/* Consume what is buffered; then hand a frame to a worker or read more. */
static void
advance(struct conn *c)
{
	const char *why = NULL;
	int         r   = consume(c, &why);
	if (r < 0) {
		end_conn(c, "HIE-MLLP-PROTO", why);
		return;
	}
	if (r == 0) {
		start_recv(c);
		return;
	}
	/* Every further frame already received joins the group; a partial
	 * one stays in the buffer, a protocol error is met after the group
	 * is answered (consume stops at the offending byte). */
	while (c->rxoff < c->rxlen && c->nfr < MAX_BATCH && c->frame.len < BATCH_BYTES &&
	       consume(c, &why) > 0)
		;
	enqueue(c, JOB_FRAME);
}

static void
start_recv(struct conn *c)
{
	nng_iov iov;
	int64_t left;
	if (c->deadline != 0) {
		left = c->deadline - hie_now_ms();
		if (left <= 0) {
			end_conn(c, "HIE-MLLP-TIMEOUT", "frame not completed in time");
			return;
		}
	} else
		left = c->l->o.idle_timeout_ms;
	c->rxoff = c->rxlen = 0;
	iov.iov_buf         = c->rxbuf;
	iov.iov_len         = sizeof(c->rxbuf);
	nng_aio_set_iov(c->rx, 1, &iov);
	nng_aio_set_timeout(c->rx, (nng_duration) left);
	nng_stream_recv(c->s, c->rx);
}

static void
rx_cb(void *arg)
{
	struct conn *c  = arg;
	int          rv = nng_aio_result(c->rx);
	if (rv == NNG_ETIMEDOUT) {
		end_conn(c, "HIE-MLLP-TIMEOUT",
		    c->deadline != 0 ? "frame not completed in time" : "idle connection");
		return;
	}
	if (rv != 0) {
		end_conn(c, NULL, NULL); /* peer went away, or we are closing */
		return;
	}
	c->rxoff = 0;
	c->rxlen = nng_aio_count(c->rx);
	advance(c);
}

/* ---- sending ---- */

static void
send_rest(struct conn *c)
{
	nng_iov iov;
	iov.iov_buf = c->tx_data + c->tx_off;
	iov.iov_len = c->tx_len - c->tx_off;
	nng_aio_set_iov(c->tx, 1, &iov);
	/* A reader that never drains its socket must not hold the
	 * connection forever. */
	nng_aio_set_timeout(c->tx, (nng_duration) c->l->o.frame_timeout_ms);
	nng_stream_send(c->s, c->tx);
}

static void
tx_cb(void *arg)
{
	struct conn *c  = arg;
	int          rv = nng_aio_result(c->tx);
	if (rv != 0) {
		end_conn(c, rv == NNG_ETIMEDOUT ? "HIE-MLLP-TIMEOUT" : NULL, "reply not read in time");
		return;
	}
	c->tx_off += nng_aio_count(c->tx);
	if (c->tx_off < c->tx_len) {
		send_rest(c);
		return;
	}
	free(c->tx_data);
	c->tx_data = NULL;
	if (c->close_after) {
		end_conn(c, "HIE-MLLP-UNANSWERABLE", "frame without an MSH to answer");
		return;
	}
	advance(c); /* a pipelining sender's next frame may be buffered */
}

/* ---- workers ---- */

static void
destroy(struct conn *c)
{
	struct mllp_listener *l = c->l;
	/* Off the listener's list first: mllp_close walks that list to close
	 * streams, and must never reach one freed below. */
	pthread_mutex_lock(&l->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (l->conns == c)
		l->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&l->mu);
	nng_aio_free(c->rx); /* stops: waits for a callback in flight */
	nng_aio_free(c->tx);
	nng_stream_free(c->s);
	hie_buf_free(&c->frame);
	for (size_t i = 0; i < MAX_BATCH; i++)
		hie_buf_free(&c->reply[i]);
	free(c->tx_data);
	free(c);
	pthread_mutex_lock(&l->mu);
	l->nconns--;
	pthread_cond_broadcast(&l->drained);
	pthread_mutex_unlock(&l->mu);
}

/* The answer to a frame the handler could not answer itself: an AR built
 * from its MSH.  Non-OK when it has none: then nobody can be answered. */
static hie_err
fallback(struct conn *c, size_t i, hie_err e)
{
	struct hl7_error err;
	const char      *msg = c->frame.data + c->fr[i].off;

	c->reply[i].len = 0;
	hie_log(HIE_LOG_ERR, "mllp", "HIE-MLLP-HANDLER", NULL, "handler failed without an answer: %s",
	    hie_errname(e));
	hl7_error_set(&err, HL7_E_INTERNAL, "", 0, 0, "%s", hie_strerror(e));
	return hl7_nak(msg, c->fr[i].len, &err, &c->reply[i]);
}

static void
process(struct conn *c)
{
	struct mllp_listener *l = c->l;
	struct mllp_frame     fr[MAX_BATCH];
	size_t                nf = 0, answered, total = 0;
	hie_err               e = HIE_OK;
	int                   closing;

	pthread_mutex_lock(&l->mu);
	closing = l->closing;
	pthread_mutex_unlock(&l->mu);
	if (closing) {
		end_conn(c, NULL, NULL);
		return;
	}
	for (size_t i = 0; i < c->nfr; i++) {
		if (c->reply[i].max == 0)
			hie_buf_init(&c->reply[i], l->o.max_bytes);
		c->reply[i].len = 0;
		if (c->fr[i].oversize) {
			struct hl7_error err;
			hie_log(HIE_LOG_WARN, "mllp", "HIE-MLLP-OVERSIZE", NULL,
			    "frame exceeds %zu bytes: refused", l->o.max_bytes);
			hl7_error_set(&err, HL7_E_INTERNAL, "", 0, 0, "message exceeds %zu bytes",
			    l->o.max_bytes);
			c->fr[i].oversize = hl7_nak(c->frame.data + c->fr[i].off, c->fr[i].len, &err, &c->reply[i]) ==
			                            HIE_OK ? 1 : -1;
			continue;
		}
		fr[nf].msg   = c->frame.data + c->fr[i].off; /* NUL terminated */
		fr[nf].len   = c->fr[i].len;
		fr[nf].reply = &c->reply[i];
		fr[nf].err   = HIE_OK;
		nf++;
	}
	if (l->o.batch != NULL && nf > 0)
		l->o.batch(l->arg, fr, nf);
	else
		for (size_t j = 0; j < nf; j++)
			fr[j].err = l->h(l->arg, fr[j].msg, fr[j].len, fr[j].reply);
	/* Answers in the order of the frames, up to the first that nobody can
	 * answer (no MSH): after it, the connection is closed. */
	for (answered = 0, nf = 0; answered < c->nfr; answered++) {
		if (c->fr[answered].oversize) {
			if (c->fr[answered].oversize < 0)
				break;
			continue;
		}
		e = fr[nf].err;
		nf++;
		if (e != HIE_OK && c->reply[answered].len == 0 && fallback(c, answered, e) != HIE_OK)
			break;
	}
	c->close_after = answered < c->nfr;
	for (size_t i = 0; i < answered; i++)
		total += c->reply[i].len > 0 ? c->reply[i].len + 3 : 0;
	/* Keep a partial next frame; big buffers are not kept between groups. */
	if (c->st == IN_FRAME || c->st == DISCARD) {
		size_t keep = c->frame.len - c->cur_start;
		memmove(c->frame.data, c->frame.data + c->cur_start, keep);
		c->frame.len = keep;
	} else {
		c->frame.len = 0;
		if (c->frame.cap > (2u << 20)) {
			hie_buf_free(&c->frame);
			hie_buf_init(&c->frame, l->o.max_bytes + BATCH_BYTES + MAX_BATCH);
		}
	}
	c->cur_start = 0;
	c->nfr       = 0;
	if (total == 0) {
		if (c->close_after)
			end_conn(c, "HIE-MLLP-UNANSWERABLE", "frame without an MSH to answer");
		else
			advance(c);
		return;
	}
	if ((c->tx_data = malloc(total)) == NULL) {
		end_conn(c, "HIE-MLLP-NOMEM", "out of memory");
		return;
	}
	c->tx_len = 0;
	for (size_t i = 0; i < answered; i++) {
		hie_buf *r = &c->reply[i];
		if (r->len == 0)
			continue;
		c->tx_data[c->tx_len++] = MLLP_SB;
		memcpy(c->tx_data + c->tx_len, r->data, r->len);
		c->tx_len += r->len;
		c->tx_data[c->tx_len++] = MLLP_EB;
		c->tx_data[c->tx_len++] = MLLP_CR;
		if (r->cap > (1u << 20)) {
			hie_buf_free(r);
			hie_buf_init(r, l->o.max_bytes);
		}
	}
	c->tx_off = 0;
	send_rest(c);
}

static void *
worker(void *arg)
{
	struct mllp_listener *l = arg;
	for (;;) {
		struct conn *c;
		pthread_mutex_lock(&l->mu);
		while (l->q_head == NULL && !l->stopping)
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->q_head == NULL) {
			pthread_mutex_unlock(&l->mu);
			return NULL;
		}
		c         = l->q_head;
		l->q_head = c->next_job;
		if (l->q_head == NULL)
			l->q_tail = NULL;
		pthread_mutex_unlock(&l->mu);
		if (c->job == JOB_DESTROY)
			destroy(c);
		else
			process(c);
	}
}

/* ---- accepting ---- */

static void
accept_cb(void *arg)
{
	struct mllp_listener *l = arg;
	struct conn          *c;
	nng_stream           *s;
	int                   rv = nng_aio_result(l->accept), full;

	if (rv != 0) {
		pthread_mutex_lock(&l->mu);
		rv = l->closing;
		pthread_mutex_unlock(&l->mu);
		if (!rv) /* a failed handshake or a transient error: keep going */
			nng_stream_listener_accept(l->nl, l->accept);
		return;
	}
	s = nng_aio_get_output(l->accept, 0);
	if ((c = calloc(1, sizeof(*c))) == NULL || nng_aio_alloc(&c->rx, rx_cb, c) != 0 ||
	    nng_aio_alloc(&c->tx, tx_cb, c) != 0) {
		if (c != NULL) {
			nng_aio_free(c->rx);
			free(c);
		}
		/* No memory for a connection: drop it, keep listening. */
		nng_stream_close(s);
		nng_stream_free(s);
		nng_stream_listener_accept(l->nl, l->accept);
		return;
	}
	c->l = l;
	c->s = s;
	hie_buf_init(&c->frame, l->o.max_bytes + BATCH_BYTES + MAX_BATCH);
	pthread_mutex_lock(&l->mu);
	full    = l->nconns >= l->o.max_conns;
	c->next = l->conns;
	if (l->conns != NULL)
		l->conns->prev = c;
	l->conns = c;
	l->nconns++;
	pthread_mutex_unlock(&l->mu);
	if (full)
		end_conn(c, "HIE-MLLP-MAXCONN", "too many connections");
	else
		start_recv(c);
	nng_stream_listener_accept(l->nl, l->accept);
}

hie_err
mllp_listen(const char *url, const struct mllp_opts *o, mllp_handler h, void *arg,
    mllp_listener **out)
{
	struct mllp_listener *l;
	int                   rv;
	hie_err               e;

	*out = NULL;
	if (url == NULL || (h == NULL && (o == NULL || o->batch == NULL)))
		return HIE_EINVAL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return HIE_ENOMEM;
	l->o   = o != NULL ? *o : mllp_default_opts;
	l->h   = h;
	l->arg = arg;
	if (l->o.max_bytes == 0)
		l->o.max_bytes = 16u << 20;
	if (l->o.idle_timeout_ms <= 0)
		l->o.idle_timeout_ms = 300000;
	if (l->o.frame_timeout_ms <= 0)
		l->o.frame_timeout_ms = 30000;
	if (l->o.workers <= 0)
		l->o.workers = 4;
	if (l->o.max_conns <= 0)
		l->o.max_conns = 256;
	if (l->o.max_garbage == 0)
		l->o.max_garbage = 1024;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	pthread_cond_init(&l->drained, NULL);

	if ((rv = nng_stream_listener_alloc(&l->nl, url)) != 0) {
		e = nng_to_hie(rv);
		goto fail;
	}
	if (strncmp(url, "tls+", 4) == 0) {
		if (l->o.tls == NULL) {
			e = HIE_EINVAL;
			goto fail;
		}
		if ((rv = nng_stream_listener_set_ptr(l->nl, NNG_OPT_TLS_CONFIG, l->o.tls)) != 0) {
			e = HIE_ETLS;
			goto fail;
		}
	}
	if ((rv = nng_stream_listener_listen(l->nl)) != 0 ||
	    (rv = nng_aio_alloc(&l->accept, accept_cb, l)) != 0) {
		e = nng_to_hie(rv);
		goto fail;
	}
	if ((l->threads = calloc((size_t) l->o.workers, sizeof(*l->threads))) == NULL) {
		e = HIE_ENOMEM;
		goto fail;
	}
	for (; l->nthreads < l->o.workers; l->nthreads++)
		if (pthread_create(&l->threads[l->nthreads], NULL, worker, l) != 0) {
			e = HIE_ENOMEM;
			goto fail;
		}
	nng_stream_listener_accept(l->nl, l->accept);
	*out = l;
	return HIE_OK;
fail:
	mllp_close(l);
	return e;
}

hie_err
mllp_port(mllp_listener *l, int *port)
{
	int rv = nng_stream_listener_get_int(l->nl, NNG_OPT_TCP_BOUND_PORT, port);
	return rv == 0 ? HIE_OK : nng_to_hie(rv);
}

void
mllp_close(mllp_listener *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->closing = 1;
	pthread_mutex_unlock(&l->mu);
	if (l->nl != NULL)
		nng_stream_listener_close(l->nl);
	if (l->accept != NULL)
		nng_aio_stop(l->accept);
	/* Closing a stream fails its pending aio; that connection's owner then
	 * queues its end.  Connections in a handler end when it returns. */
	pthread_mutex_lock(&l->mu);
	for (struct conn *c = l->conns; c != NULL; c = c->next)
		nng_stream_close(c->s);
	while (l->nconns > 0 && l->nthreads > 0)
		pthread_cond_wait(&l->drained, &l->mu);
	l->stopping = 1;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	for (int i = 0; i < l->nthreads; i++)
		pthread_join(l->threads[i], NULL);
	free(l->threads);
	nng_aio_free(l->accept);
	nng_stream_listener_free(l->nl);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	pthread_cond_destroy(&l->drained);
	free(l);
}

/* ---- client ---- */

struct mllp_client {
	nng_stream *s;
	nng_aio    *aio;
	char        buf[RXCHUNK];
	size_t      off, len; /* bytes read but not yet consumed */
};

static hie_err
wait_io(nng_aio *aio)
{
	int rv;
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	return rv == 0 ? HIE_OK : nng_to_hie(rv);
}

hie_err
mllp_client_open(const char *url, nng_tls_config *tls, int timeout_ms, mllp_client **out)
{
	nng_stream_dialer *d = NULL;
	mllp_client       *c;
	int                rv;
	hie_err            e;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return HIE_ENOMEM;
	if ((rv = nng_aio_alloc(&c->aio, NULL, NULL)) != 0 ||
	    (rv = nng_stream_dialer_alloc(&d, url)) != 0) {
		e = nng_to_hie(rv);
		goto fail;
	}
	if (tls != NULL && (rv = nng_stream_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls)) != 0) {
		e = HIE_ETLS;
		goto fail;
	}
	nng_aio_set_timeout(c->aio, timeout_ms);
	nng_stream_dialer_dial(d, c->aio);
	if ((e = wait_io(c->aio)) != HIE_OK)
		goto fail;
	c->s = nng_aio_get_output(c->aio, 0);
	nng_stream_dialer_free(d);
	*out = c;
	return HIE_OK;
fail:
	if (d != NULL)
		nng_stream_dialer_free(d);
	mllp_client_close(c);
	return e;
}

void
mllp_client_close(mllp_client *c)
{
	if (c == NULL)
		return;
	if (c->s != NULL) {
		nng_stream_close(c->s);
		nng_stream_free(c->s);
	}
	nng_aio_free(c->aio);
	free(c);
}

hie_err
mllp_client_call(mllp_client *c, const char *msg, size_t len, int timeout_ms, hie_buf *reply)
{
	int64_t deadline = hie_now_ms() + timeout_ms;
	char    head = MLLP_SB, tail[2] = { MLLP_EB, MLLP_CR };
	nng_iov iov[3];
	size_t  done = 0, total = len + 3;
	int     in_frame = 0;
	hie_err e;

	/* Send all three parts, however the stream splits them. */
	while (done < total) {
		int     n = 0;
		size_t  skip = done;
		const struct {
			const void *p;
			size_t      n;
		} parts[3] = { { &head, 1 }, { msg, len }, { tail, 2 } };
		for (int i = 0; i < 3; i++) {
			if (skip >= parts[i].n) {
				skip -= parts[i].n;
				continue;
			}
			iov[n].iov_buf   = (char *) parts[i].p + skip;
			iov[n++].iov_len = parts[i].n - skip;
			skip             = 0;
		}
		nng_aio_set_iov(c->aio, (unsigned) n, iov);
		nng_aio_set_timeout(c->aio, (nng_duration) (deadline - hie_now_ms() > 0 ? deadline - hie_now_ms() : 1));
		nng_stream_send(c->s, c->aio);
		if ((e = wait_io(c->aio)) != HIE_OK)
			return e;
		done += nng_aio_count(c->aio);
	}
	if (reply == NULL)
		return HIE_OK;
	/* Read one frame. */
	for (;;) {
		while (c->off < c->len) {
			char ch = c->buf[c->off++];
			if (!in_frame) {
				if (ch == MLLP_SB)
					in_frame = 1;
				else if (ch != '\r' && ch != '\n')
					return HIE_EPROTO;
			} else if (ch == MLLP_EB) {
				if (c->off < c->len && c->buf[c->off] == MLLP_CR)
					c->off++;
				return HIE_OK;
			} else if ((e = hie_buf_add(reply, &ch, 1)) != HIE_OK)
				return e;
		}
		{
			int64_t left = deadline - hie_now_ms();
			nng_iov v    = { .iov_buf = c->buf, .iov_len = sizeof(c->buf) };
			if (left <= 0)
				return HIE_ETIMEDOUT;
			c->off = c->len = 0;
			nng_aio_set_iov(c->aio, 1, &v);
			nng_aio_set_timeout(c->aio, (nng_duration) left);
			nng_stream_recv(c->s, c->aio);
			if ((e = wait_io(c->aio)) != HIE_OK)
				return e;
			c->len = nng_aio_count(c->aio);
		}
	}
}

hie_err
mllp_send(const char *url, const char *msg, size_t len, int timeout_ms, hie_buf *reply)
{
	mllp_client *c;
	hie_err      e;
	if ((e = mllp_client_open(url, NULL, timeout_ms, &c)) != HIE_OK)
		return e;
	e = mllp_client_call(c, msg, len, timeout_ms, reply);
	mllp_client_close(c);
	return e;
}
