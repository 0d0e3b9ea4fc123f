/* Reading multiboot v1 info and PVH hvm_start_info into struct boot_info. */
#include "boot_info.h"

#define MULTIBOOT_LOADER_MAGIC 0x2BADB002
#define MB_INFO_MEMORY  (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP    (1u << 6)
#define PVH_START_MAGIC 0x336ec578

/* Set by entry.S before paging is on. */
extern uint32_t boot_protocol, boot_magic, boot_info_addr;

struct boot_info boot;

struct multiboot_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
} __attribute__((packed));

struct multiboot_mmap_entry {
    uint32_t size;          /* of the rest of the entry */
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
} __attribute__((packed));

struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
} __attribute__((packed));

static void add_range(uint64_t addr, uint64_t size, uint32_t type)
{
    if (size && boot.nr_ranges < BOOT_MAX_RANGES)
        boot.ranges[boot.nr_ranges++] = (struct mem_range){ addr, size, type };
}

static void copy_cmdline(uint64_t paddr)
{
    const char *src = (const char *)paddr;
    size_t i = 0;
    if (!paddr)
        return;
    for (; i < BOOT_CMDLINE_MAX - 1 && src[i]; i++)
        boot.cmdline[i] = src[i];
    boot.cmdline[i] = 0;
}

static const char *load_multiboot(void)
{
    const struct multiboot_info *mbi = (const void *)(uint64_t)boot_info_addr;
    if (boot_magic != MULTIBOOT_LOADER_MAGIC)
        return "multiboot: bad loader magic in EAX";
    if (mbi->flags & MB_INFO_CMDLINE)
        copy_cmdline(mbi->cmdline);
    if (mbi->flags & MB_INFO_MMAP) {
        uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
        while (p + sizeof(struct multiboot_mmap_entry) <= end) {
            const struct multiboot_mmap_entry *e = (const void *)p;
            add_range(e->addr, e->len, e->type);
            p += e->size + sizeof(e->size);
        }
        boot.have_memory_map = true;
    } else if (mbi->flags & MB_INFO_MEMORY) {
        add_range(0, KIB(mbi->mem_lower), E820_RAM);
        add_range(MIB(1), KIB(mbi->mem_upper), E820_RAM);
    } else {
        return "multiboot: no memory information";
    }
    return NULL;
}

static const char *load_pvh(void)
{
    const struct hvm_start_info *si = (const void *)(uint64_t)boot_info_addr;
    if (si->magic != PVH_START_MAGIC)
        return "pvh: bad hvm_start_info magic";
    copy_cmdline(si->cmdline_paddr);
    boot.rsdp_paddr = si->rsdp_paddr;
    if (!si->memmap_paddr || !si->memmap_entries)
        return "pvh: no memory map";
    const struct hvm_memmap_entry *e = (const void *)si->memmap_paddr;
    for (uint32_t i = 0; i < si->memmap_entries; i++)
        add_range(e[i].addr, e[i].size, e[i].type);
    boot.have_memory_map = true;
    return NULL;
}

const char *boot_info_load(void)
{
    boot.protocol = boot_protocol;
    switch (boot.protocol) {
    case BOOT_MULTIBOOT:
        return load_multiboot();
    case BOOT_PVH:
        return load_pvh();
    default:
        return "unknown boot protocol";
    }
}

const char *boot_protocol_name(enum boot_protocol p)
{
    return p == BOOT_MULTIBOOT ? "multiboot" : p == BOOT_PVH ? "pvh" : "unknown";
}

/* Tokens are space separated; QEMU's multiboot puts the kernel path first. */
bool cmdline_get(const char *key, char *value, size_t size)
{
    size_t klen = strlen(key);
    const char *p = boot.cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *tok = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - tok) > klen && tok[klen] == '=' &&
            memcmp(tok, key, klen) == 0) {
            size_t n = 0;
            for (const char *v = tok + klen + 1; v < p && n + 1 < size; v++)
                value[n++] = *v;
            value[n] = 0;
            return true;
        }
    }
    return false;
}

uint64_t cmdline_get_u64(const char *key, uint64_t fallback)
{
    char buf[24];
    uint64_t v = 0;
    if (!cmdline_get(key, buf, sizeof(buf)) || !buf[0])
        return fallback;
    for (const char *c = buf; *c; c++) {
        if (*c < '0' || *c > '9')
            return fallback;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    return v;
}
