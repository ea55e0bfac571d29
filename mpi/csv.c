/*
 * mpi/csv.c -- patients from CSV files whose header names the columns
 * (FEBRL's layout and a few more): one table maps a column name to where
 * its value goes in struct mpi_patient.
 */
#include <stdio.h>
#include <string.h>

#include "mpi/mpi.h"

/* Where a column goes; "label" columns are returned apart and never seen
 * by the matcher (FEBRL's rec_id is the truth for evaluation). */
enum col { C_SKIP, C_LABEL, C_GIVEN, C_FAMILY, C_STNUM, C_STREET, C_LINE2, C_CITY, C_POSTCODE,
	C_STATE, C_DOB, C_SSN, C_SEX, C_PHONE, C_ID, C_SOURCE };

static const struct {
	const char *name;
	enum col    col;
} columns[] = {
	{ "rec_id", C_LABEL }, { "given_name", C_GIVEN }, { "surname", C_FAMILY },
	{ "street_number", C_STNUM }, { "address_1", C_STREET }, { "address_2", C_LINE2 },
	{ "suburb", C_CITY }, { "city", C_CITY }, { "postcode", C_POSTCODE }, { "state", C_STATE },
	{ "date_of_birth", C_DOB }, { "birth_date", C_DOB }, { "soc_sec_id", C_SSN }, { "ssn", C_SSN },
	{ "sex", C_SEX }, { "phone", C_PHONE }, { "phone_number", C_PHONE }, { "id", C_ID },
	{ "source", C_SOURCE },
};

/* Splits line in place on commas, trimming spaces around each field. */
static size_t
split(char *line, char **f, size_t cap)
{
	size_t n = 0;
	char  *p = line, *end;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < cap) {
		char *comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		f[n++] = p;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return n;
}

hie_err
mpi_csv_header(char *line, struct mpi_csv *c)
{
	char  *f[MPI_CSV_MAXCOLS];
	size_t n = split(line, f, MPI_CSV_MAXCOLS);

	memset(c, 0, sizeof(*c));
	c->ncols = n;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < sizeof(columns) / sizeof(columns[0]); j++)
			if (strcmp(f[i], columns[j].name) == 0)
				c->col[i] = (int) columns[j].col;
	for (size_t i = 0; i < n; i++)
		if (c->col[i] == C_GIVEN || c->col[i] == C_FAMILY)
			return HIE_OK;
	return HIE_EINVAL;
}

hie_err
mpi_csv_row(const struct mpi_csv *c, char *line, struct mpi_patient *p, char *label, size_t cap)
{
	char            *f[MPI_CSV_MAXCOLS];
	size_t           n = split(line, f, MPI_CSV_MAXCOLS);
	struct mpi_name *nm = &p->names[0];
	struct mpi_addr *a = &p->addrs[0];
	hie_err          e = HIE_OK;

	memset(p, 0, sizeof(*p));
	if (label != NULL && cap > 0)
		label[0] = '\0';
	if (n != c->ncols)
		return HIE_EINVAL;
	p->n_names = 1;
	p->n_addrs = 1;
	for (size_t i = 0; i < n && e == HIE_OK; i++) {
		const char *v = f[i];
		if (v[0] == '\0')
			continue;
		switch ((enum col) c->col[i]) {
		case C_LABEL:
			if (label != NULL)
				hie_strlcpy(label, v, cap);
			break;
		case C_GIVEN: e = hie_strlcpy(nm->given, v, sizeof(nm->given)); break;
		case C_FAMILY: e = hie_strlcpy(nm->family, v, sizeof(nm->family)); break;
		case C_STNUM: e = hie_strlcpy(a->number, v, sizeof(a->number)); break;
		case C_STREET: e = hie_strlcpy(a->street, v, sizeof(a->street)); break;
		case C_LINE2: e = hie_strlcpy(a->line2, v, sizeof(a->line2)); break;
		case C_CITY: e = hie_strlcpy(a->city, v, sizeof(a->city)); break;
		case C_POSTCODE: e = hie_strlcpy(a->postcode, v, sizeof(a->postcode)); break;
		case C_STATE: e = hie_strlcpy(a->state, v, sizeof(a->state)); break;
		case C_DOB: e = hie_strlcpy(p->birth_date, v, sizeof(p->birth_date)); break;
		case C_SEX: p->sex = v[1] == '\0' ? v[0] : '?'; break;
		case C_SOURCE: e = hie_strlcpy(p->source, v, sizeof(p->source)); break;
		case C_PHONE:
			if (p->n_phones < MPI_MAX_PHONES)
				e = hie_strlcpy(p->phones[p->n_phones++].number, v, sizeof(p->phones[0].number));
			break;
		case C_SSN:
			if (p->n_ids < MPI_MAX_IDS) {
				struct mpi_ident *x = &p->ids[p->n_ids++];
				hie_strlcpy(x->cx.authority, MPI_CSV_SSN_OID, sizeof(x->cx.authority));
				hie_strlcpy(x->type, "SS", sizeof(x->type));
				e = hie_strlcpy(x->cx.id, v, sizeof(x->cx.id));
			}
			break;
		case C_ID:
			if (p->n_ids < MPI_MAX_IDS) {
				struct mpi_ident *x = &p->ids[p->n_ids++];
				hie_strlcpy(x->type, "MR", sizeof(x->type));
				e = mpi_cx_parse(v, &x->cx);
			}
			break;
		case C_SKIP:
			break;
		}
	}
	return e == HIE_OK ? HIE_OK : HIE_EINVAL;
}
