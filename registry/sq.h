/*
 * registry/sq.h -- internal to registry/: the stored-query engine's
 * parameters (sq_params.c) and queries (sq.c).
 */
#ifndef REGISTRY_SQ_H
#define REGISTRY_SQ_H

#include <assert.h>

#include "registry/internal.h"

#define SQ_MAX_VALUES 64 /* values of one parameter: more is a parameter error */

enum { SQ_APPROVED = 1, SQ_DEPRECATED = 2 };
enum { SQ_STABLE = 1, SQ_ONDEMAND = 2 };

struct sq_ids {
	char   v[SQ_MAX_VALUES][128];
	size_t n;
};

/* Everything a stored query may be given, parsed. */
struct sq_args {
	struct reg_query q;  /* DocumentEntry filters and patient */
	unsigned         doc_status, ss_status, fol_status, doc_objtype;
	struct sq_ids    doc_uuids, doc_uids, ss_uuids, ss_uids, fol_uuids, fol_uids, uuids;
	struct sq_ids    ss_source_ids, assoc_types;
	char             ss_patient[256], fol_patient[256], patient[256], home[128];
	char             ss_time_from[16], ss_time_to[16], fol_from[16], fol_to[16];
	char             ss_authors[REG_MAX_AUTHORS][128];
	size_t           n_ss_authors;
	struct reg_codes ss_content;
	struct reg_codes fol_codes[REG_MAX_AND];
	size_t           n_fol_groups;
};

/* sq_read_slot relies on each AND group array being followed by its count
 * and each author array by its count. */
static_assert(offsetof(struct reg_query, n_conf_groups) ==
    offsetof(struct reg_query, conf_codes) + REG_MAX_AND * sizeof(struct reg_codes), "layout");
static_assert(offsetof(struct reg_query, n_event_groups) ==
    offsetof(struct reg_query, event_codes) + REG_MAX_AND * sizeof(struct reg_codes), "layout");
static_assert(offsetof(struct reg_query, n_authors) ==
    offsetof(struct reg_query, authors) + REG_MAX_AUTHORS * 128, "layout");
static_assert(offsetof(struct sq_args, n_fol_groups) ==
    offsetof(struct sq_args, fol_codes) + REG_MAX_AND * sizeof(struct reg_codes), "layout");
static_assert(offsetof(struct sq_args, n_ss_authors) ==
    offsetof(struct sq_args, ss_authors) + REG_MAX_AUTHORS * 128, "layout");

enum sq_kind { SQ_PATIENT, SQ_STATUS, SQ_CODES, SQ_CODES_AND, SQ_TIME, SQ_AUTHORS, SQ_OBJTYPE,
	SQ_REFIDS, SQ_IDS, SQ_HOME };

struct sq_param_def {
	const char  *name;
	enum sq_kind kind;
	size_t       off;    /* in struct sq_args */
	const char  *scheme; /* coding scheme when building coded values */
};
extern const struct sq_param_def sq_params[];
extern const size_t              sq_nparams;

int     sq_param_index(const char *name);
int     sq_split(const char *s, char *out, size_t itemcap, int max);
/* Reads one Slot of parameter idx into a; seen: it was given before. */
hie_err sq_read_slot(struct sq_args *a, const xmlNode *slot, int idx, unsigned seen, struct reg_error *err);

#endif /* REGISTRY_SQ_H */
