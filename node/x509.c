/* node/x509.c -- the community a certificate or CSR names. */
#include "node/x509.h"

#include <openssl/pem.h>

#include <string.h>

int
hie_san_uri(const GENERAL_NAMES *gens, char *out, size_t cap)
{
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *s;
		int                  n;
		if (g->type != GEN_URI)
			continue;
		s = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		n = ASN1_STRING_length(g->d.uniformResourceIdentifier);
		if (n > 0 && (size_t) n < cap && memchr(s, '\0', (size_t) n) == NULL) {
			memcpy(out, s, (size_t) n);
			out[n] = '\0';
			return 1;
		}
	}
	return 0;
}

int
hie_x509_community(X509 *c, char *out, size_t cap)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	int            found = hie_san_uri(gens, out, cap);

	GENERAL_NAMES_free(gens);
	return found;
}

X509 *
hie_x509_from_pem(const char *pem)
{
	BIO  *b = BIO_new_mem_buf(pem, -1);
	X509 *c = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return c;
}
