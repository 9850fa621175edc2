/*
 * Malformed input: one test per class of bad datagram, fed to an engine that
 * holds an established connection. Each bad datagram must be dropped without
 * a reply (or answered with a RST where RFC 9293 3.10.7.1 says so), counted
 * in its own counter and in no other (docs/contract.md §2.8: malformed input
 * is dropped and counted), and the connection must still carry data afterwards: every
 * test ends by having the application echo a few bytes back.
 *
 * The datagrams are built with the wire layer (so checksums are right) and
 * then broken one field at a time; where a test breaks a header field that a
 * checksum covers, it fixes that checksum again, so that only the intended
 * check can refuse it. The engine is 10.7.0.2, listening on port 7; the peer
 * is 10.7.0.1:41234; the clock is virtual and does not move.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checksum.h"
#include "ipv4.h"
#include "tcp_wire.h"
#include "tuntcp/tuntcp.h"

#define ENGINE_ADDR 0x0a070002u /* 10.7.0.2 */
#define PEER_ADDR 0x0a070001u   /* 10.7.0.1 */
#define OTHER_ADDR 0x0a070003u  /* 10.7.0.3: nobody we know */
#define LISTEN_PORT 7
#define PEER_PORT 41234
#define CLOSED_PORT 9
#define PEER_ISS 0x10000000u
#define T0 1000000u
#define MAX_OUT 8
#define PKT_CAP 2048

/* IPv4 header fields (RFC 791 3.1) */
#define IP_TOTLEN 2
#define IP_FRAG 6
#define IP_PROTO 9
#define IP_CSUM 10
#define IP_DST 16
/* TCP header fields (RFC 9293 3.1), from the start of the TCP header */
#define TCP_DOFF 12
#define TCP_CSUM 16

struct fixture {
    tt_engine_t *eng;
    tt_listener_t *listener;
    tt_conn_t *conn;
    uint64_t now;
    uint32_t iss;      /* the engine's, from its SYN-ACK */
    uint32_t peer_nxt; /* the peer's next sequence number */
    uint32_t eng_nxt;  /* the engine's next sequence number */
    uint16_t ip_id;
    uint8_t out[MAX_OUT][PKT_CAP];
    size_t out_len[MAX_OUT];
    size_t nout;
};

/* A datagram under construction. */
struct dgram {
    uint8_t b[PKT_CAP];
    size_t len;
};

/* ---- the engine's side ---- */

static void on_output(void *ctx, const uint8_t *pkt, size_t len)
{
    struct fixture *fx = ctx;

    assert_true(fx->nout < MAX_OUT);
    assert_true(len <= PKT_CAP);
    memcpy(fx->out[fx->nout], pkt, len);
    fx->out_len[fx->nout++] = len;
}

/* The application echoes whatever it reads (from inside read_cb). */
static void on_read(tt_conn_t *c, const uint8_t *buf, ssize_t nread)
{
    if (nread > 0)
        assert_int_equal(tt_conn_write(c, buf, (size_t)nread), nread);
}

static void on_connection(tt_listener_t *l, int status)
{
    struct fixture *fx = tt_listener_get_data(l);

    assert_int_equal(status, 0);
    assert_int_equal(tt_accept(l, &fx->conn), 0);
    assert_int_equal(tt_conn_read_start(fx->conn, on_read), 0);
}

/* Parses the i-th datagram the engine sent; it must be a valid TCP segment. */
static struct seg sent_seg(const struct fixture *fx, size_t i)
{
    struct ipv4_hdr ip;
    struct seg s;

    assert_true(i < fx->nout);
    assert_int_equal(tt_ipv4_parse(fx->out[i], fx->out_len[i], &ip), IPV4_OK);
    assert_int_equal(ip.proto, IP_PROTO_TCP);
    assert_int_equal(tt_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &s), TCP_OK);
    return s;
}

/* ---- building the peer's datagrams ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void seg_build(struct fixture *fx, struct dgram *d, const struct seg *s)
{
    d->len = tt_tcp_build(d->b, sizeof(d->b), s, fx->ip_id++);
    assert_true(d->len > 0);
}

/* A segment from the peer's port to `dport`, window 65535, no options. */
static void peer_seg(struct fixture *fx, struct dgram *d, uint16_t dport, uint8_t flags,
                     uint32_t seq, uint32_t ack, const char *data)
{
    struct seg s;

    memset(&s, 0, sizeof(s));
    s.saddr = PEER_ADDR;
    s.daddr = ENGINE_ADDR;
    s.sport = PEER_PORT;
    s.dport = dport;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.wnd = 65535;
    s.data = (const uint8_t *)data;
    s.len = data ? (uint32_t)strlen(data) : 0;
    seg_build(fx, d, &s);
}

/* In-sequence data on the established connection: the base of most tests. */
static void data_seg(struct fixture *fx, struct dgram *d, const char *data)
{
    peer_seg(fx, d, LISTEN_PORT, TCP_ACK | TCP_PSH, fx->peer_nxt, fx->eng_nxt, data);
}

static size_t ihl_of(const struct dgram *d)
{
    return (size_t)(d->b[0] & 0x0f) * 4;
}

/* RFC 791 3.1: the header checksum over IHL*4 bytes. */
static void fix_ip_csum(struct dgram *d, size_t hdr_len)
{
    put16(d->b + IP_CSUM, 0);
    put16(d->b + IP_CSUM, tt_csum_fold(tt_csum_add(0, d->b, hdr_len)));
}

/* RFC 9293 3.1: the TCP checksum with the pseudo-header, over tcp_len bytes. */
static void fix_tcp_csum(struct dgram *d, size_t tcp_len)
{
    uint8_t *t = d->b + ihl_of(d);
    uint32_t sum =
        tt_csum_pseudo(get32(d->b + 12), get32(d->b + IP_DST), IP_PROTO_TCP, (uint16_t)tcp_len);

    put16(t + TCP_CSUM, 0);
    put16(t + TCP_CSUM, tt_csum_fold(tt_csum_add(sum, t, tcp_len)));
}

static void set_total_len(struct dgram *d, size_t total)
{
    put16(d->b + IP_TOTLEN, (uint16_t)total);
    fix_ip_csum(d, IPV4_HDR_LEN);
}

/* ---- stimulus and expectations ---- */

static void inject(struct fixture *fx, const uint8_t *p, size_t len)
{
    fx->nout = 0;
    tt_engine_input(fx->eng, p, len, fx->now);
}

static void inject_dgram(struct fixture *fx, const struct dgram *d)
{
    inject(fx, d->b, d->len);
}

static uint64_t stat_of(const tt_stats_t *st, const tt_stat_desc_t *desc)
{
    uint64_t v;

    memcpy(&v, (const uint8_t *)st + desc->offset, sizeof(v));
    return v;
}

/*
 * Since `before`, the named counters (name, delta pairs, then NULL) moved by
 * exactly their delta and every other counter of tt_stats_table() stayed put.
 */
static void expect_stats(const struct fixture *fx, const tt_stats_t *before, ...)
{
    size_t n;
    const tt_stat_desc_t *tab = tt_stats_table(&n);
    tt_stats_t after;

    tt_engine_stats(fx->eng, &after);
    for (size_t i = 0; i < n; i++) {
        uint64_t want = 0;
        va_list ap;
        va_start(ap, before);
        for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
            uint64_t delta = va_arg(ap, uint64_t);
            if (strcmp(name, tab[i].name) == 0)
                want = delta;
        }
        va_end(ap);
        uint64_t got = stat_of(&after, &tab[i]) - stat_of(before, &tab[i]);
        if (got != want)
            fail_msg("counter %s moved by %llu, expected %llu", tab[i].name,
                     (unsigned long long)got, (unsigned long long)want);
    }
}

#define STATS(...) expect_stats(fx, &before, __VA_ARGS__, (const char *)NULL)
#define D(n) ((uint64_t)(n))

static tt_stats_t stats_now(const struct fixture *fx)
{
    tt_stats_t st;

    tt_engine_stats(fx->eng, &st);
    return st;
}

/* One bad datagram: dropped, nothing sent. */
static void inject_dropped(struct fixture *fx, const struct dgram *d)
{
    inject_dgram(fx, d);
    assert_int_equal(fx->nout, 0);
}

/*
 * The connection still works: the peer sends a few bytes in sequence; the
 * application echoes them in one segment that also ACKs them; the peer's ACK
 * of the echo draws nothing.
 */
static void expect_echo(struct fixture *fx)
{
    static const char msg[] = "still alive";
    uint32_t n = (uint32_t)strlen(msg);
    struct dgram d;

    data_seg(fx, &d, msg);
    inject_dgram(fx, &d);
    assert_int_equal(fx->nout, 1);
    struct seg s = sent_seg(fx, 0);
    assert_int_equal(s.flags & ~TCP_PSH, TCP_ACK);
    assert_int_equal(s.seq, fx->eng_nxt);
    assert_int_equal(s.ack, fx->peer_nxt + n);
    assert_int_equal(s.len, n);
    assert_memory_equal(s.data, msg, n);
    fx->peer_nxt += n;
    fx->eng_nxt += n;
    peer_seg(fx, &d, LISTEN_PORT, TCP_ACK, fx->peer_nxt, fx->eng_nxt, NULL);
    inject_dgram(fx, &d);
    assert_int_equal(fx->nout, 0);
    assert_int_equal(tt_conn_state(fx->conn), TT_STATE_ESTABLISHED);
}

/* ---- fixture: an established connection, accepted, echoing ---- */

static void handshake(struct fixture *fx)
{
    struct dgram d;

    peer_seg(fx, &d, LISTEN_PORT, TCP_SYN, PEER_ISS, 0, NULL);
    inject_dgram(fx, &d);
    assert_int_equal(fx->nout, 1);
    struct seg synack = sent_seg(fx, 0);
    assert_int_equal(synack.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(synack.ack, PEER_ISS + 1);
    fx->iss = synack.seq;
    fx->peer_nxt = PEER_ISS + 1;
    fx->eng_nxt = fx->iss + 1;
    peer_seg(fx, &d, LISTEN_PORT, TCP_ACK, fx->peer_nxt, fx->eng_nxt, NULL);
    inject_dgram(fx, &d);
    assert_int_equal(fx->nout, 0);
    assert_non_null(fx->conn);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    tt_config_t cfg;

    if (!fx)
        return -1;
    tt_config_init(&cfg);
    cfg.addr = ENGINE_ADDR;
    cfg.tcp_timestamps = 0;
    cfg.tcp_sack = 0;
    cfg.tcp_window_scaling = 0;
    cfg.delack_us = 0;
    for (int i = 0; i < 16; i++)
        cfg.isn_secret[i] = (uint8_t)(31 * i + 5);
    cfg.seed = 7;
    fx->now = T0;
    fx->ip_id = 1;
    if (tt_engine_new(&fx->eng, &cfg, on_output, fx, fx->now) != 0)
        return -1;
    if (tt_listen(fx->eng, LISTEN_PORT, 4, on_connection, &fx->listener) != 0)
        return -1;
    tt_listener_set_data(fx->listener, fx);
    *state = fx;
    handshake(fx);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    tt_engine_free(fx->eng);
    free(fx);
    return 0;
}

/* ---- IPv4 (RFC 791 3.1) ---- */

/* A datagram cut at every length short of its own: never parsed past the end. */
static void truncated_at_every_length_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    tt_stats_t before = stats_now(fx);
    for (size_t len = 0; len < d.len; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
        assert_non_null(copy);
        memcpy(copy, d.b, len);
        inject(fx, copy, len);
        assert_int_equal(fx->nout, 0);
        free(copy);
    }
    /* Shorter than a header: a header error; else short of the total
     * length: truncated (Linux's ip_rcv_core counts them so). */
    STATS("IpInReceives", D(d.len), "IpInHdrErrors", D(IPV4_HDR_LEN), "IpExtInTruncatedPkts",
          D(d.len - IPV4_HDR_LEN));
    expect_echo(fx);
}

/* Total length beyond the bytes received: a truncated datagram. */
static void total_length_longer_than_buffer_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    set_total_len(&d, d.len + 1);
    tt_stats_t before = stats_now(fx);
    inject_dropped(fx, &d);
    STATS("IpInReceives", D(1), "IpExtInTruncatedPkts", D(1));
    expect_echo(fx);
}

/* Total length below the header's own length. */
static void total_length_below_header_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    set_total_len(&d, IPV4_HDR_LEN - 4);
    tt_stats_t before = stats_now(fx);
    inject_dropped(fx, &d);
    STATS("IpInReceives", D(1), "IpInHdrErrors", D(1));
    expect_echo(fx);
}

/* Bytes past the total length are link padding: ignored, the segment is good. */
static void total_length_shorter_than_buffer_padding_ignored(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "pad");
    memset(d.b + d.len, 0xa5, 6);
    d.len += 6;
    tt_stats_t before = stats_now(fx);
    inject_dgram(fx, &d);
    assert_int_equal(fx->nout, 1); /* the echo of "pad", with its ACK */
    struct seg s = sent_seg(fx, 0);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.data, "pad", 3);
    fx->peer_nxt += 3;
    fx->eng_nxt += 3;
    STATS("IpInReceives", D(1), "TcpInSegs", D(1), "TcpOutSegs", D(1), "IpOutRequests", D(1));
    expect_echo(fx);
}

/* Total length that ends inside the TCP header: TCP sees a short segment. */
static void total_length_cuts_tcp_header_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    set_total_len(&d, IPV4_HDR_LEN + 10);
    tt_stats_t before = stats_now(fx);
    inject_dropped(fx, &d);
    STATS("IpInReceives", D(1), "TcpInErrs", D(1), "TtInBadTcpHdr", D(1));
    expect_echo(fx);
}

/* Total length that cuts the payload: the TCP checksum no longer matches. */
static void total_length_cuts_payload_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    set_total_len(&d, d.len - 2);
    tt_stats_t before = stats_now(fx);
    inject_dropped(fx, &d);
    STATS("IpInReceives", D(1), "TcpInErrs", D(1), "TcpInCsumErrors", D(1));
    expect_echo(fx);
}

static void ihl_below_five_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    tt_stats_t before = stats_now(fx);
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        d.b[0] = (uint8_t)(0x40 | ihl);
        fix_ip_csum(&d, IPV4_HDR_LEN);
        inject_dropped(fx, &d);
    }
    STATS("IpInReceives", D(5), "IpInHdrErrors", D(5));
    expect_echo(fx);
}

/* IHL of 15 (60 bytes) in a datagram of 40: the header runs past the end. */
static void ihl_past_end_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    peer_seg(fx, &d, LISTEN_PORT, TCP_ACK, fx->peer_nxt, fx->eng_nxt, NULL);
    assert_int_equal(d.len, 40);
    d.b[0] = 0x4f;
    tt_stats_t before = stats_now(fx);
    inject_dropped(fx, &d);
    STATS("IpInReceives", D(1), "IpInHdrErrors", D(1));
    expect_echo(fx);
}

/* RFC 791 3.1 options (here four NOPs, IHL 6) are skipped: the segment is good. */
static void ip_options_skipped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d, opt;

    data_seg(fx, &d, "opt");
    memcpy(opt.b, d.b, IPV4_HDR_LEN);
    memset(opt.b + IPV4_HDR_LEN, 1, 4);
    memcpy(opt.b + IPV4_HDR_LEN + 4, d.b + IPV4_HDR_LEN, d.len - IPV4_HDR_LEN);
    opt.len = d.len + 4;
    opt.b[0] = 0x46;
    put16(opt.b + IP_TOTLEN, (uint16_t)opt.len);
    fix_ip_csum(&opt, 24);
    inject_dgram(fx, &opt);
    assert_int_equal(fx->nout, 1);
    struct seg s = sent_seg(fx, 0);
    assert_memory_equal(s.data, "opt", 3);
    fx->peer_nxt += 3;
    fx->eng_nxt += 3;
    expect_echo(fx);
}

static void bad_ip_header_checksum_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    d.b[IP_CSUM] ^= 0x01;
    tt_stats_t before = stats_now(fx);
    inject_dropped(fx, &d);
    STATS("IpInReceives", D(1), "IpInHdrErrors", D(1), "IpExtInCsumErrors", D(1));
    expect_echo(fx);
}

static void ip_version_not_4_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    d.b[0] = 0x65; /* version 6, IHL 5 */
    fix_ip_csum(&d, IPV4_HDR_LEN);
    tt_stats_t before = stats_now(fx);
    inject_dropped(fx, &d);
    STATS("IpInReceives", D(1), "IpInHdrErrors", D(1));
    expect_echo(fx);
}

/* We never reassemble (stack/engine/ipv4.c): a first fragment (MF), a later one
 * (offset) and a last one (offset, no MF) are all refused. */
static void fragments_dropped(void **state)
{
    struct fixture *fx = *state;
    static const uint16_t frag[] = {0x2000, 0x0001, 0x2001, 0x1fff, 0x6000};
    size_t n = sizeof(frag) / sizeof(frag[0]);
    struct dgram d;

    tt_stats_t before = stats_now(fx);
    for (size_t i = 0; i < n; i++) {
        data_seg(fx, &d, "hello");
        put16(d.b + IP_FRAG, frag[i]);
        fix_ip_csum(&d, IPV4_HDR_LEN);
        inject_dropped(fx, &d);
    }
    STATS("IpInReceives", D(n), "IpReasmFails", D(n));
    expect_echo(fx);
}

/* UDP, GRE and an unassigned number: no ICMP unreachable is sent (docs/contract.md §2.8 lists
 * only echo among the ICMP messages the stack sends). */
static void unknown_protocols_dropped(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t protos[] = {17, 47, 255, 0};
    struct dgram d;

    tt_stats_t before = stats_now(fx);
    for (size_t i = 0; i < sizeof(protos); i++) {
        data_seg(fx, &d, "hello");
        d.b[IP_PROTO] = protos[i];
        fix_ip_csum(&d, IPV4_HDR_LEN);
        inject_dropped(fx, &d);
    }
    STATS("IpInReceives", D(4), "IpInUnknownProtos", D(4));
    expect_echo(fx);
}

/* Not for us: another host, broadcast. Not answered, even with a RST. */
static void wrong_destination_dropped(void **state)
{
    struct fixture *fx = *state;
    static const uint32_t dsts[] = {OTHER_ADDR, 0xffffffffu, 0x0a0700ffu, 0};
    size_t n = sizeof(dsts) / sizeof(dsts[0]);
    struct seg s;
    struct dgram d;

    tt_stats_t before = stats_now(fx);
    for (size_t i = 0; i < n; i++) {
        memset(&s, 0, sizeof(s));
        s.saddr = PEER_ADDR;
        s.daddr = dsts[i];
        s.sport = PEER_PORT;
        s.dport = LISTEN_PORT;
        s.seq = fx->peer_nxt;
        s.ack = fx->eng_nxt;
        s.flags = TCP_ACK;
        s.wnd = 65535;
        seg_build(fx, &d, &s);
        inject_dropped(fx, &d);
    }
    STATS("IpInReceives", D(n), "IpInAddrErrors", D(n));
    expect_echo(fx);
}

/* ---- TCP header (RFC 9293 3.1) ---- */

static void bad_tcp_checksum_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    d.b[IPV4_HDR_LEN + TCP_CSUM + 1] ^= 0x80;
    tt_stats_t before = stats_now(fx);
    inject_dropped(fx, &d);
    /* A payload byte changed instead: the same verdict. */
    data_seg(fx, &d, "hello");
    d.b[d.len - 1] ^= 0x01;
    inject_dropped(fx, &d);
    STATS("IpInReceives", D(2), "TcpInErrs", D(2), "TcpInCsumErrors", D(2));
    expect_echo(fx);
}

/* Data offset 0..4 words: shorter than the fixed header. */
static void data_offset_below_five_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    data_seg(fx, &d, "hello");
    tt_stats_t before = stats_now(fx);
    for (uint8_t doff = 0; doff < 5; doff++) {
        d.b[IPV4_HDR_LEN + TCP_DOFF] = (uint8_t)(doff << 4);
        fix_tcp_csum(&d, d.len - IPV4_HDR_LEN);
        inject_dropped(fx, &d);
    }
    STATS("IpInReceives", D(5), "TcpInErrs", D(5), "TtInBadTcpHdr", D(5));
    expect_echo(fx);
}

/* Data offset past the segment's end (a 25-byte segment claiming 60 or 28
 * bytes of header). */
static void data_offset_past_end_dropped(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t doffs[] = {15, 7};
    struct dgram d;

    tt_stats_t before = stats_now(fx);
    for (size_t i = 0; i < sizeof(doffs); i++) {
        data_seg(fx, &d, "hello");
        d.b[IPV4_HDR_LEN + TCP_DOFF] = (uint8_t)(doffs[i] << 4);
        fix_tcp_csum(&d, d.len - IPV4_HDR_LEN);
        inject_dropped(fx, &d);
    }
    STATS("IpInReceives", D(2), "TcpInErrs", D(2), "TtInBadTcpHdr", D(2));
    expect_echo(fx);
}

/*
 * A data segment whose header carries the given option bytes (padded with
 * EOL to a multiple of 4), checksums right.
 */
static void seg_with_options(struct fixture *fx, struct dgram *d, const uint8_t *opts, size_t olen)
{
    struct dgram base;
    size_t padded = (olen + 3) & ~(size_t)3;
    size_t hdr = IPV4_HDR_LEN + TCP_HDR_LEN;

    data_seg(fx, &base, "hello");
    memcpy(d->b, base.b, hdr);
    memset(d->b + hdr, 0, padded);
    memcpy(d->b + hdr, opts, olen);
    memcpy(d->b + hdr + padded, base.b + hdr, base.len - hdr);
    d->len = base.len + padded;
    d->b[IPV4_HDR_LEN + TCP_DOFF] = (uint8_t)((TCP_HDR_LEN + padded) / 4 << 4);
    set_total_len(d, d->len);
    fix_tcp_csum(d, d->len - IPV4_HDR_LEN);
}

/* RFC 9293 3.1: every option but EOL and NOP has a length of at least 2 that
 * stays inside the header; a known kind has its own fixed length. */
static void bad_option_lengths_dropped(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        uint8_t bytes[12];
        size_t len;
    } bad[] = {
        {{2, 0, 5, 0xb4}, 4},           /* MSS, length 0 */
        {{99, 1, 1, 1}, 4},             /* unknown kind, length 1 */
        {{1, 1, 1, 99}, 4},             /* a kind with no room for its length */
        {{99, 12, 0, 0}, 4},            /* length overruns the header */
        {{8, 10, 0, 0, 0, 1, 0, 0}, 8}, /* timestamps, 10 bytes in 8 */
        {{2, 3, 5, 0}, 4},              /* MSS of length 3 */
        {{3, 4, 7, 0}, 4},              /* window scale of length 4 */
        {{4, 3, 0, 0}, 4},              /* SACK-permitted of length 3 */
        {{5, 6, 0, 0, 0, 1, 0, 0}, 8},  /* SACK: not 2 + 8n */
    };
    size_t n = sizeof(bad) / sizeof(bad[0]);
    struct dgram d;

    tt_stats_t before = stats_now(fx);
    for (size_t i = 0; i < n; i++) {
        seg_with_options(fx, &d, bad[i].bytes, bad[i].len);
        inject_dropped(fx, &d);
    }
    STATS("IpInReceives", D(n), "TcpInErrs", D(n), "TtInBadTcpOpts", D(n));
    expect_echo(fx);
}

/* Unknown kinds with a sane length are stepped over; bytes after EOL are not
 * options at all. Both segments are good. */
static void unknown_option_and_after_eol_accepted(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t unknown[] = {99, 4, 0xde, 0xad, 1, 1, 1, 0};
    static const uint8_t after_eol[] = {0, 2, 0, 0};
    struct dgram d;

    seg_with_options(fx, &d, unknown, sizeof(unknown));
    inject_dgram(fx, &d);
    assert_int_equal(fx->nout, 1);
    fx->peer_nxt += 5;
    fx->eng_nxt += 5;
    seg_with_options(fx, &d, after_eol, sizeof(after_eol));
    inject_dgram(fx, &d);
    assert_int_equal(fx->nout, 1);
    fx->peer_nxt += 5;
    fx->eng_nxt += 5;
    expect_echo(fx);
}

/* ---- a closed port (RFC 9293 3.10.7.1) ---- */

/* A segment to a port nobody listens on: a RST back when `answered`, else
 * (the segment carries RST) nothing. */
static void closed_port_case(struct fixture *fx, uint8_t flags, const char *data, bool answered)
{
    const uint32_t seq = 0x5000;
    const uint32_t ack = 0x7000;
    uint32_t seg_len = (data ? (uint32_t)strlen(data) : 0) + ((flags & TCP_SYN) ? 1 : 0) +
                       ((flags & TCP_FIN) ? 1 : 0);
    struct dgram d;

    peer_seg(fx, &d, CLOSED_PORT, flags, seq, ack, data);
    tt_stats_t before = stats_now(fx);
    inject_dgram(fx, &d);
    if (!answered) { /* a RST is never answered */
        assert_int_equal(fx->nout, 0);
        STATS("IpInReceives", D(1), "TcpInSegs", D(1));
        return;
    }
    assert_int_equal(fx->nout, 1);
    struct seg r = sent_seg(fx, 0);
    assert_int_equal(r.sport, CLOSED_PORT);
    assert_int_equal(r.dport, PEER_PORT);
    assert_int_equal(r.len, 0);
    if (flags & TCP_ACK) { /* <SEQ=SEG.ACK><CTL=RST> */
        assert_int_equal(r.flags, TCP_RST);
        assert_int_equal(r.seq, ack);
    } else { /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
        assert_int_equal(r.flags, TCP_RST | TCP_ACK);
        assert_int_equal(r.seq, 0);
        assert_int_equal(r.ack, seq + seg_len);
    }
    STATS("IpInReceives", D(1), "TcpInSegs", D(1), "TcpOutSegs", D(1), "TcpOutRsts", D(1),
          "IpOutRequests", D(1));
}

static void closed_port_illegal_flags(void **state)
{
    struct fixture *fx = *state;

    closed_port_case(fx, TCP_SYN | TCP_RST, NULL, false);
    closed_port_case(fx, TCP_SYN | TCP_RST | TCP_ACK, NULL, false);
    closed_port_case(fx, TCP_RST, "data", false);
    closed_port_case(fx, TCP_SYN | TCP_FIN, NULL, true); /* ACK SEQ+2 */
    closed_port_case(fx, TCP_SYN | TCP_FIN, "xy", true); /* ACK SEQ+4 */
    closed_port_case(fx, 0, NULL, true);                 /* null scan */
    closed_port_case(fx, 0, "abc", true);
    closed_port_case(fx, TCP_FIN | TCP_PSH | TCP_URG, NULL, true); /* xmas */
    closed_port_case(fx, TCP_FIN | TCP_PSH | TCP_URG | TCP_ACK, "z", true);
    closed_port_case(fx, (uint8_t)~TCP_RST, NULL, true); /* all but RST */
    expect_echo(fx);
}

/* RFC 9293 3.10.7.2: a listener drops RST; SYN+FIN is dropped as Linux does
 * (it cannot start a connection); neither opens anything. */
static void listener_illegal_flags_dropped(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t flags[] = {TCP_SYN | TCP_RST, TCP_SYN | TCP_FIN, TCP_RST, 0, TCP_FIN};
    struct dgram d;

    tt_stats_t before = stats_now(fx);
    for (size_t i = 0; i < sizeof(flags); i++) {
        struct seg s;
        memset(&s, 0, sizeof(s));
        s.saddr = OTHER_ADDR; /* a new 4-tuple to the listening port */
        s.daddr = ENGINE_ADDR;
        s.sport = 5555;
        s.dport = LISTEN_PORT;
        s.seq = 0x9000;
        s.flags = flags[i];
        s.wnd = 1024;
        seg_build(fx, &d, &s);
        inject_dropped(fx, &d);
    }
    assert_int_equal(tt_engine_conn_count(fx->eng), 1);
    STATS("IpInReceives", D(sizeof(flags)), "TcpInSegs", D(sizeof(flags)));
    expect_echo(fx);
}

/* ---- ICMP (RFC 792) ---- */

static void bad_icmp_dropped(void **state)
{
    struct fixture *fx = *state;
    struct dgram d;

    /* An echo request with a wrong checksum, then one cut to 4 bytes. */
    tt_ipv4_build(d.b, PEER_ADDR, ENGINE_ADDR, IP_PROTO_ICMP, 8, fx->ip_id++);
    memset(d.b + IPV4_HDR_LEN, 0, 8);
    d.b[IPV4_HDR_LEN] = 8;
    d.b[IPV4_HDR_LEN + 2] = 0x12;
    d.len = IPV4_HDR_LEN + 8;
    tt_stats_t before = stats_now(fx);
    inject_dropped(fx, &d);
    set_total_len(&d, IPV4_HDR_LEN + 4);
    d.len = IPV4_HDR_LEN + 4;
    inject_dropped(fx, &d);
    STATS("IpInReceives", D(2), "IcmpInErrors", D(2));
    expect_echo(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(truncated_at_every_length_dropped),
        T(total_length_longer_than_buffer_dropped),
        T(total_length_below_header_dropped),
        T(total_length_shorter_than_buffer_padding_ignored),
        T(total_length_cuts_tcp_header_dropped),
        T(total_length_cuts_payload_dropped),
        T(ihl_below_five_dropped),
        T(ihl_past_end_dropped),
        T(ip_options_skipped),
        T(bad_ip_header_checksum_dropped),
        T(ip_version_not_4_dropped),
        T(fragments_dropped),
        T(unknown_protocols_dropped),
        T(wrong_destination_dropped),
        T(bad_tcp_checksum_dropped),
        T(data_offset_below_five_dropped),
        T(data_offset_past_end_dropped),
        T(bad_option_lengths_dropped),
        T(unknown_option_and_after_eol_accepted),
        T(closed_port_illegal_flags),
        T(listener_illegal_flags_dropped),
        T(bad_icmp_dropped),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
