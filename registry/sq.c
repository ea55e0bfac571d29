/* registry/sq.c -- the fourteen XDS stored queries (ITI TF-2a
 * 3.18.4.1.2.3.7) as one table: id, parameters, and the function that
 * runs it inside one read transaction.  ITI-18 and ITI-38 both answer
 * through reg_sq_answer. */
#include "registry/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
	reg                *r;
	MDB_txn            *t;
	struct sq_args     *a;
	struct reg_objects *o;
	size_t              max;
};

typedef hie_err (*sq_fn)(struct run *x);

/* ---- building blocks ---- */

static void
status_filter(struct reg_query *q, unsigned bits)
{
	q->approved_only = bits == SQ_APPROVED || bits == 0;
	q->deprecated_only = bits == SQ_DEPRECATED || bits == 0;
}

static int
status_ok(const char *status, unsigned bits)
{
	return ((bits & SQ_APPROVED) && strcmp(status, "Approved") == 0) ||
	       ((bits & SQ_DEPRECATED) && strcmp(status, "Deprecated") == 0);
}

/* The filters of queries that return "contents" (GetAll,
 * Get...AndContents): format, confidentiality and objectType only. */
static void
contents_filter(const struct sq_args *a, struct reg_query *f)
{
	memset(f, 0, sizeof(*f));
	f->format_codes = a->q.format_codes;
	memcpy(f->conf_codes, a->q.conf_codes, sizeof(f->conf_codes));
	f->n_conf_groups = a->q.n_conf_groups;
	f->on_demand_only = a->doc_objtype == SQ_ONDEMAND;
}

struct pat_docs {
	struct run             *x;
	const struct reg_query *f;
};

static hie_err
pat_doc(void *arg, const char *uuid)
{
	struct pat_docs *p = arg;
	struct reg_entry e;
	hie_err          err = reg_doc_get(p->x->r, p->x->t, uuid, &e);

	if (err != HIE_OK)
		return err == HIE_ENOTFOUND ? HIE_EDB : err;
	return reg_entry_matches(&e, p->f) ? reg_objects_add_doc(p->x->o, &e, p->x->max) : HIE_OK;
}

static hie_err
docs_of_patient(struct run *x, const char *patient, const struct reg_query *f)
{
	struct pat_docs p = { x, f };
	return reg_pat_each(x->r, x->t, K_DOC, patient, pat_doc, &p);
}

/* Documents named by $XDSDocumentEntryEntryUUID or $...UniqueId. */
static hie_err
docs_by_id(struct run *x, const struct reg_query *f)
{
	struct reg_entry e;
	hie_err          err = HIE_OK;

	for (size_t i = 0; i < x->a->doc_uuids.n && err == HIE_OK; i++)
		if (reg_doc_get(x->r, x->t, x->a->doc_uuids.v[i], &e) == HIE_OK && (f == NULL || reg_entry_matches(&e, f)))
			err = reg_objects_add_doc(x->o, &e, x->max);
	for (size_t i = 0; i < x->a->doc_uids.n && err == HIE_OK; i++)
		if (reg_doc_by_uid(x->r, x->t, x->a->doc_uids.v[i], &e) == HIE_OK && (f == NULL || reg_entry_matches(&e, f)))
			err = reg_objects_add_doc(x->o, &e, x->max);
	return err;
}

static hie_err
folders_by_id(struct run *x)
{
	struct reg_folder f;
	hie_err           err = HIE_OK;

	for (size_t i = 0; i < x->a->fol_uuids.n && err == HIE_OK; i++)
		if (reg_fol_get(x->r, x->t, x->a->fol_uuids.v[i], &f) == HIE_OK)
			err = reg_objects_add_fol(x->o, &f, x->max);
	for (size_t i = 0; i < x->a->fol_uids.n && err == HIE_OK; i++)
		if (reg_fol_by_uid(x->r, x->t, x->a->fol_uids.v[i], &f) == HIE_OK)
			err = reg_objects_add_fol(x->o, &f, x->max);
	return err;
}

static hie_err
ss_by_id(struct run *x)
{
	struct reg_subset s;
	hie_err           err = HIE_OK;

	for (size_t i = 0; i < x->a->ss_uuids.n && err == HIE_OK; i++)
		if (reg_ss_get(x->r, x->t, x->a->ss_uuids.v[i], &s) == HIE_OK)
			err = reg_objects_add_ss(x->o, &s, x->max);
	for (size_t i = 0; i < x->a->ss_uids.n && err == HIE_OK; i++)
		if (reg_ss_by_uid(x->r, x->t, x->a->ss_uids.v[i], &s) == HIE_OK)
			err = reg_objects_add_ss(x->o, &s, x->max);
	return err;
}

static int
is_hasmember(const struct reg_assoc *a)
{
	return reg_assoc_parse(a->type) == REG_AS_HASMEMBER;
}

static int
have_doc(const struct reg_objects *o, const char *uuid)
{
	for (size_t i = 0; i < o->n_docs; i++)
		if (strcmp(o->docs[i].entry_uuid, uuid) == 0)
			return 1;
	return 0;
}

static int
have_any(const struct reg_objects *o, const char *uuid)
{
	if (have_doc(o, uuid))
		return 1;
	for (size_t i = 0; i < o->n_ss; i++)
		if (strcmp(o->ss[i].entry_uuid, uuid) == 0)
			return 1;
	for (size_t i = 0; i < o->n_folders; i++)
		if (strcmp(o->folders[i].entry_uuid, uuid) == 0)
			return 1;
	for (size_t i = 0; i < o->n_assocs; i++)
		if (strcmp(o->assocs[i].entry_uuid, uuid) == 0)
			return 1;
	return 0;
}

/* ---- association walks ---- */

struct walk {
	struct run             *x;
	const struct reg_query *f;     /* document filter, or NULL */
	int                     mode;
	const char             *anchor;
};
enum { W_MEMBER_DOCS, W_MEMBER_ALL, W_ANY, W_BOTH_IN, W_FOLDER_OF, W_SS_OF, W_RELATED };

static hie_err
walk_one(void *arg, const struct reg_assoc *a)
{
	struct walk      *w = arg;
	struct run       *x = w->x;
	struct reg_entry  e;
	struct reg_folder f;
	struct reg_subset s;
	hie_err           err = HIE_OK;

	switch (w->mode) {
	case W_MEMBER_DOCS: /* HasMember from a folder to its documents */
		if (is_hasmember(a) && reg_doc_get(x->r, x->t, a->target, &e) == HIE_OK && reg_entry_matches(&e, w->f) &&
		    (err = reg_objects_add_doc(x->o, &e, x->max)) == HIE_OK)
			err = reg_objects_add_assoc(x->o, a, x->max);
		break;
	case W_MEMBER_ALL: /* HasMember from a submission set: documents, folders, and folder memberships */
		if (!is_hasmember(a))
			break;
		if (reg_doc_get(x->r, x->t, a->target, &e) == HIE_OK) {
			if (reg_entry_matches(&e, w->f) && (err = reg_objects_add_doc(x->o, &e, x->max)) == HIE_OK)
				err = reg_objects_add_assoc(x->o, a, x->max);
		} else if (reg_fol_get(x->r, x->t, a->target, &f) == HIE_OK) {
			if ((err = reg_objects_add_fol(x->o, &f, x->max)) == HIE_OK)
				err = reg_objects_add_assoc(x->o, a, x->max);
		} else {
			/* SS -> (folder -> doc): the membership and the folder's
			 * association, unless the document is filtered out. */
			struct reg_assoc inner;
			if (reg_assoc_get(x->r, x->t, a->target, &inner) != HIE_OK)
				break;
			if (reg_doc_get(x->r, x->t, inner.target, &e) == HIE_OK && !reg_entry_matches(&e, w->f))
				break;
			if ((err = reg_objects_add_assoc(x->o, a, x->max)) == HIE_OK)
				err = reg_objects_add_assoc(x->o, &inner, x->max);
		}
		break;
	case W_ANY:
		err = reg_objects_add_assoc(x->o, a, x->max);
		break;
	case W_BOTH_IN:
		if (have_any(x->o, a->source) && have_any(x->o, a->target))
			err = reg_objects_add_assoc(x->o, a, x->max);
		break;
	case W_FOLDER_OF: /* the folders holding a document */
		if (is_hasmember(a) && reg_fol_get(x->r, x->t, a->source, &f) == HIE_OK)
			err = reg_objects_add_fol(x->o, &f, x->max);
		break;
	case W_SS_OF: /* the submission sets holding an object */
		if (is_hasmember(a) && reg_ss_get(x->r, x->t, a->source, &s) == HIE_OK &&
		    (err = reg_objects_add_ss(x->o, &s, x->max)) == HIE_OK)
			err = reg_objects_add_assoc(x->o, a, x->max);
		break;
	case W_RELATED: { /* a relationship of the asked types; the document at its other end */
		const char *other = strcmp(a->source, w->anchor) == 0 ? a->target : a->source;
		int         want = 0;
		for (size_t i = 0; i < x->a->assoc_types.n; i++)
			if (strcmp(x->a->assoc_types.v[i], a->type) == 0)
				want = 1;
		if (want && reg_doc_get(x->r, x->t, other, &e) == HIE_OK && reg_entry_matches(&e, w->f) &&
		    (err = reg_objects_add_doc(x->o, &e, x->max)) == HIE_OK)
			err = reg_objects_add_assoc(x->o, a, x->max);
		break;
	}
	}
	return err;
}

static hie_err
walk(struct run *x, const char *uuid, int by_target, int mode, const struct reg_query *f)
{
	struct walk w = { x, f, mode, uuid };
	return reg_assoc_each(x->r, x->t, uuid, by_target, walk_one, &w);
}

/* The associations among everything found so far (GetAll, ...AndAssociations). */
static hie_err
assocs_among(struct run *x)
{
	size_t  nd = x->o->n_docs, nf = x->o->n_folders, ns = x->o->n_ss;
	hie_err err = HIE_OK;

	for (size_t i = 0; i < ns && err == HIE_OK; i++)
		err = walk(x, x->o->ss[i].entry_uuid, 0, W_BOTH_IN, NULL);
	for (size_t i = 0; i < nf && err == HIE_OK; i++)
		err = walk(x, x->o->folders[i].entry_uuid, 0, W_BOTH_IN, NULL);
	for (size_t i = 0; i < nd && err == HIE_OK; i++)
		err = walk(x, x->o->docs[i].entry_uuid, 0, W_BOTH_IN, NULL);
	/* A second pass for SS -> (folder -> doc) memberships, whose targets
	 * are associations found in the first. */
	for (size_t i = 0; i < ns && err == HIE_OK; i++)
		err = walk(x, x->o->ss[i].entry_uuid, 0, W_BOTH_IN, NULL);
	return err;
}

/* ---- the queries ---- */

static hie_err
q_find_documents(struct run *x)
{
	struct sq_args *a = x->a;

	status_filter(&a->q, a->doc_status);
	a->q.on_demand_only = a->doc_objtype == SQ_ONDEMAND;
	return docs_of_patient(x, a->q.patient_id, &a->q);
}

struct ss_find {
	struct run *x;
};

static hie_err
ss_one(void *arg, const char *uuid)
{
	struct run       *x = ((struct ss_find *) arg)->x;
	struct sq_args   *a = x->a;
	struct reg_subset s;
	hie_err           err = reg_ss_get(x->r, x->t, uuid, &s);
	int               ok = 1;

	if (err != HIE_OK)
		return err == HIE_ENOTFOUND ? HIE_EDB : err;
	ok = status_ok(s.status, a->ss_status) && reg_time_in(s.submission_time, a->ss_time_from, a->ss_time_to);
	if (ok && a->ss_source_ids.n > 0) {
		ok = 0;
		for (size_t i = 0; i < a->ss_source_ids.n; i++)
			ok |= strcmp(a->ss_source_ids.v[i], s.source_id) == 0;
	}
	if (ok && a->ss_content.n > 0) {
		ok = 0;
		for (size_t i = 0; i < a->ss_content.n; i++)
			ok |= strcmp(a->ss_content.v[i], s.content_type_code) == 0;
	}
	if (ok && a->n_ss_authors > 0) {
		ok = 0;
		for (size_t i = 0; i < a->n_ss_authors; i++)
			ok |= reg_like(s.author, a->ss_authors[i]);
	}
	return ok ? reg_objects_add_ss(x->o, &s, x->max) : HIE_OK;
}

static hie_err
q_find_submission_sets(struct run *x)
{
	struct ss_find f = { x };
	return reg_pat_each(x->r, x->t, K_SS, x->a->ss_patient, ss_one, &f);
}

static hie_err
fol_one(void *arg, const char *uuid)
{
	struct run       *x = arg;
	struct sq_args   *a = x->a;
	struct reg_folder f;
	hie_err           err = reg_fol_get(x->r, x->t, uuid, &f);

	if (err != HIE_OK)
		return err == HIE_ENOTFOUND ? HIE_EDB : err;
	if (!status_ok(f.status, a->fol_status) || !reg_time_in(f.last_update_time, a->fol_from, a->fol_to))
		return HIE_OK;
	for (size_t g = 0; g < a->n_fol_groups; g++)
		if (!reg_lines_match(f.codes, &a->fol_codes[g]))
			return HIE_OK;
	return reg_objects_add_fol(x->o, &f, x->max);
}

static hie_err
q_find_folders(struct run *x)
{
	return reg_pat_each(x->r, x->t, K_FOL, x->a->fol_patient, fol_one, x);
}

static hie_err
q_get_all(struct run *x)
{
	struct sq_args  *a = x->a;
	struct reg_query f;
	hie_err          err;

	contents_filter(a, &f);
	status_filter(&f, a->doc_status);
	if ((err = docs_of_patient(x, a->patient, &f)) != HIE_OK)
		return err;
	memcpy(a->ss_patient, a->patient, sizeof(a->patient));
	memcpy(a->fol_patient, a->patient, sizeof(a->patient));
	if ((err = q_find_submission_sets(x)) != HIE_OK || (err = q_find_folders(x)) != HIE_OK)
		return err;
	return assocs_among(x);
}

static hie_err
q_get_documents(struct run *x)
{
	return docs_by_id(x, NULL);
}

static hie_err
q_get_folders(struct run *x)
{
	return folders_by_id(x);
}

static hie_err
q_get_associations(struct run *x)
{
	hie_err err = HIE_OK;

	for (size_t i = 0; i < x->a->uuids.n && err == HIE_OK; i++)
		if ((err = walk(x, x->a->uuids.v[i], 0, W_ANY, NULL)) == HIE_OK)
			err = walk(x, x->a->uuids.v[i], 1, W_ANY, NULL);
	return err;
}

static hie_err
q_get_documents_and_associations(struct run *x)
{
	hie_err err = docs_by_id(x, NULL);

	for (size_t i = 0, n = x->o->n_docs; i < n && err == HIE_OK; i++) {
		char uuid[64];
		memcpy(uuid, x->o->docs[i].entry_uuid, sizeof(uuid));
		if ((err = walk(x, uuid, 0, W_ANY, NULL)) == HIE_OK)
			err = walk(x, uuid, 1, W_ANY, NULL);
	}
	return err;
}

static hie_err
q_get_submission_sets(struct run *x)
{
	hie_err err = HIE_OK;

	for (size_t i = 0; i < x->a->uuids.n && err == HIE_OK; i++)
		err = walk(x, x->a->uuids.v[i], 1, W_SS_OF, NULL);
	return err;
}

static hie_err
q_get_submission_set_and_contents(struct run *x)
{
	struct reg_query f;
	hie_err          err;

	contents_filter(x->a, &f);
	if ((err = ss_by_id(x)) != HIE_OK || x->o->n_ss == 0)
		return err;
	return walk(x, x->o->ss[0].entry_uuid, 0, W_MEMBER_ALL, &f);
}

static hie_err
q_get_folder_and_contents(struct run *x)
{
	struct reg_query f;
	hie_err          err;

	contents_filter(x->a, &f);
	if ((err = folders_by_id(x)) != HIE_OK || x->o->n_folders == 0)
		return err;
	return walk(x, x->o->folders[0].entry_uuid, 0, W_MEMBER_DOCS, &f);
}

static hie_err
q_get_folders_for_document(struct run *x)
{
	struct reg_objects docs = { 0 };
	struct reg_objects *keep = x->o;
	hie_err            err;

	x->o = &docs;
	err = docs_by_id(x, NULL);
	x->o = keep;
	for (size_t i = 0; i < docs.n_docs && err == HIE_OK; i++)
		err = walk(x, docs.docs[i].entry_uuid, 1, W_FOLDER_OF, NULL);
	reg_objects_free(&docs);
	return err;
}

static hie_err
q_get_related_documents(struct run *x)
{
	struct reg_query f;
	struct reg_entry origin;
	hie_err          err;

	contents_filter(x->a, &f);
	f.format_codes.n = 0;
	f.n_conf_groups = 0;
	if ((err = docs_by_id(x, NULL)) != HIE_OK || x->o->n_docs == 0)
		return err;
	origin = x->o->docs[0];
	x->o->n_docs = 0;
	/* Expand the short names the query allows ("RPLC") to URNs. */
	for (size_t i = 0; i < x->a->assoc_types.n; i++) {
		enum reg_assoc_type t = reg_assoc_parse(x->a->assoc_types.v[i]);
		if (t != REG_AS_UNKNOWN)
			hie_strlcpy(x->a->assoc_types.v[i], reg_assoc_urn(t), sizeof(x->a->assoc_types.v[i]));
	}
	if ((err = walk(x, origin.entry_uuid, 0, W_RELATED, &f)) != HIE_OK ||
	    (err = walk(x, origin.entry_uuid, 1, W_RELATED, &f)) != HIE_OK)
		return err;
	/* The original document is returned only along with related ones. */
	return x->o->n_assocs > 0 ? reg_objects_add_doc(x->o, &origin, x->max) : HIE_OK;
}

static hie_err
q_find_by_reference_id(struct run *x)
{
	return q_find_documents(x);
}

/*
 * The table.  params: the query's parameters, each prefixed "R" required,
 * "O" optional, or a digit: exactly one of the parameters with that digit
 * is required.
 */
static const struct sq_def {
	const char *id, *name;
	const char *params;
	sq_fn       run;
} queries[] = {
	{ REG_SQ_FIND_DOCUMENTS, "FindDocuments",
	    "R$XDSDocumentEntryPatientId R$XDSDocumentEntryStatus O$XDSDocumentEntryClassCode O$XDSDocumentEntryTypeCode "
	    "O$XDSDocumentEntryPracticeSettingCode O$XDSDocumentEntryCreationTimeFrom O$XDSDocumentEntryCreationTimeTo "
	    "O$XDSDocumentEntryServiceStartTimeFrom O$XDSDocumentEntryServiceStartTimeTo "
	    "O$XDSDocumentEntryServiceStopTimeFrom O$XDSDocumentEntryServiceStopTimeTo "
	    "O$XDSDocumentEntryHealthcareFacilityTypeCode O$XDSDocumentEntryEventCodeList "
	    "O$XDSDocumentEntryConfidentialityCode O$XDSDocumentEntryAuthorPerson O$XDSDocumentEntryFormatCode "
	    "O$XDSDocumentEntryType",
	    q_find_documents },
	{ "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9", "FindSubmissionSets",
	    "R$XDSSubmissionSetPatientId R$XDSSubmissionSetStatus O$XDSSubmissionSetSourceId "
	    "O$XDSSubmissionSetSubmissionTimeFrom O$XDSSubmissionSetSubmissionTimeTo O$XDSSubmissionSetAuthorPerson "
	    "O$XDSSubmissionSetContentType",
	    q_find_submission_sets },
	{ "urn:uuid:958f3006-baad-4929-a4de-ff1114824431", "FindFolders",
	    "R$XDSFolderPatientId R$XDSFolderStatus O$XDSFolderLastUpdateTimeFrom O$XDSFolderLastUpdateTimeTo "
	    "O$XDSFolderCodeList",
	    q_find_folders },
	{ "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3", "GetAll",
	    "R$patientId R$XDSDocumentEntryStatus R$XDSSubmissionSetStatus R$XDSFolderStatus "
	    "O$XDSDocumentEntryFormatCode O$XDSDocumentEntryConfidentialityCode O$XDSDocumentEntryType",
	    q_get_all },
	{ "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4", "GetDocuments",
	    "1$XDSDocumentEntryEntryUUID 1$XDSDocumentEntryUniqueId O$homeCommunityId", q_get_documents },
	{ "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4", "GetFolders",
	    "1$XDSFolderEntryUUID 1$XDSFolderUniqueId O$homeCommunityId", q_get_folders },
	{ "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155", "GetAssociations", "R$uuid O$homeCommunityId",
	    q_get_associations },
	{ "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a", "GetDocumentsAndAssociations",
	    "1$XDSDocumentEntryEntryUUID 1$XDSDocumentEntryUniqueId O$homeCommunityId",
	    q_get_documents_and_associations },
	{ "urn:uuid:51224314-5390-4169-9b91-b1980040715a", "GetSubmissionSets", "R$uuid O$homeCommunityId",
	    q_get_submission_sets },
	{ "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83", "GetSubmissionSetAndContents",
	    "1$XDSSubmissionSetEntryUUID 1$XDSSubmissionSetUniqueId O$XDSDocumentEntryFormatCode "
	    "O$XDSDocumentEntryConfidentialityCode O$XDSDocumentEntryType O$homeCommunityId",
	    q_get_submission_set_and_contents },
	{ "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7", "GetFolderAndContents",
	    "1$XDSFolderEntryUUID 1$XDSFolderUniqueId O$XDSDocumentEntryFormatCode "
	    "O$XDSDocumentEntryConfidentialityCode O$XDSDocumentEntryType O$homeCommunityId",
	    q_get_folder_and_contents },
	{ "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578", "GetFoldersForDocument",
	    "1$XDSDocumentEntryEntryUUID 1$XDSDocumentEntryUniqueId O$homeCommunityId",
	    q_get_folders_for_document },
	{ "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6", "GetRelatedDocuments",
	    "1$XDSDocumentEntryEntryUUID 1$XDSDocumentEntryUniqueId R$AssociationTypes O$XDSDocumentEntryType "
	    "O$homeCommunityId",
	    q_get_related_documents },
	{ "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492", "FindDocumentsByReferenceId",
	    "R$XDSDocumentEntryPatientId R$XDSDocumentEntryStatus R$XDSDocumentEntryReferenceIdList "
	    "O$XDSDocumentEntryClassCode O$XDSDocumentEntryTypeCode O$XDSDocumentEntryPracticeSettingCode "
	    "O$XDSDocumentEntryCreationTimeFrom O$XDSDocumentEntryCreationTimeTo "
	    "O$XDSDocumentEntryServiceStartTimeFrom O$XDSDocumentEntryServiceStartTimeTo "
	    "O$XDSDocumentEntryServiceStopTimeFrom O$XDSDocumentEntryServiceStopTimeTo "
	    "O$XDSDocumentEntryHealthcareFacilityTypeCode O$XDSDocumentEntryEventCodeList "
	    "O$XDSDocumentEntryConfidentialityCode O$XDSDocumentEntryAuthorPerson O$XDSDocumentEntryFormatCode",
	    q_find_by_reference_id },
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

/* The flag of parameter name in the query's list, or 0 when not there. */
static char
param_flag(const struct sq_def *d, const char *name)
{
	size_t      n = strlen(name);
	const char *p = d->params;

	while ((p = strstr(p, name)) != NULL) {
		if (p > d->params + 1 && p[-2] == ' ' && (p[n] == ' ' || p[n] == '\0'))
			return p[-1];
		if (p == d->params + 1 && (p[n] == ' ' || p[n] == '\0'))
			return p[-1];
		p += n;
	}
	return 0;
}

/* Reads the parameters of query d into a, checking them against its list. */
static hie_err
read_params(const struct sq_def *d, const xmlNode *aq, struct sq_args *a, struct reg_error *err)
{
	unsigned   *seen = calloc(sq_nparams, sizeof(*seen));
	char        groups[10] = { 0 };
	const char *p;
	hie_err     e = HIE_OK;

	if (seen == NULL)
		return HIE_ENOMEM;
	for (xmlNode *s = hie_xml_child(aq, REG_NS_RIM, "Slot"); s && e == HIE_OK; s = hie_xml_next(s, REG_NS_RIM, "Slot")) {
		const char *name = hie_xml_attr(s, "name");
		int         idx = name ? sq_param_index(name) : -1;
		char        flag = idx >= 0 ? param_flag(d, name) : 0;
		if (flag == 0) {
			/* Never ignored: answering without a filter the requester
			 * asked for would disclose more than asked. */
			e = reg_fail(err, HIE_EQUERYPARAM, "XDSStoredQueryParamNumber", name ? name : "",
			    "parameter %.100s is not defined for %s", name ? name : "(unnamed)", d->name);
			break;
		}
		e = sq_read_slot(a, s, idx, seen[idx]++, err);
		if (flag >= '1' && flag <= '9') {
			if (groups[flag - '0']++)
				e = reg_fail(err, HIE_EQUERYPARAM, "XDSStoredQueryParamNumber", name,
				    "%s: give only one of its alternative identifying parameters", d->name);
		}
	}
	/* Required parameters, and one of each group. */
	for (p = d->params; e == HIE_OK && *p; ) {
		char        flag = *p++;
		size_t      n = strcspn(p, " ");
		char        name[80];
		snprintf(name, sizeof(name), "%.*s", (int) n, p);
		if (flag == 'R' && !seen[sq_param_index(name)])
			e = reg_fail(err, HIE_EQUERYPARAM, "XDSStoredQueryParamNumber", name,
			    "%s requires %s", d->name, name);
		if (flag >= '1' && flag <= '9' && !groups[flag - '0'])
			e = reg_fail(err, HIE_EQUERYPARAM, "XDSStoredQueryParamNumber", name,
			    "%s requires %s or its alternative", d->name, name);
		p += n;
		while (*p == ' ')
			p++;
	}
	free(seen);
	return e;
}

static int
newest_first(const void *p, const void *q)
{
	const struct reg_entry *x = p, *y = q;
	return strcmp(y->creation_time, x->creation_time);
}

static const struct sq_def *
find_query(const char *id)
{
	for (size_t i = 0; id != NULL && i < NQUERIES; i++)
		if (strcmp(queries[i].id, id) == 0)
			return &queries[i];
	return NULL;
}

static hie_err
error_response(xmlNode *parent, const struct reg_error *err)
{
	return reg_ebrim_error_build(parent, err->code, err->context);
}

hie_err
reg_sq_answer(reg *r, const xmlNode *req, xmlNode *parent, const struct reg_sq_opts *o,
    struct reg_error *err, char patient[256])
{
	const struct sq_def *d;
	const xmlNode       *aq, *opt;
	const char          *id, *rt;
	struct sq_args      *a = NULL;
	struct reg_objects   objs = { 0 };
	struct run           x;
	int                  rc, object_ref = 0;
	hie_err              e;

	memset(err, 0, sizeof(*err));
	patient[0] = '\0';
	if (req == NULL || req->ns == NULL || strcmp((const char *) req->ns->href, REG_NS_QUERY) != 0 ||
	    strcmp((const char *) req->name, "AdhocQueryRequest") != 0)
		return HIE_EPROTO;
	opt = hie_xml_child(req, REG_NS_QUERY, "ResponseOption");
	rt = hie_xml_attr(opt, "returnType");
	if (rt != NULL && strcmp(rt, "ObjectRef") == 0)
		object_ref = 1;
	else if (rt != NULL && strcmp(rt, "LeafClass") != 0) {
		reg_fail(err, HIE_EQUERYPARAM, "XDSRegistryError", "", "returnType must be LeafClass or ObjectRef");
		return error_response(parent, err);
	}
	aq = hie_xml_child(req, REG_NS_RIM, "AdhocQuery");
	id = hie_xml_attr(aq, "id");
	if ((d = find_query(id)) == NULL) {
		reg_fail(err, HIE_EUNKNOWNQUERY, "XDSUnknownStoredQuery", "", "stored query %.80s is not known",
		    id ? id : "(none)");
		return error_response(parent, err);
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return HIE_ENOMEM;
	if ((e = read_params(d, aq, a, err)) != HIE_OK) {
		free(a);
		return e == HIE_ENOMEM ? e : error_response(parent, err);
	}
	hie_strlcpy(patient, a->q.patient_id[0] ? a->q.patient_id : a->ss_patient[0] ? a->ss_patient
	                         : a->fol_patient[0]                 ? a->fol_patient
	                                                             : a->patient, 256);
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &x.t)) != 0) {
		free(a);
		reg_fail(err, hie_store_err(rc), "XDSRegistryError", "", "registry unavailable");
		return error_response(parent, err);
	}
	x.r = r;
	x.a = a;
	x.o = &objs;
	x.max = o->max_results;
	e = d->run(&x);
	mdb_txn_abort(x.t);
	if (e == HIE_OK && objs.n_docs > 1)
		qsort(objs.docs, objs.n_docs, sizeof(*objs.docs), newest_first);
	free(a);
	if (e == HIE_ETOOBIG)
		reg_fail(err, e, "XDSTooManyResults", "", "more than %zu objects match; narrow the query", o->max_results);
	else if (e != HIE_OK)
		reg_fail(err, e, "XDSRegistryError", "", "registry error: %s", hie_strerror(e));
	if (e != HIE_OK) {
		reg_objects_free(&objs);
		return e == HIE_ENOMEM ? e : error_response(parent, err);
	}
	e = reg_ebrim_objects_build(parent, &objs, object_ref, o->home);
	reg_objects_free(&objs);
	return e;
}

hie_err
reg_ebrim_query_parse(const xmlNode *req, struct reg_query *q, char *why, size_t whycap)
{
	const xmlNode   *aq;
	struct sq_args  *a;
	struct reg_error err;
	hie_err          e;

	memset(q, 0, sizeof(*q));
	snprintf(why, whycap, "ok");
	if (req == NULL || req->ns == NULL || strcmp((const char *) req->ns->href, REG_NS_QUERY) != 0 ||
	    strcmp((const char *) req->name, "AdhocQueryRequest") != 0) {
		snprintf(why, whycap, "body is not an AdhocQueryRequest");
		return HIE_EPROTO;
	}
	aq = hie_xml_child(req, REG_NS_RIM, "AdhocQuery");
	if (find_query(hie_xml_attr(aq, "id")) != &queries[0]) {
		snprintf(why, whycap, "stored query %s is not FindDocuments", hie_xml_attr(aq, "id") ? hie_xml_attr(aq, "id") : "(none)");
		return HIE_ENOTFOUND;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return HIE_ENOMEM;
	if ((e = read_params(&queries[0], aq, a, &err)) == HIE_OK) {
		status_filter(&a->q, a->doc_status);
		a->q.on_demand_only = a->doc_objtype == SQ_ONDEMAND;
		*q = a->q;
	} else {
		snprintf(why, whycap, "%s", err.context);
		e = e == HIE_ENOMEM ? e : HIE_EINVAL;
	}
	free(a);
	return e;
}
