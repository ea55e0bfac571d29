/* tests/unit/test_codec.c -- base64 and SHA-1, including what peers get wrong. */
#include <stdlib.h>
#include <string.h>

#include "node/hie.h"
#include "testutil.h"

static void
test_base64(void **state)
{
	static const struct {
		const char *in, *b64;
	} vectors[] = { /* RFC 4648 section 10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char  *out;
	size_t n;

	(void) state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		assert_int_equal(hie_base64_encode(vectors[i].in, strlen(vectors[i].in), &out, &n), HIE_OK);
		assert_string_equal(out, vectors[i].b64);
		free(out);
		assert_int_equal(hie_base64_decode(vectors[i].b64, strlen(vectors[i].b64), 100, &out, &n), HIE_OK);
		assert_int_equal(n, strlen(vectors[i].in));
		assert_memory_equal(out, vectors[i].in, n);
		free(out);
	}
	/* Line breaks as XML serialisers write them are fine. */
	assert_int_equal(hie_base64_decode("Zm9v\r\n YmFy\n", 12, 100, &out, &n), HIE_OK);
	assert_int_equal(n, 6);
	free(out);
	assert_int_equal(hie_base64_decode("Zm9v!mFy", 8, 100, &out, &n), HIE_EINVAL);
	assert_int_equal(hie_base64_decode("Zm9", 3, 100, &out, &n), HIE_EINVAL);
	assert_int_equal(hie_base64_decode("Zg==Zg==", 8, 100, &out, &n), HIE_EINVAL);
	assert_int_equal(hie_base64_decode("Zm9vYmFy", 8, 5, &out, &n), HIE_ETOOBIG);
}

static void
test_sha1(void **state)
{
	char h[41];
	(void) state;
	hie_sha1_hex("abc", 3, h);
	assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

static void
test_buf_limits(void **state)
{
	hie_buf b;
	(void) state;
	hie_buf_init(&b, 8);
	assert_int_equal(hie_buf_addstr(&b, "12345678"), HIE_OK);
	assert_int_equal(hie_buf_addstr(&b, "9"), HIE_ETOOBIG);
	assert_int_equal(b.len, 8);
	hie_buf_free(&b);
	hie_buf_init(&b, 64);
	assert_int_equal(hie_buf_json_str(&b, "a\"b\\\n\x01"), HIE_OK);
	assert_string_equal(b.data, "\"a\\\"b\\\\\\n\\u0001\"");
	hie_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_buf_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
