/* tests/unit/test_mpi_compare.c -- normalisation and field comparators,
 * each as a table of cases. */
#include <math.h>
#include <string.h>

#include "mpi/internal.h"
#include "mpi/mpi.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_jaro_winkler(void **state)
{
	/* Reference values of the Jaro-Winkler literature (Winkler 1990). */
	static const struct {
		const char *a, *b;
		double      want;
	} cases[] = {
		{ "martha", "marhta", 0.9611 }, { "dwayne", "duane", 0.8400 }, { "dixon", "dicksonx", 0.8133 },
		{ "jones", "johnson", 0.8323 }, { "abc", "abc", 1.0 }, { "abc", "xyz", 0.0 }, { "", "", 1.0 },
		{ "a", "", 0.0 }, { "shackleford", "shackelford", 0.9818 },
	};

	(void) state;
	for (size_t i = 0; i < N(cases); i++) {
		double got = mpi_jaro_winkler(cases[i].a, cases[i].b);
		if (fabs(got - cases[i].want) > 0.0005)
			fail_msg("jw(%s,%s) = %.4f, want %.4f", cases[i].a, cases[i].b, got, cases[i].want);
		assert_true(fabs(mpi_jaro_winkler(cases[i].b, cases[i].a) - got) < 1e-9);
	}
}

static void
test_edit_distances(void **state)
{
	static const struct {
		const char *a, *b;
		int         lev, dam;
	} cases[] = {
		{ "kitten", "sitting", 3, 3 }, { "flaw", "lawn", 2, 2 }, { "ca", "ac", 2, 1 },
		{ "mccarthy", "mccatrhy", 2, 1 }, { "", "abc", 3, 3 }, { "same", "same", 0, 0 },
		{ "6089216", "6089261", 2, 1 }, { "abc", "", 3, 3 },
	};

	(void) state;
	for (size_t i = 0; i < N(cases); i++) {
		if (mpi_levenshtein(cases[i].a, cases[i].b) != cases[i].lev)
			fail_msg("lev(%s,%s) = %d", cases[i].a, cases[i].b, mpi_levenshtein(cases[i].a, cases[i].b));
		if (mpi_damerau(cases[i].a, cases[i].b) != cases[i].dam)
			fail_msg("dam(%s,%s) = %d", cases[i].a, cases[i].b, mpi_damerau(cases[i].a, cases[i].b));
	}
}

static void
test_dates(void **state)
{
	static const struct {
		const char    *a, *b;
		mpi_date_level want;
	} cmp[] = {
		{ "19800412", "19800412", MPI_DATE_EXACT },    { "19800412", "19801204", MPI_DATE_TRANSPOSED },
		{ "19800412", "19800413", MPI_DATE_TYPO },     { "19800412", "19080412", MPI_DATE_TYPO },
		{ "19800412", "19800502", MPI_DATE_NEAR },     { "19800412", "19790412", MPI_DATE_NEAR },
		{ "19800412", "19631130", MPI_DATE_DIFF },     { "19800412", "", MPI_DATE_MISSING },
		{ "19800412", "1980041x", MPI_DATE_MISSING },
	};
	static const struct {
		const char *in, *out; /* out NULL: invalid */
	} parse[] = {
		{ "19800412", "19800412" }, { "1980-04-12", "19800412" }, { "1980/04/12", "19800412" },
		{ "12/04/1980", "19800412" }, { "12.04.1980", "19800412" }, { "04/13/1980", "19800413" },
		{ "198004121530", "19800412" }, { "19800412153000+0200", "19800412" }, { " 19800412 ", "19800412" },
		{ "20000229", "20000229" }, { "19000229", NULL }, { "19800431", NULL }, { "19801301", NULL },
		{ "18000101", NULL }, { "1980-4-12", NULL }, { "yesterday", NULL }, { "", NULL },
		{ "1980041", NULL }, { "19800412x", NULL },
	};
	char d[9];

	(void) state;
	for (size_t i = 0; i < N(cmp); i++)
		if (mpi_date_compare(cmp[i].a, cmp[i].b) != cmp[i].want)
			fail_msg("date_compare(%s,%s) = %d", cmp[i].a, cmp[i].b, mpi_date_compare(cmp[i].a, cmp[i].b));
	for (size_t i = 0; i < N(parse); i++) {
		hie_err e = mpi_date_parse(parse[i].in, d);
		if (parse[i].out == NULL)
			assert_int_equal(e, HIE_EINVAL);
		else if (e != HIE_OK || strcmp(d, parse[i].out) != 0)
			fail_msg("date_parse(%s) = %d %s", parse[i].in, e, d);
	}
}

static void
test_address(void **state)
{
	static const struct {
		const char *na, *sa, *nb, *sb;
		double      lo, hi;
	} cases[] = {
		{ "12", "pridham street", "12", "pridham street", 1.0, 1.0 },
		{ "12", "pridham street", "12", "pridhamstreet", 0.99, 1.0 },   /* run together */
		{ "12", "street pridham", "12", "pridham street", 0.99, 1.0 },  /* word order */
		{ "12", "pridham street", "14", "pridham street", 0.69, 0.71 }, /* other number */
		{ "", "pridham street", "12", "pridham street", 1.0, 1.0 },     /* number missing */
		{ "12", "pridham street", "12", "goldfinch circuit", 0.3, 0.75 },
		{ "12", "", "12", "pridham street", 0.3, 0.3 },
	};

	(void) state;
	for (size_t i = 0; i < N(cases); i++) {
		double s = mpi_addr_compare(cases[i].na, cases[i].sa, cases[i].nb, cases[i].sb);
		if (s < cases[i].lo - 1e-9 || s > cases[i].hi + 1e-9)
			fail_msg("addr case %zu = %.3f", i, s);
	}
}

static void
test_ids(void **state)
{
	struct mpi_cx a = { "123", "1.2.3" }, b = { "123", "1.2.3" }, c = { "124", "1.2.3" }, d = { "123", "1.2.4" },
	              e = { "", "1.2.3" };

	(void) state;
	assert_int_equal(mpi_id_compare(&a, &b), 1);
	assert_int_equal(mpi_id_compare(&a, &c), -1);
	assert_int_equal(mpi_id_compare(&a, &d), 0);
	assert_int_equal(mpi_id_compare(&a, &e), 0);
}

static void
test_normalise(void **state)
{
	static const struct {
		int         kind; /* 0 text, 1 family, 2 phone, 3 postcode, 4 nysiis */
		const char *in, *out;
	} cases[] = {
		{ 0, "  José  MARÍA ", "jose maria" }, { 0, "Ærøskøbing", "aeroskobing" },
		{ 0, "Łódź", "lodz" }, { 0, "O'Brien-Smith", "obriensmith" }, { 0, "St. John,  Jr.", "st john jr" },
		{ 0, "Straße", "strasse" },
		{ 1, "van der Berg", "berg" }, { 1, "De La Cruz", "cruz" }, { 1, "Van", "van" },
		{ 1, "van't Hof", "vanthof" }, { 1, "MacDonald", "macdonald" },
		{ 2, "+1 (617) 555-0100", "6175550100" }, { 2, "(02) 6125 1234", "261251234" },
		{ 2, "+61 2 6125 1234", "261251234" }, { 2, "0061 2 6125 1234", "261251234" },
		{ 3, "sw1a 1aa", "SW1A1AA" }, { 3, "02139-4307", "021394307" },
		{ 4, "johnson", "jansan" }, { 4, "macdonald", "mcdanald" }, { 4, "knight", "nagt" },
		{ 4, "phillips", "falap" }, { 4, "schmidt", "snad" }, { 4, "", "" },
	};
	char out[64];

	(void) state;
	for (size_t i = 0; i < N(cases); i++) {
		switch (cases[i].kind) {
		case 0: mpi_norm_text(cases[i].in, out, sizeof(out)); break;
		case 1: mpi_norm_family(cases[i].in, out, sizeof(out)); break;
		case 2: mpi_norm_phone(cases[i].in, out, sizeof(out)); break;
		case 3: mpi_norm_postcode(cases[i].in, out, sizeof(out)); break;
		default: mpi_nysiis(cases[i].in, out, sizeof(out)); break;
		}
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("case %zu (%s) -> \"%s\", want \"%s\"", i, cases[i].in, out, cases[i].out);
	}
	assert_int_equal(mpi_norm_phone("555", out, sizeof(out)), HIE_EINVAL);
	assert_int_equal(mpi_norm_postcode(" - ", out, sizeof(out)), HIE_EINVAL);
	assert_int_equal(mpi_norm_text("abcdefgh", out, 4), HIE_ETOOBIG);
	assert_string_equal(out, "abc");
}

static void
test_nicknames(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "bill", "william" }, { "bob", "robert" }, { "peggy", "margaret" }, { "liz", "elizabeth" },
		{ "william", "william" }, { "zebediah", "zebediah" }, { "al", "albert" }, { "", "" },
	};

	(void) state;
	for (size_t i = 0; i < N(cases); i++)
		assert_string_equal(mpi_nickname(cases[i].in), cases[i].out);
}

/* The signature bound is an upper bound: for every pair of a set of
 * records full of the errors matching must survive (nicknames, swapped
 * names, typos, transposed dates, missing fields, moves), the weight the
 * full comparison gives never exceeds what the signatures allowed --
 * otherwise a lookup would skip a candidate it should have scored. */
static void
test_signature_bound(void **state)
{
	static const char *const rec[][7] = {
		/* given, family, dob, sex, number, street, postcode */
		{ "William", "Smith", "19610314", "M", "12", "Harbour Street", "2000" },
		{ "Bill", "Smith", "19610314", "M", "12", "Harbour St", "2000" },
		{ "Smith", "William", "19610314", "M", "12", "Harbour Street", "2000" },
		{ "Smith", "Bill", "19610314", "", "", "", "" },
		{ "Wiliam", "Smiht", "19610315", "M", "12", "Harbour Street", "2001" },
		{ "William", "Smith", "19610403", "M", "14", "Other Road", "3000" },
		{ "William", "", "19610314", "", "12", "Harbour Street", "2000" },
		{ "", "Smith", "19600314", "F", "", "", "" },
		{ "Bill", "Bill", "19610314", "M", "12", "Harbour Street", "2000" },
		{ "Margaret", "Bill", "19450607", "F", "3", "Hill Road", "3999" },
		{ "Peggy", "O'Neil", "19610314", "F", "12", "Harbour Street", "2000" },
		{ "Margaret", "ONeill", "14/03/1961", "F", "12", "harbour st", "2000" },
		{ "William", "Smith", "", "M", "12", "Harbour Street", "2000" },
	};
	struct mpi_model  md;
	struct mpi_mk     k[N(rec)];
	uint64_t          sig[N(rec)];
	struct mpi_scorer sc;
	char              why[128];

	(void) state;
	for (size_t i = 0; i < N(rec); i++) {
		struct mpi_patient p;
		memset(&p, 0, sizeof(p));
		p.n_names = 1;
		hie_strlcpy(p.names[0].given, rec[i][0], sizeof(p.names[0].given));
		hie_strlcpy(p.names[0].family, rec[i][1], sizeof(p.names[0].family));
		hie_strlcpy(p.birth_date, rec[i][2], sizeof(p.birth_date));
		p.sex = rec[i][3][0];
		if (rec[i][5][0] != '\0') {
			p.n_addrs = 1;
			hie_strlcpy(p.addrs[0].number, rec[i][4], sizeof(p.addrs[0].number));
			hie_strlcpy(p.addrs[0].street, rec[i][5], sizeof(p.addrs[0].street));
			hie_strlcpy(p.addrs[0].postcode, rec[i][6], sizeof(p.addrs[0].postcode));
		}
		if (p.birth_date[0] == '\0') { /* a record needs a date or an id */
			p.n_ids = 1;
			hie_strlcpy(p.ids[0].cx.id, "X1", sizeof(p.ids[0].cx.id));
			hie_strlcpy(p.ids[0].cx.authority, "1.2.3", sizeof(p.ids[0].cx.authority));
		}
		if (mpi_validate(&p, why, sizeof(why)) != HIE_OK)
			fail_msg("record %zu: %s", i, why);
		mpi_mk_build(&p, &k[i]);
		sig[i] = mpi_sig(&k[i]);
	}
	/* Two models: the priors, and one where disagreement is nearly
	 * impossible among matches (as EM finds on clean data). */
	for (int pass = 0; pass < 2; pass++) {
		mpi_model_default(&md);
		if (pass == 1)
			for (int f = 0; f < MPI_NFIELDS; f++)
				md.m[f][mpi_field_levels(f) - 1] = 1e-6;
		mpi_scorer_init(&sc, &md, 0);
		for (size_t a = 0; a < N(rec); a++)
			for (size_t b = 0; b < N(rec); b++) {
				uint8_t lv[MPI_NFIELDS];
				double  w, bound = mpi_sig_bound(&sc, sig[a], sig[b]);
				assert_true(mpi_score_pair(&sc, &k[a], &k[b], lv, &w));
				if (w > bound + 1e-9)
					fail_msg("pass %d: %zu vs %zu weighs %.3f, bound %.3f", pass, a, b, w, bound);
			}
	}
	/* And it does rule out: a stranger against William Smith. */
	mpi_scorer_init(&sc, &md, 0.3);
	assert_true(mpi_sig_bound(&sc, sig[0], sig[9]) < sc.min_w);
	assert_true(mpi_sig_bound(&sc, sig[0], sig[1]) >= sc.min_w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jaro_winkler), cmocka_unit_test(test_edit_distances),
		cmocka_unit_test(test_dates), cmocka_unit_test(test_address), cmocka_unit_test(test_ids),
		cmocka_unit_test(test_normalise), cmocka_unit_test(test_nicknames),
		cmocka_unit_test(test_signature_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
