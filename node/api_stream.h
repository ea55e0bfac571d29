/*
 * node/api_stream.h -- a streamed HTTP answer for the clinician query API:
 * with "Accept: application/x-ndjson", GET /api/patients/{id}/documents
 * answers with one JSON line per peer as each peer finishes, then the
 * whole result as the last line.  nng 1.5.2's HTTP server only sends
 * whole responses, so the connection is taken over (nng_http_hijack) and
 * the answer written as HTTP/1.1 chunked transfer coding by us; the
 * connection is closed at the end.
 *
 * Threading: node_stream_line may be called from any thread; lines go
 * out in the order of the calls.  Who frees what: node_stream_end hands
 * the stream over to its writer, which frees it (and the connection and
 * request nng gave the handler) once the last byte is written or the
 * client has gone.
 */
#ifndef NODE_API_STREAM_H
#define NODE_API_STREAM_H

#include <nng/nng.h>
#include <stddef.h>

#include "node/hie.h"

struct node_stream;

/* Takes over the connection of the handler's aio, sends the status line
 * and headers, and completes the handler.  On an error nothing was taken
 * over and the handler must still reply. */
hie_err node_stream_open(nng_aio *handler_aio, struct node_stream **out);
/* One line (no newline in it); dropped silently once the client is gone. */
void    node_stream_line(struct node_stream *st, const char *json, size_t len);
/* The last chunk; the stream is the writer's after this. */
void    node_stream_end(struct node_stream *st);

#endif /* NODE_API_STREAM_H */
