/* node/main.c -- the hie-node program: daemon, --check, init, import. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/cert.h"
#include "node/daemon.h"
#include "node/directory.h"

/* node/hl7cli.c: send files of HL7 v2 messages over MLLP. */
int node_cmd_hl7_send(int argc, char **argv);

static const char usage[] =
    "usage: hie-node -c FILE                 run the node\n"
    "       hie-node --check -c FILE         validate a configuration\n"
    "       hie-node init DIR --name NAME --community urn:oid:... [--ca CA_DIR]\n"
    "                [--peer-port N] [--http-port N]\n"
    "       hie-node import -c FILE doc.xml... | DIR\n"
    "       hie-node soap sign -c FILE [--audience urn:oid:...] [--user NAME] [--no-assertion] IN.xml\n"
    "       hie-node soap verify -c FILE [--response] IN.xml\n"
    "       hie-node audit verify -c FILE | audit list -c FILE [-n LAST] [--atna]\n"
    "       hie-node audit disclosures -c FILE --patient ID [--since YYYY-MM-DD] [--json]\n"
    "       hie-node consent set -c FILE --patient ID --policy permit|deny [--from D] [--until D]\n"
    "                [--emergency 0|1] [--restricted 0|1] [--purposes P,...] [--by NAME]\n"
    "       hie-node consent show|clear -c FILE --patient ID | consent list -c FILE\n"
    "       hie-node hl7-send [-t TIMEOUT_S] HOST:PORT FILE...\n";

/*
 * --check: the keys, and what a node needs to start and be trusted: its
 * certificate chains to the network CA (and is not revoked), names our
 * community, matches the private key, and the peer directory reads.
 */
static int
check(const char *path)
{
	struct node_config       cfg;
	struct node_tls_material tls;
	struct node_peers        peers;
	wss_signer              *s;
	char                     why[512];
	int                      bad = 0;

	if (node_config_load(path, &cfg, stderr) != HIE_OK)
		return 1;
	hie_xml_init();
	if (cert_verify(cfg.ca, cfg.crl, cfg.cert, cfg.community, why, sizeof(why)) != HIE_OK) {
		fprintf(stderr, "%s: tls.cert: %s\n", path, why);
		bad = 1;
	}
	if (node_tls_load(cfg.cert, cfg.key, cfg.ca, cfg.crl, &tls) == HIE_OK) {
		if (wss_signer_new(tls.cert, tls.key, &s) != HIE_OK) {
			fprintf(stderr, "%s: tls.key: does not belong to tls.cert\n", path);
			bad = 1;
		}
		wss_signer_free(s);
		node_tls_free(&tls);
	}
	if (cfg.signed_directory[0] != '\0') {
		struct node_directory d;
		char                 *ca = NULL;
		size_t                len;
		char                  state[NODE_PATH + 32];
		uint64_t              highest;
		node_directory_serial_path(cfg.data_dir, state, sizeof(state));
		if (hie_read_file(cfg.ca, 1 << 20, &ca, &len) != HIE_OK ||
		    node_directory_load(cfg.signed_directory, ca, &d, why, sizeof(why)) != HIE_OK) {
			fprintf(stderr, "%s: peers.signed_directory: %s\n", path, ca != NULL ? why : "tls.ca unreadable");
			bad = 1;
		} else {
			/* What the node would refuse at start: an older
			 * directory than it has loaded before. */
			if (node_directory_serial_compare(state, d.serial, &highest, why, sizeof(why)) != HIE_OK) {
				fprintf(stderr, "%s: peers.signed_directory: %s\n", path, why);
				bad = 1;
			}
			node_directory_free(&d);
		}
		free(ca);
	} else if (node_peers_load(cfg.peers_file, cfg.community, &peers, stderr) != HIE_OK) {
		bad = 1;
	} else {
		node_peers_free(&peers);
	}
	if (bad)
		return 1;
	printf("configuration OK\n");
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return node_cmd_init(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "audit") == 0)
		return node_cmd_audit(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "consent") == 0)
		return node_cmd_consent(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "soap") == 0)
		return node_cmd_soap(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return node_cmd_import(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "hl7-send") == 0)
		return node_cmd_hl7_send(argc - 1, argv + 1);
	if (argc == 4 && strcmp(argv[1], "--check") == 0 && strcmp(argv[2], "-c") == 0)
		return check(argv[3]);
	if (argc == 3 && strcmp(argv[1], "-c") == 0)
		return node_run(argv[2]);
	fputs(usage, stderr);
	return 2;
}
