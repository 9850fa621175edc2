/*
 * stack/driver/runout.c against a fake device: a GSO run the engine built
 * in the pump's ring is written as the copying path writes it (its
 * header made the super-segment's by tt_ofl_gso_header(), pushed after
 * its virtio header with tt_pump_pushv()), byte for byte, in its place
 * between what was held before and what comes after; a full ring gives
 * no room and counts nothing (the engine then takes the copying path);
 * a device lost meanwhile holds nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "offload.h"
#include "pump.h"
#include "runout.h"

#define MSS 1448
#define HLEN 52 /* IPv4 and TCP with timestamps */
#define LOG_MAX (4 * 65536)

struct fake {
    struct pump p;
    uint8_t log[LOG_MAX]; /* every datagram written: its length (4 bytes), then its bytes */
    size_t nlog, nout;
    struct drv_counters ctr;
};

static ssize_t fake_read(void *ctx, uint8_t *buf, size_t cap)
{
    return -EAGAIN;
}

static ssize_t fake_write(void *ctx, const uint8_t *pkt, size_t len)
{
    struct fake *f = ctx;
    uint32_t n = (uint32_t)len;

    assert_true(f->nlog + 4 + len <= LOG_MAX);
    memcpy(f->log + f->nlog, &n, 4);
    memcpy(f->log + f->nlog + 4, pkt, len);
    f->nlog += 4 + len;
    f->nout++;
    return (ssize_t)len;
}

static void fake_input(void *ctx, uint8_t *pkt, size_t len)
{
}

static void fake_want_writable(void *ctx, bool on)
{
}

static const struct pump_ops fake_ops = {fake_read, fake_write, fake_input, NULL,
                                         fake_want_writable};

static void fake_init(struct fake *f, size_t arena)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(tt_pump_init(&f->p, &fake_ops, f, &f->ctr, 16, arena, 2048), 0);
}

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The engine's GSO datagram as tcp_tso.c builds it: one header, segs full
 * segments of payload, the TCP checksum left partial (not checked here). */
static size_t gso_dgram(uint8_t *pkt, size_t segs)
{
    size_t len = HLEN + segs * MSS;

    memset(pkt, 0, HLEN);
    pkt[0] = 0x45;
    wr16(pkt + 2, (uint32_t)len);
    wr16(pkt + 4, 4242);   /* the first segment's IP ID */
    wr16(pkt + 6, 0x4000); /* DF */
    pkt[8] = 64;
    pkt[9] = 6;
    memcpy(pkt + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    wr16(pkt + 20, 5000);
    wr16(pkt + 22, 40000);
    memcpy(pkt + 24, "\x11\x22\x33\x44\x55\x66\x77\x88", 8); /* SEQ, ACK */
    pkt[32] = (HLEN - 20) / 4 << 4;
    pkt[33] = 0x18; /* ACK|PSH: the last segment's */
    wr16(pkt + 34, 500);
    memcpy(pkt + 40, "\x01\x01\x08\x0a\x00\x00\x00\x07\x00\x00\x00\x09", 12);
    for (size_t i = HLEN; i < len; i++)
        pkt[i] = (uint8_t)(i * 7 + 3);
    return len;
}

static bool push_small(struct pump *p, uint8_t tag)
{
    uint8_t b[20] = {tag};
    struct iovec iov = {b, sizeof(b)};

    return tt_pump_pushv(p, &iov, 1, false);
}

/* What drv_output_gso() does with a GSO datagram when the device alone sees it. */
static void copying_path(struct pump *p, const uint8_t *pkt, size_t len)
{
    struct virtio_net_hdr vh;
    uint8_t hdr[80];
    size_t hlen = tt_ofl_gso_header(pkt, len, MSS, hdr, &vh);

    assert_int_equal(hlen, HLEN);
    struct iovec iov[3] = {{&vh, OFL_VNET_LEN}, {hdr, hlen}, {(void *)(pkt + hlen), len - hlen}};
    assert_true(tt_pump_pushv(p, iov, 3, true));
}

static void a_run_built_in_the_ring_is_written_as_the_copy_was(void **state)
{
    static uint8_t pkt[65536];
    static struct fake a, b;
    size_t len = gso_dgram(pkt, 30), cap = 0;
    uint8_t *at;

    fake_init(&a, 256 * 1024);
    fake_init(&b, 256 * 1024);
    push_small(&a.p, 1); /* a datagram before, one after */
    copying_path(&a.p, pkt, len);
    push_small(&a.p, 2);

    push_small(&b.p, 1);
    at = tt_runout_reserve(&b.p, 65535, &cap);
    assert_non_null(at);
    assert_int_equal(cap, 65535);
    memcpy(at, pkt, len); /* the engine builds it there */
    assert_true(tt_runout_commit(&b.p, at, len, MSS));
    push_small(&b.p, 2);

    assert_int_equal(tt_pump_flush(&a.p), 0);
    assert_int_equal(tt_pump_flush(&b.p), 0);
    assert_int_equal(a.nout, 3);
    assert_int_equal(b.nout, 3);
    assert_int_equal(a.nlog, b.nlog);
    assert_memory_equal(a.log, b.log, a.nlog);
    assert_int_equal(b.ctr.tun_out_super, 1);
    assert_int_equal(a.ctr.tun_out_super, b.ctr.tun_out_super);
    tt_pump_free(&a.p);
    tt_pump_free(&b.p);
}

static void a_full_ring_gives_no_room_and_counts_nothing(void **state)
{
    static struct fake f;
    size_t cap = 0;

    fake_init(&f, 32 * 1024); /* smaller than the largest datagram */
    assert_null(tt_runout_reserve(&f.p, 65535, &cap));
    assert_int_equal(f.ctr.txq_drops, 0);
    assert_true(push_small(&f.p, 1)); /* the ring is still usable */
    assert_int_equal(f.p.count, 1);
    tt_pump_free(&f.p);
}

static void a_device_lost_meanwhile_holds_nothing(void **state)
{
    static uint8_t pkt[65536];
    static struct fake f;
    size_t len = gso_dgram(pkt, 3), cap = 0;
    uint8_t *at;

    fake_init(&f, 256 * 1024);
    at = tt_runout_reserve(&f.p, 65535, &cap);
    assert_non_null(at);
    memcpy(at, pkt, len);
    f.p.error = -EBADFD;
    assert_false(tt_runout_commit(&f.p, at, len, MSS));
    assert_int_equal(f.p.count, 0);
    assert_null(tt_runout_reserve(&f.p, 65535, &cap));
    tt_pump_free(&f.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_run_built_in_the_ring_is_written_as_the_copy_was),
        cmocka_unit_test(a_full_ring_gives_no_room_and_counts_nothing),
        cmocka_unit_test(a_device_lost_meanwhile_holds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
