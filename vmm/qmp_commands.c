/* Machine-level QMP commands; each goes through machine.h's small
 * interface rather than the Machine's insides. */
#include "vmm/qmp_commands.h"

static bool qmp_no_args(JsonObject *args, GError **errp)
{
    static const char *const none[] = { NULL };

    return qmp_args_check(args, none, errp);
}

/* {"status": "running"|"paused"|"shutdown", "running": bool} */
static JsonNode *qmp_query_status(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    static const char *const names[] = {
        [MACHINE_RUNNING] = "running",
        [MACHINE_PAUSED] = "paused",
        [MACHINE_SHUTDOWN] = "shutdown",
        [MACHINE_INMIGRATE] = "inmigrate",
        [MACHINE_POSTMIGRATE] = "postmigrate",
    };
    MachineRunState state = machine_run_state(opaque);
    JsonObject *ret;

    if (!qmp_no_args(args, errp))
        return NULL;
    ret = json_object_new();
    json_object_set_string_member(ret, "status", names[state]);
    json_object_set_boolean_member(ret, "running", state == MACHINE_RUNNING);
    return qmp_return_object(ret);
}

/* As in QEMU, stopping a stopped machine (or continuing a running one)
 * succeeds quietly, without an event. */
static JsonNode *qmp_stop(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    if (!qmp_no_args(args, errp))
        return NULL;
    machine_pause(opaque);
    return qmp_return_empty();
}

static JsonNode *qmp_cont(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    if (!qmp_no_args(args, errp))
        return NULL;
    machine_resume(opaque);
    return qmp_return_empty();
}

/* The reply goes out before the run ends: the exit request is handled on a
 * later turn of the main loop, and the server flushes replies on free. */
static JsonNode *qmp_quit(QmpServer *s, JsonObject *args, void *opaque, GError **errp)
{
    if (!qmp_no_args(args, errp))
        return NULL;
    machine_quit(opaque);
    return qmp_return_empty();
}

static JsonNode *qmp_system_powerdown(QmpServer *s, JsonObject *args, void *opaque,
                                      GError **errp)
{
    if (!qmp_no_args(args, errp))
        return NULL;
    machine_press_power_button(opaque);
    return qmp_return_empty();
}

/* Only the read-only "info" topics the command line's --info has. */
static JsonNode *qmp_human_monitor_command(QmpServer *s, JsonObject *args, void *opaque,
                                           GError **errp)
{
    static const char *const known[] = { "command-line", "cpu-index", NULL };
    const char *command_line = NULL;
    int64_t cpu_index = 0;
    g_auto(GStrv) words = NULL;
    int nwords = 0;
    g_autoptr(GString) out = NULL;

    if (!qmp_args_check(args, known, errp) ||
        !qmp_arg_string(args, "command-line", true, &command_line, errp) ||
        !qmp_arg_int(args, "cpu-index", false, &cpu_index, errp))
        return NULL;
    if (!g_shell_parse_argv(command_line, &nwords, &words, NULL) || nwords != 2 ||
        !g_str_equal(words[0], "info")) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "human-monitor-command '%s': ferry only knows 'info mtree', "
                    "'info ramblock', 'info memslots' and 'info memory-devices'", command_line);
        return NULL;
    }
    out = g_string_new(NULL);
    if (!machine_info(opaque, words[1], out)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "info %s: unknown topic (use mtree, ramblock, memslots or memory-devices)",
                    words[1]);
        return NULL;
    }
    return qmp_return_string(out->str);
}

void qmp_commands_register_machine(QmpServer *s, Machine *machine)
{
    qmp_server_register(s, "query-status", qmp_query_status, machine);
    qmp_server_register(s, "stop", qmp_stop, machine);
    qmp_server_register(s, "cont", qmp_cont, machine);
    qmp_server_register(s, "quit", qmp_quit, machine);
    qmp_server_register(s, "system_powerdown", qmp_system_powerdown, machine);
    qmp_server_register(s, "human-monitor-command", qmp_human_monitor_command, machine);
}
