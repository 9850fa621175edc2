/*
 * The engine's timing wheel: a hierarchical hashed wheel of 8 levels of 256
 * slots over absolute microsecond deadlines. Level k looks at byte k of a
 * deadline, so level 0 has 1 µs slots and level 7 slots of 2^56 µs; together
 * they cover the whole 64-bit range, hence no overflow list and no deadline
 * is ever rounded. A timer whose deadline is after the wheel's clock sits at
 * the level of the highest byte in which deadline and clock differ, in the
 * slot named by that byte of the deadline; a timer whose deadline is at or
 * before the clock sits on the due list. Two consequences carry the design:
 * every occupied slot of level k has an index above byte k of the clock (no
 * slot index ever wraps), and every timer of level k is earlier than every
 * slot of level k+1. So the next event is the lowest set bit of the lowest
 * non-empty level: found through a level mask and four 64-bit words, never by
 * a walk over timers.
 *
 * Moving the clock to an event (the start of that slot) empties the slot:
 * each timer of a level-k slot then shares byte k with the clock and drops to
 * a lower level, and a level-0 slot (one exact microsecond) goes to the due
 * list. A timer therefore moves at most 8 times in its life: arm and cancel
 * are O(1), expiry is amortised O(1) per timer plus O(1) per call. The clock
 * moves only inside tt_timer_wheel_expire(), one event at a time, so timers come
 * out in deadline order apart from those armed already overdue.
 *
 * Each slot's sentinel keeps, in its deadline field, the least deadline put
 * in the slot since it was last empty: a lower bound that a cancel may leave
 * too low, never too high. tt_timer_wheel_next() returns it for the earliest
 * slot, so with no cancel since the slot was filled it is the exact earliest
 * deadline at any level. A stale bound still lies at or after the slot's
 * start, so expiring at it empties the slot and the wheel moves on; the
 * slots refilled from it are exact. Hence a caller that loops on
 * expire(max(now, next())) reaches each earliest deadline in at most 2 calls,
 * and in exactly 1, at now == deadline, when no cancel intervened. For a
 * timer armed already overdue, next() returns a time in the past (hence the
 * max): the header promises never later than the earliest deadline.
 *
 * Arming at TIMER_NEVER disarms the timer: a deadline that never comes is no
 * deadline, and tt_timer_wheel_next() keeps TIMER_NEVER to mean "nothing armed".
 * The wheel costs about 66 KB (2049 sentinels), allocated once. Bit scans
 * use the GCC/Clang builtins ctz and clz.
 */
#include "timer.h"

#include <assert.h>
#include <stdlib.h>

#define WHEEL_LEVELS 8
#define WHEEL_SLOT_BITS 8
#define WHEEL_SLOTS (1u << WHEEL_SLOT_BITS)
#define WHEEL_WORDS (WHEEL_SLOTS / 64)
#define LEVEL_DUE WHEEL_LEVELS /* t->level of a timer on the due list */

_Static_assert((WHEEL_LEVELS * WHEEL_SLOT_BITS) == 64, "the levels must cover 64-bit deadlines");
_Static_assert(WHEEL_WORDS == 4, "slot_unmark() tests four occupancy words");

struct timer_wheel {
    uint64_t clock;    /* deadlines <= clock are due; later ones are in slots */
    uint64_t last_now; /* the latest now given to expire, to assert monotony */
    size_t count;
    unsigned busy_levels; /* bit k: some slot of level k is occupied */
    uint64_t occupied[WHEEL_LEVELS][WHEEL_WORDS];
    struct timer due; /* sentinel; due.deadline bounds the due timers below */
    struct timer slot[WHEEL_LEVELS][WHEEL_SLOTS];
};

/* Circular lists through sentinels, so an armed timer never has NULL links
 * and tt_timer_armed() needs no wheel. */
static void list_init(struct timer *head)
{
    head->next = head->prev = head;
    head->deadline = TIMER_NEVER;
}

static bool list_empty(const struct timer *head)
{
    return head->next == head;
}

static void list_append(struct timer *head, struct timer *t)
{
    t->prev = head->prev;
    t->next = head;
    head->prev->next = t;
    head->prev = t;
    if (t->deadline < head->deadline)
        head->deadline = t->deadline;
}

/* Unlinks t; when that empties its list, the bound in the sentinel is reset
 * since nothing remains for it to bound. Returns whether the list emptied. */
static bool list_unlink(struct timer *t)
{
    struct timer *prev = t->prev;
    t->next->prev = prev;
    prev->next = t->next;
    t->next = t->prev = NULL;
    if (prev->next != prev)
        return false;
    prev->deadline = TIMER_NEVER; /* prev is the sentinel */
    return true;
}

static unsigned lowest_bit(uint64_t x)
{
    return (unsigned)__builtin_ctzll(x);
}

static unsigned slot_index(uint64_t deadline, unsigned level)
{
    return (unsigned)(deadline >> (level * WHEEL_SLOT_BITS)) & (WHEEL_SLOTS - 1);
}

/* The time at which the clock reaches slot s of level: the clock's bytes
 * above the level, byte s at the level, zeros below. */
static uint64_t slot_start(uint64_t clock, unsigned level, unsigned s)
{
    unsigned shift = level * WHEEL_SLOT_BITS;
    uint64_t above = 0;

    if (level + 1 < WHEEL_LEVELS)
        above = clock >> (shift + WHEEL_SLOT_BITS) << (shift + WHEEL_SLOT_BITS);
    return above | (uint64_t)s << shift;
}

static void slot_mark(struct timer_wheel *w, unsigned level, unsigned s)
{
    w->occupied[level][s / 64] |= UINT64_C(1) << (s % 64);
    w->busy_levels |= 1u << level;
}

static void slot_unmark(struct timer_wheel *w, unsigned level, unsigned s)
{
    const uint64_t *bits = w->occupied[level];

    w->occupied[level][s / 64] &= ~(UINT64_C(1) << (s % 64));
    if ((bits[0] | bits[1] | bits[2] | bits[3]) == 0)
        w->busy_levels &= ~(1u << level);
}

/* The lowest occupied slot of a level known to be busy. */
static unsigned first_slot(const struct timer_wheel *w, unsigned level)
{
    const uint64_t *bits = w->occupied[level];
    unsigned i = 0;

    while (bits[i] == 0)
        i++;
    return i * 64 + lowest_bit(bits[i]);
}

/* Files t by its deadline relative to the clock: the due list, or the level
 * of the highest byte where deadline and clock differ. */
static void place(struct timer_wheel *w, struct timer *t)
{
    uint64_t diff = t->deadline ^ w->clock;
    unsigned level, s;

    if (t->deadline <= w->clock) {
        t->level = LEVEL_DUE;
        list_append(&w->due, t);
        return;
    }
    level = (63u - (unsigned)__builtin_clzll(diff)) / WHEEL_SLOT_BITS;
    s = slot_index(t->deadline, level);
    t->level = (uint8_t)level;
    list_append(&w->slot[level][s], t);
    slot_mark(w, level, s);
}

/* With the clock at the start of slot s, each of its timers shares byte
 * `level` with the clock and so files itself lower down, never back here. */
static void refile_slot(struct timer_wheel *w, unsigned level, unsigned s)
{
    struct timer *head = &w->slot[level][s];

    while (!list_empty(head)) {
        struct timer *t = head->next;
        list_unlink(t);
        place(w, t);
    }
    slot_unmark(w, level, s);
}

/* Moves the clock to the earliest event if it is at or before now, and
 * refiles the slot found there one level down (or onto the due list).
 * Returns false when no event is due by now. */
static bool advance_one(struct timer_wheel *w, uint64_t now)
{
    unsigned level, s;
    uint64_t start;

    if (w->busy_levels == 0)
        return false;
    level = lowest_bit(w->busy_levels);
    s = first_slot(w, level);
    start = slot_start(w->clock, level, s);
    if (start > now)
        return false;
    assert(start > w->clock);
    w->clock = start;
    refile_slot(w, level, s);
    return true;
}

struct timer_wheel *tt_timer_wheel_new(uint64_t now)
{
    struct timer_wheel *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    w->clock = w->last_now = now;
    list_init(&w->due);
    for (unsigned level = 0; level < WHEEL_LEVELS; level++) {
        for (unsigned s = 0; s < WHEEL_SLOTS; s++)
            list_init(&w->slot[level][s]);
    }
    return w;
}

/* Disarms whatever is left, so that no owner keeps links into freed memory. */
static void disarm_all(struct timer *head)
{
    while (!list_empty(head))
        list_unlink(head->next);
}

void tt_timer_wheel_free(struct timer_wheel *w)
{
    if (w == NULL)
        return;
    disarm_all(&w->due);
    while (w->busy_levels != 0) {
        unsigned level = lowest_bit(w->busy_levels);
        unsigned s = first_slot(w, level);
        disarm_all(&w->slot[level][s]);
        slot_unmark(w, level, s);
    }
    free(w);
}

void tt_timer_arm(struct timer_wheel *w, struct timer *t, uint64_t deadline)
{
    tt_timer_cancel(w, t);
    if (deadline == TIMER_NEVER)
        return;
    t->deadline = deadline;
    place(w, t);
    w->count++;
}

void tt_timer_cancel(struct timer_wheel *w, struct timer *t)
{
    unsigned level = t->level;

    if (!tt_timer_armed(t))
        return;
    w->count--;
    if (list_unlink(t) && level != LEVEL_DUE)
        slot_unmark(w, level, slot_index(t->deadline, level));
}

uint64_t tt_timer_wheel_next(struct timer_wheel *w)
{
    unsigned level;

    if (!list_empty(&w->due))
        return w->due.deadline; /* overdue: at or before the clock */
    if (w->busy_levels == 0)
        return TIMER_NEVER;
    level = lowest_bit(w->busy_levels);
    return w->slot[level][first_slot(w, level)].deadline;
}

struct timer *tt_timer_wheel_expire(struct timer_wheel *w, uint64_t now)
{
    struct timer *t;

    assert(now >= w->last_now);
    w->last_now = now;
    while (list_empty(&w->due)) {
        if (!advance_one(w, now)) {
            /* No slot starts by now, so every timer keeps its place; a
             * clock at now files later arms as low as they can go. */
            w->clock = now;
            return NULL;
        }
    }
    t = w->due.next;
    list_unlink(t);
    w->count--;
    return t;
}

size_t tt_timer_wheel_count(const struct timer_wheel *w)
{
    return w->count;
}
