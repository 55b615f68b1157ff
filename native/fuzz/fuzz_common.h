/*
 * Shared by the fuzz harnesses (native/fuzz/fuzz_*.c): reading fields from the fuzz input,
 * guarded buffers, the ISA levels to run, and failure reporting.
 *
 * A harness defines LLVMFuzzerTestOneInput. It is linked either with libFuzzer (clang,
 * -fsanitize=fuzzer) or with replay_main.c (any compiler), which feeds it the files of the
 * seed corpus and of native/fuzz/regressions/ from ctest.
 *
 * A finding is reported by fz_fail(): it prints what differs and aborts, which libFuzzer
 * turns into a saved crash input and ctest into a failed test.
 */
#ifndef PCNN_FUZZ_COMMON_H
#define PCNN_FUZZ_COMMON_H

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FZ_ASAN 1
#endif
#ifdef FZ_ASAN
#include <sanitizer/asan_interface.h>
#define FZ_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define FZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define FZ_POISON(p, n) ((void)(p), (void)(n))
#define FZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define FZ_NLEVELS 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- failure ---- */

static void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fz_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FUZZ FINDING: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    abort();
}

#define FZ_CHECK(cond, ...)                                                            \
    do {                                                                               \
        if (!(cond)) fz_fail(__VA_ARGS__);                                             \
    } while (0)

/* ---- the input, read front to back; past its end every byte reads as 0 ---- */

typedef struct {
    const uint8_t *p;
    size_t n;
    size_t at;
    uint64_t rng; /* for data past the input's end: seeded from the whole input */
} fz_reader;

static inline fz_reader fz_reader_of(const uint8_t *data, size_t size) {
    fz_reader r = {data, size, 0, 0xcbf29ce484222325ull};
    for (size_t i = 0; i < size; ++i) { /* FNV-1a */
        r.rng = (r.rng ^ data[i]) * 0x100000001b3ull;
    }
    if (r.rng == 0) r.rng = 1;
    return r;
}
static inline int fz_left(const fz_reader *r) { return r->at < r->n; }
static inline uint8_t fz_u8(fz_reader *r) { return r->at < r->n ? r->p[r->at++] : 0; }
static inline uint16_t fz_u16(fz_reader *r) {
    const uint16_t lo = fz_u8(r);
    return (uint16_t)(lo | (uint16_t)fz_u8(r) << 8);
}
static inline uint64_t fz_u64(fz_reader *r) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= (uint64_t)fz_u8(r) << (8 * i);
    return v;
}
/* lo + (one byte mod the range width): small fields take one byte each, so a mutation of
 * one byte changes one field. */
static inline int64_t fz_small(fz_reader *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)(fz_u8(r) % (uint64_t)(hi - lo + 1));
}
static inline uint64_t fz_rng(fz_reader *r) { /* xorshift64* */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 0x2545f4914f6cdd1dull;
}

static inline float fz_f_from_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}
static inline uint32_t fz_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* ---- guarded buffers ----
 * The payload sits between two guard regions of FZ_GUARD elements filled with a sentinel
 * and, under ASan, poisoned (so even a read of a guard is reported). The payload's offset
 * from a 64-byte boundary is chosen by the input (0..15 elements): kernels get 4-byte
 * aligned buffers from Java, never more. The whole allocation has ASan's own red zones. */
#define FZ_GUARD 16
#define FZ_SENTINEL 0x7fbadbadu /* a signalling-NaN pattern no kernel produces */

typedef struct {
    uint32_t *raw;
    size_t front; /* elements before the payload */
    int64_t n;
} fz_buf;

static inline fz_buf fz_alloc(int64_t n, unsigned misalign) {
    fz_buf b;
    b.front = FZ_GUARD + (misalign & 15u);
    b.n = n;
    const size_t total = b.front + (size_t)n + FZ_GUARD;
    b.raw = aligned_alloc(64, (total * 4 + 63) / 64 * 64);
    if (b.raw == NULL) {
        fprintf(stderr, "fuzz harness: out of memory (%zu elements)\n", total);
        abort();
    }
    for (size_t i = 0; i < total; ++i) b.raw[i] = FZ_SENTINEL;
    FZ_POISON(b.raw, b.front * 4);
    FZ_POISON(b.raw + b.front + n, FZ_GUARD * 4);
    return b;
}
static inline float *fz_f(fz_buf b) { return (float *)(b.raw + b.front); }
static inline int32_t *fz_i(fz_buf b) { return (int32_t *)(b.raw + b.front); }

/* Fails unless both guard regions still hold the sentinel. */
static inline void fz_check_guards(fz_buf b, const char *what) {
    FZ_UNPOISON(b.raw, b.front * 4);
    FZ_UNPOISON(b.raw + b.front + b.n, FZ_GUARD * 4);
    for (size_t i = 0; i < b.front; ++i) {
        FZ_CHECK(b.raw[i] == FZ_SENTINEL, "%s: guard before the buffer overwritten at -%zu",
                 what, b.front - i);
    }
    for (size_t i = 0; i < FZ_GUARD; ++i) {
        FZ_CHECK(b.raw[b.front + (size_t)b.n + i] == FZ_SENTINEL,
                 "%s: guard after the buffer (%" PRId64 " elements) overwritten at +%zu", what,
                 b.n, i);
    }
    FZ_POISON(b.raw, b.front * 4);
    FZ_POISON(b.raw + b.front + b.n, FZ_GUARD * 4);
}
static inline void fz_free(fz_buf b) {
    if (b.raw != NULL) {
        FZ_UNPOISON(b.raw, (b.front + (size_t)b.n + FZ_GUARD) * 4);
        free(b.raw);
    }
}
/* Fill the payload with a NaN pattern, so an element a kernel forgets to write is seen. */
#define FZ_PREFILL 0x7fc0dead
static inline void fz_prefill(fz_buf b) {
    for (int64_t i = 0; i < b.n; ++i) b.raw[b.front + (size_t)i] = FZ_PREFILL;
}
static inline void fz_copy(fz_buf dst, fz_buf src) {
    memcpy(dst.raw + dst.front, src.raw + src.front, (size_t)src.n * 4);
}
static inline int fz_same_bits(fz_buf a, fz_buf b) {
    return a.n == b.n && memcmp(a.raw + a.front, b.raw + b.front, (size_t)a.n * 4) == 0;
}

/* ---- ISA levels ---- */

/* The levels this machine can run (0 .. detected), each with its kernel table. */
static inline int fz_levels(void) {
    const int32_t d = pcnn_isa_detected();
    return (d < FZ_NLEVELS ? d : FZ_NLEVELS - 1) + 1;
}

/* PCNN_FUZZ_VERBOSE=1 (environment): the harnesses print each decoded geometry. */
static int fz_verbose;

/* Runs once per process: prints what will be compared, so a log shows the levels. */
static inline void fz_announce(const char *harness) {
    static int done;
    if (!done) {
        done = 1;
        const char *v = getenv("PCNN_FUZZ_VERBOSE");
        fz_verbose = v != NULL && *v != '\0' && *v != '0';
        fprintf(stderr, "%s: ISA levels compared: scalar..%s (detected %s)\n", harness,
                pcnn_isa_name(fz_levels() - 1), pcnn_isa_name(pcnn_isa_detected()));
    }
}

#endif /* PCNN_FUZZ_COMMON_H */
