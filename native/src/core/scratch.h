/*
 * Per-thread scratch memory for the kernels: the library's one scratch facility.
 * Contract (see native/src/core/README.md for the why and the measurements):
 *   - Each thread has one buffer per slot. pcnn_scratch_get returns the calling thread's
 *     buffer of `slot`, 64-byte aligned, at least `bytes` long, or NULL when memory could not
 *     be allocated (the kernel then returns PCNN_STATUS_OUT_OF_MEMORY; nothing leaks and the
 *     next call starts afresh). Growing does not keep the old contents.
 *   - A buffer stays valid, with its contents, until the same thread asks for the same slot
 *     again with more bytes or calls pcnn_scratch_trim. Only call boundaries trim: the end of
 *     an exported entry point (the caller's thread) and the end of a worker's part of a
 *     parallel region (threads.c), so a buffer lives at least for one task, and a job's
 *     per-thread state (e.g. packed weights) may stay in it for the job's duration.
 *   - Bounded: between calls a thread keeps its buffers only while all threads together hold
 *     at most PCNN_SCRATCH_BUDGET_BYTES (64 MiB); above that a thread ending a call trims
 *     itself to PCNN_SCRATCH_KEEP_BYTES (256 KiB). When a thread exits, all it held is freed
 *     (core/thread_exit.c) and large buffers go straight back to the OS (munmap / VirtualFree).
 *   - pcnn_scratch_bytes() (exported) is the bytes held by all threads (process-wide atomic
 *     count of the buffers and the per-thread bookkeeping).
 */
#ifndef PCNN_SCRATCH_H
#define PCNN_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/pcnn_internal.h"

typedef enum pcnn_scratch_slot {
    PCNN_SCRATCH_CONV_TASK = 0,     /* conv2d direct: a task's tap lists and padded rows */
    PCNN_SCRATCH_CONV_PACK,         /* conv2d direct: packed weights */
    PCNN_SCRATCH_CONV_PACK_FLAGS,   /* conv2d direct: which weight blocks are packed */
    PCNN_SCRATCH_CONV_BWD_WEIGHTS,  /* conv2d backward-weights: accumulators, packed columns */
    PCNN_SCRATCH_CONV_BIAS_SUMS,    /* conv2d backward-weights: bias sums when diff_bias is NULL */
    PCNN_SCRATCH_WINO_WEIGHTS,      /* conv2d Winograd: transformed weights (caller's thread, per call) */
    PCNN_SCRATCH_WINO_TILES,        /* conv2d Winograd: a worker's transformed input tiles */
    PCNN_SCRATCH_WINO_PRODUCTS,     /* conv2d Winograd: a worker's products of one channel block */
    PCNN_SCRATCH_POINTWISE,         /* conv2d pointwise: gathered input / dense gradient (caller's thread) */
    PCNN_SCRATCH_CONV_BWD_DY,       /* conv2d backward-weights: dY repacked once (caller's thread, per call) */
    PCNN_SCRATCH_DEPTHWISE,         /* conv2d depthwise: a task's even / odd column planes (stride 2) */
    PCNN_SCRATCH_DILATED,           /* conv2d dilated: index maps and phase frames (caller's thread) */
    PCNN_SCRATCH_CONV_BWD_HALF,     /* conv2d backward-weights: the second batch half's weights (caller's thread) */
    PCNN_SCRATCH_DEPTHWISE_LANES,   /* conv2d depthwise, channels in lanes: a task's frame and staging */
    PCNN_SCRATCH_SLOTS
} pcnn_scratch_slot;

/* Between calls a thread keeps its buffers while all threads together hold at most
 * PCNN_SCRATCH_BUDGET_BYTES; above that, a thread ending a call frees its buffers, largest
 * first, down to PCNN_SCRATCH_KEEP_BYTES. Buffers of 64 KiB and more are mapped from the OS
 * and unmapped when freed, so a thread's exit gives its memory back to the OS at once.
 * Why not free large buffers after every call: see native/src/core/README.md (measured). */
#ifndef PCNN_SCRATCH_KEEP_BYTES /* overridable for experiments (-D) */
#define PCNN_SCRATCH_KEEP_BYTES ((size_t)256 * 1024)
#endif
#ifndef PCNN_SCRATCH_BUDGET_BYTES
#define PCNN_SCRATCH_BUDGET_BYTES ((int64_t)64 * 1024 * 1024)
#endif

PCNN_INTERNAL void *pcnn_scratch_get(pcnn_scratch_slot slot, size_t bytes);

/* Call boundary: when all threads together hold more than the budget, frees the calling
 * thread's buffers, largest first, until it holds at most PCNN_SCRATCH_KEEP_BYTES. Cheap
 * when there is nothing to free. */
PCNN_INTERNAL void pcnn_scratch_trim(void);

/* Test hook (hidden): sets the process-wide budget (0: every call end trims); returns the
 * previous one. */
PCNN_INTERNAL int64_t pcnn_scratch_set_budget(int64_t bytes);

/* Test hook (hidden; the C tests and the test-only fault-injection library set it):
 * n > 0 makes the n-th scratch allocation from now on, in any thread, fail (1 = the next
 * one); n = 0 turns it off. Only allocations count, not a get served by an existing
 * buffer. Returns the previous setting. */
PCNN_INTERNAL int64_t pcnn_scratch_fail_nth_alloc(int64_t n);

#endif /* PCNN_SCRATCH_H */
