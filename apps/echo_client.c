/*
 * echo-client (docs/contract.md §3.4): makes --count connections (or opens
 * them for --duration), at most --concurrency at a time, to the --connect
 * servers in turn; sends --bytes of a known pattern on each and checks that
 * the same bytes come back; --send sends a payload of the user's instead,
 * checked against --expect, or not at all. By default the client closes
 * first once its echo is verified (it takes TIME_WAIT), after --hold if
 * given; with --close-wait it waits for the server's FIN (the passive
 * close). Every connection is tried even when others fail; each failure is
 * one line naming the operation and the errno text, and the exit status is
 * 1 if there was any.
 *
 * Pacing (§3.4 "Opening connections"): without --rate a connection starts as
 * soon as a slot is free (a closed loop); with --rate N attempt k starts at
 * k/N s after the start whatever became of the others (an open loop): an
 * attempt that cannot start (no free slot: EBUSY; no free port:
 * EADDRNOTAVAIL) fails in its own slot of the schedule, so a rate
 * experiment measures a rate. Without --rate, no free port makes the
 * attempt wait for one (a TIME_WAIT entry expiring, a connection ending),
 * for at most --connect-timeout; without it the first such attempt fails
 * and those after it wait. The wake-ups are tt_driver_wake_at(): no
 * busy loop.
 *
 * It exits once opening is over and every connection has left the engine
 * (FIN exchange done), and with --wait-timewait only once the TIME_WAIT
 * entries expired too. --connect-timeout and --timeout bound the wait for
 * a server that does not answer or does not echo: the connection fails
 * with ETIMEDOUT and is reset, so that it leaves the engine at once (a
 * graceful close could sit in FIN_WAIT_2 for --tcp-fin-timeout). SIGINT or
 * SIGTERM before every echo was verified exits 1, saying how many were.
 * --json writes the measurements (client_stats.c) at exit, whatever ended
 * the run. With --queues N each queue runs a client of its own on its
 * thread (struct client): it makes its share of --count, --concurrency and
 * --rate (the first queues take the remainders), numbers its attempts
 * q+1, q+1+N, ... so that the patterns stay distinct, and the last queue
 * to finish stops the run; at the end the figures are summed (cs_merge).
 * Losing the TUN device ends the run at once: one line naming the
 * device and the errno text, exit 1, the pcap and trace flushed.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client_stats.h"

#define CHUNK 4096
#define US_PER_S 1000000ULL
#define FAILED_START_GAP 1000 /* µs between attempts that tt_connect() refuses at once */

struct client;

struct echo_conn {
    struct client *cl;
    tt_conn_t *conn; /* NULL: not connected (yet), or gone */
    uint64_t idx;    /* connection number, from 1 */
    const struct cli_dest *dest;
    uint64_t sent, verified;
    uint64_t begun;      /* when the attempt began (engine µs) */
    uint64_t syn_us;     /* when tt_connect() sent the SYN */
    uint64_t deadline;   /* of --connect-timeout or --timeout (engine µs); TT_TIME_NEVER: none */
    uint64_t hold_end;   /* with holding: when --hold ends */
    size_t port_gate;    /* with port_wait: ports in use at the last try; retried below it */
    uint64_t port_retry; /* with port_wait and --tcp-tw-reuse 1: the next try by time */
    bool active;         /* the slot is in use */
    bool port_wait;      /* waiting for a free port (EADDRNOTAVAIL, no --rate) */
    bool holding;        /* verified, kept open for --hold */
    bool eof_seen;       /* the server's FIN arrived while holding */
    bool failed, echo_ok, closing, established;
};

/* What the queues' clients share (--queues): touched from their threads. */
struct cl_shared {
    atomic_size_t done; /* queues whose share is over */
    atomic_uint_least64_t failures;
};

struct client {
    const struct cli_opts *o;
    size_t qi, nq;        /* this client's queue, of nq */
    struct cl_shared *sh; /* NULL with one queue */
    bool done;            /* its share is over (counted in sh->done) */
    tt_driver_t *drv;
    tt_engine_t *eng;
    struct echo_conn *slots;
    size_t nslots;
    size_t *free_slots; /* a stack of the free slots' indices */
    size_t nfree;
    uint64_t count;    /* attempts to make: --count, or no bound with --duration alone */
    uint64_t t0;       /* the start (engine µs) */
    bool running;      /* t0 is set */
    bool opening_over; /* no attempt will begin any more */
    uint64_t open_end; /* when opening ended (for the rates of --json) */
    bool starved;      /* an attempt found no free port (no --rate, no --connect-timeout) */
    struct echo_conn *port_waiter; /* the attempt waiting for a free port, if any */
    uint64_t next_try; /* without --rate: no attempt before this, after one failed at once */
    uint64_t started, failures;
    uint64_t echoed;    /* connections whose echo was verified */
    uint64_t send_len;  /* bytes sent on each connection: --send's, or --bytes of the pattern */
    uint64_t check_len; /* bytes that must come back: --expect's, or the pattern sent */
    bool check;         /* false: --send without --expect, what comes back is not checked */
    FILE *json;         /* --json's file, or NULL */
    struct cl_stats cs;
};

/* The byte at offset off of connection idx: differs between connections and 256-byte blocks. */
static uint8_t pattern(uint64_t idx, uint64_t off)
{
    return (uint8_t)(off * 131 + (off >> 8) * 7 + idx * 17);
}

static uint64_t cl_now(const struct client *cl)
{
    return tt_engine_now(cl->eng);
}

/* Ports (and connections) in use: what a failed tt_connect waits to see fall. */
static size_t cl_ports_in_use(const struct client *cl)
{
    return tt_engine_conn_count(cl->eng) + tt_engine_timewait_count(cl->eng);
}

/* The TIME_WAIT gauge, sampled wherever it can have changed (docs/contract.md §8.5). */
static void cl_sample_tw(struct client *cl)
{
    cs_sample_tw(&cl->cs, cl_now(cl), tt_engine_timewait_count(cl->eng),
                 tt_engine_timewait_bytes(cl->eng));
}

static void cl_fail_vmsg(struct client *cl, uint64_t idx, const char *kind, const char *fmt,
                         va_list ap)
{
    cl->failures++;
    cs_failed(&cl->cs, cl_now(cl), kind);
    fprintf(stderr, "echo-client: connection %llu: ", (unsigned long long)idx);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void ec_fail_msg(struct echo_conn *ec, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line per failed connection: only its first failure is reported. kind names it for
 * --json: an errno name, EBADMSG (echo differs) or EOF (closed by the server too early). */
static void ec_fail_msg(struct echo_conn *ec, const char *kind, const char *fmt, ...)
{
    va_list ap;

    if (ec->failed)
        return;
    ec->failed = true;
    va_start(ap, fmt);
    cl_fail_vmsg(ec->cl, ec->idx, kind, fmt, ap);
    va_end(ap);
}

static void ec_fail(struct echo_conn *ec, const char *op, int err)
{
    ec_fail_msg(ec, cs_errno_name(err), "%s: %s", op, tt_strerror(err));
}

/* The slot is free again. */
static void ec_finish(struct echo_conn *ec)
{
    struct client *cl = ec->cl;

    ec->conn = NULL;
    ec->active = false;
    if (cl->port_waiter == ec)
        cl->port_waiter = NULL;
    cl->free_slots[cl->nfree++] = (size_t)(ec - cl->slots);
    cl_sample_tw(cl);
}

static void ec_on_close(tt_conn_t *conn, int status)
{
    struct echo_conn *ec = tt_conn_get_data(conn);

    if (status < 0)
        ec_fail(ec, "close", status); /* none today: a --linger timeout reports 0, as Linux */
    ec_finish(ec);
}

/* Closes the handle; reset: abortively (RST), whatever the linger mode. */
static void ec_close_how(struct echo_conn *ec, bool reset)
{
    const struct cli_opts *o = ec->cl->o;
    int rc;

    if (ec->closing)
        return;
    ec->closing = true;
    ec->holding = false;
    ec->deadline = TT_TIME_NEVER; /* the engine bounds what follows */
    if (reset || (o->linger_on && o->linger_s == 0))
        rc = tt_conn_close_reset(ec->conn, ec_on_close);
    else
        rc = tt_conn_close(ec->conn, ec_on_close);
    if (rc < 0) /* the callback will not come */
        ec_finish(ec);
}

static void ec_close(struct echo_conn *ec)
{
    ec_close_how(ec, false);
}

/* Progress was made: --timeout counts from now. Not while held open on purpose. */
static void ec_progress(struct echo_conn *ec)
{
    const struct cli_opts *o = ec->cl->o;

    if (o->timeout_us != 0 && !ec->closing && !ec->holding)
        ec->deadline = cl_now(ec->cl) + o->timeout_us;
}

static void ec_timeout(struct echo_conn *ec)
{
    const struct cli_opts *o = ec->cl->o;

    if (!ec->established)
        ec_fail_msg(ec, "ETIMEDOUT", "connect: %s (not established within %llu ms)",
                    tt_strerror(-ETIMEDOUT), (unsigned long long)(o->connect_timeout_us / 1000));
    else
        ec_fail_msg(ec, "ETIMEDOUT",
                    "timeout: %s (no progress for %llu ms; %llu of %llu bytes sent, %llu echoed)",
                    tt_strerror(-ETIMEDOUT), (unsigned long long)(o->timeout_us / 1000),
                    (unsigned long long)ec->sent, (unsigned long long)ec->cl->send_len,
                    (unsigned long long)ec->verified);
    ec_close_how(ec, true);
}

/* --hold is over: close as configured (with --close-wait, once the server's FIN is in). */
static void ec_hold_end(struct echo_conn *ec)
{
    ec->holding = false;
    if (!ec->cl->o->close_wait || ec->eof_seen)
        ec_close(ec);
    else
        ec_progress(ec); /* --timeout bounds the wait for the server's FIN */
}

static void ec_echo_done(struct echo_conn *ec)
{
    struct client *cl = ec->cl;

    ec->echo_ok = true;
    cl->echoed++;
    cs_verified(&cl->cs, cl_now(cl));
    if (cl->o->hold_us != 0) {
        ec->holding = true;
        ec->deadline = TT_TIME_NEVER;
        ec->hold_end = cl_now(cl) + cl->o->hold_us;
    } else if (!cl->o->close_wait) {
        ec_close(ec); /* the active close: this side will hold TIME_WAIT */
    }
}

/* Verified once everything was sent and, unless nothing is checked, everything came back. */
static void ec_check_done(struct echo_conn *ec)
{
    const struct client *cl = ec->cl;

    if (ec->echo_ok || ec->closing || ec->sent < cl->send_len)
        return;
    if (!cl->check || ec->verified == cl->check_len)
        ec_echo_done(ec);
}

static void ec_send(struct echo_conn *ec)
{
    const struct cli_payload *payload = &ec->cl->o->send;
    uint64_t bytes = ec->cl->send_len;
    uint8_t buf[CHUNK];

    while (ec->sent < bytes && !ec->closing) {
        size_t n = bytes - ec->sent < CHUNK ? (size_t)(bytes - ec->sent) : CHUNK;
        const uint8_t *src = buf;
        if (payload->data != NULL)
            src = payload->data + ec->sent;
        else
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern(ec->idx, ec->sent + i);
        ssize_t w = tt_conn_write(ec->conn, src, n);
        if (w < 0) {
            ec_fail(ec, "write", (int)w);
            ec_close(ec);
            return;
        }
        ec->sent += (uint64_t)w;
        if (w > 0)
            ec_progress(ec);
        if ((size_t)w < n)
            return; /* the send buffer is full: ec_on_writable goes on */
    }
    ec_check_done(ec);
}

static void ec_on_writable(tt_conn_t *conn)
{
    ec_send(tt_conn_get_data(conn));
}

/* Checks buf against --expect or the pattern (without a check it only counts it);
 * false (and the failure reported) on a mismatch. */
static bool ec_verify(struct echo_conn *ec, const uint8_t *buf, size_t n)
{
    const struct client *cl = ec->cl;
    const uint8_t *expect = cl->o->expect.data;

    for (size_t i = 0; i < n && cl->check; i++) {
        uint64_t off = ec->verified + i;
        if (off >= cl->check_len) {
            ec_fail_msg(ec, "EBADMSG",
                        expect ? "verify: more bytes than the %llu of --expect"
                               : "verify: more bytes echoed than the %llu sent",
                        (unsigned long long)cl->check_len);
            return false;
        }
        if (buf[i] != (expect ? expect[off] : pattern(ec->idx, off))) {
            ec_fail_msg(ec, "EBADMSG",
                        expect ? "verify: reply differs from --expect at byte %llu"
                               : "verify: echo differs at byte %llu",
                        (unsigned long long)off);
            return false;
        }
    }
    ec->verified += n;
    return true;
}

static void ec_on_eof(struct echo_conn *ec)
{
    const struct client *cl = ec->cl;

    if (ec->holding) { /* the close waits for the end of --hold */
        ec->eof_seen = true;
        return;
    }
    if (!ec->echo_ok && cl->check && ec->verified < cl->check_len)
        ec_fail_msg(ec, "EOF", "read: connection closed by the server after %llu of %llu bytes",
                    (unsigned long long)ec->verified, (unsigned long long)cl->check_len);
    else if (!ec->echo_ok)
        ec_fail_msg(ec, "EOF",
                    "read: connection closed by the server after %llu of %llu bytes were sent",
                    (unsigned long long)ec->sent, (unsigned long long)cl->send_len);
    ec_close(ec); /* with --close-wait: the passive close, LAST_ACK */
}

static void ec_on_read(tt_conn_t *conn, const uint8_t *buf, ssize_t nread)
{
    struct echo_conn *ec = tt_conn_get_data(conn);

    if (ec->closing)
        return;
    ec_progress(ec);
    if (nread == TT_EOF) {
        ec_on_eof(ec);
        return;
    }
    if (nread < 0) {
        ec_fail(ec, "read", (int)nread);
        ec_close(ec);
        return;
    }
    if (!ec_verify(ec, buf, (size_t)nread)) {
        ec_close(ec);
        return;
    }
    ec_check_done(ec);
}

static void ec_on_connect(tt_conn_t *conn, int status)
{
    struct echo_conn *ec = tt_conn_get_data(conn);
    struct client *cl = ec->cl;
    const struct cli_opts *o = cl->o;
    int rc;

    if (status < 0) {
        ec_fail(ec, "connect", status);
        ec_close(ec);
        return;
    }
    ec->established = true;
    cs_established(&cl->cs, cl_now(cl), cl_now(cl) - ec->syn_us);
    ec->deadline = TT_TIME_NEVER;
    ec_progress(ec);
    if (o->linger_on)
        tt_conn_set_linger(conn, 1, o->linger_s);
    tt_conn_set_writable_cb(conn, ec_on_writable);
    if ((rc = tt_conn_read_start(conn, ec_on_read)) < 0) {
        ec_fail(ec, "read", rc);
        ec_close(ec);
        return;
    }
    ec_send(ec); /* with nothing to send or check, this is the end of the echo */
}

/* tt_connect() for ec; 0, or its error (the attempt is still ec's to settle). */
static int ec_connect(struct echo_conn *ec)
{
    struct client *cl = ec->cl;
    tt_conn_t *conn;
    int rc = tt_connect(cl->eng, ec->dest->addr, ec->dest->port, ec_on_connect, &conn);

    if (rc < 0)
        return rc;
    ec->port_wait = false;
    ec->syn_us = cl_now(cl);
    ec->conn = conn;
    tt_conn_set_data(conn, ec);
    cli_conn_options(cl->o, conn);
    return 0;
}

/* --tcp-tw-reuse 1: an entry becomes reusable by growing old, with no count falling, so the
 * waiting attempt also tries again every TW_REUSE_POLL (docs/contract.md §3.4). */
#define TW_REUSE_POLL 50000

/* The attempt waits for a port to free up (docs/contract.md §3.4 "Opening connections"). */
static void ec_wait_port(struct echo_conn *ec)
{
    struct client *cl = ec->cl;

    ec->port_wait = true;
    ec->port_gate = cl_ports_in_use(cl);
    ec->port_retry = TT_TIME_NEVER;
    if (tt_engine_config(cl->eng)->tcp_tw_reuse)
        ec->port_retry = cl_now(cl) + TW_REUSE_POLL;
    cl->port_waiter = ec;
}

/* Retries the waiting attempt once a port may have freed up: fewer in use than at its last
 * try (or, with --tcp-tw-reuse 1, its poll time came). */
static void cl_retry_port(struct client *cl)
{
    struct echo_conn *ec = cl->port_waiter;
    int rc;

    if (ec == NULL || (cl_ports_in_use(cl) >= ec->port_gate && cl_now(cl) < ec->port_retry))
        return;
    rc = ec_connect(ec);
    if (rc == 0) {
        cl->port_waiter = NULL;
    } else if (rc == -EADDRNOTAVAIL) {
        ec_wait_port(ec);
    } else {
        ec_fail(ec, "connect", rc);
        ec_finish(ec);
    }
}

/* A new attempt number, counted. */
static uint64_t cl_begin(struct client *cl)
{
    cs_attempt(&cl->cs, cl_now(cl));
    return (++cl->started - 1) * cl->nq + cl->qi + 1;
}

static void cl_fail_attempt(struct client *cl, uint64_t idx, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An attempt that never had a slot (--rate with --concurrency full). */
static void cl_fail_attempt(struct client *cl, uint64_t idx, const char *kind, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cl_fail_vmsg(cl, idx, kind, fmt, ap);
    va_end(ap);
}

/* Begins the next attempt in a free slot, towards the next --connect in turn. False when it
 * failed at once (tt_connect() refused it). */
static bool cl_start(struct client *cl)
{
    const struct cli_opts *o = cl->o;
    struct echo_conn *ec = &cl->slots[cl->free_slots[--cl->nfree]];
    int rc;

    memset(ec, 0, sizeof(*ec));
    ec->cl = cl;
    ec->active = true;
    ec->idx = cl_begin(cl);
    ec->dest = &o->dests[(ec->idx - 1) % o->ndests];
    ec->begun = cl_now(cl);
    ec->deadline = TT_TIME_NEVER;
    if (o->connect_timeout_us != 0)
        ec->deadline = ec->begun + o->connect_timeout_us;
    rc = ec_connect(ec);
    if (rc == 0)
        return true;
    /* No free port: at --rate the attempt fails in its slot of the schedule; else it waits
     * for a port, at most --connect-timeout, or fails once and makes the next ones wait. */
    if (rc == -EADDRNOTAVAIL && o->rate == 0 && (o->connect_timeout_us != 0 || cl->starved)) {
        ec_wait_port(ec);
        return true;
    }
    if (rc == -EADDRNOTAVAIL)
        cl->starved = true;
    ec_fail(ec, "connect", rc);
    ec_finish(ec);
    return false;
}

/* When attempt k (from 0) of --rate is due: k/N s after the start. */
static uint64_t cl_slot_time(const struct client *cl, uint64_t k)
{
    uint64_t n = cl->o->rate;

    /* k * 10^6 / n without overflowing for any k a --duration can reach */
    return cl->t0 + k / n * US_PER_S + k % n * US_PER_S / n;
}

static void cl_end_opening(struct client *cl, uint64_t when)
{
    if (cl->opening_over)
        return;
    cl->opening_over = true;
    cl->open_end = when;
}

/* Opening stops after --count attempts or at the end of --duration, whichever comes first. */
static bool cl_may_open(struct client *cl, uint64_t at)
{
    const struct cli_opts *o = cl->o;

    if (cl->opening_over)
        return false;
    if (o->duration_us != 0 && at >= cl->t0 + o->duration_us) {
        cl_end_opening(cl, cl->t0 + o->duration_us);
        return false;
    }
    if (cl->started >= cl->count) {
        /* The last slot of --rate ends 1/N s after it began; without --rate the attempts
         * take the whole run (cl_run sets open_end at its end). */
        cl_end_opening(cl, o->rate != 0 ? cl_slot_time(cl, cl->started) : TT_TIME_NEVER);
        return false;
    }
    return true;
}

/* --rate: every attempt whose time has come begins, or fails in its slot. */
static void cl_open_paced(struct client *cl)
{
    uint64_t now = cl_now(cl);

    while (cl_may_open(cl, cl_slot_time(cl, cl->started)) && cl_slot_time(cl, cl->started) <= now) {
        if (cl->nfree > 0) {
            (void)cl_start(cl); /* a failure takes its slot of the schedule */
            continue;
        }
        /* Concurrency is full: the attempt fails rather than waits, so the schedule keeps
         * its pace and the offered rate stays the one asked for. */
        uint64_t idx = cl_begin(cl);
        cl_fail_attempt(cl, idx, "EBUSY", "connect: %s (%llu connections open: --concurrency)",
                        tt_strerror(-EBUSY), (unsigned long long)cl->nslots);
    }
}

/* Without --rate: fill the free slots, unless an attempt is waiting for a port. An attempt
 * that failed at once (no memory; the first without a port) frees its slot at once: the next
 * one waits for the next millisecond rather than spinning through --count (or --duration). */
static void cl_open_closed_loop(struct client *cl)
{
    uint64_t now = cl_now(cl);

    cl_retry_port(cl);
    if (now < cl->next_try)
        return;
    while (cl_may_open(cl, now) && cl->port_waiter == NULL && cl->nfree > 0) {
        if (!cl_start(cl)) {
            cl->next_try = now + FAILED_START_GAP;
            return;
        }
    }
}

/* When the next attempt is due (TT_TIME_NEVER: none, or as soon as a slot frees up). */
static uint64_t cl_next_open(struct client *cl)
{
    const struct cli_opts *o = cl->o;
    uint64_t next = TT_TIME_NEVER;

    if (cl->opening_over)
        return TT_TIME_NEVER;
    if (o->rate != 0)
        next = cl_slot_time(cl, cl->started);
    else if (cl->next_try > cl_now(cl))
        next = cl->next_try;
    if (o->duration_us != 0 && cl->t0 + o->duration_us < next)
        next = cl->t0 + o->duration_us;
    return next;
}

/* Fails the attempts whose deadline passed and ends the holds that are over. */
static void cl_expire(struct client *cl, uint64_t now)
{
    for (size_t i = 0; i < cl->nslots; i++) {
        struct echo_conn *ec = &cl->slots[i];
        if (!ec->active || ec->closing)
            continue;
        if (ec->port_wait && ec->deadline <= now) {
            ec_fail_msg(ec, "EADDRNOTAVAIL", "connect: %s (no port free within %llu ms)",
                        tt_strerror(-EADDRNOTAVAIL),
                        (unsigned long long)(cl->o->connect_timeout_us / 1000));
            ec_finish(ec);
        } else if (ec->conn != NULL && ec->deadline <= now) {
            ec_timeout(ec);
        } else if (ec->holding && ec->hold_end <= now) {
            ec_hold_end(ec);
        }
    }
}

/* The earliest deadline or end of a hold left. */
static uint64_t cl_next_deadline(const struct client *cl)
{
    uint64_t next = TT_TIME_NEVER;

    for (size_t i = 0; i < cl->nslots; i++) {
        const struct echo_conn *ec = &cl->slots[i];
        if (!ec->active || ec->closing)
            continue;
        if (ec->deadline < next)
            next = ec->deadline;
        if (ec->port_wait && ec->port_retry < next)
            next = ec->port_retry;
        if (ec->holding && ec->hold_end < next)
            next = ec->hold_end;
    }
    return next;
}

/* This client's share is over: the run ends with the last queue's. */
static void cl_done(struct client *cl, tt_driver_t *drv)
{
    if (cl->sh == NULL) {
        tt_driver_stop(drv, cl->failures > 0 ? 1 : 0);
        return;
    }
    if (cl->done)
        return;
    cl->done = true;
    atomic_fetch_add(&cl->sh->failures, cl->failures);
    if (atomic_fetch_add(&cl->sh->done, 1) + 1 == cl->nq)
        tt_driver_stop(drv, atomic_load(&cl->sh->failures) > 0 ? 1 : 0);
}

/* Each loop iteration: expire, open what is due, then see whether everything is over. */
static void cl_check(tt_driver_t *drv, void *ctx)
{
    struct client *cl = ctx;
    uint64_t now = cl_now(cl), wake;

    if (!cl->running) {
        cl->running = true;
        cl->t0 = now;
        cl->cs.t0 = now;
    }
    cl_sample_tw(cl);
    cl_expire(cl, now);
    if (cl->o->rate != 0)
        cl_open_paced(cl);
    else
        cl_open_closed_loop(cl);
    /* Nothing else may wake the loop when a server is silent or the next slot is due. */
    wake = cl_next_deadline(cl);
    if (cl_next_open(cl) < wake)
        wake = cl_next_open(cl);
    tt_driver_wake_at(drv, wake);
    if (!cl->opening_over || cl->nfree < cl->nslots || tt_engine_conn_count(cl->eng) != 0)
        return;
    if (cl->o->wait_timewait && tt_engine_timewait_count(cl->eng) != 0)
        return;
    cl_done(cl, drv);
}

static void cl_summary(const struct client *cl)
{
    fprintf(stderr, "echo-client: %llu connections, %llu verified, %llu failed\n",
            (unsigned long long)cl->started, (unsigned long long)cl->echoed,
            (unsigned long long)cl->failures);
}

/* SIGINT or SIGTERM ended the run: a success only if every echo had been verified. */
static int cl_interrupted(const struct client *cl, int signum)
{
    const char *sig = signum == SIGINT ? "SIGINT" : "SIGTERM";

    if (cl->opening_over && cl->echoed == cl->started)
        return cl->failures > 0 ? 1 : 0;
    if (cl->count != UINT64_MAX)
        fprintf(stderr, "echo-client: %s before every echo was verified: %llu of %llu verified\n",
                sig, (unsigned long long)cl->echoed, (unsigned long long)cl->count);
    else
        fprintf(stderr, "echo-client: %s before --duration ended: %llu of %llu verified\n", sig,
                (unsigned long long)cl->echoed, (unsigned long long)cl->started);
    return 1;
}

/* --json: the summary, whatever ended the run. */
static int cl_write_json(struct client *cl, int status)
{
    struct cs_run run = {cl_now(cl), cl->opening_over ? cl->open_end : cl_now(cl), cl->o->rate,
                         status};
    bool to_stdout = cl->json == stdout;
    int rc = cs_write_json(&cl->cs, &run, cl->json);

    if ((to_stdout ? fflush(cl->json) : fclose(cl->json)) != 0)
        rc = -EIO;
    cl->json = NULL;
    if (rc < 0) {
        fprintf(stderr, "echo-client: --json %s: %s\n", cl->o->json_path, strerror(-rc));
        return 1;
    }
    return status;
}

/* -v: where the stack runs, on the lead queue. */
static void cl_describe(tt_driver_t *drv)
{
    const char *why, *ctl = tt_driver_ctl_path(drv, &why);
    char off[96];

    fprintf(stderr, "echo-client: interface %s, seed %llu, ISN key %s\n", tt_driver_ifname(drv),
            (unsigned long long)tt_driver_seed(drv),
            tt_driver_isn_key(drv) ? tt_driver_isn_key(drv) : "from the seed");
    if (ctl != NULL)
        fprintf(stderr, "echo-client: control socket %s\n", ctl);
    else
        fprintf(stderr, "echo-client: no control socket (%s)\n", why);
    if (tt_driver_offload(drv, off, sizeof(off)))
        fprintf(stderr, "echo-client: offloads on (TSO4, checksum)\n");
    else
        fprintf(stderr, "echo-client: offloads off (%s)\n", off);
}

/*
 * --queues: the queues' figures into cl[0], once every thread has ended
 * and before opening is ended for the exit: counts summed, opening over
 * when it was over on every queue, the measurements merged onto the
 * earliest start.
 */
static void cl_gather(struct client *cl, size_t nq, const struct cli_opts *o)
{
    struct cl_stats all;
    uint64_t t0 = cl[0].cs.t0;

    for (size_t q = 1; q < nq; q++)
        t0 = cl[q].cs.t0 < t0 ? cl[q].cs.t0 : t0;
    cs_init(&all, t0);
    for (size_t q = 0; q < nq; q++)
        if (cs_merge(&all, &cl[q].cs) < 0)
            all.incomplete = true;
    for (size_t q = 1; q < nq; q++) {
        cl[0].started += cl[q].started;
        cl[0].echoed += cl[q].echoed;
        cl[0].failures += cl[q].failures;
        cl[0].opening_over &= cl[q].opening_over;
    }
    cl[0].count = o->duration_us != 0 && !o->count_set ? UINT64_MAX : o->count;
    cs_free(&cl[0].cs);
    cl[0].cs = all;
}

/* Each queue's client on its driver: its engine, its start, its check. */
static void cl_attach(struct client *cl, size_t nq, tt_driver_t *lead)
{
    for (size_t q = 0; q < nq; q++) {
        cl[q].drv = tt_driver_queue(lead, q);
        cl[q].eng = tt_driver_engine(cl[q].drv);
        cs_init(&cl[q].cs, tt_engine_now(cl[q].eng));
        tt_driver_set_check_cb(cl[q].drv, cl_check, &cl[q]);
    }
}

static int cl_run(struct client *cl, size_t nq, const struct cli_opts *o)
{
    char err[256];
    tt_driver_t *lead;
    int rc = tt_driver_new(&lead, &o->drv, err, sizeof(err));

    if (rc < 0) {
        fprintf(stderr, "echo-client: %s\n", err);
        return 1;
    }
    /* --user: the TUN device is set up and every file is open; the rest needs no privilege. */
    if (cli_drop_privileges(o, stderr) < 0) {
        tt_driver_free(lead);
        return 1;
    }
    if (o->verbose && !o->quiet)
        cl_describe(lead);
    cl_attach(cl, nq, lead);
    rc = tt_driver_run(lead);
    if (nq > 1)
        cl_gather(cl, nq, o);
    if (tt_driver_error(lead) != NULL)
        fprintf(stderr, "echo-client: %s\n", tt_driver_error(lead));
    else if (tt_driver_signal(lead) != 0)
        rc = cl_interrupted(cl, tt_driver_signal(lead));
    rc = rc < 0 ? 1 : rc; /* the device was lost */
    for (size_t q = 0; q < nq; q++) {
        cl_end_opening(&cl[q], cl_now(&cl[q])); /* a signal ended it, or it is already over */
        if (cl[q].open_end == TT_TIME_NEVER)
            cl[q].open_end = cl_now(&cl[q]); /* without --rate: the run's end */
        if (cl[q].open_end > cl[0].open_end)
            cl[0].open_end = cl[q].open_end; /* --queues: the latest end of opening */
    }
    if (o->verbose) {
        tt_driver_print_stats(lead, stderr);
        cl_summary(cl);
    }
    if (cl->json != NULL)
        rc = cl_write_json(cl, rc);
    tt_driver_free(lead);
    return rc;
}

/* What each connection sends and what must come back (--send, --expect, --bytes). */
static void cl_payloads(struct client *cl, const struct cli_opts *o)
{
    cl->send_len = o->send.data != NULL ? o->send.len : o->bytes;
    cl->check = o->expect.data != NULL || o->send.data == NULL;
    cl->check_len = o->expect.data != NULL ? o->expect.len : cl->send_len;
}

/* --count, or no bound when --duration alone ends the opening; --concurrency, or
 * CLI_RATE_CONCURRENCY at --rate; the slots are no more than the attempts can use. */
static void cl_limits(struct client *cl, const struct cli_opts *o)
{
    uint64_t conc = o->concurrency;

    cl->count = o->duration_us != 0 && !o->count_set ? UINT64_MAX : o->count;
    if (o->rate != 0 && !o->concurrency_set)
        conc = CLI_RATE_CONCURRENCY;
    cl->nslots = (size_t)(conc < cl->count ? conc : cl->count);
}

/* --json FILE, opened before the device (and --user), so that a bad path fails first. */
static int cl_open_json(struct client *cl, const struct cli_opts *o)
{
    if (o->json_path == NULL)
        return 0;
    if (strcmp(o->json_path, "-") == 0) {
        cl->json = stdout;
        return 0;
    }
    cl->json = fopen(o->json_path, "we");
    if (cl->json != NULL)
        return 0;
    fprintf(stderr, "echo-client: --json %s: %s\n", o->json_path, strerror(errno));
    return -1;
}

/* Queue q's share of n over nq queues: the first n % nq queues take one more. */
static uint64_t cl_share(uint64_t n, size_t q, size_t nq)
{
    return n / nq + (q < n % nq ? 1 : 0);
}

/* One client: its share of the work (qo, its copy of the options), its slots. */
static int cl_setup(struct client *cl, struct cli_opts *qo, const struct cli_opts *o, size_t q,
                    size_t nq)
{
    *qo = *o;
    if (nq > 1) {
        qo->count = cl_share(o->count, q, nq);
        qo->concurrency = cl_share(o->concurrency, q, nq);
        if (qo->concurrency == 0)
            qo->concurrency = 1;
        qo->rate = cl_share(o->rate, q, nq); /* >= 1: cli.c asks --rate >= --queues */
    }
    cl->o = qo;
    cl->qi = q;
    cl->nq = nq;
    cl_payloads(cl, qo);
    cl_limits(cl, qo);
    cl->slots = calloc(cl->nslots + 1, sizeof(*cl->slots));
    cl->free_slots = calloc(cl->nslots + 1, sizeof(*cl->free_slots));
    if (cl->slots == NULL || cl->free_slots == NULL) {
        fprintf(stderr, "echo-client: %s\n", strerror(ENOMEM));
        return -1;
    }
    /* Slot 0 is used first: the stack's top is the end. */
    for (size_t i = 0; i < cl->nslots; i++)
        cl->free_slots[i] = cl->nslots - 1 - i;
    cl->nfree = cl->nslots;
    return 0;
}

static int cl_main(const struct cli_opts *o)
{
    size_t nq = o->drv.queues > 1 ? o->drv.queues : 1;
    struct client *cl = calloc(nq, sizeof(*cl));
    struct cli_opts *qo = calloc(nq, sizeof(*qo));
    struct cl_shared sh;
    int rc = cl != NULL && qo != NULL ? 0 : -1;

    atomic_init(&sh.done, 0);
    atomic_init(&sh.failures, 0);
    if (rc < 0)
        fprintf(stderr, "echo-client: %s\n", strerror(ENOMEM));
    for (size_t q = 0; q < nq && rc == 0; q++) {
        rc = cl_setup(&cl[q], &qo[q], o, q, nq);
        cl[q].sh = nq > 1 ? &sh : NULL;
    }
    if (rc == 0 && cl_open_json(&cl[0], o) == 0)
        rc = cl_run(cl, nq, o);
    else
        rc = 1;
    if (cl != NULL && cl[0].json != NULL && cl[0].json != stdout)
        fclose(cl[0].json);
    for (size_t q = 0; cl != NULL && q < nq; q++) {
        cs_free(&cl[q].cs);
        free(cl[q].free_slots);
        free(cl[q].slots);
    }
    free(cl);
    free(qo);
    return rc;
}

int main(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_parse(&o, CLI_ECHO_CLIENT, argc, argv, stdout, stderr);

    if (rc == CLI_RUN)
        rc = cl_main(&o);
    else
        rc = rc == CLI_DONE ? 0 : 2;
    cli_free(&o);
    return rc;
}
