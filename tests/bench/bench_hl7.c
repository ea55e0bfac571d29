/*
 * tests/bench/bench_hl7.c -- ADT^A04 ingest over MLLP (scripts/bench hl7,
 * tests/crash_hl7.sh).
 *
 *   bench_hl7 HOST PORT MESSAGES CONNECTIONS WINDOW [PREFIX [ACKED_FILE]]
 *
 * Sends MESSAGES generated A04s (a new patient each: identifier
 * PREFIX-<conn>-<i> in authority 1.3.6.1.4.1.21367.99.1, random-ish names
 * and birth dates) spread over CONNECTIONS connections, each keeping up
 * to WINDOW messages unacknowledged (pipelining).  Prints acknowledged
 * messages per second and the p50/p99 latency from send to ACK; with
 * ACKED_FILE, writes the identifier of every message acknowledged AA, one
 * a line, as soon as its ACK arrives (the crash test reads it).  Exit 1 if
 * any message was not acknowledged AA.  With BENCH_HL7_MSH16=AL (or ER,
 * SU) the messages are in enhanced mode (MSH-15 AL, MSH-16 that value):
 * the node answers CA, counted as AA.
 *
 *   bench_hl7 receive PORT MESSAGES
 *
 * The other end of enhanced mode: listens on 127.0.0.1:PORT for the
 * node's application acknowledgements, answers each with a CA, and once
 * MESSAGES have arrived prints how many per second since the first (and
 * how many were AA).  Exit 1 when nothing arrives for 60 s.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int       id, fd;
	long      n;       /* messages to send */
	int64_t  *sent_ns; /* per message */
	int64_t  *lat_ns;
	long      acked, aa;
	long      window_n;
	volatile int dead; /* the node closed the connection (crash test) */
	sem_t     window;
	pthread_t tx, rx;
};

static const char *host, *prefix = "B", *msh16 = "";
static int         port;
static FILE       *acked_out;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t
mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	x *= 0x846ca68b;
	return x ^ (x >> 16);
}

static void
word(uint32_t h, char *out, int len)
{
	static const char cons[] = "bcdfghjklmnprstvwz", vow[] = "aeiou";
	for (int i = 0; i < len; i++) {
		h = mix(h + (uint32_t) i);
		out[i] = i % 2 ? vow[h % 5] : cons[h % 18];
	}
	out[0] = (char) (out[0] - 32);
	out[len] = '\0';
}

static int
message(const struct conn *c, long i, char *buf, size_t cap)
{
	char     fam[12], giv[10];
	uint32_t h = mix((uint32_t) (c->id * 7919 + i) ^ (uint32_t) (uintptr_t) prefix[0]);
	word(h, fam, 5 + (int) (h % 4));
	word(h * 31, giv, 4 + (int) (h % 3));
	return snprintf(buf, cap,
	    "\x0bMSH|^~\\&|BENCH|BENCHFAC|HIE|NODE|20261125120000||ADT^A04^ADT_A01|%s-%d-%ld|P|2.5.1%s%s\r"
	    "EVN|A04|20261125120000\r"
	    "PID|1||%s-%d-%ld^^^&1.3.6.1.4.1.21367.99.1&ISO^MR||%s^%s||19%02u%02u%02u|%c|||%u Main St^^Springfield^IL^%05u\r"
	    "PV1|1|O\r\x1c\r",
	    prefix, c->id, i, msh16[0] ? "|||AL|" : "", msh16, prefix, c->id, i, fam, giv, 30 + h % 70, 1 + (h >> 8) % 12, 1 + (h >> 12) % 28,
	    h & 1 ? 'M' : 'F', 1 + (h >> 4) % 999, 10000 + (h >> 3) % 89999);
}

static void *
sender(void *arg)
{
	struct conn *c = arg;
	char         buf[1024];
	for (long i = 0; i < c->n; i++) {
		int    len = message(c, i, buf, sizeof(buf));
		size_t off = 0;
		sem_wait(&c->window);
		if (c->dead)
			return NULL;
		c->sent_ns[i] = now_ns();
		while (off < (size_t) len) {
			ssize_t w = send(c->fd, buf + off, (size_t) len - off, MSG_NOSIGNAL);
			if (w <= 0)
				return NULL;
			off += (size_t) w;
		}
	}
	return NULL;
}

static void *
receiver(void *arg)
{
	struct conn *c = arg;
	static __thread char buf[65536];
	char         frame[4096];
	size_t       flen = 0;
	int          in = 0;
	while (c->acked < c->n) {
		ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
		if (r <= 0) {
			/* Gone: let the sender stop instead of waiting for room. */
			c->dead = 1;
			for (long k = 0; k <= c->window_n; k++)
				sem_post(&c->window);
			break;
		}
		for (ssize_t k = 0; k < r; k++) {
			char ch = buf[k];
			if (ch == 0x0b) {
				in = 1;
				flen = 0;
			} else if (ch == 0x1c && in) {
				char *msa;
				frame[flen] = '\0';
				in = 0;
				c->lat_ns[c->acked] = now_ns() - c->sent_ns[c->acked];
				msa = strstr(frame, "\rMSA|");
				if (msa != NULL && (strncmp(msa + 5, "AA|", 3) == 0 || strncmp(msa + 5, "CA|", 3) == 0)) {
					c->aa++;
					if (acked_out != NULL) {
						char *id = msa + 8, *end = strpbrk(id, "|\r");
						pthread_mutex_lock(&out_mu);
						fprintf(acked_out, "%.*s\n", (int) (end ? end - id : (long) strlen(id)), id);
						fflush(acked_out);
						pthread_mutex_unlock(&out_mu);
					}
				}
				c->acked++;
				sem_post(&c->window);
			} else if (in && flen + 1 < sizeof(frame))
				frame[flen++] = ch;
		}
	}
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

/* One frame's MSH-10 answered with a CA (the node asks for it: MSH-15 AL). */
static int
answer(int fd, const char *frame)
{
	char        out[256];
	const char *p = frame;
	int         f = 0, n;
	size_t      k = 0;
	char        id[64];
	while (*p != '\0' && *p != '\r' && f < 9)
		if (*p++ == '|')
			f++;
	while (*p != '\0' && *p != '|' && *p != '\r' && k + 1 < sizeof(id))
		id[k++] = *p++;
	id[k] = '\0';
	n = snprintf(out, sizeof(out), "\x0bMSH|^~\\&|RECV|RECVFAC|HIE|NODE|20261125120000||ACK|R%s|P|2.5.1\rMSA|CA|%s\r\x1c\r",
	    id, id);
	return send(fd, out, (size_t) n, MSG_NOSIGNAL) == n ? 0 : -1;
}

static int
receive(int rport, long want)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) rport) };
	struct pollfd      pf[65];
	static char        frames[65][4096], buf[65536];
	size_t             flen[65] = { 0 };
	int                in[65] = { 0 }, nfd = 1, one = 1;
	long               got = 0, aa = 0;
	int64_t            t0 = 0, t1 = 0;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	pf[0].fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(pf[0].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(pf[0].fd, (struct sockaddr *) &sa, sizeof(sa)) != 0 || listen(pf[0].fd, 16) != 0) {
		perror("bench_hl7 receive");
		return 2;
	}
	printf("listening\n");
	fflush(stdout);
	for (int i = 0; i < 65; i++)
		pf[i].events = POLLIN;
	while (got < want) {
		int r = poll(pf, (nfds_t) nfd, 60000);
		if (r <= 0) {
			fprintf(stderr, "bench_hl7 receive: nothing for 60 s after %ld\n", got);
			return 1;
		}
		if ((pf[0].revents & POLLIN) && nfd < 65) {
			int fd = accept(pf[0].fd, NULL, NULL);
			if (fd >= 0) {
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				pf[nfd].fd = fd;
				flen[nfd] = 0;
				in[nfd++] = 0;
			}
		}
		for (int i = 1; i < nfd; i++) {
			ssize_t n;
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if ((n = recv(pf[i].fd, buf, sizeof(buf), 0)) <= 0) {
				close(pf[i].fd);
				pf[i] = pf[--nfd];
				memcpy(frames[i], frames[nfd], flen[nfd]);
				flen[i] = flen[nfd];
				in[i] = in[nfd];
				i--;
				continue;
			}
			for (ssize_t k = 0; k < n; k++) {
				if (buf[k] == 0x0b) {
					in[i] = 1;
					flen[i] = 0;
				} else if (buf[k] == 0x1c && in[i]) {
					frames[i][flen[i]] = '\0';
					in[i] = 0;
					if (got++ == 0)
						t0 = now_ns();
					t1 = now_ns();
					aa += strstr(frames[i], "\rMSA|AA|") != NULL;
					answer(pf[i].fd, frames[i]);
				} else if (in[i] && flen[i] + 1 < sizeof(frames[i]))
					frames[i][flen[i]++] = buf[k];
			}
		}
	}
	printf("%ld application acks received (%ld AA) in %.2f s from the first = %.0f acks/s\n", got, aa,
	    (t1 - t0) / 1e9, got > 1 ? (got - 1) / ((t1 - t0) / 1e9) : 0.0);
	return 0;
}

int
main(int argc, char **argv)
{
	long         total, nconn, window, acked = 0, aa = 0, k = 0;
	struct conn *c;
	int64_t      t0, t1, *all;

	if (argc == 4 && strcmp(argv[1], "receive") == 0)
		return receive(atoi(argv[2]), atol(argv[3]));
	if (getenv("BENCH_HL7_MSH16") != NULL)
		msh16 = getenv("BENCH_HL7_MSH16");
	if (argc < 6) {
		fprintf(stderr, "usage: bench_hl7 HOST PORT MESSAGES CONNECTIONS WINDOW [PREFIX [ACKED_FILE]]\n");
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	total = atol(argv[3]);
	nconn = atol(argv[4]);
	window = atol(argv[5]);
	if (argc > 6)
		prefix = argv[6];
	if (argc > 7 && (acked_out = fopen(argv[7], "a")) == NULL) {
		perror(argv[7]);
		return 2;
	}
	c = calloc((size_t) nconn, sizeof(*c));
	for (long i = 0; i < nconn; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
		int                one = 1;
		inet_pton(AF_INET, host, &sa.sin_addr);
		c[i].id = (int) i;
		c[i].n = total / nconn + (i < total % nconn);
		c[i].sent_ns = calloc((size_t) c[i].n + 1, sizeof(int64_t));
		c[i].lat_ns = calloc((size_t) c[i].n + 1, sizeof(int64_t));
		sem_init(&c[i].window, 0, (unsigned) window);
		c[i].window_n = window;
		if ((c[i].fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    connect(c[i].fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
			perror("connect");
			return 1;
		}
		setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	t0 = now_ns();
	for (long i = 0; i < nconn; i++) {
		pthread_create(&c[i].rx, NULL, receiver, &c[i]);
		pthread_create(&c[i].tx, NULL, sender, &c[i]);
	}
	for (long i = 0; i < nconn; i++) {
		pthread_join(c[i].tx, NULL);
		pthread_join(c[i].rx, NULL);
	}
	t1 = now_ns();
	for (long i = 0; i < nconn; i++)
		acked += c[i].acked, aa += c[i].aa;
	all = calloc((size_t) acked + 1, sizeof(int64_t));
	for (long i = 0; i < nconn; i++)
		for (long j = 0; j < c[i].acked; j++)
			all[k++] = c[i].lat_ns[j];
	qsort(all, (size_t) k, sizeof(int64_t), cmp64);
	printf("%ld A04%s%s over %ld connection%s (window %ld): %ld acknowledged (%ld AA/CA) in %.2f s = %.0f msg/s; "
	       "ack latency p50 %.1f ms p99 %.1f ms\n",
	    total, msh16[0] ? " MSH-16 " : "", msh16, nconn, nconn > 1 ? "s" : "", window, acked, aa, (t1 - t0) / 1e9, acked / ((t1 - t0) / 1e9),
	    k ? all[k / 2] / 1e6 : 0.0, k ? all[(k * 99) / 100] / 1e6 : 0.0);
	if (acked_out != NULL)
		fclose(acked_out);
	return aa == total ? 0 : 1;
}
