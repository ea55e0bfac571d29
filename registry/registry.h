/*
 * registry/registry.h -- the XDS.b document registry and repository.
 *
 * Objects (ITI TF-3 4.1): DocumentEntries, SubmissionSets, Folders and the
 * Associations between them, with the document bytes in the repository.
 *
 * Storage: LMDB named databases inside the node's environment (the node
 * opens the environment once, see node/store.h, and hands it here):
 *   reg.entry  entryUUID              -> DocumentEntry (tag-length-value)
 *   reg.uid    uniqueId               -> entryUUID of the DocumentEntry
 *   reg.pat    kind patientId \0 uuid -> ""  kind 'D' document, 'S'
 *                                           submission set, 'F' folder
 *   reg.ss     uuid -> SubmissionSet      reg.fol   uuid -> Folder
 *   reg.ouid   kind uniqueId -> uuid      (submission sets and folders)
 *   reg.assoc  id -> Association
 *   reg.asrc   sourceObject -> assoc id   (dupsort)
 *   reg.atgt   targetObject -> assoc id   (dupsort)
 *   reg.ref    referenceId -> entryUUID   (dupsort)
 *   repo.doc   uniqueId               -> document bytes
 * A submission is one write transaction (every object, every index, every
 * document's bytes, the deprecation of what it replaces): all of it is
 * stored or none, and reg_submit returns only after the commit is on disk
 * (LMDB syncs on commit: the environment is never opened with
 * MDB_NOSYNC), so a success answer sent after it is never lost.
 *
 * Threading: a reg handle may be used from any thread (the environment is
 * opened with MDB_NOTLS; each call runs its own transaction).
 *
 * Also here: C-CDA header extraction (reg_ccda_extract), the ebRIM XML of
 * the objects, the stored-query engine (ITI-18, reused by ITI-38 and the
 * fan-out), Provide and Register (ITI-41) and Retrieve (ITI-43/39).
 */
#ifndef REGISTRY_REGISTRY_H
#define REGISTRY_REGISTRY_H

#include <libxml/tree.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "node/hie.h"
#include "node/xml.h"

/* One XDS DocumentEntry (ITI TF-3 4.2.3.2), the fields this node keeps. */
struct reg_entry {
	char     entry_uuid[64];      /* urn:uuid:... */
	char     unique_id[128];      /* OID or OID^extension */
	char     repository_id[128];  /* repositoryUniqueId */
	char     home_community[128]; /* set on results, not stored */
	char     patient_id[256];     /* CX: id^^^&oid&ISO */
	char     source_patient_id[256];
	char     status[16];          /* "Approved" or "Deprecated" */
	char     class_code[64];
	char     class_scheme[64];
	char     class_display[128];
	char     type_code[64];
	char     type_scheme[64];
	char     type_display[128];
	char     format_code[128];
	char     format_scheme[64];
	char     confidentiality[16];
	char     mime_type[64];
	char     language[16];
	char     creation_time[16];   /* UTC YYYYMMDD[HHMMSS] */
	char     service_start[16];
	char     service_stop[16];
	char     title[256];
	char     author[256];         /* XCN: family^given */
	char     hash[41];            /* SHA-1, hex */
	uint64_t size;
	/* Appended in the second version; stored as tags 23.. */
	char     practice_code[64];
	char     practice_scheme[64];
	char     facility_code[64];
	char     facility_scheme[64];
	char     event_codes[512];     /* code^^scheme, one per line */
	char     reference_ids[512];   /* CXi values, one per line */
	char     author_institution[256];
	char     author_role[128];
	char     comments[256];
	char     legal_authenticator[256];
	char     source_patient_info[512]; /* PID-n|value, one per line */
};

/* One SubmissionSet (ITI TF-3 4.2.3.3). */
struct reg_subset {
	char entry_uuid[64];
	char unique_id[128];
	char source_id[128];
	char patient_id[256];
	char status[16];
	char submission_time[16];
	char content_type_code[64];
	char content_type_scheme[64];
	char content_type_display[128];
	char title[256];
	char author[256];
	char author_institution[256];
	char comments[256];
};

/* One Folder (ITI TF-3 4.2.3.4). */
struct reg_folder {
	char entry_uuid[64];
	char unique_id[128];
	char patient_id[256];
	char status[16];
	char last_update_time[16];
	char codes[512];      /* code^^scheme, one per line */
	char title[256];
	char comments[256];
};

/* Association types this registry knows (ITI TF-3 4.2.2). */
enum reg_assoc_type {
	REG_AS_HASMEMBER, REG_AS_RPLC, REG_AS_APND, REG_AS_XFRM, REG_AS_XFRM_RPLC, REG_AS_SIGNS,
	REG_AS_UNKNOWN
};
/* The ebRIM URN of a type ("urn:ihe:iti:2007:AssociationType:RPLC"). */
const char *reg_assoc_urn(enum reg_assoc_type t);
/* Its type from a URN or short name ("RPLC"); REG_AS_UNKNOWN otherwise. */
enum reg_assoc_type reg_assoc_parse(const char *s);

struct reg_assoc {
	char entry_uuid[64];
	char type[80];          /* the URN */
	char source[64];
	char target[64];
	char status[16];
	char ss_status[16];     /* SubmissionSetStatus slot: Original, Reference */
};

/* FindDocuments parameters this node answers (ITI TF-2a 3.18.4.1.2.3.7.1).
 * Codes compare by code value; a list is OR; the confidentiality groups
 * (one per Slot) are AND of ORs, as the profile says.  Times are DTM
 * prefixes: "From" inclusive, "To" exclusive; an entry without the time
 * does not match a range on it.  Authors are LIKE patterns (% and _). */
#define REG_MAX_CODES 16
#define REG_MAX_AND 4
#define REG_MAX_AUTHORS 4
struct reg_codes {
	char   v[REG_MAX_CODES][64];
	size_t n; /* 0: any */
};

struct reg_query {
	char             patient_id[256];  /* required */
	struct reg_codes type_codes;
	struct reg_codes class_codes;
	struct reg_codes format_codes;
	struct reg_codes conf_codes[REG_MAX_AND];
	size_t           n_conf_groups;
	char             creation_from[16], creation_to[16];
	char             service_start_from[16], service_start_to[16];
	char             service_stop_from[16], service_stop_to[16];
	char             authors[REG_MAX_AUTHORS][128];
	size_t           n_authors;
	int              approved_only;    /* status Approved (default 1) */
	int              deprecated_only;  /* status Deprecated only */
	struct reg_codes practice_codes;
	struct reg_codes facility_codes;
	struct reg_codes event_codes[REG_MAX_AND];
	size_t           n_event_groups;
	struct reg_refids {
		char   v[REG_MAX_CODES][256];
		size_t n;
	} reference_ids;                   /* FindDocumentsByReferenceId: OR */
	int              on_demand_only;   /* $XDSDocumentEntryType: only On-Demand */
	size_t           max_results;      /* more matches: HIE_ETOOBIG */
};

struct reg_result {
	struct reg_entry *v; /* owned; free with reg_result_free */
	size_t            n;
};

typedef struct reg reg;

/* Opens the registry's databases in env (creating them). */
hie_err reg_open(MDB_env *env, reg **out);
void    reg_close(reg *r);

/*
 * Registers one document: e (its entry_uuid is filled in if empty) and the
 * bytes doc[len].  e->hash and e->size must match the bytes
 * (HIE_EMETADATA otherwise).  HIE_EDUPLICATE if the uniqueId is known with
 * other content; registering the same uniqueId with identical bytes again
 * is HIE_EEXIST (callers may treat it as success).  Durable on HIE_OK.
 */
hie_err reg_put(reg *r, struct reg_entry *e, const void *doc, size_t len);
/* The same, saying why in err when it fails. */
struct reg_error;
hie_err reg_put_err(reg *r, struct reg_entry *e, const void *doc, size_t len, struct reg_error *err);
/* The same, the new document replacing the registered one whose uniqueId
 * is replaces (an RPLC association: the old one is Deprecated in the same
 * transaction; it must be Approved and of the same patient).  HIE_ENOTFOUND
 * when nothing has that uniqueId. */
hie_err reg_put_replacing(reg *r, struct reg_entry *e, const void *doc, size_t len, const char *replaces,
    struct reg_error *err);

/* ---- submissions (ITI-41, ITI-42, and the import of C-CDA files) ---- */

/* One document of a submission: its entry and its bytes (borrowed). */
struct reg_doc {
	struct reg_entry e;
	const char      *bytes;
	size_t           len;
};

/* A whole submission.  Object ids may be symbolic ("Document01"): the
 * registry gives every object a urn:uuid and rewrites the associations'
 * references; on HIE_OK the structs hold the ids stored.  Arrays borrowed. */
struct reg_submission {
	struct reg_subset  ss;
	struct reg_doc    *docs;
	size_t             n_docs;
	struct reg_folder *folders;
	size_t             n_folders;
	struct reg_assoc  *assocs;
	size_t             n_assocs;
};

/* Why a request failed, as it goes on the wire: code is an IHE error code
 * ("XDSRegistryMetadataError"), context a reason, location the object. */
struct reg_error {
	const char *code;
	char        context[256];
	char        location[128];
};

/* The wire code of a registry error (HIE_EDUPLICATE ->
 * "XDSDuplicateUniqueIdInRegistry", ...); "XDSRegistryError" otherwise. */
const char *reg_error_code(hie_err e);

/* Whether a patient id is known (the MPI, once a node has one).  Called
 * inside reg_submit; must not block for long.  NULL: every well-formed
 * patient id is accepted. */
typedef int (*reg_patient_fn)(void *arg, const char *patient_id);
void reg_set_patient_check(reg *r, reg_patient_fn fn, void *arg);

/* The other patient ids a query for patient_id covers: after a patient
 * merge (ADT A40, ITI-8/ITI-44 merge) documents filed under the merged id
 * are found by queries for the surviving one, and the other way round
 * (ITI TF-2a 3.8.4.2.3: "record the cross-reference so queries follow
 * it").  Fills ids[0..cap) with ids other than patient_id and returns how
 * many.  Called in every patient-based query; must not block for long.
 * NULL: a query covers its own patient id only. */
#define REG_MAX_ALIASES 8
typedef size_t (*reg_alias_fn)(void *arg, const char *patient_id, char (*ids)[256], size_t cap);
void reg_set_patient_aliases(reg *r, reg_alias_fn fn, void *arg);

/*
 * Validates and stores a submission (ITI TF-3 4.2, ITI TF-2b 3.42.4.1.3):
 * required attributes, one patient id across the submission set, its
 * documents and folders, uniqueIds new to the registry and to the
 * submission, hash and size against the bytes, every document listed by a
 * HasMember from the submission set, association targets in the submission
 * or the registry, and RPLC/XFRM_RPLC targets Approved and of the same
 * patient (they become Deprecated in the same transaction).  On failure
 * nothing is stored, err says why, and the return is one of
 * HIE_EMETADATA, HIE_EDUPLICATE, HIE_EHASH, HIE_EMISSINGDOC, HIE_EPATIENT,
 * HIE_EUNKNOWNPATIENT, HIE_EDB, HIE_ETOOBIG (store full).  Durable on HIE_OK.
 */
hie_err reg_submit(reg *r, struct reg_submission *s, struct reg_error *err);

/* FindDocuments.  Results sorted newest creationTime first. */
hie_err reg_find_documents(reg *r, const struct reg_query *q, struct reg_result *out);
void    reg_result_free(struct reg_result *res);

/* Fetches a document's bytes (*doc malloc'd, caller frees) and entry. */
hie_err reg_get_document(reg *r, const char *unique_id, struct reg_entry *e,
    char **doc, size_t *len);

/* Number of registered entries (health, metrics). */
hie_err reg_count(reg *r, size_t *n);

/* ---- stored queries (ITI-18; ITI-38 runs the same engine) ---- */

/* What a stored query found.  Everything owned; reg_objects_free. */
struct reg_objects {
	struct reg_entry  *docs;
	size_t             n_docs;
	struct reg_subset *ss;
	size_t             n_ss;
	struct reg_folder *folders;
	size_t             n_folders;
	struct reg_assoc  *assocs;
	size_t             n_assocs;
};
void reg_objects_free(struct reg_objects *o);

struct reg_sq_opts {
	const char *home;          /* homeCommunityId put on results, or NULL */
	size_t      max_results;   /* more objects: XDSTooManyResults */
};

/*
 * Answers one query:AdhocQueryRequest: parses the stored query and its
 * parameters (ITI TF-2a 3.18.4.1.2.3.7: all fourteen queries), runs it in
 * one read transaction and appends the query:AdhocQueryResponse --
 * LeafClass or ObjectRef as asked -- to parent.  A request the registry
 * refuses still gets a response: a Failure with the RegistryError, and
 * err says what it was (err->code NULL on success).  patient[256] gets the
 * patient asked about, if any, for the audit record.  Returns HIE_OK when
 * a response was appended; HIE_EPROTO when req is not an AdhocQueryRequest.
 */
hie_err reg_sq_answer(reg *r, const xmlNode *req, xmlNode *parent, const struct reg_sq_opts *o,
    struct reg_error *err, char patient[256]);

/* Appends an AdhocQueryResponse with objs, as LeafClass (full objects) or
 * ObjectRefs (object_ref 1). */
hie_err reg_ebrim_objects_build(xmlNode *parent, const struct reg_objects *objs, int object_ref,
    const char *home);

/* ---- ITI-41 Provide and Register Document Set-b ---- */

struct mtom_msg;

struct reg_pnr_opts {
	const char *repository_id; /* ours: overrides what the submitter says */
	size_t      max_objects;   /* registry objects in one submission */
	size_t      max_document;  /* bytes of one document */
	size_t      max_total;     /* bytes of all documents */
};

/*
 * Answers one xdsb:ProvideAndRegisterDocumentSetRequest: reads its
 * metadata and documents (inline base64, or xop:Include references into
 * att, the MTOM parts, which may be NULL), stores the whole submission with
 * reg_submit, and appends the rs:RegistryResponse -- Success, or Failure
 * with the IHE error (err says which) -- to parent.  HIE_EPROTO: req is not
 * a ProvideAndRegisterDocumentSetRequest (nothing appended).  Durable
 * before it returns HIE_OK with a Success response.
 */
hie_err reg_pnr_answer(reg *r, const xmlNode *req, const struct mtom_msg *att, xmlNode *parent,
    const struct reg_pnr_opts *o, struct reg_error *err, char patient[256]);

/* ---- C-CDA ---- */

/* Derives the DocumentEntry of a C-CDA document from its header. */
hie_err reg_ccda_extract(const char *doc, size_t len, const struct hie_xml_limits *lim,
    const char *repository_id, struct reg_entry *e, char *why, size_t whycap);

/* ---- ebRIM ---- */

#define REG_NS_RIM "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
#define REG_NS_QUERY "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
#define REG_NS_RS "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
#define REG_SQ_FIND_DOCUMENTS "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"

/* Appends a query:AdhocQueryRequest for q to parent (the SOAP Body). */
hie_err reg_ebrim_query_build(xmlNode *parent, const struct reg_query *q,
    const char *home_community);
/* Reads a query:AdhocQueryRequest for FindDocuments (the fan-out's own
 * query; the responders answer every stored query with reg_sq_answer).
 * HIE_ENOTFOUND: unknown stored query id; HIE_EINVAL: parameter error, with
 * the reason in why. */
hie_err reg_ebrim_query_parse(const xmlNode *req, struct reg_query *q,
    char *why, size_t whycap);

/* Appends a query:AdhocQueryResponse with the entries to parent. */
hie_err reg_ebrim_response_build(xmlNode *parent, const struct reg_result *res,
    const char *home_community);
/* Appends a Failure AdhocQueryResponse with one RegistryError (errorCode
 * such as "XDSStoredQueryParamNumber", codeContext a human reason). */
hie_err reg_ebrim_error_build(xmlNode *parent, const char *code, const char *context);
/* Reads a query:AdhocQueryResponse.  Entries beyond max are HIE_ETOOBIG.
 * A Failure status with errors is HIE_EPEER with the first error in why. */
hie_err reg_ebrim_response_parse(const xmlNode *resp, size_t max, struct reg_result *out,
    char *why, size_t whycap);

/* ---- ITI-43 / ITI-39 Retrieve Document Set (inline base64; MTOM later) ---- */

#define REG_NS_XDSB "urn:ihe:iti:xds-b:2007"
#define REG_MAX_RETRIEVE 100 /* DocumentRequests in one request */

struct reg_doc_ref {
	char home[128];          /* homeCommunityId (XCA), may be empty for XDS */
	char repository_id[128];
	char unique_id[128];
};

/* Appends an xdsb:RetrieveDocumentSetRequest for refs[n] to parent. */
hie_err reg_retrieve_request_build(xmlNode *parent, const struct reg_doc_ref *refs, size_t n);
/* Reads one: up to REG_MAX_RETRIEVE refs into out[]; HIE_EINVAL with why. */
hie_err reg_retrieve_request_parse(const xmlNode *req, struct reg_doc_ref *out, size_t *n,
    char *why, size_t whycap);

/*
 * Appends an xdsb:RetrieveDocumentSetResponse answering refs[n] from the
 * local repository r, which is repository_id in community home (home NULL
 * for plain XDS).  Missing documents and foreign repositories are
 * RegistryErrors (PartialSuccess, or Failure when nothing is returned); a
 * document asked for twice is returned once; documents that would take
 * the response past max_bytes (base64) are XDSRepositoryError "response
 * size limit".  *found gets the number of documents returned.
 */
hie_err reg_retrieve_response_build(xmlNode *parent, reg *r, const char *home,
    const char *repository_id, const struct reg_doc_ref *refs, size_t n, size_t max_bytes, size_t *found);

/* The first DocumentResponse of a response: its ref, mime type and bytes
 * (*doc malloc'd, at most max bytes).  HIE_ENOTFOUND with the peer's error
 * in why when it returned no document. */
hie_err reg_retrieve_response_parse(const xmlNode *resp, size_t max, struct reg_doc_ref *ref,
    char *mime, size_t mimecap, char **doc, size_t *len, char *why, size_t whycap);

#endif /* REGISTRY_REGISTRY_H */
