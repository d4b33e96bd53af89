// C shim for libedit (opened with dlopen on first use) and POSIX calls Swift cannot make directly.
//
// libedit's `el_set` and `history` are variadic, `ioctl` is variadic, and a signal
// handler may only touch `volatile sig_atomic_t`; all of that lives here behind
// plain, non-variadic functions.
#ifndef TAPEBOOK_CLIBEDIT_H
#define TAPEBOOK_CLIBEDIT_H

#include <stdio.h>
// NOTE: the libedit header, by its exact name: GNU readline is installed too and
// `<readline/readline.h>` would pull in the wrong library's declarations.
#include <editline/readline.h>

/// Opens libedit (once); 1 when it and every function used here were found, else 0. Every other
/// `tb_editline_` function needs it to have returned 1.
int tb_editline_open(void);

/// Sets the locale for character classification, names the program for `~/.editrc`
/// (`tapebook:bind ...` lines), calls `rl_initialize` (which runs `el_source`, reading
/// `$EDITRC` or `~/.editrc`) and sets the word-break characters used by Tab
/// completion. Returns `rl_initialize`'s result.
int tb_editline_initialize(const char *program_name, const char *word_break_characters);

/// `readline(prompt)`; when it returns NULL, `*interrupted` tells a signal-interrupted read
/// (EINTR: Ctrl-C) from the end of input (Ctrl-D on an empty line, EOF).
char *tb_editline_read(const char *prompt, int *interrupted);

/// `add_history(line)` and `stifle_history(entries)`.
void tb_editline_add_history(const char *line);
void tb_editline_stifle_history(int entries);

/// Installs `completion` as `rl_attempted_completion_function` with no appended
/// character after a single match.
void tb_editline_set_completion(rl_completion_func_t *completion);

/// Tells libedit not to fall back to its own file name completion; must be set from
/// inside every completion callback.
void tb_editline_mark_completion_over(void);

/// The whole line being edited and the cursor's byte offset in it.
const char *tb_editline_line_buffer(void);
int tb_editline_cursor(void);

/// Installs the SIGINT handler (no `SA_RESTART`, so a blocking read is interrupted).
/// Returns 0 on success, -1 with errno set otherwise. Safe to call more than once.
int tb_interrupt_install(void);
/// Non-zero when a SIGINT arrived since the last `tb_interrupt_clear`.
int tb_interrupt_is_requested(void);
void tb_interrupt_clear(void);
/// SIGINTs received since the last `tb_interrupt_reset_count`.
int tb_interrupt_count(void);
void tb_interrupt_reset_count(void);

/// Columns of the terminal on `fd`, or 0 when `fd` is not a terminal or reports none.
int tb_terminal_columns(int fd);

#endif
