/*
 * mpi/internal.h -- what the files of the MPI share and nobody else sees:
 * the LMDB layout, the match key (the normalised, compared form of a
 * record), and the steps of matching inside one transaction.
 *
 * LMDB databases (keys of ids are 8-byte big-endian, so they sort):
 *   mpi.rec    rid -> record (tag/length/value, see store.c)
 *   mpi.key    rid -> match key (eid first, see mk_encode)
 *   mpi.eid    eid -> rid            (dupsort, dupfixed: the members)
 *   mpi.blk    blocking key -> rid   (dupsort, dupfixed)
 *   mpi.idx    authority NUL id -> rid (dupsort, dupfixed)
 *   mpi.hist   rid -> history entry  (dupsort, dupfixed; entries start with seq)
 *   mpi.merge  retired eid -> survivor, time, rids moved
 *   mpi.review review id -> rid, eid, prob, time
 *   mpi.meta   "rid", "eid", "seq", "review" counters; "model"
 */
#ifndef MPI_INTERNAL_H
#define MPI_INTERNAL_H

#include "mpi/mpi.h"
#include "node/store.h"

struct mpi {
	MDB_env *env;
	MDB_dbi  rec, key, eid, blk, idx, hist, merge, review, meta;
	double   link, review_at; /* mpi_set_thresholds; 0: the model's */
};

/* The match key: what comparing and blocking need, normalised once at
 * write time so that scoring a candidate is a read and some string
 * compares.  A record's repeats take part: up to MK_NAMES names (the legal
 * one first when a use says so, then the others in order: maiden, alias,
 * ...) and MK_ADDRS addresses (home first), empty and duplicate repeats
 * left out.  Two keys are compared on the best pair of names and the best
 * pair of addresses, each pair as a whole (score.c). */
#define MK_IDS   4
#define MK_NAMES 4
#define MK_ADDRS 3
struct mpi_mk_name {
	char given[32], canon[32], given_ph[12];
	char family[40], family_ph[12];
};
struct mpi_mk_addr {
	char stnum[12], street[64], line2[64], city[40], postcode[12], state[12];
};
struct mpi_mk {
	uint64_t eid;
	uint64_t idh[MK_IDS]; /* deterministic ids: hash(authority) << 32 | hash(id) */
	unsigned nidh;
	char     sex;
	char     dob[9];
	char     ssn[24], phone[24];
	unsigned nname, naddr; /* slots past these are unset after mpi_mk_decode */
	struct mpi_mk_name name[MK_NAMES];
	struct mpi_mk_addr addr[MK_ADDRS];
};

/* The store's format (mpi.meta "format"), checked by mpi_open: a store of
 * another format is refused (its match keys and signatures would be
 * misread).  1 (no "format" entry): one name and one address per match
 * key; 2: the repeats. */
#define MPI_FORMAT 2

/* Builds the match key of a validated record. */
void   mpi_mk_build(const struct mpi_patient *p, struct mpi_mk *k);
size_t mpi_mk_encode(const struct mpi_mk *k, unsigned char *out, size_t cap);
hie_err mpi_mk_decode(const void *p, size_t len, struct mpi_mk *k);
#define MK_MAX 1280 /* the encoded match key, at most */

/* Comparison vector of two match keys (score.c): the names' levels from
 * the pair of names (one of a's, one of b's) agreeing best, the address
 * fields' from the pair of addresses agreeing best (fewest levels of
 * disagreement, missing counting as the worst; mpi_score_pair picks the
 * pairs by weight instead). */
void mpi_mk_compare(const struct mpi_mk *a, const struct mpi_mk *b, uint8_t lv[MPI_NFIELDS]);
/* A model made ready for scoring many pairs: the weight of every level
 * computed once, the best each field can add, and the weight a pair needs
 * to reach min_prob.  mpi_score_pair compares cheapest fields first and
 * returns 0 (lv incomplete, *weight unset) as soon as the pair cannot
 * reach that weight; 1 with the full vector and its weight otherwise. */
struct mpi_scorer {
	const struct mpi_model *model;
	double                  w[MPI_NFIELDS][MPI_MAXLEVELS], wmax[MPI_NFIELDS];
	double                  fam0[MK_NAMES]; /* full surname agreement, per query name */
	double                  prior, min_w;
};
void mpi_scorer_init(struct mpi_scorer *s, const struct mpi_model *m, double min_prob);
/* Makes s the scorer of one query k: full agreement on the surname of
 * k's name i weighs mpi_family_adjust(that surname) more (a candidate
 * agreeing fully on it has the same surname), fam0[i]. */
void mpi_scorer_query(struct mpi_scorer *s, const struct mpi_mk *k);
/* a is the scorer's query (mpi_scorer_query), b the candidate. */
int  mpi_score_pair(const struct mpi_scorer *s, const struct mpi_mk *a, const struct mpi_mk *b,
    uint8_t lv[MPI_NFIELDS], double *weight);
/* The most a record with signature b can weigh against one with a. */
double mpi_sig_bound(const struct mpi_scorer *s, uint64_t a, uint64_t b);

/* Blocking keys of a match key (block.c): up to MPI_NKEYS distinct
 * strings.  The first name and address give up to 7 (the rules below);
 * each further name and address adds its own, most telling first, until
 * the bound: a record with many repeats takes at most 16 index entries. */
#define MPI_NKEYS   16
#define MPI_KEY_LEN 48
size_t mpi_block_keys(const struct mpi_mk *k, char keys[MPI_NKEYS][MPI_KEY_LEN]);
/* Each rid in mpi.blk carries a signature of its record (8 bytes after
 * the rid: birth date, sex, hashes of the first name's phonetic names, of
 * the first address's postcode and street number, and two flags: more
 * names, more addresses), so that a lookup can rule a candidate out
 * without reading its match key: mpi_sig_bound gives the most the
 * candidate could weigh against the query; under the threshold it is
 * skipped.  With a flag on either side the hashes of that group prove
 * nothing (another repeat may agree) and the bound assumes agreement. */
#define MPI_BLK_VAL 16
uint64_t mpi_sig(const struct mpi_mk *k);
/* Blocks with more records than this are not searched: a key that common
 * says nothing, and scanning it would make every lookup slow. */
#define MPI_BLOCK_CAP 400

/* Calls fn for every record sharing a blocking key with k (each rid once,
 * up to MPI_CAND_MAX).  fn returns non-zero to stop. */
#define MPI_CAND_MAX 2048
hie_err mpi_block_candidates(mpi *m, MDB_txn *txn, const struct mpi_mk *k,
    int (*fn)(uint64_t rid, void *arg), void *arg);
/* The same, skipping candidates whose signature cannot reach sc's
 * threshold (sc NULL: none skipped). */
hie_err mpi_block_candidates_sig(mpi *m, MDB_txn *txn, const struct mpi_mk *k,
    const struct mpi_scorer *sc, int (*fn)(uint64_t rid, void *arg), void *arg);
/* The rules, one key letter each ("abcdeg"), and the fields (bits
 * 1 << MPI_F_*) each rule's key is made of. */
extern const char MPI_BLOCK_RULES[];
unsigned mpi_block_rule_fields(char rule);
/* mpi_block_pairs restricted to the blocks of one rule (0: all), sampled
 * uniformly when there are more than max_pairs; *all (if not NULL) the
 * rule's number of pairs before sampling. */
hie_err mpi_block_pairs_rule(mpi *m, char rule, size_t max_pairs, uint64_t **pairs, size_t *n,
    double *all);

/* ---- store.c ---- */
void     mpi_u64_put(unsigned char b[8], uint64_t v);
uint64_t mpi_u64_get(const void *b);
/* Next value of a counter in mpi.meta (1, 2, ...). */
hie_err mpi_counter_next(mpi *m, MDB_txn *txn, const char *name, uint64_t *out);
hie_err mpi_rec_put(mpi *m, MDB_txn *txn, const struct mpi_patient *p);
hie_err mpi_rec_get(mpi *m, MDB_txn *txn, uint64_t rid, struct mpi_patient *p);
hie_err mpi_mk_put(mpi *m, MDB_txn *txn, uint64_t rid, const struct mpi_mk *k);
hie_err mpi_mk_get(mpi *m, MDB_txn *txn, uint64_t rid, struct mpi_mk *k);
/* Indexes (blocking keys, identifiers) of a record: add or remove. */
hie_err mpi_index(mpi *m, MDB_txn *txn, uint64_t rid, const struct mpi_patient *p,
    const struct mpi_mk *k, int add);
/* Moves rid (match key k, updated) to eid, with a history entry. */
hie_err mpi_relink(mpi *m, MDB_txn *txn, uint64_t rid, struct mpi_mk *k, uint64_t eid,
    mpi_hist_op op);
hie_err mpi_hist_put(mpi *m, MDB_txn *txn, uint64_t rid, mpi_hist_op op, uint64_t from, uint64_t to);
/* mpi_resolve and the members of a live eid (up to cap, *n the total),
 * inside a transaction. */
hie_err mpi_resolve_txn(mpi *m, MDB_txn *txn, uint64_t eid, uint64_t *live);
hie_err mpi_members_txn(mpi *m, MDB_txn *txn, uint64_t eid, uint64_t *rids, size_t cap, size_t *n);
hie_err mpi_model_load(mpi *m, MDB_txn *txn, struct mpi_model *model);
/* Validates and normalises a record in place (birth date to YYYYMMDD,
 * sex upper case, identifiers checked); why says what was wrong. */
hie_err mpi_validate(struct mpi_patient *p, char *why, size_t cap);

/* ---- search.c: scores candidates of k, grouped by enterprise id ---- */
/* One scored candidate record (rid 0: its signature or early stop said it
 * cannot reach the threshold; it still brings its identifier conflict to
 * its enterprise id); after grouping, one enterprise id. */
struct mpi_agg {
	uint64_t eid, rid;
	double   weight;
	int      conflict;
};
/* Same assigning authority, different identifier. */
int mpi_id_conflict(const struct mpi_mk *a, const struct mpi_mk *b);
/* Groups a[0..na) by enterprise id (a reordered), ranks the ids and fills
 * out as mpi_score_candidates does; eid_conflict_fn says whether any
 * record of an enterprise id about to link conflicts (the whole id is
 * checked, pruned candidates were never read).  Shared by the lookup of
 * one record and the bulk load (bulk.c). */
hie_err mpi_agg_finish(struct mpi_agg *a, size_t na, const struct mpi_scorer *sc, double min_prob,
    hie_err (*eid_conflict_fn)(void *arg, uint64_t eid, int *conflict), void *arg,
    struct mpi_candidate *out, size_t cap, size_t *n);
hie_err mpi_score_candidates(mpi *m, MDB_txn *txn, const struct mpi_mk *k,
    const struct mpi_model *model, double min_prob, struct mpi_candidate *out,
    size_t cap, size_t *n);

/* ---- review.c ---- */
hie_err mpi_review_put(mpi *m, MDB_txn *txn, uint64_t rid, uint64_t eid, double prob);

/* ---- ops.c: the write operations' bodies, inside a caller's write
 * transaction (the public mpi_* run them in one of their own; the *_txn functions at the end of ops.c run
 * them in the caller's, for the HL7 v2 group commit). ---- */
hie_err mpi_add_one(mpi *m, MDB_txn *txn, const struct mpi_model *model, struct mpi_patient *p,
    unsigned flags, struct mpi_result *res);
/* mpi_add_batch's body (bulk.c): n records matched in parallel against
 * the store as txn found it and against each other, with the outcomes
 * mpi_add_one would give them one after the other; then written.  txn is
 * the caller's write transaction, which must not have written yet. */
hie_err mpi_add_bulk(mpi *m, MDB_txn *txn, const struct mpi_model *model, struct mpi_patient *p, size_t n,
    unsigned flags, struct mpi_result *res);
struct update_arg {
	struct mpi_patient *p;
	struct mpi_result  *res;
	struct mpi_patient *old; /* scratch, caller-allocated */
};
hie_err mpi_update_in(mpi *m, MDB_txn *txn, void *arg);
struct link_arg {
	uint64_t rid, eid, *new_eid; /* new_eid != NULL: unlink */
};
hie_err mpi_link_in(mpi *m, MDB_txn *txn, void *arg);
struct merge_arg {
	uint64_t from, into;
};
hie_err mpi_merge_in(mpi *m, MDB_txn *txn, void *arg);

#endif /* MPI_INTERNAL_H */
