/*
 * The Internet checksum: the one's complement of the one's complement sum of
 * 16-bit big-endian words (RFC 1071 1 and 2), and the TCP pseudo-header's share
 * of it (RFC 9293 3.1). Used by IPv4, ICMP and TCP, both to verify and to fill
 * in. No state. It does not do incremental updates (RFC 1624): every packet we
 * build is small enough to sum again.
 */
#include "checksum.h"

/* A big-endian 32-bit word from bytes: no alignment or host-order assumption. */
static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Because 2^16 = 1 modulo 0xffff, summing big-endian 32-bit words and folding
 * later gives the same result as summing 16-bit words (RFC 1071 2(B), deferred
 * carries). A 64-bit accumulator cannot overflow for any buffer we could hold.
 * A trailing odd byte counts as the high half of a word padded with zero, so
 * only the last piece of a message fed in several calls may have an odd length.
 */
uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    uint64_t acc = sum;
    size_t i = 0;

    for (; i + 8 <= len; i += 8)
        acc += (uint64_t)load_be32(p + i) + load_be32(p + i + 4);
    for (; i + 2 <= len; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < len)
        acc += (uint32_t)p[i] << 8;
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return (uint32_t)acc;
}

uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* RFC 9293 3.1: source, destination, zero + protocol, TCP length. */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}
