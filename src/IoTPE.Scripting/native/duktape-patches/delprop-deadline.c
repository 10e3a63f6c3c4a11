// IoTPE patch: as getprop-deadline.c, for the deletes of reverse, shift, unshift and splice.
// anchor: DUK_INTERNAL duk_bool_t duk_hobject_delprop(duk_hthread *thr, duk_tval *tv_obj, duk_tval *tv_key, duk_bool_t throw_flag) {
// insert: after
// occurrences: 1
	IOTPE_TICK(thr, 1);
