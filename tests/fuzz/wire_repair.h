/*
 * Repairs of a fuzzed IPv4 datagram, chosen by a mode byte, shared by the
 * stateless fuzz targets (fuzz_wire, fuzz_fault). Random bytes almost never
 * carry right lengths and checksums; the fuzzer picks which to make right so
 * that mutants still reach the parsers behind those checks, and flips the
 * bits to try broken ones.
 */
#ifndef TT_FUZZ_WIRE_REPAIR_H
#define TT_FUZZ_WIRE_REPAIR_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_REPAIR_TOTLEN 0x01  /* total length := the datagram's length */
#define WIRE_REPAIR_VERSION 0x02 /* version := 4, and no fragment bits */
#define WIRE_REPAIR_IPCSUM 0x04  /* IP header checksum made right */
#define WIRE_REPAIR_L4CSUM 0x08  /* TCP (pseudo-header included) or ICMP checksum made right */

/* Applies the repairs of mode to the datagram p[0..len), in the order above. */
void wire_repair(uint8_t *p, size_t len, uint8_t mode);

#endif
