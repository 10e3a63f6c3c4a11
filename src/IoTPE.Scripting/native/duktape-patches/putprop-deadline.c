// IoTPE patch: as getprop-deadline.c, for the writes of reverse, shift, unshift and splice.
// anchor: duk_hobject_putprop(duk_hthread *thr, duk_tval *tv_obj, duk_tval *tv_key, duk_tval *tv_val, duk_bool_t throw_flag) {
// insert: after
// occurrences: 1
	IOTPE_TICK(thr, 1);
