/*
 * What the C tests need from the operating system, for POSIX and Windows: pages that fault
 * when touched (to catch over-reads; test_fenced_alloc: a buffer against such a page), the CPU
 * count, and joinable threads.
 */
#ifndef PCNN_TEST_PLATFORM_H
#define PCNN_TEST_PLATFORM_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

static inline size_t test_page_size(void) {
#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return (size_t)si.dwPageSize;
#else
    return (size_t)sysconf(_SC_PAGESIZE);
#endif
}

/* len bytes (a multiple of the page size) of read-write memory; exits on failure. */
static inline void *test_pages_alloc(size_t len) {
#if defined(_WIN32)
    void *p = VirtualAlloc(NULL, len, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (p == NULL) {
#else
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
#endif
        fprintf(stderr, "page allocation of %zu bytes failed\n", len);
        exit(2);
    }
    return p;
}

/* Makes [p, p + len) fault on any access. */
static inline void test_pages_forbid(void *p, size_t len) {
#if defined(_WIN32)
    DWORD old;
    VirtualProtect(p, len, PAGE_NOACCESS, &old);
#else
    mprotect(p, len, PROT_NONE);
#endif
}

static inline void test_pages_free(void *p, size_t len) {
#if defined(_WIN32)
    (void)len;
    VirtualFree(p, 0, MEM_RELEASE);
#else
    munmap(p, len);
#endif
}

/* A buffer of `bytes` placed right after (at_start) or right before (!at_start) a page that
 * faults when touched (the page-rounded body has one on each side): a read just outside the
 * buffer on that side faults. */
typedef struct {
    void *map; /* the whole mapping, for test_fenced_free */
    size_t map_len;
    void *p; /* the buffer */
} test_fenced;

static inline test_fenced test_fenced_alloc(size_t bytes, int at_start) {
    const size_t page = test_page_size();
    const size_t body = (bytes + page - 1) / page * page;
    test_fenced g;
    g.map_len = body + 2 * page;
    g.map = test_pages_alloc(g.map_len);
    char *base = g.map;
    test_pages_forbid(base, page);
    test_pages_forbid(base + page + body, page);
    g.p = at_start ? (void *)(base + page) : (void *)(base + page + body - bytes);
    return g;
}

static inline void test_fenced_free(test_fenced *g) { test_pages_free(g->map, g->map_len); }

static inline long test_cpu_count(void) {
#if defined(_WIN32)
    return (long)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
#else
    return sysconf(_SC_NPROCESSORS_ONLN);
#endif
}

/* Joinable threads running void *fn(void *). */
typedef void *(*test_thread_fn)(void *);
#if defined(_WIN32)
typedef struct {
    HANDLE h;
    test_thread_fn fn;
    void *arg;
} test_thread;
static DWORD WINAPI test_thread_trampoline(LPVOID p) {
    test_thread *t = p;
    t->fn(t->arg);
    return 0;
}
/* t must stay valid until test_thread_join. Returns 0 on success. */
static inline int test_thread_create(test_thread *t, test_thread_fn fn, void *arg) {
    t->fn = fn;
    t->arg = arg;
    t->h = CreateThread(NULL, 0, test_thread_trampoline, t, 0, NULL);
    return t->h == NULL ? -1 : 0;
}
static inline void test_thread_join(test_thread *t) {
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
}
#else
typedef struct {
    pthread_t tid;
} test_thread;
static inline int test_thread_create(test_thread *t, test_thread_fn fn, void *arg) {
    return pthread_create(&t->tid, NULL, fn, arg);
}
static inline void test_thread_join(test_thread *t) { pthread_join(t->tid, NULL); }
#endif

#endif /* PCNN_TEST_PLATFORM_H */
