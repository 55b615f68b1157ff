/*
 * Thread-exit hook (see thread_exit.h). POSIX implementation: one pthread key created on
 * first use; its destructor runs on the exiting thread for a non-NULL value (glibc, musl and
 * macOS run key destructors for threads made by pthread_create, which includes every JVM
 * thread). The process's main thread exiting through exit() runs no destructors; the process
 * is ending then.
 */
#include <pthread.h>

#include "core/thread_exit.h"

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok; /* 1 while the key exists; __atomic builtins (the unload hook clears it) */

static void on_exit_cb(void *state) {
    if (state != NULL) {
        pcnn_thread_state_free(state);
    }
}

static void key_init(void) {
    __atomic_store_n(&key_ok, pthread_key_create(&key, on_exit_cb) == 0, __ATOMIC_RELEASE);
}

static int key_ready(void) {
    pthread_once(&key_once, key_init);
    return __atomic_load_n(&key_ok, __ATOMIC_ACQUIRE);
}

PCNN_INTERNAL void *pcnn_thread_state_get(void) {
    return key_ready() ? pthread_getspecific(key) : NULL;
}

PCNN_INTERNAL int pcnn_thread_state_set(void *state) {
    return key_ready() && pthread_setspecific(key, state) == 0 ? 0 : -1;
}

/* If the library is unloaded (dlclose; the JVM does that when the class loader that loaded it
 * is collected) while threads still hold state, their exit must not call into unmapped code:
 * delete the key (their state is then not freed). This also runs at process exit, where a
 * thread still calling a kernel then gets PCNN_STATUS_OUT_OF_MEMORY for new scratch. */
__attribute__((destructor)) static void thread_exit_unload(void) {
    if (__atomic_exchange_n(&key_ok, 0, __ATOMIC_ACQ_REL)) {
        pthread_key_delete(key);
    }
}
