/*
 * node/hl7_adt.c -- ADT events to the MPI (see node/hl7_feed.h), inside
 * the writer's transaction.  Every handler checks everything before its
 * first write, so a refused message leaves nothing; the one exception, a
 * merge of several pairs, runs in a nested transaction (hl7_adt_needs_child).
 */
#include <stdio.h>
#include <string.h>

#include "node/hl7_feed_int.h"

static const char *const upsert_events[] = { "A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11",
	"A12", "A13", "A28", "A31" };

/* Events that presuppose the patient is registered (transfer, discharge,
 * update, cancellations): the record missing is a data-quality problem
 * at the sender, though the node creates it (hl7_feed.h: unmatched). */
static const char *const update_events[] = { "A02", "A03", "A06", "A07", "A08", "A11", "A12", "A13", "A31" };

static void
unmatched(struct hl7_job *j)
{
	struct hl7_header h;
	hl7_get_header(j->m, &h);
	memcpy(j->unmatched, h.event, sizeof(j->unmatched));
}

/* e is a refusal for an unknown patient (ERR 204). */
static hie_err
unknown(struct hl7_job *j, hie_err e)
{
	if (e == HIE_EHL7 && j->err.code == HL7_E_UNKNOWN_KEY)
		unmatched(j);
	return e;
}

static int
is_upsert(const char *ev)
{
	for (size_t i = 0; i < sizeof(upsert_events) / sizeof(upsert_events[0]); i++)
		if (strcmp(ev, upsert_events[i]) == 0)
			return 1;
	return 0;
}

int
hl7_adt_known(const char *ev)
{
	return is_upsert(ev) || strcmp(ev, "A40") == 0 || strcmp(ev, "A18") == 0 || strcmp(ev, "A37") == 0 ||
	       strcmp(ev, "A47") == 0;
}

int
hl7_adt_needs_child(const struct hl7_job *j)
{
	struct hl7_header h;
	size_t            n = 0;
	hl7_get_header(j->m, &h);
	if (strcmp(h.event, "A40") != 0 && strcmp(h.event, "A18") != 0)
		return 0;
	hl7_count_segments(j->m, "MRG", &n);
	return n > 1;
}

/* An MPI refusal as an HL7 error on the PID. */
static hie_err
mpi_refusal(struct hl7_job *j, hie_err e, int seq, const char *why)
{
	if (e == HIE_EINVAL)
		return hl7_error_set(&j->err, HL7_E_DATA_TYPE, "PID", seq, 0, "patient refused by the MPI: %s",
		    why[0] ? why : "invalid record");
	if (e == HIE_EAMBIGUOUS)
		return hl7_error_set(&j->err, HL7_E_DUPLICATE_KEY, "PID", seq, 3, "%s",
		    why[0] ? why : "identifiers belong to two patients");
	if (e == HIE_ENOTFOUND || e == HIE_EUNKNOWNPATIENT)
		return hl7_error_set(&j->err, HL7_E_UNKNOWN_KEY, "PID", seq, 3, "patient not known to the MPI");
	return e; /* storage */
}

/* The sender's record for this patient: by source and each identifier. */
static hie_err
find_own(hl7_feed *f, MDB_txn *txn, const struct mpi_patient *p, uint64_t *rid, uint64_t *eid)
{
	hie_err e = HIE_ENOTFOUND;
	for (size_t i = 0; i < p->n_ids && e == HIE_ENOTFOUND; i++)
		if (strcmp(p->ids[i].type, "SS") != 0)
			e = mpi_find_txn(f->cfg.mpi, txn, p->source, &p->ids[i].cx, rid, eid);
	return e;
}

static hie_err
upsert(hl7_feed *f, MDB_txn *txn, struct hl7_job *j, const char *source)
{
	struct mpi_patient p;
	struct mpi_result  res;
	uint64_t           rid, eid;
	hie_err            e;

	if ((e = hl7_pid_to_patient(j->m, 1, source, f->local_oid, &p, &j->err)) != HIE_OK)
		return e;
	memset(&res, 0, sizeof(res));
	e = find_own(f, txn, &p, &rid, &eid);
	if (e == HIE_OK) {
		p.rid = rid;
		if ((e = mpi_update_txn(f->cfg.mpi, txn, &p, &res)) != HIE_OK)
			return mpi_refusal(j, e, 1, res.why);
		snprintf(j->detail, sizeof(j->detail), "updated rid=%llu eid=%llu", (unsigned long long) res.rid,
		    (unsigned long long) res.eid);
	} else if (e == HIE_ENOTFOUND) {
		struct hl7_header h;
		if ((e = mpi_add_txn(f->cfg.mpi, txn, &p, 0, &res)) != HIE_OK)
			return mpi_refusal(j, e, 1, res.why);
		hl7_get_header(j->m, &h);
		for (size_t i = 0; i < sizeof(update_events) / sizeof(update_events[0]); i++)
			if (strcmp(h.event, update_events[i]) == 0)
				unmatched(j);
		snprintf(j->detail, sizeof(j->detail), "added rid=%llu eid=%llu %s", (unsigned long long) res.rid,
		    (unsigned long long) res.eid, mpi_outcome_name(res.outcome));
	} else
		return e;
	if (p.n_ids > 0)
		mpi_cx_format(&p.ids[0].cx, j->patient, sizeof(j->patient));
	return HIE_OK;
}

/* MRG-1 of occurrence seq as a CX. */
static hie_err
mrg_cx(hl7_feed *f, struct hl7_job *j, int seq, struct mpi_ident *id)
{
	char facility[128];
	if (hl7_get(j->m, "MSH", 1, 4, 1, 1, 1, facility, sizeof(facility)) != HIE_OK)
		facility[0] = '\0';
	if (hl7_cx(j->m, "MRG", seq, 1, 1, f->local_oid, facility, id) != HIE_OK)
		return hl7_error_set(&j->err, HL7_E_REQUIRED_MISSING, "MRG", seq, 1, "MRG-1 (prior patient id) missing");
	return HIE_OK;
}

static hie_err
merge(hl7_feed *f, MDB_txn *txn, struct hl7_job *j)
{
	size_t npid = 0, nmrg = 0;
	hie_err e;

	hl7_count_segments(j->m, "PID", &npid);
	hl7_count_segments(j->m, "MRG", &nmrg);
	if (nmrg == 0)
		return hl7_error_set(&j->err, HL7_E_SEGMENT_SEQUENCE, "MRG", 1, 0, "merge without an MRG segment");
	for (size_t k = 1; k <= npid && k <= nmrg; k++) {
		struct mpi_cx    cx;
		struct mpi_ident prior;
		uint64_t         rid, into, from;
		if ((e = hl7_feed_patient(f, txn, j->m, (int) k, &cx, &rid, &into, &j->err)) != HIE_OK)
			return unknown(j, e);
		if ((e = mrg_cx(f, j, (int) k, &prior)) != HIE_OK)
			return e;
		e = mpi_find_txn(f->cfg.mpi, txn, NULL, &prior.cx, &rid, &from);
		if (e == HIE_ENOTFOUND)
			return unknown(j, hl7_error_set(&j->err, HL7_E_UNKNOWN_KEY, "MRG", (int) k, 1,
			    "prior patient not known to the MPI"));
		if (e != HIE_OK)
			return e;
		if (from != into && (e = mpi_merge_txn(f->cfg.mpi, txn, from, into)) != HIE_OK)
			return e == HIE_EINVAL || e == HIE_EUNKNOWNPATIENT
			           ? hl7_error_set(&j->err, HL7_E_UNKNOWN_KEY, "MRG", (int) k, 1, "cannot merge: %s",
			                 hie_strerror(e))
			           : e;
		snprintf(j->detail, sizeof(j->detail), "merged eid=%llu into eid=%llu", (unsigned long long) from,
		    (unsigned long long) into);
		if (k == 1)
			mpi_cx_format(&cx, j->patient, sizeof(j->patient));
	}
	return HIE_OK;
}

static hie_err
unlink_pair(hl7_feed *f, MDB_txn *txn, struct hl7_job *j, const char *source)
{
	struct mpi_patient p;
	struct mpi_cx      cx;
	uint64_t           rid1, eid1, rid2, eid2, fresh;
	hie_err            e;

	if ((e = hl7_feed_patient(f, txn, j->m, 1, &cx, &rid1, &eid1, &j->err)) != HIE_OK)
		return unknown(j, e);
	if ((e = hl7_pid_to_patient(j->m, 2, source, f->local_oid, &p, &j->err)) != HIE_OK)
		return e;
	if ((e = find_own(f, txn, &p, &rid2, &eid2)) == HIE_ENOTFOUND)
		return unknown(j, hl7_error_set(&j->err, HL7_E_UNKNOWN_KEY, "PID", 2, 3,
		    "second patient not known to the MPI"));
	if (e != HIE_OK)
		return e;
	mpi_cx_format(&cx, j->patient, sizeof(j->patient));
	if (eid1 != eid2) {
		snprintf(j->detail, sizeof(j->detail), "already apart");
		return HIE_OK;
	}
	if ((e = mpi_unlink_txn(f->cfg.mpi, txn, rid2, &fresh)) != HIE_OK)
		return e;
	snprintf(j->detail, sizeof(j->detail), "unlinked rid=%llu to eid=%llu", (unsigned long long) rid2,
	    (unsigned long long) fresh);
	return HIE_OK;
}

static hie_err
change_id(hl7_feed *f, MDB_txn *txn, struct hl7_job *j, const char *source)
{
	struct mpi_patient p, incoming;
	struct mpi_ident   prior;
	struct mpi_result  res;
	uint64_t           rid, eid;
	size_t             at = 0;
	hie_err            e;

	if ((e = mrg_cx(f, j, 1, &prior)) != HIE_OK ||
	    (e = hl7_pid_to_patient(j->m, 1, source, f->local_oid, &incoming, &j->err)) != HIE_OK)
		return e;
	if (incoming.n_ids == 0)
		return hl7_error_set(&j->err, HL7_E_REQUIRED_MISSING, "PID", 1, 3, "no new identifier in PID-3");
	e = mpi_find_txn(f->cfg.mpi, txn, source, &prior.cx, &rid, &eid);
	if (e == HIE_ENOTFOUND)
		return unknown(j, hl7_error_set(&j->err, HL7_E_UNKNOWN_KEY, "MRG", 1, 1, "identifier to change not known"));
	if (e != HIE_OK || (e = mpi_get_txn(f->cfg.mpi, txn, rid, &p)) != HIE_OK)
		return e;
	/* The new identifier of the same authority, else PID-3's first. */
	for (size_t i = 0; i < incoming.n_ids; i++)
		if (strcmp(incoming.ids[i].cx.authority, prior.cx.authority) == 0) {
			at = i;
			break;
		}
	for (size_t i = 0; i < p.n_ids; i++)
		if (strcmp(p.ids[i].cx.authority, prior.cx.authority) == 0 && strcmp(p.ids[i].cx.id, prior.cx.id) == 0) {
			/* Drop the old one; the new one takes its place below. */
			memmove(&p.ids[i], &p.ids[i + 1], (p.n_ids - i - 1) * sizeof(p.ids[0]));
			p.n_ids--;
			break;
		}
	for (size_t i = 0; i < p.n_ids; i++)
		if (strcmp(p.ids[i].cx.authority, incoming.ids[at].cx.authority) == 0) {
			memmove(&p.ids[i], &p.ids[i + 1], (p.n_ids - i - 1) * sizeof(p.ids[0]));
			p.n_ids--;
			break;
		}
	if (p.n_ids >= MPI_MAX_IDS)
		p.n_ids = MPI_MAX_IDS - 1;
	p.ids[p.n_ids++] = incoming.ids[at];
	p.updated = 0;
	if ((e = mpi_update_txn(f->cfg.mpi, txn, &p, &res)) != HIE_OK)
		return mpi_refusal(j, e, 1, res.why);
	mpi_cx_format(&incoming.ids[at].cx, j->patient, sizeof(j->patient));
	snprintf(j->detail, sizeof(j->detail), "identifier changed on rid=%llu", (unsigned long long) rid);
	return HIE_OK;
}

hie_err
hl7_adt_apply(hl7_feed *f, MDB_txn *txn, struct hl7_job *j)
{
	struct hl7_header h;
	char              source[64];

	hl7_get_header(j->m, &h);
	hl7_source(j->m, source, sizeof(source));
	if (is_upsert(h.event))
		return upsert(f, txn, j, source);
	if (strcmp(h.event, "A40") == 0 || strcmp(h.event, "A18") == 0)
		return merge(f, txn, j);
	if (strcmp(h.event, "A37") == 0)
		return unlink_pair(f, txn, j, source);
	if (strcmp(h.event, "A47") == 0)
		return change_id(f, txn, j, source);
	return hl7_error_set(&j->err, HL7_E_UNSUPPORTED_EVENT, "MSH", 1, 9, "event ADT^%s is not supported", h.event);
}
