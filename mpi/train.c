/*
 * mpi/train.c -- fitting the model on the node's own data: the candidate
 * pairs the blocking index produces, compared field by field, then EM.
 */
#include <stdlib.h>

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

/* Blocking pairs are mostly matches; alone they teach EM little about
 * what agreement by chance looks like (u), so as many random pairs of
 * records are added: the other component of the mixture, from the same
 * data.  A fixed-seed generator keeps a fit reproducible. */
static hie_err
add_random_pairs(mpi *m, uint64_t **pairs, size_t *n, size_t max_pairs)
{
	uint64_t  records, ents, x = 0x2545f4914f6cdd1dull, *np;
	size_t    extra = *n;

	if (mpi_count(m, &records, &ents) != HIE_OK || records < 2)
		return HIE_OK;
	if (*n + extra > max_pairs)
		extra = max_pairs > *n ? max_pairs - *n : 0;
	if ((np = realloc(*pairs, 2 * (*n + extra) * sizeof(uint64_t))) == NULL)
		return HIE_ENOMEM;
	*pairs = np;
	for (size_t i = 0; i < extra; i++) {
		uint64_t a, b;
		do {
			/* xorshift64*; rids are dense from 1 (none deleted). */
			x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
			a = (x * 0x2545f4914f6cdd1dull) % records + 1;
			x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
			b = (x * 0x2545f4914f6cdd1dull) % records + 1;
		} while (a == b);
		np[2 * (*n + i)] = a;
		np[2 * (*n + i) + 1] = b;
	}
	*n += extra;
	return HIE_OK;
}

hie_err
mpi_train(mpi *m, size_t max_pairs, struct mpi_model *out)
{
	struct mpi_model model, cur;
	uint64_t        *pairs = NULL;
	uint8_t         *vec = NULL;
	size_t           n = 0;
	MDB_txn         *txn = NULL;
	hie_err          e;
	int              rc;

	if ((e = mpi_model_get(m, &cur)) != HIE_OK)
		return e;
	if ((e = mpi_block_pairs(m, max_pairs, &pairs, &n)) != HIE_OK)
		return e;
	if (n == 0) {
		e = HIE_ENOTFOUND; /* nothing to learn from yet */
		goto done;
	}
	if ((e = add_random_pairs(m, &pairs, &n, max_pairs)) != HIE_OK)
		goto done;
	if ((vec = malloc(n * MPI_NFIELDS)) == NULL) {
		e = HIE_ENOMEM;
		goto done;
	}
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0) {
		e = hie_store_err(rc);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		struct mpi_mk a, b;
		if ((e = mpi_mk_get(m, txn, pairs[2 * i], &a)) != HIE_OK ||
		    (e = mpi_mk_get(m, txn, pairs[2 * i + 1], &b)) != HIE_OK)
			goto done;
		mpi_mk_compare(&a, &b, vec + i * MPI_NFIELDS);
	}
	/* Always from the priors, not from the last fit: a fit is a
	 * function of the data, not of the order the node was trained in. */
	mpi_model_default(&model);
	model.link = cur.link;
	model.review = cur.review;
	if ((e = mpi_em_fit(vec, n, &model, 500, 1e-7)) != HIE_OK)
		goto done;
	if ((e = mpi_model_set(m, &model)) != HIE_OK)
		goto done;
	if (out != NULL)
		*out = model;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	free(vec);
	free(pairs);
	return e;
}
