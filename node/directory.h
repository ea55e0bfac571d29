/*
 * node/directory.h -- the signed peer directory: the network's member list
 * as the HIE admin signed it.
 *
 * A text document, one [section] per member:
 *
 *   ; comments
 *   serial = 7                          increases with every signing
 *   [hospital-b]
 *   community = urn:oid:...             homeCommunityId
 *   address = tls+tcp://host:port       peer link endpoint
 *   http = http://host:port             optional, informational
 *   fingerprint = 64 hex digits         SHA-256 of the member's certificate
 *   fingerprint = ...                   (a second one while it rotates)
 *   signature = BASE64                  last line: ECDSA/RSA with SHA-256
 *                                       over every byte before this line
 *
 * The signature is made with the network CA's key (`hie-certs directory
 * sign`) and checked with the CA certificate every node already has, so a
 * node accepts no member list the admin did not sign.  A member's identity
 * inside messages is its WS-Security signing certificate, whose fingerprint
 * must be one listed for its community (wss_verifier_cfg.members).
 *
 * Ownership: node_directory_* fill a struct node_directory the caller frees
 * with node_directory_free.  Thread-safe (no globals).
 */
#ifndef NODE_DIRECTORY_H
#define NODE_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "node/hie.h"

#define NODE_DIR_MAX_MEMBERS 1024
#define NODE_DIR_MAX_FP 4
#define NODE_DIR_MAX_BYTES (4u << 20)

struct node_dir_member {
	char          name[128];
	char          community[128];
	char          address[256];
	char          http[256];
	unsigned char fp[NODE_DIR_MAX_FP][32];
	int           nfp;
};

struct node_directory {
	uint64_t                serial;
	struct node_dir_member *v;
	size_t                  n;
	int                     signed_; /* a signature line was present (and, if checked, valid) */
};

/*
 * Parses text[len].  ca_pem non-NULL: the last line must be a signature by
 * the key of that CA certificate over everything before it, else HIE_ESIG
 * with the reason in why.  ca_pem NULL (the admin's working copy): any
 * signature line is ignored.  HIE_ECONFIG for a malformed directory (why
 * names the line or member).
 */
hie_err node_directory_parse(const char *text, size_t len, const char *ca_pem, struct node_directory *out,
    char *why, size_t whycap);

/* Reads path and node_directory_parse()s it. */
hie_err node_directory_load(const char *path, const char *ca_pem, struct node_directory *out, char *why,
    size_t whycap);

/* The canonical unsigned text of d (what `sign` signs); *out malloc'd. */
hie_err node_directory_format(const struct node_directory *d, char **out, size_t *len);

/* The member for community, or NULL. */
const struct node_dir_member *node_directory_find(const struct node_directory *d, const char *community);

/* 64 lowercase hex digits (colons between bytes allowed) into fp[32]. */
hie_err node_fp_parse(const char *hex, unsigned char fp[32]);
/* fp as 64 lowercase hex digits + NUL. */
void    node_fp_format(const unsigned char fp[32], char out[65]);

/* The members' communities and fingerprints for a WS-Security verifier
 * (struct wss_member, node/wss.h); *out malloc'd (free()). */
struct wss_member;
hie_err node_directory_members(const struct node_directory *d, struct wss_member **out, size_t *n);

/*
 * Rollback defence: state_path keeps the highest serial this node has
 * loaded.  serial lower than it: HIE_EREPLAY (a validly signed but older
 * directory, e.g. one still listing a member removed since), why says so.
 * Otherwise a higher serial is written there (0600, atomically) and
 * *highest is the serial now in force.  A state file that is not a number
 * is HIE_ECONFIG (fail closed).
 */
hie_err node_directory_serial_check(const char *state_path, uint64_t serial, uint64_t *highest, char *why,
    size_t whycap);
/* The same check without recording anything: for the offline tools
 * (hie-node soap verify, --check), which must refuse what the node would
 * refuse but not move the node's state. */
hie_err node_directory_serial_compare(const char *state_path, uint64_t serial, uint64_t *highest, char *why,
    size_t whycap);
/* Where a node keeps that state: data_dir/directory.serial. */
void node_directory_serial_path(const char *data_dir, char *out, size_t cap);

void node_directory_free(struct node_directory *d);

#endif /* NODE_DIRECTORY_H */
