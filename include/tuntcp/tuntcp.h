/*
 * tuntcp — a userspace TCP/IPv4 engine.
 *
 * The engine is pure: it never reads a clock, never makes a system call and
 * holds no global state. Every packet and every timer goes through one of
 * three entry points, each of which takes the current time:
 *
 *     tt_engine_input(eng, packet, len, now)   a packet arrived
 *     tt_engine_timers(eng, now)               run the timers that are due
 *     tt_engine_next_deadline(eng)             when to call timers again
 *
 * Application calls (tt_connect, tt_conn_write, tt_conn_close, ...) run at
 * the engine's current time: the `now` of the last entry point called, or of
 * tt_engine_set_now(), as libuv's uv_now() is the loop's cached time.
 *
 * Nothing leaves the engine in the middle of its work. When an entry point
 * or an application call is about to return, the application's callbacks
 * run (each connection's in the order connect, writable, read, close),
 * then the packets leave through the output callback given to
 * tt_engine_new(), in the order they were sent. A callback sees the
 * connection as the whole packet, timer or call left it.
 *
 * Errors are negative errno values. Callbacks may call any function of this
 * API, except tt_engine_free(); what those calls cause is delivered before
 * the engine call that ran the callback returns.
 */
#ifndef TUNTCP_TUNTCP_H
#define TUNTCP_TUNTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TT_VERSION_STRING "0.1.0"

/* tt_engine_next_deadline() when no timer is armed. */
#define TT_TIME_NEVER UINT64_MAX

/* Passed to tt_read_cb when the peer's FIN arrives; outside errno's range. */
#define TT_EOF (-4095)

typedef struct tt_engine tt_engine_t;
typedef struct tt_conn tt_conn_t;
typedef struct tt_listener tt_listener_t;

/* RFC 9293 3.3.2. The order is fixed: the trace and the tests use it. */
typedef enum tt_state {
    TT_STATE_CLOSED = 0,
    TT_STATE_LISTEN,
    TT_STATE_SYN_SENT,
    TT_STATE_SYN_RECEIVED,
    TT_STATE_ESTABLISHED,
    TT_STATE_FIN_WAIT_1,
    TT_STATE_FIN_WAIT_2,
    TT_STATE_CLOSE_WAIT,
    TT_STATE_CLOSING,
    TT_STATE_LAST_ACK,
    TT_STATE_TIME_WAIT,
} tt_state_t;

/* Why a connection reached CLOSED (docs/contract.md §4.3 "why"). */
typedef enum tt_close_reason {
    TT_WHY_NONE = 0,
    TT_WHY_LAST_ACK,
    TT_WHY_TIMEWAIT_EXPIRED,
    TT_WHY_TIMEWAIT_RST,
    TT_WHY_TIMEWAIT_SYN,
    TT_WHY_TIMEWAIT_REUSED,
    TT_WHY_TW_OVERFLOW,
    TT_WHY_FIN_TIMEOUT,
    TT_WHY_RST_IN,
    TT_WHY_RST_OUT,
    TT_WHY_TIMEOUT,
    TT_WHY_REFUSED,
    TT_WHY_APP_CLOSE, /* closed by the app with no segment sent: before synchronizing, or
                         SO_LINGER {on, 0} in CLOSING/LAST_ACK with everything sent (Linux) */
} tt_close_reason_t;

/* tcp_congestion_control (docs/contract.md §2.5): what new connections use. */
typedef enum tt_cc_algo {
    TT_CC_RENO = 0,  /* RFC 5681 (NewReno recovery): ssthresh half of cwnd */
    TT_CC_CUBIC = 1, /* RFC 9438, Linux's default: ssthresh 0.7 x cwnd, cubic growth */
} tt_cc_algo_t;

/*
 * Engine configuration. tt_config_init() fills in Linux's defaults.
 *
 * Giving up, as Linux: retries2 (tcp_retries2, 15) bounds retransmissions by
 * the time that many take from a 200 ms RTO (924.6 s), and zero-window probes
 * by that many left unanswered in a row; a peer that answers every probe
 * keeps the connection open (RFC 1122 4.2.2.17). An orphan (its handle closed:
 * FIN_WAIT_1, CLOSING or LAST_ACK with data or FIN unacknowledged) is held to
 * tcp_orphan_retries instead. Its default 0 means Linux's: 8 while the
 * backed-off RTO is below 120 s, then none: a silent peer loses the orphan
 * after 102.2 s from a 200 ms RTO, and one that keeps answering its probes
 * with a zero window after 324.6 s. Either way the connection ends with
 * ETIMEDOUT (CLOSED why "timeout"), without a RST.
 */
typedef struct tt_config {
    uint32_t addr;                 /* our IPv4 address, host byte order */
    uint32_t mtu;                  /* bytes; the MSS we announce is mtu - 40 */
    uint64_t msl_us;               /* maximum segment lifetime; TIME_WAIT = 2 * msl_us */
    uint64_t fin_timeout_us;       /* tcp_fin_timeout: FIN_WAIT_2 of an orphan */
    int tcp_rfc1337;               /* 1: ignore RST in TIME_WAIT */
    int tcp_tw_reuse;              /* 1: connect may reuse a TIME_WAIT 4-tuple; 2: loopback only */
    uint64_t tw_reuse_delay_us;    /* tcp_tw_reuse_delay: the entry's last timestamp this old */
    uint32_t tcp_max_tw_buckets;   /* cap on TIME_WAIT entries */
    int tcp_timestamps;            /* RFC 7323 timestamps */
    int tcp_window_scaling;        /* RFC 7323 window scale */
    int tcp_sack;                  /* RFC 2018 SACK-permitted */
    int tcp_congestion_control;    /* tt_cc_algo_t, for connections made from now on */
    int tcp_early_retrans;         /* 3 or 4: tail loss probes (RFC 8985 7) */
    int tcp_recovery;              /* TT_RACK_* bits, Linux tcp_recovery (RFC 8985 6) */
    int tcp_slow_start_after_idle; /* 1: cwnd restarts after an idle RTO (RFC 5681 4.1) */
    int tcp_min_tso_segs;          /* least segments in the GSO packets PSH follows */
    int tcp_ecn;                   /* ECN (RFC 3168): 1 ask and accept, 2 accept, 0 off */
    int tcp_pacing;                /* 1: pace data as Linux does under the fq qdisc */
    int tcp_pacing_ss_ratio;       /* pacing rate, % of cwnd / SRTT in slow start */
    int tcp_pacing_ca_ratio;       /* pacing rate, % of cwnd / SRTT after slow start */
    uint64_t invalid_ratelimit_us; /* min gap between ACKs to invalid segments; 0 = none */
    uint16_t port_lo, port_hi;     /* ip_local_port_range */
    int syn_retries;               /* tcp_syn_retries */
    int synack_retries;            /* tcp_synack_retries */
    int retries2;                  /* tcp_retries2 */
    uint64_t keepalive_time_us;    /* tcp_keepalive_time: idle before the first probe */
    uint64_t keepalive_intvl_us;   /* tcp_keepalive_intvl: between probes */
    int keepalive_probes;          /* tcp_keepalive_probes: unanswered probes before the reset */
    int tcp_orphan_retries;        /* tcp_orphan_retries, in place of retries2 for orphans */
    int tcp_syncookies;            /* 1: SYN cookies when a listener's SYN queue is full */
    uint32_t tcp_max_syn_backlog;  /* half-open connections per listener without cookies */
    uint32_t sndbuf;               /* send buffer per connection, bytes */
    uint32_t rcvbuf;               /* receive buffer per connection, bytes */
    uint32_t tcp_notsent_lowat;    /* writable below this many unsent bytes; UINT32_MAX: off */
    uint64_t delack_us;            /* delayed ACK timeout */
    uint8_t isn_secret[16];        /* RFC 6528 key */
    uint64_t seed;                 /* port selection and other choices */
} tt_config_t;

/* One trace event (docs/contract.md §4). Strings are static; the event lives for the call. */
typedef enum tt_event_type {
    TT_EV_STATE,            /* from -> to; why when to == CLOSED */
    TT_EV_TIMEWAIT_RESTART, /* 2MSL restarted by a duplicate FIN; expires_us */
    TT_EV_RST_OUT,          /* we sent a RST on a connection; why */
    TT_EV_RST_IN,           /* an acceptable RST arrived; state */
    TT_EV_RST_NOCONN,       /* we answered a segment of no connection with a RST; rst_why */
    TT_EV_CONNECT_FAIL,     /* an active open failed: tt_connect()'s error or connect_cb's; err */
    TT_EV_LINGER_EXPIRED,   /* SO_LINGER {on, N} ran out before our FIN was ACKed; state */
} tt_event_type_t;

typedef struct tt_event {
    tt_event_type_t type;
    uint64_t now_us;
    uint32_t laddr, raddr; /* host byte order */
    uint16_t lport, rport;
    tt_state_t from, to, state;
    tt_close_reason_t why;
    const char *rst_why; /* TT_EV_RST_OUT: "linger0", "abort", ...; TT_EV_RST_NOCONN */
    uint64_t expires_us; /* TT_EV_TIMEWAIT_RESTART */
    int err;             /* TT_EV_CONNECT_FAIL: negative errno; lport 0 if none was chosen */
    uint8_t seg_flags;   /* TT_EV_RST_NOCONN: the TCP flags of the segment answered */
} tt_event_t;

typedef void (*tt_output_cb)(void *ctx, const uint8_t *packet, size_t len);
typedef void (*tt_event_cb)(void *ctx, const tt_event_t *ev);

/* Application callbacks, libuv style. */
typedef void (*tt_connection_cb)(tt_listener_t *listener, int status);
typedef void (*tt_connect_cb)(tt_conn_t *conn, int status);
/* nread > 0: bytes; TT_EOF: the peer's FIN; < 0: an error (-ECONNRESET ...).
 * buf is valid only during the callback (it may lie in the datagram being read). */
typedef void (*tt_read_cb)(tt_conn_t *conn, const uint8_t *buf, ssize_t nread);
/* Room in the send buffer again after a write returned less than asked. */
typedef void (*tt_writable_cb)(tt_conn_t *conn);
/* status 0 (also when a linger time ran out, as Linux's close()). The handle is gone after. */
typedef void (*tt_close_cb)(tt_conn_t *conn, int status);

/* Counters, named after Linux's nstat MIB where one exists. */
typedef struct tt_stats {
    uint64_t TcpActiveOpens, TcpPassiveOpens, TcpAttemptFails, TcpEstabResets;
    uint64_t TcpInSegs, TcpOutSegs, TcpRetransSegs, TcpInErrs, TcpOutRsts;
    uint64_t TcpInCsumErrors;
    uint64_t TcpExtTW, TcpExtTWKilled, TcpExtTWRecycled, TcpExtTCPTimeWaitOverflow;
    uint64_t TcpExtTCPChallengeACK, TcpExtTCPAbortOnClose, TcpExtTCPAbortOnData;
    uint64_t TcpExtTCPAbortOnTimeout, TcpExtTCPAbortOnLinger, TcpExtTCPTimeouts;
    uint64_t TcpExtTCPFinWait2Timeout, TcpExtListenOverflows, TcpExtPAWSEstab;
    uint64_t TcpExtTCPACKSkippedTimeWait, TcpExtTCPACKSkippedSeq;
    uint64_t TcpExtTCPOFOQueue, TcpExtDelayedACKs, TcpExtTCPLossProbes, TcpExtTCPKeepAlive;
    uint64_t IpInReceives, IpInHdrErrors, IpInAddrErrors, IpInUnknownProtos;
    uint64_t IpExtInTruncatedPkts, IpExtInCsumErrors;
    uint64_t IpReasmFails, IpOutRequests, IcmpInEchos, IcmpOutEchoReps, IcmpInErrors;
    uint64_t TcpExtSyncookiesSent, TcpExtSyncookiesRecv, TcpExtSyncookiesFailed;
    uint64_t TcpExtListenDrops;
    uint64_t TcpExtTCPLossProbeRecovery;
    uint64_t TcpExtTCPMD5Unexpected;
    uint64_t TcpExtTCPDeliveredCE; /* segments acknowledged by ACKs with ECE (RFC 3168) */
    uint64_t TtInBadTcpHdr, TtInBadTcpOpts, TtNoBufs;
} tt_stats_t;

/* One named counter, for printing every counter of tt_stats_t in order. */
typedef struct tt_stat_desc {
    const char *name;
    size_t offset; /* of the uint64_t in tt_stats_t */
} tt_stat_desc_t;

/* The table of every counter; *count receives its length. */
const tt_stat_desc_t *tt_stats_table(size_t *count);

/* One connection or TIME_WAIT entry, for an `ss -tan`-like listing. */
typedef struct tt_conn_info {
    tt_state_t state;
    uint32_t laddr, raddr;
    uint16_t lport, rport;
    uint64_t expires_us; /* TIME_WAIT / FIN_WAIT_2 timer, or TT_TIME_NEVER */
    uint32_t send_q, recv_q;
    /* Sender state, as `ss -ti` shows it; all 0 for a TIME_WAIT entry. */
    uint32_t mss;      /* effective send MSS, options excluded */
    uint32_t cwnd;     /* congestion window, bytes (RFC 5681) */
    uint32_t ssthresh; /* bytes; UINT32_MAX until the first loss */
    uint32_t unacked;  /* bytes in flight: SND.NXT - SND.UNA */
    uint64_t rto_us;   /* retransmission timeout (RFC 6298) */
    /* Sequence state, a TIME_WAIT entry's too: what --inject's rcv and snd are. */
    uint32_t snd_nxt, rcv_nxt;
    /* Loss recovery detail, as Linux's struct tcp_info reports it (docs/contract.md §2.6). */
    uint8_t ca_state; /* TT_CA_OPEN, _DISORDER, _CWR, _RECOVERY or _LOSS (Linux tcp_ca_state) */
    uint8_t backoff;  /* consecutive timeouts of the same segment whose
                       * retransmission left (a refused one: not) */
    uint8_t probes;   /* zero-window probes unanswered */
    uint8_t snd_wscale, rcv_wscale;
    bool ts_on, sack_on, ws_on;
    bool ecn_on, ecn_seen;      /* RFC 3168 ECN agreed; an ECT or CE segment came */
    uint64_t srtt_us;           /* smoothed RTT (RFC 6298 SRTT) */
    uint64_t rttvar_us;         /* mean deviation (Linux mdev) */
    uint64_t min_rtt_us;        /* least RTT sample; 0 before the first */
    uint32_t sacked_segs;       /* segments the peer SACKed, above SND.UNA */
    uint32_t lost_segs;         /* segments taken as lost, not yet acknowledged */
    uint32_t retrans_segs;      /* retransmitted segments not yet acknowledged */
    uint32_t reordering;        /* reordering seen, segments (Linux tcpi_reordering; 3 at first) */
    uint32_t total_retrans;     /* segments retransmitted, over the connection's life */
    uint32_t delivered;         /* segments delivered (acknowledged or SACKed), SYN included */
    uint32_t snd_wnd, rcv_wnd;  /* the peer's window and ours, bytes */
    uint32_t advmss;            /* the MSS we announced */
    uint64_t last_data_recv_us; /* engine time of the last data segment taken, else of
                                   the handshake's end (Linux lrcvtime); 0 none */
    uint64_t last_data_sent_us; /* of the last new data sent (Linux lsndtime); 0 none */
    uint64_t last_ack_recv_us;  /* of the last acceptable ACK (Linux rcv_tstamp); 0 none */
    /* Linux's chronographs (tcpi_busy_time, tcpi_rwnd_limited): how long data
     * waited to be sent or acknowledged, and of that how long the peer's
     * window held it back, µs */
    uint64_t busy_time_us, rwnd_limited_us;
    /* the peer's segment size as we estimate it from its data (Linux
     * tcpi_rcv_mss): GSO packets count by their segment size */
    uint32_t rcv_mss;
    uint32_t reord_seen; /* reordering events seen (Linux tcpi_reord_seen) */
    /* The send buffer as Linux accounts it (docs/contract.md §2.5): its
     * size (sk_sndbuf, grown with cwnd unless fixed) and what the queue
     * holds, payload and per-skb memory (sk_wmem_queued), bytes; how long
     * the buffer limited the flow (tcpi_sndbuf_limited), µs */
    uint32_t sndbuf;
    uint64_t wmem_queued;
    uint64_t sndbuf_limited_us;
} tt_conn_info_t;

/* tt_config_t.tcp_recovery bits (Linux net.ipv4.tcp_recovery). */
enum {
    TT_RACK_LOSS_DETECTION = 0x1, /* RACK loss detection (RFC 8985 6), the default */
    TT_RACK_STATIC_REO_WND = 0x2, /* DSACKs never widen the reordering window */
    TT_RACK_NO_DUPTHRESH = 0x4,   /* no reordering window of 0 at DupThresh SACKed segments */
};

/* tt_conn_info_t.ca_state: the congestion-control state (Linux numbering). */
enum { TT_CA_OPEN = 0, TT_CA_DISORDER = 1, TT_CA_CWR = 2, TT_CA_RECOVERY = 3, TT_CA_LOSS = 4 };

typedef void (*tt_conn_info_cb)(void *ctx, const tt_conn_info_t *info);

/* One listening port, for an `ss -tln`-like listing. */
typedef struct tt_listen_info {
    uint32_t addr; /* our address, host byte order */
    uint16_t port;
    uint32_t ready;     /* established, not yet accepted: ss's Recv-Q of a listener */
    uint32_t half_open; /* in SYN_RECEIVED */
    uint32_t backlog;   /* tt_listen()'s: ss's Send-Q of a listener */
} tt_listen_info_t;

typedef void (*tt_listen_info_cb)(void *ctx, const tt_listen_info_t *info);

/* ---- engine ---- */

/* Fills *cfg with Linux's defaults: MSL 30 s, fin_timeout 60 s, ports 32768-60999... */
void tt_config_init(tt_config_t *cfg);

/*
 * Creates an engine. out is called for every packet the engine sends (an
 * IPv4 datagram), at the end of the engine call that sent it; ev may be
 * NULL. now_us is the engine's starting time. Errors: -EINVAL (bad config),
 * -ENOMEM.
 */
int tt_engine_new(tt_engine_t **eng, const tt_config_t *cfg, tt_output_cb out, void *out_ctx,
                  uint64_t now_us);
void tt_engine_set_event_cb(tt_engine_t *eng, tt_event_cb ev, void *ev_ctx);

/* Frees the engine and everything in it, without sending anything or calling back. */
void tt_engine_free(tt_engine_t *eng);

/* A packet arrived (an IPv4 datagram). Bad packets are dropped and counted. */
void tt_engine_input(tt_engine_t *eng, const uint8_t *packet, size_t len, uint64_t now_us);
/*
 * What the device knows of a datagram it hands over (Linux keeps it in the
 * skb). gso_size: the packet stands for TCP segments of that many payload
 * bytes each (a GSO/GRO packet: the virtio header's gso_size of a TUN
 * read), or is one wire segment cut from such a packet; the receiver's MSS
 * estimate takes it (tt_conn_info_t.rcv_mss), as Linux's
 * tcp_measure_rcv_mss() takes the skb's gso_size; 0: none. csum_known: the
 * device vouches for the TCP checksum (Linux's CHECKSUM_UNNECESSARY: a
 * wire segment the driver cut from a super-segment whose checksum the
 * kernel left partial), so the engine does not sum it again; the IP
 * header's checksum is checked as ever.
 */
typedef struct tt_rx_info {
    uint16_t gso_size;
    bool csum_known;
} tt_rx_info_t;

/* As tt_engine_input(), with what the device knows of the datagram. */
void tt_engine_input_rx(tt_engine_t *eng, const uint8_t *packet, size_t len, const tt_rx_info_t *rx,
                        uint64_t now_us);

/*
 * A TCP super-segment the device vouches for (TUN offloads: the kernel's
 * own TCP made it and left its checksum partial; rx->csum_known, and
 * rx->gso_size its segment size), taken whole as Linux's TCP takes a GRO
 * packet, when it continues an ESTABLISHED connection's stream in order
 * with nothing odd: no flag but ACK and PSH, within the window and the
 * room the application has, no SACK block, a timestamp PAWS accepts, an
 * acceptable ACK, no CE mark. Its wire segments count in IpInReceives and
 * TcpInSegs. Returns 0 when taken; -EAGAIN when not, with nothing done:
 * cut it into its wire segments and give those to tt_engine_input_rx().
 */
int tt_engine_input_super(tt_engine_t *eng, const uint8_t *packet, size_t len,
                          const tt_rx_info_t *rx, uint64_t now_us);

/*
 * on: every TCP datagram the engine sends carries a partial checksum, the
 * pseudo-header's sum alone (not complemented), for a device that
 * completes it, as Linux leaves CHECKSUM_PARTIAL to a NIC with checksum
 * offload (a TUN device with TUN_F_CSUM: virtio's NEEDS_CSUM, csum_start
 * 20, csum_offset 16; the engine sends no IP options). The caller
 * completes it for anyone else who reads the datagram (a capture). Off by
 * default; other datagrams (ICMP) always carry complete checksums.
 */
void tt_engine_set_csum_partial(tt_engine_t *eng, bool on);

/*
 * Several datagrams as one engine call: the tt_engine_input() calls between
 * tt_engine_batch_begin() and tt_engine_batch_end() are worked on one after
 * the other, and what the call owes the outside waits for the end: the
 * application's callbacks (in-order bytes of a connection in one read
 * callback), the ACK decision of each connection, then the datagrams. For
 * the wire segments of one super-segment the kernel passed (TUN offloads),
 * as Linux's TCP works on a GRO packet: one ACK and one wake-up of the
 * reader for the whole. Calls nest; only the outermost end ends the call.
 */
void tt_engine_batch_begin(tt_engine_t *eng);
void tt_engine_batch_end(tt_engine_t *eng);

/* Runs every timer due at now_us. */
void tt_engine_timers(tt_engine_t *eng, uint64_t now_us);

/* The earliest time tt_engine_timers() has work to do; TT_TIME_NEVER when none. */
uint64_t tt_engine_next_deadline(const tt_engine_t *eng);

/* Sets the engine's time for the application calls that follow. Never backwards. */
void tt_engine_set_now(tt_engine_t *eng, uint64_t now_us);

/*
 * Local congestion: while on, the device below refuses every datagram the
 * engine sends (Linux: the qdisc drops it, NET_XMIT_DROP), and the engine
 * knows it was not sent, as Linux's tcp_transmit_skb() caller does: new
 * data stays unsent, a refused retransmission is not counted, and a
 * connection with data waiting probes every 500 ms without backoff
 * (TCP_RESOURCE_PROBE_INTERVAL) until its user timeout or tcp_retries2
 * probes (docs/contract.md §2.6 item 14). Off at first.
 */
void tt_engine_set_local_congestion(tt_engine_t *eng, bool on);
bool tt_engine_local_congestion(const tt_engine_t *eng);
uint64_t tt_engine_now(const tt_engine_t *eng);

const tt_config_t *tt_engine_config(const tt_engine_t *eng);
/*
 * Changes the live knobs of a running engine (docs/contract.md §10.4): cfg is
 * a copy of tt_engine_config() with some of msl_us, fin_timeout_us,
 * tcp_rfc1337, tcp_tw_reuse, tw_reuse_delay_us, tcp_max_tw_buckets,
 * port_lo/port_hi, tcp_timestamps, tcp_syncookies, tcp_max_syn_backlog,
 * tcp_orphan_retries, tcp_early_retrans, tcp_notsent_lowat, invalid_ratelimit_us
 * and tcp_congestion_control changed. All or nothing.
 * A new MSL re-times the TIME_WAIT entries that exist; the other knobs are
 * read where they are used, so each takes effect at its next use.
 * Errors: -EINVAL (a value out of range), -EPERM (another field differs).
 */
int tt_engine_config_update(tt_engine_t *eng, const tt_config_t *cfg);
void tt_engine_stats(const tt_engine_t *eng, tt_stats_t *stats);
size_t tt_engine_conn_count(const tt_engine_t *eng);     /* TCBs, listeners excluded */
size_t tt_engine_timewait_count(const tt_engine_t *eng); /* TIME_WAIT entries */
/*
 * Bytes the TIME_WAIT table has allocated: its slab chunks, hash buckets and
 * chunk index. A chunk once allocated is kept for reuse until the engine is
 * freed, as a kernel slab keeps its pages, so this grows with the peak of
 * entries and does not fall when they leave.
 */
size_t tt_engine_timewait_bytes(const tt_engine_t *eng);
/*
 * The state of the connection or TIME_WAIT entry with this 4-tuple (host
 * order), TT_STATE_LISTEN for a listening port, or -ENOENT.
 */
int tt_engine_conn_state(const tt_engine_t *eng, uint32_t laddr, uint16_t lport, uint32_t raddr,
                         uint16_t rport);
/*
 * Inside the output callback: the state the datagram's connection was in
 * when the engine sent it, what tt_engine_conn_state() said of its 4-tuple
 * at that moment (TT_STATE_LISTEN for a listener's, -ENOENT for none).
 * -ENOENT outside the output callback.
 */
int tt_engine_output_state(const tt_engine_t *eng);
/*
 * While the output callback runs: 0 for one datagram, or the segment size
 * of a GSO datagram (a run of new data of one connection, sent with
 * tt_engine_set_gso_out() on), which the device cuts as the kernel's TSO
 * does (IP ID counting up from the header's, PSH and FIN on the last).
 */
uint16_t tt_engine_output_gso_size(const tt_engine_t *eng);
/* Runs of full-MSS new data leave as one GSO datagram each (needs
 * tt_engine_set_csum_partial(): its TCP checksum is left partial). */
void tt_engine_set_gso_out(tt_engine_t *eng, bool on);
/*
 * Where GSO runs are built (tt_engine_set_gso_out()), for a device that
 * nothing but the engine writes to: a run is built in the memory the device
 * is written from, so its bytes are not copied again on the way out.
 *  reserve: room for one datagram of at least min and up to max bytes, or
 *      NULL (none free: the run is built in the output queue and handed to
 *      the output callback, as without); *cap says how many bytes.
 *  commit: the run built there is finished, len bytes cut by the device
 *      into gso_size-byte segments; or, with len 0, the room is given back
 *      unused (a run of one segment: a copy of it waits in the output
 *      queue). Called once per reservation, before anything the engine
 *      sends after the run reaches the output callback.
 * The engine asks for room only when nothing it sent before is still
 * waiting for the output callback and the callback is not running, so
 * that the device receives every datagram in the order the engine sent
 * it. A run built so never reaches the output callback, nor
 * tt_engine_output_state(). ops NULL: every run in the output queue.
 */
typedef struct tt_run_out {
    uint8_t *(*reserve)(void *ctx, size_t min, size_t max, size_t *cap);
    void (*commit)(void *ctx, size_t len, uint16_t gso_size);
} tt_run_out_t;
void tt_engine_set_run_out(tt_engine_t *eng, const tt_run_out_t *ops, void *ctx);
/* Calls cb once for each connection and each TIME_WAIT entry. */
void tt_engine_foreach_conn(const tt_engine_t *eng, tt_conn_info_cb cb, void *ctx);
/* Calls cb once for each listening port (not for one tt_listener_close() ended). */
void tt_engine_foreach_listener(const tt_engine_t *eng, tt_listen_info_cb cb, void *ctx);

/* ---- listeners ---- */

/*
 * Listens on our address and port; cb is called with status 0 each time a
 * connection is ready for tt_accept(). backlog bounds the connections that
 * are established but not yet accepted.
 * Errors: -EADDRINUSE, -EINVAL (port 0 or backlog < 1), -ENOMEM.
 */
int tt_listen(tt_engine_t *eng, uint16_t port, int backlog, tt_connection_cb cb,
              tt_listener_t **listener);
/*
 * Per-connection settings fixed by the handshake (Linux: socket options set
 * before connect() or listen(), inherited by accepted connections). 0 in a
 * field leaves the engine's default.
 *  sndbuf: the send buffer, bytes (as tt_conn_set_sndbuf()).
 *  rcvbuf: the receive buffer, bytes (1024 .. 2^30): the window we offer.
 *          The window scale comes from the larger of it and the engine's
 *          rcvbuf (Linux tcp_select_initial_window scales for tcp_rmem[2]).
 *  maxseg: TCP_MAXSEG (Linux user_mss), 88 .. 32767 (TCP_MIN_MSS,
 *          MAX_TCP_WINDOW): the MSS we announce (RFC 9293 3.7.1) is at
 *          most this, and so is the MSS we send with whatever the peer
 *          announced.
 *  tos:    IP_TOS: the TOS byte of every segment of the connection, its
 *          SYN or SYN-ACK included; the two ECN bits are ignored.
 */
typedef struct tt_conn_opts {
    uint32_t sndbuf;
    uint32_t rcvbuf;
    uint16_t maxseg;
    uint8_t tos;
} tt_conn_opts_t;

/* Settings for the connections of SYNs that arrive from now on; opts NULL
 * restores the defaults. Errors: -EINVAL (a field out of range). */
int tt_listener_set_opts(tt_listener_t *listener, const tt_conn_opts_t *opts);
/* Takes the oldest ready connection. Errors: -EAGAIN (none ready). */
int tt_accept(tt_listener_t *listener, tt_conn_t **conn);
/* Stops listening; connections not yet accepted are reset. */
void tt_listener_close(tt_listener_t *listener);
void tt_listener_set_data(tt_listener_t *listener, void *data);
void *tt_listener_get_data(const tt_listener_t *listener);

/* ---- connections ---- */

/*
 * Active open to raddr:rport from an ephemeral port (RFC 6056). cb reports
 * 0, -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET, or -ECONNABORTED when the
 * connection ended before it was established without any of those.
 * Errors: -EADDRNOTAVAIL (no free port), -EINVAL (port 0), -ENOMEM.
 */
int tt_connect(tt_engine_t *eng, uint32_t raddr, uint16_t rport, tt_connect_cb cb,
               tt_conn_t **conn);

/* tt_connect() with the settings of opts (NULL: none) in force from the SYN
 * on. Errors: those of tt_connect(), -EINVAL (a field of opts out of range). */
int tt_connect_opts(tt_engine_t *eng, uint32_t raddr, uint16_t rport, const tt_conn_opts_t *opts,
                    tt_connect_cb cb, tt_conn_t **conn);

/* Starts delivering received data to cb (and TT_EOF, errors). */
int tt_conn_read_start(tt_conn_t *conn, tt_read_cb cb);
/* Stops delivery; data then waits in the receive buffer and the window shrinks. */
int tt_conn_read_stop(tt_conn_t *conn);

/*
 * Copies up to len bytes into the send buffer; returns the number copied
 * (possibly fewer than len, then writable_cb is called once room frees up).
 * Errors: -EPIPE (shut down for writing or closing), -ENOTCONN (not yet
 * connected and not connecting), -ENOMEM; once the connection has ended,
 * the error that ended it if the application has not read it yet:
 * -ECONNRESET (reset by the peer), -ETIMEDOUT (retries exhausted),
 * -ECONNREFUSED (refused during a simultaneous open).
 */
ssize_t tt_conn_write(tt_conn_t *conn, const void *buf,
                      size_t len); /* -EFAULT: buf NULL, len > 0 */

/* tt_conn_write_flags(): more of the same message follows (Linux MSG_MORE):
 * no PSH at the end of this write, and a partial last segment waits, as
 * under TCP_CORK, for the next write, an ACK, or at most one RTO. */
#define TT_WRITE_MORE 0x1
/* The end of a record (Linux MSG_EOR): no segment carries bytes of this
 * write and of a later one. */
#define TT_WRITE_EOR 0x2
/*
 * tt_conn_write() with flags (TT_WRITE_MORE, TT_WRITE_EOR). PSH goes on the
 * segment that ends each write without TT_WRITE_MORE, as Linux sets it.
 * Errors: those of tt_conn_write(), and -EINVAL (an unknown flag).
 */
ssize_t tt_conn_write_flags(tt_conn_t *conn, const void *buf, size_t len, int flags);
/*
 * TCP_NODELAY (Linux): on, segments smaller than the MSS go out as soon as
 * the windows allow; off (the default), Nagle's algorithm (RFC 1122
 * 4.2.3.4) holds one while a smaller segment of ours is unacknowledged
 * (Linux's Minshall variant). Turning it on sends what Nagle held.
 * Errors: -ENOTCONN (the connection has ended).
 */
int tt_conn_set_nodelay(tt_conn_t *conn, int on);
/*
 * TCP_CORK (Linux): on, segments smaller than the MSS wait until the cork
 * is removed, a FIN follows them, or, with nothing in flight, one RTO has
 * passed (Linux's probe timer); off, what waited goes as Nagle allows (at
 * once with TCP_NODELAY). Errors: -ENOTCONN (the connection has ended).
 */
int tt_conn_set_cork(tt_conn_t *conn, int on);
/* The connection's send buffer size in bytes (Linux SO_SNDBUF); 0: --sndbuf. */
int tt_conn_set_sndbuf(tt_conn_t *conn, uint32_t bytes);
/* Linux tcp_poll()'s EPOLLOUT test (sk_stream_is_writeable()): a third of
 * the send buffer free and, under TCP_NOTSENT_LOWAT, fewer than half the
 * mark unsent. When not, the connection remembers that a writer waits
 * (SOCK_NOSPACE): the ACK that frees room wakes it (writable callback). */
bool tt_conn_poll_writable(tt_conn_t *conn);
/* IP_TOS from now on (tt_conn_opts_t.tos). */
int tt_conn_set_tos(tt_conn_t *conn, uint8_t tos);
void tt_conn_set_writable_cb(tt_conn_t *conn, tt_writable_cb cb);
/*
 * TCP_NOTSENT_LOWAT (Linux): the connection is writable only while fewer
 * than half this many bytes are queued but not yet sent (SND.NXT to the end
 * of the queue), and a write stops queueing once that many are unsent (as
 * Linux, at its next segment-sized chunk: a write may end above the mark).
 * 0 (the default) follows the engine's tcp_notsent_lowat; UINT32_MAX is off.
 * A new value wakes a writer it makes writable.
 */
int tt_conn_set_notsent_lowat(tt_conn_t *conn, uint32_t bytes);
/* The connection's own TCP_NOTSENT_LOWAT (0: none set), as Linux's getsockopt. */
uint32_t tt_conn_get_notsent_lowat(const tt_conn_t *conn);
/* Linux tcp_stream_memory_free(sk, 1), what poll() and the writable
 * callback ask: the unsent bytes, doubled, are below the low-water mark. */
bool tt_conn_notsent_writable(const tt_conn_t *conn);

/* Half-close: FIN after the queued data; reading goes on. Errors: -ENOTCONN. */
int tt_conn_shutdown(tt_conn_t *conn);

/*
 * SO_LINGER. on = 0: close returns at once (the default). on = 1, seconds = 0:
 * close resets (RST, no TIME_WAIT). on = 1, seconds > 0: close_cb reports 0
 * when our FIN is acknowledged, or -ETIMEDOUT after that many seconds.
 */
int tt_conn_set_linger(tt_conn_t *conn, int on, unsigned seconds);

/*
 * Closes the handle. Graceful (FIN after the queued data) unless linger is
 * {on, 0}. close_cb is called once, at the end of this call at the earliest; the
 * handle must not be used after it. The connection may go on in the engine
 * (FIN_WAIT_*, TIME_WAIT) without its handle.
 */
int tt_conn_close(tt_conn_t *conn, tt_close_cb cb);
/* Abortive close, as SO_LINGER {on, 0}: RST, unsent data discarded. */
int tt_conn_close_reset(tt_conn_t *conn, tt_close_cb cb);

/*
 * SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT (Linux):
 * once nothing has arrived for idle_s seconds and nothing of ours is
 * outstanding, a probe (an ACK one below SND.UNA) goes out every intvl_s;
 * after cnt unanswered probes the connection is reset (RST) and reports
 * -ETIMEDOUT. 0 for idle_s, intvl_s or cnt takes the engine's
 * tcp_keepalive_time, _intvl or _probes. Errors: -EINVAL (cnt > 127,
 * idle_s or intvl_s > 32767, Linux's limits).
 */
int tt_conn_set_keepalive(tt_conn_t *conn, int on, unsigned idle_s, unsigned intvl_s, unsigned cnt);
/*
 * TCP_USER_TIMEOUT (RFC 5482, Linux): 0 (the default) leaves giving up to
 * tcp_retries2 and tcp_keepalive_probes; otherwise the connection gives up
 * with -ETIMEDOUT once data has waited ms milliseconds for its ACK (the
 * retransmission timer is clamped so that it fires then), once zero-window
 * probes have gone unanswered that long, or once keep-alive probes have
 * and the connection has been silent that long. Errors: -EINVAL (ms > INT_MAX).
 */
int tt_conn_set_user_timeout(tt_conn_t *conn, unsigned ms);

void tt_conn_set_data(tt_conn_t *conn, void *data);
void *tt_conn_get_data(const tt_conn_t *conn);
tt_engine_t *tt_conn_engine(const tt_conn_t *conn);
tt_state_t tt_conn_state(const tt_conn_t *conn);
void tt_conn_get_info(const tt_conn_t *conn, tt_conn_info_t *info);

/* ---- names ---- */
const char *tt_state_name(tt_state_t state);             /* "FIN_WAIT_2" */
const char *tt_close_reason_name(tt_close_reason_t why); /* "timewait_expired" */
const char *tt_strerror(int err);                        /* covers TT_EOF */
const char *tt_cc_name(int algo);                        /* "cubic", as Linux spells it */
int tt_cc_from_name(const char *name);                   /* TT_CC_*, or -EINVAL */

#ifdef __cplusplus
}
#endif
#endif
