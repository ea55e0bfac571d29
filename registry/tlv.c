/* registry/tlv.c -- the stored form of registry objects: one table of
 * fields per object type drives both encoding and decoding. */
#include "registry/internal.h"

#include <string.h>

#define TAG_SIZE 200

#define F(T, field) { offsetof(struct T, field), sizeof(((struct T *) 0)->field) }
/* Order is the on-disk tag: append only. */
static const struct reg_field entry_fields[] = {
	F(reg_entry, entry_uuid), F(reg_entry, unique_id), F(reg_entry, repository_id),
	F(reg_entry, patient_id), F(reg_entry, source_patient_id), F(reg_entry, status),
	F(reg_entry, class_code), F(reg_entry, class_scheme), F(reg_entry, class_display),
	F(reg_entry, type_code), F(reg_entry, type_scheme), F(reg_entry, type_display),
	F(reg_entry, format_code), F(reg_entry, format_scheme), F(reg_entry, confidentiality),
	F(reg_entry, mime_type), F(reg_entry, language), F(reg_entry, creation_time),
	F(reg_entry, service_start), F(reg_entry, service_stop), F(reg_entry, title),
	F(reg_entry, author), F(reg_entry, hash), F(reg_entry, practice_code),
	F(reg_entry, practice_scheme), F(reg_entry, facility_code), F(reg_entry, facility_scheme),
	F(reg_entry, event_codes), F(reg_entry, reference_ids), F(reg_entry, author_institution),
	F(reg_entry, author_role), F(reg_entry, comments), F(reg_entry, legal_authenticator),
	F(reg_entry, source_patient_info),
};
static const struct reg_field ss_fields[] = {
	F(reg_subset, entry_uuid), F(reg_subset, unique_id), F(reg_subset, source_id),
	F(reg_subset, patient_id), F(reg_subset, status), F(reg_subset, submission_time),
	F(reg_subset, content_type_code), F(reg_subset, content_type_scheme),
	F(reg_subset, content_type_display), F(reg_subset, title), F(reg_subset, author),
	F(reg_subset, author_institution), F(reg_subset, comments),
};
static const struct reg_field fol_fields[] = {
	F(reg_folder, entry_uuid), F(reg_folder, unique_id), F(reg_folder, patient_id),
	F(reg_folder, status), F(reg_folder, last_update_time), F(reg_folder, codes),
	F(reg_folder, title), F(reg_folder, comments),
};
static const struct reg_field assoc_fields[] = {
	F(reg_assoc, entry_uuid), F(reg_assoc, type), F(reg_assoc, source), F(reg_assoc, target),
	F(reg_assoc, status), F(reg_assoc, ss_status),
};
#undef F
#define N(a) (sizeof(a) / sizeof(a[0]))

const struct reg_schema reg_schema_entry = { entry_fields, N(entry_fields), offsetof(struct reg_entry, size) };
const struct reg_schema reg_schema_ss = { ss_fields, N(ss_fields), 0 };
const struct reg_schema reg_schema_fol = { fol_fields, N(fol_fields), 0 };
const struct reg_schema reg_schema_assoc = { assoc_fields, N(assoc_fields), 0 };

size_t
reg_tlv_max(const struct reg_schema *s)
{
	size_t n = 11; /* the size tag */

	for (size_t i = 0; i < s->n; i++)
		n += 3 + s->f[i].cap;
	return n;
}

size_t
reg_tlv_encode(const struct reg_schema *s, const void *obj, unsigned char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		const char *v = (const char *) obj + s->f[i].off;
		size_t      l = strnlen(v, s->f[i].cap - 1);
		if (l == 0)
			continue;
		out[n++] = (unsigned char) i;
		out[n++] = (unsigned char) (l >> 8);
		out[n++] = (unsigned char) l;
		memcpy(out + n, v, l);
		n += l;
	}
	if (s->size_off != 0) {
		uint64_t size;
		memcpy(&size, (const char *) obj + s->size_off, sizeof(size));
		out[n++] = TAG_SIZE;
		out[n++] = 0;
		out[n++] = 8;
		for (int i = 7; i >= 0; i--)
			out[n++] = (unsigned char) (size >> (8 * i));
	}
	return n;
}

hie_err
reg_tlv_decode(const struct reg_schema *s, const unsigned char *p, size_t len, void *obj)
{
	size_t i = 0;

	while (i + 3 <= len) {
		unsigned tag = p[i];
		size_t   l = ((size_t) p[i + 1] << 8) | p[i + 2];
		i += 3;
		if (l > len - i)
			return HIE_EDB;
		if (tag == TAG_SIZE && l == 8 && s->size_off != 0) {
			uint64_t size = 0;
			for (size_t k = 0; k < 8; k++)
				size = (size << 8) | p[i + k];
			memcpy((char *) obj + s->size_off, &size, sizeof(size));
		} else if (tag < s->n && l < s->f[tag].cap) {
			char *dst = (char *) obj + s->f[tag].off;
			memcpy(dst, p + i, l);
			dst[l] = '\0';
		}
		i += l;
	}
	return i == len ? HIE_OK : HIE_EDB;
}
