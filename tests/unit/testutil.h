/*
 * tests/unit/testutil.h -- what the unit tests share: temp directories,
 * a CA and node certificates made with the project's own certs module,
 * and reading the project's files.  No mocks: everything is the real thing.
 */
#ifndef TESTS_UNIT_TESTUTIL_H
#define TESTS_UNIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node/hie.h"
#include "node/wss.h"
#include "registry/registry.h"

/* A fresh directory under $TMPDIR, removed by tu_rmtree. */
void tu_tmpdir(char out[256]);
void tu_rmtree(const char *dir);
/* Path of a file in the source tree (HIE_SOURCE_DIR). */
void tu_src(char *out, size_t cap, const char *rel);
/* Reads a whole file (malloc'd, NUL terminated); fails the test if absent. */
char *tu_slurp(const char *path, size_t *len);
/* Writes a text file. */
void tu_write(const char *path, const char *text);
/* Registers the first count (1..4) demo documents of conf/demo in r, in
 * this order: hospital-b CCD, hospital-b discharge summary, hospital-c
 * referral note, hospital-c care plan (all for the demo patient). */
void tu_load_demo(reg *r, const char *repository_id, size_t count);
/* A signer from node_dir/node.crt and node_dir/node.key. */
wss_signer *tu_signer(const char *node_dir);
/* A free TCP port on 127.0.0.1. */
int tu_free_port(void);

#endif
