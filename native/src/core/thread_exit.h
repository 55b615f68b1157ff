/*
 * The library's per-thread state and its end: the ONE place that knows how a thread's exit
 * is observed. POSIX: a pthread key whose destructor runs on the exiting thread; Windows:
 * FlsAlloc / FlsSetValue, whose callback runs at thread exit. A port to another platform
 * adds its branch in thread_exit.c and nowhere else.
 *
 * Contract: each thread has one state pointer (NULL until set). When a thread whose state
 * is non-NULL exits, pcnn_thread_state_free(state) runs on that thread (defined by the
 * state's owner, native/src/core/scratch.c). Threads that never set a state cost nothing.
 */
#ifndef PCNN_THREAD_EXIT_H
#define PCNN_THREAD_EXIT_H

#include "core/pcnn_internal.h"

/* The calling thread's state, or NULL. */
PCNN_INTERNAL void *pcnn_thread_state_get(void);

/* Makes `state` (non-NULL) the calling thread's state and arranges for
 * pcnn_thread_state_free(state) at its exit. Returns 0 on success; -1 when the platform
 * refused (then nothing is registered and the caller still owns `state`). */
PCNN_INTERNAL int pcnn_thread_state_set(void *state);

/* Implemented by the state's owner (scratch.c): releases everything `state` holds. */
PCNN_INTERNAL void pcnn_thread_state_free(void *state);

#endif /* PCNN_THREAD_EXIT_H */
