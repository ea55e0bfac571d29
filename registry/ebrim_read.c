/* registry/ebrim_read.c -- reading the objects of a submission (the
 * rim:RegistryObjectList of an lcm:SubmitObjectsRequest) into a
 * reg_submission, with the structural checks of ITI TF-3 4.2. */
#include "registry/ebrim.h"

#include <stdlib.h>
#include <string.h>

#define E_META "XDSRegistryMetadataError"

void
reg_submission_free(struct reg_submission *s)
{
	free(s->docs);
	free(s->folders);
	free(s->assocs);
	memset(s, 0, sizeof(*s));
}

static int
is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL && strcmp((const char *) n->ns->href, REG_NS_RIM) == 0 &&
	       strcmp((const char *) n->name, name) == 0;
}

/* A RegistryPackage is a submission set or a folder by its classification
 * node, given inside it or as a sibling Classification naming it. */
static const char *
package_kind(const xmlNode *list, const xmlNode *pkg)
{
	const char *id = hie_xml_attr(pkg, "id");

	for (xmlNode *c = hie_xml_child(pkg, REG_NS_RIM, "Classification"); c;
	     c = hie_xml_next(c, REG_NS_RIM, "Classification")) {
		const char *node = hie_xml_attr(c, "classificationNode");
		if (node != NULL && (strcmp(node, REG_CL_SUBMISSIONSET) == 0 || strcmp(node, REG_CL_FOLDER) == 0))
			return node;
	}
	for (xmlNode *c = list->children; c && id; c = c->next) {
		const char *node, *obj;
		if (!is(c, "Classification"))
			continue;
		node = hie_xml_attr(c, "classificationNode");
		obj = hie_xml_attr(c, "classifiedObject");
		if (node != NULL && obj != NULL && strcmp(obj, id) == 0 &&
		    (strcmp(node, REG_CL_SUBMISSIONSET) == 0 || strcmp(node, REG_CL_FOLDER) == 0))
			return node;
	}
	return NULL;
}

/* ebRIM makes id required on every identifiable object, nested ones
 * included; a submission without them is not valid metadata. */
static const char *
missing_id(const xmlNode *n)
{
	static const char *kinds[] = { "ExtrinsicObject", "RegistryPackage", "Association", "Classification",
		"ExternalIdentifier" };

	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		const char *bad;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (is(c, kinds[i]) && hie_xml_attr(c, "id") == NULL)
				return kinds[i];
		if ((bad = missing_id(c)) != NULL)
			return bad;
	}
	return NULL;
}

hie_err
reg_ebrim_read_objects(const xmlNode *list, struct reg_submission *s, size_t max_objects, struct reg_error *err)
{
	size_t nd = 0, nf = 0, na = 0, nss = 0, total = 0;

	memset(s, 0, sizeof(*s));
	if (list == NULL)
		return reg_fail(err, HIE_EMETADATA, E_META, "", "no rim:RegistryObjectList");
	{
		const char *bad = missing_id(list);
		if (bad != NULL)
			return reg_fail(err, HIE_EMETADATA, E_META, bad, "a %s has no id attribute", bad);
	}
	/* Count first: nothing is allocated for a list past the limit. */
	for (xmlNode *c = list->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (++total > max_objects)
			return reg_fail(err, HIE_ETOOBIG, "XDSRegistryOutOfResources", "",
			    "more than %zu objects in one submission", max_objects);
		if (is(c, "ExtrinsicObject"))
			nd++;
		else if (is(c, "Association"))
			na++;
		else if (is(c, "RegistryPackage"))
			nf++; /* folders and the submission set, told apart below */
	}
	if ((s->docs = calloc(nd + 1, sizeof(*s->docs))) == NULL ||
	    (s->folders = calloc(nf + 1, sizeof(*s->folders))) == NULL ||
	    (s->assocs = calloc(na + 1, sizeof(*s->assocs))) == NULL) {
		reg_submission_free(s);
		return HIE_ENOMEM;
	}
	for (xmlNode *c = list->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "ExtrinsicObject")) {
			struct reg_entry *e = &s->docs[s->n_docs++].e;
			const char       *ot = hie_xml_attr(c, "objectType");
			eb_read_entry(c, e);
			if (ot != NULL && strcmp(ot, REG_OBJTYPE_STABLE) != 0)
				return reg_fail(err, HIE_EMETADATA, E_META, e->entry_uuid,
				    "only stable documents (objectType %s) can be submitted", REG_OBJTYPE_STABLE);
			if (e->patient_id[0] == '\0' || e->unique_id[0] == '\0')
				return reg_fail(err, HIE_EMETADATA, E_META, e->entry_uuid,
				    "DocumentEntry needs the patientId and uniqueId external identifiers");
			/* A status is the registry's to set. */
			e->status[0] = '\0';
		} else if (is(c, "RegistryPackage")) {
			const char *kind = package_kind(list, c);
			if (kind == NULL)
				return reg_fail(err, HIE_EMETADATA, E_META, hie_xml_attr(c, "id") ? hie_xml_attr(c, "id") : "",
				    "RegistryPackage classified as neither submission set nor folder");
			if (strcmp(kind, REG_CL_SUBMISSIONSET) == 0) {
				if (nss++ > 0)
					return reg_fail(err, HIE_EMETADATA, E_META, "", "more than one submission set");
				eb_read_parts(c, &eb_ss, &s->ss);
				hie_strlcpy(s->ss.status, "Approved", sizeof(s->ss.status));
			} else {
				struct reg_folder *f = &s->folders[s->n_folders++];
				eb_read_parts(c, &eb_fol, f);
				f->status[0] = '\0';
				if (f->patient_id[0] == '\0' || f->unique_id[0] == '\0')
					return reg_fail(err, HIE_EMETADATA, E_META, f->entry_uuid,
					    "Folder needs the patientId and uniqueId external identifiers");
			}
		} else if (is(c, "Association")) {
			struct reg_assoc *a = &s->assocs[s->n_assocs++];
			const char       *v;
			hie_strlcpy(a->entry_uuid, (v = hie_xml_attr(c, "id")) ? v : "", sizeof(a->entry_uuid));
			hie_strlcpy(a->type, (v = hie_xml_attr(c, "associationType")) ? v : "", sizeof(a->type));
			hie_strlcpy(a->source, (v = hie_xml_attr(c, "sourceObject")) ? v : "", sizeof(a->source));
			hie_strlcpy(a->target, (v = hie_xml_attr(c, "targetObject")) ? v : "", sizeof(a->target));
			for (xmlNode *sl = hie_xml_child(c, REG_NS_RIM, "Slot"); sl; sl = hie_xml_next(sl, REG_NS_RIM, "Slot"))
				if (hie_xml_attr(sl, "name") && strcmp(hie_xml_attr(sl, "name"), "SubmissionSetStatus") == 0) {
					xmlNode *val = hie_xml_child(hie_xml_child(sl, REG_NS_RIM, "ValueList"), REG_NS_RIM, "Value");
					hie_xml_text(val, a->ss_status, sizeof(a->ss_status));
				}
			if (a->type[0] == '\0' || a->source[0] == '\0' || a->target[0] == '\0')
				return reg_fail(err, HIE_EMETADATA, E_META, a->entry_uuid,
				    "Association needs associationType, sourceObject and targetObject");
		} else if (is(c, "Classification") || is(c, "ObjectRef")) {
			continue; /* read with their packages; references need nothing */
		} else {
			return reg_fail(err, HIE_EMETADATA, E_META, (const char *) c->name,
			    "unexpected element %.60s in the RegistryObjectList", (const char *) c->name);
		}
	}
	if (nss == 0)
		return reg_fail(err, HIE_EMETADATA, E_META, "", "the submission has no submission set");
	return HIE_OK;
}
