/*
 * TCP segments on the wire: parsing a received segment into `struct seg` and
 * building a whole IPv4 datagram from one. Implements the header (RFC 9293
 * 3.1), its checksum with the pseudo-header (RFC 9293 3.1), and the options
 * MSS (RFC 9293 3.7.1), window scale and timestamps (RFC 7323 2 and 3), SACK
 * and SACK-permitted (RFC 2018 2 and 3). No state.
 *
 * Options we send are laid out exactly as Linux lays them out (MSS, then
 * timestamps sharing their word with SACK-permitted, then window scale, then
 * SACK blocks, each padded to 32 bits with NOPs), so a capture of tuntcp and one
 * of Linux look alike, and middleboxes that are picky about the order (Linux's
 * experience) see the order they know. Which options go on which segment
 * (MSS, WS and SACK-permitted only on a SYN) is the caller's decision.
 *
 * The MD5 signature option (RFC 2385) is only recognised: tuntcp has no
 * keys, so a segment carrying one is dropped as Linux drops it when no key
 * is configured (tcp_input.c); the builder can write one (zero digest) for
 * tests. Deliberately left out: urgent data semantics (the pointer is
 * carried, not interpreted), TCP-AO, Fast Open, MPTCP: their kinds are
 * skipped.
 */
#include "tcp_wire.h"

#include <string.h>

#include "bytes.h"
#include "checksum.h"
#include "ipv4.h"

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WS 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_MD5SIG 19
#define TCPOPT_SACK 5
#define TCPOPT_TS 8

#define TCPOLEN_MSS 4
#define TCPOLEN_WS 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_SACK_BASE 2
#define TCPOLEN_SACK_BLOCK 8
#define TCPOLEN_TS 10
#define TCPOLEN_MD5SIG 18

/* RFC 7323 2.3: a larger shift would let the window exceed 2^30. */
#define TCP_MAX_WS 14

/* RFC 2018 3: 2 + 8n bytes for n blocks; 4 at most fit in 40 bytes. */
static int parse_sack(const uint8_t *opt, size_t olen, struct tcp_opts *o)
{
    size_t body = olen - TCPOLEN_SACK_BASE;
    size_t n = body / TCPOLEN_SACK_BLOCK;

    if (body % TCPOLEN_SACK_BLOCK != 0 || n < 1 || n > TCP_SACK_MAX)
        return TCP_ERR_OPTS;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = opt + TCPOLEN_SACK_BASE + i * TCPOLEN_SACK_BLOCK;
        o->sack[i].left = load_be32(b);
        o->sack[i].right = load_be32(b + 4);
    }
    o->sack_count = (uint8_t)n;
    return TCP_OK;
}

/*
 * One option of kind opt[0] and length olen (already known to lie within the
 * buffer). A known kind with another length than its own is malformed; we
 * refuse the segment rather than guess. Unknown kinds are skipped
 * (RFC 9293 3.1: every option but EOL and NOP carries its length so that
 * receivers can step over what they do not know).
 */
static int parse_option(const uint8_t *opt, size_t olen, struct tcp_opts *o)
{
    switch (opt[0]) {
    case TCPOPT_MSS:
        if (olen != TCPOLEN_MSS)
            return TCP_ERR_OPTS;
        o->mss_ok = true;
        o->mss = load_be16(opt + 2);
        return TCP_OK;
    case TCPOPT_WS:
        if (olen != TCPOLEN_WS)
            return TCP_ERR_OPTS;
        o->ws_ok = true;
        o->ws = opt[2] > TCP_MAX_WS ? TCP_MAX_WS : opt[2]; /* RFC 7323 2.3 */
        return TCP_OK;
    case TCPOPT_SACK_PERM:
        if (olen != TCPOLEN_SACK_PERM)
            return TCP_ERR_OPTS;
        o->sack_ok = true;
        return TCP_OK;
    case TCPOPT_SACK:
        return parse_sack(opt, olen, o);
    case TCPOPT_TS:
        if (olen != TCPOLEN_TS)
            return TCP_ERR_OPTS;
        o->ts_ok = true;
        o->ts_val = load_be32(opt + 2);
        o->ts_ecr = load_be32(opt + 6);
        return TCP_OK;
    case TCPOPT_MD5SIG:
        /* Linux (tcp_parse_md5sig_option) looks for this length only and
         * steps over the kind with any other, as over an unknown one. */
        if (olen == TCPOLEN_MD5SIG)
            o->md5 = true;
        return TCP_OK;
    default:
        return TCP_OK;
    }
}

/*
 * RFC 9293 3.1 option list. Every step advances by at least one byte and every
 * length is checked against what is left before anything is read, so the loop
 * ends and stays inside p[0..len).
 */
/*
 * Linux tcp_parse_aligned_timestamp(): the options of nearly every segment
 * of an established connection are NOP, NOP, Timestamps (RFC 7323
 * Appendix A's layout), read at once without the general walk.
 */
static bool aligned_timestamp(const uint8_t *p, size_t len, struct tcp_opts *o)
{
    if (len != 12 || p[0] != TCPOPT_NOP || p[1] != TCPOPT_NOP || p[2] != TCPOPT_TS ||
        p[3] != TCPOLEN_TS)
        return false;
    o->ts_ok = true;
    o->ts_val = load_be32(p + 4);
    o->ts_ecr = load_be32(p + 8);
    return true;
}

int tt_tcp_parse_options(const uint8_t *p, size_t len, struct tcp_opts *o)
{
    size_t i = 0;

    memset(o, 0, sizeof(*o));
    if (aligned_timestamp(p, len, o))
        return TCP_OK;
    while (i < len && p[i] != TCPOPT_EOL) {
        if (p[i] == TCPOPT_NOP) {
            i++;
            continue;
        }
        if (len - i < 2)
            return TCP_ERR_OPTS;
        size_t olen = p[i + 1];
        if (olen < 2 || olen > len - i)
            return TCP_ERR_OPTS;
        if (parse_option(p + i, olen, o) != TCP_OK)
            return TCP_ERR_OPTS;
        i += olen;
    }
    return TCP_OK;
}

/*
 * RFC 9293 3.1. Checks run cheapest first and each one before the bytes it
 * guards are read. A segment longer than 65535 bytes cannot be described by
 * the pseudo-header's 16-bit length, so no checksum can be right for it.
 */
static int tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst, struct seg *s,
                     bool sum_it)
{
    if (len < TCP_HDR_LEN)
        return TCP_ERR_TRUNC;
    size_t doff = (size_t)(p[12] >> 4) * 4;
    if (doff < TCP_HDR_LEN || doff > len)
        return TCP_ERR_DOFF;
    if (len > UINT16_MAX)
        return TCP_ERR_CSUM;
    if (sum_it) {
        uint32_t sum = tt_csum_pseudo(src, dst, IP_PROTO_TCP, (uint16_t)len);
        if (tt_csum_fold(tt_csum_add(sum, p, len)) != 0)
            return TCP_ERR_CSUM;
    }
    if (tt_tcp_parse_options(p + TCP_HDR_LEN, doff - TCP_HDR_LEN, &s->opt) != TCP_OK)
        return TCP_ERR_OPTS;

    s->saddr = src;
    s->daddr = dst;
    s->sport = load_be16(p);
    s->dport = load_be16(p + 2);
    s->seq = load_be32(p + 4);
    s->ack = load_be32(p + 8);
    s->flags = p[13];
    s->syn_stripped = false;
    s->tos = 0; /* the IP layer's: engine.c sets it from the header */
    s->wnd = load_be16(p + 14);
    s->up = load_be16(p + 18);
    s->data = p + doff;
    s->len = (uint32_t)(len - doff);
    s->hlen = (uint8_t)doff;
    s->gso_size = 0; /* the caller's to set (tt_engine_input_rx) */
    return TCP_OK;
}

int tt_tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst, struct seg *s)
{
    return tcp_parse(p, len, src, dst, s, true);
}

int tt_tcp_parse_csum_known(const uint8_t *p, size_t len, uint32_t src, uint32_t dst, struct seg *s)
{
    return tcp_parse(p, len, src, dst, s, false);
}

/*
 * How many of o's SACK blocks fit after `used` bytes of other options, as
 * Linux counts: the 40-byte budget less the NOP NOP kind length word, in
 * 8-byte blocks (three when timestamps are on).
 */
static size_t sack_blocks_fit(const struct tcp_opts *o, size_t used)
{
    size_t want = o->sack_count < TCP_SACK_MAX ? o->sack_count : TCP_SACK_MAX;
    size_t left = TCP_MAX_OPT_LEN - used;

    if (want == 0 || left < 4 + TCPOLEN_SACK_BLOCK)
        return 0;
    size_t room = (left - 4) / TCPOLEN_SACK_BLOCK;
    return want < room ? want : room;
}

/* Bytes before the SACK blocks; each option is already a whole 32-bit word. */
static size_t options_len_before_sack(const struct tcp_opts *o)
{
    size_t n = 0;

    if (o->md5)
        n += 20; /* two NOPs, kind, length, 16-byte digest */
    if (o->mss_ok)
        n += 4;
    if (o->ts_ok)
        n += 12; /* SACK-permitted, if any, shares the first word */
    else if (o->sack_ok)
        n += 4;
    if (o->ws_ok)
        n += 4;
    return n;
}

size_t tt_tcp_options_len(const struct tcp_opts *o)
{
    size_t n = options_len_before_sack(o);
    size_t blocks = sack_blocks_fit(o, n);

    return blocks ? n + 4 + blocks * TCPOLEN_SACK_BLOCK : n;
}

static uint8_t *put4(uint8_t *w, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    w[0] = a;
    w[1] = b;
    w[2] = c;
    w[3] = d;
    return w + 4;
}

/* Timestamps (RFC 7323 3.2), led by SACK-permitted instead of two NOPs. */
static uint8_t *put_timestamps(uint8_t *w, const struct tcp_opts *o)
{
    if (o->sack_ok)
        w = put4(w, TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM, TCPOPT_TS, TCPOLEN_TS);
    else
        w = put4(w, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TS, TCPOLEN_TS);
    store_be32(w, o->ts_val);
    store_be32(w + 4, o->ts_ecr);
    return w + 8;
}

/* SACK blocks (RFC 2018 3), as many as fit after the other options. */
static uint8_t *put_sack(uint8_t *w, const struct tcp_opts *o, size_t used)
{
    size_t n = sack_blocks_fit(o, used);

    if (n == 0)
        return w;
    w = put4(w, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK,
             (uint8_t)(TCPOLEN_SACK_BASE + n * TCPOLEN_SACK_BLOCK));
    for (size_t i = 0; i < n; i++, w += TCPOLEN_SACK_BLOCK) {
        store_be32(w, o->sack[i].left);
        store_be32(w + 4, o->sack[i].right);
    }
    return w;
}

/* Linux's order (tcp_options_write); writes tcp_options_len(o) bytes. */
static void options_write(uint8_t *p, const struct tcp_opts *o)
{
    uint8_t *w = p;

    if (o->md5) {
        w = put4(w, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_MD5SIG, TCPOLEN_MD5SIG);
        memset(w, 0, 16);
        w += 16;
    }
    if (o->mss_ok)
        w = put4(w, TCPOPT_MSS, TCPOLEN_MSS, (uint8_t)(o->mss >> 8), (uint8_t)o->mss);
    if (o->ts_ok)
        w = put_timestamps(w, o);
    else if (o->sack_ok)
        w = put4(w, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM);
    if (o->ws_ok)
        w = put4(w, TCPOPT_NOP, TCPOPT_WS, TCPOLEN_WS, o->ws > TCP_MAX_WS ? TCP_MAX_WS : o->ws);
    put_sack(w, o, (size_t)(w - p));
}

/* RFC 9293 3.1 fixed header; the checksum is filled in last, by the caller. */
static void header_write(uint8_t *t, const struct seg *s, size_t hdr_len)
{
    store_be16(t, s->sport);
    store_be16(t + 2, s->dport);
    store_be32(t + 4, s->seq);
    store_be32(t + 8, s->ack);
    t[12] = (uint8_t)(hdr_len / 4 << 4);
    t[13] = s->flags;
    store_be16(t + 14, s->wnd);
    store_be16(t + 16, 0);
    store_be16(t + 18, s->up);
}

static size_t tcp_build(uint8_t *out, size_t cap, const struct seg *s, uint16_t id, bool partial)
{
    if (s->len > UINT16_MAX)
        return 0;
    size_t hdr_len = TCP_HDR_LEN + tt_tcp_options_len(&s->opt);
    size_t tcp_len = hdr_len + s->len;
    size_t total = IPV4_HDR_LEN + tcp_len;
    if (total > cap || total > UINT16_MAX)
        return 0;

    uint8_t *t = out + IPV4_HDR_LEN;
    tt_ipv4_build(out, s->saddr, s->daddr, IP_PROTO_TCP, (uint16_t)tcp_len, id);
    if (s->tos)
        tt_ipv4_set_tos(out, s->tos);
    header_write(t, s, hdr_len);
    options_write(t + TCP_HDR_LEN, &s->opt);
    if (s->len > 0)
        memcpy(t + hdr_len, s->data, s->len);
    uint32_t sum = tt_csum_pseudo(s->saddr, s->daddr, IP_PROTO_TCP, (uint16_t)tcp_len);
    if (partial) /* the pseudo-header's sum folded, not complemented: the device adds the rest */
        store_be16(t + 16, (uint16_t)~tt_csum_fold(sum));
    else
        store_be16(t + 16, tt_csum_fold(tt_csum_add(sum, t, tcp_len)));
    return total;
}

size_t tt_tcp_build(uint8_t *out, size_t cap, const struct seg *s, uint16_t id)
{
    return tcp_build(out, cap, s, id, false);
}

size_t tt_tcp_build_partial(uint8_t *out, size_t cap, const struct seg *s, uint16_t id)
{
    return tcp_build(out, cap, s, id, true);
}
