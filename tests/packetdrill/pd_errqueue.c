/*
 * A socket's error queue, as Linux keeps one per socket (sk_error_queue):
 * SO_TIMESTAMPING's reports (pd_timestamping.c) and MSG_ZEROCOPY's
 * completions (pd_zerocopy.c) wait in it in the order they were earned, and
 * recvmsg(MSG_ERRQUEUE) takes the oldest. Each is told by an IP_RECVERR
 * control message (struct sock_extended_err); a timestamp report has its
 * SCM_TIMESTAMPING message before it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h> /* struct timespec, before <linux/errqueue.h> needs it */

#include <linux/errqueue.h>

#include "pd_adapter.h"

#define PD_ERRQ_MAX 1024 /* reports held per socket; later ones dropped */

struct pd_errq {
    struct pd_errmsg q[PD_ERRQ_MAX];
    size_t head, len;
};

bool pd_errq_push(struct pd_sock *s, const struct pd_errmsg *m)
{
    if (!s->errq && !(s->errq = calloc(1, sizeof(*s->errq))))
        return false;
    struct pd_errq *eq = s->errq;
    if (eq->len == PD_ERRQ_MAX)
        return false; /* Linux drops past sk_rcvbuf too */
    eq->q[(eq->head + eq->len) % PD_ERRQ_MAX] = *m;
    eq->len++;
    s->err_reports++; /* Linux sk_error_report(): wakes every waiter */
    return true;
}

struct pd_errmsg *pd_errq_tail(struct pd_sock *s)
{
    struct pd_errq *eq = s->errq;
    if (!eq || eq->len == 0)
        return NULL;
    return &eq->q[(eq->head + eq->len - 1) % PD_ERRQ_MAX];
}

bool pd_errq_queued(const struct pd_sock *s)
{
    return s->errq && s->errq->len > 0;
}

bool pd_put_cmsg(struct msghdr *msg, size_t room, int level, int type, const void *data, size_t len)
{
    size_t used = msg->msg_controllen;
    if (used + CMSG_SPACE(len) > room)
        return false;
    struct cmsghdr *cm = (struct cmsghdr *)((uint8_t *)msg->msg_control + used);
    cm->cmsg_level = level;
    cm->cmsg_type = type;
    cm->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(cm), data, len);
    msg->msg_controllen = used + CMSG_SPACE(len);
    return true;
}

/* IP_RECVERR's payload: the extended error, then the offender's address
 * (left zero: the report is about our own data). */
static bool put_recverr(struct msghdr *msg, size_t room, const struct pd_errmsg *m)
{
    struct {
        struct sock_extended_err ee;
        struct sockaddr_in offender;
    } err;
    memset(&err, 0, sizeof(err));
    err.ee.ee_errno = m->ee_errno;
    err.ee.ee_origin = m->origin;
    err.ee.ee_code = m->code;
    err.ee.ee_info = m->info;
    err.ee.ee_data = m->data;
    return pd_put_cmsg(msg, room, SOL_IP, IP_RECVERR, &err, sizeof(err));
}

/* recvmsg(MSG_ERRQUEUE): the oldest report, or -EAGAIN with the caller's
 * msghdr untouched, as Linux leaves it. No bytes are copied. */
ssize_t pd_errq_recv(struct pd_sock *s, struct msghdr *msg)
{
    struct pd_errq *eq = s->errq;
    if (!eq || eq->len == 0)
        return -EAGAIN;
    size_t room = msg->msg_control ? msg->msg_controllen : 0;
    msg->msg_controllen = 0;
    msg->msg_flags = MSG_ERRQUEUE;
    struct pd_errmsg m = eq->q[eq->head];
    eq->head = (eq->head + 1) % PD_ERRQ_MAX;
    eq->len--;
    bool fit = true;
    if (m.origin == SO_EE_ORIGIN_TIMESTAMPING)
        fit = pd_tstamp_cmsg(s, &m, msg, room);
    if (!fit || !put_recverr(msg, room, &m))
        msg->msg_flags |= MSG_CTRUNC;
    return 0;
}

void pd_errq_free(struct pd_sock *s)
{
    free(s->errq);
    s->errq = NULL;
}
