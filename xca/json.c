/* xca/json.c -- a fan-out result as the JSON object hie-query prints. */
#include "xca/xca.h"

#define ADD(call)                        \
	do {                             \
		if ((e = (call)) != HIE_OK) \
			return e;        \
	} while (0)

static hie_err
kv(hie_buf *b, const char *sep, const char *key, const char *val)
{
	hie_err e;

	ADD(hie_buf_printf(b, "%s\"%s\":", sep, key));
	return hie_buf_json_str(b, val);
}

static hie_err
peer_json(hie_buf *b, const char *open, const struct xca_peer_result *p)
{
	hie_err e;

	ADD(kv(b, open, "name", p->name));
	ADD(kv(b, ",", "community", p->community));
	ADD(kv(b, ",", "status", xca_status_name(p->status)));
	ADD(hie_buf_printf(b, ",\"ms\":%lld,\"documents\":%zu", (long long) p->ms, p->documents));
	if (p->error[0] != '\0')
		ADD(kv(b, ",", "error", p->error));
	return hie_buf_addstr(b, "}");
}

static hie_err
docs_json(hie_buf *b, const struct reg_entry *v, size_t n)
{
	hie_err e;

	ADD(hie_buf_addstr(b, "\"documents\":["));
	for (size_t i = 0; i < n; i++) {
		const struct reg_entry *d = &v[i];
		ADD(kv(b, i ? ",{" : "{", "uniqueId", d->unique_id));
		ADD(kv(b, ",", "repositoryUniqueId", d->repository_id));
		ADD(kv(b, ",", "homeCommunityId", d->home_community));
		ADD(kv(b, ",", "typeCode", d->type_code));
		ADD(kv(b, ",", "typeDisplay", d->type_display));
		ADD(kv(b, ",", "title", d->title));
		ADD(kv(b, ",", "creationTime", d->creation_time));
		ADD(kv(b, ",", "confidentialityCode", d->confidentiality));
		ADD(kv(b, ",", "mimeType", d->mime_type));
		ADD(hie_buf_printf(b, ",\"size\":%llu", (unsigned long long) d->size));
		ADD(kv(b, ",", "hash", d->hash));
		ADD(hie_buf_addstr(b, "}"));
	}
	return hie_buf_addstr(b, "]");
}

hie_err
xca_result_json(const struct xca_result *res, hie_buf *b)
{
	hie_err e;

	ADD(kv(b, "{", "patient", res->patient));
	ADD(hie_buf_printf(b, ",\"ms\":%lld,\"peers\":[", (long long) res->ms));
	for (size_t i = 0; i < res->npeers; i++)
		ADD(peer_json(b, i ? ",{" : "{", &res->peers[i]));
	ADD(hie_buf_addstr(b, "],"));
	ADD(docs_json(b, res->docs.v, res->docs.n));
	return hie_buf_addstr(b, "}");
}

hie_err
xca_peer_json(const struct xca_peer_result *p, const struct reg_entry *docs, size_t ndocs, hie_buf *b)
{
	hie_err e;

	ADD(peer_json(b, "{\"peer\":{", p));
	ADD(hie_buf_addstr(b, ","));
	ADD(docs_json(b, docs, ndocs));
	return hie_buf_addstr(b, "}");
}
