/*
 * tests/unit/test_xca_cache.c -- the per-patient result cache: hits, keys
 * kept apart, expiry, explicit invalidation, and its bounds.
 */
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xca/cache.h"

#define P1 "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO"
#define P2 "DEMO-1002^^^&1.3.6.1.4.1.21367.13.20.3000&ISO"

static void
expect(xca_cache *c, const char *patient, const char *key, const char *want)
{
	char   *data;
	size_t  len;
	int64_t age;

	if (want == NULL) {
		assert_int_equal(xca_cache_get(c, patient, key, &data, &len, &age), HIE_ENOTFOUND);
		assert_null(data);
		return;
	}
	assert_int_equal(xca_cache_get(c, patient, key, &data, &len, &age), HIE_OK);
	assert_int_equal(len, strlen(want));
	assert_string_equal(data, want);
	assert_true(age >= 0);
	free(data);
}

static void
test_hit_and_keys(void **state)
{
	xca_cache *c;

	(void) state;
	assert_int_equal(xca_cache_new(60, 100, 1 << 20, &c), HIE_OK);
	assert_non_null(c);
	expect(c, P1, "type=18842-5|Dr. A", NULL);
	assert_int_equal(xca_cache_put(c, P1, "type=18842-5|Dr. A", "{\"a\":1}", 7), HIE_OK);
	expect(c, P1, "type=18842-5|Dr. A", "{\"a\":1}");
	/* Another filter, requester or patient is another entry. */
	expect(c, P1, "type=34133-9|Dr. A", NULL);
	expect(c, P1, "type=18842-5|Dr. B", NULL);
	expect(c, P2, "type=18842-5|Dr. A", NULL);
	/* The same key again replaces. */
	assert_int_equal(xca_cache_put(c, P1, "type=18842-5|Dr. A", "{\"a\":2}", 7), HIE_OK);
	expect(c, P1, "type=18842-5|Dr. A", "{\"a\":2}");
	assert_int_equal(xca_cache_count(c), 1);
	xca_cache_free(c);
}

static void
test_invalidate(void **state)
{
	xca_cache *c;

	(void) state;
	assert_int_equal(xca_cache_new(60, 100, 1 << 20, &c), HIE_OK);
	assert_int_equal(xca_cache_put(c, P1, "k1", "one", 3), HIE_OK);
	assert_int_equal(xca_cache_put(c, P1, "k2", "two", 3), HIE_OK);
	assert_int_equal(xca_cache_put(c, P2, "k1", "other", 5), HIE_OK);
	assert_int_equal(xca_cache_invalidate(c, P1), 2);
	expect(c, P1, "k1", NULL);
	expect(c, P1, "k2", NULL);
	expect(c, P2, "k1", "other");
	assert_int_equal(xca_cache_invalidate(c, P1), 0);
	xca_cache_free(c);
}

static void
test_expiry(void **state)
{
	xca_cache *c;

	(void) state;
	assert_int_equal(xca_cache_new(1, 100, 1 << 20, &c), HIE_OK);
	assert_int_equal(xca_cache_put(c, P1, "k", "v", 1), HIE_OK);
	expect(c, P1, "k", "v");
	nng_msleep(1100);
	expect(c, P1, "k", NULL);
	xca_cache_free(c);
}

static void
test_bounds(void **state)
{
	xca_cache *c;
	char       key[32];

	(void) state;
	/* Three entries, 10 bytes: the oldest go first. */
	assert_int_equal(xca_cache_new(60, 3, 10, &c), HIE_OK);
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(xca_cache_put(c, P1, key, "ab", 2), HIE_OK);
	}
	assert_int_equal(xca_cache_count(c), 3);
	expect(c, P1, "k0", NULL);
	expect(c, P1, "k1", NULL);
	expect(c, P1, "k4", "ab");
	assert_int_equal(xca_cache_put(c, P1, "big", "0123456789", 10), HIE_OK);
	assert_int_equal(xca_cache_count(c), 1);
	assert_int_equal(xca_cache_put(c, P1, "huge", "0123456789a", 11), HIE_ETOOBIG);
	expect(c, P1, "huge", NULL);
	xca_cache_free(c);
}

static void
test_off(void **state)
{
	xca_cache *c;
	char      *data;
	size_t     len;

	(void) state;
	/* ttl 0: no cache, and the calls accept that. */
	assert_int_equal(xca_cache_new(0, 100, 1 << 20, &c), HIE_OK);
	assert_null(c);
	assert_int_equal(xca_cache_put(c, P1, "k", "v", 1), HIE_OK);
	assert_int_equal(xca_cache_get(c, P1, "k", &data, &len, NULL), HIE_ENOTFOUND);
	assert_int_equal(xca_cache_invalidate(c, P1), 0);
	xca_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_keys),
		cmocka_unit_test(test_invalidate),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
