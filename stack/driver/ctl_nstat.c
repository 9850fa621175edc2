/*
 * `nstat` over the control socket (docs/contract.md §10.3): the counters
 * under Linux's names (the Tt ones are tuntcp's own), as deltas since the
 * last call, as nstat(8) shows them. nstat keeps its history in a file per
 * user; here it is kept in the stack, one per stack, so that every client
 * of that stack shares it and it dies with the stack. The first call of a
 * stack's life has no history: its deltas are the counters since start.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmd.h"
#include "drv_ctl.h"

#define NSTAT_MAX 128 /* counters, the engine's and the driver's */

struct nstat_opts {
    bool absolute, zeros, noupdate, reset, text;
};

static void nstat_reply(const char *const *names, const uint64_t *val, const uint64_t *old,
                        size_t n, double secs, const struct nstat_opts *o, struct ctl_buf *out)
{
    bool first = true;

    tt_ctl_reply_open(out, true);
    if (o->text)
        tt_ctl_buf_printf(out, ",\"text\":\"#kernel\\n");
    else
        tt_ctl_buf_printf(out, ",\"interval_s\":%.3f,\"kernel\":{", secs);
    for (size_t i = 0; i < n; i++) {
        uint64_t delta = val[i] - (old != NULL ? old[i] : 0);
        uint64_t shown = o->absolute ? val[i] : delta;
        if (shown == 0 && !o->zeros)
            continue;
        if (o->text)
            tt_ctl_buf_printf(out, "%-31s %-18" PRIu64 " %.1f\\n", names[i], shown,
                              secs > 0 ? (double)delta / secs : 0.0);
        else
            tt_ctl_buf_printf(out, "%s\"%s\":%" PRIu64, first ? "" : ",", names[i], shown);
        first = false;
    }
    tt_ctl_buf_printf(out, o->text ? "\"}" : "}}");
}

static bool nstat_opts(const struct ctl_req *r, struct nstat_opts *o, struct ctl_buf *out)
{
    static const char *const fields[] = {"absolute", "zeros", "noupdate", "reset", NULL};

    return tt_ctl_check_fields(r, "nstat", fields, out) &&
           tt_ctl_get_bool(r, "absolute", &o->absolute, out) &&
           tt_ctl_get_bool(r, "zeros", &o->zeros, out) &&
           tt_ctl_get_bool(r, "noupdate", &o->noupdate, out) &&
           tt_ctl_get_bool(r, "reset", &o->reset, out);
}

void tt_ctl_cmd_nstat(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                      bool text, struct ctl_buf *out)
{
    const char *names[NSTAT_MAX];
    uint64_t val[NSTAT_MAX], now = tt_drv_ctl_now(drv);
    struct nstat_opts o = {.text = text};
    size_t n;

    if (!nstat_opts(r, &o, out))
        return;
    n = tt_drv_ctl_counters(drv, names, val, NSTAT_MAX);
    if (n > NSTAT_MAX)
        n = NSTAT_MAX;
    if (h->values == NULL && (h->values = calloc(NSTAT_MAX, sizeof(uint64_t))) == NULL) {
        tt_ctl_reply_error(out, "nstat: out of memory");
        return;
    }
    if (o.reset) { /* nstat -r: forget the history; every counter shows since start */
        memset(h->values, 0, NSTAT_MAX * sizeof(uint64_t));
        h->at_us = 0;
    }
    double secs = (double)(now - (h->at_us != 0 ? h->at_us : now)) / 1e6;
    nstat_reply(names, val, h->values, n, secs, &o, out);
    if (!o.noupdate && !out->overflow) {
        memcpy(h->values, val, n * sizeof(uint64_t));
        h->n = n;
        h->at_us = now;
    }
}
