/*
 * Thread-exit hook (see thread_exit.h): a Windows branch (FLS) and a POSIX branch (pthread key).
 */
#if defined(_WIN32)
/*
 * Windows: one fiber-local-storage index created on first use. Its callback runs on a thread
 * that exits with a non-NULL value (for every thread, the JVM's included; a thread that never
 * became a fiber has exactly one FLS slot set, so FLS behaves like thread-local storage here).
 * FLS rather than TLS because TlsAlloc has no destructor.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "core/thread_exit.h"

static INIT_ONCE key_once = INIT_ONCE_STATIC_INIT;
static DWORD key = FLS_OUT_OF_INDEXES;
static int key_ok; /* 1 while the index exists; __atomic builtins (the unload hook clears it) */

static void NTAPI on_exit_cb(PVOID state) {
    if (state != NULL) {
        pcnn_thread_state_free(state);
    }
}

static BOOL CALLBACK key_init(PINIT_ONCE once, PVOID param, PVOID *context) {
    (void)once, (void)param, (void)context;
    key = FlsAlloc(on_exit_cb);
    __atomic_store_n(&key_ok, key != FLS_OUT_OF_INDEXES, __ATOMIC_RELEASE);
    return TRUE;
}

static int key_ready(void) {
    InitOnceExecuteOnce(&key_once, key_init, NULL, NULL);
    return __atomic_load_n(&key_ok, __ATOMIC_ACQUIRE);
}

PCNN_INTERNAL void *pcnn_thread_state_get(void) {
    return key_ready() ? FlsGetValue(key) : NULL;
}

PCNN_INTERNAL int pcnn_thread_state_set(void *state) {
    return key_ready() && FlsSetValue(key, state) ? 0 : -1;
}

/* FreeLibrary (the JVM does that when the class loader that loaded the DLL is collected):
 * free the index so that no thread's exit calls into the unmapped DLL; FlsFree runs the
 * callback for the values still set, so their memory is given back too. At process exit
 * (reserved != NULL) the other threads are already gone and nothing is done. DllMain has no
 * other duty here (the pool's threads start lazily, never under the loader lock). */
BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved);
BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
    (void)instance;
    if (reason == DLL_PROCESS_DETACH && reserved == NULL &&
        __atomic_exchange_n(&key_ok, 0, __ATOMIC_ACQ_REL)) {
        FlsFree(key);
    }
    return TRUE;
}

#else
/*
 * POSIX: one pthread key created on
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

#endif /* _WIN32 */
