/*
 * Storage for TIME_WAIT entries: a slab of fixed-size records addressed by
 * 32-bit ids, a chained hash by 4-tuple, and the expiry FIFO. The rules of
 * TIME_WAIT are in timewait.c; this file only keeps the records small and
 * every operation O(1).
 *
 * Why ids and not pointers: a TIME_WAIT entry is alive for minutes in the
 * millions (the point of the laboratory), so its links cost more than its
 * content. Three 4-byte ids (hash chain, FIFO prev and next) instead of
 * three pointers, no per-entry malloc header, and a 4-byte bucket array keep
 * an entry at 56 bytes plus 4 to 8 bytes of buckets (Linux: about 500).
 */
#ifndef TT_TW_TABLE_H
#define TT_TW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t tw_id; /* 1-based; 0 means none */

#define TW_TS_ON 0x01
#define TW_OOW_SENT 0x02

/* Only what TIME_WAIT needs (RFC 9293 3.10.7.4, RFC 6191, RFC 7323). */
struct tw_entry {
    uint64_t expires;           /* engine µs */
    uint64_t last_oow_ack;      /* engine µs of the last rate-limited ACK */
    tw_id hnext;                /* hash chain */
    tw_id fifo_prev, fifo_next; /* expiry order; free list through fifo_next */
    uint32_t raddr;             /* laddr is the engine's own address */
    uint16_t lport, rport;
    uint32_t snd_nxt, rcv_nxt;
    uint32_t ts_recent;
    uint32_t ts_recent_stamp_ms; /* engine ms when ts_recent was taken */
    uint16_t rcv_wnd;            /* as advertised on the wire (scaled) */
    uint8_t rcv_wscale;
    uint8_t flags; /* TW_TS_ON, TW_OOW_SENT */
};

/* The hash of an entry's 4-tuple, for rehashing when the table grows. */
typedef uint32_t (*tw_hash_fn)(const void *ctx, const struct tw_entry *e);

struct tw_table {
    struct tw_entry **chunks; /* TW_CHUNK entries each; ids index them */
    uint32_t nchunks, cap_chunks;
    tw_id free_head; /* recycled entries */
    tw_id fresh;     /* next never-used id */
    tw_id *buckets;
    uint32_t nbuckets; /* a power of two */
    size_t count;
    tw_id head, tail; /* FIFO: head expires first */
    tw_hash_fn hash;
    const void *hash_ctx;
};

int tt_tw_table_init(struct tw_table *t, tw_hash_fn hash, const void *hash_ctx);
void tt_tw_table_fini(struct tw_table *t);

/* Bytes allocated: slab chunks (kept for reuse), buckets, chunk index. */
size_t tt_tw_table_bytes(const struct tw_table *t);

static inline struct tw_entry *tw_at(const struct tw_table *t, tw_id id)
{
    uint32_t i = id - 1;
    return &t->chunks[i >> 12][i & 4095];
}

/* The entry for (raddr, rport, lport) whose tuple hash is hash, or 0. */
tw_id tt_tw_table_lookup(const struct tw_table *t, uint32_t raddr, uint16_t rport, uint16_t lport,
                         uint32_t hash);
/* A new entry (fields zeroed except links), in the hash; 0 when out of memory.
 * The caller fills it, then appends it to the FIFO. */
tw_id tt_tw_table_insert(struct tw_table *t, uint32_t hash);
/* Out of the hash and the FIFO, back to the slab. */
void tt_tw_table_remove(struct tw_table *t, tw_id id, uint32_t hash);

void tt_tw_fifo_append(struct tw_table *t, tw_id id);
void tt_tw_fifo_unlink(struct tw_table *t, tw_id id);

#endif
