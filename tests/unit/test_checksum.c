/*
 * Unit tests for stack/engine/checksum.c: the Internet checksum of RFC 1071 (its
 * worked example, odd lengths, carries, sums fed in pieces) and the TCP
 * pseudo-header of RFC 9293 3.1. A plain 16-bit-word reference written here
 * is the oracle for the word-at-a-time implementation.
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

/* The slow, obvious definition: 16-bit big-endian words, carries folded. */
static uint16_t reference_checksum(const uint8_t *p, size_t len)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum += (i % 2 == 0) ? (uint64_t)p[i] << 8 : p[i];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* A fixed pseudo-random fill, so every run checks the same bytes. */
static void fill(uint8_t *p, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* RFC 1071 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, so the checksum is 220d. */
static void rfc1071_worked_example(void **state)
{
    static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

    assert_int_equal(tt_csum_fold(tt_csum_add(0, b, sizeof(b))), 0x220d);
}

/* RFC 1071 1: an odd trailing byte is the high half of a zero-padded word. */
static void odd_length_pads_low_byte_with_zero(void **state)
{
    static const uint8_t odd[] = {0x12, 0x34, 0xab};
    static const uint8_t even[] = {0x12, 0x34, 0xab, 0x00};

    assert_int_equal(tt_csum_fold(tt_csum_add(0, odd, 3)), tt_csum_fold(tt_csum_add(0, even, 4)));
    assert_int_equal(tt_csum_fold(tt_csum_add(0, odd + 2, 1)), 0x54ff);
}

static void empty_buffer_adds_nothing(void **state)
{
    assert_int_equal(tt_csum_add(0x1234, NULL, 0), 0x1234);
    assert_int_equal(tt_csum_fold(0), 0xffff);
}

/* Every length from 0 to 300, so each tail of the word loop is exercised. */
static void sum_matches_word_by_word_reference(void **state)
{
    uint8_t buf[300];

    for (size_t len = 0; len <= sizeof(buf); len++) {
        fill(buf, len, (uint32_t)len);
        assert_int_equal(tt_csum_fold(tt_csum_add(0, buf, len)), reference_checksum(buf, len));
    }
}

/* Any start address: the implementation must not assume alignment. */
static void sum_is_independent_of_alignment(void **state)
{
    uint8_t buf[80];
    uint8_t copy[64];

    fill(copy, sizeof(copy), 7);
    for (size_t off = 0; off < 16; off++) {
        memcpy(buf + off, copy, sizeof(copy));
        assert_int_equal(tt_csum_fold(tt_csum_add(0, buf + off, sizeof(copy))),
                         reference_checksum(copy, sizeof(copy)));
    }
}

/* RFC 1071 2(A),(C): the sum is associative, so pieces at even offsets add up. */
static void pieces_at_even_offsets_equal_one_pass(void **state)
{
    uint8_t buf[257];

    fill(buf, sizeof(buf), 99);
    uint16_t whole = tt_csum_fold(tt_csum_add(0, buf, sizeof(buf)));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 2) {
        uint32_t sum = tt_csum_add(0, buf, cut);
        assert_int_equal(tt_csum_fold(tt_csum_add(sum, buf + cut, sizeof(buf) - cut)), whole);
    }
}

/* 2^20 bytes of 0xff: the running sum must carry, never overflow. */
static void large_buffer_carries_without_overflow(void **state)
{
    size_t len = 1u << 20;
    uint8_t *buf = malloc(len);

    assert_non_null(buf);
    memset(buf, 0xff, len);
    assert_int_equal(tt_csum_fold(tt_csum_add(0, buf, len)), 0x0000);
    assert_int_equal(tt_csum_fold(tt_csum_add(0xffffffffu, buf, len)), 0x0000);
    buf[len - 1] = 0xfe;
    assert_int_equal(tt_csum_fold(tt_csum_add(0, buf, len)), reference_checksum(buf, len));
    free(buf);
}

/* RFC 1071 1: a message with its checksum stored in it sums to zero. */
static void stored_checksum_verifies_to_zero(void **state)
{
    uint8_t buf[41];

    fill(buf, sizeof(buf), 3);
    buf[10] = buf[11] = 0;
    uint16_t c = tt_csum_fold(tt_csum_add(0, buf, sizeof(buf)));
    buf[10] = (uint8_t)(c >> 8);
    buf[11] = (uint8_t)c;
    assert_int_equal(tt_csum_fold(tt_csum_add(0, buf, sizeof(buf))), 0);
    buf[20] ^= 0x01;
    assert_int_not_equal(tt_csum_fold(tt_csum_add(0, buf, sizeof(buf))), 0);
}

/* The 20-byte IPv4 header's own sum (Linux ip_fast_csum()) is the general
 * one's, for headers of every kind of bytes, and verifies a header it
 * filled in to zero. */
static void ipv4_header_sum_equals_the_general_one(void **state)
{
    uint8_t hdr[21];

    for (uint32_t seed = 0; seed < 2000; seed++) {
        fill(hdr, sizeof(hdr), seed);
        if (seed % 3 == 0)
            memset(hdr, 0xff, sizeof(hdr)); /* every carry */
        uint8_t *p = hdr + seed % 2;        /* either alignment */
        assert_int_equal(tt_csum_ipv4_hdr(p), tt_csum_fold(tt_csum_add(0, p, 20)));
        p[10] = p[11] = 0;
        uint16_t c = tt_csum_ipv4_hdr(p);
        p[10] = (uint8_t)(c >> 8);
        p[11] = (uint8_t)c;
        assert_int_equal(tt_csum_ipv4_hdr(p), 0);
    }
}

static void fold_carries_repeatedly(void **state)
{
    assert_int_equal(tt_csum_fold(0xffff), 0x0000);
    assert_int_equal(tt_csum_fold(0x0001ffff), 0xfffe); /* ffff + 1 = 1 0000 -> 0001 */
    assert_int_equal(tt_csum_fold(0xffffffffu), 0x0000);
}

/* RFC 9293 3.1: src, dst, zero, protocol, TCP length, as twelve bytes. */
static void pseudo_header_equals_its_twelve_bytes(void **state)
{
    static const uint8_t ph[12] = {0x0a, 0x07, 0x00, 0x01, 0xc0, 0xa8,
                                   0xff, 0xfe, 0x00, 0x06, 0x05, 0xdc};
    uint32_t sum = tt_csum_pseudo(0x0a070001, 0xc0a8fffe, 6, 1500);

    assert_int_equal(tt_csum_fold(sum), tt_csum_fold(tt_csum_add(0, ph, sizeof(ph))));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc1071_worked_example),
        cmocka_unit_test(ipv4_header_sum_equals_the_general_one),
        cmocka_unit_test(odd_length_pads_low_byte_with_zero),
        cmocka_unit_test(empty_buffer_adds_nothing),
        cmocka_unit_test(sum_matches_word_by_word_reference),
        cmocka_unit_test(sum_is_independent_of_alignment),
        cmocka_unit_test(pieces_at_even_offsets_equal_one_pass),
        cmocka_unit_test(large_buffer_carries_without_overflow),
        cmocka_unit_test(stored_checksum_verifies_to_zero),
        cmocka_unit_test(fold_carries_repeatedly),
        cmocka_unit_test(pseudo_header_equals_its_twelve_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
