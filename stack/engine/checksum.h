/*
 * The Internet checksum (RFC 1071) and the TCP pseudo-header sum (RFC 9293
 * 3.1). Stateless.
 */
#ifndef TT_CHECKSUM_H
#define TT_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds len bytes at p (network order) to a running 32-bit sum. */
uint32_t tt_csum_add(uint32_t sum, const uint8_t *p, size_t len);

/* Folds a running sum to 16 bits and complements it: the value to store. */
uint16_t tt_csum_fold(uint32_t sum);

/* The checksum field's value for a 20-byte IPv4 header (the field's own
 * bytes included: 0 verifies a received header); tt_csum_fold() of
 * tt_csum_add() over the same bytes, without the general loop. */
uint16_t tt_csum_ipv4_hdr(const uint8_t *p);

/* The pseudo-header's contribution (addresses in host order). */
uint32_t tt_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

#endif
