/*
 * mpi/v3_build.c -- writing HL7 v3 patient messages: the responses of a
 * responding gateway / PIX / PDQ manager (PRPA_IN201306UV02,
 * PRPA_IN201310UV02) and the queries of an initiating gateway
 * (PRPA_IN201305UV02, PRPA_IN201309UV02).  Element order follows the
 * NE2008 schemas (the tests validate against them).  Text from outside
 * goes in with xmlNewTextChild / xmlNewProp, which escape it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mpi/v3.h"

#define NS_XSI        "http://www.w3.org/2001/XMLSchema-instance"
#define OID_INTERACT  "2.16.840.1.113883.1.6"
#define OID_ACK_DET   "2.16.840.1.113883.12.357"
#define OID_ISSUE     "2.16.840.1.113883.5.4"
#define OID_ISSUE_MGT "1.3.6.1.4.1.19376.1.2.27.3"
#define OID_HDL       "1.3.6.1.4.1.19376.1.2.27.2"

static xmlNode *
el(xmlNode *parent, const char *name)
{
	return xmlNewChild(parent, parent->ns, BAD_CAST name, NULL);
}

static xmlNode *
el_text(xmlNode *parent, const char *name, const char *text)
{
	return xmlNewTextChild(parent, parent->ns, BAD_CAST name, BAD_CAST text);
}

static void
attr(xmlNode *n, const char *name, const char *value)
{
	xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

static xmlNode *
el_attr(xmlNode *parent, const char *name, const char *a, const char *v)
{
	xmlNode *n = el(parent, name);
	attr(n, a, v);
	return n;
}

static xmlNode *
el_ii(xmlNode *parent, const char *name, const char *root, const char *ext)
{
	xmlNode *n = el(parent, name);
	if (root != NULL && root[0] != '\0') {
		attr(n, "root", root);
		if (ext != NULL && ext[0] != '\0')
			attr(n, "extension", ext);
	} else {
		attr(n, "nullFlavor", "NI");
	}
	return n;
}

static void
creation_time(xmlNode *parent)
{
	char      ts[16];
	time_t    now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
	el_attr(parent, "creationTime", "value", ts);
}

static xmlNode *
root_new(xmlNode *parent, const char *interaction, const char *device, const char *msg_ext)
{
	xmlNs   *ns;
	xmlNode *r = xmlNewChild(parent, NULL, BAD_CAST interaction, NULL), *n;

	ns = xmlNewNs(r, BAD_CAST V3_NS, NULL);
	xmlSetNs(r, ns);
	xmlNewNs(r, BAD_CAST NS_XSI, BAD_CAST "xsi");
	attr(r, "ITSVersion", "XML_1.0");
	el_ii(r, "id", device, msg_ext);
	creation_time(r);
	n = el_ii(r, "interactionId", OID_INTERACT, interaction);
	(void) n;
	el_attr(r, "processingCode", "code", "P");
	el_attr(r, "processingModeCode", "code", "T");
	return r;
}

/* receiver or sender: a device, and the homeCommunityId it speaks for. */
static void
party(xmlNode *r, const char *which, const char *device, const char *home)
{
	xmlNode *p = el_attr(r, which, "typeCode", strcmp(which, "sender") == 0 ? "SND" : "RCV");
	xmlNode *d = el(p, "device"), *a, *o;

	attr(d, "classCode", "DEV");
	attr(d, "determinerCode", "INSTANCE");
	el_ii(d, "id", device, NULL);
	if (home == NULL || home[0] == '\0')
		return;
	a = el_attr(d, "asAgent", "classCode", "AGNT");
	o = el(a, "representedOrganization");
	attr(o, "classCode", "ORG");
	attr(o, "determinerCode", "INSTANCE");
	el_ii(o, "id", home, NULL);
}

static void
xsi_type(xmlNode *n, const char *type)
{
	xmlNs *xsi = xmlSearchNsByHref(n->doc, n, BAD_CAST NS_XSI);
	xmlNewNsProp(n, xsi, BAD_CAST "type", BAD_CAST type);
}

static void
name_add(xmlNode *parent, const char *elem, const struct mpi_name *nm, int typed)
{
	xmlNode *n = el(parent, elem);

	if (typed)
		xsi_type(n, "PN");
	if (nm->given[0] != '\0')
		el_text(n, "given", nm->given);
	if (nm->middle[0] != '\0')
		el_text(n, "given", nm->middle);
	if (nm->family[0] != '\0')
		el_text(n, "family", nm->family);
}

static void
addr_add(xmlNode *parent, const char *elem, const struct mpi_addr *a)
{
	xmlNode *n = el(parent, elem);
	char     line[128];

	if (a->street[0] != '\0') {
		snprintf(line, sizeof(line), "%s%s%s", a->number, a->number[0] ? " " : "", a->street);
		el_text(n, "streetAddressLine", line);
	}
	if (a->line2[0] != '\0')
		el_text(n, "streetAddressLine", a->line2);
	if (a->city[0] != '\0')
		el_text(n, "city", a->city);
	if (a->state[0] != '\0')
		el_text(n, "state", a->state);
	if (a->postcode[0] != '\0')
		el_text(n, "postalCode", a->postcode);
	if (a->country[0] != '\0')
		el_text(n, "country", a->country);
}

static void
telecom_add(xmlNode *parent, const char *elem, const struct mpi_phone *ph, int with_use)
{
	char     v[48];
	xmlNode *n;

	snprintf(v, sizeof(v), "tel:%s", ph->number);
	n = el_attr(parent, elem, "value", v);
	if (with_use)
		attr(n, "use", strcmp(ph->use, "WPN") == 0 ? "WP" : "HP");
}

static const char *
gender_code(char sex)
{
	return sex == 'M' ? "M" : sex == 'F' ? "F" : "UN";
}

static void
other_id_add(xmlNode *pp, const struct mpi_cx *cx)
{
	xmlNode *o = el_attr(pp, "asOtherIDs", "classCode", "PAT"), *s;

	el_ii(o, "id", cx->authority, cx->id);
	s = el(o, "scopingOrganization");
	attr(s, "classCode", "ORG");
	attr(s, "determinerCode", "INSTANCE");
	el_ii(s, "id", cx->authority, NULL);
}

static void
subject_add(xmlNode *cap, const struct v3_subject *sub, const char *home, int pix)
{
	xmlNode *s = el_attr(cap, "subject", "typeCode", "SUBJ");
	xmlNode *re = el(s, "registrationEvent"), *s1, *pat, *pp, *c, *ae;
	const struct mpi_patient *d = &sub->demo;

	attr(re, "classCode", "REG");
	attr(re, "moodCode", "EVN");
	el_attr(re, "id", "nullFlavor", "NA");
	el_attr(re, "statusCode", "code", "active");
	s1 = el_attr(re, "subject1", "typeCode", "SBJ");
	pat = el_attr(s1, "patient", "classCode", "PAT");
	el_ii(pat, "id", sub->id.authority, sub->id.id);
	el_attr(pat, "statusCode", "code", "active");
	pp = el(pat, "patientPerson");
	attr(pp, "classCode", "PSN");
	attr(pp, "determinerCode", "INSTANCE");
	if (pix) {
		/* PIX answers identifiers only (ITI TF-2b 3.45.4.2.3). */
		el_attr(pp, "name", "nullFlavor", "NA");
	} else {
		for (size_t i = 0; i < d->n_names; i++)
			name_add(pp, "name", &d->names[i], 0);
		if (d->n_names == 0)
			el_attr(pp, "name", "nullFlavor", "NI");
		for (size_t i = 0; i < d->n_phones; i++)
			telecom_add(pp, "telecom", &d->phones[i], 1);
		el_attr(pp, "administrativeGenderCode", "code", gender_code(d->sex));
		if (d->birth_date[0] != '\0')
			el_attr(pp, "birthTime", "value", d->birth_date);
		for (size_t i = 0; i < d->n_addrs; i++)
			addr_add(pp, "addr", &d->addrs[i]);
	}
	for (size_t i = 0; i < d->n_ids; i++)
		if (mpi_id_compare(&d->ids[i].cx, &sub->id) != 1)
			other_id_add(pp, &d->ids[i].cx);
	if (sub->confidence >= 0) {
		char     v[16];
		xmlNode *o = el(el_attr(pat, "subjectOf1", "typeCode", "SBJ"), "queryMatchObservation"), *val;
		attr(o, "classCode", "COND");
		attr(o, "moodCode", "EVN");
		el_attr(o, "code", "code", "IHE_PDQ");
		snprintf(v, sizeof(v), "%d", sub->confidence > 100 ? 100 : sub->confidence);
		val = el_attr(o, "value", "value", v);
		xsi_type(val, "INT");
	}
	/* The responding community (ITI TF-2b 3.55.4.2.2.4): its
	 * homeCommunityId, and no Health Data Locator here. */
	c = el_attr(re, "custodian", "typeCode", "CST");
	ae = el_attr(c, "assignedEntity", "classCode", "ASSIGNED");
	el_ii(ae, "id", home, NULL);
	if (!pix) {
		xmlNode *code = el_attr(ae, "code", "code", "NotHealthDataLocator");
		attr(code, "codeSystem", OID_HDL);
	}
}

hie_err
v3_response_build(xmlNode *parent, const struct v3_response *r, int pix)
{
	const char *interaction = pix ? "PRPA_IN201310UV02" : "PRPA_IN201306UV02";
	char        msg[46];
	xmlNode    *root, *ack, *cap, *qa, *n;

	if (r->ack == NULL || r->qrc == NULL || r->device == NULL)
		return HIE_EINVAL;
	hie_urn_uuid(msg);
	root = root_new(parent, interaction, r->device, msg + 9);
	el_attr(root, "acceptAckCode", "code", "NE");
	party(root, "receiver", r->req != NULL ? r->req->sender_device : NULL, r->req != NULL ? r->req->sender_home : NULL);
	party(root, "sender", r->device, r->home);
	ack = el(root, "acknowledgement");
	el_attr(ack, "typeCode", "code", r->ack);
	n = el(ack, "targetMessage");
	if (r->req != NULL)
		el_ii(n, "id", r->req->id.root, r->req->id.ext);
	else
		el_ii(n, "id", NULL, NULL);
	if (r->err != NULL && r->err->text[0] != '\0') {
		xmlNode *d = el_attr(ack, "acknowledgementDetail", "typeCode", "E");
		xmlNode *c = el_attr(d, "code", "code", r->err->code[0] ? r->err->code : "207");
		attr(c, "codeSystem", OID_ACK_DET);
		el_text(d, "text", r->err->text);
		if (r->err->location[0] != '\0')
			el_text(d, "location", r->err->location);
	}
	cap = el(root, "controlActProcess");
	attr(cap, "classCode", "CACT");
	attr(cap, "moodCode", "EVN");
	n = el_attr(cap, "code", "code", pix ? "PRPA_TE201310UV02" : "PRPA_TE201306UV02");
	attr(n, "codeSystem", OID_INTERACT);
	for (size_t i = 0; i < r->n; i++)
		subject_add(cap, &r->subjects[i], r->home, pix);
	if (r->issue != NULL) {
		/* ITI TF-2b 3.55.4.2.3 case 5: an answer is not disclosed
		 * (several possible matches), said without saying who. */
		xmlNode *ro = el_attr(cap, "reasonOf", "typeCode", "RSON");
		xmlNode *ev = el(ro, "detectedIssueEvent"), *m, *mg;
		attr(ev, "classCode", "ALRT");
		attr(ev, "moodCode", "EVN");
		n = el_attr(ev, "code", "code", "ActAdministrativeDetectedIssueCode");
		attr(n, "codeSystem", OID_ISSUE);
		m = el_attr(ev, "mitigatedBy", "typeCode", "MITGT");
		mg = el(m, "detectedIssueManagement");
		attr(mg, "classCode", "ACT");
		attr(mg, "moodCode", "EVN");
		n = el_attr(mg, "code", "code", r->issue);
		attr(n, "codeSystem", OID_ISSUE_MGT);
	}
	qa = el(cap, "queryAck");
	if (r->req != NULL && r->req->query_id.root[0] != '\0')
		el_ii(qa, "queryId", r->req->query_id.root, r->req->query_id.ext);
	el_attr(qa, "queryResponseCode", "code", r->qrc);
	if (!pix && strcmp(r->qrc, "AE") != 0 && strcmp(r->qrc, "QE") != 0) {
		char v[24];
		snprintf(v, sizeof(v), "%zu", r->n);
		el_attr(qa, "resultTotalQuantity", "value", v);
		el_attr(qa, "resultCurrentQuantity", "value", v);
		el_attr(qa, "resultRemainingQuantity", "value", "0");
	}
	if (r->query != NULL) {
		xmlNode *copy = xmlDocCopyNode((xmlNode *) r->query, root->doc, 1);
		if (copy == NULL)
			return HIE_ENOMEM;
		xmlAddChild(cap, copy);
		xmlReconciliateNs(root->doc, copy);
	}
	return HIE_OK;
}

/* One parameter: <name><value/><semanticsText/></name>; returns value. */
static xmlNode *
param(xmlNode *pl, const char *name, const char *semantics)
{
	xmlNode *p = el(pl, name);
	xmlNode *v = el(p, "value");
	el_text(p, "semanticsText", semantics);
	return v;
}

static xmlNode *
query_open(xmlNode *parent, const char *interaction, const char *te, const char *device, const char *from_home,
    const char *to_device, const char *to_home, const char *msg_id)
{
	xmlNode *root = root_new(parent, interaction, device, msg_id), *cap, *q, *n;

	el_attr(root, "acceptAckCode", "code", "AL");
	party(root, "receiver", to_device, to_home);
	party(root, "sender", device, from_home);
	cap = el(root, "controlActProcess");
	attr(cap, "classCode", "CACT");
	attr(cap, "moodCode", "EVN");
	n = el_attr(cap, "code", "code", te);
	attr(n, "codeSystem", OID_INTERACT);
	q = el(cap, "queryByParameter");
	el_ii(q, "queryId", device, msg_id);
	el_attr(q, "statusCode", "code", "new");
	if (strcmp(interaction, "PRPA_IN201305UV02") == 0)
		el_attr(q, "responseModalityCode", "code", "R");
	el_attr(q, "responsePriorityCode", "code", "I");
	return el(q, "parameterList");
}

hie_err
v3_query_build(xmlNode *parent, const struct mpi_patient *d, const char *device, const char *from_home,
    const char *to_home, const char *msg_id)
{
	xmlNode *pl, *v;

	if (d->n_names == 0 && d->birth_date[0] == '\0' && d->n_ids == 0)
		return HIE_EINVAL;
	pl = query_open(parent, "PRPA_IN201305UV02", "PRPA_TE201305UV02", device, from_home, to_home, to_home, msg_id);
	if (d->sex == 'M' || d->sex == 'F') {
		v = param(pl, "livingSubjectAdministrativeGender", "LivingSubject.administrativeGender");
		attr(v, "code", gender_code(d->sex));
	}
	if (d->birth_date[0] != '\0') {
		v = param(pl, "livingSubjectBirthTime", "LivingSubject.birthTime");
		attr(v, "value", d->birth_date);
	}
	if (d->n_ids > 0) {
		xmlNode *p = el(pl, "livingSubjectId");
		for (size_t i = 0; i < d->n_ids; i++)
			el_ii(p, "value", d->ids[i].cx.authority, d->ids[i].cx.id);
		el_text(p, "semanticsText", "LivingSubject.id");
	}
	if (d->n_names > 0) {
		xmlNode *p = el(pl, "livingSubjectName");
		name_add(p, "value", &d->names[0], 0);
		el_text(p, "semanticsText", "LivingSubject.name");
	}
	if (d->n_addrs > 0) {
		xmlNode *p = el(pl, "patientAddress");
		addr_add(p, "value", &d->addrs[0]);
		el_text(p, "semanticsText", "Patient.addr");
	}
	if (d->n_phones > 0) {
		xmlNode *p = el(pl, "patientTelecom");
		telecom_add(p, "value", &d->phones[0], 0);
		el_text(p, "semanticsText", "Patient.telecom");
	}
	return HIE_OK;
}

hie_err
v3_pix_query_build(xmlNode *parent, const struct mpi_cx *cx, const char *device, const char *from_home,
    const char *msg_id)
{
	xmlNode *pl = query_open(parent, "PRPA_IN201309UV02", "PRPA_TE201309UV02", device, from_home, NULL, NULL, msg_id);
	xmlNode *v = param(pl, "patientIdentifier", "Patient.id");

	attr(v, "root", cx->authority);
	attr(v, "extension", cx->id);
	return HIE_OK;
}
