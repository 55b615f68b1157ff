/*
 * platform.h on POSIX systems (Linux, macOS): pthreads, sysconf, aligned_alloc.
 */
#if !defined(_WIN32)

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#include <time.h>
#include <unistd.h>

#include "core/platform.h"

void pcnn_once(pcnn_once_t *flag, void (*fn)(void)) { pthread_once(flag, fn); }

void pcnn_mutex_lock(pcnn_mutex_t *m) { pthread_mutex_lock(m); }
int pcnn_mutex_trylock(pcnn_mutex_t *m) { return pthread_mutex_trylock(m) == 0; }
void pcnn_mutex_unlock(pcnn_mutex_t *m) { pthread_mutex_unlock(m); }
void pcnn_mutex_reset(pcnn_mutex_t *m) { pthread_mutex_init(m, NULL); }

void pcnn_cond_wait(pcnn_cond_t *c, pcnn_mutex_t *m) { pthread_cond_wait(c, m); }
void pcnn_cond_signal(pcnn_cond_t *c) { pthread_cond_signal(c); }
void pcnn_cond_broadcast(pcnn_cond_t *c) { pthread_cond_broadcast(c); }
void pcnn_cond_reset(pcnn_cond_t *c) { pthread_cond_init(c, NULL); }

typedef struct {
    void (*fn)(void *);
    void *arg;
} start_info;

static void *thread_trampoline(void *p) {
    start_info info = *(start_info *)p;
    free(p);
    info.fn(info.arg);
    return NULL;
}

int pcnn_thread_start_detached(void (*fn)(void *), void *arg) {
    start_info *info = malloc(sizeof *info);
    if (info == NULL) {
        return -1;
    }
    info->fn = fn;
    info->arg = arg;
    /* The new thread inherits this mask: block everything while creating it. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_t attr;
    const int have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    }
    pthread_t tid;
    const int rc = pthread_create(&tid, have_attr ? &attr : NULL, thread_trampoline, info);
    if (rc == 0 && !have_attr) {
        pthread_detach(tid);
    }
    if (have_attr) {
        pthread_attr_destroy(&attr);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(info);
    }
    return rc;
}

void pcnn_at_fork_child(void (*fn)(void)) { pthread_atfork(NULL, NULL, fn); }

int64_t pcnn_cpu_count(void) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int64_t)n;
}

void *pcnn_aligned_alloc64(size_t bytes) {
    /* aligned_alloc wants a multiple of the alignment */
    const size_t rounded = (bytes + 63u) & ~(size_t)63u;
    return rounded < bytes ? NULL : aligned_alloc(64, rounded == 0 ? 64 : rounded);
}

void pcnn_aligned_free(void *p) { free(p); }

void *pcnn_pages_alloc(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void pcnn_pages_free(void *p, size_t bytes) { munmap(p, bytes); }

int64_t pcnn_os_thread_id(void) {
#if defined(__linux__)
    return (int64_t)syscall(SYS_gettid); /* gettid() itself needs glibc 2.30 */
#elif defined(__APPLE__)
    uint64_t id = 0;
    pthread_threadid_np(NULL, &id);
    return (int64_t)id;
#else
    return 0;
#endif
}

uint64_t pcnn_thread_self_id(void) {
    /* pthread_t is an integer or a pointer on every POSIX system we build for */
    return (uint64_t)(uintptr_t)pthread_self();
}

void pcnn_thread_yield(void) { sched_yield(); }

uint64_t pcnn_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#else
typedef int pcnn_platform_posix_unused; /* ISO C wants at least one declaration */
#endif
