/* node/disclosure.c -- the accounting of disclosures, read from the audit
 * trail (node/audit.h): the trail is the one record of what left the node,
 * so the report cannot disagree with it. */
#include <json-c/json.h>
#include <string.h>

#include "node/audit.h"

struct walk {
	const char *patient, *since;
	int         json;
	FILE       *out;
	size_t      count;
};

/* The transactions in which a responder hands out documents or their
 * metadata. */
static int
discloses(const char *event)
{
	static const char *const ev[] = { "ITI-38", "ITI-39", "ITI-18", "ITI-43", NULL };
	for (size_t i = 0; ev[i] != NULL; i++)
		if (strcmp(ev[i], event) == 0)
			return 1;
	return 0;
}

static const char *
get(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
	                                                                                        : "";
}

static hie_err
one(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct walk  *w = arg;
	json_tokener *tok = json_tokener_new();
	json_object  *o, *v;
	int           outcome = 0;

	(void) seq;
	if (tok == NULL)
		return HIE_ENOMEM;
	o = json_tokener_parse_ex(tok, json, (int) len);
	json_tokener_free(tok);
	if (o == NULL)
		return HIE_OK; /* not ours to judge here: audit verify reports damage */
	if (json_object_object_get_ex(o, "outcome", &v))
		outcome = json_object_get_int(v);
	/* A disclosure: we answered (responder), about this patient, with
	 * something in it (documents listed), and not a refusal. */
	if (strcmp(get(o, "role"), "responder") == 0 && discloses(get(o, "event")) &&
	    strcmp(get(o, "patient"), w->patient) == 0 && get(o, "documents")[0] != '\0' && outcome <= 4 &&
	    (w->since == NULL || w->since[0] == '\0' || strncmp(get(o, "time"), w->since, strlen(w->since)) >= 0)) {
		w->count++;
		if (w->json) {
			json_object *r = json_object_new_object();
			static const char *const keys[] = { "time", "event", "source", "organization", "user", "userRole",
				"purpose", "documents", "rid", NULL };
			for (size_t i = 0; keys[i] != NULL; i++)
				json_object_object_add(r, strcmp(keys[i], "source") == 0 ? "community" : keys[i],
				    json_object_new_string(get(o, keys[i])));
			fprintf(w->out, "%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
			json_object_put(r);
		} else {
			fprintf(w->out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", get(o, "time"), get(o, "event"), get(o, "source"),
			    get(o, "organization"), get(o, "user"), get(o, "userRole"), get(o, "purpose"), get(o, "documents"));
		}
	}
	json_object_put(o);
	return HIE_OK;
}

hie_err
audit_disclosures(MDB_env *env, const char *patient, const char *since, int json, FILE *out, size_t *count)
{
	struct walk w = { patient, since, json, out, 0 };
	hie_err     e;

	if (!json)
		fprintf(out, "time\ttransaction\tcommunity\torganization\tperson\trole\tpurpose\tdocuments\n");
	e = audit_each(env, 1, one, &w, NULL);
	*count = w.count;
	return e;
}
