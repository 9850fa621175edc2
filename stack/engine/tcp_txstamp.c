/*
 * When the data in flight went out, for the RTT sample of each ACK that the
 * congestion-control module takes (Linux's ack_sample.rtt_us, from
 * tcp_clean_rtx_queue(): the time since the newest segment this ACK
 * acknowledged was sent), and for the RTO's estimator (Linux's seq_rtt_us
 * there: since the oldest segment it acknowledged was sent; tcp_ack.c
 * takes one on every ACK of new data, as Linux tcp_ack_update_rtt()).
 *
 * One record per send instant: the first sequence number of new data sent
 * at that time. Segments sent in the same engine call share a record, so a
 * window needs as many records as it had sending instants. Karn's rule (RFC
 * 6298 3), as Linux's FLAG_RETRANS_DATA_ACKED: an ACK of data that went out
 * again gives no sample.
 */
#include <stdlib.h>

#include "engine.h"
#include "seq.h"

#define TXSTAMP_MIN 4u     /* first allocation: a short connection needs few */
#define TXSTAMP_MAX 65536u /* beyond, the oldest record is forgotten */

static struct tt_txstamp *at(struct tt_txstamps *ts, uint32_t i)
{
    return &ts->v[ring_wrap((uint64_t)ts->head + i, ts->cap)];
}

static void release(tt_engine_t *eng, struct tt_txstamps *ts)
{
    if (ts->cap == TXSTAMP_MIN)
        tt_spare_give(eng, TT_SPARE_TXSTAMP, ts->v, TXSTAMP_MIN * sizeof *ts->v);
    else if (ts->v) /* none yet (grow()'s first): no call into free() */
        free(ts->v);
}

/* The first records come from the engine's spares (spare.c): a short
 * connection takes and frees them at every send burst. */
static bool grow(tt_engine_t *eng, struct tt_txstamps *ts)
{
    uint32_t cap = ts->cap ? 2 * ts->cap : TXSTAMP_MIN;
    if (cap > TXSTAMP_MAX)
        return false;
    struct tt_txstamp *v =
        ts->cap ? malloc(cap * sizeof *v) : tt_spare_take(eng, TT_SPARE_TXSTAMP, cap * sizeof *v);
    if (!v)
        return false;
    for (uint32_t i = 0; i < ts->len; i++)
        v[i] = *at(ts, i);
    release(eng, ts);
    ts->v = v;
    ts->cap = cap;
    ts->head = 0;
    return true;
}

static void drop_oldest(struct tt_txstamps *ts, uint32_t n)
{
    ts->head = ring_wrap((uint64_t)ts->head + n, ts->cap);
    ts->len -= n;
}

/* New data from seq goes out now. */
void tt_txstamp_sent(struct tt_conn *c, uint32_t seq)
{
    struct tt_txstamps *ts = &c->txstamps;
    uint64_t now = c->eng->now;
    if (ts->len && at(ts, ts->len - 1)->at == now)
        return; /* the same send instant as the record before */
    if (ts->len == ts->cap && !grow(c->eng, ts)) {
        if (ts->cap == 0)
            return;
        drop_oldest(ts, 1); /* its segments give no sample */
    }
    *at(ts, ts->len++) = (struct tt_txstamp){.seq = seq, .at = now};
}

/* Data up to end went out again: ACKs of it give no sample until SND.UNA
 * is past it (Karn). */
void tt_txstamp_retransmitted(struct tt_conn *c, uint32_t end)
{
    struct tt_txstamps *ts = &c->txstamps;
    if (!ts->rtx || seq_gt(end, ts->rtx_end))
        ts->rtx_end = end;
    ts->rtx = true;
}

/*
 * SND.UNA moves from una to ack: the RTT of the newest segment acknowledged
 * (the one that holds ack - 1), in microseconds, or -1 when there is none
 * (its send time is unknown, or retransmitted data was acknowledged). In
 * *seq_rtt the RTT of the oldest one (the one that holds una), or -1 as
 * well: Linux tcp_clean_rtx_queue()'s first_ackt, whose sample feeds
 * SRTT.
 */
int64_t tt_txstamp_acked(struct tt_conn *c, uint32_t una, uint32_t ack, int64_t *seq_rtt)
{
    struct tt_txstamps *ts = &c->txstamps;
    bool karn = ts->rtx && seq_lt(una, ts->rtx_end);
    if (ts->rtx && !seq_lt(ack, ts->rtx_end))
        ts->rtx = false;
    uint32_t n = 0; /* records that start before ack */
    while (n < ts->len && seq_lt(at(ts, n)->seq, ack))
        n++;
    *seq_rtt = -1;
    if (n == 0)
        return -1;
    int64_t rtt = karn ? -1 : (int64_t)(c->eng->now - at(ts, n - 1)->at);
    if (!karn && seq_leq(at(ts, 0)->seq, una)) /* else the oldest one's record is lost */
        *seq_rtt = (int64_t)(c->eng->now - at(ts, 0)->at);
    /* Keep the record that holds the byte at ack, if any was sent. */
    bool next_starts_at_ack = n < ts->len && at(ts, n)->seq == ack;
    drop_oldest(ts, seq_geq(ack, c->snd_nxt) || next_starts_at_ack ? n : n - 1);
    /* First-size records (64 bytes) stay while the connection lives, as
     * the skb ring's (tt_skb_acked()); grown ones go. */
    if (ts->len == 0) {
        ts->head = 0;
        if (ts->cap > TXSTAMP_MIN)
            tt_txstamp_free(c);
    }
    return rtt;
}

void tt_txstamp_free(struct tt_conn *c)
{
    release(c->eng, &c->txstamps);
    c->txstamps.v = NULL;
    c->txstamps.cap = c->txstamps.len = c->txstamps.head = 0;
}
