/* certs/directory.c -- keeping and signing the peer directory. */
#include "certs/directory.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs/cert.h"
#include "node/directory.h"

hie_err
cert_fingerprint(const char *cert_path, unsigned char fp[32])
{
	FILE        *f = fopen(cert_path, "r");
	X509        *c = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned int n = 32;
	hie_err      e = HIE_OK;

	if (f != NULL)
		fclose(f);
	if (c == NULL)
		return f == NULL ? HIE_ENOTFOUND : HIE_ECERT;
	if (X509_digest(c, EVP_sha256(), fp, &n) != 1 || n != 32)
		e = HIE_ECRYPTO;
	X509_free(c);
	return e;
}

/* The working copy; an absent file is an empty directory. */
static hie_err
load_working(const char *path, struct node_directory *d, char *why, size_t whycap)
{
	struct stat st;

	memset(d, 0, sizeof(*d));
	if (stat(path, &st) != 0 && errno == ENOENT)
		return HIE_OK;
	return node_directory_load(path, NULL, d, why, whycap);
}

static hie_err
save(const char *path, const struct node_directory *d, const char *sig_line)
{
	char   *text, *all;
	size_t  len;
	hie_err e;

	if ((e = node_directory_format(d, &text, &len)) != HIE_OK)
		return e;
	if (sig_line == NULL) {
		e = hie_write_file(path, text, len, 0644);
		free(text);
		return e;
	}
	if ((all = malloc(len + strlen(sig_line) + 1)) == NULL) {
		free(text);
		return HIE_ENOMEM;
	}
	memcpy(all, text, len);
	strcpy(all + len, sig_line);
	e = hie_write_file(path, all, strlen(all), 0644);
	free(all);
	free(text);
	return e;
}

hie_err
cert_directory_add(const char *path, const char *ca_dir, const char *name, const char *community,
    const char *address, const char *http, const char *cert_path, char *why, size_t whycap)
{
	struct node_directory   d;
	struct node_dir_member *m = NULL, *v;
	unsigned char           fp[32];
	char                    ca[4096], crl[4096], cert_comm[256];
	hie_err                 e;

	snprintf(why, whycap, "ok");
	if (!cert_name_ok(name)) {
		snprintf(why, whycap, "bad member name %s", name);
		return HIE_EINVAL;
	}
	snprintf(ca, sizeof(ca), "%s/ca.crt", ca_dir);
	snprintf(crl, sizeof(crl), "%s/crl.pem", ca_dir);
	/* Only a certificate the network trusts, for the community it names. */
	if ((e = cert_verify(ca, access(crl, R_OK) == 0 ? crl : NULL, cert_path, community, why, whycap)) != HIE_OK)
		return e;
	if ((e = cert_community(cert_path, cert_comm, sizeof(cert_comm))) != HIE_OK ||
	    (e = cert_fingerprint(cert_path, fp)) != HIE_OK) {
		snprintf(why, whycap, "%s: %s", cert_path, hie_strerror(e));
		return e;
	}
	if ((e = load_working(path, &d, why, whycap)) != HIE_OK)
		return e;
	for (size_t i = 0; i < d.n; i++) {
		if (strcmp(d.v[i].name, name) == 0)
			m = &d.v[i];
		else if (strcmp(d.v[i].community, community) == 0) {
			snprintf(why, whycap, "community %s already belongs to [%s]", community, d.v[i].name);
			node_directory_free(&d);
			return HIE_EEXIST;
		}
	}
	if (m == NULL) {
		if (d.n >= NODE_DIR_MAX_MEMBERS || (v = realloc(d.v, (d.n + 1) * sizeof(*v))) == NULL) {
			node_directory_free(&d);
			return HIE_ENOMEM;
		}
		d.v = v;
		m = &d.v[d.n++];
		memset(m, 0, sizeof(*m));
		hie_strlcpy(m->name, name, sizeof(m->name));
	}
	if (strcmp(m->community, community) != 0)
		m->nfp = 0; /* another community: old certificates do not carry over */
	hie_strlcpy(m->community, community, sizeof(m->community));
	if (address != NULL)
		hie_strlcpy(m->address, address, sizeof(m->address));
	if (http != NULL)
		hie_strlcpy(m->http, http, sizeof(m->http));
	for (int f = 0; f < m->nfp; f++)
		if (memcmp(m->fp[f], fp, 32) == 0)
			goto write;
	if (m->nfp == NODE_DIR_MAX_FP) {
		snprintf(why, whycap, "[%s] already lists %d certificates; remove one first", name, NODE_DIR_MAX_FP);
		node_directory_free(&d);
		return HIE_ETOOBIG;
	}
	memcpy(m->fp[m->nfp++], fp, 32);
write:
	if (m->address[0] == '\0') {
		snprintf(why, whycap, "[%s] needs --address tls+tcp://host:port", name);
		node_directory_free(&d);
		return HIE_EINVAL;
	}
	e = save(path, &d, NULL);
	node_directory_free(&d);
	return e;
}

hie_err
cert_directory_remove(const char *path, const char *name, const char *cert_path, char *why, size_t whycap)
{
	struct node_directory d;
	unsigned char         fp[32];
	hie_err               e;
	size_t                i;

	snprintf(why, whycap, "ok");
	if (cert_path != NULL && (e = cert_fingerprint(cert_path, fp)) != HIE_OK) {
		snprintf(why, whycap, "%s: %s", cert_path, hie_strerror(e));
		return e;
	}
	if ((e = load_working(path, &d, why, whycap)) != HIE_OK)
		return e;
	for (i = 0; i < d.n && strcmp(d.v[i].name, name) != 0; i++)
		;
	if (i == d.n) {
		snprintf(why, whycap, "no member [%s]", name);
		node_directory_free(&d);
		return HIE_ENOTFOUND;
	}
	if (cert_path != NULL) {
		struct node_dir_member *m = &d.v[i];
		int                     f;
		for (f = 0; f < m->nfp && memcmp(m->fp[f], fp, 32) != 0; f++)
			;
		if (f == m->nfp || m->nfp == 1) {
			e = f == m->nfp ? HIE_ENOTFOUND : HIE_EINVAL;
			snprintf(why, whycap, e == HIE_ENOTFOUND ? "[%s] does not list that certificate"
			                                         : "[%s] lists only that certificate; remove the member instead",
			    name);
			node_directory_free(&d);
			return e;
		}
		memmove(m->fp[f], m->fp[f + 1], (size_t) (m->nfp - f - 1) * 32);
		m->nfp--;
	} else {
		memmove(&d.v[i], &d.v[i + 1], (d.n - i - 1) * sizeof(d.v[0]));
		d.n--;
	}
	e = save(path, &d, NULL);
	node_directory_free(&d);
	return e;
}

hie_err
cert_directory_sign(const char *path, const char *ca_dir, const char *out_path, char *why, size_t whycap)
{
	struct node_directory d;
	char                  keypath[4096], *text = NULL, *b64 = NULL, *line = NULL;
	unsigned char         sig[512];
	size_t                len, siglen = sizeof(sig);
	FILE                 *f;
	EVP_PKEY             *key = NULL;
	EVP_MD_CTX           *md = NULL;
	hie_err               e;

	snprintf(why, whycap, "ok");
	if ((e = node_directory_load(path, NULL, &d, why, whycap)) != HIE_OK)
		return e;
	d.serial++;
	snprintf(keypath, sizeof(keypath), "%s/ca.key", ca_dir);
	if ((f = fopen(keypath, "r")) != NULL) {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	e = HIE_ECRYPTO;
	if (key == NULL)
		snprintf(why, whycap, "cannot read the CA key %s", keypath);
	else if (node_directory_format(&d, &text, &len) != HIE_OK)
		snprintf(why, whycap, "out of memory");
	/* What is signed is every byte before the signature line: the text
	 * and the blank line that sets the signature apart. */
	else if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	         EVP_DigestSignUpdate(md, text, len) != 1 || EVP_DigestSignUpdate(md, "\n", 1) != 1 ||
	         EVP_DigestSignFinal(md, sig, &siglen) != 1)
		snprintf(why, whycap, "signing failed");
	else if (hie_base64_encode(sig, siglen, &b64, NULL) != HIE_OK || (line = malloc(strlen(b64) + 32)) == NULL)
		snprintf(why, whycap, "out of memory");
	else {
		sprintf(line, "\nsignature = %s\n", b64);
		e = save(out_path != NULL ? out_path : path, &d, line);
		/* The working copy keeps the serial, so the next signing goes up. */
		if (e == HIE_OK && out_path != NULL && strcmp(out_path, path) != 0)
			e = save(path, &d, NULL);
		if (e != HIE_OK)
			snprintf(why, whycap, "cannot write: %s", hie_strerror(e));
		else
			snprintf(why, whycap, "signed serial %llu, %zu members", (unsigned long long) d.serial, d.n);
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	free(text);
	free(b64);
	free(line);
	node_directory_free(&d);
	return e;
}

static void
show(const struct node_directory *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct node_dir_member *m = &d->v[i];
		fprintf(f, "%s %s %s%s%s", m->name, m->community, m->address, m->http[0] ? " " : "", m->http);
		for (int k = 0; k < m->nfp; k++) {
			char hex[65];
			node_fp_format(m->fp[k], hex);
			fprintf(f, " sha256:%s", hex);
		}
		fputc('\n', f);
	}
}

hie_err
cert_directory_verify(const char *path, const char *ca_cert_path, FILE *f, char *why, size_t whycap)
{
	struct node_directory d;
	char                 *ca;
	size_t                len;
	hie_err               e;

	if ((e = hie_read_file(ca_cert_path, 1 << 20, &ca, &len)) != HIE_OK) {
		snprintf(why, whycap, "%s: %s", ca_cert_path, hie_strerror(e));
		return e;
	}
	e = node_directory_load(path, ca, &d, why, whycap);
	free(ca);
	if (e != HIE_OK)
		return e;
	fprintf(f, "%s: signed by the network CA, serial %llu, %zu members\n", path, (unsigned long long) d.serial, d.n);
	node_directory_free(&d);
	return HIE_OK;
}

hie_err
cert_directory_show(const char *path, FILE *f, char *why, size_t whycap)
{
	struct node_directory d;
	hie_err               e;

	if ((e = node_directory_load(path, NULL, &d, why, whycap)) != HIE_OK)
		return e;
	fprintf(f, "serial %llu, %s, %zu members\n", (unsigned long long) d.serial, d.signed_ ? "signed" : "UNSIGNED",
	    d.n);
	show(&d, f);
	node_directory_free(&d);
	return HIE_OK;
}
