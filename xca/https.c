/*
 * xca/https.c -- peers outside our nng network: a directory entry whose
 * address is an https:// SOAP endpoint (a standard IHE gateway) is called
 * with libcurl.  One thread per fan-out drives a curl multi handle, so, as
 * on the nng side, no thread waits on a peer; each transfer is bounded by
 * the call's deadline and its answer by max_message_bytes.  TLS 1.2 or
 * later, the peer's certificate checked against the network CA and the
 * URL's host name, and against the network CRL the node loaded (a revoked
 * front is refused), and our node certificate presented (mutual TLS).  The
 * request and the response are the same signed SOAP as over nng: building
 * and verifying stay in call.c.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xca/internal.h"

struct xfer {
	struct xfer       *next;
	CURL              *easy;
	struct curl_slist *hdrs;
	struct xca_call   *c;
	char              *req;
	hie_buf            resp;
	size_t             max;
	int                too_big;
	char               ctype[1024];
	char               err[CURL_ERROR_SIZE];
};

struct xca_https {
	CURLM       *multi;
	pthread_t    thread;
	int          thread_started;
	nng_mtx     *mtx;
	struct xfer *pending; /* to add to multi, by the engine's thread */
	int          stop;
	size_t       max_bytes;
	char        *cert, *key, *ca; /* PEM, owned */
	/* The network CRL in a file of our own: libcurl takes CRLs only
	 * from a file (CURLOPT_CRLFILE).  NULL when the node has no CRL. */
	char        *crl_path;
};

/* Writes crl (PEM) to a new 0600 file in $TMPDIR; *path malloc'd. */
static hie_err
crl_file(const char *crl, char **path)
{
	const char *tmp = getenv("TMPDIR");
	char        p[4096];
	int         fd;
	size_t      len = strlen(crl), off = 0;

	snprintf(p, sizeof(p), "%s/hie-crl-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if ((fd = mkstemp(p)) < 0)
		return HIE_EIO;
	while (off < len) {
		ssize_t w = write(fd, crl + off, len - off);
		if (w <= 0) {
			close(fd);
			unlink(p);
			return HIE_EIO;
		}
		off += (size_t) w;
	}
	close(fd);
	if ((*path = strdup(p)) == NULL) {
		unlink(p);
		return HIE_ENOMEM;
	}
	return HIE_OK;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	/* Bounded like every input: stop reading at the limit. */
	if (x->resp.len + size * n > x->max) {
		x->too_big = 1;
		return 0;
	}
	return hie_buf_add(&x->resp, p, size * n) == HIE_OK ? size * n : 0;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t       len = size * n;

	if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
		/* The value alone: MTOM's boundary is read from it. */
		const char *v = p + 13, *end = p + len;
		size_t      k;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
			end--;
		k = (size_t) (end - v) < sizeof(x->ctype) - 1 ? (size_t) (end - v) : sizeof(x->ctype) - 1;
		memcpy(x->ctype, v, k);
		x->ctype[k] = '\0';
	}
	return len;
}

static void
xfer_free(struct xfer *x)
{
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->req);
	hie_buf_free(&x->resp);
	free(x);
}

/* A transfer ended: hand what came back to call.c. */
static void
xfer_done(struct xfer *x, CURLcode rc)
{
	long status = 0;
	char why[CURL_ERROR_SIZE + 64];

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (x->too_big) {
		xca_call_https_done(x->c, 0, "answer over max_message_bytes", NULL, NULL, 0);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		xca_call_https_done(x->c, 1, NULL, NULL, NULL, 0);
	} else if (rc != CURLE_OK) {
		snprintf(why, sizeof(why), "https: %s", x->err[0] ? x->err : curl_easy_strerror(rc));
		xca_call_https_done(x->c, 0, why, NULL, NULL, 0);
	} else if (status != 200 && strstr(x->ctype, "soap+xml") == NULL && strstr(x->ctype, "multipart/related") == NULL) {
		/* SOAP 1.2 faults come with 400/500 and are read as faults;
		 * anything else that is not 200 is the HTTP layer's. */
		snprintf(why, sizeof(why), "https: HTTP %ld", status);
		xca_call_https_done(x->c, 0, why, NULL, NULL, 0);
	} else {
		/* Plain SOAP or MTOM: call.c reads either. */
		xca_call_https_done(x->c, 0, NULL, x->ctype, x->resp.data ? x->resp.data : "", x->resp.len);
	}
	xfer_free(x);
}

static void *
engine(void *arg)
{
	struct xca_https *h = arg;

	for (;;) {
		struct xfer *add;
		CURLMsg     *m;
		int          running = 0, left;

		nng_mtx_lock(h->mtx);
		add = h->pending;
		h->pending = NULL;
		if (h->stop && add == NULL) {
			nng_mtx_unlock(h->mtx);
			break;
		}
		nng_mtx_unlock(h->mtx);
		while (add != NULL) {
			struct xfer *next = add->next;
			if (curl_multi_add_handle(h->multi, add->easy) != CURLM_OK)
				xfer_done(add, CURLE_OUT_OF_MEMORY);
			add = next;
		}
		curl_multi_perform(h->multi, &running);
		while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
			struct xfer *x;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &x);
			curl_multi_remove_handle(h->multi, m->easy_handle);
			xfer_done(x, m->data.result);
		}
		curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
	}
	return NULL;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

hie_err
xca_https_new(const struct node_tls_material *tls, size_t max_bytes, struct xca_https **out)
{
	struct xca_https *h;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return HIE_ENOMEM;
	h->max_bytes = max_bytes;
	if (nng_mtx_alloc(&h->mtx) != 0 || (h->multi = curl_multi_init()) == NULL ||
	    (h->cert = dup_or_null(tls->cert)) == NULL || (h->key = dup_or_null(tls->key)) == NULL ||
	    (h->ca = dup_or_null(tls->ca)) == NULL) {
		xca_https_free(h);
		return HIE_ENOMEM;
	}
	if (tls->crl != NULL && tls->crl[0] != '\0') {
		hie_err e = crl_file(tls->crl, &h->crl_path);
		if (e != HIE_OK) {
			xca_https_free(h);
			return e;
		}
	}
	if (pthread_create(&h->thread, NULL, engine, h) != 0) {
		xca_https_free(h);
		return HIE_ENOMEM;
	}
	h->thread_started = 1;
	*out = h;
	return HIE_OK;
}

/* Only once no call is in flight (the fan-out's last reference). */
void
xca_https_free(struct xca_https *h)
{
	if (h == NULL)
		return;
	if (h->thread_started) {
		nng_mtx_lock(h->mtx);
		h->stop = 1;
		nng_mtx_unlock(h->mtx);
		curl_multi_wakeup(h->multi);
		pthread_join(h->thread, NULL);
	}
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	if (h->mtx != NULL)
		nng_mtx_free(h->mtx);
	free(h->cert);
	free(h->key);
	free(h->ca);
	if (h->crl_path != NULL) {
		unlink(h->crl_path);
		free(h->crl_path);
	}
	free(h);
}

hie_err
xca_https_post(struct xca_https *h, struct xca_call *c, const char *url, const char *action, const char *type,
    char *body, size_t len, int timeout_ms)
{
	struct xfer     *x;
	struct curl_blob cert = { .data = h->cert, .len = strlen(h->cert), .flags = CURL_BLOB_COPY };
	struct curl_blob key = { .data = h->key, .len = strlen(h->key), .flags = CURL_BLOB_COPY };
	struct curl_blob ca = { .data = h->ca, .len = strlen(h->ca), .flags = CURL_BLOB_COPY };
	char             ctype[600];

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		free(body);
		return HIE_ENOMEM;
	}
	x->c = c;
	x->req = body; /* ours now */
	x->max = h->max_bytes;
	hie_buf_init(&x->resp, h->max_bytes + 1);
	/* SOAP 1.2 over HTTP: the action goes in the Content-Type too. */
	if (type != NULL)
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", type);
	else
		snprintf(ctype, sizeof(ctype), "Content-Type: application/soap+xml; charset=utf-8; action=\"%s\"", action);
	if ((x->easy = curl_easy_init()) == NULL || (x->hdrs = curl_slist_append(NULL, ctype)) == NULL) {
		xfer_free(x);
		return HIE_ENOMEM;
	}
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->req);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->err);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long) (timeout_ms > 0 ? timeout_ms : 1));
	/* Secure by default: TLS 1.2+, the network CA only, host name checked,
	 * our certificate presented. */
	curl_easy_setopt(x->easy, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(x->easy, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(x->easy, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(x->easy, CURLOPT_SSLCERT_BLOB, &cert);
	curl_easy_setopt(x->easy, CURLOPT_SSLKEY_BLOB, &key);
	if (h->crl_path != NULL)
		curl_easy_setopt(x->easy, CURLOPT_CRLFILE, h->crl_path);
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	nng_mtx_lock(h->mtx);
	x->next = h->pending;
	h->pending = x;
	nng_mtx_unlock(h->mtx);
	curl_multi_wakeup(h->multi);
	return HIE_OK;
}
