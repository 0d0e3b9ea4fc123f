/*
 * Extends entry.S's identity map with 2 MiB user pages: RAM above 4 GiB at
 * boot, and memory that arrives later (hot-plugged DIMMs, anywhere below
 * 256 TiB). PML4[0] and its PDPT come from entry.S; further PDPTs and all
 * page directories above 4 GiB come from static pools.
 */
#include "boot_info.h"
#include "paging.h"

#define PTE_P_RW_US 0x7ull
#define PTE_LARGE   0x80ull
#define PTE_ADDR    0x000ffffffffff000ull
#define PD_POOL     64              /* with the low 4 GiB: 64 GiB of boot RAM, plus DIMMs */
#define PDPT_POOL   4               /* PML4 entries beyond the first 512 GiB */

extern uint64_t pml4[512], pdpt[512];
static uint64_t pd_pool[PD_POOL][512] NOINIT __attribute__((aligned(4096)));
static uint64_t pdpt_pool[PDPT_POOL][512] NOINIT __attribute__((aligned(4096)));
static unsigned pd_used, pdpt_used;

static uint64_t *table_alloc(uint64_t (*pool)[512], unsigned *used, unsigned size)
{
    if (*used == size)
        return NULL;
    uint64_t *t = pool[(*used)++];
    memset(t, 0, 4096);
    return t;
}

/* The PD entry for addr; NULL if a level is missing and !create (or the
 * pools are exhausted). */
static uint64_t *pd_entry(uint64_t addr, bool create)
{
    uint64_t *pml4e = &pml4[(addr >> 39) & 511];
    if (!*pml4e) {
        uint64_t *t = create ? table_alloc(pdpt_pool, &pdpt_used, PDPT_POOL) : NULL;
        if (!t)
            return NULL;
        *pml4e = (uint64_t)t | PTE_P_RW_US;
    }
    uint64_t *pdpte = (uint64_t *)(*pml4e & PTE_ADDR) + ((addr >> 30) & 511);
    if (!*pdpte) {
        uint64_t *t = create ? table_alloc(pd_pool, &pd_used, PD_POOL) : NULL;
        if (!t)
            return NULL;
        *pdpte = (uint64_t)t | PTE_P_RW_US;
    }
    return (uint64_t *)(*pdpte & PTE_ADDR) + ((addr >> 21) & 511);
}

static bool map_2m(uint64_t addr)
{
    uint64_t *pde = pd_entry(addr, true);
    if (!pde)
        return false;
    *pde = addr | PTE_P_RW_US | PTE_LARGE;
    return true;
}

static void flush_tlb(void)
{
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

uint64_t paging_map_ram(void)
{
    uint64_t limit = GIB(4);
    for (unsigned i = 0; i < boot.nr_ranges; i++) {
        const struct mem_range *r = &boot.ranges[i];
        uint64_t end = r->addr + r->size;
        if (r->type != E820_RAM || end <= GIB(4))
            continue;
        for (uint64_t a = ALIGN_DOWN(r->addr > GIB(4) ? r->addr : GIB(4), MIB(2));
             a < end && a < GIB(512); a += MIB(2)) {
            if (!map_2m(a))
                goto out;
            if (a + MIB(2) > limit)
                limit = a + MIB(2);
        }
    }
out:
    flush_tlb();
    return limit;
}

bool paging_map_range(uint64_t start, uint64_t size)
{
    if ((start | size) & (MIB(2) - 1) || start + size > (1ull << 48) || start + size < start)
        return false;
    for (uint64_t a = start; a < start + size; a += MIB(2))
        if (!map_2m(a))
            return false;
    flush_tlb();
    return true;
}

void paging_unmap_range(uint64_t start, uint64_t size)
{
    for (uint64_t a = ALIGN_DOWN(start, MIB(2)); a < start + size; a += MIB(2)) {
        uint64_t *pde = pd_entry(a, false);
        if (pde)
            *pde = 0;
    }
    flush_tlb();
}
