/* Direct kernel boot: format detection, the three loaders, and their
 * refusal of bad images.  Every image is built here, byte by byte. */
#include <glib.h>
#include <string.h>

#include "firmware/boot.h"
#include "fixture.h"

#define MiB (1024ull * 1024)
#define GUEST_RAM (64 * MiB)
#define POISON 0xcc

/* ---- a machine with RAM at [0, GUEST_RAM) ---- */

/* Poisoned so that tests see which bytes the loader wrote (and zeroed). */
static GuestRam *machine_new(void) { return guest_ram_new("test-boot-ram", GUEST_RAM, POISON); }

static uint8_t rd8(GuestRam *m, uint64_t gpa) { return guest_ram_read_le(m, gpa, 1); }
static uint16_t rd16(GuestRam *m, uint64_t gpa) { return guest_ram_read_le(m, gpa, 2); }
static uint32_t rd32(GuestRam *m, uint64_t gpa) { return guest_ram_read_le(m, gpa, 4); }
static uint64_t rd64(GuestRam *m, uint64_t gpa) { return guest_ram_read_le(m, gpa, 8); }
static const char *rdstr(GuestRam *m, uint64_t gpa)
{
    return (const char *)guest_ram_ptr(m, gpa, 1);
}

/* The test guest's scratch area: no loader may touch it. */
static void assert_scratch_untouched(GuestRam *m)
{
    const uint8_t *p = guest_ram_ptr(m, 0x30000, 0x9f000 - 0x30000);
    for (size_t i = 0; i < 0x9f000 - 0x30000; i++) {
        if (p[i] != POISON) {
            g_error("byte at 0x%zx was written", 0x30000 + i);
        }
    }
}

/* ---- byte-array writers ---- */

static void put16(GByteArray *b, size_t off, uint16_t v)
{
    if (b->len < off + 2) g_byte_array_set_size(b, off + 2);
    v = GUINT16_TO_LE(v);
    memcpy(b->data + off, &v, 2);
}
static void put32(GByteArray *b, size_t off, uint32_t v)
{
    if (b->len < off + 4) g_byte_array_set_size(b, off + 4);
    v = GUINT32_TO_LE(v);
    memcpy(b->data + off, &v, 4);
}
static void put64(GByteArray *b, size_t off, uint64_t v)
{
    if (b->len < off + 8) g_byte_array_set_size(b, off + 8);
    v = GUINT64_TO_LE(v);
    memcpy(b->data + off, &v, 8);
}
static void put_bytes(GByteArray *b, size_t off, const void *data, size_t len)
{
    if (b->len < off + len) g_byte_array_set_size(b, off + len);
    memcpy(b->data + off, data, len);
}

/* Zero-filled array of `len` bytes. */
static GByteArray *bytes_new(size_t len)
{
    GByteArray *b = g_byte_array_sized_new(len);
    g_byte_array_set_size(b, len);
    memset(b->data, 0, len);
    return b;
}

static uint8_t pattern(unsigned seg, size_t i) { return (uint8_t)(i * 7 + seg * 31 + 1); }

/* ---- ELF builder ---- */

#define AUTO_OFFSET UINT64_MAX
#define EXTRA_NOTE_OFFSET 0x200 /* a PVH note blob goes here */
#define EXTRA_MB_OFFSET 0x300 /* a multiboot header goes here */
#define SEGMENT_DATA_START 0x1000

typedef struct TestSegment {
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t offset; /* AUTO_OFFSET: placed and filled with pattern() */
    uint64_t vaddr; /* 0: same as paddr */
} TestSegment;

typedef enum NoteWhere { NOTE_NONE, NOTE_SEGMENT, NOTE_SECTION } NoteWhere;

typedef struct TestElf {
    unsigned bits;
    const TestSegment *segs;
    unsigned nsegs;
    uint64_t entry;
    NoteWhere note;
    uint64_t pvh_entry;
    unsigned pvh_desc_size; /* 4 or 8 */
    bool multiboot; /* put a multiboot header (flags 0) in the file */
} TestElf;

static size_t pvh_note(uint8_t *out, uint64_t entry, unsigned desc_size)
{
    /* A Xen note the loader must skip first, then the PHYS32_ENTRY note. */
    size_t n = 0;
    uint32_t hdr[3];
    hdr[0] = GUINT32_TO_LE(4); hdr[1] = GUINT32_TO_LE(4); hdr[2] = GUINT32_TO_LE(6);
    memcpy(out + n, hdr, 12); n += 12;
    memcpy(out + n, "Xen\0", 4); n += 4;
    memcpy(out + n, "lin\0", 4); n += 4;
    hdr[0] = GUINT32_TO_LE(4); hdr[1] = GUINT32_TO_LE(desc_size); hdr[2] = GUINT32_TO_LE(18);
    memcpy(out + n, hdr, 12); n += 12;
    memcpy(out + n, "Xen\0", 4); n += 4;
    uint64_t v = GUINT64_TO_LE(entry);
    memcpy(out + n, &v, desc_size); n += desc_size;
    return n;
}

static void put_multiboot_header(GByteArray *b, size_t off, uint32_t flags)
{
    put32(b, off, 0x1BADB002);
    put32(b, off + 4, flags);
    put32(b, off + 8, (uint32_t)-(0x1BADB002u + flags));
}

static GByteArray *build_elf(const TestElf *e)
{
    bool is64 = e->bits == 64;
    size_t ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32, shentsize = is64 ? 64 : 40;
    unsigned phnum = e->nsegs + (e->note == NOTE_SEGMENT ? 1 : 0);
    GByteArray *b = bytes_new(SEGMENT_DATA_START);

    uint8_t note[64];
    size_t note_size = e->note != NOTE_NONE ? pvh_note(note, e->pvh_entry, e->pvh_desc_size) : 0;
    if (note_size) {
        put_bytes(b, EXTRA_NOTE_OFFSET, note, note_size);
    }
    if (e->multiboot) {
        put_multiboot_header(b, EXTRA_MB_OFFSET, 0);
    }

    /* Segment data, each page aligned in the file. */
    uint64_t offsets[8];
    g_assert_cmpuint(e->nsegs, <=, G_N_ELEMENTS(offsets));
    for (unsigned i = 0; i < e->nsegs; i++) {
        const TestSegment *s = &e->segs[i];
        if (s->offset != AUTO_OFFSET) {
            offsets[i] = s->offset;
            continue;
        }
        offsets[i] = (b->len + 0xfff) & ~0xfffull;
        g_byte_array_set_size(b, offsets[i] + s->filesz);
        for (size_t k = 0; k < s->filesz; k++) {
            b->data[offsets[i] + k] = pattern(i, k);
        }
    }

    /* Section headers (null + .note) at the end, for NOTE_SECTION. */
    size_t shoff = 0;
    unsigned shnum = 0;
    if (e->note == NOTE_SECTION) {
        shoff = (b->len + 7) & ~7ul;
        shnum = 2;
        g_byte_array_set_size(b, shoff + shnum * shentsize);
        memset(b->data + shoff, 0, shnum * shentsize);
        size_t sh = shoff + shentsize;
        put32(b, sh + 4, 7); /* SHT_NOTE */
        if (is64) {
            put64(b, sh + 24, EXTRA_NOTE_OFFSET);
            put64(b, sh + 32, note_size);
            put64(b, sh + 48, 4);
        } else {
            put32(b, sh + 16, EXTRA_NOTE_OFFSET);
            put32(b, sh + 20, note_size);
            put32(b, sh + 32, 4);
        }
    }

    /* File header. */
    put_bytes(b, 0, "\x7f" "ELF", 4);
    b->data[4] = is64 ? 2 : 1;
    b->data[5] = 1;
    b->data[6] = 1;
    put16(b, 16, 2); /* ET_EXEC */
    put16(b, 18, is64 ? 62 : 3);
    put32(b, 20, 1);
    if (is64) {
        put64(b, 24, e->entry);
        put64(b, 32, ehsize);
        put64(b, 40, shoff);
        put16(b, 52, ehsize);
        put16(b, 54, phentsize);
        put16(b, 56, phnum);
        put16(b, 58, shentsize);
        put16(b, 60, shnum);
    } else {
        put32(b, 24, e->entry);
        put32(b, 28, ehsize);
        put32(b, 32, shoff);
        put16(b, 40, ehsize);
        put16(b, 42, phentsize);
        put16(b, 44, phnum);
        put16(b, 46, shentsize);
        put16(b, 48, shnum);
    }

    /* Program headers. */
    for (unsigned i = 0; i < phnum; i++) {
        size_t ph = ehsize + i * phentsize;
        bool is_note = i == e->nsegs;
        uint32_t type = is_note ? 4 : 1;
        uint64_t off = is_note ? EXTRA_NOTE_OFFSET : offsets[i];
        uint64_t paddr = is_note ? 0 : e->segs[i].paddr;
        uint64_t vaddr = is_note ? 0 : (e->segs[i].vaddr ? e->segs[i].vaddr : paddr);
        uint64_t filesz = is_note ? note_size : e->segs[i].filesz;
        uint64_t memsz = is_note ? note_size : e->segs[i].memsz;
        if (is64) {
            put32(b, ph + 0, type);
            put32(b, ph + 4, 5);
            put64(b, ph + 8, off);
            put64(b, ph + 16, vaddr);
            put64(b, ph + 24, paddr);
            put64(b, ph + 32, filesz);
            put64(b, ph + 40, memsz);
            put64(b, ph + 48, is_note ? 4 : 0x1000);
        } else {
            put32(b, ph + 0, type);
            put32(b, ph + 4, off);
            put32(b, ph + 8, vaddr);
            put32(b, ph + 12, paddr);
            put32(b, ph + 16, filesz);
            put32(b, ph + 20, memsz);
            put32(b, ph + 24, 5);
            put32(b, ph + 28, is_note ? 4 : 0x1000);
        }
    }
    return b;
}

/* A well-formed PVH kernel: text+data at 1 MiB, a bss tail. */
static const TestSegment good_segments[] = {
    { .paddr = 0x100000, .filesz = 0x1800, .memsz = 0x2000, .offset = AUTO_OFFSET },
    { .paddr = 0x200000, .filesz = 0x300, .memsz = 0x5000, .offset = AUTO_OFFSET },
};

static GByteArray *build_pvh(unsigned bits, NoteWhere where, unsigned desc_size)
{
    TestElf e = {
        .bits = bits, .segs = good_segments, .nsegs = 2, .entry = 0x100000,
        .note = where, .pvh_entry = 0x100040, .pvh_desc_size = desc_size,
    };
    if (desc_size == 8) {
        e.pvh_entry |= 0xdead000000000000ull; /* only the low 32 bits count */
    }
    return build_elf(&e);
}

/* ---- boot helpers ---- */

static BootConfig config_for(GuestRam *m, const GByteArray *image, BootKind kind)
{
    return (BootConfig){
        .memory = m->as,
        .kernel_name = "test.img",
        .kernel = image->data,
        .kernel_size = image->len,
        .cmdline = "console=ttyS0 quiet",
        .kind = kind,
        .ram_below_4g = GUEST_RAM,
        .ram_above_4g = 0,
    };
}

/* Load and expect failure; returns the message. */
static char *boot_expect_error(const BootConfig *cfg)
{
    BootEntry entry;
    GError *err = NULL;
    g_assert_false(boot_load(cfg, &entry, &err));
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, "test.img: "));
    g_assert_null(strchr(err->message, '\n'));
    char *msg = g_strdup(err->message);
    g_test_message("error: %s", msg);
    g_error_free(err);
    return msg;
}

static void assert_error_contains(const BootConfig *cfg, const char *needle)
{
    g_autofree char *msg = boot_expect_error(cfg);
    if (!strstr(msg, needle)) {
        g_error("message \"%s\" lacks \"%s\"", msg, needle);
    }
}

static void assert_segments_loaded(GuestRam *m, const TestSegment *segs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *p = guest_ram_ptr(m, segs[i].paddr, segs[i].memsz);
        for (size_t k = 0; k < segs[i].filesz; k++) {
            g_assert_cmpuint(p[k], ==, pattern(i, k));
        }
        for (size_t k = segs[i].filesz; k < segs[i].memsz; k++) {
            g_assert_cmpuint(p[k], ==, 0);
        }
    }
}

/* The 5 entries e820_build_pc() gives a 64 MiB guest. */
static const struct { uint64_t addr, size; uint32_t type; } expected_e820[] = {
    { 0, 0x9fc00, 1 },
    { 0x9fc00, 0x400, 2 },
    { 0xf0000, 0x10000, 2 },
    { 0x100000, GUEST_RAM - 0x100000, 1 },
    { 0xfeffc000, 0x4000, 2 },
};

/* ---- kind names ---- */

static void test_kind_names(void)
{
    static const char *names[] = { "auto", "linux", "pvh", "multiboot" };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        BootKind kind;
        g_assert_true(boot_kind_parse(names[i], &kind));
        g_assert_cmpstr(boot_kind_name(kind), ==, names[i]);
    }
    BootKind kind = BOOT_KIND_PVH;
    g_assert_false(boot_kind_parse("bzimage", &kind));
    g_assert_false(boot_kind_parse("", &kind));
    g_assert_cmpint(kind, ==, BOOT_KIND_PVH);
}

/* ---- PVH ---- */

static void check_pvh_boot(unsigned bits, NoteWhere where, unsigned desc_size)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_pvh(bits, where, desc_size);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    cfg.rsdp_addr = 0xf5a40;
    BootEntry entry;
    g_autoptr(GError) err = NULL;
    g_assert_true(boot_load(&cfg, &entry, &err));
    g_assert_no_error(err);

    g_assert_cmpint(entry.kind, ==, BOOT_KIND_PVH);
    g_assert_cmpint(entry.mode, ==, BOOT_CPU_PROTECTED32);
    g_assert_cmphex(entry.rip, ==, 0x100040);
    g_assert_cmphex(entry.rbx, ==, 0x7000);
    assert_segments_loaded(m, good_segments, 2);

    g_assert_cmphex(rd32(m, 0x7000), ==, 0x336ec578);
    g_assert_cmpuint(rd32(m, 0x7004), ==, 1);
    g_assert_cmpuint(rd32(m, 0x7008), ==, 0);
    g_assert_cmpuint(rd32(m, 0x700c), ==, 0); /* no initrd, no modules */
    g_assert_cmphex(rd64(m, 0x7010), ==, 0);
    uint64_t cmdline = rd64(m, 0x7018);
    g_assert_cmphex(cmdline, ==, 0x20000);
    g_assert_cmpstr(rdstr(m, cmdline), ==, "console=ttyS0 quiet");
    g_assert_cmphex(rd64(m, 0x7020), ==, 0xf5a40);
    uint64_t memmap = rd64(m, 0x7028);
    g_assert_cmphex(memmap, ==, 0x8000);
    g_assert_cmpuint(rd32(m, 0x7030), ==, G_N_ELEMENTS(expected_e820));
    g_assert_cmpuint(rd32(m, 0x7034), ==, 0);
    for (unsigned i = 0; i < G_N_ELEMENTS(expected_e820); i++) {
        uint64_t e = memmap + i * 24;
        g_assert_cmphex(rd64(m, e), ==, expected_e820[i].addr);
        g_assert_cmphex(rd64(m, e + 8), ==, expected_e820[i].size);
        g_assert_cmpuint(rd32(m, e + 16), ==, expected_e820[i].type);
        g_assert_cmpuint(rd32(m, e + 20), ==, 0);
    }
    assert_scratch_untouched(m);
}

static void test_pvh_elf64_segment_note(void) { check_pvh_boot(64, NOTE_SEGMENT, 4); }
static void test_pvh_elf64_desc8(void) { check_pvh_boot(64, NOTE_SEGMENT, 8); }
static void test_pvh_elf32_segment_note(void) { check_pvh_boot(32, NOTE_SEGMENT, 4); }
static void test_pvh_elf32_section_note(void) { check_pvh_boot(32, NOTE_SECTION, 8); }
static void test_pvh_elf64_section_note(void) { check_pvh_boot(64, NOTE_SECTION, 4); }

static void test_pvh_initrd(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_pvh(64, NOTE_SEGMENT, 4);
    size_t initrd_size = MiB + 123; /* not a page multiple */
    g_autofree uint8_t *initrd = g_malloc(initrd_size);
    for (size_t i = 0; i < initrd_size; i++) {
        initrd[i] = pattern(9, i);
    }
    BootConfig cfg = config_for(m, img, BOOT_KIND_PVH);
    cfg.initrd = initrd;
    cfg.initrd_size = initrd_size;
    BootEntry entry;
    g_autoptr(GError) err = NULL;
    g_assert_true(boot_load(&cfg, &entry, &err));

    g_assert_cmpuint(rd32(m, 0x700c), ==, 1);
    uint64_t modlist = rd64(m, 0x7010);
    g_assert_cmphex(modlist, >=, 0x500);
    g_assert_cmphex(modlist, <, 0x30000);
    uint64_t addr = rd64(m, modlist);
    g_assert_cmphex(addr, ==, (GUEST_RAM - initrd_size) & ~0xfffull);
    g_assert_cmpuint(rd64(m, modlist + 8), ==, initrd_size);
    g_assert_cmpuint(rd64(m, modlist + 16), ==, 0);
    g_assert_cmpuint(rd64(m, modlist + 24), ==, 0);
    g_assert_cmpmem(guest_ram_ptr(m, addr, initrd_size), initrd_size, initrd, initrd_size);
    assert_scratch_untouched(m);
}

/* The initrd goes below a kernel that sits at the top of RAM. */
static void test_initrd_avoids_kernel(void)
{
    g_autoptr(GuestRam) m = machine_new();
    const TestSegment segs[] = {
        { .paddr = GUEST_RAM - MiB, .filesz = 0x1000, .memsz = MiB, .offset = AUTO_OFFSET },
    };
    TestElf e = { .bits = 64, .segs = segs, .nsegs = 1, .note = NOTE_SEGMENT,
                  .pvh_entry = GUEST_RAM - MiB, .pvh_desc_size = 4 };
    g_autoptr(GByteArray) img = build_elf(&e);
    uint8_t initrd[0x3000];
    memset(initrd, 0x5a, sizeof(initrd));
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    cfg.initrd = initrd;
    cfg.initrd_size = sizeof(initrd);
    BootEntry entry;
    g_autoptr(GError) err = NULL;
    g_assert_true(boot_load(&cfg, &entry, &err));
    g_assert_cmphex(rd64(m, rd64(m, 0x7010)), ==, GUEST_RAM - MiB - sizeof(initrd));
    assert_segments_loaded(m, segs, 1);
}

/* ---- multiboot ---- */

static void check_multiboot_info(GuestRam *m, const BootEntry *entry, const char *cmdline,
                                 uint32_t mods_count)
{
    g_assert_cmpint(entry->kind, ==, BOOT_KIND_MULTIBOOT);
    g_assert_cmpint(entry->mode, ==, BOOT_CPU_PROTECTED32);
    g_assert_cmphex(entry->rax, ==, 0x2BADB002);
    g_assert_cmphex(entry->rbx, ==, 0x7000);

    g_assert_cmphex(rd32(m, 0x7000), ==, 0x24f); /* mem|bootdev|cmdline|mods|mmap|name */
    g_assert_cmpuint(rd32(m, 0x7004), ==, 639);
    g_assert_cmpuint(rd32(m, 0x7008), ==, (GUEST_RAM - MiB) / 1024);
    g_assert_cmphex(rd32(m, 0x700c), ==, 0x8000ffff);
    g_assert_cmpstr(rdstr(m, rd32(m, 0x7010)), ==, cmdline);
    g_assert_cmpuint(rd32(m, 0x7014), ==, mods_count);
    uint32_t mmap_length = rd32(m, 0x702c);
    uint32_t mmap = rd32(m, 0x7030);
    g_assert_cmpuint(mmap_length, ==, G_N_ELEMENTS(expected_e820) * 24);
    for (unsigned i = 0; i < G_N_ELEMENTS(expected_e820); i++) {
        uint32_t e = mmap + i * 24;
        g_assert_cmpuint(rd32(m, e), ==, 20);
        g_assert_cmphex(rd64(m, e + 4), ==, expected_e820[i].addr);
        g_assert_cmphex(rd64(m, e + 12), ==, expected_e820[i].size);
        g_assert_cmpuint(rd32(m, e + 20), ==, expected_e820[i].type);
    }
    g_assert_cmpstr(rdstr(m, rd32(m, 0x7040)), ==, "ferry");
    assert_scratch_untouched(m);
}

static void check_multiboot_elf(unsigned bits)
{
    g_autoptr(GuestRam) m = machine_new();
    TestElf e = { .bits = bits, .segs = good_segments, .nsegs = 2, .entry = 0x100010,
                  .multiboot = true };
    g_autoptr(GByteArray) img = build_elf(&e);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    BootEntry entry;
    g_autoptr(GError) err = NULL;
    g_assert_true(boot_load(&cfg, &entry, &err));
    g_assert_no_error(err);
    g_assert_cmphex(entry.rip, ==, 0x100010);
    assert_segments_loaded(m, good_segments, 2);
    check_multiboot_info(m, &entry, "test.img console=ttyS0 quiet", 0);
}

static void test_multiboot_elf32(void) { check_multiboot_elf(32); }
static void test_multiboot_elf64(void) { check_multiboot_elf(64); }

/* A virtual entry point runs at its physical address. */
static void test_multiboot_virtual_entry(void)
{
    g_autoptr(GuestRam) m = machine_new();
    const TestSegment segs[] = {
        { .paddr = 0x400000, .vaddr = 0xc0400000, .filesz = 0x100, .memsz = 0x1000,
          .offset = AUTO_OFFSET },
    };
    TestElf e = { .bits = 32, .segs = segs, .nsegs = 1, .entry = 0xc0400020, .multiboot = true };
    g_autoptr(GByteArray) img = build_elf(&e);
    BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
    BootEntry entry;
    g_autoptr(GError) err = NULL;
    g_assert_true(boot_load(&cfg, &entry, &err));
    g_assert_cmphex(entry.rip, ==, 0x400020);
}

static void test_multiboot_initrd_and_empty_cmdline(void)
{
    g_autoptr(GuestRam) m = machine_new();
    TestElf e = { .bits = 32, .segs = good_segments, .nsegs = 2, .entry = 0x100000,
                  .multiboot = true };
    g_autoptr(GByteArray) img = build_elf(&e);
    const char env[] = "NR_CPUS=1\nMEMSIZE=64\n";
    BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
    cfg.cmdline = "";
    cfg.initrd = (const uint8_t *)env;
    cfg.initrd_size = sizeof(env) - 1;
    BootEntry entry;
    g_autoptr(GError) err = NULL;
    g_assert_true(boot_load(&cfg, &entry, &err));
    check_multiboot_info(m, &entry, "test.img", 1);

    uint32_t mods = rd32(m, 0x7018);
    uint32_t start = rd32(m, mods), end = rd32(m, mods + 4);
    g_assert_cmphex(start, ==, (GUEST_RAM - 0x1000));
    g_assert_cmpuint(end - start, ==, sizeof(env) - 1);
    g_assert_cmpmem(guest_ram_ptr(m, start, end - start), end - start, env, sizeof(env) - 1);
    g_assert_cmpstr(rdstr(m, rd32(m, mods + 8)), ==, "");
    g_assert_cmpuint(rd32(m, mods + 12), ==, 0);
}

/* An a.out-kludge image: the header's address fields place the file. */
static GByteArray *build_aout_kludge(uint32_t load_end_addr, uint32_t bss_end_addr)
{
    const size_t size = 0x1000, header_off = 0x40;
    GByteArray *b = bytes_new(size);
    for (size_t i = header_off + 32; i < size; i++) {
        b->data[i] = pattern(0, i);
    }
    put_multiboot_header(b, header_off, 1u << 16 | 1u << 1 | 1u << 0);
    put32(b, header_off + 12, 0x200000 + header_off); /* header_addr */
    put32(b, header_off + 16, 0x200000); /* load_addr */
    put32(b, header_off + 20, load_end_addr);
    put32(b, header_off + 24, bss_end_addr);
    put32(b, header_off + 28, 0x200100); /* entry_addr */
    return b;
}

static void test_multiboot_aout_kludge(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_aout_kludge(0x200800, 0x203000);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    BootEntry entry;
    g_autoptr(GError) err = NULL;
    g_assert_true(boot_load(&cfg, &entry, &err));
    g_assert_no_error(err);
    g_assert_cmphex(entry.rip, ==, 0x200100);
    /* [0x200000, 0x200800) from the file, bss zero to 0x203000, untouched after. */
    g_assert_cmpmem(guest_ram_ptr(m, 0x200000, 0x800), 0x800, img->data, 0x800);
    for (uint64_t a = 0x200800; a < 0x203000; a++) {
        g_assert_cmpuint(rd8(m, a), ==, 0);
    }
    g_assert_cmpuint(rd8(m, 0x203000), ==, POISON);
    check_multiboot_info(m, &entry, "test.img console=ttyS0 quiet", 0);
}

static void test_multiboot_aout_to_eof(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_aout_kludge(0, 0);
    BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
    BootEntry entry;
    g_autoptr(GError) err = NULL;
    g_assert_true(boot_load(&cfg, &entry, &err));
    g_assert_cmpmem(guest_ram_ptr(m, 0x200000, img->len), img->len, img->data, img->len);
    g_assert_cmpuint(rd8(m, 0x200000 + img->len), ==, POISON);
}

static void test_multiboot_aout_bad_fields(void)
{
    g_autoptr(GuestRam) m = machine_new();
    {
        g_autoptr(GByteArray) img = build_aout_kludge(0x201001, 0); /* past EOF */
        BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
        assert_error_contains(&cfg, "truncated");
    }
    {
        g_autoptr(GByteArray) img = build_aout_kludge(0x1ff000, 0); /* end below start */
        BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
        assert_error_contains(&cfg, "load_end_addr");
    }
    {
        g_autoptr(GByteArray) img = build_aout_kludge(0x200800, 0x200400); /* bss below end */
        BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
        assert_error_contains(&cfg, "bss_end_addr");
    }
    {
        g_autoptr(GByteArray) img = build_aout_kludge(0, 0);
        put32(img, 0x40 + 12, 0x100000); /* header_addr before load_addr */
        BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
        assert_error_contains(&cfg, "header_addr");
    }
    {
        g_autoptr(GByteArray) img = build_aout_kludge(0, 0x5000000); /* bss beyond RAM */
        BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
        assert_error_contains(&cfg, "needs 80 MiB of RAM, the guest has 64 MiB");
    }
}

static void test_multiboot_video_rejected(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_aout_kludge(0, 0);
    put_multiboot_header(img, 0x40, 1u << 16 | 1u << 2);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    assert_error_contains(&cfg, "video mode");

    put_multiboot_header(img, 0x40, 1u << 16 | 1u << 5);
    assert_error_contains(&cfg, "does not support (flags 0x20)");
}

static void test_multiboot_bad_checksum(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_aout_kludge(0, 0);
    put32(img, 0x40 + 8, 0);
    BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
    assert_error_contains(&cfg, "no multiboot header");
    cfg.kind = BOOT_KIND_AUTO;
    assert_error_contains(&cfg, "not a kernel image");
}

/* Header beyond the first 8 KiB does not count. */
static void test_multiboot_header_too_late(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = bytes_new(0x4000);
    put_multiboot_header(img, 0x2000, 1u << 16);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    assert_error_contains(&cfg, "not a kernel image");
    /* A header in the last 12 bytes of the file has no room for its address fields. */
    put_multiboot_header(img, 0x2000 - 12, 1u << 16);
    cfg.kernel_size = 0x2000;
    cfg.kind = BOOT_KIND_MULTIBOOT;
    assert_error_contains(&cfg, "truncated multiboot header");
}

/* Like the test guest: ELF32, both a PVH note and a multiboot header. */
static void test_pvh_and_multiboot(void)
{
    TestElf e = { .bits = 32, .segs = good_segments, .nsegs = 2, .entry = 0x100020,
                  .note = NOTE_SEGMENT, .pvh_entry = 0x100040, .pvh_desc_size = 4,
                  .multiboot = true };
    g_autoptr(GByteArray) img = build_elf(&e);
    BootEntry entry;
    {
        g_autoptr(GuestRam) m = machine_new();
        BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
        g_assert_true(boot_load(&cfg, &entry, NULL));
        g_assert_cmpint(entry.kind, ==, BOOT_KIND_PVH);
        g_assert_cmphex(entry.rip, ==, 0x100040);
        g_assert_cmphex(rd32(m, 0x7000), ==, 0x336ec578);
    }
    {
        g_autoptr(GuestRam) m = machine_new();
        BootConfig cfg = config_for(m, img, BOOT_KIND_MULTIBOOT);
        g_assert_true(boot_load(&cfg, &entry, NULL));
        g_assert_cmpint(entry.kind, ==, BOOT_KIND_MULTIBOOT);
        g_assert_cmphex(entry.rip, ==, 0x100020);
        g_assert_cmphex(entry.rax, ==, 0x2BADB002);
        check_multiboot_info(m, &entry, "test.img console=ttyS0 quiet", 0);
    }
}

/* ---- bzImage ---- */

#define BZ_SETUP_SECTS 2
#define BZ_SETUP_SIZE ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PAYLOAD_SIZE 0x3000

static GByteArray *build_bzimage(uint16_t xloadflags, uint32_t initrd_addr_max)
{
    GByteArray *b = bytes_new(BZ_SETUP_SIZE + BZ_PAYLOAD_SIZE);
    for (size_t i = 0; i < BZ_PAYLOAD_SIZE; i++) {
        b->data[BZ_SETUP_SIZE + i] = pattern(3, i);
    }
    b->data[0x1f1] = BZ_SETUP_SECTS;
    put16(b, 0x1fa, 0x0f00);
    put16(b, 0x1fe, 0xaa55);
    b->data[0x200] = 0xeb;
    b->data[0x201] = 0x66; /* header ends at 0x268 */
    put_bytes(b, 0x202, "HdrS", 4);
    put16(b, 0x206, 0x020f);
    b->data[0x211] = 0x01; /* LOADED_HIGH */
    put32(b, 0x214, 0x100000);
    put32(b, 0x22c, initrd_addr_max);
    put32(b, 0x230, 0x200000);
    b->data[0x234] = 1;
    put16(b, 0x236, xloadflags);
    put32(b, 0x238, 255); /* cmdline_size */
    put64(b, 0x258, 0x1000000);
    put32(b, 0x260, 0x400000); /* init_size: 4 MiB */
    b->data[0x270] = 0x77; /* past the header: must not reach the zero page */
    return b;
}

static void test_bzimage_boot(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_bzimage(0x3, 0x7fffffff);
    uint8_t initrd[0x2800];
    memset(initrd, 0x42, sizeof(initrd));
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    cfg.initrd = initrd;
    cfg.initrd_size = sizeof(initrd);
    cfg.rsdp_addr = 0xf5a40;
    BootEntry entry;
    g_autoptr(GError) err = NULL;
    g_assert_true(boot_load(&cfg, &entry, &err));
    g_assert_no_error(err);

    g_assert_cmpint(entry.kind, ==, BOOT_KIND_LINUX);
    g_assert_cmpint(entry.mode, ==, BOOT_CPU_LONG64);
    g_assert_cmphex(entry.rip, ==, 0x100200);
    g_assert_cmphex(entry.rsi, ==, 0x7000);
    g_assert_cmphex(entry.cr3, ==, 0x1000);
    g_assert_cmphex(entry.gdt_base, ==, 0x500);
    g_assert_cmpuint(entry.gdt_limit, ==, 31);

    /* Protected-mode code at 1 MiB. */
    g_assert_cmpmem(guest_ram_ptr(m, 0x100000, BZ_PAYLOAD_SIZE), BZ_PAYLOAD_SIZE,
                    img->data + BZ_SETUP_SIZE, BZ_PAYLOAD_SIZE);

    /* Zero page: copied header, loader fields. */
    const uint64_t zp = 0x7000;
    g_assert_cmpuint(rd8(m, zp + 0x1f1), ==, BZ_SETUP_SECTS);
    g_assert_cmphex(rd16(m, zp + 0x1fa), ==, 0xffff);
    g_assert_cmphex(rd16(m, zp + 0x1fe), ==, 0xaa55);
    g_assert_cmpmem(guest_ram_ptr(m, zp + 0x202, 4), 4, "HdrS", 4);
    g_assert_cmphex(rd16(m, zp + 0x206), ==, 0x020f);
    g_assert_cmphex(rd8(m, zp + 0x210), ==, 0xff);
    g_assert_cmphex(rd8(m, zp + 0x211), ==, 0x81);
    g_assert_cmphex(rd16(m, zp + 0x224), ==, 0xfe00);
    g_assert_cmphex(rd32(m, zp + 0x228), ==, 0x20000);
    g_assert_cmpstr(rdstr(m, 0x20000), ==, "console=ttyS0 quiet");
    g_assert_cmphex(rd32(m, zp + 0x260), ==, 0x400000);
    g_assert_cmphex(rd64(m, zp + 0x258), ==, 0x1000000);
    g_assert_cmpuint(rd8(m, zp + 0x270), ==, 0);
    g_assert_cmpuint(rd8(m, zp + 0x000), ==, 0);
    g_assert_cmphex(rd64(m, zp + 0x070), ==, 0xf5a40);

    /* Initrd at the top of RAM (CAN_BE_LOADED_ABOVE_4G: initrd_addr_max ignored). */
    uint32_t initrd_addr = rd32(m, zp + 0x218);
    g_assert_cmphex(initrd_addr, ==, (GUEST_RAM - sizeof(initrd)) & ~0xfffull);
    g_assert_cmpuint(rd32(m, zp + 0x21c), ==, sizeof(initrd));
    g_assert_cmpuint(rd32(m, zp + 0x0c0), ==, 0);
    g_assert_cmpuint(rd32(m, zp + 0x0c4), ==, 0);
    g_assert_cmpmem(guest_ram_ptr(m, initrd_addr, sizeof(initrd)), sizeof(initrd), initrd,
                    sizeof(initrd));

    /* e820 table. */
    g_assert_cmpuint(rd8(m, zp + 0x1e8), ==, G_N_ELEMENTS(expected_e820));
    for (unsigned i = 0; i < G_N_ELEMENTS(expected_e820); i++) {
        uint64_t e = zp + 0x2d0 + i * 20;
        g_assert_cmphex(rd64(m, e), ==, expected_e820[i].addr);
        g_assert_cmphex(rd64(m, e + 8), ==, expected_e820[i].size);
        g_assert_cmpuint(rd32(m, e + 16), ==, expected_e820[i].type);
    }

    /* GDT: 0x10 64-bit code, 0x18 data. */
    g_assert_cmphex(rd64(m, 0x500), ==, 0);
    g_assert_cmphex(rd64(m, 0x508), ==, 0);
    g_assert_cmphex(rd64(m, 0x510), ==, 0x00af9b000000ffffull);
    g_assert_cmphex(rd64(m, 0x518), ==, 0x00cf93000000ffffull);

    /* Identity map of 4 GiB with 2 MiB pages. */
    g_assert_cmphex(rd64(m, 0x1000), ==, 0x2003);
    g_assert_cmphex(rd64(m, 0x1008), ==, 0);
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmphex(rd64(m, 0x2000 + i * 8), ==, (0x3000 + i * 0x1000) | 3);
    }
    g_assert_cmphex(rd64(m, 0x2020), ==, 0);
    g_assert_cmphex(rd64(m, 0x3000), ==, 0x83);
    g_assert_cmphex(rd64(m, 0x3008), ==, 0x200083);
    g_assert_cmphex(rd64(m, 0x4000), ==, 0x40000083);
    g_assert_cmphex(rd64(m, 0x6ff8), ==, 0xffe00083);
    assert_scratch_untouched(m);
}

/* Without CAN_BE_LOADED_ABOVE_4G, initrd_addr_max caps the initrd. */
static void test_bzimage_initrd_addr_max(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_bzimage(0x1, 0x1ffffff);
    uint8_t initrd[0x1800] = { 1 };
    BootConfig cfg = config_for(m, img, BOOT_KIND_LINUX);
    cfg.initrd = initrd;
    cfg.initrd_size = sizeof(initrd);
    BootEntry entry;
    g_assert_true(boot_load(&cfg, &entry, NULL));
    g_assert_cmphex(rd32(m, 0x7218), ==, 0x2000000 - 0x2000);

    /* A limit inside the kernel's init_size leaves no room. */
    g_autoptr(GuestRam) m2 = machine_new();
    put32(img, 0x22c, 0x4fffff);
    cfg.memory = m2->as;
    assert_error_contains(&cfg, "does not fit in guest RAM below 0x500000");
}

/* The initrd stays clear of the range the kernel runs in at pref_address. */
static void test_bzimage_initrd_avoids_pref_address(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_bzimage(0x3, 0x7fffffff);
    img->data[0x234] = 0;
    put64(img, 0x258, GUEST_RAM - 0x400000); /* init_size 4 MiB: up to the top */
    uint8_t initrd[0x1000] = { 1 };
    BootConfig cfg = config_for(m, img, BOOT_KIND_LINUX);
    cfg.initrd = initrd;
    cfg.initrd_size = sizeof(initrd);
    BootEntry entry;
    g_assert_true(boot_load(&cfg, &entry, NULL));
    g_assert_cmphex(rd32(m, 0x7218), ==, GUEST_RAM - 0x400000 - 0x1000);
}

static void test_bzimage_setup_sects_zero(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_bzimage(0x1, 0x7fffffff);
    img->data[0x1f1] = 0; /* means 4: payload starts at 0xa00 */
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    BootEntry entry;
    g_assert_true(boot_load(&cfg, &entry, NULL));
    size_t payload = img->len - 0xa00;
    g_assert_cmpmem(guest_ram_ptr(m, 0x100000, payload), payload, img->data + 0xa00, payload);
}

static void test_bzimage_rejects(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_bzimage(0x3, 0x7fffffff);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);

    put16(img, 0x206, 0x020b);
    assert_error_contains(&cfg, "too old");
    put16(img, 0x206, 0x020f);

    put16(img, 0x236, 0x2);
    assert_error_contains(&cfg, "no 64-bit entry point");
    put16(img, 0x236, 0x3);

    img->data[0x201] = 0x10;
    assert_error_contains(&cfg, "setup header ends at 0x212");
    img->data[0x201] = 0x66;

    img->data[0x1f1] = 60; /* setup larger than the file */
    assert_error_contains(&cfg, "truncated bzImage");
    img->data[0x1f1] = BZ_SETUP_SECTS;

    cfg.kernel_size = 0x250;
    assert_error_contains(&cfg, "truncated bzImage");
    cfg.kernel_size = img->len;

    img->data[0x211] = 0;
    assert_error_contains(&cfg, "a zImage");
    img->data[0x211] = 1;

    /* The kernel runs at pref_address or above, relocatable or not:
     * [pref_address, +init_size) must be RAM as well. */
    for (int relocatable = 0; relocatable <= 1; relocatable++) {
        img->data[0x234] = relocatable;
        put64(img, 0x258, 0x3e00000);
        assert_error_contains(&cfg, "kernel at pref_address (with its init_size) "
                                    "[0x3e00000, 0x4200000) lies beyond guest RAM: needs 66 MiB");
        put64(img, 0x258, UINT64_MAX - 0x1000);
        assert_error_contains(&cfg, "wraps around");
    }
    put64(img, 0x258, 0x1000000);

    put32(img, 0x260, 0x4000000); /* init_size 64 MiB from 1 MiB */
    assert_error_contains(&cfg, "needs 65 MiB of RAM, the guest has 64 MiB");
    put32(img, 0x260, 0x400000);

    /* Sanity: the repaired image loads. */
    BootEntry entry;
    g_assert_true(boot_load(&cfg, &entry, NULL));
}

static void test_cmdline_too_long(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) bz = build_bzimage(0x3, 0x7fffffff);
    g_autofree char *long256 = g_strnfill(256, 'a');
    BootConfig cfg = config_for(m, bz, BOOT_KIND_AUTO);
    cfg.cmdline = long256;
    assert_error_contains(&cfg, "command line too long: 256 bytes, the kernel accepts at most 255");
    long256[255] = '\0';
    BootEntry entry;
    g_assert_true(boot_load(&cfg, &entry, NULL));

    g_autoptr(GByteArray) pvh = build_pvh(64, NOTE_SEGMENT, 4);
    g_autofree char *huge = g_strnfill(0x10000, 'b');
    BootConfig cfg2 = config_for(m, pvh, BOOT_KIND_AUTO);
    cfg2.cmdline = huge;
    assert_error_contains(&cfg2, "command line too long: 65536 bytes, ferry has room for 65535");
    huge[0xffff] = '\0'; /* 65535 bytes and the NUL end exactly at 0x30000 */
    g_assert_true(boot_load(&cfg2, &entry, NULL));
    g_assert_cmpuint(rd8(m, 0x2fffe), ==, 'b');
    g_assert_cmpuint(rd8(m, 0x2ffff), ==, 0);
    assert_scratch_untouched(m);
}

/* ---- bad inputs ---- */

static void test_not_a_kernel(void)
{
    g_autoptr(GuestRam) m = machine_new();
    static const char text[] = "#!/bin/sh\necho this is not a kernel\n";
    GByteArray img = { .data = (guint8 *)text, .len = sizeof(text) - 1 };
    BootConfig cfg = config_for(m, &img, BOOT_KIND_AUTO);
    g_autofree char *msg = boot_expect_error(&cfg);
    g_assert_cmpstr(msg, ==,
                    "test.img: not a kernel image (no bzImage header, PVH note or multiboot header)");

    cfg.kind = BOOT_KIND_LINUX;
    assert_error_contains(&cfg, "not a bzImage");
    cfg.kind = BOOT_KIND_PVH;
    assert_error_contains(&cfg, "cannot boot with PVH: not an ELF file");
    cfg.kind = BOOT_KIND_MULTIBOOT;
    assert_error_contains(&cfg, "no multiboot header");
}

static void test_empty_file(void)
{
    g_autoptr(GuestRam) m = machine_new();
    GByteArray img = { .data = (guint8 *)"", .len = 0 };
    BootConfig cfg = config_for(m, &img, BOOT_KIND_AUTO);
    g_autofree char *msg = boot_expect_error(&cfg);
    g_assert_cmpstr(msg, ==, "test.img: file is empty");
}

static void test_forced_kind_mismatch(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) pvh = build_pvh(64, NOTE_SEGMENT, 4);
    BootConfig cfg = config_for(m, pvh, BOOT_KIND_LINUX);
    assert_error_contains(&cfg, "not a bzImage");
    cfg.kind = BOOT_KIND_MULTIBOOT;
    assert_error_contains(&cfg, "no multiboot header");

    g_autoptr(GByteArray) plain = build_elf(&(TestElf){ .bits = 32, .segs = good_segments,
                                                        .nsegs = 2, .entry = 0x100000 });
    cfg = config_for(m, plain, BOOT_KIND_PVH);
    assert_error_contains(&cfg, "no PVH entry point");
    cfg.kind = BOOT_KIND_AUTO;
    assert_error_contains(&cfg, "not a kernel image");

    g_autoptr(GByteArray) bz = build_bzimage(0x3, 0x7fffffff);
    cfg = config_for(m, bz, BOOT_KIND_PVH);
    assert_error_contains(&cfg, "not an ELF file");
}

static void test_truncated_elf(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_pvh(64, NOTE_SEGMENT, 4);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);

    cfg.kernel_size = 30; /* inside the file header */
    assert_error_contains(&cfg, "truncated ELF64 header");
    cfg.kernel_size = 8;
    assert_error_contains(&cfg, "truncated ELF header");
    cfg.kernel_size = 100; /* program headers cut */
    assert_error_contains(&cfg, "truncated ELF file: program header table");
    cfg.kernel_size = SEGMENT_DATA_START + 0x100; /* first segment's data cut */
    assert_error_contains(&cfg, "lies outside the file");

    g_autoptr(GByteArray) sec = build_pvh(32, NOTE_SECTION, 4);
    cfg = config_for(m, sec, BOOT_KIND_AUTO);
    cfg.kernel_size = sec->len - 1; /* section headers cut */
    assert_error_contains(&cfg, "truncated ELF file: section header table");
}

static void test_segment_beyond_ram(void)
{
    g_autoptr(GuestRam) m = machine_new();
    const TestSegment segs[] = {
        { .paddr = 0x100000, .filesz = 0x100, .memsz = 0x100, .offset = AUTO_OFFSET },
        { .paddr = GUEST_RAM - 0x1000, .filesz = 0x100, .memsz = 0x2000, .offset = AUTO_OFFSET },
    };
    TestElf e = { .bits = 64, .segs = segs, .nsegs = 2, .note = NOTE_SEGMENT,
                  .pvh_entry = 0x100000, .pvh_desc_size = 4, .multiboot = true };
    g_autoptr(GByteArray) img = build_elf(&e);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    g_autofree char *msg = boot_expect_error(&cfg);
    g_assert_cmpstr(msg, ==,
                    "test.img: segment 1 [0x3fff000, 0x4001000) lies beyond guest RAM: "
                    "needs 65 MiB of RAM, the guest has 64 MiB");
    cfg.kind = BOOT_KIND_MULTIBOOT;
    assert_error_contains(&cfg, "needs 65 MiB of RAM, the guest has 64 MiB");

    /* Above 4 GiB with no RAM there. */
    const TestSegment high[] = {
        { .paddr = 0x100000000ull, .filesz = 0x100, .memsz = 0x100, .offset = AUTO_OFFSET },
    };
    e.segs = high;
    e.nsegs = 1;
    g_autoptr(GByteArray) img2 = build_elf(&e);
    cfg = config_for(m, img2, BOOT_KIND_PVH);
    assert_error_contains(&cfg, "lies outside guest RAM");

    /* Below 4 GiB but not in any RAM range the machine has (ram_below_4g
     * claims more than the machine really maps). */
    const TestSegment gap[] = {
        { .paddr = GUEST_RAM + MiB, .filesz = 0x100, .memsz = 0x100, .offset = AUTO_OFFSET },
    };
    e.segs = gap;
    g_autoptr(GByteArray) img3 = build_elf(&e);
    cfg = config_for(m, img3, BOOT_KIND_PVH);
    cfg.ram_below_4g = 128 * MiB;
    assert_error_contains(&cfg, "is not inside guest RAM");
}

static void test_segment_over_boot_data(void)
{
    g_autoptr(GuestRam) m = machine_new();
    const TestSegment segs[] = {
        { .paddr = 0x10000, .filesz = 0x100, .memsz = 0x100, .offset = AUTO_OFFSET },
    };
    TestElf e = { .bits = 32, .segs = segs, .nsegs = 1, .note = NOTE_SEGMENT,
                  .pvh_entry = 0x10000, .pvh_desc_size = 4 };
    g_autoptr(GByteArray) img = build_elf(&e);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    assert_error_contains(&cfg, "overlaps the boot data ferry writes at [0x500, 0x30000)");
}

static void check_bad_segments(const TestSegment *segs, unsigned n, const char *needle)
{
    g_autoptr(GuestRam) m = machine_new();
    for (unsigned bits = 32; bits <= 64; bits += 32) {
        TestElf e = { .bits = bits, .segs = segs, .nsegs = n, .note = NOTE_SEGMENT,
                      .pvh_entry = 0x100000, .pvh_desc_size = 4, .multiboot = true };
        g_autoptr(GByteArray) img = build_elf(&e);
        BootConfig cfg = config_for(m, img, BOOT_KIND_PVH);
        assert_error_contains(&cfg, needle);
        cfg.kind = BOOT_KIND_MULTIBOOT;
        assert_error_contains(&cfg, needle);
    }
    /* Nothing was written: RAM still holds the poison at 1 MiB. */
    g_assert_cmpuint(rd8(m, 0x100000), ==, POISON);
}

static void test_overlapping_segments(void)
{
    const TestSegment segs[] = {
        { .paddr = 0x100000, .filesz = 0x100, .memsz = 0x2000, .offset = AUTO_OFFSET },
        { .paddr = 0x101000, .filesz = 0x100, .memsz = 0x1000, .offset = AUTO_OFFSET },
    };
    check_bad_segments(segs, 2, "segments overlap: [0x100000, 0x102000) and [0x101000, 0x102000)");
}

static void test_filesz_over_memsz(void)
{
    const TestSegment segs[] = {
        { .paddr = 0x100000, .filesz = 0x200, .memsz = 0x100, .offset = AUTO_OFFSET },
    };
    check_bad_segments(segs, 1, "p_filesz 0x200 is larger than p_memsz 0x100");
}

static void test_offset_overflow(void)
{
    const TestSegment segs[] = {
        { .paddr = 0x100000, .filesz = 0x2000, .memsz = 0x2000, .offset = 0xfffff000 },
    };
    check_bad_segments(segs, 1, "lies outside the file");

    /* 64-bit: offset + filesz wraps. */
    g_autoptr(GuestRam) m = machine_new();
    const TestSegment wrap[] = {
        { .paddr = 0x100000, .filesz = 0x2000, .memsz = 0x2000, .offset = UINT64_MAX - 0xfff },
        { .paddr = 0xfffffffffffff000ull, .filesz = 0, .memsz = 0x2000, .offset = 0 },
    };
    TestElf e = { .bits = 64, .segs = wrap, .nsegs = 1, .note = NOTE_SEGMENT,
                  .pvh_entry = 0x100000, .pvh_desc_size = 4 };
    g_autoptr(GByteArray) img = build_elf(&e);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    assert_error_contains(&cfg, "lies outside the file");

    /* paddr + memsz wraps. */
    e.segs = wrap + 1;
    g_autoptr(GByteArray) img2 = build_elf(&e);
    cfg = config_for(m, img2, BOOT_KIND_AUTO);
    assert_error_contains(&cfg, "wraps around the address space");
}

static void test_bad_program_header_count(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_pvh(64, NOTE_SEGMENT, 4);
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    put16(img, 56, 0xffff); /* e_phnum far past the file */
    assert_error_contains(&cfg, "truncated ELF file: program header table");
    put16(img, 56, 3);
    put16(img, 54, 16); /* e_phentsize too small */
    assert_error_contains(&cfg, "program header entries are 16 bytes");
    put16(img, 54, 56);
    put64(img, 32, UINT64_MAX - 8); /* e_phoff wraps */
    assert_error_contains(&cfg, "truncated ELF file: program header table");
}

/* A note whose sizes run past its area is ignored, not followed. */
static void test_malformed_note(void)
{
    g_autoptr(GuestRam) m = machine_new();
    g_autoptr(GByteArray) img = build_pvh(64, NOTE_SEGMENT, 4);
    put32(img, EXTRA_NOTE_OFFSET + 4, 0xfffffff0); /* first note's descsz */
    BootConfig cfg = config_for(m, img, BOOT_KIND_AUTO);
    assert_error_contains(&cfg, "not a kernel image");
    cfg.kind = BOOT_KIND_PVH;
    assert_error_contains(&cfg, "no PVH entry point");
}

static void test_initrd_too_big(void)
{
    g_autoptr(GuestRam) m = machine_new();
    static const uint8_t byte;
    g_autoptr(GByteArray) pvh = build_pvh(64, NOTE_SEGMENT, 4);
    BootConfig cfg = config_for(m, pvh, BOOT_KIND_AUTO);
    /* The loader must give up on the size alone, before reading it. */
    cfg.initrd = &byte;
    cfg.initrd_size = 80 * MiB;
    g_autofree char *msg = boot_expect_error(&cfg);
    g_assert_cmpstr(msg, ==,
                    "test.img: initrd (80 MiB) does not fit in guest RAM below 0x4000000 "
                    "beside the kernel (the guest has 64 MiB)");

    g_autoptr(GByteArray) bz = build_bzimage(0x3, 0x7fffffff);
    cfg = config_for(m, bz, BOOT_KIND_AUTO);
    cfg.initrd = &byte;
    cfg.initrd_size = 62 * MiB; /* fits RAM, not beside init_size */
    assert_error_contains(&cfg, "initrd (62 MiB) does not fit in guest RAM below 0x4000000");

    TestElf e = { .bits = 32, .segs = good_segments, .nsegs = 2, .multiboot = true,
                  .entry = 0x100000 };
    g_autoptr(GByteArray) mb = build_elf(&e);
    cfg = config_for(m, mb, BOOT_KIND_AUTO);
    cfg.initrd = &byte;
    cfg.initrd_size = 64 * MiB;
    assert_error_contains(&cfg, "initrd (64 MiB) does not fit");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/boot/kind-names", test_kind_names);
    g_test_add_func("/boot/pvh/elf64-segment-note", test_pvh_elf64_segment_note);
    g_test_add_func("/boot/pvh/elf64-desc8", test_pvh_elf64_desc8);
    g_test_add_func("/boot/pvh/elf32-segment-note", test_pvh_elf32_segment_note);
    g_test_add_func("/boot/pvh/elf32-section-note", test_pvh_elf32_section_note);
    g_test_add_func("/boot/pvh/elf64-section-note", test_pvh_elf64_section_note);
    g_test_add_func("/boot/pvh/initrd", test_pvh_initrd);
    g_test_add_func("/boot/pvh/initrd-avoids-kernel", test_initrd_avoids_kernel);
    g_test_add_func("/boot/multiboot/elf32", test_multiboot_elf32);
    g_test_add_func("/boot/multiboot/elf64", test_multiboot_elf64);
    g_test_add_func("/boot/multiboot/virtual-entry", test_multiboot_virtual_entry);
    g_test_add_func("/boot/multiboot/initrd-empty-cmdline", test_multiboot_initrd_and_empty_cmdline);
    g_test_add_func("/boot/multiboot/aout-kludge", test_multiboot_aout_kludge);
    g_test_add_func("/boot/multiboot/aout-to-eof", test_multiboot_aout_to_eof);
    g_test_add_func("/boot/multiboot/aout-bad-fields", test_multiboot_aout_bad_fields);
    g_test_add_func("/boot/multiboot/video-rejected", test_multiboot_video_rejected);
    g_test_add_func("/boot/multiboot/bad-checksum", test_multiboot_bad_checksum);
    g_test_add_func("/boot/multiboot/header-too-late", test_multiboot_header_too_late);
    g_test_add_func("/boot/detect/pvh-and-multiboot", test_pvh_and_multiboot);
    g_test_add_func("/boot/bzimage/boot", test_bzimage_boot);
    g_test_add_func("/boot/bzimage/initrd-addr-max", test_bzimage_initrd_addr_max);
    g_test_add_func("/boot/bzimage/initrd-avoids-pref-address", test_bzimage_initrd_avoids_pref_address);
    g_test_add_func("/boot/bzimage/setup-sects-zero", test_bzimage_setup_sects_zero);
    g_test_add_func("/boot/bzimage/rejects", test_bzimage_rejects);
    g_test_add_func("/boot/bad/cmdline-too-long", test_cmdline_too_long);
    g_test_add_func("/boot/bad/not-a-kernel", test_not_a_kernel);
    g_test_add_func("/boot/bad/empty-file", test_empty_file);
    g_test_add_func("/boot/bad/forced-kind-mismatch", test_forced_kind_mismatch);
    g_test_add_func("/boot/bad/truncated-elf", test_truncated_elf);
    g_test_add_func("/boot/bad/segment-beyond-ram", test_segment_beyond_ram);
    g_test_add_func("/boot/bad/segment-over-boot-data", test_segment_over_boot_data);
    g_test_add_func("/boot/bad/overlapping-segments", test_overlapping_segments);
    g_test_add_func("/boot/bad/filesz-over-memsz", test_filesz_over_memsz);
    g_test_add_func("/boot/bad/offset-overflow", test_offset_overflow);
    g_test_add_func("/boot/bad/program-header-count", test_bad_program_header_count);
    g_test_add_func("/boot/bad/malformed-note", test_malformed_note);
    g_test_add_func("/boot/bad/initrd-too-big", test_initrd_too_big);
    return g_test_run();
}
