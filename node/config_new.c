/* node/config_new.c -- the commented config `hie-node init` writes. */
#include "node/config.h"

#include <stdlib.h>

/* Same keys and comments as conf/hie-node.ini.example, with the values a
 * new node needs filled in. */
static const char template[] =
    "; hienode node configuration, written by `hie-node init`.\n"
    "; Relative paths are relative to the directory of this file.\n"
    "; `hie-node --check -c FILE` validates it and names any bad key.\n"
    "\n"
    "[node]\n"
    "; Short name; also the TLS server name peers check (certificate DNS SAN).\n"
    "name = %s\n"
    "; This organization's homeCommunityId (urn:oid:...).\n"
    "community = %s\n"
    "; repositoryUniqueId (OID); empty: the community OID with \".1\" appended.\n"
    "repository_id =\n"
    "; LMDB environment: registry, repository, MPI, replay cache, audit log.\n"
    "data_dir = data\n"
    "; debug, info, warn or error.\n"
    "log_level = info\n"
    "\n"
    "[listen]\n"
    "; Peer link (nng REQ/REP, mutual TLS).  Loopback unless you change it.\n"
    "peer = tls+tcp://127.0.0.1:%d\n"
    "; HTTP: /health, /metrics, /api/query, POST /xca/iti38.  No login: keep\n"
    "; it on loopback or behind a TLS reverse proxy.\n"
    "http = http://127.0.0.1:%d\n"
    "; HL7 v2 over MLLP (ADT, MDM, ORU, QBP); empty: off.  tcp://127.0.0.1:PORT,\n"
    "; or tls+tcp://HOST:PORT for mutual TLS with this node's certificate.\n"
    "mllp = %s\n"
    "\n"
    "[tls]\n"
    "; Certificate and private key (the key must be mode 0600).\n"
    "cert = node.crt\n"
    "key = node.key\n"
    "; The network CA; peers must present a certificate it signed.\n"
    "ca = ca.crt\n"
    "; CRL (PEM) from the network CA; re-read on SIGHUP.\n"
    "crl = %s\n"
    "\n"
    "[peers]\n"
    "; The network's member list, signed by the HIE admin (`hie-certs directory\n"
    "; sign`): the peers, and the certificates each may sign with, come only\n"
    "; from it, checked against the CA.  Your admin sends it with node.crt.\n"
    "signed_directory = %s\n"
    "; Used only when signed_directory is empty: an unsigned list of your own\n"
    "; choosing, one [section] per peer with community= and address=.\n"
    "directory = peers.ini\n"
    "\n"
    "[query]\n"
    "peer_deadline_ms = 5000\n"
    "overall_deadline_ms = 8000\n"
    "; Seconds a patient's query result is reused (paging); 0: never.\n"
    "cache_ttl_s = 0\n"
    "; Clinician requests waiting on peers at once; one more gets 503.\n"
    "max_in_flight = 64\n"
    "\n"
    "[limits]\n"
    "max_results = 5000\n"
    "max_message_bytes = 16777216\n"
    "max_submission_objects = 10000\n"
    "max_xml_depth = 64\n"
    "max_xml_attrs = 64\n"
    "max_xml_name = 256\n"
    "\n"
    "[storage]\n"
    "map_size_mb = 1024\n"
    "\n"
    "[hl7]\n"
    "max_message_bytes = 16777216\n"
    "idle_timeout_s = 300\n"
    "frame_timeout_s = 30\n"
    "max_connections = 256\n"
    "; Enhanced-mode application acknowledgements (MSH-16 AL/ER/SU): a file\n"
    "; of routes, one a line: SENDING_APPLICATION SENDING_FACILITY tcp://HOST:PORT\n"
    "; (MSH-3, MSH-4, \"*\" for any; tls+tcp:// for mutual TLS); empty: none.\n"
    "app_ack_routes =\n"
    "; Most application acknowledgements kept waiting for delivery; beyond, the\n"
    "; oldest is dropped (audited).\n"
    "app_ack_max_queued = 100000\n"
    "; Longest wait between delivery attempts to a receiver that is down, s.\n"
    "app_ack_retry_max_s = 60\n"
    "\n"
    "[mpi]\n"
    "; Posterior match probability at which a new patient record links to an\n"
    "; existing one, and from which it goes to the review queue instead.\n"
    "link_threshold = 0.95\n"
    "review_threshold = 0.30\n"
    "\n"
    "[security]\n"
    "; Inbound SOAP must be signed; requests must carry a signed XUA assertion.\n"
    "clock_skew_s = 300\n"
    "message_ttl_s = 300\n"
    "replay_max_entries = 1000000\n"
    "\n"
    "[registry]\n"
    "; 1: ITI-41 submissions must name a patient the MPI knows (fed by ADT).\n"
    "require_known_patient = 1\n"
    "\n"
    "[consent]\n"
    "; For patients without a policy of their own (hie-node consent set):\n"
    "; permit (opt-out network) or deny (opt-in network).\n"
    "default = permit\n"
    "; 1: purpose of use EMERGENCY overrides an opt-out (break-the-glass,\n"
    "; audited) unless the patient's own policy says otherwise.\n"
    "emergency_override = 1\n"
    "\n"
    "[audit]\n"
    "; Forwarding to an audit repository (ATNA ITI-20, RFC 5424 syslog over\n"
    "; TLS, mutual TLS with this node's certificate), e.g.\n"
    "; tls+tcp://audit.example.org:6514; empty: off.\n"
    "syslog_url =\n"
    "; Reconnection backoff: first wait (ms), doubling up to the longest (s).\n"
    "syslog_backoff_min_ms = 500\n"
    "syslog_backoff_max_s = 60\n"
    "; A record counts as accepted by the repository once its bytes were\n"
    "; acknowledged and the connection stayed up this long after (ms).\n"
    "syslog_confirm_ms = 1000\n"
    "; For benchmarks only, never in production: 1 records nothing.\n"
    "off_for_measurement = 0\n";

hie_err
node_config_write_new(const char *path, const char *name, const char *community,
    int peer_port, int http_port, const char *crl)
{
	struct node_new_config c = { name, community, peer_port, http_port, 0, crl, "directory.signed" };

	return node_config_write_init(path, &c);
}

hie_err
node_config_write_init(const char *path, const struct node_new_config *c)
{
	hie_buf b;
	char    mllp[64] = "";
	hie_err e;

	if (c->mllp_port > 0)
		snprintf(mllp, sizeof(mllp), "tcp://127.0.0.1:%d", c->mllp_port);
	hie_buf_init(&b, 1 << 16);
	e = hie_buf_printf(&b, template, c->name, c->community, c->peer_port, c->http_port, mllp, c->crl,
	    c->signed_directory);
	if (e == HIE_OK)
		e = hie_write_file(path, b.data, b.len, 0644);
	hie_buf_free(&b);
	return e;
}
