#ifndef TAPEBOOK_CPORTABLE_H
#define TAPEBOOK_CPORTABLE_H
#include <stddef.h>

/// snprintf with one double argument: Swift cannot call the variadic C function, and going through
/// CVarArg costs two dynamic casts per argument (the first of each a search of every protocol
/// conformance in the binary).
int tapebook_format_double(char *buffer, size_t size, const char *format, double value);

/// Cleanup on SIGTERM, SIGHUP and (while its disposition is the default) SIGINT: temporary files that an
/// atomic save has not renamed yet are unlinked and a running child's process group is killed, then the
/// signal is raised again with its default action. Only async-signal-safe calls run in the handler.
void tapebook_cleanup_install(void);
/// Remembers a temporary file to unlink if a signal ends the process; returns a slot, or -1 when all
/// slots are taken (the file is then only removed by the normal path).
int tapebook_cleanup_add_file(const char *path);
void tapebook_cleanup_remove_file(int slot);
/// The process group of a running child (0: none), killed by the handler.
void tapebook_cleanup_set_child_group(int group);

/// Bytes the process heap has handed out and not taken back (mallinfo2's in-use blocks, mmapped ones too).
size_t tapebook_heap_bytes_in_use(void);

/// Adds one to a counter that several processes share (memory mapped MAP_SHARED) and returns its value
/// before the addition.
long tapebook_counter_take(long *counter);

/// Asks for SIGKILL when the parent process ends (Linux's PR_SET_PDEATHSIG; prctl is variadic, which
/// Swift cannot call). Returns 0 on success.
int tapebook_die_with_parent(void);

/// The cores this process may run on (its affinity mask; the online cores when that cannot be read).
int tapebook_usable_cores(void);

/// A kernel over elements [start, end) of a job; returns nonzero to report something found (a NaN), ORed
/// over the chunks.
typedef int (*tapebook_chunk_function)(void *job, long start, long end);

/// Runs `function` over [0, count) in chunks of `chunk` elements, shared between the calling thread and one
/// helper thread (started at the first call); returns the OR of the chunks' results once all have run.
/// The calling thread takes every chunk the helper does not, so nothing waits for a helper that is not
/// running. Not reentrant: one thread asks at a time.
int tapebook_share_chunks(tapebook_chunk_function function, void *job, long count, long chunk);

#endif
