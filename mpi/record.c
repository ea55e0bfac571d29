/*
 * mpi/record.c -- a source record checked and turned into its match key:
 * validation (what makes a record refusable), the match key built from the
 * normalised demographics, and the match key's stored form.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mpi/internal.h"
#include "node/config.h"

static int
has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

#define WHY(...) (snprintf(why, cap, __VA_ARGS__), HIE_EINVAL)

hie_err
mpi_validate(struct mpi_patient *p, char *why, size_t cap)
{
	char   d[9];
	int    named = 0;
	size_t i, j;

	if (p->n_names > MPI_MAX_NAMES || p->n_addrs > MPI_MAX_ADDRS || p->n_phones > MPI_MAX_PHONES ||
	    p->n_ids > MPI_MAX_IDS)
		return WHY("too many repeats");
	for (i = 0; i < p->n_names; i++) {
		const struct mpi_name *n = &p->names[i];
		if (has_ctl(n->given) || has_ctl(n->family) || has_ctl(n->middle) || has_ctl(n->use))
			return WHY("control character in name %zu", i + 1);
		named |= n->given[0] != '\0' || n->family[0] != '\0';
	}
	for (i = 0; i < p->n_addrs; i++) {
		const struct mpi_addr *a = &p->addrs[i];
		if (has_ctl(a->number) || has_ctl(a->street) || has_ctl(a->line2) || has_ctl(a->city) ||
		    has_ctl(a->state) || has_ctl(a->postcode) || has_ctl(a->country) || has_ctl(a->use))
			return WHY("control character in address %zu", i + 1);
	}
	for (i = 0; i < p->n_phones; i++)
		if (has_ctl(p->phones[i].number) || has_ctl(p->phones[i].use))
			return WHY("control character in phone %zu", i + 1);
	if (has_ctl(p->source))
		return WHY("control character in source");
	if (!named)
		return WHY("no name (given or family)");
	if (p->birth_date[0] != '\0') {
		if (mpi_date_parse(p->birth_date, d) != HIE_OK)
			return WHY("invalid birth date \"%.16s\"", p->birth_date);
		memcpy(p->birth_date, d, sizeof(d));
	}
	if (p->sex >= 'a' && p->sex <= 'z')
		p->sex = (char) (p->sex - 'a' + 'A');
	if (p->sex != 0 && strchr("MFOU", p->sex) == NULL)
		return WHY("invalid administrative sex '%c'", p->sex);
	for (i = 0; i < p->n_ids; i++) {
		const struct mpi_ident *x = &p->ids[i];
		char                    buf[300];
		struct mpi_cx           back;
		/* Round trip through the strict CX parser: whatever it refuses
		 * (separators in the id, an authority that is not an OID) is an
		 * impossible identifier. */
		if (mpi_cx_format(&x->cx, buf, sizeof(buf)) != HIE_OK || mpi_cx_parse(buf, &back) != HIE_OK ||
		    has_ctl(x->type))
			return WHY("impossible identifier %zu (id \"%.40s\", authority \"%.60s\")", i + 1,
			    x->cx.id, x->cx.authority);
		for (j = 0; j < i; j++)
			if (mpi_id_compare(&p->ids[j].cx, &x->cx) < 0 && strcmp(p->ids[j].type, "SS") != 0 &&
			    strcmp(x->type, "SS") != 0)
				return WHY("two different identifiers in authority %.60s", x->cx.authority);
	}
	if (p->birth_date[0] == '\0' && p->n_ids == 0)
		return WHY("neither a birth date nor an identifier");
	return HIE_OK;
}

/* 32-bit FNV-1a. */
static uint32_t
fnv(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 16777619u;
	return h;
}

/* Repeats in the order the match key keeps them: the one with use
 * `first` (L legal name, H home address) ahead, then the others as given. */
static size_t
repeat_order(size_t n, const char *uses, size_t stride, const char *first, size_t *order)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(uses + i * stride, first) == 0) {
			order[k++] = i;
			break;
		}
	for (size_t i = 0; i < n; i++)
		if (k == 0 || order[0] != i)
			order[k++] = i;
	return k;
}

static void
squash_copy(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in && n + 1 < cap; in++)
		if (*in != ' ')
			out[n++] = *in;
	out[n] = '\0';
}

static void
name_build(const struct mpi_name *n, struct mpi_mk_name *k)
{
	char tmp[128], *sp;

	mpi_norm_given(n->given, tmp, sizeof(tmp));
	/* The first given name is the one people are called by; the
	 * others are as often left out as written. */
	if ((sp = strchr(tmp, ' ')) != NULL)
		*sp = '\0';
	hie_strlcpy(k->given, tmp, sizeof(k->given));
	hie_strlcpy(k->canon, mpi_nickname(k->given), sizeof(k->canon));
	mpi_nysiis(k->canon, k->given_ph, sizeof(k->given_ph));
	mpi_norm_family(n->family, k->family, sizeof(k->family));
	mpi_nysiis(k->family, k->family_ph, sizeof(k->family_ph));
}

static void
addr_build(const struct mpi_addr *a, struct mpi_mk_addr *k)
{
	char tmp[128];

	mpi_norm_text(a->number, tmp, sizeof(tmp));
	squash_copy(tmp, k->stnum, sizeof(k->stnum));
	mpi_norm_text(a->street, k->street, sizeof(k->street));
	mpi_norm_text(a->line2, k->line2, sizeof(k->line2));
	mpi_norm_text(a->city, k->city, sizeof(k->city));
	mpi_norm_text(a->state, k->state, sizeof(k->state));
	if (mpi_norm_postcode(a->postcode, k->postcode, sizeof(k->postcode)) != HIE_OK)
		k->postcode[0] = '\0';
}

void
mpi_mk_build(const struct mpi_patient *p, struct mpi_mk *k)
{
	size_t order[MPI_MAX_NAMES > MPI_MAX_ADDRS ? MPI_MAX_NAMES : MPI_MAX_ADDRS], n;

	memset(k, 0, sizeof(*k));
	k->eid = p->eid;
	k->sex = p->sex;
	/* Every repeat, normalised; one that normalises to nothing or to a
	 * repeat already kept adds nothing to compare. */
	n = repeat_order(p->n_names < MPI_MAX_NAMES ? p->n_names : MPI_MAX_NAMES, p->names[0].use,
	    sizeof(p->names[0]), "L", order);
	for (size_t i = 0; i < n && k->nname < MK_NAMES; i++) {
		struct mpi_mk_name *x = &k->name[k->nname];
		int                 dup = 0;
		name_build(&p->names[order[i]], x);
		for (unsigned j = 0; j < k->nname && !dup; j++)
			dup = strcmp(k->name[j].given, x->given) == 0 && strcmp(k->name[j].family, x->family) == 0;
		if (!dup && (x->given[0] != '\0' || x->family[0] != '\0'))
			k->nname++;
		else
			memset(x, 0, sizeof(*x));
	}
	n = repeat_order(p->n_addrs < MPI_MAX_ADDRS ? p->n_addrs : MPI_MAX_ADDRS, p->addrs[0].use,
	    sizeof(p->addrs[0]), "H", order);
	for (size_t i = 0; i < n && k->naddr < MK_ADDRS; i++) {
		struct mpi_mk_addr *x = &k->addr[k->naddr];
		int                 dup = 0;
		addr_build(&p->addrs[order[i]], x);
		for (unsigned j = 0; j < k->naddr && !dup; j++)
			dup = strcmp(k->addr[j].stnum, x->stnum) == 0 && strcmp(k->addr[j].street, x->street) == 0 &&
			      strcmp(k->addr[j].line2, x->line2) == 0 && strcmp(k->addr[j].city, x->city) == 0 &&
			      strcmp(k->addr[j].postcode, x->postcode) == 0 && strcmp(k->addr[j].state, x->state) == 0;
		if (!dup && (x->stnum[0] || x->street[0] || x->line2[0] || x->city[0] || x->postcode[0] ||
		                x->state[0]))
			k->naddr++;
		else
			memset(x, 0, sizeof(*x));
	}
	if (p->birth_date[0] != '\0')
		hie_strlcpy(k->dob, p->birth_date, sizeof(k->dob));
	if (p->n_phones > 0 && mpi_norm_phone(p->phones[0].number, k->phone, sizeof(k->phone)) != HIE_OK)
		k->phone[0] = '\0';
	for (size_t i = 0; i < p->n_ids; i++) {
		const struct mpi_ident *x = &p->ids[i];
		if (strcmp(x->type, "SS") == 0) {
			if (k->ssn[0] == '\0')
				squash_copy(x->cx.id, k->ssn, sizeof(k->ssn));
		} else if (k->nidh < MK_IDS) {
			k->idh[k->nidh++] = (uint64_t) fnv(x->cx.authority) << 32 | fnv(x->cx.id);
		}
	}
}

/* Stored form (format 2): eid (8), nidh (1), idh (8 each), sex (1), the
 * strings dob, ssn, phone; nname (1) and each name's strings; naddr (1)
 * and each address's strings; every string NUL terminated. */
struct mk_str {
	size_t off, cap;
};
#define S(t, f) { offsetof(t, f), sizeof(((t *) 0)->f) }
static const struct mk_str mk_top[] = { S(struct mpi_mk, dob), S(struct mpi_mk, ssn), S(struct mpi_mk, phone) };
static const struct mk_str mk_name[] = {
	S(struct mpi_mk_name, given), S(struct mpi_mk_name, canon), S(struct mpi_mk_name, given_ph),
	S(struct mpi_mk_name, family), S(struct mpi_mk_name, family_ph),
};
static const struct mk_str mk_addr[] = {
	S(struct mpi_mk_addr, stnum), S(struct mpi_mk_addr, street), S(struct mpi_mk_addr, line2),
	S(struct mpi_mk_addr, city), S(struct mpi_mk_addr, postcode), S(struct mpi_mk_addr, state),
};
#undef S

static size_t
put_strs(unsigned char *out, size_t n, const void *base, const struct mk_str *t, size_t nt)
{
	for (size_t i = 0; i < nt; i++) {
		const char *s = (const char *) base + t[i].off;
		size_t      l = strnlen(s, t[i].cap - 1);
		memcpy(out + n, s, l);
		n += l;
		out[n++] = '\0';
	}
	return n;
}

/* 0 when the input ends early or a string does not fit. */
static int
get_strs(const unsigned char *b, size_t len, size_t *n, void *base, const struct mk_str *t, size_t nt)
{
	for (size_t i = 0; i < nt; i++) {
		const unsigned char *z;
		size_t               l;
		if (*n >= len || (z = memchr(b + *n, '\0', len - *n)) == NULL)
			return 0;
		l = (size_t) (z - (b + *n));
		if (l >= t[i].cap)
			return 0;
		memcpy((char *) base + t[i].off, b + *n, l + 1); /* with its NUL */
		*n += l + 1;
	}
	return 1;
}

#define NT(t) (sizeof(t) / sizeof((t)[0]))

size_t
mpi_mk_encode(const struct mpi_mk *k, unsigned char *out, size_t cap)
{
	size_t n = 0;

	if (cap < MK_MAX)
		return 0;
	mpi_u64_put(out, k->eid);
	n = 8;
	out[n++] = (unsigned char) k->nidh;
	for (unsigned i = 0; i < k->nidh; i++, n += 8)
		mpi_u64_put(out + n, k->idh[i]);
	out[n++] = (unsigned char) k->sex;
	n = put_strs(out, n, k, mk_top, NT(mk_top));
	out[n++] = (unsigned char) k->nname;
	for (unsigned i = 0; i < k->nname; i++)
		n = put_strs(out, n, &k->name[i], mk_name, NT(mk_name));
	out[n++] = (unsigned char) k->naddr;
	for (unsigned i = 0; i < k->naddr; i++)
		n = put_strs(out, n, &k->addr[i], mk_addr, NT(mk_addr));
	return n;
}

hie_err
mpi_mk_decode(const void *p, size_t len, struct mpi_mk *k)
{
	const unsigned char *b = p;
	size_t               n;

	/* Only what the key holds is written (every string with its NUL):
	 * the slots of repeats past nname and naddr are not read, and
	 * clearing them would cost more than the rest of a decode.  A
	 * candidate's key is decoded for every lookup that meets it. */
	memset(k, 0, offsetof(struct mpi_mk, name));
	if (len < 10)
		return HIE_EDB;
	k->eid = mpi_u64_get(b);
	k->nidh = b[8];
	if (k->nidh > MK_IDS || len < 10 + 8 * (size_t) k->nidh)
		return HIE_EDB;
	n = 9;
	for (unsigned i = 0; i < k->nidh; i++, n += 8)
		k->idh[i] = mpi_u64_get(b + n);
	k->sex = (char) b[n++];
	if (!get_strs(b, len, &n, k, mk_top, NT(mk_top)) || n >= len || (k->nname = b[n++]) > MK_NAMES)
		goto bad;
	for (unsigned i = 0; i < k->nname; i++)
		if (!get_strs(b, len, &n, &k->name[i], mk_name, NT(mk_name)))
			goto bad;
	if (n >= len || (k->naddr = b[n++]) > MK_ADDRS)
		goto bad;
	for (unsigned i = 0; i < k->naddr; i++)
		if (!get_strs(b, len, &n, &k->addr[i], mk_addr, NT(mk_addr)))
			goto bad;
	if (n == len)
		return HIE_OK;
bad:
	k->nname = k->naddr = 0;
	return HIE_EDB;
}
