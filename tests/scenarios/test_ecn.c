/*
 * Scenarios: Explicit Congestion Notification (RFC 3168) as Linux has it
 * (net.ipv4.tcp_ecn; Linux's tcp_ecn_* functions). The ECN field is the
 * low two bits of the IPv4 TOS byte (RFC 3168 5): Not-ECT 0, ECT(1) 1,
 * ECT(0) 2, CE 3. The peer's segments carry it in h_send_seg()'s seg.tos;
 * ours are read from the datagram's second byte.
 */
#include "harness.h"

#include <string.h>

#define NOT_ECT 0
#define ECT0 2
#define CE 3
#define SEG1 H_MSS

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

static uint8_t ecn_of(const struct h_seg *s)
{
    return s->bytes[1] & 3;
}

/* A segment of the peer's with the given ECN codepoint (a SYN with MSS). */
static void peer_send(struct harness *h, uint8_t flags, uint32_t seq, const void *data, size_t len,
                      uint8_t ecn)
{
    struct tcp_opts o;
    memset(&o, 0, sizeof(o));
    o.mss_ok = true;
    o.mss = H_MSS;
    h->peer_tos = ecn;
    h_send_opts(h, flags, seq, ISS + 1, (flags & TCP_SYN) ? &o : NULL, data, len);
    h->peer_tos = 0;
}

/* An ACK of the peer's, with ECE or not. */
static void peer_ack(struct harness *h, uint32_t ack, bool ece)
{
    h_send(h, TCP_ACK | (ece ? TCP_ECE : 0), IRS + 1, ack, NULL, 0);
}

/* Our SYN, whatever its ECN flags: ISS and our port learned from it. */
static const struct h_seg *pop_syn(struct harness *h)
{
    assert_true(h_pending(h) > 0);
    h->lport = h->out[h->out_head].seg.sport; /* what h_pop_any() checks */
    h->rport = H_SERVICE_PORT;
    const struct h_seg *s = h_pop_any(h);
    assert_true(s->seg.flags & TCP_SYN);
    h->iss = s->seg.seq;
    h->lport = s->seg.sport;
    return s;
}

/* Passive open; the peer's SYN asks for ECN with ECE|CWR (RFC 3168 6.1.1)
 * or not; returns our SYN-ACK's flags and ECN field. */
static uint8_t passive_open(struct harness *h, bool ask, uint8_t syn_ecn, uint8_t *synack_ecn)
{
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    peer_send(h, TCP_SYN | (ask ? TCP_ECE | TCP_CWR : 0), IRS, NULL, 0, syn_ecn);
    const struct h_seg *sa = h_pop_any(h);
    assert_int_equal(sa->seg.flags & (TCP_SYN | TCP_ACK), TCP_SYN | TCP_ACK);
    h->iss = sa->seg.seq;
    uint8_t flags = sa->seg.flags;
    *synack_ecn = ecn_of(sa);
    peer_send(h, TCP_ACK, IRS + 1, NULL, 0, NOT_ECT);
    h_expect_nothing(h);
    return flags;
}

/* A passive open with ECN agreed (tcp_ecn 2, Linux's default). */
static void ecn_established(struct harness *h)
{
    uint8_t ecn;
    uint8_t flags = passive_open(h, true, NOT_ECT, &ecn);
    assert_int_equal(flags, TCP_SYN | TCP_ACK | TCP_ECE);
    assert_true(info_of(h).ecn_on);
}

/* RFC 3168 6.1.1, Linux tcp_ecn_send_syn(): with tcp_ecn 1 our SYN is an
 * ECN-setup SYN (ECE and CWR), not ECN-capable itself; the SYN-ACK with ECE
 * alone agrees. Then new data goes ECT(0) (6.1.2, Linux tcp_ecn_send()),
 * the handshake's ACK Not-ECT. */
static void tcp_ecn_1_asks_and_data_is_ect0(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_ecn = 1;
    h_reinit(h);
    h_connect(h, H_SERVICE_PORT);
    const struct h_seg *syn = pop_syn(h);
    assert_int_equal(syn->seg.flags, TCP_SYN | TCP_ECE | TCP_CWR);
    assert_int_equal(ecn_of(syn), NOT_ECT);
    peer_send(h, TCP_SYN | TCP_ACK | TCP_ECE, IRS, NULL, 0, NOT_ECT);
    const struct h_seg *ack = h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(ecn_of(ack), NOT_ECT);
    assert_true(info_of(h).ecn_on);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    const struct h_seg *d = h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 0, 100);
    assert_int_equal(ecn_of(d), ECT0);
}

/* Linux's default, tcp_ecn 2: never asks (RFC 3168 6.1.1 leaves it to the
 * host); no ECN, no ECT on data. */
static void tcp_ecn_2_never_asks(void **state)
{
    struct harness *h = *state;
    h_connect(h, H_SERVICE_PORT);
    const struct h_seg *syn = pop_syn(h);
    assert_int_equal(syn->seg.flags, TCP_SYN);
    peer_send(h, TCP_SYN | TCP_ACK | TCP_ECE, IRS, NULL, 0, NOT_ECT);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_false(info_of(h).ecn_on);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    const struct h_seg *d = h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 0, 100);
    assert_int_equal(ecn_of(d), NOT_ECT);
}

/* RFC 3168 6.1.1 (Linux tcp_ecn_rcv_synack()): a SYN-ACK without ECE, or
 * with ECE and CWR, does not agree: no ECT on data. */
static void synack_without_ece_leaves_ecn_off(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_ecn = 1;
    h_reinit(h);
    h_connect(h, H_SERVICE_PORT);
    pop_syn(h);
    peer_send(h, TCP_SYN | TCP_ACK | TCP_ECE | TCP_CWR, IRS, NULL, 0, NOT_ECT);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_false(info_of(h).ecn_on);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    const struct h_seg *d = h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 0, 100);
    assert_int_equal(ecn_of(d), NOT_ECT);
}

/* Linux tcp_ecn_clear_syn() (tcp_ecn_fallback 1): the SYN sent again after
 * the timeout asks for nothing, in case ECE|CWR got the first one dropped. */
static void resent_syn_drops_ece_cwr(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_ecn = 1;
    h_reinit(h);
    h_connect(h, H_SERVICE_PORT);
    pop_syn(h);
    h_advance(h, 1 * SEC);
    const struct h_seg *again = h_pop_any(h);
    assert_int_equal(again->seg.flags, TCP_SYN);
    assert_int_equal(again->seg.seq, ISS);
}

/* RFC 3168 6.1.1, Linux tcp_ecn_create_request(), tcp_ecn_make_synack():
 * with tcp_ecn 2 an ECN-setup SYN gets ECE (not CWR) in the SYN-ACK, which
 * is Not-ECT; data then goes ECT(0), pure ACKs Not-ECT. */
static void listener_agrees_to_ecn_setup_syn(void **state)
{
    struct harness *h = *state;
    uint8_t ecn;
    uint8_t flags = passive_open(h, true, NOT_ECT, &ecn);
    assert_int_equal(flags, TCP_SYN | TCP_ACK | TCP_ECE);
    assert_int_equal(ecn, NOT_ECT);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    const struct h_seg *d = h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 0, 100);
    assert_int_equal(ecn_of(d), ECT0);
    uint8_t byte = 'x';
    peer_send(h, TCP_ACK, IRS + 1, &byte, 1, ECT0);
    const struct h_seg *a = h_expect(h, TCP_ACK, ISS + 101, IRS + 2);
    assert_int_equal(ecn_of(a), NOT_ECT);
}

/* tcp_ecn 0: the ECN-setup SYN is answered without ECE. */
static void tcp_ecn_0_refuses(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_ecn = 0;
    h_reinit(h);
    uint8_t ecn;
    assert_int_equal(passive_open(h, true, NOT_ECT, &ecn), TCP_SYN | TCP_ACK);
    assert_false(info_of(h).ecn_on);
}

/* Linux tcp_ecn_create_request(): a SYN that is itself ECN-capable is not
 * taken as an ECN-setup SYN (RFC 3168 6.1.1: SYNs are Not-ECT). */
static void ect_syn_is_refused(void **state)
{
    struct harness *h = *state;
    uint8_t ecn;
    assert_int_equal(passive_open(h, true, ECT0, &ecn), TCP_SYN | TCP_ACK);
    assert_false(info_of(h).ecn_on);
}

/* RFC 3168 6.1.5 (Linux tcp_ecn_send(): only data past SND.NXT): a
 * retransmission goes Not-ECT. */
static void retransmission_is_not_ect(void **state)
{
    struct harness *h = *state;
    ecn_established(h);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    const struct h_seg *d = h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 0, 100);
    assert_int_equal(ecn_of(d), ECT0);
    h_advance(h, info_of(h).rto_us);
    const struct h_seg *r = h_pop_any(h);
    assert_int_equal(r->seg.seq, ISS + 1);
    assert_int_equal(r->seg.len, 100);
    assert_int_equal(ecn_of(r), NOT_ECT);
    assert_false(r->seg.flags & TCP_CWR); /* CWR waits for new data */
    peer_ack(h, ISS + 101, false);
    assert_int_equal(h_write_pattern(h, 100, 100), 100);
    const struct h_seg *n =
        h_expect_pattern(h, TCP_ACK | TCP_PSH | TCP_CWR, ISS + 101, IRS + 1, 100, 100);
    assert_int_equal(ecn_of(n), ECT0); /* RFC 3168 6.1.2: the timeout's reduction told */
}

/*
 * RFC 3168 6.1.3 (Linux __tcp_ecn_check_ce(), tcp_ecn_accept_cwr()): a
 * data segment marked CE makes our ACKs carry ECE, at once (quick ACKs,
 * Linux tcp_enter_quickack_mode(sk, 2)) and until a data segment with CWR
 * comes, which is ACKed at once too. Delayed ACKs are on here (40 ms) and
 * the connection's first quick ACKs are used up first.
 */
/* ECN agreed, delayed ACKs on (40 ms), the connection's first quick ACKs
 * (Linux TCP_MAX_QUICKACKS) used up by ECT(0) data; returns the peer's
 * next sequence number. */
static uint32_t ecn_established_delack(struct harness *h)
{
    h->cfg.delack_us = 40 * MS;
    h_reinit(h);
    ecn_established(h);
    uint8_t b[1] = {'x'};
    uint32_t seq = IRS + 1;
    while (true) {
        peer_send(h, TCP_ACK, seq++, b, 1, ECT0);
        if (h_pending(h) == 0)
            break;
        h_expect(h, TCP_ACK, ISS + 1, seq);
    }
    h_advance(h, 40 * MS); /* the delayed ACK */
    h_expect(h, TCP_ACK, ISS + 1, seq);
    assert_true(info_of(h).ecn_seen);
    return seq;
}

static void ce_is_echoed_until_cwr(void **state)
{
    struct harness *h = *state;
    uint32_t seq = ecn_established_delack(h);
    uint8_t b[1] = {'x'};

    peer_send(h, TCP_ACK, seq++, b, 1, CE);
    const struct h_seg *a = h_expect(h, TCP_ACK | TCP_ECE, ISS + 1, seq);
    assert_int_equal(ecn_of(a), NOT_ECT);
    peer_send(h, TCP_ACK, seq++, b, 1, ECT0); /* the second quick ACK */
    h_expect(h, TCP_ACK | TCP_ECE, ISS + 1, seq);
    peer_send(h, TCP_ACK, seq++, b, 1, ECT0); /* delayed, and still ECE */
    h_expect_nothing(h);
    h_advance(h, 40 * MS);
    h_expect(h, TCP_ACK | TCP_ECE, ISS + 1, seq);

    peer_send(h, TCP_ACK | TCP_CWR, seq++, b, 1, ECT0); /* at once, without ECE */
    h_expect(h, TCP_ACK, ISS + 1, seq);
    peer_send(h, TCP_ACK, seq++, b, 1, ECT0); /* delayed again */
    h_expect_nothing(h);
    h_advance(h, 40 * MS);
    h_expect(h, TCP_ACK, ISS + 1, seq);
}

/* Linux __tcp_ecn_check_ce(): a Not-ECT data segment after ECT ones is
 * likely a retransmission; it and the next are ACKed at once. */
static void not_ect_after_ect_acks_at_once(void **state)
{
    struct harness *h = *state;
    uint32_t seq = ecn_established_delack(h);
    uint8_t b[1] = {'x'};
    peer_send(h, TCP_ACK, seq++, b, 1, NOT_ECT);
    h_expect(h, TCP_ACK, ISS + 1, seq);
    peer_send(h, TCP_ACK, seq++, b, 1, ECT0);
    h_expect(h, TCP_ACK, ISS + 1, seq);
    peer_send(h, TCP_ACK, seq++, b, 1, ECT0);
    h_expect_nothing(h);
    h_advance(h, 40 * MS);
    h_expect(h, TCP_ACK, ISS + 1, seq);
}

/* Without ECN agreed, CE means nothing to TCP: no ECE. */
static void ce_without_ecn_is_ignored(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    uint8_t b[1] = {'x'};
    peer_send(h, TCP_ACK, IRS + 1, b, 1, CE);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
}

/* Four segments sent, the first one ACKed with ECE. */
static void four_segments_first_acked_with_ece(struct harness *h)
{
    ecn_established(h);
    assert_int_equal(h_write_pattern(h, 0, 4 * SEG1), 4 * SEG1);
    for (uint32_t k = 0; k < 4; k++) {
        const struct h_seg *d =
            h_expect_pattern(h, TCP_ACK, ISS + 1 + k * SEG1, IRS + 1, k * SEG1, SEG1);
        assert_int_equal(ecn_of(d), ECT0);
    }
    assert_int_equal(info_of(h).cwnd, 10 * SEG1);
    h_advance(h, 100 * MS);
    peer_ack(h, ISS + 1 + SEG1, true);
    h_expect_nothing(h);
}

/*
 * RFC 3168 6.1.2 and Linux tcp_enter_cwr(), tcp_cwnd_reduction(): ECE on an
 * ACK reduces cwnd as recovery does, without a retransmission: the CWR
 * state (tcpi_ca_state 2), ssthresh from CUBIC (0.7 x 10 = 7 segments),
 * and PRR: 3 segments in flight under ssthresh 7, one delivered, so cwnd
 * is 3 + 1 = 4 (packetdrill's cwnd-moderation-ecn-enter-cwr-no-moderation-700).
 */
static void ece_enters_cwr_with_prr(void **state)
{
    struct harness *h = *state;
    four_segments_first_acked_with_ece(h);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_CWR);
    assert_int_equal(i.ssthresh, 7 * SEG1);
    assert_int_equal(i.cwnd, 4 * SEG1);
    assert_int_equal(h_stats(h).TcpExtTCPDeliveredCE, 1);
}

/*
 * RFC 3168 6.1.2: once per window. A second ECE in the same window
 * reduces nothing more (ssthresh stays); the next new data carries CWR;
 * the ACK past what was sent when CWR began ends it, cwnd = ssthresh
 * (Linux tcp_end_cwnd_reduction()).
 */
static void cwr_once_per_window_then_cwr_flag(void **state)
{
    struct harness *h = *state;
    four_segments_first_acked_with_ece(h);
    peer_ack(h, ISS + 1 + 2 * SEG1, true);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).ca_state, TT_CA_CWR);
    assert_int_equal(info_of(h).ssthresh, 7 * SEG1);

    assert_int_equal(h_write_pattern(h, 4 * SEG1, SEG1), SEG1);
    const struct h_seg *d =
        h_expect_pattern(h, TCP_ACK | TCP_CWR, ISS + 1 + 4 * SEG1, IRS + 1, 4 * SEG1, SEG1);
    assert_int_equal(ecn_of(d), ECT0);
    peer_ack(h, ISS + 1 + 4 * SEG1, false); /* all but the CWR segment: still CWR */
    h_expect_nothing(h);
    assert_int_equal(info_of(h).ca_state, TT_CA_CWR);
    peer_ack(h, ISS + 1 + 5 * SEG1, false);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).ca_state, TT_CA_OPEN);
    assert_int_equal(info_of(h).cwnd, 7 * SEG1);

    assert_int_equal(h_write_pattern(h, 5 * SEG1, SEG1), SEG1); /* CWR only once */
    h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1 + 5 * SEG1, IRS + 1, 5 * SEG1, SEG1);
}

/* Linux tcp_enter_loss(): a timeout in the CWR state keeps the ssthresh
 * CWR set (7 segments), where from the Open state CUBIC would take 0.7 of
 * cwnd again (4 -> 2 segments); cwnd is one segment, and the
 * retransmission is Not-ECT. */
static void timeout_in_cwr_keeps_its_ssthresh(void **state)
{
    struct harness *h = *state;
    four_segments_first_acked_with_ece(h);
    h_advance(h, info_of(h).rto_us);
    const struct h_seg *r = h_pop_any(h);
    assert_int_equal(r->seg.seq, ISS + 1 + SEG1);
    assert_int_equal(ecn_of(r), NOT_ECT);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_LOSS);
    assert_int_equal(i.ssthresh, 7 * SEG1);
    assert_int_equal(i.cwnd, SEG1);
}

/*
 * RFC 3168 6.1.2: every reduction of cwnd is told with CWR, the one a tail
 * loss probe's repaired loss makes too (Linux tcp_process_tlp_ack() runs
 * tcp_init_cwnd_reduction(), which queues CWR). SACK and ECN agreed, an
 * RTT of 10 ms; the last of four segments is lost, the probe resends it,
 * the ACK past the probe shows the loss was real; the next new data
 * carries CWR.
 */
static void tail_loss_probe_reduction_sends_cwr(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_sack = 1;
    h_reinit(h);
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    struct tcp_opts o = {.mss_ok = true, .mss = H_MSS, .sack_ok = true};
    h_send_opts(h, TCP_SYN | TCP_ECE | TCP_CWR, IRS, 0, &o, NULL, 0);
    const struct h_seg *sa = h_pop_any(h);
    assert_int_equal(sa->seg.flags, TCP_SYN | TCP_ACK | TCP_ECE);
    h->iss = sa->seg.seq;
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);

    assert_int_equal(h_write_pattern(h, 0, 4 * SEG1), 4 * SEG1);
    for (uint32_t k = 0; k < 4; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + k * SEG1, IRS + 1, k * SEG1, SEG1);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 3 * SEG1, NULL, 0); /* the last is lost */
    h_expect_nothing(h);
    while (h_pending(h) == 0)
        h_advance(h, 1 * MS);
    const struct h_seg *probe = h_pop_any(h);
    assert_int_equal(probe->seg.seq, ISS + 1 + 3 * SEG1);
    assert_int_equal(ecn_of(probe), NOT_ECT); /* a retransmission */
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 1);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 4 * SEG1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_write_pattern(h, 4 * SEG1, SEG1), SEG1);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1 + 4 * SEG1, IRS + 1, 4 * SEG1, SEG1);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 5 * SEG1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbeRecovery, 1);
    assert_int_equal(h_write_pattern(h, 5 * SEG1, SEG1), SEG1);
    const struct h_seg *d = h_expect_pattern(h, TCP_ACK | TCP_PSH | TCP_CWR, ISS + 1 + 5 * SEG1,
                                             IRS + 1, 5 * SEG1, SEG1);
    assert_int_equal(ecn_of(d), ECT0);
}

/* ECE means nothing when ECN was not agreed (Linux tcp_ecn_rcv_ecn_echo()). */
static void ece_without_ecn_is_ignored(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 2 * SEG1), 2 * SEG1);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, SEG1);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1 + SEG1, IRS + 1, SEG1, SEG1);
    peer_ack(h, ISS + 1 + SEG1, true);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).ca_state, TT_CA_OPEN);
    assert_int_equal(info_of(h).ssthresh, UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tcp_ecn_1_asks_and_data_is_ect0, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tcp_ecn_2_never_asks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(synack_without_ece_leaves_ecn_off, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(resent_syn_drops_ece_cwr, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(listener_agrees_to_ecn_setup_syn, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tcp_ecn_0_refuses, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ect_syn_is_refused, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(retransmission_is_not_ect, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ce_is_echoed_until_cwr, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(not_ect_after_ect_acks_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ce_without_ecn_is_ignored, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ece_enters_cwr_with_prr, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cwr_once_per_window_then_cwr_flag, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timeout_in_cwr_keeps_its_ssthresh, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tail_loss_probe_reduction_sends_cwr, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ece_without_ecn_is_ignored, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
