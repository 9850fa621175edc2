/*
 * Flag parsing for the tuntcp apps. The flags live in one table: name,
 * which apps accept it, the kind of value, and where it is stored in
 * struct cli_opts; getopt_long's option array is built from it, so a flag
 * is declared once. Values are parsed strictly by cli_values.c, which the
 * packetdrill adapter shares: a typo must not become a different
 * experiment.
 *
 * Also here: --user, the privilege drop both apps make once the TUN device
 * is set up (cli_drop_privileges).
 */
#define _GNU_SOURCE /* getresuid, getresgid, initgroups */

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define APP_BOTH (CLI_ECHO_SERVER | CLI_ECHO_CLIENT)
#define OPT_BASE 256             /* getopt_long values of long-only flags: OPT_BASE + table index */
#define PAYLOAD_MAX (1ULL << 30) /* --send/--expect @FILE: held in memory whole */

enum flag_kind {
    F_TUN,      /* interface name */
    F_PATH,     /* file name */
    F_IPV4,     /* uint32_t */
    F_PREFIX,   /* --host IPV4/LEN */
    F_HOSTPORT, /* --connect IPV4:PORT, repeatable */
    F_PORTS,    /* --port N, repeatable */
    F_RANGE,    /* --ip-local-port-range LO-HI */
    F_UINT,     /* unsigned of field size, in [min, max] */
    F_DUR,      /* uint64_t microseconds, in [min, max] */
    F_BOOL01,   /* int, 0 or 1 */
    F_USER,     /* --user NAME: an existing user */
    F_PAYLOAD,  /* struct cli_payload: STRING or @FILE */
    F_INJECT,   /* --inject SPEC, repeatable */
    F_OFFLOAD,  /* --offload on|off: bool no_offload */
    F_CC,       /* --tcp-congestion-control cubic|reno: int, TT_CC_* */
    F_TRUE,     /* bool set by a flag without value */
    F_FAULT,
    F_LINGER0,
    F_LINGER,
    F_SEED,
    F_QUIET,
    F_VERBOSE,
    F_HELP,
    F_VERSION,
};

struct flag {
    const char *name;
    int short_opt; /* 0: long only */
    enum flag_kind kind;
    unsigned apps;
    size_t off, size;
    uint64_t min, max;
};

#define FIELD(f) offsetof(struct cli_opts, f), sizeof(((struct cli_opts *)0)->f)
#define NOFIELD 0, 0

static const struct flag flags[] = {
    {"tun", 0, F_TUN, APP_BOTH, FIELD(drv.tun_name), 0, 0},
    {"addr", 0, F_IPV4, APP_BOTH, FIELD(drv.engine.addr), 0, 0},
    {"host", 0, F_PREFIX, APP_BOTH, NOFIELD, 0, 0},
    {"no-config", 0, F_TRUE, APP_BOTH, FIELD(drv.no_config), 0, 0},
    {"offload", 0, F_OFFLOAD, APP_BOTH, FIELD(drv.no_offload), 0, 0},
    {"mtu", 0, F_UINT, APP_BOTH, FIELD(drv.engine.mtu), 68, 65535},
    {"queues", 0, F_UINT, APP_BOTH, FIELD(drv.queues), 1, TT_QUEUES_MAX},
    {"msl", 0, F_DUR, APP_BOTH, FIELD(drv.engine.msl_us), 1, UINT64_MAX},
    {"tcp-fin-timeout", 0, F_DUR, APP_BOTH, FIELD(drv.engine.fin_timeout_us), 1, UINT64_MAX},
    {"tcp-rfc1337", 0, F_BOOL01, APP_BOTH, FIELD(drv.engine.tcp_rfc1337), 0, 1},
    {"tcp-tw-reuse", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_tw_reuse), 0, 2},
    {"tcp-tw-reuse-delay", 0, F_DUR, APP_BOTH, FIELD(drv.engine.tw_reuse_delay_us), 1000,
     UINT64_MAX},
    {"tcp-max-tw-buckets", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_max_tw_buckets), 0,
     UINT32_MAX},
    {"tcp-syncookies", 0, F_BOOL01, APP_BOTH, FIELD(drv.engine.tcp_syncookies), 0, 1},
    {"tcp-max-syn-backlog", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_max_syn_backlog), 1,
     UINT32_MAX},
    {"tcp-orphan-retries", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_orphan_retries), 0, INT_MAX},
    {"tcp-early-retrans", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_early_retrans), 0, 4},
    {"tcp-notsent-lowat", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_notsent_lowat), 0, UINT32_MAX},
    {"tcp-recovery", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_recovery), 0, 7},
    {"tcp-slow-start-after-idle", 0, F_BOOL01, APP_BOTH,
     FIELD(drv.engine.tcp_slow_start_after_idle), 0, 1},
    {"tcp-min-tso-segs", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_min_tso_segs), 1, 255},
    {"tcp-ecn", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_ecn), 0, 2},
    {"tcp-pacing", 0, F_BOOL01, APP_BOTH, FIELD(drv.engine.tcp_pacing), 0, 1},
    {"tcp-pacing-ss-ratio", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_pacing_ss_ratio), 0, 1000},
    {"tcp-pacing-ca-ratio", 0, F_UINT, APP_BOTH, FIELD(drv.engine.tcp_pacing_ca_ratio), 0, 1000},
    {"tcp-keepalive-time", 0, F_DUR, APP_BOTH, FIELD(drv.engine.keepalive_time_us), 1000000,
     32767000000ULL},
    {"tcp-keepalive-intvl", 0, F_DUR, APP_BOTH, FIELD(drv.engine.keepalive_intvl_us), 1000000,
     32767000000ULL},
    {"tcp-keepalive-probes", 0, F_UINT, APP_BOTH, FIELD(drv.engine.keepalive_probes), 1, 127},
    {"tcp-retries2", 0, F_UINT, APP_BOTH, FIELD(drv.engine.retries2), 1, 255},
    {"keepalive", 0, F_TRUE, APP_BOTH, FIELD(keepalive), 0, 0},
    {"nodelay", 0, F_TRUE, APP_BOTH, FIELD(nodelay), 0, 0},
    {"user-timeout", 0, F_DUR, APP_BOTH, FIELD(user_timeout_us), 1000, 2147483000ULL},
    {"tcp-timestamps", 0, F_BOOL01, APP_BOTH, FIELD(drv.engine.tcp_timestamps), 0, 1},
    {"tcp-congestion-control", 0, F_CC, APP_BOTH, FIELD(drv.engine.tcp_congestion_control), 0, 0},
    {"tcp-invalid-ratelimit", 0, F_DUR, APP_BOTH, FIELD(drv.engine.invalid_ratelimit_us), 0,
     UINT64_MAX},
    {"ip-local-port-range", 0, F_RANGE, APP_BOTH, NOFIELD, 0, 0},
    {"linger0", 0, F_LINGER0, APP_BOTH, NOFIELD, 0, 0},
    {"linger", 0, F_LINGER, APP_BOTH, NOFIELD, 0, INT_MAX},
    {"pcap", 0, F_PATH, APP_BOTH, FIELD(drv.pcap_path), 0, 0},
    {"pcapng", 0, F_TRUE, APP_BOTH, FIELD(drv.pcapng), 0, 0},
    {"trace", 0, F_PATH, APP_BOTH, FIELD(drv.trace_path), 0, 0},
    {"fault", 0, F_FAULT, APP_BOTH, NOFIELD, 0, 0},
    {"inject", 0, F_INJECT, APP_BOTH, NOFIELD, 0, 0},
    {"seed", 0, F_SEED, APP_BOTH, NOFIELD, 0, UINT64_MAX},
    {"user", 0, F_USER, APP_BOTH, NOFIELD, 0, 0},
    {"ctl", 0, F_PATH, APP_BOTH, FIELD(drv.ctl_path), 0, 0},
    {"no-ctl", 0, F_TRUE, APP_BOTH, FIELD(drv.no_ctl), 0, 0},
    {"quiet", 'q', F_QUIET, APP_BOTH, NOFIELD, 0, 0},
    {"verbose", 'v', F_VERBOSE, APP_BOTH, NOFIELD, 0, 0},
    {"help", 'h', F_HELP, APP_BOTH, NOFIELD, 0, 0},
    {"version", 0, F_VERSION, APP_BOTH, NOFIELD, 0, 0},
    {"hold", 0, F_DUR, APP_BOTH, FIELD(hold_us), 0, UINT64_MAX},
    {"port", 0, F_PORTS, CLI_ECHO_SERVER, NOFIELD, 1, 65535},
    {"close-after", 0, F_UINT, CLI_ECHO_SERVER, FIELD(close_after), 0, UINT64_MAX},
    {"max-conns", 0, F_UINT, CLI_ECHO_SERVER, FIELD(max_conns), 0, UINT64_MAX},
    {"connect", 0, F_HOSTPORT, CLI_ECHO_CLIENT, NOFIELD, 0, 0},
    {"count", 0, F_UINT, CLI_ECHO_CLIENT, FIELD(count), 1, UINT32_MAX},
    {"concurrency", 0, F_UINT, CLI_ECHO_CLIENT, FIELD(concurrency), 1, 1000000},
    {"bytes", 0, F_UINT, CLI_ECHO_CLIENT, FIELD(bytes), 0, 1ULL << 40},
    {"send", 0, F_PAYLOAD, CLI_ECHO_CLIENT, FIELD(send), 0, 0},
    {"expect", 0, F_PAYLOAD, CLI_ECHO_CLIENT, FIELD(expect), 0, 0},
    {"close-wait", 0, F_TRUE, CLI_ECHO_CLIENT, FIELD(close_wait), 0, 0},
    {"wait-timewait", 0, F_TRUE, CLI_ECHO_CLIENT, FIELD(wait_timewait), 0, 0},
    {"connect-timeout", 0, F_DUR, CLI_ECHO_CLIENT, FIELD(connect_timeout_us), 1, UINT64_MAX},
    {"timeout", 0, F_DUR, CLI_ECHO_CLIENT, FIELD(timeout_us), 1, UINT64_MAX},
    {"rate", 0, F_UINT, CLI_ECHO_CLIENT, FIELD(rate), 1, 1000000},
    {"duration", 0, F_DUR, CLI_ECHO_CLIENT, FIELD(duration_us), 1, UINT64_MAX},
    {"json", 0, F_PATH, CLI_ECHO_CLIENT, FIELD(json_path), 0, 0},
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

/* ---- defaults, help ---- */

void cli_defaults(struct cli_opts *o, enum cli_app app)
{
    memset(o, 0, sizeof(*o));
    o->app = app;
    o->prog = app == CLI_ECHO_SERVER ? "echo-server" : "echo-client";
    /* The engine's and the driver's defaults are Linux's and the contract's
     * (docs/contract.md §3.2), set in one place: tt_config_init(). */
    tt_driver_config_init(&o->drv);
    o->drv.faults = o->faults;
    o->drv.injects = o->injects;
    o->port = 7;
    o->ports[0] = 7;
    o->nports = 1;
    o->raddr = 0x0a070001;
    o->rport = 7;
    o->dests[0] = (struct cli_dest){o->raddr, o->rport};
    o->ndests = 1;
    o->count = 1;
    o->concurrency = 1;
    o->bytes = 64;
}

static const char help_server[] =
    "Usage: echo-server [OPTION]...\n"
    "Echo server on tuntcp, a userspace TCP/IPv4 stack on a Linux TUN device.\n"
    "Prints `listening on IPV4:PORT` for each --port once all listen.\n"
    "\n"
    "Server:\n"
    "  --port N                   port to listen on (default 7); repeat it to listen on\n"
    "                             several ports in one process (at most 16)\n"
    "  --close-after BYTES        close each connection after echoing BYTES: the server\n"
    "                             becomes the active closer (default 0: echo until the\n"
    "                             peer's FIN, then close)\n"
    "  --max-conns N              exit 0 once N connections are fully released, TIME_WAIT\n"
    "                             included (default 0: run until SIGINT/SIGTERM)\n"
    "  --hold DURATION            delay each close (at the peer's FIN, or at --close-after)\n"
    "                             by DURATION: the peer sits that long in FIN_WAIT_2, or\n"
    "                             waits that long for the server's FIN (default 0)\n";

static const char help_client[] =
    "Usage: echo-client [OPTION]...\n"
    "Echo client on tuntcp, a userspace TCP/IPv4 stack on a Linux TUN device.\n"
    "Exit 0 when every echo was verified, else 1 with one line per failed connection.\n"
    "\n"
    "Client:\n"
    "  --connect IPV4:PORT        server (default 10.7.0.1:7, the kernel side); repeat it\n"
    "                             for several servers, used round-robin (at most 16)\n"
    "  --count N                  connections to make (default 1; none with --duration)\n"
    "  --concurrency N            connections open at once (default 1; 1024 with --rate)\n"
    "  --rate N                   open N connections per second, paced: attempt k starts\n"
    "                             at k/N s, whatever became of the others (default: none,\n"
    "                             open one as soon as a slot is free). An attempt whose\n"
    "                             time comes while --concurrency connections are open,\n"
    "                             or that finds no free port, fails at once (EBUSY,\n"
    "                             EADDRNOTAVAIL): the schedule never waits or bunches up\n"
    "  --duration DURATION        open connections for DURATION, then let those open\n"
    "                             finish and exit; with --count, whichever ends first\n"
    "  --hold DURATION            keep each connection open DURATION after its echo was\n"
    "                             verified, then close as configured (default 0)\n"
    "  --json FILE                one JSON summary at exit ('-' = stdout): counts,\n"
    "                             failures by errno, connect latency, rate, TIME_WAIT\n"
    "                             peak, and a per-second timeline\n"
    "  --bytes N                  bytes sent and verified per connection (default 64)\n"
    "  --close-wait               wait for the server's FIN before closing: the client\n"
    "                             becomes the passive closer (default: close first)\n"
    "  --wait-timewait            exit only after this stack's TIME_WAIT entries expired\n"
    "  --send STRING|@FILE        send these bytes (@FILE: the file's) instead of the\n"
    "                             pattern of --bytes; no check unless --expect\n"
    "  --expect STRING|@FILE      the bytes that must come back, exactly (default: the\n"
    "                             pattern sent; none with --send)\n"
    "  --connect-timeout DURATION a connection not established within DURATION fails\n"
    "                             with ETIMEDOUT (default: none, SYN retries as Linux)\n"
    "  --timeout DURATION         a connection whose echo makes no progress (nothing\n"
    "                             written or read) for DURATION fails with ETIMEDOUT\n"
    "                             and is reset (default: none, wait for ever)\n"
    "\n"
    "No free port (EADDRNOTAVAIL) without --rate: the attempt waits until a port frees\n"
    "up (a TIME_WAIT entry expires or a connection ends), at most --connect-timeout;\n"
    "without --connect-timeout it fails at once, and the attempts after it wait for a\n"
    "port (never fail for want of one), so they go on at the pace ports free up.\n";

static const char help_common[] =
    "\n"
    "Interface:\n"
    "  --tun NAME                 TUN interface, created if absent (default tt0)\n"
    "  --addr IPV4                the stack's own address (default 10.7.0.2)\n"
    "  --host IPV4/LEN            address of the kernel side (default 10.7.0.1/24)\n"
    "  --no-config                leave the interface's addresses and link state alone\n"
    "  --mtu N                    68..65535 (default 1500)\n"
    "  --offload on|off           TCP segmentation and checksum offload with the kernel\n"
    "                             (IFF_VNET_HDR, TSO4); on by default where the device\n"
    "                             takes it, else off (-v says why)\n"
    "  --queues N                 N queues of the device (IFF_MULTI_QUEUE), each with its\n"
    "                             engine and loop on a thread of its own (default 1)\n"
    "  --user NAME                once the device is set up and the files are open, become\n"
    "                             user NAME (its uid, group and groups; no way back).\n"
    "                             Unprivileged without it: --no-config on a device made\n"
    "                             for you (ip tuntap add dev NAME mode tun user YOU)\n"
    "\n"
    "TCP (as Linux's sysctls of the same name, with their defaults):\n"
    "  --msl DURATION             maximum segment lifetime; TIME_WAIT = 2*MSL (default 30s)\n"
    "  --tcp-fin-timeout DURATION FIN_WAIT_2 timeout for orphans (default 60s)\n"
    "  --tcp-rfc1337 0|1          1: ignore RST in TIME_WAIT (default 0)\n"
    "  --tcp-tw-reuse 0|1|2       connect may reuse a TIME_WAIT 4-tuple whose last\n"
    "                             timestamp is older than --tcp-tw-reuse-delay; 2: only\n"
    "                             with a loopback address, so never on TUN (default 2)\n"
    "  --tcp-tw-reuse-delay DURATION  (default 1000ms)\n"
    "  --tcp-max-tw-buckets N     most TIME_WAIT entries (default 262144)\n"
    "  --tcp-syncookies 0|1       1: SYN cookies once a listener's half-open queue holds\n"
    "                             its backlog; 0: no cookies (default 1)\n"
    "  --tcp-max-syn-backlog N    half-open connections a listener holds without cookies\n"
    "                             (default 4096)\n"
    "  --tcp-orphan-retries N     retries of an orphan (closed in FIN_WAIT_1, CLOSING or\n"
    "                             LAST_ACK) before it is dropped; 0: 8 while the RTO is\n"
    "                             below 120s, about 102s (default 0)\n"
    "  --tcp-early-retrans N      3 or 4: tail loss probes (RFC 8985 7) when SACK is\n"
    "                             agreed; 0, 1, 2: none, the RTO (default 3)\n"
    "  --tcp-notsent-lowat BYTES  writable only while fewer than half BYTES are queued\n"
    "                             unsent (TCP_NOTSENT_LOWAT; default 4294967295: off)\n"
    "  --tcp-recovery N           bits: 1 RACK loss detection (RFC 8985 6) with SACK,\n"
    "                             2 no DSACK widening, 4 no DupThresh (default 1)\n"
    "  --tcp-slow-start-after-idle 0|1  restart cwnd after an idle RTO (RFC 5681 4.1;\n"
    "                             default 1)\n"
    "  --tcp-min-tso-segs N       least segments of the GSO packets PSH follows\n"
    "                             (1..255, default 2)\n"
    "  --tcp-ecn 0|1|2            ECN (RFC 3168): 1 asks for it and accepts it,\n"
    "                             2 only accepts it, 0 never (default 2)\n"
    "  --tcp-pacing 0|1           pace new connections as Linux under the fq qdisc\n"
    "                             (default 0: Linux's default qdisc does not pace)\n"
    "  --tcp-pacing-ss-ratio N    pacing rate in slow start, % of cwnd/SRTT (default 200)\n"
    "  --tcp-pacing-ca-ratio N    pacing rate after slow start, % (default 120)\n"
    "  --tcp-keepalive-time DURATION  idle time before the first keep-alive probe\n"
    "                             (default 7200s)\n"
    "  --tcp-keepalive-intvl DURATION  between keep-alive probes (default 75s)\n"
    "  --tcp-keepalive-probes N   unanswered probes before the reset (default 9)\n"
    "  --tcp-retries2 N           retransmissions before a connection gives up; counted\n"
    "                             as time from a 200ms RTO, 15 = 924.6s (default 15)\n"
    "  --tcp-timestamps 0|1       RFC 7323 timestamps (default 1)\n"
    "  --tcp-congestion-control cubic|reno  RFC 9438 CUBIC (beta 0.7, no HyStart) or\n"
    "                             RFC 5681 Reno (beta 0.5) (default cubic)\n"
    "  --tcp-invalid-ratelimit DURATION  gap between ACKs to invalid segments\n"
    "                             (default 500ms; 0 = no limit)\n"
    "  --ip-local-port-range LO-HI  ephemeral ports (default 32768-60999)\n"
    "  --linger0                  close with SO_LINGER {on, 0}: RST, no TIME_WAIT\n"
    "  --linger SECONDS           close with SO_LINGER {on, SECONDS}\n"
    "  --keepalive                SO_KEEPALIVE on every connection: probes after\n"
    "                             --tcp-keepalive-time of silence\n"
    "  --user-timeout DURATION    TCP_USER_TIMEOUT on every connection: give up once\n"
    "                             data or probes have gone unanswered this long\n"
    "  --nodelay                  TCP_NODELAY on every connection: no Nagle, segments\n"
    "                             smaller than the MSS leave at once (default: Nagle on)\n"
    "\n"
    "Output and faults:\n"
    "  --pcap FILE                capture every packet read from or written to the TUN\n"
    "                             (pcapng with comments when FILE ends in .pcapng)\n"
    "  --pcapng                   write --pcap FILE as pcapng whatever its name: each\n"
    "                             packet's direction, comments on state changes and\n"
    "                             fault actions, events with no packet\n"
    "  --trace FILE               connection events as JSON Lines ('-' = stderr)\n"
    "  --seed N                   seed for ISN key, port choice and random faults\n"
    "                             (default: random)\n"
    "  --ctl PATH                 control socket for tuntcp-ctl (ss, nstat, sysctl, pcap,\n"
    "                             trace, fault), mode 0600 (default: NAME.ctl in\n"
    "                             /run/tuntcp as root, else $XDG_RUNTIME_DIR/tuntcp, for\n"
    "                             --tun NAME; none if that is taken; -v prints it)\n"
    "  --no-ctl                   no control socket\n"
    "  -q, --quiet                no informational messages\n"
    "  -v, --verbose              statistics to stderr at exit (also on SIGUSR1)\n"
    "  -h, --help                 this help;  --version  the version\n";

static const char help_tail[] =
    "\n"
    "DURATION is an integer with unit ms, s or m; a bare integer means seconds.\n"
    "Exit status: 0 success, 1 failure, 2 bad command line.\n";

static const char examples_server[] =
    "\n"
    "Examples (in a network namespace: unshare -rn sh -c '...'):\n"
    "  echo-server --msl 500ms --trace -       TIME_WAIT of 1 s, events on stderr\n"
    "  echo-server --close-after 64 --pcap s.pcap   the server closes first\n"
    "  echo-server --close-after 64 --msl 100ms --pcap s.pcapng\n"
    "                                          a capture that comments each state change\n"
    "  echo-server --close-after 64 --fault drop:out:ack:state=TIME_WAIT:nth=1\n"
    "                                          lose our final ACK once: the peer resends FIN\n"
    "  echo-server --fault dup:in:fin          every FIN arrives twice\n"
    "  echo-server --close-after 64 --msl 5s --inject time_wait+200ms:rst\n"
    "                                          an in-window RST in TIME_WAIT (RFC 1337)\n"
    "  echo-server --port 7 --port 8 --hold 2s two ports; the peer waits 2 s in FIN_WAIT_2\n"
    "  then from the kernel side:  nc 10.7.0.2 7\n";

static const char examples_client[] =
    "\n"
    "Examples (in a network namespace, with an echo server on the kernel side,\n"
    "e.g. socat tcp-listen:7,fork,reuseaddr exec:cat):\n"
    "  echo-client --msl 1s --wait-timewait --trace -   watch TIME_WAIT end after 2 s\n"
    "  echo-client --count 100 --concurrency 10 --bytes 100000\n"
    "  echo-client --close-wait                the client closes second (no TIME_WAIT here)\n"
    "  echo-client --linger0 --pcap rst.pcap   abortive close: RST, no TIME_WAIT\n"
    "  echo-client --fault drop:in:any:p=0.02 --seed 7 --count 20\n"
    "  echo-client --fault delay=200ms:out:fin\n"
    "  echo-client --fault dup=3s:in:data:nth=1   an old duplicate 3 s later\n"
    "  echo-client --connect-timeout 2s --timeout 5s   never hang on a silent server\n"
    "  echo-client --ip-local-port-range 40000-40019 --msl 100ms --rate 300 --duration 2s\n"
    "              --json -                  20 ports / 200 ms of TIME_WAIT: ~100 verified/s\n"
    "  echo-client --ip-local-port-range 40000-40000 --connect 10.7.0.1:7\n"
    "              --connect 10.7.0.1:8 --count 2   one port, two servers: TIME_WAIT pins\n"
    "                                          the 4-tuple, not the port\n";

static void print_help(const struct cli_opts *o, FILE *out)
{
    bool server = o->app == CLI_ECHO_SERVER;

    fputs(server ? help_server : help_client, out);
    fputs(help_common, out);
    fputs(tt_fault_help, out);
    fputs(tt_inject_help, out);
    fputs(help_tail, out);
    fputs(server ? examples_server : examples_client, out);
}

/* ---- applying one flag ---- */

static int usage_error(const struct cli_opts *o, FILE *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int usage_error(const struct cli_opts *o, FILE *err, const char *fmt, ...)
{
    va_list ap;

    fprintf(err, "%s: ", o->prog);
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fprintf(err, "\nTry '%s --help' for more information.\n", o->prog);
    return CLI_USAGE;
}

static void store_uint(void *p, size_t size, uint64_t v)
{
    if (size == sizeof(uint8_t))
        *(uint8_t *)p = (uint8_t)v;
    else if (size == sizeof(uint16_t))
        *(uint16_t *)p = (uint16_t)v;
    else if (size == sizeof(uint32_t))
        *(uint32_t *)p = (uint32_t)v;
    else
        *(uint64_t *)p = v;
}

static int apply_uint(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    uint64_t x;

    if (cli_parse_uint(v, f->min, f->max, &x) < 0)
        return usage_error(o, err,
                           "--%s: invalid value '%s' (expected an integer from %llu to %llu)",
                           f->name, v, (unsigned long long)f->min, (unsigned long long)f->max);
    store_uint((char *)o + f->off, f->size, x);
    return CLI_RUN;
}

/* A bound of a DURATION flag as the user would type it: "1s", "1ms". */
static const char *dur_text(uint64_t us, char *buf, size_t len)
{
    if (us % 1000000 == 0)
        snprintf(buf, len, "%llus", (unsigned long long)(us / 1000000));
    else
        snprintf(buf, len, "%llums", (unsigned long long)(us / 1000));
    return buf;
}

static int dur_range_error(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    const uint64_t most = 4294967295ULL * 1000000; /* tt_duration_parse's limit */
    char lo[32], hi[32];

    if (f->min <= 1 && f->max >= most)
        return usage_error(o, err, "--%s: duration '%s' out of range (%s)", f->name, v,
                           f->min ? "more than 0, at most 4294967295s" : "at most 4294967295s");
    return usage_error(o, err, "--%s: duration '%s' out of range (at least %s, at most %s)",
                       f->name, v, dur_text(f->min, lo, sizeof(lo)),
                       dur_text(f->max < most ? f->max : most, hi, sizeof(hi)));
}

static int apply_dur(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    uint64_t us;
    int rc = tt_duration_parse(v, &us);

    if (rc == -EINVAL)
        return usage_error(
            o, err, "--%s: invalid duration '%s' (an integer with unit ms, s or m, e.g. 30s)",
            f->name, v);
    if (rc < 0 || us < f->min || us > f->max)
        return dur_range_error(o, f, v, err);
    *(uint64_t *)((char *)o + f->off) = us;
    return CLI_RUN;
}

static int apply_fault(struct cli_opts *o, const char *v, FILE *err)
{
    char why[200];

    if (o->drv.fault_count == TT_FAULT_MAX)
        return usage_error(o, err, "--fault: too many rules (at most %d)", TT_FAULT_MAX);
    if (tt_fault_check(v, why, sizeof(why)) < 0)
        return usage_error(o, err, "--fault '%s': %s", v, why);
    o->faults[o->drv.fault_count++] = v;
    return CLI_RUN;
}

static int apply_inject(struct cli_opts *o, const char *v, FILE *err)
{
    char why[200];

    if (o->drv.inject_count == TT_INJECT_MAX)
        return usage_error(o, err, "--inject: too many (at most %d)", TT_INJECT_MAX);
    if (tt_inject_check(v, why, sizeof(why)) < 0)
        return usage_error(o, err, "--inject '%s': %s", v, why);
    o->injects[o->drv.inject_count++] = v;
    return CLI_RUN;
}

static int apply_name(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    if (v[0] == '\0')
        return usage_error(o, err, "--%s: empty value", f->name);
    if (f->kind == F_TUN && strlen(v) > 15)
        return usage_error(o, err, "--%s: interface name '%s' too long (at most 15 characters)",
                           f->name, v);
    *(const char **)((char *)o + f->off) = v;
    return CLI_RUN;
}

/* --connect, repeatable: the first one given replaces the default destination. */
static int apply_dest(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    struct cli_dest d;

    if (cli_parse_hostport(v, &d.addr, &d.port) < 0)
        return usage_error(o, err, "--%s: invalid '%s' (expected IPV4:PORT, e.g. 10.7.0.1:7)",
                           f->name, v);
    if (!o->dests_set)
        o->ndests = 0;
    if (o->ndests == CLI_MAX_ENDPOINTS)
        return usage_error(o, err, "--%s: too many destinations (at most %d)", f->name,
                           CLI_MAX_ENDPOINTS);
    o->dests_set = true;
    o->dests[o->ndests++] = d;
    o->raddr = o->dests[0].addr;
    o->rport = o->dests[0].port;
    return CLI_RUN;
}

/* --port, repeatable: the first one given replaces the default port; each port once. */
static int apply_port(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    uint64_t x;

    if (cli_parse_uint(v, f->min, f->max, &x) < 0)
        return usage_error(o, err,
                           "--%s: invalid value '%s' (expected an integer from %llu to %llu)",
                           f->name, v, (unsigned long long)f->min, (unsigned long long)f->max);
    if (!o->ports_set)
        o->nports = 0;
    for (size_t i = 0; i < o->nports; i++)
        if (o->ports[i] == x)
            return usage_error(o, err, "--%s: port %s given twice", f->name, v);
    if (o->nports == CLI_MAX_ENDPOINTS)
        return usage_error(o, err, "--%s: too many ports (at most %d)", f->name, CLI_MAX_ENDPOINTS);
    o->ports_set = true;
    o->ports[o->nports++] = (uint16_t)x;
    o->port = o->ports[0];
    return CLI_RUN;
}

static int apply_address(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    switch (f->kind) {
    case F_IPV4:
        if (cli_parse_ipv4(v, (uint32_t *)((char *)o + f->off)) == 0)
            return CLI_RUN;
        return usage_error(o, err, "--%s: invalid IPv4 address '%s'", f->name, v);
    case F_PREFIX:
        if (cli_parse_prefix(v, &o->drv.host_addr, &o->drv.host_prefix) == 0)
            return CLI_RUN;
        return usage_error(o, err, "--%s: invalid '%s' (expected IPV4/LEN, e.g. 10.7.0.1/24)",
                           f->name, v);
    case F_HOSTPORT:
        return apply_dest(o, f, v, err);
    default:
        if (cli_parse_range(v, &o->drv.engine.port_lo, &o->drv.engine.port_hi) == 0)
            return CLI_RUN;
        return usage_error(o, err,
                           "--%s: invalid range '%s' (expected LO-HI, 1 <= LO <= HI <= 65535)",
                           f->name, v);
    }
}

/* Resolved now, so that a typo is refused before anything is set up. */
static int apply_user(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    struct passwd *pw;

    if (v[0] == '\0')
        return usage_error(o, err, "--%s: empty value", f->name);
    errno = 0;
    pw = getpwnam(v);
    if (pw == NULL && errno != 0 && errno != ENOENT && errno != ESRCH)
        return usage_error(o, err, "--%s: cannot look up user '%s': %s", f->name, v,
                           strerror(errno));
    if (pw == NULL)
        return usage_error(o, err, "--%s: no such user '%s'", f->name, v);
    o->user = v;
    o->uid = pw->pw_uid;
    o->gid = pw->pw_gid;
    o->drv.ctl_chown = true; /* the control socket is the user's (docs/contract.md §10.1) */
    o->drv.ctl_uid = pw->pw_uid;
    o->drv.ctl_gid = pw->pw_gid;
    return CLI_RUN;
}

/* realloc() that frees the old block when it fails. */
static uint8_t *realloc_or_free(uint8_t *b, size_t size)
{
    uint8_t *nb = realloc(b, size);

    if (nb == NULL)
        free(b);
    return nb;
}

/* The whole of path into *buf (malloc'd, at least 1 byte). Errors: -errno, -EFBIG. */
static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    int rc = 0;

    errno = 0;
    f = fopen(path, "rbe");
    if (f == NULL || b == NULL) {
        rc = f == NULL ? -errno : -ENOMEM;
        goto out;
    }
    for (size_t r; (r = fread(b + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n > PAYLOAD_MAX) {
            rc = -EFBIG;
            goto out;
        }
        if (n == cap && (b = realloc_or_free(b, cap *= 2)) == NULL) {
            rc = -ENOMEM;
            goto out;
        }
    }
    if (ferror(f))
        rc = errno != 0 ? -errno : -EIO; /* e.g. EISDIR */
out:
    if (f != NULL)
        fclose(f);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* STRING is taken as it is; @FILE is read now, so that a missing file is a bad command line. */
static int apply_payload(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    struct cli_payload *p = (struct cli_payload *)((char *)o + f->off);
    uint8_t *buf;
    size_t len;
    int rc;

    free(p->owned); /* the last one given wins */
    *p = (struct cli_payload){(const uint8_t *)v, strlen(v), NULL};
    if (v[0] != '@')
        return CLI_RUN;
    if ((rc = read_file(v + 1, &buf, &len)) < 0) {
        p->data = NULL;
        return usage_error(o, err, "--%s: cannot read '%s': %s", f->name, v + 1, strerror(-rc));
    }
    *p = (struct cli_payload){buf, len, buf};
    return CLI_RUN;
}

static int apply_number(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    uint64_t x;
    int b;

    switch (f->kind) {
    case F_BOOL01:
        if (cli_parse_bool01(v, &b) < 0)
            return usage_error(o, err, "--%s: invalid value '%s' (expected 0 or 1)", f->name, v);
        *(int *)((char *)o + f->off) = b;
        return CLI_RUN;
    case F_LINGER:
        if (cli_parse_uint(v, f->min, f->max, &x) < 0)
            return usage_error(o, err, "--%s: invalid value '%s' (expected seconds, 0 to %d)",
                               f->name, v, INT_MAX);
        o->linger_on = true;
        o->linger_s = (unsigned)x;
        return CLI_RUN;
    default:
        if (cli_parse_uint(v, f->min, f->max, &o->drv.seed) < 0)
            return usage_error(o, err, "--%s: invalid value '%s' (expected an integer)", f->name,
                               v);
        o->drv.seed_set = true;
        return CLI_RUN;
    }
}

static int apply_switch(struct cli_opts *o, const struct flag *f, FILE *out)
{
    switch (f->kind) {
    case F_TRUE:
        *(bool *)((char *)o + f->off) = true;
        return CLI_RUN;
    case F_LINGER0:
        o->linger_on = true;
        o->linger_s = 0;
        return CLI_RUN;
    case F_QUIET:
        o->quiet = true;
        return CLI_RUN;
    case F_VERBOSE:
        o->verbose++;
        return CLI_RUN;
    case F_HELP:
        print_help(o, out);
        return CLI_DONE;
    default:
        fprintf(out, "%s (tuntcp) %s\n", o->prog, TT_VERSION_STRING);
        return CLI_DONE;
    }
}

static int apply_offload(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
        return usage_error(o, err, "--%s: invalid value '%s' (expected on or off)", f->name, v);
    *(bool *)((char *)o + f->off) = strcmp(v, "off") == 0;
    return CLI_RUN;
}

static int apply_cc(struct cli_opts *o, const struct flag *f, const char *v, FILE *err)
{
    int algo = tt_cc_from_name(v);
    if (algo < 0)
        return usage_error(o, err, "--%s: invalid value '%s' (expected cubic or reno)", f->name, v);
    *(int *)((char *)o + f->off) = algo;
    return CLI_RUN;
}

static int apply_flag(struct cli_opts *o, const struct flag *f, const char *v, FILE *out, FILE *err)
{
    switch (f->kind) {
    case F_OFFLOAD:
        return apply_offload(o, f, v, err);
    case F_CC:
        return apply_cc(o, f, v, err);
    case F_TUN:
    case F_PATH:
        return apply_name(o, f, v, err);
    case F_IPV4:
    case F_PREFIX:
    case F_HOSTPORT:
    case F_RANGE:
        return apply_address(o, f, v, err);
    case F_UINT:
        return apply_uint(o, f, v, err);
    case F_PORTS:
        return apply_port(o, f, v, err);
    case F_DUR:
        return apply_dur(o, f, v, err);
    case F_FAULT:
        return apply_fault(o, v, err);
    case F_INJECT:
        return apply_inject(o, v, err);
    case F_USER:
        return apply_user(o, f, v, err);
    case F_PAYLOAD:
        return apply_payload(o, f, v, err);
    case F_BOOL01:
    case F_LINGER:
    case F_SEED:
        return apply_number(o, f, v, err);
    case F_TRUE:
    case F_LINGER0:
    case F_QUIET:
    case F_VERBOSE:
    case F_HELP:
    case F_VERSION:
        return apply_switch(o, f, out);
    }
    return CLI_USAGE;
}

/* ---- getopt_long ---- */

static bool flag_takes_value(const struct flag *f)
{
    return f->kind < F_TRUE || f->kind == F_FAULT || f->kind == F_LINGER || f->kind == F_SEED;
}

/* getopt_long's table for app; idx maps its entries back to flags[]. */
static void build_options(enum cli_app app, struct option *lo, char *shortopts)
{
    size_t n = 0, s = 0;

    shortopts[s++] = ':'; /* report a missing value as ':' rather than '?' */
    for (size_t i = 0; i < NFLAGS; i++) {
        const struct flag *f = &flags[i];
        if (!(f->apps & app))
            continue;
        lo[n++] = (struct option){f->name, flag_takes_value(f) ? required_argument : no_argument,
                                  NULL, f->short_opt ? f->short_opt : OPT_BASE + (int)i};
        if (f->short_opt)
            shortopts[s++] = (char)f->short_opt;
    }
    lo[n] = (struct option){NULL, 0, NULL, 0};
    shortopts[s] = '\0';
}

static const struct flag *flag_by_val(int val)
{
    if (val == 0)
        return NULL;
    for (size_t i = 0; i < NFLAGS; i++) {
        if (flags[i].short_opt == val || OPT_BASE + (int)i == val)
            return &flags[i];
    }
    return NULL;
}

/* How many of app's flags start with name[0..len): getopt_long accepts unique abbreviations. */
static size_t prefix_matches(enum cli_app app, const char *name, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < NFLAGS; i++)
        n += (flags[i].apps & app) && strncmp(flags[i].name, name, len) == 0;
    return n;
}

/* Names the other app when a flag belongs to it: a clearer error than "unknown". */
static int unknown_option(const struct cli_opts *o, const char *arg, FILE *err)
{
    size_t len;
    const char *name = arg;

    while (*name == '-')
        name++;
    len = strcspn(name, "=");
    for (size_t i = 0; i < NFLAGS; i++) {
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0 &&
            !(flags[i].apps & o->app))
            return usage_error(o, err, "--%.*s is an option of %s, not of %s", (int)len, name,
                               flags[i].apps == CLI_ECHO_SERVER ? "echo-server" : "echo-client",
                               o->prog);
    }
    return usage_error(o, err, "%s option '%s'",
                       prefix_matches(o->app, name, len) > 1 ? "ambiguous" : "unknown", arg);
}

/* getopt_long returned '?' or ':'; optopt says for which option, 0 for an unknown long one. */
static int getopt_error(const struct cli_opts *o, int c, char **argv, FILE *err)
{
    const struct flag *f = flag_by_val(optopt);

    if (c == ':' && f != NULL)
        return usage_error(o, err, "--%s: a value is required", f->name);
    if (f != NULL)
        return usage_error(o, err, "--%s takes no value", f->name);
    if (optopt != 0)
        return usage_error(o, err, "unknown option '-%c'", optopt);
    return unknown_option(o, argv[optind - 1], err);
}

/* Checks between flags, once all are read. */
/* --queues N > 1: what one queue's engine cannot do alone (docs/contract.md §3.10). */
static int cli_queues_check(const struct cli_opts *o, FILE *err)
{
    const char *what =
        o->max_conns != 0         ? "--max-conns"
        : o->drv.inject_count > 0 ? "--inject"
        : o->drv.pcapng           ? "--pcapng"
        : o->drv.pcap_path != NULL && strlen(o->drv.pcap_path) >= 7 &&
                strcmp(o->drv.pcap_path + strlen(o->drv.pcap_path) - 7, ".pcapng") == 0
            ? "--pcap FILE.pcapng"
            : NULL;

    if (o->drv.queues > 1 && o->rate != 0 && o->rate < o->drv.queues)
        return usage_error(o, err, "--rate %llu: below --queues %u (each queue opens its share)",
                           (unsigned long long)o->rate, o->drv.queues);
    if (o->drv.queues <= 1 || what == NULL)
        return CLI_RUN;
    return usage_error(o, err, "--queues %u: not with %s (one queue only)", o->drv.queues, what);
}

static int cli_validate(const struct cli_opts *o, FILE *err)
{
    const tt_driver_config_t *d = &o->drv;
    uint32_t mask = d->host_prefix == 0 ? 0 : ~(uint32_t)0 << (32 - d->host_prefix);
    char a[16], h[16];

    if (d->ctl_path != NULL && d->no_ctl)
        return usage_error(o, err, "--ctl: --no-ctl says there is no control socket; give one");
    if (o->send.data != NULL && o->bytes_set)
        return usage_error(o, err, "--send: the payload replaces --bytes; give one of them");
    if (d->pcapng && d->pcap_path == NULL)
        return usage_error(o, err, "--pcapng: says how to write --pcap FILE; give --pcap too");
    if (cli_queues_check(o, err) != CLI_RUN)
        return CLI_USAGE;
    if (d->engine.addr == d->host_addr)
        return usage_error(o, err, "--addr: %s is also the kernel side's address (--host)",
                           cli_ipv4_str(d->engine.addr, a));
    if (!d->no_config && (d->engine.addr & mask) != (d->host_addr & mask))
        return usage_error(o, err,
                           "--addr: %s is outside --host %s/%u: the kernel would not route to it "
                           "(or use --no-config)",
                           cli_ipv4_str(d->engine.addr, a), cli_ipv4_str(d->host_addr, h),
                           d->host_prefix);
    for (size_t i = 0; i < d->inject_count; i++) {
        char why[120];
        if (tt_inject_check_mtu(o->injects[i], d->engine.mtu, why, sizeof(why)) < 0)
            return usage_error(o, err, "--inject '%s': %s (--mtu)", o->injects[i], why);
    }
    return CLI_RUN;
}

int cli_parse(struct cli_opts *o, enum cli_app app, int argc, char **argv, FILE *out, FILE *err)
{
    struct option lo[NFLAGS + 1];
    char shortopts[NFLAGS + 2];
    int c, rc;

    cli_defaults(o, app);
    build_options(app, lo, shortopts);
    optind = 0; /* glibc: a full re-initialisation, so cli_parse can run more than once */
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
        const struct flag *f = flag_by_val(c);
        if (c == '?' || c == ':' || f == NULL)
            return getopt_error(o, c, argv, err);
        if ((rc = apply_flag(o, f, optarg, out, err)) != CLI_RUN)
            return rc;
        o->bytes_set |= strcmp(f->name, "bytes") == 0;
        o->count_set |= strcmp(f->name, "count") == 0;
        o->concurrency_set |= strcmp(f->name, "concurrency") == 0;
    }
    if (optind < argc)
        return usage_error(o, err, "unexpected argument '%s'", argv[optind]);
    return cli_validate(o, err);
}

void cli_free(struct cli_opts *o)
{
    free(o->send.owned);
    free(o->expect.owned);
    o->send = (struct cli_payload){NULL, 0, NULL};
    o->expect = (struct cli_payload){NULL, 0, NULL};
}

/* ---- --user: the privilege drop ---- */

static int drop_error(const struct cli_opts *o, FILE *err, const char *step, int e)
{
    fprintf(err, "%s: --user %s: %s: %s\n", o->prog, o->user, step, strerror(e));
    return -e;
}

/* The four ids of a "Uid:" or "Gid:" line of /proc/self/status (real,
 * effective, saved, filesystem) all equal to id? -1 when unreadable. */
static int proc_status_ids_are(const char *key, unsigned long id)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    size_t klen = strlen(key);
    int ok = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long v[4];
        if (strncmp(line, key, klen) != 0)
            continue;
        ok = sscanf(line + klen, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) == 4 &&
             v[0] == id && v[1] == id && v[2] == id && v[3] == id;
        break;
    }
    fclose(f);
    return ok;
}

int cli_drop_privileges(const struct cli_opts *o, FILE *err)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;

    if (o->user == NULL)
        return 0;
    if (getresuid(&ru, &eu, &su) < 0)
        return drop_error(o, err, "getresuid", errno);
    if (getresgid(&rg, &eg, &sg) < 0)
        return drop_error(o, err, "getresgid", errno);
    if (ru == o->uid && eu == o->uid && su == o->uid && rg == o->gid && eg == o->gid &&
        sg == o->gid && o->uid != 0)
        return 0; /* already that user, with nothing to drop */
    /* Groups first: once the uid is gone, so is the right to change them. */
    if (initgroups(o->user, o->gid) < 0)
        return drop_error(o, err, "initgroups", errno);
    if (setresgid(o->gid, o->gid, o->gid) < 0)
        return drop_error(o, err, "setresgid", errno);
    if (setresuid(o->uid, o->uid, o->uid) < 0)
        return drop_error(o, err, "setresuid", errno);
    /* Check, rather than trust: every id is the user's, and there is no way back. */
    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
        return drop_error(o, err, "getresuid", errno);
    if (ru != o->uid || eu != o->uid || su != o->uid || rg != o->gid || eg != o->gid ||
        sg != o->gid)
        return drop_error(o, err, "check", EPERM);
    if (proc_status_ids_are("Uid:", o->uid) == 0 || proc_status_ids_are("Gid:", o->gid) == 0)
        return drop_error(o, err, "check /proc/self/status", EPERM);
    if (o->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        return drop_error(o, err, "check (root regained)", EPERM);
    return 0;
}

void cli_conn_options(const struct cli_opts *o, tt_conn_t *conn)
{
    if (o->keepalive)
        tt_conn_set_keepalive(conn, 1, 0, 0, 0); /* the sysctls: --tcp-keepalive-* */
    if (o->user_timeout_us > 0)
        tt_conn_set_user_timeout(conn, (unsigned)(o->user_timeout_us / 1000));
    if (o->nodelay)
        tt_conn_set_nodelay(conn, 1); /* Linux's default is Nagle on, as the engine's */
}
