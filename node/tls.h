/*
 * node/tls.h -- nng TLS configurations for the peer link.
 *
 * Both directions use mutual TLS: TLS 1.2 or newer, the network CA as the
 * only trust anchor, the CRL when one is configured, and a certificate
 * required from the other side.  A client config also pins the server name
 * to the peer's directory name, which the peer's certificate carries as a
 * DNS SAN, so a certificate issued to one hospital cannot answer for
 * another.
 *
 * Debian's nng 1.5.2 (mbedTLS) does not expose the peer's certificate to
 * the application; who a peer is inside a message comes from its
 * WS-Security signature (node/wss).
 */
#ifndef NODE_TLS_H
#define NODE_TLS_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "node/hie.h"

/* PEM text of this node's identity and trust; loaded once, owned here. */
struct node_tls_material {
	char *cert;
	char *key;
	char *ca;
	char *crl; /* NULL when no CRL is configured */
};

/* Reads the PEM files (crl may be "" for none). */
hie_err node_tls_load(const char *cert, const char *key, const char *ca, const char *crl,
    struct node_tls_material *m);
void    node_tls_free(struct node_tls_material *m);

/* A server (server_name NULL) or client config; the caller frees it with
 * nng_tls_config_free once the dialer/listener holds it. */
hie_err node_tls_config(const struct node_tls_material *m, const char *server_name,
    nng_tls_config **out);

#endif /* NODE_TLS_H */
