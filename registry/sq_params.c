/* registry/sq_params.c -- the parameters of the XDS stored queries (ITI
 * TF-2a 3.18.4.1.2.3.7): one table says what each is and where it goes;
 * reading AdhocQuery slots and building them both use it. */
#include "registry/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A(f) offsetof(struct sq_args, f)
#define Q(f) (offsetof(struct sq_args, q) + offsetof(struct reg_query, f))
const struct sq_param_def sq_params[] = {
	{ "$XDSDocumentEntryPatientId", SQ_PATIENT, Q(patient_id), "" },
	{ "$XDSDocumentEntryStatus", SQ_STATUS, A(doc_status), "" },
	{ "$XDSDocumentEntryClassCode", SQ_CODES, Q(class_codes), "2.16.840.1.113883.6.1" },
	{ "$XDSDocumentEntryTypeCode", SQ_CODES, Q(type_codes), "2.16.840.1.113883.6.1" },
	{ "$XDSDocumentEntryPracticeSettingCode", SQ_CODES, Q(practice_codes), "" },
	{ "$XDSDocumentEntryHealthcareFacilityTypeCode", SQ_CODES, Q(facility_codes), "" },
	{ "$XDSDocumentEntryFormatCode", SQ_CODES, Q(format_codes), "1.3.6.1.4.1.19376.1.2.3" },
	{ "$XDSDocumentEntryEventCodeList", SQ_CODES_AND, Q(event_codes), "" },
	{ "$XDSDocumentEntryConfidentialityCode", SQ_CODES_AND, Q(conf_codes), "2.16.840.1.113883.5.25" },
	{ "$XDSDocumentEntryCreationTimeFrom", SQ_TIME, Q(creation_from), "" },
	{ "$XDSDocumentEntryCreationTimeTo", SQ_TIME, Q(creation_to), "" },
	{ "$XDSDocumentEntryServiceStartTimeFrom", SQ_TIME, Q(service_start_from), "" },
	{ "$XDSDocumentEntryServiceStartTimeTo", SQ_TIME, Q(service_start_to), "" },
	{ "$XDSDocumentEntryServiceStopTimeFrom", SQ_TIME, Q(service_stop_from), "" },
	{ "$XDSDocumentEntryServiceStopTimeTo", SQ_TIME, Q(service_stop_to), "" },
	{ "$XDSDocumentEntryAuthorPerson", SQ_AUTHORS, Q(authors), "" },
	{ "$XDSDocumentEntryType", SQ_OBJTYPE, A(doc_objtype), "" },
	{ "$XDSDocumentEntryReferenceIdList", SQ_REFIDS, Q(reference_ids), "" },
	{ "$XDSDocumentEntryEntryUUID", SQ_IDS, A(doc_uuids), "" },
	{ "$XDSDocumentEntryUniqueId", SQ_IDS, A(doc_uids), "" },
	{ "$XDSSubmissionSetPatientId", SQ_PATIENT, A(ss_patient), "" },
	{ "$XDSSubmissionSetSourceId", SQ_IDS, A(ss_source_ids), "" },
	{ "$XDSSubmissionSetSubmissionTimeFrom", SQ_TIME, A(ss_time_from), "" },
	{ "$XDSSubmissionSetSubmissionTimeTo", SQ_TIME, A(ss_time_to), "" },
	{ "$XDSSubmissionSetAuthorPerson", SQ_AUTHORS, A(ss_authors), "" },
	{ "$XDSSubmissionSetContentType", SQ_CODES, A(ss_content), "" },
	{ "$XDSSubmissionSetStatus", SQ_STATUS, A(ss_status), "" },
	{ "$XDSSubmissionSetEntryUUID", SQ_IDS, A(ss_uuids), "" },
	{ "$XDSSubmissionSetUniqueId", SQ_IDS, A(ss_uids), "" },
	{ "$XDSFolderPatientId", SQ_PATIENT, A(fol_patient), "" },
	{ "$XDSFolderLastUpdateTimeFrom", SQ_TIME, A(fol_from), "" },
	{ "$XDSFolderLastUpdateTimeTo", SQ_TIME, A(fol_to), "" },
	{ "$XDSFolderCodeList", SQ_CODES_AND, A(fol_codes), "" },
	{ "$XDSFolderStatus", SQ_STATUS, A(fol_status), "" },
	{ "$XDSFolderEntryUUID", SQ_IDS, A(fol_uuids), "" },
	{ "$XDSFolderUniqueId", SQ_IDS, A(fol_uids), "" },
	{ "$patientId", SQ_PATIENT, A(patient), "" },
	{ "$uuid", SQ_IDS, A(uuids), "" },
	{ "$AssociationTypes", SQ_IDS, A(assoc_types), "" },
	{ "$homeCommunityId", SQ_HOME, A(home), "" },
};
#undef A
#undef Q
const size_t sq_nparams = sizeof(sq_params) / sizeof(sq_params[0]);

int
sq_param_index(const char *name)
{
	for (size_t i = 0; i < sq_nparams; i++)
		if (strcmp(sq_params[i].name, name) == 0)
			return (int) i;
	return -1;
}

/*
 * Splits an ebRS parameter value into its quoted strings: "'a'" or
 * "('a','b')", with '' for a quote inside a value.  Returns the count or -1
 * on a syntax error or when more than max values are given.
 */
int
sq_split(const char *s, char *out, size_t itemcap, int max)
{
	int n = 0, list = 0;

	while (*s == ' ')
		s++;
	if (*s == '(') {
		list = 1;
		s++;
	}
	for (;;) {
		size_t len = 0;
		while (*s == ' ')
			s++;
		if (*s != '\'' || n == max)
			return -1;
		for (s++;; s++) {
			if (*s == '\0')
				return -1;
			if (*s == '\'') {
				if (s[1] != '\'')
					break;
				s++;
			}
			if (len + 1 >= itemcap)
				return -1;
			out[(size_t) n * itemcap + len++] = *s;
		}
		out[(size_t) n++ * itemcap + len] = '\0';
		s++;
		while (*s == ' ')
			s++;
		if (list && *s == ',') {
			s++;
			continue;
		}
		break;
	}
	if (list && *s++ != ')')
		return -1;
	while (*s == ' ')
		s++;
	return *s == '\0' ? n : -1;
}

/* All the values of one Slot: each rim:Value may hold a list, and the
 * Values of a Slot are OR (ITI TF-2a 3.18.4.1.2.3.5). */
static int
slot_strings(const xmlNode *slot, char (*out)[256], int max)
{
	xmlNode *vl = hie_xml_child(slot, REG_NS_RIM, "ValueList");
	char     text[4096];
	int      n = 0;

	for (xmlNode *v = hie_xml_child(vl, REG_NS_RIM, "Value"); v != NULL; v = hie_xml_next(v, REG_NS_RIM, "Value")) {
		int k;
		if (hie_xml_text(v, text, sizeof(text)) != HIE_OK)
			return -1;
		if ((k = sq_split(text, out[n], sizeof(out[0]), max - n)) < 0)
			return -1;
		n += k;
	}
	return n;
}

static hie_err
bad(struct reg_error *err, const char *fmt, const char *name)
{
	return reg_fail(err, HIE_EQUERYPARAM, "XDSStoredQueryParamNumber", name, fmt, name);
}

/* Code values arrive as code^^scheme; the registry compares codes. */
static hie_err
to_codes(char (*vals)[256], int n, struct reg_codes *c, const char *name, struct reg_error *err)
{
	if (n > REG_MAX_CODES)
		return bad(err, "%s: too many codes", name);
	c->n = 0;
	for (int i = 0; i < n; i++) {
		char *caret = strstr(vals[i], "^^");
		if (caret != NULL)
			*caret = '\0';
		if (hie_strlcpy(c->v[c->n++], vals[i], sizeof(c->v[0])) != HIE_OK)
			return bad(err, "%s: code too long", name);
	}
	return HIE_OK;
}

static unsigned
status_bits(char (*vals)[256], int n)
{
	unsigned bits = 0;

	for (int i = 0; i < n; i++) {
		if (strcmp(vals[i], REG_STATUS_PREFIX "Approved") == 0)
			bits |= SQ_APPROVED;
		else if (strcmp(vals[i], REG_STATUS_PREFIX "Deprecated") == 0)
			bits |= SQ_DEPRECATED;
	}
	return bits;
}

hie_err
sq_read_slot(struct sq_args *a, const xmlNode *slot, int idx, unsigned seen, struct reg_error *err)
{
	const struct sq_param_def *p = &sq_params[idx];
	char (*vals)[256] = calloc(SQ_MAX_VALUES, sizeof(*vals));
	char      *field = (char *) a + p->off;
	char       text[600];
	int        n;
	hie_err    e = HIE_OK;

	if (vals == NULL)
		return HIE_ENOMEM;
	if (seen && p->kind != SQ_CODES_AND) {
		e = bad(err, "%s given twice", p->name);
		goto done;
	}
	if (p->kind == SQ_TIME) {
		/* Numbers are not quoted (ITI TF-2a 3.18.4.1.2.3.5). */
		xmlNode *v = hie_xml_child(hie_xml_child(slot, REG_NS_RIM, "ValueList"), REG_NS_RIM, "Value");
		if (v == NULL || hie_xml_next(v, REG_NS_RIM, "Value") != NULL || hie_xml_text(v, text, sizeof(text)) != HIE_OK ||
		    strspn(text, "0123456789") != strlen(text) || strlen(text) < 4 || strlen(text) > 14) {
			e = bad(err, "%s must be one DTM value", p->name);
			goto done;
		}
		hie_strlcpy(field, text, 16);
		goto done;
	}
	if ((n = slot_strings(slot, vals, SQ_MAX_VALUES)) <= 0) {
		e = bad(err, "%s: values must be quoted strings or a list of them, at most 64", p->name);
		goto done;
	}
	switch (p->kind) {
	case SQ_PATIENT:
	case SQ_HOME:
		if (n != 1 || vals[0][0] == '(') {
			e = bad(err, "%s takes exactly one value", p->name);
			break;
		}
		hie_strlcpy(field, vals[0], p->kind == SQ_PATIENT ? 256 : 128);
		break;
	case SQ_STATUS:
		*(unsigned *) field |= status_bits(vals, n);
		break;
	case SQ_CODES:
		e = to_codes(vals, n, (struct reg_codes *) field, p->name, err);
		break;
	case SQ_CODES_AND: {
		/* conf_codes/event_codes/fol_codes: an array of REG_MAX_AND
		 * groups followed by its count. */
		struct reg_codes *groups = (struct reg_codes *) field;
		size_t           *count = (size_t *) (groups + REG_MAX_AND);
		if (*count == REG_MAX_AND) {
			e = bad(err, "%s: too many AND groups", p->name);
			break;
		}
		e = to_codes(vals, n, &groups[(*count)++], p->name, err);
		break;
	}
	case SQ_AUTHORS: {
		char  (*authors)[128] = (char (*)[128]) field;
		size_t *count = (size_t *) (authors + REG_MAX_AUTHORS);
		if (n > REG_MAX_AUTHORS) {
			e = bad(err, "%s: too many values", p->name);
			break;
		}
		for (int i = 0; i < n; i++)
			hie_strlcpy(authors[(*count)++], vals[i], 128);
		break;
	}
	case SQ_OBJTYPE:
		for (int i = 0; i < n; i++)
			if (strcmp(vals[i], REG_OBJTYPE_STABLE) == 0)
				a->doc_objtype |= SQ_STABLE;
			else if (strcmp(vals[i], REG_OBJTYPE_ONDEMAND) == 0)
				a->doc_objtype |= SQ_ONDEMAND;
		break;
	case SQ_REFIDS: {
		struct reg_refids *r = (struct reg_refids *) field;
		if (n > REG_MAX_CODES) {
			e = bad(err, "%s: too many values", p->name);
			break;
		}
		for (int i = 0; i < n; i++)
			hie_strlcpy(r->v[r->n++], vals[i], sizeof(r->v[0]));
		break;
	}
	case SQ_IDS: {
		struct sq_ids *ids = (struct sq_ids *) field;
		for (int i = 0; i < n; i++)
			if (hie_strlcpy(ids->v[ids->n++], vals[i], sizeof(ids->v[0])) != HIE_OK) {
				e = bad(err, "%s: value too long", p->name);
				break;
			}
		break;
	}
	case SQ_TIME:
		break;
	}
done:
	free(vals);
	return e;
}
