/*
 * IoTPE's shim around Duktape: heaps with a memory cap and a per-run deadline, and compilation
 * that reports where a syntax error is.
 *
 * Duktape is compiled in this same translation unit so that the shim can read the compiler's
 * current token when a compile error is created; Duktape itself only reports a line number.
 */
#include "duktape.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define IOTPE_EXPORT __attribute__((visibility("default")))

/* Every allocation carries its size in a header so that the heap's total can be kept exact. */
#define IOTPE_ALLOC_HEADER 16

typedef struct iotpe_heap {
    duk_context *ctx;
    size_t used;              /* bytes currently allocated by this heap */
    size_t peak;              /* high-water mark of `used` */
    size_t limit;             /* 0 = no memory cap */
    int64_t deadline_ns;      /* CLOCK_MONOTONIC deadline of the current run; 0 = none */
    int timed_out;            /* the deadline passed during the current run */
    int allocation_refused;   /* an allocation was refused by the cap during the current run */
} iotpe_heap;

static int64_t iotpe_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int iotpe_exec_timeout_check(void *udata) {
    iotpe_heap *heap = (iotpe_heap *) udata;
    if (heap == NULL || heap->deadline_ns == 0) {
        return 0;
    }
    /* Keep answering "timed out" once the deadline passed, so that a script catching the
     * RangeError cannot keep running. */
    if (heap->timed_out || iotpe_now_ns() >= heap->deadline_ns) {
        heap->timed_out = 1;
        return 1;
    }
    return 0;
}

void iotpe_fatal(void *udata, const char *msg) {
    (void) udata;
    fprintf(stderr, "iotpe: fatal script engine error: %s\n", msg ? msg : "(no message)");
    fflush(stderr);
    abort();
}

static void *iotpe_alloc(void *udata, duk_size_t size) {
    iotpe_heap *heap = (iotpe_heap *) udata;
    unsigned char *block;
    if (size == 0) {
        return NULL;
    }
    if (heap->limit != 0 && (size > heap->limit || heap->used > heap->limit - size)) {
        heap->allocation_refused = 1;
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

IOTPE_EXPORT iotpe_heap *iotpe_heap_create(size_t memory_limit) {
    iotpe_heap *heap = (iotpe_heap *) calloc(1, sizeof(iotpe_heap));
    if (heap == NULL) {
        return NULL;
    }
    heap->limit = memory_limit;
    heap->ctx = duk_create_heap(iotpe_alloc, iotpe_realloc, iotpe_free, heap, NULL);
    if (heap->ctx == NULL) {
        free(heap);
        return NULL;
    }
    duk_push_global_stash(heap->ctx); /* keep the stack shape simple: [ ] after setup */
    duk_pop(heap->ctx);
    duk_eval_string_noresult(heap->ctx, "void 0"); /* warm up built-ins */
    duk_push_c_function(heap->ctx, iotpe_err_create, 1);
    duk_push_heapptr(heap->ctx, ((duk_hthread *) heap->ctx)->builtins[DUK_BIDX_DUKTAPE]);
    duk_swap_top(heap->ctx, -2);
    duk_put_prop_string(heap->ctx, -2, "errCreate");
    duk_pop(heap->ctx);
    return heap;
}

IOTPE_EXPORT duk_context *iotpe_heap_context(iotpe_heap *heap) {
    return heap->ctx;
}

IOTPE_EXPORT void iotpe_heap_destroy(iotpe_heap *heap) {
    if (heap == NULL) {
        return;
    }
    duk_destroy_heap(heap->ctx);
    free(heap);
}

/* Starts a run: clears the previous run's flags and sets its deadline (timeout_ms <= 0: none). */
IOTPE_EXPORT void iotpe_heap_begin_run(iotpe_heap *heap, int64_t timeout_ms) {
    heap->timed_out = 0;
    heap->allocation_refused = 0;
    heap->deadline_ns = timeout_ms > 0 ? iotpe_now_ns() + timeout_ms * 1000000LL : 0;
}

IOTPE_EXPORT void iotpe_heap_end_run(iotpe_heap *heap) {
    heap->deadline_ns = 0;
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

/* Compiles `source` (UTF-8, not NUL-terminated) with Duktape compile `flags`. Returns 0 with the compiled function
 * on the value stack, or non-zero with the error on the value stack. */
IOTPE_EXPORT int iotpe_compile(duk_context *ctx, const char *source, size_t length, const char *filename, duk_uint_t flags) {
    duk_push_string(ctx, filename);
    return duk_pcompile_lstring_filename(ctx, flags, source, length);
}

/* The byte offset into the compiled source at which the compile error at `idx` was raised,
 * or -1 when the error did not come from the compiler. */
IOTPE_EXPORT int64_t iotpe_error_source_offset(duk_context *ctx, duk_idx_t idx) {
    int64_t offset = -1;
    if (duk_is_object(ctx, idx) && duk_get_prop_string(ctx, idx, DUK_HIDDEN_SYMBOL("IoTPESourceOffset"))) {
        offset = (int64_t) duk_get_number(ctx, -1);
    }
    duk_pop(ctx);
    return offset;
}

/* Duktape's version as major * 10000 + minor * 100 + patch. */
IOTPE_EXPORT long iotpe_version(void) {
    return (long) DUK_VERSION;
}
