/*
 * certs/cert.h -- the network's certificate authority and trust checks,
 * on the OpenSSL API (never the openssl CLI).
 *
 * A CA directory holds:
 *   ca.key      the CA private key (mode 0600)
 *   ca.crt      the CA certificate, distributed to every node
 *   issued.txt  one line per issued certificate: serial, name, community
 *   revoked.txt one line per revoked serial: serial, unix time
 *   crl.pem     the current CRL (written by cert_crl_write)
 *
 * Node certificates carry the node name as CN and DNS SAN (the TLS server
 * name peers check) and the homeCommunityId as a SAN URI.  Keys are ECDSA
 * P-256, written 0600.  All paths are plain file paths; nothing is kept
 * open between calls.  Functions are thread-safe.
 */
#ifndef CERTS_CERT_H
#define CERTS_CERT_H

#include <stddef.h>

#include "node/hie.h"

/* Node names become DNS names: letters, digits, '-' and '.', 1..63 chars. */
int cert_name_ok(const char *name);

/* Creates dir (0700) with a new CA key and self-signed certificate valid for
 * days.  HIE_EEXIST if dir already holds a CA. */
hie_err cert_ca_init(const char *dir, const char *ca_name, int days);

/* Generates a P-256 private key at key_path (0600, O_EXCL semantics: an
 * existing key is never overwritten: HIE_EEXIST). */
hie_err cert_key_generate(const char *key_path);

/* Writes a CSR for name/community signed by the key at key_path. */
hie_err cert_csr_create(const char *key_path, const char *name,
    const char *community, const char *csr_path);

/* The CA in ca_dir signs the CSR after checking its signature, name and
 * community; the certificate is valid for days and written to cert_path. */
hie_err cert_csr_sign(const char *ca_dir, const char *csr_path, int days,
    const char *cert_path);

/* Key + CSR + signature in one step (demo and tests): writes
 * out_dir/node.key, node.csr, node.crt and a copy of ca.crt. */
hie_err cert_issue(const char *ca_dir, const char *name, const char *community,
    int days, const char *out_dir);

/*
 * Rotation for a node directory made by `hie-node init` (or cert_issue):
 * a new key and CSR for the same name and community as node_dir/node.crt,
 * signed by the CA; the old pair is kept as node.key.old/node.crt.old and
 * the new one put in place atomically.  The node serves the new one after
 * SIGHUP; peers trust both (same CA) until the old one expires or is
 * revoked.
 */
hie_err cert_rotate(const char *ca_dir, const char *node_dir, int days);

/* Records the certificate's serial as revoked.  Run cert_crl_write after. */
hie_err cert_revoke(const char *ca_dir, const char *cert_path);

/* Writes a CRL valid for days listing every revoked serial to out_path
 * (ca_dir/crl.pem if NULL). */
hie_err cert_crl_write(const char *ca_dir, int days, const char *out_path);

/*
 * Verifies cert_path against ca_path (and crl_path if not NULL/empty):
 * chain, validity period, revocation, key usage for TLS.  On failure why
 * gets a one-line human reason ("revoked", "expired on ...").  If community
 * is not NULL the SAN URI must equal it.
 */
hie_err cert_verify(const char *ca_path, const char *crl_path,
    const char *cert_path, const char *community, char *why, size_t whycap);

/* Copies the certificate's SAN URI (homeCommunityId) into out. */
hie_err cert_community(const char *cert_path, char *out, size_t cap);

#endif /* CERTS_CERT_H */
