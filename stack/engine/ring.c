/*
 * Byte ring (see ring.h). Storage is allocated lazily and released when the
 * ring is freed.
 */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

void tt_ring_init(struct ring *r, uint32_t cap)
{
    r->buf = NULL;
    r->cap = cap;
    r->alloc = 0;
    r->head = r->len = 0;
}

void tt_ring_free(struct ring *r)
{
    if (r->buf) /* a drained receive ring often has none: no call into free() */
        free(r->buf);
    r->buf = NULL;
    r->alloc = 0;
    r->head = r->len = 0;
}

void tt_ring_adopt(struct ring *r, uint8_t *buf, uint32_t size)
{
    r->buf = buf;
    r->alloc = buf ? size : 0;
    r->head = r->len = 0;
}

uint8_t *tt_ring_detach(struct ring *r, uint32_t *size)
{
    uint8_t *b = r->buf;
    *size = r->alloc;
    r->buf = NULL;
    r->alloc = 0;
    r->head = r->len = 0;
    return b;
}

/* Room for `need` bytes: a larger buffer with the contents laid out from 0. */
static int ring_grow(struct ring *r, uint32_t need)
{
    uint32_t size = r->alloc ? r->alloc : RING_MIN_ALLOC;
    while (size < need && size < r->cap)
        size = size > r->cap / 2 ? r->cap : size * 2;
    if (size > r->cap)
        size = r->cap;
    uint8_t *b = malloc(size);
    if (!b)
        return -1;
    if (r->len)
        tt_ring_peek(r, 0, b, r->len);
    free(r->buf);
    r->buf = b;
    r->alloc = size;
    r->head = 0;
    return 0;
}

uint32_t tt_ring_write(struct ring *r, const uint8_t *p, uint32_t len)
{
    if (len > ring_space(r))
        len = ring_space(r);
    if (len == 0)
        return 0;
    if (r->len + len > r->alloc && ring_grow(r, r->len + len) != 0)
        return 0;
    uint32_t tail = ring_wrap((uint64_t)r->head + r->len, r->alloc);
    uint32_t first = r->alloc - tail < len ? r->alloc - tail : len;
    memcpy(r->buf + tail, p, first);
    if (len > first) /* wraps: most writes do not, and memcpy(0) is a call */
        memcpy(r->buf, p + first, len - first);
    r->len += len;
    return len;
}

void tt_ring_peek(const struct ring *r, uint32_t off, uint8_t *out, uint32_t len)
{
    if (len == 0)
        return;
    uint32_t pos = ring_wrap((uint64_t)r->head + off, r->alloc);
    uint32_t first = r->alloc - pos < len ? r->alloc - pos : len;
    memcpy(out, r->buf + pos, first);
    if (len > first)
        memcpy(out + first, r->buf, len - first);
}

const uint8_t *tt_ring_at(const struct ring *r, uint32_t off, uint32_t len)
{
    if (len == 0 || !r->buf)
        return NULL;
    uint32_t pos = ring_wrap((uint64_t)r->head + off, r->alloc);
    return r->alloc - pos >= len ? r->buf + pos : NULL;
}

uint32_t tt_ring_head_span(const struct ring *r, const uint8_t **p)
{
    *p = r->buf ? r->buf + r->head : NULL;
    uint32_t span = r->alloc - r->head;
    return r->len < span ? r->len : span;
}

void tt_ring_consume(struct ring *r, uint32_t len)
{
    if (len == 0)
        return;
    r->head = ring_wrap((uint64_t)r->head + len, r->alloc);
    r->len -= len;
    if (r->len == 0)
        r->head = 0;
}
