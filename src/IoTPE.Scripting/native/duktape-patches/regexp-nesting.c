// IoTPE patch: a regular expression nested deeper than the regexp compiler allows is a
// SyntaxError, like any other invalid pattern (stock Duktape throws a RangeError).
// anchor: duk__re_disjunction_info tmp_disj;
// insert: after
// occurrences: 1
	if (re_ctx->recursion_depth >= re_ctx->recursion_limit ||
	    iotpe_native_stack_exhausted(re_ctx->thr->heap->heap_udata)) {
		DUK_ERROR_SYNTAX(re_ctx->thr, "regular expression nested too deeply");
		DUK_WO_NORETURN(return;);
	}
