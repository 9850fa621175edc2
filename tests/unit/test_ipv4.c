/*
 * Unit tests for stack/engine/ipv4.c: IPv4 header validation and building (RFC 791
 * 3.1) and ICMP echo (RFC 792, RFC 1122 3.2.2.6). Golden datagrams were
 * written out by hand for the default addresses (10.7.0.1 the kernel side,
 * 10.7.0.2 the stack), their checksums computed independently while writing
 * this file (a python3 one-liner), not by the code under test.
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

#define HOST_ADDR 0x0a070001u  /* 10.7.0.1, Linux */
#define STACK_ADDR 0x0a070002u /* 10.7.0.2, tuntcp */

/* clang-format off */
/* A Linux SYN, 10.7.0.1:41234 -> 10.7.0.2:7: DF, TTL 64, id 0x6f2c. */
static const uint8_t linux_syn[60] = {
    0x45, 0x00, 0x00, 0x3c, 0x6f, 0x2c, 0x40, 0x00, 0x40, 0x06, 0xb7, 0x7f,
    0x0a, 0x07, 0x00, 0x01, 0x0a, 0x07, 0x00, 0x02, 0xa1, 0x12, 0x00, 0x07,
    0x8c, 0x3b, 0x9e, 0x01, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
    0xf4, 0xec, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x5e, 0x3c, 0x1a, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};
/* clang-format on */

/* clang-format off */
/* iputils ping: id 0x1c2b, seq 1, 16 bytes of timeval then 0x10..0x37. */
static const uint8_t ping_request[84] = {
    0x45, 0x00, 0x00, 0x54, 0x3b, 0x9a, 0x40, 0x00, 0x40, 0x01, 0xea, 0xfe,
    0x0a, 0x07, 0x00, 0x01, 0x0a, 0x07, 0x00, 0x02, 0x08, 0x00, 0x90, 0x47,
    0x1c, 0x2b, 0x00, 0x01, 0xc3, 0xb2, 0xa1, 0x65, 0x00, 0x00, 0x00, 0x00,
    0x20, 0xa1, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13,
    0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
    0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};
/* clang-format on */

/* clang-format off */
/* The answer we owe it, sent with IP id 0. */
static const uint8_t ping_reply[84] = {
    0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0x26, 0x99,
    0x0a, 0x07, 0x00, 0x02, 0x0a, 0x07, 0x00, 0x01, 0x00, 0x00, 0x98, 0x47,
    0x1c, 0x2b, 0x00, 0x01, 0xc3, 0xb2, 0xa1, 0x65, 0x00, 0x00, 0x00, 0x00,
    0x20, 0xa1, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13,
    0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
    0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};
/* clang-format on */

/*
 * After a test edits a header field, restore a valid header checksum, so the
 * parser's answer is about the field and not about the checksum.
 */
static void fix_header_checksum(uint8_t *p)
{
    size_t hdr_len = (size_t)(p[0] & 0x0f) * 4;

    p[10] = p[11] = 0;
    uint16_t c = tt_csum_fold(tt_csum_add(0, p, hdr_len));
    p[10] = (uint8_t)(c >> 8);
    p[11] = (uint8_t)c;
}

static void fix_icmp_checksum(uint8_t *icmp, size_t len)
{
    icmp[2] = icmp[3] = 0;
    uint16_t c = tt_csum_fold(tt_csum_add(0, icmp, len));
    icmp[2] = (uint8_t)(c >> 8);
    icmp[3] = (uint8_t)c;
}

static void parse_reads_every_header_field(void **state)
{
    struct ipv4_hdr h;

    assert_int_equal(tt_ipv4_parse(linux_syn, sizeof(linux_syn), &h), IPV4_OK);
    assert_int_equal(h.src, HOST_ADDR);
    assert_int_equal(h.dst, STACK_ADDR);
    assert_int_equal(h.proto, IP_PROTO_TCP);
    assert_int_equal(h.ttl, 64);
    assert_int_equal(h.tos, 0);
    assert_int_equal(h.id, 0x6f2c);
    assert_int_equal(h.hdr_len, 20);
    assert_int_equal(h.total_len, 60);
    assert_ptr_equal(h.payload, linux_syn + 20);
    assert_int_equal(h.payload_len, 40);
}

/* RFC 791 3.1: total length says where the datagram ends; link padding follows. */
static void bytes_past_total_len_are_ignored(void **state)
{
    uint8_t buf[sizeof(linux_syn) + 6];
    struct ipv4_hdr h;

    memcpy(buf, linux_syn, sizeof(linux_syn));
    memset(buf + sizeof(linux_syn), 0xee, 6);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_OK);
    assert_int_equal(h.total_len, 60);
    assert_int_equal(h.payload_len, 40);
}

/* Parses the first n bytes of p from a buffer of exactly n bytes (ASan). */
static int parse_prefix(const uint8_t *p, size_t n)
{
    struct ipv4_hdr h;
    uint8_t *cut = malloc(n);

    assert_true(cut != NULL || n == 0);
    if (n > 0)
        memcpy(cut, p, n);
    int rc = tt_ipv4_parse(cut, n, &h);
    free(cut);
    return rc;
}

static void every_truncation_is_rejected(void **state)
{
    for (size_t n = 0; n < sizeof(linux_syn); n++)
        assert_int_equal(parse_prefix(linux_syn, n), IPV4_ERR_TRUNC);
    for (size_t n = 0; n < sizeof(ping_request); n++)
        assert_int_equal(parse_prefix(ping_request, n), IPV4_ERR_TRUNC);
}

static void version_other_than_4_is_rejected(void **state)
{
    uint8_t buf[sizeof(linux_syn)];
    struct ipv4_hdr h;

    memcpy(buf, linux_syn, sizeof(buf));
    buf[0] = 0x65;
    fix_header_checksum(buf);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_VERSION);
}

/* RFC 791 3.1: IHL counts 32-bit words and the minimum header is five. */
static void ihl_below_5_is_rejected(void **state)
{
    uint8_t buf[sizeof(linux_syn)];
    struct ipv4_hdr h;

    memcpy(buf, linux_syn, sizeof(buf));
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        buf[0] = (uint8_t)(0x40 | ihl);
        assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_HDRLEN);
    }
}

static void ihl_past_total_len_is_rejected(void **state)
{
    uint8_t buf[sizeof(linux_syn)];
    struct ipv4_hdr h;

    memcpy(buf, linux_syn, sizeof(buf));
    buf[3] = 40;   /* total length 40 */
    buf[0] = 0x4b; /* IHL 11: 44 bytes of header */
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_HDRLEN);
    buf[3] = 19; /* a total length shorter than any header */
    buf[0] = 0x45;
    fix_header_checksum(buf);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_HDRLEN);
}

static void total_len_past_buffer_is_rejected(void **state)
{
    uint8_t buf[sizeof(linux_syn)];
    struct ipv4_hdr h;

    memcpy(buf, linux_syn, sizeof(buf));
    buf[3] = 61;
    fix_header_checksum(buf);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_TRUNC);
    buf[2] = 0xff;
    buf[3] = 0xff;
    fix_header_checksum(buf);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_TRUNC);
}

/* RFC 791 3.1: the checksum covers the header, every bit of it. */
static void header_checksum_mismatch_is_rejected(void **state)
{
    uint8_t buf[sizeof(linux_syn)];
    struct ipv4_hdr h;

    for (size_t byte = 0; byte < IPV4_HDR_LEN; byte++) {
        if (byte == 0 || byte == 2 || byte == 3)
            continue; /* version and lengths have their own checks */
        memcpy(buf, linux_syn, sizeof(buf));
        buf[byte] ^= 0x01;
        assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_CSUM);
    }
}

/* We do not reassemble: a first fragment (MF) is refused like any other. */
static void more_fragments_flag_is_rejected(void **state)
{
    uint8_t buf[sizeof(linux_syn)];
    struct ipv4_hdr h;

    memcpy(buf, linux_syn, sizeof(buf));
    buf[6] = 0x20; /* MF, offset 0, no DF */
    fix_header_checksum(buf);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_FRAGMENT);
}

static void nonzero_fragment_offset_is_rejected(void **state)
{
    uint8_t buf[sizeof(linux_syn)];
    struct ipv4_hdr h;

    memcpy(buf, linux_syn, sizeof(buf));
    buf[6] = 0x00; /* last fragment, offset 1 (8 bytes) */
    buf[7] = 0x01;
    fix_header_checksum(buf);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_FRAGMENT);
    buf[6] = 0x1f; /* the largest offset */
    buf[7] = 0xff;
    fix_header_checksum(buf);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_ERR_FRAGMENT);
}

/* DF alone, or no flag at all, is a whole datagram. */
static void unfragmented_without_df_is_accepted(void **state)
{
    uint8_t buf[sizeof(linux_syn)];
    struct ipv4_hdr h;

    memcpy(buf, linux_syn, sizeof(buf));
    buf[6] = 0x00;
    fix_header_checksum(buf);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_OK);
}

/* IP options (here Router Alert, RFC 2113) are skipped: the payload follows IHL. */
static void ip_options_are_skipped_by_ihl(void **state)
{
    uint8_t buf[64];
    struct ipv4_hdr h;

    memcpy(buf, linux_syn, 20);
    memcpy(buf + 24, linux_syn + 20, 40);
    buf[0] = 0x46;
    buf[3] = 64;
    memcpy(buf + 20, "\x94\x04\x00\x00", 4);
    fix_header_checksum(buf);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_OK);
    assert_int_equal(h.hdr_len, 24);
    assert_ptr_equal(h.payload, buf + 24);
    assert_int_equal(h.payload_len, 40);
}

/* Our header is Linux's: IHL 5, TOS 0, DF, TTL 64; byte for byte. */
static void build_writes_linux_header(void **state)
{
    uint8_t buf[IPV4_HDR_LEN];

    memset(buf, 0xaa, sizeof(buf));
    tt_ipv4_build(buf, HOST_ADDR, STACK_ADDR, IP_PROTO_TCP, 40, 0x6f2c);
    assert_memory_equal(buf, linux_syn, IPV4_HDR_LEN);
}

static void build_then_parse_round_trips(void **state)
{
    uint8_t buf[IPV4_HDR_LEN + 3] = {0};
    struct ipv4_hdr h;

    tt_ipv4_build(buf, 0xc0a80001u, 0xfffffffeu, 17, 3, 0xffff);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_OK);
    assert_int_equal(h.src, 0xc0a80001u);
    assert_int_equal(h.dst, 0xfffffffeu);
    assert_int_equal(h.proto, 17);
    assert_int_equal(h.id, 0xffff);
    assert_int_equal(h.payload_len, 3);
}

static void icmp_echo_request_is_classified(void **state)
{
    struct ipv4_hdr h;

    assert_int_equal(tt_ipv4_parse(ping_request, sizeof(ping_request), &h), IPV4_OK);
    assert_int_equal(tt_icmp_classify(&h), ICMP_ECHO_REQUEST);
}

/* RFC 792 Echo: same id, seq and data; type 0; addresses swapped. */
static void echo_reply_matches_golden_bytes(void **state)
{
    uint8_t out[128];
    struct ipv4_hdr h;

    memset(out, 0xaa, sizeof(out));
    assert_int_equal(tt_ipv4_parse(ping_request, sizeof(ping_request), &h), IPV4_OK);
    assert_int_equal(tt_icmp_echo_reply(&h, out, sizeof(out), 0), sizeof(ping_reply));
    assert_memory_equal(out, ping_reply, sizeof(ping_reply));
    assert_int_equal(out[sizeof(ping_reply)], 0xaa);
}

/* The driver may answer in the buffer the request arrived in. */
static void echo_reply_may_overwrite_its_request(void **state)
{
    uint8_t buf[sizeof(ping_request)];
    struct ipv4_hdr h;

    memcpy(buf, ping_request, sizeof(buf));
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_OK);
    assert_int_equal(tt_icmp_echo_reply(&h, buf, sizeof(buf), 0), sizeof(ping_reply));
    assert_memory_equal(buf, ping_reply, sizeof(ping_reply));
}

static void echo_reply_that_does_not_fit_is_not_written(void **state)
{
    uint8_t out[sizeof(ping_reply)];
    struct ipv4_hdr h;

    assert_int_equal(tt_ipv4_parse(ping_request, sizeof(ping_request), &h), IPV4_OK);
    memset(out, 0xaa, sizeof(out));
    assert_int_equal(tt_icmp_echo_reply(&h, out, sizeof(out) - 1, 0), 0);
    assert_int_equal(tt_icmp_echo_reply(&h, out, 0, 0), 0);
    assert_int_equal(out[0], 0xaa);
    assert_int_equal(tt_icmp_echo_reply(&h, out, sizeof(out), 0), sizeof(out));
}

/* An ICMP header is 8 bytes; fewer is malformed. */
static void icmp_shorter_than_8_bytes_is_rejected(void **state)
{
    uint8_t buf[IPV4_HDR_LEN + 7];
    uint8_t out[128];
    struct ipv4_hdr h;

    memcpy(buf, ping_request, sizeof(buf));
    buf[3] = sizeof(buf);
    fix_header_checksum(buf);
    fix_icmp_checksum(buf + IPV4_HDR_LEN, 7);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_OK);
    assert_int_equal(tt_icmp_classify(&h), ICMP_ERR_TRUNC);
    assert_int_equal(tt_icmp_echo_reply(&h, out, sizeof(out), 0), 0);
}

/* RFC 792: the checksum covers the whole message, data included. */
static void icmp_checksum_mismatch_is_rejected(void **state)
{
    uint8_t buf[sizeof(ping_request)];
    uint8_t out[128];
    struct ipv4_hdr h;

    memcpy(buf, ping_request, sizeof(buf));
    buf[sizeof(buf) - 1] ^= 0x80;
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_OK);
    assert_int_equal(tt_icmp_classify(&h), ICMP_ERR_CSUM);
    assert_int_equal(tt_icmp_echo_reply(&h, out, sizeof(out), 0), 0);
}

/* Only type 8 code 0 is answered: a reply, or an unknown code, is not. */
static void icmp_other_than_echo_request_is_not_answered(void **state)
{
    uint8_t buf[sizeof(ping_request)];
    uint8_t out[128];
    struct ipv4_hdr h;

    assert_int_equal(tt_ipv4_parse(ping_reply, sizeof(ping_reply), &h), IPV4_OK);
    assert_int_equal(tt_icmp_classify(&h), ICMP_OTHER);
    assert_int_equal(tt_icmp_echo_reply(&h, out, sizeof(out), 0), 0);

    memcpy(buf, ping_request, sizeof(buf));
    buf[IPV4_HDR_LEN + 1] = 1;
    fix_icmp_checksum(buf + IPV4_HDR_LEN, sizeof(buf) - IPV4_HDR_LEN);
    assert_int_equal(tt_ipv4_parse(buf, sizeof(buf), &h), IPV4_OK);
    assert_int_equal(tt_icmp_classify(&h), ICMP_OTHER);
    assert_int_equal(tt_icmp_echo_reply(&h, out, sizeof(out), 0), 0);
}

static void icmp_classify_ignores_other_protocols(void **state)
{
    struct ipv4_hdr h;
    uint8_t out[128];

    assert_int_equal(tt_ipv4_parse(linux_syn, sizeof(linux_syn), &h), IPV4_OK);
    assert_int_equal(tt_icmp_classify(&h), ICMP_OTHER);
    assert_int_equal(tt_icmp_echo_reply(&h, out, sizeof(out), 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_reads_every_header_field),
        cmocka_unit_test(bytes_past_total_len_are_ignored),
        cmocka_unit_test(every_truncation_is_rejected),
        cmocka_unit_test(version_other_than_4_is_rejected),
        cmocka_unit_test(ihl_below_5_is_rejected),
        cmocka_unit_test(ihl_past_total_len_is_rejected),
        cmocka_unit_test(total_len_past_buffer_is_rejected),
        cmocka_unit_test(header_checksum_mismatch_is_rejected),
        cmocka_unit_test(more_fragments_flag_is_rejected),
        cmocka_unit_test(nonzero_fragment_offset_is_rejected),
        cmocka_unit_test(unfragmented_without_df_is_accepted),
        cmocka_unit_test(ip_options_are_skipped_by_ihl),
        cmocka_unit_test(build_writes_linux_header),
        cmocka_unit_test(build_then_parse_round_trips),
        cmocka_unit_test(icmp_echo_request_is_classified),
        cmocka_unit_test(echo_reply_matches_golden_bytes),
        cmocka_unit_test(echo_reply_may_overwrite_its_request),
        cmocka_unit_test(echo_reply_that_does_not_fit_is_not_written),
        cmocka_unit_test(icmp_shorter_than_8_bytes_is_rejected),
        cmocka_unit_test(icmp_checksum_mismatch_is_rejected),
        cmocka_unit_test(icmp_other_than_echo_request_is_not_answered),
        cmocka_unit_test(icmp_classify_ignores_other_protocols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
