/*
 * tests/fuzz/fuzz_hl7.c -- libFuzzer target for the HL7 v2 boundary: the
 * bytes of an MLLP frame through hl7_parse, every accessor over every
 * segment and field found, and the answer (hl7_ack, or hl7_nak for what
 * the parser refused), which is read back with hl7_ack_parse.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "node/hl7.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl7_limits lim = hl7_default_limits;
	struct hl7_error  err;
	hl7_msg          *m;
	hie_buf           ack;
	char              v[256], code[3], ctl[200];
	int               ec;

	lim.max_bytes = 1u << 20;
	hie_buf_init(&ack, 1u << 20);
	if (hl7_parse((const char *) data, size, &lim, &m, &err) != HIE_OK) {
		if (hl7_nak((const char *) data, size, &err, &ack) == HIE_OK && ack.len > 0)
			hl7_ack_parse(ack.data, ack.len, code, ctl, sizeof(ctl), &ec);
		hie_buf_free(&ack);
		return 0;
	}
	{
		size_t n;
		hl7_segment_total(m, &n);
		for (size_t pos = 0; pos < n && pos < 64; pos++) {
			char id[4];
			int  seq;
			hl7_segment_at(m, pos, id, &seq);
			for (int f = 1; f <= 30; f++) {
				size_t reps;
				hl7_field_reps(m, id, seq, f, &reps);
				for (int r = 1; r <= (int) reps && r <= 3; r++)
					for (int c = 1; c <= 4; c++)
						for (int s = 1; s <= 2; s++)
							hl7_get(m, id, seq, f, r, c, s, v, sizeof(v));
			}
		}
	}
	hl7_ack(m, (enum hl7_outcome) (size % 3), &err, &ack);
	if (ack.len > 0 && hl7_ack_parse(ack.data, ack.len, code, ctl, sizeof(ctl), &ec) != HIE_OK)
		__builtin_trap(); /* we must be able to read what we send */
	hie_buf_free(&ack);
	hl7_free(m);
	return 0;
}
