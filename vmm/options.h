/* `ferry run` command line -> MachineConfig, with every value checked. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "vmm/machine.h"

typedef struct RunOptions {
    MachineConfig machine;
    char **info; /* --info topics, in order; NULL-terminated */
    char *machine_fdt_path; /* --info machine-fdt FILE */
} RunOptions;

/* Parses argv (argv[0] is "run"); on error, a one-line message. */
bool run_options_parse(int argc, char **argv, RunOptions *opts, GError **errp);
void run_options_clear(RunOptions *opts);

/* "64M", "1G", "512" (MiB, as QEMU's -m), "1.5G": bytes; false if malformed. */
bool parse_size(const char *text, uint64_t *bytes);

/* The exit status table, shared by --help and the README. */
extern const char ferry_exit_status_help[];
