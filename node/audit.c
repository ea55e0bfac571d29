/* node/audit.c -- the hash-chained audit trail and its group-commit writer. */
#include "node/audit.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 65536
#define HASH_LEN SHA256_DIGEST_LENGTH

struct audit_log {
	MDB_env        *env;
	MDB_dbi         dbi;
	pthread_t       writer;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	char          **queue; /* JSON records waiting for the writer */
	size_t          n;
	int             stopping;
	uint64_t        written, refused;
	int             failing;         /* the last write failed */
	atomic_int      discard;         /* measurement only: records dropped */
	uint64_t        seq;             /* last stored */
	unsigned char   last[HASH_LEN];  /* its hash */
};

static void
key_of(uint64_t seq, unsigned char k[8])
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		k[i] = (unsigned char) seq;
}

static uint64_t
seq_of(const MDB_val *k)
{
	uint64_t s = 0;
	for (size_t i = 0; i < k->mv_size && i < 8; i++)
		s = (s << 8) | ((const unsigned char *) k->mv_data)[i];
	return k->mv_size == 8 ? s : 0;
}

/* Appends the batch in one synced transaction.  On failure nothing is
 * stored and the chain head is unchanged. */
static int
flush(audit_log *a, char **batch, size_t n)
{
	MDB_txn      *txn;
	unsigned char head[HASH_LEN], k[8];
	uint64_t      seq = a->seq;
	MDB_val       key, val;
	int           rc;

	memcpy(head, a->last, HASH_LEN);
	if ((rc = mdb_txn_begin(a->env, NULL, 0, &txn)) != 0)
		return rc;
	/* Another process (hie-node consent set, audit tools) may have
	 * appended since: the chain continues from what is stored, which the
	 * write transaction holds still. */
	{
		MDB_cursor *cur;
		MDB_val     lk, lv;
		if ((rc = mdb_cursor_open(txn, a->dbi, &cur)) != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
		if (mdb_cursor_get(cur, &lk, &lv, MDB_LAST) == 0 && seq_of(&lk) != seq) {
			seq = seq_of(&lk);
			SHA256(lv.mv_data, lv.mv_size, head);
		}
		mdb_cursor_close(cur);
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(batch[i]);
		key_of(++seq, k);
		key.mv_data = k;
		key.mv_size = 8;
		val.mv_size = HASH_LEN + len;
		if ((rc = mdb_put(txn, a->dbi, &key, &val, MDB_RESERVE | MDB_APPEND)) != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
		memcpy(val.mv_data, head, HASH_LEN);
		memcpy((char *) val.mv_data + HASH_LEN, batch[i], len);
		SHA256(val.mv_data, val.mv_size, head);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return rc;
	a->seq = seq;
	memcpy(a->last, head, HASH_LEN);
	return 0;
}

static void *
writer(void *arg)
{
	audit_log *a = arg;

	pthread_mutex_lock(&a->mtx);
	for (;;) {
		char  **batch;
		size_t  n;
		int     rc;
		while (a->n == 0 && !a->stopping)
			pthread_cond_wait(&a->cv, &a->mtx);
		if (a->n == 0 && a->stopping)
			break;
		batch = a->queue;
		n = a->n;
		a->queue = calloc(QUEUE_MAX, sizeof(char *));
		a->n = 0;
		if (a->queue == NULL) { /* keep the old array; retry later */
			a->queue = batch;
			a->n = n;
			pthread_mutex_unlock(&a->mtx);
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&a->mtx);
			continue;
		}
		pthread_mutex_unlock(&a->mtx);
		rc = flush(a, batch, n);
		pthread_mutex_lock(&a->mtx);
		a->failing = rc != 0;
		if (rc == 0) {
			a->written += n;
			for (size_t i = 0; i < n; i++)
				free(batch[i]);
			free(batch);
			continue;
		}
		/* Not written: the records go back in front of the queue and
		 * the writer tries again after a pause; only what no longer
		 * fits is lost, and counted. */
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-WRITE", NULL, "%zu records not written yet: %s", n, mdb_strerror(rc));
		{
			size_t keep = n + a->n <= QUEUE_MAX ? n : QUEUE_MAX - a->n;
			for (size_t i = keep; i < n; i++)
				free(batch[i]);
			a->refused += n - keep;
			memmove(a->queue + keep, a->queue, a->n * sizeof(char *));
			memcpy(a->queue, batch, keep * sizeof(char *));
			a->n += keep;
			free(batch);
		}
		if (a->stopping)
			break; /* closing: what could not be written is reported, not retried forever */
		pthread_mutex_unlock(&a->mtx);
		{
			struct timespec ts = { 0, 200000000 };
			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&a->mtx);
	}
	pthread_mutex_unlock(&a->mtx);
	return NULL;
}

hie_err
audit_open(MDB_env *env, audit_log **out)
{
	audit_log  *a;
	MDB_txn    *txn;
	MDB_cursor *cur;
	MDB_val     k, v;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL || (a->queue = calloc(QUEUE_MAX, sizeof(char *))) == NULL) {
		free(a);
		return HIE_ENOMEM;
	}
	a->env = env;
	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		goto fail;
	if (mdb_dbi_open(txn, "audit", MDB_CREATE, &a->dbi) != 0 || mdb_cursor_open(txn, a->dbi, &cur) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	/* The chain continues from the last stored record. */
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0) {
		a->seq = seq_of(&k);
		SHA256(v.mv_data, v.mv_size, a->last);
	}
	mdb_cursor_close(cur);
	if (mdb_txn_commit(txn) != 0)
		goto fail;
	pthread_mutex_init(&a->mtx, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (pthread_create(&a->writer, NULL, writer, a) != 0)
		goto fail;
	*out = a;
	return HIE_OK;
fail:
	free(a->queue);
	free(a);
	return HIE_EDB;
}

void
audit_close(audit_log *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mtx);
	a->stopping = 1;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mtx);
	pthread_join(a->writer, NULL);
	if (a->n > 0)
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-LOST", NULL, "%zu audit records could not be written", a->n);
	for (size_t i = 0; i < a->n; i++)
		free(a->queue[i]);
	free(a->queue);
	pthread_mutex_destroy(&a->mtx);
	pthread_cond_destroy(&a->cv);
	free(a);
}

static hie_err
field(hie_buf *b, const char *name, const char *v)
{
	hie_err e;
	if (v == NULL || v[0] == '\0')
		return HIE_OK;
	if ((e = hie_buf_printf(b, ",\"%s\":", name)) != HIE_OK)
		return e;
	return hie_buf_json_str(b, v);
}

hie_err
audit_record(audit_log *a, const struct audit_event *ev)
{
	hie_buf   b;
	char      ts[32];
	time_t    now = time(NULL);
	struct tm tm;
	hie_err   e;

	if (atomic_load(&a->discard)) /* measurement only (audit_discard) */
		return HIE_OK;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	hie_buf_init(&b, 8192);
	e = hie_buf_printf(&b, "{\"time\":\"%s\",\"outcome\":%d", ts, (int) ev->outcome);
	if (e == HIE_OK)
		e = field(&b, "event", ev->event);
	if (e == HIE_OK)
		e = field(&b, "role", ev->role);
	if (e == HIE_OK)
		e = field(&b, "rid", ev->rid);
	if (e == HIE_OK)
		e = field(&b, "source", ev->source);
	if (e == HIE_OK)
		e = field(&b, "user", ev->user);
	if (e == HIE_OK)
		e = field(&b, "userRole", ev->role_code);
	if (e == HIE_OK)
		e = field(&b, "purpose", ev->purpose);
	if (e == HIE_OK)
		e = field(&b, "patient", ev->patient);
	if (e == HIE_OK)
		e = field(&b, "detail", ev->detail);
	if (e == HIE_OK)
		e = field(&b, "organization", ev->organization);
	if (e == HIE_OK)
		e = field(&b, "documents", ev->documents);
	if (e == HIE_OK)
		e = field(&b, "query", ev->query);
	if (e == HIE_OK)
		e = field(&b, "peer", ev->peer);
	if (e == HIE_OK)
		e = field(&b, "local", ev->local);
	if (e == HIE_OK)
		e = field(&b, "trigger", ev->trigger);
	if (e == HIE_OK)
		e = field(&b, "action", ev->action);
	if (e == HIE_OK)
		e = hie_buf_addstr(&b, "}");
	if (e != HIE_OK) {
		hie_buf_free(&b);
		return e;
	}
	pthread_mutex_lock(&a->mtx);
	if (a->n == QUEUE_MAX || a->stopping) {
		a->refused++;
		pthread_mutex_unlock(&a->mtx);
		hie_buf_free(&b);
		return HIE_EBUSY;
	}
	a->queue[a->n++] = hie_buf_take(&b, NULL);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mtx);
	return HIE_OK;
}

void
audit_discard(audit_log *a, int on)
{
	atomic_store(&a->discard, on);
}

int
audit_discarding(audit_log *a)
{
	return atomic_load(&a->discard);
}

int
audit_ready(audit_log *a)
{
	int ok;

	pthread_mutex_lock(&a->mtx);
	ok = !a->failing && !a->stopping && a->n < QUEUE_MAX;
	pthread_mutex_unlock(&a->mtx);
	return ok;
}

void
audit_counts(audit_log *a, uint64_t *written, uint64_t *refused)
{
	pthread_mutex_lock(&a->mtx);
	*written = a->written;
	*refused = a->refused;
	pthread_mutex_unlock(&a->mtx);
}

/* Opens a read transaction and cursor on the audit database. */
static hie_err
read_cursor(MDB_env *env, MDB_txn **txn, MDB_cursor **cur)
{
	MDB_dbi dbi;
	int     rc;

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, txn) != 0)
		return HIE_EDB;
	if ((rc = mdb_dbi_open(*txn, "audit", 0, &dbi)) != 0 || mdb_cursor_open(*txn, dbi, cur) != 0) {
		mdb_txn_abort(*txn);
		return rc == MDB_NOTFOUND ? HIE_ENOTFOUND : HIE_EDB;
	}
	return HIE_OK;
}

hie_err
audit_verify(MDB_env *env, uint64_t *n, uint64_t *bad, char *why, size_t whycap)
{
	MDB_txn      *txn;
	MDB_cursor   *cur;
	MDB_val       k, v;
	unsigned char prev[HASH_LEN] = { 0 };
	uint64_t      expect = 1;
	hie_err       e;
	int           rc;

	*n = 0;
	*bad = 0;
	snprintf(why, whycap, "ok");
	if ((e = read_cursor(env, &txn, &cur)) != HIE_OK)
		return e == HIE_ENOTFOUND ? HIE_OK : e; /* no audit database yet: empty */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t seq = seq_of(&k);
		if (seq != expect) {
			*bad = expect;
			snprintf(why, whycap, "record %llu is missing (next present: %llu)", (unsigned long long) expect,
			    (unsigned long long) seq);
			break;
		}
		if (v.mv_size < HASH_LEN || memcmp(v.mv_data, prev, HASH_LEN) != 0) {
			/* Either the predecessor's content or this record's link
			 * was changed: name the earlier one first. */
			*bad = seq > 1 ? seq - 1 : seq;
			snprintf(why, whycap, "record %llu was changed, or record %llu's link to it (records moved or replaced)",
			    (unsigned long long) (seq > 1 ? seq - 1 : seq), (unsigned long long) seq);
			break;
		}
		SHA256(v.mv_data, v.mv_size, prev);
		expect++;
	}
	/* Records before the first bad one are intact. */
	*n = *bad != 0 ? *bad - 1 : expect - 1;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	/* A change in the last record leaves no successor to notice it; the
	 * running node holds the head hash and a record written after it
	 * covers it.  (Anchoring the head outside the node is for later.) */
	return *bad == 0 ? HIE_OK : HIE_EDB;
}

hie_err
audit_last_seq(MDB_env *env, uint64_t *seq)
{
	MDB_txn    *txn;
	MDB_cursor *cur;
	MDB_val     k, v;
	hie_err     e;

	*seq = 0;
	if ((e = read_cursor(env, &txn, &cur)) != HIE_OK)
		return e == HIE_ENOTFOUND ? HIE_OK : e;
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0)
		*seq = seq_of(&k);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return HIE_OK;
}

hie_err
audit_list(MDB_env *env, size_t last, FILE *out)
{
	MDB_txn    *txn;
	MDB_cursor *cur;
	MDB_val     k, v;
	hie_err     e;
	int         rc;

	if ((e = read_cursor(env, &txn, &cur)) != HIE_OK)
		return e == HIE_ENOTFOUND ? HIE_OK : e;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	for (size_t i = 1; rc == 0 && last != 0 && i < last; i++)
		if (mdb_cursor_get(cur, &k, &v, MDB_PREV) != 0) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
			break;
		}
	if (last == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (v.mv_size > HASH_LEN)
			fprintf(out, "%llu %.*s\n", (unsigned long long) seq_of(&k), (int) (v.mv_size - HASH_LEN),
			    (const char *) v.mv_data + HASH_LEN);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return HIE_OK;
}

hie_err
audit_each(MDB_env *env, uint64_t from, audit_each_fn fn, void *arg, uint64_t *next)
{
	MDB_txn      *txn;
	MDB_cursor   *cur;
	MDB_val       k, v;
	unsigned char key[8];
	hie_err       e;
	int           rc;

	if (next != NULL)
		*next = from;
	if ((e = read_cursor(env, &txn, &cur)) != HIE_OK)
		return e == HIE_ENOTFOUND ? HIE_OK : e;
	key_of(from, key);
	k.mv_data = key;
	k.mv_size = 8;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && e == HIE_OK;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t seq = seq_of(&k);
		if (v.mv_size <= HASH_LEN)
			continue;
		e = fn(arg, seq, (const char *) v.mv_data + HASH_LEN, v.mv_size - HASH_LEN);
		if (e == HIE_OK && next != NULL)
			*next = seq + 1;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return e;
}
