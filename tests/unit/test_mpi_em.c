/* tests/unit/test_mpi_em.c -- EM recovers known m/u probabilities and the
 * match share from unlabelled comparison vectors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi.h"
#include "testutil.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double
uniform(void)
{
	rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
	return (double) ((rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static uint8_t
draw(const double *pr, int n)
{
	double x = uniform(), acc = 0;

	for (int l = 0; l < n - 1; l++)
		if (x < (acc += pr[l]))
			return (uint8_t) l;
	return (uint8_t) (n - 1);
}

/* The truth: every field's m sloping down from agreement, u sloping up. */
static void
truth(struct mpi_model *t)
{
	memset(t, 0, sizeof(*t));
	t->p = 0.2;
	for (int f = 0; f < MPI_NFIELDS; f++) {
		int    n = mpi_field_levels(f);
		double sm = 0, su = 0;
		for (int l = 0; l < n; l++) {
			t->m[f][l] = (double) (n - l) * (n - l) + 0.2 * f;
			t->u[f][l] = (double) (l + 1) * (l + 1) * (1 + 0.1 * f);
			sm += t->m[f][l];
			su += t->u[f][l];
		}
		for (int l = 0; l < n; l++)
			t->m[f][l] /= sm, t->u[f][l] /= su;
	}
}

static void
test_em_recovers(void **state)
{
	enum { PAIRS = 60000 };
	struct mpi_model t, fit;
	uint8_t         *v = malloc((size_t) PAIRS * MPI_NFIELDS);

	(void) state;
	assert_non_null(v);
	truth(&t);
	for (size_t i = 0; i < PAIRS; i++) {
		int match = uniform() < t.p;
		for (int f = 0; f < MPI_NFIELDS; f++) {
			uint8_t *l = &v[i * MPI_NFIELDS + f];
			*l = draw(match ? t.m[f] : t.u[f], mpi_field_levels(f));
			if (uniform() < 0.05)
				*l = MPI_MISSING; /* missing values carry no information */
		}
	}
	mpi_model_default(&fit);
	assert_int_equal(mpi_em_fit(v, PAIRS, &fit, 500, 1e-8), HIE_OK);
	assert_true(fit.trained);
	assert_true(fit.iterations > 1 && fit.iterations < 500);
	if (fabs(fit.p - t.p) > 0.01)
		fail_msg("p = %.4f, want %.4f", fit.p, t.p);
	for (int f = 0; f < MPI_NFIELDS; f++)
		for (int l = 0; l < mpi_field_levels(f); l++)
			if (fabs(fit.m[f][l] - t.m[f][l]) > 0.03 || fabs(fit.u[f][l] - t.u[f][l]) > 0.03)
				fail_msg("%s L%d: m=%.3f (want %.3f) u=%.3f (want %.3f)", mpi_field_name(f), l,
				    fit.m[f][l], t.m[f][l], fit.u[f][l], t.u[f][l]);
	/* Weights follow: agreement counts for, disagreement against. */
	{
		uint8_t agree[MPI_NFIELDS] = { 0 }, dis[MPI_NFIELDS];
		for (int f = 0; f < MPI_NFIELDS; f++)
			dis[f] = (uint8_t) (mpi_field_levels(f) - 1);
		assert_true(mpi_model_prob(&fit, agree) > 0.999);
		assert_true(mpi_model_prob(&fit, dis) < 0.001);
	}
	free(v);
}

/* The robust path of mpi_train: u counted on random pairs (drawn from u
 * alone), then EM with u held recovers m and a small p -- the case where
 * matches are rare among the pairs and a free EM may take some other
 * cluster for them. */
static void
test_em_fixed_u(void **state)
{
	enum { PAIRS = 80000, RANDOM = 80000 };
	struct mpi_model t, fit;
	uint8_t         *v = malloc((size_t) PAIRS * MPI_NFIELDS), *r = malloc((size_t) RANDOM * MPI_NFIELDS);

	(void) state;
	assert_non_null(v);
	assert_non_null(r);
	truth(&t);
	t.p = 0.02;
	for (size_t i = 0; i < RANDOM; i++)
		for (int f = 0; f < MPI_NFIELDS; f++)
			r[i * MPI_NFIELDS + f] = draw(t.u[f], mpi_field_levels(f));
	for (size_t i = 0; i < PAIRS; i++) {
		int match = uniform() < t.p;
		for (int f = 0; f < MPI_NFIELDS; f++)
			v[i * MPI_NFIELDS + f] = draw(match ? t.m[f] : t.u[f], mpi_field_levels(f));
	}
	mpi_model_default(&fit);
	assert_int_equal(mpi_em_u_from(r, RANDOM, &fit), HIE_OK);
	for (int f = 0; f < MPI_NFIELDS; f++)
		for (int l = 0; l < mpi_field_levels(f); l++)
			if (fabs(fit.u[f][l] - t.u[f][l]) > 0.01)
				fail_msg("u %s L%d: %.3f want %.3f", mpi_field_name(f), l, fit.u[f][l], t.u[f][l]);
	fit.p = 0.1;
	assert_int_equal(mpi_em_fit_opt(v, PAIRS, &fit, 500, 1e-8, MPI_EM_FIX_U), HIE_OK);
	if (fabs(fit.p - t.p) > 0.004)
		fail_msg("p = %.4f, want %.4f", fit.p, t.p);
	for (int f = 0; f < MPI_NFIELDS; f++)
		for (int l = 0; l < mpi_field_levels(f); l++)
			if (fabs(fit.m[f][l] - t.m[f][l]) > 0.05)
				fail_msg("m %s L%d: %.3f want %.3f", mpi_field_name(f), l, fit.m[f][l], t.m[f][l]);
	/* m held too: only p moves, from anywhere to the truth. */
	{
		struct mpi_model only = t;
		only.p = 0.5;
		assert_int_equal(mpi_em_fit_opt(v, PAIRS, &only, 500, 1e-9, MPI_EM_FIX_U | MPI_EM_FIX_M), HIE_OK);
		assert_memory_equal(only.m, t.m, sizeof(t.m));
		assert_memory_equal(only.u, t.u, sizeof(t.u));
		if (fabs(only.p - t.p) > 0.004)
			fail_msg("p only = %.4f, want %.4f", only.p, t.p);
	}
	free(v);
	free(r);
}

static void
test_em_bad_input(void **state)
{
	struct mpi_model m;
	uint8_t          v[MPI_NFIELDS] = { 0 };

	(void) state;
	mpi_model_default(&m);
	assert_int_equal(mpi_em_fit(v, 0, &m, 10, 1e-6), HIE_EINVAL);
	v[MPI_F_SEX] = 7; /* sex has 2 levels */
	assert_int_equal(mpi_em_fit(v, 1, &m, 10, 1e-6), HIE_EINVAL);
	v[MPI_F_SEX] = MPI_MISSING;
	assert_int_equal(mpi_em_fit(v, 1, &m, 10, 1e-6), HIE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_em_recovers),
		cmocka_unit_test(test_em_fixed_u),
		cmocka_unit_test(test_em_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
