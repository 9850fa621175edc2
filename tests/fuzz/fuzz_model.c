/*
 * The fuzz harness's model of the conversation (see fuzz_model.h) and the
 * invariants it checks. Only what the API, docs/contract.md or the RFCs promise is
 * asserted:
 *
 * - every datagram the engine sends parses (RFC 791 header and checksum,
 *   RFC 9293 3.1 TCP checksum and options), comes from the engine's address,
 *   and a TCP one fits the configured MTU;
 * - its payload is the bytes the application wrote (the pattern);
 * - it never acknowledges a sequence number the peer has not sent
 *   (RFC 9293 3.4: SEG.ACK is the next sequence number expected), nor sends
 *   data past any window the peer offered (RFC 9293 3.8.6) on an ACK the
 *   engine could take a window from (SND.UNA =< SEG.ACK =< SND.NXT, read
 *   from its TCB: RFC 9293 3.10.7.4);
 * - an accepted RST is not older than the engine's last ACK (RFC 5961 3.2);
 * - state events follow the RFC 9293 3.3.2 diagram, each from the state the
 *   previous event announced, and a CLOSED event names a reason that fits
 *   the state it leaves (docs/contract.md §4); TIME_WAIT lasts exactly 2*MSL and ends
 *   early only for the reasons docs/contract.md §2.2 lists;
 * - tt_engine_conn_count(), tt_engine_timewait_count() and
 *   tt_engine_conn_state() agree with those events, and TIME_WAIT entries
 *   never exceed tcp_max_tw_buckets (docs/contract.md §2.2).
 */
#include "fuzz_model.h"
#include "fuzz.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ipv4.h"
#include "seq.h"

void fz_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz_engine: invariant broken: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

void model_init(struct model *m, const tt_config_t *cfg, bool trace)
{
    memset(m, 0, sizeof(*m));
    m->addr = cfg->addr;
    m->mtu = cfg->mtu;
    m->msl_us = cfg->msl_us;
    /* Every connection timer is capped at TT_RTO_MAX and every retry limit
     * (tcp_retries2, tcp_orphan_retries, the zero-window probe's backoff to
     * TT_RTO_MAX) is a few dozen timeouts at most, so an orphan that makes
     * no progress is gone within 30 capped intervals, plus FIN_WAIT_2's
     * tcp_fin_timeout. Before issue 11 a zero-window orphan lived for ever. */
    m->orphan_stall_max = 30 * TT_RTO_MAX + cfg->fin_timeout_us;
    m->rfc1337 = cfg->tcp_rfc1337 != 0;
    m->tw_reuse = cfg->tcp_tw_reuse != 0;
    m->pure_in = true;
    m->pure_out = true;
    m->trace = trace;
}

/* A flow is worth keeping while the engine may still hold its tuple. */
static bool flow_has_history(const struct flow *fl)
{
    return fl->state != TT_STATE_CLOSED;
}

static struct flow *flow_slot(struct model *m)
{
    for (unsigned i = 0; i < FZ_FLOWS; i++) {
        if (!m->flows[i].used)
            return &m->flows[i];
    }
    struct flow *fl = &m->flows[m->next_victim++ % FZ_FLOWS];
    if (flow_has_history(fl) || fl->have_peer) {
        if (m->trace && !m->evicted)
            fprintf(stderr, "  model: flow table full, the count checks stop here\n");
        m->evicted = true;
    }
    return fl;
}

struct flow *model_flow(struct model *m, uint32_t raddr, uint16_t lport, uint16_t rport,
                        bool create)
{
    for (unsigned i = 0; i < FZ_FLOWS; i++) {
        struct flow *fl = &m->flows[i];
        if (fl->used && fl->raddr == raddr && fl->lport == lport && fl->rport == rport)
            return fl;
    }
    if (!create)
        return NULL;
    struct flow *fl = flow_slot(m);
    unsigned idx = (unsigned)(fl - m->flows);
    memset(fl, 0, sizeof(*fl));
    fl->used = true;
    fl->raddr = raddr;
    fl->lport = lport;
    fl->rport = rport;
    fl->clean = true;
    fl->peer_isn = 0x10000000u + idx * 0x01000000u; /* far from its neighbours */
    fl->ts_base = 0x00100000u * (idx + 1);
    fl->state = TT_STATE_CLOSED;
    return fl;
}

/* ---- what goes in ---- */

/* Payload byte i of a segment is (uint8_t)(sequence number of that byte). */
static bool payload_follows_pattern(const struct seg *s)
{
    uint32_t first = s->seq + ((s->flags & TCP_SYN) ? 1 : 0);

    return pattern_prefix(s->data, s->len, (uint8_t)first) == s->len;
}

/*
 * Widens [peer_lo, peer_hi], the span of sequence numbers the peer's
 * segments ended at. "Highest" means something only while that span stays
 * within 2^30 (a window's largest size, RFC 7323 2.3): a peer that jumps
 * about may walk round the whole sequence space in steps that each look
 * small, after which an old SYN's sequence number would seem to lie ahead
 * of everything. Once the span passes 2^30 the flow stops being checked.
 */
static void note_peer_seq(struct flow *fl, const struct seg *s)
{
    uint32_t end = s->seq + seg_len(s);

    if (!fl->have_peer) {
        fl->have_peer = true;
        fl->peer_lo = fl->peer_hi = end;
        return;
    }
    uint32_t span = fl->peer_hi - fl->peer_lo;
    if (end - fl->peer_lo <= span)
        return; /* inside */
    uint32_t ahead = end - fl->peer_hi, behind = fl->peer_lo - end;
    if ((uint64_t)span + (ahead < behind ? ahead : behind) > (1u << 30))
        fl->clean = false;
    else if (ahead < behind)
        fl->peer_hi = end;
    else
        fl->peer_lo = end;
}

/*
 * A bound on the right edge of the send window (RFC 9293 3.8.6): SND.UNA is
 * at most the highest SEG.ACK the engine could accept (between our ISS and
 * what we sent), and SND.WND at most the largest window offered, scaled by
 * the largest scale any SYN asked for. Not the highest SEG.ACK + SEG.WND
 * seen: under the SND.WL1/SND.WL2 rule an ACK of new data in a segment with
 * an older SEG.SEQ moves SND.UNA and leaves SND.WND, so the edge may pass
 * any the peer named. A window is at most 2^30 (RFC 7323 2.3), so values
 * compare in sequence space.
 */
static void note_peer_window(struct flow *fl, const struct seg *s, bool usable)
{
    if (s->flags & TCP_SYN) {
        if (s->opt.ws_ok && s->opt.ws > fl->peer_ws)
            fl->peer_ws = s->opt.ws > 14 ? 14 : s->opt.ws; /* RFC 7323 2.3 */
    }
    if (!(s->flags & TCP_ACK) || !fl->have_iss || !usable)
        return;
    if (seq_lt(s->ack, fl->eng_iss) || seq_gt(s->ack, fl->eng_nxt))
        return;
    uint32_t shift = (s->flags & TCP_SYN) ? 0 : fl->peer_ws; /* RFC 7323 2.2 */
    uint32_t wnd = (uint32_t)s->wnd << shift;
    if (!fl->have_edge || seq_gt(s->ack, fl->peer_max_ack))
        fl->peer_max_ack = s->ack;
    if (!fl->have_edge || wnd > fl->peer_max_wnd)
        fl->peer_max_wnd = wnd;
    fl->have_edge = true;
}

/*
 * White box: the engine's TCB for the segment's 4-tuple, before the segment
 * is processed. The wire does not show SND.UNA, and RFC 9293 3.10.7.4 lets
 * only an ACK with SND.UNA =< SEG.ACK =< SND.NXT update the window: the
 * window of any other (an old duplicate, one beyond SND.NXT) must not count
 * toward the edge check_window() allows.
 */
static const struct tt_conn *tcb_for(const tt_engine_t *eng, const struct seg *s)
{
    for (const struct tt_conn *c = eng->all_conns; c; c = c->all_next) {
        if (!c->detached && c->t.raddr == s->saddr && c->t.lport == s->dport &&
            c->t.rport == s->sport)
            return c;
    }
    return NULL;
}

static bool window_usable(const tt_engine_t *eng, const struct seg *s)
{
    const struct tt_conn *c = tcb_for(eng, s);

    /* No TCB: a SYN or a cookie's ACK may make one, with this window. */
    return c == NULL || (seq_leq(c->snd_una, s->ack) && seq_leq(s->ack, c->snd_nxt));
}

void model_note_input(struct model *m, const tt_engine_t *eng, const uint8_t *pkt, size_t len)
{
    struct ipv4_hdr ip;
    struct seg s;

    if (tt_ipv4_parse(pkt, len, &ip) != IPV4_OK || ip.dst != m->addr || ip.proto != IP_PROTO_TCP)
        return;
    if (tt_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &s) != TCP_OK)
        return;
    struct flow *fl = model_flow(m, s.saddr, s.dport, s.sport, true);
    m->in_valid = true;
    m->in_seq = s.seq;
    m->in_ack = s.ack;
    m->in_wnd = s.wnd;
    m->in_flags = s.flags;
    if (!payload_follows_pattern(&s))
        m->pure_in = false;
    if (s.flags & TCP_SYN)
        fl->peer_isn = s.seq;
    if (s.flags & TCP_FIN)
        fl->fin_seen = true;
    note_peer_seq(fl, &s);
    note_peer_window(fl, &s, window_usable(eng, &s));
}

void model_input_done(struct model *m)
{
    m->in_valid = false;
}

/* ---- what comes out ---- */

static void check_icmp(const struct ipv4_hdr *ip)
{
    /* We only ever answer echo requests: the reply is well formed. */
    FZ_CHECK(tt_icmp_classify(ip) == ICMP_OTHER && ip->payload[0] == 0 && ip->payload[1] == 0,
             "output: ICMP message that is not a valid echo reply");
}

/* RFC 9293 3.4: an ACK names the next sequence number expected, so it can
 * never lie beyond what the peer sent. */
static void check_ack(const struct model *m, const struct flow *fl, const struct seg *s)
{
    if (!(s->flags & TCP_ACK) || m->evicted || !m->pure_in || !fl->clean)
        return;
    FZ_CHECK(fl->have_peer, "output: ACK %08" PRIx32 " on %u>%u, where the peer never spoke",
             s->ack, s->sport, s->dport);
    FZ_CHECK(seq_leq(s->ack, fl->peer_hi),
             "output: ACK %08" PRIx32 " beyond all the peer sent (%08" PRIx32 ") on %u>%u", s->ack,
             fl->peer_hi, s->sport, s->dport);
}

/* RFC 9293 3.8.6: data goes no further than the window the peer offered
 * (zero-window probes carry none here). */
static void check_window(const struct model *m, const struct flow *fl, const struct seg *s)
{
    if (s->len == 0 || m->evicted)
        return;
    FZ_CHECK(fl->have_edge, "output: data on %u>%u before the peer offered a window", s->sport,
             s->dport);
    uint32_t edge = fl->peer_max_ack + fl->peer_max_wnd;
    FZ_CHECK(seq_leq(s->seq + s->len, edge),
             "output: data up to %08" PRIx32 " on %u>%u, beyond any window the peer offered "
             "(%08" PRIx32 ")",
             s->seq + s->len, s->sport, s->dport, edge);
}

static void learn_output(struct flow *fl, const struct seg *s)
{
    uint32_t end = s->seq + seg_len(s);

    if ((s->flags & TCP_SYN) && (!fl->have_iss || s->seq != fl->eng_iss)) {
        /* A new ISS, a new incarnation: nothing of the last one holds. */
        fl->have_iss = true;
        fl->eng_iss = s->seq;
        fl->eng_nxt = end;
        fl->have_edge = fl->have_eng_ack = false;
    }
    /* A RST takes no sequence space, and one that answers a stray segment
     * carries the peer's number (RFC 9293 3.10.7.1 and 3.10.7.3). */
    if (!(s->flags & TCP_RST) && (!fl->have_eng || seq_gt(end, fl->eng_nxt))) {
        fl->eng_nxt = end;
        fl->have_eng = true;
    }
    fl->eng_seq = s->seq;
    if (s->flags & TCP_ACK) {
        fl->eng_ack = s->ack;
        fl->have_eng_ack = true;
    }
    if (s->opt.ts_ok)
        fl->eng_tsval = s->opt.ts_val;
}

static void trace_output(const struct model *m, const struct seg *s)
{
    if (!m->trace)
        return;
    fprintf(stderr,
            "  out %u>%u flags %02x seq %08" PRIx32 " ack %08" PRIx32 " wnd %u len %" PRIu32,
            s->sport, s->dport, s->flags, s->seq, s->ack, s->wnd, s->len);
    if (s->opt.ts_ok)
        fprintf(stderr, " ts %08" PRIx32 "/%08" PRIx32, s->opt.ts_val, s->opt.ts_ecr);
    fprintf(stderr, "\n");
}

/* The flight as each segment leaves, white box: within one operation a
 * connection to ourselves can fill and drain its window before the
 * operation's end, where check_tcbs() looks. Segments are handed out at the
 * end of the engine call that sent them; SND.UNA moves in a call only
 * before its first send (the ACK step comes before any output), so the
 * flight is the same as at send time. A TCB that ended in that call is
 * skipped: its flight no longer bounds anything. */
static void note_flight(const struct model *m, struct flow *fl, const struct seg *s)
{
    if (!m->eng || (s->flags & TCP_RST))
        return;
    for (const struct tt_conn *c = m->eng->all_conns; c; c = c->all_next) {
        if (c->detached || c->t.raddr != s->daddr || c->t.lport != s->sport ||
            c->t.rport != s->dport)
            continue;
        uint32_t end = s->seq + seg_len(s);
        if (seq_gt(end, c->snd_una) && end - c->snd_una > fl->max_flight)
            fl->max_flight = end - c->snd_una;
        return;
    }
}

static void check_tcp(struct model *m, const struct ipv4_hdr *ip, size_t len)
{
    struct seg s;
    int r = tt_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, &s);

    FZ_CHECK(r == TCP_OK, "output: TCP segment does not parse (%d)", r);
    FZ_CHECK(len <= m->mtu, "output: %zu-byte TCP datagram, MTU %" PRIu32, len, m->mtu);
    trace_output(m, &s);
    FZ_CHECK(!m->pure_out || payload_follows_pattern(&s),
             "output: payload of %u>%u at %08" PRIx32 " is not what the application wrote", s.sport,
             s.dport, s.seq);
    struct flow *fl = model_flow(m, s.daddr, s.sport, s.dport, true);
    check_ack(m, fl, &s);
    check_window(m, fl, &s);
    learn_output(fl, &s);
    note_flight(m, fl, &s);
}

/* White box: callbacks and datagrams leave the engine only while its
 * outermost call ends (engine.c), where no protocol step is under way that
 * a callback could pull a connection from under. */
void model_check_callback(const struct model *m)
{
    FZ_CHECK(m->eng && m->eng->ending && m->eng->depth == 1,
             "called back from inside an engine call (depth %d, ending %d)",
             m->eng ? m->eng->depth : -1, m->eng ? m->eng->ending : -1);
}

void model_check_output(struct model *m, const uint8_t *pkt, size_t len)
{
    struct ipv4_hdr ip;
    int r = tt_ipv4_parse(pkt, len, &ip);

    model_check_callback(m);
    FZ_CHECK(r == IPV4_OK, "output: IPv4 datagram does not parse (%d)", r);
    FZ_CHECK(ip.total_len == len, "output: total length %u in a %zu-byte datagram", ip.total_len,
             len);
    FZ_CHECK(ip.src == m->addr, "output: source %08" PRIx32 " is not ours", ip.src);
    if (ip.proto == IP_PROTO_ICMP)
        check_icmp(&ip);
    else if (ip.proto == IP_PROTO_TCP)
        check_tcp(m, &ip, len);
    else
        fz_fail("output: IP protocol %u", ip.proto);
}

/* ---- events ---- */

#define BIT(s) (1u << (s))

/* RFC 9293 3.3.2, figure 5, plus simultaneous open (3.5) and close (3.6). */
static bool transition_allowed(tt_state_t from, tt_state_t to)
{
    static const unsigned next[] = {
        [TT_STATE_CLOSED] = BIT(TT_STATE_SYN_SENT),
        [TT_STATE_LISTEN] = BIT(TT_STATE_SYN_RECEIVED),
        [TT_STATE_SYN_SENT] =
            BIT(TT_STATE_SYN_RECEIVED) | BIT(TT_STATE_ESTABLISHED) | BIT(TT_STATE_CLOSED),
        [TT_STATE_SYN_RECEIVED] = BIT(TT_STATE_ESTABLISHED) | BIT(TT_STATE_FIN_WAIT_1) |
                                  BIT(TT_STATE_CLOSE_WAIT) | BIT(TT_STATE_CLOSED),
        [TT_STATE_ESTABLISHED] =
            BIT(TT_STATE_FIN_WAIT_1) | BIT(TT_STATE_CLOSE_WAIT) | BIT(TT_STATE_CLOSED),
        [TT_STATE_FIN_WAIT_1] = BIT(TT_STATE_FIN_WAIT_2) | BIT(TT_STATE_CLOSING) |
                                BIT(TT_STATE_TIME_WAIT) | BIT(TT_STATE_CLOSED),
        [TT_STATE_FIN_WAIT_2] = BIT(TT_STATE_TIME_WAIT) | BIT(TT_STATE_CLOSED),
        [TT_STATE_CLOSE_WAIT] = BIT(TT_STATE_LAST_ACK) | BIT(TT_STATE_CLOSED),
        [TT_STATE_CLOSING] = BIT(TT_STATE_TIME_WAIT) | BIT(TT_STATE_CLOSED),
        [TT_STATE_LAST_ACK] = BIT(TT_STATE_CLOSED),
        [TT_STATE_TIME_WAIT] = BIT(TT_STATE_CLOSED),
    };
    if ((unsigned)from > TT_STATE_TIME_WAIT || (unsigned)to > TT_STATE_TIME_WAIT)
        return false;
    return (next[from] & BIT(to)) != 0;
}

/* docs/contract.md §4: the reasons tied to one state. */
static bool why_fits(tt_state_t from, tt_close_reason_t why)
{
    switch (why) {
    case TT_WHY_NONE:
        return false;
    case TT_WHY_LAST_ACK:
        return from == TT_STATE_LAST_ACK;
    case TT_WHY_TIMEWAIT_EXPIRED:
    case TT_WHY_TIMEWAIT_RST:
    case TT_WHY_TIMEWAIT_SYN:
    case TT_WHY_TIMEWAIT_REUSED:
        return from == TT_STATE_TIME_WAIT;
    case TT_WHY_TW_OVERFLOW: /* TIME_WAIT skipped: from where it would begin */
        return from == TT_STATE_FIN_WAIT_1 || from == TT_STATE_FIN_WAIT_2 ||
               from == TT_STATE_CLOSING;
    case TT_WHY_FIN_TIMEOUT:
        return from == TT_STATE_FIN_WAIT_2;
    case TT_WHY_REFUSED:
        return from == TT_STATE_SYN_SENT || from == TT_STATE_SYN_RECEIVED;
    default:
        return (unsigned)why <= TT_WHY_APP_CLOSE;
    }
}

/* docs/contract.md §2.2: TIME_WAIT lasts 2*MSL from the final ACK (sent in the very call
 * that enters it), restarted only by the peer's FIN; it ends early only by a
 * RST (tcp_rfc1337=0), a new SYN, tcp_tw_reuse, or the bucket limit. */
static void check_timewait_end(const struct model *m, const struct flow *fl, const tt_event_t *ev)
{
    bool rst = m->in_valid && (m->in_flags & TCP_RST);
    bool syn = m->in_valid && (m->in_flags & TCP_SYN);

    switch (ev->why) {
    case TT_WHY_TIMEWAIT_EXPIRED:
        FZ_CHECK(ev->now_us == fl->tw_expires,
                 "event: %u>%u TIME_WAIT expired at %" PRIu64 ", 2*MSL ends at %" PRIu64, ev->lport,
                 ev->rport, ev->now_us, fl->tw_expires);
        break;
    case TT_WHY_TIMEWAIT_RST:
        FZ_CHECK(rst && !m->rfc1337,
                 "event: %u>%u TIME_WAIT killed without a RST, or with "
                 "tcp_rfc1337=1",
                 ev->lport, ev->rport);
        break;
    case TT_WHY_TIMEWAIT_SYN:
        FZ_CHECK(syn && !rst, "event: %u>%u TIME_WAIT taken over without a SYN", ev->lport,
                 ev->rport);
        break;
    case TT_WHY_TIMEWAIT_REUSED:
        FZ_CHECK(m->tw_reuse && !m->in_valid, "event: %u>%u TIME_WAIT reused %s", ev->lport,
                 ev->rport, m->tw_reuse ? "by an input" : "with tcp_tw_reuse=0");
        break;
    default:
        break;
    }
}

/*
 * A new TCB for the tuple: what the engine said on it before (stateless SYN
 * cookie SYN-ACKs, a RST, an old incarnation) no longer bounds its RCV.NXT.
 * A TCB made by the ACK of a SYN cookie (RFC 4987 3.6) sends no SYN-ACK of
 * its own: its ISS and RCV.NXT are in that ACK, and so is the peer's window.
 */
static void new_incarnation(const struct model *m, struct flow *fl, const tt_event_t *ev)
{
    fl->have_eng_ack = false;
    bool cookie = ev->from == TT_STATE_LISTEN && m->in_valid &&
                  (m->in_flags & (TCP_SYN | TCP_ACK)) == TCP_ACK;
    if (!cookie)
        return;
    fl->have_iss = fl->have_eng = fl->have_eng_ack = fl->have_edge = true;
    fl->eng_iss = m->in_ack - 1;
    fl->eng_nxt = m->in_ack;
    fl->eng_ack = m->in_seq;
    fl->peer_max_ack = m->in_ack;
    fl->peer_max_wnd = (uint32_t)m->in_wnd << fl->peer_ws;
}

static void check_state_event(const struct model *m, struct flow *fl, const tt_event_t *ev)
{
    /* A passive open starts as a TCB in LISTEN (RFC 9293 3.10.7.2), with no
     * event of its own; anything else continues from the announced state. */
    bool fresh = ev->from == TT_STATE_LISTEN && fl->state == TT_STATE_CLOSED;
    FZ_CHECK(m->evicted || fresh || ev->from == fl->state,
             "event: %u>%u goes %s -> %s, but it was in %s", ev->lport, ev->rport,
             tt_state_name(ev->from), tt_state_name(ev->to), tt_state_name(fl->state));
    FZ_CHECK(transition_allowed(ev->from, ev->to), "event: %u>%u: %s -> %s is no RFC transition",
             ev->lport, ev->rport, tt_state_name(ev->from), tt_state_name(ev->to));
    FZ_CHECK(ev->to != TT_STATE_CLOSED || why_fits(ev->from, ev->why),
             "event: %u>%u: %s -> CLOSED with why %s", ev->lport, ev->rport,
             tt_state_name(ev->from), tt_close_reason_name(ev->why));
    if (ev->from == TT_STATE_TIME_WAIT && !m->evicted)
        check_timewait_end(m, fl, ev);
    if (ev->to == TT_STATE_TIME_WAIT)
        fl->tw_expires = ev->now_us + 2 * m->msl_us;
    if (ev->from == TT_STATE_LISTEN || ev->to == TT_STATE_SYN_SENT)
        new_incarnation(m, fl, ev);
    fl->state = ev->to;
    fl->orphan_seen = false; /* a new state is progress (check_orphan) */
}

/* RFC 9293 3.10.7.4 eighth step, docs/contract.md §2.2 item 4: only the peer's FIN again. */
static void check_timewait_restart(const struct model *m, struct flow *fl, const tt_event_t *ev)
{
    FZ_CHECK(m->evicted || fl->state == TT_STATE_TIME_WAIT, "event: 2MSL restart in %s",
             tt_state_name(fl->state));
    FZ_CHECK(m->in_valid && (m->in_flags & TCP_FIN) && !(m->in_flags & (TCP_SYN | TCP_RST)),
             "event: %u>%u 2MSL restarted by a segment without FIN (flags %02x)", ev->lport,
             ev->rport, m->in_valid ? m->in_flags : 0);
    FZ_CHECK(ev->expires_us == ev->now_us + 2 * m->msl_us,
             "event: 2MSL restart to %" PRIu64 " at %" PRIu64 ", MSL %" PRIu64, ev->expires_us,
             ev->now_us, m->msl_us);
    fl->tw_expires = ev->expires_us;
}

/* RFC 5961 3.2: a RST resets only when SEG.SEQ is exactly RCV.NXT. The
 * engine's RCV.NXT is at least the last ACK it sent, so a RST that lies
 * before that ACK must not be accepted, whatever else it carries. */
static void check_rst_in(const struct model *m, const struct flow *fl)
{
    FZ_CHECK(m->in_valid && (m->in_flags & TCP_RST), "event: rst_in without a RST coming in");
    if (!fl->have_eng_ack || m->evicted)
        return;
    FZ_CHECK(seq_geq(m->in_seq, fl->eng_ack),
             "event: RST with SEG.SEQ %08" PRIx32 " accepted on %u>%u, RCV.NXT >= %08" PRIx32
             " (flags %02x)",
             m->in_seq, fl->lport, fl->rport, fl->eng_ack, m->in_flags);
}

void model_check_event(struct model *m, const tt_event_t *ev)
{
    FZ_CHECK(ev->now_us == m->now, "event at %" PRIu64 ", the clock says %" PRIu64, ev->now_us,
             m->now);
    FZ_CHECK(ev->laddr == m->addr, "event for local address %08" PRIx32, ev->laddr);
    /* Events of no connection: nothing of a flow to check them against. */
    if (ev->type == TT_EV_RST_NOCONN) {
        FZ_CHECK(ev->rst_why != NULL, "event: rst_noconn without why");
        FZ_CHECK(!(ev->seg_flags & TCP_RST), "event: rst_noconn answering a RST");
        return;
    }
    if (ev->type == TT_EV_CONNECT_FAIL) {
        FZ_CHECK(ev->err < 0, "event: connect_fail with err %d", ev->err);
        return;
    }
    m->dirty = true;
    struct flow *fl = model_flow(m, ev->raddr, ev->lport, ev->rport, true);
    if (m->trace && ev->type == TT_EV_STATE)
        fprintf(stderr, "  ev %u>%u %s -> %s %s\n", ev->lport, ev->rport, tt_state_name(ev->from),
                tt_state_name(ev->to),
                ev->to == TT_STATE_CLOSED ? tt_close_reason_name(ev->why) : "");
    switch (ev->type) {
    case TT_EV_STATE:
        check_state_event(m, fl, ev);
        break;
    case TT_EV_TIMEWAIT_RESTART:
        check_timewait_restart(m, fl, ev);
        break;
    case TT_EV_RST_IN:
        FZ_CHECK(m->evicted || ev->state == fl->state,
                 "event: rst_in says %s, the connection is in %s", tt_state_name(ev->state),
                 tt_state_name(fl->state));
        check_rst_in(m, fl);
        break;
    case TT_EV_RST_OUT:
        FZ_CHECK(ev->rst_why != NULL, "event: rst_out without why");
        break;
    case TT_EV_LINGER_EXPIRED:
        FZ_CHECK(m->evicted || ev->state == fl->state,
                 "event: linger_expired says %s, the connection is in %s", tt_state_name(ev->state),
                 tt_state_name(fl->state));
        break;
    default:
        fz_fail("event: unknown type %d", (int)ev->type);
    }
}

/* ---- the engine's own view ---- */

static void check_flow_state(tt_engine_t *eng, const struct model *m, const struct flow *fl)
{
    int got = tt_engine_conn_state(eng, m->addr, fl->lport, fl->raddr, fl->rport);
    if (fl->state != TT_STATE_CLOSED) {
        FZ_CHECK(got == (int)fl->state, "conn_state %u>%u is %d, its events say %s", fl->lport,
                 fl->rport, got, tt_state_name(fl->state));
        return;
    }
    FZ_CHECK(got == -ENOENT || got == TT_STATE_LISTEN,
             "conn_state %u>%u is %d after its CLOSED event", fl->lport, fl->rport, got);
}

/* tt_engine_foreach_conn() lists what the events announced; a TIME_WAIT
 * entry shows the expiry 2*MSL after its final ACK. */
static void check_listing(void *ctx, const tt_conn_info_t *info)
{
    struct model *m = ctx;
    struct flow *fl = model_flow(m, info->raddr, info->lport, info->rport, false);

    FZ_CHECK(info->laddr == m->addr, "listing: local address %08" PRIx32, info->laddr);
    if (m->evicted)
        return;
    FZ_CHECK(fl && fl->state == info->state, "listing: %u>%u in %s, its events say %s", info->lport,
             info->rport, tt_state_name(info->state), fl ? tt_state_name(fl->state) : "nothing");
    if (info->state == TT_STATE_TIME_WAIT)
        FZ_CHECK(info->expires_us == fl->tw_expires,
                 "listing: %u>%u TIME_WAIT expires %" PRIu64 ", 2*MSL ends at %" PRIu64,
                 info->lport, info->rport, info->expires_us, fl->tw_expires);
}

void model_check_aborted(struct model *m, uint32_t raddr, uint16_t lport, uint16_t rport)
{
    const struct flow *fl = model_flow(m, raddr, lport, rport, false);

    if (!fl || m->evicted)
        return;
    FZ_CHECK(fl->state == TT_STATE_CLOSED, "abortive close left %u>%u in %s", lport, rport,
             tt_state_name(fl->state));
}

/*
 * RFC 7661 and Linux's tcp_is_cwnd_limited(): cwnd grows only while the flow
 * uses it, so it never exceeds the initial window or twice the largest
 * flight this flow ever had, plus what one ACK delivers, at most that
 * flight again (RFC 3465 byte counting as Linux's tcp_slow_start(), docs/
 * contract.md §2.5 item 6), plus one segment (issue 11 item 5: it used to
 * grow by an MSS per ACK with one segment in flight, and wrap). CUBIC
 * (tcp_cubic.c) grows no faster in avoidance: at most one segment per two
 * acknowledged, and only under the same cwnd_may_grow() rule.
 */
static void check_cwnd(struct flow *fl, const struct tt_conn *c)
{
    uint32_t flight = c->snd_nxt - c->snd_una;
    if (flight > fl->max_flight)
        fl->max_flight = flight;
    if (c->state < TT_STATE_ESTABLISHED)
        return;
    uint64_t bound = (uint64_t)3 * fl->max_flight + c->mss;
    uint64_t init = (uint64_t)TT_INIT_CWND * c->mss;
    FZ_CHECK(c->cwnd <= (bound > init ? bound : init),
             "cwnd %" PRIu32 " of %u>%u, largest flight %" PRIu32 ", mss %u", c->cwnd, c->t.lport,
             c->t.rport, fl->max_flight, c->mss);
}

/* Linux bounds an orphan's life (tcp_orphan_retries, tcp_fin_timeout): one
 * that makes no progress, its SND.UNA and its state both still, must end. */
static void check_orphan(struct model *m, struct flow *fl, const struct tt_conn *c)
{
    if (!c->orphan || c->close_cb)
        return; /* a lingering close is not an orphan yet (tcp_timer.c) */
    if (!fl->orphan_seen || fl->orphan_state != c->state || fl->orphan_una != c->snd_una) {
        fl->orphan_seen = true;
        fl->orphan_state = c->state;
        fl->orphan_una = c->snd_una;
        fl->orphan_progress_at = m->now;
        return;
    }
    FZ_CHECK(m->now - fl->orphan_progress_at <= m->orphan_stall_max,
             "orphan %u>%u still in %s after %" PRIu64 " us without progress", c->t.lport,
             c->t.rport, tt_state_name(c->state), m->now - fl->orphan_progress_at);
}

/* White box, after every operation: what no event or datagram shows. */
static void check_tcbs(struct model *m, const tt_engine_t *eng)
{
    for (const struct tt_conn *c = eng->all_conns; c; c = c->all_next) {
        struct flow *fl =
            c->detached ? NULL : model_flow(m, c->t.raddr, c->t.lport, c->t.rport, false);
        if (!fl)
            continue; /* gone from the tables, or evicted with its history */
        check_cwnd(fl, c);
        check_orphan(m, fl, c);
    }
}

void model_check_engine(struct model *m, tt_engine_t *eng, uint64_t ops)
{
    check_tcbs(m, eng);
    size_t tcbs = 0, tws = 0;
    const tt_config_t *cfg = tt_engine_config(eng);

    FZ_CHECK(tt_engine_timewait_count(eng) <= cfg->tcp_max_tw_buckets,
             "%zu TIME_WAIT entries, tcp_max_tw_buckets %" PRIu32, tt_engine_timewait_count(eng),
             cfg->tcp_max_tw_buckets);
    FZ_CHECK(tt_engine_conn_count(eng) <= ops, "%zu TCBs after %" PRIu64 " operations",
             tt_engine_conn_count(eng), ops);
    /* States, counts and listing change only with an event: compare them
     * after every operation that had one. */
    if (m->evicted || !m->dirty)
        return;
    m->dirty = false;
    for (unsigned i = 0; i < FZ_FLOWS; i++) {
        const struct flow *fl = &m->flows[i];
        if (!fl->used)
            continue;
        if (fl->state == TT_STATE_TIME_WAIT)
            tws++;
        else if (fl->state != TT_STATE_CLOSED)
            tcbs++;
        check_flow_state(eng, m, fl);
    }
    FZ_CHECK(tt_engine_timewait_count(eng) == tws, "timewait_count %zu, events say %zu",
             tt_engine_timewait_count(eng), tws);
    FZ_CHECK(tt_engine_conn_count(eng) == tcbs, "conn_count %zu, events say %zu",
             tt_engine_conn_count(eng), tcbs);
    tt_engine_foreach_conn(eng, check_listing, m);
}
