/*
 * `sysctl` over the control socket (docs/contract.md §10.4). Reads name
 * knobs (or all of them); writes NAME=VALUE assignments all or nothing:
 * every one is parsed into a copy of the engine's configuration first, and
 * the copy replaces the engine's in one tt_engine_config_update(), so a bad
 * one (named in the error) changes nothing. The reply lists what was
 * written, then what was read, as sysctl(8) prints `NAME = VALUE`.
 *
 * With several queues (--queues N) reads and writes are of the whole stack:
 * its port range runs from queue 0's first port to the last queue's last,
 * its TIME_WAIT bound is the sum of the queues' shares, and a write gives
 * each queue its slice of the new values (tt_drv_queue_slice), on that
 * queue's thread; a queue that refuses undoes the queues already changed.
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

/* The whole stack's configuration, gathered queue by queue (in order). */
struct whole_cfg {
    tt_config_t cfg;
    size_t i;
};

static void gather_one(tt_engine_t *eng, void *ctx)
{
    struct whole_cfg *w = ctx;
    const tt_config_t *c = tt_engine_config(eng);

    if (w->i++ == 0) {
        w->cfg = *c;
        return;
    }
    w->cfg.port_hi = c->port_hi;
    w->cfg.tcp_max_tw_buckets += c->tcp_max_tw_buckets;
}

/* One write of the whole stack, queue by queue; old[] keeps what to undo. */
struct queue_update {
    const tt_config_t *whole;
    tt_config_t old[TT_QUEUES_MAX];
    size_t i, n, changed;
    int rc;
    bool undo;
};

static void update_one(tt_engine_t *eng, void *ctx)
{
    struct queue_update *u = ctx;
    size_t i = u->i++;

    if (u->undo) {
        if (i < u->changed)
            (void)tt_engine_config_update(eng, &u->old[i]); /* it held before: it holds again */
        return;
    }
    if (u->rc < 0)
        return;
    u->old[i] = *tt_engine_config(eng);
    tt_config_t c = *u->whole;
    c.seed = u->old[i].seed; /* each queue's own randomness stays */
    tt_drv_queue_slice(&c, i, u->n);
    if ((u->rc = tt_engine_config_update(eng, &c)) == 0)
        u->changed = i + 1;
}

static int update_queues(struct tt_driver *drv, const tt_config_t *whole)
{
    struct queue_update u = {.whole = whole, .n = tt_drv_ctl_queues(drv)};

    tt_drv_ctl_each_engine(drv, update_one, &u);
    if (u.rc < 0) {
        u.undo = true;
        u.i = 0;
        tt_drv_ctl_each_engine(drv, update_one, &u);
    }
    return u.rc;
}

void tt_ctl_cmd_sysctl(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                       bool text, struct ctl_buf *out)
{
    static const char *const fields[] = {"names", "all", "set", NULL};
    struct whole_cfg w = {.i = 0};
    const struct ctl_val *names, *set;
    struct sysctl_pick p = {.n = 0};
    bool all;
    int rc;

    (void)h;
    if (!tt_ctl_check_fields(r, "sysctl", fields, out) ||
        !tt_ctl_get_array(r, "names", &names, out) || !tt_ctl_get_array(r, "set", &set, out) ||
        !tt_ctl_get_bool(r, "all", &all, out))
        return;
    tt_drv_ctl_each_engine(drv, gather_one, &w);
    tt_config_t cfg = w.cfg;
    if (!apply_sets(set, &cfg, &p, out) || !pick_reads(names, all, &p, out))
        return;
    if (set != NULL && set->narr > 0 && (rc = update_queues(drv, &cfg)) < 0) {
        tt_ctl_reply_error(out, "sysctl: the engine refused the change: %s", tt_strerror(rc));
        return;
    }
    if (set != NULL && set->narr > 0) { /* what the queues now hold */
        w.i = 0;
        tt_drv_ctl_each_engine(drv, gather_one, &w);
        cfg = w.cfg;
    }
    sysctl_reply(&p, &cfg, text, out);
}
