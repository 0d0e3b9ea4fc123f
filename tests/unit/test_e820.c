/* e820 map construction. */
#include <glib.h>

#include "firmware/e820.h"

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

static void assert_entry(const E820Table *t, unsigned i, uint64_t addr, uint64_t size, uint32_t type)
{
    g_assert_cmpuint(i, <, t->nr);
    g_assert_cmphex(t->entries[i].addr, ==, addr);
    g_assert_cmphex(t->entries[i].size, ==, size);
    g_assert_cmpuint(t->entries[i].type, ==, type);
}

static void test_pc_small(void)
{
    E820Table t;
    e820_build_pc(&t, 64 * MiB, 0);
    g_assert_cmpuint(t.nr, ==, 5);
    assert_entry(&t, 0, 0, 0x9fc00, E820_RAM);
    assert_entry(&t, 1, 0x9fc00, 0x400, E820_RESERVED);
    assert_entry(&t, 2, 0xf0000, 0x10000, E820_RESERVED);
    assert_entry(&t, 3, 0x100000, 63 * MiB, E820_RAM);
    assert_entry(&t, 4, 0xfeffc000, 0x4000, E820_RESERVED);
}

static void test_pc_above_4g(void)
{
    E820Table t;
    e820_build_pc(&t, 3 * GiB, 5 * GiB);
    g_assert_cmpuint(t.nr, ==, 6);
    assert_entry(&t, 3, 0x100000, 3 * GiB - MiB, E820_RAM);
    assert_entry(&t, 4, 0xfeffc000, 0x4000, E820_RESERVED);
    assert_entry(&t, 5, 4 * GiB, 5 * GiB, E820_RAM);
}

static void test_pc_tiny(void)
{
    E820Table t;
    e820_build_pc(&t, 512 * 1024, 0);
    /* No RAM above 1 MiB, and low RAM clipped to what exists. */
    g_assert_cmpuint(t.nr, ==, 4);
    assert_entry(&t, 0, 0, 512 * 1024, E820_RAM);
    assert_entry(&t, 1, 0x9fc00, 0x400, E820_RESERVED);
    assert_entry(&t, 2, 0xf0000, 0x10000, E820_RESERVED);
    assert_entry(&t, 3, 0xfeffc000, 0x4000, E820_RESERVED);
}

static void test_pc_rebuild_resets(void)
{
    E820Table t;
    e820_build_pc(&t, 64 * MiB, 1 * GiB);
    e820_build_pc(&t, 64 * MiB, 0);
    g_assert_cmpuint(t.nr, ==, 5);
}

static void test_add_sorted(void)
{
    E820Table t = { .nr = 0 };
    e820_add(&t, 0x200000, 0x1000, E820_ACPI);
    e820_add(&t, 0x100000, 0x1000, E820_RAM);
    e820_add(&t, 0x300000, 0x1000, E820_NVS);
    e820_add(&t, 0x150000, 0, E820_RAM); /* empty: dropped */
    g_assert_cmpuint(t.nr, ==, 3);
    assert_entry(&t, 0, 0x100000, 0x1000, E820_RAM);
    assert_entry(&t, 1, 0x200000, 0x1000, E820_ACPI);
    assert_entry(&t, 2, 0x300000, 0x1000, E820_NVS);
}

static void test_add_full(void)
{
    E820Table t = { .nr = 0 };
    for (unsigned i = 0; i < E820_MAX_ENTRIES; i++) {
        e820_add(&t, (uint64_t)i << 20, 0x1000, E820_RAM);
    }
    g_assert_cmpuint(t.nr, ==, E820_MAX_ENTRIES);
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*table full*");
    e820_add(&t, 0, 0x10, E820_RESERVED);
    g_test_assert_expected_messages();
    g_assert_cmpuint(t.nr, ==, E820_MAX_ENTRIES);
    assert_entry(&t, 0, 0, 0x1000, E820_RAM);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/e820/pc/small", test_pc_small);
    g_test_add_func("/e820/pc/above-4g", test_pc_above_4g);
    g_test_add_func("/e820/pc/tiny", test_pc_tiny);
    g_test_add_func("/e820/pc/rebuild-resets", test_pc_rebuild_resets);
    g_test_add_func("/e820/add/sorted", test_add_sorted);
    g_test_add_func("/e820/add/full", test_add_full);
    return g_test_run();
}
