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

static bool our_fin_acked(const struct tt_conn *c)
{
    return c->fin_sent && seq_gt(c->snd_una, c->fin_seq);
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

/* RFC 5681 3.1 for an ACK of new data outside recovery; delivered: the
 * bytes it acknowledged or SACKed for the first time. How much cwnd grows is
 * the congestion-control module's (tcp_cc.c). */
static void cc_on_new_ack(struct tt_conn *c, uint32_t delivered)
{
    if (c->in_loss && seq_gt(c->snd_una, c->recover))
        c->in_loss = false; /* what was sent before the RTO is acknowledged */
    if (!cwnd_may_grow(c))
        return;
    tt_cc_cong_avoid(c, delivered);
}

/*
 * Linux tcp_may_raise_cwnd(): once the peer has shown more reordering than
 * tcp_reordering (3 segments), any forward progress opens cwnd, data
 * newly SACKed too; below that only an ACK that moves SND.UNA does (RFC
 * 5681 grows cwnd on in-order delivery). For an ACK that SACKs without
 * moving SND.UNA, outside recovery.
 */
static void cc_on_sack_progress(struct tt_conn *c, uint32_t delivered)
{
    if (delivered && c->reordering > TT_DUPACK_THRESH)
        cc_on_new_ack(c, delivered);
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

/*
 * The RTT an ACK's TSecr gives (RFC 7323 4.1), in microseconds, or -1:
 * Linux tcp_ack_update_rtt() takes it, in whole milliseconds and at least
 * one, when the ACK acknowledged new data and no segment's send time may
 * be used (retransmitted data was acknowledged: the peer echoes the
 * TSval of the copy that arrived, so Karn's ambiguity is gone).
 */
static int64_t rtt_from_tsecr(const struct tt_conn *c, const struct seg *seg)
{
    if (!c->ts_on || !seg->opt.ts_ok || seg->opt.ts_ecr == 0)
        return -1;
    uint32_t ms = tt_engine_ms(c->eng) + c->ts_offset - seg->opt.ts_ecr;
    if (ms >= INT32_MAX / 1000) /* Linux: an echo from the future or far past */
        return -1;
    return (int64_t)(ms ? ms : 1) * 1000;
}

/* The RTT of the lowest segment this ACK newly SACKed, if sent once
 * (tcp_rack.c; Linux's sack_rtt_us), or -1. */
static int64_t rtt_from_sack(const struct tt_conn *c)
{
    return c->rack_sackt_ok ? (int64_t)(c->eng->now - c->rack_sackt) : -1;
}

/* Linux tcp_ack_update_rtt() for an ACK that does not move SND.UNA: its
 * newly SACKed data is the sample, when it was sent once. */
static void rtt_on_sack(struct tt_conn *c)
{
    int64_t rtt = rtt_from_sack(c);
    if (rtt >= 0)
        tt_tcp_rtt_sample(c, (uint64_t)rtt);
}

/*
 * Linux tcp_ack_update_rtt(): every ACK of new data gives the estimator a
 * sample, the time since the oldest segment it acknowledged was sent
 * (seq_rtt, from tcp_txstamp.c; none when retransmitted data was
 * acknowledged, RFC 6298 3 Karn), else the newly SACKed data's, else the
 * TSecr's. RFC 6298 2 asks for
 * one sample per round trip at least; Linux takes them all, and its
 * SRTT with them.
 */
static void rtt_on_ack(struct tt_conn *c, const struct seg *seg, int64_t *seq_rtt, int64_t *ca_rtt)
{
    if (*seq_rtt < 0)
        *seq_rtt = rtt_from_sack(c);
    if (*seq_rtt < 0) {
        *seq_rtt = rtt_from_tsecr(c, seg);
        if (*seq_rtt >= 0)
            *ca_rtt = *seq_rtt; /* Linux: CC's sample is the TSecr's too */
    }
    if (*seq_rtt >= 0)
        tt_tcp_rtt_sample(c, (uint64_t)*seq_rtt);
    else
        tt_tcp_rto_from_estimate(c); /* new data acked: leave any backoff */
}

/* Data acknowledged: out of the send buffer. A writer that ran out of room
 * may write again once a third of the buffer is free (Linux
 * sk_stream_write_space(), tcp_sndmem.c); its writable callback comes at
 * the end of the engine call (tcb.c), before the output, so what it
 * writes carries this segment's ACK. */
static void release_acked(struct tt_conn *c, uint32_t ack)
{
    uint32_t n = seq_gt(ack, c->snd_buf_seq) ? ack - c->snd_buf_seq : 0;
    if (n > c->sndbuf.len)
        n = c->sndbuf.len;
    tt_ring_consume(&c->sndbuf, n);
    c->snd_buf_seq += n;
    tt_tcb_eor_drop_acked(c);
    tt_skb_acked(c);
    if (c->sndbuf.len == 0)
        tt_tcb_sndbuf_emptied(c);
    c->queue_shrunk |= n > 0;
    if (n && c->writable_wanted && c->writable_cb && !c->orphan && tt_sndmem_writable(c))
        tt_tcb_notify_writable(c);
}

/*
 * Without SACK, each duplicate ACK already counted one segment delivered
 * (Linux tcp_add_reno_sack()); the ACK that then moves SND.UNA delivers the
 * rest, at least one segment (tcp_remove_reno_sacks()).
 */
static uint32_t reno_delivered(const struct tt_conn *c, uint32_t acked, uint32_t reno_sacked)
{
    uint64_t counted = (uint64_t)reno_sacked * c->mss;
    uint32_t least = acked < c->mss ? acked : c->mss;
    uint32_t rest = acked > counted ? acked - (uint32_t)counted : 0;
    return rest > least ? rest : least;
}

static void new_ack(struct tt_conn *c, const struct seg *seg, uint32_t sacked_before, bool ece)
{
    uint32_t acked = seg->ack - c->snd_una;
    uint32_t reno_sacked = c->dupacks;
    int64_t seq_rtt;
    int64_t ca_rtt = tt_txstamp_acked(c, c->snd_una, seg->ack, &seq_rtt);
    c->snd_una = seg->ack;
    if (seq_lt(c->rtx_nxt, c->snd_una))
        c->rtx_nxt = c->snd_una;
    tt_sack_prune(c);
    tt_rack_prune(c);
    c->retries = 0;
    c->backoff = 0;
    c->dupacks = 0;
    rtt_on_ack(c, seg, &seq_rtt, &ca_rtt);
    tt_timer_cancel(c->eng->wheel, &c->rtx_timer); /* RFC 6298 5.3: restarted by output */
    c->rack_reo_armed = false;
    uint32_t sacked_after = tt_sack_bytes_below(c, c->snd_nxt);
    uint32_t delivered = acked + sacked_after - sacked_before; /* never wraps below 0 */
    if (!c->sack_ok && reno_sacked)
        delivered = reno_delivered(c, acked, reno_sacked);
    c->delivered_bytes += delivered;
    tt_cc_pkts_acked(c, ca_rtt); /* Linux: in tcp_clean_rtx_queue(), before cong_avoid */
    if (!tt_rec_on_ack(c, delivered, true, ece))
        cc_on_new_ack(c, delivered);
    release_acked(c, seg->ack);
    if (c->snd_una == c->snd_nxt) /* Linux tcp_clean_rtx_queue(): the flight is over */
        tt_chrono_stop(c, TT_CHRONO_BUSY);
}

/*
 * A duplicate ACK as Linux counts one (tcp_ack(): no FLAG_NOT_DUP): no
 * data, nothing new acknowledged, and no window update, where a window
 * update is what tcp_may_update_window() takes as one: a newer SEG.SEQ, or
 * the same one with a larger or a zero window. A window that shrinks does
 * not stop the count (RFC 5681 2 counts only unchanged windows; Linux
 * does not, and neither does recovery here).
 */
static bool is_dupack(const struct tt_conn *c, const struct seg *seg, uint32_t wnd)
{
    bool win_update =
        seq_gt(seg->seq, c->snd_wl1) || (seg->seq == c->snd_wl1 && (wnd > c->snd_wnd || wnd == 0));
    return seg->ack == c->snd_una && seg->len == 0 && !(seg->flags & (TCP_SYN | TCP_FIN)) &&
           !win_update && seq_lt(c->snd_una, c->snd_nxt);
}

/*
 * RFC 9293 3.10.7.4: update the send window from segments that are not older
 * than the one that last did, and only when SND.UNA =< SEG.ACK: an old ACK
 * says nothing of the window now (Linux's tcp_ack() old_ack path ignores it
 * too). Called after new_ack(), which moves SND.UNA up to SEG.ACK.
 *
 * An ACK that moved SND.UNA (una_advanced) always updates it, whatever its
 * SEG.SEQ (Linux tcp_may_update_window(): after(ack, snd_una)). The peer's
 * retransmission that fills a hole in its data has a SEG.SEQ below the
 * SND.WL1 its later segments set, yet carries its newest ACK and window:
 * with the WL1 rule alone the window stays where it was while SND.UNA moves
 * up, so the right edge moves past the one the peer offered (a zero window
 * after it filled up). A Linux peer then drops every segment of ours as
 * beyond its window, the ACKs in them too, and the two deadlock.
 */
static void update_window(struct tt_conn *c, const struct seg *seg, uint32_t wnd, bool una_advanced)
{
    if (seq_lt(seg->ack, c->snd_una))
        return;
    if (una_advanced || seq_lt(c->snd_wl1, seg->seq) ||
        (c->snd_wl1 == seg->seq && seq_leq(c->snd_wl2, seg->ack))) {
        bool changed = wnd != c->snd_wnd;
        c->snd_wnd = wnd;
        c->snd_wl1 = seg->seq;
        c->snd_wl2 = seg->ack;
        /* Linux tcp_ack_update_window(): a new window with data waiting
         * restarts cwnd after an idle time, as a write would (a window
         * that opens after a long zero window, slow start again). */
        if (changed && seq_lt(c->snd_nxt, c->snd_buf_seq + c->sndbuf.len))
            tt_cc_restart_after_idle(c);
        if (wnd > c->snd_max_wnd)
            c->snd_max_wnd = wnd;
    }
}

/* The send window a segment offers: RFC 7323 2.2, scaled except in a
 * segment with SYN (a simultaneous open's SYN-ACK completes SYN_RECEIVED). */
static uint32_t seg_wnd(const struct tt_conn *c, const struct seg *seg)
{
    bool syn = (seg->flags & TCP_SYN) || seg->syn_stripped;
    return (uint32_t)seg->wnd << (syn ? 0 : c->snd_wscale);
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
    c->backoff = 0;
    tt_timer_cancel(c->eng->wheel, &c->rtx_timer);
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    c->snd_wnd = seg_wnd(c, seg);
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

/*
 * An ACK of data we never sent: the segment is dropped, its text and FIN
 * too (RFC 9293 3.10.7.4). RFC 9293 says to send an ACK; Linux's tcp_ack()
 * drops it silently in ESTABLISHED (tcp_rcv_established()) and answers it
 * with a rate-limited challenge ACK only in the other states
 * (tcp_rcv_state_process()), and we do the same: an ACK for every such
 * segment would let a blind sender draw replies at will. TS.Recent does not
 * move either (tcp_input.c takes it only from an acceptable ACK).
 */
static void unsent_data_acked(struct tt_conn *c)
{
    if (c->state != TT_STATE_ESTABLISHED)
        tt_tcp_challenge_ack(c);
}

/* The fifth step; its verdict says how far the segment goes on. */
enum tt_ack_verdict tt_tcp_ack_input(struct tt_conn *c, const struct seg *seg)
{
    bool was_syn_rcvd = c->state == TT_STATE_SYN_RECEIVED;
    if (was_syn_rcvd && !syn_received_ack(c, seg))
        return TT_ACK_DONE;
    if (seq_gt(seg->ack, c->snd_nxt)) {
        unsent_data_acked(c);
        return TT_ACK_DONE;
    }
    if (seq_lt(seg->ack, c->snd_una - max_u32(c->snd_max_wnd, 1))) {
        tt_tcp_challenge_ack(c); /* RFC 5961 5.2: far too old; dropped */
        return TT_ACK_DONE;
    }
    if (seq_geq(seg->ack, c->snd_una)) {
        c->probes_out = 0; /* the peer answers: Linux tcp_ack(), RFC 1122 4.2.2.17 */
        c->rcv_stamp = c->eng->now;
    }
    uint32_t wnd = seg_wnd(c, seg);
    uint32_t sacked_before = tt_sack_bytes_below(c, c->snd_nxt);
    uint64_t prior_delivered = c->delivered_bytes;
    tt_rack_on_ack(c, seg); /* RFC 8985 6.2: what this ACK delivered */
    if (c->sack_ok && seg->opt.sack_count)
        tt_sack_update(c, seg);
    bool sacked_new = tt_sack_bytes_below(c, c->snd_nxt) != sacked_before;
    bool una_advanced = seq_gt(seg->ack, c->snd_una);
    /* RFC 3168 6.1.2: ECE starts the CWR state (tcp_recovery.c) */
    bool ece = tt_ecn_echo(c, seg);
    tt_rack_update_reo_wnd(c, prior_delivered); /* RFC 8985 6.2 step 3 */
    if (una_advanced)
        new_ack(c, seg, sacked_before, ece);
    else {
        rtt_on_sack(c);
        uint32_t sacked_after = tt_sack_bytes_below(c, c->snd_nxt);
        uint32_t delivered = seq_gt(sacked_after, sacked_before) ? sacked_after - sacked_before : 0;
        c->delivered_bytes += delivered;
        bool dup = is_dupack(c, seg, wnd);
        if (dup)
            c->dupacks++;
        if (dup && !c->sack_ok && (uint64_t)c->dupacks * c->mss <= c->snd_nxt - c->snd_una)
            c->delivered_bytes += c->mss; /* Linux tcp_add_reno_sack() */
        /* a duplicate ACK without SACK: one segment left (reno SACK) */
        if ((dup || delivered || ece) &&
            !tt_rec_on_ack(c, dup && !c->sack_ok ? c->mss : delivered, false, ece))
            cc_on_sack_progress(c, delivered);
    }
    if (ece) /* Linux tcp_count_delivered(): delivered with ECE, segments */
        c->eng->stats.TcpExtTCPDeliveredCE +=
            (c->delivered_bytes - prior_delivered + c->mss - 1) / (c->mss ? c->mss : 1);
    update_window(c, seg, wnd, una_advanced);
    tt_tlp_on_ack(c, seg, una_advanced, sacked_new); /* RFC 8985 7.4 */
    enum tt_ack_verdict v = fin_ack_states(c, seg);
    if (v == TT_ACK_GO_ON && was_syn_rcvd) {
        tt_sndmem_init(c);
        tt_tcb_established(c);
    }
    return v;
}
