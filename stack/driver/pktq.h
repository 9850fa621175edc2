/*
 * The driver's timed pool for packets delayed by a --fault rule, allocated
 * once so that no packet costs a malloc. (What waits for the device is
 * held by the pump, pump.h.)
 */
#ifndef TT_PKTQ_H
#define TT_PKTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the driver tells the trace when a held packet is released. */
struct delay_tag {
    uint64_t since; /* monotonic µs it was held at */
    int rule;       /* index of the --fault rule that held it; -1: not told */
    bool copy;      /* a dup= copy rather than the packet itself */
};

struct delay_slot {
    uint64_t due; /* monotonic µs */
    uint64_t seq; /* insertion order: equal delays keep the packets' order */
    struct delay_tag tag;
    uint32_t len;
    uint8_t dir;
    bool used;
};

/* Unordered pool of timed slots; a few dozen at most, so a linear scan is cheapest. */
struct delayq {
    uint8_t *mem;
    struct delay_slot *slot;
    size_t slots, slot_size;
    uint64_t next_seq;
};

/* Errors: -ENOMEM. */
int tt_delayq_init(struct delayq *q, size_t slots, size_t slot_size);
void tt_delayq_free(struct delayq *q);
/* Copies pkt in, due at due; false when full or pkt is larger than a slot. */
bool tt_delayq_add(struct delayq *q, uint64_t due, uint8_t dir, const uint8_t *pkt, size_t len);
/* The same, with a tag kept in the slot (q->slot[idx].tag once taken). */
bool tt_delayq_add_tagged(struct delayq *q, uint64_t due, uint8_t dir, const struct delay_tag *tag,
                          const uint8_t *pkt, size_t len);
/* The earliest due time; UINT64_MAX when empty. */
uint64_t tt_delayq_next(const struct delayq *q);
/*
 * The earliest packet due at or before now: its slot index (>= 0), with
 * *pkt, *len and *dir set, or -1. The slot stays taken until
 * tt_delayq_release(), so adding packets meanwhile cannot overwrite it.
 */
int tt_delayq_take(struct delayq *q, uint64_t now, const uint8_t **pkt, size_t *len, uint8_t *dir);
void tt_delayq_release(struct delayq *q, int idx);

#endif
