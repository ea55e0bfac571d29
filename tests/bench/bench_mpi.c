/*
 * tests/bench/bench_mpi.c DIR [RECORDS] [QUERIES] -- the MPI at scale.
 *
 * Generates RECORDS synthetic patients (default 1,000,000): 80 % distinct
 * people, 20 % second registrations of one of them with realistic errors
 * (typos, transposed letters, nicknames, swapped day/month, missing
 * fields, another postcode).  Fits the model by EM on the first 50,000 in
 * a scratch store, then loads everything with matching on (batches of
 * 25,000 records per transaction, BENCH_BATCH) and reports the load rate
 * (wall and CPU), the latency of QUERIES demographic searches (p50/p99),
 * RSS and the LMDB size, the pair-level accuracy against the generator's
 * truth, and the blocking's pairs completeness and reduction ratio.
 *
 * BENCH_REPEATS=1: people also have repeats -- 30 % of the women a maiden
 * name besides their married one, 20 % of everyone a previous address.
 * The first registration carries the other name or address half of the
 * time (as a second repeat); a later one is made under the maiden name or
 * at the previous address half of the time.  Without it the generator
 * draws exactly the figures of earlier runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "mpi/mpi.h"
#include "node/store.h"

static const char *const given[] = {
	"james", "john", "robert", "michael", "william", "david", "richard", "joseph", "thomas", "charles",
	"christopher", "daniel", "matthew", "anthony", "mark", "donald", "steven", "paul", "andrew", "joshua",
	"kenneth", "kevin", "brian", "george", "timothy", "ronald", "edward", "jason", "jeffrey", "ryan",
	"jacob", "gary", "nicholas", "eric", "jonathan", "stephen", "larry", "justin", "scott", "brandon",
	"benjamin", "samuel", "gregory", "alexander", "frank", "patrick", "raymond", "jack", "dennis", "jerry",
	"mary", "patricia", "jennifer", "linda", "elizabeth", "barbara", "susan", "jessica", "sarah", "karen",
	"lisa", "nancy", "betty", "margaret", "sandra", "ashley", "kimberly", "emily", "donna", "michelle",
	"carol", "amanda", "dorothy", "melissa", "deborah", "stephanie", "rebecca", "sharon", "laura", "cynthia",
	"kathleen", "amy", "angela", "shirley", "anna", "brenda", "pamela", "emma", "nicole", "helen",
	"samantha", "katherine", "christine", "debra", "rachel", "carolyn", "janet", "catherine", "maria", "heather",
	"olivia", "isabella", "sophia", "mia", "charlotte", "amelia", "harper", "evelyn", "abigail", "ella",
	"liam", "noah", "oliver", "elijah", "lucas", "mason", "logan", "ethan", "aiden", "jackson",
};
static const char *const family[] = {
	"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
	"hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin",
	"lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson",
	"walker", "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores",
	"green", "adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts",
	"gomez", "phillips", "evans", "turner", "diaz", "parker", "cruz", "edwards", "collins", "reyes",
	"stewart", "morris", "morales", "murphy", "cook", "rogers", "gutierrez", "ortiz", "morgan", "cooper",
	"peterson", "bailey", "reed", "kelly", "howard", "ramos", "kim", "cox", "ward", "richardson",
	"watson", "brooks", "chavez", "wood", "james", "bennett", "gray", "mendoza", "ruiz", "hughes",
	"price", "alvarez", "castillo", "sanders", "patel", "myers", "long", "ross", "foster", "jimenez",
	"powell", "jenkins", "perry", "russell", "sullivan", "bell", "coleman", "butler", "henderson", "barnes",
	"gonzales", "fisher", "vasquez", "simmons", "romero", "jordan", "patterson", "alexander", "hamilton", "graham",
	"reynolds", "griffin", "wallace", "moreno", "west", "cole", "hayes", "bryant", "herrera", "gibson",
	"ellis", "tran", "medina", "aguilar", "stevens", "murray", "ford", "castro", "marshall", "owens",
	"harrison", "fernandez", "mcdonald", "woods", "washington", "kennedy", "wells", "vargas", "henry", "chen",
	"freeman", "webb", "tucker", "guzman", "burns", "crawford", "olson", "simpson", "porter", "hunter",
	"gordon", "mendez", "silva", "shaw", "snyder", "mason", "dixon", "munoz", "hunt", "hicks",
	"holmes", "palmer", "wagner", "black", "robertson", "boyd", "rose", "stone", "salazar", "fox",
	"warren", "mills", "meyer", "rice", "schmidt", "garza", "daniels", "ferguson", "nichols", "stephens",
	"soto", "weaver", "ryan", "gardner", "payne", "grant", "dunn", "kelley", "spencer", "hawkins",
	"obrien", "vanderberg", "dubois", "oconnor", "mueller", "kowalski", "novak", "larsen", "rossi", "yamamoto",
};
static const char *const streets[] = {
	"main street", "high street", "park avenue", "oak road", "pine street", "maple avenue", "cedar lane",
	"elm street", "church road", "station road", "victoria street", "king street", "queen street",
	"mill lane", "school lane", "north road", "south street", "west avenue", "east road", "river drive",
	"lake view", "hill crescent", "forest way", "bridge street", "market place", "george street",
	"albert road", "york street", "green lane", "manor drive",
};
static const char *const nick[][2] = {
	{ "william", "bill" }, { "robert", "bob" }, { "richard", "dick" }, { "margaret", "peggy" },
	{ "elizabeth", "liz" }, { "james", "jim" }, { "michael", "mike" }, { "thomas", "tom" },
	{ "joseph", "joe" }, { "katherine", "kate" }, { "jennifer", "jen" }, { "anthony", "tony" },
	{ "samuel", "sam" }, { "daniel", "dan" }, { "edward", "ted" }, { "patricia", "trish" },
};

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define AUTH_A "1.3.6.1.4.1.21367.13.20.3000"
#define AUTH_B "1.3.6.1.4.1.21367.13.20.1000"

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static size_t
pick(size_t n)
{
	return (size_t) (rnd() % n);
}

/* Zipf-like: a few surnames are very common, as in a real population. */
static size_t
skewed(size_t n)
{
	double u = (double) (rnd() >> 11) / 9007199254740992.0;
	return (size_t) ((double) n * u * u) % n;
}

struct person {
	unsigned g, f, street, num, postcode, year, month, day;
	char     sex;
	/* BENCH_REPEATS: maiden name + 1 (0: none), previous address
	 * (postcode 0: none). */
	unsigned maiden, pstreet, pnum, ppostcode;
};

static int REPEATS;

static void
person_make(struct person *p)
{
	p->g = (unsigned) pick(N_(given));
	p->f = (unsigned) skewed(N_(family));
	p->street = (unsigned) pick(N_(streets));
	p->num = 1 + (unsigned) pick(300);
	p->postcode = 1000 + (unsigned) pick(4000);
	p->year = 1920 + (unsigned) pick(100);
	p->month = 1 + (unsigned) pick(12);
	p->day = 1 + (unsigned) pick(28);
	p->sex = p->g < 50 || p->g >= 110 ? 'M' : 'F';
	p->maiden = p->ppostcode = 0;
	if (!REPEATS)
		return;
	if (p->sex == 'F' && pick(10) < 3) {
		unsigned f = (unsigned) skewed(N_(family));
		p->maiden = f != p->f ? f + 1 : 0;
	}
	if (pick(10) < 2) {
		p->pstreet = (unsigned) pick(N_(streets));
		p->pnum = 1 + (unsigned) pick(300);
		p->ppostcode = 1000 + (unsigned) pick(4000);
	}
}

static void
addr_set(struct mpi_addr *a, unsigned street, unsigned num, unsigned postcode, const char *use)
{
	hie_strlcpy(a->street, streets[street], sizeof(a->street));
	snprintf(a->number, sizeof(a->number), "%u", num);
	snprintf(a->postcode, sizeof(a->postcode), "%04u", postcode);
	hie_strlcpy(a->use, use, sizeof(a->use));
}

/* The repeats of a registration (BENCH_REPEATS): see the top. */
static void
repeats_make(const struct person *p, int dup, struct mpi_patient *r)
{
	if (p->maiden != 0) {
		if (!dup && pick(2) == 0) {
			r->names[1] = r->names[0];
			hie_strlcpy(r->names[1].family, family[p->maiden - 1], sizeof(r->names[1].family));
			hie_strlcpy(r->names[1].use, "M", sizeof(r->names[1].use));
			r->n_names = 2;
		} else if (dup && pick(2) == 0) {
			hie_strlcpy(r->names[0].family, family[p->maiden - 1], sizeof(r->names[0].family));
		}
	}
	if (p->ppostcode != 0) {
		if (!dup && pick(2) == 0) {
			addr_set(&r->addrs[1], p->pstreet, p->pnum, p->ppostcode, "P");
			r->n_addrs = 2;
		} else if (dup && pick(2) == 0) {
			addr_set(&r->addrs[0], p->pstreet, p->pnum, p->ppostcode, "H");
		}
	}
}

/* One keyboard error: substitute, insert, delete or swap two letters. */
static void
typo(char *s, size_t cap)
{
	size_t n = strlen(s), i;

	if (n < 3)
		return;
	i = 1 + pick(n - 2);
	switch (pick(4)) {
	case 0: s[i] = (char) ('a' + pick(26)); break;
	case 1:
		if (n + 1 < cap) {
			memmove(s + i + 1, s + i, n - i + 1);
			s[i] = (char) ('a' + pick(26));
		}
		break;
	case 2: memmove(s + i, s + i + 1, n - i); break;
	default: {
		char t = s[i];
		s[i] = s[i + 1 < n ? i + 1 : i - 1];
		s[i + 1 < n ? i + 1 : i - 1] = t;
	}
	}
}

static void
record_make(const struct person *pp, int dup, uint64_t serial, struct mpi_patient *r)
{
	struct person p = *pp;
	int           errors = dup ? 1 + (int) pick(3) : 0;
	char          auth[64];

	memset(r, 0, sizeof(*r));
	hie_strlcpy(r->source, dup ? "clinic" : "hospital", sizeof(r->source));
	r->n_names = r->n_addrs = r->n_ids = 1;
	hie_strlcpy(r->names[0].given, given[p.g], sizeof(r->names[0].given));
	hie_strlcpy(r->names[0].family, family[p.f], sizeof(r->names[0].family));
	hie_strlcpy(r->addrs[0].street, streets[p.street], sizeof(r->addrs[0].street));
	snprintf(r->addrs[0].number, sizeof(r->addrs[0].number), "%u", p.num);
	snprintf(r->addrs[0].postcode, sizeof(r->addrs[0].postcode), "%04u", p.postcode);
	snprintf(r->birth_date, sizeof(r->birth_date), "%04u%02u%02u", p.year, p.month, p.day);
	r->sex = p.sex;
	/* Each registration has its own record number at its source. */
	snprintf(r->ids[0].cx.id, sizeof(r->ids[0].cx.id), "%c%llu", dup ? 'C' : 'H', (unsigned long long) serial);
	/* Registration n of a person is at source n (hospital, then clinic
	 * 1, 2, ...), each with its own record numbers: the same source
	 * giving one person two numbers is another problem (identifier
	 * conflict), which the MPI sends to review by design. */
	snprintf(auth, sizeof(auth), "%s.%d", AUTH_B, dup);
	hie_strlcpy(r->ids[0].cx.authority, dup ? auth : AUTH_A, sizeof(r->ids[0].cx.authority));
	hie_strlcpy(r->ids[0].type, "MR", sizeof(r->ids[0].type));
	if (REPEATS)
		repeats_make(&p, dup, r);
	while (errors-- > 0) {
		switch (pick(8)) {
		case 0: typo(r->names[0].given, sizeof(r->names[0].given)); break;
		case 1: typo(r->names[0].family, sizeof(r->names[0].family)); break;
		case 2:
			for (size_t i = 0; i < N_(nick); i++)
				if (strcmp(nick[i][0], r->names[0].given) == 0)
					hie_strlcpy(r->names[0].given, nick[i][1], sizeof(r->names[0].given));
			break;
		case 3:
			if (p.day <= 12) /* day and month swapped */
				snprintf(r->birth_date, sizeof(r->birth_date), "%04u%02u%02u", p.year, p.day, p.month);
			else
				r->birth_date[7] = (char) ('0' + pick(10));
			break;
		case 4: r->n_addrs = 0; break; /* no address given */
		case 5: /* moved: another street and postcode */
			hie_strlcpy(r->addrs[0].street, streets[pick(N_(streets))], sizeof(r->addrs[0].street));
			snprintf(r->addrs[0].postcode, sizeof(r->addrs[0].postcode), "%04u", 1000 + (unsigned) pick(4000));
			break;
		case 6: r->names[0].given[0] = '\0'; break;
		default: r->addrs[0].postcode[3] = (char) ('0' + pick(10)); break;
		}
	}
}

/* CPU seconds (user + system) of this process so far: set against the
 * wall clock it tells waiting (fsync, a shared machine) from work. */
static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static long
status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char  line[256];
	long  v = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	if (f != NULL)
		fclose(f);
	return v;
}

struct truth {
	uint64_t eid;
	uint32_t who;
	uint64_t rid; /* 0: refused */
};

static int
tcmp_eid(const void *a, const void *b)
{
	const struct truth *x = a, *y = b;
	if (x->eid != y->eid)
		return x->eid < y->eid ? -1 : 1;
	return x->who < y->who ? -1 : x->who > y->who;
}

static int
tcmp_who(const void *a, const void *b)
{
	const struct truth *x = a, *y = b;
	return x->who < y->who ? -1 : x->who > y->who;
}

static double
pairs(struct truth *t, size_t n, int by_eid, int by_who)
{
	double s = 0;
	size_t i = 0;

	qsort(t, n, sizeof(*t), by_eid ? tcmp_eid : tcmp_who);
	while (i < n) {
		size_t j = i;
		while (j < n && (!by_eid || t[j].eid == t[i].eid) && (!by_who || t[j].who == t[i].who))
			j++;
		s += (double) (j - i) * (double) (j - i - 1) / 2;
		i = j;
	}
	return s;
}

/* The load's generator and acknowledgements (mpi_add_stream). */
struct load_ctx {
	const struct person *people;
	const uint32_t      *who;
	struct truth        *t;
	unsigned char       *seen;
	size_t               outcome[4];
	size_t               refused, n, next, done;
	int64_t              t0;
	double               c0, writer_cpu, caller_cpu, self0;
};

static hie_err
load_next(void *arg, struct mpi_patient *p, size_t cap, size_t *k)
{
	struct load_ctx *x = arg;

	*k = x->n - x->next < cap ? x->n - x->next : cap;
	for (size_t j = 0; j < *k; j++) {
		size_t i = x->next + j;
		record_make(&x->people[x->who[i]], x->seen[x->who[i]], i, &p[j]);
		if (x->seen[x->who[i]] < 250)
			x->seen[x->who[i]]++;
	}
	x->next += *k;
	return HIE_OK;
}

/* CPU seconds of this thread, and of the longest-running other thread
 * (the stream's writer: the matching threads live for one pass each). */
static void
thread_cpu(double *self, double *other)
{
	struct timespec ts;
	DIR            *d = opendir("/proc/self/task");
	struct dirent  *de;
	long            tick = sysconf(_SC_CLK_TCK);

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	*self = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
	*other = 0;
	while (d != NULL && (de = readdir(d)) != NULL) {
		char               path[300], buf[1024], *q;
		FILE              *f;
		unsigned long long ut = 0, st = 0;
		if (de->d_name[0] == '.' || strtol(de->d_name, NULL, 10) == (long) getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL && (q = strrchr(buf, ')')) != NULL &&
		    sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2 &&
		    (double) (ut + st) / (double) tick > *other)
			*other = (double) (ut + st) / (double) tick;
		fclose(f);
	}
	if (d != NULL)
		closedir(d);
}

static hie_err
load_done(void *arg, struct mpi_patient *p, struct mpi_result *res, size_t k)
{
	struct load_ctx *x = arg;
	size_t           i = x->done;

	(void) p;
	for (size_t j = 0; j < k; j++) {
		x->t[i + j] = (struct truth) { res[j].err == HIE_OK ? res[j].eid : UINT64_MAX - i - j, x->who[i + j],
			res[j].err == HIE_OK ? res[j].rid : 0 };
		if (res[j].err == HIE_OK)
			x->outcome[res[j].outcome]++;
		else
			x->refused++;
	}
	x->done += k;
	if (x->done % 100000 < k) /* progress, to stderr */
		fprintf(stderr, "load: %zu records, %.1f s, cpu %.1f s\n", x->done,
		    (double) (hie_now_ms() - x->t0) / 1000, cpu_s() - x->c0);
	{
		/* The writer may be gone by the last batches' acknowledgements:
		 * its CPU as last seen. */
		double self, other;
		thread_cpu(&self, &other);
		x->caller_cpu = self - x->self0;
		if (other > x->writer_cpu)
			x->writer_cpu = other;
	}
	return HIE_OK;
}

/* Records per transaction (one durable commit, acknowledged as a whole),
 * as hie-mpi load uses; BENCH_BATCH overrides. */
static size_t BATCH = 25000;
#define TRAIN 50000

int
main(int argc, char **argv)
{
	size_t              n = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	size_t              nq = argc > 3 ? strtoul(argv[3], NULL, 10) : 10000, np, ntrain, nm = 0;
	char                tdir[512], mdir[512], path[600];
	struct person      *people;
	uint32_t           *who;
	struct mpi_patient *batch;
	struct mpi_result  *res;
	struct truth       *t;
	struct mpi_model    md;
	double             *lat, *cpu, tp, pred, truthp;
	MDB_env            *env;
	mpi                *m;
	struct stat         st;
	int64_t             t0, ms;
	hie_err             e;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_mpi DIR [RECORDS] [QUERIES]\n");
		return 2;
	}
	REPEATS = getenv("BENCH_REPEATS") != NULL && strcmp(getenv("BENCH_REPEATS"), "0") != 0;
	if (REPEATS)
		printf("generator: with repeats (maiden names, previous addresses; BENCH_REPEATS)\n");
	snprintf(tdir, sizeof(tdir), "%s/train", argv[1]);
	snprintf(mdir, sizeof(mdir), "%s/mpi", argv[1]);
	if (getenv("BENCH_BATCH") != NULL && strtoul(getenv("BENCH_BATCH"), NULL, 10) > 0)
		BATCH = strtoul(getenv("BENCH_BATCH"), NULL, 10);
	np = n * 4 / 5;
	people = malloc(np * sizeof(*people));
	who = malloc(n * sizeof(*who));
	batch = malloc(BATCH * sizeof(*batch));
	res = malloc(BATCH * sizeof(*res));
	t = malloc(n * sizeof(*t));
	lat = malloc((nq ? nq : 1) * sizeof(*lat));
	cpu = malloc((nq ? nq : 1) * sizeof(*cpu));
	if (people == NULL || who == NULL || batch == NULL || res == NULL || t == NULL || lat == NULL || cpu == NULL)
		return 1;
	for (size_t i = 0; i < np; i++)
		person_make(&people[i]);
	/* Record i: the first np are each person once (shuffled in with the
	 * duplicates by taking the person from the index order). */
	for (size_t i = 0; i < n; i++)
		who[i] = i < np ? (uint32_t) i : (uint32_t) pick(np);
	for (size_t i = n - 1; i > 0; i--) {
		size_t   j = pick(i + 1);
		uint32_t x = who[i];
		who[i] = who[j];
		who[j] = x;
	}

	/* 1. The model, from the node's own data (the first records). */
	ntrain = n < TRAIN ? n : TRAIN;
	if ((e = hie_store_open(tdir, 1024, &env)) != HIE_OK || (e = mpi_open(env, &m)) != HIE_OK)
		return fprintf(stderr, "open: %s\n", hie_strerror(e)), 1;
	{
		unsigned char *seen = calloc(np, 1);
		for (size_t i = 0; i < ntrain; i += BATCH) {
			size_t k = ntrain - i < BATCH ? ntrain - i : BATCH;
			for (size_t j = 0; j < k; j++) {
				record_make(&people[who[i + j]], seen[who[i + j]], i + j, &batch[j]);
				if (seen[who[i + j]] < 250)
					seen[who[i + j]]++;
			}
			if ((e = mpi_add_batch(m, batch, k, MPI_ADD_NOMATCH, res)) != HIE_OK)
				return fprintf(stderr, "train load: %s\n", hie_strerror(e)), 1;
		}
		free(seen);
	}
	t0 = hie_now_ms();
	if ((e = mpi_train(m, 2000000, &md)) != HIE_OK)
		return fprintf(stderr, "train: %s\n", hie_strerror(e)), 1;
	printf("em: %zu records, %llu pairs, %d iterations, p=%.4f, %lld ms\n", ntrain,
	    (unsigned long long) md.pairs, md.iterations, md.p, (long long) (hie_now_ms() - t0));
	mpi_close(m);
	hie_store_close(env);

	/* 2. Load everything with matching. */
	if ((e = hie_store_open(mdir, 16384, &env)) != HIE_OK || (e = mpi_open(env, &m)) != HIE_OK ||
	    (e = mpi_model_set(m, &md)) != HIE_OK)
		return fprintf(stderr, "open: %s\n", hie_strerror(e)), 1;
	{
		struct load_ctx x = { people, who, t, calloc(np, 1), { 0 }, 0, n, 0, 0, 0, 0, 0, 0, 0 };
		double          c0 = cpu_s(), unused;
		thread_cpu(&x.self0, &unused);
		t0 = hie_now_ms();
		x.t0 = t0;
		x.c0 = c0;
		/* Batch k is matched while batch k - 1 is written and committed
		 * (mpi_add_stream); each batch is acknowledged (done) once
		 * durable. */
		if ((e = mpi_add_stream(m, BATCH, 0, load_next, load_done, &x)) != HIE_OK)
			return fprintf(stderr, "load: %s\n", hie_strerror(e)), 1;
		ms = hie_now_ms() - t0;
		free(x.seen);
		printf("load: %zu records in %.1f s (cpu %.1f s) = %.0f records/s, batches of %zu (new %zu, "
		       "linked-match %zu, review %zu, linked-id %zu, refused %zu)\n",
		    n, (double) ms / 1000, cpu_s() - c0, (double) n * 1000 / (double) (ms ? ms : 1), BATCH, x.outcome[MPI_NEW],
		    x.outcome[MPI_LINKED_MATCH], x.outcome[MPI_REVIEW], x.outcome[MPI_LINKED_ID], x.refused);
		if (x.writer_cpu > 0) {
			/* The writer runs beside the matching of the next batch:
			 * on an idle machine with C cores the load takes at least
			 * the writer's CPU and at least all CPU / C. */
			double all = cpu_s() - c0, cores = (double) sysconf(_SC_NPROCESSORS_ONLN);
			double bound = all / (cores > 0 ? cores : 1);
			if (x.writer_cpu > bound)
				bound = x.writer_cpu;
			printf("load threads: writer %.1f s cpu (deciding, writing, committing), caller %.1f s cpu "
			       "(generating, validating, its share of matching); on an idle %.0f-core machine at this "
			       "CPU cost: >= %.1f s, <= %.0f records/s\n",
			    x.writer_cpu, x.caller_cpu, cores, bound, bound > 0 ? (double) n / bound : 0);
		}
	}

	/* 3. Searches: a known person, with a registration's errors. */
	for (size_t q = 0; q < nq; q++) {
		struct mpi_candidate c[10];
		size_t               nc;
		int64_t              a;
		struct timespec      ts0, ts1, tc0, tc1;
		record_make(&people[pick(np)], 1, 0, &batch[0]);
		batch[0].n_ids = 0; /* PDQ-style: demographics only */
		if (batch[0].birth_date[0] == '\0')
			continue;
		clock_gettime(CLOCK_MONOTONIC, &ts0);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &tc0);
		e = mpi_search(m, &batch[0], 0.01, c, 10, &nc);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &tc1);
		clock_gettime(CLOCK_MONOTONIC, &ts1);
		if (e != HIE_OK && e != HIE_EINVAL)
			return fprintf(stderr, "search: %s\n", hie_strerror(e)), 1;
		a = (ts1.tv_sec - ts0.tv_sec) * 1000000000LL + (ts1.tv_nsec - ts0.tv_nsec);
		lat[nm] = (double) a / 1e6;
		a = (tc1.tv_sec - tc0.tv_sec) * 1000000000LL + (tc1.tv_nsec - tc0.tv_nsec);
		cpu[nm++] = (double) a / 1e6;
	}
	nq = nm; /* the queries measured */
	/* Wall time includes waiting for a core on a shared machine; the
	 * thread's CPU time is the work a query costs. */
	qsort(lat, nq, sizeof(*lat), dcmp);
	qsort(cpu, nq, sizeof(*cpu), dcmp);
	if (nq > 0)
		printf("search: %zu queries p50=%.3f ms p99=%.3f ms max=%.3f ms (cpu p50=%.3f ms p99=%.3f ms max=%.3f ms)\n",
		    nq, lat[nq / 2], lat[nq * 99 / 100], lat[nq - 1], cpu[nq / 2], cpu[nq * 99 / 100], cpu[nq - 1]);

	/* 4. Memory, size, accuracy. */
	snprintf(path, sizeof(path), "%s/data.mdb", mdir);
	if (stat(path, &st) == 0)
		printf("lmdb: %.1f MiB for %zu records (%.0f bytes/record); rss %.1f MiB, peak %.1f MiB\n",
		    (double) st.st_blocks * 512 / 1048576, n, (double) st.st_blocks * 512 / (double) n,
		    (double) status_kb("VmRSS:") / 1024, (double) status_kb("VmHWM:") / 1024);
	truthp = pairs(t, n, 0, 1);
	pred = pairs(t, n, 1, 0);
	tp = pairs(t, n, 1, 1);
	printf("synthetic accuracy: true_pairs=%.0f pairs=%.0f precision=%.4f recall=%.4f f1=%.4f\n", truthp, pred,
	    pred > 0 ? tp / pred : 0, truthp > 0 ? tp / truthp : 0,
	    tp > 0 ? 2 * (tp / pred) * (tp / truthp) / (tp / pred + tp / truthp) : 0);

	/* 5. The blocking: how many true pairs meet in a scanned block
	 * (pairs completeness), and how few of all pairs are candidates. */
	{
		double   cand, found = 0, all = 0;
		uint64_t blocks, skipped;
		size_t   i = 0;
		qsort(t, n, sizeof(*t), tcmp_who);
		while (i < n) {
			size_t j = i;
			while (j < n && t[j].who == t[i].who)
				j++;
			for (size_t a = i; a < j; a++)
				for (size_t b = a + 1; b < j; b++) {
					int shared = 0;
					all += 1;
					if (t[a].rid != 0 && t[b].rid != 0 &&
					    (e = mpi_block_shared(m, t[a].rid, t[b].rid, &shared)) != HIE_OK)
						return fprintf(stderr, "blocking: %s\n", hie_strerror(e)), 1;
					found += shared;
				}
			i = j;
		}
		if ((e = mpi_block_stats(m, &cand, &blocks, &skipped)) != HIE_OK)
			return fprintf(stderr, "blocking: %s\n", hie_strerror(e)), 1;
		printf("blocking: pairs_completeness=%.4f (%.0f of %.0f true pairs) candidate_pairs<=%.0f "
		       "reduction_ratio>=%.6f blocks=%llu skipped_over_cap=%llu\n",
		    all > 0 ? found / all : 0, found, all, cand, 1 - cand / ((double) n * (double) (n - 1) / 2),
		    (unsigned long long) blocks, (unsigned long long) skipped);
	}
	mpi_close(m);
	hie_store_close(env);
	free(people);
	free(who);
	free(batch);
	free(res);
	free(t);
	free(lat);
	free(cpu);
	return 0;
}
