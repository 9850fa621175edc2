/*
 * The send buffer as Linux accounts it (sk_wmem_queued against sk_sndbuf):
 * what the queue holds is its payload plus, for every skb, the memory of
 * the skb itself (SKB_TRUESIZE of the empty skb tcp_stream_alloc_skb()
 * makes; the payload sits in page fragments counted byte for byte).
 *
 * - A write checks the buffer only before it starts a new skb
 *   (tcp_sendmsg_locked(): sk_stream_memory_free() at new_segment), so it
 *   may go past sk_sndbuf by up to one skb of size_goal.
 * - Sending part of an skb cuts it in two (tso_fragment()): one skb more.
 *   An ACK frees the skbs it covers and the acked bytes of a partly acked
 *   one (tcp_trim_head()).
 * - sk_sndbuf starts at the configured size and grows with the congestion
 *   window (tcp_sndbuf_expand(), at the handshake and on ACKs through
 *   tcp_new_space()), never when SO_SNDBUF fixed it (SOCK_SNDBUF_LOCK).
 * - A writer is woken, and poll() says writable, only when a third of the
 *   buffer is free: sk_stream_wspace() >= sk_stream_min_wspace(), that is
 *   sk_sndbuf - queued >= queued / 2 (sk_stream_write_space(), tcp_poll()).
 *   A refused writer sets SOCK_NOSPACE (`nospace`); only then do ACKs
 *   expand and wake (tcp_check_space()).
 *
 * The skbs are tcp_skb.c's (Linux's boundaries over the send buffer, cut
 * where packets end as tso_fragment() cuts them); a write asks before each
 * chunk it queues (tt_sndmem_may_queue()).
 */
#include "engine.h"
#include "seq.h"

/* Linux x86-64: alloc_skb_fclone(MAX_TCP_HEADER) takes a 1024-byte head
 * of which 704 bytes are usable, and SKB_TRUESIZE() adds the sk_buff (256
 * aligned) and skb_shared_info (320): 704 + 256 + 320. */
#define SKB_EMPTY_TRUESIZE 1280u
#define MAX_TCP_HEADER 320u  /* L1_CACHE_ALIGN(128 + MAX_HEADER) */
#define SKB_SHINFO_SIZE 320u /* SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) */
#define SKB_STRUCT_SIZE 256u /* SKB_DATA_ALIGN(sizeof(struct sk_buff)) */

/* The unsent tail skb a write fills first: its length, 0 when the tail
 * has been sent (even in part) or ends a record (tcp_skb.c's rule). */
static uint32_t open_tail_len(const struct tt_conn *c)
{
    struct tt_skb_view v;
    uint32_t n = tt_skb_count(c);
    if (n == 0 || !tt_skb_at(c, n - 1, &v))
        return 0;
    if (seq_lt(v.seq, c->snd_nxt) || (v.flags & TT_SKB_EOR))
        return 0;
    return v.end - v.seq;
}

/* Linux sk_wmem_queued: payload bytes plus each skb's own memory. */
uint64_t tt_sndmem_truesize(uint64_t payload, uint32_t skbs)
{
    return payload + (uint64_t)skbs * SKB_EMPTY_TRUESIZE;
}

uint64_t tt_sndmem_queued(const struct tt_conn *c)
{
    return tt_sndmem_truesize(c->sndbuf.len, tt_skb_count(c));
}

/* Linux sk_stream_memory_free() without TCP_NOTSENT_LOWAT (tcp_lowat.c
 * has that part): room for a new skb. */
static bool memory_free(const struct tt_conn *c, uint64_t queued)
{
    return queued < c->snd_sndbuf;
}

/* Linux __sk_stream_is_writeable(sk, 1): a third of the buffer free
 * (sk_stream_wspace() >= sk_stream_min_wspace()) and, under a
 * TCP_NOTSENT_LOWAT mark, fewer than half the mark unsent. */
bool tt_sndmem_writable(const struct tt_conn *c)
{
    uint64_t queued = tt_sndmem_queued(c);
    return queued < c->snd_sndbuf && c->snd_sndbuf - queued >= queued / 2 &&
           tt_lowat_memory_free(c, 1);
}

/*
 * Whether a write may queue its next bytes (Linux tcp_sendmsg_locked()):
 * into the open tail skb always; a new skb only while the queue, payload
 * and skbs, is below sk_sndbuf (sk_stream_memory_free()). Asked by the
 * write before each chunk (app.c), after the sends tcp_push_one() made
 * and the skbs they cut, so the count is the queue's as Linux has it.
 */
bool tt_sndmem_may_queue(const struct tt_conn *c)
{
    uint32_t tail = open_tail_len(c);
    if (tail > 0 && tail < tt_skb_size_goal(c))
        return true;
    return memory_free(c, tt_sndmem_queued(c));
}

/* Linux tcp_sndbuf_expand(): room for twice the larger of the initial and
 * the current congestion window (and the reordering allowance) in
 * non-GSO skbs of one segment each, a power-of-two head for each. */
static void sndbuf_expand(struct tt_conn *c)
{
    uint32_t mss = c->mss ? c->mss : 1;
    uint32_t clamp = mss + (c->ts_on ? 12u : 0u); /* Linux rx_opt.mss_clamp */
    uint32_t head = clamp + MAX_TCP_HEADER + SKB_SHINFO_SIZE, pow2 = 1;
    while (pow2 < head)
        pow2 <<= 1;
    uint64_t per_mss = pow2 + SKB_STRUCT_SIZE;
    uint64_t segs = c->cwnd / mss;
    if (segs < TT_INIT_CWND)
        segs = TT_INIT_CWND;
    if (segs < (uint64_t)c->reordering + 1)
        segs = (uint64_t)c->reordering + 1;
    uint64_t sndmem = 2 * segs * per_mss; /* 2: Linux's factor for Reno/CUBIC */
    uint32_t max =
        c->eng->cfg.sndbuf > TT_SNDBUF_EXPAND_MAX ? c->eng->cfg.sndbuf : TT_SNDBUF_EXPAND_MAX;
    if (sndmem > max)
        sndmem = max;
    if (sndmem > c->snd_sndbuf) {
        c->snd_sndbuf = (uint32_t)sndmem;
        tt_tcb_sndbuf_grew(c); /* the ring may hold that much more */
    }
}

/* Linux tcp_init_buffer_space(): at the handshake, unless SO_SNDBUF. */
void tt_sndmem_init(struct tt_conn *c)
{
    if (!c->sndbuf_locked)
        sndbuf_expand(c);
}

/* Linux tcp_should_expand_sndbuf(): not under SO_SNDBUF, and not when the
 * flight fills the congestion window. */
static bool should_expand(const struct tt_conn *c)
{
    return !c->sndbuf_locked && c->snd_nxt - c->snd_una < c->cwnd;
}

/*
 * Linux tcp_check_space() and tcp_new_space(), after an ACK's output: a
 * writer that ran out of room (SOCK_NOSPACE) may see the buffer grow, and
 * is woken once a third of it is free; the send-buffer-limited
 * chronograph stops then.
 */
void tt_sndmem_check_space(struct tt_conn *c)
{
    if (!c->nospace)
        return;
    if (should_expand(c))
        sndbuf_expand(c);
    if (!tt_sndmem_writable(c))
        return;
    c->nospace = false;
    tt_chrono_stop(c, TT_CHRONO_SNDBUF);
    if (c->writable_wanted && c->writable_cb && !c->orphan)
        tt_tcb_notify_writable(c);
}

/*
 * Linux tcp_cwnd_validate() after an output that sent data without
 * filling the congestion window: everything queued has gone and the
 * writer is waiting for room, so the send buffer is what limits the flow
 * (TCP_CHRONO_SNDBUF_LIMITED).
 */
void tt_sndmem_sent(struct tt_conn *c)
{
    bool open = c->state == TT_STATE_ESTABLISHED || c->state == TT_STATE_CLOSE_WAIT;
    if (open && c->nospace && tt_lowat_notsent(c) == 0 && c->snd_nxt - c->snd_una < c->cwnd)
        tt_chrono_start(c, TT_CHRONO_SNDBUF);
}
