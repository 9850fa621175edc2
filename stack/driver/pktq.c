/*
 * The delay pool of the driver: see pktq.h. It copies the packet into
 * preallocated memory, since the engine's output buffer is only valid for
 * the duration of the output callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pktq.h"

int tt_delayq_init(struct delayq *q, size_t slots, size_t slot_size)
{
    memset(q, 0, sizeof(*q));
    q->mem = malloc(slots * slot_size);
    q->slot = calloc(slots, sizeof(*q->slot));
    if (q->mem == NULL || q->slot == NULL) {
        tt_delayq_free(q);
        return -ENOMEM;
    }
    q->slots = slots;
    q->slot_size = slot_size;
    return 0;
}

void tt_delayq_free(struct delayq *q)
{
    free(q->mem);
    free(q->slot);
    memset(q, 0, sizeof(*q));
}

bool tt_delayq_add(struct delayq *q, uint64_t due, uint8_t dir, const uint8_t *pkt, size_t len)
{
    struct delay_tag none = {0, -1, false};

    return tt_delayq_add_tagged(q, due, dir, &none, pkt, len);
}

bool tt_delayq_add_tagged(struct delayq *q, uint64_t due, uint8_t dir, const struct delay_tag *tag,
                          const uint8_t *pkt, size_t len)
{
    if (len > q->slot_size)
        return false;
    for (size_t i = 0; i < q->slots; i++) {
        struct delay_slot *s = &q->slot[i];
        if (s->used)
            continue;
        memcpy(q->mem + i * q->slot_size, pkt, len);
        *s = (struct delay_slot){due, q->next_seq++, *tag, (uint32_t)len, dir, true};
        return true;
    }
    return false;
}

/* Index of the earliest pending slot, ties broken by insertion; -1 when none. */
static int delayq_earliest(const struct delayq *q)
{
    int best = -1;

    for (size_t i = 0; i < q->slots; i++) {
        const struct delay_slot *s = &q->slot[i];
        if (!s->used || s->len == UINT32_MAX)
            continue;
        if (best < 0 || s->due < q->slot[best].due ||
            (s->due == q->slot[best].due && s->seq < q->slot[best].seq))
            best = (int)i;
    }
    return best;
}

uint64_t tt_delayq_next(const struct delayq *q)
{
    int i = delayq_earliest(q);

    return i < 0 ? UINT64_MAX : q->slot[i].due;
}

int tt_delayq_take(struct delayq *q, uint64_t now, const uint8_t **pkt, size_t *len, uint8_t *dir)
{
    int i = delayq_earliest(q);

    if (i < 0 || q->slot[i].due > now)
        return -1;
    *pkt = q->mem + (size_t)i * q->slot_size;
    *len = q->slot[i].len;
    *dir = q->slot[i].dir;
    q->slot[i].len = UINT32_MAX; /* taken: invisible to delayq_earliest, still not free */
    return i;
}

void tt_delayq_release(struct delayq *q, int idx)
{
    q->slot[idx].used = false;
}
