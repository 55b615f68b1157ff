/*
 * Waiting inside a pool task for another task's flag, with a time limit (the thread-pool tests:
 * a pool that works never reaches the limit; a broken one fails the test instead of hanging it).
 */
#ifndef PCNN_TEST_WAIT_H
#define PCNN_TEST_WAIT_H

#include "core/platform.h"

/* Polls *flag (yielding the CPU) until it is non-zero or limit_ns has passed since `since`
 * (pcnn_monotonic_ns); returns whether it was set. */
static inline int wait_for_flag(const int *flag, uint64_t since, uint64_t limit_ns) {
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
        if (pcnn_monotonic_ns() - since > limit_ns) {
            return 0;
        }
        pcnn_thread_yield();
    }
    return 1;
}

#endif
