/*
 * epoll on the script's sockets, as Linux's eventpoll: epoll_create(),
 * epoll_ctl() (ADD, MOD, DEL) and epoll_wait(), level- or edge-triggered
 * (EPOLLET) and EPOLLONESHOT.
 *
 * Readiness is the socket's poll mask (Linux tcp_poll, pd_socket.c). An
 * edge is any wake-up Linux would give the socket: data arriving, a state
 * change, a change of the mask, and for EPOLLOUT an ACK that makes room
 * for a writer that ran out of it (write_space()). Each item keeps
 * what it last saw (struct ep_key); epoll_wait() reports an edge-triggered
 * item only when that changed since, with its whole current mask, as
 * Linux re-polls an item its wake-up put on the ready list.
 *
 * Every function returns a count, 0 or -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "pd_adapter.h"

/* What wakes an item. */
struct ep_key {
    uint32_t rcv_nxt;
    int state;
    short mask;
    unsigned ready; /* a listener's connections */
    unsigned wakes; /* write-space wake-ups: EPOLLOUT edges only */
    unsigned errs;  /* error-queue reports: each wakes (sk_error_report) */
};

struct ep_item {
    int fd;
    struct epoll_event ev;
    struct ep_key seen;
    bool woken;    /* on the ready list: just added or modified */
    bool disabled; /* EPOLLONESHOT fired */
};

struct pd_epoll {
    struct pd_epoll *next;
    int fd; /* a real descriptor, as a socket's */
    struct ep_item *items;
    size_t n, cap;
};

static struct pd_epoll *ep_find(struct pd *pd, int fd)
{
    for (struct pd_epoll *ep = pd->epolls; ep; ep = ep->next)
        if (ep->fd == fd)
            return ep;
    return NULL;
}

static struct ep_item *item_find(struct pd_epoll *ep, int fd)
{
    for (size_t i = 0; i < ep->n; i++)
        if (ep->items[i].fd == fd)
            return &ep->items[i];
    return NULL;
}

/*
 * Linux tcp_check_space() and sk_stream_write_space(): an ACK that frees
 * send space wakes the socket's waiters only while SOCK_NOSPACE is set (a
 * write was cut short, or poll found no room) and the socket is writable
 * again (tcp_poll's test, TCP_NOTSENT_LOWAT included); the wake-up clears
 * SOCK_NOSPACE. So after one EPOLLOUT, later ACKs wake no one until a
 * writer runs out of room again (packetdrill's epoll/epoll_out_edge*.pkt).
 */
static void write_space(struct pd *pd, struct pd_sock *s, uint32_t snd_una)
{
    if (snd_una == s->wspace_una)
        return;
    s->wspace_una = snd_una;
    if (s->nospace && (pd_sock_poll_mask(pd, s) & POLLOUT)) {
        s->nospace = false;
        s->wspace_wakes++;
    }
}

static void key_of(struct pd *pd, struct pd_sock *s, struct ep_key *k)
{
    tt_conn_info_t info;
    memset(&info, 0, sizeof(info));
    memset(k, 0, sizeof(*k));
    if (s->conn) {
        tt_conn_get_info(s->conn, &info);
        write_space(pd, s, info.snd_nxt - info.unacked);
    }
    k->rcv_nxt = info.rcv_nxt;
    k->state = (int)info.state;
    k->mask = pd_sock_poll_mask(pd, s);
    k->ready = s->ready;
    k->wakes = s->wspace_wakes;
    k->errs = s->err_reports;
}

/* A write-space wake-up reaches only items that wait for EPOLLOUT (Linux
 * ep_poll_callback() filters by the wake-up's key). */
static bool key_same(const struct ep_key *a, const struct ep_key *b, uint32_t events)
{
    return a->rcv_nxt == b->rcv_nxt && a->state == b->state && a->mask == b->mask &&
           a->ready == b->ready && a->errs == b->errs &&
           (!(events & EPOLLOUT) || a->wakes == b->wakes);
}

int pd_epoll_create(struct pd *pd, int size)
{
    if (size <= 0)
        return -EINVAL;
    struct pd_epoll *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return -ENOMEM;
    ep->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (ep->fd < 0) {
        free(ep);
        return -EMFILE;
    }
    ep->next = pd->epolls;
    pd->epolls = ep;
    return ep->fd;
}

static int item_add(struct pd *pd, struct pd_epoll *ep, struct pd_sock *s,
                    const struct epoll_event *ev)
{
    if (item_find(ep, s->fd))
        return -EEXIST;
    if (ep->n == ep->cap) {
        size_t cap = ep->cap ? 2 * ep->cap : 8;
        struct ep_item *items = realloc(ep->items, cap * sizeof(*items));
        if (!items)
            return -ENOMEM;
        ep->items = items;
        ep->cap = cap;
    }
    struct ep_item *it = &ep->items[ep->n++];
    memset(it, 0, sizeof(*it));
    it->fd = s->fd;
    it->ev = *ev;
    it->woken = true; /* Linux ep_insert(): polled at once */
    key_of(pd, s, &it->seen);
    return 0;
}

static void item_remove(struct pd_epoll *ep, struct ep_item *it)
{
    *it = ep->items[--ep->n];
}

int pd_epoll_ctl(struct pd *pd, int epfd, int op, int fd, const struct epoll_event *ev)
{
    struct pd_epoll *ep = ep_find(pd, epfd);
    if (!ep)
        return -EBADF;
    if (fd == epfd)
        return -EINVAL;
    struct pd_sock *s = pd_sock_find(pd, fd);
    if (!s)
        return ep_find(pd, fd) ? -EINVAL : -EBADF; /* nested epoll: not offered */
    if (op != EPOLL_CTL_DEL && !ev)
        return -EFAULT;
    struct ep_item *it = item_find(ep, fd);
    switch (op) {
    case EPOLL_CTL_ADD:
        return item_add(pd, ep, s, ev);
    case EPOLL_CTL_MOD:
        if (!it)
            return -ENOENT;
        it->ev = *ev;
        it->woken = true; /* Linux ep_modify(): polled again */
        it->disabled = false;
        return 0;
    case EPOLL_CTL_DEL:
        if (!it)
            return -ENOENT;
        item_remove(ep, it);
        return 0;
    default:
        return -EINVAL;
    }
}

/* The events of one item now (0: none to report); with take, what it saw
 * is updated as the report consumes it. */
static uint32_t item_events(struct pd *pd, struct ep_item *it, struct pd_sock *s, bool take)
{
    struct ep_key now;
    key_of(pd, s, &now);
    bool edge = it->woken || !key_same(&now, &it->seen, it->ev.events);
    uint32_t mask = (uint32_t)(uint16_t)now.mask & (it->ev.events | EPOLLERR | EPOLLHUP);
    if (it->disabled || ((it->ev.events & EPOLLET) && !edge))
        return 0;
    if (take) {
        it->seen = now;
        it->woken = false;
        if (mask && (it->ev.events & EPOLLONESHOT))
            it->disabled = true;
    }
    return mask;
}

/* Fills evs with up to max ready items; with take, as epoll_wait() does. */
static int ep_scan(struct pd *pd, struct pd_epoll *ep, struct epoll_event *evs, int max, bool take)
{
    int count = 0;
    for (size_t i = 0; i < ep->n && count < max;) {
        struct ep_item *it = &ep->items[i];
        struct pd_sock *s = pd_sock_find(pd, it->fd);
        if (!s) { /* closed: Linux drops the item with the file */
            item_remove(ep, it);
            continue;
        }
        uint32_t events = item_events(pd, it, s, take);
        if (events && evs) {
            evs[count].events = events;
            evs[count].data = it->ev.data;
        }
        count += events != 0;
        i++;
    }
    return count;
}

bool pd_epoll_ready(struct pd *pd, struct pd_epoll *ep)
{
    return ep_scan(pd, ep, NULL, 1, false) > 0;
}

int pd_epoll_wait(struct pd *pd, int epfd, struct epoll_event *evs, int max, int timeout_ms)
{
    struct pd_epoll *ep = ep_find(pd, epfd);
    if (!ep)
        return -EBADF;
    if (max <= 0 || !evs)
        return max <= 0 ? -EINVAL : -EFAULT;
    int count = ep_scan(pd, ep, evs, max, true);
    if (count > 0 || timeout_ms == 0)
        return count;
    struct pd_blocker b = {.kind = PD_WAIT_EPOLL, .ep = ep};
    b.deadline = timeout_ms < 0 ? TT_TIME_NEVER : pd->now + (uint64_t)timeout_ms * 1000;
    int err = pd_wait(pd, &b);
    if (err)
        return err;
    return ep_scan(pd, ep, evs, max, true);
}

int pd_epoll_close(struct pd *pd, int fd)
{
    for (struct pd_epoll **pp = &pd->epolls; *pp; pp = &(*pp)->next) {
        struct pd_epoll *ep = *pp;
        if (ep->fd != fd)
            continue;
        *pp = ep->next;
        close(ep->fd);
        free(ep->items);
        free(ep);
        return 0;
    }
    return -EBADF;
}

void pd_epolls_free(struct pd *pd)
{
    while (pd->epolls)
        pd_epoll_close(pd, pd->epolls->fd);
}
