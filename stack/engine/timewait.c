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
#include <string.h>

#include "engine.h"
#include "seq.h"

void tt_timewait_tuple(const tt_engine_t *eng, const struct tw_entry *tw, struct tuple *t)
{
    t->laddr = eng->cfg.addr;
    t->raddr = tw->raddr;
    t->lport = tw->lport;
    t->rport = tw->rport;
}

/* The table's rehash callback: the same keyed hash as every lookup. */
uint32_t tt_timewait_hash(const void *ctx, const struct tw_entry *e)
{
    const tt_engine_t *eng = ctx;
    struct tuple t;
    tt_timewait_tuple(eng, e, &t);
    return tt_tuple_hash(eng, &t);
}

uint64_t tt_timewait_next_expiry(const tt_engine_t *eng)
{
    return eng->tw.head ? tw_at(&eng->tw, eng->tw.head)->expires : TT_TIME_NEVER;
}

static void tw_event_closed(tt_engine_t *eng, const struct tw_entry *tw, tt_close_reason_t why)
{
    struct tuple t;
    tt_timewait_tuple(eng, tw, &t);
    tt_event_t ev = {
        .type = TT_EV_STATE, .from = TT_STATE_TIME_WAIT, .to = TT_STATE_CLOSED, .why = why};
    tt_engine_event(eng, &ev, &t);
}

void tt_timewait_remove(tt_engine_t *eng, tw_id id, tt_close_reason_t why)
{
    struct tw_entry *tw = tw_at(&eng->tw, id);
    tw_event_closed(eng, tw, why);
    tt_tw_table_remove(&eng->tw, id, tt_timewait_hash(eng, tw));
}

/* 2*MSL from now: the final ACK was just sent (docs/contract.md §2.2). */
static void tw_schedule(tt_engine_t *eng, tw_id id)
{
    tw_at(&eng->tw, id)->expires = eng->now + 2 * eng->cfg.msl_us;
    tt_tw_fifo_append(&eng->tw, id);
}

static void tw_fill(struct tw_entry *tw, const struct tt_conn *c, uint32_t now_ms)
{
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
 * A new MSL re-times every entry (docs/contract.md §10.4 tuntcp.msl): each
 * deadline becomes its last (re)start plus the new 2*MSL. All entries move
 * by the same amount, so the FIFO stays in expiry order; an entry whose new
 * deadline is already past goes at the next tt_engine_timers(). The start
 * is never before the engine's, so the sum cannot underflow.
 */
void tt_timewait_retime(tt_engine_t *eng, uint64_t old_msl_us, uint64_t new_msl_us)
{
    for (tw_id id = eng->tw.head; id; id = tw_at(&eng->tw, id)->fifo_next) {
        struct tw_entry *tw = tw_at(&eng->tw, id);
        tw->expires = tw->expires - 2 * old_msl_us + 2 * new_msl_us;
    }
}

/* Room for one more entry: fewer than tcp_max_tw_buckets exist. */
bool tt_timewait_has_room(const tt_engine_t *eng)
{
    return eng->tw.count < eng->cfg.tcp_max_tw_buckets;
}

/*
 * The connection c has just sent the ACK of the peer's FIN in a state that
 * leads to TIME_WAIT. The TCB goes; a compact entry takes its place, unless
 * there is no room for one (tcp_max_tw_buckets). Then, as Linux's
 * tcp_time_wait(), the overflow is counted and the connection goes straight
 * from the state it is in (FIN_WAIT_1, FIN_WAIT_2 or CLOSING; fin_input
 * asks tt_timewait_has_room() before it changes state) to CLOSED, why
 * "tw_overflow": no TIME_WAIT in the trace, and the 4-tuple is free.
 */
void tt_timewait_enter(struct tt_conn *c)
{
    tt_engine_t *eng = c->eng;
    tw_id id = 0;
    if (tt_timewait_has_room(eng))
        id = tt_tw_table_insert(&eng->tw, c->h.hash);
    if (!id) {
        eng->stats.TcpExtTCPTimeWaitOverflow++;
        tt_tcb_close(c, TT_WHY_TW_OVERFLOW, 0);
        return;
    }
    tt_tcb_set_state(c, TT_STATE_TIME_WAIT);
    eng->stats.TcpExtTW++; /* at entry, as Linux 6.x counts TIMEWAITED */
    tw_fill(tw_at(&eng->tw, id), c, tt_engine_ms(eng));
    /* The TCB leaves without a CLOSED event: the entry carries it on, and
     * a handle still held shows TIME_WAIT. */
    tt_tcb_end(c, 0);
    tw_schedule(eng, id);
}

void tt_timewait_expire(tt_engine_t *eng, uint64_t now)
{
    while (eng->tw.head && tw_at(&eng->tw, eng->tw.head)->expires <= now) {
        tt_timewait_remove(eng, eng->tw.head, TT_WHY_TIMEWAIT_EXPIRED);
    }
}

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
        s.opt.ts_val = tt_engine_ms(eng) + ts_offset_of(tt_timewait_hash(eng, tw));
        s.opt.ts_ecr = tw->ts_recent;
    }
    tt_tcp_send_raw(eng, &s, TT_STATE_TIME_WAIT);
}

/* RFC 7323 5.3: a timestamp older than the last one seen is an old duplicate. */
static bool tw_paws_reject(const struct tw_entry *tw, const struct seg *seg)
{
    if (!(tw->flags & TW_TS_ON) || !seg->opt.ts_ok || (seg->flags & TCP_RST))
        return false;
    return (int32_t)(seg->opt.ts_val - tw->ts_recent) < 0;
}

static enum tt_tw_verdict tw_rst(const tt_engine_t *eng, const struct tw_entry *tw,
                                 const struct seg *seg)
{
    uint32_t wnd = (uint32_t)tw->rcv_wnd << tw->rcv_wscale;
    if (seg->seq == tw->rcv_nxt)
        return eng->cfg.tcp_rfc1337 ? TT_TW_IGNORE : TT_TW_KILL; /* RFC 1337 vs Linux */
    if (seq_in(seg->seq, tw->rcv_nxt, tw->rcv_nxt + wnd))
        return TT_TW_ACK_LIMITED; /* RFC 5961 3.2: challenge ACK */
    return TT_TW_IGNORE;
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

static enum tt_tw_verdict tw_decide(const tt_engine_t *eng, const struct tw_entry *tw,
                                    const struct seg *seg)
{
    bool paws = tw_paws_reject(tw, seg);
    if (seg->flags & TCP_RST)
        return tw_rst(eng, tw, seg);
    if ((seg->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
        return !paws && tw_syn_is_new(tw, seg) ? TT_TW_SYN : TT_TW_ACK_LIMITED;
    /* RFC 9293 3.10.7.4 eighth step: the peer's FIN again (our ACK was
     * lost): acknowledge it and restart 2MSL. */
    if ((seg->flags & (TCP_FIN | TCP_SYN)) == TCP_FIN && !paws &&
        seg->seq + seg->len + 1 == tw->rcv_nxt)
        return TT_TW_RESTART; /* (a SYN would put the FIN one further: not a repeat) */
    if (!paws && seg->seq == tw->rcv_nxt && seg_len(seg) == 0)
        return TT_TW_IGNORE; /* an acceptable bare ACK: nothing to say */
    /* Unacceptable (RFC 9293 3.10.7.4 first step): ACK it. Linux's
     * tcp_timewait_state_process() ends in tt_tcp_oow_rate_limited(), so the
     * ACK is rate-limited unless the segment carries data or FIN and no SYN
     * (a SYN|ACK is limited); tt_tcp_oow_exempt() is that rule. */
    return tt_tcp_oow_exempt(seg) ? TT_TW_ACK : TT_TW_ACK_LIMITED;
}

void tt_timewait_restart(tt_engine_t *eng, tw_id id)
{
    struct tw_entry *tw = tw_at(&eng->tw, id);
    tw_send_ack(eng, tw);
    tt_tw_fifo_unlink(&eng->tw, id);
    tw_schedule(eng, id);
    struct tuple t;
    tt_timewait_tuple(eng, tw, &t);
    tt_event_t ev = {.type = TT_EV_TIMEWAIT_RESTART, .expires_us = tw->expires};
    tt_engine_event(eng, &ev, &t);
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

/*
 * A new incarnation (RFC 1122 4.2.2.13), for the caller that found a
 * listener for the SYN: the entry goes, and, as Linux, the new ISN lies
 * beyond anything the old connection sent.
 */
uint32_t tt_timewait_reopen(tt_engine_t *eng, tw_id id)
{
    uint32_t iss = tw_at(&eng->tw, id)->snd_nxt + 65535 + 2;
    tt_timewait_remove(eng, id, TT_WHY_TIMEWAIT_SYN);
    return iss;
}

/* A RST at RCV.NXT with tcp_rfc1337 0 (Linux's TIME-WAIT assassination):
 * the entry goes. Like a RST that ends a connection (tt_tcp_input.c), it is
 * reported first as rst_in, state TIME_WAIT (docs/contract.md §4), for the entry's
 * 4-tuple, then as TIME_WAIT -> CLOSED why "timewait_rst". */
void tt_timewait_kill(tt_engine_t *eng, tw_id id)
{
    struct tuple t;
    tt_timewait_tuple(eng, tw_at(&eng->tw, id), &t);
    tt_event_t ev = {.type = TT_EV_RST_IN, .state = TT_STATE_TIME_WAIT};
    tt_engine_event(eng, &ev, &t);
    eng->stats.TcpExtTWKilled++;
    tt_timewait_remove(eng, id, TT_WHY_TIMEWAIT_RST);
}

/*
 * What a segment for a TIME_WAIT entry calls for (RFC 9293 3.10.7.4, RFC
 * 1337, RFC 5961, RFC 6191), decided from the entry and the segment alone:
 * the caller carries it out (tcp_input.c), as Linux's callers carry out
 * tcp_timewait_state_process()'s verdict.
 */
enum tt_tw_verdict tt_timewait_decide(const tt_engine_t *eng, tw_id id, const struct seg *seg)
{
    return tw_decide(eng, tw_at(&eng->tw, id), seg);
}

/* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> from the entry; TT_TW_ACK_LIMITED's
 * under --tcp-invalid-ratelimit, per entry. */
void tt_timewait_ack(tt_engine_t *eng, tw_id id, bool limited)
{
    struct tw_entry *tw = tw_at(&eng->tw, id);
    if (limited)
        tw_ack_limited(eng, tw);
    else
        tw_send_ack(eng, tw);
}
