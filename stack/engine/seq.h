/*
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4). Every comparison of
 * sequence numbers in the engine goes through these helpers: a raw `<` breaks
 * when the space wraps.
 */
#ifndef TT_SEQ_H
#define TT_SEQ_H

#include <stdbool.h>
#include <stdint.h>

static inline bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static inline bool seq_leq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}

static inline bool seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

static inline bool seq_geq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

/* lo <= a < hi, in sequence space. */
static inline bool seq_in(uint32_t a, uint32_t lo, uint32_t hi)
{
    return a - lo < hi - lo;
}

static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
    return seq_gt(a, b) ? a : b;
}

static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
    return seq_lt(a, b) ? a : b;
}

#endif
