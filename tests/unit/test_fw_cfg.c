/* fw_cfg, driven through the I/O address space exactly as a guest does:
 * 16-bit selector writes, 8-bit data reads, big-endian DMA address writes
 * with descriptors in guest RAM. */
#include <glib.h>
#include <string.h>

#include "firmware/fw_cfg.h"
#include "fixture.h"

#define PORT_SELECTOR 0x510
#define PORT_DATA 0x511
#define PORT_DMA_HIGH 0x514
#define PORT_DMA_LOW 0x518

#define RAM_SIZE (1u << 20) /* guest RAM at [0, 1 MiB) */
#define ROM_BASE 0x200000u /* read-only RAM at [2 MiB, +64 KiB) */
#define ROM_SIZE (64u << 10)

#define DMA_ERROR 0x01u
#define DMA_READ 0x02u
#define DMA_SKIP 0x04u
#define DMA_SELECT 0x08u
#define DMA_WRITE 0x10u

typedef struct Rig {
    IoBus bus;
    GuestRam *ram;
    RamBlock *rom_block;
    MemoryRegion *rom;
    uint8_t *ram_host;
    FwCfg *fw;
} Rig;

static void rig_init(Rig *r)
{
    g_autoptr(GError) err = NULL;

    io_bus_init(&r->bus);
    r->ram = guest_ram_new("test.ram", RAM_SIZE, 0);
    r->rom_block = ram_block_new("test.rom", ROM_SIZE, ROM_SIZE, RAM_BLOCK_READONLY, NULL, &err);
    g_assert_no_error(err);
    r->rom = memory_region_new_rom("test.rom", r->rom_block);
    memory_region_add_subregion(r->ram->system, ROM_BASE, r->rom);
    r->ram_host = r->ram->block->host;
    r->fw = fw_cfg_new(r->bus.io, r->ram->as);
}

static void rig_destroy(Rig *r)
{
    fw_cfg_free(r->fw);
    memory_region_free(r->rom); /* leaves r->ram->system */
    ram_block_free(r->rom_block);
    guest_ram_free(r->ram);
    io_bus_destroy(&r->bus);
}

static void outw(Rig *r, uint16_t port, uint16_t value)
{
    g_assert_cmpint(address_space_write(r->bus.as, port, &value, 2), ==, MEMTX_OK);
}

static void outl(Rig *r, uint16_t port, uint32_t value)
{
    g_assert_cmpint(address_space_write(r->bus.as, port, &value, 4), ==, MEMTX_OK);
}

static uint8_t inb(Rig *r, uint16_t port)
{
    uint8_t value = 0;
    g_assert_cmpint(address_space_read(r->bus.as, port, &value, 1), ==, MEMTX_OK);
    return value;
}

static void select_key(Rig *r, uint16_t key)
{
    outw(r, PORT_SELECTOR, key);
}

static void read_data(Rig *r, void *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = inb(r, PORT_DATA);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static uint32_t get_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static void put_desc(uint8_t *p, uint32_t control, uint32_t length, uint64_t address)
{
    uint64_t be_address = GUINT64_TO_BE(address);
    put_be32(p, control);
    put_be32(p + 4, length);
    memcpy(p + 8, &be_address, 8);
}

/* Start a request whose descriptor is at desc_addr, as a guest does. */
static void dma_kick(Rig *r, uint64_t desc_addr)
{
    outl(r, PORT_DMA_HIGH, GUINT32_SWAP_LE_BE((uint32_t)(desc_addr >> 32)));
    outl(r, PORT_DMA_LOW, GUINT32_SWAP_LE_BE((uint32_t)desc_addr));
}

/* A request with its descriptor in RAM; returns the control word the
 * device stored back. */
static uint32_t dma(Rig *r, uint64_t desc_addr, uint32_t control, uint32_t length, uint64_t address)
{
    g_assert_cmpuint(desc_addr + 16, <=, RAM_SIZE);
    put_desc(r->ram_host + desc_addr, control, length, address);
    dma_kick(r, desc_addr);
    return get_be32(r->ram_host + desc_addr);
}

static uint32_t key_control(uint16_t key, uint32_t ops)
{
    return ((uint32_t)key << 16) | DMA_SELECT | ops;
}

static void add_file(Rig *r, const char *name, const void *data, size_t len)
{
    g_autoptr(GError) err = NULL;
    g_assert_true(fw_cfg_add_file(r->fw, name, data, len, &err));
    g_assert_no_error(err);
}

/* ---- ports -------------------------------------------------------------- */

static void test_signature_ports(void)
{
    Rig r;
    char sig[5] = { 0 };

    rig_init(&r);
    select_key(&r, FW_CFG_SIGNATURE);
    read_data(&r, sig, 4);
    g_assert_cmpstr(sig, ==, "QEMU");
    /* 8-bit reads at the selector port read data too. */
    select_key(&r, FW_CFG_SIGNATURE);
    for (int i = 0; i < 4; i++)
        sig[i] = (char)inb(&r, PORT_SELECTOR);
    g_assert_cmpstr(sig, ==, "QEMU");
    /* Power-on state is key 0 too. */
    select_key(&r, FW_CFG_ID);
    fw_cfg_reset(r.fw);
    read_data(&r, sig, 4);
    g_assert_cmpstr(sig, ==, "QEMU");
    rig_destroy(&r);
}

static void test_id_has_dma(void)
{
    Rig r;
    uint8_t id[4];

    rig_init(&r);
    select_key(&r, FW_CFG_ID);
    read_data(&r, id, 4);
    g_assert_cmphex(id[0], ==, 0x03); /* traditional | DMA, little-endian u32 */
    g_assert_cmphex(id[1] | id[2] | id[3], ==, 0);
    rig_destroy(&r);
}

static void test_dma_register_signature(void)
{
    Rig r;
    uint8_t bytes[8];
    uint64_t be;

    rig_init(&r);
    g_assert_cmpint(address_space_read(r.bus.as, PORT_DMA_HIGH, bytes, 4), ==, MEMTX_OK);
    g_assert_cmpint(address_space_read(r.bus.as, PORT_DMA_LOW, bytes + 4, 4), ==, MEMTX_OK);
    g_assert_cmpmem(bytes, 8, "QEMU CFG", 8);
    memcpy(&be, bytes, 8);
    g_assert_cmphex(GUINT64_FROM_BE(be), ==, 0x51454d5520434647ull);
    /* Any access size and offset. */
    for (unsigned i = 0; i < 8; i++)
        g_assert_cmphex(inb(&r, PORT_DMA_HIGH + i), ==, (uint8_t)"QEMU CFG"[i]);
    g_assert_cmpint(address_space_read(r.bus.as, PORT_DMA_HIGH, bytes, 8), ==, MEMTX_OK);
    g_assert_cmpmem(bytes, 8, "QEMU CFG", 8);
    /* Reading it has no side effect on the data port. */
    select_key(&r, FW_CFG_SIGNATURE);
    g_assert_cmphex(inb(&r, PORT_DATA), ==, 'Q');
    rig_destroy(&r);
}

static void test_select_resets_offset(void)
{
    Rig r;
    static const uint8_t data[] = { 1, 2, 3, 4, 5, 6 };

    rig_init(&r);
    fw_cfg_add_bytes(r.fw, FW_CFG_UUID, data, sizeof(data));
    select_key(&r, FW_CFG_UUID);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 1);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 2);
    select_key(&r, FW_CFG_UUID);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 1);
    /* Bit 14, the old write channel, does not change which item. */
    select_key(&r, 0x4000 | FW_CFG_UUID);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 1);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 2);
    /* Data writes are ignored: the offset does not move, nothing changes. */
    uint8_t junk = 0xaa;
    g_assert_cmpint(address_space_write(r.bus.as, PORT_DATA, &junk, 1), ==, MEMTX_OK);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 3);
    rig_destroy(&r);
}

static void test_read_past_end(void)
{
    Rig r;

    rig_init(&r);
    fw_cfg_add_i16(r.fw, FW_CFG_NB_CPUS, 0x0102);
    select_key(&r, FW_CFG_NB_CPUS);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 0x02);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 0x01);
    for (int i = 0; i < 100; i++)
        g_assert_cmpuint(inb(&r, PORT_DATA), ==, 0);
    rig_destroy(&r);
}

static void test_absent_key(void)
{
    static const uint16_t keys[] = { FW_CFG_UUID, FW_CFG_RAM_SIZE, 0x1f, 0x20, 0x3f, 0x40,
                                     0x7fff,      0x8000,          0x8020, 0xffff };
    Rig r;

    rig_init(&r);
    for (unsigned k = 0; k < G_N_ELEMENTS(keys); k++) {
        select_key(&r, keys[k]);
        for (int i = 0; i < 8; i++)
            g_assert_cmpuint(inb(&r, PORT_DATA), ==, 0);
    }
    rig_destroy(&r);
}

static void test_arch_items(void)
{
    Rig r;
    uint8_t got[4];

    rig_init(&r);
    fw_cfg_add_i32(r.fw, FW_CFG_IRQ0_OVERRIDE, 1);
    fw_cfg_add_i64(r.fw, FW_CFG_RAM_SIZE, 0x1122334455667788ull);
    select_key(&r, FW_CFG_IRQ0_OVERRIDE);
    read_data(&r, got, 4);
    g_assert_cmpmem(got, 4, "\x01\x00\x00\x00", 4);
    /* Key 0x0002 of the generic space is not 0x8002. */
    select_key(&r, FW_CFG_IRQ0_OVERRIDE & 0x3fff);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 0);
    select_key(&r, FW_CFG_RAM_SIZE);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 0x88);
    /* Adding again replaces. */
    fw_cfg_add_i16(r.fw, FW_CFG_RAM_SIZE, 0x0506);
    select_key(&r, FW_CFG_RAM_SIZE);
    read_data(&r, got, 3);
    g_assert_cmpmem(got, 3, "\x06\x05\x00", 3);
    rig_destroy(&r);
}

/* ---- directory ---------------------------------------------------------- */

static void test_directory(void)
{
    static const char *const names[] = { "etc/e820", "bootorder", "etc/acpi/tables", "opt/x" };
    static const char *const sorted[] = { "bootorder", "etc/acpi/tables", "etc/e820", "opt/x" };
    Rig r;
    uint8_t dir[4 + 4 * 64];

    /* Empty directory: count 0. */
    rig_init(&r);
    select_key(&r, FW_CFG_FILE_DIR);
    read_data(&r, dir, 8);
    g_assert_cmpmem(dir, 8, "\0\0\0\0\0\0\0\0", 8);
    rig_destroy(&r);

    rig_init(&r);

    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *content = g_strdup_printf("content of %s", names[i]);
        add_file(&r, names[i], content, strlen(content));
    }
    select_key(&r, FW_CFG_FILE_DIR);
    read_data(&r, dir, sizeof(dir));
    g_assert_cmpuint(get_be32(dir), ==, 4);
    for (unsigned i = 0; i < 4; i++) {
        const uint8_t *e = dir + 4 + i * 64;
        g_autofree char *content = g_strdup_printf("content of %s", sorted[i]);
        g_assert_cmpuint(get_be32(e), ==, strlen(content));
        g_assert_cmphex((e[4] << 8) | e[5], ==, 0x20 + i);
        g_assert_cmphex((e[6] << 8) | e[7], ==, 0);
        g_assert_cmpstr((const char *)e + 8, ==, sorted[i]);
        g_assert_cmpint(fw_cfg_file_key(r.fw, sorted[i]), ==, 0x20 + i);

        char got[64] = { 0 };
        select_key(&r, (uint16_t)(0x20 + i));
        read_data(&r, got, strlen(content));
        g_assert_cmpstr(got, ==, content);
    }
    g_assert_cmpint(fw_cfg_file_key(r.fw, "nope"), ==, -1);
    rig_destroy(&r);
}

static void test_file_errors(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    char name[80];

    rig_init(&r);
    add_file(&r, "etc/one", "1", 1);
    g_assert_false(fw_cfg_add_file(r.fw, "etc/one", "2", 1, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST);
    g_assert_nonnull(strstr(err->message, "etc/one"));
    g_clear_error(&err);

    /* 55 bytes fit with the NUL; 56 do not. */
    memset(name, 'a', sizeof(name));
    name[55] = '\0';
    add_file(&r, name, "x", 1);
    name[55] = 'b';
    name[56] = '\0';
    g_assert_false(fw_cfg_add_file(r.fw, name, "x", 1, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG);
    g_clear_error(&err);
    g_assert_false(fw_cfg_add_file(r.fw, "", "x", 1, &err));
    g_clear_error(&err);

    for (int i = 2; i < FW_CFG_FILE_SLOTS; i++) {
        g_snprintf(name, sizeof(name), "f/%02d", i);
        add_file(&r, name, &i, sizeof(i));
    }
    g_assert_false(fw_cfg_add_file(r.fw, "zz/full", "x", 1, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOSPC);
    g_assert_nonnull(strstr(err->message, "zz/full"));
    g_clear_error(&err);

    /* Nothing went wrong with the directory. */
    uint8_t count[4];
    select_key(&r, FW_CFG_FILE_DIR);
    read_data(&r, count, 4);
    g_assert_cmpuint(get_be32(count), ==, FW_CFG_FILE_SLOTS);
    rig_destroy(&r);
}

static void test_no_add_after_guest_start(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;

    rig_init(&r);
    add_file(&r, "b", "b", 1);
    select_key(&r, FW_CFG_SIGNATURE); /* the guest is here: keys are fixed */
    g_assert_false(fw_cfg_add_file(r.fw, "a", "a", 1, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_PERM);
    g_assert_cmpint(fw_cfg_file_key(r.fw, "b"), ==, 0x20);
    rig_destroy(&r);
}

/* ---- DMA ---------------------------------------------------------------- */

#define DESC 0x1000u
#define BUF 0x2000u

static void fill_random(uint8_t *p, size_t len, GRand *rand)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)g_rand_int(rand);
}

static void test_dma_read_matches_port(void)
{
    Rig r;
    g_autoptr(GRand) rand = g_rand_new_with_seed(1);
    uint8_t data[3000], by_port[3000];

    rig_init(&r);
    fill_random(data, sizeof(data), rand);
    add_file(&r, "etc/blob", data, sizeof(data));
    uint16_t key = (uint16_t)fw_cfg_file_key(r.fw, "etc/blob");
    select_key(&r, key);
    read_data(&r, by_port, sizeof(by_port));
    g_assert_cmpmem(by_port, sizeof(by_port), data, sizeof(data));

    select_key(&r, key);
    g_assert_cmphex(dma(&r, DESC, DMA_READ, sizeof(data), BUF), ==, 0);
    g_assert_cmpmem(r.ram_host + BUF, sizeof(data), data, sizeof(data));
    /* The byte after the buffer is untouched. */
    g_assert_cmpuint(r.ram_host[BUF + sizeof(data)], ==, 0);
    rig_destroy(&r);
}

static void test_dma_skip_then_read(void)
{
    Rig r;
    uint8_t data[256];

    rig_init(&r);
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    add_file(&r, "etc/ramp", data, sizeof(data));
    uint16_t key = (uint16_t)fw_cfg_file_key(r.fw, "etc/ramp");
    g_assert_cmphex(dma(&r, DESC, key_control(key, DMA_SKIP), 100, 0), ==, 0);
    g_assert_cmphex(dma(&r, DESC, DMA_READ, 10, BUF), ==, 0);
    for (unsigned i = 0; i < 10; i++)
        g_assert_cmpuint(r.ram_host[BUF + i], ==, 100 + i);
    /* The port continues where DMA stopped. */
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 110);
    /* A skip past the end leaves reads at zero; no error. */
    g_assert_cmphex(dma(&r, DESC, DMA_SKIP, 0xffffffffu, 0), ==, 0);
    g_assert_cmphex(dma(&r, DESC, DMA_SKIP, 0xffffffffu, 0), ==, 0);
    g_assert_cmphex(dma(&r, DESC, DMA_READ, 4, BUF), ==, 0);
    g_assert_cmpmem(r.ram_host + BUF, 4, "\0\0\0\0", 4);
    rig_destroy(&r);
}

static void test_dma_select_and_read(void)
{
    Rig r;
    char sig[5] = { 0 };

    rig_init(&r);
    select_key(&r, FW_CFG_ID);
    g_assert_cmphex(dma(&r, DESC, key_control(FW_CFG_SIGNATURE, DMA_READ), 4, BUF), ==, 0);
    memcpy(sig, r.ram_host + BUF, 4);
    g_assert_cmpstr(sig, ==, "QEMU");
    /* The descriptor may sit above 4 GiB only if RAM is there: here not. */
    rig_destroy(&r);
}

static void test_dma_read_past_end_zero_fills(void)
{
    Rig r;

    rig_init(&r);
    memset(r.ram_host + BUF, 0xee, 64);
    g_assert_cmphex(dma(&r, DESC, key_control(FW_CFG_SIGNATURE, DMA_READ), 32, BUF), ==, 0);
    g_assert_cmpmem(r.ram_host + BUF, 4, "QEMU", 4);
    for (unsigned i = 4; i < 32; i++)
        g_assert_cmpuint(r.ram_host[BUF + i], ==, 0);
    g_assert_cmpuint(r.ram_host[BUF + 32], ==, 0xee);

    /* An absent key reads as zeros, no error. */
    memset(r.ram_host + BUF, 0xee, 64);
    g_assert_cmphex(dma(&r, DESC, key_control(0x7fff, DMA_READ), 16, BUF), ==, 0);
    for (unsigned i = 0; i < 16; i++)
        g_assert_cmpuint(r.ram_host[BUF + i], ==, 0);
    g_assert_cmpuint(r.ram_host[BUF + 16], ==, 0xee);
    rig_destroy(&r);
}

static void test_dma_zero_length_and_no_op(void)
{
    Rig r;

    rig_init(&r);
    /* Length 0 is a no-op, not an error, even with a bogus address. */
    g_assert_cmphex(dma(&r, DESC, key_control(0, DMA_READ), 0, UINT64_MAX), ==, 0);
    /* No operation bit: nothing moves. */
    g_assert_cmphex(dma(&r, DESC, 0, 100, UINT64_MAX), ==, 0);
    g_assert_cmphex(inb(&r, PORT_DATA), ==, 'Q');
    rig_destroy(&r);
}

static void test_dma_control_big_endian(void)
{
    Rig r;

    rig_init(&r);
    memset(r.ram_host + DESC, 0x55, 32);
    put_desc(r.ram_host + DESC, key_control(0, DMA_READ), 16, RAM_SIZE);
    dma_kick(&r, DESC);
    g_assert_cmpmem(r.ram_host + DESC, 4, "\x00\x00\x00\x01", 4);
    /* Length, address and what follows are left alone. */
    g_assert_cmpuint(get_be32(r.ram_host + DESC + 4), ==, 16);
    g_assert_cmpuint(r.ram_host[DESC + 16], ==, 0x55);

    put_desc(r.ram_host + DESC, key_control(0, DMA_READ), 4, BUF);
    dma_kick(&r, DESC);
    g_assert_cmpmem(r.ram_host + DESC, 4, "\x00\x00\x00\x00", 4);
    rig_destroy(&r);
}

/* A request that must fail: error bit set, and RAM other than the control
 * word exactly as before. */
static void expect_dma_error(Rig *r, uint32_t control, uint32_t length, uint64_t address)
{
    g_autofree uint8_t *before = NULL;

    put_desc(r->ram_host + DESC, control, length, address);
    before = g_memdup2(r->ram_host, RAM_SIZE);
    dma_kick(r, DESC);
    g_assert_cmphex(get_be32(r->ram_host + DESC), ==, DMA_ERROR);
    put_be32(before + DESC, DMA_ERROR);
    g_assert_true(memcmp(before, r->ram_host, RAM_SIZE) == 0);
}

static void test_dma_descriptor_outside_ram(void)
{
    static const uint64_t descs[] = {
        RAM_SIZE, /* just past RAM */
        RAM_SIZE - 8, /* straddles the end */
        RAM_SIZE - 15,
        ROM_BASE, /* read-only: the result could not be stored */
        0x100000000ull, /* above 4 GiB, nothing there */
        UINT64_MAX - 7, /* wraps */
        UINT64_MAX,
    };
    Rig r;
    g_autofree uint8_t *before = NULL;

    rig_init(&r);
    for (uint32_t i = 0; i < RAM_SIZE; i++)
        r.ram_host[i] = (uint8_t)(i * 7);
    /* The in-RAM part of a straddling descriptor asks for a read into RAM. */
    put_desc(r.ram_host + RAM_SIZE - 16, key_control(0, DMA_READ), 4, BUF);
    before = g_memdup2(r.ram_host, RAM_SIZE);
    for (unsigned i = 0; i < G_N_ELEMENTS(descs); i++) {
        dma_kick(&r, descs[i]);
        g_assert_true(memcmp(before, r.ram_host, RAM_SIZE) == 0);
        g_assert_cmpmem(r.rom_block->host, 4, "\0\0\0\0", 4);
    }
    /* The device still works, and the dropped requests selected nothing. */
    g_assert_cmphex(inb(&r, PORT_DATA), ==, 'Q');
    rig_destroy(&r);
}

static void test_dma_buffer_errors(void)
{
    Rig r;

    rig_init(&r);
    for (uint32_t i = 0; i < RAM_SIZE; i++)
        r.ram_host[i] = (uint8_t)(i * 13);
    uint32_t read0 = key_control(0, DMA_READ);
    expect_dma_error(&r, read0, 4, RAM_SIZE); /* outside RAM */
    expect_dma_error(&r, read0, 4, 0x100000000ull);
    expect_dma_error(&r, read0, 16, RAM_SIZE - 8); /* straddles the end of RAM */
    expect_dma_error(&r, read0, 0xffffffffu, 0); /* longer than RAM */
    expect_dma_error(&r, read0, 0x100, UINT64_MAX - 0x7f); /* address + length wraps */
    expect_dma_error(&r, read0, 2, UINT64_MAX);
    expect_dma_error(&r, read0, 4, ROM_BASE); /* read-only RAM cannot take data */
    expect_dma_error(&r, read0, 16, ROM_BASE - 8); /* RAM hole then ROM */
    /* Reads from the right place still work afterwards. */
    g_assert_cmphex(dma(&r, DESC, read0, 4, BUF), ==, 0);
    g_assert_cmpmem(r.ram_host + BUF, 4, "QEMU", 4);
    rig_destroy(&r);
}

typedef struct WriteLog {
    unsigned calls;
    uint32_t offset, len;
} WriteLog;

static void record_write(void *opaque, uint32_t offset, uint32_t len)
{
    WriteLog *log = opaque;
    log->calls++;
    log->offset = offset;
    log->len = len;
}

static void test_dma_write_read_only_refused(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    uint8_t item[16], copy[16];
    WriteLog log = { 0 };

    rig_init(&r);
    memset(item, 0x11, sizeof(item));
    memcpy(copy, item, sizeof(item));
    g_assert_true(fw_cfg_add_file_callback(r.fw, "etc/ro", item, sizeof(item), NULL,
                                           record_write, &log, true, &err));
    uint16_t key = (uint16_t)fw_cfg_file_key(r.fw, "etc/ro");
    memset(r.ram_host + BUF, 0x99, 16);
    expect_dma_error(&r, key_control(key, DMA_WRITE), 8, BUF);
    g_assert_cmpmem(item, sizeof(item), copy, sizeof(copy));
    g_assert_cmpuint(log.calls, ==, 0);
    /* Copied items (the signature) are read-only too. */
    expect_dma_error(&r, key_control(FW_CFG_SIGNATURE, DMA_WRITE), 4, BUF);
    expect_dma_error(&r, key_control(0x7fff, DMA_WRITE), 4, BUF);
    select_key(&r, FW_CFG_SIGNATURE);
    g_assert_cmphex(inb(&r, PORT_DATA), ==, 'Q');
    rig_destroy(&r);
}

static void test_dma_write_callback(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    uint8_t item[16] = { 0 };
    WriteLog log = { 0 };

    rig_init(&r);
    g_assert_true(fw_cfg_add_file_callback(r.fw, "etc/vmgenid_addr", item, sizeof(item), NULL,
                                           record_write, &log, false, &err));
    uint16_t key = (uint16_t)fw_cfg_file_key(r.fw, "etc/vmgenid_addr");
    memcpy(r.ram_host + BUF, "ABCDEFGHIJKLMNOP", 16);

    /* Skip 4, write 8: lands at [4, 12). */
    g_assert_cmphex(dma(&r, DESC, key_control(key, DMA_SKIP), 4, 0), ==, 0);
    g_assert_cmphex(dma(&r, DESC, DMA_WRITE, 8, BUF), ==, 0);
    g_assert_cmpmem(item + 4, 8, "ABCDEFGH", 8);
    g_assert_cmpuint(item[0] | item[12], ==, 0);
    g_assert_cmpuint(log.calls, ==, 1);
    g_assert_cmpuint(log.offset, ==, 4);
    g_assert_cmpuint(log.len, ==, 8);

    /* At offset 12, 8 bytes do not fit: refused, nothing written. */
    uint8_t copy[16];
    memcpy(copy, item, sizeof(item));
    expect_dma_error(&r, DMA_WRITE, 8, BUF + 8);
    g_assert_cmpmem(item, sizeof(item), copy, sizeof(copy));
    g_assert_cmpuint(log.calls, ==, 1);
    /* Exactly to the end fits. */
    g_assert_cmphex(dma(&r, DESC, key_control(key, DMA_SKIP), 12, 0), ==, 0);
    g_assert_cmphex(dma(&r, DESC, DMA_WRITE, 4, BUF + 12), ==, 0);
    g_assert_cmpmem(item + 12, 4, "MNOP", 4);
    g_assert_cmpuint(log.calls, ==, 2);
    /* Past the end: refused. */
    expect_dma_error(&r, DMA_WRITE, 1, BUF);
    /* From a buffer outside RAM: refused, item unchanged. */
    memcpy(copy, item, sizeof(item));
    expect_dma_error(&r, key_control(key, DMA_WRITE), 4, RAM_SIZE - 2);
    g_assert_cmpmem(item, sizeof(item), copy, sizeof(copy));
    /* From ROM is fine: only reading guest memory. */
    memcpy(r.rom_block->host, "rom!", 4);
    g_assert_cmphex(dma(&r, DESC, key_control(key, DMA_WRITE), 4, ROM_BASE), ==, 0);
    g_assert_cmpmem(item, 4, "rom!", 4);
    g_assert_cmpuint(log.calls, ==, 3);
    /* The read side shows what was written. */
    select_key(&r, key);
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, 'r');
    rig_destroy(&r);
}

typedef struct SelectLog {
    unsigned calls;
    FwCfg *fw;
    const char *update_name;
    char *update_data;
} SelectLog;

static void record_select(void *opaque)
{
    SelectLog *log = opaque;
    log->calls++;
    if (log->update_name) {
        /* What the ACPI rebuild does: from inside the callback, under the
         * device lock. */
        g_autoptr(GError) err = NULL;
        g_free(log->update_data);
        log->update_data = g_strdup_printf("rebuilt #%u", log->calls);
        g_assert_true(fw_cfg_update_file(log->fw, log->update_name, log->update_data,
                                         strlen(log->update_data), &err));
        g_assert_no_error(err);
    }
}

static void test_select_callback(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    SelectLog log = { 0 };
    static char initial[] = "initial";
    char got[32] = { 0 };
    uint8_t dir[4 + 2 * 64];

    rig_init(&r);
    log.fw = r.fw;
    log.update_name = "etc/lazy";
    g_assert_true(fw_cfg_add_file_callback(r.fw, "etc/lazy", initial, strlen(initial),
                                           record_select, NULL, &log, true, &err));
    add_file(&r, "etc/other", "x", 1);
    uint16_t key = (uint16_t)fw_cfg_file_key(r.fw, "etc/lazy");

    select_key(&r, key); /* port select */
    g_assert_cmpuint(log.calls, ==, 1);
    read_data(&r, got, strlen("rebuilt #1"));
    g_assert_cmpstr(got, ==, "rebuilt #1");

    /* The directory follows the new length. */
    select_key(&r, FW_CFG_FILE_DIR);
    read_data(&r, dir, sizeof(dir));
    g_assert_cmpstr((const char *)dir + 4 + 8, ==, "etc/lazy");
    g_assert_cmpuint(get_be32(dir + 4), ==, strlen("rebuilt #1"));

    /* DMA select, then read, in one descriptor. */
    memset(got, 0, sizeof(got));
    g_assert_cmphex(dma(&r, DESC, key_control(key, DMA_READ), 16, BUF), ==, 0);
    g_assert_cmpuint(log.calls, ==, 2);
    g_assert_cmpmem(r.ram_host + BUF, 11, "rebuilt #2\0", 11);

    /* No select, no callback: DMA without SELECT and plain data reads. */
    g_assert_cmphex(dma(&r, DESC, DMA_READ, 4, BUF), ==, 0);
    inb(&r, PORT_DATA);
    g_assert_cmpuint(log.calls, ==, 2);
    /* Other keys do not run it. */
    select_key(&r, (uint16_t)fw_cfg_file_key(r.fw, "etc/other"));
    g_assert_cmpuint(log.calls, ==, 2);

    fw_cfg_free(r.fw);
    r.fw = NULL;
    g_free(log.update_data);
    rig_destroy(&r);
}

typedef struct Racer {
    Rig *rig;
    uint16_t key;
} Racer;

static gpointer select_many(gpointer opaque)
{
    Racer *racer = opaque;
    for (int i = 0; i < 2000; i++) {
        select_key(racer->rig, racer->key);
        inb(racer->rig, PORT_DATA);
    }
    return NULL;
}

/* A vCPU thread whose select callback updates a file while another thread
 * updates files too: no deadlock, and the directory stays consistent. */
static void test_callbacks_and_threads(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    SelectLog log = { 0 };
    static char initial[] = "initial", other_a[] = "aaaa", other_b[] = "bbbbbbbb";

    rig_init(&r);
    log.fw = r.fw;
    log.update_name = "etc/lazy";
    g_assert_true(fw_cfg_add_file_callback(r.fw, "etc/lazy", initial, strlen(initial),
                                           record_select, NULL, &log, true, &err));
    add_file(&r, "etc/other", "x", 1);
    Racer racer = { &r, (uint16_t)fw_cfg_file_key(r.fw, "etc/lazy") };
    GThread *vcpu = g_thread_new("vcpu", select_many, &racer);
    for (int i = 0; i < 2000; i++) {
        char *bytes = i % 2 ? other_a : other_b;
        g_assert_true(fw_cfg_update_file(r.fw, "etc/other", bytes, strlen(bytes), &err));
        g_assert_cmpint(fw_cfg_file_key(r.fw, "etc/other"), ==, 0x21);
    }
    g_thread_join(vcpu);
    g_assert_cmpuint(log.calls, ==, 2000);
    fw_cfg_free(r.fw);
    r.fw = NULL;
    g_free(log.update_data);
    rig_destroy(&r);
}

static void test_update_file_outside_callback(void)
{
    Rig r;
    g_autoptr(GError) err = NULL;
    static char bytes[] = "0123456789";

    rig_init(&r);
    add_file(&r, "etc/f", "ab", 2);
    g_assert_true(fw_cfg_update_file(r.fw, "etc/f", bytes, 10, &err));
    select_key(&r, (uint16_t)fw_cfg_file_key(r.fw, "etc/f"));
    g_assert_cmpuint(inb(&r, PORT_DATA), ==, '0');
    g_assert_false(fw_cfg_update_file(r.fw, "etc/missing", bytes, 1, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    rig_destroy(&r);
}

/* ---- fuzz --------------------------------------------------------------- */

/* A model of the device's state for the fuzz test: what the spec says each
 * request does, kept apart from the implementation. */
typedef struct ModelItem {
    uint16_t key;
    uint8_t *data;
    uint32_t len;
    bool writable;
    bool has_select_cb;
} ModelItem;

typedef struct Model {
    ModelItem items[8];
    unsigned nr_items;
    uint16_t cur_key;
    uint64_t offset;
    unsigned select_calls;
    unsigned write_calls;
    /* How the requests went, to show the fuzzer reaches every path. */
    unsigned dropped, errors, reads_with_data, zero_fills, skips;
} Model;

static void count_call(void *opaque)
{
    (*(unsigned *)opaque)++;
}

static void count_write(void *opaque, uint32_t offset, uint32_t len)
{
    (*(unsigned *)opaque)++;
}

static ModelItem *model_item(Model *m, uint16_t key)
{
    for (unsigned i = 0; i < m->nr_items; i++) {
        if (m->items[i].key == key)
            return &m->items[i];
    }
    return NULL;
}

static bool in_ram(uint64_t addr, uint64_t len)
{
    return len > 0 && addr < RAM_SIZE && len <= RAM_SIZE - addr;
}

static bool in_ram_or_rom(uint64_t addr, uint64_t len)
{
    return in_ram(addr, len) ||
           (len > 0 && addr >= ROM_BASE && addr - ROM_BASE < ROM_SIZE &&
            len <= ROM_SIZE - (addr - ROM_BASE));
}

static const uint8_t *model_guest_bytes(const uint8_t *shadow, const uint8_t *rom, uint64_t addr)
{
    return addr < RAM_SIZE ? shadow + addr : rom + (addr - ROM_BASE);
}

/* Apply one request to the model and the shadow RAM. */
static void model_dma(Model *m, uint8_t *shadow, const uint8_t *rom, uint64_t desc_addr)
{
    if (!in_ram(desc_addr, 16)) {
        m->dropped++;
        return; /* dropped whole */
    }
    uint8_t *desc = shadow + desc_addr;
    uint32_t control = get_be32(desc), length = get_be32(desc + 4);
    uint64_t address;
    memcpy(&address, desc + 8, 8);
    address = GUINT64_FROM_BE(address);

    if (control & DMA_SELECT) {
        m->cur_key = (uint16_t)(control >> 16) & ~0x4000;
        m->offset = 0;
        ModelItem *sel = model_item(m, m->cur_key);
        if (sel && sel->has_select_cb)
            m->select_calls++;
    }
    ModelItem *item = model_item(m, m->cur_key);
    uint64_t avail = item && m->offset < item->len ? item->len - m->offset : 0;
    bool ok = true;

    if (length == 0) {
    } else if (control & DMA_READ) {
        if (in_ram(address, length)) {
            uint64_t n = MIN(avail, (uint64_t)length);
            m->reads_with_data += n > 0;
            m->zero_fills += n < length;
            if (n)
                memmove(shadow + address, item->data + m->offset, n);
            memset(shadow + address + n, 0, length - n);
            m->offset += n;
        } else {
            ok = false;
        }
    } else if (control & DMA_WRITE) {
        if (item && item->writable && avail >= length && in_ram_or_rom(address, length)) {
            memmove(item->data + m->offset, model_guest_bytes(shadow, rom, address), length);
            m->offset += length;
            m->write_calls++;
        } else {
            ok = false;
        }
    } else if (control & DMA_SKIP) {
        m->offset = MIN(m->offset + length, (uint64_t)UINT32_MAX + 1);
        m->skips++;
    }
    m->errors += !ok;
    put_be32(desc, ok ? 0 : DMA_ERROR);
}

static uint64_t pick_address(GRand *rand, uint64_t len)
{
    switch (g_rand_int_range(rand, 0, 10)) {
    case 0: /* straddling the end of RAM */
        return RAM_SIZE - g_rand_int_range(rand, 1, 32);
    case 1: /* in ROM */
        return ROM_BASE + g_rand_int_range(rand, 0, ROM_SIZE);
    case 2: /* anywhere */
        return ((uint64_t)g_rand_int(rand) << 32) | g_rand_int(rand);
    case 3: /* wrapping */
        return UINT64_MAX - g_rand_int_range(rand, 0, 64);
    case 4: /* just past RAM, or above 4 GiB */
        return g_rand_boolean(rand) ? RAM_SIZE + g_rand_int_range(rand, 0, 64)
                                    : 0x100000000ull + g_rand_int_range(rand, 0, 4096);
    default: /* inside RAM, often fitting */
        if (len < RAM_SIZE && g_rand_boolean(rand))
            return g_rand_int_range(rand, 0, (gint32)(RAM_SIZE - len + 1));
        return g_rand_int_range(rand, 0, RAM_SIZE);
    }
}

static uint32_t pick_length(GRand *rand, const Model *m)
{
    switch (g_rand_int_range(rand, 0, 20)) {
    case 0:
        return 0;
    case 1:
    case 2:
        return g_rand_int(rand);
    case 3:
        return (uint32_t)g_rand_int_range(rand, 0, RAM_SIZE + 1);
    case 4:
    case 5: {
        const ModelItem *item = model_item((Model *)m, m->cur_key);
        return item && m->offset < item->len ? (uint32_t)(item->len - m->offset) : 1;
    }
    case 6:
    case 7:
    case 8:
        return (uint32_t)g_rand_int_range(rand, 1, 8193);
    default:
        return (uint32_t)g_rand_int_range(rand, 1, 65);
    }
}

static uint32_t pick_control(GRand *rand)
{
    static const uint16_t keys[] = {
        0x0000, 0x0001, 0x0019, 0x0020, 0x0021, 0x0022, 0x0023, 0x003f,
        0x0040, 0x4020, 0x4021, 0x7fff, 0x8003, 0x8020, 0xffff, 0x0002,
    };
    static const uint32_t ops[] = {
        DMA_READ, DMA_READ, DMA_WRITE, DMA_WRITE, DMA_SKIP, 0,
        DMA_READ | DMA_WRITE, DMA_WRITE | DMA_SKIP, DMA_ERROR | DMA_READ, 0xffe0,
    };

    if (g_rand_int_range(rand, 0, 4) == 0)
        return g_rand_int(rand);
    uint32_t control = ops[g_rand_int_range(rand, 0, G_N_ELEMENTS(ops))];
    if (g_rand_boolean(rand))
        control |= DMA_SELECT | ((uint32_t)keys[g_rand_int_range(rand, 0, G_N_ELEMENTS(keys))] << 16);
    return control;
}

static void check_same(const Rig *r, const uint8_t *shadow, uint64_t lo, uint64_t hi,
                       unsigned request)
{
    lo = MIN(lo, (uint64_t)RAM_SIZE);
    hi = MIN(hi, (uint64_t)RAM_SIZE);
    if (lo >= hi || memcmp(r->ram_host + lo, shadow + lo, hi - lo) == 0)
        return;
    for (uint64_t a = lo; a < hi; a++) {
        if (r->ram_host[a] != shadow[a]) {
            g_error("request %u: guest byte 0x%" G_GINT64_MODIFIER "x is 0x%02x, expected 0x%02x",
                    request, a, r->ram_host[a], shadow[a]);
        }
    }
}

/* Window around [addr, addr + len) clipped to RAM, without wrapping. */
static void check_window(const Rig *r, const uint8_t *shadow, uint64_t addr, uint64_t len,
                         unsigned request)
{
    if (addr >= RAM_SIZE)
        return;
    uint64_t end = len > RAM_SIZE - addr ? RAM_SIZE : addr + len;
    check_same(r, shadow, addr > 4096 ? addr - 4096 : 0, end + 4096, request);
}

#define FUZZ_REQUESTS 100000
#define FUZZ_SLICE (64u << 10)

static void test_fuzz(void)
{
    /* Fixed, so a failure replays; the first g_test_rand value when run
     * with --seed would do as well, but a constant is simpler to quote. */
    const guint32 seed = 0xf00dcf6u;
    g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
    g_autoptr(GError) err = NULL;
    Model m = { 0 };
    Rig r;
    uint8_t big[5000], writable[64] = { 0 }, lazy[16], arch[40];
    unsigned select_calls = 0, write_calls = 0;

    g_test_message("fuzz seed 0x%x", seed);
    rig_init(&r);
    fill_random(r.ram_host, RAM_SIZE, rand);
    fill_random(r.rom_block->host, ROM_SIZE, rand);
    fill_random(big, sizeof(big), rand);
    fill_random(lazy, sizeof(lazy), rand);
    fill_random(arch, sizeof(arch), rand);
    add_file(&r, "etc/big", big, sizeof(big));
    g_assert_true(fw_cfg_add_file_callback(r.fw, "etc/writable", writable, sizeof(writable), NULL,
                                           count_write, &write_calls, false, &err));
    g_assert_true(fw_cfg_add_file_callback(r.fw, "etc/callback", lazy, sizeof(lazy), count_call,
                                           NULL, &select_calls, true, &err));
    fw_cfg_add_bytes(r.fw, 0x8003, arch, sizeof(arch));

    /* The model's copies; the directory is read the way a guest reads it. */
    static uint8_t m_sig[4] = { 'Q', 'E', 'M', 'U' }, m_id[4] = { 3, 0, 0, 0 };
    uint8_t m_dir[4 + 3 * 64];
    g_autofree uint8_t *m_big = g_memdup2(big, sizeof(big));
    g_autofree uint8_t *m_writable = g_memdup2(writable, sizeof(writable));
    g_autofree uint8_t *m_lazy = g_memdup2(lazy, sizeof(lazy));
    g_autofree uint8_t *m_arch = g_memdup2(arch, sizeof(arch));
    select_key(&r, FW_CFG_FILE_DIR);
    read_data(&r, m_dir, sizeof(m_dir));
    g_assert_cmpint(fw_cfg_file_key(r.fw, "etc/big"), ==, 0x20);
    g_assert_cmpint(fw_cfg_file_key(r.fw, "etc/callback"), ==, 0x21);
    g_assert_cmpint(fw_cfg_file_key(r.fw, "etc/writable"), ==, 0x22);
    m.items[m.nr_items++] = (ModelItem){ 0x0000, m_sig, 4, false, false };
    m.items[m.nr_items++] = (ModelItem){ 0x0001, m_id, 4, false, false };
    m.items[m.nr_items++] = (ModelItem){ 0x0019, m_dir, sizeof(m_dir), false, false };
    m.items[m.nr_items++] = (ModelItem){ 0x0020, m_big, sizeof(big), false, false };
    m.items[m.nr_items++] = (ModelItem){ 0x0021, m_lazy, sizeof(lazy), false, true };
    m.items[m.nr_items++] = (ModelItem){ 0x0022, m_writable, sizeof(writable), true, false };
    m.items[m.nr_items++] = (ModelItem){ 0x8003, m_arch, sizeof(arch), false, false };
    m.cur_key = FW_CFG_FILE_DIR;
    m.offset = sizeof(m_dir);

    g_autofree uint8_t *shadow = g_memdup2(r.ram_host, RAM_SIZE);
    g_autofree uint8_t *rom_copy = g_memdup2(r.rom_block->host, ROM_SIZE);

    for (unsigned n = 0; n < FUZZ_REQUESTS; n++) {
        /* Mostly where a guest puts it, so that most requests run. */
        uint64_t desc_addr = g_rand_int_range(rand, 0, 4) != 0
                                 ? (uint64_t)g_rand_int_range(rand, 0, RAM_SIZE - 16 + 1)
                                 : pick_address(rand, 16);
        uint32_t control = pick_control(rand);
        uint32_t length = pick_length(rand, &m);
        uint64_t address = g_rand_int_range(rand, 0, 20) == 0
                               ? desc_addr + g_rand_int_range(rand, -8, 9) /* overlaps it */
                               : pick_address(rand, length);
        uint8_t desc[16];

        /* Place the descriptor's bytes wherever RAM takes them (a
         * straddling one only partly), in RAM and in the shadow alike. */
        put_desc(desc, control, length, address);
        for (unsigned i = 0; i < 16; i++) {
            if (desc_addr + i >= desc_addr && desc_addr + i < RAM_SIZE) {
                r.ram_host[desc_addr + i] = desc[i];
                shadow[desc_addr + i] = desc[i];
            }
        }

        dma_kick(&r, desc_addr);
        model_dma(&m, shadow, rom_copy, desc_addr);

        /* Exactly the expected bytes around what may change ... */
        check_window(&r, shadow, address, length, n);
        check_window(&r, shadow, desc_addr, 16, n);
        /* ... and a rotating slice of the rest: all of RAM every 16. */
        uint64_t slice = (uint64_t)(n % (RAM_SIZE / FUZZ_SLICE)) * FUZZ_SLICE;
        check_same(&r, shadow, slice, slice + FUZZ_SLICE, n);

        /* Still the device: the DMA signature (no side effects) every
         * time, a key-0 read every 8th request. */
        uint8_t sig[8];
        g_assert_cmpint(address_space_read(r.bus.as, PORT_DMA_HIGH, sig, 8), ==, MEMTX_OK);
        if (memcmp(sig, "QEMU CFG", 8) != 0)
            g_error("request %u: the DMA signature is gone", n);
        if (n % 8 == 7) {
            select_key(&r, FW_CFG_SIGNATURE);
            read_data(&r, sig, 4);
            if (memcmp(sig, "QEMU", 4) != 0)
                g_error("request %u: the signature is gone", n);
            m.cur_key = FW_CFG_SIGNATURE;
            m.offset = 4;
        }
        if (select_calls != m.select_calls || write_calls != m.write_calls)
            g_error("request %u: %u select / %u write callbacks, expected %u / %u", n,
                    select_calls, write_calls, m.select_calls, m.write_calls);
    }

    check_same(&r, shadow, 0, RAM_SIZE, FUZZ_REQUESTS);
    g_assert_true(memcmp(rom_copy, r.rom_block->host, ROM_SIZE) == 0);
    g_assert_cmpmem(writable, sizeof(writable), m_writable, sizeof(writable));
    g_assert_cmpmem(big, sizeof(big), m_big, sizeof(big));
    g_test_message("dropped %u, errors %u, reads with data %u, zero fills %u, skips %u, "
                   "writes %u, select callbacks %u",
                   m.dropped, m.errors, m.reads_with_data, m.zero_fills, m.skips, m.write_calls,
                   m.select_calls);
    g_assert_cmpuint(m.dropped, >, FUZZ_REQUESTS / 10);
    g_assert_cmpuint(m.errors, >, FUZZ_REQUESTS / 10);
    g_assert_cmpuint(m.reads_with_data, >, FUZZ_REQUESTS / 100);
    g_assert_cmpuint(m.zero_fills, >, FUZZ_REQUESTS / 100);
    g_assert_cmpuint(m.skips, >, FUZZ_REQUESTS / 100);
    g_assert_cmpuint(m.write_calls, >, 100);
    g_assert_cmpuint(m.select_calls, >, 100);
    rig_destroy(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fw_cfg/port/signature", test_signature_ports);
    g_test_add_func("/fw_cfg/port/id_has_dma", test_id_has_dma);
    g_test_add_func("/fw_cfg/port/dma_register_signature", test_dma_register_signature);
    g_test_add_func("/fw_cfg/port/select_resets_offset", test_select_resets_offset);
    g_test_add_func("/fw_cfg/port/read_past_end", test_read_past_end);
    g_test_add_func("/fw_cfg/port/absent_key", test_absent_key);
    g_test_add_func("/fw_cfg/port/arch_items", test_arch_items);
    g_test_add_func("/fw_cfg/dir/layout", test_directory);
    g_test_add_func("/fw_cfg/dir/errors", test_file_errors);
    g_test_add_func("/fw_cfg/dir/no_add_after_guest_start", test_no_add_after_guest_start);
    g_test_add_func("/fw_cfg/dir/update_file", test_update_file_outside_callback);
    g_test_add_func("/fw_cfg/dma/read_matches_port", test_dma_read_matches_port);
    g_test_add_func("/fw_cfg/dma/skip_then_read", test_dma_skip_then_read);
    g_test_add_func("/fw_cfg/dma/select_and_read", test_dma_select_and_read);
    g_test_add_func("/fw_cfg/dma/read_past_end_zero_fills", test_dma_read_past_end_zero_fills);
    g_test_add_func("/fw_cfg/dma/zero_length", test_dma_zero_length_and_no_op);
    g_test_add_func("/fw_cfg/dma/control_big_endian", test_dma_control_big_endian);
    g_test_add_func("/fw_cfg/dma/descriptor_outside_ram", test_dma_descriptor_outside_ram);
    g_test_add_func("/fw_cfg/dma/buffer_errors", test_dma_buffer_errors);
    g_test_add_func("/fw_cfg/dma/write_read_only_refused", test_dma_write_read_only_refused);
    g_test_add_func("/fw_cfg/dma/write_callback", test_dma_write_callback);
    g_test_add_func("/fw_cfg/callback/select", test_select_callback);
    g_test_add_func("/fw_cfg/callback/threads", test_callbacks_and_threads);
    g_test_add_func("/fw_cfg/fuzz", test_fuzz);
    return g_test_run();
}
