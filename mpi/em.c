/*
 * mpi/em.c -- expectation-maximisation for the Fellegi-Sunter mixture.
 *
 * The candidate pairs are a mixture of matches (share p) and non-matches;
 * under conditional independence each field's level is drawn from m[f]
 * for matches and from u[f] for non-matches.  EM alternates the posterior
 * of each pair (E) and the proportions that maximise the likelihood given
 * those posteriors (M).  No labels: only the node's own comparison vectors.
 * Identical vectors are counted once with a weight, so one iteration costs
 * the number of distinct patterns, not of pairs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi.h"

struct pattern {
	uint8_t lv[MPI_NFIELDS];
	double  count;
};

static int
vec_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MPI_NFIELDS);
}

/* Sorted copy, then runs of equal vectors become one pattern. */
static hie_err
patterns(const uint8_t *v, size_t n, struct pattern **out, size_t *np)
{
	uint8_t        *s = malloc(n * MPI_NFIELDS);
	struct pattern *p;
	size_t          k = 0;

	if (s == NULL)
		return HIE_ENOMEM;
	memcpy(s, v, n * MPI_NFIELDS);
	qsort(s, n, MPI_NFIELDS, vec_cmp);
	if ((p = malloc(n * sizeof(*p))) == NULL) {
		free(s);
		return HIE_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && memcmp(p[k - 1].lv, s + i * MPI_NFIELDS, MPI_NFIELDS) == 0) {
			p[k - 1].count += 1;
			continue;
		}
		memcpy(p[k].lv, s + i * MPI_NFIELDS, MPI_NFIELDS);
		p[k++].count = 1;
	}
	free(s);
	*out = p;
	*np = k;
	return HIE_OK;
}

/* Keeps every probability off 0 and 1 so that no level is ever declared
 * impossible by a sample that happened not to show it. */
#define FLOOR 1e-5

static double
normalise(double *v, int n)
{
	double sum = 0, moved = 0;

	for (int l = 0; l < n; l++)
		sum += v[l] + FLOOR;
	for (int l = 0; l < n; l++) {
		double nv = (v[l] + FLOOR) / sum;
		moved = fmax(moved, fabs(nv - v[l]));
		v[l] = nv;
	}
	return moved;
}

static hie_err
check_levels(const uint8_t *vectors, size_t n)
{
	for (size_t i = 0; i < n * MPI_NFIELDS; i++) {
		uint8_t l = vectors[i];
		if (l != MPI_MISSING && l >= mpi_field_levels((int) (i % MPI_NFIELDS)))
			return HIE_EINVAL;
	}
	return HIE_OK;
}

hie_err
mpi_em_u_from(const uint8_t *vectors, size_t n, struct mpi_model *model)
{
	double c[MPI_NFIELDS][MPI_MAXLEVELS] = { { 0 } };

	if (n == 0 || check_levels(vectors, n) != HIE_OK)
		return HIE_EINVAL;
	for (size_t i = 0; i < n; i++)
		for (int f = 0; f < MPI_NFIELDS; f++)
			if (vectors[i * MPI_NFIELDS + f] != MPI_MISSING)
				c[f][vectors[i * MPI_NFIELDS + f]] += 1;
	for (int f = 0; f < MPI_NFIELDS; f++) {
		int    nl = mpi_field_levels(f);
		double sum = 0;
		for (int l = 0; l < nl; l++)
			sum += c[f][l];
		if (sum <= 0)
			continue; /* never present: keep the prior */
		for (int l = 0; l < nl; l++)
			model->u[f][l] = c[f][l] / sum;
		normalise(model->u[f], nl);
	}
	return HIE_OK;
}

hie_err
mpi_em_fit(const uint8_t *vectors, size_t n, struct mpi_model *model, int max_iter, double tol)
{
	return mpi_em_fit_opt(vectors, n, model, max_iter, tol, 0);
}

hie_err
mpi_em_fit_opt(const uint8_t *vectors, size_t n, struct mpi_model *model, int max_iter, double tol,
    unsigned flags)
{
	struct pattern *pat = NULL;
	size_t          np = 0;
	hie_err         e;
	int             it;

	if (n == 0 || max_iter <= 0 || check_levels(vectors, n) != HIE_OK)
		return HIE_EINVAL;
	if ((e = patterns(vectors, n, &pat, &np)) != HIE_OK)
		return e;
	if (!(model->p > 0 && model->p < 1))
		model->p = 0.1;
	for (it = 0; it < max_iter; it++) {
		double sm[MPI_NFIELDS][MPI_MAXLEVELS] = { { 0 } }, su[MPI_NFIELDS][MPI_MAXLEVELS] = { { 0 } };
		double lm[MPI_NFIELDS][MPI_MAXLEVELS], lu[MPI_NFIELDS][MPI_MAXLEVELS];
		double tm = 0, total = 0, moved, np_new;

		for (int f = 0; f < MPI_NFIELDS; f++)
			for (int l = 0; l < mpi_field_levels(f); l++) {
				lm[f][l] = log(fmax(model->m[f][l], 1e-12));
				lu[f][l] = log(fmax(model->u[f][l], 1e-12));
			}
		/* E: posterior of "match" per pattern; M sums alongside. */
		for (size_t i = 0; i < np; i++) {
			double a = log(model->p), b = log(1 - model->p), g;
			for (int f = 0; f < MPI_NFIELDS; f++) {
				uint8_t l = pat[i].lv[f];
				if (l != MPI_MISSING)
					a += lm[f][l], b += lu[f][l];
			}
			g = b - a > 700 ? 0 : 1 / (1 + exp(b - a));
			tm += g * pat[i].count;
			total += pat[i].count;
			for (int f = 0; f < MPI_NFIELDS; f++) {
				uint8_t l = pat[i].lv[f];
				if (l != MPI_MISSING) {
					sm[f][l] += g * pat[i].count;
					su[f][l] += (1 - g) * pat[i].count;
				}
			}
		}
		np_new = fmin(fmax(tm / total, 1e-6), 1 - 1e-6);
		moved = fabs(np_new - model->p);
		model->p = np_new;
		for (int f = 0; f < MPI_NFIELDS; f++) {
			int    nl = mpi_field_levels(f);
			double mo[MPI_MAXLEVELS], uo[MPI_MAXLEVELS], sa = 0, sb = 0;
			for (int l = 0; l < nl; l++)
				sa += sm[f][l], sb += su[f][l];
			if (sa <= 0 || sb <= 0 || (flags & MPI_EM_FIX_M))
				continue; /* a field never present: keep its priors */
			for (int l = 0; l < nl; l++) {
				mo[l] = model->m[f][l];
				uo[l] = model->u[f][l];
				model->m[f][l] = sm[f][l] / sa;
				if (!(flags & MPI_EM_FIX_U))
					model->u[f][l] = su[f][l] / sb;
			}
			normalise(model->m[f], nl);
			if (!(flags & MPI_EM_FIX_U))
				normalise(model->u[f], nl);
			for (int l = 0; l < nl; l++)
				moved = fmax(moved, fmax(fabs(mo[l] - model->m[f][l]), fabs(uo[l] - model->u[f][l])));
		}
		if (moved < tol) {
			it++;
			break;
		}
	}
	model->iterations = it;
	model->pairs = n;
	model->trained = 1;
	free(pat);
	return HIE_OK;
}
