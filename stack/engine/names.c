/*
 * Names for the trace and the statistics: state spellings as docs/contract.md §4 and
 * `ss` print them, close reasons, congestion-control names, error texts, and
 * the counter table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "tuntcp/tuntcp.h"

const char *tt_state_name(tt_state_t state)
{
    static const char *const names[] = {
        "CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
        "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",  "LAST_ACK",     "TIME_WAIT",
    };
    if ((unsigned)state >= sizeof(names) / sizeof(names[0]))
        return "UNKNOWN";
    return names[state];
}

const char *tt_close_reason_name(tt_close_reason_t why)
{
    static const char *const names[] = {
        "none",         "last_ack",        "timewait_expired", "timewait_rst",
        "timewait_syn", "timewait_reused", "tw_overflow",      "fin_timeout",
        "rst_in",       "rst_out",         "timeout",          "refused",
        "app_close",
    };
    if ((unsigned)why >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[why];
}

/* tcp_congestion_control values, as Linux's sysctl takes and prints them. */
static const char *const cc_names[] = {[TT_CC_RENO] = "reno", [TT_CC_CUBIC] = "cubic"};

const char *tt_cc_name(int algo)
{
    if (algo < 0 || (size_t)algo >= sizeof(cc_names) / sizeof(cc_names[0]))
        return "unknown";
    return cc_names[algo];
}

/* strcmp() == 0, which the engine may not call (stack/engine/README.md). */
static bool same_name(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

int tt_cc_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(cc_names) / sizeof(cc_names[0]); i++)
        if (same_name(cc_names[i], name))
            return (int)i;
    return -EINVAL;
}

const char *tt_strerror(int err)
{
    if (err == TT_EOF)
        return "end of file";
    if (err >= 0)
        return "Success";
    return strerror(-err);
}

#define STAT(name)                                                                                 \
    {                                                                                              \
#name, offsetof(tt_stats_t, name)                                                          \
    }

static const tt_stat_desc_t stat_table[] = {
    STAT(TcpActiveOpens),
    STAT(TcpPassiveOpens),
    STAT(TcpAttemptFails),
    STAT(TcpEstabResets),
    STAT(TcpInSegs),
    STAT(TcpOutSegs),
    STAT(TcpRetransSegs),
    STAT(TcpInErrs),
    STAT(TcpOutRsts),
    STAT(TcpInCsumErrors),
    STAT(TcpExtTW),
    STAT(TcpExtTWKilled),
    STAT(TcpExtTWRecycled),
    STAT(TcpExtTCPTimeWaitOverflow),
    STAT(TcpExtTCPChallengeACK),
    STAT(TcpExtTCPAbortOnClose),
    STAT(TcpExtTCPAbortOnData),
    STAT(TcpExtTCPAbortOnTimeout),
    STAT(TcpExtTCPKeepAlive),
    STAT(TcpExtTCPAbortOnLinger),
    STAT(TcpExtTCPTimeouts),
    STAT(TcpExtTCPFinWait2Timeout),
    STAT(TcpExtListenOverflows),
    STAT(TcpExtPAWSEstab),
    STAT(TcpExtTCPACKSkippedTimeWait),
    STAT(TcpExtTCPACKSkippedSeq),
    STAT(TcpExtTCPOFOQueue),
    STAT(TcpExtDelayedACKs),
    STAT(TcpExtTCPLossProbes),
    STAT(TcpExtTCPLossProbeRecovery),
    STAT(TcpExtTCPMD5Unexpected),
    STAT(TcpExtTCPDeliveredCE),
    STAT(IpInReceives),
    STAT(IpInHdrErrors),
    STAT(IpInAddrErrors),
    STAT(IpInUnknownProtos),
    STAT(IpExtInTruncatedPkts),
    STAT(IpExtInCsumErrors),
    STAT(IpReasmFails),
    STAT(IpOutRequests),
    STAT(IcmpInEchos),
    STAT(IcmpOutEchoReps),
    STAT(IcmpInErrors),
    STAT(TcpExtSyncookiesSent),
    STAT(TcpExtSyncookiesRecv),
    STAT(TcpExtSyncookiesFailed),
    STAT(TcpExtListenDrops),
    STAT(TtInBadTcpHdr),
    STAT(TtInBadTcpOpts),
    STAT(TtNoBufs),
};

const tt_stat_desc_t *tt_stats_table(size_t *count)
{
    *count = sizeof(stat_table) / sizeof(stat_table[0]);
    return stat_table;
}
