/*
 * xca/cache.h -- a short-lived per-patient cache of clinician query
 * results, so that a clinician paging through a patient's documents does
 * not ask every peer again.
 *
 * An entry is the rendered answer (bytes) under a key the caller builds
 * from everything that shapes the answer (patient, filters, requester: a
 * peer may answer one clinician differently from another).  Entries live
 * ttl_s seconds; xca_cache_invalidate drops every entry of one patient at
 * once (the API's DELETE, or a caller that knows the records changed).
 * Bounded: at most max_entries entries and max_bytes bytes, oldest dropped
 * first.  Thread-safe.
 */
#ifndef XCA_CACHE_H
#define XCA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "node/hie.h"

typedef struct xca_cache xca_cache;

/* ttl_s <= 0: no cache (*out NULL, and every call below accepts NULL). */
hie_err xca_cache_new(int ttl_s, size_t max_entries, size_t max_bytes, xca_cache **out);
void    xca_cache_free(xca_cache *c);

/* A copy of the fresh entry for (patient, key): *data malloc'd, caller
 * frees; *age_ms how old it is.  HIE_ENOTFOUND when absent or expired. */
hie_err xca_cache_get(xca_cache *c, const char *patient, const char *key, char **data, size_t *len, int64_t *age_ms);

/* Stores a copy of data[len] (replacing an entry of the same key).
 * HIE_ETOOBIG if it alone is over max_bytes (nothing stored). */
hie_err xca_cache_put(xca_cache *c, const char *patient, const char *key, const char *data, size_t len);

/* Drops every entry of patient; returns how many. */
size_t xca_cache_invalidate(xca_cache *c, const char *patient);

/* Entries held now (metrics, tests). */
size_t xca_cache_count(xca_cache *c);

#endif /* XCA_CACHE_H */
