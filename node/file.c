/* node/file.c -- bounded reads and crash-safe writes (tmp, fsync, rename). */
#include "node/hie.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

hie_err
hie_read_file(const char *path, size_t max, char **out, size_t *len)
{
	hie_buf b;
	char    chunk[65536];
	ssize_t n;
	hie_err e = HIE_OK;
	int     fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? HIE_ENOTFOUND : HIE_EIO;
	hie_buf_init(&b, max);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = HIE_EIO;
			break;
		}
		if ((e = hie_buf_add(&b, chunk, (size_t) n)) != HIE_OK)
			break;
	}
	close(fd);
	if (e != HIE_OK) {
		hie_buf_free(&b);
		return e;
	}
	*out = hie_buf_take(&b, len);
	return *out != NULL ? HIE_OK : HIE_ENOMEM;
}

hie_err
hie_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	char        tmp[4096], dir[4096];
	const char *p = data;
	int         fd, dfd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int) getpid()) >= (int) sizeof(tmp))
		return HIE_EINVAL;
	/* O_EXCL: never follow or reuse a file someone else placed there. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
		return HIE_EIO;
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t) n;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return HIE_EIO;
	}
	hie_strlcpy(dir, path, sizeof(dir));
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return HIE_OK;
fail:
	close(fd);
	unlink(tmp);
	return HIE_EIO;
}
