/*
 * Annotated capture: ties engine events and fault actions to records (the
 * rules are in capture.h). Nothing is formatted for a packet that gets no
 * comment: with no event pending and no fault note, a record costs what a
 * classic one does, plus a 4-tuple comparison per pending event.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "pcapng.h"
#include "tuntcp/driver.h"

#define PEND_MAX 32  /* events waiting for their packet; more are written alone */
#define NOTES_MAX 16 /* comments on one record */
#define NOTE_LEN (PCAPNG_COMMENT_MAX + 1)

struct pend {
    tt_event_t ev;
    bool want_out; /* told on the outbound packet, not the inbound one */
    uint8_t flags; /* TCP flags that outbound packet must carry (TH_*), or 0 */
};

struct note {
    bool set;
    char text[NOTE_LEN];
};

struct capture {
    struct pcapng_writer *w;
    struct capnote_ctx ctx;
    char *spec[TT_FAULT_MAX];
    size_t nspec;
    char *ispec[TT_INJECT_MAX]; /* the --inject specs */
    size_t nispec;

    /* the inbound packet of the call under way */
    bool held;
    const uint8_t *held_pkt;
    size_t held_len;
    uint64_t held_us;
    struct note held_note;

    struct note out_note; /* for the next outbound record */
    struct pend pend[PEND_MAX];
    size_t npend;
    char notes[NOTES_MAX][NOTE_LEN]; /* the comments of the record being written */
};

/* Our side of a TCP datagram's 4-tuple, host order. */
struct tuple4 {
    uint32_t laddr, raddr;
    uint16_t lport, rport;
    uint8_t flags; /* the segment's TCP flags */
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* false for anything but the first fragment of a TCP datagram with its ports (RFC 791 3.1). */
static bool tcp_tuple(const uint8_t *pkt, size_t len, bool inbound, struct tuple4 *t)
{
    size_t ihl;

    if (len < 20 || pkt[0] >> 4 != 4 || pkt[9] != 6 || (be16(pkt + 6) & 0x1fff) != 0)
        return false;
    ihl = (size_t)(pkt[0] & 15) * 4;
    if (ihl < 20 || len < ihl + 14)
        return false;
    uint32_t src = be32(pkt + 12), dst = be32(pkt + 16);
    uint16_t sport = be16(pkt + ihl), dport = be16(pkt + ihl + 2);
    *t = inbound ? (struct tuple4){dst, src, dport, sport, pkt[ihl + 13]}
                 : (struct tuple4){src, dst, sport, dport, pkt[ihl + 13]};
    return true;
}

/* The pending event p is told on this record (all: the call is over, take it anyway). */
static bool belongs(const struct pend *p, const struct tuple4 *t, bool inbound, bool all)
{
    const tt_event_t *ev = &p->ev;

    if (!all && p->want_out && (inbound || (t->flags & p->flags) != p->flags))
        return false;
    return ev->laddr == t->laddr && ev->raddr == t->raddr && ev->lport == t->lport &&
           ev->rport == t->rport;
}

static uint64_t wall_of(const struct capture *c, uint64_t us)
{
    const struct trace_clock *clk = &c->ctx.clk;

    return clk->wall_start_us + (us > clk->start_us ? us - clk->start_us : 0);
}

static void write_alone(struct capture *c, const tt_event_t *ev)
{
    char text[NOTE_LEN];

    if (tt_capnote_event(text, sizeof(text), ev, &c->ctx, true) > 0)
        tt_pcapng_event(c->w, wall_of(c, ev->now_us), text);
}

static void drop_pend(struct capture *c, size_t i)
{
    memmove(&c->pend[i], &c->pend[i + 1], (c->npend - i - 1) * sizeof(c->pend[0]));
    c->npend--;
}

/*
 * Writes one packet record with the pending events of its connection (all
 * of them, or those not waiting for an outbound packet) and the fault note.
 */
static void write_packet(struct capture *c, uint64_t us, bool inbound, const uint8_t *pkt,
                         size_t len, struct note *fault, bool all)
{
    const char *comments[NOTES_MAX];
    size_t n = 0;
    struct tuple4 t;

    if (c->npend > 0 && tcp_tuple(pkt, len, inbound, &t)) {
        for (size_t i = 0; i < c->npend && n < NOTES_MAX - 1;) {
            if (!belongs(&c->pend[i], &t, inbound, all)) {
                i++;
                continue;
            }
            if (tt_capnote_event(c->notes[n], NOTE_LEN, &c->pend[i].ev, &c->ctx, false) > 0)
                comments[n] = c->notes[n], n++;
            drop_pend(c, i);
        }
    }
    if (fault->set) {
        comments[n++] = fault->text;
        fault->set = false;
    }
    tt_pcapng_packet(c->w, wall_of(c, us), inbound ? PCAPNG_FLAG_INBOUND : PCAPNG_FLAG_OUTBOUND,
                     pkt, len, comments, n);
}

/* all: the call is over, so events waiting for an outbound packet take the inbound one. */
static void write_held(struct capture *c, bool all)
{
    if (!c->held)
        return;
    c->held = false;
    write_packet(c, c->held_us, true, c->held_pkt, c->held_len, &c->held_note, all);
}

int tt_capture_open(struct capture **out, const struct capture_config *cfg)
{
    struct capture *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL)
        return -ENOMEM;
    c->ctx = cfg->note;
    for (size_t i = 0; i < cfg->fault_count && i < TT_FAULT_MAX; i++) {
        c->spec[i] = strdup(cfg->fault_specs[i]);
        c->nspec = i + 1;
        if (c->spec[i] == NULL) {
            tt_capture_close(c);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < cfg->inject_count && i < TT_INJECT_MAX; i++) {
        c->ispec[i] = strdup(cfg->inject_specs[i]);
        c->nispec = i + 1;
        if (c->ispec[i] == NULL) {
            tt_capture_close(c);
            return -ENOMEM;
        }
    }
    rc = tt_pcapng_open(&c->w, cfg->path, cfg->ifname);
    if (rc < 0) {
        tt_capture_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void tt_capture_in(struct capture *c, uint64_t now_us, const uint8_t *pkt, size_t len)
{
    write_held(c, true);
    c->held = true;
    c->held_pkt = pkt;
    c->held_len = len;
    c->held_us = now_us;
    c->held_note.set = false;
}

void tt_capture_out(struct capture *c, uint64_t now_us, const uint8_t *pkt, size_t len)
{
    write_held(c, false);
    write_packet(c, now_us, false, pkt, len, &c->out_note, false);
}

/*
 * The changes whose story is a packet we send: our SYN, our FIN, the final
 * ACK that enters TIME_WAIT, a RST (docs/contract.md §2.1: the state changes
 * before the segment that the change calls for is sent).
 */
static bool told_on_outbound(const tt_event_t *ev, uint8_t *flags)
{
    *flags = 0;
    if (ev->type == TT_EV_RST_OUT ||
        (ev->type == TT_EV_STATE && ev->to == TT_STATE_CLOSED && ev->why == TT_WHY_RST_OUT)) {
        *flags = TH_RST;
        return true;
    }
    if (ev->type != TT_EV_STATE)
        return false;
    switch (ev->to) {
    case TT_STATE_SYN_SENT:
        *flags = TH_SYN;
        return true;
    case TT_STATE_FIN_WAIT_1:
    case TT_STATE_LAST_ACK:
        *flags = TH_FIN;
        return true;
    case TT_STATE_TIME_WAIT:
        return true; /* the final ACK: the connection's first segment of the call */
    default:
        return false;
    }
}

void tt_capture_event(struct capture *c, const tt_event_t *ev)
{
    if (c->npend == PEND_MAX) {
        write_alone(c, &c->pend[0].ev);
        drop_pend(c, 0);
    }
    c->pend[c->npend].ev = *ev;
    c->pend[c->npend].want_out = told_on_outbound(ev, &c->pend[c->npend].flags);
    c->npend++;
}

void tt_capture_fault(struct capture *c, int inbound, enum capnote_fault what, size_t rule,
                      uint64_t held_us)
{
    struct note *n = inbound ? &c->held_note : &c->out_note;

    const char *spec = what == CAPNOTE_INJECTED ? (rule < c->nispec ? c->ispec[rule] : "?")
                                                : (rule < c->nspec ? c->spec[rule] : "?");

    if (inbound && !c->held)
        return;
    tt_capnote_fault(n->text, sizeof(n->text), what, rule, spec, held_us);
    n->set = true;
}

void tt_capture_forget_out_note(struct capture *c)
{
    c->out_note.set = false;
}

void tt_capture_end_call(struct capture *c)
{
    write_held(c, true);
    for (size_t i = 0; i < c->npend; i++)
        write_alone(c, &c->pend[i].ev);
    c->npend = 0;
}

int tt_capture_flush(struct capture *c)
{
    return tt_pcapng_flush(c->w);
}

int tt_capture_close(struct capture *c)
{
    int err = 0;

    if (c->w != NULL) {
        tt_capture_end_call(c);
        err = tt_pcapng_close(c->w);
    }
    for (size_t i = 0; i < c->nspec; i++)
        free(c->spec[i]);
    for (size_t i = 0; i < c->nispec; i++)
        free(c->ispec[i]);
    free(c);
    return err;
}

uint64_t tt_capture_count(const struct capture *c)
{
    return tt_pcapng_count(c->w);
}
