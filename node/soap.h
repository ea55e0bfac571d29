/*
 * node/soap.h -- SOAP 1.2 envelopes with WS-Addressing, as IHE ITI TF-2x
 * Appendix V requires: building them for outbound requests and responses,
 * and reading them (through the hardened parser of node/xml.h).
 *
 * The envelope is built as a libxml2 tree so that the same tree can be
 * signed (WS-Security, node/wss) before it is serialised, and so that the
 * same bytes travel over the nng peer link and over HTTP.
 */
#ifndef NODE_SOAP_H
#define NODE_SOAP_H

#include <libxml/tree.h>
#include <stddef.h>

#include "node/hie.h"
#include "node/xml.h"

#define SOAP_NS_ENV "http://www.w3.org/2003/05/soap-envelope"
#define SOAP_NS_WSA "http://www.w3.org/2005/08/addressing"
#define SOAP_WSA_ANONYMOUS "http://www.w3.org/2005/08/addressing/anonymous"

#define SOAP_ACTION_ITI38 "urn:ihe:iti:2007:CrossGatewayQuery"
#define SOAP_ACTION_ITI38_RESP "urn:ihe:iti:2007:CrossGatewayQueryResponse"
#define SOAP_ACTION_ITI39 "urn:ihe:iti:2007:CrossGatewayRetrieve"
#define SOAP_ACTION_ITI39_RESP "urn:ihe:iti:2007:CrossGatewayRetrieveResponse"
#define SOAP_ACTION_ITI18 "urn:ihe:iti:2007:RegistryStoredQuery"
#define SOAP_ACTION_ITI18_RESP "urn:ihe:iti:2007:RegistryStoredQueryResponse"
#define SOAP_ACTION_ITI41 "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
#define SOAP_ACTION_ITI41_RESP "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
#define SOAP_ACTION_ITI43 "urn:ihe:iti:2007:RetrieveDocumentSet"
#define SOAP_ACTION_ITI43_RESP "urn:ihe:iti:2007:RetrieveDocumentSetResponse"

/*
 * A new envelope with Header (Action, MessageID, and To or RelatesTo) and
 * an empty Body.  *doc belongs to the caller (xmlFreeDoc); *body points into
 * it.  message_id is written to msgid_out (46 bytes) if not NULL.
 */
hie_err soap_envelope_new(const char *action, const char *to, const char *relates_to,
    xmlDoc **doc, xmlNode **body, char *msgid_out);

/* A parsed inbound message.  Strings point into doc. */
struct soap_msg {
	xmlDoc     *doc;        /* owned; soap_msg_free releases it */
	const char *action;     /* wsa:Action */
	const char *message_id; /* wsa:MessageID, may be NULL on responses */
	const char *relates_to; /* wsa:RelatesTo or NULL */
	xmlNode    *body;       /* the single child element of soap:Body */
	int         is_fault;   /* body is soap:Fault */
};

/*
 * Parses and checks buf: SOAP 1.2 namespace, one Header with wsa:Action,
 * one Body with exactly one element child.  HIE_ESOAP for anything else,
 * and the hardened parser's errors for hostile XML.
 */
hie_err soap_parse(const char *buf, size_t len, const struct hie_xml_limits *lim,
    struct soap_msg *out);
void    soap_msg_free(struct soap_msg *m);

/* The Fault's Reason text and Subcode value, for reporting. */
void soap_fault_reason(const struct soap_msg *m, char *reason, size_t rcap,
    char *subcode, size_t scap);

/*
 * A serialised SOAP 1.2 Fault.  code is "Sender" or "Receiver"; subcode a
 * QName such as "wsse:InvalidSecurity" (may be NULL); reason the text.
 * *out is malloc'd (free()).
 */
hie_err soap_fault(const char *code, const char *subcode, const char *reason,
    const char *relates_to, char **out, size_t *len);

#endif /* NODE_SOAP_H */
