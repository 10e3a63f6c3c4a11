// IoTPE patch: source nested deeper than the compiler allows (100,000 '(' or '[') is a fault of
// the text, so it is a SyntaxError (stock Duktape throws a RangeError), and the compiler also
// stops before the native stack runs out (stock Duktape only counts its recursion here).
// anchor: if (comp_ctx->recursion_depth >= comp_ctx->recursion_limit) {
// insert: before
// occurrences: 1
	if (comp_ctx->recursion_depth >= comp_ctx->recursion_limit ||
	    iotpe_native_stack_exhausted(comp_ctx->thr->heap->heap_udata)) {
		DUK_ERROR_SYNTAX(comp_ctx->thr, "source nested too deeply");
		DUK_WO_NORETURN(return;);
	}
