// IoTPE patch: as getprop-deadline.c, for the existence checks of sparse-array loops.
// anchor: DUK_INTERNAL duk_bool_t duk_hobject_hasprop(duk_hthread *thr, duk_tval *tv_obj, duk_tval *tv_key) {
// insert: after
// occurrences: 1
	IOTPE_TICK(thr, 1);
