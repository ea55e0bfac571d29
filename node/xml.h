/*
 * node/xml.h -- the one place hienode parses XML from outside.
 *
 * Every parser of the project goes through hie_xml_parse: no network, no DTD
 * (a DOCTYPE is refused outright, so neither XXE nor entity expansion can
 * happen), and limits on size, nesting depth, attributes per element and
 * name length.  The limits come from the config (section [limits]).
 *
 * Helpers for walking a parsed tree by namespace and local name are here so
 * that modules do not write the same loops again.
 */
#ifndef NODE_XML_H
#define NODE_XML_H

#include <libxml/tree.h>
#include <stddef.h>

#include "node/hie.h"

struct hie_xml_limits {
	size_t max_bytes;   /* whole document */
	int    max_depth;   /* element nesting */
	int    max_attrs;   /* attributes on one element */
	int    max_name;    /* length of an element or attribute name */
};

/* Safe defaults: 16 MiB, depth 64, 64 attributes, 256-char names. */
extern const struct hie_xml_limits hie_xml_default_limits;

/* Call once per process before any XML work (libxml2 + xmlsec globals). */
hie_err hie_xml_init(void);
void    hie_xml_shutdown(void);

/*
 * Parses buf[len].  On HIE_OK *out is a document the caller frees with
 * xmlFreeDoc.  Errors: HIE_ETOOBIG (size), HIE_EXMLHOSTILE (DOCTYPE, depth,
 * attributes, names), HIE_EXML (not well-formed).  lim may be NULL for the
 * defaults.
 */
hie_err hie_xml_parse(const char *buf, size_t len,
    const struct hie_xml_limits *lim, xmlDoc **out);

/* First child element of parent with namespace ns (NULL: any) and local
 * name; NULL if none. */
xmlNode *hie_xml_child(const xmlNode *parent, const char *ns, const char *name);
/* Next sibling element after cur with the same ns/name rule. */
xmlNode *hie_xml_next(const xmlNode *cur, const char *ns, const char *name);
/* First descendant (depth first) with ns/name, or NULL. */
xmlNode *hie_xml_find(const xmlNode *root, const char *ns, const char *name);
/* Attribute value (no namespace) or NULL; points into the tree. */
const char *hie_xml_attr(const xmlNode *n, const char *name);
/* Text content into dst[cap], whitespace-trimmed; HIE_ETOOBIG if cut. */
hie_err hie_xml_text(const xmlNode *n, char *dst, size_t cap);

/* Serialises doc (no XML declaration when decl == 0) into *out (free()). */
hie_err hie_xml_dump(xmlDoc *doc, char **out, size_t *len);

#endif /* NODE_XML_H */
