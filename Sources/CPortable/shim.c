#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include "CPortable.h"

int tapebook_format_double(char *buffer, size_t size, const char *format, double value) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    return snprintf(buffer, size, format, value);
#pragma GCC diagnostic pop
}

#include <signal.h>
#include <string.h>
#include <unistd.h>

#define CLEANUP_SLOTS 8
#define CLEANUP_PATH 4096
static char cleanup_paths[CLEANUP_SLOTS][CLEANUP_PATH];
static volatile sig_atomic_t cleanup_used[CLEANUP_SLOTS];
static volatile sig_atomic_t cleanup_child_group;

static void cleanup_handler(int signal_number) {
    for (int i = 0; i < CLEANUP_SLOTS; i++) {
        if (cleanup_used[i]) unlink(cleanup_paths[i]);
    }
    if (cleanup_child_group > 0) kill(-cleanup_child_group, SIGKILL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, NULL);
    raise(signal_number);
}

void tapebook_cleanup_install(void) {
    struct sigaction action, old;
    memset(&action, 0, sizeof action);
    action.sa_handler = cleanup_handler;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    // A SIGINT handler installed later (the REPL's, `run`'s) replaces this one: it stops the statement,
    // and the normal path removes the file.
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler == SIG_DFL) sigaction(SIGINT, &action, NULL);
}

int tapebook_cleanup_add_file(const char *path) {
    size_t length = strlen(path);
    if (length >= CLEANUP_PATH) return -1;
    for (int i = 0; i < CLEANUP_SLOTS; i++) {
        if (!cleanup_used[i]) {
            memcpy(cleanup_paths[i], path, length + 1);
            cleanup_used[i] = 1;
            return i;
        }
    }
    return -1;
}

void tapebook_cleanup_remove_file(int slot) {
    if (slot >= 0 && slot < CLEANUP_SLOTS) cleanup_used[slot] = 0;
}

void tapebook_cleanup_set_child_group(int group) { cleanup_child_group = group; }

#include <malloc.h>

size_t tapebook_heap_bytes_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

long tapebook_counter_take(long *counter) {
    return __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
}

#include <sys/prctl.h>

int tapebook_die_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGKILL);
}

int tapebook_usable_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}
