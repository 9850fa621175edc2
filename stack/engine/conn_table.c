/*
 * Lookup of connections by 4-tuple (a chained hash table; TIME_WAIT entries
 * have their own, tw_table.c, keyed by the same hash), a segment's 4-tuple,
 * listeners by port, RFC 6528 initial sequence numbers and RFC 6056
 * ephemeral port selection with Linux's tcp_tw_reuse rule.
 *
 * The hash is keyed (SipHash with the configured secret) so that a remote
 * sender cannot aim many 4-tuples at one bucket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "siphash.h"

#define TABLE_MIN_BUCKETS 1024

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void tuple_bytes(const struct tuple *t, uint8_t out[12])
{
    put32(out, t->laddr);
    put32(out + 4, t->raddr);
    put32(out + 8, (uint32_t)t->lport << 16 | t->rport);
}

/* The 4-tuple of a segment, seen from the engine (laddr is ours). */
void tt_tuple_of_seg(const struct seg *seg, struct tuple *t)
{
    t->laddr = seg->daddr;
    t->raddr = seg->saddr;
    t->lport = seg->dport;
    t->rport = seg->sport;
}

uint32_t tt_tuple_hash(const tt_engine_t *eng, const struct tuple *t)
{
    uint8_t b[12];
    tuple_bytes(t, b);
    return (uint32_t)tt_siphash24(eng->cfg.isn_secret, b, sizeof(b));
}

int tt_conn_table_init(struct conn_table *tab)
{
    tab->nbuckets = TABLE_MIN_BUCKETS;
    tab->count = 0;
    tab->buckets = calloc(tab->nbuckets, sizeof(*tab->buckets));
    return tab->buckets ? 0 : -ENOMEM;
}

void tt_conn_table_fini(struct conn_table *tab)
{
    free(tab->buckets);
    tab->buckets = NULL;
}

static bool node_matches(const struct hnode *n, const struct tuple *t)
{
    const struct tuple *ct = &((const struct tt_conn *)n)->t;
    return ct->raddr == t->raddr && ct->rport == t->rport && ct->lport == t->lport &&
           ct->laddr == t->laddr;
}

struct hnode *tt_conn_table_lookup(const struct conn_table *tab, const struct tuple *t,
                                   uint32_t hash)
{
    for (struct hnode *n = tab->buckets[hash & (tab->nbuckets - 1)]; n; n = n->next) {
        if (n->hash == hash && node_matches(n, t))
            return n;
    }
    return NULL;
}

/* Doubles the bucket array when the load passes 1; old chains are relinked. */
static void table_grow(struct conn_table *tab)
{
    size_t nb = tab->nbuckets * 2;
    struct hnode **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < tab->nbuckets; i++) {
        struct hnode *n = tab->buckets[i];
        while (n) {
            struct hnode *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(tab->buckets);
    tab->buckets = b;
    tab->nbuckets = nb;
}

int tt_conn_table_insert(struct conn_table *tab, struct hnode *n)
{
    if (tab->count >= tab->nbuckets)
        table_grow(tab);
    struct hnode **head = &tab->buckets[n->hash & (tab->nbuckets - 1)];
    n->next = *head;
    *head = n;
    tab->count++;
    return 0;
}

void tt_conn_table_remove(struct conn_table *tab, struct hnode *n)
{
    struct hnode **pp = &tab->buckets[n->hash & (tab->nbuckets - 1)];
    while (*pp && *pp != n)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = n->next;
        tab->count--;
    }
    n->next = NULL;
}

/*
 * The connections of recent lookups, direct-mapped by the peer's address
 * and the two ports, looked at before the keyed hash: a segment of a
 * connection seen lately skips SipHash and the chain walk (issue 15: with
 * 32 short connections interleaved, a one-entry cache missed 4 segments
 * in 6). Every hit is an exact 4-tuple match and every entry is in the
 * table (tcb.c drops it there), so a hit is what the table would give.
 * The index is not keyed: a peer that aims its 4-tuples at one slot only
 * sends its segments down the hashed path, as every segment went before.
 */
static unsigned recent_slot(const struct tuple *t)
{
    uint32_t x = t->raddr ^ ((uint32_t)t->rport << 16 | t->lport);
    x ^= x >> 16;
    return x % TT_RECENT_CONNS;
}

static struct tt_conn *recent_find(const tt_engine_t *eng, const struct tuple *t)
{
    struct tt_conn *c = eng->recent[recent_slot(t)];
    return c && node_matches(&c->h, t) ? c : NULL;
}

void tt_conn_recent_put(tt_engine_t *eng, struct tt_conn *c)
{
    eng->recent[recent_slot(&c->t)] = c;
}

struct tt_conn *tt_conn_find(tt_engine_t *eng, const struct tuple *t, uint32_t *hash)
{
    struct tt_conn *c = recent_find(eng, t);
    if (c)
        return c;
    *hash = tt_tuple_hash(eng, t);
    c = (struct tt_conn *)tt_conn_table_lookup(&eng->table, t, *hash);
    if (c)
        tt_conn_recent_put(eng, c);
    return c;
}

void tt_conn_recent_drop(tt_engine_t *eng, const struct tt_conn *c)
{
    unsigned i = recent_slot(&c->t);
    if (eng->recent[i] == c)
        eng->recent[i] = NULL;
}

struct tt_listener *tt_listener_find(const tt_engine_t *eng, uint16_t port)
{
    for (struct tt_listener *l = eng->listeners; l; l = l->next) {
        if (l->port == port)
            return l;
    }
    return NULL;
}

/*
 * RFC 6528: ISN = M + F(4-tuple, secret), F a keyed hash, so that ISNs of
 * one 4-tuple grow with time (old duplicates stay old) and are unguessable
 * across 4-tuples. M ticks every 64 ns, as Linux's (secure_tcp_seq): a new
 * incarnation opened right after a short transfer then starts beyond the
 * old one's sequence space, and a peer still in TIME_WAIT takes its SYN
 * (RFC 9293 3.4.1, RFC 6191). The clock is read in microseconds, so M
 * advances 15.625 per microsecond and wraps, as Linux's, every 275 s.
 * F is the table's keyed hash of the 4-tuple (tt_tuple_hash(), the caller
 * has it already): one SipHash per new connection instead of two.
 */
uint32_t tt_isn_generate(const tt_engine_t *eng, uint32_t hash)
{
    return hash + (uint32_t)(eng->now * 125 / 8);
}

static bool is_loopback(uint32_t addr)
{
    return (addr >> 24) == 127; /* 127.0.0.0/8, RFC 1122 3.2.1.3 */
}

/* tcp_tw_reuse (Linux tcp_twsk_unique): with timestamps, an entry whose
 * last timestamp is older than tcp_tw_reuse_delay may give its 4-tuple to
 * a new active open; the peer's PAWS tells the incarnations apart. 2,
 * Linux's default, allows it only when either address is a loopback one,
 * which on a TUN device means practically never. */
static bool tw_reusable(const tt_engine_t *eng, const struct tuple *t, tw_id id)
{
    const struct tw_entry *tw = tw_at(&eng->tw, id);
    int reuse = eng->cfg.tcp_tw_reuse;

    if (reuse == 2 && !is_loopback(t->laddr) && !is_loopback(t->raddr))
        reuse = 0;
    if (!reuse || !(tw->flags & TW_TS_ON))
        return false;
    return (uint64_t)(tt_engine_ms(eng) - tw->ts_recent_stamp_ms) * MS > eng->cfg.tw_reuse_delay_us;
}

/* A port is free for this peer when no connection, listener or (unless
 * reusable) TIME_WAIT entry holds it. */
static bool port_free(tt_engine_t *eng, struct tuple *t, tw_id *reuse)
{
    if (tt_listener_find(eng, t->lport))
        return false;
    uint32_t hash = tt_tuple_hash(eng, t);
    if (tt_conn_table_lookup(&eng->table, t, hash))
        return false;
    tw_id id = tt_tw_table_lookup(&eng->tw, t->raddr, t->rport, t->lport, hash);
    if (!id)
        return true;
    if (tw_reusable(eng, t, id)) {
        *reuse = id;
        return true;
    }
    return false;
}

/*
 * RFC 6056 3.3.4, Algorithm 4 (double-hash), as Linux uses: a keyed hash of
 * (laddr, raddr, rport) picks where to start in the range, and a small
 * perturbation table indexed by a second hash moves the start on after each
 * use, so that consecutive connections to one peer do not probe the same
 * ports over and over. Returns 0 and fills t->lport, or -EADDRNOTAVAIL.
 */
int tt_port_select(tt_engine_t *eng, struct tuple *t, tw_id *reuse)
{
    uint8_t b[12];
    struct tuple key = *t;
    key.lport = key.rport;
    tuple_bytes(&key, b);
    uint64_t h = tt_siphash24(eng->cfg.isn_secret, b, sizeof(b));
    uint32_t offset = (uint32_t)h ^ (uint32_t)eng->cfg.seed;
    uint32_t idx = (uint32_t)(h >> 32) % 256;
    uint32_t num = (uint32_t)eng->cfg.port_hi - eng->cfg.port_lo + 1;
    *reuse = 0;
    for (uint32_t i = 0; i < num; i++) {
        uint32_t port = eng->cfg.port_lo + (offset + eng->port_perturb[idx] + i) % num;
        t->lport = (uint16_t)port;
        if (port_free(eng, t, reuse)) {
            /* As Linux (__inet_hash_connect): move the next start on by a
             * random 1..8 when the range is not crowded (by the number of
             * ports tried when it is), so the ports towards one peer do not
             * count up one by one. */
            uint32_t skip = tt_engine_random(eng) % 8;
            eng->port_perturb[idx] += (i > skip ? i : skip) + 1;
            return 0;
        }
    }
    return -EADDRNOTAVAIL;
}
