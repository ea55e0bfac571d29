/*
 * mpi/score.c -- Fellegi-Sunter scoring: each field of two match keys is
 * compared into an agreement level; a model (m/u per level, prior p) turns
 * the levels into a log-likelihood weight and a posterior match
 * probability.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mpi/internal.h"

/* Levels of a string similarity: the cut-offs per field kind. */
static uint8_t
sim_level(double s, double hi, double mid, double lo, int nlevels)
{
	if (s >= 0.999)
		return 0;
	if (s >= hi)
		return 1;
	if (nlevels > 3 && s >= mid)
		return 2;
	if (nlevels > 4 && s >= lo)
		return 3;
	return (uint8_t) (nlevels - 1);
}

/* Given names: equal or nickname-equal, close, phonetically equal or
 * fairly close, different. */
static uint8_t
given_level(const char *ga, const char *ca, const char *pa, const char *gb, const char *cb,
    const char *pb)
{
	double s;

	if (ga[0] == '\0' || gb[0] == '\0')
		return MPI_MISSING;
	if (strcmp(ga, gb) == 0 || strcmp(ca, cb) == 0)
		return 0;
	s = mpi_jaro_winkler(ga, gb);
	if (s >= 0.92)
		return 1;
	if (s >= 0.80 || (pa[0] != '\0' && strcmp(pa, pb) == 0))
		return 2;
	return 3;
}

static uint8_t
family_level(const char *fa, const char *pa, const char *fb, const char *pb)
{
	return given_level(fa, fa, pa, fb, fb, pb);
}

static uint8_t
eq_level(const char *a, const char *b)
{
	if (a[0] == '\0' || b[0] == '\0')
		return MPI_MISSING;
	return strcmp(a, b) == 0 ? 0 : 1;
}

/* Equal, one edit (typo, transposition), two edits (ids only), different. */
static uint8_t
edit_level(const char *a, const char *b, int nlevels)
{
	int d;

	if (a[0] == '\0' || b[0] == '\0')
		return MPI_MISSING;
	if (strcmp(a, b) == 0)
		return 0;
	d = mpi_damerau(a, b);
	if (d <= nlevels - 2)
		return (uint8_t) d;
	return (uint8_t) (nlevels - 1);
}

static uint8_t
text_level(const char *a, const char *b)
{
	if (a[0] == '\0' || b[0] == '\0')
		return MPI_MISSING;
	return sim_level(mpi_addr_compare("", a, "", b), 0.92, 0.80, 0, 3);
}

static int
lsum(uint8_t a, uint8_t b, int worst)
{
	return (a == MPI_MISSING ? worst : a) + (b == MPI_MISSING ? worst : b);
}

/* One entry per field: its name and number of levels (the last level is
 * always "disagree"). */
static const struct {
	const char *name;
	int         nlevels;
} fields[MPI_NFIELDS] = {
	[MPI_F_GIVEN] = { "given", 4 },     [MPI_F_FAMILY] = { "family", 4 },
	[MPI_F_DOB] = { "dob", 4 },         [MPI_F_SEX] = { "sex", 2 },
	[MPI_F_STNUM] = { "stnum", 2 },     [MPI_F_STREET] = { "street", 3 },
	[MPI_F_LINE2] = { "line2", 3 },     [MPI_F_CITY] = { "city", 3 },
	[MPI_F_POSTCODE] = { "postcode", 3 }, [MPI_F_STATE] = { "state", 2 },
	[MPI_F_SSN] = { "ssn", 4 },         [MPI_F_PHONE] = { "phone", 3 },
};

const char *
mpi_field_name(int f)
{
	return f >= 0 && f < MPI_NFIELDS ? fields[f].name : "?";
}

int
mpi_field_levels(int f)
{
	return f >= 0 && f < MPI_NFIELDS ? fields[f].nlevels : 0;
}

/* The comparison in three stages, cheapest first, so that a scorer can
 * stop once a candidate cannot reach its threshold (mpi_score_pair):
 * the fields of the record itself (birth date, sex, ids, phone) and the
 * exact parts of each address pair, then names, then address text.
 * Names and addresses are compared per pair of repeats, a pair as a
 * whole: a given name from one name and a surname from another are not a
 * name. */
static void
compare_fixed(const struct mpi_mk *a, const struct mpi_mk *b, uint8_t lv[MPI_NFIELDS])
{
	static const uint8_t dob_level[] = {
		[MPI_DATE_EXACT] = 0, [MPI_DATE_TRANSPOSED] = 1, [MPI_DATE_TYPO] = 1,
		[MPI_DATE_NEAR] = 2, [MPI_DATE_DIFF] = 3, [MPI_DATE_MISSING] = MPI_MISSING,
	};

	lv[MPI_F_DOB] = dob_level[mpi_date_compare(a->dob, b->dob)];
	lv[MPI_F_SEX] = a->sex && b->sex && a->sex != 'U' && b->sex != 'U' ? (a->sex == b->sex ? 0 : 1)
	                                                                  : MPI_MISSING;
	lv[MPI_F_SSN] = edit_level(a->ssn, b->ssn, 4);
	lv[MPI_F_PHONE] = edit_level(a->phone, b->phone, 3);
}

/* The exact fields of one address pair (lv of MPI_F_STNUM, POSTCODE,
 * STATE). */
static void
addr_exact(const struct mpi_mk_addr *a, const struct mpi_mk_addr *b, uint8_t lv[MPI_NFIELDS])
{
	lv[MPI_F_STNUM] = eq_level(a->stnum, b->stnum);
	lv[MPI_F_POSTCODE] = edit_level(a->postcode, b->postcode, 3);
	lv[MPI_F_STATE] = eq_level(a->state, b->state);
}

static void
addr_text(const struct mpi_mk_addr *a, const struct mpi_mk_addr *b, uint8_t lv[MPI_NFIELDS])
{
	uint8_t s1, s2, x1, x2;

	/* Street and second line, also crosswise (lines swapped). */
	s1 = text_level(a->street, b->street);
	s2 = text_level(a->line2, b->line2);
	if (!(s1 == 0 && (s2 == 0 || s2 == MPI_MISSING))) {
		x1 = text_level(a->street, b->line2);
		x2 = text_level(a->line2, b->street);
		if (x1 != MPI_MISSING && x2 != MPI_MISSING && lsum(x1, x2, 2) < lsum(s1, s2, 2))
			s1 = x1, s2 = x2;
	}
	lv[MPI_F_STREET] = s1;
	lv[MPI_F_LINE2] = s2;
	lv[MPI_F_CITY] = text_level(a->city, b->city);
}

static void
name_pair(const struct mpi_mk_name *a, const struct mpi_mk_name *b, uint8_t *gl, uint8_t *fl)
{
	uint8_t g, f, sg, sf;

	/* Names as written, and given/family swapped (a common clerical
	 * error): whichever agrees better. */
	g = given_level(a->given, a->canon, a->given_ph, b->given, b->canon, b->given_ph);
	f = family_level(a->family, a->family_ph, b->family, b->family_ph);
	if (!(g == 0 && f == 0)) { /* else nothing can do better */
		sg = family_level(a->given, a->given_ph, b->family, b->family_ph);
		sf = family_level(a->family, a->family_ph, b->given, b->given_ph);
		if (sg != MPI_MISSING && sf != MPI_MISSING && lsum(sg, sf, 3) < lsum(g, f, 3))
			g = sg, f = sf;
	}
	*gl = g;
	*fl = f;
}

static const int addr_fields[] = { MPI_F_STNUM, MPI_F_POSTCODE, MPI_F_STATE, MPI_F_STREET, MPI_F_LINE2,
	MPI_F_CITY };

/* Disagreement of levels for choosing a pair without a model: each
 * field's level over its worst, missing counting as the worst. */
static double
cost(const uint8_t lv[MPI_NFIELDS], const int *fs, size_t n)
{
	double c = 0;

	for (size_t i = 0; i < n; i++)
		c += lv[fs[i]] == MPI_MISSING ? 1.0 : (double) lv[fs[i]] / (fields[fs[i]].nlevels - 1);
	return c;
}

/* Names and addresses all missing: no pair to compare. */
static void
missing(uint8_t lv[MPI_NFIELDS], const int *fs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lv[fs[i]] = MPI_MISSING;
}

void
mpi_mk_compare(const struct mpi_mk *a, const struct mpi_mk *b, uint8_t lv[MPI_NFIELDS])
{
	static const int names[] = { MPI_F_GIVEN, MPI_F_FAMILY };
	double           best = INFINITY;
	uint8_t          x[MPI_NFIELDS];

	compare_fixed(a, b, lv);
	missing(lv, names, 2);
	for (unsigned i = 0; i < a->nname; i++)
		for (unsigned j = 0; j < b->nname; j++) {
			double c;
			name_pair(&a->name[i], &b->name[j], &x[MPI_F_GIVEN], &x[MPI_F_FAMILY]);
			if ((c = cost(x, names, 2)) < best) {
				best = c;
				lv[MPI_F_GIVEN] = x[MPI_F_GIVEN], lv[MPI_F_FAMILY] = x[MPI_F_FAMILY];
			}
		}
	best = INFINITY;
	missing(lv, addr_fields, 6);
	for (unsigned i = 0; i < a->naddr; i++)
		for (unsigned j = 0; j < b->naddr; j++) {
			double c;
			addr_exact(&a->addr[i], &b->addr[j], x);
			addr_text(&a->addr[i], &b->addr[j], x);
			if ((c = cost(x, addr_fields, 6)) < best) {
				best = c;
				for (size_t f = 0; f < 6; f++)
					lv[addr_fields[f]] = x[addr_fields[f]];
			}
		}
}

/* The floors keep a level never seen in training from giving an infinite
 * weight (mpi_model_weight and the scorer agree on them). */
static double
level_weight(const struct mpi_model *m, int f, int l)
{
	return log2(fmax(m->m[f][l], 1e-6) / fmax(m->u[f][l], 1e-6));
}

void
mpi_scorer_init(struct mpi_scorer *s, const struct mpi_model *m, double min_prob)
{
	memset(s, 0, sizeof(*s));
	s->model = m;
	for (int f = 0; f < MPI_NFIELDS; f++) {
		s->wmax[f] = 0; /* a missing value adds 0 */
		for (int l = 0; l < fields[f].nlevels; l++) {
			s->w[f][l] = level_weight(m, f, l);
			s->wmax[f] = fmax(s->wmax[f], s->w[f][l]);
		}
	}
	for (int i = 0; i < MK_NAMES; i++)
		s->fam0[i] = s->w[MPI_F_FAMILY][0];
	s->prior = log2(m->p / (1 - m->p));
	/* prob >= min_prob <=> weight + prior >= logit2(min_prob); a margin
	 * keeps rounding from pruning a candidate exactly on the line. */
	if (min_prob <= 0)
		s->min_w = -INFINITY;
	else if (min_prob >= 1)
		s->min_w = INFINITY;
	else
		s->min_w = log2(min_prob / (1 - min_prob)) - s->prior - 1e-6;
}

void
mpi_scorer_query(struct mpi_scorer *s, const struct mpi_mk *k)
{
	double base = s->w[MPI_F_FAMILY][0], top = -INFINITY;

	for (unsigned i = 0; i < MK_NAMES; i++) {
		s->fam0[i] = base + (i < k->nname ? mpi_family_adjust(s->model, k->name[i].family) : 0);
		if (i < k->nname || (k->nname == 0 && i == 0))
			top = fmax(top, s->fam0[i]);
	}
	/* The best a surname can add is that of the query's best surname. */
	s->wmax[MPI_F_FAMILY] = top;
	for (int l = 1; l < fields[MPI_F_FAMILY].nlevels; l++)
		s->wmax[MPI_F_FAMILY] = fmax(s->wmax[MPI_F_FAMILY], s->w[MPI_F_FAMILY][l]);
}

static double
partial(const struct mpi_scorer *s, const uint8_t lv[MPI_NFIELDS], const int *fs, size_t n)
{
	double w = 0;

	for (size_t i = 0; i < n; i++)
		if (lv[fs[i]] != MPI_MISSING)
			w += s->w[fs[i]][lv[fs[i]]];
	return w;
}

int
mpi_score_pair(const struct mpi_scorer *s, const struct mpi_mk *a, const struct mpi_mk *b,
    uint8_t lv[MPI_NFIELDS], double *weight)
{
	static const int fixed[] = { MPI_F_DOB, MPI_F_SEX, MPI_F_SSN, MPI_F_PHONE };
	static const int exact[] = { MPI_F_STNUM, MPI_F_POSTCODE, MPI_F_STATE };
	static const int text[] = { MPI_F_STREET, MPI_F_LINE2, MPI_F_CITY };
	uint8_t          ex[MK_ADDRS * MK_ADDRS][3], x[MPI_NFIELDS];
	double           ew[MK_ADDRS * MK_ADDRS], w, addr_ub = 0, best,
	       rest_names = s->wmax[MPI_F_GIVEN] + s->wmax[MPI_F_FAMILY],
	       rest_text = s->wmax[MPI_F_STREET] + s->wmax[MPI_F_LINE2] + s->wmax[MPI_F_CITY];
	unsigned         np = a->naddr * b->naddr;

	compare_fixed(a, b, lv);
	w = partial(s, lv, fixed, 4);
	/* The exact parts of every address pair: the best of them plus the
	 * best text is the most the addresses can add. */
	for (unsigned p = 0; p < np; p++) {
		addr_exact(&a->addr[p / b->naddr], &b->addr[p % b->naddr], x);
		for (int f = 0; f < 3; f++)
			ex[p][f] = x[exact[f]];
		ew[p] = partial(s, x, exact, 3);
		if (p == 0 || ew[p] > addr_ub)
			addr_ub = ew[p];
	}
	if (np > 0)
		addr_ub += rest_text;
	if (w + rest_names + addr_ub < s->min_w)
		return 0;
	/* Names: the best-weighing pair. */
	lv[MPI_F_GIVEN] = lv[MPI_F_FAMILY] = MPI_MISSING;
	best = 0;
	for (unsigned i = 0; i < a->nname; i++)
		for (unsigned j = 0; j < b->nname; j++) {
			uint8_t g, f;
			double  nw = 0;
			name_pair(&a->name[i], &b->name[j], &g, &f);
			if (g != MPI_MISSING)
				nw += s->w[MPI_F_GIVEN][g];
			if (f != MPI_MISSING)
				nw += f == 0 ? s->fam0[i] : s->w[MPI_F_FAMILY][f];
			if ((i == 0 && j == 0) || nw > best) {
				best = nw;
				lv[MPI_F_GIVEN] = g, lv[MPI_F_FAMILY] = f;
			}
		}
	w += best;
	if (w + addr_ub < s->min_w)
		return 0;
	/* Addresses: the best-weighing pair, text compared only for pairs
	 * whose exact part could still beat the best so far. */
	for (int f = 0; f < 6; f++)
		lv[addr_fields[f]] = MPI_MISSING;
	best = 0;
	for (unsigned p = 0; p < np; p++) {
		double pw;
		if (p > 0 && ew[p] + rest_text <= best)
			continue;
		addr_text(&a->addr[p / b->naddr], &b->addr[p % b->naddr], x);
		pw = ew[p] + partial(s, x, text, 3);
		if (p == 0 || pw > best) {
			best = pw;
			for (int f = 0; f < 3; f++)
				lv[exact[f]] = ex[p][f], lv[text[f]] = x[text[f]];
		}
	}
	w += np > 0 ? best : 0;
	*weight = w;
	return 1;
}

/* Priors before any training: agreement is likely among matches and
 * unlikely by chance.  Deliberately modest, so that an untrained node
 * sends doubtful pairs to review rather than linking them. */
void
mpi_model_default(struct mpi_model *m)
{
	memset(m, 0, sizeof(*m));
	m->p = 0.05;
	for (int f = 0; f < MPI_NFIELDS; f++) {
		int n = fields[f].nlevels;
		if (n == 2) {
			m->m[f][0] = 0.9, m->m[f][1] = 0.1;
			m->u[f][0] = 0.05, m->u[f][1] = 0.95;
			continue;
		}
		m->m[f][0] = 0.85, m->m[f][n - 1] = 0.05;
		m->u[f][0] = 0.02, m->u[f][n - 1] = 1 - 0.02 - 0.01 * (n - 2);
		for (int l = 1; l < n - 1; l++)
			m->m[f][l] = 0.10 / (n - 2), m->u[f][l] = 0.01;
	}
	/* Few values: agreement by chance is common. */
	m->u[MPI_F_SEX][0] = 0.5, m->u[MPI_F_SEX][1] = 0.5;
	m->u[MPI_F_STATE][0] = 0.25, m->u[MPI_F_STATE][1] = 0.75;
	m->link = 0.95;
	m->review = 0.30;
}

/* Best weight of a field among levels lo..nlevels-1 (0 if it may be
 * missing: maybe_missing). */
static double
best_from(const struct mpi_scorer *s, int f, int lo)
{
	double w = -INFINITY;

	for (int l = lo; l < fields[f].nlevels; l++)
		w = fmax(w, s->w[f][l]);
	return w;
}

static void
sig_date(uint64_t d, char out[9])
{
	snprintf(out, 9, "%04u%02u%02u", (unsigned) (d >> 9) + 1849, (unsigned) (d >> 5) & 15, (unsigned) d & 31);
}

/* A name hash pair: equal hashes leave every level open; different ones
 * (both known) rule out level 0, which needs the same phonetic code. */
static double
name_bound(const struct mpi_scorer *s, int f, uint64_t ha, uint64_t hb)
{
	if (ha == 0 || hb == 0 || ha == hb)
		return s->wmax[f];
	return best_from(s, f, 1);
}

double
mpi_sig_bound(const struct mpi_scorer *s, uint64_t a, uint64_t b)
{
	uint64_t da = a >> 46, db = b >> 46, sa = a >> 44 & 3, sb = b >> 44 & 3;
	uint64_t ga = a >> 32 & 0xfff, gb = b >> 32 & 0xfff, fa = a >> 20 & 0xfff, fb = b >> 20 & 0xfff;
	uint64_t pa = a >> 9 & 0x7ff, pb = b >> 9 & 0x7ff, na = a >> 2 & 0x7f, nb = b >> 2 & 0x7f;
	double   w = 0;

	/* More names (bit 1) or addresses (bit 0) on either side: another
	 * repeat may agree where the first ones' hashes differ. */
	if ((a | b) & 2)
		ga = gb = fa = fb = 0;
	if ((a | b) & 1)
		pa = pb = na = nb = 0;

	if (da != 0 && db != 0) {
		static const uint8_t lvl[] = { [MPI_DATE_EXACT] = 0, [MPI_DATE_TRANSPOSED] = 1,
			[MPI_DATE_TYPO] = 1, [MPI_DATE_NEAR] = 2, [MPI_DATE_DIFF] = 3 };
		char           x[9], y[9];
		mpi_date_level c;
		sig_date(da, x);
		sig_date(db, y);
		c = mpi_date_compare(x, y);
		w += c == MPI_DATE_MISSING ? s->wmax[MPI_F_DOB] : s->w[MPI_F_DOB][lvl[c]];
	} else {
		w += s->wmax[MPI_F_DOB];
	}
	w += sa != 0 && sb != 0 ? s->w[MPI_F_SEX][sa != sb] : s->wmax[MPI_F_SEX];
	/* Names as written or swapped, whichever could weigh more.  The
	 * given-name hash is of the name as written (not its nickname
	 * canon): as written, two given names still agree fully through
	 * their canon ("bill", "william"), so only the swapped comparison,
	 * which is by spelling, can be bounded by it. */
	w += fmax(s->wmax[MPI_F_GIVEN] + name_bound(s, MPI_F_FAMILY, fa, fb),
	    name_bound(s, MPI_F_GIVEN, ga, fb) + name_bound(s, MPI_F_FAMILY, fa, gb));
	w += pa != 0 && pb != 0 && pa != pb ? best_from(s, MPI_F_POSTCODE, 1) : s->wmax[MPI_F_POSTCODE];
	w += na != 0 && nb != 0 && na != nb ? s->w[MPI_F_STNUM][1] : s->wmax[MPI_F_STNUM];
	w += s->wmax[MPI_F_STREET] + s->wmax[MPI_F_LINE2] + s->wmax[MPI_F_CITY] + s->wmax[MPI_F_STATE] +
	     s->wmax[MPI_F_SSN] + s->wmax[MPI_F_PHONE];
	return w;
}

double
mpi_model_weight(const struct mpi_model *m, const uint8_t lv[MPI_NFIELDS])
{
	double w = 0;

	for (int f = 0; f < MPI_NFIELDS; f++) {
		uint8_t l = lv[f];
		if (l == MPI_MISSING || l >= fields[f].nlevels)
			continue;
		w += level_weight(m, f, l);
	}
	return w;
}

double
mpi_model_prob(const struct mpi_model *m, const uint8_t lv[MPI_NFIELDS])
{
	double w = mpi_model_weight(m, lv) + log2(m->p / (1 - m->p));

	if (w > 60)
		return 1.0;
	if (w < -60)
		return 0.0;
	return 1.0 / (1.0 + exp2(-w));
}
