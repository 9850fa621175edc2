/*
 * Scenarios: the settings a connection takes at its handshake
 * (tt_conn_opts_t; Linux: socket options set before connect() or listen()).
 *
 * TCP_MAXSEG (Linux user_mss) caps the MSS we announce in the SYN or
 * SYN-ACK (RFC 9293 3.7.1; Linux tcp_mss_clamp on the route's advmss) and
 * the MSS we send with, whatever the peer announced (Linux mss_clamp);
 * Linux's range is TCP_MIN_MSS (88) .. MAX_TCP_WINDOW (32767). A listener's
 * settings reach the connections of the SYNs that arrive after them.
 *
 * rcvbuf sets the window we offer; the window scale stays the one the
 * engine's rcvbuf asks for when that is larger (Linux
 * tcp_select_initial_window scales for tcp_rmem[2], not for SO_RCVBUF).
 * sndbuf bounds what a write queues, as tt_conn_set_sndbuf().
 *
 * tos (IP_TOS, RFC 791 3.1) is the TOS byte of every segment, the SYN or
 * SYN-ACK included; its two ECN bits are not the application's (RFC 3168
 * 6.1.1; Linux keeps TCP's own), so they stay clear.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

static struct tcp_opts syn_opts(uint16_t mss)
{
    struct tcp_opts o;

    memset(&o, 0, sizeof(o));
    o.mss_ok = true;
    o.mss = mss;
    return o;
}

/* Our SYN or SYN-ACK, whatever its MSS (h_expect_syn() wants 1460): records ISS. */
static const struct h_seg *pop_syn(struct harness *h, bool active)
{
    assert_true(h_pending(h) > 0);
    if (active) /* our ephemeral port, before h_pop_any() checks it */
        h->lport = h->out[h->out_head].seg.sport;
    const struct h_seg *s = h_pop_any(h);
    assert_true(s->seg.flags & TCP_SYN);
    h->iss = s->seg.seq;
    return s;
}

/* Active open with opts; the peer's SYN-ACK announces peer_mss. Returns our SYN's MSS option. */
static uint16_t connect_with(struct harness *h, const tt_conn_opts_t *opts, uint16_t peer_mss)
{
    assert_int_equal(h_try_connect_opts(h, H_SERVICE_PORT, opts), 0);
    const struct h_seg *syn = pop_syn(h, true);
    assert_true(syn->seg.opt.mss_ok);
    uint16_t announced = syn->seg.opt.mss;
    struct tcp_opts o = syn_opts(peer_mss);
    h_send_opts(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, &o, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    return announced;
}

/* The peer's SYN (MSS peer_mss) to our listener; returns the SYN-ACK. */
static const struct h_seg *peer_syn(struct harness *h, uint16_t peer_mss)
{
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    struct tcp_opts o = syn_opts(peer_mss);
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    return pop_syn(h, false);
}

static tt_conn_info_t info_of(tt_conn_t *c)
{
    tt_conn_info_t info;
    tt_conn_get_info(c, &info);
    return info;
}

/* Writes a lot and returns the length of the first data segment. */
static size_t first_segment_len(struct harness *h)
{
    assert_true(h_write_pattern(h, 0, 4000) > 0);
    const struct h_seg *s = h_pop_any(h);
    while (h_pending(h))
        h_pop_any(h);
    return s->seg.len;
}

static void maxseg_caps_syn_mss_and_send_mss(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.maxseg = 1100};

    assert_int_equal(connect_with(h, &o, 1460), 1100);
    tt_conn_info_t info = info_of(h->conn);
    assert_int_equal(info.mss, 1100);
    assert_int_equal(info.advmss, 1100);
    assert_int_equal(first_segment_len(h), 1100);
}

static void maxseg_above_mtu_leaves_mtu_mss(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.maxseg = 9000};

    assert_int_equal(connect_with(h, &o, 1460), H_MSS);
    assert_int_equal(info_of(h->conn).mss, H_MSS);
    assert_int_equal(info_of(h->conn).advmss, H_MSS);
}

static void peer_mss_below_maxseg_wins(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.maxseg = 1100};

    assert_int_equal(connect_with(h, &o, 1000), 1100);
    assert_int_equal(info_of(h->conn).mss, 1000);
    assert_int_equal(info_of(h->conn).advmss, 1100);
}

static void no_opts_announce_mtu_minus_40(void **state)
{
    struct harness *h = *state;

    assert_int_equal(connect_with(h, NULL, 1460), H_MSS);
    assert_int_equal(info_of(h->conn).advmss, H_MSS);
}

static void maxseg_out_of_linux_range_is_einval(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t low = {.maxseg = 87}, high = {.maxseg = 32768};

    assert_int_equal(h_try_connect_opts(h, H_SERVICE_PORT, &low), -EINVAL);
    assert_int_equal(h_try_connect_opts(h, H_SERVICE_PORT, &high), -EINVAL);
    h_listen(h, H_LISTEN_PORT);
    assert_int_equal(tt_listener_set_opts(h->listener, &low), -EINVAL);
    assert_int_equal(tt_listener_set_opts(h->listener, &high), -EINVAL);
    h_expect_nothing(h);
}

static void maxseg_88_is_taken(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.maxseg = 88};

    assert_int_equal(connect_with(h, &o, 1460), 88);
    assert_int_equal(info_of(h->conn).mss, 88);
}

static void listener_maxseg_caps_synack_and_mss(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.maxseg = 1100};

    h_listen(h, H_LISTEN_PORT);
    assert_int_equal(tt_listener_set_opts(h->listener, &o), 0);
    const struct h_seg *sa = peer_syn(h, 1300);
    assert_int_equal(sa->seg.opt.mss, 1100);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_non_null(h->conn);
    assert_int_equal(info_of(h->conn).mss, 1100);
    assert_int_equal(info_of(h->conn).advmss, 1100);
    assert_int_equal(first_segment_len(h), 1100);
}

static void listener_opts_reset_by_null(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.maxseg = 1100};

    h_listen(h, H_LISTEN_PORT);
    assert_int_equal(tt_listener_set_opts(h->listener, &o), 0);
    assert_int_equal(tt_listener_set_opts(h->listener, NULL), 0);
    assert_int_equal(peer_syn(h, 1460)->seg.opt.mss, H_MSS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
}

static void rcvbuf_sets_syn_window(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.rcvbuf = 10000};

    assert_int_equal(h_try_connect_opts(h, H_SERVICE_PORT, &o), 0);
    assert_int_equal(h_expect_syn(h)->seg.wnd, 10000);
    tt_conn_close_reset(h->conn, NULL);
    h->conn = NULL;
}

static void listener_rcvbuf_sets_synack_window(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.rcvbuf = 20000};

    h_listen(h, H_LISTEN_PORT);
    assert_int_equal(tt_listener_set_opts(h->listener, &o), 0);
    assert_int_equal(peer_syn(h, 1460)->seg.wnd, 20000);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_int_equal(info_of(h->conn).rcv_wnd, 20000);
}

static void rcvbuf_out_of_range_is_einval(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.rcvbuf = 1023};

    assert_int_equal(h_try_connect_opts(h, H_SERVICE_PORT, &o), -EINVAL);
    h_expect_nothing(h);
}

/* The scale of the larger of the two buffers: 3 for the engine's 256 KB
 * when the socket's is smaller, 8 for a socket's 15 MB (Linux defaults.sh). */
static uint8_t syn_wscale_with_rcvbuf(struct harness *h, uint32_t rcvbuf)
{
    tt_conn_opts_t o = {.rcvbuf = rcvbuf};

    h->cfg.tcp_window_scaling = 1;
    h_reinit(h);
    assert_int_equal(h_try_connect_opts(h, H_SERVICE_PORT, &o), 0);
    const struct h_seg *syn = h_expect_syn(h);
    assert_true(syn->seg.opt.ws_ok);
    uint8_t ws = syn->seg.opt.ws;
    tt_conn_close_reset(h->conn, NULL);
    h->conn = NULL;
    return ws;
}

static void small_rcvbuf_keeps_engine_scale(void **state)
{
    assert_int_equal(syn_wscale_with_rcvbuf(*state, 10000), 3);
}

static void large_rcvbuf_raises_scale(void **state)
{
    assert_int_equal(syn_wscale_with_rcvbuf(*state, 15728640), 8);
}

/* A per-connection SO_SNDBUF bounds writes as Linux's does
 * (tcp_sendmsg_locked()): checked before each new skb of size goal, 22
 * segments here (half the peer's 65535), so the first skb and its refill
 * after the initial window left (tcp_push_one()) are taken whole; the
 * next skb would start above 5000 bytes and is refused (tcp_sndmem.c),
 * and poll() finds no room. */
static void sndbuf_bounds_writes(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.sndbuf = 5000};

    connect_with(h, &o, 1460);
    static uint8_t buf[100000];
    assert_int_equal(h_write(h, buf, sizeof(buf)), 22 * H_MSS + 10 * H_MSS);
    while (h_pending(h))
        h_pop_any(h);
    assert_false(tt_conn_poll_writable(h->conn));
}

static uint8_t tos_of(const struct h_seg *s)
{
    return s->bytes[1];
}

static void tos_marks_syn_and_data(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.tos = 0x10};

    assert_int_equal(h_try_connect_opts(h, H_SERVICE_PORT, &o), 0);
    assert_int_equal(tos_of(pop_syn(h, true)), 0x10);
    struct tcp_opts p = syn_opts(1460);
    h_send_opts(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, &p, NULL, 0);
    assert_int_equal(tos_of(h_expect(h, TCP_ACK, ISS + 1, IRS + 1)), 0x10);
    h_write(h, "x", 1);
    assert_int_equal(tos_of(h_expect_len(h, TCP_ACK, ISS + 1, IRS + 1, 1)), 0x10);
}

static void set_tos_changes_later_segments_not_ecn(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(tt_conn_set_tos(h->conn, 0x2b), 0);
    h_write(h, "x", 1);
    assert_int_equal(tos_of(h_expect_len(h, TCP_ACK, ISS + 1, IRS + 1, 1)), 0x28);
    assert_int_equal(tt_conn_set_tos(h->conn, 0), 0);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_write(h, "y", 1);
    assert_int_equal(tos_of(h_expect_len(h, TCP_ACK, ISS + 2, IRS + 1, 1)), 0);
}

static void listener_tos_marks_synack(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.tos = 0x04};

    h_listen(h, H_LISTEN_PORT);
    assert_int_equal(tt_listener_set_opts(h->listener, &o), 0);
    assert_int_equal(tos_of(peer_syn(h, 1460)), 0x04);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(maxseg_caps_syn_mss_and_send_mss, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(maxseg_above_mtu_leaves_mtu_mss, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(peer_mss_below_maxseg_wins, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(no_opts_announce_mtu_minus_40, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(maxseg_out_of_linux_range_is_einval, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(maxseg_88_is_taken, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(listener_maxseg_caps_synack_and_mss, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(listener_opts_reset_by_null, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rcvbuf_sets_syn_window, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(listener_rcvbuf_sets_synack_window, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rcvbuf_out_of_range_is_einval, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(small_rcvbuf_keeps_engine_scale, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(large_rcvbuf_raises_scale, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(sndbuf_bounds_writes, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tos_marks_syn_and_data, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(set_tos_changes_later_segments_not_ecn, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(listener_tos_marks_synack, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
