/* node/dsig.c -- narrowed XML-DSig signing and verification with xmlsec1. */
#include "node/dsig.h"

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

static void
collect_ids(xmlNode *n, xmlHashTablePtr seen, int *dup)
{
	for (; n != NULL && !*dup; n = n->next) {
		const char *id;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if ((id = dsig_node_id(n)) != NULL) {
			if (xmlHashAddEntry(seen, BAD_CAST id, n) != 0)
				*dup = 1;
			else
				xmlSecAddIDs(n->doc, n, (const xmlChar **) dsig_id_attrs);
		}
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

hie_err
dsig_verify(xmlNode *sig, X509 *cert, char refs[][DSIG_ID_MAX], size_t *nrefs, char *why, size_t whycap)
{
	xmlSecDSigCtxPtr ctx;
	EVP_PKEY        *pub = X509_get0_pubkey(cert);
	hie_err          e = HIE_ESIG;
	xmlSecSize       n;

	*nrefs = 0;
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
	if (ctx->status != xmlSecDSigStatusSucceeded) {
		snprintf(why, whycap, "signature does not verify");
		goto done;
	}
	n = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
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
