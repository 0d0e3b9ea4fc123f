/* `ferry ctl`: a synchronous QMP client for the shell and for tests.
 *
 *   ferry ctl SOCKET COMMAND [ARG] [key=value...] [--raw JSON]
 *             [--wait-event NAME] [--timeout S] [--verbose]
 *   ferry ctl SOCKET --wait-event NAME [--timeout S]
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

/* argv[0] is "ctl"; returns the exit status (0 on success, 1 on error). */
int ctl_main(int argc, char **argv);

/* The QMP command for words = {COMMAND, [ARG], key=value...}:
 *   info TOPIC                  -> human-monitor-command "info TOPIC"
 *   object-add TYPE k=v...      -> {"qom-type": TYPE, k: v...}
 *   device_add DRIVER k=v...    -> {"driver": DRIVER, k: v...}
 *   device_del ID, object-del ID -> {"id": ID}
 *   COMMAND k=v...              -> {k: v...}
 * `raw` (a JSON object, or NULL) replaces the key=value arguments. */
bool ctl_build_command(char **words, const char *raw, char **name, JsonObject **args,
                       GError **errp);

/* A key=value value: on/off/true/false -> boolean; decimal or 0x integers;
 * for size-like keys (*size, *addr, align, maxmem) K/M/G/T suffixes -> bytes
 * (size=1G -> 1073741824); anything else a string. */
JsonNode *ctl_parse_value(const char *key, const char *text);
