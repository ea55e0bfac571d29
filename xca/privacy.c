/* xca/privacy.c -- patients' consent applied to what the responding
 * gateway discloses (node/consent.h decides; this file edits answers). */
#include "xca/privacy.h"

#include <libxml/tree.h>
#include <stdio.h>
#include <string.h>

#define SCHEME_DOC_PATIENT "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
#define SCHEME_SS_PATIENT "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
#define SCHEME_FOLDER_PATIENT "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a"
#define SCHEME_DOC_UNIQUE_ID "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
#define SCHEME_CONFIDENTIALITY "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
#define RESP_STATUS "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:"
#define MAX_REMOVED 100000

/* One answer is usually about one patient: decide once per patient. */
struct decisions {
	struct {
		char                    patient[256];
		struct consent_decision d;
	} v[8];
	size_t n;
	int    override;
};

static const struct consent_decision *
decide(const struct xca_responder *r, struct decisions *ds, const char *patient, const struct wss_claims *claims,
    struct consent_decision *tmp)
{
	for (size_t i = 0; i < ds->n; i++)
		if (strcmp(ds->v[i].patient, patient) == 0)
			return &ds->v[i].d;
	consent_allows(r->consent, patient, claims, time(NULL), tmp);
	ds->override |= tmp->override;
	if (ds->n < sizeof(ds->v) / sizeof(ds->v[0]) && strlen(patient) < sizeof(ds->v[0].patient)) {
		strcpy(ds->v[ds->n].patient, patient);
		ds->v[ds->n].d = *tmp;
		return &ds->v[ds->n++].d;
	}
	return tmp;
}

/* The value of the first ExternalIdentifier of obj with one of schemes. */
static const char *
ext_id(const xmlNode *obj, const char *const *schemes)
{
	for (xmlNode *c = hie_xml_child(obj, REG_NS_RIM, "ExternalIdentifier"); c != NULL;
	     c = hie_xml_next(c, REG_NS_RIM, "ExternalIdentifier")) {
		const char *s = hie_xml_attr(c, "identificationScheme");
		for (size_t i = 0; s != NULL && schemes[i] != NULL; i++)
			if (strcmp(s, schemes[i]) == 0)
				return hie_xml_attr(c, "value");
	}
	return NULL;
}

static const char *
confidentiality(const xmlNode *obj)
{
	for (xmlNode *c = hie_xml_child(obj, REG_NS_RIM, "Classification"); c != NULL;
	     c = hie_xml_next(c, REG_NS_RIM, "Classification")) {
		const char *s = hie_xml_attr(c, "classificationScheme");
		if (s != NULL && strcmp(s, SCHEME_CONFIDENTIALITY) == 0) {
			const char *v = hie_xml_attr(c, "nodeRepresentation");
			/* One R or V among several codes withholds the document. */
			if (v != NULL && (strcmp(v, "R") == 0 || strcmp(v, "V") == 0))
				return v;
		}
	}
	return NULL;
}

static int
in_list(char **ids, size_t n, const char *id)
{
	for (size_t i = 0; id != NULL && i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

hie_err
xca_privacy_filter_query(const struct xca_responder *r, xmlNode *body, struct xca_outcome *out)
{
	static const char *const patient_schemes[] = { SCHEME_DOC_PATIENT, SCHEME_SS_PATIENT, SCHEME_FOLDER_PATIENT, NULL };
	static const char *const uid_schemes[] = { SCHEME_DOC_UNIQUE_ID, NULL };
	struct decisions         ds = { .n = 0 };
	struct consent_decision  tmp;
	xmlNode                 *list = hie_xml_find(body, REG_NS_RIM, "RegistryObjectList"), *c, *next;
	char                   **removed = NULL;
	size_t                   nremoved = 0, cap = 0, k = 0;
	int                      asked_denied = 0;

	if (list == NULL)
		return HIE_OK;
	if (out->patient[0] != '\0') {
		const struct consent_decision *d = decide(r, &ds, out->patient, &out->claims, &tmp);
		asked_denied = !d->allowed;
		if (asked_denied)
			snprintf(out->withheld_why, sizeof(out->withheld_why), "%s", d->why);
	}
	/* First pass: the objects themselves. */
	for (c = list->children; c != NULL; c = next) {
		const char *patient, *conf, *id;
		int         drop = 0;
		next = c->next;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		id = hie_xml_attr(c, "id");
		if (strcmp((const char *) c->name, "ObjectRef") == 0) {
			drop = asked_denied;
		} else if ((patient = ext_id(c, patient_schemes)) != NULL) {
			const struct consent_decision *d = decide(r, &ds, patient, &out->claims, &tmp);
			conf = confidentiality(c);
			drop = !consent_document_ok(d, conf);
			if (drop && out->withheld_why[0] == '\0')
				snprintf(out->withheld_why, sizeof(out->withheld_why), "%s",
				    d->allowed ? "confidentialityCode R/V not covered by consent" : d->why);
		}
		if (!drop)
			continue;
		if (id != NULL && nremoved < MAX_REMOVED) {
			if (nremoved == cap) {
				char **g = realloc(removed, (cap = cap ? cap * 2 : 64) * sizeof(*g));
				if (g == NULL) {
					free(removed);
					return HIE_ENOMEM;
				}
				removed = g;
			}
			removed[nremoved++] = strdup(id);
			if (removed[nremoved - 1] == NULL)
				nremoved--;
		}
		out->withheld++;
		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
	/* Second pass: what points at a removed object goes too. */
	for (c = list->children; c != NULL && nremoved > 0; c = next) {
		next = c->next;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (in_list(removed, nremoved, hie_xml_attr(c, "sourceObject")) ||
		    in_list(removed, nremoved, hie_xml_attr(c, "targetObject")) ||
		    in_list(removed, nremoved, hie_xml_attr(c, "classifiedObject"))) {
			xmlUnlinkNode(c);
			xmlFreeNode(c);
		}
	}
	/* What was disclosed, for the audit record and the accounting of
	 * disclosures. */
	for (c = hie_xml_child(list, REG_NS_RIM, "ExtrinsicObject"); c != NULL;
	     c = hie_xml_next(c, REG_NS_RIM, "ExtrinsicObject")) {
		const char *uid = ext_id(c, uid_schemes);
		size_t      n = uid ? strlen(uid) : 0;
		if (n == 0 || k + n + 2 >= sizeof(out->documents))
			continue;
		k += (size_t) snprintf(out->documents + k, sizeof(out->documents) - k, "%s%s", k ? " " : "", uid);
	}
	out->consent_override = ds.override;
	for (size_t i = 0; i < nremoved; i++)
		free(removed[i]);
	free(removed);
	return HIE_OK;
}

void
xca_privacy_filter_retrieve(const struct xca_responder *r, struct reg_doc_ref *refs, size_t *n,
    struct reg_doc_ref *denied, size_t *ndenied, struct xca_outcome *out)
{
	struct decisions        ds = { .n = 0 };
	struct consent_decision tmp;
	size_t                  kept = 0;

	*ndenied = 0;
	for (size_t i = 0; i < *n; i++) {
		struct reg_entry ent;
		char            *doc = NULL;
		size_t           len;
		int              ok = 1;
		if (reg_get_document(r->reg, refs[i].unique_id, &ent, &doc, &len) == HIE_OK) {
			const struct consent_decision *d = decide(r, &ds, ent.patient_id, &out->claims, &tmp);
			ok = consent_document_ok(d, ent.confidentiality);
			if (!ok && out->withheld_why[0] == '\0')
				snprintf(out->withheld_why, sizeof(out->withheld_why), "%s",
				    d->allowed ? "confidentialityCode R/V not covered by consent" : d->why);
			if (out->patient[0] == '\0')
				hie_strlcpy(out->patient, ent.patient_id, sizeof(out->patient));
		}
		free(doc);
		if (ok)
			refs[kept++] = refs[i];
		else
			denied[(*ndenied)++] = refs[i];
	}
	*n = kept;
	out->withheld += (int) *ndenied;
	out->consent_override = ds.override;
}

void
xca_privacy_retrieve_errors(xmlNode *body, const struct reg_doc_ref *denied, size_t ndenied)
{
	xmlNode *resp = hie_xml_find(body, REG_NS_XDSB, "RetrieveDocumentSetResponse");
	xmlNode *status = resp ? hie_xml_child(resp, REG_NS_RS, "RegistryResponse") : NULL;
	xmlNode *list;
	size_t   found = 0;

	if (status == NULL || ndenied == 0)
		return;
	if ((list = hie_xml_child(status, REG_NS_RS, "RegistryErrorList")) == NULL)
		list = xmlNewChild(status, status->ns, BAD_CAST "RegistryErrorList", NULL);
	for (size_t i = 0; i < ndenied; i++) {
		/* Word for word what a missing document gets: nothing tells the
		 * requester that the document exists. */
		xmlNode *e = xmlNewChild(list, status->ns, BAD_CAST "RegistryError", NULL);
		xmlNewProp(e, BAD_CAST "errorCode", BAD_CAST "XDSDocumentUniqueIdError");
		xmlNewProp(e, BAD_CAST "codeContext", BAD_CAST "no such document");
		xmlNewProp(e, BAD_CAST "location", BAD_CAST denied[i].unique_id);
		xmlNewProp(e, BAD_CAST "severity", BAD_CAST "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error");
	}
	for (xmlNode *d = hie_xml_child(resp, REG_NS_XDSB, "DocumentResponse"); d != NULL;
	     d = hie_xml_next(d, REG_NS_XDSB, "DocumentResponse"))
		found++;
	xmlSetProp(status, BAD_CAST "status", BAD_CAST(found > 0 ? RESP_STATUS "PartialSuccess" : RESP_STATUS "Failure"));
}

void
xca_privacy_capture_query(const xmlNode *req_body, struct xca_outcome *out)
{
	xmlNode   *q = NULL;
	xmlBuffer *b;

	out->query[0] = '\0';
	for (xmlNode *c = req_body ? req_body->children : NULL; c != NULL && q == NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			q = c;
	if (q == NULL || (b = xmlBufferCreate()) == NULL)
		return;
	if (xmlNodeDump(b, q->doc, q, 0, 0) > 0) {
		size_t n = (size_t) xmlBufferLength(b);
		const unsigned char *p = xmlBufferContent(b);
		if (n >= sizeof(out->query)) {
			/* Cut at a character boundary: the record stays UTF-8. */
			n = sizeof(out->query) - 1;
			while (n > 0 && (p[n] & 0xC0) == 0x80)
				n--;
		}
		memcpy(out->query, p, n);
		out->query[n] = '\0';
	}
	xmlBufferFree(b);
}
