/*
 * The SACK scoreboard (RFC 2018 on receive; the hole search of RFC 6675
 * 4, simplified): the ranges above SND.UNA that the peer says it holds.
 * During fast recovery, tcp_ack.c retransmits the holes between them, one
 * segment per arriving ACK, instead of one hole per round trip as plain
 * NewReno does.
 *
 * Blocks count for whole segments only (tcp_rack.c tt_rack_seg_edge(),
 * Linux tcp_match_skb_to_sack()). Which holes are lost is tcp_recovery.c's
 * and tcp_rack.c's. After an RTO the scoreboard is cleared, as the
 * receiver may have reneged (RFC 2018 8).
 */
#include <string.h>

#include "engine.h"
#include "seq.h"

void tt_sack_clear(struct tt_conn *c)
{
    c->nsacked = 0;
}

/* Inserts [l, r) keeping the ranges sorted and disjoint (merging overlaps). */
static void sack_insert(struct tt_conn *c, uint32_t l, uint32_t r)
{
    struct tcp_sack_block out[TT_SACK_SCOREBOARD + 1];
    size_t n = 0, i = 0;
    for (; i < c->nsacked && seq_lt(c->sacked[i].right, l); i++)
        out[n++] = c->sacked[i]; /* wholly below */
    for (; i < c->nsacked && seq_leq(c->sacked[i].left, r); i++) {
        l = seq_min(l, c->sacked[i].left); /* overlapping or touching: merged */
        r = seq_max(r, c->sacked[i].right);
    }
    out[n++] = (struct tcp_sack_block){l, r};
    for (; i < c->nsacked; i++)
        out[n++] = c->sacked[i]; /* wholly above */
    if (n > TT_SACK_SCOREBOARD)
        n = TT_SACK_SCOREBOARD; /* the highest range matters least: dropped */
    memcpy(c->sacked, out, n * sizeof(out[0]));
    c->nsacked = (uint8_t)n;
}

/* Takes the SACK blocks of an ACK that fall within what we sent. */
void tt_sack_update(struct tt_conn *c, const struct seg *seg)
{
    for (uint8_t i = 0; i < seg->opt.sack_count; i++) {
        uint32_t l = seg->opt.sack[i].left, r = seg->opt.sack[i].right;
        if (!seq_lt(l, r) || !seq_gt(l, c->snd_una) || seq_gt(r, c->snd_nxt))
            continue;                     /* RFC 2018 4: a D-SACK or a bogus block */
        l = tt_rack_seg_edge(c, l, true); /* whole segments only (tcp_rack.c) */
        r = tt_rack_seg_edge(c, r, false);
        if (seq_lt(l, r))
            sack_insert(c, l, r);
    }
}

/* Forgets what the cumulative ACK now covers. */
void tt_sack_prune(struct tt_conn *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nsacked; i++) {
        struct tcp_sack_block b = c->sacked[i];
        if (seq_leq(b.right, c->snd_una))
            continue;
        if (seq_lt(b.left, c->snd_una))
            b.left = c->snd_una;
        c->sacked[k++] = b;
    }
    c->nsacked = (uint8_t)k;
}

/*
 * The first hole at or after `from` that lies below the highest SACKed
 * byte: [*start, *end). False when there is none (RFC 6675 4: only what is
 * below SACKed data is taken as lost).
 */
bool tt_sack_next_hole(const struct tt_conn *c, uint32_t from, uint32_t *start, uint32_t *end)
{
    for (size_t i = 0; i < c->nsacked; i++) {
        const struct tcp_sack_block *b = &c->sacked[i];
        if (seq_geq(from, b->right))
            continue;
        if (seq_lt(from, b->left)) {
            *start = from;
            *end = b->left;
            return true;
        }
        from = b->right; /* inside a SACKed range: skip it */
    }
    return false;
}

/* The bytes the peer SACKed below seq (all of them for seq = SND.NXT). */
uint32_t tt_sack_bytes_below(const struct tt_conn *c, uint32_t seq)
{
    uint32_t n = 0;
    for (size_t i = 0; i < c->nsacked; i++) {
        const struct tcp_sack_block *b = &c->sacked[i];
        if (seq_leq(seq, b->left))
            break;
        n += seq_min(b->right, seq) - b->left;
    }
    return n;
}

/* The end of the highest SACKed range, or SND.UNA when none is held. */
uint32_t tt_sack_high(const struct tt_conn *c)
{
    return c->nsacked ? c->sacked[c->nsacked - 1].right : c->snd_una;
}
