/*
 * The life of a connection (TCB, RFC 9293 3.3.1): creation, state changes
 * (each one an event, docs/contract.md §4), what the application is told
 * (data, EOF and errors, the handshake's result, room to write, the end of
 * a close), and the end of a connection.
 *
 * The application hears nothing while a segment, a timer or one of its own
 * calls is being worked on. What it is owed is noted on the connection (or
 * listener), which joins a queue in the order it first became owed
 * something, and tt_tcb_notify_all() delivers it when the engine call ends
 * (engine.c). So no protocol step ever runs on a connection that a callback
 * closed under it, and each callback sees the connection as the whole
 * segment, timer or call left it, as a Linux application does.
 *
 * A connection ends in one of two ways. If the application still holds its
 * handle, the TCB leaves the tables and timers but stays allocated
 * ("detached") until the application closes it, as a libuv handle must be
 * closed. Otherwise it is released: freed when the engine call ends.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "seq.h"

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* Window scale that lets the whole receive buffer be advertised (RFC 7323 2.2). */
static uint8_t wscale_for(uint32_t rcvbuf)
{
    uint8_t s = 0;
    while (s < 14 && (rcvbuf >> s) > 65535)
        s++;
    return s;
}

/* For a connection whose buffer is rcvbuf: Linux tcp_select_initial_window
 * scales for the larger of the socket's space and tcp_rmem[2] (here the
 * engine's rcvbuf), so a small SO_RCVBUF shrinks the window, not the scale. */
uint8_t tt_tcb_rcv_wscale(const tt_config_t *cfg, uint32_t rcvbuf)
{
    uint32_t space = rcvbuf > cfg->rcvbuf ? rcvbuf : cfg->rcvbuf;
    return cfg->tcp_window_scaling ? wscale_for(space) : 0;
}

/* The MSS we announce: what our MTU carries, at most TCP_MAXSEG (Linux
 * tcp_mss_clamp on the route's advmss). */
uint16_t tt_tcb_advmss(const tt_config_t *cfg, uint16_t user_mss)
{
    uint32_t mss = cfg->mtu - 40;
    return (uint16_t)(user_mss && user_mss < mss ? user_mss : mss);
}

/* Linux's ranges: TCP_MAXSEG in do_tcp_setsockopt; the buffers as the config's. */
int tt_tcb_opts_check(const tt_conn_opts_t *o)
{
    if (!o)
        return 0;
    if (o->maxseg && (o->maxseg < TT_USER_MSS_MIN || o->maxseg > TT_USER_MSS_MAX))
        return -EINVAL;
    if (o->rcvbuf && (o->rcvbuf < 1024 || o->rcvbuf > (1u << 30)))
        return -EINVAL;
    return 0;
}

/*
 * Linux sk_sndbuf: bytes SO_SNDBUF fixed, else the engine's --sndbuf, free
 * to grow with cwnd (tcp_sndmem.c). The ring holds payload only, and a
 * write may pass sk_sndbuf by up to one skb (64 KB): the ring may grow that
 * much above sk_sndbuf (tt_tcb_sndbuf_grew()).
 */
void tt_tcb_set_sndbuf(struct tt_conn *c, uint32_t bytes)
{
    c->snd_sndbuf = bytes ? bytes : c->eng->cfg.sndbuf;
    c->sndbuf_locked = bytes != 0;
    if (c->sndbuf.cap == 0)
        tt_ring_init(&c->sndbuf, 0);
    c->sndbuf.cap = 0;
    tt_tcb_sndbuf_grew(c);
}

/* A write of len bytes into an empty send ring without storage: a buffer
 * from the engine's spares when one ring buffer holds it (spare.c). */
void tt_tcb_sndbuf_prepare(struct tt_conn *c, uint32_t len)
{
    struct ring *r = &c->sndbuf;
    if (r->buf || len > RING_MIN_ALLOC || r->cap < RING_MIN_ALLOC)
        return;
    tt_ring_adopt(r, tt_spare_take(c->eng, TT_SPARE_RING, RING_MIN_ALLOC), RING_MIN_ALLOC);
}

/* The send ring is empty, all of it acknowledged. A first-size buffer
 * stays with the connection for its next write: a request/response
 * connection would otherwise give it to the spares and take it back at
 * every answer (issue 15). So that an engine with many idle connections
 * does not hold a buffer for each, its connections keep at most
 * TT_SPARE_KEPT_MAX bytes so; beyond, an idle connection holds no buffer. */
void tt_tcb_sndbuf_emptied(struct tt_conn *c)
{
    struct tt_spares *s = &c->eng->spares;
    if (c->sndbuf.alloc == RING_MIN_ALLOC &&
        (c->sndbuf_kept || s->kept + RING_MIN_ALLOC <= TT_SPARE_KEPT_MAX)) {
        if (!c->sndbuf_kept)
            s->kept += RING_MIN_ALLOC;
        c->sndbuf_kept = true;
        return;
    }
    tt_tcb_sndbuf_release(c);
}

/* The send ring gives its storage up: one of the first size waits in the
 * spares for the next write. */
void tt_tcb_sndbuf_release(struct tt_conn *c)
{
    if (c->sndbuf_kept)
        c->eng->spares.kept -= RING_MIN_ALLOC;
    c->sndbuf_kept = false;
    uint32_t size;
    uint8_t *b = tt_ring_detach(&c->sndbuf, &size);
    if (size == RING_MIN_ALLOC)
        tt_spare_give(c->eng, TT_SPARE_RING, b, size);
    else
        free(b);
}

/* sk_sndbuf changed: the ring's limit follows, never below what it holds. */
void tt_tcb_sndbuf_grew(struct tt_conn *c)
{
    uint32_t cap = c->snd_sndbuf > UINT32_MAX - 65536 ? UINT32_MAX : c->snd_sndbuf + 65536;
    c->sndbuf.cap = cap > c->sndbuf.len ? cap : c->sndbuf.len;
}

/* What the application fixed before the handshake (tt_conn_opts_t); before
 * the SYN or SYN-ACK goes out and the peer's options are taken. */
void tt_tcb_apply_opts(struct tt_conn *c, const tt_conn_opts_t *o)
{
    if (!o)
        return;
    const tt_config_t *cfg = &c->eng->cfg;
    if (o->sndbuf)
        tt_tcb_set_sndbuf(c, o->sndbuf);
    if (o->rcvbuf) {
        c->rcvbuf.cap = o->rcvbuf;
        c->rcv_wnd = o->rcvbuf;
    }
    c->rcv_wscale = tt_tcb_rcv_wscale(cfg, c->rcvbuf.cap);
    c->user_mss = o->maxseg;
    c->advmss = tt_tcb_advmss(cfg, c->user_mss);
    c->tos = o->tos & (uint8_t)~TT_TOS_ECN_MASK;
}

struct tt_conn *tt_tcb_new(tt_engine_t *eng, const struct tuple *t, uint32_t hash)
{
    struct tt_conn *c = tt_spare_take(eng, TT_SPARE_TCB, sizeof(*c));
    if (c)
        memset(c, 0, sizeof(*c));
    if (!c) {
        eng->stats.TtNoBufs++;
        return NULL;
    }
    c->eng = eng;
    c->t = *t;
    c->h.kind = HNODE_CONN;
    c->pending.kind = TT_PENDING_CONN;
    c->h.hash = hash;
    c->state = TT_STATE_CLOSED;
    tt_tcb_set_sndbuf(c, 0);
    tt_ring_init(&c->rcvbuf, eng->cfg.rcvbuf);
    c->rcv_wnd = eng->cfg.rcvbuf;
    c->rcv_wscale = tt_tcb_rcv_wscale(&eng->cfg, eng->cfg.rcvbuf);
    c->advmss = tt_tcb_advmss(&eng->cfg, 0);
    c->mss = TT_MSS_DEFAULT;
    c->quickacks = TT_QUICKACKS;
    c->rto = TT_RTO_INIT;
    c->ssthresh = UINT32_MAX;
    c->reordering = TT_DUPACK_THRESH; /* Linux net.ipv4.tcp_reordering */
    c->reo_wnd_steps = 1;             /* RFC 8985 6.2: RACK.reo_wnd_mult */
    tt_cc_init(c);
    c->ts_offset = ts_offset_of(c->h.hash);
    timer_init(&c->rtx_timer, CT_RTX);
    timer_init(&c->delack_timer, CT_DELACK);
    timer_init(&c->finwait2_timer, CT_FINWAIT2);
    timer_init(&c->linger_timer, CT_LINGER);
    timer_init(&c->keepalive_timer, CT_KEEPALIVE);
    timer_init(&c->pacing_timer, CT_PACING);
    c->pacing = eng->cfg.tcp_pacing != 0; /* Linux: sk_pacing_status set by fq */
    tt_conn_table_insert(&eng->table, &c->h);
    tt_conn_recent_put(eng, c); /* the handshake's next segments find it */
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
    if (to == TT_STATE_ESTABLISHED) {
        c->rcv_stamp = c->eng->now;
        /* Linux tcp_finish_connect() and tcp_create_openreq_child() start
         * lrcvtime, tcpi_last_data_recv's origin, at the handshake. */
        c->last_data_recv = c->eng->now;
        tt_rcvmss_init(c);
        /* Linux tcp_finish_connect(): keep-alive asked for before the
         * connection was up starts counting now. */
        if (c->ka_on)
            tt_timer_arm(c->eng->wheel, &c->keepalive_timer,
                         c->eng->now + tt_tcp_keepalive_time(c));
    }
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
    tt_timer_cancel(w, &c->keepalive_timer);
    tt_timer_cancel(w, &c->pacing_timer);
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

/* Frees the TCB at the end of the engine call (tt_tcb_free()). */
void tt_tcb_release(struct tt_conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    c->free_next = c->eng->to_free;
    c->eng->to_free = c;
}

/* The memory of a TCB, once no engine call can still be using it. */
void tt_tcb_free(struct tt_conn *c)
{
    tt_engine_t *eng = c->eng;
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        eng->all_conns = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    tt_engine_ooo_free_list(c->ooo);
    tt_tcb_sndbuf_release(c);
    tt_ring_free(&c->rcvbuf);
    tt_rack_free(c);
    tt_txstamp_free(c);
    tt_skb_free(c);
    tt_spare_give(eng, TT_SPARE_TCB, c, sizeof(*c));
}

/* The TCB leaves the tables and timers; the handle, if held, stays. Work
 * that waited for the application's callbacks has nothing left to do. */
static void tcb_unlink(struct tt_conn *c)
{
    tcb_cancel_timers(c);
    listener_unlink(c);
    tt_conn_recent_drop(c->eng, c);
    tt_conn_table_remove(&c->eng->table, &c->h);
    c->eng->nconns--;
    tt_tcb_ooo_free(c);
    c->after = 0;
    c->ack_due = false;
    c->detached = true;
}

/* ---- what the application is owed, delivered when the engine call ends ---- */

static void pending_add(tt_engine_t *eng, struct tt_pending *p)
{
    if (p->queued)
        return;
    p->queued = true;
    p->next = NULL;
    if (eng->pending_tail)
        eng->pending_tail->next = p;
    else
        eng->pending_head = p;
    eng->pending_tail = p;
}

static void notify(struct tt_conn *c, uint8_t what)
{
    c->notify |= what;
    pending_add(c->eng, &c->pending);
}

/* The handshake's result for connect_cb, which is called once. */
static void notify_connect(struct tt_conn *c, int status)
{
    if (status < 0) { /* the trace's connect_fail (docs/contract.md §4.2) */
        tt_event_t ev = {.type = TT_EV_CONNECT_FAIL, .err = status};
        tt_engine_event(c->eng, &ev, &c->t);
    }
    c->connect_due = c->connect_cb;
    c->connect_cb = NULL;
    c->connect_status = status;
    notify(c, TT_NOTIFY_CONNECT);
}

/* Data, EOF or an error for read_cb, or only a look at the receive buffer. */
void tt_tcb_notify_read(struct tt_conn *c)
{
    notify(c, TT_NOTIFY_READ);
}

/* Room in the send buffer for a writer that was refused some; whether the
 * low-water mark lets it write is asked at the delivery, after what this
 * engine call sent (Linux tcp_check_space() follows tcp_data_snd_check()). */
void tt_tcb_notify_writable(struct tt_conn *c)
{
    notify(c, TT_NOTIFY_WRITABLE);
}

/* A close is over for the application: cb(status), then the handle is gone. */
void tt_tcb_notify_closed(struct tt_conn *c, tt_close_cb cb, int status)
{
    if (!cb)
        return;
    c->close_due = cb;
    c->close_status = status;
    notify(c, TT_NOTIFY_CLOSE);
}

/* Work that must wait until the application has heard: engine.c runs it
 * after the callbacks (TT_AFTER_*). */
void tt_tcb_after(struct tt_conn *c, uint8_t work)
{
    tt_engine_t *eng = c->eng;
    c->after |= work;
    if (c->after_queued)
        return;
    c->after_queued = true;
    c->after_next = NULL;
    if (eng->after_tail)
        eng->after_tail->after_next = c;
    else
        eng->after_head = c;
    eng->after_tail = c;
}

struct tt_conn *tt_tcb_after_next(tt_engine_t *eng)
{
    struct tt_conn *c = eng->after_head;
    if (!c)
        return NULL;
    eng->after_head = c->after_next;
    if (!eng->after_head)
        eng->after_tail = NULL;
    c->after_queued = false;
    return c;
}

/*
 * The TCB leaves the engine. If the application holds the handle it stays
 * as a detached shell (err, when not 0, is reported on it: -ECONNRESET,
 * -ETIMEDOUT, -ECONNREFUSED); otherwise it is released.
 */
void tt_tcb_end(struct tt_conn *c, int err)
{
    assert(!c->detached);
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
        c->err_pending = 0;
        notify_connect(c, err ? err : -ECONNABORTED);
        return;
    }
    if (c->orphan) {
        /* A linger close under way: the connection is over, which is what
         * close waited for (Linux's close() returns 0 then too). */
        tt_tcb_user_notify_close(c, 0);
        return;
    }
    tt_tcb_notify_read(c);
}

/* The connection is over: CLOSED with its reason (docs/contract.md §4), then tt_tcb_end(). */
void tt_tcb_close(struct tt_conn *c, tt_close_reason_t why, int err)
{
    assert(!c->detached);
    tt_event_t ev = {.type = TT_EV_STATE, .from = c->state, .to = TT_STATE_CLOSED, .why = why};
    c->state = TT_STATE_CLOSED;
    tt_engine_event(c->eng, &ev, &c->t);
    tt_tcb_end(c, err);
}

/* Linger: the close callback of an application that asked to wait. From
 * now on the connection is an orphan like any other (tcp_timer.c). */
void tt_tcb_user_notify_close(struct tt_conn *c, int status)
{
    if (!c->close_cb)
        return;
    tt_close_cb cb = c->close_cb;
    c->close_cb = NULL;
    tt_timer_cancel(c->eng->wheel, &c->linger_timer);
    tt_tcb_notify_closed(c, cb, status);
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

/*
 * In-order data for the application: to read_cb, as one call at the end of
 * the engine call, when it reads and nothing is waiting in the receive
 * buffer (the bytes are staged: they take no buffer space, as if read
 * already); else into the receive buffer.
 */
void tt_tcb_deliver(struct tt_conn *c, const uint8_t *data, uint32_t len)
{
    if (len == 0)
        return;
    if (c->reading && c->rcvbuf.len == 0 && c->read_cb && !c->orphan) {
        /* In a batch only (one engine call per datagram keeps one read per
         * segment); never while the callbacks run: the one they were handed
         * stays as it is. */
        if (c->staged_tail && c->eng->batching > 0 && !c->eng->ending &&
            tt_engine_stage_grow(c->eng, c->staged_tail, data, len))
            return;
        struct tt_staged *s = tt_engine_stage_ref(c->eng, data, len);
        if (s) {
            if (c->staged_tail)
                c->staged_tail->next = s;
            else
                c->staged = s;
            c->staged_tail = s;
            tt_tcb_notify_read(c);
            return;
        }
        tt_tcb_notify_read(c); /* no memory to stage them: they go through the buffer */
    }
    tt_ring_write(&c->rcvbuf, data, len);
}

/*
 * Staged bytes go to read_cb while the application reads. Those it no
 * longer reads wait in the receive buffer, as they would have had they
 * come after it stopped; after a close nobody reads them.
 */
static void deliver_staged(struct tt_conn *c)
{
    struct tt_staged *s;
    while ((s = c->staged) != NULL) {
        c->staged = s->next;
        if (!c->staged)
            c->staged_tail = NULL;
        if (c->orphan)
            continue;
        if (c->reading && c->read_cb && c->rcvbuf.len == 0)
            c->read_cb(c, s->bytes, (ssize_t)s->len);
        else
            tt_ring_write(&c->rcvbuf, s->bytes, s->len);
    }
}

/* Delivers buffered data, then a pending EOF or error, while the app reads. */
static void deliver_buffered(struct tt_conn *c)
{
    while (c->reading && c->read_cb && c->rcvbuf.len > 0) {
        const uint8_t *p;
        uint32_t n = tt_ring_head_span(&c->rcvbuf, &p);
        uint8_t tmp[4096];
        if (n > sizeof(tmp))
            n = sizeof(tmp);
        memcpy(tmp, p, n); /* the callback may close and free the ring */
        tt_ring_consume(&c->rcvbuf, n);
        c->read_cb(c, tmp, n);
    }
    if (!c->reading || !c->read_cb || c->rcvbuf.len > 0)
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

/* Every callback a connection is owed, in a fixed order: the handshake's
 * result, room to write, data (then EOF or an error), the end of a close.
 * A closed handle hears nothing more but the close. */
static void deliver_conn(struct tt_conn *c)
{
    while (c->notify) {
        if (c->notify & TT_NOTIFY_CONNECT) {
            c->notify &= (uint8_t)~TT_NOTIFY_CONNECT;
            if (!c->orphan)
                c->connect_due(c, c->connect_status);
        } else if (c->notify & TT_NOTIFY_WRITABLE) {
            c->notify &= (uint8_t)~TT_NOTIFY_WRITABLE;
            /* Linux sk_stream_write_space(): wake only below half the
             * TCP_NOTSENT_LOWAT mark; otherwise the writer waits on. */
            if (c->writable_cb && !c->orphan && tt_lowat_memory_free(c, 1)) {
                c->writable_wanted = false;
                c->writable_cb(c);
            }
        } else if (c->notify & TT_NOTIFY_READ) {
            c->notify &= (uint8_t)~TT_NOTIFY_READ;
            deliver_staged(c);
            deliver_buffered(c);
        } else {
            c->notify &= (uint8_t)~TT_NOTIFY_CLOSE;
            c->close_due(c, c->close_status);
            if (c->detached) /* the handle was all that was left */
                tt_tcb_release(c);
        }
    }
}

/* One connection callback for each connection that became ready, until
 * the application closes the listener. */
static void deliver_listener(struct tt_listener *l)
{
    while (l->notify > 0 && !l->closed) {
        l->notify--;
        l->cb(l, 0);
    }
}

/*
 * Delivers every callback owed, the objects in the order they first became
 * owed one. Callbacks may call the engine: what those calls cause is
 * delivered by the same loop.
 */
void tt_tcb_notify_all(tt_engine_t *eng)
{
    struct tt_pending *p;
    while ((p = eng->pending_head) != NULL) {
        eng->pending_head = p->next;
        if (!eng->pending_head)
            eng->pending_tail = NULL;
        if (p->kind == TT_PENDING_CONN)
            deliver_conn(container_of(p, struct tt_conn, pending));
        else
            deliver_listener(container_of(p, struct tt_listener, pending));
        p->queued = false;
    }
}

/* A connection reached ESTABLISHED: hand it to its listener or connecter. */
void tt_tcb_established(struct tt_conn *c)
{
    tt_engine_t *eng = c->eng;
    tt_cc_init(c); /* again, as Linux's tcp_init_transfer(): HyStart's first round from SND.NXT */
    if (c->connect_cb) {
        notify_connect(c, 0);
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
    if (l->cb) {
        l->notify++;
        pending_add(eng, &l->pending);
    }
}

/* The end of a record (MSG_EOR) at end; when TT_EOR_MAX record ends are
 * kept (unsent or unacknowledged), the newest record grows to take this
 * write too. */
void tt_tcb_eor_mark(struct tt_conn *c, uint32_t end)
{
    if (c->eor_count == TT_EOR_MAX) {
        c->eor_seq[(c->eor_head + c->eor_count - 1) % TT_EOR_MAX] = end;
        return;
    }
    c->eor_seq[(c->eor_head + c->eor_count) % TT_EOR_MAX] = end;
    c->eor_count++;
}

/* Forgets the record ends that SND.UNA has passed. Until then an end
 * bounds retransmissions as well as new segments: Linux keeps the EOR mark
 * on its skb until the skb is acknowledged, and never joins two skbs
 * across it when it sends them again (tcp_skb_can_collapse()). */
void tt_tcb_eor_drop_acked(struct tt_conn *c)
{
    while (c->eor_count > 0 && seq_leq(c->eor_seq[c->eor_head], c->snd_una)) {
        c->eor_head = (uint8_t)((c->eor_head + 1) % TT_EOR_MAX);
        c->eor_count--;
    }
}

/* The first record end beyond seq, if any: where a segment starting at seq
 * must stop. */
bool tt_tcb_eor_after(const struct tt_conn *c, uint32_t seq, uint32_t *end)
{
    for (unsigned i = 0; i < c->eor_count; i++) {
        uint32_t e = c->eor_seq[(c->eor_head + i) % TT_EOR_MAX];
        if (seq_gt(e, seq)) {
            *end = e;
            return true;
        }
    }
    return false;
}

void tt_tcb_init_send_seq(struct tt_conn *c, uint32_t iss)
{
    c->iss = iss;
    c->snd_una = iss;
    c->snd_nxt = iss + 1;
    c->snd_buf_seq = iss + 1;
    c->rtx_nxt = iss + 1;
    c->snd_sml = iss + 1;         /* no partial segment sent yet, nor any mark */
    c->skbs.pushed_seq = iss + 1; /* Linux: pushed_seq = write_seq */
    c->recover = iss;
    c->last_seg_seq = iss + 1;
}

/*
 * SND.MSS (RFC 9293 3.7.1): the peer's MSS option, or 536 without one; an
 * option of 0 is ignored, as Linux ignores it. TCP_MAXSEG caps it (Linux
 * mss_clamp: the least of the peer's MSS and user_mss). A tiny one is
 * raised to 48 (Linux tcp_min_snd_mss), but our own MTU bounds it last:
 * the stack sets DF and never fragments, so no datagram may outgrow the
 * MTU (RFC 791; 68 leaves 28 bytes).
 */
static uint32_t snd_mss(const struct tt_conn *c, const struct seg *seg)
{
    uint32_t peer = seg->opt.mss_ok && seg->opt.mss ? seg->opt.mss : TT_MSS_DEFAULT;
    if (c->user_mss && c->user_mss < peer)
        peer = c->user_mss;
    if (peer < TT_MSS_MIN)
        peer = TT_MSS_MIN;
    uint32_t ours = c->eng->cfg.mtu - 40;
    return peer < ours ? peer : ours;
}

/* Options of the peer's SYN: what both sides agreed to (RFC 7323, 2018). */
void tt_tcb_syn_options(struct tt_conn *c, const struct seg *seg)
{
    const tt_config_t *cfg = &c->eng->cfg;
    c->mss = (uint16_t)snd_mss(c, seg);
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
