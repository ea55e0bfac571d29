/*
 * tests/unit/test_ids.c -- message ids and request ids (node/log.c): their
 * form, that none repeats across many calls (their random bytes come from
 * a per-thread buffer refilled from RAND_bytes, so the calls cross many
 * refills) or across threads, and that a forked child does not hand out
 * the ids its parent is about to.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define N 5000 /* ids per thread: 16 bytes each, 156 refills of 512 */

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* "urn:uuid:" and a version 4, RFC 4122 variant UUID in lower case. */
static int
uuid_ok(const char *u)
{
	if (strlen(u) != 45 || strncmp(u, "urn:uuid:", 9) != 0)
		return 0;
	u += 9;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return 0;
		} else if (!is_hex(u[i])) {
			return 0;
		}
	}
	return u[14] == '4' && strchr("89ab", u[19]) != NULL;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void *
draw(void *arg)
{
	char(*ids)[46] = arg;
	for (int i = 0; i < N; i++)
		hie_urn_uuid(ids[i]);
	return NULL;
}

/* Form, and no repeat among 4 x N ids drawn on 4 threads at once. */
static void
test_unique(void **state)
{
	char(*ids)[46] = calloc(4 * N, 46);
	pthread_t t[4];

	(void) state;
	assert_non_null(ids);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, draw, ids + i * N), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4 * N; i++)
		if (!uuid_ok(ids[i]))
			fail_msg("not a urn:uuid: %s", ids[i]);
	qsort(ids, 4 * N, 46, cmp);
	for (int i = 1; i < 4 * N; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("repeated: %s", ids[i]);
	free(ids);
}

static void
test_request_id(void **state)
{
	char a[33], b[33];

	(void) state;
	hie_request_id(a);
	hie_request_id(b);
	assert_int_equal(strlen(a), 32);
	for (int i = 0; i < 32; i++)
		assert_true(is_hex(a[i]));
	assert_string_not_equal(a, b);
}

/* The parent's buffer is half used when it forks: the child's next id and
 * the parent's must differ (without the atfork handler they were equal). */
static void
test_fork(void **state)
{
	char  mine[46], childs[46] = "", warm[46];
	int   fd[2], st;
	pid_t pid;

	(void) state;
	hie_urn_uuid(warm);
	assert_int_equal(pipe(fd), 0);
	if ((pid = fork()) == 0) {
		char id[46];
		hie_urn_uuid(id);
		_exit(write(fd[1], id, sizeof(id)) == (ssize_t) sizeof(id) ? 0 : 1);
	}
	assert_true(pid > 0);
	hie_urn_uuid(mine);
	assert_int_equal(read(fd[0], childs, sizeof(childs)), (ssize_t) sizeof(childs));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd[0]);
	close(fd[1]);
	assert_true(uuid_ok(childs));
	assert_string_not_equal(mine, childs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_fork),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
