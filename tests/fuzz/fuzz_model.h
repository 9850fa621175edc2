/*
 * What the fuzz harness knows about the conversation it has with the engine:
 * one record per 4-tuple ("flow") with the sequence numbers seen on each side
 * and the state the engine's events announced, and the invariants checked on
 * every datagram and event the engine emits. fuzz_engine.c drives; this file
 * watches. A broken invariant prints a line and abort()s, so libFuzzer keeps
 * the input as a crash.
 *
 * Every byte of TCP payload in this harness, whichever side sends it, is the
 * low byte of its own sequence number. Data can thus be checked anywhere
 * without knowing ISS or IRS: in a datagram (byte i of a segment at SEG.SEQ s
 * is (uint8_t)(s + i)) and in the byte stream an application reads (each byte
 * is the previous one plus one).
 */
#ifndef TT_FUZZ_MODEL_H
#define TT_FUZZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcp_wire.h"
#include "tuntcp/tuntcp.h"

#define FZ_FLOWS 256

/* One 4-tuple, seen from the engine (laddr is always the engine's). */
struct flow {
    bool used;
    uint32_t raddr;
    uint16_t lport, rport;
    /* the engine's side, from its output */
    bool have_iss, have_eng, have_eng_ack;
    uint32_t eng_iss; /* SEG.SEQ of its last SYN or SYN-ACK */
    uint32_t eng_nxt; /* highest SEG.SEQ + SEG.LEN it sent */
    uint32_t eng_seq; /* SEG.SEQ of its last segment */
    uint32_t eng_ack; /* SEG.ACK of its last segment with ACK: its RCV.NXT */
    uint32_t eng_tsval;
    /* the peer's side, from what the harness fed in */
    bool have_peer, clean;
    uint32_t peer_isn;         /* SEG.SEQ of the peer's last SYN (a default before) */
    uint32_t peer_lo, peer_hi; /* lowest and highest SEG.SEQ + SEG.LEN the peer sent */
    uint32_t ts_base;          /* the peer's timestamp clock offset */
    bool have_edge, fin_seen;
    uint32_t peer_max_ack; /* highest SEG.ACK the engine could accept */
    uint32_t peer_max_wnd; /* largest SEG.WND it offered (scaled) */
    uint8_t peer_ws;       /* largest window scale in its SYNs */
    /* the state announced by the engine's events (docs/contract.md §4) */
    tt_state_t state;
    uint64_t tw_expires; /* in TIME_WAIT: when 2*MSL runs out (docs/contract.md §2.2) */
    /* white box, while its TCB is an orphan: the last time it made progress
     * (SND.UNA or the state moved), to bound its lifetime (issue 11 items 1, 12) */
    uint32_t max_flight; /* largest SND.NXT - SND.UNA seen, for the cwnd bound */
    bool orphan_seen;
    tt_state_t orphan_state;
    uint32_t orphan_una;
    uint64_t orphan_progress_at;
};

struct model {
    const tt_engine_t *eng; /* white-box checks read its TCBs; NULL until set */
    uint32_t addr;          /* the engine's address */
    uint32_t mtu;
    uint64_t msl_us;
    uint64_t orphan_stall_max; /* longest an orphan may go without progress */
    bool rfc1337, tw_reuse;
    struct flow flows[FZ_FLOWS];
    unsigned next_victim;
    bool evicted;  /* a flow with history was dropped: checks that need
                    * a flow's past (states, counts, ACKs, 2MSL) stop */
    bool pure_in;  /* every payload byte fed in followed the pattern */
    bool pure_out; /* every byte the application wrote followed the pattern */
    bool trace;
    bool dirty;   /* an event since the last model_check_engine() */
    uint64_t now; /* the harness clock, for event checks */
    /* the TCP segment being fed, while tt_engine_input() runs */
    bool in_valid;
    uint32_t in_seq, in_ack;
    uint16_t in_wnd;
    uint8_t in_flags;
};

void model_init(struct model *m, const tt_config_t *cfg, bool trace);

/* The flow of this tuple; created (evicting round-robin) when create is set. */
struct flow *model_flow(struct model *m, uint32_t raddr, uint16_t lport, uint16_t rport,
                        bool create);

/* A datagram about to be fed to the engine: learn from it if it is a valid
 * TCP segment addressed to the engine. */
void model_note_input(struct model *m, const tt_engine_t *eng, const uint8_t *pkt, size_t len);

/* The datagram fed by model_note_input() has been processed. */
void model_input_done(struct model *m);

/* Checks a datagram the engine sent and learns from it. */
void model_check_output(struct model *m, const uint8_t *pkt, size_t len);

/* In an application callback: the engine calls out only at the end of its
 * outermost call, never from the middle of a protocol step. */
void model_check_callback(const struct model *m);

/* Checks one engine event against the RFC 9293 state diagram (docs/contract.md §4). */
void model_check_event(struct model *m, const tt_event_t *ev);

/* Between two operations: the engine's counts and per-tuple states agree
 * with its events; ops bounds the TCBs that can exist. */
void model_check_engine(struct model *m, tt_engine_t *eng, uint64_t ops);

/* The application's abortive close of the connection to raddr:rport from
 * lport has returned: nothing of it may remain (docs/contract.md §2.3 SO_LINGER {on, 0}). */
void model_check_aborted(struct model *m, uint32_t raddr, uint16_t lport, uint16_t rport);

/* Fails the run: prints why and abort()s. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fz_fail(__VA_ARGS__);                                                                  \
    } while (0)

#endif
