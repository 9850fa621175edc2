/*
 * `sysctl` over the control socket (docs/contract.md §10.4). Reads name
 * knobs (or all of them); writes NAME=VALUE assignments all or nothing:
 * every one is parsed into a copy of the engine's configuration first, and
 * the copy replaces the engine's in one tt_engine_config_update(), so a bad
 * one (named in the error) changes nothing. The reply lists what was
 * written, then what was read, as sysctl(8) prints `NAME = VALUE`.
 */
#include <string.h>

#include "ctl_cmd.h"
#include "drv_ctl.h"
#include "sysctl.h"
#include "tuntcp/driver.h"

struct sysctl_pick {
    size_t idx[2 * CTL_ARR_MAX + 16]; /* written knobs, then read ones (-a: every one) */
    size_t n;
};

static bool split_assign(const char *a, char *name, size_t cap, const char **value)
{
    const char *eq = strchr(a, '=');

    if (eq == NULL || (size_t)(eq - a) >= cap)
        return false;
    memcpy(name, a, (size_t)(eq - a));
    name[eq - a] = '\0';
    *value = eq + 1;
    return true;
}

static bool apply_sets(const struct ctl_val *set, tt_config_t *cfg, struct sysctl_pick *p,
                       struct ctl_buf *out)
{
    char name[96], err[256];
    const char *value;
    int i;

    for (size_t k = 0; set != NULL && k < set->narr; k++) {
        if (!split_assign(set->arr[k], name, sizeof(name), &value)) {
            tt_ctl_reply_error(out, "set: '%s' is not NAME=VALUE", set->arr[k]);
            return false;
        }
        if ((i = tt_sysctl_find(name)) < 0) {
            tt_ctl_reply_error(out, "sysctl: unknown name '%s'", name);
            return false;
        }
        if (tt_sysctl_parse((size_t)i, value, cfg, err, sizeof(err)) < 0) {
            tt_ctl_reply_error(out, "%s", err);
            return false;
        }
        p->idx[p->n++] = (size_t)i;
    }
    return true;
}

static bool pick_reads(const struct ctl_val *names, bool all, struct sysctl_pick *p,
                       struct ctl_buf *out)
{
    int i;

    for (size_t k = 0; all && k < tt_sysctl_count(); k++)
        p->idx[p->n++] = k;
    for (size_t k = 0; names != NULL && k < names->narr; k++) {
        if ((i = tt_sysctl_find(names->arr[k])) < 0) {
            tt_ctl_reply_error(out, "sysctl: unknown name '%s'", names->arr[k]);
            return false;
        }
        p->idx[p->n++] = (size_t)i;
    }
    return true;
}

static void sysctl_reply(const struct sysctl_pick *p, const tt_config_t *cfg, bool text,
                         struct ctl_buf *out)
{
    char v[64];

    tt_ctl_reply_open(out, true);
    tt_ctl_buf_printf(out, text ? ",\"text\":\"" : ",\"sysctl\":[");
    for (size_t k = 0; k < p->n; k++) {
        tt_sysctl_format(p->idx[k], cfg, v, sizeof(v));
        if (text)
            tt_ctl_buf_printf(out, "%s = %s\\n", tt_sysctl_name(p->idx[k]), v);
        else
            tt_ctl_buf_printf(out, "%s{\"name\":\"%s\",\"value\":\"%s\"}", k > 0 ? "," : "",
                              tt_sysctl_name(p->idx[k]), v);
    }
    tt_ctl_buf_printf(out, text ? "\"}" : "]}");
}

void tt_ctl_cmd_sysctl(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                       bool text, struct ctl_buf *out)
{
    static const char *const fields[] = {"names", "all", "set", NULL};
    tt_engine_t *eng = tt_driver_engine(drv);
    tt_config_t cfg = *tt_engine_config(eng);
    const struct ctl_val *names, *set;
    struct sysctl_pick p = {.n = 0};
    bool all;
    int rc;

    (void)h;
    if (!tt_ctl_check_fields(r, "sysctl", fields, out) ||
        !tt_ctl_get_array(r, "names", &names, out) || !tt_ctl_get_array(r, "set", &set, out) ||
        !tt_ctl_get_bool(r, "all", &all, out))
        return;
    if (set != NULL && set->narr > 0 && tt_drv_ctl_queues(drv) > 1) {
        /* each queue's engine has its slice of the port range and TIME_WAIT bound */
        tt_ctl_reply_error(out, "sysctl: set: not with --queues %zu (one queue only)",
                           tt_drv_ctl_queues(drv));
        return;
    }
    if (!apply_sets(set, &cfg, &p, out) || !pick_reads(names, all, &p, out))
        return;
    if (set != NULL && set->narr > 0 && (rc = tt_engine_config_update(eng, &cfg)) < 0) {
        tt_ctl_reply_error(out, "sysctl: the engine refused the change: %s", tt_strerror(rc));
        return;
    }
    sysctl_reply(&p, tt_engine_config(eng), text, out);
}
