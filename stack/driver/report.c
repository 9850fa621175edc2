/*
 * Statistics report. The engine's counters come from tt_stats_table() so a
 * counter added to the engine shows up here without a change; the driver's
 * own follow with a Tt prefix, Linux having no name for them. The TIME_WAIT
 * gauge is a current value, so it is not printed as a counter (a tool taking
 * the difference of two reports would be wrong) but as a line of Linux's
 * /proc/net/sockstat, where `tw` is the same figure.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

struct drv_stat_desc {
    const char *name;
    size_t offset;
};

#define DRV_STAT(name, field)                                                                      \
    {                                                                                              \
        name, offsetof(struct drv_counters, field)                                                 \
    }

static const struct drv_stat_desc drv_stats[] = {
    DRV_STAT("TtTunInPackets", tun_in),
    DRV_STAT("TtTunOutPackets", tun_out),
    DRV_STAT("TtTunReadErrors", tun_read_errors),
    DRV_STAT("TtTunWriteErrors", tun_write_errors),
    DRV_STAT("TtTunTxQueued", txq_queued),
    DRV_STAT("TtTunTxDrops", txq_drops),
    DRV_STAT("TtFaultDropped", fault_dropped),
    DRV_STAT("TtFaultDuplicated", fault_duplicated),
    DRV_STAT("TtFaultDelayed", fault_delayed),
    DRV_STAT("TtFaultDelayDrops", fault_delay_drops),
    DRV_STAT("TtPcapRecords", pcap_records),
    DRV_STAT("TtFaultReleased", fault_released),
    DRV_STAT("TtInjected", injected),
    DRV_STAT("TtInjectNoConn", inject_no_conn),
    DRV_STAT("TtTunInSuper", tun_in_super),
    DRV_STAT("TtTunOutSuper", tun_out_super),
    DRV_STAT("TtQueueHandedOver", queue_handed),
    DRV_STAT("TtQueueHandDrops", queue_hand_drops),
    DRV_STAT("TtQueueUnowned", queue_unowned),
};

static uint64_t field_at(const void *base, size_t offset)
{
    return *(const uint64_t *)((const char *)base + offset);
}

static void print_counters(FILE *f, const tt_engine_t *eng, const struct drv_counters *c)
{
    tt_stats_t st;
    size_t n;
    const tt_stat_desc_t *tab = tt_stats_table(&n);

    tt_engine_stats(eng, &st);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s %" PRIu64 "\n", tab[i].name, field_at(&st, tab[i].offset));
    for (size_t i = 0; i < sizeof(drv_stats) / sizeof(drv_stats[0]); i++)
        fprintf(f, "%s %" PRIu64 "\n", drv_stats[i].name, field_at(c, drv_stats[i].offset));
}

size_t tt_report_counters(const tt_engine_t *eng, const struct drv_counters *c, const char **names,
                          uint64_t *values, size_t cap)
{
    tt_stats_t st;
    size_t n, k = 0, nd = sizeof(drv_stats) / sizeof(drv_stats[0]);
    const tt_stat_desc_t *tab = tt_stats_table(&n);

    tt_engine_stats(eng, &st);
    for (size_t i = 0; i < n; i++, k++) {
        if (k < cap) {
            names[k] = tab[i].name;
            values[k] = field_at(&st, tab[i].offset);
        }
    }
    for (size_t i = 0; i < nd; i++, k++) {
        if (k < cap) {
            names[k] = drv_stats[i].name;
            values[k] = field_at(c, drv_stats[i].offset);
        }
    }
    return k;
}

void tt_report_sockstat_line(char *buf, size_t cap, const tt_engine_t *eng)
{
    tt_report_sockstat_values(buf, cap, tt_engine_timewait_count(eng),
                              tt_engine_timewait_bytes(eng));
}

void tt_report_sockstat_values(char *buf, size_t cap, size_t tw, size_t tw_bytes)
{
    snprintf(buf, cap, "TCP: tw %zu tw_bytes %zu\n", tw, tw_bytes);
}

void tt_report_print_values(FILE *f, const char *const *names, const uint64_t *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s %" PRIu64 "\n", names[i], values[i]);
}

static void format_endpoint(char *buf, size_t cap, uint32_t a, uint16_t port)
{
    snprintf(buf, cap, "%u.%u.%u.%u:%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, port);
}

/* ss's timer column, for the two states whose length the user sets. */
static void format_timer(char *buf, size_t cap, const tt_conn_info_t *info, uint64_t now_us)
{
    uint64_t left;

    buf[0] = '\0';
    if (info->expires_us == TT_TIME_NEVER)
        return;
    if (info->state != TT_STATE_TIME_WAIT && info->state != TT_STATE_FIN_WAIT_2)
        return;
    left = info->expires_us > now_us ? info->expires_us - now_us : 0;
    snprintf(buf, cap, " timer:(%s,%" PRIu64 ".%03" PRIu64 "s)",
             info->state == TT_STATE_TIME_WAIT ? "timewait" : "fin_wait_2", left / 1000000,
             left % 1000000 / 1000);
}

/*
 * The sender's state, in `ss -ti`'s units: rto in ms, mss in bytes, cwnd and
 * ssthresh in segments (whole ones), ssthresh left out until the first loss
 * as ss leaves out Linux's infinite one. Nothing for a TIME_WAIT entry.
 */
static void format_sender(char *buf, size_t cap, const tt_conn_info_t *info)
{
    char ssthresh[24] = "";

    buf[0] = '\0';
    if (info->mss == 0)
        return;
    if (info->ssthresh != UINT32_MAX)
        snprintf(ssthresh, sizeof(ssthresh), " ssthresh:%u", info->ssthresh / info->mss);
    snprintf(buf, cap, " rto:%" PRIu64 " mss:%u cwnd:%u%s", info->rto_us / 1000, info->mss,
             info->cwnd / info->mss, ssthresh);
}

/* Drops the padding of an empty last column, and ends the line. */
static void trim_and_end_line(char *buf, size_t cap)
{
    size_t n = strlen(buf);

    while (n > 0 && buf[n - 1] == ' ')
        n--;
    if (n + 1 < cap) {
        buf[n++] = '\n';
        buf[n] = '\0';
    }
}

void tt_report_conn_line(char *buf, size_t cap, const tt_conn_info_t *info, uint64_t now_us)
{
    char local[24], peer[24], sender[80], timer[48];

    format_endpoint(local, sizeof(local), info->laddr, info->lport);
    format_endpoint(peer, sizeof(peer), info->raddr, info->rport);
    format_sender(sender, sizeof(sender), info);
    format_timer(timer, sizeof(timer), info, now_us);
    snprintf(buf, cap, "%-12s %-6u %-6u %-21s %-21s%s%s", tt_state_name(info->state), info->recv_q,
             info->send_q, local, peer, sender, timer);
    trim_and_end_line(buf, cap);
}

struct conn_print_ctx {
    FILE *f;
    uint64_t now_us;
};

static void print_conn(void *ctx, const tt_conn_info_t *info)
{
    const struct conn_print_ctx *pc = ctx;
    char line[256];

    tt_report_conn_line(line, sizeof(line), info, pc->now_us);
    fputs(line, pc->f);
}

void tt_report_print_conn_header(FILE *f)
{
    fprintf(f, "%-12s %-6s %-6s %-21s %-21s %s\n", "State", "Recv-Q", "Send-Q",
            "Local Address:Port", "Peer Address:Port", "Timer");
}

void tt_report_print_conns(FILE *f, const tt_engine_t *eng, uint64_t now_us)
{
    struct conn_print_ctx pc = {f, now_us};

    tt_engine_foreach_conn(eng, print_conn, &pc);
}

void tt_report_print(FILE *f, const tt_engine_t *eng, const struct drv_counters *c, uint64_t now_us)
{
    char sockstat[96];

    print_counters(f, eng, c);
    tt_report_sockstat_line(sockstat, sizeof(sockstat), eng);
    fputs(sockstat, f);
    tt_report_print_conn_header(f);
    tt_report_print_conns(f, eng, now_us);
    fflush(f);
}
