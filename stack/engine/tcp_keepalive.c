/*
 * SO_KEEPALIVE, as Linux's tcp_keepalive_timer() does it (RFC 1122
 * 4.2.3.6): a connection that has heard nothing from its peer for the idle
 * time, and has nothing of its own outstanding, sends a probe, an ACK whose
 * sequence number is one below SND.UNA, which any live peer must answer
 * with an ACK (RFC 9293 3.10.7.4: an unacceptable segment draws one). The
 * probes repeat every interval; an answer resets the count (tcp_ack.c); after
 * the count of unanswered probes, or with TCP_USER_TIMEOUT once the silence
 * has lasted that long, the connection is reset and reports -ETIMEDOUT
 * (docs/contract.md §2.6 item 11).
 *
 * The timer is not moved by traffic: when it fires it measures the silence
 * since the last acceptable ACK (rcv_stamp) and sleeps the rest of the idle
 * time, as Linux does.
 */
#include <errno.h>

#include "engine.h"
#include "seq.h"

static uint64_t keepalive_intvl(const struct tt_conn *c)
{
    return c->ka_intvl_s ? (uint64_t)c->ka_intvl_s * SEC : c->eng->cfg.keepalive_intvl_us;
}

static uint32_t keepalive_probes(const struct tt_conn *c)
{
    return c->ka_cnt ? c->ka_cnt : (uint32_t)c->eng->cfg.keepalive_probes;
}

/* Linux tcp_keepalive_timer(): the peer is presumed gone. A RST tells it,
 * in case it is only deaf; then the application hears ETIMEDOUT. */
static void keepalive_abort(struct tt_conn *c)
{
    tt_engine_t *eng = c->eng;
    tt_event_t ev = {.type = TT_EV_RST_OUT, .rst_why = "keepalive"};

    tt_tcp_send_ctl(c, TCP_RST | TCP_ACK, c->snd_nxt);
    tt_engine_event(eng, &ev, &c->t);
    if (c->state == TT_STATE_ESTABLISHED || c->state == TT_STATE_CLOSE_WAIT)
        eng->stats.TcpEstabResets++;
    eng->stats.TcpExtTCPAbortOnTimeout++;
    tt_tcb_close(c, TT_WHY_TIMEOUT, -ETIMEDOUT);
}

/* Out of probes: by count, or by time with TCP_USER_TIMEOUT (Linux). */
static bool keepalive_given_up(const struct tt_conn *c, uint64_t silent)
{
    if (c->user_timeout)
        return silent >= c->user_timeout && c->probes_out > 0;
    return c->probes_out >= keepalive_probes(c);
}

static bool keepalive_applies(const struct tt_conn *c)
{
    if (!c->ka_on || c->state < TT_STATE_ESTABLISHED || c->state == TT_STATE_TIME_WAIT)
        return false;
    /* An orphan in FIN_WAIT_2 has tcp_fin_timeout instead (Linux). */
    return !(c->state == TT_STATE_FIN_WAIT_2 && c->orphan);
}

void tt_tcp_keepalive_fire(struct tt_conn *c)
{
    tt_engine_t *eng = c->eng;
    uint64_t next = tt_tcp_keepalive_time(c);

    if (!keepalive_applies(c))
        return;
    /* Data in flight or waiting: the retransmission or probe timer watches
     * the peer; look again after a whole idle time. */
    bool busy = c->snd_nxt != c->snd_una || seq_lt(c->snd_nxt, tt_tcb_snd_end(c));
    if (!busy) {
        uint64_t silent = eng->now - c->rcv_stamp;
        if (silent < next) {
            next -= silent;
        } else if (keepalive_given_up(c, silent)) {
            keepalive_abort(c);
            return;
        } else if (tt_localcong_refuses(eng)) {
            /* Linux tcp_keepalive_timer(): a probe the device refused is
             * not counted and is tried again sooner (tcp_localcong.c) */
            next = TT_RESOURCE_PROBE_INTERVAL;
        } else {
            if (c->probes_out == 0)
                c->probes_stamp = eng->now;
            tt_tcp_send_zero_window_probe(c); /* the same segment: SEQ = SND.UNA - 1 */
            eng->stats.TcpExtTCPKeepAlive++;
            c->probes_out++;
            next = keepalive_intvl(c);
        }
    }
    tt_timer_arm(eng->wheel, &c->keepalive_timer, eng->now + next);
}
