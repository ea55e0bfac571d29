/*
 * node/consent.h -- patients' consent to sharing their records with the
 * network: one policy per patient (opt-in = permit, opt-out = deny) with
 * effective dates, and the network default for everyone else
 * ([consent] default).  Enforced by the responders (xca/responder.c): a
 * denied patient does not exist for the requester (ITI-38 answers Success
 * with no objects, ITI-39 XDSDocumentUniqueIdError as for a missing
 * document, XCPD no match).
 *
 * Storage: named database "consent" in the node's environment; key = the
 * patient's CX (id^^^&oid&ISO), value = the policy as one line of
 * tab-separated fields (policy, from, until, emergency, restricted,
 * purposes, updated, by).  Changes are audited by the callers (CLI, HTTP
 * API) as "consent-change" records.  Safe while the node runs (LMDB).
 *
 * Decisions (consent_allows), in order:
 *  1. the patient's own policy when today is within [from, until], else
 *     the network default;
 *  2. deny, unless the requester's purpose of use is EMERGENCY and the
 *     policy allows break-the-glass (emergency = 1; the default's
 *     emergency flag is [consent] emergency_override): then allowed and
 *     marked as an override, which the caller audits;
 *  3. permit, but only for the listed purposes of use when the policy
 *     names some;
 *  4. documents with confidentialityCode R (restricted) or V (very
 *     restricted) only when the policy says restricted = 1 (a patient's
 *     explicit consent; never the network default).
 *
 * Threading: every function is thread-safe (LMDB transactions).
 */
#ifndef NODE_CONSENT_H
#define NODE_CONSENT_H

#include <lmdb.h>
#include <stdio.h>
#include <time.h>

#include "node/hie.h"
#include "node/wss.h"

enum consent_policy { CONSENT_PERMIT = 0, CONSENT_DENY = 1 };

struct consent_rule {
	char                patient[256];   /* CX */
	enum consent_policy policy;
	char                from[11];       /* YYYY-MM-DD, "" = since always */
	char                until[11];      /* YYYY-MM-DD inclusive, "" = no end */
	int                 emergency;      /* 1: EMERGENCY purpose overrides a deny */
	int                 restricted;     /* 1: R and V documents may be shared */
	char                purposes[128];  /* comma separated purposes of use allowed; "" any */
	char                updated[32];    /* when set (UTC, ISO 8601), filled by consent_set */
	char                by[128];        /* who set it */
};

struct consent_defaults {
	enum consent_policy policy;    /* [consent] default */
	int                 emergency; /* [consent] emergency_override */
};

struct consent_decision {
	int         allowed;       /* the patient may be disclosed at all */
	int         restricted_ok; /* R/V documents too */
	int         override;      /* allowed only by break-the-glass: audit it */
	int         explicit_rule; /* the patient's own policy decided */
	const char *why;           /* static text */
};

typedef struct consent consent;

/* Opens (creates) the consent database in env. */
hie_err consent_open(MDB_env *env, const struct consent_defaults *def, consent **out);
void    consent_close(consent *c);

/* Parses "permit"/"deny" (also "opt-in"/"opt-out"). */
hie_err consent_policy_parse(const char *s, enum consent_policy *out);
const char *consent_policy_name(enum consent_policy p);

/* Checks and stores r (replacing the patient's policy); fills r->updated.
 * HIE_EINVAL with why for a bad patient id, date or field. */
hie_err consent_set(consent *c, struct consent_rule *r, char *why, size_t whycap);
/* The patient's stored policy; HIE_ENOTFOUND if none (the default applies). */
hie_err consent_get(consent *c, const char *patient, struct consent_rule *out);
/* Removes the patient's policy (back to the default); HIE_ENOTFOUND if none. */
hie_err consent_clear(consent *c, const char *patient);
/* Calls fn for every stored policy, in patient order. */
typedef hie_err (*consent_each_fn)(void *arg, const struct consent_rule *r);
hie_err consent_each(consent *c, consent_each_fn fn, void *arg);

/* The policy as one JSON object (API, CLI). */
hie_err consent_rule_json(const struct consent_rule *r, hie_buf *out);

/*
 * The one check every responder makes: may patient be disclosed to the
 * requester in claims (NULL: no assertion) at time now?  Always fills d;
 * returns 1 if allowed.  A database error denies (fail closed).
 */
int consent_allows(consent *c, const char *patient, const struct wss_claims *claims, time_t now,
    struct consent_decision *d);

/* Whether a document with this confidentialityCode may go out under d. */
int consent_document_ok(const struct consent_decision *d, const char *confidentiality);

#endif /* NODE_CONSENT_H */
