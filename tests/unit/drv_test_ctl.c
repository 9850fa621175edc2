/*
 * The control protocol's parser and reply buffer (stack/driver/ctl_proto.c)
 * and the sysctl table (stack/driver/sysctl.c), docs/contract.md §10.1, §10.4;
 * and tt_engine_config_update(): all or nothing, a new MSL re-times.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_proto.h"
#include "sysctl.h"

static char pool[CTL_REQ_MAX + 1];

static int parse(const char *s, struct ctl_req *r, char *err)
{
    r->pool = pool;
    r->poolcap = sizeof(pool);
    return tt_ctl_parse(s, strlen(s), r, err, 160);
}

static void parses_flat_objects(void **state)
{
    struct ctl_req r;
    char err[160];
    const struct ctl_val *v;

    (void)state;
    assert_int_equal(
        parse(" {\"v\":1, \"cmd\":\"s\\u00e9\\n\", \"all\":true, \"set\":[\"a=1\",\"b\"], "
              "\"x\":false, \"e\":[]} ",
              &r, err),
        0);
    assert_int_equal(r.n, 6);
    v = tt_ctl_get(&r, "v");
    assert_true(v->type == CTL_INT && v->n == 1);
    assert_string_equal(tt_ctl_get(&r, "cmd")->s, "s\xc3\xa9\n");
    assert_true(tt_ctl_get(&r, "all")->b);
    v = tt_ctl_get(&r, "set");
    assert_true(v->type == CTL_ARR && v->narr == 2);
    assert_string_equal(v->arr[1], "b");
    assert_false(tt_ctl_get(&r, "x")->b);
    assert_int_equal(tt_ctl_get(&r, "e")->narr, 0);
    assert_null(tt_ctl_get(&r, "nope"));
    assert_int_equal(parse("{}", &r, err), 0);
    assert_int_equal(r.n, 0);
}

static void refuses_everything_else(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{",
        "{\"a\"}",
        "{\"a\":1,}",
        "{\"a\":-1}",
        "{\"a\":1.5}",
        "{\"a\":01}",
        "{\"a\":1}x",
        "{\"a\":1,\"a\":2}",
        "{\"a\":{}}",
        "{\"a\":[1]}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":nul}",
        "{\"a\":\"\x01\"}",
        "{\"a\":18446744073709551616}",
        "{\"a\":\"\\ud800\"}",
    };
    struct ctl_req r;
    char err[160];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(parse(bad[i], &r, err), -EINVAL);
        assert_non_null(strstr(err, "malformed request"));
    }
    /* 17 members: one too many */
    char many[512] = "{";
    for (int i = 0; i < CTL_KEYS_MAX + 1; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s\"k%d\":1", i ? "," : "", i);
    strcat(many, "}");
    assert_int_equal(parse(many, &r, err), -EINVAL);
    /* a pool smaller than the request */
    r.pool = pool;
    r.poolcap = 4;
    assert_int_equal(tt_ctl_parse("{\"a\":1}", 7, &r, err, sizeof(err)), -EINVAL);
}

static void buffer_is_bounded_and_escapes(void **state)
{
    struct ctl_buf b;

    (void)state;
    tt_ctl_buf_init(&b, 16);
    tt_ctl_buf_str(&b, "a\"\\\n\x01");
    assert_false(b.overflow);
    assert_string_equal(b.p, "\"a\\\"\\\\\\n\\u0001\"");
    tt_ctl_buf_reset(&b);
    tt_ctl_buf_printf(&b, "%s", "0123456789abcdefXYZ");
    assert_true(b.overflow);
    assert_true(b.len < 16);
    tt_ctl_buf_free(&b);
}

static void sysctl_round_trips_and_refuses(void **state)
{
    tt_config_t cfg, before;
    char buf[64], err[256];
    int i;

    (void)state;
    tt_config_init(&cfg);
    assert_int_equal(tt_sysctl_find("net.ipv4.nope"), -ENOENT);
    for (size_t k = 0; k < tt_sysctl_count(); k++) { /* what is printed parses back the same */
        tt_sysctl_format(k, &cfg, buf, sizeof(buf));
        before = cfg;
        assert_int_equal(tt_sysctl_parse(k, buf, &cfg, err, sizeof(err)), 0);
        assert_memory_equal(&before, &cfg, sizeof(cfg));
    }
    i = tt_sysctl_find("tuntcp.msl");
    assert_int_equal(tt_sysctl_parse((size_t)i, "500ms", &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.msl_us, 500000);
    tt_sysctl_format((size_t)i, &cfg, buf, sizeof(buf));
    assert_string_equal(buf, "500ms");
    i = tt_sysctl_find("net.ipv4.tcp_congestion_control");
    tt_sysctl_format((size_t)i, &cfg, buf, sizeof(buf));
    assert_string_equal(buf, "cubic"); /* Linux's default */
    assert_int_equal(tt_sysctl_parse((size_t)i, "reno", &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.tcp_congestion_control, TT_CC_RENO);
    tt_sysctl_format((size_t)i, &cfg, buf, sizeof(buf));
    assert_string_equal(buf, "reno");
    static const struct {
        const char *name, *value;
    } bad[] = {{"tuntcp.msl", "0"},
               {"tuntcp.msl", "1h"},
               {"net.ipv4.tcp_rfc1337", "2"},
               {"net.ipv4.tcp_tw_reuse", "3"},
               {"net.ipv4.tcp_max_syn_backlog", "0"},
               {"net.ipv4.tcp_max_tw_buckets", "-1"},
               {"net.ipv4.tcp_max_tw_buckets", "4294967296"},
               {"net.ipv4.ip_local_port_range", "2000-1000"},
               {"net.ipv4.ip_local_port_range", "0-10"},
               {"net.ipv4.ip_local_port_range", "1000"},
               {"net.ipv4.tcp_fin_timeout", ""},
               {"net.ipv4.tcp_early_retrans", "5"},
               {"net.ipv4.tcp_notsent_lowat", "-1"},
               {"net.ipv4.tcp_recovery", "8"},
               {"net.ipv4.tcp_slow_start_after_idle", "2"},
               {"net.ipv4.tcp_min_tso_segs", "256"},
               {"net.ipv4.tcp_ecn", "3"},
               {"net.ipv4.tcp_pacing_ss_ratio", "1001"},
               {"net.ipv4.tcp_pacing_ca_ratio", "-1"},
               {"net.ipv4.tcp_tw_reuse_delay", "0ms"},
               {"net.ipv4.tcp_congestion_control", "bbr"},
               {"net.ipv4.tcp_congestion_control", "1"}};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        before = cfg;
        i = tt_sysctl_find(bad[k].name);
        assert_true(i >= 0);
        assert_int_equal(tt_sysctl_parse((size_t)i, bad[k].value, &cfg, err, sizeof(err)), -EINVAL);
        assert_memory_equal(&before, &cfg, sizeof(cfg));
        assert_non_null(strstr(err, bad[k].name)); /* the error names the knob */
    }
}

static void out_cb(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
}

static void config_update_is_all_or_nothing(void **state)
{
    tt_engine_t *eng;
    tt_config_t cfg;

    (void)state;
    tt_config_init(&cfg);
    assert_int_equal(tt_engine_new(&eng, &cfg, out_cb, NULL, 1000), 0);
    cfg.tcp_rfc1337 = 1;
    cfg.mtu = 9000; /* not a live knob */
    assert_int_equal(tt_engine_config_update(eng, &cfg), -EPERM);
    assert_int_equal(tt_engine_config(eng)->tcp_rfc1337, 0);
    cfg = *tt_engine_config(eng);
    cfg.tcp_rfc1337 = 1;
    cfg.msl_us = 0;
    assert_int_equal(tt_engine_config_update(eng, &cfg), -EINVAL);
    assert_int_equal(tt_engine_config(eng)->tcp_rfc1337, 0);
    cfg.msl_us = 1000000;
    cfg.port_lo = 40000;
    cfg.port_hi = 40010;
    assert_int_equal(tt_engine_config_update(eng, &cfg), 0);
    assert_int_equal(tt_engine_config(eng)->tcp_rfc1337, 1);
    assert_int_equal(tt_engine_config(eng)->msl_us, 1000000);
    assert_int_equal(tt_engine_config(eng)->port_hi, 40010);
    /* each range on its own: a bad one is refused whatever the others are */
    cfg = *tt_engine_config(eng);
    cfg.tcp_congestion_control = 7;
    assert_int_equal(tt_engine_config_update(eng, &cfg), -EINVAL);
    cfg.tcp_congestion_control = TT_CC_RENO;
    cfg.tcp_early_retrans = 5;
    assert_int_equal(tt_engine_config_update(eng, &cfg), -EINVAL);
    assert_int_equal(tt_engine_config(eng)->tcp_congestion_control, TT_CC_CUBIC);
    assert_int_equal(tt_engine_config(eng)->tcp_early_retrans, 3);
    tt_engine_free(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_flat_objects),
        cmocka_unit_test(refuses_everything_else),
        cmocka_unit_test(buffer_is_bounded_and_escapes),
        cmocka_unit_test(sysctl_round_trips_and_refuses),
        cmocka_unit_test(config_update_is_all_or_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
