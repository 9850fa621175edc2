/*
 * The send times of the data in flight (stack/engine/tcp_txstamp.c): the RTT
 * sample of an ACK is the time since the newest segment it acknowledges
 * went out (Linux's ack_sample.rtt_us from tcp_clean_rtx_queue()), none
 * for retransmitted data (RFC 6298 3, Karn; Linux FLAG_RETRANS_DATA_ACKED);
 * one record per send instant; no memory once all is acknowledged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"

static struct tt_engine eng; /* only its clock and spare blocks are used */

static void conn_init(struct tt_conn *c)
{
    memset(c, 0, sizeof(*c));
    tt_spares_fini(&eng.spares); /* the records a test freed (spare.c) */
    memset(&eng, 0, sizeof(eng));
    c->eng = &eng;
}

/* Data [seq, seq + len) goes out now as new data. */
static void send_new(struct tt_conn *c, uint32_t seq, uint32_t len)
{
    tt_txstamp_sent(c, seq);
    c->snd_nxt = seq + len;
}

static void sample_is_the_newest_segment_acked(void **state)
{
    (void)state;
    struct tt_conn c;
    conn_init(&c);
    int64_t seq_rtt;
    send_new(&c, 1000, 1000); /* at 0 */
    eng.now = 10;
    send_new(&c, 2000, 1000);
    eng.now = 20;
    send_new(&c, 3000, 1000);
    eng.now = 100;
    /* ACK of 1000..2500: the newest byte acked, 2499, left at 10 */
    assert_int_equal(tt_txstamp_acked(&c, 1000, 2500, &seq_rtt), 90);
    assert_int_equal(seq_rtt, 100); /* the oldest byte acked, 1000, left at 0 */
    eng.now = 120;
    assert_int_equal(tt_txstamp_acked(&c, 2500, 3000, &seq_rtt), 110);
    assert_int_equal(seq_rtt, 110); /* 2500 left at 10 too */
    assert_int_equal(tt_txstamp_acked(&c, 3000, 4000, &seq_rtt), 100);
    tt_txstamp_free(&c);
}

static void one_record_per_send_instant(void **state)
{
    (void)state;
    struct tt_conn c;
    conn_init(&c);
    int64_t seq_rtt;
    for (uint32_t k = 0; k < 10; k++)
        send_new(&c, 1000 + k * 100, 100);
    assert_int_equal(c.txstamps.len, 1);
    eng.now = 50;
    assert_int_equal(tt_txstamp_acked(&c, 1000, 1500, &seq_rtt), 50);
    tt_txstamp_free(&c);
}

static void retransmitted_data_gives_no_sample(void **state)
{
    (void)state;
    struct tt_conn c;
    conn_init(&c);
    int64_t seq_rtt;
    send_new(&c, 1000, 1000);
    eng.now = 10;
    send_new(&c, 2000, 1000);
    eng.now = 300;
    tt_txstamp_retransmitted(&c, 2000); /* 1000..2000 again */
    eng.now = 310;
    assert_int_equal(tt_txstamp_acked(&c, 1000, 2000, &seq_rtt), -1);
    assert_int_equal(seq_rtt, -1);                                     /* Karn */
    assert_int_equal(tt_txstamp_acked(&c, 2000, 3000, &seq_rtt), 300); /* never resent */
    assert_int_equal(seq_rtt, 300);
    tt_txstamp_free(&c);
}

static void ack_of_all_frees_the_records(void **state)
{
    (void)state;
    struct tt_conn c;
    conn_init(&c);
    int64_t seq_rtt;
    for (uint32_t k = 0; k < 100; k++) { /* past the first allocation */
        eng.now = k;
        send_new(&c, 1000 + k * 100, 100);
    }
    assert_int_equal(c.txstamps.len, 100);
    eng.now = 1000;
    assert_int_equal(tt_txstamp_acked(&c, 1000, 1000 + 50 * 100, &seq_rtt), 1000 - 49);
    assert_int_equal(c.txstamps.len, 50); /* from the record holding 6000 on */
    assert_int_equal(tt_txstamp_acked(&c, 6000, 11000, &seq_rtt), 1000 - 99);
    assert_null(c.txstamps.v);
    assert_int_equal(c.txstamps.len, 0);
}

static int free_spares(void **state)
{
    (void)state;
    tt_spares_fini(&eng.spares);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sample_is_the_newest_segment_acked),
        cmocka_unit_test(one_record_per_send_instant),
        cmocka_unit_test(retransmitted_data_gives_no_sample),
        cmocka_unit_test(ack_of_all_frees_the_records),
    };
    return cmocka_run_group_tests(tests, NULL, free_spares);
}
