/* tests/unit/testutil.c -- shared helpers for the unit tests. */
#include "testutil.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void
tu_tmpdir(char out[256])
{
	const char *t = getenv("TMPDIR");
	snprintf(out, 256, "%s/hie-test-XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(out));
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) flag;
	(void) ftw;
	return remove(p);
}

void
tu_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
tu_src(char *out, size_t cap, const char *rel)
{
	const char *s = getenv("HIE_SOURCE_DIR");
	char        copy[1024];

	snprintf(copy, sizeof(copy), "%s", rel); /* rel may be out */
	/* Truncation shows up as a missing file in the test that asked. */
	if (snprintf(out, cap, "%s/%s", s ? s : ".", copy) < 0)
		out[0] = '\0';
}

char *
tu_slurp(const char *path, size_t *len)
{
	char  *buf;
	size_t n;
	assert_int_equal(hie_read_file(path, 64u << 20, &buf, &n), HIE_OK);
	if (len != NULL)
		*len = n;
	return buf;
}

void
tu_write(const char *path, const char *text)
{
	assert_int_equal(hie_write_file(path, text, strlen(text), 0644), HIE_OK);
}

void
tu_load_demo(reg *r, const char *repository_id, size_t count)
{
	static const char *const demo[] = { "hospital-b-ccd.xml", "hospital-b-discharge.xml",
		"hospital-c-referral.xml", "hospital-c-careplan.xml" };

	assert_true(count <= sizeof(demo) / sizeof(demo[0]));
	for (size_t i = 0; i < count; i++) {
		char             path[512], why[256], *buf;
		size_t           len;
		struct reg_entry e;
		snprintf(path, sizeof(path), "conf/demo/%s", demo[i]);
		tu_src(path, sizeof(path), path);
		buf = tu_slurp(path, &len);
		assert_int_equal(reg_ccda_extract(buf, len, NULL, repository_id, &e, why, sizeof(why)), HIE_OK);
		assert_int_equal(reg_put(r, &e, buf, len), HIE_OK);
		free(buf);
	}
}

wss_signer *
tu_signer(const char *node_dir)
{
	char        path[1024], *c, *k;
	wss_signer *s;

	snprintf(path, sizeof(path), "%s/node.crt", node_dir);
	c = tu_slurp(path, NULL);
	snprintf(path, sizeof(path), "%s/node.key", node_dir);
	k = tu_slurp(path, NULL);
	assert_int_equal(wss_signer_new(c, k, &s), HIE_OK);
	free(c);
	free(k);
	return s;
}

int
tu_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t          sl = sizeof(sa);
	int                fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}
