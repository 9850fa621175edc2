/*
 * echo-client (docs/contract.md §3.4): makes --count connections, at most --concurrency
 * at a time, sends --bytes of a known pattern on each and checks that the
 * same bytes come back; --send sends a payload of the user's instead,
 * checked against --expect, or not at all. By default the client closes first once its echo
 * is verified (it takes TIME_WAIT); with --close-wait it waits for the
 * server's FIN (the passive close). Every connection is tried even when
 * others fail; each failure is one line naming the operation and the errno
 * text, and the exit status is 1 if there was any.
 *
 * It exits once every connection has left the engine (FIN exchange done),
 * and with --wait-timewait only once the TIME_WAIT entries expired too.
 * --connect-timeout and --timeout bound the wait for a server that does not
 * answer or does not echo: the connection fails with ETIMEDOUT and is reset,
 * so that it leaves the engine at once (a graceful close could sit in
 * FIN_WAIT_2 for --tcp-fin-timeout). SIGINT or SIGTERM before every echo
 * was verified exits 1, saying how many were.
 * Losing the TUN device ends the run at once: one line naming the device
 * and the errno text, exit 1, the pcap and trace flushed.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CHUNK 4096

struct client;

struct echo_conn {
    struct client *cl;
    tt_conn_t *conn; /* NULL: the slot is free */
    uint64_t idx;    /* connection number, from 1 */
    uint64_t sent, verified;
    uint64_t deadline; /* of --connect-timeout or --timeout (engine µs); TT_TIME_NEVER: none */
    bool failed, echo_ok, closing, established;
};

struct client {
    const struct cli_opts *o;
    tt_driver_t *drv;
    tt_engine_t *eng;
    struct echo_conn *slots;
    size_t nslots;
    uint64_t started, finished, failures;
    uint64_t echoed;    /* connections whose echo was verified */
    uint64_t send_len;  /* bytes sent on each connection: --send's, or --bytes of the pattern */
    uint64_t check_len; /* bytes that must come back: --expect's, or the pattern sent */
    bool check;         /* false: --send without --expect, what comes back is not checked */
};

/* The byte at offset off of connection idx: differs between connections and 256-byte blocks. */
static uint8_t pattern(uint64_t idx, uint64_t off)
{
    return (uint8_t)(off * 131 + (off >> 8) * 7 + idx * 17);
}

static void ec_fail_msg(struct echo_conn *ec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line per failed connection: only its first failure is reported. */
static void ec_fail_msg(struct echo_conn *ec, const char *fmt, ...)
{
    va_list ap;

    if (ec->failed)
        return;
    ec->failed = true;
    ec->cl->failures++;
    fprintf(stderr, "echo-client: connection %llu: ", (unsigned long long)ec->idx);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void ec_fail(struct echo_conn *ec, const char *op, int err)
{
    ec_fail_msg(ec, "%s: %s", op, tt_strerror(err));
}

static void ec_finish(struct echo_conn *ec)
{
    ec->conn = NULL;
    ec->cl->finished++;
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

/* Progress was made: --timeout counts from now. */
static void ec_progress(struct echo_conn *ec)
{
    const struct cli_opts *o = ec->cl->o;

    if (o->timeout_us != 0 && !ec->closing)
        ec->deadline = tt_engine_now(ec->cl->eng) + o->timeout_us;
}

static void ec_timeout(struct echo_conn *ec)
{
    const struct cli_opts *o = ec->cl->o;

    if (!ec->established)
        ec_fail_msg(ec, "connect: %s (not established within %llu ms)", tt_strerror(-ETIMEDOUT),
                    (unsigned long long)(o->connect_timeout_us / 1000));
    else
        ec_fail_msg(ec,
                    "timeout: %s (no progress for %llu ms; %llu of %llu bytes sent, %llu echoed)",
                    tt_strerror(-ETIMEDOUT), (unsigned long long)(o->timeout_us / 1000),
                    (unsigned long long)ec->sent, (unsigned long long)ec->cl->send_len,
                    (unsigned long long)ec->verified);
    ec_close_how(ec, true);
}

static void ec_echo_done(struct echo_conn *ec)
{
    ec->echo_ok = true;
    ec->cl->echoed++;
    if (!ec->cl->o->close_wait)
        ec_close(ec); /* the active close: this side will hold TIME_WAIT */
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
            ec_fail_msg(ec,
                        expect ? "verify: more bytes than the %llu of --expect"
                               : "verify: more bytes echoed than the %llu sent",
                        (unsigned long long)cl->check_len);
            return false;
        }
        if (buf[i] != (expect ? expect[off] : pattern(ec->idx, off))) {
            ec_fail_msg(ec,
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

    if (!ec->echo_ok && cl->check && ec->verified < cl->check_len)
        ec_fail_msg(ec, "read: connection closed by the server after %llu of %llu bytes",
                    (unsigned long long)ec->verified, (unsigned long long)cl->check_len);
    else if (!ec->echo_ok)
        ec_fail_msg(ec, "read: connection closed by the server after %llu of %llu bytes were sent",
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
    const struct cli_opts *o = ec->cl->o;
    int rc;

    if (status < 0) {
        ec_fail(ec, "connect", status);
        ec_close(ec);
        return;
    }
    ec->established = true;
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

static void cl_start(struct client *cl, struct echo_conn *ec)
{
    const struct cli_opts *o = cl->o;
    tt_conn_t *conn;
    int rc;

    memset(ec, 0, sizeof(*ec));
    ec->cl = cl;
    ec->idx = ++cl->started;
    ec->deadline = TT_TIME_NEVER;
    if (o->connect_timeout_us != 0)
        ec->deadline = tt_engine_now(cl->eng) + o->connect_timeout_us;
    rc = tt_connect(cl->eng, o->raddr, o->rport, ec_on_connect, &conn);
    if (rc < 0) {
        ec_fail(ec, "connect", rc);
        cl->finished++;
        return;
    }
    ec->conn = conn;
    tt_conn_set_data(conn, ec);
}

/* Fails the connections whose deadline passed; returns the earliest one left. */
static uint64_t cl_deadlines(struct client *cl)
{
    uint64_t now = tt_engine_now(cl->eng), next = TT_TIME_NEVER;

    for (size_t i = 0; i < cl->nslots; i++) {
        struct echo_conn *ec = &cl->slots[i];
        if (ec->conn != NULL && !ec->closing && ec->deadline <= now)
            ec_timeout(ec);
    }
    for (size_t i = 0; i < cl->nslots; i++) {
        struct echo_conn *ec = &cl->slots[i];
        if (ec->conn != NULL && !ec->closing && ec->deadline < next)
            next = ec->deadline;
    }
    return next;
}

/* Each loop iteration: time out, fill the free slots, then see whether everything is over. */
static void cl_check(tt_driver_t *drv, void *ctx)
{
    struct client *cl = ctx;

    cl_deadlines(cl);
    for (size_t i = 0; i < cl->nslots; i++) {
        while (cl->slots[i].conn == NULL && cl->started < cl->o->count)
            cl_start(cl, &cl->slots[i]);
    }
    /* Nothing else may wake the loop when a server is silent. */
    tt_driver_wake_at(drv, cl_deadlines(cl));
    if (cl->finished < cl->o->count || tt_engine_conn_count(cl->eng) != 0)
        return;
    if (cl->o->wait_timewait && tt_engine_timewait_count(cl->eng) != 0)
        return;
    tt_driver_stop(drv, cl->failures > 0 ? 1 : 0);
}

static void cl_summary(const struct client *cl)
{
    fprintf(stderr, "echo-client: %llu connections, %llu verified, %llu failed\n",
            (unsigned long long)cl->started, (unsigned long long)(cl->finished - cl->failures),
            (unsigned long long)cl->failures);
}

/* SIGINT or SIGTERM ended the run: a success only if every echo had been verified. */
static int cl_interrupted(const struct client *cl, int signum)
{
    if (cl->echoed < cl->o->count) {
        fprintf(stderr, "echo-client: %s before every echo was verified: %llu of %llu verified\n",
                signum == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)cl->echoed,
                (unsigned long long)cl->o->count);
        return 1;
    }
    return cl->failures > 0 ? 1 : 0;
}

static int cl_run(struct client *cl, const struct cli_opts *o)
{
    char err[256];
    int rc = tt_driver_new(&cl->drv, &o->drv, err, sizeof(err));

    if (rc < 0) {
        fprintf(stderr, "echo-client: %s\n", err);
        return 1;
    }
    /* --user: the TUN device is set up and every file is open; the rest needs no privilege. */
    if (cli_drop_privileges(o, stderr) < 0) {
        tt_driver_free(cl->drv);
        return 1;
    }
    cl->eng = tt_driver_engine(cl->drv);
    if (o->verbose && !o->quiet)
        fprintf(stderr, "echo-client: interface %s, seed %llu, ISN key %s\n",
                tt_driver_ifname(cl->drv), (unsigned long long)tt_driver_seed(cl->drv),
                tt_driver_isn_key(cl->drv) ? tt_driver_isn_key(cl->drv) : "from the seed");
    tt_driver_set_check_cb(cl->drv, cl_check, cl);
    rc = tt_driver_run(cl->drv);
    if (tt_driver_error(cl->drv) != NULL)
        fprintf(stderr, "echo-client: %s\n", tt_driver_error(cl->drv));
    else if (tt_driver_signal(cl->drv) != 0)
        rc = cl_interrupted(cl, tt_driver_signal(cl->drv));
    if (o->verbose) {
        tt_driver_print_stats(cl->drv, stderr);
        cl_summary(cl);
    }
    tt_driver_free(cl->drv);
    return rc < 0 ? 1 : rc; /* the device was lost */
}

/* What each connection sends and what must come back (--send, --expect, --bytes). */
static void cl_payloads(struct client *cl, const struct cli_opts *o)
{
    cl->send_len = o->send.data != NULL ? o->send.len : o->bytes;
    cl->check = o->expect.data != NULL || o->send.data == NULL;
    cl->check_len = o->expect.data != NULL ? o->expect.len : cl->send_len;
}

static int cl_main(const struct cli_opts *o)
{
    struct client cl;
    int rc;

    memset(&cl, 0, sizeof(cl));
    cl.o = o;
    cl_payloads(&cl, o);
    cl.nslots = (size_t)(o->concurrency < o->count ? o->concurrency : o->count);
    cl.slots = calloc(cl.nslots, sizeof(*cl.slots));
    if (cl.slots == NULL) {
        fprintf(stderr, "echo-client: %s\n", strerror(ENOMEM));
        return 1;
    }
    rc = cl_run(&cl, o);
    free(cl.slots);
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
