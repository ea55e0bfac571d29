/*
 * node/wss_int.h -- what node/wss.c (inbound: verification) and
 * node/wss_sign.c (outbound: the signer) share.  Not for other modules:
 * their API is node/wss.h.
 */
#ifndef NODE_WSS_INT_H
#define NODE_WSS_INT_H

#include <stddef.h>

#define WSS_BST_VALUETYPE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
#define WSS_BST_ENCODING \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
#define WSS_HL7_NS "urn:hl7-org:v3"

/* An XUA attribute and where its value lives in struct wss_claims. */
struct wss_claim_attr {
	const char *name;
	size_t      off, cap;
	const char *coded; /* element name when the value is an hl7 CE */
	const char *code_system;
};

extern const struct wss_claim_attr wss_claim_attrs[];
extern const size_t                wss_nclaims;

#endif /* NODE_WSS_INT_H */
