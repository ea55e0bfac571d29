/*
 * node/atna.h -- the audit trail's records as IHE ATNA audit messages
 * (ITI-20, DICOM PS3.15 Annex A.5, the dicom2017c schema): what `hie-node
 * audit list --atna` prints and what the syslog forwarder sends.
 *
 * The stored form stays the JSON record of node/audit.h; an ATNA message is
 * rendered from it when asked for, so the hash chain covers exactly what
 * was recorded and the rendering can improve without rewriting history.
 *
 * Event mapping (EventID / EventActionCode / EventTypeCode):
 *   ITI-18, ITI-38, ITI-55, ITI-45, ITI-47, ITI-21, ITI-9  110112 Query, E
 *   ITI-39, ITI-43   responder 110106 Export, R; initiator 110107 Import, C
 *   ITI-41           responder 110107 Import, C; initiator 110106 Export, R
 *   ITI-8, HL7v2, HL7-ADT/MDM/ORU/other  110110 Patient Record, C (U, D)
 *   HL7-QBP          110112 Query (ITI-21)
 *   security-alert   110113 Security Alert, E, 110126 Node Authentication
 *   consent-denied   110113, 110132 Use of Restricted Function
 *   emergency-override 110113, 110127 Emergency Override Started
 *   consent-change   110113, 110135 Object Security Attributes Changed
 *   config-reload    110113, 110129 Security Configuration
 *   node-start/stop  110100 Application Activity, 110120/110121
 * Anything else is 110100 with the event name as its type (never fails).
 */
#ifndef NODE_ATNA_H
#define NODE_ATNA_H

#include <stddef.h>

#include "node/hie.h"

/*
 * Renders one stored record (json[len], as audit_each gives it) as one
 * AuditMessage element, appended to out (no XML declaration, no newline).
 * node and community name this node (AuditSourceIdentification); records
 * that carry their own "local" community use it.  HIE_EINVAL when json is
 * not an audit record; out may then hold a partial message (caller resets).
 */
hie_err audit_atna(const char *json, size_t len, const char *node, const char *community, hie_buf *out);

#endif /* NODE_ATNA_H */
