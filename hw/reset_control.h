/* The PC reset control register at port 0xcf9 (PIIX/ICH "RCR"), which the
 * FADT names as the ACPI reset register: setting RST_CPU (bit 2) resets. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/region.h"

#define RESET_CONTROL_PORT 0xcf9
/* What the FADT tells the OS to write: SYS_RST | RST_CPU, a hard reset. */
#define RESET_CONTROL_VALUE 0x06

typedef struct ResetControl ResetControl;

ResetControl *reset_control_create(MemoryRegion *io);
void reset_control_reset(ResetControl *rc);
void reset_control_free(ResetControl *rc);

/* Migration section "reset-control", version 1 (1 byte): the register,
 * which holds only SYS_RST (bit 1). */
#define RESET_CONTROL_STATE_VERSION 1u
void reset_control_state_save(ResetControl *rc, GByteArray *out);
bool reset_control_state_load(ResetControl *rc, const uint8_t *data, size_t len,
                              uint32_t version, GError **errp);
