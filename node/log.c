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

static void
random_bytes(unsigned char *p, size_t n)
{
	if (RAND_bytes(p, (int) n) != 1) {
		/* RAND_bytes only fails when the OS entropy source is gone;
		 * ids need uniqueness, not secrecy, so fall back to the clock. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		for (size_t i = 0; i < n; i++)
			p[i] = (unsigned char) ((ts.tv_nsec >> (i % 8)) ^ (ts.tv_sec >> i) ^ i);
	}
}

void
hie_request_id(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char     r[16];

	random_bytes(r, sizeof(r));
	for (int i = 0; i < 16; i++) {
		out[2 * i]     = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[32] = '\0';
}

void
hie_urn_uuid(char out[46])
{
	unsigned char r[16];

	random_bytes(r, sizeof(r));
	r[6] = (unsigned char) ((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (unsigned char) ((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 46,
	    "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
	    r[11], r[12], r[13], r[14], r[15]);
}

int64_t
hie_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
