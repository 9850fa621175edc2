/*
 * IPv4 header parsing and building (RFC 791), and ICMP echo (RFC 792).
 * Stateless: no allocation, no engine state. Addresses in host byte order.
 */
#ifndef TT_IPV4_H
#define TT_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPV4_HDR_LEN 20
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IPV4_TTL 64

struct ipv4_hdr {
    uint32_t src, dst;
    uint8_t proto;
    uint8_t ttl;
    uint8_t tos;
    uint16_t id;
    uint16_t hdr_len;   /* IHL * 4 */
    uint16_t total_len; /* from the header; <= the buffer's length */
    const uint8_t *payload;
    size_t payload_len; /* total_len - hdr_len; bytes past total_len are ignored */
};

enum ipv4_result {
    IPV4_OK = 0,
    IPV4_ERR_TRUNC = -1,    /* shorter than a header, or than total_len */
    IPV4_ERR_VERSION = -2,  /* not 4 */
    IPV4_ERR_HDRLEN = -3,   /* IHL < 5, or past total_len */
    IPV4_ERR_CSUM = -4,     /* header checksum */
    IPV4_ERR_FRAGMENT = -5, /* MF set or a fragment offset: we do not reassemble */
};

/* Validates version, IHL, total length, header checksum; refuses fragments. */
int tt_ipv4_parse(const uint8_t *p, size_t len, struct ipv4_hdr *h);

/* Writes a 20-byte header with TTL 64, DF, and its checksum, at p. */
void tt_ipv4_build(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t payload_len,
                   uint16_t id);
/* Sets the TOS byte of a header tt_ipv4_build() wrote, and its checksum again. */
void tt_ipv4_set_tos(uint8_t *p, uint8_t tos);

/*
 * Given a valid echo request (ICMP type 8, checksum right) in ip, writes the
 * whole reply datagram (IP + ICMP) into out, of capacity cap. Returns its
 * length, or 0 when ip is not an echo request we answer, or it does not fit.
 */
size_t tt_icmp_echo_reply(const struct ipv4_hdr *ip, uint8_t *out, size_t cap, uint16_t id);

enum icmp_result {
    ICMP_ECHO_REQUEST = 0,
    ICMP_OTHER = 1,      /* valid, but not a request we answer */
    ICMP_ERR_TRUNC = -1, /* shorter than 8 bytes */
    ICMP_ERR_CSUM = -2,
};
/* Classifies an ICMP message carried in ip. */
int tt_icmp_classify(const struct ipv4_hdr *ip);

#endif
