/*
 * node/xref.h -- where the registry meets the MPI: the patient identity
 * checks XDS asks of a registry, answered from the node's MPI.
 *
 * - ITI-41 submissions name a patient the MPI knows (ITI TF-2b 3.42.4.1.3:
 *   XDSUnknownPatientId otherwise), when required.
 * - Patient-based queries (FindDocuments, FindSubmissionSets, FindFolders,
 *   GetAll, and so ITI-18 and ITI-38) follow patient merges: a query for
 *   either id of a merged pair finds what was filed under both, and after
 *   an unmerge each finds its own again.  The registry's records keep the
 *   ids they were filed under; only the cross-reference lives in the MPI.
 *
 * Both hooks run inside registry calls and only read the MPI.
 */
#ifndef NODE_XREF_H
#define NODE_XREF_H

#include "mpi/mpi.h"
#include "registry/registry.h"

/* Sets the registry's hooks to m; m must outlive r's use.  require_known:
 * refuse submissions for unknown patients ([registry] require_known_patient). */
void node_xref_attach(reg *r, mpi *m, int require_known);

#endif /* NODE_XREF_H */
