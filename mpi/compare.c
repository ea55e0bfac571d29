/*
 * mpi/compare.c -- field comparators: Jaro-Winkler, Levenshtein and
 * Damerau (optimal string alignment), birth dates with transpositions and
 * near dates, partial addresses, identifiers.
 */
#include "mpi/mpi.h"

#include <stdlib.h>
#include <string.h>

#define CMP_MAX 128 /* longer inputs are compared on their first CMP_MAX bytes */

static size_t
clen(const char *s)
{
	return strnlen(s, CMP_MAX);
}

double
mpi_jaro_winkler(const char *a, const char *b)
{
	unsigned char ma[CMP_MAX] = { 0 }, mb[CMP_MAX] = { 0 };
	size_t        la = clen(a), lb = clen(b), win, m = 0, t = 0, k = 0, pre = 0;
	double        j;

	if (la == 0 && lb == 0)
		return 1.0;
	if (la == 0 || lb == 0)
		return 0.0;
	win = (la > lb ? la : lb) / 2;
	win = win > 0 ? win - 1 : 0;
	for (size_t i = 0; i < la; i++) {
		size_t lo = i > win ? i - win : 0, hi = i + win + 1 < lb ? i + win + 1 : lb;
		for (size_t x = lo; x < hi; x++) {
			if (!mb[x] && a[i] == b[x]) {
				ma[i] = mb[x] = 1;
				m++;
				break;
			}
		}
	}
	if (m == 0)
		return 0.0;
	for (size_t i = 0; i < la; i++) {
		if (!ma[i])
			continue;
		while (!mb[k])
			k++;
		if (a[i] != b[k])
			t++;
		k++;
	}
	j = ((double) m / (double) la + (double) m / (double) lb +
	        ((double) m - (double) t / 2.0) / (double) m) / 3.0;
	/* Winkler: a shared prefix is worth more, but only for strings that
	 * are already similar. */
	if (j > 0.7) {
		while (pre < 4 && pre < la && pre < lb && a[pre] == b[pre])
			pre++;
		j += (double) pre * 0.1 * (1.0 - j);
	}
	return j;
}

static int
min3(int a, int b, int c)
{
	int m = a < b ? a : b;
	return m < c ? m : c;
}

/* One DP for both distances: with transpositions when osa is set. */
static int
edit_distance(const char *a, const char *b, int osa)
{
	int    rows[3][CMP_MAX + 1];
	size_t la = clen(a), lb = clen(b);
	int   *pp = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t x = 0; x <= lb; x++)
		prev[x] = (int) x;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int) i;
		for (size_t x = 1; x <= lb; x++) {
			int cost = a[i - 1] != b[x - 1];
			cur[x] = min3(prev[x] + 1, cur[x - 1] + 1, prev[x - 1] + cost);
			if (osa && i > 1 && x > 1 && a[i - 1] == b[x - 2] && a[i - 2] == b[x - 1] &&
			    pp[x - 2] + 1 < cur[x])
				cur[x] = pp[x - 2] + 1;
		}
		int *tmp = pp;
		pp = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[lb];
}

int
mpi_levenshtein(const char *a, const char *b)
{
	return edit_distance(a, b, 0);
}

int
mpi_damerau(const char *a, const char *b)
{
	return edit_distance(a, b, 1);
}

/* ---- dates ---- */

static int
ymd(const char *s, int *y, int *m, int *d)
{
	int v = 0;

	if (strlen(s) != 8)
		return 0;
	for (int i = 0; i < 8; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*y = v / 10000, *m = v / 100 % 100, *d = v % 100;
	return 1;
}

/* Days since 1970-01-01 (Howard Hinnant's civil calendar arithmetic). */
static long
days(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

mpi_date_level
mpi_date_compare(const char *a, const char *b)
{
	int  ya, ma, da, yb, mb, db, diff = 0, swaps = 0;
	long dd;

	if (!ymd(a, &ya, &ma, &da) || !ymd(b, &yb, &mb, &db))
		return MPI_DATE_MISSING;
	if (strcmp(a, b) == 0)
		return MPI_DATE_EXACT;
	if (ya == yb && ma == db && da == mb)
		return MPI_DATE_TRANSPOSED;
	for (int i = 0; i < 8; i++)
		diff += a[i] != b[i];
	for (int i = 0; i + 1 < 8; i++)
		swaps += a[i] != b[i] && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 1] != b[i + 1];
	if (diff == 1 || (diff == 2 && swaps == 1))
		return MPI_DATE_TYPO;
	dd = labs(days(ya, ma, da) - days(yb, mb, db));
	if (dd <= 31 || (ma == mb && da == db && abs(ya - yb) == 1))
		return MPI_DATE_NEAR;
	return MPI_DATE_DIFF;
}

/* ---- addresses ---- */

/* Copies the next word of *s (spaces skipped) into w; 0 at the end. */
static int
next_word(const char **s, char *w, size_t cap)
{
	size_t n = 0;

	while (**s == ' ')
		(*s)++;
	if (**s == '\0')
		return 0;
	while (**s && **s != ' ') {
		if (n + 1 < cap)
			w[n++] = **s;
		(*s)++;
	}
	w[n] = '\0';
	return 1;
}

/* Mean over a's words of the best Jaro-Winkler against any of b's words. */
static double
token_sim(const char *a, const char *b)
{
	char        wa[64], wb[64];
	const char *pa = a;
	double      sum = 0;
	int         n = 0;

	while (next_word(&pa, wa, sizeof(wa))) {
		const char *pb = b;
		double      best = 0;
		while (next_word(&pb, wb, sizeof(wb))) {
			double s = mpi_jaro_winkler(wa, wb);
			if (s > best)
				best = s;
		}
		sum += best;
		n++;
	}
	return n > 0 ? sum / n : 0;
}

/* The string without spaces: "pridham street" = "pridhamstreet". */
static void
squash(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s && n + 1 < cap; s++)
		if (*s != ' ')
			out[n++] = *s;
	out[n] = '\0';
}

double
mpi_addr_compare(const char *num_a, const char *street_a, const char *num_b, const char *street_b)
{
	char   sa[CMP_MAX], sb[CMP_MAX];
	double words, whole, street;

	if (street_a[0] == '\0' || street_b[0] == '\0')
		street = 0;
	else {
		/* Words in either order, and the run-together spelling: clerks
		 * split and join street names both ways. */
		words = (token_sim(street_a, street_b) + token_sim(street_b, street_a)) / 2;
		squash(street_a, sa, sizeof(sa));
		squash(street_b, sb, sizeof(sb));
		whole = mpi_jaro_winkler(sa, sb);
		street = words > whole ? words : whole;
	}
	if (num_a[0] == '\0' || num_b[0] == '\0')
		return street;
	return 0.7 * street + (strcmp(num_a, num_b) == 0 ? 0.3 : 0);
}

int
mpi_id_compare(const struct mpi_cx *a, const struct mpi_cx *b)
{
	if (a->id[0] == '\0' || b->id[0] == '\0' || strcmp(a->authority, b->authority) != 0)
		return 0;
	return strcmp(a->id, b->id) == 0 ? 1 : -1;
}
