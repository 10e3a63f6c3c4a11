/* IoTPE's additions to Duktape's stock configuration. build.sh inserts this file after the
 * `__OVERRIDE_DEFINES__` marker of a copy of Debian's duk_config.h. */

#include "iotpe_heap.h"

/* Every script run has a wall-clock budget: the interpreter polls iotpe_exec_timeout_check()
 * from its interrupt counter, so a runaway loop is stopped without a watchdog thread. */
#define DUK_USE_INTERRUPT_COUNTER
extern int iotpe_exec_timeout_check(void *udata);
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) iotpe_exec_timeout_check((udata))

/* The interrupt counter only runs while bytecode executes. Built-ins loop in C (join, sort,
 * indexOf, forEach over `{length: 4294967295}`; regexp backtracking; substring search), so the
 * patches in duktape-patches/ count work there too and check the same deadline every
 * IOTPE_TICKS_PER_CHECK units. */
#define IOTPE_TICKS_PER_CHECK 10000
#define IOTPE_TICK(thr, n) \
	do { \
		iotpe_heap *iotpe_tick_heap_ = (iotpe_heap *) (thr)->heap->heap_udata; \
		if (DUK_UNLIKELY((iotpe_tick_heap_->ticks -= (int32_t) (n)) <= 0)) { \
			iotpe_ticks_exhausted((thr)); \
		} \
	} while (0)

/* Recursion in C (native calls, JSON, regexps, the compiler via a patch) stops with an error
 * before the native stack overflows, whatever the calling thread's stack size. Duktape expands
 * this macro inside duk_native_stack_check(duk_hthread *thr). Creating the error that reports
 * the exhaustion calls the errCreate hook: that bounded amount of work uses the reserve instead
 * of failing again (which Duktape would report as a DoubleError). */
#define DUK_USE_NATIVE_STACK_CHECK() \
	(!thr->heap->creating_error && !thr->heap->augmenting_error && iotpe_native_stack_exhausted(thr->heap->heap_udata))

/* Integers stay integers: faster arithmetic on the 64-bit gateways we target. */
#define DUK_USE_FASTINT

/* Duktape calls the fatal handler only for errors outside any protected call, which the shim
 * never makes. If it happens anyway, say so before the process ends. */
extern void iotpe_fatal(void *udata, const char *msg);
#undef DUK_USE_FATAL_HANDLER
#define DUK_USE_FATAL_HANDLER(udata, msg) iotpe_fatal((udata), (msg))
