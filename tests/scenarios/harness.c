/*
 * Scenario harness (see harness.h): one engine, a scripted peer, a virtual
 * clock, and exact expectations on every segment the engine sends.
 */
#include "harness.h"
#include "checksum.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- failures, reported at the test's own line ---- */

static void h_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void h_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint_error(fmt, ap);
    va_end(ap);
    print_error("\n");
    _fail(file, line);
}

static double rel_s(uint64_t t)
{
    return (double)(int64_t)(t - H_T0) / 1e6;
}

static void flags_str(uint8_t f, char *buf, size_t cap)
{
    static const struct {
        uint8_t bit;
        const char *name;
    } names[] = {{TCP_SYN, "SYN"}, {TCP_FIN, "FIN"}, {TCP_RST, "RST"}, {TCP_PSH, "PSH"},
                 {TCP_ACK, "ACK"}, {TCP_URG, "URG"}, {TCP_ECE, "ECE"}, {TCP_CWR, "CWR"}};
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(f & names[i].bit))
            continue;
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "," : "", names[i].name);
        if (n >= cap)
            return;
    }
}

/* "<SEQ=ISS+1><ACK=IRS+2><CTL=FIN,ACK> len 0", relative to this harness. */
static void seg_str(const struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack, size_t len,
                    char *buf, size_t cap)
{
    char f[48];

    flags_str(flags, f, sizeof(f));
    if (flags & TCP_ACK)
        snprintf(buf, cap, "<SEQ=ISS%+" PRId32 "><ACK=IRS%+" PRId32 "><CTL=%s> len %zu",
                 (int32_t)(seq - h->iss), (int32_t)(ack - h->irs), f, len);
    else
        snprintf(buf, cap, "<SEQ=ISS%+" PRId32 " (%" PRIu32 ")><CTL=%s> len %zu",
                 (int32_t)(seq - h->iss), seq, f, len);
}

/* ---- engine callbacks ---- */

static void record_output(struct harness *h, const uint8_t *pkt, size_t len);

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * A GSO datagram (tt_engine_output_gso_size()) cut as the kernel's TSO
 * cuts it (Linux tcp_gso_segment(), inet_gso_segment()): the header copied
 * before each mss bytes, SEQ advanced, the IP ID counting up, PSH and FIN
 * on the last segment only, CWR on the first only, each TCP checksum the
 * pseudo-header's sum for its length (left partial, CHECKSUM_PARTIAL).
 */
static void cut_gso(struct harness *h, const uint8_t *pkt, size_t len, size_t mss)
{
    size_t hlen = IPV4_HDR_LEN + (size_t)(pkt[IPV4_HDR_LEN + 12] >> 4) * 4;
    uint8_t seg[IPV4_HDR_LEN + 60 + 65536];
    size_t data = len - hlen;

    for (size_t off = 0, i = 0; off < data; off += mss, i++) {
        size_t n = data - off < mss ? data - off : mss, total = hlen + n;
        uint8_t *tcp = seg + IPV4_HDR_LEN;
        memcpy(seg, pkt, hlen);
        memcpy(seg + hlen, pkt + hlen + off, n);
        wr16(seg + 2, (uint32_t)total);
        wr16(seg + 4, (uint32_t)((pkt[4] << 8 | pkt[5]) + i));
        wr16(seg + 10, 0);
        wr16(seg + 10, tt_csum_ipv4_hdr(seg));
        uint32_t seq = rd32(pkt + IPV4_HDR_LEN + 4) + (uint32_t)off;
        wr16(tcp + 4, seq >> 16);
        wr16(tcp + 6, seq);
        if (off + n < data)
            tcp[13] &= (uint8_t) ~(TCP_PSH | TCP_FIN);
        if (i > 0)
            tcp[13] &= (uint8_t)~TCP_CWR;
        uint32_t pseudo = tt_csum_pseudo(rd32(seg + 12), rd32(seg + 16), IP_PROTO_TCP,
                                         (uint16_t)(total - IPV4_HDR_LEN));
        wr16(tcp + 16, (uint16_t)~tt_csum_fold(pseudo));
        record_output(h, seg, total);
    }
}

static void on_output(void *ctx, const uint8_t *pkt, size_t len)
{
    struct harness *h = ctx;
    uint16_t gso = tt_engine_output_gso_size(h->eng);

    if (h->on_output)
        h->on_output(h, pkt, len);
    if (gso > 0)
        h_output_gso(h, pkt, len, gso);
    else
        record_output(h, pkt, len);
}

void h_output_gso(struct harness *h, const uint8_t *pkt, size_t len, uint16_t mss)
{
    h->gso_dgrams++;
    cut_gso(h, pkt, len, mss);
}

static void record_output(struct harness *h, const uint8_t *pkt, size_t len)
{
    struct ipv4_hdr ip;

    if (h->out_len == h->out_cap) {
        h->out_cap = h->out_cap ? 2 * h->out_cap : 64;
        h->out = realloc(h->out, h->out_cap * sizeof(*h->out));
        if (!h->out)
            abort();
    }
    struct h_seg *s = &h->out[h->out_len++];
    memset(s, 0, sizeof(*s));
    s->bytes = malloc(len ? len : 1);
    if (!s->bytes)
        abort();
    memcpy(s->bytes, pkt, len);
    s->len = len;
    s->at_us = h->now;
    s->parse_err = tt_ipv4_parse(s->bytes, len, &ip);
    if (s->parse_err != IPV4_OK)
        return;
    s->proto = ip.proto;
    if (ip.proto == IP_PROTO_TCP)
        s->parse_err = tt_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &s->seg);
}

static void on_event(void *ctx, const tt_event_t *ev)
{
    struct harness *h = ctx;

    if (h->ev_len == h->ev_cap) {
        h->ev_cap = h->ev_cap ? 2 * h->ev_cap : 64;
        h->ev = realloc(h->ev, h->ev_cap * sizeof(*h->ev));
        if (!h->ev)
            abort();
    }
    h->ev[h->ev_len++] = *ev;
}

static void on_read(tt_conn_t *conn, const uint8_t *buf, ssize_t nread)
{
    struct harness *h = tt_conn_get_data(conn);

    if (nread > 0) {
        size_t n = (size_t)nread;
        if (h->rx_len + n > h->rx_cap) {
            h->rx_cap = (h->rx_len + n) * 2;
            h->rx = realloc(h->rx, h->rx_cap);
            if (!h->rx)
                abort();
        }
        memcpy(h->rx + h->rx_len, buf, n);
        h->rx_len += n;
    } else if (nread == TT_EOF) {
        h->eof_calls++;
    } else {
        h->read_err = nread;
    }
    if (h->on_read)
        h->on_read(h, buf, nread);
}

static void on_writable(tt_conn_t *conn)
{
    struct harness *h = tt_conn_get_data(conn);

    h->writable_calls++;
}

void h_adopt(struct harness *h, tt_conn_t *c)
{
    h->conn = c;
    tt_conn_set_data(c, h);
    tt_conn_set_writable_cb(c, on_writable);
    tt_conn_read_start(c, on_read);
}

static void on_connection(tt_listener_t *l, int status)
{
    struct harness *h = tt_listener_get_data(l);
    tt_conn_t *c;

    h->connection_calls++;
    h->connection_status = status;
    if (status == 0 && h->auto_accept && tt_accept(l, &c) == 0)
        h_adopt(h, c);
}

static void on_connect(tt_conn_t *c, int status)
{
    struct harness *h = tt_conn_get_data(c);

    h->connect_calls++;
    h->connect_status = status;
    if (status == 0)
        h_adopt(h, c);
}

static void on_close(tt_conn_t *c, int status)
{
    struct harness *h = tt_conn_get_data(c);

    h->close_calls++;
    h->close_status = status;
    h->close_at = h->now;
    if (h->conn == c)
        h->conn = NULL;
}

/* ---- setup ---- */

void h_default_config(tt_config_t *cfg)
{
    tt_config_init(cfg);
    cfg->addr = H_ENGINE_ADDR;
    cfg->msl_us = 1 * SEC;
    cfg->tcp_timestamps = 0;
    cfg->tcp_sack = 0;
    cfg->tcp_window_scaling = 0;
    cfg->delack_us = 0;
    for (int i = 0; i < 16; i++)
        cfg->isn_secret[i] = (uint8_t)(17 * i + 1);
    cfg->seed = 42;
}

static void engine_start(struct harness *h)
{
    int rc = tt_engine_new(&h->eng, &h->cfg, on_output, h, h->now);

    if (rc != 0 || !h->eng) {
        print_error("tt_engine_new: %d\n", rc);
        fail();
    }
    tt_engine_set_event_cb(h->eng, on_event, h);
}

int h_setup(void **state)
{
    struct harness *h = calloc(1, sizeof(*h));

    if (!h)
        return -1;
    h_default_config(&h->cfg);
    h->now = H_T0;
    h->irs = H_IRS_DEFAULT;
    h->peer_wnd = H_PEER_WND;
    h->ip_id = 1;
    h->auto_accept = true;
    *state = h;
    engine_start(h);
    return 0;
}

void h_reinit(struct harness *h)
{
    tt_engine_free(h->eng);
    h->eng = NULL;
    h->conn = NULL;
    h->listener = NULL;
    engine_start(h);
}

static void free_segs(struct harness *h)
{
    for (size_t i = 0; i < h->out_len; i++)
        free(h->out[i].bytes);
    free(h->out);
    h->out = NULL;
    h->out_len = h->out_cap = h->out_head = 0;
}

int h_teardown(void **state)
{
    struct harness *h = *state;
    size_t left = h_pending(h);
    char d[160];

    for (size_t i = h->out_head; i < h->out_len; i++) {
        const struct h_seg *s = &h->out[i];
        seg_str(h, s->seg.flags, s->seg.seq, s->seg.ack, s->seg.len, d, sizeof(d));
        print_error("unexpected segment left at teardown (sent at +%.6f s): %s\n", rel_s(s->at_us),
                    d);
    }
    if (h->eng)
        tt_engine_free(h->eng);
    free_segs(h);
    free(h->ev);
    free(h->rx);
    free(h);
    *state = NULL;
    return left ? -1 : 0;
}

/* ---- the peer ---- */

static void require_drained(struct harness *h, const char *what, const char *file, int line)
{
    char d[160];

    if (h_pending(h) == 0)
        return;
    const struct h_seg *s = &h->out[h->out_head];
    seg_str(h, s->seg.flags, s->seg.seq, s->seg.ack, s->seg.len, d, sizeof(d));
    h_fail(file, line, "%s with %zu segment(s) not yet expected; the oldest (+%.6f s): %s", what,
           h_pending(h), rel_s(s->at_us), d);
}

void h_send_seg_at(struct harness *h, const struct seg *s, const char *file, int line)
{
    size_t cap = IPV4_HDR_LEN + TCP_HDR_LEN + TCP_MAX_OPT_LEN + s->len;

    require_drained(h, "h_send", file, line);
    uint8_t *buf = malloc(cap);
    if (!buf)
        abort();
    size_t n = tt_tcp_build(buf, cap, s, h->ip_id++);
    if (n == 0) {
        free(buf);
        h_fail(file, line, "tt_tcp_build refused the segment");
    }
    const tt_rx_info_t rx = {.gso_size = s->gso_size};
    tt_engine_input_rx(h->eng, buf, n, &rx, h->now);
    free(buf);
}

void h_peer_seg(const struct harness *h, struct seg *s, uint8_t flags, uint32_t seq, uint32_t ack,
                const struct tcp_opts *opts, const void *data, size_t len)
{
    memset(s, 0, sizeof(*s));
    s->saddr = H_PEER_ADDR;
    s->daddr = H_ENGINE_ADDR;
    s->sport = h->rport;
    s->dport = h->lport;
    s->seq = seq;
    s->ack = (flags & TCP_ACK) ? ack : 0;
    s->flags = flags;
    s->wnd = h->peer_wnd;
    s->tos = h->peer_tos;
    if (opts)
        s->opt = *opts;
    s->data = data;
    s->len = (uint32_t)len;
}

void h_send_opts_at(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
                    const struct tcp_opts *opts, const void *data, size_t len, const char *file,
                    int line)
{
    struct seg s;

    h_peer_seg(h, &s, flags, seq, ack, opts, data, len);
    h_send_seg_at(h, &s, file, line);
}

void h_send_syn_at(struct harness *h, const char *file, int line)
{
    struct tcp_opts o;

    memset(&o, 0, sizeof(o));
    o.mss_ok = true;
    o.mss = H_MSS;
    h_send_opts_at(h, TCP_SYN, h->irs, 0, &o, NULL, 0, file, line);
}

/* ---- what the engine sends ---- */

size_t h_pending(const struct harness *h)
{
    return h->out_len - h->out_head;
}

static const struct h_seg *pop(struct harness *h, bool check_ports, const char *file, int line)
{
    if (h_pending(h) == 0)
        h_fail(file, line, "expected a segment at +%.6f s, the engine sent nothing", rel_s(h->now));
    const struct h_seg *s = &h->out[h->out_head++];
    h->last_at = s->at_us;
    if (s->parse_err != 0)
        h_fail(file, line, "the engine sent a malformed datagram (parse error %d, %zu bytes)",
               s->parse_err, s->len);
    if (s->proto != IP_PROTO_TCP)
        h_fail(file, line, "the engine sent IP protocol %u, not TCP", s->proto);
    if (s->len > h->cfg.mtu) /* DF is set and nothing is fragmented (RFC 791) */
        h_fail(file, line, "the engine sent a datagram of %zu bytes, over the MTU of %" PRIu32,
               s->len, h->cfg.mtu);
    if (s->seg.saddr != H_ENGINE_ADDR || s->seg.daddr != H_PEER_ADDR)
        h_fail(file, line, "segment from %08" PRIx32 " to %08" PRIx32 ", not 10.7.0.2 -> 10.7.0.1",
               s->seg.saddr, s->seg.daddr);
    if (check_ports && (s->seg.sport != h->lport || s->seg.dport != h->rport))
        h_fail(file, line, "segment from port %u to %u, expected %u to %u", s->seg.sport,
               s->seg.dport, h->lport, h->rport);
    return s;
}

const struct h_seg *h_pop_any_at(struct harness *h, const char *file, int line)
{
    return pop(h, true, file, line);
}

const struct h_seg *h_expect_at(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
                                const void *data, size_t len, bool has_data, const char *file,
                                int line)
{
    const struct h_seg *s = pop(h, true, file, line);
    const struct seg *g = &s->seg;
    uint8_t mask = g->len > 0 ? (uint8_t)~TCP_PSH : 0xff;
    size_t want_len = has_data ? len : 0;
    char want[160], got[160];

    seg_str(h, flags, seq, ack, want_len, want, sizeof(want));
    seg_str(h, g->flags, g->seq, g->ack, g->len, got, sizeof(got));
    if ((g->flags & mask) != (flags & mask) || g->seq != seq ||
        ((flags & TCP_ACK) && g->ack != ack) || g->len != want_len)
        h_fail(file, line, "at +%.6f s expected %s\n                          got %s",
               rel_s(s->at_us), want, got);
    if (data && memcmp(g->data, data, len) != 0)
        h_fail(file, line, "payload of %s differs from the expected bytes", got);
    return s;
}

const struct h_seg *h_expect_pattern_at(struct harness *h, uint8_t flags, uint32_t seq,
                                        uint32_t ack, size_t off, size_t len, const char *file,
                                        int line)
{
    static uint8_t buf[65536]; /* static: a failed expectation must not leak it */

    if (len > sizeof(buf))
        h_fail(file, line, "h_expect_pattern: %zu bytes is more than a segment", len);
    h_pattern_fill(buf, off, len);
    return h_expect_at(h, flags, seq, ack, buf, len, true, file, line);
}

void h_expect_nothing_at(struct harness *h, const char *file, int line)
{
    require_drained(h, "h_expect_nothing", file, line);
}

void h_expect_after_at(struct harness *h, uint64_t delay, uint8_t flags, uint32_t seq, uint32_t ack,
                       const char *file, int line)
{
    if (delay == 0)
        h_fail(file, line, "h_expect_after needs a delay of at least 1 µs");
    h_advance_at(h, delay - 1, file, line);
    require_drained(h, "one microsecond before the deadline", file, line);
    h_advance_at(h, 1, file, line);
    const struct h_seg *s = h_expect_at(h, flags, seq, ack, NULL, 0, false, file, line);
    if (s->at_us != h->now)
        h_fail(file, line, "segment sent at +%.6f s, expected at +%.6f s", rel_s(s->at_us),
               rel_s(h->now));
}

static void check_syn_options(struct harness *h, const struct h_seg *s, const char *file, int line)
{
    const struct tcp_opts *o = &s->seg.opt;

    if (!o->mss_ok || o->mss != h->cfg.mtu - 40)
        h_fail(file, line, "SYN without MSS %u (mss_ok %d, mss %u)", h->cfg.mtu - 40, o->mss_ok,
               o->mss);
    if (s->seg.len != 0)
        h_fail(file, line, "SYN carries %" PRIu32 " bytes of data", s->seg.len);
}

const struct h_seg *h_expect_syn_at(struct harness *h, const char *file, int line)
{
    const struct h_seg *s = pop(h, false, file, line);
    char got[160];

    if (s->seg.flags != TCP_SYN) {
        seg_str(h, s->seg.flags, s->seg.seq, s->seg.ack, s->seg.len, got, sizeof(got));
        h_fail(file, line, "expected our SYN, got %s", got);
    }
    if (s->seg.dport != h->rport)
        h_fail(file, line, "SYN to port %u, expected %u", s->seg.dport, h->rport);
    if (s->seg.sport < h->cfg.port_lo || s->seg.sport > h->cfg.port_hi)
        h_fail(file, line, "SYN from port %u, outside %u-%u", s->seg.sport, h->cfg.port_lo,
               h->cfg.port_hi);
    check_syn_options(h, s, file, line);
    h->iss = s->seg.seq;
    h->lport = s->seg.sport;
    return s;
}

const struct h_seg *h_expect_synack_at(struct harness *h, const char *file, int line)
{
    const struct h_seg *s = pop(h, true, file, line);
    char got[160];

    if (s->seg.flags != (TCP_SYN | TCP_ACK) || s->seg.ack != h->irs + 1) {
        seg_str(h, s->seg.flags, s->seg.seq, s->seg.ack, s->seg.len, got, sizeof(got));
        h_fail(file, line, "expected <ACK=IRS+1><CTL=SYN,ACK>, got %s", got);
    }
    check_syn_options(h, s, file, line);
    h->iss = s->seg.seq;
    return s;
}

/* ---- the clock ---- */

void h_advance_at(struct harness *h, uint64_t usec, const char *file, int line)
{
    uint64_t target = h->now + usec;
    int stuck = 0;

    require_drained(h, "h_advance", file, line);
    for (;;) {
        uint64_t d = tt_engine_next_deadline(h->eng);
        if (d == TT_TIME_NEVER || d > target)
            break;
        if (d > h->now) {
            h->now = d;
            stuck = 0;
        } else if (++stuck > 1000) {
            h_fail(file, line,
                   "next deadline %" PRIu64 " stays <= now %" PRIu64 " after tt_engine_timers()", d,
                   h->now);
        }
        tt_engine_timers(h->eng, h->now);
    }
    h->now = target;
    tt_engine_set_now(h->eng, target);
}

/* ---- the application ---- */

static void app_enter(struct harness *h, const char *what, bool need_conn, const char *file,
                      int line)
{
    require_drained(h, what, file, line);
    if (need_conn && !h->conn)
        h_fail(file, line, "%s: the application has no connection handle", what);
    tt_engine_set_now(h->eng, h->now);
}

void h_listen_at(struct harness *h, uint16_t port, int backlog, const char *file, int line)
{
    app_enter(h, "h_listen", false, file, line);
    int rc = tt_listen(h->eng, port, backlog, on_connection, &h->listener);
    if (rc != 0)
        h_fail(file, line, "tt_listen(%u): %d", port, rc);
    tt_listener_set_data(h->listener, h);
}

int h_try_connect_at(struct harness *h, uint16_t rport, const char *file, int line)
{
    return h_try_connect_opts_at(h, rport, NULL, file, line);
}

int h_try_connect_opts_at(struct harness *h, uint16_t rport, const tt_conn_opts_t *opts,
                          const char *file, int line)
{
    tt_conn_t *c = NULL;

    app_enter(h, "h_connect", false, file, line);
    h->rport = rport;
    int rc = tt_connect_opts(h->eng, H_PEER_ADDR, rport, opts, on_connect, &c);
    if (rc == 0) {
        if (!c)
            h_fail(file, line, "tt_connect returned 0 without a connection");
        tt_conn_set_data(c, h);
        h->conn = c;
    }
    return rc;
}

void h_connect_at(struct harness *h, uint16_t rport, const char *file, int line)
{
    int rc = h_try_connect_at(h, rport, file, line);

    if (rc != 0)
        h_fail(file, line, "tt_connect: %d", rc);
}

ssize_t h_write_at(struct harness *h, const void *data, size_t len, const char *file, int line)
{
    app_enter(h, "h_write", true, file, line);
    return tt_conn_write(h->conn, data, len);
}

uint8_t h_pattern(size_t off)
{
    return (uint8_t)(off * 131 + (off >> 8) + 7);
}

void h_pattern_fill(uint8_t *buf, size_t off, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = h_pattern(off + i);
}

ssize_t h_write_pattern_at(struct harness *h, size_t off, size_t len, const char *file, int line)
{
    app_enter(h, "h_write_pattern", true, file, line);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        abort();
    h_pattern_fill(buf, off, len);
    ssize_t n = tt_conn_write(h->conn, buf, len);
    free(buf);
    return n;
}

void h_shutdown_at(struct harness *h, const char *file, int line)
{
    app_enter(h, "h_shutdown", true, file, line);
    int rc = tt_conn_shutdown(h->conn);
    if (rc != 0)
        h_fail(file, line, "tt_conn_shutdown: %d", rc);
}

void h_close_at(struct harness *h, bool reset, const char *file, int line)
{
    app_enter(h, reset ? "h_close_reset" : "h_close", true, file, line);
    tt_conn_t *c = h->conn;
    int rc = reset ? tt_conn_close_reset(c, on_close) : tt_conn_close(c, on_close);
    if (rc != 0)
        h_fail(file, line, "tt_conn_close%s: %d", reset ? "_reset" : "", rc);
    /* The handle must not be used after close, whether close_cb ran yet or not. */
    h->conn = NULL;
}

void h_set_linger_at(struct harness *h, int on, unsigned secs, const char *file, int line)
{
    app_enter(h, "h_set_linger", true, file, line);
    int rc = tt_conn_set_linger(h->conn, on, secs);
    if (rc != 0)
        h_fail(file, line, "tt_conn_set_linger(%d, %u): %d", on, secs, rc);
}

void h_prime_rtt_at(struct harness *h, const char *file, int line)
{
    if (h_write_pattern_at(h, 0, 1, file, line) != 1)
        h_fail(file, line, "h_prime_rtt: the write of one byte failed");
    h_expect_pattern_at(h, TCP_ACK, h->iss + 1, h->irs + 1, 0, 1, file, line);
    h_send_opts_at(h, TCP_ACK, h->irs + 1, h->iss + 2, NULL, NULL, 0, file, line);
    require_drained(h, "h_prime_rtt", file, line);
}

/* ---- state and events ---- */

struct find_ctx {
    const struct harness *h;
    tt_state_t state;
    bool found;
};

static void find_conn(void *ctx, const tt_conn_info_t *info)
{
    struct find_ctx *f = ctx;

    if (info->laddr == H_ENGINE_ADDR && info->raddr == H_PEER_ADDR && info->lport == f->h->lport &&
        info->rport == f->h->rport) {
        f->state = info->state;
        f->found = true;
    }
}

tt_state_t h_conn_state(const struct harness *h)
{
    struct find_ctx f = {h, TT_STATE_CLOSED, false};

    tt_engine_foreach_conn(h->eng, find_conn, &f);
    return f.state;
}

tt_stats_t h_stats(const struct harness *h)
{
    tt_stats_t st;

    tt_engine_stats(h->eng, &st);
    return st;
}

static bool ours(const struct harness *h, const tt_event_t *ev)
{
    return ev->lport == h->lport && ev->rport == h->rport && ev->raddr == H_PEER_ADDR;
}

static void state_chain(const struct harness *h, char *buf, size_t cap)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < h->ev_len && n < cap; i++) {
        const tt_event_t *ev = &h->ev[i];
        if (ev->type != TT_EV_STATE || !ours(h, ev))
            continue;
        n += (size_t)snprintf(buf + n, cap - n, " %s->%s@+%.6f", tt_state_name(ev->from),
                              tt_state_name(ev->to), rel_s(ev->now_us));
    }
}

void h_expect_states_at(struct harness *h, const char *file, int line, ...)
{
    int want[16];
    size_t n = 0, k = 0;
    va_list ap;
    char chain[1024];

    va_start(ap, line);
    for (int s = va_arg(ap, int); s != -1 && n < 16; s = va_arg(ap, int))
        want[n++] = s;
    va_end(ap);
    state_chain(h, chain, sizeof(chain));
    for (size_t i = 0; i < h->ev_len; i++) {
        const tt_event_t *ev = &h->ev[i];
        if (ev->type != TT_EV_STATE || !ours(h, ev))
            continue;
        if (k == 0 && (int)ev->from != want[0])
            continue;
        if (k + 1 >= n || (int)ev->from != want[k] || (int)ev->to != want[k + 1])
            h_fail(file, line, "state events differ from the expected path; they were:%s", chain);
        k++;
    }
    if (k + 1 != n)
        h_fail(file, line, "state path stops after %zu of %zu changes; events:%s", k, n - 1, chain);
}

const tt_event_t *h_expect_state_event_at(struct harness *h, tt_state_t from, tt_state_t to,
                                          const char *file, int line)
{
    char chain[1024];

    for (size_t i = 0; i < h->ev_len; i++) {
        const tt_event_t *ev = &h->ev[i];
        if (ev->type == TT_EV_STATE && ours(h, ev) && ev->from == from && ev->to == to)
            return ev;
    }
    state_chain(h, chain, sizeof(chain));
    h_fail(file, line, "no state event %s -> %s; events:%s", tt_state_name(from), tt_state_name(to),
           chain);
    return NULL;
}

const tt_event_t *h_last_event(const struct harness *h, tt_event_type_t type)
{
    for (size_t i = h->ev_len; i-- > 0;)
        if (h->ev[i].type == type && ours(h, &h->ev[i]))
            return &h->ev[i];
    return NULL;
}

int h_count_events(const struct harness *h, tt_event_type_t type)
{
    int n = 0;

    for (size_t i = 0; i < h->ev_len; i++)
        n += h->ev[i].type == type && ours(h, &h->ev[i]);
    return n;
}

const tt_event_t *h_closed_event(const struct harness *h)
{
    for (size_t i = h->ev_len; i-- > 0;) {
        const tt_event_t *ev = &h->ev[i];
        if (ev->type == TT_EV_STATE && ev->to == TT_STATE_CLOSED && ours(h, ev))
            return ev;
    }
    return NULL;
}

int h_closed_why(const struct harness *h)
{
    const tt_event_t *ev = h_closed_event(h);

    return ev ? (int)ev->why : -1;
}

void h_expect_closed_at(struct harness *h, tt_close_reason_t why, uint64_t at, const char *file,
                        int line)
{
    const tt_event_t *ev = h_closed_event(h);
    char chain[1024];

    state_chain(h, chain, sizeof(chain));
    if (!ev)
        h_fail(file, line, "no change to CLOSED (expected why \"%s\"); events:%s",
               tt_close_reason_name(why), chain);
    if (ev->why != why)
        h_fail(file, line, "CLOSED with why \"%s\", expected \"%s\"", tt_close_reason_name(ev->why),
               tt_close_reason_name(why));
    if (at != 0 && ev->now_us != at)
        h_fail(file, line, "CLOSED at +%.6f s, expected at +%.6f s", rel_s(ev->now_us), rel_s(at));
}

/* ---- fixtures ---- */

const struct h_seg *h_reach_syn_received_at(struct harness *h, const char *file, int line)
{
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_syn_at(h, file, line);
    return h_expect_synack_at(h, file, line);
}

void h_reach_established_passive(struct harness *h)
{
    h_listen(h, H_LISTEN_PORT);
    h_peer_connects(h);
}

void h_reach_established_sack(struct harness *h, uint64_t rtt)
{
    h->cfg.tcp_sack = 1;
    h_reinit(h);
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    struct tcp_opts o = {.mss_ok = true, .mss = H_MSS, .sack_ok = true};
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    const struct h_seg *sa = h_expect_synack(h);
    assert_true(sa->seg.opt.sack_ok);
    if (rtt)
        h_advance(h, rtt);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
}

void h_reach_established_rtt(struct harness *h, uint64_t rtt)
{
    h->conn = NULL;
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_listen(h, H_LISTEN_PORT);
    h_send_syn(h);
    h_expect_synack(h);
    h_advance(h, rtt);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_non_null(h->conn);
}

void h_peer_connects_unaccepted(struct harness *h)
{
    int calls = h->connection_calls;

    h->lport = H_LISTEN_PORT;
    if (h->rport == 0)
        h->rport = H_PEER_PORT;
    h_send_syn(h);
    h_expect_synack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, calls + 1);
    assert_int_equal(h->connection_status, 0);
}

void h_peer_connects(struct harness *h)
{
    h->conn = NULL;
    h_peer_connects_unaccepted(h);
    assert_non_null(h->conn);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

void h_reach_established_active(struct harness *h)
{
    struct tcp_opts o;

    memset(&o, 0, sizeof(o));
    o.mss_ok = true;
    o.mss = H_MSS;
    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_send_opts(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, &o, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h->connect_calls, 1);
    assert_int_equal(h->connect_status, 0);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

static void close_our_side(struct harness *h, enum h_close_mode mode)
{
    if (mode == H_SHUTDOWN)
        h_shutdown(h);
    else
        h_close(h);
}

void h_reach_fin_wait_1(struct harness *h, enum h_close_mode mode)
{
    h_reach_established_passive(h);
    close_our_side(h, mode);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_1);
}

void h_reach_fin_wait_2(struct harness *h, enum h_close_mode mode)
{
    h_reach_fin_wait_1(h, mode);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
}

void h_reach_closing(struct harness *h, enum h_close_mode mode)
{
    h_reach_fin_wait_1(h, mode);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSING);
}

void h_reach_close_wait(struct harness *h)
{
    h_reach_established_passive(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    assert_int_equal(h->eof_calls, 1);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSE_WAIT);
}

void h_reach_last_ack(struct harness *h)
{
    h_reach_close_wait(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_LAST_ACK);
}

void h_reach_time_wait(struct harness *h)
{
    h_reach_fin_wait_2(h, H_ORPHAN);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h->tw_start = h->last_at;
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
}

/* ---- the wire, recorded (struct h_wire) ---- */

static uint32_t h_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void h_wire_init(struct h_wire *w, size_t cap, uint32_t snd_max)
{
    memset(w, 0, sizeof(*w));
    w->bytes = malloc(cap);
    assert_non_null(w->bytes);
    w->cap = cap;
    w->snd_max = snd_max;
}

void h_wire_free(struct h_wire *w)
{
    free(w->bytes);
    w->bytes = NULL;
}

void h_wire_drain(struct harness *h, struct h_wire *w)
{
    for (; h->out_head < h->out_len; h->out_head++) {
        struct h_seg *s = &h->out[h->out_head];
        uint8_t *tcp = s->bytes + IPV4_HDR_LEN;
        size_t tlen = s->len - IPV4_HDR_LEN, hl = (size_t)(tcp[12] >> 4) * 4;
        uint16_t sum = tt_csum_fold(tt_csum_add(0, tcp, tlen));

        tcp[16] = (uint8_t)(sum >> 8);
        tcp[17] = (uint8_t)sum;
        assert_true(w->len + 2 + s->len <= w->cap);
        w->bytes[w->len++] = (uint8_t)(s->len >> 8);
        w->bytes[w->len++] = (uint8_t)s->len;
        memcpy(w->bytes + w->len, s->bytes, s->len);
        w->len += s->len;
        w->dgrams++;
        uint32_t end = h_rd32(tcp + 4) + (uint32_t)(tlen - hl) + ((tcp[13] & TCP_FIN) ? 1 : 0);
        if (seq_gt(end, w->snd_max))
            w->snd_max = end;
    }
}

void h_wire_ack_all(struct harness *h, struct h_wire *w, uint64_t delay)
{
    h_wire_drain(h, w);
    h_advance(h, delay);
    h_wire_drain(h, w);
    h_send(h, TCP_ACK, IRS + 1, w->snd_max, NULL, 0);
    h_wire_drain(h, w);
}

void h_wire_assert_same(const struct h_wire *a, const struct h_wire *b)
{
    assert_int_equal(a->dgrams, b->dgrams);
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->bytes, b->bytes, a->len);
}

void h_wire_bulk(struct harness *h, struct h_wire *w)
{
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h_write_pattern(h, (size_t)i * 9000, 9000), 9000);
        h_wire_drain(h, w);
    }
    for (int r = 0; r < 6; r++)
        h_wire_ack_all(h, w, 10);
}
