/*
 * The engine's services, the lowest layer above the wire formats: what
 * every protocol module may call and what calls nothing of theirs
 * (docs/architecture.md §2). Packets wait in the output queue
 * (tt_engine_output_buf(), tt_engine_output_push()) until the engine call
 * ends (tt_engine_output_flush()), and so do the bytes for read callbacks
 * (tt_engine_stage()); events leave through tt_engine_event();
 * the clock in milliseconds for timestamps, the engine's only randomness,
 * and the pool of reassembly nodes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* splitmix64: the engine's only randomness, seeded from the config so that a
 * run is reproducible with --seed. */
uint32_t tt_engine_random(tt_engine_t *eng)
{
    uint64_t z = (eng->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/*
 * The timestamp clock (RFC 7323 5.4): milliseconds of the engine's clock
 * itself, not of the engine's age, so that TSval keeps growing across
 * engines that share a clock (the driver's is the system's monotonic clock,
 * as Linux's tcp_clock_ms). A new incarnation of a 4-tuple then carries a
 * TSval beyond the old one's, and a peer in TIME_WAIT accepts its SYN
 * (RFC 6191; docs/contract.md §2.10).
 */
uint32_t tt_engine_ms(const tt_engine_t *eng)
{
    return (uint32_t)(eng->now / MS);
}

/*
 * A queue of records for the length of an engine call. Records are laid out
 * in blocks that never move, so a record handed to a callback stays where it
 * is while the callback makes the engine queue more. An emptied queue keeps
 * its blocks (up to TT_RECQ_SPARE) for the next call: no allocation per
 * record in the steady state.
 */
#define TT_RECQ_BLOCK 65536u
#define TT_RECQ_SPARE 8u
#define TT_RECQ_ALIGN (sizeof(max_align_t))
#define TT_RECQ_HDR TT_RECQ_ALIGN /* each record starts with its size_t size */

static size_t recq_round(size_t n)
{
    return (n + TT_RECQ_ALIGN - 1) / TT_RECQ_ALIGN * TT_RECQ_ALIGN;
}

static uint8_t *block_at(struct tt_recq_block *b, size_t off)
{
    return (uint8_t *)b->data + off;
}

static struct tt_recq_block *recq_block(struct tt_recq *q, size_t need)
{
    struct tt_recq_block *b = q->spare;
    if (b && b->cap >= need) {
        q->spare = b->next;
        q->nspare--;
    } else {
        size_t cap = need > TT_RECQ_BLOCK ? need : TT_RECQ_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->cap = cap;
    }
    b->next = NULL;
    b->used = 0;
    return b;
}

/* Room for a record of size bytes at the tail; NULL without memory. */
static void *recq_reserve(struct tt_recq *q, size_t size)
{
    size_t need = TT_RECQ_HDR + recq_round(size);
    if (q->tail && q->tail->cap - q->tail->used >= need)
        return block_at(q->tail, q->tail->used + TT_RECQ_HDR);
    struct tt_recq_block *b = recq_block(q, need);
    if (!b)
        return NULL;
    if (q->tail)
        q->tail->next = b;
    else
        q->head = q->rd = b;
    q->tail = b;
    return block_at(b, TT_RECQ_HDR);
}

/* Where the record last reserved lies. */
static void *recq_reserved(struct tt_recq *q)
{
    return block_at(q->tail, q->tail->used + TT_RECQ_HDR);
}

/* The record just reserved took size bytes. */
static void recq_commit(struct tt_recq *q, size_t size)
{
    *(size_t *)block_at(q->tail, q->tail->used) = size;
    q->tail->used += TT_RECQ_HDR + recq_round(size);
}

/* The oldest record not yet read, or NULL. */
static void *recq_next(struct tt_recq *q)
{
    while (q->rd && q->rd_off == q->rd->used && q->rd->next) {
        q->rd = q->rd->next;
        q->rd_off = 0;
    }
    if (!q->rd || q->rd_off == q->rd->used)
        return NULL;
    uint8_t *hdr = block_at(q->rd, q->rd_off);
    q->rd_off += TT_RECQ_HDR + recq_round(*(size_t *)hdr);
    return hdr + TT_RECQ_HDR;
}

static bool recq_pending(const struct tt_recq *q)
{
    const struct tt_recq_block *b = q->rd;
    return b && (q->rd_off < b->used || b->next != NULL);
}

/* Empties the queue; its blocks wait for the next call. */
static void recq_reset(struct tt_recq *q)
{
    while (q->head) {
        struct tt_recq_block *b = q->head;
        q->head = b->next;
        if (q->nspare < TT_RECQ_SPARE && b->cap == TT_RECQ_BLOCK) {
            b->next = q->spare;
            q->spare = b;
            q->nspare++;
        } else {
            free(b);
        }
    }
    q->tail = q->rd = NULL;
    q->rd_off = 0;
}

void tt_recq_free(struct tt_recq *q)
{
    recq_reset(q);
    while (q->spare) {
        struct tt_recq_block *b = q->spare;
        q->spare = b->next;
        free(b);
    }
    q->nspare = 0;
}

/*
 * In-order bytes for a read callback that runs at the end of the engine
 * call: a copy, since the segment they came in may be gone by then (a
 * caller's buffer, a reassembly node). NULL without memory.
 */
struct tt_staged *tt_engine_stage(tt_engine_t *eng, const uint8_t *data, uint32_t len)
{
    struct tt_staged *s = recq_reserve(&eng->staged, sizeof(*s) + len);
    if (!s) {
        eng->stats.TtNoBufs++;
        return NULL;
    }
    s->next = NULL;
    s->len = len;
    s->bytes = s->data;
    memcpy(s->data, data, len);
    recq_commit(&eng->staged, sizeof(*s) + len);
    return s;
}

/* Whether data[0..len) lies in the datagram that outlives the call (engine.h's rx_stable). */
static bool in_stable_rx(const tt_engine_t *eng, const uint8_t *data, uint32_t len)
{
    const uint8_t *p = eng->rx_stable;

    return p != NULL && data >= p && len <= eng->rx_stable_len &&
           (size_t)(data - p) <= eng->rx_stable_len - len;
}

/*
 * In-order bytes staged where they lie when they are in the datagram of an
 * outermost call that stays as it is until the call returns: the read
 * callbacks run before it does (tt_engine_leave()), and bytes a reader no
 * longer takes are copied into its receive buffer then (tcb.c), so none
 * outlives the datagram. One copy of each received byte fewer. Otherwise
 * as tt_engine_stage().
 */
struct tt_staged *tt_engine_stage_ref(tt_engine_t *eng, const uint8_t *data, uint32_t len)
{
    struct tt_staged *s;

    if (!in_stable_rx(eng, data, len))
        return tt_engine_stage(eng, data, len);
    s = recq_reserve(&eng->staged, sizeof(*s));
    if (!s) {
        eng->stats.TtNoBufs++;
        return NULL;
    }
    s->next = NULL;
    s->len = len;
    s->bytes = data;
    recq_commit(&eng->staged, sizeof(*s));
    return s;
}

/*
 * More in-order bytes for the same read callback: appended to s when s is
 * the newest record and its block has room, so that a connection's bytes
 * from several segments of one engine call (tt_engine_batch_begin()) reach
 * the application in one call, as Linux's reader finds a GRO packet's
 * payload in one read. false: stage them on their own.
 */
bool tt_engine_stage_grow(tt_engine_t *eng, struct tt_staged *s, const uint8_t *data, uint32_t len)
{
    struct tt_recq *q = &eng->staged;
    size_t old = sizeof(*s) + s->len, grown = old + len;
    uint8_t *end = (uint8_t *)s + recq_round(old);

    if (s->bytes != s->data) /* staged where they lie: grows only by what follows there */
        return data == s->bytes + s->len && in_stable_rx(eng, data, len) &&
               len <= UINT32_MAX - s->len && (s->len += len, true);
    if (q->tail == NULL || end != block_at(q->tail, q->tail->used) || len > UINT32_MAX - s->len)
        return false;
    if (q->tail->used - recq_round(old) + recq_round(grown) > q->tail->cap)
        return false;
    memcpy(s->data + s->len, data, len);
    s->len += len;
    *(size_t *)((uint8_t *)s - TT_RECQ_HDR) = grown;
    q->tail->used += recq_round(grown) - recq_round(old);
    return true;
}

/* Every read callback has run: the staged bytes go. */
void tt_engine_staged_reset(tt_engine_t *eng)
{
    recq_reset(&eng->staged);
}

/* One datagram in the output queue, with the state of its connection when
 * it was built (what tt_engine_conn_state() said of its 4-tuple then). */
struct out_rec {
    uint32_t len;
    int32_t state;
    uint16_t gso_size; /* a GSO datagram of segments this long (tcp_tso.c); 0: one segment */
    uint8_t bytes[];
};

/* The record reserved at the tail of the output queue, len bytes built in it, queued. */
static void out_commit(struct tt_recq *q, struct out_rec *r, size_t len, int state, uint16_t gso)
{
    r->len = (uint32_t)len;
    r->state = state;
    r->gso_size = gso;
    recq_commit(q, sizeof(*r) + len);
}

/*
 * Room for one datagram of up to cap bytes at the tail of the output queue,
 * built there in place; NULL without memory (the datagram is lost, as on a
 * full device queue).
 */
uint8_t *tt_engine_output_buf(tt_engine_t *eng, size_t cap)
{
    tt_engine_output_run_close(eng); /* it goes before this one */
    struct out_rec *r = recq_reserve(&eng->outq, sizeof(*r) + cap);
    if (!r) {
        eng->stats.TtNoBufs++;
        return NULL;
    }
    return r->bytes;
}

/* The datagram just built in tt_engine_output_buf(): len bytes, sent by a
 * connection in `state` (a tt_state_t, or -ENOENT for none). */
void tt_engine_output_push(tt_engine_t *eng, size_t len, int state)
{
    eng->stats.IpOutRequests++; /* Linux counts it before the qdisc */
    if (eng->local_cong)
        return; /* the device refuses it (tcp_localcong.c): never queued */
    out_commit(&eng->outq, recq_reserved(&eng->outq), len, state, 0);
}

/* Bytes a record of up to n bytes of data may have at the tail block: the
 * rest of it, whole records only. */
static size_t out_room(const struct tt_recq_block *b)
{
    size_t left = b->cap - b->used, fixed = TT_RECQ_HDR + sizeof(struct out_rec);
    return left > fixed ? (left - fixed) / TT_RECQ_ALIGN * TT_RECQ_ALIGN : 0;
}

/*
 * Room for a run in the device's own memory (tt_engine_set_run_out()),
 * only when it keeps the order of what the engine sends: nothing queued
 * before it still waits for the output callback, which is not running
 * (a run opened from inside it would pass the datagram being handed out).
 */
static uint8_t *run_out_reserve(tt_engine_t *eng, size_t min, size_t max, size_t *cap)
{
    if (!eng->run_out || eng->flushing || recq_pending(&eng->outq))
        return NULL;
    uint8_t *buf = eng->run_out->reserve(eng->run_out_ctx, min, max, cap);
    if (!buf || *cap < min)
        return NULL;
    if (*cap > max)
        *cap = max;
    return buf;
}

/*
 * A run built in the device's memory is finished: two or more segments
 * are held there as one GSO datagram. One segment is no GSO datagram: it
 * goes the output queue's way, as without (the driver's offload batch may
 * join it to the next), copied there; its room is given back.
 */
static void run_out_close(tt_engine_t *eng, const struct tt_tso_run *run)
{
    size_t len = run->hlen + run->payload;
    if (run->segs > 1) {
        eng->run_out->commit(eng->run_out_ctx, len, (uint16_t)run->mss);
        return;
    }
    struct out_rec *r = recq_reserve(&eng->outq, sizeof(*r) + len);
    if (r) {
        memcpy(r->bytes, run->buf, len);
        out_commit(&eng->outq, r, len, run->state, 0);
    } else {
        eng->stats.TtNoBufs++;
    }
    eng->run_out->commit(eng->run_out_ctx, 0, 0);
}

/*
 * Room for a GSO run's datagram (tcp_tso.c): at least min bytes, and as
 * many more up to max as the tail block of the queue holds (a block of
 * its own when it holds fewer than min), so that a run takes no memory
 * but what it fills; *cap says how many. Reserved at the tail and
 * committed by tt_engine_output_run_close(), before anything else is
 * queued.
 */
uint8_t *tt_engine_output_run_buf(tt_engine_t *eng, size_t min, size_t max, size_t *cap)
{
    tt_engine_output_run_close(eng);
    uint8_t *direct = run_out_reserve(eng, min, max, cap);
    eng->run.direct = direct != NULL;
    if (direct)
        return direct;
    struct tt_recq *q = &eng->outq;
    size_t room = q->tail ? out_room(q->tail) : 0;
    if (room < min) {
        struct tt_recq_block fresh = {.cap = TT_RECQ_BLOCK};
        room = out_room(&fresh);
    }
    *cap = room < min ? min : room > max ? max : room;
    return tt_engine_output_buf(eng, *cap);
}

/* The open run, if any, joins the output queue: one datagram, cut by the
 * device into segments of the run's MSS when it holds two or more. */
void tt_engine_output_run_close(tt_engine_t *eng)
{
    struct tt_tso_run *run = &eng->run;
    if (!run->open)
        return;
    run->open = false;
    if (run->direct) {
        run->direct = false;
        run_out_close(eng, run);
        return;
    }
    out_commit(&eng->outq, recq_reserved(&eng->outq), run->hlen + run->payload, run->state,
               (uint16_t)(run->segs > 1 ? run->mss : 0));
}

/* Hands every queued datagram to the output callback, oldest first; a
 * run the callback's own engine calls open joins the queue too before it
 * is reset. */
void tt_engine_output_flush(tt_engine_t *eng)
{
    const struct out_rec *r;
    tt_engine_output_run_close(eng);
    eng->flushing = true;
    while ((r = recq_next(&eng->outq)) != NULL || eng->run.open) {
        if (r == NULL) {
            tt_engine_output_run_close(eng);
            continue;
        }
        if (!eng->out)
            continue;
        eng->out_state = r->state;
        eng->out_gso = r->gso_size;
        eng->out(eng->out_ctx, r->bytes, r->len);
    }
    eng->flushing = false;
    eng->out_state = -ENOENT;
    eng->out_gso = 0;
    recq_reset(&eng->outq);
}

bool tt_engine_output_pending(const tt_engine_t *eng)
{
    return eng->run.open || recq_pending(&eng->outq);
}

int tt_engine_output_state(const tt_engine_t *eng)
{
    return eng->out_state;
}

uint16_t tt_engine_output_gso_size(const tt_engine_t *eng)
{
    return eng->out_gso;
}

void tt_engine_set_gso_out(tt_engine_t *eng, bool on)
{
    tt_engine_output_run_close(eng);
    eng->gso_out = on;
}

void tt_engine_set_run_out(tt_engine_t *eng, const tt_run_out_t *ops, void *ctx)
{
    tt_engine_output_run_close(eng);
    eng->run_out = ops;
    eng->run_out_ctx = ctx;
}

void tt_engine_event(tt_engine_t *eng, tt_event_t *ev, const struct tuple *t)
{
    if (!eng->ev)
        return;
    ev->now_us = eng->now;
    ev->laddr = t->laddr;
    ev->raddr = t->raddr;
    ev->lport = t->lport;
    ev->rport = t->rport;
    eng->ev(eng->ev_ctx, ev);
}

/*
 * Reassembly nodes come from a small pool of MTU-sized nodes, so that a lossy
 * bulk flow does not call malloc for every out-of-order segment. Larger
 * segments (none with our MTU) fall back to malloc.
 */
static uint32_t ooo_node_payload(const tt_engine_t *eng)
{
    return eng->cfg.mtu;
}

struct ooo_seg *tt_engine_ooo_alloc(tt_engine_t *eng, uint32_t len)
{
    if (len <= ooo_node_payload(eng) && eng->ooo_pool) {
        struct ooo_seg *o = eng->ooo_pool;
        eng->ooo_pool = o->next;
        eng->ooo_pool_len--;
        return o;
    }
    uint32_t size = len <= ooo_node_payload(eng) ? ooo_node_payload(eng) : len;
    return malloc(sizeof(struct ooo_seg) + size);
}

void tt_engine_ooo_release(tt_engine_t *eng, struct ooo_seg *o)
{
    if (o->cap == ooo_node_payload(eng) && eng->ooo_pool_len < TT_OOO_POOL_MAX) {
        o->next = eng->ooo_pool;
        eng->ooo_pool = o;
        eng->ooo_pool_len++;
        return;
    }
    free(o);
}

void tt_engine_ooo_free_list(struct ooo_seg *o)
{
    while (o) {
        struct ooo_seg *next = o->next;
        free(o);
        o = next;
    }
}
