/*
 * Runs of new data as one GSO datagram (tt_engine_set_gso_out()): the
 * segments Linux's TCP puts in one TSO skb leave the engine as one
 * datagram with one header, the device cutting it into wire segments as
 * the kernel's tcp_gso_segment() does (the header copied, SEQ advanced
 * by the segment size, PSH and FIN on the last segment only, CWR on the
 * first only, and, for IPv4 without the fixed-ID flag, the IP ID counting
 * up from the header's: Linux inet_gso_segment()). The engine decides
 * the segments as before (tcp_output.c: windows, Nagle, PSH, RACK, time
 * stamps, pacing); only their building and queueing is shared. The full
 * segments in the middle of a packet it decides together
 * (send_new_run()): tt_tso_joinable() says how many the run takes,
 * tt_tso_append_ring() appends them at once.
 *
 * A segment joins the run when the cut would give it back byte for byte:
 * the same connection and header fields (ACK, window, TOS, timestamps, no
 * SACK blocks), flags ACK alone or ACK|PSH, the next sequence number, no
 * longer than the run's first, and every earlier one as long as the first.
 * A short or PSH segment ends the run. Anything else is sent on its own.
 */
#include <string.h>

#include "engine.h"
#include "ipv4.h"

#define RUN_MAX_DGRAM 65535 /* IPv4's total length */
#define RUN_MAX_SEGS 64     /* as the driver's offload batch (offload.h) */
#define TCP_FLAGS_AT (IPV4_HDR_LEN + 13)

static bool same_header(const struct seg *a, const struct seg *b)
{
    return a->saddr == b->saddr && a->daddr == b->daddr && a->sport == b->sport &&
           a->dport == b->dport && a->ack == b->ack && a->wnd == b->wnd && a->tos == b->tos &&
           a->opt.ts_ok == b->opt.ts_ok && a->opt.ts_val == b->opt.ts_val &&
           a->opt.ts_ecr == b->opt.ts_ecr && b->opt.sack_count == 0 && b->up == 0;
}

/* Whether s continues the open run (the rules above). */
static bool joins(const struct tt_tso_run *run, const struct seg *s, int state)
{
    if (!run->open || state != run->state || (s->flags & (uint8_t)~TCP_PSH) != TCP_ACK)
        return false;
    if (s->len == 0 || s->len > run->mss || run->payload != run->segs * run->mss)
        return false;
    if (run->segs >= RUN_MAX_SEGS || run->hlen + run->payload + s->len > run->cap)
        return false;
    return s->seq == run->first.seq + run->payload && same_header(&run->first, s);
}

/* n wire segments sent: counted as tt_tcp_send_raw() and tt_engine_output_push() count them. */
static void count_segs(tt_engine_t *eng, uint32_t n)
{
    eng->ip_id = (uint16_t)(eng->ip_id + n); /* the IDs the kernel's cut gives them */
    eng->stats.TcpOutSegs += n;
    eng->stats.IpOutRequests += n;
}

/* The run grew by segs segments, len bytes, already in its buffer. */
static void grown(struct tt_tso_run *run, uint32_t len, uint32_t segs)
{
    run->payload += len;
    run->segs += segs;
    uint32_t total = run->hlen + run->payload;
    run->buf[2] = (uint8_t)(total >> 8); /* the datagram's length; the device completes the rest */
    run->buf[3] = (uint8_t)total;
}

static void append(tt_engine_t *eng, struct tt_tso_run *run, const struct seg *s)
{
    memcpy(run->buf + run->hlen + run->payload, s->data, s->len);
    grown(run, s->len, 1);
    run->buf[TCP_FLAGS_AT] |= s->flags & TCP_PSH; /* the last segment's flags */
    count_segs(eng, 1);
    if (s->len < run->mss || (s->flags & TCP_PSH))
        tt_engine_output_run_close(eng); /* cannot grow */
}

/* A run starts with a full bare-ACK data segment; false when s cannot start one. */
static bool open_run(tt_engine_t *eng, const struct seg *s, int state)
{
    struct tt_tso_run *run = &eng->run;
    size_t cap = IPV4_HDR_LEN + TCP_HDR_LEN + TCP_MAX_OPT_LEN + s->len;

    if (s->flags != TCP_ACK || s->len == 0 || s->opt.sack_count > 0 || s->up != 0)
        return false;
    size_t room;
    uint8_t *buf = tt_engine_output_run_buf(eng, cap, RUN_MAX_DGRAM, &room);
    size_t n = buf ? tt_tcp_build_partial(buf, cap, s, eng->ip_id) : 0;
    if (n == 0)
        return false;
    run->open = true;
    run->first = *s;
    run->buf = buf;
    run->state = state;
    run->cap = (uint32_t)room;
    run->hlen = (uint32_t)(n - s->len);
    run->mss = s->len;
    run->payload = s->len;
    run->segs = 1;
    count_segs(eng, 1);
    return true;
}

bool tt_tso_take(tt_engine_t *eng, const struct seg *s, int state)
{
    if (eng->local_cong || !eng->csum_partial)
        return false;
    if (joins(&eng->run, s, state)) {
        append(eng, &eng->run, s);
        return true;
    }
    return open_run(eng, s, state);
}

/*
 * How many segments, s and those after it, each as long as s and with the
 * same header but SEQ, may join the open run at once (the engine decided
 * them together, tcp_output.c): 0 when s does not join it. Only segments
 * as long as the run's first, and without PSH: none of them ends the run.
 */
uint32_t tt_tso_joinable(const tt_engine_t *eng, const struct seg *s, int state)
{
    const struct tt_tso_run *run = &eng->run;
    if (eng->local_cong || !eng->csum_partial || s->len != run->mss || (s->flags & TCP_PSH) ||
        !joins(run, s, state))
        return 0;
    uint32_t by_segs = RUN_MAX_SEGS - run->segs;
    uint32_t by_bytes = (run->cap - run->hlen - run->payload) / s->len;
    return by_segs < by_bytes ? by_segs : by_bytes;
}

/* Appends segs such segments (tt_tso_joinable()), their payload the len
 * bytes at off in the send ring r, copied where they lie, in two pieces
 * only where they wrap. Each is a wire segment sent (count_segs()). With
 * psh the last carries PSH and the run ends (append()). */
void tt_tso_append_ring(tt_engine_t *eng, const struct ring *r, uint32_t off, uint32_t segs,
                        bool psh)
{
    struct tt_tso_run *run = &eng->run;
    uint32_t len = segs * run->mss;

    tt_ring_peek(r, off, run->buf + run->hlen + run->payload, len);
    grown(run, len, segs);
    count_segs(eng, segs);
    if (psh) {
        run->buf[TCP_FLAGS_AT] |= TCP_PSH;
        tt_engine_output_run_close(eng);
    }
}
