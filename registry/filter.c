/* registry/filter.c -- whether a DocumentEntry matches the parameters of
 * a FindDocuments-style stored query (ITI TF-2a 3.18.4.1.2.3.6). */
#include "registry/internal.h"

#include <string.h>

static int
codes_match(const struct reg_codes *c, const char *code)
{
	if (c->n == 0)
		return 1;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i], code) == 0)
			return 1;
	return 0;
}

int
reg_lines_match(const char *lines, const struct reg_codes *c)
{
	const char *l = lines;

	if (c->n == 0)
		return 1;
	while (*l != '\0') {
		const char *end = strchr(l, '\n');
		size_t      n = end ? (size_t) (end - l) : strlen(l);
		const char *caret = memchr(l, '^', n);
		size_t      cn = caret && caret + 1 < l + n && caret[1] == '^' ? (size_t) (caret - l) : n;
		for (size_t i = 0; i < c->n; i++)
			if (strlen(c->v[i]) == cn && memcmp(c->v[i], l, cn) == 0)
				return 1;
		l += n;
		if (*l == '\n')
			l++;
	}
	return 0;
}

/* DTM values compare as strings once both are cut to the same precision
 * (ITI TF-3 4.2.3.1.7: truncated values match the range). */
int
reg_time_in(const char *t, const char *from, const char *to)
{
	if (from[0] == '\0' && to[0] == '\0')
		return 1;
	if (t[0] == '\0')
		return 0;
	if (from[0] != '\0' && strncmp(t, from, strlen(from)) < 0)
		return 0;
	if (to[0] != '\0' && strncmp(t, to, strlen(to)) >= 0)
		return 0;
	return 1;
}

/* SQL LIKE as ebRS uses it: % any run, _ any one character.  Iterative
 * with one backtrack point, so a hostile pattern costs O(n*m), not
 * exponential time. */
int
reg_like(const char *s, const char *p)
{
	const char *star = NULL, *mark = NULL;

	while (*s != '\0') {
		if (*p == '%') {
			star = p++;
			mark = s;
		} else if (*p != '\0' && (*p == '_' || *p == *s)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++mark;
		} else {
			return 0;
		}
	}
	while (*p == '%')
		p++;
	return *p == '\0';
}

static int
refs_match(const struct reg_refids *r, const char *lines)
{
	if (r->n == 0)
		return 1;
	for (size_t i = 0; i < r->n; i++) {
		size_t      n = strlen(r->v[i]);
		const char *l = lines;
		while ((l = strstr(l, r->v[i])) != NULL) {
			if ((l == lines || l[-1] == '\n') && (l[n] == '\0' || l[n] == '\n'))
				return 1;
			l += n;
		}
	}
	return 0;
}

int
reg_entry_matches(const struct reg_entry *e, const struct reg_query *q)
{
	if (q->approved_only && strcmp(e->status, "Approved") != 0)
		return 0;
	if (q->deprecated_only && strcmp(e->status, "Deprecated") != 0)
		return 0;
	if (q->on_demand_only)
		return 0; /* this registry holds stable documents only */
	if (!codes_match(&q->type_codes, e->type_code) || !codes_match(&q->class_codes, e->class_code) ||
	    !codes_match(&q->format_codes, e->format_code) ||
	    !codes_match(&q->practice_codes, e->practice_code) ||
	    !codes_match(&q->facility_codes, e->facility_code))
		return 0;
	for (size_t g = 0; g < q->n_conf_groups; g++)
		if (!codes_match(&q->conf_codes[g], e->confidentiality))
			return 0;
	for (size_t g = 0; g < q->n_event_groups; g++)
		if (!reg_lines_match(e->event_codes, &q->event_codes[g]))
			return 0;
	if (!refs_match(&q->reference_ids, e->reference_ids))
		return 0;
	if (!reg_time_in(e->creation_time, q->creation_from, q->creation_to) ||
	    !reg_time_in(e->service_start, q->service_start_from, q->service_start_to) ||
	    !reg_time_in(e->service_stop, q->service_stop_from, q->service_stop_to))
		return 0;
	if (q->n_authors > 0) {
		size_t i;
		for (i = 0; i < q->n_authors; i++)
			if (reg_like(e->author, q->authors[i]))
				break;
		if (i == q->n_authors)
			return 0;
	}
	return 1;
}
