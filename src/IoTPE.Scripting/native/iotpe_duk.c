/*
 * IoTPE's shim around Duktape: heaps with a memory cap, a per-run deadline and a native-stack
 * guard; loading, running and unloading scripts; the bridge from scripts to host functions.
 *
 * THE RULE THAT SHAPES THIS FILE. A Duktape error is a longjmp() to the nearest catch point set by
 * duk_pcall()/duk_safe_call(). A longjmp across managed (.NET) frames is undefined behaviour and
 * takes the process down. So:
 *   1. Every exported function (IOTPE_EXPORT) is non-throwing: whatever in it can throw runs inside
 *      duk_safe_call(), whose catch point is in this C frame, above the managed caller.
 *   2. The managed side never calls a Duktape API function directly, only these exports.
 *   3. Host functions: iotpe_host_bridge() (a Duktape native function, called by the prelude)
 *      JSON-encodes the arguments, calls the managed callback with plain bytes, and the callback
 *      answers through iotpe_host_reply(), which only copies bytes. Only after the callback has
 *      returned, so with no managed frame left on the stack, does the bridge push the result or
 *      throw the host's error, in C.
 *
 * Duktape is compiled in this same translation unit so that the shim can use its internals: the
 * compiler's current token (column of a syntax error), the traceback of an error (line of a
 * runtime error in the script), and the built-in Duktape object (errCreate hook).
 */
#include "duktape.c"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IOTPE_EXPORT __attribute__((visibility("default")))

/* Outcomes of the entry points; Interop/DuktapeNative.cs mirrors them. */
#define IOTPE_OK 0
#define IOTPE_SCRIPT_ERROR 1   /* the script did not compile, or threw */
#define IOTPE_BAD_MESSAGE 2    /* the message given to a run is not JSON */
#define IOTPE_NOT_LOADED 3     /* no script under that key */
#define IOTPE_RESULT_ERROR 4   /* the script returned a value that cannot be handed back */
#define IOTPE_ENGINE_ERROR 5   /* failed outside the script, e.g. out of memory while setting up */

/* What the managed side answered to a host call (iotpe_host_reply). */
#define IOTPE_REPLY_NONE 0     /* undefined */
#define IOTPE_REPLY_JSON 1     /* a JSON value */
#define IOTPE_REPLY_ERROR 2    /* an error message: the script sees a thrown Error */

/* Every allocation carries its size in a header so that the heap's total can be kept exact. */
#define IOTPE_ALLOC_HEADER 16

/* Native stack kept free below the engine's deepest point for error handling and for host calls
 * (managed code, SQLite): 1 MiB, or a quarter of a smaller stack. */
#define IOTPE_STACK_RESERVE ((size_t) 1024 * 1024)

/* Error messages handed to the managed side are cut to this many bytes. */
#define IOTPE_MAX_ERROR_BYTES 4096

/* The global stash holds the loaded scripts under this key: { scriptKey: function }. */
#define IOTPE_SCRIPTS_KEY "iotpeScripts"

#define IOTPE_PRELUDE_FILENAME "iotpe:prelude"

/*
 * Time.
 */

static int64_t iotpe_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int iotpe_exec_timeout_check(void *udata) {
    iotpe_heap *heap = (iotpe_heap *) udata;
    if (heap == NULL || !heap->armed) {
        return 0;
    }
    /* Keep answering "timed out" once the deadline passed, so that a script catching the
     * RangeError cannot keep running. */
    if (heap->timed_out) {
        return 1;
    }
    if (__atomic_load_n(&heap->interrupt_requested, __ATOMIC_RELAXED) || iotpe_now_ns() >= heap->deadline_ns) {
        heap->timed_out = 1;
        return 1;
    }
    return 0;
}

void iotpe_ticks_exhausted(duk_hthread *thr) {
    iotpe_heap *heap = (iotpe_heap *) thr->heap->heap_udata;
    heap->ticks = IOTPE_TICKS_PER_CHECK;
    if (iotpe_exec_timeout_check(heap)) {
        DUK_ERROR_RANGE(thr, "execution timeout");
    }
}

void iotpe_fatal(void *udata, const char *msg) {
    (void) udata;
    fprintf(stderr, "iotpe: fatal script engine error: %s\n", msg ? msg : "(no message)");
    fflush(stderr);
    abort();
}

/*
 * Native stack.
 */

/* The lowest address the engine may use on the calling thread, found once per thread. */
static __thread uintptr_t iotpe_thread_stack_limit;

static uintptr_t iotpe_current_stack_limit(void) {
    uintptr_t limit = iotpe_thread_stack_limit;
    if (limit == 0) {
        pthread_attr_t attr;
        void *low = NULL;
        size_t size = 0;
        limit = 1; /* unknown: never report exhaustion */
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            if (pthread_attr_getstack(&attr, &low, &size) == 0 && low != NULL && size > 0) {
                size_t reserve = size / 4 < IOTPE_STACK_RESERVE ? size / 4 : IOTPE_STACK_RESERVE;
                limit = (uintptr_t) low + reserve;
            }
            pthread_attr_destroy(&attr);
        }
        iotpe_thread_stack_limit = limit;
    }
    return limit;
}

int iotpe_native_stack_exhausted(void *udata) {
    iotpe_heap *heap = (iotpe_heap *) udata;
    return heap != NULL && (uintptr_t) __builtin_frame_address(0) < heap->stack_limit;
}

/*
 * Memory: the heap's allocator, with the cap.
 */

/* A refused allocation makes Duktape retry after up to ten mark-and-sweep rounds, so each failing
 * instruction can cost milliseconds, and a script that catches the RangeError and allocates again
 * would reach the executor's next deadline check (every DUK_HTHREAD_INTCTR_DEFAULT instructions)
 * only after minutes. Make the next instruction and the next tick check the deadline, as
 * Duktape's own debugger does to pause on the next opcode. */
static void iotpe_check_deadline_soon(iotpe_heap *heap) {
    duk_hthread *thr;
    heap->ticks = 0;
    if (heap->ctx != NULL && heap->armed) {
        thr = ((duk_hthread *) heap->ctx)->heap->curr_thread;
        if (thr != NULL) {
            thr->interrupt_init = 0;
            thr->interrupt_counter = 0;
        }
    }
}

static void *iotpe_alloc(void *udata, duk_size_t size) {
    iotpe_heap *heap = (iotpe_heap *) udata;
    unsigned char *block;
    if (size == 0) {
        return NULL;
    }
    if (heap->limit != 0 && (size > heap->limit || heap->used > heap->limit - size)) {
        heap->allocation_refused = 1;
        iotpe_check_deadline_soon(heap);
        return NULL;
    }
    block = (unsigned char *) malloc(size + IOTPE_ALLOC_HEADER);
    if (block == NULL) {
        return NULL;
    }
    *(size_t *) block = size;
    heap->used += size;
    if (heap->used > heap->peak) {
        heap->peak = heap->used;
    }
    return block + IOTPE_ALLOC_HEADER;
}

static void iotpe_free(void *udata, void *ptr) {
    iotpe_heap *heap = (iotpe_heap *) udata;
    unsigned char *block;
    if (ptr == NULL) {
        return;
    }
    block = (unsigned char *) ptr - IOTPE_ALLOC_HEADER;
    heap->used -= *(size_t *) block;
    free(block);
}

static void *iotpe_realloc(void *udata, void *ptr, duk_size_t size) {
    iotpe_heap *heap = (iotpe_heap *) udata;
    unsigned char *block;
    size_t old_size;
    if (ptr == NULL) {
        return iotpe_alloc(udata, size);
    }
    if (size == 0) {
        iotpe_free(udata, ptr);
        return NULL;
    }
    block = (unsigned char *) ptr - IOTPE_ALLOC_HEADER;
    old_size = *(size_t *) block;
    if (size > old_size && heap->limit != 0) {
        size_t growth = size - old_size;
        if (growth > heap->limit || heap->used > heap->limit - growth) {
            heap->allocation_refused = 1;
            iotpe_check_deadline_soon(heap);
            return NULL;
        }
    }
    block = (unsigned char *) realloc(block, size + IOTPE_ALLOC_HEADER);
    if (block == NULL) {
        return NULL;
    }
    *(size_t *) block = size;
    heap->used = heap->used - old_size + size;
    if (heap->used > heap->peak) {
        heap->peak = heap->used;
    }
    return block + IOTPE_ALLOC_HEADER;
}

/*
 * Buffers that cross to the managed side. They live outside the script heap (plain malloc), so
 * filling them never throws; a failed allocation leaves them empty.
 */

static void iotpe_buffer_set(iotpe_buffer *buffer, const char *data, size_t length) {
    if (length + 1 > buffer->capacity) {
        size_t capacity = length + 1 < 256 ? 256 : length + 1;
        char *grown = (char *) realloc(buffer->data, capacity);
        if (grown == NULL) {
            buffer->length = 0;
            return;
        }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    if (length > 0) {
        memcpy(buffer->data, data, length);
    }
    buffer->data[length] = '\0';
    buffer->length = length;
}

static void iotpe_buffer_free(iotpe_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = buffer->capacity = 0;
}

/* Copies an error message, cut at IOTPE_MAX_ERROR_BYTES on a character boundary. */
static void iotpe_set_error_message(iotpe_heap *heap, const char *message, size_t length) {
    if (length > IOTPE_MAX_ERROR_BYTES) {
        length = IOTPE_MAX_ERROR_BYTES;
        while (length > 0 && ((unsigned char) message[length] & 0xC0) == 0x80) {
            length--;
        }
    }
    iotpe_buffer_set(&heap->error_message, message, length);
}

/*
 * Entering and leaving the engine. Every export that runs engine code brackets it with these.
 */

static void iotpe_enter(iotpe_heap *heap, int64_t timeout_ms) {
    heap->stack_limit = iotpe_current_stack_limit();
    heap->timed_out = 0;
    heap->allocation_refused = 0;
    heap->peak = heap->used;
    heap->host_calls = 0;
    heap->publishes = 0;
    heap->has_result = 0;
    heap->result_json.length = 0;
    heap->error_message.length = 0;
    heap->error_line = 0;
    heap->error_offset = -1;
    heap->ticks = IOTPE_TICKS_PER_CHECK;
    heap->deadline_ns = timeout_ms > 0 ? iotpe_now_ns() + timeout_ms * 1000000LL : INT64_MAX;
    heap->armed = 1;
}

static void iotpe_leave(iotpe_heap *heap) {
    heap->armed = 0;
    heap->in_run = 0;
}

/* Runs `fn` protected, from an empty value stack back to an empty one. Non-zero: `fn` itself
 * threw, i.e. failed outside the parts it protects on its own (out of memory, in practice). */
static int iotpe_protected(iotpe_heap *heap, duk_safe_call_function fn, void *udata) {
    int rc = (int) duk_safe_call(heap->ctx, fn, udata, 0 /*nargs*/, 0 /*nrets*/);
    if (rc != 0 && heap->error_message.length == 0) {
        const char *message = heap->allocation_refused ? "RangeError: out of memory" : "Error: internal script engine error";
        iotpe_set_error_message(heap, message, strlen(message));
    }
    return rc;
}

/*
 * Errors.
 */

/* Duktape.errCreate: called for every error as it is created. While the compiler runs, record
 * the byte offset of the token it was looking at, under a hidden key that scripts cannot see. */
static duk_ret_t iotpe_err_create(duk_context *ctx) {
    duk_hthread *thr = (duk_hthread *) ctx;
    if (thr->compile_ctx != NULL && duk_is_object(ctx, 0)) {
        duk_push_number(ctx, (duk_double_t) thr->compile_ctx->curr_token.start_offset);
        duk_put_prop_string(ctx, 0, DUK_HIDDEN_SYMBOL("IoTPESourceOffset"));
    }
    duk_dup(ctx, 0);
    return 1;
}

/* [ value ] -> [ message ]: a thrown value as text. Errors as "Name: message"; other objects as
 * JSON when they have one; anything else as String(value). Runs script code (toString, toJSON,
 * getters), so it is called only while the deadline is armed. */
static duk_ret_t iotpe_describe_protected(duk_context *ctx, void *udata) {
    (void) udata;
    if (duk_is_object(ctx, -1) && !duk_is_error(ctx, -1) && !duk_is_function(ctx, -1)) {
        duk_dup(ctx, -1);
        if (duk_json_encode(ctx, -1) != NULL) {
            return 1;
        }
        duk_pop(ctx);
    }
    duk_to_string(ctx, -1);
    return 1;
}

/* Records the message of the thrown value at `err_idx`, prefixed with `prefix`. */
static void iotpe_capture_message(duk_context *ctx, iotpe_heap *heap, duk_idx_t err_idx, const char *prefix) {
    duk_size_t length = 0;
    const char *text;
    duk_dup(ctx, err_idx);
    if (duk_safe_call(ctx, iotpe_describe_protected, NULL, 1, 1) != 0) {
        duk_pop(ctx);
        duk_push_string(ctx, "uncaught exception (its value could not be converted to a string)");
    }
    if (prefix != NULL) {
        duk_push_string(ctx, prefix);
        duk_swap_top(ctx, -2);
        duk_concat(ctx, 2);
    }
    text = duk_get_lstring(ctx, -1, &length);
    if (text != NULL) {
        iotpe_set_error_message(heap, text, length);
    }
    duk_pop(ctx);
}

typedef struct iotpe_line_query {
    duk_idx_t err_idx;
    duk_idx_t fn_idx;
    int64_t line;
} iotpe_line_query;

/* The line, in the script, that an error comes from: the first entry of the error's traceback
 * whose function was compiled from the same file as the script's function (so neither the
 * prelude nor a native function). Reads Duktape's internal traceback and properties directly:
 * no script code runs, so this is safe after a timeout. Duktape records no columns at run time. */
static duk_ret_t iotpe_script_line_protected(duk_context *ctx, void *udata) {
    iotpe_line_query *query = (iotpe_line_query *) udata;
    duk_hthread *thr = (duk_hthread *) ctx;
    duk_hobject *error = duk_get_hobject(ctx, query->err_idx);
    duk_hobject *script = duk_get_hobject(ctx, query->fn_idx);
    duk_tval *tv;
    duk_hstring *script_file;
    duk_uarridx_t i;

    if (error == NULL || script == NULL) {
        return 0;
    }
    tv = duk_hobject_find_entry_tval_ptr_stridx(thr->heap, script, DUK_STRIDX_FILE_NAME);
    if (tv == NULL || !DUK_TVAL_IS_STRING(tv)) {
        return 0;
    }
    script_file = DUK_TVAL_GET_STRING(tv);
    tv = duk_hobject_find_entry_tval_ptr_stridx(thr->heap, error, DUK_STRIDX_INT_TRACEDATA);
    if (tv == NULL || !DUK_TVAL_IS_OBJECT(tv)) {
        return 0;
    }
    duk_push_tval(ctx, tv); /* [ ... tracedata ] */
    /* Two entries per call stack level: the function (or a file name for C call sites), then
     * pc + flags * 2^32. */
    for (i = 0;; i += 2) {
        duk_hobject *function;
        if (!duk_get_prop_index(ctx, -1, i)) {
            break;
        }
        function = duk_get_hobject(ctx, -1);
        if (function != NULL && DUK_HOBJECT_IS_COMPFUNC(function)) {
            tv = duk_hobject_find_entry_tval_ptr_stridx(thr->heap, function, DUK_STRIDX_FILE_NAME);
            if (tv != NULL && DUK_TVAL_IS_STRING(tv) && DUK_TVAL_GET_STRING(tv) == script_file) {
                duk_double_t d;
                duk_get_prop_index(ctx, -2, i + 1);
                d = duk_get_number(ctx, -1);
                duk_pop(ctx);
                query->line = (int64_t) duk_hobject_pc2line_query(thr, -1, (duk_uint_fast32_t) DUK_FMOD(d, DUK_DOUBLE_2TO32));
                break;
            }
        }
        duk_pop(ctx);
    }
    return 0;
}

/* Records what a run's thrown value at `err_idx` says: its message (unless the run timed out:
 * then no script code may run any more) and the script line it comes from. */
static void iotpe_capture_error(duk_context *ctx, iotpe_heap *heap, duk_idx_t err_idx, duk_idx_t fn_idx) {
    iotpe_line_query query;
    err_idx = duk_normalize_index(ctx, err_idx);
    fn_idx = duk_normalize_index(ctx, fn_idx);
    if (!heap->timed_out) {
        iotpe_capture_message(ctx, heap, err_idx, NULL);
    }
    /* From here on no script code runs; stop checking the deadline so the traceback can be read. */
    heap->armed = 0;
    query.err_idx = err_idx;
    query.fn_idx = fn_idx;
    query.line = 0;
    duk_safe_call(ctx, iotpe_script_line_protected, &query, 0, 0);
    heap->error_line = query.line;
}

/*
 * Heaps.
 */

IOTPE_EXPORT iotpe_heap *iotpe_heap_create(size_t memory_limit, iotpe_host_callback callback, void *host_state) {
    iotpe_heap *heap = (iotpe_heap *) calloc(1, sizeof(iotpe_heap));
    if (heap == NULL) {
        return NULL;
    }
    heap->limit = memory_limit;
    heap->host_callback = callback;
    heap->host_state = host_state;
    heap->error_offset = -1;
    heap->stack_limit = iotpe_current_stack_limit();
    heap->ctx = duk_create_heap(iotpe_alloc, iotpe_realloc, iotpe_free, heap, NULL);
    if (heap->ctx == NULL) {
        free(heap);
        return NULL;
    }
    return heap;
}

IOTPE_EXPORT void iotpe_heap_destroy(iotpe_heap *heap) {
    if (heap == NULL) {
        return;
    }
    heap->stack_limit = iotpe_current_stack_limit();
    duk_destroy_heap(heap->ctx);
    iotpe_buffer_free(&heap->reply);
    iotpe_buffer_free(&heap->result_json);
    iotpe_buffer_free(&heap->error_message);
    free(heap);
}

IOTPE_EXPORT void iotpe_heap_set_limits(iotpe_heap *heap, int64_t max_host_calls, int64_t max_publishes,
                                        size_t max_host_call_bytes, size_t max_result_bytes) {
    heap->max_host_calls = max_host_calls;
    heap->max_publishes = max_publishes;
    heap->max_host_call_bytes = max_host_call_bytes;
    heap->max_result_bytes = max_result_bytes;
}

/* Asks the current run to stop: the script sees the same RangeError as on a timeout. Safe to
 * call from any thread while the heap exists. */
IOTPE_EXPORT void iotpe_heap_interrupt(iotpe_heap *heap) {
    __atomic_store_n(&heap->interrupt_requested, 1, __ATOMIC_RELAXED);
}

IOTPE_EXPORT void iotpe_heap_clear_interrupt(iotpe_heap *heap) {
    __atomic_store_n(&heap->interrupt_requested, 0, __ATOMIC_RELAXED);
}

IOTPE_EXPORT int iotpe_heap_interrupted(iotpe_heap *heap) {
    return __atomic_load_n(&heap->interrupt_requested, __ATOMIC_RELAXED);
}

IOTPE_EXPORT int iotpe_heap_timed_out(iotpe_heap *heap) {
    return heap->timed_out;
}

IOTPE_EXPORT int iotpe_heap_allocation_refused(iotpe_heap *heap) {
    return heap->allocation_refused;
}

IOTPE_EXPORT size_t iotpe_heap_used(iotpe_heap *heap) {
    return heap->used;
}

IOTPE_EXPORT size_t iotpe_heap_peak(iotpe_heap *heap) {
    return heap->peak;
}

IOTPE_EXPORT const char *iotpe_heap_result_json(iotpe_heap *heap, size_t *length) {
    *length = heap->result_json.length;
    return heap->has_result ? heap->result_json.data : NULL;
}

IOTPE_EXPORT const char *iotpe_heap_error_message(iotpe_heap *heap, size_t *length) {
    *length = heap->error_message.length;
    return heap->error_message.length > 0 ? heap->error_message.data : NULL;
}

IOTPE_EXPORT int64_t iotpe_heap_error_line(iotpe_heap *heap) {
    return heap->error_line;
}

IOTPE_EXPORT int64_t iotpe_heap_error_offset(iotpe_heap *heap) {
    return heap->error_offset;
}

/*
 * Host calls.
 */

/* The one native function scripts can reach, and only through the prelude, which receives it as
 * an argument and keeps it in a closure: host(functionName, argumentsArray). */
static duk_ret_t iotpe_host_bridge(duk_context *ctx) {
    duk_hthread *thr = (duk_hthread *) ctx;
    iotpe_heap *heap = (iotpe_heap *) thr->heap->heap_udata;
    duk_size_t function_length = 0, arguments_length = 0;
    const char *function = duk_require_lstring(ctx, 0, &function_length);
    const char *arguments;

    if (!heap->in_run || heap->host_callback == NULL) {
        /* e.g. a host function called from a toJSON() while the run's result is encoded */
        return duk_error(ctx, DUK_ERR_ERROR, "host functions can only be called while the script runs");
    }
    if (heap->host_calls >= heap->max_host_calls) {
        return duk_error(ctx, DUK_ERR_RANGE_ERROR, "host call limit reached: at most %ld calls of publish, db, kv and log per run",
                         (long) heap->max_host_calls);
    }
    heap->host_calls++;
    if (function_length == 7 && memcmp(function, "publish", 7) == 0) {
        if (heap->publishes >= heap->max_publishes) {
            return duk_error(ctx, DUK_ERR_RANGE_ERROR, "publish limit reached: at most %ld publishes per run", (long) heap->max_publishes);
        }
        heap->publishes++;
    }

    duk_set_top(ctx, 2);
    arguments = duk_json_encode(ctx, 1);
    if (arguments == NULL) {
        duk_push_string(ctx, "[]");
        duk_replace(ctx, 1);
    }
    arguments = duk_get_lstring(ctx, 1, &arguments_length);
    if (arguments_length > heap->max_host_call_bytes) {
        return duk_error(ctx, DUK_ERR_RANGE_ERROR, "%s: arguments too large: %lu bytes as JSON, the limit is %lu",
                         function, (unsigned long) arguments_length, (unsigned long) heap->max_host_call_bytes);
    }

    /* The managed callback runs now. It only reads these bytes and answers via iotpe_host_reply();
     * nothing below may throw until it has returned (see the rule at the top of this file). */
    heap->reply_kind = IOTPE_REPLY_NONE;
    heap->host_callback(heap->host_state, function, function_length, arguments, arguments_length);

    switch (heap->reply_kind) {
    case IOTPE_REPLY_JSON:
        duk_push_lstring(ctx, heap->reply.data, heap->reply.length);
        duk_json_decode(ctx, -1);
        return 1;
    case IOTPE_REPLY_ERROR:
        /* The message stays in heap->reply (owned by the heap), so throwing leaks nothing. */
        return duk_error(ctx, DUK_ERR_ERROR, "%s", heap->reply.data != NULL ? heap->reply.data : "host error");
    default:
        return 0;
    }
}

/* The managed side's answer to the host call in progress: copies `data` (CESU-8: JSON for
 * IOTPE_REPLY_JSON, a message for IOTPE_REPLY_ERROR). Never throws. Returns 0, or -1 when the copy
 * could not be allocated (the script then sees an error). */
IOTPE_EXPORT int iotpe_host_reply(iotpe_heap *heap, int kind, const char *data, size_t length) {
    iotpe_buffer_set(&heap->reply, data, length);
    if (heap->reply.data == NULL || heap->reply.length != length) {
        heap->reply_kind = IOTPE_REPLY_ERROR;
        iotpe_buffer_set(&heap->reply, "host reply too large", 20);
        return -1;
    }
    heap->reply_kind = kind;
    return 0;
}

/*
 * Setting a heap up: the errCreate hook, the script table, the prelude.
 */

typedef struct iotpe_source {
    const char *text;
    size_t length;
    const char *filename;
    const char *key;
    size_t key_length;
} iotpe_source;

typedef struct iotpe_init_call {
    iotpe_source prelude;
    int ok;
} iotpe_init_call;

static duk_ret_t iotpe_init_protected(duk_context *ctx, void *udata) {
    iotpe_heap *heap = (iotpe_heap *) ((duk_hthread *) ctx)->heap->heap_udata;
    iotpe_init_call *call = (iotpe_init_call *) udata;

    /* Hook error creation on the built-in Duktape object; the prelude removes the global binding
     * that scripts could reach it by, but the engine keeps using the built-in. */
    duk_push_heapptr(ctx, ((duk_hthread *) ctx)->builtins[DUK_BIDX_DUKTAPE]);
    duk_push_c_function(ctx, iotpe_err_create, 1);
    duk_put_prop_string(ctx, -2, "errCreate");
    duk_pop(ctx);

    duk_push_global_stash(ctx);
    duk_push_bare_object(ctx);
    duk_put_prop_string(ctx, -2, IOTPE_SCRIPTS_KEY);
    duk_pop(ctx);

    /* The prelude is the body of function (host) { ... }; it defines the script API on the
     * global object around the bridge it is given, which nothing else ever holds. */
    duk_push_string(ctx, call->prelude.filename);
    if (duk_pcompile_lstring_filename(ctx, DUK_COMPILE_FUNCTION | DUK_COMPILE_STRICT, call->prelude.text, call->prelude.length) != 0) {
        iotpe_capture_message(ctx, heap, -1, "prelude: ");
        return 0;
    }
    duk_push_c_function(ctx, iotpe_host_bridge, 2);
    if (duk_pcall(ctx, 1) != 0) {
        iotpe_capture_message(ctx, heap, -1, "prelude: ");
        return 0;
    }
    call->ok = 1;
    return 0;
}

/* Prepares a new heap: runs the prelude. Returns IOTPE_OK, or an error with its message. */
IOTPE_EXPORT int iotpe_heap_init(iotpe_heap *heap, const char *prelude, size_t prelude_length, int64_t timeout_ms) {
    iotpe_init_call call = { { prelude, prelude_length, IOTPE_PRELUDE_FILENAME, NULL, 0 }, 0 };
    iotpe_enter(heap, timeout_ms);
    iotpe_protected(heap, iotpe_init_protected, &call);
    iotpe_leave(heap);
    return call.ok ? IOTPE_OK : IOTPE_ENGINE_ERROR;
}

/*
 * Compiling, loading and unloading scripts.
 */

static duk_ret_t iotpe_compile_inner_protected(duk_context *ctx, void *udata) {
    iotpe_source *source = (iotpe_source *) udata;
    duk_push_string(ctx, source->filename);
    duk_compile_lstring_filename(ctx, DUK_COMPILE_FUNCTION, source->text, source->length);
    return 1;
}

typedef struct iotpe_load_call {
    iotpe_source source;
    int outcome;
} iotpe_load_call;

/* Compiles the script; stores it under its key unless the key is NULL (a check). */
static duk_ret_t iotpe_load_protected(duk_context *ctx, void *udata) {
    iotpe_heap *heap = (iotpe_heap *) ((duk_hthread *) ctx)->heap->heap_udata;
    iotpe_load_call *call = (iotpe_load_call *) udata;

    if (duk_safe_call(ctx, iotpe_compile_inner_protected, &call->source, 0, 1) != 0) {
        /* [ error ] */
        if (duk_is_object(ctx, -1)) {
            if (duk_get_prop_string(ctx, -1, DUK_HIDDEN_SYMBOL("IoTPESourceOffset"))) {
                heap->error_offset = (int64_t) duk_get_number(ctx, -1);
            }
            duk_pop(ctx);
        }
        iotpe_capture_message(ctx, heap, -1, NULL);
        call->outcome = IOTPE_SCRIPT_ERROR;
        return 0;
    }
    /* [ function ] */
    if (call->source.key != NULL) {
        duk_push_global_stash(ctx);
        duk_get_prop_string(ctx, -1, IOTPE_SCRIPTS_KEY);
        duk_push_lstring(ctx, call->source.key, call->source.key_length);
        duk_dup(ctx, -4);
        duk_put_prop(ctx, -3);
    }
    call->outcome = IOTPE_OK;
    return 0;
}

static int iotpe_load_or_check(iotpe_heap *heap, iotpe_source *source, int64_t timeout_ms) {
    iotpe_load_call call;
    call.source = *source;
    call.outcome = IOTPE_ENGINE_ERROR;
    iotpe_enter(heap, timeout_ms);
    iotpe_protected(heap, iotpe_load_protected, &call);
    iotpe_leave(heap);
    return call.outcome;
}

/* Compiles `text` (CESU-8) as one function expression named by `filename` (NUL-terminated) and
 * stores it under `key`. On IOTPE_SCRIPT_ERROR the message and the byte offset are available. */
IOTPE_EXPORT int iotpe_load(iotpe_heap *heap, const char *key, size_t key_length, const char *text, size_t length,
                            const char *filename, int64_t timeout_ms) {
    iotpe_source source = { text, length, filename, key, key_length };
    return iotpe_load_or_check(heap, &source, timeout_ms);
}

/* Compiles without storing. */
IOTPE_EXPORT int iotpe_check(iotpe_heap *heap, const char *text, size_t length, const char *filename, int64_t timeout_ms) {
    iotpe_source source = { text, length, filename, NULL, 0 };
    return iotpe_load_or_check(heap, &source, timeout_ms);
}

static duk_ret_t iotpe_unload_protected(duk_context *ctx, void *udata) {
    iotpe_source *source = (iotpe_source *) udata;
    duk_push_global_stash(ctx);
    duk_get_prop_string(ctx, -1, IOTPE_SCRIPTS_KEY);
    duk_push_lstring(ctx, source->key, source->key_length);
    duk_del_prop(ctx, -2);
    return 0;
}

IOTPE_EXPORT int iotpe_unload(iotpe_heap *heap, const char *key, size_t key_length) {
    iotpe_source source = { NULL, 0, NULL, key, key_length };
    int rc;
    iotpe_enter(heap, 0);
    rc = iotpe_protected(heap, iotpe_unload_protected, &source);
    iotpe_leave(heap);
    return rc == 0 ? IOTPE_OK : IOTPE_ENGINE_ERROR;
}

/*
 * Running a script.
 */

typedef struct iotpe_run_call {
    const char *key;
    size_t key_length;
    const char *message;
    size_t message_length;
    int outcome;
} iotpe_run_call;

static duk_ret_t iotpe_json_decode_protected(duk_context *ctx, void *udata) {
    (void) udata;
    duk_json_decode(ctx, -1);
    return 1;
}

static duk_ret_t iotpe_json_encode_protected(duk_context *ctx, void *udata) {
    (void) udata;
    duk_json_encode(ctx, -1);
    return 1;
}

static duk_ret_t iotpe_run_protected(duk_context *ctx, void *udata) {
    iotpe_heap *heap = (iotpe_heap *) ((duk_hthread *) ctx)->heap->heap_udata;
    iotpe_run_call *call = (iotpe_run_call *) udata;
    duk_idx_t fn_idx;
    duk_size_t length = 0;
    const char *json;

    duk_push_global_stash(ctx);
    duk_get_prop_string(ctx, -1, IOTPE_SCRIPTS_KEY);
    duk_push_lstring(ctx, call->key, call->key_length);
    if (!duk_get_prop(ctx, -2) || !duk_is_function(ctx, -1)) {
        call->outcome = IOTPE_NOT_LOADED;
        return 0;
    }
    fn_idx = duk_get_top_index(ctx); /* [ stash scripts fn ] */

    duk_push_lstring(ctx, call->message, call->message_length);
    if (duk_safe_call(ctx, iotpe_json_decode_protected, NULL, 1, 1) != 0) {
        iotpe_capture_message(ctx, heap, -1, "the message is not JSON: ");
        call->outcome = IOTPE_BAD_MESSAGE;
        return 0;
    }
    /* [ stash scripts fn message ] */
    duk_dup(ctx, fn_idx);
    duk_swap_top(ctx, -2); /* [ stash scripts fn fn message ] */
    heap->in_run = 1;
    if (duk_pcall(ctx, 1) != 0) {
        heap->in_run = 0;
        iotpe_capture_error(ctx, heap, -1, fn_idx);
        call->outcome = IOTPE_SCRIPT_ERROR;
        return 0;
    }
    heap->in_run = 0;
    /* [ stash scripts fn result ] */
    if (duk_is_undefined(ctx, -1)) {
        call->outcome = IOTPE_OK;
        return 0;
    }
    /* Encoding may run script code (toJSON, getters): still under the deadline. */
    if (duk_safe_call(ctx, iotpe_json_encode_protected, NULL, 1, 1) != 0) {
        iotpe_capture_message(ctx, heap, -1, "the return value cannot be encoded as JSON: ");
        call->outcome = IOTPE_RESULT_ERROR;
        return 0;
    }
    json = duk_get_lstring(ctx, -1, &length);
    if (json == NULL) {
        /* A function or a symbol: JSON has no encoding, as for undefined. */
        call->outcome = IOTPE_OK;
        return 0;
    }
    if (length > heap->max_result_bytes) {
        char message[160];
        snprintf(message, sizeof message, "RangeError: the return value is %lu bytes as JSON, the limit is %lu",
                 (unsigned long) length, (unsigned long) heap->max_result_bytes);
        iotpe_set_error_message(heap, message, strlen(message));
        call->outcome = IOTPE_RESULT_ERROR;
        return 0;
    }
    iotpe_buffer_set(&heap->result_json, json, length);
    heap->has_result = heap->result_json.length == length;
    call->outcome = heap->has_result ? IOTPE_OK : IOTPE_ENGINE_ERROR;
    return 0;
}

/* Runs the script stored under `key` with the message (JSON, CESU-8) as its argument, within the
 * deadline. Afterwards: the result (iotpe_heap_result_json) or the error (message, line), and
 * the flags (timed out, allocation refused, interrupted) tell what happened. */
IOTPE_EXPORT int iotpe_run(iotpe_heap *heap, const char *key, size_t key_length, const char *message, size_t message_length,
                           int64_t timeout_ms) {
    iotpe_run_call call = { key, key_length, message, message_length, IOTPE_ENGINE_ERROR };
    iotpe_enter(heap, timeout_ms);
    iotpe_protected(heap, iotpe_run_protected, &call);
    iotpe_leave(heap);
    return call.outcome;
}

static duk_ret_t iotpe_collect_protected(duk_context *ctx, void *udata) {
    (void) udata;
    /* Twice: the first pass may only mark objects with finalizers, the second frees them. */
    duk_gc(ctx, 0);
    duk_gc(ctx, 0);
    return 0;
}

/* A full garbage collection (reference counting frees most garbage at once; this also frees cycles). */
IOTPE_EXPORT void iotpe_heap_collect(iotpe_heap *heap) {
    iotpe_enter(heap, 0);
    heap->armed = 0;
    iotpe_protected(heap, iotpe_collect_protected, NULL);
    iotpe_leave(heap);
}

/* Duktape's version as major * 10000 + minor * 100 + patch. */
IOTPE_EXPORT long iotpe_version(void) {
    return (long) DUK_VERSION;
}
