/*
 * The life of a connection (TCB, RFC 9293 3.3.1): creation, state changes
 * (each one an event, docs/contract.md §4), delivery of data and errors to the
 * application, and the end of a connection.
 *
 * A connection ends in one of two ways. If the application still holds its
 * handle, the TCB leaves the tables and timers but stays allocated
 * ("detached") until the application closes it, as a libuv handle must be
 * closed. Otherwise it is released: marked dead and freed when the engine
 * call returns (engine.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "seq.h"

/* Window scale that lets the whole receive buffer be advertised (RFC 7323 2.2). */
static uint8_t wscale_for(uint32_t rcvbuf)
{
    uint8_t s = 0;
    while (s < 14 && (rcvbuf >> s) > 65535)
        s++;
    return s;
}

uint8_t tt_tcb_rcv_wscale(const tt_config_t *cfg)
{
    return cfg->tcp_window_scaling ? wscale_for(cfg->rcvbuf) : 0;
}

struct tt_conn *tt_tcb_new(tt_engine_t *eng, const struct tuple *t)
{
    struct tt_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        eng->stats.TtNoBufs++;
        return NULL;
    }
    c->eng = eng;
    c->t = *t;
    c->h.kind = HNODE_CONN;
    c->h.hash = tt_tuple_hash(eng, t);
    c->state = TT_STATE_CLOSED;
    tt_ring_init(&c->sndbuf, eng->cfg.sndbuf);
    tt_ring_init(&c->rcvbuf, eng->cfg.rcvbuf);
    c->rcv_wnd = eng->cfg.rcvbuf;
    c->rcv_wscale = tt_tcb_rcv_wscale(&eng->cfg);
    c->mss = TT_MSS_DEFAULT;
    c->quickacks = TT_QUICKACKS;
    c->rto = TT_RTO_INIT;
    c->ssthresh = UINT32_MAX;
    c->ts_offset = ts_offset_of(c->h.hash);
    timer_init(&c->rtx_timer, CT_RTX);
    timer_init(&c->delack_timer, CT_DELACK);
    timer_init(&c->finwait2_timer, CT_FINWAIT2);
    timer_init(&c->linger_timer, CT_LINGER);
    tt_conn_table_insert(&eng->table, &c->h);
    eng->nconns++;
    c->all_next = eng->all_conns;
    if (eng->all_conns)
        eng->all_conns->all_prev = c;
    eng->all_conns = c;
    return c;
}

void tt_tcb_set_state(struct tt_conn *c, tt_state_t to)
{
    if (c->state == to)
        return;
    tt_event_t ev = {.type = TT_EV_STATE, .from = c->state, .to = to};
    c->state = to;
    tt_engine_event(c->eng, &ev, &c->t);
}

bool tt_tcb_gone(const struct tt_conn *c)
{
    return c->detached || c->dead;
}

/* First sequence number after everything queued (data and FIN). */
uint32_t tt_tcb_snd_end(const struct tt_conn *c)
{
    return c->snd_buf_seq + c->sndbuf.len + (c->fin_queued ? 1 : 0);
}

static void tcb_cancel_timers(struct tt_conn *c)
{
    struct timer_wheel *w = c->eng->wheel;
    tt_timer_cancel(w, &c->rtx_timer);
    tt_timer_cancel(w, &c->delack_timer);
    tt_timer_cancel(w, &c->finwait2_timer);
    tt_timer_cancel(w, &c->linger_timer);
}

void tt_tcb_ooo_free(struct tt_conn *c)
{
    while (c->ooo) {
        struct ooo_seg *o = c->ooo;
        c->ooo = o->next;
        tt_engine_ooo_release(c->eng, o);
    }
    c->ooo_bytes = 0;
}

static void listener_unlink(struct tt_conn *c)
{
    struct tt_listener *l = c->listener;
    if (!l)
        return;
    c->listener = NULL;
    if (!c->in_ready_queue) {
        l->half_open--;
        return;
    }
    c->in_ready_queue = false;
    l->ready--;
    struct tt_conn **pp = &l->ready_head;
    struct tt_conn *prev = NULL;
    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->accept_next;
    }
    if (*pp)
        *pp = c->accept_next;
    if (l->ready_tail == c)
        l->ready_tail = prev;
}

/* Frees the TCB at the end of the engine call. */
void tt_tcb_release(struct tt_conn *c)
{
    if (!c->dead) {
        c->dead = true;
        c->zombie_next = c->eng->zombies;
        c->eng->zombies = c;
    }
}

/* The TCB leaves the tables and timers; the handle, if held, stays. */
static void tcb_unlink(struct tt_conn *c)
{
    if (c->detached)
        return;
    tcb_cancel_timers(c);
    listener_unlink(c);
    if (c->eng->last_conn == c)
        c->eng->last_conn = NULL;
    tt_conn_table_remove(&c->eng->table, &c->h);
    c->eng->nconns--;
    tt_tcb_ooo_free(c);
    c->detached = true;
}

/*
 * The TCB leaves the engine. If the application holds the handle it stays
 * as a detached shell (err, when not 0, is reported on it: -ECONNRESET,
 * -ETIMEDOUT, -ECONNREFUSED); otherwise it is released.
 */
void tt_tcb_end(struct tt_conn *c, int err)
{
    if (c->detached)
        return;
    bool had_handle = c->accepted && (!c->orphan || c->close_cb);
    tcb_unlink(c);
    if (!had_handle) {
        tt_tcb_release(c);
        return;
    }
    if (err) {
        tt_ring_free(&c->rcvbuf);
        c->eof_pending = false;
        c->err_pending = err;
    }
    if (c->connect_cb) {
        tt_connect_cb cb = c->connect_cb;
        c->connect_cb = NULL;
        c->err_pending = 0;
        cb(c, err ? err : -ECONNABORTED);
        return;
    }
    if (c->orphan) {
        /* A linger close under way: the connection is over, which is what
         * close waited for (Linux's close() returns 0 then too). */
        tt_tcb_user_notify_close(c, 0);
        return;
    }
    tt_tcb_deliver_pending(c);
}

/* The connection is over: CLOSED with its reason (docs/contract.md §4), then tt_tcb_end(). */
void tt_tcb_close(struct tt_conn *c, tt_close_reason_t why, int err)
{
    if (c->detached)
        return;
    tt_event_t ev = {.type = TT_EV_STATE, .from = c->state, .to = TT_STATE_CLOSED, .why = why};
    c->state = TT_STATE_CLOSED;
    tt_engine_event(c->eng, &ev, &c->t);
    tt_tcb_end(c, err);
}

/* Linger: the close callback of an application that asked to wait. */
void tt_tcb_user_notify_close(struct tt_conn *c, int status)
{
    if (!c->close_cb)
        return;
    tt_close_cb cb = c->close_cb;
    c->close_cb = NULL;
    tt_timer_cancel(c->eng->wheel, &c->linger_timer);
    cb(c, status);
    if (c->detached)
        tt_tcb_release(c);
}

/* Recomputes RCV.WND from the free buffer space (never shrinking the edge). */
void tt_tcb_update_rcv_wnd(struct tt_conn *c)
{
    uint32_t space = ring_space(&c->rcvbuf);
    uint32_t edge = c->rcv_nxt + space;
    if (seq_lt(edge, c->rcv_adv))
        space = c->rcv_adv - c->rcv_nxt; /* RFC 9293 3.8.6.2.2: do not shrink */
    c->rcv_wnd = space;
}

/* In-order data for the application: straight to read_cb when it reads and
 * nothing is waiting, else into the receive buffer. */
void tt_tcb_deliver(struct tt_conn *c, const uint8_t *data, uint32_t len)
{
    if (len == 0)
        return;
    if (c->reading && c->rcvbuf.len == 0 && c->read_cb && !c->orphan) {
        c->read_cb(c, data, len);
        return;
    }
    tt_ring_write(&c->rcvbuf, data, len);
}

/* Delivers buffered data, then a pending EOF or error, while the app reads. */
void tt_tcb_deliver_pending(struct tt_conn *c)
{
    while (c->reading && c->read_cb && c->rcvbuf.len > 0 && !c->dead) {
        const uint8_t *p;
        uint32_t n = tt_ring_head_span(&c->rcvbuf, &p);
        uint8_t tmp[4096];
        if (n > sizeof(tmp))
            n = sizeof(tmp);
        memcpy(tmp, p, n); /* the callback may close and free the ring */
        tt_ring_consume(&c->rcvbuf, n);
        c->read_cb(c, tmp, n);
    }
    if (!c->reading || !c->read_cb || c->dead || c->rcvbuf.len > 0)
        return;
    tt_ring_free(&c->rcvbuf); /* drained: an idle connection holds no buffer */
    if (c->err_pending) {
        int err = c->err_pending;
        c->err_pending = 0;
        c->eof_pending = false;
        c->read_cb(c, NULL, err);
    } else if (c->eof_pending) {
        c->eof_pending = false;
        c->read_cb(c, NULL, TT_EOF);
    }
}

/* A connection reached ESTABLISHED: hand it to its listener or connecter. */
void tt_tcb_established(struct tt_conn *c)
{
    tt_engine_t *eng = c->eng;
    if (c->connect_cb) {
        tt_connect_cb cb = c->connect_cb;
        c->connect_cb = NULL;
        cb(c, 0);
        return;
    }
    struct tt_listener *l = c->listener;
    if (!l)
        return;
    c->accept_next = NULL;
    c->in_ready_queue = true;
    l->half_open--;
    l->ready++;
    if (l->ready_tail)
        l->ready_tail->accept_next = c;
    else
        l->ready_head = c;
    l->ready_tail = c;
    eng->stats.TcpPassiveOpens++;
    if (l->cb)
        l->cb(l, 0);
}

void tt_tcb_init_send_seq(struct tt_conn *c, uint32_t iss)
{
    c->iss = iss;
    c->snd_una = iss;
    c->snd_nxt = iss + 1;
    c->snd_buf_seq = iss + 1;
    c->rtx_nxt = iss + 1;
    c->recover = iss;
}

/*
 * SND.MSS (RFC 9293 3.7.1): the peer's MSS option, or 536 without one; an
 * option of 0 is ignored, as Linux ignores it. A tiny one is raised to 48
 * (Linux tcp_min_snd_mss), but our own MTU bounds it last: the stack sets
 * DF and never fragments, so no datagram may outgrow the MTU (RFC 791;
 * 68 leaves 28 bytes).
 */
static uint32_t snd_mss(const tt_config_t *cfg, const struct seg *seg)
{
    uint32_t peer = seg->opt.mss_ok && seg->opt.mss ? seg->opt.mss : TT_MSS_DEFAULT;
    if (peer < TT_MSS_MIN)
        peer = TT_MSS_MIN;
    uint32_t ours = cfg->mtu - 40;
    return peer < ours ? peer : ours;
}

/* Options of the peer's SYN: what both sides agreed to (RFC 7323, 2018). */
void tt_tcb_syn_options(struct tt_conn *c, const struct seg *seg)
{
    const tt_config_t *cfg = &c->eng->cfg;
    c->mss = (uint16_t)snd_mss(cfg, seg);
    c->ws_on = cfg->tcp_window_scaling && seg->opt.ws_ok;
    c->snd_wscale = c->ws_on ? seg->opt.ws : 0;
    if (!c->ws_on)
        c->rcv_wscale = 0;
    c->sack_ok = cfg->tcp_sack && seg->opt.sack_ok;
    c->ts_on = cfg->tcp_timestamps && seg->opt.ts_ok;
    if (c->ts_on) {
        c->ts_recent = seg->opt.ts_val;
        c->ts_recent_stamp = c->eng->now;
        c->mss -= 12; /* RFC 7323 4.1: the option rides on every segment */
    }
    c->cwnd = TT_INIT_CWND * c->mss;
}
