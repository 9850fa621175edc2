/*
 * Connection event trace (docs/contract.md §4): one JSON object a line, written and
 * flushed as each engine event happens, so `tail -f` follows a running stack.
 */
#ifndef TT_TRACE_H
#define TT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuntcp/tuntcp.h"

/* Longest line tt_trace_format() produces, newline and NUL included. */
#define TRACE_LINE_MAX 400

struct trace_writer;

/*
 * The two clocks of a line. `t` counts from start_us on the driver's
 * monotonic clock (the engine's); `ts` is wall-clock Unix time, derived as
 * wall_start_us + (now - start_us), the very sum that stamps the pcap's
 * records, so an event and its packet carry the same `ts`.
 */
struct trace_clock {
    uint64_t start_us;      /* monotonic µs at the stack's start */
    uint64_t wall_start_us; /* Unix µs read at the same moment */
};

/*
 * Creates (truncates) path, or takes stderr for "-", and writes the `start`
 * line: the stack's start on both clocks. Errors: -ENOMEM, -errno of fopen.
 */
int tt_trace_open(struct trace_writer **tw, const char *path, const struct trace_clock *clk);

/* Writes and flushes the line for ev. */
void tt_trace_event(struct trace_writer *tw, const tt_event_t *ev);

struct fault_pkt;

/*
 * A driver-side event, the line `"ev":"fault"` (docs/contract.md §4.2): a
 * --fault rule acted on a packet (action drop, dup, delay), a held packet
 * was let go (release), or --inject made one (inject).
 */
struct trace_fault {
    uint64_t now_us;
    const char *action;          /* "drop", "dup", "delay", "release", "inject" */
    int rule;                    /* --fault rule or --inject spec index, from 0 */
    bool dir_in;                 /* true: TUN -> stack */
    const char *match;           /* the rule's MATCH; NULL: not printed */
    const struct fault_pkt *pkt; /* the packet's headers */
    const char *after_key;       /* a duration field ("hold", "copy_after", "held"); NULL: none */
    uint64_t after_us;
    bool copy;        /* the packet is a dup= copy */
    const char *note; /* NULL, or a word, e.g. "held_full" when no slot was free */
};

/* Writes and flushes the line for f. */
void tt_trace_fault(struct trace_writer *tw, const struct trace_fault *f);

/* Formats f as tt_trace_format() does an engine event. */
size_t tt_trace_format_fault(char *buf, size_t cap, const struct trace_fault *f,
                             const struct trace_clock *clk);

/* Closes the file (not stderr) and frees. Errors: -EIO when a write failed. */
int tt_trace_close(struct trace_writer *tw);

/*
 * Formats ev as one line, newline included, into buf of cap bytes (at least
 * TRACE_LINE_MAX). Returns its length, or 0 for an unknown event type.
 */
size_t tt_trace_format(char *buf, size_t cap, const tt_event_t *ev, const struct trace_clock *clk);

/* The first line of a trace, `{"t":0.000000,"ts":...,"ev":"start"}`, as tt_trace_format(). */
size_t tt_trace_format_start(char *buf, size_t cap, const struct trace_clock *clk);

#endif
