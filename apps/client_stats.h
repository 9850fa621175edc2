/*
 * echo-client's measurements for --json (docs/contract.md §3.4): counts,
 * failures by errno name with the times of the first and the last, connect
 * latencies (SYN sent to ESTABLISHED), the TIME_WAIT peak and a per-second
 * timeline. Times are engine microseconds; the summary gives them in
 * seconds since the start. Each record is one call per connection event,
 * never per packet.
 */
#ifndef TT_APPS_CLIENT_STATS_H
#define TT_APPS_CLIENT_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CS_MAX_KINDS 16

/* One failure kind: an errno name ("EADDRNOTAVAIL") or EOF/EBADMSG (docs/contract.md §3.4). */
struct cs_kind {
    const char *name;
    uint64_t count, first_us, last_us;
};

/* One second of the run, counted from the start. */
struct cs_second {
    uint64_t attempts, established, verified, failed;
    size_t tw; /* the most TIME_WAIT entries seen in that second */
};

struct cl_stats {
    uint64_t t0; /* the start, engine µs */
    uint64_t attempts, established, verified, failed;
    struct cs_kind kinds[CS_MAX_KINDS];
    size_t nkinds;
    uint32_t *lat_us; /* connect latencies, µs */
    size_t nlat, cap_lat;
    struct cs_second *secs;
    size_t nsecs, cap_secs;
    size_t tw_peak, tw_bytes_peak;
    bool incomplete; /* an allocation failed: some latencies or seconds are missing */
};

/* What the summary adds to the counts: the run's settings and outcome. */
struct cs_run {
    uint64_t end_us;      /* when the run ended */
    uint64_t open_end_us; /* when opening stopped (the last attempt's slot ended) */
    uint64_t rate;        /* --rate, 0: none */
    int exit_status;
};

void cs_init(struct cl_stats *cs, uint64_t t0);
void cs_free(struct cl_stats *cs);

void cs_attempt(struct cl_stats *cs, uint64_t now);
void cs_established(struct cl_stats *cs, uint64_t now, uint64_t latency_us);
void cs_verified(struct cl_stats *cs, uint64_t now);
/* A failed connection, by the name of what failed it (cs_errno_name). */
void cs_failed(struct cl_stats *cs, uint64_t now, const char *kind);
/* The TIME_WAIT gauge at now: keeps the peaks, overall and per second. */
void cs_sample_tw(struct cl_stats *cs, uint64_t now, size_t entries, size_t bytes);

/*
 * --queues: adds src (another queue's client, on the same clock) into dst,
 * whose t0 must be the earlier. The peaks add up: an upper bound of the
 * stack's, each queue's peak coming when it came. Errors: -ENOMEM.
 */
int cs_merge(struct cl_stats *dst, const struct cl_stats *src);

/* "ECONNREFUSED" for -ECONNREFUSED; "EIO" for an errno without a name here. */
const char *cs_errno_name(int err);

/* Writes the summary as one JSON object and a newline. Returns 0 or -EIO. */
int cs_write_json(struct cl_stats *cs, const struct cs_run *run, FILE *f);

#endif
