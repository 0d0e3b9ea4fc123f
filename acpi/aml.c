/* AML encoder (ACPI 6.x §20: AML grammar; §6.4: resource descriptors). */
#include "acpi/aml.h"

#include <stdarg.h>
#include <string.h>

/* How a node's bytes are framed when it is encoded. */
typedef enum AmlKind {
    AML_TERMS, /* opcode and operands as they are */
    AML_PKG, /* opcode, PkgLength, header, body (Scope, Device, Method, If, Field...) */
    AML_BUFFER, /* 0x11 PkgLength BufferSize body */
    AML_PACKAGE, /* 0x12 PkgLength NumElements body */
    AML_RESOURCES, /* a buffer whose body gets an EndTag */
} AmlKind;

struct Aml {
    AmlKind kind;
    uint8_t opcode[2];
    unsigned opcode_len;
    GByteArray *header; /* AML_PKG: what follows the PkgLength before the body */
    GByteArray *body;
    unsigned elements; /* AML_PACKAGE */
    unsigned field_bits; /* Field: bit position of the next unit */
};

enum {
    OP_ZERO = 0x00,
    OP_ONE = 0x01,
    OP_NAME = 0x08,
    OP_BYTE = 0x0a,
    OP_WORD = 0x0b,
    OP_DWORD = 0x0c,
    OP_STRING = 0x0d,
    OP_QWORD = 0x0e,
    OP_SCOPE = 0x10,
    OP_BUFFER = 0x11,
    OP_PACKAGE = 0x12,
    OP_METHOD = 0x14,
    OP_DUAL_NAME = 0x2e,
    OP_MULTI_NAME = 0x2f,
    OP_EXT = 0x5b,
    OP_ROOT = 0x5c,
    OP_PARENT = 0x5e,
    OP_LOCAL0 = 0x60,
    OP_ARG0 = 0x68,
    OP_STORE = 0x70,
    OP_ADD = 0x72,
    OP_SUBTRACT = 0x74,
    OP_INCREMENT = 0x75,
    OP_DECREMENT = 0x76,
    OP_SHIFT_LEFT = 0x79,
    OP_SHIFT_RIGHT = 0x7a,
    OP_AND = 0x7b,
    OP_OR = 0x7d,
    OP_NOTIFY = 0x86,
    OP_CREATE_DWORD_FIELD = 0x8a,
    OP_CREATE_QWORD_FIELD = 0x8f,
    OP_LAND = 0x90,
    OP_LOR = 0x91,
    OP_LNOT = 0x92,
    OP_LEQUAL = 0x93,
    OP_LGREATER = 0x94,
    OP_LLESS = 0x95,
    OP_TO_INTEGER = 0x99,
    OP_IF = 0xa0,
    OP_ELSE = 0xa1,
    OP_WHILE = 0xa2,
    OP_RETURN = 0xa4,
    OP_ONES = 0xff,
    /* after OP_EXT */
    EXT_MUTEX = 0x01,
    EXT_ACQUIRE = 0x23,
    EXT_RELEASE = 0x27,
    EXT_REGION = 0x80,
    EXT_FIELD = 0x81,
    EXT_DEVICE = 0x82,
};

/* Resource descriptor tags: small ones carry their length in bits 2:0. */
enum {
    RES_IRQ_NO_FLAGS = 0x22, /* small type 4, 2 bytes */
    RES_IO = 0x47, /* small type 8, 7 bytes */
    RES_END_TAG = 0x79, /* small type 15, 1 byte */
    RES_MEMORY32_FIXED = 0x86,
    RES_DWORD_ADDRESS = 0x87,
    RES_EXTENDED_IRQ = 0x89,
    RES_QWORD_ADDRESS = 0x8a,
};

#define PKGLEN_MAX ((1u << 28) - 1)

static Aml *aml_new(AmlKind kind)
{
    Aml *node = g_new0(Aml, 1);
    node->kind = kind;
    node->header = g_byte_array_new();
    node->body = g_byte_array_new();
    return node;
}

static Aml *aml_new_pkg(uint8_t op)
{
    Aml *node = aml_new(AML_PKG);
    node->opcode[0] = op;
    node->opcode_len = 1;
    return node;
}

static Aml *aml_new_ext_pkg(uint8_t ext_op)
{
    Aml *node = aml_new(AML_PKG);
    node->opcode[0] = OP_EXT;
    node->opcode[1] = ext_op;
    node->opcode_len = 2;
    return node;
}

void aml_free(Aml *node)
{
    if (!node)
        return;
    g_byte_array_free(node->header, TRUE);
    g_byte_array_free(node->body, TRUE);
    g_free(node);
}

static void put_byte(GByteArray *out, uint8_t b)
{
    g_byte_array_append(out, &b, 1);
}

static void put_le(GByteArray *out, uint64_t value, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        put_byte(out, (uint8_t)(value >> (8 * i)));
}

static void put_bytes(GByteArray *out, const GByteArray *src)
{
    g_byte_array_append(out, src->data, src->len);
}

/* ---- primitives ---- */

void aml_encode_pkglen_raw(GByteArray *out, uint32_t value)
{
    if (value > PKGLEN_MAX)
        g_error("aml: package length %u does not fit in 28 bits", value);
    if (value < 0x40) {
        put_byte(out, (uint8_t)value);
        return;
    }
    /* Lead byte: bits 7:6 count the bytes that follow, bits 3:0 hold the
     * low nibble; each following byte holds the next 8 bits. */
    unsigned follow = value < (1u << 12) ? 1 : value < (1u << 20) ? 2 : 3;
    put_byte(out, (uint8_t)((follow << 6) | (value & 0x0f)));
    for (unsigned i = 0; i < follow; i++)
        put_byte(out, (uint8_t)(value >> (4 + 8 * i)));
}

void aml_encode_pkglen(GByteArray *out, uint32_t body_len)
{
    /* The length counts its own bytes: pick the smallest size that fits. */
    for (uint32_t size = 1; size <= 4; size++) {
        uint32_t total = body_len + size;
        uint32_t limit = size == 1 ? 0x40 : 1u << (4 + 8 * (size - 1));
        if (total < limit) {
            aml_encode_pkglen_raw(out, total);
            return;
        }
    }
    g_error("aml: package body of %u bytes is too long", body_len);
}

static bool name_char_ok(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static void put_name_seg(GByteArray *out, const char *seg, size_t len, const char *path)
{
    if (len == 0 || len > 4)
        g_error("aml: bad name segment in \"%s\"", path);
    for (size_t i = 0; i < 4; i++) {
        char c = i < len ? seg[i] : '_';
        if (!name_char_ok(c, i == 0))
            g_error("aml: bad character '%c' in name \"%s\"", c, path);
        put_byte(out, (uint8_t)c);
    }
}

void aml_encode_name_string(GByteArray *out, const char *path)
{
    const char *p = path;
    if (*p == '\\') {
        put_byte(out, OP_ROOT);
        p++;
    } else {
        while (*p == '^') {
            put_byte(out, OP_PARENT);
            p++;
        }
    }
    if (*p == '\0') {
        put_byte(out, OP_ZERO); /* NullName: the prefix alone, e.g. "\" */
        return;
    }
    g_auto(GStrv) segs = g_strsplit(p, ".", -1);
    unsigned count = g_strv_length(segs);
    if (count > 255)
        g_error("aml: name \"%s\" has too many segments", path);
    if (count == 2) {
        put_byte(out, OP_DUAL_NAME);
    } else if (count > 2) {
        put_byte(out, OP_MULTI_NAME);
        put_byte(out, (uint8_t)count);
    }
    for (unsigned i = 0; i < count; i++)
        put_name_seg(out, segs[i], strlen(segs[i]), path);
}

/* ---- tree ---- */

Aml *aml_block(void)
{
    return aml_new(AML_TERMS);
}

static void encode_int_into(GByteArray *out, uint64_t value);

static void encode(const Aml *node, GByteArray *out)
{
    g_autoptr(GByteArray) inner = g_byte_array_new();
    switch (node->kind) {
    case AML_TERMS:
        put_bytes(out, node->body);
        return;
    case AML_PKG:
        put_bytes(inner, node->header);
        put_bytes(inner, node->body);
        break;
    case AML_BUFFER:
        encode_int_into(inner, node->body->len);
        put_bytes(inner, node->body);
        break;
    case AML_RESOURCES:
        /* Checksum 0: the spec's "treat as valid", as iasl emits, so the
         * disassembly compiles back to the same bytes. */
        encode_int_into(inner, node->body->len + 2);
        put_bytes(inner, node->body);
        put_byte(inner, RES_END_TAG);
        put_byte(inner, 0);
        break;
    case AML_PACKAGE:
        put_byte(inner, (uint8_t)node->elements);
        put_bytes(inner, node->body);
        break;
    }
    g_byte_array_append(out, node->opcode, node->opcode_len);
    aml_encode_pkglen(out, inner->len);
    put_bytes(out, inner);
}

void aml_append(Aml *parent, Aml *child)
{
    if (parent->kind == AML_PACKAGE && ++parent->elements > 255)
        g_error("aml: a Package holds at most 255 elements");
    encode(child, parent->body);
    aml_free(child);
}

void aml_serialize(Aml *node, GByteArray *out)
{
    encode(node, out);
    aml_free(node);
}

/* Append an operand's encoding to a node being built. */
static void add_operand(Aml *node, Aml *operand)
{
    aml_append(node, operand);
}

static Aml *op1(uint8_t op, Aml *a)
{
    Aml *node = aml_block();
    put_byte(node->body, op);
    add_operand(node, a);
    return node;
}

static Aml *op2(uint8_t op, Aml *a, Aml *b)
{
    Aml *node = op1(op, a);
    add_operand(node, b);
    return node;
}

/* Operator with a Target operand; NullName when there is none. */
static Aml *op2_target(uint8_t op, Aml *a, Aml *b, Aml *target)
{
    Aml *node = op2(op, a, b);
    if (target)
        add_operand(node, target);
    else
        put_byte(node->body, OP_ZERO);
    return node;
}

/* ---- data ---- */

static void encode_int_into(GByteArray *out, uint64_t value)
{
    if (value == 0) {
        put_byte(out, OP_ZERO);
    } else if (value == 1) {
        put_byte(out, OP_ONE);
    } else if (value == UINT64_MAX) {
        put_byte(out, OP_ONES);
    } else if (value <= UINT8_MAX) {
        put_byte(out, OP_BYTE);
        put_le(out, value, 1);
    } else if (value <= UINT16_MAX) {
        put_byte(out, OP_WORD);
        put_le(out, value, 2);
    } else if (value <= UINT32_MAX) {
        put_byte(out, OP_DWORD);
        put_le(out, value, 4);
    } else {
        put_byte(out, OP_QWORD);
        put_le(out, value, 8);
    }
}

Aml *aml_int(uint64_t value)
{
    Aml *node = aml_block();
    encode_int_into(node->body, value);
    return node;
}

static unsigned hex_digit(char c, const char *id)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'A' && c <= 'F')
        return (unsigned)(c - 'A' + 10);
    g_error("aml: bad EISA ID \"%s\"", id);
}

Aml *aml_eisaid(const char *id)
{
    if (strlen(id) != 7)
        g_error("aml: bad EISA ID \"%s\"", id);
    /* Three letters in 5 bits each ('A' = 1), then four hex digits; the
     * whole is stored big-endian in the DWord. */
    uint32_t vendor = 0;
    for (unsigned i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z')
            g_error("aml: bad EISA ID \"%s\"", id);
        vendor = (vendor << 5) | (uint32_t)(id[i] - 'A' + 1);
    }
    uint32_t product = 0;
    for (unsigned i = 3; i < 7; i++)
        product = (product << 4) | hex_digit(id[i], id);
    uint32_t be = (vendor << 16) | product;
    Aml *node = aml_block();
    put_byte(node->body, OP_DWORD); /* always a DWord: that is what marks an EISA ID */
    put_le(node->body, GUINT32_SWAP_LE_BE(be), 4);
    return node;
}

Aml *aml_string(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    Aml *node = aml_block();
    put_byte(node->body, OP_STRING);
    g_byte_array_append(node->body, (const uint8_t *)s, (guint)strlen(s) + 1);
    return node;
}

Aml *aml_buffer(const uint8_t *data, size_t len)
{
    Aml *node = aml_new(AML_BUFFER);
    node->opcode[0] = OP_BUFFER;
    node->opcode_len = 1;
    if (data) {
        g_byte_array_append(node->body, data, (guint)len);
    } else {
        g_byte_array_set_size(node->body, (guint)len);
        memset(node->body->data, 0, len);
    }
    return node;
}

Aml *aml_package(void)
{
    Aml *node = aml_new(AML_PACKAGE);
    node->opcode[0] = OP_PACKAGE;
    node->opcode_len = 1;
    return node;
}

Aml *aml_name(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *path = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    Aml *node = aml_block();
    aml_encode_name_string(node->body, path);
    return node;
}

Aml *aml_local(unsigned n)
{
    if (n > 7)
        g_error("aml: Local%u does not exist", n);
    Aml *node = aml_block();
    put_byte(node->body, (uint8_t)(OP_LOCAL0 + n));
    return node;
}

Aml *aml_arg(unsigned n)
{
    if (n > 6)
        g_error("aml: Arg%u does not exist", n);
    Aml *node = aml_block();
    put_byte(node->body, (uint8_t)(OP_ARG0 + n));
    return node;
}

/* ---- named objects and blocks ---- */

Aml *aml_name_decl(const char *name, Aml *value)
{
    Aml *node = aml_block();
    put_byte(node->body, OP_NAME);
    aml_encode_name_string(node->body, name);
    add_operand(node, value);
    return node;
}

Aml *aml_scope(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *path = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    Aml *node = aml_new_pkg(OP_SCOPE);
    aml_encode_name_string(node->header, path);
    return node;
}

Aml *aml_device(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *path = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    Aml *node = aml_new_ext_pkg(EXT_DEVICE);
    aml_encode_name_string(node->header, path);
    return node;
}

Aml *aml_method(const char *name, unsigned arg_count, AmlMethodFlags flags)
{
    if (arg_count > 7)
        g_error("aml: method %s cannot take %u arguments", name, arg_count);
    Aml *node = aml_new_pkg(OP_METHOD);
    aml_encode_name_string(node->header, name);
    /* MethodFlags: bits 2:0 ArgCount, bit 3 SerializeFlag, 7:4 SyncLevel 0. */
    put_byte(node->header, (uint8_t)(arg_count | (flags == AML_SERIALIZED ? 0x08 : 0)));
    return node;
}

Aml *aml_operation_region(const char *name, AmlRegionSpace space, Aml *offset, Aml *length)
{
    Aml *node = aml_block();
    put_byte(node->body, OP_EXT);
    put_byte(node->body, EXT_REGION);
    aml_encode_name_string(node->body, name);
    put_byte(node->body, (uint8_t)space);
    add_operand(node, offset);
    add_operand(node, length);
    return node;
}

Aml *aml_field(const char *region, AmlFieldAccess access, AmlFieldLock lock,
               AmlFieldUpdate update)
{
    Aml *node = aml_new_ext_pkg(EXT_FIELD);
    aml_encode_name_string(node->header, region);
    /* FieldFlags: bits 3:0 AccessType, bit 4 LockRule, bits 6:5 UpdateRule. */
    put_byte(node->header, (uint8_t)(access | (lock << 4) | (update << 5)));
    return node;
}

void aml_field_entry(Aml *field, const char *name, unsigned bits)
{
    if (bits == 0)
        g_error("aml: field unit %s has no bits", name);
    /* A NamedField is a bare NameSeg and its width in PkgLength form. */
    put_name_seg(field->body, name, strlen(name), name);
    aml_encode_pkglen_raw(field->body, bits);
    field->field_bits += bits;
}

void aml_field_reserve(Aml *field, unsigned bits)
{
    if (bits == 0)
        return;
    put_byte(field->body, 0x00); /* ReservedField */
    aml_encode_pkglen_raw(field->body, bits);
    field->field_bits += bits;
}

void aml_field_offset(Aml *field, unsigned byte_offset)
{
    unsigned target = byte_offset * 8;
    if (target < field->field_bits)
        g_error("aml: field offset %u goes backwards (at bit %u)", byte_offset,
                field->field_bits);
    aml_field_reserve(field, target - field->field_bits);
}

Aml *aml_mutex(const char *name, unsigned sync_level)
{
    if (sync_level > 15)
        g_error("aml: mutex %s sync level %u is above 15", name, sync_level);
    Aml *node = aml_block();
    put_byte(node->body, OP_EXT);
    put_byte(node->body, EXT_MUTEX);
    aml_encode_name_string(node->body, name);
    put_byte(node->body, (uint8_t)sync_level);
    return node;
}

Aml *aml_acquire(Aml *mutex, uint16_t timeout_ms)
{
    Aml *node = aml_block();
    put_byte(node->body, OP_EXT);
    put_byte(node->body, EXT_ACQUIRE);
    add_operand(node, mutex);
    put_le(node->body, timeout_ms, 2); /* a bare WordData, no prefix */
    return node;
}

Aml *aml_release(Aml *mutex)
{
    Aml *node = aml_block();
    put_byte(node->body, OP_EXT);
    put_byte(node->body, EXT_RELEASE);
    add_operand(node, mutex);
    return node;
}

static Aml *create_field(uint8_t op, Aml *buffer, Aml *byte_index, const char *name)
{
    Aml *node = op2(op, buffer, byte_index);
    aml_encode_name_string(node->body, name);
    return node;
}

Aml *aml_create_dword_field(Aml *buffer, Aml *byte_index, const char *name)
{
    return create_field(OP_CREATE_DWORD_FIELD, buffer, byte_index, name);
}

Aml *aml_create_qword_field(Aml *buffer, Aml *byte_index, const char *name)
{
    return create_field(OP_CREATE_QWORD_FIELD, buffer, byte_index, name);
}

/* ---- statements ---- */

Aml *aml_return(Aml *value)
{
    return op1(OP_RETURN, value);
}

Aml *aml_store(Aml *source, Aml *destination)
{
    return op2(OP_STORE, source, destination);
}

Aml *aml_if(Aml *predicate)
{
    Aml *node = aml_new_pkg(OP_IF);
    encode(predicate, node->header);
    aml_free(predicate);
    return node;
}

Aml *aml_else(void)
{
    return aml_new_pkg(OP_ELSE);
}

Aml *aml_while(Aml *predicate)
{
    Aml *node = aml_new_pkg(OP_WHILE);
    encode(predicate, node->header);
    aml_free(predicate);
    return node;
}

Aml *aml_notify(Aml *object, Aml *value)
{
    return op2(OP_NOTIFY, object, value);
}

Aml *aml_call(const char *method, ...)
{
    Aml *node = aml_name("%s", method);
    va_list ap;
    va_start(ap, method);
    for (Aml *arg = va_arg(ap, Aml *); arg; arg = va_arg(ap, Aml *))
        add_operand(node, arg);
    va_end(ap);
    return node;
}

/* ---- expressions ---- */

Aml *aml_lequal(Aml *a, Aml *b) { return op2(OP_LEQUAL, a, b); }
Aml *aml_lless(Aml *a, Aml *b) { return op2(OP_LLESS, a, b); }
Aml *aml_lgreater(Aml *a, Aml *b) { return op2(OP_LGREATER, a, b); }
Aml *aml_land(Aml *a, Aml *b) { return op2(OP_LAND, a, b); }
Aml *aml_lor(Aml *a, Aml *b) { return op2(OP_LOR, a, b); }
Aml *aml_lnot(Aml *a) { return op1(OP_LNOT, a); }

Aml *aml_and(Aml *a, Aml *b, Aml *target) { return op2_target(OP_AND, a, b, target); }
Aml *aml_or(Aml *a, Aml *b, Aml *target) { return op2_target(OP_OR, a, b, target); }
Aml *aml_add(Aml *a, Aml *b, Aml *target) { return op2_target(OP_ADD, a, b, target); }

Aml *aml_subtract(Aml *a, Aml *b, Aml *target)
{
    return op2_target(OP_SUBTRACT, a, b, target);
}

Aml *aml_shiftleft(Aml *a, Aml *count, Aml *target)
{
    return op2_target(OP_SHIFT_LEFT, a, count, target);
}

Aml *aml_shiftright(Aml *a, Aml *count, Aml *target)
{
    return op2_target(OP_SHIFT_RIGHT, a, count, target);
}

Aml *aml_increment(Aml *target) { return op1(OP_INCREMENT, target); }
Aml *aml_decrement(Aml *target) { return op1(OP_DECREMENT, target); }

Aml *aml_to_integer(Aml *value, Aml *target)
{
    Aml *node = op1(OP_TO_INTEGER, value);
    if (target)
        add_operand(node, target);
    else
        put_byte(node->body, OP_ZERO);
    return node;
}

/* ---- resource templates ---- */

Aml *aml_resource_template(void)
{
    Aml *node = aml_new(AML_RESOURCES);
    node->opcode[0] = OP_BUFFER;
    node->opcode_len = 1;
    return node;
}

Aml *aml_io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length)
{
    Aml *node = aml_block();
    put_byte(node->body, RES_IO);
    put_byte(node->body, 0x01); /* Decode16: the device decodes all 16 address bits */
    put_le(node->body, min, 2);
    put_le(node->body, max, 2);
    put_byte(node->body, alignment);
    put_byte(node->body, length);
    return node;
}

Aml *aml_irq_no_flags(unsigned irq)
{
    if (irq > 15)
        g_error("aml: IRQNoFlags cannot describe IRQ %u", irq);
    Aml *node = aml_block();
    put_byte(node->body, RES_IRQ_NO_FLAGS);
    put_le(node->body, 1u << irq, 2);
    return node;
}

Aml *aml_interrupt(AmlInterruptFlags flags, uint32_t gsi)
{
    Aml *node = aml_block();
    put_byte(node->body, RES_EXTENDED_IRQ);
    put_le(node->body, 6, 2); /* flags, count, one DWord */
    put_byte(node->body, (uint8_t)flags);
    put_byte(node->body, 1);
    put_le(node->body, gsi, 4);
    return node;
}

Aml *aml_memory32_fixed(uint32_t base, uint32_t length, bool read_write)
{
    Aml *node = aml_block();
    put_byte(node->body, RES_MEMORY32_FIXED);
    put_le(node->body, 9, 2);
    put_byte(node->body, read_write ? 1 : 0);
    put_le(node->body, base, 4);
    put_le(node->body, length, 4);
    return node;
}

/* DWord/QWord address space descriptors share a layout but the width of
 * the five range fields. */
static Aml *address_memory(uint8_t tag, const AmlMemoryRange *r, unsigned width)
{
    Aml *node = aml_block();
    put_byte(node->body, tag);
    put_le(node->body, 3 + 5 * width, 2);
    put_byte(node->body, 0); /* resource type: memory range */
    /* General flags: bit 0 consumer, 1 subtractive, 2 MinFixed, 3 MaxFixed. */
    put_byte(node->body, (uint8_t)((r->producer ? 0 : 1) | (r->subtractive_decode ? 2 : 0) |
                                   (r->min_fixed ? 4 : 0) | (r->max_fixed ? 8 : 0)));
    /* Type-specific: bit 0 read-write, bits 2:1 caching; AddressRangeMemory. */
    put_byte(node->body, (uint8_t)((r->read_write ? 1 : 0) | (r->caching << 1)));
    put_le(node->body, r->granularity, width);
    put_le(node->body, r->min, width);
    put_le(node->body, r->max, width);
    put_le(node->body, r->translation, width);
    put_le(node->body, r->length, width);
    return node;
}

Aml *aml_dword_memory(const AmlMemoryRange *range)
{
    if (range->granularity > UINT32_MAX || range->min > UINT32_MAX || range->max > UINT32_MAX ||
        range->translation > UINT32_MAX || range->length > UINT32_MAX)
        g_error("aml: DWordMemory range 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                "x needs QWordMemory", range->min, range->length);
    return address_memory(RES_DWORD_ADDRESS, range, 4);
}

Aml *aml_qword_memory(const AmlMemoryRange *range)
{
    return address_memory(RES_QWORD_ADDRESS, range, 8);
}
