/*
 * node/hl7_appack.c -- the queue of HL7 v2 application acknowledgements and
 * its sender thread (see node/hl7_appack.h).
 *
 * Record: key 8-byte big-endian sequence number (the last key + 1, taken
 * inside the putting write transaction, so it is unique without a counter
 * shared between threads); value: 8-byte creation time (seconds, host
 * order), the 2-letter code, then NUL-terminated application, facility,
 * acknowledged MSH-10 and our MSH-10, then the acknowledgement itself.
 */
#include "node/hl7_appack.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/mllp.h"
#include "node/store.h"

#define MAX_ROUTES 1024
#define BATCH      64

struct route {
	char            app[64], fac[64];
	char            url[256];
	nng_tls_config *tls;
	mllp_client    *c;
	int64_t         next_ms;    /* no attempt before (monotonic) */
	int             backoff_ms; /* 0: healthy */
	int             blocked;    /* failed during this pass */
};

struct hl7_appack {
	MDB_env        *env;
	MDB_dbi         dbi;
	size_t          max_queued;
	int             retry_max_ms, timeout_ms;
	void (*report)(void *arg, const struct hl7_appack_event *ev);
	void           *report_arg;
	struct route   *routes;
	size_t          nroutes;
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	int             kicked, stopping;
	pthread_t       th;
};

/* A queued record, decoded (pointers into a copy the caller owns). */
struct rec {
	uint64_t    seq;
	const char *app, *fac, *ctl, *ack_id;
	const char *ack;
	size_t      len;
	char        code[3]; /* a copy: records are copied by value */
	char       *copy;
	struct route *r;
};

static void
emit(hl7_appack *q, const char *what, const char *code, const char *ctl, const char *ack_id, const char *sender,
    const char *dest, const char *detail, size_t n)
{
	struct hl7_appack_event ev = { what, code, ctl, ack_id, sender, dest != NULL ? dest : "",
		detail != NULL ? detail : "", n };
	if (q->report != NULL)
		q->report(q->report_arg, &ev);
}

/* ---- routes ---- */

static struct route *
match(hl7_appack *q, const char *app, const char *fac)
{
	for (size_t i = 0; i < q->nroutes; i++) {
		struct route *r = &q->routes[i];
		if ((strcmp(r->app, "*") == 0 || strcmp(r->app, app) == 0) &&
		    (strcmp(r->fac, "*") == 0 || strcmp(r->fac, fac) == 0))
			return r;
	}
	return NULL;
}

/* tcp://HOST:PORT or tls+tcp://HOST:PORT; host (the TLS server name) into
 * host[cap]. */
static int
valid_url(const char *url, int *tls, char *host, size_t cap)
{
	const char *p, *colon;
	char       *end;
	long        port;

	*tls = strncmp(url, "tls+tcp://", 10) == 0;
	if (!*tls && strncmp(url, "tcp://", 6) != 0)
		return 0;
	p     = url + (*tls ? 10 : 6);
	colon = strrchr(p, ':');
	if (colon == NULL || colon == p || (size_t) (colon - p) >= cap)
		return 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		return 0;
	memcpy(host, p, (size_t) (colon - p));
	host[colon - p] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	return 1;
}

static hie_err
load_routes(hl7_appack *q, const struct hl7_appack_cfg *cfg, FILE *err)
{
	char   *text, *line, *save = NULL;
	size_t  len;
	int     lineno = 0, bad = 0;
	hie_err e;

	if (cfg->routes_file == NULL || cfg->routes_file[0] == '\0')
		return HIE_OK;
	if ((e = hie_read_file(cfg->routes_file, 1 << 20, &text, &len)) != HIE_OK) {
		if (err != NULL)
			fprintf(err, "%s: cannot read the application acknowledgement routes: %s\n", cfg->routes_file,
			    hie_strerror(e));
		return HIE_ECONFIG;
	}
	if ((q->routes = calloc(MAX_ROUTES, sizeof(*q->routes))) == NULL) {
		free(text);
		return HIE_ENOMEM;
	}
	/* strtok_r would merge empty lines and miscount them. */
	for (line = text; line != NULL; line = save) {
		char  tok[4][256], host[256];
		int   n = 0, tls;
		char *p;

		lineno++;
		save = strchr(line, '\n');
		if (save != NULL)
			*save++ = '\0';
		for (p = line; *p != '\0' && n < 4;) {
			size_t k = 0;
			while (*p != '\0' && isspace((unsigned char) *p))
				p++;
			if (*p == '\0' || (n == 0 && (*p == '#' || *p == ';')))
				break;
			while (*p != '\0' && !isspace((unsigned char) *p)) {
				if (k + 1 < sizeof(tok[0]))
					tok[n][k++] = *p;
				p++;
			}
			tok[n++][k] = '\0';
		}
		if (n == 0)
			continue;
		if (n != 3) {
			if (err != NULL)
				fprintf(err, "%s:%d: expected APPLICATION FACILITY DESTINATION (\"*\" for any)\n",
				    cfg->routes_file, lineno);
			bad++;
			continue;
		}
		if (!valid_url(tok[2], &tls, host, sizeof(host))) {
			if (err != NULL)
				fprintf(err, "%s:%d: destination \"%s\" is not tcp://HOST:PORT or tls+tcp://HOST:PORT\n",
				    cfg->routes_file, lineno, tok[2]);
			bad++;
			continue;
		}
		if (q->nroutes == MAX_ROUTES || strlen(tok[0]) >= 64 || strlen(tok[1]) >= 64) {
			if (err != NULL)
				fprintf(err, "%s:%d: %s\n", cfg->routes_file, lineno,
				    q->nroutes == MAX_ROUTES ? "more than 1024 routes" : "application or facility too long");
			bad++;
			continue;
		}
		{
			struct route *r = &q->routes[q->nroutes];
			strcpy(r->app, tok[0]);
			strcpy(r->fac, tok[1]);
			hie_strlcpy(r->url, tok[2], sizeof(r->url));
			if (tls) {
				if (cfg->tls_client == NULL || (e = cfg->tls_client(cfg->tls_arg, host, &r->tls)) != HIE_OK) {
					if (err != NULL)
						fprintf(err, "%s:%d: no TLS client configuration for %s\n", cfg->routes_file,
						    lineno, tok[2]);
					bad++;
					continue;
				}
			}
			q->nroutes++;
		}
	}
	free(text);
	return bad ? HIE_ECONFIG : HIE_OK;
}

static void
free_routes(hl7_appack *q)
{
	for (size_t i = 0; i < q->nroutes; i++) {
		mllp_client_close(q->routes[i].c);
		if (q->routes[i].tls != NULL)
			nng_tls_config_free(q->routes[i].tls);
	}
	free(q->routes);
	q->routes  = NULL;
	q->nroutes = 0;
}

/* ---- records ---- */

static void
seq_key(uint64_t seq, unsigned char k[8])
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		k[i] = (unsigned char) (seq & 0xFF);
}

static uint64_t
key_seq(const MDB_val *k)
{
	uint64_t s = 0;
	const unsigned char *p = k->mv_data;
	for (size_t i = 0; i < 8 && i < k->mv_size; i++)
		s = (s << 8) | p[i];
	return s;
}

/* Decodes v (which must stay valid, or be a copy) into *r. */
static int
decode(const MDB_val *v, struct rec *r)
{
	const char *p = v->mv_data, *end = p + v->mv_size;
	const char **fields[] = { &r->app, &r->fac, &r->ctl, &r->ack_id };

	if (v->mv_size < 10)
		return 0;
	memcpy(r->code, p + 8, 2);
	r->code[2] = '\0';
	p += 10;
	for (size_t i = 0; i < 4; i++) {
		const char *nul = memchr(p, '\0', (size_t) (end - p));
		if (nul == NULL)
			return 0;
		*fields[i] = p;
		p          = nul + 1;
	}
	r->ack = p;
	r->len = (size_t) (end - p);
	return 1;
}

/* MSH-10 and MSA-1 of an acknowledgement we built (raw, unescaped: our
 * MSH-10 is hex digits). */
static void
ack_ids(const char *ack, size_t len, char *id, size_t cap, char code[3])
{
	const char *p = ack, *end = ack + len;
	char        fs;
	int         f = 1;

	id[0] = code[0] = '\0';
	if (len < 4)
		return;
	fs = ack[3];
	for (p = ack + 3; p < end && *p != '\r' && f < 10; p++)
		if (*p == fs)
			f++;
	if (f == 10) {
		size_t k = 0;
		while (p < end && *p != fs && *p != '\r' && k + 1 < cap)
			id[k++] = *p++;
		id[k] = '\0';
	}
	for (p = ack; p + 6 < end; p++)
		if (p[0] == '\r' && memcmp(p + 1, "MSA", 3) == 0 && p[4] == fs) {
			code[0] = p[5];
			code[1] = p[6];
			code[2] = '\0';
			break;
		}
}

static void
sender_of(const char *app, const char *fac, char *out, size_t cap)
{
	snprintf(out, cap, "%s^%s", app, fac);
}

hie_err
hl7_appack_put(hl7_appack *q, MDB_txn *txn, const hl7_msg *m, const char *ack, size_t len,
    struct hl7_appack_put_info *info)
{
	struct hl7_header h;
	char              app[64], fac[64];
	unsigned char     kb[8];
	MDB_cursor       *cur = NULL;
	MDB_val           k, v;
	MDB_stat          st;
	uint64_t          seq = 1;
	hie_buf           b;
	int64_t           now = (int64_t) time(NULL);
	struct route     *r;
	hie_err           e = HIE_OK;
	int               rc;

	memset(info, 0, sizeof(*info));
	hl7_get_header(m, &h);
	if (hl7_get(m, "MSH", 1, 3, 1, 1, 1, app, sizeof(app)) == HIE_ENOTFOUND)
		app[0] = '\0';
	if (hl7_get(m, "MSH", 1, 4, 1, 1, 1, fac, sizeof(fac)) == HIE_ENOTFOUND)
		fac[0] = '\0';
	ack_ids(ack, len, info->ack_id, sizeof(info->ack_id), info->code);
	sender_of(app, fac, info->sender, sizeof(info->sender));
	if ((r = match(q, app, fac)) != NULL) {
		info->routed = 1;
		hie_strlcpy(info->dest, r->url, sizeof(info->dest));
	}

	if ((rc = mdb_cursor_open(txn, q->dbi, &cur)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) == 0)
		seq = key_seq(&k) + 1;
	else if (rc != MDB_NOTFOUND) {
		mdb_cursor_close(cur);
		return hie_store_err(rc);
	}
	hie_buf_init(&b, len + 1024);
	e = hie_buf_add(&b, &now, 8);
	if (e == HIE_OK)
		e = hie_buf_add(&b, info->code[0] ? info->code : "??", 2);
	if (e == HIE_OK)
		e = hie_buf_add(&b, app, strlen(app) + 1);
	if (e == HIE_OK)
		e = hie_buf_add(&b, fac, strlen(fac) + 1);
	if (e == HIE_OK)
		e = hie_buf_add(&b, h.control_id, strlen(h.control_id) + 1);
	if (e == HIE_OK)
		e = hie_buf_add(&b, info->ack_id, strlen(info->ack_id) + 1);
	if (e == HIE_OK)
		e = hie_buf_add(&b, ack, len);
	if (e != HIE_OK)
		goto out;
	seq_key(seq, kb);
	k.mv_data = kb;
	k.mv_size = 8;
	v.mv_data = b.data;
	v.mv_size = b.len;
	if ((rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND)) != 0) {
		e = hie_store_err(rc);
		goto out;
	}
	info->queued = 1;
	/* Bounded: the oldest go first. */
	if ((rc = mdb_stat(txn, q->dbi, &st)) != 0) {
		e = hie_store_err(rc);
		goto out;
	}
	for (size_t n = st.ms_entries; n > q->max_queued; n--) {
		struct rec old;
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) != 0) {
			e = hie_store_err(rc);
			goto out;
		}
		if (info->dropped == 0 && decode(&v, &old)) {
			hie_strlcpy(info->dropped_ctl, old.ctl, sizeof(info->dropped_ctl));
			sender_of(old.app, old.fac, info->dropped_sender, sizeof(info->dropped_sender));
			memcpy(info->dropped_code, old.code, 3);
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0) {
			e = hie_store_err(rc);
			goto out;
		}
		info->dropped++;
	}
out:
	mdb_cursor_close(cur);
	hie_buf_free(&b);
	if (e != HIE_OK)
		info->queued = 0;
	return e;
}

void
hl7_appack_committed(hl7_appack *q, const struct hl7_appack_put_info *info, const char *control_id)
{
	if (q == NULL || info == NULL || !info->queued)
		return;
	if (info->dropped > 0)
		emit(q, "dropped", info->dropped_code, info->dropped_ctl, "", info->dropped_sender, "",
		    "queue full: oldest application acknowledgement removed", info->dropped);
	emit(q, info->routed ? "queued" : "unrouted", info->code, control_id, info->ack_id, info->sender, info->dest,
	    info->routed ? "" : "no app_ack_routes entry for this sender", 1);
	pthread_mutex_lock(&q->mu);
	q->kicked = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

hie_err
hl7_appack_count(hl7_appack *q, size_t *n)
{
	MDB_txn *txn;
	MDB_stat st;
	int      rc;

	*n = 0;
	if ((rc = mdb_txn_begin(q->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	rc = mdb_stat(txn, q->dbi, &st);
	mdb_txn_abort(txn);
	if (rc != 0)
		return hie_store_err(rc);
	*n = st.ms_entries;
	return HIE_OK;
}

/* ---- the sender ---- */

enum outcome { DELIVERED, REFUSED, FAILED };

static enum outcome
deliver(hl7_appack *q, struct route *r, const struct rec *x, char *why, size_t cap)
{
	hie_buf b;
	char    code[3], ctl[64];
	int     ec, reused = r->c != NULL;
	hie_err e;

	why[0] = '\0';
	hie_buf_init(&b, 1 << 20);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (r->c == NULL && (e = mllp_client_open(r->url, r->tls, q->timeout_ms, &r->c)) != HIE_OK) {
			snprintf(why, cap, "connect: %s", hie_strerror(e));
			r->c = NULL;
			hie_buf_free(&b);
			return FAILED;
		}
		b.len = 0;
		if ((e = mllp_client_call(r->c, x->ack, x->len, q->timeout_ms, &b)) == HIE_OK)
			break;
		/* A kept connection the receiver closed while idle: once more
		 * on a fresh one. */
		mllp_client_close(r->c);
		r->c = NULL;
		if (!reused || e == HIE_ETIMEDOUT) {
			snprintf(why, cap, "no answer: %s", hie_strerror(e));
			hie_buf_free(&b);
			return FAILED;
		}
		reused = 0;
	}
	if (r->c == NULL) {
		snprintf(why, cap, "no answer");
		hie_buf_free(&b);
		return FAILED;
	}
	e = hl7_ack_parse(b.data != NULL ? b.data : "", b.len, code, ctl, sizeof(ctl), &ec);
	hie_buf_free(&b);
	if (e != HIE_OK || code[0] == '\0') {
		snprintf(why, cap, "answer is not an acknowledgement");
		return FAILED;
	}
	if (strcmp(ctl, x->ack_id) != 0) {
		snprintf(why, cap, "answer acknowledges another message (%.40s)", ctl);
		return FAILED;
	}
	if (code[1] == 'A')
		return DELIVERED;
	snprintf(why, cap, "%s %d", code, ec);
	/* E: the receiver refuses the content, for good.  R: "rejected for
	 * reasons unrelated to content" (HL7 table 0008), e.g. down. */
	return code[1] == 'E' ? REFUSED : FAILED;
}

static void
fail_route(hl7_appack *q, struct route *r, int64_t now)
{
	r->backoff_ms = r->backoff_ms == 0 ? 1000 : r->backoff_ms * 2;
	if (r->backoff_ms > q->retry_max_ms)
		r->backoff_ms = q->retry_max_ms;
	r->next_ms = now + r->backoff_ms;
	r->blocked = 1;
}

/* Reads up to BATCH deliverable records from key seq `from`; copies. */
static size_t
read_batch(hl7_appack *q, uint64_t from, struct rec *out, uint64_t *next, int *end)
{
	MDB_txn       *txn;
	MDB_cursor    *cur;
	MDB_val        k, v;
	unsigned char  kb[8];
	size_t         n = 0;
	int            rc, op = MDB_SET_RANGE;

	*end = 1;
	*next = from;
	if (mdb_txn_begin(q->env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_cursor_open(txn, q->dbi, &cur) != 0) {
		mdb_txn_abort(txn);
		return 0;
	}
	seq_key(from, kb);
	k.mv_data = kb;
	k.mv_size = 8;
	while ((rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op) op)) == 0) {
		struct rec x;
		op    = MDB_NEXT;
		*next = key_seq(&k) + 1;
		memset(&x, 0, sizeof(x));
		if (!decode(&v, &x) || (x.r = match(q, x.app, x.fac)) == NULL || x.r->blocked)
			continue;
		if ((x.copy = malloc(v.mv_size)) == NULL)
			break;
		memcpy(x.copy, v.mv_data, v.mv_size);
		v.mv_data = x.copy;
		decode(&v, &x);
		x.seq    = key_seq(&k);
		out[n++] = x;
		if (n == BATCH) {
			*end = 0;
			break;
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return n;
}

/* One pass over the queue.  Returns when the next attempt is due
 * (monotonic ms), 0 when nothing waits for a retry. */
static int64_t
pass(hl7_appack *q)
{
	struct rec *batch = calloc(BATCH, sizeof(*batch));
	uint64_t    from  = 0;
	int64_t     now   = hie_now_ms(), wake = 0;
	int         end   = 0;

	if (batch == NULL || q->nroutes == 0) {
		free(batch);
		return 0;
	}
	for (size_t i = 0; i < q->nroutes; i++)
		q->routes[i].blocked = q->routes[i].next_ms > now;
	while (!end) {
		uint64_t gone[BATCH];
		size_t   n, ngone = 0, open = 0;
		n = read_batch(q, from, batch, &from, &end);
		for (size_t i = 0; i < n; i++) {
			struct rec *x = &batch[i];
			char        why[160], sender[136];
			enum outcome o;
			pthread_mutex_lock(&q->mu);
			int stop = q->stopping;
			pthread_mutex_unlock(&q->mu);
			if (stop || x->r->blocked)
				continue;
			o = deliver(q, x->r, x, why, sizeof(why));
			sender_of(x->app, x->fac, sender, sizeof(sender));
			if (o == FAILED) {
				fail_route(q, x->r, hie_now_ms());
				emit(q, "retry", x->code, x->ctl, x->ack_id, sender, x->r->url, why, 1);
				continue;
			}
			x->r->backoff_ms = 0;
			gone[ngone++]    = x->seq;
			emit(q, o == DELIVERED ? "delivered" : "refused", x->code, x->ctl, x->ack_id, sender, x->r->url, why,
			    1);
		}
		for (size_t i = 0; i < n; i++)
			free(batch[i].copy);
		if (ngone > 0) {
			MDB_txn *txn;
			int      rc;
			if ((rc = mdb_txn_begin(q->env, NULL, 0, &txn)) == 0) {
				for (size_t i = 0; i < ngone; i++) {
					unsigned char kb[8];
					MDB_val       k = { 8, kb };
					seq_key(gone[i], kb);
					mdb_del(txn, q->dbi, &k, NULL); /* MDB_NOTFOUND: dropped meanwhile */
				}
				rc = mdb_txn_commit(txn);
			}
			if (rc != 0)
				/* Sent again later: delivery is at least once. */
				hie_log(HIE_LOG_ERR, "hl7", "HIE-HL7-APPACK", NULL,
				    "removing delivered application acknowledgements: %s", mdb_strerror(rc));
		}
		for (size_t i = 0; i < q->nroutes; i++)
			open += !q->routes[i].blocked;
		pthread_mutex_lock(&q->mu);
		if (q->stopping)
			end = 1;
		pthread_mutex_unlock(&q->mu);
		if (open == 0)
			break;
	}
	for (size_t i = 0; i < q->nroutes; i++)
		if (q->routes[i].next_ms > now && (wake == 0 || q->routes[i].next_ms < wake))
			wake = q->routes[i].next_ms;
	free(batch);
	return wake;
}

static void *
sender(void *arg)
{
	hl7_appack *q = arg;

	pthread_mutex_lock(&q->mu);
	while (!q->stopping) {
		int64_t wake;
		q->kicked = 0;
		pthread_mutex_unlock(&q->mu);
		wake = pass(q);
		pthread_mutex_lock(&q->mu);
		if (q->stopping || q->kicked)
			continue;
		if (wake > 0) {
			/* Until the earliest retry is due, or a new acknowledgement. */
			int64_t         ms = wake - hie_now_ms();
			struct timespec ts;
			if (ms <= 0)
				continue;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += ms / 1000;
			ts.tv_nsec += (ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!q->stopping && !q->kicked &&
			       pthread_cond_timedwait(&q->cv, &q->mu, &ts) == 0)
				;
		} else
			while (!q->stopping && !q->kicked)
				pthread_cond_wait(&q->cv, &q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

hie_err
hl7_appack_open(const struct hl7_appack_cfg *cfg, FILE *err, hl7_appack **out)
{
	hl7_appack        *q;
	pthread_condattr_t ca;
	MDB_txn           *txn;
	hie_err            e;
	int                rc;

	*out = NULL;
	if (cfg->env == NULL)
		return HIE_EINVAL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return HIE_ENOMEM;
	q->env          = cfg->env;
	q->max_queued   = cfg->max_queued > 0 ? cfg->max_queued : 100000;
	q->retry_max_ms = cfg->retry_max_ms > 0 ? cfg->retry_max_ms : 60000;
	q->timeout_ms   = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	q->report       = cfg->report;
	q->report_arg   = cfg->report_arg;
	if ((e = load_routes(q, cfg, err)) != HIE_OK) {
		free_routes(q);
		free(q);
		return e;
	}
	if ((rc = mdb_txn_begin(q->env, NULL, 0, &txn)) == 0) {
		if ((rc = mdb_dbi_open(txn, "hl7.appack", MDB_CREATE, &q->dbi)) != 0)
			mdb_txn_abort(txn);
		else
			rc = mdb_txn_commit(txn);
	}
	if (rc != 0) {
		free_routes(q);
		free(q);
		return hie_store_err(rc);
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	q->kicked = 1; /* what an earlier run left queued */
	if (pthread_create(&q->th, NULL, sender, q) != 0) {
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->cv);
		free_routes(q);
		free(q);
		return HIE_ENOMEM;
	}
	*out = q;
	return HIE_OK;
}

void
hl7_appack_close(hl7_appack *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->th, NULL);
	free_routes(q);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}
