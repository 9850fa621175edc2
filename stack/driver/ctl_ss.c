/*
 * `ss` over the control socket (docs/contract.md §10.2): every connection and
 * TIME_WAIT entry, filtered by state and port as ss filters them, as ss -tan
 * prints them (with -o, the timer of TIME_WAIT and FIN_WAIT_2), or the -s
 * summary: a count per state and the TIME_WAIT table's entries and bytes.
 * Listening ports come first, as ss lists them: Recv-Q the connections
 * established and not yet accepted, Send-Q the backlog, peer `0.0.0.0:*`.
 */
#include <inttypes.h>
#include <string.h>

#include "ctl_cmd.h"
#include "drv_ctl.h"
#include "tuntcp/driver.h"

#define ST(s) (1u << (s))
#define ST_ALL 0x7ffu
/* ss's default: connected sockets, without TIME-WAIT and SYN-RECV (ss(8) "connected"). */
#define ST_DEFAULT                                                                                 \
    (ST_ALL & ~(ST(TT_STATE_LISTEN) | ST(TT_STATE_CLOSED) | ST(TT_STATE_TIME_WAIT) |               \
                ST(TT_STATE_SYN_RECEIVED)))

static const char *const ss_names[] = {
    "UNCONN",     "LISTEN",     "SYN-SENT", "SYN-RECV", "ESTAB",     "FIN-WAIT-1",
    "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK", "TIME-WAIT",
};

/* ss(8)'s STATE-FILTER names, and its groups. */
static const struct {
    const char *name;
    unsigned mask;
} filters[] = {
    {"established", ST(TT_STATE_ESTABLISHED)},
    {"syn-sent", ST(TT_STATE_SYN_SENT)},
    {"syn-recv", ST(TT_STATE_SYN_RECEIVED)},
    {"fin-wait-1", ST(TT_STATE_FIN_WAIT_1)},
    {"fin-wait-2", ST(TT_STATE_FIN_WAIT_2)},
    {"time-wait", ST(TT_STATE_TIME_WAIT)},
    {"closed", ST(TT_STATE_CLOSED)},
    {"close-wait", ST(TT_STATE_CLOSE_WAIT)},
    {"last-ack", ST(TT_STATE_LAST_ACK)},
    {"listening", ST(TT_STATE_LISTEN)},
    {"closing", ST(TT_STATE_CLOSING)},
    {"all", ST_ALL},
    {"connected", ST_ALL & ~(ST(TT_STATE_LISTEN) | ST(TT_STATE_CLOSED))},
    {"synchronized", ST_ALL & ~(ST(TT_STATE_LISTEN) | ST(TT_STATE_CLOSED) | ST(TT_STATE_SYN_SENT))},
    {"bucket", ST(TT_STATE_SYN_RECEIVED) | ST(TT_STATE_TIME_WAIT)},
    {"big", ST_ALL & ~(ST(TT_STATE_SYN_RECEIVED) | ST(TT_STATE_TIME_WAIT))},
};

struct ss_walk {
    unsigned states;
    bool sport_set, dport_set, timers, text;
    uint64_t sport, dport, now;
    size_t rows;
    struct ctl_buf *out;
};

static bool parse_state(const char *name, unsigned *mask)
{
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        if (strcmp(filters[i].name, name) == 0) {
            *mask = filters[i].mask;
            return true;
        }
    }
    return false;
}

/* ss -o's timer: the two states whose length the user sets, as Linux shows a timewait timer. */
static bool timer_left(const tt_conn_info_t *c, uint64_t now, uint64_t *left)
{
    if (c->expires_us == TT_TIME_NEVER ||
        (c->state != TT_STATE_TIME_WAIT && c->state != TT_STATE_FIN_WAIT_2))
        return false;
    *left = c->expires_us > now ? c->expires_us - now : 0;
    return true;
}

static void row_text(struct ss_walk *w, const tt_conn_info_t *c, const char *local,
                     const char *peer)
{
    uint64_t left;

    tt_ctl_buf_printf(w->out, "%-10s %-6u %-6u %-21s %s", ss_names[c->state], c->recv_q, c->send_q,
                      local, peer);
    if (w->timers && timer_left(c, w->now, &left))
        tt_ctl_buf_printf(w->out, "%*s timer:(timewait,%" PRIu64 ".%03" PRIu64 "s,0)",
                          (int)(21 - (strlen(peer) < 21 ? strlen(peer) : 21)), "", left / 1000000,
                          left % 1000000 / 1000);
    tt_ctl_buf_printf(w->out, "\\n");
}

static void row_json(struct ss_walk *w, const tt_conn_info_t *c, const char *local,
                     const char *peer)
{
    uint64_t left;

    tt_ctl_buf_printf(w->out,
                      "%s{\"state\":\"%s\",\"recv_q\":%u,\"send_q\":%u,\"local\":\"%s\","
                      "\"peer\":\"%s\",\"snd_nxt\":%u,\"rcv_nxt\":%u",
                      w->rows > 0 ? "," : "", tt_state_name(c->state), c->recv_q, c->send_q, local,
                      peer, c->snd_nxt, c->rcv_nxt);
    if (timer_left(c, w->now, &left))
        tt_ctl_buf_printf(w->out, ",\"timer\":\"timewait\",\"expires_us\":%" PRIu64, left);
    tt_ctl_buf_printf(w->out, "}");
}

static void ss_listener(void *ctx, const tt_listen_info_t *l)
{
    struct ss_walk *w = ctx;
    tt_conn_info_t c = {.state = TT_STATE_LISTEN,
                        .laddr = l->addr,
                        .lport = l->port,
                        .expires_us = TT_TIME_NEVER,
                        .recv_q = l->ready,
                        .send_q = l->backlog};
    char local[24];

    if (!(w->states & ST(TT_STATE_LISTEN)) || w->out->overflow || w->dport_set ||
        (w->sport_set && l->port != w->sport))
        return;
    tt_ctl_format_endpoint(local, sizeof(local), l->addr, l->port);
    if (w->text)
        row_text(w, &c, local, "0.0.0.0:*");
    else
        row_json(w, &c, local, "0.0.0.0:*");
    w->rows++;
}

static void ss_row(void *ctx, const tt_conn_info_t *c)
{
    struct ss_walk *w = ctx;
    char local[24], peer[24];

    if (!(w->states & ST(c->state)) || w->out->overflow)
        return;
    if ((w->sport_set && c->lport != w->sport) || (w->dport_set && c->rport != w->dport))
        return;
    tt_ctl_format_endpoint(local, sizeof(local), c->laddr, c->lport);
    tt_ctl_format_endpoint(peer, sizeof(peer), c->raddr, c->rport);
    if (w->text)
        row_text(w, c, local, peer);
    else
        row_json(w, c, local, peer);
    w->rows++;
}

static void count_state(void *ctx, const tt_conn_info_t *c)
{
    ((size_t *)ctx)[c->state]++;
}

static void count_listener(void *ctx, const tt_listen_info_t *l)
{
    (void)l;
    ((size_t *)ctx)[TT_STATE_LISTEN]++;
}

struct ss_count {
    size_t n[TT_STATE_TIME_WAIT + 1];
    size_t tw, tw_bytes;
};

static void count_engine(tt_engine_t *eng, void *ctx)
{
    struct ss_count *c = ctx;

    tt_engine_foreach_conn(eng, count_state, c->n);
    tt_engine_foreach_listener(eng, count_listener, c->n);
    c->tw += tt_engine_timewait_count(eng);
    c->tw_bytes += tt_engine_timewait_bytes(eng);
}

/* Several queues: the sums over their engines (tt_drv_ctl_each_engine). */
static void ss_summary(struct tt_driver *drv, bool text, struct ctl_buf *out)
{
    struct ss_count c = {{0}, 0, 0};
    size_t *n = c.n, total = 0;

    tt_drv_ctl_each_engine(drv, count_engine, &c);
    for (size_t s = 0; s <= TT_STATE_TIME_WAIT; s++)
        total += n[s];
    tt_ctl_reply_open(out, true);
    if (text) {
        tt_ctl_buf_printf(out,
                          ",\"text\":\"Total: %zu\\nTCP:   %zu (estab %zu, closed %zu, "
                          "timewait %zu)\\n\\n%-12s %s\\n",
                          total, total, n[TT_STATE_ESTABLISHED], n[TT_STATE_CLOSED],
                          n[TT_STATE_TIME_WAIT], "State", "Count");
        for (size_t s = 0; s <= TT_STATE_TIME_WAIT; s++)
            tt_ctl_buf_printf(out, "%-12s %zu\\n", ss_names[s], n[s]);
        tt_ctl_buf_printf(out, "\\nTIME-WAIT: entries %zu, bytes %zu\\n\"}", c.tw, c.tw_bytes);
        return;
    }
    tt_ctl_buf_printf(out, ",\"total\":%zu,\"states\":{", total);
    for (size_t s = 0; s <= TT_STATE_TIME_WAIT; s++)
        tt_ctl_buf_printf(out, "%s\"%s\":%zu", s > 0 ? "," : "", tt_state_name((tt_state_t)s),
                          n[s]);
    tt_ctl_buf_printf(out, "},\"timewait\":{\"entries\":%zu,\"bytes\":%zu}}", c.tw, c.tw_bytes);
}

static void list_listeners(tt_engine_t *eng, void *ctx)
{
    tt_engine_foreach_listener(eng, ss_listener, ctx);
}

static void list_conns(tt_engine_t *eng, void *ctx)
{
    tt_engine_foreach_conn(eng, ss_row, ctx);
}

/* The text reply's string is escaped as it is built: only '\n' needs it here. */
static void ss_list(struct tt_driver *drv, struct ss_walk *w)
{
    tt_ctl_reply_open(w->out, true);
    if (w->text) {
        tt_ctl_buf_printf(w->out, ",\"text\":\"");
        tt_ctl_buf_printf(w->out, "%-10s %-6s %-6s %-21s %s\\n", "State", "Recv-Q", "Send-Q",
                          "Local Address:Port", "Peer Address:Port");
    } else {
        tt_ctl_buf_printf(w->out, ",\"now_us\":%" PRIu64 ",\"conns\":[", w->now);
    }
    /* Listeners first, as ss lists them: one per queue and port, as Linux
     * lists each SO_REUSEPORT socket. */
    tt_drv_ctl_each_engine(drv, list_listeners, w);
    tt_drv_ctl_each_engine(drv, list_conns, w);
    tt_ctl_buf_printf(w->out, w->text ? "\"}" : "]}");
}

void tt_ctl_cmd_ss(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                   bool text, struct ctl_buf *out)
{
    static const char *const fields[] = {"state",  "sport",   "dport", "all",
                                         "timers", "summary", NULL};
    struct ss_walk w = {.states = ST_DEFAULT, .text = text, .out = out};
    const char *state;
    bool all, summary;

    (void)h;
    if (!tt_ctl_check_fields(r, "ss", fields, out) || !tt_ctl_get_str(r, "state", &state, out) ||
        !tt_ctl_get_bool(r, "all", &all, out) || !tt_ctl_get_bool(r, "timers", &w.timers, out) ||
        !tt_ctl_get_bool(r, "summary", &summary, out) ||
        !tt_ctl_get_uint(r, "sport", 0, 65535, &w.sport, &w.sport_set, out) ||
        !tt_ctl_get_uint(r, "dport", 0, 65535, &w.dport, &w.dport_set, out))
        return;
    if (all)
        w.states = ST_ALL;
    if (state != NULL && !parse_state(state, &w.states)) {
        tt_ctl_reply_error(out,
                           "state: unknown state '%s' (as ss(8): established, syn-sent, "
                           "syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, "
                           "last-ack, closing, all, connected, synchronized, bucket, big)",
                           state);
        return;
    }
    if (summary) {
        ss_summary(drv, text, out);
        return;
    }
    w.now = tt_drv_ctl_now(drv);
    ss_list(drv, &w);
}
