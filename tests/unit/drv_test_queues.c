/*
 * stack/driver/queues.c with two real libuv loops and no device: a call
 * runs on the target queue's thread, or at once when its loop is not
 * running; handed packets arrive whole and in order on the target's
 * thread; a full inbox counts a drop; a stop from either queue ends both
 * loops, the first status winning (docs/contract.md §3.10).
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "queues.h"

struct fake_queue {
    uv_loop_t loop;
    uv_timer_t keep; /* keeps the loop alive until stopped */
    struct drv_queue dq;
    pthread_t thread;
    bool in_run;
    size_t got; /* handed packets received */
    uint8_t last[8];
    size_t last_len;
    uint8_t hops;
    pthread_t got_on; /* the thread the last packet or call ran on */
};

struct fixture {
    struct drv_group g;
    struct fake_queue q[2];
};

static void fq_stop(void *ctx)
{
    struct fake_queue *q = ctx;

    if (q->in_run)
        uv_stop(&q->loop);
}

static void fq_packet(void *ctx, struct dq_packet *p)
{
    struct fake_queue *q = ctx;

    q->last_len = p->len < sizeof(q->last) ? p->len : sizeof(q->last);
    memcpy(q->last, p->data, q->last_len);
    q->hops = p->hops;
    q->got_on = pthread_self();
    __atomic_add_fetch(&q->got, 1, __ATOMIC_SEQ_CST);
    free(p);
}

static const struct dq_ops fq_ops = {.stop = fq_stop, .packet = fq_packet};

static void nothing(uv_timer_t *t)
{
    (void)t;
}

static void *fq_thread(void *arg)
{
    struct fake_queue *q = arg;

    q->in_run = true;
    uv_run(&q->loop, UV_RUN_DEFAULT);
    q->in_run = false;
    tt_dq_end(q->dq.g, q->dq.index);
    return NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(tt_dq_group_init(&f->g, 2), 0);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(uv_loop_init(&f->q[i].loop), 0);
        assert_int_equal(uv_timer_init(&f->q[i].loop, &f->q[i].keep), 0);
        assert_int_equal(uv_timer_start(&f->q[i].keep, nothing, 100000, 100000), 0);
        assert_int_equal(tt_dq_init(&f->g, i, &f->q[i].dq, &f->q[i].loop, &fq_ops, &f->q[i]), 0);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < 2; i++) {
        uv_close((uv_handle_t *)&f->q[i].keep, NULL);
        uv_close((uv_handle_t *)&f->q[i].dq.async, NULL);
        uv_run(&f->q[i].loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&f->q[i].loop), 0);
        tt_dq_free_inbox(&f->q[i].dq);
    }
    tt_dq_group_destroy(&f->g);
    free(f);
    return 0;
}

/* Queue 1 runs on a thread of its own; the test's thread plays the lead without a loop. */
static void start_queue1(struct fixture *f)
{
    tt_dq_begin(&f->g);
    tt_dq_end(&f->g, 0); /* the lead's loop is not running in these tests */
    assert_int_equal(pthread_create(&f->q[1].thread, NULL, fq_thread, &f->q[1]), 0);
}

static void join_queue1(struct fixture *f, int status)
{
    tt_dq_stop_all(&f->g, 0, status);
    assert_int_equal(pthread_join(f->q[1].thread, NULL), 0);
}

struct call_arg {
    pthread_t ran_on;
    int runs;
};

static void record_call(void *ctx, void *arg)
{
    struct call_arg *a = arg;

    (void)ctx;
    a->ran_on = pthread_self();
    a->runs++;
}

static void a_call_runs_on_the_queues_own_thread(void **state)
{
    struct fixture *f = *state;
    struct call_arg a = {0};

    start_queue1(f);
    tt_dq_call(&f->g, 0, 1, record_call, &a);
    assert_int_equal(a.runs, 1);
    assert_true(pthread_equal(a.ran_on, f->q[1].thread));
    join_queue1(f, 0);
}

static void a_call_to_a_stopped_queue_runs_at_once(void **state)
{
    struct fixture *f = *state;
    struct call_arg a = {0};

    start_queue1(f);
    join_queue1(f, 0);
    tt_dq_call(&f->g, 0, 1, record_call, &a);
    assert_int_equal(a.runs, 1);
    assert_true(pthread_equal(a.ran_on, pthread_self()));
}

static void wait_got(struct fake_queue *q, size_t n)
{
    for (int i = 0; i < 2000 && __atomic_load_n(&q->got, __ATOMIC_SEQ_CST) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void a_handed_packet_arrives_whole_on_the_owners_thread(void **state)
{
    struct fixture *f = *state;
    const uint8_t pkt[5] = {1, 2, 3, 4, 5};

    start_queue1(f);
    assert_true(tt_dq_hand(&f->g, 1, pkt, sizeof(pkt), 1));
    wait_got(&f->q[1], 1);
    join_queue1(f, 0);
    assert_int_equal(f->q[1].got, 1);
    assert_int_equal(f->q[1].last_len, 5);
    assert_memory_equal(f->q[1].last, pkt, 5);
    assert_int_equal(f->q[1].hops, 1);
    assert_true(pthread_equal(f->q[1].got_on, f->q[1].thread));
}

static void a_full_inbox_counts_a_drop(void **state)
{
    struct fixture *f = *state;
    uint8_t b = 7;

    /* no loop runs: nothing drains queue 1's inbox */
    for (size_t i = 0; i < DQ_INBOX_SLOTS; i++)
        assert_true(tt_dq_hand(&f->g, 1, &b, 1, 1));
    assert_false(tt_dq_hand(&f->g, 1, &b, 1, 1));
    assert_int_equal(f->q[1].dq.inbox_drops, 1);
    assert_int_equal(f->q[1].dq.in_len, DQ_INBOX_SLOTS);
}

static void stop_from_queue1(void *ctx, void *arg)
{
    (void)ctx;
    tt_dq_stop_all(arg, 1, 3);
}

static void a_stop_from_either_queue_ends_both_the_first_status_wins(void **state)
{
    struct fixture *f = *state;

    start_queue1(f);
    tt_dq_call(&f->g, 0, 1, stop_from_queue1, &f->g); /* as queue 1's own check would */
    tt_dq_stop_all(&f->g, 0, 5);
    assert_int_equal(pthread_join(f->q[1].thread, NULL), 0);
    assert_int_equal(tt_dq_status(&f->g), 3);
    tt_dq_begin(&f->g); /* a new run forgets the stop */
    assert_int_equal(tt_dq_status(&f->g), 0);
    assert_false(f->q[1].dq.stop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_call_runs_on_the_queues_own_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(a_call_to_a_stopped_queue_runs_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_handed_packet_arrives_whole_on_the_owners_thread, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_full_inbox_counts_a_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stop_from_either_queue_ends_both_the_first_status_wins,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
