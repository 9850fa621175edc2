/*
 * Unit tests for stack/engine/tcp_wire.c: the TCP header and its checksum (RFC 9293
 * 3.1), options MSS (RFC 9293 3.7.1), window scale and timestamps (RFC 7323 2
 * and 3), SACK (RFC 2018), and the Linux layout of the options we send.
 *
 * Golden datagrams were written out by hand as Linux would send them between
 * 10.7.0.1 (the kernel side) and 10.7.0.2 (the stack); their checksums were
 * computed independently while writing this file (a python3 one-liner), not by
 * the code under test. Each one parses to its fields, rebuilds byte for byte
 * from the parsed `struct seg`, and is refused at every truncated length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* cmocka hands every test a state pointer these tests do not use. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "checksum.h"
#include "ipv4.h"
#include "tcp_wire.h"

#define HOST_ADDR 0x0a070001u  /* 10.7.0.1, Linux */
#define STACK_ADDR 0x0a070002u /* 10.7.0.2, tuntcp */
#define HOST_PORT 41234
#define ECHO_PORT 7
#define HOST_ISS 0x8c3b9e01u
#define STACK_ISS 0x2d4e6f80u

/* clang-format off */
/* Linux's SYN: MSS 1460, SACK-permitted + TS, NOP WS 7. */
static const uint8_t linux_syn[60] = {
    0x45, 0x00, 0x00, 0x3c, 0x6f, 0x2c, 0x40, 0x00, 0x40, 0x06, 0xb7, 0x7f,
    0x0a, 0x07, 0x00, 0x01, 0x0a, 0x07, 0x00, 0x02, 0xa1, 0x12, 0x00, 0x07,
    0x8c, 0x3b, 0x9e, 0x01, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
    0xf4, 0xec, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x5e, 0x3c, 0x1a, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};
/* clang-format on */

/* clang-format off */
/* The stack's SYN-ACK, same layout, TSecr echoing the SYN's TSval. */
static const uint8_t synack[60] = {
    0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x26, 0xac,
    0x0a, 0x07, 0x00, 0x02, 0x0a, 0x07, 0x00, 0x01, 0x00, 0x07, 0xa1, 0x12,
    0x2d, 0x4e, 0x6f, 0x80, 0x8c, 0x3b, 0x9e, 0x02, 0xa0, 0x12, 0xfe, 0x88,
    0x72, 0x33, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x00, 0x01, 0xe2, 0x40, 0x5e, 0x3c, 0x1a, 0x7f, 0x01, 0x03, 0x03, 0x07,
};
/* clang-format on */

/* clang-format off */
/* PSH+ACK with NOP NOP TS and 13 bytes "hello tuntcp\n" (odd: padded sum). */
static const uint8_t linux_data[65] = {
    0x45, 0x00, 0x00, 0x41, 0x6f, 0x2d, 0x40, 0x00, 0x40, 0x06, 0xb7, 0x79,
    0x0a, 0x07, 0x00, 0x01, 0x0a, 0x07, 0x00, 0x02, 0xa1, 0x12, 0x00, 0x07,
    0x8c, 0x3b, 0x9e, 0x02, 0x2d, 0x4e, 0x6f, 0x81, 0x80, 0x18, 0x01, 0xf6,
    0x09, 0x20, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x5e, 0x3c, 0x1a, 0x90,
    0x00, 0x01, 0xe2, 0x40, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x74, 0x75,
    0x6e, 0x74, 0x63, 0x70, 0x0a,
};
/* clang-format on */

/* clang-format off */
/* FIN+ACK after the data, NOP NOP TS. */
static const uint8_t linux_fin[52] = {
    0x45, 0x00, 0x00, 0x34, 0x6f, 0x2e, 0x40, 0x00, 0x40, 0x06, 0xb7, 0x85,
    0x0a, 0x07, 0x00, 0x01, 0x0a, 0x07, 0x00, 0x02, 0xa1, 0x12, 0x00, 0x07,
    0x8c, 0x3b, 0x9e, 0x0f, 0x2d, 0x4e, 0x6f, 0x81, 0x80, 0x11, 0x01, 0xf6,
    0x9d, 0x6e, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x5e, 0x3c, 0x1a, 0x95,
    0x00, 0x01, 0xe2, 0x40,
};
/* clang-format on */

/* clang-format off */
/* An ACK carrying NOP NOP TS, then NOP NOP SACK with one block. */
static const uint8_t ack_sack[64] = {
    0x45, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x26, 0xa8,
    0x0a, 0x07, 0x00, 0x02, 0x0a, 0x07, 0x00, 0x01, 0x00, 0x07, 0xa1, 0x12,
    0x2d, 0x4e, 0x6f, 0x81, 0x8c, 0x3b, 0x9e, 0x02, 0xb0, 0x10, 0x01, 0xfd,
    0x12, 0xb6, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x45,
    0x5e, 0x3c, 0x1a, 0x90, 0x01, 0x01, 0x05, 0x0a, 0x8c, 0x3b, 0x9e, 0x10,
    0x8c, 0x3b, 0x9e, 0x20,
};
/* clang-format on */

/* clang-format off */
/* SO_LINGER {1, 0}: RST+ACK, no options, window 0 (seq = SND.NXT, ack = RCV.NXT). */
static const uint8_t rst_ack[40] = {
    0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x26, 0xc0,
    0x0a, 0x07, 0x00, 0x02, 0x0a, 0x07, 0x00, 0x01, 0x00, 0x07, 0xa1, 0x12,
    0x2d, 0x4e, 0x6f, 0x81, 0x8c, 0x3b, 0x9e, 0x10, 0x50, 0x14, 0x00, 0x00,
    0x33, 0x8b, 0x00, 0x00,
};
/* clang-format on */

struct golden {
    const char *name;
    const uint8_t *bytes;
    size_t len;
};

#define GOLDEN(a)                                                                                  \
    {                                                                                              \
#a, a, sizeof(a)                                                                           \
    }

static const struct golden goldens[] = {
    GOLDEN(linux_syn), GOLDEN(synack),   GOLDEN(linux_data),
    GOLDEN(linux_fin), GOLDEN(ack_sack), GOLDEN(rst_ack),
};

#define N_GOLDENS (sizeof(goldens) / sizeof(goldens[0]))

/* Parses a golden datagram's IP layer, then its TCP segment into s. */
static int parse_datagram(const uint8_t *p, size_t len, struct ipv4_hdr *ip, struct seg *s)
{
    assert_int_equal(tt_ipv4_parse(p, len, ip), IPV4_OK);
    return tt_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, s);
}

/* Refills the TCP checksum of a segment a test has edited. */
static void fix_tcp_checksum(uint8_t *t, size_t len, uint32_t src, uint32_t dst)
{
    t[16] = t[17] = 0;
    uint16_t c =
        tt_csum_fold(tt_csum_add(tt_csum_pseudo(src, dst, IP_PROTO_TCP, (uint16_t)len), t, len));
    t[16] = (uint8_t)(c >> 8);
    t[17] = (uint8_t)c;
}

/* ---- parsing golden segments ---- */

static void linux_syn_parses_to_its_fields(void **state)
{
    struct ipv4_hdr ip;
    struct seg s;

    assert_int_equal(parse_datagram(linux_syn, sizeof(linux_syn), &ip, &s), TCP_OK);
    assert_int_equal(s.saddr, HOST_ADDR);
    assert_int_equal(s.daddr, STACK_ADDR);
    assert_int_equal(s.sport, HOST_PORT);
    assert_int_equal(s.dport, ECHO_PORT);
    assert_int_equal(s.seq, HOST_ISS);
    assert_int_equal(s.ack, 0);
    assert_int_equal(s.flags, TCP_SYN);
    assert_int_equal(s.wnd, 64240);
    assert_int_equal(s.up, 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(seg_len(&s), 1);
    assert_true(s.opt.mss_ok && s.opt.sack_ok && s.opt.ts_ok && s.opt.ws_ok);
    assert_int_equal(s.opt.mss, 1460);
    assert_int_equal(s.opt.ws, 7);
    assert_int_equal(s.opt.ts_val, 0x5e3c1a7f);
    assert_int_equal(s.opt.ts_ecr, 0);
    assert_int_equal(s.opt.sack_count, 0);
}

static void synack_parses_to_its_fields(void **state)
{
    struct ipv4_hdr ip;
    struct seg s;

    assert_int_equal(parse_datagram(synack, sizeof(synack), &ip, &s), TCP_OK);
    assert_int_equal(s.sport, ECHO_PORT);
    assert_int_equal(s.dport, HOST_PORT);
    assert_int_equal(s.seq, STACK_ISS);
    assert_int_equal(s.ack, HOST_ISS + 1);
    assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(s.wnd, 65160);
    assert_int_equal(seg_len(&s), 1);
    assert_int_equal(s.opt.ts_val, 0x0001e240);
    assert_int_equal(s.opt.ts_ecr, 0x5e3c1a7f);
}

static void data_segment_parses_payload(void **state)
{
    struct ipv4_hdr ip;
    struct seg s;

    assert_int_equal(parse_datagram(linux_data, sizeof(linux_data), &ip, &s), TCP_OK);
    assert_int_equal(s.flags, TCP_PSH | TCP_ACK);
    assert_int_equal(s.seq, HOST_ISS + 1);
    assert_int_equal(s.ack, STACK_ISS + 1);
    assert_int_equal(s.wnd, 502);
    assert_int_equal(s.len, 13);
    assert_int_equal(seg_len(&s), 13);
    assert_ptr_equal(s.data, linux_data + 52);
    assert_memory_equal(s.data, "hello tuntcp\n", 13);
    assert_true(s.opt.ts_ok);
    assert_false(s.opt.mss_ok || s.opt.ws_ok || s.opt.sack_ok);
    assert_int_equal(s.opt.ts_val, 0x5e3c1a90);
}

/* RFC 9293 3.4: a FIN occupies one sequence number. */
static void fin_counts_one_in_seg_len(void **state)
{
    struct ipv4_hdr ip;
    struct seg s;

    assert_int_equal(parse_datagram(linux_fin, sizeof(linux_fin), &ip, &s), TCP_OK);
    assert_int_equal(s.flags, TCP_FIN | TCP_ACK);
    assert_int_equal(s.seq, HOST_ISS + 14);
    assert_int_equal(s.len, 0);
    assert_int_equal(seg_len(&s), 1);
}

static void sack_blocks_are_parsed(void **state)
{
    struct ipv4_hdr ip;
    struct seg s;

    assert_int_equal(parse_datagram(ack_sack, sizeof(ack_sack), &ip, &s), TCP_OK);
    assert_int_equal(s.flags, TCP_ACK);
    assert_true(s.opt.ts_ok);
    assert_int_equal(s.opt.sack_count, 1);
    assert_int_equal(s.opt.sack[0].left, HOST_ISS + 15);
    assert_int_equal(s.opt.sack[0].right, HOST_ISS + 31);
}

static void rst_without_options_parses(void **state)
{
    struct ipv4_hdr ip;
    struct seg s;

    assert_int_equal(parse_datagram(rst_ack, sizeof(rst_ack), &ip, &s), TCP_OK);
    assert_int_equal(s.flags, TCP_RST | TCP_ACK);
    assert_int_equal(s.wnd, 0);
    assert_false(s.opt.mss_ok || s.opt.ws_ok || s.opt.sack_ok || s.opt.ts_ok);
    assert_int_equal(seg_len(&s), 0);
}

/* ---- rebuilding and robustness, for every golden segment ---- */

/* Our layout is Linux's: what Linux sent, we rebuild identically. */
static void every_golden_rebuilds_byte_for_byte(void **state)
{
    for (size_t i = 0; i < N_GOLDENS; i++) {
        const struct golden *g = &goldens[i];
        uint8_t out[128];
        struct ipv4_hdr ip;
        struct seg s;

        print_message("%s\n", g->name);
        assert_int_equal(parse_datagram(g->bytes, g->len, &ip, &s), TCP_OK);
        memset(out, 0xaa, sizeof(out));
        assert_int_equal(tt_tcp_build(out, sizeof(out), &s, ip.id), g->len);
        assert_memory_equal(out, g->bytes, g->len);
        assert_int_equal(out[g->len], 0xaa);
    }
}

/* Each length from 0 to len-1 is refused, never read past (ASan watches). */
static void every_truncation_is_rejected(void **state)
{
    for (size_t i = 0; i < N_GOLDENS; i++) {
        const struct golden *g = &goldens[i];
        size_t tcp_len = g->len - IPV4_HDR_LEN;
        struct seg s;

        print_message("%s\n", g->name);
        for (size_t n = 0; n < tcp_len; n++) {
            uint8_t *cut = malloc(n); /* exactly n bytes, so ASan sees any overread */
            assert_true(cut != NULL || n == 0);
            if (n > 0)
                memcpy(cut, g->bytes + IPV4_HDR_LEN, n);
            int rc = tt_tcp_parse(cut, n, HOST_ADDR, STACK_ADDR, &s);
            free(cut);
            assert_int_not_equal(rc, TCP_OK);
            if (n < TCP_HDR_LEN)
                assert_int_equal(rc, TCP_ERR_TRUNC);
        }
    }
}

/* RFC 9293 3.1: the checksum covers pseudo-header, header and data. */
static void checksum_mismatch_is_rejected(void **state)
{
    for (size_t i = 0; i < N_GOLDENS; i++) {
        const struct golden *g = &goldens[i];
        uint8_t t[128];
        size_t len = g->len - IPV4_HDR_LEN;
        struct seg s;
        struct ipv4_hdr ip;

        assert_int_equal(tt_ipv4_parse(g->bytes, g->len, &ip), IPV4_OK);
        for (size_t byte = 0; byte < len; byte++) {
            if (byte == 12)
                continue; /* the data offset has its own check */
            memcpy(t, ip.payload, len);
            t[byte] ^= 0x04;
            assert_int_equal(tt_tcp_parse(t, len, ip.src, ip.dst, &s), TCP_ERR_CSUM);
        }
        assert_int_equal(tt_tcp_parse(ip.payload, len, ip.src, ip.dst ^ 1, &s), TCP_ERR_CSUM);
    }
}

/* RFC 9293 3.1: the data offset counts 32-bit words, at least five. */
static void data_offset_below_5_is_rejected(void **state)
{
    uint8_t t[40];
    struct seg s;

    memcpy(t, linux_syn + IPV4_HDR_LEN, sizeof(t));
    for (uint8_t doff = 0; doff < 5; doff++) {
        t[12] = (uint8_t)(doff << 4);
        fix_tcp_checksum(t, sizeof(t), HOST_ADDR, STACK_ADDR);
        assert_int_equal(tt_tcp_parse(t, sizeof(t), HOST_ADDR, STACK_ADDR, &s), TCP_ERR_DOFF);
    }
}

static void data_offset_past_segment_is_rejected(void **state)
{
    uint8_t t[32];
    struct seg s;

    memcpy(t, linux_fin + IPV4_HDR_LEN, sizeof(t));
    for (uint8_t doff = 9; doff <= 15; doff++) {
        t[12] = (uint8_t)(doff << 4);
        fix_tcp_checksum(t, sizeof(t), HOST_ADDR, STACK_ADDR);
        assert_int_equal(tt_tcp_parse(t, sizeof(t), HOST_ADDR, STACK_ADDR, &s), TCP_ERR_DOFF);
    }
    t[12] = 8 << 4; /* exactly the segment: options only, no data */
    fix_tcp_checksum(t, sizeof(t), HOST_ADDR, STACK_ADDR);
    assert_int_equal(tt_tcp_parse(t, sizeof(t), HOST_ADDR, STACK_ADDR, &s), TCP_OK);
}

/* A malformed option inside a well-checksummed segment drops the segment. */
static void bad_option_length_in_segment_is_rejected(void **state)
{
    static const uint8_t bad_len[] = {0, 1, 0x20};
    uint8_t t[40];
    struct seg s;

    for (size_t i = 0; i < sizeof(bad_len); i++) {
        memcpy(t, linux_syn + IPV4_HDR_LEN, sizeof(t));
        t[TCP_HDR_LEN + 1] = bad_len[i]; /* the MSS option's length byte */
        fix_tcp_checksum(t, sizeof(t), HOST_ADDR, STACK_ADDR);
        assert_int_equal(tt_tcp_parse(t, sizeof(t), HOST_ADDR, STACK_ADDR, &s), TCP_ERR_OPTS);
    }
}

/* ---- tt_tcp_parse_options ---- */

/* NOP, NOP, Timestamps (RFC 7323 Appendix A), read at once as Linux's
 * tcp_parse_aligned_timestamp() does, gives what the general walk gives
 * for the same option in another place; a wrong length is still refused. */
static void opts_aligned_timestamp_as_the_general_walk(void **state)
{
    static const uint8_t aligned[] = {1, 1, 8, 10, 0x5e, 0x3c, 0x1a, 0x90, 0, 1, 0xe2, 0x40};
    static const uint8_t after[] = {8, 10, 0x5e, 0x3c, 0x1a, 0x90, 0, 1, 0xe2, 0x40, 1, 1};
    static const uint8_t bad[] = {1, 1, 8, 9, 0x5e, 0x3c, 0x1a, 0x90, 0, 1, 0xe2, 0x40};
    struct tcp_opts a, b;

    (void)state;
    memset(&a, 0xff, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(tt_tcp_parse_options(aligned, sizeof(aligned), &a), TCP_OK);
    assert_int_equal(tt_tcp_parse_options(after, sizeof(after), &b), TCP_OK);
    assert_true(a.ts_ok);
    assert_int_equal(a.ts_val, 0x5e3c1a90);
    assert_int_equal(a.ts_ecr, 0x0001e240);
    assert_false(a.mss_ok || a.ws_ok || a.sack_ok || a.md5);
    assert_int_equal(a.sack_count, 0);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(tt_tcp_parse_options(bad, sizeof(bad), &a), TCP_ERR_OPTS);
}

static void opts_empty_list_sets_nothing(void **state)
{
    static const uint8_t nops[] = {1, 1, 1, 1};
    struct tcp_opts o;

    memset(&o, 0xff, sizeof(o));
    assert_int_equal(tt_tcp_parse_options(NULL, 0, &o), TCP_OK);
    assert_false(o.mss_ok || o.ws_ok || o.sack_ok || o.ts_ok);
    assert_int_equal(o.sack_count, 0);
    assert_int_equal(tt_tcp_parse_options(nops, sizeof(nops), &o), TCP_OK);
    assert_false(o.mss_ok || o.ws_ok || o.sack_ok || o.ts_ok);
}

/* RFC 9293 3.1: EOL ends the list; whatever follows is padding, not options. */
static void opts_eol_stops_parsing(void **state)
{
    static const uint8_t p[] = {2, 4, 0x05, 0xb4, 0, 3, 0, 0xff};
    struct tcp_opts o;

    assert_int_equal(tt_tcp_parse_options(p, sizeof(p), &o), TCP_OK);
    assert_true(o.mss_ok);
    assert_false(o.ws_ok);
}

/* RFC 9293 3.1: a kind we do not know is stepped over by its length. */
static void opts_unknown_kind_is_skipped_by_length(void **state)
{
    static const uint8_t p[] = {30, 6, 2, 4, 0x05, 0xb4, 254, 2, 1, 3, 3, 9};
    struct tcp_opts o;

    assert_int_equal(tt_tcp_parse_options(p, sizeof(p), &o), TCP_OK);
    assert_false(o.mss_ok); /* the 02 04 inside kind 30's body is not an option */
    assert_true(o.ws_ok);
    assert_int_equal(o.ws, 9);
}

/* A length below 2 cannot even cover kind and length: refuse, do not spin. */
static void opts_length_below_2_is_rejected(void **state)
{
    static const uint8_t len0[] = {30, 0, 1, 1};
    static const uint8_t len1[] = {30, 1, 1, 1};
    static const uint8_t mss0[] = {2, 0, 1, 1};
    struct tcp_opts o;

    assert_int_equal(tt_tcp_parse_options(len0, sizeof(len0), &o), TCP_ERR_OPTS);
    assert_int_equal(tt_tcp_parse_options(len1, sizeof(len1), &o), TCP_ERR_OPTS);
    assert_int_equal(tt_tcp_parse_options(mss0, sizeof(mss0), &o), TCP_ERR_OPTS);
}

static void opts_length_overrunning_list_is_rejected(void **state)
{
    static const uint8_t unknown[] = {1, 30, 4, 0};
    static const uint8_t ts[] = {8, 10, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t kind_only[] = {1, 1, 1, 2};
    struct tcp_opts o;

    assert_int_equal(tt_tcp_parse_options(unknown, sizeof(unknown), &o), TCP_ERR_OPTS);
    assert_int_equal(tt_tcp_parse_options(ts, sizeof(ts), &o), TCP_ERR_OPTS);
    assert_int_equal(tt_tcp_parse_options(kind_only, sizeof(kind_only), &o), TCP_ERR_OPTS);
}

/* A known kind must have its own length: MSS 4, WS 3, SACK-permitted 2, TS 10. */
static void opts_known_kind_with_wrong_length_is_rejected(void **state)
{
    static const uint8_t cases[][12] = {
        {2, 3, 5, 1},
        {2, 5, 5, 0xb4, 0},
        {3, 2, 1},
        {3, 4, 7, 0},
        {4, 3, 0},
        {4, 4, 0, 0},
        {8, 9, 0, 0, 0, 0, 0, 0, 0},
        {8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    static const size_t lens[] = {4, 5, 3, 4, 3, 4, 9, 11};
    struct tcp_opts o;

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        print_message("case %zu\n", i);
        assert_int_equal(tt_tcp_parse_options(cases[i], lens[i], &o), TCP_ERR_OPTS);
    }
}

/* RFC 2018 3: SACK is 2 + 8n bytes, n from 1 to 4 in the 40 bytes available. */
static void opts_sack_length_must_be_2_plus_8n(void **state)
{
    uint8_t p[44] = {5};
    struct tcp_opts o;

    for (size_t olen = 2; olen <= sizeof(p); olen++) {
        memset(p + 1, 0, sizeof(p) - 1);
        p[1] = (uint8_t)olen;
        int want = ((olen - 2) % 8 == 0 && olen >= 10 && olen <= 34) ? TCP_OK : TCP_ERR_OPTS;
        assert_int_equal(tt_tcp_parse_options(p, olen, &o), want);
        if (want == TCP_OK)
            assert_int_equal(o.sack_count, (olen - 2) / 8);
    }
}

static void opts_four_sack_blocks_are_read_in_order(void **state)
{
    uint8_t p[34] = {5, 34};
    struct tcp_opts o;

    for (uint8_t i = 0; i < 32; i++)
        p[2 + i] = i;
    assert_int_equal(tt_tcp_parse_options(p, sizeof(p), &o), TCP_OK);
    assert_int_equal(o.sack_count, 4);
    assert_int_equal(o.sack[0].left, 0x00010203);
    assert_int_equal(o.sack[0].right, 0x04050607);
    assert_int_equal(o.sack[3].left, 0x18191a1b);
    assert_int_equal(o.sack[3].right, 0x1c1d1e1f);
}

/* RFC 7323 2.3: a shift above 14 is used as 14. */
static void opts_window_shift_is_clamped_to_14(void **state)
{
    static const uint8_t shifts[] = {0, 13, 14, 15, 255};
    static const uint8_t want[] = {0, 13, 14, 14, 14};
    struct tcp_opts o;

    for (size_t i = 0; i < sizeof(shifts); i++) {
        uint8_t p[] = {1, 3, 3, shifts[i]};
        assert_int_equal(tt_tcp_parse_options(p, sizeof(p), &o), TCP_OK);
        assert_true(o.ws_ok);
        assert_int_equal(o.ws, want[i]);
    }
}

/* Every one- and two-byte list, then many pseudo-random ones, terminate in bounds. */
static void opts_parser_terminates_on_any_input(void **state)
{
    struct tcp_opts o;
    uint8_t p[40];
    uint32_t x = 1;

    for (unsigned v = 0; v < 0x10000; v++) {
        uint8_t two[2] = {(uint8_t)(v >> 8), (uint8_t)v};
        (void)tt_tcp_parse_options(two, 1, &o);
        (void)tt_tcp_parse_options(two, 2, &o);
    }
    for (unsigned round = 0; round < 200000; round++) {
        x = x * 1664525u + 1013904223u;
        size_t len = (x >> 8) % (sizeof(p) + 1);
        for (size_t i = 0; i < len; i++) {
            x = x * 1664525u + 1013904223u;
            p[i] = (uint8_t)((x >> 24) % 12); /* small values: mostly known kinds and lengths */
        }
        uint8_t *exact = malloc(len); /* exactly len bytes, so ASan sees any overread */
        assert_true(exact != NULL || len == 0);
        if (len > 0)
            memcpy(exact, p, len);
        int rc = tt_tcp_parse_options(exact, len, &o);
        free(exact);
        assert_true(rc == TCP_OK || rc == TCP_ERR_OPTS);
        assert_true(o.sack_count <= TCP_SACK_MAX);
    }
}

/* ---- building ---- */

static struct seg syn_seg(void)
{
    struct seg s;

    memset(&s, 0, sizeof(s));
    s.saddr = STACK_ADDR;
    s.daddr = HOST_ADDR;
    s.sport = 33000;
    s.dport = ECHO_PORT;
    s.seq = 0xfffffffe;
    s.flags = TCP_SYN;
    s.wnd = 65535;
    s.opt.mss_ok = true;
    s.opt.mss = 1460;
    s.opt.ws_ok = true;
    s.opt.ws = 7;
    return s;
}

static void expect_options(const struct seg *s, const uint8_t *want, size_t want_len)
{
    uint8_t out[128];
    struct ipv4_hdr ip;
    struct seg back;

    assert_int_equal(tt_tcp_options_len(&s->opt), want_len);
    size_t n = tt_tcp_build(out, sizeof(out), s, 1);
    assert_int_equal(n, IPV4_HDR_LEN + TCP_HDR_LEN + want_len + s->len);
    assert_int_equal(out[IPV4_HDR_LEN + 12] >> 4, (TCP_HDR_LEN + want_len) / 4);
    assert_memory_equal(out + IPV4_HDR_LEN + TCP_HDR_LEN, want, want_len);
    assert_int_equal(parse_datagram(out, n, &ip, &back), TCP_OK);
}

/* Linux without timestamps: SACK-permitted gets its own NOP NOP word. */
static void build_syn_without_timestamps_pads_sack_permitted(void **state)
{
    static const uint8_t want[] = {2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};
    struct seg s = syn_seg();

    s.opt.sack_ok = true;
    expect_options(&s, want, sizeof(want));
}

static void build_syn_without_sack_leads_timestamps_with_nops(void **state)
{
    static const uint8_t want[] = {2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7};
    struct seg s = syn_seg();

    s.opt.ts_ok = true;
    s.opt.ts_val = 9;
    expect_options(&s, want, sizeof(want));
}

/* MSS alone (timestamps and window scale refused by the peer). */
static void build_syn_with_mss_only(void **state)
{
    static const uint8_t want[] = {2, 4, 2, 0x18};
    struct seg s = syn_seg();

    s.opt.ws_ok = false;
    s.opt.mss = 536;
    expect_options(&s, want, sizeof(want));
}

/* RFC 7323 2.3: we never send a shift above 14 either. */
static void build_clamps_window_shift_to_14(void **state)
{
    static const uint8_t want[] = {2, 4, 5, 0xb4, 1, 3, 3, 14};
    struct seg s = syn_seg();

    s.opt.ws = 15;
    expect_options(&s, want, sizeof(want));
}

/* With timestamps, 40 - 12 bytes leave room for three SACK blocks, as in Linux. */
static void build_sack_blocks_limited_to_three_with_timestamps(void **state)
{
    struct seg s;

    memset(&s, 0, sizeof(s));
    s.flags = TCP_ACK;
    s.opt.ts_ok = true;
    s.opt.sack_count = 4;
    for (uint32_t i = 0; i < 4; i++)
        s.opt.sack[i] = (struct tcp_sack_block){100 * i + 10, 100 * i + 20};
    assert_int_equal(tt_tcp_options_len(&s.opt), 12 + 4 + 3 * 8);

    uint8_t out[128];
    struct ipv4_hdr ip;
    struct seg back;
    size_t n = tt_tcp_build(out, sizeof(out), &s, 0);
    assert_int_equal(n, IPV4_HDR_LEN + TCP_HDR_LEN + 40);
    assert_memory_equal(out + IPV4_HDR_LEN + TCP_HDR_LEN + 12, "\x01\x01\x05\x1a", 4);
    assert_int_equal(parse_datagram(out, n, &ip, &back), TCP_OK);
    assert_int_equal(back.opt.sack_count, 3);
    assert_int_equal(back.opt.sack[2].right, 220);
}

static void build_four_sack_blocks_without_timestamps(void **state)
{
    struct seg s;

    memset(&s, 0, sizeof(s));
    s.flags = TCP_ACK;
    s.opt.sack_count = 4;
    assert_int_equal(tt_tcp_options_len(&s.opt), 4 + 4 * 8);
    s.opt.sack_count = 200; /* never more than the array holds */
    assert_int_equal(tt_tcp_options_len(&s.opt), 4 + 4 * 8);
}

/* Every combination stays a whole number of words within 40 bytes. */
static void build_options_len_is_words_within_40(void **state)
{
    for (unsigned bits = 0; bits < 16; bits++) {
        for (uint8_t sacks = 0; sacks <= TCP_SACK_MAX; sacks++) {
            struct tcp_opts o = {.mss_ok = bits & 1,
                                 .ws_ok = bits & 2,
                                 .sack_ok = bits & 4,
                                 .ts_ok = bits & 8,
                                 .sack_count = sacks};
            size_t len = tt_tcp_options_len(&o);
            assert_int_equal(len % 4, 0);
            assert_true(len <= TCP_MAX_OPT_LEN);
        }
    }
}

/* The fixed header: ports, numbers in network order, flags byte, window, UP. */
static void build_writes_header_fields_in_network_order(void **state)
{
    static const uint8_t want[TCP_HDR_LEN] = {
        0x12, 0x34, 0xab, 0xcd, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02,
        0x03, 0x04, 0x50, 0xff, 0xfe, 0xdc, 0x00, 0x00, 0x80, 0x01,
    };
    struct seg s;
    uint8_t out[64];

    memset(&s, 0, sizeof(s));
    s.sport = 0x1234;
    s.dport = 0xabcd;
    s.seq = 0xdeadbeef;
    s.ack = 0x01020304;
    s.flags = 0xff;
    s.wnd = 0xfedc;
    s.up = 0x8001;
    assert_int_equal(tt_tcp_build(out, sizeof(out), &s, 0), 40);
    out[IPV4_HDR_LEN + 16] = out[IPV4_HDR_LEN + 17] = 0;
    assert_memory_equal(out + IPV4_HDR_LEN, want, sizeof(want));
}

/* Odd-length data is summed with its zero pad; the result parses. */
static void build_then_parse_round_trips_data(void **state)
{
    static const uint8_t data[] = "odd payload";
    struct seg s = syn_seg();
    uint8_t out[128];
    struct ipv4_hdr ip;
    struct seg back;

    s.flags = TCP_ACK | TCP_PSH;
    s.opt = (struct tcp_opts){.ts_ok = true, .ts_val = 1, .ts_ecr = 2};
    s.data = data;
    s.len = sizeof(data) - 1;
    size_t n = tt_tcp_build(out, sizeof(out), &s, 0x4242);
    assert_int_equal(n, IPV4_HDR_LEN + TCP_HDR_LEN + 12 + s.len);
    assert_int_equal(parse_datagram(out, n, &ip, &back), TCP_OK);
    assert_int_equal(ip.id, 0x4242);
    assert_int_equal(back.seq, 0xfffffffe);
    assert_int_equal(back.len, s.len);
    assert_memory_equal(back.data, data, s.len);
}

/* A datagram that does not fit is not written at all: the call returns 0. */
static void build_returns_zero_when_cap_is_too_small(void **state)
{
    struct ipv4_hdr ip;
    struct seg s;
    uint8_t out[128];

    assert_int_equal(parse_datagram(linux_data, sizeof(linux_data), &ip, &s), TCP_OK);
    memset(out, 0xaa, sizeof(out));
    for (size_t cap = 0; cap < sizeof(linux_data); cap++)
        assert_int_equal(tt_tcp_build(out, cap, &s, ip.id), 0);
    assert_int_equal(out[0], 0xaa);
    assert_int_equal(tt_tcp_build(out, sizeof(linux_data), &s, ip.id), sizeof(linux_data));
    assert_memory_equal(out, linux_data, sizeof(linux_data));
}

/* An IPv4 total length is 16 bits: a larger segment is refused, not truncated. */
static void build_refuses_datagram_over_65535_bytes(void **state)
{
    static uint8_t big[70000];
    static uint8_t out[70100];
    struct seg s;

    memset(&s, 0, sizeof(s));
    s.flags = TCP_ACK;
    s.data = big;
    s.len = 65535 - IPV4_HDR_LEN - TCP_HDR_LEN;
    assert_int_equal(tt_tcp_build(out, sizeof(out), &s, 0), 65535);
    s.len++;
    assert_int_equal(tt_tcp_build(out, sizeof(out), &s, 0), 0);
    s.len = sizeof(big);
    assert_int_equal(tt_tcp_build(out, sizeof(out), &s, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linux_syn_parses_to_its_fields),
        cmocka_unit_test(synack_parses_to_its_fields),
        cmocka_unit_test(data_segment_parses_payload),
        cmocka_unit_test(fin_counts_one_in_seg_len),
        cmocka_unit_test(sack_blocks_are_parsed),
        cmocka_unit_test(rst_without_options_parses),
        cmocka_unit_test(every_golden_rebuilds_byte_for_byte),
        cmocka_unit_test(every_truncation_is_rejected),
        cmocka_unit_test(checksum_mismatch_is_rejected),
        cmocka_unit_test(data_offset_below_5_is_rejected),
        cmocka_unit_test(data_offset_past_segment_is_rejected),
        cmocka_unit_test(bad_option_length_in_segment_is_rejected),
        cmocka_unit_test(opts_aligned_timestamp_as_the_general_walk),
        cmocka_unit_test(opts_empty_list_sets_nothing),
        cmocka_unit_test(opts_eol_stops_parsing),
        cmocka_unit_test(opts_unknown_kind_is_skipped_by_length),
        cmocka_unit_test(opts_length_below_2_is_rejected),
        cmocka_unit_test(opts_length_overrunning_list_is_rejected),
        cmocka_unit_test(opts_known_kind_with_wrong_length_is_rejected),
        cmocka_unit_test(opts_sack_length_must_be_2_plus_8n),
        cmocka_unit_test(opts_four_sack_blocks_are_read_in_order),
        cmocka_unit_test(opts_window_shift_is_clamped_to_14),
        cmocka_unit_test(opts_parser_terminates_on_any_input),
        cmocka_unit_test(build_syn_without_timestamps_pads_sack_permitted),
        cmocka_unit_test(build_syn_without_sack_leads_timestamps_with_nops),
        cmocka_unit_test(build_syn_with_mss_only),
        cmocka_unit_test(build_clamps_window_shift_to_14),
        cmocka_unit_test(build_sack_blocks_limited_to_three_with_timestamps),
        cmocka_unit_test(build_four_sack_blocks_without_timestamps),
        cmocka_unit_test(build_options_len_is_words_within_40),
        cmocka_unit_test(build_writes_header_fields_in_network_order),
        cmocka_unit_test(build_then_parse_round_trips_data),
        cmocka_unit_test(build_returns_zero_when_cap_is_too_small),
        cmocka_unit_test(build_refuses_datagram_over_65535_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
