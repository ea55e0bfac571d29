/*
 * registry/ebrim.c -- DocumentEntries as ebRIM 3.0 XML, and FindDocuments
 * parameters, in both directions.  One set of tables drives writing and
 * reading so the two can never disagree.
 */
#include "registry/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJTYPE_STABLE "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
#define STATUS_PREFIX "urn:oasis:names:tc:ebxml-regrep:StatusType:"
#define RESP_SUCCESS "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
#define RESP_FAILURE "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
#define SEVERITY_ERROR "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"

#define OFF(field) offsetof(struct reg_entry, field)
#define CAP(field) sizeof(((struct reg_entry *) 0)->field)

/* ExtrinsicObject slots (ITI TF-3 Table 4.3.1-3), single-valued. */
static const struct {
	const char *name;
	size_t      off, cap;
} slots[] = {
	{ "creationTime", OFF(creation_time), CAP(creation_time) },
	{ "hash", OFF(hash), CAP(hash) },
	{ "languageCode", OFF(language), CAP(language) },
	{ "repositoryUniqueId", OFF(repository_id), CAP(repository_id) },
	{ "serviceStartTime", OFF(service_start), CAP(service_start) },
	{ "serviceStopTime", OFF(service_stop), CAP(service_stop) },
	{ "sourcePatientId", OFF(source_patient_id), CAP(source_patient_id) },
};

/* Coded classifications: scheme UUID -> code, coding scheme, display. */
static const struct {
	const char *scheme;
	size_t      code, code_cap, cs, cs_cap, disp, disp_cap;
} codes[] = {
	{ "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a", /* classCode */
	    OFF(class_code), CAP(class_code), OFF(class_scheme), CAP(class_scheme),
	    OFF(class_display), CAP(class_display) },
	{ "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f", /* confidentialityCode */
	    OFF(confidentiality), CAP(confidentiality), 0, 0, 0, 0 },
	{ "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d", /* formatCode */
	    OFF(format_code), CAP(format_code), OFF(format_scheme), CAP(format_scheme), 0, 0 },
	{ "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", /* typeCode */
	    OFF(type_code), CAP(type_code), OFF(type_scheme), CAP(type_scheme),
	    OFF(type_display), CAP(type_display) },
};
#define SCHEME_AUTHOR "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
#define CONF_SCHEME "2.16.840.1.113883.5.25"

/* External identifiers. */
static const struct {
	const char *scheme, *name;
	size_t      off, cap;
} extids[] = {
	{ "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427", "XDSDocumentEntry.patientId",
	    OFF(patient_id), CAP(patient_id) },
	{ "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab", "XDSDocumentEntry.uniqueId",
	    OFF(unique_id), CAP(unique_id) },
};
#define N(a) (sizeof(a) / sizeof(a[0]))
#define FIELD(e, off) ((char *) (e) + (off))

static xmlNode *
first_value(const xmlNode *slot)
{
	return hie_xml_child(hie_xml_child(slot, REG_NS_RIM, "ValueList"), REG_NS_RIM, "Value");
}

static xmlNs *
ns_rim(xmlNode *n)
{
	xmlNs *ns = xmlSearchNsByHref(n->doc, n, BAD_CAST REG_NS_RIM);
	return ns != NULL ? ns : xmlNewNs(n, BAD_CAST REG_NS_RIM, BAD_CAST "rim");
}

static xmlNode *
add_slot(xmlNode *parent, xmlNs *rim, const char *name, const char *const *values, size_t n)
{
	xmlNode *s = xmlNewChild(parent, rim, BAD_CAST "Slot", NULL);
	xmlNode *vl;

	xmlNewProp(s, BAD_CAST "name", BAD_CAST name);
	vl = xmlNewChild(s, rim, BAD_CAST "ValueList", NULL);
	for (size_t i = 0; i < n; i++)
		xmlNewTextChild(vl, rim, BAD_CAST "Value", BAD_CAST values[i]);
	return s;
}

static void
add_name(xmlNode *parent, xmlNs *rim, const char *text)
{
	xmlNode *nm = xmlNewChild(parent, rim, BAD_CAST "Name", NULL);
	xmlNode *ls = xmlNewChild(nm, rim, BAD_CAST "LocalizedString", NULL);
	xmlNewProp(ls, BAD_CAST "value", BAD_CAST text);
}

static void
add_entry(xmlNode *list, xmlNs *rim, const struct reg_entry *e, const char *home)
{
	xmlNode *eo = xmlNewChild(list, rim, BAD_CAST "ExtrinsicObject", NULL);
	char     status[80], size[24], id[64];
	int      seq = 0;

	snprintf(status, sizeof(status), STATUS_PREFIX "%s", e->status);
	xmlNewProp(eo, BAD_CAST "id", BAD_CAST e->entry_uuid);
	xmlNewProp(eo, BAD_CAST "mimeType", BAD_CAST e->mime_type);
	xmlNewProp(eo, BAD_CAST "objectType", BAD_CAST OBJTYPE_STABLE);
	xmlNewProp(eo, BAD_CAST "status", BAD_CAST status);
	if (home != NULL && home[0] != '\0')
		xmlNewProp(eo, BAD_CAST "home", BAD_CAST home);
	for (size_t i = 0; i < N(slots); i++) {
		const char *v = FIELD(e, slots[i].off);
		if (v[0] != '\0')
			add_slot(eo, rim, slots[i].name, &v, 1);
	}
	snprintf(size, sizeof(size), "%llu", (unsigned long long) e->size);
	{
		const char *v = size;
		add_slot(eo, rim, "size", &v, 1);
	}
	add_name(eo, rim, e->title);
	if (e->author[0] != '\0') {
		xmlNode    *c = xmlNewChild(eo, rim, BAD_CAST "Classification", NULL);
		const char *v = e->author;
		snprintf(id, sizeof(id), "cl%02d", seq++);
		xmlNewProp(c, BAD_CAST "id", BAD_CAST id);
		xmlNewProp(c, BAD_CAST "classificationScheme", BAD_CAST SCHEME_AUTHOR);
		xmlNewProp(c, BAD_CAST "classifiedObject", BAD_CAST e->entry_uuid);
		xmlNewProp(c, BAD_CAST "nodeRepresentation", BAD_CAST "");
		add_slot(c, rim, "authorPerson", &v, 1);
	}
	for (size_t i = 0; i < N(codes); i++) {
		const char *code = FIELD(e, codes[i].code);
		const char *cs = codes[i].cs_cap ? FIELD(e, codes[i].cs) : CONF_SCHEME;
		const char *disp = codes[i].disp_cap ? FIELD(e, codes[i].disp) : code;
		xmlNode    *c;
		if (code[0] == '\0')
			continue;
		c = xmlNewChild(eo, rim, BAD_CAST "Classification", NULL);
		snprintf(id, sizeof(id), "cl%02d", seq++);
		xmlNewProp(c, BAD_CAST "id", BAD_CAST id);
		xmlNewProp(c, BAD_CAST "classificationScheme", BAD_CAST codes[i].scheme);
		xmlNewProp(c, BAD_CAST "classifiedObject", BAD_CAST e->entry_uuid);
		xmlNewProp(c, BAD_CAST "nodeRepresentation", BAD_CAST code);
		add_slot(c, rim, "codingScheme", &cs, 1);
		add_name(c, rim, disp[0] != '\0' ? disp : code);
	}
	for (size_t i = 0; i < N(extids); i++) {
		xmlNode *x = xmlNewChild(eo, rim, BAD_CAST "ExternalIdentifier", NULL);
		snprintf(id, sizeof(id), "ei%02d", seq++);
		xmlNewProp(x, BAD_CAST "id", BAD_CAST id);
		xmlNewProp(x, BAD_CAST "registryObject", BAD_CAST e->entry_uuid);
		xmlNewProp(x, BAD_CAST "identificationScheme", BAD_CAST extids[i].scheme);
		xmlNewProp(x, BAD_CAST "value", BAD_CAST FIELD(e, extids[i].off));
		add_name(x, rim, extids[i].name);
	}
}

hie_err
reg_ebrim_response_build(xmlNode *parent, const struct reg_result *res, const char *home)
{
	xmlNs   *q = xmlNewNs(parent, BAD_CAST REG_NS_QUERY, BAD_CAST "query");
	xmlNode *resp = xmlNewChild(parent, q, BAD_CAST "AdhocQueryResponse", NULL);
	xmlNs   *rim = xmlNewNs(resp, BAD_CAST REG_NS_RIM, BAD_CAST "rim");
	xmlNode *list;

	xmlNewProp(resp, BAD_CAST "status", BAD_CAST RESP_SUCCESS);
	list = xmlNewChild(resp, rim, BAD_CAST "RegistryObjectList", NULL);
	for (size_t i = 0; i < res->n; i++)
		add_entry(list, rim, &res->v[i], home);
	return HIE_OK;
}

hie_err
reg_ebrim_error_build(xmlNode *parent, const char *code, const char *context)
{
	xmlNs   *q = xmlNewNs(parent, BAD_CAST REG_NS_QUERY, BAD_CAST "query");
	xmlNode *resp = xmlNewChild(parent, q, BAD_CAST "AdhocQueryResponse", NULL);
	xmlNs   *rs = xmlNewNs(resp, BAD_CAST REG_NS_RS, BAD_CAST "rs");
	xmlNs   *rim = xmlNewNs(resp, BAD_CAST REG_NS_RIM, BAD_CAST "rim");
	xmlNode *el, *err;

	xmlNewProp(resp, BAD_CAST "status", BAD_CAST RESP_FAILURE);
	el = xmlNewChild(resp, rs, BAD_CAST "RegistryErrorList", NULL);
	err = xmlNewChild(el, rs, BAD_CAST "RegistryError", NULL);
	xmlNewProp(err, BAD_CAST "errorCode", BAD_CAST code);
	xmlNewProp(err, BAD_CAST "codeContext", BAD_CAST context);
	xmlNewProp(err, BAD_CAST "severity", BAD_CAST SEVERITY_ERROR);
	xmlNewChild(resp, rim, BAD_CAST "RegistryObjectList", NULL);
	return HIE_OK;
}

/* ---- reading entries ---- */

static void
read_slot_value(const xmlNode *slot, char *dst, size_t cap)
{
	hie_xml_text(first_value(slot), dst, cap);
}

static void
read_name(const xmlNode *n, char *dst, size_t cap)
{
	xmlNode    *ls = hie_xml_child(hie_xml_child(n, REG_NS_RIM, "Name"), REG_NS_RIM, "LocalizedString");
	const char *v = hie_xml_attr(ls, "value");
	hie_strlcpy(dst, v != NULL ? v : "", cap);
}

static void
read_entry(const xmlNode *eo, struct reg_entry *e)
{
	const char *v;
	char        buf[32];

	memset(e, 0, sizeof(*e));
	hie_strlcpy(e->entry_uuid, (v = hie_xml_attr(eo, "id")) ? v : "", sizeof(e->entry_uuid));
	hie_strlcpy(e->mime_type, (v = hie_xml_attr(eo, "mimeType")) ? v : "", sizeof(e->mime_type));
	hie_strlcpy(e->home_community, (v = hie_xml_attr(eo, "home")) ? v : "", sizeof(e->home_community));
	v = hie_xml_attr(eo, "status");
	if (v != NULL && strncmp(v, STATUS_PREFIX, strlen(STATUS_PREFIX)) == 0)
		hie_strlcpy(e->status, v + strlen(STATUS_PREFIX), sizeof(e->status));
	read_name(eo, e->title, sizeof(e->title));
	for (xmlNode *s = hie_xml_child(eo, REG_NS_RIM, "Slot"); s; s = hie_xml_next(s, REG_NS_RIM, "Slot")) {
		const char *name = hie_xml_attr(s, "name");
		if (name == NULL)
			continue;
		if (strcmp(name, "size") == 0) {
			read_slot_value(s, buf, sizeof(buf));
			e->size = strtoull(buf, NULL, 10);
		}
		for (size_t i = 0; i < N(slots); i++)
			if (strcmp(name, slots[i].name) == 0)
				read_slot_value(s, FIELD(e, slots[i].off), slots[i].cap);
	}
	for (xmlNode *c = hie_xml_child(eo, REG_NS_RIM, "Classification"); c;
	     c = hie_xml_next(c, REG_NS_RIM, "Classification")) {
		const char *scheme = hie_xml_attr(c, "classificationScheme");
		const char *rep = hie_xml_attr(c, "nodeRepresentation");
		if (scheme == NULL)
			continue;
		if (strcmp(scheme, SCHEME_AUTHOR) == 0) {
			for (xmlNode *s = hie_xml_child(c, REG_NS_RIM, "Slot"); s; s = hie_xml_next(s, REG_NS_RIM, "Slot"))
				if (hie_xml_attr(s, "name") && strcmp(hie_xml_attr(s, "name"), "authorPerson") == 0)
					read_slot_value(s, e->author, sizeof(e->author));
			continue;
		}
		for (size_t i = 0; i < N(codes); i++) {
			if (strcmp(scheme, codes[i].scheme) != 0)
				continue;
			hie_strlcpy(FIELD(e, codes[i].code), rep ? rep : "", codes[i].code_cap);
			if (codes[i].cs_cap)
				read_slot_value(hie_xml_child(c, REG_NS_RIM, "Slot"), FIELD(e, codes[i].cs), codes[i].cs_cap);
			if (codes[i].disp_cap)
				read_name(c, FIELD(e, codes[i].disp), codes[i].disp_cap);
		}
	}
	for (xmlNode *x = hie_xml_child(eo, REG_NS_RIM, "ExternalIdentifier"); x;
	     x = hie_xml_next(x, REG_NS_RIM, "ExternalIdentifier")) {
		const char *scheme = hie_xml_attr(x, "identificationScheme");
		const char *val = hie_xml_attr(x, "value");
		for (size_t i = 0; scheme && val && i < N(extids); i++)
			if (strcmp(scheme, extids[i].scheme) == 0)
				hie_strlcpy(FIELD(e, extids[i].off), val, extids[i].cap);
	}
}

hie_err
reg_ebrim_response_parse(const xmlNode *resp, size_t max, struct reg_result *out, char *why, size_t whycap)
{
	const char *status;
	xmlNode    *list, *eo;
	size_t      n = 0;

	out->v = NULL;
	out->n = 0;
	snprintf(why, whycap, "ok");
	if (resp == NULL || resp->ns == NULL || strcmp((const char *) resp->ns->href, REG_NS_QUERY) != 0 ||
	    strcmp((const char *) resp->name, "AdhocQueryResponse") != 0) {
		snprintf(why, whycap, "body is not an AdhocQueryResponse");
		return HIE_EPROTO;
	}
	status = hie_xml_attr(resp, "status");
	if (status == NULL || strcmp(status, RESP_SUCCESS) != 0) {
		xmlNode    *err = hie_xml_find(resp, REG_NS_RS, "RegistryError");
		const char *code = hie_xml_attr(err, "errorCode");
		const char *ctx = hie_xml_attr(err, "codeContext");
		snprintf(why, whycap, "%s: %s", code ? code : "XDSRegistryError", ctx ? ctx : "no context");
		if (status != NULL && strstr(status, "PartialSuccess") == NULL)
			return HIE_EPEER;
	}
	list = hie_xml_child(resp, REG_NS_RIM, "RegistryObjectList");
	/* Count first so a peer that sends 100,000 entries is refused before
	 * anything is allocated for them. */
	for (eo = hie_xml_child(list, REG_NS_RIM, "ExtrinsicObject"); eo; eo = hie_xml_next(eo, REG_NS_RIM, "ExtrinsicObject"))
		if (++n > max) {
			snprintf(why, whycap, "more than %zu entries", max);
			return HIE_ETOOBIG;
		}
	if (n == 0)
		return HIE_OK;
	if ((out->v = calloc(n, sizeof(*out->v))) == NULL)
		return HIE_ENOMEM;
	for (eo = hie_xml_child(list, REG_NS_RIM, "ExtrinsicObject"); eo; eo = hie_xml_next(eo, REG_NS_RIM, "ExtrinsicObject"))
		read_entry(eo, &out->v[out->n++]);
	return HIE_OK;
}

/* ---- stored query parameters ---- */

/*
 * Splits an ebRS parameter value into its quoted strings: "'a'" or
 * "('a','b')", with '' for a quote inside a value.  Returns the count or -1
 * on a syntax error or when more than max values are given.
 */
static int
sq_values(const char *s, char *out, size_t itemcap, int max)
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
		if (*s != '\'')
			return -1;
		if (n == max)
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

/* One rim:Value may hold a list, and a Slot may hold several Values: both
 * are OR (ITI TF-2a 3.18.4.1.2.3.5). */
static int
slot_values(const xmlNode *slot, char out[][64], int max)
{
	int  n = 0;
	char text[4096];

	for (xmlNode *v = first_value(slot); v != NULL; v = hie_xml_next(v, REG_NS_RIM, "Value")) {
		int k;
		if (hie_xml_text(v, text, sizeof(text)) != HIE_OK)
			return -1;
		if ((k = sq_values(text, out[n], sizeof(out[0]), max - n)) < 0)
			return -1;
		n += k;
	}
	return n;
}

/* The FindDocuments parameters, what each is, and where it goes.  Parsing
 * and building both read this table. */
enum pkind { P_PATIENT, P_STATUS, P_CODES, P_CONF, P_TIME, P_AUTHOR, P_UNSUPPORTED };
#define Q(f) offsetof(struct reg_query, f)
static const struct {
	const char *name;
	enum pkind  kind;
	size_t      off;
	const char *scheme; /* for building coded values */
} params[] = {
	{ "$XDSDocumentEntryPatientId", P_PATIENT, 0, NULL },
	{ "$XDSDocumentEntryStatus", P_STATUS, 0, NULL },
	{ "$XDSDocumentEntryTypeCode", P_CODES, Q(type_codes), "2.16.840.1.113883.6.1" },
	{ "$XDSDocumentEntryClassCode", P_CODES, Q(class_codes), "2.16.840.1.113883.6.1" },
	{ "$XDSDocumentEntryFormatCode", P_CODES, Q(format_codes), "1.3.6.1.4.1.19376.1.2.3" },
	{ "$XDSDocumentEntryConfidentialityCode", P_CONF, Q(conf_codes), "2.16.840.1.113883.5.25" },
	{ "$XDSDocumentEntryCreationTimeFrom", P_TIME, Q(creation_from), NULL },
	{ "$XDSDocumentEntryCreationTimeTo", P_TIME, Q(creation_to), NULL },
	{ "$XDSDocumentEntryServiceStartTimeFrom", P_TIME, Q(service_start_from), NULL },
	{ "$XDSDocumentEntryServiceStartTimeTo", P_TIME, Q(service_start_to), NULL },
	{ "$XDSDocumentEntryServiceStopTimeFrom", P_TIME, Q(service_stop_from), NULL },
	{ "$XDSDocumentEntryServiceStopTimeTo", P_TIME, Q(service_stop_to), NULL },
	{ "$XDSDocumentEntryAuthorPerson", P_AUTHOR, 0, NULL },
	/* Not kept by this registry yet: refused rather than ignored, since
	 * answering without a filter the requester asked for would disclose
	 * more than asked. */
	{ "$XDSDocumentEntryPracticeSettingCode", P_UNSUPPORTED, 0, NULL },
	{ "$XDSDocumentEntryHealthcareFacilityTypeCode", P_UNSUPPORTED, 0, NULL },
	{ "$XDSDocumentEntryEventCodeList", P_UNSUPPORTED, 0, NULL },
	{ "$XDSDocumentEntryType", P_UNSUPPORTED, 0, NULL },
};
#undef Q
#define NPARAMS (sizeof(params) / sizeof(params[0]))

/* Code values arrive as code^^scheme; the registry compares codes. */
static hie_err
read_codes(const xmlNode *slot, struct reg_codes *c, const char *name, char *why, size_t whycap)
{
	char vals[REG_MAX_CODES][64];
	int  n = slot_values(slot, vals, REG_MAX_CODES);

	if (n <= 0) {
		snprintf(why, whycap, "%s: bad value list or more than %d codes", name, REG_MAX_CODES);
		return HIE_EINVAL;
	}
	c->n = 0;
	for (int i = 0; i < n; i++) {
		char *caret = strstr(vals[i], "^^");
		if (caret != NULL)
			*caret = '\0';
		memcpy(c->v[c->n++], vals[i], sizeof(vals[i]));
	}
	return HIE_OK;
}

hie_err
reg_ebrim_query_parse(const xmlNode *req, struct reg_query *q, char *why, size_t whycap)
{
	xmlNode    *aq;
	const char *id;
	char        vals[REG_MAX_CODES][64];
	char        pid[1][256];
	char        text[600];
	unsigned    seen[NPARAMS] = { 0 };
	int         n;
	hie_err     e;

	memset(q, 0, sizeof(*q));
	q->approved_only = 1;
	snprintf(why, whycap, "ok");
	if (req == NULL || req->ns == NULL || strcmp((const char *) req->ns->href, REG_NS_QUERY) != 0 ||
	    strcmp((const char *) req->name, "AdhocQueryRequest") != 0) {
		snprintf(why, whycap, "body is not an AdhocQueryRequest");
		return HIE_EPROTO;
	}
	aq = hie_xml_child(req, REG_NS_RIM, "AdhocQuery");
	id = hie_xml_attr(aq, "id");
	if (id == NULL || strcmp(id, REG_SQ_FIND_DOCUMENTS) != 0) {
		snprintf(why, whycap, "stored query %s is not supported", id ? id : "(none)");
		return HIE_ENOTFOUND;
	}
	for (xmlNode *s = hie_xml_child(aq, REG_NS_RIM, "Slot"); s; s = hie_xml_next(s, REG_NS_RIM, "Slot")) {
		const char *name = hie_xml_attr(s, "name");
		size_t      i;
		char       *field;

		if (name == NULL)
			continue;
		for (i = 0; i < NPARAMS; i++)
			if (strcmp(name, params[i].name) == 0)
				break;
		if (i == NPARAMS || params[i].kind == P_UNSUPPORTED) {
			snprintf(why, whycap, "parameter %.100s is not supported by this registry", name);
			return HIE_EINVAL;
		}
		/* Only the confidentiality code may repeat (AND of groups). */
		if (seen[i]++ && params[i].kind != P_CONF) {
			snprintf(why, whycap, "%s given twice", name);
			return HIE_EINVAL;
		}
		field = (char *) q + params[i].off;
		switch (params[i].kind) {
		case P_PATIENT: {
			xmlNode *v = first_value(s);
			if (v == NULL || hie_xml_next(v, REG_NS_RIM, "Value") != NULL ||
			    hie_xml_text(v, text, sizeof(text)) != HIE_OK || text[0] == '(' ||
			    sq_values(text, pid[0], sizeof(pid[0]), 1) != 1) {
				snprintf(why, whycap, "$XDSDocumentEntryPatientId must be one quoted value");
				return HIE_EINVAL;
			}
			hie_strlcpy(q->patient_id, pid[0], sizeof(q->patient_id));
			break;
		}
		case P_STATUS:
			if ((n = slot_values(s, vals, REG_MAX_CODES)) <= 0) {
				snprintf(why, whycap, "$XDSDocumentEntryStatus: bad value list");
				return HIE_EINVAL;
			}
			for (int k = 0; k < n; k++)
				if (strcmp(vals[k], STATUS_PREFIX "Approved") != 0)
					q->approved_only = 0;
			break;
		case P_CODES:
			if ((e = read_codes(s, (struct reg_codes *) field, name, why, whycap)) != HIE_OK)
				return e;
			break;
		case P_CONF:
			if (q->n_conf_groups == REG_MAX_AND) {
				snprintf(why, whycap, "%s: more than %d groups", name, REG_MAX_AND);
				return HIE_EINVAL;
			}
			if ((e = read_codes(s, &q->conf_codes[q->n_conf_groups++], name, why, whycap)) != HIE_OK)
				return e;
			break;
		case P_TIME:
			if (hie_xml_text(first_value(s), text, sizeof(text)) != HIE_OK ||
			    strspn(text, "0123456789") != strlen(text) || strlen(text) < 4 || strlen(text) > 14) {
				snprintf(why, whycap, "%s must be a DTM", name);
				return HIE_EINVAL;
			}
			hie_strlcpy(field, text, 16);
			break;
		case P_AUTHOR: {
			char authors[REG_MAX_AUTHORS][128];
			for (xmlNode *v = first_value(s); v != NULL; v = hie_xml_next(v, REG_NS_RIM, "Value")) {
				if (q->n_authors == REG_MAX_AUTHORS || hie_xml_text(v, text, sizeof(text)) != HIE_OK ||
				    sq_values(text, authors[0], sizeof(authors[0]), 1) != 1) {
					snprintf(why, whycap, "%s: up to %d quoted values", name, REG_MAX_AUTHORS);
					return HIE_EINVAL;
				}
				memcpy(q->authors[q->n_authors++], authors[0], sizeof(authors[0]));
			}
			break;
		}
		case P_UNSUPPORTED:
			break;
		}
	}
	if (!seen[0] || !seen[1]) {
		snprintf(why, whycap, "FindDocuments requires $XDSDocumentEntryPatientId and $XDSDocumentEntryStatus");
		return HIE_EINVAL;
	}
	return HIE_OK;
}

static void
quote_value(char *dst, size_t cap, const char *v)
{
	size_t n = 0;

	if (cap < 3)
		return;
	dst[n++] = '\'';
	for (; *v && n + 3 < cap; v++) {
		if (*v == '\'')
			dst[n++] = '\'';
		dst[n++] = *v;
	}
	dst[n++] = '\'';
	dst[n] = '\0';
}

/* A code list as an ebRS value: ('c1^^scheme','c2^^scheme'). */
static hie_err
codes_value(const struct reg_codes *c, const char *scheme, char *out, size_t cap)
{
	size_t n = 0;

	n += (size_t) snprintf(out, cap, "(");
	for (size_t i = 0; i < c->n && n < cap; i++)
		n += (size_t) snprintf(out + n, cap - n, "%s'%s^^%s'", i ? "," : "", c->v[i], scheme);
	if (n + 2 > cap)
		return HIE_ETOOBIG;
	snprintf(out + n, cap - n, ")");
	return HIE_OK;
}

hie_err
reg_ebrim_query_build(xmlNode *parent, const struct reg_query *q, const char *home)
{
	xmlNs      *qn = xmlNewNs(parent, BAD_CAST REG_NS_QUERY, BAD_CAST "query");
	xmlNode    *req = xmlNewChild(parent, qn, BAD_CAST "AdhocQueryRequest", NULL);
	xmlNs      *rim = ns_rim(req);
	xmlNode    *opt, *aq;
	/* Each code: ,'  code (< 64)  ^^scheme (< 30)' */
	char        val[REG_MAX_CODES * 100 + 4];
	const char *v = val;
	hie_err     e;

	opt = xmlNewChild(req, qn, BAD_CAST "ResponseOption", NULL);
	xmlNewProp(opt, BAD_CAST "returnType", BAD_CAST "LeafClass");
	xmlNewProp(opt, BAD_CAST "returnComposedObjects", BAD_CAST "true");
	aq = xmlNewChild(req, rim, BAD_CAST "AdhocQuery", NULL);
	xmlNewProp(aq, BAD_CAST "id", BAD_CAST REG_SQ_FIND_DOCUMENTS);
	if (home != NULL && home[0] != '\0')
		xmlNewProp(aq, BAD_CAST "home", BAD_CAST home);
	for (size_t i = 0; i < NPARAMS; i++) {
		const char *field = (const char *) q + params[i].off;
		switch (params[i].kind) {
		case P_PATIENT:
			quote_value(val, sizeof(val), q->patient_id);
			add_slot(aq, rim, params[i].name, &v, 1);
			break;
		case P_STATUS:
			v = q->approved_only ? "('" STATUS_PREFIX "Approved')"
			                     : "('" STATUS_PREFIX "Approved','" STATUS_PREFIX "Deprecated')";
			add_slot(aq, rim, params[i].name, &v, 1);
			v = val;
			break;
		case P_CODES:
			if (((const struct reg_codes *) field)->n == 0)
				break;
			if ((e = codes_value((const struct reg_codes *) field, params[i].scheme, val, sizeof(val))) != HIE_OK)
				return e;
			add_slot(aq, rim, params[i].name, &v, 1);
			break;
		case P_CONF:
			for (size_t g = 0; g < q->n_conf_groups; g++) {
				if ((e = codes_value(&q->conf_codes[g], params[i].scheme, val, sizeof(val))) != HIE_OK)
					return e;
				add_slot(aq, rim, params[i].name, &v, 1);
			}
			break;
		case P_TIME:
			if (field[0] != '\0') {
				const char *t = field;
				add_slot(aq, rim, params[i].name, &t, 1);
			}
			break;
		case P_AUTHOR:
			if (q->n_authors > 0) {
				xmlNode *slot = add_slot(aq, rim, params[i].name, NULL, 0);
				xmlNode *vl = hie_xml_child(slot, REG_NS_RIM, "ValueList");
				for (size_t k = 0; k < q->n_authors; k++) {
					quote_value(val, sizeof(val), q->authors[k]);
					xmlNewTextChild(vl, rim, BAD_CAST "Value", BAD_CAST val);
				}
			}
			break;
		case P_UNSUPPORTED:
			break;
		}
	}
	return HIE_OK;
}
