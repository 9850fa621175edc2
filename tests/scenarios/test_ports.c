/*
 * Ephemeral ports (RFC 6056, --ip-local-port-range) and what holds them:
 * live connections, TIME_WAIT entries and listeners. When every port of the
 * range is taken towards a peer, connect fails with EADDRNOTAVAIL ("Cannot
 * assign requested address"), the error TIME_WAIT is famous for.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"

/* Our SYNs are not the subject here: forget every segment sent so far. */
static void drop_output(struct harness *h)
{
    while (h_pending(h))
        h->out_head++;
}

/* An active open to (peer, rport) from the range; returns our port, or the error. */
static int connect_port(struct harness *h, uint32_t peer, uint16_t rport)
{
    tt_conn_t *c;
    int rc = tt_connect(h->eng, peer, rport, NULL, &c);
    drop_output(h);
    if (rc < 0)
        return rc;
    tt_conn_info_t info;
    tt_conn_get_info(c, &info);
    return info.lport;
}

static void set_range(struct harness *h, uint16_t lo, uint16_t hi)
{
    h->cfg.port_lo = lo;
    h->cfg.port_hi = hi;
    h_reinit(h);
}

/* RFC 6056 2.1: ports come from the configured range, one 4-tuple each. */
static void ports_stay_in_range_and_unique(void **state)
{
    struct harness *h = *state;
    set_range(h, 40000, 40009);
    uint8_t used[10] = {0};
    for (int i = 0; i < 10; i++) {
        int port = connect_port(h, H_PEER_ADDR, 80);
        assert_in_range(port, 40000, 40009);
        size_t slot = (size_t)(port - 40000) % 10;
        assert_int_equal(used[slot], 0);
        used[slot] = 1;
    }
}

/* Every port towards this peer taken: EADDRNOTAVAIL, and nothing is sent. */
static void exhausted_range_fails_with_eaddrnotavail(void **state)
{
    struct harness *h = *state;
    set_range(h, 40000, 40002);
    for (int i = 0; i < 3; i++)
        assert_true(connect_port(h, H_PEER_ADDR, 80) > 0);
    tt_conn_t *c;
    assert_int_equal(tt_connect(h->eng, H_PEER_ADDR, 80, NULL, &c), -EADDRNOTAVAIL);
    h_expect_nothing(h);
    /* docs/contract.md §4.2 connect_fail: the destination, no local port, the errno */
    assert_true(h->ev_len > 0);
    const tt_event_t *ev = &h->ev[h->ev_len - 1];
    assert_int_equal(ev->type, TT_EV_CONNECT_FAIL);
    assert_int_equal(ev->err, -EADDRNOTAVAIL);
    assert_int_equal(ev->lport, 0);
    assert_int_equal(ev->raddr, H_PEER_ADDR);
    assert_int_equal(ev->rport, 80);
    assert_int_equal(ev->now_us, h->now);
    assert_string_equal(tt_strerror(-EADDRNOTAVAIL), "Cannot assign requested address");
}

/* The uniqueness is of the 4-tuple: another peer port, or another peer,
 * may use the same local port (RFC 6056 2.2). */
static void same_port_serves_other_peers(void **state)
{
    struct harness *h = *state;
    set_range(h, 40000, 40000);
    assert_int_equal(connect_port(h, H_PEER_ADDR, 80), 40000);
    assert_int_equal(connect_port(h, H_PEER_ADDR, 81), 40000);
    assert_int_equal(connect_port(h, H_PEER_ADDR + 1, 80), 40000);
    assert_int_equal(connect_port(h, H_PEER_ADDR, 80), -EADDRNOTAVAIL);
}

/* A TIME_WAIT entry holds its 4-tuple for 2*MSL (tcp_tw_reuse=0): the only
 * port is unavailable until the entry expires, and available at once after. */
static void time_wait_holds_the_port_until_2msl(void **state)
{
    struct harness *h = *state;
    set_range(h, 40000, 40000);
    h_reach_established_active(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    tt_conn_t *c;
    assert_int_equal(tt_connect(h->eng, H_PEER_ADDR, H_SERVICE_PORT, NULL, &c), -EADDRNOTAVAIL);
    h_advance(h, 2 * h->cfg.msl_us - 1);
    assert_int_equal(tt_connect(h->eng, H_PEER_ADDR, H_SERVICE_PORT, NULL, &c), -EADDRNOTAVAIL);
    h_advance(h, 1);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    assert_int_equal(connect_port(h, H_PEER_ADDR, H_SERVICE_PORT), 40000);
}

/* TIME_WAIT pins its 4-tuple, not the local port: as Linux's connect
 * (__inet_hash_connect) checks the whole 4-tuple, the only port, in
 * TIME_WAIT towards one peer, serves another peer port and another peer at
 * once, and stays refused for the 4-tuple it pins (docs/contract.md §2.7 item 2). */
static void time_wait_pins_the_4tuple_not_the_port(void **state)
{
    struct harness *h = *state;
    set_range(h, 40000, 40000);
    h_reach_established_active(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    assert_int_equal(connect_port(h, H_PEER_ADDR, H_SERVICE_PORT + 1), 40000);
    assert_int_equal(connect_port(h, H_PEER_ADDR + 1, H_SERVICE_PORT), 40000);
    tt_conn_t *c;
    assert_int_equal(tt_connect(h->eng, H_PEER_ADDR, H_SERVICE_PORT, NULL, &c), -EADDRNOTAVAIL);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
}

/* A listening port is never handed out as an ephemeral one (Linux: its bind
 * bucket is not shareable). */
static void listening_port_is_skipped(void **state)
{
    struct harness *h = *state;
    set_range(h, 40000, 40001);
    h_listen(h, 40000);
    assert_int_equal(connect_port(h, H_PEER_ADDR, 80), 40001);
    assert_int_equal(connect_port(h, H_PEER_ADDR, 80), -EADDRNOTAVAIL);
}

/* RFC 6056 3.3.4 (Algorithm 4): where the search starts depends on the
 * destination through a keyed hash, so two peers do not see one sequence. */
static void start_port_depends_on_the_peer(void **state)
{
    struct harness *h = *state;
    set_range(h, 32768, 60999);
    int a = connect_port(h, H_PEER_ADDR, 80);
    int b = connect_port(h, H_PEER_ADDR + 7, 80);
    int c = connect_port(h, H_PEER_ADDR + 9, 443);
    assert_true(a > 0 && b > 0 && c > 0);
    assert_true(a != b || b != c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ports_stay_in_range_and_unique, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(exhausted_range_fails_with_eaddrnotavail, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(same_port_serves_other_peers, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(time_wait_pins_the_4tuple_not_the_port, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(time_wait_holds_the_port_until_2msl, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(listening_port_is_skipped, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(start_port_depends_on_the_peer, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
