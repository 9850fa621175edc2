/*
 * The socket calls packetdrill makes, with Linux's semantics, on top of the
 * engine's event-driven API (include/tuntcp/tuntcp.h).
 *
 * Receiving. The engine's read callback is switched on only while a call
 * takes data (a "pull"), so unread bytes stay in the engine's receive
 * buffer and its window closes as a kernel socket's would. A pull may hand
 * over more than the call wants; the rest waits in the socket's carry.
 *
 * Errors. The engine reports a reset or a timeout once, through the read
 * callback of a connection that has ended (its handle then shows CLOSED or
 * TIME_WAIT); we keep it as SO_ERROR, which the next read, write, connect or
 * getsockopt(SO_ERROR) returns and clears, as Linux's sk_err.
 *
 * Every call returns -errno inside this file; pd_end() turns it into
 * -1/errno for packetdrill.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "pd_adapter.h"
#include "pd_tcpinfo.h"

/* ---- the socket table ---- */

struct pd_sock *pd_sock_find(struct pd *pd, int fd)
{
    for (struct pd_sock *s = pd->socks; s; s = s->next)
        if (s->fd == fd)
            return s;
    return NULL;
}

/* A real descriptor gives each socket a number no other file has, and lets
 * packetdrill's own close() of sockets a script left open succeed. */
static struct pd_sock *sock_new(struct pd *pd)
{
    struct pd_sock *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    s->linger_on = pd->opts.linger_on;
    s->linger_s = pd->opts.linger_s;
    s->next = pd->socks;
    pd->socks = s;
    return s;
}

static void sock_unlink(struct pd *pd, struct pd_sock *s)
{
    struct pd_sock **pp = &pd->socks;
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
}

/* Called after the engine is gone: nothing of the engine is touched. */
void pd_sockets_free(struct pd *pd)
{
    while (pd->socks) {
        struct pd_sock *s = pd->socks;
        pd->socks = s->next;
        free(s->carry);
        pd_tstamp_free(s);
        pd_zc_free(s);
        pd_errq_free(s);
        free(s);
    }
}

/* ---- engine callbacks ---- */

static void on_connection(tt_listener_t *l, int status)
{
    struct pd_sock *s = tt_listener_get_data(l);
    if (status == 0)
        s->ready++;
}

static void on_connect(tt_conn_t *c, int status)
{
    struct pd_sock *s = tt_conn_get_data(c);
    s->connecting = false;
    if (status == 0) {
        s->connected = true;
        return;
    }
    s->so_error = -status;
    s->eof = true;
}

static int carry_append(struct pd_sock *s, const uint8_t *buf, size_t n)
{
    if (s->carry_len + n > s->carry_cap) {
        size_t cap = s->carry_cap ? s->carry_cap : 4096;
        while (cap < s->carry_len + n)
            cap *= 2;
        uint8_t *p = realloc(s->carry, cap);
        if (!p)
            return -ENOMEM;
        s->carry = p;
        s->carry_cap = cap;
    }
    memcpy(s->carry + s->carry_len, buf, n);
    s->carry_len += n;
    return 0;
}

static void on_read(tt_conn_t *c, const uint8_t *buf, ssize_t nread)
{
    struct pd_sock *s = tt_conn_get_data(c);
    if (nread > 0) {
        if (carry_append(s, buf, (size_t)nread) != 0)
            fprintf(stderr, "tt_packetdrill: out of memory; received bytes lost\n");
        if (s->carry_len >= s->pull_want)
            tt_conn_read_stop(c);
        return;
    }
    s->eof = true;
    if (nread != TT_EOF)
        s->so_error = (int)-nread;
}

static void on_close(tt_conn_t *c, int status)
{
    struct pd_sock *s = tt_conn_get_data(c);
    (void)status; /* Linux's close() returns 0 even when the linger time ran out */
    if (s)
        s->close_done = true;
}

/* ---- state as the kernel would show it ---- */

static tt_state_t conn_state(const struct pd_sock *s)
{
    return s->conn ? tt_conn_state(s->conn) : TT_STATE_CLOSED;
}

/* The connection is over: the handle is a shell (tcb.c "detached"). */
static bool conn_over(const struct pd_sock *s)
{
    tt_state_t st = conn_state(s);
    return s->conn && (st == TT_STATE_CLOSED || st == TT_STATE_TIME_WAIT);
}

/* The peer's FIN has arrived (Linux: RCV_SHUTDOWN). */
static bool fin_received(const struct pd_sock *s)
{
    switch (conn_state(s)) {
    case TT_STATE_CLOSE_WAIT:
    case TT_STATE_LAST_ACK:
    case TT_STATE_CLOSING:
    case TT_STATE_TIME_WAIT:
        return true;
    default:
        return false;
    }
}

uint32_t pd_recv_q(const struct pd_sock *s)
{
    if (!s->conn)
        return 0;
    tt_conn_info_t info;
    tt_conn_get_info(s->conn, &info);
    return info.recv_q;
}

/* Takes up to want bytes (and a pending EOF or error) out of the engine. */
static void pull(struct pd_sock *s, size_t want)
{
    s->pull_want = want;
    tt_conn_read_start(s->conn, on_read);
    tt_conn_read_stop(s->conn);
}

/*
 * Brings what the engine holds for the application into the socket: up to
 * want bytes of a live connection (only when there is something: a pull is
 * what lets the engine reopen its window), or everything of one that ended.
 */
void pd_sock_sync(struct pd_sock *s, size_t want)
{
    if (!s->conn || s->connecting)
        return;
    if (conn_over(s)) {
        pull(s, SIZE_MAX);
        s->eof = true;
        return;
    }
    if (s->carry_len >= want)
        return;
    if (pd_recv_q(s) > 0 || fin_received(s))
        pull(s, want);
}

static bool sock_readable(const struct pd_sock *s)
{
    return s->carry_len > 0 || s->so_error || s->eof || s->rd_shut || pd_recv_q(s) > 0 ||
           fin_received(s) || conn_over(s);
}

/* Linux sk_stream_is_writeable() and tcp_stream_memory_free(sk, 1), the
 * engine's accounting (tt_conn_poll_writable(), docs/contract.md §2.5); not
 * writable, the connection remembers a writer waits (SOCK_NOSPACE). */
static bool room_to_write(struct pd *pd, const struct pd_sock *s)
{
    (void)pd;
    return tt_conn_poll_writable(s->conn);
}

static bool sock_writable(struct pd *pd, const struct pd_sock *s)
{
    if (!s->conn || s->so_error || conn_over(s) || s->connecting)
        return !s->connecting;
    return room_to_write(pd, s);
}

/* ---- poll (Linux tcp_poll) ---- */

static short conn_poll_mask(struct pd *pd, struct pd_sock *s)
{
    pd_sock_sync(s, 0); /* an ended connection: learn its error, no packet sent */
    bool over = conn_over(s) || (!s->conn && s->so_error);
    bool rcv_shut = over || s->rd_shut || fin_received(s) || s->eof;
    tt_state_t st = conn_state(s);
    bool snd_shut = over || st == TT_STATE_FIN_WAIT_1 || st == TT_STATE_FIN_WAIT_2 ||
                    st == TT_STATE_CLOSING || st == TT_STATE_LAST_ACK;
    short m = 0;
    if (rcv_shut && snd_shut)
        m |= POLLHUP;
    if (rcv_shut)
        m |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (!s->connecting) {
        if (s->carry_len > 0 || pd_recv_q(s) > 0)
            m |= POLLIN | POLLRDNORM;
        if (snd_shut || room_to_write(pd, s))
            m |= POLLOUT | POLLWRNORM;
        else
            s->nospace = true; /* Linux tcp_poll(): SOCK_NOSPACE */
    }
    if (s->so_error)
        m |= POLLERR;
    return m;
}

short pd_sock_poll_mask(struct pd *pd, struct pd_sock *s)
{
    if (s->listener)
        return s->ready > 0 ? POLLIN | POLLRDNORM : 0;
    if (!s->conn) /* never connected: TCP_CLOSE */
        return POLLOUT | POLLWRNORM | POLLHUP | (s->so_error ? POLLERR : 0);
    /* Linux tcp_poll(): a report on the error queue is POLLERR */
    return (short)(conn_poll_mask(pd, s) | (pd_errq_queued(s) ? POLLERR : 0));
}

/* Fills revents; returns how many entries have one, as poll() does. */
static int poll_scan(struct pd *pd, struct pollfd *fds, nfds_t n)
{
    int count = 0;
    for (nfds_t i = 0; i < n; i++) {
        fds[i].revents = 0;
        if (fds[i].fd < 0)
            continue;
        struct pd_sock *s = pd_sock_find(pd, fds[i].fd);
        short m = s ? pd_sock_poll_mask(pd, s) : POLLNVAL;
        fds[i].revents = (short)(m & (fds[i].events | POLLERR | POLLHUP | POLLNVAL));
        if (fds[i].revents)
            count++;
    }
    return count;
}

bool pd_blocker_ready(struct pd *pd, const struct pd_blocker *b)
{
    struct pd_sock *s = b->sock;
    switch (b->kind) {
    case PD_WAIT_ACCEPT:
        return s->ready > 0;
    case PD_WAIT_CONNECT:
        return !s->connecting;
    case PD_WAIT_READ:
        return sock_readable(s);
    case PD_WAIT_WRITE:
        return sock_writable(pd, s);
    case PD_WAIT_CLOSE:
        return s->close_done;
    case PD_WAIT_POLL:
        return poll_scan(pd, b->fds, b->nfds) > 0 || pd->now >= b->deadline;
    case PD_WAIT_EPOLL:
        return pd_epoll_ready(pd, b->ep) || pd->now >= b->deadline;
    }
    return true;
}

static int block_on(struct pd *pd, enum pd_wait_kind kind, struct pd_sock *s)
{
    struct pd_blocker b = {.kind = kind, .sock = s, .deadline = TT_TIME_NEVER};
    return pd_wait(pd, &b);
}

/* ---- socket, bind, listen ---- */

static int do_socket(struct pd *pd, int domain, int type, int protocol)
{
    if (domain != AF_INET)
        return -EAFNOSUPPORT;
    if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM)
        return -ESOCKTNOSUPPORT;
    if (protocol != 0 && protocol != IPPROTO_TCP)
        return -EPROTONOSUPPORT;
    struct pd_sock *s = sock_new(pd);
    if (!s)
        return -ENOMEM;
    s->nonblock = (type & SOCK_NONBLOCK) != 0;
    return s->fd;
}

/* Linux: a port is taken by a socket bound to it unless both set SO_REUSEADDR
 * and none listens; a connection on it, TIME_WAIT included, holds it against
 * sockets without SO_REUSEADDR. */
struct port_probe {
    uint16_t port;
    bool busy;
};

static void probe_port(void *ctx, const tt_conn_info_t *info)
{
    struct port_probe *p = ctx;
    if (info->lport == p->port)
        p->busy = true;
}

static bool port_taken(struct pd *pd, const struct pd_sock *me, uint16_t port)
{
    for (const struct pd_sock *s = pd->socks; s; s = s->next) {
        if (s == me || s->port != port)
            continue;
        if (!(s->reuseaddr && me->reuseaddr) || s->listener)
            return true;
    }
    struct port_probe p = {.port = port};
    if (!me->reuseaddr)
        tt_engine_foreach_conn(pd->eng, probe_port, &p);
    return p.busy;
}

static uint16_t ephemeral_port(struct pd *pd, const struct pd_sock *s)
{
    const tt_config_t *cfg = tt_engine_config(pd->eng);
    for (unsigned n = 0; n <= (unsigned)(cfg->port_hi - cfg->port_lo); n++) {
        uint16_t port = pd->next_port;
        pd->next_port = port >= cfg->port_hi ? cfg->port_lo : (uint16_t)(port + 1);
        if (!port_taken(pd, s, port))
            return port;
    }
    return 0;
}

static int sin_parse(const struct sockaddr *addr, socklen_t len, uint32_t *ip, uint16_t *port)
{
    struct sockaddr_in sin;
    if (!addr || len < (socklen_t)sizeof(sin))
        return -EINVAL;
    memcpy(&sin, addr, sizeof(sin));
    if (sin.sin_family != AF_INET)
        return -EAFNOSUPPORT;
    *ip = ntohl(sin.sin_addr.s_addr);
    *port = ntohs(sin.sin_port);
    return 0;
}

static int do_bind(struct pd *pd, struct pd_sock *s, const struct sockaddr *addr, socklen_t len)
{
    uint32_t ip;
    uint16_t port;
    int err = sin_parse(addr, len, &ip, &port);
    if (err)
        return err;
    if (s->port || s->conn)
        return -EINVAL;
    if (ip != INADDR_ANY && ip != pd->opts.cfg.addr)
        return -EADDRNOTAVAIL;
    if (port == 0)
        port = ephemeral_port(pd, s);
    if (port == 0 || port_taken(pd, s, port))
        return -EADDRINUSE;
    s->port = port;
    return 0;
}

static int do_listen(struct pd *pd, struct pd_sock *s, int backlog)
{
    if (s->conn)
        return -EINVAL;
    if (s->listener)
        return 0; /* Linux only changes the backlog; the engine keeps its own */
    if (!s->port && !(s->port = ephemeral_port(pd, s)))
        return -EADDRINUSE;
    int err = tt_listen(pd->eng, s->port, backlog < 1 ? 1 : backlog, on_connection, &s->listener);
    if (err)
        return err;
    tt_listener_set_data(s->listener, s);
    tt_conn_opts_t o;
    pd_sockopt_conn_opts(s, &o);
    return tt_listener_set_opts(s->listener, &o);
}

/* ---- accept, connect ---- */

static void sin_fill(struct sockaddr *addr, socklen_t *len, uint32_t ip, uint16_t port)
{
    if (!addr || !len)
        return;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(ip);
    sin.sin_port = htons(port);
    size_t n = *len < (socklen_t)sizeof(sin) ? (size_t)*len : sizeof(sin);
    memcpy(addr, &sin, n);
    *len = (socklen_t)sizeof(sin);
}

/* The options a Linux child socket inherits from its listener. */
static void inherit(struct pd_sock *child, const struct pd_sock *l)
{
    child->linger_on = l->linger_on;
    child->linger_s = l->linger_s;
    child->nodelay = l->nodelay;
    child->cork = l->cork;
    child->keepalive = l->keepalive;
    child->ka_idle_s = l->ka_idle_s;
    child->ka_intvl_s = l->ka_intvl_s;
    child->ka_cnt = l->ka_cnt;
    child->user_timeout_ms = l->user_timeout_ms;
    child->inq = l->inq;
    child->reuseaddr = l->reuseaddr;
    child->sndbuf = l->sndbuf;
    child->notsent_lowat = l->notsent_lowat;
    child->rcvbuf = l->rcvbuf;
    child->user_mss = l->user_mss;
    child->tos = l->tos;
    child->zerocopy = l->zerocopy; /* sk_flags are cloned */
    child->mark = l->mark;
    child->port = 0; /* shares the listener's port without holding it */
}

static int accept_one(struct pd *pd, struct pd_sock *l, struct sockaddr *addr, socklen_t *len)
{
    tt_conn_t *c;
    if (tt_accept(l->listener, &c) != 0) {
        l->ready = 0; /* those announced died before accept (reset by the peer) */
        return -EAGAIN;
    }
    l->ready--;
    struct pd_sock *s = sock_new(pd);
    if (!s) {
        tt_conn_close_reset(c, NULL);
        return -ENOMEM;
    }
    inherit(s, l);
    s->conn = c;
    s->connected = true;
    tt_conn_set_data(c, s);
    pd_sockopt_apply(s);
    tt_conn_info_t info;
    tt_conn_get_info(c, &info);
    sin_fill(addr, len, info.raddr, info.rport);
    return s->fd;
}

static int do_accept(struct pd *pd, struct pd_sock *l, struct sockaddr *addr, socklen_t *len)
{
    if (!l->listener)
        return -EINVAL;
    for (;;) {
        int r = accept_one(pd, l, addr, len);
        if (r != -EAGAIN || l->nonblock)
            return r;
        if ((r = block_on(pd, PD_WAIT_ACCEPT, l)) != 0)
            return r;
    }
}

int pd_take_error(struct pd_sock *s)
{
    int e = s->so_error;
    s->so_error = 0;
    return -e;
}

/* A second connect() on the same socket (Linux __inet_stream_connect). */
static int connect_again(struct pd_sock *s)
{
    if (s->connecting)
        return s->nonblock ? -EALREADY : -EINPROGRESS;
    if (s->connected && !conn_over(s))
        return -EISCONN;
    if (s->so_error)
        return pd_take_error(s);
    return -ECONNABORTED;
}

static int connect_start(struct pd *pd, struct pd_sock *s, uint32_t ip, uint16_t port)
{
    if (s->port && !pd->warned_bind) {
        pd->warned_bind = true;
        fprintf(stderr, "tt_packetdrill: connect() after bind(): the engine picks an ephemeral "
                        "port anyway (tt_connect has no local port)\n");
    }
    tt_conn_opts_t o;
    pd_sockopt_conn_opts(s, &o);
    int err = tt_connect_opts(pd->eng, ip, port, &o, on_connect, &s->conn);
    if (err)
        return err;
    tt_conn_set_data(s->conn, s);
    pd_sockopt_apply(s);
    s->connecting = true;
    return 0;
}

static int do_connect(struct pd *pd, struct pd_sock *s, const struct sockaddr *addr, socklen_t len)
{
    uint32_t ip;
    uint16_t port;
    int err = sin_parse(addr, len, &ip, &port);
    if (err)
        return err;
    if (s->listener)
        return -EISCONN;
    if (s->conn)
        return connect_again(s);
    if ((err = connect_start(pd, s, ip, port)) != 0)
        return err;
    if (s->nonblock)
        return -EINPROGRESS;
    if ((err = block_on(pd, PD_WAIT_CONNECT, s)) != 0)
        return err;
    return s->connected ? 0 : pd_take_error(s);
}

/* ---- receiving ---- */

static ssize_t recv_from_carry(struct pd_sock *s, void *buf, size_t len, int flags)
{
    size_t n = len < s->carry_len ? len : s->carry_len;
    memcpy(buf, s->carry, n);
    if (!(flags & MSG_PEEK)) {
        memmove(s->carry, s->carry + n, s->carry_len - n);
        s->carry_len -= n;
    }
    return (ssize_t)n;
}

static ssize_t recv_try(struct pd_sock *s, void *buf, size_t len, int flags)
{
    if (len == 0)
        return 0;
    pd_sock_sync(s, len);
    if (s->carry_len > 0 && !buf)
        return -EFAULT; /* Linux: the copy to a bad user buffer fails */
    if (s->carry_len > 0)
        return recv_from_carry(s, buf, len, flags);
    if (s->so_error)
        return pd_take_error(s);
    if (s->eof || s->rd_shut)
        return 0;
    return -EAGAIN;
}

static ssize_t do_recv(struct pd *pd, struct pd_sock *s, void *buf, size_t len, int flags)
{
    if (s->listener || (!s->conn && !s->so_error))
        return -ENOTCONN;
    size_t got = 0;
    for (;;) {
        ssize_t r = recv_try(s, (uint8_t *)buf + got, len - got, flags);
        if (r > 0 && (flags & MSG_WAITALL) && !(flags & MSG_PEEK)) {
            got += (size_t)r;
            r = got == len ? (ssize_t)got : -EAGAIN;
        }
        if (r != -EAGAIN || s->nonblock || (flags & MSG_DONTWAIT))
            return r == -EAGAIN && got ? (ssize_t)got : r;
        int err = block_on(pd, PD_WAIT_READ, s);
        if (err)
            return got ? (ssize_t)got : err;
    }
}

/* ---- sending ---- */

static ssize_t send_error(struct pd_sock *s)
{
    if (s->listener || !s->conn)
        return s->so_error ? pd_take_error(s) : -EPIPE;
    pd_sock_sync(s, 0); /* an ended connection's error comes first */
    if (s->so_error)
        return pd_take_error(s);
    return 0;
}

/* MSG_MORE and MSG_EOR as the engine's write flags. */
static int write_flags(int flags)
{
    return ((flags & MSG_MORE) ? TT_WRITE_MORE : 0) | ((flags & MSG_EOR) ? TT_WRITE_EOR : 0);
}

static ssize_t do_send(struct pd *pd, struct pd_sock *s, const void *buf, size_t len, int flags)
{
    ssize_t err = send_error(s);
    if (err)
        return err;
    size_t done = 0;
    for (;;) {
        /* buf NULL and len > 0: -EFAULT from the engine, as Linux's copy */
        const uint8_t *from = buf ? (const uint8_t *)buf + done : NULL;
        ssize_t n = tt_conn_write_flags(s->conn, from, len - done, write_flags(flags));
        if (n < 0)
            return done ? (ssize_t)done : n;
        done += (size_t)n;
        if (done == len)
            return (ssize_t)done;
        s->nospace = true; /* Linux tcp_sendmsg_locked(): wait_for_space */
        if (s->nonblock || (flags & MSG_DONTWAIT))
            return done ? (ssize_t)done : -EAGAIN;
        int e = block_on(pd, PD_WAIT_WRITE, s);
        if (e)
            return done ? (ssize_t)done : e;
        if ((err = send_error(s)) != 0)
            return done ? (ssize_t)done : err;
    }
}

/* ---- close, shutdown ---- */

/* Linux tcp_close(): unread data means a RST; SO_LINGER {on, N} waits for
 * the ACK of our FIN, N seconds at most. */
static int close_conn(struct pd *pd, struct pd_sock *s)
{
    tt_conn_t *c = s->conn;
    bool waits = s->linger_on && s->linger_s > 0 && !conn_over(s);
    tt_conn_set_linger(c, s->linger_on, s->linger_s);
    tt_conn_set_data(c, s);
    int err = s->carry_len > 0 ? tt_conn_close_reset(c, on_close) : tt_conn_close(c, on_close);
    if (err)
        return err;
    s->conn = NULL;
    if (waits && !s->close_done)
        return block_on(pd, PD_WAIT_CLOSE, s);
    return 0;
}

static int do_close(struct pd *pd, struct pd_sock *s)
{
    int err = 0;
    if (s->listener)
        tt_listener_close(s->listener);
    else if (s->conn)
        err = close_conn(pd, s);
    sock_unlink(pd, s);
    close(s->fd);
    if (err == 0 || s->close_done) {
        free(s->carry);
        pd_tstamp_free(s);
        pd_zc_free(s);
        pd_errq_free(s);
        free(s);
    } /* else the engine may still call back into s: leak it rather than crash */
    return 0;
}

static int do_shutdown(struct pd_sock *s, int how)
{
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    if (!s->conn || conn_over(s) || s->connecting)
        return -ENOTCONN;
    if (how != SHUT_WR)
        s->rd_shut = true;
    if (how != SHUT_RD)
        return tt_conn_shutdown(s->conn);
    return 0;
}

/* ---- poll, fcntl, ioctl ---- */

static int do_poll(struct pd *pd, struct pollfd *fds, nfds_t n, int timeout_ms)
{
    int count = poll_scan(pd, fds, n);
    if (count > 0 || timeout_ms == 0)
        return count;
    struct pd_blocker b = {.kind = PD_WAIT_POLL, .fds = fds, .nfds = n};
    b.deadline = timeout_ms < 0 ? TT_TIME_NEVER : pd->now + (uint64_t)timeout_ms * 1000;
    int err = pd_wait(pd, &b);
    if (err)
        return err;
    return poll_scan(pd, fds, n);
}

static int do_fcntl(struct pd_sock *s, int cmd, int arg)
{
    switch (cmd) {
    case F_GETFL:
        return O_RDWR | (s->nonblock ? O_NONBLOCK : 0);
    case F_SETFL:
        s->nonblock = (arg & O_NONBLOCK) != 0;
        return 0;
    case F_GETFD:
        return FD_CLOEXEC;
    case F_SETFD:
        return 0;
    default:
        return -EINVAL;
    }
}

static int do_ioctl(struct pd_sock *s, unsigned long req, int *arg)
{
    if (!arg)
        return -EFAULT;
    switch (req) {
    case FIONBIO:
        s->nonblock = *arg != 0;
        return 0;
    case SIOCINQ:
        if (s->listener)
            return -EINVAL;
        *arg = (int)(s->carry_len + pd_recv_q(s));
        return 0;
    case SIOCOUTQ: {
        if (s->listener)
            return -EINVAL;
        tt_conn_info_t info = {.send_q = 0};
        if (s->conn)
            tt_conn_get_info(s->conn, &info);
        *arg = (int)info.send_q;
        return 0;
    }
    default:
        return -ENOTTY;
    }
}

/* ---- the interface's entry points: lock, find the socket, call, -1/errno ---- */

static int ifc_socket(void *ud, int domain, int type, int protocol)
{
    struct pd *pd = ud;
    pd_begin(pd);
    return (int)pd_end(pd, do_socket(pd, domain, type, protocol));
}

static int ifc_bind(void *ud, int fd, const struct sockaddr *addr, socklen_t len)
{
    struct pd *pd = ud;
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? do_bind(pd, s, addr, len) : -EBADF);
}

static int ifc_listen(void *ud, int fd, int backlog)
{
    struct pd *pd = ud;
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? do_listen(pd, s, backlog) : -EBADF);
}

static int ifc_accept(void *ud, int fd, struct sockaddr *addr, socklen_t *len)
{
    struct pd *pd = ud;
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? do_accept(pd, s, addr, len) : -EBADF);
}

static int ifc_connect(void *ud, int fd, const struct sockaddr *addr, socklen_t len)
{
    struct pd *pd = ud;
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? do_connect(pd, s, addr, len) : -EBADF);
}

static ssize_t ifc_recvfrom(void *ud, int fd, void *buf, size_t len, int flags,
                            struct sockaddr *src, socklen_t *srclen)
{
    struct pd *pd = ud;
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    ssize_t r = s ? do_recv(pd, s, buf, len, flags) : -EBADF;
    if (r >= 0 && src && s && s->conn) {
        tt_conn_info_t info;
        tt_conn_get_info(s->conn, &info);
        sin_fill(src, srclen, info.raddr, info.rport);
    }
    return pd_end(pd, r);
}

static ssize_t ifc_recv(void *ud, int fd, void *buf, size_t len, int flags)
{
    return ifc_recvfrom(ud, fd, buf, len, flags, NULL, NULL);
}

static ssize_t ifc_read(void *ud, int fd, void *buf, size_t len)
{
    return ifc_recvfrom(ud, fd, buf, len, 0, NULL, NULL);
}

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

/* A buffer of the vector that is NULL with a length: Linux's EFAULT. */
static bool iov_bad(const struct iovec *iov, int n)
{
    if (!iov && n > 0)
        return true;
    for (int i = 0; i < n; i++) {
        if (!iov[i].iov_base && iov[i].iov_len > 0)
            return true;
    }
    return false;
}

/* Scatter reads go through one flat buffer: a socket call is one operation. */
static ssize_t recv_iov(void *ud, int fd, const struct iovec *iov, int n, int flags)
{
    if (n < 0)
        return errno = EINVAL, -1;
    if (iov_bad(iov, n))
        return errno = EFAULT, -1;
    size_t total = iov_total(iov, n);
    uint8_t *flat = malloc(total ? total : 1);
    if (!flat)
        return errno = ENOMEM, -1;
    ssize_t r = ifc_recvfrom(ud, fd, flat, total, flags, NULL, NULL);
    int saved = errno;
    for (size_t off = 0, i = 0; r > 0 && off < (size_t)r; i++) {
        size_t k = iov[i].iov_len < (size_t)r - off ? iov[i].iov_len : (size_t)r - off;
        memcpy(iov[i].iov_base, flat + off, k);
        off += k;
    }
    free(flat);
    errno = saved;
    return r;
}

static ssize_t ifc_readv(void *ud, int fd, const struct iovec *iov, int n)
{
    return recv_iov(ud, fd, iov, n, 0);
}

/*
 * TCP_INQ's control message (Linux tcp_inq_hint()): the bytes left to read
 * after this call, or 1 when none are left but the peer's FIN has come.
 */
static void put_inq(struct pd *pd, int fd, struct msghdr *msg, size_t room)
{
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    int inq = -1;
    if (s && s->inq) {
        inq = (int)(s->carry_len + pd_recv_q(s));
        if (inq == 0 && (s->eof || fin_received(s)))
            inq = 1;
    }
    pd_end(pd, 0);
    if (inq < 0)
        return;
    if (!msg->msg_control || room < CMSG_SPACE(sizeof(int))) {
        msg->msg_flags |= MSG_CTRUNC;
        return;
    }
    struct cmsghdr *cm = (struct cmsghdr *)msg->msg_control;
    cm->cmsg_level = SOL_TCP;
    cm->cmsg_type = TCP_CM_INQ;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &inq, sizeof(int));
    msg->msg_controllen = CMSG_SPACE(sizeof(int));
}

/* recvmsg(MSG_ERRQUEUE): SO_TIMESTAMPING's reports and MSG_ZEROCOPY's
 * completions (pd_errqueue.c). */
static ssize_t recv_errqueue(struct pd *pd, int fd, struct msghdr *msg)
{
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return pd_end(pd, s ? pd_errq_recv(s, msg) : -EBADF);
}

static ssize_t ifc_recvmsg(void *ud, int fd, struct msghdr *msg, int flags)
{
    if (flags & MSG_ERRQUEUE)
        return recv_errqueue(ud, fd, msg);
    size_t room = msg->msg_controllen;
    msg->msg_controllen = 0;
    msg->msg_flags = 0;
    ssize_t r = recv_iov(ud, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
    if (r >= 0) {
        int saved = errno;
        put_inq(ud, fd, msg, room);
        errno = saved;
    }
    return r;
}

static ssize_t ifc_send(void *ud, int fd, const void *buf, size_t len, int flags)
{
    struct pd *pd = ud;
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    ssize_t r = s ? do_send(pd, s, buf, len, flags) : -EBADF;
    if (r > 0) {
        pd_tstamp_wrote(s); /* Linux tcp_tx_timestamp(), once per call */
        pd_zc_wrote(s, flags);
    }
    return pd_end(pd, r);
}

/* A connected TCP socket ignores the destination (Linux tcp_sendmsg). */
static ssize_t ifc_sendto(void *ud, int fd, const void *buf, size_t len, int flags,
                          const struct sockaddr *dst, socklen_t dstlen)
{
    (void)dst;
    (void)dstlen;
    return ifc_send(ud, fd, buf, len, flags);
}

static ssize_t ifc_write(void *ud, int fd, const void *buf, size_t len)
{
    return ifc_send(ud, fd, buf, len, 0);
}

static ssize_t send_iov(void *ud, int fd, const struct iovec *iov, int n, int flags)
{
    if (n < 0)
        return errno = EINVAL, -1;
    if (iov_bad(iov, n))
        return errno = EFAULT, -1;
    size_t total = iov_total(iov, n), off = 0;
    uint8_t *flat = malloc(total ? total : 1);
    if (!flat)
        return errno = ENOMEM, -1;
    for (int i = 0; i < n; i++) {
        memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    ssize_t r = ifc_send(ud, fd, flat, total, flags);
    int saved = errno;
    free(flat);
    errno = saved;
    return r;
}

static ssize_t ifc_writev(void *ud, int fd, const struct iovec *iov, int n)
{
    return send_iov(ud, fd, iov, n, 0);
}

static ssize_t ifc_sendmsg(void *ud, int fd, const struct msghdr *msg, int flags)
{
    return send_iov(ud, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
}

static int ifc_fcntl(void *ud, int fd, int cmd, ...)
{
    struct pd *pd = ud;
    int arg = 0;
    if (cmd == F_SETFL || cmd == F_SETFD) {
        va_list ap;
        va_start(ap, cmd);
        arg = va_arg(ap, int);
        va_end(ap);
    }
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? do_fcntl(s, cmd, arg) : -EBADF);
}

static int ifc_ioctl(void *ud, int fd, unsigned long req, ...)
{
    struct pd *pd = ud;
    va_list ap;
    va_start(ap, req);
    int *arg = va_arg(ap, int *);
    va_end(ap);
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? do_ioctl(s, req, arg) : -EBADF);
}

static int ifc_close(void *ud, int fd)
{
    struct pd *pd = ud;
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? do_close(pd, s) : pd_epoll_close(pd, fd));
}

static int ifc_shutdown(void *ud, int fd, int how)
{
    struct pd *pd = ud;
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? do_shutdown(s, how) : -EBADF);
}

int pd_getsockopt(struct pd *pd, int fd, int level, int name, void *val, socklen_t *len)
{
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? pd_sockopt_get(pd, s, level, name, val, len) : -EBADF);
}

static int ifc_getsockopt(void *ud, int fd, int level, int name, void *val, socklen_t *len)
{
    return pd_getsockopt(ud, fd, level, name, val, len);
}

bool pd_owns_fd(struct pd *pd, int fd)
{
    pthread_mutex_lock(&pd->mu); /* no hand-off: this is not a call of the script's */
    bool owns = pd_sock_find(pd, fd) != NULL;
    pthread_mutex_unlock(&pd->mu);
    return owns;
}

static int ifc_setsockopt(void *ud, int fd, int level, int name, const void *val, socklen_t len)
{
    struct pd *pd = ud;
    pd_begin(pd);
    struct pd_sock *s = pd_sock_find(pd, fd);
    return (int)pd_end(pd, s ? pd_sockopt_set(s, level, name, val, len) : -EBADF);
}

static int ifc_poll(void *ud, struct pollfd *fds, nfds_t n, int timeout)
{
    struct pd *pd = ud;
    pd_begin(pd);
    return (int)pd_end(pd, do_poll(pd, fds, n, timeout));
}

static int ifc_epoll_create(void *ud, int size)
{
    struct pd *pd = ud;
    pd_begin(pd);
    return (int)pd_end(pd, pd_epoll_create(pd, size));
}

static int ifc_epoll_ctl(void *ud, int epfd, int op, int fd, struct epoll_event *ev)
{
    struct pd *pd = ud;
    pd_begin(pd);
    return (int)pd_end(pd, pd_epoll_ctl(pd, epfd, op, fd, ev));
}

static int ifc_epoll_wait(void *ud, int epfd, struct epoll_event *evs, int max, int timeout)
{
    struct pd *pd = ud;
    pd_begin(pd);
    return (int)pd_end(pd, pd_epoll_wait(pd, epfd, evs, max, timeout));
}

/* ---- calls this adapter does not offer ---- */

static int unsupported(const char *name)
{
    fprintf(stderr, "tt_packetdrill: %s() is not supported\n", name);
    errno = ENOSYS;
    return -1;
}

static int ifc_pipe(void *ud, int fds[2])
{
    (void)ud, (void)fds;
    return unsupported("pipe");
}

static int ifc_splice(void *ud, int in, int64_t *off_in, int out, int64_t *off_out, size_t len,
                      unsigned int flags)
{
    (void)ud, (void)in, (void)off_in, (void)out, (void)off_out, (void)len, (void)flags;
    return unsupported("splice");
}

void pd_socket_fill(struct pd_interface *ifc)
{
    ifc->socket = ifc_socket;
    ifc->bind = ifc_bind;
    ifc->listen = ifc_listen;
    ifc->accept = ifc_accept;
    ifc->connect = ifc_connect;
    ifc->read = ifc_read;
    ifc->readv = ifc_readv;
    ifc->recv = ifc_recv;
    ifc->recvfrom = ifc_recvfrom;
    ifc->recvmsg = ifc_recvmsg;
    ifc->write = ifc_write;
    ifc->writev = ifc_writev;
    ifc->send = ifc_send;
    ifc->sendto = ifc_sendto;
    ifc->sendmsg = ifc_sendmsg;
    ifc->fcntl = ifc_fcntl;
    ifc->ioctl = ifc_ioctl;
    ifc->close = ifc_close;
    ifc->shutdown = ifc_shutdown;
    ifc->getsockopt = ifc_getsockopt;
    ifc->setsockopt = ifc_setsockopt;
    ifc->poll = ifc_poll;
    ifc->epoll_create = ifc_epoll_create;
    ifc->epoll_ctl = ifc_epoll_ctl;
    ifc->epoll_wait = ifc_epoll_wait;
    ifc->pipe = ifc_pipe;
    ifc->splice = ifc_splice;
}
