/* The tests selected with test=NAME on the command line. */
#ifndef TESTS_H
#define TESTS_H

#include "guest.h"

void run_test(const char *name) __attribute__((noreturn));

/* In their own files: fw_cfg.c, acpi.c, memhp.c. Each ends in pass() or fail(). */
void test_fwcfg(void) __attribute__((noreturn));
void test_acpi(void) __attribute__((noreturn));
void test_poweroff(void) __attribute__((noreturn));
void test_hotplug(void) __attribute__((noreturn));
void test_unplug(void) __attribute__((noreturn));
void test_migrate(void) __attribute__((noreturn));

/* memhp.c: the hotplug set-up (SCI, GPE, LAPIC timer at VECTOR_LAPIC_TIMER),
 * then waits for one DIMM to be plugged, checked and mapped. Honours the
 * hotplug keys (slots=, timeout=, sci=, srat=, check=). */
void memhp_wait_dimm(const char *test, uint64_t *base, uint64_t *size);

/* From ring 3, writes then checks the first and last word of every 4 KiB
 * page of [start, end) (mapped, user-accessible); on a mismatch returns
 * false with the page and the value read. */
bool mem_check_ring3(uint64_t start, uint64_t end, uint64_t *bad_addr, uint64_t *bad_value);

#endif
