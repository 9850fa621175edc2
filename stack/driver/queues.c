/*
 * The queues of one stack (queues.h): stop, calls between threads, and the
 * handover of packets. Everything shared is under g->mu; it is taken only
 * on these rare paths (a stop, a control request, a packet on a queue that
 * does not know its connection), never per packet on the common path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "queues.h"

int tt_dq_group_init(struct drv_group *g, size_t n)
{
    memset(g, 0, sizeof(*g));
    g->q = calloc(n, sizeof(*g->q));
    if (g->q == NULL)
        return -ENOMEM;
    g->n = n;
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        free(g->q);
        return -ENOMEM;
    }
    if (pthread_cond_init(&g->cv, NULL) != 0) {
        pthread_mutex_destroy(&g->mu);
        free(g->q);
        return -ENOMEM;
    }
    return 0;
}

void tt_dq_group_destroy(struct drv_group *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g->q);
    g->q = NULL;
}

void tt_dq_free_inbox(struct drv_queue *q)
{
    while (q->in_len > 0) {
        free(q->inbox[q->in_head]);
        q->in_head = (q->in_head + 1) % DQ_INBOX_SLOTS;
        q->in_len--;
    }
}

/* A pending call runs here; g->mu is held on entry and on return. */
static void dq_run_call(struct drv_group *g, struct drv_queue *q)
{
    void (*fn)(void *, void *) = q->call;
    void *arg = q->call_arg;

    q->call = NULL;
    pthread_mutex_unlock(&g->mu);
    fn(q->ctx, arg);
    pthread_mutex_lock(&g->mu);
    q->call_done = true;
    pthread_cond_broadcast(&g->cv);
}

static void dq_on_async(uv_async_t *h)
{
    struct drv_queue *q = h->data;
    struct drv_group *g = q->g;
    struct dq_packet *got[DQ_INBOX_SLOTS];
    size_t n = 0;
    bool stop;

    pthread_mutex_lock(&g->mu);
    stop = q->stop;
    if (q->call != NULL)
        dq_run_call(g, q);
    while (q->in_len > 0) {
        got[n++] = q->inbox[q->in_head];
        q->in_head = (q->in_head + 1) % DQ_INBOX_SLOTS;
        q->in_len--;
    }
    pthread_mutex_unlock(&g->mu);
    for (size_t i = 0; i < n; i++)
        q->ops->packet(q->ctx, got[i]);
    if (stop)
        q->ops->stop(q->ctx);
}

int tt_dq_init(struct drv_group *g, size_t i, struct drv_queue *q, uv_loop_t *loop,
               const struct dq_ops *ops, void *ctx)
{
    int rc;

    q->g = g;
    q->index = i;
    q->ops = ops;
    q->ctx = ctx;
    rc = uv_async_init(loop, &q->async, dq_on_async);
    if (rc < 0)
        return rc;
    q->async.data = q;
    g->q[i] = q;
    return 0;
}

void tt_dq_stop_all(struct drv_group *g, size_t self, int status)
{
    pthread_mutex_lock(&g->mu);
    if (!g->stopping) {
        g->stopping = true;
        g->status = status;
    }
    for (size_t i = 0; i < g->n; i++) {
        if (g->q[i] == NULL)
            continue;
        g->q[i]->stop = true;
        if (i != self)
            uv_async_send(&g->q[i]->async);
    }
    pthread_mutex_unlock(&g->mu);
    if (g->q[self] != NULL)
        g->q[self]->ops->stop(g->q[self]->ctx);
}

int tt_dq_status(struct drv_group *g)
{
    int st;

    pthread_mutex_lock(&g->mu);
    st = g->status;
    pthread_mutex_unlock(&g->mu);
    return st;
}

void tt_dq_begin(struct drv_group *g)
{
    pthread_mutex_lock(&g->mu);
    g->stopping = false;
    g->status = 0;
    for (size_t i = 0; i < g->n; i++) {
        g->q[i]->stop = false;
        g->q[i]->running = true;
    }
    pthread_mutex_unlock(&g->mu);
}

void tt_dq_end(struct drv_group *g, size_t i)
{
    struct drv_queue *q = g->q[i];

    pthread_mutex_lock(&g->mu);
    q->running = false;
    if (q->call != NULL) /* asked while the loop was ending: answered here */
        dq_run_call(g, q);
    pthread_mutex_unlock(&g->mu);
}

void tt_dq_call(struct drv_group *g, size_t self, size_t i, void (*fn)(void *ctx, void *arg),
                void *arg)
{
    struct drv_queue *q = g->q[i];

    pthread_mutex_lock(&g->mu);
    if (i == self || !q->running) {
        pthread_mutex_unlock(&g->mu);
        fn(q->ctx, arg);
        return;
    }
    q->call = fn;
    q->call_arg = arg;
    q->call_done = false;
    uv_async_send(&q->async);
    while (!q->call_done)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

bool tt_dq_hand(struct drv_group *g, size_t i, const uint8_t *pkt, size_t len, uint8_t hops)
{
    struct drv_queue *q = g->q[i];
    struct dq_packet *p = malloc(sizeof(*p) + len);
    bool ok;

    if (p == NULL)
        return false;
    p->len = len;
    p->hops = hops;
    memcpy(p->data, pkt, len);
    pthread_mutex_lock(&g->mu);
    ok = q->in_len < DQ_INBOX_SLOTS;
    if (ok) {
        q->inbox[(q->in_head + q->in_len) % DQ_INBOX_SLOTS] = p;
        q->in_len++;
    } else {
        q->inbox_drops++;
    }
    pthread_mutex_unlock(&g->mu);
    if (ok)
        uv_async_send(&q->async);
    else
        free(p);
    return ok;
}
