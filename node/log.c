/* node/log.c -- one line per event, request ids, UUIDs, clocks. */
#include "node/hie.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int log_level = HIE_LOG_INFO;
static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void
hie_log_set_level(hie_log_level lvl)
{
	log_level = lvl;
}

void
hie_log(hie_log_level lvl, const char *module, const char *event,
    const char *rid, const char *fmt, ...)
{
	char       line[2048];
	char       ts[32];
	struct tm  tm;
	time_t     now;
	va_list    ap;
	int        n;

	if ((int) lvl < log_level)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %-5s %s %s rid=%s ", ts,
	    level_names[lvl], module, event, rid != NULL ? rid : "-");
	if (n < 0 || (size_t) n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
	va_end(ap);
	/* One event, one line: newlines inside a message would let a peer's
	 * text forge log lines. */
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s\n", line);
}

/*
 * The random bytes of ids come from a buffer per thread, refilled
 * RAND_CHUNK bytes at a time: one RAND_bytes call costs a few microseconds
 * in OpenSSL 3 whatever its size (the DRBG's lock, EVP_RAND_generate, a
 * getpid() system call for its fork check), and every signed message takes
 * two or three ids.  The bytes are the DRBG's all the same, each handed out
 * once and wiped from the buffer as it goes.
 *
 * Fork: a child would inherit the buffer and hand out the ids its parent
 * is about to.  The daemon does not fork once it runs, but the atfork
 * handler empties the buffer anyway -- in the child, of the one thread it
 * has, the one that forked -- so that a child draws its own.
 */
#define RAND_CHUNK 512

static _Thread_local unsigned char rand_buf[RAND_CHUNK];
static _Thread_local size_t        rand_pos = RAND_CHUNK; /* next unused byte; RAND_CHUNK: empty */
static pthread_once_t              rand_once = PTHREAD_ONCE_INIT;

static void
rand_forget(void)
{
	memset(rand_buf, 0, sizeof(rand_buf));
	rand_pos = RAND_CHUNK;
}

static void
rand_init(void)
{
	pthread_atfork(NULL, NULL, rand_forget);
}

static void
random_bytes(unsigned char *p, size_t n)
{
	pthread_once(&rand_once, rand_init);
	while (n > 0) {
		size_t k;
		if (rand_pos == RAND_CHUNK) {
			if (RAND_bytes(rand_buf, RAND_CHUNK) != 1) {
				/* RAND_bytes only fails when the OS entropy source is
				 * gone; ids need uniqueness, not secrecy, so fall back
				 * to the clock. */
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				for (size_t i = 0; i < n; i++)
					p[i] = (unsigned char) ((ts.tv_nsec >> (i % 8)) ^ (ts.tv_sec >> i) ^ i);
				return;
			}
			rand_pos = 0;
		}
		k = RAND_CHUNK - rand_pos < n ? RAND_CHUNK - rand_pos : n;
		memcpy(p, rand_buf + rand_pos, k);
		memset(rand_buf + rand_pos, 0, k); /* handed out: never again */
		rand_pos += k;
		p += k;
		n -= k;
	}
}

static const char hex_digits[] = "0123456789abcdef";

void
hie_request_id(char out[33])
{
	unsigned char r[16];

	random_bytes(r, sizeof(r));
	for (int i = 0; i < 16; i++) {
		out[2 * i]     = hex_digits[r[i] >> 4];
		out[2 * i + 1] = hex_digits[r[i] & 15];
	}
	out[32] = '\0';
}

void
hie_uuid(char out[37])
{
	unsigned char r[16];
	char         *p = out;

	random_bytes(r, sizeof(r));
	r[6] = (unsigned char) ((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (unsigned char) ((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	/* 8-4-4-4-12 hex digits, written directly: snprintf with 16
	 * conversions cost as much as drawing the bytes. */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex_digits[r[i] >> 4];
		*p++ = hex_digits[r[i] & 15];
	}
	*p = '\0';
}

void
hie_urn_uuid(char out[46])
{
	memcpy(out, "urn:uuid:", 9);
	hie_uuid(out + 9);
}

int64_t
hie_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
