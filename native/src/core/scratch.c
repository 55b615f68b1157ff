/*
 * Per-thread scratch (see scratch.h for the contract, README.md for the measurements).
 * The per-thread state lives behind core/thread_exit.h, which frees it when the thread exits.
 */
#include <stdlib.h>

#include "core/platform.h"
#include "core/scratch.h"
#include "core/thread_exit.h"

/* 64-byte alignment: pcnn_aligned_alloc64 (core/platform.h; aligned_alloc is not on Windows) */
#define SCRATCH_ROUND 4096 /* sizes are rounded up to whole pages: fewer re-allocations */
/* Buffers from this size on are mapped from the OS directly, so that freeing one (trim, thread
 * exit) returns its pages at once. From malloc they would stay in the freeing thread's malloc
 * arena: measured with 400 short-lived Java threads, glibc's arenas kept ~36 MB resident that
 * no thread held (malloc raises its own mmap threshold to the largest size freed). */
#define SCRATCH_MAP_MIN ((size_t)64 * 1024)

typedef struct thread_scratch {
    void *ptr[PCNN_SCRATCH_SLOTS];
    size_t cap[PCNN_SCRATCH_SLOTS];
    size_t held; /* sum of cap[] */
} thread_scratch;

static int64_t total_bytes;    /* all threads' buffers + bookkeeping; __atomic builtins */
static int64_t fail_countdown; /* test hook; __atomic builtins */
static int64_t budget_bytes = PCNN_SCRATCH_BUDGET_BYTES; /* __atomic builtins */

PCNN_API int64_t pcnn_scratch_bytes(void) {
    return __atomic_load_n(&total_bytes, __ATOMIC_RELAXED);
}

PCNN_INTERNAL int64_t pcnn_scratch_fail_nth_alloc(int64_t n) {
    return __atomic_exchange_n(&fail_countdown, n > 0 ? n : 0, __ATOMIC_RELAXED);
}

/* True for the allocation the test hook says must fail. */
static int injected_failure(void) {
    int64_t c = __atomic_load_n(&fail_countdown, __ATOMIC_RELAXED);
    while (c > 0) {
        if (__atomic_compare_exchange_n(&fail_countdown, &c, c - 1, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            return c == 1;
        }
    }
    return 0;
}

static void *os_alloc(size_t bytes) { /* bytes: a multiple of SCRATCH_ROUND */
    return bytes >= SCRATCH_MAP_MIN ? pcnn_pages_alloc(bytes) : pcnn_aligned_alloc64(bytes);
}

static void os_free(void *p, size_t bytes) {
    if (bytes >= SCRATCH_MAP_MIN) {
        pcnn_pages_free(p, bytes);
    } else {
        pcnn_aligned_free(p);
    }
}

static void account(int64_t delta) { __atomic_add_fetch(&total_bytes, delta, __ATOMIC_RELAXED); }

static void release_slot(thread_scratch *t, int slot) {
    if (t->ptr[slot] != NULL) {
        os_free(t->ptr[slot], t->cap[slot]);
        account(-(int64_t)t->cap[slot]);
        t->held -= t->cap[slot];
        t->ptr[slot] = NULL;
        t->cap[slot] = 0;
    }
}

PCNN_INTERNAL void pcnn_thread_state_free(void *state) {
    thread_scratch *t = state;
    for (int s = 0; s < PCNN_SCRATCH_SLOTS; ++s) {
        release_slot(t, s);
    }
    free(t);
    account(-(int64_t)sizeof *t);
}

/* The calling thread's state, created on first use; NULL when out of memory. */
static thread_scratch *this_thread(void) {
    thread_scratch *t = pcnn_thread_state_get();
    if (t != NULL) {
        return t;
    }
    if (injected_failure()) {
        return NULL;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        return NULL;
    }
    if (pcnn_thread_state_set(t) != 0) {
        free(t); /* without an exit hook it would leak with its thread */
        return NULL;
    }
    account((int64_t)sizeof *t);
    return t;
}

PCNN_INTERNAL void *pcnn_scratch_get(pcnn_scratch_slot slot, size_t bytes) {
    if ((unsigned)slot >= PCNN_SCRATCH_SLOTS) {
        return NULL;
    }
    thread_scratch *t = this_thread();
    if (t == NULL) {
        return NULL;
    }
    if (bytes <= t->cap[slot] && t->ptr[slot] != NULL) {
        return t->ptr[slot];
    }
    if (bytes > SIZE_MAX - SCRATCH_ROUND) {
        return NULL;
    }
    const size_t want = bytes == 0 ? 1 : bytes;
    const size_t rounded = (want + SCRATCH_ROUND - 1) & ~(size_t)(SCRATCH_ROUND - 1);
    release_slot(t, slot); /* before allocating: the peak stays at the new size */
    void *p = injected_failure() ? NULL : os_alloc(rounded);
    if (p == NULL) {
        return NULL;
    }
    t->ptr[slot] = p;
    t->cap[slot] = rounded;
    t->held += rounded;
    account((int64_t)rounded);
    return p;
}

PCNN_INTERNAL int64_t pcnn_scratch_set_budget(int64_t bytes) {
    return __atomic_exchange_n(&budget_bytes, bytes > 0 ? bytes : 0, __ATOMIC_RELAXED);
}

PCNN_INTERNAL void pcnn_scratch_trim(void) {
    thread_scratch *t = pcnn_thread_state_get();
    if (t == NULL || t->held <= PCNN_SCRATCH_KEEP_BYTES) {
        return;
    }
    /* Under the process-wide budget a thread keeps what it has: re-mapping large buffers on
     * every call costs page faults (measured up to 13x on a loaded VM; see README.md). */
    if (__atomic_load_n(&total_bytes, __ATOMIC_RELAXED) <=
        __atomic_load_n(&budget_bytes, __ATOMIC_RELAXED)) {
        return;
    }
    while (t->held > PCNN_SCRATCH_KEEP_BYTES) {
        int largest = 0;
        for (int s = 1; s < PCNN_SCRATCH_SLOTS; ++s) {
            if (t->cap[s] > t->cap[largest]) {
                largest = s;
            }
        }
        release_slot(t, largest);
    }
}
