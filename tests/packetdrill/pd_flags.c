/*
 * --so_flags: the same TCP knobs as the apps (docs/contract.md §3.2), with the same
 * spelling and units, plus a few that only make sense here. The values go
 * through the apps' own parsers (apps/cli_values.c, tt_duration_parse in
 * stack/driver/duration.c), so that a value means the same in both. "--name value"
 * or "--name=value", separated by blanks. A bad value is refused with a
 * message naming the flag (the caller exits 2, as the apps do).
 *
 * The engine's defaults are Linux's (tt_config_init); the address defaults to
 * 192.168.0.1, to be given to packetdrill as --local_ip (packetdrill picks a
 * random 192.168.x.y otherwise). ISN key and seed are fixed: runs repeat.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli_values.h"
#include "pd_adapter.h"
#include "tuntcp/driver.h" /* tt_duration_parse */

#define PD_DEFAULT_ADDR 0xc0a80001u /* 192.168.0.1 */
#define PD_MAX_TOKENS 64

static int set_u32(uint32_t *dst, const char *v, uint64_t min, uint64_t max)
{
    uint64_t x;
    int err = cli_parse_uint(v, min, max, &x);
    if (err)
        return err;
    *dst = (uint32_t)x;
    return 0;
}

static int set_addr(struct pd_opts *o, const char *v)
{
    return cli_parse_ipv4(v, &o->cfg.addr);
}

static int set_mtu(struct pd_opts *o, const char *v)
{
    return set_u32(&o->cfg.mtu, v, 68, 65535);
}

/*
 * DURATION (docs/contract.md §3.1), by the apps' parser. It refuses anything above
 * 2^32 - 1 s, so that 2 * MSL, and now + 2 * MSL, cannot overflow the
 * engine's 64-bit microseconds. 0 is taken for every duration here (the
 * engine accepts it), where the apps refuse a zero --msl or --tcp-fin-timeout.
 */
static int set_msl(struct pd_opts *o, const char *v)
{
    return tt_duration_parse(v, &o->cfg.msl_us);
}

static int set_fin_timeout(struct pd_opts *o, const char *v)
{
    return tt_duration_parse(v, &o->cfg.fin_timeout_us);
}

static int set_ratelimit(struct pd_opts *o, const char *v)
{
    return tt_duration_parse(v, &o->cfg.invalid_ratelimit_us);
}

static int set_delack(struct pd_opts *o, const char *v)
{
    return tt_duration_parse(v, &o->cfg.delack_us);
}

static int set_rfc1337(struct pd_opts *o, const char *v)
{
    return cli_parse_bool01(v, &o->cfg.tcp_rfc1337);
}

static int set_cc(struct pd_opts *o, const char *v)
{
    int algo = tt_cc_from_name(v);
    if (algo < 0)
        return algo;
    o->cfg.tcp_congestion_control = algo;
    return 0;
}

static int set_tw_reuse(struct pd_opts *o, const char *v)
{
    return cli_parse_bool01(v, &o->cfg.tcp_tw_reuse);
}

static int set_timestamps(struct pd_opts *o, const char *v)
{
    return cli_parse_bool01(v, &o->cfg.tcp_timestamps);
}

static int set_syncookies(struct pd_opts *o, const char *v)
{
    return cli_parse_bool01(v, &o->cfg.tcp_syncookies);
}

static int set_wscale(struct pd_opts *o, const char *v)
{
    return cli_parse_bool01(v, &o->cfg.tcp_window_scaling);
}

static int set_sack(struct pd_opts *o, const char *v)
{
    return cli_parse_bool01(v, &o->cfg.tcp_sack);
}

static int set_tw_buckets(struct pd_opts *o, const char *v)
{
    return set_u32(&o->cfg.tcp_max_tw_buckets, v, 0, UINT32_MAX);
}

/* 1..UINT32_MAX, the apps' range. */
static int set_syn_backlog(struct pd_opts *o, const char *v)
{
    return set_u32(&o->cfg.tcp_max_syn_backlog, v, 1, UINT32_MAX);
}

/* 0..INT_MAX, the apps' range; 0 is Linux's default (8 while alive). */
static int set_orphan_retries(struct pd_opts *o, const char *v)
{
    uint64_t x;
    int err = cli_parse_uint(v, 0, INT_MAX, &x);
    if (err)
        return err;
    o->cfg.tcp_orphan_retries = (int)x;
    return 0;
}

/* 0..7, Linux's tcp_recovery: bit 1 RACK (the default), 2 static
 * reordering window, 4 no DupThresh. */
static int set_recovery(struct pd_opts *o, const char *v)
{
    uint64_t x;
    int err = cli_parse_uint(v, 0, 7, &x);
    if (err)
        return err;
    o->cfg.tcp_recovery = (int)x;
    return 0;
}

/* 0 or 1, Linux's tcp_slow_start_after_idle (1, the default: RFC 5681 4.1). */
static int set_ssai(struct pd_opts *o, const char *v)
{
    return cli_parse_bool01(v, &o->cfg.tcp_slow_start_after_idle);
}

/* 1..255, Linux's tcp_min_tso_segs (2). */
static int set_min_tso_segs(struct pd_opts *o, const char *v)
{
    uint64_t x;
    int err = cli_parse_uint(v, 1, 255, &x);
    if (err)
        return err;
    o->cfg.tcp_min_tso_segs = (int)x;
    return 0;
}

/* 0..2, Linux's tcp_ecn (2: ECN only when the peer asks, RFC 3168). */
static int set_ecn(struct pd_opts *o, const char *v)
{
    uint64_t x;
    int err = cli_parse_uint(v, 0, 2, &x);
    if (err)
        return err;
    o->cfg.tcp_ecn = (int)x;
    return 0;
}

/* 0 or 1: pacing as Linux under the fq qdisc (run.sh: a setup's
 * `tc qdisc ... root fq`). */
static int set_pacing(struct pd_opts *o, const char *v)
{
    return cli_parse_bool01(v, &o->cfg.tcp_pacing);
}

/* 0..1000, Linux's tcp_pacing_ss_ratio (200) and tcp_pacing_ca_ratio (120). */
static int set_pacing_ratio(const char *v, int *ratio)
{
    uint64_t x;
    int err = cli_parse_uint(v, 0, 1000, &x);
    if (err)
        return err;
    *ratio = (int)x;
    return 0;
}

static int set_pacing_ss_ratio(struct pd_opts *o, const char *v)
{
    return set_pacing_ratio(v, &o->cfg.tcp_pacing_ss_ratio);
}

static int set_pacing_ca_ratio(struct pd_opts *o, const char *v)
{
    return set_pacing_ratio(v, &o->cfg.tcp_pacing_ca_ratio);
}

/* 0..4, Linux's tcp_early_retrans: 3 and 4 send tail loss probes. */
static int set_early_retrans(struct pd_opts *o, const char *v)
{
    uint64_t x;
    int err = cli_parse_uint(v, 0, 4, &x);
    if (err)
        return err;
    o->cfg.tcp_early_retrans = (int)x;
    return 0;
}

static int set_rcvbuf(struct pd_opts *o, const char *v)
{
    return set_u32(&o->cfg.rcvbuf, v, 1024, 1u << 30);
}

static int set_sndbuf(struct pd_opts *o, const char *v)
{
    return set_u32(&o->cfg.sndbuf, v, 1024, 1u << 30);
}

/* Linux net.ipv4.tcp_notsent_lowat: bytes, 0..UINT32_MAX (the default, off). */
static int set_notsent_lowat(struct pd_opts *o, const char *v)
{
    return set_u32(&o->cfg.tcp_notsent_lowat, v, 0, UINT32_MAX);
}

static int set_port_range(struct pd_opts *o, const char *v)
{
    return cli_parse_range(v, &o->cfg.port_lo, &o->cfg.port_hi);
}

static int set_seed(struct pd_opts *o, const char *v)
{
    return cli_parse_uint(v, 0, UINT64_MAX, &o->cfg.seed);
}

static int set_linger(struct pd_opts *o, const char *v)
{
    uint64_t s;
    int err = cli_parse_uint(v, 0, INT_MAX, &s);
    if (err)
        return err;
    o->linger_on = true;
    o->linger_s = (unsigned)s;
    return 0;
}

static int set_linger0(struct pd_opts *o, const char *v)
{
    (void)v;
    o->linger_on = true;
    o->linger_s = 0;
    return 0;
}

/* 1..65535: packetdrill's --mss, which its tun writes put in the virtio
 * header as gso_size (netdev.c linux_tun_write()). */
static int set_gso_size(struct pd_opts *o, const char *v)
{
    uint32_t x;
    int err = set_u32(&x, v, 1, UINT16_MAX);
    if (err)
        return err;
    o->gso_size = (uint16_t)x;
    return 0;
}

static int set_verbose(struct pd_opts *o, const char *v)
{
    (void)v;
    o->verbose++;
    return 0;
}

/* Where run.sh's rewritten `tc qdisc ... dev tun0 root` commands write
 * (pd_qdisc.c). */
static int set_qdisc_fifo(struct pd_opts *o, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= sizeof(o->qdisc_fifo))
        return -1;
    memcpy(o->qdisc_fifo, v, n + 1);
    return 0;
}

struct pd_flag {
    const char *name;
    bool has_value;
    int (*set)(struct pd_opts *o, const char *v);
};

static const struct pd_flag flags_table[] = {
    {"--addr", true, set_addr},
    {"--mtu", true, set_mtu},
    {"--msl", true, set_msl},
    {"--tcp-fin-timeout", true, set_fin_timeout},
    {"--tcp-rfc1337", true, set_rfc1337},
    {"--tcp-tw-reuse", true, set_tw_reuse},
    {"--tcp-max-tw-buckets", true, set_tw_buckets},
    {"--tcp-syncookies", true, set_syncookies},
    {"--tcp-max-syn-backlog", true, set_syn_backlog},
    {"--tcp-orphan-retries", true, set_orphan_retries},
    {"--tcp-early-retrans", true, set_early_retrans},
    {"--tcp-notsent-lowat", true, set_notsent_lowat},
    {"--tcp-recovery", true, set_recovery},
    {"--tcp-slow-start-after-idle", true, set_ssai},
    {"--tcp-min-tso-segs", true, set_min_tso_segs},
    {"--tcp-ecn", true, set_ecn},
    {"--tcp-pacing", true, set_pacing},
    {"--tcp-pacing-ss-ratio", true, set_pacing_ss_ratio},
    {"--tcp-pacing-ca-ratio", true, set_pacing_ca_ratio},
    {"--tcp-timestamps", true, set_timestamps},
    {"--tcp-congestion-control", true, set_cc},
    {"--tcp-invalid-ratelimit", true, set_ratelimit},
    {"--ip-local-port-range", true, set_port_range},
    {"--linger0", false, set_linger0},
    {"--linger", true, set_linger},
    {"--seed", true, set_seed},
    /* only here: Linux sysctls the apps leave at their defaults */
    {"--tcp-window-scaling", true, set_wscale},
    {"--tcp-sack", true, set_sack},
    {"--delack", true, set_delack},
    {"--rcvbuf", true, set_rcvbuf},
    {"--sndbuf", true, set_sndbuf},
    {"--gso-size", true, set_gso_size},
    {"-v", false, set_verbose},
    {"--qdisc-fifo", true, set_qdisc_fifo},
};

static const struct pd_flag *flag_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(flags_table) / sizeof(flags_table[0]); i++)
        if (strlen(flags_table[i].name) == len && strncmp(flags_table[i].name, name, len) == 0)
            return &flags_table[i];
    return NULL;
}

static void defaults(struct pd_opts *o)
{
    memset(o, 0, sizeof(*o));
    tt_config_init(&o->cfg);
    o->cfg.addr = PD_DEFAULT_ADDR;
    o->cfg.seed = 1;
    for (size_t i = 0; i < sizeof(o->cfg.isn_secret); i++)
        o->cfg.isn_secret[i] = (uint8_t)(0x5a + i);
}

/* Splits buf in place at blanks; returns the number of words. */
static int split(char *buf, char **words, int max)
{
    int n = 0;
    for (char *tok = strtok(buf, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
        if (n == max)
            return -1;
        words[n++] = tok;
    }
    return n;
}

/* One flag at words[*i]; advances *i past its value. */
static int parse_one(struct pd_opts *o, char **words, int n, int *i, FILE *err)
{
    const char *w = words[*i], *eq = strchr(w, '=');
    const struct pd_flag *f = flag_find(w, eq ? (size_t)(eq - w) : strlen(w));
    if (!f) {
        fprintf(err, "tt_packetdrill: --so_flags: unknown flag '%s'\n", w);
        return -1;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (f->has_value && !v) {
        if (*i + 1 >= n) {
            fprintf(err, "tt_packetdrill: --so_flags: %s needs a value\n", f->name);
            return -1;
        }
        v = words[++*i];
    }
    if (f->set(o, v) != 0) {
        fprintf(err, "tt_packetdrill: --so_flags: %s: bad value '%s'\n", f->name, v ? v : "");
        return -1;
    }
    return 0;
}

int pd_flags_parse(const char *flags, struct pd_opts *o, FILE *err)
{
    defaults(o);
    if (!flags)
        return 0;
    char *buf = strdup(flags);
    char *words[PD_MAX_TOKENS];
    if (!buf)
        return -1;
    int n = split(buf, words, PD_MAX_TOKENS), rc = 0;
    if (n < 0) {
        fprintf(err, "tt_packetdrill: --so_flags: too many words\n");
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < n; i++)
        rc = parse_one(o, words, n, &i, err);
    free(buf);
    return rc;
}
