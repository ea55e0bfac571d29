/* xca/filter.c -- the clinician's filters applied again to what peers sent:
 * a standard gateway should honour them in its ITI-38 answer, but one that
 * ignores a parameter must not put other types, dates or confidentiality
 * levels in front of the clinician. */
#include <string.h>

#include "xca/internal.h"

static int
code_in(const struct reg_codes *c, const char *code)
{
	if (c->n == 0)
		return 1;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i], code) == 0)
			return 1;
	return 0;
}

/* DTM values (YYYY[MM[DD[hh[mm[ss]]]]]) compare as strings cut to the
 * bound's precision: from is inclusive, to exclusive (ITI TF-2a 3.18). */
static int
time_in(const char *t, const char *from, const char *to)
{
	if (from[0] != '\0' && (t[0] == '\0' || strncmp(t, from, strlen(from)) < 0))
		return 0;
	if (to[0] != '\0' && (t[0] == '\0' || strncmp(t, to, strlen(to)) >= 0))
		return 0;
	return 1;
}

int
xca_entry_wanted(const struct reg_query *q, const struct reg_entry *e)
{
	if (!code_in(&q->type_codes, e->type_code) || !time_in(e->creation_time, q->creation_from, q->creation_to))
		return 0;
	for (size_t g = 0; g < q->n_conf_groups && g < REG_MAX_AND; g++)
		if (!code_in(&q->conf_codes[g], e->confidentiality))
			return 0;
	return 1;
}
