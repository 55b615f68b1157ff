/*
 * The library's own thread pool: persistent threads created lazily (at most 255 workers,
 * plus the calling thread), a static partition of the tasks and no work stealing, so that
 * task i does the same computation whoever runs it.
 *
 * pcnn_parallel_for(ntasks, fn, ctx): participants p = 0 .. P-1 (p = 0 is the caller) run
 * the contiguous block [p*q + min(p, r), ...) of the tasks, q = ntasks / P, r = ntasks % P.
 * Only one parallel region runs at a time; a concurrent caller (another Java thread) and any
 * nested call made from inside a task run their tasks serially on their own thread.
 * Workers block every signal (the JVM owns the signal handling of its process). Nothing
 * here prints, aborts, exits or touches MXCSR. Threads, locks and the CPU count come from
 * core/platform.h (pthreads or Win32).
 */
#include <stdlib.h>

#include "core/pcnn_internal.h"
#include "core/platform.h"
#include "core/scratch.h"

#define PCNN_MAX_THREADS 256
#define PCNN_MAX_WORKERS (PCNN_MAX_THREADS - 1)

static pcnn_once_t threads_once = PCNN_ONCE_INIT;
static int32_t num_threads_setting = 1; /* accessed with __atomic builtins */

static pcnn_mutex_t job_mutex = PCNN_MUTEX_INIT;    /* one region at a time */
static pcnn_mutex_t pool_mutex = PCNN_MUTEX_INIT; /* guards everything below */
static pcnn_cond_t work_cond = PCNN_COND_INIT;
static pcnn_cond_t done_cond = PCNN_COND_INIT;
static int nworkers;
static uint64_t generation;
static uint64_t worker_start_gen[PCNN_MAX_WORKERS];
static pcnn_task_fn job_fn;
static void *job_ctx;
static int64_t job_ntasks;
static int job_nparts;
static int job_pending;

static __thread int tls_in_region;

static int32_t clamp_threads(long v) {
    if (v < 1) {
        return 1;
    }
    if (v > PCNN_MAX_THREADS) {
        return PCNN_MAX_THREADS;
    }
    return (int32_t)v;
}

static void after_fork_child(void) {
    /* Workers do not survive fork(); start again with none. */
    pcnn_mutex_reset(&job_mutex);
    pcnn_mutex_reset(&pool_mutex);
    pcnn_cond_reset(&work_cond);
    pcnn_cond_reset(&done_cond);
    nworkers = 0;
    job_pending = 0;
    tls_in_region = 0;
}

static void threads_init(void) {
    int32_t n = -1;
    const char *env = getenv("PANAMACNN_NUM_THREADS");
    if (env != NULL && *env != '\0') {
        char *end = NULL;
        const long v = strtol(env, &end, 10);
        if (end != env && *end == '\0') {
            n = clamp_threads(v);
        }
    }
    if (n < 0) {
        n = clamp_threads((long)pcnn_cpu_count());
    }
    __atomic_store_n(&num_threads_setting, n, __ATOMIC_RELEASE);
    pcnn_at_fork_child(after_fork_child);
}

PCNN_API int32_t pcnn_set_num_threads(int32_t num_threads) {
    if (num_threads < 1 || num_threads > PCNN_MAX_THREADS) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    pcnn_once(&threads_once, threads_init);
    __atomic_store_n(&num_threads_setting, num_threads, __ATOMIC_RELEASE);
    return PCNN_STATUS_OK;
}

PCNN_API int32_t pcnn_get_num_threads(void) {
    pcnn_once(&threads_once, threads_init);
    return __atomic_load_n(&num_threads_setting, __ATOMIC_ACQUIRE);
}

static void run_part(pcnn_task_fn fn, void *ctx, int64_t ntasks, int nparts, int part) {
    const int64_t q = ntasks / nparts;
    const int64_t r = ntasks % nparts;
    const int64_t begin = (int64_t)part * q + (part < r ? part : r);
    const int64_t end = begin + q + (part < r ? 1 : 0);
    for (int64_t i = begin; i < end; ++i) {
        fn(ctx, i);
    }
}

static void worker_main(void *arg) {
    const int id = (int)(intptr_t)arg;
    const int part = id + 1;
    pcnn_mutex_lock(&pool_mutex);
    uint64_t seen = worker_start_gen[id];
    for (;;) {
        while (generation == seen) {
            pcnn_cond_wait(&work_cond, &pool_mutex);
        }
        seen = generation;
        if (part < job_nparts) {
            const pcnn_task_fn fn = job_fn;
            void *const ctx = job_ctx;
            const int64_t ntasks = job_ntasks;
            const int nparts = job_nparts;
            pcnn_mutex_unlock(&pool_mutex);
            tls_in_region = 1;
            run_part(fn, ctx, ntasks, nparts, part);
            tls_in_region = 0;
            pcnn_scratch_trim(); /* before reporting done: the caller's count is then final */
            pcnn_mutex_lock(&pool_mutex);
            if (--job_pending == 0) {
                pcnn_cond_signal(&done_cond);
            }
        }
    }
}

/* Called with pool_mutex held: make sure `want` workers exist; returns how many do. */
static int ensure_workers(int want) {
    if (want > PCNN_MAX_WORKERS) {
        want = PCNN_MAX_WORKERS;
    }
    if (nworkers >= want) {
        return nworkers;
    }
    while (nworkers < want) {
        worker_start_gen[nworkers] = generation;
        if (pcnn_thread_start_detached(worker_main, (void *)(intptr_t)nworkers) != 0) {
            break; /* run with the workers we have */
        }
        ++nworkers;
    }
    return nworkers;
}

static void run_serial(int64_t ntasks, pcnn_task_fn fn, void *ctx) {
    const int saved = tls_in_region;
    tls_in_region = 1;
    for (int64_t i = 0; i < ntasks; ++i) {
        fn(ctx, i);
    }
    tls_in_region = saved;
}

/* The pool with at most max_parts participants (>= 1). */
static void parallel_for_capped(int64_t ntasks, pcnn_task_fn fn, void *ctx, int64_t max_parts) {
    if (ntasks <= 0 || fn == NULL) {
        return;
    }
    int64_t want = pcnn_get_num_threads();
    if (want > max_parts) {
        want = max_parts;
    }
    if (want > ntasks) {
        want = ntasks;
    }
    if (want <= 1 || tls_in_region) {
        run_serial(ntasks, fn, ctx);
        return;
    }
    if (!pcnn_mutex_trylock(&job_mutex)) {
        run_serial(ntasks, fn, ctx); /* another thread owns the pool right now */
        return;
    }
    pcnn_mutex_lock(&pool_mutex);
    const int have = ensure_workers((int)want - 1);
    const int nparts = 1 + (have < (int)want - 1 ? have : (int)want - 1);
    if (nparts <= 1) {
        pcnn_mutex_unlock(&pool_mutex);
        pcnn_mutex_unlock(&job_mutex);
        run_serial(ntasks, fn, ctx);
        return;
    }
    job_fn = fn;
    job_ctx = ctx;
    job_ntasks = ntasks;
    job_nparts = nparts;
    job_pending = nparts - 1;
    ++generation;
    pcnn_cond_broadcast(&work_cond);
    pcnn_mutex_unlock(&pool_mutex);

    tls_in_region = 1;
    run_part(fn, ctx, ntasks, nparts, 0);
    tls_in_region = 0;

    pcnn_mutex_lock(&pool_mutex);
    while (job_pending > 0) {
        pcnn_cond_wait(&done_cond, &pool_mutex);
    }
    pcnn_mutex_unlock(&pool_mutex);
    pcnn_mutex_unlock(&job_mutex);
}

PCNN_INTERNAL void pcnn_parallel_for(int64_t ntasks, pcnn_task_fn fn, void *ctx) {
    parallel_for_capped(ntasks, fn, ctx, PCNN_MAX_THREADS);
}

/*
 * Waking a sleeping worker and waiting for it costs several microseconds (futex wake-up,
 * scheduling; more on a loaded machine), so a participant only pays off with enough work:
 * one participant per PCNN_MIN_WORK_PER_THREAD units of work (multiply-adds, roughly
 * 2-5 us of vector work each), and none besides the caller below that. The partition of
 * tasks among the participants never changes what a task computes.
 */
#define PCNN_MIN_WORK_PER_THREAD ((int64_t)1 << 18)

PCNN_INTERNAL void pcnn_parallel_for_work(int64_t ntasks, int64_t work, pcnn_task_fn fn,
                                          void *ctx) {
    const int64_t parts = work / PCNN_MIN_WORK_PER_THREAD;
    parallel_for_capped(ntasks, fn, ctx, parts < 1 ? 1 : parts);
}
