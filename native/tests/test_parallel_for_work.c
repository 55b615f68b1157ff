/*
 * pcnn_parallel_for_work: every task runs exactly once for any (ntasks, work, threads);
 * a job below the per-thread work threshold runs entirely on the calling thread (no pool
 * wake-up: the point of the rule); a large job with 2 threads hands the second half of the
 * tasks to a pool worker; the participant count is capped by work / 2^18.
 */
#include "core/pcnn_internal.h"
#include "core/platform.h"
#include "test_util.h"

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
                if (used == 1) { /* the caller's own thread, not one worker */
                    CHECK(r.who[0] == pcnn_thread_self_id(),
                          "ntasks=%" PRId64 " work=%" PRId64 ": single-thread run not on the caller",
                          n, work);
                }
            }
        }
    }
    /* a big job with 2 threads does use the pool (the static partition gives the worker
     * the second half), and the tiny one right after it does not */
    CHECK_STATUS(pcnn_set_num_threads(2), PCNN_STATUS_OK);
    CHECK(run_and_count(64, 64 * unit, &r) == 2, "large job did not use 2 threads");
    CHECK(run_and_count(64, unit - 1, &r) == 1, "tiny job woke the pool");
    CHECK(r.who[63] == pcnn_thread_self_id(), "tiny job's last task not on the caller");
    return test_finish("test_parallel_for_work");
}
