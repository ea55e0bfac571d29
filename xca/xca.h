/*
 * xca/xca.h -- the cross-community gateway: the responding side (answers
 * ITI-38 from the local registry) and the fan-out coordinator (asks every
 * peer in parallel and aggregates).
 *
 * Responder: xca_respond() takes the bytes of one inbound SOAP request and
 * always produces the bytes of one SOAP response (a Fault for anything it
 * cannot answer).  It dispatches on wsa:Action through one table of the
 * transactions this node serves.  Thread-safe; it blocks only on LMDB reads.
 *
 * Fan-out: one REQ socket per peer (REQ would load-balance among the pipes
 * of one socket), dialed over tls+tcp with mutual TLS; each query opens an
 * nng context per peer and drives it with an aio callback, so no thread
 * waits on a peer.  Each peer call is bounded by the peer deadline and by
 * the overall deadline; the final result always lists every peer with its
 * status and time.  A fan-out object is reference counted: a query holds
 * it, so a SIGHUP that swaps in a new peer directory never pulls sockets
 * from under a query in flight.
 */
#ifndef XCA_XCA_H
#define XCA_XCA_H

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

#include "node/config.h"
#include "node/consent.h"
#include "node/hie.h"
#include "node/tls.h"
#include "node/wss.h"
#include "node/xml.h"
#include "mpi/mpi.h"
#include "registry/registry.h"

/* ---- responding gateway ---- */

struct xca_responder {
	const char           *home;          /* our homeCommunityId */
	const char           *repository_id; /* our repositoryUniqueId */
	reg                  *reg;           /* the local registry */
	mpi                  *mpi;           /* the local MPI (ITI-55, PIX/PDQ); may be NULL */
	struct hie_xml_limits lim;
	size_t                max_results;
	wss_verifier         *verifier;      /* checks every request first */
	const wss_signer     *signer;        /* signs every response */
	int                   ttl_s;         /* lifetime of response timestamps */
	int                   allow_unsigned; /* tests of the XCA layer alone; never in a node */
	size_t                max_submission_objects; /* ITI-41: registry objects in one request */
	size_t                max_document_bytes;     /* ITI-41: one document, and all together */
	consent              *consent;       /* patients' consent (node/consent.h); NULL: not enforced */
};

/* The outcome of one inbound transaction, for logs, metrics and audit. */
struct xca_outcome {
	const char *transaction; /* "ITI-38", or "unknown" */
	const char *status;      /* "ok", "fault", "error" */
	char        detail[256]; /* why, when not ok; no patient data */
	char        requester[300]; /* verified: community and person */
	int         security;       /* 1: refused by WS-Security checks */
	char        community[128]; /* verified requester: community, and */
	struct wss_claims claims;   /* what its assertion says */
	char        patient[256];   /* the patient asked about, if any (audit only) */
	char        documents[512]; /* document ids asked for (ITI-39), space separated */
	/* Consent (node/consent.h), for the audit record: objects withheld,
	 * and whether an opt-out was overridden (EMERGENCY). */
	int         withheld;
	int         consent_override;
	char        withheld_why[96];
	char        query[1024];    /* the query as asked (ATNA ParticipantObjectQuery), truncated */
};

/*
 * Answers req[len].  *resp is malloc'd (caller frees) and holds a SOAP
 * response or Fault.  Returns HIE_OK whenever *resp was produced, whatever
 * it says; only HIE_ENOMEM leaves *resp NULL.
 */
hie_err xca_respond(const struct xca_responder *r, const char *req, size_t len,
    const char *rid, char **resp, size_t *rlen, struct xca_outcome *out);

/*
 * The same, for HTTP: ctype_in is the request's Content-Type (NULL: plain
 * SOAP).  A multipart/related request is read as MTOM/XOP (its root part
 * is the envelope, attachments are documents for ITI-41) and answered in
 * MTOM, retrieved documents as attachments.  ctype_out[ctcap] gets the
 * response's Content-Type.
 */
hie_err xca_respond_mime(const struct xca_responder *r, const char *ctype_in, const char *req, size_t len,
    const char *rid, char **resp, size_t *rlen, char *ctype_out, size_t ctcap, struct xca_outcome *out);

/* ---- fan-out coordinator ---- */

enum xca_status { XCA_OK, XCA_NO_MATCH, XCA_TIMEOUT, XCA_ERROR, XCA_REFUSED };
/* "ok", "no-match", "timeout", "error", "refused" */
const char *xca_status_name(enum xca_status s);

struct xca_peer_result {
	char            name[NODE_STR];
	char            community[NODE_STR];
	enum xca_status status;
	int64_t         ms;        /* from the start of the phase to the outcome */
	/* Where that time went, ms from the start of the phase (-1: never):
	 * the request signed and handed to the transport, the answer in (its
	 * verification and reading take the rest of ms).  answered_ms -
	 * sent_ms is the peer's own time plus one round trip. */
	int64_t         sent_ms;
	int64_t         answered_ms;
	size_t          documents;
	char            error[256];
};

struct xca_result {
	char                    patient[256];
	struct xca_peer_result *peers; /* one per directory entry */
	size_t                  npeers;
	struct reg_result       docs;  /* deduplicated, newest first */
	int64_t                 ms;
};

struct xca_fanout_cfg {
	const struct node_peers        *peers;
	const struct node_tls_material *tls; /* also signs requests, verifies responses */
	int                             ttl_s;
	int                             clock_skew_s;
	const char                     *home;
	int                             peer_deadline_ms;
	int                             overall_deadline_ms;
	size_t                          max_results;
	size_t                          max_message_bytes;
	struct hie_xml_limits           lim;
};

typedef struct xca_fanout xca_fanout;

/* Creates the peer sockets and starts dialing (non-blocking).  The new
 * object has one reference, owned by the caller. */
hie_err xca_fanout_new(const struct xca_fanout_cfg *cfg, xca_fanout **out);
void    xca_fanout_hold(xca_fanout *fo);
/* Drops a reference; the last one closes the sockets. */
void    xca_fanout_release(xca_fanout *fo);

/* Number of peers and whether peer i has a live TLS connection. */
size_t xca_fanout_npeers(const xca_fanout *fo);
int    xca_fanout_peer_connected(const xca_fanout *fo, size_t i, const char **name);

/*
 * Done callback: called exactly once per query, from an nng thread, with a
 * result the callee owns (xca_result_free).  It must not block.
 */
typedef void (*xca_done_fn)(struct xca_result *res, void *arg);

/* Starts a FindDocuments fan-out on behalf of the requester in claims (the
 * XUA assertion each request carries).  On HIE_OK done will be called; on
 * an error it will not. */
hie_err xca_fanout_query(xca_fanout *fo, const struct reg_query *q, const struct wss_claims *claims,
    const char *rid, xca_done_fn done, void *arg);

/* ITI-39 retrieve of one document from the peer of community home. */
struct xca_retrieved {
	struct xca_peer_result peer;   /* status of the call */
	struct reg_doc_ref     ref;
	char                   mime[64];
	char                  *doc;    /* malloc'd; NULL unless peer.status is ok */
	size_t                 len;
};
typedef void (*xca_retrieve_fn)(struct xca_retrieved *r, void *arg);

/* Starts the retrieve; HIE_ENOTFOUND if no peer has that community.  fn is
 * called once, as done is for queries; free r with xca_retrieved_free. */
hie_err xca_fanout_retrieve(xca_fanout *fo, const struct reg_doc_ref *ref, const struct wss_claims *claims,
    const char *rid, xca_retrieve_fn fn, void *arg);
void    xca_retrieved_free(struct xca_retrieved *r);

/* The result as the JSON object hie-query prints (see README). */
hie_err xca_result_json(const struct xca_result *res, hie_buf *out);
/* One streamed peer (xca_peer_fn) as a JSON object:
 * {"peer":{name, community, status, ms, documents, error},
 *  "documents":[entries as in xca_result_json]} */
hie_err xca_peer_json(const struct xca_peer_result *p, const struct reg_entry *docs, size_t ndocs, hie_buf *out);
void    xca_result_free(struct xca_result *res);

/* ---- XCPD discovery (ITI-55 to every peer; xca/discover.c) ----
 *
 * For the initiating gateway and hie-query --discover: each peer is asked,
 * in parallel and with the same deadlines, signatures and verification as
 * ITI-38, whether it knows the patient described by `who` (demographics
 * and identifiers, e.g. from xca_patient_demographics).  A peer answers
 * with its own id for the patient only when it is sure (ITI TF-2b 3.55).
 */
struct xca_discovered {
	struct xca_peer_result peer;            /* ok (matched), no-match, timeout, error, refused; ms */
	char                   patient_id[256]; /* the peer's id for the patient (CX), when ok */
	int                    confidence;      /* the peer's match confidence 0..100, -1 if none */
};
struct xca_discovery {
	struct xca_discovered *v; /* one per directory entry, in directory order */
	size_t                 n;
	int64_t                ms;
};
typedef void (*xca_discover_fn)(struct xca_discovery *d, void *arg);

/* Starts discovery; fn is called once from an nng thread (must not
 * block) with a result it owns (xca_discovery_free).  On an error fn is
 * not called. */
hie_err xca_fanout_discover(xca_fanout *fo, const struct mpi_patient *who, const struct wss_claims *claims,
    const char *rid, xca_discover_fn fn, void *arg);
void    xca_discovery_free(struct xca_discovery *d);

/* The demographics of a local patient for discovery: the MPI record(s) of
 * patient_id's enterprise id, with every identifier linked to it.
 * HIE_EUNKNOWNPATIENT when the local MPI does not know the id. */
hie_err xca_patient_demographics(mpi *m, const char *patient_id, struct mpi_patient *out);

/* The clinician query with discovery first (issue 8): ITI-55 to every
 * peer, then ITI-38 FindDocuments (q, with the patient id replaced by each
 * peer's own id) to each peer that matched.  done gets one xca_result
 * listing every peer: matched peers with their ITI-38 status, the others
 * with their discovery status (no-match, timeout, error, refused).  Each
 * call is bounded by the peer deadline, and the two phases together by the
 * overall deadline (a peer that did not answer discovery in time is
 * reported timeout). */
hie_err xca_fanout_query_discover(xca_fanout *fo, const struct reg_query *q, const struct mpi_patient *who,
    const struct wss_claims *claims, const char *rid, xca_done_fn done, void *arg);

/* ---- one budget, and results as they come (issue 8) ---- */

/*
 * Streaming: on_peer is called once per peer as soon as its outcome is
 * known, with its status and time and the entries it returned that pass
 * the query's filters (not yet deduplicated across peers; NULL/0 unless
 * ok).  With discovery, a peer that did not match is passed when
 * discovery ends, with its discovery status.  Calls come from nng threads,
 * one at a time per query, all before done; on_peer must not block and
 * must not keep the pointers.  done still gets the whole, deduplicated
 * result.
 */
typedef void (*xca_peer_fn)(const struct xca_peer_result *peer, const struct reg_entry *docs, size_t ndocs,
    void *arg);

struct xca_query_opts {
	/* The whole query's budget in ms, discovery and ITI-38 together:
	 * each phase gets what is left of it, each call no more than the
	 * peer deadline.  0 (or more than the configured overall deadline):
	 * the overall deadline. */
	int         budget_ms;
	xca_peer_fn on_peer;   /* NULL: no streaming */
	void       *peer_arg;
};

/* The clinician query with options; who non-NULL runs XCPD discovery
 * first (as xca_fanout_query_discover), NULL asks every peer with
 * q->patient_id (as xca_fanout_query).  opts may be NULL. */
hie_err xca_fanout_query_opts(xca_fanout *fo, const struct reg_query *q, const struct mpi_patient *who,
    const struct wss_claims *claims, const char *rid, const struct xca_query_opts *opts, xca_done_fn done,
    void *arg);

/* xca_fanout_retrieve within budget_ms (0: the overall deadline; never
 * more): what is left of a query's budget when the clinician retrieves. */
hie_err xca_fanout_retrieve_budget(xca_fanout *fo, const struct reg_doc_ref *ref, const struct wss_claims *claims,
    const char *rid, int budget_ms, xca_retrieve_fn fn, void *arg);

#endif /* XCA_XCA_H */
