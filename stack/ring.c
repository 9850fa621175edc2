/*
 * Byte ring (see ring.h). Storage is allocated lazily and released when the
 * ring is freed.
 */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

void ring_init(struct ring *r, uint32_t cap)
{
    r->buf = NULL;
    r->cap = cap;
    r->head = r->len = 0;
}

void ring_free(struct ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->head = r->len = 0;
}

uint32_t ring_write(struct ring *r, const uint8_t *p, uint32_t len)
{
    if (len > ring_space(r))
        len = ring_space(r);
    if (len == 0)
        return 0;
    if (!r->buf && !(r->buf = malloc(r->cap)))
        return 0;
    uint32_t tail = (r->head + r->len) % r->cap;
    uint32_t first = r->cap - tail < len ? r->cap - tail : len;
    memcpy(r->buf + tail, p, first);
    memcpy(r->buf, p + first, len - first);
    r->len += len;
    return len;
}

void ring_peek(const struct ring *r, uint32_t off, uint8_t *out, uint32_t len)
{
    uint32_t pos = (r->head + off) % r->cap;
    uint32_t first = r->cap - pos < len ? r->cap - pos : len;
    memcpy(out, r->buf + pos, first);
    memcpy(out + first, r->buf, len - first);
}

uint32_t ring_head_span(const struct ring *r, const uint8_t **p)
{
    *p = r->buf ? r->buf + r->head : NULL;
    uint32_t span = r->cap - r->head;
    return r->len < span ? r->len : span;
}

void ring_consume(struct ring *r, uint32_t len)
{
    r->head = (r->head + len) % r->cap;
    r->len -= len;
    if (r->len == 0)
        r->head = 0;
}
