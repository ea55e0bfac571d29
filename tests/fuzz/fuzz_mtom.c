/* tests/fuzz/fuzz_mtom.c -- the MTOM multipart parser and what reads it:
 * the input's first line is the HTTP Content-Type, the rest the body.  A
 * parsed message is then used as a handler would: every part looked up by
 * its id, the root parsed as XML and every element resolved through
 * mtom_element_bytes (inline base64 or xop:Include). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/mtom.h"
#include "node/xml.h"

static void
walk(const struct mtom_msg *m, const xmlNode *n, int budget)
{
	for (; n != NULL && budget > 0; n = n->next, budget--) {
		char  *out;
		size_t len;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (mtom_element_bytes(m, n, 1 << 16, &out, &len) == HIE_OK)
			free(out);
		walk(m, n->children, budget / 2);
	}
}

/* Ids are unique, so every part is found by a cid: URL that %-escapes
 * every byte of its id (a bare id may itself look like "cid:..."). */
static int
finds_itself(const struct mtom_msg *m, size_t i)
{
	const char *id = m->parts[i].content_id;
	size_t      n = strlen(id);
	char       *url;
	int         ok;

	if (n == 0)
		return 1;
	if ((url = malloc(4 + 3 * n + 1)) == NULL)
		return 1;
	memcpy(url, "cid:", 4);
	for (size_t k = 0; k < n; k++)
		snprintf(url + 4 + 3 * k, 4, "%%%02X", (unsigned char) id[k]);
	ok = mtom_find(m, url) == &m->parts[i];
	free(url);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int               init;
	const struct mtom_limits lim = { .max_parts = 64, .max_header_bytes = 1024, .max_total = 1 << 20 };
	const char              *nl = memchr(data, '\n', size);
	char                    *ct, *body, why[128];
	struct mtom_msg          m;
	size_t                   ctlen, blen;

	if (!init) {
		hie_xml_init();
		init = 1;
	}
	if (nl == NULL)
		return 0;
	ctlen = (size_t) (nl - (const char *) data);
	if ((ct = malloc(ctlen + 1)) == NULL)
		return 0;
	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';
	/* The body is copied into a block of exactly its size so that ASan
	 * catches a read one past its end. */
	blen = size - ctlen - 1;
	if ((body = malloc(blen > 0 ? blen : 1)) == NULL) {
		free(ct);
		return 0;
	}
	memcpy(body, nl + 1, blen);
	if (mtom_parse(ct, body, blen, &lim, &m, why, sizeof(why)) == HIE_OK) {
		const struct mtom_part *root = mtom_root(&m);
		xmlDoc                 *doc;

		for (size_t i = 0; i < m.n; i++)
			if (!finds_itself(&m, i))
				abort();
		if (hie_xml_parse(root->data, root->len, NULL, &doc) == HIE_OK) {
			walk(&m, xmlDocGetRootElement(doc), 256);
			xmlFreeDoc(doc);
		}
		mtom_free(&m);
	}
	free(body);
	free(ct);
	return 0;
}
