/*
 * The engine's entry points: configuration, the three calls a harness drives
 * (input, timers, next_deadline), IPv4 and ICMP dispatch, events and
 * counters. It owns no protocol rule itself: TCP segments go to tt_tcp_input.c,
 * TIME_WAIT to timewait.c.
 *
 * The end of an engine call: while a packet, the timers or an application
 * call are worked on, nothing leaves the engine but trace events. What the
 * call owes the outside waits for its end: the application's callbacks
 * (tcb.c), then the work that had to wait for them (the ACK a segment calls
 * for, the window a read opened, the output), then the datagrams, in the
 * order they were sent (services.c), then the memory of what ended.
 * Callbacks may call the API; those calls are nested in the engine call
 * that runs the callback, and what they cause joins the same end. So no
 * protocol step runs on a connection a callback closed, and nothing is
 * freed under a caller.
 */
#include "engine.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ipv4.h"
#include "seq.h"
#include "tcp_wire.h"

void tt_config_init(tt_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->addr = 0x0a070002; /* 10.7.0.2 */
    cfg->mtu = 1500;
    cfg->msl_us = 30 * SEC;
    cfg->fin_timeout_us = 60 * SEC;
    cfg->tcp_tw_reuse = 2;              /* Linux: loopback only */
    cfg->tw_reuse_delay_us = 1000 * MS; /* Linux tcp_tw_reuse_delay */
    cfg->tcp_max_tw_buckets = 262144;
    cfg->tcp_timestamps = 1;
    cfg->tcp_window_scaling = 1;
    cfg->tcp_sack = 1;
    cfg->tcp_congestion_control = TT_CC_CUBIC;  /* Linux's default since 2.6.19 */
    cfg->tcp_early_retrans = 3;                 /* Linux: tail loss probes on */
    cfg->tcp_recovery = TT_RACK_LOSS_DETECTION; /* Linux: RACK on */
    cfg->tcp_slow_start_after_idle = 1;         /* Linux's default */
    cfg->tcp_min_tso_segs = 2;                  /* Linux's default */
    cfg->tcp_ecn = 2;                           /* Linux: ECN when the peer asks */
    cfg->tcp_pacing = 0;            /* Linux paces only under fq, not the default qdisc */
    cfg->tcp_pacing_ss_ratio = 200; /* Linux's default */
    cfg->tcp_pacing_ca_ratio = 120; /* Linux's default */
    cfg->invalid_ratelimit_us = 500 * MS;
    cfg->port_lo = 32768;
    cfg->port_hi = 60999;
    cfg->syn_retries = 6;
    cfg->synack_retries = 5;
    cfg->retries2 = 15;
    cfg->keepalive_time_us = 7200 * SEC; /* Linux tcp_keepalive_time */
    cfg->keepalive_intvl_us = 75 * SEC;  /* tcp_keepalive_intvl */
    cfg->keepalive_probes = 9;           /* tcp_keepalive_probes */
    cfg->tcp_orphan_retries = 0;         /* Linux: 8 while alive, see tcp_timer.c */
    cfg->tcp_syncookies = 1;
    cfg->tcp_max_syn_backlog = 4096;
    cfg->sndbuf = 256 * 1024;
    cfg->rcvbuf = 256 * 1024;
    cfg->tcp_notsent_lowat = UINT32_MAX; /* Linux: off */
    cfg->delack_us = 40 * MS;
}

static int config_check(const tt_config_t *cfg)
{
    if (cfg->mtu < 68 || cfg->mtu > 65535)
        return -EINVAL;
    if (cfg->port_lo == 0 || cfg->port_lo > cfg->port_hi)
        return -EINVAL;
    if (cfg->sndbuf < 1024 || cfg->rcvbuf < 1024 || cfg->rcvbuf > (1u << 30))
        return -EINVAL;
    if (cfg->tcp_tw_reuse < 0 || cfg->tcp_tw_reuse > 2 || cfg->tw_reuse_delay_us < MS)
        return -EINVAL;
    if (cfg->keepalive_time_us < SEC || cfg->keepalive_intvl_us < SEC ||
        cfg->keepalive_probes < 1 || cfg->keepalive_probes > 127)
        return -EINVAL;
    if (cfg->syn_retries < 1 || cfg->synack_retries < 1 || cfg->retries2 < 1)
        return -EINVAL;
    if (cfg->tcp_orphan_retries < 0)
        return -EINVAL;
    if (cfg->tcp_congestion_control != TT_CC_RENO && cfg->tcp_congestion_control != TT_CC_CUBIC)
        return -EINVAL;
    if (cfg->tcp_early_retrans < 0 || cfg->tcp_early_retrans > 4)
        return -EINVAL;
    if (cfg->tcp_recovery < 0 || cfg->tcp_recovery > 7)
        return -EINVAL;
    if (cfg->tcp_slow_start_after_idle & ~1)
        return -EINVAL;
    if (cfg->tcp_min_tso_segs < 1 || cfg->tcp_min_tso_segs > 255)
        return -EINVAL;
    if (cfg->tcp_ecn < 0 || cfg->tcp_ecn > 2)
        return -EINVAL;
    if (cfg->tcp_pacing & ~1)
        return -EINVAL;
    if (cfg->tcp_pacing_ss_ratio < 0 || cfg->tcp_pacing_ss_ratio > 1000 ||
        cfg->tcp_pacing_ca_ratio < 0 || cfg->tcp_pacing_ca_ratio > 1000)
        return -EINVAL; /* Linux's range for both sysctls */
    return 0;
}

int tt_engine_new(tt_engine_t **out, const tt_config_t *cfg, tt_output_cb cb, void *out_ctx,
                  uint64_t now_us)
{
    int err = config_check(cfg);
    if (err)
        return err;
    tt_engine_t *eng = calloc(1, sizeof(*eng));
    if (!eng)
        return -ENOMEM;
    eng->cfg = *cfg;
    eng->out = cb;
    eng->out_ctx = out_ctx;
    eng->now = eng->start = now_us;
    eng->rng = cfg->seed;
    eng->out_state = -ENOENT;
    eng->wheel = tt_timer_wheel_new(now_us);
    if (!eng->wheel || tt_conn_table_init(&eng->table) != 0 ||
        tt_tw_table_init(&eng->tw, tt_timewait_hash, eng) != 0) {
        tt_timer_wheel_free(eng->wheel);
        tt_conn_table_fini(&eng->table);
        free(eng);
        return -ENOMEM;
    }
    *out = eng;
    return 0;
}

void tt_engine_set_event_cb(tt_engine_t *eng, tt_event_cb ev, void *ev_ctx)
{
    eng->ev = ev;
    eng->ev_ctx = ev_ctx;
}

static void free_listeners(struct tt_listener *l)
{
    while (l) {
        struct tt_listener *next = l->next;
        free(l);
        l = next;
    }
}

/* Nothing is sent and nobody is called back: what was owed is dropped. */
void tt_engine_free(tt_engine_t *eng)
{
    if (!eng)
        return;
    tt_tw_table_fini(&eng->tw);
    free_listeners(eng->listeners);
    free_listeners(eng->closed_listeners);
    tt_timer_wheel_free(eng->wheel); /* disarms timers still inside the TCBs */
    while (eng->all_conns)           /* detached handles and released TCBs too */
        tt_tcb_free(eng->all_conns);
    tt_engine_ooo_free_list(eng->ooo_pool);
    tt_spares_fini(&eng->spares);
    tt_recq_free(&eng->outq);
    tt_recq_free(&eng->staged);
    tt_conn_table_fini(&eng->table);
    free(eng);
}

/* Time only moves forward: a harness bug otherwise (docs/architecture.md §10). */
static void engine_set_time(tt_engine_t *eng, uint64_t now_us)
{
    assert(now_us >= eng->now);
    if (now_us > eng->now)
        eng->now = now_us;
}

void tt_engine_enter(tt_engine_t *eng)
{
    eng->depth++;
}

/*
 * What waited for the application's callbacks, connection by connection in
 * the order it was asked for: the window update a read calls for
 * (tcp_output.c), the ACK and output a segment calls for (tcp_input.c).
 * A connection that ended meanwhile has nothing left here (tcb.c).
 */
static void after_callbacks(tt_engine_t *eng)
{
    struct tt_conn *c;
    while ((c = tt_tcb_after_next(eng)) != NULL) {
        uint8_t work = c->after;
        c->after = 0;
        if (work & TT_AFTER_READ)
            tt_tcp_window_update(c);
        if (work & TT_AFTER_INPUT)
            tt_tcp_input_done(c);
    }
}

/* Nothing of the call can still be using what ended in it. */
static void free_ended(tt_engine_t *eng)
{
    while (eng->to_free) {
        struct tt_conn *c = eng->to_free;
        eng->to_free = c->free_next;
        tt_tcb_free(c);
    }
    free_listeners(eng->closed_listeners);
    eng->closed_listeners = NULL;
}

/* The end of the outermost engine call (see the top of this file). */
static void end_of_call(tt_engine_t *eng)
{
    do {
        tt_tcb_notify_all(eng);
        after_callbacks(eng);
        tt_engine_output_flush(eng); /* the output callback may call the engine too */
    } while (eng->pending_head || eng->after_head || tt_engine_output_pending(eng));
    tt_engine_staged_reset(eng);
    free_ended(eng);
}

void tt_engine_leave(tt_engine_t *eng)
{
    if (--eng->depth > 0)
        return;
    eng->depth = 1; /* calls from callbacks are nested in this one */
    eng->ending = true;
    end_of_call(eng);
    eng->ending = false;
    eng->depth = 0;
}

void tt_engine_set_now(tt_engine_t *eng, uint64_t now_us)
{
    engine_set_time(eng, now_us);
}

uint64_t tt_engine_now(const tt_engine_t *eng)
{
    return eng->now;
}

static void icmp_input(tt_engine_t *eng, const struct ipv4_hdr *ip)
{
    int kind = tt_icmp_classify(ip);
    if (kind < 0) {
        eng->stats.IcmpInErrors++;
        return;
    }
    if (kind != ICMP_ECHO_REQUEST)
        return;
    eng->stats.IcmpInEchos++;
    size_t cap = IPV4_HDR_LEN + ip->payload_len;
    uint8_t *buf = tt_engine_output_buf(eng, cap);
    uint16_t id = eng->ip_id++;
    size_t n = buf ? tt_icmp_echo_reply(ip, buf, cap, id) : 0;
    if (n > 0) {
        eng->stats.IcmpOutEchoReps++;
        tt_engine_output_push(eng, n, -ENOENT);
    }
}

static void tcp_dispatch(tt_engine_t *eng, const struct ipv4_hdr *ip, uint16_t gso_size)
{
    struct seg seg;
    int r = eng->csum_known
                ? tt_tcp_parse_csum_known(ip->payload, ip->payload_len, ip->src, ip->dst, &seg)
                : tt_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, &seg);
    if (r != TCP_OK) {
        eng->stats.TcpInErrs++;
        if (r == TCP_ERR_CSUM)
            eng->stats.TcpInCsumErrors++;
        else if (r == TCP_ERR_OPTS)
            eng->stats.TtInBadTcpOpts++;
        else
            eng->stats.TtInBadTcpHdr++;
        return;
    }
    eng->stats.TcpInSegs++;
    seg.gso_size = gso_size;
    seg.tos = ip->tos; /* RFC 3168 6.1.3: the receiver reads the ECN field */
    tt_tcp_input(eng, &seg);
}

/*
 * As Linux counts in ip_rcv_core(): fewer bytes than the total length says
 * is a truncated datagram, not a header error; a bad header checksum is a
 * header error and also a checksum error (the IpExt MIB, RFC 4293's
 * ipSystemStatsInTruncatedPkts and Linux's InCsumErrors).
 */
static void ip_count_error(tt_engine_t *eng, int r, size_t len)
{
    if (r == IPV4_ERR_TRUNC && len >= IPV4_HDR_LEN) {
        eng->stats.IpExtInTruncatedPkts++;
        return;
    }
    if (r == IPV4_ERR_CSUM)
        eng->stats.IpExtInCsumErrors++;
    eng->stats.IpInHdrErrors++;
}

static void ip_input(tt_engine_t *eng, const uint8_t *pkt, size_t len, uint16_t gso_size)
{
    struct ipv4_hdr ip;
    eng->stats.IpInReceives++;
    int r = tt_ipv4_parse(pkt, len, &ip);
    if (r == IPV4_ERR_FRAGMENT) {
        eng->stats.IpReasmFails++;
        return;
    }
    if (r != IPV4_OK) {
        ip_count_error(eng, r, len);
        return;
    }
    if (ip.dst != eng->cfg.addr) {
        eng->stats.IpInAddrErrors++;
        return;
    }
    if (ip.proto == IP_PROTO_TCP)
        tcp_dispatch(eng, &ip, gso_size);
    else if (ip.proto == IP_PROTO_ICMP)
        icmp_input(eng, &ip);
    else
        eng->stats.IpInUnknownProtos++;
}

void tt_engine_input(tt_engine_t *eng, const uint8_t *packet, size_t len, uint64_t now_us)
{
    const tt_rx_info_t none = {0};
    tt_engine_input_rx(eng, packet, len, &none, now_us);
}

void tt_engine_input_rx(tt_engine_t *eng, const uint8_t *packet, size_t len, const tt_rx_info_t *rx,
                        uint64_t now_us)
{
    engine_set_time(eng, now_us);
    tt_engine_enter(eng);
    eng->csum_known = rx->csum_known; /* Linux CHECKSUM_UNNECESSARY: not summed again */
    ip_input(eng, packet, len, rx->gso_size);
    eng->csum_known = false;
    tt_engine_leave(eng);
}

/*
 * Parses a super-segment as one TCP segment and hands it to tcp_gro.c,
 * which takes it whole or leaves it untouched. Nothing is counted for a
 * datagram left: the caller gives its wire segments next.
 */
int tt_engine_input_super(tt_engine_t *eng, const uint8_t *packet, size_t len,
                          const tt_rx_info_t *rx, uint64_t now_us)
{
    struct ipv4_hdr ip;
    struct seg seg;
    bool taken;

    if (!rx->csum_known || rx->gso_size == 0)
        return -EAGAIN; /* only what the kernel vouches for skips the sums */
    if (tt_ipv4_parse(packet, len, &ip) != IPV4_OK || ip.dst != eng->cfg.addr ||
        ip.proto != IP_PROTO_TCP)
        return -EAGAIN;
    if (tt_tcp_parse_csum_known(ip.payload, ip.payload_len, ip.src, ip.dst, &seg) != TCP_OK)
        return -EAGAIN;
    seg.gso_size = rx->gso_size;
    seg.tos = ip.tos;
    engine_set_time(eng, now_us);
    tt_engine_enter(eng);
    if (eng->depth == 1) { /* outermost: the read callbacks run before this returns */
        eng->rx_stable = packet;
        eng->rx_stable_len = len;
    }
    taken = tt_gro_input(eng, &seg);
    tt_engine_leave(eng);
    eng->rx_stable = NULL;
    return taken ? 0 : -EAGAIN;
}

void tt_engine_set_csum_partial(tt_engine_t *eng, bool on)
{
    eng->csum_partial = on;
}

void tt_engine_batch_begin(tt_engine_t *eng)
{
    eng->batching++;
    tt_engine_enter(eng);
}

void tt_engine_batch_end(tt_engine_t *eng)
{
    assert(eng->batching > 0);
    eng->batching--;
    tt_engine_leave(eng);
}

void tt_engine_timers(tt_engine_t *eng, uint64_t now_us)
{
    engine_set_time(eng, now_us);
    tt_engine_enter(eng);
    struct timer *t;
    while ((t = tt_timer_wheel_expire(eng->wheel, now_us)) != NULL) {
        /* Keep-alive is dispatched here, not by tcp_timer.c, so that the
         * timer and output modules stay out of one call cycle with it
         * (docs/architecture.md §2). */
        if (t->kind == CT_KEEPALIVE)
            tt_tcp_keepalive_fire(
                (struct tt_conn *)((char *)t - offsetof(struct tt_conn, keepalive_timer)));
        else
            tt_tcp_timer_fire(t);
    }
    tt_timewait_expire(eng, now_us);
    tt_engine_leave(eng);
}

uint64_t tt_engine_next_deadline(const tt_engine_t *eng)
{
    uint64_t next = tt_timer_wheel_next(eng->wheel);
    uint64_t tw = tt_timewait_next_expiry(eng);
    if (tw < next)
        next = tw;
    return next;
}

void tt_engine_foreach_listener(const tt_engine_t *eng, tt_listen_info_cb cb, void *ctx)
{
    for (const struct tt_listener *l = eng->listeners; l; l = l->next) {
        if (l->closed)
            continue;
        tt_listen_info_t info = {.addr = eng->cfg.addr,
                                 .port = l->port,
                                 .ready = (uint32_t)l->ready,
                                 .half_open = (uint32_t)l->half_open,
                                 .backlog = (uint32_t)l->backlog};
        cb(ctx, &info);
    }
}

/* The fields tt_engine_config_update() leaves alone must not differ. */
static bool config_fixed_same(const tt_config_t *a, const tt_config_t *b)
{
    return a->addr == b->addr && a->mtu == b->mtu &&
           a->tcp_window_scaling == b->tcp_window_scaling && a->tcp_sack == b->tcp_sack &&
           a->syn_retries == b->syn_retries && a->synack_retries == b->synack_retries &&
           a->retries2 == b->retries2 && a->sndbuf == b->sndbuf && a->rcvbuf == b->rcvbuf &&
           a->delack_us == b->delack_us &&
           memcmp(a->isn_secret, b->isn_secret, sizeof(a->isn_secret)) == 0 && a->seed == b->seed;
}

/* Ranges of the live knobs, as the flags of docs/contract.md §3.2 take them. */
static int config_check_live(const tt_config_t *cfg)
{
    if (cfg->msl_us < 1 || cfg->msl_us > UINT64_MAX / 4 || cfg->fin_timeout_us < 1)
        return -EINVAL;
    if ((cfg->tcp_rfc1337 | cfg->tcp_timestamps | cfg->tcp_syncookies) & ~1)
        return -EINVAL;
    if (cfg->tcp_max_syn_backlog < 1)
        return -EINVAL;
    return config_check(cfg);
}

int tt_engine_config_update(tt_engine_t *eng, const tt_config_t *cfg)
{
    int err = config_check_live(cfg);
    if (err)
        return err;
    if (!config_fixed_same(&eng->cfg, cfg))
        return -EPERM;
    if (cfg->msl_us != eng->cfg.msl_us)
        tt_timewait_retime(eng, eng->cfg.msl_us, cfg->msl_us);
    eng->cfg = *cfg; /* every other knob is read where it is used */
    return 0;
}

const tt_config_t *tt_engine_config(const tt_engine_t *eng)
{
    return &eng->cfg;
}

void tt_engine_stats(const tt_engine_t *eng, tt_stats_t *stats)
{
    *stats = eng->stats;
}

size_t tt_engine_conn_count(const tt_engine_t *eng)
{
    return eng->nconns;
}

size_t tt_engine_timewait_count(const tt_engine_t *eng)
{
    return eng->tw.count;
}

size_t tt_engine_timewait_bytes(const tt_engine_t *eng)
{
    return tt_tw_table_bytes(&eng->tw);
}

static uint32_t segs(uint32_t bytes, uint32_t mss)
{
    return mss ? (bytes + mss - 1) / mss : 0;
}

/* Linux's ca_state: Loss after an RTO, Recovery in fast recovery, Disorder
 * while duplicate ACKs or SACKs are seen, else Open. */
static uint8_t ca_state(const struct tt_conn *c)
{
    if (c->in_loss)
        return TT_CA_LOSS;
    if (c->in_fast_recovery)
        return TT_CA_RECOVERY;
    if (c->in_cwr)
        return TT_CA_CWR; /* RFC 3168 6.1.2: cwnd reduced for ECE */
    return c->dupacks || c->nsacked ? TT_CA_DISORDER : TT_CA_OPEN;
}

/*
 * Segment counts as Linux's tcp_info has them: SACKed, lost (after an RTO
 * every unSACKed segment in flight; in fast recovery the holes below the
 * highest SACK, or the head without SACK) and retransmitted still in flight.
 */
static void recovery_info(const struct tt_conn *c, tt_conn_info_t *info)
{
    uint32_t mss = c->mss, flight = c->snd_nxt - c->snd_una;
    uint32_t sacked = tt_sack_bytes_below(c, c->snd_nxt);
    info->ca_state = ca_state(c);
    info->sacked_segs = segs(sacked, mss);
    if (c->in_loss) {
        info->lost_segs = segs(flight - sacked, mss);
        uint32_t rtx = seq_gt(c->rtx_nxt, c->snd_una) ? c->rtx_nxt - c->snd_una : 0;
        info->retrans_segs = segs(rtx - tt_sack_bytes_below(c, c->rtx_nxt), mss);
    } else if (tt_rack_on(c)) {
        info->lost_segs = segs(tt_rack_lost_bytes(c, false), mss);
        info->retrans_segs = segs(tt_rack_retrans_bytes(c), mss);
    } else if (c->in_fast_recovery) {
        uint32_t high = tt_sack_high(c);
        info->lost_segs = c->nsacked ? segs(high - c->snd_una - sacked, mss) : 1;
        uint32_t rtx = seq_gt(c->high_rxt, c->snd_una) ? c->high_rxt - c->snd_una : 0;
        info->retrans_segs = segs(rtx - tt_sack_bytes_below(c, c->high_rxt), mss);
    }
    info->reordering = c->reordering;
    info->reord_seen = c->reord_seen;
    info->backoff = (uint8_t)(c->backoff > 255 ? 255 : c->backoff);
    info->probes = (uint8_t)(c->probes_out > 255 ? 255 : c->probes_out);
    info->snd_wscale = c->snd_wscale;
    info->rcv_wscale = c->rcv_wscale;
    info->ts_on = c->ts_on;
    info->sack_on = c->sack_ok;
    info->ws_on = c->ws_on;
    info->ecn_on = c->ecn_flags & TT_ECN_OK;
    info->ecn_seen = c->ecn_flags & TT_ECN_SEEN;
    info->srtt_us = c->srtt;
    info->rttvar_us = c->mdev / 4;
    info->min_rtt_us = c->min_rtt;
    info->total_retrans = c->total_retrans;
    info->delivered = (uint32_t)(1 + (c->delivered_bytes + mss - 1) / (mss ? mss : 1));
    info->snd_wnd = c->snd_wnd;
    info->rcv_wnd = c->rcv_wnd;
    info->advmss = c->advmss;
    info->rcv_mss = c->rcv_mss;
    info->last_data_recv_us = c->last_data_recv;
    tt_chrono_read(c, &info->busy_time_us, &info->rwnd_limited_us, &info->sndbuf_limited_us);
    info->sndbuf = c->snd_sndbuf;
    info->wmem_queued = tt_sndmem_queued(c);
    info->last_data_sent_us = c->lsndtime;
    info->last_ack_recv_us = c->rcv_stamp;
}

static void conn_info(const struct tt_conn *c, tt_conn_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->state = c->state;
    info->laddr = c->t.laddr;
    info->raddr = c->t.raddr;
    info->lport = c->t.lport;
    info->rport = c->t.rport;
    info->expires_us = TT_TIME_NEVER;
    if (c->state == TT_STATE_FIN_WAIT_2 && tt_timer_armed(&c->finwait2_timer))
        info->expires_us = c->finwait2_timer.deadline;
    info->send_q = c->sndbuf.len;
    info->recv_q = c->rcvbuf.len;
    info->mss = c->mss;
    info->cwnd = c->cwnd;
    info->ssthresh = c->ssthresh;
    info->unacked = c->snd_nxt - c->snd_una;
    info->rto_us = c->rto;
    info->snd_nxt = c->snd_nxt;
    info->rcv_nxt = c->rcv_nxt;
    recovery_info(c, info);
}

void tt_conn_get_info(const tt_conn_t *conn, tt_conn_info_t *info)
{
    conn_info(conn, info);
}

void tt_engine_foreach_conn(const tt_engine_t *eng, tt_conn_info_cb cb, void *ctx)
{
    tt_conn_info_t info;
    /* The list of every TCB, not the hash buckets: the cost follows the
     * connections, not the table's size. Detached ones have left the
     * tables (only an application's handle remains) and are not listed. */
    for (const struct tt_conn *c = eng->all_conns; c; c = c->all_next) {
        if (c->detached)
            continue;
        conn_info(c, &info);
        cb(ctx, &info);
    }
    for (tw_id id = eng->tw.head; id; id = tw_at(&eng->tw, id)->fifo_next) {
        const struct tw_entry *tw = tw_at(&eng->tw, id);
        struct tuple t;
        tt_timewait_tuple(eng, tw, &t);
        memset(&info, 0, sizeof(info));
        info.state = TT_STATE_TIME_WAIT;
        info.laddr = t.laddr;
        info.raddr = t.raddr;
        info.lport = t.lport;
        info.rport = t.rport;
        info.expires_us = tw->expires;
        info.snd_nxt = tw->snd_nxt;
        info.rcv_nxt = tw->rcv_nxt;
        cb(ctx, &info);
    }
}

int tt_engine_conn_state(const tt_engine_t *eng, uint32_t laddr, uint16_t lport, uint32_t raddr,
                         uint16_t rport)
{
    struct tuple t = {.laddr = laddr, .raddr = raddr, .lport = lport, .rport = rport};
    uint32_t hash = tt_tuple_hash(eng, &t);
    struct hnode *n = tt_conn_table_lookup(&eng->table, &t, hash);
    if (n)
        return (int)((struct tt_conn *)n)->state;
    if (laddr == eng->cfg.addr && tt_tw_table_lookup(&eng->tw, raddr, rport, lport, hash))
        return TT_STATE_TIME_WAIT;
    if (laddr == eng->cfg.addr && tt_listener_find(eng, lport))
        return TT_STATE_LISTEN;
    return -ENOENT;
}
