/* AML encoder: builds ACPI Machine Language byte code as a tree of nodes.
 *
 * Every constructor returns a new node; aml_append(parent, child) encodes
 * the child into the parent's body and frees it, so a tree is built
 * inside-out: finish a Device, then append it to its Scope.  Operators take
 * their operands as nodes and consume them too, e.g.
 *
 *     Aml *m = aml_method("MSCN", 0, AML_SERIALIZED);
 *     aml_append(m, aml_store(aml_int(0), aml_local(0)));
 *     Aml *loop = aml_while(aml_lless(aml_local(0), aml_name("MDNR")));
 *     aml_append(loop, aml_increment(aml_local(0)));
 *     aml_append(m, loop);
 *     aml_append(scope, m);
 *
 * Objects with a PkgLength (Scope, Device, Method, If, Else, While, Field,
 * Buffer, Package, ResourceTemplate) encode it when they are appended, so
 * it is always computed from the finished body.  aml_serialize() turns a
 * top-level node (e.g. from aml_block()) into bytes for a table.
 *
 * Misuse (a bad name segment, Arg7, a package of 256 elements) is a bug in
 * ferry, not in its input, and aborts with a message.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct Aml Aml;

/* ---- tree and output ---- */

/* A bare list of terms, e.g. a DSDT's body. */
Aml *aml_block(void);
/* Encode child at the end of parent's body and free it. */
void aml_append(Aml *parent, Aml *child);
/* Append node's encoding to out and free the node. */
void aml_serialize(Aml *node, GByteArray *out);
void aml_free(Aml *node);

/* ---- encoding primitives (exposed for tests and table code) ---- */

/* PkgLength encoding of a raw value (1-4 bytes, value < 2^28), as used for
 * field widths.  */
void aml_encode_pkglen_raw(GByteArray *out, uint32_t value);
/* A package's PkgLength: counts itself, so the byte count is chosen for
 * body_len plus the length bytes. */
void aml_encode_pkglen(GByteArray *out, uint32_t body_len);
/* NameString: "\\_SB.PCI0", "^^FOO", "COM1", "\\" (root alone).  Segments
 * shorter than 4 characters are padded with '_'. */
void aml_encode_name_string(GByteArray *out, const char *path);

/* ---- data ---- */

/* Integer in the smallest encoding: Zero, One, Ones, Byte/Word/DWord/QWord. */
Aml *aml_int(uint64_t value);
/* EISA ID ("PNP0501") compressed to a DWord, as _HID expects. */
Aml *aml_eisaid(const char *id);
Aml *aml_string(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Buffer with fixed contents; a NULL data with len > 0 gives zeros. */
Aml *aml_buffer(const uint8_t *data, size_t len);
/* Package: elements are appended with aml_append (at most 255). */
Aml *aml_package(void);
/* A reference to a named object (NameString as a term). */
Aml *aml_name(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
Aml *aml_local(unsigned n); /* Local0-7 */
Aml *aml_arg(unsigned n); /* Arg0-6 */

/* ---- named objects and blocks ---- */

/* Name (name, value) */
Aml *aml_name_decl(const char *name, Aml *value);
Aml *aml_scope(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
Aml *aml_device(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

typedef enum AmlMethodFlags {
    AML_NOTSERIALIZED = 0,
    AML_SERIALIZED = 1,
} AmlMethodFlags;

Aml *aml_method(const char *name, unsigned arg_count, AmlMethodFlags flags);

typedef enum AmlRegionSpace {
    AML_SYSTEM_MEMORY = 0x00,
    AML_SYSTEM_IO = 0x01,
} AmlRegionSpace;

/* OperationRegion (name, space, offset, length) */
Aml *aml_operation_region(const char *name, AmlRegionSpace space, Aml *offset, Aml *length);

typedef enum AmlFieldAccess {
    AML_ANY_ACC = 0,
    AML_BYTE_ACC = 1,
    AML_WORD_ACC = 2,
    AML_DWORD_ACC = 3,
    AML_QWORD_ACC = 4,
    AML_BUFFER_ACC = 5,
} AmlFieldAccess;

typedef enum AmlFieldLock {
    AML_NOLOCK = 0,
    AML_LOCK = 1,
} AmlFieldLock;

typedef enum AmlFieldUpdate {
    AML_PRESERVE = 0,
    AML_WRITE_AS_ONES = 1,
    AML_WRITE_AS_ZEROS = 2,
} AmlFieldUpdate;

/* Field (region, access, lock, update) { ... } filled with the three
 * functions below, in bit order. */
Aml *aml_field(const char *region, AmlFieldAccess access, AmlFieldLock lock,
               AmlFieldUpdate update);
/* A named field unit of `bits` bits at the current position. */
void aml_field_entry(Aml *field, const char *name, unsigned bits);
/* Skip `bits` bits (an unnamed, reserved field unit). */
void aml_field_reserve(Aml *field, unsigned bits);
/* ASL's Offset (byte_offset): skip forward to a byte offset. */
void aml_field_offset(Aml *field, unsigned byte_offset);

/* Mutex (name, sync_level) */
Aml *aml_mutex(const char *name, unsigned sync_level);
/* Acquire (mutex, timeout_ms); 0xffff waits forever. */
Aml *aml_acquire(Aml *mutex, uint16_t timeout_ms);
Aml *aml_release(Aml *mutex);

/* CreateDWordField / CreateQWordField (buffer, byte_index, name) */
Aml *aml_create_dword_field(Aml *buffer, Aml *byte_index, const char *name);
Aml *aml_create_qword_field(Aml *buffer, Aml *byte_index, const char *name);

/* ---- statements ---- */

Aml *aml_return(Aml *value);
/* Store (source, destination) */
Aml *aml_store(Aml *source, Aml *destination);
Aml *aml_if(Aml *predicate);
/* Must directly follow its If in the same parent. */
Aml *aml_else(void);
Aml *aml_while(Aml *predicate);
Aml *aml_notify(Aml *object, Aml *value);
/* A method call: name, then its arguments, ending with NULL. */
Aml *aml_call(const char *method, ...) G_GNUC_NULL_TERMINATED;

/* ---- expressions ---- */

Aml *aml_lequal(Aml *a, Aml *b);
Aml *aml_lless(Aml *a, Aml *b);
Aml *aml_lgreater(Aml *a, Aml *b);
Aml *aml_land(Aml *a, Aml *b);
Aml *aml_lor(Aml *a, Aml *b);
Aml *aml_lnot(Aml *a);
/* Binary operators store into `target` when it is not NULL. */
Aml *aml_and(Aml *a, Aml *b, Aml *target);
Aml *aml_or(Aml *a, Aml *b, Aml *target);
Aml *aml_add(Aml *a, Aml *b, Aml *target);
Aml *aml_subtract(Aml *a, Aml *b, Aml *target);
Aml *aml_shiftleft(Aml *a, Aml *count, Aml *target);
Aml *aml_shiftright(Aml *a, Aml *count, Aml *target);
Aml *aml_increment(Aml *target);
Aml *aml_decrement(Aml *target);
Aml *aml_to_integer(Aml *value, Aml *target);

/* ---- resource templates (_CRS) ---- */

/* ResourceTemplate () { ... }: a Buffer whose descriptors are appended
 * with aml_append and which ends with an EndTag when encoded. */
Aml *aml_resource_template(void);

/* IO (Decode16, min, max, alignment, length) */
Aml *aml_io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
/* IRQNoFlags () { irq }: edge, active high, exclusive; irq 0-15. */
Aml *aml_irq_no_flags(unsigned irq);

typedef enum AmlInterruptFlags {
    AML_INT_CONSUMER = 1u << 0,
    AML_INT_EDGE = 1u << 1, /* else level */
    AML_INT_ACTIVE_LOW = 1u << 2, /* else active high */
    AML_INT_SHARED = 1u << 3, /* else exclusive */
    AML_INT_WAKE = 1u << 4,
} AmlInterruptFlags;

/* Interrupt (...) { gsi }: the extended interrupt descriptor. */
Aml *aml_interrupt(AmlInterruptFlags flags, uint32_t gsi);
/* Memory32Fixed (ReadWrite or ReadOnly, base, length) */
Aml *aml_memory32_fixed(uint32_t base, uint32_t length, bool read_write);

typedef enum AmlMemoryCaching {
    AML_NON_CACHEABLE = 0,
    AML_CACHEABLE = 1,
    AML_WRITE_COMBINING = 2,
    AML_PREFETCHABLE = 3,
} AmlMemoryCaching;

/* The fields of DWordMemory/QWordMemory (ResourceConsumer/Producer,
 * PosDecode/SubDecode, MinFixed, MaxFixed, caching, ReadWrite, ...). */
typedef struct AmlMemoryRange {
    bool producer;
    bool subtractive_decode;
    bool min_fixed;
    bool max_fixed;
    AmlMemoryCaching caching;
    bool read_write;
    uint64_t granularity;
    uint64_t min;
    uint64_t max;
    uint64_t translation;
    uint64_t length;
} AmlMemoryRange;

Aml *aml_dword_memory(const AmlMemoryRange *range);
Aml *aml_qword_memory(const AmlMemoryRange *range);

/* Byte offsets of the range fields inside the two descriptors, for
 * CreateDWordField/CreateQWordField on a _CRS buffer that is filled in at
 * run time (the descriptor being the first in its template). */
enum {
    AML_DWORD_MEMORY_MIN = 10,
    AML_DWORD_MEMORY_MAX = 14,
    AML_DWORD_MEMORY_LENGTH = 22,
    AML_QWORD_MEMORY_MIN = 14,
    AML_QWORD_MEMORY_MAX = 22,
    AML_QWORD_MEMORY_LENGTH = 38,
};
