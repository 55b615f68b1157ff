/*
 * Test-only: linked into libpanamacnn_faultinject (the shipped objects plus this file), never
 * into the shipped library. Exports the hidden fault-injection switch of core/scratch.h so that
 * a Java test can load this library (panamacnn.library.path) and prove that a failed scratch
 * allocation reaches Java as OutOfMemoryError and that the next call succeeds.
 */
#include <stdint.h>

#include "core/scratch.h"

__attribute__((visibility("default"))) int64_t pcnn_test_scratch_fail_nth_alloc(int64_t n) {
    return pcnn_scratch_fail_nth_alloc(n);
}
