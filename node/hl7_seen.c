/*
 * node/hl7_seen.c -- acknowledgements already given (see node/hl7_seen.h).
 *
 * Record: key "MSH-3 raw" 0x1F "MSH-10" (or "sha1:" and its SHA-1 when
 * longer than LMDB's 511-byte key limit); value: 8-byte creation time
 * (seconds, host order), 40 hex digits SHA-1 of the message, the ACK.
 */
#include "node/hl7_seen.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hl7_seen {
	MDB_env *env;
	MDB_dbi  dbi;
};

#define HDR (8 + 40)

hie_err
hl7_seen_open(MDB_env *env, hl7_seen **out)
{
	hl7_seen *s;
	MDB_txn  *txn;
	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return HIE_ENOMEM;
	s->env = env;
	if (mdb_txn_begin(env, NULL, 0, &txn) != 0) {
		free(s);
		return HIE_EDB;
	}
	if (mdb_dbi_open(txn, "hl7.seen", MDB_CREATE, &s->dbi) != 0 || mdb_txn_commit(txn) != 0) {
		mdb_txn_abort(txn);
		free(s);
		return HIE_EDB;
	}
	*out = s;
	return HIE_OK;
}

void
hl7_seen_close(hl7_seen *s)
{
	free(s); /* the dbi handle belongs to the environment */
}

static hie_err
make_key(const hl7_msg *m, char *key, size_t cap, size_t *klen)
{
	struct hl7_header h;
	const char       *app;
	size_t            alen, clen;
	hl7_get_header(m, &h);
	hl7_get_raw(m, "MSH", 1, 3, &app, &alen);
	clen = strlen(h.control_id);
	if (alen + 1 + clen <= 511 && alen + 1 + clen < cap) {
		memcpy(key, app, alen);
		key[alen] = 0x1F;
		memcpy(key + alen + 1, h.control_id, clen);
		*klen = alen + 1 + clen;
		return HIE_OK;
	}
	{
		hie_buf b;
		char    hex[41];
		hie_err e;
		hie_buf_init(&b, 1024);
		e = hie_buf_add(&b, app, alen);
		e = e != HIE_OK ? e : hie_buf_add(&b, "\x1f", 1);
		e = e != HIE_OK ? e : hie_buf_addstr(&b, h.control_id);
		if (e != HIE_OK) {
			hie_buf_free(&b);
			return e;
		}
		hie_sha1_hex(b.data, b.len, hex);
		hie_buf_free(&b);
		memcpy(key, "sha1:", 5);
		memcpy(key + 5, hex, 40);
		*klen = 45;
	}
	return HIE_OK;
}

static void
msg_hash(const hl7_msg *m, char hex[41])
{
	const char *p;
	size_t      n;
	hl7_raw(m, &p, &n);
	hie_sha1_hex(p, n, hex);
}

hie_err
hl7_seen_lookup(hl7_seen *s, MDB_txn *txn, const hl7_msg *m, hie_buf *ack)
{
	char     key[512], hex[41];
	size_t   klen;
	MDB_txn *own = NULL;
	MDB_val  k, v;
	hie_err  e;
	int      rc;

	if ((e = make_key(m, key, sizeof(key), &klen)) != HIE_OK)
		return e;
	if (txn == NULL) {
		if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &own) != 0)
			return HIE_EDB;
		txn = own;
	}
	k.mv_data = key;
	k.mv_size = klen;
	rc        = mdb_get(txn, s->dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		e = HIE_ENOTFOUND;
	else if (rc != 0 || v.mv_size < HDR)
		e = HIE_EDB;
	else {
		msg_hash(m, hex);
		if (memcmp((char *) v.mv_data + 8, hex, 40) != 0) {
			hie_log(HIE_LOG_WARN, "hl7", "HIE-HL7-IDREUSE", NULL,
			    "control id reused with different content: processed as a new message");
			e = HIE_ENOTFOUND;
		} else
			e = hie_buf_add(ack, (char *) v.mv_data + HDR, v.mv_size - HDR);
	}
	if (own != NULL)
		mdb_txn_abort(own);
	return e;
}

hie_err
hl7_seen_put(hl7_seen *s, MDB_txn *txn, const hl7_msg *m, const char *ack, size_t len)
{
	char     key[512];
	size_t   klen;
	MDB_txn *own = NULL;
	MDB_val  k, v;
	int64_t  now = (int64_t) time(NULL);
	hie_err  e;
	char    *val;

	if ((e = make_key(m, key, sizeof(key), &klen)) != HIE_OK)
		return e;
	if ((val = malloc(HDR + len + 1)) == NULL)
		return HIE_ENOMEM;
	memcpy(val, &now, 8);
	msg_hash(m, val + 8);
	memcpy(val + HDR, ack, len);
	if (txn == NULL) {
		if (mdb_txn_begin(s->env, NULL, 0, &own) != 0) {
			free(val);
			return HIE_EDB;
		}
		txn = own;
	}
	k.mv_data = key;
	k.mv_size = klen;
	v.mv_data = val;
	v.mv_size = HDR + len;
	e         = mdb_put(txn, s->dbi, &k, &v, 0) == 0 ? HIE_OK : HIE_EDB;
	if (own != NULL) {
		if (e == HIE_OK && mdb_txn_commit(own) != 0)
			e = HIE_EDB;
		else if (e != HIE_OK)
			mdb_txn_abort(own);
	}
	free(val);
	return e;
}

hie_err
hl7_seen_prune(hl7_seen *s, int64_t max_age_s, size_t *removed)
{
	MDB_txn    *txn;
	MDB_cursor *cur;
	MDB_val     k, v;
	int64_t     cutoff = (int64_t) time(NULL) - max_age_s, t;
	size_t      n      = 0;
	int         rc;

	if (mdb_txn_begin(s->env, NULL, 0, &txn) != 0)
		return HIE_EDB;
	if (mdb_cursor_open(txn, s->dbi, &cur) != 0) {
		mdb_txn_abort(txn);
		return HIE_EDB;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (v.mv_size < 8)
			continue;
		memcpy(&t, v.mv_data, 8);
		if (t < cutoff && mdb_cursor_del(cur, 0) == 0)
			n++;
	}
	mdb_cursor_close(cur);
	if (mdb_txn_commit(txn) != 0)
		return HIE_EDB;
	if (removed != NULL)
		*removed = n;
	return HIE_OK;
}
