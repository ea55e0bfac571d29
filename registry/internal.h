/*
 * registry/internal.h -- what the registry's files share and nothing
 * outside registry/ may include: the handle, the stored record format and
 * the object access inside one LMDB transaction.
 */
#ifndef REGISTRY_INTERNAL_H
#define REGISTRY_INTERNAL_H

#include <lmdb.h>

#include "node/store.h"
#include "registry/registry.h"

struct reg {
	MDB_env       *env;
	MDB_dbi        entry, uid, pat, doc, ss, fol, ouid, assoc, asrc, atgt, ref;
	reg_patient_fn patient_ok;
	void          *patient_arg;
	reg_alias_fn   aliases;
	void          *alias_arg;
};

/* The kinds of objects, as the first byte of reg.pat and reg.ouid keys. */
enum reg_kind { K_DOC = 'D', K_SS = 'S', K_FOL = 'F' };

/* Stored records are (tag u8, length u16, bytes)*.  Tags are the index in a
 * table of fields, so fields are appended, never reordered: old records
 * stay readable and unknown tags are skipped. */
struct reg_field {
	size_t off, cap;
};
struct reg_schema {
	const struct reg_field *f;
	size_t                  n;
	size_t                  size_off; /* a uint64 stored as tag 200, or 0 */
};
extern const struct reg_schema reg_schema_entry, reg_schema_ss, reg_schema_fol, reg_schema_assoc;

/* Encodes obj into out (at least reg_tlv_max(s) bytes); returns the length. */
size_t  reg_tlv_encode(const struct reg_schema *s, const void *obj, unsigned char *out);
size_t  reg_tlv_max(const struct reg_schema *s);
hie_err reg_tlv_decode(const struct reg_schema *s, const unsigned char *p, size_t len, void *obj);


/* ---- object access inside a transaction (store.c) ----
 * get: HIE_ENOTFOUND when absent.  put: overwrites the record and adds
 * its indexes (callers check uniqueness first). */
hie_err reg_doc_get(reg *r, MDB_txn *t, const char *uuid, struct reg_entry *e);
hie_err reg_doc_by_uid(reg *r, MDB_txn *t, const char *uid, struct reg_entry *e);
hie_err reg_doc_put(reg *r, MDB_txn *t, const struct reg_entry *e, int new_object);
hie_err reg_ss_get(reg *r, MDB_txn *t, const char *uuid, struct reg_subset *s);
hie_err reg_ss_by_uid(reg *r, MDB_txn *t, const char *uid, struct reg_subset *s);
hie_err reg_ss_put(reg *r, MDB_txn *t, const struct reg_subset *s);
hie_err reg_fol_get(reg *r, MDB_txn *t, const char *uuid, struct reg_folder *f);
hie_err reg_fol_by_uid(reg *r, MDB_txn *t, const char *uid, struct reg_folder *f);
hie_err reg_fol_put(reg *r, MDB_txn *t, const struct reg_folder *f, int new_object);
hie_err reg_assoc_get(reg *r, MDB_txn *t, const char *id, struct reg_assoc *a);
hie_err reg_assoc_put(reg *r, MDB_txn *t, const struct reg_assoc *a);
/* Calls fn for each association whose source (by_target 0) or target
 * (by_target 1) is uuid; fn returns non-zero to stop (that value is
 * returned as HIE_EINVAL... see store.c). */
typedef hie_err (*reg_assoc_fn)(void *arg, const struct reg_assoc *a);
hie_err reg_assoc_each(reg *r, MDB_txn *t, const char *uuid, int by_target, reg_assoc_fn fn, void *arg);
/* Calls fn with each uuid of kind k for patient, in key order. */
typedef hie_err (*reg_uuid_fn)(void *arg, const char *uuid);
/* Calls fn for each object of kind k filed under patient or under one of
 * its aliases (reg_set_patient_aliases). */
hie_err reg_pat_each(reg *r, MDB_txn *t, enum reg_kind k, const char *patient, reg_uuid_fn fn, void *arg);
/* Calls fn with each DocumentEntry uuid carrying referenceId ref. */
hie_err reg_ref_each(reg *r, MDB_txn *t, const char *ref, reg_uuid_fn fn, void *arg);
/* Whether a uniqueId is taken by a submission set or folder. */
hie_err reg_repo_put(reg *r, MDB_txn *t, const char *uid, const void *doc, size_t len);
int     reg_ouid_taken(reg *r, MDB_txn *t, enum reg_kind k, const char *uid);

/* ---- filters (filter.c) ---- */
int reg_entry_matches(const struct reg_entry *e, const struct reg_query *q);
int reg_time_in(const char *t, const char *from, const char *to);
int reg_like(const char *s, const char *pattern);
/* Whether any line of a newline-separated list, cut at "^^", equals one of
 * the codes. */
int reg_lines_match(const char *lines, const struct reg_codes *c);

/* Appends one object to a result set, growing it (bounded by max: then
 * HIE_ETOOBIG).  Duplicates (same entry_uuid) are skipped. */
hie_err reg_objects_add_doc(struct reg_objects *o, const struct reg_entry *e, size_t max);
hie_err reg_objects_add_ss(struct reg_objects *o, const struct reg_subset *s, size_t max);
hie_err reg_objects_add_fol(struct reg_objects *o, const struct reg_folder *f, size_t max);
hie_err reg_objects_add_assoc(struct reg_objects *o, const struct reg_assoc *a, size_t max);
size_t  reg_objects_count(const struct reg_objects *o);

/* The scheme UUIDs and names of ebRIM for XDS (ebrim.c). */
#define REG_OBJTYPE_STABLE "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
#define REG_OBJTYPE_ONDEMAND "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
#define REG_CL_SUBMISSIONSET "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
#define REG_CL_FOLDER "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"
#define REG_STATUS_PREFIX "urn:oasis:names:tc:ebxml-regrep:StatusType:"
#define REG_RESP_SUCCESS "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
#define REG_RESP_FAILURE "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
#define REG_RESP_PARTIAL "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
#define REG_SEVERITY_ERROR "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
#define REG_NS_LCM "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"

/* Reads the objects of a rim:RegistryObjectList (ebrim_read.c). */
hie_err reg_ebrim_read_objects(const xmlNode *list, struct reg_submission *s, size_t max_objects,
    struct reg_error *err);
void    reg_submission_free(struct reg_submission *s);

/* Fills err (code, printf context) and returns e. */
hie_err reg_fail(struct reg_error *err, hie_err e, const char *code, const char *location,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif /* REGISTRY_INTERNAL_H */
