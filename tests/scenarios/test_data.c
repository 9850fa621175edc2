/*
 * Scenarios: data transfer both ways. Segmentation by the peer's MSS, the
 * initial window, immediate ACKs (delack 0 in this fixture), reassembly of
 * out-of-order segments, sequence-number wrap, and loss recovery by RTO with
 * backoff, fast retransmit and NewReno (RFC 9293 3.7-3.10, RFC 6298, RFC 5681,
 * RFC 6582, RFC 6928).
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

#define SEG1 H_MSS

static void assert_rx(struct harness *h, const void *want, size_t len)
{
    assert_int_equal(h->rx_len, len);
    assert_memory_equal(h->rx, want, len);
}

/* Passive open with the peer's SYN carrying `o` (NULL: no options). */
static void open_with_peer_options(struct harness *h, const struct tcp_opts *o)
{
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_opts(h, TCP_SYN, IRS, 0, o, NULL, 0);
    h_expect_synack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_non_null(h->conn);
}

/* RFC 9293 3.10.7.4 seventh step, with delack 0: in-order data is delivered
 * and ACKed at once. */
static void in_order_data_delivered_and_acked_at_once(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "hello", 5);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 6);
    assert_rx(h, "hello", 5);
    h_send(h, TCP_ACK | TCP_PSH, IRS + 6, ISS + 1, " world", 6);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 12);
    assert_rx(h, "hello world", 11);
}

static void echo_reply(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    if (nread > 0)
        assert_int_equal(tt_conn_write(h->conn, buf, (size_t)nread), nread);
}

/* RFC 1122 4.2.3.2, RFC 9293 3.8.6.3: a reply written from inside the read
 * callback carries the ACK; no separate pure ACK goes out. */
static void reply_from_read_cb_piggybacks_the_ack(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->on_read = echo_reply;
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "ping", 4);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 5, "ping", 4);
    h_send(h, TCP_ACK, IRS + 5, ISS + 5, NULL, 0);
    h_expect_nothing(h);
}

/* RFC 9293 3.10.2: a write goes out at once as one segment; the peer's ACK
 * of it needs no answer. */
static void write_sent_at_once_as_one_segment(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 100);
    h_send(h, TCP_ACK, IRS + 1, ISS + 101, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 5 * SEC); /* acked: no retransmission */
    h_expect_nothing(h);
}

/* RFC 9293 3.7.1: segments are cut at the peer's MSS (1460 here). */
static void write_cut_at_peer_mss(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 3000), 3000);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 1460);
    h_expect_pattern(h, TCP_ACK, ISS + 1461, IRS + 1, 1460, 1460);
    h_expect_pattern(h, TCP_ACK, ISS + 2921, IRS + 1, 2920, 80);
    h_send(h, TCP_ACK, IRS + 1, ISS + 3001, NULL, 0);
    h_expect_nothing(h);
}

/* RFC 9293 3.7.1: a smaller MSS from the peer is honoured. */
static void peer_mss_536_limits_segment_size(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o;

    memset(&o, 0, sizeof(o));
    o.mss_ok = true;
    o.mss = 536;
    open_with_peer_options(h, &o);
    assert_int_equal(h_write_pattern(h, 0, 1000), 1000);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 536);
    h_expect_pattern(h, TCP_ACK, ISS + 537, IRS + 1, 536, 464);
}

/* RFC 9293 3.7.1 (RFC 1122 4.2.2.6): without an MSS option the peer gets 536. */
static void missing_mss_option_means_536(void **state)
{
    struct harness *h = *state;

    open_with_peer_options(h, NULL);
    assert_int_equal(h_write_pattern(h, 0, 1000), 1000);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 536);
    h_expect_pattern(h, TCP_ACK, ISS + 537, IRS + 1, 536, 464);
}

/* RFC 6928 2: the initial window is 10 segments; an ACK of all of them
 * (slow start, RFC 5681 3.1) releases the rest at once. */
static void initial_window_is_ten_segments(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 20000), 20000);
    for (uint32_t i = 0; i < 10; i++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + i * SEG1, IRS + 1, i * SEG1, SEG1);
    h_expect_nothing(h);
    h_advance(h, 1 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 10 * SEG1, NULL, 0);
    for (uint32_t i = 10; i < 13; i++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + i * SEG1, IRS + 1, i * SEG1, SEG1);
    h_expect_pattern(h, TCP_ACK, ISS + 1 + 13 * SEG1, IRS + 1, 13 * SEG1, 20000 - 13 * SEG1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 20001, NULL, 0);
    h_expect_nothing(h);
}

/*
 * RFC 9293 3.10.7.4 seventh step, RFC 5681 4.2: a segment beyond a hole is
 * kept and answered at once with a duplicate ACK (ACK = RCV.NXT); the
 * segment that fills the hole is ACKed together with all that was queued.
 */
static void out_of_order_segments_reassembled(void **state)
{
    struct harness *h = *state;
    uint8_t d[400];

    h_pattern_fill(d, 0, sizeof(d));
    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, d, 100);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 101);
    h_send(h, TCP_ACK, IRS + 201, ISS + 1, d + 200, 100); /* [100, 200) lost */
    h_expect(h, TCP_ACK, ISS + 1, IRS + 101);
    h_send(h, TCP_ACK, IRS + 301, ISS + 1, d + 300, 100);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 101);
    assert_rx(h, d, 100);
    h_send(h, TCP_ACK, IRS + 101, ISS + 1, d + 100, 100); /* the retransmission */
    h_expect(h, TCP_ACK, ISS + 1, IRS + 401);
    assert_rx(h, d, 400);
    assert_true(h_stats(h).TcpExtTCPOFOQueue >= 1);
}

/* RFC 9293 3.10.7.4 seventh step: reordered segments in the reverse order. */
static void reversed_segments_reassembled(void **state)
{
    struct harness *h = *state;
    uint8_t d[300];

    h_pattern_fill(d, 0, sizeof(d));
    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 201, ISS + 1, d + 200, 100);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_ACK, IRS + 101, ISS + 1, d + 100, 100);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h->rx_len, 0);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, d, 100);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 301);
    assert_rx(h, d, 300);
}

/* RFC 9293 3.10.7.4 first check: a segment already received is answered
 * with an ACK and not delivered twice. */
static void duplicate_segment_acked_not_redelivered(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abcd", 4);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 5);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abcd", 4);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 5);
    assert_rx(h, "abcd", 4);
}

/* RFC 9293 3.10.7.4 first check: the part of a segment before RCV.NXT is
 * trimmed, the new part delivered. */
static void overlapping_segment_trimmed(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abcd", 4);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 5);
    h_send(h, TCP_ACK, IRS + 3, ISS + 1, "cdef", 4);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 7);
    assert_rx(h, "abcdef", 6);
}

/* RFC 9293 3.10.7.4 first check: data wholly beyond the window is dropped
 * and answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
static void data_beyond_window_acked_and_dropped(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1 + 200000, ISS + 1, "zz", 2);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h->rx_len, 0);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

/* RFC 9293 3.10.7.4 eighth step: data and FIN in one segment: the data is
 * delivered, then EOF, and one ACK covers both. */
static void data_with_fin_delivered_then_eof(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK | TCP_FIN, IRS + 1, ISS + 1, "bye", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 5);
    assert_rx(h, "bye", 3);
    assert_int_equal(h->eof_calls, 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_CLOSE_WAIT);
}

/* RFC 9293 3.4 and 3.10.7.4: sequence numbers wrap modulo 2^32; the peer's
 * stream crosses 2^32 in order and out of order. */
static void receive_across_sequence_wrap(void **state)
{
    struct harness *h = *state;
    uint8_t d[60];

    h_pattern_fill(d, 0, sizeof(d));
    h->irs = 0xfffffff0u;
    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, d, 10); /* up to 0xfffffffb */
    h_expect(h, TCP_ACK, ISS + 1, IRS + 11);
    h_send(h, TCP_ACK, IRS + 21, ISS + 1, d + 20, 20); /* 0x05..0x19, past the hole */
    h_expect(h, TCP_ACK, ISS + 1, IRS + 11);
    h_send(h, TCP_ACK, IRS + 11, ISS + 1, d + 10, 10); /* fills 0xfffffffb..0x05 */
    h_expect(h, TCP_ACK, ISS + 1, IRS + 41);
    assert_int_equal(IRS + 41, 0x19);
    h_send(h, TCP_ACK | TCP_FIN, IRS + 41, ISS + 1, d + 40, 20);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 62);
    assert_rx(h, d, 60);
    assert_int_equal(h->eof_calls, 1);
}

/*
 * RFC 6298 5.4-5.6: unacknowledged data is retransmitted when the RTO
 * expires (200 ms after the priming exchange, Linux's floor), the RTO doubles
 * each time, and the timer stops once everything is acked.
 */
static void rto_retransmits_lost_data_with_backoff(void **state)
{
    struct harness *h = *state;
    uint64_t rto = 200 * MS;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    assert_int_equal(h_write_pattern(h, 1, 100), 100);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 100);
    for (int i = 0; i < 3; i++, rto *= 2) {
        h_advance(h, rto - 1);
        h_expect_nothing(h);
        h_advance(h, 1);
        h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 100);
    }
    h_send(h, TCP_ACK, IRS + 1, ISS + 102, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 10 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 3);
}

/*
 * RFC 6298 5.4 and RFC 5681 3.1: after an RTO only the first segment is
 * resent (cwnd = 1 segment); each ACK then opens the window again and the
 * rest of the lost flight follows.
 */
static void rto_resends_first_segment_then_slow_starts(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    assert_int_equal(h_write_pattern(h, 1, 3 * SEG1), 3 * SEG1);
    for (uint32_t i = 0; i < 3; i++)
        h_expect_pattern(h, TCP_ACK, ISS + 2 + i * SEG1, IRS + 1, 1 + i * SEG1, SEG1);
    h_advance(h, 200 * MS);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, SEG1);
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2 + SEG1, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2 + SEG1, IRS + 1, 1 + SEG1, SEG1);
    h_expect_pattern(h, TCP_ACK, ISS + 2 + 2 * SEG1, IRS + 1, 1 + 2 * SEG1, SEG1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2 + 3 * SEG1, NULL, 0);
    h_expect_nothing(h);
}

/* Five segments of the pattern from offset 1 (after h_prime_rtt), in flight. */
static void send_five_segments(struct harness *h)
{
    assert_int_equal(h_write_pattern(h, 1, 5 * SEG1), 5 * SEG1);
    for (uint32_t i = 0; i < 5; i++)
        h_expect_pattern(h, TCP_ACK, ISS + 2 + i * SEG1, IRS + 1, 1 + i * SEG1, SEG1);
}

/* RFC 5681 3.2: the third duplicate ACK retransmits the missing segment at
 * once, without waiting for the RTO. */
static void three_dupacks_trigger_fast_retransmit(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    send_five_segments(h);
    h_advance(h, 1 * MS);
    for (int i = 0; i < 2; i++) {
        h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
        h_expect_nothing(h);
    }
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, SEG1);
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2 + 5 * SEG1, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 5 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 1);
}

/* RFC 5681 3.2: two duplicate ACKs are reordering, not loss: no retransmission. */
static void two_dupacks_do_not_retransmit(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    send_five_segments(h);
    h_advance(h, 1 * MS);
    for (int i = 0; i < 2; i++) {
        h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
        h_expect_nothing(h);
    }
    h_send(h, TCP_ACK, IRS + 1, ISS + 2 + 5 * SEG1, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 5 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 0);
}

/* RFC 6582 3.2 step 4: in fast recovery a partial ACK retransmits the next
 * hole at once; the ACK of everything ends recovery. */
static void newreno_partial_ack_retransmits_next_hole(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    send_five_segments(h); /* the peer lost the 1st and the 3rd */
    h_advance(h, 1 * MS);
    for (int i = 0; i < 3; i++)
        h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, SEG1);
    h_advance(h, 1 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2 + 2 * SEG1, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2 + 2 * SEG1, IRS + 1, 1 + 2 * SEG1, SEG1);
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2 + 5 * SEG1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 2);
}

/*
 * RFC 6298 2.2 (as Linux, tcp_synack_rtt_meas): the handshake is a round-trip
 * sample. With the final ACK 100 ms after our SYN-ACK, RTO = 100 + 4 * 50 =
 * 300 ms for the first data segment (not the 1 s of RFC 6298 2.1).
 */
static void handshake_rtt_sample_sets_first_rto(void **state)
{
    struct harness *h = *state;

    h_reach_syn_received(h);
    h_advance(h, 100 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_write_pattern(h, 0, 10), 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    h_advance(h, 300 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
}

/* RFC 9293 3.8.6.1 (RFC 1122 4.2.2.17): a zero window from the peer holds our
 * data back; its window update releases it at once. */
static void zero_window_holds_data_until_update(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_expect_nothing(h);
    h->peer_wnd = H_PEER_WND;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 100);
}

/*
 * RFC 9293 3.10.7.4: the send window is updated only from an ACK with
 * SND.UNA =< SEG.ACK =< SND.NXT. An old ACK (below SND.UNA, yet within
 * RFC 5961's MAX.SND.WND, so not refused) on a segment with newer data and a
 * large window must leave the zero window alone, whatever SND.WL1 says
 * (Linux: tcp_ack() takes the old_ack path, no window update). Found by the
 * fuzzer: the engine opened the window from such a segment.
 */
static void old_ack_does_not_update_window(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 10), 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, ISS + 11, "hello", 5); /* SND.WL1 = IRS + 1 */
    h_expect(h, TCP_ACK, ISS + 11, IRS + 6);
    assert_int_equal(h_write_pattern(h, 10, 100), 100);
    h_expect_nothing(h);
    h->peer_wnd = H_PEER_WND;
    h_send(h, TCP_ACK, IRS + 6, ISS + 1, "world", 5); /* newer SEG.SEQ, old SEG.ACK */
    h_expect(h, TCP_ACK, ISS + 11, IRS + 11);
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 11, ISS + 11, NULL, 0); /* the real window update */
    h_expect_pattern(h, TCP_ACK, ISS + 11, IRS + 11, 10, 100);
}

/*
 * The peer's retransmission that fills a hole in its data has a SEG.SEQ
 * below SND.WL1 (set by its later, out-of-order segments), yet carries its
 * newest ACK and window: an ACK that moves SND.UNA updates the window
 * whatever SEG.SEQ says (Linux tcp_may_update_window()). Here it closes
 * the window at the new SND.UNA; keeping the old segment's worth would move the
 * right edge past the peer's and send data it must drop. The soak's stall:
 * a Linux peer with a full receive queue then drops every segment of ours,
 * the ACKs in them too, while its own sender waits for those ACKs.
 */
static void ack_of_hole_filling_retransmission_updates_window(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->peer_wnd = H_MSS; /* one segment: the window takes it whole (RFC 9293 3.8.6.2.1) */
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_int_equal(h_write_pattern(h, 0, 3 * H_MSS), 3 * H_MSS);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, H_MSS);
    h_expect_nothing(h);
    /* Its second segment first (its first was lost): SND.WL1 = IRS + 6. */
    h_send(h, TCP_ACK, IRS + 6, ISS + 1, "world", 5);
    h_expect(h, TCP_ACK, ISS + 1 + H_MSS, IRS + 1);
    h_expect_nothing(h);
    /* The first again, acking the whole segment, its window now full. */
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + H_MSS, "hello", 5);
    h_expect(h, TCP_ACK, ISS + 1 + H_MSS, IRS + 11);
    h_expect_nothing(h);
    h->peer_wnd = H_MSS;
    h_send(h, TCP_ACK, IRS + 11, ISS + 1 + H_MSS, NULL, 0); /* the window opens again */
    h_expect_pattern(h, TCP_ACK, ISS + 1 + H_MSS, IRS + 11, H_MSS, H_MSS);
}

/*
 * RFC 6298 2.3: the second sample updates RTTVAR = 3/4 RTTVAR + 1/4 |SRTT -
 * R'| and SRTT = 7/8 SRTT + 1/8 R'. Handshake sample 100 ms (SRTT 100,
 * RTTVAR 50), then a data sample of 200 ms: SRTT 112.5, RTTVAR 62.5, RTO =
 * 112.5 + 4 * 62.5 = 362.5 ms, to the microsecond.
 */
static void rto_follows_rfc6298_after_second_sample(void **state)
{
    struct harness *h = *state;

    h_reach_syn_received(h);
    h_advance(h, 100 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_int_equal(h_write_pattern(h, 0, 10), 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    h_advance(h, 200 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 11, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_write_pattern(h, 10, 10), 10);
    h_expect_pattern(h, TCP_ACK, ISS + 11, IRS + 1, 10, 10);
    h_advance(h, 362500 - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, ISS + 11, IRS + 1, 10, 10);
}

/* RFC 9293 3.10.7.4 seventh and eighth steps: a FIN beyond a hole waits in
 * the reassembly queue; EOF comes only once the hole is filled, and the ACK
 * then covers the FIN. */
static void out_of_order_fin_waits_for_the_hole(void **state)
{
    struct harness *h = *state;
    uint8_t d[200];

    h_pattern_fill(d, 0, sizeof(d));
    h_reach_established_passive(h);
    h_send(h, TCP_ACK | TCP_FIN, IRS + 101, ISS + 1, d + 100, 100);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h->eof_calls, 0);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, d, 100);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 202);
    assert_rx(h, d, 200);
    assert_int_equal(h->eof_calls, 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_CLOSE_WAIT);
}

/*
 * RFC 9293 3.8.6.1 and RFC 1122 4.2.2.17: a zero window is probed, first
 * after the RTO, then with exponential backoff, as long as the peer answers
 * (Linux's probe: <SEQ=SND.UNA-1><ACK=RCV.NXT><CTL=ACK>, no data); when the
 * window opens the data goes at once.
 */
static void zero_window_probed_with_backoff(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    assert_int_equal(h_write_pattern(h, 1, 100), 100);
    h_expect_nothing(h);
    uint64_t gap = 200 * MS;
    for (int i = 0; i < 4; i++, gap *= 2) {
        h_expect_after(h, gap, TCP_ACK, ISS + 1, IRS + 1);
        h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0); /* still zero */
        h_expect_nothing(h);
    }
    h->peer_wnd = H_PEER_WND;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 100);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(in_order_data_delivered_and_acked_at_once, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(reply_from_read_cb_piggybacks_the_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(write_sent_at_once_as_one_segment, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(write_cut_at_peer_mss, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(peer_mss_536_limits_segment_size, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(missing_mss_option_means_536, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(initial_window_is_ten_segments, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(out_of_order_segments_reassembled, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(reversed_segments_reassembled, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(duplicate_segment_acked_not_redelivered, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(overlapping_segment_trimmed, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(data_beyond_window_acked_and_dropped, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(data_with_fin_delivered_then_eof, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(receive_across_sequence_wrap, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rto_retransmits_lost_data_with_backoff, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(rto_resends_first_segment_then_slow_starts, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(three_dupacks_trigger_fast_retransmit, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(two_dupacks_do_not_retransmit, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(newreno_partial_ack_retransmits_next_hole, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(handshake_rtt_sample_sets_first_rto, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(zero_window_holds_data_until_update, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(old_ack_does_not_update_window, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ack_of_hole_filling_retransmission_updates_window, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(rto_follows_rfc6298_after_second_sample, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(out_of_order_fin_waits_for_the_hole, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(zero_window_probed_with_backoff, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
