/* node/metrics.c -- Prometheus counters and histograms. */
#include "node/metrics.h"

#include <pthread.h>
#include <string.h>

#define MAX_SERIES 512
static const int64_t bounds_ms[] = { 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };
#define NB (sizeof(bounds_ms) / sizeof(bounds_ms[0]))

struct series {
	int      kind; /* 0 request, 1 peer */
	char     a[64], b[24];
	uint64_t count, sum_ms;
	uint64_t bucket[NB];
};

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static struct series   series[MAX_SERIES];
static size_t          nseries;

static void
observe(int kind, const char *a, const char *b, int64_t ms)
{
	struct series *s = NULL;

	pthread_mutex_lock(&mtx);
	for (size_t i = 0; i < nseries; i++)
		if (series[i].kind == kind && strcmp(series[i].a, a) == 0 && strcmp(series[i].b, b) == 0)
			s = &series[i];
	if (s == NULL && nseries < MAX_SERIES) {
		s = &series[nseries++];
		s->kind = kind;
		hie_strlcpy(s->a, a, sizeof(s->a));
		hie_strlcpy(s->b, b, sizeof(s->b));
	}
	if (s != NULL) {
		s->count++;
		s->sum_ms += (uint64_t) (ms < 0 ? 0 : ms);
		for (size_t i = 0; i < NB; i++)
			if (ms <= bounds_ms[i])
				s->bucket[i]++;
	}
	pthread_mutex_unlock(&mtx);
}

void
node_metrics_request(const char *transaction, const char *status, int64_t ms)
{
	observe(0, transaction, status, ms);
}

void
node_metrics_peer(const char *peer, const char *status, int64_t ms)
{
	observe(1, peer, status, ms);
}

hie_err
node_metrics_render(hie_buf *b)
{
	static const char *const names[2][2] = {
		{ "hie_requests", "transaction" },
		{ "hie_peer_calls", "peer" },
	};
	hie_err e = HIE_OK;

	pthread_mutex_lock(&mtx);
	for (int kind = 0; kind < 2 && e == HIE_OK; kind++) {
		const char *m = names[kind][0], *l = names[kind][1];
		e = hie_buf_printf(b,
		    "# HELP %s_total %s by %s and status.\n# TYPE %s_total counter\n", m,
		    kind ? "Outbound calls to peers" : "Requests served", l, m);
		for (size_t i = 0; i < nseries && e == HIE_OK; i++)
			if (series[i].kind == kind)
				e = hie_buf_printf(b, "%s_total{%s=\"%s\",status=\"%s\"} %llu\n", m, l, series[i].a,
				    series[i].b, (unsigned long long) series[i].count);
		if (e == HIE_OK)
			e = hie_buf_printf(b, "# HELP %s_seconds Latency.\n# TYPE %s_seconds histogram\n", m, m);
		for (size_t i = 0; i < nseries && e == HIE_OK; i++) {
			const struct series *s = &series[i];
			if (s->kind != kind)
				continue;
			for (size_t k = 0; k < NB && e == HIE_OK; k++)
				e = hie_buf_printf(b, "%s_seconds_bucket{%s=\"%s\",status=\"%s\",le=\"%g\"} %llu\n", m, l,
				    s->a, s->b, (double) bounds_ms[k] / 1000.0, (unsigned long long) s->bucket[k]);
			if (e == HIE_OK)
				e = hie_buf_printf(b,
				    "%s_seconds_bucket{%s=\"%s\",status=\"%s\",le=\"+Inf\"} %llu\n"
				    "%s_seconds_sum{%s=\"%s\",status=\"%s\"} %g\n"
				    "%s_seconds_count{%s=\"%s\",status=\"%s\"} %llu\n",
				    m, l, s->a, s->b, (unsigned long long) s->count, m, l, s->a, s->b,
				    (double) s->sum_ms / 1000.0, m, l, s->a, s->b, (unsigned long long) s->count);
		}
	}
	pthread_mutex_unlock(&mtx);
	return e;
}
