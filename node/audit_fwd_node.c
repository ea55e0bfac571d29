/* node/audit_fwd_node.c -- the running node's audit forwarder ([audit]
 * syslog_url): started after the audit trail, its state in /health and
 * /metrics.  The forwarder itself is node/audit_fwd.h. */
#include "node/audit_fwd.h"
#include "node/daemon.h"

hie_err
node_audit_fwd_start(struct node *n)
{
	struct audit_fwd_config c = {
		.url = n->cfg.audit_syslog_url,
		.cert = n->cfg.cert,
		.key = n->cfg.key,
		.ca = n->cfg.ca,
		.crl = n->cfg.crl,
		.node = n->cfg.name,
		.community = n->cfg.community,
		.backoff_min_ms = n->cfg.audit_syslog_backoff_min_ms,
		.backoff_max_s = n->cfg.audit_syslog_backoff_max_s,
		.confirm_ms = n->cfg.audit_syslog_confirm_ms,
	};
	audit_fwd *f;
	hie_err    e;

	if (n->cfg.audit_off_for_measurement) {
		/* A benchmark's switch: said loudly, every start. */
		audit_discard(n->audit, 1);
		hie_log(HIE_LOG_WARN, "audit", "HIE-AUDIT-OFF", NULL,
		    "[audit] off_for_measurement = 1: NOTHING IS AUDITED (benchmarks only, never in production)");
	}
	if (n->cfg.audit_syslog_url[0] == '\0')
		return HIE_OK;
	if ((e = audit_fwd_start(n->env, &c, &f)) != HIE_OK)
		return e;
	if (n->mtx == NULL) { /* at start, before the HTTP server */
		n->audit_fwd = f;
	} else { /* a restart on SIGHUP: /health and /metrics read it */
		nng_mtx_lock(n->mtx);
		n->audit_fwd = f;
		nng_mtx_unlock(n->mtx);
	}
	hie_log(HIE_LOG_INFO, "audit", "HIE-AUDIT-FWD", NULL, "forwarding the audit trail to %s (ITI-20, syslog over TLS)",
	    n->cfg.audit_syslog_url);
	return HIE_OK;
}

/* At shutdown, after the HTTP server stopped: nobody else reads it. */
void
node_audit_fwd_stop(struct node *n)
{
	audit_fwd_stop(n->audit_fwd);
	n->audit_fwd = NULL;
}

void
node_audit_fwd_restart(struct node *n)
{
	audit_fwd *old;
	hie_err    e;

	nng_mtx_lock(n->mtx);
	old = n->audit_fwd;
	n->audit_fwd = NULL;
	nng_mtx_unlock(n->mtx);
	if (old == NULL)
		return;
	audit_fwd_stop(old); /* resumes from the cursor: nothing is lost */
	if ((e = node_audit_fwd_start(n)) != HIE_OK)
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FWD", NULL, "restarting the forwarder on the new certificates: %s",
		    hie_strerror(e));
}

/* The forwarder's counters, or 0 when it is off. */
static int
fwd_stats(struct node *n, struct audit_fwd_stats *s)
{
	int on;

	nng_mtx_lock(n->mtx);
	if ((on = n->audit_fwd != NULL))
		audit_fwd_stats(n->audit_fwd, s);
	nng_mtx_unlock(n->mtx);
	return on;
}

void
node_audit_fwd_health(struct node *n, hie_buf *b)
{
	struct audit_fwd_stats s;

	if (audit_discarding(n->audit))
		hie_buf_addstr(b, ",\"audit_mode\":\"off (measurement only)\"");
	/* The node keeps working while the repository is down: this is
	 * information, not a reason for a 503. */
	if (!fwd_stats(n, &s)) {
		hie_buf_addstr(b, ",\"audit_forwarding\":\"off\"");
		return;
	}
	hie_buf_printf(b, ",\"audit_forwarding\":\"%s\",\"audit_forwarding_lag\":%llu", s.connected ? "up" : "down",
	    (unsigned long long) s.lag);
	if (!s.connected && s.last_error[0] != '\0') {
		hie_buf_addstr(b, ",\"audit_forwarding_error\":");
		hie_buf_json_str(b, s.last_error);
	}
}

void
node_audit_fwd_metrics(struct node *n, hie_buf *b)
{
	struct audit_fwd_stats s;

	if (!fwd_stats(n, &s))
		return;
	hie_buf_printf(b,
	    "# HELP hie_audit_forwarded_total Audit records sent to the audit repository (re-sends after a lost connection included).\n"
	    "# TYPE hie_audit_forwarded_total counter\nhie_audit_forwarded_total %llu\n"
	    "# HELP hie_audit_forward_lag_records Audit records not yet accepted by the audit repository.\n"
	    "# TYPE hie_audit_forward_lag_records gauge\nhie_audit_forward_lag_records %llu\n"
	    "# HELP hie_audit_forward_up 1 while the TLS connection to the audit repository is up.\n"
	    "# TYPE hie_audit_forward_up gauge\nhie_audit_forward_up %d\n"
	    "# HELP hie_audit_forward_connects_total TLS connections made to the audit repository.\n"
	    "# TYPE hie_audit_forward_connects_total counter\nhie_audit_forward_connects_total %llu\n"
	    "# HELP hie_audit_forward_failures_total Failed connection attempts and lost connections to the audit repository.\n"
	    "# TYPE hie_audit_forward_failures_total counter\nhie_audit_forward_failures_total %llu\n",
	    (unsigned long long) s.forwarded, (unsigned long long) s.lag, s.connected, (unsigned long long) s.connects,
	    (unsigned long long) s.failures);
}
