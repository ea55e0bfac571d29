/*
 * node/alloc.c -- the allocator's settings, linked into every program that
 * is built with mimalloc (CMakeLists.txt, HIE_MIMALLOC).
 *
 * mimalloc hands memory it no longer uses back to the system (decommit)
 * 25 ms after it was freed.  The MPI's bulk load frees and allocates its
 * batches' working memory (hundreds of MiB) faster than that and paid for
 * every return again in page faults: 1,000,000 records loaded at 16,800/s
 * with 1.3 M minor faults, against 26,000/s and 0.5 M with glibc's malloc
 * (docs/benchmarks.md, mpi).  Freed memory stays committed for reuse, as
 * with glibc; the node's resident size is its peak, which [limits] bound.
 */
#include <mimalloc.h>

__attribute__((constructor)) static void
alloc_settings(void)
{
	mi_option_disable(mi_option_allow_decommit);
}
