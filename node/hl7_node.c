/*
 * node/hl7_node.c -- the daemon's MLLP listener ([listen] mllp, [hl7]
 * keys): the HL7 v2 feed (node/hl7_feed.h) behind node/mllp.h, with one
 * log line per message, the hie_requests metrics and an audit record
 * (node_audit_hl7: ITI-8 for ADT); the queue of enhanced-mode application
 * acknowledgements (node/hl7_appack.h, [hl7] app_ack_*) with its own log
 * lines (HIE-HL7-APPACK), hie_hl7_app_acks_total{status} and audit records
 * for each delivery, refusal and drop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"
#include "node/hl7_feed.h"
#include "node/metrics.h"
#include "node/mllp.h"

struct node_hl7 {
	hl7_feed      *feed;
	hl7_appack    *appack;
	mllp_listener *l;
	struct node   *n;
};

static void
on_message(void *arg, const struct hl7_feed_event *ev)
{
	struct node *n  = arg;
	int          ok = strcmp(ev->ack, "AA") == 0 || strcmp(ev->ack, "CA") == 0 || strcmp(ev->ack, "dup") == 0 ||
	         (strcmp(ev->ack, "none") == 0 && ev->err_code == 0);
	char         detail[300];

	/* In enhanced mode with MSH-16 the connection got CA and the outcome
	 * is the application ack's. */
	if (ev->app_outcome[0] != '\0')
		ok = strcmp(ev->app_outcome, "AA") == 0;
	if (ev->unmatched[0] != '\0')
		node_metrics_count("hie_hl7_unmatched_adt_total",
		    "ADT messages for a patient the MPI did not hold (updates that created the record; merges, unlinks, "
		    "identifier changes refused), by event.",
		    "event", ev->unmatched);
	/* Patient data stays out of the log (log_level info); the audit
	 * trail has the patient. */
	hie_log(ok ? HIE_LOG_INFO : HIE_LOG_WARN, "hl7", "HIE-HL7-MSG", ev->rid,
	    "type=%s control_id=\"%.64s\" ack=%s%s%s err=%d ms=%lld detail=\"%s\"", ev->msg_type[0] ? ev->msg_type : "?",
	    ev->control_id, ev->ack, ev->app_outcome[0] ? " app_ack=" : "", ev->app_outcome, ev->err_code,
	    (long long) ev->ms, ev->detail);
	node_metrics_request(ev->kind, ev->ack, ev->ms);
	snprintf(detail, sizeof(detail), "%s%s%s", ev->ack, ev->detail[0] ? ": " : "", ev->detail);
	/* ITI-8 for ADT, "HL7v2" otherwise (node/daemon.h); a retransmission
	 * answered from hl7.seen is recorded with the ACK it got again. */
	node_audit_hl7(n, ev->rid, 0, ev->msg_type[0] ? ev->msg_type : NULL, ev->control_id,
	    ev->sender[0] ? ev->sender : "mllp", ev->patient[0] ? ev->patient : NULL,
	    ev->app_outcome[0] ? ev->app_outcome : ok ? (strcmp(ev->ack, "CA") == 0 ? "CA" : "AA") : ev->ack, detail);
}

static void
on_appack(void *arg, const struct hl7_appack_event *ev)
{
	struct node *n = arg;
	int          bad = strcmp(ev->what, "refused") == 0 || strcmp(ev->what, "dropped") == 0;
	char         rid[33], detail[300];

	hie_request_id(rid);
	node_metrics_count("hie_hl7_app_acks_total",
	    "Enhanced-mode HL7 application acknowledgements: queued, unrouted (queued without a route), delivered, "
	    "refused (CE/AE), retry (failed attempts), dropped (queue full).",
	    "status", ev->what);
	if (strcmp(ev->what, "queued") == 0)
		return; /* the message's own log line and audit record say it */
	hie_log(strcmp(ev->what, "delivered") == 0 ? HIE_LOG_INFO : HIE_LOG_WARN, "hl7", "HIE-HL7-APPACK", rid, "%s code=%s control_id=\"%.64s\" ack_id=%s sender=\"%.100s\" dest=%s n=%zu detail=\"%s\"",
	    ev->what, ev->code, ev->control_id, ev->ack_id, ev->sender, ev->dest[0] ? ev->dest : "-", ev->n, ev->detail);
	if (strcmp(ev->what, "delivered") != 0 && !bad)
		return;
	/* Sending the acknowledgement is a transaction this node initiates;
	 * a drop loses one, and is recorded as such. */
	snprintf(detail, sizeof(detail), "application acknowledgement %s %s%s%s", ev->code, ev->what,
	    ev->detail[0] ? ": " : "", ev->detail);
	node_audit_hl7(n, rid, 1, "ACK", ev->control_id, ev->dest[0] ? ev->dest : ev->sender, NULL,
	    strcmp(ev->what, "delivered") == 0 ? "AA" : strcmp(ev->what, "refused") == 0 ? "AE" : "AR", detail);
}

static hie_err
appack_tls(void *arg, const char *server_name, nng_tls_config **out)
{
	struct node *n = arg;
	return node_tls_config(&n->tls, server_name, out);
}

hie_err
node_hl7_start(struct node *n)
{
	struct hl7_feed_cfg fc;
	struct mllp_opts    o = mllp_default_opts;
	struct node_hl7    *h;
	nng_tls_config     *tls = NULL;
	hie_err             e;

	if (n->cfg.listen_mllp[0] == '\0')
		return HIE_OK;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return HIE_ENOMEM;
	h->n = n;
	{
		struct hl7_appack_cfg ac;
		memset(&ac, 0, sizeof(ac));
		ac.env          = n->env;
		ac.routes_file  = n->cfg.hl7_app_ack_routes;
		ac.max_queued   = (size_t) n->cfg.hl7_app_ack_max_queued;
		ac.retry_max_ms = n->cfg.hl7_app_ack_retry_max_s * 1000;
		ac.tls_client   = appack_tls;
		ac.tls_arg      = n;
		ac.report       = on_appack;
		ac.report_arg   = n;
		if ((e = hl7_appack_open(&ac, stderr, &h->appack)) != HIE_OK) {
			free(h);
			return e;
		}
	}
	memset(&fc, 0, sizeof(fc));
	fc.env           = n->env;
	fc.mpi           = n->mpi;
	fc.reg           = n->reg;
	fc.local_oid     = n->cfg.community + 8; /* urn:oid: checked by the config */
	fc.repository_id = n->cfg.repository_id;
	fc.lim           = hl7_default_limits;
	fc.lim.max_bytes = (size_t) n->cfg.hl7_max_message_bytes;
	fc.appack        = h->appack;
	fc.report        = on_message;
	fc.report_arg    = n;
	if ((e = hl7_feed_open(&fc, &h->feed)) != HIE_OK) {
		hl7_appack_close(h->appack);
		free(h);
		return e;
	}
	o.max_bytes        = (size_t) n->cfg.hl7_max_message_bytes;
	o.idle_timeout_ms  = n->cfg.hl7_idle_timeout_s * 1000;
	o.frame_timeout_ms = n->cfg.hl7_frame_timeout_s * 1000;
	o.max_conns        = n->cfg.hl7_max_connections;
	o.batch            = hl7_feed_batch;
	if (strncmp(n->cfg.listen_mllp, "tls+", 4) == 0) {
		/* Mutual TLS: the sender must present a certificate of the
		 * network CA, as peers do. */
		if ((e = node_tls_config(&n->tls, NULL, &tls)) != HIE_OK) {
			hl7_feed_close(h->feed);
			hl7_appack_close(h->appack);
			free(h);
			return e;
		}
		o.tls = tls;
	}
	e = mllp_listen(n->cfg.listen_mllp, &o, NULL, h->feed, &h->l);
	if (tls != NULL)
		nng_tls_config_free(tls); /* the listener holds its own reference */
	if (e != HIE_OK) {
		hl7_feed_close(h->feed);
		hl7_appack_close(h->appack);
		free(h);
		return e;
	}
	n->hl7 = h;
	hie_log(HIE_LOG_INFO, "hl7", "HIE-HL7-LISTEN", NULL, "MLLP listener on %s", n->cfg.listen_mllp);
	return HIE_OK;
}

void
node_hl7_stop(struct node *n)
{
	if (n->hl7 == NULL)
		return;
	/* Listener first: its handlers wait on the writer. */
	mllp_close(n->hl7->l);
	hl7_feed_close(n->hl7->feed);
	/* Last: the feed queues into it.  What is not delivered stays queued. */
	hl7_appack_close(n->hl7->appack);
	free(n->hl7);
	n->hl7 = NULL;
}
