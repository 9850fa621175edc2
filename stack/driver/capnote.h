/*
 * The words of an annotated capture (docs/contract.md §5.1): a state change
 * or other engine event, and a --fault action, each as one plain sentence
 * for a pcapng comment, e.g.
 *   "FIN_WAIT_2 -> TIME_WAIT: peer's FIN received, final ACK sent; 2*MSL ends at +2.000 s
 * (03:41:07.123456)" "dropped by --fault rule 1 (drop:out:ack)" Formatting only: capture.c decides
 * which record carries which sentence.
 */
#ifndef TT_CAPNOTE_H
#define TT_CAPNOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace.h"
#include "tuntcp/tuntcp.h"

/* What a sentence needs beyond the event: the clocks and the timer lengths. */
struct capnote_ctx {
    struct trace_clock clk;  /* as the trace's: `ts` of an instant is wall_start + (t - start) */
    uint64_t msl_us;         /* TIME_WAIT lasts 2 * msl_us (docs/contract.md §2.2) */
    uint64_t fin_timeout_us; /* FIN_WAIT_2 of an orphan (§2.6 item 7) */
};

/* A --fault action as the capture tells it. */
enum capnote_fault {
    CAPNOTE_DROPPED,    /* the rule dropped the packet */
    CAPNOTE_DUPLICATED, /* the original of a dup: its copy follows */
    CAPNOTE_COPY,       /* the copy a dup made */
    CAPNOTE_HELD,       /* an inbound packet held by delay=, at its arrival */
    CAPNOTE_RELEASED,   /* a delayed packet let go, at its release */
    CAPNOTE_INJECTED,   /* a segment --inject made; rule is the --inject spec's index */
};

/*
 * The event as one sentence into buf (cap >= 1), NUL-terminated, cut to
 * fit. with_conn puts the connection (LOCAL>REMOTE, as the trace's `conn`)
 * first: for an event written without a packet. Returns its length, 0 for
 * an event type it does not know.
 */
size_t tt_capnote_event(char *buf, size_t cap, const tt_event_t *ev, const struct capnote_ctx *ctx,
                        bool with_conn);

/*
 * The fault action of rule (0-based; printed from 1, as rules are given)
 * with its spec, e.g. "copy made by --fault rule 2 (dup:in:fin)"; held_us
 * is the delay of CAPNOTE_HELD and CAPNOTE_RELEASED. Returns the length.
 */
size_t tt_capnote_fault(char *buf, size_t cap, enum capnote_fault what, size_t rule,
                        const char *spec, uint64_t held_us);

#endif
