/* The built-in test guest (tests/guest/), linked into ferry so that
 * `ferry run` with no kernel has something to boot. */
#pragma once

#include <stddef.h>
#include <stdint.h>

extern const uint8_t embedded_guest_start[];
extern const uint8_t embedded_guest_end[];

static inline size_t embedded_guest_size(void)
{
    return (size_t)(embedded_guest_end - embedded_guest_start);
}
