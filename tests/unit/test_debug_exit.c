/* isa-debug-exit (port 0xf4) and debugcon (port 0x402). */
#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "hw/debug_exit.h"
#include "hw/debugcon.h"
#include "fixture.h"
#include "vmm/runstate.h"

/* An exit request is final for the process, so each case runs in a child. */
static void debug_exit_case(const void *value, unsigned size, int status)
{
    if (g_test_subprocess()) {
        IoBus bus;
        DebugExit *d;
        uint32_t v = 0xdeadbeef;
        int got = -1;

        io_bus_init(&bus);
        d = debug_exit_create(bus.io, 0xf4);
        g_assert_cmpint(address_space_read(bus.as, 0xf4, &v, 4), ==, MEMTX_OK);
        g_assert_cmphex(v, ==, 0); /* as on QEMU: guests probe for the device */
        g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_NONE);
        g_assert_cmpint(address_space_write(bus.as, 0xf4, value, size), ==, MEMTX_OK);
        g_assert_cmpint(runstate_take_request(&got), ==, RUN_REQUEST_EXIT);
        g_assert_cmpint(got, ==, status);
        g_assert_true(runstate_exit_requested());
        debug_exit_free(d);
        io_bus_destroy(&bus);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

static void test_exit_byte(void)
{
    uint8_t v = 5;

    debug_exit_case(&v, 1, 11);
}

static void test_exit_dword(void)
{
    uint32_t v = 0x10;

    debug_exit_case(&v, 4, 0x21);
}

static void test_exit_zero_is_odd(void)
{
    uint16_t v = 0;

    debug_exit_case(&v, 2, 1); /* never 0: a guest verdict is always odd */
}

static void test_debugcon(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL, *spec = NULL, *text = NULL;
    int fd = g_file_open_tmp("ferry-debugcon-XXXXXX", &path, &err);
    uint8_t v = 0;
    Chardev *chr;
    Debugcon *d;
    IoBus bus;

    g_assert_no_error(err);
    close(fd);
    spec = g_strconcat("file:", path, NULL);
    chr = chardev_new(spec, &err);
    g_assert_no_error(err);
    io_bus_init(&bus);
    d = debugcon_create(bus.io, 0x402, chr);

    g_assert_cmpint(address_space_read(bus.as, 0x402, &v, 1), ==, MEMTX_OK);
    g_assert_cmphex(v, ==, 0xe9); /* SeaBIOS keeps its debug output only then */
    for (const char *p = "SeaBIOS\n"; *p; p++)
        g_assert_cmpint(address_space_write(bus.as, 0x402, p, 1), ==, MEMTX_OK);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "SeaBIOS\n");

    debugcon_free(d);
    io_bus_destroy(&bus);
    chardev_free(chr);
    g_unlink(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/debug-exit/byte-5-exits-11", test_exit_byte);
    g_test_add_func("/debug-exit/dword", test_exit_dword);
    g_test_add_func("/debug-exit/zero-is-odd", test_exit_zero_is_odd);
    g_test_add_func("/debugcon/readback-and-output", test_debugcon);
    return g_test_run();
}
