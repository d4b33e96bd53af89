#include "CLibEdit.h"

#include <dlfcn.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

// libedit is opened on first use, not linked: a run that never edits a line (a script, a pipe, the tests)
// does not load it and the three libraries it brings (libtinfo, libbsd, libmd), which cost every such run
// about 0.4 MiB and part of a millisecond. Each function and variable below is libedit's, reached through
// a pointer of the header's own type.
#define TB_LIBEDIT_SYMBOLS(X) \
    X(readline) X(rl_initialize) X(using_history) X(add_history) X(stifle_history) \
    X(rl_readline_name) X(rl_basic_word_break_characters) X(rl_completer_word_break_characters) \
    X(rl_completer_quote_characters) X(rl_attempted_completion_function) X(rl_attempted_completion_over) \
    X(rl_completion_append_character) X(rl_line_buffer) X(rl_point)

static struct {
#define TB_FIELD(name) __typeof__(&name) name;
    TB_LIBEDIT_SYMBOLS(TB_FIELD)
#undef TB_FIELD
} libedit;

int tb_editline_open(void) {
    static int opened = -1;
    if (opened != -1) return opened;
    opened = 0;
    void *handle = NULL;
    const char *names[] = {"libedit.so.2", "libedit.so", "libedit.so.0"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0] && handle == NULL; i++) handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) return 0;
#define TB_LOOKUP(name) \
    if ((libedit.name = (__typeof__(libedit.name))dlsym(handle, #name)) == NULL) { dlclose(handle); return 0; }
    TB_LIBEDIT_SYMBOLS(TB_LOOKUP)
#undef TB_LOOKUP
    opened = 1;
    return 1;
}

int tb_editline_initialize(const char *program_name, const char *word_break_characters) {
    // NOTE: without this libedit decodes input as ASCII and drops θ, ∂ and friends.
    setlocale(LC_CTYPE, "");
    // libedit keeps these pointers; they must outlive the editor, hence strdup.
    *libedit.rl_readline_name = strdup(program_name);
    int status = libedit.rl_initialize();
    char *breaks = strdup(word_break_characters);
    *libedit.rl_basic_word_break_characters = breaks;
    *libedit.rl_completer_word_break_characters = breaks;
    *libedit.rl_completer_quote_characters = "";
    libedit.using_history();
    return status;
}

char *tb_editline_read(const char *prompt, int *interrupted) {
    errno = 0;
    char *line = libedit.readline(prompt);
    // NOTE: readline gives NULL both for EOF and for a read that SIGINT interrupted; only
    // errno tells them apart. The flag alone is not enough: libedit re-raises SIGINT from its
    // own handler while SIGINT is still blocked in this thread, so in a process with other
    // threads (BLAS) our handler may run on one of them a moment after readline returns.
    *interrupted = line == NULL && errno == EINTR;
    return line;
}

void tb_editline_add_history(const char *line) { libedit.add_history(line); }

void tb_editline_stifle_history(int entries) { libedit.stifle_history(entries); }

void tb_editline_set_completion(rl_completion_func_t *completion) {
    *libedit.rl_attempted_completion_function = completion;
    *libedit.rl_completion_append_character = '\0';
}

void tb_editline_mark_completion_over(void) { *libedit.rl_attempted_completion_over = 1; }

const char *tb_editline_line_buffer(void) { return *libedit.rl_line_buffer ? *libedit.rl_line_buffer : ""; }

int tb_editline_cursor(void) { return *libedit.rl_point; }

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
