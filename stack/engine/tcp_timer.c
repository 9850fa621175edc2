/*
 * Connection timers: retransmission (RFC 6298), zero-window probes
 * (RFC 9293 3.8.6.1), delayed ACK (RFC 9293 3.8.6.3), the FIN_WAIT_2
 * timeout of orphans (Linux tcp_fin_timeout), SO_LINGER's timeout, and
 * keep-alive's (tcp_keepalive.c). TCP_USER_TIMEOUT bounds retransmission
 * and probing by time instead of count (rto_within_user_timeout()).
 *
 * Retry limits follow Linux: tcp_syn_retries for SYN, tcp_synack_retries
 * for SYN-ACK, counted as consecutive timeouts of the same segment with the
 * RTO doubling each time; tcp_retries2 for everything else, and
 * tcp_orphan_retries for an orphan, both measured in time as Linux does
 * (retries_duration()). Zero-window probes give up after as many probes
 * left unanswered (persist_timeout()).
 */
#include <errno.h>
#include <stddef.h>

#include "engine.h"
#include "seq.h"

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

static uint64_t clamp_rto(uint64_t rto)
{
    if (rto < TT_RTO_MIN)
        return TT_RTO_MIN;
    return rto > TT_RTO_MAX ? TT_RTO_MAX : rto;
}

/*
 * RFC 6298 2.2 and 2.3 as Linux's tcp_rtt_estimator() computes them (gains
 * 1/8 and 1/4), with Linux's variance floor: the variance term of the RTO
 * (rttvar, 4 * mdev) is at least TCP_RTO_MIN, so RTO = SRTT + max(4 *
 * RTTVAR, 200 ms): 300 ms after a 100 ms RTT, 201 ms after 1 ms. The
 * floor is held for a round trip (mdev_max, reset when SND.UNA passes the
 * SND.NXT of the round's start), and rttvar decays toward mdev_max by a
 * quarter per round. A sample far below SRTT moves mdev with gain 1/32, so
 * that a sudden drop in RTT does not raise the RTO (Linux's comment on
 * Eifel).
 */
void tt_tcp_rtt_sample(struct tt_conn *c, uint64_t r)
{
    if (!c->rtt_valid || r < c->min_rtt)
        c->min_rtt = r;
    if (!c->rtt_valid || c->srtt == 0) { /* Linux: an SRTT of 0 is no estimate yet */
        c->srtt = r;
        c->mdev = 2 * r; /* 4 * r/2 */
        c->mdev_max = c->mdev > TT_RTO_MIN ? c->mdev : TT_RTO_MIN;
        c->rttvar = c->mdev_max;
        c->rtt_round_seq = c->snd_nxt;
        c->rtt_valid = true;
    } else {
        int64_t err = (int64_t)r - (int64_t)c->srtt;
        c->srtt = (uint64_t)((int64_t)c->srtt + err / 8);
        int64_t mdev = (int64_t)c->mdev;
        if (err < 0) {
            err = -err - mdev / 4;
            if (err > 0)
                err /= 8;
        } else {
            err -= mdev / 4;
        }
        mdev += err; /* 4x scale: mdev = 3/4 mdev + 1/4 |err| */
        c->mdev = mdev > 0 ? (uint64_t)mdev : 0;
        if (c->mdev > c->mdev_max) {
            c->mdev_max = c->mdev;
            if (c->mdev_max > c->rttvar)
                c->rttvar = c->mdev_max;
        }
        if (seq_gt(c->snd_una, c->rtt_round_seq)) { /* a round trip is over */
            if (c->mdev_max < c->rttvar)
                c->rttvar -= (c->rttvar - c->mdev_max) / 4;
            c->rtt_round_seq = c->snd_nxt;
            c->mdev_max = TT_RTO_MIN;
        }
    }
    tt_tcp_rto_from_estimate(c);
}

/* Linux __tcp_set_rto(): SRTT + rttvar (already 4 * the deviation, floored
 * at TCP_RTO_MIN), at most TCP_RTO_MAX; also ends a backoff (RFC 6298 5.7). */
void tt_tcp_rto_from_estimate(struct tt_conn *c)
{
    if (!c->rtt_valid)
        return;
    c->rto = clamp_rto(c->srtt + c->rttvar);
}

static bool has_unsent(const struct tt_conn *c)
{
    uint32_t end = tt_tcb_snd_end(c);
    return seq_lt(c->snd_nxt, end);
}

/*
 * The zero-window probe interval: the RTO (at least TCP_RTO_MIN) doubled for
 * each probe sent since the window closed, at most TCP_RTO_MAX (Linux
 * tcp_probe0_when()). The RTO itself is left alone: it still estimates the
 * path once the window opens.
 */
static uint64_t probe_interval(const struct tt_conn *c)
{
    uint64_t t = c->rto < TT_RTO_MIN ? TT_RTO_MIN : c->rto;
    for (uint32_t i = 0; i < c->probes_sent && t < TT_RTO_MAX; i++)
        t *= 2;
    return t < TT_RTO_MAX ? t : TT_RTO_MAX;
}

/*
 * The timer while data is outstanding: the RTO, due at rtx_stamp + RTO, or
 * the probe timeout of a tail loss probe in its place (RFC 8985 7.2, Linux
 * tcp_schedule_loss_probe()), never later than the RTO. The PTO starts
 * with the RTO and again after new data went out (Linux reschedules it
 * from tcp_write_xmit()); when probing stops being allowed (recovery
 * began, a probe is out), the RTO takes its place at its own time.
 */
static void arm_rto_or_pto(struct tt_conn *c, bool fresh)
{
    uint64_t now = c->eng->now;
    uint64_t rto_at = c->rtx_stamp + c->rto;
    if (rto_at < now)
        rto_at = now;
    if (tt_tlp_may_arm(c)) {
        if (fresh || c->tlp_new_data) {
            uint64_t pto_at = now + tt_tlp_pto(c);
            c->tlp_armed = true;
            tt_timer_arm(c->eng->wheel, &c->rtx_timer, pto_at < rto_at ? pto_at : rto_at);
        }
    } else if (fresh || c->tlp_armed) {
        c->tlp_armed = false;
        tt_timer_arm(c->eng->wheel, &c->rtx_timer, rto_at);
    }
    c->tlp_new_data = false;
}

/*
 * RFC 6298 5.1-5.3: the timer runs while data is outstanding. With nothing
 * outstanding but data waiting, on a zero window or held by TCP_CORK or
 * MSG_MORE, it runs as the persist timer instead (Linux
 * tcp_check_probe_timer()).
 */
void tt_tcp_rearm_rtx(struct tt_conn *c)
{
    struct timer_wheel *w = c->eng->wheel;
    if (seq_lt(c->snd_una, c->snd_nxt)) {
        if (c->rack_reo_armed && tt_timer_armed(&c->rtx_timer))
            return; /* the reorder timer runs until it fires (tcp_rack.c) */
        c->rack_reo_armed = false;
        bool fresh = c->persist || !tt_timer_armed(&c->rtx_timer);
        c->persist = false;
        if (fresh)
            c->rtx_stamp = c->eng->now; /* what times out was sent (or acked) now */
        arm_rto_or_pto(c, fresh);
        return;
    }
    c->tlp_armed = false;
    c->tlp_new_data = false;
    c->rack_reo_armed = false;
    if (has_unsent(c) && c->state >= TT_STATE_ESTABLISHED) {
        if (!c->persist) { /* the window just closed: a new round of probes */
            c->persist = true;
            c->probes_out = 0;
            c->probes_sent = 0;
            tt_timer_arm(w, &c->rtx_timer, c->eng->now + probe_interval(c));
        } else if (!tt_timer_armed(&c->rtx_timer)) {
            tt_timer_arm(w, &c->rtx_timer, c->eng->now + probe_interval(c));
        }
        return;
    }
    c->persist = false;
    tt_timer_cancel(w, &c->rtx_timer);
}

/* Linux SOCK_DEAD: the app closed its handle and is not waiting in a linger
 * close (Linux orphans the socket only once close() returns). */
static bool is_orphan(const struct tt_conn *c)
{
    return c->orphan && !c->close_cb;
}

/*
 * Linux tcp_orphan_retries(): the configured count; 0 (the default) means 8
 * while the backed-off RTO is below TCP_RTO_MAX ("alive": the connection
 * sent something recently) and none once it is not. 8 retries from a 200 ms
 * RTO take 102.2 s. (Linux also drops to 0 after an ICMP error; tuntcp
 * keeps no soft errors.)
 */
static int orphan_retries(const struct tt_conn *c, bool alive)
{
    int n = c->eng->cfg.tcp_orphan_retries;
    return n == 0 && alive ? 8 : n;
}

/*
 * Linux tcp_model_timeout() from TCP_RTO_MIN: how long `retries`
 * retransmissions and the expiry after them take when the RTO starts at
 * 200 ms and doubles up to 120 s. 15 (tcp_retries2) give 924.6 s, 8 give
 * 102.2 s, 0 gives 200 ms.
 */
static uint64_t retries_duration(int retries)
{
    int doublings = 0; /* the doublings that stay under TCP_RTO_MAX: 9 */
    while ((TT_RTO_MIN << (doublings + 1)) <= TT_RTO_MAX)
        doublings++;
    if (retries <= doublings)
        return ((2ull << retries) - 1) * TT_RTO_MIN;
    return ((2ull << doublings) - 1) * TT_RTO_MIN + (uint64_t)(retries - doublings) * TT_RTO_MAX;
}

/*
 * Linux tcp_write_timeout(). A SYN or SYN-ACK gives up after tcp_syn_retries
 * or tcp_synack_retries timeouts. Anything else gives up by time, as
 * retransmits_timed_out() does: once it has been retransmitted and the time
 * since the timer started is what tcp_retries2 retransmissions would take
 * from a 200 ms RTO (924.6 s), or tcp_orphan_retries for an orphan (102.2 s
 * by default). With a 200 ms RTO that is the same count; with a longer RTO
 * it comes after fewer retransmissions, as in Linux. (Linux counts from the
 * oldest unacknowledged segment's send time, tuntcp from the timer's last
 * start, RFC 6298 5.3: the same unless an ACK of new data came in between.)
 */
static bool rtx_given_up(const struct tt_conn *c)
{
    const tt_config_t *cfg = &c->eng->cfg;
    /* TCP_USER_TIMEOUT replaces the count by a time, in every state (Linux). */
    if (c->user_timeout)
        return c->retries > 0 && c->eng->now - c->rtx_stamp >= c->user_timeout;
    if (c->state == TT_STATE_SYN_SENT)
        return c->retries >= cfg->syn_retries;
    if (c->state == TT_STATE_SYN_RECEIVED)
        return c->retries >= cfg->synack_retries;
    int limit = cfg->retries2;
    if (is_orphan(c))
        limit = orphan_retries(c, c->rto < TT_RTO_MAX);
    return c->retries > 0 && c->eng->now - c->rtx_stamp >= retries_duration(limit);
}

/* Linux tcp_write_err(): ETIMEDOUT to the app (if it still holds the handle)
 * and the connection dropped without a RST, whether orphan or not. */
static void give_up(struct tt_conn *c)
{
    c->eng->stats.TcpExtTCPAbortOnTimeout++;
    if (c->state == TT_STATE_SYN_SENT)
        c->eng->stats.TcpAttemptFails++;
    tt_tcb_close(c, TT_WHY_TIMEOUT, -ETIMEDOUT);
}

/* RFC 5681 3.1 on a timeout (ssthresh: the congestion-control module's,
 * Reno's equation 4 or RFC 9438 4.8), and the data counted lost. */
static void enter_loss(struct tt_conn *c)
{
    c->ssthresh = tt_cc_ssthresh_rto(c);
    c->cwnd = c->mss;
    c->in_loss = true;
    c->in_fast_recovery = false;
    tt_sack_clear(c); /* RFC 2018 8: the receiver may have reneged */
    tt_rack_on_rto(c);
    tt_tlp_end(c);
    c->in_cwr = false;   /* Linux: the Loss state replaces CWR */
    tt_ecn_queue_cwr(c); /* RFC 3168 6.1.2; Linux tcp_enter_loss() */
    c->high_rxt = c->snd_una;
    c->dupacks = 0;
    c->recover = c->snd_nxt - 1; /* RFC 6582 3.2 step 6: the highest sequence number sent */
}

/*
 * Linux tcp_clamp_rto_to_user_timeout(): with TCP_USER_TIMEOUT the next
 * retransmission timeout never goes past it, so that the connection gives
 * up when the user timeout says, not up to 120 s later.
 */
static uint64_t rto_within_user_timeout(const struct tt_conn *c)
{
    uint64_t elapsed = c->eng->now - c->rtx_stamp;

    if (!c->user_timeout)
        return c->rto;
    if (elapsed >= c->user_timeout)
        return 1; /* at once: the next expiry gives up */
    return c->rto < c->user_timeout - elapsed ? c->rto : c->user_timeout - elapsed;
}

static void rtx_timeout(struct tt_conn *c)
{
    tt_engine_t *eng = c->eng;
    if (rtx_given_up(c)) {
        give_up(c);
        return;
    }
    c->retries++;
    eng->stats.TcpExtTCPTimeouts++;
    if (c->state >= TT_STATE_ESTABLISHED)
        enter_loss(c);
    tt_tcp_retransmit_head(c);
    if (tt_localcong_refuses(eng)) {
        /* Linux tcp_retransmit_timer(): the device refused the
         * retransmission; try again after TCP_RESOURCE_PROBE_INTERVAL,
         * the RTO not backed off (tcp_localcong.c). */
        tt_timer_arm(eng->wheel, &c->rtx_timer, eng->now + TT_RESOURCE_PROBE_INTERVAL);
        return;
    }
    c->backoff++;
    c->rto = clamp_rto(c->rto * 2); /* RFC 6298 5.5 */
    tt_timer_arm(eng->wheel, &c->rtx_timer, eng->now + rto_within_user_timeout(c));
}

/*
 * RFC 8985 7.3 (Linux tcp_send_loss_probe()): the PTO expired; one probe
 * goes out and the RTO runs from now. A probe that could not be sent
 * leaves the RTO at its own time.
 */
static void pto_timeout(struct tt_conn *c)
{
    c->tlp_armed = false;
    c->tlp_new_data = false;
    uint64_t now = c->eng->now, at;
    if (tt_tcp_send_loss_probe(c)) {
        c->rtx_stamp = now;
        at = now + rto_within_user_timeout(c);
    } else {
        at = c->rtx_stamp + c->rto > now ? c->rtx_stamp + c->rto : now;
    }
    tt_timer_arm(c->eng->wheel, &c->rtx_timer, at);
}

/*
 * RFC 8985 6.3: the RTX timer runs as RACK's reorder timer until at, never
 * past an RTO from now (Linux inet_csk_reset_xmit_timer()'s max_when).
 */
void tt_tcp_arm_reo(struct tt_conn *c, uint64_t at)
{
    uint64_t rto_at = c->eng->now + c->rto;
    if (!tt_timer_armed(&c->rtx_timer) || c->persist)
        c->rtx_stamp = c->eng->now;
    c->persist = false;
    c->tlp_armed = false;
    c->rack_reo_armed = true;
    tt_timer_arm(c->eng->wheel, &c->rtx_timer, at < rto_at ? at : rto_at);
}

/*
 * The reorder timer fired (Linux tcp_rack_reo_timeout()): lost segments go
 * out again, and the RTO runs from now; if nothing was lost after all, the
 * RTO (or a probe) from its own start.
 */
static void reo_timeout(struct tt_conn *c)
{
    if (tt_rec_reo_timeout(c)) {
        tt_tcp_output(c);
        return;
    }
    arm_rto_or_pto(c, true);
}

/*
 * Linux tcp_probe_timer() and tcp_send_probe0(). RFC 1122 4.2.2.17: a
 * connection whose peer answers the probes stays open indefinitely (any
 * acceptable ACK resets probes_out, tcp_ack.c); it is aborted only once
 * tcp_retries2 probes in a row went unanswered. An orphan is held to
 * tcp_orphan_retries instead, and once its probe interval has reached
 * TCP_RTO_MAX it is dropped after that many probes even if the peer answers
 * them all: nobody will ever take what it holds, and it would pin its memory
 * for as long as the peer likes (with the default, at +324.6 s from a 200 ms
 * RTO; a silent peer, 8 probes and +102.2 s).
 */
static void persist_timeout(struct tt_conn *c)
{
    int max_probes = c->eng->cfg.retries2;
    /* Linux tcp_send_probe0(): with the window open, what waits goes out
     * (the end of a cork, tcp_write_wakeup()) and probing stops. */
    if (c->snd_wnd > 0 && tt_tcp_write_wakeup(c)) {
        c->probes_out = 0;
        c->probes_sent = 0;
        tt_tcp_rearm_rtx(c);
        return;
    }
    /* Linux tcp_probe_timer(): TCP_USER_TIMEOUT counts from the first
     * unanswered probe. */
    if (c->user_timeout && c->probes_out > 0 && c->eng->now - c->probes_stamp >= c->user_timeout) {
        give_up(c);
        return;
    }
    if (is_orphan(c)) {
        bool alive = probe_interval(c) < TT_RTO_MAX; /* the interval just waited */
        max_probes = orphan_retries(c, alive);
        if (!alive && c->probes_sent >= (uint32_t)max_probes) {
            give_up(c);
            return;
        }
    }
    if (c->probes_out >= (uint32_t)max_probes) {
        give_up(c);
        return;
    }
    tt_tcp_send_zero_window_probe(c);
    if (c->probes_out == 0)
        c->probes_stamp = c->eng->now;
    c->probes_out++;
    if (tt_localcong_refuses(c->eng)) {
        /* Linux tcp_send_probe0(): a probe the device refused is tried
         * again without backoff (tcp_localcong.c) */
        tt_timer_arm(c->eng->wheel, &c->rtx_timer, c->eng->now + tt_localcong_probe_interval(c));
        return;
    }
    c->probes_sent++;
    tt_timer_arm(c->eng->wheel, &c->rtx_timer, c->eng->now + probe_interval(c));
}

/* The application cannot tell (Linux's close() returns 0), so the trace
 * says it: the linger time ran out with our FIN not yet acknowledged. */
static void linger_expired(struct tt_conn *c)
{
    tt_event_t ev = {.type = TT_EV_LINGER_EXPIRED, .state = c->state};

    tt_engine_event(c->eng, &ev, &c->t);
}

static void finwait2_timeout(struct tt_conn *c)
{
    /* Linux drops the orphan silently (no RST) when tcp_fin_timeout runs out. */
    c->eng->stats.TcpExtTCPFinWait2Timeout++;
    tt_tcb_close(c, TT_WHY_FIN_TIMEOUT, 0);
}

/* An orphan in FIN_WAIT_2 would wait forever for a FIN that may never come. */
void tt_tcp_arm_finwait2(struct tt_conn *c)
{
    if (c->state == TT_STATE_FIN_WAIT_2 && c->orphan && !tt_timer_armed(&c->finwait2_timer))
        tt_timer_arm(c->eng->wheel, &c->finwait2_timer, c->eng->now + c->eng->cfg.fin_timeout_us);
}

void tt_tcp_timer_fire(struct timer *t)
{
    struct tt_conn *c;
    switch (t->kind) {
    case CT_RTX:
        c = container_of(t, struct tt_conn, rtx_timer);
        if (c->persist)
            persist_timeout(c);
        else if (c->rack_reo_armed)
            reo_timeout(c);
        else if (c->tlp_armed)
            pto_timeout(c);
        else
            rtx_timeout(c);
        break;
    case CT_DELACK:
        c = container_of(t, struct tt_conn, delack_timer);
        c->eng->stats.TcpExtDelayedACKs++;
        tt_tcp_send_ack(c);
        break;
    case CT_FINWAIT2:
        finwait2_timeout(container_of(t, struct tt_conn, finwait2_timer));
        break;
    case CT_PACING: /* Linux tcp_pace_kick(): the departure time came */
        tt_tcp_output(container_of(t, struct tt_conn, pacing_timer));
        break;
    case CT_LINGER:
        /* Linux: close() returns 0 when the linger time is up, with
         * nothing to tell the data was not delivered; the connection
         * goes on as an orphan. */
        c = container_of(t, struct tt_conn, linger_timer);
        linger_expired(c);
        tt_tcb_user_notify_close(c, 0);
        tt_tcp_arm_finwait2(c);
        break;
    default:
        break;
    }
}
