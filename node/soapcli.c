/*
 * node/soapcli.c -- `hie-node soap sign|verify -c FILE IN.xml`: the node's
 * own signing and inbound verification, offline, for admins debugging a
 * refused message and for interoperability tests.
 *
 *   sign    writes IN.xml signed exactly as the node sends it (Timestamp,
 *           X.509 token, XUA assertion for --audience, signature).
 *   verify  runs the inbound verification and prints "ok" or
 *           "refused: REASON" (exit 0/1).  The replay cache is not used:
 *           it belongs to the running node.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"
#include "node/directory.h"
#include "node/wss.h"

static const char usage[] =
    "usage: hie-node soap sign -c FILE [--audience urn:oid:...] [--user NAME] [--no-assertion] IN.xml\n"
    "       hie-node soap verify -c FILE [--response] IN.xml\n";

int
node_cmd_soap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "audience", required_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'u' },
		{ "no-assertion", no_argument, NULL, 'n' },
		{ "response", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct node_config       cfg;
	struct node_tls_material tls;
	struct hie_xml_limits    lim;
	struct soap_msg          m = { 0 };
	const char              *config = NULL, *audience = NULL, *user = "unspecified user", *cmd;
	char                    *in = NULL, *out = NULL, why[300];
	size_t                   len, olen;
	int                      ch, no_assertion = 0, response = 0, rc = 1;
	hie_err                  e;

	if (argc < 2 || (strcmp(argv[1], "sign") != 0 && strcmp(argv[1], "verify") != 0)) {
		fputs(usage, stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'a': audience = optarg; break;
		case 'u': user = optarg; break;
		case 'n': no_assertion = 1; break;
		case 'r': response = 1; break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (config == NULL || optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (node_config_load(config, &cfg, stderr) != HIE_OK)
		return 1;
	node_config_xml_limits(&cfg, &lim);
	hie_xml_init();
	if ((e = node_tls_load(cfg.cert, cfg.key, cfg.ca, cfg.crl, &tls)) != HIE_OK) {
		fprintf(stderr, "hie-node soap: certificates: %s\n", hie_strerror(e));
		return 1;
	}
	if ((e = hie_read_file(argv[optind], lim.max_bytes, &in, &len)) != HIE_OK) {
		fprintf(stderr, "hie-node soap: %s: %s\n", argv[optind], hie_strerror(e));
		goto done;
	}
	if ((e = soap_parse(in, len, &lim, &m)) != HIE_OK) {
		printf("refused: %s\n", hie_strerror(e));
		goto done;
	}
	if (strcmp(cmd, "verify") == 0) {
		struct wss_verifier_cfg vc = { .ca_pem = tls.ca, .crl_pem = tls.crl, .community = cfg.community,
			.clock_skew_s = cfg.clock_skew_s, .max_ttl_s = cfg.message_ttl_s * 2, .replay = NULL };
		struct wss_identity   who;
		struct node_directory d;
		struct wss_member    *members = NULL;
		wss_verifier         *v;
		/* Exactly the node's check: with a signed directory, the signer
		 * must be a member signing with a listed certificate. */
		if (cfg.signed_directory[0] != '\0') {
			char     state[NODE_PATH + 32];
			uint64_t highest;
			node_directory_serial_path(cfg.data_dir, state, sizeof(state));
			if ((e = node_directory_load(cfg.signed_directory, tls.ca, &d, why, sizeof(why))) != HIE_OK) {
				printf("refused: peer directory: %s\n", why);
				rc = 1;
				goto done;
			}
			if ((e = node_directory_serial_compare(state, d.serial, &highest, why, sizeof(why))) != HIE_OK) {
				printf("refused: peer directory %s: %s\n", cfg.signed_directory, why);
				node_directory_free(&d);
				rc = 1;
				goto done;
			}
			e = node_directory_members(&d, &members, &vc.nmembers);
			node_directory_free(&d);
			vc.directory = 1;
			vc.members = members;
		}
		if ((e = wss_verifier_new(&vc, &v)) == HIE_OK) {
			e = wss_verify(v, &m, !response, NULL, &who, why, sizeof(why));
			wss_verifier_free(v);
		} else {
			snprintf(why, sizeof(why), "trust store: %s", hie_strerror(e));
		}
		free(members);
		if (e == HIE_OK)
			printf("ok: signed by %s (%s)%s%s\n", who.community, who.subject, who.has_claims ? " for " : "",
			    who.has_claims ? who.claims.subject_id : "");
		else
			printf("refused: %s (%s)\n", why, wss_fault_code(e));
		rc = e == HIE_OK ? 0 : 1;
	} else {
		struct wss_claims c;
		wss_signer       *s;
		memset(&c, 0, sizeof(c));
		hie_strlcpy(c.subject_id, user, sizeof(c.subject_id));
		hie_strlcpy(c.subject_role, "112247003", sizeof(c.subject_role));
		hie_strlcpy(c.purpose_of_use, "TREATMENT", sizeof(c.purpose_of_use));
		hie_strlcpy(c.organization, cfg.name, sizeof(c.organization));
		hie_strlcpy(c.organization_id, cfg.community, sizeof(c.organization_id));
		hie_strlcpy(c.home_community, cfg.community, sizeof(c.home_community));
		if ((e = wss_signer_new(tls.cert, tls.key, &s)) == HIE_OK) {
			e = wss_sign_text(s, m.doc, no_assertion ? NULL : &c, audience ? audience : cfg.community,
			    cfg.message_ttl_s, &out, &olen);
			wss_signer_free(s);
		}
		if (e == HIE_OK) {
			fwrite(out, 1, olen, stdout);
			rc = 0;
		} else {
			fprintf(stderr, "hie-node soap sign: %s\n", hie_strerror(e));
		}
	}
done:
	soap_msg_free(&m);
	free(in);
	free(out);
	node_tls_free(&tls);
	return rc;
}
