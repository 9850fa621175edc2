/*
 * TIME_WAIT at scale: memory per entry and cost per expiry (issue 4).
 *
 * Drives the engine in-process, as a scripted peer would: N peers
 * (distinct addresses and ports) connect to a listener, the application
 * closes each connection at once (the engine is the active closer), the
 * peer answers with FIN, and the connection lands in TIME_WAIT. Then the
 * clock jumps past 2*MSL and one tt_engine_timers() call expires them all.
 *
 * Memory is what the allocator says (mallinfo2: bytes in use), measured
 * before the first and after the last connection, so it counts the entries,
 * the table's buckets and slabs, and anything a closed connection left
 * behind. Prints figures; it is not a pass/fail test.
 *
 *     bench_timewait [N ...]        (default: 1000 100000 1000000)
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipv4.h"
#include "tcp_wire.h"
#include "tuntcp/tuntcp.h"

#define ENGINE_ADDR 0x0a070002u
#define MSL_US 1000000ull

struct bench {
    tt_engine_t *eng;
    uint64_t now;
    uint32_t last_iss; /* from the engine's SYN-ACK */
    uint8_t pkt[2048];
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_output(void *ctx, const uint8_t *p, size_t len)
{
    struct bench *b = ctx;
    struct ipv4_hdr ip;
    struct seg s;
    if (tt_ipv4_parse(p, len, &ip) != IPV4_OK || ip.proto != IP_PROTO_TCP)
        return;
    if (tt_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &s) != TCP_OK)
        return;
    if ((s.flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
        b->last_iss = s.seq;
}

static void close_at_once(tt_listener_t *l, int status)
{
    tt_conn_t *c;
    if (status == 0 && tt_accept(l, &c) == 0)
        tt_conn_close(c, NULL);
}

static void peer_send(struct bench *b, uint32_t raddr, uint16_t rport, uint8_t flags, uint32_t seq,
                      uint32_t ack)
{
    struct seg s;
    memset(&s, 0, sizeof(s));
    s.saddr = raddr;
    s.daddr = ENGINE_ADDR;
    s.sport = rport;
    s.dport = 7;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.wnd = 65535;
    size_t n = tt_tcp_build(b->pkt, sizeof(b->pkt), &s, 1);
    tt_engine_input(b->eng, b->pkt, n, b->now);
}

/* One connection from (raddr, rport) through to the engine's TIME_WAIT. */
static void one_timewait(struct bench *b, uint32_t raddr, uint16_t rport)
{
    const uint32_t irs = 1000;
    peer_send(b, raddr, rport, TCP_SYN, irs, 0);
    uint32_t iss = b->last_iss;
    peer_send(b, raddr, rport, TCP_ACK, irs + 1, iss + 1);           /* accepted, closed: FIN */
    peer_send(b, raddr, rport, TCP_ACK | TCP_FIN, irs + 1, iss + 2); /* final ACK: TIME_WAIT */
}

/* Bytes handed out by malloc: the heap's and the large blocks it mmaps. */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void run(size_t n)
{
    struct bench b = {.now = 1000000};
    tt_config_t cfg;
    tt_config_init(&cfg);
    cfg.addr = ENGINE_ADDR;
    cfg.msl_us = MSL_US;
    cfg.tcp_max_tw_buckets = (uint32_t)n;
    cfg.tcp_timestamps = 0;
    memset(cfg.isn_secret, 7, sizeof(cfg.isn_secret));
    tt_listener_t *l;
    if (tt_engine_new(&b.eng, &cfg, on_output, &b, b.now) != 0 ||
        tt_listen(b.eng, 7, 128, close_at_once, &l) != 0) {
        fprintf(stderr, "engine setup failed\n");
        exit(1);
    }
    size_t before = heap_in_use();
    uint64_t t0 = mono_ns();
    for (size_t i = 0; i < n; i++)
        one_timewait(&b, 0x0b000000u + (uint32_t)(i / 50000), (uint16_t)(10000 + i % 50000));
    uint64_t t1 = mono_ns();
    size_t after = heap_in_use();
    size_t tw = tt_engine_timewait_count(b.eng);
    b.now += 2 * MSL_US;
    uint64_t t2 = mono_ns();
    tt_engine_timers(b.eng, b.now);
    uint64_t t3 = mono_ns();
    printf("%8zu entries  %6.1f bytes/entry  setup %6.0f ns/conn  expiry %6.1f ns/entry  "
           "left %zu\n",
           tw, (double)(after - before) / (double)(tw ? tw : 1), (double)(t1 - t0) / (double)n,
           (double)(t3 - t2) / (double)(tw ? tw : 1), tt_engine_timewait_count(b.eng));
    if (tw != n || tt_engine_timewait_count(b.eng) != 0) {
        fprintf(stderr, "expected %zu TIME_WAIT entries, then none\n", n);
        exit(1);
    }
    tt_engine_free(b.eng);
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {1000, 100000, 1000000};
    printf("TIME_WAIT entries: allocator bytes per entry and cost per expiry\n");
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            run(strtoul(argv[i], NULL, 10));
        return 0;
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        run(sizes[i]);
    return 0;
}
