/*
 * libFuzzer target on the engine's stateless wire code: the Internet
 * checksum, IPv4, ICMP echo and TCP header and options (stack/engine/checksum.c,
 * ipv4.c, tcp_wire.c). fuzz_engine reaches these too, but through a program
 * that costs a whole engine per run; this target runs each datagram through
 * the parsers alone, some hundred times faster, and holds them to properties
 * a crash alone would not show:
 *
 * - tt_csum_add() agrees with a byte-at-a-time RFC 1071 sum at every alignment,
 *   and sums split at an even offset chain (RFC 1071 2(B), 2(C));
 * - tt_ipv4_parse() accepts only what RFC 791 allows, and every field it hands
 *   on lies inside the buffer;
 * - a TCP segment that parses is rebuilt by tt_tcp_build() and parses again to
 *   the same header, options (SACK blocks as far as they fit) and payload,
 *   and any single corrupted byte of the rebuilt segment is refused;
 * - an echo request gets a reply (in a new buffer and in place, the same
 *   bytes) that parses, is an echo reply, and carries the request's
 *   identifier, sequence number and data (RFC 792).
 *
 * Input: one mode byte, then the datagram. Random bytes almost never carry
 * right checksums, so bits 0-3 of the mode byte let the fuzzer repair what it
 * chooses (wire_repair.h); bit 4 takes the byte the corruption check flips
 * from the input's end; bits 5-7 place the datagram in the buffer (0..7:
 * alignment).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"
#include "checksum.h"
#include "fuzz_check.h"
#include "ipv4.h"
#include "tcp_wire.h"
#include "wire_repair.h"

#define WIRE_MAX 65535
#define ICMP_HDR 8

/* Buffers outlive a run: no allocation per input. */
static uint8_t g_in[WIRE_MAX + 8];
static uint8_t g_out[WIRE_MAX + 64];
static uint8_t g_copy[WIRE_MAX + 64];

/* ---- the checksum, against RFC 1071 done the slow way ---- */

static uint64_t ref_sum(const uint8_t *p, size_t len)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < len; i += 2)
        sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
    return sum;
}

static uint16_t ref_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint16_t ref_checksum(const uint8_t *p, size_t len)
{
    return ref_fold(ref_sum(p, len));
}

/* RFC 9293 3.1: the pseudo-header, written out, then the segment. */
static uint16_t ref_tcp_checksum(const struct ipv4_hdr *ip)
{
    uint8_t pseudo[12];

    store_be32(pseudo, ip->src);
    store_be32(pseudo + 4, ip->dst);
    pseudo[8] = 0;
    pseudo[9] = IP_PROTO_TCP;
    store_be16(pseudo + 10, (uint16_t)ip->payload_len);
    return ref_fold(ref_sum(pseudo, sizeof(pseudo)) + ref_sum(ip->payload, ip->payload_len));
}

static void check_checksum(const uint8_t *p, size_t len, uint8_t split_hint)
{
    uint16_t want = ref_checksum(p, len);

    CHECK(tt_csum_fold(tt_csum_add(0, p, len)) == want, "tt_csum_add over %zu bytes", len);
    /* Only the last piece may be odd (checksum.c): split at an even offset. */
    size_t split = len ? ((size_t)split_hint * 2) % (len + 1) : 0;
    split &= ~(size_t)1;
    uint32_t chained = tt_csum_add(tt_csum_add(0, p, split), p + split, len - split);
    CHECK(tt_csum_fold(chained) == want, "tt_csum_add split at %zu of %zu", split, len);
}

/* ---- IPv4 ---- */

static void check_ipv4_fields(const uint8_t *p, size_t len, const struct ipv4_hdr *h)
{
    CHECK(p[0] >> 4 == 4, "accepted version %u", p[0] >> 4);
    CHECK(h->hdr_len >= IPV4_HDR_LEN && h->hdr_len <= 60 && h->hdr_len % 4 == 0, "header length %u",
          h->hdr_len);
    CHECK(h->hdr_len <= h->total_len && h->total_len <= len, "total length %u of %zu", h->total_len,
          len);
    CHECK(h->payload == p + h->hdr_len && h->payload_len == (size_t)h->total_len - h->hdr_len,
          "payload outside the datagram");
    CHECK((load_be16(p + 6) & 0x3fff) == 0, "accepted a fragment");
    CHECK(ref_checksum(p, h->hdr_len) == 0, "accepted a bad header checksum");
}

/* ---- TCP: parse, rebuild, parse again ---- */

static void check_same_options(const struct tcp_opts *a, const struct tcp_opts *b)
{
    CHECK(a->mss_ok == b->mss_ok && (!a->mss_ok || a->mss == b->mss), "MSS changed");
    CHECK(a->ws_ok == b->ws_ok && (!a->ws_ok || a->ws == b->ws), "window scale changed");
    CHECK(a->ws <= 14, "window scale %u past RFC 7323's 14", a->ws);
    CHECK(a->sack_ok == b->sack_ok, "SACK-permitted changed");
    CHECK(a->ts_ok == b->ts_ok && (!a->ts_ok || (a->ts_val == b->ts_val && a->ts_ecr == b->ts_ecr)),
          "timestamps changed");
    /* tt_tcp_build sends as many blocks as fit after the other options. */
    CHECK(b->sack_count <= a->sack_count, "SACK blocks appeared");
    for (unsigned i = 0; i < b->sack_count; i++)
        CHECK(a->sack[i].left == b->sack[i].left && a->sack[i].right == b->sack[i].right,
              "SACK block %u changed", i);
}

static void check_same_segment(const struct seg *a, const struct seg *b)
{
    CHECK(a->saddr == b->saddr && a->daddr == b->daddr && a->sport == b->sport &&
              a->dport == b->dport,
          "addresses or ports changed");
    CHECK(a->seq == b->seq && a->ack == b->ack && a->flags == b->flags && a->wnd == b->wnd &&
              a->up == b->up,
          "header changed");
    CHECK(a->len == b->len && memcmp(a->data, b->data, a->len) == 0, "payload changed");
    check_same_options(&a->opt, &b->opt);
}

/* RFC 9293 3.1: one byte changed anywhere, and the segment is refused. */
static void check_corruption_refused(uint8_t *tcp, size_t tcp_len, uint32_t src, uint32_t dst,
                                     size_t pick, uint8_t flip)
{
    size_t at = pick % tcp_len;
    struct seg s;

    flip = flip ? flip : 0x80;
    tcp[at] ^= flip;
    int r = tt_tcp_parse(tcp, tcp_len, src, dst, &s);
    CHECK(r != TCP_OK, "byte %zu of %zu xor %02x went unnoticed", at, tcp_len, flip);
    tcp[at] ^= flip;
}

static void check_tcp(const struct ipv4_hdr *ip, const uint8_t *data, size_t size, uint8_t mode)
{
    struct seg a, b;
    struct ipv4_hdr ip2;

    if (tt_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, &a) != TCP_OK)
        return;
    size_t doff = (size_t)(ip->payload[12] >> 4) * 4;
    CHECK(a.data == ip->payload + doff && a.len == ip->payload_len - doff,
          "payload outside the segment");
    CHECK(ref_tcp_checksum(ip) == 0, "accepted a bad TCP checksum");
    size_t olen = tt_tcp_options_len(&a.opt);
    CHECK(olen <= TCP_MAX_OPT_LEN && olen % 4 == 0, "options length %zu", olen);

    size_t n = tt_tcp_build(g_out, sizeof(g_out), &a, ip->id);
    size_t want = IPV4_HDR_LEN + TCP_HDR_LEN + olen + a.len;
    if (want > WIRE_MAX) {
        CHECK(n == 0, "built a datagram of %zu bytes", want);
        return;
    }
    CHECK(n == want, "tt_tcp_build returned %zu, expected %zu", n, want);
    CHECK(tt_ipv4_parse(g_out, n, &ip2) == IPV4_OK && ip2.proto == IP_PROTO_TCP &&
              ip2.src == ip->src && ip2.dst == ip->dst && ip2.id == ip->id && ip2.ttl == IPV4_TTL,
          "rebuilt IPv4 header");
    CHECK(tt_tcp_parse(ip2.payload, ip2.payload_len, ip2.src, ip2.dst, &b) == TCP_OK,
          "rebuilt segment does not parse");
    check_same_segment(&a, &b);
    CHECK(tt_tcp_options_len(&b.opt) == olen, "options length changed on the second build");

    uint8_t pick = (mode & 16) && size ? data[size - 1] : data[0];
    check_corruption_refused((uint8_t *)ip2.payload, ip2.payload_len, ip2.src, ip2.dst,
                             (size_t)pick * 131 + size, (uint8_t)(size * 37));
}

/* ---- ICMP echo ---- */

static void check_echo_reply(const struct ipv4_hdr *req, const uint8_t *out, size_t n)
{
    struct ipv4_hdr rep;

    CHECK(n == IPV4_HDR_LEN + req->payload_len, "echo reply of %zu bytes", n);
    CHECK(tt_ipv4_parse(out, n, &rep) == IPV4_OK, "echo reply does not parse");
    CHECK(rep.src == req->dst && rep.dst == req->src && rep.proto == IP_PROTO_ICMP,
          "echo reply addresses");
    CHECK(tt_icmp_classify(&rep) == ICMP_OTHER && rep.payload[0] == 0 && rep.payload[1] == 0,
          "not a valid echo reply");
    CHECK(memcmp(rep.payload + 4, g_copy + 4, req->payload_len - 4) == 0,
          "identifier, sequence or data changed");
}

static void check_icmp(const struct ipv4_hdr *ip, uint8_t *p)
{
    int c = tt_icmp_classify(ip);

    if (ip->payload_len < ICMP_HDR) {
        CHECK(c == ICMP_ERR_TRUNC, "ICMP of %zu bytes classified %d", ip->payload_len, c);
        return;
    }
    CHECK((c == ICMP_ERR_CSUM) == (ref_checksum(ip->payload, ip->payload_len) != 0),
          "ICMP checksum verdict %d", c);
    if (c != ICMP_ECHO_REQUEST) {
        CHECK(tt_icmp_echo_reply(ip, g_out, sizeof(g_out), 1) == 0, "answered a non-request");
        return;
    }
    memcpy(g_copy, ip->payload, ip->payload_len);
    size_t n = tt_icmp_echo_reply(ip, g_out, sizeof(g_out), 1);
    check_echo_reply(ip, g_out, n);
    /* In place, as the engine may do: the same bytes. */
    size_t m = tt_icmp_echo_reply(ip, p, WIRE_MAX + 8 - (size_t)(p - g_in), 1);
    CHECK(m == n && memcmp(p, g_out, n) == 0, "in-place echo reply differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 > WIRE_MAX)
        return 0;
    uint8_t mode = data[0];
    size_t len = size - 1;
    uint8_t *p = g_in + (mode >> 5);
    struct ipv4_hdr ip;

    memcpy(p, data + 1, len);
    check_checksum(p, len, mode);
    wire_repair(p, len, mode);
    if (tt_ipv4_parse(p, len, &ip) != IPV4_OK)
        return 0;
    check_ipv4_fields(p, len, &ip);
    if (ip.proto == IP_PROTO_TCP)
        check_tcp(&ip, data, size, mode);
    else if (ip.proto == IP_PROTO_ICMP)
        check_icmp(&ip, p);
    return 0;
}
