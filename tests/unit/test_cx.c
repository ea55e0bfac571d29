/* tests/unit/test_cx.c -- patient identifiers (HL7 CX) are parsed strictly. */
#include <string.h>

#include "mpi/mpi.h"
#include "testutil.h"

static void
test_cx(void **state)
{
	static const struct {
		const char *in;
		hie_err     want;
	} cases[] = {
		{ "DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO", HIE_OK },
		{ "1^^^&1.2&ISO", HIE_OK },
		{ "^^^&1.2&ISO", HIE_EINVAL },
		{ "X^^^&1.2&DNS", HIE_EINVAL },
		{ "X^^^&not-an-oid&ISO", HIE_EINVAL },
		{ "X^^^&1.2", HIE_EINVAL },
		{ "X&Y^^^&1.2&ISO", HIE_EINVAL },
		{ "X^^^&1.2&ISO&more", HIE_EINVAL },
		{ "plain", HIE_EINVAL },
		{ "", HIE_EINVAL },
	};
	struct mpi_cx cx;
	char          back[300];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hie_err e = mpi_cx_parse(cases[i].in, &cx);
		if (e != cases[i].want)
			fail_msg("'%s': got %s", cases[i].in, hie_errname(e));
		if (e == HIE_OK) {
			assert_int_equal(mpi_cx_format(&cx, back, sizeof(back)), HIE_OK);
			assert_string_equal(back, cases[i].in);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_cx) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
