/*
 * mpi/bulk.c -- mpi_add_batch: a batch matched in parallel, then written
 * in one transaction in key order.
 *
 * Adding records one by one inside a transaction costs, per record, seven
 * blocking-index lookups and seven inserts at random places of a B-tree
 * that grows with the store: at a million records nearly every one is a
 * cache miss, and the write transaction's dirty-page list is searched on
 * every read.  A batch is done in three steps instead, with the same
 * result as adding its records in order:
 *
 *  1. in parallel (one thread per core), each record is validated and
 *     normalised, and compared with the store as the write transaction
 *     found it (read transactions of worker threads see exactly that
 *     snapshot, since the write lock is held) and with the records before
 *     it in the batch that share a blocking key (an in-memory block);
 *     pair scores do not depend on enterprise ids, so all of this is
 *     independent of the other records' outcomes;
 *  2. in batch order, on one thread: deterministic identifiers, which
 *     blocks are over the cap once the batch's earlier records count,
 *     grouping by enterprise id (a batch record's id is the one step 2
 *     gave it) and the link/review decision, as mpi_add_one makes them;
 *  3. the writes: records, match keys and history appended in rid order,
 *     the enterprise, identifier and blocking indexes sorted by key so
 *     that consecutive inserts land on the same pages.
 * Nothing is written before step 3 and the batch commits as a whole, so
 * an acknowledged batch is durable and a failed one leaves nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi/internal.h"

#define REVIEW_MAX 3
#define MAX_THREADS 8

_Static_assert(MPI_NKEYS <= 16, "struct bcand's keys has a bit per blocking key");

/* A candidate of one record: a stored record or an earlier batch record. */
struct bcand {
	uint64_t rid;   /* stored record (0: batch record bidx) */
	uint64_t eid;   /* stored record's enterprise id */
	double   weight;
	uint32_t bidx;
	uint16_t keys;  /* bit kk: shares blocking key kk with the record */
	uint8_t  scored, conflict;
};

struct brec {
	struct mpi_mk k;
	struct mpi_scorer sc; /* the batch's, with this record's surname frequency */
	char          keys[MPI_NKEYS][MPI_KEY_LEN];
	size_t        nk;
	uint64_t      sig;
	uint32_t      kpos[MPI_NKEYS];    /* position in the sorted key array */
	size_t        scount[MPI_NKEYS];  /* stored block sizes */
	uint32_t      ipos[MPI_MAX_IDS];  /* position in the sorted id array (UINT32_MAX: none) */
	uint64_t      ideid[MPI_MAX_IDS][2]; /* first two distinct stored owners per id */
	struct bcand *c;
	size_t        nc;
	int           valid, accepted;
	uint64_t      rid, eid;
	uint32_t      prev_member; /* earlier batch record with the same eid (UINT32_MAX: none) */
};

/* A blocking key or identifier of a batch record, for the in-memory blocks. */
struct bent {
	uint64_t    h;
	const char *s;
	size_t      len;
	uint32_t    j;
	uint8_t     kk;
};

/* A stored block as pass a found it: its size, and its members' (rid,
 * signature) pairs in buf[from..to). */
struct sblock {
	size_t          count;
	const uint64_t *buf;
	size_t          from, to;
};

/* A stored candidate of record j (its c[ci]), for pass c. */
struct cref {
	uint64_t rid;
	uint32_t j, ci;
};

struct bulk {
	mpi                     *m;
	/* Records r[0..n0) are the previous batch's, still being written by
	 * the stream's writer when this batch is matched (mpi_add_stream):
	 * copies of what matching reads (match key, keys, signature), and
	 * their outcomes once that batch is decided; r[n0..n0+n) are this
	 * batch's, p[j - n0] and res[j - n0] theirs.  pp: the previous
	 * batch's records (their identifiers), src its brec array. */
	size_t                   n0;
	const struct mpi_patient *pp;
	const struct brec       *src;
	MDB_txn                 *snap[MAX_THREADS]; /* stream: the snapshot each pass thread reads */
	size_t                   rcap; /* r's size: a stream keeps it from batch to batch */
	uint64_t                *sigv; /* r[j].sig, compact: the loops over a block's members read it */
	const struct mpi_model  *model;
	struct mpi_scorer        sc;
	struct mpi_patient      *p;
	struct mpi_result       *res;
	struct brec             *r;
	size_t                   n;
	unsigned                 flags;
	struct bent             *ke, *ie;  /* sorted keys and identifiers */
	uint32_t                *kstart, *istart; /* first entry of each entry's group */
	size_t                   nke, nie;
	char                    *idkeys;   /* the identifiers' mpi.idx keys, 300 bytes each */
	uint32_t                *dk;       /* group starts of ke: the distinct keys, in LMDB order */
	size_t                   ndk;
	struct sblock           *sb;       /* per group start: the stored block */
	struct cref             *cr;       /* stored candidates, by rid */
	size_t                   ncr;
};

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char) s[i]) * 1099511628211ull;
	return h;
}

static int
bent_cmp(const void *a, const void *b)
{
	const struct bent *x = a, *y = b;
	int                c;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((c = memcmp(x->s, y->s, x->len)) != 0)
		return c;
	return x->j < y->j ? -1 : x->j > y->j;
}

static int
bent_same(const struct bent *x, const struct bent *y)
{
	return x->h == y->h && x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

static int
deterministic(const struct mpi_ident *x)
{
	return strcmp(x->type, "SS") != 0;
}

/* authority NUL id, the mpi.idx key. */
static size_t
id_key(const struct mpi_ident *x, char *key)
{
	size_t a = strlen(x->cx.authority), l = strlen(x->cx.id);

	memcpy(key, x->cx.authority, a);
	key[a] = '\0';
	memcpy(key + a + 1, x->cx.id, l);
	return a + 1 + l;
}

static int
cand_cmp(const void *a, const void *b)
{
	const struct bcand *x = a, *y = b;

	if (x->rid != y->rid)
		return x->rid < y->rid ? -1 : 1;
	return x->bidx < y->bidx ? -1 : x->bidx > y->bidx;
}

/* Step 1 is done in three passes, each splitting its work between the
 * threads, so that the store is read in key order: consecutive lookups
 * through one cursor land on the same or the next leaf page, which LMDB
 * finds without going down the tree again (at a million records a page
 * not in the CPU's cache costs more than all the comparing).
 *   a. the batch's distinct blocking keys, in LMDB's key order: each
 *      stored block read once (its size, and rid + signature of each
 *      member when under the cap), however many batch records share it;
 *   b. per record: the members whose signature can reach the threshold,
 *      the batch's earlier records with the same keys (scored here), and
 *      the stored owners of its identifiers;
 *   c. every stored candidate of the batch in rid order: its match key
 *      read once, scored against each record that has it. */

struct tbuf {
	uint64_t *v;
	size_t    n, cap;
};

struct pass_arg {
	struct bulk *b;
	MDB_txn     *txn; /* the snapshot to read (NULL: a read transaction of its own) */
	size_t       from, to;
	struct tbuf  buf;
	hie_err      err;
};

static int
lmdb_key_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);

	return c != 0 ? c : la < lb ? -1 : la > lb;
}

static hie_err
tbuf_add(struct tbuf *t, uint64_t a, uint64_t b)
{
	if (t->n + 2 > t->cap) {
		uint64_t *g = realloc(t->v, (t->cap = t->cap ? t->cap * 2 : 4096) * sizeof(*g));
		if (g == NULL)
			return HIE_ENOMEM;
		t->v = g;
	}
	t->v[t->n++] = a;
	t->v[t->n++] = b;
	return HIE_OK;
}

/* A read transaction on the store (each pass thread its own; LMDB read
 * transactions are cheap), or the stream's snapshot for this thread, and
 * a cursor on dbi in it. */
static hie_err
snapshot_cursor(struct pass_arg *a, MDB_dbi dbi, MDB_txn **txn, MDB_cursor **c)
{
	int rc;

	if (a->txn != NULL)
		*txn = a->txn;
	else if ((rc = mdb_txn_begin(a->b->m->env, NULL, MDB_RDONLY, txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_cursor_open(*txn, dbi, c)) != 0) {
		if (a->txn == NULL)
			mdb_txn_abort(*txn);
		return hie_store_err(rc);
	}
	return HIE_OK;
}

static void
snapshot_done(struct pass_arg *a, MDB_txn *txn, MDB_cursor *c)
{
	if (c != NULL)
		mdb_cursor_close(c);
	if (a->txn == NULL)
		mdb_txn_abort(txn);
}

/* Pass a over b->dk[from..to): results in b->sb, indexed by the key's
 * group start in b->ke; members in this thread's buffer (its index in
 * sb->buf once all are done, the buffers may move while growing). */
static void *
pass_blocks(void *arg)
{
	struct pass_arg *a = arg;
	struct bulk     *b = a->b;
	MDB_txn         *txn;
	MDB_cursor      *c;
	int              rc;

	if ((a->err = snapshot_cursor(a, b->m->blk, &txn, &c)) != HIE_OK)
		return NULL;
	for (size_t i = a->from; i < a->to && a->err == HIE_OK; i++) {
		const struct bent *e = &b->ke[b->dk[i]];
		struct sblock     *sb = &b->sb[b->dk[i]];
		MDB_val            k = { e->len, (void *) e->s }, v;
		size_t             count = 0;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
		if (rc == 0)
			rc = mdb_cursor_count(c, &count);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		sb->count = count;
		sb->from = sb->to = a->buf.n;
		if (rc == 0 && count > 0 && count <= MPI_BLOCK_CAP) {
			for (rc = mdb_cursor_get(c, &k, &v, MDB_GET_MULTIPLE); rc == 0 && a->err == HIE_OK;
			     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_MULTIPLE))
				for (size_t x = 0; x + MPI_BLK_VAL <= v.mv_size && count > 0; x += MPI_BLK_VAL, count--) {
					const char *d = (const char *) v.mv_data + x;
					a->err = tbuf_add(&a->buf, mpi_u64_get(d), mpi_u64_get(d + 8));
				}
			if (rc == MDB_NOTFOUND)
				rc = 0;
			sb->to = a->buf.n;
		}
		if (rc != 0)
			a->err = hie_store_err(rc);
	}
	snapshot_done(a, txn, c);
	return NULL;
}

static hie_err
cand_add(struct bcand **c, size_t *nc, size_t *cap, struct bcand x)
{
	if (*nc == *cap) {
		struct bcand *g = realloc(*c, (*cap = *cap ? *cap * 2 : 64) * sizeof(**c));
		if (g == NULL)
			return HIE_ENOMEM;
		*c = g;
	}
	(*c)[(*nc)++] = x;
	return HIE_OK;
}

/* Pass b for record j. */
static hie_err
match_one(struct bulk *b, MDB_txn *txn, MDB_cursor *idx, size_t j)
{
	struct brec              *r = &b->r[j];
	const struct mpi_patient *p = &b->p[j - b->n0];
	struct bcand             *c = NULL;
	size_t                    nc = 0, cap = 0, u = 0;
	hie_err                   e = HIE_OK;
	int                       rc;

	/* Stored owners of each deterministic identifier. */
	for (size_t x = 0; x < p->n_ids; x++) {
		char    key[300];
		MDB_val k, v;
		if (r->ipos[x] == UINT32_MAX)
			continue;
		k.mv_size = id_key(&p->ids[x], key);
		k.mv_data = key;
		for (rc = mdb_cursor_get(idx, &k, &v, MDB_SET_KEY); rc == 0;
		     rc = mdb_cursor_get(idx, &k, &v, MDB_NEXT_DUP)) {
			struct mpi_mk mk;
			if ((e = mpi_mk_get(b->m, txn, mpi_u64_get(v.mv_data), &mk)) != HIE_OK)
				return e;
			if (r->ideid[x][0] == 0)
				r->ideid[x][0] = mk.eid;
			else if (mk.eid != r->ideid[x][0]) {
				r->ideid[x][1] = mk.eid;
				break;
			}
		}
		if (rc != 0 && rc != MDB_NOTFOUND)
			return hie_store_err(rc);
	}
	if (b->flags & MPI_ADD_NOMATCH)
		return HIE_OK;
	r->sc = b->sc;
	mpi_scorer_query(&r->sc, &r->k);

	for (size_t kk = 0; kk < r->nk && e == HIE_OK; kk++) {
		const struct sblock *sb = &b->sb[b->kstart[r->kpos[kk]]];
		r->scount[kk] = sb->count;
		if (sb->count > MPI_BLOCK_CAP)
			continue; /* skipped whatever the batch adds */
		for (size_t x = sb->from; x < sb->to && e == HIE_OK; x += 2)
			if (mpi_sig_bound(&r->sc, r->sig, sb->buf[x + 1]) >= r->sc.min_w)
				e = cand_add(&c, &nc, &cap, (struct bcand) { sb->buf[x], 0, 0, 0, (uint16_t) (1u << kk), 0, 0 });
		/* The batch's earlier records with this key. */
		for (uint32_t q = b->kstart[r->kpos[kk]]; q < r->kpos[kk] && e == HIE_OK; q++) {
			uint32_t i = b->ke[q].j;
			if (mpi_sig_bound(&r->sc, r->sig, b->sigv[i]) >= r->sc.min_w)
				e = cand_add(&c, &nc, &cap, (struct bcand) { 0, 0, 0, i, (uint16_t) (1u << kk), 0, 0 });
		}
	}
	if (e != HIE_OK) {
		free(c);
		return e;
	}
	/* Each candidate once (its keys merged), stored ones by rid first. */
	if (nc > 1)
		qsort(c, nc, sizeof(*c), cand_cmp);
	for (size_t i = 0; i < nc; i++) {
		if (u > 0 && c[i].rid == c[u - 1].rid && c[i].bidx == c[u - 1].bidx) {
			c[u - 1].keys |= c[i].keys;
			continue;
		}
		c[u++] = c[i];
	}
	for (size_t i = 0; i < u; i++) {
		const struct mpi_mk *o = &b->r[c[i].bidx].k;
		uint8_t              lv[MPI_NFIELDS];
		if (c[i].rid != 0)
			continue; /* pass c */
		c[i].conflict = (uint8_t) mpi_id_conflict(&r->k, o);
		c[i].scored = (uint8_t) mpi_score_pair(&r->sc, &r->k, o, lv, &c[i].weight);
	}
	r->c = c;
	r->nc = u;
	return HIE_OK;
}

static void *
pass_records(void *arg)
{
	struct pass_arg *a = arg;
	struct bulk     *b = a->b;
	MDB_txn         *txn;
	MDB_cursor      *idx = NULL;

	if ((a->err = snapshot_cursor(a, b->m->idx, &txn, &idx)) != HIE_OK)
		return NULL;
	for (size_t j = a->from; j < a->to && a->err == HIE_OK; j++)
		if (b->r[j].valid)
			a->err = match_one(b, txn, idx, j);
	snapshot_done(a, txn, idx);
	return NULL;
}

/* Pass c over b->cr[from..to), sorted by rid. */
static void *
pass_keys(void *arg)
{
	struct pass_arg *a = arg;
	struct bulk     *b = a->b;
	struct mpi_mk    mk;
	uint64_t         have = 0;
	MDB_txn         *txn;
	MDB_cursor      *c;
	int              rc;

	if ((a->err = snapshot_cursor(a, b->m->key, &txn, &c)) != HIE_OK)
		return NULL;
	for (size_t i = a->from; i < a->to && a->err == HIE_OK; i++) {
		const struct cref *x = &b->cr[i];
		struct bcand      *cd = &b->r[x->j].c[x->ci];
		uint8_t            lv[MPI_NFIELDS];
		if (x->rid != have) {
			unsigned char kb[8];
			MDB_val       k = { 8, kb }, v;
			mpi_u64_put(kb, x->rid);
			if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY)) != 0) {
				a->err = hie_store_err(rc);
				break;
			}
			if ((a->err = mpi_mk_decode(v.mv_data, v.mv_size, &mk)) != HIE_OK)
				break;
			have = x->rid;
		}
		cd->eid = mk.eid;
		cd->conflict = (uint8_t) mpi_id_conflict(&b->r[x->j].k, &mk);
		cd->scored = (uint8_t) mpi_score_pair(&b->r[x->j].sc, &b->r[x->j].k, &mk, lv, &cd->weight);
	}
	snapshot_done(a, txn, c);
	return NULL;
}

static int
dk_cmp(const void *x, const void *y, void *arg)
{
	const struct bent *ke = arg, *a = &ke[*(const uint32_t *) x], *b = &ke[*(const uint32_t *) y];

	return lmdb_key_cmp(a->s, a->len, b->s, b->len);
}

static int
cref_cmp(const void *x, const void *y)
{
	const struct cref *a = x, *b = y;

	return a->rid < b->rid ? -1 : a->rid > b->rid;
}

/* Step 0, also in parallel: validation and match keys. */

static void *
prep(void *arg)
{
	struct pass_arg *a = arg;
	struct bulk     *b = a->b;
	time_t           now = time(NULL);

	for (size_t j = a->from; j < a->to; j++) {
		struct brec        *r = &b->r[j];
		struct mpi_result  *res = &b->res[j - b->n0];
		struct mpi_patient *p = &b->p[j - b->n0];
		/* What the passes read before they set it (r is reused from
		 * batch to batch), set here where the record is being touched
		 * anyway: a separate pass over 3 kB records costs a cache and
		 * TLB miss each. */
		r->c = NULL;
		r->nc = r->nk = 0;
		r->valid = r->accepted = 0;
		r->rid = r->eid = 0;
		memset(r->ideid, 0, sizeof(r->ideid));
		memset(res, 0, sizeof(*res));
		if ((res->err = mpi_validate(p, res->why, sizeof(res->why))) != HIE_OK)
			continue;
		if (p->updated == 0)
			p->updated = (int64_t) now;
		mpi_mk_build(p, &r->k);
		r->nk = mpi_block_keys(&r->k, r->keys);
		r->sig = mpi_sig(&r->k);
		r->valid = 1;
	}
	return NULL;
}

static size_t
nthreads(size_t n)
{
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	size_t t = c < 1 ? 1 : c > MAX_THREADS ? MAX_THREADS : (size_t) c;

	return n < 256 ? 1 : t;
}

/* Runs fn on t threads (the calling one among them). */
static void
run_parallel(size_t t, void *(*fn)(void *), void *args, size_t argsize)
{
	pthread_t th[MAX_THREADS];
	int       started[MAX_THREADS] = { 0 };

	for (size_t i = 1; i < t; i++)
		started[i] = pthread_create(&th[i], NULL, fn, (char *) args + i * argsize) == 0;
	for (size_t i = 1; i < t; i++)
		if (!started[i])
			fn((char *) args + i * argsize); /* no thread: do its share here */
	fn(args);
	for (size_t i = 1; i < t; i++)
		if (started[i])
			pthread_join(th[i], NULL);
}

/* Sorted entries and the start of each one's group. */
static hie_err
sort_entries(struct bent *e, size_t n, uint32_t **start, struct brec *r, int ids)
{
	uint32_t *s;

	qsort(e, n, sizeof(*e), bent_cmp);
	if ((s = malloc((n ? n : 1) * sizeof(*s))) == NULL)
		return HIE_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s[i] = i > 0 && bent_same(&e[i], &e[i - 1]) ? s[i - 1] : (uint32_t) i;
		if (ids)
			r[e[i].j].ipos[e[i].kk] = (uint32_t) i;
		else
			r[e[i].j].kpos[e[i].kk] = (uint32_t) i;
	}
	*start = s;
	return HIE_OK;
}

/* ---- step 2 ---- */

struct eidmap {
	uint64_t *key;
	uint32_t *last;
	size_t    cap;
};

static uint32_t *
eidmap_slot(struct eidmap *em, uint64_t eid)
{
	size_t i = (size_t) ((eid * 0x9e3779b97f4a7c15ull) >> 7) & (em->cap - 1);

	while (em->key[i] != 0 && em->key[i] != eid)
		i = (i + 1) & (em->cap - 1);
	if (em->key[i] == 0) {
		em->key[i] = eid;
		em->last[i] = UINT32_MAX;
	}
	return &em->last[i];
}

struct conflict_ctx {
	struct bulk   *b;
	MDB_txn       *txn;
	struct eidmap *em;
	size_t         j;
};

/* As search.c's: the first 256 members of eid in rid order -- the stored
 * ones, then the batch's. */
static hie_err
batch_eid_conflict(void *arg, uint64_t eid, int *conflict)
{
	struct conflict_ctx *x = arg;
	const struct mpi_mk *k = &x->b->r[x->j].k;
	uint64_t             rids[256];
	uint32_t             bm[256];
	size_t               n, nb = 0;
	hie_err              e;

	*conflict = 0;
	if (k->nidh == 0)
		return HIE_OK;
	if ((e = mpi_members_txn(x->b->m, x->txn, eid, rids, 256, &n)) != HIE_OK)
		return e;
	for (size_t i = 0; i < n && i < 256 && !*conflict; i++) {
		struct mpi_mk c;
		if ((e = mpi_mk_get(x->b->m, x->txn, rids[i], &c)) != HIE_OK)
			return e;
		*conflict = mpi_id_conflict(k, &c);
	}
	for (uint32_t i = *eidmap_slot(x->em, eid); i != UINT32_MAX; i = x->b->r[i].prev_member)
		if (nb < 256)
			bm[nb++] = i;
		else /* keep the first 256: shift */
			memmove(bm, bm + 1, 255 * sizeof(*bm)), bm[255] = i;
	/* bm is newest first; members in rid order are oldest first. */
	for (size_t q = 0; q < nb && n + q < 256 && !*conflict; q++)
		*conflict = mpi_id_conflict(k, &x->b->r[bm[nb - 1 - q]].k);
	return HIE_OK;
}

/* The enterprise id the record's identifiers point to, as id_owner in
 * ops.c finds it: stored holders then the batch's, identifier by
 * identifier.  HIE_EAMBIGUOUS when two (res->why says which). */
static hie_err
batch_owner(struct bulk *b, size_t j, uint64_t *eid)
{
	struct brec *r = &b->r[j];
	uint64_t     other = 0;

	*eid = 0;
	for (size_t x = 0; x < b->p[j - b->n0].n_ids && other == 0; x++) {
		if (r->ipos[x] == UINT32_MAX)
			continue;
		/* The first two distinct stored owners, in the order a
		 * lookup meets them: the first one differing from *eid is
		 * among them. */
		for (int q = 0; q < 2 && other == 0; q++) {
			uint64_t v = r->ideid[x][q];
			if (v == 0)
				continue;
			if (*eid != 0 && v != *eid)
				other = v;
			else
				*eid = v;
		}
		for (uint32_t q = b->istart[r->ipos[x]]; q < r->ipos[x] && other == 0; q++) {
			const struct brec *o = &b->r[b->ie[q].j];
			if (!o->accepted)
				continue;
			if (*eid != 0 && o->eid != *eid)
				other = o->eid;
			else
				*eid = o->eid;
		}
	}
	if (other == 0)
		return HIE_OK;
	snprintf(b->res[j - b->n0].why, sizeof(b->res[j - b->n0].why), "identifiers already belong to enterprise ids %llu and %llu",
	    (unsigned long long) *eid, (unsigned long long) other);
	return HIE_EAMBIGUOUS;
}

/* Number of accepted batch records before entry pos in its group, up to
 * limit + 1. */
static size_t
live_before(const struct bulk *b, uint32_t pos, size_t limit)
{
	size_t n = 0;

	for (uint32_t q = b->kstart[pos]; q < pos && n <= limit; q++)
		n += b->r[b->ke[q].j].accepted != 0;
	return n;
}

static hie_err
counter_get(mpi *m, MDB_txn *txn, const char *name, uint64_t *v)
{
	MDB_val k = { strlen(name), (void *) name }, d;
	int     rc = mdb_get(txn, m->meta, &k, &d);

	*v = 0;
	if (rc == MDB_NOTFOUND)
		return HIE_OK;
	if (rc != 0)
		return hie_store_err(rc);
	if (d.mv_size != 8)
		return HIE_EDB;
	*v = mpi_u64_get(d.mv_data);
	return HIE_OK;
}

static hie_err
counter_set(mpi *m, MDB_txn *txn, const char *name, uint64_t v)
{
	unsigned char b[8];
	MDB_val       k = { strlen(name), (void *) name }, d = { 8, b };

	mpi_u64_put(b, v);
	return hie_store_err(mdb_put(txn, m->meta, &k, &d, 0));
}

struct review_ent {
	uint64_t rid, eid;
	double   prob;
};

/* Step 2: every record's outcome, in batch order. */
static hie_err
decide(struct bulk *b, MDB_txn *txn, struct review_ent **rv, size_t *nrv)
{
	struct eidmap   em;
	struct mpi_agg *agg = NULL;
	size_t          aggcap = 0, rvcap = 0;
	uint64_t        rid, eid;
	hie_err         e = HIE_OK;

	*rv = NULL;
	*nrv = 0;
	em.cap = 64;
	while (em.cap < 2 * b->n)
		em.cap *= 2;
	em.key = calloc(em.cap, sizeof(*em.key));
	em.last = calloc(em.cap, sizeof(*em.last));
	if (em.key == NULL || em.last == NULL) {
		e = HIE_ENOMEM;
		goto done;
	}
	if ((e = counter_get(b->m, txn, "rid", &rid)) != HIE_OK || (e = counter_get(b->m, txn, "eid", &eid)) != HIE_OK)
		goto done;
	/* The previous batch's outcomes (it is decided: its writer has
	 * finished with it). */
	for (size_t j = 0; j < b->n0; j++) {
		b->r[j].accepted = b->src[j].accepted;
		b->r[j].rid = b->src[j].rid;
		b->r[j].eid = b->src[j].eid;
	}
	for (size_t j = b->n0; j < b->n0 + b->n; j++) {
		struct brec         *r = &b->r[j];
		struct mpi_result   *res = &b->res[j - b->n0];
		struct mpi_candidate cand[REVIEW_MAX + 1];
		size_t               nc = 0, na = 0, nreview = 0;
		uint64_t             owner;
		unsigned             live = 0;

		if (!r->valid)
			continue;
		if ((e = batch_owner(b, j, &owner)) == HIE_EAMBIGUOUS) {
			res->err = e;
			e = HIE_OK;
			continue;
		}
		if (e != HIE_OK)
			goto done;
		if (owner != 0) {
			res->outcome = MPI_LINKED_ID;
			res->prob = 1;
		} else if (!(b->flags & MPI_ADD_NOMATCH)) {
			struct conflict_ctx cx = { b, txn, &em, j };
			for (size_t kk = 0; kk < r->nk; kk++)
				if (r->scount[kk] <= MPI_BLOCK_CAP &&
				    r->scount[kk] + live_before(b, r->kpos[kk], MPI_BLOCK_CAP) <= MPI_BLOCK_CAP)
					live |= 1u << kk;
			if (aggcap < r->nc) {
				free(agg);
				if ((agg = malloc((aggcap = r->nc) * sizeof(*agg))) == NULL) {
					e = HIE_ENOMEM;
					goto done;
				}
			}
			/* Stored candidates come first (lower rids), batch ones
			 * in batch order, i.e. rid order: the cap keeps the
			 * same ones as a lookup would. */
			for (size_t i = 0; i < r->nc && na < MPI_CAND_MAX; i++) {
				const struct bcand *c = &r->c[i];
				uint64_t            ce = c->eid, cr = c->rid;
				if (!(c->keys & live))
					continue;
				if (cr == 0) {
					if (!b->r[c->bidx].accepted)
						continue;
					ce = b->r[c->bidx].eid;
					cr = b->r[c->bidx].rid;
				}
				agg[na++] = (struct mpi_agg) { ce, c->scored ? cr : 0, c->scored ? c->weight : -1e300,
					c->conflict };
			}
			if ((e = mpi_agg_finish(agg, na, &b->sc, b->model->review, batch_eid_conflict, &cx, cand,
			         REVIEW_MAX + 1, &nc)) != HIE_OK)
				goto done;
			res->prob = nc > 0 ? cand[0].prob : 0;
			if (nc > 0 && cand[0].prob >= b->model->link && !(nc > 1 && cand[1].prob >= b->model->link)) {
				owner = cand[0].eid;
				res->outcome = MPI_LINKED_MATCH;
			} else if (nc > 0) {
				res->outcome = MPI_REVIEW;
				nreview = nc > REVIEW_MAX ? REVIEW_MAX : nc;
			}
		}
		r->rid = ++rid;
		r->eid = owner != 0 ? owner : ++eid;
		r->accepted = 1;
		{
			uint32_t *last = eidmap_slot(&em, r->eid);
			r->prev_member = *last;
			*last = (uint32_t) j;
		}
		res->rid = b->p[j - b->n0].rid = r->rid;
		res->eid = b->p[j - b->n0].eid = r->eid;
		for (size_t i = 0; i < nreview; i++) {
			if (*nrv == rvcap) {
				struct review_ent *g = realloc(*rv, (rvcap = rvcap ? rvcap * 2 : 16) * sizeof(**rv));
				if (g == NULL) {
					e = HIE_ENOMEM;
					goto done;
				}
				*rv = g;
			}
			(*rv)[(*nrv)++] = (struct review_ent) { r->rid, cand[i].eid, cand[i].prob };
		}
	}
	if ((e = counter_set(b->m, txn, "rid", rid)) == HIE_OK)
		e = counter_set(b->m, txn, "eid", eid);
done:
	free(agg);
	free(em.key);
	free(em.last);
	return e;
}

/* ---- step 3: the writes ---- */

struct kv {
	uint64_t      pfx; /* the key's first 8 bytes, big-endian, zero padded */
	const void   *k;
	size_t        klen;
	unsigned char v[MPI_BLK_VAL];
};

/* Sorting compares the prefixes first: the keys themselves are spread
 * over the batch's records, and reading them was most of the sort. */
static uint64_t
kv_prefix(const void *k, size_t len)
{
	unsigned char b[8] = { 0 };

	memcpy(b, k, len < 8 ? len : 8);
	return mpi_u64_get(b);
}

static int
kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int              c;

	/* Zero padding keeps LMDB's order (bytes, then the shorter key
	 * first): a prefix that differs decides. */
	if (x->pfx != y->pfx)
		return x->pfx < y->pfx ? -1 : 1;
	c = lmdb_key_cmp(x->k, x->klen, y->k, y->klen);
	return c != 0 ? c : memcmp(x->v, y->v, MPI_BLK_VAL);
}

/* Inserts the sorted pairs through one cursor: consecutive keys share
 * their pages, so the path down the tree is in cache. */
static hie_err
put_sorted(MDB_txn *txn, MDB_dbi dbi, struct kv *e, size_t n, size_t vlen)
{
	MDB_cursor *c;
	int         rc;

	for (size_t i = 0; i < n; i++)
		e[i].pfx = kv_prefix(e[i].k, e[i].klen);
	qsort(e, n, sizeof(*e), kv_cmp);
	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return hie_store_err(rc);
	for (size_t i = 0; i < n && rc == 0; i++) {
		MDB_val k = { e[i].klen, (void *) e[i].k }, v = { vlen, e[i].v };
		if (k.mv_size == 0 || k.mv_size > 511)
			continue; /* LMDB's key limit: not indexed, as mpi_index */
		if ((rc = mdb_cursor_put(c, &k, &v, MDB_NODUPDATA)) == MDB_KEYEXIST)
			rc = 0;
	}
	mdb_cursor_close(c);
	return hie_store_err(rc);
}

/* The blocking index entries of the batch's accepted records.  Matching
 * sorted the distinct keys in LMDB's order already (b->dk) and each key's
 * records are in batch order, i.e. rid order, the order of a key's
 * values: no sort here, where it would hold up the stream's writer. */
static hie_err
put_blocks(struct bulk *b, MDB_txn *txn)
{
	MDB_cursor *c;
	uint64_t   *rid = malloc((b->n ? b->n : 1) * sizeof(*rid));
	int         rc;

	if (rid == NULL)
		return HIE_ENOMEM;
	/* Record ids (0: not accepted) in a compact array: the entries
	 * below visit the records in key order, and a 3 kB record each
	 * time would be a cache miss each. */
	for (size_t j = 0; j < b->n; j++)
		rid[j] = b->r[b->n0 + j].accepted ? b->r[b->n0 + j].rid : 0;
	if ((rc = mdb_cursor_open(txn, b->m->blk, &c)) != 0) {
		free(rid);
		return hie_store_err(rc);
	}
	for (size_t d = 0; d < b->ndk && rc == 0; d++) {
		uint32_t g = b->dk[d];
		for (size_t i = g; i < b->nke && b->kstart[i] == g && rc == 0; i++) {
			const struct bent *x = &b->ke[i];
			unsigned char      v[MPI_BLK_VAL];
			MDB_val            k = { x->len, (void *) x->s }, dv = { MPI_BLK_VAL, v };
			if (x->j < b->n0 || rid[x->j - b->n0] == 0 || x->len == 0 || x->len > 511)
				continue; /* the previous batch's; refused; LMDB's key limit (as mpi_index) */
			mpi_u64_put(v, rid[x->j - b->n0]);
			mpi_u64_put(v + 8, b->sigv[x->j]);
			if ((rc = mdb_cursor_put(c, &k, &dv, MDB_NODUPDATA)) == MDB_KEYEXIST)
				rc = 0;
		}
	}
	mdb_cursor_close(c);
	free(rid);
	return hie_store_err(rc);
}

static hie_err
write_all(struct bulk *b, MDB_txn *txn, const struct review_ent *rv, size_t nrv)
{
	struct kv *idx = NULL, *eid = NULL;
	char      *idkeys = NULL;
	size_t     ni = 0, ne = 0, nacc = 0, nids = 0;
	hie_err    e = HIE_OK;

	for (size_t j = 0; j < b->n; j++)
		if (b->r[b->n0 + j].accepted)
			nacc++, nids += b->p[j].n_ids;
	if (nacc == 0)
		return HIE_OK;
	idx = malloc((nids ? nids : 1) * sizeof(*idx));
	eid = malloc(nacc * sizeof(*eid));
	idkeys = malloc((nids ? nids : 1) * 300);
	if (idx == NULL || eid == NULL || idkeys == NULL) {
		e = HIE_ENOMEM;
		goto done;
	}
	for (size_t j = 0; j < b->n && e == HIE_OK; j++) {
		struct brec  *r = &b->r[b->n0 + j];
		struct mpi_mk k;
		if (!r->accepted)
			continue;
		/* A copy: the next batch's matching may be reading r->k (the
		 * stream), and only the stored key carries the eid. */
		k = r->k;
		k.eid = r->eid;
		/* Records, match keys and history: rids ascending, appended. */
		if ((e = mpi_rec_put(b->m, txn, &b->p[j])) != HIE_OK || (e = mpi_mk_put(b->m, txn, r->rid, &k)) != HIE_OK ||
		    (e = mpi_hist_put(b->m, txn, r->rid, MPI_H_ADD, 0, r->eid)) != HIE_OK)
			break;
		eid[ne].k = &r->eid;
		eid[ne].klen = 0; /* set below, once the keys are big-endian */
		mpi_u64_put(eid[ne].v, r->rid);
		ne++;
		for (size_t x = 0; x < b->p[j].n_ids; x++) {
			char *key = idkeys + ni * 300;
			idx[ni] = (struct kv) { 0, key, id_key(&b->p[j].ids[x], key), { 0 } };
			mpi_u64_put(idx[ni].v, r->rid);
			ni++;
		}
	}
	if (e != HIE_OK)
		goto done;
	{
		/* Enterprise index keys: big-endian eids, kept in the record's
		 * scratch (r->k.eid is host order). */
		unsigned char *ek = malloc(ne * 8);
		if (ek == NULL) {
			e = HIE_ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < ne; i++) {
			mpi_u64_put(ek + 8 * i, *(const uint64_t *) eid[i].k);
			eid[i].k = ek + 8 * i;
			eid[i].klen = 8;
		}
		e = put_sorted(txn, b->m->eid, eid, ne, 8);
		if (e == HIE_OK)
			e = put_sorted(txn, b->m->idx, idx, ni, 8);
		if (e == HIE_OK)
			e = put_blocks(b, txn);
		free(ek);
	}
	for (size_t i = 0; i < nrv && e == HIE_OK; i++)
		e = mpi_review_put(b->m, txn, rv[i].rid, rv[i].eid, rv[i].prob);
done:
	free(idx);
	free(eid);
	free(idkeys);
	return e;
}

/* Step 0 and step 1 of b (its fields m, model, p, res, n, flags and, in
 * a stream, n0, pp, src and snap set): validation, match keys, and every
 * candidate scored.  Reads the store only (snap, or read transactions of
 * its own). */
static hie_err
bulk_match(struct bulk *b)
{
	struct pass_arg pa[MAX_THREADS];
	size_t          n = b->n, n0 = b->n0, t = nthreads(n), nke = 0, nie = 0;
	hie_err         e = HIE_OK;

	mpi_scorer_init(&b->sc, b->model, b->model->review);
	/* r is kept from batch to batch (a stream): 20,000 records of it are
	 * 30 MB, which a fresh allocation would take page fault by page
	 * fault each time.  prep and the copy below set what is read. */
	if (b->rcap < n0 + n) {
		free(b->r);
		b->rcap = n0 + n ? n0 + n : 1;
		if ((b->r = malloc(b->rcap * sizeof(*b->r))) == NULL) {
			b->rcap = 0;
			return HIE_ENOMEM;
		}
	}
	memset(pa, 0, sizeof(pa));
	for (size_t i = 0; i < t; i++)
		pa[i] = (struct pass_arg) { b, b->snap[i], n0 + n * i / t, n0 + n * (i + 1) / t, { NULL, 0, 0 }, HIE_OK };
	run_parallel(t, prep, pa, sizeof(pa[0]));
	/* The previous batch: what matching reads of it (its writer is
	 * deciding and writing it meanwhile, which touches other fields). */
	for (size_t j = 0; j < n0; j++) {
		struct brec       *r = &b->r[j];
		const struct brec *o = &b->src[j];
		r->c = NULL;
		r->nc = r->nk = 0;
		r->accepted = 0;
		if (!(r->valid = o->valid))
			continue;
		r->k = o->k;
		r->nk = o->nk;
		memcpy(r->keys, o->keys, o->nk * sizeof(o->keys[0]));
		r->sig = o->sig;
	}

	/* The in-memory blocks: the keys and identifiers of both batches,
	 * sorted. */
	for (size_t j = 0; j < n0 + n; j++) {
		nke += b->r[j].nk;
		nie += j < n0 ? b->pp[j].n_ids : b->p[j - n0].n_ids;
	}
	b->ke = malloc((nke ? nke : 1) * sizeof(*b->ke));
	b->ie = malloc((nie ? nie : 1) * sizeof(*b->ie));
	b->idkeys = malloc((nie ? nie : 1) * 300);
	b->sigv = malloc((n0 + n ? n0 + n : 1) * sizeof(*b->sigv));
	if (b->ke == NULL || b->ie == NULL || b->idkeys == NULL || b->sigv == NULL) {
		e = HIE_ENOMEM;
		goto done;
	}
	for (size_t j = 0; j < n0 + n; j++) {
		struct brec              *r = &b->r[j];
		const struct mpi_patient *p = j < n0 ? &b->pp[j] : &b->p[j - n0];
		for (size_t x = 0; x < MPI_MAX_IDS; x++)
			r->ipos[x] = UINT32_MAX;
		b->sigv[j] = r->valid ? r->sig : 0;
		if (!r->valid)
			continue;
		for (size_t kk = 0; kk < r->nk; kk++) {
			size_t len = strlen(r->keys[kk]);
			b->ke[b->nke++] = (struct bent) { hash_bytes(r->keys[kk], len), r->keys[kk], len, (uint32_t) j,
				(uint8_t) kk };
		}
		for (size_t x = 0; x < p->n_ids; x++) {
			char  *key = b->idkeys + 300 * b->nie;
			size_t len;
			if (!deterministic(&p->ids[x]))
				continue;
			len = id_key(&p->ids[x], key);
			b->ie[b->nie++] = (struct bent) { hash_bytes(key, len), key, len, (uint32_t) j, (uint8_t) x };
		}
	}
	if ((e = sort_entries(b->ke, b->nke, &b->kstart, b->r, 0)) != HIE_OK ||
	    (e = sort_entries(b->ie, b->nie, &b->istart, b->r, 1)) != HIE_OK)
		goto done;

	/* Pass a: the distinct keys (group starts) of this batch's records,
	 * in LMDB's order (a key only the previous batch has is not looked
	 * up: nobody here needs its block). */
	b->dk = malloc((b->nke ? b->nke : 1) * sizeof(*b->dk));
	b->sb = calloc(b->nke ? b->nke : 1, sizeof(*b->sb));
	if (b->dk == NULL || b->sb == NULL) {
		e = HIE_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < b->nke; i++)
		if (b->ke[i].j >= n0 && (b->ndk == 0 || b->dk[b->ndk - 1] != b->kstart[i]))
			b->dk[b->ndk++] = b->kstart[i];
	qsort_r(b->dk, b->ndk, sizeof(*b->dk), dk_cmp, b->ke);
	if (!(b->flags & MPI_ADD_NOMATCH)) {
		for (size_t i = 0; i < t; i++)
			pa[i] = (struct pass_arg) { b, b->snap[i], b->ndk * i / t, b->ndk * (i + 1) / t, { NULL, 0, 0 }, HIE_OK };
		run_parallel(t, pass_blocks, pa, sizeof(pa[0]));
		for (size_t i = 0; i < t; i++) {
			/* The buffers are final now: point the blocks at them. */
			for (size_t d = b->ndk * i / t; d < b->ndk * (i + 1) / t; d++)
				b->sb[b->dk[d]].buf = pa[i].buf.v;
			if (e == HIE_OK)
				e = pa[i].err;
		}
		if (e != HIE_OK)
			goto done;
	}
	/* Pass b: per record. */
	for (size_t i = 0; i < t; i++)
		pa[i] = (struct pass_arg) { b, b->snap[i], n0 + n * i / t, n0 + n * (i + 1) / t, { pa[i].buf.v, 0, 0 },
			HIE_OK };
	run_parallel(t, pass_records, pa, sizeof(pa[0]));
	for (size_t i = 0; i < t && e == HIE_OK; i++)
		e = pa[i].err;
	if (e != HIE_OK)
		goto done;
	/* Pass c: the stored candidates' match keys in rid order. */
	for (size_t j = n0; j < n0 + n; j++)
		for (size_t ci = 0; ci < b->r[j].nc; ci++)
			b->ncr += b->r[j].c[ci].rid != 0;
	if ((b->cr = malloc((b->ncr ? b->ncr : 1) * sizeof(*b->cr))) == NULL) {
		e = HIE_ENOMEM;
		goto done;
	}
	b->ncr = 0;
	for (size_t j = n0; j < n0 + n; j++)
		for (size_t ci = 0; ci < b->r[j].nc; ci++)
			if (b->r[j].c[ci].rid != 0)
				b->cr[b->ncr++] = (struct cref) { b->r[j].c[ci].rid, (uint32_t) j, (uint32_t) ci };
	if (b->ncr > 1)
		qsort(b->cr, b->ncr, sizeof(*b->cr), cref_cmp);
	for (size_t i = 0; i < t; i++)
		pa[i] = (struct pass_arg) { b, b->snap[i], b->ncr * i / t, b->ncr * (i + 1) / t, { pa[i].buf.v, 0, 0 },
			HIE_OK };
	run_parallel(t, pass_keys, pa, sizeof(pa[0]));
	for (size_t i = 0; i < t && e == HIE_OK; i++)
		e = pa[i].err;
done:
	/* What deciding and writing need is in b->r, ke, ie, their group
	 * starts and dk. */
	free(b->sb);
	free(b->cr);
	b->sb = NULL;
	b->cr = NULL;
	for (size_t i = 0; i < t; i++)
		free(pa[i].buf.v);
	return e;
}

/* Steps 2 and 3 in the write transaction txn. */
static hie_err
bulk_write(struct bulk *b, MDB_txn *txn)
{
	struct review_ent *rv = NULL;
	size_t             nrv = 0;
	hie_err            e;

	if ((e = decide(b, txn, &rv, &nrv)) == HIE_OK)
		e = write_all(b, txn, rv, nrv);
	free(rv);
	return e;
}

/* Frees what matching b allocated, except r (bulk_free). */
static void
bulk_reset(struct bulk *b)
{
	if (b->r != NULL)
		for (size_t j = 0; j < b->n0 + b->n; j++) {
			free(b->r[j].c);
			b->r[j].c = NULL;
		}
	free(b->ke);
	free(b->ie);
	free(b->idkeys);
	free(b->sigv);
	b->sigv = NULL;
	free(b->kstart);
	free(b->istart);
	free(b->dk);
	free(b->sb);
	free(b->cr);
	b->ke = b->ie = NULL;
	b->idkeys = NULL;
	b->kstart = b->istart = b->dk = NULL;
	b->sb = NULL;
	b->cr = NULL;
	b->nke = b->nie = b->ndk = b->ncr = 0;
}

static void
bulk_free(struct bulk *b)
{
	bulk_reset(b);
	free(b->r);
	b->r = NULL;
	b->rcap = 0;
}

hie_err
mpi_add_bulk(mpi *m, MDB_txn *txn, const struct mpi_model *model, struct mpi_patient *p, size_t n,
    unsigned flags, struct mpi_result *res)
{
	struct bulk b;
	hie_err     e;

	memset(&b, 0, sizeof(b));
	b.m = m;
	b.model = model;
	b.p = p;
	b.res = res;
	b.n = n;
	b.flags = flags;
	if ((e = bulk_match(&b)) == HIE_OK)
		e = bulk_write(&b, txn);
	bulk_free(&b);
	return e;
}

/* ---- mpi_add_stream: batch k matched while batch k - 1 is written ----
 *
 * The caller's thread reads batch k (next), validates and matches it;
 * one writer thread decides, writes and commits the batches in order.
 * Batch k is matched while the writer has batch k - 1: against the store
 * as batch k - 2's commit left it (a snapshot taken before batch k - 1
 * commits) plus batch k - 1's records in memory, as the records before
 * it in a batch of its own -- so its candidates and their scores are
 * those the store would give after batch k - 1, and batch k - 1's
 * outcomes, which deciding batch k needs, are known by the time the
 * writer decides it.
 *
 * That holds only if nobody else wrote in between.  The writer checks
 * it with LMDB's transaction ids: batch k's write transaction must come
 * right after batch k - 1's, and that one right after the snapshot batch
 * k was matched against (ids count commits).  Otherwise (another process
 * or thread committed meanwhile) batch k is matched again inside its
 * write transaction, as mpi_add_batch does, and so is the batch after it
 * (whose snapshot misses the same commit).  Each batch is one durable
 * transaction; done() is called only after it committed. */

#define NSLOT 3

struct slot {
	struct bulk         b;
	struct mpi_model    model;
	struct mpi_patient *p;
	struct mpi_result  *res;
	size_t              n;
	uint64_t            snap_id, wtxn_id; /* the snapshot matched against; the write transaction */
	struct slot        *prev;             /* the batch matched as b.r[0..n0), NULL: none */
	int                 state;            /* S_* */
	hie_err             err;
};

enum { S_FREE, S_QUEUED, S_DONE };

struct stream {
	mpi            *m;
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	struct slot    *queue[NSLOT];
	size_t          qhead, qlen;
	uint64_t        gate;  /* batches whose snapshot is taken (the writer commits batch k when gate > k + 1) */
	uint64_t        eof;   /* no more batches: commit without waiting */
	hie_err         werr;  /* a batch failed: the ones after it are not written */
	unsigned        flags;
};

/* Batch s (number k) in its write transaction. */
static hie_err
stream_write(struct stream *st, struct slot *s, uint64_t k)
{
	MDB_txn *txn;
	hie_err  e;
	int      rc, same;

	if ((rc = mdb_txn_begin(st->m->env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	s->wtxn_id = (uint64_t) mdb_txn_id(txn);
	/* Nobody committed between the snapshot, the previous batch and this
	 * one (see above). */
	if (s->prev != NULL)
		same = s->prev->wtxn_id == s->snap_id + 1 && s->wtxn_id == s->prev->wtxn_id + 1;
	else
		same = s->wtxn_id == s->snap_id + 1;
	if (same) {
		e = bulk_write(&s->b, txn);
	} else {
		/* Matched again under the write lock.  The records were
		 * validated in place already, which validating again keeps. */
		struct bulk again;
		memset(&again, 0, sizeof(again));
		again.m = st->m;
		again.model = &s->model;
		again.p = s->p;
		again.res = s->res;
		again.n = s->n;
		again.flags = st->flags;
		if ((e = mpi_model_load(st->m, txn, &s->model)) == HIE_OK && (e = bulk_match(&again)) == HIE_OK)
			e = bulk_write(&again, txn);
		/* The next batch reads this one's outcomes from s->b.r. */
		for (size_t j = 0; j < s->n && e == HIE_OK; j++) {
			struct brec *r = &s->b.r[s->b.n0 + j];
			r->accepted = again.r[j].accepted;
			r->rid = again.r[j].rid;
			r->eid = again.r[j].eid;
		}
		bulk_free(&again);
	}
	if (e != HIE_OK) {
		mdb_txn_abort(txn);
		return e;
	}
	/* Batch k + 1's snapshot must not see this commit. */
	pthread_mutex_lock(&st->mu);
	while (st->gate < k + 2 && !st->eof)
		pthread_cond_wait(&st->cv, &st->mu);
	pthread_mutex_unlock(&st->mu);
	if ((rc = mdb_txn_commit(txn)) != 0)
		return hie_store_err(rc);
	return HIE_OK;
}

static void *
stream_writer(void *arg)
{
	struct stream *st = arg;
	uint64_t       k = 0;

	pthread_mutex_lock(&st->mu);
	for (;;) {
		struct slot *s;
		hie_err      e;
		while (st->qlen == 0 && !st->eof)
			pthread_cond_wait(&st->cv, &st->mu);
		if (st->qlen == 0)
			break;
		s = st->queue[st->qhead];
		e = st->werr;
		pthread_mutex_unlock(&st->mu);
		if (e == HIE_OK)
			e = stream_write(st, s, k);
		pthread_mutex_lock(&st->mu);
		st->qhead = (st->qhead + 1) % NSLOT;
		st->qlen--;
		s->err = e;
		s->state = S_DONE;
		if (e != HIE_OK && st->werr == HIE_OK)
			st->werr = e;
		k++;
		pthread_cond_broadcast(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* Waits for batch s to be written; done() for it; s free again. */
static hie_err
stream_finish(struct stream *st, struct slot *s,
    hie_err (*done)(void *arg, struct mpi_patient *p, struct mpi_result *res, size_t n), void *arg)
{
	hie_err e;

	pthread_mutex_lock(&st->mu);
	while (s->state == S_QUEUED)
		pthread_cond_wait(&st->cv, &st->mu);
	pthread_mutex_unlock(&st->mu);
	if (s->state != S_DONE)
		return HIE_OK;
	s->state = S_FREE;
	if ((e = s->err) != HIE_OK) {
		for (size_t i = 0; i < s->n; i++)
			s->p[i].rid = s->p[i].eid = 0, s->res[i].rid = s->res[i].eid = 0, s->res[i].err = e;
		return e;
	}
	return done(arg, s->p, s->res, s->n);
}

/* t read transactions on one snapshot (retried if a commit lands between
 * two of them); *id the snapshot's transaction id. */
static hie_err
snapshot_open(mpi *m, size_t t, MDB_txn **txn, uint64_t *id)
{
	for (;;) {
		size_t i;
		int    rc = 0;
		for (i = 0; i < t; i++)
			if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn[i])) != 0)
				break;
		if (i == t && mdb_txn_id(txn[t - 1]) == mdb_txn_id(txn[0])) {
			*id = (uint64_t) mdb_txn_id(txn[0]);
			return HIE_OK;
		}
		while (i > 0)
			mdb_txn_abort(txn[--i]);
		if (rc != 0)
			return hie_store_err(rc);
	}
}

static void
snapshot_close(MDB_txn **txn, size_t t)
{
	for (size_t i = 0; i < t; i++) {
		if (txn[i] != NULL)
			mdb_txn_abort(txn[i]);
		txn[i] = NULL;
	}
}

hie_err
mpi_add_stream(mpi *m, size_t batch, unsigned flags,
    hie_err (*next)(void *arg, struct mpi_patient *p, size_t cap, size_t *n),
    hie_err (*done)(void *arg, struct mpi_patient *p, struct mpi_result *res, size_t n), void *arg)
{
	struct stream st;
	struct slot   slot[NSLOT];
	pthread_t     writer;
	size_t        t = nthreads(batch), k, fin = 0;
	hie_err       e = HIE_OK, e2;

	if (batch == 0)
		return HIE_EINVAL;
	memset(&st, 0, sizeof(st));
	memset(slot, 0, sizeof(slot));
	st.m = m;
	st.flags = flags;
	for (size_t i = 0; i < NSLOT; i++) {
		slot[i].p = malloc(batch * sizeof(*slot[i].p));
		slot[i].res = malloc(batch * sizeof(*slot[i].res));
		if (slot[i].p == NULL || slot[i].res == NULL) {
			e = HIE_ENOMEM;
			goto out;
		}
	}
	pthread_mutex_init(&st.mu, NULL);
	pthread_cond_init(&st.cv, NULL);
	if (pthread_create(&writer, NULL, stream_writer, &st) != 0) {
		e = HIE_ENOMEM;
		goto out_sync;
	}
	for (k = 0;; k++) {
		struct slot *s = &slot[k % NSLOT];
		/* Batch k - 2 written (so the store is as batch k is to be
		 * matched against, and the slot's last user, batch k - 3, is
		 * no batch's previous any more). */
		if (k >= 2 && (e = stream_finish(&st, &slot[(k - 2) % NSLOT], done, arg)) != HIE_OK) {
			fin = k - 1;
			break;
		}
		fin = k >= 2 ? k - 1 : 0;
		bulk_reset(&s->b);
		s->b.n0 = 0;
		s->b.pp = NULL;
		s->b.src = NULL;
		if ((e = snapshot_open(m, t, s->b.snap, &s->snap_id)) != HIE_OK)
			break;
		pthread_mutex_lock(&st.mu);
		st.gate = k + 1; /* batch k - 1 may commit now */
		pthread_cond_broadcast(&st.cv);
		pthread_mutex_unlock(&st.mu);
		s->n = 0;
		if ((e = next(arg, s->p, batch, &s->n)) != HIE_OK || s->n == 0 ||
		    (e = mpi_model_load(m, s->b.snap[0], &s->model)) != HIE_OK) {
			snapshot_close(s->b.snap, t);
			break;
		}
		if (s->n > batch)
			s->n = batch;
		s->b.m = m;
		s->b.model = &s->model;
		s->b.p = s->p;
		s->b.res = s->res;
		s->b.n = s->n;
		s->b.flags = flags;
		s->prev = NULL;
		if (k > 0) {
			s->prev = &slot[(k - 1) % NSLOT];
			s->b.n0 = s->prev->n;
			s->b.pp = s->prev->p;
			s->b.src = s->prev->b.r + s->prev->b.n0;
		}
		e = bulk_match(&s->b);
		snapshot_close(s->b.snap, t);
		if (e != HIE_OK)
			break;
		pthread_mutex_lock(&st.mu);
		s->state = S_QUEUED;
		st.queue[(st.qhead + st.qlen) % NSLOT] = s;
		st.qlen++;
		pthread_cond_broadcast(&st.cv);
		pthread_mutex_unlock(&st.mu);
	}
	/* The batches queued are written (or refused after a failed one). */
	pthread_mutex_lock(&st.mu);
	st.eof = 1;
	pthread_cond_broadcast(&st.cv);
	pthread_mutex_unlock(&st.mu);
	for (size_t j = fin; j < k; j++)
		if ((e2 = stream_finish(&st, &slot[j % NSLOT], done, arg)) != HIE_OK && e == HIE_OK)
			e = e2;
	pthread_join(writer, NULL);
out_sync:
	pthread_mutex_destroy(&st.mu);
	pthread_cond_destroy(&st.cv);
out:
	for (size_t i = 0; i < NSLOT; i++) {
		bulk_free(&slot[i].b);
		free(slot[i].p);
		free(slot[i].res);
	}
	return e;
}
