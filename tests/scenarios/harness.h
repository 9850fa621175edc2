/*
 * Scenario harness: one engine on a virtual clock, driven by a scripted peer.
 *
 * The engine is 10.7.0.2, the peer 10.7.0.1. The peer's segments are built
 * with the wire layer (correct checksums, window 65535) and fed straight into
 * tt_engine_input(); every datagram the engine sends is parsed back into a
 * queue, which the test pops in order with h_expect*(). Time moves only
 * through h_advance(), which calls tt_engine_timers() at every deadline on the
 * way, so a timer fires at its exact microsecond. Nothing sleeps.
 *
 * Strictness, as smoltcp's recv!: before every stimulus (a peer segment, an
 * advance of the clock, an application call) the queue must be empty, so each
 * segment the engine sends is accounted for right after the event that caused
 * it; teardown fails if anything is left over.
 *
 * Sequence numbers are written relative to ISS (the engine's, learned from its
 * SYN or SYN-ACK) and IRS (the peer's, a constant the test may change before
 * the handshake): `h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0)`.
 */
#ifndef TT_SCENARIO_HARNESS_H
#define TT_SCENARIO_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "ipv4.h"
#include "seq.h"
#include "tcp_wire.h"
#include "tuntcp/tuntcp.h"

#define US 1ULL
#define MS 1000ULL
#define SEC 1000000ULL

#define H_T0 (1 * SEC)            /* the virtual clock's start */
#define H_ENGINE_ADDR 0x0a070002u /* 10.7.0.2 */
#define H_PEER_ADDR 0x0a070001u   /* 10.7.0.1 */
#define H_LISTEN_PORT 7           /* the engine listens here */
#define H_PEER_PORT 41234         /* the peer's port when it connects to us */
#define H_SERVICE_PORT 80         /* the peer's port when we connect to it */
#define H_IRS_DEFAULT 0x10000000u /* the peer's initial sequence number */
#define H_MSS 1460                /* mtu 1500 - 40 */
#define H_PEER_WND 65535

/* Relative sequence numbers; every test names its harness `h`. */
#define ISS (h->iss)
#define IRS (h->irs)

/* One datagram the engine sent, parsed. */
struct h_seg {
    struct seg seg; /* seg.data points into bytes */
    uint8_t *bytes; /* a copy of the whole datagram */
    size_t len;
    int parse_err; /* 0, or the tt_ipv4_parse()/tt_tcp_parse() error */
    uint8_t proto;
    uint64_t at_us; /* virtual time it was sent */
};

/* How a fixture ends our side of the connection: the handle stays or goes. */
enum h_close_mode {
    H_SHUTDOWN, /* tt_conn_shutdown(): FIN, the handle stays open */
    H_ORPHAN,   /* tt_conn_close(): FIN, the connection lives on without a handle */
};

struct harness {
    tt_engine_t *eng;
    tt_config_t cfg; /* change it, then h_reinit(), to test another config */
    uint64_t now;
    uint32_t iss, irs;
    uint16_t lport, rport; /* the engine's port, the peer's port */
    uint16_t peer_wnd;     /* window in the peer's segments */
    uint8_t peer_tos;      /* IP TOS byte of the peer's segments (its ECN field); 0 */
    uint16_t ip_id;

    /* Segments sent by the engine, oldest first from out_head. */
    struct h_seg *out;
    size_t out_len, out_cap, out_head;
    uint64_t last_at;  /* at_us of the segment popped last */
    size_t gso_dgrams; /* GSO datagrams the engine sent, cut into out (tt_engine_set_gso_out()) */
    uint64_t tw_start; /* h_reach_time_wait(): when the final ACK went out */

    /* Every event, in order. */
    tt_event_t *ev;
    size_t ev_len, ev_cap;

    /* Application side. */
    tt_listener_t *listener;
    tt_conn_t *conn;  /* the connection under test (accepted or connected) */
    bool auto_accept; /* connection_cb accepts and starts reading (default) */
    int connection_calls, connection_status;
    int connect_calls, connect_status;
    uint8_t *rx; /* bytes delivered to read_cb */
    size_t rx_len, rx_cap;
    int eof_calls;    /* read_cb(TT_EOF) */
    ssize_t read_err; /* the last negative nread other than TT_EOF; 0 = none */
    int close_calls, close_status;
    uint64_t close_at;
    int writable_calls;
    /* Called from read_cb after recording, e.g. to reply from inside it. */
    void (*on_read)(struct harness *h, const uint8_t *buf, ssize_t nread);
    /* Called by the output callback before it records the datagram, e.g. to
     * call the engine from inside it. */
    void (*on_output)(struct harness *h, const uint8_t *pkt, size_t len);
};

/* A GSO datagram of the engine, cut into the segments the device sends
 * (as the output callback does with tt_engine_output_gso_size()). */
void h_output_gso(struct harness *h, const uint8_t *pkt, size_t len, uint16_t mss);

/*
 * The wire as the device carries it, recorded to compare two runs of one
 * scenario byte for byte (test_tso, test_run_out): each datagram's length
 * (2 bytes) then its bytes, TCP checksums completed as the device would.
 */
struct h_wire {
    uint8_t *bytes;
    size_t len, cap, dgrams;
    uint32_t snd_max; /* the highest sequence number sent, + 1 */
};

void h_wire_init(struct h_wire *w, size_t cap, uint32_t snd_max);
void h_wire_free(struct h_wire *w);
/* Moves what the engine sent since out_head into w. */
void h_wire_drain(struct harness *h, struct h_wire *w);
/* The peer acknowledges everything sent so far, after delay. */
void h_wire_ack_all(struct harness *h, struct h_wire *w, uint64_t delay);
/* The same datagrams, byte for byte. */
void h_wire_assert_same(const struct h_wire *a, const struct h_wire *b);
/* Three writes of 9,000 bytes (three skbs, PSH at each one's end), acknowledged round by round. */
void h_wire_bulk(struct harness *h, struct h_wire *w);

/* cmocka fixtures: a fresh engine with the default config below. */
int h_setup(void **state);
int h_teardown(void **state);

/*
 * The default config: tt_config_init(), addr 10.7.0.2, fixed ISN secret and
 * seed, MSL 1 s, timestamps, SACK and window scaling off, delack 0.
 */
void h_default_config(tt_config_t *cfg);
/* Replaces the engine by one built from h->cfg, at the current time. */
void h_reinit(struct harness *h);

/* ---- the peer ---- */

/* A segment from the peer to the engine, with h->lport/h->rport, window h->peer_wnd,
 * IP TOS h->peer_tos. */
#define h_send(h, flags, seq, ack, data, len)                                                      \
    h_send_opts_at(h, flags, seq, ack, NULL, data, len, __FILE__, __LINE__)
#define h_send_opts(h, flags, seq, ack, opts, data, len)                                           \
    h_send_opts_at(h, flags, seq, ack, opts, data, len, __FILE__, __LINE__)
/* The peer's SYN (seq IRS) with MSS 1460, from h->rport to h->lport. */
#define h_send_syn(h) h_send_syn_at(h, __FILE__, __LINE__)
/* Any segment, addresses and ports included (a closed port, another peer...). */
#define h_send_seg(h, s) h_send_seg_at(h, s, __FILE__, __LINE__)

void h_send_opts_at(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
                    const struct tcp_opts *opts, const void *data, size_t len, const char *file,
                    int line);
void h_send_syn_at(struct harness *h, const char *file, int line);
void h_send_seg_at(struct harness *h, const struct seg *s, const char *file, int line);
/* Fills s with the peer's segment as h_send_opts() sends it (h->rport to
 * h->lport, h->peer_wnd, h->peer_tos; the ACK field only with TCP_ACK), for
 * a test that builds the datagram itself. */
void h_peer_seg(const struct harness *h, struct seg *s, uint8_t flags, uint32_t seq, uint32_t ack,
                const struct tcp_opts *opts, const void *data, size_t len);

/* ---- what the engine sends ---- */

/* Pops the oldest segment: exactly these flags (PSH ignored when it carries data),
 * seq, ack (checked when ACK is among the flags) and no payload. */
#define h_expect(h, flags, seq, ack)                                                               \
    h_expect_at(h, flags, seq, ack, NULL, 0, false, __FILE__, __LINE__)
/* The same, and the payload is exactly data[0..len). */
#define h_expect_data(h, flags, seq, ack, data, len)                                               \
    h_expect_at(h, flags, seq, ack, data, len, true, __FILE__, __LINE__)
/* The same, payload of len bytes whatever they are. */
#define h_expect_len(h, flags, seq, ack, len)                                                      \
    h_expect_at(h, flags, seq, ack, NULL, len, true, __FILE__, __LINE__)
/* The same, payload = len bytes of h_pattern() from stream offset off. */
#define h_expect_pattern(h, flags, seq, ack, off, len)                                             \
    h_expect_pattern_at(h, flags, seq, ack, off, len, __FILE__, __LINE__)
/* Nothing left to pop. */
#define h_expect_nothing(h) h_expect_nothing_at(h, __FILE__, __LINE__)
/* Both sides of a deadline: nothing until delay - 1 µs from now, then this segment at delay. */
#define h_expect_after(h, delay, flags, seq, ack)                                                  \
    h_expect_after_at(h, delay, flags, seq, ack, __FILE__, __LINE__)
/* The engine's SYN of an active open: records ISS and our ephemeral port. */
#define h_expect_syn(h) h_expect_syn_at(h, __FILE__, __LINE__)
/* The engine's SYN-ACK to the peer's SYN: records ISS. */
#define h_expect_synack(h) h_expect_synack_at(h, __FILE__, __LINE__)

const struct h_seg *h_expect_at(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
                                const void *data, size_t len, bool has_data, const char *file,
                                int line);
const struct h_seg *h_expect_pattern_at(struct harness *h, uint8_t flags, uint32_t seq,
                                        uint32_t ack, size_t off, size_t len, const char *file,
                                        int line);
void h_expect_nothing_at(struct harness *h, const char *file, int line);
void h_expect_after_at(struct harness *h, uint64_t delay, uint8_t flags, uint32_t seq, uint32_t ack,
                       const char *file, int line);
const struct h_seg *h_expect_syn_at(struct harness *h, const char *file, int line);
const struct h_seg *h_expect_synack_at(struct harness *h, const char *file, int line);
/* Pops the oldest segment whatever it is (addresses and ports checked), for
 * segments a test tolerates without pinning down, e.g. zero-window probes. */
#define h_pop_any(h) h_pop_any_at(h, __FILE__, __LINE__)
const struct h_seg *h_pop_any_at(struct harness *h, const char *file, int line);
/* Segments waiting in the queue. */
size_t h_pending(const struct harness *h);

/* ---- the clock ---- */

/* Moves the clock forward by usec, running every timer at its exact deadline. */
#define h_advance(h, usec) h_advance_at(h, usec, __FILE__, __LINE__)
void h_advance_at(struct harness *h, uint64_t usec, const char *file, int line);

/* ---- the application ---- */

#define h_listen(h, port) h_listen_at(h, port, 8, __FILE__, __LINE__)
#define h_listen_backlog(h, port, backlog) h_listen_at(h, port, backlog, __FILE__, __LINE__)
#define h_connect(h, rport) h_connect_at(h, rport, __FILE__, __LINE__)
/* tt_connect's result (0 or a negative errno); on success as h_connect. */
#define h_try_connect(h, rport) h_try_connect_at(h, rport, __FILE__, __LINE__)
#define h_write(h, data, len) h_write_at(h, data, len, __FILE__, __LINE__)
/* Writes len bytes of h_pattern(), starting at stream offset off. */
#define h_write_pattern(h, off, len) h_write_pattern_at(h, off, len, __FILE__, __LINE__)
#define h_shutdown(h) h_shutdown_at(h, __FILE__, __LINE__)
#define h_close(h) h_close_at(h, false, __FILE__, __LINE__)
#define h_close_reset(h) h_close_at(h, true, __FILE__, __LINE__)
#define h_set_linger(h, on, secs) h_set_linger_at(h, on, secs, __FILE__, __LINE__)

void h_listen_at(struct harness *h, uint16_t port, int backlog, const char *file, int line);
void h_connect_at(struct harness *h, uint16_t rport, const char *file, int line);
int h_try_connect_at(struct harness *h, uint16_t rport, const char *file, int line);
/* tt_connect_opts()'s result; on success as h_connect. */
#define h_try_connect_opts(h, rport, opts) h_try_connect_opts_at(h, rport, opts, __FILE__, __LINE__)
int h_try_connect_opts_at(struct harness *h, uint16_t rport, const tt_conn_opts_t *opts,
                          const char *file, int line);
ssize_t h_write_at(struct harness *h, const void *data, size_t len, const char *file, int line);
ssize_t h_write_pattern_at(struct harness *h, size_t off, size_t len, const char *file, int line);
void h_shutdown_at(struct harness *h, const char *file, int line);
void h_close_at(struct harness *h, bool reset, const char *file, int line);
void h_set_linger_at(struct harness *h, int on, unsigned secs, const char *file, int line);

/* Makes c the connection under test: user data, read_start, writable_cb. */
void h_adopt(struct harness *h, tt_conn_t *c);

/* The byte at stream offset off of the test pattern; h_pattern_fill() copies a run. */
uint8_t h_pattern(size_t off);
void h_pattern_fill(uint8_t *buf, size_t off, size_t len);

/*
 * On a fresh ESTABLISHED connection: we send one byte (h_pattern(0)) at ISS+1,
 * the peer ACKs it at once. Afterwards SND.NXT is ISS+2 and the RTO is
 * 200 ms: SRTT 0 plus the variance term, which Linux floors at TCP_RTO_MIN
 * (tcp_rtt_estimator; docs/contract.md §2.6). A 1 ms RTT would give 201 ms.
 */
#define h_prime_rtt(h) h_prime_rtt_at(h, __FILE__, __LINE__)
void h_prime_rtt_at(struct harness *h, const char *file, int line);

/* ---- state and events ---- */

/* The state of the connection h->lport/h->rport as tt_engine_foreach_conn
 * reports it (TIME_WAIT entries included); TT_STATE_CLOSED when it is gone. */
tt_state_t h_conn_state(const struct harness *h);
tt_stats_t h_stats(const struct harness *h);

/*
 * The state events of our 4-tuple, from the first one that leaves `from`,
 * are exactly from -> s1 -> s2 ... -> last, and none follows. The list ends
 * with -1: h_expect_states(h, TT_STATE_ESTABLISHED, TT_STATE_FIN_WAIT_1, -1).
 */
#define h_expect_states(h, ...) h_expect_states_at(h, __FILE__, __LINE__, __VA_ARGS__)
void h_expect_states_at(struct harness *h, const char *file, int line, ...);
/* A state event from -> to for our 4-tuple exists. */
#define h_expect_state_event(h, from, to) h_expect_state_event_at(h, from, to, __FILE__, __LINE__)
const tt_event_t *h_expect_state_event_at(struct harness *h, tt_state_t from, tt_state_t to,
                                          const char *file, int line);
/* The last event of this type for our 4-tuple, or NULL. */
const tt_event_t *h_last_event(const struct harness *h, tt_event_type_t type);
int h_count_events(const struct harness *h, tt_event_type_t type);
/* The last change to CLOSED of our 4-tuple, or NULL. */
const tt_event_t *h_closed_event(const struct harness *h);
/* Its why, or -1 when the connection never reached CLOSED. */
int h_closed_why(const struct harness *h);
/* Asserts the last CLOSED event has this why and happened at `at` (0: any time). */
#define h_expect_closed(h, why, at) h_expect_closed_at(h, why, at, __FILE__, __LINE__)
void h_expect_closed_at(struct harness *h, tt_close_reason_t why, uint64_t at, const char *file,
                        int line);

/* ---- fixtures: one per state, each ends with nothing pending ---- */

/* Listening on H_LISTEN_PORT, the peer's SYN answered: SYN_RECEIVED (passive).
 * Returns the SYN-ACK. */
#define h_reach_syn_received(h) h_reach_syn_received_at(h, __FILE__, __LINE__)
const struct h_seg *h_reach_syn_received_at(struct harness *h, const char *file, int line);
/* Listen on port 7, the peer connects from 41234 (SYN, SYN-ACK, ACK); accepted. */
void h_reach_established_passive(struct harness *h);
/* Passive open with SACK agreed (no timestamps); the peer's ACK of our
 * SYN-ACK comes `rtt` later, the connection's first RTT sample. */
void h_reach_established_sack(struct harness *h, uint64_t rtt);
/* Listen on port 7, the peer connects from 41234 and its ACK of our SYN-ACK
 * comes `rtt` later (SRTT and the least RTT from it, RFC 6298 2.2). */
void h_reach_established_rtt(struct harness *h, uint64_t rtt);
/* The same without h_listen(): the peer's handshake to port 7, which listens
 * already, from h->rport (41234 unless the test chose another). */
void h_peer_connects(struct harness *h);
/* The same with auto_accept off: connection_cb(0) ran, tt_accept() is up to the test. */
void h_peer_connects_unaccepted(struct harness *h);
/* Connect to the peer's port 80 (SYN, SYN-ACK, ACK); connect_cb(0). */
void h_reach_established_active(struct harness *h);
/* Passive open, then our FIN: <SEQ=ISS+1><ACK=IRS+1><CTL=FIN,ACK>. */
void h_reach_fin_wait_1(struct harness *h, enum h_close_mode mode);
/* FIN_WAIT_1, then the peer ACKs our FIN. */
void h_reach_fin_wait_2(struct harness *h, enum h_close_mode mode);
/* FIN_WAIT_1, then the peer's FIN (not acking ours) crosses it; we ACK it. */
void h_reach_closing(struct harness *h, enum h_close_mode mode);
/* Passive open, then the peer's FIN; we ACK it and the app sees EOF. */
void h_reach_close_wait(struct harness *h);
/* CLOSE_WAIT, then the app closes: our FIN <SEQ=ISS+1><ACK=IRS+2>. */
void h_reach_last_ack(struct harness *h);
/* FIN_WAIT_2 (orphan), then the peer's FIN; our final ACK <SEQ=ISS+2><ACK=IRS+2>.
 * h->tw_start is the time that ACK was sent. */
void h_reach_time_wait(struct harness *h);

#endif
