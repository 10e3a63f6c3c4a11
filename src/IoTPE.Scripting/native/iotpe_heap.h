/*
 * The state IoTPE keeps per Duktape heap. Duktape hands it back as the allocator's and the
 * interrupt hook's `udata` (thr->heap->heap_udata), which is how the hooks in
 * duk_config_overrides.h and the patches in duktape-patches/ reach it from inside the engine.
 */
#ifndef IOTPE_HEAP_H
#define IOTPE_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct duk_hthread;

/* The managed side's entry point for host calls (Interop/HostCallBridge.cs). It receives the
 * function name and its arguments as JSON (CESU-8, Duktape's string encoding), answers with
 * iotpe_host_reply(), and must not call anything else of the engine. */
typedef void (*iotpe_host_callback)(void *host_state,
                                    const char *function, size_t function_length,
                                    const char *arguments, size_t arguments_length);

/* A growable byte buffer outside the script's heap (plain malloc), for data that crosses to the
 * managed side: results, error messages, host replies. */
typedef struct iotpe_buffer {
    char *data;
    size_t length;
    size_t capacity;
} iotpe_buffer;

typedef struct iotpe_heap {
    struct duk_hthread *ctx;

    /* Memory: every allocation of this heap goes through the shim's allocator. */
    size_t used;              /* bytes currently allocated */
    size_t peak;              /* high-water mark of `used` since the current entry began */
    size_t limit;             /* 0 = no cap */
    int allocation_refused;   /* the cap refused an allocation since the current entry began */

    /* Time: the interrupt hook and the ticks below compare against the deadline while armed. */
    int armed;                /* an entry point is running script-controlled work */
    int64_t deadline_ns;      /* CLOCK_MONOTONIC deadline */
    int timed_out;            /* the deadline passed, or an interrupt was requested */
    int interrupt_requested;  /* set from another thread (cancellation); atomic access only */
    int32_t ticks;            /* countdown to the next deadline check from C loops (IOTPE_TICK) */

    /* Native stack: addresses below this one are reserved for error handling and host calls. */
    uintptr_t stack_limit;

    /* Host calls: the managed callback, its state, and this run's counts against the limits. */
    iotpe_host_callback host_callback;
    void *host_state;
    int in_run;               /* host functions are callable only while a script runs */
    int64_t host_calls;
    int64_t publishes;
    int64_t max_host_calls;
    int64_t max_publishes;
    size_t max_host_call_bytes;
    size_t max_result_bytes;
    int reply_kind;           /* IOTPE_REPLY_*: what the managed side answered to the current call */
    iotpe_buffer reply;

    /* Outcome of the last entry point, read by the managed side. */
    iotpe_buffer result_json;
    int has_result;
    iotpe_buffer error_message;
    int64_t error_line;       /* 1-based line in the script, 0 = unknown */
    int64_t error_offset;     /* byte offset of a compile error in the compiled text, -1 = unknown */
} iotpe_heap;

/* Non-zero when the calling thread's native stack is nearly used up (DUK_USE_NATIVE_STACK_CHECK). */
int iotpe_native_stack_exhausted(void *udata);

/* Slow path of IOTPE_TICK: checks the deadline and throws a RangeError when it has passed. */
void iotpe_ticks_exhausted(struct duk_hthread *thr);

#endif
