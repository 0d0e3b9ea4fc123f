/* Shared definitions for the freestanding test guest. */
#ifndef GUEST_H
#define GUEST_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* GDT selectors (entry.S); user ones carry RPL 3. */
#define SEL_KERNEL_CODE64 0x08
#define SEL_KERNEL_DATA   0x10
#define SEL_KERNEL_CODE32 0x18
#define SEL_USER_DATA     0x23
#define SEL_USER_CODE64   0x2b
#define SEL_TSS           0x30

#define KIB(x) ((uint64_t)(x) << 10)
#define MIB(x) ((uint64_t)(x) << 20)
#define GIB(x) ((uint64_t)(x) << 30)

/* Large buffers that need no zeroing at boot (see guest.ld). */
#define NOINIT __attribute__((section(".bss.noinit")))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))

/* Linker-script symbols: the whole loaded image including .bss. */
extern char image_start[], image_end[];

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

/* Keeps the compiler from moving memory accesses across device accesses. */
static inline void compiler_barrier(void)
{
    __asm__ volatile("" ::: "memory");
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

static inline uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

/* lib.c */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int memcmp(const void *a, const void *b, size_t n);

/* serial.c */
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
char serial_getc(void);
/* One LSR read; the received byte, or -1 when none is waiting. */
int serial_trygetc(void);
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* exit.c: never return */
void guest_exit(bool pass) __attribute__((noreturn));
void i8042_reset(void);
void halt_forever(void) __attribute__((noreturn));
void pass(const char *test) __attribute__((noreturn));
void fail(const char *test, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

#endif
