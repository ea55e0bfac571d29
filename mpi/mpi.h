/*
 * mpi/mpi.h -- the master patient index.
 *
 * Source records (one per patient per source system) carry demographics
 * and identifiers; each links to exactly one enterprise id (the "golden"
 * identity).  Matching a new record against the index: normalisation
 * (normalize.c), blocking keys (block.c), field comparators (compare.c),
 * Fellegi-Sunter weights (score.c) whose m/u probabilities are estimated by
 * EM from the node's own candidate pairs (em.c, train.c), and two
 * thresholds: above the link threshold the record joins the candidate's
 * enterprise id, between the two it gets its own enterprise id and an
 * entry in the review queue.  Deterministic rule first: a record carrying an
 * identifier (other than type "SS", see below) already held by another
 * record in the same assigning authority links to that record's
 * enterprise id, whatever the demographics say.
 *
 * Identifiers of type "SS" (national / social security numbers) are typed
 * by hand and often wrong by a digit: they are scored with an edit distance
 * like any other field, and only indexed for blocking.
 *
 * Storage: named databases "mpi.*" in the node's LMDB environment
 * (node/store.h).  Every write function below is one write transaction,
 * committed (and so synced) before it returns HIE_OK; mpi_add_batch is one
 * transaction for the whole batch, acknowledged as a whole.  Link history,
 * merges and the review queue live in the same environment, so a link and
 * its history entry are never written apart.
 *
 * Threading: an mpi handle may be used from several threads; read
 * functions (search, lookup, get) run in parallel, writers are serialised
 * by LMDB.  Ownership: the caller owns every struct passed in or out; the
 * only heap memory handed out is from mpi_block_pairs (free() it).
 */
#ifndef MPI_MPI_H
#define MPI_MPI_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "node/hie.h"

struct mpi_cx {
	char id[128];        /* CX.1 */
	char authority[128]; /* CX.4.2, an OID */
};

/* Parses "ID^^^&OID&ISO" strictly: CX.1 non-empty without separators,
 * CX.4.2 an OID, CX.4.3 "ISO".  HIE_EINVAL otherwise. */
hie_err mpi_cx_parse(const char *s, struct mpi_cx *out);
/* Formats back to the canonical "ID^^^&OID&ISO". */
hie_err mpi_cx_format(const struct mpi_cx *cx, char *out, size_t cap);

/* ---- the patient model ---- */

#define MPI_MAX_NAMES  4
#define MPI_MAX_ADDRS  4
#define MPI_MAX_PHONES 4
#define MPI_MAX_IDS    8

struct mpi_name {
	char use[4]; /* HL7 XPN.7 name type: L legal, A alias, M maiden, D display */
	char given[64];
	char middle[64];
	char family[64];
};

struct mpi_addr {
	char use[4]; /* HL7 XAD.7: H home, B business, M mailing */
	char number[16]; /* street number */
	char street[96]; /* street name and type */
	char line2[96];  /* unit, building, locality */
	char city[64];   /* city or suburb */
	char state[32];
	char postcode[16];
	char country[8];
};

struct mpi_phone {
	char use[4]; /* XTN.2: PRN, WPN, ORN */
	char number[32];
};

struct mpi_ident {
	struct mpi_cx cx;
	char          type[8]; /* CX.5: MR, PI, SS, ... ("SS" is scored, not deterministic) */
};

struct mpi_patient {
	uint64_t rid;        /* record id, set by mpi_add */
	uint64_t eid;        /* enterprise id the record links to (read only) */
	char     source[64]; /* source system: an OID or a name */
	int64_t  updated;    /* last update, Unix seconds; 0 = now */
	char     birth_date[16]; /* any format mpi_date_parse takes; stored YYYYMMDD */
	char     sex;        /* 'M', 'F', 'O', 'U' or 0 */
	size_t   n_names, n_addrs, n_phones, n_ids;
	struct mpi_name  names[MPI_MAX_NAMES];
	struct mpi_addr  addrs[MPI_MAX_ADDRS];
	struct mpi_phone phones[MPI_MAX_PHONES];
	struct mpi_ident ids[MPI_MAX_IDS];
};

/* ---- normalisation (normalize.c); out is always NUL terminated ---- */

/* Lower case, diacritics folded (UTF-8 Latin-1 and Latin Extended-A),
 * apostrophes and hyphens dropped, other punctuation to one space, spaces
 * collapsed.  HIE_ETOOBIG if it does not fit (out truncated). */
hie_err mpi_norm_text(const char *in, char *out, size_t cap);
/* A given name: mpi_norm_text, first word only kept apart from the rest. */
hie_err mpi_norm_given(const char *in, char *out, size_t cap);
/* A family name: mpi_norm_text, leading particles (van, der, de, la, von,
 * di, da, du, le, st...) dropped when a word follows, words joined. */
hie_err mpi_norm_family(const char *in, char *out, size_t cap);
/* The canonical given name of a nickname ("bill" -> "william"), or name
 * itself.  name must be normalised.  Table from mpi/data/nicknames.txt. */
const char *mpi_nickname(const char *name);
/* NYSIIS phonetic code of a normalised name (letters only, up to 8). */
hie_err mpi_nysiis(const char *name, char *out, size_t cap);
/* A birth date in YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY, DD-MM-YYYY,
 * DD.MM.YYYY, MM/DD/YYYY (only when the day is > 12), or an HL7 TS
 * (YYYYMMDD[hhmm[ss]][+zzzz]) -> out "YYYYMMDD".  HIE_EINVAL for anything
 * else, a day that does not exist, a year before 1850 or after 2200. */
hie_err mpi_date_parse(const char *in, char out[9]);
/* Digits only; a leading international prefix (+, 00) and country code 1
 * or 61 and trunk 0 dropped; HIE_EINVAL when fewer than 6 digits remain. */
hie_err mpi_norm_phone(const char *in, char *out, size_t cap);
/* Upper-case letters and digits only. HIE_EINVAL when nothing remains. */
hie_err mpi_norm_postcode(const char *in, char *out, size_t cap);

/* ---- comparators (compare.c) ---- */

/* Jaro-Winkler similarity in [0,1] (prefix scale 0.1, up to 4 chars);
 * two empty strings give 1.  Strings longer than 128 bytes are compared on
 * their first 128. */
double mpi_jaro_winkler(const char *a, const char *b);
/* Levenshtein distance (insert, delete, substitute), first 128 bytes. */
int mpi_levenshtein(const char *a, const char *b);
/* Damerau distance, optimal string alignment: Levenshtein plus the
 * transposition of two adjacent characters as one edit. */
int mpi_damerau(const char *a, const char *b);

typedef enum {
	MPI_DATE_EXACT,      /* same date */
	MPI_DATE_TRANSPOSED, /* day and month swapped */
	MPI_DATE_TYPO,       /* one digit wrong, or two adjacent digits swapped */
	MPI_DATE_NEAR,       /* within 31 days, or same month and day a year apart */
	MPI_DATE_DIFF,       /* anything else */
	MPI_DATE_MISSING     /* either side empty or not a date */
} mpi_date_level;
/* Compares two YYYYMMDD dates. */
mpi_date_level mpi_date_compare(const char *a, const char *b);

/* Partial address similarity in [0,1]: street numbers (0.3 when equal,
 * ignored when one is missing) and the best Jaro-Winkler of each street
 * word against the other's words, spaces ignored.  Inputs normalised. */
double mpi_addr_compare(const char *num_a, const char *street_a,
    const char *num_b, const char *street_b);

/* 1: same authority and same id; -1: same authority, different ids (not
 * the same patient as far as that authority knows); 0: nothing to say. */
int mpi_id_compare(const struct mpi_cx *a, const struct mpi_cx *b);

/* ---- scoring model (score.c, em.c) ---- */

/* The Fellegi-Sunter fields, each compared into agreement levels 0 (full
 * agreement) .. nlevels-1 (disagreement); MPI_MISSING when either side has
 * no value (then the field adds nothing). */
enum {
	MPI_F_GIVEN, MPI_F_FAMILY, MPI_F_DOB, MPI_F_SEX, MPI_F_STNUM, MPI_F_STREET,
	MPI_F_LINE2, MPI_F_CITY, MPI_F_POSTCODE, MPI_F_STATE, MPI_F_SSN, MPI_F_PHONE,
	MPI_NFIELDS
};
#define MPI_MAXLEVELS 5
#define MPI_MISSING   255

/* Field name and number of levels (for reports, EM and tests). */
const char *mpi_field_name(int field);
int         mpi_field_levels(int field);

#define MPI_FREQ_BUCKETS 4096
typedef struct mpi mpi;

/* m[f][l] = P(level l | match), u[f][l] = P(level l | non-match), p = the
 * share of matches among candidate pairs.  link and review are thresholds
 * on the posterior match probability of a pair. */
struct mpi_model {
	double p;
	double m[MPI_NFIELDS][MPI_MAXLEVELS];
	double u[MPI_NFIELDS][MPI_MAXLEVELS];
	double link, review;
	int    trained;    /* 0: the built-in prior model */
	int    iterations; /* EM iterations of the last fit */
	uint64_t pairs;    /* candidate pairs it was fitted on */
	/* Surname frequencies, counted over the store's records when the
	 * model was trained (mpi_train): per hash bucket of the normalised
	 * surname, -log2(share of records) in quarter bits (0: no table,
	 * the model predates it or was never trained), and the share of a
	 * random record's surname (sum of squared shares).  Agreement on a
	 * surname rarer than that weighs more, on a commoner one less
	 * (mpi_family_adjust). */
	uint8_t family_freq[MPI_FREQ_BUCKETS];
	double  family_mean;
};

/* The weight (bits) added to full agreement on the surname `family`
 * (normalised, as mpi_norm_family gives it): log2(mean share / its
 * share), at least -MPI_FREQ_MAX_BITS (a very common surname) and at most
 * MPI_FREQ_MAX_BOOST (a rare one: kept small -- in FEBRL most surnames are
 * rare and a 1.5-bit boost linked a non-match in dataset 3); 0 without a
 * table. */
#define MPI_FREQ_MAX_BITS  3.0
#define MPI_FREQ_MAX_BOOST 0.5
double mpi_family_adjust(const struct mpi_model *m, const char *family);
/* Fills model's frequency table from the surnames of the store's
 * records (mpi_train calls it). */
hie_err mpi_family_count(mpi *m, struct mpi_model *model);

/* The built-in model used before any training (conservative priors). */
void mpi_model_default(struct mpi_model *m);
/* Log-likelihood ratio (bits) of a comparison vector, and the posterior
 * match probability under the model's prior p. */
double mpi_model_weight(const struct mpi_model *m, const uint8_t lv[MPI_NFIELDS]);
double mpi_model_prob(const struct mpi_model *m, const uint8_t lv[MPI_NFIELDS]);

/* EM for the Fellegi-Sunter mixture (conditional independence), fitted on
 * n comparison vectors (n * MPI_NFIELDS levels, MPI_MISSING allowed).  Starts
 * from *model (its m, u, p) and stops after max_iter iterations or when no
 * parameter moves more than tol.  The link/review thresholds are kept.
 * HIE_EINVAL when n is 0 or a level is out of range. */
hie_err mpi_em_fit(const uint8_t *vectors, size_t n, struct mpi_model *model,
    int max_iter, double tol);
/* The same with options: MPI_EM_FIX_U keeps model->u (estimated beforehand
 * from random pairs, see mpi_em_u_from), so EM fits only m and p and cannot
 * drift into calling chance agreement a match; MPI_EM_FIX_M keeps m as well
 * (only p is fitted). */
#define MPI_EM_FIX_U 1u
#define MPI_EM_FIX_M 2u
hie_err mpi_em_fit_opt(const uint8_t *vectors, size_t n, struct mpi_model *model,
    int max_iter, double tol, unsigned flags);
/* u[f][l] from comparison vectors of random record pairs (non-matches but
 * for a share of about 1/records): the share of each level, floored like
 * EM's.  m and p untouched; fields never present keep their u. */
hie_err mpi_em_u_from(const uint8_t *vectors, size_t n, struct mpi_model *model);

/* ---- the index ---- */

/* Opens (creating if needed) the "mpi.*" databases in env; env must stay
 * open until mpi_close. */
hie_err mpi_open(MDB_env *env, mpi **out);
void    mpi_close(mpi *m);

typedef enum {
	MPI_NEW,           /* no match: a new enterprise id */
	MPI_LINKED_ID,     /* deterministic: a shared identifier */
	MPI_LINKED_MATCH,  /* probabilistic: above the link threshold */
	MPI_REVIEW         /* possible match: new enterprise id + review entry */
} mpi_outcome;
const char *mpi_outcome_name(mpi_outcome o);

struct mpi_result {
	hie_err     err;      /* per record in a batch */
	mpi_outcome outcome;
	uint64_t    rid, eid;
	double      prob;     /* posterior of the best candidate (0 if none) */
	char        why[128]; /* on error: what was wrong with the record */
};

#define MPI_ADD_NOMATCH 1u /* store and index only: every record its own eid */

/* Validates, normalises, matches and stores one source record; fills p->rid,
 * p->eid and res.  Errors (nothing written): HIE_EINVAL (no name, no birth
 * date and no identifier, invalid date or sex, bad identifier, the same
 * authority twice with different ids, control characters; res->why says
 * which), HIE_EAMBIGUOUS (its identifiers already belong to two different
 * enterprise ids), HIE_ETOOBIG (map full), HIE_EDB. */
hie_err mpi_add(mpi *m, struct mpi_patient *p, unsigned flags, struct mpi_result *res);
/* n records in one transaction; each records in res[i].err whether it was
 * refused (as mpi_add), refused records write nothing.  Returns HIE_OK
 * when the transaction committed (whatever the per-record results). */
hie_err mpi_add_batch(mpi *m, struct mpi_patient *p, size_t n, unsigned flags,
    struct mpi_result *res);
/* A bulk load: batches of up to `batch` records (next fills p[0..cap) and
 * sets *n; 0 records: the end), each added as mpi_add_batch adds it, with
 * the same outcomes, in one transaction of its own; done(p, res, n) is
 * called, in the calling thread and in batch order, once a batch has
 * committed (durable), with its records' p->rid/eid and results.  Batch k
 * is matched (on all cores) while batch k - 1 is decided, written and
 * committed by a writer thread, so the load does not wait for the
 * single-threaded writing.  A batch whose write fails is not
 * acknowledged, neither are the batches after it (matched against it:
 * they are not written), and its error is returned.  An error returned
 * by next or done stops the load too and is returned; the batches already
 * matched are still written and acknowledged.  HIE_EINVAL: batch 0.  p
 * and res belong to the stream and are valid during the callback only. */
hie_err mpi_add_stream(mpi *m, size_t batch, unsigned flags,
    hie_err (*next)(void *arg, struct mpi_patient *p, size_t cap, size_t *n),
    hie_err (*done)(void *arg, struct mpi_patient *p, struct mpi_result *res, size_t n), void *arg);
/* Replaces the demographics of record p->rid (same validation as add);
 * the link is kept unless a new identifier links it deterministically
 * elsewhere (then it moves, with history).  HIE_ENOTFOUND: no such rid. */
hie_err mpi_update(mpi *m, struct mpi_patient *p, struct mpi_result *res);
/* Reads one record (eid filled). */
hie_err mpi_get(mpi *m, uint64_t rid, struct mpi_patient *out);

/* Members of an enterprise id (after following merges): up to cap rids in
 * rids, *n the total.  HIE_EUNKNOWNPATIENT if it never existed. */
hie_err mpi_members(mpi *m, uint64_t eid, uint64_t *rids, size_t cap, size_t *n);
/* The enterprise id an old id was merged into (itself if live). */
hie_err mpi_resolve(mpi *m, uint64_t eid, uint64_t *live);

/* Identifier lookup (PIX): the enterprise id holding cx and every
 * identifier linked to it (up to cap, *n the total).  HIE_EUNKNOWNPATIENT
 * when no record has cx; HIE_EAMBIGUOUS when records with cx are linked to
 * different enterprise ids (someone unlinked them by hand). */
hie_err mpi_lookup_id(mpi *m, const struct mpi_cx *cx, uint64_t *eid,
    struct mpi_ident *ids, size_t cap, size_t *n);
/* The cross-reference XDS needs (registry and XCA responder): every patient
 * id a query for cx must cover, i.e. the identifiers (type SS left out) of
 * the live enterprise id whose records hold cx, cx itself first; up to
 * cap, *n the total.  After mpi_merge(from, into) the records holding a
 * retired patient's id belong to the survivor, so the answer for that id
 * is the survivor's ids and the retired one's together (documents filed
 * under either are found); after mpi_unmerge each gets its own again.
 * Errors as mpi_lookup_id. */
hie_err mpi_resolve_cx(mpi *m, const struct mpi_cx *cx, uint64_t *eid,
    struct mpi_cx *ids, size_t cap, size_t *n);

struct mpi_candidate {
	uint64_t eid;    /* enterprise id */
	uint64_t rid;    /* its best-scoring record */
	double   weight; /* log2 likelihood ratio */
	double   prob;   /* posterior match probability */
};
/* Demographic search (PDQ/XCPD): q needs a name or a birth date (or an
 * SS identifier); returns up to cap enterprise candidates, best first,
 * with prob >= min_prob; *n how many were filled. */
hie_err mpi_search(mpi *m, const struct mpi_patient *q, double min_prob,
    struct mpi_candidate *out, size_t cap, size_t *n);

/* Manual linking (each one transaction, with history): link moves record
 * rid to enterprise id eid; unlink gives it a fresh enterprise id (*new_eid).
 * merge moves every member of `from` into `into` and retires `from` (its
 * lookups follow to `into`); unmerge(from) moves back the records the merge
 * moved that are still in `into`, and revives `from`.  HIE_ENOTFOUND
 * (unknown rid, or unmerge of an id that was not merged), HIE_EINVAL
 * (merge into itself, into a retired id). */
hie_err mpi_link(mpi *m, uint64_t rid, uint64_t eid);
hie_err mpi_unlink(mpi *m, uint64_t rid, uint64_t *new_eid);
hie_err mpi_merge(mpi *m, uint64_t from, uint64_t into);
hie_err mpi_unmerge(mpi *m, uint64_t from);

typedef enum { MPI_H_ADD, MPI_H_LINK, MPI_H_UNLINK, MPI_H_MERGE, MPI_H_UNMERGE,
	MPI_H_ACCEPT, MPI_H_REJECT, MPI_H_UPDATE } mpi_hist_op;
const char *mpi_hist_name(mpi_hist_op op);
struct mpi_hist {
	uint64_t    seq;
	int64_t     time;
	mpi_hist_op op;
	uint64_t    from_eid, to_eid;
};
/* Link history of one record, oldest first: up to cap entries, *n total. */
hie_err mpi_history(mpi *m, uint64_t rid, struct mpi_hist *out, size_t cap, size_t *n);

/* Review queue: possible matches waiting for a person. */
struct mpi_review {
	uint64_t id;
	uint64_t rid;       /* the new record */
	uint64_t eid;       /* the enterprise id it may belong to */
	double   prob;
	int64_t  time;
};
hie_err mpi_review_list(mpi *m, struct mpi_review *out, size_t cap, size_t *n);
/* accept: links the record to the candidate enterprise id; reject: keeps
 * them apart.  Either way the entry leaves the queue.  HIE_ENOTFOUND. */
hie_err mpi_review_accept(mpi *m, uint64_t id);
hie_err mpi_review_reject(mpi *m, uint64_t id);

/* The node's thresholds ([mpi] link_threshold, review_threshold): for
 * this handle they replace those stored with the model (mpi_model_get
 * reports them; a training keeps them).  Not stored.  HIE_EINVAL unless
 * 0 < review <= link <= 1. */
hie_err mpi_set_thresholds(mpi *m, double link, double review);
/* The model in force (the built-in default until one was trained). */
hie_err mpi_model_get(mpi *m, struct mpi_model *out);
hie_err mpi_model_set(mpi *m, const struct mpi_model *model);
/* Estimates m/u by EM on up to max_pairs candidate pairs from the blocking
 * index and stores the model (thresholds kept). */
hie_err mpi_train(mpi *m, size_t max_pairs, struct mpi_model *out);

/* Candidate pairs of the blocking index (rid_a < rid_b, each pair once),
 * up to max_pairs: *pairs is malloc'd (2 * *n uint64), free() it.  Blocks
 * larger than the per-key cap are skipped, as matching skips them. */
hie_err mpi_block_pairs(mpi *m, size_t max_pairs, uint64_t **pairs, size_t *n);
/* Measuring the blocking at scale (where mpi_block_pairs would not fit in
 * memory): *shared is 1 when records a and b meet in a block that lookups
 * scan (pairs completeness over known true pairs); mpi_block_stats counts
 * the blocks, those skipped as too large, and the candidate pairs of the
 * others (a pair in two blocks counted twice: an upper bound, for the
 * reduction ratio). */
hie_err mpi_block_shared(mpi *m, uint64_t a, uint64_t b, int *shared);
hie_err mpi_block_stats(mpi *m, double *pairs, uint64_t *blocks, uint64_t *skipped);
/* The comparison vector of two stored records. */
hie_err mpi_compare_records(mpi *m, uint64_t rid_a, uint64_t rid_b, uint8_t lv[MPI_NFIELDS]);
/* Number of source records and of live enterprise ids. */
hie_err mpi_count(mpi *m, uint64_t *records, uint64_t *enterprises);

/* ---- inside a caller's transaction ----
 * The HL7 v2 feed (node/hl7_feed.c) applies a whole group of ADT messages,
 * and the record of each acknowledgement it will send, in one write
 * transaction: one fsync for the group, and a message is never applied
 * without its "acknowledged" record or the reverse.  These are the
 * operations above run in txn, a write transaction of this index's
 * environment that the caller commits or aborts (a nested transaction per
 * message keeps a refused message from leaving anything behind).  Any
 * non-OK return means "abort txn": the refusals of the record itself
 * (HIE_EINVAL, HIE_EAMBIGUOUS; res->why says why) as well as database
 * errors. */
hie_err mpi_add_txn(mpi *m, MDB_txn *txn, struct mpi_patient *p, unsigned flags,
    struct mpi_result *res);
hie_err mpi_update_txn(mpi *m, MDB_txn *txn, struct mpi_patient *p, struct mpi_result *res);
hie_err mpi_merge_txn(mpi *m, MDB_txn *txn, uint64_t from, uint64_t into);
hie_err mpi_unlink_txn(mpi *m, MDB_txn *txn, uint64_t rid, uint64_t *new_eid);
hie_err mpi_get_txn(mpi *m, MDB_txn *txn, uint64_t rid, struct mpi_patient *out);
/* The first record holding identifier cx -- and, when source is not NULL,
 * coming from that source system -- with its live enterprise id.
 * HIE_ENOTFOUND when there is none.  txn may be read-only. */
hie_err mpi_find_txn(mpi *m, MDB_txn *txn, const char *source, const struct mpi_cx *cx,
    uint64_t *rid, uint64_t *eid);

/* ---- CSV input (csv.c): FEBRL's columns (rec_id, given_name, surname,
 * street_number, address_1, address_2, suburb, postcode, state,
 * date_of_birth, soc_sec_id) and sex, phone, id (a CX, type MR), source.
 * Fields are split on commas and trimmed; no quoting. ---- */
#define MPI_CSV_MAXCOLS 32
/* The assigning authority given to soc_sec_id values (type SS). */
#define MPI_CSV_SSN_OID "2.16.840.1.113883.4.1"
struct mpi_csv {
	size_t ncols;
	int    col[MPI_CSV_MAXCOLS];
};
/* Reads the header line (modified in place).  HIE_EINVAL without a name
 * column. */
hie_err mpi_csv_header(char *line, struct mpi_csv *c);
/* One row (modified in place) into p; the rec_id column, if any, into
 * label (never part of p).  HIE_EINVAL: wrong column count, a value too
 * long, or a bad id. */
hie_err mpi_csv_row(const struct mpi_csv *c, char *line, struct mpi_patient *p, char *label, size_t cap);

#endif /* MPI_MPI_H */
