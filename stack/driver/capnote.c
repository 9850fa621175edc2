/*
 * Capture notes: engine events and fault actions in plain words. Times are
 * printed from integers, as in the trace (trace.c), never through a double:
 * "+2.000 s" is the time from the event to the timer's end, and the clock
 * time in brackets is the same instant in UTC, the time of day Wireshark
 * shows with View > Time Display Format > UTC.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capnote.h"

struct text {
    char *buf;
    size_t cap, len;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->len + 1 >= t->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < t->cap ? t->len + (size_t)n : t->cap - 1;
}

/* Wall-clock µs of an instant on the engine's clock (struct trace_clock). */
static uint64_t wall_of(uint64_t us, const struct trace_clock *clk)
{
    return clk->wall_start_us + (us > clk->start_us ? us - clk->start_us : 0);
}

/* "at +2.000 s (03:41:07.123456)": when a timer armed at now_us ends at end_us. */
static void text_deadline(struct text *t, uint64_t now_us, uint64_t end_us,
                          const struct trace_clock *clk)
{
    uint64_t in = end_us > now_us ? end_us - now_us : 0;
    uint64_t wall = wall_of(end_us, clk);
    uint64_t day_s = (wall / 1000000) % 86400;

    text_printf(t,
                "at +%" PRIu64 ".%03" PRIu64 " s (%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64
                ".%06" PRIu64 ")",
                in / 1000000, in % 1000000 / 1000, day_s / 3600, day_s / 60 % 60, day_s % 60,
                wall % 1000000);
}

/* Why a connection reached CLOSED (docs/contract.md §4.3), in words. */
static const char *closed_words(tt_close_reason_t why)
{
    switch (why) {
    case TT_WHY_LAST_ACK:
        return "our FIN acknowledged";
    case TT_WHY_TIMEWAIT_EXPIRED:
        return "2*MSL ran out";
    case TT_WHY_TIMEWAIT_RST:
        return "a RST ended TIME_WAIT (--tcp-rfc1337 0)";
    case TT_WHY_TIMEWAIT_SYN:
        return "a new SYN took the 4-tuple";
    case TT_WHY_TIMEWAIT_REUSED:
        return "a connect reused the 4-tuple (--tcp-tw-reuse 1)";
    case TT_WHY_TW_OVERFLOW:
        return "TIME_WAIT skipped: --tcp-max-tw-buckets full";
    case TT_WHY_FIN_TIMEOUT:
        return "tcp_fin_timeout ran out";
    case TT_WHY_RST_IN:
        return "RST received";
    case TT_WHY_RST_OUT:
        return "RST sent";
    case TT_WHY_TIMEOUT:
        return "retransmissions exhausted";
    case TT_WHY_REFUSED:
        return "a RST refused our SYN";
    case TT_WHY_APP_CLOSE:
        return "closed by the application, nothing to send";
    case TT_WHY_NONE:
        break;
    }
    return "closed";
}

/* What takes a connection from one state to the next (RFC 9293 3.3.2, docs/contract.md §2.1). */
static const char *change_words(tt_state_t from, tt_state_t to)
{
    switch (to) {
    case TT_STATE_SYN_SENT:
        return "connect: SYN sent";
    case TT_STATE_SYN_RECEIVED:
        return from == TT_STATE_LISTEN ? "SYN received" : "SYN received (simultaneous open)";
    case TT_STATE_ESTABLISHED:
        return from == TT_STATE_SYN_SENT ? "SYN-ACK received" : "our SYN-ACK acknowledged";
    case TT_STATE_FIN_WAIT_1:
    case TT_STATE_LAST_ACK:
        return "close: FIN sent";
    case TT_STATE_FIN_WAIT_2:
        return "our FIN acknowledged, waiting for the peer's FIN";
    case TT_STATE_CLOSE_WAIT:
        return "peer's FIN received";
    case TT_STATE_CLOSING:
        return "peer's FIN received before the ACK of ours (simultaneous close)";
    case TT_STATE_TIME_WAIT:
        return from == TT_STATE_CLOSING ? "our FIN acknowledged"
                                        : "peer's FIN received, final ACK sent";
    default:
        break;
    }
    return "state change";
}

static void text_state(struct text *t, const tt_event_t *ev, const struct capnote_ctx *ctx)
{
    text_printf(t, "%s -> %s: ", tt_state_name(ev->from), tt_state_name(ev->to));
    if (ev->to == TT_STATE_CLOSED) {
        text_printf(t, "%s (%s)", closed_words(ev->why), tt_close_reason_name(ev->why));
        return;
    }
    text_printf(t, "%s", change_words(ev->from, ev->to));
    if (ev->to == TT_STATE_TIME_WAIT) {
        text_printf(t, "; 2*MSL ends ");
        text_deadline(t, ev->now_us, ev->now_us + 2 * ctx->msl_us, &ctx->clk);
    } else if (ev->to == TT_STATE_FIN_WAIT_2) {
        /* The timer runs only for an orphan (§2.6 item 7); the event cannot tell. */
        text_printf(t, "; once closed, tcp_fin_timeout ends ");
        text_deadline(t, ev->now_us, ev->now_us + ctx->fin_timeout_us, &ctx->clk);
    }
}

static void text_conn(struct text *t, const tt_event_t *ev)
{
    uint32_t a = ev->laddr, b = ev->raddr;

    text_printf(t, "%u.%u.%u.%u:%u>%u.%u.%u.%u:%u ", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                a & 255, ev->lport, b >> 24, (b >> 16) & 255, (b >> 8) & 255, b & 255, ev->rport);
}

size_t tt_capnote_event(char *buf, size_t cap, const tt_event_t *ev, const struct capnote_ctx *ctx,
                        bool with_conn)
{
    struct text t = {buf, cap, 0};

    if (cap == 0)
        return 0;
    buf[0] = '\0';
    if (with_conn)
        text_conn(&t, ev);
    switch (ev->type) {
    case TT_EV_STATE:
        text_state(&t, ev, ctx);
        break;
    case TT_EV_TIMEWAIT_RESTART:
        text_printf(&t, "TIME_WAIT: the peer's FIN again, ACKed; 2*MSL restarted, ends ");
        text_deadline(&t, ev->now_us, ev->expires_us, &ctx->clk);
        break;
    case TT_EV_RST_OUT:
        text_printf(&t, "RST sent (%s)", ev->rst_why != NULL ? ev->rst_why : "abort");
        break;
    case TT_EV_RST_IN:
        text_printf(&t, "RST received in %s", tt_state_name(ev->state));
        break;
    case TT_EV_RST_NOCONN:
        text_printf(&t, "RST sent: no connection owns this segment (%s)",
                    ev->rst_why != NULL ? ev->rst_why : "no_connection");
        break;
    case TT_EV_CONNECT_FAIL:
        text_printf(&t, "connect failed: %s", tt_strerror(ev->err));
        break;
    case TT_EV_LINGER_EXPIRED:
        text_printf(&t,
                    "SO_LINGER time ran out in %s, our FIN not yet acknowledged: close "
                    "reported success, as Linux's close() returns 0",
                    tt_state_name(ev->state));
        break;
    default:
        buf[0] = '\0';
        return 0;
    }
    return t.len;
}

size_t tt_capnote_fault(char *buf, size_t cap, enum capnote_fault what, size_t rule,
                        const char *spec, uint64_t held_us)
{
    struct text t = {buf, cap, 0};

    if (cap == 0)
        return 0;
    buf[0] = '\0';
    switch (what) {
    case CAPNOTE_DROPPED:
        text_printf(&t, "dropped");
        break;
    case CAPNOTE_DUPLICATED:
        text_printf(&t, "duplicated (the copy follows)");
        break;
    case CAPNOTE_COPY:
        text_printf(&t, "copy made");
        break;
    case CAPNOTE_HELD:
        text_printf(&t, "held %" PRIu64 " ms before the stack sees it", held_us / 1000);
        break;
    case CAPNOTE_RELEASED:
        text_printf(&t, "released after %" PRIu64 " ms", held_us / 1000);
        break;
    case CAPNOTE_INJECTED:
        text_printf(&t, "crafted");
        break;
    }
    /* The index from 0, as the trace's `rule` field counts (docs/contract.md §4.2). */
    text_printf(&t, " by --%s[%zu] (%s)", what == CAPNOTE_INJECTED ? "inject" : "fault", rule,
                spec);
    return t.len;
}
