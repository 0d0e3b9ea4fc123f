/*
 * ACPI: finding the tables (shared by acpi, poweroff and demo), then the
 * acpi and poweroff tests.
 *
 * Byte loops over tables (the RSDP scan, checksums, the AML search) run in
 * ring 3, which is native on the CI host; register accesses run in ring 0.
 *
 * Command-line keys: cpus=N (the MADT must list exactly N enabled local
 * APICs), oem=ID (every table's OEM ID, trailing spaces removed, must equal
 * it), srat=0 (an absent SRAT is not a failure; QEMU builds one only with
 * maxmem or NUMA).
 */
#include "acpi.h"
#include "boot_info.h"
#include "pit.h"
#include "tests.h"
#include "user.h"

#define EBDA_SEGMENT_PTR 0x40e
#define BIOS_AREA_START  0xe0000
#define BIOS_AREA_END    0x100000
#define RSDP_V1_LEN      20

/* FADT field offsets (ACPI 6.x, 5.2.9). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT          40
#define FADT_PM1A_EVT_BLK  56
#define FADT_PM1A_CNT_BLK  64
#define FADT_PM1B_CNT_BLK  68
#define FADT_PM_TMR_BLK    76
#define FADT_GPE0_BLK      80
#define FADT_PM1_EVT_LEN   88
#define FADT_PM1_CNT_LEN   89
#define FADT_PM_TMR_LEN    91
#define FADT_GPE0_BLK_LEN  92
#define FADT_FLAGS         112
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT        140
#define FADT_X_PM1A_EVT_BLK 148
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM_TMR_BLK  208
#define FADT_X_GPE0_BLK    220
#define FADT_V1_LEN        116
#define FADT_TMR_VAL_EXT   (1u << 8)
#define FADT_HW_REDUCED    (1u << 20)

#define PM_TIMER_HZ 3579545u
#define PM1_SCI_EN  (1u << 0)
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN  (1u << 13)
#define PM1_SLP_TYP_MASK (7u << PM1_SLP_TYP_SHIFT)

#define MADT_LAPIC   0
#define MADT_IOAPIC  1
#define MADT_X2APIC  9
#define SRAT_MEMORY  1
#define SRAT_ENABLED 1u

/* Physical reads through the identity map. The empty asm hides the
 * constant address (e.g. 0x40e) from GCC's null-page heuristics. */
static inline uint64_t phys(uint64_t a)
{
    __asm__("" : "+r"(a));
    return a;
}
static inline uint8_t rd8(uint64_t a) { return *(volatile uint8_t *)phys(a); }
static inline uint16_t rd16(uint64_t a) { return *(volatile uint16_t *)phys(a); }
static inline uint32_t rd32(uint64_t a) { return *(volatile uint32_t *)phys(a); }
static inline uint64_t rd64(uint64_t a) { return *(volatile uint64_t *)phys(a); }

/* Ring 3 jobs. */
struct sum_job {
    uint64_t addr, len;
};

static uint64_t user_sum(uint64_t arg)
{
    const struct sum_job *j = (const void *)arg;
    uint8_t s = 0;
    for (uint64_t i = 0; i < j->len; i++)
        s += ((const volatile uint8_t *)j->addr)[i];
    return s;
}

uint8_t acpi_sum(uint64_t addr, uint64_t len)
{
    struct sum_job j = { addr, len };
    return (uint8_t)user_run(user_sum, (uint64_t)&j);
}

static bool rsdp_valid(uint64_t p)
{
    const struct acpi_rsdp *r = (const void *)p;
    if (memcmp(r->signature, "RSD PTR ", 8) != 0)
        return false;
    uint8_t s = 0;
    for (int i = 0; i < RSDP_V1_LEN; i++)
        s += ((const uint8_t *)p)[i];
    if (s)
        return false;
    if (r->revision < 2)
        return true;
    if (r->length < sizeof(*r) || r->length > 4096)
        return false;
    for (uint32_t i = 0; i < r->length; i++)
        s += ((const uint8_t *)p)[i];
    return s == 0;
}

struct scan_job {
    uint64_t start, end;
};

static uint64_t user_scan_rsdp(uint64_t arg)
{
    const struct scan_job *j = (const void *)arg;
    for (uint64_t p = j->start; p + RSDP_V1_LEN <= j->end; p += 16)
        if (rsdp_valid(p))
            return p;
    return 0;
}

static uint64_t scan_rsdp(uint64_t start, uint64_t end)
{
    struct scan_job j = { start, end };
    return user_run(user_scan_rsdp, (uint64_t)&j);
}

static bool sig_is(uint64_t table, const char *sig)
{
    return table && memcmp((const void *)table, sig, 4) == 0;
}

/* A table pointer we can follow: nonzero, inside the identity map. The
 * message names the pointer: "<what> pointer is 0" and so on. */
static const char *check_pointer(uint64_t p, const char *what)
{
    static char msg[96];
    const char *why = !p ? " pointer is 0" : " pointer is not below 4 GiB";
    size_t n = strlen(what), m = strlen(why);
    if (p && p < GIB(4) - 64)
        return NULL;
    if (n > sizeof(msg) - m - 1)
        n = sizeof(msg) - m - 1;
    memcpy(msg, what, n);
    memcpy(msg + n, why, m + 1);
    return msg;
}

const char *acpi_find(struct acpi *a)
{
    const char *err;
    memset(a, 0, sizeof(*a));
    if (boot.rsdp_paddr) {
        a->rsdp = boot.rsdp_paddr;
        a->rsdp_from = "pvh";
        if ((err = check_pointer(a->rsdp, "hvm_start_info.rsdp_paddr")))
            return err;
        if (!rsdp_valid(a->rsdp))
            return "the RSDP at hvm_start_info.rsdp_paddr has a bad signature or checksum";
    } else {
        uint64_t ebda = (uint64_t)rd16(EBDA_SEGMENT_PTR) << 4;
        if (ebda >= KIB(64) && ebda < 0xa0000)
            a->rsdp = scan_rsdp(ebda, ebda + 1024);
        a->rsdp_from = "EBDA";
        if (!a->rsdp) {
            a->rsdp = scan_rsdp(BIOS_AREA_START, BIOS_AREA_END);
            a->rsdp_from = "BIOS area";
        }
        if (!a->rsdp)
            return "no RSDP with a valid checksum in the EBDA or at 0xe0000-0xfffff";
    }
    const struct acpi_rsdp *r = (const void *)a->rsdp;
    a->rsdt = r->rsdt;
    if (r->revision >= 2)
        a->xsdt = r->xsdt;
    if (!a->rsdt && !a->xsdt)
        return "the RSDP points to neither an RSDT nor an XSDT";
    if (a->rsdt && ((err = check_pointer(a->rsdt, "RSDT")) || !sig_is(a->rsdt, "RSDT")))
        return err ? err : "the RSDP's RSDT pointer does not lead to \"RSDT\"";
    if (a->xsdt && ((err = check_pointer(a->xsdt, "XSDT")) || !sig_is(a->xsdt, "XSDT")))
        return err ? err : "the RSDP's XSDT pointer does not lead to \"XSDT\"";

    uint64_t sdt = a->xsdt ? a->xsdt : a->rsdt;
    unsigned entry = a->xsdt ? 8 : 4;
    uint32_t len = rd32(sdt + 4);
    if (len < sizeof(struct acpi_header) || (len - sizeof(struct acpi_header)) % entry)
        return "RSDT/XSDT length is not a header plus whole entries";
    unsigned n = (len - sizeof(struct acpi_header)) / entry;
    if (n > ACPI_MAX_TABLES)
        return "more than 64 tables in the RSDT/XSDT";
    for (unsigned i = 0; i < n; i++) {
        uint64_t p = sdt + sizeof(struct acpi_header) + i * entry;
        a->tables[i] = entry == 8 ? rd64(p) : rd32(p);
        if ((err = check_pointer(a->tables[i], "RSDT/XSDT entry")))
            return err;
    }
    a->nr_tables = n;

    a->fadt = acpi_table(a, "FACP");
    if (!a->fadt)
        return "no FADT (\"FACP\") in the RSDT/XSDT";
    uint32_t flen = rd32(a->fadt + 4);
    if (flen < FADT_V1_LEN)
        return "FADT shorter than 116 bytes";
    a->dsdt = rd32(a->fadt + FADT_DSDT);
    if (flen >= FADT_X_DSDT + 8 && rd64(a->fadt + FADT_X_DSDT))
        a->dsdt = rd64(a->fadt + FADT_X_DSDT);
    a->facs = rd32(a->fadt + FADT_FIRMWARE_CTRL);
    if (flen >= FADT_X_FIRMWARE_CTRL + 8 && rd64(a->fadt + FADT_X_FIRMWARE_CTRL))
        a->facs = rd64(a->fadt + FADT_X_FIRMWARE_CTRL);
    if ((err = check_pointer(a->dsdt, "DSDT")))
        return err;
    if (!sig_is(a->dsdt, "DSDT"))
        return "the FADT's DSDT pointer does not lead to \"DSDT\"";
    if (a->facs && (err = check_pointer(a->facs, "FACS")))
        return err;
    return NULL;
}

uint64_t acpi_table(const struct acpi *a, const char *sig)
{
    for (unsigned i = 0; i < a->nr_tables; i++)
        if (sig_is(a->tables[i], sig))
            return a->tables[i];
    return 0;
}

/* ---- test=acpi ---- */

static const char *const ACPI_TEST = "acpi";

/* An OEM ID without its trailing spaces, NUL-terminated. */
static void oem_string(const char *id, char out[7])
{
    int n = 6;
    memcpy(out, id, 6);
    while (n && (out[n - 1] == ' ' || out[n - 1] == 0))
        n--;
    out[n] = 0;
}

static void check_oem(const char *what, const char *id, const char *want)
{
    char oem[7];
    oem_string(id, oem);
    if (want[0] && strcmp(oem, want) != 0)
        fail(ACPI_TEST, "%s has OEM ID \"%s\", expected \"%s\"", what, oem, want);
}

/* Signature, length, checksum, OEM ID; prints the summary line. */
static void check_table(uint64_t t, const char *sig, const char *oem)
{
    const struct acpi_header *h = (const void *)t;
    char s[5] = { 0 }, id[7], tid[9] = { 0 };
    memcpy(s, h->signature, 4);
    memcpy(tid, h->oem_table_id, 8);
    oem_string(h->oem_id, id);
    printf("acpi: %s at %08lx, %u bytes, revision %u, OEM \"%s\" \"%s\"\n",
           s, t, h->length, h->revision, id, tid);
    if (sig && memcmp(s, sig, 4) != 0)
        fail(ACPI_TEST, "table at %lx has signature \"%s\", expected \"%s\"", t, s, sig);
    if (h->length < sizeof(*h) || h->length > MIB(1))
        fail(ACPI_TEST, "%s at %lx has length %u", s, t, h->length);
    if (t + h->length > GIB(4))
        fail(ACPI_TEST, "%s at %lx runs past 4 GiB", s, t);
    uint8_t sum = acpi_sum(t, h->length);
    if (sum)
        fail(ACPI_TEST, "%s at %lx: checksum off by %u", s, t, sum);
    check_oem(s, h->oem_id, oem);
}

static void check_sdts(const struct acpi *a)
{
    if (!a->rsdt || !a->xsdt)
        return;
    uint32_t rn = (rd32(a->rsdt + 4) - sizeof(struct acpi_header)) / 4;
    if (rn != a->nr_tables)
        fail(ACPI_TEST, "RSDT lists %u tables, XSDT %u", rn, a->nr_tables);
    for (uint32_t i = 0; i < rn; i++) {
        uint64_t t = rd32(a->rsdt + sizeof(struct acpi_header) + i * 4);
        bool found = false;
        for (unsigned j = 0; j < a->nr_tables; j++)
            found |= a->tables[j] == t;
        if (!found)
            fail(ACPI_TEST, "RSDT entry %u (%lx) is not in the XSDT", i, t);
    }
}

static void check_madt(uint64_t madt)
{
    uint64_t want = cmdline_get_u64("cpus", 0);
    uint32_t len = rd32(madt + 4), lapics = 0, x2apics = 0, ioapics = 0, others = 0;
    uint64_t ioapic_addr = 0;
    char ids[160];
    unsigned idlen = 0;
    ids[0] = 0;
    for (uint64_t p = madt + 44; p + 2 <= madt + len;) {
        uint8_t type = rd8(p), elen = rd8(p + 1);
        if (elen < 2 || p + elen > madt + len)
            fail(ACPI_TEST, "MADT entry at offset %lu has length %u", p - madt, elen);
        if (type == MADT_LAPIC && elen >= 8) {
            if (rd32(p + 4) & 1) {
                lapics++;
                uint8_t id = rd8(p + 3);
                if (idlen + 5 < sizeof(ids)) {
                    ids[idlen++] = ' ';
                    if (id >= 100)
                        ids[idlen++] = (char)('0' + id / 100);
                    if (id >= 10)
                        ids[idlen++] = (char)('0' + id / 10 % 10);
                    ids[idlen++] = (char)('0' + id % 10);
                    ids[idlen] = 0;
                }
            }
        } else if (type == MADT_IOAPIC && elen >= 12) {
            ioapics++;
            ioapic_addr = rd32(p + 4);
        } else if (type == MADT_X2APIC) {
            x2apics += rd32(p + 8) & 1;
        } else {
            others++;
        }
        p += elen;
    }
    printf("acpi: MADT: LAPIC at %x, %u enabled local APICs (IDs%s), %u x2APICs, "
           "%u IOAPIC at %lx, %u other entries\n",
           rd32(madt + 36), lapics, ids, x2apics, ioapics, ioapic_addr, others);
    if (want ? lapics != want : lapics == 0)
        fail(ACPI_TEST, "MADT lists %u enabled local APICs, expected %lu", lapics, want);
    if (ioapics != 1)
        fail(ACPI_TEST, "MADT lists %u IOAPICs, expected 1", ioapics);
}

/* A PM register block: the 32-bit FADT field, else an I/O X_ GAS. */
static uint32_t fadt_block(uint64_t fadt, unsigned off, unsigned x_off)
{
    uint32_t port = rd32(fadt + off);
    if (!port && rd32(fadt + 4) >= x_off + 12 && rd8(fadt + x_off) == 1)
        port = (uint32_t)rd64(fadt + x_off + 4);
    return port;
}

static void check_pm(uint64_t fadt)
{
    uint32_t flags = rd32(fadt + FADT_FLAGS);
    uint32_t evt = fadt_block(fadt, FADT_PM1A_EVT_BLK, FADT_X_PM1A_EVT_BLK);
    uint32_t cnt = fadt_block(fadt, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK);
    uint32_t tmr = fadt_block(fadt, FADT_PM_TMR_BLK, FADT_X_PM_TMR_BLK);
    uint32_t gpe = fadt_block(fadt, FADT_GPE0_BLK, FADT_X_GPE0_BLK);
    uint8_t gpe_len = rd8(fadt + FADT_GPE0_BLK_LEN);
    printf("acpi: FADT: SCI %u, PM1a_EVT %x, PM1a_CNT %x, PM_TMR %x (%u-bit), GPE0 %x+%u, flags %x\n",
           rd16(fadt + 46), evt, cnt, tmr, flags & FADT_TMR_VAL_EXT ? 32 : 24, gpe, gpe_len, flags);
    if (flags & FADT_HW_REDUCED)
        fail(ACPI_TEST, "FADT says hardware-reduced ACPI; expected PM1/GPE blocks");
    if (!evt || !cnt || !tmr || evt > 0xffff || cnt > 0xffff || tmr > 0xffff)
        fail(ACPI_TEST, "FADT PM blocks missing or not I/O ports: PM1a_EVT %x, PM1a_CNT %x, PM_TMR %x",
             evt, cnt, tmr);
    if (rd8(fadt + FADT_PM1_EVT_LEN) < 4 || rd8(fadt + FADT_PM1_CNT_LEN) < 2 ||
        rd8(fadt + FADT_PM_TMR_LEN) != 4)
        fail(ACPI_TEST, "FADT PM block lengths: PM1_EVT %u, PM1_CNT %u, PM_TMR %u",
             rd8(fadt + FADT_PM1_EVT_LEN), rd8(fadt + FADT_PM1_CNT_LEN), rd8(fadt + FADT_PM_TMR_LEN));

    /* PM timer: advances, at roughly 3.58 MHz against the TSC. */
    uint32_t mask = flags & FADT_TMR_VAL_EXT ? 0xffffffffu : 0xffffffu;
    uint64_t t0 = time_us();
    uint32_t p0 = inl((uint16_t)tmr);
    delay_us(20000);
    uint32_t p1 = inl((uint16_t)tmr);
    uint64_t us = time_us() - t0;
    uint32_t ticks = (p1 - p0) & mask;
    uint64_t khz = us ? (uint64_t)ticks * 1000 / us : 0;
    printf("acpi: PM timer %x -> %x: %u ticks in %lu us (%lu kHz)\n", p0, p1, ticks, us, khz);
    if ((p0 | p1) & ~mask)
        fail(ACPI_TEST, "PM timer reads %x, beyond its %s bits", p1, mask == 0xffffffu ? "24" : "32");
    if (!ticks)
        fail(ACPI_TEST, "PM timer did not advance in 20 ms");
    if (khz < PM_TIMER_HZ / 2000 || khz > PM_TIMER_HZ / 500)
        fail(ACPI_TEST, "PM timer runs at %lu kHz, expected about %u", khz, PM_TIMER_HZ / 1000);

    /* PM1a_CNT keeps SCI_EN and SLP_TYP; SLP_EN is never set here. */
    uint16_t old = inw((uint16_t)cnt);
    uint16_t val = (uint16_t)((old & ~(PM1_SLP_EN | PM1_SLP_TYP_MASK)) | PM1_SCI_EN |
                              (((old >> PM1_SLP_TYP_SHIFT) + 1) & 7) << PM1_SLP_TYP_SHIFT);
    outw((uint16_t)cnt, val);
    uint16_t back = inw((uint16_t)cnt);
    outw((uint16_t)cnt, (uint16_t)(old & ~PM1_SLP_EN));
    printf("acpi: PM1a_CNT %x, wrote %x, read back %x\n", old, val, back);
    if ((back & (PM1_SLP_TYP_MASK | PM1_SCI_EN)) != (val & (PM1_SLP_TYP_MASK | PM1_SCI_EN)))
        fail(ACPI_TEST, "PM1a_CNT wrote %x, read back %x", val, back);

    /* GPE0: status bytes, then enable bytes that read back what we write. */
    if (!gpe || gpe > 0xffff || !gpe_len || gpe_len % 2)
        fail(ACPI_TEST, "FADT GPE0 block %x length %u", gpe, gpe_len);
    uint16_t en = (uint16_t)(gpe + gpe_len / 2);
    uint8_t en_old = inb(en);
    outb(en, 0);
    uint8_t en_back = inb(en);
    outb(en, en_old);
    if (en_back != 0)
        fail(ACPI_TEST, "GPE0 enable byte at %x reads %x after writing 0", en, en_back);
    uint8_t sts = inb((uint16_t)gpe);
    printf("acpi: GPE0 status %x, enable %x\n", sts, en_old);
}

/* Every RAM range of the memory map above 1 MiB is inside enabled SRAT
 * memory affinity entries. */
static void check_srat(uint64_t srat)
{
    uint32_t len = rd32(srat + 4);
    unsigned entries = 0;
    for (uint64_t p = srat + 48; p + 2 <= srat + len; p += rd8(p + 1)) {
        if (rd8(p + 1) < 2)
            fail(ACPI_TEST, "SRAT entry at offset %lu has length %u", p - srat, rd8(p + 1));
        if (rd8(p) == SRAT_MEMORY && rd8(p + 1) >= 40) {
            uint32_t fl = rd32(p + 28);
            if (rd64(p + 16))
                printf("acpi: SRAT memory %016lx-%016lx node %u flags %x\n", rd64(p + 8),
                   rd64(p + 8) + rd64(p + 16) - 1, rd32(p + 2), fl);
            entries++;
        }
    }
    if (!entries)
        fail(ACPI_TEST, "SRAT has no memory affinity entries");
    for (unsigned i = 0; i < boot.nr_ranges; i++) {
        const struct mem_range *r = &boot.ranges[i];
        uint64_t a = r->addr > MIB(1) ? r->addr : MIB(1), end = r->addr + r->size;
        if (r->type != E820_RAM)
            continue;
        while (a < end) {
            uint64_t next = 0;
            for (uint64_t p = srat + 48; p + 2 <= srat + len; p += rd8(p + 1)) {
                if (rd8(p) != SRAT_MEMORY || rd8(p + 1) < 40 || !(rd32(p + 28) & SRAT_ENABLED))
                    continue;
                uint64_t s = rd64(p + 8), e = s + rd64(p + 16);
                if (s <= a && a < e && e > next)
                    next = e;
            }
            if (!next)
                fail(ACPI_TEST, "RAM at %lx (range %lx-%lx) is in no enabled SRAT memory entry",
                     a, r->addr, end - 1);
            a = next;
        }
    }
}

void test_acpi(void)
{
    char oem[16] = "";
    cmdline_get("oem", oem, sizeof(oem));
    struct acpi a;
    const char *err = acpi_find(&a);
    if (err)
        fail(ACPI_TEST, "%s", err);
    const struct acpi_rsdp *r = (const void *)a.rsdp;
    char rid[7];
    oem_string(r->oem_id, rid);
    printf("acpi: RSDP at %lx (from %s), revision %u, OEM \"%s\", RSDT %lx, XSDT %lx\n",
           a.rsdp, a.rsdp_from, r->revision, rid, a.rsdt, a.xsdt);
    check_oem("RSDP", r->oem_id, oem);
    if (a.rsdt)
        check_table(a.rsdt, "RSDT", oem);
    if (a.xsdt)
        check_table(a.xsdt, "XSDT", oem);
    check_sdts(&a);
    for (unsigned i = 0; i < a.nr_tables; i++) {
        check_table(a.tables[i], NULL, oem);
        for (unsigned j = 0; j < i; j++)
            if (a.tables[j] == a.tables[i])
                fail(ACPI_TEST, "table at %lx listed twice", a.tables[i]);
    }
    check_table(a.dsdt, "DSDT", oem);
    if (!a.facs)
        fail(ACPI_TEST, "the FADT points to no FACS");
    if (!sig_is(a.facs, "FACS") || rd32(a.facs + 4) < 64)
        fail(ACPI_TEST, "the FADT's FACS pointer %lx does not lead to a FACS", a.facs);
    if (a.facs & 63)
        fail(ACPI_TEST, "FACS at %lx is not 64-byte aligned", a.facs);
    printf("acpi: FACS at %08lx, %u bytes\n", a.facs, rd32(a.facs + 4));

    uint64_t madt = acpi_table(&a, "APIC");
    if (!madt)
        fail(ACPI_TEST, "no MADT (\"APIC\")");
    check_madt(madt);
    check_pm(a.fadt);
    uint64_t srat = acpi_table(&a, "SRAT");
    if (srat)
        check_srat(srat);
    else if (cmdline_get_u64("srat", 1))
        fail(ACPI_TEST, "no SRAT (srat=0 allows that)");
    else
        printf("acpi: no SRAT\n");
    pass(ACPI_TEST);
}

/* ---- test=poweroff ---- */

struct s5_job {
    uint64_t dsdt;
    uint32_t len;
    int32_t slp_typ[2];             /* -1: not decoded */
    uint32_t offset;                /* of the _S5_ name */
};

/* An AML integer at p: ZeroOp, OneOp, OnesOp, Byte/Word/DWordPrefix. */
static int32_t aml_int(const uint8_t *p, const uint8_t *end, const uint8_t **next)
{
    int32_t v = -1;
    unsigned size = 1;
    if (p >= end)
        return -1;
    switch (p[0]) {
    case 0x00: v = 0; break;
    case 0x01: v = 1; break;
    case 0xff: v = 0xff; break;
    case 0x0a: size = 2; if (p + 2 <= end) v = p[1]; break;
    case 0x0b: size = 3; if (p + 3 <= end) v = p[1] | p[2] << 8; break;
    case 0x0c: size = 5; if (p + 5 <= end) v = p[1] | p[2] << 8; break;   /* low bits suffice */
    default: return -1;
    }
    *next = p + size;
    return v;
}

/* Name(_S5_, Package(n) { a, b, ... }): NameOp, optional root prefix, the
 * name, PackageOp, PkgLength (1-4 bytes), NumElements, elements. */
static uint64_t user_find_s5(uint64_t arg)
{
    struct s5_job *j = (struct s5_job *)arg;
    const uint8_t *aml = (const uint8_t *)j->dsdt, *end = aml + j->len;
    for (const uint8_t *p = aml + sizeof(struct acpi_header); p + 4 < end; p++) {
        if (p[0] != '_' || p[1] != 'S' || p[2] != '5' || p[3] != '_')
            continue;
        if (!(p[-1] == 0x08 || (p[-1] == '\\' && p[-2] == 0x08)) || p[4] != 0x12)
            continue;
        const uint8_t *q = p + 5;
        if (q >= end)
            return 1;
        q += 1 + (q[0] >> 6);       /* PkgLength */
        if (q >= end)
            return 1;
        unsigned count = *q++;
        j->offset = (uint32_t)(p - aml);
        for (unsigned i = 0; i < 2 && i < count; i++)
            if ((j->slp_typ[i] = aml_int(q, end, &q)) < 0)
                break;
        return 0;
    }
    return 1;
}

void test_poweroff(void)
{
    static const char *const T = "poweroff";
    struct acpi a;
    const char *err = acpi_find(&a);
    if (err)
        fail(T, "%s", err);
    struct s5_job j = { .dsdt = a.dsdt, .len = rd32(a.dsdt + 4), .slp_typ = { -1, -1 } };
    if (j.len < sizeof(struct acpi_header) || j.len > MIB(1))
        fail(T, "DSDT length %u", j.len);
    if (user_run(user_find_s5, (uint64_t)&j))
        fail(T, "no Name(_S5_, Package ...) in the DSDT");
    if (j.slp_typ[0] < 0 || j.slp_typ[0] > 7)
        fail(T, "cannot decode SLP_TYPa of \\_S5 (DSDT offset %u)", j.offset);
    uint32_t cnt = fadt_block(a.fadt, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK);
    if (!cnt || cnt > 0xffff)
        fail(T, "FADT PM1a_CNT_BLK is %x", cnt);
    uint16_t v = (uint16_t)(j.slp_typ[0] << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
    printf("poweroff: \\_S5 at DSDT offset %u: SLP_TYPa %d, SLP_TYPb %d; writing %x to PM1a_CNT %x\n",
           j.offset, j.slp_typ[0], j.slp_typ[1], v, cnt);
    uint32_t cntb = rd32(a.fadt + FADT_PM1B_CNT_BLK);
    if (cntb && cntb <= 0xffff && j.slp_typ[1] >= 0 && j.slp_typ[1] <= 7)
        outw((uint16_t)cntb, (uint16_t)(j.slp_typ[1] << PM1_SLP_TYP_SHIFT | PM1_SLP_EN));
    outw((uint16_t)cnt, v);
    delay_us(100000);
    fail(T, "still running 100 ms after writing %x to PM1a_CNT", v);
}

/* For the demo: one line naming the tables. */
void acpi_print_summary(const char *prefix)
{
    struct acpi a;
    const char *err = acpi_find(&a);
    if (err) {
        printf("%s: ACPI: %s\n", prefix, err);
        return;
    }
    char oem[7];
    oem_string(((const struct acpi_rsdp *)a.rsdp)->oem_id, oem);
    printf("%s: ACPI (OEM \"%s\", RSDP at %lx from %s):", prefix, oem, a.rsdp, a.rsdp_from);
    for (unsigned i = 0; i < a.nr_tables; i++)
        printf(" %c%c%c%c", rd8(a.tables[i]), rd8(a.tables[i] + 1), rd8(a.tables[i] + 2),
               rd8(a.tables[i] + 3));
    printf(" DSDT%s\n", a.facs ? " FACS" : "");
}

/* ---- for the memory-hotplug tests (memhp.c) ---- */

/* FADT offsets of the SCI and the SMI command that switches to ACPI mode. */
#define FADT_SCI_INT     46
#define FADT_SMI_CMD     48
#define FADT_ACPI_ENABLE 52
#define MADT_OVERRIDE    2

void acpi_sci_info(const struct acpi *a, struct acpi_sci *s)
{
    memset(s, 0, sizeof(*s));
    s->sci = rd16(a->fadt + FADT_SCI_INT);
    s->smi_cmd = rd32(a->fadt + FADT_SMI_CMD);
    s->acpi_enable = rd8(a->fadt + FADT_ACPI_ENABLE);
    s->pm1a_evt = fadt_block(a->fadt, FADT_PM1A_EVT_BLK, FADT_X_PM1A_EVT_BLK);
    s->pm1_evt_len = rd8(a->fadt + FADT_PM1_EVT_LEN);
    s->pm1a_cnt = fadt_block(a->fadt, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK);
    s->gpe0 = fadt_block(a->fadt, FADT_GPE0_BLK, FADT_X_GPE0_BLK);
    s->gpe0_len = rd8(a->fadt + FADT_GPE0_BLK_LEN);
    s->hw_reduced = (rd32(a->fadt + FADT_FLAGS) & FADT_HW_REDUCED) != 0;
    s->gsi = s->sci;
    uint64_t madt = acpi_table(a, "APIC");
    if (!madt)
        return;
    uint32_t len = rd32(madt + 4);
    for (uint64_t p = madt + 44; p + 2 <= madt + len && rd8(p + 1) >= 2; p += rd8(p + 1)) {
        uint8_t type = rd8(p), elen = rd8(p + 1);
        if (type == MADT_IOAPIC && elen >= 12 && !s->ioapic) {
            s->ioapic = rd32(p + 4);
            s->ioapic_gsi_base = rd32(p + 8);
        } else if (type == MADT_OVERRIDE && elen >= 10 && rd8(p + 2) == 0 &&
                   rd8(p + 3) == s->sci) {
            s->have_override = true;
            s->gsi = rd32(p + 4);
            s->override_flags = rd16(p + 8);
        }
    }
}

struct name_job {
    uint64_t table;
    uint32_t len;
    char name[4];
    int32_t value;                  /* -1: not found or not an integer */
};

/* Name(NAME, integer) anywhere in the table: NameOp, the name segment, an
 * integer. A reference (If (NAME == ...)) lacks the NameOp in front. */
static uint64_t user_find_name_int(uint64_t arg)
{
    struct name_job *j = (struct name_job *)arg;
    const uint8_t *aml = (const uint8_t *)j->table, *end = aml + j->len;
    for (const uint8_t *p = aml + sizeof(struct acpi_header); p + 5 < end; p++) {
        if (p[-1] != 0x08 || memcmp(p, j->name, 4) != 0)
            continue;
        const uint8_t *next;
        j->value = aml_int(p + 4, end, &next);
        return 0;
    }
    return 1;
}

int32_t acpi_name_int(const struct acpi *a, const char name[4])
{
    struct name_job j = { .value = -1 };
    memcpy(j.name, name, 4);
    for (unsigned i = 0; i <= a->nr_tables; i++) {
        j.table = i < a->nr_tables ? a->tables[i] : a->dsdt;
        if (i < a->nr_tables && !sig_is(j.table, "SSDT"))
            continue;
        j.len = rd32(j.table + 4);
        if (j.len < sizeof(struct acpi_header) || j.len > MIB(1))
            continue;
        if (!user_run(user_find_name_int, (uint64_t)&j))
            return j.value;
    }
    return -1;
}

/* The SRAT memory affinity entry holding [base, base + size): its flags
 * and proximity domain; false when no entry holds the whole range. */
bool acpi_srat_lookup(const struct acpi *a, uint64_t base, uint64_t size,
                      uint32_t *flags, uint32_t *proximity)
{
    uint64_t srat = acpi_table(a, "SRAT");
    if (!srat)
        return false;
    uint32_t len = rd32(srat + 4);
    for (uint64_t p = srat + 48; p + 2 <= srat + len && rd8(p + 1) >= 2; p += rd8(p + 1)) {
        if (rd8(p) != SRAT_MEMORY || rd8(p + 1) < 40)
            continue;
        uint64_t s = rd64(p + 8), e = s + rd64(p + 16);
        if (s <= base && base + size <= e && size) {
            *flags = rd32(p + 28);
            *proximity = rd32(p + 2);
            return true;
        }
    }
    return false;
}
