/*
 * TIME_WAIT (RFC 9293 3.10.7.4 and 3.6; RFC 1337; RFC 1122 4.2.2.13;
 * RFC 6191): the table of compact entries that replace a connection for
 * 2*MSL after it closed actively, and the rules for segments that arrive
 * for them.
 *
 * Entries sit in one FIFO ordered by expiry: every entry of an engine lives
 * exactly 2*MSL from its last (re)start, so the newest is always the last to
 * expire; a restart moves the entry to the tail. Insert, restart, expiry and
 * removal are O(1).
 *
 * The length of TIME_WAIT is predictable on purpose: only the peer's
 * retransmitted FIN restarts it (RFC 9293 3.10.7.4 eighth step). Linux also
 * restarts it on other segments carrying ACK; tuntcp does not.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "seq.h"

static void fifo_unlink(tt_engine_t *eng, struct tw_entry *tw)
{
    if (tw->fifo_prev)
        tw->fifo_prev->fifo_next = tw->fifo_next;
    else
        eng->tw_head = tw->fifo_next;
    if (tw->fifo_next)
        tw->fifo_next->fifo_prev = tw->fifo_prev;
    else
        eng->tw_tail = tw->fifo_prev;
    tw->fifo_prev = tw->fifo_next = NULL;
}

static void fifo_append(tt_engine_t *eng, struct tw_entry *tw)
{
    tw->fifo_prev = eng->tw_tail;
    tw->fifo_next = NULL;
    if (eng->tw_tail)
        eng->tw_tail->fifo_next = tw;
    else
        eng->tw_head = tw;
    eng->tw_tail = tw;
}

void timewait_tuple(const tt_engine_t *eng, const struct tw_entry *tw, struct tuple *t)
{
    t->laddr = eng->cfg.addr;
    t->raddr = tw->raddr;
    t->lport = tw->lport;
    t->rport = tw->rport;
}

static void tw_event_closed(tt_engine_t *eng, const struct tw_entry *tw, tt_close_reason_t why)
{
    struct tuple t;
    timewait_tuple(eng, tw, &t);
    tt_event_t ev = {
        .type = TT_EV_STATE, .from = TT_STATE_TIME_WAIT, .to = TT_STATE_CLOSED, .why = why};
    engine_event(eng, &ev, &t);
}

void timewait_remove(tt_engine_t *eng, struct tw_entry *tw, tt_close_reason_t why)
{
    tw_event_closed(eng, tw, why);
    fifo_unlink(eng, tw);
    conn_table_remove(&eng->table, &tw->h);
    eng->ntw--;
    free(tw);
}

/* 2*MSL from now: the final ACK was just sent (SPEC §2). */
static void tw_schedule(tt_engine_t *eng, struct tw_entry *tw)
{
    tw->expires = eng->now + 2 * eng->cfg.msl_us;
    fifo_append(eng, tw);
}

static void tw_fill(struct tw_entry *tw, const struct tt_conn *c, uint32_t now_ms)
{
    memset(tw, 0, sizeof(*tw));
    tw->h.kind = HNODE_TW;
    tw->h.hash = c->h.hash;
    tw->raddr = c->t.raddr;
    tw->lport = c->t.lport;
    tw->rport = c->t.rport;
    tw->snd_nxt = c->snd_nxt;
    tw->rcv_nxt = c->rcv_nxt;
    tw->rcv_wscale = c->ws_on ? c->rcv_wscale : 0;
    uint32_t wnd = c->rcv_wnd >> tw->rcv_wscale;
    tw->rcv_wnd = (uint16_t)(wnd > 65535 ? 65535 : wnd);
    if (c->ts_on) {
        tw->flags |= TW_TS_ON;
        tw->ts_recent = c->ts_recent;
        uint64_t age_ms = (c->eng->now - c->ts_recent_stamp) / MS;
        tw->ts_recent_stamp_ms = now_ms > age_ms ? (uint32_t)(now_ms - age_ms) : 1;
    }
}

/*
 * The connection c has just sent the ACK of the peer's FIN in a state that
 * leads to TIME_WAIT. The TCB goes; a compact entry takes its place, unless
 * tcp_max_tw_buckets entries exist already (then, as Linux, the 4-tuple is
 * freed at once and the overflow counted).
 */
void timewait_enter(struct tt_conn *c)
{
    tt_engine_t *eng = c->eng;
    tcb_set_state(c, TT_STATE_TIME_WAIT);
    if (eng->ntw >= eng->cfg.tcp_max_tw_buckets) {
        eng->stats.TcpExtTCPTimeWaitOverflow++;
        tcb_close(c, TT_WHY_TW_OVERFLOW, 0);
        return;
    }
    struct tw_entry *tw = malloc(sizeof(*tw));
    if (!tw) {
        eng->stats.TtNoBufs++;
        tcb_close(c, TT_WHY_TW_OVERFLOW, 0);
        return;
    }
    tw_fill(tw, c, engine_ms(eng));
    /* The TCB leaves without a CLOSED event: the entry carries it on, and
     * a handle still held shows TIME_WAIT. */
    tcb_end(c, 0);
    conn_table_insert(&eng->table, &tw->h);
    eng->ntw++;
    tw_schedule(eng, tw);
}

void timewait_expire(tt_engine_t *eng, uint64_t now)
{
    while (eng->tw_head && eng->tw_head->expires <= now) {
        eng->stats.TcpExtTW++;
        timewait_remove(eng, eng->tw_head, TT_WHY_TIMEWAIT_EXPIRED);
    }
}

void timewait_free_all(tt_engine_t *eng)
{
    while (eng->tw_head) {
        struct tw_entry *tw = eng->tw_head;
        eng->tw_head = tw->fifo_next;
        free(tw);
    }
    eng->tw_tail = NULL;
    eng->ntw = 0;
}

/* tcp_tw_reuse (Linux tcp_twsk_unique): with timestamps, an entry whose
 * last timestamp is more than a second old may give its 4-tuple to a new
 * active open; the peer's PAWS tells the incarnations apart. */
bool timewait_reusable(const tt_engine_t *eng, const struct tw_entry *tw)
{
    if (!eng->cfg.tcp_tw_reuse || !(tw->flags & TW_TS_ON))
        return false;
    return (uint64_t)(engine_ms(eng) - tw->ts_recent_stamp_ms) * MS > TT_TW_REUSE_AGE;
}

enum tw_verdict { TW_IGNORE, TW_ACK, TW_ACK_LIMITED, TW_RESTART, TW_KILL, TW_NEW_SYN };

/* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> from the entry's own record. */
static void tw_send_ack(tt_engine_t *eng, const struct tw_entry *tw)
{
    struct seg s;
    memset(&s, 0, sizeof(s));
    s.saddr = eng->cfg.addr;
    s.daddr = tw->raddr;
    s.sport = tw->lport;
    s.dport = tw->rport;
    s.seq = tw->snd_nxt;
    s.ack = tw->rcv_nxt;
    s.flags = TCP_ACK;
    s.wnd = tw->rcv_wnd;
    if (tw->flags & TW_TS_ON) {
        s.opt.ts_ok = true;
        s.opt.ts_val = engine_ms(eng) + ts_offset_of(tw->h.hash);
        s.opt.ts_ecr = tw->ts_recent;
    }
    tcp_send_raw(eng, &s);
}

/* RFC 7323 5.3: a timestamp older than the last one seen is an old duplicate. */
static bool tw_paws_reject(const struct tw_entry *tw, const struct seg *seg)
{
    if (!(tw->flags & TW_TS_ON) || !seg->opt.ts_ok || (seg->flags & TCP_RST))
        return false;
    return (int32_t)(seg->opt.ts_val - tw->ts_recent) < 0;
}

static enum tw_verdict tw_rst(const tt_engine_t *eng, const struct tw_entry *tw,
                              const struct seg *seg)
{
    uint32_t wnd = (uint32_t)tw->rcv_wnd << tw->rcv_wscale;
    if (seg->seq == tw->rcv_nxt)
        return eng->cfg.tcp_rfc1337 ? TW_IGNORE : TW_KILL; /* RFC 1337 vs Linux */
    if (seq_in(seg->seq, tw->rcv_nxt, tw->rcv_nxt + wnd))
        return TW_ACK_LIMITED; /* RFC 5961 3.2: challenge ACK */
    return TW_IGNORE;
}

/* RFC 1122 4.2.2.13 and RFC 6191: a SYN may reopen the 4-tuple when it is
 * certainly newer than the old connection, by sequence or by timestamp. */
static bool tw_syn_is_new(const struct tw_entry *tw, const struct seg *seg)
{
    if (seq_gt(seg->seq, tw->rcv_nxt))
        return true;
    return (tw->flags & TW_TS_ON) && seg->opt.ts_ok &&
           (int32_t)(seg->opt.ts_val - tw->ts_recent) > 0;
}

static enum tw_verdict tw_decide(const tt_engine_t *eng, const struct tw_entry *tw,
                                 const struct seg *seg)
{
    bool paws = tw_paws_reject(tw, seg);
    if (seg->flags & TCP_RST)
        return tw_rst(eng, tw, seg);
    if ((seg->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
        return !paws && tw_syn_is_new(tw, seg) ? TW_NEW_SYN : TW_ACK_LIMITED;
    /* RFC 9293 3.10.7.4 eighth step: the peer's FIN again (our ACK was
     * lost): acknowledge it and restart 2MSL. */
    if ((seg->flags & TCP_FIN) && !paws && seg->seq + seg->len + 1 == tw->rcv_nxt)
        return TW_RESTART;
    if (!paws && seg->seq == tw->rcv_nxt && seg_len(seg) == 0)
        return TW_IGNORE; /* an acceptable bare ACK: nothing to say */
    /* Unacceptable (RFC 9293 3.10.7.4 first step): ACK it. As in Linux,
     * only segments that occupy no sequence space are rate-limited. */
    return seg_len(seg) == 0 ? TW_ACK_LIMITED : TW_ACK;
}

static void tw_restart(tt_engine_t *eng, struct tw_entry *tw)
{
    tw_send_ack(eng, tw);
    fifo_unlink(eng, tw);
    tw_schedule(eng, tw);
    struct tuple t;
    timewait_tuple(eng, tw, &t);
    tt_event_t ev = {.type = TT_EV_TIMEWAIT_RESTART, .expires_us = tw->expires};
    engine_event(eng, &ev, &t);
}

/* --tcp-invalid-ratelimit, per entry, to the microsecond. */
static void tw_ack_limited(tt_engine_t *eng, struct tw_entry *tw)
{
    uint64_t gap = eng->cfg.invalid_ratelimit_us;
    if (gap && (tw->flags & TW_OOW_SENT) && eng->now - tw->last_oow_ack < gap) {
        eng->stats.TcpExtTCPACKSkippedTimeWait++;
        return;
    }
    tw->flags |= TW_OOW_SENT;
    tw->last_oow_ack = eng->now;
    tw_send_ack(eng, tw);
}

/* A new incarnation (RFC 1122 4.2.2.13): as Linux, its ISN goes beyond
 * anything the old one sent; without a listener the SYN only gets an ACK. */
static void tw_new_syn(tt_engine_t *eng, struct tw_entry *tw, const struct seg *seg)
{
    struct tt_listener *l = listener_find(eng, seg->dport);
    if (!l) {
        tw_ack_limited(eng, tw);
        return;
    }
    uint32_t iss = tw->snd_nxt + 65535 + 2;
    timewait_remove(eng, tw, TT_WHY_TIMEWAIT_SYN);
    tcp_listen_syn(eng, l, seg, true, iss);
}

void timewait_input(tt_engine_t *eng, struct tw_entry *tw, struct seg *seg)
{
    switch (tw_decide(eng, tw, seg)) {
    case TW_IGNORE:
        break;
    case TW_ACK:
        tw_send_ack(eng, tw);
        break;
    case TW_ACK_LIMITED:
        tw_ack_limited(eng, tw);
        break;
    case TW_RESTART:
        tw_restart(eng, tw);
        break;
    case TW_KILL:
        eng->stats.TcpExtTWKilled++;
        timewait_remove(eng, tw, TT_WHY_TIMEWAIT_RST);
        break;
    case TW_NEW_SYN:
        tw_new_syn(eng, tw, seg);
        break;
    }
}
