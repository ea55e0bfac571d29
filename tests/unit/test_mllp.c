/*
 * tests/unit/test_mllp.c -- the MLLP listener and client through
 * node/mllp.h, on real loopback sockets: many concurrent clients, frames
 * split across writes and pipelined, oversized frames, slow and idle
 * connections, garbage, and retransmitted control ids (hl7.seen on a real
 * LMDB).  Misbehaving peers are raw POSIX sockets, so that each byte goes
 * out exactly when the test says.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "node/hl7.h"
#include "node/hl7_seen.h"
#include "node/mllp.h"
#include "node/store.h"
#include "testutil.h"

#define MAXB 65536

struct fixture {
	char           dir[256];
	MDB_env       *env;
	hl7_seen      *seen;
	mllp_listener *l;
	int            port;
	char           url[64];
	atomic_int     processed;
};

static hie_err
handle(void *arg, const char *msg, size_t len, hie_buf *reply)
{
	struct fixture  *fx = arg;
	hl7_msg         *m;
	struct hl7_error err;
	hie_err          e;

	if ((e = hl7_parse(msg, len, NULL, &m, &err)) != HIE_OK)
		return e == HIE_EHL7 ? hl7_nak(msg, len, &err, reply) : e;
	if (hl7_seen_lookup(fx->seen, NULL, m, reply) == HIE_OK) {
		hl7_free(m);
		return HIE_OK;
	}
	atomic_fetch_add(&fx->processed, 1);
	if ((e = hl7_ack(m, HL7_ACCEPT, NULL, reply)) == HIE_OK)
		e = hl7_seen_put(fx->seen, NULL, m, reply->data, reply->len);
	hl7_free(m);
	return e;
}

static int
setup(void **state)
{
	struct fixture  *fx = calloc(1, sizeof(*fx));
	struct mllp_opts o  = mllp_default_opts;
	tu_tmpdir(fx->dir);
	assert_int_equal(hie_store_open(fx->dir, 64, &fx->env), HIE_OK);
	assert_int_equal(hl7_seen_open(fx->env, &fx->seen), HIE_OK);
	o.max_bytes        = MAXB;
	o.idle_timeout_ms  = 1500;
	o.frame_timeout_ms = 1000;
	o.workers          = 4;
	o.max_garbage      = 1024;
	assert_int_equal(mllp_listen("tcp://127.0.0.1:0", &o, handle, fx, &fx->l), HIE_OK);
	assert_int_equal(mllp_port(fx->l, &fx->port), HIE_OK);
	snprintf(fx->url, sizeof(fx->url), "tcp://127.0.0.1:%d", fx->port);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	mllp_close(fx->l);
	hl7_seen_close(fx->seen);
	hie_store_close(fx->env);
	tu_rmtree(fx->dir);
	free(fx);
	return 0;
}

static void
make_msg(char *out, size_t cap, const char *ctl)
{
	snprintf(out, cap,
	    "MSH|^~\\&|SAPP|SFAC|NODE|HIE|20240101||ADT^A04^ADT_A01|%s|P|2.5.1\r"
	    "EVN|A04|20240101\rPID|1||%s^^^HOSP&1.2.3&ISO||DOE^JANE\r",
	    ctl, ctl);
}

/* MSA-1 and MSA-2 of an ACK. */
static void
check_ack(const char *ack, size_t len, const char *code, const char *ctl)
{
	char c[3], id[200];
	int  ec;
	assert_int_equal(hl7_ack_parse(ack, len, c, id, sizeof(id), &ec), HIE_OK);
	assert_string_equal(c, code);
	if (ctl != NULL)
		assert_string_equal(id, ctl);
}

/* ---- raw sockets ---- */

static int
raw_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
	int                fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr    = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	return fd;
}

static void
raw_write(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t) n);
}

/* Reads one frame's content into out; returns its length, or -1 when the
 * listener closed the connection, -2 on timeout. */
static ssize_t
raw_frame(int fd, char *out, size_t cap, int timeout_ms)
{
	size_t n = 0;
	int    in = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char          c;
		ssize_t       r;
		if (poll(&p, 1, timeout_ms) <= 0)
			return -2;
		if ((r = read(fd, &c, 1)) <= 0)
			return -1;
		if (!in) {
			in = c == MLLP_SB;
			continue;
		}
		if (c == MLLP_EB) {
			assert_int_equal(read(fd, &c, 1), 1);
			assert_int_equal(c, MLLP_CR);
			out[n] = 0;
			return (ssize_t) n;
		}
		assert_true(n + 1 < cap);
		out[n++] = c;
	}
}

/* ---- tests ---- */

struct client_arg {
	struct fixture *fx;
	int             id, ok;
};

static void *
client(void *arg)
{
	struct client_arg *a = arg;
	mllp_client       *c;
	if (mllp_client_open(a->fx->url, NULL, 5000, &c) != HIE_OK)
		return NULL;
	for (int i = 0; i < 25; i++) {
		char    msg[512], ctl[32], code[3], id[200];
		int     ec;
		hie_buf r;
		snprintf(ctl, sizeof(ctl), "C%d-%d", a->id, i);
		make_msg(msg, sizeof(msg), ctl);
		hie_buf_init(&r, MAXB);
		if (mllp_client_call(c, msg, strlen(msg), 5000, &r) == HIE_OK &&
		    hl7_ack_parse(r.data, r.len, code, id, sizeof(id), &ec) == HIE_OK &&
		    strcmp(code, "AA") == 0 && strcmp(id, ctl) == 0)
			a->ok++;
		hie_buf_free(&r);
	}
	mllp_client_close(c);
	return NULL;
}

static void
test_concurrent(void **state)
{
	struct fixture   *fx = *state;
	pthread_t         t[32];
	struct client_arg a[32];
	for (int i = 0; i < 32; i++) {
		a[i] = (struct client_arg){ fx, i, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, client, &a[i]), 0);
	}
	for (int i = 0; i < 32; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].ok, 25);
	}
	assert_int_equal(atomic_load(&fx->processed), 32 * 25);
}

static void
test_split_and_pipelined(void **state)
{
	struct fixture *fx = *state;
	char            msg[512], buf[4096], two[2048];
	int             fd = raw_connect(fx->port);
	size_t          n;
	ssize_t         r;
	struct timespec ms = { 0, 20 * 1000000 };

	/* One frame in pieces: start byte, half, the rest, EB, CR. */
	make_msg(msg, sizeof(msg), "SPLIT1");
	n = strlen(msg);
	raw_write(fd, "\x0b", 1);
	nanosleep(&ms, NULL);
	raw_write(fd, msg, n / 2);
	nanosleep(&ms, NULL);
	raw_write(fd, msg + n / 2, n - n / 2);
	nanosleep(&ms, NULL);
	raw_write(fd, "\x1c", 1);
	nanosleep(&ms, NULL);
	raw_write(fd, "\r", 1);
	assert_true((r = raw_frame(fd, buf, sizeof(buf), 3000)) > 0);
	check_ack(buf, (size_t) r, "AA", "SPLIT1");

	/* Two frames in one write: two answers, in order. */
	make_msg(msg, sizeof(msg), "PIPE1");
	snprintf(two, sizeof(two), "\x0b%s\x1c\r\x0b", msg);
	make_msg(msg, sizeof(msg), "PIPE2");
	strcat(two, msg);
	strcat(two, "\x1c\r");
	raw_write(fd, two, strlen(two));
	assert_true((r = raw_frame(fd, buf, sizeof(buf), 3000)) > 0);
	check_ack(buf, (size_t) r, "AA", "PIPE1");
	assert_true((r = raw_frame(fd, buf, sizeof(buf), 3000)) > 0);
	check_ack(buf, (size_t) r, "AA", "PIPE2");
	close(fd);
}

static void
test_oversized(void **state)
{
	struct fixture *fx = *state;
	char           *big = malloc(MAXB * 2);
	char            buf[4096], msg[512];
	int             fd  = raw_connect(fx->port);
	size_t          n;
	ssize_t         r;
	hie_buf         rep;

	/* An MSH, then far too much: an AR with code 207, and the connection
	 * still serves the next frame. */
	n = (size_t) snprintf(big, MAXB * 2, "\x0bMSH|^~\\&|SAPP|SFAC|NODE|HIE|2024||ORU^R01|BIG1|P|2.5\rOBX|1|TX|||");
	memset(big + n, 'x', MAXB + 100);
	n += MAXB + 100;
	memcpy(big + n, "\r\x1c\r", 3);
	raw_write(fd, big, n + 3);
	assert_true((r = raw_frame(fd, buf, sizeof(buf), 5000)) > 0);
	check_ack(buf, (size_t) r, "AR", "BIG1");
	assert_non_null(strstr(buf, "|207^Application internal error^HL70357|"));
	make_msg(msg, sizeof(msg), "AFTER-BIG");
	raw_write(fd, "\x0b", 1);
	raw_write(fd, msg, strlen(msg));
	raw_write(fd, "\x1c\r", 2);
	assert_true((r = raw_frame(fd, buf, sizeof(buf), 3000)) > 0);
	check_ack(buf, (size_t) r, "AA", "AFTER-BIG");
	close(fd);

	/* Too much and no MSH: nobody to answer, the connection is closed. */
	fd     = raw_connect(fx->port);
	big[0] = MLLP_SB;
	memset(big + 1, 'y', MAXB + 100);
	memcpy(big + MAXB + 101, "\x1c\r", 2);
	raw_write(fd, big, MAXB + 103);
	assert_int_equal(raw_frame(fd, buf, sizeof(buf), 5000), -1);
	close(fd);
	free(big);

	/* Others were served all along. */
	make_msg(msg, sizeof(msg), "OTHER");
	hie_buf_init(&rep, MAXB);
	assert_int_equal(mllp_send(fx->url, msg, strlen(msg), 3000, &rep), HIE_OK);
	check_ack(rep.data, rep.len, "AA", "OTHER");
	hie_buf_free(&rep);
}

static void
test_timeouts(void **state)
{
	struct fixture *fx = *state;
	char            buf[256], msg[512];
	int             slow = raw_connect(fx->port), idle = raw_connect(fx->port);
	int64_t         t0   = hie_now_ms();
	struct timespec gap  = { 0, 200 * 1000000 };
	hie_buf         rep;
	int             closed = 0;

	/* Slowloris: a byte every 200 ms never completes a frame; the frame
	 * deadline (1 s) closes it although no single read waits that long. */
	raw_write(slow, "\x0bMSH|", 5);
	for (int i = 0; i < 20 && !closed; i++) {
		nanosleep(&gap, NULL);
		if (write(slow, "a", 1) != 1)
			closed = 1;
		else {
			struct pollfd p = { .fd = slow, .events = POLLIN };
			if (poll(&p, 1, 0) == 1 && read(slow, buf, sizeof(buf)) <= 0)
				closed = 1;
		}
	}
	assert_true(closed);
	assert_true(hie_now_ms() - t0 < 3000);
	/* Meanwhile a normal client is served. */
	make_msg(msg, sizeof(msg), "DURING-SLOW");
	hie_buf_init(&rep, MAXB);
	assert_int_equal(mllp_send(fx->url, msg, strlen(msg), 3000, &rep), HIE_OK);
	check_ack(rep.data, rep.len, "AA", "DURING-SLOW");
	hie_buf_free(&rep);
	/* Idle: nothing at all for 1.5 s closes it. */
	assert_int_equal(raw_frame(idle, buf, sizeof(buf), 4000), -1);
	assert_true(hie_now_ms() - t0 >= 1400);
	close(slow);
	close(idle);
}

static void
test_garbage(void **state)
{
	struct fixture *fx = *state;
	char            buf[4096], msg[512], junk[2048];
	int             fd = raw_connect(fx->port);
	ssize_t         r;

	/* Some noise before a frame is skipped. */
	raw_write(fd, "\r\nhello\x01\x02", 9);
	make_msg(msg, sizeof(msg), "AFTER-NOISE");
	raw_write(fd, "\x0b", 1);
	raw_write(fd, msg, strlen(msg));
	raw_write(fd, "\x1c\r", 2);
	assert_true((r = raw_frame(fd, buf, sizeof(buf), 3000)) > 0);
	check_ack(buf, (size_t) r, "AA", "AFTER-NOISE");
	close(fd);

	/* Anything that is not MLLP at all is closed. */
	fd = raw_connect(fx->port);
	memset(junk, 'G', sizeof(junk));
	raw_write(fd, junk, sizeof(junk));
	assert_int_equal(raw_frame(fd, buf, sizeof(buf), 3000), -1);
	close(fd);

	/* 0x1C not followed by 0x0D: closed. */
	fd = raw_connect(fx->port);
	raw_write(fd, "\x0bMSH|^~\\&|\x1cX", 13);
	assert_int_equal(raw_frame(fd, buf, sizeof(buf), 3000), -1);
	close(fd);

	/* A frame that is not HL7: no MSH, no answer, closed. */
	fd = raw_connect(fx->port);
	raw_write(fd, "\x0bGET / HTTP/1.1\r\n\r\n\x1c\r", 22);
	assert_int_equal(raw_frame(fd, buf, sizeof(buf), 3000), -1);
	close(fd);

	/* A bad HL7 message: AE with an ERR segment, connection kept. */
	fd = raw_connect(fx->port);
	snprintf(msg, sizeof(msg),
	    "\x0bMSH|^~\\&|SAPP|SFAC|NODE|HIE|2024||ADT^A01|BADESC|P|2.5\rPID|1||1||A\\Q\\\r\x1c\r");
	raw_write(fd, msg, strlen(msg));
	assert_true((r = raw_frame(fd, buf, sizeof(buf), 3000)) > 0);
	check_ack(buf, (size_t) r, "AE", "BADESC");
	assert_non_null(strstr(buf, "\rERR||PID^1^5^1^1^1|102^Data type error^HL70357|E|"));
	close(fd);
}

static void
test_duplicate(void **state)
{
	struct fixture *fx = *state;
	char            msg[512];
	hie_buf         a, b;
	int             before;

	make_msg(msg, sizeof(msg), "DUP-1");
	hie_buf_init(&a, MAXB);
	hie_buf_init(&b, MAXB);
	before = atomic_load(&fx->processed);
	assert_int_equal(mllp_send(fx->url, msg, strlen(msg), 3000, &a), HIE_OK);
	assert_int_equal(mllp_send(fx->url, msg, strlen(msg), 3000, &b), HIE_OK);
	check_ack(a.data, a.len, "AA", "DUP-1");
	/* The very same ACK (same MSH-10 and MSH-7), processed once. */
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_int_equal(atomic_load(&fx->processed), before + 1);
	/* Same control id, different content: a new message. */
	msg[strlen(msg) - 2] = 'X';
	b.len                = 0;
	assert_int_equal(mllp_send(fx->url, msg, strlen(msg), 3000, &b), HIE_OK);
	check_ack(b.data, b.len, "AA", "DUP-1");
	assert_int_equal(atomic_load(&fx->processed), before + 2);
	hie_buf_free(&a);
	hie_buf_free(&b);
}

static void
test_errors(void **state)
{
	struct fixture *fx = *state;
	hie_buf         r;
	mllp_listener  *l2;
	(void) fx;
	hie_buf_init(&r, 1024);
	/* Nobody listening. */
	assert_int_equal(mllp_send("tcp://127.0.0.1:1", "MSH|", 4, 1000, &r), HIE_ENET);
	/* Address in use; tls+tcp without a TLS config. */
	{
		char url[64];
		snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", fx->port);
		assert_int_equal(mllp_listen(url, NULL, handle, fx, &l2), HIE_EBUSY);
		assert_int_equal(mllp_listen("tls+tcp://127.0.0.1:0", NULL, handle, fx, &l2), HIE_EINVAL);
	}
	hie_buf_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_and_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	/* The raw-socket clients below write to connections the listener is
	 * meant to close; a write after the close must be an error, not a
	 * signal that kills the test. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
