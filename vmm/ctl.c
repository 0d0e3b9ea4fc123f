/* `ferry ctl`: connect, negotiate, run one command, print what it returns;
 * optionally wait for an event.  Plain blocking I/O with poll() deadlines:
 * one request at a time needs no main loop.  ferry's server sends one JSON
 * message per line, which is what the reader relies on. */
#include "vmm/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_GREETING_TIMEOUT_S 5
#define CTL_DEFAULT_TIMEOUT_S 30

typedef struct CtlConn {
    const char *path;
    int fd;
    GString *in; /* received, not yet split into lines */
    bool verbose;
} CtlConn;

static bool ctl_is_size_key(const char *key)
{
    /* size, hugetlbsize, requested-size, addr, ... */
    return g_str_has_suffix(key, "size") || g_str_has_suffix(key, "addr") ||
           g_str_equal(key, "align") || g_str_equal(key, "maxmem");
}

/* "512K", "1G", "2TiB": a whole number and a binary unit (no unit is for
 * the integer case).  ferry run's parse_size() reads a bare number as MiB,
 * which is wrong here, and needs the machine; so ctl has its own. */
static bool ctl_parse_size(const char *text, uint64_t *bytes)
{
    static const char units[] = "KMGT";
    g_autofree char *digits = NULL;
    const char *end = text, *unit;
    guint64 value;
    unsigned shift;

    while (g_ascii_isdigit(*end))
        end++;
    if (end == text || !*end || !(unit = strchr(units, g_ascii_toupper(*end))))
        return false;
    if (end[1] && g_ascii_strcasecmp(end + 1, "B") && g_ascii_strcasecmp(end + 1, "iB"))
        return false;
    digits = g_strndup(text, end - text);
    shift = 10 * (unit - units + 1);
    if (!g_ascii_string_to_unsigned(digits, 10, 0, G_MAXINT64 >> shift, &value, NULL))
        return false;
    *bytes = value << shift;
    return true;
}

JsonNode *ctl_parse_value(const char *key, const char *text)
{
    gint64 number;
    guint64 unumber;
    uint64_t bytes;

    if (g_str_equal(text, "on") || g_str_equal(text, "true"))
        return json_node_init_boolean(json_node_alloc(), TRUE);
    if (g_str_equal(text, "off") || g_str_equal(text, "false"))
        return json_node_init_boolean(json_node_alloc(), FALSE);
    if (g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, &number, NULL))
        return json_node_init_int(json_node_alloc(), number);
    if ((g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X")) &&
        g_ascii_string_to_unsigned(text + 2, 16, 0, G_MAXINT64, &unumber, NULL))
        return json_node_init_int(json_node_alloc(), unumber);
    /* "1G" only counts as a size where a size is expected: an id may be "4K". */
    if (ctl_is_size_key(key) && ctl_parse_size(text, &bytes))
        return json_node_init_int(json_node_alloc(), bytes);
    return json_node_init_string(json_node_alloc(), text);
}

/* The --raw object's members, verbatim, on top of a head argument. */
static bool ctl_merge_raw(JsonObject *obj, const char *raw, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GList) members = NULL;
    JsonNode *root;
    JsonObject *given;

    if (!json_parser_load_from_data(parser, raw, -1, NULL) ||
        !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--raw %s: not a JSON object", raw);
        return false;
    }
    given = json_node_get_object(root);
    members = json_object_get_members(given);
    for (GList *m = members; m; m = m->next)
        json_object_set_member(obj, m->data, json_node_copy(json_object_get_member(given, m->data)));
    return true;
}

bool ctl_build_command(char **words, const char *raw, char **name, JsonObject **args,
                       GError **errp)
{
    g_autoptr(JsonObject) obj = json_object_new();
    const char *command = words[0];
    const char *head_key = NULL; /* the member a bare first argument fills */
    char **rest = words + 1;

    if (g_str_equal(command, "info")) {
        if (!words[1] || words[2] || raw) {
            g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                        "usage: ferry ctl SOCKET info mtree|ramblock|memslots");
            return false;
        }
        g_autofree char *line = g_strdup_printf("info %s", words[1]);

        json_object_set_string_member(obj, "command-line", line);
        *name = g_strdup("human-monitor-command");
        *args = g_steal_pointer(&obj);
        return true;
    }
    if (g_str_equal(command, "object-add"))
        head_key = "qom-type";
    else if (g_str_equal(command, "device_add"))
        head_key = "driver";
    else if (g_str_equal(command, "device_del") || g_str_equal(command, "object-del"))
        head_key = "id";
    else if (g_str_equal(command, "migrate") || g_str_equal(command, "migrate-incoming"))
        head_key = "uri";
    if (head_key && *rest && !strchr(*rest, '=')) {
        json_object_set_string_member(obj, head_key, *rest);
        rest++;
    }
    if (raw && *rest) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "--raw replaces key=value arguments ('%s')", *rest);
        return false;
    }
    if (raw && !ctl_merge_raw(obj, raw, errp))
        return false;
    for (; *rest; rest++) {
        const char *eq = strchr(*rest, '=');
        g_autofree char *key = NULL;

        if (!eq || eq == *rest) {
            g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                        "%s: expected key=value, got '%s'", command, *rest);
            return false;
        }
        key = g_strndup(*rest, eq - *rest);
        json_object_set_member(obj, key, ctl_parse_value(key, eq + 1));
    }
    *name = g_strdup(command);
    *args = g_steal_pointer(&obj);
    return true;
}

/* ---- the connection -------------------------------------------------- */

static bool ctl_connect(CtlConn *conn, GError **errp)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat st;
    int err;

    if (strlen(conn->path) >= sizeof(addr.sun_path)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG, "%s: path too long",
                    conn->path);
        return false;
    }
    strcpy(addr.sun_path, conn->path);
    conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (conn->fd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "socket: %s",
                    g_strerror(errno));
        return false;
    }
    if (connect(conn->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
        return true;
    err = errno;
    if (err == ENOENT)
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "%s: no such socket (start ferry run with --api-socket %s)", conn->path,
                    conn->path);
    else if (err == ECONNREFUSED && (stat(conn->path, &st) < 0 || !S_ISSOCK(st.st_mode)))
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "%s: not a socket (give the path of ferry run --api-socket)", conn->path);
    else if (err == ECONNREFUSED)
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "%s: nobody is listening (the ferry that made it has gone)", conn->path);
    else
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err), "%s: %s", conn->path,
                    g_strerror(err));
    return false;
}

static bool ctl_send(CtlConn *conn, const char *name, JsonObject *args, int64_t id,
                     GError **errp)
{
    g_autoptr(JsonObject) req = json_object_new();
    g_autoptr(JsonNode) node = NULL;
    g_autofree char *text = NULL;
    g_autofree char *line = NULL;
    size_t len, done = 0;

    json_object_set_string_member(req, "execute", name);
    if (args)
        json_object_set_object_member(req, "arguments", json_object_ref(args));
    json_object_set_int_member(req, "id", id);
    node = json_node_init_object(json_node_alloc(), req);
    text = json_to_string(node, FALSE);
    line = g_strconcat(text, "\n", NULL);
    len = strlen(line);
    while (done < len) {
        ssize_t n = send(conn->fd, line + done, len - done, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s",
                        conn->path, g_strerror(errno));
            return false;
        }
        done += n;
    }
    return true;
}

/* The next message, or NULL with errp set (timeout, closed, not JSON). */
static JsonObject *ctl_receive(CtlConn *conn, int64_t deadline_us, GError **errp)
{
    for (;;) {
        char *nl = memchr(conn->in->str, '\n', conn->in->len);
        char buf[4096];
        struct pollfd pfd = { .fd = conn->fd, .events = POLLIN };
        int64_t left_ms;
        ssize_t n;

        if (nl) {
            g_autoptr(JsonParser) parser = json_parser_new();
            size_t len = nl - conn->in->str;
            JsonNode *root;
            bool ok = json_parser_load_from_data(parser, conn->in->str, len, NULL);

            g_string_erase(conn->in, 0, len + 1);
            if (!ok || !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root)) {
                g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                            "%s: the other end does not speak QMP", conn->path);
                return NULL;
            }
            return json_object_ref(json_node_get_object(root));
        }
        left_ms = (deadline_us - g_get_monotonic_time()) / 1000;
        if (left_ms <= 0) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s: no answer in time",
                        conn->path);
            return NULL;
        }
        if (poll(&pfd, 1, MIN(left_ms, G_MAXINT)) < 0 && errno != EINTR) {
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "poll: %s",
                        g_strerror(errno));
            return NULL;
        }
        if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        n = recv(conn->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: connection closed",
                        conn->path);
            return NULL;
        }
        g_string_append_len(conn->in, buf, n);
    }
}

static void ctl_print_json(FILE *out, JsonNode *node)
{
    g_autofree char *text = json_to_string(node, TRUE);

    fprintf(out, "%s\n", text);
}

static void ctl_print_object(FILE *out, JsonObject *obj)
{
    g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), obj);

    ctl_print_json(out, node);
}

/* A string is printed as it is (info output); {} prints nothing. */
static void ctl_print_return(JsonNode *ret)
{
    if (json_node_get_value_type(ret) == G_TYPE_STRING) {
        const char *text = json_node_get_string(ret);

        fputs(text, stdout);
        if (*text && !g_str_has_suffix(text, "\n"))
            fputc('\n', stdout);
    } else if (!JSON_NODE_HOLDS_OBJECT(ret) || json_object_get_size(json_node_get_object(ret))) {
        ctl_print_json(stdout, ret);
    }
}

static bool ctl_is_event(JsonObject *msg, const char *name)
{
    return json_object_has_member(msg, "event") &&
           (!name || g_strcmp0(json_object_get_string_member(msg, "event"), name) == 0);
}

/* Sends a command and returns its reply; events that come meanwhile are
 * kept in `*event` when they are the awaited one, else skipped. */
static JsonObject *ctl_execute(CtlConn *conn, const char *name, JsonObject *args, int64_t id,
                               int64_t deadline_us, const char *wait_event, JsonObject **event,
                               GError **errp)
{
    if (!ctl_send(conn, name, args, id, errp))
        return NULL;
    for (;;) {
        g_autoptr(JsonObject) msg = ctl_receive(conn, deadline_us, errp);
        JsonNode *reply_id;

        if (!msg)
            return NULL;
        if (ctl_is_event(msg, NULL)) {
            if (wait_event && !*event && ctl_is_event(msg, wait_event))
                *event = json_object_ref(msg);
            else if (conn->verbose)
                ctl_print_object(stderr, msg);
            continue;
        }
        reply_id = json_object_get_member(msg, "id");
        if (reply_id && json_node_get_value_type(reply_id) == G_TYPE_INT64 &&
            json_node_get_int(reply_id) == id)
            return g_steal_pointer(&msg);
    }
}

/* The reply's return value, or NULL with errp set to the server's error. */
static JsonNode *ctl_reply_value(JsonObject *reply, GError **errp)
{
    JsonNode *ret = json_object_get_member(reply, "return");
    JsonNode *error = json_object_get_member(reply, "error");
    const char *desc = NULL;

    if (ret)
        return ret;
    if (error && JSON_NODE_HOLDS_OBJECT(error))
        desc = json_object_get_string_member_with_default(json_node_get_object(error), "desc",
                                                          NULL);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", desc ? desc : "malformed reply");
    return NULL;
}

static bool ctl_handshake(CtlConn *conn, GError **errp)
{
    int64_t deadline = g_get_monotonic_time() + CTL_GREETING_TIMEOUT_S * G_USEC_PER_SEC;
    g_autoptr(JsonObject) greeting = ctl_receive(conn, deadline, errp);
    g_autoptr(JsonObject) reply = NULL;
    JsonObject *no_event = NULL;

    if (!greeting || !json_object_has_member(greeting, "QMP")) {
        g_clear_error(errp);
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "%s: no QMP greeting (is it a ferry --api-socket?)", conn->path);
        return false;
    }
    reply = ctl_execute(conn, "qmp_capabilities", NULL, 0, deadline, NULL, &no_event, errp);
    return reply && ctl_reply_value(reply, errp);
}

static bool ctl_wait_event(CtlConn *conn, const char *name, int64_t deadline_us,
                           int timeout_s, GError **errp)
{
    for (;;) {
        g_autoptr(GError) err = NULL;
        g_autoptr(JsonObject) msg = ctl_receive(conn, deadline_us, &err);

        if (!msg) {
            if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
                g_set_error(errp, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                            "no %s event within %d s", name, timeout_s);
            else
                g_propagate_error(errp, g_steal_pointer(&err));
            return false;
        }
        if (ctl_is_event(msg, name)) {
            ctl_print_object(stdout, msg);
            return true;
        }
        if (conn->verbose)
            ctl_print_object(stderr, msg);
    }
}

/* migrate --progress: one line redrawn from query-migrate until the end;
 * true if the migration completed. */
static bool ctl_progress(CtlConn *conn, GError **errp)
{
    for (unsigned id = 2;; id++) {
        int64_t deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
        g_autoptr(JsonObject) event = NULL;
        g_autoptr(JsonObject) reply =
            ctl_execute(conn, "query-migrate", NULL, id, deadline, NULL, &event, errp);
        JsonNode *ret = reply ? ctl_reply_value(reply, errp) : NULL;
        JsonObject *o = ret && JSON_NODE_HOLDS_OBJECT(ret) ? json_node_get_object(ret) : NULL;
        JsonObject *ram = o && json_object_has_member(o, "ram")
                              ? json_object_get_object_member(o, "ram") : NULL;
        const char *status = o && json_object_has_member(o, "status")
                                 ? json_object_get_string_member(o, "status") : "none";
        double sent = ram ? json_object_get_int_member(ram, "transferred") : 0;
        double left = ram ? json_object_get_int_member(ram, "remaining") : 0;
        double mbps = ram ? json_object_get_double_member(ram, "mbps") : 0;
        double rate = ram ? json_object_get_int_member(ram, "dirty-pages-rate") : 0;
        double bytes_s = mbps * 1e6 / 8;

        if (!o)
            return false;
        printf("\r%-9s %5.1f%%  %8.1f MiB/s  dirty %7.0f pages/s  remaining %8.1f MiB  "
               "ETA %5.1f s ", status, sent + left > 0 ? 100.0 * sent / (sent + left) : 0,
               bytes_s / (1 << 20), rate, left / (1 << 20), bytes_s > 0 ? left / bytes_s : 0);
        if (json_object_has_member(o, "cpu-throttle-percentage")) /* auto-converge brakes */
            printf(" throttle %2" G_GINT64_FORMAT "%% ",
                   json_object_get_int_member(o, "cpu-throttle-percentage"));
        fflush(stdout);
        if (g_str_equal(status, "completed") || g_str_equal(status, "failed") ||
            g_str_equal(status, "cancelled")) {
            putchar('\n');
            if (g_str_equal(status, "completed"))
                return true;
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "migration %s: %s", status,
                        json_object_has_member(o, "error-desc")
                            ? json_object_get_string_member(o, "error-desc") : "no reason given");
            return false;
        }
        g_usleep(200 * 1000);
    }
}

static bool ctl_run(CtlConn *conn, char **words, const char *raw, const char *wait_event,
                    bool progress, int timeout_s, GError **errp)
{
    int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_s * G_USEC_PER_SEC;
    g_autofree char *name = NULL;
    g_autoptr(JsonObject) args = NULL;
    g_autoptr(JsonObject) reply = NULL;
    g_autoptr(JsonObject) event = NULL;
    JsonNode *ret;

    if (words[0] && !ctl_build_command(words, raw, &name, &args, errp))
        return false;
    if (!ctl_connect(conn, errp) || !ctl_handshake(conn, errp))
        return false;
    if (name) {
        reply = ctl_execute(conn, name, args, 1, deadline, wait_event, &event, errp);
        if (!reply || !(ret = ctl_reply_value(reply, errp)))
            return false;
        ctl_print_return(ret);
        fflush(stdout);
    }
    if (event) {
        ctl_print_object(stdout, event);
        return true;
    }
    if (progress)
        return ctl_progress(conn, errp);
    return !wait_event || ctl_wait_event(conn, wait_event, deadline, timeout_s, errp);
}

int ctl_main(int argc, char **argv)
{
    g_autofree char *raw = NULL, *wait_event = NULL;
    gint timeout_s = CTL_DEFAULT_TIMEOUT_S;
    gboolean verbose = FALSE, progress = FALSE;
    GOptionEntry entries[] = {
        { "raw", 0, 0, G_OPTION_ARG_STRING, &raw,
          "Send this JSON object as the command's arguments", "JSON" },
        { "wait-event", 0, 0, G_OPTION_ARG_STRING, &wait_event,
          "Wait for this event (after the command, if one is given) and print it", "NAME" },
        { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
          "Seconds to wait for the reply and the event (default 30)", "S" },
        { "progress", 0, 0, G_OPTION_ARG_NONE, &progress,
          "After migrate: draw a live progress line until it ends (status 1 unless it "
          "completed)", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
          "Print other events to stderr as they come", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("SOCKET [COMMAND [ARG] [key=value...]] - talk to a running ferry");
    g_autoptr(GError) err = NULL;
    CtlConn conn = { .fd = -1, .in = g_string_new(NULL) };
    bool ok;

    g_set_prgname("ferry ctl");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Commands: info mtree|ramblock|memslots|memory-devices, query-status, stop, cont, quit,\n"
             "system_powerdown, object-add TYPE k=v..., device_add DRIVER k=v...,\n"
             "device_del ID, object-del ID, query-memory-devices, query-memdev,\n"
             "query-acpi-ospm-status, migrate URI [--progress], migrate_cancel, query-migrate,\n"
             "migrate-set-parameters k=v..., or any QMP command with k=v arguments.\n"
             "Values: on/off/true/false are booleans, numbers (0x...) integers, and\n"
             "size=1G is 1073741824.  Exit status: 0 on success, 1 on an error.\n");
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("ferry ctl: %s\n", err->message);
        g_string_free(conn.in, TRUE);
        return 1;
    }
    if (argc < 2 || (argc < 3 && !wait_event) || timeout_s <= 0) {
        g_printerr("ferry ctl: usage: ferry ctl SOCKET COMMAND [ARG] [key=value...] | "
                   "ferry ctl SOCKET --wait-event NAME (see ferry ctl --help)\n");
        g_string_free(conn.in, TRUE);
        return 1;
    }
    conn.path = argv[1];
    conn.verbose = verbose;
    ok = ctl_run(&conn, argv + 2, raw, wait_event, progress, timeout_s, &err);
    if (conn.fd >= 0)
        close(conn.fd);
    g_string_free(conn.in, TRUE);
    if (!ok) {
        g_printerr("ferry ctl: %s\n", err->message);
        return 1;
    }
    return 0;
}
