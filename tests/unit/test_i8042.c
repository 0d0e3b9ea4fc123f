/* i8042 keyboard controller: status, command byte, self test, reset line. */
#include <glib.h>

#include "hw/i8042.h"
#include "fixture.h"
#include "vmm/runstate.h"

#define DATA 0x60
#define CMD 0x64
#define STATUS 0x64

#define STATUS_OBF 0x01
#define STATUS_IBF 0x02
#define STATUS_SYS 0x04
#define STATUS_AUX_OBF 0x20

typedef struct Fixture {
    IoBus bus;
    I8042 *kbc;
} Fixture;

static uint8_t inb(Fixture *f, uint16_t port)
{
    uint8_t v = 0;

    address_space_read(f->bus.as, port, &v, 1);
    return v;
}

static void outb(Fixture *f, uint16_t port, uint8_t v)
{
    address_space_write(f->bus.as, port, &v, 1);
}

/* As Linux does: wait for an empty input buffer, send, poll for the reply. */
static uint8_t command_with_reply(Fixture *f, uint8_t cmd)
{
    g_assert_false(inb(f, STATUS) & STATUS_IBF);
    outb(f, CMD, cmd);
    g_assert_true(inb(f, STATUS) & STATUS_OBF);
    return inb(f, DATA);
}

static void setup(Fixture *f, gconstpointer data)
{
    io_bus_init(&f->bus);
    f->kbc = i8042_create(f->bus.io);
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_NONE);
}

static void teardown(Fixture *f, gconstpointer data)
{
    i8042_free(f->kbc);
    io_bus_destroy(&f->bus);
}

static void test_status_idle(Fixture *f, gconstpointer data)
{
    uint8_t status = inb(f, STATUS);

    /* Linux's i8042_flush must find nothing to drain. */
    g_assert_cmphex(status & (STATUS_OBF | STATUS_IBF | STATUS_AUX_OBF), ==, 0);
    g_assert_true(status & STATUS_SYS);
    /* 0x61 is the in-kernel PIT's: not claimed here. */
    g_assert_cmphex(inb(f, 0x61), ==, 0xff);
}

static void test_self_test(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(command_with_reply(f, 0xaa), ==, 0x55);
    g_assert_false(inb(f, STATUS) & STATUS_OBF);
    g_assert_cmphex(command_with_reply(f, 0xab), ==, 0x00); /* keyboard interface */
    g_assert_cmphex(command_with_reply(f, 0xa9), ==, 0x00); /* aux interface */
}

static void test_command_byte(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(command_with_reply(f, 0x20), ==, 0x45);
    outb(f, CMD, 0x60);
    outb(f, DATA, 0x65);
    g_assert_cmphex(command_with_reply(f, 0x20), ==, 0x65);

    outb(f, CMD, 0xad); /* disable keyboard */
    g_assert_cmphex(command_with_reply(f, 0x20) & 0x10, ==, 0x10);
    outb(f, CMD, 0xae);
    g_assert_cmphex(command_with_reply(f, 0x20) & 0x10, ==, 0x00);
    outb(f, CMD, 0xa7); /* disable aux */
    g_assert_cmphex(command_with_reply(f, 0x20) & 0x20, ==, 0x20);
    outb(f, CMD, 0xa8);
    g_assert_cmphex(command_with_reply(f, 0x20) & 0x20, ==, 0x00);

    /* The system flag in the status follows the command byte. */
    outb(f, CMD, 0x60);
    outb(f, DATA, 0x00);
    g_assert_false(inb(f, STATUS) & STATUS_SYS);
    i8042_reset(f->kbc);
    g_assert_cmphex(command_with_reply(f, 0x20), ==, 0x45);
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_NONE);
}

static void test_output_buffer_echo(Fixture *f, gconstpointer data)
{
    outb(f, CMD, 0xd3); /* as if from the mouse */
    outb(f, DATA, 0x5a);
    g_assert_cmphex(inb(f, STATUS) & (STATUS_OBF | STATUS_AUX_OBF), ==,
                    STATUS_OBF | STATUS_AUX_OBF);
    g_assert_cmphex(inb(f, DATA), ==, 0x5a);
    g_assert_cmphex(inb(f, STATUS) & (STATUS_OBF | STATUS_AUX_OBF), ==, 0);
    outb(f, CMD, 0xd2); /* as if from the keyboard */
    outb(f, DATA, 0xa5);
    g_assert_cmphex(inb(f, STATUS) & (STATUS_OBF | STATUS_AUX_OBF), ==, STATUS_OBF);
    g_assert_cmphex(inb(f, DATA), ==, 0xa5);
    /* A byte for the (absent) keyboard goes nowhere. */
    outb(f, DATA, 0xf2);
    g_assert_false(inb(f, STATUS) & STATUS_OBF);
}

static void test_pulse_reset(Fixture *f, gconstpointer data)
{
    outb(f, CMD, 0xff); /* pulses nothing */
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_NONE);
    outb(f, CMD, 0xfe);
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_RESET);
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_NONE);
}

static void test_output_port_reset(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(command_with_reply(f, 0xd0) & 0x03, ==, 0x03); /* not in reset, A20 */
    outb(f, CMD, 0xd1);
    outb(f, DATA, 0x03); /* A20 on, reset line high: nothing happens */
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_NONE);
    outb(f, CMD, 0xd1);
    outb(f, DATA, 0x02); /* bit 0 low: reset */
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_RESET);
    g_assert_cmphex(command_with_reply(f, 0xd0) & 0x01, ==, 0x01);
}

#define I8042_TEST(name, fn) g_test_add("/i8042/" name, Fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    I8042_TEST("status-idle", test_status_idle);
    I8042_TEST("self-test", test_self_test);
    I8042_TEST("command-byte", test_command_byte);
    I8042_TEST("output-buffer-echo", test_output_buffer_echo);
    I8042_TEST("pulse-reset", test_pulse_reset);
    I8042_TEST("output-port-reset", test_output_port_reset);
    return g_test_run();
}
