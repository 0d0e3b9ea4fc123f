/* Ending the run: isa-debug-exit, then i8042 reset, then halt. */
#include "boot_info.h"
#include "guest.h"

#define DEBUG_EXIT_PORT 0xf4
#define I8042_COMMAND   0x64
#define I8042_PULSE_RESET 0xfe

void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

void i8042_reset(void)
{
    outb(I8042_COMMAND, I8042_PULSE_RESET);
}

/* The host exits with (code << 1) | 1: 1 for PASS, 3 for FAIL. */
void guest_exit(bool passed)
{
    outl(DEBUG_EXIT_PORT, passed ? 0 : 1);
    i8042_reset();
    halt_forever();
}

/* stay=1 keeps a passed guest halted instead of ending the run, so that
 * a test driving the VMM from outside can still query it (and quit it). */
void pass(const char *test)
{
    printf("PASS: %s\n", test);
    if (cmdline_get_u64("stay", 0))
        halt_forever();
    guest_exit(true);
}
