/*
 * The engine's internal types and the functions its modules share.
 *
 * Objects: the engine (config, clock, tables, timers, counters), a connection
 * (struct tt_conn: the TCB of RFC 9293 3.3.1 plus its buffers and the
 * application's handle), a listener, and a TIME_WAIT entry (a compact record,
 * not a TCB: docs/architecture.md §9). Nothing here is visible to applications.
 */
#ifndef TT_ENGINE_H
#define TT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"
#include "spare.h"
#include "tcp_wire.h"
#include "timer.h"
#include "tuntcp/tuntcp.h"
#include "tw_table.h"

#define MS 1000ull
#define SEC 1000000ull

#define TT_RTO_INIT (1 * SEC)  /* RFC 6298 2.1 */
#define TT_RTO_MIN (200 * MS)  /* Linux TCP_RTO_MIN */
#define TT_RTO_MAX (120 * SEC) /* Linux TCP_RTO_MAX */
#define TT_MSS_DEFAULT 536     /* RFC 9293 3.7.1: no MSS option */
#define TT_MSS_MIN 48          /* Linux tcp_min_snd_mss: least peer MSS honoured */
#define TT_USER_MSS_MIN 88     /* Linux TCP_MIN_MSS: least TCP_MAXSEG taken */
#define TT_USER_MSS_MAX 32767  /* Linux MAX_TCP_WINDOW: largest TCP_MAXSEG taken */
#define TT_TOS_ECN_MASK 3      /* RFC 3168 5: the ECN field of the TOS byte, not IP_TOS's */
#define TT_INIT_CWND 10        /* RFC 6928 */
#define TT_DUPACK_THRESH 3     /* RFC 5681 3.2 */
#define TT_QUICKACKS 16        /* Linux TCP_MAX_QUICKACKS */
#define TT_SACK_SCOREBOARD 8   /* SACKed ranges remembered */
#define TT_OOO_POOL_MAX 512    /* spare reassembly nodes kept */
#define TT_RECENT_CONNS 1024   /* the cache of connections before the hash (conn_table.c) */

/* Linux arms a delayed ACK with ato 0 (no data has come yet) to expire at
 * once; the timer fires at the next jiffy, within 4 ms at HZ=250 (measured
 * 0.8 to 4.8 ms, Linux 6.18 loopback). The engine waits the mean. */
#define TT_DELACK_TICK_US (2 * MS)

/* RFC 7323 5.4: a per-connection offset hides the clock; derived from the
 * 4-tuple's hash so that a TIME_WAIT entry can recompute it. */
static inline uint32_t ts_offset_of(uint32_t hash)
{
    return hash * 2654435761u;
}

/* A connection's node in the hash table of TCBs (conn_table.c). */
enum hnode_kind { HNODE_CONN = 1 };

struct hnode {
    struct hnode *next;
    uint32_t hash;
    uint8_t kind;
};

/* The 4-tuple seen from the engine. laddr is always the engine's address. */
struct tuple {
    uint32_t laddr, raddr;
    uint16_t lport, rport;
};

enum conn_timer_kind { CT_RTX = 1, CT_DELACK, CT_FINWAIT2, CT_LINGER, CT_KEEPALIVE, CT_PACING };

/*
 * A connection or listener whose application is owed callbacks, queued
 * until the engine call ends (tcb.c).
 */
enum tt_pending_kind { TT_PENDING_CONN = 1, TT_PENDING_LISTENER };

struct tt_pending {
    struct tt_pending *next;
    uint8_t kind;
    bool queued;
};

/* What a connection's application is owed, delivered in this order. */
enum {
    TT_NOTIFY_CONNECT = 1,  /* connect_due(status): the handshake's result */
    TT_NOTIFY_WRITABLE = 2, /* writable_cb: room in the send buffer again */
    TT_NOTIFY_READ = 4,     /* read_cb: staged bytes, then the buffer, EOF or error */
    TT_NOTIFY_CLOSE = 8,    /* close_due(status): the handle is gone */
};

/* What waits for the application to have heard, at the end of the call. */
enum {
    TT_AFTER_READ = 1,  /* the application read buffered bytes: a window update */
    TT_AFTER_INPUT = 2, /* a segment came: the ACK it calls for and the output */
};

/* Bytes for a read callback, copied out of the segment (services.c). */
struct tt_staged {
    struct tt_staged *next;
    uint32_t len;
    const uint8_t *bytes; /* data, or the caller's datagram itself (tt_engine_stage_ref()) */
    uint8_t data[];
};

/* One out-of-order segment held for reassembly (RFC 9293 3.10.7.4 seventh). */
struct ooo_seg {
    struct ooo_seg *next;
    uint32_t seq, len;
    uint32_t cap; /* bytes of data[] allocated */
    bool fin;
    uint8_t data[];
};

/*
 * CUBIC's state (RFC 9438 4, tcp_cubic.c), windows in segments as Linux
 * keeps them (struct bictcp), times in microseconds of the engine's clock.
 */
struct tt_cubic {
    uint32_t w_max;       /* RFC 9438 W_max: cwnd before the last reduction */
    uint32_t k;           /* RFC 9438 K, in 2^-10 s: when W_cubic reaches W_max */
    uint32_t origin;      /* W_cubic(K): W_max, or cwnd when above it */
    uint32_t cnt;         /* segments acked per segment of growth */
    uint32_t w_est;       /* RFC 9438 4.3 W_est, the Reno-friendly window */
    uint32_t ack_bytes;   /* acked since W_est last grew */
    uint32_t last_cwnd;   /* cwnd when cnt was last computed */
    uint64_t last_time;   /* and when */
    uint64_t epoch_start; /* RFC 9438 t = 0: the first ACK of avoidance */
    bool in_epoch;        /* epoch_start is set: false after a reduction */
    uint64_t delay_min;   /* least RTT sample, µs (Linux delay_min); 0: none yet */
    /* HyStart (Linux hystart_update()): the end of slow start */
    bool found;           /* slow start ended by HyStart */
    uint8_t sample_cnt;   /* RTT samples in this round */
    uint32_t end_seq;     /* the round ends when SND.UNA passes this */
    uint64_t round_start; /* when the round began */
    uint64_t last_ack;    /* the last ACK of the current ACK train */
    uint64_t curr_rtt;    /* least RTT sample of this round */
};

/* When new data went out (tcp_txstamp.c): the RTT of each ACK. */
struct tt_txstamp {
    uint32_t seq; /* first sequence number sent at that time */
    uint64_t at;
};
struct tt_txstamps {
    struct tt_txstamp *v; /* ring of cap records, len of them from head */
    uint32_t head, len, cap;
    uint32_t rtx_end; /* end of the highest data sent again */
    bool rtx;         /* rtx_end is above SND.UNA: Karn */
};

#define TT_EOR_MAX 32

/* RACK's transmit log (tcp_rack.c): a run of sequence space sent at once. */
enum {
    TT_RACK_SACKED = 1,       /* the peer SACKed it */
    TT_RACK_LOST = 2,         /* RACK took it as lost (Linux TCPCB_LOST) */
    TT_RACK_RETRANS = 4,      /* lost and sent again, in flight (TCPCB_SACKED_RETRANS) */
    TT_RACK_EVER_RETRANS = 8, /* sent more than once (TCPCB_EVER_RETRANS) */
};
struct tt_rack_rec {
    uint32_t seq, end;
    uint64_t xmit_ts; /* RFC 8985 6.1: when it last went out */
    uint8_t flags;
};
/*
 * Linux's skbs of the send queue (tcp_skb.c): where each one ends and its
 * flags, oldest first; the first starts at snd_buf_seq, each next one where
 * the one before ends. Sent ones stay until acknowledged.
 */
enum {
    TT_SKB_PSH = 1, /* Linux TCPHDR_PSH in the skb's tcp_flags */
    TT_SKB_EOR = 2, /* MSG_EOR: no later data joins it (Linux skb->eor) */
};
struct tt_skb {
    uint32_t end;
    uint8_t flags;
};
struct tt_skbq {
    struct tt_skb *v; /* ring of cap records, len of them from head */
    uint32_t head, len, cap;
    uint32_t pushed_seq;         /* Linux pushed_seq: the end of the last push mark */
    uint32_t rtx_start, rtx_end; /* the packet loss recovery is resending (tcp_output.c) */
};

/* The chronographs of tcp_chrono.c, in Linux's order of precedence (enum
 * tcp_chrono): a later one takes over from an earlier one. */
enum { TT_CHRONO_NONE, TT_CHRONO_BUSY, TT_CHRONO_RWND, TT_CHRONO_SNDBUF };

struct tt_conn {
    struct hnode h;
    tt_engine_t *eng;
    struct tuple t;
    tt_state_t state;

    /* RFC 9293 3.3.1 send sequence variables */
    uint32_t iss, snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2, snd_max_wnd;
    uint8_t snd_wscale;
    /* receive sequence variables */
    uint32_t irs, rcv_nxt, rcv_wnd, rcv_adv; /* rcv_adv: right edge last advertised */
    uint8_t rcv_wscale;
    uint32_t last_ack_sent;

    uint16_t mss;      /* effective send MSS, options excluded */
    uint16_t advmss;   /* the MSS we announce: MTU - 40, at most user_mss */
    uint16_t user_mss; /* TCP_MAXSEG (tt_conn_opts_t.maxseg); 0: none */
    uint8_t tos;       /* IP_TOS of our segments, ECN bits clear */
    bool ts_on, sack_ok, ws_on;
    uint32_t ts_recent, ts_offset;
    uint64_t ts_recent_stamp;

    /* send buffer: bytes from snd_buf_seq on, acked ones removed */
    struct ring sndbuf;
    uint32_t snd_buf_seq;
    bool fin_queued; /* the app asked for a FIN after the queued data */
    bool fin_sent;
    bool sndbuf_kept; /* its empty first buffer counts in spares.kept (tcb.c) */
    uint32_t fin_seq; /* sequence number of our FIN, once sent */
    uint32_t rtx_nxt; /* next sequence to retransmit during loss recovery */
    /* Nagle and its kin (tcp_output.c, RFC 1122 4.2.3.4) */
    bool nodelay;     /* TCP_NODELAY: partial segments go out at once */
    bool cork;        /* TCP_CORK: partial segments wait for a full one */
    uint32_t snd_sml; /* end of the last partial segment sent (Linux snd_sml, Minshall) */
    /* ends of records (MSG_EOR) not yet acknowledged, oldest first: no
     * segment, new or sent again, crosses one; beyond TT_EOR_MAX the newest
     * two records merge */
    uint32_t eor_seq[TT_EOR_MAX];
    uint8_t eor_head, eor_count;
    struct tt_skbq skbs; /* Linux's skbs over the send buffer (tcp_skb.c) */

    /* receive side */
    struct ring rcvbuf; /* in order, not yet delivered to the app */
    struct ooo_seg *ooo;
    uint32_t ooo_bytes;
    uint32_t ooo_last_seq; /* the last segment queued, first in SACK (RFC 2018 4) */
    bool eof_pending;      /* FIN received, TT_EOF not yet delivered */
    int err_pending;       /* error not yet delivered (-ECONNRESET ...) */
    bool ack_now;          /* an ACK must go out at the next output */
    uint8_t quickacks;     /* data segments still ACKed at once (Linux quick-ACK) */
    uint32_t unacked_segs;
    /* the peer's segment size as seen (tcp_rcvmss.c, Linux icsk_ack.rcv_mss
     * and last_seg_size) */
    uint16_t rcv_mss, last_seg_size;

    /* RFC 6298 retransmission timer */
    /* rttvar is Linux's rttvar_us: 4 * mdev, floored at TT_RTO_MIN within a
     * round trip (tcp_rtt_estimator); mdev and mdev_max are 4 * deviation. */
    uint64_t srtt, rttvar, rto, mdev, mdev_max, min_rtt;
    uint32_t rtt_round_seq; /* SND.NXT when the round of mdev_max began */
    bool rtt_valid;
    bool syn_resent; /* our SYN or SYN-ACK went out more than once (Karn) */
    uint64_t rtt_start;
    int retries;  /* consecutive timeouts of the same segment */
    int backoff;  /* of those, the ones whose retransmission left and doubled
                   * the RTO (Linux icsk_backoff: not one the device refused) */
    bool persist; /* the RTX timer is a zero-window probe timer */
    bool in_loss; /* after an RTO, until `recover` is acked */

    /* when to give up (tcp_timer.c; Linux tcp_write_timeout, tcp_probe_timer) */
    uint64_t rtx_stamp;    /* when the RTX timer was started (Linux retrans_stamp) */
    uint32_t probes_out;   /* zero-window or keep-alive probes unanswered (icsk_probes_out) */
    uint64_t probes_stamp; /* when the first of them went out (icsk_probes_tstamp) */
    uint64_t rcv_stamp;    /* when an acceptable ACK last came in (Linux rcv_tstamp) */
    uint64_t user_timeout; /* TCP_USER_TIMEOUT, µs; 0: none */
    /* SO_KEEPALIVE (tcp_keepalive.c); 0 in a field: the engine's sysctl */
    bool ka_on;
    uint8_t ka_cnt;
    uint32_t ka_idle_s, ka_intvl_s;
    /* TCP_NOTSENT_LOWAT (tcp_lowat.c); 0: cfg.tcp_notsent_lowat.
     * queue_shrunk: an ACK freed send space in this call (Linux
     * SOCK_QUEUE_SHRUNK), asked after the output (tt_lowat_check_space) */
    uint32_t notsent_lowat;
    bool queue_shrunk;
    /* Linux's send-buffer accounting (tcp_sndmem.c): sk_sndbuf, in bytes
     * of payload plus skb memory; fixed by SO_SNDBUF (SOCK_SNDBUF_LOCK);
     * nospace: a writer ran out of room (SOCK_NOSPACE) */
    uint32_t snd_sndbuf;
    bool sndbuf_locked, nospace;
    uint32_t probes_sent; /* probes since the window closed: the backoff (icsk_backoff) */

    /* RFC 5681 / RFC 6582 congestion control; the module (tcp_cc.c) */
    uint8_t cc; /* tt_cc_algo_t, from the config when the TCB is made */
    struct tt_cubic cubic;
    struct tt_txstamps txstamps;
    uint32_t cwnd, ssthresh, dupacks;
    uint32_t cwnd_cnt;        /* bytes acked toward the next SMSS of avoidance */
    uint32_t total_retrans;   /* segments retransmitted (tcpi_total_retrans) */
    uint64_t delivered_bytes; /* acknowledged or SACKed, over the life (tcpi_delivered) */
    uint64_t last_data_recv;  /* when data last came in; 0 never */
    uint64_t lsndtime;        /* when new data last went out (Linux lsndtime) */
    uint32_t recover;         /* RFC 6582: highest sequence number sent when recovery began */
    bool in_fast_recovery;
    /* How much of cwnd the flow used, per window of data (Linux
     * tcp_cwnd_validate): cwnd grows only when it was the limit. */
    bool cwnd_limited;       /* the flight reached cwnd in this window */
    uint32_t max_flight;     /* else the largest flight of this window, bytes */
    uint32_t cwnd_usage_seq; /* the window ends when SND.UNA reaches this */
    struct tcp_sack_block sacked[TT_SACK_SCOREBOARD]; /* RFC 2018 scoreboard */
    uint8_t nsacked;
    uint32_t high_rxt; /* RFC 6675 HighRxt: highest sequence retransmitted */
    /* RFC 6937 PRR (tcp_recovery.c), bytes */
    uint32_t prior_cwnd, prr_delivered, prr_out;
    /* RFC 3168 ECN (tcp_ecn.c): TT_ECN_* flags; the CWR state (Linux
     * TCP_CA_CWR, tcp_recovery.c) ends once an ACK passes cwr_high */
    uint8_t ecn_flags;
    bool in_cwr;
    uint32_t cwr_high;
    /* RFC 8985 7 Tail Loss Probe (tcp_tlp.c) */
    uint32_t last_seg_seq; /* where the newest segment of new data starts */
    bool tlp_armed;        /* the RTX timer runs as the probe timeout (PTO) */
    bool tlp_new_data;     /* new data went out: the PTO starts again */
    bool tlp_out;          /* TLP.end_seq is set: a probe awaits its ACK */
    bool tlp_is_retrans;   /* TLP.is_retrans: the probe sent old data again */
    uint32_t tlp_end_seq;  /* TLP.end_seq: SND.NXT once the probe went out */
    uint32_t tlp_seq;      /* where the probe's segment starts */
    /* RFC 8985 6 RACK (tcp_rack.c) */
    struct tt_rack_rec *xlog; /* the transmit log over [SND.UNA, SND.NXT) */
    uint32_t xlog_n, xlog_cap;
    uint64_t rack_xmit_ts, rack_rtt; /* RACK.xmit_ts, RACK.rtt */
    uint32_t rack_end_seq;           /* RACK.end_seq */
    bool rack_advanced;              /* a segment was delivered since the last check */
    bool rack_reo_armed;             /* the RTX timer runs as the reorder timer */
    bool rack_lost_seen;             /* a record may be marked lost */
    bool rack_dsack_seen;            /* RFC 8985 6.2 step 3: a DSACK came */
    uint8_t reo_wnd_steps;           /* RACK.reo_wnd_mult */
    uint8_t reo_wnd_persist;         /* recoveries the widened window is kept for */
    uint64_t rack_last_delivered;    /* delivered_bytes when the window last grew */
    uint32_t reordering;             /* Linux tp->reordering, segments (tcpi_reordering) */
    uint32_t reord_seen;             /* reordering events seen (Linux reord_seen) */
    /* this ACK's lowest newly SACKed segment sent once: when it went out
     * (Linux first_sackt, for the RTT sample of a SACK, tcp_ack.c) */
    bool rack_sackt_ok;
    uint32_t rack_sackt_seq;
    uint64_t rack_sackt;

    /* TCP_INFO's chronographs (tcp_chrono.c): the one running, since when,
     * and each one's past total, µs */
    uint8_t chrono_type; /* TT_CHRONO_* */
    uint64_t chrono_start;
    uint64_t chrono_stat[TT_CHRONO_SNDBUF];

    struct timer rtx_timer, delack_timer, finwait2_timer, linger_timer, keepalive_timer;

    /* pacing (tcp_pacing.c), Linux's earliest departure time under fq */
    bool pacing;            /* cfg.tcp_pacing when the TCB was made */
    uint64_t wstamp_ns;     /* Linux tcp_wstamp_ns: the next packet leaves then, ns */
    uint32_t data_segs_out; /* data segments sent (Linux data_segs_out) */
    struct timer pacing_timer;

    uint64_t last_oow_ack; /* --tcp-invalid-ratelimit */
    bool oow_ack_sent;

    /* the application's side */
    tt_listener_t *listener; /* passive open, until accepted */
    struct tt_conn *accept_next;
    bool accepted;       /* handed to the app (or an active open) */
    bool in_ready_queue; /* on its listener's accept queue */
    bool orphan;         /* the app closed its handle */
    bool detached;       /* gone from the tables; only the handle remains */
    bool dead;           /* released: freed at the end of the engine call */
    bool linger_on, reading, wr_shut, writable_wanted;
    unsigned linger_s;
    tt_connect_cb connect_cb;
    tt_read_cb read_cb;
    tt_writable_cb writable_cb;
    tt_close_cb close_cb;
    void *data;

    /* Callbacks owed, delivered when the engine call ends (tcb.c). */
    struct tt_pending pending;
    uint8_t notify; /* TT_NOTIFY_* */
    int connect_status, close_status;
    tt_connect_cb connect_due;              /* connect_cb, taken when the result came */
    tt_close_cb close_due;                  /* the close callback, taken when it became due */
    struct tt_staged *staged, *staged_tail; /* in-order bytes for read_cb */
    /* Work after the callbacks (engine.c): TT_AFTER_* */
    uint8_t after;
    bool after_queued;
    bool ack_due, ack_urgent; /* in-order data came: the ACK decision waits too */
    struct tt_conn *after_next;

    struct tt_conn *free_next;           /* on the engine's list to free */
    struct tt_conn *all_prev, *all_next; /* every TCB of the engine, detached too */
};

struct tt_listener {
    tt_engine_t *eng;
    uint16_t port;
    int backlog;
    int ready;            /* established, not yet accepted */
    int half_open;        /* in SYN_RECEIVED */
    uint64_t last_cookie; /* when we last answered with a SYN cookie */
    bool cookies_sent;
    struct tt_conn *ready_head, *ready_tail;
    tt_conn_opts_t opts; /* for the connections of its SYNs */
    tt_connection_cb cb;
    void *data;
    struct tt_pending pending;
    int notify;  /* connection callbacks owed */
    bool closed; /* tt_listener_close(): freed at the end of the engine call */
    struct tt_listener *next;
};

/* Records queued during an engine call (services.c): blocks that never move. */
struct tt_recq_block {
    struct tt_recq_block *next;
    size_t used, cap;
    max_align_t data[];
};

struct tt_recq {
    struct tt_recq_block *head, *tail, *spare;
    struct tt_recq_block *rd; /* the reader's block and offset in it */
    size_t rd_off;
    unsigned nspare;
};

struct conn_table {
    struct hnode **buckets;
    size_t nbuckets, count;
};

struct tt_engine {
    tt_config_t cfg;
    tt_output_cb out;
    void *out_ctx;
    tt_event_cb ev;
    void *ev_ctx;
    uint64_t now, start;
    int depth;   /* nesting of engine calls: the outermost one ends them */
    bool ending; /* the outermost call delivers what it owes (engine.c) */
    /* Inside tt_engine_batch_begin/end: a reader's bytes join (tcb.c). */
    uint32_t batching;
    bool csum_known; /* tt_engine_input_rx()'s csum_known: TCP checksums not summed */
    /* The datagram of an outermost call that stays as it is until the
     * call returns (tt_engine_input_super()): bytes in it are staged
     * for the read callback without a copy. NULL otherwise. */
    const uint8_t *rx_stable;
    size_t rx_stable_len;
    /* tt_engine_set_csum_partial(): TCP checksums the device completes. */
    bool csum_partial;
    struct conn_table table;
    size_t nconns;
    struct tt_listener *listeners;
    struct timer_wheel *wheel;
    struct tw_table tw; /* TIME_WAIT entries, FIFO by expiry */
    struct tt_conn *all_conns;
    /* What the engine call leaves to its end (engine.c, tcb.c) */
    struct tt_pending *pending_head, *pending_tail; /* callbacks owed, first come first */
    struct tt_recq staged;                          /* their bytes for read callbacks */
    struct tt_conn *after_head, *after_tail;        /* work after the callbacks */
    struct tt_conn *to_free;                        /* released TCBs */
    struct tt_listener *closed_listeners;
    struct tt_conn *recent[TT_RECENT_CONNS]; /* lookups' results: most segments skip the hash */
    struct ooo_seg *ooo_pool; /* spare reassembly nodes of MTU size: no malloc per packet */
    uint32_t ooo_pool_len;
    struct tt_spares spares;    /* freed blocks for the next connections (spare.c) */
    uint32_t port_perturb[256]; /* RFC 6056 Algorithm 4 table */
    uint64_t rng;               /* splitmix64 state, from cfg.seed */
    uint16_t ip_id;
    tt_stats_t stats;
    struct tt_recq outq;    /* datagrams sent during this call, handed out at its end */
    int out_state;          /* tt_engine_output_state() while one is handed out */
    bool local_cong;        /* the device refuses what we send (tcp_localcong.c) */
    uint8_t payload[65536]; /* scratch: a segment's bytes out of a ring */

    /* tt_engine_set_gso_out(): runs of new data leave as one GSO datagram (tcp_tso.c) */
    bool gso_out;
    uint16_t out_gso; /* tt_engine_output_gso_size() while one is handed out */
    struct tt_tso_run {
        bool open;
        struct seg first; /* its first segment's fields (no payload) */
        uint8_t *buf;     /* the datagram at the output queue's tail, not yet committed */
        uint32_t hlen, mss, payload, segs;
        uint32_t cap; /* the datagram's bytes at most */
        int state;
        bool direct; /* buf is tt_run_out_t's room, not the output queue's */
    } run;
    /* tt_engine_set_run_out(): where runs are built; flushing: the output callback runs */
    const tt_run_out_t *run_out;
    void *run_out_ctx;
    bool flushing;
};

/* engine.c: the entry points, and the end of each engine call */
void tt_engine_enter(tt_engine_t *eng);
void tt_engine_leave(tt_engine_t *eng);

/* services.c: what every module may call; it calls none of them */
uint8_t *tt_engine_output_buf(tt_engine_t *eng, size_t cap);
void tt_engine_output_push(tt_engine_t *eng, size_t len, int state);
uint8_t *tt_engine_output_run_buf(tt_engine_t *eng, size_t min, size_t max, size_t *cap);
void tt_engine_output_run_close(tt_engine_t *eng);
void tt_engine_output_flush(tt_engine_t *eng);

/* tcp_tso.c: a run of new data built as one GSO datagram */
bool tt_tso_take(tt_engine_t *eng, const struct seg *s, int state);
uint32_t tt_tso_joinable(const tt_engine_t *eng, const struct seg *s, int state);
void tt_tso_append_ring(tt_engine_t *eng, const struct ring *r, uint32_t off, uint32_t segs,
                        bool psh);

/* tcp_localcong.c: the device refusing datagrams (Linux NET_XMIT_DROP) */
#define TT_RESOURCE_PROBE_INTERVAL (500 * MS) /* Linux TCP_RESOURCE_PROBE_INTERVAL */
bool tt_localcong_refuses(const tt_engine_t *eng);
uint64_t tt_localcong_probe_interval(const struct tt_conn *c);
bool tt_engine_output_pending(const tt_engine_t *eng);
void tt_recq_free(struct tt_recq *q);
struct tt_staged *tt_engine_stage(tt_engine_t *eng, const uint8_t *data, uint32_t len);
bool tt_engine_stage_grow(tt_engine_t *eng, struct tt_staged *s, const uint8_t *data, uint32_t len);
struct tt_staged *tt_engine_stage_ref(tt_engine_t *eng, const uint8_t *data, uint32_t len);
void tt_engine_staged_reset(tt_engine_t *eng);
void tt_engine_event(tt_engine_t *eng, tt_event_t *ev, const struct tuple *t);
uint32_t tt_engine_ms(const tt_engine_t *eng);
uint32_t tt_engine_random(tt_engine_t *eng);
struct ooo_seg *tt_engine_ooo_alloc(tt_engine_t *eng, uint32_t len);
void tt_engine_ooo_release(tt_engine_t *eng, struct ooo_seg *o);
void tt_engine_ooo_free_list(struct ooo_seg *o);

/* conn_table.c */
uint32_t tt_tuple_hash(const tt_engine_t *eng, const struct tuple *t);
void tt_tuple_of_seg(const struct seg *seg, struct tuple *t);
int tt_conn_table_init(struct conn_table *tab);
void tt_conn_table_fini(struct conn_table *tab);
struct hnode *tt_conn_table_lookup(const struct conn_table *tab, const struct tuple *t,
                                   uint32_t hash);
int tt_conn_table_insert(struct conn_table *tab, struct hnode *n);
void tt_conn_recent_put(tt_engine_t *eng, struct tt_conn *c);
void tt_conn_recent_drop(tt_engine_t *eng, const struct tt_conn *c);
/* The connection of t: the recent ones first, then the table (a hit there
 * becomes recent); *hash is t's keyed hash when the table was asked, for
 * the TIME_WAIT and listener lookups that follow a miss. */
struct tt_conn *tt_conn_find(tt_engine_t *eng, const struct tuple *t, uint32_t *hash);
void tt_conn_table_remove(struct conn_table *tab, struct hnode *n);
struct tt_listener *tt_listener_find(const tt_engine_t *eng, uint16_t port);
uint32_t tt_isn_generate(const tt_engine_t *eng, uint32_t hash);
int tt_port_select(tt_engine_t *eng, struct tuple *t, tw_id *reuse);

/* syncookie.c */
struct syncookie {
    uint16_t mss;
    bool ws_ok, sack_ok, ts_ok, ecn_ok;
    uint8_t ws;
};
uint32_t tt_syncookie_isn(const tt_engine_t *eng, const struct seg *syn);
uint32_t tt_syncookie_tsval(const tt_engine_t *eng, const struct seg *syn, uint32_t ts_now);
bool tt_syncookie_check(const tt_engine_t *eng, const struct seg *ack, struct syncookie *out);

/* tcb.c */
uint8_t tt_tcb_rcv_wscale(const tt_config_t *cfg, uint32_t rcvbuf);
uint16_t tt_tcb_advmss(const tt_config_t *cfg, uint16_t user_mss);
int tt_tcb_opts_check(const tt_conn_opts_t *o);
/* hash: tt_tuple_hash() of t, which the caller has at hand. */
struct tt_conn *tt_tcb_new(tt_engine_t *eng, const struct tuple *t, uint32_t hash);
void tt_tcb_apply_opts(struct tt_conn *c, const tt_conn_opts_t *o);
void tt_tcb_sndbuf_prepare(struct tt_conn *c, uint32_t len);
void tt_tcb_sndbuf_release(struct tt_conn *c);
void tt_tcb_sndbuf_emptied(struct tt_conn *c);
void tt_tcb_set_sndbuf(struct tt_conn *c, uint32_t bytes);
void tt_tcb_sndbuf_grew(struct tt_conn *c);
void tt_tcb_set_state(struct tt_conn *c, tt_state_t to);
void tt_tcb_close(struct tt_conn *c, tt_close_reason_t why, int err);
void tt_tcb_end(struct tt_conn *c, int err);
void tt_tcb_release(struct tt_conn *c);
void tt_tcb_free(struct tt_conn *c);
void tt_tcb_deliver(struct tt_conn *c, const uint8_t *data, uint32_t len);
void tt_tcb_notify_read(struct tt_conn *c);
void tt_tcb_notify_writable(struct tt_conn *c);
void tt_tcb_notify_closed(struct tt_conn *c, tt_close_cb cb, int status);
void tt_tcb_notify_all(tt_engine_t *eng);
void tt_tcb_after(struct tt_conn *c, uint8_t work);
struct tt_conn *tt_tcb_after_next(tt_engine_t *eng);
void tt_tcb_update_rcv_wnd(struct tt_conn *c);
void tt_tcb_init_send_seq(struct tt_conn *c, uint32_t iss);
void tt_tcb_ooo_free(struct tt_conn *c);
void tt_tcb_established(struct tt_conn *c);
void tt_tcb_syn_options(struct tt_conn *c, const struct seg *seg);
uint32_t tt_tcb_snd_end(const struct tt_conn *c);
void tt_tcb_eor_mark(struct tt_conn *c, uint32_t end);
void tt_tcb_eor_drop_acked(struct tt_conn *c);
bool tt_tcb_eor_after(const struct tt_conn *c, uint32_t seq, uint32_t *end);
void tt_tcb_user_notify_close(struct tt_conn *c, int status);

/* tt_tcp_input.c */
void tt_tcp_input(tt_engine_t *eng, struct seg *seg);
void tt_tcp_conn_input(struct tt_conn *c, struct seg *seg);
void tt_tcp_input_done(struct tt_conn *c);

/* tcp_gro.c */
bool tt_gro_input(tt_engine_t *eng, struct seg *seg);

/* tcp_listen.c. hash: tt_tuple_hash() of the segment's 4-tuple, which
 * tt_tcp_input() computed for its lookups (SipHash once per segment). */
struct tt_conn *tt_tcp_listen_input(tt_engine_t *eng, struct tt_listener *l, struct seg *seg,
                                    uint32_t hash);
void tt_tcp_listen_syn(tt_engine_t *eng, struct tt_listener *l, const struct seg *seg,
                       uint32_t hash, bool has_iss, uint32_t iss);

/* tcp_ack.c: how far a segment goes after its ACK step */
enum tt_ack_verdict {
    TT_ACK_GO_ON,  /* on to the text and FIN */
    TT_ACK_DONE,   /* nothing more for this segment */
    TT_ACK_CLOSED, /* the connection left the engine (TIME_WAIT or CLOSED) */
};
enum tt_ack_verdict tt_tcp_ack_input(struct tt_conn *c, const struct seg *seg);
void tt_tcp_fin_wait_1_done(struct tt_conn *c);
void tt_tcp_rtt_syn_acked(struct tt_conn *c);

/* tcp_sack.c */
void tt_sack_clear(struct tt_conn *c);
void tt_sack_update(struct tt_conn *c, const struct seg *seg);
void tt_sack_prune(struct tt_conn *c);
bool tt_sack_next_hole(const struct tt_conn *c, uint32_t from, uint32_t *start, uint32_t *end);
uint32_t tt_sack_bytes_below(const struct tt_conn *c, uint32_t seq);
uint32_t tt_sack_high(const struct tt_conn *c);

/* tcp_recovery.c: fast recovery (RFC 6675 pipe, RFC 6937 PRR) */
uint32_t tt_rec_lost_end(const struct tt_conn *c);
uint32_t tt_rec_pipe(const struct tt_conn *c);
/* After an ACK's SACK blocks and SND.UNA are taken: starts, paces or ends
 * recovery; true when it set cwnd (no congestion-avoidance growth then). */
bool tt_rec_on_ack(struct tt_conn *c, uint32_t delivered, bool una_advanced, bool ece);
void tt_rec_retransmit(struct tt_conn *c);
bool tt_rec_reo_timeout(struct tt_conn *c);

/*
 * tcp_cc.c: the congestion-control module of a connection (docs/contract.md
 * §2.5). tcp_ack.c, tcp_recovery.c and tcp_timer.c decide when; the module
 * decides how much.
 */
void tt_cc_init(struct tt_conn *c);
/* An ACK delivered this many bytes and cwnd may grow (slow start, avoidance). */
void tt_cc_cong_avoid(struct tt_conn *c, uint32_t delivered);
/* Loss detected by ACKs (fast recovery starts): the new ssthresh. */
uint32_t tt_cc_ssthresh(struct tt_conn *c);
/* The retransmission timer expired: the new ssthresh, before cwnd is one segment. */
uint32_t tt_cc_ssthresh_rto(struct tt_conn *c);
/* New data goes out with nothing in flight, c->lsndtime still the last
 * send before (Linux CA_EVENT_TX_START). */
void tt_cc_tx_start(struct tt_conn *c);
/* The application queues data: cwnd restarts if the flow sat idle past an
 * RTO (tcp_slow_start_after_idle). */
void tt_cc_restart_after_idle(struct tt_conn *c);

/* tcp_reno.c: RFC 5681 as Linux's tcp_cong.c, shared by the other modules */
uint32_t tt_reno_slow_start(struct tt_conn *c, uint32_t delivered);
void tt_reno_cong_avoid_ai(struct tt_conn *c, uint32_t w, uint32_t delivered);
void tt_reno_cong_avoid(struct tt_conn *c, uint32_t delivered);
uint32_t tt_reno_ssthresh(const struct tt_conn *c);
uint32_t tt_reno_ssthresh_rto(const struct tt_conn *c);

/* An ACK moved SND.UNA; rtt_us: its RTT sample, -1 when it has none (Linux
 * pkts_acked). Before the ACK opens cwnd. */
void tt_cc_pkts_acked(struct tt_conn *c, int64_t rtt_us);
/* A GSO packet's largest size, Linux's sk_gso_max_size of a device
 * (GSO_LEGACY_MAX_SIZE): what tcp_tso_autosize() and HyStart assume. */
#define TT_GSO_MAX_SIZE 65536u
/* Linux's sk_pacing_rate, bytes per second (applied by tcp_pacing.c when
 * the connection paces). */
uint64_t tt_cc_pacing_rate(const struct tt_conn *c);

/* tcp_pacing.c: Linux's pacing under fq (earliest departure time). The
 * inline wrappers keep an unpaced connection's cost to one branch. */
bool tt_pacing_wait(struct tt_conn *c);
void tt_pacing_advance(struct tt_conn *c, uint32_t len, uint32_t segs);
/* Whether the next data packet must wait for its departure time; arms the
 * pacing timer for it then. False when the connection does not pace. */
static inline bool tt_pacing_holds(struct tt_conn *c)
{
    return c->pacing && tt_pacing_wait(c);
}
/* A data packet (one GSO packet, segs segments, len bytes) went out now:
 * the next one's departure time moves on by len at the pacing rate. */
static inline void tt_pacing_sent(struct tt_conn *c, uint32_t len, uint32_t segs)
{
    if (c->pacing)
        tt_pacing_advance(c, len, segs);
}

/* tcp_txstamp.c: send times of the data in flight, for the RTT samples */
void tt_txstamp_sent(struct tt_conn *c, uint32_t seq);
void tt_txstamp_retransmitted(struct tt_conn *c, uint32_t end);
int64_t tt_txstamp_acked(struct tt_conn *c, uint32_t una, uint32_t ack, int64_t *seq_rtt);
void tt_txstamp_free(struct tt_conn *c);

/* tcp_skb.c: Linux's skbs over the send buffer. The i-th queued skb
 * (0: the oldest, acknowledged or not) as seq, end and flags. */
struct tt_skb_view {
    uint32_t seq, end;
    uint8_t flags; /* TT_SKB_* */
};
uint32_t tt_skb_size_goal(const struct tt_conn *c);
void tt_skb_queue(struct tt_conn *c, uint32_t len, int write_flags);
uint32_t tt_skb_count(const struct tt_conn *c);
bool tt_skb_at(const struct tt_conn *c, uint32_t i, struct tt_skb_view *out);
bool tt_skb_find(const struct tt_conn *c, uint32_t seq, struct tt_skb_view *out);
uint32_t tt_skb_unsent_count(const struct tt_conn *c);
void tt_skb_split(struct tt_conn *c, uint32_t seq);
void tt_skb_acked(struct tt_conn *c);
void tt_skb_free(struct tt_conn *c);
/* the write path's steps (tcp_sendmsg_locked()) and the marks on sending */
uint32_t tt_skb_room(struct tt_conn *c);
bool tt_skb_add(struct tt_conn *c, uint32_t len, bool first);
bool tt_skb_forced_push(struct tt_conn *c);
bool tt_skb_tail_is_send_head(const struct tt_conn *c);
void tt_skb_write_end(struct tt_conn *c, int write_flags);
bool tt_skb_psh_within(const struct tt_conn *c, uint32_t seq, uint32_t end);
void tt_skb_set_psh(struct tt_conn *c, uint32_t seq);
uint32_t tt_skb_sacked_pcount(const struct tt_conn *c);

/* tcp_cubic.c: RFC 9438 as Linux's tcp_cubic.c, with its HyStart */
void tt_cubic_init(struct tt_conn *c);
void tt_cubic_pkts_acked(struct tt_conn *c, int64_t rtt_us);
void tt_cubic_cong_avoid(struct tt_conn *c, uint32_t delivered);
uint32_t tt_cubic_ssthresh(struct tt_conn *c);
uint32_t tt_cubic_ssthresh_rto(struct tt_conn *c);
void tt_cubic_tx_start(struct tt_conn *c);
uint32_t tt_cubic_root(uint64_t a);
/* tcp_tlp.c: RFC 8985 7 Tail Loss Probe (the probe itself: tcp_output.c) */
#define TT_TLP_SLACK (2 * MS) /* Linux TCP_TIMEOUT_MIN_US: PTO past 2 SRTT */
bool tt_tlp_may_arm(const struct tt_conn *c);
uint64_t tt_tlp_pto(const struct tt_conn *c);
void tt_tlp_sent(struct tt_conn *c, uint32_t seq, bool is_retrans);
bool tt_tlp_probe_sacked(const struct tt_conn *c);
void tt_tlp_on_ack(struct tt_conn *c, const struct seg *seg, bool una_advanced, bool sacked_new);
void tt_tlp_end(struct tt_conn *c);

/* tcp_ecn.c: RFC 3168 ECN as Linux (tcp_ecn_*); calls nothing */
enum {
    TT_ECN_OK = 1,         /* negotiated (Linux TCP_ECN_OK) */
    TT_ECN_QUEUE_CWR = 2,  /* CWR on the next new data segment */
    TT_ECN_DEMAND_CWR = 4, /* CE came: ECE on what we send until CWR comes */
    TT_ECN_SEEN = 8,       /* an ECT or CE segment came */
};
/* The ECN flags of our SYN (ECE|CWR with tcp_ecn 1; sets ecn_flags) or
 * SYN-ACK (ECE when agreed). */
uint8_t tt_ecn_syn_flags(struct tt_conn *c, bool synack);
/* The peer's SYN-ACK, or SYN in a simultaneous open: ECN stays or goes. */
void tt_ecn_rcv_syn(struct tt_conn *c, const struct seg *seg);
/* A listener's verdict on a SYN: it asks for ECN and we agree. */
bool tt_ecn_syn_asks(const tt_engine_t *eng, const struct seg *syn);
/* Marks a segment about to leave: ECT(0), CWR, ECE. */
void tt_ecn_send(struct tt_conn *c, struct seg *s);
/* A data segment in the text step: CE and CWR; true when it must be ACKed now. */
bool tt_ecn_rcv_data(struct tt_conn *c, const struct seg *seg);
/* An ACK echoes congestion (ECE, not on a SYN, ECN agreed). */
bool tt_ecn_echo(const struct tt_conn *c, const struct seg *seg);
/* cwnd was reduced: CWR on the next new data. */
void tt_ecn_queue_cwr(struct tt_conn *c);

/* tcp_lowat.c: TCP_NOTSENT_LOWAT (Linux tcp_notsent_lowat). The tests
 * are inline so that tcb.c asks them without calling into tcp_lowat.c,
 * which calls tcb.c (docs/architecture.md §2: no call cycle). */
/* Linux tcp_notsent_lowat(): the socket's value, else the sysctl. */
static inline uint32_t tt_lowat_of(const struct tt_conn *c)
{
    return c->notsent_lowat ? c->notsent_lowat : c->eng->cfg.tcp_notsent_lowat;
}
/* Bytes queued but not sent yet: Linux write_seq - snd_nxt (0 once our
 * FIN, past the data, has gone out). */
static inline uint32_t tt_lowat_notsent(const struct tt_conn *c)
{
    uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
    return (int32_t)(data_end - c->snd_nxt) > 0 ? data_end - c->snd_nxt : 0;
}
/* Linux tcp_stream_memory_free(): (notsent << wake) < lowat, in 64 bits so
 * that a mark near UINT32_MAX is not wrapped. */
static inline bool tt_lowat_memory_free(const struct tt_conn *c, int wake)
{
    return ((uint64_t)tt_lowat_notsent(c) << wake) < tt_lowat_of(c);
}
uint32_t tt_lowat_write_len(const struct tt_conn *c, uint32_t want);
void tt_lowat_check_space(struct tt_conn *c);
/* tcp_sndmem.c: the send buffer as Linux accounts it (sk_wmem_queued) */
#define TT_SNDBUF_EXPAND_MAX (4u << 20) /* Linux tcp_wmem[2] default: 4 MB */
uint64_t tt_sndmem_truesize(uint64_t payload, uint32_t skbs);
uint64_t tt_sndmem_queued(const struct tt_conn *c);
bool tt_sndmem_writable(const struct tt_conn *c);
bool tt_sndmem_may_queue(const struct tt_conn *c);
void tt_sndmem_init(struct tt_conn *c);
void tt_sndmem_check_space(struct tt_conn *c);
void tt_sndmem_sent(struct tt_conn *c);
/* tcp_rack.c: RFC 8985 6 RACK loss detection. Whether it runs: with SACK
 * and net.ipv4.tcp_recovery's bit 0 (inline: several times per ACK). */
static inline bool tt_rack_on(const struct tt_conn *c)
{
    return c->sack_ok && (c->eng->cfg.tcp_recovery & TT_RACK_LOSS_DETECTION);
}
void tt_rack_free(struct tt_conn *c);
void tt_rack_sent(struct tt_conn *c, uint32_t seq, uint32_t end);
uint32_t tt_rack_seg_edge(const struct tt_conn *c, uint32_t seq, bool up);
void tt_rack_on_ack(struct tt_conn *c, const struct seg *seg);
void tt_rack_prune(struct tt_conn *c);
void tt_rack_on_rto(struct tt_conn *c);
uint64_t tt_rack_reo_wnd(const struct tt_conn *c);
uint64_t tt_rack_mark_lost(struct tt_conn *c);
bool tt_rack_reo_timeout(struct tt_conn *c);
uint32_t tt_rack_lost_bytes(const struct tt_conn *c, bool only_unsent);
uint32_t tt_rack_retrans_bytes(const struct tt_conn *c);
bool tt_rack_next_lost(const struct tt_conn *c, uint32_t *start, uint32_t *end);
void tt_rack_update_reo_wnd(struct tt_conn *c, uint64_t prior_delivered);
void tt_rack_recovery_done(struct tt_conn *c);
void tt_tcp_arm_reo(struct tt_conn *c, uint64_t at);

/* tt_tcp_output.c */
uint32_t tt_tcp_usable_window_end(const struct tt_conn *c);
uint32_t tt_tcp_retransmit_at(struct tt_conn *c, uint32_t seq, uint32_t max);
uint32_t tt_tcp_retransmit_lost(struct tt_conn *c, uint32_t seq, uint32_t max);
void tt_tcp_output(struct tt_conn *c);
/* How tt_tcp_push() treats a partial segment at the tail of the queue
 * (Linux's nonagle argument): by the connection's own settings, held
 * (MSG_MORE), or sent whatever Nagle and TCP_CORK say. */
enum tt_push { TT_PUSH_DEFAULT, TT_PUSH_HOLD, TT_PUSH_FORCE, TT_PUSH_ONE };
void tt_tcp_push(struct tt_conn *c, enum tt_push how);
bool tt_tcp_write_wakeup(struct tt_conn *c);
void tt_tcp_window_update(struct tt_conn *c);
void tt_tcp_send_syn(struct tt_conn *c);
void tt_tcp_resend_syn(struct tt_conn *c);
void tt_tcp_send_ack(struct tt_conn *c);
/* tcp_keepalive.c: SO_KEEPALIVE (Linux tcp_keepalive_timer) */
void tt_tcp_keepalive_fire(struct tt_conn *c);
/* The idle time before the first probe (TCP_KEEPIDLE, else tcp_keepalive_time);
 * inline, so that tcb.c and app.c can arm the timer without calling into
 * tcp_keepalive.c (docs/architecture.md §2: no call cycle). */
static inline uint64_t tt_tcp_keepalive_time(const struct tt_conn *c)
{
    return c->ka_idle_s ? (uint64_t)c->ka_idle_s * SEC : c->eng->cfg.keepalive_time_us;
}
void tt_tcp_send_ctl(struct tt_conn *c, uint8_t flags, uint32_t seq);
void tt_tcp_retransmit_head(struct tt_conn *c);
bool tt_tcp_send_loss_probe(struct tt_conn *c);
void tt_tcp_send_zero_window_probe(struct tt_conn *c);
void tt_tcp_send_reset_reply(tt_engine_t *eng, const struct seg *seg, int state);
void tt_tcp_reset_noconn(tt_engine_t *eng, const struct seg *seg, int state, const char *why);
void tt_tcp_send_raw(tt_engine_t *eng, const struct seg *s, int state);
bool tt_tcp_oow_rate_limited(tt_engine_t *eng, uint64_t *last, bool *sent);
bool tt_tcp_oow_exempt(const struct seg *seg);
void tt_tcp_challenge_ack(struct tt_conn *c);

/* tcp_rcvmss.c: the peer's segment size as seen (Linux icsk_ack.rcv_mss) */
void tt_rcvmss_init(struct tt_conn *c);
void tt_rcvmss_measure(struct tt_conn *c, const struct seg *seg);

/* tcp_chrono.c: TCP_INFO's busy and rwnd-limited times (Linux tcp_chrono_*) */
void tt_chrono_start(struct tt_conn *c, uint8_t type);
void tt_chrono_stop(struct tt_conn *c, uint8_t type);
void tt_chrono_rwnd(struct tt_conn *c, bool limited);
void tt_chrono_read(const struct tt_conn *c, uint64_t *busy, uint64_t *rwnd, uint64_t *sndbuf);

/* tcp_timer.c */
void tt_tcp_timer_fire(struct timer *t);
void tt_tcp_rearm_rtx(struct tt_conn *c);
void tt_tcp_rtt_sample(struct tt_conn *c, uint64_t rtt);
void tt_tcp_rto_from_estimate(struct tt_conn *c);
void tt_tcp_arm_finwait2(struct tt_conn *c);

/* timewait.c */
uint32_t tt_timewait_hash(const void *eng, const struct tw_entry *e);
bool tt_timewait_has_room(const tt_engine_t *eng);
void tt_timewait_enter(struct tt_conn *c);
/* What a segment for a TIME_WAIT entry calls for; the caller carries it out. */
enum tt_tw_verdict {
    TT_TW_IGNORE,      /* drop it */
    TT_TW_ACK,         /* ACK from the entry's record */
    TT_TW_ACK_LIMITED, /* the same, under --tcp-invalid-ratelimit */
    TT_TW_RESTART,     /* the peer's FIN again: ACK it and restart 2MSL */
    TT_TW_KILL,        /* a RST ends TIME_WAIT (tcp_rfc1337 0) */
    TT_TW_SYN,         /* a SYN that may open a new incarnation, if a listener takes it */
};
enum tt_tw_verdict tt_timewait_decide(const tt_engine_t *eng, tw_id id, const struct seg *seg);
void tt_timewait_ack(tt_engine_t *eng, tw_id id, bool limited);
void tt_timewait_restart(tt_engine_t *eng, tw_id id);
void tt_timewait_kill(tt_engine_t *eng, tw_id id);
uint32_t tt_timewait_reopen(tt_engine_t *eng, tw_id id);
void tt_timewait_expire(tt_engine_t *eng, uint64_t now);
void tt_timewait_remove(tt_engine_t *eng, tw_id id, tt_close_reason_t why);
void tt_timewait_tuple(const tt_engine_t *eng, const struct tw_entry *tw, struct tuple *t);
uint64_t tt_timewait_next_expiry(const tt_engine_t *eng);
void tt_timewait_retime(tt_engine_t *eng, uint64_t old_msl_us, uint64_t new_msl_us);

#endif
