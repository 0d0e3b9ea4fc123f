/* The QMP server on a socket in a temporary directory, with the main
 * context driven by hand: greeting and negotiation, framing, request
 * checks, error classes, argument helpers, events from another thread, the
 * socket file's life; and ferry ctl's argument mapping. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/ctl.h"
#include "vmm/qmp_server.h"

typedef struct TestClient {
    int fd;
    GString *in;
} TestClient;

typedef struct Fixture {
    char *dir;
    char *path;
    QmpServer *server;
} Fixture;

/* ---- commands the tests register ------------------------------------- */

static JsonNode *cmd_echo(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    return json_node_init_object(json_node_alloc(), args);
}

static JsonNode *cmd_fail_device(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device 'dimm9' not found");
    return NULL;
}

static JsonNode *cmd_typed(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    static const char *const known[] = { "id", "n", "size", "flag", NULL };
    const char *id = NULL;
    int64_t n = 0;
    uint64_t size = 0;
    bool flag = false;
    JsonObject *ret;

    if (!qmp_args_check(args, known, errp) || !qmp_arg_string(args, "id", true, &id, errp) ||
        !qmp_arg_int(args, "n", false, &n, errp) ||
        !qmp_arg_size(args, "size", false, &size, errp) ||
        !qmp_arg_bool(args, "flag", false, &flag, errp))
        return NULL;
    ret = json_object_new();
    json_object_set_string_member(ret, "id", id);
    json_object_set_int_member(ret, "n", n);
    json_object_set_int_member(ret, "size", size);
    json_object_set_boolean_member(ret, "flag", flag);
    return qmp_return_object(ret);
}

static gpointer emit_thread(gpointer data)
{
    JsonObject *event_data = json_object_new();

    json_object_set_int_member(event_data, "n", 1);
    qmp_server_emit_event(data, "TEST_EVENT", event_data);
    return NULL;
}

/* Emits from another thread, as a vCPU would. */
static JsonNode *cmd_emit_thread(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    g_thread_join(g_thread_new("emitter", emit_thread, s));
    return qmp_return_empty();
}

/* Emits while the command runs: the reply must still come first. */
static JsonNode *cmd_emit_now(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    qmp_server_emit_event(s, "NOW", NULL);
    return qmp_return_string("done");
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    f->dir = g_dir_make_tmp("qmp-test-XXXXXX", &err);
    g_assert_no_error(err);
    f->path = g_build_filename(f->dir, "s.sock", NULL);
    f->server = qmp_server_new(f->path, &err);
    g_assert_no_error(err);
    qmp_server_register(f->server, "echo", cmd_echo, NULL);
    qmp_server_register(f->server, "fail-device", cmd_fail_device, NULL);
    qmp_server_register(f->server, "typed", cmd_typed, NULL);
    qmp_server_register(f->server, "emit-thread", cmd_emit_thread, NULL);
    qmp_server_register(f->server, "emit-now", cmd_emit_now, NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    qmp_server_free(f->server);
    g_assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS));
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

/* ---- a raw client ---------------------------------------------------- */

static void spin(void)
{
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

static TestClient *client_connect(const char *path)
{
    TestClient *c = g_new0(TestClient, 1);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(c->fd, >=, 0);
    g_assert_cmpint(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    c->in = g_string_new(NULL);
    return c;
}

static void client_close(TestClient *c)
{
    close(c->fd);
    g_string_free(c->in, TRUE);
    g_free(c);
}

static void client_write(TestClient *c, const char *text)
{
    g_assert_cmpint(send(c->fd, text, strlen(text), MSG_NOSIGNAL), ==, (ssize_t)strlen(text));
}

/* The next line from the server, running the main context meanwhile; NULL
 * if none comes within `timeout_ms`. */
static JsonObject *client_try_read(TestClient *c, int timeout_ms)
{
    int64_t deadline = g_get_monotonic_time() + timeout_ms * 1000;

    for (;;) {
        char *nl = memchr(c->in->str, '\n', c->in->len);
        char buf[4096];
        ssize_t n;

        if (nl) {
            g_autoptr(JsonParser) parser = json_parser_new();
            g_autoptr(GError) err = NULL;
            size_t len = nl - c->in->str;

            /* One message per line, as the server promises. */
            g_assert_true(json_parser_load_from_data(parser, c->in->str, len, &err));
            g_assert_no_error(err);
            g_string_erase(c->in, 0, len + 1);
            g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
            return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
        }
        spin();
        n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            g_string_append_len(c->in, buf, n);
            continue;
        }
        if (g_get_monotonic_time() > deadline)
            return NULL;
        g_usleep(1000);
    }
}

static JsonObject *client_read(TestClient *c)
{
    JsonObject *msg = client_try_read(c, 5000);

    g_assert_nonnull(msg);
    return msg;
}

static JsonObject *client_call(TestClient *c, const char *request)
{
    client_write(c, request);
    return client_read(c);
}

static void assert_error(JsonObject *reply, const char *klass, const char *desc)
{
    JsonObject *error;
    g_autofree char *prefix = g_strndup(desc, strlen(desc) - 1);

    g_assert_true(json_object_has_member(reply, "error"));
    error = json_object_get_object_member(reply, "error");
    g_assert_cmpstr(json_object_get_string_member(error, "class"), ==, klass);
    if (g_str_has_suffix(desc, "*"))
        g_assert_true(g_str_has_prefix(json_object_get_string_member(error, "desc"), prefix));
    else
        g_assert_cmpstr(json_object_get_string_member(error, "desc"), ==, desc);
}

static void call_expect_error(TestClient *c, const char *request, const char *klass,
                              const char *desc)
{
    g_autoptr(JsonObject) reply = client_call(c, request);

    assert_error(reply, klass, desc);
}

static void assert_empty_return(JsonObject *reply)
{
    g_assert_true(json_object_has_member(reply, "return"));
    g_assert_cmpuint(json_object_get_size(json_object_get_object_member(reply, "return")), ==, 0);
}

/* Connects, checks the greeting and negotiates. */
static TestClient *client_ready(Fixture *f)
{
    TestClient *c = client_connect(f->path);
    g_autoptr(JsonObject) greeting = client_read(c);
    g_autoptr(JsonObject) reply = NULL;

    g_assert_true(json_object_has_member(greeting, "QMP"));
    reply = client_call(c, "{\"execute\": \"qmp_capabilities\"}\n");
    assert_empty_return(reply);
    return c;
}

/* ---- tests ------------------------------------------------------------ */

static void test_greeting_and_negotiation(Fixture *f, gconstpointer data)
{
    TestClient *c = client_connect(f->path);
    g_autoptr(JsonObject) greeting = client_read(c);
    g_autoptr(JsonObject) reply = NULL;
    JsonObject *qmp, *version;

    qmp = json_object_get_object_member(greeting, "QMP");
    g_assert_nonnull(qmp);
    version = json_object_get_object_member(qmp, "version");
    g_assert_true(json_object_has_member(json_object_get_object_member(version, "qemu"), "major"));
    g_assert_true(g_str_has_prefix(json_object_get_string_member(version, "package"), "ferry"));
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(qmp, "capabilities")),
                     ==, 0);

    call_expect_error(c, "{\"execute\": \"echo\"}\n", "CommandNotFound",
                      "Expecting capabilities negotiation with 'qmp_capabilities'");
    call_expect_error(c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}\n",
                      "GenericError", "Capability 'oob' not available");
    reply = client_call(c, "{\"execute\": \"qmp_capabilities\", \"id\": 7}\n");
    assert_empty_return(reply);
    g_assert_cmpint(json_object_get_int_member(reply, "id"), ==, 7);
    call_expect_error(c, "{\"execute\": \"qmp_capabilities\"}\n", "CommandNotFound",
                      "Capabilities negotiation is already complete, command ignored");
    client_close(c);
}

static void test_dispatch_and_id(Fixture *f, gconstpointer data)
{
    TestClient *c = client_ready(f);
    g_autoptr(JsonObject) reply = NULL, listed = NULL;
    JsonObject *ret, *id;

    reply = client_call(c, "{\"execute\": \"echo\", \"arguments\": {\"a\": 1, \"b\": \"x\"},"
                           " \"id\": {\"seq\": 3}}\n");
    ret = json_object_get_object_member(reply, "return");
    g_assert_cmpint(json_object_get_int_member(ret, "a"), ==, 1);
    g_assert_cmpstr(json_object_get_string_member(ret, "b"), ==, "x");
    id = json_object_get_object_member(reply, "id");
    g_assert_cmpint(json_object_get_int_member(id, "seq"), ==, 3);

    call_expect_error(c, "{\"execute\": \"nope\", \"id\": \"q\"}\n", "CommandNotFound",
                      "The command nope has not been found");
    listed = client_call(c, "{\"execute\": \"query-commands\"}\n");
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(listed, "return")), ==, 7);
    client_close(c);
}

static void test_framing(Fixture *f, gconstpointer data)
{
    TestClient *c = client_ready(f);
    g_autoptr(JsonObject) r1 = NULL, r2 = NULL, r3 = NULL, r4 = NULL, r5 = NULL;

    /* Two values in one write, no newline between them. */
    client_write(c, "{\"execute\":\"echo\",\"id\":1}{\"execute\":\"echo\",\"id\":2}\n");
    r1 = client_read(c);
    r2 = client_read(c);
    g_assert_cmpint(json_object_get_int_member(r1, "id"), ==, 1);
    g_assert_cmpint(json_object_get_int_member(r2, "id"), ==, 2);

    /* One value split over writes, with the main loop running between. */
    client_write(c, "{\"execute\": \"ec");
    g_assert_null(client_try_read(c, 20));
    client_write(c, "ho\", \"id\"");
    g_assert_null(client_try_read(c, 20));
    client_write(c, ": 3}");
    r3 = client_read(c);
    g_assert_cmpint(json_object_get_int_member(r3, "id"), ==, 3);

    /* Pretty-printed across lines. */
    r4 = client_call(c, "{\n  \"execute\": \"echo\",\n  \"id\": 4\n}\n");
    g_assert_cmpint(json_object_get_int_member(r4, "id"), ==, 4);

    /* Brackets and escaped quotes inside strings do not count. */
    r5 = client_call(c, "{\"execute\": \"echo\", \"arguments\": {\"s\": \"}]{\\\"[\"}, \"id\": 5}\n");
    g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(r5, "return"), "s"),
                    ==, "}]{\"[");
    client_close(c);
}

static void test_bad_input(Fixture *f, gconstpointer data)
{
    TestClient *c = client_ready(f);
    g_autoptr(JsonObject) ok = NULL;

    call_expect_error(c, "{\"execute\": }\n", "GenericError", "JSON parse error, *");
    call_expect_error(c, "this is not json\n", "GenericError", "JSON parse error, *");
    /* An unterminated string ends at the newline instead of eating input. */
    call_expect_error(c, "{\"execute\": \"echo\n", "GenericError", "JSON parse error, *");
    call_expect_error(c, "[1, 2]\n", "GenericError", "QMP input must be a JSON object");
    call_expect_error(c, "42\n", "GenericError", "QMP input must be a JSON object");
    call_expect_error(c, "{\"arguments\": {}}\n", "GenericError",
                      "QMP input lacks member 'execute'");
    call_expect_error(c, "{\"execute\": 5}\n", "GenericError",
                      "QMP input member 'execute' must be a string");
    call_expect_error(c, "{\"execute\": \"echo\", \"arguments\": []}\n", "GenericError",
                      "QMP input member 'arguments' must be an object");
    call_expect_error(c, "{\"execute\": \"echo\", \"colour\": 1}\n", "GenericError",
                      "QMP input member 'colour' is unexpected");
    /* Still usable. */
    ok = client_call(c, "{\"execute\": \"echo\", \"id\": \"after\"}\n");
    g_assert_cmpstr(json_object_get_string_member(ok, "id"), ==, "after");
    client_close(c);
}

static void test_errors_and_arguments(Fixture *f, gconstpointer data)
{
    TestClient *c = client_ready(f);
    g_autoptr(JsonObject) reply = NULL;
    JsonObject *ret;

    call_expect_error(c, "{\"execute\": \"fail-device\", \"id\": 1}\n", "DeviceNotFound",
                      "Device 'dimm9' not found");
    call_expect_error(c, "{\"execute\": \"typed\"}\n", "GenericError", "Parameter 'id' is missing");
    call_expect_error(c, "{\"execute\": \"typed\", \"arguments\": {\"id\": 3}}\n", "GenericError",
                      "Invalid parameter type for 'id', expected: string");
    call_expect_error(c, "{\"execute\": \"typed\", \"arguments\": {\"id\": \"a\", \"size\": \"1G\"}}\n",
                      "GenericError", "Invalid parameter type for 'size', expected: size");
    call_expect_error(c, "{\"execute\": \"typed\", \"arguments\": {\"id\": \"a\", \"size\": -1}}\n",
                      "GenericError", "Invalid parameter type for 'size', expected: size");
    call_expect_error(c, "{\"execute\": \"typed\", \"arguments\": {\"id\": \"a\", \"n\": 1.5}}\n",
                      "GenericError", "Invalid parameter type for 'n', expected: integer");
    call_expect_error(c, "{\"execute\": \"typed\", \"arguments\": {\"id\": \"a\", \"flag\": 1}}\n",
                      "GenericError", "Invalid parameter type for 'flag', expected: boolean");
    call_expect_error(c, "{\"execute\": \"typed\", \"arguments\": {\"id\": \"a\", \"x\": 1}}\n",
                      "GenericError", "Parameter 'x' is unexpected");
    reply = client_call(c, "{\"execute\": \"typed\", \"arguments\": {\"id\": \"a\", \"n\": -2,"
                           " \"size\": 1073741824, \"flag\": true}}\n");
    ret = json_object_get_object_member(reply, "return");
    g_assert_cmpint(json_object_get_int_member(ret, "n"), ==, -2);
    g_assert_cmpint(json_object_get_int_member(ret, "size"), ==, 1073741824);
    g_assert_true(json_object_get_boolean_member(ret, "flag"));
    client_close(c);
}

static void test_events(Fixture *f, gconstpointer data)
{
    TestClient *a = client_ready(f);
    TestClient *b = client_ready(f);
    TestClient *fresh = client_connect(f->path);
    g_autoptr(JsonObject) greeting = client_read(fresh);
    g_autoptr(JsonObject) reply = NULL, ev_a = NULL, ev_b = NULL, now_reply = NULL, now_ev = NULL;
    g_autoptr(JsonObject) fresh_reply = NULL;
    JsonObject *stamp;

    reply = client_call(a, "{\"execute\": \"emit-thread\"}\n");
    assert_empty_return(reply);
    ev_a = client_read(a);
    ev_b = client_read(b);
    g_assert_cmpstr(json_object_get_string_member(ev_a, "event"), ==, "TEST_EVENT");
    g_assert_cmpstr(json_object_get_string_member(ev_b, "event"), ==, "TEST_EVENT");
    g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(ev_a, "data"), "n"),
                    ==, 1);
    stamp = json_object_get_object_member(ev_a, "timestamp");
    g_assert_cmpint(json_object_get_int_member(stamp, "seconds"), >, 1600000000);
    g_assert_cmpint(json_object_get_int_member(stamp, "microseconds"), <, 1000000);

    /* Not negotiated: no event; its next message is the reply. */
    fresh_reply = client_call(fresh, "{\"execute\": \"echo\"}\n");
    assert_error(fresh_reply, "CommandNotFound", "Expecting capabilities negotiation*");

    /* An event emitted by a command follows that command's reply. */
    now_reply = client_call(a, "{\"execute\": \"emit-now\"}\n");
    g_assert_cmpstr(json_object_get_string_member(now_reply, "return"), ==, "done");
    now_ev = client_read(a);
    g_assert_cmpstr(json_object_get_string_member(now_ev, "event"), ==, "NOW");
    g_assert_false(json_object_has_member(now_ev, "data"));

    g_assert_cmpuint(qmp_server_client_count(f->server), ==, 3);
    client_close(fresh);
    client_close(b);
    spin();
    g_assert_cmpuint(qmp_server_client_count(f->server), ==, 1);
    /* A vanished client does not disturb the others. */
    qmp_server_emit_event(f->server, "AFTER", NULL);
    g_autoptr(JsonObject) after = client_read(a);
    g_assert_cmpstr(json_object_get_string_member(after, "event"), ==, "AFTER");
    client_close(a);
}

static void test_socket_file(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *stale = g_build_filename(f->dir, "stale.sock", NULL);
    g_autofree char *plain = g_build_filename(f->dir, "plain", NULL);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat st;
    QmpServer *second;
    int fd;

    g_assert_cmpint(stat(f->path, &st), ==, 0);
    g_assert_true(S_ISSOCK(st.st_mode));
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);

    /* Someone listens: refused, and the file stays theirs. */
    second = qmp_server_new(f->path, &err);
    g_assert_null(second);
    g_assert_nonnull(strstr(err->message, "another process is listening"));
    g_clear_error(&err);
    g_assert_true(g_file_test(f->path, G_FILE_TEST_EXISTS));

    /* A socket file nobody listens on is replaced. */
    g_strlcpy(addr.sun_path, stale, sizeof(addr.sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    close(fd);
    second = qmp_server_new(stale, &err);
    g_assert_no_error(err);
    qmp_server_free(second);
    g_assert_false(g_file_test(stale, G_FILE_TEST_EXISTS));

    /* Not a socket: left alone. */
    g_assert_true(g_file_set_contents(plain, "x", 1, NULL));
    second = qmp_server_new(plain, &err);
    g_assert_null(second);
    g_assert_nonnull(strstr(err->message, "is not a socket"));
    g_unlink(plain);
}

/* Nesting deep enough to threaten json-glib's recursion ends the connection. */
static void test_deep_nesting(Fixture *f, gconstpointer data)
{
    TestClient *c = client_ready(f);
    TestClient *other = client_ready(f);
    g_autofree char *deep = g_strnfill(5000, '[');
    g_autoptr(JsonObject) reply = NULL;
    char byte;

    client_write(c, deep);
    for (int i = 0; i < 1000 && qmp_server_client_count(f->server) == 2; i++) {
        spin();
        g_usleep(1000);
    }
    g_assert_cmpuint(qmp_server_client_count(f->server), ==, 1);
    /* Closed (a reset, as the rest of our input was never read). */
    g_assert_cmpint(recv(c->fd, &byte, 1, 0), <=, 0);
    reply = client_call(other, "{\"execute\": \"echo\", \"id\": 1}\n");
    g_assert_true(json_object_has_member(reply, "return"));
    client_close(c);
    client_close(other);
}

/* Freeing the server (ferry exiting after quit) still delivers what was
 * queued, events included, then closes the connection. */
static void test_free_flushes(Fixture *f, gconstpointer data)
{
    TestClient *c = client_ready(f);
    g_autoptr(JsonObject) ev = NULL;
    JsonObject *event_data = json_object_new();
    char byte;

    json_object_set_string_member(event_data, "reason", "host-qmp-quit");
    qmp_server_emit_event(f->server, "SHUTDOWN", event_data);
    g_clear_pointer(&f->server, qmp_server_free);
    ev = client_read(c);
    g_assert_cmpstr(json_object_get_string_member(ev, "event"), ==, "SHUTDOWN");
    g_assert_cmpint(recv(c->fd, &byte, 1, 0), ==, 0);
    client_close(c);
}

static void assert_ctl(char **words, const char *raw, const char *name, const char *json)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *got_name = NULL, *got = NULL;
    g_autoptr(JsonObject) args = NULL;
    g_autoptr(JsonNode) node = NULL;

    g_assert_true(ctl_build_command(words, raw, &got_name, &args, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(got_name, ==, name);
    node = json_node_init_object(json_node_alloc(), args);
    got = json_to_string(node, FALSE);
    g_assert_cmpstr(got, ==, json);
}

static void test_ctl_mapping(void)
{
    char *object_add[] = { "object-add", "memory-backend-file", "id=mem1", "size=1G",
                           "hugetlbsize=2M", "mem-path=/dev/hugepages", NULL };
    char *device_add[] = { "device_add", "pc-dimm", "id=dimm1", "memdev=mem1",
                           "addr=0x100000000", "slot=2", "share=on", NULL };
    char *device_del[] = { "device_del", "dimm1", NULL };
    char *info[] = { "info", "ramblock", NULL };
    char *other[] = { "set-thing", "id=4K", "n=-3", "size=512", "on=false", NULL };
    char *raw[] = { "stop", NULL };
    char *bad[] = { "stop", "oops", NULL };
    g_autoptr(GError) err = NULL;
    g_autofree char *name = NULL;
    JsonObject *args = NULL;

    assert_ctl(object_add, NULL, "object-add",
               "{\"qom-type\":\"memory-backend-file\",\"id\":\"mem1\",\"size\":1073741824,"
               "\"hugetlbsize\":2097152,\"mem-path\":\"/dev/hugepages\"}");
    assert_ctl(device_add, NULL, "device_add",
               "{\"driver\":\"pc-dimm\",\"id\":\"dimm1\",\"memdev\":\"mem1\","
               "\"addr\":4294967296,\"slot\":2,\"share\":true}");
    assert_ctl(device_del, NULL, "device_del", "{\"id\":\"dimm1\"}");
    assert_ctl(info, NULL, "human-monitor-command", "{\"command-line\":\"info ramblock\"}");
    assert_ctl(other, NULL, "set-thing", "{\"id\":\"4K\",\"n\":-3,\"size\":512,\"on\":false}");
    assert_ctl(raw, "{\"x\": [1, {\"y\": null}]}", "stop", "{\"x\":[1,{\"y\":null}]}");
    g_assert_false(ctl_build_command(bad, NULL, &name, &args, &err));
    g_assert_nonnull(strstr(err->message, "expected key=value"));
    g_clear_error(&err);
    g_assert_false(ctl_build_command(raw, "[1]", &name, &args, &err));
    g_assert_nonnull(strstr(err->message, "not a JSON object"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/qmp/greeting-and-negotiation", test_greeting_and_negotiation);
    ADD("/qmp/dispatch-and-id", test_dispatch_and_id);
    ADD("/qmp/framing", test_framing);
    ADD("/qmp/bad-input", test_bad_input);
    ADD("/qmp/errors-and-arguments", test_errors_and_arguments);
    ADD("/qmp/events", test_events);
    ADD("/qmp/socket-file", test_socket_file);
    ADD("/qmp/deep-nesting", test_deep_nesting);
    ADD("/qmp/free-flushes", test_free_flushes);
#undef ADD
    g_test_add_func("/qmp/ctl-mapping", test_ctl_mapping);
    return g_test_run();
}
