/* Firmware boot: the fw_cfg items fw_cfg_kernel puts up for a bzImage, a
 * multiboot ELF and a PVH ELF, the PC items of fw_cfg_pc, and the firmware
 * image mapping, all read back as the guest would: through the fw_cfg
 * ports and DMA, and guest RAM. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "firmware/firmware_image.h"
#include "firmware/fw_cfg.h"
#include "firmware/fw_cfg_kernel.h"
#include "firmware/fw_cfg_pc.h"
#include "mem/le_bytes.h"
#include "fixture.h"

#define MiB (1024ull * 1024)
#define GUEST_RAM (64 * MiB)
#define POISON 0xcc
#define DMA_DESC_ADDR 0x7000 /* scratch in guest RAM for the DMA descriptor */
#define DMA_CTL_ERROR 0x01u
#define DMA_CTL_READ 0x02u
#define DMA_CTL_SELECT 0x08u
#define ACPI_ROOM 0x28000ull

/* ---- a machine: RAM at [0, GUEST_RAM), an I/O space, fw_cfg ---- */

typedef struct TestMachine {
    GuestRam *ram;
    IoBus bus;
    FwCfg *fw;
    char *rom_dir;
} TestMachine;

static void write_fake_rom(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    uint8_t rom[512] = { 0x55, 0xaa, 1 };
    g_assert_true(g_file_set_contents(path, (const char *)rom, sizeof(rom), NULL));
}

static TestMachine *machine_new(void)
{
    g_autoptr(GError) err = NULL;
    TestMachine *m = g_new0(TestMachine, 1);

    m->ram = guest_ram_new("test-fwk-ram", GUEST_RAM, POISON);
    io_bus_init(&m->bus);
    m->fw = fw_cfg_new(m->bus.io, m->ram->as);
    m->rom_dir = g_dir_make_tmp("ferry-roms-XXXXXX", &err);
    g_assert_no_error(err);
    write_fake_rom(m->rom_dir, "linuxboot_dma.bin");
    write_fake_rom(m->rom_dir, "multiboot_dma.bin");
    write_fake_rom(m->rom_dir, "pvh.bin");
    return m;
}

static void remove_dir(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
    }
    g_rmdir(dir);
}

static void machine_free(TestMachine *m)
{
    fw_cfg_free(m->fw);
    io_bus_destroy(&m->bus);
    guest_ram_free(m->ram);
    remove_dir(m->rom_dir);
    g_free(m->rom_dir);
    g_free(m);
}

/* ---- reading fw_cfg as firmware does ---- */

static void port_select(TestMachine *m, uint16_t key)
{
    uint8_t le[2];
    le16_store(le, key);
    g_assert_cmpint(address_space_write(m->bus.as, FW_CFG_IO_BASE, le, 2), ==, MEMTX_OK);
}

/* A little-endian integer item, byte by byte from the data port. */
static uint64_t port_read_int(TestMachine *m, uint16_t key, unsigned size)
{
    uint64_t v = 0;
    port_select(m, key);
    for (unsigned i = 0; i < size; i++) {
        uint8_t b;
        g_assert_cmpint(address_space_read(m->bus.as, FW_CFG_IO_BASE + 1, &b, 1), ==, MEMTX_OK);
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

/* Select + read `len` bytes to guest `gpa` through one DMA descriptor. */
static void dma_read(TestMachine *m, uint16_t key, uint64_t gpa, uint32_t len)
{
    uint8_t *desc = guest_ram_wptr(m->ram, DMA_DESC_ADDR, 16);
    uint8_t addr_be[4];
    uint32_t control = ((uint32_t)key << 16) | DMA_CTL_SELECT | DMA_CTL_READ;

    *(uint32_t *)(void *)desc = GUINT32_TO_BE(control);
    *(uint32_t *)(void *)(desc + 4) = GUINT32_TO_BE(len);
    *(uint64_t *)(void *)(desc + 8) = GUINT64_TO_BE(gpa);
    /* The guest's outl(bswap32(addr)): the port sees the bytes big-endian. */
    uint32_t be = GUINT32_TO_BE((uint32_t)DMA_DESC_ADDR);
    memcpy(addr_be, &be, 4);
    g_assert_cmpint(address_space_write(m->bus.as, FW_CFG_IO_BASE + 8, addr_be, 4), ==, MEMTX_OK);
    g_assert_cmphex(GUINT32_FROM_BE(*(uint32_t *)(void *)desc) & ~DMA_CTL_ERROR, ==, 0);
}

/* A whole item into a host buffer, through DMA into scratch guest RAM. */
static GByteArray *read_item(TestMachine *m, uint16_t key, uint32_t len)
{
    const uint64_t scratch = 32 * MiB;
    GByteArray *b = g_byte_array_sized_new(len);
    dma_read(m, key, scratch, len);
    g_byte_array_append(b, guest_ram_wptr(m->ram, scratch, len ? len : 1), len);
    return b;
}

/* Look a file up in the directory: its key and size, or key 0. */
static uint16_t find_file(TestMachine *m, const char *name, uint32_t *size)
{
    port_select(m, FW_CFG_FILE_DIR);
    uint8_t count_be[4];
    for (unsigned i = 0; i < 4; i++)
        address_space_read(m->bus.as, FW_CFG_IO_BASE + 1, &count_be[i], 1);
    uint32_t count = ((uint32_t)count_be[0] << 24) | (count_be[1] << 16) | (count_be[2] << 8) |
                     count_be[3];
    g_autoptr(GByteArray) dir = read_item(m, FW_CFG_FILE_DIR, 4 + count * 64);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = dir->data + 4 + i * 64;
        if (strcmp((const char *)e + 8, name) == 0) {
            *size = ((uint32_t)e[0] << 24) | (e[1] << 16) | (e[2] << 8) | e[3];
            return (uint16_t)((e[4] << 8) | e[5]);
        }
    }
    return 0;
}

static char *read_file_text(TestMachine *m, const char *name)
{
    uint32_t size;
    uint16_t key = find_file(m, name, &size);
    g_assert_cmpuint(key, !=, 0);
    g_autoptr(GByteArray) b = read_item(m, key, size);
    return g_strndup((const char *)b->data, size);
}

/* ---- building images ---- */

static uint8_t pattern(size_t i) { return (uint8_t)(i * 13 + 5); }

#define BZ_SETUP_SECTS 2
#define BZ_SETUP_SIZE ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_KERNEL_SIZE 8192

static GByteArray *build_bzimage(uint16_t version, size_t kernel_size)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_set_size(b, BZ_SETUP_SIZE + kernel_size);
    memset(b->data, 0, b->len);
    uint8_t *d = b->data;
    d[0x1f1] = BZ_SETUP_SECTS;
    le16_store(d + 0x1fa, 0xffff);
    le16_store(d + 0x1fe, 0xaa55);
    d[0x201] = 0x264 - 0x202;
    memcpy(d + 0x202, "HdrS", 4);
    le16_store(d + 0x206, version);
    d[0x211] = 0x01; /* LOADED_HIGH */
    le32_store(d + 0x22c, 0x7fffffff);
    le32_store(d + 0x238, 2048);
    for (size_t i = 0; i < kernel_size; i++)
        d[BZ_SETUP_SIZE + i] = pattern(i);
    return b;
}

typedef struct TestSeg {
    uint32_t paddr, filesz, memsz;
} TestSeg;

/* An ELF32 with the given PT_LOAD segments (contents pattern()), an
 * optional multiboot header at the start of the first segment's bytes and
 * an optional PVH note. */
static GByteArray *build_elf32(const TestSeg *segs, unsigned nsegs, uint32_t entry, bool multiboot,
                               uint32_t pvh_entry)
{
    unsigned nph = nsegs + (pvh_entry ? 1 : 0);
    size_t off = 52 + nph * 32, note_off = 0;
    GByteArray *b = g_byte_array_new();
    g_byte_array_set_size(b, 0x4000);
    memset(b->data, 0, b->len);
    uint8_t *d = b->data;

    memcpy(d, "\x7f" "ELF", 4);
    d[4] = 1; /* 32-bit */
    d[5] = 1; /* little-endian */
    d[6] = 1;
    le16_store(d + 16, 2); /* ET_EXEC */
    le16_store(d + 18, 3); /* EM_386 */
    le32_store(d + 20, 1);
    le32_store(d + 24, entry);
    le32_store(d + 28, 52);
    le16_store(d + 40, 52);
    le16_store(d + 42, 32);
    le16_store(d + 44, nph);
    if (pvh_entry) {
        note_off = off;
        le32_store(d + note_off, 4);
        le32_store(d + note_off + 4, 4);
        le32_store(d + note_off + 8, 18);
        memcpy(d + note_off + 12, "Xen", 4);
        le32_store(d + note_off + 16, pvh_entry);
        off += 20;
    }
    off = (off + 15) & ~(size_t)15;
    for (unsigned i = 0; i < nsegs; i++) {
        uint8_t *ph = d + 52 + i * 32;
        le32_store(ph + 0, 1);
        le32_store(ph + 4, off);
        le32_store(ph + 8, segs[i].paddr);
        le32_store(ph + 12, segs[i].paddr);
        le32_store(ph + 16, segs[i].filesz);
        le32_store(ph + 20, segs[i].memsz);
        for (uint32_t j = 0; j < segs[i].filesz; j++)
            d[off + j] = pattern(j + i);
        if (i == 0 && multiboot) {
            le32_store(d + off, 0x1BADB002);
            le32_store(d + off + 4, 0);
            le32_store(d + off + 8, (uint32_t)-0x1BADB002);
        }
        off += segs[i].filesz;
    }
    if (pvh_entry) {
        uint8_t *ph = d + 52 + nsegs * 32;
        le32_store(ph + 0, 4); /* PT_NOTE */
        le32_store(ph + 4, note_off);
        le32_store(ph + 16, 20);
        le32_store(ph + 20, 20);
        le32_store(ph + 28, 4);
    }
    g_assert_cmpuint(off, <=, b->len);
    g_byte_array_set_size(b, off);
    return b;
}

static FwCfgKernelConfig config_for(TestMachine *m, const GByteArray *image, BootKind kind)
{
    return (FwCfgKernelConfig){
        .memory = m->ram->as,
        .kernel_name = "kernel.img",
        .kernel = image->data,
        .kernel_size = image->len,
        .cmdline = "test=x console=ttyS0",
        .kind = kind,
        .ram_below_4g = GUEST_RAM,
        .rom_dir = m->rom_dir,
    };
}

static char *expect_error(TestMachine *m, const FwCfgKernelConfig *cfg)
{
    GError *err = NULL;
    FwCfgKernel *k = fw_cfg_kernel_new(m->fw, cfg, &err);
    g_assert_null(k);
    g_assert_nonnull(err);
    g_assert_null(strchr(err->message, '\n'));
    char *msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

static void assert_error_contains(TestMachine *m, const FwCfgKernelConfig *cfg, const char *needle)
{
    g_autofree char *msg = expect_error(m, cfg);
    if (!strstr(msg, needle))
        g_error("error \"%s\" does not contain \"%s\"", msg, needle);
    g_assert_true(g_str_has_prefix(msg, "kernel.img: "));
}

/* ---- bzImage ---- */

static void test_bzimage_items(void)
{
    TestMachine *m = machine_new();
    g_autoptr(GByteArray) image = build_bzimage(0x20f, BZ_KERNEL_SIZE);
    uint8_t initrd[5000];
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i ^ 0x5a);
    FwCfgKernelConfig cfg = config_for(m, image, BOOT_KIND_AUTO);
    cfg.initrd = initrd;
    cfg.initrd_size = sizeof(initrd);
    g_autoptr(GError) err = NULL;
    FwCfgKernel *k = fw_cfg_kernel_new(m->fw, &cfg, &err);
    g_assert_no_error(err);
    g_assert_cmpint(fw_cfg_kernel_kind(k), ==, BOOT_KIND_LINUX);
    g_assert_cmpstr(fw_cfg_kernel_bootorder(k), ==, "/rom@genroms/linuxboot_dma.bin");

    /* QEMU's layout: setup at 0x10000, cmdline at 0x20000, kernel at 1 MiB,
     * the initrd page-aligned below RAM - 160 KiB. */
    uint32_t initrd_addr = (uint32_t)((GUEST_RAM - ACPI_ROOM - 1 - sizeof(initrd)) & ~0xfffull);
    g_assert_cmphex(port_read_int(m, FW_CFG_SETUP_ADDR, 4), ==, 0x10000);
    g_assert_cmpuint(port_read_int(m, FW_CFG_SETUP_SIZE, 4), ==, BZ_SETUP_SIZE);
    g_assert_cmphex(port_read_int(m, FW_CFG_KERNEL_ADDR, 4), ==, 0x100000);
    g_assert_cmpuint(port_read_int(m, FW_CFG_KERNEL_SIZE, 4), ==, BZ_KERNEL_SIZE);
    g_assert_cmphex(port_read_int(m, FW_CFG_CMDLINE_ADDR, 4), ==, 0x20000);
    g_assert_cmpuint(port_read_int(m, FW_CFG_CMDLINE_SIZE, 4), ==, strlen(cfg.cmdline) + 1);
    g_assert_cmphex(port_read_int(m, FW_CFG_INITRD_ADDR, 4), ==, initrd_addr);
    g_assert_cmpuint(port_read_int(m, FW_CFG_INITRD_SIZE, 4), ==, sizeof(initrd));

    /* The header as linuxboot_dma.bin hands it to the setup code. */
    dma_read(m, FW_CFG_SETUP_DATA, 0x10000, BZ_SETUP_SIZE);
    const uint8_t *setup = guest_ram_wptr(m->ram, 0x10000, BZ_SETUP_SIZE);
    g_assert_cmphex(setup[0x210], ==, 0xb0);
    g_assert_cmphex(setup[0x211], ==, 0x81);
    g_assert_cmphex(le16_load(setup + 0x224), ==, 0xfe00);
    g_assert_cmphex(le32_load(setup + 0x228), ==, 0x20000);
    g_assert_cmphex(le32_load(setup + 0x218), ==, initrd_addr);
    g_assert_cmpuint(le32_load(setup + 0x21c), ==, sizeof(initrd));
    g_assert_cmphex(le16_load(setup + 0x1fa), ==, 0xffff);
    g_assert_cmpmem(setup, 0x1f1, image->data, 0x1f1); /* the rest is the file's */

    dma_read(m, FW_CFG_KERNEL_DATA, 0x100000, BZ_KERNEL_SIZE);
    g_assert_cmpmem(guest_ram_wptr(m->ram, 0x100000, BZ_KERNEL_SIZE), BZ_KERNEL_SIZE,
                    image->data + BZ_SETUP_SIZE, BZ_KERNEL_SIZE);
    dma_read(m, FW_CFG_CMDLINE_DATA, 0x20000, strlen(cfg.cmdline) + 1);
    g_assert_cmpstr((const char *)guest_ram_wptr(m->ram, 0x20000, 1), ==, cfg.cmdline);
    dma_read(m, FW_CFG_INITRD_DATA, initrd_addr, sizeof(initrd));
    g_assert_cmpmem(guest_ram_wptr(m->ram, initrd_addr, sizeof(initrd)), sizeof(initrd), initrd,
                    sizeof(initrd));

    uint32_t rom_size;
    g_assert_cmpuint(find_file(m, "genroms/linuxboot_dma.bin", &rom_size), !=, 0);
    g_assert_cmpuint(rom_size, ==, 512);
    fw_cfg_kernel_free(k);
    machine_free(m);
}

/* Protocol 2.01: setup and command line below 640 KiB, cmdline at 0x20/0x22. */
static void test_bzimage_old_protocol(void)
{
    TestMachine *m = machine_new();
    g_autoptr(GByteArray) image = build_bzimage(0x201, BZ_KERNEL_SIZE);
    FwCfgKernelConfig cfg = config_for(m, image, BOOT_KIND_LINUX);
    g_autoptr(GError) err = NULL;
    FwCfgKernel *k = fw_cfg_kernel_new(m->fw, &cfg, &err);
    g_assert_no_error(err);
    uint32_t cmdline_addr = 0x9a000 - ((strlen(cfg.cmdline) + 1 + 15) & ~15u);
    g_assert_cmphex(port_read_int(m, FW_CFG_SETUP_ADDR, 4), ==, 0x90000);
    g_assert_cmphex(port_read_int(m, FW_CFG_CMDLINE_ADDR, 4), ==, cmdline_addr);
    g_autoptr(GByteArray) setup = read_item(m, FW_CFG_SETUP_DATA, BZ_SETUP_SIZE);
    g_assert_cmphex(le16_load(setup->data + 0x20), ==, 0xa33f);
    g_assert_cmphex(le16_load(setup->data + 0x22), ==, cmdline_addr - 0x90000);
    g_assert_cmphex(le16_load(setup->data + 0x224), ==, cmdline_addr - 0x90000 - 0x200);
    fw_cfg_kernel_free(k);
    machine_free(m);
}

static void test_bzimage_bad(void)
{
    TestMachine *m = machine_new();
    g_autoptr(GByteArray) image = build_bzimage(0x20f, BZ_KERNEL_SIZE);
    FwCfgKernelConfig cfg = config_for(m, image, BOOT_KIND_AUTO);

    cfg.kernel_size = BZ_SETUP_SIZE - 100;
    assert_error_contains(m, &cfg, "truncated bzImage");
    cfg.kernel_size = image->len;

    cfg.ram_below_4g = MiB + ACPI_ROOM + 4096; /* room for 4 KiB of kernel, it has 8 */
    assert_error_contains(m, &cfg, "too big");
    cfg.ram_below_4g = GUEST_RAM;

    g_autofree uint8_t *big_initrd = g_malloc0(GUEST_RAM);
    cfg.initrd = big_initrd;
    cfg.initrd_size = GUEST_RAM - ACPI_ROOM;
    assert_error_contains(m, &cfg, "initrd");
    cfg.initrd = NULL;
    cfg.initrd_size = 0;

    g_autofree char *long_cmdline = g_strnfill(3000, 'x');
    cfg.cmdline = long_cmdline;
    assert_error_contains(m, &cfg, "at most 2048");
    machine_free(m);
}

static void test_missing_rom(void)
{
    TestMachine *m = machine_new();
    g_autoptr(GByteArray) image = build_bzimage(0x20f, BZ_KERNEL_SIZE);
    FwCfgKernelConfig cfg = config_for(m, image, BOOT_KIND_AUTO);
    g_autofree char *empty = g_dir_make_tmp("ferry-noroms-XXXXXX", NULL);

    cfg.rom_dir = empty;
    g_autofree char *msg = expect_error(m, &cfg);
    g_autofree char *want = g_strdup_printf("needs %s/linuxboot_dma.bin (Debian package "
                                            "qemu-system-data)", empty);
    g_assert_nonnull(strstr(msg, want));
    g_rmdir(empty);
    machine_free(m);
}

static void test_unknown_and_empty(void)
{
    TestMachine *m = machine_new();
    g_autoptr(GByteArray) junk = g_byte_array_new();
    g_byte_array_set_size(junk, 4096);
    memset(junk->data, 0x11, junk->len);
    FwCfgKernelConfig cfg = config_for(m, junk, BOOT_KIND_AUTO);
    assert_error_contains(m, &cfg, "not a bzImage, a multiboot image or an ELF");
    cfg.kind = BOOT_KIND_LINUX;
    assert_error_contains(m, &cfg, "not a bzImage");
    cfg.kernel_size = 0;
    assert_error_contains(m, &cfg, "empty");
    machine_free(m);
}

/* ---- multiboot ---- */

#define MB_LOW 0x200000u
#define MB_ENTRY (MB_LOW + 0x40)

static void test_multiboot_items(void)
{
    TestMachine *m = machine_new();
    const TestSeg segs[] = { { MB_LOW, 0x300, 0x2000 }, { MB_LOW + 0x3000, 0x80, 0x100 } };
    g_autoptr(GByteArray) image = build_elf32(segs, 2, MB_ENTRY, true, 0);
    const char module[] = "KEY=value\n";
    FwCfgKernelConfig cfg = config_for(m, image, BOOT_KIND_AUTO);
    cfg.initrd = (const uint8_t *)module;
    cfg.initrd_size = sizeof(module) - 1;
    cfg.initrd_name = "env.txt";
    g_autoptr(GError) err = NULL;
    FwCfgKernel *k = fw_cfg_kernel_new(m->fw, &cfg, &err);
    g_assert_no_error(err);
    g_assert_cmpint(fw_cfg_kernel_kind(k), ==, BOOT_KIND_MULTIBOOT);
    g_assert_cmpstr(fw_cfg_kernel_bootorder(k), ==, "/rom@genroms/multiboot_dma.bin");

    g_assert_cmphex(port_read_int(m, FW_CFG_KERNEL_ENTRY, 4), ==, MB_ENTRY);
    g_assert_cmphex(port_read_int(m, FW_CFG_KERNEL_ADDR, 4), ==, MB_LOW);
    uint32_t size = port_read_int(m, FW_CFG_KERNEL_SIZE, 4);
    g_assert_cmpuint(size % 4096, ==, 0);
    g_assert_cmphex(port_read_int(m, FW_CFG_INITRD_ADDR, 4), ==, 0x9500);
    g_assert_cmpuint(port_read_int(m, FW_CFG_INITRD_SIZE, 4), ==, 88);

    /* What multiboot_dma.bin does: the buffer to KERNEL_ADDR, the info to
     * INITRD_ADDR. */
    dma_read(m, FW_CFG_KERNEL_DATA, MB_LOW, size);
    dma_read(m, FW_CFG_INITRD_DATA, 0x9500, 88);
    const uint8_t *img = guest_ram_wptr(m->ram, MB_LOW, size);
    const uint8_t *file_seg0 = image->data + le32_load(image->data + 52 + 4);
    const uint8_t *file_seg1 = image->data + le32_load(image->data + 84 + 4);
    g_assert_cmpmem(img, 0x300, file_seg0, 0x300);
    for (size_t i = 0x300; i < 0x3000; i++)
        g_assert_cmphex(img[i], ==, 0); /* bss and the gap */
    g_assert_cmpmem(img + 0x3000, 0x80, file_seg1, 0x80);

    const uint8_t *mbi = guest_ram_wptr(m->ram, 0x9500, 88);
    g_assert_cmphex(le32_load(mbi + 0), ==, 0x24f); /* mem|bootdev|cmdline|mods|mmap|name */
    g_assert_cmphex(le32_load(mbi + 12), ==, 0x8000ffff);
    g_assert_cmpstr((const char *)guest_ram_wptr(m->ram, le32_load(mbi + 16), 1), ==,
                    "kernel.img test=x console=ttyS0");
    g_assert_cmpuint(le32_load(mbi + 20), ==, 1);
    g_assert_cmphex(le32_load(mbi + 48), ==, 0x9000);
    g_assert_cmpstr((const char *)guest_ram_wptr(m->ram, le32_load(mbi + 64), 1), ==, "ferry");
    const uint8_t *mod = guest_ram_wptr(m->ram, le32_load(mbi + 24), 16);
    uint32_t mod_start = le32_load(mod), mod_end = le32_load(mod + 4);
    g_assert_cmpuint(mod_start % 4096, ==, 0);
    g_assert_cmpuint(mod_end - mod_start, ==, sizeof(module) - 1);
    g_assert_cmpuint(mod_end, <=, MB_LOW + size);
    g_assert_cmpmem(guest_ram_wptr(m->ram, mod_start, 1), sizeof(module) - 1, module,
                    sizeof(module) - 1);
    g_assert_cmpstr((const char *)guest_ram_wptr(m->ram, le32_load(mod + 8), 1), ==, "env.txt");
    g_assert_cmpuint(le32_load(mbi + 4), ==, 0); /* the ROM fills mem_lower, mem_upper */
    g_assert_cmpuint(le32_load(mbi + 44), ==, 0); /* and mmap_length */
    fw_cfg_kernel_free(k);
    machine_free(m);
}

static void test_multiboot_bad(void)
{
    TestMachine *m = machine_new();
    const TestSeg low[] = { { 0x80000, 0x100, 0x100 } };
    g_autoptr(GByteArray) below_1m = build_elf32(low, 1, 0x80000, true, 0);
    FwCfgKernelConfig cfg = config_for(m, below_1m, BOOT_KIND_AUTO);
    assert_error_contains(m, &cfg, "between 1 MiB and the top of RAM");

    const TestSeg huge[] = { { MB_LOW, 0x100, GUEST_RAM } };
    g_autoptr(GByteArray) too_big = build_elf32(huge, 1, MB_ENTRY, true, 0);
    cfg = config_for(m, too_big, BOOT_KIND_AUTO);
    assert_error_contains(m, &cfg, "more --memory");

    const TestSeg good[] = { { MB_LOW, 0x300, 0x300 } };
    g_autoptr(GByteArray) truncated = build_elf32(good, 1, MB_ENTRY, true, 0);
    cfg = config_for(m, truncated, BOOT_KIND_MULTIBOOT);
    cfg.kernel_size -= 0x100; /* the segment runs past the end of the file */
    g_autofree char *msg = expect_error(m, &cfg);
    g_assert_true(g_str_has_prefix(msg, "kernel.img: "));
    machine_free(m);
}

/* ---- PVH (qboot) ---- */

static void test_pvh_items_and_reset(void)
{
    TestMachine *m = machine_new();
    const TestSeg segs[] = { { 0x100000, 0x200, 0x1000 } };
    g_autoptr(GByteArray) image = build_elf32(segs, 1, 0x100000, false, 0x100080);
    FwCfgKernelConfig cfg = config_for(m, image, BOOT_KIND_AUTO);
    g_autoptr(GError) err = NULL;
    FwCfgKernel *k = fw_cfg_kernel_new(m->fw, &cfg, &err);
    g_assert_no_error(err);
    g_assert_cmpint(fw_cfg_kernel_kind(k), ==, BOOT_KIND_PVH);
    g_assert_cmpstr(fw_cfg_kernel_bootorder(k), ==, "/rom@genroms/pvh.bin");
    g_assert_cmphex(port_read_int(m, FW_CFG_KERNEL_ENTRY, 4), ==, 0x100080);
    g_assert_cmphex(port_read_int(m, FW_CFG_KERNEL_ADDR, 4), ==, 0x100000);
    g_assert_cmpuint(port_read_int(m, FW_CFG_KERNEL_SIZE, 4), ==, 0x1000);
    g_autoptr(GByteArray) peek = read_item(m, FW_CFG_SETUP_DATA, 8192);
    g_assert_cmpmem(peek->data, 4, "\x7f" "ELF", 4); /* how qboot tells PVH apart */

    const uint8_t *file_seg = image->data + le32_load(image->data + 52 + 4);
    uint8_t *ram = guest_ram_wptr(m->ram, 0x100000, 0x1000);
    g_assert_cmpmem(ram, 0x200, file_seg, 0x200);
    g_assert_cmphex(ram[0x200], ==, 0);
    memset(ram, POISON, 0x1000); /* the guest ran and changed its image */
    g_assert_true(fw_cfg_kernel_reset(k, &err));
    g_assert_cmpmem(ram, 0x200, file_seg, 0x200);
    fw_cfg_kernel_free(k);
    machine_free(m);
}

/* ---- the PC items ---- */

static void test_pc_items(void)
{
    TestMachine *m = machine_new();
    g_autoptr(GError) err = NULL;
    FwCfgPcConfig pc = {
        .cpus = 3, .ram_below_4g = GUEST_RAM, .ram_above_4g = 0, .bootorder = "/rom@genroms/x.bin",
    };
    g_assert_true(fw_cfg_pc_setup(m->fw, &pc, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(port_read_int(m, FW_CFG_NB_CPUS, 2), ==, 3);
    g_assert_cmpuint(port_read_int(m, FW_CFG_MAX_CPUS, 2), ==, 3);
    g_assert_cmpuint(port_read_int(m, FW_CFG_RAM_SIZE, 8), ==, GUEST_RAM);
    g_assert_cmpuint(port_read_int(m, FW_CFG_IRQ0_OVERRIDE, 4), ==, 1);
    g_assert_cmpuint(port_read_int(m, FW_CFG_BOOT_MENU, 2), ==, 0);
    g_autofree char *bootorder = read_file_text(m, "bootorder");
    g_assert_cmpstr(bootorder, ==, "/rom@genroms/x.bin");

    uint32_t size;
    uint16_t key = find_file(m, "etc/e820", &size);
    g_assert_cmpuint(size, ==, 2 * 20);
    g_autoptr(GByteArray) e820 = read_item(m, key, size);
    /* qboot takes the first entry, at 0, as its low-memory size. */
    g_assert_cmphex(le64_load(e820->data), ==, 0);
    g_assert_cmphex(le64_load(e820->data + 8), ==, GUEST_RAM);
    g_assert_cmpuint(le32_load(e820->data + 16), ==, 1);
    g_assert_cmphex(le64_load(e820->data + 20), ==, 0xfeffc000);
    g_assert_cmpuint(le32_load(e820->data + 36), ==, 2);
    machine_free(m);
}

/* ---- the firmware image ---- */

static char *write_temp_image(size_t size)
{
    g_autoptr(GError) err = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("ferry-fw-XXXXXX", &path, &err);
    g_assert_no_error(err);
    close(fd);
    g_autofree uint8_t *data = g_malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++)
        data[i] = pattern(i);
    g_assert_true(g_file_set_contents(path, (const char *)data, size, NULL));
    return path;
}

static void test_firmware_image_mapping(void)
{
    TestMachine *m = machine_new();
    const size_t size = 256 * 1024;
    g_autofree char *path = write_temp_image(size);
    g_autoptr(GError) err = NULL;
    FirmwareImage *fw = firmware_image_new(path, m->ram->system, m->ram->as, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(firmware_image_size(fw), ==, size);
    g_assert_cmphex(firmware_image_base(fw), ==, 0x100000000ull - size);

    uint8_t top[16], f_seg[16];
    g_assert_cmpint(address_space_read(m->ram->as, 0xfffffff0, top, 16), ==, MEMTX_OK);
    g_assert_cmpint(address_space_read(m->ram->as, 0xffff0, f_seg, 16), ==, MEMTX_OK);
    g_assert_cmpmem(top, 16, f_seg, 16); /* the reset vector, both ways */
    g_assert_cmphex(f_seg[0], ==, pattern(size - 16));
    /* The part below 0xE0000 was copied into RAM, as PAM shadowing would. */
    g_assert_cmphex(*guest_ram_wptr(m->ram, 0xc0000, 1), ==, pattern(0));
    g_assert_cmphex(*guest_ram_wptr(m->ram, 0xdffff, 1), ==, pattern(0x1ffff));

    /* Writable, through either mapping, and restored by a reset. */
    uint8_t junk = 0x42;
    g_assert_cmpint(address_space_write(m->ram->as, 0xffff0, &junk, 1), ==, MEMTX_OK);
    g_assert_cmpint(address_space_read(m->ram->as, 0xfffffff0, top, 1), ==, MEMTX_OK);
    g_assert_cmphex(top[0], ==, 0x42);
    *guest_ram_wptr(m->ram, 0xc0000, 1) = 0x42;
    firmware_image_reset(fw);
    g_assert_cmpint(address_space_read(m->ram->as, 0xffff0, f_seg, 1), ==, MEMTX_OK);
    g_assert_cmphex(f_seg[0], ==, pattern(size - 16));
    g_assert_cmphex(*guest_ram_wptr(m->ram, 0xc0000, 1), ==, pattern(0));
    firmware_image_free(fw);
    g_unlink(path);
    machine_free(m);
}

static void check_image_refused(size_t size, const char *needle)
{
    TestMachine *m = machine_new();
    g_autofree char *path = write_temp_image(size);
    g_autoptr(GError) err = NULL;
    g_assert_null(firmware_image_new(path, m->ram->system, m->ram->as, &err));
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, "--firmware "));
    if (!strstr(err->message, needle))
        g_error("error \"%s\" does not contain \"%s\"", err->message, needle);
    g_unlink(path);
    machine_free(m);
}

static void test_firmware_image_bad(void)
{
    check_image_refused(0, "empty");
    check_image_refused(1000, "multiple of 64 KiB");
    check_image_refused(17 * MiB, "16 MiB");

    TestMachine *m = machine_new();
    g_autoptr(GError) err = NULL;
    g_assert_null(firmware_image_new("/nonexistent/bios.bin", m->ram->system, m->ram->as, &err));
    g_assert_cmpstr(err->message, ==, "--firmware /nonexistent/bios.bin: no such file");
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fw_cfg_kernel/bzimage/items", test_bzimage_items);
    g_test_add_func("/fw_cfg_kernel/bzimage/old-protocol", test_bzimage_old_protocol);
    g_test_add_func("/fw_cfg_kernel/bzimage/bad", test_bzimage_bad);
    g_test_add_func("/fw_cfg_kernel/missing-rom", test_missing_rom);
    g_test_add_func("/fw_cfg_kernel/unknown-and-empty", test_unknown_and_empty);
    g_test_add_func("/fw_cfg_kernel/multiboot/items", test_multiboot_items);
    g_test_add_func("/fw_cfg_kernel/multiboot/bad", test_multiboot_bad);
    g_test_add_func("/fw_cfg_kernel/pvh/items-and-reset", test_pvh_items_and_reset);
    g_test_add_func("/fw_cfg_pc/items", test_pc_items);
    g_test_add_func("/firmware_image/mapping", test_firmware_image_mapping);
    g_test_add_func("/firmware_image/bad", test_firmware_image_bad);
    return g_test_run();
}
