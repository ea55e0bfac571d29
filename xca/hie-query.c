/*
 * xca/hie-query.c -- the clinician's and referral workflow's tool: asks its
 * own node (HTTP API) to query every peer, and prints what came back.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/hie.h"

#define MAX_RESPONSE (64u << 20)

static const char usage[] =
    "usage: hie-query -n NODE_ADDR --patient 'ID^^^&OID&ISO' [--type LOINC[,LOINC]]\n"
    "                 [--since YYYYMMDD] [--json] [--timeout SECONDS]\n"
    "  NODE_ADDR is the node's HTTP listener, e.g. 127.0.0.1:7480\n";

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	hie_buf *b = arg;
	return hie_buf_add(b, p, size * n) == HIE_OK ? size * n : 0;
}

static const char *
str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static long long
num(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static void
print_table(json_object *root)
{
	json_object *peers, *docs;

	json_object_object_get_ex(root, "peers", &peers);
	json_object_object_get_ex(root, "documents", &docs);
	printf("Patient %s: %zu documents from %zu peers in %lld ms\n\n", str(root, "patient"),
	    docs ? json_object_array_length(docs) : 0, peers ? json_object_array_length(peers) : 0,
	    num(root, "ms"));
	printf("%-16s %-44s %-8s %7s %5s  %s\n", "PEER", "COMMUNITY", "STATUS", "MS", "DOCS", "ERROR");
	for (size_t i = 0; peers && i < json_object_array_length(peers); i++) {
		json_object *p = json_object_array_get_idx(peers, i);
		printf("%-16s %-44s %-8s %7lld %5lld  %s\n", str(p, "name"), str(p, "community"), str(p, "status"),
		    num(p, "ms"), num(p, "documents"), str(p, "error"));
	}
	printf("\n%-14s %-10s %-36s %-44s %s\n", "DATE", "TYPE", "TITLE", "COMMUNITY", "UNIQUE ID");
	for (size_t i = 0; docs && i < json_object_array_length(docs); i++) {
		json_object *d = json_object_array_get_idx(docs, i);
		printf("%-14.14s %-10s %-36.36s %-44s %s\n", str(d, "creationTime"), str(d, "typeCode"), str(d, "title"),
		    str(d, "homeCommunityId"), str(d, "uniqueId"));
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "patient", required_argument, NULL, 'p' },
		{ "type", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	const char  *node = NULL, *patient = NULL, *type = NULL, *since = NULL;
	int          json = 0, ch, rc = 1;
	long         timeout = 60, status = 0;
	hie_buf      url, body;
	CURL        *curl;
	CURLcode     cc;
	char        *esc;
	json_object *root;

	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': node = optarg; break;
		case 'p': patient = optarg; break;
		case 't': type = optarg; break;
		case 's': since = optarg; break;
		case 'j': json = 1; break;
		case 'T': timeout = atol(optarg); break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (node == NULL || patient == NULL || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((curl = curl_easy_init()) == NULL)
		return 1;
	hie_buf_init(&url, 8192);
	hie_buf_init(&body, MAX_RESPONSE);
	esc = curl_easy_escape(curl, patient, 0);
	hie_buf_printf(&url, "%s%s/api/patients/%s/documents", strncmp(node, "http", 4) ? "http://" : "", node, esc);
	curl_free(esc);
	if (type != NULL || since != NULL) {
		char *t = type ? curl_easy_escape(curl, type, 0) : NULL;
		char *s = since ? curl_easy_escape(curl, since, 0) : NULL;
		hie_buf_printf(&url, "?%s%s%s%s%s", t ? "type=" : "", t ? t : "", t && s ? "&" : "", s ? "since=" : "",
		    s ? s : "");
		curl_free(t);
		curl_free(s);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
		fprintf(stderr, "hie-query: %s: %s\n", url.data, curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if ((root = json_tokener_parse(body.data ? body.data : "")) == NULL) {
		fprintf(stderr, "hie-query: node answered HTTP %ld with something that is not JSON\n", status);
		goto done;
	}
	if (status != 200) {
		fprintf(stderr, "hie-query: node refused the query (HTTP %ld): %s\n", status, str(root, "error"));
	} else {
		if (json)
			printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			print_table(root);
		rc = 0;
	}
	json_object_put(root);
done:
	hie_buf_free(&url);
	hie_buf_free(&body);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return rc;
}
