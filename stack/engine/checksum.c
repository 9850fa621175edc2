/*
 * The Internet checksum: the one's complement of the one's complement sum of
 * 16-bit big-endian words (RFC 1071 1 and 2), and the TCP pseudo-header's share
 * of it (RFC 9293 3.1). Used by IPv4, ICMP and TCP, both to verify and to fill
 * in. No state. It does not do incremental updates (RFC 1624): every packet we
 * build is small enough to sum again.
 */
#include "checksum.h"

#include <string.h>

/*
 * RFC 1071 2(B) and 2(C): one's complement addition is independent of byte
 * order and can defer its carries. So the bytes are summed as native 64-bit
 * loads (memcpy: no alignment assumption) split into 32-bit halves, in two
 * accumulators, folded to 16 bits, and byte-swapped once at the end on a
 * little-endian host to give the big-endian sum. A 64-bit accumulator cannot
 * overflow for any buffer we could hold. A trailing odd byte counts as the
 * high half of a word padded with zero, so only the last piece of a message
 * fed in several calls may have an odd length.
 */
static uint32_t fold16(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}

static uint32_t sum_bytes(const uint8_t *p, size_t len)
{
    uint64_t a = 0, b = 0, x, y;
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        memcpy(&x, p + i, 8);
        memcpy(&y, p + i + 8, 8);
        a += (x & 0xffffffffu) + (x >> 32);
        b += (y & 0xffffffffu) + (y >> 32);
    }
    for (; i + 2 <= len; i += 2) {
        uint16_t h;
        memcpy(&h, p + i, 2);
        a += h;
    }
    if (i < len) {
        uint8_t last[2] = {p[i], 0}; /* the high half of a zero-padded word */
        uint16_t h;
        memcpy(&h, last, 2);
        a += h;
    }
    uint32_t s = fold16(a + (b & 0xffffffffu) + (b >> 32));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = ((s & 0xff) << 8) | (s >> 8);
#endif
    return s;
}

uint32_t tt_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    return fold16((uint64_t)sum + sum_bytes(p, len));
}

/* Linux ip_fast_csum(): the header without options is five 32-bit words,
 * summed at once as sum_bytes() would; about a fifth of its instructions
 * for the header every packet in and out carries (issue 15). */
uint16_t tt_csum_ipv4_hdr(const uint8_t *p)
{
    uint64_t acc = 0;
    for (int i = 0; i < 20; i += 4) {
        uint32_t w;
        memcpy(&w, p + i, 4);
        acc += w;
    }
    uint32_t s = fold16(acc);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = ((s & 0xff) << 8) | (s >> 8);
#endif
    return (uint16_t)~s;
}

uint16_t tt_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* RFC 9293 3.1: source, destination, zero + protocol, TCP length. */
uint32_t tt_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}
