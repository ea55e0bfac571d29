/* tests/unit/test_xds.c -- the XDS registry end to end on a real LMDB:
 * submissions with folders and document relationships (reg_submit), every
 * stored query (reg_sq_answer, from XML as a consumer sends it), and every
 * submission error code.  Tables of cases; no mocks. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "node/store.h"
#include "registry/registry.h"
#include "testutil.h"

#define PID "P1^^^&1.2.840.1&ISO"
#define PID2 "P2^^^&1.2.840.1&ISO"

static char     dir[256];
static MDB_env *env;
static reg     *r;
/* the entryUUIDs the registry gave the documents of the fixture */
static char     d1[64], d2[64], d3[64], d4[64], f1[64], ss1[64];

static void
entry(struct reg_doc *d, const char *id, const char *uid, const char *pid, const char *type, const char *text)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->e.entry_uuid, sizeof(d->e.entry_uuid), "%s", id);
	snprintf(d->e.unique_id, sizeof(d->e.unique_id), "%s", uid);
	snprintf(d->e.patient_id, sizeof(d->e.patient_id), "%s", pid);
	snprintf(d->e.repository_id, sizeof(d->e.repository_id), "1.2.3.4.1");
	snprintf(d->e.class_code, sizeof(d->e.class_code), "%s", type);
	snprintf(d->e.type_code, sizeof(d->e.type_code), "%s", type);
	snprintf(d->e.format_code, sizeof(d->e.format_code), "urn:hl7-org:sdwg:ccda-structuredBody:2.1");
	snprintf(d->e.confidentiality, sizeof(d->e.confidentiality), "N");
	snprintf(d->e.mime_type, sizeof(d->e.mime_type), "text/xml");
	snprintf(d->e.creation_time, sizeof(d->e.creation_time), "2026%s", uid + strlen(uid) - 4);
	snprintf(d->e.author, sizeof(d->e.author), "^Lee^Ann");
	d->bytes = text;
	d->len = strlen(text);
}

static void
subset(struct reg_submission *s, const char *uid, const char *pid)
{
	memset(&s->ss, 0, sizeof(s->ss));
	snprintf(s->ss.entry_uuid, sizeof(s->ss.entry_uuid), "SS");
	snprintf(s->ss.unique_id, sizeof(s->ss.unique_id), "%s", uid);
	snprintf(s->ss.source_id, sizeof(s->ss.source_id), "1.2.3.9");
	snprintf(s->ss.patient_id, sizeof(s->ss.patient_id), "%s", pid);
	snprintf(s->ss.submission_time, sizeof(s->ss.submission_time), "20261101120000");
	snprintf(s->ss.content_type_code, sizeof(s->ss.content_type_code), "34133-9");
	snprintf(s->ss.author, sizeof(s->ss.author), "^Smith^Jo");
}

static void
assoc(struct reg_assoc *a, const char *id, const char *type, const char *src, const char *tgt)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->entry_uuid, sizeof(a->entry_uuid), "%s", id);
	snprintf(a->type, sizeof(a->type), "%s", type);
	snprintf(a->source, sizeof(a->source), "%s", src);
	snprintf(a->target, sizeof(a->target), "%s", tgt);
	if (strcmp(type, "HasMember") == 0)
		snprintf(a->ss_status, sizeof(a->ss_status), "Original");
}

/* The C-CDA corpus, when present, goes into the same registry first: the
 * queries below must find exactly the fixture's objects among them. */
static size_t
load_corpus(void)
{
	const char    *corpus = getenv("HIE_CORPUS");
	char           path[1024];
	DIR           *d;
	struct dirent *de;
	size_t         n = 0;

	if (corpus == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/ccda", corpus);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct reg_entry e;
		char             file[1400], why[256], *buf;
		size_t           len;
		if (strstr(de->d_name, ".xml") == NULL)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		if (hie_read_file(file, 16u << 20, &buf, &len) != HIE_OK)
			continue;
		if (reg_ccda_extract(buf, len, NULL, "1.2.3.4.1", &e, why, sizeof(why)) == HIE_OK &&
		    reg_put(r, &e, buf, len) == HIE_OK)
			n++;
		free(buf);
	}
	closedir(d);
	return n;
}

/*
 * The fixture: patient P1 has
 *   SS1: document D1 (event code E1, reference id R1) in new folder F1
 *   SS2: D2 replacing D1 (RPLC: D1 becomes Deprecated)
 *   SS3: D3, an addendum (APND) to D2
 * and patient P2 has D4 in SS4.
 */
static int
setup(void **state)
{
	struct reg_submission s = { 0 };
	struct reg_doc        d;
	struct reg_folder     f;
	struct reg_assoc      a[4];
	struct reg_error      err;

	(void) state;
	tu_tmpdir(dir);
	assert_int_equal(hie_store_open(dir, 64, &env), HIE_OK);
	assert_int_equal(reg_open(env, &r), HIE_OK);
	printf("  corpus documents loaded first: %zu\n", load_corpus());

	subset(&s, "1.2.840.9.1", PID);
	entry(&d, "D1", "1.2.840.7.1^0101", PID, "34133-9", "<doc>one</doc>");
	snprintf(d.e.event_codes, sizeof(d.e.event_codes), "E1^^1.2.3\nE9^^1.2.3");
	snprintf(d.e.reference_ids, sizeof(d.e.reference_ids), "R1^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:order");
	memset(&f, 0, sizeof(f));
	snprintf(f.entry_uuid, sizeof(f.entry_uuid), "F1");
	snprintf(f.unique_id, sizeof(f.unique_id), "1.2.840.8.1");
	snprintf(f.patient_id, sizeof(f.patient_id), PID);
	snprintf(f.codes, sizeof(f.codes), "referral^^1.2.3");
	snprintf(f.title, sizeof(f.title), "Referral to cardiology");
	assoc(&a[0], "a0", "HasMember", "SS", "D1");
	assoc(&a[1], "a1", "HasMember", "SS", "F1");
	assoc(&a[2], "a2", "HasMember", "F1", "D1");
	assoc(&a[3], "a3", "HasMember", "SS", "a2");
	s.docs = &d, s.n_docs = 1, s.folders = &f, s.n_folders = 1, s.assocs = a, s.n_assocs = 4;
	assert_int_equal(reg_submit(r, &s, &err), HIE_OK);
	memcpy(d1, d.e.entry_uuid, 64), memcpy(f1, f.entry_uuid, 64), memcpy(ss1, s.ss.entry_uuid, 64);
	assert_true(strncmp(d1, "urn:uuid:", 9) == 0);

	memset(&s, 0, sizeof(s));
	subset(&s, "1.2.840.9.2", PID);
	entry(&d, "D2", "1.2.840.7.2^0202", PID, "34133-9", "<doc>two</doc>");
	assoc(&a[0], "b0", "HasMember", "SS", "D2");
	assoc(&a[1], "b1", "urn:ihe:iti:2007:AssociationType:RPLC", "D2", d1);
	s.docs = &d, s.n_docs = 1, s.assocs = a, s.n_assocs = 2;
	assert_int_equal(reg_submit(r, &s, &err), HIE_OK);
	memcpy(d2, d.e.entry_uuid, 64);

	memset(&s, 0, sizeof(s));
	subset(&s, "1.2.840.9.3", PID);
	entry(&d, "D3", "1.2.840.7.3^0303", PID, "11506-3", "<doc>three</doc>");
	assoc(&a[0], "c0", "HasMember", "SS", "D3");
	assoc(&a[1], "c1", "APND", "D3", d2);
	s.docs = &d, s.n_docs = 1, s.assocs = a, s.n_assocs = 2;
	assert_int_equal(reg_submit(r, &s, &err), HIE_OK);
	memcpy(d3, d.e.entry_uuid, 64);

	memset(&s, 0, sizeof(s));
	subset(&s, "1.2.840.9.4", PID2);
	entry(&d, "D4", "1.2.840.7.4^0404", PID2, "18842-5", "<doc>four</doc>");
	assoc(&a[0], "d0", "HasMember", "SS", "D4");
	s.docs = &d, s.n_docs = 1, s.assocs = a, s.n_assocs = 1;
	assert_int_equal(reg_submit(r, &s, &err), HIE_OK);
	memcpy(d4, d.e.entry_uuid, 64);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	reg_close(r);
	hie_store_close(env);
	tu_rmtree(dir);
	return 0;
}

/* ---- stored queries ---- */

#define FIND_DOCS "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
#define FIND_SS "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
#define FIND_FOL "urn:uuid:958f3006-baad-4929-a4de-ff1114824431"
#define GET_ALL "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3"
#define GET_DOCS "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
#define GET_FOLS "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4"
#define GET_ASSOCS "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
#define GET_DOCS_ASSOCS "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a"
#define GET_SS "urn:uuid:51224314-5390-4169-9b91-b1980040715a"
#define GET_SS_CONTENTS "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"
#define GET_FOL_CONTENTS "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7"
#define GET_FOLS_FOR_DOC "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578"
#define GET_RELATED "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6"
#define FIND_BY_REF "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492"

#define SLOT(n, v) "<rim:Slot name='" n "'><rim:ValueList><rim:Value>" v "</rim:Value></rim:ValueList></rim:Slot>"
#define APPROVED "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"
#define DEPRECATED "('urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated')"
#define BOTH "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved','urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated')"
#define QPID "'P1^^^&amp;1.2.840.1&amp;ISO'"
/* @D1@ etc. are replaced by the fixture's entryUUIDs */

static const struct sq_case {
	const char *name, *qid, *ret, *slots;
	const char *error;              /* expected errorCode, or NULL */
	int         docs, pkgs, assocs; /* ExtrinsicObjects, RegistryPackages, Associations (or ObjectRefs) */
} sq_cases[] = {
	{ "FindDocuments approved", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", APPROVED), NULL, 2, 0, 0 },
	{ "FindDocuments deprecated", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", DEPRECATED), NULL, 1, 0, 0 },
	{ "FindDocuments both", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", BOTH), NULL, 3, 0, 0 },
	{ "FindDocuments ObjectRef", FIND_DOCS, "ObjectRef", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", BOTH), NULL, 0, 0, 3 },
	{ "FindDocuments type", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", APPROVED) SLOT("$XDSDocumentEntryTypeCode", "('11506-3^^2.16.840.1.113883.6.1')"), NULL, 1, 0, 0 },
	{ "FindDocuments event AND", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", BOTH) SLOT("$XDSDocumentEntryEventCodeList", "('E1^^1.2.3')") SLOT("$XDSDocumentEntryEventCodeList", "('E9^^1.2.3')"), NULL, 1, 0, 0 },
	{ "FindDocuments event AND miss", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", BOTH) SLOT("$XDSDocumentEntryEventCodeList", "('E1^^1.2.3')") SLOT("$XDSDocumentEntryEventCodeList", "('E2^^1.2.3')"), NULL, 0, 0, 0 },
	{ "FindDocuments creation range", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", BOTH) SLOT("$XDSDocumentEntryCreationTimeFrom", "20260202") SLOT("$XDSDocumentEntryCreationTimeTo", "20260303"), NULL, 1, 0, 0 },
	{ "FindDocuments author", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", APPROVED) SLOT("$XDSDocumentEntryAuthorPerson", "'%Lee%'"), NULL, 2, 0, 0 },
	{ "FindDocuments other patient", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", "'P2^^^&amp;1.2.840.1&amp;ISO'") SLOT("$XDSDocumentEntryStatus", APPROVED), NULL, 1, 0, 0 },
	{ "FindDocuments no status", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID), "XDSStoredQueryParamNumber", 0, 0, 0 },
	{ "FindDocuments foreign param", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", APPROVED) SLOT("$XDSFolderStatus", APPROVED), "XDSStoredQueryParamNumber", 0, 0, 0 },
	{ "FindDocuments unquoted", FIND_DOCS, "LeafClass", SLOT("$XDSDocumentEntryPatientId", "P1^^^&amp;1.2.840.1&amp;ISO") SLOT("$XDSDocumentEntryStatus", APPROVED), "XDSStoredQueryParamNumber", 0, 0, 0 },
	{ "FindSubmissionSets", FIND_SS, "LeafClass", SLOT("$XDSSubmissionSetPatientId", QPID) SLOT("$XDSSubmissionSetStatus", APPROVED), NULL, 0, 3, 0 },
	{ "FindSubmissionSets source", FIND_SS, "LeafClass", SLOT("$XDSSubmissionSetPatientId", QPID) SLOT("$XDSSubmissionSetStatus", APPROVED) SLOT("$XDSSubmissionSetSourceId", "('9.9.9')"), NULL, 0, 0, 0 },
	{ "FindFolders", FIND_FOL, "LeafClass", SLOT("$XDSFolderPatientId", QPID) SLOT("$XDSFolderStatus", APPROVED), NULL, 0, 1, 0 },
	{ "FindFolders code", FIND_FOL, "LeafClass", SLOT("$XDSFolderPatientId", QPID) SLOT("$XDSFolderStatus", APPROVED) SLOT("$XDSFolderCodeList", "('referral^^1.2.3')"), NULL, 0, 1, 0 },
	{ "FindFolders code miss", FIND_FOL, "LeafClass", SLOT("$XDSFolderPatientId", QPID) SLOT("$XDSFolderStatus", APPROVED) SLOT("$XDSFolderCodeList", "('other^^1.2.3')"), NULL, 0, 0, 0 },
	/* 3 docs, 3 SS + 1 folder, and a0 a1 a2 a3 b0 b1 c0 c1 */
	{ "GetAll", GET_ALL, "LeafClass", SLOT("$patientId", QPID) SLOT("$XDSDocumentEntryStatus", BOTH) SLOT("$XDSSubmissionSetStatus", APPROVED) SLOT("$XDSFolderStatus", APPROVED), NULL, 3, 4, 8 },
	{ "GetAll no folder status", GET_ALL, "LeafClass", SLOT("$patientId", QPID) SLOT("$XDSDocumentEntryStatus", BOTH) SLOT("$XDSSubmissionSetStatus", APPROVED), "XDSStoredQueryParamNumber", 0, 0, 0 },
	{ "GetDocuments uuid", GET_DOCS, "LeafClass", SLOT("$XDSDocumentEntryEntryUUID", "('@D1@','@D4@')"), NULL, 2, 0, 0 },
	{ "GetDocuments uid", GET_DOCS, "LeafClass", SLOT("$XDSDocumentEntryUniqueId", "('1.2.840.7.2^0202')"), NULL, 1, 0, 0 },
	{ "GetDocuments both ids", GET_DOCS, "LeafClass", SLOT("$XDSDocumentEntryUniqueId", "('1.2.840.7.2^0202')") SLOT("$XDSDocumentEntryEntryUUID", "('@D1@')"), "XDSStoredQueryParamNumber", 0, 0, 0 },
	{ "GetDocuments none", GET_DOCS, "LeafClass", "", "XDSStoredQueryParamNumber", 0, 0, 0 },
	{ "GetFolders", GET_FOLS, "LeafClass", SLOT("$XDSFolderUniqueId", "('1.2.840.8.1')"), NULL, 0, 1, 0 },
	{ "GetAssociations", GET_ASSOCS, "LeafClass", SLOT("$uuid", "('@D1@')"), NULL, 0, 0, 3 }, /* a0 a2 b1 */
	{ "GetDocumentsAndAssociations", GET_DOCS_ASSOCS, "LeafClass", SLOT("$XDSDocumentEntryEntryUUID", "('@D2@')"), NULL, 1, 0, 3 }, /* b0 b1 c1 */
	{ "GetSubmissionSets", GET_SS, "LeafClass", SLOT("$uuid", "('@D1@','@D3@')"), NULL, 0, 2, 2 },
	{ "GetSubmissionSetAndContents", GET_SS_CONTENTS, "LeafClass", SLOT("$XDSSubmissionSetUniqueId", "('1.2.840.9.1')"), NULL, 1, 2, 4 }, /* D1, SS1 + F1, a0 a1 a2 a3 */
	{ "GetSubmissionSetAndContents format miss", GET_SS_CONTENTS, "LeafClass", SLOT("$XDSSubmissionSetEntryUUID", "('@SS1@')") SLOT("$XDSDocumentEntryFormatCode", "('x^^1')"), NULL, 0, 2, 1 }, /* a1 only */
	{ "GetFolderAndContents", GET_FOL_CONTENTS, "LeafClass", SLOT("$XDSFolderEntryUUID", "('@F1@')"), NULL, 1, 1, 1 },
	{ "GetFoldersForDocument", GET_FOLS_FOR_DOC, "LeafClass", SLOT("$XDSDocumentEntryUniqueId", "('1.2.840.7.1^0101')"), NULL, 0, 1, 0 },
	{ "GetFoldersForDocument none", GET_FOLS_FOR_DOC, "LeafClass", SLOT("$XDSDocumentEntryEntryUUID", "('@D4@')"), NULL, 0, 0, 0 },
	{ "GetRelatedDocuments RPLC", GET_RELATED, "LeafClass", SLOT("$XDSDocumentEntryEntryUUID", "('@D2@')") SLOT("$AssociationTypes", "('urn:ihe:iti:2007:AssociationType:RPLC')"), NULL, 2, 0, 1 },
	{ "GetRelatedDocuments all", GET_RELATED, "LeafClass", SLOT("$XDSDocumentEntryEntryUUID", "('@D2@')") SLOT("$AssociationTypes", "('urn:ihe:iti:2007:AssociationType:RPLC','urn:ihe:iti:2007:AssociationType:APND')"), NULL, 3, 0, 2 },
	{ "GetRelatedDocuments none", GET_RELATED, "LeafClass", SLOT("$XDSDocumentEntryEntryUUID", "('@D4@')") SLOT("$AssociationTypes", "('urn:ihe:iti:2007:AssociationType:RPLC')"), NULL, 0, 0, 0 },
	{ "GetRelatedDocuments no types", GET_RELATED, "LeafClass", SLOT("$XDSDocumentEntryEntryUUID", "('@D2@')"), "XDSStoredQueryParamNumber", 0, 0, 0 },
	{ "FindDocumentsByReferenceId", FIND_BY_REF, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", BOTH) SLOT("$XDSDocumentEntryReferenceIdList", "('R1^^^&amp;1.2.3&amp;ISO^urn:ihe:iti:xds:2013:order')"), NULL, 1, 0, 0 },
	{ "FindDocumentsByReferenceId miss", FIND_BY_REF, "LeafClass", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", BOTH) SLOT("$XDSDocumentEntryReferenceIdList", "('R2')"), NULL, 0, 0, 0 },
	{ "unknown query", "urn:uuid:00000000-0000-0000-0000-000000000000", "LeafClass", "", "XDSUnknownStoredQuery", 0, 0, 0 },
	{ "bad returnType", FIND_DOCS, "Everything", SLOT("$XDSDocumentEntryPatientId", QPID) SLOT("$XDSDocumentEntryStatus", APPROVED), "XDSRegistryError", 0, 0, 0 },
	{ "huge value list", GET_DOCS, "LeafClass", SLOT("$XDSDocumentEntryUniqueId", "('1','2','3','4','5','6','7','8','9','10','11','12','13','14','15','16','17','18','19','20','21','22','23','24','25','26','27','28','29','30','31','32','33','34','35','36','37','38','39','40','41','42','43','44','45','46','47','48','49','50','51','52','53','54','55','56','57','58','59','60','61','62','63','64','65')"), "XDSStoredQueryParamNumber", 0, 0, 0 },
};

/* Replaces the @NAME@ markers of text by the fixture's ids. */
static void
expand(const char *text, char *out, size_t cap)
{
	static const struct {
		const char *mark;
		const char *id;
	} marks[] = { { "@D1@", d1 }, { "@D2@", d2 }, { "@D3@", d3 }, { "@D4@", d4 }, { "@F1@", f1 }, { "@SS1@", ss1 } };
	size_t n = 0;

	while (*text && n + 64 < cap) {
		size_t i;
		for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
			if (strncmp(text, marks[i].mark, strlen(marks[i].mark)) == 0)
				break;
		if (i < sizeof(marks) / sizeof(marks[0])) {
			n += (size_t) snprintf(out + n, cap - n, "%s", marks[i].id);
			text += strlen(marks[i].mark);
		} else {
			out[n++] = *text++;
		}
	}
	out[n] = '\0';
}

static int
count(xmlDoc *d, const char *xpath)
{
	xmlXPathContext *ctx = xmlXPathNewContext(d);
	xmlXPathObject  *o;
	int              n;

	xmlXPathRegisterNs(ctx, BAD_CAST "rim", BAD_CAST REG_NS_RIM);
	xmlXPathRegisterNs(ctx, BAD_CAST "rs", BAD_CAST REG_NS_RS);
	o = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
	n = o && o->nodesetval ? o->nodesetval->nodeNr : 0;
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return n;
}

static void
test_stored_queries(void **state)
{
	int failures = 0;

	(void) state;
	for (size_t i = 0; i < sizeof(sq_cases) / sizeof(sq_cases[0]); i++) {
		const struct sq_case *c = &sq_cases[i];
		struct reg_sq_opts    o = { NULL, 100 };
		struct reg_error      err;
		char                  slots[8192], xml[10000], patient[256];
		xmlDoc               *req, *resp = xmlNewDoc(BAD_CAST "1.0");
		xmlNode              *root = xmlNewNode(NULL, BAD_CAST "out");
		int                   docs, pkgs, assocs, ok;
		const char           *code;

		expand(c->slots, slots, sizeof(slots));
		snprintf(xml, sizeof(xml),
		    "<query:AdhocQueryRequest xmlns:query='urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0' "
		    "xmlns:rim='urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0'><query:ResponseOption returnType='%s' "
		    "returnComposedObjects='true'/><rim:AdhocQuery id='%s'>%s</rim:AdhocQuery></query:AdhocQueryRequest>",
		    c->ret, c->qid, slots);
		assert_int_equal(hie_xml_parse(xml, strlen(xml), NULL, &req), HIE_OK);
		xmlDocSetRootElement(resp, root);
		assert_int_equal(reg_sq_answer(r, xmlDocGetRootElement(req), root, &o, &err, patient), HIE_OK);
		docs = count(resp, "//rim:ExtrinsicObject");
		pkgs = count(resp, "//rim:RegistryPackage");
		assocs = count(resp, strcmp(c->ret, "ObjectRef") == 0 ? "//rim:ObjectRef" : "//rim:Association");
		code = err.code;
		ok = docs == c->docs && pkgs == c->pkgs && assocs == c->assocs &&
		     ((c->error == NULL && code == NULL) || (c->error && code && strcmp(c->error, code) == 0)) &&
		     count(resp, "//rs:RegistryError") == (c->error ? 1 : 0);
		printf("  %-42s %s", c->name, ok ? "ok\n" : "FAIL");
		if (!ok) {
			failures++;
			printf(": docs %d/%d packages %d/%d associations %d/%d error %s/%s (%s)\n", docs, c->docs, pkgs,
			    c->pkgs, assocs, c->assocs, code ? code : "-", c->error ? c->error : "-", err.context);
		}
		xmlFreeDoc(req);
		xmlFreeDoc(resp);
	}
	assert_int_equal(failures, 0);
}

/* ---- submission errors: each a change to a good one-document submission ---- */

enum { M_NONE, M_DUP_UID, M_SAME_BYTES, M_HASH, M_SIZE, M_NO_BYTES, M_PATIENT, M_UNKNOWN_PATIENT, M_NO_CLASS,
	M_BAD_TARGET, M_RPLC_DEPRECATED, M_NO_HASMEMBER, M_BAD_PID, M_BAD_TYPE, M_RPLC_OTHER_PATIENT, M_DUP_IN_SUB,
	M_SS_UID_TAKEN, M_BAD_UID, M_ID_TAKEN };

static const struct {
	int         mutation;
	hie_err     want;
	const char *code;
} sub_cases[] = {
	{ M_NONE, HIE_OK, NULL },
	{ M_DUP_UID, HIE_EHASH, "XDSNonIdenticalHash" },
	{ M_SAME_BYTES, HIE_EEXIST, "XDSDuplicateUniqueIdInRegistry" },
	{ M_HASH, HIE_EHASH, "XDSNonIdenticalHash" },
	{ M_SIZE, HIE_EHASH, "XDSNonIdenticalSize" },
	{ M_NO_BYTES, HIE_EMISSINGDOC, "XDSMissingDocument" },
	{ M_PATIENT, HIE_EPATIENT, "XDSPatientIdDoesNotMatch" },
	{ M_UNKNOWN_PATIENT, HIE_EUNKNOWNPATIENT, "XDSUnknownPatientId" },
	{ M_NO_CLASS, HIE_EMETADATA, "XDSRegistryMetadataError" },
	{ M_BAD_TARGET, HIE_EMETADATA, "XDSRegistryMetadataError" },
	{ M_RPLC_DEPRECATED, HIE_EMETADATA, "XDSRegistryDeprecatedDocumentError" },
	{ M_NO_HASMEMBER, HIE_EMETADATA, "XDSRegistryMetadataError" },
	{ M_BAD_PID, HIE_EMETADATA, "XDSRegistryMetadataError" },
	{ M_BAD_TYPE, HIE_EMETADATA, "XDSRegistryMetadataError" },
	{ M_RPLC_OTHER_PATIENT, HIE_EPATIENT, "XDSPatientIdDoesNotMatch" },
	{ M_DUP_IN_SUB, HIE_EDUPLICATE, "XDSDuplicateUniqueIdInRegistry" },
	{ M_SS_UID_TAKEN, HIE_EDUPLICATE, "XDSDuplicateUniqueIdInRegistry" },
	{ M_BAD_UID, HIE_EMETADATA, "XDSRegistryMetadataError" },
	{ M_ID_TAKEN, HIE_EMETADATA, "XDSRegistryMetadataError" },
};

static int
only_p1(void *arg, const char *pid)
{
	(void) arg;
	return strcmp(pid, PID) == 0;
}

static void
test_submission_errors(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(sub_cases) / sizeof(sub_cases[0]); i++) {
		struct reg_submission s = { 0 };
		struct reg_doc        d[2];
		struct reg_assoc      a[3];
		struct reg_error      err;
		size_t                before, after;
		char                  ssuid[32], uid[40];
		hie_err               e;

		snprintf(ssuid, sizeof(ssuid), "1.2.840.9.%zu", 100 + i);
		snprintf(uid, sizeof(uid), "1.2.840.7.%zu^1%03zu", 100 + i, i);
		subset(&s, ssuid, PID);
		entry(&d[0], "N1", uid, PID, "34133-9", "<doc>new</doc>");
		assoc(&a[0], "n0", "HasMember", "SS", "N1");
		s.docs = d, s.n_docs = 1, s.assocs = a, s.n_assocs = 1;
		switch (sub_cases[i].mutation) {
		case M_DUP_UID: snprintf(d[0].e.unique_id, sizeof(d[0].e.unique_id), "1.2.840.7.1^0101"); break;
		case M_SAME_BYTES:
			snprintf(d[0].e.unique_id, sizeof(d[0].e.unique_id), "1.2.840.7.1^0101");
			d[0].bytes = "<doc>one</doc>", d[0].len = 14;
			break;
		case M_HASH: snprintf(d[0].e.hash, sizeof(d[0].e.hash), "0123456789012345678901234567890123456789"); break;
		case M_SIZE: d[0].e.size = 9999; break;
		case M_NO_BYTES: d[0].bytes = NULL; break;
		case M_PATIENT: snprintf(d[0].e.patient_id, sizeof(d[0].e.patient_id), PID2); break;
		case M_UNKNOWN_PATIENT:
			reg_set_patient_check(r, only_p1, NULL);
			snprintf(s.ss.patient_id, sizeof(s.ss.patient_id), "P3^^^&1.2.840.1&ISO");
			snprintf(d[0].e.patient_id, sizeof(d[0].e.patient_id), "P3^^^&1.2.840.1&ISO");
			break;
		case M_NO_CLASS: d[0].e.class_code[0] = '\0'; break;
		case M_BAD_TARGET: assoc(&a[1], "n1", "RPLC", "N1", "urn:uuid:00000000-0000-4000-8000-000000000000"), s.n_assocs = 2; break;
		case M_RPLC_DEPRECATED: assoc(&a[1], "n1", "RPLC", "N1", d1), s.n_assocs = 2; break;
		case M_NO_HASMEMBER: s.n_assocs = 0; break;
		case M_BAD_PID: snprintf(s.ss.patient_id, sizeof(s.ss.patient_id), "P1"), snprintf(d[0].e.patient_id, 8, "P1"); break;
		case M_BAD_TYPE: assoc(&a[1], "n1", "urn:example:Likes", "N1", d2), s.n_assocs = 2; break;
		case M_RPLC_OTHER_PATIENT: assoc(&a[1], "n1", "RPLC", "N1", d4), s.n_assocs = 2; break;
		case M_DUP_IN_SUB:
			entry(&d[1], "N2", uid, PID, "34133-9", "<doc>other</doc>");
			assoc(&a[1], "n1", "HasMember", "SS", "N2");
			s.n_docs = 2, s.n_assocs = 2;
			break;
		case M_SS_UID_TAKEN: snprintf(s.ss.unique_id, sizeof(s.ss.unique_id), "1.2.840.9.1"); break;
		case M_BAD_UID: snprintf(d[0].e.unique_id, sizeof(d[0].e.unique_id), "not-an-oid"); break;
		case M_ID_TAKEN: /* a registered object's entryUUID reused */
			snprintf(d[0].e.entry_uuid, sizeof(d[0].e.entry_uuid), "%s", d2);
			snprintf(a[0].target, sizeof(a[0].target), "%s", d2);
			break;
		}
		assert_int_equal(reg_count(r, &before), HIE_OK);
		e = reg_submit(r, &s, &err);
		reg_set_patient_check(r, NULL, NULL);
		assert_int_equal(reg_count(r, &after), HIE_OK);
		if (e != sub_cases[i].want || (sub_cases[i].code && (!err.code || strcmp(err.code, sub_cases[i].code) != 0)))
			fail_msg("case %zu: got %s %s (%s), want %s %s", i, hie_errname(e), err.code ? err.code : "-",
			    err.context, hie_errname(sub_cases[i].want), sub_cases[i].code ? sub_cases[i].code : "-");
		/* Nothing of a refused submission is stored. */
		assert_int_equal(after, before + (e == HIE_OK ? 1 : 0));
	}
}

/* Deprecation: the replaced document stays retrievable, marked Deprecated. */
static void
test_replaced_still_retrievable(void **state)
{
	struct reg_entry e;
	char            *doc;
	size_t           len;

	(void) state;
	assert_int_equal(reg_get_document(r, "1.2.840.7.1^0101", &e, &doc, &len), HIE_OK);
	assert_string_equal(e.status, "Deprecated");
	assert_string_equal(doc, "<doc>one</doc>");
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stored_queries),
		cmocka_unit_test(test_replaced_still_retrievable),
		cmocka_unit_test(test_submission_errors),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
