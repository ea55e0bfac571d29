/*
 * tests/unit/gateway_fixture.h -- a responding gateway in the test's own
 * process, for the tests that hand signed requests straight to
 * xca_respond (test_txn, test_consent): a test CA, the keys of an asking
 * node and of the responder (issued by the project's certs module), a
 * replay cache, and a registry in LMDB holding the four demo documents.
 * Nothing is mocked; there is no network.
 */
#ifndef TESTS_UNIT_GATEWAY_FIXTURE_H
#define TESTS_UNIT_GATEWAY_FIXTURE_H

#include "node/replay.h"
#include "node/store.h"
#include "testutil.h"
#include "xca/xca.h"

struct tg_gateway {
	char        dir[256];      /* a fresh temp dir: ca/, asker/, responder/, db/, replay/ */
	MDB_env    *env;           /* dir/db: the registry (a test may open more on it) */
	hie_replay *replay;        /* dir/replay, 10,000 entries */
	wss_signer *asker;         /* signs requests as a member of the asking community */
	wss_signer *responder_key; /* the responder's own key (resp.signer) */
	/* Answers as home for repository 1.2.3.4.1 from resp.reg (the four
	 * demo documents), verifying requests against the CA (60 s skew, 600 s
	 * ttl, the replay cache) and signing with responder_key (ttl 300 s),
	 * max 100 results.  The test may set more of it (consent). */
	struct xca_responder resp;
};

/* Sets up *g (all of it; fails the test on any error).  home and
 * asker_community must outlive g. */
void tg_init(struct tg_gateway *g, const char *home, const char *asker_community);
/* Frees what tg_init made and removes dir; what the test added to resp
 * (consent) it closes first itself. */
void tg_fini(struct tg_gateway *g);

#endif
