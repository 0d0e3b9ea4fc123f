/* The control socket: a QMP server (QEMU Machine Protocol) on a UNIX socket.
 *
 * Session, per connection (QEMU's docs/interop/qmp-spec.rst):
 *
 *   server: {"QMP": {"version": {...}, "capabilities": []}}     greeting
 *   client: {"execute": "qmp_capabilities"}                     negotiation
 *   server: {"return": {}}
 *   client: {"execute": NAME, "arguments": {...}, "id": ANY}     a command
 *   server: {"return": VALUE, "id": ANY}
 *        or {"error": {"class": CLASS, "desc": TEXT}, "id": ANY}
 *   server: {"event": NAME, "data": {...},                      any time after
 *            "timestamp": {"seconds": S, "microseconds": US}}   negotiation
 *
 * Before negotiation every other command fails with CommandNotFound.  Replies
 * come in the order of the commands; an event emitted while a command runs
 * is sent after that command's reply.  Every message the server sends is one
 * line of JSON.
 *
 * Input framing: QMP is a stream of JSON values, not lines, so the server
 * splits its input by bracket depth (outside strings): a value ends where
 * its outermost {...} or [...] closes; anything else at depth 0 runs to the
 * end of the line.  Each piece is then parsed by json-glib.  So a pretty-
 * printed command across lines and two commands on one line both work, and a
 * malformed piece costs one GenericError, not the connection.
 *
 * Threads: everything runs on the GLib main context the server was created
 * on, except qmp_server_emit_event(), which any thread may call.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct QmpServer QmpServer;

/* GError domain for command failures; the code picks the QMP error class. */
#define QMP_ERROR (qmp_error_quark())
GQuark qmp_error_quark(void);

typedef enum QmpErrorCode {
    QMP_ERROR_GENERIC, /* "GenericError"; also any error of another domain */
    QMP_ERROR_COMMAND_NOT_FOUND, /* "CommandNotFound" */
    QMP_ERROR_DEVICE_NOT_FOUND, /* "DeviceNotFound" */
} QmpErrorCode;

/* A command: returns its "return" value (a new node, owned by the caller),
 * or NULL with errp set.  `args` is never NULL: an absent "arguments" is an
 * empty object.  Runs on the main loop; it may block briefly (pausing vCPUs),
 * never on the guest. */
typedef JsonNode *(*QmpCommandFn)(QmpServer *s, JsonObject *args, void *opaque, GError **errp);

/* Listens on `path` (mode 0600).  A stale socket file (nobody listening) is
 * replaced; a live one, or a path that is not a socket, is an error. */
QmpServer *qmp_server_new(const char *path, GError **errp);
/* Sends queued events and replies (waiting up to a second for slow
 * readers), closes every connection and removes the socket file. */
void qmp_server_free(QmpServer *s);
const char *qmp_server_path(const QmpServer *s);

/* Adds (or replaces) a command.  Main thread only, any time. */
void qmp_server_register(QmpServer *s, const char *name, QmpCommandFn fn, void *opaque);

/* Broadcasts an event to every negotiated client.  `data` (may be NULL) is
 * taken over.  Safe from any thread: the event is stamped now and sent from
 * the main loop, in the order of the calls.  The caller must not emit after
 * qmp_server_free() (stop vCPU threads first). */
void qmp_server_emit_event(QmpServer *s, const char *name, JsonObject *data);

/* Number of connected clients, for tests. */
unsigned qmp_server_client_count(const QmpServer *s);

/* Return values for commands. */
JsonNode *qmp_return_empty(void); /* {} */
JsonNode *qmp_return_object(JsonObject *object); /* takes `object` over */
JsonNode *qmp_return_string(const char *text);

/* Argument helpers.  A member of the wrong type is an error
 * ("Invalid parameter type for 'size', expected: integer"); so is a missing
 * member when `required` ("Parameter 'size' is missing").  A missing optional
 * member leaves *out as it was and returns true. */
bool qmp_arg_string(JsonObject *args, const char *name, bool required, const char **out,
                    GError **errp);
bool qmp_arg_int(JsonObject *args, const char *name, bool required, int64_t *out,
                 GError **errp);
/* A non-negative integer (QMP's "size"), up to 2^63 - 1 (json-glib's range). */
bool qmp_arg_size(JsonObject *args, const char *name, bool required, uint64_t *out,
                  GError **errp);
bool qmp_arg_bool(JsonObject *args, const char *name, bool required, bool *out, GError **errp);
/* Refuses members not in `known` (NULL-terminated): "Parameter 'x' is
 * unexpected". */
bool qmp_args_check(JsonObject *args, const char *const *known, GError **errp);
