/*
 * node/hl7_feed.c -- the HL7 v2 dispatcher and the group-commit writer
 * (see node/hl7_feed.h).
 *
 * A group of frames from one connection is handled in order.  Consecutive
 * ADT messages are queued to the writer together; a message of another
 * kind first waits for the ADTs before it (an MDM may name the patient an
 * A04 just before it created), then is handled on the caller's thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/hl7_feed_int.h"
#include "node/store.h"

static const char *
kind_of(const struct hl7_header *h)
{
	if (strcmp(h->type, "ADT") == 0)
		return "HL7-ADT";
	if (strcmp(h->type, "MDM") == 0)
		return "HL7-MDM";
	if (strcmp(h->type, "ORU") == 0)
		return "HL7-ORU";
	if (strcmp(h->type, "QBP") == 0)
		return "HL7-QBP";
	return "HL7-other";
}

static const char *
ack_code(const hie_buf *reply, char out[4])
{
	char ctl[8];
	int  ec;
	if (reply->len == 0)
		return "none";
	if (hl7_ack_parse(reply->data, reply->len, out, ctl, sizeof(ctl), &ec) != HIE_OK &&
	    (out[0] == '\0' || out[0] == '?'))
		hie_strlcpy(out, "?", 4);
	return out;
}

static void
report(hl7_feed *f, const char *rid, const hl7_msg *m, const struct hl7_header *h, const hie_buf *reply, int dup,
    const struct hl7_error *err, const char *detail, const char *patient, const char *unmatched,
    const char *app_outcome, int64_t t0)
{
	struct hl7_feed_event ev;
	char                  type[16], code[4] = "", sender[64] = "";

	if (f->cfg.report == NULL)
		return;
	snprintf(type, sizeof(type), "%s%s%s", h != NULL ? h->type : "", h != NULL && h->event[0] ? "^" : "",
	    h != NULL ? h->event : "");
	memset(&ev, 0, sizeof(ev));
	ev.rid        = rid;
	ev.kind       = h != NULL ? kind_of(h) : "HL7-other";
	ev.msg_type   = type;
	ev.control_id = h != NULL ? h->control_id : "";
	ev.ack        = dup ? "dup" : ack_code(reply, code);
	ev.err_code   = err != NULL ? err->code : 0;
	ev.detail     = detail != NULL && detail[0] != '\0' ? detail : (err != NULL ? err->text : "");
	ev.patient    = patient != NULL ? patient : "";
	ev.unmatched  = unmatched != NULL ? unmatched : "";
	ev.app_outcome = app_outcome != NULL ? app_outcome : "";
	ev.ms         = hie_now_ms() - t0;
	if (m != NULL)
		hl7_source(m, sender, sizeof(sender));
	ev.sender = sender;
	f->cfg.report(f->cfg.report_arg, &ev);
}

hie_err
hl7_feed_patient(hl7_feed *f, MDB_txn *txn, hl7_msg *m, int seq, struct mpi_cx *cx, uint64_t *rid,
    uint64_t *eid, struct hl7_error *err)
{
	char             facility[128];
	size_t           nrep = 0;
	struct mpi_ident id;
	MDB_txn         *own = NULL;
	hie_err          e = HIE_ENOTFOUND;
	int              rc;

	if (txn == NULL) {
		if ((rc = mdb_txn_begin(f->cfg.env, NULL, MDB_RDONLY, &own)) != 0)
			return hie_store_err(rc);
		txn = own;
	}
	if (hl7_get(m, "MSH", 1, 4, 1, 1, 1, facility, sizeof(facility)) != HIE_OK)
		facility[0] = '\0';
	hl7_field_reps(m, "PID", seq, 3, &nrep);
	for (size_t r = 1; r <= nrep && r <= 16 && e == HIE_ENOTFOUND; r++) {
		if (hl7_cx(m, "PID", seq, 3, (int) r, f->local_oid, facility, &id) != HIE_OK)
			continue;
		if ((e = mpi_find_txn(f->cfg.mpi, txn, NULL, &id.cx, rid, eid)) == HIE_OK)
			*cx = id.cx;
	}
	if (own != NULL)
		mdb_txn_abort(own);
	if (e == HIE_ENOTFOUND)
		return hl7_error_set(err, HL7_E_UNKNOWN_KEY, "PID", seq, 3, "patient not known to the MPI");
	return e;
}

/* The answer on the connection to m after outcome, remembered (hl7.seen)
 * and, when MSH-16 asks for one, its application acknowledgement queued,
 * both in txn.  txn NULL: nothing was committed (storage failure), the
 * answer only.  An error means txn must not be committed. */
static hie_err
answer(hl7_feed *f, MDB_txn *txn, const hl7_msg *m, enum hl7_outcome outcome, const struct hl7_error *err,
    hie_buf *reply, struct hl7_appack_put_info *app, char app_outcome[3])
{
	int     app_mode = txn != NULL && f->cfg.appack != NULL && hl7_app_ack_mode(m);
	hie_err e;

	memset(app, 0, sizeof(*app));
	app_outcome[0] = '\0';
	if (app_mode && outcome != HL7_REJECT)
		memcpy(app_outcome, outcome == HL7_ACCEPT ? "AA" : "AE", 3);
	reply->len = 0;
	if (app_mode && outcome == HL7_ERROR)
		/* Committed and processed: the error is the application ack's. */
		hl7_ack(m, HL7_ACCEPT, NULL, reply);
	else
		hl7_ack(m, outcome, outcome == HL7_ACCEPT ? NULL : err, reply);
	if (txn == NULL)
		return HIE_OK;
	if ((e = hl7_seen_put(f->seen, txn, m, reply->len > 0 ? reply->data : "", reply->len)) != HIE_OK)
		return e;
	if (app_mode && outcome != HL7_REJECT) {
		hie_buf a;
		hie_buf_init(&a, 1 << 16);
		if ((e = hl7_app_ack(m, outcome, err, &a)) == HIE_OK && a.len > 0)
			e = hl7_appack_put(f->cfg.appack, txn, m, a.data, a.len, app);
		hie_buf_free(&a);
	}
	return e;
}

static void
committed(hl7_feed *f, const hl7_msg *m, const struct hl7_appack_put_info *app)
{
	struct hl7_header h;
	if (!app->queued)
		return;
	hl7_get_header(m, &h);
	hl7_appack_committed(f->cfg.appack, app, h.control_id);
}

/* ---- the writer ---- */

static hie_err
finish_job(hl7_feed *f, struct hl7_job *j, MDB_txn *txn)
{
	return answer(f, txn, j->m, j->outcome, &j->err, j->reply, &j->app, j->app_outcome);
}

/* Applies the jobs in one transaction; on any storage failure every job
 * of the round gets AR 207 (nothing of it was committed). */
static void
apply_round(hl7_feed *f, struct hl7_job *jobs)
{
	MDB_txn *txn = NULL, *child;
	hie_err  e = HIE_OK;
	int      rc;

	if ((rc = mdb_txn_begin(f->cfg.env, NULL, 0, &txn)) != 0) {
		e = hie_store_err(rc);
		txn = NULL;
	}
	for (struct hl7_job *j = jobs; j != NULL && e == HIE_OK; j = j->next) {
		j->reply->len = 0;
		if (hl7_seen_lookup(f->seen, txn, j->m, j->reply) == HIE_OK) {
			j->dup = 1;
			continue;
		}
		j->reply->len = 0;
		j->unmatched[0] = '\0';
		/* A nested transaction only where a refusal can come after a
		 * write: a merge of several PID/MRG pairs.  Every other event
		 * refuses before its first write (the MPI operations decide
		 * everything first, see mpi/ops.c), and the nested transaction's
		 * page copies are a large share of the cost per message. */
		child = NULL;
		if (hl7_adt_needs_child(j) && (rc = mdb_txn_begin(f->cfg.env, txn, 0, &child)) != 0) {
			e = hie_store_err(rc);
			break;
		}
		j->outcome = HL7_ACCEPT;
		e = hl7_adt_apply(f, child != NULL ? child : txn, j);
		if (e == HIE_OK) {
			if (child != NULL && (rc = mdb_txn_commit(child)) != 0)
				e = hie_store_err(rc);
		} else {
			if (child != NULL)
				mdb_txn_abort(child);
			if (e == HIE_EHL7) {
				j->outcome = j->err.code >= 200 && j->err.code <= 203 ? HL7_REJECT : HL7_ERROR;
				e = HIE_OK;
			}
		}
		if (e == HIE_OK)
			/* Not remembered or not queued: the group cannot be
			 * acknowledged as durable. */
			e = finish_job(f, j, txn);
	}
	if (e == HIE_OK && (rc = mdb_txn_commit(txn)) != 0)
		e = hie_store_err(rc);
	else if (e != HIE_OK && txn != NULL)
		mdb_txn_abort(txn);
	if (e == HIE_OK) {
		for (struct hl7_job *j = jobs; j != NULL; j = j->next)
			committed(f, j->m, &j->app);
		return;
	}
	hie_log(HIE_LOG_ERR, "hl7", "HIE-HL7-STORE", NULL, "group commit failed: %s; refusing the group",
	    hie_strerror(e));
	for (struct hl7_job *j = jobs; j != NULL; j = j->next) {
		j->dup     = 0;
		j->outcome = HL7_REJECT;
		j->unmatched[0] = '\0';
		j->app_outcome[0] = '\0';
		hl7_error_set(&j->err, HL7_E_INTERNAL, "", 0, 0, "storage failure: %s", hie_strerror(e));
		hie_strlcpy(j->detail, j->err.text, sizeof(j->detail));
		finish_job(f, j, NULL);
	}
}

/* Acknowledgements are remembered for retransmissions, which come within
 * minutes (a sender that lost our ACK); a week is ample, and the database
 * must not grow with every message ever received.  Pruned by the writer,
 * between groups, at most once a day (one scan of hl7.seen). */
#define SEEN_KEEP_S  (7 * 86400)
#define SEEN_PRUNE_S 86400

static void
maybe_prune(hl7_feed *f, int64_t *last)
{
	size_t  removed = 0;
	int64_t now = hie_now_ms() / 1000;
	hie_err e;

	if (now - *last < SEEN_PRUNE_S)
		return;
	*last = now;
	if ((e = hl7_seen_prune(f->seen, SEEN_KEEP_S, &removed)) != HIE_OK)
		hie_log(HIE_LOG_WARN, "hl7", "HIE-HL7-PRUNE", NULL, "pruning hl7.seen: %s", hie_strerror(e));
	else if (removed > 0)
		hie_log(HIE_LOG_INFO, "hl7", "HIE-HL7-PRUNE", NULL, "%zu acknowledgements older than %d days forgotten",
		    removed, SEEN_KEEP_S / 86400);
}

static void *
writer(void *arg)
{
	hl7_feed *f = arg;
	int64_t   pruned = 0;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct hl7_job *jobs, *last;
		size_t          n = 0;
		while (f->q_head == NULL && !f->stopping) {
			pthread_mutex_unlock(&f->mu);
			maybe_prune(f, &pruned);
			pthread_mutex_lock(&f->mu);
			if (f->q_head != NULL || f->stopping)
				break;
			pthread_cond_wait(&f->cv, &f->mu);
		}
		if (f->q_head == NULL)
			break;
		/* Everything waiting, up to max_group, is one transaction. */
		jobs = last = f->q_head;
		for (n = 1; last->next != NULL && n < f->cfg.max_group; n++)
			last = last->next;
		f->q_head  = last->next;
		last->next = NULL;
		if (f->q_head == NULL)
			f->q_tail = NULL;
		pthread_mutex_unlock(&f->mu);
		apply_round(f, jobs);
		pthread_mutex_lock(&f->mu);
		for (struct hl7_job *j = jobs; j != NULL; j = j->next)
			j->finished = 1;
		f->committed++;
		pthread_cond_broadcast(&f->done);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* Queues jobs[0..n) (linked by the caller in order) and waits for them. */
static void
run_jobs(hl7_feed *f, struct hl7_job *jobs, size_t n)
{
	if (n == 0)
		return;
	for (size_t i = 0; i + 1 < n; i++)
		jobs[i].next = &jobs[i + 1];
	jobs[n - 1].next = NULL;
	pthread_mutex_lock(&f->mu);
	if (f->q_tail != NULL)
		f->q_tail->next = &jobs[0];
	else
		f->q_head = &jobs[0];
	f->q_tail = &jobs[n - 1];
	pthread_cond_signal(&f->cv);
	while (!jobs[n - 1].finished)
		pthread_cond_wait(&f->done, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

/* ---- dispatch ---- */

struct slot {
	hl7_msg          *m;
	struct hl7_header h;
	char              rid[33];
	int64_t           t0;
	int               adt; /* index into the job array + 1 */
};

/* A message that is not ADT: handled here, after the ADTs before it. */
static void
handle_other(hl7_feed *f, struct slot *s, hie_buf *reply)
{
	struct hl7_error err;
	char             detail[160] = "", patient[300] = "";
	hie_err          e;
	int              is_doc = (strcmp(s->h.type, "MDM") == 0 &&
	                           (strcmp(s->h.event, "T02") == 0 || strcmp(s->h.event, "T10") == 0)) ||
	                 (strcmp(s->h.type, "ORU") == 0 && strcmp(s->h.event, "R01") == 0);

	memset(&err, 0, sizeof(err));
	if (strcmp(s->h.type, "QBP") == 0 && (strcmp(s->h.event, "Q22") == 0 || strcmp(s->h.event, "Q23") == 0)) {
		e = hl7_query_answer(f, s->m, reply, detail, sizeof(detail));
		if (e == HIE_EHL7) {
			hl7_error_set(&err, HL7_E_INTERNAL, "QPD", 1, 0, "%s", detail);
			reply->len = 0;
			hl7_ack(s->m, HL7_ERROR, &err, reply);
		}
		report(f, s->rid, s->m, &s->h, reply, 0, e == HIE_OK ? NULL : &err, detail, "", NULL, NULL, s->t0);
		return;
	}
	if (is_doc && f->cfg.reg != NULL) {
		struct hl7_appack_put_info app;
		char                       app_outcome[3] = "";
		if (hl7_seen_lookup(f->seen, NULL, s->m, reply) == HIE_OK) {
			report(f, s->rid, s->m, &s->h, reply, 1, NULL, "retransmission", "", NULL, NULL, s->t0);
			return;
		}
		reply->len = 0;
		e = hl7_doc_apply(f, s->m, &err, detail, sizeof(detail), patient, sizeof(patient));
		if (e == HIE_OK || e == HIE_EHL7) {
			/* The answer remembered, and the application ack queued,
			 * in one transaction after the document's (hl7_doc.c). */
			enum hl7_outcome o = e == HIE_OK                             ? HL7_ACCEPT
			                     : err.code >= 200 && err.code <= 203 ? HL7_REJECT
			                                                             : HL7_ERROR;
			MDB_txn *txn;
			int      rc = mdb_txn_begin(f->cfg.env, NULL, 0, &txn);
			hie_err  e2 = rc != 0 ? hie_store_err(rc) : answer(f, txn, s->m, o, &err, reply, &app, app_outcome);
			if (rc == 0 && e2 != HIE_OK)
				mdb_txn_abort(txn);
			else if (rc == 0 && (rc = mdb_txn_commit(txn)) != 0)
				e2 = hie_store_err(rc);
			if (e2 == HIE_OK)
				committed(f, s->m, &app);
			else
				e = e2;
		}
		if (e != HIE_OK && e != HIE_EHL7) {
			/* Storage: AR and not remembered, so a retransmission
			 * retries (and finds the document: reg_put's EEXIST). */
			hl7_error_set(&err, HL7_E_INTERNAL, "", 0, 0, "storage failure: %s", hie_strerror(e));
			reply->len = 0;
			hl7_ack(s->m, HL7_REJECT, &err, reply);
			app_outcome[0] = '\0';
		}
		report(f, s->rid, s->m, &s->h, reply, 0, e == HIE_OK ? NULL : &err, detail, patient, NULL, app_outcome,
		    s->t0);
		return;
	}
	if (strcmp(s->h.type, "ACK") == 0) {
		report(f, s->rid, s->m, &s->h, reply, 0, NULL, "acknowledgement received", "", NULL, NULL, s->t0);
		return; /* acknowledgements are never acknowledged */
	}
	if (strcmp(s->h.type, "ADT") == 0 || is_doc || strcmp(s->h.type, "QBP") == 0 ||
	    (strcmp(s->h.type, "MDM") == 0))
		hl7_error_set(&err, HL7_E_UNSUPPORTED_EVENT, "MSH", 1, 9, "event %s^%s is not supported here",
		    s->h.type, s->h.event);
	else
		hl7_error_set(&err, HL7_E_UNSUPPORTED_TYPE, "MSH", 1, 9, "message type %s is not supported here",
		    s->h.type);
	hl7_ack(s->m, HL7_REJECT, &err, reply);
	report(f, s->rid, s->m, &s->h, reply, 0, &err, NULL, "", NULL, NULL, s->t0);
}

void
hl7_feed_batch(void *arg, struct mllp_frame *fr, size_t n)
{
	hl7_feed       *f = arg;
	struct slot    *s = calloc(n, sizeof(*s));
	struct hl7_job *jobs = calloc(n, sizeof(*jobs));
	size_t          nj = 0, first = 0;

	if (s == NULL || jobs == NULL) {
		for (size_t i = 0; i < n; i++)
			fr[i].err = HIE_ENOMEM; /* the listener answers AR 207 */
		free(s);
		free(jobs);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct hl7_error err;
		hie_err          e;

		hie_request_id(s[i].rid);
		s[i].t0 = hie_now_ms();
		fr[i].err = HIE_OK;
		memset(&err, 0, sizeof(err));
		if ((e = hl7_parse(fr[i].msg, fr[i].len, &f->cfg.lim, &s[i].m, &err)) != HIE_OK) {
			if (e == HIE_EHL7 && (e = hl7_nak(fr[i].msg, fr[i].len, &err, fr[i].reply)) != HIE_OK)
				fr[i].err = e; /* no MSH: the listener closes the connection */
			else if (e != HIE_OK)
				fr[i].err = e;
			report(f, s[i].rid, NULL, NULL, fr[i].reply, 0, &err, NULL, "", NULL, NULL, s[i].t0);
			continue;
		}
		hl7_get_header(s[i].m, &s[i].h);
		if (strcmp(s[i].h.type, "ADT") == 0 && hl7_adt_known(s[i].h.event)) {
			jobs[nj].m     = s[i].m;
			jobs[nj].reply = fr[i].reply;
			s[i].adt       = (int) ++nj;
			continue;
		}
		/* The ADTs before this message first. */
		run_jobs(f, jobs + first, nj - first);
		first = nj;
		handle_other(f, &s[i], fr[i].reply);
	}
	run_jobs(f, jobs + first, nj - first);
	for (size_t i = 0; i < n; i++) {
		if (s[i].adt) {
			struct hl7_job *j = &jobs[s[i].adt - 1];
			report(f, s[i].rid, s[i].m, &s[i].h, j->reply, j->dup, j->outcome == HL7_ACCEPT ? NULL : &j->err,
			    j->dup ? "retransmission" : j->detail, j->patient, j->dup ? NULL : j->unmatched,
			    j->dup ? NULL : j->app_outcome, s[i].t0);
		}
		hl7_free(s[i].m);
	}
	free(s);
	free(jobs);
}

hie_err
hl7_feed_handle(void *arg, const char *msg, size_t len, hie_buf *reply)
{
	struct mllp_frame fr = { .msg = msg, .len = len, .reply = reply, .err = HIE_OK };
	hl7_feed_batch(arg, &fr, 1);
	return fr.err;
}

hie_err
hl7_feed_open(const struct hl7_feed_cfg *cfg, hl7_feed **out)
{
	hl7_feed *f;
	hie_err   e;

	*out = NULL;
	if (cfg->env == NULL || cfg->mpi == NULL || cfg->local_oid == NULL)
		return HIE_EINVAL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return HIE_ENOMEM;
	f->cfg = *cfg;
	if (f->cfg.lim.max_bytes == 0)
		f->cfg.lim = hl7_default_limits;
	if (f->cfg.max_group == 0)
		f->cfg.max_group = 4096;
	hie_strlcpy(f->local_oid, cfg->local_oid, sizeof(f->local_oid));
	hie_strlcpy(f->repository_id, cfg->repository_id != NULL ? cfg->repository_id : cfg->local_oid,
	    sizeof(f->repository_id));
	f->cfg.local_oid = f->local_oid;
	f->cfg.repository_id = f->repository_id;
	if ((e = hl7_seen_open(cfg->env, &f->seen)) != HIE_OK) {
		free(f);
		return e;
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	pthread_cond_init(&f->done, NULL);
	if (pthread_create(&f->writer, NULL, writer, f) != 0) {
		hl7_seen_close(f->seen);
		free(f);
		return HIE_ENOMEM;
	}
	*out = f;
	return HIE_OK;
}

void
hl7_feed_close(hl7_feed *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->writer, NULL);
	hl7_seen_close(f->seen);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	pthread_cond_destroy(&f->done);
	free(f);
}
