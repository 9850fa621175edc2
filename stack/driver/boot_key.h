/*
 * The ISN key for the life of the boot (docs/contract.md §2.4 item 8).
 */
#ifndef TT_BOOT_KEY_H
#define TT_BOOT_KEY_H

#include <stddef.h>
#include <stdint.h>

#define TT_BOOT_KEY_LEN 16

/*
 * Fills key with the key kept for this boot in the runtime directory
 * (/run/tuntcp/isn-key for root, $XDG_RUNTIME_DIR/tuntcp/isn-key for
 * another user), creating it on first use, and writes its path to path.
 * Returns 0, or a negative errno when no such key can be read or made
 * safely (no runtime directory, a file that is not ours or not private):
 * the caller then uses a key of its own for the run.
 */
int tt_boot_key_load(uint8_t key[TT_BOOT_KEY_LEN], char *path, size_t pathlen);

/* The same, with the key kept in dir (made 0700 if absent). */
int tt_boot_key_load_dir(const char *dir, uint8_t key[TT_BOOT_KEY_LEN], char *path, size_t pathlen);

#endif
