/*
 * mpi/store.c -- the MPI's LMDB databases: opening them, the stored form of
 * a source record, counters, indexes, links with their history, the model.
 * Layout in mpi/internal.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/internal.h"

void
mpi_u64_put(unsigned char b[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char) v;
}

uint64_t
mpi_u64_get(const void *p)
{
	const unsigned char *b = p;
	uint64_t             v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

static const struct hie_store_db dbs[] = {
	{ "mpi.rec", offsetof(struct mpi, rec), 0 },
	{ "mpi.key", offsetof(struct mpi, key), 0 },
	{ "mpi.eid", offsetof(struct mpi, eid), MDB_DUPSORT | MDB_DUPFIXED },
	{ "mpi.blk", offsetof(struct mpi, blk), MDB_DUPSORT | MDB_DUPFIXED },
	{ "mpi.idx", offsetof(struct mpi, idx), MDB_DUPSORT | MDB_DUPFIXED },
	{ "mpi.hist", offsetof(struct mpi, hist), MDB_DUPSORT | MDB_DUPFIXED },
	{ "mpi.merge", offsetof(struct mpi, merge), 0 },
	{ "mpi.review", offsetof(struct mpi, review), 0 },
	{ "mpi.meta", offsetof(struct mpi, meta), 0 },
};

/* mpi.blk holds rid + signature (MPI_BLK_VAL bytes); a store written
 * before signatures (8-byte rids) would be misread: refused. */
static hie_err
blk_format_ok(mpi *m)
{
	MDB_txn    *txn;
	MDB_cursor *c;
	MDB_val     k, v;
	int         rc;

	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_cursor_open(txn, m->blk, &c)) == 0) {
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		if (rc == 0 && v.mv_size != MPI_BLK_VAL)
			rc = -1;
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	if (rc == -1) {
		fprintf(stderr, "mpi: blocking index of an older format (reload the patients into a new store)\n");
		return HIE_EDB;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? HIE_OK : hie_store_err(rc);
}

/* The store's format (MPI_FORMAT): written into a store without
 * records, checked in one that has some (no entry: format 1). */
static hie_err
format_ok(mpi *m)
{
	MDB_txn      *txn;
	MDB_val       k = { 6, "format" }, v;
	MDB_stat      st;
	unsigned char b[4] = { MPI_FORMAT >> 24, MPI_FORMAT >> 16 & 255, MPI_FORMAT >> 8 & 255, MPI_FORMAT & 255 };
	unsigned      have = 1;
	int           rc;

	if ((rc = mdb_txn_begin(m->env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_get(txn, m->meta, &k, &v)) == 0) {
		const unsigned char *x = v.mv_data;
		have = v.mv_size == 4 ? (unsigned) x[0] << 24 | (unsigned) x[1] << 16 | (unsigned) x[2] << 8 | x[3] : 0;
	} else if (rc == MDB_NOTFOUND && (rc = mdb_stat(txn, m->rec, &st)) == 0 && st.ms_entries == 0) {
		v.mv_size = sizeof(b);
		v.mv_data = b;
		if ((rc = mdb_put(txn, m->meta, &k, &v, 0)) != 0) {
			mdb_txn_abort(txn);
			return hie_store_err(rc);
		}
		return hie_store_err(mdb_txn_commit(txn));
	}
	mdb_txn_abort(txn);
	if (rc != 0)
		return hie_store_err(rc);
	if (have != MPI_FORMAT) {
		fprintf(stderr,
		    "mpi: patient store of format %u, this build reads format %u (match keys with every name and "
		    "address); reload the patients into a new store\n",
		    have, (unsigned) MPI_FORMAT);
		return HIE_EDB;
	}
	return HIE_OK;
}

hie_err
mpi_open(MDB_env *env, mpi **out)
{
	mpi    *m;
	hie_err e;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return HIE_ENOMEM;
	m->env = env;
	if ((e = hie_store_open_dbs(env, dbs, sizeof(dbs) / sizeof(dbs[0]), m)) != HIE_OK ||
	    (e = blk_format_ok(m)) != HIE_OK || (e = format_ok(m)) != HIE_OK) {
		free(m);
		return e;
	}
	*out = m;
	return HIE_OK;
}

void
mpi_close(mpi *m)
{
	free(m);
}

hie_err
mpi_counter_next(mpi *m, MDB_txn *txn, const char *name, uint64_t *out)
{
	unsigned char b[8];
	MDB_val       k = { strlen(name), (void *) name }, v;
	uint64_t      n = 0;
	int           rc = mdb_get(txn, m->meta, &k, &v);

	if (rc == 0 && v.mv_size == 8)
		n = mpi_u64_get(v.mv_data);
	else if (rc != MDB_NOTFOUND)
		return rc == 0 ? HIE_EDB : hie_store_err(rc);
	mpi_u64_put(b, ++n);
	v.mv_data = b;
	v.mv_size = 8;
	if ((rc = mdb_put(txn, m->meta, &k, &v, 0)) != 0)
		return hie_store_err(rc);
	*out = n;
	return HIE_OK;
}

/* ---- the record: (tag u8, length u16, value)*; group values are
 * NUL-terminated strings in a fixed order.  Tags are appended, never
 * renumbered; unknown tags are skipped. ---- */

enum { T_SOURCE = 1, T_UPDATED, T_DOB, T_SEX, T_NAME, T_ADDR, T_PHONE, T_ID };

#define REC_MAX 8192

struct wr {
	unsigned char *b;
	size_t         n, cap;
	int            over;
};

static void
put_tlv(struct wr *w, unsigned tag, const char *const *parts, size_t nparts, int nul)
{
	size_t len = 0, at;

	for (size_t i = 0; i < nparts; i++)
		len += strlen(parts[i]) + (nul ? 1 : 0);
	if (w->n + 3 + len > w->cap || len > 0xffff) {
		w->over = 1;
		return;
	}
	w->b[w->n++] = (unsigned char) tag;
	w->b[w->n++] = (unsigned char) (len >> 8);
	w->b[w->n++] = (unsigned char) len;
	at = w->n;
	for (size_t i = 0; i < nparts; i++) {
		size_t l = strlen(parts[i]) + (nul ? 1 : 0);
		memcpy(w->b + at, parts[i], l);
		at += l;
	}
	w->n = at;
}

static size_t
rec_encode(const struct mpi_patient *p, unsigned char *out, size_t cap)
{
	struct wr w = { out, 0, cap, 0 };
	char      upd[24], sex[2] = { p->sex, 0 };

	snprintf(upd, sizeof(upd), "%lld", (long long) p->updated);
	put_tlv(&w, T_SOURCE, (const char *[]) { p->source }, 1, 0);
	put_tlv(&w, T_UPDATED, (const char *[]) { upd }, 1, 0);
	put_tlv(&w, T_DOB, (const char *[]) { p->birth_date }, 1, 0);
	put_tlv(&w, T_SEX, (const char *[]) { sex }, 1, 0);
	for (size_t i = 0; i < p->n_names; i++) {
		const struct mpi_name *n = &p->names[i];
		put_tlv(&w, T_NAME, (const char *[]) { n->use, n->given, n->middle, n->family }, 4, 1);
	}
	for (size_t i = 0; i < p->n_addrs; i++) {
		const struct mpi_addr *a = &p->addrs[i];
		put_tlv(&w, T_ADDR, (const char *[]) { a->use, a->number, a->street, a->line2, a->city,
		                        a->state, a->postcode, a->country }, 8, 1);
	}
	for (size_t i = 0; i < p->n_phones; i++)
		put_tlv(&w, T_PHONE, (const char *[]) { p->phones[i].use, p->phones[i].number }, 2, 1);
	for (size_t i = 0; i < p->n_ids; i++) {
		const struct mpi_ident *x = &p->ids[i];
		put_tlv(&w, T_ID, (const char *[]) { x->cx.id, x->cx.authority, x->type }, 3, 1);
	}
	return w.over ? 0 : w.n;
}

/* Splits a group value into its NUL-terminated parts, each copied into
 * dst[i] (capacity caps[i]). */
static hie_err
get_parts(const unsigned char *v, size_t len, char *const *dst, const size_t *caps, size_t n)
{
	size_t at = 0;

	for (size_t i = 0; i < n; i++) {
		const unsigned char *z = memchr(v + at, '\0', len - at);
		size_t               l;
		if (at >= len || z == NULL)
			return HIE_EDB;
		l = (size_t) (z - (v + at));
		if (l >= caps[i])
			return HIE_EDB;
		memcpy(dst[i], v + at, l);
		dst[i][l] = '\0';
		at += l + 1;
	}
	return HIE_OK;
}

#define CAP(x) sizeof(x)

static hie_err
rec_decode(const unsigned char *b, size_t len, struct mpi_patient *p)
{
	size_t i = 0;
	char   tmp[24];

	memset(p, 0, sizeof(*p));
	while (i + 3 <= len) {
		unsigned             tag = b[i];
		size_t               l = ((size_t) b[i + 1] << 8) | b[i + 2];
		const unsigned char *v = b + i + 3;
		hie_err              e = HIE_OK;
		i += 3;
		if (l > len - i)
			return HIE_EDB;
		i += l;
		switch (tag) {
		case T_SOURCE:
		case T_UPDATED:
		case T_DOB:
		case T_SEX: {
			char  *dst = tag == T_SOURCE ? p->source : tag == T_DOB ? p->birth_date : tmp;
			size_t cap = tag == T_SOURCE ? CAP(p->source) : tag == T_DOB ? CAP(p->birth_date) : CAP(tmp);
			if (l >= cap)
				return HIE_EDB;
			memcpy(dst, v, l);
			dst[l] = '\0';
			if (tag == T_UPDATED)
				p->updated = strtoll(tmp, NULL, 10);
			else if (tag == T_SEX)
				p->sex = tmp[0];
			break;
		}
		case T_NAME:
			if (p->n_names < MPI_MAX_NAMES) {
				struct mpi_name *n = &p->names[p->n_names++];
				e = get_parts(v, l, (char *const[]) { n->use, n->given, n->middle, n->family },
				    (const size_t[]) { CAP(n->use), CAP(n->given), CAP(n->middle), CAP(n->family) }, 4);
			}
			break;
		case T_ADDR:
			if (p->n_addrs < MPI_MAX_ADDRS) {
				struct mpi_addr *a = &p->addrs[p->n_addrs++];
				e = get_parts(v, l,
				    (char *const[]) { a->use, a->number, a->street, a->line2, a->city, a->state,
				        a->postcode, a->country },
				    (const size_t[]) { CAP(a->use), CAP(a->number), CAP(a->street), CAP(a->line2),
				        CAP(a->city), CAP(a->state), CAP(a->postcode), CAP(a->country) },
				    8);
			}
			break;
		case T_PHONE:
			if (p->n_phones < MPI_MAX_PHONES) {
				struct mpi_phone *t = &p->phones[p->n_phones++];
				e = get_parts(v, l, (char *const[]) { t->use, t->number },
				    (const size_t[]) { CAP(t->use), CAP(t->number) }, 2);
			}
			break;
		case T_ID:
			if (p->n_ids < MPI_MAX_IDS) {
				struct mpi_ident *x = &p->ids[p->n_ids++];
				e = get_parts(v, l, (char *const[]) { x->cx.id, x->cx.authority, x->type },
				    (const size_t[]) { CAP(x->cx.id), CAP(x->cx.authority), CAP(x->type) }, 3);
			}
			break;
		default:
			break; /* a newer tag */
		}
		if (e != HIE_OK)
			return e;
	}
	return i == len ? HIE_OK : HIE_EDB;
}

static MDB_val
rid_val(unsigned char b[8], uint64_t rid)
{
	mpi_u64_put(b, rid);
	return (MDB_val) { 8, b };
}

/* A put keyed by rid.  A new record's rid is the highest yet, so the put
 * is tried as an append first: no search down the tree and pages filled
 * instead of split in half.  An existing rid (an update) is refused by
 * MDB_APPEND with MDB_KEYEXIST and put the ordinary way. */
static int
rid_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
	int rc = mdb_put(txn, dbi, k, v, MDB_APPEND);

	return rc == MDB_KEYEXIST ? mdb_put(txn, dbi, k, v, 0) : rc;
}

hie_err
mpi_rec_put(mpi *m, MDB_txn *txn, const struct mpi_patient *p)
{
	unsigned char buf[REC_MAX], kb[8];
	MDB_val       k = rid_val(kb, p->rid), v = { rec_encode(p, buf, sizeof(buf)), buf };

	if (v.mv_size == 0)
		return HIE_ETOOBIG;
	return hie_store_err(rid_put(txn, m->rec, &k, &v));
}

hie_err
mpi_rec_get(mpi *m, MDB_txn *txn, uint64_t rid, struct mpi_patient *p)
{
	unsigned char kb[8];
	MDB_val       k = rid_val(kb, rid), v;
	int           rc = mdb_get(txn, m->rec, &k, &v);

	if (rc != 0)
		return hie_store_err(rc);
	if (rec_decode(v.mv_data, v.mv_size, p) != HIE_OK)
		return HIE_EDB;
	p->rid = rid;
	return HIE_OK;
}

hie_err
mpi_mk_put(mpi *m, MDB_txn *txn, uint64_t rid, const struct mpi_mk *mk)
{
	unsigned char buf[MK_MAX], kb[8];
	MDB_val       k = rid_val(kb, rid), v = { mpi_mk_encode(mk, buf, sizeof(buf)), buf };

	return hie_store_err(rid_put(txn, m->key, &k, &v));
}

hie_err
mpi_mk_get(mpi *m, MDB_txn *txn, uint64_t rid, struct mpi_mk *mk)
{
	unsigned char kb[8];
	MDB_val       k = rid_val(kb, rid), v;
	int           rc = mdb_get(txn, m->key, &k, &v);

	if (rc != 0)
		return hie_store_err(rc);
	return mpi_mk_decode(v.mv_data, v.mv_size, mk);
}

/* A dupsort put or delete of (key, rid). */
static hie_err
dup_op(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t rid, int add)
{
	unsigned char vb[8];
	MDB_val       k = { klen, (void *) key }, v = rid_val(vb, rid);
	int           rc;

	if (klen == 0 || klen > 511)
		return HIE_OK; /* LMDB's key limit: such a key is not indexed */
	if (add)
		rc = mdb_put(txn, dbi, &k, &v, MDB_NODUPDATA);
	else
		rc = mdb_del(txn, dbi, &k, &v);
	if (rc == MDB_KEYEXIST || (!add && rc == MDB_NOTFOUND))
		rc = 0;
	return hie_store_err(rc);
}

/* A put or delete of (key, rid + signature) in mpi.blk. */
static hie_err
blk_op(MDB_txn *txn, MDB_dbi dbi, const char *key, const unsigned char val[MPI_BLK_VAL], int add)
{
	MDB_val k = { strlen(key), (void *) key }, v = { MPI_BLK_VAL, (void *) val };
	int     rc;

	if (k.mv_size == 0 || k.mv_size > 511)
		return HIE_OK;
	rc = add ? mdb_put(txn, dbi, &k, &v, MDB_NODUPDATA) : mdb_del(txn, dbi, &k, &v);
	if (rc == MDB_KEYEXIST || (!add && rc == MDB_NOTFOUND))
		rc = 0;
	return hie_store_err(rc);
}

hie_err
mpi_index(mpi *m, MDB_txn *txn, uint64_t rid, const struct mpi_patient *p, const struct mpi_mk *k,
    int add)
{
	char          keys[MPI_NKEYS][MPI_KEY_LEN];
	size_t        nk = mpi_block_keys(k, keys);
	unsigned char val[MPI_BLK_VAL];
	hie_err       e;

	mpi_u64_put(val, rid);
	mpi_u64_put(val + 8, mpi_sig(k));
	for (size_t i = 0; i < nk; i++)
		if ((e = blk_op(txn, m->blk, keys[i], val, add)) != HIE_OK)
			return e;
	for (size_t i = 0; i < p->n_ids; i++) {
		char   key[300];
		size_t a = strlen(p->ids[i].cx.authority), l = strlen(p->ids[i].cx.id);
		memcpy(key, p->ids[i].cx.authority, a);
		key[a] = '\0';
		memcpy(key + a + 1, p->ids[i].cx.id, l);
		if ((e = dup_op(txn, m->idx, key, a + 1 + l, rid, add)) != HIE_OK)
			return e;
	}
	return HIE_OK;
}

/* History entry: seq, time, op, from, to (8 bytes each, op in 8 too, so
 * entries are fixed size and sort by seq under their rid). */
#define HIST_LEN 40

hie_err
mpi_hist_put(mpi *m, MDB_txn *txn, uint64_t rid, mpi_hist_op op, uint64_t from, uint64_t to)
{
	unsigned char kb[8], vb[HIST_LEN];
	uint64_t      seq;
	MDB_val       k = rid_val(kb, rid), v = { HIST_LEN, vb };
	hie_err       e;

	if ((e = mpi_counter_next(m, txn, "seq", &seq)) != HIE_OK)
		return e;
	mpi_u64_put(vb, seq);
	mpi_u64_put(vb + 8, (uint64_t) time(NULL));
	mpi_u64_put(vb + 16, (uint64_t) op);
	mpi_u64_put(vb + 24, from);
	mpi_u64_put(vb + 32, to);
	return hie_store_err(rid_put(txn, m->hist, &k, &v));
}

hie_err
mpi_relink(mpi *m, MDB_txn *txn, uint64_t rid, struct mpi_mk *k, uint64_t eid, mpi_hist_op op)
{
	uint64_t old = k->eid;
	hie_err  e;

	if (old != 0) {
		unsigned char ob[8];
		mpi_u64_put(ob, old);
		if ((e = dup_op(txn, m->eid, ob, 8, rid, 0)) != HIE_OK)
			return e;
	}
	{
		unsigned char nb[8];
		mpi_u64_put(nb, eid);
		if ((e = dup_op(txn, m->eid, nb, 8, rid, 1)) != HIE_OK)
			return e;
	}
	k->eid = eid;
	if ((e = mpi_mk_put(m, txn, rid, k)) != HIE_OK)
		return e;
	return mpi_hist_put(m, txn, rid, op, old, eid);
}

/* ---- the model, stored as one array of doubles behind a version ---- */

/* 2: with the surname frequency table (version 1 models still load). */
#define MODEL_VERSION 2

hie_err
mpi_model_load(mpi *m, MDB_txn *txn, struct mpi_model *model)
{
	MDB_val k = { 5, "model" }, v;
	int     rc = mdb_get(txn, m->meta, &k, &v);

	if (rc == MDB_NOTFOUND) {
		mpi_model_default(model);
	} else if (rc != 0) {
		return hie_store_err(rc);
	} else {
		uint64_t ver = v.mv_size >= 8 ? mpi_u64_get(v.mv_data) : 0;
		if (ver == MODEL_VERSION && v.mv_size == 8 + sizeof(*model)) {
			memcpy(model, (char *) v.mv_data + 8, sizeof(*model));
		} else if (ver == 1 && v.mv_size == 8 + offsetof(struct mpi_model, family_freq)) {
			/* Trained before surname frequencies: none. */
			memset(model, 0, sizeof(*model));
			memcpy(model, (char *) v.mv_data + 8, offsetof(struct mpi_model, family_freq));
		} else
			return HIE_EDB;
	}
	if (m->link > 0) {
		model->link = m->link;
		model->review = m->review_at;
	}
	return HIE_OK;
}

hie_err
mpi_set_thresholds(mpi *m, double link, double review)
{
	if (!(review > 0 && review <= link && link <= 1))
		return HIE_EINVAL;
	m->link = link;
	m->review_at = review;
	return HIE_OK;
}

hie_err
mpi_model_get(mpi *m, struct mpi_model *out)
{
	MDB_txn *txn;
	hie_err  e;
	int      rc;

	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	e = mpi_model_load(m, txn, out);
	mdb_txn_abort(txn);
	return e;
}

hie_err
mpi_model_set(mpi *m, const struct mpi_model *model)
{
	unsigned char buf[8 + sizeof(*model)];
	MDB_val       k = { 5, "model" }, v = { sizeof(buf), buf };
	MDB_txn      *txn;
	int           rc;

	if (!(model->link > 0 && model->link <= 1 && model->review > 0 && model->review <= model->link &&
	        model->p > 0 && model->p < 1))
		return HIE_EINVAL;
	mpi_u64_put(buf, MODEL_VERSION);
	memcpy(buf + 8, model, sizeof(*model));
	if ((rc = mdb_txn_begin(m->env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_put(txn, m->meta, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return hie_store_err(rc);
	}
	return hie_store_err(mdb_txn_commit(txn));
}

/* ---- reads ---- */

hie_err
mpi_get(mpi *m, uint64_t rid, struct mpi_patient *out)
{
	MDB_txn      *txn;
	struct mpi_mk k;
	hie_err       e;
	int           rc;

	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((e = mpi_rec_get(m, txn, rid, out)) == HIE_OK && (e = mpi_mk_get(m, txn, rid, &k)) == HIE_OK)
		out->eid = k.eid;
	mdb_txn_abort(txn);
	return e;
}

hie_err
mpi_count(mpi *m, uint64_t *records, uint64_t *enterprises)
{
	MDB_txn    *txn;
	MDB_stat    st;
	MDB_cursor *c;
	MDB_val     k, v;
	uint64_t    n = 0;
	int         rc;

	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_stat(txn, m->rec, &st)) == 0 && (rc = mdb_cursor_open(txn, m->eid, &c)) == 0) {
		/* Distinct keys of mpi.eid: the live enterprise ids. */
		for (int op = MDB_FIRST; mdb_cursor_get(c, &k, &v, (MDB_cursor_op) op) == 0; op = MDB_NEXT_NODUP)
			n++;
		mdb_cursor_close(c);
		*records = st.ms_entries;
		*enterprises = n;
	}
	mdb_txn_abort(txn);
	return hie_store_err(rc);
}

/* Follows retired ids (mpi.merge) to the live one; bounded, since a
 * corrupt cycle must not hang a lookup. */
hie_err
mpi_resolve_txn(mpi *m, MDB_txn *txn, uint64_t eid, uint64_t *live)
{
	for (int hops = 0; hops < 64; hops++) {
		unsigned char kb[8];
		MDB_val       k = rid_val(kb, eid), v;
		int           rc = mdb_get(txn, m->merge, &k, &v);
		if (rc == MDB_NOTFOUND) {
			*live = eid;
			return HIE_OK;
		}
		if (rc != 0 || v.mv_size < 8)
			return rc != 0 ? hie_store_err(rc) : HIE_EDB;
		eid = mpi_u64_get(v.mv_data);
	}
	return HIE_EDB;
}

hie_err
mpi_resolve(mpi *m, uint64_t eid, uint64_t *live)
{
	MDB_txn *txn;
	hie_err  e;
	int      rc;

	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	e = mpi_resolve_txn(m, txn, eid, live);
	mdb_txn_abort(txn);
	return e;
}

/* Members of a live eid into rids (up to cap), *n the total. */
hie_err
mpi_members_txn(mpi *m, MDB_txn *txn, uint64_t eid, uint64_t *rids, size_t cap, size_t *n)
{
	unsigned char kb[8];
	MDB_val       k = rid_val(kb, eid), v;
	MDB_cursor   *c;
	int           rc;

	*n = 0;
	if ((rc = mdb_cursor_open(txn, m->eid, &c)) != 0)
		return hie_store_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		if (*n < cap)
			rids[*n] = mpi_u64_get(v.mv_data);
		(*n)++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? HIE_OK : hie_store_err(rc);
}

hie_err
mpi_members(mpi *m, uint64_t eid, uint64_t *rids, size_t cap, size_t *n)
{
	MDB_txn *txn;
	uint64_t live;
	hie_err  e;
	int      rc;

	*n = 0;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((e = mpi_resolve_txn(m, txn, eid, &live)) == HIE_OK && (e = mpi_members_txn(m, txn, live, rids, cap, n)) == HIE_OK &&
	    *n == 0)
		e = HIE_EUNKNOWNPATIENT;
	mdb_txn_abort(txn);
	return e;
}

hie_err
mpi_lookup_id(mpi *m, const struct mpi_cx *cx, uint64_t *eid, struct mpi_ident *ids, size_t cap, size_t *n)
{
	char        key[300];
	size_t      a = strlen(cx->authority), l = strlen(cx->id);
	MDB_val     k = { a + 1 + l, key }, v;
	MDB_txn    *txn;
	MDB_cursor *c = NULL;
	uint64_t    found = 0, rids[64];
	size_t      nr;
	hie_err     e = HIE_OK;
	int         rc;

	*eid = 0;
	*n = 0;
	if (a == 0 || l == 0 || a + 1 + l > 511)
		return HIE_EINVAL;
	memcpy(key, cx->authority, a);
	key[a] = '\0';
	memcpy(key + a + 1, cx->id, l);
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_cursor_open(txn, m->idx, &c)) != 0) {
		e = hie_store_err(rc);
		goto done;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		struct mpi_mk mk;
		if ((e = mpi_mk_get(m, txn, mpi_u64_get(v.mv_data), &mk)) != HIE_OK)
			goto done;
		if (found != 0 && mk.eid != found) {
			e = HIE_EAMBIGUOUS;
			goto done;
		}
		found = mk.eid;
	}
	if (rc != MDB_NOTFOUND) {
		e = hie_store_err(rc);
		goto done;
	}
	if (found == 0) {
		e = HIE_EUNKNOWNPATIENT;
		goto done;
	}
	*eid = found;
	if ((e = mpi_members_txn(m, txn, found, rids, sizeof(rids) / sizeof(rids[0]), &nr)) != HIE_OK)
		goto done;
	if (nr > sizeof(rids) / sizeof(rids[0]))
		nr = sizeof(rids) / sizeof(rids[0]);
	for (size_t i = 0; i < nr; i++) {
		struct mpi_patient *p = malloc(sizeof(*p));
		if (p == NULL) {
			e = HIE_ENOMEM;
			goto done;
		}
		if ((e = mpi_rec_get(m, txn, rids[i], p)) != HIE_OK) {
			free(p);
			goto done;
		}
		for (size_t j = 0; j < p->n_ids; j++) {
			int dup = 0;
			for (size_t x = 0; x < *n && x < cap; x++)
				dup |= strcmp(ids[x].cx.id, p->ids[j].cx.id) == 0 &&
				       strcmp(ids[x].cx.authority, p->ids[j].cx.authority) == 0;
			if (dup)
				continue;
			if (*n < cap)
				ids[*n] = p->ids[j];
			(*n)++;
		}
		free(p);
	}
done:
	if (c != NULL)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return e;
}

hie_err
mpi_resolve_cx(mpi *m, const struct mpi_cx *cx, uint64_t *eid, struct mpi_cx *out, size_t cap, size_t *n)
{
	struct mpi_ident ids[64];
	size_t           nids, k = 0;
	hie_err          e;

	*n = 0;
	if ((e = mpi_lookup_id(m, cx, eid, ids, sizeof(ids) / sizeof(ids[0]), &nids)) != HIE_OK)
		return e;
	if (nids > sizeof(ids) / sizeof(ids[0]))
		nids = sizeof(ids) / sizeof(ids[0]);
	/* cx first: the caller's own id answers even when cap is 1. */
	if (cap > 0)
		out[k] = *cx;
	k++;
	for (size_t i = 0; i < nids; i++) {
		/* National numbers are matching evidence, not the patient ids
		 * documents are filed under. */
		if (strcmp(ids[i].type, "SS") == 0 || mpi_id_compare(&ids[i].cx, cx) > 0)
			continue;
		if (k < cap)
			out[k] = ids[i].cx;
		k++;
	}
	*n = k;
	return HIE_OK;
}

hie_err
mpi_history(mpi *m, uint64_t rid, struct mpi_hist *out, size_t cap, size_t *n)
{
	unsigned char kb[8];
	MDB_val       k = rid_val(kb, rid), v;
	MDB_txn      *txn;
	MDB_cursor   *c;
	int           rc;

	*n = 0;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_cursor_open(txn, m->hist, &c)) == 0) {
		for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY); rc == 0;
		     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
			const unsigned char *b = v.mv_data;
			if (v.mv_size != HIST_LEN)
				continue;
			if (*n < cap)
				out[*n] = (struct mpi_hist) { mpi_u64_get(b), (int64_t) mpi_u64_get(b + 8),
					(mpi_hist_op) mpi_u64_get(b + 16), mpi_u64_get(b + 24), mpi_u64_get(b + 32) };
			(*n)++;
		}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return *n > 0 ? HIE_OK : HIE_ENOTFOUND;
	return hie_store_err(rc);
}

const char *
mpi_hist_name(mpi_hist_op op)
{
	static const char *const names[] = { "add", "link", "unlink", "merge", "unmerge", "accept",
		"reject", "update" };
	return (unsigned) op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}
