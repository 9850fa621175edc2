/*
 * Statistics report (docs/contract.md §8, on SIGUSR1 and at exit with -v): every counter
 * as `Name value`, the TIME_WAIT gauge as a sockstat line, then the
 * connections as `ss -tan` lists them.
 */
#ifndef TT_REPORT_H
#define TT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "tuntcp/tuntcp.h"

/* The driver's own counters, printed after the engine's. */
struct drv_counters {
    uint64_t tun_in, tun_out; /* packets read from / written to the TUN */
    uint64_t tun_read_errors, tun_write_errors;
    uint64_t txq_queued, txq_drops; /* EAGAIN on write: queued, or dropped when full */
    uint64_t fault_dropped, fault_duplicated, fault_delayed;
    uint64_t fault_delay_drops; /* delay pool full */
    uint64_t pcap_records;
    uint64_t fault_released;           /* held packets (delay=, dup= copies) let go */
    uint64_t injected, inject_no_conn; /* --inject: sent, or skipped for want of a connection */
    /* With offloads (offload.h): how many of tun_in and tun_out were
     * super-segments (each one datagram for the device, several segments). */
    uint64_t tun_in_super, tun_out_super;
    /* --queues (queues.h): packets this queue's engine did not know, handed to
     * the next queue (or lost, its inbox full); and those no queue knew. */
    uint64_t queue_handed, queue_hand_drops, queue_unowned;
};

void tt_report_print(FILE *f, const tt_engine_t *eng, const struct drv_counters *c,
                     uint64_t now_us);

/*
 * Every counter's name and value, the engine's then the driver's, in the
 * order tt_report_print() prints them: up to cap; returns how many exist.
 */
size_t tt_report_counters(const tt_engine_t *eng, const struct drv_counters *c, const char **names,
                          uint64_t *values, size_t cap);

/*
 * The gauges, current values and not counters, as a line of Linux's
 * /proc/net/sockstat: `TCP: tw N tw_bytes B\n`, the TIME_WAIT entries
 * and the bytes their table has allocated.
 */
void tt_report_sockstat_line(char *buf, size_t cap, const tt_engine_t *eng);

/* The same, of given values (several queues: their sums). */
void tt_report_sockstat_values(char *buf, size_t cap, size_t tw, size_t tw_bytes);

/* The pieces of tt_report_print(), for several engines: counters given as
 * names and values, the connection list's header, one engine's connections. */
void tt_report_print_values(FILE *f, const char *const *names, const uint64_t *values, size_t n);
void tt_report_print_conn_header(FILE *f);
void tt_report_print_conns(FILE *f, const tt_engine_t *eng, uint64_t now_us);

/* One `ss -tan`-like line for info, newline included, into buf of cap bytes. */
void tt_report_conn_line(char *buf, size_t cap, const tt_conn_info_t *info, uint64_t now_us);

#endif
