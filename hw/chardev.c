/* Character back ends: "stdio", "file:PATH", "none".
 *
 * A terminal on stdin is switched to raw mode so that the guest sees every
 * key (Ctrl-C included) and does its own echo; output processing keeps
 * OPOST|ONLCR so that a guest's "\n" still starts a new line.  The saved
 * settings are put back when the chardev is freed, at exit(), and on the
 * fatal signals nobody else handles, so a dying ferry never leaves the
 * user's shell raw.
 */
#include "hw/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "vmm/runstate.h"

#define CTRL_A 0x01

typedef enum ChardevKind {
    CHARDEV_NONE,
    CHARDEV_STDIO,
    CHARDEV_FILE,
} ChardevKind;

struct Chardev {
    ChardevKind kind;
    int out_fd; /* -1 for "none" */
    guint stdin_watch; /* GLib source id, 0 when not reading */
    bool owns_tty_mode; /* this chardev put stdin in raw mode */
    bool escape_pending; /* Ctrl-A seen on the raw terminal */
    ChardevReceiveFn receive;
    void *receive_opaque;
};

/* One terminal, one saved state: shared by every stdio chardev and by the
 * exit and signal paths, which must not allocate or lock. */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

static void tty_restore(void)
{
    if (termios_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        termios_saved = 0;
    }
}

static void tty_restore_on_signal(int sig)
{
    tty_restore();
    /* SA_RESETHAND put the default action back: die the way we would have. */
    raise(sig);
}

static void tty_install_restore_hooks(void)
{
    static const int fatal_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT,
                                         SIGSEGV, SIGBUS, SIGABRT, SIGFPE };
    static bool installed;

    if (installed)
        return;
    installed = true;
    atexit(tty_restore);
    for (size_t i = 0; i < G_N_ELEMENTS(fatal_signals); i++) {
        struct sigaction old, sa = { .sa_handler = tty_restore_on_signal,
                                     .sa_flags = SA_RESETHAND };

        /* Leave alone signals that already have a handler (the main loop's
         * SIGTERM, a sanitizer's SIGSEGV): their owners exit through atexit. */
        if (sigaction(fatal_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
            sigaction(fatal_signals[i], &sa, NULL);
    }
}

static bool tty_enter_raw_mode(void)
{
    struct termios raw;

    if (termios_saved || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
        return false;
    raw = saved_termios;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;
    tty_install_restore_hooks();
    termios_saved = 1;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
        termios_saved = 0;
        return false;
    }
    return true;
}

Chardev *chardev_new(const char *spec, GError **errp)
{
    Chardev *chr;

    if (strcmp(spec, "none") == 0) {
        chr = g_new0(Chardev, 1);
        chr->kind = CHARDEV_NONE;
        chr->out_fd = -1;
        return chr;
    }
    if (strcmp(spec, "stdio") == 0) {
        chr = g_new0(Chardev, 1);
        chr->kind = CHARDEV_STDIO;
        chr->out_fd = STDOUT_FILENO;
        chr->owns_tty_mode = tty_enter_raw_mode();
        return chr;
    }
    if (g_str_has_prefix(spec, "file:") && spec[5] != '\0') {
        const char *path = spec + 5;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0) {
            int err = errno;
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err),
                        "cannot open '%s': %s", path, g_strerror(err));
            return NULL;
        }
        chr = g_new0(Chardev, 1);
        chr->kind = CHARDEV_FILE;
        chr->out_fd = fd;
        return chr;
    }
    g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "unknown back end '%s' (use stdio, file:PATH or none)", spec);
    return NULL;
}

static void chardev_stop_input(Chardev *chr)
{
    if (chr->stdin_watch) {
        g_source_remove(chr->stdin_watch);
        chr->stdin_watch = 0;
    }
}

void chardev_free(Chardev *chr)
{
    if (!chr)
        return;
    chardev_stop_input(chr);
    if (chr->owns_tty_mode)
        tty_restore();
    if (chr->kind == CHARDEV_FILE)
        close(chr->out_fd);
    g_free(chr);
}

void chardev_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    if (chr->out_fd < 0)
        return;
    while (len > 0) {
        ssize_t n = write(chr->out_fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            /* A non-blocking stdout (shared with a parent): wait, don't drop. */
            struct pollfd pfd = { .fd = chr->out_fd, .events = POLLOUT };
            poll(&pfd, 1, -1);
            continue;
        }
        if (n <= 0)
            return; /* a closed pipe or a full disk: guest output is lost */
        buf += n;
        len -= (size_t)n;
    }
}

/* In raw mode Ctrl-C goes to the guest, so the way out is QEMU's: Ctrl-A x
 * stops ferry, Ctrl-A Ctrl-A sends one Ctrl-A.  Returns the bytes kept. */
static size_t chardev_filter_escapes(Chardev *chr, uint8_t *buf, size_t len)
{
    size_t kept = 0;

    for (size_t i = 0; i < len; i++) {
        if (!chr->escape_pending && buf[i] == CTRL_A) {
            chr->escape_pending = true;
            continue;
        }
        if (chr->escape_pending) {
            chr->escape_pending = false;
            if (buf[i] == 'x' || buf[i] == 'X') {
                g_printerr("\r\nferry: Ctrl-A x: stopping the guest\r\n");
                runstate_request_exit(FERRY_EXIT_USAGE);
                continue;
            }
            if (buf[i] != CTRL_A)
                continue;
        }
        buf[kept++] = buf[i];
    }
    return kept;
}

static gboolean chardev_stdin_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    Chardev *chr = opaque;
    uint8_t buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        /* End of input (a closed pipe): stop watching rather than spin. */
        chr->stdin_watch = 0;
        return G_SOURCE_REMOVE;
    }
    if (chr->owns_tty_mode)
        n = (ssize_t)chardev_filter_escapes(chr, buf, (size_t)n);
    if (chr->receive && n > 0)
        chr->receive(chr->receive_opaque, buf, (size_t)n);
    return G_SOURCE_CONTINUE;
}

void chardev_set_receiver(Chardev *chr, ChardevReceiveFn fn, void *opaque)
{
    chr->receive = fn;
    chr->receive_opaque = opaque;
    if (chr->kind != CHARDEV_STDIO)
        return;
    if (fn && !chr->stdin_watch)
        chr->stdin_watch = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                         chardev_stdin_ready, chr);
    else if (!fn)
        chardev_stop_input(chr);
}
