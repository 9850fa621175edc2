/*
 * The control protocol's wire format (docs/contract.md §10.1), kept apart
 * from the socket so that it can be fuzzed: one request is one line holding
 * one flat JSON object whose values are strings, non-negative integers,
 * true/false, or arrays of strings; a reply is one JSON object on one line,
 * built in a bounded buffer. Pure: no libuv, no system call.
 */
#ifndef TT_CTL_PROTO_H
#define TT_CTL_PROTO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_VERSION 1
#define CTL_REQ_MAX 4096 /* bytes of one request line, newline excluded */
#define CTL_KEYS_MAX 16  /* members of a request object */
#define CTL_ARR_MAX 32   /* strings in one array */

enum ctl_type { CTL_STR, CTL_INT, CTL_BOOL, CTL_ARR };

struct ctl_val {
    enum ctl_type type;
    const char *s;                /* CTL_STR, NUL-terminated, in the request's pool */
    uint64_t n;                   /* CTL_INT */
    bool b;                       /* CTL_BOOL */
    const char *arr[CTL_ARR_MAX]; /* CTL_ARR */
    size_t narr;
};

struct ctl_member {
    const char *key;
    struct ctl_val v;
};

/* A parsed request; its strings live in pool (of poolcap bytes, given by the caller). */
struct ctl_req {
    struct ctl_member m[CTL_KEYS_MAX];
    size_t n;
    char *pool;
    size_t poolcap, used;
};

/*
 * Parses one JSON object of len bytes (no newline) into r, whose pool must
 * hold at least len + 1 bytes. Duplicate keys, nesting beyond arrays of
 * strings, negative or fractional numbers and trailing bytes are refused.
 * On error writes a reason with the byte offset into err. Errors: -EINVAL.
 */
int tt_ctl_parse(const char *line, size_t len, struct ctl_req *r, char *err, size_t errlen);

/* The member named key, or NULL. */
const struct ctl_val *tt_ctl_get(const struct ctl_req *r, const char *key);

/* A reply under construction: grows up to limit bytes, then only records the overflow. */
struct ctl_buf {
    char *p;
    size_t len, cap, limit;
    bool overflow; /* something did not fit in limit, or memory ran out */
};

void tt_ctl_buf_init(struct ctl_buf *b, size_t limit);
void tt_ctl_buf_free(struct ctl_buf *b);
void tt_ctl_buf_reset(struct ctl_buf *b);
void tt_ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tt_ctl_buf_vprintf(struct ctl_buf *b, const char *fmt, va_list ap);
/* s as a JSON string, quotes included. */
void tt_ctl_buf_str(struct ctl_buf *b, const char *s);

#endif
