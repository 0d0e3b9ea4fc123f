/* Ring 3: where the heavy work runs (it executes natively on this host). */
#ifndef USER_H
#define USER_H

#include "guest.h"

typedef uint64_t (*user_fn)(uint64_t arg);

void user_init(void);
/* Runs fn(arg) in ring 3 with interrupts off and returns its result. */
uint64_t user_run(user_fn fn, uint64_t arg);
/* Enters ring 3 (interrupts off) on stack_top and never comes back: fn must
 * not return. For an AP that only works in ring 3; see interrupts_init_ap(). */
void user_enter(user_fn fn, uint64_t arg, uint64_t stack_top) __attribute__((noreturn));

#endif
