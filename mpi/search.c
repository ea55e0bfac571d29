/*
 * mpi/search.c -- scoring the candidates of a match key and grouping them
 * by enterprise id: the one path behind both matching a new record and a
 * demographic search (PDQ, XCPD).
 */
#include <stdlib.h>
#include <string.h>

#include "mpi/internal.h"

struct agg {
	uint64_t eid, rid;
	double   weight, prob;
	int      conflict;
};

struct scan {
	mpi                    *m;
	MDB_txn                *txn;
	const struct mpi_mk    *k;
	const struct mpi_model *model;
	struct agg             *agg;
	size_t                  n;
	hie_err                 err;
};

/* Same assigning authority, different identifier: that authority says
 * these are two patients, whatever the demographics look like. */
static int
id_conflict(const struct mpi_mk *a, const struct mpi_mk *b)
{
	for (unsigned i = 0; i < a->nidh; i++)
		for (unsigned j = 0; j < b->nidh; j++)
			if (a->idh[i] >> 32 == b->idh[j] >> 32 && a->idh[i] != b->idh[j])
				return 1;
	return 0;
}

static int
score_one(uint64_t rid, void *arg)
{
	struct scan  *s = arg;
	struct mpi_mk c;
	uint8_t       lv[MPI_NFIELDS];
	double        w, p;
	size_t        i;

	if ((s->err = mpi_mk_get(s->m, s->txn, rid, &c)) != HIE_OK)
		return 1;
	mpi_mk_compare(s->k, &c, lv);
	w = mpi_model_weight(s->model, lv);
	p = mpi_model_prob(s->model, lv);
	for (i = 0; i < s->n && s->agg[i].eid != c.eid; i++)
		;
	if (i == s->n)
		s->agg[s->n++] = (struct agg) { c.eid, rid, w, p, 0 };
	else if (w > s->agg[i].weight)
		s->agg[i].rid = rid, s->agg[i].weight = w, s->agg[i].prob = p;
	s->agg[i].conflict |= id_conflict(s->k, &c);
	return 0;
}

static int
agg_cmp(const void *a, const void *b)
{
	const struct agg *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return x->eid < y->eid ? -1 : x->eid > y->eid;
}

hie_err
mpi_score_candidates(mpi *m, MDB_txn *txn, const struct mpi_mk *k, const struct mpi_model *model,
    double min_prob, struct mpi_candidate *out, size_t cap, size_t *n)
{
	struct scan s = { m, txn, k, model, NULL, 0, HIE_OK };
	hie_err     e;

	*n = 0;
	if ((s.agg = malloc(MPI_CAND_MAX * sizeof(*s.agg))) == NULL)
		return HIE_ENOMEM;
	if ((e = mpi_block_candidates(m, txn, k, score_one, &s)) == HIE_OK)
		e = s.err;
	if (e == HIE_OK) {
		qsort(s.agg, s.n, sizeof(*s.agg), agg_cmp);
		for (size_t i = 0; i < s.n && *n < cap; i++) {
			double p = s.agg[i].prob;
			/* A conflicting identifier never links automatically:
			 * at most a possible match for a person to decide. */
			if (s.agg[i].conflict && p >= model->link)
				p = model->review + (model->link - model->review) / 2;
			if (p < min_prob)
				continue;
			out[(*n)++] = (struct mpi_candidate) { s.agg[i].eid, s.agg[i].rid, s.agg[i].weight, p };
		}
	}
	free(s.agg);
	return e;
}

hie_err
mpi_search(mpi *m, const struct mpi_patient *q, double min_prob, struct mpi_candidate *out, size_t cap,
    size_t *n)
{
	struct mpi_patient *p;
	struct mpi_model    model;
	struct mpi_mk       k;
	MDB_txn            *txn;
	char                why[128];
	hie_err             e;
	int                 rc;

	*n = 0;
	if ((p = malloc(sizeof(*p))) == NULL)
		return HIE_ENOMEM;
	*p = *q;
	/* A query needs less than a record: a name, a birth date or an id.
	 * Validation still applies (an invalid date is an error, not a
	 * query that matches nothing). */
	if (p->n_names == 0 && p->birth_date[0] == '\0' && p->n_ids == 0) {
		free(p);
		return HIE_EINVAL;
	}
	if (p->n_names == 0) {
		p->n_names = 1;
		memset(&p->names[0], 0, sizeof(p->names[0]));
		hie_strlcpy(p->names[0].family, "x", sizeof(p->names[0].family));
	}
	e = mpi_validate(p, why, sizeof(why));
	if (e == HIE_EINVAL && strstr(why, "neither a birth date") != NULL)
		e = HIE_OK;
	if (e != HIE_OK) {
		free(p);
		return e;
	}
	mpi_mk_build(p, &k);
	if (q->n_names == 0)
		k.given[0] = k.canon[0] = k.given_ph[0] = k.family[0] = k.family_ph[0] = '\0';
	free(p);
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((e = mpi_model_load(m, txn, &model)) == HIE_OK)
		e = mpi_score_candidates(m, txn, &k, &model, min_prob, out, cap, n);
	mdb_txn_abort(txn);
	return e;
}
