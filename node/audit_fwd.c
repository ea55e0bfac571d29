/* node/audit_fwd.c -- the audit trail forwarded as RFC 5424 syslog over TLS
 * (ATNA ITI-20) from a persisted cursor.  See node/audit_fwd.h. */
#include "node/audit_fwd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "node/atna.h"
#include "node/audit.h"
#include "node/store.h"

#define BATCH 256          /* records read from the trail per pass */
#define PENDING 64         /* batches sent and not yet accepted */
#define IO_TIMEOUT_MS 5000 /* connect, handshake, each write */
#define IDLE_MS 100        /* how often the trail is looked at when idle */
#define MAX_MESSAGE (4 << 20)

struct pending {
	uint64_t seq;      /* last record of the batch */
	uint64_t raw_end;  /* socket bytes written once the batch was out */
	int64_t  acked_at; /* when TCP acknowledged raw_end (0: not yet) */
};

struct audit_fwd {
	MDB_env        *env;
	MDB_dbi         dbi;
	char            host[256], port[16];
	char           *node, *community;
	int             backoff_min_ms, backoff_max_ms, confirm_ms;
	SSL_CTX        *ctx;
	pthread_t       thread;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	int             stopping;
	struct audit_fwd_stats st; /* guarded by mtx */
	/* The thread's own. */
	int             fd;
	SSL            *ssl;
	uint64_t        cursor;    /* persisted: last accepted */
	uint64_t        sent;      /* last written on this connection */
	struct pending  pend[PENDING];
	size_t          npend;
};

static const unsigned char CURSOR_KEY[] = "cursor";

/* ---- the cursor ---- */

static hie_err
open_db(MDB_env *env, MDB_dbi *dbi)
{
	MDB_txn *txn;
	int      rc;

	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_dbi_open(txn, "audit_fwd", MDB_CREATE, dbi)) != 0) {
		mdb_txn_abort(txn);
		return hie_store_err(rc);
	}
	return (rc = mdb_txn_commit(txn)) == 0 ? HIE_OK : hie_store_err(rc);
}

static hie_err
read_cursor_db(MDB_env *env, MDB_dbi dbi, uint64_t *seq)
{
	MDB_txn *txn;
	MDB_val  k = { sizeof(CURSOR_KEY) - 1, (void *) CURSOR_KEY }, v;
	int      rc;

	*seq = 0;
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == 0 && v.mv_size == 8)
		memcpy(seq, v.mv_data, 8);
	mdb_txn_abort(txn);
	return rc == 0 || rc == MDB_NOTFOUND ? HIE_OK : hie_store_err(rc);
}

hie_err
audit_fwd_cursor(MDB_env *env, uint64_t *seq)
{
	MDB_txn *txn;
	MDB_dbi  dbi;
	int      rc;

	*seq = 0;
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	rc = mdb_dbi_open(txn, "audit_fwd", 0, &dbi);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return HIE_OK; /* never forwarded */
	if (rc != 0)
		return hie_store_err(rc);
	return read_cursor_db(env, dbi, seq);
}

static hie_err
write_cursor(audit_fwd *f, uint64_t seq)
{
	MDB_txn *txn;
	MDB_val  k = { sizeof(CURSOR_KEY) - 1, (void *) CURSOR_KEY }, v = { 8, &seq };
	int      rc;

	if ((rc = mdb_txn_begin(f->env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_put(txn, f->dbi, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return hie_store_err(rc);
	}
	return (rc = mdb_txn_commit(txn)) == 0 ? HIE_OK : hie_store_err(rc);
}

/* ---- waiting, interruptible by audit_fwd_stop ---- */

/* Sleeps ms unless stopping; returns 1 when stopping. */
static int
nap(audit_fwd *f, int ms)
{
	struct timespec ts;
	int             stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mtx);
	while (!f->stopping && pthread_cond_timedwait(&f->cv, &f->mtx, &ts) == 0)
		;
	stop = f->stopping;
	pthread_mutex_unlock(&f->mtx);
	return stop;
}

static int
stopping(audit_fwd *f)
{
	int s;

	pthread_mutex_lock(&f->mtx);
	s = f->stopping;
	pthread_mutex_unlock(&f->mtx);
	return s;
}

static void
set_error(audit_fwd *f, const char *fmt, const char *arg)
{
	pthread_mutex_lock(&f->mtx);
	/* Truncation is fine: the reason is for /health and the log. */
	if (snprintf(f->st.last_error, sizeof(f->st.last_error), fmt, arg) < 0)
		f->st.last_error[0] = '\0';
	f->st.failures++;
	pthread_mutex_unlock(&f->mtx);
}

/* ---- the connection ---- */

static void
disconnect(audit_fwd *f)
{
	if (f->ssl != NULL) {
		SSL_shutdown(f->ssl); /* close_notify, best effort: never waited for */
		SSL_free(f->ssl);
		f->ssl = NULL;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->npend = 0;
	pthread_mutex_lock(&f->mtx);
	f->st.connected = 0;
	pthread_mutex_unlock(&f->mtx);
}

/* Waits until fd is ready for ev or the deadline; 1 ready, 0 not. */
static int
wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t       left = deadline - hie_now_ms();
		struct pollfd p = { fd, ev, 0 };
		int           rc;
		if (left <= 0)
			return 0;
		rc = poll(&p, 1, (int) (left > 200 ? 200 : left));
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return 0;
	}
}

/* One SSL call's WANT_READ/WANT_WRITE as a wait; 1 to retry, 0 failed. */
static int
ssl_retry(audit_fwd *f, int rc, int64_t deadline)
{
	switch (SSL_get_error(f->ssl, rc)) {
	case SSL_ERROR_WANT_READ: return wait_fd(f->fd, POLLIN, deadline);
	case SSL_ERROR_WANT_WRITE: return wait_fd(f->fd, POLLOUT, deadline);
	default: return 0;
	}
}

static const char *
ssl_why(audit_fwd *f)
{
	static __thread char why[128];
	unsigned long        e = ERR_get_error();
	long                 v = f->ssl != NULL ? SSL_get_verify_result(f->ssl) : X509_V_OK;

	if (v != X509_V_OK)
		snprintf(why, sizeof(why), "repository certificate: %s", X509_verify_cert_error_string(v));
	else if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "connection closed");
	ERR_clear_error();
	return why;
}

static int
tcp_connect(audit_fwd *f, int64_t deadline)
{
	struct addrinfo hints = { 0 }, *ai, *p;
	int             fd = -1, rc;

	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(f->host, f->port, &hints, &ai)) != 0) {
		set_error(f, "resolve: %s", gai_strerror(rc));
		return -1;
	}
	for (p = ai; p != NULL && fd < 0; p = p->ai_next) {
		int       err = 0;
		socklen_t el = sizeof(err);
		if ((fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, p->ai_protocol)) < 0)
			continue;
		if (connect(fd, p->ai_addr, p->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		set_error(f, "connect to %s: refused or unreachable", f->host);
	return fd;
}

static hie_err
connect_repo(audit_fwd *f)
{
	int64_t deadline = hie_now_ms() + IO_TIMEOUT_MS;
	int     rc;

	if ((f->fd = tcp_connect(f, deadline)) < 0)
		return HIE_ENET;
	if ((f->ssl = SSL_new(f->ctx)) == NULL || SSL_set_fd(f->ssl, f->fd) != 1 ||
	    SSL_set_tlsext_host_name(f->ssl, f->host) != 1 || SSL_set1_host(f->ssl, f->host) != 1) {
		set_error(f, "TLS: %s", "cannot set up the connection");
		disconnect(f);
		return HIE_ETLS;
	}
	while ((rc = SSL_connect(f->ssl)) != 1)
		if (!ssl_retry(f, rc, deadline)) {
			set_error(f, "TLS handshake: %s", ssl_why(f));
			disconnect(f);
			return HIE_ETLS;
		}
	f->sent = f->cursor; /* resume from what the repository accepted */
	f->npend = 0;
	pthread_mutex_lock(&f->mtx);
	f->st.connected = 1;
	f->st.connects++;
	f->st.last_error[0] = '\0';
	pthread_mutex_unlock(&f->mtx);
	return HIE_OK;
}

/* The repository never sends anything in syslog: a close_notify, an alert
 * (TLS 1.3 reports a refused client certificate only after the handshake)
 * or a reset means the connection is gone.  Session tickets are read and
 * dropped.  1 alive, 0 gone. */
static int
alive(audit_fwd *f)
{
	char buf[512];

	/* Bounded: a peer that keeps talking is not a syslog receiver. */
	for (int i = 0; i < 64; i++) {
		int rc = SSL_read(f->ssl, buf, sizeof(buf));
		if (rc > 0)
			continue;
		switch (SSL_get_error(f->ssl, rc)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE: return 1;
		default: return 0;
		}
	}
	return 0;
}

static hie_err
write_all(audit_fwd *f, const char *p, size_t n)
{
	int64_t deadline = hie_now_ms() + IO_TIMEOUT_MS;

	while (n > 0) {
		int chunk = n > (1 << 20) ? 1 << 20 : (int) n;
		int rc = SSL_write(f->ssl, p, chunk);
		if (rc > 0) {
			p += rc;
			n -= (size_t) rc;
			deadline = hie_now_ms() + IO_TIMEOUT_MS;
			continue;
		}
		if (!ssl_retry(f, rc, deadline))
			return HIE_ENET;
	}
	return HIE_OK;
}

/* Moves the cursor over the batches the repository's TCP acknowledged
 * confirm_ms ago on a connection that is still up. */
static void
confirm(audit_fwd *f)
{
	int      outq = 0;
	uint64_t raw = BIO_number_written(SSL_get_wbio(f->ssl)), acked;
	int64_t  now = hie_now_ms();
	uint64_t upto = f->cursor;
	size_t   i = 0;

	if (ioctl(f->fd, SIOCOUTQ, &outq) != 0 || outq < 0)
		return;
	acked = raw - (uint64_t) outq;
	for (size_t k = 0; k < f->npend; k++)
		if (f->pend[k].acked_at == 0 && f->pend[k].raw_end <= acked)
			f->pend[k].acked_at = now;
	while (i < f->npend && f->pend[i].acked_at != 0 && now - f->pend[i].acked_at >= f->confirm_ms)
		upto = f->pend[i++].seq;
	if (i == 0)
		return;
	memmove(f->pend, f->pend + i, (f->npend - i) * sizeof(f->pend[0]));
	f->npend -= i;
	if (upto > f->cursor && write_cursor(f, upto) == HIE_OK) {
		f->cursor = upto;
		pthread_mutex_lock(&f->mtx);
		f->st.accepted = upto;
		pthread_mutex_unlock(&f->mtx);
	}
}

/* ---- one batch from the trail ---- */

struct batch {
	audit_fwd *f;
	hie_buf    out;   /* framed syslog messages */
	hie_buf    xml;
	size_t     n;
	uint64_t   last;
	hie_err    bad;   /* a record that would not render */
};

/* HOSTNAME and APP-NAME are PRINTUSASCII without spaces (RFC 5424 6.2). */
static void
printusascii(const char *in, char *out, size_t cap)
{
	size_t i = 0;

	for (; in != NULL && in[i] != '\0' && i + 1 < cap; i++)
		out[i] = in[i] > 32 && in[i] < 127 ? in[i] : '-';
	if (i == 0 && cap > 1)
		out[i++] = '-';
	out[i] = '\0';
}

static hie_err
add_record(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct batch *b = arg;
	audit_fwd    *f = b->f;
	char          ts[32] = "-", host[256];
	const char   *t = NULL;
	hie_err       e;

	if (b->n == BATCH || b->out.len > MAX_MESSAGE)
		return HIE_ETOOBIG; /* batch full: the rest next pass */
	/* The record's own time: "time" is its first field, UTC to the second. */
	if (len > 10 && memcmp(json, "{\"time\":\"", 9) == 0)
		t = json + 9;
	if (t != NULL && t + 20 <= json + len && t[19] == 'Z') {
		memcpy(ts, t, 20);
		ts[20] = '\0';
	}
	printusascii(f->node, host, sizeof(host));
	b->xml.len = 0;
	if (audit_atna(json, len, f->node, f->community, &b->xml) != HIE_OK) {
		/* Not an audit record (never written by this node): skipped,
		 * said in the log, the trail itself is what audit verify checks. */
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FWD-SKIP", NULL, "record %llu does not render as ATNA; not forwarded",
		    (unsigned long long) seq);
		b->last = seq;
		return HIE_OK;
	}
	{
		char   head[512];
		int    hn = snprintf(head, sizeof(head), "<85>1 %s %s hie-node %ld IHE+RFC-3881 [hie@32473 seq=\"%llu\"] \xEF\xBB\xBF",
		       ts, host, (long) getpid(), (unsigned long long) seq);
		size_t msg = (size_t) hn + b->xml.len;
		if ((e = hie_buf_printf(&b->out, "%zu ", msg)) != HIE_OK || (e = hie_buf_add(&b->out, head, (size_t) hn)) != HIE_OK ||
		    (e = hie_buf_add(&b->out, b->xml.data, b->xml.len)) != HIE_OK) {
			b->bad = e;
			return e;
		}
	}
	b->n++;
	b->last = seq;
	return HIE_OK;
}

/* Sends what follows f->sent; the number of records sent, or -1 when the
 * connection failed. */
static long
send_batch(audit_fwd *f)
{
	struct batch b = { .f = f };
	hie_err      e;

	if (f->npend == PENDING)
		return 0; /* wait for acceptance before sending more */
	hie_buf_init(&b.out, MAX_MESSAGE + (1 << 20) + 64);
	hie_buf_init(&b.xml, 1 << 20);
	b.last = f->sent;
	e = audit_each(f->env, f->sent + 1, add_record, &b, NULL);
	if (e != HIE_OK && e != HIE_ETOOBIG)
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FWD-READ", NULL, "reading the trail: %s", hie_strerror(e));
	if (b.out.len > 0 && write_all(f, b.out.data, b.out.len) != HIE_OK) {
		set_error(f, "send: %s", ssl_why(f));
		hie_buf_free(&b.out);
		hie_buf_free(&b.xml);
		return -1;
	}
	hie_buf_free(&b.out);
	hie_buf_free(&b.xml);
	if (b.last > f->sent) {
		f->sent = b.last;
		f->pend[f->npend].seq = b.last;
		f->pend[f->npend].raw_end = BIO_number_written(SSL_get_wbio(f->ssl));
		f->pend[f->npend].acked_at = 0;
		f->npend++;
		pthread_mutex_lock(&f->mtx);
		f->st.forwarded += b.n;
		pthread_mutex_unlock(&f->mtx);
	}
	return (long) b.n;
}

/* Records in the trail after the cursor: what the repository still lacks. */
static void
update_lag(audit_fwd *f)
{
	uint64_t last = 0;

	audit_last_seq(f->env, &last);
	pthread_mutex_lock(&f->mtx);
	f->st.lag = last > f->cursor ? last - f->cursor : 0;
	pthread_mutex_unlock(&f->mtx);
}

static void *
run(void *arg)
{
	audit_fwd *f = arg;
	int        backoff = f->backoff_min_ms;

	while (!stopping(f)) {
		long n;
		if (f->ssl == NULL) {
			if (connect_repo(f) != HIE_OK) {
				char why[128];
				pthread_mutex_lock(&f->mtx);
				snprintf(why, sizeof(why), "%s", f->st.last_error);
				pthread_mutex_unlock(&f->mtx);
				update_lag(f);
				hie_log(HIE_LOG_WARN, "audit", "HIE-AUDIT-FWD-DOWN", NULL,
				    "audit repository %s:%s: %s; retrying in %d ms", f->host, f->port, why, backoff);
				if (nap(f, backoff))
					break;
				backoff = backoff > f->backoff_max_ms / 2 ? f->backoff_max_ms : backoff * 2;
				continue;
			}
			hie_log(HIE_LOG_INFO, "audit", "HIE-AUDIT-FWD-UP", NULL,
			    "audit repository %s:%s connected; resuming after record %llu", f->host, f->port,
			    (unsigned long long) f->cursor);
			backoff = f->backoff_min_ms;
		}
		n = send_batch(f);
		if (n >= 0 && !alive(f))
			n = -1;
		if (n < 0) {
			hie_log(HIE_LOG_WARN, "audit", "HIE-AUDIT-FWD-LOST", NULL,
			    "audit repository %s:%s: connection lost; records after %llu will be sent again", f->host,
			    f->port, (unsigned long long) f->cursor);
			pthread_mutex_lock(&f->mtx);
			f->st.failures++;
			pthread_mutex_unlock(&f->mtx);
			disconnect(f);
			if (nap(f, backoff))
				break;
			continue;
		}
		confirm(f);
		update_lag(f);
		if (n == 0 && nap(f, IDLE_MS))
			break;
	}
	/* Stopping: what was acknowledged long enough is kept; the rest goes
	 * again after the restart (at-least-once). */
	if (f->ssl != NULL)
		confirm(f);
	disconnect(f);
	return NULL;
}

/* ---- start and stop ---- */

static hie_err
parse_url(audit_fwd *f, const char *url)
{
	const char *hp = url + strlen("tls+tcp://"), *colon;
	size_t      hl;

	if (strncmp(url, "tls+tcp://", 10) != 0)
		return HIE_ECONFIG;
	if (*hp == '[') { /* [v6]:port */
		const char *end = strchr(hp, ']');
		if (end == NULL || end[1] != ':')
			return HIE_ECONFIG;
		hl = (size_t) (end - hp - 1);
		hp++;
		colon = end + 1;
	} else {
		if ((colon = strrchr(hp, ':')) == NULL)
			return HIE_ECONFIG;
		hl = (size_t) (colon - hp);
	}
	if (hl == 0 || hl >= sizeof(f->host) || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(f->port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return HIE_ECONFIG;
	memcpy(f->host, hp, hl);
	f->host[hl] = '\0';
	strcpy(f->port, colon + 1);
	return HIE_OK;
}

static hie_err
make_ctx(audit_fwd *f, const struct audit_fwd_config *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return HIE_ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, c->ca, NULL) != 1)
		goto fail;
	if (c->crl != NULL && c->crl[0] != '\0') {
		X509_STORE  *store = SSL_CTX_get_cert_store(ctx);
		X509_LOOKUP *lk = X509_STORE_add_lookup(store, X509_LOOKUP_file());
		if (lk == NULL || X509_load_crl_file(lk, c->crl, X509_FILETYPE_PEM) < 1)
			goto fail;
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	f->ctx = ctx;
	return HIE_OK;
fail:
	{
		char why[160];
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		ERR_clear_error();
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FWD-TLS", NULL, "audit forwarding: certificates: %s", why);
	}
	SSL_CTX_free(ctx);
	return HIE_ETLS;
}

hie_err
audit_fwd_start(MDB_env *env, const struct audit_fwd_config *c, audit_fwd **out)
{
	audit_fwd         *f;
	pthread_condattr_t ca;
	hie_err            e;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return HIE_ENOMEM;
	f->env = env;
	f->fd = -1;
	f->backoff_min_ms = c->backoff_min_ms > 0 ? c->backoff_min_ms : 500;
	f->backoff_max_ms = (c->backoff_max_s > 0 ? c->backoff_max_s : 60) * 1000;
	if (f->backoff_max_ms < f->backoff_min_ms)
		f->backoff_max_ms = f->backoff_min_ms;
	f->confirm_ms = c->confirm_ms;
	if ((e = parse_url(f, c->url)) != HIE_OK) {
		free(f);
		return e;
	}
	if ((f->node = strdup(c->node != NULL ? c->node : "-")) == NULL ||
	    (f->community = strdup(c->community != NULL ? c->community : "")) == NULL) {
		e = HIE_ENOMEM;
		goto fail;
	}
	if ((e = make_ctx(f, c)) != HIE_OK || (e = open_db(env, &f->dbi)) != HIE_OK ||
	    (e = read_cursor_db(env, f->dbi, &f->cursor)) != HIE_OK)
		goto fail;
	f->sent = f->cursor;
	f->st.accepted = f->cursor;
	pthread_mutex_init(&f->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&f->thread, NULL, run, f) != 0) {
		pthread_mutex_destroy(&f->mtx);
		pthread_cond_destroy(&f->cv);
		e = HIE_ENOMEM;
		goto fail;
	}
	*out = f;
	return HIE_OK;
fail:
	SSL_CTX_free(f->ctx);
	free(f->node);
	free(f->community);
	free(f);
	return e;
}

void
audit_fwd_stop(audit_fwd *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mtx);
	f->stopping = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mtx);
	pthread_join(f->thread, NULL);
	pthread_mutex_destroy(&f->mtx);
	pthread_cond_destroy(&f->cv);
	SSL_CTX_free(f->ctx);
	free(f->node);
	free(f->community);
	free(f);
}

void
audit_fwd_stats(audit_fwd *f, struct audit_fwd_stats *s)
{
	uint64_t last = 0;

	/* The lag as of now, not as of the thread's last pass (which may be
	 * sleeping out a backoff). */
	audit_last_seq(f->env, &last);
	pthread_mutex_lock(&f->mtx);
	*s = f->st;
	pthread_mutex_unlock(&f->mtx);
	s->lag = last > s->accepted ? last - s->accepted : 0;
}
