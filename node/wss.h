/*
 * node/wss.h -- signed SOAP: WS-Security 1.1 headers with an X.509 token,
 * a timestamp and an IHE XUA (SAML 2.0) assertion, signed outbound and
 * verified inbound before anything else reads the message.
 *
 * Outbound (wss_sign): the envelope gets
 *   wsse:Security (mustUnderstand)
 *     wsu:Timestamp            Created, Expires
 *     wsse:BinarySecurityToken the node's certificate
 *     saml2:Assertion          requests only; issued and signed by this node
 *     ds:Signature             over Timestamp, wsa:Action, wsa:MessageID,
 *                              wsa:To or wsa:RelatesTo, the assertion, Body
 * ECDSA-SHA256 (or RSA-SHA256 for RSA keys), exclusive C14N, SHA-256.
 *
 * Inbound (wss_verify), in order: one Security header; no duplicate ids;
 * the token's certificate chains to the network CA and is not revoked; it
 * belongs to the expected community (when the caller knows it) and to the
 * community the assertion claims; with a signed peer directory, the
 * community is a member and the certificate is one the directory lists
 * for it; the signature verifies with only the
 * allowed algorithms; the very elements the node will process (the Body
 * that soap_parse picked, the wsa headers, the timestamp, the assertion)
 * are the ones referenced (no XML signature wrapping); the timestamp and
 * assertion are within their validity, allowing the clock skew; the
 * assertion's own signature verifies (its public-key step is skipped when
 * the message signature, by the same signer, covers it: see node/wss.c,
 * assertion_vouched), its audience is this community; and
 * neither the message id nor the assertion id was seen before.
 *
 * Threading: a signer and a verifier may be shared by threads once made.
 */
#ifndef NODE_WSS_H
#define NODE_WSS_H

#include <libxml/tree.h>
#include <stddef.h>

#include "node/hie.h"
#include "node/replay.h"
#include "node/soap.h"

#define WSS_NS_SEC "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define WSS_NS_UTIL "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define SAML_NS "urn:oasis:names:tc:SAML:2.0:assertion"

/* What an XUA assertion says about the requester (IHE ITI-40; the
 * attributes eHealth Exchange and Carequality responders read). */
struct wss_claims {
	char subject_id[128];      /* the clinician's name */
	char subject_role[32];     /* SNOMED CT code, e.g. 112247003 (medical doctor) */
	char organization[128];
	char organization_id[128]; /* urn:oid:... */
	char home_community[128];  /* urn:oid:... of the sending community */
	char purpose_of_use[32];   /* TREATMENT, OPERATIONS, ... */
};

typedef struct wss_signer   wss_signer;
typedef struct wss_verifier wss_verifier;

/* From PEM text; the certificate's SAN URI is the signer's community. */
hie_err wss_signer_new(const char *cert_pem, const char *key_pem, wss_signer **out);
void    wss_signer_free(wss_signer *s);

/*
 * Signs env (as soap_envelope_new made it, its Body filled) and writes the
 * signed message to *out (malloc'd, *len bytes): the text to send.
 * claims non-NULL adds an assertion for audience (the receiving community)
 * valid ttl_s seconds; the timestamp is valid ttl_s too.  env keeps its
 * tree, with wsu:Id attributes added to the signed wsa headers and the
 * Body.  HIE_ESOAP: no Header or Body; HIE_EINVAL: a claim or the
 * audience is not text XML can carry.
 */
hie_err wss_sign_text(const wss_signer *s, xmlDoc *env, const struct wss_claims *claims,
    const char *audience, int ttl_s, char **out, size_t *len);

/* wss_sign_text, with env then holding the signed message as a tree (for
 * tests and tools that work on it; node/wss_sign.c). */
hie_err wss_sign(const wss_signer *s, xmlDoc *env, const struct wss_claims *claims,
    const char *audience, int ttl_s);

/* A network member as the signed peer directory lists it (node/directory.h):
 * its community and the SHA-256 fingerprints of the certificates it may
 * sign with. */
struct wss_member {
	char          community[128];
	unsigned char fp[4][32];
	int           nfp;
};

struct wss_verifier_cfg {
	const char *ca_pem;       /* the network CA */
	const char *crl_pem;      /* may be NULL */
	const char *community;    /* ours: the audience assertions must name */
	int         clock_skew_s; /* allowed either way */
	int         max_ttl_s;    /* longest Timestamp/assertion lifetime accepted */
	hie_replay *replay;       /* may be NULL (offline verification) */
	/* The signed directory's members (copied).  With directory != 0 a
	 * message is accepted only from a listed community signing with a
	 * listed certificate: a member's identity is its signature. */
	int                      directory;
	const struct wss_member *members;
	size_t                   nmembers;
};

hie_err wss_verifier_new(const struct wss_verifier_cfg *cfg, wss_verifier **out);
void    wss_verifier_free(wss_verifier *v);

/* Who signed a verified message. */
struct wss_identity {
	char              community[128]; /* from the certificate */
	char              subject[256];   /* certificate subject, one line */
	int               has_claims;
	struct wss_claims claims;
};

/*
 * Verifies m (from soap_parse).  require_assertion: requests must carry one.
 * expected_community: the peer we asked (responses), NULL if any member may
 * sign (requests).  HIE_OK fills who.  Errors: HIE_EUNSIGNED, HIE_ESIG, HIE_ECERT,
 * HIE_EEXPIRED, HIE_EREPLAY, HIE_EAUDIENCE, HIE_EBUSY (replay cache full),
 * with the reason in why; wss_fault_code gives the WS-Security fault.
 */
hie_err wss_verify(wss_verifier *v, const struct soap_msg *m, int require_assertion,
    const char *expected_community, struct wss_identity *who, char *why, size_t whycap);

/*
 * How many assertion signatures v has checked with their own public-key
 * verification (*full), and how many as vouched for by the message
 * signature of the same signer, without it (*vouched; node/wss.c,
 * assertion_vouched, says when and why).  For tests and metrics.
 */
void wss_verifier_counts(wss_verifier *v, unsigned long *full, unsigned long *vouched);

/* "wsse:InvalidSecurity", "wsse:FailedAuthentication", ... for an error. */
const char *wss_fault_code(hie_err e);

#endif /* NODE_WSS_H */
