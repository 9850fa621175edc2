/*
 * The control commands (docs/contract.md §10.2-§10.5): what each request reads
 * or changes, and its reply, as JSON or, with "format":"text", as the lines
 * ss, nstat and sysctl print. Every field of a request is checked before
 * anything changes; a bad one is named in the error and nothing happens.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmd.h"
#include "drv_ctl.h"
#include "tuntcp/driver.h"

/* ---- replies ---- */

void tt_ctl_reply_open(struct ctl_buf *out, bool ok)
{
    tt_ctl_buf_printf(out, "{\"v\":%d,\"ok\":%s", CTL_VERSION, ok ? "true" : "false");
}

void tt_ctl_reply_error(struct ctl_buf *out, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tt_ctl_buf_reset(out);
    tt_ctl_reply_open(out, false);
    tt_ctl_buf_printf(out, ",\"error\":");
    tt_ctl_buf_str(out, msg);
    tt_ctl_buf_printf(out, "}");
}

/* ---- fields ---- */

/* Refuses any member not in allowed (NULL-terminated): a typo must not be ignored. */
bool tt_ctl_check_fields(const struct ctl_req *r, const char *cmd, const char *const *allowed,
                         struct ctl_buf *out)
{
    for (size_t i = 0; i < r->n; i++) {
        const char *k = r->m[i].key;
        bool ok = strcmp(k, "v") == 0 || strcmp(k, "cmd") == 0 || strcmp(k, "format") == 0;
        for (const char *const *a = allowed; *a != NULL && !ok; a++)
            ok = strcmp(k, *a) == 0;
        if (!ok) {
            tt_ctl_reply_error(out, "%s: unknown field '%s'", cmd, k);
            return false;
        }
    }
    return true;
}

bool tt_ctl_get_bool(const struct ctl_req *r, const char *key, bool *v, struct ctl_buf *out)
{
    const struct ctl_val *x = tt_ctl_get(r, key);

    *v = false;
    if (x == NULL)
        return true;
    if (x->type != CTL_BOOL) {
        tt_ctl_reply_error(out, "%s: expected true or false", key);
        return false;
    }
    *v = x->b;
    return true;
}

bool tt_ctl_get_str(const struct ctl_req *r, const char *key, const char **v, struct ctl_buf *out)
{
    const struct ctl_val *x = tt_ctl_get(r, key);

    *v = NULL;
    if (x == NULL)
        return true;
    if (x->type != CTL_STR) {
        tt_ctl_reply_error(out, "%s: expected a string", key);
        return false;
    }
    *v = x->s;
    return true;
}

/* An integer in [min, max], or absent: *v untouched and *set false. */
bool tt_ctl_get_uint(const struct ctl_req *r, const char *key, uint64_t min, uint64_t max,
                     uint64_t *v, bool *set, struct ctl_buf *out)
{
    const struct ctl_val *x = tt_ctl_get(r, key);

    *set = x != NULL;
    if (x == NULL)
        return true;
    if (x->type != CTL_INT || x->n < min || x->n > max) {
        tt_ctl_reply_error(out, "%s: expected an integer from %" PRIu64 " to %" PRIu64, key, min,
                           max);
        return false;
    }
    *v = x->n;
    return true;
}

bool tt_ctl_get_array(const struct ctl_req *r, const char *key, const struct ctl_val **v,
                      struct ctl_buf *out)
{
    const struct ctl_val *x = tt_ctl_get(r, key);

    *v = NULL;
    if (x == NULL)
        return true;
    if (x->type != CTL_ARR) {
        tt_ctl_reply_error(out, "%s: expected an array of strings", key);
        return false;
    }
    *v = x;
    return true;
}

void tt_ctl_format_endpoint(char *buf, size_t cap, uint32_t a, uint16_t port)
{
    snprintf(buf, cap, "%u.%u.%u.%u:%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, port);
}

/* ---- dispatch ---- */

static const struct {
    const char *name;
    void (*run)(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                bool text, struct ctl_buf *out);
} commands[] = {
    {"ss", tt_ctl_cmd_ss},           {"nstat", tt_ctl_cmd_nstat}, {"sysctl", tt_ctl_cmd_sysctl},
    {"pcap", tt_ctl_cmd_pcap},       {"trace", tt_ctl_cmd_trace}, {"fault", tt_ctl_cmd_fault},
    {"version", tt_ctl_cmd_version}, {"qdisc", tt_ctl_cmd_qdisc},
};

void tt_ctl_cmd_version(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                        bool text, struct ctl_buf *out)
{
    static const char *const none[] = {NULL};

    (void)h;
    if (!tt_ctl_check_fields(r, "version", none, out))
        return;
    tt_ctl_reply_open(out, true);
    if (text)
        tt_ctl_buf_printf(out, ",\"text\":\"tuntcp %s, interface %s\\n\"}", TT_VERSION_STRING,
                          tt_driver_ifname(drv));
    else
        tt_ctl_buf_printf(out, ",\"version\":\"%s\",\"ifname\":\"%s\"}", TT_VERSION_STRING,
                          tt_driver_ifname(drv));
}

/* The members every request may have: "v" (1 if given), "cmd", "format" ("json" or "text"). */
static bool common_fields(const struct ctl_req *r, const char **cmd, bool *text,
                          struct ctl_buf *out)
{
    const struct ctl_val *v = tt_ctl_get(r, "v");
    const char *format;

    if (v != NULL && (v->type != CTL_INT || v->n != CTL_VERSION)) {
        tt_ctl_reply_error(out, "v: unsupported version (this stack speaks %d)", CTL_VERSION);
        return false;
    }
    if (!tt_ctl_get_str(r, "cmd", cmd, out) || !tt_ctl_get_str(r, "format", &format, out))
        return false;
    if (*cmd == NULL) {
        tt_ctl_reply_error(out, "cmd: missing");
        return false;
    }
    if (format != NULL && strcmp(format, "json") != 0 && strcmp(format, "text") != 0) {
        tt_ctl_reply_error(out, "format: expected \"json\" or \"text\", not '%s'", format);
        return false;
    }
    *text = format != NULL && strcmp(format, "text") == 0;
    return true;
}

void tt_ctl_run(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                struct ctl_buf *out)
{
    const char *cmd;
    bool text;

    if (!common_fields(r, &cmd, &text, out))
        return;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, cmd) == 0) {
            commands[i].run(drv, h, r, text, out);
            return;
        }
    }
    tt_ctl_reply_error(out,
                       "cmd: unknown command '%s' (ss, nstat, sysctl, pcap, trace, fault, "
                       "qdisc, version)",
                       cmd);
}
