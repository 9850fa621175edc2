/*
 * RFC 9293 3.10.7.4 fifth step: the ACK field. What it acknowledges leaves
 * the send buffer, the RTT estimator takes a sample (RFC 6298, Karn), the
 * congestion window moves (RFC 5681 slow start and congestion avoidance,
 * RFC 6582 NewReno fast retransmit and recovery), the send window is
 * updated (SND.WL1/SND.WL2 rule), and the states that wait for our FIN to be
 * acknowledged move on.
 */
#include <errno.h>

#include "engine.h"
#include "seq.h"

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

static uint32_t add_sat_u32(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static bool our_fin_acked(const struct tt_conn *c)
{
    return c->fin_sent && seq_gt(c->snd_una, c->fin_seq);
}

/* With SACK, the next hole below SACKed data goes out again, one segment
 * per arriving ACK (RFC 6675 4, NextSeg rule 1). */
static void sack_retransmit_next(struct tt_conn *c)
{
    uint32_t start, end;
    uint32_t from = seq_max(c->high_rxt, c->snd_una);
    if (c->nsacked == 0 || !tt_sack_next_hole(c, from, &start, &end))
        return;
    uint32_t n = tt_tcp_retransmit_at(c, start, end - start);
    if (n)
        c->high_rxt = start + n;
}

/*
 * RFC 6582 3.2 step 3: in fast recovery each further duplicate ACK inflates
 * cwnd by one SMSS, a segment having left the network. No more segments
 * can leave than are in flight, so duplicates beyond that (forged by a
 * receiver: "DupACK spoofing", Savage et al. 1999) open nothing more:
 * cwnd stays within ssthresh + FlightSize.
 */
static void inflate_for_dupack(struct tt_conn *c)
{
    uint64_t cap = (uint64_t)c->ssthresh + (c->snd_nxt - c->snd_una);
    uint64_t cwnd = (uint64_t)c->cwnd + c->mss;
    if (cwnd > cap)
        cwnd = cap > c->cwnd ? cap : c->cwnd;
    c->cwnd = cwnd > UINT32_MAX ? UINT32_MAX : (uint32_t)cwnd;
}

/*
 * RFC 6582 3.2: three duplicate ACKs start fast retransmit. `recover` is
 * the highest sequence number sent (SND.NXT - 1) when a recovery began,
 * and an ACK ends it or allows the next one when it covers more than
 * recover (SND.UNA > recover). This is the basic algorithm of 3.2, the
 * "careful variant" of RFC 3782, without the heuristics of RFC 6582 4.1
 * and 4.2 for duplicate ACKs after a timeout.
 */
static void on_dupack(struct tt_conn *c)
{
    if (c->in_fast_recovery) {
        inflate_for_dupack(c);
        sack_retransmit_next(c);
        return;
    }
    if (++c->dupacks != TT_DUPACK_THRESH || c->in_loss)
        return;
    if (!seq_gt(c->snd_una, c->recover))
        return; /* step 1: not again for losses of the same window */
    uint32_t flight = c->snd_nxt - c->snd_una;
    c->ssthresh = max_u32(flight / 2, 2u * c->mss); /* step 2 */
    c->recover = c->snd_nxt - 1;                    /* step 1 */
    c->high_rxt = c->snd_una;
    tt_tcp_retransmit_head(c);
    c->cwnd = c->ssthresh + 3u * c->mss;
    c->in_fast_recovery = true;
}

/*
 * Whether this ACK may open cwnd: only when cwnd, not the application or
 * the peer's window, held the flow back (a rate-limited flow, RFC 7661
 * section 3, learns nothing of the path). The rule is Linux's
 * tcp_is_cwnd_limited(): the flight reached cwnd in the window being
 * acknowledged, or, in slow start, cwnd is still below twice the largest
 * flight of that window, so that slow start doubles what was really sent.
 * tt_tcp_output.c measures both per window (cwnd_validate()).
 */
static bool cwnd_may_grow(const struct tt_conn *c)
{
    if (c->cwnd_limited)
        return true;
    return c->cwnd < c->ssthresh && (uint64_t)c->cwnd < 2ull * c->max_flight;
}

/*
 * RFC 6582 3.2 step 5, partial ACK: cwnd shrinks by the data acknowledged
 * and gets one SMSS back only when that was at least one SMSS, so that a
 * receiver acknowledging a byte at a time cannot grow it. Never below one
 * segment (RFC 5681 3.1's loss window).
 */
static void deflate_for_partial_ack(struct tt_conn *c, uint32_t acked)
{
    uint32_t cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
    if (acked >= c->mss)
        cwnd = add_sat_u32(cwnd, c->mss);
    c->cwnd = max_u32(cwnd, c->mss);
}

/* RFC 5681 3.1 and RFC 6582 3.2 steps 5-6, for an ACK of new data. */
static void cc_on_new_ack(struct tt_conn *c, uint32_t acked)
{
    if (c->in_fast_recovery) {
        if (seq_gt(c->snd_una, c->recover)) { /* full ACK: recover acknowledged */
            c->cwnd = c->ssthresh;
            c->in_fast_recovery = false;
        } else { /* partial ACK: the next hole is lost too */
            if (seq_geq(c->snd_una, c->high_rxt))
                tt_tcp_retransmit_head(c); /* the new first segment was never resent */
            else
                sack_retransmit_next(c);
            deflate_for_partial_ack(c, acked);
        }
        return;
    }
    if (c->in_loss && seq_gt(c->snd_una, c->recover))
        c->in_loss = false; /* what was sent before the RTO is acknowledged */
    if (!cwnd_may_grow(c))
        return;
    uint32_t mss = c->mss;
    if (c->cwnd < c->ssthresh)
        c->cwnd = add_sat_u32(c->cwnd, acked < mss ? acked : mss); /* slow start, (2) */
    else
        c->cwnd = add_sat_u32(c->cwnd, max_u32(1, mss * mss / c->cwnd)); /* avoidance, (3) */
}

/*
 * The ACK of our SYN: an RTT sample (RFC 6298 2.2, Linux
 * tcp_synack_rtt_meas()) only when the SYN or SYN-ACK went out once (RFC
 * 6298 3, Karn). retries > 0 also marks a SYN-ACK whose send time is
 * unknown (a SYN cookie's).
 */
void tt_tcp_rtt_syn_acked(struct tt_conn *c)
{
    if (c->retries == 0 && !c->syn_resent)
        tt_tcp_rtt_sample(c, c->eng->now - c->rtt_start);
}

static void rtt_on_ack(struct tt_conn *c, uint32_t ack)
{
    if (c->rtt_timing && seq_geq(ack, c->rtt_seq)) {
        c->rtt_timing = false;
        tt_tcp_rtt_sample(c, c->eng->now - c->rtt_start);
    } else {
        tt_tcp_rto_from_estimate(c); /* new data acked: leave any backoff */
    }
}

/* Data acknowledged: out of the send buffer; the app may write again (its
 * writable callback comes at the end of the engine call, tcb.c). */
static void release_acked(struct tt_conn *c, uint32_t ack)
{
    uint32_t n = seq_gt(ack, c->snd_buf_seq) ? ack - c->snd_buf_seq : 0;
    if (n > c->sndbuf.len)
        n = c->sndbuf.len;
    tt_ring_consume(&c->sndbuf, n);
    c->snd_buf_seq += n;
    if (c->sndbuf.len == 0)
        tt_ring_free(&c->sndbuf); /* an idle connection holds no buffer */
    if (n && c->writable_wanted && c->writable_cb && !c->orphan)
        tt_tcb_notify_writable(c);
}

static void new_ack(struct tt_conn *c, const struct seg *seg)
{
    uint32_t acked = seg->ack - c->snd_una;
    c->snd_una = seg->ack;
    if (seq_lt(c->rtx_nxt, c->snd_una))
        c->rtx_nxt = c->snd_una;
    tt_sack_prune(c);
    c->retries = 0;
    c->dupacks = 0;
    rtt_on_ack(c, seg->ack);
    tt_timer_cancel(c->eng->wheel, &c->rtx_timer); /* RFC 6298 5.3: restarted by output */
    cc_on_new_ack(c, acked);
    release_acked(c, seg->ack);
}

static bool is_dupack(const struct tt_conn *c, const struct seg *seg, uint32_t wnd)
{
    return seg->ack == c->snd_una && seg->len == 0 && !(seg->flags & (TCP_SYN | TCP_FIN)) &&
           wnd == c->snd_wnd && seq_lt(c->snd_una, c->snd_nxt);
}

/* RFC 9293 3.10.7.4: update the send window from segments that are not older
 * than the one that last did, and only when SND.UNA =< SEG.ACK: an old ACK
 * says nothing of the window now (Linux's tcp_ack() old_ack path ignores it
 * too). Called after new_ack(), which moves SND.UNA up to SEG.ACK. */
static void update_window(struct tt_conn *c, const struct seg *seg, uint32_t wnd)
{
    if (seq_lt(seg->ack, c->snd_una))
        return;
    if (seq_lt(c->snd_wl1, seg->seq) || (c->snd_wl1 == seg->seq && seq_leq(c->snd_wl2, seg->ack))) {
        c->snd_wnd = wnd;
        c->snd_wl1 = seg->seq;
        c->snd_wl2 = seg->ack;
        if (wnd > c->snd_max_wnd)
            c->snd_max_wnd = wnd;
    }
}

/* SYN_RECEIVED: the ACK of our SYN completes the handshake. */
static bool syn_received_ack(struct tt_conn *c, const struct seg *seg)
{
    if (!seq_gt(seg->ack, c->snd_una) || seq_gt(seg->ack, c->snd_nxt)) {
        tt_tcp_send_reset_reply(c->eng, seg, (int)c->state);
        return false;
    }
    if (c->listener && c->listener->ready >= c->listener->backlog) {
        /* Linux: the accept queue is full; forget this ACK, the SYN-ACK
         * timer will offer the handshake again. Linux counts it in both
         * (tcp_v4_syn_recv_sock: exit_overflow, then tcp_listendrop). */
        c->eng->stats.TcpExtListenOverflows++;
        c->eng->stats.TcpExtListenDrops++;
        return false;
    }
    tt_tcp_rtt_syn_acked(c);
    c->snd_una = seg->ack; /* the SYN: no data, so no congestion-window growth */
    c->retries = 0;
    tt_timer_cancel(c->eng->wheel, &c->rtx_timer);
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    c->snd_wnd = (uint32_t)seg->wnd << c->snd_wscale;
    c->snd_max_wnd = c->snd_wnd;
    tt_tcb_set_state(c, TT_STATE_ESTABLISHED);
    if (c->fin_queued) /* closed or shut down while in SYN_RECEIVED */
        tt_tcb_set_state(c, TT_STATE_FIN_WAIT_1);
    return true;
}

/* FIN_WAIT_1 whose FIN is acknowledged moves to FIN_WAIT_2. */
void tt_tcp_fin_wait_1_done(struct tt_conn *c)
{
    if (c->state != TT_STATE_FIN_WAIT_1 || !our_fin_acked(c))
        return;
    tt_tcb_set_state(c, TT_STATE_FIN_WAIT_2);
    tt_tcb_user_notify_close(c, 0); /* SO_LINGER {on, N}: done in time */
    tt_tcp_arm_finwait2(c);
}

/* States that wait for the ACK of our FIN. */
static enum tt_ack_verdict fin_ack_states(struct tt_conn *c, const struct seg *seg)
{
    if (!our_fin_acked(c))
        return TT_ACK_GO_ON;
    switch (c->state) {
    case TT_STATE_FIN_WAIT_1:
        /* With a FIN in the same segment the eighth step goes straight to
         * TIME_WAIT (docs/contract.md §2.1); tt_tcp_fin_wait_1_done() covers the rest. */
        if (!(seg->flags & TCP_FIN))
            tt_tcp_fin_wait_1_done(c);
        return TT_ACK_GO_ON;
    case TT_STATE_CLOSING:
        tt_tcb_user_notify_close(c, 0);
        tt_timewait_enter(c);
        return TT_ACK_CLOSED;
    case TT_STATE_LAST_ACK:
        tt_tcb_close(c, TT_WHY_LAST_ACK, 0);
        return TT_ACK_CLOSED;
    default:
        return TT_ACK_GO_ON;
    }
}

/* The fifth step; its verdict says how far the segment goes on. */
enum tt_ack_verdict tt_tcp_ack_input(struct tt_conn *c, const struct seg *seg)
{
    bool was_syn_rcvd = c->state == TT_STATE_SYN_RECEIVED;
    if (was_syn_rcvd && !syn_received_ack(c, seg))
        return TT_ACK_DONE;
    if (seq_gt(seg->ack, c->snd_nxt) || seq_lt(seg->ack, c->snd_una - max_u32(c->snd_max_wnd, 1))) {
        /* RFC 9293 3.10.7.4 and RFC 5961 5.2: not acceptable; ACK, rate-limited */
        if (!tt_tcp_oow_rate_limited(c->eng, &c->last_oow_ack, &c->oow_ack_sent))
            tt_tcp_send_ack(c);
        return TT_ACK_DONE;
    }
    if (seq_geq(seg->ack, c->snd_una)) {
        c->probes_out = 0; /* the peer answers: Linux tcp_ack(), RFC 1122 4.2.2.17 */
        c->rcv_stamp = c->eng->now;
    }
    uint32_t wnd = (uint32_t)seg->wnd << c->snd_wscale;
    if (c->sack_ok && seg->opt.sack_count)
        tt_sack_update(c, seg);
    if (seq_gt(seg->ack, c->snd_una))
        new_ack(c, seg);
    else if (is_dupack(c, seg, wnd))
        on_dupack(c);
    update_window(c, seg, wnd);
    enum tt_ack_verdict v = fin_ack_states(c, seg);
    if (v == TT_ACK_GO_ON && was_syn_rcvd)
        tt_tcb_established(c);
    return v;
}
