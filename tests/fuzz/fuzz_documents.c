/*
 * tests/fuzz/fuzz_documents.c -- what peers and hospitals send that is not
 * a request: C-CDA headers (import, ITI-41 later), ebRIM query responses
 * and retrieve responses (what the fan-out reads from peers).
 */
#include <stdint.h>
#include <stdlib.h>

#include "registry/registry.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int         ready;
	struct reg_entry   e;
	struct reg_result  res;
	struct reg_doc_ref ref;
	char               why[256], mime[64], *doc;
	size_t             len;
	xmlDoc            *d;

	if (!ready) {
		hie_xml_init();
		ready = 1;
	}
	reg_ccda_extract((const char *) data, size, NULL, "1.2.3.1", &e, why, sizeof(why));
	if (hie_xml_parse((const char *) data, size, NULL, &d) != HIE_OK)
		return 0;
	if (reg_ebrim_response_parse(xmlDocGetRootElement(d), 1000, &res, why, sizeof(why)) == HIE_OK)
		reg_result_free(&res);
	if (reg_retrieve_response_parse(xmlDocGetRootElement(d), 1 << 20, &ref, mime, sizeof(mime), &doc, &len, why,
	        sizeof(why)) == HIE_OK)
		free(doc);
	xmlFreeDoc(d);
	return 0;
}
