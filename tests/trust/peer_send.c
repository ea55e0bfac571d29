/*
 * tests/trust/peer_send.c -- sends raw bytes to a node over the peer link
 * (nng REQ over tls+tcp with mutual TLS, as a member node would), for the
 * black-box tests that need to put exactly what an attacker would on the
 * wire: an oversized message, a forged signature.
 *
 *   peer_send NODE_DIR SERVER_NAME ADDRESS FILE [TIMEOUT_MS]
 *   peer_send NODE_DIR SERVER_NAME ADDRESS --size BYTES [TIMEOUT_MS]
 *
 * NODE_DIR holds node.crt, node.key and ca.crt (what hie-node init makes).
 * --size sends a SOAP envelope padded to BYTES.  Prints "answer BYTES" and
 * the answer on the next lines (exit 0), or "no answer: REASON" (exit 2).
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/tls.h"

static char *
padded(size_t size)
{
	static const char head[] =
	    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/"
	    "addressing\"><s:Header><a:Action>urn:ihe:iti:2007:CrossGatewayQuery</a:Action></s:Header><s:Body><q>";
	static const char tail[] = "</q></s:Body></s:Envelope>";
	char             *m;

	if (size < sizeof(head) + sizeof(tail))
		size = sizeof(head) + sizeof(tail);
	if ((m = malloc(size)) == NULL)
		return NULL;
	memcpy(m, head, sizeof(head) - 1);
	memset(m + sizeof(head) - 1, 'x', size - (sizeof(head) - 1) - (sizeof(tail) - 1));
	memcpy(m + size - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	return m;
}

int
main(int argc, char **argv)
{
	struct node_tls_material mat;
	nng_tls_config          *tls;
	nng_socket               sock;
	nng_dialer               d;
	nng_msg                 *msg;
	char                     crt[1024], key[1024], ca[1024], *data;
	size_t                   len;
	int                      rv, timeout, argi = 4, status = 2;

	if (argc < 5) {
		fprintf(stderr, "usage: peer_send NODE_DIR SERVER_NAME ADDRESS FILE|--size BYTES [TIMEOUT_MS]\n");
		return 64;
	}
	snprintf(crt, sizeof(crt), "%s/node.crt", argv[1]);
	snprintf(key, sizeof(key), "%s/node.key", argv[1]);
	snprintf(ca, sizeof(ca), "%s/ca.crt", argv[1]);
	if (node_tls_load(crt, key, ca, "", &mat) != HIE_OK || node_tls_config(&mat, argv[2], &tls) != HIE_OK) {
		fprintf(stderr, "peer_send: cannot load the TLS material of %s\n", argv[1]);
		return 64;
	}
	if (strcmp(argv[argi], "--size") == 0 && argc > argi + 1) {
		len = strtoul(argv[argi + 1], NULL, 10);
		data = padded(len);
		argi += 2;
	} else {
		if (hie_read_file(argv[argi], (size_t) 1 << 30, &data, &len) != HIE_OK) {
			fprintf(stderr, "peer_send: cannot read %s\n", argv[argi]);
			return 64;
		}
		argi++;
	}
	timeout = argc > argi ? atoi(argv[argi]) : 5000;
	if (data == NULL || nng_req0_open(&sock) != 0)
		return 70;
	nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, timeout);
	nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, timeout);
	nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, (size_t) 64 << 20);
	if ((rv = nng_dialer_create(&d, sock, argv[3])) != 0 || (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls)) != 0 ||
	    (rv = nng_dialer_start(d, 0)) != 0) {
		printf("no answer: cannot connect: %s\n", nng_strerror(rv));
		goto done;
	}
	if ((rv = nng_msg_alloc(&msg, 0)) != 0 || (rv = nng_msg_append(msg, data, len)) != 0) {
		printf("no answer: %s\n", nng_strerror(rv));
		goto done;
	}
	if ((rv = nng_sendmsg(sock, msg, 0)) != 0) {
		nng_msg_free(msg);
		printf("no answer: send failed: %s\n", nng_strerror(rv));
		goto done;
	}
	if ((rv = nng_recvmsg(sock, &msg, 0)) != 0) {
		printf("no answer: %s\n", nng_strerror(rv));
		goto done;
	}
	printf("answer %zu\n", nng_msg_len(msg));
	fwrite(nng_msg_body(msg), 1, nng_msg_len(msg), stdout);
	printf("\n");
	nng_msg_free(msg);
	status = 0;
done:
	fflush(stdout);
	free(data);
	nng_close(sock);
	nng_tls_config_free(tls);
	node_tls_free(&mat);
	return status;
}
