/* node/xml.c -- hardened libxml2 parsing and tree helpers. */
#include "node/xml.h"

#include <libxml/parser.h>
#include <libxml/xmlsave.h>
#include <limits.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmlsec.h>

const struct hie_xml_limits hie_xml_default_limits = {
	.max_bytes = 16u << 20,
	.max_depth = 64,
	.max_attrs = 64,
	.max_name  = 256,
};

static void
silent_error(void *ctx, const char *msg, ...)
{
	/* libxml2 would print to stderr; parse errors are reported through
	 * the return code and the caller's single log line instead. */
	(void) ctx;
	(void) msg;
}

static void
silent_structured(void *ctx, xmlErrorPtr err)
{
	(void) ctx;
	(void) err;
}

hie_err
hie_xml_init(void)
{
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, silent_error);
	xmlSetStructuredErrorFunc(NULL, silent_structured);
	/* Belt and braces: even a code path that forgets the parse options
	 * must not fetch or expand anything. */
	xmlSubstituteEntitiesDefault(0);
	xmlLoadExtDtdDefaultValue = 0;
	/* xmlsec: the library, then its OpenSSL backend. */
	if (xmlSecInit() < 0 || xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
		return HIE_ECRYPTO;
	return HIE_OK;
}

void
hie_xml_shutdown(void)
{
	xmlSecCryptoShutdown();
	xmlSecCryptoAppShutdown();
	xmlSecShutdown();
	xmlCleanupParser();
}

/* A DOCTYPE is where XXE and entity bombs live; SOAP forbids it (SOAP 1.2
 * part 1, 5) and no IHE message carries one, so stop at the first sight. */
static void
refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xmlParserCtxtPtr pc = ctx;
	(void) name;
	(void) ext;
	(void) sys;
	pc->_private = (void *) 1;
	xmlStopParser(pc);
}

static hie_err
check_tree(const xmlNode *n, int depth, const struct hie_xml_limits *lim)
{
	for (; n != NULL; n = n->next) {
		int nattr = 0;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (depth > lim->max_depth)
			return HIE_EXMLHOSTILE;
		if (strlen((const char *) n->name) > (size_t) lim->max_name)
			return HIE_EXMLHOSTILE;
		for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
			if (++nattr > lim->max_attrs ||
			    strlen((const char *) a->name) > (size_t) lim->max_name)
				return HIE_EXMLHOSTILE;
		}
		hie_err e = check_tree(n->children, depth + 1, lim);
		if (e != HIE_OK)
			return e;
	}
	return HIE_OK;
}

hie_err
hie_xml_parse(const char *buf, size_t len, const struct hie_xml_limits *lim,
    xmlDoc **out)
{
	xmlParserCtxtPtr pc;
	xmlDoc          *doc;
	hie_err          e;
	int              hostile;

	*out = NULL;
	if (lim == NULL)
		lim = &hie_xml_default_limits;
	if (len > lim->max_bytes)
		return HIE_ETOOBIG;
	if (len > INT_MAX)
		return HIE_ETOOBIG;
	if ((pc = xmlNewParserCtxt()) == NULL)
		return HIE_ENOMEM;
	pc->sax->internalSubset = refuse_dtd;
	pc->sax->externalSubset = refuse_dtd;
	pc->_private = NULL;
	/* No NOENT (entities stay unexpanded), no DTDLOAD, no network, and no
	 * XML_PARSE_HUGE so libxml2's own depth and amplification guards stay. */
	doc = xmlCtxtReadMemory(pc, buf, (int) len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR |
	        XML_PARSE_NOWARNING);
	hostile = pc->_private != NULL;
	/* An unbound prefix is only a namespace error to libxml2; for us a
	 * document whose names we cannot resolve is malformed. */
	if (doc == NULL || hostile || !pc->wellFormed || !pc->nsWellFormed) {
		e = hostile ? HIE_EXMLHOSTILE : HIE_EXML;
		/* libxml2 reports its own depth limit as a parse error. */
		if (!hostile && pc->lastError.code == XML_ERR_INTERNAL_ERROR)
			e = HIE_EXMLHOSTILE;
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(pc);
		return e;
	}
	xmlFreeParserCtxt(pc);
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		xmlFreeDoc(doc);
		return HIE_EXMLHOSTILE;
	}
	if ((e = check_tree(xmlDocGetRootElement(doc), 1, lim)) != HIE_OK) {
		xmlFreeDoc(doc);
		return e;
	}
	*out = doc;
	return HIE_OK;
}

static int
node_is(const xmlNode *n, const char *ns, const char *name)
{
	if (n->type != XML_ELEMENT_NODE || strcmp((const char *) n->name, name) != 0)
		return 0;
	if (ns == NULL)
		return 1;
	return n->ns != NULL && strcmp((const char *) n->ns->href, ns) == 0;
}

xmlNode *
hie_xml_child(const xmlNode *parent, const char *ns, const char *name)
{
	if (parent == NULL)
		return NULL;
	for (xmlNode *c = parent->children; c != NULL; c = c->next)
		if (node_is(c, ns, name))
			return c;
	return NULL;
}

xmlNode *
hie_xml_next(const xmlNode *cur, const char *ns, const char *name)
{
	for (xmlNode *c = cur->next; c != NULL; c = c->next)
		if (node_is(c, ns, name))
			return c;
	return NULL;
}

xmlNode *
hie_xml_find(const xmlNode *root, const char *ns, const char *name)
{
	if (root == NULL)
		return NULL;
	for (xmlNode *c = root->children; c != NULL; c = c->next) {
		xmlNode *r;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (node_is(c, ns, name))
			return c;
		if ((r = hie_xml_find(c, ns, name)) != NULL)
			return r;
	}
	return NULL;
}

const char *
hie_xml_attr(const xmlNode *n, const char *name)
{
	if (n == NULL)
		return NULL;
	for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
		if (a->ns == NULL && strcmp((const char *) a->name, name) == 0 &&
		    a->children != NULL && a->children->type == XML_TEXT_NODE)
			return (const char *) a->children->content;
	}
	return NULL;
}

hie_err
hie_xml_text(const xmlNode *n, char *dst, size_t cap)
{
	xmlChar    *t = NULL;
	const char *s, *end;
	size_t      len;

	dst[0] = '\0';
	if (n == NULL)
		return HIE_ENOTFOUND;
	/* An element holding one text node (most of them) is read in place;
	 * anything else is gathered by xmlNodeGetContent into a copy. */
	if (n->type == XML_ELEMENT_NODE && n->children != NULL && n->children->next == NULL &&
	    n->children->type == XML_TEXT_NODE)
		s = n->children->content != NULL ? (const char *) n->children->content : "";
	else if ((t = xmlNodeGetContent(n)) == NULL)
		return HIE_OK;
	else
		s = (const char *) t;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	len = (size_t) (end - s);
	if (len >= cap) {
		memcpy(dst, s, cap - 1);
		dst[cap - 1] = '\0';
		xmlFree(t);
		return HIE_ETOOBIG;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	xmlFree(t);
	return HIE_OK;
}

hie_err
hie_xml_dump(xmlDoc *doc, char **out, size_t *len)
{
	xmlBufferPtr  xb;
	xmlSaveCtxtPtr sc;

	*out = NULL;
	if ((xb = xmlBufferCreate()) == NULL)
		return HIE_ENOMEM;
	/* libxml2's default grows the buffer to the exact size at each write:
	 * quadratic copying for a large answer (100,000 registry entries). */
	xmlBufferSetAllocationScheme(xb, XML_BUFFER_ALLOC_DOUBLEIT);
	sc = xmlSaveToBuffer(xb, "UTF-8", XML_SAVE_NO_DECL | XML_SAVE_AS_XML);
	if (sc == NULL) {
		xmlBufferFree(xb);
		return HIE_ENOMEM;
	}
	xmlSaveDoc(sc, doc);
	xmlSaveClose(sc);
	*len = (size_t) xmlBufferLength(xb);
	*out = (char *) xmlBufferDetach(xb);
	xmlBufferFree(xb);
	return *out != NULL ? HIE_OK : HIE_ENOMEM;
}
