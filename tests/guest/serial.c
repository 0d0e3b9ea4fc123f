/* Polled 16550 console at COM1 and a small printf. */
#include <stdarg.h>
#include "guest.h"

#define COM1 0x3f8
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

void serial_init(void)
{
    outb(COM1 + 1, 0x00);   /* no UART interrupts */
    outb(COM1 + 3, 0x80);   /* DLAB: set divisor 1 = 115200 baud */
    outb(COM1 + 0, 0x01);
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);   /* 8N1 */
}

void serial_putc(char c)
{
    /* Bounded: a UART that never reports an empty THR must not hang us. */
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & LSR_THR_EMPTY); i++)
        cpu_relax();
    outb(COM1, (uint8_t)c);
}

char serial_getc(void)
{
    while (!(inb(COM1 + 5) & LSR_DATA_READY))
        cpu_relax();
    return (char)inb(COM1);
}

int serial_trygetc(void)
{
    if (!(inb(COM1 + 5) & LSR_DATA_READY))
        return -1;
    return inb(COM1);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

static void put_unsigned(uint64_t v, unsigned base, int width, char pad)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (width-- > n)
        serial_putc(pad);
    while (n)
        serial_putc(buf[--n]);
}

static void vprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (*fmt == '\n')
                serial_putc('\r');
            serial_putc(*fmt);
            continue;
        }
        char pad = ' ';
        int width = 0, longs = 0;
        fmt++;
        if (*fmt == '0')
            pad = '0';
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        uint64_t v;
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            serial_puts(s ? s : "(null)");
            break;
        }
        case 'c':
            serial_putc((char)va_arg(ap, int));
            break;
        case 'd': {
            int64_t sv = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (sv < 0) {
                serial_putc('-');
                sv = -sv;
            }
            put_unsigned((uint64_t)sv, 10, width, pad);
            break;
        }
        case 'u':
        case 'x':
            v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            put_unsigned(v, *fmt == 'u' ? 10 : 16, width, pad);
            break;
        case 'p':
            serial_puts("0x");
            put_unsigned((uint64_t)va_arg(ap, void *), 16, width, pad);
            break;
        case '%':
            serial_putc('%');
            break;
        default:
            serial_putc('?');
            break;
        }
    }
}

void printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

void fail(const char *test, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL: %s: ", test);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    guest_exit(false);
}
