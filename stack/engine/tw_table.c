/*
 * TIME_WAIT storage (see tw_table.h): slab, hash, FIFO. Chunks of 4096
 * entries are allocated as the table grows and kept for reuse until the
 * engine is freed; the bucket array doubles when the load passes 1.
 */
#include "tw_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TW_CHUNK 4096u
#define TW_MIN_BUCKETS 1024u

_Static_assert(sizeof(struct tw_entry) == 56, "a TIME_WAIT entry is 56 bytes");

int tt_tw_table_init(struct tw_table *t, tw_hash_fn hash, const void *hash_ctx)
{
    memset(t, 0, sizeof(*t));
    t->hash = hash;
    t->hash_ctx = hash_ctx;
    t->fresh = 1;
    t->nbuckets = TW_MIN_BUCKETS;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    return t->buckets ? 0 : -ENOMEM;
}

void tt_tw_table_fini(struct tw_table *t)
{
    for (uint32_t i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    free(t->buckets);
    memset(t, 0, sizeof(*t));
}

size_t tt_tw_table_bytes(const struct tw_table *t)
{
    return (size_t)t->nchunks * TW_CHUNK * sizeof(struct tw_entry) +
           (size_t)t->nbuckets * sizeof(*t->buckets) + (size_t)t->cap_chunks * sizeof(*t->chunks);
}

tw_id tt_tw_table_lookup(const struct tw_table *t, uint32_t raddr, uint16_t rport, uint16_t lport,
                         uint32_t hash)
{
    for (tw_id id = t->buckets[hash & (t->nbuckets - 1)]; id;) {
        const struct tw_entry *e = tw_at(t, id);
        if (e->raddr == raddr && e->rport == rport && e->lport == lport)
            return id;
        id = e->hnext;
    }
    return 0;
}

static bool grow_chunks(struct tw_table *t)
{
    if (t->nchunks == t->cap_chunks) {
        uint32_t cap = t->cap_chunks ? t->cap_chunks * 2 : 16;
        struct tw_entry **c = realloc(t->chunks, cap * sizeof(*c));
        if (!c)
            return false;
        t->chunks = c;
        t->cap_chunks = cap;
    }
    struct tw_entry *chunk = malloc(TW_CHUNK * sizeof(*chunk));
    if (!chunk)
        return false;
    t->chunks[t->nchunks++] = chunk;
    return true;
}

static tw_id slab_alloc(struct tw_table *t)
{
    if (t->free_head) {
        tw_id id = t->free_head;
        t->free_head = tw_at(t, id)->fifo_next;
        return id;
    }
    if (t->fresh > t->nchunks * TW_CHUNK && !grow_chunks(t))
        return 0;
    if (t->fresh == UINT32_MAX)
        return 0;
    return t->fresh++;
}

/* Doubles the buckets and relinks every entry; the hash comes from its tuple. */
static void rehash(struct tw_table *t)
{
    uint32_t nb = t->nbuckets * 2;
    tw_id *b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (uint32_t i = 0; i < t->nbuckets; i++) {
        tw_id id = t->buckets[i];
        while (id) {
            struct tw_entry *e = tw_at(t, id);
            tw_id next = e->hnext;
            uint32_t h = t->hash(t->hash_ctx, e) & (nb - 1);
            e->hnext = b[h];
            b[h] = id;
            id = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

tw_id tt_tw_table_insert(struct tw_table *t, uint32_t hash)
{
    if (t->count >= t->nbuckets)
        rehash(t);
    tw_id id = slab_alloc(t);
    if (!id)
        return 0;
    struct tw_entry *e = tw_at(t, id);
    memset(e, 0, sizeof(*e));
    tw_id *head = &t->buckets[hash & (t->nbuckets - 1)];
    e->hnext = *head;
    *head = id;
    t->count++;
    return id;
}

void tt_tw_table_remove(struct tw_table *t, tw_id id, uint32_t hash)
{
    tw_id *pp = &t->buckets[hash & (t->nbuckets - 1)];
    while (*pp && *pp != id)
        pp = &tw_at(t, *pp)->hnext;
    struct tw_entry *e = tw_at(t, id);
    if (*pp)
        *pp = e->hnext;
    tt_tw_fifo_unlink(t, id);
    t->count--;
    e->fifo_next = t->free_head;
    t->free_head = id;
}

void tt_tw_fifo_append(struct tw_table *t, tw_id id)
{
    struct tw_entry *e = tw_at(t, id);
    e->fifo_prev = t->tail;
    e->fifo_next = 0;
    if (t->tail)
        tw_at(t, t->tail)->fifo_next = id;
    else
        t->head = id;
    t->tail = id;
}

/* Safe on an entry that is not in the FIFO (both links 0 and not the head). */
void tt_tw_fifo_unlink(struct tw_table *t, tw_id id)
{
    struct tw_entry *e = tw_at(t, id);
    if (e->fifo_prev)
        tw_at(t, e->fifo_prev)->fifo_next = e->fifo_next;
    else if (t->head == id)
        t->head = e->fifo_next;
    else
        return; /* not linked */
    if (e->fifo_next)
        tw_at(t, e->fifo_next)->fifo_prev = e->fifo_prev;
    else
        t->tail = e->fifo_prev;
    e->fifo_prev = e->fifo_next = 0;
}
