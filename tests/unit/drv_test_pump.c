/*
 * stack/driver/pump.c against a fake device: reads until EAGAIN, bounded
 * per wake-up; held output written in chunks between reads and once the
 * device is empty, but a small request's answer before the next read; EAGAIN on write keeps the
 * datagrams in order; a full ring counts a drop; the arena wraps without mixing bytes.
 *
 * The fake logs every call in order: 'r' a datagram read, 'e' a read that
 * found the device empty, 'w' a datagram written, 'a' a write refused
 * (EAGAIN), 's' a settle.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pump.h"

#define FAKE_MAX 1024

struct fake {
    struct pump p;
    uint16_t rxq[FAKE_MAX]; /* each datagram: 2 bytes, its number */
    size_t rx_head, rx_n;
    uint16_t out[FAKE_MAX]; /* the numbers written, in order */
    size_t nout;
    char log[4 * FAKE_MAX];
    size_t nlog;
    int read_err;    /* when set, the next read fails with it (then it clears) */
    int write_err;   /* every write fails with it while set */
    bool echo;       /* input sends each datagram below 1000 back */
    size_t echo_len; /* that many bytes (0: 2), its number first */
    bool reply;      /* each write puts datagram 1000 + n in the receive queue */
    uint16_t chain;  /* > 0: each write of n < chain queues request n + 1 instead */
    size_t rx_len;   /* each datagram read is this long (0: 2), its number first */
    int settle_pkt;  /* >= 0: settle pushes this datagram once */
    int want;        /* last want_writable: -1 never asked */
    struct drv_counters ctr;
};

static void fake_log(struct fake *f, char c)
{
    assert_true(f->nlog + 1 < sizeof(f->log));
    f->log[f->nlog++] = c;
    f->log[f->nlog] = '\0';
}

static void fake_queue(struct fake *f, uint16_t n)
{
    assert_true(f->rx_n < FAKE_MAX);
    f->rxq[(f->rx_head + f->rx_n++) % FAKE_MAX] = n;
}

static bool push_num(struct pump *p, uint16_t n)
{
    struct iovec iov = {&n, sizeof(n)};

    return tt_pump_pushv(p, &iov, 1, false);
}

static ssize_t fake_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct fake *f = ctx;

    if (f->read_err != 0) {
        int err = f->read_err;
        f->read_err = 0;
        return err;
    }
    if (f->rx_n == 0) {
        fake_log(f, 'e');
        return -EAGAIN;
    }
    size_t len = f->rx_len ? f->rx_len : 2;
    assert_true(cap >= len);
    memset(buf, 0, len);
    memcpy(buf, &f->rxq[f->rx_head], 2);
    f->rx_head = (f->rx_head + 1) % FAKE_MAX;
    f->rx_n--;
    fake_log(f, 'r');
    return (ssize_t)len;
}

static ssize_t fake_write(void *ctx, const uint8_t *pkt, size_t len)
{
    struct fake *f = ctx;
    uint16_t n;

    if (f->write_err != 0) {
        if (f->write_err == -EAGAIN)
            fake_log(f, 'a');
        return f->write_err;
    }
    assert_true(len >= 2);
    memcpy(&n, pkt, 2);
    f->out[f->nout++] = n;
    fake_log(f, 'w');
    if (f->chain > 0 && n < f->chain)
        fake_queue(f, (uint16_t)(n + 1));
    else if (f->reply)
        fake_queue(f, (uint16_t)(1000 + n));
    return (ssize_t)len;
}

static void fake_input(void *ctx, uint8_t *pkt, size_t len)
{
    struct fake *f = ctx;
    uint16_t n;

    assert_int_equal(len, f->rx_len ? f->rx_len : 2);
    memcpy(&n, pkt, 2);
    if (f->echo && n < 1000 && f->echo_len > 2) {
        static uint8_t big[PUMP_CHUNK_BYTES];
        struct iovec iov = {big, f->echo_len};
        memcpy(big, &n, 2);
        tt_pump_pushv(&f->p, &iov, 1, true);
    } else if (f->echo && n < 1000) {
        push_num(&f->p, n);
    }
}

static void fake_settle(void *ctx)
{
    struct fake *f = ctx;

    fake_log(f, 's');
    if (f->settle_pkt >= 0)
        push_num(&f->p, (uint16_t)f->settle_pkt);
    f->settle_pkt = -1;
}

static void fake_want_writable(void *ctx, bool on)
{
    ((struct fake *)ctx)->want = on;
}

static const struct pump_ops fake_ops = {fake_read, fake_write, fake_input, fake_settle,
                                         fake_want_writable};

static struct fake *fake_new(size_t slots, size_t arena, uint16_t queued)
{
    static struct fake f; /* one per test, reset here */

    memset(&f, 0, sizeof(f));
    f.settle_pkt = -1;
    f.want = -1;
    assert_int_equal(tt_pump_init(&f.p, &fake_ops, &f, &f.ctr, slots, arena, PUMP_EAGER_LEN + 64),
                     0);
    for (uint16_t i = 0; i < queued; i++)
        fake_queue(&f, i);
    return &f;
}

/* The log without the settles, which tests about reads and writes ignore. */
static const char *rw_log(struct fake *f)
{
    static char buf[sizeof(f->log)];
    size_t n = 0;

    for (size_t i = 0; i < f->nlog; i++)
        if (f->log[i] != 's')
            buf[n++] = f->log[i];
    buf[n] = '\0';
    return buf;
}

static void repeat(char *dst, char c, size_t n)
{
    size_t len = strlen(dst);

    memset(dst + len, c, n);
    dst[len + n] = '\0';
}

static void reads_until_the_device_is_empty_and_once_empty_stops(void **state)
{
    struct fake *f = fake_new(16, 1024, 10);

    assert_int_equal(tt_pump_readable(&f->p), 0);
    /* nothing to write: the first EAGAIN is believed */
    assert_string_equal(rw_log(f), "rrrrrrrrrre");
    assert_int_equal(f->ctr.tun_in, 10);
    tt_pump_free(&f->p);
}

static void a_wake_up_reads_at_most_the_budget(void **state)
{
    struct fake *f = fake_new(16, 1024, PUMP_READ_BUDGET + 44);

    assert_int_equal(tt_pump_readable(&f->p), 0);
    assert_int_equal(f->ctr.tun_in, PUMP_READ_BUDGET);
    assert_null(strchr(f->log, 'e')); /* the budget ended it, not the device */
    assert_int_equal(tt_pump_readable(&f->p), 0);
    assert_int_equal(f->ctr.tun_in, PUMP_READ_BUDGET + 44);
    assert_non_null(strchr(f->log, 'e'));
    tt_pump_free(&f->p);
}

/* A burst: after the first PUMP_EAGER answers, written at once, in chunks. */
static void output_is_written_in_chunks_between_reads(void **state)
{
    struct fake *f = fake_new(1024, 1 << 16, 100);
    char want[512] = "";

    f->echo = true;
    assert_int_equal(tt_pump_readable(&f->p), 0);
    for (int i = 0; i < PUMP_EAGER; i++)
        strcat(want, "rw");
    for (int i = 0; i < 2; i++) {
        repeat(want, 'r', PUMP_CHUNK);
        repeat(want, 'w', PUMP_CHUNK);
    }
    repeat(want, 'r', 100 - PUMP_EAGER - 2 * PUMP_CHUNK);
    strcat(want, "e");
    repeat(want, 'w', 100 - PUMP_EAGER - 2 * PUMP_CHUNK);
    strcat(want, "e"); /* after writing, the device is read again */
    assert_string_equal(rw_log(f), want);
    assert_int_equal(f->nout, 100);
    for (uint16_t i = 0; i < 100; i++)
        assert_int_equal(f->out[i], i);
    assert_int_equal(f->ctr.tun_out, 100);
    tt_pump_free(&f->p);
}

/* With offloads a datagram may be 64 KB: a chunk is also PUMP_CHUNK_BYTES. */
static void large_datagrams_make_smaller_chunks(void **state)
{
    struct fake *f = fake_new(16, 1 << 20, 4);

    f->echo = true;
    f->echo_len = PUMP_CHUNK_BYTES / 2 + 1;
    f->rx_len = PUMP_EAGER_LEN + 1; /* super-segments in, too: bulk, not requests */
    assert_int_equal(tt_pump_readable(&f->p), 0);
    assert_string_equal(rw_log(f), "rrwwrrwwe");
    assert_int_equal(f->ctr.tun_out_super, 4);
    tt_pump_free(&f->p);
}

/* A write may make the kernel answer at once: that answer is read in the same wake-up. */
static void what_a_write_causes_is_read_in_the_same_wake_up(void **state)
{
    struct fake *f = fake_new(16, 1024, 1);

    f->echo = true;
    f->reply = true;
    assert_int_equal(tt_pump_readable(&f->p), 0);
    assert_string_equal(rw_log(f), "rwre");
    assert_int_equal(f->ctr.tun_in, 2);
    tt_pump_free(&f->p);
}

static void settle_comes_before_the_last_writes(void **state)
{
    struct fake *f = fake_new(16, 1024, 2);

    f->echo = true;
    f->rx_len = PUMP_EAGER_LEN + 1;
    f->settle_pkt = 500;
    assert_int_equal(tt_pump_readable(&f->p), 0);
    assert_string_equal(f->log, "rreswwwes");
    assert_int_equal(f->out[2], 500);
    tt_pump_free(&f->p);
}

/*
 * Round trips: the load generator's next request comes only after our
 * answer (here, queued by the write). Each answer is written before the
 * next read, as the reflector does, instead of after a read that finds the
 * device empty: one read and one write per round trip. After PUMP_EAGER
 * such answers the pump reads on until the device is empty once (in case
 * this is a burst after all), then answers at once again.
 */
static void a_small_request_is_answered_before_the_next_read(void **state)
{
    struct fake *f = fake_new(16, 1024, 1);
    const uint16_t n = 2 * PUMP_EAGER + 8; /* requests 0 .. n - 1 */
    char want[512] = "";

    f->echo = true;
    f->chain = n - 1;
    assert_int_equal(tt_pump_readable(&f->p), 0);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < PUMP_EAGER; i++)
            strcat(want, "rw");
        strcat(want, "rew"); /* one read finds the device empty */
    }
    for (int i = 0; i < n - 2 * (PUMP_EAGER + 1); i++)
        strcat(want, "rw");
    strcat(want, "e");
    assert_string_equal(rw_log(f), want);
    assert_int_equal(f->nout, n);
    for (uint16_t i = 0; i < n; i++)
        assert_int_equal(f->out[i], i);
    tt_pump_free(&f->p);
}

/* Bulk data (a full segment, a super-segment) is read on: its answer waits
 * for the device to be empty, or for a chunk. */
static void a_large_datagram_is_not_answered_at_once(void **state)
{
    struct fake *f = fake_new(16, 1024, 3);

    f->echo = true;
    f->rx_len = PUMP_EAGER_LEN + 1;
    assert_int_equal(tt_pump_readable(&f->p), 0);
    assert_string_equal(rw_log(f), "rrrewwwe");
    tt_pump_free(&f->p);
}

/* An answer written at once leaves the caller's batch alone (a run that may
 * still grow): no settle before it, only once the device is empty. */
static void an_answer_at_once_does_not_settle(void **state)
{
    struct fake *f = fake_new(16, 1024, 1);

    f->echo = true;
    f->settle_pkt = 500;
    assert_int_equal(tt_pump_readable(&f->p), 0);
    assert_string_equal(f->log, "rweswes");
    assert_int_equal(f->out[0], 0);
    assert_int_equal(f->out[1], 500);
    tt_pump_free(&f->p);
}

static void eagain_on_write_keeps_the_datagrams_in_order(void **state)
{
    struct fake *f = fake_new(64, 4096, 0);

    for (uint16_t i = 0; i < 10; i++)
        assert_true(push_num(&f->p, i));
    f->write_err = -EAGAIN;
    assert_int_equal(tt_pump_flush(&f->p), 0);
    assert_int_equal(f->want, 1);
    assert_int_equal(f->ctr.txq_queued, 1);
    assert_int_equal(tt_pump_flush(&f->p), 0);
    assert_string_equal(rw_log(f), "a"); /* waiting for writable: not asked again */
    assert_true(push_num(&f->p, 10));    /* more output queues behind */
    f->write_err = 0;
    assert_int_equal(tt_pump_writable(&f->p), 0);
    assert_int_equal(f->want, 0);
    assert_int_equal(f->nout, 11);
    for (uint16_t i = 0; i < 11; i++)
        assert_int_equal(f->out[i], i);
    assert_int_equal(f->ctr.txq_drops, 0);
    tt_pump_free(&f->p);
}

static void reads_go_on_while_writes_wait(void **state)
{
    struct fake *f = fake_new(1024, 1 << 16, 50);

    f->echo = true;
    f->write_err = -EAGAIN;
    assert_int_equal(tt_pump_readable(&f->p), 0);
    assert_int_equal(f->ctr.tun_in, 50);
    assert_int_equal(f->p.count, 50);
    f->write_err = 0;
    assert_int_equal(tt_pump_writable(&f->p), 0);
    assert_int_equal(f->nout, 50);
    for (uint16_t i = 0; i < 50; i++)
        assert_int_equal(f->out[i], i);
    tt_pump_free(&f->p);
}

static void a_full_ring_counts_a_drop(void **state)
{
    struct fake *f = fake_new(4, 4096, 0);

    f->write_err = -EAGAIN;
    for (uint16_t i = 0; i < 6; i++)
        push_num(&f->p, i);
    assert_int_equal(f->ctr.txq_drops, 2);
    f->write_err = 0;
    assert_int_equal(tt_pump_writable(&f->p), 0);
    assert_int_equal(f->nout, 4);
    for (uint16_t i = 0; i < 4; i++)
        assert_int_equal(f->out[i], i);
    tt_pump_free(&f->p);
}

/* Entries of 30 bytes in an arena of 100: the fourth wraps to the start. */
static void the_arena_wraps_without_mixing_bytes(void **state)
{
    struct fake *f = fake_new(8, 100, 0);
    uint8_t pkt[30];
    struct iovec iov = {pkt, sizeof(pkt)};
    struct pump *p = &f->p;

    for (int i = 0; i < 6; i++) {
        memset(pkt, 'a' + i, sizeof(pkt));
        bool ok = tt_pump_pushv(p, &iov, 1, false);
        assert_true(ok == (i != 5)); /* 0-2 at 0, 30, 60; 3 and 4 after 0 and 1 leave */
        if (i == 2) {
            for (int k = 0; k < 2; k++) { /* write two by hand, as the pump would */
                assert_int_equal(p->arena[p->ent[p->head].off], 'a' + k);
                p->head = (p->head + 1) % p->slots;
                p->count--;
            }
        }
    }
    assert_int_equal(f->ctr.txq_drops, 1);
    assert_int_equal(p->count, 3);
    for (int k = 0; k < 3; k++) {
        const struct pump_ent *e = &p->ent[(p->head + (size_t)k) % p->slots];
        for (size_t j = 0; j < e->len; j++)
            assert_int_equal(p->arena[e->off + j], 'c' + k);
    }
    tt_pump_free(&f->p);
}

static void pieces_are_gathered_into_one_datagram(void **state)
{
    struct fake *f = fake_new(8, 1024, 0);
    uint8_t a[1] = {7}, b[1] = {0};
    struct iovec iov[2] = {{a, 1}, {b, 1}};

    assert_true(tt_pump_pushv(&f->p, iov, 2, true));
    assert_int_equal(tt_pump_flush(&f->p), 0);
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0], 7); /* little-endian 7, 0 */
    assert_int_equal(f->ctr.tun_out_super, 1);
    tt_pump_free(&f->p);
}

/* A datagram built in reserved room is held where it lies, at its own length, not the room's. */
static void reserved_room_is_held_in_place(void **state)
{
    struct fake *f = fake_new(8, 100, 0);
    struct pump *p = &f->p;
    uint8_t *at;

    assert_null(tt_pump_reserve(p, 101)); /* larger than the arena: nothing counted */
    assert_int_equal(f->ctr.txq_drops, 0);
    at = tt_pump_reserve(p, 60);
    assert_non_null(at);
    at[0] = 9, at[1] = 0;
    assert_true(tt_pump_commit(p, 2, true));
    assert_int_equal(p->arena_tail, 2); /* the next one follows the bytes written */
    assert_true(push_num(p, 3));
    assert_int_equal(tt_pump_flush(p), 0);
    assert_int_equal(f->nout, 2);
    assert_int_equal(f->out[0], 9);
    assert_int_equal(f->out[1], 3);
    assert_int_equal(f->ctr.tun_out_super, 1);
    tt_pump_free(&f->p);

    f = fake_new(8, 100, 0); /* lost after the reservation: nothing held */
    assert_non_null(tt_pump_reserve(&f->p, 10));
    f->p.error = -EBADFD;
    assert_false(tt_pump_commit(&f->p, 2, false));
    assert_int_equal(f->p.count, 0);
    tt_pump_free(&f->p);
}

/* Room reserved and not committed (the engine's run of one segment,
 * runout.h) is given back: the next datagram takes its place. */
static void reserved_room_not_committed_holds_nothing(void **state)
{
    struct fake *f = fake_new(8, 100, 0);
    struct pump *p = &f->p;

    assert_true(push_num(p, 1));
    assert_non_null(tt_pump_reserve(p, 60));
    assert_true(push_num(p, 2)); /* the reservation given back */
    assert_int_equal(p->count, 2);
    assert_int_equal(p->arena_tail, 4);
    assert_int_equal(tt_pump_flush(p), 0);
    assert_int_equal(f->nout, 2);
    assert_int_equal(f->out[0], 1);
    assert_int_equal(f->out[1], 2);
    assert_int_equal(f->ctr.txq_drops, 0);
    tt_pump_free(&f->p);
}

static void a_lost_datagram_is_counted_and_the_rest_goes_on(void **state)
{
    struct fake *f = fake_new(8, 1024, 2);

    f->read_err = -EIO;
    assert_int_equal(tt_pump_readable(&f->p), 0);
    assert_int_equal(f->ctr.tun_read_errors, 1);
    assert_int_equal(f->ctr.tun_in, 2);
    push_num(&f->p, 1);
    f->write_err = -EIO; /* the link is down: this datagram is lost */
    assert_int_equal(tt_pump_flush(&f->p), 0);
    assert_int_equal(f->ctr.tun_write_errors, 1);
    assert_int_equal(f->p.count, 0);
    tt_pump_free(&f->p);
}

static void a_lost_device_ends_reads_and_writes(void **state)
{
    struct fake *f = fake_new(8, 1024, 5);

    f->read_err = -EBADFD;
    assert_int_equal(tt_pump_readable(&f->p), -EBADFD);
    assert_string_equal(f->p.err_op, "read");
    assert_int_equal(f->ctr.tun_in, 0);
    assert_false(push_num(&f->p, 1)); /* the run is ending: not a drop */
    assert_int_equal(f->ctr.txq_drops, 0);
    assert_int_equal(tt_pump_readable(&f->p), -EBADFD);
    assert_int_equal(f->ctr.tun_in, 0);
    tt_pump_free(&f->p);

    f = fake_new(8, 1024, 0);
    push_num(&f->p, 1);
    push_num(&f->p, 2);
    f->write_err = -EBADFD;
    assert_int_equal(tt_pump_flush(&f->p), -EBADFD);
    assert_string_equal(f->p.err_op, "write");
    assert_int_equal(f->ctr.tun_write_errors, 1);
    tt_pump_free(&f->p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_until_the_device_is_empty_and_once_empty_stops),
        cmocka_unit_test(a_wake_up_reads_at_most_the_budget),
        cmocka_unit_test(output_is_written_in_chunks_between_reads),
        cmocka_unit_test(large_datagrams_make_smaller_chunks),
        cmocka_unit_test(what_a_write_causes_is_read_in_the_same_wake_up),
        cmocka_unit_test(settle_comes_before_the_last_writes),
        cmocka_unit_test(a_small_request_is_answered_before_the_next_read),
        cmocka_unit_test(a_large_datagram_is_not_answered_at_once),
        cmocka_unit_test(an_answer_at_once_does_not_settle),
        cmocka_unit_test(eagain_on_write_keeps_the_datagrams_in_order),
        cmocka_unit_test(reads_go_on_while_writes_wait),
        cmocka_unit_test(a_full_ring_counts_a_drop),
        cmocka_unit_test(the_arena_wraps_without_mixing_bytes),
        cmocka_unit_test(pieces_are_gathered_into_one_datagram),
        cmocka_unit_test(reserved_room_is_held_in_place),
        cmocka_unit_test(reserved_room_not_committed_holds_nothing),
        cmocka_unit_test(a_lost_datagram_is_counted_and_the_rest_goes_on),
        cmocka_unit_test(a_lost_device_ends_reads_and_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
