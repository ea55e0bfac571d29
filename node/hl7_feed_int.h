/* node/hl7_feed_int.h -- what the files of the HL7 v2 feed share
 * (hl7_feed.c, hl7_adt.c, hl7_doc.c, hl7_query.c).  Not an API. */
#ifndef NODE_HL7_FEED_INT_H
#define NODE_HL7_FEED_INT_H

#include <pthread.h>

#include "node/hl7_feed.h"
#include "node/hl7_pid.h"
#include "node/hl7_seen.h"

/* Table 0357 codes the feed uses beyond node/hl7.h's. */
#define HL7_E_UNKNOWN_KEY   204
#define HL7_E_DUPLICATE_KEY 205

struct hl7_job;

struct hl7_feed {
	struct hl7_feed_cfg cfg;
	char                local_oid[128];
	char                repository_id[128];
	hl7_seen           *seen;
	pthread_mutex_t     mu;
	pthread_cond_t      cv;   /* writer: work queued or stopping */
	pthread_cond_t      done; /* callers: a group committed */
	struct hl7_job     *q_head, *q_tail;
	uint64_t            committed; /* groups finished (generation) */
	int                 stopping;
	pthread_t           writer;
};

/* One ADT message on its way through the writer. */
struct hl7_job {
	hl7_msg         *m;
	hie_buf         *reply;
	enum hl7_outcome outcome;
	struct hl7_error err;
	char             detail[160];
	char             patient[300];
	int              dup;
	int              finished;
	char             unmatched[4]; /* see hl7_feed.h; set by hl7_adt_apply */
	struct hl7_appack_put_info app; /* application ack queued with the round */
	char             app_outcome[3]; /* AA/AE when the outcome goes in an application ack */
	struct hl7_job  *next;
};

/* hl7_adt.c: applies one ADT message inside txn.  Anything refused is
 * refused before the first write (or, for hl7_adt_needs_child, txn is a
 * nested transaction the caller aborts).
 * Message refusals are HIE_EHL7 with j->err; other errors are storage. */
hie_err hl7_adt_apply(hl7_feed *f, MDB_txn *txn, struct hl7_job *j);
/* Whether hl7_adt_apply may refuse j after it wrote (then it needs a
 * nested transaction of its own): merges of more than one pair. */
int     hl7_adt_needs_child(const struct hl7_job *j);
/* Whether an ADT event is one hl7_adt_apply knows. */
int     hl7_adt_known(const char *event);

/* hl7_doc.c: MDM/ORU to the registry, durable before it returns. */
hie_err hl7_doc_apply(hl7_feed *f, hl7_msg *m, struct hl7_error *err, char *detail, size_t dcap,
    char *patient, size_t pcap);
/* hl7_query.c: QBP Q22/Q23; appends the RSP to reply. */
hie_err hl7_query_answer(hl7_feed *f, hl7_msg *m, hie_buf *reply, char *detail, size_t dcap);

/* Resolves the patient of PID occurrence seq through the MPI: the first
 * PID-3 identifier the MPI holds (any source).  HIE_EHL7 (204) when none. */
hie_err hl7_feed_patient(hl7_feed *f, MDB_txn *txn, hl7_msg *m, int seq, struct mpi_cx *cx,
    uint64_t *rid, uint64_t *eid, struct hl7_error *err);

#endif /* NODE_HL7_FEED_INT_H */
