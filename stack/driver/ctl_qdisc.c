/*
 * The `qdisc` control command (docs/contract.md §10.5 item 4): makes the
 * device refuse every packet the stack sends, or take them again, as a
 * Linux qdisc that drops (`tc qdisc replace dev tun0 root pfifo limit 0`)
 * and its removal would. The engine sees local congestion, not a loss on
 * the wire: what it sends is known not to have left (docs/contract.md
 * §2.6 item 14). With several queues, every queue's engine in turn.
 */
#include <string.h>

#include "ctl_cmd.h"
#include "drv_ctl.h"

static void set_one(tt_engine_t *eng, void *ctx)
{
    tt_engine_set_local_congestion(eng, *(const bool *)ctx);
}

/* Refusing when any queue refuses (they change together). */
static void get_one(tt_engine_t *eng, void *ctx)
{
    *(bool *)ctx |= tt_engine_local_congestion(eng);
}

static void reply(struct ctl_buf *out, bool text, bool refusing)
{
    tt_ctl_reply_open(out, true);
    if (text)
        tt_ctl_buf_printf(out, ",\"text\":\"%s\\n\"}",
                          refusing ? "refuse: the device drops every packet the stack sends"
                                   : "accept: the device takes the stack's packets");
    else
        tt_ctl_buf_printf(out, ",\"refusing\":%s}", refusing ? "true" : "false");
}

/* {"action":"refuse"} | {"action":"accept"} | {"action":"status"} */
void tt_ctl_cmd_qdisc(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *r,
                      bool text, struct ctl_buf *out)
{
    static const char *const fields[] = {"action", NULL};
    const char *action;
    bool refusing = false;

    (void)h;
    if (!tt_ctl_check_fields(r, "qdisc", fields, out) || !tt_ctl_get_str(r, "action", &action, out))
        return;
    if (action != NULL && (strcmp(action, "refuse") == 0 || strcmp(action, "accept") == 0)) {
        bool on = strcmp(action, "refuse") == 0;
        tt_drv_ctl_each_engine(drv, set_one, &on);
    } else if (action == NULL || strcmp(action, "status") != 0) {
        tt_ctl_reply_error(out, "qdisc: action: expected \"refuse\", \"accept\" or \"status\"");
        return;
    }
    tt_drv_ctl_each_engine(drv, get_one, &refusing);
    reply(out, text, refusing);
}
