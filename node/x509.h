/*
 * node/x509.h -- certificate facts every module reads the same way.  A
 * hienode certificate names its homeCommunityId as a SAN URI.
 */
#ifndef NODE_X509_H
#define NODE_X509_H

#include <openssl/x509v3.h>
#include <stddef.h>

/* Copies the first URI of gens into out[cap]; 0 if there is none that fits. */
int hie_san_uri(const GENERAL_NAMES *gens, char *out, size_t cap);
/* The certificate's community (its SAN URI); 0 if it names none. */
int hie_x509_community(X509 *c, char *out, size_t cap);
/* The first certificate in PEM text (NUL terminated), or NULL; X509_free it. */
X509 *hie_x509_from_pem(const char *pem);

#endif /* NODE_X509_H */
