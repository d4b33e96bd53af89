#include "CLibEdit.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tb_editline_initialize(const char *program_name, const char *word_break_characters) {
    // NOTE: without this libedit decodes input as ASCII and drops θ, ∂ and friends.
    setlocale(LC_CTYPE, "");
    // libedit keeps these pointers; they must outlive the editor, hence strdup.
    rl_readline_name = strdup(program_name);
    int status = rl_initialize();
    char *breaks = strdup(word_break_characters);
    rl_basic_word_break_characters = breaks;
    rl_completer_word_break_characters = breaks;
    rl_completer_quote_characters = "";
    using_history();
    return status;
}

char *tb_editline_read(const char *prompt, int *interrupted) {
    errno = 0;
    char *line = readline(prompt);
    // NOTE: readline gives NULL both for EOF and for a read that SIGINT interrupted; only
    // errno tells them apart. The flag alone is not enough: libedit re-raises SIGINT from its
    // own handler while SIGINT is still blocked in this thread, so in a process with other
    // threads (BLAS) our handler may run on one of them a moment after readline returns.
    *interrupted = line == NULL && errno == EINTR;
    return line;
}

void tb_editline_set_completion(rl_completion_func_t *completion) {
    rl_attempted_completion_function = completion;
    rl_completion_append_character = '\0';
}

void tb_editline_mark_completion_over(void) { rl_attempted_completion_over = 1; }

const char *tb_editline_line_buffer(void) { return rl_line_buffer ? rl_line_buffer : ""; }

int tb_editline_cursor(void) { return rl_point; }

static volatile sig_atomic_t interrupt_requested = 0;
static volatile sig_atomic_t interrupt_count = 0;

static void handle_sigint(int signal_number) {
    (void)signal_number;
    interrupt_requested = 1;
    interrupt_count = interrupt_count + 1;
}

int tb_interrupt_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handle_sigint;
    sigemptyset(&action.sa_mask);
    // NOTE: no SA_RESTART. libedit, while reading a line, catches SIGINT itself,
    // restores the terminal and re-raises it to this handler; the interrupted read
    // must then fail with EINTR so `readline` returns NULL instead of waiting on.
    action.sa_flags = 0;
    return sigaction(SIGINT, &action, NULL);
}

int tb_interrupt_is_requested(void) { return interrupt_requested != 0; }
void tb_interrupt_clear(void) { interrupt_requested = 0; }
int tb_interrupt_count(void) { return (int)interrupt_count; }
void tb_interrupt_reset_count(void) { interrupt_count = 0; }

int tb_terminal_columns(int fd) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
    return (int)size.ws_col;
}
