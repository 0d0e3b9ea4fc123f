/*
 * The migrate test: keeps dirtying memory while the harness live-migrates
 * the VM, and shows on the destination that nothing was lost.
 *
 * Command-line keys:
 *   mib=N      the region, in MiB (default 64), from RAM above the guest
 *              image (half of it in a DIMM with dimm=1); FAIL if it does not fit
 *   passes=K   full passes to finish after the migration (default 3, >= 1)
 *   cpus=C     CPUs that dirty (default 1): C-1 APs are started and every
 *              CPU sweeps its own 1/C of the region, concurrently
 *   rate=R     after pass 0 (which fills the region at full speed and ends
 *              with "migrate: pass 0 done"), dirty at most R MiB/s on the
 *              BSP (default 0: as fast as it can); it sleeps in hlt until
 *              the next 10 ms tick when ahead, so steps between chunks grow
 *              to ~16 MiB / R
 *   break=N    self-test of the checker and of the harness's FAIL path:
 *              after the BSP's pass N, the first page of the last CPU's last
 *              chunk goes stale (cpus=1: back to pass N-1's values) or
 *              reads 0 (an AP's, whose pass the BSP does not know)
 *   dimm=1     first wait for one hot-plugged DIMM (memhp.c; its keys
 *              slots=, timeout=, sci=, srat=, check= apply) and put half the
 *              region into it
 *
 * The pattern: after pass P, the 8-byte word at address a holds
 * a * G ^ (P + 1) * H (G, H odd: a different value for every address and
 * every pass). Pass P reads each word, checks that it holds pass P-1's value
 * and writes pass P's (pass 0 only writes). The sweep runs in ring 3 (native
 * speed on the CI host) one chunk (<= 16 MiB) at a time; between chunks the
 * BSP's ring 0 checks the TSC, polls the UART (one LSR read) and takes
 * a pending LAPIC timer interrupt.
 *
 * The handshake (the guest cannot see a migration):
 *   guest:   "migrate: region 0x<base> <N> MiB, pass <P>" when it starts
 *            (pass 0) and then at the end of a pass at most every ~0.5 s
 *            (P: the pass now starting), so the harness knows it is dirtying;
 *   harness: after the switch-over, a byte 'M' (or a line "migrated") on the
 *            destination's serial console;
 *   guest:   "migrate: migrated: noticed at pass P, K more passes", then K
 *            full passes on every CPU (the pass in progress does not count),
 *            a summary, and PASS. Without the byte it dirties forever.
 *
 * FAIL on:
 * - a word that does not hold the previous pass's value (a lost dirty page,
 *   a stale page, a page at the wrong address: a "migrate: cpu N: ..." line
 *   before the FAIL line says which);
 * - the TSC going backwards on any CPU (raw rdtsc; forward jumps are fine,
 *   the largest step is reported: the pause as the guest saw it);
 * - the RTC's date and time going backwards (read every ~0.5 s);
 * - the LAPIC timer (periodic, 10 ms) no longer interrupting the BSP after
 *   the migration (delivery: between chunks, if its IRR bit is set);
 * - an AP that stops making passes after the migration (a wrong AP state),
 *   or takes an exception (its own IDT/TSS, so that prints a FAIL line).
 *
 * APs never come back from ring 3 (user_enter): each publishes its pass
 * count and any failure in its struct cpu_job, which the BSP reads between
 * chunks.
 */
#include "boot_info.h"
#include "interrupts.h"
#include "lapic.h"
#include "paging.h"
#include "pit.h"
#include "smp.h"
#include "tests.h"
#include "user.h"

#define TEST "migrate"
#define CHUNK_BYTES      MIB(16)
#define MAX_CHUNKS       4096
#define MAX_EXTENTS      16
#define MIGRATE_MAX_CPUS 16         /* interrupts_init_ap() serves APs 1..16 */
#define AP_STACK_BYTES   8192
#define PROGRESS_US      500000
#define RATE_EVERY_US    5000000
#define TIMER_COUNT      625000     /* 10 ms at KVM's 1 GHz APIC bus / 16 */
#define MIN_TICKS_AFTER  3
#define TICK_WAIT_US     2000000
#define AP_WAIT_MIN_US   30000000
#define STALE_LOOKBACK   64

#define PATTERN_ADDR 0x9e3779b97f4a7c15ull
#define PATTERN_PASS 0xd6e8feb86659fd93ull

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

enum { CPU_OK, CPU_BAD_WORD, CPU_CLOCK_BACK };

struct extent {
    uint64_t base, size;
};

/* One CPU's share. Written by the BSP before the CPU starts; the volatile
 * fields are then written by that CPU (from ring 3) and read by the BSP. */
struct cpu_job {
    unsigned first, count;          /* its chunks */
    uint64_t bytes;
    volatile uint64_t passes;       /* completed */
    volatile uint32_t failed;       /* CPU_*, written last */
    volatile uint64_t bad_pass, bad_addr, bad_value;
    volatile uint64_t tsc_before, tsc_after;
};

/* The BSP's ring-3 call. */
struct sweep_job {
    uint64_t base, size, pass;
    uint64_t bad_addr, bad_value;
};

struct rtc_time {
    unsigned year, month, day, hour, min, sec;
};

static struct extent chunks[MAX_CHUNKS] NOINIT; /* filled by make_chunks() up to nr_chunks */
static unsigned nr_chunks;
static struct extent extents[MAX_EXTENTS];
static unsigned nr_extents;
static struct cpu_job jobs[MIGRATE_MAX_CPUS];
static unsigned nr_cpus;
static uint8_t ap_stacks_user[MIGRATE_MAX_CPUS][AP_STACK_BYTES] NOINIT __attribute__((aligned(16)));

static uint64_t mib, passes_after, rate_mib;
static volatile uint64_t ticks;

/* BSP state between chunks. */
static uint64_t last_tsc, max_step, max_step_pass, steps, steps_tsc;
static char line[16];
static unsigned line_len;
static bool migrated;
static uint64_t m_pass, m_time, m_ticks, m_passes[MIGRATE_MAX_CPUS];
static uint64_t bsp_done_time;

/* ---- the pattern (ring 3 and ring 0) ---- */

static inline uint64_t pass_key(uint64_t pass)
{
    return (pass + 1) * PATTERN_PASS;
}

static inline uint64_t pattern(uint64_t addr, uint64_t pass)
{
    return addr * PATTERN_ADDR ^ pass_key(pass);
}

/* Ring 3: checks that [base, base + size) holds pass - 1's pattern while
 * writing pass's. Returns the first word that did not (its value in *bad,
 * the word left as it was) or 0. Pass 0 only writes. */
static uint64_t sweep(uint64_t base, uint64_t size, uint64_t pass, uint64_t *bad)
{
    uint64_t *w = (uint64_t *)base, *end = (uint64_t *)(base + size);
    uint64_t key = pass_key(pass);
    if (!pass) {
        for (; w < end; w++)
            *w = (uint64_t)w * PATTERN_ADDR ^ key;
        return 0;
    }
    uint64_t old_key = pass_key(pass - 1), flip = key ^ old_key;
    for (; w < end; w++) {
        uint64_t v = *w;
        if (v != ((uint64_t)w * PATTERN_ADDR ^ old_key)) {
            *bad = v;
            return (uint64_t)w;
        }
        *w = v ^ flip;
    }
    return 0;
}

static uint64_t user_sweep(uint64_t arg)
{
    struct sweep_job *j = (struct sweep_job *)arg;
    j->bad_addr = sweep(j->base, j->size, j->pass, &j->bad_value);
    return j->bad_addr != 0;
}

/* Ring 3 on an AP, forever: passes over its chunks; on a failure it records
 * it and spins until the BSP ends the run. */
static uint64_t ap_dirty(uint64_t arg)
{
    struct cpu_job *job = (struct cpu_job *)arg;
    uint64_t last = rdtsc();
    for (uint64_t pass = 0;; pass++) {
        for (unsigned c = job->first; c < job->first + job->count; c++) {
            uint64_t value = 0, bad = sweep(chunks[c].base, chunks[c].size, pass, &value);
            uint64_t now = rdtsc();
            job->bad_pass = pass;
            if (bad) {
                job->bad_addr = bad;
                job->bad_value = value;
                job->failed = CPU_BAD_WORD;
                for (;;)
                    cpu_relax();
            }
            if (now < last) {
                job->tsc_before = last;
                job->tsc_after = now;
                job->failed = CPU_CLOCK_BACK;
                for (;;)
                    cpu_relax();
            }
            last = now;
        }
        job->passes = pass + 1;
    }
    return 0;
}

/* Ring 0 on AP number cpu (smp.c's ap_work). */
static void ap_start(uint32_t cpu)
{
    if (cpu >= nr_cpus || !interrupts_init_ap(cpu))
        return;                     /* halts; an AP we need is then missing */
    user_enter(ap_dirty, (uint64_t)&jobs[cpu], (uint64_t)(ap_stacks_user[cpu] + AP_STACK_BYTES));
}

/* ---- diagnosis of a bad word (ring 0, once) ---- */

static uint64_t inverse_odd(uint64_t g)
{
    uint64_t x = g;                 /* right to 3 bits; Newton doubles them */
    for (int i = 0; i < 6; i++)
        x *= 2 - g * x;
    return x;
}

static bool in_region(uint64_t a)
{
    for (unsigned i = 0; i < nr_extents; i++)
        if (a >= extents[i].base && a < extents[i].base + extents[i].size)
            return true;
    return false;
}

static void describe_word(unsigned cpu, uint64_t pass, uint64_t addr, uint64_t value)
{
    if (!value) {
        printf("%s: cpu %u: the word reads 0: a page that never arrived?\n", TEST, cpu);
        return;
    }
    uint64_t inv = inverse_odd(PATTERN_ADDR), lo = pass > STALE_LOOKBACK ? pass - STALE_LOOKBACK : 0;
    for (uint64_t q = pass + 1; q-- > lo;) {
        uint64_t a = (value ^ pass_key(q)) * inv;
        if (a == addr) {
            printf("%s: cpu %u: the word holds pass %lu's value: a stale page\n", TEST, cpu, q);
            return;
        }
        if (!(a & 7) && in_region(a)) {
            printf("%s: cpu %u: the word holds pass %lu's value for 0x%lx: a page at the wrong "
                   "address\n", TEST, cpu, q, a);
            return;
        }
    }
    printf("%s: cpu %u: the word matches no address's value of passes %lu-%lu\n", TEST, cpu, lo, pass);
}

/* Words before addr were already rewritten in this pass, the rest were not. */
static void describe_page(unsigned cpu, uint64_t pass, uint64_t addr)
{
    uint64_t page = ALIGN_DOWN(addr, 4096), wrong = 0;
    for (uint64_t a = page; a < page + 4096; a += 8)
        if (*(volatile uint64_t *)a != pattern(a, a < addr ? pass : pass - 1))
            wrong++;
    printf("%s: cpu %u: %lu of the 512 words of page 0x%lx are wrong\n", TEST, cpu, wrong, page);
}

static void bad_word(unsigned cpu, uint64_t pass, uint64_t addr, uint64_t value)
{
    describe_word(cpu, pass, addr, value);
    describe_page(cpu, pass, addr);
    fail(TEST, "pass %lu: word at 0x%lx holds 0x%lx, expected 0x%lx", pass, addr, value,
         pattern(addr, pass - 1));
}

static void check_aps(void)
{
    for (unsigned i = 1; i < nr_cpus; i++) {
        struct cpu_job *j = &jobs[i];
        if (j->failed == CPU_BAD_WORD)
            bad_word(i, j->bad_pass, j->bad_addr, j->bad_value);
        if (j->failed == CPU_CLOCK_BACK)
            fail(TEST, "cpu %u: pass %lu: the TSC went back from 0x%lx to 0x%lx", i, j->bad_pass,
                 j->tsc_before, j->tsc_after);
    }
}

/* ---- clocks ---- */

static void timer_interrupt(struct interrupt_frame *f)
{
    (void)f;
    ticks++;
    lapic_eoi();
}

static void spurious_interrupt(struct interrupt_frame *f)
{
    (void)f;
}

static uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

static unsigned from_bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 15);
}

static void rtc_read(struct rtc_time *t)
{
    uint8_t b = cmos_read(0x0b), sec, min, hour, day, month, year, century;
    for (int tries = 0;; tries++) {
        uint64_t t0 = time_us();
        while ((cmos_read(0x0a) & 0x80) && time_us() - t0 < 10000)
            ;                       /* update in progress: at most 2 ms */
        sec = cmos_read(0x00);
        min = cmos_read(0x02);
        hour = cmos_read(0x04);
        day = cmos_read(0x07);
        month = cmos_read(0x08);
        year = cmos_read(0x09);
        century = cmos_read(0x32);
        if (cmos_read(0x00) == sec || tries == 3)
            break;
    }
    bool pm = hour & 0x80, bcd = !(b & 0x04);
    hour &= 0x7f;
    t->sec = bcd ? from_bcd(sec) : sec;
    t->min = bcd ? from_bcd(min) : min;
    t->hour = bcd ? from_bcd(hour) : hour;
    t->day = bcd ? from_bcd(day) : day;
    t->month = bcd ? from_bcd(month) : month;
    t->year = (bcd ? from_bcd(year) : year) + 100 * (bcd ? from_bcd(century) : century);
    if (!(b & 0x02))                /* 12-hour mode: 12 AM is 0 */
        t->hour = t->hour % 12 + (pm ? 12 : 0);
}

/* Orders like the time; not seconds since anything. */
static uint64_t rtc_key(const struct rtc_time *t)
{
    return ((((((uint64_t)t->year * 13 + t->month) * 32 + t->day) * 24 + t->hour) * 60 + t->min) * 60) + t->sec;
}

static void rtc_print(const struct rtc_time *t)
{
    printf("%u-%02u-%02u %02u:%02u:%02u", t->year, t->month, t->day, t->hour, t->min, t->sec);
}

static struct rtc_time rtc_first, rtc_last;
static unsigned rtc_reads;

static void rtc_check(uint64_t pass)
{
    struct rtc_time now;
    rtc_read(&now);
    if (rtc_reads && rtc_key(&now) < rtc_key(&rtc_last)) {
        printf("%s: RTC was ", TEST);
        rtc_print(&rtc_last);
        printf(", now reads ");
        rtc_print(&now);
        printf("\n");
        fail(TEST, "pass %lu: the RTC went backwards", pass);
    }
    if (!rtc_reads++)
        rtc_first = now;
    rtc_last = now;
}

/* ---- the BSP's loop ---- */

/* rate=R: sleeps until the BSP's bytes swept since `start` fit R MiB/s. */
static void throttle(uint64_t start, uint64_t bytes)
{
    if (!rate_mib)
        return;
    uint64_t due_us = bytes / rate_mib * 1000000 >> 20;
    while (time_us() - start < due_us)
        __asm__ volatile("sti; hlt; cli" ::: "memory");    /* next timer tick */
}

static void notice_migration(uint64_t pass)
{
    if (migrated)
        return;
    migrated = true;
    m_pass = pass;
    m_time = time_us();
    m_ticks = ticks;
    for (unsigned i = 0; i < nr_cpus; i++)
        m_passes[i] = jobs[i].passes;
    printf("%s: migrated: noticed at pass %lu, %lu more passes\n", TEST, pass, passes_after);
}

static void serial_input(int c, uint64_t pass)
{
    if (c == 'M') {
        notice_migration(pass);
    } else if (c == '\r' || c == '\n') {
        line[line_len] = '\0';
        if (strcmp(line, "migrated") == 0)
            notice_migration(pass);
        line_len = 0;
    } else if (line_len < sizeof(line) - 1) {
        line[line_len++] = (char)c;
    }
}

/* Ring 0 between two chunks: keep it short, it runs emulated here. */
static void between_chunks(uint64_t pass)
{
    uint64_t now = rdtsc();
    if (now < last_tsc)
        fail(TEST, "pass %lu: the TSC went back from 0x%lx to 0x%lx", pass, last_tsc, now);
    if (pass && now - last_tsc > max_step) {       /* pass 0: first touch */
        max_step = now - last_tsc;
        max_step_pass = pass;
    }
    if (pass) {
        steps++;
        steps_tsc += now - last_tsc;
    }
    last_tsc = now;
    int c;
    while ((c = serial_trygetc()) >= 0)
        serial_input(c, pass);
    /* Take a pending timer tick. Not "sti; nop; cli": an emulated ring 0
     * (the CI host) only gets interrupts injected at an exit, and hlt with
     * one pending is such an exit that returns at once. */
    if (lapic_irr_pending(VECTOR_LAPIC_TIMER))
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    check_aps();
}

static uint64_t us_of_tsc(uint64_t tsc)
{
    return tsc * 1000 / tsc_per_ms_get();
}

/* "a.bc" for n/d. */
static void print_ratio(const char *what, uint64_t n, uint64_t d)
{
    uint64_t x = d ? n * 100 / d : 0;
    printf("%s%lu.%02lu", what, x / 100, x % 100);
}

/* "cpu 0 12.34 passes/s of 32 MiB, ...; 812.50 MiB/s dirtied" between two
 * points in time; now_passes NULL: the counts as they are. */
static void rate_line(const char *what, uint64_t now, const uint64_t *now_passes, uint64_t then,
                      const uint64_t *then_passes)
{
    uint64_t dt = now - then, mib_dirtied = 0;
    if (!dt)
        return;
    printf("%s: %s over %lu ms:", TEST, what, dt / 1000);
    for (unsigned i = 0; i < nr_cpus; i++) {
        uint64_t n = (now_passes ? now_passes[i] : jobs[i].passes) - then_passes[i];
        mib_dirtied += n * (jobs[i].bytes >> 20);
        printf("%s cpu %u ", i ? "," : "", i);
        print_ratio("", n * 1000000, dt);
        printf(" passes/s of %lu MiB", jobs[i].bytes >> 20);
    }
    print_ratio("; ", mib_dirtied * 1000000, dt);
    printf(" MiB/s dirtied\n");
}

/* After the migration: every CPU K full passes, the timer still ticking. */
static bool finished(uint64_t now)
{
    uint64_t since = now - m_time;
    if (jobs[0].passes < m_passes[0] + 1 + passes_after)
        return false;
    if (!bsp_done_time)
        bsp_done_time = now;
    for (unsigned i = 1; i < nr_cpus; i++) {
        uint64_t done = jobs[i].passes - m_passes[i];
        if (done >= 1 + passes_after)
            continue;
        /* Same share as the BSP and no ring-0 work: it should be as fast. */
        if (now - bsp_done_time > AP_WAIT_MIN_US + 10 * (bsp_done_time - m_time))
            fail(TEST, "cpu %u: %lu passes in %lu ms since the migration was noticed, %lu needed "
                 "(it had done %lu before): a stuck AP", i, done, since / 1000,
                 1 + passes_after, m_passes[i]);
        return false;
    }
    if (ticks - m_ticks < MIN_TICKS_AFTER) {
        if (since > TICK_WAIT_US)
            fail(TEST, "LAPIC timer: %lu interrupts in %lu ms since the migration, one per 10 ms "
                 "expected (%lu before)", ticks - m_ticks, since / 1000, m_ticks);
        return false;
    }
    return true;
}

static void summary(uint64_t now, uint64_t pass0_end, const uint64_t *pass0_passes)
{
    printf("%s: after the migration:", TEST);
    for (unsigned i = 0; i < nr_cpus; i++)
        printf("%s cpu %u %lu passes", i ? "," : "", i, jobs[i].passes - m_passes[i]);
    printf(" in %lu ms, all words checked\n", (now - m_time) / 1000);
    if (m_time > pass0_end)
        rate_line("before the migration", m_time, m_passes, pass0_end, pass0_passes);
    uint64_t step = us_of_tsc(max_step), mean = steps ? us_of_tsc(steps_tsc / steps) : 0;
    printf("%s: TSC: never went back; largest step between two reads %lu.%03lu ms (pass %lu), "
           "mean %lu.%03lu ms\n", TEST, step / 1000, step % 1000, max_step_pass, mean / 1000,
           mean % 1000);
    printf("%s: RTC: never went back in %u reads, ", TEST, rtc_reads);
    rtc_print(&rtc_first);
    printf(" to ");
    rtc_print(&rtc_last);
    printf("\n%s: LAPIC timer: %lu interrupts, %lu since the migration\n", TEST, ticks, ticks - m_ticks);
}

/* ---- memory ---- */

static void add_extent(uint64_t base, uint64_t size)
{
    if (nr_extents && extents[nr_extents - 1].base + extents[nr_extents - 1].size == base) {
        extents[nr_extents - 1].size += size;
        return;
    }
    if (nr_extents == MAX_EXTENTS)
        fail(TEST, "more than %u pieces of RAM in the region", MAX_EXTENTS);
    extents[nr_extents++] = (struct extent){ base, size };
}

/* Takes `want` bytes of boot RAM above the image, in memory map order. */
static void take_boot_ram(uint64_t want)
{
    uint64_t floor = ALIGN_UP((uint64_t)image_end, MIB(2)), mapped = paging_map_ram(), have = 0;
    for (unsigned i = 0; i < boot.nr_ranges && want; i++) {
        const struct mem_range *r = &boot.ranges[i];
        uint64_t start = ALIGN_UP(r->addr > floor ? r->addr : floor, MIB(2));
        uint64_t end = r->addr + r->size < mapped ? r->addr + r->size : mapped;
        end = ALIGN_DOWN(end, MIB(2));
        if (r->type != E820_RAM || end <= start)
            continue;
        uint64_t n = end - start < want ? end - start : want;
        add_extent(start, n);
        want -= n;
        have += n;
    }
    if (want)
        fail(TEST, "mib=%lu does not fit: only %lu MiB of boot RAM above the guest image "
             "(0x%lx)%s; give the VM more memory or a smaller mib=", mib, have >> 20, floor,
             have ? " are free" : "");
}

/* Chunks of at most 16 MiB, and as many of them as CPUs at least. */
static void make_chunks(void)
{
    uint64_t total = MIB(mib), size = ALIGN_DOWN(total / nr_cpus, MIB(1));
    if (size > CHUNK_BYTES)
        size = CHUNK_BYTES;
    for (unsigned e = 0; e < nr_extents; e++)
        for (uint64_t off = 0; off < extents[e].size; off += size) {
            if (nr_chunks == MAX_CHUNKS)
                fail(TEST, "mib=%lu: more than %u chunks of %lu MiB", mib, MAX_CHUNKS, size >> 20);
            uint64_t n = extents[e].size - off < size ? extents[e].size - off : size;
            chunks[nr_chunks++] = (struct extent){ extents[e].base + off, n };
        }
    for (unsigned i = 0; i < nr_cpus; i++) {
        struct cpu_job *j = &jobs[i];
        j->first = i * nr_chunks / nr_cpus;
        j->count = (i + 1) * nr_chunks / nr_cpus - j->first;
        j->bytes = 0;
        for (unsigned c = j->first; c < j->first + j->count; c++)
            j->bytes += chunks[c].size;
        printf("%s: cpu %u sweeps %lu MiB in %u chunks from 0x%lx\n", TEST, i, j->bytes >> 20,
               j->count, chunks[j->first].base);
    }
}

/* break=N: what a VMM that lost a dirty page would leave behind. */
static void break_page(uint64_t pass)
{
    unsigned cpu = nr_cpus - 1;
    uint64_t page = chunks[jobs[cpu].first + jobs[cpu].count - 1].base;
    printf("%s: break=%lu: %s page 0x%lx of cpu %u\n", TEST, pass,
           cpu ? "zeroing" : "restoring the previous pass's values in", page, cpu);
    for (uint64_t a = page; a < page + 4096; a += 8)
        *(volatile uint64_t *)a = cpu ? 0 : pattern(a, pass - 1);
}

/* ---- the test ---- */

void test_migrate(void)
{
    mib = cmdline_get_u64("mib", 64);
    passes_after = cmdline_get_u64("passes", 3);
    rate_mib = cmdline_get_u64("rate", 0);
    uint64_t break_pass = cmdline_get_u64("break", 0);
    nr_cpus = (unsigned)cmdline_get_u64("cpus", 1);
    bool dimm = cmdline_get_u64("dimm", 0) != 0;
    if (!passes_after)
        fail(TEST, "passes=0: at least one pass must check memory after the migration");
    if (!nr_cpus || nr_cpus > MIGRATE_MAX_CPUS)
        fail(TEST, "cpus=%u: 1..%u", nr_cpus, MIGRATE_MAX_CPUS);
    if (mib < (dimm ? 2u : 1u) * nr_cpus || mib > GIB(1))
        fail(TEST, "mib=%lu: at least 1 MiB per CPU (%u CPUs)%s", mib, nr_cpus,
             dimm ? ", twice that with dimm=1" : "");
    (void)time_us();                /* calibrates the TSC, before anything is busy */

    uint64_t dimm_base = 0, dimm_size = 0, dimm_part = dimm ? mib - mib / 2 : 0;
    if (dimm) {
        memhp_wait_dimm(TEST, &dimm_base, &dimm_size);
        if (dimm_size < MIB(dimm_part))
            fail(TEST, "the DIMM at 0x%lx holds %lu MiB, half the region needs %lu", dimm_base,
                 dimm_size >> 20, dimm_part);
    }
    /* After memhp: its scan reads ACPI tables, which may sit in this RAM. */
    take_boot_ram(MIB(mib - dimm_part));
    if (dimm)
        add_extent(dimm_base, MIB(dimm_part));
    for (unsigned e = 0; e < nr_extents; e++)
        printf("%s: region part %u: 0x%lx-0x%lx, %lu MiB%s\n", TEST, e, extents[e].base,
               extents[e].base + extents[e].size - 1, extents[e].size >> 20,
               dimm && extents[e].base == dimm_base ? " (DIMM)" : "");
    make_chunks();

    interrupts_set_handler(VECTOR_LAPIC_TIMER, timer_interrupt);
    interrupts_set_handler(VECTOR_SPURIOUS, spurious_interrupt);
    lapic_timer_start_periodic(VECTOR_LAPIC_TIMER, TIMER_COUNT);
    if (nr_cpus > 1) {
        ap_work = ap_start;
        uint32_t online = smp_start_aps(nr_cpus, 5000000);
        if (online < nr_cpus)
            fail(TEST, "cpus=%u, but only %u CPUs came online", nr_cpus, online);
    }
    printf("%s: %u CPU%s dirtying; send 'M' on the serial console once migrated, then %lu passes\n",
           TEST, nr_cpus, nr_cpus == 1 ? "" : "s", passes_after);
    printf("%s: region 0x%lx %lu MiB, pass 0\n", TEST, extents[0].base, mib);

    uint64_t start = time_us(), last_progress = start, last_rate = 0, pass0_end = 0, swept = 0;
    uint64_t swept_pass0 = 0;
    uint64_t rate_passes[MIGRATE_MAX_CPUS] = { 0 }, pass0_passes[MIGRATE_MAX_CPUS] = { 0 };
    rtc_check(0);
    last_tsc = rdtsc();
    for (uint64_t p = 0;; p++) {
        for (unsigned c = jobs[0].first; c < jobs[0].first + jobs[0].count; c++) {
            struct sweep_job j = { .base = chunks[c].base, .size = chunks[c].size, .pass = p };
            if (user_run(user_sweep, (uint64_t)&j))
                bad_word(0, p, j.bad_addr, j.bad_value);
            swept += j.size;
            if (p)
                throttle(pass0_end, swept - swept_pass0);
            between_chunks(p);
        }
        jobs[0].passes = p + 1;
        if (break_pass && p == break_pass)
            break_page(p);
        uint64_t now = time_us();
        if (!p) {
            /* Rates leave out pass 0: first touch of every page. */
            pass0_end = last_rate = now;
            swept_pass0 = swept;
            printf("%s: pass 0 done in %lu ms\n", TEST, (now - start) / 1000);
            for (unsigned i = 0; i < nr_cpus; i++)
                pass0_passes[i] = rate_passes[i] = jobs[i].passes;
        }
        if (now - last_progress >= PROGRESS_US) {
            last_progress = now;
            printf("%s: region 0x%lx %lu MiB, pass %lu\n", TEST, extents[0].base, mib, p + 1);
            rtc_check(p);
        }
        if (now - last_rate >= RATE_EVERY_US) {
            rate_line("rate", now, NULL, last_rate, rate_passes);
            last_rate = now;
            for (unsigned i = 0; i < nr_cpus; i++)
                rate_passes[i] = jobs[i].passes;
        }
        if (migrated && finished(now)) {
            rtc_check(p);
            check_aps();
            summary(now, pass0_end, pass0_passes);
            pass(TEST);
        }
    }
}
