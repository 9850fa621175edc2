/*
 * The client's JSON (docs/contract.md §10.1): building a request, and
 * reading a reply's top-level members. A reply comes from the stack, but is
 * read as carefully as any input: nothing past its end, nesting skipped
 * whole, strings unescaped per RFC 8259 (\uXXXX below U+0800, which is all
 * the stack writes).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_json.h"

void cj_printf(struct cj_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, sizeof(b->p) - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(b->p) - b->len) {
        b->overflow = true;
        return;
    }
    b->len += (size_t)n;
}

void cj_str(struct cj_buf *b, const char *s)
{
    cj_printf(b, "\"");
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            cj_printf(b, "\\%c", c);
        else if (c < 0x20)
            cj_printf(b, "\\u%04x", c);
        else
            cj_printf(b, "%c", c);
    }
    cj_printf(b, "\"");
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* Past the string starting at p (its opening quote); NULL if unterminated. */
static const char *skip_string(const char *p)
{
    for (p++; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Past one value: a string, a literal or number, or an array or object whole. */
static const char *skip_value(const char *p)
{
    int depth = 0;

    p = skip_ws(p);
    do {
        if (*p == '\0')
            return NULL;
        if (*p == '"') {
            if ((p = skip_string(p)) == NULL)
                return NULL;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']')
            depth--;
        else if (depth == 0 && (*p == ',' || *p == ' '))
            break;
        p++;
    } while (depth > 0 || (*p != ',' && *p != '}' && *p != ']' && *p != '\0'));
    return depth < 0 ? NULL : p;
}

/* The value of top-level member key in json, or NULL. */
static const char *find_member(const char *json, const char *key)
{
    const char *p = skip_ws(json);
    size_t klen = strlen(key);

    if (*p++ != '{')
        return NULL;
    for (;;) {
        p = skip_ws(p);
        if (*p != '"')
            return NULL;
        const char *k = p + 1, *end = skip_string(p);
        if (end == NULL)
            return NULL;
        p = skip_ws(end);
        if (*p++ != ':')
            return NULL;
        if ((size_t)(end - 1 - k) == klen && memcmp(k, key, klen) == 0)
            return skip_ws(p);
        if ((p = skip_value(p)) == NULL)
            return NULL;
        p = skip_ws(p);
        if (*p++ != ',')
            return NULL;
    }
}

static int hex4(const char *p, unsigned *u)
{
    *u = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        unsigned d = h >= '0' && h <= '9'   ? (unsigned)(h - '0')
                     : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
                     : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10)
                                            : 16;
        if (d == 16)
            return -EINVAL;
        *u = *u << 4 | d;
    }
    return 0;
}

static int unescape(const char *p, char *o)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

    for (p++; *p != '"'; p++) {
        if (*p == '\0')
            return -EINVAL;
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        const char *e = *p != '\0' ? strchr(from, *p) : NULL;
        unsigned u;
        if (e != NULL) {
            *o++ = to[e - from];
        } else if (*p == 'u' && hex4(p + 1, &u) == 0 && u != 0 && u < 0x800) {
            if (u < 0x80) {
                *o++ = (char)u;
            } else {
                *o++ = (char)(0xc0 | u >> 6);
                *o++ = (char)(0x80 | (u & 0x3f));
            }
            p += 4;
        } else {
            return -EINVAL;
        }
    }
    *o = '\0';
    return 0;
}

int cj_get_str(const char *json, const char *key, char **out)
{
    const char *v = find_member(json, key);
    char *o;

    if (v == NULL)
        return -ENOENT;
    if (*v != '"' || (o = malloc(strlen(v) + 1)) == NULL)
        return -EINVAL;
    if (unescape(v, o) < 0) {
        free(o);
        return -EINVAL;
    }
    *out = o;
    return 0;
}

int cj_get_bool(const char *json, const char *key, bool *flag)
{
    const char *v = find_member(json, key);

    if (v == NULL)
        return -ENOENT;
    if (strncmp(v, "true", 4) == 0 || strncmp(v, "false", 5) == 0) {
        *flag = v[0] == 't';
        return 0;
    }
    return -EINVAL;
}
