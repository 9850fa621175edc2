/*
 * Scenarios: the receiver's estimate of the peer's segment size (Linux
 * icsk_ack.rcv_mss, tcpi_rcv_mss; docs/contract.md §2.5 item 12).
 *
 * Linux starts it at the end of the handshake from the MSS both sides
 * allow, at most 536 (tcp_initialize_rcv_mss()), and measures each
 * in-order data segment (tcp_measure_rcv_mss()): one at least as large
 * becomes the estimate, capped at our own MSS; a packet that came as GRO
 * (or through a TUN device with a virtio header) counts by its gso_size,
 * not its length. A smaller segment counts when the same size comes twice
 * in a row and it looks full-sized (no PSH, or 536 bytes and more).
 * packetdrill's gro/gro-mss-option.pkt checks the GRO case.
 */
#include <string.h>

#include "harness.h"

static uint32_t rcv_mss(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i.rcv_mss;
}

/* The peer's data at stream offset off, len bytes, as one packet of gso
 * segments' size (0: a plain segment). Each is ACKed at once (delack 0). */
static void peer_data(struct harness *h, uint32_t off, uint32_t len, uint16_t gso, uint8_t flags)
{
    static uint8_t buf[16384];
    struct seg s;

    memset(&s, 0, sizeof(s));
    s.saddr = H_PEER_ADDR;
    s.daddr = H_ENGINE_ADDR;
    s.sport = h->rport;
    s.dport = h->lport;
    s.seq = IRS + 1 + off;
    s.ack = ISS + 1;
    s.flags = TCP_ACK | flags;
    s.wnd = h->peer_wnd;
    s.data = buf;
    s.len = len;
    s.gso_size = gso;
    h_send_seg(h, &s);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + off + len);
}

/* Linux tcp_initialize_rcv_mss(): min(our MSS, the peer's, 536). */
static void starts_at_536(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(rcv_mss(h), 536);
}

/* The GRO packet of gro-mss-option.pkt: 10000 bytes in segments of 1000. */
static void a_gso_packet_counts_by_its_segment_size(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    peer_data(h, 0, 10000, 1000, 0);
    assert_int_equal(rcv_mss(h), 1000);
}

/* Without a gso_size the same packet is one large segment: our MSS caps it. */
static void a_large_segment_is_capped_at_our_mss(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    peer_data(h, 0, 10000, 0, 0);
    assert_int_equal(rcv_mss(h), H_MSS);
}

/* A segment smaller than the estimate counts only twice in a row, and only
 * without PSH below 536 bytes. */
static void a_smaller_size_counts_when_repeated(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    peer_data(h, 0, 400, 0, TCP_PSH);
    peer_data(h, 400, 400, 0, TCP_PSH);
    assert_int_equal(rcv_mss(h), 536); /* ends of writes: not full-sized */
    peer_data(h, 800, 400, 0, 0);
    assert_int_equal(rcv_mss(h), 536); /* once */
    peer_data(h, 1200, 400, 0, 0);
    assert_int_equal(rcv_mss(h), 400); /* twice */
    peer_data(h, 1600, 300, 0, 0);
    peer_data(h, 1900, 200, 0, 0);
    assert_int_equal(rcv_mss(h), 400); /* not the same size twice */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(starts_at_536, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_gso_packet_counts_by_its_segment_size, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(a_large_segment_is_capped_at_our_mss, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_smaller_size_counts_when_repeated, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
