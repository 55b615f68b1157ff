/*
 * platform.h on Windows: Win32 primitives only, so the DLL needs no winpthreads and no
 * other non-system DLL. SRWLOCK / CONDITION_VARIABLE / INIT_ONCE are pointer-sized words
 * whose static initialiser is all zero bits, which is what PCNN_*_INIT gives.
 * (Per-thread state freed at thread exit: core/thread_exit.c, with FlsAlloc.)
 */
#if defined(_WIN32)

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <malloc.h>
#include <stdlib.h>

#include "core/platform.h"

_Static_assert(sizeof(pcnn_mutex_t) == sizeof(SRWLOCK), "SRWLOCK is one pointer");
_Static_assert(sizeof(pcnn_cond_t) == sizeof(CONDITION_VARIABLE), "CONDITION_VARIABLE size");
_Static_assert(sizeof(pcnn_once_t) == sizeof(INIT_ONCE), "INIT_ONCE size");

static BOOL CALLBACK once_trampoline(PINIT_ONCE once, PVOID param, PVOID *context) {
    (void)once;
    (void)context;
    void (*fn)(void);
    /* a function pointer travels through a data pointer: fine on Windows (same size) */
    *(void **)&fn = param;
    fn();
    return TRUE;
}

void pcnn_once(pcnn_once_t *flag, void (*fn)(void)) {
    void *param;
    *(void (**)(void))&param = fn;
    InitOnceExecuteOnce((PINIT_ONCE)flag, once_trampoline, param, NULL);
}

void pcnn_mutex_lock(pcnn_mutex_t *m) { AcquireSRWLockExclusive((PSRWLOCK)m); }
int pcnn_mutex_trylock(pcnn_mutex_t *m) { return TryAcquireSRWLockExclusive((PSRWLOCK)m) != 0; }
void pcnn_mutex_unlock(pcnn_mutex_t *m) { ReleaseSRWLockExclusive((PSRWLOCK)m); }
void pcnn_mutex_reset(pcnn_mutex_t *m) { InitializeSRWLock((PSRWLOCK)m); }

void pcnn_cond_wait(pcnn_cond_t *c, pcnn_mutex_t *m) {
    SleepConditionVariableSRW((PCONDITION_VARIABLE)c, (PSRWLOCK)m, INFINITE, 0);
}
void pcnn_cond_signal(pcnn_cond_t *c) { WakeConditionVariable((PCONDITION_VARIABLE)c); }
void pcnn_cond_broadcast(pcnn_cond_t *c) { WakeAllConditionVariable((PCONDITION_VARIABLE)c); }
void pcnn_cond_reset(pcnn_cond_t *c) { InitializeConditionVariable((PCONDITION_VARIABLE)c); }

typedef struct {
    void (*fn)(void *);
    void *arg;
} start_info;

static DWORD WINAPI thread_trampoline(LPVOID p) {
    start_info info = *(start_info *)p;
    free(p);
    info.fn(info.arg);
    return 0;
}

int pcnn_thread_start_detached(void (*fn)(void *), void *arg) {
    start_info *info = malloc(sizeof *info);
    if (info == NULL) {
        return -1;
    }
    info->fn = fn;
    info->arg = arg;
    HANDLE h = CreateThread(NULL, 0, thread_trampoline, info, 0, NULL);
    if (h == NULL) {
        free(info);
        return -1;
    }
    CloseHandle(h); /* detached: the thread lives on without its handle */
    return 0;
}

void pcnn_at_fork_child(void (*fn)(void)) { (void)fn; /* no fork() on Windows */ }

int64_t pcnn_cpu_count(void) {
    /* all processor groups (more than 64 logical CPUs); fall back to the current group */
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    if (n == 0) {
        SYSTEM_INFO si;
        GetSystemInfo(&si);
        n = si.dwNumberOfProcessors;
    }
    return n < 1 ? 1 : (int64_t)n;
}

void *pcnn_aligned_alloc64(size_t bytes) { return _aligned_malloc(bytes == 0 ? 64 : bytes, 64); }

void pcnn_aligned_free(void *p) { _aligned_free(p); }

void *pcnn_pages_alloc(size_t bytes) {
    return VirtualAlloc(NULL, bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void pcnn_pages_free(void *p, size_t bytes) {
    (void)bytes; /* MEM_RELEASE frees the whole reservation and wants size 0 */
    VirtualFree(p, 0, MEM_RELEASE);
}

uint64_t pcnn_thread_self_id(void) { return (uint64_t)GetCurrentThreadId(); }

int64_t pcnn_os_thread_id(void) { return (int64_t)GetCurrentThreadId(); }

void pcnn_thread_yield(void) { SwitchToThread(); }

uint64_t pcnn_monotonic_ns(void) {
    static LARGE_INTEGER freq; /* constant after boot; a racy first write stores the same value */
    if (freq.QuadPart == 0) {
        QueryPerformanceFrequency(&freq);
    }
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    const uint64_t f = (uint64_t)freq.QuadPart, c = (uint64_t)now.QuadPart;
    return c / f * 1000000000u + c % f * 1000000000u / f;
}

#else
typedef int pcnn_platform_win32_unused; /* ISO C wants at least one declaration */
#endif
