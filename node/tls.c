/* node/tls.c -- mutual-TLS configurations for nng. */
#include "node/tls.h"

#include <stdlib.h>
#include <string.h>

#define PEM_MAX (1 << 20)

hie_err
node_tls_load(const char *cert, const char *key, const char *ca, const char *crl,
    struct node_tls_material *m)
{
	size_t  len;
	hie_err e;

	memset(m, 0, sizeof(*m));
	if ((e = hie_read_file(cert, PEM_MAX, &m->cert, &len)) != HIE_OK ||
	    (e = hie_read_file(key, PEM_MAX, &m->key, &len)) != HIE_OK ||
	    (e = hie_read_file(ca, PEM_MAX, &m->ca, &len)) != HIE_OK ||
	    (crl != NULL && crl[0] != '\0' && (e = hie_read_file(crl, PEM_MAX, &m->crl, &len)) != HIE_OK)) {
		node_tls_free(m);
		return e;
	}
	return HIE_OK;
}

void
node_tls_free(struct node_tls_material *m)
{
	if (m->key != NULL)
		memset(m->key, 0, strlen(m->key)); /* don't leave key bytes in freed memory */
	free(m->cert);
	free(m->key);
	free(m->ca);
	free(m->crl);
	memset(m, 0, sizeof(*m));
}

hie_err
node_tls_config(const struct node_tls_material *m, const char *server_name, nng_tls_config **out)
{
	nng_tls_config *c;
	int             rv;

	*out = NULL;
	rv = nng_tls_config_alloc(&c, server_name == NULL ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT);
	if (rv != 0)
		return HIE_ENOMEM;
	/* TLS 1.3 where the engine has it, never below 1.2. */
	if (nng_tls_config_version(c, NNG_TLS_1_2, NNG_TLS_1_3) != 0 &&
	    nng_tls_config_version(c, NNG_TLS_1_2, NNG_TLS_1_2) != 0)
		goto fail;
	if (nng_tls_config_ca_chain(c, m->ca, m->crl) != 0 ||
	    nng_tls_config_own_cert(c, m->cert, m->key, NULL) != 0 ||
	    nng_tls_config_auth_mode(c, NNG_TLS_AUTH_MODE_REQUIRED) != 0)
		goto fail;
	if (server_name != NULL && nng_tls_config_server_name(c, server_name) != 0)
		goto fail;
	*out = c;
	return HIE_OK;
fail:
	nng_tls_config_free(c);
	return HIE_ETLS;
}
