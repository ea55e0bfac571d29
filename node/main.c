/* node/main.c -- the hie-node program: daemon, --check, init, import. */
#include <stdio.h>
#include <string.h>

#include "node/daemon.h"

static const char usage[] =
    "usage: hie-node -c FILE                 run the node\n"
    "       hie-node --check -c FILE         validate a configuration\n"
    "       hie-node init DIR --name NAME --community urn:oid:... [--ca CA_DIR]\n"
    "                [--peer-port N] [--http-port N]\n"
    "       hie-node import -c FILE doc.xml... | DIR\n"
    "       hie-node soap sign -c FILE [--audience urn:oid:...] [--user NAME] [--no-assertion] IN.xml\n"
    "       hie-node soap verify -c FILE [--response] IN.xml\n"
    "       hie-node audit verify -c FILE | audit list -c FILE [-n LAST]\n";

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return node_cmd_init(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "audit") == 0)
		return node_cmd_audit(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "soap") == 0)
		return node_cmd_soap(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return node_cmd_import(argc - 1, argv + 1);
	if (argc == 4 && strcmp(argv[1], "--check") == 0 && strcmp(argv[2], "-c") == 0) {
		struct node_config cfg;
		if (node_config_load(argv[3], &cfg, stderr) != HIE_OK)
			return 1;
		printf("configuration OK\n");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "-c") == 0)
		return node_run(argv[2]);
	fputs(usage, stderr);
	return 2;
}
