/*
 * node/metrics.h -- counters and latency histograms in Prometheus text
 * format (GET /metrics).  Thread-safe; a fixed number of series, so a
 * hostile client cannot grow memory by inventing label values (labels come
 * only from the transaction table and the peer directory).
 */
#ifndef NODE_METRICS_H
#define NODE_METRICS_H

#include <stdint.h>

#include "node/hie.h"

/* One request served: transaction ("ITI-38", "api-query"), status. */
void node_metrics_request(const char *transaction, const char *status, int64_t ms);
/* One outbound call to a peer finished with status ("ok", "timeout"...). */
void node_metrics_peer(const char *peer, const char *status, int64_t ms);
/* One inbound transaction answered for a verified requesting community
 * (per-peer volume, errors and latency).  Label values come from member
 * certificates only. */
void node_metrics_inbound(const char *community, const char *transaction, const char *status, int64_t ms);
/* A counter family with one label: name is a fixed string of the caller's
 * ("hie_documents_rejected_total"), help its # HELP text; value from a
 * bounded set (error codes, transaction names). */
void node_metrics_count(const char *name, const char *help, const char *label, const char *value);
/* Appends the exposition text. */
hie_err node_metrics_render(hie_buf *b);

#endif /* NODE_METRICS_H */
