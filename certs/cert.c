/* certs/cert.c -- CA, keys, CSRs, CRLs and verification with OpenSSL. */
#include "certs/cert.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/config.h"
#include "node/x509.h"

#define PATHLEN 4096

int
cert_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63 || name[0] == '-' || name[0] == '.')
		return 0;
	for (const char *p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return 0;
	}
	return 1;
}

static void
path_join(char *out, const char *dir, const char *file)
{
	snprintf(out, PATHLEN, "%s/%s", dir, file);
}

/* ---- PEM file helpers ---- */

static EVP_PKEY *
load_key(const char *path)
{
	FILE     *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static X509 *
load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *c;

	if (f == NULL)
		return NULL;
	c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return c;
}

/* Opens path for writing with the given mode; with excl, an existing file
 * is an error (keys are never silently replaced). */
static FILE *
open_out(const char *path, mode_t mode, int excl)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (excl ? O_EXCL : 0), mode);
	if (fd < 0)
		return NULL;
	fchmod(fd, mode);
	return fdopen(fd, "w");
}

static hie_err
close_out(FILE *f, int ok)
{
	int rc = 0;

	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return ok && rc == 0 ? HIE_OK : HIE_EIO;
}

static hie_err
write_key(const char *path, EVP_PKEY *k)
{
	FILE *f = open_out(path, 0600, 1);
	if (f == NULL)
		return errno == EEXIST ? HIE_EEXIST : HIE_EIO;
	return close_out(f, PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
}

static hie_err
write_cert(const char *path, X509 *c)
{
	FILE *f = open_out(path, 0644, 0);
	if (f == NULL)
		return HIE_EIO;
	return close_out(f, PEM_write_X509(f, c) == 1);
}

static EVP_PKEY *
new_key(void)
{
	return EVP_EC_gen("P-256");
}

static hie_err
random_serial(X509 *c)
{
	BIGNUM *bn = BN_new();
	int     ok;

	/* 127 random bits, positive: unique without CA-side state. */
	ok = bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) != NULL;
	BN_free(bn);
	return ok ? HIE_OK : HIE_ECRYPTO;
}

static int
add_ext(X509 *issuer, X509 *c, int nid, const char *value)
{
	X509V3_CTX      ctx;
	X509_EXTENSION *ex;
	int             ok;

	X509V3_set_ctx(&ctx, issuer, c, NULL, NULL, 0);
	if ((ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(c, ex, -1);
	X509_EXTENSION_free(ex);
	return ok;
}

static int
set_validity(X509 *c, int days)
{
	return X509_gmtime_adj(X509_getm_notBefore(c), -300) != NULL &&
	       X509_gmtime_adj(X509_getm_notAfter(c), (long) days * 86400) != NULL;
}

/* ---- CA ---- */

hie_err
cert_ca_init(const char *dir, const char *ca_name, int days)
{
	char      path[PATHLEN];
	EVP_PKEY *k = NULL;
	X509     *c = NULL;
	X509_NAME *nm;
	hie_err   e = HIE_ECRYPTO;

	if (days <= 0 || ca_name == NULL || ca_name[0] == '\0' || strlen(ca_name) > 64)
		return HIE_EINVAL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return HIE_EIO;
	path_join(path, dir, "ca.key");
	if (access(path, F_OK) == 0)
		return HIE_EEXIST;
	if ((k = new_key()) == NULL || (c = X509_new()) == NULL)
		goto fail;
	nm = X509_get_subject_name(c);
	if (!X509_set_version(c, 2) || random_serial(c) != HIE_OK || !set_validity(c, days) ||
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *) ca_name, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *) "hienode network", -1, -1, 0) ||
	    !X509_set_issuer_name(c, nm) || !X509_set_pubkey(c, k) ||
	    !add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(c, c, NID_subject_key_identifier, "hash") ||
	    !X509_sign(c, k, EVP_sha256()))
		goto fail;
	if ((e = write_key(path, k)) != HIE_OK)
		goto fail;
	path_join(path, dir, "ca.crt");
	if ((e = write_cert(path, c)) != HIE_OK)
		goto fail;
	path_join(path, dir, "revoked.txt");
	if ((e = hie_write_file(path, "", 0, 0600)) != HIE_OK)
		goto fail;
	e = cert_crl_write(dir, 30, NULL);
fail:
	EVP_PKEY_free(k);
	X509_free(c);
	return e;
}

hie_err
cert_key_generate(const char *key_path)
{
	EVP_PKEY *k = new_key();
	hie_err   e;

	if (k == NULL)
		return HIE_ECRYPTO;
	e = write_key(key_path, k);
	EVP_PKEY_free(k);
	return e;
}

static int
name_from_request(X509_REQ *req, char *name, size_t cap)
{
	X509_NAME *nm = X509_REQ_get_subject_name(req);
	return X509_NAME_get_text_by_NID(nm, NID_commonName, name, (int) cap) > 0;
}

hie_err
cert_csr_create(const char *key_path, const char *name, const char *community,
    const char *csr_path)
{
	EVP_PKEY                  *k = NULL;
	X509_REQ                  *r = NULL;
	STACK_OF(X509_EXTENSION)  *exts = NULL;
	X509_EXTENSION            *ex;
	char                       san[600];
	FILE                      *f;
	hie_err                    e = HIE_ECRYPTO;

	if (!cert_name_ok(name) || !node_is_urn_oid(community))
		return HIE_EINVAL;
	if ((k = load_key(key_path)) == NULL)
		return HIE_ECRYPTO;
	if ((r = X509_REQ_new()) == NULL || (exts = sk_X509_EXTENSION_new_null()) == NULL)
		goto fail;
	snprintf(san, sizeof(san), "DNS:%s,URI:%s", name, community);
	if ((ex = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san)) == NULL)
		goto fail;
	sk_X509_EXTENSION_push(exts, ex);
	if (!X509_REQ_set_version(r, 0) ||
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
	        (const unsigned char *) name, -1, -1, 0) ||
	    !X509_REQ_add_extensions(r, exts) || !X509_REQ_set_pubkey(r, k) ||
	    !X509_REQ_sign(r, k, EVP_sha256()))
		goto fail;
	if ((f = open_out(csr_path, 0644, 0)) == NULL) {
		e = HIE_EIO;
		goto fail;
	}
	e = close_out(f, PEM_write_X509_REQ(f, r) == 1);
fail:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return e;
}

static hie_err
append_line(const char *path, const char *line)
{
	int     fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	size_t  n = strlen(line);
	hie_err e = HIE_OK;

	if (fd < 0)
		return HIE_EIO;
	if (write(fd, line, n) != (ssize_t) n || fsync(fd) != 0)
		e = HIE_EIO;
	close(fd);
	return e;
}

static void
serial_hex(X509 *c, char *out, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(c), NULL);
	char   *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	hie_strlcpy(out, hex != NULL ? hex : "0", cap);
	OPENSSL_free(hex);
	BN_free(bn);
}

hie_err
cert_csr_sign(const char *ca_dir, const char *csr_path, int days, const char *cert_path)
{
	char                      path[PATHLEN], name[256], community[512], san[800], line[1200], serial[80];
	EVP_PKEY                 *cakey = NULL, *pub = NULL;
	X509                     *ca = NULL, *c = NULL;
	X509_REQ                 *r = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES            *gens = NULL;
	FILE                     *f;
	hie_err                   e = HIE_ECRYPTO;

	if (days <= 0)
		return HIE_EINVAL;
	path_join(path, ca_dir, "ca.key");
	cakey = load_key(path);
	path_join(path, ca_dir, "ca.crt");
	ca = load_cert(path);
	if (cakey == NULL || ca == NULL) {
		e = HIE_ENOTFOUND;
		goto fail;
	}
	if ((f = fopen(csr_path, "r")) == NULL) {
		e = HIE_ENOTFOUND;
		goto fail;
	}
	r = PEM_read_X509_REQ(f, NULL, NULL, NULL);
	fclose(f);
	/* The request must be signed by the key it carries (proof of
	 * possession), and name what we are willing to certify. */
	if (r == NULL || (pub = X509_REQ_get_pubkey(r)) == NULL || X509_REQ_verify(r, pub) != 1) {
		e = HIE_ECERT;
		goto fail;
	}
	exts = X509_REQ_get_extensions(r);
	for (int i = 0; exts != NULL && i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ex = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(ex)) == NID_subject_alt_name)
			gens = X509V3_EXT_d2i(ex);
	}
	if (!name_from_request(r, name, sizeof(name)) || !cert_name_ok(name) ||
	    !hie_san_uri(gens, community, sizeof(community)) ||
	    !node_is_urn_oid(community)) {
		e = HIE_EINVAL;
		goto fail;
	}
	if ((c = X509_new()) == NULL)
		goto fail;
	/* Only the subject, key and SAN come from the request: the CA sets
	 * every other extension itself. */
	snprintf(san, sizeof(san), "DNS:%s,URI:%s", name, community);
	if (!X509_set_version(c, 2) || random_serial(c) != HIE_OK || !set_validity(c, days) ||
	    !X509_set_subject_name(c, X509_REQ_get_subject_name(r)) ||
	    !X509_set_issuer_name(c, X509_get_subject_name(ca)) || !X509_set_pubkey(c, pub) ||
	    !add_ext(ca, c, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(ca, c, NID_key_usage, "critical,digitalSignature,keyAgreement") ||
	    !add_ext(ca, c, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    !add_ext(ca, c, NID_subject_key_identifier, "hash") ||
	    !add_ext(ca, c, NID_authority_key_identifier, "keyid:always") ||
	    !add_ext(ca, c, NID_subject_alt_name, san) || !X509_sign(c, cakey, EVP_sha256()))
		goto fail;
	if ((e = write_cert(cert_path, c)) != HIE_OK)
		goto fail;
	serial_hex(c, serial, sizeof(serial));
	snprintf(line, sizeof(line), "%s %s %s\n", serial, name, community);
	path_join(path, ca_dir, "issued.txt");
	e = append_line(path, line);
fail:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(r);
	EVP_PKEY_free(pub);
	X509_free(c);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return e;
}

hie_err
cert_issue(const char *ca_dir, const char *name, const char *community, int days,
    const char *out_dir)
{
	char    key[PATHLEN], csr[PATHLEN], crt[PATHLEN], ca[PATHLEN], cacopy[PATHLEN];
	char   *pem = NULL;
	size_t  len;
	hie_err e;

	if (mkdir(out_dir, 0700) != 0 && errno != EEXIST)
		return HIE_EIO;
	path_join(key, out_dir, "node.key");
	path_join(csr, out_dir, "node.csr");
	path_join(crt, out_dir, "node.crt");
	path_join(ca, ca_dir, "ca.crt");
	path_join(cacopy, out_dir, "ca.crt");
	if ((e = cert_key_generate(key)) != HIE_OK ||
	    (e = cert_csr_create(key, name, community, csr)) != HIE_OK ||
	    (e = cert_csr_sign(ca_dir, csr, days, crt)) != HIE_OK ||
	    (e = hie_read_file(ca, 1 << 20, &pem, &len)) != HIE_OK)
		return e;
	e = hie_write_file(cacopy, pem, len, 0644);
	free(pem);
	return e;
}

hie_err
cert_rotate(const char *ca_dir, const char *node_dir, int days)
{
	char    crt[PATHLEN], key[PATHLEN], nkey[PATHLEN], ncsr[PATHLEN], ncrt[PATHLEN], old[PATHLEN];
	char    name[256], community[512];
	X509   *c;
	hie_err e;

	path_join(crt, node_dir, "node.crt");
	path_join(key, node_dir, "node.key");
	if ((c = load_cert(crt)) == NULL)
		return HIE_ENOTFOUND;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, name, sizeof(name)) <= 0 ||
	    !hie_x509_community(c, community, sizeof(community))) {
		X509_free(c);
		return HIE_ECERT;
	}
	X509_free(c);
	path_join(nkey, node_dir, "node.key.new");
	path_join(ncsr, node_dir, "node.csr");
	path_join(ncrt, node_dir, "node.crt.new");
	unlink(nkey); /* a previous rotation that stopped half-way */
	if ((e = cert_key_generate(nkey)) != HIE_OK || (e = cert_csr_create(nkey, name, community, ncsr)) != HIE_OK ||
	    (e = cert_csr_sign(ca_dir, ncsr, days, ncrt)) != HIE_OK)
		return e;
	/* Keep the old pair; then key and certificate change together: the
	 * key first, so that a node reloading in between sees a mismatch
	 * (refused, old config kept) rather than a half-new identity. */
	path_join(old, node_dir, "node.key.old");
	if (rename(key, old) != 0)
		return HIE_EIO;
	path_join(old, node_dir, "node.crt.old");
	if (link(crt, old) != 0 && errno != EEXIST)
		return HIE_EIO;
	if (rename(nkey, key) != 0 || rename(ncrt, crt) != 0)
		return HIE_EIO;
	return HIE_OK;
}

hie_err
cert_revoke(const char *ca_dir, const char *cert_path)
{
	char  path[PATHLEN], serial[80], line[160];
	X509 *c = load_cert(cert_path);

	if (c == NULL)
		return HIE_ENOTFOUND;
	serial_hex(c, serial, sizeof(serial));
	X509_free(c);
	snprintf(line, sizeof(line), "%s %lld\n", serial, (long long) time(NULL));
	path_join(path, ca_dir, "revoked.txt");
	return append_line(path, line);
}

hie_err
cert_crl_write(const char *ca_dir, int days, const char *out_path)
{
	char          path[PATHLEN], out[PATHLEN], line[256];
	EVP_PKEY     *cakey = NULL;
	X509         *ca = NULL;
	X509_CRL     *crl = NULL;
	ASN1_TIME    *t = NULL;
	FILE         *f;
	hie_err       e = HIE_ECRYPTO;

	path_join(path, ca_dir, "ca.key");
	cakey = load_key(path);
	path_join(path, ca_dir, "ca.crt");
	ca = load_cert(path);
	if (cakey == NULL || ca == NULL) {
		e = HIE_ENOTFOUND;
		goto fail;
	}
	if ((crl = X509_CRL_new()) == NULL || (t = ASN1_TIME_new()) == NULL)
		goto fail;
	if (!X509_CRL_set_version(crl, 1) || !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    X509_gmtime_adj(t, 0) == NULL || !X509_CRL_set1_lastUpdate(crl, t) ||
	    X509_gmtime_adj(t, (long) days * 86400) == NULL || !X509_CRL_set1_nextUpdate(crl, t))
		goto fail;
	path_join(path, ca_dir, "revoked.txt");
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char           hex[128];
			long long      when;
			BIGNUM        *bn = NULL;
			X509_REVOKED  *rv;
			ASN1_INTEGER  *sn;
			if (sscanf(line, "%127s %lld", hex, &when) != 2 || BN_hex2bn(&bn, hex) == 0)
				continue;
			rv = X509_REVOKED_new();
			sn = BN_to_ASN1_INTEGER(bn, NULL);
			ASN1_TIME_set(t, (time_t) when);
			if (rv != NULL && sn != NULL && X509_REVOKED_set_serialNumber(rv, sn) &&
			    X509_REVOKED_set_revocationDate(rv, t) && X509_CRL_add0_revoked(crl, rv))
				rv = NULL;
			X509_REVOKED_free(rv);
			ASN1_INTEGER_free(sn);
			BN_free(bn);
		}
		fclose(f);
	}
	X509_CRL_sort(crl);
	if (!X509_CRL_sign(crl, cakey, EVP_sha256()))
		goto fail;
	if (out_path == NULL) {
		path_join(out, ca_dir, "crl.pem");
		out_path = out;
	}
	if ((f = open_out(out_path, 0644, 0)) == NULL) {
		e = HIE_EIO;
		goto fail;
	}
	e = close_out(f, PEM_write_X509_CRL(f, crl) == 1);
fail:
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return e;
}

hie_err
cert_community(const char *cert_path, char *out, size_t cap)
{
	X509 *c = load_cert(cert_path);
	int   ok;

	if (c == NULL)
		return HIE_ENOTFOUND;
	ok = hie_x509_community(c, out, cap);
	X509_free(c);
	return ok ? HIE_OK : HIE_ENOTFOUND;
}

hie_err
cert_verify(const char *ca_path, const char *crl_path, const char *cert_path,
    const char *community, char *why, size_t whycap)
{
	X509          *ca = load_cert(ca_path), *c = load_cert(cert_path);
	X509_STORE    *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_CRL      *crl = NULL;
	char           have[512];
	hie_err        e = HIE_ECERT;
	FILE          *f;

	snprintf(why, whycap, "ok");
	if (ca == NULL || c == NULL) {
		snprintf(why, whycap, "cannot read %s", ca == NULL ? ca_path : cert_path);
		e = HIE_ENOTFOUND;
		goto done;
	}
	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_add_cert(store, ca)) {
		e = HIE_ECRYPTO;
		goto done;
	}
	if (crl_path != NULL && crl_path[0] != '\0') {
		if ((f = fopen(crl_path, "r")) == NULL ||
		    (crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) == NULL) {
			if (f != NULL)
				fclose(f);
			snprintf(why, whycap, "cannot read CRL %s", crl_path);
			goto done;
		}
		fclose(f);
		X509_STORE_add_crl(store, crl);
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	X509_STORE_CTX_init(ctx, store, c, NULL);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1) {
		int err = X509_STORE_CTX_get_error(ctx);
		if (err == X509_V_ERR_CERT_HAS_EXPIRED) {
			const ASN1_TIME *na = X509_get0_notAfter(c);
			struct tm        tm;
			ASN1_TIME_to_tm(na, &tm);
			snprintf(why, whycap, "expired on %04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		} else if (err == X509_V_ERR_CERT_REVOKED) {
			snprintf(why, whycap, "revoked by the network CA");
		} else if (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
		           err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
		           err == X509_V_ERR_CERT_SIGNATURE_FAILURE) {
			snprintf(why, whycap, "not issued by the network CA (%s)", X509_verify_cert_error_string(err));
		} else {
			snprintf(why, whycap, "%s", X509_verify_cert_error_string(err));
		}
		goto done;
	}
	if (community != NULL) {
		int ok = hie_x509_community(c, have, sizeof(have));
		if (!ok || strcmp(have, community) != 0) {
			snprintf(why, whycap, "certificate belongs to community %s, not %s",
			    ok ? have : "(none)", community);
			goto done;
		}
	}
	e = HIE_OK;
done:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_CRL_free(crl);
	X509_free(ca);
	X509_free(c);
	ERR_clear_error();
	return e;
}
