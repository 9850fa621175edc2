/*
 * Scenarios: GSO runs built in the device's own memory
 * (tt_engine_set_run_out()), so that the driver does not copy them again.
 * What the device receives must be what it receives when the runs go
 * through the output queue and the output callback: the same datagrams,
 * byte for byte and in the same order (the device writes them in the
 * order they reach it), and the same engine state. Each scenario runs
 * with the runs in the output queue, then in a fake device's memory, then
 * with that device out of room (the engine falls back to the output
 * queue, nothing lost), and compares the wire (cut as the kernel cuts a
 * GSO datagram, checksums completed), tt_conn_info_t and the counters.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SEG1 H_MSS
#define WIRE_MAX (1u << 21)
#define ROOM 65535

/* The fake device's memory: one reservation at a time, as the pump's ring. */
struct device {
    struct harness *h;
    bool full;      /* no room: reserve says NULL */
    uint8_t *room;  /* the open reservation, or NULL */
    size_t commits; /* runs held where they were built */
    size_t returns; /* rooms given back (runs of one segment) */
    uint8_t mem[ROOM];
};

static uint8_t *dev_reserve(void *ctx, size_t min, size_t max, size_t *cap)
{
    struct device *d = ctx;

    assert_null(d->room); /* one reservation at a time */
    assert_true(min <= max && max <= ROOM);
    if (d->full)
        return NULL;
    memset(d->mem, 0xa5, sizeof(d->mem)); /* nothing left from the last run */
    d->room = d->mem;
    *cap = max;
    return d->room;
}

static void dev_commit(void *ctx, size_t len, uint16_t gso_size)
{
    struct device *d = ctx;

    assert_non_null(d->room);
    d->room = NULL;
    if (len == 0) {
        d->returns++;
        return;
    }
    assert_true(gso_size > 0 && len <= ROOM);
    d->commits++;
    h_output_gso(d->h, d->mem, len, gso_size); /* reaches the device now */
}

static const tt_run_out_t dev_ops = {dev_reserve, dev_commit};

enum mode { VIA_QUEUE, DIRECT, DIRECT_FULL };

struct outcome {
    struct h_wire w; /* the wire, byte for byte */
    tt_conn_info_t info;
    tt_stats_t stats;
    size_t gso, commits, returns;
};

typedef void (*scenario_fn)(struct harness *h, struct outcome *o);

static void run(struct harness *h, enum mode m, scenario_fn fn, struct outcome *o)
{
    static struct device dev;

    memset(o, 0, sizeof(*o));
    memset(&dev, 0, sizeof(dev));
    dev.h = h;
    dev.full = m == DIRECT_FULL;
    h->now = H_T0;
    h->peer_wnd = H_PEER_WND;
    h->on_read = NULL;
    h->on_output = NULL;
    h_reinit(h);
    h_reach_established_rtt(h, 10);
    tt_engine_set_csum_partial(h->eng, true); /* as the driver with offloads */
    tt_engine_set_gso_out(h->eng, true);
    if (m != VIA_QUEUE)
        tt_engine_set_run_out(h->eng, &dev_ops, &dev);
    h->gso_dgrams = 0;
    h_wire_init(&o->w, WIRE_MAX, ISS + 1);
    fn(h, o);
    h_wire_drain(h, &o->w);
    assert_null(dev.room); /* every reservation ended with its engine call */
    tt_conn_get_info(h->conn, &o->info);
    tt_engine_stats(h->eng, &o->stats);
    o->gso = h->gso_dgrams;
    o->commits = dev.commits;
    o->returns = dev.returns;
}

static void assert_same(const struct outcome *a, const struct outcome *b)
{
    h_wire_assert_same(&a->w, &b->w);
    assert_int_equal(a->gso, b->gso);
    assert_memory_equal(&a->info, &b->info, sizeof(a->info));
    assert_memory_equal(&a->stats, &b->stats, sizeof(a->stats));
}

/* The same wire and state all three ways; the device's memory was used. */
static void same_three_ways(struct harness *h, scenario_fn fn, struct outcome *direct)
{
    struct outcome queue, full;

    run(h, VIA_QUEUE, fn, &queue);
    run(h, DIRECT, fn, direct);
    run(h, DIRECT_FULL, fn, &full);
    assert_true(direct->commits + direct->returns > 0);
    assert_int_equal(full.commits, 0);
    assert_same(&queue, direct);
    assert_same(&queue, &full);
    h_wire_free(&queue.w);
    h_wire_free(&full.w);
}

/* Writes acknowledged round by round, each write a run ending in PSH. */
static void bulk(struct harness *h, struct outcome *o)
{
    h_wire_bulk(h, &o->w);
}

static void bulk_runs_built_in_place(void **state)
{
    struct outcome o;

    same_three_ways(*state, bulk, &o);
    assert_true(o.gso > 0 && o.commits > 0);
    h_wire_free(&o.w);
}

/* The peer's window holds one segment: every run is of one segment. */
static void one_at_a_time(struct harness *h, struct outcome *o)
{
    h->peer_wnd = SEG1;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0); /* the window shrinks before any data */
    assert_int_equal(h_write_pattern(h, 0, 6 * SEG1), 6 * SEG1);
    for (int r = 0; r < 7; r++)
        h_wire_ack_all(h, &o->w, 10);
}

/* A run of one segment is no GSO datagram: its room is given back and it
 * takes the output queue's way (the driver's batch may join it). */
static void single_segment_runs_take_the_queue(void **state)
{
    struct harness *h = *state;
    struct outcome o;

    same_three_ways(h, one_at_a_time, &o);
    assert_true(o.returns > 0);
    assert_int_equal(o.commits, 0);
    assert_true(o.w.snd_max == ISS + 1 + 6 * SEG1);
    h_wire_free(&o.w);
}

static void write_from(struct harness *h, size_t off, size_t len)
{
    uint8_t *buf = malloc(len);

    assert_non_null(buf);
    h_pattern_fill(buf, off, len);
    assert_int_equal(tt_conn_write(h->conn, buf, len), (ssize_t)len);
    free(buf);
}

/* The application answers a request with writes in one engine call: a run
 * (built in place), a short segment (queued after it), a run (queued: the
 * short one waits, and the device must receive it first), and a run
 * ending in a short segment, then a FIN. */
static void answer(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    (void)buf;
    if (nread <= 0)
        return;
    assert_int_equal(tt_conn_set_nodelay(h->conn, 1), 0);
    write_from(h, 0, 2 * SEG1);
    write_from(h, 2 * SEG1, 100);
    write_from(h, 2 * SEG1 + 100, 2 * SEG1);
    write_from(h, 4 * SEG1 + 100, 2 * SEG1 + 50);
    assert_int_equal(tt_conn_shutdown(h->conn), 0);
}

static void mixed_call(struct harness *h, struct outcome *o)
{
    h->on_read = answer;
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "req", 3);
    h->on_read = NULL;
    h_wire_drain(h, &o->w);
    for (int r = 0; r < 3; r++)
        h_wire_ack_all(h, &o->w, 10);
}

static void order_kept_around_a_run_built_in_place(void **state)
{
    struct outcome o;

    same_three_ways(*state, mixed_call, &o);
    assert_int_equal(o.commits, 1); /* the first run only: later ones had a datagram before them */
    h_wire_free(&o.w);
}

/* The output callback writes from inside itself, before the datagram it
 * was handed reaches the device: the run that write makes must follow that
 * datagram, so it is not built in the device's memory (which it would
 * reach at once) but queued. */
static void write_from_the_callback(struct harness *h, const uint8_t *pkt, size_t len)
{
    h->on_output = NULL; /* once */
    write_from(h, 100, 3 * SEG1);
}

static void nested(struct harness *h, struct outcome *o)
{
    assert_int_equal(tt_conn_set_nodelay(h->conn, 1), 0);
    h->on_output = write_from_the_callback;
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_wire_drain(h, &o->w);
    assert_int_equal(o->w.snd_max, ISS + 1 + 100 + 3 * SEG1);
    for (int r = 0; r < 2; r++)
        h_wire_ack_all(h, &o->w, 10);
    assert_int_equal(h_write_pattern(h, 100 + 3 * SEG1, 3 * SEG1), 3 * SEG1);
    h_wire_ack_all(h, &o->w, 10);
}

static void a_write_from_the_output_callback_is_queued(void **state)
{
    struct harness *h = *state;
    struct outcome o;

    same_three_ways(h, nested, &o);
    assert_int_equal(o.commits, 1); /* the last write's run only */
    h_wire_free(&o.w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bulk_runs_built_in_place, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(single_segment_runs_take_the_queue, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(order_kept_around_a_run_built_in_place, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(a_write_from_the_output_callback_is_queued, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
