/*
 * TCP header and options: parse and build (RFC 9293 3.1, RFC 7323 options
 * MSS/WS/TS, RFC 2018 SACK). Stateless. A parsed segment is `struct seg`,
 * whose fields are named as in RFC 9293 (SEG.SEQ, SEG.ACK, ...).
 */
#ifndef TT_TCP_WIRE_H
#define TT_TCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_HDR_LEN 20
#define TCP_MAX_OPT_LEN 40

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TCP_SACK_MAX 4

struct tcp_sack_block {
    uint32_t left, right;
};

struct tcp_opts {
    bool mss_ok, ws_ok, sack_ok, ts_ok;
    uint16_t mss;
    uint8_t ws;
    uint32_t ts_val, ts_ecr;
    uint8_t sack_count; /* SACK blocks (kind 5), at most TCP_SACK_MAX */
    struct tcp_sack_block sack[TCP_SACK_MAX];
    bool md5; /* an MD5 signature option (RFC 2385) is there; never sent but by tests */
};

struct seg {
    uint32_t saddr, daddr; /* host order */
    uint16_t sport, dport;
    uint32_t seq, ack; /* SEG.SEQ, SEG.ACK */
    uint8_t flags;     /* TCP_SYN | TCP_ACK ... */
    bool syn_stripped; /* a SYN-ACK taken as an ACK: its window is not scaled */
    uint16_t wnd;      /* SEG.WND as on the wire, unscaled */
    uint16_t up;       /* urgent pointer */
    uint8_t tos;       /* the IPv4 TOS byte: IP_TOS and the ECN field (RFC 3168 5) */
    struct tcp_opts opt;
    const uint8_t *data;
    uint32_t len;      /* payload bytes; SEG.LEN adds SYN and FIN */
    uint8_t hlen;      /* TCP header bytes of a received segment, options included */
    uint16_t gso_size; /* received: the segment size of the GSO/GRO packet it came in; 0 none */
};

enum tcp_parse_result {
    TCP_OK = 0,
    TCP_ERR_TRUNC = -1, /* shorter than 20 bytes */
    TCP_ERR_DOFF = -2,  /* data offset < 5 or past the segment */
    TCP_ERR_CSUM = -3,  /* checksum with the pseudo-header */
    TCP_ERR_OPTS = -4,  /* an option's length is 0, 1, overruns, or a known one is the wrong size */
};

/* SEG.LEN: payload plus one for SYN and one for FIN (RFC 9293 3.4). */
static inline uint32_t seg_len(const struct seg *s)
{
    return s->len + ((s->flags & TCP_SYN) ? 1 : 0) + ((s->flags & TCP_FIN) ? 1 : 0);
}

/*
 * Parses the TCP segment p[0..len) carried from src to dst, checksum
 * included. s->data points into p.
 */
int tt_tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst, struct seg *s);
/* The same, the checksum left unsummed: the device vouched for it (engine.c). */
int tt_tcp_parse_csum_known(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
                            struct seg *s);

/* Parses options p[0..len) into o. Returns TCP_OK or TCP_ERR_OPTS. */
int tt_tcp_parse_options(const uint8_t *p, size_t len, struct tcp_opts *o);

/* Bytes the options of o take on the wire (a multiple of 4, <= 40). */
size_t tt_tcp_options_len(const struct tcp_opts *o);

/*
 * Builds a whole IPv4 datagram carrying s (its options from s->opt: mss_ok,
 * ws_ok, sack_ok, ts_ok, sack_count; s->len bytes of s->data) into out, of
 * capacity cap, with both checksums. id is the IP identification. Returns the
 * datagram's length, or 0 when it does not fit.
 */
size_t tt_tcp_build(uint8_t *out, size_t cap, const struct seg *s, uint16_t id);
/* The same with a partial checksum, for a device that completes it (Linux
 * CHECKSUM_PARTIAL, virtio's NEEDS_CSUM with csum_start 20, csum_offset 16):
 * the field holds the pseudo-header's sum only. */
size_t tt_tcp_build_partial(uint8_t *out, size_t cap, const struct seg *s, uint16_t id);

#endif
