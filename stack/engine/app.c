/*
 * The application's calls (RFC 9293 3.10.1-3.10.6: OPEN, SEND, RECEIVE,
 * CLOSE, ABORT) in libuv's manner: listeners, connect, read_start, write,
 * shutdown, close, close_reset and SO_LINGER.
 *
 * Each call is an engine entry point: it runs at the engine's current time.
 * The callbacks it causes, the packets it sends and the memory it frees are
 * handed out when it returns (or, for a call made from a callback, when the
 * engine call that ran the callback does: engine.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "engine.h"
#include "seq.h"

int tt_listen(tt_engine_t *eng, uint16_t port, int backlog, tt_connection_cb cb,
              tt_listener_t **listener)
{
    if (port == 0 || backlog < 1)
        return -EINVAL;
    if (tt_listener_find(eng, port))
        return -EADDRINUSE;
    struct tt_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->eng = eng;
    l->port = port;
    l->backlog = backlog;
    l->cb = cb;
    l->pending.kind = TT_PENDING_LISTENER;
    l->next = eng->listeners;
    eng->listeners = l;
    *listener = l;
    return 0;
}

int tt_accept(tt_listener_t *l, tt_conn_t **conn)
{
    struct tt_conn *c = l->ready_head;
    if (!c)
        return -EAGAIN;
    l->ready_head = c->accept_next;
    if (!l->ready_head)
        l->ready_tail = NULL;
    l->ready--;
    c->in_ready_queue = false;
    c->listener = NULL;
    c->accept_next = NULL;
    c->accepted = true;
    *conn = c;
    return 0;
}

/* Connections not yet accepted are reset, as a closing Linux listener does.
 * The listener is freed when the engine call ends: a callback of its own
 * may be what closes it. */
void tt_listener_close(tt_listener_t *l)
{
    tt_engine_t *eng = l->eng;
    tt_engine_enter(eng);
    for (size_t i = 0; i < eng->table.nbuckets; i++) {
        struct hnode *n = eng->table.buckets[i];
        while (n) {
            struct hnode *next = n->next;
            struct tt_conn *c = (struct tt_conn *)n;
            if (n->kind == HNODE_CONN && c->listener == l) {
                tt_tcp_send_ctl(c, TCP_RST | TCP_ACK, c->snd_nxt);
                tt_tcb_close(c, TT_WHY_RST_OUT, 0);
            }
            n = next;
        }
    }
    struct tt_listener **pp = &eng->listeners;
    while (*pp != l)
        pp = &(*pp)->next;
    *pp = l->next;
    l->closed = true;
    l->next = eng->closed_listeners;
    eng->closed_listeners = l;
    tt_engine_leave(eng);
}

int tt_listener_set_opts(tt_listener_t *l, const tt_conn_opts_t *opts)
{
    int err = tt_tcb_opts_check(opts);
    if (err)
        return err;
    tt_conn_opts_t none = {0};
    l->opts = opts ? *opts : none;
    return 0;
}

void tt_listener_set_data(tt_listener_t *l, void *data)
{
    l->data = data;
}

void *tt_listener_get_data(const tt_listener_t *l)
{
    return l->data;
}

/* tt_connect() refused: an event for the trace (docs/contract.md §4.2 connect_fail). */
static int connect_failed(tt_engine_t *eng, const struct tuple *t, int err)
{
    tt_event_t ev = {.type = TT_EV_CONNECT_FAIL, .err = err};
    struct tuple at = *t;
    at.lport = 0; /* no port was taken */
    tt_engine_event(eng, &ev, &at);
    return err;
}

int tt_connect(tt_engine_t *eng, uint32_t raddr, uint16_t rport, tt_connect_cb cb, tt_conn_t **conn)
{
    return tt_connect_opts(eng, raddr, rport, NULL, cb, conn);
}

int tt_connect_opts(tt_engine_t *eng, uint32_t raddr, uint16_t rport, const tt_conn_opts_t *opts,
                    tt_connect_cb cb, tt_conn_t **conn)
{
    struct tuple t = {.laddr = eng->cfg.addr, .raddr = raddr, .rport = rport};
    if (rport == 0 || tt_tcb_opts_check(opts))
        return connect_failed(eng, &t, -EINVAL);
    tw_id reuse = 0;
    int err = tt_port_select(eng, &t, &reuse);
    if (err)
        return connect_failed(eng, &t, err);
    tt_engine_enter(eng);
    uint32_t hash = tt_tuple_hash(eng, &t);
    uint32_t iss = tt_isn_generate(eng, hash);
    if (reuse) { /* tcp_tw_reuse: beyond all the old incarnation sent (Linux) */
        iss = tw_at(&eng->tw, reuse)->snd_nxt + 65535 + 2;
        eng->stats.TcpExtTWRecycled++;
        tt_timewait_remove(eng, reuse, TT_WHY_TIMEWAIT_REUSED);
    }
    struct tt_conn *c = tt_tcb_new(eng, &t, hash);
    if (!c) {
        tt_engine_leave(eng);
        return connect_failed(eng, &t, -ENOMEM);
    }
    c->accepted = true;
    c->connect_cb = cb;
    tt_tcb_apply_opts(c, opts);
    tt_tcb_init_send_seq(c, iss);
    tt_tcb_set_state(c, TT_STATE_SYN_SENT);
    eng->stats.TcpActiveOpens++;
    tt_tcp_send_syn(c);
    tt_tcp_rearm_rtx(c);
    *conn = c;
    tt_engine_leave(eng);
    return 0;
}

int tt_conn_read_start(tt_conn_t *c, tt_read_cb cb)
{
    if (c->orphan)
        return -EINVAL;
    c->reading = true;
    c->read_cb = cb;
    tt_engine_enter(c->eng);
    tt_tcb_notify_read(c);
    if (c->rcvbuf.len > 0 && !c->detached) /* reading frees space the peer should hear of */
        tt_tcb_after(c, TT_AFTER_READ);
    tt_engine_leave(c->eng);
    return 0;
}

int tt_conn_read_stop(tt_conn_t *c)
{
    c->reading = false;
    return 0;
}

static int write_error(const struct tt_conn *c)
{
    if (c->orphan || c->wr_shut)
        return -EPIPE;
    if (c->detached)
        return c->err_pending ? c->err_pending : -EPIPE;
    switch (c->state) {
    case TT_STATE_SYN_SENT:
    case TT_STATE_SYN_RECEIVED:
    case TT_STATE_ESTABLISHED:
    case TT_STATE_CLOSE_WAIT:
        return 0;
    default:
        return -ENOTCONN;
    }
}

ssize_t tt_conn_write(tt_conn_t *c, const void *buf, size_t len)
{
    return tt_conn_write_flags(c, buf, len, 0);
}

/*
 * Queues up to len bytes as Linux's tcp_sendmsg_locked() does, skb by skb
 * (tcp_skb.c): the open tail skb fills up to size_goal, then a new one. A
 * full skb with more to come is sent at once when it is the first unsent
 * one (tcp_push_one(): one packet), or with everything that may go when a
 * forced push marked it (forced_push(), TCP_NAGLE_PUSH); those sends cut
 * the skb where their packet ends, and the write goes on filling the rest.
 * Returns the bytes queued.
 */
static uint32_t queue_write(struct tt_conn *c, const uint8_t *buf, uint32_t len)
{
    uint32_t n = 0;
    tt_tcb_sndbuf_prepare(c, len);
    while (n < len && tt_sndmem_may_queue(c)) { /* sk_sndbuf: tcp_sndmem.c */
        uint32_t room = tt_skb_room(c);
        uint32_t k = tt_ring_write(&c->sndbuf, buf + n, room < len - n ? room : len - n);
        if (k == 0)
            break;
        bool full = tt_skb_add(c, k, n == 0);
        n += k;
        if (!full || n == len)
            continue;
        if (tt_skb_forced_push(c))
            tt_tcp_push(c, TT_PUSH_FORCE);
        else if (tt_skb_tail_is_send_head(c))
            tt_tcp_push(c, TT_PUSH_ONE);
    }
    return n;
}

ssize_t tt_conn_write_flags(tt_conn_t *c, const void *buf, size_t len, int flags)
{
    if (!buf && len > 0)
        return -EFAULT; /* as Linux's copy from a bad user buffer; nothing queued */
    if (flags & ~(TT_WRITE_MORE | TT_WRITE_EOR))
        return -EINVAL;
    int err = write_error(c);
    if (err)
        return err;
    uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint32_t allowed = tt_lowat_write_len(c, want); /* TCP_NOTSENT_LOWAT */
    tt_engine_enter(c->eng);
    uint32_t nxt = c->snd_nxt;
    if (allowed > 0)
        tt_cc_restart_after_idle(c); /* Linux tcp_skb_entail() */
    uint32_t n = queue_write(c, buf, allowed);
    if (n == 0 && allowed > 0 && ring_space(&c->sndbuf) > 0 && tt_sndmem_may_queue(c)) {
        tt_engine_leave(c->eng);
        return -ENOMEM;
    }
    if (n < want) {
        c->writable_wanted = true;
        c->nospace = true; /* Linux tcp_sendmsg_locked(): SOCK_NOSPACE */
    }
    if (n > 0) {
        tt_skb_write_end(c, flags); /* Linux tcp_push(): PSH unless MSG_MORE */
        if (flags & TT_WRITE_EOR)
            tt_tcb_eor_mark(c, c->snd_buf_seq + c->sndbuf.len); /* no segment crosses it */
        tt_chrono_start(c, TT_CHRONO_BUSY); /* Linux tcp_add_write_queue_tail() */
    }
    /* Linux tcp_push(): MSG_MORE holds a partial tail, as a cork would. */
    tt_tcp_push(c, (flags & TT_WRITE_MORE) ? TT_PUSH_HOLD : TT_PUSH_DEFAULT);
    if (c->snd_nxt != nxt)
        tt_sndmem_sent(c);
    tt_engine_leave(c->eng);
    return n;
}

/* Sends what the new setting lets go, as Linux's setsockopt does. */
static void push_now(struct tt_conn *c, enum tt_push how)
{
    tt_engine_enter(c->eng);
    tt_tcp_push(c, how);
    tt_engine_leave(c->eng);
}

/* TCP_NODELAY: on, Nagle no longer holds partial segments, and what it
 * held goes out at once (Linux __tcp_sock_set_nodelay(): TCP_NAGLE_PUSH). */
int tt_conn_set_nodelay(tt_conn_t *c, int on)
{
    if (c->detached)
        return -ENOTCONN;
    c->nodelay = on != 0;
    if (c->nodelay)
        push_now(c, TT_PUSH_FORCE);
    return 0;
}

/* TCP_CORK: while on, partial segments wait; off, what waits goes as Nagle
 * allows, or at once with TCP_NODELAY (Linux __tcp_sock_set_cork()). */
int tt_conn_set_cork(tt_conn_t *c, int on)
{
    if (c->detached)
        return -ENOTCONN;
    c->cork = on != 0;
    if (!c->cork)
        push_now(c, c->nodelay ? TT_PUSH_FORCE : TT_PUSH_DEFAULT);
    return 0;
}

/* Linux SO_SNDBUF per connection: sk_sndbuf from now on, fixed (no
 * growth with cwnd, SOCK_SNDBUF_LOCK); 0 restores the engine's --sndbuf,
 * free to grow again. */
int tt_conn_set_sndbuf(tt_conn_t *c, uint32_t bytes)
{
    tt_tcb_set_sndbuf(c, bytes);
    return 0;
}

bool tt_conn_poll_writable(tt_conn_t *c)
{
    if (tt_sndmem_writable(c))
        return true;
    c->nospace = true; /* Linux tcp_poll(): SOCK_NOSPACE */
    return false;
}

/* IP_TOS: the ECN bits stay clear, they are not the application's (RFC
 * 3168 6.1.1 gives them to the transport; Linux keeps TCP's own). */
int tt_conn_set_tos(tt_conn_t *c, uint8_t tos)
{
    c->tos = tos & (uint8_t)~TT_TOS_ECN_MASK;
    return 0;
}

void tt_conn_set_writable_cb(tt_conn_t *c, tt_writable_cb cb)
{
    c->writable_cb = cb;
}

/* Linux do_tcp_setsockopt(TCP_NOTSENT_LOWAT): the new mark, then
 * sk_write_space(): a writer it makes writable is woken. */
int tt_conn_set_notsent_lowat(tt_conn_t *c, uint32_t bytes)
{
    c->notsent_lowat = bytes;
    if (c->writable_wanted && c->writable_cb && !c->orphan && tt_lowat_memory_free(c, 1)) {
        tt_engine_enter(c->eng);
        tt_tcb_notify_writable(c);
        tt_engine_leave(c->eng);
    }
    return 0;
}

uint32_t tt_conn_get_notsent_lowat(const tt_conn_t *c)
{
    return c->notsent_lowat;
}

bool tt_conn_notsent_writable(const tt_conn_t *c)
{
    return tt_lowat_memory_free(c, 1);
}

/* RFC 9293 3.10.4: queue a FIN after the data; ESTABLISHED -> FIN_WAIT_1,
 * CLOSE_WAIT -> LAST_ACK. */
static void queue_fin(struct tt_conn *c)
{
    if (c->wr_shut)
        return;
    c->wr_shut = true;
    c->fin_queued = true;
    /* RFC 9293 3.10.4: in SYN_RECEIVED the FIN waits for ESTABLISHED (our
     * SYN is not acknowledged yet); tcp_ack.c moves on to FIN_WAIT_1 then. */
    if (c->state == TT_STATE_SYN_RECEIVED)
        return;
    if (c->state == TT_STATE_CLOSE_WAIT)
        tt_tcb_set_state(c, TT_STATE_LAST_ACK);
    else
        tt_tcb_set_state(c, TT_STATE_FIN_WAIT_1);
    tt_tcp_output(c);
}

int tt_conn_shutdown(tt_conn_t *c)
{
    if (c->detached || c->orphan)
        return -ENOTCONN;
    if (c->wr_shut)
        return 0;
    switch (c->state) {
    case TT_STATE_SYN_RECEIVED:
    case TT_STATE_ESTABLISHED:
    case TT_STATE_CLOSE_WAIT:
        tt_engine_enter(c->eng);
        queue_fin(c);
        tt_engine_leave(c->eng);
        return 0;
    default:
        return -ENOTCONN;
    }
}

/* Linux tcp_set_keepalive(): turning it on arms the timer for a whole idle
 * time from now; before the connection is up, from when it comes up. */
int tt_conn_set_keepalive(tt_conn_t *c, int on, unsigned idle_s, unsigned intvl_s, unsigned cnt)
{
    if (idle_s > 32767 || intvl_s > 32767 || cnt > 127) /* MAX_TCP_KEEPIDLE, _KEEPINTVL, _KEEPCNT */
        return -EINVAL;
    c->ka_idle_s = idle_s;
    c->ka_intvl_s = intvl_s;
    c->ka_cnt = (uint8_t)cnt;
    c->ka_on = on != 0;
    if (!c->ka_on)
        tt_timer_cancel(c->eng->wheel, &c->keepalive_timer);
    else if (c->state >= TT_STATE_ESTABLISHED && c->state != TT_STATE_TIME_WAIT)
        tt_timer_arm(c->eng->wheel, &c->keepalive_timer, c->eng->now + tt_tcp_keepalive_time(c));
    return 0;
}

int tt_conn_set_user_timeout(tt_conn_t *c, unsigned ms)
{
    if (ms > INT_MAX)
        return -EINVAL;
    c->user_timeout = (uint64_t)ms * MS;
    return 0;
}

int tt_conn_set_linger(tt_conn_t *c, int on, unsigned seconds)
{
    c->linger_on = on != 0;
    c->linger_s = seconds;
    return 0;
}

/* Linux tcp_need_reset(): the states whose peer must be told by a RST. */
static bool needs_reset(tt_state_t s)
{
    return s == TT_STATE_ESTABLISHED || s == TT_STATE_CLOSE_WAIT || s == TT_STATE_FIN_WAIT_1 ||
           s == TT_STATE_FIN_WAIT_2 || s == TT_STATE_SYN_RECEIVED;
}

/*
 * Linux tcp_disconnect(): CLOSING and LAST_ACK are reset too when part of
 * what the application queued, data or FIN, never left (SND.NXT short of
 * the end of the queue): the peer would otherwise wait for it in vain
 * (RFC 2525 2.17). With everything sent the peer lacks nothing, and the
 * connection goes without a segment, as on Linux.
 */
static bool abort_needs_reset(const struct tt_conn *c)
{
    if (needs_reset(c->state))
        return true;
    bool closing = c->state == TT_STATE_CLOSING || c->state == TT_STATE_LAST_ACK;
    return closing && seq_lt(c->snd_nxt, tt_tcb_snd_end(c));
}

/* A RST with seq = SND.NXT and ack = RCV.NXT ends the connection at once:
 * queued data thrown away, no TIME_WAIT (RFC 9293 3.10.5 ABORT). */
static void reset_conn(struct tt_conn *c, const char *why)
{
    tt_engine_t *eng = c->eng;
    tt_tcp_send_ctl(c, TCP_RST | TCP_ACK, c->snd_nxt);
    tt_event_t ev = {.type = TT_EV_RST_OUT, .rst_why = why};
    tt_engine_event(eng, &ev, &c->t);
    if (c->state == TT_STATE_ESTABLISHED || c->state == TT_STATE_CLOSE_WAIT)
        eng->stats.TcpEstabResets++;
    tt_tcb_close(c, TT_WHY_RST_OUT, 0);
}

/* ABORT as SO_LINGER {on, 0} does it in Linux (tcp_disconnect()). */
static void abort_conn(struct tt_conn *c)
{
    if (abort_needs_reset(c))
        reset_conn(c, "linger0");
    else
        tt_tcb_close(c, TT_WHY_APP_CLOSE, 0);
}

static void orphan(struct tt_conn *c)
{
    c->orphan = true;
    c->reading = false;
    c->read_cb = NULL;
    c->writable_cb = NULL;
    c->connect_cb = NULL;
}

/* RFC 9293 3.10.4 CLOSE: a FIN after the queued data. With SO_LINGER
 * {on, N} the close callback waits for that FIN's ACK, N seconds at most. */
static void close_graceful(struct tt_conn *c, tt_close_cb cb)
{
    if (c->state == TT_STATE_SYN_SENT) {
        tt_tcb_close(c, TT_WHY_APP_CLOSE, 0);
    } else if (c->state == TT_STATE_SYN_RECEIVED || c->state == TT_STATE_ESTABLISHED ||
               c->state == TT_STATE_CLOSE_WAIT) {
        queue_fin(c);
    }
    bool fin_acked = c->detached || c->state == TT_STATE_FIN_WAIT_2;
    if (c->linger_on && !fin_acked && cb) {
        c->close_cb = cb;
        tt_timer_arm(c->eng->wheel, &c->linger_timer, c->eng->now + (uint64_t)c->linger_s * SEC);
        return;
    }
    tt_tcp_arm_finwait2(c);
    tt_tcb_notify_closed(c, cb, 0);
}

static int close_with(struct tt_conn *c, tt_close_cb cb, bool reset)
{
    tt_engine_t *eng = c->eng;
    tt_engine_enter(eng);
    orphan(c);
    if (c->detached) {
        tt_tcb_release(c);
    } else if (c->rcvbuf.len > 0 || c->ooo || c->staged) {
        /* RFC 2525 2.17, as Linux tcp_close() in every state (LAST_ACK and
         * CLOSING too), and before it looks at SO_LINGER: unread data means
         * the peer's bytes were lost; say so with a RST rather than a FIN.
         * Staged bytes not yet handed to read_cb are unread too. */
        eng->stats.TcpExtTCPAbortOnClose++;
        reset_conn(c, "unread_data");
    } else if (reset) {
        eng->stats.TcpExtTCPAbortOnLinger++;
        abort_conn(c);
    } else {
        close_graceful(c, cb);
        tt_engine_leave(eng);
        return 0;
    }
    tt_tcb_notify_closed(c, cb, 0);
    tt_engine_leave(eng);
    return 0;
}

int tt_conn_close(tt_conn_t *c, tt_close_cb cb)
{
    return close_with(c, cb, c->linger_on && c->linger_s == 0);
}

int tt_conn_close_reset(tt_conn_t *c, tt_close_cb cb)
{
    return close_with(c, cb, true);
}

void tt_conn_set_data(tt_conn_t *c, void *data)
{
    c->data = data;
}

void *tt_conn_get_data(const tt_conn_t *c)
{
    return c->data;
}

tt_engine_t *tt_conn_engine(const tt_conn_t *c)
{
    return c->eng;
}

tt_state_t tt_conn_state(const tt_conn_t *c)
{
    return c->state;
}
