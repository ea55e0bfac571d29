/* certs/hie-certs.c -- the state HIE admin's tool for the network's trust. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/cert.h"
#include "certs/directory.h"

static const char usage[] =
    "usage: hie-certs COMMAND [options]\n"
    "  init-ca  --ca DIR [--name NAME] [--days N]\n"
    "           create the network CA (ca.key 0600, ca.crt, crl.pem)\n"
    "  issue    --ca DIR --name NODE --community urn:oid:... --out DIR [--days N]\n"
    "           new node key, CSR and certificate in one step (demo, tests)\n"
    "  request  --name NODE --community urn:oid:... --out DIR\n"
    "           joining hospital: key and CSR made locally; send only node.csr\n"
    "  sign     --ca DIR --csr FILE --out FILE [--days N]\n"
    "           admin: sign a hospital's CSR\n"
    "  rotate   --ca DIR --node DIR [--days N]\n"
    "           new key and certificate for a node directory (old kept as *.old);\n"
    "           then SIGHUP the node\n"
    "  revoke   --ca DIR --cert FILE      record a certificate as revoked\n"
    "  crl      --ca DIR [--out FILE] [--days N]\n"
    "           write the CRL listing every revoked certificate\n"
    "  verify   --ca-cert FILE [--crl FILE] [--community urn:oid:...] --cert FILE\n"
    "           explain whether a certificate is trusted (exit 0 trusted, 1 not)\n"
    "  directory add    --file FILE --ca DIR --name NODE --community urn:oid:... --cert FILE\n"
    "                   [--address tls+tcp://host:port] [--http URL]\n"
    "           add a member, or list one more certificate for it (rotation)\n"
    "  directory remove --file FILE --name NODE [--cert FILE]\n"
    "           remove a member, or only one of its certificates\n"
    "  directory sign   --file FILE --ca DIR [--out FILE]\n"
    "           sign with the CA key (serial + 1); nodes accept only this\n"
    "  directory verify --file FILE --ca-cert FILE   check the admin signature\n"
    "  directory show   --file FILE                  list the members\n";

struct args {
	const char *ca, *name, *community, *out, *csr, *cert, *ca_cert, *crl, *node, *file, *address, *http;
	int         days;
};

static int
parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "community", required_argument, NULL, 'm' },
		{ "out", required_argument, NULL, 'o' },
		{ "csr", required_argument, NULL, 'r' },
		{ "cert", required_argument, NULL, 'c' },
		{ "ca-cert", required_argument, NULL, 'A' },
		{ "crl", required_argument, NULL, 'l' },
		{ "days", required_argument, NULL, 'd' },
		{ "node", required_argument, NULL, 'N' },
		{ "file", required_argument, NULL, 'f' },
		{ "address", required_argument, NULL, 'D' },
		{ "http", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(a, 0, sizeof(*a));
	/* "directory SUB" takes its options after the sub-command. */
	optind = strcmp(argv[1], "directory") == 0 ? 3 : 2;
	if (optind > argc)
		return -1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': a->ca = optarg; break;
		case 'n': a->name = optarg; break;
		case 'm': a->community = optarg; break;
		case 'o': a->out = optarg; break;
		case 'r': a->csr = optarg; break;
		case 'c': a->cert = optarg; break;
		case 'A': a->ca_cert = optarg; break;
		case 'l': a->crl = optarg; break;
		case 'd': a->days = atoi(optarg); break;
		case 'N': a->node = optarg; break;
		case 'f': a->file = optarg; break;
		case 'D': a->address = optarg; break;
		case 'H': a->http = optarg; break;
		default: return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

static int
need(const char *v, const char *opt)
{
	if (v == NULL) {
		fprintf(stderr, "hie-certs: %s is required\n", opt);
		return 0;
	}
	return 1;
}

static int
done(hie_err e, const char *what, const char *detail)
{
	if (e != HIE_OK) {
		fprintf(stderr, "hie-certs: %s: %s\n", what, hie_strerror(e));
		return 1;
	}
	if (detail != NULL)
		printf("%s\n", detail);
	return 0;
}

static int
directory(const char *sub, const struct args *a)
{
	char    why[600];
	hie_err e;

	if (!need(a->file, "--file"))
		return 2;
	if (strcmp(sub, "add") == 0) {
		if (!need(a->ca, "--ca") || !need(a->name, "--name") || !need(a->community, "--community") ||
		    !need(a->cert, "--cert"))
			return 2;
		e = cert_directory_add(a->file, a->ca, a->name, a->community, a->address, a->http, a->cert, why, sizeof(why));
		if (e == HIE_OK)
			snprintf(why, sizeof(why), "%s listed; run `hie-certs directory sign` and give the file to every node",
			    a->name);
	} else if (strcmp(sub, "remove") == 0) {
		if (!need(a->name, "--name"))
			return 2;
		e = cert_directory_remove(a->file, a->name, a->cert, why, sizeof(why));
		if (e == HIE_OK)
			snprintf(why, sizeof(why), "removed; run `hie-certs directory sign`");
	} else if (strcmp(sub, "sign") == 0) {
		if (!need(a->ca, "--ca"))
			return 2;
		e = cert_directory_sign(a->file, a->ca, a->out, why, sizeof(why));
	} else if (strcmp(sub, "verify") == 0) {
		if (!need(a->ca_cert, "--ca-cert"))
			return 2;
		if ((e = cert_directory_verify(a->file, a->ca_cert, stdout, why, sizeof(why))) == HIE_OK)
			return 0;
		printf("%s: refused: %s\n", a->file, why);
		return 1;
	} else if (strcmp(sub, "show") == 0) {
		if ((e = cert_directory_show(a->file, stdout, why, sizeof(why))) == HIE_OK)
			return 0;
	} else {
		fputs(usage, stderr);
		return 2;
	}
	if (e != HIE_OK) {
		fprintf(stderr, "hie-certs: directory %s: %s\n", sub, why);
		return 1;
	}
	printf("%s\n", why);
	return 0;
}

int
main(int argc, char **argv)
{
	struct args a;
	const char *cmd;
	char        msg[12000];

	if (argc < 2 || parse(argc, argv, &a) != 0) {
		fputs(usage, stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "init-ca") == 0) {
		if (!need(a.ca, "--ca"))
			return 2;
		snprintf(msg, sizeof(msg), "CA created in %s (ca.crt goes to every node)", a.ca);
		return done(cert_ca_init(a.ca, a.name ? a.name : "hienode network CA", a.days ? a.days : 3650),
		    "init-ca", msg);
	}
	if (strcmp(cmd, "issue") == 0) {
		if (!need(a.ca, "--ca") || !need(a.name, "--name") || !need(a.community, "--community") ||
		    !need(a.out, "--out"))
			return 2;
		snprintf(msg, sizeof(msg), "issued %s (%s) into %s", a.name, a.community, a.out);
		return done(cert_issue(a.ca, a.name, a.community, a.days ? a.days : 397, a.out), "issue", msg);
	}
	if (strcmp(cmd, "request") == 0) {
		char key[4096], csr[4096];
		hie_err e;
		if (!need(a.name, "--name") || !need(a.community, "--community") || !need(a.out, "--out"))
			return 2;
		snprintf(key, sizeof(key), "%s/node.key", a.out);
		snprintf(csr, sizeof(csr), "%s/node.csr", a.out);
		e = cert_key_generate(key);
		if (e == HIE_OK)
			e = cert_csr_create(key, a.name, a.community, csr);
		snprintf(msg, sizeof(msg), "wrote %s (keep it) and %s (send it to the HIE admin)", key, csr);
		return done(e, "request", msg);
	}
	if (strcmp(cmd, "sign") == 0) {
		if (!need(a.ca, "--ca") || !need(a.csr, "--csr") || !need(a.out, "--out"))
			return 2;
		snprintf(msg, sizeof(msg), "signed %s", a.out);
		return done(cert_csr_sign(a.ca, a.csr, a.days ? a.days : 397, a.out), "sign", msg);
	}
	if (strcmp(cmd, "rotate") == 0) {
		if (!need(a.ca, "--ca") || !need(a.node, "--node"))
			return 2;
		snprintf(msg, sizeof(msg), "rotated %s/node.crt (old pair kept as node.key.old, node.crt.old); "
		                           "send the node SIGHUP", a.node);
		return done(cert_rotate(a.ca, a.node, a.days ? a.days : 397), "rotate", msg);
	}
	if (strcmp(cmd, "revoke") == 0) {
		if (!need(a.ca, "--ca") || !need(a.cert, "--cert"))
			return 2;
		return done(cert_revoke(a.ca, a.cert), "revoke",
		    "revoked; run `hie-certs crl` and give the CRL to every node");
	}
	if (strcmp(cmd, "crl") == 0) {
		if (!need(a.ca, "--ca"))
			return 2;
		return done(cert_crl_write(a.ca, a.days ? a.days : 30, a.out), "crl", "CRL written");
	}
	if (strcmp(cmd, "verify") == 0) {
		char    why[512];
		hie_err e;
		if (!need(a.ca_cert, "--ca-cert") || !need(a.cert, "--cert"))
			return 2;
		e = cert_verify(a.ca_cert, a.crl, a.cert, a.community, why, sizeof(why));
		printf("%s: %s\n", a.cert, e == HIE_OK ? "trusted" : why);
		return e == HIE_OK ? 0 : 1;
	}
	if (strcmp(cmd, "directory") == 0)
		return directory(argv[2], &a);
	fputs(usage, stderr);
	return 2;
}
