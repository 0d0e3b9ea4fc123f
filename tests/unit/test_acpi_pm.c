/* ACPI PM1/GPE0/PM timer and the 0xcf9 reset control register. */
#include <glib.h>

#include "hw/acpi_pm.h"
#include "hw/reset_control.h"
#include "fixture.h"
#include "vmm/runstate.h"

#define PM_BASE 0x600
#define GPE0_BASE 0xafe0
#define S5_SLP_TYP 5

typedef struct Bench {
    IoBus bus;
    AcpiPm *pm;
    GArray *sci_levels; /* every level the SCI line was driven to */
} Bench;

static void record_level(void *opaque, unsigned gsi, bool level)
{
    Bench *b = opaque;
    int v = level;

    g_assert_cmpuint(gsi, ==, 9);
    g_array_append_val(b->sci_levels, v);
}

static void bench_init(Bench *b)
{
    io_bus_init(&b->bus);
    b->sci_levels = g_array_new(FALSE, FALSE, sizeof(int));
    b->pm = acpi_pm_create(b->bus.io, PM_BASE, GPE0_BASE, S5_SLP_TYP,
                           (IrqLine){ .set_level = record_level, .opaque = b, .gsi = 9 });
}

static void bench_destroy(Bench *b)
{
    acpi_pm_free(b->pm);
    io_bus_destroy(&b->bus);
    g_array_unref(b->sci_levels);
}

static uint32_t in(Bench *b, uint16_t port, unsigned size)
{
    return io_bus_in(&b->bus, port, size);
}

static void out(Bench *b, uint16_t port, uint32_t v, unsigned size)
{
    io_bus_out(&b->bus, port, v, size);
}

static int last_level(Bench *b)
{
    return b->sci_levels->len ? g_array_index(b->sci_levels, int, b->sci_levels->len - 1) : 0;
}

static void test_power_on_state(void)
{
    Bench b;

    bench_init(&b);
    g_assert_cmphex(in(&b, PM_BASE, 4), ==, 0); /* no status, nothing enabled */
    g_assert_cmphex(in(&b, PM_BASE + 4, 2) & 1, ==, 1); /* SCI_EN: ACPI mode */
    g_assert_cmphex(in(&b, GPE0_BASE, 4), ==, 0);
    g_assert_cmpuint(b.sci_levels->len, ==, 0);
    bench_destroy(&b);
}

static void test_gpe_raises_sci_until_cleared(void)
{
    Bench b;

    bench_init(&b);
    acpi_pm_raise_gpe(b.pm, 3);
    g_assert_cmphex(in(&b, GPE0_BASE, 1), ==, 0x08);
    g_assert_cmpint(last_level(&b), ==, 0); /* not enabled yet */
    out(&b, GPE0_BASE + 2, 0x08, 1); /* enable bit 3 */
    g_assert_cmphex(in(&b, GPE0_BASE + 2, 1), ==, 0x08);
    g_assert_cmpint(last_level(&b), ==, 1);
    out(&b, GPE0_BASE, 0x01, 1); /* clearing another bit changes nothing */
    g_assert_cmpint(last_level(&b), ==, 1);
    out(&b, GPE0_BASE, 0x08, 1); /* write 1 to clear */
    g_assert_cmphex(in(&b, GPE0_BASE, 2), ==, 0);
    g_assert_cmpint(last_level(&b), ==, 0);
    /* A 32-bit access covers status and enable at once. */
    g_assert_cmphex(in(&b, GPE0_BASE, 4), ==, 0x00080000);
    bench_destroy(&b);
}

static void test_power_button(void)
{
    Bench b;

    bench_init(&b);
    out(&b, PM_BASE + 2, 0x0100, 2); /* PWRBTN_EN */
    acpi_pm_press_power_button(b.pm);
    g_assert_cmphex(in(&b, PM_BASE, 2), ==, 0x0100);
    g_assert_cmpint(last_level(&b), ==, 1);
    out(&b, PM_BASE, 0x0100, 2);
    g_assert_cmpint(last_level(&b), ==, 0);
    bench_destroy(&b);
}

static void test_pm_timer_advances(void)
{
    Bench b;
    uint32_t t0, t1;

    bench_init(&b);
    t0 = in(&b, PM_BASE + 8, 4);
    g_usleep(2000);
    t1 = in(&b, PM_BASE + 8, 4);
    g_assert_cmphex(t0 & ~0xffffffu, ==, 0); /* 24 significant bits */
    g_assert_cmpuint((t1 - t0) & 0xffffff, >=, ACPI_PM_TIMER_HZ / 1000); /* >= 1 ms of ticks */
    bench_destroy(&b);
}

static void test_other_sleep_states_ignored(void)
{
    Bench b;

    bench_init(&b);
    out(&b, PM_BASE + 4, (1u << 10) | (1u << 13) | 1, 2); /* SLP_TYP 1 + SLP_EN */
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_NONE);
    g_assert_cmphex(in(&b, PM_BASE + 4, 2), ==, (1u << 10) | 1); /* SLP_EN reads 0 */
    bench_destroy(&b);
}

/* S5 ends the run for good, so it runs in a child. */
static void test_s5_powers_off(void)
{
    if (g_test_subprocess()) {
        Bench b;
        int status = -1;

        bench_init(&b);
        out(&b, PM_BASE + 4, (S5_SLP_TYP << 10) | 1, 2); /* SLP_TYP alone does nothing */
        g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_NONE);
        out(&b, PM_BASE + 4, (S5_SLP_TYP << 10) | (1u << 13) | 1, 2);
        g_assert_cmpint(runstate_take_request(&status), ==, RUN_REQUEST_EXIT);
        g_assert_cmpint(status, ==, FERRY_EXIT_POWEROFF);
        bench_destroy(&b);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

static void test_reset_control(void)
{
    IoBus bus;
    ResetControl *rc;
    uint8_t v = 0x02; /* SYS_RST alone: no reset yet */

    io_bus_init(&bus);
    rc = reset_control_create(bus.io);
    address_space_write(bus.as, RESET_CONTROL_PORT, &v, 1);
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_NONE);
    v = RESET_CONTROL_VALUE;
    address_space_write(bus.as, RESET_CONTROL_PORT, &v, 1);
    g_assert_cmpint(runstate_take_request(NULL), ==, RUN_REQUEST_RESET);
    v = 0;
    address_space_read(bus.as, RESET_CONTROL_PORT, &v, 1);
    g_assert_cmphex(v, ==, 0x02); /* RST_CPU does not read back */
    reset_control_free(rc);
    io_bus_destroy(&bus);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi-pm/power-on-state", test_power_on_state);
    g_test_add_func("/acpi-pm/gpe-raises-sci-until-cleared", test_gpe_raises_sci_until_cleared);
    g_test_add_func("/acpi-pm/power-button", test_power_button);
    g_test_add_func("/acpi-pm/pm-timer-advances", test_pm_timer_advances);
    g_test_add_func("/acpi-pm/other-sleep-states-ignored", test_other_sleep_states_ignored);
    g_test_add_func("/acpi-pm/s5-powers-off", test_s5_powers_off);
    g_test_add_func("/reset-control/rst-cpu-edge", test_reset_control);
    return g_test_run();
}
