/*
 * node/daemon.h -- the running node, shared by the files of the hie-node
 * program (daemon.c, peerlink.c, http.c, metrics.c).  Not a library API.
 */
#ifndef NODE_DAEMON_H
#define NODE_DAEMON_H

#include <lmdb.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/util/platform.h>
#include <stdatomic.h>

#include "node/audit.h"
#include "node/config.h"
#include "node/hie.h"
#include "node/tls.h"
#include "mpi/mpi.h"
#include "registry/registry.h"
#include "xca/xca.h"
#include "xca/cache.h"

/* This node's signing key and inbound trust, swapped as a whole on SIGHUP;
 * a request in progress holds a reference to the one it started with. */
struct node_sec {
	atomic_int    refs;
	wss_signer   *signer;   /* signs our responses */
	wss_verifier *verifier; /* checks inbound requests (CA, CRL, audience) */
};

struct node {
	struct node_config       cfg;
	struct hie_xml_limits    lim;
	MDB_env                 *env;
	reg                     *reg;
	mpi                     *mpi;      /* the master patient index */
	struct xca_responder     responder;
	hie_replay              *replay;   /* inbound message/assertion ids */
	struct node_sec         *sec;      /* guarded by mtx */
	audit_log               *audit;
	struct audit_fwd        *audit_fwd; /* [audit] syslog_url; NULL when off */
	consent                 *consent;  /* patients' consent; also in responder */
	struct node_tls_material tls;
	nng_mtx                 *mtx;    /* guards fanout and sec */
	xca_fanout              *fanout; /* swapped on SIGHUP */
	struct node_peers        peers;  /* the fan-out's peers (main thread only) */
	struct peerlink         *peerlink;
	nng_http_server         *http;
	struct node_hl7         *hl7;      /* MLLP listener and HL7 v2 feed; NULL when off */
	atomic_int               inflight; /* API queries waiting on peers */
	xca_cache               *qcache;   /* clinician query results ([query] cache_ttl_s); NULL: off */
	int64_t                  started_ms;
};

/* Runs the daemon until SIGTERM/SIGINT.  Returns the exit status. */
int node_run(const char *config_path);

/* The current fan-out with a reference the caller releases. */
xca_fanout *node_fanout_get(struct node *n);

/* Answers one inbound SOAP request (xca_respond with the current keys and
 * trust), audits it, counts it and logs it.  *resp as for xca_respond. */
hie_err node_respond(struct node *n, const char *via, const char *ctype_in, const char *req, size_t len, char **resp,
    size_t *rlen, char *ctype_out, size_t ctcap, struct xca_outcome *out);

/* One audit record for an inbound transaction as xca_respond saw it
 * (plus a consent-denied or emergency-override record when consent
 * withheld objects or an opt-out was overridden). */
void node_audit_inbound(struct node *n, const struct xca_outcome *out, const char *rid);

/*
 * One audit record per HL7 v2 message received (or sent, initiator = 1):
 * for the MLLP listener.  trigger is MSH-9 ("ADT^A01"), control_id MSH-10,
 * sender MSH-3/MSH-4 or the peer address, patient the PID-3 CX if any,
 * ack the acknowledgment code sent ("AA", "AE", "AR").  ADT messages are
 * recorded as ITI-8 (Patient Identity Feed), others as "HL7v2"; A08 is an
 * update, A40 a merge.  Thread-safe; never blocks.
 */
void node_audit_hl7(struct node *n, const char *rid, int initiator, const char *trigger, const char *control_id,
    const char *sender, const char *patient, const char *ack, const char *detail);

/* A security alert record (refused connection, bad certificate...). */
void node_audit_alert(struct node *n, const char *rid, const char *source, const char *detail);

/* The audit forwarder (node/audit_fwd_node.c): started after the audit
 * trail when [audit] syslog_url is set (and [audit] off_for_measurement
 * applied); its state as /health fields and /metrics series. */
hie_err node_audit_fwd_start(struct node *n);
void    node_audit_fwd_stop(struct node *n);
/* SIGHUP with new certificates, CA or CRL: the forwarder reconnects with
 * them (a revoked repository is refused from then on). */
void    node_audit_fwd_restart(struct node *n);
void    node_audit_fwd_health(struct node *n, hie_buf *b);
void    node_audit_fwd_metrics(struct node *n, hie_buf *b);

/* Peer link: REP over mutual TLS, answering with xca_respond. */
hie_err node_peerlink_start(struct node *n);
/* Restarts the listener with the current certificate (SIGHUP). */
hie_err node_peerlink_retls(struct node *n);
void    node_peerlink_stop(struct node *n);

/* Completes an HTTP handler's aio with one response (no-store); on
 * allocation failure the aio fails with NNG_ENOMEM.  _error answers
 * {"error": msg} as JSON. */
void node_http_reply(nng_aio *aio, uint16_t status, const char *ctype, const void *body, size_t len);
void node_http_reply_error(nng_aio *aio, uint16_t status, const char *msg);

/* GET/POST/DELETE /api/consent/{cx} (node/consent_http.c). */
void node_http_consent(nng_aio *aio);

/* HTTP: /health, /metrics, /api/patients/{id}/documents, POST /xca/iti38. */
hie_err node_http_start(struct node *n);
void    node_http_stop(struct node *n);

/* HL7 v2 over MLLP ([listen] mllp; node/hl7_node.c): nothing when the key
 * is empty.  Stop before the MPI, registry and audit trail close. */
hie_err node_hl7_start(struct node *n);
void    node_hl7_stop(struct node *n);

/* Commands of the hie-node program besides running the daemon. */
int node_cmd_init(int argc, char **argv);
int node_cmd_import(int argc, char **argv);
int node_cmd_soap(int argc, char **argv);
int node_cmd_audit(int argc, char **argv);
int node_cmd_consent(int argc, char **argv);

#endif /* NODE_DAEMON_H */
