/* QMP server on a UNIX socket; the protocol and framing are in qmp_server.h.
 *
 * Plain sockets with GLib fd sources rather than GSocketService: the socket
 * file has to be created 0600 (umask around bind) and probed for a live
 * owner before it is replaced, and both need the raw path and fd anyway. */
#include "vmm/qmp_server.h"

#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A client whose unframed input or unsent output grows past these is
 * dropped: it is either not speaking QMP or not reading its events. */
#define QMP_MAX_INPUT (8u << 20)
#define QMP_MAX_BACKLOG (16u << 20)
/* json-glib parses recursively: deeper input could exhaust the stack. */
#define QMP_MAX_DEPTH 1024
/* How long qmp_server_free() waits for slow readers to take the last replies. */
#define QMP_FLUSH_TIMEOUT_MS 1000

typedef struct QmpCommand {
    QmpCommandFn fn;
    void *opaque;
} QmpCommand;

typedef struct QmpEvent {
    char *name;
    JsonObject *data; /* NULL: no "data" member */
    int64_t timestamp_us; /* wall clock when emitted */
} QmpEvent;

typedef struct QmpClient {
    QmpServer *server;
    int fd;
    GSource *read_source;
    GSource *write_source; /* only while output waits for the socket */
    GString *in; /* received bytes not yet framed into values */
    size_t scanned; /* bytes of `in` the framer has looked at */
    size_t value_start; /* where the value being framed starts in `in` */
    unsigned depth; /* open brackets of that value */
    bool in_value, bare, in_string, escaped; /* framer state */
    GByteArray *out; /* unsent output */
    bool negotiated;
    bool dead; /* the connection failed; free at the next safe point */
} QmpClient;

struct QmpServer {
    char *path;
    int listen_fd;
    dev_t sock_dev; /* identify our socket file, so that free never */
    ino_t sock_ino; /* removes one a later ferry put there */
    GMainContext *context;
    GSource *accept_source;
    GHashTable *commands; /* name -> QmpCommand */
    GPtrArray *clients; /* QmpClient */

    GMutex event_lock; /* guards the two below: any thread emits */
    GQueue events; /* QmpEvent, oldest first */
    GSource *event_source; /* the scheduled drain, if any */
};

G_DEFINE_QUARK(ferry-qmp-error-quark, qmp_error)

static const char *qmp_error_class(const GError *err)
{
    if (err->domain == QMP_ERROR) {
        switch ((QmpErrorCode)err->code) {
        case QMP_ERROR_COMMAND_NOT_FOUND: return "CommandNotFound";
        case QMP_ERROR_DEVICE_NOT_FOUND: return "DeviceNotFound";
        case QMP_ERROR_GENERIC: break;
        }
    }
    return "GenericError";
}

/* ---- output ---------------------------------------------------------- */

static void client_free(QmpClient *c);

static gboolean client_on_writable(int fd, GIOCondition cond, gpointer data);

/* Sends what the socket takes now; the rest waits for a write source. */
static void client_flush(QmpClient *c)
{
    while (!c->dead && c->out->len) {
        ssize_t n = send(c->fd, c->out->data, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n > 0) {
            g_byte_array_remove_range(c->out, 0, n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->out->len > QMP_MAX_BACKLOG) {
                c->dead = true;
                break;
            }
            if (!c->write_source) {
                c->write_source = g_unix_fd_source_new(c->fd, G_IO_OUT);
                g_source_set_callback(c->write_source, G_SOURCE_FUNC(client_on_writable), c,
                                      NULL);
                g_source_attach(c->write_source, c->server->context);
            }
            return;
        } else {
            c->dead = true;
        }
    }
    if (c->write_source) {
        g_source_destroy(c->write_source);
        g_clear_pointer(&c->write_source, g_source_unref);
    }
}

static gboolean client_on_writable(int fd, GIOCondition cond, gpointer data)
{
    QmpClient *c = data;

    client_flush(c);
    if (c->dead)
        client_free(c);
    return G_SOURCE_CONTINUE; /* client_flush/free removed it when done */
}

/* Queues one message as a line of JSON. */
static void client_send(QmpClient *c, JsonNode *message)
{
    g_autofree char *text = json_to_string(message, FALSE);

    g_byte_array_append(c->out, (const guint8 *)text, strlen(text));
    g_byte_array_append(c->out, (const guint8 *)"\n", 1);
    client_flush(c);
}

static void client_send_object(QmpClient *c, JsonObject *message)
{
    g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), message);

    client_send(c, node);
}

static void client_reply_error(QmpClient *c, JsonNode *id, const GError *err)
{
    JsonObject *reply = json_object_new(), *error = json_object_new();

    json_object_set_string_member(error, "class", qmp_error_class(err));
    json_object_set_string_member(error, "desc", err->message);
    json_object_set_object_member(reply, "error", error);
    if (id)
        json_object_set_member(reply, "id", json_node_copy(id));
    client_send_object(c, reply);
    json_object_unref(reply);
}

static void client_reply_return(QmpClient *c, JsonNode *id, JsonNode *value)
{
    JsonObject *reply = json_object_new();

    json_object_set_member(reply, "return", value);
    if (id)
        json_object_set_member(reply, "id", json_node_copy(id));
    client_send_object(c, reply);
    json_object_unref(reply);
}

static void client_send_greeting(QmpClient *c)
{
    JsonObject *greeting = json_object_new(), *qmp = json_object_new();
    JsonObject *version = json_object_new(), *triple = json_object_new();
    g_auto(GStrv) parts = g_strsplit(FERRY_VERSION, ".", 3);
    guint nparts = g_strv_length(parts);
    static const char *const names[] = { "major", "minor", "micro" };

    /* QEMU's shape, so that QMP client libraries accept it; the package
     * string says who is answering. */
    for (guint i = 0; i < 3; i++)
        json_object_set_int_member(triple, names[i],
                                   i < nparts ? g_ascii_strtoll(parts[i], NULL, 10) : 0);
    json_object_set_object_member(version, "qemu", triple);
    json_object_set_string_member(version, "package", "ferry " FERRY_VERSION);
    json_object_set_object_member(qmp, "version", version);
    json_object_set_array_member(qmp, "capabilities", json_array_new());
    json_object_set_object_member(greeting, "QMP", qmp);
    client_send_object(c, greeting);
    json_object_unref(greeting);
}

/* ---- dispatch -------------------------------------------------------- */

static JsonNode *qmp_negotiate(QmpClient *c, JsonObject *args, GError **errp)
{
    static const char *const known[] = { "enable", NULL };
    JsonNode *enable;

    if (!qmp_args_check(args, known, errp))
        return NULL;
    /* No optional capability (such as "oob") is offered. */
    enable = json_object_get_member(args, "enable");
    if (enable && !JSON_NODE_HOLDS_ARRAY(enable)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Invalid parameter type for 'enable', expected: array");
        return NULL;
    }
    if (enable && json_array_get_length(json_node_get_array(enable))) {
        JsonNode *first = json_array_get_element(json_node_get_array(enable), 0);

        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Capability '%s' not available",
                    JSON_NODE_HOLDS_VALUE(first) && json_node_get_string(first) ?
                        json_node_get_string(first) : "?");
        return NULL;
    }
    c->negotiated = true;
    return qmp_return_empty();
}

/* The checks QEMU makes on a request before it looks at the command. */
static bool qmp_check_request(JsonObject *req, const char **name, JsonObject **args,
                              GError **errp)
{
    JsonNode *execute = json_object_get_member(req, "execute");
    JsonNode *arguments = json_object_get_member(req, "arguments");
    g_autoptr(GList) members = json_object_get_members(req);

    for (GList *m = members; m; m = m->next) {
        if (!g_str_equal(m->data, "execute") && !g_str_equal(m->data, "arguments") &&
            !g_str_equal(m->data, "id")) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "QMP input member '%s' is unexpected",
                        (const char *)m->data);
            return false;
        }
    }
    if (!execute) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "QMP input lacks member 'execute'");
        return false;
    }
    if (json_node_get_value_type(execute) != G_TYPE_STRING) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "QMP input member 'execute' must be a string");
        return false;
    }
    if (arguments && !JSON_NODE_HOLDS_OBJECT(arguments)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "QMP input member 'arguments' must be an object");
        return false;
    }
    *name = json_node_get_string(execute);
    *args = arguments ? json_node_get_object(arguments) : NULL;
    return true;
}

static JsonNode *qmp_execute(QmpClient *c, const char *name, JsonObject *args, GError **errp)
{
    QmpCommand *cmd;
    GError *err = NULL;
    JsonNode *ret;

    if (!c->negotiated && !g_str_equal(name, "qmp_capabilities")) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND,
                    "Expecting capabilities negotiation with 'qmp_capabilities'");
        return NULL;
    }
    if (g_str_equal(name, "qmp_capabilities")) {
        if (c->negotiated) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND,
                        "Capabilities negotiation is already complete, command ignored");
            return NULL;
        }
        return qmp_negotiate(c, args, errp);
    }
    cmd = g_hash_table_lookup(c->server->commands, name);
    if (!cmd) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND,
                    "The command %s has not been found", name);
        return NULL;
    }
    ret = cmd->fn(c->server, args, cmd->opaque, &err);
    if (!ret && !err) {
        g_warning("QMP command %s failed without saying why", name);
        g_set_error(&err, QMP_ERROR, QMP_ERROR_GENERIC, "%s failed", name);
    }
    if (err) {
        g_clear_pointer(&ret, json_node_unref);
        g_propagate_error(errp, err);
    }
    return ret;
}

/* json-glib says "<data>:1:13: Parse error: unexpected ..."; the client
 * sent no file, so say "line 1 column 13: unexpected ...". */
static char *qmp_parse_error_text(const char *message)
{
    unsigned line, column;
    int rest = 0;

    if (sscanf(message, "<data>:%u:%u: Parse error: %n", &line, &column, &rest) == 2 && rest)
        return g_strdup_printf("line %u column %u: %s", line, column, message + rest);
    return g_strdup(message);
}

/* One framed value from a client: parse, check, run, reply. */
static void client_handle_value(QmpClient *c, const char *text, size_t len)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonObject) empty = json_object_new();
    JsonNode *root, *id = NULL;
    JsonObject *req, *args;
    const char *name;
    JsonNode *ret;

    if (!json_parser_load_from_data(parser, text, len, &err)) {
        g_autofree char *why = qmp_parse_error_text(err->message);
        g_autoptr(GError) parse_err = g_error_new(QMP_ERROR, QMP_ERROR_GENERIC,
                                                  "JSON parse error, %s", why);
        client_reply_error(c, NULL, parse_err);
        return;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(&err, QMP_ERROR, QMP_ERROR_GENERIC, "QMP input must be a JSON object");
        client_reply_error(c, NULL, err);
        return;
    }
    req = json_node_get_object(root);
    id = json_object_get_member(req, "id");
    if (!qmp_check_request(req, &name, &args, &err)) {
        client_reply_error(c, id, err);
        return;
    }
    ret = qmp_execute(c, name, args ? args : empty, &err);
    if (ret)
        client_reply_return(c, id, ret);
    else
        client_reply_error(c, id, err);
}

/* ---- input framing --------------------------------------------------- */

/* Scans new input for complete values (see "Input framing" in the header)
 * and handles each; keeps an incomplete tail for the next read. */
static void client_frame_input(QmpClient *c)
{
    GString *in = c->in;
    size_t consumed = 0;

    for (size_t i = c->scanned; i < in->len && !c->dead; i++) {
        char ch = in->str[i];

        if (!c->in_value) {
            if (g_ascii_isspace(ch)) {
                consumed = i + 1;
                continue;
            }
            c->in_value = true;
            c->value_start = i;
            c->depth = 0;
            c->bare = ch != '{' && ch != '[';
            c->in_string = c->escaped = false;
        }
        if (c->bare) {
            /* A scalar or garbage: it runs to the end of the line. */
            if (ch != '\n')
                continue;
        } else if (c->in_string) {
            if (c->escaped)
                c->escaped = false;
            else if (ch == '\\')
                c->escaped = true;
            else if (ch == '"')
                c->in_string = false;
            /* A raw newline cannot be in a JSON string: end the value here
             * (json-glib reports it) rather than wait forever for a quote. */
            if (ch != '\n')
                continue;
        } else if (ch == '"') {
            c->in_string = true;
            continue;
        } else if (ch == '{' || ch == '[') {
            if (++c->depth > QMP_MAX_DEPTH)
                c->dead = true;
            continue;
        } else if (ch == '}' || ch == ']') {
            if (--c->depth)
                continue;
        } else {
            continue;
        }
        c->in_value = false;
        client_handle_value(c, in->str + c->value_start, i + 1 - c->value_start);
        consumed = i + 1;
    }
    if (!c->in_value && consumed < in->len)
        consumed = in->len; /* only whitespace left */
    g_string_erase(in, 0, consumed);
    c->value_start -= MIN(c->value_start, consumed);
    c->scanned = in->len;
    if (in->len > QMP_MAX_INPUT)
        c->dead = true;
}

static gboolean client_on_readable(int fd, GIOCondition cond, gpointer data)
{
    QmpClient *c = data;
    char buf[4096];
    ssize_t n;

    n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        client_free(c);
        return G_SOURCE_REMOVE;
    }
    g_string_append_len(c->in, buf, n);
    client_frame_input(c);
    if (c->dead) {
        client_free(c);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* ---- connections ----------------------------------------------------- */

static void client_free(QmpClient *c)
{
    g_ptr_array_remove_fast(c->server->clients, c);
    if (c->write_source) {
        g_source_destroy(c->write_source);
        g_source_unref(c->write_source);
    }
    g_source_destroy(c->read_source);
    g_source_unref(c->read_source);
    close(c->fd);
    g_string_free(c->in, TRUE);
    g_byte_array_unref(c->out);
    g_free(c);
}

static void server_add_client(QmpServer *s, int fd)
{
    QmpClient *c = g_new0(QmpClient, 1);

    c->server = s;
    c->fd = fd;
    c->in = g_string_new(NULL);
    c->out = g_byte_array_new();
    c->read_source = g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(c->read_source, G_SOURCE_FUNC(client_on_readable), c, NULL);
    g_source_attach(c->read_source, s->context);
    g_ptr_array_add(s->clients, c);
    client_send_greeting(c);
    if (c->dead)
        client_free(c);
}

static gboolean server_on_connection(int fd, GIOCondition cond, gpointer data)
{
    QmpServer *s = data;
    int client;

    while ((client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
        server_add_client(s, client);
    return G_SOURCE_CONTINUE;
}

/* ---- events ---------------------------------------------------------- */

static void qmp_event_free(QmpEvent *ev)
{
    if (ev->data)
        json_object_unref(ev->data);
    g_free(ev->name);
    g_free(ev);
}

static void server_broadcast(QmpServer *s, QmpEvent *ev)
{
    JsonObject *message = json_object_new(), *stamp = json_object_new();
    g_autoptr(JsonNode) node = NULL;

    json_object_set_string_member(message, "event", ev->name);
    if (ev->data)
        json_object_set_object_member(message, "data", json_object_ref(ev->data));
    json_object_set_int_member(stamp, "seconds", ev->timestamp_us / G_USEC_PER_SEC);
    json_object_set_int_member(stamp, "microseconds", ev->timestamp_us % G_USEC_PER_SEC);
    json_object_set_object_member(message, "timestamp", stamp);
    node = json_node_init_object(json_node_alloc(), message);
    json_object_unref(message);

    for (guint i = 0; i < s->clients->len; i++) {
        QmpClient *c = s->clients->pdata[i];

        if (c->negotiated)
            client_send(c, node);
    }
    /* Drop clients whose socket failed, now that the walk is over. */
    for (guint i = s->clients->len; i-- > 0;) {
        QmpClient *c = s->clients->pdata[i];

        if (c->dead)
            client_free(c);
    }
}

/* Sends every queued event, in emission order. */
static void server_drain_events(QmpServer *s)
{
    GQueue pending = G_QUEUE_INIT;
    QmpEvent *ev;

    g_mutex_lock(&s->event_lock);
    pending = s->events;
    g_queue_init(&s->events);
    if (s->event_source) {
        g_source_destroy(s->event_source);
        g_clear_pointer(&s->event_source, g_source_unref);
    }
    g_mutex_unlock(&s->event_lock);
    while ((ev = g_queue_pop_head(&pending))) {
        server_broadcast(s, ev);
        qmp_event_free(ev);
    }
}

static gboolean server_on_events(gpointer data)
{
    server_drain_events(data);
    return G_SOURCE_REMOVE;
}

void qmp_server_emit_event(QmpServer *s, const char *name, JsonObject *data)
{
    QmpEvent *ev = g_new0(QmpEvent, 1);

    ev->name = g_strdup(name);
    ev->data = data;
    ev->timestamp_us = g_get_real_time();
    g_mutex_lock(&s->event_lock);
    g_queue_push_tail(&s->events, ev);
    /* One idle source drains everything queued: the main loop sends the
     * event after whatever it is doing now (such as a command's reply). */
    if (!s->event_source) {
        s->event_source = g_idle_source_new();
        g_source_set_priority(s->event_source, G_PRIORITY_DEFAULT);
        g_source_set_callback(s->event_source, server_on_events, s, NULL);
        g_source_attach(s->event_source, s->context);
    }
    g_mutex_unlock(&s->event_lock);
}

/* ---- the socket ------------------------------------------------------ */

/* A socket file someone still accepts on must not be taken over; one whose
 * owner died (ECONNREFUSED) is replaced. */
static bool claim_socket_path(const char *path, GError **errp)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, err;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return true;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
                    g_strerror(errno));
        return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "%s exists and is not a socket (choose another path)", path);
        return false;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "socket: %s",
                    g_strerror(errno));
        return false;
    }
    err = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? errno : 0;
    close(fd);
    if (!err) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "%s: another process is listening on it (is another ferry running?)", path);
        return false;
    }
    if (err != ECONNREFUSED) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err), "%s: %s", path,
                    g_strerror(err));
        return false;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "%s: cannot remove the stale socket: %s", path, g_strerror(errno));
        return false;
    }
    return true;
}

/* Binds and listens on a temporary name beside `path`, then renames it into
 * place: whoever sees the file can connect at once (no ECONNREFUSED window
 * between bind and listen for a client or a second ferry's probe to hit).
 * A path too long for the temporary name is bound directly. */
static int listen_on(const char *path, struct stat *st, GError **errp)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    g_autofree char *tmp = g_strdup_printf("%s.%d.tmp", path, (int)getpid());
    const char *bound = strlen(tmp) < sizeof(addr.sun_path) ? tmp : path;
    int fd, err = 0;
    mode_t old_umask;

    strcpy(addr.sun_path, bound);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "socket: %s",
                    g_strerror(errno));
        return -1;
    }
    unlink(tmp); /* left over from a crashed ferry with our pid */
    /* Only the owner may drive the VM: the file is born 0600, with no
     * window in which it is wider.  (fchmod on a socket fd does not reach
     * the file bind creates.) */
    old_umask = umask(0177);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        err = errno;
    umask(old_umask);
    if (!err && (listen(fd, 16) < 0 || (bound != path && rename(bound, path) < 0) ||
                 stat(path, st) < 0))
        err = errno;
    if (err) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err), "%s: %s", path,
                    g_strerror(err));
        if (bound != path)
            unlink(bound);
        close(fd);
        return -1;
    }
    return fd;
}

static JsonNode *qmp_query_commands(QmpServer *s, JsonObject *args, void *opaque,
                                    GError **errp);

QmpServer *qmp_server_new(const char *path, GError **errp)
{
    QmpServer *s;
    struct stat st;
    int fd;

    if (!*path || strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
                    "%s: a socket path must be 1 to %zu bytes long", path,
                    sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
        return NULL;
    }
    if (!claim_socket_path(path, errp))
        return NULL;
    fd = listen_on(path, &st, errp);
    if (fd < 0)
        return NULL;

    s = g_new0(QmpServer, 1);
    s->path = g_strdup(path);
    s->listen_fd = fd;
    s->sock_dev = st.st_dev;
    s->sock_ino = st.st_ino;
    s->context = g_main_context_ref_thread_default();
    s->commands = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    s->clients = g_ptr_array_new();
    g_mutex_init(&s->event_lock);
    g_queue_init(&s->events);
    s->accept_source = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(s->accept_source, G_SOURCE_FUNC(server_on_connection), s, NULL);
    g_source_attach(s->accept_source, s->context);
    qmp_server_register(s, "query-commands", qmp_query_commands, NULL);
    return s;
}

/* Last words: blocking sends, bounded by QMP_FLUSH_TIMEOUT_MS overall. */
static void server_flush_all(QmpServer *s)
{
    int64_t deadline = g_get_monotonic_time() + QMP_FLUSH_TIMEOUT_MS * 1000;

    for (guint i = 0; i < s->clients->len; i++) {
        QmpClient *c = s->clients->pdata[i];

        while (!c->dead && c->out->len) {
            struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
            int64_t left_ms = (deadline - g_get_monotonic_time()) / 1000;

            if (left_ms <= 0 || poll(&pfd, 1, left_ms) <= 0)
                return;
            client_flush(c);
        }
    }
}

void qmp_server_free(QmpServer *s)
{
    struct stat st;

    if (!s)
        return;
    server_drain_events(s);
    server_flush_all(s);
    while (s->clients->len)
        client_free(s->clients->pdata[0]);
    g_ptr_array_unref(s->clients);
    g_source_destroy(s->accept_source);
    g_source_unref(s->accept_source);
    close(s->listen_fd);
    if (stat(s->path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
        unlink(s->path);
    g_hash_table_unref(s->commands);
    g_mutex_clear(&s->event_lock);
    g_main_context_unref(s->context);
    g_free(s->path);
    g_free(s);
}

const char *qmp_server_path(const QmpServer *s)
{
    return s->path;
}

unsigned qmp_server_client_count(const QmpServer *s)
{
    return s->clients->len;
}

static JsonNode *qmp_query_commands(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    JsonArray *list = json_array_new();
    g_autoptr(GList) names = g_hash_table_get_keys(s->commands);
    JsonObject *cap = json_object_new();

    json_object_set_string_member(cap, "name", "qmp_capabilities");
    json_array_add_object_element(list, cap);
    names = g_list_sort(names, (GCompareFunc)g_strcmp0);
    for (GList *n = names; n; n = n->next) {
        JsonObject *entry = json_object_new();

        json_object_set_string_member(entry, "name", n->data);
        json_array_add_object_element(list, entry);
    }
    return json_node_init_array(json_node_alloc(), list);
}

void qmp_server_register(QmpServer *s, const char *name, QmpCommandFn fn, void *opaque)
{
    QmpCommand *cmd = g_new(QmpCommand, 1);

    *cmd = (QmpCommand){ .fn = fn, .opaque = opaque };
    g_hash_table_replace(s->commands, g_strdup(name), cmd);
}

/* ---- return values and arguments ------------------------------------- */

JsonNode *qmp_return_empty(void)
{
    return qmp_return_object(json_object_new());
}

JsonNode *qmp_return_object(JsonObject *object)
{
    JsonNode *node = json_node_init_object(json_node_alloc(), object);

    json_object_unref(object);
    return node;
}

JsonNode *qmp_return_string(const char *text)
{
    return json_node_init_string(json_node_alloc(), text);
}

/* True with *node set, or with *node NULL for a missing optional member. */
static bool qmp_arg(JsonObject *args, const char *name, bool required, GType type,
                    const char *type_name, JsonNode **node, GError **errp)
{
    *node = args ? json_object_get_member(args, name) : NULL;
    if (!*node) {
        if (required)
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter '%s' is missing", name);
        return !required;
    }
    if (json_node_get_value_type(*node) != type) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Invalid parameter type for '%s', expected: %s", name, type_name);
        return false;
    }
    return true;
}

bool qmp_arg_string(JsonObject *args, const char *name, bool required, const char **out,
                    GError **errp)
{
    JsonNode *node;

    if (!qmp_arg(args, name, required, G_TYPE_STRING, "string", &node, errp))
        return false;
    if (node)
        *out = json_node_get_string(node);
    return true;
}

bool qmp_arg_int(JsonObject *args, const char *name, bool required, int64_t *out,
                 GError **errp)
{
    JsonNode *node;

    if (!qmp_arg(args, name, required, G_TYPE_INT64, "integer", &node, errp))
        return false;
    if (node)
        *out = json_node_get_int(node);
    return true;
}

bool qmp_arg_size(JsonObject *args, const char *name, bool required, uint64_t *out,
                  GError **errp)
{
    JsonNode *node;

    if (!qmp_arg(args, name, required, G_TYPE_INT64, "size", &node, errp))
        return false;
    if (node && json_node_get_int(node) < 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Invalid parameter type for '%s', expected: size", name);
        return false;
    }
    if (node)
        *out = json_node_get_int(node);
    return true;
}

bool qmp_arg_bool(JsonObject *args, const char *name, bool required, bool *out, GError **errp)
{
    JsonNode *node;

    if (!qmp_arg(args, name, required, G_TYPE_BOOLEAN, "boolean", &node, errp))
        return false;
    if (node)
        *out = json_node_get_boolean(node);
    return true;
}

bool qmp_args_check(JsonObject *args, const char *const *known, GError **errp)
{
    g_autoptr(GList) members = args ? json_object_get_members(args) : NULL;

    for (GList *m = members; m; m = m->next) {
        if (!g_strv_contains(known, m->data)) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter '%s' is unexpected",
                        (const char *)m->data);
            return false;
        }
    }
    return true;
}
