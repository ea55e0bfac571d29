/*
 * node/hl7_feed.h -- what the node does with HL7 v2 messages that reach its
 * MLLP listener (node/mllp.h): ADT to the MPI, MDM and ORU documents to the
 * registry, PDQ and PIX queries over v2, and the acknowledgements.
 *
 *   ADT A01 A02 A03 A04 A05 A06 A07 A08 A11 A12 A13 A28 A31
 *                    create or update the sender's source record: found by
 *                    source system (MSH-4/MSH-3) and a PID-3 identifier,
 *                    updated when found, added (and matched) otherwise
 *   ADT A40, A18     merge: the enterprise id of MRG-1 into that of PID-3
 *                    (each PID/MRG pair of the message)
 *   ADT A37          unlink the second PID's record from the first's
 *   ADT A47          the identifier MRG-1 of the sender's record becomes
 *                    PID-3's
 *   MDM T02 T10, ORU R01
 *                    the documents in OBX (ED base64, or TX/FT/ST text)
 *                    become one registry document; patient resolved
 *                    through the MPI (unknown: AE, ERR 204)
 *   QBP Q22 -> RSP K22 (PDQ, mpi_search), QBP Q23 -> RSP K23 (PIX)
 *   anything else    AR, ERR 200 (type) or 201 (event)
 *
 * Durability and acknowledgements: an AA is sent only after the change it
 * acknowledges is committed.  ADT messages go to one writer thread that
 * takes every message waiting, from every connection, and applies them in
 * one LMDB write transaction -- a refused message leaves nothing, as each
 * handler refuses before its first write (or, for a merge of several
 * pairs, runs in a nested transaction) -- together with the
 * acknowledgement records of hl7_seen (node/hl7_seen.h); then commits once
 * and releases the ACKs (group commit).  A failed commit turns every ACK
 * of the group into AR 207, and nothing of it is remembered.  A retransmitted message (same MSH-3, MSH-10, content)
 * gets the acknowledgement it got the first time, without being applied
 * again.  Documents are registered with reg_put in a transaction of their
 * own and their acknowledgement recorded after it; see hl7_doc.c for why
 * that order is safe.
 *
 * Enhanced mode with MSH-16 AL/ER/SU (hl7_app_ack_mode) and cfg.appack: the
 * accept acknowledgement is CA once the message is committed, whatever
 * processing found (CR when it was refused before processing: header,
 * unsupported event, storage), and the outcome AA/AE/AR goes into the
 * application acknowledgement MSH-16 asks for, queued (node/hl7_appack.h)
 * in the transaction that records the accept acknowledgement -- for ADT
 * the one that applies the message.  Without MSH-16, with NE, or without
 * cfg.appack, CA/CE/CR carry the outcome.
 *
 * Unmatched ADT (event.unmatched, a data-quality signal): an update-type
 * event (A02 A03 A06 A07 A08 A11 A12 A13 A31) for a patient the sender
 * never registered, so the record had to be created; a merge (A40, A18)
 * whose PID-3 or MRG-1, an unlink (A37) whose patients, or an identifier
 * change (A47) whose MRG-1 the MPI does not hold.
 *
 * Threading: hl7_feed_batch and hl7_feed_handle may be called from any
 * number of threads at once (the MLLP listener's workers).
 */
#ifndef NODE_HL7_FEED_H
#define NODE_HL7_FEED_H

#include <lmdb.h>
#include <stdint.h>

#include "mpi/mpi.h"
#include "node/hl7.h"
#include "node/hl7_appack.h"
#include "node/mllp.h"
#include "registry/registry.h"

/* One message handled, for the node's log line, metrics and audit trail. */
struct hl7_feed_event {
	const char *rid;         /* request id */
	const char *kind;        /* fixed label: "HL7-ADT", "HL7-MDM", "HL7-ORU", "HL7-QBP", "HL7-other" */
	const char *msg_type;    /* "ADT^A04" ("" when unparsable) */
	const char *control_id;  /* MSH-10 */
	const char *ack;         /* "AA", "AE", "AR", "CA"..., "dup" (retransmission), "none" */
	int         err_code;    /* table 0357, 0 when accepted */
	const char *detail;      /* reason, or what was changed ("rid=3 eid=2 new") */
	const char *patient;     /* CX of the patient when one was resolved, else "" */
	const char *sender;      /* source system (hl7_source: MSH-4, else MSH-3); "" when unparsable */
	const char *unmatched;   /* ADT event ("A08") whose patient the MPI did not hold, else "" */
	const char *app_outcome; /* "AA"/"AE": the processing outcome, when it goes into an
	                          * application ack (ack is then CA); "" otherwise */
	int64_t     ms;
};

struct hl7_feed_cfg {
	MDB_env          *env;
	mpi              *mpi;
	reg              *reg;           /* NULL: MDM/ORU are refused (AR 200) */
	const char       *local_oid;     /* OID arc for namespace-only authorities (node community) */
	const char       *repository_id; /* repositoryUniqueId of stored documents */
	struct hl7_limits lim;           /* zero: hl7_default_limits */
	size_t            max_group;     /* messages per commit; 0: 4096 */
	hl7_appack       *appack;        /* NULL: enhanced-mode messages get no application ack */
	void (*report)(void *arg, const struct hl7_feed_event *ev); /* may be NULL */
	void             *report_arg;
};

typedef struct hl7_feed hl7_feed;

/* Opens the hl7.seen database and starts the writer thread.  The strings
 * in cfg are copied.  *out is the caller's (hl7_feed_close). */
hie_err hl7_feed_open(const struct hl7_feed_cfg *cfg, hl7_feed **out);
/* Stops the writer after the groups already queued; call after the
 * listener is closed.  NULL is ignored. */
void    hl7_feed_close(hl7_feed *f);

/* The MLLP batch handler (mllp_opts.batch, arg the feed): answers every
 * frame of the group, in order; ADT frames of the group share a commit. */
void    hl7_feed_batch(void *feed, struct mllp_frame *f, size_t n);
/* One message (mllp_handler, arg the feed). */
hie_err hl7_feed_handle(void *feed, const char *msg, size_t len, hie_buf *reply);

#endif /* NODE_HL7_FEED_H */
