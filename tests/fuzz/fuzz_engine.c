/*
 * libFuzzer target on the engine's input path (docs/architecture.md §7).
 *
 * The fuzz input is a small program, so that the fuzzer drives the engine as
 * the driver would: packets, the passing of time and the application's calls,
 * interleaved, reaching every state of RFC 9293 3.3.2 (TIME_WAIT included)
 * rather than only the parser. Layout (the encoding is documented in full in
 * tests/fuzz/README.md and produced by make_corpus.py):
 *
 *   8 bytes of configuration (MSL 1..1000 ms, buffer sizes, MTU, options,
 *   TIME_WAIT knobs, retry limits, ISN secret, start time), then opcodes,
 *   each a byte followed by its operands, until the input ends. A short read
 *   yields zeros, so every input is a valid program.
 *
 * Time moves only through ADVANCE and ADVANCE_NEXT, which call
 * tt_engine_timers() at every tt_engine_next_deadline() on the way, exactly
 * as the driver's loop does. PEER builds a well-formed segment from fields
 * whose sequence numbers are offsets from what the engine last said (its ISS,
 * SND.NXT, RCV.NXT as seen on the wire), so the fuzzer lands in the window
 * without guessing; INPUT and MANGLE supply malformed datagrams; LOOP feeds
 * the engine its own output (a connection to itself, with loss). Those live
 * in fuzz_peer.c; this file holds the program loop, the clock and the
 * application (its callbacks and calls).
 *
 * Invariants are checked in fuzz_model.c on every datagram and event, plus
 * here on every callback and return value. At the end the engine is freed:
 * LeakSanitizer reports anything it did not release.
 *
 * Set TT_FUZZ_TRACE=1 to print the program as it runs (to read a crash).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_model.h"
#include "tuntcp/tuntcp.h"

struct fz g_fz;
uint8_t g_pattern[PKT_MAX + 256];

/* ---- configuration ---- */

static void config_read(struct fz *f)
{
    static const uint32_t bufs[4] = {1024, 4096, 65536, 262144};
    static const uint32_t mtus[4] = {1500, 576, 88, 9000}; /* 88: below 104, the old MSS floor */
    static const uint32_t tw_caps[4] = {262144, 0, 1, 2};
    static const uint64_t fin_timeouts[4] = {60 * SEC, 1 * MS, 100 * MS, 2 * SEC};
    static const int orphan_retries[4] = {0, 1, 2, 15}; /* 0: Linux's 8 */
    tt_config_t *c = &f->cfg;
    uint8_t b0 = rd_u8(&f->in), b3, b4, b5;
    uint16_t msl = rd_u16(&f->in);

    tt_config_init(c);
    c->addr = ENGINE_ADDR;
    c->tcp_timestamps = b0 & 1;
    c->tcp_sack = (b0 >> 1) & 1;
    c->tcp_window_scaling = (b0 >> 2) & 1;
    c->tcp_rfc1337 = (b0 >> 3) & 1;
    c->tcp_tw_reuse = (b0 >> 4) & 1;
    c->delack_us = (b0 & 0x20) ? 40 * MS : 0;
    c->invalid_ratelimit_us = (b0 & 0x40) ? 500 * MS : 0;
    f->auto_accept = !(b0 & 0x80);
    c->msl_us = (1 + msl % 1000) * MS; /* small: TIME_WAIT is reached and left */
    c->tcp_pacing = msl >> 15;         /* the top bit: pacing as under fq */
    b3 = rd_u8(&f->in);
    c->sndbuf = bufs[b3 & 3];
    c->rcvbuf = bufs[(b3 >> 2) & 3];
    c->mtu = mtus[(b3 >> 4) & 3];
    f->cb_close_eof = (b3 >> 6) & 1;
    f->cb_echo = (b3 >> 7) & 1;
    b4 = rd_u8(&f->in);
    c->tcp_max_tw_buckets = tw_caps[b4 & 3];
    if (b4 & 4) { /* two ephemeral ports: EADDRNOTAVAIL is reachable */
        c->port_lo = 40000;
        c->port_hi = 40001;
    }
    c->syn_retries = c->synack_retries = c->retries2 = 1 + ((b4 >> 3) & 7);
    c->fin_timeout_us = fin_timeouts[(b4 >> 6) & 3];
    b5 = rd_u8(&f->in);
    for (int i = 0; i < 16; i++)
        c->isn_secret[i] = (uint8_t)(b5 + 7 * i);
    c->seed = b5;
    c->tcp_orphan_retries = orphan_retries[(b5 >> 5) & 3];
    /* the seed's bit 4 also picks Reno over the default CUBIC: both modules
     * meet the model's cwnd bound (fuzz_model.c check_cwnd) */
    c->tcp_congestion_control = (b5 & 0x10) ? TT_CC_RENO : TT_CC_CUBIC;
    if (b5 & 0x80) { /* no SYN cookies: a small half-open queue instead */
        c->tcp_syncookies = 0;
        c->tcp_max_syn_backlog = 2;
    }
    f->now = 1 * SEC + ((uint64_t)rd_u16(&f->in) << 12); /* up to ~4.5 min */
}

/* ---- the engine's side of the wire ---- */

static void queue_push(struct pktq *q, const uint8_t *pkt, size_t len)
{
    if (len > QUEUE_PKT)
        return;                  /* too big to keep: lost */
    if (q->count == QUEUE_LEN) { /* full: the oldest is lost */
        q->head = (q->head + 1) % QUEUE_LEN;
        q->count--;
    }
    unsigned i = (q->head + q->count) % QUEUE_LEN;
    memcpy(q->buf[i], pkt, len);
    q->len[i] = (uint16_t)len;
    q->count++;
}

static void on_output(void *ctx, const uint8_t *pkt, size_t len)
{
    struct fz *f = ctx;

    model_check_output(&f->model, pkt, len);
    queue_push(&f->outq, pkt, len);
}

static void on_event(void *ctx, const tt_event_t *ev)
{
    struct fz *f = ctx;

    model_check_event(&f->model, ev);
}

void feed(struct fz *f, const uint8_t *pkt, size_t len)
{
    f->ops++; /* each datagram may create one TCB: the bound on conn_count */
    model_note_input(&f->model, f->eng, pkt, len);
    tt_engine_input(f->eng, pkt, len, f->now);
    model_input_done(&f->model);
}

/* ---- the clock ---- */

/* The driver's loop: timers at each deadline up to target, then target. */
static void run_until(struct fz *f, uint64_t target)
{
    for (unsigned steps = 0;; steps++) {
        uint64_t d = tt_engine_next_deadline(f->eng);
        if (d == TT_TIME_NEVER || d > target)
            break;
        FZ_CHECK(steps < ADVANCE_MAX_STEPS, "timers: no progress after %u deadlines", steps);
        if (d > f->now)
            f->now = d; /* a deadline in the past runs now */
        f->model.now = f->now;
        tt_engine_timers(f->eng, f->now);
        uint64_t next = tt_engine_next_deadline(f->eng);
        /* What was due has run: the next deadline lies in the future. */
        FZ_CHECK(next == TT_TIME_NEVER || next > f->now,
                 "next_deadline %" PRIu64 " <= now %" PRIu64 " right after timers()", next, f->now);
    }
    f->now = target;
    f->model.now = target;
}

static void op_advance(struct fz *f)
{
    uint64_t d = rd_varint(&f->in);
    TRACE(f, "ADVANCE %" PRIu64 " us\n", d);
    run_until(f, f->now + d);
}

/* To the next deadline, give or take a few µs: both sides of every timer. */
static void op_advance_next(struct fz *f)
{
    int8_t delta = (int8_t)rd_u8(&f->in);
    uint64_t d = tt_engine_next_deadline(f->eng);
    TRACE(f, "ADVANCE_NEXT %+d (deadline %" PRIu64 ")\n", delta, d);
    if (d == TT_TIME_NEVER)
        return;
    if (d < f->now)
        d = f->now;
    if (delta < 0 && d - f->now < (uint64_t)-delta)
        d = f->now;
    else
        d += (uint64_t)(int64_t)delta;
    run_until(f, d);
}

/* ---- application callbacks ---- */

static struct slot *slot_of(tt_conn_t *c)
{
    struct slot *s = tt_conn_get_data(c);
    FZ_CHECK(s && s->used && s->c == c, "callback on a handle the application does not hold");
    return s;
}

static void slot_free(struct slot *s)
{
    memset(s, 0, sizeof(*s));
}

static void on_close(tt_conn_t *c, int status)
{
    struct slot *s = slot_of(c);
    model_check_callback(&g_fz.model);
    FZ_CHECK(s->closing, "close_cb without a close");
    FZ_CHECK(status == 0 || status == -ETIMEDOUT, "close_cb status %d", status);
    /* docs/contract.md §2.3 SO_LINGER {on, N}: the timeout is reported N s after close. */
    FZ_CHECK(status == 0 || (s->linger_on && s->linger_s > 0 &&
                             g_fz.now == s->close_at + (uint64_t)s->linger_s * SEC),
             "close_cb(-ETIMEDOUT) at %" PRIu64 ", closed at %" PRIu64 " with linger %d/%u",
             g_fz.now, s->close_at, s->linger_on, s->linger_s);
    TRACE(&g_fz, "  close_cb slot %u status %d\n", (unsigned)(s - g_fz.slots), status);
    slot_free(s);
}

static void app_close(struct fz *f, struct slot *s, bool reset)
{
    tt_conn_info_t info;

    tt_conn_get_info(s->c, &info);
    reset = reset || (s->linger_on && s->linger_s == 0); /* SO_LINGER {on, 0} */
    s->closing = true;
    s->close_at = f->now;
    int r = reset ? tt_conn_close_reset(s->c, on_close) : tt_conn_close(s->c, on_close);
    FZ_CHECK(r == 0, "close returned %d", r);
    /* A handle whose connection already ended (CLOSED, or TIME_WAIT entered
     * while the app held it) has nothing left to abort. */
    if (reset && info.state != TT_STATE_CLOSED && info.state != TT_STATE_TIME_WAIT)
        model_check_aborted(&f->model, info.raddr, info.lport, info.rport);
}

/* Writes n bytes of the pattern: byte k of the stream is (uint8_t)(ISS + 1 + k). */
static void app_write(struct fz *f, struct slot *s, size_t n)
{
    if (!s->wpure)
        f->model.pure_out = false;
    const uint8_t *p = &g_pattern[(uint8_t)(s->wbase + s->wr_off)];
    ssize_t r = tt_conn_write(s->c, p, n);
    TRACE(f, "  write %zu -> %zd\n", n, r);
    FZ_CHECK(r <= (ssize_t)n, "write of %zu returned %zd", n, r);
    FZ_CHECK(r >= 0 || r == -EPIPE || r == -ENOTCONN || r == -ECONNRESET || r == -ETIMEDOUT ||
                 r == -ECONNREFUSED,
             "write returned %zd", r);
    if (r > 0 && s->used) /* the slot may be gone: a callback closed it */
        s->wr_off += (uint64_t)r;
}

size_t pattern_prefix(const uint8_t *buf, size_t n, uint8_t first)
{
    size_t done = 0;

    while (done < n) {
        size_t piece = n - done < PKT_MAX ? n - done : PKT_MAX;
        const uint8_t *want = &g_pattern[(uint8_t)(first + done)];
        if (memcmp(buf + done, want, piece) != 0) {
            while (buf[done] == want[0]) { /* the first difference */
                done++;
                want++;
            }
            return done;
        }
        done += piece;
    }
    return n;
}

static void check_stream(struct fz *f, struct slot *s, const uint8_t *buf, size_t n)
{
    if (!f->model.pure_in || n == 0)
        return;
    if (!s->rx_have) { /* the first byte read sets where the stream is */
        s->rx_have = true;
        s->rx_next = buf[0];
    }
    size_t i = pattern_prefix(buf, n, s->rx_next);
    FZ_CHECK(i == n, "read: byte %zu of %zu is %02x, the stream needs %02x", i, n,
             i < n ? buf[i] : 0, (uint8_t)(s->rx_next + i));
    s->rx_next = (uint8_t)(s->rx_next + n);
}

/* RFC 9293 3.10.3: data, then at most one EOF, and nothing after an error. */
static void on_read(tt_conn_t *c, const uint8_t *buf, ssize_t nread)
{
    struct fz *f = &g_fz;
    struct slot *s = slot_of(c);

    model_check_callback(&f->model);
    FZ_CHECK(!s->closing, "read_cb after close");
    FZ_CHECK(!s->failed, "read_cb after an error was reported");
    FZ_CHECK(nread != 0, "read_cb with nread 0");
    TRACE(f, "  read_cb slot %u nread %zd\n", (unsigned)(s - f->slots), nread);
    if (nread > 0) {
        FZ_CHECK(!s->eof, "read_cb with %zd bytes after EOF", nread);
        check_stream(f, s, buf, (size_t)nread);
        if (f->cb_echo)
            app_write(f, s, (size_t)nread);
        return;
    }
    if (nread == TT_EOF) {
        FZ_CHECK(!s->eof, "a second EOF");
        const struct flow *fl = model_flow(&f->model, s->raddr, s->lport, s->rport, false);
        FZ_CHECK(f->model.evicted || (fl && fl->fin_seen), "EOF without a FIN from the peer");
        s->eof = true;
    } else {
        s->failed = true;
    }
    if (f->cb_close_eof && !s->closing)
        app_close(f, s, false);
}

static void on_writable(tt_conn_t *c)
{
    struct slot *s = slot_of(c);
    model_check_callback(&g_fz.model);
    FZ_CHECK(!s->closing, "writable_cb after close");
}

static struct slot *slot_alloc(struct fz *f)
{
    for (unsigned i = 0; i < N_SLOTS; i++) {
        if (!f->slots[i].used)
            return &f->slots[i];
    }
    return NULL;
}

/* The pattern's start for the connection's own ISS, as seen on the wire. */
static void slot_learn_iss(struct fz *f, struct slot *s)
{
    tt_conn_info_t info;
    tt_conn_get_info(s->c, &info);
    s->raddr = info.raddr;
    s->lport = info.lport;
    s->rport = info.rport;
    struct flow *fl = model_flow(&f->model, info.raddr, info.lport, info.rport, false);
    s->wpure = fl && fl->have_iss;
    s->wbase = s->wpure ? (uint8_t)(fl->eng_iss + 1) : 0;
}

static void adopt(struct fz *f, struct slot *s, tt_conn_t *c, bool active)
{
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->c = c;
    s->active = active;
    tt_conn_set_data(c, s);
    slot_learn_iss(f, s);
    tt_conn_set_writable_cb(c, on_writable);
    int r = tt_conn_read_start(c, on_read);
    FZ_CHECK(r == 0, "read_start on a new connection returned %d", r);
}

static void accept_one(struct fz *f, tt_listener_t *l)
{
    struct slot *s = slot_alloc(f);
    tt_conn_t *c;

    if (!s || tt_accept(l, &c) != 0)
        return;
    TRACE(f, "  accept -> slot %u\n", (unsigned)(s - f->slots));
    adopt(f, s, c, false);
}

static void on_connection(tt_listener_t *l, int status)
{
    struct fz *f = &g_fz;

    model_check_callback(&f->model);
    FZ_CHECK(status == 0, "connection_cb status %d", status);
    if (f->auto_accept)
        accept_one(f, l);
}

/* tuntcp.h: connect_cb reports 0, -ECONNREFUSED, -ETIMEDOUT or -ECONNRESET, once. */
static void on_connect(tt_conn_t *c, int status)
{
    struct slot *s = slot_of(c);

    model_check_callback(&g_fz.model);
    TRACE(&g_fz, "  connect_cb slot %u status %d\n", (unsigned)(s - g_fz.slots), status);
    FZ_CHECK(!s->closing, "connect_cb after close");
    FZ_CHECK(s->active && !s->connected, "connect_cb twice");
    FZ_CHECK(status == 0 || status == -ECONNREFUSED || status == -ETIMEDOUT ||
                 status == -ECONNRESET,
             "connect_cb status %d (%s)", status, tt_strerror(status));
    s->connected = true;
}

/* ---- application operations ---- */

static struct slot *op_slot(struct fz *f)
{
    struct slot *s = &f->slots[rd_u8(&f->in) % N_SLOTS];
    if (!s->used || s->closing)
        return NULL;
    tt_engine_set_now(f->eng, f->now); /* the app runs at the loop's time */
    return s;
}

static void op_listen(struct fz *f)
{
    uint8_t b = rd_u8(&f->in);
    struct lslot *ls = &f->listeners[b % N_LISTENERS];
    uint16_t port = our_ports[(b >> 2) & 3];
    int backlog = 1 + ((b >> 4) & 3);
    tt_listener_t *l;

    TRACE(f, "LISTEN %u backlog %d\n", port, backlog);
    if (ls->l)
        return;
    tt_engine_set_now(f->eng, f->now);
    int r = tt_listen(f->eng, port, backlog, on_connection, &l);
    FZ_CHECK(r == 0 || r == -EADDRINUSE, "listen returned %d", r);
    if (r == 0) {
        ls->l = l;
        ls->port = port;
    }
}

static void op_listener_close(struct fz *f)
{
    struct lslot *ls = &f->listeners[rd_u8(&f->in) % N_LISTENERS];

    TRACE(f, "LISTENER_CLOSE %u\n", ls->port);
    if (!ls->l)
        return;
    tt_engine_set_now(f->eng, f->now);
    tt_listener_close(ls->l);
    memset(ls, 0, sizeof(*ls));
}

static void op_accept(struct fz *f)
{
    struct lslot *ls = &f->listeners[rd_u8(&f->in) % N_LISTENERS];

    TRACE(f, "ACCEPT %u\n", ls->port);
    if (!ls->l)
        return;
    tt_engine_set_now(f->eng, f->now);
    accept_one(f, ls->l);
}

static void op_connect(struct fz *f)
{
    uint8_t b = rd_u8(&f->in);
    uint32_t raddr = peer_addrs[b & 3];
    uint16_t rport = peer_ports[(b >> 2) & 3];
    struct slot *s = slot_alloc(f);
    tt_conn_t *c;

    TRACE(f, "CONNECT %08" PRIx32 ":%u\n", raddr, rport);
    if (!s)
        return;
    tt_engine_set_now(f->eng, f->now);
    int r = tt_connect(f->eng, raddr, rport, on_connect, &c);
    FZ_CHECK(r == 0 || r == -EADDRNOTAVAIL, "connect returned %d", r);
    if (r == 0)
        adopt(f, s, c, true);
}

static void op_write(struct fz *f)
{
    struct slot *s = op_slot(f);
    size_t n = rd_u16(&f->in);

    TRACE(f, "WRITE %zu\n", n);
    if (s)
        app_write(f, s, n);
}

static void op_shutdown(struct fz *f)
{
    struct slot *s = op_slot(f);

    TRACE(f, "SHUTDOWN\n");
    if (!s)
        return;
    int r = tt_conn_shutdown(s->c);
    FZ_CHECK(r == 0 || r == -ENOTCONN, "shutdown returned %d", r);
}

static void op_close(struct fz *f, bool reset)
{
    struct slot *s = op_slot(f);

    TRACE(f, "%s\n", reset ? "CLOSE_RESET" : "CLOSE");
    if (s)
        app_close(f, s, reset);
}

static void op_linger(struct fz *f)
{
    struct slot *s = op_slot(f);
    uint8_t b = rd_u8(&f->in);

    TRACE(f, "LINGER on %d secs %u\n", b & 1, (b >> 1) & 3);
    if (!s)
        return;
    FZ_CHECK(tt_conn_set_linger(s->c, b & 1, (b >> 1) & 3) == 0, "set_linger failed");
    s->linger_on = b & 1;
    s->linger_s = (b >> 1) & 3;
}

static void op_read(struct fz *f)
{
    struct slot *s = op_slot(f);
    uint8_t b = rd_u8(&f->in);

    TRACE(f, "READ %s\n", (b & 1) ? "START" : "STOP");
    if (!s)
        return;
    int r = (b & 1) ? tt_conn_read_start(s->c, on_read) : tt_conn_read_stop(s->c);
    FZ_CHECK(r == 0, "read start/stop returned %d", r);
}

/* ---- the program ---- */

static void run_op(struct fz *f, enum op op)
{
    switch (op) {
    case OP_PEER:
        op_peer(f);
        break;
    case OP_ADVANCE:
        op_advance(f);
        break;
    case OP_ADVANCE_NEXT:
        op_advance_next(f);
        break;
    case OP_INPUT:
        op_input(f);
        break;
    case OP_LISTEN:
        op_listen(f);
        break;
    case OP_CONNECT:
        op_connect(f);
        break;
    case OP_ACCEPT:
        op_accept(f);
        break;
    case OP_WRITE:
        op_write(f);
        break;
    case OP_SHUTDOWN:
        op_shutdown(f);
        break;
    case OP_CLOSE:
        op_close(f, false);
        break;
    case OP_CLOSE_RESET:
        op_close(f, true);
        break;
    case OP_LINGER:
        op_linger(f);
        break;
    case OP_READ:
        op_read(f);
        break;
    case OP_LISTENER_CLOSE:
        op_listener_close(f);
        break;
    case OP_LOOP:
        op_loop(f);
        break;
    case OP_MANGLE:
        op_mangle(f);
        break;
    case OP_PING:
        op_ping(f);
        break;
    default:
        break;
    }
}

static void fz_start(struct fz *f, const uint8_t *data, size_t size)
{
    memset(f->slots, 0, sizeof(f->slots));
    memset(f->listeners, 0, sizeof(f->listeners));
    f->outq.head = f->outq.count = 0;
    f->last_len = 0;
    f->ops = 0;
    f->ip_id = 1;
    f->in = (struct reader){.p = data, .len = size};
    f->trace = getenv("TT_FUZZ_TRACE") != NULL;
    config_read(f);
    model_init(&f->model, &f->cfg, f->trace);
    f->model.now = f->now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz *f = &g_fz;

    if (g_pattern[1] == 0) {
        for (size_t i = 0; i < sizeof(g_pattern); i++)
            g_pattern[i] = (uint8_t)i;
    }
    fz_start(f, data, size);
    int r = tt_engine_new(&f->eng, &f->cfg, on_output, f, f->now);
    FZ_CHECK(r == 0, "tt_engine_new: %d", r);
    f->model.eng = f->eng;
    tt_engine_set_event_cb(f->eng, on_event, f);
    while (!rd_done(&f->in)) {
        f->ops++;
        run_op(f, (enum op)(rd_u8(&f->in) % OP_COUNT));
        model_check_engine(&f->model, f->eng, f->ops);
    }
    f->model.dirty = true; /* a last full comparison, events or not */
    model_check_engine(&f->model, f->eng, f->ops);
    tt_engine_free(f->eng);
    f->model.eng = NULL;
    f->eng = NULL;
    return 0;
}
