/*
 * node/hl7cli.c -- hie-node hl7-send: sends the HL7 v2 messages of files
 * over MLLP, one connection, and prints one line per message:
 *   ACK AA <control id>            (or AE/AR/CA/CE/CR, with " ERR <code>")
 *   SENT <control id> (MSH-15=NE, no acknowledgement)
 *   FAIL <control id> <reason>
 * A file may hold several messages, each starting with MSH at the start of
 * a line; LF or CRLF line ends become CR, MLLP framing bytes are dropped.
 * Exit 0 when every message was accepted (AA/CA or NE), 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/hl7.h"
#include "node/mllp.h"

static const char usage[] = "usage: hie-node hl7-send [-t TIMEOUT_S] HOST:PORT FILE...\n";

/* Copies file bytes as CR-separated text without framing bytes. */
static hie_err
normalise(const char *in, size_t n, hie_buf *out)
{
	hie_err e = HIE_OK;
	for (size_t i = 0; i < n && e == HIE_OK; i++) {
		char c = in[i];
		if (c == MLLP_SB || c == MLLP_EB)
			continue;
		if (c == '\n') {
			if (i > 0 && in[i - 1] == '\r')
				continue;
			c = '\r';
		}
		e = hie_buf_add(out, &c, 1);
	}
	return e;
}

static int
send_one(mllp_client *c, const char *msg, size_t len, int timeout_ms)
{
	hl7_msg          *m;
	struct hl7_header h;
	struct hl7_error  err;
	hie_buf           reply;
	char              code[3], ctl[200];
	int               ec, bad;
	hie_err           e;

	memset(&h, 0, sizeof(h));
	if (hl7_parse(msg, len, NULL, &m, &err) == HIE_OK) {
		hl7_get_header(m, &h);
		hl7_free(m);
	} else
		/* Sent anyway: the receiver's answer is what the user wants. */
		fprintf(stderr, "warning: message does not parse here: %s\n", err.text);
	if (strcmp(h.accept_ack, "NE") == 0) {
		e = mllp_client_call(c, msg, len, timeout_ms, NULL);
		if (e != HIE_OK) {
			printf("FAIL %s %s\n", h.control_id, hie_strerror(e));
			return 1;
		}
		printf("SENT %s (MSH-15=NE, no acknowledgement)\n", h.control_id);
		return 0;
	}
	hie_buf_init(&reply, 16u << 20);
	if ((e = mllp_client_call(c, msg, len, timeout_ms, &reply)) != HIE_OK) {
		printf("FAIL %s %s\n", h.control_id[0] ? h.control_id : "?", hie_strerror(e));
		hie_buf_free(&reply);
		return -1; /* the connection is no longer usable */
	}
	if (hl7_ack_parse(reply.data, reply.len, code, ctl, sizeof(ctl), &ec) != HIE_OK) {
		printf("FAIL %s answer is not an acknowledgement\n", h.control_id);
		hie_buf_free(&reply);
		return 1;
	}
	hie_buf_free(&reply);
	bad = strcmp(code, "AA") != 0 && strcmp(code, "CA") != 0;
	if (ec != 0)
		printf("ACK %s %s ERR %d\n", code, ctl, ec);
	else
		printf("ACK %s %s\n", code, ctl);
	return bad;
}

int
node_cmd_hl7_send(int argc, char **argv)
{
	int          timeout_ms = 10000, i = 1, rc = 0;
	char         url[300];
	mllp_client *c = NULL;

	if (i + 1 < argc && strcmp(argv[i], "-t") == 0) {
		double t = atof(argv[i + 1]);
		if (t <= 0 || t > 3600) {
			fputs(usage, stderr);
			return 2;
		}
		timeout_ms = (int) (t * 1000);
		i += 2;
	}
	if (argc - i < 2) {
		fputs(usage, stderr);
		return 2;
	}
	snprintf(url, sizeof(url), "%s%s", strstr(argv[i], "://") ? "" : "tcp://", argv[i]);
	for (i++; i < argc; i++) {
		char   *data;
		size_t  n, start;
		hie_buf all;
		if (hie_read_file(argv[i], 64u << 20, &data, &n) != HIE_OK) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			rc = 1;
			continue;
		}
		hie_buf_init(&all, 64u << 20);
		if (normalise(data, n, &all) != HIE_OK || all.len == 0) {
			fprintf(stderr, "%s: empty or too large\n", argv[i]);
			free(data);
			hie_buf_free(&all);
			rc = 1;
			continue;
		}
		free(data);
		/* Messages start with "MSH" at the start of a segment. */
		for (start = 0; start < all.len;) {
			size_t end = start + 3, len;
			int    r;
			while (end < all.len && !(all.data[end - 1] == '\r' && end + 3 <= all.len &&
			                           memcmp(all.data + end, "MSH", 3) == 0))
				end++;
			len = end - start;
			while (len > 0 && (all.data[start + len - 1] == '\r' || all.data[start + len - 1] == ' '))
				len--;
			if (len > 0 && all.data[start + len] == '\r')
				len++; /* keep the last segment's CR */
			if (len == 0 || memcmp(all.data + start, "MSH", 3) != 0) {
				start = end;
				continue;
			}
			if (c == NULL) {
				hie_err e = mllp_client_open(url, NULL, timeout_ms, &c);
				if (e != HIE_OK) {
					fprintf(stderr, "%s: %s\n", url, hie_strerror(e));
					hie_buf_free(&all);
					return 1;
				}
			}
			r = send_one(c, all.data + start, len, timeout_ms);
			if (r < 0) {
				mllp_client_close(c);
				c  = NULL;
				rc = 1;
			} else if (r > 0)
				rc = 1;
			start = end;
		}
		hie_buf_free(&all);
	}
	mllp_client_close(c);
	return rc;
}
