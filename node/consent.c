/* node/consent.c -- per-patient consent policies in LMDB and the one
 * decision every responder asks for. */
#include "node/consent.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/store.h"

struct consent {
	MDB_env                *env;
	MDB_dbi                 dbi;
	struct consent_defaults def;
};

hie_err
consent_open(MDB_env *env, const struct consent_defaults *def, consent **out)
{
	static const struct hie_store_db dbs[] = { { "consent", offsetof(struct consent, dbi), 0 } };
	consent                         *c;
	hie_err                          e;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return HIE_ENOMEM;
	c->env = env;
	c->def = *def;
	if ((e = hie_store_open_dbs(env, dbs, 1, c)) != HIE_OK) {
		free(c);
		return e;
	}
	*out = c;
	return HIE_OK;
}

void
consent_close(consent *c)
{
	free(c);
}

hie_err
consent_policy_parse(const char *s, enum consent_policy *out)
{
	if (strcmp(s, "permit") == 0 || strcmp(s, "opt-in") == 0)
		*out = CONSENT_PERMIT;
	else if (strcmp(s, "deny") == 0 || strcmp(s, "opt-out") == 0)
		*out = CONSENT_DENY;
	else
		return HIE_EINVAL;
	return HIE_OK;
}

const char *
consent_policy_name(enum consent_policy p)
{
	return p == CONSENT_DENY ? "deny" : "permit";
}

/* YYYY-MM-DD with a plausible month and day, or empty. */
static int
date_ok(const char *s)
{
	if (s[0] == '\0')
		return 1;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* No field may hold the separators of the stored line. */
static int
clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char) *s < 0x20)
			return 0;
	return 1;
}

/* A CX the way the registry and MPI write it: id^^^&oid&ISO. */
static int
patient_ok(const char *p)
{
	const char *amp = strstr(p, "^^^&");
	size_t      n = strlen(p);
	return amp != NULL && amp != p && n > 8 && n < 256 && strcmp(p + n - 4, "&ISO") == 0 && clean(p);
}

static hie_err
encode(const struct consent_rule *r, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s", consent_policy_name(r->policy), r->from, r->until,
	    r->emergency ? 1 : 0, r->restricted ? 1 : 0, r->purposes, r->updated, r->by);
	return n > 0 && (size_t) n < cap ? HIE_OK : HIE_ETOOBIG;
}

static hie_err
decode(const char *patient, const char *v, size_t len, struct consent_rule *r)
{
	char  line[1024], *f[8], *save = NULL;
	int   nf = 0;

	memset(r, 0, sizeof(*r));
	if (len >= sizeof(line))
		return HIE_EDB;
	memcpy(line, v, len);
	line[len] = '\0';
	/* strtok would merge empty fields: split by hand. */
	for (char *p = line; nf < 8; nf++) {
		f[nf] = p;
		if ((save = strchr(p, '\t')) == NULL) {
			nf++;
			break;
		}
		*save = '\0';
		p = save + 1;
	}
	if (nf != 8 || consent_policy_parse(f[0], &r->policy) != HIE_OK)
		return HIE_EDB;
	hie_strlcpy(r->patient, patient, sizeof(r->patient));
	hie_strlcpy(r->from, f[1], sizeof(r->from));
	hie_strlcpy(r->until, f[2], sizeof(r->until));
	r->emergency = f[3][0] == '1';
	r->restricted = f[4][0] == '1';
	hie_strlcpy(r->purposes, f[5], sizeof(r->purposes));
	hie_strlcpy(r->updated, f[6], sizeof(r->updated));
	hie_strlcpy(r->by, f[7], sizeof(r->by));
	return HIE_OK;
}

hie_err
consent_set(consent *c, struct consent_rule *r, char *why, size_t whycap)
{
	char     line[1024];
	time_t   now = time(NULL);
	struct tm tm;
	MDB_txn *txn;
	MDB_val  k, v;
	hie_err  e;
	int      rc;

	if (!patient_ok(r->patient)) {
		snprintf(why, whycap, "patient must be ID^^^&OID&ISO");
		return HIE_EINVAL;
	}
	if (!date_ok(r->from) || !date_ok(r->until)) {
		snprintf(why, whycap, "dates must be YYYY-MM-DD");
		return HIE_EINVAL;
	}
	if (r->from[0] != '\0' && r->until[0] != '\0' && strcmp(r->from, r->until) > 0) {
		snprintf(why, whycap, "from is after until");
		return HIE_EINVAL;
	}
	if (!clean(r->purposes) || !clean(r->by) || strchr(r->purposes, ' ') != NULL) {
		snprintf(why, whycap, "purposes must be a comma separated list of codes");
		return HIE_EINVAL;
	}
	gmtime_r(&now, &tm);
	strftime(r->updated, sizeof(r->updated), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((e = encode(r, line, sizeof(line))) != HIE_OK) {
		snprintf(why, whycap, "policy too long");
		return e;
	}
	k = (MDB_val) { strlen(r->patient), r->patient };
	v = (MDB_val) { strlen(line), line };
	if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_put(txn, c->dbi, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return hie_store_err(rc);
	}
	return hie_store_err(mdb_txn_commit(txn));
}

hie_err
consent_get(consent *c, const char *patient, struct consent_rule *out)
{
	MDB_txn *txn;
	MDB_val  k = { strlen(patient), (void *) patient }, v;
	hie_err  e;
	int      rc;

	if ((rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	rc = mdb_get(txn, c->dbi, &k, &v);
	e = rc == 0 ? decode(patient, v.mv_data, v.mv_size, out) : hie_store_err(rc);
	mdb_txn_abort(txn);
	return e;
}

hie_err
consent_clear(consent *c, const char *patient)
{
	MDB_txn *txn;
	MDB_val  k = { strlen(patient), (void *) patient };
	int      rc;

	if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_del(txn, c->dbi, &k, NULL)) != 0) {
		mdb_txn_abort(txn);
		return hie_store_err(rc);
	}
	return hie_store_err(mdb_txn_commit(txn));
}

hie_err
consent_each(consent *c, consent_each_fn fn, void *arg)
{
	MDB_txn    *txn;
	MDB_cursor *cur;
	MDB_val     k, v;
	hie_err     e = HIE_OK;
	int         rc;

	if ((rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn)) != 0)
		return hie_store_err(rc);
	if ((rc = mdb_cursor_open(txn, c->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return hie_store_err(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && e == HIE_OK;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct consent_rule r;
		char                p[256];
		if (k.mv_size >= sizeof(p))
			continue;
		memcpy(p, k.mv_data, k.mv_size);
		p[k.mv_size] = '\0';
		if ((e = decode(p, v.mv_data, v.mv_size, &r)) == HIE_OK)
			e = fn(arg, &r);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return e;
}

hie_err
consent_rule_json(const struct consent_rule *r, hie_buf *b)
{
	hie_err e = hie_buf_addstr(b, "{\"patient\":");
	if (e == HIE_OK)
		e = hie_buf_json_str(b, r->patient);
	if (e == HIE_OK)
		e = hie_buf_printf(b, ",\"policy\":\"%s\",\"from\":", consent_policy_name(r->policy));
	if (e == HIE_OK)
		e = hie_buf_json_str(b, r->from);
	if (e == HIE_OK)
		e = hie_buf_addstr(b, ",\"until\":");
	if (e == HIE_OK)
		e = hie_buf_json_str(b, r->until);
	if (e == HIE_OK)
		e = hie_buf_printf(b, ",\"emergency\":%s,\"restricted\":%s,\"purposes\":", r->emergency ? "true" : "false",
		    r->restricted ? "true" : "false");
	if (e == HIE_OK)
		e = hie_buf_json_str(b, r->purposes);
	if (e == HIE_OK)
		e = hie_buf_addstr(b, ",\"updated\":");
	if (e == HIE_OK)
		e = hie_buf_json_str(b, r->updated);
	if (e == HIE_OK)
		e = hie_buf_addstr(b, ",\"by\":");
	if (e == HIE_OK)
		e = hie_buf_json_str(b, r->by);
	if (e == HIE_OK)
		e = hie_buf_addstr(b, "}");
	return e;
}

/* Is purpose one of the comma separated list? */
static int
listed(const char *list, const char *purpose)
{
	size_t n = strlen(purpose);
	for (const char *p = list; *p != '\0';) {
		size_t m = strcspn(p, ",");
		if (m == n && strncasecmp(p, purpose, n) == 0)
			return 1;
		p += m;
		p += *p == ',';
	}
	return 0;
}

int
consent_allows(consent *c, const char *patient, const struct wss_claims *claims, time_t now,
    struct consent_decision *d)
{
	struct consent_rule r;
	char                today[11];
	struct tm           tm;
	const char         *purpose = claims != NULL ? claims->purpose_of_use : "";
	enum consent_policy policy = c->def.policy;
	int                 emergency = c->def.emergency;
	hie_err             e;

	memset(d, 0, sizeof(*d));
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if (patient == NULL || patient[0] == '\0') {
		d->why = "no patient";
		return 0;
	}
	e = consent_get(c, patient, &r);
	if (e != HIE_OK && e != HIE_ENOTFOUND) {
		d->why = "consent database unreadable (fail closed)";
		return 0;
	}
	if (e == HIE_OK && (r.from[0] == '\0' || strcmp(today, r.from) >= 0) &&
	    (r.until[0] == '\0' || strcmp(today, r.until) <= 0)) {
		d->explicit_rule = 1;
		policy = r.policy;
		emergency = r.emergency;
	}
	if (policy == CONSENT_DENY) {
		if (emergency && strcasecmp(purpose, "EMERGENCY") == 0) {
			d->allowed = 1;
			d->override = 1;
			d->restricted_ok = d->explicit_rule && r.restricted;
			d->why = "opt-out overridden for EMERGENCY (break-the-glass)";
			return 1;
		}
		d->why = d->explicit_rule ? "patient opted out" : "network default is deny and the patient has not opted in";
		return 0;
	}
	if (d->explicit_rule && r.purposes[0] != '\0' && !listed(r.purposes, purpose)) {
		d->why = "purpose of use not covered by the patient's consent";
		return 0;
	}
	d->allowed = 1;
	d->restricted_ok = d->explicit_rule && r.restricted;
	d->why = d->explicit_rule ? "patient opted in" : "network default is permit";
	return 1;
}

int
consent_document_ok(const struct consent_decision *d, const char *confidentiality)
{
	if (!d->allowed)
		return 0;
	if (confidentiality != NULL && (strcmp(confidentiality, "R") == 0 || strcmp(confidentiality, "V") == 0))
		return d->restricted_ok;
	return 1;
}
