/* node/peers.c -- the peer directory: who we fan out to. */
#include "node/config.h"

#include <ini.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PEERS 1024

struct peers_state {
	struct node_peers *out;
	FILE              *err;
	const char        *path;
	int                errors;
};

static struct node_peer *
peer_for(struct peers_state *st, const char *section)
{
	struct node_peers *p = st->out;
	struct node_peer  *v;

	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, section) == 0)
			return &p->v[i];
	if (p->n >= MAX_PEERS)
		return NULL;
	if ((v = realloc(p->v, (p->n + 1) * sizeof(*v))) == NULL)
		return NULL;
	p->v = v;
	v = &p->v[p->n++];
	memset(v, 0, sizeof(*v));
	hie_strlcpy(v->name, section, sizeof(v->name));
	return v;
}

static void
peer_error(struct peers_state *st, const char *section, const char *why)
{
	st->errors++;
	if (st->err != NULL)
		fprintf(st->err, "%s: [%s]: %s\n", st->path, section, why);
}

static int
on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct peers_state *st = user;
	struct node_peer   *p;

	if (section[0] == '\0') {
		peer_error(st, "", "key outside a [peer] section");
		return 1;
	}
	if ((p = peer_for(st, section)) == NULL) {
		peer_error(st, section, "too many peers or out of memory");
		return 1;
	}
	if (strcmp(name, "community") == 0) {
		if (hie_strlcpy(p->community, value, sizeof(p->community)) != HIE_OK ||
		    !node_is_urn_oid(value))
			peer_error(st, section, "community must be urn:oid:...");
	} else if (strcmp(name, "address") == 0) {
		/* https://: a standard IHE gateway's SOAP endpoint (xca/https.c). */
		if (hie_strlcpy(p->address, value, sizeof(p->address)) != HIE_OK ||
		    (strncmp(value, "tls+tcp://", 10) != 0 && strncmp(value, "https://", 8) != 0))
			peer_error(st, section, "address must be tls+tcp://host:port or https://host[:port]/path");
	} else {
		peer_error(st, section, "unknown key");
	}
	return 1;
}

hie_err
node_peers_load(const char *path, const char *own_community, struct node_peers *out, FILE *err)
{
	struct peers_state st = { out, err, path, 0 };
	int                rc;
	size_t             j = 0;

	out->v = NULL;
	out->n = 0;
	if ((rc = ini_parse(path, on_pair, &st)) < 0) {
		if (err != NULL)
			fprintf(err, "%s: cannot open peer directory\n", path);
		return HIE_ECONFIG;
	}
	if (rc > 0)
		peer_error(&st, "", "syntax error");
	for (size_t i = 0; i < out->n; i++) {
		struct node_peer *p = &out->v[i];
		if (p->community[0] == '\0' || p->address[0] == '\0') {
			peer_error(&st, p->name, "needs both community and address");
			continue;
		}
		if (own_community != NULL && strcmp(p->community, own_community) == 0)
			continue; /* the directory lists everyone, us included */
		out->v[j++] = *p;
	}
	out->n = j;
	if (st.errors != 0) {
		node_peers_free(out);
		return HIE_ECONFIG;
	}
	return HIE_OK;
}

void
node_peers_free(struct node_peers *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}
