/*
 * Explicit Congestion Notification (RFC 3168) as Linux does it
 * (net.ipv4.tcp_ecn; Linux's tcp_ecn_* functions of tcp_input.c and
 * tcp_output.c):
 *
 * - Negotiation (RFC 3168 6.1.1): with tcp_ecn 1 our SYN carries ECE and
 *   CWR; the SYN-ACK that answers it with ECE and without CWR turns ECN on.
 *   A SYN we send again carries neither (Linux tcp_ecn_clear_syn(),
 *   tcp_ecn_fallback 1), in case a middlebox drops the ECN setup SYN.
 *   With tcp_ecn 1 or 2 a peer's SYN with ECE and CWR, itself not ECN-capable
 *   (Linux tcp_ecn_create_request()), gets ECE in our SYN-ACK and ECN on.
 * - Marks (RFC 3168 6.1.1, 6.1.5; Linux tcp_ecn_send()): ECT(0) only on
 *   segments of new data; SYNs, SYN-ACKs, pure ACKs, window probes and
 *   retransmissions go Not-ECT.
 * - Receiver (RFC 3168 6.1.3; Linux __tcp_ecn_check_ce(),
 *   tcp_ecn_accept_cwr()): a data segment marked CE makes every segment we
 *   send carry ECE, until a data segment with CWR arrives; CE and CWR both
 *   ask for quick ACKs.
 * - Sender (RFC 3168 6.1.2): ECE on an ACK is tcp_recovery.c's to act on
 *   (the CWR state); the next new data segment after any cwnd reduction
 *   carries CWR (Linux tcp_ecn_queue_cwr()).
 *
 * Called by tcp_output.c, tcp_input.c, tcp_listen.c, tcp_ack.c,
 * tcp_recovery.c and tcp_timer.c; calls nothing, so it stays out of their
 * call cycles (docs/architecture.md §2).
 */
#include "engine.h"
#include "seq.h"

/* RFC 3168 5: the codepoints of the ECN field. */
#define ECN_NOT_ECT 0
#define ECN_ECT0 2
#define ECN_CE 3

uint8_t tt_ecn_syn_flags(struct tt_conn *c, bool synack)
{
    if (synack) /* Linux tcp_ecn_make_synack() */
        return (c->ecn_flags & TT_ECN_OK) ? TCP_ECE : 0;
    if (c->syn_resent) /* Linux tcp_ecn_clear_syn(): the retry asks for nothing */
        return 0;
    /* Linux tcp_ecn_send_syn(): only tcp_ecn 1 asks */
    c->ecn_flags = c->eng->cfg.tcp_ecn == 1 ? TT_ECN_OK : 0;
    return c->ecn_flags ? TCP_ECE | TCP_CWR : 0;
}

void tt_ecn_rcv_syn(struct tt_conn *c, const struct seg *seg)
{
    uint8_t f = seg->flags & (TCP_ECE | TCP_CWR);
    /* Linux tcp_ecn_rcv_synack(): a SYN-ACK agrees with ECE alone; a
     * simultaneous open's SYN (tcp_ecn_rcv_syn()) asks with both. */
    uint8_t agree = (seg->flags & TCP_ACK) ? TCP_ECE : TCP_ECE | TCP_CWR;
    if (f != agree)
        c->ecn_flags = 0;
}

bool tt_ecn_syn_asks(const tt_engine_t *eng, const struct seg *syn)
{
    /* RFC 3168 6.1.1: an ECN-setup SYN has ECE and CWR; Linux refuses it
     * when the SYN itself is ECN-capable (tcp_ecn_create_request()). */
    return eng->cfg.tcp_ecn != 0 && (syn->flags & (TCP_ECE | TCP_CWR)) == (TCP_ECE | TCP_CWR) &&
           (syn->tos & TT_TOS_ECN_MASK) == ECN_NOT_ECT;
}

void tt_ecn_send(struct tt_conn *c, struct seg *s)
{
    if (!(c->ecn_flags & TT_ECN_OK) || (s->flags & TCP_SYN))
        return;
    /* RFC 3168 6.1.5 and 6.1.6: only new data is ECN-capable; a
     * retransmission, a pure ACK or a window probe is not. */
    if (s->len > 0 && seq_geq(s->seq, c->snd_nxt)) {
        s->tos = (uint8_t)((s->tos & ~TT_TOS_ECN_MASK) | ECN_ECT0);
        if (c->ecn_flags & TT_ECN_QUEUE_CWR) { /* RFC 3168 6.1.2 */
            c->ecn_flags &= (uint8_t)~TT_ECN_QUEUE_CWR;
            s->flags |= TCP_CWR;
        }
    }
    if (c->ecn_flags & TT_ECN_DEMAND_CWR) /* RFC 3168 6.1.3 */
        s->flags |= TCP_ECE;
}

/* Linux tcp_enter_quickack_mode(sk, 2): the next two ACKs go at once. */
static void quickack(struct tt_conn *c)
{
    if (c->quickacks < 2)
        c->quickacks = 2;
}

bool tt_ecn_rcv_data(struct tt_conn *c, const struct seg *seg)
{
    if (!(c->ecn_flags & TT_ECN_OK) || seg->len == 0)
        return false;
    switch (seg->tos & TT_TOS_ECN_MASK) {
    case ECN_NOT_ECT:
        /* Linux: after ECT, a Not-ECT segment is likely a retransmission */
        if (c->ecn_flags & TT_ECN_SEEN)
            quickack(c);
        break;
    case ECN_CE:
        if (!(c->ecn_flags & TT_ECN_DEMAND_CWR)) {
            quickack(c); /* the sender's cwnd may be small: no delayed ACK */
            c->ecn_flags |= TT_ECN_DEMAND_CWR;
        }
        c->ecn_flags |= TT_ECN_SEEN;
        break;
    default:
        c->ecn_flags |= TT_ECN_SEEN;
        break;
    }
    /* RFC 3168 6.1.3: CWR ends the echo; Linux ACKs such a segment at once
     * (tcp_ecn_accept_cwr()): the sender's window may be one segment. */
    if (!(seg->flags & TCP_CWR))
        return false;
    c->ecn_flags &= (uint8_t)~TT_ECN_DEMAND_CWR;
    return true;
}

bool tt_ecn_echo(const struct tt_conn *c, const struct seg *seg)
{
    /* Linux tcp_ecn_rcv_ecn_echo() */
    return (seg->flags & TCP_ECE) && !(seg->flags & TCP_SYN) && (c->ecn_flags & TT_ECN_OK);
}

void tt_ecn_queue_cwr(struct tt_conn *c)
{
    if (c->ecn_flags & TT_ECN_OK)
        c->ecn_flags |= TT_ECN_QUEUE_CWR;
}
