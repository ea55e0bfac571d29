/*
 * mpi/hie-mpi.c -- the MPI's command line: load patients from CSV, train
 * the model, search, show, look up, review, link, merge; and eval, which
 * runs the whole matcher on FEBRL files in a scratch store and measures it
 * against the truth in rec_id (which the matcher never sees).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi/mpi.h"
#include "node/store.h"

/* Records per transaction: a batch is matched in parallel and its index
 * writes sorted (mpi_add_batch), so larger batches share more of the
 * store's pages between their lookups and writes, and each commit writes
 * back pages that more records dirtied.  At 1M records on 2 cores
 * (docs/benchmarks.md, mpi sixth pass) 10,000 loaded 16,600/s, 20,000
 * 25,000/s, 25,000 26,800-28,800/s (peak RSS 2.7 GB), 50,000 22,400/s
 * (peak RSS 3.9 GB: three batches are in flight in the pipeline). */
#define BATCH 25000
#define LINE_MAX_LEN 4096

static void
usage(void)
{
	fputs("usage: hie-mpi -d DATA_DIR [-m MAP_MB] COMMAND\n"
	      "  load FILE.csv [--nomatch] [--lenient]  add patients (header names the columns)\n"
	      "  train [MAX_PAIRS]           estimate m/u by EM on the blocking pairs\n"
	      "  model                       print the model in force\n"
	      "  search [--given G] [--family F] [--dob D] [--postcode P] [--ssn S] [--min PROB]\n"
	      "  lookup 'ID^^^&OID&ISO'      enterprise id and every linked identifier\n"
	      "  show EID | show --rid RID   an enterprise id's records and their history\n"
	      "  review list | review accept ID | review reject ID\n"
	      "  link RID EID | unlink RID | merge FROM INTO | unmerge FROM\n"
	      "hie-mpi eval FILE [FILE2]     FEBRL accuracy in a scratch store\n",
	    stderr);
}

static int
fail(const char *what, hie_err e)
{
	fprintf(stderr, "hie-mpi: %s: %s (%s)\n", what, hie_strerror(e), hie_errname(e));
	return 1;
}

/* ---- reading CSV files ---- */

struct rows {
	struct mpi_patient *p;
	long               *entity; /* N of rec-N-..., -1 if none */
	int                *file;
	size_t              n, cap;
	size_t              dates_dropped; /* lenient: unparseable birth dates */
};

static long
entity_of(const char *label)
{
	return strncmp(label, "rec-", 4) == 0 ? strtol(label + 4, NULL, 10) : -1;
}

/* lenient: a birth date that is not a date is dropped (counted), not the
 * record: what a loader of dirty legacy data does.  mpi_add itself always
 * refuses an invalid date. */
static int
read_csv(const char *path, int file, int lenient, struct rows *r)
{
	FILE          *f = fopen(path, "r");
	char           line[LINE_MAX_LEN], label[64];
	struct mpi_csv csv;
	size_t         lineno = 1;

	if (f == NULL) {
		fprintf(stderr, "hie-mpi: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL || mpi_csv_header(line, &csv) != HIE_OK) {
		fprintf(stderr, "hie-mpi: %s: no header with a name column\n", path);
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (line[strspn(line, " \r\n")] == '\0')
			continue;
		if (r->n == r->cap) {
			size_t nc = r->cap ? r->cap * 2 : 1024;
			void  *a = realloc(r->p, nc * sizeof(*r->p)), *b, *c;
			if (a != NULL)
				r->p = a;
			b = realloc(r->entity, nc * sizeof(*r->entity));
			if (b != NULL)
				r->entity = b;
			c = realloc(r->file, nc * sizeof(*r->file));
			if (c != NULL)
				r->file = c;
			if (a == NULL || b == NULL || c == NULL) {
				fclose(f);
				return -1;
			}
			r->cap = nc;
		}
		if (mpi_csv_row(&csv, line, &r->p[r->n], label, sizeof(label)) != HIE_OK) {
			fprintf(stderr, "hie-mpi: %s:%zu: malformed row, skipped\n", path, lineno);
			continue;
		}
		if (lenient && r->p[r->n].birth_date[0] != '\0') {
			char d[9];
			if (mpi_date_parse(r->p[r->n].birth_date, d) != HIE_OK) {
				r->p[r->n].birth_date[0] = '\0';
				r->dates_dropped++;
			}
		}
		r->entity[r->n] = entity_of(label);
		r->file[r->n] = file;
		r->n++;
	}
	fclose(f);
	return 0;
}

static void
rows_free(struct rows *r)
{
	free(r->p);
	free(r->entity);
	free(r->file);
}

/* Adds all rows in batches; res[i] per row.  Counts per outcome. */
struct load_ctx {
	struct rows       *r;
	struct mpi_result *res;
	size_t            *counts;
	size_t             next, done;
};

static hie_err
load_next(void *arg, struct mpi_patient *p, size_t cap, size_t *n)
{
	struct load_ctx *x = arg;

	*n = x->r->n - x->next < cap ? x->r->n - x->next : cap;
	memcpy(p, x->r->p + x->next, *n * sizeof(*p));
	x->next += *n;
	return HIE_OK;
}

static hie_err
load_done(void *arg, struct mpi_patient *p, struct mpi_result *res, size_t n)
{
	struct load_ctx *x = arg;

	for (size_t j = 0; j < n; j++) {
		x->r->p[x->done + j].rid = p[j].rid;
		x->r->p[x->done + j].eid = p[j].eid;
		x->res[x->done + j] = res[j];
		x->counts[res[j].err != HIE_OK ? 4 : res[j].outcome]++;
	}
	x->done += n;
	return HIE_OK;
}

static hie_err
load_rows(mpi *m, struct rows *r, unsigned flags, struct mpi_result *res, size_t counts[5])
{
	struct load_ctx x = { r, res, counts, 0, 0 };

	/* Batch k is matched while batch k - 1 is written (mpi_add_stream). */
	return mpi_add_stream(m, BATCH, flags, load_next, load_done, &x);
}

/* ---- commands on a data directory ---- */

static int
cmd_load(mpi *m, int argc, char **argv)
{
	struct rows        r = { 0 };
	struct mpi_result *res;
	size_t             counts[5] = { 0 };
	unsigned           flags = 0;
	int                lenient = 0;
	int64_t            t0 = hie_now_ms();
	hie_err            e;

	if (argc < 2)
		return usage(), 2;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--nomatch") == 0)
			flags |= MPI_ADD_NOMATCH;
		else if (strcmp(argv[i], "--lenient") == 0)
			lenient = 1;
		else
			return usage(), 2;
	}
	if (read_csv(argv[1], 0, lenient, &r) != 0)
		return 1;
	if (r.dates_dropped > 0)
		printf("lenient: %zu invalid birth dates dropped\n", r.dates_dropped);
	if ((res = calloc(r.n ? r.n : 1, sizeof(*res))) == NULL)
		return fail("load", HIE_ENOMEM);
	e = load_rows(m, &r, flags, res, counts);
	for (size_t i = 0; i < r.n && e == HIE_OK; i++)
		if (res[i].err != HIE_OK)
			printf("refused row %zu: %s: %s\n", i + 1, hie_strerror(res[i].err), res[i].why);
	if (e == HIE_OK)
		printf("loaded %zu records in %lld ms: new=%zu linked-id=%zu linked-match=%zu review=%zu "
		       "refused=%zu\n",
		    r.n - counts[4], (long long) (hie_now_ms() - t0), counts[MPI_NEW], counts[MPI_LINKED_ID],
		    counts[MPI_LINKED_MATCH], counts[MPI_REVIEW], counts[4]);
	free(res);
	rows_free(&r);
	return e == HIE_OK ? (counts[4] ? 1 : 0) : fail("load", e);
}

static void
print_model(const struct mpi_model *md)
{
	printf("model: %s, p=%.4f, iterations=%d, pairs=%llu, link>=%.2f, review>=%.2f\n",
	    md->trained ? "trained" : "default priors", md->p, md->iterations,
	    (unsigned long long) md->pairs, md->link, md->review);
	for (int f = 0; f < MPI_NFIELDS; f++) {
		printf("  %-9s", mpi_field_name(f));
		for (int l = 0; l < mpi_field_levels(f); l++)
			printf(" L%d m=%.4f u=%.4f", l, md->m[f][l], md->u[f][l]);
		printf("\n");
	}
}

static int
cmd_train(mpi *m, int argc, char **argv)
{
	struct mpi_model md;
	hie_err          e = mpi_train(m, argc > 1 ? strtoul(argv[1], NULL, 10) : 5000000, &md);

	if (e != HIE_OK)
		return fail("train", e);
	print_model(&md);
	return 0;
}

static int
cmd_model(mpi *m, int argc, char **argv)
{
	struct mpi_model md;
	hie_err          e = mpi_model_get(m, &md);

	(void) argc, (void) argv;
	if (e != HIE_OK)
		return fail("model", e);
	print_model(&md);
	return 0;
}

static void
print_record(const struct mpi_patient *p)
{
	const struct mpi_name *n = &p->names[0];
	const struct mpi_addr *a = &p->addrs[0];

	printf("  record %llu: %s %s, born %s%s%c, %s %s, %s %s %s", (unsigned long long) p->rid,
	    p->n_names ? n->given : "", p->n_names ? n->family : "", p->birth_date[0] ? p->birth_date : "?",
	    p->sex ? ", sex " : "", p->sex ? p->sex : ' ', p->n_addrs ? a->number : "", p->n_addrs ? a->street : "",
	    p->n_addrs ? a->city : "", p->n_addrs ? a->postcode : "", p->n_addrs ? a->state : "");
	for (size_t i = 0; i < p->n_ids; i++) {
		char cx[300];
		if (mpi_cx_format(&p->ids[i].cx, cx, sizeof(cx)) == HIE_OK)
			printf(", %s %s", p->ids[i].type, cx);
	}
	printf("\n");
}

static int
cmd_search(mpi *m, int argc, char **argv)
{
	struct mpi_patient  *q = calloc(1, sizeof(*q));
	struct mpi_candidate c[20];
	double               min = 0.01;
	size_t               n;
	hie_err              e;

	if (q == NULL)
		return fail("search", HIE_ENOMEM);
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (strcmp(o, "--given") == 0)
			hie_strlcpy(q->names[0].given, v, sizeof(q->names[0].given)), q->n_names = 1;
		else if (strcmp(o, "--family") == 0)
			hie_strlcpy(q->names[0].family, v, sizeof(q->names[0].family)), q->n_names = 1;
		else if (strcmp(o, "--dob") == 0)
			hie_strlcpy(q->birth_date, v, sizeof(q->birth_date));
		else if (strcmp(o, "--postcode") == 0)
			hie_strlcpy(q->addrs[0].postcode, v, sizeof(q->addrs[0].postcode)), q->n_addrs = 1;
		else if (strcmp(o, "--ssn") == 0) {
			hie_strlcpy(q->ids[0].cx.id, v, sizeof(q->ids[0].cx.id));
			hie_strlcpy(q->ids[0].cx.authority, MPI_CSV_SSN_OID, sizeof(q->ids[0].cx.authority));
			hie_strlcpy(q->ids[0].type, "SS", sizeof(q->ids[0].type));
			q->n_ids = 1;
		} else if (strcmp(o, "--min") == 0)
			min = strtod(v, NULL);
		else {
			free(q);
			return usage(), 2;
		}
	}
	e = mpi_search(m, q, min, c, 20, &n);
	free(q);
	if (e != HIE_OK)
		return fail("search", e);
	for (size_t i = 0; i < n; i++) {
		struct mpi_patient p;
		printf("enterprise %llu prob=%.4f weight=%.2f\n", (unsigned long long) c[i].eid, c[i].prob,
		    c[i].weight);
		if (mpi_get(m, c[i].rid, &p) == HIE_OK)
			print_record(&p);
	}
	if (n == 0)
		printf("no candidates\n");
	return 0;
}

static int
cmd_lookup(mpi *m, int argc, char **argv)
{
	struct mpi_cx    cx;
	struct mpi_ident ids[32];
	uint64_t         eid;
	size_t           n;
	hie_err          e;

	if (argc < 2)
		return usage(), 2;
	if ((e = mpi_cx_parse(argv[1], &cx)) != HIE_OK)
		return fail(argv[1], e);
	if ((e = mpi_lookup_id(m, &cx, &eid, ids, 32, &n)) != HIE_OK)
		return fail(argv[1], e);
	printf("enterprise %llu\n", (unsigned long long) eid);
	for (size_t i = 0; i < n && i < 32; i++) {
		char s[300];
		if (mpi_cx_format(&ids[i].cx, s, sizeof(s)) == HIE_OK)
			printf("  %s %s\n", ids[i].type[0] ? ids[i].type : "-", s);
	}
	return 0;
}

static void
print_history(mpi *m, uint64_t rid)
{
	struct mpi_hist h[32];
	size_t          n;

	if (mpi_history(m, rid, h, 32, &n) != HIE_OK)
		return;
	for (size_t i = 0; i < n && i < 32; i++)
		printf("    #%llu %s %llu -> %llu at %lld\n", (unsigned long long) h[i].seq, mpi_hist_name(h[i].op),
		    (unsigned long long) h[i].from_eid, (unsigned long long) h[i].to_eid, (long long) h[i].time);
}

static int
cmd_show(mpi *m, int argc, char **argv)
{
	struct mpi_patient p;
	uint64_t           rids[256], eid, live;
	size_t             n;
	hie_err            e;

	if (argc < 2)
		return usage(), 2;
	if (strcmp(argv[1], "--rid") == 0 && argc > 2) {
		if ((e = mpi_get(m, strtoull(argv[2], NULL, 10), &p)) != HIE_OK)
			return fail("show", e);
		printf("enterprise %llu\n", (unsigned long long) p.eid);
		print_record(&p);
		print_history(m, p.rid);
		return 0;
	}
	eid = strtoull(argv[1], NULL, 10);
	if ((e = mpi_resolve(m, eid, &live)) != HIE_OK || (e = mpi_members(m, live, rids, 256, &n)) != HIE_OK)
		return fail("show", e);
	if (live != eid)
		printf("enterprise %llu was merged into %llu\n", (unsigned long long) eid, (unsigned long long) live);
	printf("enterprise %llu: %zu records\n", (unsigned long long) live, n);
	for (size_t i = 0; i < n && i < 256; i++) {
		if (mpi_get(m, rids[i], &p) != HIE_OK)
			continue;
		print_record(&p);
		print_history(m, p.rid);
	}
	return 0;
}

static int
cmd_review(mpi *m, int argc, char **argv)
{
	hie_err e;

	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		struct mpi_review r[200];
		size_t            n;
		if ((e = mpi_review_list(m, r, 200, &n)) != HIE_OK)
			return fail("review list", e);
		for (size_t i = 0; i < n && i < 200; i++)
			printf("review %llu: record %llu may be enterprise %llu (prob %.3f)\n",
			    (unsigned long long) r[i].id, (unsigned long long) r[i].rid,
			    (unsigned long long) r[i].eid, r[i].prob);
		printf("%zu waiting\n", n);
		return 0;
	}
	if (argc >= 3 && (strcmp(argv[1], "accept") == 0 || strcmp(argv[1], "reject") == 0)) {
		uint64_t id = strtoull(argv[2], NULL, 10);
		e = argv[1][0] == 'a' ? mpi_review_accept(m, id) : mpi_review_reject(m, id);
		if (e != HIE_OK)
			return fail(argv[1], e);
		printf("review %llu %sed\n", (unsigned long long) id, argv[1]);
		return 0;
	}
	return usage(), 2;
}

static int
cmd_link(mpi *m, int argc, char **argv)
{
	uint64_t a = argc > 1 ? strtoull(argv[1], NULL, 10) : 0, b = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
	hie_err  e;

	if (strcmp(argv[0], "unlink") == 0 && argc == 2) {
		if ((e = mpi_unlink(m, a, &b)) != HIE_OK)
			return fail("unlink", e);
		printf("record %llu now enterprise %llu\n", (unsigned long long) a, (unsigned long long) b);
		return 0;
	}
	if (strcmp(argv[0], "unmerge") == 0 && argc == 2)
		e = mpi_unmerge(m, a);
	else if (argc != 3)
		return usage(), 2;
	else if (strcmp(argv[0], "link") == 0)
		e = mpi_link(m, a, b);
	else
		e = mpi_merge(m, a, b);
	if (e != HIE_OK)
		return fail(argv[0], e);
	printf("%s done\n", argv[0]);
	return 0;
}

/* ---- eval ---- */

struct item {
	uint64_t eid;
	long     entity;
	int      file;
};

static int
item_cmp_eid(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->eid != y->eid)
		return x->eid < y->eid ? -1 : 1;
	return x->entity < y->entity ? -1 : x->entity > y->entity;
}

static int
item_cmp_ent(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	return x->entity < y->entity ? -1 : x->entity > y->entity;
}

/* Pairs within groups of equal key (by_eid: eid, and entity when both);
 * linkage counts only pairs across the two files. */
static double
group_pairs(struct item *it, size_t n, int by_eid, int by_ent, int linkage)
{
	double total = 0;
	size_t i = 0;

	qsort(it, n, sizeof(*it), by_eid ? item_cmp_eid : item_cmp_ent);
	while (i < n) {
		size_t j = i;
		double c[2] = { 0, 0 };
		while (j < n && (!by_eid || it[j].eid == it[i].eid) && (!by_ent || it[j].entity == it[i].entity)) {
			c[it[j].file]++;
			j++;
		}
		total += linkage ? c[0] * c[1] : (c[0] + c[1]) * (c[0] + c[1] - 1) / 2;
		i = j;
	}
	return total;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st, (void) flag, (void) ftw;
	return remove(path);
}

static hie_err
open_store(const char *dir, size_t map_mb, MDB_env **env, mpi **m)
{
	hie_err e;

	if ((e = hie_store_open(dir, map_mb, env)) != HIE_OK)
		return e;
	if ((e = mpi_open(*env, m)) != HIE_OK) {
		hie_store_close(*env);
		*env = NULL;
	}
	return e;
}

static int
cmd_eval(int argc, char **argv)
{
	char               tmpl[] = "/tmp/hie-mpi-eval-XXXXXX", da[64], db[64];
	struct rows        r = { 0 };
	struct mpi_result *res = NULL;
	struct item       *it = NULL;
	struct mpi_model   md;
	MDB_env           *ea = NULL, *eb = NULL;
	mpi               *ma = NULL, *mb = NULL;
	uint64_t          *pairs = NULL, *rid_row = NULL;
	size_t             npairs = 0, counts[5] = { 0 }, nfiles = (size_t) argc - 1, n;
	double             truth, pred, tp, bl_tp = 0, bl_all = 0, total, prec, rec, f1;
	int                linkage = nfiles == 2, rc = 1;
	int64_t            t0 = hie_now_ms();
	hie_err            e;

	if (nfiles < 1 || nfiles > 2)
		return usage(), 2;
	for (size_t f = 0; f < nfiles; f++)
		if (read_csv(argv[1 + f], (int) f, 1, &r) != 0)
			goto done;
	if (r.n == 0 || mkdtemp(tmpl) == NULL)
		goto done;
	snprintf(da, sizeof(da), "%s/train", tmpl);
	snprintf(db, sizeof(db), "%s/match", tmpl);
	if ((res = calloc(r.n, sizeof(*res))) == NULL || (it = calloc(r.n, sizeof(*it))) == NULL ||
	    (rid_row = calloc(r.n + 1, sizeof(*rid_row))) == NULL)
		goto done;

	/* 1. Index everything without matching, and fit the model by EM on
	 *    the blocking pairs: the node's own data, no labels. */
	if ((e = open_store(da, 2048, &ea, &ma)) != HIE_OK || (e = load_rows(ma, &r, MPI_ADD_NOMATCH, res, counts)) != HIE_OK) {
		fail("eval: training store", e);
		goto done;
	}
	for (size_t i = 0; i < r.n; i++)
		if (res[i].err == HIE_OK && res[i].rid <= r.n)
			rid_row[res[i].rid] = i + 1;
	if ((e = mpi_block_pairs(ma, (size_t) 50000000, &pairs, &npairs)) != HIE_OK) {
		fail("eval: blocking", e);
		goto done;
	}
	for (size_t i = 0; i < npairs; i++) {
		size_t a = rid_row[pairs[2 * i]], b = rid_row[pairs[2 * i + 1]];
		if (a == 0 || b == 0 || (linkage && r.file[a - 1] == r.file[b - 1]))
			continue;
		bl_all++;
		bl_tp += r.entity[a - 1] >= 0 && r.entity[a - 1] == r.entity[b - 1];
	}
	if ((e = mpi_train(ma, 5000000, &md)) != HIE_OK) {
		fail("eval: train", e);
		goto done;
	}

	/* 2. Match every record as it arrives, with that model. */
	memset(counts, 0, sizeof(counts));
	if ((e = open_store(db, 2048, &eb, &mb)) != HIE_OK || (e = mpi_model_set(mb, &md)) != HIE_OK ||
	    (e = load_rows(mb, &r, 0, res, counts)) != HIE_OK) {
		fail("eval: matching store", e);
		goto done;
	}

	/* 3. Pairs: the truth (same rec-N), predicted (same enterprise id),
	 *    and both. */
	/* A refused record is a patient the matcher failed: its own
	 * singleton, so its true pairs count as missed. */
	n = r.n;
	for (size_t i = 0; i < r.n; i++)
		it[i] = (struct item) { res[i].err == HIE_OK ? res[i].eid : UINT64_MAX - i,
			r.entity[i] >= 0 ? r.entity[i] : -(long) i - 2, r.file[i] };
	truth = group_pairs(it, n, 0, 1, linkage);
	pred = group_pairs(it, n, 1, 0, linkage);
	tp = group_pairs(it, n, 1, 1, linkage);
	prec = pred > 0 ? tp / pred : 0;
	rec = truth > 0 ? tp / truth : 0;
	f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
	if (linkage) {
		double c0 = 0;
		for (size_t i = 0; i < n; i++)
			c0 += it[i].file == 0;
		total = c0 * ((double) n - c0);
	} else
		total = (double) n * ((double) n - 1) / 2;
	printf("records=%zu refused=%zu dates_dropped=%zu true_pairs=%.0f\n", n, counts[4], r.dates_dropped, truth);
	printf("pairs=%.0f precision=%.4f recall=%.4f f1=%.4f\n", pred, prec, rec, f1);
	printf("blocking: candidate_pairs=%.0f pairs_completeness=%.4f reduction_ratio=%.6f\n", bl_all,
	    truth > 0 ? bl_tp / truth : 0, total > 0 ? 1 - bl_all / total : 0);
	printf("em: p=%.4f iterations=%d em_pairs=%llu outcomes: new=%zu linked-match=%zu review=%zu "
	       "linked-id=%zu; %lld ms\n",
	    md.p, md.iterations, (unsigned long long) md.pairs, counts[MPI_NEW], counts[MPI_LINKED_MATCH],
	    counts[MPI_REVIEW], counts[MPI_LINKED_ID], (long long) (hie_now_ms() - t0));
	if (getenv("HIE_MPI_EVAL_MODEL") != NULL)
		print_model(&md);
	rc = 0;
done:
	mpi_close(ma);
	mpi_close(mb);
	hie_store_close(ea);
	hie_store_close(eb);
	if (strcmp(tmpl, "/tmp/hie-mpi-eval-XXXXXX") != 0)
		nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(pairs);
	free(rid_row);
	free(res);
	free(it);
	rows_free(&r);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(mpi *, int, char **);
} commands[] = {
	{ "load", cmd_load }, { "train", cmd_train }, { "model", cmd_model }, { "search", cmd_search },
	{ "lookup", cmd_lookup }, { "show", cmd_show }, { "review", cmd_review }, { "link", cmd_link },
	{ "unlink", cmd_link }, { "merge", cmd_link }, { "unmerge", cmd_link },
};

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	size_t      map_mb = 1024;
	MDB_env    *env;
	mpi        *m;
	hie_err     e;
	int         opt, rc = 2;

	hie_log_set_level(HIE_LOG_WARN);
	while ((opt = getopt(argc, argv, "+d:m:")) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (opt == 'm')
			map_mb = strtoul(optarg, NULL, 10);
		else
			return usage(), 2;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage(), 2;
	if (strcmp(argv[0], "eval") == 0)
		return cmd_eval(argc, argv);
	if (dir == NULL)
		return usage(), 2;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		if ((e = open_store(dir, map_mb, &env, &m)) != HIE_OK)
			return fail(dir, e);
		rc = commands[i].fn(m, argc, argv);
		mpi_close(m);
		hie_store_close(env);
		return rc;
	}
	usage();
	return rc;
}
