/* C entry of the BSP: boot info, CPU tables, then the test named on the command line. */
#include "boot_info.h"
#include "interrupts.h"
#include "lapic.h"
#include "paging.h"
#include "pit.h"
#include "tests.h"
#include "user.h"

void guest_main(void) __attribute__((noreturn));

void guest_main(void)
{
    /* Copy boot info before anything can overwrite loader memory. */
    const char *err = boot_info_load();
    serial_init();
    char name[64] = "hello";        /* on the stack: never stale after a reset */
    cmdline_get("test", name, sizeof(name));
    current_test = name;
    if (err)
        fail(name, "%s", err);
    interrupts_init();
    user_init();
    paging_map_ram();
    pic_mask_all();
    lapic_enable();
    pit_init();
    run_test(name);
}
