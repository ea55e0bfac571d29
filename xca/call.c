/*
 * xca/call.c -- one outbound transaction to a set of peers, in parallel,
 * each call an nng context driven by an aio callback (send, then receive),
 * each bounded by min(peer deadline, overall deadline).  The transaction's
 * own parts (request body, response reading, completion) come from its
 * struct xca_op_kind.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "xca/internal.h"

/* Signing workers: at most this many, never more than the cores. */
#define SIGNERS_MAX 8

/* A peer whose socket has had no connection for this long is reported at
 * once instead of holding the clinician until the deadline. */
#define CONNECT_GRACE_MS 1500

/* A peer whose connection dropped this recently may be reconnecting (its
 * listener restarts on a rotated certificate, node/peerlink.c; the dialer
 * retries after 100 ms): a call waits for the new connection until this
 * long after the drop (within its deadline) instead of failing at once,
 * and a call whose request was on the dropped connection is resent once,
 * freshly signed (a new message id: the peer's replay cache may have seen
 * the first).  A peer that stopped is still reported within this window
 * of its drop, whatever the phase of the query. */
#define RECONNECT_GRACE_MS 800
#define RESEND_MIN_LEFT_MS 100
/* While the peer's port still accepts connections (xca_peer_listening) the
 * drop was a listener restart, and the new connection is waited for this
 * long after the drop (within the call's deadline): on a loaded machine a
 * reconnection's TLS handshake has been seen to take over a second. */
#define RECONNECT_LISTENING_MS 5000

/* How long after the drop at lost a call may wait for the peer to be back
 * (0: the peer has never dropped a connection). */
static int64_t
reconnect_window(struct peer_conn *pc, int64_t lost, int64_t now)
{
	if (lost == 0)
		return 0;
	return now - lost <= RECONNECT_LISTENING_MS && xca_peer_listening(pc) ? RECONNECT_LISTENING_MS
	                                                                      : RECONNECT_GRACE_MS;
}

/* The send's timeout: left, or less while the peer is reconnecting. */
static nng_duration
send_timeout(struct xca_call *c, int64_t left)
{
	struct peer_conn *pc = &c->op->fo->peers[c->peer];
	int64_t           lost = atomic_load(&pc->lost_ms), now = hie_now_ms(), window;

	c->reconnect_wait = 0;
	if (atomic_load(&pc->npipes) == 0 && (window = reconnect_window(pc, lost, now)) > 0 && now - lost <= window &&
	    lost + window - now < left) {
		c->reconnect_wait = (int) window;
		left = lost + window - now;
	}
	return left > 0 ? (nng_duration) left : 1;
}

/* Last call in: the kind hands its results over, then tear down.  The aios
 * are reaped, not freed: we may be running inside one of their callbacks. */
static void
op_complete(struct xca_op *op)
{
	op->kind->complete(op);
	for (size_t i = 0; i < op->ncalls; i++) {
		struct xca_call *c = &op->calls[i];
		if (c->aio != NULL)
			nng_aio_reap(c->aio);
		reg_result_free(&c->docs);
		free(c->doc);
	}
	xca_fanout_release(op->fo);
	nng_mtx_free(op->mtx);
	free(op->calls);
	free(op);
}

/*
 * nng may run an aio's callback on another thread before nng_ctx_send or
 * nng_ctx_recv has returned, and that callback can end the call and, with
 * the last call, the operation: its aios reaped and the fan-out released,
 * whose sockets a SIGHUP swap may then close.  Each hands its request to
 * nng holding the operation, so that all of it outlives the call into nng.
 */
static void op_release(struct xca_op *op);

static void
ctx_io(struct xca_call *c, int send)
{
	struct xca_op *op = c->op;

	nng_mtx_lock(op->mtx);
	op->pending++;
	nng_mtx_unlock(op->mtx);
	if (send)
		nng_ctx_send(c->ctx, c->aio);
	else
		nng_ctx_recv(c->ctx, c->aio);
	op_release(op);
}

static void
op_release(struct xca_op *op)
{
	size_t left;

	nng_mtx_lock(op->mtx);
	left = --op->pending;
	nng_mtx_unlock(op->mtx);
	if (left == 0)
		op_complete(op);
}

/* The peer's list of calls in flight (see struct peer_conn). */
static void
inflight_add(struct xca_call *c)
{
	struct peer_conn *pc = &c->op->fo->peers[c->peer];

	nng_mtx_lock(pc->mtx);
	c->prev = NULL;
	c->next = pc->inflight;
	if (pc->inflight != NULL)
		pc->inflight->prev = c;
	pc->inflight = c;
	nng_mtx_unlock(pc->mtx);
}

/* Returns whether the call's connection was lost. */
static int
inflight_del(struct xca_call *c)
{
	struct peer_conn *pc = &c->op->fo->peers[c->peer];
	int               lost;

	nng_mtx_lock(pc->mtx);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (pc->inflight == c)
		pc->inflight = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	lost = c->lost;
	nng_mtx_unlock(pc->mtx);
	return lost;
}

static void call_finish(struct xca_call *c, enum xca_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The peer's moving average of its own time (request out to answer in),
 * which orders the next query's requests.  A timeout counts as the
 * deadline; errors say nothing about speed. */
static void
expect_update(struct xca_call *c, enum xca_status st)
{
	struct peer_conn *pc = &c->op->fo->peers[c->peer];
	int64_t           sample, old;

	if (c->sent == 0)
		return;
	if (st == XCA_TIMEOUT)
		sample = c->deadline - c->sent;
	else if ((st == XCA_OK || st == XCA_NO_MATCH) && c->pr->answered_ms >= 0)
		sample = c->op->t0 + c->pr->answered_ms - c->sent;
	else
		return;
	if (sample < 1)
		sample = 1;
	old = atomic_load(&pc->expect_ms);
	atomic_store(&pc->expect_ms, (int) (old == 0 ? sample : (3 * old + sample) / 4));
}
static hie_err build_request(struct xca_op *op, struct xca_call *c, nng_msg **out);

static void
call_finish(struct xca_call *c, enum xca_status st, const char *fmt, ...)
{
	struct xca_op          *op = c->op;
	struct xca_peer_result *pr = c->pr;
	va_list                 ap;

	inflight_del(c);
	pr->status = st;
	pr->ms = hie_now_ms() - c->t0;
	expect_update(c, st);
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(pr->error, sizeof(pr->error), fmt, ap);
		va_end(ap);
	}
	if (st != XCA_OK) {
		/* A peer that failed contributes nothing, not half of something. */
		reg_result_free(&c->docs);
		free(c->doc);
		c->doc = NULL;
		c->doclen = 0;
		pr->documents = 0;
	}
	hie_log(st == XCA_OK ? HIE_LOG_INFO : HIE_LOG_WARN, "xca", "HIE-XCA-PEER", op->rid,
	    "transaction=%s peer=%s status=%s ms=%lld docs=%zu%s%s", op->kind->transaction, pr->name,
	    xca_status_name(st), (long long) pr->ms, pr->documents, pr->error[0] ? " error=" : "", pr->error);
	if (op->kind->finished != NULL) {
		/* One at a time: the caller's stream sees whole peers. */
		nng_mtx_lock(op->mtx);
		op->kind->finished(op, c);
		nng_mtx_unlock(op->mtx);
	}
	if (c->ctx_open) {
		nng_ctx_close(c->ctx);
		c->ctx_open = 0;
	}
	op_release(op);
}

static void
read_response_bytes(struct xca_call *c, const char *buf, size_t len, const struct mtom_msg *att)
{
	struct xca_op  *op = c->op;
	struct soap_msg m;
	char            why[256], sub[128];
	enum xca_status st;
	hie_err         e;

	e = soap_parse(buf, len, &op->fo->lim, &m);
	if (e != HIE_OK) {
		call_finish(c, XCA_ERROR, "unreadable response: %s", hie_strerror(e));
		return;
	}
	/* Nothing in a response is read before its signature is checked: it
	 * must come from the community we asked. */
	{
		struct wss_identity who;
		if ((e = wss_verify(op->fo->verifier, &m, 0, op->fo->peers[c->peer].p.community, &who, why, sizeof(why))) !=
		    HIE_OK) {
			soap_msg_free(&m);
			call_finish(c, XCA_ERROR, "response refused: %s", why);
			return;
		}
	}
	if (m.relates_to == NULL || strcmp(m.relates_to, c->msgid) != 0) {
		soap_msg_free(&m);
		call_finish(c, XCA_ERROR, "response does not relate to our request");
		return;
	}
	if (m.is_fault) {
		soap_fault_reason(&m, why, sizeof(why), sub, sizeof(sub));
		soap_msg_free(&m);
		/* Security faults (WS-Security 1.1 section 12) are refusals. */
		call_finish(c, strstr(sub, "wsse:") != NULL || strstr(sub, "Security") != NULL ? XCA_REFUSED : XCA_ERROR,
		    "fault: %s", why);
		return;
	}
	if (strcmp(m.action, op->kind->response_action) != 0) {
		soap_msg_free(&m);
		call_finish(c, XCA_ERROR, "unexpected wsa:Action in response");
		return;
	}
	why[0] = '\0';
	c->att = att;
	st = op->kind->read(op, c, m.body, why, sizeof(why));
	c->att = NULL;
	soap_msg_free(&m);
	call_finish(c, st, st == XCA_OK ? NULL : "%s", why);
}

static void
read_response(struct xca_call *c, nng_msg *msg)
{
	read_response_bytes(c, nng_msg_body(msg), nng_msg_len(msg), NULL);
	nng_msg_free(msg);
}

void
xca_call_https_done(struct xca_call *c, int timed_out, const char *err, const char *ctype, const char *body,
    size_t len)
{
	if (!timed_out && err == NULL)
		c->pr->answered_ms = hie_now_ms() - c->op->t0;
	if (timed_out) {
		call_finish(c, XCA_TIMEOUT, "no answer within %lld ms", (long long) (hie_now_ms() - c->t0));
	} else if (err != NULL) {
		call_finish(c, XCA_ERROR, "%s", err);
	} else if (ctype != NULL && strncasecmp(ctype, "multipart/related", 17) == 0) {
		/* MTOM/XOP: the envelope is the root part (verified as sent,
		 * as our responder signs it), documents are parts. */
		struct mtom_limits      lim = { 1000, 8192, c->op->fo->max_message_bytes };
		struct mtom_msg         mm = { 0 };
		const struct mtom_part *root;
		char                    why[128];
		if (mtom_parse(ctype, body, len, &lim, &mm, why, sizeof(why)) != HIE_OK || (root = mtom_root(&mm)) == NULL)
			call_finish(c, XCA_ERROR, "unreadable MTOM response: %s", why);
		else
			read_response_bytes(c, root->data, root->len, &mm);
		mtom_free(&mm);
	} else {
		read_response_bytes(c, body, len, NULL);
	}
}

/* An https:// peer: the same signed request, posted by https.c. */
static void
call_start_https(struct xca_call *c, int timeout)
{
	struct peer_conn *pc = &c->op->fo->peers[c->peer];
	nng_msg          *msg;
	char             *bytes;
	size_t            len;
	hie_err           e;
	char              ctype[512];

	if ((e = build_request(c->op, c, &msg)) != HIE_OK) {
		call_finish(c, XCA_ERROR, "cannot build request: %s", hie_strerror(e));
		return;
	}
	len = nng_msg_len(msg);
	if ((bytes = malloc(len + 1)) == NULL) {
		nng_msg_free(msg);
		call_finish(c, XCA_ERROR, "out of memory");
		return;
	}
	memcpy(bytes, nng_msg_body(msg), len);
	bytes[len] = '\0';
	nng_msg_free(msg);
	if (c->op->kind->mtom) {
		/* The envelope as the root part of a multipart/related body. */
		hie_buf b;
		hie_buf_init(&b, len + 4096);
		e = mtom_build(&b, ctype, sizeof(ctype), c->op->kind->action, bytes, len, NULL, 0);
		free(bytes);
		if (e != HIE_OK) {
			hie_buf_free(&b);
			call_finish(c, XCA_ERROR, "cannot build the MTOM request: %s", hie_strerror(e));
			return;
		}
		bytes = hie_buf_take(&b, &len);
	}
	c->sent = hie_now_ms();
	c->pr->sent_ms = c->sent - c->op->t0;
	if ((e = xca_https_post(c->op->fo->https, c, pc->p.address, c->op->kind->action,
	         c->op->kind->mtom ? ctype : NULL, bytes, len, timeout)) != HIE_OK)
		call_finish(c, XCA_ERROR, "cannot start the https call: %s", hie_strerror(e));
}

/* Once per call, with time left: the same request again, freshly signed,
 * on the peer's next connection (nng's REQ waits for it within the
 * deadline).  Returns 0 if the call is not resent. */
static int
call_resend(struct xca_call *c)
{
	nng_msg *msg;
	int64_t  left = c->deadline - hie_now_ms();

	if (c->retried || left < RESEND_MIN_LEFT_MS || !c->ctx_open)
		return 0;
	c->retried = 1;
	if (build_request(c->op, c, &msg) != HIE_OK)
		return 0;
	hie_log(HIE_LOG_INFO, "xca", "HIE-XCA-RESEND", c->op->rid,
	    "transaction=%s peer=%s connection dropped after %lld ms; resent once (new message id)",
	    c->op->kind->transaction, c->pr->name, (long long) (hie_now_ms() - c->sent));
	c->lost = 0;
	c->receiving = 0;
	left = c->deadline - hie_now_ms();
	nng_aio_set_msg(c->aio, msg);
	nng_aio_set_timeout(c->aio, send_timeout(c, left));
	inflight_add(c);
	ctx_io(c, 1);
	return 1;
}

static void
call_cb(void *arg)
{
	struct xca_call *c = arg;
	int              rv = nng_aio_result(c->aio);
	int64_t          left;

	if (rv != 0) {
		if (!c->receiving)
			nng_msg_free(nng_aio_get_msg(c->aio));
		/* nng reports a closed pipe as ECONNRESET, or we cancelled
		 * the call when the pipe went (inflight_del tells). */
		if ((inflight_del(c) || rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT) && call_resend(c))
			return;
		if (rv == NNG_ETIMEDOUT && !c->receiving && c->reconnect_wait)
			call_finish(c, XCA_ERROR, "not connected (the connection dropped and was not back within %d ms)",
			    c->reconnect_wait);
		else if (c->lost || rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT)
			call_finish(c, XCA_ERROR,
			    "connection lost after %lld ms (the peer closed it, or its answer was over max_message_bytes)",
			    (long long) (hie_now_ms() - c->t0));
		else if (rv == NNG_ETIMEDOUT)
			call_finish(c, XCA_TIMEOUT, "no answer within %lld ms", (long long) (hie_now_ms() - c->t0));
		else
			call_finish(c, XCA_ERROR, "%s", nng_strerror(rv));
		return;
	}
	if (c->receiving) {
		c->pr->answered_ms = hie_now_ms() - c->op->t0;
		read_response(c, nng_aio_get_msg(c->aio));
		return;
	}
	c->receiving = 1;
	left = c->deadline - hie_now_ms();
	nng_aio_set_timeout(c->aio, left > 0 ? (nng_duration) left : 1);
	ctx_io(c, 0);
}

static hie_err
build_request(struct xca_op *op, struct xca_call *c, nng_msg **out)
{
	struct peer_conn *pc = &op->fo->peers[c->peer];
	xmlDoc           *doc;
	xmlNode          *body;
	char             *bytes;
	size_t            len;
	hie_err           e;

	*out = NULL;
	if ((e = soap_envelope_new(op->kind->action, pc->p.address, NULL, &doc, &body, c->msgid)) != HIE_OK)
		return e;
	/* Every request is signed, with the requester's assertion for the
	 * peer's community as its audience. */
	if ((e = op->kind->build(op, c, body)) == HIE_OK &&
	    (e = wss_sign_text(op->fo->signer, doc, &op->claims, pc->p.community, op->fo->ttl_s, &bytes, &len)) == HIE_OK) {
		if (nng_msg_alloc(out, 0) != 0 || nng_msg_append(*out, bytes, len) != 0) {
			nng_msg_free(*out);
			*out = NULL;
			e = HIE_ENOMEM;
		}
		free(bytes);
	}
	xmlFreeDoc(doc);
	return e;
}

static void
call_start(struct xca_call *c)
{
	struct peer_conn *pc = &c->op->fo->peers[c->peer];
	nng_msg          *msg;
	hie_err           e;
	int64_t           left = c->deadline - hie_now_ms();
	int               timeout = left > 0 ? (int) left : 1;

	if (left <= 0) {
		/* An earlier phase (discovery) used the query's whole budget. */
		call_finish(c, XCA_TIMEOUT, "the query's overall deadline passed before this request could go");
		return;
	}
	if (pc->https) {
		call_start_https(c, timeout);
		return;
	}
	if (nng_aio_alloc(&c->aio, call_cb, c) != 0) {
		call_finish(c, XCA_ERROR, "out of memory");
		return;
	}
	if (atomic_load(&pc->npipes) == 0 && c->t0 - pc->opened_ms > CONNECT_GRACE_MS &&
	    c->t0 - atomic_load(&pc->lost_ms) > reconnect_window(pc, atomic_load(&pc->lost_ms), c->t0)) {
		call_finish(c, XCA_ERROR, "not connected (peer down, or TLS handshake refused)");
		return;
	}
	if (nng_ctx_open(&c->ctx, pc->sock) != 0) {
		call_finish(c, XCA_ERROR, "cannot open context");
		return;
	}
	c->ctx_open = 1;
	if ((e = build_request(c->op, c, &msg)) != HIE_OK) {
		call_finish(c, XCA_ERROR, "cannot build request: %s", hie_strerror(e));
		return;
	}
	/* Signing took time: the call's deadline stands, not a new one. */
	left = c->deadline - hie_now_ms();
	nng_aio_set_msg(c->aio, msg);
	nng_aio_set_timeout(c->aio, send_timeout(c, left));
	inflight_add(c);
	c->sent = hie_now_ms();
	c->pr->sent_ms = c->sent - c->op->t0;
	ctx_io(c, 1);
}

/*
 * Signing pool.  Building and signing a request costs about a millisecond
 * of CPU; done one after another on the caller's thread, the fiftieth
 * request left 50 ms after the first, and that was added to the query
 * whenever the fiftieth peer was the slowest.  Calls are queued (slowest
 * peer first, see xca_op_start) to one worker per core, shared by every
 * fan-out of the process; each request goes out as soon as it is signed.
 * The workers live as long as the process.
 */
static struct {
	pthread_once_t   once;
	nng_mtx         *mtx;
	nng_cv          *cv;
	struct xca_call *head, *tail;
	int              nworkers;
} signers = { .once = PTHREAD_ONCE_INIT };

static void *
signer_main(void *arg)
{
	(void) arg;
	for (;;) {
		struct xca_call *c;
		nng_mtx_lock(signers.mtx);
		while (signers.head == NULL)
			nng_cv_wait(signers.cv);
		c = signers.head;
		if ((signers.head = c->qnext) == NULL)
			signers.tail = NULL;
		nng_mtx_unlock(signers.mtx);
		c->qnext = NULL;
		call_start(c);
	}
	return NULL;
}

static void
signers_init(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > SIGNERS_MAX)
		n = SIGNERS_MAX;
	if (nng_mtx_alloc(&signers.mtx) != 0 || nng_cv_alloc(&signers.cv, signers.mtx) != 0)
		return; /* nworkers stays 0: calls are started inline */
	for (long i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, signer_main, NULL) != 0)
			break;
		pthread_detach(t);
		signers.nworkers++;
	}
}

/* Expected slowest first; unknown peers (0) after the known ones, in
 * directory order (qsort is not stable: ties by index). */
static int
slowest_first(const void *a, const void *b)
{
	const struct xca_call *const *x = a, *const *y = b;
	int ex = atomic_load(&(*x)->op->fo->peers[(*x)->peer].expect_ms);
	int ey = atomic_load(&(*y)->op->fo->peers[(*y)->peer].expect_ms);

	if (ex != ey)
		return ex > ey ? -1 : 1;
	return *x < *y ? -1 : *x > *y;
}

int64_t
xca_until(const xca_fanout *fo, int budget_ms)
{
	if (budget_ms <= 0 || budget_ms > fo->overall_deadline_ms)
		budget_ms = fo->overall_deadline_ms;
	return hie_now_ms() + budget_ms;
}

hie_err
xca_op_start(xca_fanout *fo, const struct xca_op_kind *kind, const size_t *peers, size_t n,
    struct xca_peer_result *results, const struct wss_claims *claims, void *ctx, const char *rid, int64_t until)
{
	struct xca_op    *op;
	int64_t           now = hie_now_ms();
	int               timeout;
	struct xca_call **order = NULL;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return HIE_ENOMEM;
	/* n + 1: never calloc(0). */
	if ((op->calls = calloc(n + 1, sizeof(*op->calls))) == NULL || nng_mtx_alloc(&op->mtx) != 0) {
		free(op->calls);
		free(op);
		return HIE_ENOMEM;
	}
	xca_fanout_hold(fo);
	op->fo = fo;
	op->kind = kind;
	op->ncalls = n;
	op->ctx = ctx;
	op->claims = *claims;
	op->t0 = now;
	hie_strlcpy(op->rid, rid != NULL ? rid : "-", sizeof(op->rid));
	/* One budget for the whole query: a later phase gets what the
	 * earlier ones left, each call no more than the peer deadline. */
	op->until = until > 0 ? until : now + fo->overall_deadline_ms;
	timeout = fo->peer_deadline_ms;
	if (now + timeout > op->until)
		timeout = (int) (op->until - now);
	for (size_t i = 0; i < n; i++) {
		struct xca_call *c = &op->calls[i];
		c->op = op;
		c->peer = peers[i];
		c->pr = &results[i];
		c->t0 = now;
		c->deadline = now + timeout;
		c->pr->sent_ms = c->pr->answered_ms = -1;
		hie_strlcpy(c->pr->name, fo->peers[peers[i]].p.name, sizeof(c->pr->name));
		hie_strlcpy(c->pr->community, fo->peers[peers[i]].p.community, sizeof(c->pr->community));
	}
	/* pending starts one high so that no call can complete the operation
	 * while the others are still being started. */
	op->pending = n + 1;
	pthread_once(&signers.once, signers_init);
	if (signers.nworkers > 0 && n > 0 && (order = calloc(n, sizeof(*order))) != NULL) {
		for (size_t i = 0; i < n; i++)
			order[i] = &op->calls[i];
		qsort(order, n, sizeof(*order), slowest_first);
		nng_mtx_lock(signers.mtx);
		for (size_t i = 0; i < n; i++) {
			if (signers.tail != NULL)
				signers.tail->qnext = order[i];
			else
				signers.head = order[i];
			signers.tail = order[i];
		}
		nng_cv_wake(signers.cv);
		nng_mtx_unlock(signers.mtx);
		free(order);
	} else {
		for (size_t i = 0; i < n; i++)
			call_start(&op->calls[i]);
	}
	op_release(op);
	return HIE_OK;
}
