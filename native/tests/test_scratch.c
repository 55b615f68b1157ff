/*
 * The scratch facility (native/src/core/scratch.h) through the exported convolution entry
 * points:
 *   - pcnn_scratch_bytes() is 0 before any kernel ran, and every byte a thread held is given
 *     back when the thread exits (exact, one kernel thread; bounded by the workers' keep
 *     allowance with two);
 *   - over the process-wide budget (set to 0 here) a thread keeps at most
 *     PCNN_SCRATCH_KEEP_BYTES after a call, and a small call's buffers are reused by the next
 *     call (no allocation); under the budget (the default) a thread keeps its large buffers
 *     across calls too, and gives them back when it exits;
 *   - pcnn_scratch_threads lists the calling thread once it holds scratch, not a thread that
 *     has exited, and its per-thread bytes sum to pcnn_scratch_bytes();
 *   - fault injection: failing the n-th scratch allocation, for every n a call makes, gives
 *     PCNN_STATUS_OUT_OF_MEMORY, leaks nothing (the count and, on glibc, the heap in use come
 *     back) and the next call succeeds with the same bits as before.
 * Runs every SIMD level the machine has (the scalar kernels use no scratch).
 */
#include "test_platform.h" /* first: its system headers define __GLIBC__ */
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/pcnn_internal.h"
#include "core/platform.h"
#include "core/scratch.h"
#include "test_util.h"

typedef enum { OP_FWD, OP_BWD_DATA, OP_BWD_WEIGHTS, OP_COUNT } conv_op;
static const char *const op_names[OP_COUNT] = {"fwd", "bwd_data", "bwd_weights"};

typedef struct {
    const char *name;
    pcnn_conv2d_desc d;
    float *src, *w, *b, *dd; /* inputs */
    int64_t out_count[OP_COUNT];
} shape_t;

typedef struct {
    const shape_t *s;
    conv_op op;
    float *out, *out_bias;
    int32_t status;
} call_t;

static int32_t run_call(call_t *c) {
    const shape_t *s = c->s;
    switch (c->op) {
    case OP_FWD:
        return pcnn_conv2d_fwd(&s->d, s->src, s->w, s->b, c->out);
    case OP_BWD_DATA:
        return pcnn_conv2d_bwd_data(&s->d, s->dd, s->w, c->out);
    default:
        return pcnn_conv2d_bwd_weights(&s->d, s->src, s->dd, c->out, c->out_bias);
    }
}

static void *call_thread(void *p) {
    call_t *c = p;
    c->status = run_call(c);
    return NULL;
}

/* Runs the call on a new thread and returns once that thread has exited (pthread_join
 * returns after its key destructors ran; on Windows the thread handle is signalled after
 * its FLS callbacks ran). */
static int32_t run_on_new_thread(call_t *c) {
    test_thread t;
    if (test_thread_create(&t, call_thread, c) != 0) {
        fprintf(stderr, "test_scratch: thread creation failed\n");
        exit(2);
    }
    test_thread_join(&t);
    return c->status;
}

static void shape_init(shape_t *s, const char *name, pcnn_conv2d_desc d) {
    s->name = name;
    s->d = d;
    CHECK_STATUS(pcnn_conv2d_desc_init(&s->d), PCNN_STATUS_OK);
    const int64_t ns = conv_src_count(&s->d), nd = conv_dst_count(&s->d), nw = conv_w_count(&s->d);
    s->src = gbuf_f(ns);
    s->w = gbuf_f(nw);
    s->b = gbuf_f(s->d.oc);
    s->dd = gbuf_f(nd);
    fill_ints(s->src, ns, -3, 3);
    fill_ints(s->w, nw, -2, 2);
    fill_ints(s->b, s->d.oc, -4, 4);
    fill_ints(s->dd, nd, -3, 3);
    s->out_count[OP_FWD] = nd;
    s->out_count[OP_BWD_DATA] = ns;
    s->out_count[OP_BWD_WEIGHTS] = nw;
}

static size_t heap_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0; /* not measurable here: the leak check then relies on pcnn_scratch_bytes */
#endif
}

/* Bytes a pool worker may keep between calls (its allowance plus its bookkeeping). */
static const int64_t WORKER_KEEP = (int64_t)PCNN_SCRATCH_KEEP_BYTES + 4096;

static void test_exit_frees(const shape_t *s, conv_op op, int threads) {
    CHECK_STATUS(pcnn_set_num_threads(threads), PCNN_STATUS_OK);
    call_t c = {s, op, gbuf_f(s->out_count[op]), gbuf_f(s->d.oc), 0};
    CHECK_STATUS(run_on_new_thread(&c), PCNN_STATUS_OK); /* warm-up: the workers' keep */
    const int64_t base = pcnn_scratch_bytes();
    for (int i = 0; i < 40; ++i) {
        CHECK_STATUS(run_on_new_thread(&c), PCNN_STATUS_OK);
        const int64_t now = pcnn_scratch_bytes();
        if (threads == 1) {
            CHECK(now == base, "%s %s: %" PRId64 " scratch bytes after thread %d exited, %" PRId64
                  " before", s->name, op_names[op], now, i, base);
        } else {
            CHECK(now <= (threads - 1) * WORKER_KEEP, "%s %s %d threads: %" PRId64
                  " scratch bytes after thread %d exited, workers may keep %" PRId64, s->name,
                  op_names[op], threads, now, i, (threads - 1) * WORKER_KEEP);
        }
    }
    free(c.out);
    free(c.out_bias);
}

/* On one thread: a large call keeps at most the allowance; a small call's buffers (below the
 * allowance) serve the next call without an allocation (an armed fault is not consumed). */
typedef struct {
    const shape_t *large, *small;
    conv_op op;
} trim_case;

static void *trim_and_reuse_thread(void *p) {
    const trim_case *t = p;
    const conv_op op = t->op;
    const int64_t before = pcnn_scratch_bytes();
    call_t c = {t->large, op, gbuf_f(t->large->out_count[op]), gbuf_f(t->large->d.oc), 0};
    CHECK_STATUS(run_call(&c), PCNN_STATUS_OK);
    const int64_t kept = pcnn_scratch_bytes() - before;
    CHECK(kept <= WORKER_KEEP, "%s %s: the calling thread keeps %" PRId64 " bytes, allowed %"
          PRId64, t->large->name, op_names[op], kept, WORKER_KEEP);
    free(c.out);
    free(c.out_bias);
    call_t s = {t->small, op, gbuf_f(t->small->out_count[op]), gbuf_f(t->small->d.oc), 0};
    CHECK_STATUS(run_call(&s), PCNN_STATUS_OK);
    const int64_t held = pcnn_scratch_bytes();
    pcnn_scratch_fail_nth_alloc(1);
    CHECK_STATUS(run_call(&s), PCNN_STATUS_OK);
    const int64_t armed = pcnn_scratch_fail_nth_alloc(0);
    CHECK(armed == 1, "%s %s: a repeated small call allocated scratch again (fault consumed)",
          t->small->name, op_names[op]);
    CHECK(pcnn_scratch_bytes() == held, "%s %s: scratch bytes changed from %" PRId64 " to %"
          PRId64 " on a repeated call", t->small->name, op_names[op], held, pcnn_scratch_bytes());
    free(s.out);
    free(s.out_bias);
    return NULL;
}

/* One thread per op, so that what it keeps is gone afterwards (the other tests count on
 * only the pool workers holding scratch between calls). */
static void test_trim_and_reuse(const shape_t *large, const shape_t *small) {
    CHECK_STATUS(pcnn_set_num_threads(1), PCNN_STATUS_OK);
    for (int op = 0; op < OP_COUNT; ++op) {
        trim_case t = {large, small, (conv_op)op};
        test_thread th;
        if (test_thread_create(&th, trim_and_reuse_thread, &t) != 0) {
            fprintf(stderr, "test_scratch: thread creation failed\n");
            exit(2);
        }
        test_thread_join(&th);
    }
}

/* Fails allocation n = 1, 2, ... of a call on a fresh thread until the call makes fewer
 * than n; each failure must be reported, leave nothing behind, and not affect the next call.
 * Returns how many failures were injected. */
static int test_faults(const shape_t *s, conv_op op, int threads) {
    CHECK_STATUS(pcnn_set_num_threads(threads), PCNN_STATUS_OK);
    const int64_t n_out = s->out_count[op];
    call_t ref = {s, op, gbuf_f(n_out), gbuf_f(s->d.oc), 0};
    CHECK_STATUS(run_on_new_thread(&ref), PCNN_STATUS_OK);
    call_t c = {s, op, gbuf_f(n_out), gbuf_f(s->d.oc), 0};
    const int64_t base = pcnn_scratch_bytes();
    int injected = 0;
    for (int64_t n = 1; n <= 64; ++n) {
        pcnn_scratch_fail_nth_alloc(n);
        const int32_t st = run_on_new_thread(&c);
        const int64_t left = pcnn_scratch_fail_nth_alloc(0);
        if (left > 0) { /* the call made fewer than n allocations */
            CHECK_STATUS(st, PCNN_STATUS_OK);
            break;
        }
        ++injected;
        CHECK(st == PCNN_STATUS_OUT_OF_MEMORY, "%s %s %d threads, allocation %" PRId64
              " failed: status %d (%s), expected out of memory", s->name, op_names[op], threads,
              n, (int)st, pcnn_status_str(st));
        /* recovery: the next call succeeds with the same bits */
        prefill_nan(c.out, n_out);
        CHECK_STATUS(run_on_new_thread(&c), PCNN_STATUS_OK);
        CHECK(memcmp(c.out, ref.out, (size_t)n_out * sizeof(float)) == 0,
              "%s %s: output after a recovered failure differs", s->name, op_names[op]);
        CHECK(guard_ok(c.out, n_out), "%s %s: guard overwritten", s->name, op_names[op]);
        const int64_t now = pcnn_scratch_bytes();
        if (threads == 1) {
            CHECK(now == base, "%s %s: %" PRId64 " scratch bytes after failure %" PRId64
                  ", %" PRId64 " before", s->name, op_names[op], now, n, base);
        } else {
            CHECK(now <= (threads - 1) * WORKER_KEEP, "%s %s: %" PRId64 " scratch bytes after "
                  "failure %" PRId64, s->name, op_names[op], now, n);
        }
    }
    free(ref.out);
    free(ref.out_bias);
    free(c.out);
    free(c.out_bias);
    return injected;
}

/* Under the default budget: a repeated large call allocates nothing (its buffers were kept),
 * and the thread's exit gives them all back. */
static void *keep_under_budget_thread(void *p) {
    call_t *c = p;
    CHECK_STATUS(run_call(c), PCNN_STATUS_OK);
    pcnn_scratch_fail_nth_alloc(1);
    CHECK_STATUS(run_call(c), PCNN_STATUS_OK);
    CHECK(pcnn_scratch_fail_nth_alloc(0) == 1, "%s %s: a repeated call under the budget "
          "allocated scratch again", c->s->name, op_names[c->op]);
    return NULL;
}

static void test_keep_under_budget(const shape_t *s) {
    CHECK_STATUS(pcnn_set_num_threads(1), PCNN_STATUS_OK);
    for (int op = 0; op < OP_COUNT; ++op) {
        call_t c = {s, (conv_op)op, gbuf_f(s->out_count[op]), gbuf_f(s->d.oc), 0};
        const int64_t before = pcnn_scratch_bytes();
        test_thread t;
        if (test_thread_create(&t, keep_under_budget_thread, &c) != 0) {
            fprintf(stderr, "test_scratch: thread creation failed\n");
            exit(2);
        }
        test_thread_join(&t);
        CHECK(pcnn_scratch_bytes() == before, "%s %s: %" PRId64 " scratch bytes after the thread "
              "exited, %" PRId64 " before", s->name, op_names[op], pcnn_scratch_bytes(), before);
        free(c.out);
        free(c.out_bias);
    }
}

/* Who holds scratch: returns the holders' count; *self_bytes = the bytes listed for the calling
 * thread (-1: not listed); checks that the listed bytes sum to pcnn_scratch_bytes(). */
static int64_t check_holders(const char *when, int64_t *self_bytes) {
    enum { CAP = 64 };
    int64_t ids[CAP], bytes[CAP];
    const int64_t total = pcnn_scratch_bytes();
    const int64_t n = pcnn_scratch_threads(ids, bytes, CAP);
    CHECK(n >= 0 && n <= CAP, "%s: pcnn_scratch_threads returned %" PRId64, when, n);
    int64_t sum = 0;
    *self_bytes = -1;
    for (int64_t i = 0; i < n && i < CAP; ++i) {
        sum += bytes[i];
        if (ids[i] == pcnn_os_thread_id()) {
            *self_bytes = bytes[i];
        }
    }
    CHECK(sum == total, "%s: the %" PRId64 " holders hold %" PRId64 " bytes, pcnn_scratch_bytes() "
          "is %" PRId64, when, n, sum, total);
    return n;
}

static void test_holders(const shape_t *s) {
    CHECK(pcnn_scratch_threads(NULL, NULL, -1) == -1, "a negative capacity is not refused");
    CHECK_STATUS(pcnn_set_num_threads(1), PCNN_STATUS_OK); /* no pool worker: only the callers hold */
    call_t c = {s, OP_BWD_WEIGHTS, malloc((size_t)s->out_count[OP_BWD_WEIGHTS] * sizeof(float)),
                malloc((size_t)s->d.oc * sizeof(float)), 0};
    CHECK(c.out != NULL && c.out_bias != NULL, "out of memory");
    CHECK_STATUS(run_call(&c), PCNN_STATUS_OK);
    int64_t self = 0;
    const int64_t n = check_holders("after a call on this thread", &self);
    CHECK(self > 0, "this thread ran a kernel but is not listed with its scratch (%" PRId64 ")", self);
    CHECK_STATUS(run_on_new_thread(&c), PCNN_STATUS_OK);
    const int64_t after = check_holders("after a thread's call and exit", &self);
    CHECK(after == n, "%" PRId64 " holders after a thread ran a kernel and exited, %" PRId64
          " before: the exited thread is still listed", after, n);
    free(c.out);
    free(c.out_bias);
}

int main(void) {
    CHECK(pcnn_scratch_bytes() == 0, "%" PRId64 " scratch bytes before any kernel ran",
          pcnn_scratch_bytes());
    const int32_t saved_threads = pcnn_get_num_threads();
    const int32_t detected = pcnn_isa_detected();
    rng_seed(20261204);
    shape_t large, small, pw;
    /* the layer: ~1.2 MB of packed weights, above the keep allowance */
    /* PANAMACNN_TEST_QUICK=1 (set by ctest under an emulator, e.g. qemu-aarch64): the same
     * weights on an 8x8 input, ~12x fewer multiply-adds per call */
    const char *quick = getenv("PANAMACNN_TEST_QUICK");
    const int64_t hw = quick != NULL && strcmp(quick, "1") == 0 ? 8 : 28;
    shape_init(&large, hw == 8 ? "128->256 3x3 s2 p1 on 8x8" : "128->256 3x3 s2 p1 on 28x28",
               conv_desc(1, 128, hw, hw, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1));
    /* 24 output channels: with <= 16, backward-weights takes the masked path, which needs no
     * scratch (bwd_weights/masked.h) */
    shape_init(&small, "8->24 3x3 p1 on 12x12", conv_desc(1, 8, 12, 12, 24, 3, 3, 1, 1, 1, 1, 1,
                                                           1, 1, 1, 1));
    shape_init(&pw, "64->64 1x1 on 14x14", conv_desc(2, 64, 14, 14, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1,
                                                     1, 1));
    const shape_t *shapes[] = {&large, &small, &pw};
    /* budget 0: every call end trims to the per-thread allowance (checked exactly below) */
    const int64_t default_budget = pcnn_scratch_set_budget(0);
    CHECK(default_budget == PCNN_SCRATCH_BUDGET_BYTES, "default budget %" PRId64, default_budget);
    int levels = 0;
    for (int32_t isa = PCNN_ISA_AVX2; isa <= detected; ++isa) {
        if (pcnn_kernel_table_for(isa) == NULL) {
            continue; /* another architecture's level (avx2/avx512 on AArch64) */
        }
        CHECK_STATUS(pcnn_set_max_isa(isa), PCNN_STATUS_OK);
        ++levels;
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; ++i) {
            for (int op = 0; op < OP_COUNT; ++op) {
                test_exit_frees(shapes[i], (conv_op)op, 1);
                test_exit_frees(shapes[i], (conv_op)op, 2);
            }
        }
        test_trim_and_reuse(&large, &small);
        const size_t heap_before = heap_in_use();
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; ++i) {
            for (int op = 0; op < OP_COUNT; ++op) {
                const int one = test_faults(shapes[i], (conv_op)op, 1);
                const int two = test_faults(shapes[i], (conv_op)op, 2);
                /* at least the thread's bookkeeping and one buffer */
                CHECK(one >= 2, "%s %s %s: only %d scratch allocations failed on one thread",
                      pcnn_isa_name(isa), shapes[i]->name, op_names[op], one);
                CHECK(two >= 1, "%s %s %s: no scratch allocation failed with two threads",
                      pcnn_isa_name(isa), shapes[i]->name, op_names[op]);
                printf("%s %-28s %-11s: %d / %d injected failures (1 / 2 threads)\n",
                       pcnn_isa_name(isa), shapes[i]->name, op_names[op], one, two);
            }
        }
        const size_t heap_after = heap_in_use();
        /* a leaked buffer is >= 4 KiB, a leaked bookkeeping block ~100 bytes times the
         * ~100 failures of a level; stdio and thread start-up may allocate a little */
        CHECK(heap_after <= heap_before + 8192, "%s: heap in use grew from %zu to %zu bytes over "
              "the fault-injection runs", pcnn_isa_name(isa), heap_before, heap_after);
        printf("%s: heap in use %zu -> %zu bytes over the fault-injection runs\n",
               pcnn_isa_name(isa), heap_before, heap_after);
        pcnn_scratch_set_budget(default_budget);
        test_keep_under_budget(&large);
        pcnn_scratch_set_budget(0);
    }
    if (levels == 0) {
        printf("test_scratch: no SIMD level on this CPU (detected %s): the scalar kernels use "
               "no scratch; only the accounting was checked\n", pcnn_isa_name(detected));
    }
    CHECK_STATUS(pcnn_set_max_isa(detected), PCNN_STATUS_OK);
    if (levels > 0) {
        test_holders(&large);
    }
    CHECK_STATUS(pcnn_set_num_threads(saved_threads), PCNN_STATUS_OK);
    /* the test's own buffers (LeakSanitizer in the sanitizer ctest reports them otherwise) */
    shape_t *owned[] = {&large, &small, &pw};
    for (int i = 0; i < 3; ++i) {
        free(owned[i]->src);
        free(owned[i]->w);
        free(owned[i]->b);
        free(owned[i]->dd);
    }
    return test_finish("test_scratch");
}
