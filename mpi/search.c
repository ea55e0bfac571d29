/*
 * mpi/search.c -- scoring the candidates of a match key and grouping them
 * by enterprise id: the one path behind both matching a new record and a
 * demographic search (PDQ, XCPD).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/internal.h"

struct scan {
	mpi                     *m;
	MDB_txn                 *txn;
	const struct mpi_mk     *k;
	const struct mpi_scorer *sc;
	struct mpi_agg              *agg; /* MPI_CAND_MAX */
	size_t                   n;
	hie_err                  err;
};

/* Same assigning authority, different identifier: that authority says
 * these are two patients, whatever the demographics look like. */
int
mpi_id_conflict(const struct mpi_mk *a, const struct mpi_mk *b)
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
	struct mpi_agg   *a;
	uint8_t       lv[MPI_NFIELDS];
	double        w;

	if (s->n >= MPI_CAND_MAX)
		return 1;
	if ((s->err = mpi_mk_get(s->m, s->txn, rid, &c)) != HIE_OK)
		return 1;
	a = &s->agg[s->n++];
	/* A candidate that cannot reach the threshold still brings its
	 * identifier conflict to its enterprise id. */
	*a = (struct mpi_agg) { c.eid, 0, -INFINITY, mpi_id_conflict(s->k, &c) };
	if (mpi_score_pair(s->sc, s->k, &c, lv, &w))
		a->rid = rid, a->weight = w;
	return 0;
}

/* Whether any record of enterprise id eid has an identifier conflicting
 * with k's (the first 256 records). */
static hie_err
eid_conflict(mpi *m, MDB_txn *txn, const struct mpi_mk *k, uint64_t eid, int *conflict)
{
	uint64_t rids[256];
	size_t   n;
	hie_err  e;

	*conflict = 0;
	if (k->nidh == 0)
		return HIE_OK;
	if ((e = mpi_members_txn(m, txn, eid, rids, 256, &n)) != HIE_OK)
		return e;
	for (size_t i = 0; i < n && i < 256 && !*conflict; i++) {
		struct mpi_mk c;
		if ((e = mpi_mk_get(m, txn, rids[i], &c)) != HIE_OK)
			return e;
		*conflict = mpi_id_conflict(k, &c);
	}
	return HIE_OK;
}

static int
eid_cmp(const void *a, const void *b)
{
	const struct mpi_agg *x = a, *y = b;
	return x->eid < y->eid ? -1 : x->eid > y->eid;
}

static int
agg_cmp(const void *a, const void *b)
{
	const struct mpi_agg *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return x->eid < y->eid ? -1 : x->eid > y->eid;
}

static double
posterior(double w)
{
	if (w > 60)
		return 1.0;
	if (w < -60)
		return 0.0;
	return 1.0 / (1.0 + exp2(-w));
}

/* Groups the candidates by enterprise id in place: per id the best
 * scored record and whether any record conflicts; ids with no scored
 * record dropped.  Returns the number of ids. */
static size_t
group(struct mpi_agg *a, size_t n)
{
	size_t w = 0;

	if (n > 1)
		qsort(a, n, sizeof(*a), eid_cmp);
	for (size_t i = 0; i < n;) {
		struct mpi_agg g = a[i];
		size_t     j = i + 1;
		for (; j < n && a[j].eid == g.eid; j++) {
			g.conflict |= a[j].conflict;
			if (a[j].rid != 0 && (g.rid == 0 || a[j].weight > g.weight))
				g.rid = a[j].rid, g.weight = a[j].weight;
		}
		if (g.rid != 0)
			a[w++] = g;
		i = j;
	}
	return w;
}

hie_err
mpi_agg_finish(struct mpi_agg *a, size_t na, const struct mpi_scorer *sc, double min_prob,
    hie_err (*eid_conflict_fn)(void *arg, uint64_t eid, int *conflict), void *arg,
    struct mpi_candidate *out, size_t cap, size_t *n)
{
	const struct mpi_model *model = sc->model;
	size_t                  w = group(a, na);
	hie_err                 e = HIE_OK;

	*n = 0;
	if (w > 1)
		qsort(a, w, sizeof(*a), agg_cmp);
	for (size_t i = 0; i < w && *n < cap; i++) {
		double p = posterior(a[i].weight + sc->prior);
		/* A conflicting identifier never links automatically: at most
		 * a possible match for a person to decide.  Candidates ruled
		 * out by their signature were never read, so an id about to
		 * link is checked whole. */
		if (p >= model->link && !a[i].conflict && (e = eid_conflict_fn(arg, a[i].eid, &a[i].conflict)) != HIE_OK)
			break;
		if (a[i].conflict && p >= model->link)
			p = model->review + (model->link - model->review) / 2;
		if (p < min_prob)
			continue;
		out[(*n)++] = (struct mpi_candidate) { a[i].eid, a[i].rid, a[i].weight, p };
	}
	return e;
}

struct conflict_arg {
	mpi                 *m;
	MDB_txn             *txn;
	const struct mpi_mk *k;
};

static hie_err
store_eid_conflict(void *arg, uint64_t eid, int *conflict)
{
	struct conflict_arg *c = arg;
	return eid_conflict(c->m, c->txn, c->k, eid, conflict);
}

hie_err
mpi_score_candidates(mpi *m, MDB_txn *txn, const struct mpi_mk *k, const struct mpi_model *model,
    double min_prob, struct mpi_candidate *out, size_t cap, size_t *n)
{
	struct mpi_scorer   sc;
	struct scan         s = { m, txn, k, &sc, NULL, 0, HIE_OK };
	struct conflict_arg ca = { m, txn, k };
	hie_err             e;

	*n = 0;
	mpi_scorer_init(&sc, model, min_prob);
	mpi_scorer_query(&sc, k);
	if ((s.agg = malloc(MPI_CAND_MAX * sizeof(*s.agg))) == NULL)
		return HIE_ENOMEM;
	if ((e = mpi_block_candidates_sig(m, txn, k, &sc, score_one, &s)) == HIE_OK)
		e = s.err;
	if (e == HIE_OK)
		e = mpi_agg_finish(s.agg, s.n, &sc, min_prob, store_eid_conflict, &ca, out, cap, n);
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
		k.nname = 0; /* the placeholder name compares with nothing */
	free(p);
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((e = mpi_model_load(m, txn, &model)) == HIE_OK)
		e = mpi_score_candidates(m, txn, &k, &model, min_prob, out, cap, n);
	mdb_txn_abort(txn);
	return e;
}
