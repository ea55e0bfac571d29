/* registry/store.c -- DocumentEntries and document bytes in LMDB. */
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

struct reg {
	MDB_env *env;
	MDB_dbi  entry, uid, pat, doc;
};

/* The stored form of an entry: (tag u8, length u16, bytes)*.  Tags are the
 * index in this table, so fields are appended, never reordered: old records
 * stay readable and unknown tags are skipped. */
#define F(field) { offsetof(struct reg_entry, field), sizeof(((struct reg_entry *) 0)->field) }
static const struct {
	size_t off, cap;
} fields[] = {
	F(entry_uuid), F(unique_id), F(repository_id), F(patient_id), F(source_patient_id),
	F(status), F(class_code), F(class_scheme), F(class_display), F(type_code),
	F(type_scheme), F(type_display), F(format_code), F(format_scheme),
	F(confidentiality), F(mime_type), F(language), F(creation_time), F(service_start),
	F(service_stop), F(title), F(author), F(hash),
};
#undef F
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
#define TAG_SIZE 200

static size_t
entry_encode(const struct reg_entry *e, unsigned char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < NFIELDS; i++) {
		const char *s = (const char *) e + fields[i].off;
		size_t      l = strnlen(s, fields[i].cap - 1);
		if (l == 0)
			continue;
		out[n++] = (unsigned char) i;
		out[n++] = (unsigned char) (l >> 8);
		out[n++] = (unsigned char) l;
		memcpy(out + n, s, l);
		n += l;
	}
	out[n++] = TAG_SIZE;
	out[n++] = 0;
	out[n++] = 8;
	for (int i = 7; i >= 0; i--)
		out[n++] = (unsigned char) (e->size >> (8 * i));
	return n;
}

static hie_err
entry_decode(const unsigned char *p, size_t len, struct reg_entry *e)
{
	size_t i = 0;

	memset(e, 0, sizeof(*e));
	while (i + 3 <= len) {
		unsigned tag = p[i];
		size_t   l = ((size_t) p[i + 1] << 8) | p[i + 2];
		i += 3;
		if (l > len - i)
			return HIE_EDB;
		if (tag == TAG_SIZE && l == 8) {
			for (size_t k = 0; k < 8; k++)
				e->size = (e->size << 8) | p[i + k];
		} else if (tag < NFIELDS && l < fields[tag].cap) {
			char *dst = (char *) e + fields[tag].off;
			memcpy(dst, p + i, l);
			dst[l] = '\0';
		}
		i += l;
	}
	return i == len ? HIE_OK : HIE_EDB;
}

static hie_err
mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return HIE_OK;
	case MDB_NOTFOUND:
		return HIE_ENOTFOUND;
	case MDB_KEYEXIST:
		return HIE_EEXIST;
	case MDB_MAP_FULL:
		return HIE_ETOOBIG;
	default:
		return HIE_EDB;
	}
}

hie_err
reg_open(MDB_env *env, reg **out)
{
	MDB_txn *txn;
	reg     *r;
	int      rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return HIE_ENOMEM;
	r->env = env;
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
		free(r);
		return mdb_err(rc);
	}
	if ((rc = mdb_dbi_open(txn, "reg.entry", MDB_CREATE, &r->entry)) != 0 ||
	    (rc = mdb_dbi_open(txn, "reg.uid", MDB_CREATE, &r->uid)) != 0 ||
	    (rc = mdb_dbi_open(txn, "reg.pat", MDB_CREATE, &r->pat)) != 0 ||
	    (rc = mdb_dbi_open(txn, "repo.doc", MDB_CREATE, &r->doc)) != 0) {
		mdb_txn_abort(txn);
		free(r);
		return mdb_err(rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		free(r);
		return mdb_err(rc);
	}
	*out = r;
	return HIE_OK;
}

void
reg_close(reg *r)
{
	free(r);
}

static size_t
pat_key(unsigned char *k, const char *patient, const char *uuid)
{
	size_t a = strlen(patient), b = strlen(uuid);

	memcpy(k, patient, a);
	k[a] = '\0';
	memcpy(k + a + 1, uuid, b);
	return a + 1 + b;
}

hie_err
reg_put(reg *r, struct reg_entry *e, const void *doc, size_t len)
{
	unsigned char rec[sizeof(struct reg_entry) + 3 * 32];
	unsigned char pk[sizeof(e->patient_id) + sizeof(e->entry_uuid)];
	char          hash[41];
	MDB_txn      *txn;
	MDB_val       k, v;
	int           rc;

	if (e->unique_id[0] == '\0' || e->patient_id[0] == '\0' || e->repository_id[0] == '\0')
		return HIE_EMETADATA;
	hie_sha1_hex(doc, len, hash);
	if (e->hash[0] == '\0')
		memcpy(e->hash, hash, sizeof(hash));
	if (strcasecmp(e->hash, hash) != 0 || (e->size != 0 && e->size != len))
		return HIE_EMETADATA;
	e->size = len;
	if (e->entry_uuid[0] == '\0')
		hie_urn_uuid(e->entry_uuid);
	if (e->status[0] == '\0')
		hie_strlcpy(e->status, "Approved", sizeof(e->status));

	if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0)
		return mdb_err(rc);
	k.mv_data = e->unique_id;
	k.mv_size = strlen(e->unique_id);
	if ((rc = mdb_get(txn, r->uid, &k, &v)) == 0) {
		/* Same uniqueId: identical bytes is a resubmission, anything
		 * else is XDSDuplicateUniqueIdInRegistry. */
		struct reg_entry old;
		MDB_val          ek = v, ev;
		hie_err          e2 = HIE_EDUPLICATE;
		if (mdb_get(txn, r->entry, &ek, &ev) == 0 &&
		    entry_decode(ev.mv_data, ev.mv_size, &old) == HIE_OK &&
		    strcasecmp(old.hash, e->hash) == 0 && old.size == e->size)
			e2 = HIE_EEXIST;
		mdb_txn_abort(txn);
		return e2;
	}
	if (rc != MDB_NOTFOUND)
		goto fail;
	v.mv_data = e->entry_uuid;
	v.mv_size = strlen(e->entry_uuid);
	if ((rc = mdb_put(txn, r->uid, &k, &v, MDB_NOOVERWRITE)) != 0)
		goto fail;
	k = v;
	v.mv_data = rec;
	v.mv_size = entry_encode(e, rec);
	if ((rc = mdb_put(txn, r->entry, &k, &v, MDB_NOOVERWRITE)) != 0)
		goto fail;
	k.mv_data = pk;
	k.mv_size = pat_key(pk, e->patient_id, e->entry_uuid);
	v.mv_data = "";
	v.mv_size = 0;
	if ((rc = mdb_put(txn, r->pat, &k, &v, 0)) != 0)
		goto fail;
	k.mv_data = e->unique_id;
	k.mv_size = strlen(e->unique_id);
	v.mv_data = (void *) doc;
	v.mv_size = len;
	if ((rc = mdb_put(txn, r->doc, &k, &v, 0)) != 0)
		goto fail;
	/* The commit syncs: from here the registration survives a crash. */
	return mdb_err(mdb_txn_commit(txn));
fail:
	mdb_txn_abort(txn);
	return mdb_err(rc);
}

static int
codes_match(const struct reg_codes *c, const char *code)
{
	if (c->n == 0)
		return 1;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i], code) == 0)
			return 1;
	return 0;
}

/* DTM values compare as strings once both are cut to the same precision
 * (ITI TF-3 4.2.3.1.7: truncated values match the range). */
static int
time_in(const char *t, const char *from, const char *to)
{
	if (from[0] == '\0' && to[0] == '\0')
		return 1;
	if (t[0] == '\0')
		return 0;
	if (from[0] != '\0' && strncmp(t, from, strlen(from)) < 0)
		return 0;
	if (to[0] != '\0' && strncmp(t, to, strlen(to)) >= 0)
		return 0;
	return 1;
}

/* SQL LIKE as ebRS uses it: % any run, _ any one character. */
static int
like(const char *s, const char *p)
{
	for (; *p != '\0'; p++, s++) {
		if (*p == '%') {
			for (;; s++) {
				if (like(s, p + 1))
					return 1;
				if (*s == '\0')
					return 0;
			}
		}
		if (*s == '\0' || (*p != '_' && *p != *s))
			return 0;
	}
	return *s == '\0';
}

static int
entry_matches(const struct reg_entry *e, const struct reg_query *q)
{
	if (q->approved_only && strcmp(e->status, "Approved") != 0)
		return 0;
	if (!codes_match(&q->type_codes, e->type_code) || !codes_match(&q->class_codes, e->class_code) ||
	    !codes_match(&q->format_codes, e->format_code))
		return 0;
	for (size_t g = 0; g < q->n_conf_groups; g++)
		if (!codes_match(&q->conf_codes[g], e->confidentiality))
			return 0;
	if (!time_in(e->creation_time, q->creation_from, q->creation_to) ||
	    !time_in(e->service_start, q->service_start_from, q->service_start_to) ||
	    !time_in(e->service_stop, q->service_stop_from, q->service_stop_to))
		return 0;
	if (q->n_authors > 0) {
		size_t i;
		for (i = 0; i < q->n_authors; i++)
			if (like(e->author, q->authors[i]))
				break;
		if (i == q->n_authors)
			return 0;
	}
	return 1;
}

static int
newest_first(const void *a, const void *b)
{
	const struct reg_entry *x = a, *y = b;
	return strcmp(y->creation_time, x->creation_time);
}

hie_err
reg_find_documents(reg *r, const struct reg_query *q, struct reg_result *out)
{
	unsigned char     pk[sizeof(q->patient_id) + 1];
	size_t            plen = strlen(q->patient_id), cap = 0;
	MDB_txn          *txn;
	MDB_cursor       *cur;
	MDB_val           k, v;
	hie_err           e = HIE_OK;
	int               rc;

	out->v = NULL;
	out->n = 0;
	if (plen == 0)
		return HIE_EINVAL;
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_err(rc);
	if ((rc = mdb_cursor_open(txn, r->pat, &cur)) != 0) {
		mdb_txn_abort(txn);
		return mdb_err(rc);
	}
	memcpy(pk, q->patient_id, plen);
	pk[plen] = '\0';
	k.mv_data = pk;
	k.mv_size = plen + 1;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		MDB_val          ek, ev;
		struct reg_entry ent;
		if (k.mv_size <= plen + 1 || memcmp(k.mv_data, pk, plen + 1) != 0)
			break;
		ek.mv_data = (char *) k.mv_data + plen + 1;
		ek.mv_size = k.mv_size - plen - 1;
		if (mdb_get(txn, r->entry, &ek, &ev) != 0 ||
		    entry_decode(ev.mv_data, ev.mv_size, &ent) != HIE_OK) {
			e = HIE_EDB;
			break;
		}
		if (!entry_matches(&ent, q))
			continue;
		if (out->n == q->max_results) {
			e = HIE_ETOOBIG;
			break;
		}
		if (out->n == cap) {
			size_t            ncap = cap ? cap * 2 : 16;
			struct reg_entry *nv = realloc(out->v, ncap * sizeof(*nv));
			if (nv == NULL) {
				e = HIE_ENOMEM;
				break;
			}
			out->v = nv;
			cap = ncap;
		}
		out->v[out->n++] = ent;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (e != HIE_OK) {
		reg_result_free(out);
		return e;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), newest_first);
	return HIE_OK;
}

void
reg_result_free(struct reg_result *res)
{
	free(res->v);
	res->v = NULL;
	res->n = 0;
}

hie_err
reg_get_document(reg *r, const char *unique_id, struct reg_entry *e, char **doc, size_t *len)
{
	MDB_txn *txn;
	MDB_val  k, v, ev;
	hie_err  err = HIE_OK;
	int      rc;

	*doc = NULL;
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_err(rc);
	k.mv_data = (void *) unique_id;
	k.mv_size = strlen(unique_id);
	if ((rc = mdb_get(txn, r->uid, &k, &v)) != 0 || (rc = mdb_get(txn, r->entry, &v, &ev)) != 0) {
		err = mdb_err(rc);
		goto done;
	}
	if ((err = entry_decode(ev.mv_data, ev.mv_size, e)) != HIE_OK)
		goto done;
	if ((rc = mdb_get(txn, r->doc, &k, &v)) != 0) {
		err = mdb_err(rc);
		goto done;
	}
	if ((*doc = malloc(v.mv_size + 1)) == NULL) {
		err = HIE_ENOMEM;
		goto done;
	}
	memcpy(*doc, v.mv_data, v.mv_size);
	(*doc)[v.mv_size] = '\0';
	*len = v.mv_size;
done:
	mdb_txn_abort(txn);
	return err;
}

hie_err
reg_count(reg *r, size_t *n)
{
	MDB_txn *txn;
	MDB_stat st;
	int      rc;

	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_err(rc);
	rc = mdb_stat(txn, r->entry, &st);
	mdb_txn_abort(txn);
	*n = rc == 0 ? st.ms_entries : 0;
	return mdb_err(rc);
}
