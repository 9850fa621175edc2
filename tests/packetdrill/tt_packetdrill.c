/*
 * tuntcp under packetdrill: the shared object that packetdrill loads with
 * --so_filename. This file holds the engine, the virtual clock, the packet
 * queue towards packetdrill and the blocking machinery (see pd_adapter.h);
 * pd_socket.c holds the socket calls and pd_flags.c the --so_flags knobs.
 *
 * Nothing here touches a network: packets go from packetdrill into
 * tt_engine_input() and from the engine's output callback into a queue that
 * netdev_receive() drains.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_adapter.h"

/* Timer runs at one instant after which the engine's next deadline must have
 * moved on: more means it never will (an engine bug), not a busy instant. */
#define PD_STUCK_STEPS 100000

static bool on_thread(pthread_t t)
{
    return pthread_equal(t, pthread_self()) != 0;
}

/* Must this thread wait for a blocked call to finish first (pd_adapter.h, hand-off)? */
static bool must_yield(struct pd *pd)
{
    if (pd->stamp_pending && !on_thread(pd->stamp_thread))
        return true;
    return pd->blk.active && !on_thread(pd->blk.thread) && pd_blocker_ready(pd, &pd->blk);
}

static void handoff(struct pd *pd)
{
    while (must_yield(pd)) {
        pthread_cond_broadcast(&pd->cv);
        pthread_cond_wait(&pd->cv, &pd->mu);
    }
}

void pd_begin(struct pd *pd)
{
    pthread_mutex_lock(&pd->mu);
    handoff(pd);
    pd_qdisc_poll(pd); /* a mid-run `tc qdisc` command just ran */
}

long pd_end(struct pd *pd, long ret)
{
    pd_tstamp_poll(pd); /* what the call sent or had acknowledged */
    pd_zc_poll(pd);
    if (!on_thread(pd->main_thread)) { /* packetdrill reads its end time next */
        pd->stamp_pending = true;
        pd->stamp_thread = pthread_self();
    }
    pthread_cond_broadcast(&pd->cv);
    pthread_mutex_unlock(&pd->mu);
    if (ret < 0) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}

static void set_now(struct pd *pd, uint64_t t)
{
    if (t > pd->now) {
        pd->now = t;
        tt_engine_set_now(pd->eng, t);
    }
}

/* The next virtual time something can happen without packetdrill: a timer, or
 * a blocked call giving up. */
static uint64_t next_event(const struct pd *pd)
{
    uint64_t d = tt_engine_next_deadline(pd->eng);
    if (pd->blk.active && pd->blk.deadline < d)
        d = pd->blk.deadline;
    return d < pd->now ? pd->now : d;
}

/* Runs the engine's timers at t (never before now) and wakes the waiters. */
static void step_to(struct pd *pd, uint64_t t)
{
    set_now(pd, t);
    tt_engine_timers(pd->eng, pd->now);
    pd_tstamp_poll(pd);
    pd_zc_poll(pd);
    pthread_cond_broadcast(&pd->cv);
}

/* Counts timer runs at the same instant; true (after a message) when stuck. */
static bool stuck(struct pd *pd, uint64_t d, unsigned *same)
{
    *same = d == pd->now ? *same + 1 : 0;
    if (*same <= PD_STUCK_STEPS)
        return false;
    fprintf(stderr, "tt_packetdrill: the engine's next deadline stays at %.6f s\n",
            (double)(d - pd->start) / 1e6);
    return true;
}

/* Moves the clock to target, firing every deadline on the way at its time and
 * letting a blocked call that became possible return before time goes on. */
static void advance(struct pd *pd, uint64_t target)
{
    unsigned same = 0;
    for (;;) {
        handoff(pd);
        uint64_t d = next_event(pd);
        if (d > target || stuck(pd, d, &same))
            break;
        step_to(pd, d);
    }
    set_now(pd, target);
}

/* No packet can arrive while packetdrill's main thread is in a call: only
 * timers can end the wait, so run them. */
static int wait_on_main(struct pd *pd, const struct pd_blocker *b)
{
    unsigned same = 0;
    while (!pd_blocker_ready(pd, b)) {
        handoff(pd);
        uint64_t d = next_event(pd);
        if (b->deadline < d)
            d = b->deadline < pd->now ? pd->now : b->deadline;
        if (stuck(pd, d, &same))
            return -EAGAIN;
        if (d == TT_TIME_NEVER) {
            fprintf(stderr, "tt_packetdrill: a call on packetdrill's main thread would block "
                            "forever (no timer armed); give it a time range in the script, "
                            "e.g. `+0...1 read(...)`, so that packets can arrive meanwhile\n");
            return -EAGAIN;
        }
        step_to(pd, d);
    }
    return 0;
}

/* The system-call thread sleeps; the main thread moves time and delivers packets. */
static int wait_on_syscall_thread(struct pd *pd, const struct pd_blocker *b)
{
    pd->blk = *b;
    pd->blk.active = true;
    pd->blk.thread = pthread_self();
    /* A thread in handoff() may be waiting for this call to finish: it
     * has to see that the call blocks again instead (a write() that took
     * part of its bytes and waits for more room), or both sleep for ever. */
    while (!pd_blocker_ready(pd, &pd->blk)) {
        pthread_cond_broadcast(&pd->cv);
        pthread_cond_wait(&pd->cv, &pd->mu);
    }
    pd->blk.active = false;
    return 0;
}

int pd_wait(struct pd *pd, const struct pd_blocker *b)
{
    if (on_thread(pd->main_thread))
        return wait_on_main(pd, b);
    return wait_on_syscall_thread(pd, b);
}

/* ---- the engine's output and events ---- */

static void on_output(void *ctx, const uint8_t *packet, size_t len)
{
    struct pd *pd = ctx;
    struct pd_pkt *p = malloc(sizeof(*p) + len);
    if (!p) {
        fprintf(stderr, "tt_packetdrill: out of memory; a packet is lost\n");
        return;
    }
    p->next = NULL;
    p->t = pd->now;
    p->len = len;
    memcpy(p->data, packet, len);
    if (pd->out_tail)
        pd->out_tail->next = p;
    else
        pd->out_head = p;
    pd->out_tail = p;
}

static void on_event(void *ctx, const tt_event_t *ev)
{
    struct pd *pd = ctx;
    double t = (double)(ev->now_us - pd->start) / 1e6;
    fprintf(stderr, "tt_packetdrill: %.6f %u>%u ", t, ev->lport, ev->rport);
    switch (ev->type) {
    case TT_EV_STATE:
        fprintf(stderr, "%s -> %s", tt_state_name(ev->from), tt_state_name(ev->to));
        if (ev->to == TT_STATE_CLOSED)
            fprintf(stderr, " (%s)", tt_close_reason_name(ev->why));
        break;
    case TT_EV_TIMEWAIT_RESTART:
        fprintf(stderr, "timewait_restart, expires %.6f",
                (double)(ev->expires_us - pd->start) / 1e6);
        break;
    case TT_EV_RST_OUT:
        fprintf(stderr, "rst_out (%s)", ev->rst_why ? ev->rst_why : "?");
        break;
    case TT_EV_RST_IN:
        fprintf(stderr, "rst_in in %s", tt_state_name(ev->state));
        break;
    case TT_EV_RST_NOCONN:
        fprintf(stderr, "rst_noconn (%s)", ev->rst_why ? ev->rst_why : "?");
        break;
    case TT_EV_CONNECT_FAIL:
        fprintf(stderr, "connect_fail (%s)", tt_strerror(ev->err));
        break;
    case TT_EV_LINGER_EXPIRED:
        fprintf(stderr, "linger_expired in %s", tt_state_name(ev->state));
        break;
    }
    fputc('\n', stderr);
}

/* ---- packets, clock ---- */

static uint32_t ipv4_dst(const uint8_t *p, size_t len)
{
    if (len < 20)
        return 0;
    return (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
}

/* packetdrill picks a random 192.168.x.y unless told: say how to line them up. */
static void check_dst(struct pd *pd, const uint8_t *p, size_t len)
{
    uint32_t dst = ipv4_dst(p, len), a = pd->opts.cfg.addr;
    if (pd->warned_addr || dst == a || (p[0] >> 4) != 4)
        return;
    pd->warned_addr = true;
    fprintf(stderr,
            "tt_packetdrill: packet for %u.%u.%u.%u but the stack is %u.%u.%u.%u: run packetdrill "
            "with --local_ip=%u.%u.%u.%u (or set --addr in --so_flags)\n",
            dst >> 24, dst >> 16 & 255, dst >> 8 & 255, dst & 255, a >> 24, a >> 16 & 255,
            a >> 8 & 255, a & 255, a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

/*
 * The gso_size the packet would carry into Linux: packetdrill's --mss puts
 * it in the virtio header of every TCP packet it writes to its tun device,
 * and the kernel keeps it only for a packet whose payload is larger (Linux
 * virtio_net_hdr_to_skb(): "too small packets are not really GSO ones").
 */
static uint16_t gso_size(const struct pd *pd, const uint8_t *p, size_t len)
{
    if (pd->opts.gso_size == 0 || len < 40 || (p[0] >> 4) != 4 || p[9] != 6)
        return 0;
    size_t ihl = (size_t)(p[0] & 15) * 4;
    if (ihl + 20 > len)
        return 0;
    size_t hdrs = ihl + (size_t)(p[ihl + 12] >> 4) * 4;
    return hdrs < len && len - hdrs > pd->opts.gso_size ? pd->opts.gso_size : 0;
}

static int pd_netdev_send(void *ud, const void *buf, size_t count)
{
    struct pd *pd = ud;
    pd_begin(pd);
    check_dst(pd, buf, count);
    const tt_rx_info_t rx = {.gso_size = gso_size(pd, buf, count)};
    tt_engine_input_rx(pd->eng, buf, count, &rx, pd->now);
    return (int)pd_end(pd, 0);
}

static struct pd_pkt *queue_pop(struct pd *pd)
{
    struct pd_pkt *p = pd->out_head;
    pd->out_head = p->next;
    if (!pd->out_head)
        pd->out_tail = NULL;
    return p;
}

/* The stack will never send again: packetdrill would wait for ever. */
static void die_no_packet(struct pd *pd)
{
    fprintf(stderr,
            "tt_packetdrill: at %.6f s packetdrill waits for an outbound packet, but the "
            "stack has nothing to send and no timer armed: the expected packet never "
            "leaves\n",
            (double)(pd->now - pd->start) / 1e6);
    fflush(stderr);
    exit(EXIT_FAILURE);
}

/* Gives the next datagram; with none queued, lets virtual time run to the next
 * timer (packetdrill sniffs without a timeout in this mode). */
static int pd_netdev_receive(void *ud, void *buf, size_t *count, long long *time_usecs)
{
    struct pd *pd = ud;
    unsigned same = 0;
    pd_begin(pd);
    for (;;) {
        handoff(pd);
        if (pd->out_head)
            break;
        uint64_t d = next_event(pd);
        if (d == TT_TIME_NEVER || stuck(pd, d, &same))
            die_no_packet(pd);
        step_to(pd, d);
    }
    struct pd_pkt *p = queue_pop(pd);
    size_t n = p->len < *count ? p->len : *count;
    memcpy(buf, p->data, n);
    *count = n;
    *time_usecs = (long long)p->t;
    free(p);
    return (int)pd_end(pd, 0);
}

static int pd_usleep(void *ud, unsigned int usec)
{
    struct pd *pd = ud;
    pd_begin(pd);
    advance(pd, pd->now + usec);
    return (int)pd_end(pd, 0);
}

/* Each reading costs a microsecond: packetdrill spins on the clock. */
static int pd_gettimeofday(void *ud, struct timeval *tv, void *tz)
{
    struct pd *pd = ud;
    pthread_mutex_lock(&pd->mu);
    pd_qdisc_poll(pd);
    if (pd->stamp_pending && on_thread(pd->stamp_thread)) {
        pd->stamp_pending = false; /* the end time of a blocking call: not a microsecond late */
        pthread_cond_broadcast(&pd->cv);
    } else {
        handoff(pd);
        advance(pd, pd->now + 1);
    }
    tv->tv_sec = (time_t)(pd->now / 1000000);
    tv->tv_usec = (suseconds_t)(pd->now % 1000000);
    pthread_mutex_unlock(&pd->mu);
    return 0;
}

/* ---- life cycle ---- */

static void pd_free(void *ud)
{
    struct pd *pd = ud;
    if (!pd)
        return;
    pd_preload_set(NULL);
    pd_qdisc_close(pd);
    tt_engine_free(pd->eng);
    pd_sockets_free(pd);
    pd_epolls_free(pd);
    while (pd->out_head)
        free(queue_pop(pd));
    pthread_cond_destroy(&pd->cv);
    pthread_mutex_destroy(&pd->mu);
    free(pd);
}

static struct pd *pd_new(const char *flags)
{
    struct pd *pd = calloc(1, sizeof(*pd));
    if (!pd)
        return NULL;
    if (pd_flags_parse(flags, &pd->opts, stderr) != 0)
        exit(2); /* as the apps: a bad knob is refused, naming the flag */
    pthread_mutex_init(&pd->mu, NULL);
    pthread_cond_init(&pd->cv, NULL);
    pd->main_thread = pthread_self();
    pd->now = pd->start = PD_VCLOCK_START;
    pd->next_port = pd->opts.cfg.port_lo;
    int err = tt_engine_new(&pd->eng, &pd->opts.cfg, on_output, pd, pd->now);
    if (err) {
        fprintf(stderr, "tt_packetdrill: engine: %s\n", tt_strerror(err));
        exit(2);
    }
    if (pd->opts.verbose)
        tt_engine_set_event_cb(pd->eng, on_event, pd);
    pd_qdisc_open(pd);
    return pd;
}

__attribute__((visibility("default"))) void packetdrill_interface_init(const char *flags,
                                                                       struct pd_interface *ifc)
{
    memset(ifc, 0, sizeof(*ifc));
    struct pd *pd = pd_new(flags);
    if (!pd) {
        fprintf(stderr, "tt_packetdrill: out of memory\n");
        exit(EXIT_FAILURE);
    }
    ifc->userdata = pd;
    pd_preload_set(pd);
    ifc->free = pd_free;
    ifc->netdev_send = pd_netdev_send;
    ifc->netdev_receive = pd_netdev_receive;
    ifc->usleep = pd_usleep;
    ifc->gettimeofday = pd_gettimeofday;
    pd_socket_fill(ifc);
}
