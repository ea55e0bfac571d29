/*
 * xca/xcpd.h -- the patient transactions of the responder's table
 * (xca/responder.c): XCPD responding gateway (ITI-55), PIX v3 query
 * (ITI-45) and PDQ v3 query (ITI-47), answered from the local MPI.
 * Private to the xca module.
 */
#ifndef XCA_XCPD_H
#define XCA_XCPD_H

#include "xca/xca.h"

enum xcpd_kind { XCPD_ITI55, XCPD_ITI45, XCPD_ITI47 };

/*
 * Reads the v3 query in req (the SOAP Body's element, already verified)
 * and appends the v3 response to body.  A request that is a v3 message
 * but cannot be answered gets an AE response (out->detail says why);
 * HIE_EPROTO when req is not the right message at all (the caller sends a
 * Fault).  out->patient names the patient asked about or disclosed.
 */
hie_err xcpd_answer(const struct xca_responder *r, enum xcpd_kind kind, const xmlNode *req, xmlNode *body,
    struct xca_outcome *out);

/*
 * The ITI-38 fan-out of xca/query.c to the n peers (indexes in fo->peers),
 * call i asking for pids[i] (malloc'd; owned by the query on HIE_OK, the
 * caller's on an error).  res is allocated by the caller with res->peers
 * holding at least n entries; the calls' outcomes go to res->peers[0..n-1],
 * entries after them are left as they are.  done gets res as for
 * xca_fanout_query.  Calls end by until (the query's deadline, see
 * xca_op_start); each peer's outcome goes to on_peer when non-NULL.
 */
hie_err xca_query_start(xca_fanout *fo, const struct reg_query *q, const size_t *peers, char (*pids)[256], size_t n,
    struct xca_result *res, const struct wss_claims *claims, const char *rid, int64_t until, xca_peer_fn on_peer,
    void *peer_arg, xca_done_fn done, void *arg);

#endif /* XCA_XCPD_H */
