/* node/hl7_pid.c -- PID segment <-> MPI source record (see node/hl7_pid.h). */
#include "node/hl7_pid.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "node/config.h"

/* A value into out; a value that does not fit is cut (the MPI fields are
 * bounded; a 300-character street is still that street's start). */
static void
get(const hl7_msg *m, const char *seg, int seq, int field, int rep, int comp, int sub, char *out,
    size_t cap)
{
	if (hl7_get(m, seg, seq, field, rep, comp, sub, out, cap) != HIE_OK && hl7_get(m, seg, seq, field, rep,
	                                                                          comp, sub, out, cap) != HIE_ETOOBIG)
		out[0] = '\0';
	/* The HL7 null "" means "delete" in an update: for a whole record
	 * replaced by the message, that is simply no value. */
	if (strcmp(out, "\"\"") == 0)
		out[0] = '\0';
}

void
hl7_source(const hl7_msg *m, char *out, size_t cap)
{
	get(m, "MSH", 1, 4, 1, 2, 1, out, cap);
	if (out[0] != '\0' && node_is_oid(out))
		return;
	get(m, "MSH", 1, 4, 1, 1, 1, out, cap);
	if (out[0] == '\0')
		get(m, "MSH", 1, 3, 1, 1, 1, out, cap);
	if (out[0] == '\0')
		hie_strlcpy(out, "unknown", cap);
}

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char) *s) * 16777619u;
	return h;
}

hie_err
hl7_cx(const hl7_msg *m, const char *seg, int seq, int field, int rep, const char *local_oid,
    const char *facility, struct mpi_ident *out)
{
	char ns[128], uid[128];

	memset(out, 0, sizeof(*out));
	get(m, seg, seq, field, rep, 1, 1, out->cx.id, sizeof(out->cx.id));
	if (out->cx.id[0] == '\0')
		return HIE_ENOTFOUND;
	get(m, seg, seq, field, rep, 5, 1, out->type, sizeof(out->type));
	get(m, seg, seq, field, rep, 4, 1, ns, sizeof(ns));
	get(m, seg, seq, field, rep, 4, 2, uid, sizeof(uid));
	if (uid[0] != '\0' && node_is_oid(uid))
		return hie_strlcpy(out->cx.authority, uid, sizeof(out->cx.authority));
	if (ns[0] != '\0' && node_is_oid(ns))
		return hie_strlcpy(out->cx.authority, ns, sizeof(out->cx.authority));
	if (ns[0] == '\0')
		hie_strlcpy(ns, facility != NULL && facility[0] != '\0' ? facility : "-", sizeof(ns));
	snprintf(out->cx.authority, sizeof(out->cx.authority), "%s.7.%lu", local_oid,
	    (unsigned long) fnv1a(ns));
	return HIE_OK;
}

static void
add_id(struct mpi_patient *p, const struct mpi_ident *id)
{
	for (size_t i = 0; i < p->n_ids; i++)
		if (strcmp(p->ids[i].cx.authority, id->cx.authority) == 0)
			return; /* one id per authority: the first (PID-3) wins */
	if (p->n_ids < MPI_MAX_IDS)
		p->ids[p->n_ids++] = *id;
}

static void
split_street(const char *line, struct mpi_addr *a)
{
	size_t n = 0;
	while (isdigit((unsigned char) line[n]) && n + 1 < sizeof(a->number))
		n++;
	if (n > 0 && line[n] == ' ') {
		memcpy(a->number, line, n);
		a->number[n] = '\0';
		while (line[n] == ' ')
			n++;
		hie_strlcpy(a->street, line + n, sizeof(a->street));
	} else
		hie_strlcpy(a->street, line, sizeof(a->street));
}

hie_err
hl7_pid_to_patient(const hl7_msg *m, int pid_seq, const char *source, const char *local_oid,
    struct mpi_patient *p, struct hl7_error *err)
{
	static const int id_fields[] = { 3, 2, 4 };
	char             facility[128], v[64];
	size_t           nrep, npid = 0;
	struct mpi_ident id;

	memset(p, 0, sizeof(*p));
	hl7_count_segments(m, "PID", &npid);
	if ((size_t) pid_seq > npid)
		return hl7_error_set(err, HL7_E_REQUIRED_MISSING, "PID", pid_seq, 0, "no PID segment");
	hie_strlcpy(p->source, source, sizeof(p->source));
	get(m, "MSH", 1, 4, 1, 1, 1, facility, sizeof(facility));
	for (size_t f = 0; f < sizeof(id_fields) / sizeof(id_fields[0]); f++) {
		if (hl7_field_reps(m, "PID", pid_seq, id_fields[f], &nrep) != HIE_OK)
			continue;
		for (size_t r = 1; r <= nrep && r <= 16; r++)
			if (hl7_cx(m, "PID", pid_seq, id_fields[f], (int) r, local_oid, facility, &id) == HIE_OK)
				add_id(p, &id);
	}
	get(m, "PID", pid_seq, 19, 1, 1, 1, v, sizeof(v));
	if (v[0] != '\0') {
		memset(&id, 0, sizeof(id));
		hie_strlcpy(id.cx.id, v, sizeof(id.cx.id));
		hie_strlcpy(id.cx.authority, MPI_CSV_SSN_OID, sizeof(id.cx.authority));
		hie_strlcpy(id.type, "SS", sizeof(id.type));
		add_id(p, &id);
	}
	if (hl7_field_reps(m, "PID", pid_seq, 5, &nrep) == HIE_OK)
		for (size_t r = 1; r <= nrep && p->n_names < MPI_MAX_NAMES; r++) {
			struct mpi_name *n = &p->names[p->n_names];
			get(m, "PID", pid_seq, 5, (int) r, 1, 1, n->family, sizeof(n->family));
			get(m, "PID", pid_seq, 5, (int) r, 2, 1, n->given, sizeof(n->given));
			get(m, "PID", pid_seq, 5, (int) r, 3, 1, n->middle, sizeof(n->middle));
			get(m, "PID", pid_seq, 5, (int) r, 7, 1, n->use, sizeof(n->use));
			if (n->family[0] == '\0' && n->given[0] == '\0')
				continue;
			if (n->use[0] == '\0')
				hie_strlcpy(n->use, "L", sizeof(n->use));
			p->n_names++;
		}
	get(m, "PID", pid_seq, 7, 1, 1, 1, v, sizeof(v));
	if (strlen(v) >= 8)
		v[8] = '\0';
	hie_strlcpy(p->birth_date, v, sizeof(p->birth_date));
	get(m, "PID", pid_seq, 8, 1, 1, 1, v, sizeof(v));
	p->sex = v[0] == 'M' || v[0] == 'F' || v[0] == 'O' || v[0] == 'U' ? v[0]
	         : v[0] == 'A'                                        ? 'O'
	         : v[0] == 'N'                                        ? 'U'
	                                                              : 0;
	if (hl7_field_reps(m, "PID", pid_seq, 11, &nrep) == HIE_OK)
		for (size_t r = 1; r <= nrep && p->n_addrs < MPI_MAX_ADDRS; r++) {
			struct mpi_addr *a = &p->addrs[p->n_addrs];
			char             line[128];
			get(m, "PID", pid_seq, 11, (int) r, 1, 1, line, sizeof(line));
			split_street(line, a);
			get(m, "PID", pid_seq, 11, (int) r, 2, 1, a->line2, sizeof(a->line2));
			get(m, "PID", pid_seq, 11, (int) r, 3, 1, a->city, sizeof(a->city));
			get(m, "PID", pid_seq, 11, (int) r, 4, 1, a->state, sizeof(a->state));
			get(m, "PID", pid_seq, 11, (int) r, 5, 1, a->postcode, sizeof(a->postcode));
			get(m, "PID", pid_seq, 11, (int) r, 6, 1, a->country, sizeof(a->country));
			get(m, "PID", pid_seq, 11, (int) r, 7, 1, a->use, sizeof(a->use));
			if (a->street[0] || a->city[0] || a->postcode[0])
				p->n_addrs++;
			else
				memset(a, 0, sizeof(*a));
		}
	for (int f = 13; f <= 14; f++) {
		if (hl7_field_reps(m, "PID", pid_seq, f, &nrep) != HIE_OK)
			continue;
		for (size_t r = 1; r <= nrep && p->n_phones < MPI_MAX_PHONES; r++) {
			struct mpi_phone *ph = &p->phones[p->n_phones];
			char              area[8], local[24];
			get(m, "PID", pid_seq, f, (int) r, 1, 1, ph->number, sizeof(ph->number));
			if (ph->number[0] == '\0') {
				get(m, "PID", pid_seq, f, (int) r, 6, 1, area, sizeof(area));
				get(m, "PID", pid_seq, f, (int) r, 7, 1, local, sizeof(local));
				if ((size_t) snprintf(ph->number, sizeof(ph->number), "%.7s%.23s", area, local) >=
				    sizeof(ph->number))
					ph->number[0] = '\0';
			}
			/* Only numbers the MPI can compare. */
			if (mpi_norm_phone(ph->number, local, sizeof(local)) != HIE_OK) {
				memset(ph, 0, sizeof(*ph));
				continue;
			}
			get(m, "PID", pid_seq, f, (int) r, 2, 1, ph->use, sizeof(ph->use));
			if (ph->use[0] == '\0')
				hie_strlcpy(ph->use, f == 13 ? "PRN" : "WPN", sizeof(ph->use));
			p->n_phones++;
		}
	}
	if (p->n_ids == 0 && p->n_names == 0 && p->birth_date[0] == '\0')
		return hl7_error_set(err, HL7_E_REQUIRED_MISSING, "PID", pid_seq, 3,
		    "PID names no patient (no identifier, name or birth date)");
	return HIE_OK;
}

static hie_err
line(hie_buf *b, const char *tag, const char *const *parts, size_t n)
{
	hie_err e = hie_buf_printf(b, "%s%s|", b->len > 0 ? "\n" : "", tag);
	for (size_t i = 0; i < n && e == HIE_OK; i++) {
		if (i > 0)
			e = hie_buf_addstr(b, "^");
		if (e == HIE_OK)
			e = hl7_escape("|^~\\&", parts[i], b);
	}
	return e;
}

hie_err
hl7_pid_source_info(const struct mpi_patient *p, char *out, size_t cap)
{
	hie_buf b;
	hie_err e = HIE_OK;
	char    cx[300], sex[2] = { p->sex, 0 };

	hie_buf_init(&b, cap);
	for (size_t i = 0; i < p->n_ids && e == HIE_OK; i++)
		if (mpi_cx_format(&p->ids[i].cx, cx, sizeof(cx)) == HIE_OK)
			e = hie_buf_printf(&b, "%sPID-3|%s", b.len > 0 ? "\n" : "", cx);
	if (e == HIE_OK && p->n_names > 0) {
		const char *n[] = { p->names[0].family, p->names[0].given, p->names[0].middle };
		e = line(&b, "PID-5", n, 3);
	}
	if (e == HIE_OK && p->birth_date[0] != '\0')
		e = hie_buf_printf(&b, "%sPID-7|%s", b.len > 0 ? "\n" : "", p->birth_date);
	if (e == HIE_OK && p->sex != 0)
		e = hie_buf_printf(&b, "%sPID-8|%s", b.len > 0 ? "\n" : "", sex);
	if (e == HIE_OK && p->n_addrs > 0) {
		const struct mpi_addr *a = &p->addrs[0];
		char                   st[128];
		snprintf(st, sizeof(st), "%s%s%s", a->number, a->number[0] ? " " : "", a->street);
		const char *parts[] = { st, a->line2, a->city, a->state, a->postcode, a->country };
		e = line(&b, "PID-11", parts, 6);
	}
	if (e == HIE_OK)
		e = hie_strlcpy(out, b.len > 0 ? b.data : "", cap);
	hie_buf_free(&b);
	return e;
}
