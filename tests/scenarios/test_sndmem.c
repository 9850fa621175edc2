/*
 * Scenarios: the send buffer as Linux accounts it (tcp_sndmem.c;
 * docs/contract.md §2.5 item 15): the queue holds its payload plus the
 * memory of each skb (1280 bytes, SKB_TRUESIZE of an empty skb on x86-64),
 * against sk_sndbuf:
 *   - a write checks the buffer only before it starts a new skb
 *     (tcp_sendmsg_locked()), so it may pass sk_sndbuf by one skb;
 *   - poll() and the writer's wake-up want a third of the buffer free
 *     (sk_stream_is_writeable());
 *   - sk_sndbuf grows with cwnd (tcp_sndbuf_expand()) at the handshake and
 *     on ACKs when a writer waits and the flight does not fill cwnd
 *     (tcp_new_space()), never under SO_SNDBUF;
 *   - tcpi_sndbuf_limited runs while everything is sent and the writer
 *     waits for room (tcp_cwnd_validate(), tcp_check_space()).
 * The numbers: MSS 1460, skbs of Linux's size goal (whole segments, half
 * the peer's largest window), the initial window 10 segments.
 */
#include "harness.h"

#define SKB_MEM 1280u
/* Linux tcp_sndbuf_expand()'s memory per segment for MSS 1460:
 * roundup_pow_of_two(1460 + 320 + 320) + 256 */
#define PER_MSS 4352u

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

static void pop_all(struct harness *h)
{
    while (h_pending(h))
        h_pop_any(h);
}

/* Skbs of one segment (the peer's window 2 segments), SO_SNDBUF 4608
 * (Linux's SOCK_MIN_SNDBUF): two skbs take 2920 bytes and 2560 of skb
 * memory; a third would start with 5480 queued, above 4608, and the write
 * stops at 2920 (packetdrill's timestamping/partial.pkt: 2964 of 10000).
 * Counting payload only, it would take 4608. */
static void skb_memory_counts_against_the_buffer(void **state)
{
    struct harness *h = *state;
    static uint8_t buf[10000];

    h->peer_wnd = 2 * H_MSS;
    h_reach_established_passive(h);
    tt_conn_set_sndbuf(h->conn, 4608);
    assert_int_equal(h_write(h, buf, sizeof(buf)), 2 * H_MSS);
    assert_int_equal(info_of(h).wmem_queued, 2 * H_MSS + 2 * SKB_MEM);
    pop_all(h);
}

/* The check comes only before a new skb (size goal 22 segments, 32120
 * bytes): a first write of 20000 fills one skb whole past SO_SNDBUF 6000,
 * a second one finds the unsent skb's rest open and fills it, a third
 * would start a new skb and takes nothing. */
static void a_write_checks_only_before_a_new_skb(void **state)
{
    struct harness *h = *state;
    static uint8_t buf[40000];

    h->peer_wnd = 4 * H_MSS; /* goal: 2 segments while the window is small */
    h_reach_established_passive(h);
    h->peer_wnd = 65535;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0); /* the largest window: 65535 */
    tt_conn_set_sndbuf(h->conn, 6000);
    tt_conn_set_nodelay(h->conn, 0);
    h->peer_wnd = 0; /* nothing leaves: the skbs stay unsent */
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_int_equal(h_write(h, buf, 20000), 20000);
    assert_int_equal(h_write(h, buf, sizeof(buf)), 32120 - 20000);
    assert_int_equal(h_write(h, buf, 1), 0);
    assert_int_equal(info_of(h).wmem_queued, 32120 + SKB_MEM);
    pop_all(h);
}

/* Writable only with a third of the buffer free (Linux
 * sk_stream_wspace() >= sk_stream_min_wspace()): SO_SNDBUF 9000, skbs of 2
 * segments; the write takes 3 skbs (the third starts with 4200 queued),
 * 8760 bytes and 3840 of skb memory. The ACK of the first skb leaves 8400:
 * below 9000, so a write could start an skb, but not a third free, and
 * the writer is not woken; the ACK of the second leaves 4200: writable,
 * and the writable callback runs (sk_stream_write_space()). */
static void writable_with_a_third_free(void **state)
{
    struct harness *h = *state;
    static uint8_t buf[20000];

    h->peer_wnd = 4 * H_MSS;
    h_reach_established_passive(h);
    tt_conn_set_sndbuf(h->conn, 9000);
    assert_int_equal(h_write(h, buf, sizeof(buf)), 6 * H_MSS);
    pop_all(h);
    assert_int_equal(info_of(h).wmem_queued, 6 * H_MSS + 3 * SKB_MEM);
    assert_false(tt_conn_poll_writable(h->conn));
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 2 * H_MSS, NULL, 0);
    pop_all(h);
    assert_int_equal(info_of(h).wmem_queued, 4 * H_MSS + 2 * SKB_MEM);
    assert_false(tt_conn_poll_writable(h->conn));
    assert_int_equal(h->writable_calls, 0); /* the writer sleeps on */
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 4 * H_MSS, NULL, 0);
    assert_int_equal(info_of(h).wmem_queued, 2 * H_MSS + SKB_MEM);
    assert_true(tt_conn_poll_writable(h->conn));
    assert_int_equal(h->writable_calls, 1);
    pop_all(h);
}

/* At the handshake the buffer grows to twice the initial window in
 * Linux's per-segment memory (tcp_init_buffer_space()): 2 x 10 x 4352. */
static void the_handshake_grows_the_buffer(void **state)
{
    struct harness *h = *state;

    h->cfg.sndbuf = 16384; /* Linux tcp_wmem[1] */
    h_reinit(h);
    h_reach_established_passive(h);
    assert_int_equal(info_of(h).sndbuf, 2 * 10 * PER_MSS);
}

/* SO_SNDBUF fixes it (SOCK_SNDBUF_LOCK): no growth, then or later. */
static void so_sndbuf_is_not_grown(void **state)
{
    struct harness *h = *state;
    tt_conn_opts_t o = {.sndbuf = 16384};

    h->cfg.sndbuf = 16384;
    h_reinit(h);
    h_listen(h, H_LISTEN_PORT);
    assert_int_equal(tt_listener_set_opts(h->listener, &o), 0);
    h_peer_connects(h);
    assert_int_equal(info_of(h).sndbuf, 16384);
}

/*
 * An ACK grows the buffer for a waiting writer when the flight does not
 * fill cwnd (tcp_new_space(), tcp_should_expand_sndbuf()): the peer's
 * window, not cwnd, holds the flight here; cwnd is 20 segments after the
 * ACK of the initial window, so sk_sndbuf becomes 2 x 20 x 4352 and the
 * writer is woken. With the window as wide as cwnd the flight fills it
 * and nothing grows.
 */
static void an_ack_grows_the_buffer_for_a_waiting_writer(void **state)
{
    struct harness *h = *state;
    static uint8_t buf[200000];

    h->cfg.sndbuf = 16384;
    h_reinit(h);
    h_reach_established_passive(h);
    ssize_t n = h_write(h, buf, sizeof(buf));
    assert_true(n > 0 && n < (ssize_t)sizeof(buf));
    assert_int_equal(info_of(h).sndbuf, 2 * 10 * PER_MSS);
    pop_all(h);
    h->peer_wnd = 10 * H_MSS;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 10 * H_MSS, NULL, 0);
    pop_all(h);
    tt_conn_info_t i = info_of(h);
    assert_true(i.unacked < i.cwnd);
    assert_int_equal(i.sndbuf, 2 * 20 * PER_MSS);
    assert_int_equal(h->writable_calls, 1);
}

/*
 * tcpi_sndbuf_limited (Linux TCP_CHRONO_SNDBUF_LIMITED): it starts when an
 * output sent everything queued without filling cwnd while a writer waits,
 * and stops when the writer is woken (tcp_check_space()); the busy time
 * goes on. SO_SNDBUF 9000, skbs of 3 segments (the peer's window 6): the
 * write takes 2 skbs, all sent (cwnd 10); 10 ms later the ACK of the first
 * leaves 5660 queued, a third free: the writer is woken.
 */
static void sndbuf_limited_time(void **state)
{
    struct harness *h = *state;
    static uint8_t buf[20000];

    h->peer_wnd = 6 * H_MSS;
    h_reach_established_passive(h);
    tt_conn_set_sndbuf(h->conn, 9000);
    assert_int_equal(h_write(h, buf, sizeof(buf)), 6 * H_MSS);
    pop_all(h);
    h_advance(h, 10000);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 3 * H_MSS, NULL, 0);
    assert_int_equal(h->writable_calls, 1);
    h_advance(h, 5000);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.sndbuf_limited_us, 10000);
    assert_int_equal(i.busy_time_us, 15000);
    assert_int_equal(i.rwnd_limited_us, 0);
}

/* Both windows end at the same byte: Linux tests cwnd first
 * (tcp_cwnd_test() before tcp_snd_wnd_test()), so the flow is cwnd-limited,
 * not held by the peer (packetdrill's tcp-info-sndbuf-limited.pkt: the
 * peer's 10000 bytes and the initial window of 10 segments of 1000). */
static void both_windows_full_is_cwnd_limited(void **state)
{
    struct harness *h = *state;
    static uint8_t buf[20 * H_MSS];

    h->peer_wnd = 10 * H_MSS;
    h_reach_established_passive(h);
    assert_int_equal(h_write(h, buf, sizeof(buf)), sizeof(buf));
    pop_all(h);
    h_advance(h, 10000);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.busy_time_us, 10000);
    assert_int_equal(i.rwnd_limited_us, 0);
}

/*
 * The peer's window cuts a segment short only inside one of Linux's skbs
 * (tso_fragment() at tcp_mss_split_point()); a segment that starts an skb
 * waits until it fits whole (tcp_snd_wnd_test()). Skbs of 2 segments, the
 * window 2 segments and 730 bytes: the first skb goes; the next segment
 * starts the second skb and waits, where a cut at the window's end would
 * have sent 730 bytes of it.
 */
static void the_window_cuts_only_inside_an_skb(void **state)
{
    struct harness *h = *state;
    static uint8_t buf[20000];

    h->peer_wnd = 4 * H_MSS; /* skbs of 2 segments */
    h_reach_established_passive(h);
    tt_conn_set_nodelay(h->conn, 1);
    h->peer_wnd = 2 * H_MSS + 730;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_int_equal(h_write(h, buf, 6 * H_MSS), 6 * H_MSS);
    h_expect_len(h, TCP_ACK, ISS + 1, IRS + 1, H_MSS);
    h_expect_len(h, TCP_ACK | TCP_PSH, ISS + 1 + H_MSS, IRS + 1, H_MSS);
    h_expect_nothing(h); /* 730 bytes of window, but the next skb starts here */
    pop_all(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(skb_memory_counts_against_the_buffer, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_write_checks_only_before_a_new_skb, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(writable_with_a_third_free, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(the_handshake_grows_the_buffer, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(so_sndbuf_is_not_grown, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(an_ack_grows_the_buffer_for_a_waiting_writer, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sndbuf_limited_time, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(both_windows_full_is_cwnd_limited, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(the_window_cuts_only_inside_an_skb, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
