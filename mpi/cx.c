/* mpi/cx.c -- HL7 CX patient identifiers as XDS writes them. */
#include "mpi/mpi.h"

#include <stdio.h>
#include <string.h>

#include "node/config.h"

hie_err
mpi_cx_parse(const char *s, struct mpi_cx *out)
{
	const char *caret = strstr(s, "^^^&");
	const char *amp2;
	size_t      idlen, alen;

	memset(out, 0, sizeof(*out));
	if (caret == NULL)
		return HIE_EINVAL;
	idlen = (size_t) (caret - s);
	if (idlen == 0 || idlen >= sizeof(out->id) || memchr(s, '&', idlen) != NULL ||
	    memchr(s, '^', idlen) != NULL || memchr(s, '~', idlen) != NULL)
		return HIE_EINVAL;
	caret += 4;
	if ((amp2 = strchr(caret, '&')) == NULL || strcmp(amp2, "&ISO") != 0)
		return HIE_EINVAL;
	alen = (size_t) (amp2 - caret);
	if (alen == 0 || alen >= sizeof(out->authority))
		return HIE_EINVAL;
	memcpy(out->id, s, idlen);
	memcpy(out->authority, caret, alen);
	if (!node_is_oid(out->authority))
		return HIE_EINVAL;
	for (const char *p = out->id; *p; p++)
		if ((unsigned char) *p < 0x20)
			return HIE_EINVAL;
	return HIE_OK;
}

hie_err
mpi_cx_format(const struct mpi_cx *cx, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s^^^&%s&ISO", cx->id, cx->authority);
	return n > 0 && (size_t) n < cap ? HIE_OK : HIE_ETOOBIG;
}
