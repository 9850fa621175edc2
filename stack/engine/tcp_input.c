/*
 * Segment arrival, in the order of RFC 9293 3.10.7: a segment for no
 * connection (3.10.7.1), for a listener (3.10.7.2), in SYN_SENT (3.10.7.3),
 * and in the synchronized states (3.10.7.4, one static function per step).
 * TIME_WAIT entries are not connections: timewait.c answers for them.
 *
 * Also here: RFC 5961 (challenge ACKs for RST and SYN, ACK range check),
 * RFC 7323 PAWS and TS.Recent, and the receive side: reassembly of
 * out-of-order data and the delayed-ACK decision. Acknowledgement handling
 * (RTT, congestion window) is in tcp_ack.c.
 *
 * The steps that can end the connection say so by their return value (true:
 * the connection is still in the engine). The application hears of the
 * segment only when the engine call ends (tcb.c); the ACK its data calls
 * for and what it lets us send wait until then (tt_tcp_input_done()), so
 * that a reply written from the read callback carries the ACK.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "seq.h"

/* RFC 9293 3.10.7.3. Returns false when the connection was refused. */
static bool syn_sent_input(struct tt_conn *c, const struct seg *seg)
{
    bool ack = seg->flags & TCP_ACK;
    if (ack && (seq_leq(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_nxt))) {
        tt_tcp_send_reset_reply(c->eng, seg, (int)c->state);
        return true;
    }
    if (seg->flags & TCP_RST) {
        if (!ack)
            return true;
        c->eng->stats.TcpAttemptFails++;
        tt_tcb_close(c, TT_WHY_REFUSED, -ECONNREFUSED);
        return false;
    }
    if (!(seg->flags & TCP_SYN))
        return true;
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    tt_tcb_syn_options(c, seg);
    tt_ecn_rcv_syn(c, seg); /* RFC 3168 6.1.1 */
    c->snd_wnd = seg->wnd;
    c->snd_max_wnd = c->snd_wnd; /* Linux tcp_rcv_synsent_state_process(): max_window */
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    if (!ack) { /* simultaneous open */
        tt_tcb_set_state(c, TT_STATE_SYN_RECEIVED);
        tt_tcp_send_syn(c);
        return true;
    }
    tt_tcp_rtt_syn_acked(c);
    c->snd_una = seg->ack;
    c->retries = 0;
    c->backoff = 0;
    tt_timer_cancel(c->eng->wheel, &c->rtx_timer);
    tt_tcb_set_state(c, TT_STATE_ESTABLISHED);
    c->ack_now = true;
    tt_tcp_output(c); /* the handshake's ACK goes before the application hears */
    tt_sndmem_init(c);
    tt_tcb_established(c);
    return true;
}

/* RFC 7323 5.3: PAWS drops old duplicates by their timestamp. */
static bool paws_reject(const struct tt_conn *c, const struct seg *seg)
{
    if (!c->ts_on || !seg->opt.ts_ok || (seg->flags & TCP_RST))
        return false;
    if ((int32_t)(seg->opt.ts_val - c->ts_recent) >= 0)
        return false;
    /* RFC 7323 5.5: a TS.Recent idle for 24 days is no longer valid. */
    return c->eng->now - c->ts_recent_stamp < 24ull * 24 * 3600 * SEC;
}

/*
 * Linux tcp_sequence() takes a segment that ends exactly at RCV.NXT: in
 * LAST_ACK and CLOSING that is the peer's FIN again, sent because our ACK
 * of it was lost, and it may acknowledge our FIN. Its ACK is processed so
 * that the connection closes at once instead of an RTO later (RFC 9293's
 * test would refuse it as an old duplicate). It must carry an ACK; RST
 * and SYN keep RFC 5961's rules. Only these two states: elsewhere the
 * RFC's test stands.
 */
static bool old_fin_again(const struct tt_conn *c, const struct seg *seg)
{
    if (c->state != TT_STATE_LAST_ACK && c->state != TT_STATE_CLOSING)
        return false;
    if ((seg->flags & (TCP_RST | TCP_SYN | TCP_ACK)) != TCP_ACK)
        return false;
    uint32_t len = seg_len(seg);
    return len > 0 && seg->seq + len == c->rcv_nxt;
}

/*
 * RFC 9293 3.10.7.4 first step: the four cases of acceptability. With
 * RCV.WND zero "special allowance should be made to accept valid ACKs,
 * URGs, and RSTs": a segment at RCV.NXT is let in whatever its length, so
 * that its ACK (a zero-window probe's, say) and RST count; its text is
 * dropped after the ACK step (trim_beyond_window), a bare FIN excepted.
 *
 * The window's right edge counts as inside, as Linux's tcp_sequence has
 * it: a sender that has filled our whole window while one of its segments
 * was lost puts its pure ACKs at exactly RCV.NXT+RCV.WND. Dropping them
 * would leave SND.UNA stale, and our ACKs would then look old to the peer:
 * both sides wait for each other. Text starting at the edge is trimmed
 * after the ACK step like any text beyond the window.
 */
static bool seq_acceptable(const struct tt_conn *c, const struct seg *seg)
{
    uint32_t len = seg_len(seg);
    uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t edge = c->rcv_nxt + wnd + 1; /* one past the right edge */
    if (old_fin_again(c, seg))
        return true;
    if (wnd == 0)
        return seg->seq == c->rcv_nxt;
    if (len == 0)
        return seq_in(seg->seq, c->rcv_nxt, edge);
    return seq_in(seg->seq, c->rcv_nxt, edge) || seq_in(seg->seq + len - 1, c->rcv_nxt, edge);
}

/* The ACK owed to an unacceptable segment, rate-limited unless the segment
 * is exempt (tcp_oow_exempt: data or FIN without SYN, as Linux). */
static void send_oow_ack(struct tt_conn *c, const struct seg *seg)
{
    if (!tt_tcp_oow_exempt(seg) &&
        tt_tcp_oow_rate_limited(c->eng, &c->last_oow_ack, &c->oow_ack_sent)) {
        c->eng->stats.TcpExtTCPACKSkippedSeq++;
        return;
    }
    tt_tcp_send_ack(c);
}

/* Drop what lies before RCV.NXT (RFC 9293 3.10.7.4), a SYN included. */
static void trim_old(const struct tt_conn *c, struct seg *seg)
{
    if (!seq_lt(seg->seq, c->rcv_nxt))
        return;
    uint32_t d = c->rcv_nxt - seg->seq;
    if (seg->flags & TCP_SYN) {
        seg->flags &= (uint8_t)~TCP_SYN;
        d--;
        seg->seq++;
    }
    if (d > seg->len)
        d = seg->len;
    seg->data += d;
    seg->len -= d;
    seg->seq += d;
}

/*
 * Drop text beyond RCV.NXT + RCV.WND, and a FIN behind it (RFC 9293
 * 3.10.7.4). Done after the ACK step, so that a zero-window probe still
 * counts as a segment with data there (it is no duplicate ACK, as Linux's
 * FLAG_DATA says). When nothing of the text is left (our window is zero)
 * the peer hears our window at once (Linux tcp_data_queue: out_of_window).
 * A bare FIN at RCV.NXT is kept: it needs no buffer space, and Linux takes
 * it even at zero window ("some stacks send bare FIN in a loop"), so
 * teardown does not wait for an application that is not reading.
 */
static void trim_beyond_window(struct tt_conn *c, struct seg *seg)
{
    uint32_t wnd_end = c->rcv_adv;
    if (seg->len == 0 || !seq_gt(seg->seq + seg->len, wnd_end))
        return;
    seg->len = seq_gt(wnd_end, seg->seq) ? wnd_end - seg->seq : 0;
    seg->flags &= (uint8_t)~TCP_FIN;
    if (seg->len == 0)
        c->ack_now = true;
}

/* RFC 9293 3.10.7.4 second step, with RFC 5961 3.2. Returns false when
 * the RST ended the connection. */
static bool rst_input(struct tt_conn *c, const struct seg *seg)
{
    tt_engine_t *eng = c->eng;
    if (seg->seq != c->rcv_nxt) {
        tt_tcp_challenge_ack(c);
        return true;
    }
    tt_event_t ev = {.type = TT_EV_RST_IN, .state = c->state};
    tt_engine_event(eng, &ev, &c->t);
    switch (c->state) {
    case TT_STATE_SYN_RECEIVED:
        if (c->listener) { /* passive: back to the listener, quietly */
            tt_tcb_close(c, TT_WHY_RST_IN, 0);
            break;
        }
        eng->stats.TcpAttemptFails++;
        tt_tcb_close(c, TT_WHY_REFUSED, -ECONNREFUSED);
        break;
    case TT_STATE_ESTABLISHED:
    case TT_STATE_CLOSE_WAIT:
        eng->stats.TcpEstabResets++;
        tt_tcb_close(c, TT_WHY_RST_IN, -ECONNRESET);
        break;
    case TT_STATE_FIN_WAIT_1:
    case TT_STATE_FIN_WAIT_2:
        tt_tcb_close(c, TT_WHY_RST_IN, -ECONNRESET);
        break;
    default: /* CLOSING, LAST_ACK */
        tt_tcb_close(c, TT_WHY_RST_IN, 0);
        break;
    }
    return false;
}

/* RFC 7323 4.3: remember the timestamp to echo. */
static void update_ts_recent(struct tt_conn *c, const struct seg *seg)
{
    if (!c->ts_on || !seg->opt.ts_ok)
        return;
    if (seq_leq(seg->seq, c->last_ack_sent) && (int32_t)(seg->opt.ts_val - c->ts_recent) >= 0) {
        c->ts_recent = seg->opt.ts_val;
        c->ts_recent_stamp = c->eng->now;
    }
}

/*
 * Data after the application closed cannot be delivered: Linux answers it
 * with a RST (TcpExtTCPAbortOnData) rather than acknowledge it into a void.
 * The RST is the reply to that segment, <SEQ=SEG.ACK><CTL=RST> (RFC 9293
 * 3.10.7.1's form): Linux's tcp_rcv_state_process() returns 1 and its
 * caller answers with tcp_v4_send_reset(), not from the socket's SND.NXT.
 * Returns true when it did: the connection is over.
 */
static bool data_on_orphan(struct tt_conn *c, const struct seg *seg)
{
    if (!c->orphan || seg->len == 0)
        return false;
    c->eng->stats.TcpExtTCPAbortOnData++;
    tt_tcp_send_reset_reply(c->eng, seg, (int)c->state);
    tt_event_t ev = {.type = TT_EV_RST_OUT, .rst_why = "data_after_close"};
    tt_engine_event(c->eng, &ev, &c->t);
    tt_tcb_close(c, TT_WHY_RST_OUT, 0);
    return true;
}

/* The state the peer's FIN leads to (RFC 9293 3.10.7.4 eighth step). */
static tt_state_t state_after_fin(const struct tt_conn *c)
{
    switch (c->state) {
    case TT_STATE_SYN_RECEIVED:
    case TT_STATE_ESTABLISHED:
        return TT_STATE_CLOSE_WAIT;
    case TT_STATE_FIN_WAIT_1: /* with ours acked in the same segment: TIME_WAIT */
        return c->fin_sent && seq_gt(c->snd_una, c->fin_seq) ? TT_STATE_TIME_WAIT
                                                             : TT_STATE_CLOSING;
    case TT_STATE_FIN_WAIT_2:
        return TT_STATE_TIME_WAIT;
    default:
        return c->state;
    }
}

/* RFC 9293 3.8.6.3 and RFC 5681 4.2: ACK at once when reassembly is going
 * on (urgent), when delayed ACKs are off, or when two full-sized segments'
 * worth is unacknowledged. */
static bool ack_at_once(const struct tt_conn *c, bool urgent)
{
    return urgent || c->eng->cfg.delack_us == 0 || c->rcv_nxt - c->last_ack_sent >= 2u * c->mss;
}

/*
 * The ACK of the FIN that ends ESTABLISHED (Linux tcp_fin(): CLOSE_WAIT,
 * pingpong mode, the ACK only scheduled). An application told of the end
 * of the stream usually closes at once; its FIN then carries the ACK and
 * three segments close the connection instead of four. In pingpong mode
 * quick-ACK mode does not apply, so the ACK waits as a delayed one does
 * (Linux tcp_send_delayed_ack()): ato, delack_us once data has come, 0
 * before, when the timer fires at the next jiffy (TT_DELACK_TICK_US). A
 * timer already running keeps its earlier deadline. Pingpong mode has no
 * other use here: nothing is received after the FIN. As Linux
 * __tcp_ack_snd_check() does, more than one full segment (rcv_mss)
 * unacknowledged, the FIN counted, still goes at once (its further
 * condition, that the window offered not shrink, is not modelled).
 */
static void schedule_fin_ack(struct tt_conn *c, bool urgent, bool data_came)
{
    tt_engine_t *eng = c->eng;
    bool full = c->rcv_nxt - c->last_ack_sent > c->rcv_mss;
    if (full || ack_at_once(c, urgent)) {
        c->ack_now = true;
        return;
    }
    uint64_t ato = data_came ? eng->cfg.delack_us : TT_DELACK_TICK_US;
    if (!tt_timer_armed(&c->delack_timer))
        tt_timer_arm(eng->wheel, &c->delack_timer, eng->now + ato);
}

/*
 * RFC 9293 3.10.7.4 eighth step: the peer's FIN, now in sequence. The new
 * state comes first, so that the ACK goes out in it (the final ACK is sent
 * in TIME_WAIT, where --fault state=TIME_WAIT finds it). In ESTABLISHED
 * the ACK is scheduled (schedule_fin_ack()); in FIN_WAIT_1 and FIN_WAIT_2
 * it goes out at once, before the application hears of the FIN, as Linux
 * tcp_fin() sends it. With no room for TIME_WAIT (tcp_max_tw_buckets) the
 * state stays as it is, the ACK goes out in it, and tt_timewait_enter()
 * closes the connection from there, as Linux's socket goes straight to
 * CLOSE. Returns false when the connection left for TIME_WAIT (or CLOSED).
 */
static bool fin_input(struct tt_conn *c, bool urgent)
{
    tt_state_t next = state_after_fin(c);
    bool time_wait = next == TT_STATE_TIME_WAIT;
    if (time_wait && !tt_timewait_has_room(c->eng))
        next = c->state;
    bool data_came = c->rcv_nxt != c->irs + 1; /* Linux: ato is no longer 0 */
    tt_tcb_ooo_free(c);                        /* nothing can follow the FIN */
    c->rcv_nxt++;
    c->eof_pending = true;
    tt_tcb_set_state(c, next);
    if (next == TT_STATE_CLOSE_WAIT)
        schedule_fin_ack(c, urgent, data_came);
    else
        tt_tcp_send_ack(c);
    if (time_wait) {
        tt_timewait_enter(c); /* 2*MSL from this ACK */
        return false;
    }
    tt_tcb_notify_read(c); /* EOF, after whatever data is waiting */
    return true;
}

/* Takes up to len in-order bytes; returns how many (buffer space bounds it). */
static uint32_t take_in_order(struct tt_conn *c, const uint8_t *data, uint32_t len)
{
    bool direct = c->reading && c->read_cb && c->rcvbuf.len == 0 && !c->orphan;
    if (!direct && len > ring_space(&c->rcvbuf))
        len = ring_space(&c->rcvbuf);
    c->rcv_nxt += len;
    c->last_data_recv = c->eng->now;
    tt_tcb_deliver(c, data, len);
    return len;
}

static void ooo_insert(struct tt_conn *c, const struct seg *seg)
{
    uint32_t cost = seg->len + (uint32_t)sizeof(struct ooo_seg);
    if (c->ooo_bytes + cost > c->rcvbuf.cap)
        return; /* bounded: the peer will retransmit */
    struct ooo_seg **pp = &c->ooo;
    while (*pp && seq_lt((*pp)->seq, seg->seq))
        pp = &(*pp)->next;
    if (*pp && (*pp)->seq == seg->seq && (*pp)->len >= seg->len)
        return; /* a duplicate of what we hold */
    struct ooo_seg *o = tt_engine_ooo_alloc(c->eng, seg->len);
    if (!o)
        return;
    o->cap = seg->len <= c->eng->cfg.mtu ? c->eng->cfg.mtu : seg->len;
    o->seq = seg->seq;
    o->len = seg->len;
    o->fin = seg->flags & TCP_FIN;
    memcpy(o->data, seg->data, seg->len);
    o->next = *pp;
    *pp = o;
    c->ooo_bytes += cost;
    c->ooo_last_seq = seg->seq;
    c->eng->stats.TcpExtTCPOFOQueue++;
}

/* Whether len in-order bytes can be taken now (read callback or buffer room). */
static bool can_take(const struct tt_conn *c, uint32_t len)
{
    bool direct = c->reading && c->read_cb && c->rcvbuf.len == 0 && !c->orphan;
    return direct || len <= ring_space(&c->rcvbuf);
}

/*
 * Moves held segments that the new RCV.NXT reaches into the stream. Returns
 * true when one of them carried the FIN.
 */
static bool ooo_drain(struct tt_conn *c)
{
    while (c->ooo && seq_leq(c->ooo->seq, c->rcv_nxt)) {
        struct ooo_seg *o = c->ooo;
        uint32_t skip = c->rcv_nxt - o->seq;
        uint32_t fresh = skip < o->len ? o->len - skip : 0;
        if (fresh && !can_take(c, fresh))
            return false; /* the rest waits for the application to read */
        c->ooo = o->next;
        c->ooo_bytes -= o->len + (uint32_t)sizeof(*o);
        /* A FIN counts only at its own place: a peer that sent bytes past
         * its FIN (overlapping segments) must not move RCV.NXT beyond it. */
        bool fin = o->fin && c->rcv_nxt + fresh == o->seq + o->len;
        if (fresh)
            take_in_order(c, o->data + skip, fresh);
        tt_engine_ooo_release(c->eng, o);
        if (fin)
            return true;
    }
    return false;
}

/* RFC 9293 3.8.6.3 and RFC 5681 4.2: ACK at least every second full-sized
 * segment and within delack_us; at once when reassembly is going on.
 * Decided once the application has heard of the data (tt_tcp_input_done()). */
static void schedule_ack(struct tt_conn *c, bool urgent)
{
    tt_engine_t *eng = c->eng;
    if (c->last_ack_sent == c->rcv_nxt && !urgent)
        return; /* a reply from the read callback carried the ACK */
    if (ack_at_once(c, urgent)) {
        c->ack_now = true;
        return;
    }
    if (c->quickacks > 0) { /* Linux quick-ACK mode: a new connection's first segments */
        c->quickacks--;
        c->ack_now = true;
        return;
    }
    if (!tt_timer_armed(&c->delack_timer))
        tt_timer_arm(eng->wheel, &c->delack_timer, eng->now + eng->cfg.delack_us);
}

/* RFC 9293 3.10.7.4 seventh and eighth steps. Returns false when the
 * connection ended. */
static bool text_and_fin(struct tt_conn *c, struct seg *seg)
{
    bool open = c->state == TT_STATE_ESTABLISHED || c->state == TT_STATE_FIN_WAIT_1 ||
                c->state == TT_STATE_FIN_WAIT_2;
    if (!open || (seg->len == 0 && !(seg->flags & TCP_FIN)))
        return true;
    if (data_on_orphan(c, seg))
        return false;
    bool cwr_came = tt_ecn_rcv_data(c, seg); /* RFC 3168 6.1.3 */
    if (seg->seq != c->rcv_nxt) {
        ooo_insert(c, seg);
        c->ack_now = true; /* a duplicate ACK tells the sender of the hole */
        return true;
    }
    bool had_ooo = c->ooo != NULL;
    uint32_t took = take_in_order(c, seg->data, seg->len);
    if (seg->len) /* Linux tcp_event_data_recv() */
        tt_rcvmss_measure(c, seg);
    /* The FIN ends the stream: held data beyond it is the peer's error. */
    bool fin = (seg->flags & TCP_FIN) && took == seg->len;
    if (had_ooo && !fin)
        fin = ooo_drain(c);
    if (fin)
        return fin_input(c, had_ooo || cwr_came);
    if (seg->len) { /* schedule_ack(), once the application has heard */
        c->ack_due = true;
        c->ack_urgent = c->ack_urgent || had_ooo || cwr_came;
    }
    return true;
}

/* RFC 9293 3.10.7.4, SYN_RECEIVED: a duplicate of the peer's SYN means our
 * SYN-ACK was lost; send it again, as a retransmission (Karn). */
static bool syn_rcvd_dup_syn(struct tt_conn *c, const struct seg *seg)
{
    if (c->state != TT_STATE_SYN_RECEIVED || seg->seq != c->irs)
        return false;
    if ((seg->flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
        return false;
    tt_tcp_resend_syn(c);
    return true;
}

/* Simultaneous open (RFC 9293 3.5 figure 8): the peer's SYN-ACK repeats its
 * SYN and acks ours. As Linux does, let it complete the open as an ACK
 * instead of drawing an RFC 5961 4.2 challenge ACK. */
static void syn_rcvd_simopen_synack(const struct tt_conn *c, struct seg *seg)
{
    if (c->state != TT_STATE_SYN_RECEIVED || c->listener)
        return;
    if ((seg->flags & (TCP_SYN | TCP_ACK | TCP_RST)) != (TCP_SYN | TCP_ACK))
        return;
    if (seg->seq + 1 == c->rcv_nxt && seg->ack == c->snd_nxt && seg->len == 0) {
        seg->flags &= (uint8_t)~TCP_SYN;
        seg->syn_stripped = true; /* RFC 7323 2.2: its window stays unscaled */
        seg->seq++;
    }
}

/* RFC 9293 3.10.7.4: a segment arrives in a synchronized state. Returns
 * false when the connection ended. */
static bool synchronized_input(struct tt_conn *c, struct seg *seg)
{
    if (syn_rcvd_dup_syn(c, seg))
        return true;
    syn_rcvd_simopen_synack(c, seg);
    if (paws_reject(c, seg)) {
        c->eng->stats.TcpExtPAWSEstab++;
        send_oow_ack(c, seg);
        return true;
    }
    if (!seq_acceptable(c, seg)) { /* first: sequence number */
        if (!(seg->flags & TCP_RST))
            send_oow_ack(c, seg);
        return true;
    }
    /* RST and SYN are judged on SEG.SEQ as sent, before any trimming, so
     * that old bytes in front cannot make a RST exact (RFC 5961 3.2) nor
     * hide a SYN (RFC 5961 4.2). */
    if (seg->flags & TCP_RST) /* second */
        return rst_input(c, seg);
    if (seg->flags & TCP_SYN) { /* fourth: RFC 5961 4.2 */
        tt_tcp_challenge_ack(c);
        return true;
    }
    bool dup_fin = old_fin_again(c, seg);
    trim_old(c, seg);
    if (!(seg->flags & TCP_ACK)) /* fifth */
        return true;
    /* Only a segment whose ACK is acceptable may move TS.Recent: a blind
     * in-window segment with a far-future TSval would otherwise make PAWS
     * drop every real one (Linux updates it after tcp_ack()'s checks). */
    if (!seq_gt(seg->ack, c->snd_nxt) &&
        !seq_lt(seg->ack, c->snd_una - (c->snd_max_wnd ? c->snd_max_wnd : 1)))
        update_ts_recent(c, seg);
    enum tt_ack_verdict v = tt_tcp_ack_input(c, seg);
    if (v != TT_ACK_GO_ON)
        return v == TT_ACK_DONE;
    /* The peer's FIN again, not acknowledging ours: ACK it again, as an
     * unacceptable segment would be (Linux: a duplicate's immediate ACK). */
    if (dup_fin)
        c->ack_now = true;
    trim_beyond_window(c, seg);
    if (!text_and_fin(c, seg)) /* seventh, eighth */
        return false;
    tt_tcp_fin_wait_1_done(c);
    return true;
}

void tt_tcp_conn_input(struct tt_conn *c, struct seg *seg)
{
    bool alive =
        c->state == TT_STATE_SYN_SENT ? syn_sent_input(c, seg) : synchronized_input(c, seg);
    if (alive) /* the ACK owed and what may be sent: once the application has heard */
        tt_tcb_after(c, TT_AFTER_INPUT);
}

/*
 * The end of a segment's work, after the application's callbacks at the
 * end of the engine call (engine.c): the ACK its data calls for, unless a
 * reply written from the read callback carried it (RFC 1122 4.2.3.2), then
 * whatever the segment let us send (RFC 9293 3.10.7.4).
 */
void tt_tcp_input_done(struct tt_conn *c)
{
    if (c->ack_due) {
        c->ack_due = false;
        schedule_ack(c, c->ack_urgent);
        c->ack_urgent = false;
    }
    uint32_t nxt = c->snd_nxt;
    tt_tcp_output(c);
    if (c->snd_nxt != nxt)
        tt_sndmem_sent(c);
    tt_lowat_check_space(c);
    tt_sndmem_check_space(c); /* Linux tcp_data_snd_check(): after the output */
}

/*
 * A SYN for a TIME_WAIT 4-tuple opens a new incarnation only through a
 * listener (RFC 1122 4.2.2.13); without one it gets the entry's ACK. A
 * SYN|FIN opens nothing (the listener would discard it) and leaves the
 * entry be: Linux frees its TIME_WAIT socket first, but keeping the entry
 * means a stray SYN|FIN cannot end TIME_WAIT and the peer's FIN still gets
 * its ACK (docs/contract.md §9).
 */
static void timewait_syn(tt_engine_t *eng, tw_id id, struct seg *seg)
{
    struct tt_listener *l = tt_listener_find(eng, seg->dport);
    if (!l) {
        tt_timewait_ack(eng, id, true);
        return;
    }
    if (seg->flags & TCP_FIN)
        return;
    uint32_t hash = tt_timewait_hash(eng, tw_at(&eng->tw, id));
    uint32_t iss = tt_timewait_reopen(eng, id);
    tt_tcp_listen_syn(eng, l, seg, hash, true, iss);
}

/* timewait.c decides; the segment's fate is carried out here. */
static void timewait_carry_out(tt_engine_t *eng, tw_id id, struct seg *seg, enum tt_tw_verdict v)
{
    switch (v) {
    case TT_TW_IGNORE:
        break;
    case TT_TW_ACK:
    case TT_TW_ACK_LIMITED:
        tt_timewait_ack(eng, id, v == TT_TW_ACK_LIMITED);
        break;
    case TT_TW_RESTART:
        tt_timewait_restart(eng, id);
        break;
    case TT_TW_KILL:
        tt_timewait_kill(eng, id);
        break;
    case TT_TW_SYN:
        timewait_syn(eng, id, seg);
        break;
    }
}

/*
 * A segment signed with TCP MD5 (RFC 2385) for a connection or listener
 * that has no key: dropped without an answer, as Linux drops it
 * (tcp_inbound_hash, counted as TCPMD5Unexpected); RFC 2385 section 2.0
 * says an endpoint not expecting a signature discards a signed segment.
 * tuntcp has no keys, so every signed segment that reaches a connection or
 * a listener goes. A TIME_WAIT entry and the reset for an unknown 4-tuple
 * do not look at it, as in Linux.
 */
static bool md5_unexpected(tt_engine_t *eng, const struct seg *seg)
{
    if (!seg->opt.md5)
        return false;
    eng->stats.TcpExtTCPMD5Unexpected++;
    return true;
}

void tt_tcp_input(tt_engine_t *eng, struct seg *seg)
{
    struct tuple t;
    tt_tuple_of_seg(seg, &t);
    uint32_t hash = 0;
    struct tt_conn *c = tt_conn_find(eng, &t, &hash);
    if (c) {
        if (!md5_unexpected(eng, seg))
            tt_tcp_conn_input(c, seg);
        return;
    }
    tw_id tw = tt_tw_table_lookup(&eng->tw, t.raddr, t.rport, t.lport, hash);
    if (tw) {
        timewait_carry_out(eng, tw, seg, tt_timewait_decide(eng, tw, seg));
        return;
    }
    struct tt_listener *l = tt_listener_find(eng, seg->dport);
    if (l) {
        if (md5_unexpected(eng, seg))
            return;
        c = tt_tcp_listen_input(eng, l, seg, hash);
        if (c)
            tt_tcp_conn_input(c, seg);
        return;
    }
    tt_tcp_reset_noconn(eng, seg, -ENOENT, "no_connection"); /* RFC 9293 3.10.7.1 */
}
