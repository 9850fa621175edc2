/*
 * `pcap`, `trace` and `fault` over the control socket (docs/contract.md §10.5):
 * start and stop a capture or a trace on a running stack, add, delete and
 * list fault rules. The stack opens the files itself, as the user it runs
 * as, so a FILE is best given absolute (tuntcp-ctl makes it so).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_cmd.h"
#include "drv_ctl.h"
#include "tuntcp/driver.h"

typedef int file_fn(struct tt_driver *d, const char *path, char *err, size_t errlen);

static void reply_ok_text(struct ctl_buf *out, bool text, const char *what, const char *path)
{
    tt_ctl_reply_open(out, true);
    if (text) {
        char line[4200];
        snprintf(line, sizeof(line), "%s%s%s\n", what, path != NULL ? " " : "",
                 path != NULL ? path : "");
        tt_ctl_buf_printf(out, ",\"text\":");
        tt_ctl_buf_str(out, line);
    } else if (path != NULL) {
        tt_ctl_buf_printf(out, ",\"file\":");
        tt_ctl_buf_str(out, path);
    }
    tt_ctl_buf_printf(out, "}");
}

/* {"action":"start","file":F} | {"action":"stop"} | {"action":"status"} */
static void file_cmd(struct tt_driver *drv, const struct ctl_req *r, bool text, struct ctl_buf *out,
                     const char *cmd, file_fn *fn, const char *running)
{
    static const char *const fields[] = {"action", "file", NULL};
    const char *action, *file;
    char err[4300];

    if (!tt_ctl_check_fields(r, cmd, fields, out) || !tt_ctl_get_str(r, "action", &action, out) ||
        !tt_ctl_get_str(r, "file", &file, out))
        return;
    if (action != NULL && strcmp(action, "start") == 0) {
        if (file == NULL || file[0] == '\0') {
            tt_ctl_reply_error(out, "%s start: file: missing", cmd);
            return;
        }
        if (fn(drv, file, err, sizeof(err)) < 0)
            tt_ctl_reply_error(out, "%s", err);
        else
            reply_ok_text(out, text, "started", file);
    } else if (action != NULL && strcmp(action, "stop") == 0 && file == NULL) {
        if (fn(drv, NULL, err, sizeof(err)) < 0)
            tt_ctl_reply_error(out, "%s", err);
        else
            reply_ok_text(out, text, "stopped", NULL);
    } else if (action != NULL && strcmp(action, "status") == 0 && file == NULL) {
        reply_ok_text(out, text, running != NULL ? "running" : "stopped", running);
    } else {
        tt_ctl_reply_error(out,
                           "%s: action: expected \"start\" with a file, \"stop\" or "
                           "\"status\"",
                           cmd);
    }
}

void tt_ctl_cmd_pcap(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                     bool text, struct ctl_buf *out)
{
    (void)h;
    file_cmd(drv, r, text, out, "pcap", tt_drv_ctl_pcap, tt_drv_ctl_pcap_path(drv));
}

void tt_ctl_cmd_trace(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                      bool text, struct ctl_buf *out)
{
    (void)h;
    file_cmd(drv, r, text, out, "trace", tt_drv_ctl_trace, tt_drv_ctl_trace_path(drv));
}

static void fault_list(struct tt_driver *drv, bool text, struct ctl_buf *out)
{
    size_t n;
    const char *const *specs = tt_drv_ctl_fault_list(drv, &n);
    struct ctl_buf lines;

    tt_ctl_reply_open(out, true);
    if (text) { /* built apart, then escaped whole: a spec is the user's text */
        tt_ctl_buf_init(&lines, 1 << 16);
        tt_ctl_buf_printf(&lines, "%s", n == 0 ? "no rules\n" : "");
        for (size_t i = 0; i < n; i++)
            tt_ctl_buf_printf(&lines, "%zu %s\n", i, specs[i]);
        tt_ctl_buf_printf(out, ",\"text\":");
        tt_ctl_buf_str(out, lines.p != NULL ? lines.p : "");
        tt_ctl_buf_printf(out, "}");
        tt_ctl_buf_free(&lines);
        return;
    }
    tt_ctl_buf_printf(out, ",\"rules\":[");
    for (size_t i = 0; i < n; i++) {
        tt_ctl_buf_printf(out, "%s{\"index\":%zu,\"spec\":", i > 0 ? "," : "", i);
        tt_ctl_buf_str(out, specs[i]);
        tt_ctl_buf_printf(out, "}");
    }
    tt_ctl_buf_printf(out, "]}");
}

/* {"action":"add","spec":S} | {"action":"del","index":N} | {"action":"list"} */
void tt_ctl_cmd_fault(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                      bool text, struct ctl_buf *out)
{
    static const char *const fields[] = {"action", "spec", "index", NULL};
    const char *action, *spec;
    uint64_t index = 0;
    bool index_set;
    size_t idx;
    char err[512], msg[300];

    (void)h;
    if (!tt_ctl_check_fields(r, "fault", fields, out) ||
        !tt_ctl_get_str(r, "action", &action, out) || !tt_ctl_get_str(r, "spec", &spec, out) ||
        !tt_ctl_get_uint(r, "index", 0, UINT32_MAX, &index, &index_set, out))
        return;
    if (action != NULL && strcmp(action, "add") == 0 && spec != NULL && !index_set) {
        if (tt_drv_ctl_fault_add(drv, spec, &idx, err, sizeof(err)) < 0) {
            tt_ctl_reply_error(out, "%s", err);
            return;
        }
        snprintf(msg, sizeof(msg), "rule %zu:", idx);
        reply_ok_text(out, text, msg, spec);
    } else if (action != NULL && strcmp(action, "del") == 0 && index_set && spec == NULL) {
        if (tt_drv_ctl_fault_del(drv, (size_t)index, err, sizeof(err)) < 0) {
            tt_ctl_reply_error(out, "%s", err);
            return;
        }
        snprintf(msg, sizeof(msg), "deleted rule %zu", (size_t)index);
        reply_ok_text(out, text, msg, NULL);
    } else if (action != NULL && strcmp(action, "list") == 0 && !index_set && spec == NULL) {
        fault_list(drv, text, out);
    } else {
        tt_ctl_reply_error(out, "fault: action: expected \"add\" with a spec, \"del\" with an "
                                "index, or \"list\"");
    }
}
