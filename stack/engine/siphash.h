/*
 * SipHash-2-4, a keyed hash: the pseudo-random function F() that RFC 6528
 * (ISNs) and RFC 6056 (ephemeral ports) ask for.
 */
#ifndef TT_SIPHASH_H
#define TT_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t tt_siphash24(const uint8_t key[16], const uint8_t *msg, size_t len);

#endif
