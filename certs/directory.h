/*
 * certs/directory.h -- the HIE admin's side of the signed peer directory
 * (format and node side in node/directory.h): add and remove members in a
 * working copy, sign it with the network CA's key, verify and show it.
 */
#ifndef CERTS_DIRECTORY_H
#define CERTS_DIRECTORY_H

#include <stdio.h>

#include "node/hie.h"

/*
 * Adds member name to the directory at path (created if absent), or
 * updates it: community, address and http (may be NULL) are set, and the
 * SHA-256 fingerprint of cert_path is added to its list (so a rotated
 * certificate can be listed beside the old one).  The certificate must
 * chain to ca_dir/ca.crt (and not be revoked, per ca_dir/crl.pem) and name
 * community.  The file loses any signature: sign it again.
 */
hie_err cert_directory_add(const char *path, const char *ca_dir, const char *name, const char *community,
    const char *address, const char *http, const char *cert_path, char *why, size_t whycap);

/* Removes member name, or only the fingerprint of cert_path if not NULL.
 * HIE_ENOTFOUND if there is no such member or fingerprint. */
hie_err cert_directory_remove(const char *path, const char *name, const char *cert_path, char *why, size_t whycap);

/* Signs the directory at path with ca_dir/ca.key: serial + 1, canonical
 * text, signature line; written to out_path (path if NULL), mode 0644. */
hie_err cert_directory_sign(const char *path, const char *ca_dir, const char *out_path, char *why, size_t whycap);

/* Checks the signature with ca_cert_path and prints a summary to f. */
hie_err cert_directory_verify(const char *path, const char *ca_cert_path, FILE *f, char *why, size_t whycap);

/* Prints the members (name, community, address, fingerprints) to f. */
hie_err cert_directory_show(const char *path, FILE *f, char *why, size_t whycap);

/* SHA-256 fingerprint of a PEM certificate file. */
hie_err cert_fingerprint(const char *cert_path, unsigned char fp[32]);

#endif /* CERTS_DIRECTORY_H */
