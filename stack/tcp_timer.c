/*
 * Connection timers: retransmission (RFC 6298), zero-window probes
 * (RFC 9293 3.8.6.1), delayed ACK (RFC 9293 3.8.6.3), the FIN_WAIT_2
 * timeout of orphans (Linux tcp_fin_timeout) and SO_LINGER's timeout.
 *
 * Retry limits follow Linux: tcp_syn_retries for SYN, tcp_synack_retries
 * for SYN-ACK, tcp_retries2 for everything else, counted as consecutive
 * timeouts of the same segment with the RTO doubling each time.
 */
#include <errno.h>
#include <stddef.h>

#include "engine.h"
#include "seq.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

static uint64_t clamp_rto(uint64_t rto)
{
    if (rto < TT_RTO_MIN)
        return TT_RTO_MIN;
    return rto > TT_RTO_MAX ? TT_RTO_MAX : rto;
}

/* RFC 6298 2.2 and 2.3, with the usual gains alpha = 1/8 and beta = 1/4. */
void tcp_rtt_sample(struct tt_conn *c, uint64_t r)
{
    if (!c->rtt_valid) {
        c->srtt = r;
        c->rttvar = r / 2;
        c->rtt_valid = true;
    } else {
        uint64_t diff = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + diff) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    tcp_rto_from_estimate(c);
}

/* RFC 6298 2.3: RTO = SRTT + max(G, 4 * RTTVAR); also ends a backoff (5.7). */
void tcp_rto_from_estimate(struct tt_conn *c)
{
    if (!c->rtt_valid)
        return;
    uint64_t k = 4 * c->rttvar;
    c->rto = clamp_rto(c->srtt + (k > 1000 ? k : 1000)); /* G: 1 ms clock */
}

static bool has_unsent(const struct tt_conn *c)
{
    uint32_t end = tcb_snd_end(c);
    return seq_lt(c->snd_nxt, end);
}

/*
 * RFC 6298 5.1-5.3: the timer runs while data is outstanding. With nothing
 * outstanding but data waiting on a zero window, it runs as the persist
 * timer instead.
 */
void tcp_rearm_rtx(struct tt_conn *c)
{
    struct timer_wheel *w = c->eng->wheel;
    if (seq_lt(c->snd_una, c->snd_nxt)) {
        if (c->persist || !timer_armed(&c->rtx_timer)) {
            c->persist = false;
            timer_arm(w, &c->rtx_timer, c->eng->now + c->rto);
        }
        return;
    }
    if (c->snd_wnd == 0 && has_unsent(c) && c->state >= TT_STATE_ESTABLISHED) {
        if (!c->persist || !timer_armed(&c->rtx_timer)) {
            c->persist = true;
            timer_arm(w, &c->rtx_timer, c->eng->now + c->rto);
        }
        return;
    }
    c->persist = false;
    timer_cancel(w, &c->rtx_timer);
}

static int retry_limit(const struct tt_conn *c)
{
    const tt_config_t *cfg = &c->eng->cfg;
    if (c->state == TT_STATE_SYN_SENT)
        return cfg->syn_retries;
    if (c->state == TT_STATE_SYN_RECEIVED)
        return cfg->synack_retries;
    return cfg->retries2;
}

/* RFC 5681 3.1 (equation 4) on a timeout, and the data counted lost. */
static void enter_loss(struct tt_conn *c)
{
    uint32_t flight = c->snd_nxt - c->snd_una;
    uint32_t half = flight / 2;
    c->ssthresh = half > 2u * c->mss ? half : 2u * c->mss;
    c->cwnd = c->mss;
    c->in_loss = true;
    c->in_fast_recovery = false;
    sack_clear(c); /* RFC 2018 8: the receiver may have reneged */
    c->high_rxt = c->snd_una;
    c->dupacks = 0;
    c->recover = c->snd_nxt - 1; /* RFC 6582 3.2 step 6: the highest sequence number sent */
}

static void rtx_timeout(struct tt_conn *c)
{
    tt_engine_t *eng = c->eng;
    if (++c->retries > retry_limit(c)) {
        eng->stats.TcpExtTCPAbortOnTimeout++;
        if (c->state == TT_STATE_SYN_SENT)
            eng->stats.TcpAttemptFails++;
        tcb_close(c, TT_WHY_TIMEOUT, -ETIMEDOUT);
        return;
    }
    eng->stats.TcpExtTCPTimeouts++;
    if (c->state >= TT_STATE_ESTABLISHED)
        enter_loss(c);
    tcp_retransmit_head(c);
    c->rto = clamp_rto(c->rto * 2); /* RFC 6298 5.5 */
    timer_arm(eng->wheel, &c->rtx_timer, eng->now + c->rto);
}

static void persist_timeout(struct tt_conn *c)
{
    tcp_send_zero_window_probe(c);
    c->rto = clamp_rto(c->rto * 2);
    timer_arm(c->eng->wheel, &c->rtx_timer, c->eng->now + c->rto);
}

static void finwait2_timeout(struct tt_conn *c)
{
    /* Linux drops the orphan silently (no RST) when tcp_fin_timeout runs out. */
    c->eng->stats.TcpExtTCPFinWait2Timeout++;
    tcb_close(c, TT_WHY_FIN_TIMEOUT, 0);
}

/* An orphan in FIN_WAIT_2 would wait forever for a FIN that may never come. */
void tcp_arm_finwait2(struct tt_conn *c)
{
    if (c->state == TT_STATE_FIN_WAIT_2 && c->orphan && !timer_armed(&c->finwait2_timer))
        timer_arm(c->eng->wheel, &c->finwait2_timer, c->eng->now + c->eng->cfg.fin_timeout_us);
}

void tcp_timer_fire(struct timer *t)
{
    struct tt_conn *c;
    switch (t->kind) {
    case CT_RTX:
        c = container_of(t, struct tt_conn, rtx_timer);
        if (c->persist)
            persist_timeout(c);
        else
            rtx_timeout(c);
        break;
    case CT_DELACK:
        c = container_of(t, struct tt_conn, delack_timer);
        c->eng->stats.TcpExtDelayedACKs++;
        tcp_send_ack(c);
        break;
    case CT_FINWAIT2:
        finwait2_timeout(container_of(t, struct tt_conn, finwait2_timer));
        break;
    case CT_LINGER:
        /* Linux: close() returns when the linger time is up; the
         * connection goes on as an orphan. */
        c = container_of(t, struct tt_conn, linger_timer);
        tcb_user_notify_close(c, -ETIMEDOUT);
        tcp_arm_finwait2(c);
        break;
    default:
        break;
    }
}
