/*
 * registry/ebrim.c -- registry objects as ebRIM 3.0 XML, both ways.  Each
 * object type is one descriptor (its slots, classifications and external
 * identifiers, ITI TF-3 4.2.3 and 4.2.5); writing and reading both walk it,
 * so the two can never disagree.
 */
#include "registry/ebrim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E(f) offsetof(struct reg_entry, f), sizeof(((struct reg_entry *) 0)->f)
#define S(f) offsetof(struct reg_subset, f), sizeof(((struct reg_subset *) 0)->f)
#define FO(f) offsetof(struct reg_folder, f), sizeof(((struct reg_folder *) 0)->f)
#define NONE 0, 0
#define N(a) (sizeof(a) / sizeof(a[0]))

static const struct eb_slot doc_slots[] = {
	{ "creationTime", E(creation_time), 0 },
	{ "hash", E(hash), 0 },
	{ "languageCode", E(language), 0 },
	{ "legalAuthenticator", E(legal_authenticator), 0 },
	{ "repositoryUniqueId", E(repository_id), 0 },
	{ "serviceStartTime", E(service_start), 0 },
	{ "serviceStopTime", E(service_stop), 0 },
	{ "sourcePatientId", E(source_patient_id), 0 },
	{ "sourcePatientInfo", E(source_patient_info), 1 },
	{ "urn:ihe:iti:xds:2013:referenceIdList", E(reference_ids), 1 },
};
static const struct eb_class doc_classes[] = {
	{ "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a", E(class_code), E(class_scheme), E(class_display), 0 },
	{ "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f", E(confidentiality), NONE, NONE, 0 },
	{ "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d", E(format_code), E(format_scheme), NONE, 0 },
	{ "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1", E(facility_code), E(facility_scheme), NONE, 0 },
	{ "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead", E(practice_code), E(practice_scheme), NONE, 0 },
	{ "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", E(type_code), E(type_scheme), E(type_display), 0 },
	{ "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4", E(event_codes), NONE, NONE, 1 },
};
static const struct eb_ext doc_ext[] = {
	{ "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427", "XDSDocumentEntry.patientId", E(patient_id) },
	{ "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab", "XDSDocumentEntry.uniqueId", E(unique_id) },
};
const struct eb_def eb_doc = {
	doc_slots, N(doc_slots), doc_classes, N(doc_classes), doc_ext, N(doc_ext),
	"urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d", E(author), E(author_institution), E(author_role),
	NULL, E(entry_uuid), E(status), E(title), E(comments),
};

static const struct eb_slot ss_slots[] = {
	{ "submissionTime", S(submission_time), 0 },
};
static const struct eb_class ss_classes[] = {
	{ "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500", S(content_type_code), S(content_type_scheme),
	    S(content_type_display), 0 },
};
static const struct eb_ext ss_ext[] = {
	{ "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8", "XDSSubmissionSet.uniqueId", S(unique_id) },
	{ "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832", "XDSSubmissionSet.sourceId", S(source_id) },
	{ "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446", "XDSSubmissionSet.patientId", S(patient_id) },
};
const struct eb_def eb_ss = {
	ss_slots, N(ss_slots), ss_classes, N(ss_classes), ss_ext, N(ss_ext),
	"urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d", S(author), S(author_institution), NONE,
	REG_CL_SUBMISSIONSET, S(entry_uuid), S(status), S(title), S(comments),
};

static const struct eb_slot fol_slots[] = {
	{ "lastUpdateTime", FO(last_update_time), 0 },
};
static const struct eb_class fol_classes[] = {
	{ "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5", FO(codes), NONE, NONE, 1 },
};
static const struct eb_ext fol_ext[] = {
	{ "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a", "XDSFolder.patientId", FO(patient_id) },
	{ "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a", "XDSFolder.uniqueId", FO(unique_id) },
};
const struct eb_def eb_fol = {
	fol_slots, N(fol_slots), fol_classes, N(fol_classes), fol_ext, N(fol_ext),
	NULL, NONE, NONE, NONE,
	REG_CL_FOLDER, FO(entry_uuid), FO(status), FO(title), FO(comments),
};
#undef E
#undef S
#undef FO

#define FIELD(o, off) ((char *) (o) + (off))
#define CFIELD(o, off) ((const char *) (o) + (off))
#define CONF_SCHEME "2.16.840.1.113883.5.25"
#define PACKAGE_TYPE "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
#define ASSOC_TYPE "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"

/* ---- writing ---- */

/* A stable id for the n-th part of an object: a name-based UUID (SHA-1 of
 * the object's id and n), so a query returns the same classification ids
 * every time without storing them. */
static void
part_id(char out[46], const char *owner, int n)
{
	char          in[96], hex[41];
	unsigned char b[16];

	snprintf(in, sizeof(in), "%s#%d", owner, n);
	hie_sha1_hex(in, strlen(in), hex);
	for (int i = 0; i < 16; i++)
		b[i] = (unsigned char) ((hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10) << 4 |
		                        (hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10));
	b[6] = (unsigned char) ((b[6] & 0x0f) | 0x50); /* version 5 */
	b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);
	snprintf(out, 46, "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static xmlNs *
ns_rim(xmlNode *n)
{
	xmlNs *ns = xmlSearchNsByHref(n->doc, n, BAD_CAST REG_NS_RIM);
	return ns != NULL ? ns : xmlNewNs(n, BAD_CAST REG_NS_RIM, BAD_CAST "rim");
}

xmlNode *
eb_add_slot(xmlNode *parent, xmlNs *rim, const char *name, const char *const *values, size_t n)
{
	xmlNode *s = xmlNewChild(parent, rim, BAD_CAST "Slot", NULL);
	xmlNode *vl;

	xmlNewProp(s, BAD_CAST "name", BAD_CAST name);
	vl = xmlNewChild(s, rim, BAD_CAST "ValueList", NULL);
	for (size_t i = 0; i < n; i++)
		xmlNewTextChild(vl, rim, BAD_CAST "Value", BAD_CAST values[i]);
	return s;
}

/* A slot from a newline-separated list: one Value per line. */
static void
add_lines_slot(xmlNode *parent, xmlNs *rim, const char *name, const char *lines)
{
	xmlNode *vl = hie_xml_child(eb_add_slot(parent, rim, name, NULL, 0), REG_NS_RIM, "ValueList");
	char     buf[512];

	hie_strlcpy(buf, lines, sizeof(buf));
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		xmlNewTextChild(vl, rim, BAD_CAST "Value", BAD_CAST l);
}

static void
add_localized(xmlNode *parent, xmlNs *rim, const char *elem, const char *text)
{
	xmlNode *nm = xmlNewChild(parent, rim, BAD_CAST elem, NULL);
	xmlNode *ls = xmlNewChild(nm, rim, BAD_CAST "LocalizedString", NULL);
	xmlNewProp(ls, BAD_CAST "value", BAD_CAST text);
}

static xmlNode *
add_class(xmlNode *o, xmlNs *rim, const char *id, const char *scheme, const char *node_rep,
    const char *owner)
{
	xmlNode *c = xmlNewChild(o, rim, BAD_CAST "Classification", NULL);

	xmlNewProp(c, BAD_CAST "id", BAD_CAST id);
	xmlNewProp(c, BAD_CAST "classificationScheme", BAD_CAST scheme);
	xmlNewProp(c, BAD_CAST "classifiedObject", BAD_CAST owner);
	xmlNewProp(c, BAD_CAST "nodeRepresentation", BAD_CAST node_rep);
	return c;
}

/* A coded value: nodeRepresentation, codingScheme slot, display name. */
static void
add_code(xmlNode *o, xmlNs *rim, const char *id, const char *scheme, const char *code, const char *cs,
    const char *disp, const char *owner)
{
	xmlNode *c = add_class(o, rim, id, scheme, code, owner);
	eb_add_slot(c, rim, "codingScheme", &cs, 1);
	add_localized(c, rim, "Name", disp[0] != '\0' ? disp : code);
}

/* Writes the parts of obj that def describes, in the order ebRIM's
 * RegistryObjectType requires: Slot*, Name, Description, Classification*,
 * ExternalIdentifier*. */
static void
add_parts(xmlNode *o, xmlNs *rim, const struct eb_def *def, const void *obj, const char *extra_slot_name,
    const char *extra_slot_value)
{
	const char *owner = CFIELD(obj, def->uuid_off);
	char        id[46];
	int         seq = 0;

	for (size_t i = 0; i < def->n_slots; i++) {
		const char *v = CFIELD(obj, def->slots[i].off);
		if (v[0] == '\0')
			continue;
		if (def->slots[i].multi)
			add_lines_slot(o, rim, def->slots[i].name, v);
		else
			eb_add_slot(o, rim, def->slots[i].name, &v, 1);
	}
	if (extra_slot_name != NULL)
		eb_add_slot(o, rim, extra_slot_name, &extra_slot_value, 1);
	if (CFIELD(obj, def->title_off)[0] != '\0')
		add_localized(o, rim, "Name", CFIELD(obj, def->title_off));
	if (CFIELD(obj, def->comments_off)[0] != '\0')
		add_localized(o, rim, "Description", CFIELD(obj, def->comments_off));
	if (def->node != NULL) {
		xmlNode *c;
		part_id(id, owner, seq++);
		c = xmlNewChild(o, rim, BAD_CAST "Classification", NULL);
		xmlNewProp(c, BAD_CAST "id", BAD_CAST id);
		xmlNewProp(c, BAD_CAST "classifiedObject", BAD_CAST owner);
		xmlNewProp(c, BAD_CAST "classificationNode", BAD_CAST def->node);
	}
	if (def->author_scheme != NULL && CFIELD(obj, def->author_off)[0] != '\0') {
		static const char *names[] = { "authorPerson", "authorInstitution", "authorRole" };
		size_t             offs[] = { def->author_off, def->inst_off, def->role_off };
		xmlNode           *c;
		part_id(id, owner, seq++);
		c = add_class(o, rim, id, def->author_scheme, "", owner);
		for (size_t k = 0; k < 3; k++) {
			const char *v = offs[k] ? CFIELD(obj, offs[k]) : "";
			if (v[0] != '\0')
				eb_add_slot(c, rim, names[k], &v, 1);
		}
	}
	for (size_t i = 0; i < def->n_classes; i++) {
		const struct eb_class *cl = &def->classes[i];
		const char            *code = CFIELD(obj, cl->code_off);
		if (code[0] == '\0')
			continue;
		if (cl->multi) {
			/* code^^scheme lines, one Classification each */
			char buf[512];
			hie_strlcpy(buf, code, sizeof(buf));
			for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
				char *cs = strstr(l, "^^");
				if (cs != NULL)
					*cs = '\0', cs += 2;
				part_id(id, owner, seq++);
				add_code(o, rim, id, cl->scheme, l, cs ? cs : "", l, owner);
			}
			continue;
		}
		part_id(id, owner, seq++);
		add_code(o, rim, id, cl->scheme, code, cl->cs_cap ? CFIELD(obj, cl->cs_off) : CONF_SCHEME,
		    cl->disp_cap ? CFIELD(obj, cl->disp_off) : code, owner);
	}
	for (size_t i = 0; i < def->n_ext; i++) {
		xmlNode *x = xmlNewChild(o, rim, BAD_CAST "ExternalIdentifier", NULL);
		part_id(id, owner, seq++);
		xmlNewProp(x, BAD_CAST "id", BAD_CAST id);
		xmlNewProp(x, BAD_CAST "registryObject", BAD_CAST owner);
		xmlNewProp(x, BAD_CAST "identificationScheme", BAD_CAST def->ext[i].scheme);
		xmlNewProp(x, BAD_CAST "value", BAD_CAST CFIELD(obj, def->ext[i].off));
		add_localized(x, rim, "Name", def->ext[i].name);
	}
}

static xmlNode *
add_object(xmlNode *list, xmlNs *rim, const char *elem, const struct eb_def *def, const void *obj,
    const char *home, const char *object_type)
{
	xmlNode *o = xmlNewChild(list, rim, BAD_CAST elem, NULL);
	char     status[80];

	snprintf(status, sizeof(status), REG_STATUS_PREFIX "%s",
	    CFIELD(obj, def->status_off)[0] ? CFIELD(obj, def->status_off) : "Approved");
	xmlNewProp(o, BAD_CAST "id", BAD_CAST CFIELD(obj, def->uuid_off));
	xmlNewProp(o, BAD_CAST "objectType", BAD_CAST object_type);
	xmlNewProp(o, BAD_CAST "status", BAD_CAST status);
	if (home != NULL && home[0] != '\0')
		xmlNewProp(o, BAD_CAST "home", BAD_CAST home);
	return o;
}

static void
add_entry(xmlNode *list, xmlNs *rim, const struct reg_entry *e, const char *home)
{
	xmlNode *eo = add_object(list, rim, "ExtrinsicObject", &eb_doc, e, home, REG_OBJTYPE_STABLE);
	char     size[24];

	xmlNewProp(eo, BAD_CAST "mimeType", BAD_CAST(e->mime_type[0] ? e->mime_type : "application/octet-stream"));
	snprintf(size, sizeof(size), "%llu", (unsigned long long) e->size);
	add_parts(eo, rim, &eb_doc, e, "size", size);
}

static void
add_assoc(xmlNode *list, xmlNs *rim, const struct reg_assoc *a, const char *home)
{
	xmlNode *o = xmlNewChild(list, rim, BAD_CAST "Association", NULL);
	char     status[80];

	snprintf(status, sizeof(status), REG_STATUS_PREFIX "%s", a->status[0] ? a->status : "Approved");
	xmlNewProp(o, BAD_CAST "id", BAD_CAST a->entry_uuid);
	xmlNewProp(o, BAD_CAST "objectType", BAD_CAST ASSOC_TYPE);
	xmlNewProp(o, BAD_CAST "status", BAD_CAST status);
	if (home != NULL && home[0] != '\0')
		xmlNewProp(o, BAD_CAST "home", BAD_CAST home);
	xmlNewProp(o, BAD_CAST "associationType", BAD_CAST a->type);
	xmlNewProp(o, BAD_CAST "sourceObject", BAD_CAST a->source);
	xmlNewProp(o, BAD_CAST "targetObject", BAD_CAST a->target);
	if (a->ss_status[0] != '\0') {
		const char *v = a->ss_status;
		eb_add_slot(o, rim, "SubmissionSetStatus", &v, 1);
	}
}

static void
add_ref(xmlNode *list, xmlNs *rim, const char *id, const char *home)
{
	xmlNode *o = xmlNewChild(list, rim, BAD_CAST "ObjectRef", NULL);
	xmlNewProp(o, BAD_CAST "id", BAD_CAST id);
	if (home != NULL && home[0] != '\0')
		xmlNewProp(o, BAD_CAST "home", BAD_CAST home);
}

static xmlNode *
response_node(xmlNode *parent, const char *status, xmlNs **rim)
{
	xmlNs   *q = xmlNewNs(parent, BAD_CAST REG_NS_QUERY, BAD_CAST "query");
	xmlNode *resp = xmlNewChild(parent, q, BAD_CAST "AdhocQueryResponse", NULL);

	*rim = xmlNewNs(resp, BAD_CAST REG_NS_RIM, BAD_CAST "rim");
	xmlNewProp(resp, BAD_CAST "status", BAD_CAST status);
	return resp;
}

hie_err
reg_ebrim_objects_build(xmlNode *parent, const struct reg_objects *o, int object_ref, const char *home)
{
	xmlNs   *rim;
	xmlNode *resp = response_node(parent, REG_RESP_SUCCESS, &rim);
	xmlNode *list = xmlNewChild(resp, rim, BAD_CAST "RegistryObjectList", NULL);

	if (object_ref) {
		for (size_t i = 0; i < o->n_docs; i++)
			add_ref(list, rim, o->docs[i].entry_uuid, home);
		for (size_t i = 0; i < o->n_ss; i++)
			add_ref(list, rim, o->ss[i].entry_uuid, home);
		for (size_t i = 0; i < o->n_folders; i++)
			add_ref(list, rim, o->folders[i].entry_uuid, home);
		for (size_t i = 0; i < o->n_assocs; i++)
			add_ref(list, rim, o->assocs[i].entry_uuid, home);
		return HIE_OK;
	}
	for (size_t i = 0; i < o->n_ss; i++)
		add_parts(add_object(list, rim, "RegistryPackage", &eb_ss, &o->ss[i], home, PACKAGE_TYPE), rim,
		    &eb_ss, &o->ss[i], NULL, NULL);
	for (size_t i = 0; i < o->n_folders; i++)
		add_parts(add_object(list, rim, "RegistryPackage", &eb_fol, &o->folders[i], home, PACKAGE_TYPE), rim,
		    &eb_fol, &o->folders[i], NULL, NULL);
	for (size_t i = 0; i < o->n_docs; i++)
		add_entry(list, rim, &o->docs[i], home);
	for (size_t i = 0; i < o->n_assocs; i++)
		add_assoc(list, rim, &o->assocs[i], home);
	return HIE_OK;
}

hie_err
reg_ebrim_response_build(xmlNode *parent, const struct reg_result *res, const char *home)
{
	struct reg_objects o = { .docs = res->v, .n_docs = res->n };
	return reg_ebrim_objects_build(parent, &o, 0, home);
}

void
eb_add_errors(xmlNode *resp, const char *code, const char *context, const char *location)
{
	xmlNs   *rs = xmlNewNs(resp, BAD_CAST REG_NS_RS, BAD_CAST "rs");
	xmlNode *el = xmlNewChild(resp, rs, BAD_CAST "RegistryErrorList", NULL);
	xmlNode *err = xmlNewChild(el, rs, BAD_CAST "RegistryError", NULL);

	xmlNewProp(err, BAD_CAST "errorCode", BAD_CAST code);
	xmlNewProp(err, BAD_CAST "codeContext", BAD_CAST context);
	xmlNewProp(err, BAD_CAST "severity", BAD_CAST REG_SEVERITY_ERROR);
	if (location != NULL && location[0] != '\0')
		xmlNewProp(err, BAD_CAST "location", BAD_CAST location);
}

hie_err
reg_ebrim_error_build(xmlNode *parent, const char *code, const char *context)
{
	xmlNs   *rim;
	xmlNode *resp = response_node(parent, REG_RESP_FAILURE, &rim);

	eb_add_errors(resp, code, context, NULL);
	/* ebRS 3.0 requires the list even when empty. */
	xmlNewChild(resp, rim, BAD_CAST "RegistryObjectList", NULL);
	return HIE_OK;
}

/* ---- reading ---- */

static void
read_values(const xmlNode *slot, char *dst, size_t cap, int multi)
{
	xmlNode *vl = hie_xml_child(slot, REG_NS_RIM, "ValueList");
	size_t   n = 0;

	dst[0] = '\0';
	for (xmlNode *v = hie_xml_child(vl, REG_NS_RIM, "Value"); v; v = hie_xml_next(v, REG_NS_RIM, "Value")) {
		char text[512];
		if (hie_xml_text(v, text, sizeof(text)) != HIE_OK)
			continue;
		if (!multi) {
			hie_strlcpy(dst, text, cap);
			return;
		}
		if (n + strlen(text) + 2 > cap)
			return;
		n += (size_t) snprintf(dst + n, cap - n, "%s%s", n ? "\n" : "", text);
	}
}

static void
read_localized(const xmlNode *n, const char *elem, char *dst, size_t cap)
{
	xmlNode    *ls = hie_xml_child(hie_xml_child(n, REG_NS_RIM, elem), REG_NS_RIM, "LocalizedString");
	const char *v = hie_xml_attr(ls, "value");
	hie_strlcpy(dst, v != NULL ? v : "", cap);
}

static void
append_line(char *dst, size_t cap, const char *a, const char *b)
{
	size_t n = strlen(dst);
	snprintf(dst + n, cap - n, "%s%s%s%s", n ? "\n" : "", a, b[0] ? "^^" : "", b);
}

/* Reads the slots, classifications and external identifiers of o that
 * def describes.  Returns 1 if o carries def's classification node. */
int
eb_read_parts(const xmlNode *o, const struct eb_def *def, void *obj)
{
	const char *v;
	int         has_node = 0;

	hie_strlcpy(FIELD(obj, def->uuid_off), (v = hie_xml_attr(o, "id")) ? v : "", def->uuid_cap);
	v = hie_xml_attr(o, "status");
	if (v != NULL && strncmp(v, REG_STATUS_PREFIX, strlen(REG_STATUS_PREFIX)) == 0)
		hie_strlcpy(FIELD(obj, def->status_off), v + strlen(REG_STATUS_PREFIX), def->status_cap);
	read_localized(o, "Name", FIELD(obj, def->title_off), def->title_cap);
	read_localized(o, "Description", FIELD(obj, def->comments_off), def->comments_cap);
	for (xmlNode *s = hie_xml_child(o, REG_NS_RIM, "Slot"); s; s = hie_xml_next(s, REG_NS_RIM, "Slot")) {
		const char *name = hie_xml_attr(s, "name");
		for (size_t i = 0; name && i < def->n_slots; i++)
			if (strcmp(name, def->slots[i].name) == 0)
				read_values(s, FIELD(obj, def->slots[i].off), def->slots[i].cap, def->slots[i].multi);
	}
	for (xmlNode *c = hie_xml_child(o, REG_NS_RIM, "Classification"); c;
	     c = hie_xml_next(c, REG_NS_RIM, "Classification")) {
		const char *scheme = hie_xml_attr(c, "classificationScheme");
		const char *node = hie_xml_attr(c, "classificationNode");
		const char *rep = hie_xml_attr(c, "nodeRepresentation");
		if (node != NULL && def->node != NULL && strcmp(node, def->node) == 0)
			has_node = 1;
		if (scheme == NULL)
			continue;
		if (def->author_scheme != NULL && strcmp(scheme, def->author_scheme) == 0) {
			for (xmlNode *s = hie_xml_child(c, REG_NS_RIM, "Slot"); s; s = hie_xml_next(s, REG_NS_RIM, "Slot")) {
				const char *name = hie_xml_attr(s, "name");
				if (name == NULL)
					continue;
				/* the first author is the one kept */
				if (strcmp(name, "authorPerson") == 0 && FIELD(obj, def->author_off)[0] == '\0')
					read_values(s, FIELD(obj, def->author_off), def->author_cap, 0);
				else if (strcmp(name, "authorInstitution") == 0 && def->inst_cap && FIELD(obj, def->inst_off)[0] == '\0')
					read_values(s, FIELD(obj, def->inst_off), def->inst_cap, 0);
				else if (strcmp(name, "authorRole") == 0 && def->role_cap && FIELD(obj, def->role_off)[0] == '\0')
					read_values(s, FIELD(obj, def->role_off), def->role_cap, 0);
			}
			continue;
		}
		for (size_t i = 0; i < def->n_classes; i++) {
			const struct eb_class *cl = &def->classes[i];
			char                   cs[128];
			if (strcmp(scheme, cl->scheme) != 0)
				continue;
			read_values(hie_xml_child(c, REG_NS_RIM, "Slot"), cs, sizeof(cs), 0);
			if (cl->multi) {
				append_line(FIELD(obj, cl->code_off), cl->code_cap, rep ? rep : "", cs);
				continue;
			}
			hie_strlcpy(FIELD(obj, cl->code_off), rep ? rep : "", cl->code_cap);
			if (cl->cs_cap)
				hie_strlcpy(FIELD(obj, cl->cs_off), cs, cl->cs_cap);
			if (cl->disp_cap)
				read_localized(c, "Name", FIELD(obj, cl->disp_off), cl->disp_cap);
		}
	}
	for (xmlNode *x = hie_xml_child(o, REG_NS_RIM, "ExternalIdentifier"); x;
	     x = hie_xml_next(x, REG_NS_RIM, "ExternalIdentifier")) {
		const char *scheme = hie_xml_attr(x, "identificationScheme");
		const char *val = hie_xml_attr(x, "value");
		for (size_t i = 0; scheme && val && i < def->n_ext; i++)
			if (strcmp(scheme, def->ext[i].scheme) == 0)
				hie_strlcpy(FIELD(obj, def->ext[i].off), val, def->ext[i].cap);
	}
	return has_node;
}

void
eb_read_entry(const xmlNode *eo, struct reg_entry *e)
{
	const char *v;

	memset(e, 0, sizeof(*e));
	eb_read_parts(eo, &eb_doc, e);
	hie_strlcpy(e->mime_type, (v = hie_xml_attr(eo, "mimeType")) ? v : "", sizeof(e->mime_type));
	hie_strlcpy(e->home_community, (v = hie_xml_attr(eo, "home")) ? v : "", sizeof(e->home_community));
	for (xmlNode *s = hie_xml_child(eo, REG_NS_RIM, "Slot"); s; s = hie_xml_next(s, REG_NS_RIM, "Slot")) {
		const char *name = hie_xml_attr(s, "name");
		if (name != NULL && strcmp(name, "size") == 0) {
			char buf[32];
			read_values(s, buf, sizeof(buf), 0);
			e->size = strtoull(buf, NULL, 10);
		}
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
	if (status == NULL || strcmp(status, REG_RESP_SUCCESS) != 0) {
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
		eb_read_entry(eo, &out->v[out->n++]);
	return HIE_OK;
}

/* ---- building a FindDocuments request (the fan-out's query) ---- */

#define Q(f) offsetof(struct reg_query, f)
const struct eb_build eb_build_params[] = {
	{ "$XDSDocumentEntryClassCode", EB_CODES, Q(class_codes), "2.16.840.1.113883.6.1" },
	{ "$XDSDocumentEntryTypeCode", EB_CODES, Q(type_codes), "2.16.840.1.113883.6.1" },
	{ "$XDSDocumentEntryPracticeSettingCode", EB_CODES, Q(practice_codes), "" },
	{ "$XDSDocumentEntryHealthcareFacilityTypeCode", EB_CODES, Q(facility_codes), "" },
	{ "$XDSDocumentEntryFormatCode", EB_CODES, Q(format_codes), "1.3.6.1.4.1.19376.1.2.3" },
	{ "$XDSDocumentEntryEventCodeList", EB_CODES_AND, Q(event_codes), "" },
	{ "$XDSDocumentEntryConfidentialityCode", EB_CODES_AND, Q(conf_codes), "2.16.840.1.113883.5.25" },
	{ "$XDSDocumentEntryCreationTimeFrom", EB_TIME, Q(creation_from), NULL },
	{ "$XDSDocumentEntryCreationTimeTo", EB_TIME, Q(creation_to), NULL },
	{ "$XDSDocumentEntryServiceStartTimeFrom", EB_TIME, Q(service_start_from), NULL },
	{ "$XDSDocumentEntryServiceStartTimeTo", EB_TIME, Q(service_start_to), NULL },
	{ "$XDSDocumentEntryServiceStopTimeFrom", EB_TIME, Q(service_stop_from), NULL },
	{ "$XDSDocumentEntryServiceStopTimeTo", EB_TIME, Q(service_stop_to), NULL },
	{ "$XDSDocumentEntryAuthorPerson", EB_AUTHORS, Q(authors), NULL },
};
#undef Q
const size_t eb_nbuild = sizeof(eb_build_params) / sizeof(eb_build_params[0]);

static void
quote_value(char *dst, size_t cap, const char *v)
{
	size_t n = 0;

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
		n += (size_t) snprintf(out + n, cap - n, "%s'%s%s%s'", i ? "," : "", c->v[i], scheme[0] ? "^^" : "", scheme);
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
	quote_value(val, sizeof(val), q->patient_id);
	eb_add_slot(aq, rim, "$XDSDocumentEntryPatientId", &v, 1);
	v = q->approved_only ? "('" REG_STATUS_PREFIX "Approved')"
	    : q->deprecated_only ? "('" REG_STATUS_PREFIX "Deprecated')"
	                         : "('" REG_STATUS_PREFIX "Approved','" REG_STATUS_PREFIX "Deprecated')";
	eb_add_slot(aq, rim, "$XDSDocumentEntryStatus", &v, 1);
	v = val;
	/* The other FindDocuments parameters, from the stored-query table. */
	for (size_t i = 0; i < eb_nbuild; i++) {
		const struct eb_build *b = &eb_build_params[i];
		const char            *field = (const char *) q + b->off;
		switch (b->kind) {
		case EB_CODES:
			if (((const struct reg_codes *) field)->n == 0)
				break;
			if ((e = codes_value((const struct reg_codes *) field, b->scheme, val, sizeof(val))) != HIE_OK)
				return e;
			eb_add_slot(aq, rim, b->name, &v, 1);
			break;
		case EB_CODES_AND: {
			const struct reg_codes *g = (const struct reg_codes *) field;
			size_t                  n = *(const size_t *) (g + REG_MAX_AND);
			for (size_t k = 0; k < n; k++) {
				if ((e = codes_value(&g[k], b->scheme, val, sizeof(val))) != HIE_OK)
					return e;
				eb_add_slot(aq, rim, b->name, &v, 1);
			}
			break;
		}
		case EB_TIME:
			if (field[0] != '\0')
				eb_add_slot(aq, rim, b->name, &field, 1);
			break;
		case EB_AUTHORS:
			if (q->n_authors > 0) {
				xmlNode *vl = hie_xml_child(eb_add_slot(aq, rim, b->name, NULL, 0), REG_NS_RIM, "ValueList");
				for (size_t k = 0; k < q->n_authors; k++) {
					quote_value(val, sizeof(val), q->authors[k]);
					xmlNewTextChild(vl, rim, BAD_CAST "Value", BAD_CAST val);
				}
			}
			break;
		}
	}
	return HIE_OK;
}
