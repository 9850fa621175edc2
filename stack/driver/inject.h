/*
 * Crafted segments (docs/contract.md §3.7 --inject): a segment the kernel's
 * side never sent, handed to the engine as if read from the TUN device at
 * a chosen time, on a connection's 4-tuple, with sequence and
 * acknowledgment numbers given absolutely or relative to the connection's
 * RCV.NXT and SND.NXT at that moment. For experiments such as RFC 1337's
 * TIME_WAIT assassination (an in-window RST in TIME_WAIT) or an old
 * duplicate's data landing in a later incarnation. Pure logic: the driver
 * runs the timer, looks the connection up and feeds the engine.
 *
 * Grammar: WHEN:KIND[:FIELD=VALUE]...
 *   WHEN   DURATION | STATE+DURATION
 *   KIND   rst | rstack | ack | data | fin
 *   FIELD  seq=V | ack=V | len=N | port=N | nth=N | win=N
 *          V: N (absolute), rcv[+N|-N], snd[+N|-N]
 */
#ifndef TT_INJECT_H
#define TT_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuntcp/driver.h"

/* A sequence-space value: absolute, or an offset from RCV.NXT or SND.NXT. */
enum inject_base {
    INJECT_ABS,
    INJECT_RCV, /* the stack's RCV.NXT: the next byte it expects, in window */
    INJECT_SND, /* the stack's SND.NXT: the ACK a peer would send */
};

struct inject_value {
    enum inject_base base;
    int64_t n; /* the value itself (INJECT_ABS), or the offset */
};

struct inject_spec {
    int state;         /* tt_state_t whose entry starts the clock; -1: the stack's start */
    uint64_t after_us; /* time from that moment */
    uint8_t flags;     /* TCP flags of the segment */
    struct inject_value seq, ack;
    uint32_t len;  /* payload bytes */
    uint32_t port; /* a port of the connection, ours or the peer's; 0: any */
    uint32_t nth;  /* STATE+: the nth entry into STATE that port= accepts, from 1 */
    uint16_t win;
    /* Run time. */
    uint32_t seen;         /* entries into STATE so far */
    bool armed;            /* the moment is known: due is set */
    bool done;             /* injected or skipped: each spec acts once */
    uint64_t due;          /* engine µs */
    bool have_tuple;       /* the connection that entered state (STATE+ specs) */
    uint32_t laddr, raddr; /* of that connection, ours first */
    uint16_t lport, rport;
};

/* Parses one spec into s. On error writes the reason into err. Errors: -EINVAL. */
int tt_inject_parse(const char *spec, struct inject_spec *s, char *err, size_t errlen);

/* Arms a start-relative spec at start_us (engine µs); STATE+ specs wait for inject_on_event(). */
void tt_inject_start(struct inject_spec *s, uint64_t start_us);

/*
 * Offers an engine event: a state change into the spec's state on a
 * connection port= accepts arms the spec (the nth such change only).
 * Returns true when it armed.
 */
bool tt_inject_on_event(struct inject_spec *s, const tt_event_t *ev);

/* Whether port= accepts the connection with these ports. */
bool tt_inject_port_ok(const struct inject_spec *s, uint16_t lport, uint16_t rport);

/* The connection numbers an injected segment is computed from. */
struct inject_conn {
    uint32_t laddr, raddr; /* ours first, host order */
    uint16_t lport, rport;
    bool have_seq; /* false: the 4-tuple only (no connection owns it any more) */
    uint32_t rcv_nxt, snd_nxt;
};

/* Whether the spec's numbers need the connection's RCV.NXT/SND.NXT. */
bool tt_inject_needs_conn(const struct inject_spec *s);

/*
 * Builds the segment, peer -> stack (an IPv4 datagram with both checksums),
 * into buf of cap bytes. Returns its length, or -EINVAL when a relative
 * number has no connection to be relative to, -ENOSPC when cap is short.
 */
int tt_inject_build(const struct inject_spec *s, const struct inject_conn *c, uint8_t *buf,
                    size_t cap);

#endif
