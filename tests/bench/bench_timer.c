/*
 * Benchmark of stack/engine/timer.c: nanoseconds per arm, re-arm, cancel and expiry
 * at 1k, 100k and 1M armed timers with deadlines spread from 1 ms to 120 s
 * (the RTO range), and the same for a FIN_WAIT_2-like spread of hours.
 * Reports figures only; not a pass/fail test and not part of ctest.
 *
 *   gcc -std=c11 -O2 -DNDEBUG -D_POSIX_C_SOURCE=200809L -Istack -Iinclude \
 *       tests/bench/bench_timer.c stack/engine/timer.c -o bench_timer
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "timer.h"

#define MS UINT64_C(1000)

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Arms all n timers, re-arms each once (a moved RTO), cancels half, then
 * follows tt_timer_wheel_next() until the wheel is empty. */
static void bench(size_t n, uint64_t spread, const char *label)
{
    struct timer *t = calloc(n, sizeof(*t));
    struct timer_wheel *w = tt_timer_wheel_new(0);
    uint64_t rng = 42, now = 0;
    size_t fired = 0, calls = 0;
    double t0, t1, t2, t3, t4;

    if (t == NULL || w == NULL)
        exit(1);
    for (size_t i = 0; i < n; i++)
        timer_init(&t[i], 0);
    t0 = wall_ns();
    for (size_t i = 0; i < n; i++)
        tt_timer_arm(w, &t[i], MS + rng_next(&rng) % spread);
    t1 = wall_ns();
    for (size_t i = 0; i < n; i++)
        tt_timer_arm(w, &t[i], MS + rng_next(&rng) % spread);
    t2 = wall_ns();
    for (size_t i = 0; i < n; i += 2)
        tt_timer_cancel(w, &t[i]);
    t3 = wall_ns();
    for (uint64_t next; (next = tt_timer_wheel_next(w)) != TIMER_NEVER; calls++) {
        now = next > now ? next : now;
        while (tt_timer_wheel_expire(w, now) != NULL)
            fired++;
    }
    t4 = wall_ns();
    printf("%-8s %8zu timers: arm %6.1f  re-arm %6.1f  cancel %6.1f  expire %6.1f ns"
           "  (%.2f next() calls per timer)\n",
           label, n, (t1 - t0) / (double)n, (t2 - t1) / (double)n, (t3 - t2) / (double)(n / 2),
           (t4 - t3) / (double)fired, (double)calls / (double)fired);
    tt_timer_wheel_free(w);
    free(t);
}

int main(void)
{
    static const size_t sizes[] = {1000, 100000, 1000000};

    for (size_t i = 0; i < 3; i++)
        bench(sizes[i], 120000 * MS, "rto");
    for (size_t i = 0; i < 3; i++)
        bench(sizes[i], 4 * 3600000 * MS, "hours");
    return 0;
}
