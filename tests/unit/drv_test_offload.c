/*
 * stack/driver/offload.c: wire segments joined into a TSO super-segment for
 * the kernel, and the kernel's super-segments cut back into wire segments.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "checksum.h"
#include "offload.h"

#define HLEN 52 /* IPv4 20 + TCP 20 + NOP NOP timestamps 12 */
#define MSS 1448
#define ACK 0x10
#define PSH 0x08
#define FIN 0x01
#define SYN 0x02
#define CWR 0x80

struct seg_spec {
    uint32_t seq, ack;
    uint16_t id, win;
    uint8_t flags;
    size_t payload;
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* 10.7.0.2:5000 -> 10.7.0.1:40000, DF, TTL 64, payload bytes (seq + i) & 0xff. */
static size_t build(uint8_t *p, const struct seg_spec *s)
{
    size_t len = HLEN + s->payload;

    memset(p, 0, HLEN);
    p[0] = 0x45;
    put16(p + 2, (uint16_t)len);
    put16(p + 4, s->id);
    p[6] = 0x40;
    p[8] = 64;
    p[9] = 6;
    put32(p + 12, 0x0a070002);
    put32(p + 16, 0x0a070001);
    put16(p + 10, tt_csum_fold(tt_csum_add(0, p, 20)));
    put16(p + 20, 5000);
    put16(p + 22, 40000);
    put32(p + 24, s->seq);
    put32(p + 28, s->ack);
    p[32] = (HLEN - 20) / 4 << 4;
    p[33] = s->flags;
    put16(p + 34, s->win);
    p[40] = 1;
    p[41] = 1;
    p[42] = 8;
    p[43] = 10;
    put32(p + 44, 123456);
    put32(p + 48, 654321);
    for (size_t i = 0; i < s->payload; i++)
        p[HLEN + i] = (uint8_t)(s->seq + i);
    put16(p + 36,
          tt_csum_fold(tt_csum_add(tt_csum_pseudo(0x0a070002, 0x0a070001, 6, (uint16_t)(len - 20)),
                                   p + 20, len - 20)));
    return len;
}

static uint8_t wire[8][HLEN + MSS];
static size_t wlen[8];

/* n segments of a run: full ones, the last `last` bytes with `lflags`. */
static void make_run(size_t n, size_t last, uint8_t lflags)
{
    for (size_t i = 0; i < n; i++) {
        struct seg_spec s = {1000 + (uint32_t)(i * MSS), 777,
                             (uint16_t)(40 + i),         501,
                             i + 1 == n ? lflags : ACK,  i + 1 == n ? last : MSS};
        wlen[i] = build(wire[i], &s);
    }
}

/* The super-segment as the batch writes it: virtio header, joined header, payloads. */
static size_t write_super(struct ofl_batch *b, uint8_t *out, struct virtio_net_hdr *vh)
{
    size_t len = tt_ofl_batch_finish(b) - OFL_VNET_LEN;

    memcpy(vh, b->buf, OFL_VNET_LEN);
    memcpy(out, b->buf + OFL_VNET_LEN, len);
    return len;
}

/* What the kernel's TCP would hand us: the pseudo-header sum left in the checksum field. */
static void make_partial(uint8_t *p, size_t len)
{
    uint32_t sum = tt_csum_pseudo(0x0a070002, 0x0a070001, 6, (uint16_t)(len - 20));

    put16(p + 36, (uint16_t)~tt_csum_fold(sum));
}

static void a_run_joins_and_cuts_back_to_the_same_segments(void **state)
{
    static uint8_t super[OFL_MAX_DGRAM], seg[OFL_MAX_DGRAM];
    struct ofl_batch b;
    struct virtio_net_hdr vh;
    struct ofl_split sp;
    size_t len, n = 0;

    (void)state;
    make_run(4, 100, ACK | PSH);
    assert_int_equal(tt_ofl_batch_init(&b, 1 << 17), 0);
    for (size_t i = 0; i < 4; i++)
        assert_true(tt_ofl_batch_add(&b, wire[i], wlen[i]));
    assert_true(b.closed); /* short, and PSH: nothing more joins */
    assert_int_equal(b.n, 4);
    len = write_super(&b, super, &vh);
    assert_int_equal(len, HLEN + 3 * MSS + 100);
    assert_int_equal(super[2] << 8 | super[3], len);
    assert_int_equal(super[33], ACK | PSH);
    assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(vh.gso_size, MSS);
    assert_int_equal(vh.hdr_len, HLEN);
    assert_int_equal(vh.csum_start, 20);
    assert_int_equal(vh.csum_offset, 16);
    /* IP header checksum valid; TCP field: the pseudo-header sum for the whole length */
    assert_int_equal(tt_csum_fold(tt_csum_add(0, super, 20)), 0);
    {
        /* Completing the partial sum as the kernel does gives a valid segment. */
        uint32_t s = tt_csum_add(0, super + 20, len - 20);
        uint8_t c[2];
        put16(c, tt_csum_fold(s));
        uint8_t whole[HLEN + 3 * MSS + 100];
        memcpy(whole, super, len);
        memcpy(whole + 36, c, 2);
        assert_int_equal(tt_csum_fold(tt_csum_add(
                             tt_csum_pseudo(0x0a070002, 0x0a070001, 6, (uint16_t)(len - 20)),
                             whole + 20, len - 20)),
                         0);
    }
    /* Cut back: the very segments the engine sent (IP IDs counting up, as Linux's TSO). */
    assert_int_equal(tt_ofl_split_start(&sp, &vh, super, len), 1);
    while ((len = tt_ofl_split_next(&sp, seg, sizeof(seg))) > 0) {
        assert_in_range(n, 0, 3);
        assert_int_equal(len, wlen[n]);
        assert_memory_equal(seg, wire[n], len);
        n++;
    }
    assert_int_equal(n, 4);
    tt_ofl_batch_free(&b);
}

static void a_run_stops_where_the_wire_would_differ(void **state)
{
    struct ofl_batch b;
    uint8_t p[HLEN + MSS + 1];
    struct seg_spec base = {1000 + MSS, 777, 41, 501, ACK, MSS};
    struct seg_spec s;

    (void)state;
    make_run(1, MSS, ACK);
    assert_int_equal(tt_ofl_batch_init(&b, 1 << 17), 0);
    assert_true(tt_ofl_batch_add(&b, wire[0], wlen[0]));
    s = base, s.seq += 1; /* a gap */
    assert_false(tt_ofl_batch_add(&b, p, build(p, &s)));
    s = base, s.ack += 1;
    assert_false(tt_ofl_batch_add(&b, p, build(p, &s)));
    s = base, s.win += 1;
    assert_false(tt_ofl_batch_add(&b, p, build(p, &s)));
    s = base, s.flags = ACK | FIN; /* only ACK and PSH may ride in a run */
    assert_false(tt_ofl_batch_add(&b, p, build(p, &s)));
    s = base, s.flags = ACK | CWR;
    assert_false(tt_ofl_batch_add(&b, p, build(p, &s)));
    s = base, s.payload = 0; /* a bare ACK */
    assert_false(tt_ofl_batch_add(&b, p, build(p, &s)));
    s = base, s.payload = MSS + 1; /* longer than the first: gso_size would lie */
    assert_false(tt_ofl_batch_add(&b, p, build(p, &s)));
    s = base;
    build(p, &s);
    p[23] ^= 1; /* another flow */
    assert_false(tt_ofl_batch_add(&b, p, HLEN + MSS));
    assert_int_equal(b.n, 1);
    s = base, s.payload = 10; /* a short one joins, and ends the run */
    assert_true(tt_ofl_batch_add(&b, p, build(p, &s)));
    s = base, s.seq += 10;
    assert_false(tt_ofl_batch_add(&b, p, build(p, &s)));
    tt_ofl_batch_reset(&b);
    s = base, s.flags = SYN | ACK; /* alone, fine; nothing joins it */
    assert_true(tt_ofl_batch_add(&b, p, build(p, &s)));
    s = base, s.seq += MSS;
    assert_false(tt_ofl_batch_add(&b, p, build(p, &s)));
    tt_ofl_batch_free(&b);
}

/* Placed in other memory (the pump's ring), the run is joined there, ready to write as it lies. */
static void a_placed_run_is_joined_where_it_will_be_written(void **state)
{
    static uint8_t ring[OFL_VNET_LEN + OFL_MAX_DGRAM];
    struct ofl_batch b;
    struct virtio_net_hdr vh;
    size_t len, off = HLEN;

    (void)state;
    make_run(3, 100, ACK | PSH);
    assert_int_equal(tt_ofl_batch_init(&b, 1 << 17), 0);
    tt_ofl_batch_place(&b, ring, OFL_MAX_DGRAM);
    for (size_t i = 0; i < 3; i++)
        assert_true(tt_ofl_batch_add(&b, wire[i], wlen[i]));
    len = tt_ofl_batch_finish(&b);
    assert_ptr_equal(b.buf, ring);
    assert_int_equal(len, OFL_VNET_LEN + HLEN + 2 * MSS + 100);
    memcpy(&vh, ring, OFL_VNET_LEN);
    assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    assert_int_equal(vh.gso_size, MSS);
    /* each payload right after the one before: no copy of a header between them */
    for (size_t i = 0; i < 3; i++) {
        assert_memory_equal(ring + OFL_VNET_LEN + off, wire[i] + HLEN, wlen[i] - HLEN);
        off += wlen[i] - HLEN;
    }
    tt_ofl_batch_reset(&b); /* back to its own memory */
    assert_ptr_equal(b.buf, b.own);
    tt_ofl_batch_free(&b);
}

/* A lone TCP datagram is written as it is, the kernel asked to complete its checksum. */
static void a_lone_datagram_is_itself(void **state)
{
    struct ofl_batch b;
    struct virtio_net_hdr vh;

    (void)state;
    make_run(1, 100, ACK | PSH);
    assert_int_equal(tt_ofl_batch_init(&b, 1 << 17), 0);
    assert_true(tt_ofl_batch_add(&b, wire[0], wlen[0]));
    assert_int_equal(tt_ofl_batch_finish(&b), OFL_VNET_LEN + wlen[0]);
    memcpy(&vh, b.buf, OFL_VNET_LEN);
    assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_memory_equal(b.buf + OFL_VNET_LEN, wire[0], wlen[0]);
    tt_ofl_batch_free(&b);
}

static void a_run_is_bounded_by_64k(void **state)
{
    struct ofl_batch b;
    uint8_t p[HLEN + MSS];
    size_t joined = 0;

    (void)state;
    assert_int_equal(tt_ofl_batch_init(&b, 1 << 17), 0);
    for (size_t i = 0; i < 60; i++) {
        struct seg_spec s = {(uint32_t)(i * MSS), 1, (uint16_t)i, 501, ACK, MSS};
        if (!tt_ofl_batch_add(&b, p, build(p, &s)))
            break;
        joined++;
    }
    assert_int_equal(joined, (OFL_MAX_DGRAM - HLEN) / MSS); /* 45 */
    tt_ofl_batch_free(&b);
}

static void the_kernels_super_segment_is_cut_like_linux(void **state)
{
    static uint8_t super[HLEN + 3 * MSS], seg[HLEN + MSS];
    struct virtio_net_hdr vh = {
        VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, HLEN, MSS, 20, 16};
    struct seg_spec s = {5000, 9, 300, 1000, ACK | PSH | FIN | CWR, 2 * MSS + 7};
    struct ofl_split sp;
    size_t len = build(super, &s), n = 0, got;

    (void)state;
    make_partial(super, len);
    assert_int_equal(tt_ofl_split_start(&sp, &vh, super, len), 1);
    while ((got = tt_ofl_split_next(&sp, seg, sizeof(seg))) > 0) {
        /* each goes to the engine with the packet's segment size, the short last one too */
        assert_int_equal(tt_ofl_split_gso_size(&sp), MSS);
        uint8_t want = n == 0 ? ACK | CWR : n == 1 ? ACK : ACK | PSH | FIN;
        assert_int_equal(got, HLEN + (n < 2 ? MSS : 7));
        assert_int_equal(seg[33], want);
        assert_int_equal(seg[4] << 8 | seg[5], 300 + n);
        assert_int_equal((uint32_t)seg[24] << 24 | seg[25] << 16 | seg[26] << 8 | seg[27],
                         5000 + n * MSS);
        assert_int_equal(tt_csum_fold(tt_csum_add(0, seg, 20)), 0);
        assert_int_equal(tt_csum_fold(tt_csum_add(
                             tt_csum_pseudo(0x0a070002, 0x0a070001, 6, (uint16_t)(got - 20)),
                             seg + 20, got - 20)),
                         0);
        assert_memory_equal(seg + HLEN, super + HLEN + n * MSS, got - HLEN);
        n++;
    }
    assert_int_equal(n, 3);
}

/* For the engine alone (tt_engine_input_rx(), csum_known): the same segments, their TCP checksum 0.
 */
static void segments_for_the_engine_alone_skip_the_tcp_checksum(void **state)
{
    static uint8_t super[HLEN + 3 * MSS], seg[HLEN + MSS];
    struct virtio_net_hdr vh = {
        VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, HLEN, MSS, 20, 16};
    struct seg_spec s = {5000, 9, 300, 1000, ACK | PSH, 2 * MSS + 7};
    struct ofl_split sp;
    size_t len = build(super, &s), n = 0, got;

    (void)state;
    make_partial(super, len);
    assert_int_equal(tt_ofl_split_start(&sp, &vh, super, len), 1);
    sp.no_tcp_csum = true;
    while ((got = tt_ofl_split_next(&sp, seg, sizeof(seg))) > 0) {
        assert_int_equal(got, HLEN + (n < 2 ? MSS : 7));
        assert_int_equal(seg[36] << 8 | seg[37], 0);
        assert_int_equal(tt_csum_fold(tt_csum_add(0, seg, 20)), 0); /* the IP header's is kept */
        assert_memory_equal(seg + HLEN, super + HLEN + n * MSS, got - HLEN);
        n++;
    }
    assert_int_equal(n, 3);
}

/* The engine's partial checksums (tt_engine_set_csum_partial()): told to
 * the kernel with NEEDS_CSUM at 20 + 16, completed for a capture. */
static void the_engines_partial_checksum_is_told_and_completed(void **state)
{
    uint8_t p[HLEN + 33], want[HLEN + 33];
    struct seg_spec s = {77, 88, 5, 100, ACK | PSH, 33};
    struct virtio_net_hdr vh;
    size_t len = build(want, &s);

    (void)state;
    memcpy(p, want, len);
    make_partial(p, len);
    assert_true(tt_ofl_is_tcp(p, len));
    p[9] = 1;
    assert_false(tt_ofl_is_tcp(p, len)); /* ICMP: the engine's checksums are complete */
    p[9] = 6;
    tt_ofl_partial_header(&vh);
    assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    assert_int_equal(vh.csum_start, 20);
    assert_int_equal(vh.csum_offset, 16);
    tt_ofl_complete_tcp(p, len);
    assert_memory_equal(p, want, len);
}

/* Cut where it lies: the very segments tt_ofl_split_next() makes, each
 * right before its payload in the super-segment's buffer. */
static void a_super_segment_is_cut_in_place_alike(void **state)
{
    static uint8_t super[HLEN + 3 * MSS], copy[HLEN + 3 * MSS], want[3][HLEN + MSS];
    struct virtio_net_hdr vh = {
        VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, HLEN, MSS, 20, 16};
    struct seg_spec s = {5000, 9, 300, 1000, ACK | PSH | FIN | CWR, 2 * MSS + 7};
    struct ofl_split sp;
    size_t len = build(super, &s), cut_len[3], n = 0, got;
    uint8_t *at;

    (void)state;
    make_partial(super, len);
    memcpy(copy, super, len);
    assert_int_equal(tt_ofl_split_start(&sp, &vh, copy, len), 1);
    while (n < 3 && (cut_len[n] = tt_ofl_split_next(&sp, want[n], sizeof(want[n]))) > 0)
        n++;
    assert_int_equal(n, 3);
    assert_int_equal(tt_ofl_split_start(&sp, &vh, super, len), 1);
    for (n = 0; (got = tt_ofl_split_next_in_place(&sp, &at)) > 0; n++) {
        assert_ptr_equal(at, super + n * MSS);
        assert_int_equal(got, cut_len[n]);
        assert_memory_equal(at, want[n], got);
    }
    assert_int_equal(n, 3);
}

/* A lone TCP segment the kernel left partial at the TCP checksum, or checked: vouched for. */
static void the_kernels_word_on_a_lone_segment(void **state)
{
    uint8_t p[HLEN + 33];
    struct seg_spec s = {77, 88, 5, 100, ACK | PSH, 33};
    size_t len = build(p, &s);
    struct virtio_net_hdr partial = {
        VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, 0, 0, 20, 16};
    struct virtio_net_hdr valid = {
        VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_GSO_NONE, 0, 0, 0, 0};
    struct virtio_net_hdr none = {0}, elsewhere = partial;
    struct virtio_net_hdr super = {
        VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, HLEN, MSS, 20, 16};

    (void)state;
    elsewhere.csum_offset = 6; /* a UDP checksum's place */
    assert_true(tt_ofl_csum_vouched(&partial, p, len));
    assert_true(tt_ofl_csum_vouched(&valid, p, len));
    assert_false(tt_ofl_csum_vouched(&none, p, len));      /* forwarded: nobody checked it */
    assert_false(tt_ofl_csum_vouched(&elsewhere, p, len)); /* not the TCP checksum */
    assert_false(tt_ofl_csum_vouched(&super, p, len));     /* cut first */
    p[9] = 17;
    assert_false(tt_ofl_csum_vouched(&partial, p, len)); /* not TCP */
}

static void a_partial_checksum_is_completed_in_place(void **state)
{
    uint8_t p[HLEN + 33], want[HLEN + 33];
    struct virtio_net_hdr vh = {VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, 0, 0, 20, 16};
    struct seg_spec s = {1, 2, 3, 4, ACK | PSH, 33};
    struct ofl_split sp;
    size_t len = build(p, &s);

    (void)state;
    memcpy(want, p, len);
    make_partial(p, len);
    assert_memory_not_equal(p, want, len);
    assert_int_equal(tt_ofl_split_start(&sp, &vh, p, len), 0);
    assert_memory_equal(p, want, len);
    /* one wire datagram: no GSO */
    assert_int_equal(tt_ofl_split_gso_size(&sp), 0);
    vh.csum_offset = HLEN + 33 - 21; /* its two bytes would pass the end */
    assert_int_equal(tt_ofl_split_start(&sp, &vh, p, len), -EINVAL);
}

static void what_we_never_asked_for_is_refused(void **state)
{
    uint8_t p[HLEN + 100];
    struct virtio_net_hdr vh = {0, VIRTIO_NET_HDR_GSO_UDP, 0, 100, 0, 0};
    struct seg_spec s = {1, 2, 3, 4, ACK, 100};
    struct ofl_split sp;
    size_t len = build(p, &s);

    (void)state;
    assert_int_equal(tt_ofl_split_start(&sp, &vh, p, len), -EINVAL);
    vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    vh.gso_size = 0;
    assert_int_equal(tt_ofl_split_start(&sp, &vh, p, len), -EINVAL);
    vh.gso_size = 50;
    p[9] = 17; /* not TCP */
    assert_int_equal(tt_ofl_split_start(&sp, &vh, p, len), -EINVAL);
}

/*
 * The engine's own run (tt_engine_output_gso_size()): the first segment's
 * header with the whole length and the last one's flags, then the
 * payloads. tt_ofl_gso_header() makes it the super-segment the batch
 * makes of the same wire segments; cut with partial checksums (for a
 * capture or --fault), the segments are the engine's own, their TCP
 * checksum left to the device as it leaves every other.
 */
static void an_engine_run_is_the_batchs_super_segment(void **state)
{
    static uint8_t super[OFL_MAX_DGRAM], run[OFL_MAX_DGRAM], seg[OFL_MAX_DGRAM];
    uint8_t hdr[80];
    struct ofl_batch b;
    struct virtio_net_hdr vh, evh;
    struct ofl_split sp;
    size_t len, run_len = HLEN, n = 0;

    (void)state;
    make_run(4, 100, ACK | PSH);
    assert_int_equal(tt_ofl_batch_init(&b, 1 << 17), 0);
    for (size_t i = 0; i < 4; i++)
        assert_true(tt_ofl_batch_add(&b, wire[i], wlen[i]));
    len = write_super(&b, super, &vh);
    memcpy(run, wire[0], HLEN);
    for (size_t i = 0; i < 4; i++) {
        memcpy(run + run_len, wire[i] + HLEN, wlen[i] - HLEN);
        run_len += wlen[i] - HLEN;
    }
    put16(run + 2, (uint16_t)run_len);
    run[33] = ACK | PSH;
    make_partial(run, wlen[0]); /* the engine leaves the first segment's sum */
    assert_int_equal(run_len, len);
    assert_int_equal(tt_ofl_gso_header(run, run_len, MSS, hdr, &evh), HLEN);
    assert_memory_equal(hdr, super, HLEN);
    assert_memory_equal(&evh, &vh, sizeof(vh));
    assert_int_equal(tt_ofl_gso_header(run, run_len - 1, MSS, hdr, &evh), 0); /* length wrong */

    assert_int_equal(tt_ofl_split_start(&sp, &vh, run, run_len), 1);
    sp.partial_csum = true;
    while ((len = tt_ofl_split_next(&sp, seg, sizeof(seg))) > 0) {
        assert_in_range(n, 0, 3);
        make_partial(wire[n], wlen[n]);
        assert_int_equal(len, wlen[n]);
        assert_memory_equal(seg, wire[n], len);
        n++;
    }
    assert_int_equal(n, 4);
    tt_ofl_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_run_joins_and_cuts_back_to_the_same_segments),
        cmocka_unit_test(a_run_stops_where_the_wire_would_differ),
        cmocka_unit_test(a_run_is_bounded_by_64k),
        cmocka_unit_test(a_placed_run_is_joined_where_it_will_be_written),
        cmocka_unit_test(a_lone_datagram_is_itself),
        cmocka_unit_test(the_kernels_super_segment_is_cut_like_linux),
        cmocka_unit_test(segments_for_the_engine_alone_skip_the_tcp_checksum),
        cmocka_unit_test(the_engines_partial_checksum_is_told_and_completed),
        cmocka_unit_test(a_super_segment_is_cut_in_place_alike),
        cmocka_unit_test(the_kernels_word_on_a_lone_segment),
        cmocka_unit_test(a_partial_checksum_is_completed_in_place),
        cmocka_unit_test(what_we_never_asked_for_is_refused),
        cmocka_unit_test(an_engine_run_is_the_batchs_super_segment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
