/* xca/fanout.c -- parallel ITI-38 to every peer over nng, under deadlines. */
#include "xca/xca.h"

#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/soap.h"

/* A peer whose socket has had no connection for this long is reported at
 * once instead of holding the clinician until the deadline. */
#define CONNECT_GRACE_MS 1500

struct peer_conn {
	struct node_peer p;
	nng_socket       sock;
	int              sock_open;
	nng_tls_config  *tls;
	atomic_int       npipes;
	int64_t          opened_ms;
};

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
};

struct query_op;

struct call {
	struct query_op *op;
	size_t           idx;
	nng_aio         *aio;
	nng_ctx          ctx;
	int              ctx_open;
	int              receiving;
	int64_t          t0;
	int64_t          deadline; /* t0 + min(peer deadline, overall deadline) */
	char             msgid[46];
	struct reg_result docs;
};

struct query_op {
	xca_fanout        *fo;
	nng_mtx           *mtx;
	size_t             pending;
	struct call       *calls;
	struct xca_result *res;
	xca_done_fn        done;
	void              *arg;
	int64_t            t0;
	char               rid[33];
};

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
	(void) p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&pc->npipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&pc->npipes, 1);
}

static hie_err
peer_open(struct peer_conn *pc, const struct xca_fanout_cfg *cfg)
{
	nng_dialer d;
	hie_err    e;
	int        rv;

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
	if (cfg->peers->n > 0 && (fo->peers = calloc(cfg->peers->n, sizeof(*fo->peers))) == NULL) {
		free(fo);
		return HIE_ENOMEM;
	}
	fo->n = cfg->peers->n;
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
	}
	free(fo->peers);
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
	return atomic_load(&((struct peer_conn *) &fo->peers[i])->npipes) > 0;
}

/* ---- one query ---- */

static int
by_uid(const void *a, const void *b)
{
	const struct reg_entry *x = a, *y = b;
	int                     c = strcmp(x->unique_id, y->unique_id);
	return c != 0 ? c : strcmp(x->hash, y->hash);
}

static int
newest_first(const void *a, const void *b)
{
	const struct reg_entry *x = a, *y = b;
	int                     c = strcmp(y->creation_time, x->creation_time);
	return c != 0 ? c : strcmp(x->unique_id, y->unique_id);
}

/* Merges every ok peer's entries: one per uniqueId (the same document
 * reached through two communities is listed once), newest first. */
static void
aggregate(struct query_op *op)
{
	struct xca_result *res = op->res;
	size_t             total = 0, k = 0;

	for (size_t i = 0; i < res->npeers; i++)
		total += op->calls[i].docs.n;
	if (total > 0 && (res->docs.v = calloc(total, sizeof(*res->docs.v))) != NULL) {
		for (size_t i = 0; i < res->npeers; i++) {
			if (op->calls[i].docs.n == 0)
				continue;
			memcpy(res->docs.v + k, op->calls[i].docs.v, op->calls[i].docs.n * sizeof(*res->docs.v));
			k += op->calls[i].docs.n;
		}
		qsort(res->docs.v, k, sizeof(*res->docs.v), by_uid);
		res->docs.n = 0;
		for (size_t i = 0; i < k; i++) {
			if (res->docs.n > 0 && strcmp(res->docs.v[res->docs.n - 1].unique_id, res->docs.v[i].unique_id) == 0)
				continue;
			res->docs.v[res->docs.n++] = res->docs.v[i];
		}
		qsort(res->docs.v, res->docs.n, sizeof(*res->docs.v), newest_first);
		if (res->docs.n > op->fo->max_results)
			res->docs.n = op->fo->max_results;
	}
	for (size_t i = 0; i < res->npeers; i++)
		reg_result_free(&op->calls[i].docs);
}

/* Last peer in: aggregate, hand the result over, tear down.  The aios are
 * reaped, not freed: we may be running inside one of their callbacks. */
static void
op_complete(struct query_op *op)
{
	aggregate(op);
	op->res->ms = hie_now_ms() - op->t0;
	op->done(op->res, op->arg);
	for (size_t i = 0; i < op->fo->n; i++)
		if (op->calls[i].aio != NULL)
			nng_aio_reap(op->calls[i].aio);
	xca_fanout_release(op->fo);
	nng_mtx_free(op->mtx);
	free(op->calls);
	free(op);
}

static void
op_release(struct query_op *op)
{
	size_t left;

	nng_mtx_lock(op->mtx);
	left = --op->pending;
	nng_mtx_unlock(op->mtx);
	if (left == 0)
		op_complete(op);
}

static void
call_finish(struct call *c, enum xca_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
call_finish(struct call *c, enum xca_status st, const char *fmt, ...)
{
	struct query_op        *op = c->op;
	struct xca_peer_result *pr = &op->res->peers[c->idx];
	va_list                 ap;

	pr->status = st;
	pr->ms = hie_now_ms() - c->t0;
	pr->documents = st == XCA_OK ? c->docs.n : 0;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(pr->error, sizeof(pr->error), fmt, ap);
		va_end(ap);
	}
	if (st != XCA_OK)
		reg_result_free(&c->docs);
	hie_log(st == XCA_OK ? HIE_LOG_INFO : HIE_LOG_WARN, "xca", "HIE-XCA-PEER", op->rid,
	    "peer=%s status=%s ms=%lld docs=%zu%s%s", pr->name, xca_status_name(st), (long long) pr->ms,
	    pr->documents, pr->error[0] ? " error=" : "", pr->error);
	if (c->ctx_open) {
		nng_ctx_close(c->ctx);
		c->ctx_open = 0;
	}
	op_release(op);
}

static void
read_response(struct call *c, nng_msg *msg)
{
	struct query_op  *op = c->op;
	struct peer_conn *pc = &op->fo->peers[c->idx];
	struct soap_msg   m;
	char              why[256], sub[128];
	hie_err           e;

	e = soap_parse(nng_msg_body(msg), nng_msg_len(msg), &op->fo->lim, &m);
	nng_msg_free(msg);
	if (e != HIE_OK) {
		call_finish(c, XCA_ERROR, "unreadable response: %s", hie_strerror(e));
		return;
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
	if (strcmp(m.action, SOAP_ACTION_ITI38_RESP) != 0) {
		soap_msg_free(&m);
		call_finish(c, XCA_ERROR, "unexpected wsa:Action in response");
		return;
	}
	e = reg_ebrim_response_parse(m.body, op->fo->max_results, &c->docs, why, sizeof(why));
	soap_msg_free(&m);
	if (e != HIE_OK) {
		call_finish(c, XCA_ERROR, "%s", why);
		return;
	}
	/* Every entry must come from the community we asked: a peer that
	 * answers for another community is not believed at all. */
	for (size_t i = 0; i < c->docs.n; i++) {
		struct reg_entry *d = &c->docs.v[i];
		if (d->home_community[0] == '\0')
			hie_strlcpy(d->home_community, pc->p.community, sizeof(d->home_community));
		else if (strcmp(d->home_community, pc->p.community) != 0) {
			call_finish(c, XCA_ERROR, "peer claims community %.100s", d->home_community);
			return;
		}
	}
	call_finish(c, XCA_OK, NULL);
}

static void
call_cb(void *arg)
{
	struct call *c = arg;
	int          rv = nng_aio_result(c->aio);
	int64_t      left;

	if (rv != 0) {
		if (!c->receiving)
			nng_msg_free(nng_aio_get_msg(c->aio));
		if (rv == NNG_ETIMEDOUT)
			call_finish(c, XCA_TIMEOUT, "no answer within %lld ms", (long long) (hie_now_ms() - c->t0));
		else
			call_finish(c, XCA_ERROR, "%s", nng_strerror(rv));
		return;
	}
	if (c->receiving) {
		read_response(c, nng_aio_get_msg(c->aio));
		return;
	}
	c->receiving = 1;
	left = c->deadline - hie_now_ms();
	nng_aio_set_timeout(c->aio, left > 0 ? (nng_duration) left : 1);
	nng_ctx_recv(c->ctx, c->aio);
}

static hie_err
build_request(const struct query_op *op, const struct reg_query *q, struct call *c, nng_msg **out)
{
	struct peer_conn *pc = &op->fo->peers[c->idx];
	xmlDoc           *doc;
	xmlNode          *body;
	char             *bytes;
	size_t            len;
	hie_err           e;

	*out = NULL;
	if ((e = soap_envelope_new(SOAP_ACTION_ITI38, pc->p.address, NULL, &doc, &body, c->msgid)) != HIE_OK)
		return e;
	if ((e = reg_ebrim_query_build(body, q, pc->p.community)) == HIE_OK &&
	    (e = hie_xml_dump(doc, &bytes, &len)) == HIE_OK) {
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

hie_err
xca_fanout_query(xca_fanout *fo, const struct reg_query *q, const char *rid, xca_done_fn done, void *arg)
{
	struct query_op *op;
	int64_t          now = hie_now_ms();
	int              timeout;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return HIE_ENOMEM;
	op->res = calloc(1, sizeof(*op->res));
	op->calls = calloc(fo->n + 1, sizeof(*op->calls)); /* +1: never calloc(0) */
	if (op->res == NULL || op->calls == NULL || nng_mtx_alloc(&op->mtx) != 0 ||
	    (fo->n > 0 && (op->res->peers = calloc(fo->n, sizeof(*op->res->peers))) == NULL)) {
		if (op->mtx != NULL)
			nng_mtx_free(op->mtx);
		if (op->res != NULL)
			xca_result_free(op->res);
		free(op->calls);
		free(op);
		return HIE_ENOMEM;
	}
	xca_fanout_hold(fo);
	op->fo = fo;
	op->done = done;
	op->arg = arg;
	op->t0 = now;
	hie_strlcpy(op->rid, rid != NULL ? rid : "-", sizeof(op->rid));
	hie_strlcpy(op->res->patient, q->patient_id, sizeof(op->res->patient));
	op->res->npeers = fo->n;
	timeout = fo->peer_deadline_ms < fo->overall_deadline_ms ? fo->peer_deadline_ms : fo->overall_deadline_ms;
	/* pending starts one high so that no peer can finish the query while
	 * the others are still being started. */
	op->pending = fo->n + 1;
	for (size_t i = 0; i < fo->n; i++) {
		struct call      *c = &op->calls[i];
		struct peer_conn *pc = &fo->peers[i];
		nng_msg          *msg;
		hie_err           e;

		c->op = op;
		c->idx = i;
		c->t0 = now;
		c->deadline = now + timeout;
		hie_strlcpy(op->res->peers[i].name, pc->p.name, sizeof(op->res->peers[i].name));
		hie_strlcpy(op->res->peers[i].community, pc->p.community, sizeof(op->res->peers[i].community));
		if (nng_aio_alloc(&c->aio, call_cb, c) != 0) {
			call_finish(c, XCA_ERROR, "out of memory");
			continue;
		}
		if (atomic_load(&pc->npipes) == 0 && now - pc->opened_ms > CONNECT_GRACE_MS) {
			call_finish(c, XCA_ERROR, "not connected (peer down, or TLS handshake refused)");
			continue;
		}
		if (nng_ctx_open(&c->ctx, pc->sock) != 0) {
			call_finish(c, XCA_ERROR, "cannot open context");
			continue;
		}
		c->ctx_open = 1;
		if ((e = build_request(op, q, c, &msg)) != HIE_OK) {
			call_finish(c, XCA_ERROR, "cannot build request: %s", hie_strerror(e));
			continue;
		}
		nng_aio_set_msg(c->aio, msg);
		nng_aio_set_timeout(c->aio, timeout);
		nng_ctx_send(c->ctx, c->aio);
	}
	/* Drop the extra count; if every peer already finished, this
	 * completes the query. */
	op_release(op);
	return HIE_OK;
}

void
xca_result_free(struct xca_result *res)
{
	if (res == NULL)
		return;
	free(res->peers);
	reg_result_free(&res->docs);
	free(res);
}
