/* The tests selected with test=NAME on the command line. */
#ifndef TESTS_H
#define TESTS_H

void run_test(const char *name) __attribute__((noreturn));

/* In their own files: fw_cfg.c, acpi.c. Each ends in pass() or fail(). */
void test_fwcfg(void) __attribute__((noreturn));
void test_acpi(void) __attribute__((noreturn));
void test_poweroff(void) __attribute__((noreturn));

#endif
