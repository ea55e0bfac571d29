/*
 * mpi/v3.h -- the HL7 v3 codec of the MPI: the patient messages of IHE
 * XCPD (ITI-55), PIX v3 (ITI-45) and PDQ v3 (ITI-47), between the XML of
 * the SOAP Body and the MPI's structs (mpi/mpi.h).
 *
 *   PRPA_IN201305UV02  query by demographics (ITI-55, ITI-47)  parse, build
 *   PRPA_IN201306UV02  its response                              build, parse
 *   PRPA_IN201309UV02  query by identifier (ITI-45)              parse, build
 *   PRPA_IN201310UV02  its response                              build, parse
 *
 * Input is a tree from the hardened parser (node/xml.h: no DTD, no
 * entities, size and depth limits); v3_parse_buf parses raw bytes through
 * it.  A parser never truncates: a value longer than its field, more
 * repeats of a parameter than the MPI holds, or more parameters than
 * V3_MAX_PARAMS is an error with the HL7 acknowledgementDetail to send
 * back (struct v3_error), so a hostile message gets an AE and nothing is
 * searched.
 *
 * Identifiers: an HL7 v3 II (root, extension) is the CX ID^^^&root&ISO of
 * mpi.h.  homeCommunityIds travel as the plain OID (no "urn:oid:") in
 * device/asAgent/representedOrganization/id/@root and, in ITI-55
 * responses, in custodian/assignedEntity/id/@root (ITI TF-2b 3.55.4.2.2).
 *
 * Ownership: every struct is the caller's; builders append to a parent
 * element of the caller's tree.  Thread-safe (no state).
 */
#ifndef MPI_V3_H
#define MPI_V3_H

#include <libxml/tree.h>
#include <stddef.h>

#include "mpi/mpi.h"
#include "node/hie.h"
#include "node/xml.h"

#define V3_NS "urn:hl7-org:v3"

/* wsa:Action of each transaction (ITI TF-2b 3.55.5, 3.45.5, 3.47.5). */
#define V3_ACTION_ITI55      "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery"
#define V3_ACTION_ITI55_RESP "urn:hl7-org:v3:PRPA_IN201306UV02:CrossGatewayPatientDiscovery"
#define V3_ACTION_ITI45      "urn:hl7-org:v3:PRPA_IN201309UV02"
#define V3_ACTION_ITI45_RESP "urn:hl7-org:v3:PRPA_IN201310UV02"
#define V3_ACTION_ITI47      "urn:hl7-org:v3:PRPA_IN201305UV02"
#define V3_ACTION_ITI47_RESP "urn:hl7-org:v3:PRPA_IN201306UV02"

/* Parameters in one parameterList, and scoping organisations / data
 * sources named by one query. */
#define V3_MAX_PARAMS  32
#define V3_MAX_DOMAINS 8

/* An instance identifier. */
struct v3_ii {
	char root[128];
	char ext[128];
};

/* The transmission wrapper: what a response echoes. */
struct v3_header {
	struct v3_ii id;              /* message id (-> acknowledgement/targetMessage) */
	char         sender_device[128];   /* sender/device/id/@root */
	char         sender_home[128];     /* sender's representedOrganization id (OID) */
	char         receiver_device[128];
	char         receiver_home[128];
	struct v3_ii query_id;        /* queryByParameter/queryId */
};

/* Why a message cannot be answered: the HL7 acknowledgementDetail.  code
 * from HL7 table 0357 ("204" unknown key identifier, "207" application
 * internal error) or the query-level codes below; location is an XPath
 * into the request when the fault is in one element. */
struct v3_error {
	char code[32];
	char text[256];
	char location[192];
	char qrc[4]; /* queryResponseCode to answer: "AE" or "QE" */
};

/* PRPA_IN201305UV02: ITI-55 and ITI-47. */
struct v3_query {
	struct v3_header   h;
	struct mpi_patient demo; /* names, birth date, sex, addresses, phones, ids asked for */
	char               mothers_maiden[64];
	char               scoping[V3_MAX_DOMAINS][128]; /* otherIDsScopingOrganization (PDQ) */
	size_t             n_scoping;
	int                min_degree;       /* minimumDegreeMatch 0..100, -1 when absent */
	int                initial_quantity; /* PDQ: how many at most, -1 when absent */
};

/* PRPA_IN201309UV02: ITI-45. */
struct v3_pix_query {
	struct v3_header h;
	struct mpi_cx    id; /* patientIdentifier */
	char             sources[V3_MAX_DOMAINS][128]; /* dataSource: domains wanted */
	size_t           n_sources;
};

/* Parses bytes with the hardened parser: *doc is the caller's
 * (xmlFreeDoc).  Errors of hie_xml_parse. */
hie_err v3_parse_buf(const char *buf, size_t len, const struct hie_xml_limits *lim, xmlDoc **doc);

/*
 * Reads a PRPA_IN201305UV02 element.  HIE_OK, or:
 *   HIE_EPROTO     not that message (wrong element or namespace); nothing filled
 *   HIE_EINVAL     a value that cannot be right (date, gender, identifier),
 *                  a parameter this node does not support (err->qrc "QE"),
 *                  no usable parameter at all
 *   HIE_ETOOBIG    too many parameters or repeats, a value too long
 * On HIE_EINVAL/HIE_ETOOBIG, q->h is filled as far as it could be read (the
 * AE response needs it) and err says what to send back.
 */
hie_err v3_query_parse(const xmlNode *root, struct v3_query *q, struct v3_error *err);
/* The same for PRPA_IN201309UV02. */
hie_err v3_pix_query_parse(const xmlNode *root, struct v3_pix_query *q, struct v3_error *err);

/* One patient in a response. */
struct v3_subject {
	struct mpi_cx      id;         /* patient/id: the patient's id in the responder's domain */
	struct mpi_patient demo;       /* demographics (PIX: only demo.ids, as asOtherIDs) */
	int                confidence; /* queryMatchObservation 0..100; -1: none (PIX) */
};

/* What a response says.  For ITI-55 the caller has already applied the
 * disclosure rules: subjects holds at most the one unambiguous match. */
struct v3_response {
	const struct v3_header *req;    /* the request (may be NULL: nothing echoed) */
	const xmlNode          *query;  /* its queryByParameter, copied into the response; may be NULL */
	const char             *ack;    /* "AA" or "AE" */
	const char             *qrc;    /* "OK", "NF", "AE", "QE" */
	const struct v3_error  *err;    /* acknowledgementDetail, or NULL */
	const char             *issue;  /* "AnswerNotAvailable" (ITI-55 ambiguous) or NULL */
	const char             *device; /* our device id (an OID) */
	const char             *home;   /* our homeCommunityId as an OID (no urn:oid:) */
	const struct v3_subject *subjects;
	size_t                  n;
};

/* Appends a PRPA_IN201306UV02 (pix == 0) or PRPA_IN201310UV02 (pix == 1)
 * to parent.  HIE_EINVAL for a response without ack/qrc. */
hie_err v3_response_build(xmlNode *parent, const struct v3_response *r, int pix);

/* Builds a PRPA_IN201305UV02 for ITI-55 (initiating gateway) or ITI-47:
 * demo's names, birth date, sex, first address and phone, ids as
 * livingSubjectId.  from_home/to_home are OIDs; msg_id fills the message
 * id extension (root = device).  */
hie_err v3_query_build(xmlNode *parent, const struct mpi_patient *demo, const char *device,
    const char *from_home, const char *to_home, const char *msg_id);
/* Builds a PRPA_IN201309UV02 for cx (data sources: none, every domain). */
hie_err v3_pix_query_build(xmlNode *parent, const struct mpi_cx *cx, const char *device, const char *from_home,
    const char *msg_id);

/* A response as read by an initiating gateway or PIX/PDQ consumer. */
struct v3_result {
	char   ack[4];        /* AA, AE, AR */
	char   qrc[4];        /* OK, NF, AE, QE */
	char   issue[64];     /* detectedIssueManagement code, if any */
	char   custodian[128];/* first custodian/assignedEntity/id/@root (the responder's home) */
	char   detail[256];   /* acknowledgementDetail text, if any */
	struct v3_subject *subjects; /* caller's array of cap */
	size_t cap, n;        /* n: subjects read (more are an error) */
};
/* Reads a PRPA_IN201306UV02 or PRPA_IN201310UV02 (per pix).  HIE_EPROTO
 * when it is not one, HIE_ETOOBIG for more subjects than res->cap. */
hie_err v3_response_parse(const xmlNode *root, int pix, struct v3_result *res);

/* II <-> CX. */
hie_err v3_ii_to_cx(const char *root, const char *ext, struct mpi_cx *cx);

#endif /* MPI_V3_H */
