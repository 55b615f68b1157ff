/*
 * Shared by the variant cross-check tests (test_variants_conv2d.c, test_variants_maxpool2d.c):
 * the seed, the OS's view of the ISA level, the guarded-copy helpers, the per-op statistics
 * and their report, and the loops over every variant the CPU can run.
 *
 * Variant cross-check harness: every kernel variant in every ISA table the CPU can run
 * (levels <= pcnn_isa_detected(), non-NULL entry) against the scalar table, on a named
 * corpus of awkward shapes, a width x channel tail sweep and seeded random shapes.
 *
 * - outputs are pre-filled with NaN, every buffer (inputs too) has guard elements after it
 *   that must stay untouched, inputs must stay unchanged;
 * - conv inputs are small integers so every variant's result is exact: compared with ==;
 * - max-pool values (including NaN payloads) and indices are compared bit for bit;
 * - a variant may answer PCNN_STATUS_UNSUPPORTED only for the reasons its kernel states
 *   (see expected_decline_*: non-finite weights or gradients meeting padding, coordinates
 *   beyond the int32 lane range); the test computes which shapes those are, prints every
 *   decline with its reason, and fails on any other decline, so a SIMD variant that declines
 *   the shapes it is meant to take (here: every corpus shape) is seen.
 * The variants to run are counted from what the OS reports (/proc/cpuinfo flags on Linux:
 * avx2 + fma -> avx2; also avx512f, avx512bw, avx512vl, avx512dq -> avx512), not from the
 * library's own detection, which must agree: a broken detection cannot silently reduce the
 * test to the scalar kernels.
 * Seed: PCNN_TEST_SEED (environment) or a fixed default; printed as "seed=..." at start.
 */
#ifndef PCNN_TEST_VARIANTS_H
#define PCNN_TEST_VARIANTS_H

#include "core/pcnn_internal.h"
#include "test_util.h"

#define MAX_SHAPES 4096
#define NLEVELS 4 /* scalar, avx2, avx512, neon (PCNN_ISA_* values) */

static uint64_t g_seed = 20240601;
/* The ISA level the OS reports (/proc/cpuinfo), or pcnn_isa_detected() where it cannot be read. */
static int g_os_level = -1;

/* Does the space-separated flag list `flags` contain the word `w`? */
static int has_flag(const char *flags, const char *w) {
    const size_t n = strlen(w);
    for (const char *p = flags; (p = strstr(p, w)) != NULL; p += n) {
        if ((p == flags || p[-1] == ' ' || p[-1] == '\t') &&
            (p[n] == ' ' || p[n] == '\n' || p[n] == '\0')) {
            return 1;
        }
    }
    return 0;
}

/* The ISA level from the first "flags" line of /proc/cpuinfo; -1 when there is none. Linux
 * clears the flags of features the kernel does not enable (XSAVE state), so this is the OS's
 * view, independent of the library's CPUID / XGETBV code. */
static int os_reported_level(char *why, size_t why_len) {
#if !defined(__x86_64__) && !defined(__i386__)
    /* the x86 flags below say nothing about other architectures (and under qemu-user
     * /proc/cpuinfo is the host's) */
    snprintf(why, why_len, "not an x86 build");
    return -1;
#endif
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) {
        snprintf(why, why_len, "no /proc/cpuinfo");
        return -1;
    }
    static char line[1 << 16];
    int level = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) == 0) {
            const int avx2 = has_flag(line, "avx2") && has_flag(line, "fma");
            const int avx512 = avx2 && has_flag(line, "avx512f") && has_flag(line, "avx512bw") &&
                               has_flag(line, "avx512vl") && has_flag(line, "avx512dq");
            level = avx512 ? PCNN_ISA_AVX512 : avx2 ? PCNN_ISA_AVX2 : PCNN_ISA_SCALAR;
            snprintf(why, why_len, "/proc/cpuinfo flags: avx2+fma %s, avx512f/bw/vl/dq %s",
                     avx2 ? "yes" : "no", avx512 ? "yes" : "no");
            break;
        }
    }
    fclose(f);
    if (level < 0) {
        snprintf(why, why_len, "no flags line in /proc/cpuinfo");
    }
    return level;
}

static const int sweep_widths[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
                                   14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
                                   27, 28, 29, 30, 31, 32, 33, 48, 63, 64, 65};
#define N_WIDTHS ((int)(sizeof sweep_widths / sizeof sweep_widths[0]))

/* ---- helpers ---- */

static float *copy_guarded(const float *src, int64_t n) {
    float *p = gbuf_f(n);
    memcpy(p, src, (size_t)n * sizeof(float));
    return p;
}
static int same_bits(const void *a, const void *b, int64_t n) {
    return memcmp(a, b, (size_t)n * 4) == 0;
}

#define MAX_DECLINES 64
typedef struct {
    int has[NLEVELS];      /* table entry present at this level */
    int64_t ran[NLEVELS];  /* shapes compared */
    int64_t unsup[NLEVELS];/* shapes the variant declined */
    int64_t unexpected[NLEVELS]; /* declines no stated reason explains */
    int64_t expected_declines; /* shapes with a stated reason to decline (per level) */
    int n_declined[NLEVELS];
    char declined[NLEVELS][MAX_DECLINES][160]; /* "shape: reason" of the first declines */
} op_stats;

static op_stats g_stats[8]; /* conv fwd, bwd_data, bwd_weights, pool fwd, bwd, conv fwd Inf,
                               pool fwd / bwd with the compact (tap) mask */

/* Records a decline of shape `name` by the variant at `level`; `reason` is the kernel's
 * stated reason that applies to this shape and data, or NULL when none does. */
static void note_decline(op_stats *s, int level, const char *name, const char *reason) {
    s->unsup[level]++;
    if (reason == NULL) {
        s->unexpected[level]++;
    }
    if (s->n_declined[level] < MAX_DECLINES) {
        snprintf(s->declined[level][s->n_declined[level]++], sizeof s->declined[0][0], "%s: %s",
                 name, reason != NULL ? reason : "UNEXPECTED (no stated reason applies)");
    }
}

static void report(const char *op, const op_stats *s, int nshapes, int expected) {
    int variants = 0;
    for (int l = 0; l < NLEVELS; ++l) variants += s->has[l];
    printf("%s: compared %d variant(s) on %d shapes (%" PRId64 " with a stated reason to decline) [",
           op, variants, nshapes, s->expected_declines);
    for (int l = 0; l < NLEVELS; ++l) {
        if (s->has[l]) {
            printf(" %s: %" PRId64 " run, %" PRId64 " declined;", pcnn_isa_name(l), s->ran[l],
                   s->unsup[l]);
        }
    }
    printf(" ]\n");
    for (int l = 1; l < NLEVELS; ++l) {
        for (int i = 0; i < s->n_declined[l]; ++i) {
            printf("  %s %s declined %s\n", op, pcnn_isa_name(l), s->declined[l][i]);
        }
        /* every SIMD variant runs every shape it has no stated reason to decline */
        CHECK(!s->has[l] || s->unexpected[l] == 0, "%s %s declined %" PRId64
              " shape(s) without a stated reason (listed above)", op, pcnn_isa_name(l),
              s->unexpected[l]);
        CHECK(!s->has[l] || s->ran[l] >= nshapes - s->expected_declines,
              "%s %s ran only %" PRId64 " of %d shapes", op, pcnn_isa_name(l), s->ran[l], nshapes);
    }
    /* scalar always, plus every non-NULL entry of every level the CPU can run, each on
     * every shape (run or explicitly declined) */
    CHECK(s->has[PCNN_ISA_SCALAR], "%s: no scalar variant", op);
    CHECK(variants == expected && variants >= 1, "%s: compared %d variants, tables have %d", op,
          variants, expected);
    CHECK(s->ran[PCNN_ISA_SCALAR] == nshapes, "%s: scalar ran %" PRId64 " of %d", op,
          s->ran[PCNN_ISA_SCALAR], nshapes);
    for (int l = 0; l < NLEVELS; ++l) {
        CHECK(!s->has[l] || s->ran[l] + s->unsup[l] == nshapes, "%s %s: saw %" PRId64
              " of %d shapes", op, pcnn_isa_name(l), s->ran[l] + s->unsup[l], nshapes);
    }
    /* The NEON variants decline only non-finite data with padding (conv) and absurd column
     * strides (max-pool): on the main corpora (finite conv data; not the "(Inf weight)"
     * section, where declining is the expected answer) each must run every shape. */
    CHECK(!s->has[PCNN_ISA_NEON] || strstr(op, "(Inf") != NULL || s->ran[PCNN_ISA_NEON] == nshapes,
          "%s neon: ran %" PRId64 " of %d shapes (%" PRId64 " declined)", op,
          s->ran[PCNN_ISA_NEON], nshapes, s->unsup[PCNN_ISA_NEON]);
}

/* Number of variants the tables offer for an op on this CPU, counted from the OS's view. */
#define COUNT_VARIANTS(entry)                                                          \
    ({                                                                                 \
        int n_ = 0;                                                                    \
        for (int l_ = 0; l_ <= g_os_level; ++l_) {                                     \
            const pcnn_kernel_table *t_ = pcnn_kernel_table_for(l_);                   \
            n_ += t_ != NULL && t_->entry != NULL;                                     \
        }                                                                              \
        n_;                                                                            \
    })

#define FOR_EACH_VARIANT(entry)                                                       \
    for (int level = 0; level <= g_os_level && level < NLEVELS; ++level)              \
        for (const pcnn_kernel_table *tab_ = pcnn_kernel_table_for(level);            \
             tab_ != NULL && tab_->entry != NULL; tab_ = NULL)

/* The seed (PCNN_TEST_SEED or the default) and the OS's ISA level into g_seed / g_os_level,
 * printed. The library's detection must agree with the OS's view: checked where
 * check_detection is set (by one of the variant tests, so that the check runs once). */
static void variants_start(const char *test, int check_detection) {
    const char *seed = getenv("PCNN_TEST_SEED");
    if (seed != NULL && *seed != '\0') {
        g_seed = strtoull(seed, NULL, 10);
    }
    printf("%s: seed=%" PRIu64 " (PCNN_TEST_SEED=%" PRIu64 " repeats it), threads %d\n", test,
           g_seed, g_seed, pcnn_get_num_threads());
    char why[160];
    g_os_level = os_reported_level(why, sizeof why);
    const int32_t detected = pcnn_isa_detected();
    if (g_os_level < 0) {
        printf("%s: %s: the OS's view is unknown, trusting the library's detection (%s)\n", test,
               why, pcnn_isa_name(detected));
        g_os_level = detected;
    } else {
        printf("%s: OS reports %s (%s); library detects %s\n", test, pcnn_isa_name(g_os_level),
               why, pcnn_isa_name(detected));
        if (check_detection) {
            CHECK(detected == g_os_level, "the library detects %s but the OS reports %s (%s)",
                  pcnn_isa_name(detected), pcnn_isa_name(g_os_level), why);
        }
    }
}

#endif /* PCNN_TEST_VARIANTS_H */
