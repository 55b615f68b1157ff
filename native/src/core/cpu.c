/*
 * CPU feature detection, the ISA cap and the kernel-table lookup.
 *
 * AVX2 level: CPUID.1:ECX.{OSXSAVE(27), AVX(28), FMA(12)}, CPUID.7.0:EBX.AVX2(5) and the OS
 * saving XMM+YMM state (XCR0 bits 1 and 2).
 * AVX-512 level: the above plus CPUID.7.0:EBX.{F(16), DQ(17), BW(30), VL(31)} and the OS
 * saving opmask + ZMM state (XCR0 bits 5, 6, 7).
 * This file is compiled without ISA flags; XGETBV is issued through inline asm so that no
 * -mxsave is needed (GCC, clang, MinGW); MSVC has no inline asm on x64 and uses the
 * __cpuidex / _xgetbv intrinsics, which need no /arch flag either. The CPUID/XGETBV code is
 * compiled on x86 only.
 *
 * AArch64: NEON level when getauxval(AT_HWCAP) has HWCAP_ASIMD (Advanced SIMD, which in
 * ARMv8-A includes the fused multiply-add the kernels use). ASIMD is baseline in ARMv8-A,
 * but a kernel may run under an emulator or an OS that disables it, so it is still checked.
 *
 * Levels form one chain per architecture (x86-64: scalar < avx2 < avx512; AArch64:
 * scalar < neon = 3); the active level is the highest level of the build's chain (one
 * with a kernel table) that is <= min(detected, cap).
 */
#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "core/platform.h"

#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#define PCNN_X86 1
#define PCNN_X86_MSVC 1
#elif defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define PCNN_X86 1
#endif

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1) /* <asm/hwcap.h>, stable Linux ABI */
#endif
#define PCNN_AARCH64_LINUX 1
#endif

static pcnn_once_t isa_once = PCNN_ONCE_INIT;
static int32_t isa_detected_level = PCNN_ISA_SCALAR;
static int32_t isa_cap = PCNN_ISA_NEON; /* the highest value = no cap; __atomic builtins */

#if defined(PCNN_X86_MSVC)
static uint64_t pcnn_xgetbv(uint32_t index) { return _xgetbv(index); }

/* The <cpuid.h> calls used below, on MSVC's intrinsics. */
static int pcnn_msvc_get_cpuid(unsigned leaf, unsigned *a, unsigned *b, unsigned *c, unsigned *d) {
    int r[4];
    __cpuid(r, 0);
    if ((unsigned)r[0] < leaf) {
        return 0;
    }
    __cpuidex(r, (int)leaf, 0);
    *a = (unsigned)r[0], *b = (unsigned)r[1], *c = (unsigned)r[2], *d = (unsigned)r[3];
    return 1;
}
#define __get_cpuid(leaf, a, b, c, d) pcnn_msvc_get_cpuid((leaf), (a), (b), (c), (d))
#define __get_cpuid_max(ext, sig) pcnn_msvc_get_cpuid_max()
static unsigned pcnn_msvc_get_cpuid_max(void) {
    int r[4];
    __cpuid(r, 0);
    return (unsigned)r[0];
}
#define __cpuid_count(leaf, sub, a, b, c, d)                                              \
    do {                                                                                  \
        int r_[4];                                                                        \
        __cpuidex(r_, (leaf), (sub));                                                     \
        (a) = (unsigned)r_[0], (b) = (unsigned)r_[1], (c) = (unsigned)r_[2],              \
        (d) = (unsigned)r_[3];                                                            \
    } while (0)
#elif defined(PCNN_X86)
static uint64_t pcnn_xgetbv(uint32_t index) {
    uint32_t eax, edx;
    __asm__ __volatile__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(index));
    return ((uint64_t)edx << 32) | eax;
}
#endif

static int32_t detect_isa(void) {
#if defined(PCNN_X86)
    unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        return PCNN_ISA_SCALAR;
    }
    const int osxsave = (ecx >> 27) & 1;
    const int avx = (ecx >> 28) & 1;
    const int fma = (ecx >> 12) & 1;
    if (!osxsave || !avx || !fma) {
        return PCNN_ISA_SCALAR;
    }
    const uint64_t xcr0 = pcnn_xgetbv(0);
    if ((xcr0 & 0x6) != 0x6) {
        return PCNN_ISA_SCALAR; /* OS does not save XMM/YMM state */
    }
    if (__get_cpuid_max(0, NULL) < 7) {
        return PCNN_ISA_SCALAR;
    }
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const int avx2 = (ebx >> 5) & 1;
    if (!avx2) {
        return PCNN_ISA_SCALAR;
    }
    const int avx512f = (ebx >> 16) & 1;
    const int avx512dq = (ebx >> 17) & 1;
    const int avx512bw = (ebx >> 30) & 1;
    const int avx512vl = (ebx >> 31) & 1;
    if (avx512f && avx512dq && avx512bw && avx512vl && (xcr0 & 0xE0) == 0xE0) {
        return PCNN_ISA_AVX512;
    }
    return PCNN_ISA_AVX2;
#elif defined(PCNN_AARCH64_LINUX)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0 ? PCNN_ISA_NEON : PCNN_ISA_SCALAR;
#else
    return PCNN_ISA_SCALAR;
#endif
}

/* Parses PANAMACNN_MAX_ISA; returns -1 when unset or not understood. */
static int32_t parse_isa_env(const char *s) {
    if (s == NULL || *s == '\0') {
        return -1;
    }
    if (strcmp(s, "scalar") == 0 || strcmp(s, "SCALAR") == 0 || strcmp(s, "0") == 0) {
        return PCNN_ISA_SCALAR;
    }
    if (strcmp(s, "avx2") == 0 || strcmp(s, "AVX2") == 0 || strcmp(s, "1") == 0) {
        return PCNN_ISA_AVX2;
    }
    if (strcmp(s, "avx512") == 0 || strcmp(s, "AVX512") == 0 || strcmp(s, "2") == 0) {
        return PCNN_ISA_AVX512;
    }
    if (strcmp(s, "neon") == 0 || strcmp(s, "NEON") == 0 || strcmp(s, "3") == 0) {
        return PCNN_ISA_NEON;
    }
    return -1;
}

static void isa_init(void) {
    isa_detected_level = detect_isa();
    const int32_t env = parse_isa_env(getenv("PANAMACNN_MAX_ISA"));
    __atomic_store_n(&isa_cap, env >= 0 ? env : PCNN_ISA_NEON, __ATOMIC_RELEASE);
}

PCNN_API int32_t pcnn_isa_detected(void) {
    pcnn_once(&isa_once, isa_init);
    return isa_detected_level;
}

PCNN_API int32_t pcnn_isa_active(void) {
    pcnn_once(&isa_once, isa_init);
    const int32_t cap = __atomic_load_n(&isa_cap, __ATOMIC_ACQUIRE);
    int32_t level = cap < isa_detected_level ? cap : isa_detected_level;
    /* another architecture's level (avx2 as a cap on AArch64) is not a level here */
    while (level > PCNN_ISA_SCALAR && pcnn_kernel_table_for(level) == NULL) {
        --level;
    }
    return level;
}

PCNN_API int32_t pcnn_set_max_isa(int32_t isa) {
    if (isa < PCNN_ISA_SCALAR || isa > PCNN_ISA_NEON) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    pcnn_once(&isa_once, isa_init); /* so that the environment does not override us later */
    __atomic_store_n(&isa_cap, isa, __ATOMIC_RELEASE);
    return PCNN_STATUS_OK;
}

PCNN_API const char *pcnn_isa_name(int32_t isa) {
    switch (isa) {
    case PCNN_ISA_SCALAR:
        return "scalar";
    case PCNN_ISA_AVX2:
        return "avx2";
    case PCNN_ISA_AVX512:
        return "avx512";
    case PCNN_ISA_NEON:
        return "neon";
    default:
        return "unknown";
    }
}

PCNN_INTERNAL const pcnn_kernel_table *pcnn_kernel_table_for(int32_t isa) {
    switch (isa) {
    case PCNN_ISA_SCALAR:
        return &pcnn_kernels_scalar;
#if defined(PANAMACNN_HAVE_X86_KERNELS)
    case PCNN_ISA_AVX2:
        return &pcnn_kernels_avx2;
    case PCNN_ISA_AVX512:
        return &pcnn_kernels_avx512;
#endif
#if defined(PANAMACNN_HAVE_NEON_KERNELS)
    case PCNN_ISA_NEON:
        return &pcnn_kernels_neon;
#endif
    default:
        return NULL;
    }
}

PCNN_API int32_t pcnn_abi_version(void) {
    return PCNN_ABI_VERSION;
}

PCNN_API const char *pcnn_status_str(int32_t status) {
    switch (status) {
    case PCNN_STATUS_OK:
        return "success";
    case PCNN_STATUS_INVALID_ARGUMENT:
        return "invalid argument (NULL pointer, non-positive size or inconsistent descriptor)";
    case PCNN_STATUS_OUT_OF_RANGE:
        return "out of range (a size overflows int64 or an index overflows int32 / its tensor)";
    case PCNN_STATUS_UNSUPPORTED:
        return "unsupported by this build";
    case PCNN_STATUS_OUT_OF_MEMORY:
        return "out of memory (internal scratch allocation failed)";
    case PCNN_STATUS_INTERNAL:
        return "internal error (a bug in panama-cnn: please report it)";
    default:
        return "unknown status";
    }
}
