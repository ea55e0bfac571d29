/* tests/unit/test_mpi_compare.c -- normalisation and field comparators,
 * each as a table of cases. */
#include <math.h>
#include <string.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jaro_winkler), cmocka_unit_test(test_edit_distances),
		cmocka_unit_test(test_dates), cmocka_unit_test(test_address), cmocka_unit_test(test_ids),
		cmocka_unit_test(test_normalise), cmocka_unit_test(test_nicknames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
