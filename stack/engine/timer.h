/*
 * The engine's timers: one structure for every connection timer (RTO,
 * delayed ACK, persist, FIN_WAIT_2, linger). A hashed hierarchical timing
 * wheel: arm, cancel and expiry are O(1) (amortised); deadlines are absolute
 * microseconds and exact: a timer is returned by tt_timer_wheel_expire() only
 * once now >= its deadline, and as soon as that is so.
 *
 * The structure is intrusive: the caller embeds `struct timer` in its own
 * object and recovers the object from the pointer (container_of). Nothing is
 * allocated per timer.
 */
#ifndef TT_TIMER_H
#define TT_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMER_NEVER UINT64_MAX

struct timer {
    uint64_t deadline;         /* absolute µs; meaningful while armed */
    struct timer *next, *prev; /* links in a wheel slot; NULL when not armed */
    uint8_t kind;              /* the owner's tag: which timer of the object */
    uint8_t level;             /* internal */
};

struct timer_wheel; /* defined in timer.c */

/* Allocates a wheel whose clock starts at now. NULL when out of memory. */
struct timer_wheel *tt_timer_wheel_new(uint64_t now);
/* Frees the wheel (not the timers in it, which belong to their owners). */
void tt_timer_wheel_free(struct timer_wheel *w);

static inline void timer_init(struct timer *t, uint8_t kind)
{
    t->deadline = TIMER_NEVER;
    t->next = t->prev = NULL;
    t->kind = kind;
    t->level = 0;
}

/* Arms t at deadline (absolute µs), moving it if it is already armed. A
 * deadline in the past fires at the next expiry call. */
void tt_timer_arm(struct timer_wheel *w, struct timer *t, uint64_t deadline);
/* Disarms t; no effect when it is not armed. */
void tt_timer_cancel(struct timer_wheel *w, struct timer *t);
/* Inline: asked several times per segment (arm, cancel, the RTO's rules). */
static inline bool tt_timer_armed(const struct timer *t)
{
    return t->next != NULL;
}

/*
 * A time no later than the earliest armed deadline, at which
 * tt_timer_wheel_expire() should be called next; TIMER_NEVER when nothing is
 * armed. It may be earlier than the earliest deadline (when the wheel has to
 * move timers between levels), never later. Cheap: no walk over all timers.
 */
uint64_t tt_timer_wheel_next(struct timer_wheel *w);

/*
 * Removes and returns one timer whose deadline is <= now (disarmed), or NULL
 * when none is due. Call repeatedly until NULL. Timers due at the same time
 * may come in any order. now never goes backwards.
 */
struct timer *tt_timer_wheel_expire(struct timer_wheel *w, uint64_t now);

/* Number of armed timers. */
size_t tt_timer_wheel_count(const struct timer_wheel *w);

#endif
