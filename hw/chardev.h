/* Character back ends for serial-like devices: stdio, a file, or nothing.
 *
 * Output is written synchronously (the guest waits on THR anyway).  Input
 * (stdio only) is read by the GLib main loop and handed to the receive
 * callback; a terminal is put in raw mode and restored at exit. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Chardev Chardev;
typedef void (*ChardevReceiveFn)(void *opaque, const uint8_t *buf, size_t len);

/* spec: "stdio", "file:PATH", or "none". */
Chardev *chardev_new(const char *spec, GError **errp);
void chardev_free(Chardev *chr);
void chardev_write(Chardev *chr, const uint8_t *buf, size_t len);
/* Start delivering input (stdio only) on the default main context. */
void chardev_set_receiver(Chardev *chr, ChardevReceiveFn fn, void *opaque);
