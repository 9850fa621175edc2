/*
 * The flow's chronographs, as Linux keeps them for TCP_INFO
 * (tcp_chrono_start(), tcp_chrono_stop(); tcpi_busy_time,
 * tcpi_rwnd_limited, tcpi_sndbuf_limited): how long the connection had data
 * to send or unacknowledged (busy), and of that time how long the peer's
 * receive window held it back, and how long the send buffer did (all sent,
 * the writer waiting for room: tcp_sndmem.c). One runs at a time: a more
 * specific one takes over from a more general one (rwnd over busy, sndbuf
 * over both), and when it stops the busy one runs again while anything is
 * left to send or to be acknowledged.
 *
 * Called by the application's write (busy starts), by the output (the peer's
 * window held the flow or not, Linux tcp_write_xmit()) and by the ACK that
 * empties the flight (Linux tcp_clean_rtx_queue()), and by tcp_sndmem.c for
 * the send buffer's; calls nothing.
 */
#include "engine.h"
#include "seq.h"

static void chrono_set(struct tt_conn *c, uint8_t type)
{
    uint64_t now = c->eng->now;
    if (c->chrono_type != TT_CHRONO_NONE)
        c->chrono_stat[c->chrono_type - 1] += now - c->chrono_start;
    c->chrono_start = now;
    c->chrono_type = type;
}

/* Nothing unacknowledged and nothing waiting to be sent (Linux
 * tcp_rtx_and_write_queues_empty()). */
static bool queues_empty(const struct tt_conn *c)
{
    return c->snd_una == c->snd_nxt && seq_leq(tt_tcb_snd_end(c), c->snd_nxt);
}

void tt_chrono_start(struct tt_conn *c, uint8_t type)
{
    if (type > c->chrono_type)
        chrono_set(c, type);
}

void tt_chrono_stop(struct tt_conn *c, uint8_t type)
{
    if (queues_empty(c))
        chrono_set(c, TT_CHRONO_NONE);
    else if (type == c->chrono_type)
        chrono_set(c, TT_CHRONO_BUSY);
}

void tt_chrono_rwnd(struct tt_conn *c, bool limited)
{
    if (limited)
        tt_chrono_start(c, TT_CHRONO_RWND);
    else
        tt_chrono_stop(c, TT_CHRONO_RWND);
}

/* Each chronograph's total in microseconds, the running one up to now. */
void tt_chrono_read(const struct tt_conn *c, uint64_t *busy, uint64_t *rwnd, uint64_t *sndbuf)
{
    uint64_t stat[TT_CHRONO_SNDBUF];
    for (int i = 0; i < TT_CHRONO_SNDBUF; i++)
        stat[i] = c->chrono_stat[i];
    if (c->chrono_type != TT_CHRONO_NONE)
        stat[c->chrono_type - 1] += c->eng->now - c->chrono_start;
    *rwnd = stat[TT_CHRONO_RWND - 1];
    *sndbuf = stat[TT_CHRONO_SNDBUF - 1];
    *busy = stat[TT_CHRONO_BUSY - 1] + *rwnd + *sndbuf; /* Linux: the sum of them all */
}
