/*
 * tests/unit/mllp_echo_server.c -- an MLLP listener for black-box tests
 * (tests/interop_mllp.sh): every frame is parsed and acknowledged, AA when
 * it parses, AE/AR with an ERR segment when it does not; with DATA_DIR a
 * retransmitted message gets its first ACK again (hl7.seen).  This is
 * the shape of the node's real handler minus the MPI/registry work.
 *
 *   mllp_echo_server PORT [DATA_DIR]     prints "listening PORT", runs until SIGTERM/SIGINT
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/hl7.h"
#include "node/hl7_seen.h"
#include "node/mllp.h"
#include "node/store.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void) sig;
	stop = 1;
}

static hie_err
handle(void *arg, const char *msg, size_t len, hie_buf *reply)
{
	hl7_seen        *seen = arg;
	hl7_msg         *m;
	struct hl7_error err;
	hie_err          e;

	if ((e = hl7_parse(msg, len, NULL, &m, &err)) != HIE_OK)
		return e == HIE_EHL7 ? hl7_nak(msg, len, &err, reply) : e;
	if (seen != NULL && hl7_seen_lookup(seen, NULL, m, reply) == HIE_OK) {
		hl7_free(m);
		return HIE_OK;
	}
	e = hl7_ack(m, HL7_ACCEPT, NULL, reply);
	if (e == HIE_OK && seen != NULL)
		e = hl7_seen_put(seen, NULL, m, reply->data != NULL ? reply->data : "", reply->len);
	hl7_free(m);
	return e;
}

int
main(int argc, char **argv)
{
	char           url[64];
	mllp_listener *l;
	MDB_env       *env  = NULL;
	hl7_seen      *seen = NULL;
	int            port;

	if (argc < 2) {
		fprintf(stderr, "usage: mllp_echo_server PORT [DATA_DIR]\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (argc > 2 && (hie_store_open(argv[2], 64, &env) != HIE_OK ||
	                    hl7_seen_open(env, &seen) != HIE_OK)) {
		fprintf(stderr, "cannot open %s\n", argv[2]);
		return 1;
	}
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%s", argv[1]);
	if (mllp_listen(url, NULL, handle, seen, &l) != HIE_OK) {
		fprintf(stderr, "cannot listen on %s\n", url);
		return 1;
	}
	mllp_port(l, &port);
	printf("listening %d\n", port);
	fflush(stdout);
	while (!stop)
		pause();
	mllp_close(l);
	hl7_seen_close(seen);
	if (env != NULL)
		hie_store_close(env);
	return 0;
}
