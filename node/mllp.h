/*
 * node/mllp.h -- HL7 v2 over MLLP (the Minimal Lower Layer Protocol):
 * a listener on nng streams (tcp://, and tls+tcp:// with an
 * nng_tls_config) and a small client.
 *
 * Framing: 0x0B, the message, 0x1C 0x0D.  Every connection is request and
 * answer in turn: the listener reads one frame, hands it to the handler on
 * one of its worker threads (the handler may block on durable LMDB
 * writes), sends the framed reply, then reads the next frame.  Reading and
 * sending are nng aios: no thread per connection.
 *
 * Bad input, and what the listener does about it (the listener stays up
 * for everyone else in every case):
 *  - bytes before a 0x0B (a newline some senders put between frames, or
 *    garbage) are skipped, up to max_garbage bytes; more, and the
 *    connection is closed: whatever is talking, it is not MLLP;
 *  - a 0x0B inside a frame starts the frame again (the sender gave up on a
 *    frame and retransmits); 0x1C not followed by 0x0D closes the
 *    connection;
 *  - a frame longer than max_bytes is read to its end but not kept: the
 *    sender gets an AR (ERR code 207, "message exceeds ... bytes") built
 *    from its MSH, or the connection is closed when there is no MSH to
 *    answer;
 *  - a connection that sends nothing for idle_timeout_ms between frames,
 *    or does not finish a frame within frame_timeout_ms of its first byte
 *    (slowloris), is closed;
 *  - beyond max_conns, new connections are closed at once.
 *
 * Handler contract: msg[len] is one frame's content (not NUL terminated
 * by contract; it is, in fact, followed by a NUL).  The handler appends its
 * answer (an ACK built with node/hl7.h) to reply and returns HIE_OK; an
 * empty reply sends nothing (enhanced mode without an accept ack).  It
 * must have made its changes durable before it returns: the reply is sent
 * as soon as it returns.  A handler that fails with an empty reply gets an
 * AR with code 207 sent in its name (hl7_nak), or the connection closed
 * when the frame has no MSH.  Handlers run on up to `workers` threads at
 * once, one frame per connection at a time.
 *
 * Threading and lifetime: mllp_listen starts accepting at once;
 * mllp_close stops accepting, closes every connection, waits for the
 * handlers that are running, and frees everything; it must not be called
 * from a handler.
 */
#ifndef NODE_MLLP_H
#define NODE_MLLP_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stddef.h>

#include "node/hie.h"

#define MLLP_SB 0x0B
#define MLLP_EB 0x1C
#define MLLP_CR 0x0D

typedef hie_err (*mllp_handler)(void *arg, const char *msg, size_t len, hie_buf *reply);

/* One frame of a group handed to a batch handler (see mllp_opts.batch). */
struct mllp_frame {
	const char *msg;   /* frame content, followed by a NUL */
	size_t      len;
	hie_buf    *reply; /* the handler appends the answer (empty: none) */
	hie_err     err;   /* the handler's result for this frame, as mllp_handler returns */
};
typedef void (*mllp_batch_handler)(void *arg, struct mllp_frame *f, size_t n);

struct mllp_opts {
	size_t          max_bytes;        /* frame content; default 16 MiB */
	int             idle_timeout_ms;  /* between frames; default 300000 */
	int             frame_timeout_ms; /* first byte to 0x1C 0x0D; default 30000 */
	int             workers;          /* handler threads; default 4 */
	int             max_conns;        /* default 256 */
	size_t          max_garbage;      /* bytes skipped before a 0x0B; default 1024 */
	nng_tls_config *tls;              /* required for tls+tcp://; not owned */
	/* Pipelining: every frame a connection has already sent (up to 256,
	 * 1 MiB) is handled as one group, and the answers go back in order in
	 * one write.  With batch set, the group goes to batch (h may then be
	 * NULL) so that the handler can make the whole group durable with one
	 * commit (node/hl7_feed.c); otherwise h is called for each frame.  The
	 * handler contract below applies to each frame of the group. */
	mllp_batch_handler batch;
};
/* All zero: every default above. */
extern const struct mllp_opts mllp_default_opts;


typedef struct mllp_listener mllp_listener;

/* Listens on url ("tcp://127.0.0.1:2575", port 0 for any free one;
 * "tls+tcp://..." with o->tls).  o NULL means the defaults.  HIE_EBUSY
 * when the address is in use, HIE_EINVAL for a bad URL or tls+tcp without
 * a TLS config, HIE_ENET otherwise.  *out is the caller's (mllp_close). */
hie_err mllp_listen(const char *url, const struct mllp_opts *o, mllp_handler h, void *arg,
    mllp_listener **out);
/* The TCP port the listener is bound to. */
hie_err mllp_port(mllp_listener *l, int *port);
/* Stops and frees (see above).  NULL is ignored. */
void    mllp_close(mllp_listener *l);

/* ---- client ---- */
typedef struct mllp_client mllp_client;

/* Connects to url (tcp:// or tls+tcp:// with tls, else tls NULL) within
 * timeout_ms.  HIE_ETIMEDOUT, HIE_ENET (refused, unreachable).  *out is the
 * caller's (mllp_client_close). */
hie_err mllp_client_open(const char *url, nng_tls_config *tls, int timeout_ms, mllp_client **out);
/* Sends one message framed; then, when reply is not NULL, waits up to
 * timeout_ms for one framed answer and appends its content to reply.
 * HIE_ETIMEDOUT, HIE_ECLOSED (the listener closed the connection),
 * HIE_EPROTO (not an MLLP frame), HIE_ETOOBIG (beyond reply->max). */
hie_err mllp_client_call(mllp_client *c, const char *msg, size_t len, int timeout_ms,
    hie_buf *reply);
void    mllp_client_close(mllp_client *c);

/* One message on a fresh connection: open, call, close. */
hie_err mllp_send(const char *url, const char *msg, size_t len, int timeout_ms, hie_buf *reply);

#endif /* NODE_MLLP_H */
