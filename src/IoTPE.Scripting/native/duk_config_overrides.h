/* IoTPE's additions to Duktape's stock configuration. build.sh inserts this file after the
 * `__OVERRIDE_DEFINES__` marker of a copy of Debian's duk_config.h. */

/* Every script run has a wall-clock budget: the interpreter polls iotpe_exec_timeout_check()
 * from its interrupt counter, so a runaway loop is stopped without a watchdog thread. */
#define DUK_USE_INTERRUPT_COUNTER
extern int iotpe_exec_timeout_check(void *udata);
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) iotpe_exec_timeout_check((udata))

/* Integers stay integers: faster arithmetic on the 64-bit gateways we target. */
#define DUK_USE_FASTINT

/* Duktape calls the fatal handler only for errors outside any protected call, which the shim
 * never makes. If it happens anyway, say so before the process ends. */
extern void iotpe_fatal(void *udata, const char *msg);
#undef DUK_USE_FATAL_HANDLER
#define DUK_USE_FATAL_HANDLER(udata, msg) iotpe_fatal((udata), (msg))
