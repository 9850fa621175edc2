/*
 * Connection event trace (docs/contract.md §4): one JSON object a line, written and
 * flushed as each engine event happens, so `tail -f` follows a running stack.
 */
#ifndef TT_TRACE_H
#define TT_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "tuntcp/tuntcp.h"

/* Longest line tt_trace_format() produces, newline and NUL included. */
#define TRACE_LINE_MAX 320

struct trace_writer;

/*
 * Creates (truncates) path, or takes stderr for "-"; start_us is the stack's
 * start, from which `t` is counted. Errors: -ENOMEM, -errno of fopen.
 */
int tt_trace_open(struct trace_writer **tw, const char *path, uint64_t start_us);

/* Writes and flushes the line for ev. */
void tt_trace_event(struct trace_writer *tw, const tt_event_t *ev);

/* Closes the file (not stderr) and frees. Errors: -EIO when a write failed. */
int tt_trace_close(struct trace_writer *tw);

/*
 * Formats ev as one line, newline included, into buf of cap bytes (at least
 * TRACE_LINE_MAX). Returns its length, or 0 for an unknown event type.
 */
size_t tt_trace_format(char *buf, size_t cap, const tt_event_t *ev, uint64_t start_us);

#endif
