/*
 * node/consent_http.c -- the consent JSON API:
 *   GET  /api/consent/{cx}   the patient's policy (or the network default)
 *   POST /api/consent/{cx}   sets it; body {"policy":"permit|deny", "from":
 *        "YYYY-MM-DD", "until": ..., "emergency": bool, "restricted": bool,
 *        "purposes": "TREATMENT,..."}; X-HIE-User names who records it.
 *   DELETE /api/consent/{cx} back to the network default.
 * Every change is a "consent-change" audit record; a change that cannot be
 * audited is not made (503), as for transactions.  The HTTP listener has
 * no login of its own (loopback or an authenticating reverse proxy).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/consent.h"
#include "node/daemon.h"


static int
hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s into out[cap]; 0 on a bad escape, a control
 * character or no room. */
static int
decode(const char *s, char *out, size_t cap)
{
	size_t k = 0;
	for (; *s != '\0' && *s != '?'; s++) {
		int c = (unsigned char) *s;
		if (c == '%') {
			int h = hex(s[1]), l = h < 0 ? -1 : hex(s[2]);
			if (l < 0)
				return 0;
			c = h * 16 + l;
			s += 2;
		}
		if (c < 0x20 || k + 1 >= cap)
			return 0;
		out[k++] = (char) c;
	}
	out[k] = '\0';
	return k > 0;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
	                                                                                        : NULL;
}

static int
jbool(json_object *o, const char *key, int def)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v)
	                                                                                         : def;
}

static hie_err
audit_change(struct node *n, const char *rid, const char *what, const struct consent_rule *r)
{
	hie_buf            b;
	hie_err            e;
	struct audit_event ev = { .event = "consent-change", .role = "node", .outcome = AUDIT_SUCCESS, .rid = rid,
		.source = n->cfg.community, .user = r->by, .patient = r->patient, .local = n->cfg.community, .action = "U" };

	hie_buf_init(&b, 8192);
	if ((e = hie_buf_printf(&b, "%s ", what)) == HIE_OK && (e = consent_rule_json(r, &b)) == HIE_OK) {
		ev.detail = b.data;
		e = audit_record(n->audit, &ev);
	}
	hie_buf_free(&b);
	return e;
}

void
node_http_consent(nng_aio *aio)
{
	struct node        *n = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
	nng_http_req       *req = nng_aio_get_input(aio, 0);
	const char         *uri = nng_http_req_get_uri(req), *method = nng_http_req_get_method(req);
	const char         *user = nng_http_req_get_header(req, "X-HIE-User");
	struct consent_rule r;
	char                rid[33], why[200];
	hie_buf             b;
	hie_err             e;

	hie_request_id(rid);
	memset(&r, 0, sizeof(r));
	if (strncmp(uri, "/api/consent/", 13) != 0 || !decode(uri + 13, r.patient, sizeof(r.patient))) {
		node_http_reply_error(aio, 404, "use /api/consent/{patient id, percent-encoded}");
		return;
	}
	hie_buf_init(&b, 8192);
	if (strcmp(method, "GET") == 0) {
		e = consent_get(n->consent, r.patient, &r);
		if (e == HIE_ENOTFOUND) {
			hie_buf_addstr(&b, "{\"patient\":");
			hie_buf_json_str(&b, r.patient);
			hie_buf_printf(&b, ",\"policy\":\"%s\",\"default\":true}", n->cfg.consent_default);
			node_http_reply(aio, 200, "application/json", b.data, b.len);
		} else if (e == HIE_OK && consent_rule_json(&r, &b) == HIE_OK) {
			node_http_reply(aio, 200, "application/json", b.data, b.len);
		} else {
			node_http_reply_error(aio, 500, hie_strerror(e));
		}
		hie_buf_free(&b);
		return;
	}
	hie_buf_free(&b);
	if (strcmp(method, "POST") != 0 && strcmp(method, "DELETE") != 0) {
		node_http_reply_error(aio, 405, "GET, POST or DELETE");
		return;
	}
	if (user == NULL || user[0] == '\0' || hie_strlcpy(r.by, user, sizeof(r.by)) != HIE_OK) {
		node_http_reply_error(aio, 400, "X-HIE-User must name who records the change");
		return;
	}
	if (!audit_ready(n->audit)) {
		node_http_reply_error(aio, 503, "audit trail unavailable: consent cannot be changed now");
		return;
	}
	if (strcmp(method, "DELETE") == 0) {
		struct consent_rule old;
		if ((e = consent_get(n->consent, r.patient, &old)) == HIE_OK && (e = consent_clear(n->consent, r.patient)) == HIE_OK) {
			hie_strlcpy(old.by, r.by, sizeof(old.by));
			audit_change(n, rid, "cleared", &old);
			hie_log(HIE_LOG_INFO, "http", "HIE-CONSENT", rid, "consent cleared by \"%s\"", r.by);
			hie_buf_init(&b, 256);
			hie_buf_addstr(&b, "{\"cleared\":true}");
			node_http_reply(aio, 200, "application/json", b.data, b.len);
			hie_buf_free(&b);
			return;
		}
		node_http_reply_error(aio, e == HIE_ENOTFOUND ? 404 : 500, e == HIE_ENOTFOUND ? "no policy for that patient" : hie_strerror(e));
		return;
	}
	{
		void        *body;
		size_t       len;
		json_tokener *tok = json_tokener_new();
		json_object  *o;
		const char   *s;

		nng_http_req_get_data(req, &body, &len);
		o = tok != NULL && len > 0 && len < 65536 ? json_tokener_parse_ex(tok, body, (int) len) : NULL;
		json_tokener_free(tok);
		if (o == NULL || !json_object_is_type(o, json_type_object) || (s = jstr(o, "policy")) == NULL ||
		    consent_policy_parse(s, &r.policy) != HIE_OK) {
			json_object_put(o);
			node_http_reply_error(aio, 400, "body must be a JSON object with \"policy\": \"permit\" or \"deny\"");
			return;
		}
		if (hie_strlcpy(r.from, jstr(o, "from") ? jstr(o, "from") : "", sizeof(r.from)) != HIE_OK ||
		    hie_strlcpy(r.until, jstr(o, "until") ? jstr(o, "until") : "", sizeof(r.until)) != HIE_OK ||
		    hie_strlcpy(r.purposes, jstr(o, "purposes") ? jstr(o, "purposes") : "", sizeof(r.purposes)) != HIE_OK) {
			json_object_put(o);
			node_http_reply_error(aio, 400, "from, until: YYYY-MM-DD; purposes: a short list");
			return;
		}
		r.emergency = jbool(o, "emergency", n->cfg.consent_emergency);
		r.restricted = jbool(o, "restricted", 0);
		json_object_put(o);
	}
	if ((e = consent_set(n->consent, &r, why, sizeof(why))) != HIE_OK) {
		node_http_reply_error(aio, e == HIE_EINVAL ? 400 : 500, e == HIE_EINVAL ? why : hie_strerror(e));
		return;
	}
	if (audit_change(n, rid, "set", &r) != HIE_OK)
		hie_log(HIE_LOG_ERR, "audit", "HIE-AUDIT-FULL", rid, "consent change not audited");
	hie_log(HIE_LOG_INFO, "http", "HIE-CONSENT", rid, "consent set to %s by \"%s\"", consent_policy_name(r.policy), r.by);
	hie_buf_init(&b, 8192);
	consent_rule_json(&r, &b);
	node_http_reply(aio, 200, "application/json", b.data, b.len);
	hie_buf_free(&b);
}
