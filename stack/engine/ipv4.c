/*
 * IPv4 headers (RFC 791 3.1) and ICMP echo (RFC 792, RFC 1122 3.2.2.6): the
 * checks a datagram must pass before TCP sees it, the header we put on every
 * datagram we send, and the answer to a ping. No state, no allocation.
 *
 * Deliberately left out: reassembly (fragments are refused, as a stack that
 * always sends with DF and a 1500-byte MTU never needs them), IP options
 * (accepted on input, skipped; never sent, not even echoed in a ping reply),
 * and every ICMP message other than echo request.
 */
#include "ipv4.h"

#include <string.h>

#include "bytes.h"
#include "checksum.h"

#define IPV4_FLAG_DF 0x4000
#define IPV4_FLAG_MF 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

#define ICMP_HDR_LEN 8
#define ICMP_TYPE_ECHO_REPLY 0
#define ICMP_TYPE_ECHO_REQUEST 8

/*
 * RFC 791 3.1. The lengths are checked from the outside in: the buffer must
 * hold a minimal header, then total_len bytes, and the header (IHL) must fit
 * in total_len. Bytes past total_len (link-layer padding) are ignored.
 */
int tt_ipv4_parse(const uint8_t *p, size_t len, struct ipv4_hdr *h)
{
    if (len < IPV4_HDR_LEN)
        return IPV4_ERR_TRUNC;
    if (p[0] >> 4 != 4)
        return IPV4_ERR_VERSION;
    size_t hdr_len = (size_t)(p[0] & 0x0f) * 4;
    size_t total_len = load_be16(p + 2);
    if (hdr_len < IPV4_HDR_LEN)
        return IPV4_ERR_HDRLEN;
    if (total_len > len)
        return IPV4_ERR_TRUNC;
    if (hdr_len > total_len)
        return IPV4_ERR_HDRLEN;
    uint16_t csum =
        hdr_len == IPV4_HDR_LEN ? tt_csum_ipv4_hdr(p) : tt_csum_fold(tt_csum_add(0, p, hdr_len));
    if (csum != 0)
        return IPV4_ERR_CSUM;
    /* We never reassemble: a first fragment (MF) would hand TCP a piece. */
    if (load_be16(p + 6) & (IPV4_FLAG_MF | IPV4_FRAG_OFFSET))
        return IPV4_ERR_FRAGMENT;

    h->tos = p[1];
    h->id = load_be16(p + 4);
    h->ttl = p[8];
    h->proto = p[9];
    h->src = load_be32(p + 12);
    h->dst = load_be32(p + 16);
    h->hdr_len = (uint16_t)hdr_len;
    h->total_len = (uint16_t)total_len;
    h->payload = p + hdr_len;
    h->payload_len = total_len - hdr_len;
    return IPV4_OK;
}

/*
 * DF is always set, as Linux does for TCP with path MTU discovery (RFC 1191):
 * we would rather hear that a datagram is too big than have it fragmented.
 */
void tt_ipv4_build(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t payload_len,
                   uint16_t id)
{
    p[0] = 0x45; /* version 4, IHL 5: we send no IP options */
    p[1] = 0;    /* TOS */
    store_be16(p + 2, (uint16_t)(IPV4_HDR_LEN + payload_len));
    store_be16(p + 4, id);
    store_be16(p + 6, IPV4_FLAG_DF);
    p[8] = IPV4_TTL;
    p[9] = proto;
    store_be16(p + 10, 0);
    store_be32(p + 12, src);
    store_be32(p + 16, dst);
    store_be16(p + 10, tt_csum_ipv4_hdr(p));
}

/* The TOS byte of a header tt_ipv4_build() wrote (RFC 791 3.1; IP_TOS), checksum redone. */
void tt_ipv4_set_tos(uint8_t *p, uint8_t tos)
{
    p[1] = tos;
    store_be16(p + 10, 0);
    store_be16(p + 10, tt_csum_ipv4_hdr(p));
}

/* RFC 792: the ICMP checksum covers the whole message, header and data. */
int tt_icmp_classify(const struct ipv4_hdr *ip)
{
    if (ip->proto != IP_PROTO_ICMP)
        return ICMP_OTHER;
    if (ip->payload_len < ICMP_HDR_LEN)
        return ICMP_ERR_TRUNC;
    if (tt_csum_fold(tt_csum_add(0, ip->payload, ip->payload_len)) != 0)
        return ICMP_ERR_CSUM;
    if (ip->payload[0] == ICMP_TYPE_ECHO_REQUEST && ip->payload[1] == 0)
        return ICMP_ECHO_REQUEST;
    return ICMP_OTHER;
}

/*
 * RFC 792 (Echo), RFC 1122 3.2.2.6: the reply carries the request's
 * identifier, sequence number and data unchanged, with addresses swapped.
 * The payload is moved before the header is written, so out may be the very
 * buffer the request sits in.
 */
size_t tt_icmp_echo_reply(const struct ipv4_hdr *ip, uint8_t *out, size_t cap, uint16_t id)
{
    if (tt_icmp_classify(ip) != ICMP_ECHO_REQUEST)
        return 0;
    size_t total = IPV4_HDR_LEN + ip->payload_len;
    if (total > cap || total > UINT16_MAX)
        return 0;

    uint32_t src = ip->dst, dst = ip->src;
    uint16_t icmp_len = (uint16_t)ip->payload_len;
    uint8_t *icmp = out + IPV4_HDR_LEN;
    memmove(icmp, ip->payload, icmp_len);
    icmp[0] = ICMP_TYPE_ECHO_REPLY;
    icmp[1] = 0;
    store_be16(icmp + 2, 0);
    store_be16(icmp + 2, tt_csum_fold(tt_csum_add(0, icmp, icmp_len)));
    tt_ipv4_build(out, src, dst, IP_PROTO_ICMP, icmp_len, id);
    return total;
}
