/* Ring 3: where the heavy work runs (it executes natively on this host). */
#ifndef USER_H
#define USER_H

#include "guest.h"

typedef uint64_t (*user_fn)(uint64_t arg);

void user_init(void);
/* Runs fn(arg) in ring 3 with interrupts off and returns its result. */
uint64_t user_run(user_fn fn, uint64_t arg);

#endif
