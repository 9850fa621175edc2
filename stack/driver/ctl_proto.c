/*
 * The control request parser and the reply buffer (docs/contract.md §10.1).
 * A request is untrusted input from another process: every byte is checked,
 * nothing is read past len, and the result lives in a pool the caller sized,
 * so a parse allocates nothing. RFC 8259 is the JSON grammar; of it only what
 * a request needs is accepted (see ctl_proto.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

struct cursor {
    const char *s;
    size_t len, pos;
    struct ctl_req *r;
    char *err;
    size_t errlen;
};

static int fail(struct cursor *c, const char *what)
{
    if (c->err != NULL && c->errlen > 0)
        snprintf(c->err, c->errlen, "malformed request: %s at byte %zu", what, c->pos);
    return -EINVAL;
}

static void skip_ws(struct cursor *c)
{
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' ||
                               c->s[c->pos] == '\r' || c->s[c->pos] == '\n'))
        c->pos++;
}

static int peek(struct cursor *c)
{
    skip_ws(c);
    return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static bool expect(struct cursor *c, char ch)
{
    if (peek(c) != (unsigned char)ch)
        return false;
    c->pos++;
    return true;
}

static int hex4(struct cursor *c, unsigned *v)
{
    *v = 0;
    if (c->len - c->pos < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char h = c->s[c->pos++];
        unsigned d;
        if (h >= '0' && h <= '9')
            d = (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f')
            d = (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            d = (unsigned)(h - 'A' + 10);
        else
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

static bool pool_put(struct ctl_req *r, char ch)
{
    if (r->used >= r->poolcap)
        return false;
    r->pool[r->used++] = ch;
    return true;
}

/* \uXXXX below U+0800 as UTF-8; a NUL or a surrogate is refused (no C string holds it). */
static int put_unicode(struct cursor *c)
{
    unsigned u;

    if (hex4(c, &u) < 0)
        return fail(c, "bad \\u escape");
    if (u == 0 || (u >= 0xd800 && u <= 0xdfff))
        return fail(c, "\\u0000 or a surrogate");
    bool ok;
    if (u < 0x80)
        ok = pool_put(c->r, (char)u);
    else if (u < 0x800)
        ok = pool_put(c->r, (char)(0xc0 | u >> 6)) && pool_put(c->r, (char)(0x80 | (u & 0x3f)));
    else
        ok = pool_put(c->r, (char)(0xe0 | u >> 12)) &&
             pool_put(c->r, (char)(0x80 | ((u >> 6) & 0x3f))) &&
             pool_put(c->r, (char)(0x80 | (u & 0x3f)));
    return ok ? 0 : fail(c, "string pool full");
}

static int put_escape(struct cursor *c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *p;

    if (c->pos >= c->len)
        return fail(c, "unterminated string");
    char e = c->s[c->pos++];
    if (e == 'u')
        return put_unicode(c);
    if (e == '\0' || (p = strchr(from, e)) == NULL)
        return fail(c, "bad escape");
    return pool_put(c->r, to[p - from]) ? 0 : fail(c, "string pool full");
}

/* A JSON string into the pool, NUL-terminated. Control characters and NUL are refused. */
static int parse_string(struct cursor *c, const char **out)
{
    if (!expect(c, '"'))
        return fail(c, "expected a string");
    *out = c->r->pool + c->r->used;
    for (;;) {
        if (c->pos >= c->len)
            return fail(c, "unterminated string");
        unsigned char ch = (unsigned char)c->s[c->pos++];
        if (ch == '"')
            break;
        if (ch < 0x20)
            return fail(c, "control character in a string");
        if (ch == '\\') {
            if (put_escape(c) < 0)
                return -EINVAL;
        } else if (!pool_put(c->r, (char)ch)) {
            return fail(c, "string pool full");
        }
    }
    return pool_put(c->r, '\0') ? 0 : fail(c, "string pool full");
}

static int parse_uint(struct cursor *c, uint64_t *v)
{
    size_t start = c->pos;

    *v = 0;
    while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
        unsigned d = (unsigned)(c->s[c->pos] - '0');
        if (*v > (UINT64_MAX - d) / 10)
            return fail(c, "number too large");
        *v = *v * 10 + d;
        c->pos++;
    }
    if (c->pos - start > 1 && c->s[start] == '0')
        return fail(c, "leading zero");
    if (c->pos < c->len && strchr(".eE-+", c->s[c->pos]) != NULL && c->s[c->pos] != '\0')
        return fail(c, "only non-negative integers");
    return 0;
}

static int parse_word(struct cursor *c, const char *w)
{
    size_t n = strlen(w);

    if (c->len - c->pos < n || memcmp(c->s + c->pos, w, n) != 0)
        return fail(c, "unexpected value");
    c->pos += n;
    return 0;
}

static int parse_array(struct cursor *c, struct ctl_val *v)
{
    v->type = CTL_ARR;
    v->narr = 0;
    c->pos++; /* '[' */
    if (expect(c, ']'))
        return 0;
    do {
        if (v->narr == CTL_ARR_MAX)
            return fail(c, "array too long");
        if (parse_string(c, &v->arr[v->narr++]) < 0)
            return -EINVAL;
    } while (expect(c, ','));
    return expect(c, ']') ? 0 : fail(c, "expected ',' or ']'");
}

static int parse_value(struct cursor *c, struct ctl_val *v)
{
    int ch = peek(c);

    memset(v, 0, sizeof(*v));
    if (ch == '"') {
        v->type = CTL_STR;
        return parse_string(c, &v->s);
    }
    if (ch == '[')
        return parse_array(c, v);
    if (ch >= '0' && ch <= '9') {
        v->type = CTL_INT;
        return parse_uint(c, &v->n);
    }
    v->type = CTL_BOOL;
    v->b = ch == 't';
    if (ch == 't' || ch == 'f')
        return parse_word(c, ch == 't' ? "true" : "false");
    return fail(c, "expected a string, a number, true, false or an array of strings");
}

static int parse_member(struct cursor *c)
{
    struct ctl_req *r = c->r;
    const char *key;

    if (r->n == CTL_KEYS_MAX)
        return fail(c, "too many members");
    if (parse_string(c, &key) < 0)
        return -EINVAL;
    if (tt_ctl_get(r, key) != NULL)
        return fail(c, "duplicate key");
    if (!expect(c, ':'))
        return fail(c, "expected ':'");
    r->m[r->n].key = key;
    if (parse_value(c, &r->m[r->n].v) < 0)
        return -EINVAL;
    r->n++;
    return 0;
}

int tt_ctl_parse(const char *line, size_t len, struct ctl_req *r, char *err, size_t errlen)
{
    struct cursor c = {line, len, 0, r, err, errlen};

    r->n = 0;
    r->used = 0;
    if (r->poolcap < len + 1)
        return fail(&c, "request too large");
    if (!expect(&c, '{'))
        return fail(&c, "expected '{'");
    if (!expect(&c, '}')) {
        do {
            if (parse_member(&c) < 0)
                return -EINVAL;
        } while (expect(&c, ','));
        if (!expect(&c, '}'))
            return fail(&c, "expected ',' or '}'");
    }
    if (peek(&c) != -1)
        return fail(&c, "bytes after the object");
    return 0;
}

const struct ctl_val *tt_ctl_get(const struct ctl_req *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->m[i].key, key) == 0)
            return &r->m[i].v;
    return NULL;
}

/* ---- replies ---- */

void tt_ctl_buf_init(struct ctl_buf *b, size_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit;
}

void tt_ctl_buf_free(struct ctl_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void tt_ctl_buf_reset(struct ctl_buf *b)
{
    b->len = 0;
    b->overflow = false;
}

static bool buf_reserve(struct ctl_buf *b, size_t more)
{
    size_t need = b->len + more + 1, cap = b->cap ? b->cap : 256;
    char *p;

    if (need > b->limit) {
        b->overflow = true;
        return false;
    }
    if (need <= b->cap)
        return true;
    while (cap < need)
        cap *= 2;
    if (cap > b->limit)
        cap = b->limit;
    if ((p = realloc(b->p, cap)) == NULL) {
        b->overflow = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void tt_ctl_buf_vprintf(struct ctl_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (b->overflow)
        return;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void tt_ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tt_ctl_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void tt_ctl_buf_str(struct ctl_buf *b, const char *s)
{
    tt_ctl_buf_printf(b, "\"");
    for (; *s != '\0' && !b->overflow; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            tt_ctl_buf_printf(b, "\\%c", ch);
        else if (ch == '\n')
            tt_ctl_buf_printf(b, "\\n");
        else if (ch == '\t')
            tt_ctl_buf_printf(b, "\\t");
        else if (ch < 0x20 || ch == 0x7f)
            tt_ctl_buf_printf(b, "\\u%04x", ch);
        else
            tt_ctl_buf_printf(b, "%c", ch);
    }
    tt_ctl_buf_printf(b, "\"");
}
