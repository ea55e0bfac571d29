/*
 * xca/privacy.h -- consent enforcement inside the responding gateway (the
 * xca module's own; not a public API).  The responder calls these around
 * its ITI-38, ITI-39, ITI-18 and ITI-43 handlers when r->consent is set.
 */
#ifndef XCA_PRIVACY_H
#define XCA_PRIVACY_H

#include "xca/xca.h"

/*
 * After a stored query answered into body: removes every registry object
 * whose patient may not be disclosed to out->claims, and every document
 * whose confidentialityCode (R, V) the patient's consent does not cover,
 * with the associations and classifications that name them.  The answer
 * stays Success: a withheld patient looks like one with no documents
 * (ITI TF-2b 3.38: no error that would reveal the patient exists).
 * ObjectRef answers for a denied patient lose all their objects.
 * out->documents gets the uniqueIds still disclosed, out->withheld the
 * number of objects removed.
 */
hie_err xca_privacy_filter_query(const struct xca_responder *r, xmlNode *body, struct xca_outcome *out);

/*
 * Before a retrieve: moves the requests for documents that may not be
 * disclosed out of refs[*n] (order kept) into denied[*ndenied] (caller's
 * array of REG_MAX_RETRIEVE).  Unknown documents stay: the repository
 * answers them as it always does.
 */
void xca_privacy_filter_retrieve(const struct xca_responder *r, struct reg_doc_ref *refs, size_t *n,
    struct reg_doc_ref *denied, size_t *ndenied, struct xca_outcome *out);

/* After the retrieve response was built into body: one
 * XDSDocumentUniqueIdError per denied document (the same as for a missing
 * one) and the status recomputed. */
void xca_privacy_retrieve_errors(xmlNode *body, const struct reg_doc_ref *denied, size_t ndenied);

/* The query element of a request body, serialised into out->query for the
 * ATNA record (truncated at its size). */
void xca_privacy_capture_query(const xmlNode *req_body, struct xca_outcome *out);

#endif /* XCA_PRIVACY_H */
