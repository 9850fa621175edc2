/*
 * SO_TIMESTAMPING's transmit timestamps for the adapter, as Linux reports
 * them for TCP (Documentation/networking/timestamping.rst): the last byte
 * of each write is marked (tcp_tx_timestamp()); when the segment holding
 * it leaves, SCM_TSTAMP_SCHED and SCM_TSTAMP_SND are queued, and
 * SCM_TSTAMP_ACK when the peer acknowledges it (tcp_ack_tstamp()), each for
 * the kinds the socket asked for. recvmsg(MSG_ERRQUEUE) takes them one at a
 * time: SCM_TIMESTAMPING with the time in ts[0] (the engine's clock), then
 * IP_RECVERR with ee_errno ENOMSG, ee_origin SO_EE_ORIGIN_TIMESTAMPING,
 * ee_info the kind and ee_data the byte's key (with OPT_ID: its offset from
 * the first byte written after the option was set). The reports wait in
 * the socket's error queue (pd_errqueue.c).
 *
 * The engine needs no hook: its SND.NXT never moves back (retransmissions
 * do not move it), so a byte left when SND.NXT passed it, and was
 * acknowledged when SND.UNA did; tt_conn_get_info() tells both, and the
 * adapter looks after every engine call (pd_tstamp_poll()).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h> /* struct timespec, before <linux/errqueue.h> needs it */

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include "pd_adapter.h"

#define PD_TS_MAX 1024 /* marks held per socket; later writes go unmarked */

/* A write's last byte, not yet acknowledged. */
struct pd_tsmark {
    uint32_t seq; /* its sequence number */
    uint32_t key; /* ee_data */
    bool sent;
};

struct pd_tstamp {
    uint32_t flags;    /* SOF_TIMESTAMPING_* */
    uint32_t key_base; /* OPT_ID: the write sequence when it was set */
    struct pd_tsmark marks[PD_TS_MAX];
    size_t nmarks;
};

static bool seq_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

/* SND.UNA and the sequence number after the last byte written. */
static void conn_seqs(tt_conn_t *c, uint32_t *una, uint32_t *write_seq)
{
    tt_conn_info_t info;
    tt_conn_get_info(c, &info);
    *una = info.snd_nxt - info.unacked;
    *write_seq = *una + info.send_q;
}

int pd_tstamp_set(struct pd_sock *s, const void *val, socklen_t len)
{
    int v;
    if (len < (socklen_t)sizeof(v))
        return -EINVAL;
    memcpy(&v, val, sizeof(v)); /* an int, or struct so_timestamping's first field */
    uint32_t flags = (uint32_t)v;
    if (flags & ~(uint32_t)SOF_TIMESTAMPING_MASK)
        return -EINVAL;
    if (!s->ts) {
        s->ts = calloc(1, sizeof(*s->ts));
        if (!s->ts)
            return -ENOMEM;
    }
    struct pd_tstamp *ts = s->ts;
    /* Linux sock_set_timestamping(): OPT_ID newly set starts the keys at
     * the next byte written; not on a listener or an unconnected socket. */
    if ((flags & SOF_TIMESTAMPING_OPT_ID) && !(ts->flags & SOF_TIMESTAMPING_OPT_ID)) {
        if (!s->conn)
            return -EINVAL;
        uint32_t una;
        conn_seqs(s->conn, &una, &ts->key_base);
    }
    ts->flags = flags;
    return 0;
}

int pd_tstamp_get(struct pd_sock *s, void *val, socklen_t *len)
{
    int v = s->ts ? (int)s->ts->flags : 0;
    if (*len < (socklen_t)sizeof(v))
        return -EINVAL;
    memcpy(val, &v, sizeof(v));
    *len = sizeof(v);
    return 0;
}

/* After a write that queued bytes: mark its last one (Linux
 * tcp_tx_timestamp(): the tail of the write queue). */
void pd_tstamp_wrote(struct pd_sock *s)
{
    struct pd_tstamp *ts = s->ts;
    if (!ts || !(ts->flags & SOF_TIMESTAMPING_TX_RECORD_MASK) || !s->conn)
        return;
    if (ts->nmarks == PD_TS_MAX)
        return;
    uint32_t una, write_seq;
    conn_seqs(s->conn, &una, &write_seq);
    uint32_t last = write_seq - 1;
    bool opt_id = ts->flags & SOF_TIMESTAMPING_OPT_ID;
    ts->marks[ts->nmarks++] =
        (struct pd_tsmark){.seq = last, .key = opt_id ? last - ts->key_base : 0, .sent = false};
}

/* A report for the socket's error queue (pd_errqueue.c): ee_errno ENOMSG,
 * ee_info the kind, ee_data the byte's key. */
static void queue(struct pd_sock *s, uint64_t t, uint32_t info, uint32_t key)
{
    struct pd_errmsg m = {
        .t = t, .info = info, .data = key, .ee_errno = ENOMSG, .origin = SO_EE_ORIGIN_TIMESTAMPING};
    pd_errq_push(s, &m);
}

/* The reports a socket's marks have earned by now. */
static void poll_sock(struct pd *pd, struct pd_sock *s)
{
    struct pd_tstamp *ts = s->ts;
    tt_conn_info_t info;
    tt_conn_get_info(s->conn, &info);
    uint32_t una = info.snd_nxt - info.unacked;
    size_t keep = 0;
    for (size_t i = 0; i < ts->nmarks; i++) {
        struct pd_tsmark *m = &ts->marks[i];
        if (!m->sent && seq_after(info.snd_nxt, m->seq)) {
            m->sent = true;
            if (ts->flags & SOF_TIMESTAMPING_TX_SCHED)
                queue(s, pd->now, SCM_TSTAMP_SCHED, m->key);
            if (ts->flags & SOF_TIMESTAMPING_TX_SOFTWARE)
                queue(s, pd->now, SCM_TSTAMP_SND, m->key);
        }
        if (m->sent && seq_after(una, m->seq)) {
            if (ts->flags & SOF_TIMESTAMPING_TX_ACK)
                queue(s, pd->now, SCM_TSTAMP_ACK, m->key);
            continue; /* acknowledged: nothing more to report */
        }
        ts->marks[keep++] = *m;
    }
    ts->nmarks = keep;
}

void pd_tstamp_poll(struct pd *pd)
{
    for (struct pd_sock *s = pd->socks; s; s = s->next) {
        if (s->ts && s->ts->nmarks && s->conn)
            poll_sock(pd, s);
    }
}

/*
 * The SCM_TIMESTAMPING message before a report's IP_RECVERR: the time in
 * ts[0] when the socket asked for software stamps. Without OPT_TSONLY
 * Linux's report carries the packet, which a zero-length buffer truncates:
 * MSG_TRUNC (packetdrill's scripts read with one).
 */
bool pd_tstamp_cmsg(struct pd_sock *s, const struct pd_errmsg *m, struct msghdr *msg, size_t room)
{
    uint32_t flags = s->ts ? s->ts->flags : 0;
    struct scm_timestamping tss;
    memset(&tss, 0, sizeof(tss));
    if (flags & SOF_TIMESTAMPING_SOFTWARE) {
        tss.ts[0].tv_sec = (time_t)(m->t / 1000000);
        tss.ts[0].tv_nsec = (long)(m->t % 1000000) * 1000;
    }
    if (!(flags & SOF_TIMESTAMPING_OPT_TSONLY))
        msg->msg_flags |= MSG_TRUNC;
    return pd_put_cmsg(msg, room, SOL_SOCKET, SCM_TIMESTAMPING, &tss, sizeof(tss));
}

void pd_tstamp_free(struct pd_sock *s)
{
    free(s->ts);
    s->ts = NULL;
}
