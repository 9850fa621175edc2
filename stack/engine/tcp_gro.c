/*
 * A super-segment taken whole (tt_engine_input_super()): the wire segments
 * the kernel's TCP made one TSO packet of, handed over by TUN offloads,
 * worked on as one segment when that changes nothing but the work. Linux's
 * TCP does the same with the GRO packet a NIC hands it (one skb through
 * tcp_rcv_established(), tcp_ack() once, one queueing of the payload):
 * all its segments carry the same ACK, window, options and flags but PSH
 * on the last (the kernel's TSO copies the header, tcp_gso_segment()), so
 * the ACK step, PAWS and TS.Recent give the same answer for each, and
 * only the text differs, in order, back to back.
 *
 * Taken whole only on an ESTABLISHED connection, in order (SEG.SEQ =
 * RCV.NXT, nothing held out of order), within our window and the room
 * the application has, with no flag but ACK and PSH, no SACK or MD5
 * option, a timestamp PAWS accepts, an acceptable ACK, and no CE mark:
 * anything odd, and the caller cuts it into wire segments as before, where
 * every rule sees each one.
 */
#include "engine.h"
#include "seq.h"

#define ECN_CE 3 /* RFC 3168 5 */

/* The connection of seg's 4-tuple, or NULL (tcp_input.c's lookup, without its side roads). */
static struct tt_conn *whole_conn(tt_engine_t *eng, const struct seg *seg)
{
    struct tuple t;
    uint32_t hash;

    tt_tuple_of_seg(seg, &t);
    return tt_conn_find(eng, &t, &hash);
}

/* Room for len in-order bytes now: the read callback takes them, or the receive buffer. */
static bool room_for(const struct tt_conn *c, uint32_t len)
{
    bool direct = c->reading && c->read_cb && c->rcvbuf.len == 0;
    return direct || len <= ring_space(&c->rcvbuf);
}

/* RFC 7323 5.3: whether PAWS lets the segment in (tcp_input.c's paws_reject, in the other sense).
 */
static bool ts_fresh(const struct tt_conn *c, const struct seg *seg)
{
    if (!c->ts_on)
        return true;
    return seg->opt.ts_ok && (int32_t)(seg->opt.ts_val - c->ts_recent) >= 0;
}

/* Whether seg changes nothing at c but by its text and its one ACK (the rules above). */
static bool whole_ok(const struct tt_conn *c, const struct seg *seg)
{
    if (c->state != TT_STATE_ESTABLISHED || c->orphan || c->ooo != NULL)
        return false;
    if ((seg->flags & (uint8_t)~TCP_PSH) != TCP_ACK || seg->len == 0)
        return false;
    if (seg->seq != c->rcv_nxt || seq_gt(seg->seq + seg->len, c->rcv_adv))
        return false;
    if (seg->opt.sack_count > 0 || seg->opt.md5 || !ts_fresh(c, seg))
        return false;
    if (seq_gt(seg->ack, c->snd_nxt) || seq_lt(seg->ack, c->snd_una))
        return false;
    if ((seg->tos & TT_TOS_ECN_MASK) == ECN_CE)
        return false;
    return room_for(c, seg->len);
}

bool tt_gro_input(tt_engine_t *eng, struct seg *seg)
{
    struct tt_conn *c;
    uint32_t segs;

    if (seg->gso_size == 0 || seg->len <= seg->gso_size)
        return false;
    c = whole_conn(eng, seg);
    if (c == NULL || !whole_ok(c, seg))
        return false;
    /* The counters stay in wire units (docs/contract.md §3.8 item 5). */
    segs = (seg->len + seg->gso_size - 1) / seg->gso_size;
    eng->stats.IpInReceives += segs;
    eng->stats.TcpInSegs += segs;
    tt_tcp_conn_input(c, seg);
    return true;
}
