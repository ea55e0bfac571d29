/*
 * tests/unit/test_replay.c -- the replay cache (node/replay.c) on a real
 * LMDB in a temp dir, as data: each scenario is a cache of some size and a
 * list of calls to hie_replay_check_n, each with the ids of one message,
 * when they expire (seconds from now; negative: already expired) and the
 * answer it must get.  What the cases pin down: an id is refused while it
 * lives and recorded again once expired; the ids of one message are
 * recorded all or none; the cache never holds more than its size -- it
 * drops expired entries to make room and otherwise refuses (fail closed),
 * telling a replay as a replay even then; it survives a reopen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/replay.h"
#include "testutil.h"

#define MAXIDS 4
#define REOPEN "*reopen*" /* a step that closes and reopens the cache */

struct step {
	const char *ids[MAXIDS]; /* NULL-terminated */
	int         ttl[MAXIDS];
	hie_err     want;
	size_t      which; /* for errors: the id it is about */
};

struct scenario {
	const char *name;
	size_t      max;
	struct step steps[16];
};

static char long_id[258];

static const struct scenario scenarios[] = {
	{ "record, replay, all or none", 10, {
		{ { "m1" }, { 600 }, HIE_OK, 0 },
		{ { "m1" }, { 600 }, HIE_EREPLAY, 0 },
		{ { "a1", "m2" }, { 600, 600 }, HIE_OK, 0 },
		{ { "m3", "a1" }, { 600, 600 }, HIE_EREPLAY, 1 },
		{ { "m3" }, { 600 }, HIE_OK, 0 },           /* not recorded by the refused call */
		{ { "x", "x" }, { 600, 600 }, HIE_EREPLAY, 1 }, /* twice in one message */
		{ { "x" }, { 600 }, HIE_OK, 0 },
		{ { "e1" }, { -10 }, HIE_OK, 0 },
		{ { "e1" }, { 600 }, HIE_OK, 0 },           /* expired: recorded again */
		{ { "e1" }, { 600 }, HIE_EREPLAY, 0 },
		{ { REOPEN }, { 0 }, HIE_OK, 0 },
		{ { "m1" }, { 600 }, HIE_EREPLAY, 0 },       /* survives a reopen */
		{ { "ok", "" }, { 600, 600 }, HIE_EINVAL, 1 },
		{ { "ok", long_id }, { 600, 600 }, HIE_EINVAL, 1 },
		{ { "ok" }, { 600 }, HIE_OK, 0 },           /* the invalid calls recorded nothing */
	} },
	{ "full of live entries", 3, {
		{ { "a", "b", "c" }, { 600, 600, 600 }, HIE_OK, 0 },
		{ { "d" }, { 600 }, HIE_EBUSY, 0 },
		{ { "a" }, { 600 }, HIE_EREPLAY, 0 },        /* a replay is told as one, full or not */
		{ { "d" }, { 600 }, HIE_EBUSY, 0 },          /* the refused call recorded nothing */
	} },
	{ "expired entries make room", 3, {
		{ { "a", "b" }, { -10, -10 }, HIE_OK, 0 },
		{ { "c" }, { 600 }, HIE_OK, 0 },
		{ { "d", "e" }, { 600, 600 }, HIE_OK, 0 },   /* full at d: a and b dropped */
		{ { "f" }, { 600 }, HIE_EBUSY, 0 },
		{ { "a" }, { 600 }, HIE_EBUSY, 0 },          /* dropped, and no room */
		{ { "c" }, { 600 }, HIE_EREPLAY, 0 },
	} },
	{ "room made within a message", 3, {
		{ { "a", "b" }, { -10, -10 }, HIE_OK, 0 },
		{ { "c", "d", "e" }, { 600, 600, 600 }, HIE_OK, 0 },
		{ { "c", "d", "e" }, { 600, 600, 600 }, HIE_EREPLAY, 0 },
		{ { "g", "f" }, { 600, 600 }, HIE_EBUSY, 0 },
	} },
};

static void
run(const struct scenario *sc)
{
	char        dir[256], path[300];
	hie_replay *rc;
	time_t      now = time(NULL);

	tu_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/replay", dir);
	assert_int_equal(hie_replay_open(path, sc->max, &rc), HIE_OK);
	for (size_t s = 0; s < sizeof(sc->steps) / sizeof(sc->steps[0]) && sc->steps[s].ids[0] != NULL; s++) {
		const struct step *st = &sc->steps[s];
		time_t             exp[MAXIDS];
		size_t             n = 0, which = 99;
		hie_err            e;
		if (strcmp(st->ids[0], REOPEN) == 0) {
			hie_replay_close(rc);
			assert_int_equal(hie_replay_open(path, sc->max, &rc), HIE_OK);
			continue;
		}
		while (n < MAXIDS && st->ids[n] != NULL) {
			exp[n] = now + st->ttl[n];
			n++;
		}
		e = hie_replay_check_n(rc, st->ids, exp, n, &which);
		if (e != st->want || (e != HIE_OK && which != st->which)) {
			print_error("%s, step %zu (%s%s): got %s (which %zu), want %s (which %zu)\n", sc->name, s, st->ids[0],
			    n > 1 ? ", ..." : "", hie_strerror(e), which, hie_strerror(st->want), st->which);
			fail();
		}
	}
	hie_replay_close(rc);
	tu_rmtree(dir);
}

static void
test_scenarios(void **state)
{
	(void) state;
	memset(long_id, 'i', 257);
	long_id[257] = '\0';
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run(&scenarios[i]);
}

/* hie_replay_check is hie_replay_check_n with one id. */
static void
test_single(void **state)
{
	char        dir[256], path[300];
	hie_replay *rc;

	(void) state;
	tu_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/replay", dir);
	assert_int_equal(hie_replay_open(path, 10, &rc), HIE_OK);
	assert_int_equal(hie_replay_check(rc, "urn:uuid:1", time(NULL) + 60), HIE_OK);
	assert_int_equal(hie_replay_check(rc, "urn:uuid:1", time(NULL) + 60), HIE_EREPLAY);
	hie_replay_close(rc);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_single),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
