// One helper thread that shares a job's chunks with the thread that asks: large products and elementwise
// kernels run on two cores. Each chunk is claimed through one atomic ticket, and the asking thread takes
// every chunk the helper has not: a helper that is asleep, slow to wake or absent (in a child of fork)
// costs the job nothing but the wake-up call. The job waits only for chunks the helper has started.
#define _GNU_SOURCE
#include "CPortable.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

// How long the helper waits for a next job before it sleeps: a training step's kernels come every few
// hundred microseconds, and a wake from sleep costs more than a chunk. Spinning on `pause` first (about a
// millisecond), then on sched_yield, which lets another thread have the core.
#define HELPER_PAUSE_ROUNDS 20000
#define HELPER_YIELD_ROUNDS 200

static struct {
    // The futex word: bumped once per job.
    _Atomic uint32_t generation;
    // (generation << 32) | index of the next chunk to take.
    _Atomic uint64_t ticket;
    // Which job the fields below describe: (generation << 1) | 1, or 0 while the asking thread writes them
    // (a sequence lock: the helper uses fields only if they were whole before and after it read them).
    _Atomic uint64_t fields;
    _Atomic(tapebook_chunk_function) function;
    _Atomic(void *) job;
    _Atomic long count, chunk, chunks;
    // Chunks finished, and the OR of their results, for the job under way.
    _Atomic long finished;
    _Atomic int result;
    _Atomic int sleeping;
} shared;

// 0: not started; 1: running; -1: could not start (every job then runs on the asking thread).
static int helper_state;

// Takes chunks of the job of `generation` until none is left; returns the OR of their results.
static int take_chunks(uint32_t generation, tapebook_chunk_function function, void *job, long count, long chunk,
                       long chunks) {
    int result = 0;
    for (;;) {
        uint64_t ticket = atomic_load_explicit(&shared.ticket, memory_order_acquire);
        if ((uint32_t)(ticket >> 32) != generation) return result;
        long index = (long)(ticket & 0xffffffffu);
        if (index >= chunks) return result;
        if (!atomic_compare_exchange_weak_explicit(&shared.ticket, &ticket, ticket + 1, memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
        long start = index * chunk;
        long end = start + chunk < count ? start + chunk : count;
        int found = function(job, start, end);
        // Published before the chunk counts as finished, so the asking thread sees it once all are.
        if (found) atomic_fetch_or_explicit(&shared.result, found, memory_order_relaxed);
        result |= found;
        atomic_fetch_add_explicit(&shared.finished, 1, memory_order_release);
    }
}

static void *helper_main(void *unused) {
    (void)unused;
    uint32_t seen = 0;
    for (;;) {
        uint32_t generation = atomic_load_explicit(&shared.generation, memory_order_acquire);
        for (int round = 0; generation == seen && round < HELPER_PAUSE_ROUNDS + HELPER_YIELD_ROUNDS; round++) {
            if (round < HELPER_PAUSE_ROUNDS) __builtin_ia32_pause(); else sched_yield();
            generation = atomic_load_explicit(&shared.generation, memory_order_acquire);
        }
        if (generation == seen) {
            atomic_store(&shared.sleeping, 1);
            if (atomic_load(&shared.generation) == seen)
                syscall(SYS_futex, &shared.generation, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
            atomic_store(&shared.sleeping, 0);
            continue;
        }
        seen = generation;
        // The fields must be this job's, whole: the asking thread may already be writing the next job's
        // (it finished this one alone), and a claim with the next job's chunk count would pass this one's
        // ticket. Fields of another job: this one is over.
        uint64_t expected = ((uint64_t)generation << 1) | 1;
        if (atomic_load_explicit(&shared.fields, memory_order_acquire) != expected) continue;
        tapebook_chunk_function function = atomic_load_explicit(&shared.function, memory_order_relaxed);
        void *job = atomic_load_explicit(&shared.job, memory_order_relaxed);
        long count = atomic_load_explicit(&shared.count, memory_order_relaxed);
        long chunk = atomic_load_explicit(&shared.chunk, memory_order_relaxed);
        long chunks = atomic_load_explicit(&shared.chunks, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&shared.fields, memory_order_relaxed) != expected) continue;
        take_chunks(generation, function, job, count, chunk, chunks);
    }
    return NULL;
}

// A child of fork has no helper: it starts its own at its first job.
static void forget_helper(void) {
    helper_state = 0;
    atomic_store(&shared.sleeping, 0);
}

static int start_helper(void) {
    static int registered;
    if (!registered) registered = pthread_atfork(NULL, NULL, forget_helper) == 0;
    pthread_t thread;
    pthread_attr_t attributes;
    if (pthread_attr_init(&attributes) != 0) return -1;
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    // The kernels need little stack; the default (8 MiB of address space) is not touched anyway.
    pthread_attr_setstacksize(&attributes, 256 << 10);
    // Signals stay with the main thread (Ctrl-C interrupts its read of a line): the helper blocks them all.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    int started = pthread_create(&thread, &attributes, helper_main, NULL);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    pthread_attr_destroy(&attributes);
    return started == 0 ? 1 : -1;
}

int tapebook_share_chunks(tapebook_chunk_function function, void *job, long count, long chunk) {
    long chunks = chunk > 0 ? (count + chunk - 1) / chunk : 0;
    if (helper_state == 0) helper_state = start_helper();
    if (helper_state < 0 || chunks < 2 || chunks > 0xffffffffL) return count > 0 ? function(job, 0, count) : 0;
    uint32_t generation = atomic_load_explicit(&shared.generation, memory_order_relaxed) + 1;
    atomic_store_explicit(&shared.fields, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&shared.function, function, memory_order_relaxed);
    atomic_store_explicit(&shared.job, job, memory_order_relaxed);
    atomic_store_explicit(&shared.count, count, memory_order_relaxed);
    atomic_store_explicit(&shared.chunk, chunk, memory_order_relaxed);
    atomic_store_explicit(&shared.chunks, chunks, memory_order_relaxed);
    atomic_store_explicit(&shared.finished, 0, memory_order_relaxed);
    atomic_store_explicit(&shared.result, 0, memory_order_relaxed);
    atomic_store_explicit(&shared.fields, ((uint64_t)generation << 1) | 1, memory_order_release);
    atomic_store_explicit(&shared.ticket, (uint64_t)generation << 32, memory_order_release);
    atomic_store(&shared.generation, generation);
    if (atomic_load(&shared.sleeping))
        syscall(SYS_futex, &shared.generation, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    int result = take_chunks(generation, function, job, count, chunk, chunks);
    // Only chunks the helper has claimed are left: it is running them. Yielding, not only spinning: the
    // helper may be waiting for this very core.
    for (int round = 0; atomic_load_explicit(&shared.finished, memory_order_acquire) < chunks; round++) {
        if (round < 1000) __builtin_ia32_pause(); else sched_yield();
    }
    return result | atomic_load_explicit(&shared.result, memory_order_relaxed);
}
