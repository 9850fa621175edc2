/*
 * MSG_ZEROCOPY as Linux reports it for TCP (Documentation/networking/
 * msg_zerocopy.rst). SO_ZEROCOPY (0 or 1, any state, inherited by accept())
 * opts a socket in; without it the flag is ignored, as Linux ignores it for
 * programs that passed it before it meant anything. Each send with the flag
 * that queues bytes takes the next 32-bit id (sk_zckey); when the peer has
 * acknowledged the send's last byte its buffer is free, and a completion
 * waits in the error queue (pd_errqueue.c): ee_errno 0, ee_origin
 * SO_EE_ORIGIN_ZEROCOPY, ee_info..ee_data the range of ids. A completion
 * joins the one at the queue's tail when the ids follow on (Linux
 * skb_zerocopy_notify_extend()). The adapter always copies the bytes (the
 * engine owns its send buffer), so ee_code is SO_EE_CODE_ZEROCOPY_COPIED,
 * what Linux says when it had to copy.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/errqueue.h>

#include "pd_adapter.h"

#define PD_ZC_MAX 1024 /* sends waiting for their ACK; later ones unreported */

struct pd_zcmark {
    uint32_t seq; /* the send's last byte */
    uint32_t id;
};

struct pd_zc {
    uint32_t next_id; /* sk_zckey */
    struct pd_zcmark marks[PD_ZC_MAX];
    size_t nmarks;
};

static bool seq_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

void pd_zc_wrote(struct pd_sock *s, int flags)
{
    if (!(flags & MSG_ZEROCOPY) || !s->zerocopy || !s->conn)
        return;
    if (!s->zc && !(s->zc = calloc(1, sizeof(*s->zc))))
        return;
    struct pd_zc *zc = s->zc;
    uint32_t id = zc->next_id++;
    if (zc->nmarks == PD_ZC_MAX)
        return;
    tt_conn_info_t info;
    tt_conn_get_info(s->conn, &info);
    uint32_t write_seq = info.snd_nxt - info.unacked + info.send_q;
    zc->marks[zc->nmarks++] = (struct pd_zcmark){.seq = write_seq - 1, .id = id};
}

/* Linux __msg_zerocopy_callback(): extend the tail's range, or queue anew. */
static void complete(struct pd_sock *s, uint32_t id)
{
    struct pd_errmsg *t = pd_errq_tail(s);
    if (t && t->origin == SO_EE_ORIGIN_ZEROCOPY && t->data + 1 == id &&
        t->code == SO_EE_CODE_ZEROCOPY_COPIED) {
        t->data = id;
        s->err_reports++; /* Linux reports the error even when it joined */
        return;
    }
    struct pd_errmsg m = {.origin = SO_EE_ORIGIN_ZEROCOPY,
                          .code = SO_EE_CODE_ZEROCOPY_COPIED,
                          .info = id,
                          .data = id};
    pd_errq_push(s, &m);
}

static void poll_sock(struct pd_sock *s)
{
    struct pd_zc *zc = s->zc;
    tt_conn_info_t info;
    tt_conn_get_info(s->conn, &info);
    uint32_t una = info.snd_nxt - info.unacked;
    size_t done = 0;
    while (done < zc->nmarks && seq_after(una, zc->marks[done].seq))
        complete(s, zc->marks[done++].id);
    memmove(zc->marks, zc->marks + done, (zc->nmarks - done) * sizeof(zc->marks[0]));
    zc->nmarks -= done;
}

void pd_zc_poll(struct pd *pd)
{
    for (struct pd_sock *s = pd->socks; s; s = s->next) {
        if (s->zc && s->zc->nmarks && s->conn)
            poll_sock(s);
    }
}

/* Linux sk_setsockopt(SO_ZEROCOPY): a TCP socket takes 0 or 1. */
int pd_zc_set(struct pd_sock *s, int v)
{
    if (v < 0 || v > 1)
        return -EINVAL;
    s->zerocopy = v == 1;
    return 0;
}

void pd_zc_free(struct pd_sock *s)
{
    free(s->zc);
    s->zc = NULL;
}
