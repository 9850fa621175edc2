/*
 * Sending: SYNs, data, FINs, ACKs and RSTs (RFC 9293 3.8, 3.10.7), what the
 * send window and the congestion window allow (RFC 5681), retransmission
 * of the first unacknowledged segment (RFC 6298 5.4) and zero-window probes
 * (RFC 9293 3.8.6.1).
 *
 * Every segment of a connection is built by one function, seg_fill(), so
 * that ACK, window, timestamp and SACK fields are right everywhere (SACK
 * blocks, RFC 2018 4, as many as the MTU leaves room for). New data obeys
 * Nagle's algorithm (RFC 896, RFC 1122 4.2.3.4) in Linux's form, with
 * TCP_NODELAY, TCP_CORK and MSG_MORE beside it (nagle_holds()).
 */
#include <assert.h>
#include <string.h>

#include "engine.h"
#include "ipv4.h"
#include "seq.h"

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/*
 * Builds the datagram in place at the tail of the output queue. state is
 * that of the connection sending it (-ENOENT for none), for the output
 * callback: a --fault state= rule judges a packet in the state it was sent
 * in, though it leaves at the end of the engine call.
 */
void tt_tcp_send_raw(tt_engine_t *eng, const struct seg *s, int state)
{
    if (eng->gso_out && tt_tso_take(eng, s, state))
        return; /* one more segment of a GSO run (tcp_tso.c) */
    size_t cap = IPV4_HDR_LEN + TCP_HDR_LEN + TCP_MAX_OPT_LEN + s->len;
    uint8_t *buf = tt_engine_output_buf(eng, cap);
    uint16_t id = eng->ip_id++;
    size_t n = !buf                ? 0
               : eng->csum_partial ? tt_tcp_build_partial(buf, cap, s, id)
                                   : tt_tcp_build(buf, cap, s, id);
    if (n == 0)
        return;
    eng->stats.TcpOutSegs++;
    if (s->flags & TCP_RST)
        eng->stats.TcpOutRsts++;
    tt_engine_output_push(eng, n, state);
}

/* The window field: RCV.WND scaled down (RFC 7323 2.3), never in a SYN. */
static uint16_t wnd_field(const struct tt_conn *c, bool syn)
{
    uint32_t w = c->rcv_wnd;
    if (!syn && c->ws_on)
        w >>= c->rcv_wscale;
    return (uint16_t)min_u32(w, 65535);
}

/*
 * The most SACK blocks a segment may carry: as many as the 40 bytes of
 * options hold beside the timestamp, and no more than leave room under the
 * MTU for the headers and one byte of data (the stack sets DF and never
 * fragments, RFC 791). At the least MTU, 68, one block still fits.
 */
static size_t sack_blocks_max(const struct tt_conn *c)
{
    size_t room = c->eng->cfg.mtu - IPV4_HDR_LEN - TCP_HDR_LEN - 1;
    struct tcp_opts o = {.ts_ok = c->ts_on};
    size_t prev = tt_tcp_options_len(&o), n = 0;
    for (; n < TCP_SACK_MAX; n++) {
        o.sack_count = (uint8_t)(n + 1);
        size_t len = tt_tcp_options_len(&o);
        if (len == prev || len > room)
            break; /* the option space is full, or the MTU is reached */
        prev = len;
    }
    return n;
}

/*
 * RFC 2018 4: the blocks of out-of-order data we hold, as maximal runs of
 * the reassembly queue; the first block is the run holding the segment
 * that arrived last, so the sender learns of the newest hole first.
 */
static void sack_fill(const struct tt_conn *c, struct tcp_opts *o)
{
    struct tcp_sack_block runs[TCP_SACK_MAX];
    size_t n = 0, first = 0, max = sack_blocks_max(c);
    if (max == 0)
        return;
    for (const struct ooo_seg *q = c->ooo; q;) {
        struct tcp_sack_block b = {q->seq, q->seq + q->len};
        bool newest = false;
        for (; q && seq_leq(q->seq, b.right); q = q->next) {
            b.right = seq_max(b.right, q->seq + q->len);
            newest = newest || q->seq == c->ooo_last_seq;
        }
        if (n == max && !newest)
            continue;
        if (n == max)
            n--; /* the newest run replaces the last of the older ones */
        if (newest)
            first = n;
        runs[n++] = b;
    }
    o->sack_count = (uint8_t)n;
    if (n == 0)
        return;
    o->sack[0] = runs[first];
    for (size_t i = 0, k = 1; i < n; i++) {
        if (i != first)
            o->sack[k++] = runs[i];
    }
}

/*
 * Linux tcp_bound_to_half_wnd(): against a peer whose largest window is
 * small, segments of half that window (all of it when it is 536 bytes or
 * less), at least 68 bytes less the TCP header. The sender's SWS avoidance
 * (peer_window_holds()) sends only segments the window takes whole; with a
 * window below one MSS every segment would wait for the persist timer.
 */
static inline uint32_t half_wnd_bound(const struct tt_conn *c, uint32_t mss)
{
    uint32_t w = c->snd_max_wnd;
    uint32_t cutoff = w > TT_MSS_DEFAULT ? w / 2 : w;
    if (cutoff == 0 || mss <= cutoff)
        return mss;
    uint32_t floor = 68 - TCP_HDR_LEN - (c->ts_on ? 12 : 0);
    return min_u32(mss, cutoff > floor ? cutoff : floor);
}

/* payload_max() while out-of-order data is held: SACK blocks ride on
 * every segment (sack_fill()). */
static uint32_t payload_max_sack(const struct tt_conn *c)
{
    struct tcp_opts o = {.ts_ok = c->ts_on};
    uint32_t base = (uint32_t)tt_tcp_options_len(&o);
    sack_fill(c, &o);
    uint32_t extra = (uint32_t)tt_tcp_options_len(&o) - base;
    return half_wnd_bound(c, c->mss > extra + 1 ? c->mss - extra : 1);
}

/*
 * The payload one segment may carry now: the MSS less what SACK blocks add
 * to the header while out-of-order data is held (Linux tcp_current_mss),
 * so that no datagram outgrows the MTU, and bounded by half the peer's
 * largest window (half_wnd_bound()). c->mss already leaves room for the
 * timestamp option. Inline: sending new data asks it several times per
 * wire segment.
 */
static inline uint32_t payload_max(const struct tt_conn *c)
{
    if (!c->sack_ok || !c->ooo)
        return half_wnd_bound(c, c->mss);
    return payload_max_sack(c);
}

/* Linux tcp_tso_segs(), tcp_tso_autosize(): the most segments of a GSO
 * packet, a millisecond at the pacing rate plus sk_gso_max_size >> (min
 * RTT / 512 us), at most sk_gso_max_size, at least tcp_min_tso_segs. */
static uint32_t tso_segs(const struct tt_conn *c)
{
    uint32_t mss = payload_max(c);
    uint64_t bytes = tt_cc_pacing_rate(c) / 1024;             /* sk_pacing_shift 10 */
    uint64_t r = c->rtt_valid ? c->min_rtt >> 9 : UINT64_MAX; /* tcp_tso_rtt_log 9 */
    if (r < 32)
        bytes += TT_GSO_MAX_SIZE >> r;
    if (bytes > TT_GSO_MAX_SIZE)
        bytes = TT_GSO_MAX_SIZE;
    uint64_t least = (uint64_t)c->eng->cfg.tcp_min_tso_segs;
    return (uint32_t)(bytes / mss < least ? least : bytes / mss);
}

static void seg_fill(struct tt_conn *c, struct seg *s, uint8_t flags, uint32_t seq)
{
    memset(s, 0, sizeof(*s));
    s->saddr = c->t.laddr;
    s->daddr = c->t.raddr;
    s->sport = c->t.lport;
    s->dport = c->t.rport;
    s->seq = seq;
    s->flags = flags;
    s->tos = c->tos;
    tt_tcb_update_rcv_wnd(c);
    s->wnd = wnd_field(c, flags & TCP_SYN);
    if (flags & TCP_ACK)
        s->ack = c->rcv_nxt;
    if (c->ts_on) {
        s->opt.ts_ok = true;
        s->opt.ts_val = tt_engine_ms(c->eng) + c->ts_offset;
        s->opt.ts_ecr = c->ts_recent;
    }
    if (c->sack_ok && c->ooo && (flags & TCP_ACK) && !(flags & (TCP_SYN | TCP_RST)))
        sack_fill(c, &s->opt);
}

/* After any segment with ACK: what we advertised, and no ACK owed. */
static void sent_ack(struct tt_conn *c, const struct seg *s)
{
    if (!(s->flags & TCP_ACK))
        return;
    c->last_ack_sent = c->rcv_nxt;
    uint32_t scale = (c->ws_on && !(s->flags & TCP_SYN)) ? c->rcv_wscale : 0;
    uint32_t edge = c->rcv_nxt + ((uint32_t)s->wnd << scale);
    if (seq_gt(edge, c->rcv_adv) || c->rcv_adv == 0)
        c->rcv_adv = edge;
    c->ack_now = false;
    c->unacked_segs = 0;
    tt_timer_cancel(c->eng->wheel, &c->delack_timer);
}

static void send_conn_seg(struct tt_conn *c, struct seg *s)
{
    tt_ecn_send(c, s); /* RFC 3168: ECT(0), CWR and ECE */
    tt_tcp_send_raw(c->eng, s, (int)c->state);
    sent_ack(c, s);
}

void tt_tcp_send_syn(struct tt_conn *c)
{
    const tt_config_t *cfg = &c->eng->cfg;
    bool synack = c->state == TT_STATE_SYN_RECEIVED;
    struct seg s;
    seg_fill(c, &s, synack ? TCP_SYN | TCP_ACK : TCP_SYN, c->iss);
    s.flags |= tt_ecn_syn_flags(c, synack); /* RFC 3168 6.1.1 */
    s.opt.mss_ok = true;
    s.opt.mss = c->advmss;
    /* RFC 7323 2.2/3.2, RFC 2018 2: offer in a SYN, answer only what was offered. */
    s.opt.ws_ok = synack ? c->ws_on : cfg->tcp_window_scaling;
    s.opt.ws = c->rcv_wscale;
    s.opt.sack_ok = synack ? c->sack_ok : cfg->tcp_sack;
    s.opt.ts_ok = synack ? c->ts_on : cfg->tcp_timestamps;
    s.opt.ts_val = tt_engine_ms(c->eng) + c->ts_offset;
    s.opt.ts_ecr = synack ? c->ts_recent : 0;
    if (!c->syn_resent)
        c->rtt_start = c->eng->now; /* Karn: only an unrepeated SYN is timed */
    send_conn_seg(c, &s);
}

/* Our SYN or SYN-ACK again, by the timer or for the peer's repeated SYN: a
 * retransmission, counted (Linux: tcp_rtx_synack) and never timed (RFC
 * 6298 3, Karn; Linux: inet_rtx_syn_ack's num_retrans). */
void tt_tcp_resend_syn(struct tt_conn *c)
{
    c->syn_resent = true;
    tt_tcp_send_syn(c);
    if (tt_localcong_refuses(c->eng))
        return; /* refused by the device: not a retransmission (tcp_localcong.c) */
    c->eng->stats.TcpRetransSegs++;
    c->total_retrans++;
}

void tt_tcp_send_ctl(struct tt_conn *c, uint8_t flags, uint32_t seq)
{
    struct seg s;
    seg_fill(c, &s, flags, seq);
    send_conn_seg(c, &s);
}

void tt_tcp_send_ack(struct tt_conn *c)
{
    tt_tcp_send_ctl(c, TCP_ACK, c->snd_nxt);
}

/*
 * Sends [seq, seq+len) of the send buffer, with FIN when fin is set. PSH
 * as Linux sets it: on the segment that ends an skb marked PSH (tcp_skb.c:
 * the end of a write without MSG_MORE, a forced push; a segment sent again
 * that holds the ends of several skbs takes their marks, as
 * tcp_collapse_retrans() merges them), on the end of a record (MSG_EOR),
 * and, with push, on the last segment of a GSO packet of two segments or
 * more (gso_segs(): __tcp_transmit_skb() "force[s] a PSH flag on all (GSO)
 * packets"), or on a forced push (tcp_write_wakeup()).
 */
static bool send_data_psh(struct tt_conn *c, uint32_t seq, uint32_t len, bool fin, bool push)
{
    if (tt_localcong_refuses(c->eng))
        return false; /* not sent: no send time, no timing (tcp_localcong.c) */
    struct seg s;
    /* new data (at SND.NXT) comes with its skb's mark in push (send_new_seg()) */
    bool mark = len && seq != c->snd_nxt && tt_skb_psh_within(c, seq, seq + len);
    uint32_t rec_end;
    bool eor = tt_tcb_eor_after(c, seq, &rec_end) && seq + len == rec_end;
    uint8_t flags = TCP_ACK | (len && (mark || eor || push) ? TCP_PSH : 0) | (fin ? TCP_FIN : 0);
    seg_fill(c, &s, flags, seq);
    if (len) {
        /* The builder copies the payload into the datagram: from the send
         * ring where it lies, through the scratch only when it wraps. */
        s.data = tt_ring_at(&c->sndbuf, seq - c->snd_buf_seq, len);
        if (!s.data) {
            tt_ring_peek(&c->sndbuf, seq - c->snd_buf_seq, c->eng->payload, len);
            s.data = c->eng->payload;
        }
        s.len = len;
    }
    tt_rack_sent(c, seq, seq + len + (fin ? 1 : 0)); /* RFC 8985 6.1 */
    if (seq == c->snd_nxt)
        tt_txstamp_sent(c, seq);
    else
        tt_txstamp_retransmitted(c, seq + len + (fin ? 1 : 0));
    send_conn_seg(c, &s);
    return true;
}

/* The segment that starts at seq: its data length and whether it ends with
 * our FIN (which follows the last byte of data). It stops at a record's end
 * (MSG_EOR), as it did when first sent. */
static uint32_t seg_at(const struct tt_conn *c, uint32_t seq, uint32_t max, bool *fin)
{
    uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
    data_end = seq_min(data_end, c->snd_nxt); /* never what was not sent yet */
    uint32_t rec_end;
    if (tt_tcb_eor_after(c, seq, &rec_end))
        data_end = seq_min(data_end, rec_end);
    *fin = false;
    if (seq_lt(seq, c->snd_buf_seq))
        return 0; /* before the first byte of data: the SYN is not data */
    uint32_t len = seq_lt(seq, data_end) ? min_u32(data_end - seq, max) : 0;
    *fin = c->fin_sent && seq + len == c->fin_seq;
    return len;
}

/* Where the hole that holds seq begins and ends: the SACKed blocks around
 * it, SND.UNA below, limit above. */
static void hole_around(const struct tt_conn *c, uint32_t seq, uint32_t limit, uint32_t *start,
                        uint32_t *end)
{
    *start = c->snd_una;
    *end = limit;
    for (size_t i = 0; i < c->nsacked; i++) {
        const struct tcp_sack_block *b = &c->sacked[i];
        if (seq_leq(b->right, seq))
            *start = seq_max(*start, b->right);
        else if (seq_gt(b->left, seq))
            *end = seq_min(*end, b->left);
    }
}

/*
 * Linux tcp_xmit_retransmit_queue(): a lost skb goes again as one packet,
 * its part in the hole, at most as many segments as cwnd has room for
 * (cwnd less the flight, at least one) and tcp_tso_segs() allows (a longer
 * one is cut there, tcp_fragment() in __tcp_retransmit_skb()); a packet of
 * two segments or more has PSH forced on its last (__tcp_transmit_skb()).
 * The engine resends segment by segment: the packet is sized when its
 * first segment goes, and this says whether [seq, seq+len) ends one of two
 * segments or more. The skb is cut where the packet ends.
 */
static bool rtx_packet_ends(struct tt_conn *c, uint32_t seq, uint32_t len)
{
    struct tt_skbq *q = &c->skbs;
    struct tt_skb_view skb;
    if (len == 0 || !tt_skb_find(c, seq, &skb))
        return false;
    if (!seq_geq(seq, q->rtx_start) || !seq_lt(seq, q->rtx_end)) { /* a new packet */
        uint32_t start, end, mss = payload_max(c), pipe = tt_rec_pipe(c);
        hole_around(c, seq, skb.end, &start, &end);
        uint32_t room = c->cwnd > pipe ? (c->cwnd - pipe) / mss : 0;
        uint32_t segs = min_u32(room ? room : 1, tso_segs(c));
        q->rtx_start = seq;
        q->rtx_end = seq_min(seq_min(end, skb.end), seq + segs * mss);
    }
    if (seq + len != q->rtx_end)
        return false;
    bool multi = q->rtx_end - q->rtx_start > len;
    tt_skb_split(c, q->rtx_end);
    q->rtx_start = q->rtx_end; /* done */
    return multi;
}

/* Sends again the segment at seq, at most max bytes of it; in_packets: as
 * a part of the packets loss recovery resends (rtx_packet_ends()), else
 * alone (the RTO's and the probe's one segment). Returns the sequence
 * space it covered (0: nothing there to send, or the device refused it:
 * Linux tcp_retransmit_skb() counts only what left). */
static uint32_t retransmit(struct tt_conn *c, uint32_t seq, uint32_t max, bool in_packets)
{
    bool fin;
    uint32_t len = seg_at(c, seq, min_u32(max, payload_max(c)), &fin);
    if (len == 0 && !fin)
        return 0;
    if (!send_data_psh(c, seq, len, fin, in_packets && rtx_packet_ends(c, seq, len)))
        return 0;
    tt_pacing_sent(c, len, 1);
    c->eng->stats.TcpRetransSegs++;
    c->total_retrans++;
    return len + (fin ? 1 : 0);
}

uint32_t tt_tcp_retransmit_at(struct tt_conn *c, uint32_t seq, uint32_t max)
{
    return retransmit(c, seq, max, false);
}

/* A segment of the lost data loss recovery resends (tcp_recovery.c). */
uint32_t tt_tcp_retransmit_lost(struct tt_conn *c, uint32_t seq, uint32_t max)
{
    return retransmit(c, seq, max, true);
}

void tt_tcp_retransmit_head(struct tt_conn *c)
{
    if (c->state == TT_STATE_SYN_SENT || c->state == TT_STATE_SYN_RECEIVED) {
        tt_tcp_resend_syn(c);
        return;
    }
    uint32_t n = tt_tcp_retransmit_at(c, c->snd_una, UINT32_MAX);
    c->rtx_nxt = c->snd_una + n;
    c->high_rxt = seq_max(c->high_rxt, c->snd_una + n);
}

/* RFC 9293 3.8.6.1: a probe that elicits an ACK with the current window.
 * Like Linux, an old sequence number (SND.UNA-1) and no data. */
void tt_tcp_send_zero_window_probe(struct tt_conn *c)
{
    tt_tcp_send_ctl(c, TCP_ACK, c->snd_una - 1);
}

/* Where new data must stop: the peer's window, and cwnd less what is in
 * flight (RFC 6675 pipe: SACKed and lost segments have left the network;
 * tcp_recovery.c). Outside recovery with nothing SACKed that is SND.UNA +
 * cwnd; with segments SACKed it lets new ones go out (RFC 3042). */
uint32_t tt_tcp_usable_window_end(const struct tt_conn *c)
{
    uint32_t peer_end = c->snd_una + c->snd_wnd;
    uint32_t pipe = tt_rec_pipe(c);
    uint32_t cwnd_end = c->snd_nxt + (c->cwnd > pipe ? c->cwnd - pipe : 0);
    return seq_lt(cwnd_end, peer_end) ? cwnd_end : peer_end;
}

/* After an RTO, resend what is outstanding as the congestion window opens. */
static void send_loss_recovery(struct tt_conn *c)
{
    while (c->in_loss && seq_lt(c->rtx_nxt, c->snd_nxt)) {
        if (c->rtx_nxt - c->snd_una >= c->cwnd || tt_pacing_holds(c))
            return;
        bool fin;
        uint32_t len = seg_at(c, c->rtx_nxt, payload_max(c), &fin);
        if (len == 0 && !fin)
            return;
        if (!send_data_psh(c, c->rtx_nxt, len, fin, rtx_packet_ends(c, c->rtx_nxt, len)))
            return;
        tt_pacing_sent(c, len, 1);
        c->rtx_nxt += len + (fin ? 1 : 0);
        c->eng->stats.TcpRetransSegs++;
        c->total_retrans++;
    }
}

static bool can_send_data(const struct tt_conn *c)
{
    switch (c->state) {
    case TT_STATE_ESTABLISHED:
    case TT_STATE_CLOSE_WAIT:
        return true;
    case TT_STATE_FIN_WAIT_1:
    case TT_STATE_CLOSING:
    case TT_STATE_LAST_ACK:
        return !c->fin_sent; /* a FIN queued by a shutdown while data was pending */
    default:
        return false;
    }
}

/* Sends the next len bytes of new data at SND.NXT, with the FIN if fin;
 * skb: the skb at SND.NXT (new_seg_max()), whose PSH mark the segment
 * carries when it ends there; last: it ends its packet, and the skb is cut
 * there (Linux tso_fragment(): the rest waits as an skb of its own). False
 * when the device refused it: then nothing was sent (Linux
 * tcp_write_xmit() leaves the skb unsent, tcp_localcong.c). */
static bool send_new_seg(struct tt_conn *c, const struct tt_skb_view *skb, uint32_t len, bool fin,
                         bool push, bool last)
{
    if (tt_localcong_refuses(c->eng))
        return false;
    push = push || (len && c->snd_nxt + len == skb->end && (skb->flags & TT_SKB_PSH));
    if (last)
        tt_skb_split(c, c->snd_nxt + len);
    c->last_seg_seq = c->snd_nxt; /* the highest segment, for a tail loss probe */
    c->tlp_new_data = true;       /* RFC 8985 7.2: the PTO starts again */
    if (fin) {
        c->fin_sent = true;
        c->fin_seq = c->snd_nxt + len;
    }
    if (c->in_fast_recovery || c->in_cwr)
        c->prr_out += len + (fin ? 1 : 0); /* RFC 6937: what the reduction sent */
    if (len < payload_max(c))
        c->snd_sml = c->snd_nxt + len; /* Linux tcp_minshall_update() */
    send_data_psh(c, c->snd_nxt, len, fin, push);
    c->snd_nxt += len + (fin ? 1 : 0);
    return true;
}

/*
 * Linux tcp_minshall_check(): a partial segment we sent is not yet
 * acknowledged. Minshall's variant of Nagle holds a partial segment only
 * then, rather than while any data is outstanding, so that a full segment
 * in flight does not delay the partial tail of a write.
 */
static bool small_in_flight(const struct tt_conn *c)
{
    return seq_gt(c->snd_sml, c->snd_una) && seq_leq(c->snd_sml, c->snd_nxt);
}

/*
 * Whether a segment of len bytes, the last of the queue (tail), waits: RFC
 * 1122 4.2.3.4 (Nagle, RFC 896) holds a segment smaller than the MSS while
 * data is unacknowledged, here in Linux's form (tcp_nagle_check(): a
 * partial segment of ours unacknowledged, small_in_flight()). TCP_CORK and
 * MSG_MORE (TT_PUSH_HOLD) hold any partial segment; TCP_NODELAY none; a
 * forced push nothing. The FIN goes out whatever Nagle says (Linux's
 * tcp_nagle_test()), and only the queue's tail waits: a segment cut short by
 * a record's end (MSG_EOR) or the window is followed by more data.
 */
static bool nagle_holds(const struct tt_conn *c, uint32_t len, bool tail, bool fin,
                        enum tt_push how)
{
    if (len == 0 || len >= payload_max(c) || !tail || fin || how == TT_PUSH_FORCE ||
        how == TT_PUSH_ONE)
        return false;
    if (how == TT_PUSH_HOLD || c->cork)
        return true;
    return !c->nodelay && c->snd_nxt != c->snd_una && small_in_flight(c);
}

/* The most bytes the next segment of new data may hold: the MSS, and no
 * further than the end of a record (MSG_EOR; Linux never coalesces across
 * it, tcp_skb_can_collapse_to()) nor of its skb (Linux segments each skb
 * on its own, tcp_write_xmit()), which goes to *skb (one unmarked to the
 * end of the queued data when no skb holds SND.NXT): no packet goes past
 * its end. */
static uint32_t new_seg_max(const struct tt_conn *c, struct tt_skb_view *skb)
{
    uint32_t max = payload_max(c), rec_end;
    if (tt_tcb_eor_after(c, c->snd_nxt, &rec_end))
        max = min_u32(max, rec_end - c->snd_nxt);
    if (tt_skb_find(c, c->snd_nxt, skb))
        return min_u32(max, skb->end - c->snd_nxt);
    *skb = (struct tt_skb_view){.seq = c->snd_nxt, .end = c->snd_buf_seq + c->sndbuf.len};
    return max;
}

/*
 * Sender silly window syndrome avoidance (RFC 9293 3.8.6.2.1) as Linux's
 * tcp_write_xmit() has it: the next segment of new data (whole: as long as
 * the MSS and the record allow) goes only when the peer's window takes it
 * whole (tcp_snd_wnd_test()); else the flow is held by the peer's window
 * (rwnd-limited) until an ACK opens it, or until the persist timer sends
 * what fits (tcp_write_wakeup(), tt_tcp_write_wakeup()). Once a packet
 * started (its skb's first segment fit), the window may cut its last one
 * short, as Linux's TSO split at the window's end does
 * (tcp_mss_split_point()), unless Nagle
 * holds that partial segment (tcp_nagle_check()). The FIN-only segment
 * needs one sequence number of window. Returns whether the peer's window
 * stops a segment here (cwnd, tested first, is not the peer's: Linux
 * tcp_cwnd_test() comes before tcp_snd_wnd_test()).
 */
static bool peer_window_holds(const struct tt_conn *c, uint32_t whole, uint32_t room,
                              bool in_packet, enum tt_push how)
{
    uint32_t peer_end = c->snd_una + c->snd_wnd;
    uint32_t peer_room = seq_lt(c->snd_nxt, peer_end) ? peer_end - c->snd_nxt : 0;
    if (whole == 0)
        return c->fin_queued && peer_room == 0;
    if (whole <= peer_room || c->cwnd <= tt_rec_pipe(c))
        return false; /* it fits, or cwnd is what holds it (tested first) */
    return !in_packet || peer_room == 0 ||
           nagle_holds(c, min_u32(room, peer_room), true, false, how);
}

/*
 * How many segments Linux's tcp_write_xmit() puts in the next GSO packet
 * (one skb) of new data, whose last segment then carries PSH: at most
 * tcp_tso_segs() (tcp_tso_autosize(): a millisecond at the pacing rate,
 * plus sk_gso_max_size >> (min RTT / 512 us), at most sk_gso_max_size, at
 * least tcp_min_tso_segs, 2), and at most tcp_cwnd_test()'s quota: half
 * of cwnd, so that two packets are in flight, and what cwnd has left. The
 * engine sends segments, not GSO packets; it marks them as Linux's
 * segmentation would.
 */
static uint32_t gso_segs(const struct tt_conn *c)
{
    uint32_t mss = payload_max(c);
    uint32_t tso = tso_segs(c);
    uint32_t cwnd = c->cwnd / mss;
    uint32_t in_flight = (tt_rec_pipe(c) + mss - 1) / mss;
    uint32_t half = cwnd / 2 ? cwnd / 2 : 1;
    uint32_t quota = in_flight < cwnd ? min_u32(half, cwnd - in_flight) : 1;
    return min_u32(tso, quota);
}

/*
 * Whether the full segment at f, after the run's middle ones, is its
 * packet's last as send_new_data() would decide it: the packet's quota
 * ends there (left 1), or its skb does (Linux tso_fragment()), or both
 * windows or the queued data do (nothing follows: Nagle is not asked).
 * Not when it would carry the FIN.
 */
static bool run_last_fits(const struct tt_conn *c, uint32_t f, uint32_t mss, uint32_t lim,
                          uint32_t end, uint32_t skb_end, uint32_t left)
{
    uint32_t f_end = f + mss;
    if (seq_gt(f_end, lim) || seq_gt(f_end, end))
        return false;
    if (c->fin_queued && f_end == c->snd_buf_seq + c->sndbuf.len)
        return false;
    return left == 1 || f_end == skb_end || f_end == lim;
}

/*
 * The segments of a GSO packet after its first, decided together when
 * they join the open GSO run (tcp_output.c's send_new_data() would send
 * them one by one, each as the one before): the full segments in the
 * middle, each followed within both windows and the queued data by
 * another full one (so neither window, Nagle nor the FIN stops it, and it
 * is not the last of its packet) and ending before its skb and its record
 * do (so it carries no PSH and cuts no skb), at most left - 1 of them;
 * then the packet's last when it is a full one (run_last_fits()): PSH
 * (the last of a packet of two or more, __tcp_transmit_skb()) and the skb
 * cut at its end. What each would have done is done once for all:
 * SND.NXT, the RACK record and the time-stamp log (both merge segments
 * sent at the same instant), the ACK we advertise, PRR's count, and the
 * run's payload in one copy. Returns how many went (0: the caller decides
 * the next segment alone); *last: the packet's last was one of them.
 */
static uint32_t send_new_run(struct tt_conn *c, uint32_t wnd_end, uint32_t data_end, uint32_t left,
                             bool *last)
{
    tt_engine_t *eng = c->eng;
    *last = false;
    if (!eng->gso_out || !eng->run.open || (c->ecn_flags & TT_ECN_QUEUE_CWR))
        return 0; /* no run to join, or the next segment carries CWR (tt_ecn_send()) */
    uint32_t mss = payload_max(c), nxt = c->snd_nxt, rec_end;
    uint32_t lim = seq_lt(wnd_end, data_end) ? wnd_end : data_end;
    uint32_t fit = seq_lt(nxt, lim) ? (lim - nxt) / mss : 0;
    uint32_t k = min_u32(left - 1, fit > 0 ? fit - 1 : 0); /* each followed by a full one */
    struct tt_skb_view skb;
    uint32_t skb_end = tt_skb_find(c, nxt, &skb) ? skb.end : data_end, end = skb_end;
    if (tt_tcb_eor_after(c, nxt, &rec_end))
        end = seq_min(end, rec_end);
    k = min_u32(k, (end - nxt - 1) / mss); /* each ends before end */
    bool pkt_end = run_last_fits(c, nxt + k * mss, mss, lim, end, skb_end, left - k);
    if (k == 0 && !pkt_end)
        return 0;
    struct seg s;
    seg_fill(c, &s, TCP_ACK, nxt);
    s.len = mss;
    tt_ecn_send(c, &s);
    uint32_t room = tt_tso_joinable(eng, &s, (int)c->state);
    if (room < k + (pkt_end ? 1 : 0)) {
        pkt_end = false;
        k = min_u32(k, room);
        if (k == 0)
            return 0;
    }
    uint32_t segs = k + (pkt_end ? 1 : 0), len = segs * mss;
    c->last_seg_seq = nxt + len - mss; /* the highest segment, for a tail loss probe */
    c->tlp_new_data = true;            /* RFC 8985 7.2 */
    if (c->in_fast_recovery || c->in_cwr)
        c->prr_out += len; /* RFC 6937 */
    if (pkt_end)
        tt_skb_split(c, nxt + len);  /* the rest waits as an skb of its own */
    tt_rack_sent(c, nxt, nxt + len); /* RFC 8985 6.1 */
    tt_txstamp_sent(c, nxt);
    tt_tso_append_ring(eng, &c->sndbuf, nxt - c->snd_buf_seq, segs, pkt_end);
    sent_ack(c, &s);
    c->snd_nxt += len;
    *last = pkt_end;
    return segs;
}

/* New data, then the FIN, as far as both windows allow (RFC 5681 3.1),
 * the peer's window takes a whole segment (peer_window_holds()) and Nagle
 * lets a partial segment go, skb by skb as Linux's tcp_write_xmit(): a
 * Linux-sized GSO packet (gso_segs()) never goes past the end of its skb,
 * and an skb longer than the packet is cut where it ends (tso_fragment()).
 * PSH on the last segment of each packet of two or more, and at the end of
 * an skb marked PSH. TT_PUSH_ONE sends one packet (tcp_push_one()). A
 * paced connection starts each GSO packet only at its departure time
 * (tcp_pacing.c). The flow's chronographs hear whether the peer's window
 * held it (Linux tcp_write_xmit(): is_rwnd_limited). */
static void send_new_data(struct tt_conn *c, enum tt_push how)
{
    if (c->in_loss && seq_lt(c->rtx_nxt, c->snd_nxt))
        return;
    bool waiting = seq_lt(c->snd_nxt, tt_tcb_snd_end(c)) && !c->fin_sent;
    if (!waiting) /* nothing new, no FIN: the windows need not be asked (Linux tcp_send_head()) */
        return;
    uint32_t wnd_end = tt_tcp_usable_window_end(c);
    uint32_t peer_end = c->snd_una + c->snd_wnd;
    uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
    bool rwnd_limited = false;
    uint32_t gso_left = 0, gso_sent = 0; /* the GSO packet being sent (gso_segs()) */
    uint32_t gso_bytes = 0;
    while (!c->fin_sent && can_send_data(c)) {
        uint32_t nxt = c->snd_nxt;
        bool ends;
        uint32_t segs = gso_left > 0 ? send_new_run(c, wnd_end, data_end, gso_left, &ends) : 0;
        if (segs > 0) { /* the rest of this packet, or its middle, all at once */
            gso_left = ends ? 0 : gso_left - segs;
            gso_sent += segs;
            gso_bytes += c->snd_nxt - nxt;
            rwnd_limited = false;
            if (ends)
                tt_pacing_sent(c, gso_bytes, gso_sent);
            if (ends && how == TT_PUSH_ONE)
                break;
            continue;
        }
        uint32_t room = seq_lt(c->snd_nxt, wnd_end) ? wnd_end - c->snd_nxt : 0;
        uint32_t avail = data_end - c->snd_nxt;
        struct tt_skb_view skb;
        uint32_t whole = min_u32(avail, new_seg_max(c, &skb));
        uint32_t len = min_u32(whole, room);
        /* The FIN needs one sequence number of the peer's window, but is
         * not held back by the congestion window (Linux tcp_cwnd_test). */
        bool fin = c->fin_queued && len == avail && seq_lt(c->snd_nxt + len, peer_end);
        rwnd_limited = peer_window_holds(c, whole, room, gso_left > 0, how);
        if (rwnd_limited || (len == 0 && !fin) || nagle_holds(c, len, len == avail, fin, how))
            break;
        if (gso_left == 0 && tt_pacing_holds(c)) /* a new packet waits for its time */
            break;
        /* Another segment follows in this packet: room for it, and Nagle
         * lets it go (a tail, or one the peer's window cuts short). */
        uint32_t next = min_u32(avail - len, room - len);
        bool cut =
            next < min_u32(avail - len, payload_max(c)) && c->snd_nxt + len + next == peer_end;
        bool more = next > 0 && !nagle_holds(c, next, next == avail - len || cut, false, how);
        if (gso_left == 0) {
            gso_left = gso_segs(c);
            gso_sent = 0;
            gso_bytes = 0;
        }
        gso_left--;
        gso_sent++;
        bool last = gso_left == 0 || !more || c->snd_nxt + len == skb.end;
        if (last)
            gso_left = 0;
        if (!send_new_seg(c, &skb, len, fin, last && gso_sent >= 2, last))
            break;
        gso_bytes += len;
        if (last)
            tt_pacing_sent(c, gso_bytes, gso_sent);
        if (last && how == TT_PUSH_ONE)
            break;
    }
    tt_chrono_rwnd(c, rwnd_limited); /* Linux runs tcp_write_xmit() only with data waiting */
}

/* The one segment of new data at SND.NXT that the persist timer or a tail
 * loss probe sends: at most room bytes, the MSS and the current record
 * (new_seg_max(), which fills *skb); *fin when it ends the queued data
 * and the peer's window has a sequence number left for the FIN. */
static uint32_t one_new_seg(struct tt_conn *c, uint32_t room, bool *fin, struct tt_skb_view *skb)
{
    uint32_t avail = c->snd_buf_seq + c->sndbuf.len - c->snd_nxt;
    uint32_t len = min_u32(min_u32(avail, room), new_seg_max(c, skb));
    *fin = c->fin_queued && len == avail && seq_lt(c->snd_nxt + len, c->snd_una + c->snd_wnd);
    return len;
}

/*
 * Linux tcp_write_wakeup(): the persist timer found data waiting with
 * nothing in flight and the peer's window open, held by TCP_CORK or
 * MSG_MORE; one segment of it goes out with PSH, whatever holds it (the
 * cork's ceiling, as Linux's probe timer gives it). Returns whether it sent.
 */
bool tt_tcp_write_wakeup(struct tt_conn *c)
{
    if (!can_send_data(c) || c->fin_sent)
        return false;
    uint32_t peer_end = c->snd_una + c->snd_wnd;
    uint32_t room = seq_lt(c->snd_nxt, peer_end) ? peer_end - c->snd_nxt : 0;
    bool fin;
    struct tt_skb_view skb;
    uint32_t len = one_new_seg(c, room, &fin, &skb);
    if (len == 0 && !fin)
        return false;
    tt_skb_set_psh(c, c->snd_nxt); /* the rest keeps the mark too */
    if (!send_new_seg(c, &skb, len, fin, true, true))
        return false;
    tt_pacing_sent(c, len, 1);
    return true;
}

/*
 * RFC 8985 7.3 (Linux tcp_send_loss_probe()): the tail loss probe. One
 * segment of new data when there is some and the peer's window takes it
 * whole; cwnd does not hold a probe back (Linux sends it with a quota of
 * one). Else the highest-sequence segment again, as it was sent. Returns
 * whether a probe went out.
 */
bool tt_tcp_send_loss_probe(struct tt_conn *c)
{
    uint32_t peer_end = c->snd_una + c->snd_wnd;
    uint32_t seq = c->snd_nxt;
    if (!c->fin_sent && can_send_data(c)) {
        bool fin;
        struct tt_skb_view skb;
        uint32_t len = one_new_seg(c, UINT32_MAX, &fin, &skb);
        if ((len || fin) && seq_leq(seq + len, peer_end) &&
            send_new_seg(c, &skb, len, fin, false, true)) {
            tt_pacing_sent(c, len, 1);
            tt_tlp_sent(c, seq, false);
            return true;
        }
    }
    seq = seq_max(c->last_seg_seq, c->snd_una);
    if (!seq_lt(seq, c->snd_nxt) || tt_tcp_retransmit_at(c, seq, UINT32_MAX) == 0)
        return false;
    tt_tlp_sent(c, seq, true);
    return true;
}

/*
 * How much of cwnd the flow uses, for tcp_ack.c's cwnd_may_grow(), measured
 * as Linux's tcp_cwnd_validate() does, per window of data (until SND.UNA
 * reaches the SND.NXT that closed the window): whether the flight reached
 * cwnd, else the largest flight. Unlike Linux it runs after every output,
 * sending or not, so that a window's use is forgotten as soon as the
 * window is acknowledged.
 */
static void cwnd_validate(struct tt_conn *c)
{
    uint32_t flight = c->snd_nxt - c->snd_una;
    bool limited = flight >= c->cwnd;
    if (!seq_lt(c->snd_una, c->cwnd_usage_seq) || limited ||
        (!c->cwnd_limited && flight > c->max_flight)) {
        c->cwnd_limited = limited;
        c->max_flight = flight;
        c->cwnd_usage_seq = c->snd_nxt;
    }
}

void tt_tcp_output(struct tt_conn *c)
{
    tt_tcp_push(c, TT_PUSH_DEFAULT);
}

/* Everything the connection may send now; how says what a partial segment
 * at the tail of the queue does (nagle_holds()). */
void tt_tcp_push(struct tt_conn *c, enum tt_push how)
{
    assert(!c->detached);
    if (c->state < TT_STATE_ESTABLISHED || c->state == TT_STATE_TIME_WAIT)
        return;
    send_loss_recovery(c);
    tt_rec_retransmit(c);
    uint32_t nxt = c->snd_nxt;
    send_new_data(c, how);
    if (c->snd_nxt != nxt) { /* new data: the module hears of a restart */
        if (c->snd_una == nxt)
            tt_cc_tx_start(c);
        c->lsndtime = c->eng->now;
    }
    cwnd_validate(c);
    if (c->ack_now)
        tt_tcp_send_ack(c);
    tt_tcp_rearm_rtx(c);
}

/*
 * RFC 9293 3.10.7.1: the reply to a segment for no connection. A RST never
 * answers a RST. With ACK: <SEQ=SEG.ACK><CTL=RST>; without:
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. state is the state of what
 * answers: the connection, LISTEN, or -ENOENT (tt_tcp_send_raw()).
 */
void tt_tcp_send_reset_reply(tt_engine_t *eng, const struct seg *seg, int state)
{
    if (seg->flags & TCP_RST)
        return;
    struct seg r;
    memset(&r, 0, sizeof(r));
    r.saddr = seg->daddr;
    r.daddr = seg->saddr;
    r.sport = seg->dport;
    r.dport = seg->sport;
    if (seg->flags & TCP_ACK) {
        r.seq = seg->ack;
        r.flags = TCP_RST;
    } else {
        r.ack = seg->seq + seg_len(seg);
        r.flags = TCP_RST | TCP_ACK;
    }
    tt_tcp_send_raw(eng, &r, state);
}

/*
 * The RST reply to a segment that no connection owns (state -ENOENT, or
 * LISTEN for a listener that cannot take it), reported as an event with
 * why (docs/contract.md §4.4): no RST, no event.
 */
void tt_tcp_reset_noconn(tt_engine_t *eng, const struct seg *seg, int state, const char *why)
{
    if (seg->flags & TCP_RST)
        return;
    struct tuple t = {
        .laddr = seg->daddr, .raddr = seg->saddr, .lport = seg->dport, .rport = seg->sport};
    tt_event_t ev = {.type = TT_EV_RST_NOCONN, .rst_why = why, .seg_flags = seg->flags};
    tt_engine_event(eng, &ev, &t);
    tt_tcp_send_reset_reply(eng, seg, state);
}

/*
 * --tcp-invalid-ratelimit (Linux tcp_oow_rate_limited): at most one ACK to
 * an invalid segment per interval, per connection. Returns true when this
 * one must be skipped.
 */
bool tt_tcp_oow_rate_limited(tt_engine_t *eng, uint64_t *last, bool *sent)
{
    uint64_t gap = eng->cfg.invalid_ratelimit_us;
    if (gap && *sent && eng->now - *last < gap)
        return true;
    *last = eng->now;
    *sent = true;
    return false;
}

/* RFC 5961 3.2, 4.2 and 5.2: answer a suspicious RST, SYN or ACK with an
 * ACK that only the true peer can use; rate-limited (Linux
 * tcp_send_challenge_ack). */
void tt_tcp_challenge_ack(struct tt_conn *c)
{
    if (tt_tcp_oow_rate_limited(c->eng, &c->last_oow_ack, &c->oow_ack_sent))
        return;
    c->eng->stats.TcpExtTCPChallengeACK++;
    tt_tcp_send_ack(c);
}

/*
 * Which invalid segments escape that limit, as in Linux's
 * tt_tcp_oow_rate_limited(): those that occupy sequence space (data or FIN)
 * and carry no SYN, since such a segment is unlikely to be one half of an
 * ACK loop. A SYN is limited even with data. TIME_WAIT (timewait.c) and a
 * connection (tt_tcp_input.c) both ask here, so that they agree.
 */
bool tt_tcp_oow_exempt(const struct seg *seg)
{
    return seg_len(seg) != 0 && !(seg->flags & TCP_SYN);
}

/*
 * After the application has read: announce the larger window when the one
 * the peer knows has fallen to half of what it can be, and would at least
 * double (Linux tcp_cleanup_rbuf; RFC 9293 3.8.6.2.2 keeps the step large).
 */
void tt_tcp_window_update(struct tt_conn *c)
{
    if (c->state < TT_STATE_ESTABLISHED || c->state == TT_STATE_TIME_WAIT)
        return;
    uint32_t advertised = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t max_wnd = 65535u << (c->ws_on ? c->rcv_wscale : 0);
    uint32_t clamp = c->rcvbuf.cap < max_wnd ? c->rcvbuf.cap : max_wnd;
    uint32_t space = ring_space(&c->rcvbuf);
    if (space > clamp)
        space = clamp;
    if (2 * (uint64_t)advertised <= clamp && space >= 2 * (uint64_t)advertised && space > 0)
        tt_tcp_send_ack(c);
}
