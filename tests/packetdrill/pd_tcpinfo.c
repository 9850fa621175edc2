/*
 * getsockopt(TCP_INFO), (TCP_CC_INFO) and (SO_MEMINFO) for the adapter:
 * what packetdrill reads before every `%{ ... }%` block, laid out as Linux's
 * struct tcp_info (<linux/tcp.h>), from the engine's tt_conn_get_info().
 * Units as Linux reports them: times in microseconds, windows in segments,
 * ssthresh 0x7fffffff (TCP_INFINITE_SSTHRESH) until the first loss.
 *
 * Kept apart from pd_socket.c: <linux/tcp.h> and <netinet/tcp.h> cannot be
 * included together.
 */
#include <errno.h>
#include <linux/tcp.h>
#include <string.h>

#include "pd_tcpinfo.h"

#define PD_INFINITE_SSTHRESH 0x7fffffffu /* Linux TCP_INFINITE_SSTHRESH */
#define PD_TCPINFO_MAX 512               /* the most a caller gets */

/* Linux's TCP_* state numbers (include/net/tcp_states.h). */
static uint8_t linux_state(tt_state_t s)
{
    static const uint8_t map[] = {
        [TT_STATE_CLOSED] = 7,       [TT_STATE_LISTEN] = 10,     [TT_STATE_SYN_SENT] = 2,
        [TT_STATE_SYN_RECEIVED] = 3, [TT_STATE_ESTABLISHED] = 1, [TT_STATE_FIN_WAIT_1] = 4,
        [TT_STATE_FIN_WAIT_2] = 5,   [TT_STATE_CLOSE_WAIT] = 8,  [TT_STATE_CLOSING] = 11,
        [TT_STATE_LAST_ACK] = 9,     [TT_STATE_TIME_WAIT] = 6,
    };
    return (unsigned)s < sizeof(map) ? map[s] : 7;
}

static uint32_t segs(uint32_t bytes, uint32_t mss)
{
    return mss ? (bytes + mss - 1) / mss : 0;
}

static uint32_t u32_of(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* The "time since" fields: milliseconds, 0 when it never happened. */
static uint32_t ms_since(const struct pd_tcpinfo_src *src, uint64_t t)
{
    return t && src->now_us >= t ? u32_of((src->now_us - t) / 1000) : 0;
}

static void fill(struct tcp_info *t, const struct pd_tcpinfo_src *src)
{
    const tt_conn_info_t *i = &src->info;
    uint32_t mss = i->mss;
    t->tcpi_state = linux_state(i->state);
    t->tcpi_ca_state = i->ca_state;
    t->tcpi_retransmits = i->backoff;
    t->tcpi_probes = i->probes;
    t->tcpi_backoff = i->backoff;
    t->tcpi_options =
        (uint8_t)((i->ts_on ? TCPI_OPT_TIMESTAMPS : 0) | (i->sack_on ? TCPI_OPT_SACK : 0) |
                  (i->ws_on ? TCPI_OPT_WSCALE : 0) | (i->ecn_on ? TCPI_OPT_ECN : 0) |
                  (i->ecn_seen ? TCPI_OPT_ECN_SEEN : 0));
    if (i->ws_on) {
        t->tcpi_snd_wscale = i->snd_wscale & 15;
        t->tcpi_rcv_wscale = i->rcv_wscale & 15;
    }
    t->tcpi_rto = u32_of(i->rto_us);
    t->tcpi_ato = u32_of(src->ato_us);
    t->tcpi_snd_mss = mss;
    t->tcpi_rcv_mss = i->rcv_mss;
    t->tcpi_unacked = segs(i->unacked, mss);
    t->tcpi_sacked = i->sacked_segs;
    t->tcpi_lost = i->lost_segs;
    t->tcpi_retrans = i->retrans_segs;
    t->tcpi_last_data_recv = ms_since(src, i->last_data_recv_us);
    t->tcpi_last_data_sent = ms_since(src, i->last_data_sent_us);
    t->tcpi_last_ack_recv = ms_since(src, i->last_ack_recv_us);
    t->tcpi_pmtu = src->mtu;
    t->tcpi_rcv_ssthresh = i->rcv_wnd;
    t->tcpi_rtt = u32_of(i->srtt_us);
    t->tcpi_rttvar = u32_of(i->rttvar_us);
    t->tcpi_snd_ssthresh = i->ssthresh == UINT32_MAX ? PD_INFINITE_SSTHRESH : i->ssthresh / mss;
    t->tcpi_snd_cwnd = mss ? i->cwnd / mss : 0;
    t->tcpi_advmss = i->advmss;
    t->tcpi_reordering = i->reordering;
    t->tcpi_reord_seen = i->reord_seen;
    t->tcpi_total_retrans = i->total_retrans;
    t->tcpi_notsent_bytes = i->send_q - (i->unacked < i->send_q ? i->unacked : i->send_q);
    t->tcpi_min_rtt = u32_of(i->min_rtt_us);
    t->tcpi_delivered = i->delivered;
    t->tcpi_snd_wnd = i->snd_wnd;
    t->tcpi_busy_time = i->busy_time_us;
    t->tcpi_rwnd_limited = i->rwnd_limited_us;
    t->tcpi_sndbuf_limited = i->sndbuf_limited_us;
}

int pd_tcpinfo_get(const struct pd_tcpinfo_src *src, void *val, socklen_t *len)
{
    if (!len || (int)*len < 0)
        return -EINVAL;
    struct tcp_info t;
    memset(&t, 0, sizeof(t));
    fill(&t, src);
    /* A newer struct tcp_info than this system's header (packetdrill's
     * own copy is) gets the fields we know and zeros after them, as a
     * kernel of that version would fill what tuntcp does not track. */
    size_t n = *len < PD_TCPINFO_MAX ? (size_t)*len : PD_TCPINFO_MAX;
    memset(val, 0, n);
    memcpy(val, &t, n < sizeof(t) ? n : sizeof(t));
    *len = (socklen_t)n;
    return 0;
}
