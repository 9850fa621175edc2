/*
 * Spare blocks: per-engine free lists for the memory every short
 * connection takes and gives back (spare.c).
 */
#ifndef TT_SPARE_H
#define TT_SPARE_H

#include <stddef.h>
#include <stdint.h>

enum tt_spare_kind {
    TT_SPARE_TCB,     /* struct tt_conn */
    TT_SPARE_RING,    /* a send ring's first buffer (RING_MIN_ALLOC bytes) */
    TT_SPARE_TXSTAMP, /* the first RTT-sample log (tcp_txstamp.c) */
    TT_SPARE_SKB,     /* the first skb ring (tcp_skb.c) */
    TT_SPARE_XLOG,    /* the first RACK transmission log (tcp_rack.c) */
    TT_SPARE_KINDS
};

/* A few blocks of each kind; beyond, they go back to free(). */
#define TT_SPARE_MAX 32

/* What the connections of one engine may keep of emptied send rings'
 * first buffers (tt_tcb_sndbuf_emptied()): 64 of them. */
#define TT_SPARE_KEPT_MAX (64u * 4096u)

struct tt_spares {
    void *head[TT_SPARE_KINDS];
    uint32_t len[TT_SPARE_KINDS];
    uint32_t kept; /* bytes of send-ring buffers connections keep */
};

struct tt_engine;
/* A block of size bytes (always the same size for one kind): a spare one,
 * or malloc()'s. NULL when out of memory. Not zeroed. */
void *tt_spare_take(struct tt_engine *eng, enum tt_spare_kind k, size_t size);
/* Gives back a block tt_spare_take() or malloc() returned for kind k, of
 * size bytes; NULL is ignored. */
void tt_spare_give(struct tt_engine *eng, enum tt_spare_kind k, void *p, size_t size);
/* Frees every spare block (tt_engine_free()). */
void tt_spares_fini(struct tt_spares *s);

#endif
