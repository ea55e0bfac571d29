/* node/codec.c -- base64 and the XDS SHA-1, in one place for every module. */
#include "node/hie.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

hie_err
hie_base64_encode(const void *in, size_t len, char **out, size_t *outlen)
{
	size_t n = 4 * ((len + 2) / 3);

	*out = NULL;
	if (len > (size_t) INT32_MAX / 2)
		return HIE_ETOOBIG;
	if ((*out = malloc(n + 1)) == NULL)
		return HIE_ENOMEM;
	EVP_EncodeBlock((unsigned char *) *out, in, (int) len);
	(*out)[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return HIE_OK;
}

hie_err
hie_base64_decode(const char *in, size_t len, size_t max, char **out, size_t *outlen)
{
	char  *clean, *dst;
	size_t n = 0, pad = 0;
	int    got;

	*out = NULL;
	if (len / 4 * 3 > max + 3 || len > (size_t) INT32_MAX)
		return HIE_ETOOBIG;
	if ((clean = malloc(len + 1)) == NULL)
		return HIE_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) in[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		        c == '/' || c == '=') ||
		    (pad > 0 && c != '=')) {
			free(clean);
			return HIE_EINVAL;
		}
		if (c == '=')
			pad++;
		clean[n++] = (char) c;
	}
	if (n % 4 != 0 || pad > 2) {
		free(clean);
		return HIE_EINVAL;
	}
	if ((dst = malloc(n / 4 * 3 + 1)) == NULL) {
		free(clean);
		return HIE_ENOMEM;
	}
	got = n > 0 ? EVP_DecodeBlock((unsigned char *) dst, (unsigned char *) clean, (int) n) : 0;
	free(clean);
	if (got < 0) {
		free(dst);
		return HIE_EINVAL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	got -= (int) pad;
	if ((size_t) got > max) {
		free(dst);
		return HIE_ETOOBIG;
	}
	dst[got] = '\0';
	*out = dst;
	*outlen = (size_t) got;
	return HIE_OK;
}

void
hie_sha1_hex(const void *p, size_t n, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char     md[SHA_DIGEST_LENGTH];

	SHA1(p, n, md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[40] = '\0';
}
