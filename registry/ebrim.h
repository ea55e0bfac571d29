/*
 * registry/ebrim.h -- internal to registry/: the descriptors of registry
 * objects in ebRIM (ebrim.c) that reading submissions (ebrim_read.c) and
 * writing responses share.
 */
#ifndef REGISTRY_EBRIM_H
#define REGISTRY_EBRIM_H

#include "node/mtom.h"
#include "registry/internal.h"

struct eb_slot {
	const char *name;
	size_t      off, cap;
	int         multi; /* one Value per line of the field */
};
struct eb_class {
	const char *scheme;
	size_t      code_off, code_cap, cs_off, cs_cap, disp_off, disp_cap;
	int         multi; /* code^^scheme lines, one Classification each */
};
struct eb_ext {
	const char *scheme, *name;
	size_t      off, cap;
};
struct eb_def {
	const struct eb_slot  *slots;
	size_t                 n_slots;
	const struct eb_class *classes;
	size_t                 n_classes;
	const struct eb_ext   *ext;
	size_t                 n_ext;
	const char            *author_scheme;
	size_t                 author_off, author_cap, inst_off, inst_cap, role_off, role_cap;
	const char            *node; /* classificationNode of a RegistryPackage kind */
	size_t                 uuid_off, uuid_cap, status_off, status_cap, title_off, title_cap;
	size_t                 comments_off, comments_cap;
};
extern const struct eb_def eb_doc, eb_ss, eb_fol;

/* FindDocuments parameters the fan-out sends, besides patient and status. */
enum eb_kind { EB_CODES, EB_CODES_AND, EB_TIME, EB_AUTHORS };
struct eb_build {
	const char  *name;
	enum eb_kind kind;
	size_t       off; /* in struct reg_query */
	const char  *scheme;
};
extern const struct eb_build eb_build_params[];
extern const size_t          eb_nbuild;

xmlNode *eb_add_slot(xmlNode *parent, xmlNs *rim, const char *name, const char *const *values, size_t n);
/* Appends a rs:RegistryErrorList with one error to resp. */
void     eb_add_errors(xmlNode *resp, const char *code, const char *context, const char *location);
int      eb_read_parts(const xmlNode *o, const struct eb_def *def, void *obj);
void     eb_read_entry(const xmlNode *eo, struct reg_entry *e);

#endif /* REGISTRY_EBRIM_H */
