/* AML encoder: each construct against bytes computed by hand from the ACPI
 * grammar (ACPI 6.x §20.2, resource descriptors §6.4). */
#include <glib.h>
#include <string.h>

#include "acpi/aml.h"

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void assert_array(const GByteArray *got, const uint8_t *want, size_t want_len)
{
    if (got->len == want_len && memcmp(got->data, want, want_len) == 0)
        return;
    g_autoptr(GString) msg = g_string_new("got ");
    for (guint i = 0; i < got->len; i++)
        g_string_append_printf(msg, "%02x ", got->data[i]);
    g_string_append(msg, "\nwant ");
    for (size_t i = 0; i < want_len; i++)
        g_string_append_printf(msg, "%02x ", want[i]);
    g_test_message("%s", msg->str);
    g_assert_not_reached();
}

/* Serializes (and frees) node, compares with the expected bytes. */
static void assert_aml(Aml *node, const uint8_t *want, size_t want_len)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    aml_serialize(node, out);
    assert_array(out, want, want_len);
}

static void assert_pkglen(uint32_t body_len, const uint8_t *want, size_t want_len)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    aml_encode_pkglen(out, body_len);
    assert_array(out, want, want_len);
}

static void assert_pkglen_raw(uint32_t value, const uint8_t *want, size_t want_len)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    aml_encode_pkglen_raw(out, value);
    assert_array(out, want, want_len);
}

static void test_pkglen_raw(void)
{
    assert_pkglen_raw(0, BYTES(0x00));
    assert_pkglen_raw(63, BYTES(0x3f));
    assert_pkglen_raw(64, BYTES(0x40, 0x04));
    assert_pkglen_raw(4095, BYTES(0x4f, 0xff));
    assert_pkglen_raw(4096, BYTES(0x80, 0x00, 0x01));
    assert_pkglen_raw(0xfffff, BYTES(0x8f, 0xff, 0xff));
    assert_pkglen_raw(1u << 20, BYTES(0xc0, 0x00, 0x00, 0x01));
    assert_pkglen_raw((1u << 28) - 1, BYTES(0xcf, 0xff, 0xff, 0xff));
}

/* A package length counts its own bytes, so the switch to a longer
 * encoding happens a byte or more before the raw boundary. */
static void test_pkglen_counts_itself(void)
{
    assert_pkglen(0, BYTES(0x01));
    assert_pkglen(62, BYTES(0x3f)); /* 63 in one byte */
    assert_pkglen(63, BYTES(0x41, 0x04)); /* 65 in two */
    assert_pkglen(4093, BYTES(0x4f, 0xff)); /* 4095 in two */
    assert_pkglen(4094, BYTES(0x81, 0x00, 0x01)); /* 4097 in three */
    assert_pkglen((1u << 20) - 4, BYTES(0x8f, 0xff, 0xff)); /* 0xfffff in three */
    assert_pkglen((1u << 20) - 3, BYTES(0xc1, 0x00, 0x00, 0x01)); /* 1 MiB + 1 in four */
}

/* The same boundaries through a real package: a Buffer of n zero bytes
 * has a body of BufferSize + n. */
static void test_pkglen_in_buffer(void)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    aml_serialize(aml_buffer(NULL, 59), out); /* body 2 + 59 = 61, length 62 */
    g_assert_cmphex(out->data[1], ==, 62);
    g_assert_cmpuint(out->len, ==, 1 + 1 + 2 + 59);

    g_byte_array_set_size(out, 0);
    aml_serialize(aml_buffer(NULL, 61), out); /* body 63: two length bytes */
    g_assert_cmphex(out->data[1], ==, 0x41);
    g_assert_cmphex(out->data[2], ==, 0x04);
    g_assert_cmpuint(out->len, ==, 1 + 2 + 2 + 61);

    g_byte_array_set_size(out, 0);
    aml_serialize(aml_buffer(NULL, 1u << 20), out); /* BufferSize is a DWord */
    g_assert_cmphex(out->data[1] >> 6, ==, 3);
    g_assert_cmpuint(out->len, ==, 1 + 4 + 5 + (1u << 20));
}

static void assert_name(const char *path, const uint8_t *want, size_t want_len)
{
    assert_aml(aml_name("%s", path), want, want_len);
}

static void test_name_strings(void)
{
    assert_name("COM1", BYTES('C', 'O', 'M', '1'));
    assert_name("_SB", BYTES('_', 'S', 'B', '_'));
    assert_name("A", BYTES('A', '_', '_', '_'));
    assert_name("\\", BYTES(0x5c, 0x00));
    assert_name("\\_S5", BYTES(0x5c, '_', 'S', '5', '_'));
    assert_name("^FOO", BYTES(0x5e, 'F', 'O', 'O', '_'));
    assert_name("\\_SB.PCI0", BYTES(0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'));
    assert_name("^^A.B", BYTES(0x5e, 0x5e, 0x2e, 'A', '_', '_', '_', 'B', '_', '_', '_'));
    assert_name("\\_SB.MHPC.MSCN",
                BYTES(0x5c, 0x2f, 3, '_', 'S', 'B', '_', 'M', 'H', 'P', 'C', 'M', 'S', 'C', 'N'));
    assert_name("A.B.C.D", BYTES(0x2f, 4, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_',
                                 '_', 'D', '_', '_', '_'));
}

static void test_bad_name_aborts(void)
{
    if (g_test_subprocess()) {
        aml_free(aml_name("TOOLONG"));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*bad name segment*");
}

static void test_integers(void)
{
    assert_aml(aml_int(0), BYTES(0x00));
    assert_aml(aml_int(1), BYTES(0x01));
    assert_aml(aml_int(2), BYTES(0x0a, 0x02));
    assert_aml(aml_int(0xff), BYTES(0x0a, 0xff));
    assert_aml(aml_int(0x100), BYTES(0x0b, 0x00, 0x01));
    assert_aml(aml_int(0xffff), BYTES(0x0b, 0xff, 0xff));
    assert_aml(aml_int(0x10000), BYTES(0x0c, 0x00, 0x00, 0x01, 0x00));
    assert_aml(aml_int(0xffffffff), BYTES(0x0c, 0xff, 0xff, 0xff, 0xff));
    assert_aml(aml_int(0x100000000), BYTES(0x0e, 0, 0, 0, 0, 1, 0, 0, 0));
    assert_aml(aml_int(UINT64_MAX - 1),
               BYTES(0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    assert_aml(aml_int(UINT64_MAX), BYTES(0xff));
}

static void test_strings_and_eisaid(void)
{
    assert_aml(aml_string("ab"), BYTES(0x0d, 'a', 'b', 0x00));
    assert_aml(aml_string("0x%02X", 9), BYTES(0x0d, '0', 'x', '0', '9', 0x00));
    assert_aml(aml_eisaid("PNP0501"), BYTES(0x0c, 0x41, 0xd0, 0x05, 0x01));
    assert_aml(aml_eisaid("PNP0C80"), BYTES(0x0c, 0x41, 0xd0, 0x0c, 0x80));
    assert_aml(aml_eisaid("PNP0A06"), BYTES(0x0c, 0x41, 0xd0, 0x0a, 0x06));
}

static void test_name_package(void)
{
    Aml *pkg = aml_package();
    aml_append(pkg, aml_int(5));
    aml_append(pkg, aml_int(0));
    aml_append(pkg, aml_int(0));
    aml_append(pkg, aml_int(0));
    assert_aml(aml_name_decl("_S5", pkg),
               BYTES(0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00));
}

static void test_scope_device(void)
{
    assert_aml(aml_scope("\\"), BYTES(0x10, 0x03, 0x5c, 0x00));

    Aml *dev = aml_device("C%03X", 0);
    aml_append(dev, aml_name_decl("_UID", aml_int(0)));
    assert_aml(dev, BYTES(0x5b, 0x82, 0x0b, 'C', '0', '0', '0', 0x08, '_', 'U', 'I', 'D', 0x00));
}

static void test_method_with_args(void)
{
    Aml *m = aml_method("MTFY", 2, AML_NOTSERIALIZED);
    Aml *cond = aml_if(aml_lequal(aml_arg(0), aml_int(0)));
    aml_append(cond, aml_notify(aml_name("MP00"), aml_arg(1)));
    aml_append(m, cond);
    assert_aml(m, BYTES(0x14, 0x11, 'M', 'T', 'F', 'Y', 0x02, /* */
                        0xa0, 0x0a, 0x93, 0x68, 0x00, /* If (LEqual (Arg0, Zero)) */
                        0x86, 'M', 'P', '0', '0', 0x69)); /* Notify (MP00, Arg1) */

    Aml *s = aml_method("MRST", 1, AML_SERIALIZED);
    aml_append(s, aml_return(aml_local(7)));
    assert_aml(s, BYTES(0x14, 0x08, 'M', 'R', 'S', 'T', 0x09, 0xa4, 0x67));

    assert_aml(aml_call("MTFY", aml_local(0), aml_int(1), NULL),
               BYTES('M', 'T', 'F', 'Y', 0x60, 0x01));
    assert_aml(aml_call("\\_SB.MHPC.MSCN", NULL),
               BYTES(0x5c, 0x2f, 3, '_', 'S', 'B', '_', 'M', 'H', 'P', 'C', 'M', 'S', 'C', 'N'));
}

static void test_control_flow(void)
{
    assert_aml(aml_store(aml_int(0), aml_local(0)), BYTES(0x70, 0x00, 0x60));

    Aml *loop = aml_while(aml_lless(aml_local(0), aml_name("MDNR")));
    aml_append(loop, aml_increment(aml_local(0)));
    assert_aml(loop, BYTES(0xa2, 0x09, 0x95, 0x60, 'M', 'D', 'N', 'R', 0x75, 0x60));

    Aml *block = aml_block();
    aml_append(block, aml_if(aml_int(1)));
    Aml *otherwise = aml_else();
    aml_append(otherwise, aml_return(aml_int(1)));
    aml_append(block, otherwise);
    assert_aml(block, BYTES(0xa0, 0x02, 0x01, 0xa1, 0x03, 0xa4, 0x01));
}

static void test_operators(void)
{
    assert_aml(aml_and(aml_local(0), aml_int(0x0f), aml_local(1)),
               BYTES(0x7b, 0x60, 0x0a, 0x0f, 0x61));
    assert_aml(aml_or(aml_local(0), aml_arg(0), NULL), BYTES(0x7d, 0x60, 0x68, 0x00));
    assert_aml(aml_shiftleft(aml_arg(0), aml_int(4), aml_local(2)),
               BYTES(0x79, 0x68, 0x0a, 0x04, 0x62));
    assert_aml(aml_shiftright(aml_arg(0), aml_int(32), NULL), BYTES(0x7a, 0x68, 0x0a, 0x20, 0x00));
    assert_aml(aml_add(aml_local(0), aml_int(1), aml_local(0)), BYTES(0x72, 0x60, 0x01, 0x60));
    assert_aml(aml_subtract(aml_local(3), aml_int(1), aml_local(3)),
               BYTES(0x74, 0x63, 0x01, 0x63));
    assert_aml(aml_decrement(aml_local(4)), BYTES(0x76, 0x64));
    assert_aml(aml_lgreater(aml_arg(6), aml_int(0)), BYTES(0x94, 0x6e, 0x00));
    assert_aml(aml_lnot(aml_land(aml_local(0), aml_lor(aml_local(1), aml_local(2)))),
               BYTES(0x92, 0x90, 0x60, 0x91, 0x61, 0x62));
    assert_aml(aml_to_integer(aml_arg(0), aml_local(0)), BYTES(0x99, 0x68, 0x60));
    assert_aml(aml_create_qword_field(aml_arg(0), aml_int(14), "MINL"),
               BYTES(0x8f, 0x68, 0x0a, 0x0e, 'M', 'I', 'N', 'L'));
    assert_aml(aml_create_dword_field(aml_name("MR32"), aml_int(10), "MIN"),
               BYTES(0x8a, 'M', 'R', '3', '2', 0x0a, 0x0a, 'M', 'I', 'N', '_'));
}

static void test_region_field(void)
{
    assert_aml(aml_operation_region("HPMR", AML_SYSTEM_IO, aml_int(0x0a00), aml_int(0x18)),
               BYTES(0x5b, 0x80, 'H', 'P', 'M', 'R', 0x01, 0x0b, 0x00, 0x0a, 0x0a, 0x18));
    assert_aml(aml_operation_region("MMIO", AML_SYSTEM_MEMORY, aml_int(0xfea00000), aml_int(4)),
               BYTES(0x5b, 0x80, 'M', 'M', 'I', 'O', 0x00, 0x0c, 0x00, 0x00, 0xa0, 0xfe, 0x0a,
                     0x04));

    Aml *f = aml_field("HPMR", AML_DWORD_ACC, AML_NOLOCK, AML_PRESERVE);
    aml_field_entry(f, "MRBL", 32);
    aml_field_entry(f, "MRBH", 32);
    aml_field_offset(f, 0x14); /* 96 reserved bits */
    aml_field_entry(f, "MES", 1);
    aml_field_entry(f, "MINS", 1);
    assert_aml(f, BYTES(0x5b, 0x81, 0x1d, 'H', 'P', 'M', 'R', 0x03, /* */
                        'M', 'R', 'B', 'L', 0x20, 'M', 'R', 'B', 'H', 0x20, /* */
                        0x00, 0x40, 0x06, /* Offset (0x14) */
                        'M', 'E', 'S', '_', 0x01, 'M', 'I', 'N', 'S', 0x01));

    Aml *g = aml_field("HPMR", AML_BYTE_ACC, AML_LOCK, AML_WRITE_AS_ZEROS);
    aml_field_reserve(g, 2);
    aml_field_entry(g, "MEJ", 1);
    assert_aml(g, BYTES(0x5b, 0x81, 0x0d, 'H', 'P', 'M', 'R', 0x51, 0x00, 0x02, 'M', 'E', 'J',
                        '_', 0x01));
}

static void test_mutex(void)
{
    assert_aml(aml_mutex("MLCK", 0), BYTES(0x5b, 0x01, 'M', 'L', 'C', 'K', 0x00));
    assert_aml(aml_acquire(aml_name("MLCK"), 0xffff),
               BYTES(0x5b, 0x23, 'M', 'L', 'C', 'K', 0xff, 0xff));
    assert_aml(aml_release(aml_name("MLCK")), BYTES(0x5b, 0x27, 'M', 'L', 'C', 'K'));
}

static void test_resource_template(void)
{
    Aml *crs = aml_resource_template();
    aml_append(crs, aml_io(0x3f8, 0x3f8, 0x00, 0x08));
    aml_append(crs, aml_irq_no_flags(4));
    assert_aml(crs, BYTES(0x11, 0x10, 0x0a, 0x0d, /* Buffer (13) */
                          0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08, /* IO */
                          0x22, 0x10, 0x00, /* IRQNoFlags () {4} */
                          0x79, 0x00)); /* EndTag, checksum 0 = "valid" */

    assert_aml(aml_resource_template(), BYTES(0x11, 0x05, 0x0a, 0x02, 0x79, 0x00));
}

static void test_resource_descriptors(void)
{
    assert_aml(aml_interrupt(AML_INT_CONSUMER, 9),
               BYTES(0x89, 0x06, 0x00, 0x01, 0x01, 0x09, 0x00, 0x00, 0x00));
    assert_aml(aml_interrupt(AML_INT_CONSUMER | AML_INT_EDGE | AML_INT_ACTIVE_LOW | AML_INT_SHARED,
                             0x20),
               BYTES(0x89, 0x06, 0x00, 0x0f, 0x01, 0x20, 0x00, 0x00, 0x00));
    assert_aml(aml_memory32_fixed(0xfee00000, 0x1000, true),
               BYTES(0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xe0, 0xfe, 0x00, 0x10, 0x00, 0x00));

    AmlMemoryRange r = {
        .min_fixed = true, .max_fixed = true, .caching = AML_CACHEABLE, .read_write = true,
        .min = 0x10000000, .max = 0x1fffffff, .length = 0x10000000,
    };
    assert_aml(aml_dword_memory(&r),
               BYTES(0x87, 0x17, 0x00, 0x00, 0x0d, 0x03, /* consumer, MinFixed, MaxFixed */
                     0, 0, 0, 0, 0x00, 0x00, 0x00, 0x10, 0xff, 0xff, 0xff, 0x1f, /* */
                     0, 0, 0, 0, 0x00, 0x00, 0x00, 0x10));

    r.min = 0x100000000;
    r.max = 0x13fffffff;
    r.length = 0x40000000;
    r.caching = AML_NON_CACHEABLE;
    r.producer = true;
    g_autoptr(GByteArray) q = g_byte_array_new();
    aml_serialize(aml_qword_memory(&r), q);
    g_assert_cmpuint(q->len, ==, 46);
    g_assert_cmphex(q->data[0], ==, 0x8a);
    g_assert_cmphex(q->data[1], ==, 43);
    g_assert_cmphex(q->data[4], ==, 0x0c); /* producer: bit 0 clear */
    g_assert_cmphex(q->data[5], ==, 0x01);
    uint64_t min, max, len;
    memcpy(&min, q->data + AML_QWORD_MEMORY_MIN, 8);
    memcpy(&max, q->data + AML_QWORD_MEMORY_MAX, 8);
    memcpy(&len, q->data + AML_QWORD_MEMORY_LENGTH, 8);
    g_assert_cmphex(GUINT64_FROM_LE(min), ==, r.min);
    g_assert_cmphex(GUINT64_FROM_LE(max), ==, r.max);
    g_assert_cmphex(GUINT64_FROM_LE(len), ==, r.length);

    /* The DWord offsets name the same fields. */
    g_autoptr(GByteArray) d = g_byte_array_new();
    AmlMemoryRange small = { .min = 0x1000, .max = 0x1fff, .length = 0x1000 };
    aml_serialize(aml_dword_memory(&small), d);
    g_assert_cmpuint(d->len, ==, 26);
    g_assert_cmphex(d->data[AML_DWORD_MEMORY_MIN + 1], ==, 0x10);
    g_assert_cmphex(d->data[AML_DWORD_MEMORY_MAX + 1], ==, 0x1f);
    g_assert_cmphex(d->data[AML_DWORD_MEMORY_LENGTH + 1], ==, 0x10);
}

/* What the memory-hotplug engineer will write: a scan loop under a mutex
 * and a per-slot device whose _CRS is filled from registers. */
static void test_hotplug_shapes_encode(void)
{
    Aml *scope = aml_scope("\\_SB");
    aml_append(scope, aml_mutex("MLCK", 0));
    Aml *scan = aml_method("MSCN", 0, AML_SERIALIZED);
    aml_append(scan, aml_acquire(aml_name("MLCK"), 0xffff));
    aml_append(scan, aml_store(aml_int(0), aml_local(0)));
    Aml *loop = aml_while(aml_lless(aml_local(0), aml_int(8)));
    aml_append(loop, aml_store(aml_local(0), aml_name("MSEL")));
    Aml *ins = aml_if(aml_lequal(aml_name("MINS"), aml_int(1)));
    aml_append(ins, aml_call("MTFY", aml_local(0), aml_int(1), NULL));
    aml_append(loop, ins);
    aml_append(loop, aml_increment(aml_local(0)));
    aml_append(scan, loop);
    aml_append(scan, aml_release(aml_name("MLCK")));
    aml_append(scope, scan);

    Aml *crs = aml_method("MCRS", 1, AML_SERIALIZED);
    Aml *tmpl = aml_resource_template();
    AmlMemoryRange r = { .min_fixed = true, .max_fixed = true, .read_write = true };
    aml_append(tmpl, aml_qword_memory(&r));
    aml_append(crs, aml_name_decl("MR64", tmpl));
    aml_append(crs, aml_create_qword_field(aml_name("MR64"), aml_int(AML_QWORD_MEMORY_MIN),
                                           "MINL"));
    aml_append(crs, aml_store(aml_name("MRBL"), aml_name("MINL")));
    aml_append(crs, aml_return(aml_name("MR64")));
    aml_append(scope, crs);

    g_autoptr(GByteArray) out = g_byte_array_new();
    aml_serialize(scope, out);
    g_assert_cmphex(out->data[0], ==, 0x10);
    /* Scope's PkgLength (two bytes here) covers everything after the opcode. */
    uint32_t pkglen = (out->data[1] & 0x0f) | (uint32_t)out->data[2] << 4;
    g_assert_cmphex(out->data[1] >> 6, ==, 1);
    g_assert_cmpuint(pkglen, ==, out->len - 1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/aml/pkglen/raw", test_pkglen_raw);
    g_test_add_func("/aml/pkglen/counts-itself", test_pkglen_counts_itself);
    g_test_add_func("/aml/pkglen/buffer", test_pkglen_in_buffer);
    g_test_add_func("/aml/name/strings", test_name_strings);
    g_test_add_func("/aml/name/bad", test_bad_name_aborts);
    g_test_add_func("/aml/integers", test_integers);
    g_test_add_func("/aml/strings-eisaid", test_strings_and_eisaid);
    g_test_add_func("/aml/name-package", test_name_package);
    g_test_add_func("/aml/scope-device", test_scope_device);
    g_test_add_func("/aml/method", test_method_with_args);
    g_test_add_func("/aml/control-flow", test_control_flow);
    g_test_add_func("/aml/operators", test_operators);
    g_test_add_func("/aml/region-field", test_region_field);
    g_test_add_func("/aml/mutex", test_mutex);
    g_test_add_func("/aml/resource-template", test_resource_template);
    g_test_add_func("/aml/resource-descriptors", test_resource_descriptors);
    g_test_add_func("/aml/hotplug-shapes", test_hotplug_shapes_encode);
    return g_test_run();
}
