/*
 * The client's side of the control protocol (docs/contract.md §10.1): a
 * request built as one JSON object in a bounded buffer, and the few
 * members tuntcp-ctl reads from a reply ("ok", "text", "error"). The apps
 * include nothing of stack/ (docs/architecture.md §4), so the stack's own
 * parser (stack/driver/ctl_proto.c) is not used here.
 */
#ifndef TT_APPS_CTL_JSON_H
#define TT_APPS_CTL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define CJ_VERSION 1    /* the protocol's "v" */
#define CJ_REQ_MAX 4096 /* bytes of a request line, newline excluded */
#define CJ_ARR_MAX 32   /* strings in one array */

struct cj_buf {
    char p[2 * CJ_REQ_MAX];
    size_t len;
    bool overflow;
};

void cj_printf(struct cj_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included. */
void cj_str(struct cj_buf *b, const char *s);

/*
 * In the JSON object json (a reply), the top-level member key: a string
 * value unescaped into a malloc'd *out (0), true/false into *flag (0), or
 * -ENOENT when absent, -EINVAL when the reply cannot be read.
 */
int cj_get_str(const char *json, const char *key, char **out);
int cj_get_bool(const char *json, const char *key, bool *flag);

#endif
