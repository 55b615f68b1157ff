/*
 * PANAMACNN_MAX_ISA / PANAMACNN_NUM_THREADS are honoured (ctest sets them).
 * Usage: test_env <expected cap 0|1|2|3> <expected threads, 0 = online CPUs (clamped to 256)>
 */
#include "test_platform.h"
#include "test_util.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_env <cap> <threads>\n");
        return 2;
    }
    const int32_t cap = atoi(argv[1]);
    int32_t threads = atoi(argv[2]);
    if (threads == 0) {
        long n = test_cpu_count();
        threads = (int32_t)(n < 1 ? 1 : n > 256 ? 256 : n);
    }
    const int32_t detected = pcnn_isa_detected();
    int32_t want_active = cap < detected ? cap : detected;
#if defined(__aarch64__)
    if (want_active != PCNN_ISA_NEON) {
        want_active = PCNN_ISA_SCALAR; /* avx2 / avx512 caps are below neon: scalar here */
    }
#endif
    printf("PANAMACNN_MAX_ISA=%s PANAMACNN_NUM_THREADS=%s: active %s, threads %d\n",
           getenv("PANAMACNN_MAX_ISA") ? getenv("PANAMACNN_MAX_ISA") : "(unset)",
           getenv("PANAMACNN_NUM_THREADS") ? getenv("PANAMACNN_NUM_THREADS") : "(unset)",
           pcnn_isa_name(pcnn_isa_active()), pcnn_get_num_threads());
    CHECK(pcnn_isa_active() == want_active, "active %d, want %d", pcnn_isa_active(), want_active);
    CHECK(pcnn_get_num_threads() == threads, "threads %d, want %d", pcnn_get_num_threads(),
          threads);
    /* the API call overrides the environment */
    CHECK_STATUS(pcnn_set_max_isa(PCNN_ISA_SCALAR), PCNN_STATUS_OK);
    CHECK(pcnn_isa_active() == PCNN_ISA_SCALAR, "cap via API");
    /* one op end to end with the configured thread count */
    pcnn_maxpool2d_desc d = pool_desc(2, 3, 5, 5, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    float src[150], dst[2 * 3 * 3 * 3];
    for (int i = 0; i < 150; ++i) src[i] = (float)i;
    CHECK_STATUS(pcnn_maxpool2d_fwd(&d, src, dst, NULL), PCNN_STATUS_OK);
    CHECK(dst[0] == 6.0f && dst[8] == 24.0f, "values %g %g", dst[0], dst[8]);
    return test_finish("env");
}
