/*
 * Thread pool: every op gives bit-identical results with 1, 2 and 3 threads (float data,
 * so the summation order matters); pcnn_parallel_for runs each task exactly once, handles
 * nested calls and concurrent callers.
 */

#include "core/pcnn_internal.h"
#include "core/platform.h"
#include "test_platform.h"
#include "test_util.h"
#include "test_wait.h"

static void fill_float(float *p, int64_t n) {
    for (int64_t i = 0; i < n; ++i) p[i] = rng_unit();
}

typedef struct {
    float *dst, *ds, *dw, *db, *pdst, *pds;
    int32_t *pidx;
} outputs;

static void run_all(const pcnn_conv2d_desc *cd, const pcnn_maxpool2d_desc *pd, const float *src,
                    const float *w, const float *b, const float *dd, const float *psrc,
                    const float *pdd, outputs *o) {
    CHECK_STATUS(pcnn_conv2d_fwd(cd, src, w, b, o->dst), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_data(cd, dd, w, o->ds), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(cd, src, dd, o->dw, o->db), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_fwd(pd, psrc, o->pdst, o->pidx), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_bwd(pd, pdd, o->pidx, o->pds), PCNN_STATUS_OK);
}

static void test_determinism(void) {
    /* n*oc = 3*7 = 21 tasks (not a multiple of 2), c = 10, oc = 7 */
    pcnn_conv2d_desc cd = conv_desc(3, 10, 13, 17, 7, 3, 3, 1, 2, 1, 2, 1, 0, 1, 1, 1);
    pcnn_maxpool2d_desc pd = pool_desc(3, 5, 13, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&cd), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&pd), PCNN_STATUS_OK);
    const int64_t ns = conv_src_count(&cd), nd = conv_dst_count(&cd), nw = conv_w_count(&cd);
    const int64_t pns = pool_src_count(&pd), pnd = pool_dst_count(&pd);
    rng_seed(777);
    float *src = gbuf_f(ns), *w = gbuf_f(nw), *b = gbuf_f(cd.oc), *dd = gbuf_f(nd);
    float *psrc = gbuf_f(pns), *pdd = gbuf_f(pnd);
    fill_float(src, ns);
    fill_float(w, nw);
    fill_float(b, cd.oc);
    fill_float(dd, nd);
    fill_float(psrc, pns);
    fill_float(pdd, pnd);

    const int32_t saved = pcnn_get_num_threads();
    outputs runs[4];
    const int counts[4] = {1, 2, 3, 1};
    for (int r = 0; r < 4; ++r) {
        outputs *o = &runs[r];
        o->dst = gbuf_f(nd);
        o->ds = gbuf_f(ns);
        o->dw = gbuf_f(nw);
        o->db = gbuf_f(cd.oc);
        o->pdst = gbuf_f(pnd);
        o->pds = gbuf_f(pns);
        o->pidx = gbuf_i(pnd);
        CHECK_STATUS(pcnn_set_num_threads(counts[r]), PCNN_STATUS_OK);
        CHECK(pcnn_get_num_threads() == counts[r], "threads");
        run_all(&cd, &pd, src, w, b, dd, psrc, pdd, o);
    }
    for (int r = 1; r < 4; ++r) {
        CHECK(memcmp(runs[0].dst, runs[r].dst, (size_t)nd * 4) == 0, "fwd differs at %d threads",
              counts[r]);
        CHECK(memcmp(runs[0].ds, runs[r].ds, (size_t)ns * 4) == 0,
              "bwd_data differs at %d threads", counts[r]);
        CHECK(memcmp(runs[0].dw, runs[r].dw, (size_t)nw * 4) == 0,
              "bwd_weights differs at %d threads", counts[r]);
        CHECK(memcmp(runs[0].db, runs[r].db, (size_t)cd.oc * 4) == 0,
              "diff_bias differs at %d threads", counts[r]);
        CHECK(memcmp(runs[0].pdst, runs[r].pdst, (size_t)pnd * 4) == 0,
              "pool fwd differs at %d threads", counts[r]);
        CHECK(memcmp(runs[0].pidx, runs[r].pidx, (size_t)pnd * 4) == 0,
              "pool indices differ at %d threads", counts[r]);
        CHECK(memcmp(runs[0].pds, runs[r].pds, (size_t)pns * 4) == 0,
              "pool bwd differs at %d threads", counts[r]);
    }
    for (int r = 0; r < 4; ++r) {
        outputs *o = &runs[r];
        CHECK(guard_ok(o->dst, nd) && guard_ok(o->ds, ns) && guard_ok(o->dw, nw) &&
                  guard_ok(o->db, cd.oc) && guard_ok(o->pdst, pnd) && guard_ok(o->pds, pns) &&
                  guard_ok(o->pidx, pnd),
              "guard run %d", r);
        free(o->dst); free(o->ds); free(o->dw); free(o->db);
        free(o->pdst); free(o->pds); free(o->pidx);
    }
    free(src); free(w); free(b); free(dd); free(psrc); free(pdd);
    CHECK_STATUS(pcnn_set_num_threads(saved), PCNN_STATUS_OK);
}

/* ---- pcnn_parallel_for directly ---- */

#define NT 1000
typedef struct {
    int hits[NT];
    int nested_hits[NT][4];
} count_ctx;

static void count_task(void *p, int64_t i) {
    __atomic_fetch_add(&((count_ctx *)p)->hits[i], 1, __ATOMIC_RELAXED);
}

typedef struct {
    count_ctx *outer;
    int64_t i;
} nested_inner;
static void inner_task(void *p, int64_t j) {
    nested_inner *n = p;
    n->outer->nested_hits[n->i][j]++; /* serial inside a task: no race */
}
static void outer_task(void *p, int64_t i) {
    count_ctx *c = p;
    __atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
    nested_inner n = {c, i};
    pcnn_parallel_for(4, inner_task, &n);
}

static void *concurrent_caller(void *arg) {
    count_ctx *c = arg;
    for (int rep = 0; rep < 50; ++rep) pcnn_parallel_for(NT, count_task, c);
    return NULL;
}

static void test_parallel_for(void) {
    static count_ctx c;
    const int32_t saved = pcnn_get_num_threads();
    const int32_t counts[] = {1, 2, 3, 7, 64};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; ++k) {
        CHECK_STATUS(pcnn_set_num_threads(counts[k]), PCNN_STATUS_OK);
        const int64_t sizes[] = {0, 1, 2, 3, 5, 999, NT};
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
            memset(&c, 0, sizeof c);
            pcnn_parallel_for(sizes[s], count_task, &c);
            int ok = 1;
            for (int i = 0; i < NT; ++i) ok &= c.hits[i] == (i < sizes[s] ? 1 : 0);
            CHECK(ok, "threads %d, %" PRId64 " tasks: each exactly once", counts[k], sizes[s]);
        }
        memset(&c, 0, sizeof c);
        pcnn_parallel_for(NT, outer_task, &c);
        int ok = 1;
        for (int i = 0; i < NT; ++i) {
            ok &= c.hits[i] == 1;
            for (int j = 0; j < 4; ++j) ok &= c.nested_hits[i][j] == 1;
        }
        CHECK(ok, "threads %d: nested calls", counts[k]);
    }
    /* two callers at once: one gets the pool, the other runs serially; no lost tasks */
    CHECK_STATUS(pcnn_set_num_threads(2), PCNN_STATUS_OK);
    static count_ctx c1, c2;
    memset(&c1, 0, sizeof c1);
    memset(&c2, 0, sizeof c2);
    test_thread t1, t2;
    CHECK(test_thread_create(&t1, concurrent_caller, &c1) == 0, "create");
    CHECK(test_thread_create(&t2, concurrent_caller, &c2) == 0, "create");
    test_thread_join(&t1);
    test_thread_join(&t2);
    int ok = 1;
    for (int i = 0; i < NT; ++i) ok &= c1.hits[i] == 50 && c2.hits[i] == 50;
    CHECK(ok, "concurrent callers");
    CHECK_STATUS(pcnn_set_num_threads(saved), PCNN_STATUS_OK);
}

/* Two tasks that need two threads: task 0 waits (at most 1 s) until task 1 has started, so
 * the caller, busy in task 0, cannot take task 1 over and the worker runs it (else a region
 * could finish before the worker looked, and the worker would never be back in time to spin
 * for the next one). */
typedef struct {
    int started[2];
    int hits[2];
    int timed_out;
} lockstep_ctx;

static void lockstep_task(void *p, int64_t i) {
    lockstep_ctx *c = p;
    if (i == 1) {
        __atomic_store_n(&c->started[1], 1, __ATOMIC_RELEASE);
    } else if (!wait_for_flag(&c->started[1], pcnn_monotonic_ns(), 1000000000u)) {
        c->timed_out = 1;
    }
    __atomic_add_fetch(&c->hits[i], 1, __ATOMIC_RELAXED);
}

/* Back-to-back regions: with the default spin window the worker is still spinning when the
 * next region starts (we allow many tries: a loaded machine may preempt it); with
 * PANAMACNN_SPIN_US=0 (the threads_nospin test) it never spins. */
static void test_spin(void) {
    const char *env = getenv("PANAMACNN_SPIN_US");
    const int spin_off = env != NULL && strcmp(env, "0") == 0;
    const int32_t saved = pcnn_get_num_threads();
    CHECK_STATUS(pcnn_set_num_threads(2), PCNN_STATUS_OK);
    static lockstep_ctx c;
    memset(&c, 0, sizeof c);
    const uint64_t before = pcnn_threads_spin_hits();
    int regions = 0;
    while (regions < 5000 && !c.timed_out) {
        c.started[1] = 0;
        pcnn_parallel_for(2, lockstep_task, &c);
        ++regions;
        if (!spin_off && regions >= 200 && pcnn_threads_spin_hits() > before) {
            break;
        }
    }
    const uint64_t hits = pcnn_threads_spin_hits() - before;
    printf("threads: %d back-to-back regions, %" PRIu64 " found by a spinning worker (PANAMACNN_SPIN_US=%s)\n",
           regions, hits, env != NULL ? env : "default");
    CHECK(c.hits[0] == regions && c.hits[1] == regions, "every region ran both tasks");
    CHECK(!c.timed_out, "a worker did not start task 1 within 1 s");
    if (spin_off) {
        CHECK(hits == 0, "PANAMACNN_SPIN_US=0 but a worker spun %" PRIu64 " times", hits);
    } else {
        CHECK(hits > 0, "no region found a spinning worker in %d back-to-back regions", regions);
    }
    CHECK_STATUS(pcnn_set_num_threads(saved), PCNN_STATUS_OK);
}

int main(void) {
    printf("threads: default %d, detected ISA %s\n", pcnn_get_num_threads(),
           pcnn_isa_name(pcnn_isa_detected()));
    test_determinism();
    test_parallel_for();
    test_spin();
    return test_finish("threads");
}
