/*
 * The control commands (docs/contract.md §10), one file each: ctl_ss.c,
 * ctl_nstat.c, ctl_sysctl.c, ctl_files.c (pcap, trace, fault); ctl_cmd.c
 * dispatches and holds the helpers they share for reading a request's
 * fields. A helper that refuses a field has written the error reply.
 */
#ifndef TT_CTL_CMD_H
#define TT_CTL_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl_proto.h"

struct tt_driver;

/* Per stack, for nstat's deltas (docs/contract.md §10.3). */
struct ctl_nstat_history {
    uint64_t *values; /* NULL until the first nstat */
    size_t n;
    uint64_t at_us;
};

/*
 * Runs one parsed request and writes its one-line JSON reply (newline
 * excluded) into out.
 */
void tt_ctl_run(struct tt_driver *drv, struct ctl_nstat_history *h, const struct ctl_req *req,
                struct ctl_buf *out);

/* A {"v":1,"ok":false,"error":...} reply. */
void tt_ctl_reply_error(struct ctl_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

typedef void tt_ctl_cmd_fn(struct tt_driver *drv, struct ctl_nstat_history *h,
                           const struct ctl_req *r, bool text, struct ctl_buf *out);
tt_ctl_cmd_fn tt_ctl_cmd_ss, tt_ctl_cmd_nstat, tt_ctl_cmd_sysctl, tt_ctl_cmd_pcap, tt_ctl_cmd_trace,
    tt_ctl_cmd_fault, tt_ctl_cmd_version;
tt_ctl_cmd_fn tt_ctl_cmd_qdisc; /* ctl_qdisc.c */

/* `{"v":1,"ok":true` or false, without the closing brace. */
void tt_ctl_reply_open(struct ctl_buf *out, bool ok);

/* allowed: the command's own fields, NULL-terminated ("v", "cmd" and "format" always are). */
bool tt_ctl_check_fields(const struct ctl_req *r, const char *cmd, const char *const *allowed,
                         struct ctl_buf *out);
bool tt_ctl_get_bool(const struct ctl_req *r, const char *key, bool *v, struct ctl_buf *out);
bool tt_ctl_get_str(const struct ctl_req *r, const char *key, const char **v, struct ctl_buf *out);
bool tt_ctl_get_uint(const struct ctl_req *r, const char *key, uint64_t min, uint64_t max,
                     uint64_t *v, bool *set, struct ctl_buf *out);
bool tt_ctl_get_array(const struct ctl_req *r, const char *key, const struct ctl_val **v,
                      struct ctl_buf *out);
void tt_ctl_format_endpoint(char *buf, size_t cap, uint32_t a, uint16_t port);

#endif
