/*
 * mpi/normalize.c -- demographics to comparable form: case, diacritics,
 * punctuation, name particles, nicknames, NYSIIS, dates, phones, postcodes.
 */
#include "mpi/mpi.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- text ---- */

/* ASCII folding of U+00C0..U+00FF, one entry per code point. */
static const char *const latin1[64] = {
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
};

/* Latin Extended-A (U+0100..U+017F) comes in runs of one base letter. */
static const struct {
	unsigned    lo, hi;
	const char *ascii;
} latin_ext[] = {
	{ 0x100, 0x105, "a" }, { 0x106, 0x10d, "c" }, { 0x10e, 0x111, "d" }, { 0x112, 0x11b, "e" },
	{ 0x11c, 0x123, "g" }, { 0x124, 0x127, "h" }, { 0x128, 0x131, "i" }, { 0x132, 0x133, "ij" },
	{ 0x134, 0x135, "j" }, { 0x136, 0x138, "k" }, { 0x139, 0x142, "l" }, { 0x143, 0x14b, "n" },
	{ 0x14c, 0x151, "o" }, { 0x152, 0x153, "oe" }, { 0x154, 0x159, "r" }, { 0x15a, 0x161, "s" },
	{ 0x162, 0x167, "t" }, { 0x168, 0x173, "u" }, { 0x174, 0x175, "w" }, { 0x176, 0x178, "y" },
	{ 0x179, 0x17e, "z" }, { 0x17f, 0x17f, "s" },
};

static const char *
fold(unsigned cp)
{
	if (cp >= 0xc0 && cp <= 0xff)
		return latin1[cp - 0xc0];
	for (size_t i = 0; i < sizeof(latin_ext) / sizeof(latin_ext[0]); i++)
		if (cp >= latin_ext[i].lo && cp <= latin_ext[i].hi)
			return latin_ext[i].ascii;
	return NULL;
}

/* Decodes one UTF-8 sequence at s; *len its length (1 for a bad byte,
 * which then folds to nothing). */
static unsigned
utf8_next(const unsigned char *s, size_t *len)
{
	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
		*len = 2;
		return ((unsigned) (s[0] & 0x1f) << 6) | (s[1] & 0x3f);
	}
	if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
		*len = 3;
		return ((unsigned) (s[0] & 0x0f) << 12) | ((unsigned) (s[1] & 0x3f) << 6) | (s[2] & 0x3f);
	}
	*len = 1;
	return 0xfffd;
}

hie_err
mpi_norm_text(const char *in, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *) in;
	size_t               n = 0;
	int                  space = 0;
	hie_err              e = HIE_OK;

	if (cap == 0)
		return HIE_ETOOBIG;
	while (*s) {
		size_t      l;
		unsigned    cp = utf8_next(s, &l);
		const char *f = NULL;
		char        one[2] = { 0, 0 };

		s += l;
		if (cp < 0x80) {
			if (isalnum((int) cp)) {
				one[0] = (char) tolower((int) cp);
				f = one;
			} else if (cp == '\'' || cp == '-' || cp == '`') {
				/* o'brien = obrien, smith-jones = smithjones:
				 * registrations write them both ways. */
				continue;
			} else {
				space = n > 0;
				continue;
			}
		} else if (cp == 0x2019) { /* typographic apostrophe */
			continue;
		} else if ((f = fold(cp)) == NULL) {
			space = n > 0;
			continue;
		}
		for (; *f; f++) {
			if (space) {
				if (n + 1 >= cap) {
					e = HIE_ETOOBIG;
					goto done;
				}
				out[n++] = ' ';
				space = 0;
			}
			if (n + 1 >= cap) {
				e = HIE_ETOOBIG;
				goto done;
			}
			out[n++] = *f;
		}
	}
done:
	out[n] = '\0';
	return e;
}

hie_err
mpi_norm_given(const char *in, char *out, size_t cap)
{
	return mpi_norm_text(in, out, cap);
}

/* Words that start a family name without being its distinctive part. */
static const char *const particles[] = {
	"al", "bin", "da", "das", "de", "degli", "dei", "del", "della", "den", "der", "des", "di",
	"do", "dos", "du", "el", "la", "le", "lo", "st", "ten", "ter", "van", "vande", "vander",
	"von", "zu",
};

static int
is_particle(const char *w, size_t len)
{
	for (size_t i = 0; i < sizeof(particles) / sizeof(particles[0]); i++)
		if (strlen(particles[i]) == len && memcmp(particles[i], w, len) == 0)
			return 1;
	return 0;
}

hie_err
mpi_norm_family(const char *in, char *out, size_t cap)
{
	char    tmp[256];
	char   *w = tmp;
	size_t  n = 0;
	hie_err e = mpi_norm_text(in, tmp, sizeof(tmp));

	if (cap == 0)
		return HIE_ETOOBIG;
	/* Leading particles go while another word follows: "van der berg"
	 * and "berg" are the same registration, spelled by two clerks. */
	for (;;) {
		char *sp = strchr(w, ' ');
		if (sp == NULL || !is_particle(w, (size_t) (sp - w)))
			break;
		w = sp + 1;
	}
	for (; *w; w++) {
		if (*w == ' ')
			continue;
		if (n + 1 >= cap) {
			e = HIE_ETOOBIG;
			break;
		}
		out[n++] = *w;
	}
	out[n] = '\0';
	return e;
}

/* ---- nicknames: sorted (nick, canonical) pairs made from the data file ---- */

static const struct nick {
	const char *nick, *name;
} nicks[] = {
#include "nicknames.inc"
};

static int
nick_cmp(const void *k, const void *e)
{
	return strcmp((const char *) k, ((const struct nick *) e)->nick);
}

const char *
mpi_nickname(const char *name)
{
	const struct nick *hit = bsearch(name, nicks, sizeof(nicks) / sizeof(nicks[0]),
	    sizeof(nicks[0]), nick_cmp);

	if (hit == NULL)
		return name;
	while (hit > nicks && strcmp(hit[-1].nick, name) == 0)
		hit--;
	return hit->name;
}

/* ---- NYSIIS (Taft 1970), written from the published rules ---- */

static int
vowel(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Prefix and suffix rewrites, applied once each, first match wins. */
static const struct {
	const char *from, *to;
} nys_first[] = {
	{ "mac", "mcc" }, { "kn", "nn" }, { "k", "c" }, { "ph", "ff" }, { "pf", "ff" }, { "sch", "sss" },
}, nys_last[] = {
	{ "ee", "y" }, { "ie", "y" }, { "dt", "d" }, { "rt", "d" }, { "rd", "d" }, { "nt", "d" }, { "nd", "d" },
};

hie_err
mpi_nysiis(const char *name, char *out, size_t cap)
{
	char   s[72];
	char   key[72];
	size_t n = 0, k = 0;

	if (cap == 0)
		return HIE_ETOOBIG;
	for (; *name && n + 1 < sizeof(s); name++)
		if (*name >= 'a' && *name <= 'z')
			s[n++] = *name;
	s[n] = '\0';
	out[0] = '\0';
	if (n == 0)
		return HIE_OK;
	for (size_t i = 0; i < sizeof(nys_first) / sizeof(nys_first[0]); i++) {
		size_t l = strlen(nys_first[i].from);
		if (n >= l && memcmp(s, nys_first[i].from, l) == 0) {
			memcpy(s, nys_first[i].to, l); /* same length */
			break;
		}
	}
	for (size_t i = 0; i < sizeof(nys_last) / sizeof(nys_last[0]); i++) {
		if (n >= 2 && memcmp(s + n - 2, nys_last[i].from, 2) == 0) {
			s[n - 2] = nys_last[i].to[0];
			s[--n] = '\0';
			break;
		}
	}
	key[k++] = s[0];
	for (size_t i = 1; i < n; i++) {
		char *c = &s[i];
		if (c[0] == 'e' && c[1] == 'v') {
			c[0] = 'a';
			c[1] = 'f';
		} else if (vowel(c[0])) {
			c[0] = 'a';
		} else if (c[0] == 'q') {
			c[0] = 'g';
		} else if (c[0] == 'z') {
			c[0] = 's';
		} else if (c[0] == 'm') {
			c[0] = 'n';
		} else if (c[0] == 'k') {
			c[0] = c[1] == 'n' ? 'n' : 'c';
		} else if (c[0] == 's' && c[1] == 'c' && c[2] == 'h') {
			c[1] = c[2] = 's';
		} else if (c[0] == 'p' && c[1] == 'h') {
			c[0] = c[1] = 'f';
		} else if (c[0] == 'h' && (!vowel(c[-1]) || !vowel(c[1]))) {
			c[0] = c[-1];
		} else if (c[0] == 'w' && vowel(c[-1])) {
			c[0] = c[-1];
		}
		if (c[0] != key[k - 1])
			key[k++] = c[0];
	}
	if (k > 1 && key[k - 1] == 's')
		k--;
	if (k > 2 && key[k - 2] == 'a' && key[k - 1] == 'y') {
		key[k - 2] = 'y';
		k--;
	}
	if (k > 1 && key[k - 1] == 'a')
		k--;
	if (k > 8)
		k = 8;
	key[k] = '\0';
	return hie_strlcpy(out, key, cap);
}

/* ---- dates ---- */

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
valid_ymd(int y, int m, int d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (y < 1850 || y > 2200 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && leap(y));
}

/* Reads exactly n digits. */
static int
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

hie_err
mpi_date_parse(const char *in, char out[9])
{
	int    y = 0, m = 0, d = 0, a, b;
	size_t len;

	out[0] = '\0';
	while (*in == ' ')
		in++;
	len = strlen(in);
	while (len > 0 && in[len - 1] == ' ')
		len--;
	if (len >= 8 && digits(in, 8, &a)) {
		/* YYYYMMDD, or an HL7 TS: more digits and an optional zone. */
		const char *t = in + 8;
		size_t      tl = 0;
		while (t[tl] >= '0' && t[tl] <= '9')
			tl++;
		if (tl > 6 || (tl % 2) != 0)
			return HIE_EINVAL;
		if (8 + tl != len && !((t[tl] == '+' || t[tl] == '-') && 8 + tl + 5 == len &&
		                         digits(t + tl + 1, 4, &b)))
			return HIE_EINVAL;
		y = a / 10000, m = a / 100 % 100, d = a % 100;
	} else if (len == 10 && (in[4] == '-' || in[4] == '/') && in[7] == in[4] &&
	           digits(in, 4, &y) && digits(in + 5, 2, &m) && digits(in + 8, 2, &d)) {
		/* YYYY-MM-DD, YYYY/MM/DD */
	} else if (len == 10 && (in[2] == '/' || in[2] == '-' || in[2] == '.') && in[5] == in[2] &&
	           digits(in, 2, &a) && digits(in + 3, 2, &b) && digits(in + 6, 4, &y)) {
		/* DD/MM/YYYY; MM/DD/YYYY only when it cannot be a day-month. */
		if (b > 12 && a <= 12)
			m = a, d = b;
		else
			d = a, m = b;
	} else {
		return HIE_EINVAL;
	}
	if (!valid_ymd(y, m, d))
		return HIE_EINVAL;
	out[0] = (char) ('0' + y / 1000);
	out[1] = (char) ('0' + y / 100 % 10);
	out[2] = (char) ('0' + y / 10 % 10);
	out[3] = (char) ('0' + y % 10);
	out[4] = (char) ('0' + m / 10);
	out[5] = (char) ('0' + m % 10);
	out[6] = (char) ('0' + d / 10);
	out[7] = (char) ('0' + d % 10);
	out[8] = '\0';
	return HIE_OK;
}

/* ---- phones and postcodes ---- */

hie_err
mpi_norm_phone(const char *in, char *out, size_t cap)
{
	char   d[64];
	size_t n = 0, off = 0;
	int    intl = 0;

	for (const char *p = in; *p; p++) {
		if (*p == '+' && n == 0)
			intl = 1;
		else if (*p >= '0' && *p <= '9' && n + 1 < sizeof(d))
			d[n++] = *p;
	}
	d[n] = '\0';
	if (!intl && n > 2 && d[0] == '0' && d[1] == '0')
		intl = 1, off = 2;
	if (intl) {
		/* The country codes the node's patients come with most; others
		 * are kept whole and still compare equal to themselves. */
		if (d[off] == '1')
			off += 1;
		else if (d[off] == '6' && d[off + 1] == '1')
			off += 2;
	} else if (n == 11 && d[0] == '1') {
		off = 1; /* North American 1-NPA-NXX-XXXX */
	}
	if (d[off] == '0')
		off++; /* trunk prefix */
	if (n - off < 6) {
		if (cap > 0)
			out[0] = '\0';
		return HIE_EINVAL;
	}
	return hie_strlcpy(out, d + off, cap);
}

hie_err
mpi_norm_postcode(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return HIE_ETOOBIG;
	for (; *in; in++) {
		if (!isalnum((unsigned char) *in))
			continue;
		if (n + 1 >= cap) {
			out[n] = '\0';
			return HIE_ETOOBIG;
		}
		out[n++] = (char) toupper((unsigned char) *in);
	}
	out[n] = '\0';
	return n > 0 ? HIE_OK : HIE_EINVAL;
}
