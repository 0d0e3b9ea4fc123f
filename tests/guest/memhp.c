/*
 * The hotplug and unplug tests: ACPI memory hotplug (PC-DIMM) driven the way
 * an OS drives it, interrupt first.
 *
 * Set-up: find the FADT's SCI and GPE0 block and the MADT's IOAPIC and SCI
 * override, switch to ACPI mode (SMI_CMD <- ACPI_ENABLE) if SCI_EN is clear,
 * silence every other SCI source (PM1 enables, other GPE bits), route the
 * SCI's GSI through the IOAPIC to VECTOR_SCI on this CPU with the override's
 * trigger and polarity (Linux's defaults, level and active low, without
 * one), and enable GPE0 bit 3. The 8259 stays masked (main.c).
 *
 * Each SCI: read the GPE0 status, clear bit 3 (write 1) before the EOI so the
 * level-triggered line drops, and flag the event; the main loop then runs the
 * DSDT's \_SB.MHPC.MSCN by hand on the controller at I/O 0x0a00:
 * for each slot, select it and read the status byte; on insert read base,
 * size and proximity, acknowledge (clear insert), _OST(1 device check, 0),
 * map the range (2 MiB user pages) and write and read back every 4 KiB page
 * from ring 3; on remove stop using the DIMM (unmap, flush the TLB),
 * acknowledge (clear remove), _OST(3 eject request, 0) and eject (_EJ0).
 * A LAPIC timer wakes `hlt` every ~50 ms only to watch the clock (and the
 * GPE0 status: an event left unannounced by an SCI for 1 s fails the test).
 *
 * Command-line keys:
 *   dimms=N     hotplug: how many DIMMs must arrive
 *   slots=S     the controller's slot count; must equal the DSDT's MDNR when
 *               it has one (without slots=, MDNR is used)
 *   replug=1    unplug: after the eject, wait for one more DIMM and check it
 *   timeout=SEC each wait (default 60)
 *   sci=0       poll GPE0 status instead of taking the SCI (diagnostics only)
 *   srat=0      do not check DIMMs against the SRAT's hot-pluggable range
 *
 * Lines other tools wait for: "TEST: waiting for ...", "TEST: slot S
 * acknowledged" (plug latency is device_add -> this line), "TEST: slot S:
 * base 0x... size N MiB checked", "unplug: slot S ready", "unplug: slot S
 * ejected".
 */
#include "acpi.h"
#include "boot_info.h"
#include "interrupts.h"
#include "ioapic.h"
#include "lapic.h"
#include "paging.h"
#include "pit.h"
#include "tests.h"

/* The memory hotplug controller (firmware-interfaces.md §3.1). */
#define MHP_PORT        0x0a00
#define MHP_SELECTOR    0x00        /* write */
#define MHP_BASE_LO     0x00        /* read */
#define MHP_BASE_HI     0x04
#define MHP_OST_EVENT   0x04        /* write */
#define MHP_SIZE_LO     0x08
#define MHP_OST_STATUS  0x08        /* write */
#define MHP_SIZE_HI     0x0c
#define MHP_PROXIMITY   0x10
#define MHP_STATUS      0x14
#define MHP_ENABLED     0x01
#define MHP_INSERT      0x02        /* read: pending; write: clear */
#define MHP_REMOVE      0x04
#define MHP_EJECT       0x08        /* write */
#define MAX_SLOTS       256

#define OST_DEVICE_CHECK  1
#define OST_EJECT_REQUEST 3
#define OST_SUCCESS       0

#define PM1_SCI_EN      1u
#define GPE_MEMHP       (1u << 3)
#define VECTOR_SCI      0x30
#define WAKE_COUNT      3125000     /* ~50 ms at KVM's 1 GHz APIC bus / 16 */
#define SCI_STORM       10000
#define NO_SCI_US       1000000
#define EJECT_WAIT_US   1000000

/* MPS INTI flags of a MADT interrupt source override. */
#define INTI_POLARITY(f) ((f) & 3)  /* 0 conforms, 1 high, 3 low */
#define INTI_TRIGGER(f)  (((f) >> 2) & 3)   /* 0 conforms, 1 edge, 3 level */

struct dimm {
    bool mapped;
    uint64_t base, size;
    uint32_t proximity;
};

static const char *T;
static struct acpi acpi;
static struct dimm dimms[MAX_SLOTS];
static unsigned nr_slots;
static uint16_t gpe_sts, gpe_en;
static uint32_t sci_gsi;
static bool polling, check_srat, check_memory;
static uint64_t timeout_us;

static volatile bool gpe_event;
static volatile uint32_t scis, spurious_scis;
static unsigned inserted, removed;
static unsigned last_inserted, last_removed;

/* ---- the controller ---- */

static void mhp_select(unsigned slot)
{
    outl(MHP_PORT + MHP_SELECTOR, slot);
}

static uint32_t mhp_read(unsigned off)
{
    return inl((uint16_t)(MHP_PORT + off));
}

/* Bits 4-7 read 0: all-ones means nothing answers at MHP_PORT. */
static uint8_t mhp_status(void)
{
    uint8_t st = inb(MHP_PORT + MHP_STATUS);
    if (st & 0xf0)
        fail(T, "memory hotplug status byte at %x reads %x: no controller there?",
             MHP_PORT + MHP_STATUS, st);
    return st;
}

static void mhp_write_status(uint8_t bits)
{
    outb(MHP_PORT + MHP_STATUS, bits);
}

static void mhp_ost(uint32_t event, uint32_t status)
{
    outl(MHP_PORT + MHP_OST_EVENT, event);
    outl(MHP_PORT + MHP_OST_STATUS, status);
}

/* ---- interrupts ---- */

static void sci_interrupt(struct interrupt_frame *f)
{
    (void)f;
    uint8_t sts = inb(gpe_sts);
    if (sts & GPE_MEMHP) {
        outb(gpe_sts, GPE_MEMHP);   /* before the EOI: the level SCI drops */
        gpe_event = true;
        scis++;
    } else if (++spurious_scis >= SCI_STORM) {
        ioapic_mask(sci_gsi, true);
        fail(T, "SCI storm: %u SCIs with GPE0 bit 3 clear (GPE0 status %x enable %x, "
             "IOAPIC entry %x): wrong polarity or a line that does not drop?",
             spurious_scis, sts, inb(gpe_en), ioapic_entry(sci_gsi));
    }
    lapic_eoi();
}

static void timer_interrupt(struct interrupt_frame *f)
{
    (void)f;
    lapic_eoi();
}

static void spurious_interrupt(struct interrupt_frame *f)
{
    (void)f;
}

/* ---- events ---- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* What an OS would refuse to online. */
static void check_dimm(unsigned slot, uint8_t status, uint64_t base, uint64_t size, uint32_t pxm)
{
    if (!(status & MHP_ENABLED))
        fail(T, "slot %u: insert pending but not enabled (status %x)", slot, status);
    if (dimms[slot].mapped)
        fail(T, "slot %u: insert event for a slot already in use at %lx", slot, dimms[slot].base);
    if (!size)
        fail(T, "slot %u: insert event with size 0 (base %lx)", slot, base);
    if ((base | size) & (MIB(2) - 1))
        fail(T, "slot %u: base %lx size %lx not 2 MiB aligned", slot, base, size);
    if (base < GIB(4) || base + size < base || base + size > (1ull << 48))
        fail(T, "slot %u: range %lx-%lx is not in a window above 4 GiB", slot, base, base + size - 1);
    for (unsigned i = 0; i < boot.nr_ranges; i++)
        if (boot.ranges[i].type == E820_RAM &&
            overlaps(base, size, boot.ranges[i].addr, boot.ranges[i].size))
            fail(T, "slot %u: range %lx-%lx overlaps boot RAM %lx-%lx", slot, base,
                 base + size - 1, boot.ranges[i].addr, boot.ranges[i].addr + boot.ranges[i].size - 1);
    for (unsigned s = 0; s < nr_slots; s++)
        if (dimms[s].mapped && overlaps(base, size, dimms[s].base, dimms[s].size))
            fail(T, "slot %u: range %lx-%lx overlaps slot %u's DIMM at %lx", slot, base,
                 base + size - 1, s, dimms[s].base);
    if (!check_srat || !acpi_table(&acpi, "SRAT"))
        return;
    uint32_t flags, srat_pxm;
    if (!acpi_srat_lookup(&acpi, base, size, &flags, &srat_pxm))
        fail(T, "slot %u: range %lx-%lx is in no SRAT memory affinity entry (srat=0 skips)",
             slot, base, base + size - 1);
    if ((flags & 3) != 3)
        fail(T, "slot %u: the SRAT entry holding %lx has flags %x, not enabled|hot-pluggable",
             slot, base, flags);
    if (srat_pxm != pxm)
        fail(T, "slot %u: proximity %u, but the SRAT entry holding it says %u", slot, pxm, srat_pxm);
}

/* The slot is selected and reports insert pending. */
static void handle_insert(unsigned slot, uint8_t status)
{
    uint64_t base = mhp_read(MHP_BASE_LO) | (uint64_t)mhp_read(MHP_BASE_HI) << 32;
    uint64_t size = mhp_read(MHP_SIZE_LO) | (uint64_t)mhp_read(MHP_SIZE_HI) << 32;
    uint32_t pxm = mhp_read(MHP_PROXIMITY);
    mhp_write_status(MHP_INSERT);
    mhp_ost(OST_DEVICE_CHECK, OST_SUCCESS);
    printf("%s: slot %u acknowledged\n", T, slot);
    printf("%s: slot %u: inserted: base %lx size %lx proximity %u\n", T, slot, base, size, pxm);
    check_dimm(slot, status, base, size, pxm);
    if (!paging_map_range(base, size))
        fail(T, "slot %u: cannot map %lx-%lx (page-table pools exhausted?)", slot, base, base + size - 1);
    dimms[slot] = (struct dimm){ true, base, size, pxm };
    if (check_memory) {
        uint64_t t0 = time_us(), bad_addr, bad_value;
        if (!mem_check_ring3(base, base + size, &bad_addr, &bad_value))
            fail(T, "slot %u: memory at %lx reads %lx", slot, bad_addr, bad_value);
        uint64_t ms = (time_us() - t0) / 1000;
        printf("%s: slot %u: base 0x%lx size %lu MiB checked\n", T, slot, base, size >> 20);
        printf("%s: slot %u: ring 3 wrote and read back %lu pages in %lu ms\n", T, slot,
               size >> 12, ms);
    }
    inserted++;
    last_inserted = slot;
}

/* The slot is selected and reports remove pending: what Linux does between
 * Notify(3) and _EJ0 (offline, remove), then the MSCN and _EJ0 writes. */
static void handle_remove(unsigned slot)
{
    struct dimm *d = &dimms[slot];
    printf("%s: slot %u: remove request%s\n", T, slot, d->mapped ? "" : " for a DIMM not in use");
    if (d->mapped) {
        paging_unmap_range(d->base, d->size);
        d->mapped = false;
    }
    mhp_write_status(MHP_REMOVE);
    mhp_ost(OST_EJECT_REQUEST, OST_SUCCESS);
    mhp_write_status(MHP_EJECT);
    /* The VMM drops the DIMM; the slot then reads not enabled. */
    uint64_t t0 = time_us();
    uint8_t st;
    for (;;) {
        mhp_select(slot);
        st = mhp_status();
        if (!(st & MHP_ENABLED) || time_us() - t0 > EJECT_WAIT_US)
            break;
        delay_us(1000);
    }
    if (st & MHP_ENABLED)
        fail(T, "slot %u: still enabled 1 s after the eject (status %x)", slot, st);
    printf("%s: slot %u ejected\n", T, slot);
    removed++;
    last_removed = slot;
}

/* \_SB.MHPC.MSCN: one pass over the slots. */
static void scan(void)
{
    for (unsigned slot = 0; slot < nr_slots; slot++) {
        mhp_select(slot);
        uint8_t st = mhp_status();
        if (st & MHP_INSERT)
            handle_insert(slot, st);
        else if (st & MHP_REMOVE)
            handle_remove(slot);
    }
}

/* Sleeps in hlt until *counter reaches target, scanning after each event. */
static void wait_until(const unsigned *counter, unsigned target, const char *what)
{
    uint64_t start = time_us(), gpe_since = 0;
    while (*counter < target) {
        uint64_t now = time_us();
        if (now - start > timeout_us)
            fail(T, "%s: %u of %u within %lu s (%u SCIs, %u without GPE0 bit 3; GPE0 status %x "
                 "enable %x; IOAPIC entry %x)", what, *counter, target, timeout_us / 1000000,
                 scis, spurious_scis, inb(gpe_sts), inb(gpe_en), ioapic_entry(sci_gsi));
        if (polling) {
            /* sci=0 only: no interrupt, GPE0 status read every wake-up. */
            if (inb(gpe_sts) & GPE_MEMHP) {
                outb(gpe_sts, GPE_MEMHP);
                gpe_event = true;
            }
        } else if (!gpe_event) {
            /* Watchdog: a GPE event the SCI never announced. */
            if (!(inb(gpe_sts) & GPE_MEMHP))
                gpe_since = 0;
            else if (!gpe_since)
                gpe_since = now;
            else if (now - gpe_since > NO_SCI_US)
                fail(T, "GPE0 bit 3 set and enabled for 1 s without an SCI (GSI %u, IOAPIC "
                     "entry %x, %u SCIs so far); sci=0 polls instead", sci_gsi,
                     ioapic_entry(sci_gsi), scis);
        }
        if (gpe_event) {
            gpe_event = false;
            scan();
            continue;
        }
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
}

/* ---- set-up ---- */

/* Returns how SCI_EN got set, for the summary line. */
static const char *acpi_mode(const struct acpi_sci *s)
{
    if (!s->pm1a_cnt || s->pm1a_cnt > 0xffff)
        fail(T, "FADT PM1a_CNT_BLK is %x", s->pm1a_cnt);
    uint16_t cnt = (uint16_t)s->pm1a_cnt;
    if (inw(cnt) & PM1_SCI_EN)
        return "already set";
    if (!s->smi_cmd || !s->acpi_enable) {
        /* SMI_CMD 0: the machine is always in ACPI mode; SCI_EN should be set. */
        outw(cnt, (uint16_t)(inw(cnt) | PM1_SCI_EN));
        return "was clear without SMI_CMD: set it";
    }
    outb((uint16_t)s->smi_cmd, s->acpi_enable);
    uint64_t t0 = time_us();
    while (!(inw(cnt) & PM1_SCI_EN))
        if (time_us() - t0 > 1000000)
            fail(T, "SCI_EN still clear 1 s after writing %x to SMI_CMD %x", s->acpi_enable, s->smi_cmd);
    return "set through SMI_CMD";
}

static void route_sci(const struct acpi_sci *s)
{
    /* Linux: a conforming SCI (or one without an override) is level, active low. */
    unsigned pol = s->have_override ? INTI_POLARITY(s->override_flags) : 0;
    unsigned trig = s->have_override ? INTI_TRIGGER(s->override_flags) : 0;
    bool low = pol != 1, level = trig != 1;
    const char *err = ioapic_init(s->ioapic, s->ioapic_gsi_base);
    if (!err)
        err = ioapic_route(s->gsi, VECTOR_SCI, level, low, lapic_id());
    if (err)
        fail(T, "cannot route the SCI (IRQ %u, GSI %u) through the IOAPIC at %x: %s (sci=0 polls)",
             s->sci, s->gsi, s->ioapic, err);
    sci_gsi = s->gsi;
    printf("%s: SCI IRQ %u -> GSI %u (%s, active %s, %s) -> IOAPIC %x -> vector %x on APIC %u\n",
           T, s->sci, s->gsi, level ? "level" : "edge", low ? "low" : "high",
           s->have_override ? "MADT override" : "no MADT override: ACPI default",
           s->ioapic, VECTOR_SCI, lapic_id());
}

static void setup(const char *test)
{
    T = test;
    const char *err = acpi_find(&acpi);
    if (err)
        fail(T, "%s", err);
    struct acpi_sci s;
    acpi_sci_info(&acpi, &s);
    if (s.hw_reduced)
        fail(T, "hardware-reduced ACPI: this test drives the GPE/SCI model, not GED");
    if (!s.gpe0 || s.gpe0 > 0xffff || !s.gpe0_len || s.gpe0_len % 2)
        fail(T, "FADT GPE0 block %x length %u", s.gpe0, s.gpe0_len);
    gpe_sts = (uint16_t)s.gpe0;
    gpe_en = (uint16_t)(s.gpe0 + s.gpe0_len / 2);

    int32_t mdnr = acpi_name_int(&acpi, "MDNR");
    uint64_t want = cmdline_get_u64("slots", 0);
    if (mdnr >= 0 && want && (uint64_t)mdnr != want)
        fail(T, "the DSDT's MDNR says %d slots, slots=%lu", mdnr, want);
    nr_slots = (unsigned)(want ? want : mdnr > 0 ? (uint64_t)mdnr : 0);
    if (!nr_slots || nr_slots > MAX_SLOTS)
        fail(T, "slots=S (1..%u) missing and no usable Name(MDNR) in the DSDT", MAX_SLOTS);
    polling = cmdline_get_u64("sci", 1) == 0;
    check_srat = cmdline_get_u64("srat", 1) != 0;
    /* check=0: skip the page-by-page check (the hotplug benchmark times
     * plug and unplug, not first touch of gigabytes). */
    check_memory = cmdline_get_u64("check", 1) != 0;
    timeout_us = cmdline_get_u64("timeout", 60) * 1000000;

    const char *mode = acpi_mode(&s);
    /* Only GPE0 bit 3 may raise the SCI: PM1 enables off, other GPEs off. */
    if (s.pm1a_evt && s.pm1a_evt <= 0xffff && s.pm1_evt_len >= 4)
        outw((uint16_t)(s.pm1a_evt + s.pm1_evt_len / 2), 0);
    for (unsigned i = 0; i < s.gpe0_len / 2u; i++)
        outb((uint16_t)(gpe_en + i), 0);
    outb(gpe_sts, GPE_MEMHP);       /* a stale event; the first scan below finds it */

    interrupts_set_handler(VECTOR_SCI, sci_interrupt);
    interrupts_set_handler(VECTOR_LAPIC_TIMER, timer_interrupt);
    interrupts_set_handler(VECTOR_SPURIOUS, spurious_interrupt);
    if (polling)
        printf("%s: sci=0: polling GPE0 status instead of taking the SCI\n", T);
    else
        route_sci(&s);
    outb(gpe_en, GPE_MEMHP);
    if (inb(gpe_en) != GPE_MEMHP)
        fail(T, "GPE0 enable byte %x reads %x after writing %x", gpe_en, inb(gpe_en), GPE_MEMHP);
    if (!polling)
        ioapic_mask(sci_gsi, false);
    lapic_timer_start_periodic(VECTOR_LAPIC_TIMER, WAKE_COUNT);
    printf("%s: SCI_EN %s; GPE0 %x+%u, bit 3 enabled at %x; %u slots (DSDT MDNR %d); "
           "controller at %x\n", T, mode, gpe_sts, s.gpe0_len, gpe_en, nr_slots, mdnr, MHP_PORT);

    /* Boot-time enumeration: DIMMs already present are listed and left alone. */
    for (unsigned slot = 0; slot < nr_slots; slot++) {
        mhp_select(slot);
        uint8_t st = mhp_status();
        if ((st & (MHP_ENABLED | MHP_INSERT | MHP_REMOVE)) == MHP_ENABLED)
            printf("%s: slot %u: present at boot: base %x_%08x size %x_%08x\n", T, slot,
                   mhp_read(MHP_BASE_HI), mhp_read(MHP_BASE_LO), mhp_read(MHP_SIZE_HI),
                   mhp_read(MHP_SIZE_LO));
    }
    scan();
}

void memhp_wait_dimm(const char *test, uint64_t *base, uint64_t *size)
{
    setup(test);
    printf("%s: waiting for 1 DIMM\n", T);
    wait_until(&inserted, 1, "DIMMs plugged");
    *base = dimms[last_inserted].base;
    *size = dimms[last_inserted].size;
}

void test_hotplug(void)
{
    setup("hotplug");
    unsigned want = (unsigned)cmdline_get_u64("dimms", 0);
    if (!want || want > nr_slots)
        fail(T, "dimms=N (1..%u) missing on the command line", nr_slots);
    printf("hotplug: waiting for %u DIMMs\n", want);
    wait_until(&inserted, want, "DIMMs plugged");
    printf("hotplug: %u DIMMs checked, %u SCIs\n", inserted, scis);
    pass(T);
}

void test_unplug(void)
{
    setup("unplug");
    bool replug = cmdline_get_u64("replug", 0) != 0;
    printf("unplug: waiting for 1 DIMM\n");
    wait_until(&inserted, 1, "DIMMs plugged");
    printf("unplug: slot %u ready\n", last_inserted);
    wait_until(&removed, 1, "DIMMs ejected");
    if (last_removed != last_inserted)
        fail(T, "remove request for slot %u, but slot %u holds the DIMM", last_removed, last_inserted);
    if (replug) {
        unsigned before = inserted;
        printf("unplug: waiting for another DIMM\n");
        wait_until(&inserted, before + 1, "DIMMs replugged");
        printf("unplug: slot %u replugged\n", last_inserted);
    }
    printf("unplug: %u SCIs\n", scis);
    pass(T);
}
