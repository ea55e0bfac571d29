/* registry/ccda.c -- XDS metadata from a C-CDA document's header. */
#include "registry/registry.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_CDA "urn:hl7-org:v3"
#define LOINC "2.16.840.1.113883.6.1"
#define FORMAT_SCHEME "1.3.6.1.4.1.19376.1.2.3"

static void
copy_attr(char *dst, size_t cap, const xmlNode *n, const char *attr)
{
	const char *v = hie_xml_attr(n, attr);
	hie_strlcpy(dst, v != NULL ? v : "", cap);
}

/*
 * A UUID as an OID under 2.25 (ITU-T X.667): "2.25." and the UUID's 128
 * bits in decimal.  Returns 0 when s is not a UUID.
 */
static int
uuid_to_oid(const char *s, char *out, size_t cap)
{
	unsigned char b[16];
	char          dec[48];
	size_t        nd = 0, nb = 0;

	if (strlen(s) != 36)
		return 0;
	for (size_t i = 0; i < 36; i++) {
		int v;
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
			continue;
		}
		if (!isxdigit((unsigned char) s[i]))
			return 0;
		v = isdigit((unsigned char) s[i]) ? s[i] - '0' : (tolower((unsigned char) s[i]) - 'a' + 10);
		if (nb % 2 == 0)
			b[nb / 2] = (unsigned char) (v << 4);
		else
			b[nb / 2] |= (unsigned char) v;
		nb++;
	}
	/* Long division by 10, least significant digit first. */
	for (;;) {
		unsigned rem = 0;
		int      zero = 1;
		for (size_t i = 0; i < 16; i++) {
			unsigned cur = rem * 256 + b[i];
			b[i] = (unsigned char) (cur / 10);
			rem = cur % 10;
			if (b[i] != 0)
				zero = 0;
		}
		dec[nd++] = (char) ('0' + rem);
		if (zero)
			break;
	}
	if (nd + 6 > cap)
		return 0;
	memcpy(out, "2.25.", 5);
	for (size_t i = 0; i < nd; i++)
		out[5 + i] = dec[nd - 1 - i];
	out[5 + nd] = '\0';
	return 1;
}

/*
 * HL7 TS "20240301123000-0500" -> XDS DTM in UTC "20240301173000".  A value
 * without time of day keeps its precision (a date is a date everywhere).
 */
static int
ts_to_dtm(const char *ts, char *out, size_t cap)
{
	char      digits[15];
	size_t    n = 0;
	const char *p = ts;
	int       sign = 0, off = 0;
	struct tm tm;
	time_t    t;

	out[0] = '\0';
	if (ts == NULL)
		return 0;
	while (isdigit((unsigned char) *p) && n < 14)
		digits[n++] = *p++;
	digits[n] = '\0';
	if (*p == '.') /* fractional seconds: dropped, DTM stops at seconds */
		for (p++; isdigit((unsigned char) *p); p++)
			;
	if (n < 4 || n % 2 != 0)
		return 0;
	if ((*p == '+' || *p == '-') && strlen(p) == 5) {
		sign = *p == '+' ? 1 : -1;
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 60 + (p[3] - '0') * 10 + (p[4] - '0');
	} else if (*p != '\0') {
		return 0;
	}
	if (n < 10 || sign == 0) {
		hie_strlcpy(out, digits, cap);
		return 1;
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(digits, "%4d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour) != 4)
		return 0;
	if (n >= 12)
		sscanf(digits + 10, "%2d", &tm.tm_min);
	if (n >= 14)
		sscanf(digits + 12, "%2d", &tm.tm_sec);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) - (time_t) sign * off * 60;
	gmtime_r(&t, &tm);
	strftime(digits, sizeof(digits), "%Y%m%d%H%M%S", &tm);
	digits[n] = '\0'; /* keep the source precision */
	hie_strlcpy(out, digits, cap);
	return 1;
}

/* formatCode from the document-level templateIds (C-CDA R1.1 vs R2.1). */
static void
format_code(const xmlNode *root, struct reg_entry *e)
{
	const char *kind = hie_xml_child(root, NS_CDA, "component") != NULL &&
	                           hie_xml_find(hie_xml_child(root, NS_CDA, "component"), NS_CDA, "nonXMLBody") != NULL
	                       ? "nonXMLBody"
	                       : "structuredBody";
	const char *ver = "1.1";

	for (xmlNode *t = hie_xml_child(root, NS_CDA, "templateId"); t != NULL;
	     t = hie_xml_next(t, NS_CDA, "templateId")) {
		const char *ext = hie_xml_attr(t, "extension");
		if (ext != NULL && strncmp(ext, "2015-08-01", 10) == 0)
			ver = "2.1";
	}
	snprintf(e->format_code, sizeof(e->format_code), "urn:hl7-org:sdwg:ccda-%s:%s", kind, ver);
	hie_strlcpy(e->format_scheme, FORMAT_SCHEME, sizeof(e->format_scheme));
}

static void
author_name(const xmlNode *root, struct reg_entry *e)
{
	xmlNode *a = hie_xml_child(root, NS_CDA, "author");
	xmlNode *name = hie_xml_find(hie_xml_child(a, NS_CDA, "assignedAuthor"), NS_CDA, "name");
	char     family[96], given[96];

	if (name == NULL)
		return;
	hie_xml_text(hie_xml_child(name, NS_CDA, "family"), family, sizeof(family));
	hie_xml_text(hie_xml_child(name, NS_CDA, "given"), given, sizeof(given));
	if (family[0] != '\0' || given[0] != '\0')
		snprintf(e->author, sizeof(e->author), "^%s^%s", family, given);
}

/* Text from a CDA element as one HL7 v2 component: the delimiters would
 * change the field's meaning, so a value holding one is dropped. */
static void
v2_text(const xmlNode *n, char *dst, size_t cap)
{
	hie_xml_text(n, dst, cap);
	if (strpbrk(dst, "|^~\\&\n\r") != NULL)
		dst[0] = '\0';
}

/* Appends one "PID-n|value" line of XDS sourcePatientInfo (ITI TF-3
 * 4.2.3.2.23); value is made of v2_text components. */
static void
spi_line(struct reg_entry *e, const char *field, const char *value)
{
	size_t n = strlen(e->source_patient_info);

	snprintf(e->source_patient_info + n, sizeof(e->source_patient_info) - n, "%s%s|%s", n ? "\n" : "", field,
	    value);
}

/* The patient's demographics as sourcePatientInfo: PID-3 (the patient id
 * as given), PID-5 (family^given), PID-7 (birth date), PID-8 (sex) and
 * PID-11 (street^^city^state^postcode^country).  The MPI is fed from the
 * same lines when a document is imported (node/import.c). */
static void
source_patient_info(const xmlNode *role, struct reg_entry *e)
{
	xmlNode *pat = hie_xml_child(role, NS_CDA, "patient"), *name = hie_xml_child(pat, NS_CDA, "name");
	xmlNode *addr = hie_xml_child(role, NS_CDA, "addr");
	char     a[96], b[96], c[32], d[32], f[16], v[300];

	spi_line(e, "PID-3", e->patient_id);
	v2_text(hie_xml_child(name, NS_CDA, "family"), a, sizeof(a));
	v2_text(hie_xml_child(name, NS_CDA, "given"), b, sizeof(b));
	if (a[0] != '\0' || b[0] != '\0') {
		snprintf(v, sizeof(v), "%s^%s", a, b);
		spi_line(e, "PID-5", v);
	}
	/* A birth time is a date; its hours, fraction and zone (often junk,
	 * e.g. "19540323000000.") are dropped. */
	copy_attr(c, sizeof(c), hie_xml_child(pat, NS_CDA, "birthTime"), "value");
	if (strspn(c, "0123456789") >= 8) {
		c[8] = '\0';
		spi_line(e, "PID-7", c);
	}
	copy_attr(c, sizeof(c), hie_xml_child(pat, NS_CDA, "administrativeGenderCode"), "code");
	if (c[0] != '\0' && c[1] == '\0' && strchr("MFOUAN", c[0]) != NULL)
		spi_line(e, "PID-8", c);
	if (addr != NULL) {
		v2_text(hie_xml_child(addr, NS_CDA, "streetAddressLine"), a, sizeof(a));
		v2_text(hie_xml_child(addr, NS_CDA, "city"), b, sizeof(b));
		v2_text(hie_xml_child(addr, NS_CDA, "state"), c, sizeof(c));
		v2_text(hie_xml_child(addr, NS_CDA, "postalCode"), d, sizeof(d));
		v2_text(hie_xml_child(addr, NS_CDA, "country"), f, sizeof(f));
		if (a[0] || b[0] || d[0]) {
			snprintf(v, sizeof(v), "%s^^%s^%s^%s^%s", a, b, c, d, f);
			spi_line(e, "PID-11", v);
		}
	}
}

hie_err
reg_ccda_extract(const char *buf, size_t len, const struct hie_xml_limits *lim,
    const char *repository_id, struct reg_entry *e, char *why, size_t whycap)
{
	xmlDoc     *doc;
	xmlNode    *root, *n, *pid;
	const char *root_oid, *ext;
	char        oid[64];
	hie_err     err;

	memset(e, 0, sizeof(*e));
	snprintf(why, whycap, "ok");
	if ((err = hie_xml_parse(buf, len, lim, &doc)) != HIE_OK) {
		snprintf(why, whycap, "%s", hie_strerror(err));
		return err;
	}
	err  = HIE_EMETADATA;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || root->ns == NULL || strcmp((const char *) root->ns->href, NS_CDA) != 0 ||
	    strcmp((const char *) root->name, "ClinicalDocument") != 0) {
		snprintf(why, whycap, "not an HL7 CDA ClinicalDocument");
		goto done;
	}
	/* uniqueId: ClinicalDocument/id as OID^extension (ITI TF-3 4.2.3.2.26) */
	n = hie_xml_child(root, NS_CDA, "id");
	root_oid = hie_xml_attr(n, "root");
	ext = hie_xml_attr(n, "extension");
	if (root_oid == NULL) {
		snprintf(why, whycap, "ClinicalDocument/id has no root");
		goto done;
	}
	if (uuid_to_oid(root_oid, oid, sizeof(oid)))
		root_oid = oid; /* II roots may be UUIDs; XDS ids are OIDs */
	if (ext != NULL && ext[0] != '\0')
		snprintf(e->unique_id, sizeof(e->unique_id), "%s^%s", root_oid, ext);
	else
		hie_strlcpy(e->unique_id, root_oid, sizeof(e->unique_id));
	if (strlen(e->unique_id) > 64) {
		snprintf(why, whycap, "document id longer than the 64 characters XDS allows");
		goto done;
	}
	/* patientId: the first recordTarget/patientRole/id with both parts. */
	pid = hie_xml_child(hie_xml_child(hie_xml_child(root, NS_CDA, "recordTarget"), NS_CDA, "patientRole"),
	    NS_CDA, "id");
	for (; pid != NULL; pid = hie_xml_next(pid, NS_CDA, "id"))
		if (hie_xml_attr(pid, "root") != NULL && hie_xml_attr(pid, "extension") != NULL)
			break;
	if (pid == NULL) {
		snprintf(why, whycap, "recordTarget/patientRole has no id with root and extension");
		goto done;
	}
	snprintf(e->patient_id, sizeof(e->patient_id), "%s^^^&%s&ISO", hie_xml_attr(pid, "extension"),
	    hie_xml_attr(pid, "root"));
	hie_strlcpy(e->source_patient_id, e->patient_id, sizeof(e->source_patient_id));
	source_patient_info(pid->parent, e);

	n = hie_xml_child(root, NS_CDA, "code");
	copy_attr(e->type_code, sizeof(e->type_code), n, "code");
	copy_attr(e->type_scheme, sizeof(e->type_scheme), n, "codeSystem");
	copy_attr(e->type_display, sizeof(e->type_display), n, "displayName");
	if (e->type_code[0] == '\0') {
		snprintf(why, whycap, "ClinicalDocument/code has no code");
		goto done;
	}
	if (e->type_scheme[0] == '\0')
		hie_strlcpy(e->type_scheme, LOINC, sizeof(e->type_scheme));
	/* classCode: the LOINC document type doubles as the class here; a
	 * class value set mapping belongs to the affinity domain's config. */
	memcpy(e->class_code, e->type_code, sizeof(e->class_code));
	memcpy(e->class_scheme, e->type_scheme, sizeof(e->class_scheme));
	memcpy(e->class_display, e->type_display, sizeof(e->class_display));

	if (!ts_to_dtm(hie_xml_attr(hie_xml_child(root, NS_CDA, "effectiveTime"), "value"),
	        e->creation_time, sizeof(e->creation_time))) {
		snprintf(why, whycap, "ClinicalDocument/effectiveTime is missing or not an HL7 TS");
		goto done;
	}
	hie_xml_text(hie_xml_child(root, NS_CDA, "title"), e->title, sizeof(e->title));
	copy_attr(e->confidentiality, sizeof(e->confidentiality),
	    hie_xml_child(root, NS_CDA, "confidentialityCode"), "code");
	if (e->confidentiality[0] == '\0')
		hie_strlcpy(e->confidentiality, "N", sizeof(e->confidentiality));
	copy_attr(e->language, sizeof(e->language), hie_xml_child(root, NS_CDA, "languageCode"), "code");
	if (e->language[0] == '\0')
		hie_strlcpy(e->language, "en-US", sizeof(e->language));
	n = hie_xml_find(hie_xml_child(root, NS_CDA, "documentationOf"), NS_CDA, "effectiveTime");
	ts_to_dtm(hie_xml_attr(hie_xml_child(n, NS_CDA, "low"), "value"), e->service_start, sizeof(e->service_start));
	ts_to_dtm(hie_xml_attr(hie_xml_child(n, NS_CDA, "high"), "value"), e->service_stop, sizeof(e->service_stop));
	author_name(root, e);
	format_code(root, e);
	hie_strlcpy(e->mime_type, "text/xml", sizeof(e->mime_type));
	hie_strlcpy(e->repository_id, repository_id, sizeof(e->repository_id));
	hie_strlcpy(e->status, "Approved", sizeof(e->status));
	e->size = len;
	err = HIE_OK;
done:
	xmlFreeDoc(doc);
	return err;
}
