/*
 * The LISTEN state (RFC 9293 3.10.7.2): a SYN makes a new connection in
 * SYN_RECEIVED, or, when the listener's half-open queue is full, a
 * stateless SYN-ACK carrying a SYN cookie (RFC 4987 3.6, syncookie.c); an
 * ACK that returns a valid cookie makes the connection then, or is dropped
 * while the accept queue is full. Anything else with ACK gets a RST.
 *
 * Queue limits follow Linux: a SYN is dropped while the accept queue
 * (established, not yet accepted) is full; the half-open queue holds as
 * many as the backlog before cookies take over (tcp_syncookies=1), or
 * tcp_max_syn_backlog without them.
 */
#include "engine.h"
#include "ipv4.h"

static bool syn_queue_full(const tt_engine_t *eng, const struct tt_listener *l)
{
    if (eng->cfg.tcp_syncookies)
        return l->half_open >= l->backlog;
    return (uint32_t)l->half_open >= eng->cfg.tcp_max_syn_backlog;
}

/* A SYN-ACK from no TCB: everything the handshake needs is in the ISN (and,
 * with timestamps, in TSval). Options the cookie cannot carry are left out. */
static void send_cookie_synack(tt_engine_t *eng, const struct tt_listener *l, const struct seg *syn,
                               uint32_t hash)
{
    const tt_config_t *cfg = &eng->cfg;
    uint32_t rcvbuf = l->opts.rcvbuf ? l->opts.rcvbuf : cfg->rcvbuf;
    struct seg s = {0};
    s.saddr = syn->daddr;
    s.daddr = syn->saddr;
    s.sport = syn->dport;
    s.dport = syn->sport;
    s.seq = tt_syncookie_isn(eng, syn);
    s.ack = syn->seq + 1;
    s.flags = TCP_SYN | TCP_ACK;
    s.tos = l->opts.tos & (uint8_t)~TT_TOS_ECN_MASK;
    s.wnd = (uint16_t)(rcvbuf > 65535 ? 65535 : rcvbuf);
    s.opt.mss_ok = true;
    s.opt.mss = tt_tcb_advmss(cfg, l->opts.maxseg);
    if (syn->opt.ts_ok && cfg->tcp_timestamps) {
        uint32_t ts_now = tt_engine_ms(eng) + ts_offset_of(hash);
        s.opt.ts_ok = true;
        s.opt.ts_val = tt_syncookie_tsval(eng, syn, ts_now);
        s.opt.ts_ecr = syn->opt.ts_val;
        s.opt.ws_ok = syn->opt.ws_ok && cfg->tcp_window_scaling;
        s.opt.ws = tt_tcb_rcv_wscale(cfg, rcvbuf);
        s.opt.sack_ok = syn->opt.sack_ok && cfg->tcp_sack;
        if (tt_ecn_syn_asks(eng, syn)) /* RFC 3168 6.1.1; TSval carries it */
            s.flags |= TCP_ECE;
    }
    eng->stats.TcpExtSyncookiesSent++;
    tt_tcp_send_raw(eng, &s, TT_STATE_LISTEN);
}

static struct tt_conn *new_passive_conn(tt_engine_t *eng, struct tt_listener *l,
                                        const struct seg *seg, uint32_t hash)
{
    struct tuple t;
    tt_tuple_of_seg(seg, &t);
    struct tt_conn *c = tt_tcb_new(eng, &t, hash);
    if (!c)
        return NULL;
    c->listener = l;
    tt_tcb_apply_opts(c, &l->opts);
    l->half_open++;
    c->state = TT_STATE_LISTEN;
    return c;
}

/* The peer's SYN to a listener: a new connection in SYN_RECEIVED. */
void tt_tcp_listen_syn(tt_engine_t *eng, struct tt_listener *l, const struct seg *seg,
                       uint32_t hash, bool has_iss, uint32_t iss)
{
    if (l->ready >= l->backlog) {
        eng->stats.TcpExtListenOverflows++;
        eng->stats.TcpExtListenDrops++;
        return;
    }
    if (syn_queue_full(eng, l)) {
        if (eng->cfg.tcp_syncookies) {
            l->last_cookie = eng->now;
            l->cookies_sent = true;
            send_cookie_synack(eng, l, seg, hash);
        } else {
            eng->stats.TcpExtListenDrops++;
        }
        return;
    }
    struct tt_conn *c = new_passive_conn(eng, l, seg, hash);
    if (!c)
        return;
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    tt_tcb_init_send_seq(c, has_iss ? iss : tt_isn_generate(eng, hash));
    tt_tcb_syn_options(c, seg);
    c->ecn_flags = tt_ecn_syn_asks(eng, seg) ? TT_ECN_OK : 0; /* RFC 3168 6.1.1 */
    c->snd_wnd = seg->wnd; /* RFC 7323 2.2: a SYN's window is never scaled */
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = c->iss;
    tt_tcb_set_state(c, TT_STATE_SYN_RECEIVED);
    tt_tcp_send_syn(c);
    tt_tcp_rearm_rtx(c);
}

/* Cookies are only looked for while the listener has been sending them
 * (Linux: tcp_synq_no_recent_overflow), so a stray ACK still meets a RST. */
static bool cookies_recent(const tt_engine_t *eng, const struct tt_listener *l)
{
    return eng->cfg.tcp_syncookies && l->cookies_sent && eng->now - l->last_cookie < 128 * SEC;
}

/* The ACK of a cookie SYN-ACK: the connection as the SYN would have made it. */
static struct tt_conn *cookie_conn(tt_engine_t *eng, struct tt_listener *l, const struct seg *seg,
                                   uint32_t hash, const struct syncookie *sc)
{
    struct tt_conn *c = new_passive_conn(eng, l, seg, hash);
    if (!c)
        return NULL;
    struct seg syn = *seg;
    syn.opt.mss_ok = true;
    syn.opt.mss = sc->mss;
    syn.opt.ws_ok = sc->ws_ok;
    syn.opt.ws = sc->ws;
    syn.opt.sack_ok = sc->sack_ok;
    syn.opt.ts_ok = sc->ts_ok;
    c->irs = seg->seq - 1;
    c->rcv_nxt = seg->seq;
    c->rcv_adv = c->rcv_nxt + (c->rcvbuf.cap > 65535 ? 65535 : c->rcvbuf.cap);
    tt_tcb_init_send_seq(c, seg->ack - 1);
    tt_tcb_syn_options(c, &syn);
    c->ecn_flags = sc->ecn_ok ? TT_ECN_OK : 0;
    c->retries = 1; /* the SYN-ACK's send time is unknown: no RTT sample */
    c->snd_wl1 = seg->seq;
    tt_tcb_set_state(c, TT_STATE_SYN_RECEIVED);
    return c;
}

/* Returns the connection a valid cookie made, for the caller to process
 * the segment on (RFC 9293 3.10.7.2: then as in SYN_RECEIVED). */
static struct tt_conn *listen_ack(tt_engine_t *eng, struct tt_listener *l, struct seg *seg,
                                  uint32_t hash)
{
    struct syncookie sc;
    if (!cookies_recent(eng, l) || (seg->flags & TCP_SYN)) {
        tt_tcp_reset_noconn(eng, seg, TT_STATE_LISTEN, "listen_ack");
        return NULL;
    }
    if (!tt_syncookie_check(eng, seg, &sc)) {
        eng->stats.TcpExtSyncookiesFailed++;
        tt_tcp_reset_noconn(eng, seg, TT_STATE_LISTEN, "bad_cookie");
        return NULL;
    }
    eng->stats.TcpExtSyncookiesRecv++;
    if (l->ready >= l->backlog) {
        /* Linux tcp_v4_syn_recv_sock(): with the accept queue full the
         * valid cookie is dropped without a word, as an ordinary handshake's
         * ACK is (tcp_ack.c). The peer believes it is connected: a RST would
         * kill it, while its next segment still carries the cookie. */
        eng->stats.TcpExtListenOverflows++;
        eng->stats.TcpExtListenDrops++;
        return NULL;
    }
    return cookie_conn(eng, l, seg, hash, &sc);
}

/* RFC 9293 3.10.7.2. Returns the connection a SYN cookie's ACK made (the
 * caller goes on with the segment there), or NULL. */
struct tt_conn *tt_tcp_listen_input(tt_engine_t *eng, struct tt_listener *l, struct seg *seg,
                                    uint32_t hash)
{
    if (seg->flags & TCP_RST)
        return NULL;
    if (seg->flags & TCP_ACK)
        return listen_ack(eng, l, seg, hash);
    if ((seg->flags & TCP_SYN) && !(seg->flags & TCP_FIN))
        tt_tcp_listen_syn(eng, l, seg, hash, false, 0);
    return NULL;
}
