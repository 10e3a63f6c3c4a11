// IoTPE patch: regexp backtracking (/(a+)+b/ on a long run of 'a') runs in C, where the
// interpreter's interrupt counter does not run: count its steps against the run's deadline.
// anchor: re_ctx->steps_count++;
// insert: after
// occurrences: 1
		IOTPE_TICK(re_ctx->thr, 1);
