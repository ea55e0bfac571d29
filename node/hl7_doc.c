/*
 * node/hl7_doc.c -- MDM^T02/T10 and ORU^R01 to the registry.
 *
 * The document: the first OBX of value type ED (OBX-5.4 Base64, OBX-5.5
 * the data, OBX-5.2/5.3 the MIME type), else the text of the OBX values
 * (TX/FT/ST and the rest), one line each, as text/plain; for ORU each
 * line names the observation (OBX-3), its units and flags.
 * Metadata: typeCode (and classCode) from OBR-4 when it is LOINC, else for
 * MDM OBX-3 when it is LOINC; ORU otherwise 11502-2 "Laboratory report",
 * MDM otherwise TXA-2 in HL7 table 0270; creationTime from TXA-4/TXA-6 (MDM) or OBR-7 (ORU) or MSH-7, in
 * UTC; author from TXA-9/TXA-5 or OBR-16; title from the type's display;
 * sourcePatientInfo from the PID (hl7_pid_source_info); uniqueId TXA-12
 * when it is an OID, else 2.25.<64 bits of SHA-1 of MSH-3, MSH-10 and the
 * document>.
 *
 * Order and durability: reg_put commits the document (its own
 * transaction) and only then is the acknowledgement recorded in hl7.seen
 * (another one).  A crash between the two leaves a registered document
 * whose message was never acknowledged: the sender retransmits it, the
 * same message gives the same uniqueId and bytes, reg_put answers
 * HIE_EEXIST, which is success here, and the AA goes out.  So nothing is
 * registered twice and nothing acknowledged is lost, without needing the
 * registry to write inside our transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "node/config.h"
#include "node/hl7_feed_int.h"

#define LOINC "2.16.840.1.113883.6.1"

static void
get(const hl7_msg *m, const char *seg, int seq, int field, int rep, int comp, char *out, size_t cap)
{
	hie_err e = hl7_get(m, seg, seq, field, rep, comp, 1, out, cap);
	if ((e != HIE_OK && e != HIE_ETOOBIG) || strcmp(out, "\"\"") == 0)
		out[0] = '\0';
}

/* An HL7 TS (YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ]) in UTC, as XDS wants it. */
static void
ts_utc(const char *ts, char *out, size_t cap)
{
	struct tm tm;
	size_t    nd = strspn(ts, "0123456789");
	const char *z = strpbrk(ts, "+-");
	time_t    t;

	out[0] = '\0';
	if (nd < 8)
		return;
	if (nd < 12 || z == NULL || strlen(z) < 5) {
		/* No time or no zone: as given (local to the sender). */
		snprintf(out, cap, "%.*s", (int) (nd > 14 ? 14 : nd), ts);
		return;
	}
	memset(&tm, 0, sizeof(tm));
	sscanf(ts, "%4d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min);
	if (nd >= 14)
		sscanf(ts + 12, "%2d", &tm.tm_sec);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	{
		int hh = (z[1] - '0') * 10 + (z[2] - '0'), mm = (z[3] - '0') * 10 + (z[4] - '0');
		long off = (hh * 60L + mm) * 60L;
		t -= z[0] == '+' ? off : -off;
	}
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y%m%d%H%M%S", &tm);
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char) (*s - 'A' + 'a');
}

/* The document bytes and MIME type. */
static hie_err
collect(hl7_msg *m, int oru, hie_buf *doc, char *mime, size_t mcap, struct hl7_error *err)
{
	size_t nobx = 0;
	hie_err e = HIE_OK;

	hl7_count_segments(m, "OBX", &nobx);
	for (size_t i = 1; i <= nobx; i++) {
		char vt[8], enc[16], type[32], sub[64];
		get(m, "OBX", (int) i, 2, 1, 1, vt, sizeof(vt));
		if (strcmp(vt, "ED") != 0)
			continue;
		get(m, "OBX", (int) i, 5, 1, 4, enc, sizeof(enc));
		if (strcasecmp(enc, "Base64") != 0)
			return hl7_error_set(err, HL7_E_DATA_TYPE, "OBX", (int) i, 5, "ED encoding %s is not Base64", enc);
		{
			hie_buf b64;
			char   *bytes;
			size_t  n;
			hie_buf_init(&b64, doc->max * 2);
			if ((e = hl7_get_buf(m, "OBX", (int) i, 5, 1, 5, 1, &b64)) != HIE_OK) {
				hie_buf_free(&b64);
				return e == HIE_ETOOBIG ? hl7_error_set(err, HL7_E_INTERNAL, "OBX", (int) i, 5, "document too big")
				                        : e;
			}
			e = hie_base64_decode(b64.data != NULL ? b64.data : "", b64.len, doc->max, &bytes, &n);
			hie_buf_free(&b64);
			if (e != HIE_OK)
				return hl7_error_set(err, HL7_E_DATA_TYPE, "OBX", (int) i, 5, "ED data is not valid base64");
			e = hie_buf_add(doc, bytes, n);
			free(bytes);
			if (e != HIE_OK)
				return e;
		}
		get(m, "OBX", (int) i, 5, 1, 2, type, sizeof(type));
		get(m, "OBX", (int) i, 5, 1, 3, sub, sizeof(sub));
		lower(type);
		lower(sub);
		if (strcmp(type, "application") != 0 && strcmp(type, "text") != 0 && strcmp(type, "image") != 0)
			hie_strlcpy(type, strcmp(sub, "pdf") == 0 || strcmp(sub, "octet-stream") == 0 ? "application" : "text",
			    sizeof(type));
		snprintf(mime, mcap, "%s/%s", type, sub[0] ? sub : "octet-stream");
		return HIE_OK;
	}
	for (size_t i = 1; i <= nobx && e == HIE_OK; i++) {
		char   vt[8], what[128], units[32], range[64], flag[16];
		size_t nrep = 0;
		get(m, "OBX", (int) i, 2, 1, 1, vt, sizeof(vt));
		if (oru) {
			get(m, "OBX", (int) i, 3, 1, 2, what, sizeof(what));
			if (what[0] == '\0')
				get(m, "OBX", (int) i, 3, 1, 1, what, sizeof(what));
			e = hie_buf_printf(doc, "%s: ", what);
		}
		hl7_field_reps(m, "OBX", (int) i, 5, &nrep);
		for (size_t r = 1; r <= nrep && e == HIE_OK; r++) {
			int comp = strcmp(vt, "CE") == 0 || strcmp(vt, "CWE") == 0 || strcmp(vt, "CNE") == 0 ? 2 : 1;
			if (r > 1)
				e = hie_buf_addstr(doc, "\n");
			if (e == HIE_OK)
				e = hl7_get_buf(m, "OBX", (int) i, 5, (int) r, comp, 1, doc);
		}
		if (oru && e == HIE_OK) {
			get(m, "OBX", (int) i, 6, 1, 1, units, sizeof(units));
			get(m, "OBX", (int) i, 7, 1, 1, range, sizeof(range));
			get(m, "OBX", (int) i, 8, 1, 1, flag, sizeof(flag));
			e = hie_buf_printf(doc, "%s%s%s%s%s%s", units[0] ? " " : "", units, range[0] ? " (" : "", range,
			    range[0] ? ")" : "", flag[0] ? " " : "");
			if (e == HIE_OK && flag[0])
				e = hie_buf_addstr(doc, flag);
		}
		if (e == HIE_OK)
			e = hie_buf_addstr(doc, "\n");
	}
	if (e == HIE_ETOOBIG)
		return hl7_error_set(err, HL7_E_INTERNAL, "OBX", 1, 5, "document too big");
	if (e != HIE_OK)
		return e;
	if (doc->len == 0)
		return hl7_error_set(err, HL7_E_REQUIRED_MISSING, "OBX", 1, 5, "no document in OBX");
	hie_strlcpy(mime, "text/plain", mcap);
	return HIE_OK;
}

hie_err
hl7_doc_apply(hl7_feed *f, hl7_msg *m, struct hl7_error *err, char *detail, size_t dcap, char *patient,
    size_t pcap)
{
	struct hl7_header  h;
	struct mpi_cx      cx;
	struct mpi_patient p;
	struct reg_entry   e;
	struct reg_error   rerr;
	uint64_t           rid, eid;
	hie_buf            doc, key;
	char               v[256], sys[32], hash[41], replaces[128];
	int                oru;
	size_t             ntxa = 0;
	hie_err            rc;

	hl7_get_header(m, &h);
	oru = strcmp(h.type, "ORU") == 0;
	if ((rc = hl7_feed_patient(f, NULL, m, 1, &cx, &rid, &eid, err)) != HIE_OK)
		return rc;
	mpi_cx_format(&cx, patient, pcap);
	if (!oru && (hl7_count_segments(m, "TXA", &ntxa) != HIE_OK || ntxa == 0))
		return hl7_error_set(err, HL7_E_SEGMENT_SEQUENCE, "TXA", 1, 0, "MDM without a TXA segment");
	memset(&e, 0, sizeof(e));
	hie_buf_init(&doc, f->cfg.lim.max_bytes);
	if ((rc = collect(m, oru, &doc, e.mime_type, sizeof(e.mime_type), err)) != HIE_OK) {
		hie_buf_free(&doc);
		return rc;
	}
	hie_strlcpy(e.patient_id, patient, sizeof(e.patient_id));
	hie_strlcpy(e.source_patient_id, patient, sizeof(e.source_patient_id));
	hie_strlcpy(e.repository_id, f->repository_id, sizeof(e.repository_id));
	if (mpi_get(f->cfg.mpi, rid, &p) == HIE_OK)
		hl7_pid_source_info(&p, e.source_patient_info, sizeof(e.source_patient_info));
	/* type and class */
	get(m, "OBR", 1, 4, 1, 3, sys, sizeof(sys));
	if (strcmp(sys, "LN") == 0) {
		get(m, "OBR", 1, 4, 1, 1, e.type_code, sizeof(e.type_code));
		get(m, "OBR", 1, 4, 1, 2, e.type_display, sizeof(e.type_display));
		hie_strlcpy(e.type_scheme, LOINC, sizeof(e.type_scheme));
	} else if (!oru && (get(m, "OBX", 1, 3, 1, 3, sys, sizeof(sys)), strcmp(sys, "LN") == 0)) {
		/* MDM: the document's own LOINC code in OBX-3. */
		get(m, "OBX", 1, 3, 1, 1, e.type_code, sizeof(e.type_code));
		get(m, "OBX", 1, 3, 1, 2, e.type_display, sizeof(e.type_display));
		hie_strlcpy(e.type_scheme, LOINC, sizeof(e.type_scheme));
	} else if (oru) {
		hie_strlcpy(e.type_code, "11502-2", sizeof(e.type_code));
		hie_strlcpy(e.type_display, "Laboratory report", sizeof(e.type_display));
		hie_strlcpy(e.type_scheme, LOINC, sizeof(e.type_scheme));
	} else {
		get(m, "TXA", 1, 2, 1, 1, e.type_code, sizeof(e.type_code));
		get(m, "TXA", 1, 2, 1, 2, e.type_display, sizeof(e.type_display));
		hie_strlcpy(e.type_scheme, "2.16.840.1.113883.12.270", sizeof(e.type_scheme));
		if (e.type_code[0] == '\0')
			hie_strlcpy(e.type_code, "DOC", sizeof(e.type_code));
	}
	if (e.type_display[0] == '\0')
		hie_strlcpy(e.type_display, oru ? "Laboratory report" : e.type_code, sizeof(e.type_display));
	if (oru) {
		hie_strlcpy(e.class_code, "11502-2", sizeof(e.class_code));
		hie_strlcpy(e.class_display, "Laboratory report", sizeof(e.class_display));
		hie_strlcpy(e.class_scheme, LOINC, sizeof(e.class_scheme));
	} else {
		hie_strlcpy(e.class_code, e.type_code, sizeof(e.class_code));
		hie_strlcpy(e.class_display, e.type_display, sizeof(e.class_display));
		hie_strlcpy(e.class_scheme, e.type_scheme, sizeof(e.class_scheme));
	}
	hie_strlcpy(e.title, e.type_display, sizeof(e.title));
	/* creation time */
	v[0] = '\0';
	if (!oru) {
		get(m, "TXA", 1, 4, 1, 1, v, sizeof(v));
		if (v[0] == '\0')
			get(m, "TXA", 1, 6, 1, 1, v, sizeof(v));
	} else
		get(m, "OBR", 1, 7, 1, 1, v, sizeof(v));
	if (v[0] == '\0')
		get(m, "MSH", 1, 7, 1, 1, v, sizeof(v));
	ts_utc(v, e.creation_time, sizeof(e.creation_time));
	/* author: XCN family^given */
	{
		const char *seg = oru ? "OBR" : "TXA";
		int         fld = oru ? 16 : 9;
		char        fam[96], giv[96];
		get(m, seg, 1, fld, 1, 2, fam, sizeof(fam));
		get(m, seg, 1, fld, 1, 3, giv, sizeof(giv));
		if (fam[0] == '\0' && giv[0] == '\0')
			get(m, seg, 1, fld, 1, 1, fam, sizeof(fam));
		if (fam[0] == '\0' && !oru) {
			get(m, "TXA", 1, 5, 1, 2, fam, sizeof(fam));
			get(m, "TXA", 1, 5, 1, 3, giv, sizeof(giv));
			if (fam[0] == '\0')
				get(m, "TXA", 1, 5, 1, 1, fam, sizeof(fam));
		}
		if (fam[0] != '\0' || giv[0] != '\0')
			snprintf(e.author, sizeof(e.author), "%s^%s", fam, giv);
	}
	hie_strlcpy(e.confidentiality, "N", sizeof(e.confidentiality));
	hie_strlcpy(e.language, "en-US", sizeof(e.language));
	hie_strlcpy(e.format_code, "urn:ihe:iti:xds:2017:mimeTypeSufficient", sizeof(e.format_code));
	hie_strlcpy(e.format_scheme, "1.3.6.1.4.1.19376.1.2.3", sizeof(e.format_scheme));
	/* uniqueId */
	if (!oru)
		get(m, "TXA", 1, 12, 1, 1, v, sizeof(v));
	if (!oru && node_is_oid(v))
		hie_strlcpy(e.unique_id, v, sizeof(e.unique_id));
	else {
		const char *app;
		size_t      alen;
		hie_buf_init(&key, f->cfg.lim.max_bytes + 4096);
		hl7_get_raw(m, "MSH", 1, 3, &app, &alen);
		hie_buf_add(&key, app, alen);
		hie_buf_printf(&key, "|%s|", h.control_id);
		hie_buf_add(&key, doc.data, doc.len);
		hie_sha1_hex(key.data, key.len, hash);
		hie_buf_free(&key);
		hash[16] = '\0';
		snprintf(e.unique_id, sizeof(e.unique_id), "2.25.%llu", strtoull(hash, NULL, 16));
	}
	hie_sha1_hex(doc.data, doc.len, e.hash);
	e.size = doc.len;
	/* MDM^T10 replaces the document TXA-13 (parent document number)
	 * names: an RPLC, the parent Deprecated with the new one's arrival. */
	replaces[0] = '\0';
	if (!oru && strcmp(h.event, "T10") == 0) {
		get(m, "TXA", 1, 13, 1, 1, replaces, sizeof(replaces));
		if (!node_is_oid(replaces)) {
			hie_buf_free(&doc);
			return hl7_error_set(err, HL7_E_REQUIRED_MISSING, "TXA", 1, 13,
			    "MDM^T10 needs TXA-13, the uniqueId (an OID) of the document it replaces");
		}
	}
	memset(&rerr, 0, sizeof(rerr));
	rc = reg_put_replacing(f->cfg.reg, &e, doc.data, doc.len, replaces[0] ? replaces : NULL, &rerr);
	hie_buf_free(&doc);
	if (rc == HIE_EEXIST)
		rc = HIE_OK; /* this very message, registered before its ACK was recorded */
	if (rc == HIE_OK) {
		snprintf(detail, dcap, "document %s type %s %zu bytes", e.unique_id, e.type_code, (size_t) e.size);
		return HIE_OK;
	}
	if (rc == HIE_ENOTFOUND)
		return hl7_error_set(err, HL7_E_UNKNOWN_KEY, "TXA", 1, 13, "no registered document %s to replace",
		    replaces);
	if (rc == HIE_EDUPLICATE)
		return hl7_error_set(err, HL7_E_DUPLICATE_KEY, oru ? "MSH" : "TXA", 1, oru ? 10 : 12,
		    "document uniqueId %s already registered with other content", e.unique_id);
	if (rc == HIE_EMETADATA || rc == HIE_EUNKNOWNPATIENT || rc == HIE_EPATIENT)
		return hl7_error_set(err, HL7_E_INTERNAL, "", 0, 0, "registry refused the document: %s",
		    rerr.context[0] ? rerr.context : hie_strerror(rc));
	return rc;
}
