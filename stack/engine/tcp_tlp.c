/*
 * Tail Loss Probe (RFC 8985 section 7) as Linux has it (tcp_early_retrans
 * 3, the default): when the last segments of a flight are lost, no later
 * segment draws the SACKs or duplicate ACKs that start fast recovery, and
 * only the RTO (200 ms at least) would find the loss. After a probe
 * timeout of about two round trips the sender sends one probe instead: new
 * data if the peer's window allows, else the highest-sequence segment again
 * (tcp_output.c). Its ACK, or its SACK, shows the loss, and fast recovery
 * repairs it in about a round trip more.
 *
 * This file holds the rules: when the PTO may run and how long it is
 * (7.2), what a probe leaves behind (TLP.end_seq, TLP.is_retrans: 7.3),
 * and what the ACKs after it say (7.4). tcp_timer.c runs the timer,
 * tcp_output.c sends the probe, tcp_recovery.c starts recovery on the
 * probe's SACK. This file calls none of them (docs/architecture.md §2).
 */
#include "engine.h"
#include "seq.h"

/*
 * RFC 8985 7.2 and Linux tcp_schedule_loss_probe(): data is outstanding,
 * the peer SACKs (Linux probes only then: the probe's SACK is what tells
 * the loss), and no recovery is under way: not in fast recovery nor after
 * an RTO, and no segment SACKed yet (Linux's CA_Open, where with SACK a
 * duplicate ACK alone changes nothing; in CA_Disorder the SACKs
 * themselves lead to recovery). A segment counts as SACKed only when a
 * block covers it whole (tcp_sack.c); at least an MSS of SACKed bytes
 * here: a block of one byte leaves the probe armed, as in packetdrill's
 * fr-4pkt-fack-last-byte. At most one probe per tail: none while an
 * earlier one awaits its ACK (7.3).
 */
bool tt_tlp_may_arm(const struct tt_conn *c)
{
    int er = c->eng->cfg.tcp_early_retrans;
    if (er != 3 && er != 4)
        return false;
    if (!c->sack_ok || c->state < TT_STATE_ESTABLISHED || c->state == TT_STATE_TIME_WAIT)
        return false;
    if (c->in_fast_recovery || c->in_loss || c->tlp_out)
        return false;
    if (c->nsacked && tt_sack_bytes_below(c, c->snd_nxt) >= c->mss)
        return false;
    return seq_lt(c->snd_una, c->snd_nxt);
}

/*
 * The probe timeout, RFC 8985 7.2 with Linux's constants: 2 SRTT, plus the
 * peer's worst-case delayed ACK (WCDelAckT, Linux TCP_RTO_MIN: 200 ms) when
 * a single segment is in flight, since a lone segment may wait that long
 * for its ACK; else plus 2 ms of timer slack (Linux TCP_TIMEOUT_MIN_US).
 * Without an RTT sample: 1 s (TCP_TIMEOUT_INIT). The caller never lets
 * it run past the RTO.
 */
uint64_t tt_tlp_pto(const struct tt_conn *c)
{
    if (!c->rtt_valid || c->srtt == 0)
        return TT_RTO_INIT;
    bool one_segment = !seq_gt(c->last_seg_seq, c->snd_una);
    return 2 * c->srtt + (one_segment ? TT_RTO_MIN : TT_TLP_SLACK);
}

/* RFC 8985 7.3: the probe [seq, SND.NXT) went out; counted as Linux does
 * (TcpExtTCPLossProbes). */
void tt_tlp_sent(struct tt_conn *c, uint32_t seq, bool is_retrans)
{
    c->tlp_out = true;
    c->tlp_is_retrans = is_retrans;
    c->tlp_seq = seq;
    c->tlp_end_seq = c->snd_nxt;
    c->eng->stats.TcpExtTCPLossProbes++;
}

/* The episode ends: recovery or an RTO takes over (Linux clears
 * tlp_high_seq in tcp_init_cwnd_reduction() and tcp_enter_loss()). */
void tt_tlp_end(struct tt_conn *c)
{
    c->tlp_out = false;
}

/*
 * The peer SACKed the probe's segment while data below it is missing.
 * RACK (RFC 8985 6.2) would mark all of that lost at once: it was sent at
 * least a PTO (two round trips) before the probe, far more than the
 * reordering window (a quarter of min_RTT). tcp_recovery.c starts fast
 * recovery on it when RACK itself is off (tcp_recovery 0); with RACK on,
 * tcp_rack.c reaches that verdict itself.
 */
bool tt_tlp_probe_sacked(const struct tt_conn *c)
{
    if (!c->tlp_out || !c->tlp_is_retrans || !seq_lt(c->snd_una, c->tlp_seq))
        return false;
    uint32_t probe_end = seq_min(c->tlp_end_seq, c->snd_nxt);
    for (uint8_t i = 0; i < c->nsacked; i++) {
        if (seq_leq(c->sacked[i].left, c->tlp_seq) && seq_geq(c->sacked[i].right, probe_end))
            return true;
    }
    return false;
}

/* RFC 2883: a first SACK block below the cumulative ACK reports a duplicate. */
static bool dsack_of_probe(const struct tt_conn *c, const struct seg *seg)
{
    if (seg->opt.sack_count == 0)
        return false;
    const struct tcp_sack_block *b = &seg->opt.sack[0];
    return seq_leq(b->right, seg->ack) && seq_lt(b->left, c->tlp_end_seq) &&
           seq_gt(b->right, c->tlp_seq);
}

/* A loss repaired by the probe alone still reduces cwnd (RFC 8985 7.4.2,
 * Linux: tcp_init_cwnd_reduction() then tcp_end_cwnd_reduction()), to the
 * congestion-control module's ssthresh as in recovery (CUBIC 0.7, Reno
 * half). */
static void probe_repaired_loss(struct tt_conn *c)
{
    c->ssthresh = tt_cc_ssthresh(c);
    c->cwnd = c->ssthresh;
    c->cwnd_cnt = 0;
    tt_ecn_queue_cwr(c); /* RFC 3168 6.1.2: a reduction, told with CWR */
    c->eng->stats.TcpExtTCPLossProbeRecovery++;
}

/*
 * RFC 8985 7.4 (Linux tcp_process_tlp_ack()), for an ACK at or past
 * TLP.end_seq: a probe of new data ends the episode; a DSACK of the probe,
 * or a pure duplicate ACK of it, says the original arrived too (no loss);
 * an ACK beyond TLP.end_seq without either says the probe repaired a loss,
 * and cwnd comes down.
 */
void tt_tlp_on_ack(struct tt_conn *c, const struct seg *seg, bool una_advanced, bool sacked_new)
{
    if (!c->tlp_out || seq_lt(seg->ack, c->tlp_end_seq))
        return;
    if (!c->tlp_is_retrans || dsack_of_probe(c, seg)) {
        c->tlp_out = false;
    } else if (seq_gt(seg->ack, c->tlp_end_seq)) {
        c->tlp_out = false;
        probe_repaired_loss(c);
    } else if (!una_advanced && !sacked_new && seg->len == 0) {
        c->tlp_out = false;
    }
}
