/* Extends entry.S's identity map with 2 MiB user pages for RAM above 4 GiB. */
#include "boot_info.h"
#include "paging.h"

#define PTE_P_RW_US 0x7ull
#define PTE_LARGE   0x80ull
#define PD_POOL     60              /* with the low 4 GiB: up to 64 GiB */

extern uint64_t pdpt[512];
static uint64_t pd_pool[PD_POOL][512] NOINIT __attribute__((aligned(4096)));
static unsigned pd_used;

static bool map_2m(uint64_t addr)
{
    uint64_t *pdpte = &pdpt[addr >> 30];
    if (!*pdpte) {
        if (pd_used == PD_POOL)
            return false;
        uint64_t *pd = pd_pool[pd_used++];
        memset(pd, 0, 4096);
        *pdpte = (uint64_t)pd | PTE_P_RW_US;
    }
    uint64_t *pd = (uint64_t *)(*pdpte & ~0xfffull);
    pd[(addr >> 21) & 511] = addr | PTE_P_RW_US | PTE_LARGE;
    return true;
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
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
    return limit;
}
