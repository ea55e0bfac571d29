/* registry/pnr.c -- ITI-41 Provide and Register Document Set-b (ITI
 * TF-2b 3.41): the documents, inline base64 or MTOM attachments, paired
 * with their DocumentEntries, and one reg_submit for the whole set. */
#include "registry/ebrim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E_META "XDSRegistryMetadataError"

static hie_err
read_request(const xmlNode *req, const struct mtom_msg *att, const struct reg_pnr_opts *o,
    struct reg_submission *s, char ***bytes, struct reg_error *err)
{
	const xmlNode *sor, *list;
	size_t         ndocs = 0, total = 0;
	hie_err        e;

	if (req == NULL || req->ns == NULL || strcmp((const char *) req->ns->href, REG_NS_XDSB) != 0 ||
	    strcmp((const char *) req->name, "ProvideAndRegisterDocumentSetRequest") != 0)
		return HIE_EPROTO;
	sor = hie_xml_child(req, REG_NS_LCM, "SubmitObjectsRequest");
	list = hie_xml_child(sor, REG_NS_RIM, "RegistryObjectList");
	if (sor == NULL)
		return reg_fail(err, HIE_EMETADATA, E_META, "", "no lcm:SubmitObjectsRequest");
	if ((e = reg_ebrim_read_objects(list, s, o->max_objects, err)) != HIE_OK)
		return e;
	if ((*bytes = calloc(s->n_docs + 1, sizeof(**bytes))) == NULL)
		return HIE_ENOMEM;
	for (const xmlNode *d = hie_xml_child(req, REG_NS_XDSB, "Document"); d; d = hie_xml_next(d, REG_NS_XDSB, "Document")) {
		const char *id = hie_xml_attr(d, "id");
		size_t      i;
		char       *buf = NULL;
		size_t      len;
		if (++ndocs > s->n_docs)
			return reg_fail(err, HIE_EMETADATA, "XDSMissingDocumentMetadata", id ? id : "",
			    "a Document has no DocumentEntry");
		for (i = 0; id != NULL && i < s->n_docs; i++)
			if (strcmp(s->docs[i].e.entry_uuid, id) == 0)
				break;
		if (id == NULL || i == s->n_docs)
			return reg_fail(err, HIE_EMETADATA, "XDSMissingDocumentMetadata", id ? id : "",
			    "Document %.64s has no DocumentEntry", id ? id : "(no id)");
		if ((*bytes)[i] != NULL)
			return reg_fail(err, HIE_EMETADATA, E_META, id, "two Documents for %.64s", id);
		e = mtom_element_bytes(att, d, o->max_document, &buf, &len);
		if (e == HIE_ETOOBIG || (e == HIE_OK && (total += len) > o->max_total)) {
			free(buf);
			return reg_fail(err, HIE_ETOOBIG, "XDSRepositoryError", id, "document %.64s exceeds the size limit", id);
		}
		if (e == HIE_ENOTFOUND)
			return reg_fail(err, HIE_EMISSINGDOC, "XDSMissingDocument", id,
			    "the attachment of Document %.64s is missing", id);
		if (e != HIE_OK)
			return reg_fail(err, e == HIE_ENOMEM ? e : HIE_EMETADATA, E_META, id,
			    "Document %.64s is neither base64 nor an xop:Include", id);
		(*bytes)[i] = buf;
		s->docs[i].bytes = buf;
		s->docs[i].len = len;
	}
	for (size_t i = 0; i < s->n_docs; i++) {
		struct reg_entry *e2 = &s->docs[i].e;
		/* The repository sets its own id; a submitter's is overruled. */
		hie_strlcpy(e2->repository_id, o->repository_id, sizeof(e2->repository_id));
		if (s->docs[i].bytes == NULL)
			return reg_fail(err, HIE_EMISSINGDOC, "XDSMissingDocument", e2->unique_id,
			    "DocumentEntry %.64s has no Document", e2->entry_uuid);
	}
	return HIE_OK;
}

/* rs:RegistryResponse, Success or Failure with the one error. */
static void
response(xmlNode *parent, const struct reg_error *err)
{
	xmlNs   *rs = xmlNewNs(parent, BAD_CAST REG_NS_RS, BAD_CAST "rs");
	xmlNode *resp = xmlNewChild(parent, rs, BAD_CAST "RegistryResponse", NULL);

	xmlNewProp(resp, BAD_CAST "status", BAD_CAST(err->code ? REG_RESP_FAILURE : REG_RESP_SUCCESS));
	if (err->code != NULL)
		eb_add_errors(resp, err->code, err->context, err->location);
}

hie_err
reg_pnr_answer(reg *r, const xmlNode *req, const struct mtom_msg *att, xmlNode *parent,
    const struct reg_pnr_opts *o, struct reg_error *err, char patient[256])
{
	struct reg_submission s = { 0 };
	char                **bytes = NULL;
	hie_err               e;

	memset(err, 0, sizeof(*err));
	patient[0] = '\0';
	e = read_request(req, att, o, &s, &bytes, err);
	if (e == HIE_EPROTO || e == HIE_ENOMEM)
		goto done;
	hie_strlcpy(patient, s.ss.patient_id, 256);
	if (e == HIE_OK)
		e = reg_submit(r, &s, err);
	if (e != HIE_OK && err->code == NULL)
		reg_fail(err, e, reg_error_code(e), "", "%s", hie_strerror(e));
	response(parent, err);
	e = HIE_OK;
done:
	for (size_t i = 0; bytes != NULL && i < s.n_docs; i++)
		free(bytes[i]);
	free(bytes);
	reg_submission_free(&s);
	return e;
}
