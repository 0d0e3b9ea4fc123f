/*
 * The fwcfg test: QEMU's firmware configuration device on ports 0x510-0x51b.
 *
 * Port reads cost an exit each (about 10 us on the CI host), so the port
 * path only reads small things; bulk data moves by DMA, one exit per
 * transfer. Command-line keys: files=a,b,c (the files the directory must
 * list; default etc/e820, etc/acpi/tables, etc/acpi/rsdp, etc/table-loader)
 * and cpus=N (NB_CPUS must equal it).
 */
#include "boot_info.h"
#include "pit.h"
#include "tests.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA     0x511
#define FW_CFG_DMA_HIGH 0x514
#define FW_CFG_DMA_LOW  0x518

#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID        0x01
#define FW_CFG_NB_CPUS   0x05
#define FW_CFG_FILE_DIR  0x19
#define FW_CFG_ID_DMA    (1u << 1)

#define DMA_ERROR  0x01u
#define DMA_READ   0x02u
#define DMA_SKIP   0x04u
#define DMA_SELECT 0x08u
#define DMA_WRITE  0x10u

#define MAX_FILES   128
#define NAME_LEN    56
#define PORT_BYTES  512             /* port-read at most this much of a file */
#define FILE_BUF    (256u << 10)    /* QEMU pads etc/acpi/tables to 128 KiB */
#define BAD_HIGH    0xfffffffffffff000ul

static const char *const TEST = "fwcfg";

struct dma_desc {
    uint32_t control, length;       /* big-endian */
    uint64_t address;
} __attribute__((packed));

struct file_entry {
    uint32_t size;                  /* big-endian */
    uint16_t select, reserved;
    char name[NAME_LEN];
} __attribute__((packed));

static struct dma_desc desc __attribute__((aligned(16)));
static uint8_t file_buf[FILE_BUF + 64] NOINIT __attribute__((aligned(4096)));
static uint8_t port_buf[PORT_BYTES] NOINIT;
static uint8_t canary[512] NOINIT __attribute__((aligned(64)));
static struct {
    uint32_t count;
    struct file_entry e[MAX_FILES];
} __attribute__((packed)) dir_dma NOINIT, dir_port NOINIT;

static inline uint32_t be32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint16_t be16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint64_t be64(uint64_t v) { return __builtin_bswap64(v); }

static const void *find_byte(const void *s, int c, size_t n)
{
    const uint8_t *p = s;
    for (; n; n--, p++)
        if (*p == (uint8_t)c)
            return p;
    return NULL;
}

static void port_select(uint16_t key)
{
    outw(FW_CFG_SELECTOR, key);
}

static void port_read(void *dst, size_t len)
{
    uint8_t *d = dst;
    while (len--)
        *d++ = inb(FW_CFG_DATA);
}

static void dma_kick(uint64_t desc_addr)
{
    compiler_barrier();
    outl(FW_CFG_DMA_HIGH, be32((uint32_t)(desc_addr >> 32)));
    outl(FW_CFG_DMA_LOW, be32((uint32_t)desc_addr));
    compiler_barrier();
}

/*
 * One DMA transfer; returns the control word the device stored back
 * (host order): 0 on success, DMA_ERROR on error. The device completes
 * synchronously, but we poll as firmware does, for at most a second.
 */
static uint32_t dma(uint32_t control, uint64_t address, uint32_t length)
{
    volatile struct dma_desc *d = &desc;
    d->control = be32(control);
    d->length = be32(length);
    d->address = be64(address);
    dma_kick((uint64_t)&desc);
    uint64_t start = time_us();
    uint32_t c;
    while ((c = be32(d->control)) & ~DMA_ERROR) {
        if (time_us() - start > 1000000)
            fail(TEST, "DMA control %x -> still %x after 1 s", control, c);
        cpu_relax();
    }
    return c;
}

static void dma_read_key(uint16_t key, void *dst, uint32_t len)
{
    uint32_t c = dma(DMA_SELECT | DMA_READ | (uint32_t)key << 16, (uint64_t)dst, len);
    if (c)
        fail(TEST, "DMA read of key %x (%u bytes) returned control %x", key, len, c);
}

/* The top of RAM: the highest end of a RAM range, extended over reserved
 * ranges that follow it directly (firmware reserves the top of its RAM). */
static uint64_t ram_top(void)
{
    uint64_t top = 0;
    for (unsigned i = 0; i < boot.nr_ranges; i++)
        if (boot.ranges[i].type == E820_RAM && boot.ranges[i].addr + boot.ranges[i].size > top)
            top = boot.ranges[i].addr + boot.ranges[i].size;
    for (bool grew = true; grew;) {
        grew = false;
        for (unsigned i = 0; i < boot.nr_ranges; i++)
            if (boot.ranges[i].size && boot.ranges[i].addr == top) {
                top += boot.ranges[i].size;
                grew = true;
            }
    }
    return top;
}

static void check_ids(void)
{
    char sig[5] = { 0 };
    port_select(FW_CFG_SIGNATURE);
    port_read(sig, 4);
    if (memcmp(sig, "QEMU", 4) != 0)
        fail(TEST, "signature (key 0) reads \"%s\", expected \"QEMU\"", sig);
    uint32_t id = 0;
    port_select(FW_CFG_ID);
    port_read(&id, 4);
    if (!(id & 1) || !(id & FW_CFG_ID_DMA))
        fail(TEST, "ID (key 1) is %x: want bit 0 (traditional) and bit 1 (DMA)", id);
    char dma_sig[9] = { 0 };
    for (int i = 0; i < 8; i++)
        dma_sig[i] = (char)inb(FW_CFG_DMA_HIGH + i);
    if (memcmp(dma_sig, "QEMU CFG", 8) != 0)
        fail(TEST, "ports 0x514-0x51b read \"%s\", expected \"QEMU CFG\"", dma_sig);
    /* Key 0 again, by DMA: the smallest complete transfer. */
    uint32_t dsig = 0;
    dma_read_key(FW_CFG_SIGNATURE, &dsig, 4);
    if (memcmp(&dsig, "QEMU", 4) != 0)
        fail(TEST, "signature by DMA reads %x", dsig);
    printf("fwcfg: signature QEMU, ID %x, DMA signature \"QEMU CFG\"\n", id);
}

/* The directory by DMA (count, then the entries continuing at offset 4)
 * and by port; both must agree. Returns the number of entries. */
static uint32_t read_directory(void)
{
    uint32_t c = dma(DMA_SELECT | DMA_READ | FW_CFG_FILE_DIR << 16, (uint64_t)&dir_dma.count, 4);
    if (c)
        fail(TEST, "DMA read of the directory count: control %x", c);
    uint32_t n = be32(dir_dma.count);
    if (n == 0 || n > MAX_FILES)
        fail(TEST, "directory lists %u files (1..%u expected)", n, MAX_FILES);
    c = dma(DMA_READ, (uint64_t)dir_dma.e, n * sizeof(struct file_entry));
    if (c)
        fail(TEST, "DMA read of %u directory entries: control %x", n, c);
    port_select(FW_CFG_FILE_DIR);
    port_read(&dir_port, 4 + n * sizeof(struct file_entry));
    if (memcmp(&dir_port, &dir_dma, 4 + n * sizeof(struct file_entry)) != 0)
        fail(TEST, "the directory read by port differs from the DMA read");
    for (uint32_t i = 0; i < n; i++) {
        const struct file_entry *e = &dir_dma.e[i];
        if (!find_byte(e->name, 0, NAME_LEN))
            fail(TEST, "directory entry %u: name not NUL-terminated", i);
        if (i && strcmp(dir_dma.e[i - 1].name, e->name) >= 0)
            fail(TEST, "directory not sorted: \"%s\" before \"%s\"", dir_dma.e[i - 1].name, e->name);
        if (be16(e->select) < 0x20)
            fail(TEST, "file \"%s\" has key %x, below 0x20", e->name, be16(e->select));
    }
    return n;
}

static const struct file_entry *find_file(uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(dir_dma.e[i].name, name) == 0)
            return &dir_dma.e[i];
    return NULL;
}

/* The file by DMA (with a tail past its end that must read as zeros) and
 * the start of it by port. */
static void check_file(const struct file_entry *e, bool quiet)
{
    uint16_t key = be16(e->select);
    uint32_t size = be32(e->size), len = size < FILE_BUF ? size : FILE_BUF;
    memset(file_buf + len, 0xa5, 64);
    uint32_t c = dma(DMA_SELECT | DMA_READ | (uint32_t)key << 16, (uint64_t)file_buf, len + 64);
    if (c)
        fail(TEST, "DMA read of %s (%u bytes): control %x", e->name, len + 64, c);
    if (len == size)
        for (int i = 0; i < 64; i++)
            if (file_buf[len + i])
                fail(TEST, "%s: byte %u past the end reads %x by DMA, not 0",
                     e->name, len + i, file_buf[len + i]);
    uint32_t plen = len < PORT_BYTES ? len : PORT_BYTES;
    port_select(key);
    port_read(port_buf, plen);
    for (uint32_t i = 0; i < plen; i++)
        if (port_buf[i] != file_buf[i])
            fail(TEST, "%s: byte %u is %x by port, %x by DMA", e->name, i, port_buf[i], file_buf[i]);
    if (!quiet)
        printf("fwcfg: %s key 0x%x, %u bytes, DMA = port over %u bytes\n", e->name, key, size, plen);
}

/* SKIP moves the offset that READ and the data port share. Needs a file of
 * 48 bytes or more, read whole into file_buf first. */
static void check_skip(const struct file_entry *e)
{
    uint16_t key = be16(e->select);
    uint8_t part[16], more[16];
    uint32_t c = dma(DMA_SELECT | DMA_SKIP | (uint32_t)key << 16, 0, 16);
    if (c)
        fail(TEST, "DMA select+skip of %s: control %x", e->name, c);
    c = dma(DMA_READ, (uint64_t)part, 16);
    if (c)
        fail(TEST, "DMA read after skip of %s: control %x", e->name, c);
    port_read(more, 16);
    if (memcmp(part, file_buf + 16, 16) != 0)
        fail(TEST, "%s: DMA read after a 16-byte skip is not bytes 16..31", e->name);
    if (memcmp(more, file_buf + 32, 16) != 0)
        fail(TEST, "%s: port read after DMA skip+read is not bytes 32..47", e->name);
    printf("fwcfg: skip then read by DMA then by port follow %s's offset\n", e->name);
}

static void fill_canary(void)
{
    for (unsigned i = 0; i < sizeof(canary); i++)
        canary[i] = (uint8_t)(i * 7 + 3);
}

static void check_canary(const char *what)
{
    for (unsigned i = 0; i < sizeof(canary); i++)
        if (canary[i] != (uint8_t)(i * 7 + 3))
            fail(TEST, "%s changed guest RAM (canary byte %u)", what, i);
}

static void expect_error(uint32_t control, uint64_t address, uint32_t length, const char *what)
{
    uint32_t c = dma(control, address, length);
    if (c != DMA_ERROR)
        fail(TEST, "%s: control %x, expected the error bit alone", what, c);
}

/* Buffers and descriptors outside RAM; none may hurt the guest or ferry. */
static void check_bad_addresses(void)
{
    uint64_t top = ram_top();
    char sig[4];
    fill_canary();
    expect_error(DMA_SELECT | DMA_READ | FW_CFG_SIGNATURE << 16, top, 4,
                 "DMA read into the first byte past RAM");
    expect_error(DMA_SELECT | DMA_READ | FW_CFG_SIGNATURE << 16, BAD_HIGH, 4,
                 "DMA read into 0xfffffffffffff000");
    expect_error(DMA_SELECT | DMA_READ | FW_CFG_SIGNATURE << 16, BAD_HIGH, 0x2000,
                 "DMA read wrapping past 2^64");
    check_canary("a DMA read to an address outside RAM");
    /* The descriptor itself outside RAM: nothing to report to, only survive. */
    dma_kick(top);
    dma_kick(BAD_HIGH);
    dma_kick(BAD_HIGH + 0xff8);
    check_canary("a DMA descriptor outside RAM");
    dma_read_key(FW_CFG_SIGNATURE, sig, 4);
    if (memcmp(sig, "QEMU", 4) != 0)
        fail(TEST, "after descriptors outside RAM the signature reads wrong");
    printf("fwcfg: DMA to %lx and %lx refused, descriptors there ignored\n", top, BAD_HIGH);
}

/* DMA writes to read-only items are refused and change nothing. */
static void check_read_only(const struct file_entry *tables)
{
    static const char junk[16] = "ferry-was-here!";
    char sig[4];
    fill_canary();
    expect_error(DMA_SELECT | DMA_WRITE | FW_CFG_SIGNATURE << 16, (uint64_t)junk, 4,
                 "DMA write to the signature (key 0)");
    dma_read_key(FW_CFG_SIGNATURE, sig, 4);
    if (memcmp(sig, "QEMU", 4) != 0)
        fail(TEST, "the signature changed after a refused DMA write");
    if (tables) {
        uint16_t key = be16(tables->select);
        uint8_t before[64], after[64];
        uint32_t n = be32(tables->size) < 64 ? be32(tables->size) : 64;
        dma_read_key(key, before, n);
        expect_error(DMA_SELECT | DMA_WRITE | (uint32_t)key << 16, (uint64_t)junk, 16,
                     "DMA write to etc/acpi/tables");
        dma_read_key(key, after, n);
        if (memcmp(before, after, n) != 0)
            fail(TEST, "etc/acpi/tables changed after a refused DMA write");
    }
    check_canary("a refused DMA write");
    printf("fwcfg: DMA writes to read-only items refused\n");
}

void test_fwcfg(void)
{
    static const char default_files[] = "etc/e820,etc/acpi/tables,etc/acpi/rsdp,etc/table-loader";
    char files[512];
    if (!cmdline_get("files", files, sizeof(files)))
        memcpy(files, default_files, sizeof(default_files));

    check_ids();
    uint32_t n = read_directory();
    printf("fwcfg: %u files:", n);
    for (uint32_t i = 0; i < n; i++)
        printf(" %s", dir_dma.e[i].name);
    printf("\n");

    const struct file_entry *skip_file = NULL;
    for (char *p = files; *p;) {
        char *name = p;
        while (*p && *p != ',')
            p++;
        if (*p)
            *p++ = 0;
        if (!*name)
            continue;
        const struct file_entry *e = find_file(n, name);
        if (!e)
            fail(TEST, "file \"%s\" is not in the directory", name);
        check_file(e, false);
        if (be32(e->size) >= 48 && be32(e->size) <= FILE_BUF)
            skip_file = e;
    }
    if (skip_file) {
        check_file(skip_file, true);      /* file_buf holds it again */
        check_skip(skip_file);
    }

    uint16_t ncpus = 0;
    dma_read_key(FW_CFG_NB_CPUS, &ncpus, 2);
    uint64_t want = cmdline_get_u64("cpus", 0);
    printf("fwcfg: NB_CPUS %u\n", ncpus);
    if (want && ncpus != want)
        fail(TEST, "NB_CPUS (key 5) is %u, expected cpus=%lu", ncpus, want);

    check_bad_addresses();
    check_read_only(find_file(n, "etc/acpi/tables"));
    pass(TEST);
}
