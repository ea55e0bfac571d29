/*
 * tests/unit/test_fanout_stream.c -- issue 8's streamed results and single
 * query budget, between real parts: each peer is a responder with its own
 * LMDB (registry and MPI) behind an nng REP socket with mutual TLS, every
 * request and response signed and verified with certificates from the
 * project's own CA code.  A peer answers after a delay set per transaction
 * (ITI-55 discovery, ITI-38 query), the answer made on arrival.
 *
 * Streaming (discovery off): the peers answer ITI-38 after 450, 50, 250 ms
 * and one never answers; on_peer must see them in the order of their
 * delays, each with its own documents, the hung one last as a timeout,
 * all before done, and done's merged result must equal the plain query's.
 *
 * One budget (discovery on; peer deadline 1,500 ms, overall 2,000 ms):
 *   quick   discovery 50 ms, ITI-38 50 ms            -> ok
 *   late    discovery 2,500 ms (past the peer deadline) -> timeout
 *   eater   discovery 1,200 ms, ITI-38 1,200 ms: within the peer deadline
 *           each, but its ITI-38 has only the 800 ms left of the budget
 *           -> timeout (with a deadline per phase it was ok at 2.4 s)
 * and a peer's ITI-38 goes as soon as it matched: quick's documents are in
 * (and streamed) long before late times out in discovery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout_peers.h"

#define COORD "urn:oid:1.2.5.1"
#define A1    "A-1^^^&1.2.5.1.7&ISO"
#define NCTX  4

struct peer {
	struct fp_peer fp; /* first: peer_answer casts back */
	int            disc_ms, query_ms; /* -1: never answers */
	size_t         ndocs;
};

static struct peer peers[] = {
	{ .fp = { .name = "slow", .community = "urn:oid:1.2.5.2" }, .disc_ms = 0, .query_ms = 450, .ndocs = 1 },
	{ .fp = { .name = "fast", .community = "urn:oid:1.2.5.3" }, .disc_ms = 0, .query_ms = 50, .ndocs = 2 },
	{ .fp = { .name = "middle", .community = "urn:oid:1.2.5.4" }, .disc_ms = 0, .query_ms = 250, .ndocs = 3 },
	{ .fp = { .name = "hung", .community = "urn:oid:1.2.5.5" }, .disc_ms = 0, .query_ms = -1, .ndocs = 1 },
	{ .fp = { .name = "quick", .community = "urn:oid:1.2.5.6" }, .disc_ms = 50, .query_ms = 50, .ndocs = 1 },
	{ .fp = { .name = "late", .community = "urn:oid:1.2.5.7" }, .disc_ms = 2500, .query_ms = 0, .ndocs = 1 },
	{ .fp = { .name = "eater", .community = "urn:oid:1.2.5.8" }, .disc_ms = 1200, .query_ms = 1200, .ndocs = 1 },
};
#define NPEERS (sizeof(peers) / sizeof(peers[0]))

static struct fp_world W;

/* The answer is made on arrival and sent after the peer's delay for its
 * transaction (counted from the arrival); a negative delay: never, the
 * context stays busy. */
static enum fp_action
peer_answer(struct fp_peer *fp, nng_msg *req, nng_msg *out, int *delay_ms)
{
	struct peer       *p = (struct peer *) fp;
	struct xca_outcome o;

	fp_respond(fp, req, out, &o);
	*delay_ms = strcmp(o.transaction, "ITI-55") == 0 ? p->disc_ms : p->query_ms;
	return *delay_ms < 0 ? FP_HANG : FP_SEND;
}

/* Alice at every peer, under the peer's own id, with ndocs documents. */
static void
peer_start(struct peer *p, size_t idx)
{
	char               pid[128], oid[64];
	struct mpi_patient a;
	struct mpi_result  mr;

	fp_peer_cert(&p->fp, W.dir, "ca");
	fp_peer_store(&p->fp, W.dir);
	snprintf(oid, sizeof(oid), "%s", p->fp.community + 8);
	memset(&a, 0, sizeof(a));
	strcpy(a.source, "test");
	a.n_names = 1;
	strcpy(a.names[0].use, "L");
	strcpy(a.names[0].given, "Alice");
	strcpy(a.names[0].family, "Hoffmann");
	strcpy(a.birth_date, "19750314");
	a.sex = 'F';
	a.n_ids = 2;
	strcpy(a.ids[0].type, "MR");
	snprintf(a.ids[0].cx.id, sizeof(a.ids[0].cx.id), "%s-1", p->fp.name);
	strcpy(a.ids[0].cx.authority, oid);
	/* The coordinator's id too: discovery matches on it. */
	strcpy(a.ids[1].type, "PI");
	strcpy(a.ids[1].cx.id, "A-1");
	strcpy(a.ids[1].cx.authority, "1.2.5.1.7");
	assert_int_equal(mpi_add(p->fp.mpi, &a, 0, &mr), HIE_OK);
	snprintf(pid, sizeof(pid), "%s-1^^^&%s&ISO", p->fp.name, oid);
	for (size_t i = 0; i < p->ndocs; i++) {
		struct reg_entry e;
		memset(&e, 0, sizeof(e));
		snprintf(e.unique_id, sizeof(e.unique_id), "2.25.%zu.%zu", idx + 1, i + 1);
		/* Both queries ask with the coordinator's id (no discovery) or
		 * the peer's (discovery): register under both. */
		strcpy(e.patient_id, A1);
		strcpy(e.repository_id, "1.2.5.9.1");
		strcpy(e.type_code, "34133-9");
		strcpy(e.class_code, "34133-9");
		strcpy(e.format_code, "urn:hl7-org:sdwg:ccda-structuredBody:2.1");
		strcpy(e.confidentiality, "N");
		snprintf(e.creation_time, sizeof(e.creation_time), "202611%02zu", 10 + i);
		strcpy(e.mime_type, "text/xml");
		assert_int_equal(reg_put(p->fp.reg, &e, "<doc/>", 6), HIE_OK);
		e.entry_uuid[0] = '\0'; /* reg_put filled it in */
		snprintf(e.unique_id, sizeof(e.unique_id), "2.25.%zu.%zu.9", idx + 1, i + 1);
		strcpy(e.patient_id, pid);
		assert_int_equal(reg_put(p->fp.reg, &e, "<doc/>", 6), HIE_OK);
	}
	fp_peer_responder(&p->fp, p->fp.reg, p->fp.mpi, "1.2.5.9.1");
	p->fp.answer = peer_answer;
	fp_peer_listen(&p->fp, NCTX);
}

/* A fan-out to peers[first..first+n). */
static xca_fanout *
fanout(size_t first, size_t n, int peer_deadline, int overall)
{
	struct xca_fanout_cfg fc;
	struct fp_peer       *v[NPEERS];
	xca_fanout           *fo;

	for (size_t i = 0; i < n; i++)
		v[i] = &peers[first + i].fp;
	fp_fanout_cfg(&fc, &W.coord_tls, COORD, peer_deadline, overall);
	fo = fp_fanout_new(&fc, v, n);
	/* TLS handshakes are slow under ASan on a loaded machine. */
	fp_wait_connected(fo, n, 200, 100);
	return fo;
}

static int
setup(void **state)
{
	(void) state;
	fp_world_init(&W, COORD);
	for (size_t i = 0; i < NPEERS; i++)
		peer_start(&peers[i], i);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	for (size_t i = 0; i < NPEERS; i++)
		fp_peer_stop(&peers[i].fp);
	fp_world_fini(&W);
	return 0;
}

/* What the callbacks saw (under W.w.mtx). */
static struct seen {
	char            name[NODE_STR];
	enum xca_status status;
	size_t          ndocs, wanted;
	int64_t         at;
	int             after_done;
} seen[16];
static size_t nseen;

static void
on_peer(const struct xca_peer_result *p, const struct reg_entry *docs, size_t ndocs, void *arg)
{
	(void) arg;
	nng_mtx_lock(W.w.mtx);
	if (nseen < 16) {
		struct seen *s = &seen[nseen++];
		snprintf(s->name, sizeof(s->name), "%s", p->name);
		s->status = p->status;
		s->ndocs = ndocs;
		s->wanted = p->documents;
		s->at = hie_now_ms() - W.w.t0;
		s->after_done = W.w.done;
		/* The entries are the peer's own. */
		for (size_t i = 0; i < ndocs; i++)
			assert_string_equal(docs[i].home_community, p->community);
	}
	nng_mtx_unlock(W.w.mtx);
}

static struct xca_result *
run(xca_fanout *fo, const struct mpi_patient *who, const struct xca_query_opts *o)
{
	struct reg_query q;

	memset(&q, 0, sizeof(q));
	strcpy(q.patient_id, A1);
	q.approved_only = 1;
	q.max_results = 1000;
	nng_mtx_lock(W.w.mtx);
	nseen = 0;
	nng_mtx_unlock(W.w.mtx);
	fp_wait_arm(&W.w);
	assert_int_equal(xca_fanout_query_opts(fo, &q, who, &W.claims, "t-stream", o, fp_on_result, &W.w), HIE_OK);
	return fp_wait_done(&W.w, NULL);
}

static void
test_stream(void **state)
{
	static const char *const order[] = { "fast", "middle", "slow", "hung" };
	static const size_t      ndocs[] = { 2, 3, 1, 0 };
	xca_fanout              *fo = fanout(0, 4, 1500, 3000);
	struct xca_query_opts    o = { .on_peer = on_peer };
	struct xca_result       *plain, *streamed;

	(void) state;
	plain = run(fo, NULL, NULL);
	assert_int_equal(nseen, 0);
	streamed = run(fo, NULL, &o);
	print_message("streamed query in %lld ms; peers as they came:\n", (long long) streamed->ms);
	for (size_t i = 0; i < nseen; i++)
		print_message("  +%lld ms %s %s %zu documents\n", (long long) seen[i].at, seen[i].name,
		    xca_status_name(seen[i].status), seen[i].ndocs);
	/* Every peer once, in the order of their delays, all before done. */
	assert_int_equal(nseen, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(seen[i].name, order[i]);
		assert_int_equal(seen[i].ndocs, ndocs[i]);
		assert_int_equal(seen[i].after_done, 0);
		assert_int_equal(seen[i].status, i < 3 ? XCA_OK : XCA_TIMEOUT);
	}
	/* The final result is the plain query's. */
	assert_int_equal(streamed->npeers, plain->npeers);
	for (size_t i = 0; i < plain->npeers; i++) {
		assert_string_equal(streamed->peers[i].name, plain->peers[i].name);
		assert_int_equal(streamed->peers[i].status, plain->peers[i].status);
		assert_int_equal(streamed->peers[i].documents, plain->peers[i].documents);
	}
	assert_int_equal(streamed->docs.n, 6);
	assert_int_equal(streamed->docs.n, plain->docs.n);
	for (size_t i = 0; i < plain->docs.n; i++)
		assert_string_equal(streamed->docs.v[i].unique_id, plain->docs.v[i].unique_id);
	xca_result_free(plain);
	xca_result_free(streamed);
	xca_fanout_release(fo);
}

static void
test_budget(void **state)
{
	xca_fanout           *fo = fanout(4, 3, 1500, 2000);
	struct mpi_patient    who;
	struct xca_query_opts o = { .on_peer = on_peer };
	struct xca_result    *r;

	(void) state;
	memset(&who, 0, sizeof(who));
	who.n_names = 1;
	strcpy(who.names[0].given, "Alice");
	strcpy(who.names[0].family, "Hoffmann");
	strcpy(who.birth_date, "19750314");
	who.sex = 'F';
	who.n_ids = 1;
	strcpy(who.ids[0].type, "MR");
	strcpy(who.ids[0].cx.id, "A-1");
	strcpy(who.ids[0].cx.authority, "1.2.5.1.7");
	r = run(fo, &who, &o);
	print_message("discovery + ITI-38 with one 2,000 ms budget (peer deadline 1,500 ms): %lld ms\n",
	    (long long) r->ms);
	for (size_t i = 0; i < r->npeers; i++)
		print_message("  %s %s %lld ms docs=%zu %s\n", r->peers[i].name, xca_status_name(r->peers[i].status),
		    (long long) r->peers[i].ms, r->peers[i].documents, r->peers[i].error);
	for (size_t i = 0; i < nseen; i++)
		print_message("  streamed +%lld ms %s %s\n", (long long) seen[i].at, seen[i].name,
		    xca_status_name(seen[i].status));
	assert_int_equal(r->npeers, 3);
	assert_int_equal(fp_peer_result(r, "quick")->status, XCA_OK);
	assert_int_equal(fp_peer_result(r, "quick")->documents, 1);
	/* Not answering discovery by the peer deadline: timeout. */
	assert_int_equal(fp_peer_result(r, "late")->status, XCA_TIMEOUT);
	/* Discovery took 1,200 of the 2,000 ms: ITI-38 had the rest, not a
	 * fresh peer deadline. */
	assert_int_equal(fp_peer_result(r, "eater")->status, XCA_TIMEOUT);
	assert_int_equal(r->docs.n, 1);
	/* Streamed: every peer once, in the order they finished. */
	assert_int_equal(nseen, 3);
	assert_string_equal(seen[0].name, "quick");
	assert_int_equal(seen[0].ndocs, 1);
	assert_string_equal(seen[1].name, "late");
	assert_int_equal(seen[1].status, XCA_TIMEOUT);
	assert_string_equal(seen[2].name, "eater");
	xca_result_free(r);

	/* A smaller budget from the caller (hie-query --deadline) is kept:
	 * 1,000 ms ends discovery for eater too; quick is unharmed. */
	o.budget_ms = 1000;
	r = run(fo, &who, &o);
	print_message("with a 1,000 ms budget: %lld ms\n", (long long) r->ms);
	assert_int_equal(fp_peer_result(r, "quick")->status, XCA_OK);
	assert_int_equal(fp_peer_result(r, "eater")->status, XCA_TIMEOUT);
	assert_int_equal(fp_peer_result(r, "late")->status, XCA_TIMEOUT);
	xca_result_free(r);
	xca_fanout_release(fo);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_budget),
	};
	hie_log_set_level(HIE_LOG_ERR);
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
