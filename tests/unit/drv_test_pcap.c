/*
 * stack/driver/pcap.c: the exact bytes of the classic pcap format (docs/contract.md §5): the
 * global header (magic for microseconds, 2.4, LINKTYPE_RAW 101), each
 * record header, and that a flush makes everything readable at once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pcap.h"

struct tmp {
    char path[64];
    uint8_t buf[200000];
    size_t len;
};

static int tmp_setup(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));
    int fd;

    strcpy(t->path, "/tmp/drv_test_pcap.XXXXXX");
    fd = mkstemp(t->path);
    assert_true(fd >= 0);
    close(fd);
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    struct tmp *t = *state;

    unlink(t->path);
    free(t);
    return 0;
}

static void slurp(struct tmp *t)
{
    FILE *f = fopen(t->path, "rb");

    assert_non_null(f);
    t->len = fread(t->buf, 1, sizeof(t->buf), f);
    fclose(f);
}

/* pcap fields are in the writer's byte order, which the magic announces. */
static uint32_t u32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static uint16_t u16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return v;
}

static void global_header_is_classic_raw_microseconds(void **state)
{
    struct tmp *t = *state;
    struct pcap_writer *pw;

    assert_int_equal(tt_pcap_open(&pw, t->path), 0);
    slurp(t); /* written through at open: a capture of an idle stack is already valid */
    assert_int_equal(t->len, PCAP_GLOBAL_HDR_LEN);
    assert_int_equal(u32(t->buf), 0xa1b2c3d4);
    assert_int_equal(u16(t->buf + 4), 2);
    assert_int_equal(u16(t->buf + 6), 4);
    assert_int_equal(u32(t->buf + 8), 0);
    assert_int_equal(u32(t->buf + 12), 0);
    assert_int_equal(u32(t->buf + 16), 65535);
    assert_int_equal(u32(t->buf + 20), 101);
    assert_int_equal(tt_pcap_close(pw), 0);
}

static void records_carry_time_lengths_and_bytes(void **state)
{
    struct tmp *t = *state;
    struct pcap_writer *pw;
    uint8_t a[40], b[60];
    const uint8_t *r;

    memset(a, 0x45, sizeof(a));
    memset(b, 0x46, sizeof(b));
    assert_int_equal(tt_pcap_open(&pw, t->path), 0);
    tt_pcap_write(pw, 1700000000123456ULL, a, sizeof(a));
    tt_pcap_write(pw, 1700000001000000ULL, b, sizeof(b));
    assert_int_equal(tt_pcap_count(pw), 2);
    assert_int_equal(tt_pcap_close(pw), 0);
    slurp(t);
    assert_int_equal(t->len, 24 + 16 + 40 + 16 + 60);
    r = t->buf + 24;
    assert_int_equal(u32(r), 1700000000);
    assert_int_equal(u32(r + 4), 123456);
    assert_int_equal(u32(r + 8), 40);
    assert_int_equal(u32(r + 12), 40);
    assert_memory_equal(r + 16, a, sizeof(a));
    r += 16 + 40;
    assert_int_equal(u32(r), 1700000001);
    assert_int_equal(u32(r + 4), 0);
    assert_int_equal(u32(r + 8), 60);
    assert_memory_equal(r + 16, b, sizeof(b));
}

static void flush_makes_a_running_capture_readable(void **state)
{
    struct tmp *t = *state;
    struct pcap_writer *pw;
    uint8_t a[20] = {0x45};

    assert_int_equal(tt_pcap_open(&pw, t->path), 0);
    tt_pcap_write(pw, 1, a, sizeof(a));
    slurp(t);
    assert_int_equal(t->len, 24); /* buffered: no system call per packet */
    assert_int_equal(tt_pcap_flush(pw), 0);
    slurp(t);
    assert_int_equal(t->len, 24 + 16 + 20);
    assert_int_equal(tt_pcap_close(pw), 0);
}

static void long_packets_are_cut_at_snaplen(void **state)
{
    struct tmp *t = *state;
    struct pcap_writer *pw;
    uint8_t *big = calloc(1, 70000);

    assert_int_equal(tt_pcap_open(&pw, t->path), 0);
    tt_pcap_write(pw, 5, big, 70000);
    assert_int_equal(tt_pcap_close(pw), 0);
    free(big);
    slurp(t);
    assert_int_equal(t->len, 24 + 16 + 65535);
    assert_int_equal(u32(t->buf + 24 + 8), 65535);
    assert_int_equal(u32(t->buf + 24 + 12), 70000);
}

static void open_reports_errno(void **state)
{
    struct pcap_writer *pw = NULL;

    assert_int_equal(tt_pcap_open(&pw, "/nonexistent-dir/x.pcap"), -ENOENT);
    assert_null(pw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(global_header_is_classic_raw_microseconds, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(records_carry_time_lengths_and_bytes, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(flush_makes_a_running_capture_readable, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(long_packets_are_cut_at_snaplen, tmp_setup, tmp_teardown),
        cmocka_unit_test(open_reports_errno),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
