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
    size_t held; /* sum of cap[]; written by the owner only, with __atomic stores (read by queries) */
    int64_t os_thread_id; /* the owner (pcnn_os_thread_id) */
    struct thread_scratch *prev, *next; /* the registry of live states */
} thread_scratch;

/* Every live thread's state, so that pcnn_scratch_threads can say who holds what (a thread's exit
 * takes its state out). Only creation, exit and that query take the lock: never a kernel call. */
static pcnn_mutex_t registry_mutex = PCNN_MUTEX_INIT;
static thread_scratch *registry;

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

static void set_held(thread_scratch *t, size_t held) { __atomic_store_n(&t->held, held, __ATOMIC_RELAXED); }

static void release_slot(thread_scratch *t, int slot) {
    if (t->ptr[slot] != NULL) {
        os_free(t->ptr[slot], t->cap[slot]);
        account(-(int64_t)t->cap[slot]);
        set_held(t, t->held - t->cap[slot]);
        t->ptr[slot] = NULL;
        t->cap[slot] = 0;
    }
}

/* After fork() the child has one thread: the lock may have been held by another. */
static void registry_after_fork_child(void) { pcnn_mutex_reset(&registry_mutex); }
static void registry_init(void) { pcnn_at_fork_child(registry_after_fork_child); }
static pcnn_once_t registry_once = PCNN_ONCE_INIT;

static void registry_add(thread_scratch *t) {
    pcnn_once(&registry_once, registry_init);
    pcnn_mutex_lock(&registry_mutex);
    t->prev = NULL;
    t->next = registry;
    if (registry != NULL) {
        registry->prev = t;
    }
    registry = t;
    pcnn_mutex_unlock(&registry_mutex);
}

static void registry_remove(thread_scratch *t) {
    pcnn_mutex_lock(&registry_mutex);
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        registry = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    pcnn_mutex_unlock(&registry_mutex);
}

PCNN_API int64_t pcnn_scratch_threads(int64_t *thread_ids, int64_t *bytes, int64_t capacity) {
    if (capacity < 0) {
        return -1;
    }
    int64_t n = 0;
    pcnn_mutex_lock(&registry_mutex);
    for (const thread_scratch *t = registry; t != NULL; t = t->next, ++n) {
        if (n < capacity) {
            if (thread_ids != NULL) {
                thread_ids[n] = t->os_thread_id;
            }
            if (bytes != NULL) {
                bytes[n] = (int64_t)__atomic_load_n(&t->held, __ATOMIC_RELAXED) + (int64_t)sizeof *t;
            }
        }
    }
    pcnn_mutex_unlock(&registry_mutex);
    return n;
}

PCNN_INTERNAL void pcnn_thread_state_free(void *state) {
    thread_scratch *t = state;
    registry_remove(t);
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
    t->os_thread_id = pcnn_os_thread_id();
    registry_add(t);
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
    set_held(t, t->held + rounded);
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
