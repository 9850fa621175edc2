/*
 * echo-server (docs/contract.md §3.3): echoes every connection on each --port of the
 * stack's address (one listener per port, all on one engine and TUN device). By default the peer
 * closes first and the server follows (CLOSE_WAIT -> LAST_ACK: the passive close); with
 * --close-after the server closes first and so takes TIME_WAIT. --max-conns makes it exit once that
 * many connections are fully gone, TIME_WAIT included, which is what a test of TIME_WAIT's length
 * waits for. --hold delays each close, so that the peer sits in FIN_WAIT_2 (or waits for our FIN)
 * that long; the wake-up for the holds is the driver's tt_driver_wake_at().
 *
 * Back-pressure: when the send buffer is full, the rest of the data waits
 * in the session and reading stops until the engine reports room again.
 *
 * With --queues N each queue has a server of its own (struct server): its
 * engine listens on every --port, and its sessions live on its thread, so
 * no server state is shared between threads.
 *
 * Losing the TUN device (deleted under the server) ends the run: one line
 * naming the device and the errno text, then exit 1 once the pcap and
 * trace are flushed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define BACKLOG 128
#define SPARE_SESSIONS 64 /* freed sessions kept for the next connections */

struct session;

struct server {
    const struct cli_opts *o;
    tt_driver_t *drv;
    tt_engine_t *eng;
    tt_listener_t *listeners[CLI_MAX_ENDPOINTS]; /* one per --port; NULL once closed */
    uint64_t accepted;
    struct session *sessions; /* live ones, freed at exit if the engine still held them */
    struct session *spare;    /* freed ones, linked by next: no malloc per connection */
    size_t nspare;
};

struct session {
    struct server *srv;
    tt_conn_t *conn;
    struct session *next, *prev;
    uint64_t echoed; /* bytes taken for echo, queued or pending */
    uint8_t *pend;   /* accepted from the peer, not yet taken by tt_conn_write */
    size_t pend_len, pend_cap;
    bool eof;       /* the peer's FIN arrived */
    bool limit_hit; /* --close-after reached */
    bool closing;
    bool holding;      /* --hold: the close waits until close_at */
    uint64_t close_at; /* engine µs */
    uint32_t raddr;    /* the peer, for the log */
    uint16_t rport;
};

/* The peer's name is made here only: snprintf per connection was a tenth of
 * the stack's own instructions per short connection (tests/bench/PROFILE.md). */
static void sess_log(const struct session *s, const char *op, int err)
{
    char a[16];

    if (!s->srv->o->quiet)
        fprintf(stderr, "echo-server: %s:%u: %s: %s\n", cli_ipv4_str(s->raddr, a), s->rport, op,
                tt_strerror(err));
}

static void sess_free(struct session *s)
{
    struct server *srv = s->srv;

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    free(s->pend);
    if (srv->nspare < SPARE_SESSIONS) {
        s->next = srv->spare;
        srv->spare = s;
        srv->nspare++;
        return;
    }
    free(s);
}

/* A zeroed session: a freed one when there is one (issue 15: calloc and
 * free were about 400 instructions per short connection). */
static struct session *sess_alloc(struct server *srv)
{
    struct session *s = srv->spare;

    if (s == NULL)
        return calloc(1, sizeof(*s));
    srv->spare = s->next;
    srv->nspare--;
    memset(s, 0, sizeof(*s));
    return s;
}

static void sess_on_close(tt_conn_t *conn, int status)
{
    struct session *s = tt_conn_get_data(conn);

    if (s == NULL)
        return;
    if (status < 0)
        sess_log(s, "close", status); /* none today: a --linger timeout reports 0, as Linux */
    sess_free(s);
}

static void sess_close(struct session *s)
{
    bool reset = s->srv->o->linger_on && s->srv->o->linger_s == 0;
    int rc;

    if (s->closing)
        return;
    s->closing = true;
    rc =
        reset ? tt_conn_close_reset(s->conn, sess_on_close) : tt_conn_close(s->conn, sess_on_close);
    if (rc < 0) /* the callback will not come */
        sess_free(s);
}

/* Closes once the peer's FIN or --close-after came and all is echoed; --hold delays it. */
static void sess_maybe_close(struct session *s)
{
    const struct cli_opts *o = s->srv->o;

    if (!(s->eof || s->limit_hit) || s->pend_len != 0 || s->holding)
        return;
    if (o->hold_us == 0) {
        sess_close(s);
        return;
    }
    s->holding = true;
    s->close_at = tt_engine_now(s->srv->eng) + o->hold_us;
}

static int sess_pend(struct session *s, const uint8_t *buf, size_t n)
{
    if (s->pend_len + n > s->pend_cap) {
        size_t cap = s->pend_cap ? s->pend_cap : 4096;
        while (cap < s->pend_len + n)
            cap *= 2;
        uint8_t *p = realloc(s->pend, cap);
        if (p == NULL)
            return -ENOMEM;
        s->pend = p;
        s->pend_cap = cap;
    }
    memcpy(s->pend + s->pend_len, buf, n);
    s->pend_len += n;
    return 0;
}

/* Writes what it can; the rest waits in pend, and reading stops meanwhile. */
static int sess_echo(struct session *s, const uint8_t *buf, size_t n)
{
    ssize_t w = s->pend_len > 0 ? 0 : tt_conn_write(s->conn, buf, n);

    if (w < 0)
        return (int)w;
    if ((size_t)w == n)
        return 0;
    tt_conn_read_stop(s->conn);
    return sess_pend(s, buf + w, n - (size_t)w);
}

static void sess_on_read(tt_conn_t *conn, const uint8_t *buf, ssize_t nread);

static void sess_on_writable(tt_conn_t *conn)
{
    struct session *s = tt_conn_get_data(conn);
    ssize_t w = tt_conn_write(conn, s->pend, s->pend_len);

    if (w < 0) {
        sess_log(s, "write", (int)w);
        sess_close(s);
        return;
    }
    memmove(s->pend, s->pend + w, s->pend_len - (size_t)w);
    s->pend_len -= (size_t)w;
    if (s->pend_len > 0)
        return;
    sess_maybe_close(s);
    if (!s->closing && !s->eof && !s->limit_hit)
        tt_conn_read_start(conn, sess_on_read);
}

/* With --close-after, only up to the limit is echoed; then the server closes. */
static size_t sess_take(struct session *s, size_t n)
{
    uint64_t limit = s->srv->o->close_after;

    if (limit == 0)
        return n;
    if (limit - s->echoed < n)
        n = (size_t)(limit - s->echoed);
    if (s->echoed + n >= limit)
        s->limit_hit = true;
    return n;
}

static void sess_on_read(tt_conn_t *conn, const uint8_t *buf, ssize_t nread)
{
    struct session *s = tt_conn_get_data(conn);
    size_t n;
    int rc;

    if (s->closing || s->limit_hit)
        return;
    if (nread == TT_EOF) {
        s->eof = true;
        sess_maybe_close(s);
        return;
    }
    if (nread < 0) {
        sess_log(s, "read", (int)nread);
        sess_close(s);
        return;
    }
    n = sess_take(s, (size_t)nread);
    s->echoed += n;
    if ((rc = sess_echo(s, buf, n)) < 0) {
        sess_log(s, "write", rc);
        sess_close(s);
        return;
    }
    if (s->limit_hit)
        tt_conn_read_stop(conn);
    sess_maybe_close(s);
}

static int sess_start(struct server *srv, tt_conn_t *conn)
{
    struct session *s = sess_alloc(srv);
    tt_conn_info_t info;

    if (s == NULL)
        return -ENOMEM;
    s->srv = srv;
    s->conn = conn;
    s->next = srv->sessions;
    if (s->next != NULL)
        s->next->prev = s;
    srv->sessions = s;
    if (!srv->o->quiet) { /* the peer's name is for log lines only */
        tt_conn_get_info(conn, &info);
        s->raddr = info.raddr;
        s->rport = info.rport;
    }
    tt_conn_set_data(conn, s);
    if (srv->o->linger_on)
        tt_conn_set_linger(conn, 1, srv->o->linger_s);
    cli_conn_options(srv->o, conn);
    tt_conn_set_writable_cb(conn, sess_on_writable);
    return tt_conn_read_start(conn, sess_on_read);
}

static void srv_accept_one(struct server *srv, tt_conn_t *conn)
{
    int rc = sess_start(srv, conn);

    srv->accepted++;
    if (rc == 0)
        return;
    fprintf(stderr, "echo-server: accept: %s\n", tt_strerror(rc));
    if (tt_conn_get_data(conn) != NULL)
        sess_close(tt_conn_get_data(conn));
    else
        tt_conn_close_reset(conn, sess_on_close);
}

static void srv_on_connection(tt_listener_t *l, int status)
{
    struct server *srv = tt_listener_get_data(l);
    uint64_t max = srv->o->max_conns;
    tt_conn_t *conn;

    if (status < 0) {
        fprintf(stderr, "echo-server: listen: %s\n", tt_strerror(status));
        return;
    }
    while ((max == 0 || srv->accepted < max) && tt_accept(l, &conn) == 0)
        srv_accept_one(srv, conn);
    if (max != 0 && srv->accepted >= max) {
        /* no more, on any port: later SYNs are refused */
        for (size_t i = 0; i < srv->o->nports; i++) {
            if (srv->listeners[i] != NULL)
                tt_listener_close(srv->listeners[i]);
            srv->listeners[i] = NULL;
        }
    }
}

/* --hold: closes the sessions whose hold is over; returns the earliest hold left. */
static uint64_t srv_holds(struct server *srv)
{
    uint64_t now = tt_engine_now(srv->eng), next = TT_TIME_NEVER;
    struct session *s = srv->sessions;

    while (s != NULL) {
        struct session *n = s->next; /* sess_close may free s */
        if (s->holding && !s->closing && s->close_at <= now)
            sess_close(s);
        else if (s->holding && !s->closing && s->close_at < next)
            next = s->close_at;
        s = n;
    }
    return next;
}

/* --max-conns: done when every accepted connection is gone from the engine, TIME_WAIT too. */
static void srv_check(tt_driver_t *drv, void *ctx)
{
    struct server *srv = ctx;

    if (srv->o->hold_us != 0)
        tt_driver_wake_at(drv, srv_holds(srv));
    if (srv->o->max_conns == 0 || srv->accepted < srv->o->max_conns || srv->sessions != NULL)
        return;
    if (tt_engine_conn_count(srv->eng) == 0 && tt_engine_timewait_count(srv->eng) == 0)
        tt_driver_stop(drv, 0);
}

/* A listener on each --port, each announced on its own line once it listens (by queue 0 only). */
static int srv_listen(struct server *srv, bool announce)
{
    char a[16];

    for (size_t i = 0; i < srv->o->nports; i++) {
        uint16_t port = srv->o->ports[i];
        int rc = tt_listen(srv->eng, port, BACKLOG, srv_on_connection, &srv->listeners[i]);
        if (rc < 0) {
            fprintf(stderr, "echo-server: listen on port %u: %s\n", port, tt_strerror(rc));
            return rc;
        }
        tt_listener_set_data(srv->listeners[i], srv);
        if (announce)
            printf("listening on %s:%u\n", cli_ipv4_str(srv->o->drv.engine.addr, a), port);
    }
    fflush(stdout);
    return 0;
}

/* Every queue listens alike; each queue's check runs on its own thread. */
static int srv_listen_all(struct server *srv, size_t nq)
{
    int rc = 0;

    for (size_t q = 1; q < nq && rc == 0; q++) {
        srv[q] = srv[0];
        srv[q].drv = tt_driver_queue(srv[0].drv, q);
        srv[q].eng = tt_driver_engine(srv[q].drv);
        srv[q].sessions = NULL;
    }
    for (size_t q = 0; q < nq && rc == 0; q++) {
        rc = srv_listen(&srv[q], q == 0);
        tt_driver_set_check_cb(srv[q].drv, srv_check, &srv[q]);
    }
    return rc;
}

static int srv_run(struct server *srv, const struct cli_opts *o)
{
    char err[256];
    int rc = tt_driver_new(&srv->drv, &o->drv, err, sizeof(err));
    size_t nq;

    if (rc < 0) {
        fprintf(stderr, "echo-server: %s\n", err);
        return 1;
    }
    /* --user: the TUN device is set up and every file is open; the rest needs no privilege. */
    if (cli_drop_privileges(o, stderr) < 0) {
        tt_driver_free(srv->drv);
        return 1;
    }
    srv->eng = tt_driver_engine(srv->drv);
    if (o->verbose && !o->quiet)
        fprintf(stderr, "echo-server: interface %s, seed %llu, ISN key %s\n",
                tt_driver_ifname(srv->drv), (unsigned long long)tt_driver_seed(srv->drv),
                tt_driver_isn_key(srv->drv) ? tt_driver_isn_key(srv->drv) : "from the seed");
    if (o->verbose && !o->quiet) {
        const char *why, *ctl = tt_driver_ctl_path(srv->drv, &why);
        if (ctl != NULL)
            fprintf(stderr, "echo-server: control socket %s\n", ctl);
        else
            fprintf(stderr, "echo-server: no control socket (%s)\n", why);
        char off[96];
        if (tt_driver_offload(srv->drv, off, sizeof(off)))
            fprintf(stderr, "echo-server: offloads on (TSO4, checksum)\n");
        else
            fprintf(stderr, "echo-server: offloads off (%s)\n", off);
    }
    nq = tt_driver_queue_count(srv->drv);
    rc = srv_listen_all(srv, nq);
    if (rc == 0) {
        rc = tt_driver_run(srv->drv);
        if (tt_driver_error(srv->drv) != NULL)
            fprintf(stderr, "echo-server: %s\n", tt_driver_error(srv->drv));
        if (o->verbose)
            tt_driver_print_stats(srv->drv, stderr);
    }
    tt_driver_free(srv->drv);
    for (size_t q = 0; q < nq; q++) {
        while (srv[q].sessions != NULL)
            sess_free(srv[q].sessions);
        while (srv[q].spare != NULL) {
            struct session *s = srv[q].spare;
            srv[q].spare = s->next;
            free(s);
        }
    }
    return rc < 0 ? 1 : rc;
}

int main(int argc, char **argv)
{
    struct cli_opts o;
    struct server *srv;
    int rc = cli_parse(&o, CLI_ECHO_SERVER, argc, argv, stdout, stderr);

    if (rc != CLI_RUN)
        return rc == CLI_DONE ? 0 : 2;
    srv = calloc(o.drv.queues > 1 ? o.drv.queues : 1, sizeof(*srv)); /* one per queue */
    if (srv == NULL) {
        fprintf(stderr, "echo-server: %s\n", strerror(ENOMEM));
        return 1;
    }
    srv->o = &o;
    rc = srv_run(srv, &o);
    free(srv);
    return rc;
}
