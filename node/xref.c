/* node/xref.c -- the registry's patient checks answered by the MPI. */
#include "node/xref.h"

#include <string.h>

/* A patient id is known when the MPI holds a source record with it.  An
 * identifier linked to two enterprise ids (unlinked by hand) is still
 * known; which person it is, is the MPI's question, not the registry's. */
static int
patient_known(void *arg, const char *patient_id)
{
	struct mpi_cx cx;
	uint64_t      eid;
	size_t        n;
	hie_err       e;

	if (mpi_cx_parse(patient_id, &cx) != HIE_OK)
		return 0;
	e = mpi_lookup_id(arg, &cx, &eid, NULL, 0, &n);
	return e == HIE_OK || e == HIE_EAMBIGUOUS;
}

/* The other ids of the same assigning authority that the MPI holds for the
 * patient's live enterprise id.  Only the same authority: a merge joins two
 * ids of one domain (ADT A40), while a probabilistic link to another
 * source's local id is no reason to disclose what was filed under it. */
static size_t
patient_aliases(void *arg, const char *patient_id, char (*ids)[256], size_t cap)
{
	struct mpi_cx cx, all[16];
	uint64_t      eid;
	size_t        n, k = 0;

	if (mpi_cx_parse(patient_id, &cx) != HIE_OK ||
	    mpi_resolve_cx(arg, &cx, &eid, all, sizeof(all) / sizeof(all[0]), &n) != HIE_OK)
		return 0;
	for (size_t i = 0; i < n && i < sizeof(all) / sizeof(all[0]) && k < cap; i++)
		if (strcmp(all[i].authority, cx.authority) == 0 && strcmp(all[i].id, cx.id) != 0 &&
		    mpi_cx_format(&all[i], ids[k], sizeof(ids[k])) == HIE_OK)
			k++;
	return k;
}

void
node_xref_attach(reg *r, mpi *m, int require_known)
{
	reg_set_patient_check(r, require_known ? patient_known : NULL, m);
	reg_set_patient_aliases(r, patient_aliases, m);
}
