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

/* Data written, sent and acknowledged: the connection holds no buffer and
 * no records, and the blocks wait in the spares (tcp_ack.c, tcp_skb.c,
 * tcp_txstamp.c). */
static void acked_data_leaves_its_blocks_in_the_spares(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(spares(h, TT_SPARE_RING), 0);
    assert_int_equal(h_write(h, "hello", 5), 5);
    h_expect_data(h, TCP_ACK | TCP_PSH, DATA0, IRS + 1, "hello", 5);
    assert_non_null(h->conn->sndbuf.buf);
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 5, NULL, 0);
    assert_null(h->conn->sndbuf.buf);
    assert_null(h->conn->skbs.v);
    assert_null(h->conn->txstamps.v);
    assert_int_equal(spares(h, TT_SPARE_RING), 1);
    assert_int_equal(spares(h, TT_SPARE_SKB), 1);
    assert_int_equal(spares(h, TT_SPARE_TXSTAMP), 1);
}

/* The next write takes the spare ring buffer back, and sends what it
 * wrote, not what the buffer held before. */
static void next_write_takes_the_spare_ring(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(h_write(h, "hello", 5), 5);
    h_expect_data(h, TCP_ACK | TCP_PSH, DATA0, IRS + 1, "hello", 5);
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 5, NULL, 0);
    void *spare = h->eng->spares.head[TT_SPARE_RING];
    assert_non_null(spare);
    assert_int_equal(h_write(h, "world", 5), 5);
    h_expect_data(h, TCP_ACK | TCP_PSH, DATA0 + 5, IRS + 1, "world", 5);
    assert_ptr_equal(h->conn->sndbuf.buf, spare);
    assert_int_equal(spares(h, TT_SPARE_RING), 0);
    assert_int_equal(spares(h, TT_SPARE_SKB), 0);
    assert_int_equal(spares(h, TT_SPARE_TXSTAMP), 0);
}

/* A write larger than the first buffer allocates its own and leaves the
 * spare alone; an empty ring then gives back only a first-size buffer. */
static void large_write_leaves_the_spare_alone(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(h_write(h, "hello", 5), 5);
    h_expect_data(h, TCP_ACK | TCP_PSH, DATA0, IRS + 1, "hello", 5);
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 5, NULL, 0);
    h->peer_wnd = 0; /* keep it queued */
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 5, NULL, 0);
    assert_int_equal(h_write_pattern(h, 0, RING_MIN_ALLOC + 1), RING_MIN_ALLOC + 1);
    assert_int_equal(spares(h, TT_SPARE_RING), 1);
    assert_true(h->conn->sndbuf.alloc > RING_MIN_ALLOC);
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
        cmocka_unit_test_setup_teardown(acked_data_leaves_its_blocks_in_the_spares, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(next_write_takes_the_spare_ring, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(large_write_leaves_the_spare_alone, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(freed_tcb_is_the_next_connections, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(spares_are_bounded, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
