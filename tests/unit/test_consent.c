/*
 * tests/unit/test_consent.c -- patients' consent in the responding gateway:
 * a real registry (LMDB), real signed requests with XUA assertions (purpose
 * of use), a real consent database; one table of cases (policy, purpose,
 * request, what the answer may show).  An opted-out patient must look like
 * a patient with no documents; R/V documents need the patient's explicit
 * consent; break-the-glass only where the policy allows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_fixture.h"
#include "node/consent.h"
#include "node/soap.h"

#define HOME "urn:oid:1.2.3.4"
#define ASKER "urn:oid:1.2.3.1"
#define DEMO "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO"
#define OTHER "OTHER-7^^^&1.3.6.1.4.1.21367.13.20.3000&ISO"

static struct tg_gateway G;
static consent          *cons;
static char              demo_uid[128], restricted_uid[128], other_uid[128];

/* Registers a copy of the first demo document under another unique id,
 * patient or confidentiality. */
static void
register_variant(const char *suffix, const char *patient, const char *conf, char *uid_out)
{
	char             path[512], why[256], *buf;
	size_t           len;
	struct reg_entry e;

	tu_src(path, sizeof(path), "conf/demo/hospital-b-ccd.xml");
	buf = tu_slurp(path, &len);
	assert_int_equal(reg_ccda_extract(buf, len, NULL, "1.2.3.4.1", &e, why, sizeof(why)), HIE_OK);
	strcat(e.unique_id, suffix);
	e.entry_uuid[0] = '\0';
	if (patient != NULL)
		snprintf(e.patient_id, sizeof(e.patient_id), "%s", patient);
	if (conf != NULL)
		snprintf(e.confidentiality, sizeof(e.confidentiality), "%s", conf);
	assert_int_equal(reg_put(G.resp.reg, &e, buf, len), HIE_OK);
	if (uid_out != NULL)
		strcpy(uid_out, e.unique_id);
	free(buf);
}

static int
setup(void **state)
{
	struct consent_defaults def = { CONSENT_PERMIT, 1 };
	char                    p[600], *buf, why[256];
	struct reg_entry        e;
	size_t                  len;

	(void) state;
	tg_init(&G, HOME, ASKER);
	assert_int_equal(consent_open(G.env, &def, &cons), HIE_OK);
	G.resp.consent = cons;
	/* The four demo documents (N, tg_init's), one restricted (R) copy,
	 * and one document of another patient. */
	tu_src(p, sizeof(p), "conf/demo/hospital-b-ccd.xml");
	buf = tu_slurp(p, &len);
	assert_int_equal(reg_ccda_extract(buf, len, NULL, "1.2.3.4.1", &e, why, sizeof(why)), HIE_OK);
	strcpy(demo_uid, e.unique_id);
	free(buf);
	register_variant(".R", NULL, "R", restricted_uid);
	register_variant(".O", OTHER, NULL, other_uid);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	consent_close(cons);
	tg_fini(&G);
	return 0;
}

static size_t
count_of(const char *xml, const char *open)
{
	size_t n = 0;
	for (const char *p = xml; (p = strstr(p, open)) != NULL; p += strlen(open))
		n++;
	return n;
}

/* A FindDocuments (ITI-38) or retrieve (ITI-39) request as a member node
 * sends it, with purpose of use in its assertion. */
static char *
request(int retrieve, const char *patient_or_uid, const char *purpose, int object_ref, size_t *len)
{
	static int        seq;
	struct wss_claims claims = { "Dr. Test", "112247003", "asker", ASKER, ASKER, "" };
	char              xml[4096], *out;
	struct soap_msg   m;

	char              val[600];
	size_t            k = 0;

	/* The CX goes into XML text: & escaped. */
	for (const char *c = patient_or_uid; *c != '\0' && k + 6 < sizeof(val); c++) {
		if (*c == '&') {
			memcpy(val + k, "&amp;", 5);
			k += 5;
		} else {
			val[k++] = *c;
		}
	}
	val[k] = '\0';
	snprintf(claims.purpose_of_use, sizeof(claims.purpose_of_use), "%s", purpose);
	seq++;
	if (!retrieve)
		snprintf(xml, sizeof(xml),
		    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/addressing\" "
		    "xmlns:query=\"urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0\" xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\">"
		    "<s:Header><a:Action>urn:ihe:iti:2007:CrossGatewayQuery</a:Action><a:MessageID>urn:uuid:00000000-0000-4000-8000-%012d</a:MessageID></s:Header>"
		    "<s:Body><query:AdhocQueryRequest><query:ResponseOption returnType=\"%s\" returnComposedObjects=\"true\"/>"
		    "<rim:AdhocQuery id=\"urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d\">"
		    "<rim:Slot name=\"$XDSDocumentEntryPatientId\"><rim:ValueList><rim:Value>'%s'</rim:Value></rim:ValueList></rim:Slot>"
		    "<rim:Slot name=\"$XDSDocumentEntryStatus\"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot>"
		    "</rim:AdhocQuery></query:AdhocQueryRequest></s:Body></s:Envelope>",
		    seq, object_ref ? "ObjectRef" : "LeafClass", val);
	else
		snprintf(xml, sizeof(xml),
		    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/addressing\" "
		    "xmlns:xdsb=\"urn:ihe:iti:xds-b:2007\"><s:Header><a:Action>urn:ihe:iti:2007:CrossGatewayRetrieve</a:Action>"
		    "<a:MessageID>urn:uuid:00000000-0000-4000-8000-%012d</a:MessageID></s:Header><s:Body><xdsb:RetrieveDocumentSetRequest>"
		    "<xdsb:DocumentRequest><xdsb:HomeCommunityId>" HOME "</xdsb:HomeCommunityId><xdsb:RepositoryUniqueId>1.2.3.4.1</xdsb:RepositoryUniqueId>"
		    "<xdsb:DocumentUniqueId>%s</xdsb:DocumentUniqueId></xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest></s:Body></s:Envelope>",
		    seq, val);
	assert_int_equal(soap_parse(xml, strlen(xml), NULL, &m), HIE_OK);
	assert_int_equal(wss_sign(G.asker, m.doc, &claims, HOME, 300), HIE_OK);
	assert_int_equal(hie_xml_dump(m.doc, &out, len), HIE_OK);
	soap_msg_free(&m);
	return out;
}

static void
set_policy(const char *patient, const char *policy, const char *from, const char *until, int emergency,
    int restricted, const char *purposes)
{
	struct consent_rule r;
	char                why[200];

	memset(&r, 0, sizeof(r));
	snprintf(r.patient, sizeof(r.patient), "%s", patient);
	assert_int_equal(consent_policy_parse(policy, &r.policy), HIE_OK);
	snprintf(r.from, sizeof(r.from), "%s", from);
	snprintf(r.until, sizeof(r.until), "%s", until);
	r.emergency = emergency;
	r.restricted = restricted;
	snprintf(r.purposes, sizeof(r.purposes), "%s", purposes);
	snprintf(r.by, sizeof(r.by), "test");
	assert_int_equal(consent_set(cons, &r, why, sizeof(why)), HIE_OK);
}

static void
day(int offset, char out[11])
{
	time_t    t = time(NULL) + offset * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static void
test_cases(void **state)
{
	char yesterday[11], tomorrow[11];
	/* policy: NULL = none (the default, permit); dates: Y yesterday, T tomorrow. */
	const struct {
		const char *name, *policy, *from, *until;
		int         emergency, restricted;
		const char *purposes, *purpose;
		int         retrieve; /* 0 query, 1 the N document, 2 the R document */
		int         object_ref;
		int         want_docs; /* ExtrinsicObjects / DocumentResponses */
		int         want_withheld, want_override;
		const char *want_text;
	} cases[] = {
		{ "default permit: N documents, R withheld", NULL, "", "", 1, 0, "", "TREATMENT", 0, 0, 4, 1, 0, "ResponseStatusType:Success" },
		{ "opt-in with restricted: R too", "permit", "", "", 1, 1, "", "TREATMENT", 0, 0, 5, 0, 0, NULL },
		{ "opt-out: Success with no objects", "deny", "", "", 0, 0, "", "TREATMENT", 0, 0, 0, 5, 0, "ResponseStatusType:Success" },
		{ "opt-out: ObjectRef answer empty", "deny", "", "", 0, 0, "", "TREATMENT", 0, 1, 0, 5, 0, NULL },
		{ "opt-out: retrieve is XDSDocumentUniqueIdError", "deny", "", "", 0, 0, "", "TREATMENT", 1, 0, 0, 1, 0, "XDSDocumentUniqueIdError" },
		{ "opt-out, break-the-glass allowed: EMERGENCY sees N", "deny", "", "", 1, 0, "", "EMERGENCY", 0, 0, 4, 1, 1, NULL },
		{ "opt-out, break-the-glass allowed: EMERGENCY retrieves", "deny", "", "", 1, 0, "", "EMERGENCY", 1, 0, 1, 0, 1, NULL },
		{ "opt-out, no break-the-glass: EMERGENCY sees nothing", "deny", "", "", 0, 0, "", "EMERGENCY", 0, 0, 0, 5, 0, NULL },
		{ "opt-out that ended yesterday: default again", "deny", "", "Y", 0, 0, "", "TREATMENT", 0, 0, 4, 1, 0, NULL },
		{ "opt-out from tomorrow: not yet", "deny", "T", "", 0, 0, "", "TREATMENT", 0, 0, 4, 1, 0, NULL },
		{ "opt-in for TREATMENT only: OPERATIONS sees nothing", "permit", "", "", 0, 0, "TREATMENT", "OPERATIONS", 0, 0, 0, 5, 0, NULL },
		{ "opt-in for TREATMENT only: TREATMENT sees all N", "permit", "", "", 0, 0, "TREATMENT", "TREATMENT", 0, 0, 4, 1, 0, NULL },
		{ "R document without restricted consent: as if missing", "permit", "", "", 0, 0, "", "TREATMENT", 2, 0, 0, 1, 0, "XDSDocumentUniqueIdError" },
		{ "R document with restricted consent", "permit", "", "", 0, 1, "", "TREATMENT", 2, 0, 1, 0, 0, NULL },
	};

	(void) state;
	day(-1, yesterday);
	day(1, tomorrow);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xca_outcome out;
		char              *req, *answer;
		size_t             len, alen;
		int                docs;

		consent_clear(cons, DEMO);
		if (cases[i].policy != NULL)
			set_policy(DEMO, cases[i].policy, strcmp(cases[i].from, "T") == 0 ? tomorrow : cases[i].from,
			    strcmp(cases[i].until, "Y") == 0 ? yesterday : cases[i].until, cases[i].emergency,
			    cases[i].restricted, cases[i].purposes);
		req = request(cases[i].retrieve != 0,
		    cases[i].retrieve == 1 ? demo_uid : cases[i].retrieve == 2 ? restricted_uid : DEMO, cases[i].purpose,
		    cases[i].object_ref, &len);
		assert_int_equal(xca_respond(&G.resp, req, len, "t", &answer, &alen, &out), HIE_OK);
		docs = (int) (cases[i].retrieve ? count_of(answer, "<xdsb:DocumentResponse")
		                                : count_of(answer, cases[i].object_ref ? "<rim:ObjectRef" : "<rim:ExtrinsicObject"));
		print_message("  %-58s docs=%d withheld=%d override=%d %s\n", cases[i].name, docs, out.withheld,
		    out.consent_override, out.status);
		if (docs != cases[i].want_docs || out.withheld != cases[i].want_withheld ||
		    out.consent_override != cases[i].want_override ||
		    (cases[i].want_text != NULL && strstr(answer, cases[i].want_text) == NULL))
			fail_msg("%s: docs %d (want %d), withheld %d (want %d), override %d: %.2000s", cases[i].name, docs,
			    cases[i].want_docs, out.withheld, cases[i].want_withheld, out.consent_override, answer);
		/* A withheld patient leaves no trace in the answer. */
		if (cases[i].want_docs == 0 && cases[i].retrieve == 0)
			assert_null(strstr(answer, "DEMO-1001"));
		assert_string_not_equal(out.status, "fault");
		free(req);
		free(answer);
	}
	consent_clear(cons, DEMO);
}

/* The network default deny: only patients who opted in are shared. */
static void
test_default_deny(void **state)
{
	struct consent_defaults def = { CONSENT_DENY, 0 };
	consent                *deny;
	struct xca_outcome      out;
	char                   *req, *answer;
	size_t                  len, alen;

	(void) state;
	assert_int_equal(consent_open(G.env, &def, &deny), HIE_OK);
	G.resp.consent = deny;
	req = request(0, DEMO, "TREATMENT", 0, &len);
	assert_int_equal(xca_respond(&G.resp, req, len, "t", &answer, &alen, &out), HIE_OK);
	assert_int_equal(count_of(answer, "<rim:ExtrinsicObject"), 0);
	free(req);
	free(answer);
	set_policy(OTHER, "permit", "", "", 0, 0, "");
	req = request(0, OTHER, "TREATMENT", 0, &len);
	assert_int_equal(xca_respond(&G.resp, req, len, "t", &answer, &alen, &out), HIE_OK);
	assert_int_equal(count_of(answer, "<rim:ExtrinsicObject"), 1);
	assert_non_null(strstr(out.documents, other_uid));
	free(req);
	free(answer);
	G.resp.consent = cons;
	consent_close(deny);
	consent_clear(cons, OTHER);
}

static hie_err
count(void *arg, const struct consent_rule *rule)
{
	(void) rule;
	(*(size_t *) arg)++;
	return HIE_OK;
}

/* The store: set, get, list, clear, and what it refuses. */
static void
test_store(void **state)
{
	struct consent_rule     r, got;
	struct consent_decision d;
	char                    why[200];
	size_t                  n = 0;

	(void) state;
	memset(&r, 0, sizeof(r));
	strcpy(r.patient, "not a cx");
	assert_int_equal(consent_set(cons, &r, why, sizeof(why)), HIE_EINVAL);
	strcpy(r.patient, DEMO);
	strcpy(r.from, "2026-13-01");
	assert_int_equal(consent_set(cons, &r, why, sizeof(why)), HIE_EINVAL);
	strcpy(r.from, "2027-01-01");
	strcpy(r.until, "2026-01-01");
	assert_int_equal(consent_set(cons, &r, why, sizeof(why)), HIE_EINVAL);
	strcpy(r.until, "");
	strcpy(r.by, "tab\there");
	assert_int_equal(consent_set(cons, &r, why, sizeof(why)), HIE_EINVAL);
	strcpy(r.by, "officer");
	r.policy = CONSENT_DENY;
	strcpy(r.purposes, "TREATMENT,EMERGENCY");
	assert_int_equal(consent_set(cons, &r, why, sizeof(why)), HIE_OK);
	assert_int_equal(consent_get(cons, DEMO, &got), HIE_OK);
	assert_int_equal(got.policy, CONSENT_DENY);
	assert_string_equal(got.from, "2027-01-01");
	assert_string_equal(got.purposes, "TREATMENT,EMERGENCY");
	assert_string_equal(got.by, "officer");
	assert_true(got.updated[0] != '\0');
	assert_int_equal(consent_get(cons, OTHER, &got), HIE_ENOTFOUND);
	assert_int_equal(consent_each(cons, count, &n), HIE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(consent_clear(cons, DEMO), HIE_OK);
	assert_int_equal(consent_clear(cons, DEMO), HIE_ENOTFOUND);
	assert_int_equal(consent_allows(cons, "", NULL, time(NULL), &d), 0);
	assert_int_equal(consent_allows(cons, DEMO, NULL, time(NULL), &d), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_default_deny),
		cmocka_unit_test(test_store),
	};
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
