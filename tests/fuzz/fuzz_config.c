/* tests/fuzz/fuzz_config.c -- the configuration and peer directory parsers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "node/config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char               path[] = "/tmp/hie-fuzz-config-XXXXXX";
	int                fd = mkstemp(path);
	struct node_config cfg;
	struct node_peers  peers;
	FILE              *devnull = fopen("/dev/null", "w");

	if (fd < 0 || devnull == NULL)
		abort();
	if (write(fd, data, size) != (ssize_t) size)
		abort();
	close(fd);
	node_config_load(path, &cfg, devnull);
	if (node_peers_load(path, "urn:oid:1.2.3", &peers, devnull) == HIE_OK)
		node_peers_free(&peers);
	fclose(devnull);
	unlink(path);
	return 0;
}
