/*
 * The engine's services, the lowest layer above the wire formats: what
 * every protocol module may call and what calls nothing of theirs
 * (docs/architecture.md §2). Packets leave through tt_engine_output(),
 * events through tt_engine_event(); the clock in milliseconds for
 * timestamps, the engine's only randomness, and the pool of reassembly
 * nodes.
 */
#include <stdlib.h>

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

uint32_t tt_engine_ms(const tt_engine_t *eng)
{
    return (uint32_t)((eng->now - eng->start) / MS) + 1;
}

void tt_engine_output(tt_engine_t *eng, const uint8_t *pkt, size_t len)
{
    eng->stats.IpOutRequests++;
    if (eng->out)
        eng->out(eng->out_ctx, pkt, len);
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
