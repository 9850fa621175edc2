/*
 * Linux's skbs over the send buffer: where Linux's tcp_sendmsg() would cut
 * the bytes the application queued into skbs, and each skb's PSH and EOR
 * marks. The engine keeps its bytes in one ring (ring.c); this keeps only
 * the boundaries, 8 bytes an skb, in a ring that starts with room for 4
 * and doubles, and is freed when everything is acknowledged.
 *
 * The rules (Linux tcp_sendmsg_locked(), tcp_push(), tso_fragment()):
 * - a write fills the tail skb up to size_goal (tcp_xmit_size_goal()) when
 *   that skb is not sent yet and does not end a record (MSG_EOR); otherwise
 *   it starts a new one. The first skb a write adds to loses its PSH mark:
 *   the mark belongs at the write's end.
 * - inside a long write, when an skb is full and more than half the
 *   largest window the peer offered was queued since the last mark
 *   (forced_push()), that skb is marked PSH.
 * - at the end of a write, the tail skb is marked PSH unless MSG_MORE asks
 *   to wait (and no forced push is due) (tcp_push(), tcp_mark_push()).
 * - sending cuts an skb where a packet ends (tso_fragment(), tcp_fragment()):
 *   the first part loses PSH and EOR, the second keeps them.
 */
#include <stdlib.h>

#include "engine.h"
#include "seq.h"

#define SKB_MIN 4u /* first allocation: a short connection needs few */

static struct tt_skb *at(const struct tt_skbq *q, uint32_t i)
{
    return &q->v[ring_wrap((uint64_t)q->head + i, q->cap)];
}

static void release(tt_engine_t *eng, struct tt_skbq *q)
{
    if (q->cap == SKB_MIN)
        tt_spare_give(eng, TT_SPARE_SKB, q->v, SKB_MIN * sizeof *q->v);
    else if (q->v) /* none yet (grow()'s first): no call into free() */
        free(q->v);
}

/* The first ring comes from the engine's spares (spare.c): a short
 * connection takes and frees it at every send burst. */
static bool grow(tt_engine_t *eng, struct tt_skbq *q)
{
    uint32_t cap = q->cap ? 2 * q->cap : SKB_MIN;
    if (cap < q->cap)
        return false;
    struct tt_skb *v = q->cap ? malloc((size_t)cap * sizeof *v)
                              : tt_spare_take(eng, TT_SPARE_SKB, (size_t)cap * sizeof *v);
    if (!v)
        return false;
    for (uint32_t i = 0; i < q->len; i++)
        v[i] = *at(q, i);
    release(eng, q);
    q->v = v;
    q->cap = cap;
    q->head = 0;
    return true;
}

static uint32_t start_of(const struct tt_conn *c, uint32_t i)
{
    return i == 0 ? c->snd_buf_seq : at(&c->skbs, i - 1)->end;
}

/*
 * Linux tcp_xmit_size_goal(): the bytes one skb of a write takes, whole
 * segments up to half the largest window the peer offered
 * (tcp_bound_to_half_wnd()), at least one segment and below 64 KB (GSO).
 */
uint32_t tt_skb_size_goal(const struct tt_conn *c)
{
    uint32_t mss = c->mss ? c->mss : 1;
    uint32_t cap = 65536 - 1 - 320; /* GSO_MAX_SIZE - 1 - MAX_TCP_HEADER */
    uint32_t half = c->snd_max_wnd > 536 ? c->snd_max_wnd / 2 : c->snd_max_wnd;
    if (half && half < cap)
        cap = half;
    return cap > mss ? cap / mss * mss : mss;
}

/* The index of the skb that holds the byte at seq, or len when none does. */
static uint32_t index_of(const struct tt_conn *c, uint32_t seq)
{
    if (seq_lt(seq, c->snd_buf_seq))
        return c->skbs.len;
    /* the tail first: sending new data asks about SND.NXT, in the last skb
     * or two, several times a segment; else a binary search: the ends grow
     * from snd_buf_seq on, and a window in flight may be hundreds of skbs */
    uint32_t off = seq - c->snd_buf_seq, lo = 0, hi = c->skbs.len;
    if (hi > 0 && start_of(c, hi - 1) - c->snd_buf_seq <= off)
        return at(&c->skbs, hi - 1)->end - c->snd_buf_seq > off ? hi - 1 : hi;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (at(&c->skbs, mid)->end - c->snd_buf_seq <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Linux forced_push(): more than half the peer's largest window queued
 * since the last PSH mark, write_seq the end of what is queued so far. */
static bool forced_push(const struct tt_conn *c, uint32_t write_seq)
{
    return seq_gt(write_seq, c->skbs.pushed_seq + c->snd_max_wnd / 2);
}

/* Linux tcp_mark_push(): PSH on the skb, the mark's place remembered. */
static void mark_push(struct tt_conn *c, struct tt_skb *skb)
{
    skb->flags |= TT_SKB_PSH;
    c->skbs.pushed_seq = skb->end;
}

/* The tail skb when a write may add to it: not sent, no record's end. */
static struct tt_skb *open_tail(struct tt_conn *c)
{
    struct tt_skbq *q = &c->skbs;
    if (q->len == 0)
        return NULL;
    struct tt_skb *tail = at(q, q->len - 1);
    bool sent = seq_lt(start_of(c, q->len - 1), c->snd_nxt);
    return sent || (tail->flags & TT_SKB_EOR) ? NULL : tail;
}

static uint32_t tail_len(const struct tt_conn *c)
{
    uint32_t i = c->skbs.len - 1;
    return at(&c->skbs, i)->end - start_of(c, i);
}

/* A new empty skb at seq (Linux tcp_stream_alloc_skb(), tcp_skb_entail());
 * without memory for it, the tail grows instead. */
static struct tt_skb *new_skb(struct tt_conn *c, uint32_t seq)
{
    struct tt_skbq *q = &c->skbs;
    if (q->len == q->cap && !grow(c->eng, q))
        return q->len ? at(q, q->len - 1) : NULL;
    struct tt_skb *skb = at(q, q->len++);
    *skb = (struct tt_skb){.end = seq};
    return skb;
}

/*
 * How many bytes the next chunk of a write may add before an skb is full:
 * what the open tail lacks of size_goal, or a whole new skb's worth.
 */
uint32_t tt_skb_room(struct tt_conn *c)
{
    uint32_t goal = tt_skb_size_goal(c);
    uint32_t have = open_tail(c) ? tail_len(c) : goal;
    return have < goal ? goal - have : goal;
}

/*
 * len more bytes at the end of the send buffer (in the ring already, at
 * most tt_skb_room()) go into the open tail skb or a new one; first: the
 * first chunk of a write, which takes the tail's PSH mark away (the mark
 * belongs at the write's end). Returns whether the skb is now full.
 */
static bool add_at(struct tt_conn *c, uint32_t seq, uint32_t len, bool first)
{
    uint32_t goal = tt_skb_size_goal(c);
    struct tt_skb *skb = open_tail(c);
    if (!skb || tail_len(c) >= goal)
        skb = new_skb(c, seq);
    if (!skb)
        return false;
    if (first)
        skb->flags &= (uint8_t)~TT_SKB_PSH;
    skb->end += len;
    return tail_len(c) >= goal;
}

bool tt_skb_add(struct tt_conn *c, uint32_t len, bool first)
{
    return add_at(c, c->snd_buf_seq + c->sndbuf.len - len, len, first);
}

/* Linux tcp_sendmsg_locked(): a full skb inside a write is marked PSH when
 * forced_push() says so; returns whether it did (the caller then pushes
 * what may go, TCP_NAGLE_PUSH). */
bool tt_skb_forced_push(struct tt_conn *c)
{
    struct tt_skbq *q = &c->skbs;
    if (q->len == 0 || !forced_push(c, c->snd_buf_seq + c->sndbuf.len))
        return false;
    mark_push(c, at(q, q->len - 1));
    return true;
}

/* The tail skb is the first not sent (Linux tcp_send_head()). */
bool tt_skb_tail_is_send_head(const struct tt_conn *c)
{
    uint32_t n = c->skbs.len;
    return n > 0 && start_of(c, n - 1) == c->snd_nxt;
}

/* The end of a write with write_flags (TT_WRITE_*): MSG_EOR closes the
 * tail skb; PSH on it unless MSG_MORE, or when a forced push is due
 * (Linux tcp_push(), tcp_mark_push()). */
void tt_skb_write_end(struct tt_conn *c, int write_flags)
{
    struct tt_skbq *q = &c->skbs;
    if (q->len == 0)
        return;
    struct tt_skb *skb = at(q, q->len - 1);
    if (write_flags & TT_WRITE_EOR)
        skb->flags |= TT_SKB_EOR;
    if (!(write_flags & TT_WRITE_MORE) || forced_push(c, c->snd_buf_seq + c->sndbuf.len))
        mark_push(c, skb);
}

/*
 * The application queued len more bytes at the end of the send buffer (they
 * are in the ring already) with write_flags (TT_WRITE_*): the skbs Linux's
 * tcp_sendmsg_locked() makes of them, and tcp_push()'s mark at the end,
 * with no send between (the write path interleaves its sends itself).
 */
void tt_skb_queue(struct tt_conn *c, uint32_t len, int write_flags)
{
    uint32_t base = c->snd_buf_seq + c->sndbuf.len - len;
    uint32_t copied = 0;
    while (copied < len) {
        uint32_t room = tt_skb_room(c);
        uint32_t copy = room < len - copied ? room : len - copied;
        bool full = add_at(c, base + copied, copy, copied == 0);
        copied += copy;
        if (full && copied < len && forced_push(c, base + copied))
            mark_push(c, at(&c->skbs, c->skbs.len - 1));
    }
    if (len)
        tt_skb_write_end(c, write_flags);
}

/* Whether an skb that ends in (seq, end] carries PSH: a segment [seq, end)
 * sent again carries the marks of the skbs it holds the end of (Linux
 * tcp_collapse_retrans() merges their flags). */
bool tt_skb_psh_within(const struct tt_conn *c, uint32_t seq, uint32_t end)
{
    for (uint32_t i = index_of(c, seq); i < c->skbs.len; i++) {
        const struct tt_skb *skb = at(&c->skbs, i);
        if (seq_gt(skb->end, end))
            return false;
        if (skb->flags & TT_SKB_PSH)
            return true;
    }
    return false;
}

/* PSH on the skb that holds seq (Linux tcp_write_wakeup() marks the skb it
 * sends a part of). */
void tt_skb_set_psh(struct tt_conn *c, uint32_t seq)
{
    uint32_t i = index_of(c, seq);
    if (i < c->skbs.len)
        at(&c->skbs, i)->flags |= TT_SKB_PSH;
}

uint32_t tt_skb_count(const struct tt_conn *c)
{
    return c->skbs.len;
}

/* The i-th skb, 0 the oldest; false past the last. */
bool tt_skb_at(const struct tt_conn *c, uint32_t i, struct tt_skb_view *out)
{
    if (i >= c->skbs.len)
        return false;
    const struct tt_skb *skb = at(&c->skbs, i);
    *out = (struct tt_skb_view){.seq = start_of(c, i), .end = skb->end, .flags = skb->flags};
    return true;
}

/* The skb that holds the byte at seq; false when no skb does. */
bool tt_skb_find(const struct tt_conn *c, uint32_t seq, struct tt_skb_view *out)
{
    return tt_skb_at(c, index_of(c, seq), out);
}

/* Skbs not sent at all: those from SND.NXT on (Linux's write queue). */
uint32_t tt_skb_unsent_count(const struct tt_conn *c)
{
    uint32_t n = 0;
    for (uint32_t i = c->skbs.len; i > 0 && seq_geq(start_of(c, i - 1), c->snd_nxt); i--)
        n++;
    return n;
}

/*
 * Cuts the skb that holds seq into [start, seq) and [seq, end), as Linux's
 * tso_fragment() and tcp_fragment() do: the first part loses PSH and EOR,
 * the second keeps them. Nothing happens when seq is already a boundary,
 * or when there is no memory for one more record (the skb stays whole).
 */
void tt_skb_split(struct tt_conn *c, uint32_t seq)
{
    struct tt_skbq *q = &c->skbs;
    uint32_t i = index_of(c, seq);
    if (i >= q->len || start_of(c, i) == seq)
        return;
    if (q->len == q->cap && !grow(c->eng, q))
        return;
    for (uint32_t k = q->len; k > i; k--)
        *at(q, k) = *at(q, k - 1);
    q->len++;
    struct tt_skb *first = at(q, i);
    first->end = seq;
    first->flags &= (uint8_t) ~(TT_SKB_PSH | TT_SKB_EOR);
}

/* Segments of [seq, end), as Linux's tcp_skb_pcount() counts the skbs that
 * hold it: each skb's share in whole segments of mss. */
static uint32_t pcount_in(const struct tt_conn *c, uint32_t seq, uint32_t end, uint32_t mss)
{
    uint32_t n = 0;
    for (uint32_t i = index_of(c, seq); i < c->skbs.len && seq_lt(seq, end); i++) {
        uint32_t part = seq_min(at(&c->skbs, i)->end, end) - seq;
        n += (part + mss - 1) / mss;
        seq += part;
    }
    if (seq_lt(seq, end))
        n += (end - seq + mss - 1) / mss; /* beyond the skbs: whole segments */
    return n;
}

/*
 * The SACKed segments, as Linux counts sacked_out: the tcp_skb_pcount() of
 * the skbs (or their parts, tcp_match_skb_to_sack()) the peer SACKed. Three
 * SACKed 400-byte records are three, not the two MSS their bytes make.
 */
uint32_t tt_skb_sacked_pcount(const struct tt_conn *c)
{
    uint32_t mss = c->mss ? c->mss : 1, n = 0;
    for (size_t i = 0; i < c->nsacked; i++) {
        const struct tcp_sack_block *b = &c->sacked[i];
        if (seq_leq(c->snd_nxt, b->left))
            break;
        n += pcount_in(c, b->left, seq_min(b->right, c->snd_nxt), mss);
    }
    return n;
}

/* SND.UNA moved (snd_buf_seq with it): skbs wholly acknowledged go. */
void tt_skb_acked(struct tt_conn *c)
{
    struct tt_skbq *q = &c->skbs;
    while (q->len > 0 && seq_leq(at(q, 0)->end, c->snd_buf_seq)) {
        q->head = ring_wrap((uint64_t)q->head + 1, q->cap);
        q->len--;
    }
    /* A first-size ring (SKB_MIN records, 32 bytes) stays while the
     * connection lives: a request/response connection would take it from
     * the spares and give it back at every answer (issue 15). A grown one
     * goes, so that an idle connection holds at most that. */
    if (q->len == 0) {
        q->head = 0;
        if (q->cap > SKB_MIN)
            tt_skb_free(c);
    }
}

void tt_skb_free(struct tt_conn *c)
{
    release(c->eng, &c->skbs);
    c->skbs.v = NULL;
    c->skbs.cap = c->skbs.len = c->skbs.head = 0;
}
