/*
 * The value parsers of the command line (cli_values.h). Strict, as the
 * flags they serve: no sign, no blanks, no trailing garbage, no silent
 * clamping, so that a typo is refused rather than becoming a different
 * experiment. The apps (cli.c) and the packetdrill adapter's --so_flags
 * (tests/packetdrill/pd_flags.c) share them, so a value is spelt the same
 * in both.
 */
#include <errno.h>
#include <stdio.h>

#include "cli_values.h"

int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -ERANGE;
        x = x * 10 + d;
    }
    if (*p != '\0')
        return -EINVAL;
    if (x < min || x > max)
        return -ERANGE;
    *v = x;
    return 0;
}

/* Parses one decimal number of 1..digits digits at *p, advancing *p. */
static int take_number(const char **p, int digits, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    int n = 0;

    for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
        if (n == digits)
            return -EINVAL;
        x = x * 10 + (uint64_t)(**p - '0');
    }
    if (n == 0 || x > max)
        return -EINVAL;
    *v = x;
    return 0;
}

/* A dotted quad at the start of s; *end is what follows it. */
static int take_ipv4(const char *s, uint32_t *addr, const char **end)
{
    uint32_t a = 0;
    uint64_t part;

    for (int i = 0; i < 4; i++) {
        if (i > 0 && *s++ != '.')
            return -EINVAL;
        if (take_number(&s, 3, 255, &part) < 0)
            return -EINVAL;
        a = a << 8 | (uint32_t)part;
    }
    *addr = a;
    *end = s;
    return 0;
}

int cli_parse_ipv4(const char *s, uint32_t *addr)
{
    const char *end;

    if (take_ipv4(s, addr, &end) < 0 || *end != '\0')
        return -EINVAL;
    return 0;
}

int cli_parse_prefix(const char *s, uint32_t *addr, uint8_t *len)
{
    const char *p;
    uint64_t l;

    if (take_ipv4(s, addr, &p) < 0 || *p++ != '/')
        return -EINVAL;
    if (take_number(&p, 2, 32, &l) < 0 || *p != '\0')
        return -EINVAL;
    *len = (uint8_t)l;
    return 0;
}

int cli_parse_hostport(const char *s, uint32_t *addr, uint16_t *port)
{
    const char *p;
    uint64_t v;

    if (take_ipv4(s, addr, &p) < 0 || *p++ != ':')
        return -EINVAL;
    if (take_number(&p, 5, 65535, &v) < 0 || *p != '\0' || v == 0)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

int cli_parse_range(const char *s, uint16_t *lo, uint16_t *hi)
{
    const char *p = s;
    uint64_t a, b;

    if (take_number(&p, 5, 65535, &a) < 0 || *p++ != '-')
        return -EINVAL;
    if (take_number(&p, 5, 65535, &b) < 0 || *p != '\0')
        return -EINVAL;
    if (a == 0 || a > b)
        return -EINVAL;
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return 0;
}

int cli_parse_bool01(const char *s, int *v)
{
    if ((s[0] != '0' && s[0] != '1') || s[1] != '\0')
        return -EINVAL;
    *v = s[0] - '0';
    return 0;
}

const char *cli_ipv4_str(uint32_t a, char *buf)
{
    snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    return buf;
}
