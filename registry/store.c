/* registry/store.c -- registry objects and document bytes in LMDB: the
 * databases, one get/put per object type inside a caller's transaction,
 * and the read-only calls of the public API. */
#include "registry/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hie_err
reg_open(MDB_env *env, reg **out)
{
	static const struct hie_store_db dbs[] = {
		{ "reg.entry", offsetof(reg, entry), 0 }, { "reg.uid", offsetof(reg, uid), 0 },
		{ "reg.pat", offsetof(reg, pat), 0 }, { "repo.doc", offsetof(reg, doc), 0 },
		{ "reg.ss", offsetof(reg, ss), 0 }, { "reg.fol", offsetof(reg, fol), 0 },
		{ "reg.ouid", offsetof(reg, ouid), 0 }, { "reg.assoc", offsetof(reg, assoc), 0 },
		{ "reg.asrc", offsetof(reg, asrc), MDB_DUPSORT }, { "reg.atgt", offsetof(reg, atgt), MDB_DUPSORT },
		{ "reg.ref", offsetof(reg, ref), MDB_DUPSORT },
	};
	reg    *r;
	hie_err e;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return HIE_ENOMEM;
	r->env = env;
	if ((e = hie_store_open_dbs(env, dbs, sizeof(dbs) / sizeof(dbs[0]), r)) != HIE_OK) {
		free(r);
		return e;
	}
	*out = r;
	return HIE_OK;
}

void
reg_close(reg *r)
{
	free(r);
}

void
reg_set_patient_check(reg *r, reg_patient_fn fn, void *arg)
{
	r->patient_ok = fn;
	r->patient_arg = arg;
}

static MDB_val
sval(const char *s)
{
	MDB_val v = { strlen(s), (void *) s };
	return v;
}

/* kind, a string, and optionally \0 and a second string. */
static MDB_val
kkey(unsigned char *buf, size_t cap, enum reg_kind k, const char *a, const char *b)
{
	size_t  la = strlen(a), lb = b ? strlen(b) : 0, n = 0;
	MDB_val v;

	if (1 + la + 1 + lb > cap)
		la = lb = 0; /* cannot happen: fields are bounded */
	buf[n++] = (unsigned char) k;
	memcpy(buf + n, a, la);
	n += la;
	if (b != NULL) {
		buf[n++] = '\0';
		memcpy(buf + n, b, lb);
		n += lb;
	}
	v.mv_data = buf;
	v.mv_size = n;
	return v;
}

static hie_err
get_rec(MDB_txn *t, MDB_dbi dbi, const char *key, const struct reg_schema *s, void *obj, size_t size)
{
	MDB_val k = sval(key), v;
	int     rc;

	memset(obj, 0, size);
	if (key[0] == '\0')
		return HIE_ENOTFOUND;
	if ((rc = mdb_get(t, dbi, &k, &v)) != 0)
		return hie_store_err(rc);
	return reg_tlv_decode(s, v.mv_data, v.mv_size, obj);
}

static hie_err
put_rec(MDB_txn *t, MDB_dbi dbi, const char *key, const struct reg_schema *s, const void *obj)
{
	unsigned char buf[16384]; /* above every schema's reg_tlv_max */
	MDB_val       k = sval(key), v;

	if (reg_tlv_max(s) > sizeof(buf))
		return HIE_ETOOBIG;
	v.mv_data = buf;
	v.mv_size = reg_tlv_encode(s, obj, buf);
	return hie_store_err(mdb_put(t, dbi, &k, &v, 0));
}

/* Looks up a uuid through a uniqueId index. */
static hie_err
uid_lookup(MDB_txn *t, MDB_dbi dbi, MDB_val k, char *uuid, size_t cap)
{
	MDB_val v;
	int     rc;

	if ((rc = mdb_get(t, dbi, &k, &v)) != 0)
		return hie_store_err(rc);
	if (v.mv_size >= cap)
		return HIE_EDB;
	memcpy(uuid, v.mv_data, v.mv_size);
	uuid[v.mv_size] = '\0';
	return HIE_OK;
}

hie_err
reg_doc_get(reg *r, MDB_txn *t, const char *uuid, struct reg_entry *e)
{
	return get_rec(t, r->entry, uuid, &reg_schema_entry, e, sizeof(*e));
}

hie_err
reg_doc_by_uid(reg *r, MDB_txn *t, const char *uid, struct reg_entry *e)
{
	char    uuid[64];
	hie_err err;

	memset(e, 0, sizeof(*e));
	if (uid[0] == '\0')
		return HIE_ENOTFOUND;
	if ((err = uid_lookup(t, r->uid, sval(uid), uuid, sizeof(uuid))) != HIE_OK)
		return err;
	return reg_doc_get(r, t, uuid, e);
}

/* Adds or removes one line-list index (reference ids). */
static hie_err
lines_index(MDB_txn *t, MDB_dbi dbi, const char *lines, const char *uuid)
{
	char buf[512];

	hie_strlcpy(buf, lines, sizeof(buf));
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		MDB_val k = sval(l), v = sval(uuid);
		int     rc;
		if (k.mv_size == 0 || k.mv_size > 500)
			continue;
		if ((rc = mdb_put(t, dbi, &k, &v, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
			return hie_store_err(rc);
	}
	return HIE_OK;
}

hie_err
reg_doc_put(reg *r, MDB_txn *t, const struct reg_entry *e, int new_object)
{
	unsigned char pk[1 + 256 + 1 + 64];
	MDB_val       k, v;
	hie_err       err;
	int           rc;

	if ((err = put_rec(t, r->entry, e->entry_uuid, &reg_schema_entry, e)) != HIE_OK)
		return err;
	if (!new_object)
		return HIE_OK;
	k = sval(e->unique_id);
	v = sval(e->entry_uuid);
	if ((rc = mdb_put(t, r->uid, &k, &v, MDB_NOOVERWRITE)) != 0)
		return hie_store_err(rc);
	k = kkey(pk, sizeof(pk), K_DOC, e->patient_id, e->entry_uuid);
	v.mv_data = "";
	v.mv_size = 0;
	if ((rc = mdb_put(t, r->pat, &k, &v, 0)) != 0)
		return hie_store_err(rc);
	return lines_index(t, r->ref, e->reference_ids, e->entry_uuid);
}

hie_err
reg_ss_get(reg *r, MDB_txn *t, const char *uuid, struct reg_subset *s)
{
	return get_rec(t, r->ss, uuid, &reg_schema_ss, s, sizeof(*s));
}

/* The uuid of the submission set or folder with uniqueId uid. */
static hie_err
obj_by_uid(reg *r, MDB_txn *t, enum reg_kind kind, const char *uid, char uuid[64])
{
	unsigned char k[1 + 128];

	if (uid[0] == '\0' || strlen(uid) >= 128)
		return HIE_ENOTFOUND;
	return uid_lookup(t, r->ouid, kkey(k, sizeof(k), kind, uid, NULL), uuid, 64);
}

hie_err
reg_ss_by_uid(reg *r, MDB_txn *t, const char *uid, struct reg_subset *s)
{
	char    uuid[64];
	hie_err err;

	memset(s, 0, sizeof(*s));
	return (err = obj_by_uid(r, t, K_SS, uid, uuid)) != HIE_OK ? err : reg_ss_get(r, t, uuid, s);
}

static hie_err
obj_index(reg *r, MDB_txn *t, enum reg_kind kind, const char *uid, const char *patient, const char *uuid)
{
	unsigned char k1[1 + 128], k2[1 + 256 + 1 + 64];
	MDB_val       k, v = sval(uuid);
	int           rc;

	k = kkey(k1, sizeof(k1), kind, uid, NULL);
	if ((rc = mdb_put(t, r->ouid, &k, &v, MDB_NOOVERWRITE)) != 0)
		return hie_store_err(rc);
	k = kkey(k2, sizeof(k2), kind, patient, uuid);
	v.mv_data = "";
	v.mv_size = 0;
	return hie_store_err(mdb_put(t, r->pat, &k, &v, 0));
}

hie_err
reg_ss_put(reg *r, MDB_txn *t, const struct reg_subset *s)
{
	hie_err err = put_rec(t, r->ss, s->entry_uuid, &reg_schema_ss, s);
	return err != HIE_OK ? err : obj_index(r, t, K_SS, s->unique_id, s->patient_id, s->entry_uuid);
}

hie_err
reg_fol_get(reg *r, MDB_txn *t, const char *uuid, struct reg_folder *f)
{
	return get_rec(t, r->fol, uuid, &reg_schema_fol, f, sizeof(*f));
}

hie_err
reg_fol_by_uid(reg *r, MDB_txn *t, const char *uid, struct reg_folder *f)
{
	char    uuid[64];
	hie_err err;

	memset(f, 0, sizeof(*f));
	return (err = obj_by_uid(r, t, K_FOL, uid, uuid)) != HIE_OK ? err : reg_fol_get(r, t, uuid, f);
}

hie_err
reg_fol_put(reg *r, MDB_txn *t, const struct reg_folder *f, int new_object)
{
	hie_err err = put_rec(t, r->fol, f->entry_uuid, &reg_schema_fol, f);
	if (err != HIE_OK || !new_object)
		return err;
	return obj_index(r, t, K_FOL, f->unique_id, f->patient_id, f->entry_uuid);
}

int
reg_ouid_taken(reg *r, MDB_txn *t, enum reg_kind kind, const char *uid)
{
	unsigned char k1[1 + 128];
	MDB_val       k, v;

	if (strlen(uid) >= 128)
		return 0;
	k = kkey(k1, sizeof(k1), kind, uid, NULL);
	return mdb_get(t, r->ouid, &k, &v) == 0;
}

hie_err
reg_assoc_get(reg *r, MDB_txn *t, const char *id, struct reg_assoc *a)
{
	return get_rec(t, r->assoc, id, &reg_schema_assoc, a, sizeof(*a));
}

hie_err
reg_assoc_put(reg *r, MDB_txn *t, const struct reg_assoc *a)
{
	MDB_val k, v;
	hie_err err;
	int     rc;

	if ((err = put_rec(t, r->assoc, a->entry_uuid, &reg_schema_assoc, a)) != HIE_OK)
		return err;
	k = sval(a->source);
	v = sval(a->entry_uuid);
	if ((rc = mdb_put(t, r->asrc, &k, &v, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
		return hie_store_err(rc);
	k = sval(a->target);
	if ((rc = mdb_put(t, r->atgt, &k, &v, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
		return hie_store_err(rc);
	return HIE_OK;
}

/* Walks the duplicates of one key of a dupsort database. */
static hie_err
dup_each(MDB_txn *t, MDB_dbi dbi, const char *key, reg_uuid_fn fn, void *arg)
{
	MDB_cursor *c;
	MDB_val     k = sval(key), v;
	hie_err     err = HIE_OK;
	int         rc;

	if (k.mv_size == 0)
		return HIE_OK;
	if ((rc = mdb_cursor_open(t, dbi, &c)) != 0)
		return hie_store_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET); rc == 0 && err == HIE_OK;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		char id[64];
		if (v.mv_size >= sizeof(id)) {
			err = HIE_EDB;
			break;
		}
		memcpy(id, v.mv_data, v.mv_size);
		id[v.mv_size] = '\0';
		err = fn(arg, id);
	}
	mdb_cursor_close(c);
	if (err == HIE_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = hie_store_err(rc);
	return err;
}

struct assoc_walk {
	reg         *r;
	MDB_txn     *t;
	reg_assoc_fn fn;
	void        *arg;
};

static hie_err
assoc_one(void *arg, const char *id)
{
	struct assoc_walk *w = arg;
	struct reg_assoc   a;
	hie_err            err = reg_assoc_get(w->r, w->t, id, &a);

	return err != HIE_OK ? (err == HIE_ENOTFOUND ? HIE_EDB : err) : w->fn(w->arg, &a);
}

hie_err
reg_assoc_each(reg *r, MDB_txn *t, const char *uuid, int by_target, reg_assoc_fn fn, void *arg)
{
	struct assoc_walk w = { r, t, fn, arg };
	return dup_each(t, by_target ? r->atgt : r->asrc, uuid, assoc_one, &w);
}

hie_err
reg_ref_each(reg *r, MDB_txn *t, const char *ref, reg_uuid_fn fn, void *arg)
{
	return dup_each(t, r->ref, ref, fn, arg);
}

void
reg_set_patient_aliases(reg *r, reg_alias_fn fn, void *arg)
{
	r->aliases = fn;
	r->alias_arg = arg;
}

static hie_err pat_each_one(reg *r, MDB_txn *t, enum reg_kind kind, const char *patient, reg_uuid_fn fn, void *arg);

hie_err
reg_pat_each(reg *r, MDB_txn *t, enum reg_kind kind, const char *patient, reg_uuid_fn fn, void *arg)
{
	char    alias[REG_MAX_ALIASES][256];
	size_t  n = 0;
	hie_err err = pat_each_one(r, t, kind, patient, fn, arg);

	if (err == HIE_OK && r->aliases != NULL && patient[0] != '\0')
		n = r->aliases(r->alias_arg, patient, alias, REG_MAX_ALIASES);
	for (size_t i = 0; i < n && i < REG_MAX_ALIASES && err == HIE_OK; i++)
		if (strcmp(alias[i], patient) != 0)
			err = pat_each_one(r, t, kind, alias[i], fn, arg);
	return err;
}

static hie_err
pat_each_one(reg *r, MDB_txn *t, enum reg_kind kind, const char *patient, reg_uuid_fn fn, void *arg)
{
	unsigned char pk[1 + 256 + 1];
	MDB_cursor   *c;
	MDB_val       k, v;
	size_t        plen;
	hie_err       err = HIE_OK;
	int           rc;

	if (patient[0] == '\0' || strlen(patient) >= 256)
		return HIE_OK;
	k = kkey(pk, sizeof(pk), kind, patient, "");
	plen = k.mv_size;
	if ((rc = mdb_cursor_open(t, r->pat, &c)) != 0)
		return hie_store_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && err == HIE_OK;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char id[64];
		if (k.mv_size <= plen || memcmp(k.mv_data, pk, plen) != 0)
			break;
		if (k.mv_size - plen >= sizeof(id)) {
			err = HIE_EDB;
			break;
		}
		memcpy(id, (char *) k.mv_data + plen, k.mv_size - plen);
		id[k.mv_size - plen] = '\0';
		err = fn(arg, id);
	}
	mdb_cursor_close(c);
	return err;
}

/* ---- the public read calls ---- */

struct find_docs {
	reg                    *r;
	MDB_txn                *t;
	const struct reg_query *q;
	struct reg_objects      o;
};

static hie_err
find_one(void *arg, const char *uuid)
{
	struct find_docs *f = arg;
	struct reg_entry  e;
	hie_err           err = reg_doc_get(f->r, f->t, uuid, &e);

	if (err != HIE_OK)
		return err == HIE_ENOTFOUND ? HIE_EDB : err;
	return reg_entry_matches(&e, f->q) ? reg_objects_add_doc(&f->o, &e, f->q->max_results) : HIE_OK;
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
	struct find_docs f = { r, NULL, q, { 0 } };
	hie_err          err;
	int              rc;

	out->v = NULL;
	out->n = 0;
	if (q->patient_id[0] == '\0')
		return HIE_EINVAL;
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &f.t)) != 0)
		return hie_store_err(rc);
	err = reg_pat_each(r, f.t, K_DOC, q->patient_id, find_one, &f);
	mdb_txn_abort(f.t);
	if (err != HIE_OK) {
		reg_objects_free(&f.o);
		return err;
	}
	out->v = f.o.docs;
	out->n = f.o.n_docs;
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
	MDB_val  k, v;
	hie_err  err;
	int      rc;

	*doc = NULL;
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((err = reg_doc_by_uid(r, txn, unique_id, e)) != HIE_OK)
		goto done;
	k = sval(unique_id);
	if ((rc = mdb_get(txn, r->doc, &k, &v)) != 0) {
		err = hie_store_err(rc);
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
		return hie_store_err(rc);
	rc = mdb_stat(txn, r->entry, &st);
	mdb_txn_abort(txn);
	*n = rc == 0 ? st.ms_entries : 0;
	return hie_store_err(rc);
}

/* The document bytes go to the repository inside the submission's
 * transaction (submit.c). */
hie_err
reg_repo_put(reg *r, MDB_txn *t, const char *uid, const void *doc, size_t len)
{
	MDB_val k = sval(uid), v = { len, (void *) doc };
	return hie_store_err(mdb_put(t, r->doc, &k, &v, 0));
}

hie_err
reg_fail(struct reg_error *err, hie_err e, const char *code, const char *location, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return e;
	err->code = code;
	hie_strlcpy(err->location, location ? location : "", sizeof(err->location));
	va_start(ap, fmt);
	vsnprintf(err->context, sizeof(err->context), fmt, ap);
	va_end(ap);
	return e;
}
