/*
 * tests/unit/test_txn.c -- transaction tests as data: each file in
 * tests/data/txn is a SOAP request whose first comment says what the
 * responding gateway must answer:
 *   <!-- expect: [sign=no;] status=ok|error|fault; contains=TEXT; count=ELEMENT:N -->
 * The runner signs the request as a member node would (unless sign=no),
 * hands it to a responder with real keys, replay cache and a registry
 * holding the four demo documents, and checks the answer.  Adding a case
 * is adding a file.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_fixture.h"

#define HOME "urn:oid:1.2.3.4"
#define ASKER "urn:oid:1.2.3.1"

static struct tg_gateway G;

static int
setup(void **state)
{
	(void) state;
	tg_init(&G, HOME, ASKER);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	tg_fini(&G);
	return 0;
}

static size_t
count_elements(const char *xml, const char *name)
{
	char        open[128];
	size_t      n = 0, l = (size_t) snprintf(open, sizeof(open), "<%s", name);
	const char *p = xml;

	while ((p = strstr(p, open)) != NULL) {
		p += l;
		if (*p == ' ' || *p == '>' || *p == '/')
			n++;
	}
	return n;
}

/* The request as a member node sends it: signed, with an assertion. */
static char *
sign_request(const char *xml, size_t len, size_t *out_len)
{
	static const struct wss_claims claims = { "Dr. Test", "112247003", "asker", ASKER, ASKER, "TREATMENT" };
	struct soap_msg                m;
	char                          *out;

	assert_int_equal(soap_parse(xml, len, NULL, &m), HIE_OK);
	assert_int_equal(wss_sign(G.asker, m.doc, &claims, HOME, 300), HIE_OK);
	assert_int_equal(hie_xml_dump(m.doc, &out, out_len), HIE_OK);
	soap_msg_free(&m);
	return out;
}

/* Checks one expectation item; returns 0 and says why on a mismatch. */
static int
check_item(const char *item, const struct xca_outcome *out, const char *answer, char *why, size_t cap)
{
	if (strncmp(item, "status=", 7) == 0) {
		if (strcmp(item + 7, out->status) != 0) {
			snprintf(why, cap, "status %s, want %s (%s)", out->status, item + 7, out->detail);
			return 0;
		}
	} else if (strncmp(item, "contains=", 9) == 0) {
		if (strstr(answer, item + 9) == NULL) {
			snprintf(why, cap, "answer lacks '%s'", item + 9);
			return 0;
		}
	} else if (strncmp(item, "count=", 6) == 0) {
		char        name[128];
		const char *colon = strrchr(item, ':');
		size_t      want = colon ? strtoul(colon + 1, NULL, 10) : 0, got;
		snprintf(name, sizeof(name), "%.*s", (int) (colon - item - 6), item + 6);
		if ((got = count_elements(answer, name)) != want) {
			snprintf(why, cap, "%zu %s, want %zu", got, name, want);
			return 0;
		}
	} else if (strcmp(item, "sign=no") != 0) {
		snprintf(why, cap, "unknown expectation '%s'", item);
		return 0;
	}
	return 1;
}

static int
run_case(const char *path, const char *name)
{
	char              *xml, *req, *answer, expect[512], why[300] = "", *save = NULL;
	const char        *e0, *e1;
	size_t             len, rlen, alen;
	struct xca_outcome out;
	int                ok = 1;

	xml = tu_slurp(path, &len);
	if ((e0 = strstr(xml, "<!-- expect:")) == NULL || (e1 = strstr(e0, "-->")) == NULL)
		fail_msg("%s: no expect comment", name);
	snprintf(expect, sizeof(expect), "%.*s", (int) (e1 - e0 - 12), e0 + 12);
	req = strstr(expect, "sign=no") ? strdup(xml) : sign_request(xml, len, &rlen);
	rlen = strlen(req);
	assert_int_equal(xca_respond(&G.resp, req, rlen, "txn", &answer, &alen, &out), HIE_OK);
	for (char *item = strtok_r(expect, ";", &save); item != NULL && ok; item = strtok_r(NULL, ";", &save)) {
		while (*item == ' ')
			item++;
		for (char *end = item + strlen(item); end > item && end[-1] == ' ';)
			*--end = '\0';
		if (*item != '\0')
			ok = check_item(item, &out, answer, why, sizeof(why));
	}
	print_message("  %-36s %s%s%s\n", name, ok ? "ok" : "FAIL", ok ? "" : ": ", why);
	free(answer);
	free(req);
	free(xml);
	return ok;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void
test_transactions(void **state)
{
	char            d[512];
	struct dirent **names;
	int             n, failed = 0, ran = 0;

	(void) state;
	tu_src(d, sizeof(d), "tests/data/txn");
	n = scandir(d, &names, NULL, by_name);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);
		if (l > 4 && strcmp(names[i]->d_name + l - 4, ".xml") == 0) {
			char path[1024];
			snprintf(path, sizeof(path), "%s/%s", d, names[i]->d_name);
			failed += !run_case(path, names[i]->d_name);
			ran++;
		}
		free(names[i]);
	}
	free(names);
	print_message("%d transaction cases, %d failed\n", ran, failed);
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_transactions) };
	hie_log_set_level(HIE_LOG_ERR);
	hie_xml_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
