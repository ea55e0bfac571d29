/*
 * node/hl7_query.c -- PDQ (ITI-21, QBP^Q22 -> RSP^K22) and PIX (ITI-9,
 * QBP^Q23 -> RSP^K23) over HL7 v2, read-only on the MPI.
 *
 * PDQ: QPD-3 repetitions "@PID.5.1.1^FAMILY", "@PID.5.2^GIVEN",
 * "@PID.7^YYYYMMDD", "@PID.8^F", "@PID.11.5^POSTCODE", "@PID.3.1^ID";
 * candidates (mpi_search, probability >= 0.5, at most RCP-2 or 20) come
 * back one PID each with the identifiers of their enterprise id.
 * PIX: QPD-3 the CX asked about, QPD-4 the authorities wanted (empty: all
 * but the one asked about); unknown identifier: AE, ERR 204 on QPD-3
 * (ITI TF-2a 3.9.4.2.2.6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/config.h"
#include "node/hl7_feed_int.h"

#define PDQ_MIN_PROB 0.5

static void
get(const hl7_msg *m, const char *seg, int seq, int field, int rep, int comp, int sub, char *out, size_t cap)
{
	hie_err e = hl7_get(m, seg, seq, field, rep, comp, sub, out, cap);
	if (e != HIE_OK && e != HIE_ETOOBIG)
		out[0] = '\0';
}

/* An ACK turned into an RSP: MSH-9 replaced, then QAK and the QPD echo. */
static hie_err
rsp_head(hl7_msg *m, const struct hl7_header *h, enum hl7_ack_code code, const struct hl7_error *err,
    const char *status, hie_buf *out)
{
	hie_buf     ack;
	const char *qpd;
	size_t      qlen, f = 0, i, start = out->len;
	char        fs = h->delims[0], cs = h->delims[1];
	char        tag[64];
	hie_err     e;

	hie_buf_init(&ack, 1 << 16);
	if ((e = hl7_ack_build(m, code, err, &ack)) != HIE_OK || ack.len == 0) {
		hie_buf_free(&ack);
		return e != HIE_OK ? e : HIE_EHL7;
	}
	/* MSH-9 starts after the 8th field separator (MSH-1 is the first). */
	for (i = 0; i < ack.len && f < 8; i++)
		if (ack.data[i] == fs)
			f++;
	e = hie_buf_add(out, ack.data, i);
	if (e == HIE_OK)
		e = hie_buf_printf(out, "RSP%c%s%c%s", cs, strcmp(h->event, "Q22") == 0 ? "K22" : "K23", cs,
		    strcmp(h->event, "Q22") == 0 ? "RSP_K21" : "RSP_K23");
	while (i < ack.len && ack.data[i] != fs && ack.data[i] != '\r')
		i++;
	if (e == HIE_OK)
		e = hie_buf_add(out, ack.data + i, ack.len - i);
	hie_buf_free(&ack);
	get(m, "QPD", 1, 2, 1, 1, 1, tag, sizeof(tag));
	if (e == HIE_OK)
		e = hie_buf_printf(out, "QAK%c", fs);
	if (e == HIE_OK)
		e = hl7_escape(h->delims, tag, out);
	if (e == HIE_OK)
		e = hie_buf_printf(out, "%c%s\r", fs, status);
	if (e == HIE_OK) {
		/* QPD echoed as received: its fields, raw. */
		e = hie_buf_addstr(out, "QPD");
		for (int fld = 1; fld <= 8 && e == HIE_OK; fld++) {
			if (hl7_get_raw(m, "QPD", 1, fld, &qpd, &qlen) != HIE_OK)
				break;
			e = hie_buf_add(out, &fs, 1);
			if (e == HIE_OK)
				e = hie_buf_add(out, qpd, qlen);
		}
		while (e == HIE_OK && out->data[out->len - 1] == fs)
			out->len--;
		if (e == HIE_OK)
			e = hie_buf_addstr(out, "\r");
	}
	if (e != HIE_OK)
		out->len = start;
	return e;
}

/* One PID segment: the identifiers (PID-3) and the record's demographics. */
static hie_err
pid_seg(const struct hl7_header *h, int setid, const struct mpi_ident *ids, size_t n, const struct mpi_patient *p,
    hie_buf *out)
{
	char    fs = h->delims[0], cs = h->delims[1], rs = h->delims[2], ss = h->delims[4];
	hie_err e = hie_buf_printf(out, "PID%c%d%c%c", fs, setid, fs, fs);

	for (size_t i = 0; i < n && e == HIE_OK; i++) {
		if (i > 0)
			e = hie_buf_add(out, &rs, 1);
		if (e == HIE_OK)
			e = hl7_escape(h->delims, ids[i].cx.id, out);
		if (e == HIE_OK)
			e = hie_buf_printf(out, "%c%c%c%c%s%cISO", cs, cs, cs, ss, ids[i].cx.authority, ss);
		if (e == HIE_OK && ids[i].type[0])
			e = hie_buf_printf(out, "%c%s", cs, ids[i].type);
	}
	if (e == HIE_OK)
		e = hie_buf_printf(out, "%c%c", fs, fs);
	if (p != NULL && e == HIE_OK) {
		if (p->n_names > 0) {
			e = hl7_escape(h->delims, p->names[0].family, out);
			if (e == HIE_OK)
				e = hie_buf_add(out, &cs, 1);
			if (e == HIE_OK)
				e = hl7_escape(h->delims, p->names[0].given, out);
		}
		if (e == HIE_OK)
			e = hie_buf_printf(out, "%c%c%s%c%c", fs, fs, p->birth_date, fs, p->sex ? p->sex : fs);
		if (e == HIE_OK && p->sex)
			e = hie_buf_add(out, &fs, 1);
	}
	while (e == HIE_OK && out->data[out->len - 1] == fs)
		out->len--;
	if (e == HIE_OK)
		e = hie_buf_addstr(out, "\r");
	return e;
}

static hie_err
pix(hl7_feed *f, hl7_msg *m, const struct hl7_header *h, hie_buf *reply, char *detail, size_t dcap)
{
	struct mpi_ident q, ids[MPI_MAX_IDS * 4], keep[MPI_MAX_IDS * 4];
	struct hl7_error err;
	char             want[8][128];
	size_t           nwant = 0, n = 0, nk = 0, nrep = 0;
	uint64_t         eid;
	hie_err          e;

	if (hl7_cx(m, "QPD", 1, 3, 1, f->local_oid, "", &q) != HIE_OK) {
		hl7_error_set(&err, HL7_E_REQUIRED_MISSING, "QPD", 1, 3, "no identifier in QPD-3");
		snprintf(detail, dcap, "%s", err.text);
		return rsp_head(m, h, HL7_AE, &err, "AE", reply);
	}
	hl7_field_reps(m, "QPD", 1, 4, &nrep);
	for (size_t r = 1; r <= nrep && nwant < 8; r++) {
		get(m, "QPD", 1, 4, (int) r, 4, 2, want[nwant], sizeof(want[0]));
		if (want[nwant][0] == '\0')
			get(m, "QPD", 1, 4, (int) r, 4, 1, want[nwant], sizeof(want[0]));
		if (want[nwant][0] != '\0')
			nwant++;
	}
	e = mpi_lookup_id(f->cfg.mpi, &q.cx, &eid, ids, sizeof(ids) / sizeof(ids[0]), &n);
	if (e == HIE_EUNKNOWNPATIENT) {
		hl7_error_set(&err, HL7_E_UNKNOWN_KEY, "QPD", 1, 3, "identifier not known to the MPI");
		snprintf(detail, dcap, "PIX: %s", err.text);
		return rsp_head(m, h, HL7_AE, &err, "AE", reply);
	}
	if (e != HIE_OK && e != HIE_EAMBIGUOUS)
		return e;
	if (n > sizeof(ids) / sizeof(ids[0]))
		n = sizeof(ids) / sizeof(ids[0]);
	for (size_t i = 0; i < n; i++) {
		int ok = nwant == 0 ? strcmp(ids[i].cx.authority, q.cx.authority) != 0 || strcmp(ids[i].cx.id, q.cx.id) != 0
		                    : 0;
		for (size_t w = 0; w < nwant; w++)
			ok |= strcmp(ids[i].cx.authority, want[w]) == 0;
		if (ok)
			keep[nk++] = ids[i];
	}
	snprintf(detail, dcap, "PIX: eid=%llu %zu identifiers", (unsigned long long) eid, nk);
	if ((e = rsp_head(m, h, HL7_AA, NULL, nk > 0 ? "OK" : "NF", reply)) != HIE_OK)
		return e;
	return nk > 0 ? pid_seg(h, 1, keep, nk, NULL, reply) : HIE_OK;
}

static hie_err
pdq(hl7_feed *f, hl7_msg *m, const struct hl7_header *h, hie_buf *reply, char *detail, size_t dcap)
{
	struct mpi_patient   q, *p;
	struct mpi_candidate cand[100];
	struct hl7_error     err;
	size_t               nrep = 0, n = 0, max = 20;
	char                 v[16];
	hie_err              e;

	memset(&q, 0, sizeof(q));
	hl7_field_reps(m, "QPD", 1, 3, &nrep);
	for (size_t r = 1; r <= nrep; r++) {
		char fld[32], val[128];
		get(m, "QPD", 1, 3, (int) r, 1, 1, fld, sizeof(fld));
		get(m, "QPD", 1, 3, (int) r, 2, 1, val, sizeof(val));
		if (strcmp(fld, "@PID.5.1.1") == 0 || strcmp(fld, "@PID.5.1") == 0)
			hie_strlcpy(q.names[0].family, val, sizeof(q.names[0].family)), q.n_names = 1;
		else if (strcmp(fld, "@PID.5.2") == 0)
			hie_strlcpy(q.names[0].given, val, sizeof(q.names[0].given)), q.n_names = 1;
		else if (strcmp(fld, "@PID.7") == 0 || strcmp(fld, "@PID.7.1") == 0)
			hie_strlcpy(q.birth_date, val, sizeof(q.birth_date));
		else if (strcmp(fld, "@PID.8") == 0)
			q.sex = val[0];
		else if (strcmp(fld, "@PID.11.5") == 0)
			hie_strlcpy(q.addrs[0].postcode, val, sizeof(q.addrs[0].postcode)), q.n_addrs = 1;
	}
	get(m, "RCP", 1, 2, 1, 1, 1, v, sizeof(v));
	if (atoi(v) > 0 && atoi(v) < 100)
		max = (size_t) atoi(v);
	if (q.n_names == 0 && q.birth_date[0] == '\0') {
		hl7_error_set(&err, HL7_E_REQUIRED_MISSING, "QPD", 1, 3, "PDQ needs a name or a birth date");
		snprintf(detail, dcap, "PDQ: %s", err.text);
		return rsp_head(m, h, HL7_AE, &err, "AE", reply);
	}
	e = mpi_search(f->cfg.mpi, &q, PDQ_MIN_PROB, cand, max, &n);
	if (e == HIE_EINVAL) {
		hl7_error_set(&err, HL7_E_DATA_TYPE, "QPD", 1, 3, "query parameters not understood");
		snprintf(detail, dcap, "PDQ: %s", err.text);
		return rsp_head(m, h, HL7_AE, &err, "AE", reply);
	}
	if (e != HIE_OK)
		return e;
	snprintf(detail, dcap, "PDQ: %zu candidates", n);
	if ((e = rsp_head(m, h, HL7_AA, NULL, n > 0 ? "OK" : "NF", reply)) != HIE_OK)
		return e;
	if ((p = malloc(sizeof(*p))) == NULL)
		return HIE_ENOMEM;
	for (size_t i = 0; i < n && e == HIE_OK; i++) {
		struct mpi_ident ids[MPI_MAX_IDS * 4];
		size_t           ni = 0;
		uint64_t         eid;
		if ((e = mpi_get(f->cfg.mpi, cand[i].rid, p)) != HIE_OK)
			break;
		ni = p->n_ids;
		memcpy(ids, p->ids, ni * sizeof(ids[0]));
		if (p->n_ids > 0 && mpi_lookup_id(f->cfg.mpi, &p->ids[0].cx, &eid, ids, sizeof(ids) / sizeof(ids[0]), &ni) !=
		                        HIE_OK) {
			ni = p->n_ids;
			memcpy(ids, p->ids, ni * sizeof(ids[0]));
		}
		if (ni > sizeof(ids) / sizeof(ids[0]))
			ni = sizeof(ids) / sizeof(ids[0]);
		e = pid_seg(h, (int) i + 1, ids, ni, p, reply);
	}
	free(p);
	return e;
}

hie_err
hl7_query_answer(hl7_feed *f, hl7_msg *m, hie_buf *reply, char *detail, size_t dcap)
{
	struct hl7_header h;
	size_t            n = 0;
	hie_err           e;

	hl7_get_header(m, &h);
	if (hl7_count_segments(m, "QPD", &n) != HIE_OK || n == 0) {
		struct hl7_error err;
		hl7_error_set(&err, HL7_E_SEGMENT_SEQUENCE, "QPD", 1, 0, "query without a QPD segment");
		snprintf(detail, dcap, "%s", err.text);
		return rsp_head(m, &h, HL7_AR, &err, "AR", reply);
	}
	e = strcmp(h.event, "Q23") == 0 ? pix(f, m, &h, reply, detail, dcap) : pdq(f, m, &h, reply, detail, dcap);
	if (e != HIE_OK) {
		snprintf(detail, dcap, "%s", hie_strerror(e));
		reply->len = 0;
		return HIE_EHL7;
	}
	return HIE_OK;
}
