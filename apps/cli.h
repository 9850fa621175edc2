/*
 * Command line of the tuntcp apps (docs/contract.md §3.2), shared by echo-server and
 * echo-client: every flag, its default, its validation and --help. A bad
 * value is refused with a message naming the flag, and exit status 2.
 */
#ifndef TT_APPS_CLI_H
#define TT_APPS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli_values.h" /* the value parsers, for the apps and their tests */
#include "tuntcp/driver.h"

enum cli_app {
    CLI_ECHO_SERVER = 1,
    CLI_ECHO_CLIENT = 2,
};

/* --send and --expect: STRING (argv's bytes) or @FILE (read at parse time). */
struct cli_payload {
    const uint8_t *data; /* NULL: not given */
    size_t len;
    void *owned; /* the file's contents, freed by cli_free(); NULL for a STRING */
};

/* Most --connect destinations of echo-client, most --port listeners of echo-server. */
#define CLI_MAX_ENDPOINTS 16

/* One --connect IPV4:PORT. */
struct cli_dest {
    uint32_t addr;
    uint16_t port;
};

enum cli_result {
    CLI_RUN = 0,   /* flags are good: run */
    CLI_DONE = 1,  /* --help or --version was printed: exit 0 */
    CLI_USAGE = 2, /* a bad flag was reported: exit 2 */
};

struct cli_opts {
    enum cli_app app;
    const char *prog;
    tt_driver_config_t drv; /* TUN, addresses, TCP knobs, pcap, trace, faults, seed */
    const char *faults[TT_FAULT_MAX];
    const char *injects[TT_INJECT_MAX];
    int verbose; /* -v: statistics at exit; repeatable */
    bool quiet;  /* -q: no informational messages (the listening line and failures stay) */
    bool linger_on;
    unsigned linger_s;        /* with linger_on; 0 = --linger0 */
    bool keepalive;           /* --keepalive: SO_KEEPALIVE on every connection */
    bool nodelay;             /* --nodelay: TCP_NODELAY on every connection (Nagle off) */
    uint64_t user_timeout_us; /* --user-timeout: TCP_USER_TIMEOUT on every connection; 0 none */

    /* --user NAME: the user to become once the TUN device, pcap and trace are open */
    const char *user; /* NULL: stay who we are */
    uid_t uid;
    gid_t gid;

    /* both: echo-client keeps a verified connection open this long before it closes;
     * echo-server delays each close (at the peer's FIN or --close-after) this long */
    uint64_t hold_us; /* 0: none */

    /* echo-server */
    uint16_t port;                     /* ports[0] */
    uint16_t ports[CLI_MAX_ENDPOINTS]; /* every --port, in order */
    size_t nports;
    bool ports_set; /* --port was given: the first replaces the default */
    uint64_t close_after;
    uint64_t max_conns;

    /* echo-client */
    uint32_t raddr; /* dests[0] */
    uint16_t rport;
    struct cli_dest dests[CLI_MAX_ENDPOINTS]; /* every --connect, in order; round-robin */
    size_t ndests;
    bool dests_set; /* --connect was given: the first replaces the default */
    uint64_t count, concurrency, bytes;
    bool count_set;        /* --count was given (else --duration alone bounds the run) */
    bool concurrency_set;  /* --concurrency was given (else 1, or CLI_RATE_CONCURRENCY at --rate) */
    uint64_t rate;         /* --rate: connections opened per second; 0: as fast as slots free */
    uint64_t duration_us;  /* --duration: stop opening after this; 0: none */
    const char *json_path; /* --json FILE ('-': stdout); NULL: none */
    bool bytes_set;        /* --bytes was given: it and --send exclude each other */
    struct cli_payload send;   /* sent instead of --bytes of the pattern */
    struct cli_payload expect; /* what must come back; with --send and without it: no check */
    bool close_wait, wait_timewait;
    uint64_t connect_timeout_us; /* 0: none (the engine's SYN retries) */
    uint64_t timeout_us;         /* 0: none; else the longest a connection may make no progress */
};

/* --concurrency at --rate when not given: an open-loop schedule needs room. */
#define CLI_RATE_CONCURRENCY 1024

/* Fills o with docs/contract.md §3.2's defaults for app. */
void cli_defaults(struct cli_opts *o, enum cli_app app);

/*
 * Parses argv into o (defaults first). --help and --version print to out;
 * errors go to err as "PROG: --FLAG: reason". Returns an enum cli_result.
 */
int cli_parse(struct cli_opts *o, enum cli_app app, int argc, char **argv, FILE *out, FILE *err);

/* Frees what cli_parse() read from files (--send @FILE, --expect @FILE), whatever it returned. */
void cli_free(struct cli_opts *o);

/* The per-connection socket options of the command line: --keepalive
 * (SO_KEEPALIVE) and --user-timeout (TCP_USER_TIMEOUT). */
void cli_conn_options(const struct cli_opts *o, tt_conn_t *conn);

/*
 * --user: becomes o->user (its supplementary groups, its group, its uid; no
 * way back) and checks the result, the saved and filesystem ids included.
 * Called once the TUN device is set up and every file is open. Nothing to
 * do without --user, or when already that user. On failure prints
 * "PROG: --user NAME: STEP: reason" to err and returns -errno.
 */
int cli_drop_privileges(const struct cli_opts *o, FILE *err);

#endif
