/*
 * mpi/block.c -- blocking: which stored records a new one is compared
 * with.  Several independent keys, so that an error in one field (a
 * mistyped surname, a wrong birth date, a moved patient, swapped names)
 * still leaves another key in common with the true match:
 *
 *   a  surname NYSIIS + birth year and month
 *   b  birth date + initial of the given name, and of the surname
 *      (both, so that swapped given/family names still meet)
 *   c  postcode + first 3 letters of the surname
 *   d  national id (type SS) as written
 *   e  given-name NYSIIS (after nicknames) + surname NYSIIS, in sorted order,
 *      + birth decade (empty without a birth date)
 *   g  birth date + postcode
 *
 * Every name and address of a record gives its keys (mpi_block_keys: a
 * patient registered under her maiden name meets her married record on
 * the maiden name's keys), de-duplicated and at most MPI_NKEYS.
 *
 * The keys are stored in mpi.blk (dupsort key -> rid); blocks larger than
 * MPI_BLOCK_CAP are skipped at lookup.  Each candidate costs a read of its
 * match key, so the keys are as narrow as the errors allow: a is by birth
 * month (a day typo keeps it; a day/month swap or a year typo still meets
 * its match on b's initials, c or e), e by birth decade.  At 1M records the
 * year-wide a and decade-free e made blocks of hundreds for every common
 * surname and dominated the load.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/internal.h"

/* Appends a key unless it is already there or the bound is reached. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
key_add(char keys[MPI_NKEYS][MPI_KEY_LEN], size_t *n, const char *fmt, ...)
{
	char    k[MPI_KEY_LEN];
	va_list ap;

	if (*n >= MPI_NKEYS)
		return;
	va_start(ap, fmt);
	vsnprintf(k, sizeof(k), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < *n; i++)
		if (strcmp(keys[i], k) == 0)
			return;
	memcpy(keys[(*n)++], k, sizeof(k));
}

/* The keys of name i (rules a, e, and b twice) and of the pair name i,
 * address j (rule c). */
static void
name_keys(const struct mpi_mk *k, const struct mpi_mk_name *nm, char keys[MPI_NKEYS][MPI_KEY_LEN], size_t *n,
    char rule)
{
	char year[5] = { 0 };

	if (k->dob[0] != '\0')
		memcpy(year, k->dob, 4);
	switch (rule) {
	case 'a':
		if (nm->family_ph[0] != '\0' && year[0] != '\0')
			key_add(keys, n, "a%s%.6s", nm->family_ph, k->dob);
		break;
	case 'b':
		if (k->dob[0] != '\0' && nm->given[0] != '\0')
			key_add(keys, n, "b%s%c", k->dob, nm->given[0]);
		if (k->dob[0] != '\0' && nm->family[0] != '\0' && nm->family[0] != nm->given[0])
			key_add(keys, n, "b%s%c", k->dob, nm->family[0]);
		break;
	case 'e':
		if (nm->given_ph[0] != '\0' && nm->family_ph[0] != '\0') {
			int lt = strcmp(nm->given_ph, nm->family_ph) < 0;
			key_add(keys, n, "e%s:%s:%.3s", lt ? nm->given_ph : nm->family_ph,
			    lt ? nm->family_ph : nm->given_ph, year);
		}
		break;
	}
}

static void
pair_key(const struct mpi_mk_name *nm, const struct mpi_mk_addr *ad, char keys[MPI_NKEYS][MPI_KEY_LEN], size_t *n)
{
	if (ad->postcode[0] != '\0' && nm->family[0] != '\0')
		key_add(keys, n, "c%s:%.3s", ad->postcode, nm->family);
}

static void
addr_key(const struct mpi_mk *k, const struct mpi_mk_addr *ad, char keys[MPI_NKEYS][MPI_KEY_LEN], size_t *n)
{
	if (k->dob[0] != '\0' && ad->postcode[0] != '\0')
		key_add(keys, n, "g%s:%s", k->dob, ad->postcode);
}

/* The first name and address's keys in rule order; then, for each
 * further name, the keys its surname changes (a, e, c with the first
 * address), for each further address its own (g, c with the first name),
 * and last the further names' b keys (their initials mostly repeat the
 * first name's).  Duplicates are dropped; the bound cuts the least
 * telling. */
size_t
mpi_block_keys(const struct mpi_mk *k, char keys[MPI_NKEYS][MPI_KEY_LEN])
{
	static const struct mpi_mk_name none_n;
	static const struct mpi_mk_addr none_a;
	const struct mpi_mk_name       *n0 = k->nname > 0 ? &k->name[0] : &none_n;
	const struct mpi_mk_addr       *a0 = k->naddr > 0 ? &k->addr[0] : &none_a;
	size_t                          n = 0;

	name_keys(k, n0, keys, &n, 'a');
	name_keys(k, n0, keys, &n, 'b');
	pair_key(n0, a0, keys, &n);
	if (k->ssn[0] != '\0')
		key_add(keys, &n, "d%s", k->ssn);
	name_keys(k, n0, keys, &n, 'e');
	addr_key(k, a0, keys, &n);
	for (unsigned i = 1; i < k->nname; i++) {
		name_keys(k, &k->name[i], keys, &n, 'a');
		name_keys(k, &k->name[i], keys, &n, 'e');
		pair_key(&k->name[i], a0, keys, &n);
	}
	for (unsigned j = 1; j < k->naddr; j++) {
		addr_key(k, &k->addr[j], keys, &n);
		pair_key(n0, &k->addr[j], keys, &n);
	}
	for (unsigned i = 1; i < k->nname; i++)
		name_keys(k, &k->name[i], keys, &n, 'b');
	return n;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return x < y ? -1 : x > y;
}

/* Appends the rids of one block to buf (skipped if larger than the cap),
 * those whose signature can reach sc's threshold against qsig. */
static int
block_collect(MDB_cursor *c, const char *key, const struct mpi_scorer *sc, uint64_t qsig, uint64_t *buf,
    size_t *n)
{
	MDB_val k = { strlen(key), (void *) key }, v;
	size_t  count;
	int     rc;

	if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY)) != 0)
		return rc;
	if ((rc = mdb_cursor_count(c, &count)) != 0 || count > MPI_BLOCK_CAP)
		return rc;
	/* DUPFIXED: a page of rids at a time. */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_GET_MULTIPLE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_MULTIPLE))
		for (size_t i = 0; i + MPI_BLK_VAL <= v.mv_size && count > 0; i += MPI_BLK_VAL, count--) {
			const char *e = (const char *) v.mv_data + i;
			if (sc == NULL || mpi_sig_bound(sc, qsig, mpi_u64_get(e + 8)) >= sc->min_w)
				buf[(*n)++] = mpi_u64_get(e);
		}
	return rc;
}

/* The candidates of every key, then sorted and made unique: no set to
 * clear per lookup, and the match keys are then read in rid order, the
 * order they sit in mpi.key. */
hie_err
mpi_block_candidates(mpi *m, MDB_txn *txn, const struct mpi_mk *k, int (*fn)(uint64_t, void *), void *arg)
{
	return mpi_block_candidates_sig(m, txn, k, NULL, fn, arg);
}

hie_err
mpi_block_candidates_sig(mpi *m, MDB_txn *txn, const struct mpi_mk *k, const struct mpi_scorer *sc,
    int (*fn)(uint64_t, void *), void *arg)
{
	char        keys[MPI_NKEYS][MPI_KEY_LEN];
	size_t      nk = mpi_block_keys(k, keys), n = 0, u = 0;
	uint64_t   *buf, qsig = mpi_sig(k);
	MDB_cursor *c;
	int         rc = 0;

	if ((buf = malloc(MPI_NKEYS * MPI_BLOCK_CAP * sizeof(*buf))) == NULL)
		return HIE_ENOMEM;
	if ((rc = mdb_cursor_open(txn, m->blk, &c)) != 0) {
		free(buf);
		return hie_store_err(rc);
	}
	for (size_t i = 0; i < nk; i++)
		if ((rc = block_collect(c, keys[i], sc, qsig, buf, &n)) != 0 && rc != MDB_NOTFOUND)
			break;
	mdb_cursor_close(c);
	if (rc == 0 || rc == MDB_NOTFOUND) {
		rc = 0;
		qsort(buf, n, sizeof(*buf), u64_cmp);
		for (size_t i = 0; i < n; i++)
			if (u == 0 || buf[i] != buf[u - 1])
				buf[u++] = buf[i];
		if (u > MPI_CAND_MAX)
			u = MPI_CAND_MAX;
		for (size_t i = 0; i < u; i++)
			if (fn(buf[i], arg))
				break;
	}
	free(buf);
	return hie_store_err(rc);
}

/* ---- all candidate pairs (for EM and for measuring the blocking) ---- */

struct pair_set {
	uint64_t *slot; /* 2 per entry; (0,0) empty */
	size_t    cap, n;
};

static uint64_t
pair_hash(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull + (a << 6));
	h ^= h >> 31;
	return h * 0xbf58476d1ce4e5b9ull;
}

static hie_err
pair_add(struct pair_set *s, uint64_t a, uint64_t b)
{
	size_t i;

	if (a > b) {
		uint64_t t = a;
		a = b;
		b = t;
	}
	if (2 * (s->n + 1) > s->cap) {
		/* Grow: the table stays at most half full. */
		struct pair_set g = { calloc(2 * (s->cap ? s->cap * 2 : 4096), sizeof(uint64_t)),
			s->cap ? s->cap * 2 : 4096, 0 };
		if (g.slot == NULL)
			return HIE_ENOMEM;
		for (size_t j = 0; j < s->cap; j++)
			if (s->slot[2 * j] != 0)
				pair_add(&g, s->slot[2 * j], s->slot[2 * j + 1]);
		free(s->slot);
		*s = g;
	}
	i = (size_t) (pair_hash(a, b) % s->cap);
	while (s->slot[2 * i] != 0) {
		if (s->slot[2 * i] == a && s->slot[2 * i + 1] == b)
			return HIE_OK;
		i = (i + 1) % s->cap;
	}
	s->slot[2 * i] = a;
	s->slot[2 * i + 1] = b;
	s->n++;
	return HIE_OK;
}

/* The fields each rule's key is made of (bits 1 << MPI_F_*): among the
 * pairs a rule brings, those fields agree by construction and say nothing
 * about matches, so EM on that rule's pairs leaves them out. */
unsigned
mpi_block_rule_fields(char rule)
{
	switch (rule) {
	case 'a': return 1u << MPI_F_FAMILY | 1u << MPI_F_DOB;
	case 'b': return 1u << MPI_F_DOB | 1u << MPI_F_GIVEN | 1u << MPI_F_FAMILY;
	case 'c': return 1u << MPI_F_POSTCODE | 1u << MPI_F_FAMILY;
	case 'd': return 1u << MPI_F_SSN;
	case 'e': return 1u << MPI_F_GIVEN | 1u << MPI_F_FAMILY;
	case 'g': return 1u << MPI_F_DOB | 1u << MPI_F_POSTCODE;
	default: return 0;
	}
}

const char MPI_BLOCK_RULES[] = "abcdeg";

hie_err
mpi_block_pairs(mpi *m, size_t max_pairs, uint64_t **pairs, size_t *n)
{
	return mpi_block_pairs_rule(m, 0, max_pairs, pairs, n, NULL);
}

/* Positions the cursor on the first key of rule (0: the first key). */
static int
rule_first(MDB_cursor *c, char *rule, MDB_val *k, MDB_val *v)
{
	if (*rule == 0)
		return mdb_cursor_get(c, k, v, MDB_FIRST);
	k->mv_size = 1;
	k->mv_data = rule;
	return mdb_cursor_get(c, k, v, MDB_SET_RANGE);
}

static int
in_rule(char rule, const MDB_val *k)
{
	return rule == 0 || (k->mv_size > 0 && *(const char *) k->mv_data == rule);
}

/* Pairs of one rule's blocks (rule 0: all).  When the rule has more than
 * max_pairs, a pair is kept with probability max_pairs / total, decided by
 * a hash of the pair: a uniform sample over the whole key range rather
 * than the first keys in sort order, and the same sample every time. */
hie_err
mpi_block_pairs_rule(mpi *m, char rule, size_t max_pairs, uint64_t **pairs, size_t *n, double *all)
{
	struct pair_set s = { NULL, 0, 0 };
	uint64_t        blk[MPI_BLOCK_CAP];
	MDB_txn        *txn;
	MDB_cursor     *c = NULL;
	MDB_val         k, v;
	double          total = 0;
	uint64_t        keep = 0; /* 0: every pair; else out of 2^32 */
	hie_err         e = HIE_OK;
	int             rc;

	*pairs = NULL;
	*n = 0;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_cursor_open(txn, m->blk, &c)) != 0)
		goto done;
	/* First pass: how many pairs the rule has (counts only). */
	for (rc = rule_first(c, &rule, &k, &v); rc == 0 && in_rule(rule, &k);
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_NODUP)) {
		size_t count;
		if ((rc = mdb_cursor_count(c, &count)) != 0)
			break;
		if (count >= 2 && count <= MPI_BLOCK_CAP)
			total += (double) count * (double) (count - 1) / 2;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto done;
	if (all != NULL)
		*all = total;
	if (total > (double) max_pairs)
		keep = (uint64_t) ((double) max_pairs / total * 4294967296.0) + 1;
	for (rc = rule_first(c, &rule, &k, &v); rc == 0 && s.n < max_pairs;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_NODUP)) {
		size_t count, nb = 0;
		if (!in_rule(rule, &k))
			break;
		if ((rc = mdb_cursor_count(c, &count)) != 0)
			break;
		if (count < 2 || count > MPI_BLOCK_CAP)
			continue;
		for (rc = mdb_cursor_get(c, &k, &v, MDB_GET_MULTIPLE); rc == 0;
		     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_MULTIPLE))
			for (size_t i = 0; i + MPI_BLK_VAL <= v.mv_size && nb < MPI_BLOCK_CAP; i += MPI_BLK_VAL)
				blk[nb++] = mpi_u64_get((char *) v.mv_data + i);
		if (rc != MDB_NOTFOUND)
			break;
		/* NEXT_MULTIPLE left the cursor on the block's last item,
		 * so NEXT_NODUP moves on to the next key. */
		for (size_t i = 0; i < nb && s.n < max_pairs; i++)
			for (size_t j = i + 1; j < nb && s.n < max_pairs; j++) {
				if (keep != 0 && (pair_hash(blk[i] ^ 0x5bd1e995, blk[j]) >> 32) >= keep)
					continue;
				if ((e = pair_add(&s, blk[i], blk[j])) != HIE_OK)
					goto done;
			}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
done:
	if (c != NULL)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (e == HIE_OK)
		e = hie_store_err(rc);
	if (e == HIE_OK) {
		/* Compact in place: entries to the front. */
		size_t w = 0;
		for (size_t i = 0; i < s.cap; i++)
			if (s.slot[2 * i] != 0) {
				s.slot[2 * w] = s.slot[2 * i];
				s.slot[2 * w + 1] = s.slot[2 * i + 1];
				w++;
			}
		*pairs = s.slot;
		*n = w;
		if (w == 0) {
			free(s.slot);
			*pairs = NULL;
		}
		return HIE_OK;
	}
	free(s.slot);
	return e;
}

/* ---- measuring the blocking ---- */

/* Size of one block (0 when absent). */
static int
block_size(MDB_cursor *c, const char *key, size_t *count)
{
	MDB_val k = { strlen(key), (void *) key }, v;
	int     rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);

	*count = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc != 0 ? rc : mdb_cursor_count(c, count);
}

hie_err
mpi_block_shared(mpi *m, uint64_t a, uint64_t b, int *shared)
{
	char          ka[MPI_NKEYS][MPI_KEY_LEN], kb[MPI_NKEYS][MPI_KEY_LEN];
	struct mpi_mk x, y;
	MDB_txn      *txn;
	MDB_cursor   *c = NULL;
	size_t        na, nb, count;
	hie_err       e;
	int           rc;

	*shared = 0;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((e = mpi_mk_get(m, txn, a, &x)) != HIE_OK || (e = mpi_mk_get(m, txn, b, &y)) != HIE_OK)
		goto done;
	if ((rc = mdb_cursor_open(txn, m->blk, &c)) != 0) {
		e = hie_store_err(rc);
		goto done;
	}
	na = mpi_block_keys(&x, ka);
	nb = mpi_block_keys(&y, kb);
	for (size_t i = 0; i < na && !*shared; i++)
		for (size_t j = 0; j < nb && !*shared; j++) {
			if (strcmp(ka[i], kb[j]) != 0)
				continue;
			if ((rc = block_size(c, ka[i], &count)) != 0) {
				e = hie_store_err(rc);
				goto done;
			}
			*shared = count <= MPI_BLOCK_CAP; /* a skipped block finds nothing */
		}
done:
	if (c != NULL)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return e;
}

hie_err
mpi_block_stats(mpi *m, double *pairs, uint64_t *blocks, uint64_t *skipped)
{
	MDB_txn    *txn;
	MDB_cursor *c;
	MDB_val     k, v;
	int         rc;

	*pairs = 0;
	*blocks = *skipped = 0;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_cursor_open(txn, m->blk, &c)) == 0) {
		for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_NODUP)) {
			size_t count;
			if ((rc = mdb_cursor_count(c, &count)) != 0)
				break;
			(*blocks)++;
			if (count > MPI_BLOCK_CAP)
				(*skipped)++;
			else
				*pairs += (double) count * (double) (count - 1) / 2;
		}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? HIE_OK : hie_store_err(rc);
}

/* ---- signatures ---- */

/* A 12-bit hash, never 0 (0: no value). */
static uint64_t
h12(const char *s)
{
	uint32_t h = 2166136261u;

	if (*s == '\0')
		return 0;
	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 16777619u;
	return 1 + (h ^ (h >> 12) ^ (h >> 24)) % 4095;
}

/* Layout (high to low): birth date 18 (year - 1849: 9, month 4, day 5;
 * 0 none), sex 2 (0 none or U, 1 M, 2 F, 3 O), NYSIIS of the first
 * name's given name as written (not its canon) 12, its family NYSIIS 12,
 * the first address's postcode 11 and street number 7, then 1 if the
 * record has more than one name, 1 if more than one address. */
uint64_t
mpi_sig(const struct mpi_mk *k)
{
	uint64_t d = 0, sex, st, pc, fam;
	char     gph[16] = "";

	if (strlen(k->dob) == 8) {
		unsigned y = (unsigned) atoi((char[5]) { k->dob[0], k->dob[1], k->dob[2], k->dob[3], 0 });
		unsigned mo = (unsigned) ((k->dob[4] - '0') * 10 + (k->dob[5] - '0'));
		unsigned da = (unsigned) ((k->dob[6] - '0') * 10 + (k->dob[7] - '0'));
		if (y >= 1850 && y < 1850 + 511 && mo >= 1 && mo <= 12 && da >= 1 && da <= 31)
			d = (uint64_t) (y - 1849) << 9 | (uint64_t) mo << 5 | da;
	}
	sex = k->sex == 'M' ? 1 : k->sex == 'F' ? 2 : k->sex == 'O' ? 3 : 0;
	st = pc = fam = 0;
	if (k->naddr > 0) {
		/* Folded to fewer bits, still never 0 for a value. */
		if ((st = h12(k->addr[0].stnum) & 0x7f) == 0 && k->addr[0].stnum[0] != '\0')
			st = 1;
		if ((pc = h12(k->addr[0].postcode) & 0x7ff) == 0 && k->addr[0].postcode[0] != '\0')
			pc = 1;
	}
	if (k->nname > 0) {
		if (k->name[0].given[0] != '\0' && mpi_nysiis(k->name[0].given, gph, sizeof(gph)) != HIE_OK)
			gph[0] = '\0';
		fam = h12(k->name[0].family_ph);
	}
	return d << 46 | sex << 44 | h12(gph) << 32 | fam << 20 | pc << 9 | st << 2 | (uint64_t) (k->nname > 1) << 1 |
	       (uint64_t) (k->naddr > 1);
}
