/*
 * Several TUN queues (--queues N, IFF_MULTI_QUEUE): what the queues of one
 * stack share, and how one queue's thread reaches another's. Each queue is
 * a driver of its own (loop.c): its file descriptor, its engine, its libuv
 * loop, its thread. They meet only here, under one mutex:
 *
 * - stop: tt_driver_stop() on any queue ends every queue's loop;
 * - calls: the lead queue's thread (the control socket, SIGUSR1) runs a
 *   function on another queue's thread and waits for it, so that what it
 *   reads of that queue's engine is never read while the engine runs;
 * - handover: a packet that arrived on a queue whose engine does not know
 *   its connection goes to the next queue's inbox (docs/architecture.md §7).
 *
 * Each queue's uv_async_t wakes its loop for all three; libuv coalesces
 * wake-ups, so the callback looks at each.
 */
#ifndef TT_QUEUES_H
#define TT_QUEUES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define DQ_INBOX_SLOTS 1024 /* handed packets waiting for one queue; beyond, they are lost */

struct drv_group;

/* A packet handed over: its bytes follow the header, in one allocation. */
struct dq_packet {
    size_t len;
    uint8_t hops; /* queues that did not know its connection */
    uint8_t data[];
};

/* What a queue does for the group, on its own thread. */
struct dq_ops {
    void (*stop)(void *ctx);                        /* end the loop */
    void (*packet)(void *ctx, struct dq_packet *p); /* a handed packet; the queue frees it */
};

struct drv_queue {
    struct drv_group *g;
    size_t index;
    uv_async_t async;
    const struct dq_ops *ops;
    void *ctx;
    /* Under g->mu: */
    bool running;                       /* its thread is in (or about to be in) its loop */
    bool stop;                          /* the group is stopping: end the loop */
    void (*call)(void *ctx, void *arg); /* a call waiting to run on this thread */
    void *call_arg;
    bool call_done;
    struct dq_packet *inbox[DQ_INBOX_SLOTS];
    size_t in_head, in_len;
    uint64_t inbox_drops; /* handed packets that found the inbox full */
};

struct drv_group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n;
    struct drv_queue **q; /* q[0] is the lead's */
    bool stopping;
    int status; /* the first tt_driver_stop()'s, or a device failure's */
};

int tt_dq_group_init(struct drv_group *g, size_t n);
void tt_dq_group_destroy(struct drv_group *g);
/* Frees what waits in q's inbox; once no thread runs. */
void tt_dq_free_inbox(struct drv_queue *q);

/* Queue i of the group: its async handle on loop, its ops. Errors: libuv's. */
int tt_dq_init(struct drv_group *g, size_t i, struct drv_queue *q, uv_loop_t *loop,
               const struct dq_ops *ops, void *ctx);

/* Ends every queue's loop; the first status given wins. Any thread. */
void tt_dq_stop_all(struct drv_group *g, size_t self, int status);

/* The status the group stopped with. */
int tt_dq_status(struct drv_group *g);

/* A run begins: no stop pending, every queue's loop counted as running (set
 * before the threads start, so that a call never races a starting loop). */
void tt_dq_begin(struct drv_group *g);
/* Queue i's loop ended (on its thread): later calls run directly. */
void tt_dq_end(struct drv_group *g, size_t i);

/*
 * Runs fn(ctx of queue i, arg) on queue i's thread and returns when it has
 * run; directly when i is self or queue i's loop is not running.
 */
void tt_dq_call(struct drv_group *g, size_t self, size_t i, void (*fn)(void *ctx, void *arg),
                void *arg);

/* Hands a copy of pkt (hops so far) to queue i. False when its inbox is full or memory is short. */
bool tt_dq_hand(struct drv_group *g, size_t i, const uint8_t *pkt, size_t len, uint8_t hops);

#endif
