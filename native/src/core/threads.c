/*
 * The library's own thread pool: persistent threads created lazily (at most 255 workers,
 * plus the calling thread). A task's computation never depends on which thread runs it, so
 * results are the same at every thread count and whoever runs what.
 *
 * pcnn_parallel_for(ntasks, fn, ctx): participant p (p = 0 is the caller) owns the contiguous
 * block [p*q + min(p, r), ...) of the tasks, q = ntasks / P, r = ntasks % P, and runs it in
 * order; a participant that has finished its own block takes the tasks still unclaimed in the
 * others' blocks, one at a time (see "Stealing" below).
 * Only one parallel region runs at a time; a concurrent caller (another Java thread) and any
 * nested call made from inside a task run their tasks serially on their own thread.
 * Waiting polls briefly before it sleeps (see "Spinning" below). Workers block every
 * signal (the JVM owns the signal handling of its process). Nothing
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
static uint64_t generation;      /* written under pool_mutex, read spinning without it */
static uint64_t worker_start_gen[PCNN_MAX_WORKERS];
static pcnn_task_fn job_fn;
static void *job_ctx;
static int job_nparts;
static uint64_t job_active; /* workers inside the current region's claim loop (read spinning) */
static int job_open;    /* whether a worker that wakes up late may still join the region */

/*
 * Stealing. With a static partition alone, a call lasts as long as its slowest participant:
 * when the OS runs another thread on a worker's CPU (on this 2-vCPU VM a JVM's own threads
 * did: a JMH fork's caller and worker shared one vCPU in 7 % of samples, bench/README.md), the
 * caller finished its half and then waited for the whole other half, and a worker still asleep
 * (woken by a futex: 10-50 us here) delayed every short call by that much. So each block has
 * a claim counter: the owner takes its tasks in order from it, and a participant done with
 * its own block claims the rest of the others' blocks from the same counters. Unloaded, each
 * participant runs exactly its block (the same data stays in the same CPU's caches from call
 * to call, which the same-buffer max-pool rows depend on); when one is held up, the others
 * take over its remaining tasks. The caller returns when no task is left unclaimed and no
 * worker is inside the region; a worker that wakes up after that finds the region closed and
 * does nothing, so the caller never waits for a sleeping worker to wake.
 */
typedef struct {
    int64_t next; /* the block's next unclaimed task (fetch-and-add; may run past end) */
    int64_t end;
    char pad[64 - 2 * sizeof(int64_t)]; /* one cache line per block: no false sharing */
} claim_block;
static claim_block claims[PCNN_MAX_THREADS] __attribute__((aligned(64)));

static __thread int tls_in_region;

/*
 * Spinning. A region wakes its workers and waits for them; with condition variables alone
 * each costs a futex wake-up and a reschedule of a sleeping thread: 10-50 us on a VM (an idle
 * vCPU must be woken), more than a small kernel's whole run, so a second thread made LeNet-5's
 * small layers slower than one. So a worker that finishes keeps polling for the next region
 * for spin_ns before it sleeps, and the caller polls for the workers' results likewise:
 * back-to-back calls (a network's layers) then hand over in about a microsecond. Polling
 * yields the CPU between checks (sched_yield / SwitchToThread) instead of spinning on pause
 * instructions: measured on this 2-vCPU VM, pool_lenet forward (64x6x24x24, 2x2 stride 2) at
 * 2 threads took 43-68 us without polling, 32-38 us polling with either, 39-58 us at 1 thread;
 * but with other processes busy on the machine, pause-spinning made the same call 3-4x slower
 * (410-430 us vs 100-130 us: the spinner holds a CPU the preempted partner needs), while
 * yielding polls cost nothing measurable. The price when idle: after the last call each worker
 * polls for up to spin_ns. PANAMACNN_SPIN_US sets the window (0 = never poll; default
 * PCNN_DEFAULT_SPIN_US). Polling changes only when a thread notices work, never the partition
 * of tasks, so results stay independent of it.
 */
#define PCNN_DEFAULT_SPIN_US 100
#define PCNN_MAX_SPIN_US 1000000
static uint64_t spin_hits; /* regions a worker found while spinning (tests) */
static uint64_t spin_ns = (uint64_t)PCNN_DEFAULT_SPIN_US * 1000u; /* set once in threads_init */

/* Spins while (*word == value) == equal, for at most spin_ns; returns whether it stopped
 * holding (else the caller goes on to sleep on its condition variable). */
static int spin_while(const uint64_t *word, uint64_t value, int equal) {
    const uint64_t start = pcnn_monotonic_ns();
    for (;;) {
        for (int i = 0; i < 4; ++i) {
            if ((__atomic_load_n(word, __ATOMIC_ACQUIRE) == value) != equal) {
                return 1;
            }
            pcnn_thread_yield();
        }
        if (pcnn_monotonic_ns() - start >= spin_ns) {
            return 0;
        }
    }
}

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
    job_active = 0;
    job_open = 0;
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
    const char *spin = getenv("PANAMACNN_SPIN_US");
    if (spin != NULL && *spin != '\0') {
        char *end = NULL;
        const long v = strtol(spin, &end, 10);
        if (end != spin && *end == '\0' && v >= 0) {
            spin_ns = (uint64_t)(v > PCNN_MAX_SPIN_US ? PCNN_MAX_SPIN_US : v) * 1000u;
        }
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

/* Runs participant `self`'s block, then whatever is unclaimed in the others' blocks. */
static void run_claims(pcnn_task_fn fn, void *ctx, int nparts, int self) {
    for (int k = 0; k < nparts; ++k) {
        claim_block *b = &claims[(self + k) % nparts];
        for (;;) {
            const int64_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
            if (i >= b->end) {
                break;
            }
            fn(ctx, i);
        }
    }
}

static void worker_main(void *arg) {
    const int id = (int)(intptr_t)arg;
    const int part = id + 1;
    pcnn_mutex_lock(&pool_mutex);
    uint64_t seen = worker_start_gen[id];
    for (;;) {
        if (generation == seen && spin_ns > 0) {
            pcnn_mutex_unlock(&pool_mutex);
            if (spin_while(&generation, seen, 1)) { /* while no new region */
                __atomic_fetch_add(&spin_hits, 1, __ATOMIC_RELAXED);
            }
            pcnn_mutex_lock(&pool_mutex);
        }
        while (generation == seen) {
            pcnn_cond_wait(&work_cond, &pool_mutex);
        }
        seen = generation;
        if (job_open && part < job_nparts) {
            const pcnn_task_fn fn = job_fn;
            void *const ctx = job_ctx;
            const int nparts = job_nparts;
            __atomic_store_n(&job_active, job_active + 1, __ATOMIC_RELAXED);
            pcnn_mutex_unlock(&pool_mutex);
            tls_in_region = 1;
            run_claims(fn, ctx, nparts, part);
            tls_in_region = 0;
            pcnn_scratch_trim(); /* before reporting done: the caller's count is then final */
            pcnn_mutex_lock(&pool_mutex);
            __atomic_store_n(&job_active, job_active - 1, __ATOMIC_RELEASE);
            if (job_active == 0) {
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
    job_nparts = nparts;
    const int64_t q = ntasks / nparts, r = ntasks % nparts;
    for (int p = 0; p < nparts; ++p) {
        const int64_t begin = (int64_t)p * q + (p < r ? p : r);
        claims[p].next = begin;
        claims[p].end = begin + q + (p < r ? 1 : 0);
    }
    /* the caller's first task is taken before the workers can see the region: the caller
     * always runs at least it (keeping its own data in its own cache, and a thread that calls
     * a kernel always allocates what its tasks need, which the scratch fault-injection test
     * counts on), however late it gets back to its other tasks */
    claims[0].next = 1;
    job_active = 0;
    job_open = 1;
    __atomic_store_n(&generation, generation + 1, __ATOMIC_RELEASE);
    pcnn_cond_broadcast(&work_cond);
    pcnn_mutex_unlock(&pool_mutex);

    tls_in_region = 1;
    fn(ctx, 0);
    run_claims(fn, ctx, nparts, 0); /* returns when no task is left unclaimed */
    tls_in_region = 0;

    if (spin_ns > 0) {
        spin_while(&job_active, 0, 0); /* while workers still run claimed tasks */
    }
    pcnn_mutex_lock(&pool_mutex);
    while (job_active > 0) {
        pcnn_cond_wait(&done_cond, &pool_mutex);
    }
    job_open = 0; /* a worker waking up from now on does nothing for this region */
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

PCNN_INTERNAL uint64_t pcnn_threads_spin_hits(void) {
    return __atomic_load_n(&spin_hits, __ATOMIC_RELAXED);
}
