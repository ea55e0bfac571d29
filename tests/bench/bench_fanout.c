/*
 * tests/bench/bench_fanout.c -- the fan-out against many peers on loopback:
 * N simulated responders (real nng REP over mutual TLS, real signed
 * ITI-38 answers from an LMDB registry) that wait a set delay before
 * answering, spread evenly over [MIN_MS, MAX_MS].
 *   bench_fanout DIR PEERS MIN_MS MAX_MS QUERIES CONCURRENCY
 * Prints, for sequential queries, the whole query's time over the slowest
 * peer's time; then, with CONCURRENCY queries in flight, queries/s and p99.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "certs/cert.h"
#include "node/store.h"
#include "xca/xca.h"

struct sim {
	struct xca_responder     resp;
	nng_socket               sock;
	nng_tls_config          *tls;
	struct node_tls_material mat;
	int                      delay_ms;
	char                     name[32], community[64], addr[64];
};

/* One REP context: receive, answer, send once the delay since the
 * request came in has passed.  The answer is made on arrival so that the
 * peer answers after its set delay: made after the wait, its own
 * verifying and signing (2-3 ms, more on a loaded machine) were added to
 * the delay and counted against the coordinator. */
struct sim_ctx {
	struct sim *s;
	nng_ctx     ctx;
	nng_aio    *aio, *timer;
	nng_msg    *resp;
	int         state; /* 0 recv, 1 waiting, 2 sending */
};

static void
sim_cb(void *arg)
{
	struct sim_ctx    *c = arg;
	struct xca_outcome out;
	char              *resp;
	size_t             len;
	nng_msg           *msg;

	switch (c->state) {
	case 0: {
		nng_msg *req;
		int64_t  t0 = hie_now_ms(), left;
		if (nng_aio_result(c->aio) != 0)
			return;
		req = nng_aio_get_msg(c->aio);
		xca_respond(&c->s->resp, nng_msg_body(req), nng_msg_len(req), "sim", &resp, &len, &out);
		nng_msg_free(req);
		nng_msg_alloc(&msg, 0);
		nng_msg_append(msg, resp, len);
		free(resp);
		c->resp = msg;
		c->state = 1;
		left = c->s->delay_ms - (hie_now_ms() - t0);
		nng_sleep_aio(left > 0 ? (nng_duration) left : 0, c->timer);
		return;
	}
	case 1:
		c->state = 2;
		nng_aio_set_msg(c->aio, c->resp);
		c->resp = NULL;
		nng_ctx_send(c->ctx, c->aio);
		return;
	default:
		if (nng_aio_result(c->aio) != 0)
			nng_msg_free(nng_aio_get_msg(c->aio));
		c->state = 0;
		nng_ctx_recv(c->ctx, c->aio);
	}
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_fanout: %s\n", what);
	exit(1);
}

static void
load(const char *d, struct node_tls_material *m)
{
	char c[800], k[800], ca[800];
	snprintf(c, sizeof(c), "%s/node.crt", d);
	snprintf(k, sizeof(k), "%s/node.key", d);
	snprintf(ca, sizeof(ca), "%s/ca.crt", d);
	if (node_tls_load(c, k, ca, NULL, m) != HIE_OK)
		die("cannot load certificates");
}

static nng_mtx *mtx;
static nng_cv  *cv;
static int      done_count;
static double  *lat;
static int      lat_n;
static int64_t  slowest_peer;
/* Per-phase figures of the sequential queries (sums, for means): the last
 * request out, the slowest peer's own time (request out to answer in, its
 * delay plus one round trip), the slowest peer's answer in, and the
 * query's end after that answer (verify, read, merge, hand over). */
static double   ph_last_sent, ph_slow_rtt, ph_slow_in, ph_after, ph_first;
static int      ph_n;

static void
on_done(struct xca_result *res, void *arg)
{
	int64_t t0 = *(int64_t *) arg, slow = 0, last_sent = 0, in = 0, own = 0;

	for (size_t i = 0; i < res->npeers; i++) {
		const struct xca_peer_result *p = &res->peers[i];
		if (p->status != XCA_OK)
			fprintf(stderr, "peer %s: %s %s\n", p->name, xca_status_name(p->status), p->error);
		if (p->ms > slow)
			slow = p->ms;
		if (p->sent_ms > last_sent)
			last_sent = p->sent_ms;
		if (p->answered_ms > in) {
			in = p->answered_ms;
			own = p->answered_ms - p->sent_ms;
		}
	}
	nng_mtx_lock(mtx);
	lat[lat_n++] = (double) (hie_now_ms() - t0);
	if (ph_n == 0)
		ph_first = lat[lat_n - 1];
	ph_n++;
	ph_last_sent += (double) last_sent;
	ph_slow_rtt += (double) own;
	ph_slow_in += (double) in;
	ph_after += lat[lat_n - 1] - (double) in;
	slowest_peer = slow;
	done_count++;
	nng_cv_wake(cv);
	nng_mtx_unlock(mtx);
	xca_result_free(res);
	free(arg);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const char              *dir;
	int                      n, lo, hi, queries, conc;
	struct sim              *sims;
	struct node_peers        peers;
	struct xca_fanout_cfg    fc;
	struct node_tls_material coord;
	xca_fanout              *fo;
	MDB_env                 *env;
	reg                     *r;
	char                     ca[600], p[700], *ca_pem;
	size_t                   len;
	struct reg_query         q;
	static const struct wss_claims claims = { "Dr. Bench", "112247003", "bench", "urn:oid:1.2.9", "urn:oid:1.2.9",
		"TREATMENT" };
	double                   sum_ratio = 0;
	struct rlimit            rl;

	if (argc != 7)
		return fprintf(stderr, "usage: bench_fanout DIR PEERS MIN_MS MAX_MS QUERIES CONCURRENCY\n"), 2;
	dir = argv[1];
	n = atoi(argv[2]);
	lo = atoi(argv[3]);
	hi = atoi(argv[4]);
	queries = atoi(argv[5]);
	conc = atoi(argv[6]);
	hie_log_set_level(HIE_LOG_ERR);
	hie_xml_init();
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	if (cert_ca_init(ca, "bench CA", 2) != HIE_OK)
		die("CA");
	snprintf(p, sizeof(p), "%s/ca.crt", ca);
	if (hie_read_file(p, 1 << 20, &ca_pem, &len) != HIE_OK)
		die("CA certificate");
	snprintf(p, sizeof(p), "%s/db", dir);
	if (hie_store_open(p, 64, &env) != HIE_OK || reg_open(env, &r) != HIE_OK)
		die("registry");
	{
		/* One small document for the patient, at every peer. */
		struct reg_entry e;
		memset(&e, 0, sizeof(e));
		strcpy(e.unique_id, "2.25.77^bench");
		strcpy(e.patient_id, "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO");
		strcpy(e.repository_id, "1.2.9.1");
		strcpy(e.type_code, "34133-9");
		strcpy(e.class_code, "34133-9");
		strcpy(e.format_code, "urn:hl7-org:sdwg:ccda-structuredBody:2.1");
		strcpy(e.confidentiality, "N");
		strcpy(e.creation_time, "20261101");
		strcpy(e.mime_type, "text/xml");
		if (reg_put(r, &e, "<doc/>", 6) != HIE_OK)
			die("document");
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	sims = calloc((size_t) n, sizeof(*sims));
	peers.n = (size_t) n;
	peers.v = calloc((size_t) n, sizeof(*peers.v));
	for (int i = 0; i < n; i++) {
		struct sim  *s = &sims[i];
		nng_listener l;
		wss_signer  *signer;
		char         nd[700];
		snprintf(s->name, sizeof(s->name), "peer-%02d", i);
		snprintf(s->community, sizeof(s->community), "urn:oid:1.2.9.%d", 100 + i);
		snprintf(nd, sizeof(nd), "%s/%s", dir, s->name);
		if (cert_issue(ca, s->name, s->community, 1, nd) != HIE_OK)
			die("peer certificate");
		load(nd, &s->mat);
		s->delay_ms = n > 1 ? lo + (hi - lo) * i / (n - 1) : hi;
		s->resp.home = s->community;
		s->resp.repository_id = "1.2.9.1";
		s->resp.reg = r;
		s->resp.lim = hie_xml_default_limits;
		s->resp.max_results = 100;
		s->resp.ttl_s = 300;
		s->resp.allow_unsigned = 0;
		{
			struct wss_verifier_cfg vc = { .ca_pem = ca_pem, .community = s->community, .clock_skew_s = 60,
				.max_ttl_s = 600 };
			if (wss_verifier_new(&vc, &s->resp.verifier) != HIE_OK ||
			    wss_signer_new(s->mat.cert, s->mat.key, &signer) != HIE_OK)
				die("peer keys");
			s->resp.signer = signer;
		}
		snprintf(s->addr, sizeof(s->addr), "tls+tcp://127.0.0.1:%d", 30000 + i);
		if (nng_rep0_open(&s->sock) != 0 || node_tls_config(&s->mat, NULL, &s->tls) != HIE_OK ||
		    nng_listener_create(&l, s->sock, s->addr) != 0 ||
		    nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, s->tls) != 0 || nng_listener_start(l, 0) != 0)
			die("peer listener (ports 30000+ in use?)");
		for (int k = 0; k < conc + 1; k++) {
			struct sim_ctx *c = calloc(1, sizeof(*c));
			c->s = s;
			if (nng_ctx_open(&c->ctx, s->sock) != 0 || nng_aio_alloc(&c->aio, sim_cb, c) != 0 ||
			    nng_aio_alloc(&c->timer, sim_cb, c) != 0)
				die("contexts");
			nng_ctx_recv(c->ctx, c->aio);
		}
		strcpy(peers.v[i].name, s->name);
		strcpy(peers.v[i].community, s->community);
		strcpy(peers.v[i].address, s->addr);
	}
	snprintf(p, sizeof(p), "%s/coordinator", dir);
	if (cert_issue(ca, "coordinator", "urn:oid:1.2.9", 1, p) != HIE_OK)
		die("coordinator certificate");
	load(p, &coord);
	memset(&fc, 0, sizeof(fc));
	fc.peers = &peers;
	fc.tls = &coord;
	fc.home = "urn:oid:1.2.9";
	fc.peer_deadline_ms = hi * 5 + 1000;
	fc.overall_deadline_ms = hi * 5 + 2000;
	fc.max_results = 1000;
	fc.max_message_bytes = 1 << 20;
	fc.lim = hie_xml_default_limits;
	fc.ttl_s = 300;
	fc.clock_skew_s = 60;
	if (xca_fanout_new(&fc, &fo) != HIE_OK)
		die("fan-out");
	/* Every dialer connected: 50 TLS handshakes take seconds on a
	 * loaded machine (a fixed 1.5 s left some peers "not connected"). */
	for (int tries = 0; tries < 600; tries++) {
		size_t up = 0;
		for (int i = 0; i < n; i++)
			up += xca_fanout_peer_connected(fo, (size_t) i, NULL) != 0;
		if (up == (size_t) n)
			break;
		nng_msleep(100);
	}
	nng_msleep(200);
	nng_mtx_alloc(&mtx);
	nng_cv_alloc(&cv, mtx);
	lat = calloc((size_t) queries * 2 + 2, sizeof(*lat));
	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO");
	q.approved_only = 1;
	q.max_results = 1000;

	/* Sequential: whole query / slowest peer. */
	for (int i = 0; i < queries; i++) {
		int64_t *t0 = malloc(sizeof(*t0));
		*t0 = hie_now_ms();
		nng_mtx_lock(mtx);
		done_count = 0;
		nng_mtx_unlock(mtx);
		xca_fanout_query(fo, &q, &claims, "bench", on_done, t0);
		nng_mtx_lock(mtx);
		while (done_count == 0)
			nng_cv_wait(cv);
		/* Against the slowest peer's set delay: what the query would
		 * take if the fan-out itself cost nothing. */
		sum_ratio += lat[lat_n - 1] / (double) hi;
		nng_mtx_unlock(mtx);
	}
	qsort(lat, (size_t) lat_n, sizeof(*lat), cmp);
	printf("fan-out to %d peers answering after %d..%d ms: %d sequential queries, whole query / slowest peer's delay = %.3f "
	       "(mean), query p50 %.0f ms, max %.0f ms\n",
	    n, lo, hi, queries, sum_ratio / queries, lat[lat_n / 2], lat[lat_n - 1]);
	printf("  phases (means, ms from the query's start): last request out %.1f; last answer in %.1f, its peer's own time "
	       "%.1f (delay %d + round trip); query done %.1f after it; first query (no latency history yet) %.0f ms\n",
	    ph_last_sent / ph_n, ph_slow_in / ph_n, ph_slow_rtt / ph_n, hi, ph_after / ph_n, ph_first);
	ph_n = 0;

	/* Concurrent: CONCURRENCY queries in flight, QUERIES in all. */
	{
		int64_t t0 = hie_now_ms();
		int     started = 0;
		lat_n = 0;
		nng_mtx_lock(mtx);
		done_count = 0;
		while (done_count < queries) {
			while (started < queries && started - done_count < conc) {
				int64_t *ts = malloc(sizeof(*ts));
				*ts = hie_now_ms();
				nng_mtx_unlock(mtx);
				xca_fanout_query(fo, &q, &claims, "bench", on_done, ts);
				nng_mtx_lock(mtx);
				started++;
			}
			nng_cv_wait(cv);
		}
		nng_mtx_unlock(mtx);
		qsort(lat, (size_t) lat_n, sizeof(*lat), cmp);
		printf("concurrent: %d queries, %d in flight, to %d peers: %.1f queries/s, p50 %.0f ms, p99 %.0f ms\n", queries,
		    conc, n, queries / ((hie_now_ms() - t0) / 1000.0), lat[lat_n / 2], lat[(lat_n * 99) / 100]);
	}
	{
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("process (coordinator and all %d simulated peers): max RSS %ld MiB, CPU %.1f s user + %.1f s system\n",
		    n, ru.ru_maxrss / 1024, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	}
	fflush(stdout);
	_exit(0); /* benchmark: skip tearing down 50 peers */
}
