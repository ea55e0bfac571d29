/* tests/unit/test_mpi_repeat.c -- matching on every repeat of names and
 * addresses: maiden and married names, moves, no mixing of one repeat's
 * given name with another's surname, blocking through a later name, the
 * signature bound with repeats, and the repeats of HL7 v2 PID-5/PID-11
 * and of an HL7 v3 (XCPD) query reaching the match key.  Stores are real
 * LMDB environments in a temporary directory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/internal.h"
#include "mpi/mpi.h"
#include "mpi/v3.h"
#include "node/hl7.h"
#include "node/hl7_pid.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A patient from a compact spec: names "given,family,use|..." and
 * addresses "number,street,city,postcode,use|...". */
static void
patient(struct mpi_patient *p, const char *names, const char *addrs, const char *dob, char sex)
{
	char        buf[512], *save = NULL, *rep;
	const char *seps = "|";

	memset(p, 0, sizeof(*p));
	hie_strlcpy(p->source, "test", sizeof(p->source));
	hie_strlcpy(p->birth_date, dob, sizeof(p->birth_date));
	p->sex = sex;
	hie_strlcpy(buf, names, sizeof(buf));
	for (rep = strtok_r(buf, seps, &save); rep != NULL && p->n_names < MPI_MAX_NAMES;
	     rep = strtok_r(NULL, seps, &save)) {
		struct mpi_name *n = &p->names[p->n_names++];
		char            *f[3] = { n->given, n->family, n->use };
		size_t           cap[3] = { sizeof(n->given), sizeof(n->family), sizeof(n->use) };
		char            *s = rep;
		for (int i = 0; i < 3 && s != NULL; i++) {
			char *c = strchr(s, ',');
			if (c != NULL)
				*c = '\0';
			hie_strlcpy(f[i], s, cap[i]);
			s = c != NULL ? c + 1 : NULL;
		}
	}
	hie_strlcpy(buf, addrs, sizeof(buf));
	for (rep = strtok_r(buf, seps, &save); rep != NULL && p->n_addrs < MPI_MAX_ADDRS;
	     rep = strtok_r(NULL, seps, &save)) {
		struct mpi_addr *a = &p->addrs[p->n_addrs++];
		char            *f[5] = { a->number, a->street, a->city, a->postcode, a->use };
		size_t cap[5] = { sizeof(a->number), sizeof(a->street), sizeof(a->city), sizeof(a->postcode), sizeof(a->use) };
		char  *s = rep;
		for (int i = 0; i < 5 && s != NULL; i++) {
			char *c = strchr(s, ',');
			if (c != NULL)
				*c = '\0';
			hie_strlcpy(f[i], s, cap[i]);
			s = c != NULL ? c + 1 : NULL;
		}
	}
}

static void
mk_of(const char *names, const char *addrs, const char *dob, char sex, struct mpi_mk *k)
{
	struct mpi_patient p;
	char               why[128];

	patient(&p, names, addrs, dob, sex);
	if (mpi_validate(&p, why, sizeof(why)) != HIE_OK)
		fail_msg("%s: %s", names, why);
	mpi_mk_build(&p, k);
}

/* Levels of pairs of records: the names and addresses agree through the
 * best pair of repeats, never through parts of two. */
static void
test_repeat_levels(void **state)
{
	static const struct {
		const char *what, *na, *aa, *nb, *ab;
		/* -1: no full agreement (level > 0); -2: either (then not all
		 * of street, city and postcode agree fully) */
		int         given, family, street, city, postcode;
	} cases[] = {
		{ "maiden vs married name", "Mary,Jones,L|Mary,Smith,M", "", "Mary,Smith,L", "", 0, 0, MPI_MISSING,
		    MPI_MISSING, MPI_MISSING },
		{ "married name second at the other side", "Mary,Smith,L", "", "Mary,Jones,L|Mary,Smith,M", "", 0, 0,
		    MPI_MISSING, MPI_MISSING, MPI_MISSING },
		{ "legal name first whatever the order", "Mary,Smith,M|Mary,Jones,L", "", "Mary,Jones", "", 0, 0,
		    MPI_MISSING, MPI_MISSING, MPI_MISSING },
		{ "given of repeat 1 + family of repeat 2 is no name match", "Mary,Smith,L|Anne,Jones,A", "",
		    "Mary,Jones,L", "", 0, -1, MPI_MISSING, MPI_MISSING, MPI_MISSING },
		{ "moved: the previous address matches", "Mary,Jones", "12,Elm Street,Springfield,62704,H|5,Oak Road,Chicago,60601,P",
		    "Mary,Jones", "5,Oak Road,Chicago,60601,H", 0, 0, 0, 0, 0 },
		{ "street of one address + postcode of another is no address match", "Mary,Jones",
		    "12,Elm Street,Springfield,62704,H|5,Oak Road,Chicago,60601,P", "Mary,Jones",
		    "12,Elm Street,Chicago,60601,H", 0, 0, -2, -2, -2 },
		{ "single name and address as before", "Mary,Jones", "12,Elm Street,Springfield,62704",
		    "Mary,Jones", "12,Elm Street,Springfield,62704", 0, 0, 0, 0, 0 },
	};

	(void) state;
	for (size_t i = 0; i < N(cases); i++) {
		struct mpi_mk     a, b;
		struct mpi_model  md;
		struct mpi_scorer sc;
		uint8_t           lv[MPI_NFIELDS], lv2[MPI_NFIELDS];
		const int         want[5] = { cases[i].given, cases[i].family, cases[i].street, cases[i].city,
                                cases[i].postcode };
		const int         f[5] = { MPI_F_GIVEN, MPI_F_FAMILY, MPI_F_STREET, MPI_F_CITY, MPI_F_POSTCODE };
		double            w;

		mk_of(cases[i].na, cases[i].aa, "19800101", 'F', &a);
		mk_of(cases[i].nb, cases[i].ab, "19800101", 'F', &b);
		mpi_mk_compare(&a, &b, lv);
		mpi_model_default(&md);
		mpi_scorer_init(&sc, &md, 0);
		mpi_scorer_query(&sc, &a);
		assert_true(mpi_score_pair(&sc, &a, &b, lv2, &w));
		for (int x = 0; x < 5; x++) {
			int ok = want[x] == -2 || (want[x] == -1 ? lv[f[x]] != 0 && lv[f[x]] != MPI_MISSING
			                                         : lv[f[x]] == want[x]);
			if (!ok)
				fail_msg("%s: %s level %d", cases[i].what, mpi_field_name(f[x]), lv[f[x]]);
			/* The scorer picks pairs by weight, compare by levels:
			 * the same pair unless two are close. */
			if (want[x] != -2 && lv2[f[x]] != lv[f[x]])
				fail_msg("%s: %s scorer level %d, compare %d", cases[i].what, mpi_field_name(f[x]), lv2[f[x]],
				    lv[f[x]]);
		}
		if (want[0] == -1 || want[1] == -1)
			assert_false(lv[MPI_F_GIVEN] == 0 && lv[MPI_F_FAMILY] == 0);
		if (want[2] == -2)
			assert_false(lv[MPI_F_STREET] == 0 && lv[MPI_F_CITY] == 0 && lv[MPI_F_POSTCODE] == 0);
	}
}

/* The best pair weighs what that pair alone would: a record with her
 * maiden name added scores against the maiden-name record exactly as a
 * record with the maiden name only. */
static void
test_best_pair_weight(void **state)
{
	struct mpi_mk     both, maiden, other;
	struct mpi_model  md;
	struct mpi_scorer sc;
	uint8_t           lv[MPI_NFIELDS];
	double            w1, w2;

	(void) state;
	mk_of("Mary,Jones,L|Mary,Smith,M", "5,Oak Road,Chicago,60601,H|12,Elm Street,Springfield,62704,P", "19800101",
	    'F', &both);
	mk_of("Mary,Smith,L", "12,Elm Street,Springfield,62704,H", "19800101", 'F', &maiden);
	mk_of("Mary,Smith,L", "12,Elm Street,Springfield,62704,H", "19800101", 'F', &other);
	mpi_model_default(&md);
	mpi_scorer_init(&sc, &md, 0);
	mpi_scorer_query(&sc, &other);
	assert_true(mpi_score_pair(&sc, &other, &both, lv, &w1));
	assert_true(mpi_score_pair(&sc, &other, &maiden, lv, &w2));
	assert_true(fabs(w1 - w2) < 1e-9);
}

/* Random records with repeats from small vocabularies (so that names and
 * addresses agree often, also across repeats): the signature bound is
 * never below the weight, and the early exit returns 0 only for pairs
 * under the threshold, the full weight otherwise. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned
rnd(unsigned n)
{
	rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
	return (unsigned) ((rng * 0x2545f4914f6cdd1dull) >> 33) % n;
}

static void
random_mk(struct mpi_mk *k)
{
	static const char *const given[] = { "mary", "maria", "anne", "bill", "william", "jon", "john", "" };
	static const char *const family[] = { "smith", "smyth", "jones", "brown", "braun", "mary", "" };
	static const char *const street[] = { "elm street", "oak road", "elm st", "" };
	static const char *const city[] = { "springfield", "chicago", "" };
	static const char *const pc[] = { "62704", "62705", "60601", "" };
	static const char *const num[] = { "12", "5", "" };
	static const char *const dob[] = { "19800101", "19800110", "19800102", "19810101", "" };
	char                     names[256] = "", addrs[256] = "";
	unsigned                 nn = 1 + rnd(4), na = rnd(4);
	struct mpi_patient       p;
	char                     why[128];

	for (unsigned i = 0; i < nn; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s,%s,%s", i ? "|" : "",
		    given[rnd(N(given))], family[rnd(N(family))], rnd(3) == 0 ? "L" : "A");
	for (unsigned i = 0; i < na; i++)
		snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs), "%s%s,%s,%s,%s,%s", i ? "|" : "",
		    num[rnd(N(num))], street[rnd(N(street))], city[rnd(N(city))], pc[rnd(N(pc))], rnd(2) ? "H" : "M");
	patient(&p, names, addrs, dob[rnd(N(dob))], "MFU"[rnd(3)]);
	p.names[0].given[0] = p.names[0].given[0] ? p.names[0].given[0] : 'x';
	if (p.birth_date[0] == '\0') {
		p.n_ids = 1;
		hie_strlcpy(p.ids[0].cx.id, "X1", sizeof(p.ids[0].cx.id));
		hie_strlcpy(p.ids[0].cx.authority, "1.2.3", sizeof(p.ids[0].cx.authority));
	}
	if (mpi_validate(&p, why, sizeof(why)) != HIE_OK)
		fail_msg("%s: %s", names, why);
	mpi_mk_build(&p, k);
}

static void
test_signature_bound_repeats(void **state)
{
	enum { NREC = 300 };
	struct mpi_mk   *k = calloc(NREC, sizeof(*k));
	uint64_t         sig[NREC];
	struct mpi_model md;
	size_t           pairs = 0, pruned = 0, multi = 0;

	(void) state;
	for (size_t i = 0; i < NREC; i++) {
		random_mk(&k[i]);
		sig[i] = mpi_sig(&k[i]);
		multi += k[i].nname > 1 || k[i].naddr > 1;
	}
	assert_true(multi > NREC / 2);
	/* The priors; one where disagreement is nearly impossible among
	 * matches; and one with a surname frequency table (per-name
	 * adjustments of full surname agreement). */
	for (int pass = 0; pass < 3; pass++) {
		mpi_model_default(&md);
		if (pass >= 1)
			for (int f = 0; f < MPI_NFIELDS; f++)
				md.m[f][mpi_field_levels(f) - 1] = 1e-6;
		if (pass == 2) {
			md.family_mean = 0.01;
			for (size_t b = 0; b < MPI_FREQ_BUCKETS; b++)
				md.family_freq[b] = (uint8_t) (1 + rnd(255));
		}
		for (size_t a = 0; a < NREC; a++) {
			struct mpi_scorer all, cut;
			mpi_scorer_init(&all, &md, 0);
			mpi_scorer_query(&all, &k[a]);
			mpi_scorer_init(&cut, &md, 0.3);
			mpi_scorer_query(&cut, &k[a]);
			for (size_t b = 0; b < NREC; b++) {
				uint8_t lv[MPI_NFIELDS], lv2[MPI_NFIELDS];
				double  w, w2, bound = mpi_sig_bound(&all, sig[a], sig[b]);
				assert_true(mpi_score_pair(&all, &k[a], &k[b], lv, &w));
				if (w > bound + 1e-9)
					fail_msg("pass %d: %zu vs %zu weighs %.3f, bound %.3f", pass, a, b, w, bound);
				if (mpi_sig_bound(&cut, sig[a], sig[b]) < cut.min_w)
					assert_true(w < cut.min_w), pruned++;
				if (mpi_score_pair(&cut, &k[a], &k[b], lv2, &w2)) {
					assert_true(fabs(w - w2) < 1e-9);
					assert_memory_equal(lv, lv2, sizeof(lv));
				} else {
					assert_true(w < cut.min_w);
				}
				pairs++;
			}
		}
	}
	assert_true(pruned > 0 && pruned < pairs);
	free(k);
}

/* Keys: each repeat's, no duplicates, within the bound. */
static void
test_block_keys_bound(void **state)
{
	struct mpi_mk k;
	char          keys[MPI_NKEYS][MPI_KEY_LEN];
	size_t        n;

	(void) state;
	mk_of("Mary,Jones,L|Maria,Smith,M|Molly,Brown,A|May,Green,A",
	    "12,Elm Street,Springfield,62704,H|5,Oak Road,Chicago,60601,M|7,Pine Lane,Peoria,61602,P", "19800101",
	    'F', &k);
	assert_int_equal(k.nname, 4);
	assert_int_equal(k.naddr, 3);
	n = mpi_block_keys(&k, keys);
	assert_true(n <= MPI_NKEYS && n > 7);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(keys[i], keys[j]);
	/* The same name twice is one repeat. */
	mk_of("Mary,Jones,L|MARY,JONES,A", "", "19800101", 'F', &k);
	assert_int_equal(k.nname, 1);
}

/* ---- on a store ---- */

static int
add_rid(mpi *m, struct mpi_patient *p, uint64_t *eid)
{
	struct mpi_result r;
	assert_int_equal(mpi_add(m, p, 0, &r), HIE_OK);
	*eid = r.eid;
	return (int) r.outcome;
}

static int
cand_fn(uint64_t rid, void *arg)
{
	uint64_t *found = arg;
	if (rid == found[0])
		found[1] = 1;
	return 0;
}

/* A record reachable only through its second name: the query shares no
 * blocking key with the first; found, and linked. */
static void
test_block_second_name(void **state)
{
	char               dir[256];
	MDB_env           *env;
	mpi               *m;
	struct mpi_patient p;
	struct mpi_mk      q;
	struct mpi_result  r;
	uint64_t           eid, found[2];
	MDB_txn           *txn;
	char               qk[MPI_NKEYS][MPI_KEY_LEN], sk[MPI_NKEYS][MPI_KEY_LEN];
	struct mpi_mk      first;
	size_t             nq, ns;

	(void) state;
	tu_tmpdir(dir);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(mpi_open(env, &m), HIE_OK);
	patient(&p, "Anna,Jones,L|Mary,Smith,A", "", "19800101", 'F');
	hie_strlcpy(p.source, "hospital", sizeof(p.source));
	add_rid(m, &p, &eid);
	/* Her first name alone shares no key with the query. */
	mk_of("Mary,Smith", "", "19800101", 'F', &q);
	mk_of("Anna,Jones", "", "19800101", 'F', &first);
	nq = mpi_block_keys(&q, qk);
	ns = mpi_block_keys(&first, sk);
	for (size_t i = 0; i < nq; i++)
		for (size_t j = 0; j < ns; j++)
			assert_string_not_equal(qk[i], sk[j]);
	found[0] = p.rid;
	found[1] = 0;
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mpi_block_candidates(m, txn, &q, cand_fn, found), HIE_OK);
	mdb_txn_abort(txn);
	assert_int_equal(found[1], 1);
	/* Another source's record under that name links to her. */
	patient(&p, "Mary,Smith,L", "", "19800101", 'F');
	hie_strlcpy(p.source, "clinic", sizeof(p.source));
	assert_int_equal(mpi_add(m, &p, 0, &r), HIE_OK);
	assert_int_equal(r.outcome, MPI_LINKED_MATCH);
	assert_int_equal(r.eid, eid);
	mpi_close(m);
	hie_store_close(env);
	tu_rmtree(dir);
}

/* Records linked through a maiden name and through a move, one by one and
 * in a batch; a stranger sharing a given name with one repeat and a
 * surname with another is not linked. */
static void
test_store_links(void **state)
{
	static const struct {
		const char *what, *names, *addrs;
		int         linked; /* to the first record */
	} cases[] = {
		{ "married name, new address", "Mary,Jones,L", "5,Oak Road,Chicago,60601,H", 1 },
		{ "maiden name, old address", "Mary,Smith,L", "12,Elm Street,Springfield,62704,H", 1 },
		{ "maiden name, new address", "Mary,Smith,L", "5,Oak Road,Chicago,60601,H", 1 },
		{ "given of one, family of the other, elsewhere", "Mary,Brown,L|Anne,Smith,A",
		    "99,Long Road,Peoria,61602,H", 0 },
	};

	(void) state;
	for (int batch = 0; batch < 2; batch++) {
		char               dir[256];
		MDB_env           *env;
		mpi               *m;
		struct mpi_patient first, *ps = calloc(N(cases), sizeof(*ps));
		struct mpi_result  res[N(cases)];
		uint64_t           eid;

		tu_tmpdir(dir);
		assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
		assert_int_equal(mpi_open(env, &m), HIE_OK);
		patient(&first, "Mary,Smith,M|Mary,Jones,L",
		    "12,Elm Street,Springfield,62704,P|5,Oak Road,Chicago,60601,H", "19800101", 'F');
		add_rid(m, &first, &eid);
		for (size_t i = 0; i < N(cases); i++) {
			patient(&ps[i], cases[i].names, cases[i].addrs, "19800101", 'F');
			snprintf(ps[i].source, sizeof(ps[i].source), "clinic%zu", i);
		}
		if (batch)
			assert_int_equal(mpi_add_batch(m, ps, N(cases), 0, res), HIE_OK);
		else
			for (size_t i = 0; i < N(cases); i++)
				assert_int_equal(mpi_add(m, &ps[i], 0, &res[i]), HIE_OK);
		for (size_t i = 0; i < N(cases); i++)
			if ((res[i].eid == eid) != cases[i].linked)
				fail_msg("%s (%s): eid %llu outcome %d prob %.3f", cases[i].what, batch ? "batch" : "one by one",
				    (unsigned long long) res[i].eid, (int) res[i].outcome, res[i].prob);
		mpi_close(m);
		hie_store_close(env);
		tu_rmtree(dir);
		free(ps);
	}
}

/* A store of the previous format (no "format" entry, records present) is
 * refused; a new one is stamped. */
static void
test_format_refused(void **state)
{
	char               dir[256];
	MDB_env           *env;
	mpi               *m;
	struct mpi_patient p;
	uint64_t           eid;
	MDB_txn           *txn;
	MDB_dbi            meta;
	MDB_val            k = { 6, "format" };

	(void) state;
	tu_tmpdir(dir);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(mpi_open(env, &m), HIE_OK);
	patient(&p, "Mary,Jones", "", "19800101", 'F');
	add_rid(m, &p, &eid);
	mpi_close(m);
	assert_int_equal(mpi_open(env, &m), HIE_OK); /* stamped: opens again */
	mpi_close(m);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "mpi.meta", 0, &meta), 0);
	assert_int_equal(mdb_del(txn, meta, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(mpi_open(env, &m), HIE_EDB);
	hie_store_close(env);
	tu_rmtree(dir);
}

/* ---- the transactions' parsers fill every repeat ---- */

static void
test_hl7_pid_repeats(void **state)
{
	static const char msg[] =
	    "MSH|^~\\&|LAB|HOSP|HIE|HIE|20261125120000||ADT^A04^ADT_A01|M1|P|2.5.1\r"
	    "PID|1||P-1^^^&1.2.3.4&ISO^MR||Jones^Mary^^^^^L~Smith^Mary^^^^^M||19800101|F|||"
	    "5 Oak Road^^Chicago^IL^60601^^H~12 Elm Street^^Springfield^IL^62704^^P\r";
	hl7_msg           *m = NULL;
	struct hl7_error   err;
	struct mpi_patient p;
	struct mpi_mk      k;

	(void) state;
	assert_int_equal(hl7_parse(msg, strlen(msg), NULL, &m, &err), HIE_OK);
	assert_int_equal(hl7_pid_to_patient(m, 1, "HOSP", "1.2.3.99", &p, &err), HIE_OK);
	hl7_free(m);
	mpi_mk_build(&p, &k);
	assert_int_equal(k.nname, 2);
	assert_string_equal(k.name[0].family, "jones");
	assert_string_equal(k.name[1].family, "smith");
	assert_int_equal(k.naddr, 2);
	assert_string_equal(k.addr[0].postcode, "60601");
	assert_string_equal(k.addr[1].postcode, "62704");
	assert_string_equal(k.addr[1].street, "elm street");
}

static void
test_v3_query_repeats(void **state)
{
	char             path[512], *buf, *a, *b, *x;
	size_t           len;
	xmlDoc          *doc = NULL;
	struct v3_query *q = calloc(1, sizeof(*q));
	struct v3_error  err;
	struct mpi_mk    k;
	char             why[128];
	static const char two_names[] =
	    "<livingSubjectName><value><given>Alice</given><family>Hoffmann</family></value>"
	    "<value><given>Alice</given><family>Brandt</family></value>"
	    "<semanticsText>LivingSubject.name</semanticsText></livingSubjectName>"
	    "<patientAddress><value><streetAddressLine>12 Elm Street</streetAddressLine><city>Springfield</city>"
	    "<postalCode>62704</postalCode></value><value><streetAddressLine>5 Oak Road</streetAddressLine>"
	    "<city>Chicago</city><postalCode>60601</postalCode></value><semanticsText>Patient.addr</semanticsText>"
	    "</patientAddress>";

	(void) state;
	/* The committed ITI-55 sample with its name and address parameters
	 * replaced by two values each. */
	tu_src(path, sizeof(path), "tests/data/v3/iti55_alice.xml");
	buf = tu_slurp(path, &len);
	/* Drop the original (single) address parameter first. */
	a = strstr(buf, "<patientAddress>");
	b = strstr(buf, "</patientAddress>");
	assert_true(a != NULL && b != NULL);
	b += strlen("</patientAddress>");
	memmove(a, b, strlen(b) + 1);
	len = strlen(buf);
	a = strstr(buf, "<livingSubjectName>");
	b = strstr(buf, "</livingSubjectName>") + strlen("</livingSubjectName>");
	assert_non_null(a);
	x = malloc(len + sizeof(two_names));
	memcpy(x, buf, (size_t) (a - buf));
	strcpy(x + (a - buf), two_names);
	strcat(x, b);
	assert_int_equal(v3_parse_buf(x, strlen(x), NULL, &doc), HIE_OK);
	assert_int_equal(v3_query_parse(xmlDocGetRootElement(doc), q, &err), HIE_OK);
	assert_int_equal(q->demo.n_names, 2);
	assert_int_equal(q->demo.n_addrs, 2);
	assert_int_equal(mpi_validate(&q->demo, why, sizeof(why)), HIE_OK);
	mpi_mk_build(&q->demo, &k);
	assert_int_equal(k.nname, 2);
	assert_string_equal(k.name[1].family, "brandt");
	assert_int_equal(k.naddr, 2);
	assert_string_equal(k.addr[1].postcode, "60601");
	xmlFreeDoc(doc);
	free(x);
	free(buf);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repeat_levels), cmocka_unit_test(test_best_pair_weight),
		cmocka_unit_test(test_signature_bound_repeats), cmocka_unit_test(test_block_keys_bound),
		cmocka_unit_test(test_block_second_name), cmocka_unit_test(test_store_links),
		cmocka_unit_test(test_format_refused), cmocka_unit_test(test_hl7_pid_repeats),
		cmocka_unit_test(test_v3_query_repeats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
