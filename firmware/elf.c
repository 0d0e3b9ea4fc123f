/* Bounds-checked ELF32/ELF64 reader and PT_LOAD loader. */
#include "firmware/elf.h"

#include <string.h>

#include "mem/le_bytes.h"

#define ELF_IDENT_SIZE 16
#define ELF_CLASS_32 1
#define ELF_CLASS_64 2
#define ELF_DATA_LSB 1
#define ELF_VERSION_CURRENT 1
#define ELF_ET_EXEC 2
#define ELF_ET_DYN 3

#define ELF32_EHDR_SIZE 52
#define ELF64_EHDR_SIZE 64
#define ELF32_PHDR_SIZE 32
#define ELF64_PHDR_SIZE 56
#define ELF32_SHDR_SIZE 40
#define ELF64_SHDR_SIZE 64
#define ELF_NOTE_HEADER_SIZE 12

G_DEFINE_QUARK(ferry-elf-error, elf_error)
#define ELF_ERROR elf_error_quark()

bool elf_has_magic(const uint8_t *data, size_t size)
{
    return size >= 4 && memcmp(data, "\x7f" "ELF", 4) == 0;
}

/* Whether [offset, offset + len) lies inside a file of `size` bytes,
 * without overflowing. */
static bool range_in_file(uint64_t offset, uint64_t len, size_t size)
{
    return offset <= size && len <= size - offset;
}

/* The file-header fields both classes share, at class-dependent offsets. */
typedef struct ElfTables {
    uint64_t phoff, shoff;
    uint16_t phentsize, phnum, shentsize, shnum;
} ElfTables;

static void read_file_header(ElfImage *image, ElfTables *t)
{
    const uint8_t *d = image->data;
    image->type = le16_load(d + 16);
    image->machine = le16_load(d + 18);
    if (image->bits == 32) {
        image->entry = le32_load(d + 24);
        t->phoff = le32_load(d + 28);
        t->shoff = le32_load(d + 32);
        t->phentsize = le16_load(d + 42);
        t->phnum = le16_load(d + 44);
        t->shentsize = le16_load(d + 46);
        t->shnum = le16_load(d + 48);
    } else {
        image->entry = le64_load(d + 24);
        t->phoff = le64_load(d + 32);
        t->shoff = le64_load(d + 40);
        t->phentsize = le16_load(d + 54);
        t->phnum = le16_load(d + 56);
        t->shentsize = le16_load(d + 58);
        t->shnum = le16_load(d + 60);
    }
}

static ElfProgramHeader read_program_header(const ElfImage *image, const uint8_t *p)
{
    ElfProgramHeader ph;
    if (image->bits == 32) {
        ph = (ElfProgramHeader){
            .type = le32_load(p + 0),
            .offset = le32_load(p + 4),
            .vaddr = le32_load(p + 8),
            .paddr = le32_load(p + 12),
            .filesz = le32_load(p + 16),
            .memsz = le32_load(p + 20),
            .flags = le32_load(p + 24),
            .align = le32_load(p + 28),
        };
    } else {
        ph = (ElfProgramHeader){
            .type = le32_load(p + 0),
            .flags = le32_load(p + 4),
            .offset = le64_load(p + 8),
            .vaddr = le64_load(p + 16),
            .paddr = le64_load(p + 24),
            .filesz = le64_load(p + 32),
            .memsz = le64_load(p + 40),
            .align = le64_load(p + 48),
        };
    }
    return ph;
}

static ElfSectionHeader read_section_header(const ElfImage *image, const uint8_t *p)
{
    ElfSectionHeader sh;
    if (image->bits == 32) {
        sh = (ElfSectionHeader){
            .type = le32_load(p + 4),
            .offset = le32_load(p + 16),
            .size = le32_load(p + 20),
            .align = le32_load(p + 32),
        };
    } else {
        sh = (ElfSectionHeader){
            .type = le32_load(p + 4),
            .offset = le64_load(p + 24),
            .size = le64_load(p + 32),
            .align = le64_load(p + 48),
        };
    }
    return sh;
}

/* Check a header table of `num` entries of `entsize` bytes (at least
 * `min_entsize`) at `offset` lies inside the file. */
static bool check_table(const ElfImage *image, const char *what, uint64_t offset, uint16_t num,
                        uint16_t entsize, unsigned min_entsize, GError **errp)
{
    if (num == 0) {
        return true;
    }
    if (entsize < min_entsize) {
        g_set_error(errp, ELF_ERROR, 0, "ELF %s entries are %u bytes, expected at least %u", what,
                    entsize, min_entsize);
        return false;
    }
    /* num and entsize are 16-bit, so the product cannot overflow. */
    uint64_t len = (uint64_t)num * entsize;
    if (!range_in_file(offset, len, image->size)) {
        g_set_error(errp, ELF_ERROR, 0,
                    "truncated ELF file: %s table at offset 0x%" G_GINT64_MODIFIER "x (+%" G_GUINT64_FORMAT
                    " bytes) extends past the end of the file (%zu bytes)",
                    what, offset, len, image->size);
        return false;
    }
    return true;
}

bool elf_parse(ElfImage *image, const uint8_t *data, size_t size, GError **errp)
{
    memset(image, 0, sizeof(*image));
    image->data = data;
    image->size = size;

    if (!elf_has_magic(data, size)) {
        g_set_error(errp, ELF_ERROR, 0, "not an ELF file");
        return false;
    }
    if (size < ELF_IDENT_SIZE) {
        g_set_error(errp, ELF_ERROR, 0, "truncated ELF header (%zu bytes)", size);
        return false;
    }
    unsigned elf_class = data[4];
    if (elf_class != ELF_CLASS_32 && elf_class != ELF_CLASS_64) {
        g_set_error(errp, ELF_ERROR, 0, "unknown ELF class %u", elf_class);
        return false;
    }
    if (data[5] != ELF_DATA_LSB) {
        g_set_error(errp, ELF_ERROR, 0, "ELF file is not little-endian");
        return false;
    }
    if (data[6] != ELF_VERSION_CURRENT) {
        g_set_error(errp, ELF_ERROR, 0, "unknown ELF version %u", data[6]);
        return false;
    }
    image->bits = elf_class == ELF_CLASS_32 ? 32 : 64;
    size_t ehdr_size = image->bits == 32 ? ELF32_EHDR_SIZE : ELF64_EHDR_SIZE;
    if (size < ehdr_size) {
        g_set_error(errp, ELF_ERROR, 0, "truncated ELF%u header (%zu of %zu bytes)", image->bits,
                    size, ehdr_size);
        return false;
    }

    ElfTables t;
    read_file_header(image, &t);
    if (image->type != ELF_ET_EXEC && image->type != ELF_ET_DYN) {
        g_set_error(errp, ELF_ERROR, 0, "ELF file is not an executable (e_type %u)", image->type);
        return false;
    }
    if (image->machine != ELF_EM_386 && image->machine != ELF_EM_X86_64) {
        g_set_error(errp, ELF_ERROR, 0, "ELF file is for machine %u, not x86", image->machine);
        return false;
    }
    unsigned phdr_size = image->bits == 32 ? ELF32_PHDR_SIZE : ELF64_PHDR_SIZE;
    unsigned shdr_size = image->bits == 32 ? ELF32_SHDR_SIZE : ELF64_SHDR_SIZE;
    if (!check_table(image, "program header", t.phoff, t.phnum, t.phentsize, phdr_size, errp) ||
        !check_table(image, "section header", t.shoff, t.shoff ? t.shnum : 0, t.shentsize,
                     shdr_size, errp)) {
        return false;
    }

    image->phdrs = g_array_sized_new(FALSE, FALSE, sizeof(ElfProgramHeader), t.phnum);
    for (unsigned i = 0; i < t.phnum; i++) {
        ElfProgramHeader ph = read_program_header(image, data + t.phoff + (uint64_t)i * t.phentsize);
        g_array_append_val(image->phdrs, ph);
    }
    image->shdrs = g_array_new(FALSE, FALSE, sizeof(ElfSectionHeader));
    for (unsigned i = 0; t.shoff && i < t.shnum; i++) {
        ElfSectionHeader sh = read_section_header(image, data + t.shoff + (uint64_t)i * t.shentsize);
        g_array_append_val(image->shdrs, sh);
    }
    return true;
}

void elf_image_clear(ElfImage *image)
{
    if (image->phdrs) {
        g_array_unref(image->phdrs);
    }
    if (image->shdrs) {
        g_array_unref(image->shdrs);
    }
    memset(image, 0, sizeof(*image));
}

/* Walk one note area [offset, offset+size) of the file.  A malformed note
 * ends the walk: it cannot be the note we want. */
static bool find_note_in_area(const ElfImage *image, uint64_t offset, uint64_t size, uint64_t align,
                              const char *owner, uint32_t type, const uint8_t **desc,
                              uint32_t *desc_size)
{
    if (!range_in_file(offset, size, image->size)) {
        return false;
    }
    /* Notes are padded to 4 bytes, except in areas aligned to 8 (GNU
     * property notes in ELF64), which pad to 8. */
    uint64_t pad = align == 8 ? 8 : 4;
    size_t owner_size = strlen(owner) + 1;
    const uint8_t *p = image->data + offset;
    uint64_t left = size;

    while (left >= ELF_NOTE_HEADER_SIZE) {
        uint64_t name_size = le32_load(p);
        uint64_t dsize = le32_load(p + 4);
        uint32_t note_type = le32_load(p + 8);
        /* 32-bit sizes padded in 64-bit arithmetic cannot overflow. */
        uint64_t name_padded = (name_size + pad - 1) & ~(pad - 1);
        uint64_t desc_padded = (dsize + pad - 1) & ~(pad - 1);
        uint64_t body = left - ELF_NOTE_HEADER_SIZE;
        if (name_padded > body || dsize > body - name_padded) {
            return false;
        }
        const uint8_t *name = p + ELF_NOTE_HEADER_SIZE;
        if (note_type == type && name_size == owner_size && memcmp(name, owner, owner_size) == 0) {
            *desc = name + name_padded;
            *desc_size = (uint32_t)dsize;
            return true;
        }
        uint64_t step = ELF_NOTE_HEADER_SIZE + name_padded + desc_padded;
        if (step >= left) {
            return false;
        }
        p += step;
        left -= step;
    }
    return false;
}

bool elf_find_note(const ElfImage *image, const char *owner, uint32_t type, const uint8_t **desc,
                   uint32_t *desc_size)
{
    for (guint i = 0; i < image->phdrs->len; i++) {
        const ElfProgramHeader *ph = &g_array_index(image->phdrs, ElfProgramHeader, i);
        if (ph->type == ELF_PT_NOTE &&
            find_note_in_area(image, ph->offset, ph->filesz, ph->align, owner, type, desc,
                              desc_size)) {
            return true;
        }
    }
    for (guint i = 0; i < image->shdrs->len; i++) {
        const ElfSectionHeader *sh = &g_array_index(image->shdrs, ElfSectionHeader, i);
        if (sh->type == ELF_SHT_NOTE &&
            find_note_in_area(image, sh->offset, sh->size, sh->align, owner, type, desc,
                              desc_size)) {
            return true;
        }
    }
    return false;
}

static int compare_by_paddr(gconstpointer a, gconstpointer b)
{
    const ElfProgramHeader *pa = *(const ElfProgramHeader *const *)a;
    const ElfProgramHeader *pb = *(const ElfProgramHeader *const *)b;
    return pa->paddr < pb->paddr ? -1 : pa->paddr > pb->paddr;
}

static bool is_loaded(const ElfProgramHeader *ph)
{
    return ph->type == ELF_PT_LOAD && ph->memsz > 0;
}

bool elf_check_load_segments(const ElfImage *image, GError **errp)
{
    g_autoptr(GPtrArray) loads = g_ptr_array_new();

    for (guint i = 0; i < image->phdrs->len; i++) {
        ElfProgramHeader *ph = &g_array_index(image->phdrs, ElfProgramHeader, i);
        if (!is_loaded(ph)) {
            continue;
        }
        if (!range_in_file(ph->offset, ph->filesz, image->size)) {
            g_set_error(errp, ELF_ERROR, 0,
                        "segment %u: file range [0x%" G_GINT64_MODIFIER "x, +0x%" G_GINT64_MODIFIER
                        "x) lies outside the file (%zu bytes); truncated file?",
                        i, ph->offset, ph->filesz, image->size);
            return false;
        }
        if (ph->filesz > ph->memsz) {
            g_set_error(errp, ELF_ERROR, 0,
                        "segment %u: p_filesz 0x%" G_GINT64_MODIFIER "x is larger than p_memsz 0x%"
                        G_GINT64_MODIFIER "x", i, ph->filesz, ph->memsz);
            return false;
        }
        if (ph->memsz > UINT64_MAX - ph->paddr) {
            g_set_error(errp, ELF_ERROR, 0,
                        "segment %u: [0x%" G_GINT64_MODIFIER "x, +0x%" G_GINT64_MODIFIER
                        "x) wraps around the address space", i, ph->paddr, ph->memsz);
            return false;
        }
        g_ptr_array_add(loads, ph);
    }
    if (loads->len == 0) {
        g_set_error(errp, ELF_ERROR, 0, "ELF file has no loadable segments");
        return false;
    }
    g_ptr_array_sort(loads, compare_by_paddr);
    for (guint i = 1; i < loads->len; i++) {
        const ElfProgramHeader *prev = loads->pdata[i - 1];
        const ElfProgramHeader *cur = loads->pdata[i];
        if (cur->paddr < prev->paddr + prev->memsz) {
            g_set_error(errp, ELF_ERROR, 0,
                        "segments overlap: [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                        "x) and [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER "x)",
                        prev->paddr, prev->paddr + prev->memsz, cur->paddr,
                        cur->paddr + cur->memsz);
            return false;
        }
    }
    return true;
}

bool elf_load_segments(const ElfImage *image, AddressSpace *as, GError **errp)
{
    for (guint i = 0; i < image->phdrs->len; i++) {
        const ElfProgramHeader *ph = &g_array_index(image->phdrs, ElfProgramHeader, i);
        if (!is_loaded(ph)) {
            continue;
        }
        /* Re-checked here so that this function alone never reads outside
         * the file, whatever the caller did. */
        if (!range_in_file(ph->offset, ph->filesz, image->size) || ph->filesz > ph->memsz ||
            ph->memsz > UINT64_MAX - ph->paddr) {
            g_set_error(errp, ELF_ERROR, 0, "segment %u is malformed", i);
            return false;
        }
        uint8_t *dst = address_space_ram_ptr(as, ph->paddr, ph->memsz, false);
        if (!dst) {
            g_set_error(errp, ELF_ERROR, 0,
                        "segment %u [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                        "x) is not inside guest RAM",
                        i, ph->paddr, ph->paddr + ph->memsz);
            return false;
        }
        memcpy(dst, image->data + ph->offset, ph->filesz);
        memset(dst + ph->filesz, 0, ph->memsz - ph->filesz);
    }
    return true;
}

uint64_t elf_vaddr_to_paddr(const ElfImage *image, uint64_t vaddr)
{
    for (guint i = 0; i < image->phdrs->len; i++) {
        const ElfProgramHeader *ph = &g_array_index(image->phdrs, ElfProgramHeader, i);
        if (is_loaded(ph) && vaddr >= ph->vaddr && vaddr - ph->vaddr < ph->memsz) {
            return ph->paddr + (vaddr - ph->vaddr);
        }
    }
    return vaddr;
}
