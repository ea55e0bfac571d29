/*
 * node/hl7_int.h -- what node/hl7.c shares with node/hl7_ack.c and
 * nothing else: reading MSH-1/MSH-2 from raw bytes, and the version table.
 */
#ifndef NODE_HL7_INT_H
#define NODE_HL7_INT_H

#include <stddef.h>

#include "node/hl7.h"

/* Delimiters of the MSH at p[n]: d[0] field separator, then MSH-2 in its
 * order (component, repetition, escape, subcomponent, truncation or 0);
 * *nd = 5 or 6.  HIE_EHL7 with err filled when p is not an MSH with valid
 * delimiters. */
hie_err hl7_read_delims(const char *p, size_t n, char d[6], size_t *nd, struct hl7_error *err);
/* 23, 231, ... 282 for a supported MSH-12 value, else 0. */
int hl7_version_num(const char *s, size_t n);
/* num >= want in version order (231 is after 23 and before 24). */
int hl7_version_at_least(int num, int want);

/* hl7_parse; lenient also takes an MSH-11, MSH-12 (version_num 0) and
 * MSH-15/16 we would refuse: an acknowledgement echoes the values of the
 * message it refused, and must still be readable. */
hie_err hl7_parse_ex(const char *in, size_t len, const struct hl7_limits *lim, int lenient,
    hl7_msg **out, struct hl7_error *err);

#endif /* NODE_HL7_INT_H */
