/*
 * The sysctl table (docs/contract.md §10.4). One row per knob: its Linux name,
 * the flag that sets it at start (same syntax, same range), the field.
 * Parsing is strict, as for the flags: a typo must not become another
 * experiment.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "sysctl.h"
#include "tuntcp/driver.h"

enum knob_kind {
    K_BOOL,  /* int, 0 or 1 */
    K_INT,   /* int, in [min, max] */
    K_U32,   /* uint32_t, in [min, max] */
    K_DUR,   /* uint64_t µs, DURATION, at least min µs */
    K_RANGE, /* port_lo, port_hi */
    K_CC,    /* int, TT_CC_*, by name: cubic or reno */
};

struct knob {
    const char *name;
    enum knob_kind kind;
    size_t off;
    uint64_t min, max;
};

#define CFG(f) offsetof(tt_config_t, f)

static const struct knob knobs[] = {
    {"net.ipv4.ip_local_port_range", K_RANGE, 0, 0, 0},
    {"net.ipv4.tcp_congestion_control", K_CC, CFG(tcp_congestion_control), 0, 0},
    {"net.ipv4.tcp_early_retrans", K_INT, CFG(tcp_early_retrans), 0, 4},
    {"net.ipv4.tcp_recovery", K_INT, CFG(tcp_recovery), 0, 7},
    {"net.ipv4.tcp_slow_start_after_idle", K_BOOL, CFG(tcp_slow_start_after_idle), 0, 1},
    {"net.ipv4.tcp_min_tso_segs", K_INT, CFG(tcp_min_tso_segs), 1, 255},
    {"net.ipv4.tcp_ecn", K_INT, CFG(tcp_ecn), 0, 2},
    {"net.ipv4.tcp_pacing_ss_ratio", K_INT, CFG(tcp_pacing_ss_ratio), 0, 1000},
    {"net.ipv4.tcp_pacing_ca_ratio", K_INT, CFG(tcp_pacing_ca_ratio), 0, 1000},
    {"net.ipv4.tcp_fin_timeout", K_DUR, CFG(fin_timeout_us), 1, 0},
    {"net.ipv4.tcp_invalid_ratelimit", K_DUR, CFG(invalid_ratelimit_us), 0, 0},
    {"net.ipv4.tcp_max_syn_backlog", K_U32, CFG(tcp_max_syn_backlog), 1, UINT32_MAX},
    {"net.ipv4.tcp_max_tw_buckets", K_U32, CFG(tcp_max_tw_buckets), 0, UINT32_MAX},
    {"net.ipv4.tcp_notsent_lowat", K_U32, CFG(tcp_notsent_lowat), 0, UINT32_MAX},
    {"net.ipv4.tcp_orphan_retries", K_INT, CFG(tcp_orphan_retries), 0, INT_MAX},
    {"net.ipv4.tcp_rfc1337", K_BOOL, CFG(tcp_rfc1337), 0, 1},
    {"net.ipv4.tcp_syncookies", K_BOOL, CFG(tcp_syncookies), 0, 1},
    {"net.ipv4.tcp_timestamps", K_BOOL, CFG(tcp_timestamps), 0, 1},
    {"net.ipv4.tcp_tw_reuse", K_INT, CFG(tcp_tw_reuse), 0, 2},
    {"net.ipv4.tcp_tw_reuse_delay", K_DUR, CFG(tw_reuse_delay_us), 1000, 0},
    {"tuntcp.msl", K_DUR, CFG(msl_us), 1, 0},
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

size_t tt_sysctl_count(void)
{
    return NKNOBS;
}

const char *tt_sysctl_name(size_t i)
{
    return i < NKNOBS ? knobs[i].name : NULL;
}

int tt_sysctl_find(const char *name)
{
    for (size_t i = 0; i < NKNOBS; i++)
        if (strcmp(knobs[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

static void *field(tt_config_t *cfg, const struct knob *k)
{
    return (char *)cfg + k->off;
}

static const void *cfield(const tt_config_t *cfg, const struct knob *k)
{
    return (const char *)cfg + k->off;
}

/* Whole seconds when exact, else milliseconds: what --msl and the others accept back. */
static void format_dur(uint64_t us, char *buf, size_t cap)
{
    if (us % 1000000 == 0)
        snprintf(buf, cap, "%" PRIu64 "s", us / 1000000);
    else if (us % 1000 == 0)
        snprintf(buf, cap, "%" PRIu64 "ms", us / 1000);
    else
        snprintf(buf, cap, "%" PRIu64 "us", us); /* not from a flag: shown as it is */
}

void tt_sysctl_format(size_t i, const tt_config_t *cfg, char *buf, size_t cap)
{
    const struct knob *k = &knobs[i];

    switch (k->kind) {
    case K_BOOL:
    case K_INT:
        snprintf(buf, cap, "%d", *(const int *)cfield(cfg, k));
        break;
    case K_U32:
        snprintf(buf, cap, "%" PRIu32, *(const uint32_t *)cfield(cfg, k));
        break;
    case K_DUR:
        format_dur(*(const uint64_t *)cfield(cfg, k), buf, cap);
        break;
    case K_RANGE:
        snprintf(buf, cap, "%u-%u", cfg->port_lo, cfg->port_hi);
        break;
    case K_CC:
        snprintf(buf, cap, "%s", tt_cc_name(*(const int *)cfield(cfg, k)));
        break;
    }
}

/* A decimal integer, digits only, in [min, max]. */
static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;

    if (*s == '\0')
        return -EINVAL;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -EINVAL;
        x = x * 10 + d;
    }
    if (x < min || x > max)
        return -EINVAL;
    *v = x;
    return 0;
}

static int parse_range(const char *s, tt_config_t *cfg)
{
    char lo[8], hi[8];
    const char *dash = strchr(s, '-');
    uint64_t a, b;

    if (dash == NULL || dash - s >= (long)sizeof(lo) || strlen(dash + 1) >= sizeof(hi))
        return -EINVAL;
    memcpy(lo, s, (size_t)(dash - s));
    lo[dash - s] = '\0';
    strcpy(hi, dash + 1);
    if (parse_uint(lo, 1, 65535, &a) < 0 || parse_uint(hi, 1, 65535, &b) < 0 || a > b)
        return -EINVAL;
    cfg->port_lo = (uint16_t)a;
    cfg->port_hi = (uint16_t)b;
    return 0;
}

static int parse_error(const struct knob *k, const char *value, char *err, size_t errlen)
{
    switch (k->kind) {
    case K_BOOL:
        snprintf(err, errlen, "%s: invalid value '%s' (expected 0 or 1)", k->name, value);
        break;
    case K_INT:
    case K_U32:
        snprintf(err, errlen,
                 "%s: invalid value '%s' (expected an integer from %" PRIu64 " to %" PRIu64 ")",
                 k->name, value, k->min, k->max);
        break;
    case K_DUR:
        snprintf(err, errlen,
                 "%s: invalid value '%s' (a DURATION: an integer with unit ms, s "
                 "or m, %s; at most 4294967295s)",
                 k->name, value,
                 k->min >= 1000 ? "at least 1ms"
                 : k->min > 0   ? "more than 0"
                                : "0 or more");
        break;
    case K_RANGE:
        snprintf(err, errlen, "%s: invalid value '%s' (expected LO-HI, 1 <= LO <= HI <= 65535)",
                 k->name, value);
        break;
    case K_CC:
        snprintf(err, errlen, "%s: invalid value '%s' (expected cubic or reno)", k->name, value);
        break;
    }
    return -EINVAL;
}

int tt_sysctl_parse(size_t i, const char *value, tt_config_t *cfg, char *err, size_t errlen)
{
    const struct knob *k = &knobs[i];
    uint64_t v;

    switch (k->kind) {
    case K_BOOL:
    case K_INT:
        if (parse_uint(value, k->min, k->max, &v) < 0)
            return parse_error(k, value, err, errlen);
        *(int *)field(cfg, k) = (int)v;
        return 0;
    case K_U32:
        if (parse_uint(value, k->min, k->max, &v) < 0)
            return parse_error(k, value, err, errlen);
        *(uint32_t *)field(cfg, k) = (uint32_t)v;
        return 0;
    case K_DUR:
        if (tt_duration_parse(value, &v) < 0 || v < k->min)
            return parse_error(k, value, err, errlen);
        *(uint64_t *)field(cfg, k) = v;
        return 0;
    case K_RANGE:
        return parse_range(value, cfg) < 0 ? parse_error(k, value, err, errlen) : 0;
    case K_CC: {
        int algo = tt_cc_from_name(value);
        if (algo < 0)
            return parse_error(k, value, err, errlen);
        *(int *)field(cfg, k) = algo;
        return 0;
    }
    }
    return -EINVAL;
}
