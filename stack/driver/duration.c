/*
 * DURATION values of the command line and of --fault (docs/contract.md §3.1): an
 * unsigned decimal integer followed by ms, s or m; a bare integer means
 * seconds. No sign, no spaces, no fractions: a value is exactly what the
 * user typed, so an experiment's MSL is never rounded behind their back.
 */
#include <errno.h>
#include <string.h>

#include "tuntcp/driver.h"

/* 2^32 - 1 seconds: far beyond any useful timer, and now + 2 * MSL cannot overflow. */
#define DURATION_MAX_US (4294967295ULL * 1000000ULL)

static int unit_multiplier(const char *unit, uint64_t *mult)
{
    if (*unit == '\0' || strcmp(unit, "s") == 0)
        *mult = 1000000;
    else if (strcmp(unit, "ms") == 0)
        *mult = 1000;
    else if (strcmp(unit, "m") == 0)
        *mult = 60000000;
    else
        return -EINVAL;
    return 0;
}

int tt_duration_parse(const char *s, uint64_t *us)
{
    uint64_t v = 0, mult;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > DURATION_MAX_US / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (unit_multiplier(p, &mult) < 0)
        return -EINVAL;
    if (v > DURATION_MAX_US / mult)
        return -ERANGE;
    *us = v * mult;
    return 0;
}
