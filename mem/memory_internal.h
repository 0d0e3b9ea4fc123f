/* What mem/ files share with each other and nobody else: the global memory
 * lock and the address-space hooks a commit runs. */
#pragma once

#include <glib.h>

#include "mem/address_space.h"

/* The lock every mutation of the region tree, the address-space list and
 * the listener lists runs under.  Recursive, because listeners may call
 * back into the memory API.  memory_region_transaction_begin() takes it and
 * the matching commit releases it. */
void memory_lock(void);
void memory_unlock(void);

/* Ask the outermost commit to re-render every address space. */
void memory_region_update_pending(void);

/* Re-render every address space, notify listeners, swap the views.
 * Called with the lock held at the outermost commit. */
void address_spaces_commit(void);

/* All address spaces, in creation order (lock held). */
GPtrArray *address_spaces_all(void);
