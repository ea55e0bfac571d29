/* node/atna.c -- stored audit records rendered as DICOM audit messages
 * (the IHE ATNA form), one table row per kind of event. */
#include "node/atna.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One DICOM coded value: csd-code, codeSystemName, originalText (all three
 * required by the schema). */
struct code {
	const char *code, *system, *text;
};

#define DCM(c, t) { c, "DCM", t }
#define IHE_TXN(c, t) { c, "IHE Transactions", t }

enum flow {
	F_QUERY,   /* initiator asks, responder answers: source = initiator */
	F_PULL,    /* data goes responder -> initiator (ITI-39, 43) */
	F_PUSH,    /* data goes initiator -> responder (ITI-41) */
	F_FEED,    /* HL7 v2: the sender is the source */
	F_NODE,    /* this node alone: start, stop, reload */
	F_SECURITY /* an alert: the requester if any, and this node */
};

static const struct kind {
	const char *event;
	struct code type;
	enum flow   flow;
} kinds[] = {
	{ "ITI-18", IHE_TXN("ITI-18", "Registry Stored Query"), F_QUERY },
	{ "ITI-38", IHE_TXN("ITI-38", "Cross Gateway Query"), F_QUERY },
	{ "ITI-55", IHE_TXN("ITI-55", "Cross Gateway Patient Discovery"), F_QUERY },
	{ "ITI-45", IHE_TXN("ITI-45", "PIXV3 Query"), F_QUERY },
	{ "ITI-47", IHE_TXN("ITI-47", "Patient Demographics Query HL7 V3"), F_QUERY },
	{ "ITI-9", IHE_TXN("ITI-9", "PIX Query"), F_QUERY },
	{ "ITI-21", IHE_TXN("ITI-21", "Patient Demographics Query"), F_QUERY },
	{ "ITI-39", IHE_TXN("ITI-39", "Cross Gateway Retrieve"), F_PULL },
	{ "ITI-43", IHE_TXN("ITI-43", "Retrieve Document Set"), F_PULL },
	{ "ITI-41", IHE_TXN("ITI-41", "Provide and Register Document Set-b"), F_PUSH },
	{ "ITI-8", IHE_TXN("ITI-8", "Patient Identity Feed"), F_FEED },
	{ "ITI-44", IHE_TXN("ITI-44", "Patient Identity Feed HL7 V3"), F_FEED },
	{ "HL7v2", { "HL7v2", "HL7 v2", "HL7 v2 message" }, F_FEED },
	/* The names the MLLP listener (node/hl7_node.c) records under. */
	{ "HL7-ADT", IHE_TXN("ITI-8", "Patient Identity Feed"), F_FEED },
	{ "HL7-MDM", { "MDM", "HL7 v2", "Medical Document Management" }, F_FEED },
	{ "HL7-ORU", { "ORU", "HL7 v2", "Unsolicited Observation" }, F_FEED },
	{ "HL7-QBP", IHE_TXN("ITI-21", "Patient Demographics Query"), F_QUERY },
	{ "HL7-other", { "HL7v2", "HL7 v2", "HL7 v2 message" }, F_FEED },
	{ "security-alert", DCM("110126", "Node Authentication"), F_SECURITY },
	{ "consent-denied", DCM("110132", "Use of Restricted Function"), F_SECURITY },
	{ "emergency-override", DCM("110127", "Emergency Override Started"), F_SECURITY },
	{ "consent-change", DCM("110135", "Object Security Attributes Changed"), F_SECURITY },
	{ "config-reload", DCM("110129", "Security Configuration"), F_NODE },
	{ "node-start", DCM("110120", "Application Start"), F_NODE },
	{ "node-stop", DCM("110121", "Application Stop"), F_NODE },
};

static const struct code ev_query = DCM("110112", "Query"), ev_export = DCM("110106", "Export"),
                         ev_import = DCM("110107", "Import"), ev_patient = DCM("110110", "Patient Record"),
                         ev_alert = DCM("110113", "Security Alert"), ev_app = DCM("110100", "Application Activity");
static const struct code role_source = DCM("110153", "Source Role ID"),
                         role_dest = DCM("110152", "Destination Role ID"), role_app = DCM("110150", "Application");

/* Names of the SNOMED CT roles XUA assertions commonly carry; other codes
 * are shown as their code (originalText is required). */
static const struct {
	const char *code, *name;
} roles[] = {
	{ "112247003", "Medical doctor" },
	{ "309343006", "Physician" },
	{ "224535009", "Registered nurse" },
	{ "46255001", "Pharmacist" },
	{ "159033005", "Dietitian" },
	{ "106289002", "Dentist" },
	{ "224608005", "Administrative healthcare staff" },
};

static const char *
str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v)[0] != '\0' ? json_object_get_string(v) : NULL;
}

/* Appends s escaped for an attribute value or text.  Control characters
 * (not allowed in XML 1.0) become '?': the stored JSON keeps the original. */
static hie_err
esc(hie_buf *b, const char *s)
{
	hie_err e = HIE_OK;
	for (; *s != '\0' && e == HIE_OK; s++) {
		unsigned char c = (unsigned char) *s;
		switch (c) {
		case '&': e = hie_buf_addstr(b, "&amp;"); break;
		case '<': e = hie_buf_addstr(b, "&lt;"); break;
		case '>': e = hie_buf_addstr(b, "&gt;"); break;
		case '"': e = hie_buf_addstr(b, "&quot;"); break;
		default:
			if (c < 0x20) {
				e = hie_buf_addstr(b, c == '\t' || c == '\n' || c == '\r' ? " " : "?");
			} else {
				e = hie_buf_add(b, s, 1);
			}
		}
	}
	return e;
}

/* attr="value" with a leading space; nothing when v is NULL. */
static hie_err
attr(hie_buf *b, const char *name, const char *v)
{
	hie_err e;
	if (v == NULL)
		return HIE_OK;
	if ((e = hie_buf_printf(b, " %s=\"", name)) != HIE_OK || (e = esc(b, v)) != HIE_OK)
		return e;
	return hie_buf_addstr(b, "\"");
}

static hie_err
coded(hie_buf *b, const char *element, const struct code *c)
{
	hie_err e;
	if ((e = hie_buf_printf(b, "<%s", element)) != HIE_OK || (e = attr(b, "csd-code", c->code)) != HIE_OK ||
	    (e = attr(b, "codeSystemName", c->system)) != HIE_OK || (e = attr(b, "originalText", c->text)) != HIE_OK)
		return e;
	return hie_buf_addstr(b, "/>");
}

/* One ActiveParticipant: a system (community, node) or a person. */
static hie_err
participant(hie_buf *b, const char *user_id, const char *alt, const char *user_name, int requestor,
    const struct code *role)
{
	hie_err e;
	if ((e = hie_buf_addstr(b, "<ActiveParticipant")) != HIE_OK || (e = attr(b, "UserID", user_id)) != HIE_OK ||
	    (e = attr(b, "AlternativeUserID", alt)) != HIE_OK || (e = attr(b, "UserName", user_name)) != HIE_OK ||
	    (e = attr(b, "UserIsRequestor", requestor ? "true" : "false")) != HIE_OK)
		return e;
	if (role == NULL)
		return hie_buf_addstr(b, "/>");
	if ((e = hie_buf_addstr(b, ">")) != HIE_OK || (e = coded(b, "RoleIDCode", role)) != HIE_OK)
		return e;
	return hie_buf_addstr(b, "</ActiveParticipant>");
}

/* The clinician from the XUA assertion: UserID the subject, UserName
 * with the organization, RoleIDCode the SNOMED CT role. */
static hie_err
human(hie_buf *b, json_object *o)
{
	const char *user = str(o, "user"), *role = str(o, "userRole"), *org = str(o, "organization");
	struct code c = { role, "SNOMED_CT", role };
	char        name[512];

	if (user == NULL)
		return HIE_OK;
	for (size_t i = 0; role != NULL && i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(roles[i].code, role) == 0)
			c.text = roles[i].name;
	snprintf(name, sizeof(name), "%s%s%s", user, org ? ", " : "", org ? org : "");
	return participant(b, user, NULL, name, 1, role != NULL ? &c : NULL);
}

static hie_err
detail_b64(hie_buf *b, const char *type, const char *value)
{
	char   *enc;
	size_t  n;
	hie_err e;

	if (value == NULL)
		return HIE_OK;
	if ((e = hie_base64_encode(value, strlen(value), &enc, &n)) != HIE_OK)
		return e;
	e = hie_buf_addstr(b, "<ParticipantObjectDetail");
	if (e == HIE_OK)
		e = attr(b, "type", type);
	if (e == HIE_OK)
		e = attr(b, "value", enc);
	if (e == HIE_OK)
		e = hie_buf_addstr(b, "/>");
	free(enc);
	return e;
}

static hie_err
patient_object(hie_buf *b, const char *patient)
{
	static const struct code idtype = { "2", "RFC-3881", "Patient Number" };
	hie_err                  e;

	if (patient == NULL)
		return HIE_OK;
	if ((e = hie_buf_addstr(b, "<ParticipantObjectIdentification")) != HIE_OK ||
	    (e = attr(b, "ParticipantObjectID", patient)) != HIE_OK ||
	    (e = hie_buf_addstr(b, " ParticipantObjectTypeCode=\"1\" ParticipantObjectTypeCodeRole=\"1\">")) != HIE_OK ||
	    (e = coded(b, "ParticipantObjectIDTypeCode", &idtype)) != HIE_OK)
		return e;
	return hie_buf_addstr(b, "</ParticipantObjectIdentification>");
}

/* The query: its parameters base64 in ParticipantObjectQuery (ITI TF-2:
 * "the AdhocQueryRequest" for XDS/XCA, the query parameters for HL7 v3). */
static hie_err
query_object(hie_buf *b, const struct kind *k, const char *query, const char *home, const char *rid)
{
	char   *enc = NULL;
	size_t  n;
	hie_err e;

	if ((e = hie_buf_addstr(b, "<ParticipantObjectIdentification")) != HIE_OK ||
	    (e = attr(b, "ParticipantObjectID", rid)) != HIE_OK ||
	    (e = hie_buf_addstr(b, " ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"24\">")) != HIE_OK ||
	    (e = coded(b, "ParticipantObjectIDTypeCode", &k->type)) != HIE_OK)
		return e;
	if (query != NULL) {
		if ((e = hie_base64_encode(query, strlen(query), &enc, &n)) != HIE_OK)
			return e;
		e = hie_buf_printf(b, "<ParticipantObjectQuery>%s</ParticipantObjectQuery>", enc);
		free(enc);
		if (e == HIE_OK)
			e = detail_b64(b, "QueryEncoding", "UTF-8");
	}
	if (e == HIE_OK)
		e = detail_b64(b, "ihe:homeCommunityID", home);
	if (e == HIE_OK)
		e = hie_buf_addstr(b, "</ParticipantObjectIdentification>");
	return e;
}

/* One object per document uniqueId (ITI TF-2: role 3 Report, id type 9
 * Report Number). */
static hie_err
document_objects(hie_buf *b, const char *docs, const char *home)
{
	static const struct code idtype = { "9", "RFC-3881", "Report Number" };
	char                     id[300];
	hie_err                  e = HIE_OK;

	while (docs != NULL && *docs != '\0' && e == HIE_OK) {
		size_t n = strcspn(docs, " ");
		if (n > 0 && n < sizeof(id)) {
			memcpy(id, docs, n);
			id[n] = '\0';
			e = hie_buf_addstr(b, "<ParticipantObjectIdentification");
			if (e == HIE_OK)
				e = attr(b, "ParticipantObjectID", id);
			if (e == HIE_OK)
				e = hie_buf_addstr(b, " ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"3\">");
			if (e == HIE_OK)
				e = coded(b, "ParticipantObjectIDTypeCode", &idtype);
			if (e == HIE_OK)
				e = detail_b64(b, "ihe:homeCommunityID", home);
			if (e == HIE_OK)
				e = hie_buf_addstr(b, "</ParticipantObjectIdentification>");
		}
		docs += n;
		docs += strspn(docs, " ");
	}
	return e;
}

/* An HL7 v2 message: MSH-10 as the object, the trigger as its detail. */
static hie_err
message_object(hie_buf *b, const char *control_id, const char *trigger)
{
	static const struct code idtype = { "MSH-10", "HL7 v2", "Message Control ID" };
	hie_err                  e;

	if (control_id == NULL)
		return HIE_OK;
	if ((e = hie_buf_addstr(b, "<ParticipantObjectIdentification")) != HIE_OK ||
	    (e = attr(b, "ParticipantObjectID", control_id)) != HIE_OK ||
	    (e = hie_buf_addstr(b, " ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"24\">")) != HIE_OK ||
	    (e = coded(b, "ParticipantObjectIDTypeCode", &idtype)) != HIE_OK ||
	    (e = detail_b64(b, "MSH-9", trigger)) != HIE_OK)
		return e;
	return hie_buf_addstr(b, "</ParticipantObjectIdentification>");
}

hie_err
audit_atna(const char *json, size_t len, const char *node, const char *community, hie_buf *out)
{
	json_tokener     *tok = json_tokener_new();
	json_object      *o, *v;
	const struct kind *k = NULL;
	struct kind        other;
	const struct code *evid;
	const char        *event, *role, *action = "E", *local, *peer, *source, *time;
	const char        *src_id, *dst_id;
	int                initiator, outcome = 0;
	hie_err            e;

	if (tok == NULL)
		return HIE_ENOMEM;
	o = json_tokener_parse_ex(tok, json, (int) len);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object) || (event = str(o, "event")) == NULL ||
	    (time = str(o, "time")) == NULL) {
		json_object_put(o);
		return HIE_EINVAL;
	}
	if (json_object_object_get_ex(o, "outcome", &v))
		outcome = json_object_get_int(v);
	if (outcome != 0 && outcome != 4 && outcome != 8 && outcome != 12)
		outcome = 8;
	role = str(o, "role");
	initiator = role != NULL && strcmp(role, "initiator") == 0;
	local = str(o, "local") ? str(o, "local") : community;
	peer = str(o, "peer");
	source = str(o, "source");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].event, event) == 0)
			k = &kinds[i];
	if (k == NULL) {
		other = (struct kind) { event, { event, "hienode", event }, F_NODE };
		k = &other;
	}
	switch (k->flow) {
	case F_QUERY: evid = &ev_query; break;
	case F_PULL:
		evid = initiator ? &ev_import : &ev_export;
		action = initiator ? "C" : "R";
		break;
	case F_PUSH:
		evid = initiator ? &ev_export : &ev_import;
		action = initiator ? "R" : "C";
		break;
	case F_FEED:
		evid = &ev_patient;
		action = str(o, "action") ? str(o, "action") : "C";
		if (strcmp(action, "C") && strcmp(action, "R") && strcmp(action, "U") && strcmp(action, "D"))
			action = "C";
		break;
	case F_SECURITY: evid = &ev_alert; break;
	default: evid = k->flow == F_NODE && strncmp(event, "node-", 5) == 0 ? &ev_app : &ev_alert;
	}
	if (k == &other)
		evid = &ev_app;

	e = hie_buf_addstr(out, "<AuditMessage><EventIdentification");
	if (e == HIE_OK)
		e = hie_buf_printf(out, " EventActionCode=\"%s\"", action);
	if (e == HIE_OK)
		e = attr(out, "EventDateTime", time);
	if (e == HIE_OK)
		e = hie_buf_printf(out, " EventOutcomeIndicator=\"%d\">", outcome);
	if (e == HIE_OK)
		e = coded(out, "EventID", evid);
	if (e == HIE_OK)
		e = coded(out, "EventTypeCode", &k->type);
	if (e == HIE_OK && str(o, "detail") != NULL) {
		e = hie_buf_addstr(out, "<EventOutcomeDescription>");
		if (e == HIE_OK)
			e = esc(out, str(o, "detail"));
		if (e == HIE_OK)
			e = hie_buf_addstr(out, "</EventOutcomeDescription>");
	}
	if (e == HIE_OK && str(o, "purpose") != NULL) {
		/* XUA: the purpose of use from the assertion (NHIN codes). */
		struct code p = { str(o, "purpose"), "2.16.840.1.113883.3.18.7.1", str(o, "purpose") };
		e = coded(out, "PurposeOfUse", &p);
	}
	if (e == HIE_OK)
		e = hie_buf_addstr(out, "</EventIdentification>");

	/* Who took part.  The other side is the requester's community when we
	 * respond, the peer when we initiate. */
	{
		const char *other_side = initiator ? (peer ? peer : "unknown") : (source ? source : "unknown");
		switch (k->flow) {
		case F_QUERY:
		case F_PUSH:
			src_id = initiator ? local : other_side;
			dst_id = initiator ? other_side : local;
			break;
		case F_PULL:
			src_id = initiator ? other_side : local;
			dst_id = initiator ? local : other_side;
			break;
		case F_FEED:
			src_id = peer ? peer : (source ? source : "unknown");
			dst_id = local ? local : node;
			break;
		default: src_id = dst_id = NULL;
		}
		if (src_id != NULL) {
			int src_asks = (k->flow == F_PULL) ? 0 : 1;
			if (e == HIE_OK)
				e = participant(out, src_id, NULL, NULL, src_asks, &role_source);
			if (e == HIE_OK)
				e = human(out, o);
			if (e == HIE_OK)
				e = participant(out, dst_id ? dst_id : "unknown", NULL, NULL, !src_asks, &role_dest);
		} else {
			/* This node itself, and whoever made it act (security alerts
			 * name the refused requester). */
			if (e == HIE_OK)
				e = participant(out, node ? node : "hie-node", local, NULL, source == NULL || k->flow == F_NODE,
				    &role_app);
			if (e == HIE_OK && k->flow == F_SECURITY && source != NULL && (local == NULL || strcmp(source, local)))
				e = participant(out, source, NULL, NULL, 1, NULL);
			if (e == HIE_OK && k->flow == F_SECURITY)
				e = human(out, o);
		}
	}
	if (e == HIE_OK)
		e = hie_buf_addstr(out, "<AuditSourceIdentification");
	if (e == HIE_OK)
		e = attr(out, "AuditEnterpriseSiteID", local);
	if (e == HIE_OK)
		e = attr(out, "AuditSourceID", node ? node : "hie-node");
	if (e == HIE_OK)
		e = hie_buf_addstr(out, "><AuditSourceTypeCode csd-code=\"4\" codeSystemName=\"DCM\" "
		                        "originalText=\"Application Server\"/></AuditSourceIdentification>");

	if (e == HIE_OK)
		e = patient_object(out, str(o, "patient"));
	if (e == HIE_OK && k->flow == F_QUERY)
		e = query_object(out, k, str(o, "query"), initiator ? peer : local, str(o, "rid"));
	if (e == HIE_OK && k->flow == F_FEED)
		e = message_object(out, str(o, "query"), str(o, "trigger"));
	if (e == HIE_OK)
		e = document_objects(out, str(o, "documents"), initiator ? NULL : local);
	if (e == HIE_OK)
		e = hie_buf_addstr(out, "</AuditMessage>");
	json_object_put(o);
	return e;
}
