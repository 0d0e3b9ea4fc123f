/* The tests, selected with test=NAME on the command line. */
#include "acpi.h"
#include "boot_info.h"
#include "interrupts.h"
#include "lapic.h"
#include "pit.h"
#include "smp.h"
#include "tests.h"
#include "user.h"

#define TIMER_TICKS 10
#define TIMER_INITIAL_COUNT 625000      /* 10 ms at KVM's 1 GHz APIC bus / 16 */
#define REBOOT_MARK_ADDR 0x9e000        /* RAM survives a reset; see the reboot test */
#define REBOOT_MAGIC 0x7265626f6f74ull  /* "reboot" */

static void test_hello(void)
{
    printf("testguest: booted via %s\n", boot_protocol_name(boot.protocol));
    pass("hello");
}

/* RAM the map reports, counting the first MiB as exactly 1 MiB. */
static uint64_t ram_bytes(void)
{
    uint64_t total = MIB(1);
    for (unsigned i = 0; i < boot.nr_ranges; i++) {
        const struct mem_range *r = &boot.ranges[i];
        uint64_t start = r->addr, end = r->addr + r->size;
        if (r->type != E820_RAM || end <= MIB(1))
            continue;
        total += end - (start > MIB(1) ? start : MIB(1));
    }
    return total;
}

struct mem_job {
    uint64_t start, end;
    uint64_t bad_addr, bad_value;
};

static inline uint64_t mem_pattern(uint64_t addr)
{
    return (addr * 0x9e3779b97f4a7c15ull) ^ 0x5a5a5a5a5a5a5a5aull;
}

/* Ring 3: write the first and last word of every 4 KiB page, then check. */
static uint64_t user_mem_check(uint64_t arg)
{
    struct mem_job *job = (struct mem_job *)arg;
    for (uint64_t a = job->start; a < job->end; a += 4096) {
        *(volatile uint64_t *)a = mem_pattern(a);
        *(volatile uint64_t *)(a + 4088) = ~mem_pattern(a);
    }
    for (uint64_t a = job->start; a < job->end; a += 4096) {
        uint64_t first = *(volatile uint64_t *)a, last = *(volatile uint64_t *)(a + 4088);
        if (first != mem_pattern(a) || last != ~mem_pattern(a)) {
            job->bad_addr = a;
            job->bad_value = first != mem_pattern(a) ? first : last;
            return 1;
        }
    }
    return 0;
}

bool mem_check_ring3(uint64_t start, uint64_t end, uint64_t *bad_addr, uint64_t *bad_value)
{
    struct mem_job job = { .start = start, .end = end };
    if (!user_run(user_mem_check, (uint64_t)&job))
        return true;
    *bad_addr = job.bad_addr;
    *bad_value = job.bad_value;
    return false;
}

/* Checks all RAM above the guest image; returns the bytes checked. */
static uint64_t check_ram_from_ring3(const char *test)
{
    uint64_t floor = ALIGN_UP((uint64_t)image_end, 4096), checked = 0;
    for (unsigned i = 0; i < boot.nr_ranges; i++) {
        const struct mem_range *r = &boot.ranges[i];
        struct mem_job job = {
            .start = ALIGN_UP(r->addr > floor ? r->addr : floor, 4096),
            .end = ALIGN_DOWN(r->addr + r->size, 4096),
        };
        if (r->type != E820_RAM || job.end <= job.start)
            continue;
        if (user_run(user_mem_check, (uint64_t)&job))
            fail(test, "memory at %lx reads %lx", job.bad_addr, job.bad_value);
        checked += job.end - job.start;
    }
    return checked;
}

static void test_mem(void)
{
    uint64_t expected = cmdline_get_u64("memory", 0), total = ram_bytes();
    printf("mem: %s, %u ranges, %lu KiB of RAM\n",
           boot.have_memory_map ? "memory map" : "mem_lower/mem_upper", boot.nr_ranges, total >> 10);
    for (unsigned i = 0; i < boot.nr_ranges; i++)
        printf("mem:   %016lx-%016lx type %u\n", boot.ranges[i].addr,
               boot.ranges[i].addr + boot.ranges[i].size - 1, boot.ranges[i].type);
    if (!expected)
        fail("mem", "no memory=MIB on the command line");
    /* MiB granularity: firmware may keep a few KiB (SeaBIOS takes 128 KiB). */
    if (ALIGN_UP(total, MIB(1)) != MIB(expected))
        fail("mem", "memory map adds up to %lu KiB, expected %lu MiB", total >> 10, expected);
    uint64_t start = time_us();
    uint64_t checked = check_ram_from_ring3("mem");
    printf("mem: checked %lu MiB from ring 3 in %lu ms\n", checked >> 20, (time_us() - start) / 1000);
    pass("mem");
}

static void test_smp(void)
{
    uint32_t expected = (uint32_t)cmdline_get_u64("cpus", 0);
    if (!expected || expected > MAX_CPUS)
        fail("smp", "cpus=N (1..%u) missing on the command line", MAX_CPUS);
    uint32_t online = smp_start_aps(expected, 5000000);
    delay_us(50000);                /* let any extra CPU show up too */
    online = cpus_online;
    printf("smp: %u CPUs online, APIC IDs:", online);
    for (uint32_t i = 0; i < online && i < MAX_CPUS; i++)
        printf(" %u", cpu_apic_ids[i]);
    printf("\n");
    if (online != expected)
        fail("smp", "%u CPUs online, expected %u", online, expected);
    pass("smp");
}

static volatile uint32_t timer_ticks;

static void timer_interrupt(struct interrupt_frame *f)
{
    (void)f;
    timer_ticks++;
    lapic_eoi();
}

static void spurious_interrupt(struct interrupt_frame *f)
{
    (void)f;                        /* no EOI for the spurious vector */
}

/* Counts `ticks` LAPIC timer interrupts; returns the microseconds taken. */
static uint64_t count_timer_ticks(const char *test, uint32_t ticks)
{
    interrupts_set_handler(VECTOR_LAPIC_TIMER, timer_interrupt);
    interrupts_set_handler(VECTOR_SPURIOUS, spurious_interrupt);
    timer_ticks = 0;
    uint64_t start = time_us();
    lapic_timer_start_periodic(VECTOR_LAPIC_TIMER, TIMER_INITIAL_COUNT);
    /* The first tick is awaited with a bounded spin: hlt could wait forever. */
    __asm__ volatile("sti");
    while (!timer_ticks && time_us() - start < 5000000)
        cpu_relax();
    __asm__ volatile("cli");
    if (!timer_ticks)
        fail(test, "no LAPIC timer interrupt within 5 s");
    if (!lapic_timer_current())
        fail(test, "LAPIC timer did not reload in periodic mode");
    /* Periodic ticks now keep coming: sleep between them. */
    while (timer_ticks < ticks && time_us() - start < 5000000)
        __asm__ volatile("sti; hlt; cli");
    lapic_timer_stop();
    uint64_t elapsed = time_us() - start;
    if (timer_ticks < ticks)
        fail(test, "only %u LAPIC timer ticks in 5 s", timer_ticks);
    return elapsed;
}

static void test_timer(void)
{
    uint64_t us = count_timer_ticks("timer", TIMER_TICKS);
    printf("timer: %u LAPIC timer ticks in %lu ms\n", TIMER_TICKS, us / 1000);
    pass("timer");
}

static void test_reset(void)
{
    printf("reset: resetting through the i8042\n");
    i8042_reset();
    delay_us(100000);
    fail("reset", "still running 100 ms after the i8042 reset");
}

static void test_reboot(void)
{
    volatile uint64_t *mark = (volatile uint64_t *)REBOOT_MARK_ADDR;
    if (mark[0] == REBOOT_MAGIC && mark[1] == 1) {
        mark[0] = 0;
        mark[1] = 0;
        printf("reboot: second boot, via %s\n", boot_protocol_name(boot.protocol));
        pass("reboot");
    }
    mark[0] = REBOOT_MAGIC;
    mark[1] = 1;
    printf("reboot: first boot, resetting through the i8042\n");
    i8042_reset();
    delay_us(100000);
    fail("reboot", "still running 100 ms after the i8042 reset");
}

static void test_crash(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty_idt = { 0, 0 };
    printf("crash: triple fault next\n");
    /* #UD cannot be delivered, nor can #GP or #DF: the CPU shuts down. */
    __asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
    fail("crash", "survived a triple fault");
}

/* Serial input: echo each line back in capitals until "quit". */
static void test_echo(void)
{
    char line[80];
    size_t len = 0;

    printf("echo: type lines, \"quit\" ends\n");
    for (;;) {
        char c = serial_getc();
        if (c != '\r' && c != '\n') {
            if (len < sizeof(line) - 1)
                line[len++] = c;
            continue;
        }
        line[len] = '\0';
        if (strcmp(line, "quit") == 0)
            pass("echo");
        for (size_t i = 0; i < len; i++)
            if (line[i] >= 'a' && line[i] <= 'z')
                line[i] -= 'a' - 'A';
        if (len)
            printf("echo: %s\n", line);
        len = 0;
    }
}

/* Ring 3 workload for the demo: count the primes below n. */
static uint64_t user_count_primes(uint64_t n)
{
    uint64_t count = 0;
    for (uint64_t i = 2; i < n; i++) {
        bool prime = true;
        for (uint64_t d = 2; d * d <= i; d++)
            if (i % d == 0) {
                prime = false;
                break;
            }
        count += prime;
    }
    return count;
}

static void test_demo(void)
{
    uint64_t start = time_us();
    printf("\nHello from the ferry test guest!\n");
    printf("demo: booted via %s; command line: \"%s\"\n",
           boot_protocol_name(boot.protocol), boot.cmdline);
    uint64_t ram = ram_bytes();
    printf("demo: %lu MiB of RAM in %u memory map ranges\n", ram >> 20, boot.nr_ranges);
    uint32_t cpus = smp_start_aps(0, 1000000);
    printf("demo: %u CPU%s answered INIT-SIPI-SIPI\n", cpus, cpus == 1 ? "" : "s");
    acpi_print_summary("demo");
    uint64_t t = time_us();
    uint64_t primes = user_run(user_count_primes, 200000);
    printf("demo: ring 3 counted %lu primes below 200000 in %lu ms\n",
           primes, (time_us() - t) / 1000);
    uint64_t us = count_timer_ticks("demo", 5);
    printf("demo: 5 LAPIC timer ticks took %lu ms\n", us / 1000);
    printf("demo: done in %lu ms, resetting\n", (time_us() - start) / 1000);
    i8042_reset();
    delay_us(100000);
    fail("demo", "still running 100 ms after the i8042 reset");
}

struct test {
    const char *name;
    void (*run)(void);
};

static const struct test tests[] = {
    { "hello", test_hello },
    { "mem", test_mem },
    { "smp", test_smp },
    { "timer", test_timer },
    { "reset", test_reset },
    { "reboot", test_reboot },
    { "crash", test_crash },
    { "echo", test_echo },
    { "demo", test_demo },
    { "fwcfg", test_fwcfg },
    { "acpi", test_acpi },
    { "poweroff", test_poweroff },
    { "hotplug", test_hotplug },
    { "unplug", test_unplug },
    { "migrate", test_migrate },
};

void run_test(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(tests); i++)
        if (strcmp(tests[i].name, name) == 0) {
            tests[i].run();
            fail(name, "test returned without a verdict");
        }
    fail(name, "unknown test");
}
