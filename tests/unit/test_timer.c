/*
 * Unit tests for stack/engine/timer.c. Each test is named after the rule it checks.
 * The randomised tests run the wheel beside a reference model (a sorted array
 * of the armed deadlines) with a fixed-seed PRNG, and after every expiry
 * compare the timers the wheel returned with the model's prefix of deadlines
 * <= now: that says at once "never early", "never missed" and "exactly once".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "timer.h"

#define US UINT64_C(1)
#define MS (1000 * US)
#define SEC (1000 * MS)
#define DAY (86400 * SEC)

/* ---- a fixed-seed PRNG (splitmix64), so every run is the same ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

/* A delay from 1 µs to about 25 days, spread evenly over magnitudes; one time
 * in eight it lands on, or 1 µs either side of, a wheel level boundary
 * (a multiple of 256^k), where cascades and carries happen. */
static uint64_t random_delay(uint64_t *s, uint64_t now)
{
    unsigned bits = (unsigned)rng_below(s, 42);
    uint64_t delay = (rng_next(s) & ((UINT64_C(1) << bits) - 1)) + 1;

    if (rng_below(s, 8) == 0) {
        unsigned k = 1 + (unsigned)rng_below(s, 5);
        uint64_t unit = UINT64_C(1) << (8 * k);
        uint64_t edge = (now / unit + 1 + rng_below(s, 3)) * unit - 1 + rng_below(s, 3);
        delay = edge > now ? edge - now : 1;
    }
    return delay;
}

/* ---- the reference model ---- */

struct entry {
    uint64_t deadline;
    size_t idx;
};

struct model {
    struct timer_wheel *w;
    struct timer *timers;
    uint64_t *armed_at; /* TIMER_NEVER when not armed */
    size_t n;
    struct entry *ref_base; /* n entries, of which ref[0..ref_len) are used */
    struct entry *ref;      /* armed timers, sorted by (deadline, idx) */
    size_t ref_len;
    struct entry *fired; /* what the last drain returned, sorted */
    size_t fired_len;
    uint64_t now;
    uint64_t rng;
    bool ordered;           /* no arm in the past: firing order must be sorted */
    uint64_t last_deadline; /* of the last timer fired, when ordered */
};

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->deadline != y->deadline)
        return x->deadline < y->deadline ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static struct model *model_new(size_t n, uint64_t now, uint64_t seed)
{
    struct model *m = calloc(1, sizeof(*m));

    assert_non_null(m);
    m->w = tt_timer_wheel_new(now);
    m->timers = calloc(n, sizeof(*m->timers));
    m->armed_at = calloc(n, sizeof(*m->armed_at));
    m->ref = m->ref_base = calloc(n, sizeof(*m->ref));
    m->fired = calloc(n, sizeof(*m->fired));
    assert_true(m->w && m->timers && m->armed_at && m->ref && m->fired);
    for (size_t i = 0; i < n; i++) {
        timer_init(&m->timers[i], (uint8_t)i);
        m->armed_at[i] = TIMER_NEVER;
    }
    m->n = n;
    m->now = now;
    m->rng = seed;
    m->ordered = true;
    return m;
}

static void model_free(struct model *m)
{
    tt_timer_wheel_free(m->w);
    free(m->timers);
    free(m->armed_at);
    free(m->ref_base);
    free(m->fired);
    free(m);
}

/* Where (deadline, idx) is, or would go, in the sorted reference. */
static size_t ref_position(const struct model *m, struct entry e)
{
    size_t lo = 0, hi = m->ref_len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entry_cmp(&m->ref[mid], &e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void ref_remove(struct model *m, size_t idx)
{
    struct entry e = {m->armed_at[idx], idx};
    size_t at = ref_position(m, e);

    assert_true(at < m->ref_len && m->ref[at].idx == idx);
    memmove(&m->ref[at], &m->ref[at + 1], (m->ref_len - at - 1) * sizeof(e));
    m->ref_len--;
    m->armed_at[idx] = TIMER_NEVER;
}

static void ref_insert(struct model *m, size_t idx, uint64_t deadline)
{
    struct entry e = {deadline, idx};
    size_t at = ref_position(m, e);

    if (m->ref + m->ref_len == m->ref_base + m->n) { /* no room at the end */
        memmove(m->ref_base, m->ref, m->ref_len * sizeof(e));
        m->ref = m->ref_base;
    }
    memmove(&m->ref[at + 1], &m->ref[at], (m->ref_len - at) * sizeof(e));
    m->ref[at] = e;
    m->ref_len++;
    m->armed_at[idx] = deadline;
}

static void model_arm(struct model *m, size_t idx, uint64_t deadline)
{
    if (m->armed_at[idx] != TIMER_NEVER)
        ref_remove(m, idx);
    tt_timer_arm(m->w, &m->timers[idx], deadline);
    if (deadline != TIMER_NEVER)
        ref_insert(m, idx, deadline);
    assert_int_equal(tt_timer_wheel_count(m->w), m->ref_len);
}

static void model_cancel(struct model *m, size_t idx)
{
    if (m->armed_at[idx] != TIMER_NEVER)
        ref_remove(m, idx);
    tt_timer_cancel(m->w, &m->timers[idx]);
    assert_false(tt_timer_armed(&m->timers[idx]));
    assert_int_equal(tt_timer_wheel_count(m->w), m->ref_len);
}

/* One fired timer: armed, due, and (when ordered) not before the last one. */
static void check_fired(struct model *m, struct timer *t)
{
    size_t idx = (size_t)(t - m->timers);

    assert_true(t >= m->timers && idx < m->n);
    assert_false(tt_timer_armed(t));
    assert_true(m->armed_at[idx] != TIMER_NEVER); /* fires once per arm */
    assert_true(m->armed_at[idx] <= m->now);      /* never early */
    assert_true(t->deadline == m->armed_at[idx]);
    if (m->ordered) {
        assert_true(t->deadline >= m->last_deadline);
        m->last_deadline = t->deadline;
    }
    m->fired[m->fired_len++] = (struct entry){m->armed_at[idx], idx};
}

/* Expires everything due at now and checks it is exactly the model's prefix
 * of deadlines <= now (never missed). Returns how many fired. */
static size_t model_drain(struct model *m, uint64_t now)
{
    struct timer *t;

    assert_true(now >= m->now);
    m->now = now;
    m->fired_len = 0;
    while ((t = tt_timer_wheel_expire(m->w, now)) != NULL)
        check_fired(m, t);
    qsort(m->fired, m->fired_len, sizeof(*m->fired), entry_cmp);
    assert_true(m->fired_len <= m->ref_len);
    assert_memory_equal(m->fired, m->ref, m->fired_len * sizeof(*m->fired));
    assert_true(m->fired_len == m->ref_len || m->ref[m->fired_len].deadline > now);
    m->ref += m->fired_len; /* drop the prefix; ref_insert() compacts when needed */
    m->ref_len -= m->fired_len;
    for (size_t i = 0; i < m->fired_len; i++)
        m->armed_at[m->fired[i].idx] = TIMER_NEVER;
    assert_int_equal(tt_timer_wheel_count(m->w), m->ref_len);
    return m->fired_len;
}

/* tt_timer_wheel_next() never later than the earliest deadline; TIMER_NEVER
 * exactly when nothing is armed. */
static uint64_t checked_next(const struct model *m)
{
    uint64_t next = tt_timer_wheel_next(m->w);

    if (m->ref_len == 0)
        assert_true(next == TIMER_NEVER);
    else
        assert_true(next <= m->ref[0].deadline);
    return next;
}

/* Follows tt_timer_wheel_next() until something fires; returns the calls made.
 * The wheel's bound is 2 calls (1 with no stale bound): a busy loop fails
 * here instead of hanging. */
static unsigned follow_next_to_fire(struct model *m)
{
    unsigned calls = 0;

    while (m->ref_len > 0) {
        uint64_t next = checked_next(m);
        assert_in_range(++calls, 1, 2);
        if (model_drain(m, next > m->now ? next : m->now) > 0)
            break;
    }
    return calls;
}

/* After a fire reached by following next() with no cancel: one call, and the
 * clock stood exactly on the deadline. */
static void assert_exact_fire(const struct model *m, unsigned calls)
{
    assert_int_equal(calls, 1);
    for (size_t i = 0; i < m->fired_len; i++)
        assert_true(m->fired[i].deadline == m->now);
}

/* ---- deadlines: both sides ---- */

static void check_one_deadline(uint64_t start, uint64_t delay)
{
    struct timer_wheel *w = tt_timer_wheel_new(start);
    struct timer t;
    uint64_t deadline = start + delay;

    assert_non_null(w);
    timer_init(&t, 1);
    tt_timer_arm(w, &t, deadline);
    assert_true(tt_timer_armed(&t));
    assert_true(tt_timer_wheel_next(w) <= deadline);
    assert_null(tt_timer_wheel_expire(w, deadline - 1));
    assert_true(tt_timer_armed(&t));
    assert_ptr_equal(tt_timer_wheel_expire(w, deadline), &t);
    assert_false(tt_timer_armed(&t));
    assert_null(tt_timer_wheel_expire(w, deadline));
    assert_int_equal(tt_timer_wheel_count(w), 0);
    tt_timer_wheel_free(w);
}

static void timer_fires_at_deadline_not_one_us_before(void **state)
{
    /* clang-format off */
    static const uint64_t delays[] = {
        1, 2, 255, 256, 257, 65535, 65536, 65537, 40 * MS, 200 * MS, SEC,
        60 * SEC, 120 * SEC, 3600 * SEC, 3 * DAY, 400 * DAY,
        UINT64_C(1) << 24, (UINT64_C(1) << 32) - 1, UINT64_C(1) << 40, UINT64_C(1) << 56,
    };
    /* clang-format on */
    static const uint64_t starts[] = {0, 1, 255, 123456789, (UINT64_C(1) << 32) - 7};

    (void)state;
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
        for (size_t j = 0; j < sizeof(delays) / sizeof(delays[0]); j++)
            check_one_deadline(starts[i], delays[j]);
    }
}

static void timer_fires_at_never_minus_one(void **state)
{
    (void)state;
    check_one_deadline(0, TIMER_NEVER - 1);
    check_one_deadline(12345, TIMER_NEVER - 1 - 12345);
    check_one_deadline(TIMER_NEVER - 300, 299);
    check_one_deadline(TIMER_NEVER - 2, 1);
}

static void timer_expire_at_never_fires_the_last_deadline(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(5);
    struct timer t;

    (void)state;
    timer_init(&t, 0);
    tt_timer_arm(w, &t, TIMER_NEVER - 1);
    assert_true(tt_timer_wheel_next(w) == TIMER_NEVER - 1);
    assert_ptr_equal(tt_timer_wheel_expire(w, TIMER_NEVER), &t);
    assert_null(tt_timer_wheel_expire(w, TIMER_NEVER));
    assert_true(tt_timer_wheel_next(w) == TIMER_NEVER);
    tt_timer_wheel_free(w);
}

/* ---- next() ---- */

static void timer_next_is_never_when_empty(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(1000);
    struct timer t;

    (void)state;
    assert_true(tt_timer_wheel_next(w) == TIMER_NEVER);
    assert_null(tt_timer_wheel_expire(w, 5000));
    timer_init(&t, 0);
    tt_timer_arm(w, &t, 6000);
    tt_timer_cancel(w, &t);
    assert_true(tt_timer_wheel_next(w) == TIMER_NEVER);
    tt_timer_wheel_free(w);
}

/* Without cancels the bound kept per slot is exact at every level. */
static void timer_next_is_exact_earliest_deadline_at_every_level(void **state)
{
    static const uint64_t delays[] = {3, 300, 70 * MS, 20 * SEC, 2 * 3600 * SEC, 30 * DAY};
    struct timer_wheel *w = tt_timer_wheel_new(777);
    struct timer t[6];

    (void)state;
    for (size_t i = 6; i-- > 0;) {
        timer_init(&t[i], (uint8_t)i);
        tt_timer_arm(w, &t[i], 777 + delays[i]);
        assert_true(tt_timer_wheel_next(w) == 777 + delays[i]);
    }
    for (size_t i = 0; i < 6; i++) {
        uint64_t deadline = 777 + delays[i];
        assert_true(tt_timer_wheel_next(w) == deadline);
        assert_null(tt_timer_wheel_expire(w, deadline - 1));
        assert_true(tt_timer_wheel_next(w) == deadline);
        assert_ptr_equal(tt_timer_wheel_expire(w, deadline), &t[i]);
        assert_null(tt_timer_wheel_expire(w, deadline));
    }
    tt_timer_wheel_free(w);
}

/* A cancel may leave the slot's bound too low: next() is then early, once,
 * and the wheel still moves on (the next call is exact). */
static void timer_next_after_cancel_is_early_at_most_once(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(0);
    struct timer a, b;

    (void)state;
    timer_init(&a, 0);
    timer_init(&b, 1);
    tt_timer_arm(w, &a, 100000); /* same level-2 slot: [65536, 131072) */
    tt_timer_arm(w, &b, 100100);
    tt_timer_cancel(w, &a);
    assert_true(tt_timer_wheel_next(w) == 100000);
    assert_null(tt_timer_wheel_expire(w, 100000));
    assert_true(tt_timer_wheel_next(w) == 100100);
    assert_ptr_equal(tt_timer_wheel_expire(w, 100100), &b);
    assert_true(tt_timer_wheel_next(w) == TIMER_NEVER);
    tt_timer_wheel_free(w);
}

/* Following next() alone reaches every deadline exactly, one call each. */
static void timer_following_next_fires_each_deadline_exactly(void **state)
{
    struct model *m = model_new(3000, 4242, 1);

    (void)state;
    for (size_t i = 0; i < m->n; i++)
        model_arm(m, i, m->now + random_delay(&m->rng, m->now));
    while (m->ref_len > 0)
        assert_exact_fire(m, follow_next_to_fire(m));
    assert_true(tt_timer_wheel_next(m->w) == TIMER_NEVER);
    model_free(m);
}

/* Short timers only (all within level 0 and 1 of the clock): exact too. */
static void timer_following_next_is_exact_for_short_timers(void **state)
{
    struct model *m = model_new(500, 1000, 2);

    (void)state;
    for (size_t i = 0; i < m->n; i++)
        model_arm(m, i, m->now + 1 + rng_below(&m->rng, 255));
    while (m->ref_len > 0)
        assert_exact_fire(m, follow_next_to_fire(m));
    model_free(m);
}

/* ---- randomised against the reference ---- */

/* Between fires, arms (moving armed timers too) and cancels at random; then
 * following next() reaches the earliest deadline in at most 2 calls. */
static void timer_random_ops_following_next_match_reference(void **state)
{
    struct model *m = model_new(2000, 99, 3);

    (void)state;
    for (unsigned round = 0; round < 20000; round++) {
        size_t idx = (size_t)rng_below(&m->rng, m->n);
        if (rng_below(&m->rng, 4) == 0)
            model_cancel(m, idx);
        else
            model_arm(m, idx, m->now + random_delay(&m->rng, m->now));
        if (rng_below(&m->rng, 3) == 0)
            assert_true(follow_next_to_fire(m) <= 2);
    }
    while (m->ref_len > 0)
        assert_true(follow_next_to_fire(m) <= 2);
    model_free(m);
}

/* Random jumps of the clock, from 1 µs to days, with arms in the past too. */
static void timer_random_jumps_match_reference(void **state)
{
    struct model *m = model_new(2000, 5 * DAY + 17, 4);

    (void)state;
    m->ordered = false;
    for (unsigned round = 0; round < 20000; round++) {
        size_t idx = (size_t)rng_below(&m->rng, m->n);
        uint64_t roll = rng_below(&m->rng, 8);
        if (roll == 0)
            model_cancel(m, idx);
        else if (roll == 1)
            model_arm(m, idx, m->now - random_delay(&m->rng, m->now) % DAY);
        else
            model_arm(m, idx, m->now + random_delay(&m->rng, m->now));
        if (rng_below(&m->rng, 4) == 0)
            model_drain(m, m->now + random_delay(&m->rng, m->now) / (1 + rng_below(&m->rng, 1000)));
    }
    model_drain(m, TIMER_NEVER - 1);
    assert_int_equal(m->ref_len, 0);
    model_free(m);
}

/* Without arms in the past, timers come out in deadline order even when one
 * expiry call covers a long jump. */
static void timer_random_jumps_fire_in_deadline_order(void **state)
{
    struct model *m = model_new(3000, 0, 5);

    (void)state;
    for (unsigned round = 0; round < 20000; round++) {
        size_t idx = (size_t)rng_below(&m->rng, m->n);
        model_arm(m, idx, m->now + random_delay(&m->rng, m->now));
        if (rng_below(&m->rng, 5) == 0)
            model_drain(m, m->now + rng_below(&m->rng, UINT64_C(1) << rng_below(&m->rng, 40)));
    }
    model_drain(m, TIMER_NEVER);
    assert_int_equal(m->ref_len, 0);
    model_free(m);
}

/* ---- arm, re-arm, cancel ---- */

static void timer_rearm_moves_the_deadline(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(0);
    struct timer t;

    (void)state;
    timer_init(&t, 0);
    tt_timer_arm(w, &t, 100 * MS);
    tt_timer_arm(w, &t, 50 * MS); /* earlier */
    assert_int_equal(tt_timer_wheel_count(w), 1);
    assert_null(tt_timer_wheel_expire(w, 50 * MS - 1));
    assert_ptr_equal(tt_timer_wheel_expire(w, 50 * MS), &t);
    assert_null(tt_timer_wheel_expire(w, 100 * MS));
    tt_timer_arm(w, &t, 200 * MS);
    tt_timer_arm(w, &t, 300 * MS); /* later */
    assert_null(tt_timer_wheel_expire(w, 300 * MS - 1));
    assert_ptr_equal(tt_timer_wheel_expire(w, 300 * MS), &t);
    assert_null(tt_timer_wheel_expire(w, 10 * SEC));
    assert_int_equal(tt_timer_wheel_count(w), 0);
    tt_timer_wheel_free(w);
}

static void timer_cancel_of_armed_and_unarmed_timers(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(0);
    struct timer a, b;

    (void)state;
    timer_init(&a, 0);
    timer_init(&b, 1);
    tt_timer_cancel(w, &a); /* never armed: no effect */
    assert_false(tt_timer_armed(&a));
    tt_timer_arm(w, &a, 10);
    tt_timer_arm(w, &b, 10);
    tt_timer_cancel(w, &a);
    tt_timer_cancel(w, &a); /* twice: no effect */
    assert_false(tt_timer_armed(&a));
    assert_true(tt_timer_armed(&b));
    assert_int_equal(tt_timer_wheel_count(w), 1);
    assert_ptr_equal(tt_timer_wheel_expire(w, 10), &b);
    tt_timer_cancel(w, &b); /* already fired: no effect */
    assert_null(tt_timer_wheel_expire(w, 1000));
    assert_int_equal(tt_timer_wheel_count(w), 0);
    tt_timer_wheel_free(w);
}

static void timer_arm_in_the_past_fires_on_next_expire(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(0);
    struct timer t, u;

    (void)state;
    timer_init(&t, 0);
    timer_init(&u, 1);
    assert_null(tt_timer_wheel_expire(w, 10 * SEC)); /* the clock moves to 10 s */
    tt_timer_arm(w, &t, 3 * SEC);
    tt_timer_arm(w, &u, 0);
    assert_true(tt_timer_wheel_next(w) == 0);
    tt_timer_cancel(w, &u);
    assert_true(tt_timer_wheel_next(w) <= 3 * SEC);
    assert_ptr_equal(tt_timer_wheel_expire(w, 10 * SEC), &t);
    assert_null(tt_timer_wheel_expire(w, 10 * SEC));
    assert_true(tt_timer_wheel_next(w) == TIMER_NEVER);
    tt_timer_wheel_free(w);
}

/* An owner re-arms from inside the expiry loop: at now it fires in the same
 * loop, 1 µs later it does not. */
static void timer_arm_during_expiry_at_now_fires_in_same_loop(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(0);
    struct timer a, b, c;

    (void)state;
    timer_init(&a, 0);
    timer_init(&b, 1);
    timer_init(&c, 2);
    tt_timer_arm(w, &a, 100);
    tt_timer_arm(w, &b, 5000);
    assert_ptr_equal(tt_timer_wheel_expire(w, 9000), &a); /* the wheel stopped at 100 */
    tt_timer_arm(w, &a, 7000);                            /* between the wheel and now */
    tt_timer_arm(w, &c, 9001);
    assert_ptr_equal(tt_timer_wheel_expire(w, 9000), &b);
    assert_ptr_equal(tt_timer_wheel_expire(w, 9000), &a);
    assert_null(tt_timer_wheel_expire(w, 9000));
    assert_null(tt_timer_wheel_expire(w, 9000));
    assert_ptr_equal(tt_timer_wheel_expire(w, 9001), &c);
    tt_timer_wheel_free(w);
}

static void timer_arm_at_never_disarms(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(0);
    struct timer t;

    (void)state;
    timer_init(&t, 0);
    tt_timer_arm(w, &t, 500);
    tt_timer_arm(w, &t, TIMER_NEVER);
    assert_false(tt_timer_armed(&t));
    assert_int_equal(tt_timer_wheel_count(w), 0);
    assert_true(tt_timer_wheel_next(w) == TIMER_NEVER);
    assert_null(tt_timer_wheel_expire(w, TIMER_NEVER));
    tt_timer_wheel_free(w);
}

static void timer_same_deadline_all_fire_once(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(0);
    struct timer t[64];
    uint64_t seen = 0;

    (void)state;
    for (unsigned i = 0; i < 64; i++) {
        timer_init(&t[i], (uint8_t)i);
        tt_timer_arm(w, &t[i], 3 * SEC);
    }
    assert_null(tt_timer_wheel_expire(w, 3 * SEC - 1));
    for (unsigned i = 0; i < 64; i++) {
        struct timer *x = tt_timer_wheel_expire(w, 3 * SEC);
        assert_non_null(x);
        assert_true((seen & (UINT64_C(1) << x->kind)) == 0);
        seen |= UINT64_C(1) << x->kind;
    }
    assert_null(tt_timer_wheel_expire(w, 3 * SEC));
    assert_true(seen == UINT64_MAX);
    tt_timer_wheel_free(w);
}

/* ---- level boundaries, wrap, far future ---- */

/* Deadlines on and 1 µs around every multiple of 256^k near the clock, with
 * the clock itself just below, on and just above such a boundary. */
static void timer_level_boundaries_fire_exactly(void **state)
{
    static const int64_t around[] = {-1, 0, 1};
    struct model *m;
    size_t i = 0;

    (void)state;
    for (unsigned c = 0; c < 3; c++) {
        m = model_new(7 * 3 * 2, (UINT64_C(1) << 24) + (uint64_t)around[c], 6);
        i = 0;
        for (unsigned k = 1; k <= 7; k++) {
            uint64_t unit = UINT64_C(1) << (8 * k);
            uint64_t edge = (m->now / unit + 1) * unit;
            for (unsigned j = 0; j < 3; j++) {
                model_arm(m, i++, edge + (uint64_t)around[j]);
                model_arm(m, i++, edge + unit + (uint64_t)around[j]);
            }
        }
        while (m->ref_len > 0)
            assert_exact_fire(m, follow_next_to_fire(m));
        model_free(m);
    }
}

/* The clock crosses a high boundary (2^32 µs) with timers on both sides:
 * every level's slots are reused for the next block. */
static void timer_wheel_wrap_across_high_boundary(void **state)
{
    uint64_t edge = UINT64_C(1) << 32;
    struct model *m = model_new(1000, edge - 300 * MS, 7);

    (void)state;
    for (unsigned round = 0; round < 5; round++) {
        for (size_t i = 0; i < m->n; i++)
            model_arm(m, i, m->now + 1 + rng_below(&m->rng, 600 * MS));
        while (m->ref_len > 0)
            assert_exact_fire(m, follow_next_to_fire(m));
        edge += UINT64_C(1) << 32;
        model_drain(m, edge - 300 * MS);
    }
    model_free(m);
}

/* A FIN_WAIT_2 timeout of hours and timers days away, next to short ones. */
static void timer_far_future_days_fire_exactly(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(42);
    struct timer t[4];
    const uint64_t at[] = {42 + 3 * 3600 * SEC, 42 + 2 * DAY, 42 + 40 * DAY, 42 + 3650 * DAY};

    (void)state;
    for (unsigned i = 0; i < 4; i++) {
        timer_init(&t[i], (uint8_t)i);
        tt_timer_arm(w, &t[i], at[i]);
    }
    for (unsigned i = 0; i < 4; i++) {
        assert_true(tt_timer_wheel_next(w) == at[i]);
        assert_null(tt_timer_wheel_expire(w, at[i] - 1));
        assert_ptr_equal(tt_timer_wheel_expire(w, at[i]), &t[i]);
        assert_null(tt_timer_wheel_expire(w, at[i]));
    }
    tt_timer_wheel_free(w);
}

/* A wheel created near the end of time still works up to TIMER_NEVER - 1. */
static void timer_wheel_near_end_of_time(void **state)
{
    struct model *m = model_new(500, TIMER_NEVER - 3 * SEC, 8);

    (void)state;
    for (size_t i = 0; i < m->n; i++)
        model_arm(m, i, TIMER_NEVER - 1 - rng_below(&m->rng, 3 * SEC - 1));
    while (m->ref_len > 0)
        assert_true(follow_next_to_fire(m) <= 2);
    model_free(m);
}

/* ---- scale and count ---- */

static void timer_100k_timers_fire_once_in_order(void **state)
{
    struct model *m = model_new(100000, 1000, 9);

    (void)state;
    for (size_t i = 0; i < m->n; i++) { /* bulk: sort the reference once */
        uint64_t deadline = m->now + random_delay(&m->rng, m->now);
        tt_timer_arm(m->w, &m->timers[i], deadline);
        m->armed_at[i] = deadline;
        m->ref[m->ref_len++] = (struct entry){deadline, i};
    }
    qsort(m->ref, m->ref_len, sizeof(*m->ref), entry_cmp);
    assert_int_equal(tt_timer_wheel_count(m->w), 100000);
    while (m->ref_len > 0)
        assert_exact_fire(m, follow_next_to_fire(m));
    assert_int_equal(tt_timer_wheel_count(m->w), 0);
    model_free(m);
}

static void timer_count_tracks_arm_cancel_expire(void **state)
{
    struct timer_wheel *w = tt_timer_wheel_new(0);
    struct timer t[3];

    (void)state;
    for (unsigned i = 0; i < 3; i++)
        timer_init(&t[i], (uint8_t)i);
    assert_int_equal(tt_timer_wheel_count(w), 0);
    tt_timer_arm(w, &t[0], 10);
    tt_timer_arm(w, &t[1], 20 * SEC);
    tt_timer_arm(w, &t[2], 5 * DAY);
    tt_timer_arm(w, &t[2], 6 * DAY); /* a move is not a new timer */
    assert_int_equal(tt_timer_wheel_count(w), 3);
    tt_timer_cancel(w, &t[1]);
    assert_int_equal(tt_timer_wheel_count(w), 2);
    assert_non_null(tt_timer_wheel_expire(w, 10));
    assert_int_equal(tt_timer_wheel_count(w), 1);
    tt_timer_wheel_free(w); /* frees with t[2] armed: t[2] is left disarmed */
    assert_false(tt_timer_armed(&t[2]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timer_fires_at_deadline_not_one_us_before),
        cmocka_unit_test(timer_fires_at_never_minus_one),
        cmocka_unit_test(timer_expire_at_never_fires_the_last_deadline),
        cmocka_unit_test(timer_next_is_never_when_empty),
        cmocka_unit_test(timer_next_is_exact_earliest_deadline_at_every_level),
        cmocka_unit_test(timer_next_after_cancel_is_early_at_most_once),
        cmocka_unit_test(timer_following_next_fires_each_deadline_exactly),
        cmocka_unit_test(timer_following_next_is_exact_for_short_timers),
        cmocka_unit_test(timer_random_ops_following_next_match_reference),
        cmocka_unit_test(timer_random_jumps_match_reference),
        cmocka_unit_test(timer_random_jumps_fire_in_deadline_order),
        cmocka_unit_test(timer_rearm_moves_the_deadline),
        cmocka_unit_test(timer_cancel_of_armed_and_unarmed_timers),
        cmocka_unit_test(timer_arm_in_the_past_fires_on_next_expire),
        cmocka_unit_test(timer_arm_during_expiry_at_now_fires_in_same_loop),
        cmocka_unit_test(timer_arm_at_never_disarms),
        cmocka_unit_test(timer_same_deadline_all_fire_once),
        cmocka_unit_test(timer_level_boundaries_fire_exactly),
        cmocka_unit_test(timer_wheel_wrap_across_high_boundary),
        cmocka_unit_test(timer_far_future_days_fire_exactly),
        cmocka_unit_test(timer_wheel_near_end_of_time),
        cmocka_unit_test(timer_100k_timers_fire_once_in_order),
        cmocka_unit_test(timer_count_tracks_arm_cancel_expire),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
