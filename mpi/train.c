/*
 * mpi/train.c -- fitting the model on the node's own data: random pairs of
 * records for u, EM per blocking rule for m, EM on all candidate pairs for
 * the prior p (the steps are described above mpi_train).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/internal.h"

hie_err
mpi_compare_records(mpi *m, uint64_t a, uint64_t b, uint8_t lv[MPI_NFIELDS])
{
	struct mpi_mk ka, kb;
	MDB_txn      *txn;
	hie_err       e;
	int           rc;

	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((e = mpi_mk_get(m, txn, a, &ka)) == HIE_OK && (e = mpi_mk_get(m, txn, b, &kb)) == HIE_OK)
		mpi_mk_compare(&ka, &kb, lv);
	mdb_txn_abort(txn);
	return e;
}

/* Comparison vectors of n pairs of stored records. */
static hie_err
compare_pairs(mpi *m, MDB_txn *txn, const uint64_t *pairs, size_t n, uint8_t *vec)
{
	for (size_t i = 0; i < n; i++) {
		struct mpi_mk a, b;
		hie_err       e;
		if ((e = mpi_mk_get(m, txn, pairs[2 * i], &a)) != HIE_OK ||
		    (e = mpi_mk_get(m, txn, pairs[2 * i + 1], &b)) != HIE_OK)
			return e;
		mpi_mk_compare(&a, &b, vec + i * MPI_NFIELDS);
	}
	return HIE_OK;
}

/* n random pairs of distinct records (rids are dense from 1: records are
 * never deleted).  A fixed-seed generator keeps a fit reproducible. */
static hie_err
random_pairs(uint64_t records, size_t n, uint64_t **out)
{
	uint64_t  x = 0x2545f4914f6cdd1dull, *p;

	if ((p = malloc(2 * n * sizeof(uint64_t))) == NULL)
		return HIE_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint64_t a, b;
		do {
			/* xorshift64* */
			x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
			a = (x * 0x2545f4914f6cdd1dull) % records + 1;
			x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
			b = (x * 0x2545f4914f6cdd1dull) % records + 1;
		} while (a == b);
		p[2 * i] = a;
		p[2 * i + 1] = b;
	}
	*out = p;
	return HIE_OK;
}

/* Pairs and their vectors, read in one transaction. */
static hie_err
vectors_of(mpi *m, const uint64_t *pairs, size_t n, uint8_t **vec)
{
	MDB_txn *txn;
	hie_err  e;
	int      rc;

	if ((*vec = malloc(n * MPI_NFIELDS)) == NULL)
		return HIE_ENOMEM;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		e = hie_store_err(rc);
	else {
		e = compare_pairs(m, txn, pairs, n, *vec);
		mdb_txn_abort(txn);
	}
	if (e != HIE_OK) {
		free(*vec);
		*vec = NULL;
	}
	return e;
}

/* The name and birth date fields: whatever else EM finds, most matches
 * agree on them, exactly or nearly (levels 0 and 1), and far more often
 * than chance.  A fit that says otherwise has taken some other cluster of
 * the pairs (people of one street, one family, one sex) for the matches:
 * the degenerate solution, thrown away. */
static int
plausible(const struct mpi_model *r, const double present[MPI_NFIELDS], unsigned skip)
{
	static const int key[] = { MPI_F_GIVEN, MPI_F_FAMILY, MPI_F_DOB };

	if (!(r->p > 1e-5 && r->p < 0.999))
		return 0;
	for (size_t i = 0; i < sizeof(key) / sizeof(key[0]); i++) {
		int f = key[i];
		if (!(skip & 1u << f) && present[f] > 0 &&
		    !(r->m[f][0] > 2 * r->u[f][0] && r->m[f][0] + r->m[f][1] >= 0.5))
			return 0;
	}
	return 1;
}

/*
 * Fitting, in three steps (the blocked pairs alone mislead EM: they agree
 * on their blocking fields by construction, and on a population with few
 * streets or a handful of common surnames EM happily calls such a
 * cluster "the matches"):
 *
 * 1. u from random pairs of records: almost all non-matches, so the share
 *    of each agreement level among them is u directly, no EM needed.
 * 2. m per blocking rule: EM with u held, on the pairs that rule brings,
 *    leaving out the fields the rule's key is made of (they agree there
 *    whatever the truth).  A rule's fit that is degenerate (see plausible)
 *    is dropped; each field's m is the average over the rules that saw it,
 *    weighted by the matches each rule found.
 * 3. p, the share of matches among candidate pairs (the prior of every
 *    search): the most matches one rule found (its p times its pairs)
 *    over all candidate pairs.  Not EM on all pairs with m and u held:
 *    blocked non-matches agree on their key fields far more often than
 *    random pairs, and such an EM (conditional independence broken)
 *    counted many of them as matches (p 0.41 where the truth was < 0.05).
 *    A pair in two rules' blocks is counted twice, so p errs low: towards
 *    review, not towards a wrong link.
 */
#define RULE_MIN_PAIRS 50

hie_err
mpi_train(mpi *m, size_t max_pairs, struct mpi_model *out)
{
	struct mpi_model model, cur;
	uint64_t        *pairs = NULL, records, ents;
	uint8_t         *vec = NULL;
	size_t           n = 0, nrand, rules_used = 0;
	double           wsum[MPI_NFIELDS] = { 0 }, msum[MPI_NFIELDS][MPI_MAXLEVELS] = { { 0 } };
	double           matches = 0, all, cand;
	uint64_t         blocks, skipped;
	int              iters = 0;
	hie_err          e;

	if ((e = mpi_model_get(m, &cur)) != HIE_OK || (e = mpi_count(m, &records, &ents)) != HIE_OK)
		return e;
	if (records < 2 || max_pairs == 0)
		return HIE_ENOTFOUND; /* nothing to learn from yet */
	/* Always from the priors, not from the last fit: a fit is a
	 * function of the data, not of the order the node was trained in. */
	mpi_model_default(&model);
	model.link = cur.link;
	model.review = cur.review;

	/* 1. u */
	nrand = (size_t) (records * 4 < 20000 ? 20000 : records * 4);
	if (nrand > 1000000)
		nrand = 1000000;
	if (nrand > max_pairs)
		nrand = max_pairs;
	if ((e = random_pairs(records, nrand, &pairs)) != HIE_OK ||
	    (e = vectors_of(m, pairs, nrand, &vec)) != HIE_OK)
		goto done;
	if ((e = mpi_em_u_from(vec, nrand, &model)) != HIE_OK)
		goto done;
	free(pairs), free(vec);
	pairs = NULL, vec = NULL;

	/* 2. m, rule by rule */
	for (const char *r = MPI_BLOCK_RULES; *r; r++) {
		unsigned         skip = mpi_block_rule_fields(*r);
		struct mpi_model rm = model;
		double           present[MPI_NFIELDS] = { 0 };
		if ((e = mpi_block_pairs_rule(m, *r, max_pairs, &pairs, &n, &all)) != HIE_OK)
			goto done;
		if (n < RULE_MIN_PAIRS) {
			free(pairs);
			pairs = NULL;
			continue;
		}
		if ((e = vectors_of(m, pairs, n, &vec)) != HIE_OK)
			goto done;
		for (size_t i = 0; i < n; i++)
			for (int f = 0; f < MPI_NFIELDS; f++) {
				uint8_t *l = &vec[i * MPI_NFIELDS + f];
				if (skip & 1u << f)
					*l = MPI_MISSING;
				else if (*l != MPI_MISSING)
					present[f] += 1;
			}
		rm.p = 0.1;
		if ((e = mpi_em_fit_opt(vec, n, &rm, 500, 1e-7, MPI_EM_FIX_U)) != HIE_OK)
			goto done;
		iters += rm.iterations;
		if (plausible(&rm, present, skip)) {
			rules_used++;
			if (rm.p * all > matches)
				matches = rm.p * all;
			for (int f = 0; f < MPI_NFIELDS; f++) {
				/* Weight: the matches this rule found with f present. */
				double w = rm.p * present[f];
				if ((skip & 1u << f) || w <= 0)
					continue;
				wsum[f] += w;
				for (int l = 0; l < mpi_field_levels(f); l++)
					msum[f][l] += w * rm.m[f][l];
			}
		}
		free(pairs), free(vec);
		pairs = NULL, vec = NULL;
	}
	if (rules_used == 0) {
		e = HIE_ENOTFOUND; /* no rule found matches: keep the model in force */
		goto done;
	}
	for (int f = 0; f < MPI_NFIELDS; f++)
		if (wsum[f] > 0)
			for (int l = 0; l < mpi_field_levels(f); l++)
				model.m[f][l] = msum[f][l] / wsum[f];

	/* 3. p */
	if ((e = mpi_block_stats(m, &cand, &blocks, &skipped)) != HIE_OK)
		goto done;
	if (cand < 1) {
		e = HIE_ENOTFOUND;
		goto done;
	}
	if ((e = mpi_family_count(m, &model)) != HIE_OK)
		goto done;
	model.p = fmin(fmax(matches / cand, 1e-6), 0.5);
	model.pairs = (uint64_t) cand;
	model.trained = 1;
	model.iterations = iters;
	if ((e = mpi_model_set(m, &model)) != HIE_OK)
		goto done;
	if (out != NULL)
		*out = model;
done:
	free(vec);
	free(pairs);
	return e;
}

/* ---- surname frequencies ---- */

static unsigned
family_bucket(const char *family)
{
	uint32_t h = 2166136261u;

	for (; *family; family++)
		h = (h ^ (unsigned char) *family) * 16777619u;
	return (h ^ h >> 16) % MPI_FREQ_BUCKETS;
}

hie_err
mpi_family_count(mpi *m, struct mpi_model *model)
{
	uint32_t   *count = calloc(MPI_FREQ_BUCKETS, sizeof(*count));
	double      total = 0, mean = 0;
	MDB_txn    *txn;
	MDB_cursor *c;
	MDB_val     k, v;
	int         rc;

	if (count == NULL)
		return HIE_ENOMEM;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0) {
		free(count);
		return hie_store_err(rc);
	}
	if ((rc = mdb_cursor_open(txn, m->key, &c)) == 0) {
		for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			struct mpi_mk mk;
			if (mpi_mk_decode(v.mv_data, v.mv_size, &mk) != HIE_OK)
				continue;
			/* Every surname a record goes by (maiden and married
			 * names alike), each once. */
			for (unsigned i = 0; i < mk.nname; i++) {
				unsigned j = 0;
				while (j < i && strcmp(mk.name[j].family, mk.name[i].family) != 0)
					j++;
				if (j < i || mk.name[i].family[0] == '\0')
					continue;
				count[family_bucket(mk.name[i].family)]++;
				total += 1;
			}
		}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND) {
		free(count);
		return hie_store_err(rc);
	}
	memset(model->family_freq, 0, sizeof(model->family_freq));
	model->family_mean = 0;
	if (total >= 2) {
		/* A bucket nobody had at training: as rare as one record. */
		for (unsigned i = 0; i < MPI_FREQ_BUCKETS; i++) {
			double share = (count[i] > 0 ? count[i] : 1) / total, q = -log2(share) * 4;
			model->family_freq[i] = (uint8_t) fmin(fmax(round(q), 1), 255);
			mean += count[i] > 0 ? share * share : 0;
		}
		model->family_mean = mean;
	}
	free(count);
	return HIE_OK;
}

double
mpi_family_adjust(const struct mpi_model *m, const char *family)
{
	unsigned q;

	if (m->family_mean <= 0 || family == NULL || family[0] == '\0' ||
	    (q = m->family_freq[family_bucket(family)]) == 0)
		return 0;
	/* A random non-match agrees on this surname with probability its
	 * share; the model's u for agreement is that of a typical surname. */
	return fmin(fmax(log2(m->family_mean) + q / 4.0, -MPI_FREQ_MAX_BITS), MPI_FREQ_MAX_BOOST);
}
