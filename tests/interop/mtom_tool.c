/*
 * tests/interop/mtom_tool.c -- the C side of tests/interop_mtom.sh.
 *
 *   mtom_tool parse CTYPE_FILE BODY_FILE
 *       parses with mtom_parse and prints, one per line:
 *         root <content-id>
 *         part <content-id> <length> <sha1>      (every part, in order)
 *         doc <length> <sha1>                    (every Document element of the
 *                                                 root XML, via mtom_element_bytes)
 *   mtom_tool build OUTDIR ACTION FILE:TYPE...
 *       builds a message whose root has one Document element with an
 *       xop:Include per file; writes OUTDIR/ctype, OUTDIR/body and
 *       OUTDIR/ids ("<content-id> <file>" per line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/mtom.h"
#include "node/xml.h"

#define MAX (64u << 20)

static int
die(const char *what, hie_err e)
{
	fprintf(stderr, "mtom_tool: %s: %s\n", what, hie_strerror(e));
	return 1;
}

static void
walk_docs(const struct mtom_msg *m, xmlNode *n)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *) n->name, "Document") == 0) {
			char  *b, h[41];
			size_t len;
			hie_err e = mtom_element_bytes(m, n, MAX, &b, &len);
			if (e != HIE_OK) {
				printf("doc error %s\n", hie_errname(e));
				continue;
			}
			hie_sha1_hex(b, len, h);
			printf("doc %zu %s\n", len, h);
			free(b);
		} else {
			walk_docs(m, n->children);
		}
	}
}

static int
parse(const char *ctfile, const char *bodyfile)
{
	struct mtom_limits lim = { .max_total = MAX };
	struct mtom_msg    m;
	char              *ct, *body, why[256], h[41];
	size_t             ctlen, len;
	xmlDoc            *doc;
	hie_err            e;

	if ((e = hie_read_file(ctfile, 4096, &ct, &ctlen)) != HIE_OK)
		return die(ctfile, e);
	ct[strcspn(ct, "\r\n")] = '\0';
	if ((e = hie_read_file(bodyfile, MAX, &body, &len)) != HIE_OK)
		return die(bodyfile, e);
	if ((e = mtom_parse(ct, body, len, &lim, &m, why, sizeof(why))) != HIE_OK) {
		fprintf(stderr, "mtom_tool: parse: %s (%s)\n", hie_errname(e), why);
		return 1;
	}
	printf("root %s\n", m.parts[m.root].content_id);
	for (size_t i = 0; i < m.n; i++) {
		hie_sha1_hex(m.parts[i].data, m.parts[i].len, h);
		printf("part %s %zu %s\n", m.parts[i].content_id, m.parts[i].len, h);
	}
	if ((e = hie_xml_parse(m.parts[m.root].data, m.parts[m.root].len, NULL, &doc)) != HIE_OK)
		return die("root XML", e);
	walk_docs(&m, xmlDocGetRootElement(doc));
	xmlFreeDoc(doc);
	mtom_free(&m);
	free(ct);
	free(body);
	return 0;
}

static int
build(const char *dir, const char *action, int n, char **files)
{
	struct mtom_part *att = calloc((size_t) n, sizeof(*att));
	char            (*ids)[MTOM_CONTENT_ID_SIZE] = calloc((size_t) n, sizeof(*ids));
	char             *xml, ctype[1024], path[4096];
	size_t            xlen;
	xmlDoc           *doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode          *env = xmlNewNode(NULL, BAD_CAST "Envelope"), *body;
	xmlNs            *ns = xmlNewNs(env, BAD_CAST "http://www.w3.org/2003/05/soap-envelope", BAD_CAST "s");
	hie_buf           out;
	FILE             *f;
	hie_err           e;

	xmlSetNs(env, ns);
	xmlDocSetRootElement(doc, env);
	body = xmlNewChild(env, ns, BAD_CAST "Body", NULL);
	for (int i = 0; i < n; i++) {
		char  *colon = strrchr(files[i], ':'), *data;
		size_t len;
		if (colon == NULL)
			return die(files[i], HIE_EINVAL);
		*colon = '\0';
		if ((e = hie_read_file(files[i], MAX, &data, &len)) != HIE_OK)
			return die(files[i], e);
		mtom_content_id(ids[i], sizeof(ids[i]));
		att[i] = (struct mtom_part) { ids[i], colon + 1, data, len };
		if ((e = mtom_add_include(xmlNewChild(body, NULL, BAD_CAST "Document", NULL), ids[i])) != HIE_OK)
			return die("xop:Include", e);
	}
	if ((e = hie_xml_dump(doc, &xml, &xlen)) != HIE_OK)
		return die("dump", e);
	hie_buf_init(&out, MAX);
	if ((e = mtom_build(&out, ctype, sizeof(ctype), action, xml, xlen, att, (size_t) n)) != HIE_OK)
		return die("build", e);
	snprintf(path, sizeof(path), "%s/ctype", dir);
	if ((e = hie_write_file(path, ctype, strlen(ctype), 0644)) != HIE_OK)
		return die(path, e);
	snprintf(path, sizeof(path), "%s/body", dir);
	if ((e = hie_write_file(path, out.data, out.len, 0644)) != HIE_OK)
		return die(path, e);
	snprintf(path, sizeof(path), "%s/ids", dir);
	if ((f = fopen(path, "w")) == NULL)
		return die(path, HIE_EIO);
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s %s\n", ids[i], files[i]);
		free((char *) att[i].data);
	}
	fclose(f);
	hie_buf_free(&out);
	free(xml);
	free(att);
	free(ids);
	xmlFreeDoc(doc);
	return 0;
}

int
main(int argc, char **argv)
{
	int rc;

	hie_xml_init();
	if (argc == 4 && strcmp(argv[1], "parse") == 0)
		rc = parse(argv[2], argv[3]);
	else if (argc >= 4 && strcmp(argv[1], "build") == 0)
		rc = build(argv[2], argv[3], argc - 4, argv + 4);
	else {
		fprintf(stderr, "usage: mtom_tool parse CTYPE_FILE BODY_FILE | build OUTDIR ACTION FILE:TYPE...\n");
		rc = 2;
	}
	hie_xml_shutdown();
	return rc;
}
