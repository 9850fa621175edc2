/*
 * The send/receive byte ring (stack/engine/ring.c): lazy allocation, growth by
 * doubling up to the capacity, wrap-around, and contents that survive a
 * growth, checked against a plain reference buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ring.h"

static void idle_ring_allocates_nothing(void **state)
{
    (void)state;
    struct ring r;
    tt_ring_init(&r, 1 << 20);
    assert_null(r.buf);
    assert_int_equal(ring_space(&r), 1 << 20);
    const uint8_t *p;
    assert_int_equal(tt_ring_head_span(&r, &p), 0);
    tt_ring_consume(&r, 0);
    tt_ring_free(&r);
}

static void small_write_allocates_little(void **state)
{
    (void)state;
    struct ring r;
    tt_ring_init(&r, 1 << 20);
    assert_int_equal(tt_ring_write(&r, (const uint8_t *)"hello", 5), 5);
    assert_true(r.alloc <= 4096);
    uint8_t out[5];
    tt_ring_peek(&r, 0, out, 5);
    assert_memory_equal(out, "hello", 5);
    tt_ring_free(&r);
}

static void write_stops_at_capacity(void **state)
{
    (void)state;
    struct ring r;
    uint8_t big[10000];
    memset(big, 7, sizeof(big));
    tt_ring_init(&r, 6000);
    assert_int_equal(tt_ring_write(&r, big, sizeof(big)), 6000);
    assert_int_equal(ring_space(&r), 0);
    assert_int_equal(tt_ring_write(&r, big, 1), 0);
    assert_int_equal(r.alloc, 6000);
    tt_ring_free(&r);
}

/* Random writes, peeks and consumes, with growth while the contents wrap:
 * the ring always holds exactly what the reference holds. */
/* tt_ring_at(): bytes where they lie when they do not wrap (the sender
 * builds segments from them without a copy), NULL when they wrap. */
static void at_points_into_storage_unless_wrapped(void **state)
{
    (void)state;
    struct ring r;
    tt_ring_init(&r, 1 << 20);
    assert_null(tt_ring_at(&r, 0, 1));
    uint8_t in[RING_MIN_ALLOC];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)i;
    assert_int_equal(tt_ring_write(&r, in, sizeof in), sizeof in);
    assert_int_equal(r.alloc, RING_MIN_ALLOC);
    tt_ring_consume(&r, 100);
    assert_int_equal(tt_ring_write(&r, in, 50), 50); /* wraps: 50 at the start */
    const uint8_t *p = tt_ring_at(&r, 10, 20);
    assert_ptr_equal(p, r.buf + 110);
    assert_memory_equal(p, in + 110, 20);
    assert_non_null(tt_ring_at(&r, 0, RING_MIN_ALLOC - 100)); /* up to the end */
    assert_null(tt_ring_at(&r, 0, RING_MIN_ALLOC - 99));      /* one byte past */
    p = tt_ring_at(&r, RING_MIN_ALLOC - 100, 50);             /* the wrapped part */
    assert_ptr_equal(p, r.buf);
    assert_memory_equal(p, in, 50);
    assert_null(tt_ring_at(&r, 0, 0));
    tt_ring_free(&r);
}

static void matches_reference_through_wrap_and_growth(void **state)
{
    (void)state;
    static uint8_t ref[1 << 16];
    uint8_t buf[3000], out[3000];
    size_t rlen = 0;
    uint32_t x = 12345, next = 0;
    struct ring r;
    tt_ring_init(&r, 1 << 16);
    for (int step = 0; step < 20000; step++) {
        x = x * 1103515245u + 12345u;
        uint32_t n = (x >> 8) % sizeof(buf);
        if ((x >> 4) & 1) {
            for (uint32_t i = 0; i < n; i++)
                buf[i] = (uint8_t)(next + i);
            uint32_t w = tt_ring_write(&r, buf, n);
            memcpy(ref + rlen, buf, w);
            rlen += w;
            next += w;
        } else {
            n = n < rlen ? n : (uint32_t)rlen;
            uint32_t off = n ? (x >> 20) % n : 0;
            tt_ring_peek(&r, off, out, n - off);
            assert_memory_equal(out, ref + off, n - off);
            tt_ring_consume(&r, n);
            memmove(ref, ref + n, rlen - n);
            rlen -= n;
        }
        assert_int_equal(r.len, rlen);
    }
    tt_ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_ring_allocates_nothing),
        cmocka_unit_test(small_write_allocates_little),
        cmocka_unit_test(write_stops_at_capacity),
        cmocka_unit_test(matches_reference_through_wrap_and_growth),
        cmocka_unit_test(at_points_into_storage_unless_wrapped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
