// IoTPE patch: built-ins loop in C over an object's length (Array.prototype.join/sort/indexOf/
// forEach/reverse... called on `{length: 4294967295}` or a sparse array), reading one property per
// step. Count property reads against the run's deadline so such a loop ends with the time budget.
// anchor: DUK_INTERNAL duk_bool_t duk_hobject_getprop(duk_hthread *thr, duk_tval *tv_obj, duk_tval *tv_key) {
// insert: after
// occurrences: 1
	IOTPE_TICK(thr, 1);
