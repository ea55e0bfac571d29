/*
 * node/hl7_node.c -- the daemon's MLLP listener ([listen] mllp, [hl7]
 * keys): the HL7 v2 feed (node/hl7_feed.h) behind node/mllp.h, with one
 * log line per message, the hie_requests metrics and an audit record
 * (node_audit_hl7: ITI-8 for ADT).
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

	/* Patient data stays out of the log (log_level info); the audit
	 * trail has the patient. */
	hie_log(ok ? HIE_LOG_INFO : HIE_LOG_WARN, "hl7", "HIE-HL7-MSG", ev->rid,
	    "type=%s control_id=\"%.64s\" ack=%s err=%d ms=%lld detail=\"%s\"", ev->msg_type[0] ? ev->msg_type : "?",
	    ev->control_id, ev->ack, ev->err_code, (long long) ev->ms, ev->detail);
	node_metrics_request(ev->kind, ev->ack, ev->ms);
	snprintf(detail, sizeof(detail), "%s%s%s", ev->ack, ev->detail[0] ? ": " : "", ev->detail);
	/* ITI-8 for ADT, "HL7v2" otherwise (node/daemon.h); a retransmission
	 * answered from hl7.seen is recorded with the ACK it got again. */
	node_audit_hl7(n, ev->rid, 0, ev->msg_type[0] ? ev->msg_type : NULL, ev->control_id,
	    ev->sender[0] ? ev->sender : "mllp", ev->patient[0] ? ev->patient : NULL,
	    ok ? (strcmp(ev->ack, "CA") == 0 ? "CA" : "AA") : ev->ack, detail);
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
	memset(&fc, 0, sizeof(fc));
	fc.env           = n->env;
	fc.mpi           = n->mpi;
	fc.reg           = n->reg;
	fc.local_oid     = n->cfg.community + 8; /* urn:oid: checked by the config */
	fc.repository_id = n->cfg.repository_id;
	fc.lim           = hl7_default_limits;
	fc.lim.max_bytes = (size_t) n->cfg.hl7_max_message_bytes;
	fc.report        = on_message;
	fc.report_arg    = n;
	if ((e = hl7_feed_open(&fc, &h->feed)) != HIE_OK) {
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
	free(n->hl7);
	n->hl7 = NULL;
}
