/*
 * apps/cli.c and apps/cli_values.c: every value parser, docs/contract.md §3.2's defaults,
 * and that every bad value is refused with CLI_USAGE (exit 2) and a message
 * naming its flag.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"

#define MS 1000ULL
#define SEC 1000000ULL

/* argv storage that outlives cli_parse, since cli_opts keeps pointers into it. */
struct run {
    char buf[2048];
    char *argv[128];
    char out[16384], err[8192]; /* the whole --help, which has grown past 8 KiB */
    struct cli_opts o;
};

static struct run R;

static void capture(FILE *f, char *dst, size_t cap)
{
    size_t n;

    rewind(f);
    n = fread(dst, 1, cap - 1, f);
    dst[n] = '\0';
    fclose(f);
}

/* Parses the space-separated args as app's command line; returns the cli_result. */
static int parse(enum cli_app app, const char *args)
{
    FILE *out = tmpfile(), *err = tmpfile();
    int argc = 0, rc;

    assert_non_null(out);
    assert_non_null(err);
    snprintf(R.buf, sizeof(R.buf), "%s", args);
    R.argv[argc++] = app == CLI_ECHO_SERVER ? "echo-server" : "echo-client";
    for (char *t = strtok(R.buf, " "); t != NULL; t = strtok(NULL, " ")) {
        assert_true(argc + 1 < (int)(sizeof(R.argv) / sizeof(R.argv[0])));
        R.argv[argc++] = t;
    }
    R.argv[argc] = NULL;
    cli_free(&R.o); /* the previous parse's --send/--expect files */
    rc = cli_parse(&R.o, app, argc, R.argv, out, err);
    capture(out, R.out, sizeof(R.out));
    capture(err, R.err, sizeof(R.err));
    return rc;
}

/* A bad command line: exit 2, and the message names the flag. */
static void expect_usage(enum cli_app app, const char *args, const char *needle)
{
    if (parse(app, args) != CLI_USAGE || strstr(R.err, needle) == NULL)
        fail_msg("'%s': expected a usage error naming '%s', got: %s", args, needle, R.err);
}

static void durations_accept_units_and_bare_seconds(void **state)
{
    uint64_t us = 0;

    assert_int_equal(tt_duration_parse("30", &us), 0);
    assert_int_equal(us, 30 * SEC);
    assert_int_equal(tt_duration_parse("30s", &us), 0);
    assert_int_equal(us, 30 * SEC);
    assert_int_equal(tt_duration_parse("500ms", &us), 0);
    assert_int_equal(us, 500 * MS);
    assert_int_equal(tt_duration_parse("2m", &us), 0);
    assert_int_equal(us, 120 * SEC);
    assert_int_equal(tt_duration_parse("0", &us), 0);
    assert_int_equal(us, 0);
    assert_int_equal(tt_duration_parse("007ms", &us), 0);
    assert_int_equal(us, 7 * MS);
    assert_int_equal(tt_duration_parse("4294967295", &us), 0);
    assert_int_equal(us, 4294967295ULL * SEC);
}

static void durations_refuse_everything_else(void **state)
{
    static const char *const bad[] = {"",    "s",   "ms",  "-1",  "+1",   "1.5s", "10 s",
                                      " 10", "10h", "10S", "1sx", "10us", "1e3",  "0x10"};
    uint64_t us = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (tt_duration_parse(bad[i], &us) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    }
    assert_int_equal(us, 42);
    assert_int_equal(tt_duration_parse("4294967296", &us), -ERANGE);
    assert_int_equal(tt_duration_parse("71582789m", &us), -ERANGE);
    assert_int_equal(tt_duration_parse("99999999999999999999999", &us), -ERANGE);
}

static void ipv4_dotted_quads(void **state)
{
    static const char *const bad[] = {"",           "1.2.3",    "1.2.3.4.5",  "256.0.0.1",
                                      "1.2.3.4 ",   " 1.2.3.4", "a.b.c.d",    "1..2.3",
                                      "1.2.3.0004", "1.2.3.-4", "1.2.3.4/24", "1.2.3.4:7"};
    uint32_t a = 0;

    assert_int_equal(cli_parse_ipv4("10.7.0.2", &a), 0);
    assert_int_equal(a, 0x0a070002);
    assert_int_equal(cli_parse_ipv4("255.255.255.255", &a), 0);
    assert_int_equal(a, 0xffffffffu);
    assert_int_equal(cli_parse_ipv4("0.0.0.0", &a), 0);
    assert_int_equal(a, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cli_parse_ipv4(bad[i], &a) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    }
}

static void ipv4_with_prefix_length(void **state)
{
    static const char *const bad[] = {"10.7.0.1", "10.7.0.1/", "10.7.0.1/33", "10.7.0.1/2a",
                                      "/24",      "10.7.0/24", "10.7.0.1/-1", "10.7.0.1/024"};
    uint32_t a = 0;
    uint8_t len = 0;

    assert_int_equal(cli_parse_prefix("10.7.0.1/24", &a, &len), 0);
    assert_int_equal(a, 0x0a070001);
    assert_int_equal(len, 24);
    assert_int_equal(cli_parse_prefix("192.168.1.1/32", &a, &len), 0);
    assert_int_equal(len, 32);
    assert_int_equal(cli_parse_prefix("10.0.0.1/0", &a, &len), 0);
    assert_int_equal(len, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cli_parse_prefix(bad[i], &a, &len) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    }
}

static void ipv4_with_port(void **state)
{
    static const char *const bad[] = {"10.7.0.1", "10.7.0.1:",   "10.7.0.1:0",  "10.7.0.1:65536",
                                      ":7",       "10.7.0.1:7x", "10.7.0.1:-7", "10.7.0.1/7"};
    uint32_t a = 0;
    uint16_t p = 0;

    assert_int_equal(cli_parse_hostport("10.7.0.1:7", &a, &p), 0);
    assert_int_equal(a, 0x0a070001);
    assert_int_equal(p, 7);
    assert_int_equal(cli_parse_hostport("1.2.3.4:65535", &a, &p), 0);
    assert_int_equal(p, 65535);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cli_parse_hostport(bad[i], &a, &p) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    }
}

static void port_ranges(void **state)
{
    static const char *const bad[] = {"0-5", "5-3",  "1-65536", "1-",    "-5",  "1:5",
                                      "a-b", "1-5 ", "",        "32768", "1--5"};
    uint16_t lo = 0, hi = 0;

    assert_int_equal(cli_parse_range("32768-60999", &lo, &hi), 0);
    assert_int_equal(lo, 32768);
    assert_int_equal(hi, 60999);
    assert_int_equal(cli_parse_range("1-1", &lo, &hi), 0);
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 1);
    assert_int_equal(cli_parse_range("1-65535", &lo, &hi), 0);
    assert_int_equal(hi, 65535);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cli_parse_range(bad[i], &lo, &hi) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    }
}

static void integers_and_flags01(void **state)
{
    uint64_t v = 0;
    int b = -1;

    assert_int_equal(cli_parse_uint("0", 0, 10, &v), 0);
    assert_int_equal(cli_parse_uint("10", 0, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(cli_parse_uint("11", 0, 10, &v), -ERANGE);
    assert_int_equal(cli_parse_uint("0", 1, 10, &v), -ERANGE);
    assert_int_equal(cli_parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(cli_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
    assert_int_equal(cli_parse_uint("-1", 0, 10, &v), -EINVAL);
    assert_int_equal(cli_parse_uint("1k", 0, 10000, &v), -EINVAL);
    assert_int_equal(cli_parse_uint("", 0, 10, &v), -EINVAL);
    assert_int_equal(cli_parse_bool01("0", &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(cli_parse_bool01("1", &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(cli_parse_bool01("2", &b), -EINVAL);
    assert_int_equal(cli_parse_bool01("10", &b), -EINVAL);
    assert_int_equal(cli_parse_bool01("", &b), -EINVAL);
    assert_int_equal(cli_parse_bool01("yes", &b), -EINVAL);
}

static void defaults_are_spec_section_3(void **state)
{
    const tt_config_t *e = &R.o.drv.engine;

    assert_int_equal(parse(CLI_ECHO_SERVER, ""), CLI_RUN);
    assert_string_equal(R.o.drv.tun_name, "tt0");
    assert_int_equal(e->addr, 0x0a070002);
    assert_int_equal(R.o.drv.host_addr, 0x0a070001);
    assert_int_equal(R.o.drv.host_prefix, 24);
    assert_false(R.o.drv.no_config);
    assert_int_equal(e->mtu, 1500);
    assert_int_equal(e->msl_us, 30 * SEC);
    assert_int_equal(e->fin_timeout_us, 60 * SEC);
    assert_int_equal(e->tcp_rfc1337, 0);
    assert_int_equal(e->tcp_tw_reuse, 2); /* Linux's default: loopback only */
    assert_int_equal(e->tw_reuse_delay_us, 1000 * MS);
    assert_int_equal(e->tcp_max_tw_buckets, 262144);
    assert_int_equal(e->tcp_syncookies, 1);
    assert_int_equal(e->tcp_max_syn_backlog, 4096);
    assert_int_equal(e->tcp_orphan_retries, 0);
    assert_int_equal(e->tcp_early_retrans, 3);
    assert_int_equal(e->tcp_notsent_lowat, UINT32_MAX); /* Linux: off */
    assert_int_equal(e->tcp_recovery, 1);
    assert_int_equal(e->tcp_slow_start_after_idle, 1); /* Linux's defaults */
    assert_int_equal(e->tcp_min_tso_segs, 2);
    assert_int_equal(e->tcp_ecn, 2);    /* Linux: accept ECN, never ask */
    assert_int_equal(e->tcp_pacing, 0); /* Linux paces only under fq */
    assert_int_equal(e->tcp_pacing_ss_ratio, 200);
    assert_int_equal(e->tcp_pacing_ca_ratio, 120);
    assert_int_equal(e->tcp_timestamps, 1);
    assert_int_equal(e->tcp_congestion_control, TT_CC_CUBIC); /* Linux's default */
    assert_int_equal(e->invalid_ratelimit_us, 500 * MS);
    assert_int_equal(e->port_lo, 32768);
    assert_int_equal(e->port_hi, 60999);
    assert_false(R.o.linger_on);
    assert_null(R.o.drv.pcap_path);
    assert_false(R.o.drv.pcapng);
    assert_null(R.o.drv.trace_path);
    assert_int_equal(R.o.drv.fault_count, 0);
    assert_false(R.o.drv.seed_set);
    assert_int_equal(R.o.port, 7);
    assert_int_equal(R.o.close_after, 0);
    assert_int_equal(R.o.max_conns, 0);
}

static void client_defaults(void **state)
{
    assert_int_equal(parse(CLI_ECHO_CLIENT, ""), CLI_RUN);
    assert_int_equal(R.o.raddr, 0x0a070001);
    assert_int_equal(R.o.rport, 7);
    assert_int_equal(R.o.count, 1);
    assert_int_equal(R.o.concurrency, 1);
    assert_int_equal(R.o.bytes, 64);
    assert_false(R.o.close_wait);
    assert_false(R.o.wait_timewait);
    assert_int_equal(R.o.connect_timeout_us, 0); /* none: the SYN retries decide */
    assert_int_equal(R.o.timeout_us, 0);
    assert_null(R.o.send.data); /* the pattern of --bytes, checked */
    assert_null(R.o.expect.data);
}

/* A file for --send @FILE / --expect @FILE; returns its path. */
static const char *payload_file(const void *data, size_t len)
{
    static char path[] = "/tmp/drv_test_cli_payload_XXXXXX";
    int fd;

    strcpy(path + strlen(path) - 6, "XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

static void payload_flags(void **state)
{
    static const uint8_t bin[] = {'G', 'E', 'T', 0, '\r', '\n', 0xff};
    char args[128];
    const char *path = payload_file(bin, sizeof(bin));

    assert_int_equal(parse(CLI_ECHO_CLIENT, "--send hello"), CLI_RUN);
    assert_int_equal(R.o.send.len, 5);
    assert_memory_equal(R.o.send.data, "hello", 5);
    assert_null(R.o.expect.data);
    snprintf(args, sizeof(args), "--send @%s --expect @%s --send x", path, path);
    assert_int_equal(parse(CLI_ECHO_CLIENT, args), CLI_RUN); /* the last --send wins */
    assert_int_equal(R.o.send.len, 1);
    assert_int_equal(R.o.expect.len, sizeof(bin)); /* bytes as they are, NULs included */
    assert_memory_equal(R.o.expect.data, bin, sizeof(bin));
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--bytes 3 --expect abc"), CLI_RUN);
    assert_int_equal(R.o.expect.len, 3);
    unlink(path);
    snprintf(args, sizeof(args), "--send @%s", path);
    expect_usage(CLI_ECHO_CLIENT, args, "No such file or directory");
    expect_usage(CLI_ECHO_CLIENT, args, "--send: cannot read '/tmp/drv_test_cli_payload_");
    expect_usage(CLI_ECHO_CLIENT, "--expect @/", "--expect: cannot read '/'");
    expect_usage(CLI_ECHO_CLIENT, "--send x --bytes 10", "--send: the payload replaces --bytes");
    expect_usage(CLI_ECHO_SERVER, "--send x", "--send is an option of echo-client");
}

/* --pcapng only says how --pcap FILE is written (docs/contract.md §5.1). */
static void pcapng_flag(void **state)
{
    (void)state;
    assert_int_equal(parse(CLI_ECHO_SERVER, "--pcap a.cap --pcapng"), CLI_RUN);
    assert_string_equal(R.o.drv.pcap_path, "a.cap");
    assert_true(R.o.drv.pcapng);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--pcapng --pcap b.pcapng"), CLI_RUN);
    assert_true(R.o.drv.pcapng);
    expect_usage(CLI_ECHO_CLIENT, "--pcapng", "--pcapng: says how to write --pcap FILE");
    expect_usage(CLI_ECHO_SERVER, "--pcapng=1 --pcap a", "--pcapng");
}

/* --tcp-congestion-control takes Linux's names, nothing else. */
static void congestion_control_flag(void **state)
{
    (void)state;
    assert_int_equal(parse(CLI_ECHO_SERVER, "--tcp-congestion-control reno"), CLI_RUN);
    assert_int_equal(R.o.drv.engine.tcp_congestion_control, TT_CC_RENO);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--tcp-congestion-control=cubic"), CLI_RUN);
    assert_int_equal(R.o.drv.engine.tcp_congestion_control, TT_CC_CUBIC);
    expect_usage(CLI_ECHO_CLIENT, "--tcp-congestion-control bbr",
                 "--tcp-congestion-control: invalid value 'bbr' (expected cubic or reno)");
    expect_usage(CLI_ECHO_SERVER, "--tcp-congestion-control 1", "expected cubic or reno");
    expect_usage(CLI_ECHO_SERVER, "--tcp-congestion-control Cubic", "expected cubic or reno");
}

static void common_flags_are_stored(void **state)
{
    const tt_config_t *e = &R.o.drv.engine;

    assert_int_equal(parse(CLI_ECHO_SERVER,
                           "--tun lab0 --addr 10.9.0.2 --host 10.9.0.1/16 --mtu 9000 --msl 250ms "
                           "--tcp-fin-timeout 2m --tcp-rfc1337 1 --tcp-tw-reuse 1 "
                           "--tcp-tw-reuse-delay 1500ms "
                           "--tcp-max-tw-buckets 0 --tcp-timestamps 0 --tcp-invalid-ratelimit 0 "
                           "--tcp-syncookies 0 --tcp-max-syn-backlog 16 --tcp-orphan-retries 3 "
                           "--tcp-early-retrans 0 --tcp-notsent-lowat 16384 --tcp-recovery 4 "
                           "--tcp-slow-start-after-idle 0 --tcp-min-tso-segs 10 --tcp-ecn 1 "
                           "--tcp-pacing 1 --tcp-pacing-ss-ratio 150 --tcp-pacing-ca-ratio 90 "
                           "--ip-local-port-range 40000-40009 --pcap a.pcap --trace - --seed 7 "
                           "-v -v -q"),
                     CLI_RUN);
    assert_string_equal(R.o.drv.tun_name, "lab0");
    assert_int_equal(e->addr, 0x0a090002);
    assert_int_equal(R.o.drv.host_addr, 0x0a090001);
    assert_int_equal(R.o.drv.host_prefix, 16);
    assert_int_equal(e->mtu, 9000);
    assert_int_equal(e->msl_us, 250 * MS);
    assert_int_equal(e->fin_timeout_us, 120 * SEC);
    assert_int_equal(e->tcp_rfc1337, 1);
    assert_int_equal(e->tcp_tw_reuse, 1);
    assert_int_equal(e->tw_reuse_delay_us, 1500 * MS);
    assert_int_equal(e->tcp_max_tw_buckets, 0);
    assert_int_equal(e->tcp_syncookies, 0);
    assert_int_equal(e->tcp_max_syn_backlog, 16);
    assert_int_equal(e->tcp_orphan_retries, 3);
    assert_int_equal(e->tcp_early_retrans, 0);
    assert_int_equal(e->tcp_notsent_lowat, 16384);
    assert_int_equal(e->tcp_recovery, 4);
    assert_int_equal(e->tcp_slow_start_after_idle, 0);
    assert_int_equal(e->tcp_min_tso_segs, 10);
    assert_int_equal(e->tcp_ecn, 1);
    assert_int_equal(e->tcp_pacing, 1);
    assert_int_equal(e->tcp_pacing_ss_ratio, 150);
    assert_int_equal(e->tcp_pacing_ca_ratio, 90);
    assert_int_equal(e->tcp_timestamps, 0);
    assert_int_equal(e->invalid_ratelimit_us, 0);
    assert_int_equal(e->port_lo, 40000);
    assert_int_equal(e->port_hi, 40009);
    assert_string_equal(R.o.drv.pcap_path, "a.pcap");
    assert_false(R.o.drv.pcapng);
    assert_string_equal(R.o.drv.trace_path, "-");
    assert_true(R.o.drv.seed_set);
    assert_int_equal(R.o.drv.seed, 7);
    assert_int_equal(R.o.verbose, 2);
    assert_true(R.o.quiet);
}

/* --ctl PATH, --no-ctl (docs/contract.md §10.1), and --user giving the socket to the user. */
static void control_socket_flags(void **state)
{
    (void)state;
    assert_int_equal(parse(CLI_ECHO_SERVER, ""), CLI_RUN);
    assert_null(R.o.drv.ctl_path);
    assert_false(R.o.drv.no_ctl);
    assert_false(R.o.drv.ctl_chown);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--ctl /tmp/x.ctl"), CLI_RUN);
    assert_string_equal(R.o.drv.ctl_path, "/tmp/x.ctl");
    assert_int_equal(parse(CLI_ECHO_SERVER, "--no-ctl"), CLI_RUN);
    assert_true(R.o.drv.no_ctl);
    assert_int_equal(parse(CLI_ECHO_SERVER, "--user root"), CLI_RUN);
    assert_true(R.o.drv.ctl_chown);
    assert_int_equal(R.o.drv.ctl_uid, 0);
    expect_usage(CLI_ECHO_SERVER, "--ctl /tmp/x.ctl --no-ctl", "--ctl");
    expect_usage(CLI_ECHO_SERVER, "--no-ctl x", "unexpected argument");
}

static void app_flags_are_stored(void **state)
{
    assert_int_equal(parse(CLI_ECHO_SERVER, "--port 7007 --close-after 64 --max-conns 3"), CLI_RUN);
    assert_int_equal(R.o.port, 7007);
    assert_int_equal(R.o.close_after, 64);
    assert_int_equal(R.o.max_conns, 3);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--connect 10.7.0.1:9 --count 100 --concurrency 10 "
                                            "--bytes 0 --close-wait --wait-timewait"),
                     CLI_RUN);
    assert_int_equal(R.o.raddr, 0x0a070001);
    assert_int_equal(R.o.rport, 9);
    assert_int_equal(R.o.count, 100);
    assert_int_equal(R.o.concurrency, 10);
    assert_int_equal(R.o.bytes, 0);
    assert_true(R.o.close_wait);
    assert_true(R.o.wait_timewait);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--bytes=1000 --count=2"), CLI_RUN);
    assert_int_equal(R.o.bytes, 1000);
    assert_int_equal(R.o.count, 2);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--connect-timeout 300ms --timeout 2"), CLI_RUN);
    assert_int_equal(R.o.connect_timeout_us, 300 * MS);
    assert_int_equal(R.o.timeout_us, 2 * SEC);
    assert_int_equal(R.o.rport, 7); /* --connect-timeout is not --connect */
}

/* Repeatable --connect (echo-client) and --port (echo-server): the first replaces the default. */
static void endpoints_are_repeatable(void **state)
{
    assert_int_equal(parse(CLI_ECHO_CLIENT, ""), CLI_RUN);
    assert_int_equal(R.o.ndests, 1);
    assert_int_equal(R.o.dests[0].addr, 0x0a070001);
    assert_int_equal(R.o.dests[0].port, 7);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--connect 10.7.0.1:8 --connect 10.7.0.3:9"), CLI_RUN);
    assert_int_equal(R.o.ndests, 2);
    assert_int_equal(R.o.dests[0].port, 8);
    assert_int_equal(R.o.dests[1].addr, 0x0a070003);
    assert_int_equal(R.o.dests[1].port, 9);
    assert_int_equal(R.o.raddr, 0x0a070001); /* raddr/rport: the first */
    assert_int_equal(R.o.rport, 8);

    char args[1024] = "";
    for (int i = 0; i < CLI_MAX_ENDPOINTS; i++)
        snprintf(args + strlen(args), sizeof(args) - strlen(args), "--connect 10.7.0.1:%d ", i + 1);
    assert_int_equal(parse(CLI_ECHO_CLIENT, args), CLI_RUN);
    assert_int_equal(R.o.ndests, CLI_MAX_ENDPOINTS);
    strcat(args, "--connect 10.7.0.1:99");
    expect_usage(CLI_ECHO_CLIENT, args, "--connect: too many destinations (at most 16)");

    assert_int_equal(parse(CLI_ECHO_SERVER, ""), CLI_RUN);
    assert_int_equal(R.o.nports, 1);
    assert_int_equal(R.o.ports[0], 7);
    assert_int_equal(parse(CLI_ECHO_SERVER, "--port 8 --port 7"), CLI_RUN);
    assert_int_equal(R.o.nports, 2);
    assert_int_equal(R.o.ports[0], 8);
    assert_int_equal(R.o.ports[1], 7);
    assert_int_equal(R.o.port, 8);
    expect_usage(CLI_ECHO_SERVER, "--port 8 --port 8", "--port: port 8 given twice");
    expect_usage(CLI_ECHO_SERVER, "--port 8 --port 0", "--port");
    args[0] = '\0';
    for (int i = 0; i <= CLI_MAX_ENDPOINTS; i++)
        snprintf(args + strlen(args), sizeof(args) - strlen(args), "--port %d ", i + 1);
    expect_usage(CLI_ECHO_SERVER, args, "--port: too many ports (at most 16)");
}

/* Keep-alive, retries and the user timeout: Linux's defaults, stored, refused
 * outside Linux's limits (docs/contract.md §3.2). */
static void keepalive_flags(void **state)
{
    const tt_config_t *e = &R.o.drv.engine;

    assert_int_equal(parse(CLI_ECHO_SERVER, ""), CLI_RUN);
    assert_int_equal(e->keepalive_time_us, 7200 * SEC);
    assert_int_equal(e->keepalive_intvl_us, 75 * SEC);
    assert_int_equal(e->keepalive_probes, 9);
    assert_int_equal(e->retries2, 15);
    assert_false(R.o.keepalive);
    assert_false(R.o.nodelay); /* Nagle on, as Linux */
    assert_int_equal(R.o.user_timeout_us, 0);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--keepalive --tcp-keepalive-time 2s "
                                            "--tcp-keepalive-intvl 1500ms --tcp-keepalive-probes 4 "
                                            "--tcp-retries2 8 --user-timeout 2500ms"),
                     CLI_RUN);
    assert_true(R.o.keepalive);
    assert_int_equal(e->keepalive_time_us, 2 * SEC);
    assert_int_equal(e->keepalive_intvl_us, 1500 * MS);
    assert_int_equal(e->keepalive_probes, 4);
    assert_int_equal(e->retries2, 8);
    assert_int_equal(R.o.user_timeout_us, 2500 * MS);
    expect_usage(CLI_ECHO_SERVER, "--tcp-keepalive-time 500ms", "at least 1s, at most 32767s");
    expect_usage(CLI_ECHO_SERVER, "--tcp-keepalive-intvl 32768s", "at most 32767s");
    expect_usage(CLI_ECHO_SERVER, "--tcp-keepalive-probes 0", "--tcp-keepalive-probes");
    expect_usage(CLI_ECHO_SERVER, "--tcp-keepalive-probes 128", "--tcp-keepalive-probes");
    expect_usage(CLI_ECHO_SERVER, "--tcp-retries2 0", "--tcp-retries2");
    expect_usage(CLI_ECHO_SERVER, "--user-timeout 0", "--user-timeout");
    expect_usage(CLI_ECHO_SERVER, "--keepalive=1", "--keepalive");
    assert_int_equal(parse(CLI_ECHO_SERVER, "--nodelay"), CLI_RUN);
    assert_true(R.o.nodelay);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--nodelay"), CLI_RUN);
    assert_true(R.o.nodelay);
    expect_usage(CLI_ECHO_CLIENT, "--nodelay=1", "--nodelay");
}

/* The load generator's flags: stored, and refused out of range. */
static void load_flags(void **state)
{
    assert_int_equal(parse(CLI_ECHO_CLIENT, ""), CLI_RUN);
    assert_int_equal(R.o.rate, 0);
    assert_int_equal(R.o.duration_us, 0);
    assert_int_equal(R.o.hold_us, 0);
    assert_null(R.o.json_path);
    assert_false(R.o.count_set);
    assert_false(R.o.concurrency_set);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--rate 300 --duration 2s --hold 250ms --json - "
                                            "--count 5 --concurrency 3"),
                     CLI_RUN);
    assert_int_equal(R.o.rate, 300);
    assert_int_equal(R.o.duration_us, 2 * SEC);
    assert_int_equal(R.o.hold_us, 250 * MS);
    assert_string_equal(R.o.json_path, "-");
    assert_true(R.o.count_set);
    assert_true(R.o.concurrency_set);
    assert_int_equal(parse(CLI_ECHO_SERVER, "--hold 1s"), CLI_RUN);
    assert_int_equal(R.o.hold_us, SEC);
    expect_usage(CLI_ECHO_CLIENT, "--rate 0", "--rate");
    expect_usage(CLI_ECHO_CLIENT, "--rate 1000001", "--rate");
    expect_usage(CLI_ECHO_CLIENT, "--rate 1.5", "--rate");
    expect_usage(CLI_ECHO_CLIENT, "--duration 0", "--duration");
    expect_usage(CLI_ECHO_CLIENT, "--duration 2x", "--duration");
    expect_usage(CLI_ECHO_CLIENT, "--hold -1s", "--hold");
    expect_usage(CLI_ECHO_CLIENT, "--json", "--json: a value is required");
    expect_usage(CLI_ECHO_CLIENT, "--json=", "--json: empty value");
    expect_usage(CLI_ECHO_SERVER, "--rate 5", "--rate is an option of echo-client");
    expect_usage(CLI_ECHO_SERVER, "--json x", "--json is an option of echo-client");
}

static void linger_flags(void **state)
{
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--linger0"), CLI_RUN);
    assert_true(R.o.linger_on);
    assert_int_equal(R.o.linger_s, 0);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--linger 5"), CLI_RUN);
    assert_true(R.o.linger_on);
    assert_int_equal(R.o.linger_s, 5);
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--linger 5 --linger0"), CLI_RUN); /* last wins */
    assert_int_equal(R.o.linger_s, 0);
    expect_usage(CLI_ECHO_CLIENT, "--linger 5s", "--linger");
    expect_usage(CLI_ECHO_CLIENT, "--linger -1", "--linger");
}

static void faults_are_checked_and_collected(void **state)
{
    char args[2048] = "";

    assert_int_equal(parse(CLI_ECHO_SERVER, "--fault drop:out:ack:state=TIME_WAIT:nth=1 "
                                            "--fault dup:in:fin --fault delay=200ms:out:fin"),
                     CLI_RUN);
    assert_int_equal(R.o.drv.fault_count, 3);
    assert_ptr_equal(R.o.drv.faults, R.o.faults);
    assert_string_equal(R.o.faults[1], "dup:in:fin");
    expect_usage(CLI_ECHO_SERVER, "--fault drop:sideways:ack", "--fault");
    expect_usage(CLI_ECHO_SERVER, "--fault drop:sideways:ack", "sideways");
    for (int i = 0; i <= TT_FAULT_MAX; i++)
        strcat(args, "--fault drop:in:syn ");
    expect_usage(CLI_ECHO_SERVER, args, "too many");
}

/* docs/contract.md §3.7: --inject specs are checked at start (exit 2) and collected. */
static void injects_are_checked_and_collected(void **state)
{
    char args[2048] = "";

    assert_int_equal(parse(CLI_ECHO_SERVER, "--inject time_wait+200ms:rst "
                                            "--inject 2s:data:seq=rcv-100:len=10:port=7"),
                     CLI_RUN);
    assert_int_equal(R.o.drv.inject_count, 2);
    assert_ptr_equal(R.o.drv.injects, R.o.injects);
    assert_string_equal(R.o.injects[0], "time_wait+200ms:rst");
    expect_usage(CLI_ECHO_CLIENT, "--inject time_wiat+1s:rst", "unknown state 'time_wiat'");
    expect_usage(CLI_ECHO_CLIENT, "--inject 1s:syn", "--inject '1s:syn': unknown kind 'syn'");
    expect_usage(CLI_ECHO_CLIENT, "--inject 1s:rst:seq=rcv*2", "bad seq");
    expect_usage(CLI_ECHO_CLIENT, "--inject 1s:data:len=1461", "len=1461 does not fit the MTU");
    expect_usage(CLI_ECHO_CLIENT, "--mtu 100 --inject 1s:data:len=61", "at most len=60");
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--mtu 100 --inject 1s:data:len=60"), CLI_RUN);
    for (int i = 0; i <= TT_INJECT_MAX; i++)
        strcat(args, "--inject 1s:rst ");
    expect_usage(CLI_ECHO_SERVER, args, "too many");
}

static void bad_values_name_their_flag(void **state)
{
    static const char *const bad[][2] = {
        {"--tun abcdefghijklmnop", "--tun"},
        {"--addr 10.7.0.256", "--addr"},
        {"--host 10.7.0.1", "--host"},
        {"--host 10.7.0.1/33", "--host"},
        {"--mtu 67", "--mtu"},
        {"--mtu 65536", "--mtu"},
        {"--mtu 1500b", "--mtu"},
        {"--msl 0", "--msl"},
        {"--msl 1.5s", "--msl"},
        {"--msl 30h", "--msl"},
        {"--tcp-fin-timeout x", "--tcp-fin-timeout"},
        {"--tcp-rfc1337 2", "--tcp-rfc1337"},
        {"--tcp-tw-reuse yes", "--tcp-tw-reuse"},
        {"--tcp-tw-reuse 3", "--tcp-tw-reuse"},
        {"--tcp-tw-reuse-delay 0ms", "--tcp-tw-reuse-delay"},
        {"--tcp-tw-reuse-delay 1.5s", "--tcp-tw-reuse-delay"},
        {"--tcp-max-tw-buckets -1", "--tcp-max-tw-buckets"},
        {"--tcp-max-tw-buckets 4294967296", "--tcp-max-tw-buckets"},
        {"--tcp-timestamps on", "--tcp-timestamps"},
        {"--tcp-syncookies 2", "--tcp-syncookies"},
        {"--tcp-max-syn-backlog 0", "--tcp-max-syn-backlog"},
        {"--tcp-orphan-retries -1", "--tcp-orphan-retries"},
        {"--tcp-orphan-retries 2147483648", "--tcp-orphan-retries"},
        {"--tcp-orphan-retries eight", "--tcp-orphan-retries"},
        {"--tcp-early-retrans 5", "--tcp-early-retrans"},
        {"--tcp-notsent-lowat 4294967296", "--tcp-notsent-lowat"},
        {"--tcp-recovery 8", "--tcp-recovery"},
        {"--tcp-slow-start-after-idle 2", "--tcp-slow-start-after-idle"},
        {"--tcp-min-tso-segs 0", "--tcp-min-tso-segs"},
        {"--tcp-ecn 3", "--tcp-ecn"},
        {"--tcp-pacing 2", "--tcp-pacing"},
        {"--tcp-pacing-ss-ratio 1001", "--tcp-pacing-ss-ratio"},
        {"--tcp-invalid-ratelimit 1.0", "--tcp-invalid-ratelimit"},
        {"--ip-local-port-range 60999-32768", "--ip-local-port-range"},
        {"--seed abc", "--seed"},
        {"--pcap=", "--pcap"},
        {"--port 0", "--port"},
        {"--port 65536", "--port"},
        {"--close-after -5", "--close-after"},
        {"--max-conns many", "--max-conns"},
        {"--msl", "--msl"},
        {"--no-config=1", "--no-config"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_usage(CLI_ECHO_SERVER, bad[i][0], bad[i][1]);
    expect_usage(CLI_ECHO_CLIENT, "--connect 10.7.0.1", "--connect");
    expect_usage(CLI_ECHO_CLIENT, "--count 0", "--count");
    expect_usage(CLI_ECHO_CLIENT, "--concurrency 0", "--concurrency");
    expect_usage(CLI_ECHO_CLIENT, "--bytes 1KB", "--bytes");
    expect_usage(CLI_ECHO_CLIENT, "--timeout 0", "--timeout");
    expect_usage(CLI_ECHO_CLIENT, "--timeout 1.5s", "--timeout");
    expect_usage(CLI_ECHO_CLIENT, "--connect-timeout 0ms", "--connect-timeout");
    expect_usage(CLI_ECHO_CLIENT, "--connect-timeout 5x", "--connect-timeout");
    expect_usage(CLI_ECHO_SERVER, "--timeout 1s", "--timeout is an option of echo-client");
}

static void unknown_and_misplaced_flags(void **state)
{
    expect_usage(CLI_ECHO_SERVER, "--frobnicate", "unknown option '--frobnicate'");
    expect_usage(CLI_ECHO_SERVER, "-x", "unknown option '-x'");
    expect_usage(CLI_ECHO_SERVER, "--count 3", "--count is an option of echo-client");
    expect_usage(CLI_ECHO_CLIENT, "--port 7", "--port is an option of echo-server");
    expect_usage(CLI_ECHO_CLIENT, "--tcp 1", "ambiguous option '--tcp'");
    expect_usage(CLI_ECHO_CLIENT, "stray", "unexpected argument 'stray'");
    assert_non_null(strstr(R.err, "Try 'echo-client --help'"));
}

static void addresses_must_be_consistent(void **state)
{
    expect_usage(CLI_ECHO_SERVER, "--addr 10.7.0.1", "--addr");
    expect_usage(CLI_ECHO_SERVER, "--addr 10.8.0.2", "outside --host");
    assert_int_equal(parse(CLI_ECHO_SERVER, "--addr 10.8.0.2 --no-config"), CLI_RUN);
    assert_int_equal(parse(CLI_ECHO_SERVER, "--addr 10.8.0.2 --host 10.8.0.1/24"), CLI_RUN);
}

/* The options that a default value sets: what `--flag DEFAULT` must leave as it was. */
static void expect_same_settings(const struct cli_opts *a, const struct cli_opts *b,
                                 const char *flag)
{
    if (memcmp(&a->drv.engine, &b->drv.engine, sizeof(a->drv.engine)) != 0 ||
        strcmp(a->drv.tun_name, b->drv.tun_name) != 0 || a->drv.host_addr != b->drv.host_addr ||
        a->drv.host_prefix != b->drv.host_prefix || a->port != b->port ||
        a->close_after != b->close_after || a->max_conns != b->max_conns || a->raddr != b->raddr ||
        a->rport != b->rport || a->count != b->count || a->concurrency != b->concurrency ||
        a->bytes != b->bytes || a->connect_timeout_us != b->connect_timeout_us ||
        a->timeout_us != b->timeout_us || a->send.data != b->send.data ||
        a->expect.data != b->expect.data || a->hold_us != b->hold_us || a->rate != b->rate ||
        a->duration_us != b->duration_us || a->json_path != b->json_path ||
        a->ndests != b->ndests || a->nports != b->nports)
        fail_msg("--help says %s has a default the program does not use", flag);
}

/* Checks every "(default V)" of one app's --help: giving `--flag V` must change nothing. */
static int check_help_defaults(enum cli_app app)
{
    static char help[sizeof(R.out)];
    static struct cli_opts defaults;
    char flag[64] = "", args[160];
    int checked = 0;

    assert_int_equal(parse(app, "--help"), CLI_DONE);
    snprintf(help, sizeof(help), "%s", R.out);
    assert_int_equal(parse(app, ""), CLI_RUN);
    defaults = R.o;
    for (char *line = help, *next; line; line = next) { /* not strtok: parse() uses it */
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, "  --", 4) == 0)
            sscanf(line + 2, "%63s", flag);
        const char *d = strstr(line, "(default ");
        if (!d || !flag[0])
            continue;
        char value[64];
        if (sscanf(d + 9, "%63[^,;) ]", value) != 1)
            continue;
        size_t n = strlen(value);
        if (value[n - 1] == ':') /* "(default 0: echo until ...)" */
            value[n - 1] = '\0';
        snprintf(args, sizeof(args), "%s %s", flag, value);
        int rc = parse(app, args);
        if (rc != CLI_RUN)
            fail_msg("--help's default for %s does not parse: '%s'", flag, args);
        expect_same_settings(&defaults, &R.o, flag);
        checked++;
    }
    return checked;
}

/* The defaults live in tt_config_init() and cli_defaults(); --help states
 * them in words, and this keeps the two from drifting apart. */
static void help_defaults_are_the_defaults(void **state)
{
    assert_true(check_help_defaults(CLI_ECHO_SERVER) >= 16);
    assert_true(check_help_defaults(CLI_ECHO_CLIENT) >= 19);
}

static void help_and_version_go_to_stdout(void **state)
{
    assert_int_equal(parse(CLI_ECHO_SERVER, "--help"), CLI_DONE);
    assert_non_null(strstr(R.out, "Usage: echo-server"));
    assert_non_null(strstr(R.out, "--close-after"));
    assert_non_null(strstr(R.out, "--fault ACTION:DIR:MATCH"));
    assert_non_null(strstr(R.out, "--inject WHEN:KIND"));
    assert_non_null(strstr(R.out, "Examples"));
    assert_null(strstr(R.out, "--concurrency"));
    assert_null(strstr(R.out, "--timeout"));
    assert_string_equal(R.err, "");
    assert_int_equal(parse(CLI_ECHO_CLIENT, "-h"), CLI_DONE);
    assert_non_null(strstr(R.out, "--wait-timewait"));
    assert_non_null(strstr(R.out, "--connect-timeout DURATION"));
    assert_non_null(strstr(R.out, "--timeout DURATION"));
    assert_non_null(strstr(R.out, "--rate N"));
    assert_non_null(strstr(R.out, "--duration DURATION"));
    assert_non_null(strstr(R.out, "--hold DURATION"));
    assert_non_null(strstr(R.out, "--json FILE"));
    assert_non_null(strstr(R.out, "EADDRNOTAVAIL"));
    assert_null(strstr(R.out, "--max-conns"));
    assert_int_equal(parse(CLI_ECHO_CLIENT, "--version"), CLI_DONE);
    assert_string_equal(R.out, "echo-client (tuntcp) " TT_VERSION_STRING "\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_accept_units_and_bare_seconds),
        cmocka_unit_test(durations_refuse_everything_else),
        cmocka_unit_test(ipv4_dotted_quads),
        cmocka_unit_test(ipv4_with_prefix_length),
        cmocka_unit_test(ipv4_with_port),
        cmocka_unit_test(port_ranges),
        cmocka_unit_test(integers_and_flags01),
        cmocka_unit_test(defaults_are_spec_section_3),
        cmocka_unit_test(client_defaults),
        cmocka_unit_test(payload_flags),
        cmocka_unit_test(common_flags_are_stored),
        cmocka_unit_test(congestion_control_flag),
        cmocka_unit_test(pcapng_flag),
        cmocka_unit_test(app_flags_are_stored),
        cmocka_unit_test(endpoints_are_repeatable),
        cmocka_unit_test(load_flags),
        cmocka_unit_test(keepalive_flags),
        cmocka_unit_test(linger_flags),
        cmocka_unit_test(faults_are_checked_and_collected),
        cmocka_unit_test(injects_are_checked_and_collected),
        cmocka_unit_test(bad_values_name_their_flag),
        cmocka_unit_test(unknown_and_misplaced_flags),
        cmocka_unit_test(addresses_must_be_consistent),
        cmocka_unit_test(help_and_version_go_to_stdout),
        cmocka_unit_test(help_defaults_are_the_defaults),
        cmocka_unit_test(control_socket_flags),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
