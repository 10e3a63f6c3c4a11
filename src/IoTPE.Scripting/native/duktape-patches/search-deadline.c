// IoTPE patch: substring search (indexOf, lastIndexOf, includes, split, replace with a string
// pattern) compares the pattern at every candidate position: quadratic in C for a long pattern
// in a long subject. Count each comparison, weighted by the pattern's length, against the deadline.
// anchor: if (duk_memcmp((const void *) p, (const void *) q_start, (size_t) q_blen) == 0) {
// insert: before
// occurrences: 3
				IOTPE_TICK(thr, 1 + (duk_int_t) (q_blen >> 8));
