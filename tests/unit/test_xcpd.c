/*
 * tests/unit/test_xcpd.c -- XCPD (ITI-55), PIX v3 (ITI-45) and PDQ v3
 * (ITI-47) between real parts: each peer is a responder with its own LMDB
 * (registry and MPI) behind an nng REP socket with mutual TLS, every
 * request and response signed and verified with certificates from the
 * project's own CA code; the coordinator discovers with the fan-out.
 *
 *   hospital-b  knows Alice under B-1 (and under the coordinator's A-77)
 *   hospital-c  knows Alice under C-9 only (a demographic match)
 *   hospital-d  has two near-identical patients (twins): ambiguous
 *   hospital-e  never heard of her
 *   hospital-h  hangs (never answers): timeout at the deadline, others unharmed
 *   hospital-x  knows her but answers as another community: error
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout_peers.h"
#include "mpi/v3.h"
#include "node/soap.h"

#define COORD     "urn:oid:1.2.3.1"
#define A77       "A-77^^^&1.2.3.1.7&ISO"
#define DEADLINE  3000

struct peer {
	struct fp_peer fp;    /* first: peer_answer casts back */
	int            hang;  /* never answers */
	const char    *claim; /* answers with this homeCommunityId */
};

static struct fp_world          W;
static MDB_env                 *coord_env;
static mpi                     *coord_mpi;
static struct peer              peers[] = {
	{ .fp = { .name = "hospital-b", .community = "urn:oid:1.2.3.2" } },
	{ .fp = { .name = "hospital-c", .community = "urn:oid:1.2.3.3" } },
	{ .fp = { .name = "hospital-d", .community = "urn:oid:1.2.3.4" } },
	{ .fp = { .name = "hospital-e", .community = "urn:oid:1.2.3.5" } },
	{ .fp = { .name = "hospital-h", .community = "urn:oid:1.2.3.6" }, .hang = 1 },
	{ .fp = { .name = "hospital-x", .community = "urn:oid:1.2.3.7" }, .claim = "urn:oid:6.6.6" },
};
#define NPEERS (sizeof(peers) / sizeof(peers[0]))

static enum fp_action
peer_answer(struct fp_peer *fp, nng_msg *req, nng_msg *out, int *delay_ms)
{
	struct xca_outcome o;

	(void) delay_ms;
	if (((struct peer *) fp)->hang)
		return FP_HANG; /* never answer, never ask again */
	fp_respond(fp, req, out, &o);
	return FP_SEND;
}

static struct mpi_patient
person(const char *given, const char *family, const char *dob, char sex, const char *id, const char *oid)
{
	struct mpi_patient p;

	memset(&p, 0, sizeof(p));
	strcpy(p.source, "test");
	p.n_names = 1;
	strcpy(p.names[0].use, "L");
	strcpy(p.names[0].given, given);
	strcpy(p.names[0].family, family);
	strcpy(p.birth_date, dob);
	p.sex = sex;
	p.n_addrs = 1;
	strcpy(p.addrs[0].use, "H");
	strcpy(p.addrs[0].number, "12");
	strcpy(p.addrs[0].street, "Elm Street");
	strcpy(p.addrs[0].city, "Springfield");
	strcpy(p.addrs[0].postcode, "62704");
	p.n_phones = 1;
	strcpy(p.phones[0].use, "PRN");
	strcpy(p.phones[0].number, "+1-217-555-0142");
	p.n_ids = 1;
	strcpy(p.ids[0].type, "MR");
	strcpy(p.ids[0].cx.id, id);
	strcpy(p.ids[0].cx.authority, oid);
	return p;
}

static void
add(mpi *m, struct mpi_patient p, unsigned flags)
{
	struct mpi_result r;
	assert_int_equal(mpi_add(m, &p, flags, &r), HIE_OK);
}

/* Documents of the demo set (first..first+count-1), registered for pid. */
static void
docs_for(reg *r, size_t first, size_t count, const char *pid)
{
	static const char *const demo[] = { "hospital-b-ccd.xml", "hospital-b-discharge.xml",
		"hospital-c-referral.xml", "hospital-c-careplan.xml" };
	for (size_t i = first; i < first + count; i++) {
		char             path[512], rel[128], why[256], *buf;
		size_t           len;
		struct reg_entry e;
		snprintf(rel, sizeof(rel), "conf/demo/%s", demo[i]);
		tu_src(path, sizeof(path), rel);
		buf = tu_slurp(path, &len);
		assert_int_equal(reg_ccda_extract(buf, len, NULL, "1.2.3.9.1", &e, why, sizeof(why)), HIE_OK);
		strcpy(e.patient_id, pid);
		assert_int_equal(reg_put(r, &e, buf, len), HIE_OK);
		free(buf);
	}
}

static void
peer_start(struct peer *p)
{
	fp_peer_cert(&p->fp, W.dir, "ca");
	fp_peer_store(&p->fp, W.dir);
	fp_peer_responder(&p->fp, p->fp.reg, p->fp.mpi, "1.2.3.9.1");
	if (p->claim != NULL)
		p->fp.resp.home = p->claim;
	p->fp.answer = peer_answer;
	fp_peer_listen(&p->fp, 1);
}

static xca_fanout *
fanout(void)
{
	struct xca_fanout_cfg fc;
	struct fp_peer       *v[NPEERS];
	xca_fanout           *fo;

	for (size_t i = 0; i < NPEERS; i++)
		v[i] = &peers[i].fp;
	fp_fanout_cfg(&fc, &W.coord_tls, COORD, DEADLINE, DEADLINE);
	fo = fp_fanout_new(&fc, v, NPEERS);
	/* Let the dialers connect (TLS handshakes are slow under ASan on a
	 * loaded machine): up to 20 s for every peer. */
	fp_wait_connected(fo, NPEERS, 200, 100);
	return fo;
}

static int
setup(void **state)
{
	char p[400];

	(void) state;
	fp_world_init(&W, COORD);
	snprintf(p, sizeof(p), "%s/coordinator/db", W.dir);
	assert_int_equal(hie_store_open(p, 64, &coord_env), HIE_OK);
	assert_int_equal(mpi_open(coord_env, &coord_mpi), HIE_OK);
	/* The coordinator's own patient. */
	add(coord_mpi, person("Alice", "Hoffmann", "19750314", 'F', "A-77", "1.2.3.1.7"), 0);
	for (size_t i = 0; i < NPEERS; i++)
		peer_start(&peers[i]);
	{
		/* b: Alice as B-1, linked to A-77 (a shared identifier). */
		struct mpi_patient a = person("Alice", "Hoffmann", "19750314", 'F', "B-1", "1.2.3.2");
		a.n_ids = 2;
		strcpy(a.ids[1].type, "PI");
		strcpy(a.ids[1].cx.id, "A-77");
		strcpy(a.ids[1].cx.authority, "1.2.3.1.7");
		add(peers[0].fp.mpi, a, 0);
		add(peers[0].fp.mpi, person("Robert", "Miller", "19600101", 'M', "B-2", "1.2.3.2"), 0);
		docs_for(peers[0].fp.reg, 0, 2, "B-1^^^&1.2.3.2&ISO");
	}
	add(peers[1].fp.mpi, person("Alice", "Hoffmann", "19750314", 'F', "C-9", "1.2.3.3"), 0);
	add(peers[1].fp.mpi, person("Carol", "Smith", "19820505", 'F', "C-10", "1.2.3.3"), 0);
	docs_for(peers[1].fp.reg, 2, 2, "C-9^^^&1.2.3.3&ISO");
	/* d: twins at the same address -- which one is she? */
	add(peers[2].fp.mpi, person("Alice", "Hoffmann", "19750314", 'F', "D-1", "1.2.3.4"), MPI_ADD_NOMATCH);
	add(peers[2].fp.mpi, person("Alicia", "Hoffmann", "19750314", 'F', "D-2", "1.2.3.4"), MPI_ADD_NOMATCH);
	add(peers[3].fp.mpi, person("Zoe", "Quinn", "19900909", 'F', "E-1", "1.2.3.5"), 0);
	add(peers[5].fp.mpi, person("Alice", "Hoffmann", "19750314", 'F', "X-1", "1.2.3.7"), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	for (size_t i = 0; i < NPEERS; i++)
		fp_peer_stop(&peers[i].fp);
	mpi_close(coord_mpi);
	hie_store_close(coord_env);
	fp_world_fini(&W);
	return 0;
}

/* ---- one signed request straight into a peer's responder ---- */

/* Sends the v3 message of file (tests/data/v3) or of msg to peer p under
 * action; returns the response's v3 element's document, *root set. */
static xmlDoc *
ask(struct peer *p, const char *action, xmlDoc *msg, const char *sender_home_override, xmlNode **root,
    struct xca_outcome *o)
{
	xmlDoc          *doc;
	xmlNode         *body, *v3;
	char            *bytes, *out, c_dir[400];
	size_t           len, olen;
	wss_signer      *signer;
	struct soap_msg  m;

	snprintf(c_dir, sizeof(c_dir), "%s/coordinator", W.dir);
	signer = tu_signer(c_dir);
	assert_int_equal(soap_envelope_new(action, p->fp.addr, NULL, &doc, &body, NULL), HIE_OK);
	v3 = xmlDocCopyNode(xmlDocGetRootElement(msg), doc, 1);
	xmlAddChild(body, v3);
	if (sender_home_override != NULL) {
		xmlNode *id = hie_xml_find(hie_xml_child(v3, V3_NS, "sender"), V3_NS, "representedOrganization");
		xmlSetProp(hie_xml_child(id, V3_NS, "id"), BAD_CAST "root", BAD_CAST sender_home_override);
	}
	assert_int_equal(wss_sign(signer, doc, &W.claims, p->fp.community, 300), HIE_OK);
	assert_int_equal(hie_xml_dump(doc, &bytes, &len), HIE_OK);
	xmlFreeDoc(doc);
	wss_signer_free(signer);
	assert_int_equal(xca_respond(&p->fp.resp, bytes, len, "t", &out, &olen, o), HIE_OK);
	free(bytes);
	assert_int_equal(soap_parse(out, olen, NULL, &m), HIE_OK);
	free(out);
	assert_false(m.is_fault);
	*root = m.body;
	return m.doc;
}

static xmlDoc *
own(const char *name)
{
	char    p[512], rel[256], *buf;
	size_t  len;
	xmlDoc *doc;

	snprintf(rel, sizeof(rel), "tests/data/v3/%s", name);
	tu_src(p, sizeof(p), rel);
	buf = tu_slurp(p, &len);
	assert_int_equal(v3_parse_buf(buf, len, NULL, &doc), HIE_OK);
	free(buf);
	return doc;
}

static void
check(xmlNode *root, int pix, const char *ack, const char *qrc, size_t n, const char *id0, struct v3_subject *subs)
{
	struct v3_result r = { .subjects = subs, .cap = 8 };

	assert_int_equal(v3_response_parse(root, pix, &r), HIE_OK);
	print_message("  -> %s/%s %zu patient(s)%s%s %s\n", r.ack, r.qrc, r.n, r.issue[0] ? " " : "", r.issue, r.detail);
	assert_string_equal(r.ack, ack);
	assert_string_equal(r.qrc, qrc);
	assert_int_equal(r.n, n);
	if (id0 != NULL) {
		char cx[300];
		mpi_cx_format(&subs[0].id, cx, sizeof(cx));
		assert_string_equal(cx, id0);
	}
}

static void
test_iti55_responder(void **state)
{
	struct v3_subject  subs[8];
	struct xca_outcome o;
	xmlDoc            *q = own("iti55_alice.xml"), *r;
	xmlNode           *root;

	(void) state;
	/* The request carries A-77: b knows it, a deterministic match. */
	print_message("b (shared id):");
	r = ask(&peers[0], V3_ACTION_ITI55, q, NULL, &root, &o);
	check(root, 0, "AA", "OK", 1, "B-1^^^&1.2.3.2&ISO", subs);
	assert_int_equal(subs[0].confidence, 100);
	assert_string_equal(o.transaction, "ITI-55");
	assert_string_equal(o.patient, "B-1^^^&1.2.3.2&ISO");
	xmlFreeDoc(r);
	print_message("c (demographics):");
	r = ask(&peers[1], V3_ACTION_ITI55, q, NULL, &root, &o);
	check(root, 0, "AA", "OK", 1, "C-9^^^&1.2.3.3&ISO", subs);
	print_message("     confidence %d\n", subs[0].confidence);
	assert_true(subs[0].confidence >= 90);
	assert_string_equal(subs[0].demo.names[0].family, "Hoffmann");
	xmlFreeDoc(r);
	print_message("d (twins):");
	r = ask(&peers[2], V3_ACTION_ITI55, q, NULL, &root, &o);
	{
		struct v3_result res = { .subjects = subs, .cap = 8 };
		check(root, 0, "AA", "NF", 0, NULL, subs);
		v3_response_parse(root, 0, &res);
		assert_string_equal(res.issue, "AnswerNotAvailable");
		/* Nothing about either twin in the answer. */
		assert_null(hie_xml_find(root, V3_NS, "patient"));
	}
	xmlFreeDoc(r);
	print_message("e (unknown):");
	r = ask(&peers[3], V3_ACTION_ITI55, q, NULL, &root, &o);
	check(root, 0, "AA", "NF", 0, NULL, subs);
	xmlFreeDoc(r);
	/* The sender's homeCommunityId must be the signer's community. */
	print_message("b (lying sender):");
	r = ask(&peers[0], V3_ACTION_ITI55, q, "1.2.3.666", &root, &o);
	check(root, 0, "AE", "AE", 0, NULL, subs);
	assert_string_equal(o.status, "error");
	xmlFreeDoc(r);
	xmlFreeDoc(q);
	/* Refusals: AE/QE with the parameter named, nothing searched. */
	{
		static const char *const bad[] = { "iti55_unsupported.xml", "iti55_bad_date.xml", "iti55_too_many.xml",
			"iti55_long_name.xml", "iti55_bad_id.xml" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			q = own(bad[i]);
			print_message("b %s:", bad[i]);
			r = ask(&peers[0], V3_ACTION_ITI55, q, NULL, &root, &o);
			check(root, 0, "AE", strstr(bad[i], "bad_id") ? "AE" : "QE", 0, NULL, subs);
			assert_non_null(hie_xml_find(root, V3_NS, "acknowledgementDetail"));
			assert_string_equal(o.status, "error");
			xmlFreeDoc(r);
			xmlFreeDoc(q);
		}
	}
}

static void
test_pix_pdq(void **state)
{
	struct v3_subject  subs[8];
	struct xca_outcome o;
	xmlDoc            *q, *r;
	xmlNode           *root, *body;

	(void) state;
	/* PIX: A-77 at b -> B-1 (the data source asked for b's domain). */
	q = own("iti45_query.xml");
	print_message("PIX A-77, dataSource 1.2.3.2.7:");
	r = ask(&peers[0], V3_ACTION_ITI45, q, NULL, &root, &o);
	check(root, 1, "AA", "NF", 0, NULL, subs); /* b has no id in 1.2.3.2.7 */
	xmlFreeDoc(r);
	xmlFreeDoc(q);
	q = xmlNewDoc(BAD_CAST "1.0");
	body = xmlNewNode(NULL, BAD_CAST "holder");
	xmlDocSetRootElement(q, body);
	{
		struct mpi_cx cx = { "A-77", "1.2.3.1.7" };
		assert_int_equal(v3_pix_query_build(body, &cx, "1.2.3.1", "1.2.3.1", "pix-1"), HIE_OK);
	}
	{
		xmlDoc *q2 = xmlNewDoc(BAD_CAST "1.0");
		xmlDocSetRootElement(q2, xmlDocCopyNode(body->children, q2, 1));
		print_message("PIX A-77:");
		r = ask(&peers[0], V3_ACTION_ITI45, q2, NULL, &root, &o);
		check(root, 1, "AA", "OK", 1, "B-1^^^&1.2.3.2&ISO", subs);
		assert_string_equal(o.transaction, "ITI-45");
		xmlFreeDoc(r);
		print_message("PIX A-77 at c (unknown there):");
		r = ask(&peers[1], V3_ACTION_ITI45, q2, NULL, &root, &o);
		check(root, 1, "AE", "AE", 0, NULL, subs);
		assert_non_null(strstr(o.detail, "204"));
		xmlFreeDoc(r);
		xmlFreeDoc(q2);
	}
	xmlFreeDoc(q);
	/* PDQ at d: both twins are candidates, each with its confidence. */
	q = own("iti55_alice.xml");
	print_message("PDQ Alice at d:");
	r = ask(&peers[2], V3_ACTION_ITI47, q, NULL, &root, &o);
	check(root, 0, "AA", "OK", 2, "D-1^^^&1.2.3.4&ISO", subs);
	print_message("     confidences %d, %d\n", subs[0].confidence, subs[1].confidence);
	assert_true(subs[0].confidence >= subs[1].confidence);
	assert_string_equal(o.transaction, "ITI-47");
	xmlFreeDoc(r);
	print_message("PDQ Alice at e:");
	r = ask(&peers[3], V3_ACTION_ITI47, q, NULL, &root, &o);
	check(root, 0, "AA", "NF", 0, NULL, subs);
	xmlFreeDoc(r);
	xmlFreeDoc(q);
}

/* ---- discovery through the fan-out ---- */
static const struct xca_discovered *
found(const struct xca_discovery *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].peer.name, name) == 0)
			return &d->v[i];
	fail_msg("no result for %s", name);
	return NULL;
}

static void
test_discover(void **state)
{
	struct mpi_patient who;
	xca_fanout           *fo = fanout();
	struct xca_discovery *disc;
	struct xca_result    *result;
	int64_t               ms;

	(void) state;
	assert_int_equal(xca_patient_demographics(coord_mpi, A77, &who), HIE_OK);
	assert_string_equal(who.names[0].family, "Hoffmann");
	assert_int_equal(xca_patient_demographics(coord_mpi, "NOPE^^^&1.2.3.1.7&ISO", &who), HIE_EUNKNOWNPATIENT);
	assert_int_equal(xca_patient_demographics(coord_mpi, A77, &who), HIE_OK);
	fp_wait_arm(&W.w);
	assert_int_equal(xca_fanout_discover(fo, &who, &W.claims, "t-disc", fp_on_discovery, &W.w), HIE_OK);
	disc = fp_wait_done(&W.w, &ms);
	assert_non_null(disc);
	print_message("discovery of A-77 over %zu peers in %lld ms\n", disc->n, (long long) ms);
	for (size_t i = 0; i < disc->n; i++)
		print_message("  %s %s %lld ms %s conf=%d %s\n", disc->v[i].peer.name, xca_status_name(disc->v[i].peer.status),
		    (long long) disc->v[i].peer.ms, disc->v[i].patient_id, disc->v[i].confidence, disc->v[i].peer.error);
	assert_int_equal(disc->n, NPEERS);
	assert_int_equal(found(disc, "hospital-b")->peer.status, XCA_OK);
	assert_string_equal(found(disc, "hospital-b")->patient_id, "B-1^^^&1.2.3.2&ISO");
	assert_int_equal(found(disc, "hospital-c")->peer.status, XCA_OK);
	assert_string_equal(found(disc, "hospital-c")->patient_id, "C-9^^^&1.2.3.3&ISO");
	assert_int_equal(found(disc, "hospital-d")->peer.status, XCA_NO_MATCH);
	assert_string_equal(found(disc, "hospital-d")->patient_id, "");
	assert_int_equal(found(disc, "hospital-e")->peer.status, XCA_NO_MATCH);
	/* The hung peer is a timeout at the deadline, and held nobody else. */
	assert_int_equal(found(disc, "hospital-h")->peer.status, XCA_TIMEOUT);
	assert_true(found(disc, "hospital-b")->peer.ms < DEADLINE / 2);
	assert_int_equal(found(disc, "hospital-x")->peer.status, XCA_ERROR);
	assert_non_null(strstr(found(disc, "hospital-x")->peer.error, "claims community"));
	assert_string_equal(found(disc, "hospital-x")->patient_id, "");
	xca_discovery_free(disc);

	/* Then the clinician query: ITI-38 to b and c, each with its own id. */
	{
		struct reg_query q;
		memset(&q, 0, sizeof(q));
		strcpy(q.patient_id, A77);
		q.approved_only = 1;
		q.max_results = 1000;
		fp_wait_arm(&W.w);
		assert_int_equal(xca_fanout_query_discover(fo, &q, &who, &W.claims, "t-query", fp_on_result, &W.w), HIE_OK);
		result = fp_wait_done(&W.w, &ms);
		print_message("discover + ITI-38 in %lld ms: %zu documents\n", (long long) ms, result->docs.n);
		assert_int_equal(result->npeers, NPEERS);
		for (size_t i = 0; i < result->npeers; i++) {
			const struct xca_peer_result *pr = &result->peers[i];
			print_message("  %s %s docs=%zu %s\n", pr->name, xca_status_name(pr->status), pr->documents, pr->error);
			if (strcmp(pr->name, "hospital-b") == 0 || strcmp(pr->name, "hospital-c") == 0) {
				assert_int_equal(pr->status, XCA_OK);
				assert_int_equal(pr->documents, 2);
			} else if (strcmp(pr->name, "hospital-h") == 0) {
				assert_int_equal(pr->status, XCA_TIMEOUT);
			} else if (strcmp(pr->name, "hospital-x") == 0) {
				assert_int_equal(pr->status, XCA_ERROR);
			} else {
				assert_int_equal(pr->status, XCA_NO_MATCH);
			}
		}
		assert_int_equal(result->docs.n, 4);
		for (size_t i = 0; i < result->docs.n; i++)
			assert_true(strcmp(result->docs.v[i].home_community, "urn:oid:1.2.3.2") == 0 ||
			            strcmp(result->docs.v[i].home_community, "urn:oid:1.2.3.3") == 0);
		xca_result_free(result);
	}
	xca_fanout_release(fo);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iti55_responder),
		cmocka_unit_test(test_pix_pdq),
		cmocka_unit_test(test_discover),
	};
	int rc;

	hie_xml_init();
	rc = cmocka_run_group_tests(tests, setup, teardown);
	hie_xml_shutdown();
	return rc;
}
