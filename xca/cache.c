/* xca/cache.c -- the per-patient result cache (see cache.h).  A few hundred
 * entries at most, so a list searched linearly under one mutex is enough:
 * a lookup costs far less than the network round trip it saves. */
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <stdlib.h>
#include <string.h>

#include "xca/cache.h"

struct entry {
	struct entry *next;
	char         *patient, *key;
	char         *data;
	size_t        len;
	int64_t       born_ms;
};

struct xca_cache {
	nng_mtx      *mtx;
	int64_t       ttl_ms;
	size_t        max_entries, max_bytes;
	size_t        n, bytes;
	struct entry *head; /* newest first */
};

static void
entry_free(struct entry *e)
{
	free(e->patient);
	free(e->key);
	free(e->data);
	free(e);
}

hie_err
xca_cache_new(int ttl_s, size_t max_entries, size_t max_bytes, xca_cache **out)
{
	xca_cache *c;

	*out = NULL;
	if (ttl_s <= 0 || max_entries == 0 || max_bytes == 0)
		return HIE_OK;
	if ((c = calloc(1, sizeof(*c))) == NULL || nng_mtx_alloc(&c->mtx) != 0) {
		free(c);
		return HIE_ENOMEM;
	}
	c->ttl_ms = (int64_t) ttl_s * 1000;
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	*out = c;
	return HIE_OK;
}

void
xca_cache_free(xca_cache *c)
{
	if (c == NULL)
		return;
	while (c->head != NULL) {
		struct entry *e = c->head;
		c->head = e->next;
		entry_free(e);
	}
	nng_mtx_free(c->mtx);
	free(c);
}

/* Unlinks *pp (caller holds the lock). */
static void
drop(xca_cache *c, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->next;
	c->n--;
	c->bytes -= e->len;
	entry_free(e);
}

/* Drops expired entries, then the oldest while over the bounds (caller
 * holds the lock; extra is about to be added). */
static void
trim(xca_cache *c, int64_t now, size_t extra)
{
	struct entry **pp = &c->head;

	while (*pp != NULL) {
		if (now - (*pp)->born_ms >= c->ttl_ms)
			drop(c, pp);
		else
			pp = &(*pp)->next;
	}
	while (c->head != NULL && (c->n + 1 > c->max_entries || c->bytes + extra > c->max_bytes)) {
		pp = &c->head;
		while ((*pp)->next != NULL)
			pp = &(*pp)->next;
		drop(c, pp);
	}
}

hie_err
xca_cache_get(xca_cache *c, const char *patient, const char *key, char **data, size_t *len, int64_t *age_ms)
{
	int64_t now = hie_now_ms();
	hie_err e = HIE_ENOTFOUND;

	*data = NULL;
	*len = 0;
	if (c == NULL)
		return HIE_ENOTFOUND;
	nng_mtx_lock(c->mtx);
	for (struct entry *en = c->head; en != NULL; en = en->next) {
		if (strcmp(en->patient, patient) != 0 || strcmp(en->key, key) != 0)
			continue;
		if (now - en->born_ms >= c->ttl_ms)
			break;
		if ((*data = malloc(en->len + 1)) == NULL) {
			e = HIE_ENOMEM;
			break;
		}
		memcpy(*data, en->data, en->len);
		(*data)[en->len] = '\0';
		*len = en->len;
		if (age_ms != NULL)
			*age_ms = now - en->born_ms;
		e = HIE_OK;
		break;
	}
	nng_mtx_unlock(c->mtx);
	return e;
}

hie_err
xca_cache_put(xca_cache *c, const char *patient, const char *key, const char *data, size_t len)
{
	struct entry *en;

	if (c == NULL)
		return HIE_OK;
	if (len > c->max_bytes)
		return HIE_ETOOBIG;
	if ((en = calloc(1, sizeof(*en))) == NULL || (en->patient = strdup(patient)) == NULL ||
	    (en->key = strdup(key)) == NULL || (en->data = malloc(len + 1)) == NULL) {
		if (en != NULL)
			entry_free(en);
		return HIE_ENOMEM;
	}
	memcpy(en->data, data, len);
	en->len = len;
	en->born_ms = hie_now_ms();
	nng_mtx_lock(c->mtx);
	for (struct entry **pp = &c->head; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->patient, patient) == 0 && strcmp((*pp)->key, key) == 0) {
			drop(c, pp);
			break;
		}
	trim(c, en->born_ms, len);
	en->next = c->head;
	c->head = en;
	c->n++;
	c->bytes += len;
	nng_mtx_unlock(c->mtx);
	return HIE_OK;
}

size_t
xca_cache_invalidate(xca_cache *c, const char *patient)
{
	size_t n = 0;

	if (c == NULL)
		return 0;
	nng_mtx_lock(c->mtx);
	for (struct entry **pp = &c->head; *pp != NULL;) {
		if (strcmp((*pp)->patient, patient) == 0) {
			drop(c, pp);
			n++;
		} else {
			pp = &(*pp)->next;
		}
	}
	nng_mtx_unlock(c->mtx);
	return n;
}

size_t
xca_cache_count(xca_cache *c)
{
	size_t n;

	if (c == NULL)
		return 0;
	nng_mtx_lock(c->mtx);
	n = c->n;
	nng_mtx_unlock(c->mtx);
	return n;
}
