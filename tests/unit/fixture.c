/* Fixtures shared by the unit tests: see fixture.h. */
#include "fixture.h"

#include <string.h>

GuestRam *guest_ram_new(const char *id_prefix, uint64_t size, uint8_t poison)
{
    static unsigned counter;
    g_autofree char *id = g_strdup_printf("%s-%u", id_prefix, counter++);
    g_autoptr(GError) err = NULL;
    GuestRam *g = g_new0(GuestRam, 1);

    g->block = ram_block_new(id, size, size, 0, NULL, &err);
    g_assert_no_error(err);
    memset(g->block->host, poison, size);
    g->system = memory_region_new_container("system", MR_SIZE_ALL);
    g->ram = memory_region_new_ram("ram", g->block);
    memory_region_add_subregion(g->system, 0, g->ram);
    g->as = address_space_new("memory", g->system);
    return g;
}

void guest_ram_free(GuestRam *g)
{
    address_space_free(g->as);
    memory_region_del_subregion(g->system, g->ram);
    memory_region_free(g->ram);
    memory_region_free(g->system);
    ram_block_free(g->block);
    g_free(g);
}

const uint8_t *guest_ram_ptr(GuestRam *g, uint64_t gpa, uint64_t len)
{
    const uint8_t *p = address_space_ram_ptr(g->as, gpa, len, true);
    g_assert_nonnull(p);
    return p;
}

uint8_t *guest_ram_wptr(GuestRam *g, uint64_t gpa, uint64_t len)
{
    uint8_t *p = address_space_ram_ptr(g->as, gpa, len, false);
    g_assert_nonnull(p);
    return p;
}

uint64_t guest_ram_read_le(GuestRam *g, uint64_t gpa, unsigned size)
{
    const uint8_t *p = guest_ram_ptr(g, gpa, size);
    uint64_t v = 0;

    g_assert_cmpuint(size, >=, 1);
    g_assert_cmpuint(size, <=, 8);
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void io_bus_init(IoBus *bus)
{
    bus->io = memory_region_new_container("io", 0x10000);
    bus->as = address_space_new("io", bus->io);
}

void io_bus_destroy(IoBus *bus)
{
    address_space_free(bus->as);
    memory_region_free(bus->io);
}

uint32_t io_bus_in(IoBus *bus, uint16_t port, unsigned size)
{
    uint32_t v = 0;

    g_assert_cmpint(address_space_read(bus->as, port, &v, size), ==, MEMTX_OK);
    return v;
}

void io_bus_out(IoBus *bus, uint16_t port, uint32_t value, unsigned size)
{
    g_assert_cmpint(address_space_write(bus->as, port, &value, size), ==, MEMTX_OK);
}

char *acpi_golden_path(const char *name)
{
    g_autofree char *unit_dir = g_path_get_dirname(__FILE__);

    return g_build_filename(unit_dir, "..", "acpi", name, NULL);
}

const char *dsl_without_header(const char *dsl)
{
    const char *start;

    if (g_str_has_prefix(dsl, "DefinitionBlock"))
        return dsl;
    start = strstr(dsl, "\nDefinitionBlock");
    g_assert_nonnull(start);
    return start + 1;
}
