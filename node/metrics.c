/* node/metrics.c -- Prometheus counters and histograms. */
#include "node/metrics.h"

#include <pthread.h>
#include <string.h>

#define MAX_SERIES 512
static const int64_t bounds_ms[] = { 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };
#define NB (sizeof(bounds_ms) / sizeof(bounds_ms[0]))

struct series {
	int      kind; /* 0 request, 1 peer, 2 inbound by requesting community */
	char     a[64], b[24], c[16];
	uint64_t count, sum_ms;
	uint64_t bucket[NB];
};

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static struct series   series[MAX_SERIES];
static size_t          nseries;

static void
observe3(int kind, const char *a, const char *b, const char *c, int64_t ms)
{
	struct series *s = NULL;

	pthread_mutex_lock(&mtx);
	for (size_t i = 0; i < nseries; i++)
		if (series[i].kind == kind && strcmp(series[i].a, a) == 0 && strcmp(series[i].b, b) == 0 &&
		    strcmp(series[i].c, c) == 0)
			s = &series[i];
	if (s == NULL && nseries < MAX_SERIES) {
		s = &series[nseries++];
		s->kind = kind;
		hie_strlcpy(s->a, a, sizeof(s->a));
		hie_strlcpy(s->b, b, sizeof(s->b));
		hie_strlcpy(s->c, c, sizeof(s->c));
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

static void
observe(int kind, const char *a, const char *b, int64_t ms)
{
	observe3(kind, a, b, "", ms);
}

void
node_metrics_inbound(const char *community, const char *transaction, const char *status, int64_t ms)
{
	observe3(2, community, transaction, status, ms);
}

#define MAX_COUNTERS 256
static struct counter {
	const char *name, *help, *label;
	char        value[48];
	uint64_t    n;
} counters[MAX_COUNTERS];
static size_t ncounters;

void
node_metrics_count(const char *name, const char *help, const char *label, const char *value)
{
	pthread_mutex_lock(&mtx);
	for (size_t i = 0; i < ncounters; i++)
		if (counters[i].name == name && strcmp(counters[i].value, value) == 0) {
			counters[i].n++;
			pthread_mutex_unlock(&mtx);
			return;
		}
	if (ncounters < MAX_COUNTERS) {
		struct counter *c = &counters[ncounters++];
		c->name = name;
		c->help = help;
		c->label = label;
		hie_strlcpy(c->value, value, sizeof(c->value));
		c->n = 1;
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
	/* Inbound by requesting community: volume, errors, latency per peer. */
	if (e == HIE_OK)
		e = hie_buf_addstr(b, "# HELP hie_inbound_total Transactions answered by requesting community, transaction and status.\n"
		                      "# TYPE hie_inbound_total counter\n");
	for (size_t i = 0; i < nseries && e == HIE_OK; i++)
		if (series[i].kind == 2)
			e = hie_buf_printf(b, "hie_inbound_total{community=\"%s\",transaction=\"%s\",status=\"%s\"} %llu\n",
			    series[i].a, series[i].b, series[i].c, (unsigned long long) series[i].count);
	if (e == HIE_OK)
		e = hie_buf_addstr(b, "# HELP hie_inbound_seconds Latency by requesting community and transaction.\n"
		                      "# TYPE hie_inbound_seconds histogram\n");
	for (size_t i = 0; i < nseries && e == HIE_OK; i++) {
		const struct series *s = &series[i];
		if (s->kind != 2)
			continue;
		for (size_t k = 0; k < NB && e == HIE_OK; k++)
			e = hie_buf_printf(b, "hie_inbound_seconds_bucket{community=\"%s\",transaction=\"%s\",status=\"%s\",le=\"%g\"} %llu\n",
			    s->a, s->b, s->c, (double) bounds_ms[k] / 1000.0, (unsigned long long) s->bucket[k]);
		if (e == HIE_OK)
			e = hie_buf_printf(b,
			    "hie_inbound_seconds_bucket{community=\"%s\",transaction=\"%s\",status=\"%s\",le=\"+Inf\"} %llu\n"
			    "hie_inbound_seconds_sum{community=\"%s\",transaction=\"%s\",status=\"%s\"} %g\n"
			    "hie_inbound_seconds_count{community=\"%s\",transaction=\"%s\",status=\"%s\"} %llu\n",
			    s->a, s->b, s->c, (unsigned long long) s->count, s->a, s->b, s->c, (double) s->sum_ms / 1000.0, s->a,
			    s->b, s->c, (unsigned long long) s->count);
	}
	/* Counter families, each once with its HELP/TYPE. */
	for (size_t i = 0; i < ncounters && e == HIE_OK; i++) {
		size_t j;
		for (j = 0; j < i; j++)
			if (counters[j].name == counters[i].name)
				break;
		if (j < i)
			continue;
		e = hie_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", counters[i].name, counters[i].help, counters[i].name);
		for (j = i; j < ncounters && e == HIE_OK; j++)
			if (counters[j].name == counters[i].name)
				e = hie_buf_printf(b, "%s{%s=\"%s\"} %llu\n", counters[j].name, counters[j].label, counters[j].value,
				    (unsigned long long) counters[j].n);
	}
	pthread_mutex_unlock(&mtx);
	return e;
}
