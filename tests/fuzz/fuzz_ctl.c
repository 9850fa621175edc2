/*
 * libFuzzer target on the control socket's request parser
 * (stack/driver/ctl_proto.c) and the sysctl value parser (stack/driver/sysctl.c):
 * both read what another process sends (docs/contract.md §10.1, §10.4).
 *
 * Properties beyond "no crash":
 * - a request is parsed or refused with a reason ("malformed request");
 * - a parsed one has at most CTL_KEYS_MAX members with distinct keys, and
 *   every string (keys, values, array items) lies inside the pool, within
 *   what was used of it, NUL-terminated;
 * - the same bytes parse the same way twice (the parser keeps no state);
 * - for each knob, the bytes as a value are parsed or refused with the
 *   knob's name in the reason and the config untouched; an accepted value
 *   prints back to a value that parses to the same config.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "sysctl.h"

static char pool1[CTL_REQ_MAX + 1], pool2[CTL_REQ_MAX + 1];

static void check_str(const struct ctl_req *r, const char *s)
{
    if (s < r->pool || s >= r->pool + r->used ||
        memchr(s, '\0', (size_t)(r->pool + r->used - s)) == NULL)
        abort();
}

static void check_request(const uint8_t *data, size_t size)
{
    struct ctl_req r = {.pool = pool1, .poolcap = sizeof(pool1)};
    struct ctl_req r2 = {.pool = pool2, .poolcap = sizeof(pool2)};
    char err[160] = "";
    int rc;

    if (size > CTL_REQ_MAX)
        size = CTL_REQ_MAX;
    rc = tt_ctl_parse((const char *)data, size, &r, err, sizeof(err));
    if (rc != tt_ctl_parse((const char *)data, size, &r2, NULL, 0))
        abort();
    if (rc < 0) {
        if (strstr(err, "malformed request") == NULL)
            abort();
        return;
    }
    if (r.n > CTL_KEYS_MAX || r.n != r2.n)
        abort();
    for (size_t i = 0; i < r.n; i++) {
        check_str(&r, r.m[i].key);
        if (strcmp(r.m[i].key, r2.m[i].key) != 0 || tt_ctl_get(&r, r.m[i].key) != &r.m[i].v)
            abort();
        if (r.m[i].v.type == CTL_STR)
            check_str(&r, r.m[i].v.s);
        if (r.m[i].v.type == CTL_ARR) {
            if (r.m[i].v.narr > CTL_ARR_MAX)
                abort();
            for (size_t k = 0; k < r.m[i].v.narr; k++)
                check_str(&r, r.m[i].v.arr[k]);
        }
    }
}

static void check_values(const uint8_t *data, size_t size)
{
    char value[64], err[256], printed[64];
    tt_config_t cfg, before, again;

    if (size >= sizeof(value))
        size = sizeof(value) - 1;
    memcpy(value, data, size);
    value[size] = '\0';
    tt_config_init(&cfg);
    for (size_t k = 0; k < tt_sysctl_count(); k++) {
        before = cfg;
        err[0] = '\0';
        if (tt_sysctl_parse(k, value, &cfg, err, sizeof(err)) < 0) {
            if (memcmp(&before, &cfg, sizeof(cfg)) != 0 || strstr(err, tt_sysctl_name(k)) == NULL)
                abort();
            continue;
        }
        tt_sysctl_format(k, &cfg, printed, sizeof(printed));
        again = before;
        if (tt_sysctl_parse(k, printed, &again, err, sizeof(err)) < 0 ||
            memcmp(&again, &cfg, sizeof(cfg)) != 0)
            abort();
        cfg = before;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_request(data, size);
    check_values(data, size);
    return 0;
}
