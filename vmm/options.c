#include "vmm/options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1ull << 20)
/* The smallest guest: real-mode area, boot info, and a kernel at 1 MiB. */
#define RAM_MIN (2 * MiB)
#define RAM_DEFAULT (256 * MiB)
/* The ACPI memory-hotplug register block addresses at most 256 slots. */
#define MEMORY_SLOTS_MAX 256
/* xAPIC IDs are 8 bits and 0xff is broadcast. */
#define CPUS_MAX 255

const char ferry_exit_status_help[] =
    "Exit status:\n"
    "  0       the guest powered off, or reset the machine with --on-reset exit,\n"
    "          or a control-socket client sent quit\n"
    "  1       bad usage or input, the host could not run the VM, or ferry was\n"
    "          stopped (SIGINT, SIGTERM, Ctrl-A x on the serial console)\n"
    "  2       the guest crashed (triple fault, emulation failure, KVM internal\n"
    "          error); a register dump goes to stderr\n"
    "  2*v+1   --test-exit: the guest wrote v to port 0xf4 (QEMU isa-debug-exit)\n";

bool parse_size(const char *text, uint64_t *bytes)
{
    char *end;
    double value, unit = MiB;

    if (!text || !g_ascii_isdigit(text[0]))
        return false;
    errno = 0;
    value = g_ascii_strtod(text, &end);
    if (errno || end == text)
        return false;
    switch (g_ascii_toupper(*end)) {
    case '\0': break;
    case 'B': unit = 1; break;
    case 'K': unit = 1ull << 10; break;
    case 'M': unit = 1ull << 20; break;
    case 'G': unit = 1ull << 30; break;
    case 'T': unit = 1ull << 40; break;
    case 'P': unit = 1ull << 50; break;
    case 'E': unit = 1ull << 60; break;
    default: return false;
    }
    if (*end && end[1] && !(g_ascii_toupper(end[1]) == 'B' && !end[2]) &&
        !(g_ascii_strcasecmp(end + 1, "iB") == 0))
        return false;
    value *= unit;
    if (!isfinite(value) || value >= 18446744073709551616.0 || value != floor(value))
        return false;
    *bytes = (uint64_t)value;
    return true;
}

static char *size_str(uint64_t bytes)
{
    return g_format_size_full(bytes, G_FORMAT_SIZE_IEC_UNITS);
}

/* A RAM size: the boot RAM or maxmem.  `what` prefixes it in errors. */
static bool check_ram_size(const char *what, const char *text, uint64_t *bytes, GError **errp)
{
    uint64_t max = machine_max_ram();

    if (!parse_size(text, bytes)) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s%s: not a size (try 512M or 2G)", what, text);
        return false;
    }
    if (*bytes < RAM_MIN) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s%s: a guest needs at least 2 MiB", what, text);
        return false;
    }
    if (*bytes > max) {
        g_autofree char *max_str = size_str(max);

        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s%s: more than this CPU can address (at most %s)", what, text, max_str);
        return false;
    }
    if (*bytes % 4096) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s%s: not a multiple of 4 KiB", what, text);
        return false;
    }
    return true;
}

/* SIZE[,slots=N,maxmem=SIZE]: boot RAM, and room for hot-plugged DIMMs. */
static bool check_memory(const char *spec, MachineConfig *mc, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
    bool has_slots = false, has_maxmem = false;

    if (!check_ram_size("--memory ", parts[0], &mc->ram_size, errp))
        return false;
    for (char **p = parts + 1; *p; p++) {
        guint64 n;

        if (g_str_has_prefix(*p, "slots=")) {
            if (!g_ascii_string_to_unsigned(*p + 6, 10, 0, MEMORY_SLOTS_MAX, &n, NULL)) {
                g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--memory %s: slots must be a number from 0 to %d", spec,
                            MEMORY_SLOTS_MAX);
                return false;
            }
            mc->memory_slots = n;
            has_slots = true;
        } else if (g_str_has_prefix(*p, "maxmem=")) {
            if (!check_ram_size("--memory maxmem=", *p + 7, &mc->maxmem, errp))
                return false;
            has_maxmem = true;
        } else {
            g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--memory %s: unknown part '%s' (use SIZE[,slots=N,maxmem=SIZE])", spec,
                        *p);
            return false;
        }
    }
    if (has_slots != has_maxmem || (has_slots && mc->memory_slots && mc->maxmem <= mc->ram_size)) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--memory %s: slots and maxmem go together, and maxmem must be larger than "
                    "the boot RAM", spec);
        return false;
    }
    if (!has_maxmem)
        mc->maxmem = mc->ram_size;
    return true;
}

static bool check_cpus(const char *text, unsigned *cpus, GError **errp)
{
    guint64 n;

    if (!g_ascii_string_to_unsigned(text, 10, 1, CPUS_MAX, &n, NULL)) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--cpus %s: must be a number from 1 to %d", text, CPUS_MAX);
        return false;
    }
    *cpus = n;
    return true;
}

static bool check_chardev_spec(const char *option, const char *spec, GError **errp)
{
    if (g_str_equal(spec, "stdio") || g_str_equal(spec, "none") ||
        (g_str_has_prefix(spec, "file:") && spec[5]))
        return true;
    g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s %s: use stdio, file:PATH or none", option, spec);
    return false;
}

static bool check_on_reset(const char *text, OnReset *on_reset, GError **errp)
{
    if (g_str_equal(text, "exit"))
        *on_reset = ON_RESET_EXIT;
    else if (g_str_equal(text, "reboot"))
        *on_reset = ON_RESET_REBOOT;
    else {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--on-reset %s: use exit or reboot", text);
        return false;
    }
    return true;
}

/* machine-fdt takes a file: "machine-fdt=FILE", or "machine-fdt FILE" with
 * FILE the one argument left over after the options. */
static bool check_info(char **topics, char **leftover, RunOptions *opts, GError **errp)
{
    for (char **t = topics; t && *t; t++) {
        if (g_str_has_prefix(*t, "machine-fdt")) {
            const char *file = (*t)[11] == '=' ? *t + 12 : !(*t)[11] ? *leftover : NULL;

            if (!file || !*file) {
                g_set_error_literal(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                    "--info machine-fdt needs a file: --info machine-fdt FILE");
                return false;
            }
            if (file == *leftover)
                *leftover = NULL;
            opts->machine_fdt_path = g_strdup(file);
        } else if (!g_str_equal(*t, "mtree") && !g_str_equal(*t, "ramblock") &&
                   !g_str_equal(*t, "memslots")) {
            g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--info %s: use mtree, ramblock, memslots or machine-fdt FILE", *t);
            return false;
        }
    }
    return true;
}

/* --info takes a comma-separated list and may be repeated. */
static char **split_info(char **given)
{
    GPtrArray *topics = g_ptr_array_new();

    for (char **g = given; g && *g; g++) {
        g_auto(GStrv) parts = g_strsplit(*g, ",", -1);

        for (char **p = parts; *p; p++)
            if (**p)
                g_ptr_array_add(topics, g_strdup(*p));
    }
    g_ptr_array_add(topics, NULL);
    return (char **)g_ptr_array_free(topics, FALSE);
}

bool run_options_parse(int argc, char **argv, RunOptions *opts, GError **errp)
{
    g_autofree char *kernel = NULL, *initrd = NULL, *cmdline = NULL, *boot = NULL;
    g_autofree char *firmware = NULL, *dump_acpi = NULL, *dirty_tracking = NULL;
    g_autofree char *incoming = NULL;
    gboolean paused = FALSE;
    g_autofree char *cpus = NULL, *memory = NULL, *serial = NULL, *debugcon = NULL;
    g_autofree char *on_reset = NULL, *api_socket = NULL;
    g_auto(GStrv) info = NULL;
    gboolean test_exit = FALSE, trace_unassigned = FALSE;
    GOptionEntry entries[] = {
        { "kernel", 0, 0, G_OPTION_ARG_FILENAME, &kernel,
          "Kernel to boot: bzImage, PVH ELF or multiboot ELF (default: the built-in test guest)",
          "FILE" },
        { "initrd", 0, 0, G_OPTION_ARG_FILENAME, &initrd, "Initial ramdisk", "FILE" },
        { "firmware", 0, 0, G_OPTION_ARG_FILENAME, &firmware,
          "Boot firmware instead (SeaBIOS bios-256k.bin, qboot.rom); it boots --kernel "
          "through fw_cfg", "FILE" },
        { "cmdline", 0, 0, G_OPTION_ARG_STRING, &cmdline,
          "Kernel command line (built-in guest default: test=demo)", "STR" },
        { "boot", 0, 0, G_OPTION_ARG_STRING, &boot,
          "Boot protocol: linux, pvh or multiboot (default: detected from the file)", "KIND" },
        { "cpus", 0, 0, G_OPTION_ARG_STRING, &cpus, "Number of vCPUs, 1-255 (default 1)", "N" },
        { "memory", 0, 0, G_OPTION_ARG_STRING, &memory,
          "Guest RAM: 512M, 2G, ... (a bare number is MiB; default 256M); slots and maxmem "
          "make room for hot-plugged DIMMs", "SIZE[,slots=N,maxmem=SIZE]" },
        { "serial", 0, 0, G_OPTION_ARG_STRING, &serial,
          "COM1 back end: stdio, file:PATH or none (default stdio)", "SPEC" },
        { "debugcon", 0, 0, G_OPTION_ARG_STRING, &debugcon,
          "Debug console on port 0x402: stdio, file:PATH or none (default none)", "SPEC" },
        { "test-exit", 0, 0, G_OPTION_ARG_NONE, &test_exit,
          "Add the debug-exit port 0xf4: a guest write of v exits with status 2*v+1", NULL },
        { "on-reset", 0, 0, G_OPTION_ARG_STRING, &on_reset,
          "On a guest reset: exit (status 0, the default) or reboot", "exit|reboot" },
        { "info", 0, 0, G_OPTION_ARG_STRING_ARRAY, &info,
          "Print mtree, ramblock or memslots after set-up, or write the machine description "
          "(the migration stream's device tree) with machine-fdt FILE, then boot (repeatable)",
          "WHAT" },
        { "dirty-tracking", 0, 0, G_OPTION_ARG_STRING, &dirty_tracking,
          "How KVM reports pages the guest wrote, for live migration: bitmap (the default) or "
          "ring (per-vCPU dirty rings)", "bitmap|ring" },
        { "incoming", 0, 0, G_OPTION_ARG_STRING, &incoming,
          "Wait for a live migration on tcp:HOST:PORT, unix:PATH or fd:N (or defer: "
          "until QMP migrate-incoming) and run the guest it brings", "URI" },
        { "paused", 0, 0, G_OPTION_ARG_NONE, &paused,
          "With --incoming: load the guest but leave it paused (QMP cont runs it)", NULL },
        { "dump-acpi", 0, 0, G_OPTION_ARG_FILENAME, &dump_acpi,
          "Write every ACPI table as DIR/<SIG>.dat, then boot", "DIR" },
        { "trace-unassigned", 0, 0, G_OPTION_ARG_NONE, &trace_unassigned,
          "Log guest accesses to unclaimed ports and addresses to stderr", NULL },
        { "api-socket", 0, 0, G_OPTION_ARG_FILENAME, &api_socket,
          "Serve QMP (JSON control commands) on this UNIX socket, mode 0600 "
          "(drive it with ferry ctl)", "PATH" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- boot a virtual machine");
    MachineConfig *mc = &opts->machine;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx, ferry_exit_status_help);
    if (!g_option_context_parse(ctx, &argc, &argv, errp))
        return false;
    char *leftover = argc == 2 ? argv[1] : NULL;

    if (argc > 2) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "unexpected argument '%s' (see ferry run --help)", argv[2]);
        return false;
    }
    *mc = (MachineConfig){
        .ram_size = RAM_DEFAULT,
        .maxmem = RAM_DEFAULT,
        .cpus = 1,
        .boot_kind = BOOT_KIND_AUTO,
        .on_reset = ON_RESET_EXIT,
        .test_exit = test_exit,
        .trace_unassigned = trace_unassigned,
    };
    if ((memory && !check_memory(memory, mc, errp)) ||
        (cpus && !check_cpus(cpus, &mc->cpus, errp)) ||
        (serial && !check_chardev_spec("--serial", serial, errp)) ||
        (debugcon && !check_chardev_spec("--debugcon", debugcon, errp)) ||
        (on_reset && !check_on_reset(on_reset, &mc->on_reset, errp)))
        return false;
    if (dirty_tracking && !dirty_tracking_parse(dirty_tracking, &mc->dirty_tracking, errp))
        return false;
    if (boot && !boot_kind_parse(boot, &mc->boot_kind)) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--boot %s: use linux, pvh or multiboot", boot);
        return false;
    }
    opts->info = split_info(info);
    if (!check_info(opts->info, &leftover, opts, errp))
        return false;
    if (leftover) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "unexpected argument '%s' (see ferry run --help)", leftover);
        return false;
    }
    if (paused && !incoming) {
        g_set_error_literal(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--paused goes with --incoming");
        return false;
    }
    mc->incoming = g_steal_pointer(&incoming);
    mc->start_paused = paused;
    mc->firmware_path = g_steal_pointer(&firmware);
    mc->dump_acpi_dir = g_steal_pointer(&dump_acpi);
    mc->api_socket = g_steal_pointer(&api_socket);
    mc->kernel_path = g_steal_pointer(&kernel);
    mc->initrd_path = g_steal_pointer(&initrd);
    mc->cmdline = g_steal_pointer(&cmdline);
    mc->serial = serial ? g_steal_pointer(&serial) : g_strdup("stdio");
    mc->debugcon = debugcon && !g_str_equal(debugcon, "none") ? g_steal_pointer(&debugcon) : NULL;
    return true;
}

void run_options_clear(RunOptions *opts)
{
    MachineConfig *mc = &opts->machine;

    g_free((char *)mc->incoming);
    g_free((char *)mc->firmware_path);
    g_free((char *)mc->dump_acpi_dir);
    g_free((char *)mc->api_socket);
    g_free((char *)mc->kernel_path);
    g_free((char *)mc->initrd_path);
    g_free((char *)mc->cmdline);
    g_free((char *)mc->serial);
    g_free((char *)mc->debugcon);
    g_strfreev(opts->info);
    g_free(opts->machine_fdt_path);
    memset(opts, 0, sizeof(*opts));
}
