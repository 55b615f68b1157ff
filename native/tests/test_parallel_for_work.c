/*
 * pcnn_parallel_for_work: every task runs exactly once for any (ntasks, work, threads);
 * a job below the per-thread work threshold runs entirely on the calling thread (no pool
 * wake-up: the point of the rule); a large job with 2 threads engages a pool worker; the
 * participant count is capped by work / 2^18; a participant held up in one task has the rest
 * of its block taken over (stealing, threads.c).
 */
#include "core/pcnn_internal.h"
#include "core/platform.h"
#include "test_util.h"
#include "test_wait.h"

#define MAX_TASKS 4096

typedef struct {
    int runs[MAX_TASKS];
    uint64_t who[MAX_TASKS];
} record;

static void record_task(void *ctx, int64_t i) {
    record *r = ctx;
    __atomic_add_fetch(&r->runs[i], 1, __ATOMIC_RELAXED);
    r->who[i] = pcnn_thread_self_id();
}

/* Number of distinct threads that ran tasks [0, n); 0 when some task did not run once. */
static int run_and_count(int64_t ntasks, int64_t work, record *r) {
    memset(r, 0, sizeof *r);
    pcnn_parallel_for_work(ntasks, work, record_task, r);
    uint64_t seen[8];
    int nseen = 0;
    for (int64_t i = 0; i < ntasks; ++i) {
        if (r->runs[i] != 1) {
            return 0;
        }
        int known = 0;
        for (int k = 0; k < nseen; ++k) {
            known |= seen[k] == r->who[i];
        }
        if (!known && nseen < 8) {
            seen[nseen++] = r->who[i];
        }
    }
    return nseen;
}

/* ---- stealing: tasks that wait for each other (10 s limits: only a broken pool waits) ---- */

#define WAIT_NS 10000000000ull

typedef struct {
    uint64_t caller;
    int64_t ntasks, held;    /* the held task: the first of the worker's block */
    int started_held_elsewhere;
    int done[64];
    uint64_t who[64];
    int timed_out;
} steal_ctx;

static void steal_task(void *p, int64_t i) {
    steal_ctx *c = p;
    const uint64_t me = pcnn_thread_self_id();
    const uint64_t t0 = pcnn_monotonic_ns();
    if (i == c->held && me != c->caller) {
        /* the worker's first task: announce it, then wait until every other task is done,
         * which needs the caller to take the rest of this block */
        __atomic_store_n(&c->started_held_elsewhere, 1, __ATOMIC_RELEASE);
        for (int64_t k = 0; k < c->ntasks; ++k) {
            if (k != i && !wait_for_flag(&c->done[k], t0, WAIT_NS)) {
                __atomic_store_n(&c->timed_out, 1, __ATOMIC_RELAXED);
            }
        }
    } else if (i == 0) {
        /* the caller's first task waits until a worker has started the held task, so the
         * worker (not the caller) holds it */
        if (!wait_for_flag(&c->started_held_elsewhere, t0, WAIT_NS)) {
            __atomic_store_n(&c->timed_out, 1, __ATOMIC_RELAXED);
        }
    }
    c->who[i] = me;
    __atomic_store_n(&c->done[i], 1, __ATOMIC_RELEASE);
}

static void test_stealing(void) {
    CHECK_STATUS(pcnn_set_num_threads(2), PCNN_STATUS_OK);
    static steal_ctx c;
    memset(&c, 0, sizeof c);
    c.caller = pcnn_thread_self_id();
    c.ntasks = 64;
    c.held = 32; /* 2 participants: the caller owns [0, 32), the worker [32, 64) */
    pcnn_parallel_for_work(c.ntasks, (int64_t)1 << 30, steal_task, &c);
    CHECK(!c.timed_out, "stealing: a task waited 10 s (no worker joined, or the caller did "
          "not take over the held worker's block)");
    int64_t stolen = 0;
    for (int64_t i = 0; i < c.ntasks; ++i) {
        CHECK(c.done[i] == 1, "stealing: task %" PRId64 " did not run", i);
        if (i > c.held) stolen += c.who[i] == c.caller;
    }
    CHECK(c.who[c.held] != c.caller, "stealing: the held task ran on the caller");
    CHECK(stolen == c.ntasks - c.held - 1, "stealing: the caller ran %" PRId64 " of the %" PRId64
          " tasks after the held one", stolen, c.ntasks - c.held - 1);
}

int main(void) {
    static record r;
    const int64_t unit = (int64_t)1 << 18;
    const int64_t counts[] = {1, 2, 3, 7, 64, 1000, MAX_TASKS};
    const int64_t works[] = {0, 1, unit - 1, unit, 2 * unit - 1, 2 * unit, 3 * unit, INT64_MAX};
    for (int threads = 1; threads <= 3; ++threads) {
        CHECK_STATUS(pcnn_set_num_threads(threads), PCNN_STATUS_OK);
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; ++c) {
            for (size_t w = 0; w < sizeof works / sizeof works[0]; ++w) {
                const int64_t n = counts[c], work = works[w];
                const int used = run_and_count(n, work, &r);
                CHECK(used >= 1, "threads=%d ntasks=%" PRId64 " work=%" PRId64
                      ": a task did not run exactly once", threads, n, work);
                /* participants: min(threads, ntasks, max(1, work / 2^18)) at most */
                int64_t cap = work / unit;
                cap = cap < 1 ? 1 : cap;
                cap = cap < threads ? cap : threads;
                cap = cap < n ? cap : n;
                CHECK(used <= cap, "threads=%d ntasks=%" PRId64 " work=%" PRId64
                      ": %d threads used, at most %" PRId64 " allowed", threads, n, work, used,
                      cap);
                if (cap == 1) { /* no pool at all: the caller's own thread, not one worker
                                 * (with a pool, one participant may take every task) */
                    CHECK(r.who[0] == pcnn_thread_self_id(),
                          "ntasks=%" PRId64 " work=%" PRId64 ": single-thread run not on the caller",
                          n, work);
                }
            }
        }
    }
    /* a big job with 2 threads does use the pool (test_stealing: a worker runs a task while
     * the caller waits for it), and the tiny one right after it does not */
    test_stealing();
    CHECK(run_and_count(64, unit - 1, &r) == 1, "tiny job woke the pool");
    CHECK(r.who[63] == pcnn_thread_self_id(), "tiny job's last task not on the caller");
    return test_finish("test_parallel_for_work");
}
