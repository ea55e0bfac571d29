/*
 * node/dsig.h -- XML signatures (XML-DSig) narrowed to what hienode
 * accepts: same-document "#id" references only, exclusive C14N, SHA-256
 * digests, ECDSA-SHA256 or RSA-SHA256; computed with our own exclusive C14N
 * of the referenced subtree and OpenSSL EVP (node/dsig.c says why, not
 * xmlsec).  Used by node/wss.c; not for other modules.
 */
#ifndef NODE_DSIG_H
#define NODE_DSIG_H

#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "node/hie.h"

#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define DSIG_ALG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define DSIG_ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define DSIG_ALG_SHA256 "http://www.w3.org/2001/04/xmlenc#sha256"
#define DSIG_MAX_REFS 16
#define DSIG_ID_MAX 128

/* The attribute names that carry element ids (wsu:Id, SAML ID). */
extern const char *const dsig_id_attrs[];

/*
 * A key ready to sign (sign 1: a private key) or verify with: OpenSSL
 * contexts initialised once and reused (node/dsig.c says why).  Takes its
 * own reference to pkey; reference counted (dsig_key_ref/unref); may be
 * used by several threads at once.
 */
typedef struct dsig_key dsig_key;
hie_err   dsig_key_new(EVP_PKEY *pkey, int sign, dsig_key **out);
dsig_key *dsig_key_ref(dsig_key *k);
void      dsig_key_unref(dsig_key *k); /* NULL is fine */
EVP_PKEY *dsig_key_pkey(const dsig_key *k);

/* The id of n (wsu:Id, Id or ID), or NULL. */
const char *dsig_node_id(const xmlNode *n);

/* SHA-256, fetched from OpenSSL's provider once: EVP_sha256() or SHA256()
 * look the implementation up again at every use (a few us each). */
const EVP_MD *dsig_sha256(void);

/* The XML-DSig SignatureMethod URI for k (ECDSA-SHA256 or RSA-SHA256). */
const char *dsig_key_alg(const dsig_key *k);

/*
 * Signing works on text (node/wss_sign.c writes the signed parts of a
 * message in canonical form): si[len] is a ds:SignedInfo in exclusive
 * C14N, signed with k (a signing key) into *b64, the SignatureValue text
 * (malloc'd; ECDSA as r||s).
 */
hie_err dsig_sign_c14n(dsig_key *k, const char *si, size_t len, char **b64);

/*
 * What one verification carries from one signature to the next (node/wss.c:
 * the message signature, then the assertion's inside what it covers): when
 * a reference's element has a ds:Signature child, its digest without that
 * child, taken in the same C14N walk as its whole digest.  The enveloped
 * reference of that inner signature then needs no second walk.  Zero it
 * before the first call; it is valid only while the document is unchanged,
 * so it lives on the stack of one verification.
 */
struct dsig_memo {
	const xmlNode *apex, *inner;
	unsigned char  md[32];
};

/*
 * Verifies the ds:Signature sig with the public key of cert; key, if not
 * NULL, is that same key prepared (dsig_key_new(X509_get0_pubkey(cert), 0)),
 * otherwise one is made for this call.  memo may be NULL.  On HIE_OK,
 * refs[0..*nrefs) are the ids its references cover (pointing into the
 * copied out).  HIE_ESIG for any failure, with the reason in why.
 */
hie_err dsig_verify(xmlNode *sig, X509 *cert, dsig_key *key, struct dsig_memo *memo, char refs[][DSIG_ID_MAX],
    size_t *nrefs, char *why, size_t whycap);

/*
 * dsig_verify without the last step, the public-key check of
 * SignatureValue (which must still be well formed): the structure,
 * algorithms, transforms and every reference's digest are checked the
 * same.  Only for a signature whose every byte (SignatureValue and
 * SignedInfo included) another signature by the same key, already
 * verified, covers by digest: node/wss.c's XUA assertion inside a signed
 * message (see the argument there).  Anything else needs dsig_verify.
 */
hie_err dsig_verify_vouched(xmlNode *sig, X509 *cert, dsig_key *key, struct dsig_memo *memo,
    char refs[][DSIG_ID_MAX], size_t *nrefs, char *why, size_t whycap);

/* Registers every id attribute of the document for reference lookup;
 * HIE_ESIG if an id value appears twice (duplicate-id wrapping). */
hie_err dsig_register_ids(xmlDoc *doc, char *why, size_t whycap);

/*
 * The exclusive C14N (no comments) that a "#id" reference to apex digests,
 * minus the subtree exclude (may be NULL), into *out (free(); NUL
 * terminated, *len bytes).  general 0: the direct path dsig uses for
 * ordinary subtrees (HIE_EINVAL if apex holds something it leaves to
 * libxml2); 1: libxml2's xmlC14NExecute.  For tests: both must agree.
 */
hie_err dsig_c14n(const xmlNode *apex, const xmlNode *exclude, int general, char **out, size_t *len);

/* Appends the exclusive C14N of apex's subtree to out: the digest input
 * of a "#id" reference to it, and a serialisation of it as good as any.
 * HIE_ETOOBIG if out is full. */
hie_err dsig_c14n_append(const xmlNode *apex, hie_buf *out);

/* Appends s to b escaped as C14N escapes text (attr 0) or an attribute
 * value (attr 1): what is written is already canonical. */
hie_err dsig_put_escaped(hie_buf *b, const char *s, int attr);

/* True if id is among refs[n]. */
int dsig_covers(char refs[][DSIG_ID_MAX], size_t n, const char *id);

#endif /* NODE_DSIG_H */
