/*
 * Fast recovery as Linux does it (docs/contract.md §2.6): what is in flight
 * (RFC 6675 "pipe", Linux tcp_packets_in_flight()), when recovery starts,
 * Proportional Rate Reduction during it (RFC 6937, Linux
 * tcp_cwnd_reduction()), and which segments go out again.
 *
 * - In flight: sent, less what the peer SACKed, less what is taken as lost
 *   and not yet sent again. Without SACK each duplicate ACK stands for one
 *   segment that left the network (Linux's "reno SACKs"). So while ACKs
 *   come back duplicate, new data still goes out as what arrived leaves
 *   room under cwnd: Limited Transmit (RFC 3042) without a rule of its own.
 * - Recovery starts when a segment is lost (Linux tcp_time_to_recover():
 *   lost_out). With SACK, RACK says which (tcp_rack.c, RFC 8985 6, Linux's
 *   default): pipe and the retransmissions follow its marks, and its
 *   reorder timer may start recovery (tt_rec_reo_timeout()). With RACK off
 *   (tcp_recovery without bit 0x1) when three segments are SACKed (RFC
 *   6675 5's DupThresh); without SACK on the third duplicate ACK (RFC 5681
 *   3.2). ssthresh is the congestion-control module's (tcp_cc.c): half of
 *   cwnd for Reno, 0.7 x cwnd for CUBIC, at least two segments.
 * - Lost without RACK: with SACK every byte not SACKed below the highest
 *   SACKed one (what RACK marks once DupThresh segments are SACKed: its
 *   reorder window is then 0); without SACK the first segment (NewReno,
 *   RFC 6582), and after a partial ACK the new first one.
 * - PRR: on each ACK cwnd becomes pipe + what PRR lets go out; at least one
 *   segment on the ACK that starts recovery (the fast retransmit). Lost
 *   segments go first, then new data.
 * - Recovery ends when an ACK covers all that was sent when it started
 *   (RFC 6582 `recover`); cwnd is then ssthresh.
 * - ECN (RFC 3168 6.1.2, Linux tcp_enter_cwr()): an ACK with ECE outside
 *   recovery and RTO recovery starts the CWR state, a reduction of cwnd
 *   like recovery's, once per window: ssthresh from the module, PRR on
 *   each ACK, no retransmission. It ends when an ACK passes what was sent
 *   when it began, cwnd = ssthresh; a loss found meanwhile turns it into
 *   recovery without a second reduction (Linux tcp_enter_recovery()).
 *   Every reduction puts CWR on the next new data (tcp_ecn.c).
 */
#include "engine.h"
#include "seq.h"

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Bytes of [a, b) the peer has not SACKed (a <= b). */
static uint32_t unsacked(const struct tt_conn *c, uint32_t a, uint32_t b)
{
    if (c->nsacked == 0)
        return b - a; /* the common case: nothing SACKed, no walk */
    return (b - a) - (tt_sack_bytes_below(c, b) - tt_sack_bytes_below(c, a));
}

/* The end of what is taken as lost: SND.UNA (nothing) outside recovery. */
uint32_t tt_rec_lost_end(const struct tt_conn *c)
{
    if (!c->in_fast_recovery)
        return c->snd_una;
    if (c->sack_ok && c->nsacked)
        return tt_sack_high(c);
    return seq_min(c->snd_una + c->mss, c->snd_nxt);
}

/*
 * With RACK (tcp_rack.c), Linux's count exactly: sent, less SACKed, less
 * lost and not yet sent again (packets_out - sacked_out - lost_out +
 * retrans_out).
 */
static uint32_t rack_pipe(const struct tt_conn *c)
{
    uint32_t out = unsacked(c, c->snd_una, c->snd_nxt);
    uint32_t lost = tt_rack_lost_bytes(c, true);
    return lost < out ? out - lost : 0;
}

/* RFC 6675 pipe in bytes (Linux tcp_packets_in_flight()). */
uint32_t tt_rec_pipe(const struct tt_conn *c)
{
    if (tt_rack_on(c))
        return rack_pipe(c);
    uint32_t lost_end = tt_rec_lost_end(c);
    uint32_t rtx = seq_max(c->high_rxt, c->snd_una);
    if (seq_gt(rtx, lost_end))
        rtx = lost_end;
    uint32_t pipe = unsacked(c, c->snd_una, rtx) + unsacked(c, lost_end, c->snd_nxt);
    if (!c->sack_ok) {
        uint64_t gone = (uint64_t)c->dupacks * c->mss; /* Linux tcp_add_reno_sack() */
        pipe = gone >= pipe ? 0 : pipe - (uint32_t)gone;
    }
    return pipe;
}

static bool time_to_recover(const struct tt_conn *c)
{
    if (c->in_loss || !seq_gt(c->snd_una, c->recover))
        return false; /* after an RTO, or losses of a window already recovered */
    if (tt_rack_on(c))
        return tt_rack_lost_bytes(c, false) > 0; /* Linux tcp_time_to_recover(): lost_out */
    if (tt_tlp_probe_sacked(c))
        return true; /* RACK's verdict on a tail loss probe's SACK (tcp_tlp.c) */
    if (c->sack_ok) {
        return tt_skb_sacked_pcount(c) >= TT_DUPACK_THRESH; /* Linux sacked_out */
    }
    return c->dupacks >= TT_DUPACK_THRESH;
}

/* Linux tcp_init_cwnd_reduction(): the start of recovery or of CWR. */
static void init_cwnd_reduction(struct tt_conn *c)
{
    c->ssthresh = tt_cc_ssthresh(c); /* Reno: half of cwnd; CUBIC: 0.7 */
    c->prior_cwnd = c->cwnd;
    c->prr_delivered = 0;
    c->prr_out = 0;
    tt_tlp_end(c);
    tt_ecn_queue_cwr(c); /* RFC 3168 6.1.2: the peer learns of the reduction */
}

/* Linux tcp_enter_recovery(): from the CWR state the reduction goes on,
 * and so does its end (Linux keeps high_seq). */
static void enter_recovery(struct tt_conn *c)
{
    if (c->in_cwr) {
        c->in_cwr = false;
        c->recover = c->cwr_high - 1;
    } else {
        init_cwnd_reduction(c);
        c->recover = c->snd_nxt - 1;
    }
    c->high_rxt = c->snd_una;
    c->in_fast_recovery = true;
}

/* RFC 3168 6.1.2 (Linux tcp_enter_cwr()): ECE outside recovery and RTO
 * recovery; in CWR already, nothing more this window. */
static void enter_cwr(struct tt_conn *c)
{
    if (c->in_cwr || c->in_fast_recovery || c->in_loss)
        return;
    init_cwnd_reduction(c);
    c->cwr_high = c->snd_nxt;
    c->in_cwr = true;
}

/*
 * RFC 6937 3 (PRR-SSRB), as Linux's tcp_cwnd_reduction() in bytes:
 * delivered is what this ACK acknowledged or SACKed for the first time.
 * In the CWR state nothing was sent again and PRR-CRB bounds what goes
 * out by what was delivered, as the Linux of "tcp: use PRR to reduce cwin
 * in CWR state" (3.7) took it when no retransmitted data was acknowledged
 * (packetdrill's cwnd-moderation-ecn-enter-cwr-no-moderation-700).
 */
static void prr_update(struct tt_conn *c, uint32_t delivered, bool una_advanced)
{
    if (delivered == 0 || c->prior_cwnd == 0)
        return;
    uint32_t pipe = tt_rec_pipe(c);
    int64_t sndcnt;
    c->prr_delivered += delivered;
    if (pipe > c->ssthresh) {
        /* proportional: ssthresh/prior_cwnd of what was delivered, rounded
         * up to whole segments as Linux counts them */
        uint64_t div = (uint64_t)c->prior_cwnd * c->mss;
        uint64_t due = ((uint64_t)c->ssthresh * c->prr_delivered + div - 1) / div * c->mss;
        sndcnt = (int64_t)due - (int64_t)c->prr_out;
    } else if (c->in_cwr) { /* conservative reduction bound (CRB) */
        int64_t room = (int64_t)c->ssthresh - (int64_t)pipe;
        sndcnt = (int64_t)delivered < room ? (int64_t)delivered : room;
    } else { /* slow start back up to ssthresh, at most one SMSS ahead (SSRB) */
        int64_t behind = (int64_t)c->prr_delivered - (int64_t)c->prr_out;
        sndcnt = behind > (int64_t)delivered ? behind : (int64_t)delivered;
        if (una_advanced)
            sndcnt += c->mss;
        int64_t room = (int64_t)c->ssthresh - (int64_t)pipe;
        sndcnt = sndcnt < room ? sndcnt : room;
    }
    if (sndcnt < 0)
        sndcnt = 0;
    if (c->prr_out == 0 && sndcnt < c->mss)
        sndcnt = c->mss; /* the fast retransmit goes out at once */
    c->cwnd = pipe + (uint32_t)sndcnt;
}

/* The CWR state outside recovery: it ends (cwnd = ssthresh, Linux
 * tcp_end_cwnd_reduction(); growth may follow on the same ACK), starts on
 * ECE, and reduces cwnd by PRR. True when it set cwnd. */
static bool cwr_on_ack(struct tt_conn *c, uint32_t delivered, bool una_advanced, bool ece)
{
    if (ece)
        enter_cwr(c);
    if (!c->in_cwr)
        return false;
    prr_update(c, delivered, una_advanced);
    return true;
}

bool tt_rec_on_ack(struct tt_conn *c, uint32_t delivered, bool una_advanced, bool ece)
{
    uint64_t reo_at = tt_rack_mark_lost(c); /* RFC 8985 6.2 */
    if (reo_at)
        tt_tcp_arm_reo(c, reo_at); /* RFC 8985 6.3: the rest may be lost later */
    if (c->in_fast_recovery && seq_gt(c->snd_una, c->recover)) {
        c->cwnd = c->ssthresh; /* Linux tcp_end_cwnd_reduction() */
        c->in_fast_recovery = false;
        c->dupacks = 0;
        tt_rack_recovery_done(c);
        return true;
    }
    if (c->in_cwr && seq_gt(c->snd_una, c->cwr_high)) {
        c->cwnd = c->ssthresh; /* the CWR mark has reached the peer */
        c->in_cwr = false;
    }
    if (!c->in_fast_recovery) {
        if (!time_to_recover(c))
            return cwr_on_ack(c, delivered, una_advanced, ece);
        enter_recovery(c);
    }
    prr_update(c, delivered, una_advanced);
    return true;
}

/*
 * The lost segments not yet sent again, lowest first, while pipe < cwnd
 * (RFC 6675 NextSeg rule 1; Linux tcp_xmit_retransmit_queue()).
 */
/*
 * RFC 8985 6.3 (Linux tcp_rack_reo_timeout()): the reorder timer fired.
 * What it found lost starts recovery, with PRR's first step as Linux takes
 * it (one segment delivered); tcp_output.c then sends the retransmission.
 * True when something was found lost.
 */
bool tt_rec_reo_timeout(struct tt_conn *c)
{
    if (!tt_rack_reo_timeout(c))
        return false;
    if (!c->in_fast_recovery && time_to_recover(c)) {
        enter_recovery(c);
        prr_update(c, c->mss, false);
    }
    return true;
}

/* The RACK variant of the loop below: the segments RACK marked lost. */
static void rack_retransmit(struct tt_conn *c)
{
    uint32_t start, end;
    while (c->in_fast_recovery && tt_rec_pipe(c) < c->cwnd && tt_rack_next_lost(c, &start, &end)) {
        uint32_t n = tt_tcp_retransmit_lost(c, start, min_u32(end - start, c->mss));
        if (n == 0)
            return;
        c->high_rxt = seq_max(c->high_rxt, start + n);
        c->prr_out += n;
    }
}

void tt_rec_retransmit(struct tt_conn *c)
{
    if (tt_rack_on(c)) {
        rack_retransmit(c);
        return;
    }
    while (c->in_fast_recovery && tt_rec_pipe(c) < c->cwnd) {
        uint32_t lost_end = tt_rec_lost_end(c);
        uint32_t from = seq_max(c->high_rxt, c->snd_una), start, end;
        if (!seq_lt(from, lost_end))
            return;
        if (c->sack_ok && c->nsacked) {
            if (!tt_sack_next_hole(c, from, &start, &end))
                return;
        } else {
            start = from;
            end = lost_end;
        }
        uint32_t n = tt_tcp_retransmit_lost(c, start, min_u32(end - start, c->mss));
        if (n == 0)
            return;
        c->high_rxt = start + n;
        c->prr_out += n;
    }
}
