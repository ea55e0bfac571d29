/*
 * xca/xcpd.c -- answering patient queries from the local MPI: XCPD
 * (ITI-55), PIX v3 (ITI-45), PDQ v3 (ITI-47).
 *
 * XCPD discloses a patient to another community only when the answer is
 * unambiguous (ITI TF-2b 3.55.4.2.3): a deterministic identifier match, or
 * exactly one candidate above the MPI's link threshold and no other
 * candidate even in the review band.  Anything else -- several near
 * candidates, or only possible matches -- is answered "no match"
 * (queryResponseCode NF) with the AnswerNotAvailable reason, which tells
 * the requester to add demographics without telling it who came close.
 * PDQ is a local, trusted query: it lists every candidate above the
 * requester's minimum degree of match (never below the review threshold).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/v3.h"
#include "node/consent.h"
#include "xca/xcpd.h"

#define MAX_CAND    20  /* PDQ answers at most this many patients */
#define MAX_MEMBERS 16  /* records of one enterprise id looked at */
#define MAX_LINKED  32  /* identifiers of one enterprise id */

static const char *
oid_of(const char *home)
{
	return strncmp(home, "urn:oid:", 8) == 0 ? home + 8 : home;
}

static int
confidence_of(double prob)
{
	long c = lround(prob * 100.0);
	return c < 0 ? 0 : c > 100 ? 100 : (int) c;
}

/* The disclosed patient: demographics of its best record, its id in our
 * community's assigning authority when it has one (else its best record's
 * first non-national identifier), every linked identifier as asOtherIDs,
 * restricted to the requested domains when there are any.  HIE_ENOTFOUND
 * when it has no identifier a requester could use. */
static hie_err
subject_fill(const struct xca_responder *r, uint64_t eid, uint64_t rid, const char (*domains)[128], size_t ndomains,
    struct v3_subject *s)
{
	uint64_t           rids[MAX_MEMBERS];
	struct mpi_patient *tmp = malloc(sizeof(*tmp));
	size_t             n = 0, k;
	const char        *home = oid_of(r->home);
	int                have = 0;
	hie_err            e;

	if (tmp == NULL)
		return HIE_ENOMEM;
	if ((e = mpi_members(r->mpi, eid, rids, MAX_MEMBERS, &n)) != HIE_OK || n == 0) {
		free(tmp);
		return e != HIE_OK ? e : HIE_ENOTFOUND;
	}
	if (rid == 0)
		rid = rids[0];
	if ((e = mpi_get(r->mpi, rid, &s->demo)) != HIE_OK) {
		free(tmp);
		return e;
	}
	/* Identifiers of every member, each once. */
	s->demo.n_ids = 0;
	for (size_t i = 0; i < n && i < MAX_MEMBERS; i++) {
		if (mpi_get(r->mpi, rids[i], tmp) != HIE_OK)
			continue;
		for (size_t j = 0; j < tmp->n_ids && s->demo.n_ids < MPI_MAX_IDS; j++) {
			const struct mpi_ident *id = &tmp->ids[j];
			int                     dup = 0, wanted = ndomains == 0;
			for (k = 0; k < ndomains; k++)
				wanted |= strcmp(domains[k], id->cx.authority) == 0;
			for (k = 0; k < s->demo.n_ids; k++)
				dup |= mpi_id_compare(&s->demo.ids[k].cx, &id->cx) == 1;
			if (!dup && wanted)
				s->demo.ids[s->demo.n_ids++] = *id;
		}
	}
	free(tmp);
	for (k = 0; k < s->demo.n_ids && !have; k++)
		if (strcmp(s->demo.ids[k].cx.authority, home) == 0)
			s->id = s->demo.ids[k].cx, have = 1;
	for (k = 0; k < s->demo.n_ids && !have; k++)
		if (strcmp(s->demo.ids[k].type, "SS") != 0)
			s->id = s->demo.ids[k].cx, have = 1;
	return have ? HIE_OK : HIE_ENOTFOUND;
}

/* Deterministic rule: the enterprise id every known non-national
 * identifier of the query points to.  *eid 0 when none is known;
 * HIE_EAMBIGUOUS when they point to different people. */
static hie_err
by_identifier(const struct xca_responder *r, const struct mpi_patient *q, uint64_t *eid)
{
	*eid = 0;
	for (size_t i = 0; i < q->n_ids; i++) {
		uint64_t e1;
		size_t   n;
		hie_err  e;
		if (strcmp(q->ids[i].type, "SS") == 0)
			continue;
		e = mpi_lookup_id(r->mpi, &q->ids[i].cx, &e1, NULL, 0, &n);
		if (e == HIE_EUNKNOWNPATIENT)
			continue;
		if (e != HIE_OK)
			return e;
		if (*eid != 0 && *eid != e1)
			return HIE_EAMBIGUOUS;
		*eid = e1;
	}
	return HIE_OK;
}

struct answer {
	struct v3_response resp;
	struct v3_error    err;
	struct v3_subject *subs;
	size_t             n;
};

static void
answer_error(struct answer *a, const struct v3_error *err, struct xca_outcome *out)
{
	a->err = *err;
	a->resp.ack = "AE";
	a->resp.qrc = a->err.qrc[0] ? a->err.qrc : "AE";
	a->resp.err = &a->err;
	snprintf(out->detail, sizeof(out->detail), "%s %s: %.200s", a->resp.ack, a->err.code, a->err.text);
}

static void
internal_error(struct answer *a, hie_err e, struct xca_outcome *out)
{
	struct v3_error err = { .code = "207", .qrc = "AE" };
	snprintf(err.text, sizeof(err.text), "the MPI could not answer: %s", hie_strerror(e));
	answer_error(a, &err, out);
}

/*
 * Consent for a person about to be disclosed: the policy of any of its
 * identifiers (the one we give out and every linked one) may opt the
 * person out, so each is asked and one denial is enough.  A withheld
 * patient is answered as no match with no reason given: "AnswerNotAvailable"
 * would tell the requester that someone is there.
 */
static int
consent_ok(const struct xca_responder *r, const struct v3_subject *s, struct xca_outcome *out)
{
	struct consent_decision d;
	char                    cx[300];
	int                     override = 0;

	if (r->consent == NULL)
		return 1;
	for (size_t i = 0; i <= s->demo.n_ids; i++) {
		const struct mpi_cx *id = i == 0 ? &s->id : &s->demo.ids[i - 1].cx;
		if (mpi_cx_format(id, cx, sizeof(cx)) != HIE_OK)
			continue;
		if (!consent_allows(r->consent, cx, &out->claims, time(NULL), &d)) {
			out->withheld = 1;
			snprintf(out->withheld_why, sizeof(out->withheld_why), "%s", d.why);
			return 0;
		}
		override |= d.override;
	}
	out->consent_override = override;
	return 1;
}

static void
iti55(const struct xca_responder *r, const struct v3_query *q, struct answer *a, struct xca_outcome *out)
{
	struct mpi_candidate c[4];
	struct mpi_model     model;
	uint64_t             eid = 0, rid = 0;
	double               prob = 1.0;
	size_t               n = 0;
	hie_err              e;

	a->resp.qrc = "NF";
	if ((e = by_identifier(r, &q->demo, &eid)) == HIE_EAMBIGUOUS) {
		a->resp.issue = "AnswerNotAvailable";
		return;
	}
	if (e != HIE_OK) {
		internal_error(a, e, out);
		return;
	}
	if (eid == 0) {
		if ((e = mpi_model_get(r->mpi, &model)) != HIE_OK ||
		    (e = mpi_search(r->mpi, &q->demo, model.review, c, 4, &n)) != HIE_OK) {
			if (e == HIE_EINVAL) {
				struct v3_error err = { .code = "QE", .qrc = "QE",
					.text = "the query parameters do not make a usable search" };
				answer_error(a, &err, out);
			} else {
				internal_error(a, e, out);
			}
			return;
		}
		if (n == 0)
			return;
		/* One candidate, and a sure one; a second one even in the
		 * review band makes the first one doubtful. */
		if (n > 1 || c[0].prob < model.link) {
			a->resp.issue = "AnswerNotAvailable";
			return;
		}
		eid = c[0].eid, rid = c[0].rid, prob = c[0].prob;
	}
	if (q->min_degree >= 0 && confidence_of(prob) < q->min_degree)
		return;
	a->subs[0].confidence = confidence_of(prob);
	if ((e = subject_fill(r, eid, rid, NULL, 0, &a->subs[0])) == HIE_ENOTFOUND)
		return; /* known, but with no identifier to give out */
	if (e != HIE_OK) {
		internal_error(a, e, out);
		return;
	}
	if (!consent_ok(r, &a->subs[0], out))
		return; /* NF, as for nobody */
	a->n = 1;
	a->resp.qrc = "OK";
}

static void
iti47(const struct xca_responder *r, const struct v3_query *q, struct answer *a, struct xca_outcome *out)
{
	struct mpi_candidate c[MAX_CAND];
	struct mpi_model     model;
	size_t               n = 0, cap = MAX_CAND;
	uint64_t             eid = 0;
	double               min;
	hie_err              e;

	if (q->initial_quantity > 0 && (size_t) q->initial_quantity < cap)
		cap = (size_t) q->initial_quantity;
	if ((e = mpi_model_get(r->mpi, &model)) != HIE_OK || (e = by_identifier(r, &q->demo, &eid)) == HIE_EDB) {
		internal_error(a, e, out);
		return;
	}
	min = q->min_degree > 0 ? q->min_degree / 100.0 : 0;
	if (min < model.review)
		min = model.review;
	if (e == HIE_OK && eid != 0)
		c[n++] = (struct mpi_candidate) { eid, 0, 0, 1.0 };
	{
		struct mpi_candidate more[MAX_CAND];
		size_t               m = 0;
		if ((e = mpi_search(r->mpi, &q->demo, min, more, MAX_CAND, &m)) != HIE_OK && e != HIE_EINVAL) {
			internal_error(a, e, out);
			return;
		}
		for (size_t i = 0; i < m && n < MAX_CAND; i++)
			if (n == 0 || more[i].eid != c[0].eid)
				c[n++] = more[i];
	}
	for (size_t i = 0; i < n && a->n < cap; i++) {
		struct v3_subject *s = &a->subs[a->n];
		memset(s, 0, sizeof(*s));
		s->confidence = confidence_of(c[i].prob);
		e = subject_fill(r, c[i].eid, c[i].rid, q->scoping, q->n_scoping, s);
		if (e == HIE_OK)
			a->n++;
		else if (e != HIE_ENOTFOUND) {
			internal_error(a, e, out);
			a->n = 0;
			return;
		}
	}
	a->resp.qrc = a->n > 0 ? "OK" : "NF";
}

static void
iti45(const struct xca_responder *r, const struct v3_pix_query *q, struct answer *a, struct xca_outcome *out)
{
	struct mpi_ident  *ids = calloc(MAX_LINKED, sizeof(*ids));
	struct v3_subject *s = &a->subs[0];
	uint64_t           eid;
	size_t             n = 0;
	hie_err            e;

	if (ids == NULL) {
		internal_error(a, HIE_ENOMEM, out);
		return;
	}
	e = mpi_lookup_id(r->mpi, &q->id, &eid, ids, MAX_LINKED, &n);
	if (e == HIE_EUNKNOWNPATIENT) {
		/* ITI TF-2b 3.45.4.2.3 case 3: AE, 204 at the identifier. */
		struct v3_error err = { .code = "204", .qrc = "AE", .text = "patient identifier not known to this node",
			.location = "/PRPA_IN201309UV02/controlActProcess/queryByParameter/parameterList/patientIdentifier/value" };
		answer_error(a, &err, out);
	} else if (e == HIE_EAMBIGUOUS) {
		struct v3_error err = { .code = "207", .qrc = "AE",
			.text = "identifier held by records of two patients; a data steward must resolve it" };
		answer_error(a, &err, out);
	} else if (e != HIE_OK) {
		internal_error(a, e, out);
	} else {
		memset(s, 0, sizeof(*s));
		s->confidence = -1;
		for (size_t i = 0; i < n && i < MAX_LINKED; i++) {
			int wanted = q->n_sources == 0;
			for (size_t k = 0; k < q->n_sources; k++)
				wanted |= strcmp(q->sources[k], ids[i].cx.authority) == 0;
			if (!wanted || mpi_id_compare(&ids[i].cx, &q->id) == 1 || s->demo.n_ids == MPI_MAX_IDS)
				continue;
			s->demo.ids[s->demo.n_ids++] = ids[i];
		}
		if (s->demo.n_ids > 0) {
			s->id = s->demo.ids[0].cx;
			a->n = 1;
			a->resp.qrc = "OK";
		} else {
			a->resp.qrc = "NF";
		}
	}
	free(ids);
}

hie_err
xcpd_answer(const struct xca_responder *r, enum xcpd_kind kind, const xmlNode *req, xmlNode *body,
    struct xca_outcome *out)
{
	struct v3_query     *q = NULL;
	struct v3_pix_query *pq = NULL;
	struct answer       *a = calloc(1, sizeof(*a));
	const struct v3_header *h;
	hie_err              e;

	if (a == NULL || (a->subs = calloc(MAX_CAND, sizeof(*a->subs))) == NULL ||
	    (kind == XCPD_ITI45 ? (pq = calloc(1, sizeof(*pq))) == NULL : (q = calloc(1, sizeof(*q))) == NULL)) {
		e = HIE_ENOMEM;
		goto done;
	}
	a->resp.ack = "AA";
	a->resp.device = oid_of(r->home);
	a->resp.home = oid_of(r->home);
	a->resp.subjects = a->subs;
	a->resp.query = hie_xml_child(hie_xml_child(req, V3_NS, "controlActProcess"), V3_NS, "queryByParameter");
	e = kind == XCPD_ITI45 ? v3_pix_query_parse(req, pq, &a->err) : v3_query_parse(req, q, &a->err);
	h = kind == XCPD_ITI45 ? &pq->h : &q->h;
	a->resp.req = h;
	if (e == HIE_EPROTO) {
		snprintf(out->detail, sizeof(out->detail), "body is not a %s",
		    kind == XCPD_ITI45 ? "PRPA_IN201309UV02" : "PRPA_IN201305UV02");
		goto done;
	}
	if (kind == XCPD_ITI45 && e == HIE_OK)
		mpi_cx_format(&pq->id, out->patient, sizeof(out->patient));
	else if (e == HIE_OK && q->demo.n_ids > 0)
		mpi_cx_format(&q->demo.ids[0].cx, out->patient, sizeof(out->patient));
	if (e != HIE_OK) {
		struct v3_error err = a->err;
		answer_error(a, &err, out);
	} else if (r->mpi == NULL) {
		struct v3_error err = { .code = "207", .qrc = "AE", .text = "this node has no patient index" };
		answer_error(a, &err, out);
	} else if (kind == XCPD_ITI55 && out->community[0] != '\0' && h->sender_home[0] != '\0' &&
	           strcmp(oid_of(out->community), h->sender_home) != 0) {
		/* The homeCommunityId in the message must be the signer's. */
		struct v3_error err = { .code = "207", .qrc = "AE",
			.text = "sender homeCommunityId is not the community that signed the request",
			.location = "/PRPA_IN201305UV02/sender/device/asAgent/representedOrganization/id" };
		answer_error(a, &err, out);
	} else if (kind == XCPD_ITI45) {
		iti45(r, pq, a, out);
	} else if (kind == XCPD_ITI55) {
		iti55(r, q, a, out);
	} else {
		iti47(r, q, a, out);
	}
	if (a->n > 0)
		mpi_cx_format(&a->subs[0].id, out->patient, sizeof(out->patient));
	a->resp.n = a->n;
	e = v3_response_build(body, &a->resp, kind == XCPD_ITI45);
done:
	if (a != NULL)
		free(a->subs);
	free(a);
	free(q);
	free(pq);
	return e;
}
