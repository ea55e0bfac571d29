/* node/dsig.c -- narrowed XML-DSig signing and verification with xmlsec1. */
#include "node/dsig.h"
#include "node/xml.h"

#include <libxml/hash.h>
#include <libxml/valid.h>
#include <stdio.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#define WSU_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

const char *const dsig_id_attrs[] = { "Id", "ID", NULL };

const char *
dsig_node_id(const xmlNode *n)
{
	for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
		int named = strcmp((const char *) a->name, "Id") == 0 || strcmp((const char *) a->name, "ID") == 0;
		/* wsu:Id, or an unqualified Id/ID: nothing else names an id. */
		if (named && (a->ns == NULL || strcmp((const char *) a->ns->href, WSU_NS) == 0) && a->children != NULL)
			return (const char *) a->children->content;
	}
	return NULL;
}

static xmlSecKeyPtr
key_of(EVP_PKEY *pkey)
{
	xmlSecKeyDataPtr data;
	xmlSecKeyPtr     key;

	/* xmlsec adopts the EVP_PKEY: give it its own reference. */
	EVP_PKEY_up_ref(pkey);
	if ((data = xmlSecOpenSSLEvpKeyAdopt(pkey)) == NULL) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	if ((key = xmlSecKeyCreate()) == NULL || xmlSecKeySetValue(key, data) < 0) {
		xmlSecKeyDataDestroy(data);
		xmlSecKeyDestroy(key);
		return NULL;
	}
	return key;
}

hie_err
dsig_sign(xmlNode *parent, xmlNode *before, const char *const *ids, size_t n, int enveloped, EVP_PKEY *pkey,
    xmlNode *key_info)
{
	xmlSecTransformId alg = EVP_PKEY_base_id(pkey) == EVP_PKEY_EC ? xmlSecTransformEcdsaSha256Id
	                                                               : xmlSecTransformRsaSha256Id;
	xmlSecDSigCtxPtr  ctx = NULL;
	xmlNode          *sig, *ki;
	char              uri[300];
	hie_err           e = HIE_ECRYPTO;

	sig = xmlSecTmplSignatureCreateNsPref(parent->doc, xmlSecTransformExclC14NId, alg, NULL, BAD_CAST "ds");
	if (sig == NULL)
		return HIE_ENOMEM;
	if (before != NULL)
		xmlAddPrevSibling(before, sig);
	else
		xmlAddChild(parent, sig);
	for (size_t i = 0; i < n; i++) {
		xmlNode *ref;
		snprintf(uri, sizeof(uri), "#%s", ids[i]);
		if ((ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST uri, NULL)) == NULL ||
		    (enveloped && xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL) ||
		    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL)
			goto fail;
	}
	if (key_info != NULL) {
		if ((ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL)) == NULL)
			goto fail;
		xmlAddChild(ki, key_info);
		key_info = NULL;
	}
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL || (ctx->signKey = key_of(pkey)) == NULL)
		goto fail;
	if (xmlSecDSigCtxSign(ctx, sig) == 0)
		e = HIE_OK;
fail:
	xmlFreeNode(key_info);
	if (ctx != NULL)
		xmlSecDSigCtxDestroy(ctx);
	return e;
}

/*
 * Every attribute named Id or ID counts, whatever its namespace: xmlsec
 * resolves a "#x" reference through any of them (xmlSecAddIDs matches the
 * local name), so an id value must be unique among all of them or a
 * reference could resolve to another element than the one we check.
 */
static void
collect_ids(xmlNode *n, xmlHashTablePtr seen, int *dup)
{
	for (; n != NULL && !*dup; n = n->next) {
		int has_id = 0;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (xmlAttr *a = n->properties; a != NULL && !*dup; a = a->next) {
			if ((strcmp((const char *) a->name, "Id") != 0 && strcmp((const char *) a->name, "ID") != 0) ||
			    a->children == NULL || a->children->content == NULL)
				continue;
			if (xmlHashAddEntry(seen, a->children->content, n) != 0)
				*dup = 1;
			has_id = 1;
		}
		if (has_id && !*dup)
			xmlSecAddIDs(n->doc, n, (const xmlChar **) dsig_id_attrs);
		collect_ids(n->children, seen, dup);
	}
}

hie_err
dsig_register_ids(xmlDoc *doc, char *why, size_t whycap)
{
	xmlHashTablePtr seen = xmlHashCreate(32);
	int             dup = 0;

	if (seen == NULL)
		return HIE_ENOMEM;
	collect_ids(xmlDocGetRootElement(doc), seen, &dup);
	xmlHashFree(seen, NULL);
	if (dup) {
		snprintf(why, whycap, "an element id appears twice");
		return HIE_ESIG;
	}
	return HIE_OK;
}

static const char *
alg_of(const xmlNode *n)
{
	const char *a = hie_xml_attr(n, "Algorithm");
	return a != NULL ? a : "(none)";
}

static int
alg_in(const char *alg, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(alg, *allowed) == 0)
			return 1;
	return 0;
}

/*
 * Reads SignedInfo before xmlsec does, so that each thing we do not accept
 * is refused with its own reason (xmlsec would only say "failed"): the
 * canonicalization, signature and digest methods, the transforms, and
 * each reference being "#id" naming an element of this document.
 */
static hie_err
precheck(xmlNode *sig, char *why, size_t whycap)
{
	static const char *const c14n[] = { "http://www.w3.org/2001/10/xml-exc-c14n#", NULL };
	static const char *const sigm[] = { "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", NULL };
	static const char *const digm[] = { "http://www.w3.org/2001/04/xmlenc#sha256", NULL };
	static const char *const xfrm[] = { "http://www.w3.org/2001/10/xml-exc-c14n#",
		"http://www.w3.org/2000/09/xmldsig#enveloped-signature", NULL };
	static const char *const parts[] = { "SignedInfo", "SignatureValue", "KeyInfo", "Object" };
	xmlNode *si = hie_xml_child(sig, DSIG_NS, "SignedInfo"), *m;
	int      n = 0;
	size_t   at = 0;

	/* XML-DSig's content model, in order: anything else inside the
	 * signature (a hidden copy of a signed element, say) is refused. */
	for (xmlNode *c = sig->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE && xmlIsBlankNode(c))
			continue;
		if (c->type == XML_COMMENT_NODE)
			continue;
		while (at < 4 && (c->type != XML_ELEMENT_NODE || c->ns == NULL ||
		                     strcmp((const char *) c->ns->href, DSIG_NS) != 0 ||
		                     strcmp((const char *) c->name, parts[at]) != 0))
			at++;
		if (at == 4) {
			snprintf(why, whycap, "unexpected %.60s in ds:Signature",
			    c->type == XML_ELEMENT_NODE ? (const char *) c->name : "text");
			return HIE_ESIG;
		}
		if (at < 3)
			at++; /* SignedInfo, SignatureValue, KeyInfo once; Object repeats */
	}
	if (si == NULL) {
		snprintf(why, whycap, "signature has no SignedInfo");
		return HIE_ESIG;
	}
	m = hie_xml_child(si, DSIG_NS, "CanonicalizationMethod");
	if (!alg_in(alg_of(m), c14n)) {
		snprintf(why, whycap, "canonicalization method %.100s not allowed", alg_of(m));
		return HIE_ESIG;
	}
	m = hie_xml_child(si, DSIG_NS, "SignatureMethod");
	if (!alg_in(alg_of(m), sigm)) {
		snprintf(why, whycap, "signature method %.100s not allowed", alg_of(m));
		return HIE_ESIG;
	}
	for (xmlNode *r = hie_xml_child(si, DSIG_NS, "Reference"); r != NULL; r = hie_xml_next(r, DSIG_NS, "Reference")) {
		const char *uri = hie_xml_attr(r, "URI");
		xmlNode    *ts = hie_xml_child(r, DSIG_NS, "Transforms");
		if (++n > DSIG_MAX_REFS) {
			snprintf(why, whycap, "too many references");
			return HIE_ESIG;
		}
		if (uri == NULL || uri[0] != '#' || uri[1] == '\0' || strchr(uri, '(') != NULL) {
			snprintf(why, whycap, "reference URI %.100s not allowed (only #id)", uri ? uri : "(none)");
			return HIE_ESIG;
		}
		if (xmlGetID(sig->doc, BAD_CAST uri + 1) == NULL) {
			snprintf(why, whycap, "reference %.100s names no element", uri);
			return HIE_ESIG;
		}
		for (xmlNode *t = hie_xml_child(ts, DSIG_NS, "Transform"); t != NULL; t = hie_xml_next(t, DSIG_NS, "Transform"))
			if (!alg_in(alg_of(t), xfrm)) {
				snprintf(why, whycap, "transform %.100s not allowed", alg_of(t));
				return HIE_ESIG;
			}
		m = hie_xml_child(r, DSIG_NS, "DigestMethod");
		if (!alg_in(alg_of(m), digm)) {
			snprintf(why, whycap, "digest method %.100s not allowed", alg_of(m));
			return HIE_ESIG;
		}
	}
	if (n == 0) {
		snprintf(why, whycap, "signature has no reference");
		return HIE_ESIG;
	}
	return HIE_OK;
}

hie_err
dsig_verify(xmlNode *sig, X509 *cert, char refs[][DSIG_ID_MAX], size_t *nrefs, char *why, size_t whycap)
{
	xmlSecDSigCtxPtr ctx;
	EVP_PKEY        *pub = X509_get0_pubkey(cert);
	hie_err          e = HIE_ESIG;
	xmlSecSize       n;

	*nrefs = 0;
	if ((e = precheck(sig, why, whycap)) != HIE_OK)
		return e;
	e = HIE_ESIG;
	if (pub == NULL || (ctx = xmlSecDSigCtxCreate(NULL)) == NULL)
		return HIE_ECRYPTO;
	/* Only what we sign with is accepted: no XSLT, XPath, enveloped or
	 * inclusive transforms, no SHA-1, no HMAC, no external URIs. */
	ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
	if (xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id) < 0 ||
	    (ctx->signKey = key_of(pub)) == NULL) {
		xmlSecDSigCtxDestroy(ctx);
		return HIE_ECRYPTO;
	}
	if (xmlSecDSigCtxVerify(ctx, sig) < 0) {
		snprintf(why, whycap, "signature could not be processed (algorithm or reference not allowed)");
		goto done;
	}
	n = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
	if (ctx->status != xmlSecDSigStatusSucceeded) {
		/* xmlsec stops at the first reference whose digest differs. */
		snprintf(why, whycap, "signature does not verify");
		for (xmlSecSize i = 0; i < n; i++) {
			xmlSecDSigReferenceCtxPtr r = xmlSecPtrListGetItem(&ctx->signedInfoReferences, i);
			if (r != NULL && r->status != xmlSecDSigStatusSucceeded) {
				snprintf(why, whycap, "signature does not verify: digest of %.100s does not match",
				    r->uri != NULL ? (const char *) r->uri : "?");
				break;
			}
		}
		goto done;
	}
	if (n > DSIG_MAX_REFS) {
		snprintf(why, whycap, "too many references");
		goto done;
	}
	for (xmlSecSize i = 0; i < n; i++) {
		xmlSecDSigReferenceCtxPtr r = xmlSecPtrListGetItem(&ctx->signedInfoReferences, i);
		const char               *uri = r != NULL && r->uri != NULL ? (const char *) r->uri : "";
		if (uri[0] != '#' || r->status != xmlSecDSigStatusSucceeded) {
			snprintf(why, whycap, "reference %s not a verified same-document id", uri);
			goto done;
		}
		if (hie_strlcpy(refs[(*nrefs)++], uri + 1, DSIG_ID_MAX) != HIE_OK) {
			snprintf(why, whycap, "reference id too long");
			goto done;
		}
	}
	e = HIE_OK;
done:
	if (e != HIE_OK)
		*nrefs = 0;
	xmlSecDSigCtxDestroy(ctx);
	return e;
}

int
dsig_covers(char refs[][DSIG_ID_MAX], size_t n, const char *id)
{
	if (id == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(refs[i], id) == 0)
			return 1;
	return 0;
}
