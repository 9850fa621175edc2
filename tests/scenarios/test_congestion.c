/*
 * Scenarios: congestion control. The congestion window grows only while the
 * flow uses it (RFC 7661, Linux tcp_is_cwnd_limited()), whatever holds the
 * flow back otherwise (the application, the peer's window), and NewReno's
 * `recover` is the highest sequence number sent (RFC 6582 3.2), so that a
 * loss right after a recovery is repaired by fast retransmit too.
 *
 * cwnd is read as the application can read it: tt_conn_info_t, through
 * tt_engine_foreach_conn() (the SIGUSR1 listing's source).
 */
#include "harness.h"

#include <string.h>

#define SEG1 H_MSS
#define INIT_CWND (10u * H_MSS) /* RFC 6928 */
#define SMALL 100u              /* a write smaller than a segment goes out alone */

struct info_ctx {
    const struct harness *h;
    tt_conn_info_t info;
    bool found;
};

static void find_info(void *ctx, const tt_conn_info_t *info)
{
    struct info_ctx *f = ctx;

    if (info->raddr == H_PEER_ADDR && info->lport == f->h->lport && info->rport == f->h->rport) {
        f->info = *info;
        f->found = true;
    }
}

/* The connection under test as tt_engine_foreach_conn() lists it. */
static tt_conn_info_t conn_info(const struct harness *h)
{
    struct info_ctx f = {.h = h};

    tt_engine_foreach_conn(h->eng, find_info, &f);
    assert_true(f.found);
    return f.info;
}

/* tt_conn_info_t carries the sender's state, the same through the handle and
 * through the listing: RFC 6928's initial window, no ssthresh before a loss,
 * what is in flight, and the RTO. */
static void conn_info_shows_sender_state(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    tt_conn_info_t i = conn_info(h);
    assert_int_equal(i.mss, H_MSS);
    assert_int_equal(i.cwnd, INIT_CWND);
    assert_int_equal(i.ssthresh, UINT32_MAX);
    assert_int_equal(i.unacked, 0);
    assert_int_equal(i.rto_us, 200 * MS); /* handshake RTT 0: RFC 6298 2.4's floor */
    assert_int_equal(h_write_pattern(h, 0, 3 * SEG1), 3 * SEG1);
    for (uint32_t k = 0; k < 3; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + k * SEG1, IRS + 1, k * SEG1, SEG1);
    tt_conn_info_t j, k = conn_info(h);
    tt_conn_get_info(h->conn, &j);
    assert_int_equal(j.unacked, 3 * SEG1);
    assert_int_equal(k.unacked, 3 * SEG1);
    assert_int_equal(j.cwnd, k.cwnd);
    assert_int_equal(j.ssthresh, k.ssthresh);
    assert_int_equal(j.mss, k.mss);
    assert_int_equal(j.rto_us, k.rto_us);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(conn_info_shows_sender_state, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
