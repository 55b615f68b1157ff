/*
 * The few operating-system services the library needs, behind one small interface so that
 * the thread pool, CPU detection and per-thread scratch have no #ifdef of their own:
 * once-initialisation, a mutex and condition variable with static initialisers, detached
 * worker threads, the CPU count and 64-byte aligned allocation. (Per-thread state freed at
 * thread exit is core/thread_exit.c's job.)
 *
 * Two implementations: platform-posix.c (pthreads; Linux, macOS) and platform-win32.c
 * (SRWLOCK, CONDITION_VARIABLE, InitOnce, CreateThread). Both are always in the
 * source list; each compiles to nothing on the other kind of system. On Windows the types
 * are opaque pointer-sized words (SRWLOCK, CONDITION_VARIABLE and INIT_ONCE are exactly
 * that), so <windows.h> stays out of every other file.
 */
#ifndef PCNN_PLATFORM_H
#define PCNN_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
typedef struct { void *opaque; } pcnn_once_t;
typedef struct { void *opaque; } pcnn_mutex_t;
typedef struct { void *opaque; } pcnn_cond_t;
#define PCNN_ONCE_INIT {0}
#define PCNN_MUTEX_INIT {0}
#define PCNN_COND_INIT {0}
#else
#include <pthread.h>
typedef pthread_once_t pcnn_once_t;
typedef pthread_mutex_t pcnn_mutex_t;
typedef pthread_cond_t pcnn_cond_t;
#define PCNN_ONCE_INIT PTHREAD_ONCE_INIT
#define PCNN_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#define PCNN_COND_INIT PTHREAD_COND_INITIALIZER
#endif

#if defined(__GNUC__) && !defined(_WIN32)
#define PCNN_PLATFORM_INTERNAL __attribute__((visibility("hidden")))
#else
#define PCNN_PLATFORM_INTERNAL
#endif

/* Runs fn exactly once per flag; every caller returns after it has finished. */
PCNN_PLATFORM_INTERNAL void pcnn_once(pcnn_once_t *flag, void (*fn)(void));

/* A non-recursive mutex. trylock returns 1 when it took the lock, 0 when it is held. */
PCNN_PLATFORM_INTERNAL void pcnn_mutex_lock(pcnn_mutex_t *m);
PCNN_PLATFORM_INTERNAL int pcnn_mutex_trylock(pcnn_mutex_t *m);
PCNN_PLATFORM_INTERNAL void pcnn_mutex_unlock(pcnn_mutex_t *m);
/* Forget any state (after fork() in the child: the other threads are gone). */
PCNN_PLATFORM_INTERNAL void pcnn_mutex_reset(pcnn_mutex_t *m);

/* Condition variable used with a pcnn_mutex_t; wait may wake spuriously. */
PCNN_PLATFORM_INTERNAL void pcnn_cond_wait(pcnn_cond_t *c, pcnn_mutex_t *m);
PCNN_PLATFORM_INTERNAL void pcnn_cond_signal(pcnn_cond_t *c);
PCNN_PLATFORM_INTERNAL void pcnn_cond_broadcast(pcnn_cond_t *c);
PCNN_PLATFORM_INTERNAL void pcnn_cond_reset(pcnn_cond_t *c);

/* Starts a detached thread running fn(arg) with every signal blocked (POSIX: the JVM owns
 * the signal handling of its process). Returns 0 on success, nonzero when it could not. */
PCNN_PLATFORM_INTERNAL int pcnn_thread_start_detached(void (*fn)(void *), void *arg);

/* Registers fn to run in the child after fork() (no-op where there is no fork). */
PCNN_PLATFORM_INTERNAL void pcnn_at_fork_child(void (*fn)(void));

/* Logical CPUs available to the process (>= 1). */
PCNN_PLATFORM_INTERNAL int64_t pcnn_cpu_count(void);

/* 64-byte aligned memory (bytes > 0), NULL on failure; free with pcnn_aligned_free
 * (Windows has no aligned_alloc: _aligned_malloc pairs with _aligned_free, not free). */
PCNN_PLATFORM_INTERNAL void *pcnn_aligned_alloc64(size_t bytes);
PCNN_PLATFORM_INTERNAL void pcnn_aligned_free(void *p);

/* Whole pages straight from the OS (mmap / VirtualAlloc), NULL on failure; page-aligned, so
 * 64-byte aligned. pcnn_pages_free gives them back to the OS at once (munmap / VirtualFree),
 * which a heap (malloc, _aligned_malloc) need not do: the scratch's large buffers use these so
 * that a dead thread's memory really leaves the process. */
PCNN_PLATFORM_INTERNAL void *pcnn_pages_alloc(size_t bytes);
PCNN_PLATFORM_INTERNAL void pcnn_pages_free(void *p, size_t bytes);

/* The calling thread's id in the operating system (Linux: gettid, the number under
 * /proc/self/task; macOS: pthread_threadid_np; Windows: GetCurrentThreadId; else 0). */
PCNN_PLATFORM_INTERNAL int64_t pcnn_os_thread_id(void);

/* An id of the calling thread, unique among live threads (for tests and diagnostics). */
PCNN_PLATFORM_INTERNAL uint64_t pcnn_thread_self_id(void);

/* A monotonic clock in nanoseconds (arbitrary origin): the thread pool's spin windows. */
PCNN_PLATFORM_INTERNAL uint64_t pcnn_monotonic_ns(void);
/* Gives the CPU to another runnable thread, if there is one (sched_yield / SwitchToThread). */
PCNN_PLATFORM_INTERNAL void pcnn_thread_yield(void);

#endif /* PCNN_PLATFORM_H */
