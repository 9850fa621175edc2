/*
 * TCP_NOTSENT_LOWAT, as Linux has it (tcp_notsent_lowat(),
 * tcp_stream_memory_free(), tcp_sendmsg_locked()): a low-water mark on the
 * bytes queued but not yet sent. Below it the connection is writable;
 * above it a write stops queueing. The mark is the connection's own
 * (setsockopt) or else the engine's tcp_notsent_lowat; UINT32_MAX, the
 * default, is off.
 *
 * Two tests, as Linux's `wake` argument: a write goes on queueing while
 * the unsent bytes are below the mark (wake 0); poll() and the wake-up of a
 * writer want them below half the mark (wake 1), so that a woken writer
 * finds room for a good chunk rather than a few bytes. Those two tests
 * are inline in engine.h, for tcb.c to ask without calling in here.
 */
#include "engine.h"
#include "seq.h"

/* What may leave now at SND.NXT: both windows (tcp_output.c). */
static uint32_t send_room(const struct tt_conn *c)
{
    uint32_t end = tt_tcp_usable_window_end(c);
    return seq_gt(end, c->snd_nxt) ? end - c->snd_nxt : 0;
}

/*
 * How much of a write of want bytes Linux's tcp_sendmsg_locked() queues
 * under the mark. It fills skbs of size_goal() bytes and asks
 * sk_stream_memory_free() (wake 0) only before starting a new one, so the
 * last chunk may go past the mark; a full skb at the head of the unsent
 * queue is pushed at once (tcp_push_one()), sending what the windows take
 * and leaving its rest as the partial tail the write fills next. This
 * replays that on numbers; the engine sends after the write, as the
 * windows allow, the same bytes. With the mark off: all of want.
 */
uint32_t tt_lowat_write_len(const struct tt_conn *c, uint32_t want)
{
    uint64_t lowat = tt_lowat_of(c);
    if (lowat == UINT32_MAX)
        return want;
    uint64_t goal = tt_skb_size_goal(c), room = send_room(c);
    uint64_t unsent = tt_lowat_notsent(c), tail = unsent % goal, done = 0;
    while (done < want) {
        if (tail == 0 && unsent >= lowat)
            break; /* a new skb: only below the mark */
        uint64_t add = goal - tail < want - done ? goal - tail : want - done;
        done += add;
        unsent += add;
        tail += add;
        if (tail < goal)
            break;            /* the write ended inside this chunk */
        if (unsent == tail) { /* the send head: tcp_push_one() */
            uint64_t sent = room < unsent ? room : unsent;
            room -= sent;
            unsent -= sent;
        }
        tail = unsent % goal;
    }
    return (uint32_t)done;
}

/*
 * Linux tcp_check_space(), which runs after tcp_data_snd_check(): when an
 * ACK freed send space, a writer that was refused is woken if, after what
 * the same ACK let go, it is writable under the mark. The writable
 * callback is due before the output (its writes join the ACK's segments,
 * tcb.c), so under a mark that output may be what makes room: asked again
 * here. With the mark off, the wake-up at the ACK (tcp_ack.c) is all.
 */
void tt_lowat_check_space(struct tt_conn *c)
{
    bool shrunk = c->queue_shrunk;
    c->queue_shrunk = false;
    if (!shrunk || tt_lowat_of(c) == UINT32_MAX)
        return;
    if (c->writable_wanted && c->writable_cb && !c->orphan && tt_lowat_memory_free(c, 1))
        tt_tcb_notify_writable(c);
}
