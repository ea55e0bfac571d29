/*
 * node/init.c -- `hie-node init`: how a hospital starts.  Writes a working
 * commented config, a private key (0600) and a CSR; with --ca (demo, tests)
 * the certificate is signed at once.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs/cert.h"
#include "node/daemon.h"

static const char peers_template[] =
    "; Unsigned peer list (--unsigned-peers): the other members of the\n"
    "; network, one section each; read only while [peers] signed_directory is\n"
    "; empty.  Reloaded on SIGHUP.  Example:\n"
    ";\n"
    "; [hospital-b]\n"
    "; community = urn:oid:1.3.6.1.4.1.21367.13.20.2000\n"
    "; address = tls+tcp://hie.hospital-b.example:7400\n";

static int
port_arg(const char *s, int *out)
{
	char *end;
	long  v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return 0;
	*out = (int) v;
	return 1;
}

int
node_cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "community", required_argument, NULL, 'm' },
		{ "ca", required_argument, NULL, 'a' },
		{ "peer-port", required_argument, NULL, 'p' },
		{ "http-port", required_argument, NULL, 'h' },
		{ "mllp-port", required_argument, NULL, 'l' },
		{ "unsigned-peers", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *community = NULL, *ca = NULL, *dir;
	char        path[4096], key[4096], csr[4096], crt[4096], cacopy[4096], src[4096];
	/* MLLP stays off unless asked for: any port derived from the others
	 * would collide with layouts already in use (tests put the next
	 * node's peer port at http + 1). */
	int         ch, peer_port = 7400, http_port = 7480, mllp_port = 0, with_crl = 0, unsigned_peers = 0;
	hie_err     e;
	struct node_new_config cfg;

	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: hie-node init DIR --name NAME --community urn:oid:... [--ca CA_DIR]\n"
		                "                     [--peer-port N] [--http-port N] [--mllp-port N] [--unsigned-peers]\n");
		return 2;
	}
	dir = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': name = optarg; break;
		case 'm': community = optarg; break;
		case 'a': ca = optarg; break;
		case 'p':
			if (!port_arg(optarg, &peer_port)) {
				fprintf(stderr, "hie-node init: --peer-port must be 1..65535\n");
				return 2;
			}
			break;
		case 'h':
			if (!port_arg(optarg, &http_port)) {
				fprintf(stderr, "hie-node init: --http-port must be 1..65535\n");
				return 2;
			}
			break;
		case 'l':
			if (!port_arg(optarg, &mllp_port)) {
				fprintf(stderr, "hie-node init: --mllp-port must be 1..65535\n");
				return 2;
			}
			break;
		case 'u': unsigned_peers = 1; break;
		default: return 2;
		}
	}
	if (name == NULL || !cert_name_ok(name)) {
		fprintf(stderr, "hie-node init: --name is required: letters, digits, '-' and '.'\n");
		return 2;
	}
	if (community == NULL || !node_is_urn_oid(community)) {
		fprintf(stderr, "hie-node init: --community is required: urn:oid: followed by an OID\n");
		return 2;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "hie-node init: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/hie-node.ini", dir);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "hie-node init: %s already exists; not overwriting a node\n", path);
		return 1;
	}
	snprintf(key, sizeof(key), "%s/node.key", dir);
	snprintf(csr, sizeof(csr), "%s/node.csr", dir);
	snprintf(crt, sizeof(crt), "%s/node.crt", dir);
	snprintf(cacopy, sizeof(cacopy), "%s/ca.crt", dir);
	if ((e = cert_key_generate(key)) != HIE_OK || (e = cert_csr_create(key, name, community, csr)) != HIE_OK) {
		fprintf(stderr, "hie-node init: key and CSR: %s\n", hie_strerror(e));
		return 1;
	}
	if (ca != NULL) {
		char  *pem;
		size_t len;
		snprintf(src, sizeof(src), "%s/ca.crt", ca);
		if ((e = cert_csr_sign(ca, csr, 397, crt)) != HIE_OK ||
		    (e = hie_read_file(src, 1 << 20, &pem, &len)) != HIE_OK) {
			fprintf(stderr, "hie-node init: signing with CA %s: %s\n", ca, hie_strerror(e));
			return 1;
		}
		e = hie_write_file(cacopy, pem, len, 0644);
		free(pem);
		/* The CA's current CRL too, so revocations reach this node on
		 * SIGHUP once the admin hands out a new crl.pem. */
		snprintf(src, sizeof(src), "%s/crl.pem", ca);
		if (e == HIE_OK && (e = hie_read_file(src, 1 << 20, &pem, &len)) == HIE_OK) {
			snprintf(src, sizeof(src), "%s/crl.pem", dir);
			e = hie_write_file(src, pem, len, 0644);
			free(pem);
			with_crl = 1;
		}
		if (e != HIE_OK) {
			fprintf(stderr, "hie-node init: copying the CA certificate and CRL: %s\n", hie_strerror(e));
			return 1;
		}
	}
	/* By default no peer list of the node's own: the config names the
	 * signed directory the admin sends with the certificate, so a joining
	 * node trusts exactly the members the network lists.  --unsigned-peers
	 * (tests, a node on its own) writes an empty peers.ini instead. */
	cfg.name = name;
	cfg.community = community;
	cfg.peer_port = peer_port;
	cfg.http_port = http_port;
	cfg.mllp_port = mllp_port;
	cfg.crl = with_crl ? "crl.pem" : "";
	cfg.signed_directory = unsigned_peers ? "" : "directory.signed";
	snprintf(src, sizeof(src), "%s/peers.ini", dir);
	if ((unsigned_peers && (e = hie_write_file(src, peers_template, sizeof(peers_template) - 1, 0644)) != HIE_OK) ||
	    (e = node_config_write_init(path, &cfg)) != HIE_OK) {
		fprintf(stderr, "hie-node init: writing config: %s\n", hie_strerror(e));
		return 1;
	}
	printf("node %s (%s) initialised in %s\n", name, community, dir);
	if (ca == NULL)
		printf("next: send %s to your HIE admin; put the node.crt, ca.crt%s\n"
		       "      you get back into %s\n", csr, unsigned_peers ? "" : " and directory.signed", dir);
	else if (!unsigned_peers)
		printf("next: the HIE admin lists this node (hie-certs directory add ... --cert %s),\n"
		       "      signs the directory and puts it in %s/directory.signed\n", crt, dir);
	printf("start it with: hie-node -c %s\n", path);
	return 0;
}
