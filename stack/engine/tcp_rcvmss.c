/*
 * The receiver's estimate of the peer's segment size (Linux
 * icsk_ack.rcv_mss, reported as tcpi_rcv_mss): started from what the
 * handshake allows (Linux tcp_initialize_rcv_mss()) and raised by the data
 * segments that come in order (Linux tcp_measure_rcv_mss()). A segment that
 * stands for a GSO/GRO packet counts by its segment size (seg->gso_size),
 * not by its length, as Linux's GRO receive path does. Calls nothing.
 */
#include "engine.h"

#define RCVMSS_DEFAULT 536 /* Linux TCP_MSS_DEFAULT (RFC 1122 4.2.2.6) */
#define RCVMSS_MIN 88      /* Linux TCP_MIN_MSS */
#define TS_OPT_LEN 12      /* the timestamp option, aligned (RFC 7323) */

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Linux tp->advmss once established: the timestamp option taken off. */
static uint32_t advmss_data(const struct tt_conn *c)
{
    return c->ts_on && c->advmss > TS_OPT_LEN ? c->advmss - TS_OPT_LEN : c->advmss;
}

/* Linux tcp_initialize_rcv_mss(), at the end of the handshake: our MSS and
 * the peer's, at most half the receive window and 536, at least 88. */
void tt_rcvmss_init(struct tt_conn *c)
{
    uint32_t hint = min_u32(advmss_data(c), c->mss);
    hint = min_u32(hint, c->rcv_wnd / 2);
    hint = min_u32(hint, RCVMSS_DEFAULT);
    c->rcv_mss = (uint16_t)(hint > RCVMSS_MIN ? hint : RCVMSS_MIN);
    c->last_seg_size = 0;
}

/*
 * Linux tcp_measure_rcv_mss(), for each in-order data segment: one at
 * least as large as the estimate becomes it (at most our own MSS). A
 * smaller one counts only when the same size comes twice in a row and it
 * is full-sized by its look: header and data reach 536 + 20 bytes, or no
 * flag but ACK says it ends a write (PSH, FIN, URG, SYN).
 */
void tt_rcvmss_measure(struct tt_conn *c, const struct seg *seg)
{
    uint32_t lss = c->last_seg_size;
    uint32_t len = seg->gso_size ? seg->gso_size : seg->len;
    c->last_seg_size = 0;
    if (len >= c->rcv_mss) {
        c->rcv_mss = (uint16_t)min_u32(len, advmss_data(c));
        return;
    }
    len += seg->hlen;
    bool remnant = seg->flags & (TCP_FIN | TCP_URG | TCP_SYN | TCP_PSH);
    if (len >= RCVMSS_DEFAULT + TCP_HDR_LEN || (len >= RCVMSS_MIN + TCP_HDR_LEN && !remnant)) {
        /* Linux takes off tcp_header_len, the header with the options
         * every segment carries (timestamps), not this segment's SACK. */
        len -= TCP_HDR_LEN + (c->ts_on ? TS_OPT_LEN : 0);
        c->last_seg_size = (uint16_t)len;
        if (len == lss)
            c->rcv_mss = (uint16_t)len;
    }
}
