/* tests/unit/test_certs.c -- the CA lifecycle with real OpenSSL objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "certs/cert.h"
#include "testutil.h"

static char dir[256], ca[300], other[300];
#define PLEN 700

static int
setup(void **state)
{
	(void) state;
	tu_tmpdir(dir);
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(cert_ca_init(ca, "test CA", 30), HIE_OK);
	assert_int_equal(cert_ca_init(other, "rogue CA", 30), HIE_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	tu_rmtree(dir);
	return 0;
}

static void
p(char *out, const char *a, const char *b)
{
	assert_true(snprintf(out, PLEN, "%s/%s", a, b) < PLEN);
}

static void
test_ca(void **state)
{
	char        key[PLEN];
	struct stat sb;

	(void) state;
	assert_int_equal(cert_ca_init(ca, "again", 30), HIE_EEXIST);
	p(key, ca, "ca.key");
	assert_int_equal(stat(key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void
test_issue_verify(void **state)
{
	char node[PLEN], crt[PLEN], cacrt[PLEN], why[256], comm[128];

	(void) state;
	p(node, dir, "n1");
	p(crt, node, "node.crt");
	p(cacrt, ca, "ca.crt");
	assert_int_equal(cert_issue(ca, "hospital-b", "urn:oid:1.2.3.5", 30, node), HIE_OK);
	assert_int_equal(cert_verify(cacrt, NULL, crt, "urn:oid:1.2.3.5", why, sizeof(why)), HIE_OK);
	assert_int_equal(cert_community(crt, comm, sizeof(comm)), HIE_OK);
	assert_string_equal(comm, "urn:oid:1.2.3.5");
	assert_int_equal(cert_verify(cacrt, NULL, crt, "urn:oid:9.9", why, sizeof(why)), HIE_ECERT);
	assert_non_null(strstr(why, "belongs to community urn:oid:1.2.3.5"));
	p(cacrt, other, "ca.crt");
	assert_int_equal(cert_verify(cacrt, NULL, crt, NULL, why, sizeof(why)), HIE_ECERT);
	assert_non_null(strstr(why, "not issued by the network CA"));
}

static void
test_csr_flow(void **state)
{
	char key[PLEN], csr[PLEN], crt[PLEN], cacrt[PLEN], why[256];

	(void) state;
	p(key, dir, "joiner.key");
	p(csr, dir, "joiner.csr");
	p(crt, dir, "joiner.crt");
	p(cacrt, ca, "ca.crt");
	assert_int_equal(cert_key_generate(key), HIE_OK);
	assert_int_equal(cert_key_generate(key), HIE_EEXIST); /* never overwritten */
	assert_int_equal(cert_csr_create(key, "bad name!", "urn:oid:1.2", csr), HIE_EINVAL);
	assert_int_equal(cert_csr_create(key, "joiner", "not-an-urn", csr), HIE_EINVAL);
	assert_int_equal(cert_csr_create(key, "joiner", "urn:oid:1.2.3.6", csr), HIE_OK);
	assert_int_equal(cert_csr_sign(ca, csr, 30, crt), HIE_OK);
	assert_int_equal(cert_verify(cacrt, NULL, crt, "urn:oid:1.2.3.6", why, sizeof(why)), HIE_OK);
	tu_write(csr, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
	assert_int_equal(cert_csr_sign(ca, csr, 30, crt), HIE_ECERT);
}

static void
test_revoke(void **state)
{
	char node[PLEN], crt[PLEN], cacrt[PLEN], crl[PLEN], why[256];

	(void) state;
	p(node, dir, "n2");
	p(crt, node, "node.crt");
	p(cacrt, ca, "ca.crt");
	p(crl, ca, "crl.pem");
	assert_int_equal(cert_issue(ca, "hospital-c", "urn:oid:1.2.3.7", 30, node), HIE_OK);
	assert_int_equal(cert_crl_write(ca, 30, NULL), HIE_OK);
	assert_int_equal(cert_verify(cacrt, crl, crt, NULL, why, sizeof(why)), HIE_OK);
	assert_int_equal(cert_revoke(ca, crt), HIE_OK);
	assert_int_equal(cert_crl_write(ca, 30, NULL), HIE_OK);
	assert_int_equal(cert_verify(cacrt, crl, crt, NULL, why, sizeof(why)), HIE_ECERT);
	assert_string_equal(why, "revoked by the network CA");
}

static void
test_rotate(void **state)
{
	char node[PLEN], crt[PLEN], old[PLEN], cacrt[PLEN], why[256], comm[128], *a, *b;

	(void) state;
	p(node, dir, "n3");
	p(crt, node, "node.crt");
	p(old, node, "node.crt.old");
	p(cacrt, ca, "ca.crt");
	assert_int_equal(cert_issue(ca, "hospital-d", "urn:oid:1.2.3.8", 30, node), HIE_OK);
	a = tu_slurp(crt, NULL);
	assert_int_equal(cert_rotate(ca, node, 30), HIE_OK);
	b = tu_slurp(crt, NULL);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	/* Both trusted; the new one names the same community. */
	assert_int_equal(cert_verify(cacrt, NULL, crt, "urn:oid:1.2.3.8", why, sizeof(why)), HIE_OK);
	assert_int_equal(cert_verify(cacrt, NULL, old, "urn:oid:1.2.3.8", why, sizeof(why)), HIE_OK);
	assert_int_equal(cert_community(crt, comm, sizeof(comm)), HIE_OK);
	assert_string_equal(comm, "urn:oid:1.2.3.8");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca),
		cmocka_unit_test(test_issue_verify),
		cmocka_unit_test(test_csr_flow),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_rotate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
