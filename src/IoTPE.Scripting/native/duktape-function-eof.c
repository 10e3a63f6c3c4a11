		/* IOTPE_FUNCTION_EOF: inserted by IoTPE's build.sh. A function expression compiled on its
		 * own must be the whole input. */
		if (comp_ctx->curr_token.t != DUK_TOK_EOF) {
			DUK_ERROR_SYNTAX(thr, "unexpected input after the end of the script (unbalanced '}'?)");
			DUK_WO_NORETURN(return;);
		}
