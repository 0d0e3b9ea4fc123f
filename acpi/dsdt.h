/* The DSDT of ferry's PC: processors, COM1, \_S5 and the \_GPE scope. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "acpi/acpi_build.h"
#include "acpi/linker.h"

/* Appends the DSDT to the tables blob; returns its offset. */
uint32_t acpi_build_dsdt(GByteArray *tables, Linker *linker, const AcpiConfig *config);
