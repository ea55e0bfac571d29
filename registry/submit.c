/* registry/submit.c -- validating and storing a submission in one LMDB
 * write transaction (ITI TF-3 4.1 and 4.2, ITI TF-2b 3.41/3.42). */
#include "registry/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define E_META "XDSRegistryMetadataError"

static const struct {
	enum reg_assoc_type t;
	const char         *urn;
	const char         *name;
} assoc_types[] = {
	{ REG_AS_HASMEMBER, "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember", "HasMember" },
	{ REG_AS_RPLC, "urn:ihe:iti:2007:AssociationType:RPLC", "RPLC" },
	{ REG_AS_APND, "urn:ihe:iti:2007:AssociationType:APND", "APND" },
	{ REG_AS_XFRM, "urn:ihe:iti:2007:AssociationType:XFRM", "XFRM" },
	{ REG_AS_XFRM_RPLC, "urn:ihe:iti:2007:AssociationType:XFRM_RPLC", "XFRM_RPLC" },
	{ REG_AS_SIGNS, "urn:ihe:iti:2007:AssociationType:signs", "signs" },
};
#define NTYPES (sizeof(assoc_types) / sizeof(assoc_types[0]))

const char *
reg_assoc_urn(enum reg_assoc_type t)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (assoc_types[i].t == t)
			return assoc_types[i].urn;
	return "";
}

enum reg_assoc_type
reg_assoc_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < NTYPES; i++)
		if (strcmp(s, assoc_types[i].urn) == 0 || strcmp(s, assoc_types[i].name) == 0)
			return assoc_types[i].t;
	return REG_AS_UNKNOWN;
}

static const struct {
	hie_err     e;
	const char *code;
} wire_codes[] = {
	{ HIE_EMETADATA, E_META },
	{ HIE_EDUPLICATE, "XDSDuplicateUniqueIdInRegistry" },
	{ HIE_EEXIST, "XDSDuplicateUniqueIdInRegistry" },
	{ HIE_EHASH, "XDSNonIdenticalHash" },
	{ HIE_EMISSINGDOC, "XDSMissingDocument" },
	{ HIE_EPATIENT, "XDSPatientIdDoesNotMatch" },
	{ HIE_EUNKNOWNPATIENT, "XDSUnknownPatientId" },
	{ HIE_EQUERYPARAM, "XDSStoredQueryParamNumber" },
	{ HIE_EUNKNOWNQUERY, "XDSUnknownStoredQuery" },
	{ HIE_ETOOBIG, "XDSRegistryOutOfResources" },
};

const char *
reg_error_code(hie_err e)
{
	for (size_t i = 0; i < sizeof(wire_codes) / sizeof(wire_codes[0]); i++)
		if (wire_codes[i].e == e)
			return wire_codes[i].code;
	return "XDSRegistryError";
}

/* A CX with an ISO assigning authority: "id^^^&oid&ISO". */
static int
cx_ok(const char *p)
{
	const char *a = strstr(p, "^^^&");
	const char *iso;

	if (a == NULL || a == p || strchr(p, ' ') != NULL)
		return 0;
	iso = strstr(a + 4, "&ISO");
	return iso != NULL && iso > a + 4 && iso[4] == '\0';
}

/* A DTM of 4 to 14 digits. */
static int
dtm_ok(const char *t)
{
	size_t n = strlen(t);
	return n >= 4 && n <= 14 && strspn(t, "0123456789") == n;
}

/* An OID, optionally with ^extension (the DocumentEntry uniqueId form,
 * ITI TF-3 4.2.3.2.26).  The profile caps the extension at 16 characters,
 * but C-CDA documents routinely carry longer ones (UUIDs, MRN-based ids),
 * so this registry accepts any extension without carets or control
 * characters that
 * keeps the whole id within 128 characters. */
static int
uid_ok(const char *u)
{
	size_t n = strcspn(u, "^");

	if (n == 0 || n > 64 || strspn(u, "0123456789.") < n || u[0] == '.' || u[n - 1] == '.')
		return 0;
	if (u[n] == '\0')
		return 1;
	return u[n + 1] != '\0' && strlen(u) < 128 && strcspn(u + n + 1, "^\t\r\n") == strlen(u + n + 1);
}

/* ---- ids: symbolic to urn:uuid ---- */

struct idmap {
	char (*from)[64];
	char (*to)[64];
	size_t n;
};

static const char *
map_id(const struct idmap *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->from[i], id) == 0)
			return m->to[i];
	return NULL;
}

/* Gives id a urn:uuid if it is symbolic; records the pair. */
static hie_err
assign(struct idmap *m, char id[64], struct reg_error *err)
{
	if (id[0] == '\0')
		return reg_fail(err, HIE_EMETADATA, E_META, "", "an object has no id");
	if (map_id(m, id) != NULL)
		return reg_fail(err, HIE_EMETADATA, E_META, id, "id %s used twice in the submission", id);
	memcpy(m->from[m->n], id, 64);
	if (strncmp(id, "urn:uuid:", 9) != 0)
		hie_urn_uuid(id);
	memcpy(m->to[m->n++], id, 64);
	return HIE_OK;
}

static void
now_dtm(char out[16])
{
	time_t    t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

struct ctx {
	reg                   *r;
	MDB_txn               *t;
	struct reg_submission *s;
	struct reg_error      *err;
};

/* What a uuid names, in the submission or in the registry. */
enum what { W_NONE, W_SS, W_DOC, W_FOL, W_ASSOC, W_REG_DOC, W_REG_FOL, W_REG_SS, W_REG_ASSOC };

/* What a uuid names in the registry (W_NONE: nothing). */
static enum what
registered(struct ctx *c, const char *id, struct reg_entry *regdoc)
{
	struct reg_subset ss;
	struct reg_folder f;
	struct reg_assoc  a;

	if (reg_doc_get(c->r, c->t, id, regdoc) == HIE_OK)
		return W_REG_DOC;
	if (reg_fol_get(c->r, c->t, id, &f) == HIE_OK)
		return W_REG_FOL;
	if (reg_ss_get(c->r, c->t, id, &ss) == HIE_OK)
		return W_REG_SS;
	if (reg_assoc_get(c->r, c->t, id, &a) == HIE_OK)
		return W_REG_ASSOC;
	return W_NONE;
}

/* What a uuid names: an object of the submission first, else the registry. */
static enum what
resolve(struct ctx *c, const char *id, struct reg_entry *regdoc, size_t *idx)
{
	if (strcmp(id, c->s->ss.entry_uuid) == 0)
		return W_SS;
	for (size_t i = 0; i < c->s->n_docs; i++)
		if (strcmp(id, c->s->docs[i].e.entry_uuid) == 0)
			return *idx = i, W_DOC;
	for (size_t i = 0; i < c->s->n_folders; i++)
		if (strcmp(id, c->s->folders[i].entry_uuid) == 0)
			return *idx = i, W_FOL;
	for (size_t i = 0; i < c->s->n_assocs; i++)
		if (strcmp(id, c->s->assocs[i].entry_uuid) == 0)
			return *idx = i, W_ASSOC;
	return registered(c, id, regdoc);
}

static hie_err
check_objects(struct ctx *c)
{
	struct reg_submission *s = c->s;
	struct reg_error      *err = c->err;
	const char            *pid = s->ss.patient_id;

	hie_strlcpy(s->ss.status, "Approved", sizeof(s->ss.status));
	if (s->ss.unique_id[0] == '\0' || !uid_ok(s->ss.unique_id))
		return reg_fail(err, HIE_EMETADATA, E_META, s->ss.entry_uuid,
		    "submission set uniqueId missing or not an OID");
	if (s->ss.source_id[0] == '\0' || s->ss.submission_time[0] == '\0' || !dtm_ok(s->ss.submission_time) ||
	    s->ss.content_type_code[0] == '\0')
		return reg_fail(err, HIE_EMETADATA, E_META, s->ss.entry_uuid,
		    "submission set needs sourceId, submissionTime and contentTypeCode");
	if (!cx_ok(pid))
		return reg_fail(err, HIE_EMETADATA, E_META, s->ss.entry_uuid,
		    "submission set patientId is not a CX with an ISO assigning authority");
	if (c->r->patient_ok != NULL && !c->r->patient_ok(c->r->patient_arg, pid))
		return reg_fail(err, HIE_EUNKNOWNPATIENT, "XDSUnknownPatientId", s->ss.entry_uuid,
		    "patient id is not known to this registry");
	if (reg_ouid_taken(c->r, c->t, K_SS, s->ss.unique_id) || reg_ouid_taken(c->r, c->t, K_FOL, s->ss.unique_id))
		return reg_fail(err, HIE_EDUPLICATE, "XDSDuplicateUniqueIdInRegistry", s->ss.unique_id,
		    "submission set uniqueId %s is already registered", s->ss.unique_id);
	for (size_t i = 0; i < s->n_docs; i++) {
		struct reg_entry *e = &s->docs[i].e;
		struct reg_entry  old;
		char              hash[41];
		if (!uid_ok(e->unique_id))
			return reg_fail(err, HIE_EMETADATA, E_META, e->entry_uuid,
			    "document uniqueId missing or not OID[^extension]");
		if (e->class_code[0] == '\0' || e->type_code[0] == '\0' || e->format_code[0] == '\0' ||
		    e->confidentiality[0] == '\0' || e->mime_type[0] == '\0' || !dtm_ok(e->creation_time))
			return reg_fail(err, HIE_EMETADATA, E_META, e->unique_id,
			    "document needs classCode, typeCode, formatCode, confidentialityCode, mimeType and creationTime");
		if ((e->service_start[0] && !dtm_ok(e->service_start)) || (e->service_stop[0] && !dtm_ok(e->service_stop)))
			return reg_fail(err, HIE_EMETADATA, E_META, e->unique_id, "service times must be DTM");
		if (strcmp(e->patient_id, pid) != 0)
			return reg_fail(err, HIE_EPATIENT, "XDSPatientIdDoesNotMatch", e->unique_id,
			    "document patientId differs from the submission set's");
		if (s->docs[i].bytes == NULL)
			return reg_fail(err, HIE_EMISSINGDOC, "XDSMissingDocument", e->unique_id,
			    "no document attached for %s", e->unique_id);
		hie_sha1_hex(s->docs[i].bytes, s->docs[i].len, hash);
		if (e->hash[0] != '\0' && strcasecmp(e->hash, hash) != 0)
			return reg_fail(err, HIE_EHASH, "XDSNonIdenticalHash", e->unique_id,
			    "hash slot does not match the document");
		if (e->size != 0 && e->size != s->docs[i].len)
			return reg_fail(err, HIE_EHASH, "XDSNonIdenticalSize", e->unique_id,
			    "size slot does not match the document");
		memcpy(e->hash, hash, sizeof(hash));
		e->size = s->docs[i].len;
		hie_strlcpy(e->status, "Approved", sizeof(e->status));
		for (size_t k = 0; k < i; k++)
			if (strcmp(s->docs[k].e.unique_id, e->unique_id) == 0)
				return reg_fail(err, HIE_EDUPLICATE, "XDSDuplicateUniqueIdInRegistry", e->unique_id,
				    "uniqueId %s given twice in the submission", e->unique_id);
		if (reg_doc_by_uid(c->r, c->t, e->unique_id, &old) == HIE_OK) {
			if (strcasecmp(old.hash, hash) != 0)
				return reg_fail(err, HIE_EHASH, "XDSNonIdenticalHash", e->unique_id,
				    "uniqueId %s is registered with other content", e->unique_id);
			return reg_fail(err, HIE_EEXIST, "XDSDuplicateUniqueIdInRegistry", e->unique_id,
			    "document %s is already registered", e->unique_id);
		}
	}
	for (size_t i = 0; i < s->n_folders; i++) {
		struct reg_folder *f = &s->folders[i];
		if (!uid_ok(f->unique_id) || f->codes[0] == '\0')
			return reg_fail(err, HIE_EMETADATA, E_META, f->entry_uuid, "folder needs uniqueId and codeList");
		if (strcmp(f->patient_id, pid) != 0)
			return reg_fail(err, HIE_EPATIENT, "XDSPatientIdDoesNotMatch", f->unique_id,
			    "folder patientId differs from the submission set's");
		if (reg_ouid_taken(c->r, c->t, K_FOL, f->unique_id) || reg_ouid_taken(c->r, c->t, K_SS, f->unique_id) ||
		    strcmp(f->unique_id, s->ss.unique_id) == 0)
			return reg_fail(err, HIE_EDUPLICATE, "XDSDuplicateUniqueIdInRegistry", f->unique_id,
			    "folder uniqueId %s is not unique", f->unique_id);
		hie_strlcpy(f->status, "Approved", sizeof(f->status));
	}
	return HIE_OK;
}

/* Associations: types, references, and what each one does. */
static hie_err
check_assocs(struct ctx *c, char (*deprecate)[64], size_t *n_dep, char (*touched)[64], size_t *n_touched)
{
	struct reg_submission *s = c->s;
	struct reg_error      *err = c->err;
	unsigned char         *member = calloc(s->n_docs + s->n_folders + 1, 1);
	hie_err                e = HIE_OK;

	if (member == NULL)
		return HIE_ENOMEM;
	for (size_t i = 0; i < s->n_assocs && e == HIE_OK; i++) {
		struct reg_assoc   *a = &s->assocs[i];
		enum reg_assoc_type t = reg_assoc_parse(a->type);
		struct reg_entry    tdoc, sdoc;
		size_t              si = 0, ti = 0;
		enum what           ws, wt;

		if (t == REG_AS_UNKNOWN) {
			e = reg_fail(err, HIE_EMETADATA, E_META, a->entry_uuid, "unknown association type %.80s", a->type);
			break;
		}
		hie_strlcpy(a->type, reg_assoc_urn(t), sizeof(a->type));
		hie_strlcpy(a->status, "Approved", sizeof(a->status));
		ws = resolve(c, a->source, &sdoc, &si);
		wt = resolve(c, a->target, &tdoc, &ti);
		if (ws == W_NONE || wt == W_NONE) {
			e = reg_fail(err, HIE_EMETADATA, E_META, a->entry_uuid,
			    "association %s refers to an object neither in the submission nor in the registry",
			    ws == W_NONE ? "source" : "target");
			break;
		}
		if (t == REG_AS_HASMEMBER) {
			if (ws == W_SS && wt == W_DOC) {
				member[ti] = 1;
			} else if (ws == W_SS && wt == W_FOL) {
				member[s->n_docs + ti] = 1;
			} else if (ws == W_SS && (wt == W_ASSOC || wt == W_REG_DOC)) {
				/* folder membership, or a reference to a registered document */
				if (wt == W_REG_DOC && strcmp(tdoc.patient_id, s->ss.patient_id) != 0)
					e = reg_fail(err, HIE_EPATIENT, "XDSPatientIdDoesNotMatch", a->entry_uuid,
					    "referenced document belongs to another patient");
			} else if (ws == W_FOL || ws == W_REG_FOL) {
				if (wt != W_DOC && wt != W_REG_DOC) {
					e = reg_fail(err, HIE_EMETADATA, E_META, a->entry_uuid, "a folder holds documents only");
				} else if (wt == W_REG_DOC && strcmp(tdoc.patient_id, s->ss.patient_id) != 0) {
					e = reg_fail(err, HIE_EPATIENT, "XDSPatientIdDoesNotMatch", a->entry_uuid,
					    "document added to a folder belongs to another patient");
				} else if (ws == W_REG_FOL) {
					struct reg_folder f;
					if (reg_fol_get(c->r, c->t, a->source, &f) == HIE_OK &&
					    strcmp(f.patient_id, s->ss.patient_id) != 0)
						e = reg_fail(err, HIE_EPATIENT, "XDSPatientIdDoesNotMatch", a->entry_uuid,
						    "folder belongs to another patient");
					else
						memcpy(touched[(*n_touched)++], a->source, 64);
				}
			} else {
				e = reg_fail(err, HIE_EMETADATA, E_META, a->entry_uuid,
				    "HasMember must come from the submission set or a folder");
			}
			continue;
		}
		/* Document relationships: a new document, an existing target. */
		if (ws != W_DOC) {
			e = reg_fail(err, HIE_EMETADATA, E_META, a->entry_uuid,
			    "the source of a document relationship must be a document of this submission");
			break;
		}
		if (wt != W_REG_DOC) {
			e = reg_fail(err, HIE_EMETADATA, E_META, a->entry_uuid,
			    "the target of a document relationship must be a registered document");
			break;
		}
		if (strcmp(tdoc.patient_id, s->docs[si].e.patient_id) != 0) {
			e = reg_fail(err, HIE_EPATIENT, "XDSPatientIdDoesNotMatch", a->entry_uuid,
			    "the related document belongs to another patient");
			break;
		}
		if (t != REG_AS_SIGNS && strcmp(tdoc.status, "Approved") != 0) {
			e = reg_fail(err, HIE_EMETADATA, "XDSRegistryDeprecatedDocumentError", a->entry_uuid,
			    "the target document is deprecated");
			break;
		}
		if (t == REG_AS_RPLC || t == REG_AS_XFRM_RPLC) {
			for (size_t k = 0; k < *n_dep; k++)
				if (strcmp(deprecate[k], a->target) == 0)
					e = reg_fail(err, HIE_EMETADATA, E_META, a->entry_uuid,
					    "one document replaced twice in a submission");
			memcpy(deprecate[(*n_dep)++], a->target, 64);
		}
	}
	for (size_t i = 0; e == HIE_OK && i < s->n_docs + s->n_folders; i++)
		if (!member[i])
			e = reg_fail(err, HIE_EMETADATA, E_META,
			    i < s->n_docs ? s->docs[i].e.unique_id : s->folders[i - s->n_docs].unique_id,
			    "every document and folder needs a HasMember from the submission set");
	free(member);
	return e;
}

static hie_err
store(struct ctx *c, char (*deprecate)[64], size_t n_dep, char (*touched)[64], size_t n_touched)
{
	struct reg_submission *s = c->s;
	char                   now[16];
	hie_err                e;

	now_dtm(now);
	if ((e = reg_ss_put(c->r, c->t, &s->ss)) != HIE_OK)
		return e;
	for (size_t i = 0; i < s->n_docs; i++) {
		if ((e = reg_doc_put(c->r, c->t, &s->docs[i].e, 1)) != HIE_OK ||
		    (e = reg_repo_put(c->r, c->t, s->docs[i].e.unique_id, s->docs[i].bytes, s->docs[i].len)) != HIE_OK)
			return e;
	}
	for (size_t i = 0; i < s->n_folders; i++) {
		memcpy(s->folders[i].last_update_time, now, sizeof(now));
		if ((e = reg_fol_put(c->r, c->t, &s->folders[i], 1)) != HIE_OK)
			return e;
	}
	for (size_t i = 0; i < s->n_assocs; i++)
		if ((e = reg_assoc_put(c->r, c->t, &s->assocs[i])) != HIE_OK)
			return e;
	for (size_t i = 0; i < n_dep; i++) {
		struct reg_entry old;
		if ((e = reg_doc_get(c->r, c->t, deprecate[i], &old)) != HIE_OK)
			return e;
		hie_strlcpy(old.status, "Deprecated", sizeof(old.status));
		if ((e = reg_doc_put(c->r, c->t, &old, 0)) != HIE_OK)
			return e;
	}
	for (size_t i = 0; i < n_touched; i++) {
		struct reg_folder f;
		if ((e = reg_fol_get(c->r, c->t, touched[i], &f)) != HIE_OK)
			return e;
		memcpy(f.last_update_time, now, sizeof(now));
		if ((e = reg_fol_put(c->r, c->t, &f, 0)) != HIE_OK)
			return e;
	}
	return HIE_OK;
}

hie_err
reg_submit(reg *r, struct reg_submission *s, struct reg_error *err)
{
	size_t       nobj = 1 + s->n_docs + s->n_folders + s->n_assocs;
	struct idmap m = { calloc(nobj, 64), calloc(nobj, 64), 0 };
	char (*dep)[64] = calloc(s->n_assocs + 1, 64);
	char (*touched)[64] = calloc(s->n_assocs + 1, 64);
	size_t       n_dep = 0, n_touched = 0;
	struct ctx   c = { r, NULL, s, err };
	hie_err      e = HIE_OK;
	int          rc;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (m.from == NULL || m.to == NULL || dep == NULL || touched == NULL) {
		e = HIE_ENOMEM;
		goto done;
	}
	/* Ids first: associations may name objects by their symbolic ids. */
	if ((e = assign(&m, s->ss.entry_uuid, err)) != HIE_OK)
		goto done;
	for (size_t i = 0; i < s->n_docs && e == HIE_OK; i++)
		e = assign(&m, s->docs[i].e.entry_uuid, err);
	for (size_t i = 0; i < s->n_folders && e == HIE_OK; i++)
		e = assign(&m, s->folders[i].entry_uuid, err);
	for (size_t i = 0; i < s->n_assocs && e == HIE_OK; i++)
		e = assign(&m, s->assocs[i].entry_uuid, err);
	for (size_t i = 0; i < s->n_assocs && e == HIE_OK; i++) {
		struct reg_assoc *a = &s->assocs[i];
		const char       *src = map_id(&m, a->source), *tgt = map_id(&m, a->target);
		if ((src == NULL && strncmp(a->source, "urn:uuid:", 9) != 0) ||
		    (tgt == NULL && strncmp(a->target, "urn:uuid:", 9) != 0)) {
			e = reg_fail(err, HIE_EMETADATA, E_META, a->entry_uuid,
			    "association refers to %.60s, which is not in the submission",
			    src == NULL ? a->source : a->target);
			break;
		}
		if (src != NULL)
			hie_strlcpy(a->source, src, sizeof(a->source));
		if (tgt != NULL)
			hie_strlcpy(a->target, tgt, sizeof(a->target));
	}
	if (e != HIE_OK)
		goto done;
	if ((rc = mdb_txn_begin(r->env, NULL, 0, &c.t)) != 0) {
		e = reg_fail(err, hie_store_err(rc), "XDSRegistryError", "", "registry unavailable");
		goto done;
	}
	/* An object id that is already registered is a resubmission of
	 * someone else's object, never an update (ebRS: ids are unique). */
	for (size_t i = 0; i < m.n && e == HIE_OK; i++) {
		struct reg_entry de;
		if (strcmp(m.from[i], m.to[i]) == 0 && registered(&c, m.to[i], &de) != W_NONE)
			e = reg_fail(err, HIE_EMETADATA, E_META, m.to[i], "object id %s is already registered", m.to[i]);
	}
	if (e == HIE_OK)
		e = check_objects(&c);
	if (e == HIE_OK)
		e = check_assocs(&c, dep, &n_dep, touched, &n_touched);
	if (e == HIE_OK && (e = store(&c, dep, n_dep, touched, n_touched)) != HIE_OK)
		reg_fail(err, e, e == HIE_ETOOBIG ? "XDSRegistryOutOfResources" : "XDSRegistryError", "",
		    "registry write failed: %s", hie_strerror(e));
	if (e != HIE_OK) {
		mdb_txn_abort(c.t);
		goto done;
	}
	/* The commit syncs: from here the submission survives a crash. */
	if ((rc = mdb_txn_commit(c.t)) != 0)
		e = reg_fail(err, hie_store_err(rc), rc == MDB_MAP_FULL ? "XDSRegistryOutOfResources" : "XDSRegistryError",
		    "", "registry commit failed");
done:
	free(m.from);
	free(m.to);
	free(dep);
	free(touched);
	return e;
}

/* A fresh OID under 2.25 (ITU-T X.667: UUID-derived OIDs), from 64
 * random bits. */
static void
random_oid(char *out, size_t cap)
{
	char               rid[33];
	unsigned long long v = 0;

	hie_request_id(rid);
	for (int i = 0; i < 16; i++)
		v = (v << 4) | (unsigned long long) (rid[i] <= '9' ? rid[i] - '0' : rid[i] - 'a' + 10);
	snprintf(out, cap, "2.25.%llu", v);
}

/* One document, its submission set made up around it: the import path. */
hie_err
reg_put(reg *r, struct reg_entry *e, const void *doc, size_t len)
{
	return reg_put_err(r, e, doc, len, NULL);
}

hie_err
reg_put_err(reg *r, struct reg_entry *e, const void *doc, size_t len, struct reg_error *why)
{
	return reg_put_replacing(r, e, doc, len, NULL, why);
}

hie_err
reg_put_replacing(reg *r, struct reg_entry *e, const void *doc, size_t len, const char *replaces,
    struct reg_error *why)
{
	struct reg_doc        d = { .bytes = doc, .len = len };
	struct reg_assoc      a[2] = { { .entry_uuid = "as1", .source = "ss", .target = "doc" },
		     { .entry_uuid = "as2", .source = "doc" } };
	struct reg_submission s = { .docs = &d, .n_docs = 1, .assocs = a, .n_assocs = 1 };
	struct reg_error      err;
	hie_err               rc;

	if (e->unique_id[0] == '\0' || e->patient_id[0] == '\0' || e->repository_id[0] == '\0')
		return HIE_EMETADATA;
	d.e = *e;
	if (d.e.entry_uuid[0] == '\0')
		hie_strlcpy(d.e.entry_uuid, "doc", sizeof(d.e.entry_uuid));
	hie_strlcpy(a[0].target, d.e.entry_uuid, sizeof(a[0].target));
	hie_strlcpy(a[0].type, "HasMember", sizeof(a[0].type));
	hie_strlcpy(a[0].ss_status, "Original", sizeof(a[0].ss_status));
	if (replaces != NULL) {
		struct reg_entry old;
		char            *bytes = NULL;
		size_t           blen;
		if ((rc = reg_get_document(r, replaces, &old, &bytes, &blen)) != HIE_OK)
			return rc;
		free(bytes);
		hie_strlcpy(a[1].source, d.e.entry_uuid, sizeof(a[1].source));
		hie_strlcpy(a[1].target, old.entry_uuid, sizeof(a[1].target));
		hie_strlcpy(a[1].type, "urn:ihe:iti:2007:AssociationType:RPLC", sizeof(a[1].type));
		s.n_assocs = 2;
	}
	hie_strlcpy(s.ss.entry_uuid, "ss", sizeof(s.ss.entry_uuid));
	random_oid(s.ss.unique_id, sizeof(s.ss.unique_id));
	hie_strlcpy(s.ss.source_id, e->repository_id, sizeof(s.ss.source_id));
	hie_strlcpy(s.ss.patient_id, e->patient_id, sizeof(s.ss.patient_id));
	now_dtm(s.ss.submission_time);
	hie_strlcpy(s.ss.content_type_code, e->type_code[0] ? e->type_code : "import", sizeof(s.ss.content_type_code));
	hie_strlcpy(s.ss.content_type_scheme, e->type_scheme, sizeof(s.ss.content_type_scheme));
	hie_strlcpy(s.ss.content_type_display, e->type_display, sizeof(s.ss.content_type_display));
	hie_strlcpy(s.ss.title, "Imported document", sizeof(s.ss.title));
	hie_strlcpy(s.ss.author, e->author, sizeof(s.ss.author));
	rc = reg_submit(r, &s, &err);
	if (why != NULL)
		*why = err;
	if (rc == HIE_OK)
		*e = d.e;
	else if (rc == HIE_EHASH && strcmp(err.code, "XDSNonIdenticalHash") == 0 && strstr(err.context, "registered"))
		rc = HIE_EDUPLICATE;
	else if (rc == HIE_EHASH || rc == HIE_EPATIENT)
		rc = HIE_EMETADATA;
	return rc;
}
