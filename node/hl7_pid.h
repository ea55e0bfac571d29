/*
 * node/hl7_pid.h -- the patient of an HL7 v2 PID segment as an MPI source
 * record (mpi/mpi.h), and back as XDS sourcePatientInfo lines.  Used by the
 * HL7 v2 feed (node/hl7_feed.c) and meant for the C-CDA import, which
 * writes the same PID-n lines into DocumentEntry.sourcePatientInfo.
 *
 * Mapping (HL7 v2.5.1 chapter 3, IHE ITI TF-2a 3.8 / 3.30):
 *   PID-3 (all repetitions that fit, MPI_MAX_IDS) -> ids: CX.1 the id,
 *     CX.4.2 the authority when it is an OID (or CX.4.1 when that is one),
 *     CX.5 the type.  An authority known only by a namespace (CX.4.1
 *     "BCBS"), or no authority at all (then the sending facility is taken
 *     as the one that assigned it), becomes the OID
 *     <local_oid>.7.<32-bit FNV-1a of the namespace>: stable, and distinct
 *     per namespace, so deterministic linking never joins two namespaces'
 *     "12345".  PID-2 and PID-4 (older versions' external and alternate
 *     ids) are read the same way after PID-3; PID-19 (SSN) as type SS in
 *     authority 2.16.840.1.113883.4.1.
 *   PID-5 (repetitions, MPI_MAX_NAMES) -> names: XPN.1.1 family, XPN.2
 *     given, XPN.3 middle, XPN.7 use ("L" when empty); PID-6 (mother's
 *     maiden name) is not the patient's name and is not kept.
 *   PID-7 -> birth_date (TS, first 8 digits), PID-8 -> sex (M, F, O, U;
 *     A and N become O and U).
 *   PID-11 (repetitions, MPI_MAX_ADDRS) -> addrs: XAD.1.1 street (XAD.1
 *     split into number and street when it starts with digits), XAD.2
 *     line2, .3 city, .4 state, .5 postcode, .6 country, .7 use.
 *   PID-13 / PID-14 -> phones (home PRN, work WPN): XTN.1, or the
 *     v2.5+ XTN.6/.7 area and local number when XTN.1 is empty.
 *   source -> the caller's (MSH-3/MSH-4, see hl7_source).
 * PD1, NK1 and PV1 carry the primary care provider, next of kin and the
 * visit: none of them is the patient's identity and the MPI model has no
 * place for them, so they are not mapped (the message keeps them).
 *
 * Errors: HIE_EHL7 with err filled (segment, field, HL7 code) when the
 * PID is missing or names nobody (no identifier, name or birth date).
 */
#ifndef NODE_HL7_PID_H
#define NODE_HL7_PID_H

#include "mpi/mpi.h"
#include "node/hl7.h"

/* The source system of a message: MSH-4 (sending facility) universal id
 * when it is an OID, else MSH-4.1, else MSH-3.1; "unknown" when none. */
void hl7_source(const hl7_msg *m, char *out, size_t cap);

/* The CX of field (seg, seq, field, rep) with an OID authority (see above);
 * facility is the namespace assumed when the CX names no authority.
 * HIE_ENOTFOUND when the repetition has no CX.1. */
hie_err hl7_cx(const hl7_msg *m, const char *seg, int seq, int field, int rep,
    const char *local_oid, const char *facility, struct mpi_ident *out);

/* PID occurrence pid_seq (usually 1) into *p (zeroed first).  local_oid:
 * the node's own OID arc for namespaces without one (an OID, no urn:oid:). */
hie_err hl7_pid_to_patient(const hl7_msg *m, int pid_seq, const char *source,
    const char *local_oid, struct mpi_patient *p, struct hl7_error *err);

/* XDS sourcePatientInfo lines ("PID-3|id^^^&oid&ISO", PID-5, -7, -8,
 * -11, one per line, escaped with the default delimiters) of p into out. */
hie_err hl7_pid_source_info(const struct mpi_patient *p, char *out, size_t cap);

#endif /* NODE_HL7_PID_H */
