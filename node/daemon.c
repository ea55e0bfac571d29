/*
 * node/daemon.c -- the node's life: start every part, wait for signals,
 * reload on SIGHUP, shut down in order on SIGTERM/SIGINT.
 *
 * Signals are blocked in every thread (nng's threads inherit the mask) and
 * taken synchronously with sigwait in the main thread, so no work ever runs
 * in a signal handler.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"
#include "node/directory.h"
#include "node/metrics.h"
#include "node/store.h"
#include "node/xref.h"

static hie_log_level
level_of(const char *s)
{
	if (strcmp(s, "debug") == 0)
		return HIE_LOG_DEBUG;
	if (strcmp(s, "warn") == 0)
		return HIE_LOG_WARN;
	if (strcmp(s, "error") == 0)
		return HIE_LOG_ERR;
	return HIE_LOG_INFO;
}

xca_fanout *
node_fanout_get(struct node *n)
{
	xca_fanout *fo;

	nng_mtx_lock(n->mtx);
	fo = n->fanout;
	xca_fanout_hold(fo);
	nng_mtx_unlock(n->mtx);
	return fo;
}

/*
 * A validly signed directory older than one this node already loaded (a
 * copy from before a member was removed, replayed) is refused: the highest
 * serial seen is kept in data_dir/directory.serial.  Refusals are logged
 * and audited as security alerts.
 */
static hie_err
directory_rollback_check(struct node *n, const struct node_directory *d)
{
	char     state[NODE_PATH + 32], why[NODE_PATH + 200], detail[2 * NODE_PATH + 300];
	uint64_t highest;
	hie_err  e;

	node_directory_serial_path(n->cfg.data_dir, state, sizeof(state));
	if ((e = node_directory_serial_check(state, d->serial, &highest, why, sizeof(why))) == HIE_OK)
		return HIE_OK;
	hie_log(HIE_LOG_ERR, "node", "HIE-NODE-DIRECTORY", NULL, "signed peer directory %s refused: %s",
	    n->cfg.signed_directory, why);
	snprintf(detail, sizeof(detail), "signed peer directory %s refused: %s", n->cfg.signed_directory, why);
	node_audit_alert(n, NULL, n->cfg.community, detail);
	return e;
}

/*
 * The peers, from the HIE admin's signed directory when one is configured
 * (its signature checked against the CA in tls), else from the INI
 * directory.  With a signed directory, members (if not NULL) gets each
 * member's community and certificate fingerprints for the verifier
 * (free()).  A directory that does not verify is refused with its reason
 * logged; the caller keeps what it had.
 */
static hie_err
peers_read(struct node *n, const struct node_tls_material *tls, struct node_peers *peers,
    struct wss_member **members, size_t *nmembers)
{
	struct node_directory d;
	char                  why[300];
	hie_err               e = HIE_OK;

	if (members != NULL) {
		*members = NULL;
		*nmembers = 0;
	}
	if (n->cfg.signed_directory[0] == '\0')
		return peers == NULL ? HIE_OK : node_peers_load(n->cfg.peers_file, n->cfg.community, peers, stderr);
	if ((e = node_directory_load(n->cfg.signed_directory, tls->ca, &d, why, sizeof(why))) != HIE_OK) {
		hie_log(HIE_LOG_ERR, "node", "HIE-NODE-DIRECTORY", NULL, "signed peer directory %s refused: %s",
		    n->cfg.signed_directory, why);
		return e;
	}
	if ((e = directory_rollback_check(n, &d)) != HIE_OK) {
		node_directory_free(&d);
		return e;
	}
	if (peers != NULL) {
		peers->n = 0;
		if ((peers->v = calloc(d.n + 1, sizeof(*peers->v))) == NULL)
			e = HIE_ENOMEM;
		for (size_t i = 0; e == HIE_OK && i < d.n; i++) {
			struct node_peer *p = &peers->v[peers->n];
			if (strcmp(d.v[i].community, n->cfg.community) == 0)
				continue; /* the directory lists everyone, us included */
			if (hie_strlcpy(p->name, d.v[i].name, sizeof(p->name)) != HIE_OK ||
			    hie_strlcpy(p->community, d.v[i].community, sizeof(p->community)) != HIE_OK ||
			    hie_strlcpy(p->address, d.v[i].address, sizeof(p->address)) != HIE_OK)
				e = HIE_ECONFIG;
			peers->n++;
		}
		if (e != HIE_OK)
			node_peers_free(peers);
	}
	if (e == HIE_OK && members != NULL)
		e = node_directory_members(&d, members, nmembers);
	if (e == HIE_OK && peers != NULL)
		hie_log(HIE_LOG_INFO, "node", "HIE-NODE-DIRECTORY", NULL, "signed peer directory %s: serial %llu, %zu members",
		    n->cfg.signed_directory, (unsigned long long) d.serial, d.n);
	node_directory_free(&d);
	return e;
}

/* Builds a fan-out to peers with the TLS material. */
static hie_err
make_fanout(struct node *n, const struct node_tls_material *tls, const struct node_peers *peers, xca_fanout **out)
{
	struct xca_fanout_cfg fc;
	hie_err               e;

	memset(&fc, 0, sizeof(fc));
	fc.peers = peers;
	fc.tls = tls;
	fc.home = n->cfg.community;
	fc.peer_deadline_ms = n->cfg.peer_deadline_ms;
	fc.overall_deadline_ms = n->cfg.overall_deadline_ms;
	fc.max_results = (size_t) n->cfg.max_results;
	fc.max_message_bytes = (size_t) n->cfg.max_message_bytes;
	fc.lim = n->lim;
	fc.ttl_s = n->cfg.message_ttl_s;
	fc.clock_skew_s = n->cfg.clock_skew_s;
	e = xca_fanout_new(&fc, out);
	if (e == HIE_OK)
		hie_log(HIE_LOG_INFO, "node", "HIE-NODE-PEERS", NULL, "peer directory %s: %zu peers", n->cfg.peers_file,
		    peers->n);
	return e;
}

static int
peers_equal(const struct node_peers *a, const struct node_peers *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) != 0 || strcmp(a->v[i].community, b->v[i].community) != 0 ||
		    strcmp(a->v[i].address, b->v[i].address) != 0)
			return 0;
	return 1;
}

static void
sec_release(struct node_sec *sec)
{
	if (sec == NULL || atomic_fetch_sub(&sec->refs, 1) != 1)
		return;
	wss_signer_free(sec->signer);
	wss_verifier_free(sec->verifier);
	free(sec);
}

/* Our signer and the verifier every inbound request passes before
 * anything else reads it, from the given certificates. */
static hie_err
sec_new(struct node *n, const struct node_tls_material *tls, struct node_sec **out)
{
	struct wss_verifier_cfg vc;
	struct node_sec        *sec;
	hie_err                 e;

	*out = NULL;
	if ((sec = calloc(1, sizeof(*sec))) == NULL)
		return HIE_ENOMEM;
	atomic_init(&sec->refs, 1);
	memset(&vc, 0, sizeof(vc));
	vc.ca_pem = tls->ca;
	vc.crl_pem = tls->crl;
	vc.community = n->cfg.community;
	vc.clock_skew_s = n->cfg.clock_skew_s;
	vc.max_ttl_s = n->cfg.message_ttl_s * 2;
	vc.replay = n->replay;
	/* With a signed directory, a member is who its signature says. */
	vc.directory = n->cfg.signed_directory[0] != '\0';
	if ((e = peers_read(n, tls, NULL, (struct wss_member **) &vc.members, &vc.nmembers)) != HIE_OK) {
		sec_release(sec);
		return e;
	}
	e = wss_signer_new(tls->cert, tls->key, &sec->signer);
	if (e == HIE_OK)
		e = wss_verifier_new(&vc, &sec->verifier);
	free((void *) vc.members);
	if (e != HIE_OK) {
		sec_release(sec);
		return e;
	}
	*out = sec;
	return HIE_OK;
}

static hie_err
security_open(struct node *n)
{
	char    dir[NODE_PATH + 16];
	hie_err e;

	snprintf(dir, sizeof(dir), "%s/replay", n->cfg.data_dir);
	if ((e = hie_replay_open(dir, (size_t) n->cfg.replay_max_entries, &n->replay)) != HIE_OK)
		return e;
	n->responder.ttl_s = n->cfg.message_ttl_s;
	return sec_new(n, &n->tls, &n->sec);
}

/*
 * SIGHUP: re-read the certificate, key, CA, CRL and peer directory.  The
 * verifier is always replaced (the directory's members and fingerprints
 * may change without a peer's address changing).  The fan-out, which
 * holds a TLS connection to each peer, is replaced only when its peers or
 * the TLS material changed: a reload that changes nothing for it keeps
 * its connections, so queries arriving during a SIGHUP do not wait for
 * new handshakes (and a burst of reloads does not abandon handshakes half
 * done).  Queries in flight keep the fan-out they started on (they hold a
 * reference) and finish on it.  Anything that fails leaves the running
 * configuration untouched.
 */
static void node_event(struct node *n, const char *event, const char *detail);

static void
reload(struct node *n)
{
	struct node_tls_material tls;
	struct node_sec         *sec, *old_sec;
	struct node_peers        peers;
	xca_fanout              *fo = NULL, *old = NULL;
	hie_err                  e;
	int                      cert_changed;

	if ((e = node_tls_load(n->cfg.cert, n->cfg.key, n->cfg.ca, n->cfg.crl, &tls)) != HIE_OK) {
		hie_log(HIE_LOG_ERR, "node", "HIE-NODE-RELOAD", NULL, "certificates: %s; keeping the old ones",
		    hie_strerror(e));
		return;
	}
	if ((e = sec_new(n, &tls, &sec)) != HIE_OK) {
		hie_log(HIE_LOG_ERR, "node", "HIE-NODE-RELOAD", NULL, "certificates: %s; keeping the old ones",
		    hie_strerror(e));
		node_tls_free(&tls);
		return;
	}
	cert_changed = strcmp(tls.cert, n->tls.cert) != 0 || strcmp(tls.key, n->tls.key) != 0 ||
	               strcmp(tls.ca, n->tls.ca) != 0 || (tls.crl == NULL) != (n->tls.crl == NULL) ||
	               (tls.crl != NULL && strcmp(tls.crl, n->tls.crl) != 0);
	memset(&peers, 0, sizeof(peers));
	if ((e = peers_read(n, &tls, &peers, NULL, NULL)) == HIE_OK && (cert_changed || !peers_equal(&peers, &n->peers)))
		e = make_fanout(n, &tls, &peers, &fo);
	if (e != HIE_OK) {
		hie_log(HIE_LOG_ERR, "node", "HIE-NODE-RELOAD", NULL, "peer directory: %s; keeping the old one",
		    hie_strerror(e));
		node_peers_free(&peers);
		sec_release(sec);
		node_tls_free(&tls);
		return;
	}
	nng_mtx_lock(n->mtx);
	if (fo != NULL) {
		old = n->fanout;
		n->fanout = fo;
	}
	old_sec = n->sec;
	n->sec = sec;
	nng_mtx_unlock(n->mtx);
	/* Requests in flight finish with what they started with. */
	xca_fanout_release(old);
	sec_release(old_sec);
	node_tls_free(&n->tls);
	n->tls = tls;
	node_peers_free(&n->peers);
	n->peers = peers;
	if (cert_changed && (e = node_peerlink_retls(n)) != HIE_OK)
		hie_log(HIE_LOG_ERR, "node", "HIE-NODE-RELOAD", NULL, "peer listener: %s", hie_strerror(e));
	if (cert_changed)
		node_audit_fwd_restart(n);
	hie_log(HIE_LOG_INFO, "node", "HIE-NODE-RELOAD", NULL, "reloaded peer directory%s%s",
	    cert_changed ? ", certificates, CA and CRL" : " (certificates unchanged)",
	    fo != NULL ? "; new peer connections" : "; peer connections kept");
	node_event(n, "config-reload",
	    cert_changed ? "peer directory, certificates, CA and CRL reloaded" : "peer directory reloaded");
}

static void node_metrics_outcome(const struct xca_outcome *out, int64_t ms);

hie_err
node_respond(struct node *n, const char *via, const char *ctype_in, const char *req, size_t len, char **resp,
    size_t *rlen, char *ctype_out, size_t ctcap, struct xca_outcome *out)
{
	struct xca_responder r;
	struct node_sec     *sec;
	char                 rid[33];
	int64_t              t0 = hie_now_ms();
	hie_err              e;

	hie_request_id(rid);
	if (!audit_ready(n->audit)) {
		/* Fail closed: a disclosure that cannot be audited is refused. */
		memset(out, 0, sizeof(*out));
		out->transaction = "unknown";
		out->status = "fault";
		snprintf(out->detail, sizeof(out->detail), "audit trail unavailable");
		hie_log(HIE_LOG_ERR, via, "HIE-AUDIT-CLOSED", rid, "request refused: the audit trail cannot be written");
		node_metrics_count("hie_audit_refused_total", "Requests refused because the audit trail could not be written.",
		    "via", via);
		return soap_fault("Receiver", NULL, "audit trail unavailable; try again later", NULL, resp, rlen);
	}
	nng_mtx_lock(n->mtx);
	sec = n->sec;
	atomic_fetch_add(&sec->refs, 1);
	nng_mtx_unlock(n->mtx);
	r = n->responder;
	r.signer = sec->signer;
	r.verifier = sec->verifier;
	e = xca_respond_mime(&r, ctype_in, req, len, rid, resp, rlen, ctype_out, ctcap, out);
	sec_release(sec);
	if (e != HIE_OK)
		return e;
	node_audit_inbound(n, out, rid);
	node_metrics_request(out->transaction, out->status, hie_now_ms() - t0);
	node_metrics_outcome(out, hie_now_ms() - t0);
	hie_log(strcmp(out->status, "ok") == 0 ? HIE_LOG_INFO : HIE_LOG_WARN, via, "HIE-SOAP-REQ", rid,
	    "transaction=%s status=%s ms=%lld requester=\"%s\"%s%s", out->transaction, out->status,
	    (long long) (hie_now_ms() - t0), out->requester, out->detail[0] ? " detail=" : "", out->detail);
	return HIE_OK;
}

/* Per-peer volume and latency, and the data-quality and security
 * counters an outcome feeds (labels from fixed sets: transaction names,
 * IHE error codes, member communities). */
static void
node_metrics_outcome(const struct xca_outcome *out, int64_t ms)
{
	if (out->community[0] != '\0' && !out->security)
		node_metrics_inbound(out->community, out->transaction, out->status, ms);
	if (out->security)
		node_metrics_count("hie_security_alerts_total", "Inbound messages refused by WS-Security checks, by transaction.",
		    "transaction", out->transaction);
	if (out->withheld > 0)
		node_metrics_count("hie_consent_withheld_total",
		    "Answers from which patients' consent withheld objects, by transaction.", "transaction", out->transaction);
	if (out->consent_override)
		node_metrics_count("hie_consent_overrides_total", "EMERGENCY break-the-glass disclosures, by transaction.",
		    "transaction", out->transaction);
	if (strcmp(out->transaction, "ITI-41") == 0 && strcmp(out->status, "ok") != 0) {
		/* The IHE error code the answer carries ("XDSRegistryMetadataError:
		 * ..."), or "malformed" for a Fault. */
		char   code[48] = "malformed";
		size_t n = strspn(out->detail, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
		if (strncmp(out->detail, "XDS", 3) == 0 && n < sizeof(code) && out->detail[n] == ':')
			snprintf(code, sizeof(code), "%.*s", (int) n, out->detail);
		node_metrics_count("hie_documents_rejected_total", "ITI-41 submissions refused, by IHE error code.", "reason",
		    code);
	}
}

void
node_audit_inbound(struct node *n, const struct xca_outcome *out, const char *rid)
{
	struct audit_event ev = {
		.event = out->security ? "security-alert" : out->transaction,
		.role = "responder",
		.outcome = strcmp(out->status, "ok") == 0 ? AUDIT_SUCCESS
		           : strcmp(out->status, "error") == 0 ? AUDIT_MINOR_FAILURE
		                                               : AUDIT_SERIOUS_FAILURE,
		.rid = rid,
		.source = out->community,
		.user = out->claims.subject_id,
		.role_code = out->claims.subject_role,
		.purpose = out->claims.purpose_of_use,
		.patient = out->patient,
		.detail = out->detail,
		.organization = out->claims.organization,
		.documents = out->documents,
		.query = out->query,
		.local = n->cfg.community,
	};
	char detail[400];

	if (out->security) {
		snprintf(detail, sizeof(detail), "%s refused: %s", out->transaction, out->detail);
		ev.detail = detail;
	}
	if (audit_record(n->audit, &ev) != HIE_OK)
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FULL", rid, "audit record for %s not queued", out->transaction);
	/* Consent at work is a security event of its own: what was withheld
	 * (and why), or that break-the-glass opened a record. */
	if (out->withheld > 0 || out->consent_override) {
		char what[400];
		snprintf(what, sizeof(what), "%s: %d objects withheld%s%s%s", out->transaction, out->withheld,
		    out->withheld_why[0] ? " (" : "", out->withheld_why, out->withheld_why[0] ? ")" : "");
		ev.event = out->consent_override ? "emergency-override" : "consent-denied";
		ev.outcome = out->consent_override ? AUDIT_SUCCESS : AUDIT_MINOR_FAILURE;
		ev.detail = out->consent_override && out->withheld == 0 ? "opt-out overridden for EMERGENCY" : what;
		ev.documents = NULL;
		ev.query = NULL;
		if (audit_record(n->audit, &ev) != HIE_OK)
			hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FULL", rid, "consent audit record not queued");
	}
}

void
node_audit_hl7(struct node *n, const char *rid, int initiator, const char *trigger, const char *control_id,
    const char *sender, const char *patient, const char *ack, const char *detail)
{
	int                adt = trigger != NULL && strncmp(trigger, "ADT", 3) == 0;
	const char        *ev_code = trigger != NULL ? strchr(trigger, '^') : NULL;
	struct audit_event ev = {
		.event = adt ? "ITI-8" : "HL7v2",
		.role = initiator ? "initiator" : "responder",
		.outcome = ack == NULL || strcmp(ack, "AA") == 0 || strcmp(ack, "CA") == 0 ? AUDIT_SUCCESS
		           : ack[1] == 'E'                                                 ? AUDIT_MINOR_FAILURE
		                                                                           : AUDIT_SERIOUS_FAILURE,
		.rid = rid,
		.source = sender,
		.peer = sender,
		.patient = patient,
		.detail = detail,
		.query = control_id,
		.trigger = trigger,
		.local = n->cfg.community,
		/* ITI TF-2a 3.8.5: A08 updates, A40 merges (deletes the old id). */
		.action = ev_code != NULL && strncmp(ev_code, "^A08", 4) == 0   ? "U"
		          : ev_code != NULL && strncmp(ev_code, "^A40", 4) == 0 ? "D"
		                                                                : "C",
	};
	if (n->audit == NULL || audit_record(n->audit, &ev) != HIE_OK)
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FULL", rid, "audit record for HL7 %s not queued",
		    trigger ? trigger : "message");
}

void
node_audit_alert(struct node *n, const char *rid, const char *source, const char *detail)
{
	struct audit_event ev = { .event = "security-alert", .role = "responder", .outcome = AUDIT_SERIOUS_FAILURE,
		.rid = rid, .source = source, .detail = detail, .local = n->cfg.community };
	if (n->audit == NULL || audit_record(n->audit, &ev) != HIE_OK)
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FULL", rid, "security alert not queued");
}

static void
node_event(struct node *n, const char *event, const char *detail)
{
	struct audit_event ev = { .event = event, .role = "node", .outcome = AUDIT_SUCCESS, .source = n->cfg.community,
		.detail = detail, .local = n->cfg.community };
	if (n->audit != NULL)
		audit_record(n->audit, &ev);
}

static void
shutdown_node(struct node *n)
{
	/* Order: let clinician queries in flight finish (they end by their
	 * deadline), stop taking new work (HTTP, peer link), then close the
	 * audit trail and storage that the finished queries wrote to. */
	for (int64_t until = hie_now_ms() + n->cfg.overall_deadline_ms + 1000;
	     atomic_load(&n->inflight) > 0 && hie_now_ms() < until;)
		nng_msleep(10);
	node_http_stop(n);
	node_hl7_stop(n);
	node_peerlink_stop(n);
	if (n->mtx != NULL) {
		xca_fanout_release(n->fanout);
		n->fanout = NULL;
		nng_mtx_free(n->mtx);
	}
	node_event(n, "node-stop", n->cfg.name);
	audit_close(n->audit); /* flushes: the stop record is written */
	node_audit_fwd_stop(n); /* the stop record goes to the repository after the restart */
	sec_release(n->sec);
	hie_replay_close(n->replay);
	consent_close(n->consent);
	reg_close(n->reg);
	mpi_close(n->mpi);
	hie_store_close(n->env);
	node_tls_free(&n->tls);
	node_peers_free(&n->peers);
}

int
node_run(const char *config_path)
{
	struct node n;
	sigset_t    set;
	hie_err     e;
	int         sig;

	memset(&n, 0, sizeof(n));
	n.started_ms = hie_now_ms();
	if (node_config_load(config_path, &n.cfg, stderr) != HIE_OK) {
		fprintf(stderr, "hie-node: configuration is invalid; not starting\n");
		return 1;
	}
	hie_log_set_level(level_of(n.cfg.log_level));
	node_config_xml_limits(&n.cfg, &n.lim);

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	hie_xml_init();
	if ((e = hie_store_open(n.cfg.data_dir, n.cfg.map_size_mb, &n.env)) != HIE_OK) {
		fprintf(stderr, "hie-node: data_dir %s: %s\n", n.cfg.data_dir, hie_strerror(e));
		goto fail;
	}
	if ((e = reg_open(n.env, &n.reg)) != HIE_OK) {
		fprintf(stderr, "hie-node: registry: %s\n", hie_strerror(e));
		goto fail;
	}
	if ((e = mpi_open(n.env, &n.mpi)) != HIE_OK ||
	    (e = mpi_set_thresholds(n.mpi, n.cfg.mpi_link_threshold, n.cfg.mpi_review_threshold)) != HIE_OK) {
		fprintf(stderr, "hie-node: MPI: %s\n", hie_strerror(e));
		goto fail;
	}
	node_xref_attach(n.reg, n.mpi, n.cfg.require_known_patient);
	if ((e = audit_open(n.env, &n.audit)) != HIE_OK) {
		fprintf(stderr, "hie-node: audit log: %s\n", hie_strerror(e));
		goto fail;
	}
	if ((e = node_audit_fwd_start(&n)) != HIE_OK) {
		fprintf(stderr, "hie-node: audit.syslog_url %s: %s\n", n.cfg.audit_syslog_url, hie_strerror(e));
		goto fail;
	}
	{
		struct consent_defaults cd = { strcmp(n.cfg.consent_default, "deny") == 0 ? CONSENT_DENY : CONSENT_PERMIT,
			n.cfg.consent_emergency };
		if ((e = consent_open(n.env, &cd, &n.consent)) != HIE_OK) {
			fprintf(stderr, "hie-node: consent: %s\n", hie_strerror(e));
			goto fail;
		}
	}
	n.responder.consent = n.consent;
	n.responder.home = n.cfg.community;
	n.responder.repository_id = n.cfg.repository_id;
	n.responder.reg = n.reg;
	n.responder.mpi = n.mpi;
	n.responder.lim = n.lim;
	n.responder.max_results = (size_t) n.cfg.max_results;
	n.responder.max_submission_objects = (size_t) n.cfg.max_submission_objects;
	n.responder.max_document_bytes = (size_t) n.cfg.max_message_bytes;
	if ((e = node_tls_load(n.cfg.cert, n.cfg.key, n.cfg.ca, n.cfg.crl, &n.tls)) != HIE_OK) {
		fprintf(stderr, "hie-node: certificates: %s\n", hie_strerror(e));
		goto fail;
	}
	if ((e = security_open(&n)) != HIE_OK) {
		fprintf(stderr, "hie-node: peer directory or WS-Security: %s (see the log line above)\n", hie_strerror(e));
		goto fail;
	}
	if (nng_mtx_alloc(&n.mtx) != 0)
		goto fail;
	if ((e = peers_read(&n, &n.tls, &n.peers, NULL, NULL)) != HIE_OK ||
	    (e = make_fanout(&n, &n.tls, &n.peers, &n.fanout)) != HIE_OK) {
		fprintf(stderr, "hie-node: peers: %s\n", hie_strerror(e));
		goto fail;
	}
	if ((e = node_peerlink_start(&n)) != HIE_OK) {
		fprintf(stderr, "hie-node: listen.peer %s: %s\n", n.cfg.listen_peer,
		    e == HIE_EBUSY ? "address already in use" : hie_strerror(e));
		goto fail;
	}
	if ((e = node_http_start(&n)) != HIE_OK) {
		fprintf(stderr, "hie-node: listen.http %s: %s\n", n.cfg.listen_http,
		    e == HIE_EBUSY ? "address already in use" : hie_strerror(e));
		goto fail;
	}
	if ((e = node_hl7_start(&n)) != HIE_OK) {
		fprintf(stderr, "hie-node: listen.mllp %s: %s\n", n.cfg.listen_mllp,
		    e == HIE_EBUSY ? "address already in use" : hie_strerror(e));
		goto fail;
	}
	node_event(&n, "node-start", n.cfg.name);
	hie_log(HIE_LOG_INFO, "node", "HIE-NODE-START", NULL, "node=%s community=%s peer=%s http=%s", n.cfg.name,
	    n.cfg.community, n.cfg.listen_peer, n.cfg.listen_http);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&n);
			continue;
		}
		if (sig == SIGINT || sig == SIGTERM)
			break;
	}
	hie_log(HIE_LOG_INFO, "node", "HIE-NODE-STOP", NULL, "signal %d: shutting down", sig);
	shutdown_node(&n);
	hie_xml_shutdown();
	return 0;
fail:
	shutdown_node(&n);
	hie_xml_shutdown();
	return 1;
}
