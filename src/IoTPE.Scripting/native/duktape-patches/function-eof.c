// IoTPE patch: a function expression compiled on its own must be the whole input.
// Scripts are compiled as one function expression (DUK_COMPILE_FUNCTION), and stock Duktape
// ignores whatever follows that function's closing brace, so `return 1; } junk(` would compile.
// anchor: (void) duk__parse_func_like_raw(comp_ctx, 0 /*flags*/);
// insert: after
// occurrences: 1
		if (comp_ctx->curr_token.t != DUK_TOK_EOF) {
			DUK_ERROR_SYNTAX(thr, "unexpected input after the end of the script (unbalanced '}'?)");
			DUK_WO_NORETURN(return;);
		}
