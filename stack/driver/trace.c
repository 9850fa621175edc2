/*
 * Trace writer: formats engine events as the JSON Lines of docs/contract.md §4 and
 * flushes each line at once. Times are printed from integers (seconds and
 * six digits of microseconds), never through a double, so `t` and `ts` are
 * exact. Field order is fixed (t, ts, ev, conn, then the event's own fields)
 * so that the lines can be compared textually in tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "trace.h"

struct trace_writer {
    FILE *f;
    bool is_stderr;
    bool failed;
    struct trace_clock clk;
};

struct line {
    char *buf;
    size_t cap, len;
};

static void line_printf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line_printf(struct line *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (l->len >= l->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(l->buf + l->len, l->cap - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len = l->len + (size_t)n < l->cap ? l->len + (size_t)n : l->cap - 1;
}

/* A JSON string; the engine's strings are plain ASCII, but a name is no place for a quote. */
static void line_string(struct line *l, const char *key, const char *s)
{
    line_printf(l, ",\"%s\":\"", key);
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            line_printf(l, "\\%c", c);
        else if (c < 0x20)
            line_printf(l, "\\u%04x", c);
        else
            line_printf(l, "%c", c);
    }
    line_printf(l, "\"");
}

/* Microseconds as seconds with six decimals, from integers. */
static void line_us(struct line *l, const char *key, uint64_t us)
{
    line_printf(l, "\"%s\":%" PRIu64 ".%06" PRIu64, key, us / 1000000, us % 1000000);
}

/* Microseconds since start; an event before start (never expected) is 0. */
static uint64_t since_start(uint64_t us, const struct trace_clock *clk)
{
    return us > clk->start_us ? us - clk->start_us : 0;
}

/* `t` and `ts`: the same instant, since start and as Unix time. */
static void line_stamps(struct line *l, uint64_t us, const struct trace_clock *clk)
{
    uint64_t rel = since_start(us, clk);

    line_us(l, "t", rel);
    line_printf(l, ",");
    line_us(l, "ts", clk->wall_start_us + rel);
}

static void line_tuple(struct line *l, uint32_t a, uint16_t ap, uint32_t b, uint16_t bp)
{
    line_printf(l, ",\"conn\":\"%u.%u.%u.%u:%u>%u.%u.%u.%u:%u\"", a >> 24, (a >> 16) & 255,
                (a >> 8) & 255, a & 255, ap, b >> 24, (b >> 16) & 255, (b >> 8) & 255, b & 255, bp);
}

static void line_conn(struct line *l, const tt_event_t *ev)
{
    line_tuple(l, ev->laddr, ev->lport, ev->raddr, ev->rport);
}

/* TCP flags as letters in header order (CWR..FIN), e.g. "AF", "AP", "R", "S". */
static void line_flags(struct line *l, const char *key, uint8_t flags)
{
    static const char letters[] = "CEUAPRSF";
    char buf[9];
    size_t n = 0;

    for (int bit = 7; bit >= 0; bit--) {
        if (flags & (1u << bit))
            buf[n++] = letters[7 - bit];
    }
    buf[n] = '\0';
    line_string(l, key, buf);
}

/* The errno names a connect can fail with; others as their number. */
static void line_errno(struct line *l, const char *key, int err)
{
    static const struct {
        int err;
        const char *name;
    } names[] = {
        {-EADDRNOTAVAIL, "EADDRNOTAVAIL"},
        {-ECONNREFUSED, "ECONNREFUSED"},
        {-ETIMEDOUT, "ETIMEDOUT"},
        {-ECONNRESET, "ECONNRESET"},
        {-ECONNABORTED, "ECONNABORTED"},
        {-EINVAL, "EINVAL"},
        {-ENOMEM, "ENOMEM"},
        {-EADDRINUSE, "EADDRINUSE"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].err == err) {
            line_string(l, key, names[i].name);
            return;
        }
    }
    line_printf(l, ",\"%s\":\"E%d\"", key, -err);
}

static const char *event_name(tt_event_type_t type)
{
    switch (type) {
    case TT_EV_STATE:
        return "state";
    case TT_EV_TIMEWAIT_RESTART:
        return "timewait_restart";
    case TT_EV_RST_OUT:
        return "rst_out";
    case TT_EV_RST_IN:
        return "rst_in";
    case TT_EV_RST_NOCONN:
        return "rst_noconn";
    case TT_EV_CONNECT_FAIL:
        return "connect_fail";
    case TT_EV_LINGER_EXPIRED:
        return "linger_expired";
    }
    return NULL;
}

static void line_fields(struct line *l, const tt_event_t *ev, const struct trace_clock *clk)
{
    switch (ev->type) {
    case TT_EV_STATE:
        line_string(l, "from", tt_state_name(ev->from));
        line_string(l, "to", tt_state_name(ev->to));
        if (ev->to == TT_STATE_CLOSED)
            line_string(l, "why", tt_close_reason_name(ev->why));
        break;
    case TT_EV_TIMEWAIT_RESTART:
        line_printf(l, ",");
        line_us(l, "expires", since_start(ev->expires_us, clk));
        break;
    case TT_EV_RST_OUT:
        line_string(l, "why", ev->rst_why != NULL ? ev->rst_why : "abort");
        break;
    case TT_EV_RST_IN:
    case TT_EV_LINGER_EXPIRED:
        line_string(l, "state", tt_state_name(ev->state));
        break;
    case TT_EV_RST_NOCONN:
        line_string(l, "why", ev->rst_why != NULL ? ev->rst_why : "no_connection");
        line_flags(l, "flags", ev->seg_flags);
        break;
    case TT_EV_CONNECT_FAIL:
        line_errno(l, "err", ev->err);
        break;
    }
}

size_t tt_trace_format(char *buf, size_t cap, const tt_event_t *ev, const struct trace_clock *clk)
{
    struct line l = {buf, cap, 0};
    const char *name = event_name(ev->type);

    if (name == NULL || cap < TRACE_LINE_MAX)
        return 0;
    line_printf(&l, "{");
    line_stamps(&l, ev->now_us, clk);
    line_string(&l, "ev", name);
    line_conn(&l, ev);
    line_fields(&l, ev, clk);
    line_printf(&l, "}\n");
    return l.len;
}

/* The packet's 4-tuple as the stack sees it: ours first, whichever way it goes. */
static void line_packet(struct line *l, const struct trace_fault *f)
{
    const struct fault_pkt *p = f->pkt;

    if (f->dir_in)
        line_tuple(l, p->daddr, p->dport, p->saddr, p->sport);
    else
        line_tuple(l, p->saddr, p->sport, p->daddr, p->dport);
    line_printf(l, ",\"action\":\"%s\",\"rule\":%d", f->action, f->rule);
    line_string(l, "dir", f->dir_in ? "in" : "out");
    if (f->match != NULL)
        line_string(l, "match", f->match);
    if (!p->tcp) {
        line_string(l, "flags", "");
        return;
    }
    line_flags(l, "flags", p->flags);
    line_printf(l, ",\"seq\":%" PRIu32 ",\"ack\":%" PRIu32 ",\"len\":%" PRIu32, p->seq, p->ack,
                p->payload);
}

size_t tt_trace_format_fault(char *buf, size_t cap, const struct trace_fault *f,
                             const struct trace_clock *clk)
{
    struct line l = {buf, cap, 0};

    if (cap < TRACE_LINE_MAX)
        return 0;
    line_printf(&l, "{");
    line_stamps(&l, f->now_us, clk);
    line_string(&l, "ev", "fault");
    line_packet(&l, f);
    if (f->after_key != NULL) {
        line_printf(&l, ",");
        line_us(&l, f->after_key, f->after_us);
    }
    if (f->copy)
        line_printf(&l, ",\"copy\":true");
    if (f->note != NULL)
        line_string(&l, "note", f->note);
    line_printf(&l, "}\n");
    return l.len;
}

size_t tt_trace_format_start(char *buf, size_t cap, const struct trace_clock *clk)
{
    struct line l = {buf, cap, 0};

    if (cap < TRACE_LINE_MAX)
        return 0;
    line_printf(&l, "{");
    line_stamps(&l, clk->start_us, clk);
    line_string(&l, "ev", "start");
    line_printf(&l, "}\n");
    return l.len;
}

/* Flushed per line (docs/contract.md §4): a reader of the file sees each event when it happens. */
static void write_line(struct trace_writer *tw, const char *buf, size_t n)
{
    if (fwrite(buf, 1, n, tw->f) != n || fflush(tw->f) != 0)
        tw->failed = true;
}

int tt_trace_open(struct trace_writer **out, const char *path, const struct trace_clock *clk)
{
    struct trace_writer *tw = calloc(1, sizeof(*tw));
    char buf[TRACE_LINE_MAX];

    if (tw == NULL)
        return -ENOMEM;
    tw->is_stderr = strcmp(path, "-") == 0;
    tw->f = tw->is_stderr ? stderr : fopen(path, "w");
    if (tw->f == NULL) {
        int err = -errno;
        free(tw);
        return err;
    }
    tw->clk = *clk;
    write_line(tw, buf, tt_trace_format_start(buf, sizeof(buf), clk));
    *out = tw;
    return 0;
}

void tt_trace_event(struct trace_writer *tw, const tt_event_t *ev)
{
    char buf[TRACE_LINE_MAX];
    size_t n = tt_trace_format(buf, sizeof(buf), ev, &tw->clk);

    if (n != 0)
        write_line(tw, buf, n);
}

void tt_trace_fault(struct trace_writer *tw, const struct trace_fault *f)
{
    char buf[TRACE_LINE_MAX];
    size_t n = tt_trace_format_fault(buf, sizeof(buf), f, &tw->clk);

    if (n != 0)
        write_line(tw, buf, n);
}

int tt_trace_close(struct trace_writer *tw)
{
    int err = tw->failed ? -EIO : 0;

    if (!tw->is_stderr && fclose(tw->f) != 0 && err == 0)
        err = -errno;
    free(tw);
    return err;
}
