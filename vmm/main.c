/* ferry: a small virtual machine monitor on Linux KVM.
 *
 *   ferry run [OPTIONS]      boot a guest (ferry run --help)
 *   ferry ctl SOCKET CMD...  drive a running one over its --api-socket
 */
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "vmm/ctl.h"
#include "vmm/machine.h"
#include "vmm/machine_migration.h"
#include "vmm/options.h"
#include "vmm/runstate.h"

static const char usage[] =
    "Usage: ferry COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  run        boot a virtual machine (ferry run --help)\n"
    "  ctl        send a command to a running one (ferry ctl --help)\n"
    "  help       show this text\n"
    "  version    show the version\n"
    "\n";

static bool print_info(Machine *machine, const RunOptions *opts, GError **errp)
{
    for (char **t = opts->info; t && *t; t++) {
        g_autoptr(GString) out = g_string_new(NULL);

        if (machine_info(machine, *t, out))
            fputs(out->str, stdout);
    }
    fflush(stdout);
    return !opts->machine_fdt_path ||
           machine_write_machine_fdt(machine, opts->machine_fdt_path, errp);
}

static int cmd_run(int argc, char **argv)
{
    RunOptions opts = { 0 };
    g_autoptr(GError) err = NULL;
    Machine *machine;
    int status;

    g_set_prgname("ferry run");
    if (!run_options_parse(argc, argv, &opts, &err)) {
        g_printerr("ferry: %s\n", err->message);
        return FERRY_EXIT_USAGE;
    }
    machine = machine_new(&opts.machine, &err);
    if (!machine) {
        g_printerr("ferry: %s\n", err->message);
        run_options_clear(&opts);
        return FERRY_EXIT_USAGE;
    }
    if (!print_info(machine, &opts, &err)) {
        g_printerr("ferry: --info machine-fdt: %s\n", err->message);
        machine_free(machine);
        run_options_clear(&opts);
        return FERRY_EXIT_USAGE;
    }
    status = machine_run(machine);
    machine_free(machine);
    run_options_clear(&opts);
    return status;
}

int main(int argc, char **argv)
{
    /* A closed stdout (a pipe whose reader left) must not kill the VMM. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fputs(usage, stderr);
        fputs(ferry_exit_status_help, stderr);
        return FERRY_EXIT_USAGE;
    }
    if (g_str_equal(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (g_str_equal(argv[1], "ctl"))
        return ctl_main(argc - 1, argv + 1);
    if (g_str_equal(argv[1], "help") || g_str_equal(argv[1], "--help") ||
        g_str_equal(argv[1], "-h")) {
        fputs(usage, stdout);
        fputs(ferry_exit_status_help, stdout);
        return 0;
    }
    if (g_str_equal(argv[1], "version") || g_str_equal(argv[1], "--version")) {
        printf("ferry %s\n", FERRY_VERSION);
        return 0;
    }
    g_printerr("ferry: unknown command '%s' (try ferry help)\n", argv[1]);
    return FERRY_EXIT_USAGE;
}
