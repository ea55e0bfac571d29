/*
 * mpi/v3_parse.c -- reading HL7 v3 patient queries (PRPA_IN201305UV02,
 * PRPA_IN201309UV02) and their responses into mpi structs.  Every value is
 * checked against the size of its field: nothing is truncated, because a
 * truncated name or identifier would silently search for someone else.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/v3.h"

#define CHILD(n, name) hie_xml_child((n), V3_NS, (name))
#define QBP            "/controlActProcess/queryByParameter"

static hie_err
fail(struct v3_error *err, hie_err e, const char *qrc, const char *code, const char *loc, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static hie_err
fail(struct v3_error *err, hie_err e, const char *qrc, const char *code, const char *loc, const char *fmt, ...)
{
	va_list ap;

	hie_strlcpy(err->qrc, qrc, sizeof(err->qrc));
	hie_strlcpy(err->code, code, sizeof(err->code));
	hie_strlcpy(err->location, loc != NULL ? loc : "", sizeof(err->location));
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return e;
}

/* Copies an attribute value; a missing one is "", one too long an error. */
static hie_err
attr_copy(const xmlNode *n, const char *name, char *dst, size_t cap)
{
	const char *v = hie_xml_attr(n, name);

	dst[0] = '\0';
	return v == NULL ? HIE_OK : hie_strlcpy(dst, v, cap);
}

static hie_err
ii_read(const xmlNode *n, struct v3_ii *ii)
{
	hie_err e = attr_copy(n, "root", ii->root, sizeof(ii->root));
	return e != HIE_OK ? e : attr_copy(n, "extension", ii->ext, sizeof(ii->ext));
}

hie_err
v3_ii_to_cx(const char *root, const char *ext, struct mpi_cx *cx)
{
	char s[300];

	if (root == NULL || ext == NULL || root[0] == '\0' || ext[0] == '\0' ||
	    (size_t) snprintf(s, sizeof(s), "%s^^^&%s&ISO", ext, root) >= sizeof(s))
		return HIE_EINVAL;
	return mpi_cx_parse(s, cx);
}

hie_err
v3_parse_buf(const char *buf, size_t len, const struct hie_xml_limits *lim, xmlDoc **doc)
{
	return hie_xml_parse(buf, len, lim, doc);
}

/* sender or receiver: device id and the homeCommunityId it carries. */
static hie_err
party_read(const xmlNode *root, const char *which, char *device, size_t dcap, char *home, size_t hcap)
{
	const xmlNode *d = CHILD(CHILD(root, which), "device");
	const xmlNode *org = CHILD(CHILD(CHILD(d, "asAgent"), "representedOrganization"), "id");
	hie_err        e = attr_copy(CHILD(d, "id"), "root", device, dcap);

	return e != HIE_OK ? e : attr_copy(org, "root", home, hcap);
}

static hie_err
header_read(const xmlNode *root, struct v3_header *h, struct v3_error *err)
{
	const xmlNode *qbp = CHILD(CHILD(root, "controlActProcess"), "queryByParameter");

	if (ii_read(CHILD(root, "id"), &h->id) != HIE_OK ||
	    party_read(root, "sender", h->sender_device, sizeof(h->sender_device), h->sender_home,
	        sizeof(h->sender_home)) != HIE_OK ||
	    party_read(root, "receiver", h->receiver_device, sizeof(h->receiver_device), h->receiver_home,
	        sizeof(h->receiver_home)) != HIE_OK ||
	    ii_read(CHILD(qbp, "queryId"), &h->query_id) != HIE_OK)
		return fail(err, HIE_ETOOBIG, "AE", "207", NULL, "an identifier in the message header is too long");
	return HIE_OK;
}

/* ---- the demographic parameters ---- */

static hie_err
name_read(const xmlNode *v, struct mpi_name *nm, const char *loc, struct v3_error *err)
{
	int ngiven = 0;

	memset(nm, 0, sizeof(*nm));
	hie_strlcpy(nm->use, "L", sizeof(nm->use));
	for (const xmlNode *c = v->children; c != NULL; c = c->next) {
		char   *dst = NULL;
		size_t  cap = 0;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *) c->name, "given") == 0) {
			if (ngiven == 0)
				dst = nm->given, cap = sizeof(nm->given);
			else if (ngiven == 1)
				dst = nm->middle, cap = sizeof(nm->middle);
			ngiven++;
		} else if (strcmp((const char *) c->name, "family") == 0 && nm->family[0] == '\0') {
			dst = nm->family, cap = sizeof(nm->family);
		}
		if (dst != NULL && hie_xml_text(c, dst, cap) != HIE_OK)
			return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "a name part is longer than %zu bytes", cap - 1);
	}
	if (nm->given[0] == '\0' && nm->family[0] == '\0') {
		/* An empty name with a "starts with" qualifier or no parts. */
		const char *t = (const char *) (v->children != NULL && v->children->type == XML_TEXT_NODE
		                                    ? v->children->content : NULL);
		if (t != NULL && strspn(t, " \t\r\n") != strlen(t)) {
			/* A PN as plain text: last word the family name. */
			char        buf[192];
			const char *sp;
			if (hie_xml_text(v, buf, sizeof(buf)) != HIE_OK)
				return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "name too long");
			sp = strrchr(buf, ' ');
			if (hie_strlcpy(nm->family, sp ? sp + 1 : buf, sizeof(nm->family)) != HIE_OK)
				return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "name too long");
			if (sp != NULL) {
				buf[sp - buf] = '\0';
				if (hie_strlcpy(nm->given, buf, sizeof(nm->given)) != HIE_OK)
					return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "name too long");
			}
		}
	}
	if (nm->given[0] == '\0' && nm->family[0] == '\0')
		return fail(err, HIE_EINVAL, "QE", "QE", loc, "a name with neither given nor family part");
	return HIE_OK;
}

/* "3443 North Arctic Avenue" -> number "3443", street "North Arctic Avenue". */
static hie_err
street_split(const char *line, struct mpi_addr *a)
{
	size_t k = 0;

	while (isdigit((unsigned char) line[k]) && k < sizeof(a->number) - 1)
		k++;
	if (k > 0 && (line[k] == ' ' || line[k] == '\0')) {
		memcpy(a->number, line, k);
		a->number[k] = '\0';
		line += k;
		while (*line == ' ')
			line++;
	}
	return hie_strlcpy(a->street, line, sizeof(a->street));
}

static hie_err
addr_read(const xmlNode *v, struct mpi_addr *a, const char *loc, struct v3_error *err)
{
	int lines = 0;

	memset(a, 0, sizeof(*a));
	hie_strlcpy(a->use, "H", sizeof(a->use));
	for (const xmlNode *c = v->children; c != NULL; c = c->next) {
		const char *n = (const char *) c->name;
		char        buf[192];
		hie_err     e = HIE_OK;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (hie_xml_text(c, buf, sizeof(buf)) != HIE_OK)
			return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "an address part is too long");
		if (strcmp(n, "streetAddressLine") == 0)
			e = lines++ == 0 ? street_split(buf, a) : hie_strlcpy(a->line2, buf, sizeof(a->line2));
		else if (strcmp(n, "houseNumber") == 0)
			e = hie_strlcpy(a->number, buf, sizeof(a->number));
		else if (strcmp(n, "streetName") == 0)
			e = hie_strlcpy(a->street, buf, sizeof(a->street));
		else if (strcmp(n, "city") == 0)
			e = hie_strlcpy(a->city, buf, sizeof(a->city));
		else if (strcmp(n, "state") == 0)
			e = hie_strlcpy(a->state, buf, sizeof(a->state));
		else if (strcmp(n, "postalCode") == 0)
			e = hie_strlcpy(a->postcode, buf, sizeof(a->postcode));
		else if (strcmp(n, "country") == 0)
			e = hie_strlcpy(a->country, buf, sizeof(a->country));
		if (e != HIE_OK)
			return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "address part %s is too long", n);
	}
	return HIE_OK;
}

/* "tel:+1-481-555-7684;ext=2342" -> "+1-481-555-7684"; other schemes
 * (mailto:) are not phones: *skip set. */
static hie_err
telecom_read(const xmlNode *v, struct mpi_phone *ph, int *skip)
{
	const char *s = hie_xml_attr(v, "value"), *use = hie_xml_attr(v, "use");
	size_t      k;

	memset(ph, 0, sizeof(*ph));
	*skip = 0;
	if (s == NULL || strncmp(s, "tel:", 4) != 0) {
		*skip = 1;
		return HIE_OK;
	}
	s += 4;
	k = strcspn(s, ";");
	if (k == 0 || k >= sizeof(ph->number))
		return HIE_ETOOBIG;
	memcpy(ph->number, s, k);
	ph->number[k] = '\0';
	hie_strlcpy(ph->use, use != NULL && strcmp(use, "WP") == 0 ? "WPN" : "PRN", sizeof(ph->use));
	return HIE_OK;
}

static hie_err
id_read(const xmlNode *v, struct mpi_ident *id, const char *loc, struct v3_error *err)
{
	memset(id, 0, sizeof(*id));
	if (v3_ii_to_cx(hie_xml_attr(v, "root"), hie_xml_attr(v, "extension"), &id->cx) != HIE_OK)
		return fail(err, HIE_EINVAL, "AE", "204", loc,
		    "identifier must have an OID root and a non-empty extension without HL7 separators");
	/* National ids are scored, not linked on (mpi.h). */
	hie_strlcpy(id->type, strcmp(id->cx.authority, MPI_CSV_SSN_OID) == 0 ? "SS" : "PI", sizeof(id->type));
	return HIE_OK;
}

static const char *const unsupported_hint = "this node does not support the query parameter";

/* One parameter of the parameterList. */
static hie_err
param_read(const xmlNode *p, struct v3_query *q, struct v3_error *err)
{
	const char     *n = (const char *) p->name;
	const xmlNode  *v = CHILD(p, "value");
	char            loc[192];
	struct mpi_patient *d = &q->demo;
	hie_err         e;

	snprintf(loc, sizeof(loc), "/PRPA_IN201305UV02" QBP "/parameterList/%s/value", n);
	if (p->ns == NULL || strcmp((const char *) p->ns->href, V3_NS) != 0)
		return fail(err, HIE_EINVAL, "QE", "QE", loc, "%s %s", unsupported_hint, n);
	if (strcmp(n, "livingSubjectName") == 0) {
		for (; v != NULL; v = hie_xml_next(v, V3_NS, "value")) {
			if (d->n_names == MPI_MAX_NAMES)
				return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "more than %d names", MPI_MAX_NAMES);
			if ((e = name_read(v, &d->names[d->n_names], loc, err)) != HIE_OK)
				return e;
			d->n_names++;
		}
		return HIE_OK;
	}
	if (v == NULL)
		return fail(err, HIE_EINVAL, "QE", "QE", loc, "parameter %s without a value", n);
	if (strcmp(n, "livingSubjectBirthTime") == 0) {
		const char *s = hie_xml_attr(v, "value");
		char        ymd[9];
		if (d->birth_date[0] != '\0')
			return fail(err, HIE_EINVAL, "QE", "QE", loc, "more than one birth time");
		if (s == NULL || strlen(s) > 24 || mpi_date_parse(s, ymd) != HIE_OK)
			return fail(err, HIE_EINVAL, "QE", "QE", loc, "birth time is not a valid HL7 TS date");
		memcpy(d->birth_date, ymd, sizeof(ymd));
		return HIE_OK;
	}
	if (strcmp(n, "livingSubjectAdministrativeGender") == 0) {
		const char *c = hie_xml_attr(v, "code");
		if (d->sex != 0)
			return fail(err, HIE_EINVAL, "QE", "QE", loc, "more than one gender");
		if (c != NULL && (strcmp(c, "M") == 0 || strcmp(c, "F") == 0))
			d->sex = c[0];
		else if (c != NULL && strcmp(c, "UN") == 0)
			d->sex = 'U';
		else
			return fail(err, HIE_EINVAL, "QE", "QE", loc, "gender must be M, F or UN (AdministrativeGender)");
		return HIE_OK;
	}
	if (strcmp(n, "livingSubjectId") == 0) {
		for (; v != NULL; v = hie_xml_next(v, V3_NS, "value")) {
			if (d->n_ids == MPI_MAX_IDS)
				return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "more than %d identifiers", MPI_MAX_IDS);
			if ((e = id_read(v, &d->ids[d->n_ids], loc, err)) != HIE_OK)
				return e;
			d->n_ids++;
		}
		return HIE_OK;
	}
	if (strcmp(n, "patientAddress") == 0) {
		for (; v != NULL; v = hie_xml_next(v, V3_NS, "value")) {
			if (d->n_addrs == MPI_MAX_ADDRS)
				return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "more than %d addresses", MPI_MAX_ADDRS);
			if ((e = addr_read(v, &d->addrs[d->n_addrs], loc, err)) != HIE_OK)
				return e;
			d->n_addrs++;
		}
		return HIE_OK;
	}
	if (strcmp(n, "patientTelecom") == 0) {
		for (; v != NULL; v = hie_xml_next(v, V3_NS, "value")) {
			int skip;
			if (d->n_phones == MPI_MAX_PHONES)
				return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "more than %d telecoms", MPI_MAX_PHONES);
			if (telecom_read(v, &d->phones[d->n_phones], &skip) != HIE_OK)
				return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "telephone number too long or empty");
			d->n_phones += !skip;
		}
		return HIE_OK;
	}
	if (strcmp(n, "mothersMaidenName") == 0) {
		/* Accepted and kept, not matched on: the MPI has no such field. */
		if (hie_xml_text(CHILD(v, "family"), q->mothers_maiden, sizeof(q->mothers_maiden)) == HIE_ETOOBIG)
			return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "mother's maiden name too long");
		return HIE_OK;
	}
	if (strcmp(n, "otherIDsScopingOrganization") == 0) {
		for (; v != NULL; v = hie_xml_next(v, V3_NS, "value")) {
			const char *r = hie_xml_attr(v, "root");
			struct mpi_cx probe;
			if (q->n_scoping == V3_MAX_DOMAINS)
				return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "more than %d scoping organizations", V3_MAX_DOMAINS);
			if (r == NULL || v3_ii_to_cx(r, "x", &probe) != HIE_OK)
				return fail(err, HIE_EINVAL, "AE", "204", loc, "scoping organization id must be an OID");
			hie_strlcpy(q->scoping[q->n_scoping++], r, sizeof(q->scoping[0]));
		}
		return HIE_OK;
	}
	/* livingSubjectBirthPlaceName, principalCareProviderId, ...: the MPI
	 * cannot match on them, and ignoring a criterion would widen the
	 * search beyond what the requester asked. */
	return fail(err, HIE_EINVAL, "QE", "QE", loc, "%s %s", unsupported_hint, n);
}

static int
is_elem(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	       strcmp((const char *) n->ns->href, V3_NS) == 0 && strcmp((const char *) n->name, name) == 0;
}

static int
int_attr(const xmlNode *n, int dflt)
{
	const char *s = hie_xml_attr(n, "value");
	char       *end;
	long        v;

	if (s == NULL)
		return dflt;
	v = strtol(s, &end, 10);
	return *end != '\0' || end == s || v < 0 || v > 100000 ? -2 : (int) v;
}

hie_err
v3_query_parse(const xmlNode *root, struct v3_query *q, struct v3_error *err)
{
	const xmlNode *qbp, *pl, *mcl;
	size_t         nparams = 0;
	hie_err        e;

	memset(q, 0, sizeof(*q));
	memset(err, 0, sizeof(*err));
	q->min_degree = q->initial_quantity = -1;
	if (!is_elem(root, "PRPA_IN201305UV02"))
		return fail(err, HIE_EPROTO, "AE", "207", NULL, "not a PRPA_IN201305UV02");
	if ((e = header_read(root, &q->h, err)) != HIE_OK)
		return e;
	qbp = CHILD(CHILD(root, "controlActProcess"), "queryByParameter");
	pl = CHILD(qbp, "parameterList");
	if (pl == NULL)
		return fail(err, HIE_EINVAL, "AE", "207", "/PRPA_IN201305UV02" QBP,
		    "no controlActProcess/queryByParameter/parameterList");
	mcl = CHILD(qbp, "matchCriterionList");
	q->min_degree = int_attr(CHILD(CHILD(mcl, "minimumDegreeMatch"), "value"), -1);
	q->initial_quantity = int_attr(CHILD(qbp, "initialQuantity"), -1);
	if (q->min_degree < -1 || q->min_degree > 100 || q->initial_quantity < -1)
		return fail(err, HIE_EINVAL, "QE", "QE", "/PRPA_IN201305UV02" QBP,
		    "minimumDegreeMatch must be 0..100 and initialQuantity a count");
	for (const xmlNode *p = pl->children; p != NULL; p = p->next) {
		if (p->type != XML_ELEMENT_NODE)
			continue;
		if (++nparams > V3_MAX_PARAMS)
			return fail(err, HIE_ETOOBIG, "QE", "QE", "/PRPA_IN201305UV02" QBP "/parameterList",
			    "more than %d query parameters", V3_MAX_PARAMS);
		if ((e = param_read(p, q, err)) != HIE_OK)
			return e;
	}
	if (q->demo.n_names == 0 && q->demo.birth_date[0] == '\0' && q->demo.n_ids == 0)
		return fail(err, HIE_EINVAL, "QE", "QE", "/PRPA_IN201305UV02" QBP "/parameterList",
		    "a query needs a name, a birth time or an identifier");
	return HIE_OK;
}

hie_err
v3_pix_query_parse(const xmlNode *root, struct v3_pix_query *q, struct v3_error *err)
{
	const xmlNode *pl;
	size_t         nparams = 0;
	int            have_id = 0;

	memset(q, 0, sizeof(*q));
	memset(err, 0, sizeof(*err));
	if (!is_elem(root, "PRPA_IN201309UV02"))
		return fail(err, HIE_EPROTO, "AE", "207", NULL, "not a PRPA_IN201309UV02");
	if (header_read(root, &q->h, err) != HIE_OK)
		return HIE_ETOOBIG;
	pl = CHILD(CHILD(CHILD(root, "controlActProcess"), "queryByParameter"), "parameterList");
	if (pl == NULL)
		return fail(err, HIE_EINVAL, "AE", "207", "/PRPA_IN201309UV02" QBP,
		    "no controlActProcess/queryByParameter/parameterList");
	for (const xmlNode *p = pl->children; p != NULL; p = p->next) {
		const xmlNode *v;
		if (p->type != XML_ELEMENT_NODE)
			continue;
		if (++nparams > V3_MAX_PARAMS)
			return fail(err, HIE_ETOOBIG, "QE", "QE", "/PRPA_IN201309UV02" QBP "/parameterList",
			    "more than %d query parameters", V3_MAX_PARAMS);
		v = CHILD(p, "value");
		if (is_elem(p, "patientIdentifier")) {
			const char *loc = "/PRPA_IN201309UV02" QBP "/parameterList/patientIdentifier/value";
			if (have_id++ || v == NULL || hie_xml_next(v, V3_NS, "value") != NULL)
				return fail(err, HIE_EINVAL, "QE", "QE", loc, "exactly one patientIdentifier value is required");
			if (v3_ii_to_cx(hie_xml_attr(v, "root"), hie_xml_attr(v, "extension"), &q->id) != HIE_OK)
				return fail(err, HIE_EINVAL, "AE", "204", loc,
				    "patientIdentifier must have an OID root and a non-empty extension");
		} else if (is_elem(p, "dataSource")) {
			const char   *loc = "/PRPA_IN201309UV02" QBP "/parameterList/dataSource/value";
			const char   *r = hie_xml_attr(v, "root");
			struct mpi_cx probe;
			if (q->n_sources == V3_MAX_DOMAINS)
				return fail(err, HIE_ETOOBIG, "QE", "QE", loc, "more than %d data sources", V3_MAX_DOMAINS);
			if (r == NULL || v3_ii_to_cx(r, "x", &probe) != HIE_OK)
				return fail(err, HIE_EINVAL, "AE", "204", loc, "dataSource must be an OID");
			hie_strlcpy(q->sources[q->n_sources++], r, sizeof(q->sources[0]));
		} else {
			char loc[192];
			snprintf(loc, sizeof(loc), "/PRPA_IN201309UV02" QBP "/parameterList/%s", (const char *) p->name);
			return fail(err, HIE_EINVAL, "QE", "QE", loc, "%s %s", unsupported_hint, (const char *) p->name);
		}
	}
	if (!have_id)
		return fail(err, HIE_EINVAL, "QE", "QE", "/PRPA_IN201309UV02" QBP "/parameterList",
		    "a PIX query needs a patientIdentifier");
	return HIE_OK;
}

/* ---- responses (initiating side) ---- */

static void
person_read(const xmlNode *pp, struct mpi_patient *d)
{
	const xmlNode *n;
	const char    *s;
	char           ymd[9];

	for (n = CHILD(pp, "name"); n != NULL && d->n_names < MPI_MAX_NAMES; n = hie_xml_next(n, V3_NS, "name")) {
		struct v3_error ignore;
		if (name_read(n, &d->names[d->n_names], "", &ignore) == HIE_OK)
			d->n_names++;
	}
	s = hie_xml_attr(CHILD(pp, "administrativeGenderCode"), "code");
	if (s != NULL && (strcmp(s, "M") == 0 || strcmp(s, "F") == 0))
		d->sex = s[0];
	s = hie_xml_attr(CHILD(pp, "birthTime"), "value");
	if (s != NULL && strlen(s) <= 24 && mpi_date_parse(s, ymd) == HIE_OK)
		memcpy(d->birth_date, ymd, sizeof(ymd));
	for (n = CHILD(pp, "asOtherIDs"); n != NULL && d->n_ids < MPI_MAX_IDS; n = hie_xml_next(n, V3_NS, "asOtherIDs")) {
		const xmlNode *id = CHILD(n, "id");
		if (v3_ii_to_cx(hie_xml_attr(id, "root"), hie_xml_attr(id, "extension"), &d->ids[d->n_ids].cx) == HIE_OK)
			d->n_ids++;
	}
}

hie_err
v3_response_parse(const xmlNode *root, int pix, struct v3_result *res)
{
	const xmlNode *ack, *cap, *s, *det;
	const char    *v;

	res->n = 0;
	res->ack[0] = res->qrc[0] = res->issue[0] = res->custodian[0] = res->detail[0] = '\0';
	if (!is_elem(root, pix ? "PRPA_IN201310UV02" : "PRPA_IN201306UV02"))
		return HIE_EPROTO;
	ack = CHILD(root, "acknowledgement");
	cap = CHILD(root, "controlActProcess");
	if ((v = hie_xml_attr(CHILD(ack, "typeCode"), "code")) == NULL || hie_strlcpy(res->ack, v, sizeof(res->ack)) != HIE_OK)
		return HIE_EPROTO;
	if ((det = CHILD(ack, "acknowledgementDetail")) != NULL)
		hie_xml_text(CHILD(det, "text"), res->detail, sizeof(res->detail));
	if ((v = hie_xml_attr(CHILD(CHILD(cap, "queryAck"), "queryResponseCode"), "code")) == NULL ||
	    hie_strlcpy(res->qrc, v, sizeof(res->qrc)) != HIE_OK)
		return HIE_EPROTO;
	det = hie_xml_find(CHILD(cap, "reasonOf"), V3_NS, "detectedIssueManagement");
	if ((v = hie_xml_attr(CHILD(det, "code"), "code")) != NULL)
		hie_strlcpy(res->issue, v, sizeof(res->issue));
	for (s = CHILD(cap, "subject"); s != NULL; s = hie_xml_next(s, V3_NS, "subject")) {
		const xmlNode     *re = CHILD(s, "registrationEvent");
		const xmlNode     *pat = CHILD(CHILD(re, "subject1"), "patient");
		const xmlNode     *id = CHILD(pat, "id");
		struct v3_subject *sub;
		if (res->n == res->cap)
			return HIE_ETOOBIG;
		sub = &res->subjects[res->n];
		memset(sub, 0, sizeof(*sub));
		if (v3_ii_to_cx(hie_xml_attr(id, "root"), hie_xml_attr(id, "extension"), &sub->id) != HIE_OK)
			return HIE_EPROTO;
		person_read(CHILD(pat, "patientPerson"), &sub->demo);
		sub->confidence = int_attr(CHILD(hie_xml_find(CHILD(pat, "subjectOf1"), V3_NS, "queryMatchObservation"), "value"), -1);
		if (res->custodian[0] == '\0')
			attr_copy(CHILD(CHILD(CHILD(re, "custodian"), "assignedEntity"), "id"), "root", res->custodian,
			    sizeof(res->custodian));
		res->n++;
	}
	return HIE_OK;
}
