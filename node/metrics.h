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
/* Appends the exposition text. */
hie_err node_metrics_render(hie_buf *b);

#endif /* NODE_METRICS_H */
