/*
 * xca/hie-query.c -- the clinician's and referral workflow's tool: asks its
 * own node (HTTP API) to query every peer, and prints what came back.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/hie.h"

#define MAX_RESPONSE (64u << 20)

static const char usage[] =
    "usage: hie-query -n NODE_ADDR --patient 'ID^^^&OID&ISO' [--discover]\n"
    "                 [--type LOINC[,LOINC]] [--since YYYYMMDD] [--until YYYYMMDD]\n"
    "                 [--confidentiality N[,R,V]] [--latest] [--retrieve DIR]\n"
    "                 [--refresh] [--forget] [--json] [--timeout SECONDS]\n"
    "                 [--stream] [--deadline SECONDS]\n"
    "                 [--user NAME] [--role SNOMED_CODE] [--purpose TREATMENT|...]\n"
    "  --discover      XCPD first: each peer is asked with its own id for the\n"
    "                  patient (found from the demographics in our MPI)\n"
    "  --type, --since, --until, --confidentiality  filters: document types\n"
    "                  (LOINC), created on or after / before a date, HL7\n"
    "                  confidentiality codes\n"
    "  --latest        only the newest matching document\n"
    "  --retrieve DIR  also fetch every listed document (ITI-39) into DIR,\n"
    "                  checking each against its SHA-1 from the registry\n"
    "  --refresh       ask the peers even if the node has a recent result\n"
    "                  for this query ([query] cache_ttl_s)\n"
    "  --forget        drop the node's cached results for the patient, and stop\n"
    "  --stream        print each peer's status and documents as it answers\n"
    "                  (peer ... lines; with --json the node's NDJSON lines),\n"
    "                  then the whole result as without it\n"
    "  --deadline S    one budget for everything: discovery, the query and\n"
    "                  --retrieve together get S seconds (the node's\n"
    "                  [query] overall_deadline_ms is the most it allows)\n"
    "  --user, --role, --purpose  who asks and why: they go into the signed\n"
    "                  XUA assertion each peer receives (default: role\n"
    "                  112247003 medical doctor, purpose TREATMENT)\n"
    "  NODE_ADDR is the node's HTTP listener, e.g. 127.0.0.1:7480\n"
    "  Referral: --type 18842-5 --latest --retrieve DIR fetches the newest\n"
    "  discharge summary from any peer.\n";

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	hie_buf *b = arg;
	return hie_buf_add(b, p, size * n) == HIE_OK ? size * n : 0;
}

static const char *str(json_object *o, const char *key);
static long long   num(json_object *o, const char *key);

/* --stream: the node's NDJSON answer, a line per peer as it finishes and
 * the whole result last; peer lines are printed as they come, the last
 * line is kept in body. */
struct stream {
	hie_buf line;
	hie_buf *body;
	int      json;
};

static void
stream_line(struct stream *st, const char *l, size_t len)
{
	json_object *o = json_tokener_parse(l), *p, *docs;

	if (o != NULL && json_object_object_get_ex(o, "peer", &p)) {
		if (st->json) {
			printf("%.*s\n", (int) len, l);
		} else {
			json_object_object_get_ex(o, "documents", &docs);
			printf("peer %s %s %lld ms, %zu documents%s%s\n", str(p, "name"), str(p, "status"), num(p, "ms"),
			    docs ? json_object_array_length(docs) : 0, str(p, "error")[0] ? ": " : "", str(p, "error"));
			for (size_t i = 0; docs && i < json_object_array_length(docs); i++) {
				json_object *d = json_object_array_get_idx(docs, i);
				printf("  %-14.14s %-10s %-36.36s %s\n", str(d, "creationTime"), str(d, "typeCode"),
				    str(d, "title"), str(d, "uniqueId"));
			}
		}
		fflush(stdout);
	} else {
		hie_buf_free(st->body);
		hie_buf_add(st->body, l, len);
	}
	json_object_put(o);
}

static size_t
on_stream(char *p, size_t size, size_t n, void *arg)
{
	struct stream *st = arg;
	size_t         len = size * n;

	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\n') {
			if (hie_buf_add(&st->line, &p[i], 1) != HIE_OK)
				return 0;
			continue;
		}
		if (st->line.len > 0)
			stream_line(st, st->line.data, st->line.len);
		st->line.len = 0;
	}
	return len;
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

/* --latest: the node lists documents newest first; keep the first. */
static void
keep_newest(json_object *root)
{
	json_object *docs;
	size_t       n;

	if (!json_object_object_get_ex(root, "documents", &docs) || (n = json_object_array_length(docs)) <= 1)
		return;
	json_object_array_del_idx(docs, 1, n - 1);
}

/* GETs url into body; returns the HTTP status or -1. */
static long
http_get(CURL *curl, const char *url, hie_buf *body)
{
	long     status = 0;
	CURLcode cc;

	hie_buf_free(body);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
		fprintf(stderr, "hie-query: %s: %s\n", url, curl_easy_strerror(cc));
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* A file name from a uniqueId: anything but [A-Za-z0-9.-] becomes '_'. */
static void
file_name(const char *uid, const char *mime, char *out, size_t cap)
{
	size_t n = 0;

	for (; *uid && n + 8 < cap; uid++)
		out[n++] = ((*uid >= 'a' && *uid <= 'z') || (*uid >= 'A' && *uid <= 'Z') || (*uid >= '0' && *uid <= '9') ||
		               *uid == '.' || *uid == '-')
		               ? *uid
		               : '_';
	snprintf(out + n, cap - n, "%s", strcmp(mime, "application/pdf") == 0 ? ".pdf" : strcmp(mime, "text/plain") == 0 ? ".txt" : ".xml");
}

/* --deadline: the budget's end (hie_now_ms clock; 0: none), and the
 * request headers to which what is left of it is added. */
static int64_t            deadline_at;
static struct curl_slist *base_headers;

/* Sets the headers of the next request: base_headers and, with a
 * deadline, X-HIE-Deadline-Ms with what is left.  0 when nothing is. */
static int
set_headers(CURL *curl, struct curl_slist **hs)
{
	curl_slist_free_all(*hs);
	*hs = NULL;
	for (struct curl_slist *h = base_headers; h != NULL; h = h->next)
		*hs = curl_slist_append(*hs, h->data);
	if (deadline_at != 0) {
		char    h[64];
		int64_t left = deadline_at - hie_now_ms();
		if (left <= 0)
			return 0;
		snprintf(h, sizeof(h), "X-HIE-Deadline-Ms: %lld", (long long) left);
		*hs = curl_slist_append(*hs, h);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *hs);
	return 1;
}

/* Fetches every document of the result into dir.  Returns the number that
 * failed. */
static int
retrieve_all(CURL *curl, const char *base, json_object *root, const char *dir)
{
	struct curl_slist *hs = NULL;

	json_object *docs;
	hie_buf      url, body;
	int          failed = 0;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "hie-query: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	json_object_object_get_ex(root, "documents", &docs);
	hie_buf_init(&body, MAX_RESPONSE);
	for (size_t i = 0; docs && i < json_object_array_length(docs); i++) {
		json_object *d = json_object_array_get_idx(docs, i);
		const char  *parts[3] = { str(d, "homeCommunityId"), str(d, "repositoryUniqueId"), str(d, "uniqueId") };
		char         name[300], path[4400], hash[41];
		long         status;

		if (!set_headers(curl, &hs)) {
			fprintf(stderr, "failed %s: the --deadline passed\n", parts[2]);
			failed++;
			continue;
		}
		hie_buf_init(&url, 8192);
		hie_buf_printf(&url, "%s/api/documents", base);
		for (int k = 0; k < 3; k++) {
			char *esc = curl_easy_escape(curl, parts[k], 0);
			hie_buf_printf(&url, "/%s", esc);
			curl_free(esc);
		}
		status = http_get(curl, url.data, &body);
		hie_buf_free(&url);
		if (status != 200) {
			json_object *err = json_tokener_parse(body.data ? body.data : "");
			fprintf(stderr, "failed %s: HTTP %ld %s\n", parts[2], status, err ? str(err, "error") : "");
			json_object_put(err);
			failed++;
			continue;
		}
		hie_sha1_hex(body.data ? body.data : "", body.len, hash);
		if (strcasecmp(hash, str(d, "hash")) != 0) {
			fprintf(stderr, "failed %s: content does not match the registered hash\n", parts[2]);
			failed++;
			continue;
		}
		file_name(parts[2], str(d, "mimeType"), name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (hie_write_file(path, body.data ? body.data : "", body.len, 0600) != HIE_OK) {
			fprintf(stderr, "failed %s: cannot write %s\n", parts[2], path);
			failed++;
			continue;
		}
		printf("retrieved %s %s %zu bytes -> %s\n", parts[2], str(d, "typeCode"), body.len, path);
	}
	hie_buf_free(&body);
	curl_slist_free_all(hs);
	return failed;
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
		{ "retrieve", required_argument, NULL, 'r' },
		{ "user", required_argument, NULL, 'u' },
		{ "role", required_argument, NULL, 'R' },
		{ "purpose", required_argument, NULL, 'P' },
		{ "until", required_argument, NULL, 'U' },
		{ "confidentiality", required_argument, NULL, 'C' },
		{ "latest", no_argument, NULL, 'L' },
		{ "discover", no_argument, NULL, 'D' },
		{ "refresh", no_argument, NULL, 'F' },
		{ "forget", no_argument, NULL, 'X' },
		{ "stream", no_argument, NULL, 'S' },
		{ "deadline", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	const char  *node = NULL, *patient = NULL, *type = NULL, *since = NULL, *retrieve = NULL;
	const char  *user = NULL, *role = NULL, *purpose = NULL, *until = NULL, *conf = NULL;
	int          latest = 0, discover = 0, refresh = 0, forget = 0, stream = 0;
	double       deadline = 0;
	struct stream st;
	struct curl_slist *headers = NULL;
	int          json = 0, ch, rc = 1;
	long         timeout = 60, status = 0;
	hie_buf      url, body, base;
	CURL        *curl;
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
		case 'r': retrieve = optarg; break;
		case 'u': user = optarg; break;
		case 'R': role = optarg; break;
		case 'P': purpose = optarg; break;
		case 'U': until = optarg; break;
		case 'C': conf = optarg; break;
		case 'L': latest = 1; break;
		case 'D': discover = 1; break;
		case 'F': refresh = 1; break;
		case 'X': forget = 1; break;
		case 'S': stream = 1; break;
		case 'E':
			if ((deadline = atof(optarg)) <= 0 || deadline > 3600) {
				fputs("hie-query: --deadline takes seconds, more than 0 and at most 3600\n", stderr);
				return 2;
			}
			break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (node == NULL || patient == NULL || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (deadline > 0)
		deadline_at = hie_now_ms() + (int64_t) (deadline * 1000);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((curl = curl_easy_init()) == NULL)
		return 1;
	hie_buf_init(&url, 8192);
	hie_buf_init(&base, 8192);
	hie_buf_init(&body, MAX_RESPONSE);
	hie_buf_printf(&base, "%s%s", strncmp(node, "http", 4) ? "http://" : "", node);
	esc = curl_easy_escape(curl, patient, 0);
	hie_buf_printf(&url, "%s/api/patients/%s/documents", base.data, esc);
	curl_free(esc);
	{
		const char *const names[] = { "type", "since", "until", "confidentiality", "discover" };
		const char *const vals[] = { type, since, until, conf, discover ? "1" : NULL };
		char              sep = '?';
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char *v;
			if (vals[i] == NULL || forget)
				continue;
			v = curl_easy_escape(curl, vals[i], 0);
			hie_buf_printf(&url, "%c%s=%s", sep, names[i], v);
			curl_free(v);
			sep = '&';
		}
	}
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
	{
		const char *const vals[] = { user, role, purpose };
		const char *const names[] = { "X-HIE-User", "X-HIE-Role", "X-HIE-Purpose" };
		for (int i = 0; i < 3; i++) {
			char h[400];
			if (vals[i] == NULL)
				continue;
			snprintf(h, sizeof(h), "%s: %s", names[i], vals[i]);
			headers = curl_slist_append(headers, h);
		}
		if (refresh)
			headers = curl_slist_append(headers, "Cache-Control: no-cache");
		base_headers = headers;
		headers = NULL;
		if (stream && !forget)
			headers = curl_slist_append(headers, "Accept: application/x-ndjson");
		for (struct curl_slist *h = base_headers; h != NULL; h = h->next)
			headers = curl_slist_append(headers, h->data);
		if (deadline_at != 0) {
			char h[64];
			snprintf(h, sizeof(h), "X-HIE-Deadline-Ms: %lld", (long long) (deadline * 1000));
			headers = curl_slist_append(headers, h);
		}
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	}
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (forget) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
		if ((status = http_get(curl, url.data, &body)) == 200) {
			printf("%s\n", body.data ? body.data : "");
			rc = 0;
		} else if (status > 0) {
			fprintf(stderr, "hie-query: node answered HTTP %ld: %s\n", status, body.data ? body.data : "");
		}
		goto done;
	}
	if (stream) {
		/* As http_get, with the lines handled as they come. */
		CURLcode cc;
		hie_buf_init(&st.line, MAX_RESPONSE);
		st.body = &body;
		st.json = json;
		curl_easy_setopt(curl, CURLOPT_URL, url.data);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_stream);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &st);
		if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
			fprintf(stderr, "hie-query: %s: %s\n", url.data, curl_easy_strerror(cc));
			hie_buf_free(&st.line);
			goto done;
		}
		if (st.line.len > 0) /* a last line without its newline */
			stream_line(&st, st.line.data, st.line.len);
		hie_buf_free(&st.line);
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	} else if ((status = http_get(curl, url.data, &body)) < 0) {
		goto done;
	}
	if ((root = json_tokener_parse(body.data ? body.data : "")) == NULL) {
		fprintf(stderr, "hie-query: node answered HTTP %ld with something that is not JSON\n", status);
		goto done;
	}
	if (status != 200 || (json_object_object_get_ex(root, "error", NULL) && !json_object_object_get_ex(root, "peers", NULL))) {
		/* A streamed refusal comes as a 200 whose only line is the error. */
		fprintf(stderr, "hie-query: node refused the query (HTTP %ld): %s\n", status, str(root, "error"));
	} else {
		if (latest)
			keep_newest(root);
		if (json)
			printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			print_table(root);
		rc = 0;
		if (retrieve != NULL && retrieve_all(curl, base.data, root, retrieve) != 0)
			rc = 1;
	}
	json_object_put(root);
done:
	hie_buf_free(&url);
	hie_buf_free(&base);
	hie_buf_free(&body);
	curl_slist_free_all(headers);
	curl_slist_free_all(base_headers);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return rc;
}
