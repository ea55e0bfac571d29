/* node/directory.c -- the signed peer directory: parse, check, format. */
#include "node/directory.h"
#include "node/wss.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_KEY "signature = "

hie_err
node_fp_parse(const char *hex, unsigned char fp[32])
{
	int n = 0;

	for (const char *p = hex; *p != '\0'; p++) {
		int hi, lo;
		if (*p == ':')
			continue;
		if (n == 32 || !isxdigit((unsigned char) p[0]) || !isxdigit((unsigned char) p[1]))
			return HIE_EINVAL;
		hi = isdigit((unsigned char) p[0]) ? p[0] - '0' : tolower((unsigned char) p[0]) - 'a' + 10;
		lo = isdigit((unsigned char) p[1]) ? p[1] - '0' : tolower((unsigned char) p[1]) - 'a' + 10;
		fp[n++] = (unsigned char) (hi << 4 | lo);
		p++;
	}
	return n == 32 ? HIE_OK : HIE_EINVAL;
}

void
node_fp_format(const unsigned char fp[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", fp[i]);
}

void
node_directory_free(struct node_directory *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

const struct node_dir_member *
node_directory_find(const struct node_directory *d, const char *community)
{
	for (size_t i = 0; community != NULL && i < d->n; i++)
		if (strcmp(d->v[i].community, community) == 0)
			return &d->v[i];
	return NULL;
}

/* Verifies sig_b64 over data[len] with the public key of the CA in ca_pem. */
static hie_err
check_signature(const char *data, size_t len, const char *sig_b64, const char *ca_pem, char *why, size_t whycap)
{
	BIO        *b = BIO_new_mem_buf(ca_pem, -1);
	X509       *ca = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = NULL;
	char       *sig = NULL;
	size_t      siglen;
	hie_err     e = HIE_ESIG;

	BIO_free(b);
	if (ca == NULL) {
		snprintf(why, whycap, "the CA certificate cannot be read");
		return HIE_ECERT;
	}
	if (hie_base64_decode(sig_b64, strlen(sig_b64), 4096, &sig, &siglen) != HIE_OK)
		snprintf(why, whycap, "the signature is not base64");
	else if ((md = EVP_MD_CTX_new()) == NULL ||
	         EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(ca)) != 1)
		snprintf(why, whycap, "cannot set up signature verification");
	else if (EVP_DigestVerify(md, (const unsigned char *) sig, siglen, (const unsigned char *) data, len) != 1)
		snprintf(why, whycap, "the admin signature does not verify (directory changed or not signed by the network CA)");
	else
		e = HIE_OK;
	EVP_MD_CTX_free(md);
	free(sig);
	X509_free(ca);
	return e;
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

#define BAD(...)                                    \
	do {                                        \
		snprintf(why, whycap, __VA_ARGS__); \
		e = HIE_ECONFIG;                    \
		goto done;                          \
	} while (0)

static hie_err
parse_body(char *text, struct node_directory *out, char *why, size_t whycap)
{
	struct node_dir_member *m = NULL;
	char                   *line, *save = NULL;
	int                     lineno = 0;
	hie_err                 e = HIE_OK;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *s = trim(line), *eq, *key, *val;
		lineno++;
		if (*s == '\0' || *s == ';' || *s == '#')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			struct node_dir_member *v;
			if (end == NULL || end[1] != '\0' || end == s + 1)
				BAD("line %d: bad section header", lineno);
			*end = '\0';
			for (size_t i = 0; i < out->n; i++)
				if (strcmp(out->v[i].name, s + 1) == 0)
					BAD("line %d: member [%s] listed twice", lineno, s + 1);
			if (out->n >= NODE_DIR_MAX_MEMBERS || (v = realloc(out->v, (out->n + 1) * sizeof(*v))) == NULL)
				BAD("line %d: too many members", lineno);
			out->v = v;
			m = &out->v[out->n++];
			memset(m, 0, sizeof(*m));
			if (hie_strlcpy(m->name, s + 1, sizeof(m->name)) != HIE_OK)
				BAD("line %d: member name too long", lineno);
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL)
			BAD("line %d: expected key = value", lineno);
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (m == NULL) {
			char *end;
			if (strcmp(key, "serial") != 0)
				BAD("line %d: only serial may come before the first [member]", lineno);
			out->serial = strtoull(val, &end, 10);
			if (*val == '\0' || *end != '\0')
				BAD("line %d: serial must be a number", lineno);
		} else if (strcmp(key, "community") == 0) {
			if (strncmp(val, "urn:oid:", 8) != 0 || hie_strlcpy(m->community, val, sizeof(m->community)) != HIE_OK)
				BAD("[%s]: community must be urn:oid:...", m->name);
		} else if (strcmp(key, "address") == 0) {
			if (strncmp(val, "tls+tcp://", 10) != 0 || hie_strlcpy(m->address, val, sizeof(m->address)) != HIE_OK)
				BAD("[%s]: address must be tls+tcp://host:port", m->name);
		} else if (strcmp(key, "http") == 0) {
			if (hie_strlcpy(m->http, val, sizeof(m->http)) != HIE_OK)
				BAD("[%s]: http too long", m->name);
		} else if (strcmp(key, "fingerprint") == 0) {
			if (m->nfp == NODE_DIR_MAX_FP || node_fp_parse(val, m->fp[m->nfp]) != HIE_OK)
				BAD("[%s]: fingerprint must be 64 hex digits (at most %d)", m->name, NODE_DIR_MAX_FP);
			m->nfp++;
		} else {
			BAD("[%s]: unknown key %s", m->name, key);
		}
	}
	for (size_t i = 0; i < out->n; i++) {
		m = &out->v[i];
		if (m->community[0] == '\0' || m->address[0] == '\0' || m->nfp == 0)
			BAD("[%s]: needs community, address and at least one fingerprint", m->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(out->v[j].community, m->community) == 0)
				BAD("[%s]: community %s already belongs to [%s]", m->name, m->community, out->v[j].name);
	}
done:
	return e;
}

hie_err
node_directory_parse(const char *text, size_t len, const char *ca_pem, struct node_directory *out, char *why,
    size_t whycap)
{
	char       *copy = NULL;
	size_t      body = len, end = len;
	const char *sig = NULL;
	hie_err     e;

	memset(out, 0, sizeof(*out));
	snprintf(why, whycap, "ok");
	if (len > NODE_DIR_MAX_BYTES) {
		snprintf(why, whycap, "directory larger than %u bytes", NODE_DIR_MAX_BYTES);
		return HIE_ETOOBIG;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(why, whycap, "directory contains a NUL byte");
		return HIE_ECONFIG;
	}
	/* The signature line is the last non-blank line. */
	while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' '))
		end--;
	{
		size_t ls = end;
		while (ls > 0 && text[ls - 1] != '\n')
			ls--;
		if (end - ls > strlen(SIG_KEY) && strncmp(text + ls, SIG_KEY, strlen(SIG_KEY)) == 0) {
			body = ls;
			sig = text + ls + strlen(SIG_KEY);
		}
	}
	if ((copy = malloc(len + 1)) == NULL)
		return HIE_ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (ca_pem != NULL) {
		if (sig == NULL) {
			snprintf(why, whycap, "the directory is not signed (no signature line at its end)");
			free(copy);
			return HIE_ESIG;
		}
		copy[end] = '\0'; /* the base64 ends the line */
		if ((e = check_signature(text, body, copy + (sig - text), ca_pem, why, whycap)) != HIE_OK) {
			free(copy);
			return e;
		}
		out->signed_ = 1;
	} else {
		out->signed_ = sig != NULL;
	}
	copy[body] = '\0';
	e = parse_body(copy, out, why, whycap);
	free(copy);
	if (e != HIE_OK)
		node_directory_free(out);
	return e;
}

hie_err
node_directory_load(const char *path, const char *ca_pem, struct node_directory *out, char *why, size_t whycap)
{
	char   *text;
	size_t  len;
	hie_err e;

	memset(out, 0, sizeof(*out));
	if ((e = hie_read_file(path, NODE_DIR_MAX_BYTES, &text, &len)) != HIE_OK) {
		/* A new node's first start: say where the file comes from. */
		snprintf(why, whycap, "%s: %s%s", path, hie_strerror(e),
		    e == HIE_ENOTFOUND ? " (the network's signed directory: your HIE admin makes it with"
		                         " hie-certs directory sign)" : "");
		return e;
	}
	e = node_directory_parse(text, len, ca_pem, out, why, whycap);
	free(text);
	return e;
}

hie_err
node_directory_members(const struct node_directory *d, struct wss_member **out, size_t *n)
{
	struct wss_member *m;

	*out = NULL;
	*n = 0;
	if ((m = calloc(d->n + 1, sizeof(*m))) == NULL)
		return HIE_ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		hie_strlcpy(m[i].community, d->v[i].community, sizeof(m[i].community));
		m[i].nfp = d->v[i].nfp < 4 ? d->v[i].nfp : 4;
		memcpy(m[i].fp, d->v[i].fp, (size_t) m[i].nfp * 32);
	}
	*out = m;
	*n = d->n;
	return HIE_OK;
}

hie_err
node_directory_format(const struct node_directory *d, char **out, size_t *len)
{
	hie_buf b;
	hie_err e;

	hie_buf_init(&b, NODE_DIR_MAX_BYTES);
	e = hie_buf_printf(&b,
	    "; hienode peer directory, kept with `hie-certs directory add|remove|sign`.\n"
	    "; Nodes accept it only with the HIE admin's signature on its last line;\n"
	    "; any edit by hand voids it.\n"
	    "serial = %llu\n",
	    (unsigned long long) d->serial);
	for (size_t i = 0; e == HIE_OK && i < d->n; i++) {
		const struct node_dir_member *m = &d->v[i];
		e = hie_buf_printf(&b, "\n[%s]\ncommunity = %s\naddress = %s\n", m->name, m->community, m->address);
		if (e == HIE_OK && m->http[0] != '\0')
			e = hie_buf_printf(&b, "http = %s\n", m->http);
		for (int f = 0; e == HIE_OK && f < m->nfp; f++) {
			char hex[65];
			node_fp_format(m->fp[f], hex);
			e = hie_buf_printf(&b, "fingerprint = %s\n", hex);
		}
	}
	if (e != HIE_OK) {
		hie_buf_free(&b);
		return e;
	}
	*out = hie_buf_take(&b, len);
	return *out != NULL ? HIE_OK : HIE_ENOMEM;
}

void
node_directory_serial_path(const char *data_dir, char *out, size_t cap)
{
	snprintf(out, cap, "%s/directory.serial", data_dir);
}

/* The check alone; *found says whether the state file exists. */
static hie_err
serial_compare(const char *state_path, uint64_t serial, uint64_t *highest, int *found, char *why, size_t whycap)
{
	char              *text = NULL, *end;
	size_t             len;
	unsigned long long seen = 0;
	hie_err            e;

	*highest = 0;
	*found = 0;
	e = hie_read_file(state_path, 64, &text, &len);
	if (e == HIE_OK) {
		seen = strtoull(text, &end, 10);
		/* A damaged state file must not reopen the rollback window
		 * silently: refuse until someone looks at it. */
		if (end == text || (*end != '\n' && *end != '\0')) {
			free(text);
			snprintf(why, whycap, "%s: not a directory serial; remove it to accept any validly signed directory",
			    state_path);
			return HIE_ECONFIG;
		}
		free(text);
	} else if (e != HIE_ENOTFOUND) {
		snprintf(why, whycap, "%s: %s", state_path, hie_strerror(e));
		return e;
	}
	*highest = (uint64_t) seen;
	*found = e == HIE_OK;
	if (serial < *highest) {
		snprintf(why, whycap, "serial %llu is lower than serial %llu already loaded (an old directory replayed?)",
		    (unsigned long long) serial, seen);
		return HIE_EREPLAY;
	}
	return HIE_OK;
}

hie_err
node_directory_serial_compare(const char *state_path, uint64_t serial, uint64_t *highest, char *why, size_t whycap)
{
	int found;

	return serial_compare(state_path, serial, highest, &found, why, whycap);
}

hie_err
node_directory_serial_check(const char *state_path, uint64_t serial, uint64_t *highest, char *why, size_t whycap)
{
	char    num[32];
	int     n, found;
	hie_err e;

	if ((e = serial_compare(state_path, serial, highest, &found, why, whycap)) != HIE_OK)
		return e;
	if (serial == *highest && found)
		return HIE_OK;
	n = snprintf(num, sizeof(num), "%llu\n", (unsigned long long) serial);
	if ((e = hie_write_file(state_path, num, (size_t) n, 0600)) != HIE_OK) {
		snprintf(why, whycap, "%s: %s", state_path, hie_strerror(e));
		return e;
	}
	*highest = serial;
	return HIE_OK;
}
