/*
 * node/consentcli.c -- `hie-node consent set|show|clear|list -c FILE`: a
 * privacy officer records a patient's opt-in or opt-out.  Every change is
 * an audit record ("consent-change") in the node's trail.  Safe while the
 * node runs: LMDB is multi-process and the running node reads the policy
 * at each request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>

#include "node/consent.h"
#include "node/daemon.h"
#include "node/store.h"

static const char usage[] =
    "usage: hie-node consent set -c FILE --patient ID --policy permit|deny [--from YYYY-MM-DD]\n"
    "                [--until YYYY-MM-DD] [--emergency 0|1] [--restricted 0|1] [--purposes P,...] [--by NAME]\n"
    "       hie-node consent show -c FILE --patient ID\n"
    "       hie-node consent clear -c FILE --patient ID\n"
    "       hie-node consent list -c FILE\n";

static hie_err
print_rule(void *arg, const struct consent_rule *r)
{
	hie_buf b;
	hie_err e;

	(void) arg;
	hie_buf_init(&b, 8192);
	if ((e = consent_rule_json(r, &b)) == HIE_OK)
		printf("%s\n", b.data);
	hie_buf_free(&b);
	return e;
}

/* The change, in the audit trail, written before the command reports
 * success: a change that cannot be audited is reported as a failure. */
static hie_err
audit_change(MDB_env *env, const struct node_config *cfg, const char *what, const struct consent_rule *r)
{
	audit_log         *a;
	uint64_t           written = 0, lost = 0;
	hie_buf            b;
	hie_err            e;
	struct audit_event ev = { .event = "consent-change", .role = "node", .outcome = AUDIT_SUCCESS,
		.source = cfg->community, .user = r->by, .patient = r->patient, .local = cfg->community, .action = "U" };

	hie_buf_init(&b, 8192);
	if ((e = hie_buf_printf(&b, "%s ", what)) == HIE_OK)
		e = consent_rule_json(r, &b);
	ev.detail = b.data;
	if (e == HIE_OK && (e = audit_open(env, &a)) == HIE_OK) {
		e = audit_record(a, &ev);
		/* Wait for the writer: the record must be on disk before we say
		 * the change is done. */
		for (int i = 0; e == HIE_OK && i < 500; i++) {
			audit_counts(a, &written, &lost);
			if (written + lost > 0)
				break;
			usleep(10000);
		}
		if (e == HIE_OK && written == 0)
			e = HIE_EIO;
		audit_close(a);
	}
	hie_buf_free(&b);
	return e;
}

int
node_cmd_consent(int argc, char **argv)
{
	struct node_config      cfg;
	struct consent_rule     r;
	struct consent_defaults def;
	MDB_env                *env;
	consent                *c;
	const char             *policy = NULL;
	char                    why[200];
	int                     rc = 1;
	hie_err                 e;

	memset(&r, 0, sizeof(r));
	r.emergency = -1;
	if (argc < 4 || strcmp(argv[2], "-c") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		hie_err     te = HIE_OK;
		if (v == NULL) {
			fputs(usage, stderr);
			return 2;
		}
		if (strcmp(argv[i], "--patient") == 0)
			te = hie_strlcpy(r.patient, v, sizeof(r.patient));
		else if (strcmp(argv[i], "--policy") == 0)
			policy = v;
		else if (strcmp(argv[i], "--from") == 0)
			te = hie_strlcpy(r.from, v, sizeof(r.from));
		else if (strcmp(argv[i], "--until") == 0)
			te = hie_strlcpy(r.until, v, sizeof(r.until));
		else if (strcmp(argv[i], "--emergency") == 0 && (strcmp(v, "0") == 0 || strcmp(v, "1") == 0))
			r.emergency = v[0] == '1';
		else if (strcmp(argv[i], "--restricted") == 0 && (strcmp(v, "0") == 0 || strcmp(v, "1") == 0))
			r.restricted = v[0] == '1';
		else if (strcmp(argv[i], "--purposes") == 0)
			te = hie_strlcpy(r.purposes, v, sizeof(r.purposes));
		else if (strcmp(argv[i], "--by") == 0)
			te = hie_strlcpy(r.by, v, sizeof(r.by));
		else {
			fputs(usage, stderr);
			return 2;
		}
		if (te != HIE_OK) {
			fprintf(stderr, "hie-node consent: %s is too long\n", argv[i]);
			return 2;
		}
		i++;
	}
	if (strcmp(argv[1], "list") != 0 && r.patient[0] == '\0') {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "set") == 0 && (policy == NULL || consent_policy_parse(policy, &r.policy) != HIE_OK)) {
		fprintf(stderr, "hie-node consent: --policy must be permit or deny\n");
		return 2;
	}
	if (node_config_load(argv[3], &cfg, stderr) != HIE_OK)
		return 1;
	def.policy = strcmp(cfg.consent_default, "deny") == 0 ? CONSENT_DENY : CONSENT_PERMIT;
	def.emergency = cfg.consent_emergency;
	if (r.emergency < 0)
		r.emergency = def.emergency;
	if (r.by[0] == '\0') {
		struct passwd *pw = getpwuid(getuid());
		snprintf(r.by, sizeof(r.by), "%s (hie-node consent)", pw != NULL ? pw->pw_name : "unknown");
	}
	if ((e = hie_store_open(cfg.data_dir, cfg.map_size_mb, &env)) != HIE_OK) {
		fprintf(stderr, "hie-node consent: data_dir %s: %s\n", cfg.data_dir, hie_strerror(e));
		return 1;
	}
	if ((e = consent_open(env, &def, &c)) != HIE_OK) {
		fprintf(stderr, "hie-node consent: %s\n", hie_strerror(e));
		hie_store_close(env);
		return 1;
	}
	if (strcmp(argv[1], "set") == 0) {
		if ((e = consent_set(c, &r, why, sizeof(why))) != HIE_OK)
			fprintf(stderr, "hie-node consent: %s\n", e == HIE_EINVAL ? why : hie_strerror(e));
		else if ((e = audit_change(env, &cfg, "set", &r)) != HIE_OK)
			fprintf(stderr, "hie-node consent: stored, but the audit record failed: %s\n", hie_strerror(e));
		else
			rc = print_rule(NULL, &r) == HIE_OK ? 0 : 1;
	} else if (strcmp(argv[1], "show") == 0) {
		struct consent_rule got;
		if ((e = consent_get(c, r.patient, &got)) == HIE_OK) {
			rc = print_rule(NULL, &got) == HIE_OK ? 0 : 1;
		} else if (e == HIE_ENOTFOUND) {
			printf("{\"patient\":\"%s\",\"policy\":\"%s\",\"default\":true}\n", r.patient,
			    consent_policy_name(def.policy));
			rc = 0;
		} else {
			fprintf(stderr, "hie-node consent: %s\n", hie_strerror(e));
		}
	} else if (strcmp(argv[1], "clear") == 0) {
		struct consent_rule old;
		if ((e = consent_get(c, r.patient, &old)) == HIE_OK && (e = consent_clear(c, r.patient)) == HIE_OK) {
			hie_strlcpy(old.by, r.by, sizeof(old.by));
			if ((e = audit_change(env, &cfg, "cleared", &old)) != HIE_OK)
				fprintf(stderr, "hie-node consent: cleared, but the audit record failed: %s\n", hie_strerror(e));
			else
				rc = 0;
		} else {
			fprintf(stderr, "hie-node consent: %s\n", e == HIE_ENOTFOUND ? "no policy for that patient" : hie_strerror(e));
		}
	} else if (strcmp(argv[1], "list") == 0) {
		rc = consent_each(c, print_rule, NULL) == HIE_OK ? 0 : 1;
	} else {
		fputs(usage, stderr);
		rc = 2;
	}
	consent_close(c);
	hie_store_close(env);
	return rc;
}
