/* registry/retrieve.c -- Retrieve Document Set requests and responses
 * (ITI-43, and ITI-39 across communities), documents inline as base64. */
#include "registry/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESP_PREFIX "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:"
#define SEVERITY_ERROR "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"

/* The three identifying children of a DocumentRequest/DocumentResponse. */
static const struct {
	const char *name;
	size_t      off, cap;
	int         required;
} ref_fields[] = {
	{ "HomeCommunityId", offsetof(struct reg_doc_ref, home), sizeof(((struct reg_doc_ref *) 0)->home), 0 },
	{ "RepositoryUniqueId", offsetof(struct reg_doc_ref, repository_id), sizeof(((struct reg_doc_ref *) 0)->repository_id), 1 },
	{ "DocumentUniqueId", offsetof(struct reg_doc_ref, unique_id), sizeof(((struct reg_doc_ref *) 0)->unique_id), 1 },
};
#define NREF (sizeof(ref_fields) / sizeof(ref_fields[0]))

static void
add_ref(xmlNode *parent, xmlNs *ns, const struct reg_doc_ref *ref)
{
	for (size_t i = 0; i < NREF; i++) {
		const char *v = (const char *) ref + ref_fields[i].off;
		if (v[0] != '\0')
			xmlNewTextChild(parent, ns, BAD_CAST ref_fields[i].name, BAD_CAST v);
	}
}

static int
read_ref(const xmlNode *n, struct reg_doc_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	for (size_t i = 0; i < NREF; i++) {
		xmlNode *c = hie_xml_child(n, REG_NS_XDSB, ref_fields[i].name);
		char    *dst = (char *) ref + ref_fields[i].off;
		if (c == NULL) {
			if (ref_fields[i].required)
				return 0;
			continue;
		}
		if (hie_xml_text(c, dst, ref_fields[i].cap) != HIE_OK || dst[0] == '\0')
			return 0;
	}
	return 1;
}

hie_err
reg_retrieve_request_build(xmlNode *parent, const struct reg_doc_ref *refs, size_t n)
{
	xmlNs   *ns = xmlNewNs(parent, BAD_CAST REG_NS_XDSB, BAD_CAST "xdsb");
	xmlNode *req = xmlNewChild(parent, ns, BAD_CAST "RetrieveDocumentSetRequest", NULL);

	for (size_t i = 0; i < n; i++)
		add_ref(xmlNewChild(req, ns, BAD_CAST "DocumentRequest", NULL), ns, &refs[i]);
	return HIE_OK;
}

hie_err
reg_retrieve_request_parse(const xmlNode *req, struct reg_doc_ref *out, size_t *n, char *why, size_t whycap)
{
	*n = 0;
	snprintf(why, whycap, "ok");
	if (req == NULL || req->ns == NULL || strcmp((const char *) req->ns->href, REG_NS_XDSB) != 0 ||
	    strcmp((const char *) req->name, "RetrieveDocumentSetRequest") != 0) {
		snprintf(why, whycap, "body is not a RetrieveDocumentSetRequest");
		return HIE_EPROTO;
	}
	for (xmlNode *d = hie_xml_child(req, REG_NS_XDSB, "DocumentRequest"); d;
	     d = hie_xml_next(d, REG_NS_XDSB, "DocumentRequest")) {
		if (*n == REG_MAX_RETRIEVE) {
			snprintf(why, whycap, "more than %d DocumentRequests", REG_MAX_RETRIEVE);
			return HIE_EINVAL;
		}
		if (!read_ref(d, &out[*n])) {
			snprintf(why, whycap, "DocumentRequest %zu lacks RepositoryUniqueId or DocumentUniqueId", *n + 1);
			return HIE_EINVAL;
		}
		(*n)++;
	}
	if (*n == 0) {
		snprintf(why, whycap, "no DocumentRequest");
		return HIE_EINVAL;
	}
	return HIE_OK;
}

static void
add_error(xmlNode **list, xmlNode *resp, xmlNs *rs, const char *code, const char *ctx, const char *location)
{
	xmlNode *e;

	if (*list == NULL)
		*list = xmlNewChild(resp, rs, BAD_CAST "RegistryErrorList", NULL);
	e = xmlNewChild(*list, rs, BAD_CAST "RegistryError", NULL);
	xmlNewProp(e, BAD_CAST "errorCode", BAD_CAST code);
	xmlNewProp(e, BAD_CAST "codeContext", BAD_CAST ctx);
	xmlNewProp(e, BAD_CAST "location", BAD_CAST location);
	xmlNewProp(e, BAD_CAST "severity", BAD_CAST SEVERITY_ERROR);
}

hie_err
reg_retrieve_response_build(xmlNode *parent, reg *r, const char *home, const char *repository_id,
    const struct reg_doc_ref *refs, size_t n, size_t max_bytes, size_t *found)
{
	xmlNs   *ns = xmlNewNs(parent, BAD_CAST REG_NS_XDSB, BAD_CAST "xdsb");
	xmlNode *resp = xmlNewChild(parent, ns, BAD_CAST "RetrieveDocumentSetResponse", NULL);
	xmlNs   *rs = xmlNewNs(resp, BAD_CAST REG_NS_RS, BAD_CAST "rs");
	xmlNode *status = xmlNewChild(resp, rs, BAD_CAST "RegistryResponse", NULL);
	xmlNode *errors = NULL;
	hie_err  e = HIE_OK;
	size_t   total = 0;

	*found = 0;
	/* DocumentResponses follow the RegistryResponse; errors go inside it. */
	for (size_t i = 0; i < n && e == HIE_OK; i++) {
		const struct reg_doc_ref *ref = &refs[i];
		struct reg_entry          ent;
		char                     *doc = NULL, *b64 = NULL;
		size_t                    len, blen;
		xmlNode                  *dr;
		size_t                    j;

		for (j = 0; j < i; j++)
			if (strcmp(refs[j].unique_id, ref->unique_id) == 0 && strcmp(refs[j].repository_id, ref->repository_id) == 0)
				break;
		if (j < i)
			continue; /* asked twice: returned once */
		if (home != NULL && ref->home[0] != '\0' && strcmp(ref->home, home) != 0) {
			add_error(&errors, status, rs, "XDSUnknownCommunity", "not this community", ref->home);
			continue;
		}
		if (strcmp(ref->repository_id, repository_id) != 0) {
			add_error(&errors, status, rs, "XDSUnknownRepositoryId", "not this repository", ref->repository_id);
			continue;
		}
		e = reg_get_document(r, ref->unique_id, &ent, &doc, &len);
		if (e == HIE_ENOTFOUND) {
			add_error(&errors, status, rs, "XDSDocumentUniqueIdError", "no such document", ref->unique_id);
			e = HIE_OK;
			continue;
		}
		if (e == HIE_OK && (len / 3 + 1) * 4 > max_bytes - total) {
			add_error(&errors, status, rs, "XDSRepositoryError", "response size limit", ref->unique_id);
			free(doc);
			continue;
		}
		if (e == HIE_OK && (e = hie_base64_encode(doc, len, &b64, &blen)) == HIE_OK) {
			total += blen;
			dr = xmlNewChild(resp, ns, BAD_CAST "DocumentResponse", NULL);
			add_ref(dr, ns, ref);
			if (home != NULL && ref->home[0] == '\0')
				xmlNewTextChild(dr, ns, BAD_CAST "HomeCommunityId", BAD_CAST home);
			xmlNewTextChild(dr, ns, BAD_CAST "mimeType", BAD_CAST ent.mime_type);
			xmlNewChild(dr, ns, BAD_CAST "Document", BAD_CAST b64);
			(*found)++;
		}
		free(doc);
		free(b64);
	}
	xmlNewProp(status, BAD_CAST "status",
	    BAD_CAST(errors == NULL ? RESP_PREFIX "Success" : *found > 0 ? RESP_PREFIX "PartialSuccess" : RESP_PREFIX "Failure"));
	return e;
}

hie_err
reg_retrieve_response_parse(const xmlNode *resp, size_t max, struct reg_doc_ref *ref, char *mime, size_t mimecap,
    char **doc, size_t *len, char *why, size_t whycap)
{
	xmlNode *dr, *d;
	xmlChar *text;
	hie_err  e;

	*doc = NULL;
	*len = 0;
	snprintf(why, whycap, "ok");
	if (resp == NULL || resp->ns == NULL || strcmp((const char *) resp->ns->href, REG_NS_XDSB) != 0 ||
	    strcmp((const char *) resp->name, "RetrieveDocumentSetResponse") != 0) {
		snprintf(why, whycap, "body is not a RetrieveDocumentSetResponse");
		return HIE_EPROTO;
	}
	dr = hie_xml_child(resp, REG_NS_XDSB, "DocumentResponse");
	if (dr == NULL) {
		xmlNode    *err = hie_xml_find(resp, REG_NS_RS, "RegistryError");
		const char *code = hie_xml_attr(err, "errorCode");
		snprintf(why, whycap, "%s", code ? code : "no document returned");
		return HIE_ENOTFOUND;
	}
	if (!read_ref(dr, ref) || (d = hie_xml_child(dr, REG_NS_XDSB, "Document")) == NULL) {
		snprintf(why, whycap, "DocumentResponse lacks its ids or Document");
		return HIE_EPROTO;
	}
	hie_xml_text(hie_xml_child(dr, REG_NS_XDSB, "mimeType"), mime, mimecap);
	if ((text = xmlNodeGetContent(d)) == NULL)
		return HIE_ENOMEM;
	e = hie_base64_decode((const char *) text, strlen((const char *) text), max, doc, len);
	xmlFree(text);
	if (e != HIE_OK)
		snprintf(why, whycap, "Document: %s", e == HIE_ETOOBIG ? "larger than the message limit" : "not base64");
	return e;
}
