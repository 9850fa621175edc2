/*
 * Scenarios: the engine's spare blocks (spare.c, issue 15). What a short
 * connection frees (the send ring's first buffer, the first skb and
 * RTT-sample records once its data is acknowledged, its TCB at its end)
 * waits in the engine for the next connection instead of going back to
 * free(); each list is bounded; a reused TCB starts as a new one.
 * Nothing here is protocol: the segments on the wire are those of a
 * fresh allocation.
 */
#include <stdlib.h>

#include "engine.h" /* the spares are the engine's own, not the API's */
#undef MS           /* harness.h has its own */
#undef SEC
#include "harness.h"

#define DATA0 (ISS + 1)

static uint32_t spares(const struct harness *h, enum tt_spare_kind k)
{
    return h->eng->spares.len[k];
}

/* An established connection's first write, "hello", sent and acknowledged. */
static void hello_acked(struct harness *h)
{
    h_reach_established_passive(h);
    assert_int_equal(h_write(h, "hello", 5), 5);
    h_expect_data(h, TCP_ACK | TCP_PSH, DATA0, IRS + 1, "hello", 5);
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 5, NULL, 0);
}

/* Data written, sent and acknowledged: the connection keeps its send
 * ring's first buffer and its first skb and RTT-sample records for the
 * next write (tcp_ack.c, tcp_skb.c, tcp_txstamp.c): a request/response
 * connection takes nothing from the spares and gives nothing back. */
static void acked_data_leaves_the_first_blocks_with_the_connection(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(h_write(h, "hello", 5), 5);
    h_expect_data(h, TCP_ACK | TCP_PSH, DATA0, IRS + 1, "hello", 5);
    void *ring = h->conn->sndbuf.buf, *skbs = h->conn->skbs.v, *ts = h->conn->txstamps.v;
    assert_non_null(ring);
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 5, NULL, 0);
    assert_int_equal(h->conn->sndbuf.len, 0);
    assert_ptr_equal(h->conn->sndbuf.buf, ring);
    assert_ptr_equal(h->conn->skbs.v, skbs);
    assert_ptr_equal(h->conn->txstamps.v, ts);
    assert_int_equal(h->eng->spares.kept, RING_MIN_ALLOC);
    assert_int_equal(spares(h, TT_SPARE_RING), 0);
    assert_int_equal(spares(h, TT_SPARE_SKB), 0);
    assert_int_equal(spares(h, TT_SPARE_TXSTAMP), 0);
}

/* The next write reuses the kept buffer and records, and sends what it
 * wrote, not what the buffer held before; the kept bytes are counted once. */
static void next_write_reuses_the_kept_blocks(void **state)
{
    struct harness *h = *state;
    hello_acked(h);
    void *ring = h->conn->sndbuf.buf, *skbs = h->conn->skbs.v, *ts = h->conn->txstamps.v;
    assert_int_equal(h_write(h, "world", 5), 5);
    h_expect_data(h, TCP_ACK | TCP_PSH, DATA0 + 5, IRS + 1, "world", 5);
    assert_ptr_equal(h->conn->sndbuf.buf, ring);
    assert_ptr_equal(h->conn->skbs.v, skbs);
    assert_ptr_equal(h->conn->txstamps.v, ts);
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 10, NULL, 0);
    assert_int_equal(h->eng->spares.kept, RING_MIN_ALLOC);
    assert_int_equal(spares(h, TT_SPARE_RING), 0);
}

/* A write larger than the first buffer grows the ring; once empty, the
 * grown buffer is not kept (an idle connection holds at most a first
 * one), and the spare list takes only first-size buffers. */
static void grown_ring_is_not_kept(void **state)
{
    struct harness *h = *state;
    hello_acked(h);
    assert_int_equal(h->eng->spares.kept, RING_MIN_ALLOC);
    h->peer_wnd = 0; /* keep it queued */
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 5, NULL, 0);
    assert_int_equal(h_write_pattern(h, 0, RING_MIN_ALLOC + 1), RING_MIN_ALLOC + 1);
    assert_true(h->conn->sndbuf.alloc > RING_MIN_ALLOC);
    h->peer_wnd = 65535;
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 5, NULL, 0);
    while (h_pending(h))
        h_pop_any(h);
    assert_int_equal(h->conn->snd_nxt, DATA0 + 5 + RING_MIN_ALLOC + 1);
    h_send(h, TCP_ACK, IRS + 1, h->conn->snd_nxt, NULL, 0);
    assert_int_equal(h->conn->sndbuf.len, 0);
    assert_null(h->conn->sndbuf.buf);
    assert_int_equal(h->eng->spares.kept, 0);
    assert_int_equal(spares(h, TT_SPARE_RING), 0);
}

/* The kept buffer goes to the spares with its TCB (the count with it). */
static void closed_connection_gives_its_kept_blocks_back(void **state)
{
    struct harness *h = *state;
    hello_acked(h);
    assert_int_equal(h->eng->spares.kept, RING_MIN_ALLOC);
    h_close_reset(h);
    h_pop_any(h); /* the RST */
    assert_int_equal(h->eng->spares.kept, 0);
    assert_int_equal(spares(h, TT_SPARE_RING), 1);
    assert_int_equal(spares(h, TT_SPARE_SKB), 1);
    assert_int_equal(spares(h, TT_SPARE_TXSTAMP), 1);
}

/* The connections of an engine keep at most TT_SPARE_KEPT_MAX bytes of
 * empty send buffers: beyond, an idle connection's buffer goes to the
 * spares as before, so that many idle connections do not each hold one. */
static void kept_buffers_are_bounded(void **state)
{
    struct harness *h = *state;
    uint32_t n = TT_SPARE_KEPT_MAX / RING_MIN_ALLOC;
    h_reach_established_passive(h);
    for (uint32_t i = 0; i <= n; i++) {
        if (i) {
            h->rport = (uint16_t)(H_PEER_PORT + i);
            h_peer_connects(h);
        }
        assert_int_equal(h_write(h, "hello", 5), 5);
        h_pop_any(h);
        h_send(h, TCP_ACK, IRS + 1, h->conn->snd_nxt, NULL, 0);
        assert_int_equal(h->conn->sndbuf.len, 0);
        if (i < n)
            assert_non_null(h->conn->sndbuf.buf);
    }
    assert_int_equal(h->eng->spares.kept, TT_SPARE_KEPT_MAX);
    assert_null(h->conn->sndbuf.buf); /* the one past the bound */
    assert_int_equal(spares(h, TT_SPARE_RING), 1);
}

/* A connection's TCB, once freed, is the next connection's, zeroed: it
 * starts in the state and with the numbers of a new one. */
static void freed_tcb_is_the_next_connections(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    struct tt_conn *old = h->conn;
    old->cwnd = 12345; /* something a new TCB must not inherit */
    h_close_reset(h);
    h_pop_any(h); /* the RST */
    assert_int_equal(spares(h, TT_SPARE_TCB), 1);
    h->rport = H_PEER_PORT + 1;
    h_peer_connects(h);
    assert_ptr_equal(h->conn, old);
    assert_int_equal(spares(h, TT_SPARE_TCB), 0);
    assert_true(h->conn->cwnd != 12345);
    assert_int_equal(h->conn->t.rport, H_PEER_PORT + 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

/* Each list keeps at most TT_SPARE_MAX blocks: the rest go to free(), so
 * an engine that once had many connections does not keep their memory. */
static void spares_are_bounded(void **state)
{
    struct harness *h = *state;
    for (int i = 0; i < TT_SPARE_MAX + 8; i++)
        tt_spare_give(h->eng, TT_SPARE_SKB, malloc(64), 64);
    assert_int_equal(spares(h, TT_SPARE_SKB), TT_SPARE_MAX);
    void *p = tt_spare_take(h->eng, TT_SPARE_SKB, 64);
    assert_non_null(p);
    assert_int_equal(spares(h, TT_SPARE_SKB), TT_SPARE_MAX - 1);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(acked_data_leaves_the_first_blocks_with_the_connection,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(next_write_reuses_the_kept_blocks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(grown_ring_is_not_kept, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(closed_connection_gives_its_kept_blocks_back, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(kept_buffers_are_bounded, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(freed_tcb_is_the_next_connections, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(spares_are_bounded, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
