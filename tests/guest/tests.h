/* The tests selected with test=NAME on the command line. */
#ifndef TESTS_H
#define TESTS_H

void run_test(const char *name) __attribute__((noreturn));

#endif
