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
		return mpi_mdb_err(rc);
	if ((e = mpi_mk_get(m, txn, a, &ka)) == HIE_OK && (e = mpi_mk_get(m, txn, b, &kb)) == HIE_OK)
		mpi_mk_compare(&ka, &kb, lv);
	mdb_txn_abort(txn);
	return e;
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
	if ((vec = malloc(n * MPI_NFIELDS)) == NULL) {
		e = HIE_ENOMEM;
		goto done;
	}
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0) {
		e = mpi_mdb_err(rc);
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
