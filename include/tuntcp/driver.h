/*
 * tuntcp driver: runs a tt_engine on a Linux TUN device with libuv.
 *
 * The driver owns everything the engine must not touch: the TUN file
 * descriptor, the clock, the event loop, signals, the pcap and trace files
 * and fault injection. An application creates a driver from a config, sets
 * up listeners or connections on tt_driver_engine(), then calls
 * tt_driver_run() until tt_driver_stop() or SIGINT/SIGTERM.
 *
 * Errors are negative errno values. None of these functions may be called
 * from a signal handler; all may be called from engine callbacks, except
 * tt_driver_free() and tt_driver_run().
 */
#ifndef TUNTCP_DRIVER_H
#define TUNTCP_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tuntcp/tuntcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* At most this many --fault rules. */
#define TT_FAULT_MAX 32
/* At most this many --inject specs. */
#define TT_INJECT_MAX 16

typedef struct tt_driver tt_driver_t;

typedef struct tt_driver_config {
    tt_config_t engine;        /* passed to tt_engine_new(); seed and isn_secret see below */
    const char *tun_name;      /* interface to create or attach; default "tt0" */
    uint32_t host_addr;        /* kernel-side address, host order; default 10.7.0.1 */
    uint8_t host_prefix;       /* its prefix length; default 24 */
    bool no_config;            /* leave addresses, MTU and link state alone */
    bool no_offload;           /* --offload off: no IFF_VNET_HDR, no TSO (docs/contract.md §3.8) */
    unsigned queues;           /* --queues N: 0 or 1 one queue; more: IFF_MULTI_QUEUE (see below) */
    const char *pcap_path;     /* NULL: no capture */
    bool pcapng;               /* pcapng even when pcap_path does not end in ".pcapng" */
    const char *trace_path;    /* NULL: no trace; "-": stderr */
    const char *const *faults; /* --fault specs, checked with tt_fault_check() */
    size_t fault_count;        /* <= TT_FAULT_MAX */
    bool seed_set;             /* false: a random seed is drawn */
    uint64_t seed;             /* derives engine.seed, engine.isn_secret and the fault PRNG */
    const char *const *injects; /* --inject specs, checked with tt_inject_check() */
    size_t inject_count;        /* <= TT_INJECT_MAX */
    /* The control socket (docs/contract.md §10.1). */
    const char *ctl_path; /* NULL: NAME.ctl in the runtime directory, if it can be made */
    bool no_ctl;          /* no control socket at all */
    bool ctl_chown;       /* give the socket to ctl_uid:ctl_gid (--user) */
    uid_t ctl_uid;
    gid_t ctl_gid;
} tt_driver_config_t;

/*
 * Called once per loop iteration, after the packets and timers of that
 * iteration went through the engine and outside any engine callback, with
 * the engine's time set to now: the place to check for completion, start
 * new connections, or call tt_driver_stop().
 */
typedef void (*tt_driver_check_cb)(tt_driver_t *drv, void *ctx);

/* Defaults of docs/contract.md §3.2: tt0, 10.7.0.1/24, engine defaults from tt_config_init(). */
void tt_driver_config_init(tt_driver_config_t *cfg);

/*
 * Opens (creating if absent) and configures the TUN device, opens the pcap
 * and trace files, creates the engine. On failure writes a one-line reason
 * naming the step into err (e.g. "open /dev/net/tun: Permission denied").
 * Errors: any negative errno of the failing step; -EINVAL for a bad config.
 */
int tt_driver_new(tt_driver_t **drv, const tt_driver_config_t *cfg, char *err, size_t errlen);

/* Flushes the pcap and trace, closes the TUN device, frees the engine. */
void tt_driver_free(tt_driver_t *drv);

tt_engine_t *tt_driver_engine(const tt_driver_t *drv);

/*
 * Several queues (cfg.queues > 1, at most TT_QUEUES_MAX, docs/contract.md
 * §3.10): the device is opened with IFF_MULTI_QUEUE once per queue, and each
 * queue is a driver of its own, with its engine, its libuv loop and, while
 * tt_driver_run() runs, its thread. tt_driver_new() returns queue 0, the
 * lead: it holds the control socket and the signals; tt_driver_queue()
 * gives the others. The application sets each queue up (listeners, check
 * callback, wake-ups) on that queue's driver, and from then on touches a
 * queue's engine only from its check callback and engine callbacks, which
 * run on that queue's thread. tt_driver_run() on the lead runs them all
 * and returns once every loop ended; tt_driver_stop() on any queue ends
 * them all. Each engine takes its own slice of ip_local_port_range and of
 * tcp_max_tw_buckets, so that no two pick the same 4-tuple. With one queue
 * tt_driver_queue(drv, 0) is drv itself.
 */
#define TT_QUEUES_MAX 16
size_t tt_driver_queue_count(const tt_driver_t *drv);
tt_driver_t *tt_driver_queue(tt_driver_t *drv, size_t i);
const char *tt_driver_ifname(const tt_driver_t *drv);
uint64_t tt_driver_seed(const tt_driver_t *drv); /* the seed in use, drawn or given */
/*
 * Without a seed, the ISN key is the boot's (as Linux's): the path of the
 * file it was read from. NULL when the key came from the seed (given, or
 * no private runtime directory to keep a boot key in).
 */
const char *tt_driver_isn_key(const tt_driver_t *drv);

/*
 * The control socket's path, or NULL when there is none; then *why_none
 * (if why_none is not NULL) says why, e.g. "--no-ctl" or the default
 * path's failure. The socket is removed when the driver is freed.
 */
const char *tt_driver_ctl_path(const tt_driver_t *drv, const char **why_none);

/*
 * Whether the device took the offloads (IFF_VNET_HDR, checksum and TSO4:
 * docs/contract.md §3.8). When not, why_off (cap bytes) says why: "--offload
 * off", or the call the kernel refused and its error.
 */
bool tt_driver_offload(const tt_driver_t *drv, char *why_off, size_t cap);

void tt_driver_set_check_cb(tt_driver_t *drv, tt_driver_check_cb cb, void *ctx);

/*
 * Makes the check callback run again at the latest in the first loop
 * iteration at or after at_us (engine time, as tt_engine_now()), even when
 * no packet and no engine timer wakes the loop: for the application's own
 * deadlines. One wake-up per driver; a call replaces the previous one, and
 * TT_TIME_NEVER cancels it.
 */
void tt_driver_wake_at(tt_driver_t *drv, uint64_t at_us);

/* SIGINT or SIGTERM when one of them ended the run, else 0. */
int tt_driver_signal(const tt_driver_t *drv);

/*
 * Runs the loop; returns the status given to tt_driver_stop(), 0 after
 * SIGINT/SIGTERM, or a negative errno when the TUN device failed for good
 * (-EBADFD once the interface is deleted under the running app; transient
 * errors such as EAGAIN, EINTR or ENOBUFS never end the run). Then the loop
 * stopped at once, the engine is left as it was (no segment can leave any
 * more), and tt_driver_error() says why; tt_driver_free() still flushes and
 * closes the pcap and trace.
 */
int tt_driver_run(tt_driver_t *drv);
/* Makes tt_driver_run() return status once the current iteration ends; a
 * device failure in the same run takes precedence. With several queues it
 * ends every queue's loop, from any queue's thread; the first status wins. */
void tt_driver_stop(tt_driver_t *drv, int status);
/*
 * NULL while the device works; after a device failure, a one-line reason
 * naming the interface, the call and the errno text, e.g. "TUN tt0: read:
 * File descriptor in bad state (the interface was deleted)".
 */
const char *tt_driver_error(const tt_driver_t *drv);

/*
 * Every counter (the engine's, then the driver's) as `Name value` lines,
 * then one line per connection as `ss -tan` shows it. Also done on SIGUSR1.
 */
void tt_driver_print_stats(tt_driver_t *drv, FILE *f);

/*
 * DURATION of docs/contract.md §3.1: an integer with unit ms, s or m; bare means seconds.
 * Errors: -EINVAL (syntax), -ERANGE (above 2^32 - 1 seconds).
 */
int tt_duration_parse(const char *s, uint64_t *us);

/*
 * Checks one --fault spec (grammar in tt_fault_help). On error writes the
 * reason into err. Errors: -EINVAL.
 */
int tt_fault_check(const char *spec, char *err, size_t errlen);

/* The --fault grammar, for --help. */
extern const char tt_fault_help[];

/*
 * Checks one --inject spec (grammar in tt_inject_help, docs/contract.md
 * §3.7). On error writes the reason into err. Errors: -EINVAL.
 */
int tt_inject_check(const char *spec, char *err, size_t errlen);

/*
 * Checks that a valid spec's segment fits a datagram of mtu bytes. On
 * error writes the reason into err. Errors: -EMSGSIZE.
 */
int tt_inject_check_mtu(const char *spec, uint32_t mtu, char *err, size_t errlen);

/* The --inject grammar, for --help. */
extern const char tt_inject_help[];

#ifdef __cplusplus
}
#endif
#endif
