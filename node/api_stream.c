/* node/api_stream.c -- chunked NDJSON over a hijacked nng HTTP connection
 * (see node/api_stream.h). */
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/util/platform.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/api_stream.h"

struct node_stream {
	nng_http_conn *conn;
	nng_http_req  *req;
	nng_aio       *aio;     /* the write in progress */
	nng_mtx       *mtx;
	hie_buf        queued;  /* bytes waiting for the write in progress */
	hie_buf        writing; /* the bytes of the write in progress */
	int            busy, ended, failed;
};

/* Bounds what a client that stops reading can make us hold. */
#define STREAM_MAX_QUEUED (64u << 20)

static void
stream_free(struct node_stream *st)
{
	/* Often called from write_done, the aio's own callback, where
	 * nng_aio_free would wait for itself: reap frees it once it is idle. */
	nng_aio_reap(st->aio);
	nng_http_conn_close(st->conn);
	nng_http_req_free(st->req);
	nng_mtx_free(st->mtx);
	hie_buf_free(&st->queued);
	hie_buf_free(&st->writing);
	free(st);
}

/* With st->mtx held: start writing what is queued.  Returns 1 when the
 * stream is finished (ended, nothing left, nothing in flight). */
static int
kick(struct node_stream *st)
{
	nng_iov iov;

	if (st->busy)
		return 0;
	if (st->failed || st->queued.len == 0)
		return st->ended;
	/* Swap: what was queued is written now. */
	{
		hie_buf t = st->writing;
		st->writing = st->queued;
		st->queued = t;
		st->queued.len = 0;
	}
	iov.iov_buf = st->writing.data;
	iov.iov_len = st->writing.len;
	nng_aio_set_iov(st->aio, 1, &iov);
	st->busy = 1;
	nng_http_conn_write_all(st->conn, st->aio);
	return 0;
}

static void
write_done(void *arg)
{
	struct node_stream *st = arg;
	int                 done;

	nng_mtx_lock(st->mtx);
	st->busy = 0;
	if (nng_aio_result(st->aio) != 0)
		st->failed = 1; /* the client went away: the rest is dropped */
	st->writing.len = 0;
	done = kick(st);
	nng_mtx_unlock(st->mtx);
	if (done)
		stream_free(st);
}

static void
queue(struct node_stream *st, const char *bytes, size_t len, int last)
{
	int done;

	nng_mtx_lock(st->mtx);
	if (!st->failed && !st->ended && hie_buf_add(&st->queued, bytes, len) != HIE_OK)
		st->failed = 1; /* over STREAM_MAX_QUEUED: the client does not read */
	if (last)
		st->ended = 1;
	done = kick(st);
	nng_mtx_unlock(st->mtx);
	if (done)
		stream_free(st);
}

hie_err
node_stream_open(nng_aio *handler_aio, struct node_stream **out)
{
	static const char   head[] = "HTTP/1.1 200 OK\r\n"
	                             "Content-Type: application/x-ndjson\r\n"
	                             "Transfer-Encoding: chunked\r\n"
	                             "Cache-Control: no-store\r\n"
	                             "Connection: close\r\n\r\n";
	struct node_stream *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (st == NULL)
		return HIE_ENOMEM;
	hie_buf_init(&st->queued, STREAM_MAX_QUEUED);
	hie_buf_init(&st->writing, STREAM_MAX_QUEUED);
	if (nng_mtx_alloc(&st->mtx) != 0 || nng_aio_alloc(&st->aio, write_done, st) != 0) {
		if (st->mtx != NULL)
			nng_mtx_free(st->mtx);
		free(st);
		return HIE_ENOMEM;
	}
	st->req = nng_aio_get_input(handler_aio, 0);
	st->conn = nng_aio_get_input(handler_aio, 2);
	if (nng_http_hijack(st->conn) != 0) {
		nng_aio_free(st->aio);
		nng_mtx_free(st->mtx);
		free(st);
		return HIE_ENET;
	}
	/* The server is done with this request: no response object from us. */
	nng_aio_set_output(handler_aio, 0, NULL);
	nng_aio_finish(handler_aio, 0);
	queue(st, head, sizeof(head) - 1, 0);
	*out = st;
	return HIE_OK;
}

void
node_stream_line(struct node_stream *st, const char *json, size_t len)
{
	char   size[24];
	hie_buf b;

	/* One chunk per line: its size in hex, the line, its newline. */
	hie_buf_init(&b, STREAM_MAX_QUEUED);
	snprintf(size, sizeof(size), "%zx\r\n", len + 1);
	if (hie_buf_addstr(&b, size) == HIE_OK && hie_buf_add(&b, json, len) == HIE_OK &&
	    hie_buf_addstr(&b, "\n\r\n") == HIE_OK)
		queue(st, b.data, b.len, 0);
	hie_buf_free(&b);
}

void
node_stream_end(struct node_stream *st)
{
	queue(st, "0\r\n\r\n", 5, 1);
}
