/* node/config.c -- the configuration descriptor table and its checks. */
#include "node/config.h"

#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum key_type { K_STR, K_PATH, K_INT, K_SIZE, K_PROB };

struct key_desc {
	const char   *section;
	const char   *key;
	enum key_type type;
	size_t        off;  /* offset in struct node_config */
	size_t        cap;  /* for strings */
	long          min;  /* for numbers */
	long          max;
	const char   *def;  /* NULL: required */
};

#define S(sec, k, field, def) \
	{ sec, k, K_STR, offsetof(struct node_config, field), sizeof(((struct node_config *) 0)->field), 0, 0, def }
#define P(sec, k, field, def) \
	{ sec, k, K_PATH, offsetof(struct node_config, field), sizeof(((struct node_config *) 0)->field), 0, 0, def }
#define I(sec, k, field, lo, hi, def) \
	{ sec, k, K_INT, offsetof(struct node_config, field), 0, lo, hi, def }
/* A probability: a decimal number in (0, 1], stored as a double. */
#define PR(sec, k, field, def) \
	{ sec, k, K_PROB, offsetof(struct node_config, field), 0, 0, 1, def }

/* The table is the documentation's source of truth: conf/hie-node.ini.example
 * lists the same keys in the same order. */
static const struct key_desc keys[] = {
	S("node", "name", name, NULL),
	S("node", "community", community, NULL),
	S("node", "repository_id", repository_id, ""),
	P("node", "data_dir", data_dir, "data"),
	S("node", "log_level", log_level, "info"),
	S("listen", "peer", listen_peer, "tls+tcp://127.0.0.1:7400"),
	S("listen", "http", listen_http, "http://127.0.0.1:7480"),
	S("listen", "mllp", listen_mllp, ""),
	P("tls", "cert", cert, NULL),
	P("tls", "key", key, NULL),
	P("tls", "ca", ca, NULL),
	P("tls", "crl", crl, ""),
	P("peers", "directory", peers_file, "peers.ini"),
	P("peers", "signed_directory", signed_directory, ""),
	I("query", "peer_deadline_ms", peer_deadline_ms, 50, 120000, "5000"),
	I("query", "overall_deadline_ms", overall_deadline_ms, 50, 300000, "8000"),
	I("query", "cache_ttl_s", cache_ttl_s, 0, 3600, "0"),
	I("query", "max_in_flight", max_in_flight, 1, 100000, "64"),
	I("limits", "max_results", max_results, 1, 100000, "5000"),
	I("limits", "max_message_bytes", max_message_bytes, 4096, 1 << 30, "16777216"),
	I("limits", "max_submission_objects", max_submission_objects, 10, 1000000, "10000"),
	I("limits", "max_xml_depth", max_xml_depth, 8, 256, "64"),
	I("limits", "max_xml_attrs", max_xml_attrs, 4, 1024, "64"),
	I("limits", "max_xml_name", max_xml_name, 16, 4096, "256"),
	{ "storage", "map_size_mb", K_SIZE, offsetof(struct node_config, map_size_mb), 0, 16, 1 << 20, "1024" },
	I("hl7", "max_message_bytes", hl7_max_message_bytes, 4096, 1 << 30, "16777216"),
	I("hl7", "idle_timeout_s", hl7_idle_timeout_s, 1, 86400, "300"),
	I("hl7", "frame_timeout_s", hl7_frame_timeout_s, 1, 3600, "30"),
	I("hl7", "max_connections", hl7_max_connections, 1, 10000, "256"),
	P("hl7", "app_ack_routes", hl7_app_ack_routes, ""),
	I("hl7", "app_ack_max_queued", hl7_app_ack_max_queued, 1, 10000000, "100000"),
	I("hl7", "app_ack_retry_max_s", hl7_app_ack_retry_max_s, 1, 3600, "60"),
	PR("mpi", "link_threshold", mpi_link_threshold, "0.95"),
	PR("mpi", "review_threshold", mpi_review_threshold, "0.30"),
	I("security", "clock_skew_s", clock_skew_s, 0, 3600, "300"),
	I("security", "message_ttl_s", message_ttl_s, 10, 3600, "300"),
	I("security", "replay_max_entries", replay_max_entries, 1000, 10000000, "1000000"),
	I("registry", "require_known_patient", require_known_patient, 0, 1, "1"),
	S("consent", "default", consent_default, "permit"),
	I("consent", "emergency_override", consent_emergency, 0, 1, "1"),
	S("audit", "syslog_url", audit_syslog_url, ""),
	I("audit", "syslog_backoff_min_ms", audit_syslog_backoff_min_ms, 10, 60000, "500"),
	I("audit", "syslog_backoff_max_s", audit_syslog_backoff_max_s, 1, 3600, "60"),
	I("audit", "syslog_confirm_ms", audit_syslog_confirm_ms, 0, 60000, "1000"),
	I("audit", "off_for_measurement", audit_off_for_measurement, 0, 1, "0"),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct load_state {
	struct node_config *cfg;
	FILE               *err;
	char                dir[NODE_PATH];
	unsigned char       seen[NKEYS];
	int                 errors;
};

static void
cfg_error(struct load_state *st, const char *section, const char *key, const char *why)
{
	st->errors++;
	if (st->err != NULL)
		fprintf(st->err, "%s: %s.%s: %s\n", st->cfg->path, section, key, why);
}

static int
set_value(struct load_state *st, size_t i, const char *value)
{
	const struct key_desc *k = &keys[i];
	char                  *field = (char *) st->cfg + k->off;
	char                   full[NODE_PATH * 2];
	char                  *end;
	long                   v;

	switch (k->type) {
	case K_PROB: {
		double d = strtod(value, &end);
		if (*value == '\0' || *end != '\0' || !(d > 0 && d <= 1))
			cfg_error(st, k->section, k->key, "not a probability in (0, 1]");
		else
			*(double *) field = d;
		return 1;
	}
	case K_STR:
		if (hie_strlcpy(field, value, k->cap) != HIE_OK)
			cfg_error(st, k->section, k->key, "value too long");
		return 1;
	case K_PATH:
		if (value[0] != '/' && value[0] != '\0') {
			snprintf(full, sizeof(full), "%s/%s", st->dir, value);
			value = full;
		}
		if (hie_strlcpy(field, value, k->cap) != HIE_OK)
			cfg_error(st, k->section, k->key, "path too long");
		return 1;
	case K_INT:
	case K_SIZE:
		v = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0') {
			cfg_error(st, k->section, k->key, "not a whole number");
			return 1;
		}
		if (v < k->min || v > k->max) {
			char why[128];
			snprintf(why, sizeof(why), "%ld is out of range [%ld, %ld]", v, k->min, k->max);
			cfg_error(st, k->section, k->key, why);
			return 1;
		}
		if (k->type == K_INT)
			*(int *) field = (int) v;
		else
			*(size_t *) field = (size_t) v;
		return 1;
	}
	return 1;
}

static int
on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;

	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, name) == 0) {
			if (st->seen[i])
				cfg_error(st, section, name, "given twice");
			st->seen[i] = 1;
			return set_value(st, i, value);
		}
	}
	cfg_error(st, section, name, "unknown key");
	return 1; /* keep going: report every problem in one pass */
}

int
node_is_oid(const char *s)
{
	int digits = 0, parts = 0;

	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9') {
			digits++;
		} else if (*s == '.') {
			if (digits == 0)
				return 0;
			digits = 0;
			parts++;
		} else {
			return 0;
		}
	}
	return digits > 0 && parts >= 1;
}

int
node_is_urn_oid(const char *s)
{
	return strncmp(s, "urn:oid:", 8) == 0 && node_is_oid(s + 8);
}

static int
url_has_scheme(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	return strncmp(url, scheme, n) == 0 && url[n] != '\0';
}

/* Whether the file gave this key (by name: the table's order may change). */
static int
key_seen(const struct load_state *st, const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
			return st->seen[i];
	return 0;
}

static void
check_key_file(struct load_state *st, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0) {
		cfg_error(st, "tls", "key", "file not found or unreadable");
		return;
	}
	/* As OpenSMTPD does: a private key others can read is already lost. */
	if ((sb.st_mode & 077) != 0)
		cfg_error(st, "tls", "key", "private key is readable by group or others (chmod 600)");
}

static void
check_readable(struct load_state *st, const char *section, const char *key, const char *path)
{
	if (path[0] != '\0' && access(path, R_OK) != 0)
		cfg_error(st, section, key, "file not found or unreadable");
}

hie_err
node_config_load(const char *path, struct node_config *cfg, FILE *err)
{
	struct load_state st;
	char              tmp[NODE_PATH];
	int               rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(&st, 0, sizeof(st));
	st.cfg = cfg;
	st.err = err;
	hie_strlcpy(cfg->path, path, sizeof(cfg->path));
	hie_strlcpy(tmp, path, sizeof(tmp));
	hie_strlcpy(st.dir, dirname(tmp), sizeof(st.dir));

	if ((rc = ini_parse(path, on_pair, &st)) < 0) {
		if (err != NULL)
			fprintf(err, "%s: cannot open configuration file\n", path);
		return HIE_ECONFIG;
	}
	if (rc > 0) {
		st.errors++;
		if (err != NULL)
			fprintf(err, "%s:%d: syntax error\n", path, rc);
	}
	for (size_t i = 0; i < NKEYS; i++) {
		if (st.seen[i])
			continue;
		if (keys[i].def == NULL)
			cfg_error(&st, keys[i].section, keys[i].key, "required key is missing");
		else
			set_value(&st, i, keys[i].def);
	}
	if (cfg->name[0] == '\0' && st.seen[0])
		cfg_error(&st, "node", "name", "must not be empty");
	if (st.seen[1] && !node_is_urn_oid(cfg->community))
		cfg_error(&st, "node", "community", "must be urn:oid: followed by an OID");
	if (cfg->repository_id[0] == '\0' && node_is_urn_oid(cfg->community))
		snprintf(cfg->repository_id, sizeof(cfg->repository_id), "%s.1", cfg->community + 8);
	if (cfg->repository_id[0] != '\0' && !node_is_oid(cfg->repository_id))
		cfg_error(&st, "node", "repository_id", "must be an OID");
	if (strcmp(cfg->log_level, "debug") && strcmp(cfg->log_level, "info") &&
	    strcmp(cfg->log_level, "warn") && strcmp(cfg->log_level, "error"))
		cfg_error(&st, "node", "log_level", "must be debug, info, warn or error");
	if (cfg->mpi_review_threshold > cfg->mpi_link_threshold)
		cfg_error(&st, "mpi", "review_threshold", "must not be above link_threshold");
	if (!url_has_scheme(cfg->listen_peer, "tls+tcp://"))
		cfg_error(&st, "listen", "peer", "must be a tls+tcp:// address (peers use mutual TLS)");
	if (!url_has_scheme(cfg->listen_http, "http://"))
		cfg_error(&st, "listen", "http", "must be an http:// address");
	if (key_seen(&st, "tls", "cert"))
		check_readable(&st, "tls", "cert", cfg->cert);
	if (key_seen(&st, "tls", "key"))
		check_key_file(&st, cfg->key);
	if (key_seen(&st, "tls", "ca"))
		check_readable(&st, "tls", "ca", cfg->ca);
	if (cfg->listen_mllp[0] != '\0' && !url_has_scheme(cfg->listen_mllp, "tcp://") &&
	    !url_has_scheme(cfg->listen_mllp, "tls+tcp://"))
		cfg_error(&st, "listen", "mllp", "must be empty, a tcp:// or a tls+tcp:// address");
	check_readable(&st, "tls", "crl", cfg->crl);
	check_readable(&st, "hl7", "app_ack_routes", cfg->hl7_app_ack_routes);
	if (strcmp(cfg->consent_default, "permit") != 0 && strcmp(cfg->consent_default, "deny") != 0)
		cfg_error(&st, "consent", "default", "must be permit or deny");
	if (cfg->audit_syslog_url[0] != '\0' && !url_has_scheme(cfg->audit_syslog_url, "tls+tcp://"))
		cfg_error(&st, "audit", "syslog_url", "must be empty or a tls+tcp://host:port address (RFC 5425)");
	if (cfg->overall_deadline_ms < cfg->peer_deadline_ms)
		cfg_error(&st, "query", "overall_deadline_ms", "must not be below peer_deadline_ms");
	return st.errors == 0 ? HIE_OK : HIE_ECONFIG;
}

void
node_config_xml_limits(const struct node_config *cfg, struct hie_xml_limits *lim)
{
	lim->max_bytes = (size_t) cfg->max_message_bytes;
	lim->max_depth = cfg->max_xml_depth;
	lim->max_attrs = cfg->max_xml_attrs;
	lim->max_name  = cfg->max_xml_name;
}
