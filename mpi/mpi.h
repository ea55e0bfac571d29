/*
 * mpi/mpi.h -- the master patient index.
 *
 * For now: patient identifiers as HL7 v2 CX values with an ISO assigning
 * authority, "ID^^^&OID&ISO", the form XDS uses for patientId.  The patient
 * store, matching and PIX/PDQ/XCPD arrive with the MPI issue.
 */
#ifndef MPI_MPI_H
#define MPI_MPI_H

#include <stddef.h>

#include "node/hie.h"

struct mpi_cx {
	char id[128];        /* CX.1 */
	char authority[128]; /* CX.4.2, an OID */
};

/* Parses "ID^^^&OID&ISO" strictly: CX.1 non-empty without separators,
 * CX.4.2 an OID, CX.4.3 "ISO".  HIE_EINVAL otherwise. */
hie_err mpi_cx_parse(const char *s, struct mpi_cx *out);
/* Formats back to the canonical "ID^^^&OID&ISO". */
hie_err mpi_cx_format(const struct mpi_cx *cx, char *out, size_t cap);

#endif /* MPI_MPI_H */
