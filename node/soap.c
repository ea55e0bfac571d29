/* node/soap.c -- SOAP 1.2 + WS-Addressing envelopes. */
#include "node/soap.h"

#include <stdio.h>
#include <string.h>

#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

static void
wsa_header(xmlNode *hdr, xmlNs *wsa, xmlNs *env, const char *name, const char *value, int must)
{
	xmlNode *h = xmlNewTextChild(hdr, wsa, BAD_CAST name, BAD_CAST value);
	if (must)
		xmlNewNsProp(h, env, BAD_CAST "mustUnderstand", BAD_CAST "true");
}

hie_err
soap_envelope_new(const char *action, const char *to, const char *relates_to, xmlDoc **doc,
    xmlNode **body, char *msgid_out)
{
	xmlDoc  *d;
	xmlNode *envn, *hdr, *rt;
	xmlNs   *env, *wsa;
	char     msgid[46];

	*doc = NULL;
	*body = NULL;
	if ((d = xmlNewDoc(BAD_CAST "1.0")) == NULL)
		return HIE_ENOMEM;
	envn = xmlNewNode(NULL, BAD_CAST "Envelope");
	env = xmlNewNs(envn, BAD_CAST SOAP_NS_ENV, BAD_CAST "s");
	wsa = xmlNewNs(envn, BAD_CAST SOAP_NS_WSA, BAD_CAST "a");
	xmlSetNs(envn, env);
	xmlDocSetRootElement(d, envn);
	hdr = xmlNewChild(envn, env, BAD_CAST "Header", NULL);
	hie_urn_uuid(msgid);
	wsa_header(hdr, wsa, env, "Action", action, 1);
	wsa_header(hdr, wsa, env, "MessageID", msgid, 0);
	if (relates_to != NULL) {
		wsa_header(hdr, wsa, env, "RelatesTo", relates_to, 0);
	} else {
		rt = xmlNewChild(hdr, wsa, BAD_CAST "ReplyTo", NULL);
		xmlNewTextChild(rt, wsa, BAD_CAST "Address", BAD_CAST SOAP_WSA_ANONYMOUS);
		if (to != NULL)
			wsa_header(hdr, wsa, env, "To", to, 1);
	}
	*body = xmlNewChild(envn, env, BAD_CAST "Body", NULL);
	if (*body == NULL) {
		xmlFreeDoc(d);
		return HIE_ENOMEM;
	}
	if (msgid_out != NULL)
		memcpy(msgid_out, msgid, sizeof(msgid));
	*doc = d;
	return HIE_OK;
}

static int
is_env(const xmlNode *n, const char *name)
{
	return n != NULL && n->ns != NULL && strcmp((const char *) n->ns->href, SOAP_NS_ENV) == 0 &&
	       strcmp((const char *) n->name, name) == 0;
}

/* The text of the only wsa header called name; two of them is an error
 * (a second Action or MessageID is how header confusion starts). */
static int
wsa_value(xmlNode *hdr, const char *name, const char **out)
{
	xmlNode *h = hie_xml_child(hdr, SOAP_NS_WSA, name);

	*out = NULL;
	if (h == NULL)
		return 1;
	if (hie_xml_next(h, SOAP_NS_WSA, name) != NULL)
		return 0;
	if (h->children == NULL || h->children->type != XML_TEXT_NODE || h->children->next != NULL)
		return 0;
	*out = (const char *) h->children->content;
	return 1;
}

hie_err
soap_parse(const char *buf, size_t len, const struct hie_xml_limits *lim, struct soap_msg *out)
{
	xmlNode *root, *hdr = NULL, *body = NULL, *c;
	hie_err  e;
	int      nbody = 0;

	memset(out, 0, sizeof(*out));
	if ((e = hie_xml_parse(buf, len, lim, &out->doc)) != HIE_OK)
		return e;
	root = xmlDocGetRootElement(out->doc);
	if (!is_env(root, "Envelope"))
		goto bad;
	for (c = root->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_env(c, "Header") && hdr == NULL && body == NULL)
			hdr = c;
		else if (is_env(c, "Body") && body == NULL)
			body = c;
		else
			goto bad; /* a second Header or Body, or anything else */
	}
	if (hdr == NULL || body == NULL)
		goto bad;
	for (c = body->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE) {
			out->body = c;
			nbody++;
		}
	}
	if (nbody != 1)
		goto bad;
	if (!wsa_value(hdr, "Action", &out->action) || !wsa_value(hdr, "MessageID", &out->message_id) ||
	    !wsa_value(hdr, "RelatesTo", &out->relates_to) || out->action == NULL)
		goto bad;
	out->is_fault = is_env(out->body, "Fault");
	return HIE_OK;
bad:
	soap_msg_free(out);
	return HIE_ESOAP;
}

void
soap_msg_free(struct soap_msg *m)
{
	xmlFreeDoc(m->doc);
	memset(m, 0, sizeof(*m));
}

void
soap_fault_reason(const struct soap_msg *m, char *reason, size_t rcap, char *subcode, size_t scap)
{
	xmlNode *code = hie_xml_child(m->body, SOAP_NS_ENV, "Code");
	xmlNode *sub = hie_xml_child(code, SOAP_NS_ENV, "Subcode");

	hie_xml_text(hie_xml_child(hie_xml_child(m->body, SOAP_NS_ENV, "Reason"), SOAP_NS_ENV, "Text"),
	    reason, rcap);
	hie_xml_text(hie_xml_child(sub, SOAP_NS_ENV, "Value"), subcode, scap);
}

hie_err
soap_fault(const char *code, const char *subcode, const char *reason, const char *relates_to,
    char **out, size_t *len)
{
	xmlDoc  *doc;
	xmlNode *body, *f, *c, *s, *r, *t;
	xmlNs   *env;
	char     v[64];
	hie_err  e;

	if ((e = soap_envelope_new("http://www.w3.org/2005/08/addressing/soap/fault", NULL,
	         relates_to != NULL ? relates_to : "http://www.w3.org/2005/08/addressing/unspecified",
	         &doc, &body, NULL)) != HIE_OK)
		return e;
	env = body->ns;
	f = xmlNewChild(body, env, BAD_CAST "Fault", NULL);
	c = xmlNewChild(f, env, BAD_CAST "Code", NULL);
	snprintf(v, sizeof(v), "s:%s", code);
	xmlNewChild(c, env, BAD_CAST "Value", BAD_CAST v);
	if (subcode != NULL) {
		if (strncmp(subcode, "wsse:", 5) == 0)
			xmlNewNs(f, BAD_CAST NS_WSSE, BAD_CAST "wsse");
		s = xmlNewChild(c, env, BAD_CAST "Subcode", NULL);
		xmlNewChild(s, env, BAD_CAST "Value", BAD_CAST subcode);
	}
	r = xmlNewChild(f, env, BAD_CAST "Reason", NULL);
	t = xmlNewTextChild(r, env, BAD_CAST "Text", BAD_CAST reason);
	xmlNodeSetLang(t, BAD_CAST "en");
	e = hie_xml_dump(doc, out, len);
	xmlFreeDoc(doc);
	return e;
}
