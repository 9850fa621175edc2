/*
 * A byte ring for the send and receive buffers. The storage is allocated on
 * first use and grows by doubling as data needs it, up to the ring's
 * capacity: an idle connection costs no buffer memory, a short one little.
 */
#ifndef TT_RING_H
#define TT_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_MIN_ALLOC 4096u /* the first buffer a ring allocates */

struct ring {
    uint8_t *buf;
    uint32_t cap;   /* the most it may hold */
    uint32_t alloc; /* what buf holds now: grows by doubling up to cap */
    uint32_t head, len;
};

void tt_ring_init(struct ring *r, uint32_t cap);
void tt_ring_free(struct ring *r);
/* An empty ring without storage takes buf (size bytes, from malloc()). */
void tt_ring_adopt(struct ring *r, uint8_t *buf, uint32_t size);
/* Hands the storage (NULL when none) and its size over; the ring is left
 * empty without storage. */
uint8_t *tt_ring_detach(struct ring *r, uint32_t *size);
/* Index k of a circular array of cap slots, for k below 2 cap (head plus
 * an offset): one compare and subtraction where % would divide, tens of
 * cycles several times per segment (issue 15). */
static inline uint32_t ring_wrap(uint64_t k, uint32_t cap)
{
    return (uint32_t)(k >= cap ? k - cap : k);
}
static inline uint32_t ring_space(const struct ring *r)
{
    return r->cap - r->len;
}
/* Appends up to len bytes; returns how many fit (0 also when out of memory). */
uint32_t tt_ring_write(struct ring *r, const uint8_t *p, uint32_t len);
/* Copies len bytes starting off bytes from the head, without consuming. */
void tt_ring_peek(const struct ring *r, uint32_t off, uint8_t *out, uint32_t len);
/* The len bytes starting off bytes from the head where they lie, when they
 * do not wrap around the end of the storage; NULL when they do. */
const uint8_t *tt_ring_at(const struct ring *r, uint32_t off, uint32_t len);
/* Contiguous bytes at the head: returns their count, *p points at them. */
uint32_t tt_ring_head_span(const struct ring *r, const uint8_t **p);
void tt_ring_consume(struct ring *r, uint32_t len);

#endif
