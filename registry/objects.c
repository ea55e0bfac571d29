/* registry/objects.c -- result sets of stored queries: growing arrays of
 * each object type, bounded, without duplicates. */
#include "registry/internal.h"

#include <stdlib.h>
#include <string.h>

/* Appends one element of size sz to *v (n, cap in/out), skipping an
 * element whose first field (the entry_uuid) is already there.  Linear
 * search: result sets are bounded by max_results. */
static hie_err
add(void **v, size_t *n, size_t *cap, const void *x, size_t sz, size_t total, size_t max)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((const char *) *v + i * sz, x) == 0)
			return HIE_OK;
	if (max != 0 && total >= max)
		return HIE_ETOOBIG;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		void  *nv = realloc(*v, ncap * sz);
		if (nv == NULL)
			return HIE_ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	memcpy((char *) *v + (*n)++ * sz, x, sz);
	return HIE_OK;
}

/* Capacities live beside the arrays, invisible to the public struct: the
 * arrays double, so capacity is the next power of two >= n (or 0). */
static size_t
cap_of(size_t n)
{
	size_t c = 8;

	if (n == 0)
		return 0;
	while (c < n)
		c *= 2;
	return c;
}

size_t
reg_objects_count(const struct reg_objects *o)
{
	return o->n_docs + o->n_ss + o->n_folders + o->n_assocs;
}

#define ADDER(fn, T, arr, cnt)                                                              \
	hie_err fn(struct reg_objects *o, const T *x, size_t max)                           \
	{                                                                                   \
		size_t cap = cap_of(o->cnt);                                                    \
		return add((void **) &o->arr, &o->cnt, &cap, x, sizeof(*x), reg_objects_count(o), max); \
	}
ADDER(reg_objects_add_doc, struct reg_entry, docs, n_docs)
ADDER(reg_objects_add_ss, struct reg_subset, ss, n_ss)
ADDER(reg_objects_add_fol, struct reg_folder, folders, n_folders)
ADDER(reg_objects_add_assoc, struct reg_assoc, assocs, n_assocs)
#undef ADDER

void
reg_objects_free(struct reg_objects *o)
{
	free(o->docs);
	free(o->ss);
	free(o->folders);
	free(o->assocs);
	memset(o, 0, sizeof(*o));
}
