/*
 * An out-of-tree program built against an installed tuntcp (the install
 * test, tests/install/run.sh): two engines wired back to back in memory on
 * a virtual clock, no TUN device. The client (10.9.0.2) connects to the
 * server (10.9.0.1) on port 7, sends "hello", the server echoes it, the
 * client closes first and holds TIME_WAIT for 2*MSL, MSL parsed with the
 * driver library's tt_duration_parse(). It prints every state change and
 * exits 0 only when the whole story happened as the contract says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tuntcp/driver.h>
#include <tuntcp/tuntcp.h>

#define CLIENT_ADDR 0x0a090002u
#define SERVER_ADDR 0x0a090001u
#define QUEUE_LEN 64

/* Datagrams in flight between the two engines, oldest first. */
struct wire {
    struct {
        tt_engine_t *to;
        size_t len;
        uint8_t bytes[1600];
    } pkt[QUEUE_LEN];
    size_t head, count;
    int dropped;
};

/* What the two sides saw; the test's verdict comes from it. */
struct story {
    uint64_t timewait_us;
    char echoed[16];
    size_t echoed_len;
    int client_closed;
};

struct side {
    struct wire *wire;
    tt_engine_t *peer;
    struct story *story;
    const char *name;
};

static void output(void *ctx, const uint8_t *packet, size_t len)
{
    struct side *s = ctx;
    struct wire *w = s->wire;
    if (w->count == QUEUE_LEN || len > sizeof(w->pkt[0].bytes)) {
        w->dropped++;
        return;
    }
    size_t i = (w->head + w->count++) % QUEUE_LEN;
    w->pkt[i].to = s->peer;
    w->pkt[i].len = len;
    memcpy(w->pkt[i].bytes, packet, len);
}

static void on_event(void *ctx, const tt_event_t *ev)
{
    const struct side *s = ctx;
    if (ev->type != TT_EV_STATE)
        return;
    printf("%s %.6f %s -> %s%s%s\n", s->name, ev->now_us / 1e6, tt_state_name(ev->from),
           tt_state_name(ev->to), ev->why ? " " : "", ev->why ? tt_close_reason_name(ev->why) : "");
    if (ev->to == TT_STATE_TIME_WAIT)
        s->story->timewait_us = ev->now_us;
    else if (ev->from == TT_STATE_TIME_WAIT)
        s->story->timewait_us = ev->now_us - s->story->timewait_us;
}

static void server_read(tt_conn_t *c, const uint8_t *buf, ssize_t n)
{
    if (n > 0)
        tt_conn_write(c, buf, (size_t)n);
    else
        tt_conn_close(c, NULL); /* the client's FIN: passive close */
}

static void on_connection(tt_listener_t *l, int status)
{
    tt_conn_t *c;
    if (status == 0 && tt_accept(l, &c) == 0)
        tt_conn_read_start(c, server_read);
}

static void client_read(tt_conn_t *c, const uint8_t *buf, ssize_t n)
{
    struct story *st = tt_conn_get_data(c);
    if (n > 0 && st->echoed_len + (size_t)n <= sizeof(st->echoed)) {
        memcpy(st->echoed + st->echoed_len, buf, (size_t)n);
        st->echoed_len += (size_t)n;
    }
    if (st->echoed_len == 5 && !st->client_closed) {
        st->client_closed = 1;
        tt_conn_close(c, NULL); /* active close: TIME_WAIT is ours */
    }
}

static void on_connect(tt_conn_t *c, int status)
{
    if (status == 0) {
        tt_conn_read_start(c, client_read);
        tt_conn_write(c, "hello", 5);
    }
}

static uint64_t next_deadline(tt_engine_t *a, tt_engine_t *b)
{
    uint64_t da = tt_engine_next_deadline(a), db = tt_engine_next_deadline(b);
    return da < db ? da : db;
}

/* Delivers every queued datagram, then moves the clock to the next timer. */
static void run(struct wire *w, tt_engine_t *a, tt_engine_t *b, uint64_t *now, uint64_t until)
{
    while (*now < until) {
        while (w->count) {
            size_t i = w->head;
            w->head = (w->head + 1) % QUEUE_LEN;
            w->count--;
            tt_engine_input(w->pkt[i].to, w->pkt[i].bytes, w->pkt[i].len, *now);
        }
        uint64_t next = next_deadline(a, b);
        if (next == TT_TIME_NEVER)
            return;
        *now = next > *now ? next : *now;
        tt_engine_timers(a, *now);
        tt_engine_timers(b, *now);
    }
}

static tt_engine_t *make_engine(uint32_t addr, uint64_t msl_us, struct side *s)
{
    tt_config_t cfg;
    tt_config_init(&cfg);
    cfg.addr = addr;
    cfg.msl_us = msl_us;
    cfg.seed = addr;
    tt_engine_t *eng;
    int err = tt_engine_new(&eng, &cfg, output, s, 1000000);
    if (err) {
        fprintf(stderr, "tt_engine_new: %s\n", tt_strerror(err));
        exit(1);
    }
    tt_engine_set_event_cb(eng, on_event, s);
    return eng;
}

int main(void)
{
    static struct wire w;
    struct story st = {0};
    uint64_t msl_us;
    if (tt_duration_parse("250ms", &msl_us) != 0)
        return 1;
    struct side cs = {&w, NULL, &st, "client"}, ss = {&w, NULL, &st, "server"};
    tt_engine_t *client = make_engine(CLIENT_ADDR, msl_us, &cs);
    tt_engine_t *server = make_engine(SERVER_ADDR, msl_us, &ss);
    cs.peer = server;
    ss.peer = client;

    tt_listener_t *l;
    tt_conn_t *c;
    uint64_t now = 1000000;
    int err = tt_listen(server, 7, 8, on_connection, &l);
    if (!err)
        err = tt_connect(client, SERVER_ADDR, 7, on_connect, &c);
    if (err) {
        fprintf(stderr, "listen/connect: %s\n", tt_strerror(err));
        return 1;
    }
    tt_conn_set_data(c, &st);
    run(&w, client, server, &now, now + 10000000);

    int ok = st.echoed_len == 5 && memcmp(st.echoed, "hello", 5) == 0 && w.dropped == 0 &&
             tt_engine_conn_count(client) == 0 && tt_engine_timewait_count(client) == 0 &&
             tt_engine_conn_count(server) == 0 && st.timewait_us == 2 * msl_us;
    printf("echoed \"%.*s\", TIME_WAIT lasted %.3f s (2*MSL = %.3f s): %s\n", (int)st.echoed_len,
           st.echoed, st.timewait_us / 1e6, 2 * msl_us / 1e6, ok ? "ok" : "FAILED");
    tt_listener_close(l);
    tt_engine_free(client);
    tt_engine_free(server);
    return ok ? 0 : 1;
}
