/* 16550A UART and the chardev back ends, driven through the io address
 * space the way a guest's in/out instructions reach them. */
#include <glib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "hw/serial.h"
#include "fixture.h"

#define COM1 0x3f8
#define RBR (COM1 + 0)
#define THR (COM1 + 0)
#define DLL (COM1 + 0)
#define IER (COM1 + 1)
#define DLM (COM1 + 1)
#define IIR (COM1 + 2)
#define FCR (COM1 + 2)
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define MSR (COM1 + 6)
#define SCR (COM1 + 7)

#define IIR_NONE 0x01
#define IIR_MSR 0x00
#define IIR_THRE 0x02
#define IIR_RX 0x04
#define IIR_LSR 0x06

typedef struct Fixture {
    IoBus bus;
    char *path;
    Chardev *chr;
    Serial *serial;
    bool irq_level;
    unsigned irq_raises;
} Fixture;

static void fake_irq_set(void *opaque, unsigned gsi, bool level)
{
    Fixture *f = opaque;

    g_assert_cmpuint(gsi, ==, 4);
    if (level && !f->irq_level)
        f->irq_raises++;
    f->irq_level = level;
}

static uint8_t inb(Fixture *f, uint16_t port)
{
    uint8_t v = 0;

    g_assert_cmpint(address_space_read(f->bus.as, port, &v, 1), ==, MEMTX_OK);
    return v;
}

static void outb(Fixture *f, uint16_t port, uint8_t v)
{
    g_assert_cmpint(address_space_write(f->bus.as, port, &v, 1), ==, MEMTX_OK);
}

static char *output(Fixture *f)
{
    char *text = NULL;

    g_assert_true(g_file_get_contents(f->path, &text, NULL, NULL));
    return text;
}

static void setup(Fixture *f, gconstpointer data)
{
    g_autofree char *spec = NULL;
    g_autoptr(GError) err = NULL;
    int fd = g_file_open_tmp("ferry-serial-XXXXXX", &f->path, &err);

    g_assert_no_error(err);
    close(fd);
    spec = g_strconcat("file:", f->path, NULL);
    f->chr = chardev_new(spec, &err);
    g_assert_no_error(err);
    io_bus_init(&f->bus);
    f->serial = serial_create(f->bus.io, COM1,
                              (IrqLine){ .set_level = fake_irq_set, .opaque = f, .gsi = 4 },
                              f->chr);
}

static void teardown(Fixture *f, gconstpointer data)
{
    serial_free(f->serial);
    io_bus_destroy(&f->bus);
    chardev_free(f->chr);
    g_unlink(f->path);
    g_free(f->path);
}

static void test_output_reaches_chardev(Fixture *f, gconstpointer data)
{
    g_autofree char *text = NULL;

    for (const char *p = "hello\n"; *p; p++) {
        g_assert_true(inb(f, LSR) & 0x20); /* earlyprintk polls THRE */
        outb(f, THR, *p);
    }
    g_assert_cmphex(inb(f, LSR) & 0x60, ==, 0x60); /* THRE and TEMT right after */
    text = output(f);
    g_assert_cmpstr(text, ==, "hello\n");
}

static void test_divisor_latch(Fixture *f, gconstpointer data)
{
    g_autofree char *text = NULL;

    outb(f, IER, 0x05);
    outb(f, LCR, 0x83); /* DLAB, 8N1 */
    outb(f, DLL, 0x01);
    outb(f, DLM, 0x02);
    g_assert_cmphex(inb(f, DLL), ==, 0x01);
    g_assert_cmphex(inb(f, DLM), ==, 0x02);
    g_assert_cmphex(inb(f, LCR), ==, 0x83);
    outb(f, LCR, 0x03);
    g_assert_cmphex(inb(f, IER), ==, 0x05); /* IER untouched by the DLM write */
    outb(f, LCR, 0x83);
    g_assert_cmphex(inb(f, DLM), ==, 0x02);
    text = output(f);
    g_assert_cmpstr(text, ==, ""); /* the DLL write did not transmit */
}

static void test_scratch_and_ier_probe(Fixture *f, gconstpointer data)
{
    outb(f, SCR, 0xa5);
    g_assert_cmphex(inb(f, SCR), ==, 0xa5);
    outb(f, SCR, 0x5a);
    g_assert_cmphex(inb(f, SCR), ==, 0x5a);
    /* Linux's autoconfig: IER keeps exactly its 4 low bits. */
    outb(f, IER, 0x00);
    g_assert_cmphex(inb(f, IER), ==, 0x00);
    outb(f, IER, 0xff);
    g_assert_cmphex(inb(f, IER), ==, 0x0f);
    outb(f, MCR, 0xff);
    g_assert_cmphex(inb(f, MCR), ==, 0x1f);
}

static void test_loopback(Fixture *f, gconstpointer data)
{
    g_autofree char *text = NULL;

    g_assert_cmphex(inb(f, MSR) & 0xf0, ==, 0xb0); /* DCD, DSR, CTS from the host side */
    outb(f, MCR, 0x10 | 0x0a); /* Linux: loop + RTS + OUT2 -> CTS + DCD */
    g_assert_cmphex(inb(f, MSR) & 0xf0, ==, 0x90);
    outb(f, MCR, 0x10 | 0x05); /* DTR + OUT1 -> DSR + RI */
    g_assert_cmphex(inb(f, MSR) & 0xf0, ==, 0x60);
    outb(f, THR, 'x');
    g_assert_cmphex(inb(f, LSR) & 0x01, ==, 0x01);
    g_assert_cmphex(inb(f, RBR), ==, 'x');
    g_assert_cmphex(inb(f, LSR) & 0x01, ==, 0x00);
    serial_receive(f->serial, (const uint8_t *)"y", 1); /* line is cut off */
    g_assert_cmphex(inb(f, LSR) & 0x01, ==, 0x00);
    outb(f, MCR, 0x03);
    g_assert_cmphex(inb(f, MSR) & 0xf0, ==, 0xb0);
    text = output(f);
    g_assert_cmpstr(text, ==, "");
}

static void test_thre_interrupt(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(inb(f, IIR), ==, IIR_NONE);
    g_assert_false(f->irq_level);

    outb(f, IER, 0x02); /* enabling with THR empty raises THRE */
    g_assert_true(f->irq_level);
    g_assert_cmphex(inb(f, IIR), ==, IIR_THRE);
    /* ...and that IIR read acknowledged it. */
    g_assert_false(f->irq_level);
    g_assert_cmphex(inb(f, IIR), ==, IIR_NONE);

    outb(f, THR, 'a'); /* transmitted at once: THR empty again */
    g_assert_true(f->irq_level);
    g_assert_cmphex(inb(f, IIR), ==, IIR_THRE);
    g_assert_false(f->irq_level);

    /* Linux's startup test: IER off and on again must re-raise THRE. */
    outb(f, IER, 0x00);
    outb(f, IER, 0x02);
    g_assert_cmphex(inb(f, IIR), ==, IIR_THRE);
    g_assert_cmphex(inb(f, IIR), ==, IIR_NONE);

    /* Disabling the interrupt drops the line. */
    outb(f, THR, 'b');
    g_assert_true(f->irq_level);
    outb(f, IER, 0x00);
    g_assert_false(f->irq_level);
}

static void test_interrupt_priorities(Fixture *f, gconstpointer data)
{
    uint8_t big[4096 + 1];

    memset(big, 'z', sizeof(big));
    outb(f, MCR, 0x10); /* loopback with no lines: DCTS, DDSR, DDCD latch */
    outb(f, MCR, 0x00);
    serial_receive(f->serial, big, sizeof(big)); /* one byte too many: overrun */
    outb(f, IER, 0x0f);
    g_assert_true(f->irq_level);

    g_assert_cmphex(inb(f, IIR), ==, IIR_LSR);
    g_assert_cmphex(inb(f, LSR) & 0x03, ==, 0x03); /* OE and DR; the read clears OE */
    g_assert_cmphex(inb(f, IIR), ==, IIR_RX);
    for (unsigned i = 0; i < 4096; i++)
        g_assert_cmphex(inb(f, RBR), ==, 'z');
    g_assert_cmphex(inb(f, LSR) & 0x01, ==, 0x00);
    g_assert_cmphex(inb(f, IIR), ==, IIR_THRE);
    g_assert_cmphex(inb(f, IIR), ==, IIR_MSR);
    g_assert_cmphex(inb(f, MSR), ==, 0xb0 | 0x0b);
    g_assert_cmphex(inb(f, IIR), ==, IIR_NONE);
    g_assert_false(f->irq_level);
}

static void test_receive(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(inb(f, LSR) & 0x01, ==, 0x00);
    outb(f, IER, 0x01);
    g_assert_false(f->irq_level);
    serial_receive(f->serial, (const uint8_t *)"ab", 2);
    g_assert_true(f->irq_level);
    g_assert_cmpuint(f->irq_raises, ==, 1);
    g_assert_cmphex(inb(f, LSR) & 0x01, ==, 0x01);
    g_assert_cmphex(inb(f, IIR), ==, IIR_RX);
    g_assert_cmphex(inb(f, RBR), ==, 'a');
    g_assert_true(f->irq_level);
    g_assert_cmphex(inb(f, RBR), ==, 'b');
    g_assert_false(f->irq_level);
    g_assert_cmphex(inb(f, LSR) & 0x01, ==, 0x00);
    g_assert_cmphex(inb(f, IIR), ==, IIR_NONE);
}

static void test_fifo_identification(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(inb(f, IIR) & 0xc0, ==, 0x00); /* 8250/16450 mode */
    outb(f, FCR, 0x01);
    g_assert_cmphex(inb(f, IIR), ==, 0xc0 | IIR_NONE); /* 16550A */
    /* With DLAB set (Linux's EFR probes), IIR still reads non-zero. */
    outb(f, LCR, 0xbf);
    g_assert_cmphex(inb(f, IIR), !=, 0x00);
    outb(f, LCR, 0x03);

    /* Clearing the RX FIFO drops what the guest could see (16 bytes). */
    serial_receive(f->serial, (const uint8_t *)"0123456789abcdefXY", 18);
    outb(f, FCR, 0x03);
    g_assert_cmphex(inb(f, RBR), ==, 'X');
    g_assert_cmphex(inb(f, RBR), ==, 'Y');
    g_assert_cmphex(inb(f, LSR) & 0x01, ==, 0x00);

    outb(f, FCR, 0x00);
    g_assert_cmphex(inb(f, IIR) & 0xc0, ==, 0x00);
}

static void test_overflow_sets_oe(Fixture *f, gconstpointer data)
{
    g_autofree uint8_t *flood = g_malloc(5000);
    unsigned n = 0;

    memset(flood, 'q', 5000);
    serial_receive(f->serial, flood, 5000);
    g_assert_cmphex(inb(f, LSR), ==, 0x60 | 0x02 | 0x01);
    g_assert_cmphex(inb(f, LSR), ==, 0x60 | 0x01); /* reading LSR cleared OE */
    while (inb(f, LSR) & 0x01) {
        g_assert_cmphex(inb(f, RBR), ==, 'q');
        n++;
    }
    g_assert_cmpuint(n, ==, 4096); /* the backlog; the rest was dropped */
}

static void test_reset(Fixture *f, gconstpointer data)
{
    outb(f, IER, 0x0f);
    outb(f, LCR, 0x03);
    outb(f, MCR, 0x1f);
    outb(f, FCR, 0x01);
    serial_receive(f->serial, (const uint8_t *)"abc", 3);
    g_assert_true(f->irq_level);
    serial_reset(f->serial);
    g_assert_false(f->irq_level);
    g_assert_cmphex(inb(f, IER), ==, 0);
    g_assert_cmphex(inb(f, LCR), ==, 0);
    g_assert_cmphex(inb(f, MCR), ==, 0);
    g_assert_cmphex(inb(f, IIR), ==, IIR_NONE);
    g_assert_cmphex(inb(f, LSR), ==, 0x60);
    g_assert_cmphex(inb(f, MSR), ==, 0xb0);
}

static void test_wide_access(Fixture *f, gconstpointer data)
{
    uint16_t w = 0x7700;
    uint8_t pair[2];

    /* A 16-bit write to 0x3fe/0x3ff reaches MSR (ignored) and SCR. */
    g_assert_cmpint(address_space_write(f->bus.as, MSR, &w, 2), ==, MEMTX_OK);
    g_assert_cmphex(inb(f, SCR), ==, 0x77);
    g_assert_cmpint(address_space_read(f->bus.as, MSR, pair, 2), ==, MEMTX_OK);
    g_assert_cmphex(pair[0], ==, 0xb0);
    g_assert_cmphex(pair[1], ==, 0x77);
}

static void test_chardev_specs(void)
{
    g_autoptr(GError) err = NULL;
    Chardev *chr;

    chr = chardev_new("telnet", &err);
    g_assert_null(chr);
    g_assert_cmpstr(err->message, ==,
                    "unknown back end 'telnet' (use stdio, file:PATH or none)");
    g_clear_error(&err);

    chr = chardev_new("file:/nonexistent-dir/out.txt", &err);
    g_assert_null(chr);
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_assert_nonnull(strstr(err->message, "/nonexistent-dir/out.txt"));
    g_assert_nonnull(strstr(err->message, g_strerror(ENOENT)));
    g_clear_error(&err);

    chr = chardev_new("none", &err);
    g_assert_no_error(err);
    chardev_write(chr, (const uint8_t *)"dropped", 7);
    chardev_set_receiver(chr, NULL, NULL);
    chardev_free(chr);
}

static void test_chardev_file_create_and_truncate(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("ferry-chardev-XXXXXX", &err);
    g_autofree char *path = g_build_filename(dir, "console.log", NULL);
    g_autofree char *spec = g_strconcat("file:", path, NULL);
    g_autofree char *text = NULL;
    GStatBuf st;
    Chardev *chr;

    g_assert_no_error(err);
    umask(022);
    g_assert_true(g_file_set_contents(path, "old contents", -1, NULL));
    g_unlink(path);
    chr = chardev_new(spec, &err); /* creates, 0644 */
    g_assert_no_error(err);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0644);
    chardev_write(chr, (const uint8_t *)"first", 5);
    chardev_free(chr);

    chr = chardev_new(spec, &err); /* truncates */
    g_assert_no_error(err);
    chardev_write(chr, (const uint8_t *)"new", 3);
    chardev_free(chr);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "new");
    g_unlink(path);
    g_rmdir(dir);
}

#define SERIAL_TEST(name, fn) \
    g_test_add("/serial/" name, Fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    SERIAL_TEST("output-reaches-chardev", test_output_reaches_chardev);
    SERIAL_TEST("divisor-latch", test_divisor_latch);
    SERIAL_TEST("scratch-and-ier-probe", test_scratch_and_ier_probe);
    SERIAL_TEST("loopback", test_loopback);
    SERIAL_TEST("thre-interrupt", test_thre_interrupt);
    SERIAL_TEST("interrupt-priorities", test_interrupt_priorities);
    SERIAL_TEST("receive", test_receive);
    SERIAL_TEST("fifo-identification", test_fifo_identification);
    SERIAL_TEST("overflow-sets-oe", test_overflow_sets_oe);
    SERIAL_TEST("reset", test_reset);
    SERIAL_TEST("wide-access", test_wide_access);
    g_test_add_func("/chardev/specs", test_chardev_specs);
    g_test_add_func("/chardev/file-create-and-truncate", test_chardev_file_create_and_truncate);
    return g_test_run();
}
