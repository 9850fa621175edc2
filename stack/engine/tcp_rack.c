/*
 * RACK loss detection (RFC 8985 6) as Linux does it (tcp_recovery.c,
 * net.ipv4.tcp_recovery bit 0x1, the default), for connections that agreed
 * SACK: a segment is lost once a segment sent after it has been delivered
 * (SACKed or acknowledged) and a reordering window has passed since it was
 * sent. Without SACK, or with the knob's bit 0x1 clear, tcp_recovery.c
 * marks losses as before: everything below the highest SACK once three
 * segments are SACKed (RFC 6675), NewReno's head without SACK.
 *
 * What it keeps: the transmit log, one record per run of sequence space
 * sent at one time (RFC 8985 6.1: each segment's transmit time), in
 * sequence order over [SND.UNA, SND.NXT), each with Linux's per-segment
 * flags: SACKED, LOST, RETRANS (a retransmission of a lost segment in
 * flight) and EVER_RETRANS; and RACK.xmit_ts, RACK.end_seq, RACK.rtt of the
 * most recently sent segment delivered (RFC 8985 6.2, Linux
 * tcp_rack_advance()). Records are split at SACK block edges and at
 * retransmissions, so a record is SACKed whole or not at all.
 *
 * The reordering window (RFC 8985 6.2 step 4, Linux tcp_rack_reo_wnd()):
 * 0 while no reordering has been seen and recovery is under way or
 * DupThresh segments are SACKed (unless tcp_recovery has bit 0x4), else
 * min_RTT / 4 times reo_wnd_steps, at most SRTT. DSACKs widen it one step
 * per round trip (RFC 8985 6.2 step 3, Linux tcp_rack_update_reo_wnd()),
 * kept for 16 recoveries (bit 0x2: never).
 *
 * When a segment is not yet lost but will be, the reorder timer runs for
 * what remains (RFC 8985 6.3, Linux tcp_rack_reo_timeout()); it shares the
 * RTX timer as Linux's ICSK_TIME_REO_TIMEOUT does (tcp_timer.c).
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "seq.h"

#define RACK_MIN_RECORDS 4      /* first allocation: a short connection needs few */
#define RACK_MAX_RECORDS 65536  /* the log never grows beyond this */
#define RACK_RECOVERY_THRESH 16 /* Linux TCP_RACK_RECOVERY_THRESH */
#define RACK_MAX_REORDERING 300 /* Linux net.ipv4.tcp_max_reordering */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* RFC 8985 6.2 step 2 (Linux tcp_skb_sent_after()): sent later, or at the
 * same time and ending further on. */
static bool sent_after(uint64_t t1, uint32_t end1, uint64_t t2, uint32_t end2)
{
    return t1 > t2 || (t1 == t2 && seq_gt(end1, end2));
}

void tt_rack_free(struct tt_conn *c)
{
    if (c->xlog_cap == RACK_MIN_RECORDS)
        tt_spare_give(c->eng, TT_SPARE_XLOG, c->xlog, RACK_MIN_RECORDS * sizeof(*c->xlog));
    else if (c->xlog) /* none (a connection without SACK): no call into free() */
        free(c->xlog);
    c->xlog = NULL;
    c->xlog_n = c->xlog_cap = 0;
}

static bool reserve(struct tt_conn *c, uint32_t n)
{
    if (c->xlog_n + n <= c->xlog_cap)
        return true;
    if (c->xlog_n + n > RACK_MAX_RECORDS)
        return false;
    uint32_t cap = c->xlog_cap ? c->xlog_cap * 2 : RACK_MIN_RECORDS;
    while (cap < c->xlog_n + n)
        cap *= 2;
    /* A first log of the least size comes from the engine's spares (spare.c). */
    struct tt_rack_rec *p = c->xlog_cap == 0 && cap == RACK_MIN_RECORDS
                                ? tt_spare_take(c->eng, TT_SPARE_XLOG, cap * sizeof(*p))
                                : realloc(c->xlog, cap * sizeof(*p));
    if (!p)
        return false;
    c->xlog = p;
    c->xlog_cap = cap;
    return true;
}

/* The index of the first record that ends after seq. */
static uint32_t find(const struct tt_conn *c, uint32_t seq)
{
    uint32_t lo = 0, hi = c->xlog_n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (seq_leq(c->xlog[mid].end, seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A record boundary at seq (when seq falls inside a record); false when
 * the log is full: the caller then works on whole records. */
static bool split_at(struct tt_conn *c, uint32_t seq)
{
    uint32_t i = find(c, seq);
    if (i == c->xlog_n || !seq_lt(c->xlog[i].seq, seq))
        return true;
    if (!reserve(c, 1))
        return false;
    memmove(&c->xlog[i + 1], &c->xlog[i], (c->xlog_n - i) * sizeof(c->xlog[0]));
    c->xlog_n++;
    c->xlog[i].end = seq;
    c->xlog[i + 1].seq = seq;
    return true;
}

/* RFC 8985 6.1: [seq, end) went out now, for the first time or again. */
void tt_rack_sent(struct tt_conn *c, uint32_t seq, uint32_t end)
{
    uint64_t now = c->eng->now;
    if (!c->sack_ok || !seq_lt(seq, end))
        return;
    struct tt_rack_rec *last = c->xlog_n ? &c->xlog[c->xlog_n - 1] : NULL;
    if (!last || !seq_lt(seq, last->end)) { /* new data */
        if (last && last->end == seq && last->xmit_ts == now && last->flags == 0) {
            last->end = end;
            return;
        }
        if (reserve(c, 1))
            c->xlog[c->xlog_n++] = (struct tt_rack_rec){seq, end, now, 0};
        return;
    }
    split_at(c, seq);
    split_at(c, end);
    for (uint32_t i = find(c, seq); i < c->xlog_n && seq_lt(c->xlog[i].seq, end); i++) {
        struct tt_rack_rec *r = &c->xlog[i];
        r->xmit_ts = now;
        r->flags |= TT_RACK_EVER_RETRANS;
        if (r->flags & TT_RACK_LOST)
            r->flags |= TT_RACK_RETRANS;
    }
}

/*
 * RFC 8985 6.2 step 2 (Linux tcp_rack_advance()): a segment was delivered.
 * A retransmission delivered sooner than min_RTT after it was sent is
 * taken as the original's ACK (6.2 step 1) and ignored.
 */
static void advance(struct tt_conn *c, const struct tt_rack_rec *r)
{
    uint64_t rtt = c->eng->now - r->xmit_ts;
    if ((r->flags & TT_RACK_EVER_RETRANS) && c->rtt_valid && rtt < c->min_rtt)
        return;
    c->rack_advanced = true;
    c->rack_rtt = rtt;
    if (sent_after(r->xmit_ts, r->end, c->rack_xmit_ts, c->rack_end_seq)) {
        c->rack_xmit_ts = r->xmit_ts;
        c->rack_end_seq = r->end;
    }
}

/*
 * Linux tcp_check_sack_reordering(): a segment sent once was delivered
 * below the highest one SACKed before: the path reorders by that distance
 * (tcpi_reordering), and RACK keeps its reordering window from now on.
 */
static void reordering_seen(struct tt_conn *c, uint32_t low_seq, uint32_t prior_fack)
{
    if (!c->mss || !seq_lt(low_seq, prior_fack))
        return;
    uint32_t metric = prior_fack - low_seq;
    if (metric > c->reordering * c->mss) {
        uint32_t segs = (metric + c->mss - 1) / c->mss;
        c->reordering = segs < RACK_MAX_REORDERING ? segs : RACK_MAX_REORDERING;
    }
    c->reord_seen++;
}

/*
 * A SACK block counts only for whole segments (Linux
 * tcp_match_skb_to_sack(): SACKs cover full MSSes): its edges move inward
 * to segment boundaries, counted in MSS from the start of the skb that
 * holds the edge (tcp_skb.c), else of the run sent at once. A block of one byte of a segment SACKs
 * nothing, as in packetdrill's fr-4pkt-fack-last-byte. tcp_sack.c takes blocks so cut.
 */
uint32_t tt_rack_seg_edge(const struct tt_conn *c, uint32_t seq, bool up)
{
    struct tt_skb_view skb; /* Linux's skb holding seq, when kept (tcp_skb.c) */
    if (c->mss && tt_skb_find(c, seq, &skb)) {
        if (!seq_lt(skb.seq, seq))
            return seq; /* an skb's edge */
        uint32_t base = seq_max(skb.seq, c->snd_una), off = seq - base;
        uint32_t edge = base + (up ? off + c->mss - 1 : off) / c->mss * c->mss;
        return seq_gt(edge, skb.end) ? skb.end : edge;
    }
    uint32_t i = find(c, seq);
    if (i == c->xlog_n || !seq_lt(c->xlog[i].seq, seq) || !c->mss)
        return seq;
    uint32_t base = seq_max(c->xlog[i].seq, c->snd_una), off = seq - base;
    uint32_t k = (up ? off + c->mss - 1 : off) / c->mss;
    uint32_t edge = base + k * c->mss;
    return seq_gt(edge, c->xlog[i].end) ? c->xlog[i].end : edge;
}

/* Linux tcp_sacktag_one(): the lowest newly SACKed segment never sent
 * twice (Karn) is the ACK's SACK RTT sample (first_sackt). */
static void note_sackt(struct tt_conn *c, const struct tt_rack_rec *x)
{
    if (c->rack_sackt_ok && !seq_lt(x->seq, c->rack_sackt_seq))
        return;
    c->rack_sackt_ok = true;
    c->rack_sackt_seq = x->seq;
    c->rack_sackt = x->xmit_ts;
}

/* The SACKed block [l, r) of an ACK: newly SACKed records are delivered. */
static void sack_block(struct tt_conn *c, uint32_t l, uint32_t r, uint32_t *reord)
{
    split_at(c, l);
    split_at(c, r);
    for (uint32_t i = find(c, l); i < c->xlog_n && seq_leq(c->xlog[i].end, r); i++) {
        struct tt_rack_rec *x = &c->xlog[i];
        if (!seq_geq(x->seq, l) || (x->flags & TT_RACK_SACKED))
            continue;
        x->flags = (uint8_t)((x->flags | TT_RACK_SACKED) & ~(TT_RACK_LOST | TT_RACK_RETRANS));
        if (!(x->flags & TT_RACK_EVER_RETRANS) && seq_lt(x->seq, *reord))
            *reord = x->seq;
        if (!(x->flags & TT_RACK_EVER_RETRANS))
            note_sackt(c, x);
        advance(c, x);
    }
}

/* RFC 2883 2: the first block is a D-SACK when the cumulative ACK covers
 * it or the second block holds it. */
static bool is_dsack(const struct seg *seg)
{
    const struct tcp_sack_block *b = seg->opt.sack;
    if (seg->opt.sack_count == 0)
        return false;
    if (seq_leq(b[0].right, seg->ack))
        return true;
    return seg->opt.sack_count > 1 && seq_geq(b[0].left, b[1].left) &&
           seq_leq(b[0].right, b[1].right);
}

/*
 * An ACK came (before tcp_ack.c moves SND.UNA): its SACK blocks and what it
 * acknowledges are delivered (RFC 8985 6.2 steps 1-3). prior_fack is the
 * highest SACKed sequence before this ACK.
 */
void tt_rack_on_ack(struct tt_conn *c, const struct seg *seg)
{
    c->rack_sackt_ok = false;
    if (!c->sack_ok)
        return; /* kept with RACK off too: the knob may change live */
    uint32_t prior_fack = tt_sack_high(c), reord = prior_fack;
    if (is_dsack(seg))
        c->rack_dsack_seen = true;
    for (uint8_t i = 0; i < seg->opt.sack_count; i++) {
        uint32_t l = seg->opt.sack[i].left, r = seg->opt.sack[i].right;
        if (!seq_lt(l, r) || !seq_gt(l, c->snd_una) || seq_gt(r, c->snd_nxt))
            continue; /* a D-SACK or a bogus block */
        l = tt_rack_seg_edge(c, l, true);
        r = tt_rack_seg_edge(c, r, false);
        if (seq_lt(l, r))
            sack_block(c, l, r, &reord);
    }
    if (seq_gt(seg->ack, c->snd_una) && seq_leq(seg->ack, c->snd_nxt)) {
        /* No record reaches past the ACK when the last one ends at or
         * below it (all of the flight acknowledged): no search for one. */
        if (c->xlog_n && seq_gt(c->xlog[c->xlog_n - 1].end, seg->ack))
            split_at(c, seg->ack);
        for (uint32_t i = 0; i < c->xlog_n && seq_leq(c->xlog[i].end, seg->ack); i++) {
            struct tt_rack_rec *x = &c->xlog[i];
            if (x->flags & TT_RACK_SACKED)
                continue;
            if (!(x->flags & TT_RACK_EVER_RETRANS) && seq_lt(x->seq, reord))
                reord = x->seq;
            advance(c, x);
        }
    }
    reordering_seen(c, reord, prior_fack);
}

/* Forgets what the cumulative ACK covers. */
void tt_rack_prune(struct tt_conn *c)
{
    uint32_t i = find(c, c->snd_una);
    if (i == c->xlog_n) /* all acknowledged, the common case: nothing to move */
        c->xlog_n = 0;
    else if (i) {
        memmove(c->xlog, &c->xlog[i], (c->xlog_n - i) * sizeof(c->xlog[0]));
        c->xlog_n -= i;
    }
    if (c->xlog_n && seq_lt(c->xlog[0].seq, c->snd_una))
        c->xlog[0].seq = c->snd_una;
    if (c->xlog_n == 0)
        c->rack_lost_seen = false;
    if (c->xlog_n == 0 && c->xlog_cap > 64)
        tt_rack_free(c); /* an idle connection holds no log */
}

/*
 * After an RTO every segment is resent from SND.UNA by tcp_output.c and the
 * SACK scoreboard is cleared (tcp_sack.c); the flags go with it. The send
 * times stay: they are renewed as the segments go out again.
 */
void tt_rack_on_rto(struct tt_conn *c)
{
    for (uint32_t i = 0; i < c->xlog_n; i++)
        c->xlog[i].flags &= TT_RACK_EVER_RETRANS;
    c->rack_reo_armed = false;
    c->rack_lost_seen = false;
}

/* The SACKed segments, as Linux counts sacked_out (tcp_skb.c). */
static uint32_t sacked_segs(const struct tt_conn *c)
{
    return tt_skb_sacked_pcount(c);
}

/* RFC 8985 6.2 step 4 (Linux tcp_rack_reo_wnd()). */
uint64_t tt_rack_reo_wnd(const struct tt_conn *c)
{
    if (!c->reord_seen) {
        if (c->in_fast_recovery || c->in_loss)
            return 0;
        if (sacked_segs(c) >= c->reordering && !(c->eng->cfg.tcp_recovery & TT_RACK_NO_DUPTHRESH))
            return 0;
    }
    return min_u64(c->min_rtt / 4 * c->reo_wnd_steps, c->srtt);
}

/*
 * RFC 8985 6.2 step 5 (Linux tcp_rack_detect_loss()): every segment in
 * flight sent before RACK.xmit_ts is lost once RACK.rtt + reo_wnd has
 * passed since it went out; for the others, how long that still is. A
 * retransmission found lost again stops counting in flight until it is
 * sent once more. Returns the greatest time left (0: none).
 */
static uint64_t detect_loss(struct tt_conn *c)
{
    uint64_t now = c->eng->now, reo_wnd = 0, wait = 0;
    bool reo_known = false; /* reo_wnd, asked only for a record it decides */
    for (uint32_t i = 0; i < c->xlog_n; i++) {
        struct tt_rack_rec *x = &c->xlog[i];
        if ((x->flags & TT_RACK_SACKED) ||
            (x->flags & (TT_RACK_LOST | TT_RACK_RETRANS)) == TT_RACK_LOST)
            continue;
        if (!sent_after(c->rack_xmit_ts, c->rack_end_seq, x->xmit_ts, x->end)) {
            /* Sent once and not before RACK.xmit_ts: neither is anything
             * above it, first sent later and resent later still. Linux
             * stops at the same point of its time-sorted list. */
            if (!(x->flags & TT_RACK_EVER_RETRANS))
                break;
            continue;
        }
        if (!reo_known) {
            reo_wnd = tt_rack_reo_wnd(c);
            reo_known = true;
        }
        int64_t left = (int64_t)(c->rack_rtt + reo_wnd) - (int64_t)(now - x->xmit_ts);
        if (left <= 0) {
            c->rack_lost_seen = true;
            x->flags = (uint8_t)((x->flags | TT_RACK_LOST) & ~TT_RACK_RETRANS);
        } else if ((uint64_t)left > wait) {
            wait = (uint64_t)left;
        }
    }
    return wait;
}

/*
 * Linux tcp_rack_mark_lost(), after an ACK that delivered something: marks
 * what is lost and returns when the reorder timer should fire for the rest
 * (0: no need), TCP_TIMEOUT_MIN (2 ms) after the window ends.
 */
uint64_t tt_rack_mark_lost(struct tt_conn *c)
{
    if (!tt_rack_on(c) || c->in_loss || !c->rack_advanced)
        return 0;
    c->rack_advanced = false;
    uint64_t wait = detect_loss(c);
    return wait ? c->eng->now + wait + TT_TLP_SLACK : 0;
}

/* The reorder timer fired (Linux tcp_rack_reo_timeout()): true when it
 * found new losses. */
bool tt_rack_reo_timeout(struct tt_conn *c)
{
    c->rack_reo_armed = false;
    uint32_t before = tt_rack_lost_bytes(c, false);
    detect_loss(c);
    return tt_rack_lost_bytes(c, false) != before;
}

/* Lost bytes: all still marked lost (Linux lost_out), or only those not
 * yet sent again (only_unsent). */
uint32_t tt_rack_lost_bytes(const struct tt_conn *c, bool only_unsent)
{
    uint32_t n = 0;
    if (!c->rack_lost_seen)
        return 0; /* the common case, without a walk of the log */
    for (uint32_t i = 0; i < c->xlog_n; i++) {
        const struct tt_rack_rec *x = &c->xlog[i];
        if (!(x->flags & TT_RACK_LOST))
            continue;
        if (only_unsent && (x->flags & TT_RACK_RETRANS))
            continue;
        n += x->end - x->seq;
    }
    return n;
}

/* Retransmissions of lost segments still in flight (Linux retrans_out). */
uint32_t tt_rack_retrans_bytes(const struct tt_conn *c)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->xlog_n; i++) {
        if (c->xlog[i].flags & TT_RACK_RETRANS)
            n += c->xlog[i].end - c->xlog[i].seq;
    }
    return n;
}

/* The first lost segment not yet sent again: [*start, *end). */
bool tt_rack_next_lost(const struct tt_conn *c, uint32_t *start, uint32_t *end)
{
    if (!c->rack_lost_seen)
        return false;
    for (uint32_t i = 0; i < c->xlog_n; i++) {
        const struct tt_rack_rec *x = &c->xlog[i];
        if ((x->flags & (TT_RACK_LOST | TT_RACK_RETRANS | TT_RACK_SACKED)) == TT_RACK_LOST) {
            *start = seq_max(x->seq, c->snd_una);
            *end = x->end;
            return seq_lt(*start, *end);
        }
    }
    return false;
}

/*
 * RFC 8985 6.2 step 3 (Linux tcp_rack_update_reo_wnd()), once per ACK: a
 * DSACK says a retransmission was spurious, so the window grows a step,
 * at most once per round trip (what was delivered when it last grew has
 * been delivered again); it stays for 16 recoveries, then falls back to
 * one step.
 */
void tt_rack_update_reo_wnd(struct tt_conn *c, uint64_t prior_delivered)
{
    if (!tt_rack_on(c) || (c->eng->cfg.tcp_recovery & TT_RACK_STATIC_REO_WND))
        return;
    if (prior_delivered < c->rack_last_delivered)
        c->rack_dsack_seen = false;
    if (c->rack_dsack_seen) {
        if (c->reo_wnd_steps < 0xff)
            c->reo_wnd_steps++;
        c->rack_dsack_seen = false;
        c->rack_last_delivered = c->delivered_bytes;
        c->reo_wnd_persist = RACK_RECOVERY_THRESH;
    } else if (!c->reo_wnd_persist) {
        c->reo_wnd_steps = 1;
    }
}

/* Recovery ended: one of the 16 recoveries a widened window is kept for. */
void tt_rack_recovery_done(struct tt_conn *c)
{
    if (c->reo_wnd_persist)
        c->reo_wnd_persist--;
}
