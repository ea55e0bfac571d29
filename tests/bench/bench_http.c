/*
 * tests/bench/bench_http.c -- GET one URL N times from T threads (libcurl,
 * one connection per thread, kept alive) and print latency percentiles and
 * throughput.  Used by scripts/bench; not a test.
 *   bench_http URL N THREADS
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
	const char *url;
	int         n;
	double     *lat_ms;
	int         errors;
};

static size_t
discard(char *p, size_t s, size_t n, void *arg)
{
	(void) p;
	(void) arg;
	return s * n;
}

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	CURL          *c = curl_easy_init();

	curl_easy_setopt(c, CURLOPT_URL, w->url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	for (int i = 0; i < w->n; i++) {
		double t0 = now_ms();
		long   code = 0;
		if (curl_easy_perform(c) != CURLE_OK)
			w->errors++;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200)
			w->errors++;
		w->lat_ms[i] = now_ms() - t0;
	}
	curl_easy_cleanup(c);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int            n, t, errors = 0;
	pthread_t     *th;
	struct worker *w;
	double        *all, t0, secs;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_http URL N THREADS\n");
		return 2;
	}
	n = atoi(argv[2]);
	t = atoi(argv[3]);
	if (n <= 0 || t <= 0)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	th = calloc((size_t) t, sizeof(*th));
	w = calloc((size_t) t, sizeof(*w));
	all = calloc((size_t) n * (size_t) t, sizeof(*all));
	t0 = now_ms();
	for (int i = 0; i < t; i++) {
		w[i].url = argv[1];
		w[i].n = n;
		w[i].lat_ms = all + (size_t) i * (size_t) n;
		pthread_create(&th[i], NULL, run, &w[i]);
	}
	for (int i = 0; i < t; i++) {
		pthread_join(th[i], NULL);
		errors += w[i].errors;
	}
	secs = (now_ms() - t0) / 1e3;
	qsort(all, (size_t) n * (size_t) t, sizeof(*all), cmp);
	printf("requests=%d threads=%d errors=%d rate=%.0f/s p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms\n", n * t, t,
	    errors, n * t / secs, all[(size_t) (n * t * 0.50)], all[(size_t) (n * t * 0.90)],
	    all[(size_t) (n * t * 0.99)], all[n * t - 1]);
	free(all);
	free(w);
	free(th);
	curl_global_cleanup();
	return errors ? 1 : 0;
}
