/*
 * node/http.c -- the node's HTTP listener (nng's HTTP server):
 *   GET  /health                           JSON health
 *   GET  /metrics                          Prometheus text
 *   GET  /api/patients/{cx}/documents      clinician query (fan-out), JSON;
 *                                          NDJSON per peer as they finish with
 *                                          Accept: application/x-ndjson
 *   DELETE /api/patients/{cx}/documents    drops the patient's cached results
 *   GET  /api/documents/{home}/{repo}/{uid} one document (ITI-39 or local)
 *   GET, POST, DELETE /api/consent/{cx}    a patient's consent (consent_http.c)
 *   POST /xca/iti38, /xca/iti39            ITI-38/39 over SOAP/HTTP
 *   POST /xds/iti18, /xds/iti41, /xds/iti43 XDS.b over SOAP/HTTP, plain or MTOM
 *   POST /xcpd/iti55, /pix/iti45, /pdq/iti47 XCPD, PIX v3, PDQ v3 (HL7 v3 over SOAP)
 * Bound to loopback unless configured otherwise: it has no login of its own.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi.h"
#include "node/api_stream.h"
#include "node/daemon.h"
#include "node/metrics.h"
#include "node/store.h"

static struct node *
handler_node(nng_aio *aio)
{
	return nng_http_handler_get_data(nng_aio_get_input(aio, 1));
}

void
node_http_reply(nng_aio *aio, uint16_t status, const char *ctype, const void *body, size_t len)
{
	nng_http_res *res;

	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, status);
	nng_http_res_set_header(res, "Content-Type", ctype);
	nng_http_res_set_header(res, "Cache-Control", "no-store");
	if (status == 503)
		nng_http_res_set_header(res, "Retry-After", "1");
	if (nng_http_res_copy_data(res, body, len) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

void
node_http_reply_error(nng_aio *aio, uint16_t status, const char *msg)
{
	hie_buf b;

	hie_buf_init(&b, 4096);
	hie_buf_addstr(&b, "{\"error\":");
	hie_buf_json_str(&b, msg);
	hie_buf_addstr(&b, "}");
	node_http_reply(aio, status, "application/json", b.data, b.len);
	hie_buf_free(&b);
}

static void
h_health(nng_aio *aio)
{
	struct node *n = handler_node(aio);
	xca_fanout  *fo = node_fanout_get(n);
	hie_buf      b;
	size_t       docs = 0;
	int          db_ok = hie_store_check(n->env) == HIE_OK && reg_count(n->reg, &docs) == HIE_OK;
	int          audit_ok = audit_ready(n->audit);

	hie_buf_init(&b, 1 << 20);
	hie_buf_addstr(&b, "{\"node\":");
	hie_buf_json_str(&b, n->cfg.name);
	hie_buf_addstr(&b, ",\"community\":");
	hie_buf_json_str(&b, n->cfg.community);
	hie_buf_printf(&b, ",\"status\":\"%s\",\"lmdb\":\"%s\",\"audit\":\"%s\",\"documents\":%zu,\"uptime_s\":%lld,\"peers\":[",
	    db_ok && audit_ok ? "ok" : "degraded", db_ok ? "ok" : "error", audit_ok ? "ok" : "failing (requests refused)", docs,
	    (long long) ((hie_now_ms() - n->started_ms) / 1000));
	for (size_t i = 0; i < xca_fanout_npeers(fo); i++) {
		const char *name;
		int         up = xca_fanout_peer_connected(fo, i, &name);
		hie_buf_printf(&b, "%s{\"name\":", i ? "," : "");
		hie_buf_json_str(&b, name);
		hie_buf_printf(&b, ",\"reachable\":%s}", up ? "true" : "false");
	}
	hie_buf_addstr(&b, "]");
	node_audit_fwd_health(n, &b);
	hie_buf_addstr(&b, "}");
	xca_fanout_release(fo);
	node_http_reply(aio, db_ok && audit_ok ? 200 : 503, "application/json", b.data, b.len);
	hie_buf_free(&b);
}

/* Gauges read when scraped: audit trail writable, each peer's
 * connection, the MPI review queue. */
static void
node_metrics_state(struct node *n, hie_buf *b)
{
	xca_fanout *fo = node_fanout_get(n);
	size_t      review = 0;

	hie_buf_printf(b,
	    "# HELP hie_audit_ready 1 when the audit trail takes records; 0: transactions are refused (fail closed).\n"
	    "# TYPE hie_audit_ready gauge\nhie_audit_ready %d\n"
	    "# HELP hie_peer_up 1 when the peer link to that peer is connected (mutual TLS).\n# TYPE hie_peer_up gauge\n",
	    audit_ready(n->audit));
	for (size_t i = 0; i < xca_fanout_npeers(fo); i++) {
		const char *name;
		int         up = xca_fanout_peer_connected(fo, i, &name);
		hie_buf_printf(b, "hie_peer_up{peer=\"%s\"} %d\n", name, up);
	}
	xca_fanout_release(fo);
	if (n->mpi != NULL && mpi_review_list(n->mpi, NULL, 0, &review) == HIE_OK)
		hie_buf_printf(b, "# HELP hie_mpi_review_queue Possible patient matches waiting for a data steward.\n"
		                  "# TYPE hie_mpi_review_queue gauge\nhie_mpi_review_queue %zu\n", review);
}

static void
h_metrics(nng_aio *aio)
{
	hie_buf b;

	hie_buf_init(&b, 4 << 20);
	{
		struct node *n = handler_node(aio);
		uint64_t     written, refused;
		audit_counts(n->audit, &written, &refused);
		hie_buf_printf(&b,
		    "# HELP hie_audit_records_total Audit records written, and lost (queue full or write failed).\n"
		    "# TYPE hie_audit_records_total counter\n"
		    "hie_audit_records_total{result=\"written\"} %llu\n"
		    "hie_audit_records_total{result=\"lost\"} %llu\n",
		    (unsigned long long) written, (unsigned long long) refused);
		node_metrics_state(n, &b);
		node_audit_fwd_metrics(n, &b);
	}
	if (node_metrics_render(&b) != HIE_OK) {
		hie_buf_free(&b);
		node_http_reply(aio, 500, "text/plain", "metrics too large\n", 18);
		return;
	}
	node_http_reply(aio, 200, "text/plain; version=0.0.4", b.data, b.len);
	hie_buf_free(&b);
}

/* ---- /api/patients/{cx}/documents ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes src[len] into dst[cap]; 0 on a bad escape, NUL or
 * overflow. */
static int
pct_decode(const char *src, size_t len, char *dst, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char) src[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len || (hi = hexval(src[i + 1])) < 0 || (lo = hexval(src[i + 2])) < 0)
				return 0;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0 || n + 1 >= cap)
			return 0;
		dst[n++] = (char) c;
	}
	dst[n] = '\0';
	return 1;
}

/* Reads ?type=A,B&since=YYYYMMDD into q.  0 on a bad parameter. */
static int
query_params(const char *qs, struct reg_query *q, int *discover, char *why, size_t whycap)
{
	char        val[512];
	const char *p = qs;

	while (p != NULL && *p != '\0') {
		const char *amp = strchr(p, '&');
		const char *eq = strchr(p, '=');
		size_t      plen = amp ? (size_t) (amp - p) : strlen(p);
		if (eq == NULL || eq > p + plen ||
		    !pct_decode(eq + 1, plen - (size_t) (eq + 1 - p), val, sizeof(val))) {
			snprintf(why, whycap, "malformed query string");
			return 0;
		}
		if ((size_t) (eq - p) == 4 && strncmp(p, "type", 4) == 0) {
			char *save = NULL;
			for (char *tok = strtok_r(val, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
				if (q->type_codes.n == REG_MAX_CODES || strlen(tok) >= sizeof(q->type_codes.v[0]) ||
				    strspn(tok, "0123456789-") != strlen(tok)) {
					snprintf(why, whycap, "type must be up to %d LOINC codes", REG_MAX_CODES);
					return 0;
				}
				hie_strlcpy(q->type_codes.v[q->type_codes.n++], tok, sizeof(q->type_codes.v[0]));
			}
		} else if ((size_t) (eq - p) == 5 && strncmp(p, "since", 5) == 0) {
			if (strspn(val, "0123456789") != strlen(val) || strlen(val) < 4 || strlen(val) > 14) {
				snprintf(why, whycap, "since must be a date YYYY[MM[DD...]]");
				return 0;
			}
			hie_strlcpy(q->creation_from, val, sizeof(q->creation_from));
		} else if ((size_t) (eq - p) == 5 && strncmp(p, "until", 5) == 0) {
			/* Created before this (XDS CreationTimeTo is exclusive). */
			if (strspn(val, "0123456789") != strlen(val) || strlen(val) < 4 || strlen(val) > 14) {
				snprintf(why, whycap, "until must be a date YYYY[MM[DD...]]");
				return 0;
			}
			hie_strlcpy(q->creation_to, val, sizeof(q->creation_to));
		} else if ((size_t) (eq - p) == 15 && strncmp(p, "confidentiality", 15) == 0) {
			/* HL7 Confidentiality codes (N, R, V...), any of them. */
			char *save = NULL;
			for (char *tok = strtok_r(val, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
				if (q->conf_codes[0].n == REG_MAX_CODES || strlen(tok) >= sizeof(q->conf_codes[0].v[0]) ||
				    strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(tok)) {
					snprintf(why, whycap, "confidentiality must be up to %d codes such as N,R,V", REG_MAX_CODES);
					return 0;
				}
				hie_strlcpy(q->conf_codes[0].v[q->conf_codes[0].n++], tok, sizeof(q->conf_codes[0].v[0]));
			}
			q->n_conf_groups = q->conf_codes[0].n > 0;
		} else if ((size_t) (eq - p) == 8 && strncmp(p, "discover", 8) == 0) {
			/* XCPD first: each peer is then asked with its own id. */
			if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0) {
				snprintf(why, whycap, "discover must be 0 or 1");
				return 0;
			}
			*discover = val[0] == '1';
		} else {
			snprintf(why, whycap, "unknown parameter");
			return 0;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 1;
}

/*
 * Who is asking, for the XUA assertion of every outbound request: the
 * headers X-HIE-User (the clinician's name), X-HIE-Role (SNOMED CT code)
 * and X-HIE-Purpose (NHIN purpose of use), set by the EHR integration or
 * hie-query.  The organization is this node's.  0 with why on bad values.
 */
static int
request_claims(const struct node *n, nng_http_req *req, struct wss_claims *c, char *why, size_t whycap)
{
	static const char *const purposes[] = { "TREATMENT", "PAYMENT", "OPERATIONS", "PUBLICHEALTH", "REQUEST",
		"COVERAGE", "EMERGENCY", "SYSADMIN", NULL };
	const char *user = nng_http_req_get_header(req, "X-HIE-User");
	const char *role = nng_http_req_get_header(req, "X-HIE-Role");
	const char *purpose = nng_http_req_get_header(req, "X-HIE-Purpose");
	int         known = 0;

	memset(c, 0, sizeof(*c));
	if (user == NULL)
		user = "unspecified user";
	if (role == NULL)
		role = "112247003"; /* SNOMED CT: medical doctor */
	if (purpose == NULL)
		purpose = "TREATMENT";
	for (const char *p = user; *p; p++)
		if ((unsigned char) *p < 0x20) {
			snprintf(why, whycap, "X-HIE-User has control characters");
			return 0;
		}
	if (hie_strlcpy(c->subject_id, user, sizeof(c->subject_id)) != HIE_OK ||
	    strspn(role, "0123456789") != strlen(role) || hie_strlcpy(c->subject_role, role, sizeof(c->subject_role)) != HIE_OK) {
		snprintf(why, whycap, "X-HIE-User must be at most 127 bytes and X-HIE-Role a SNOMED CT code");
		return 0;
	}
	for (int i = 0; purposes[i] != NULL; i++)
		known |= strcmp(purposes[i], purpose) == 0;
	if (!known) {
		snprintf(why, whycap, "X-HIE-Purpose must be one of TREATMENT, PAYMENT, OPERATIONS, PUBLICHEALTH, REQUEST, "
		                      "COVERAGE, EMERGENCY, SYSADMIN");
		return 0;
	}
	hie_strlcpy(c->purpose_of_use, purpose, sizeof(c->purpose_of_use));
	hie_strlcpy(c->organization, n->cfg.name, sizeof(c->organization));
	hie_strlcpy(c->organization_id, n->cfg.community, sizeof(c->organization_id));
	hie_strlcpy(c->home_community, n->cfg.community, sizeof(c->home_community));
	return 1;
}

struct api_call {
	struct node      *n;
	nng_aio          *aio;
	int64_t           t0;
	char              rid[33];
	struct wss_claims claims;
	int               discover; /* XCPD ran before ITI-38 (audited too) */
	char             *cache_key; /* the result goes into n->qcache under it */
	char              cache_patient[256];
	int               budget_ms; /* X-HIE-Deadline-Ms; 0: the configured overall deadline */
	struct node_stream *st;      /* streamed answer (api_stream.h); NULL: one JSON reply */
};

/*
 * X-HIE-Deadline-Ms: the caller's budget for the whole query (discovery,
 * ITI-38) or retrieve, in ms; it can shorten the configured overall
 * deadline, never lengthen it.  0 with why on a bad value.
 */
static int
request_budget(nng_http_req *req, int *ms, char *why, size_t whycap)
{
	const char *v = nng_http_req_get_header(req, "X-HIE-Deadline-Ms");

	*ms = 0;
	if (v == NULL)
		return 1;
	if (v[0] == '\0' || strlen(v) > 7 || strspn(v, "0123456789") != strlen(v) || atoi(v) < 1) {
		snprintf(why, whycap, "X-HIE-Deadline-Ms must be a number of milliseconds, 1 to 9999999");
		return 0;
	}
	*ms = atoi(v);
	return 1;
}

/* A clinician request waiting on peers: counted in n->inflight so that
 * shutdown waits for it, and bounded by [query] max_in_flight (each holds
 * the peers' answers while they come in).  NULL: answered already (503
 * over the bound, or out of memory).  Freed by api_call_end. */
static struct api_call *
api_call_new(struct node *n, nng_aio *aio, const struct wss_claims *claims)
{
	struct api_call *ac;

	if (atomic_fetch_add(&n->inflight, 1) >= n->cfg.max_in_flight) {
		atomic_fetch_sub(&n->inflight, 1);
		node_metrics_count("hie_api_busy_total", "Clinician requests refused because max_in_flight were waiting.",
		    "via", "api");
		hie_log(HIE_LOG_WARN, "http", "HIE-API-BUSY", NULL, "%d clinician requests in flight ([query] max_in_flight)",
		    n->cfg.max_in_flight);
		node_http_reply_error(aio, 503, "too many requests in flight at this node; retry shortly");
		return NULL;
	}
	if ((ac = calloc(1, sizeof(*ac))) == NULL) {
		atomic_fetch_sub(&n->inflight, 1);
		nng_aio_finish(aio, NNG_ENOMEM);
		return NULL;
	}
	ac->n = n;
	ac->claims = *claims;
	ac->aio = aio;
	ac->t0 = hie_now_ms();
	hie_request_id(ac->rid);
	return ac;
}

static void
api_call_end(struct api_call *ac)
{
	atomic_fetch_sub(&ac->n->inflight, 1);
	free(ac->cache_key);
	free(ac);
}

/* The initiating side's audit record: who asked, about whom, which peer
 * (NULL: several) and which documents. */
static void
audit_outbound_to(struct node *n, const char *event, const char *rid, const struct wss_claims *c, const char *patient,
    enum audit_outcome outcome, const char *detail, const char *peer, const char *documents)
{
	struct audit_event ev = { .event = event, .role = "initiator", .outcome = outcome, .rid = rid,
		.source = n->cfg.community, .user = c->subject_id, .role_code = c->subject_role, .purpose = c->purpose_of_use,
		.patient = patient, .detail = detail, .organization = c->organization, .peer = peer, .documents = documents,
		.local = n->cfg.community };
	if (audit_record(n->audit, &ev) != HIE_OK)
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FULL", rid, "audit record for %s not queued", event);
}

/* An initiating gateway audits each responding gateway it asked (ITI TF-2b
 * 3.38.5), with that peer's outcome. */
static void
audit_outbound_peers(struct node *n, const char *event, const char *rid, const struct wss_claims *c,
    const struct xca_result *res)
{
	for (size_t i = 0; i < res->npeers; i++) {
		const struct xca_peer_result *p = &res->peers[i];
		char                          detail[NODE_STR + 400];
		snprintf(detail, sizeof(detail), "peer %s: %s, %zu documents%s%s", p->name, xca_status_name(p->status),
		    p->documents, p->error[0] ? ": " : "", p->error);
		audit_outbound_to(n, event, rid, c, res->patient,
		    p->status == XCA_OK || p->status == XCA_NO_MATCH ? AUDIT_SUCCESS
		    : p->status == XCA_TIMEOUT                      ? AUDIT_MINOR_FAILURE
		                                                    : AUDIT_SERIOUS_FAILURE,
		    detail, p->community, NULL);
	}
}

static size_t
query_nomatch(const struct xca_result *res)
{
	size_t n = 0;
	for (size_t i = 0; i < res->npeers; i++)
		n += res->peers[i].status == XCA_NO_MATCH;
	return n;
}

static void
api_done(struct xca_result *res, void *arg)
{
	struct api_call *ac = arg;
	hie_buf          b;
	size_t           ok = 0;

	for (size_t i = 0; i < res->npeers; i++) {
		node_metrics_peer(res->peers[i].name, xca_status_name(res->peers[i].status), res->peers[i].ms);
		ok += res->peers[i].status == XCA_OK;
	}
	hie_buf_init(&b, 64u << 20);
	if (ac->st != NULL) {
		/* Streamed: the whole result is the last line. */
		int whole = xca_result_json(res, &b) == HIE_OK;
		if (whole)
			node_stream_line(ac->st, b.data, b.len);
		else
			node_stream_line(ac->st, "{\"error\":\"result too large\"}", 28);
		node_stream_end(ac->st);
		ac->st = NULL;
		if (whole && ac->cache_key != NULL && ok + query_nomatch(res) == res->npeers)
			xca_cache_put(ac->n->qcache, ac->cache_patient, ac->cache_key, b.data, b.len);
	} else if (xca_result_json(res, &b) == HIE_OK) {
		node_http_reply(ac->aio, 200, "application/json", b.data, b.len);
		/* Kept only when every peer answered: a peer that timed out
		 * now may answer on the next page. */
		if (ac->cache_key != NULL && ok + query_nomatch(res) == res->npeers)
			xca_cache_put(ac->n->qcache, ac->cache_patient, ac->cache_key, b.data, b.len);
	} else {
		node_http_reply_error(ac->aio, 500, "result too large");
	}
	hie_buf_free(&b);
	{
		char detail[300];
		snprintf(detail, sizeof(detail), "peers=%zu ok=%zu documents=%zu", res->npeers, ok, res->docs.n);
		/* The clinician's query as a whole, then each peer asked. */
		audit_outbound_to(ac->n, "ITI-38", ac->rid, &ac->claims, res->patient,
		    ok == res->npeers ? AUDIT_SUCCESS : ok > 0 ? AUDIT_MINOR_FAILURE : AUDIT_SERIOUS_FAILURE, detail, NULL, NULL);
		audit_outbound_peers(ac->n, "ITI-38", ac->rid, &ac->claims, res);
		if (ac->discover) {
			size_t nomatch = 0;
			for (size_t i = 0; i < res->npeers; i++)
				nomatch += res->peers[i].status == XCA_NO_MATCH;
			snprintf(detail, sizeof(detail), "peers=%zu no-match=%zu", res->npeers, nomatch);
			audit_outbound_to(ac->n, "ITI-55", ac->rid, &ac->claims, res->patient, AUDIT_SUCCESS, detail, NULL, NULL);
		}
	}
	node_metrics_request("api-query", "ok", hie_now_ms() - ac->t0);
	hie_log(HIE_LOG_INFO, "http", "HIE-API-QUERY", ac->rid, "peers=%zu ok=%zu documents=%zu ms=%lld",
	    res->npeers, ok, res->docs.n, (long long) res->ms);
	xca_result_free(res);
	api_call_end(ac);
}

/* A streamed query: each peer's line as it finishes (one at a time). */
static void
api_on_peer(const struct xca_peer_result *p, const struct reg_entry *docs, size_t ndocs, void *arg)
{
	struct api_call *ac = arg;
	hie_buf          b;

	hie_buf_init(&b, 64u << 20);
	if (xca_peer_json(p, docs, ndocs, &b) == HIE_OK)
		node_stream_line(ac->st, b.data, b.len);
	hie_buf_free(&b);
}

/* The query, within the caller's budget, streamed when asked; with
 * ?discover=1 XCPD first, describing the patient with the demographics
 * our MPI holds for the id asked about. */
static hie_err
start_query(struct node *n, xca_fanout *fo, const struct reg_query *q, const struct wss_claims *claims,
    int discover, struct api_call *ac)
{
	struct xca_query_opts o = { .budget_ms = ac->budget_ms, .on_peer = ac->st != NULL ? api_on_peer : NULL,
		.peer_arg = ac };
	struct mpi_patient   *who = NULL;
	hie_err               e = HIE_OK;

	if (discover && ((who = malloc(sizeof(*who))) == NULL ||
	                    (e = xca_patient_demographics(n->mpi, q->patient_id, who)) != HIE_OK)) {
		free(who);
		return who == NULL ? HIE_ENOMEM : e;
	}
	ac->discover = discover;
	e = xca_fanout_query_opts(fo, q, who, claims, ac->rid, &o, api_done, ac);
	free(who);
	return e;
}

/* The cache key: everything that shapes the answer besides the patient --
 * the filters as asked, and who asks (peers may answer each differently). */
static char *
cache_key(const char *qs, const struct wss_claims *c)
{
	hie_buf b;

	hie_buf_init(&b, 8192);
	if (hie_buf_printf(&b, "%s|%s|%s|%s|%s", qs ? qs : "", c->subject_id, c->subject_role, c->purpose_of_use,
	        c->organization_id) != HIE_OK) {
		hie_buf_free(&b);
		return NULL;
	}
	return hie_buf_take(&b, NULL);
}

/* A cached answer for this patient, filters and requester: 1 if sent. */
static int
reply_cached(struct node *n, nng_aio *aio, nng_http_req *req, const char *patient, const char *key)
{
	const char *cc = nng_http_req_get_header(req, "Cache-Control");
	char       *data;
	size_t      len;
	int64_t     age;

	/* "Cache-Control: no-cache" (hie-query --refresh) asks the peers,
	 * and what was kept for the patient goes: it may be what the
	 * clinician doubts. */
	if (key != NULL && cc != NULL && strstr(cc, "no-cache") != NULL) {
		xca_cache_invalidate(n->qcache, patient);
		return 0;
	}
	if (key == NULL || xca_cache_get(n->qcache, patient, key, &data, &len, &age) != HIE_OK)
		return 0;
	node_http_reply(aio, 200, "application/json", data, len);
	free(data);
	node_metrics_request("api-query", "cached", 0);
	hie_log(HIE_LOG_INFO, "http", "HIE-API-QUERY", NULL, "cached result, %lld ms old", (long long) age);
	return 1;
}

/* DELETE /api/patients/{cx}/documents: the next query asks the peers. */
static void
patients_invalidate(struct node *n, nng_aio *aio, const char *patient)
{
	hie_buf b;
	size_t  dropped = xca_cache_invalidate(n->qcache, patient);

	hie_buf_init(&b, 4096);
	hie_buf_addstr(&b, "{\"patient\":");
	hie_buf_json_str(&b, patient);
	hie_buf_printf(&b, ",\"dropped\":%zu}", dropped);
	node_http_reply(aio, 200, "application/json", b.data, b.len);
	hie_buf_free(&b);
	hie_log(HIE_LOG_INFO, "http", "HIE-API-CACHE", NULL, "dropped %zu cached results", dropped);
}

static void
h_patients(nng_aio *aio)
{
	struct node     *n = handler_node(aio);
	nng_http_req    *req = nng_aio_get_input(aio, 0);
	const char      *uri = nng_http_req_get_uri(req);
	const char      *id, *slash;
	const char      *qs;
	struct reg_query q;
	struct mpi_cx    cx;
	int              discover = 0;
	struct wss_claims claims;
	struct api_call *ac;
	xca_fanout      *fo;
	char            *key;
	char             why[128];
	hie_err          e;
	int              budget, stream;
	const char      *accept;

	/* The tree handler also matches "/api/patients" itself. */
	if (strncmp(uri, "/api/patients/", 14) != 0) {
		node_http_reply_error(aio, 404, "use /api/patients/{patient id}/documents");
		return;
	}
	id = uri + 14;
	slash = strchr(id, '/');
	memset(&q, 0, sizeof(q));
	q.approved_only = 1;
	q.max_results = (size_t) n->cfg.max_results;
	if (slash == NULL || strncmp(slash, "/documents", 10) != 0 || (slash[10] != '\0' && slash[10] != '?')) {
		node_http_reply_error(aio, 404, "use /api/patients/{patient id}/documents");
		return;
	}
	if (!pct_decode(id, (size_t) (slash - id), q.patient_id, sizeof(q.patient_id)) ||
	    mpi_cx_parse(q.patient_id, &cx) != HIE_OK) {
		node_http_reply_error(aio, 400, "patient id must be ID^^^&OID&ISO (percent-encoded)");
		return;
	}
	if (strcmp(nng_http_req_get_method(req), "DELETE") == 0) {
		patients_invalidate(n, aio, q.patient_id);
		return;
	}
	if (strcmp(nng_http_req_get_method(req), "GET") != 0) {
		node_http_reply_error(aio, 405, "GET (query) or DELETE (drop cached results)");
		return;
	}
	qs = slash[10] == '?' ? slash + 11 : NULL;
	if ((qs != NULL && !query_params(qs, &q, &discover, why, sizeof(why))) || !request_claims(n, req, &claims, why, sizeof(why)) ||
	    !request_budget(req, &budget, why, sizeof(why))) {
		node_http_reply_error(aio, 400, why);
		return;
	}
	accept = nng_http_req_get_header(req, "Accept");
	stream = accept != NULL && strstr(accept, "application/x-ndjson") != NULL;
	key = n->qcache != NULL ? cache_key(qs, &claims) : NULL;
	/* A streamed query always asks the peers: its lines are per peer. */
	if (!stream && reply_cached(n, aio, req, q.patient_id, key)) {
		free(key);
		return;
	}
	if ((ac = api_call_new(n, aio, &claims)) == NULL) {
		free(key);
		return;
	}
	ac->cache_key = key;
	ac->budget_ms = budget;
	hie_strlcpy(ac->cache_patient, q.patient_id, sizeof(ac->cache_patient));
	if (stream && node_stream_open(aio, &ac->st) != HIE_OK) {
		api_call_end(ac);
		node_http_reply_error(aio, 500, "cannot stream");
		return;
	}
	fo = node_fanout_get(n);
	e = start_query(n, fo, &q, &claims, discover, ac);
	xca_fanout_release(fo);
	if (e != HIE_OK && ac->st != NULL) {
		/* The 200 is out: the error is the stream's only line. */
		char line[300];
		int  len = snprintf(line, sizeof(line), "{\"error\":\"%s\"}",
		     e == HIE_EUNKNOWNPATIENT ? "patient not in this node's MPI: discovery needs its demographics"
		                              : hie_strerror(e));
		node_stream_line(ac->st, line, (size_t) len);
		node_stream_end(ac->st);
		api_call_end(ac);
	} else if (e != HIE_OK) {
		api_call_end(ac);
		if (e == HIE_EUNKNOWNPATIENT)
			node_http_reply_error(aio, 404, "patient not in this node's MPI: discovery needs its demographics");
		else
			node_http_reply_error(aio, 500, hie_strerror(e));
	}
	/* Otherwise api_done answers when the last peer is in. */
}

/* ---- /api/documents/{home}/{repository}/{uniqueId} ---- */

static void
reply_document(nng_aio *aio, const char *mime, const char *doc, size_t len)
{
	/* Only types a document may have; anything else is served as bytes. */
	const char *ctype = strcmp(mime, "text/xml") == 0 || strcmp(mime, "application/pdf") == 0 ||
	                            strcmp(mime, "text/plain") == 0
	                        ? mime
	                        : "application/octet-stream";
	node_http_reply(aio, 200, ctype, doc, len);
}

static void
doc_done(struct xca_retrieved *r, void *arg)
{
	struct api_call *dc = arg;

	node_metrics_peer(r->peer.name, xca_status_name(r->peer.status), r->peer.ms);
	if (r->peer.status == XCA_OK)
		reply_document(dc->aio, r->mime, r->doc, r->len);
	else
		node_http_reply_error(dc->aio, strstr(r->peer.error, "XDSDocumentUniqueIdError") ? 404 : 502, r->peer.error);
	audit_outbound_to(dc->n, "ITI-39", dc->rid, &dc->claims, NULL,
	    r->peer.status == XCA_OK ? AUDIT_SUCCESS : AUDIT_SERIOUS_FAILURE, r->peer.error[0] ? r->peer.error : NULL,
	    r->peer.community, r->ref.unique_id);
	node_metrics_request("api-retrieve", xca_status_name(r->peer.status), hie_now_ms() - dc->t0);
	hie_log(HIE_LOG_INFO, "http", "HIE-API-RETRIEVE", dc->rid, "peer=%s status=%s bytes=%zu ms=%lld", r->peer.name,
	    xca_status_name(r->peer.status), r->len, (long long) (hie_now_ms() - dc->t0));
	xca_retrieved_free(r);
	api_call_end(dc);
}

/* Splits "a/b/c" (percent-encoded) into the three parts of ref. */
static int
doc_path(const char *p, struct reg_doc_ref *ref)
{
	const char *s1 = strchr(p, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;

	memset(ref, 0, sizeof(*ref));
	return s1 != NULL && s2 != NULL && strchr(s2 + 1, '/') == NULL && strchr(s2 + 1, '?') == NULL &&
	       pct_decode(p, (size_t) (s1 - p), ref->home, sizeof(ref->home)) &&
	       pct_decode(s1 + 1, (size_t) (s2 - s1 - 1), ref->repository_id, sizeof(ref->repository_id)) &&
	       pct_decode(s2 + 1, strlen(s2 + 1), ref->unique_id, sizeof(ref->unique_id)) && node_is_urn_oid(ref->home) &&
	       node_is_oid(ref->repository_id) && ref->unique_id[0] != '\0';
}

static void
h_documents(nng_aio *aio)
{
	struct node       *n = handler_node(aio);
	nng_http_req      *req = nng_aio_get_input(aio, 0);
	const char        *uri = nng_http_req_get_uri(req);
	struct reg_doc_ref ref;
	struct wss_claims  claims;
	char               why[256];
	struct api_call   *dc;
	xca_fanout        *fo;
	hie_err            e;
	int                budget;

	if (strncmp(uri, "/api/documents/", 15) != 0 || !doc_path(uri + 15, &ref)) {
		node_http_reply_error(aio, 400, "use /api/documents/{urn:oid:home}/{repository OID}/{document uniqueId}");
		return;
	}
	if (!request_claims(n, req, &claims, why, sizeof(why)) || !request_budget(req, &budget, why, sizeof(why))) {
		node_http_reply_error(aio, 400, why);
		return;
	}
	if (strcmp(ref.home, n->cfg.community) == 0) {
		/* Our own community: straight from the local repository. */
		struct reg_entry ent;
		char            *doc;
		size_t           len;
		if (strcmp(ref.repository_id, n->cfg.repository_id) != 0 ||
		    reg_get_document(n->reg, ref.unique_id, &ent, &doc, &len) != HIE_OK) {
			node_http_reply_error(aio, 404, "no such document in this repository");
			return;
		}
		reply_document(aio, ent.mime_type, doc, len);
		free(doc);
		return;
	}
	if ((dc = api_call_new(n, aio, &claims)) == NULL)
		return;
	fo = node_fanout_get(n);
	e = xca_fanout_retrieve_budget(fo, &ref, &claims, dc->rid, budget, doc_done, dc);
	xca_fanout_release(fo);
	if (e != HIE_OK) {
		api_call_end(dc);
		node_http_reply_error(aio, e == HIE_ENOTFOUND ? 404 : 500,
		    e == HIE_ENOTFOUND ? "no peer of that community in the directory" : hie_strerror(e));
	}
}

/* ---- POST /xca/iti38 ---- */

static void
h_soap(nng_aio *aio)
{
	struct node       *n = handler_node(aio);
	nng_http_req      *req = nng_aio_get_input(aio, 0);
	struct xca_outcome out;
	void              *body;
	size_t             len, rlen;
	char              *resp;

	char               ctype[300];

	nng_http_req_get_data(req, &body, &len);
	if (node_respond(n, "http", nng_http_req_get_header(req, "Content-Type"), body, len, &resp, &rlen, ctype,
	        sizeof(ctype), &out) != HIE_OK) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	node_http_reply(aio, strcmp(out.status, "fault") == 0 ? 400 : 200, ctype, resp, rlen);
	free(resp);
}

hie_err
node_http_start(struct node *n)
{
	static const struct {
		const char *path, *method;
		void (*fn)(nng_aio *);
		int tree, body;
	} routes[] = {
		{ "/health", "GET", h_health, 0, 0 },
		{ "/metrics", "GET", h_metrics, 0, 0 },
		{ "/api/patients", NULL, h_patients, 1, 0 }, /* GET, DELETE */
		{ "/api/documents", "GET", h_documents, 1, 0 },
		{ "/api/consent", NULL, node_http_consent, 1, 1 }, /* GET, POST, DELETE */
		{ "/xca/iti38", "POST", h_soap, 0, 1 },
		{ "/xca/iti39", "POST", h_soap, 0, 1 },
		{ "/xds/iti18", "POST", h_soap, 0, 1 },
		{ "/xds/iti41", "POST", h_soap, 0, 1 },
		{ "/xds/iti43", "POST", h_soap, 0, 1 },
		{ "/xcpd/iti55", "POST", h_soap, 0, 1 },
		{ "/pix/iti45", "POST", h_soap, 0, 1 },
		{ "/pdq/iti47", "POST", h_soap, 0, 1 },
	};
	nng_url *url;
	int      rv;

	if ((rv = nng_url_parse(&url, n->cfg.listen_http)) != 0)
		return HIE_ECONFIG;
	/* At most 256 results, 64 MiB in all: a clinic's morning of patients. */
	if (xca_cache_new(n->cfg.cache_ttl_s, 256, 64u << 20, &n->qcache) != HIE_OK) {
		nng_url_free(url);
		return HIE_ENOMEM;
	}
	rv = nng_http_server_hold(&n->http, url);
	nng_url_free(url);
	if (rv != 0)
		return HIE_ENOMEM;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		nng_http_handler *h;
		if (nng_http_handler_alloc(&h, routes[i].path, routes[i].fn) != 0)
			return HIE_ENOMEM;
		nng_http_handler_set_method(h, routes[i].method);
		nng_http_handler_set_data(h, n, NULL);
		if (routes[i].tree)
			nng_http_handler_set_tree(h);
		/* Bodies are collected up to the message limit, no further. */
		nng_http_handler_collect_body(h, routes[i].body != 0, (size_t) n->cfg.max_message_bytes);
		if (nng_http_server_add_handler(n->http, h) != 0) {
			nng_http_handler_free(h);
			return HIE_ENOMEM;
		}
	}
	/* nng answers a malformed request, and a Content-Length over the
	 * limit, itself (400) before any handler runs, so an oversized body is
	 * never read: the page it sends names the limit. */
	{
		char page[300];
		snprintf(page, sizeof(page),
		    "<html><body><p>400 Bad Request: malformed HTTP request, or a body larger than "
		    "limits.max_message_bytes (%lld bytes)</p></body></html>",
		    (long long) n->cfg.max_message_bytes);
		nng_http_server_set_error_page(n->http, 400, page);
	}
	if ((rv = nng_http_server_start(n->http)) != 0) {
		hie_log(HIE_LOG_ERR, "http", "HIE-HTTP-LISTEN", NULL, "%s: %s", n->cfg.listen_http, nng_strerror(rv));
		return rv == NNG_EADDRINUSE ? HIE_EBUSY : HIE_ENET;
	}
	return HIE_OK;
}

void
node_http_stop(struct node *n)
{
	if (n->http == NULL)
		return;
	nng_http_server_stop(n->http);
	nng_http_server_release(n->http);
	n->http = NULL;
	xca_cache_free(n->qcache);
	n->qcache = NULL;
}
