/*
 * Scenarios: the cache of recent connections that a segment's lookup tries
 * before the keyed hash (conn_table.c, issue 15). It only saves work: two
 * connections sharing a slot each get their own segments, a connection
 * that ended is not found through it, and a connection's slot is filled
 * when it is made, so its handshake's ACK finds it there.
 */
#include "engine.h" /* the cache is the engine's own, not the API's */
#undef MS           /* harness.h has its own */
#undef SEC
#include "harness.h"

/* One slot every TT_RECENT_CONNS ports of the peer (the ports' low bits). */
#define SAME_SLOT_PORT (H_PEER_PORT + TT_RECENT_CONNS)

struct side {
    tt_conn_t *conn;
    uint32_t iss, irs;
    uint16_t rport;
};

static void save(struct harness *h, struct side *s)
{
    s->conn = h->conn;
    s->iss = h->iss;
    s->irs = h->irs;
    s->rport = h->rport;
}

static void use(struct harness *h, const struct side *s)
{
    h->conn = s->conn;
    h->iss = s->iss;
    h->irs = s->irs;
    h->rport = s->rport;
}

static int cached(const struct harness *h, const tt_conn_t *c)
{
    for (int i = 0; i < TT_RECENT_CONNS; i++)
        if (h->eng->recent[i] == c)
            return 1;
    return 0;
}

/* The ACKs of the data, whatever their timing. */
static void drain(struct harness *h)
{
    while (h_pending(h) > 0)
        h_pop_any(h);
}

/* A new connection is in the cache from its SYN on: the handshake's ACK
 * finds it there. */
static void new_connection_is_cached(void **state)
{
    struct harness *h = *state;
    h_reach_syn_received(h);
    assert_non_null(h->eng->all_conns); /* the newest TCB, in SYN_RECEIVED */
    assert_true(cached(h, h->eng->all_conns));
}

/* Two connections whose 4-tuples share a slot: each segment reaches its
 * own connection, whichever one the slot held last. */
static void two_connections_in_one_slot(void **state)
{
    struct harness *h = *state;
    struct side a, b;
    h_reach_established_passive(h);
    save(h, &a);
    h->rport = SAME_SLOT_PORT;
    h->irs += 100000;
    h_peer_connects(h);
    save(h, &b);
    assert_true(a.conn != b.conn);
    assert_false(cached(h, a.conn)); /* b took its slot */
    for (uint32_t i = 0; i < 3; i++) {
        use(h, &a);
        h_send(h, TCP_ACK | TCP_PSH, IRS + 1 + i, ISS + 1, "x", 1);
        drain(h);
        use(h, &b);
        h_send(h, TCP_ACK | TCP_PSH, IRS + 1 + 2 * i, ISS + 1, "yy", 2);
        drain(h);
    }
    tt_conn_info_t ia, ib;
    tt_conn_get_info(a.conn, &ia);
    tt_conn_get_info(b.conn, &ib);
    assert_int_equal(ia.rcv_nxt, a.irs + 1 + 3);
    assert_int_equal(ib.rcv_nxt, b.irs + 1 + 6);
}

/* A connection that ended leaves the cache: a segment for its 4-tuple then
 * meets no connection (RFC 9293 3.10.7.1: a RST), not the freed TCB. */
static void ended_connection_leaves_the_cache(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    tt_conn_t *old = h->conn;
    h_close_reset(h);
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1, IRS + 1);
    assert_false(cached(h, old));
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_RST, ISS + 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_connection_is_cached, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(two_connections_in_one_slot, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ended_connection_leaves_the_cache, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
