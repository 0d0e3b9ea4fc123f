/* IDT and TSS set-up, and routing of vectors to C handlers. */
#include "interrupts.h"

struct idt_gate {
    uint16_t offset_low, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_high, reserved;
} __attribute__((packed));

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));

#define GDT_ENTRIES 8                /* entry.S: null, 5 segments, the 16-byte TSS */
#define AP_TABLES 16

extern char isr_stubs[];
extern uint64_t gdt[GDT_ENTRIES], gdt_tss[2];
const char *current_test = "boot";

static struct idt_gate idt[256] __attribute__((aligned(16)));
static interrupt_handler handlers[256];
static struct tss tss __attribute__((aligned(16)));
/* Exceptions taken in ring 3 switch to this stack. */
static uint8_t trap_stack[16384] NOINIT __attribute__((aligned(16)));

static void idt_set_gate(unsigned vector)
{
    uint64_t handler = (uint64_t)isr_stubs + 16 * vector;
    idt[vector] = (struct idt_gate){
        .offset_low = (uint16_t)handler,
        .selector = SEL_KERNEL_CODE64,
        .type_attr = 0x8e,   /* present, DPL0, 64-bit interrupt gate */
        .offset_mid = (uint16_t)(handler >> 16),
        .offset_high = (uint32_t)(handler >> 32),
    };
}

/* An AP's own GDT copy (ltr marks a TSS descriptor busy, so each CPU needs
 * its own), TSS and stack for exceptions taken in ring 3. */
struct ap_tables {
    uint64_t gdt[GDT_ENTRIES];
    struct tss tss;
    uint8_t trap_stack[8192] __attribute__((aligned(16)));
};
static struct ap_tables ap_tables[AP_TABLES] NOINIT __attribute__((aligned(16)));

static void tss_setup(struct tss *t, uint64_t *desc, uint8_t *stack_top)
{
    uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;
    memset(t, 0, sizeof(*t));
    t->rsp[0] = (uint64_t)stack_top;
    t->iomap_base = sizeof(*t);     /* no I/O bitmap: ring 3 port I/O faults */
    desc[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
              (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    desc[1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

static void tss_load(void)
{
    tss_setup(&tss, gdt_tss, trap_stack + sizeof(trap_stack));
}

static void idt_load(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void interrupts_init(void)
{
    for (unsigned v = 0; v < 256; v++)
        idt_set_gate(v);
    idt_load();
    tss_load();
}

bool interrupts_init_ap(uint32_t cpu)
{
    if (cpu == 0 || cpu > AP_TABLES)
        return false;
    struct ap_tables *t = &ap_tables[cpu - 1];
    memcpy(t->gdt, gdt, sizeof(t->gdt));
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) gdtr = { sizeof(t->gdt) - 1, (uint64_t)t->gdt };
    /* Same selectors and segments: no reload needed, only a TSS of its own. */
    __asm__ volatile("lgdt %0" : : "m"(gdtr));
    tss_setup(&t->tss, &t->gdt[SEL_TSS / 8], t->trap_stack + sizeof(t->trap_stack));
    idt_load();
    return true;
}

void interrupts_set_handler(unsigned vector, interrupt_handler handler)
{
    handlers[vector] = handler;
}

void interrupt_dispatch(struct interrupt_frame *f)
{
    if (f->vector < 256 && handlers[f->vector]) {
        handlers[f->vector](f);
        return;
    }
    fail(current_test, "unexpected %s %lu (error %lx) at rip %lx in ring %lu (cs %lx ss %lx), cr2 %lx",
         f->vector < 32 ? "exception" : "interrupt", f->vector, f->error_code,
         f->rip, f->cs & 3, f->cs, f->ss, ({ uint64_t cr2; __asm__ volatile("mov %%cr2, %0" : "=r"(cr2)); cr2; }));
}
