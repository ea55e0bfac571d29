/*
 * node/config.h -- the node's configuration: one descriptor table (key, type,
 * bounds, default) read from an INI file with libinih, every error reported
 * in one pass, and the peer directory.
 *
 * Relative paths in the file are taken relative to the file's directory, so
 * a node directory made by `hie-node init` can move as a whole.
 */
#ifndef NODE_CONFIG_H
#define NODE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "node/hie.h"
#include "node/xml.h"

#define NODE_STR 256
#define NODE_PATH 1024

struct node_config {
	char name[NODE_STR];          /* [node] name */
	char community[NODE_STR];     /* [node] community, urn:oid:... */
	char repository_id[NODE_STR]; /* [node] repository_id, an OID */
	char data_dir[NODE_PATH];     /* [node] data_dir */
	char log_level[16];           /* [node] log_level */
	char listen_peer[NODE_STR];   /* [listen] peer, tls+tcp://host:port */
	char listen_http[NODE_STR];   /* [listen] http, http://host:port */
	char listen_mllp[NODE_STR];   /* [listen] mllp, "" (off), tcp:// or tls+tcp:// */
	char cert[NODE_PATH];         /* [tls] cert */
	char key[NODE_PATH];          /* [tls] key */
	char ca[NODE_PATH];           /* [tls] ca */
	char crl[NODE_PATH];          /* [tls] crl (optional) */
	char peers_file[NODE_PATH];   /* [peers] directory */
	char signed_directory[NODE_PATH]; /* [peers] signed_directory ("": the unsigned INI) */
	int  peer_deadline_ms;        /* [query] peer_deadline_ms */
	int  overall_deadline_ms;     /* [query] overall_deadline_ms */
	int  cache_ttl_s;             /* [query] cache_ttl_s (0: no result cache) */
	int  max_in_flight;           /* [query] max_in_flight: clinician requests waiting on peers at once */
	int  max_results;             /* [limits] max_results */
	int  max_message_bytes;       /* [limits] max_message_bytes */
	int  max_submission_objects;  /* [limits] max_submission_objects */
	int  max_xml_depth;           /* [limits] max_xml_depth */
	int  max_xml_attrs;           /* [limits] max_xml_attrs */
	int  max_xml_name;            /* [limits] max_xml_name */
	size_t map_size_mb;           /* [storage] map_size_mb */
	int  hl7_max_message_bytes;   /* [hl7] max_message_bytes */
	int  hl7_idle_timeout_s;      /* [hl7] idle_timeout_s */
	int  hl7_frame_timeout_s;     /* [hl7] frame_timeout_s */
	int  hl7_max_connections;     /* [hl7] max_connections */
	char hl7_app_ack_routes[NODE_PATH]; /* [hl7] app_ack_routes: routes file, "" none */
	int  hl7_app_ack_max_queued;  /* [hl7] app_ack_max_queued */
	int  hl7_app_ack_retry_max_s; /* [hl7] app_ack_retry_max_s */
	double mpi_link_threshold;    /* [mpi] link_threshold, a probability */
	double mpi_review_threshold;  /* [mpi] review_threshold, <= link */
	int  clock_skew_s;            /* [security] clock_skew_s */
	int  message_ttl_s;           /* [security] message_ttl_s */
	int  replay_max_entries;      /* [security] replay_max_entries */
	int  require_known_patient;   /* [registry] require_known_patient (0/1) */
	char consent_default[16];     /* [consent] default: permit or deny */
	int  consent_emergency;       /* [consent] emergency_override (0/1) */
	char audit_syslog_url[NODE_STR];  /* [audit] syslog_url: "" off, tls+tcp://host:port */
	int  audit_syslog_backoff_min_ms; /* [audit] syslog_backoff_min_ms */
	int  audit_syslog_backoff_max_s;  /* [audit] syslog_backoff_max_s */
	int  audit_syslog_confirm_ms;     /* [audit] syslog_confirm_ms */
	int  audit_off_for_measurement;   /* [audit] off_for_measurement: benchmarks only */
	char path[NODE_PATH];         /* the file this came from */
};

/*
 * Loads and validates path.  On failure every problem is written to err
 * (one line each, naming the key, "section.key: reason") and HIE_ECONFIG
 * is returned.  Also checks that key files are not readable by others.
 */
hie_err node_config_load(const char *path, struct node_config *cfg, FILE *err);

/* XML limits taken from the config. */
void node_config_xml_limits(const struct node_config *cfg, struct hie_xml_limits *lim);

/* Writes a fully commented config for a new node (hie-node init); crl is
 * the CRL file name, or "" for none yet; MLLP off; the peers from the signed
 * directory.signed. */
hie_err node_config_write_new(const char *path, const char *name,
    const char *community, int peer_port, int http_port, const char *crl);

/* What `hie-node init` puts into a new config.  Strings are the caller's. */
struct node_new_config {
	const char *name, *community;
	int         peer_port, http_port;
	int         mllp_port;        /* MLLP on 127.0.0.1:mllp_port; 0: the key is empty, MLLP off */
	const char *crl;              /* CRL file name, or "" for none yet */
	const char *signed_directory; /* "directory.signed", or "" for an unsigned peers.ini */
};

/* The same as node_config_write_new, every choice spelled out. */
hie_err node_config_write_init(const char *path, const struct node_new_config *c);

/* ---- peer directory ---- */
struct node_peer {
	char name[NODE_STR];
	char community[NODE_STR];
	char address[NODE_STR]; /* tls+tcp://host:port, or https://... (a SOAP endpoint) */
};

struct node_peers {
	struct node_peer *v;
	size_t            n;
};

/* Loads an INI peer directory: one [section] per peer with community= and
 * address=.  Entries for our own community are skipped.  Free with
 * node_peers_free. */
hie_err node_peers_load(const char *path, const char *own_community,
    struct node_peers *out, FILE *err);
void    node_peers_free(struct node_peers *p);

/* True if s is "urn:oid:" followed by a syntactically valid OID. */
int node_is_urn_oid(const char *s);
/* True if s is a syntactically valid OID (digits and dots). */
int node_is_oid(const char *s);

#endif /* NODE_CONFIG_H */
