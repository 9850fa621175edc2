/*
 * echo-client's measurements and its --json summary (client_stats.h,
 * docs/contract.md §3.4). The latencies are kept whole, so the percentiles
 * are exact (nearest rank); the timeline grows one entry per second of the
 * run. Both grow by doubling, so recording costs O(1) amortised.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_stats.h"

#define US_PER_S 1000000ULL

void cs_init(struct cl_stats *cs, uint64_t t0)
{
    memset(cs, 0, sizeof(*cs));
    cs->t0 = t0;
}

void cs_free(struct cl_stats *cs)
{
    free(cs->lat_us);
    free(cs->secs);
    cs->lat_us = NULL;
    cs->secs = NULL;
}

/* The timeline's entry for now, grown as needed; NULL when memory ran out. */
static struct cs_second *cs_second_at(struct cl_stats *cs, uint64_t now)
{
    size_t idx = (size_t)((now > cs->t0 ? now - cs->t0 : 0) / US_PER_S);

    if (idx >= cs->cap_secs) {
        size_t cap = cs->cap_secs ? cs->cap_secs : 16;
        while (cap <= idx)
            cap *= 2;
        struct cs_second *s = realloc(cs->secs, cap * sizeof(*s));
        if (s == NULL) {
            cs->incomplete = true;
            return NULL;
        }
        memset(s + cs->cap_secs, 0, (cap - cs->cap_secs) * sizeof(*s));
        cs->secs = s;
        cs->cap_secs = cap;
    }
    if (idx >= cs->nsecs)
        cs->nsecs = idx + 1;
    return &cs->secs[idx];
}

void cs_attempt(struct cl_stats *cs, uint64_t now)
{
    struct cs_second *s = cs_second_at(cs, now);

    cs->attempts++;
    if (s != NULL)
        s->attempts++;
}

void cs_established(struct cl_stats *cs, uint64_t now, uint64_t latency_us)
{
    struct cs_second *s = cs_second_at(cs, now);

    cs->established++;
    if (s != NULL)
        s->established++;
    if (cs->nlat == cs->cap_lat) {
        size_t cap = cs->cap_lat ? cs->cap_lat * 2 : 256;
        uint32_t *l = realloc(cs->lat_us, cap * sizeof(*l));
        if (l == NULL) {
            cs->incomplete = true;
            return;
        }
        cs->lat_us = l;
        cs->cap_lat = cap;
    }
    cs->lat_us[cs->nlat++] = latency_us > UINT32_MAX ? UINT32_MAX : (uint32_t)latency_us;
}

void cs_verified(struct cl_stats *cs, uint64_t now)
{
    struct cs_second *s = cs_second_at(cs, now);

    cs->verified++;
    if (s != NULL)
        s->verified++;
}

void cs_failed(struct cl_stats *cs, uint64_t now, const char *kind)
{
    struct cs_second *s = cs_second_at(cs, now);
    struct cs_kind *k = NULL;

    cs->failed++;
    if (s != NULL)
        s->failed++;
    for (size_t i = 0; i < cs->nkinds && k == NULL; i++)
        if (strcmp(cs->kinds[i].name, kind) == 0)
            k = &cs->kinds[i];
    if (k == NULL && cs->nkinds == CS_MAX_KINDS) {
        cs->incomplete = true;
        return;
    }
    if (k == NULL) {
        k = &cs->kinds[cs->nkinds++];
        *k = (struct cs_kind){kind, 0, now, now};
    }
    k->count++;
    k->last_us = now;
}

void cs_sample_tw(struct cl_stats *cs, uint64_t now, size_t entries, size_t bytes)
{
    struct cs_second *s = cs_second_at(cs, now);

    if (entries > cs->tw_peak)
        cs->tw_peak = entries;
    if (bytes > cs->tw_bytes_peak)
        cs->tw_bytes_peak = bytes;
    if (s != NULL && entries > s->tw)
        s->tw = entries;
}

/* The kinds of src into dst, matched by name. */
static void cs_merge_kinds(struct cl_stats *dst, const struct cl_stats *src)
{
    for (size_t i = 0; i < src->nkinds; i++) {
        const struct cs_kind *sk = &src->kinds[i];
        struct cs_kind *k = NULL;
        for (size_t j = 0; j < dst->nkinds && k == NULL; j++)
            if (strcmp(dst->kinds[j].name, sk->name) == 0)
                k = &dst->kinds[j];
        if (k == NULL && dst->nkinds == CS_MAX_KINDS) {
            dst->incomplete = true;
            continue;
        }
        if (k == NULL) {
            dst->kinds[dst->nkinds++] = *sk;
            continue;
        }
        k->count += sk->count;
        k->first_us = sk->first_us < k->first_us ? sk->first_us : k->first_us;
        k->last_us = sk->last_us > k->last_us ? sk->last_us : k->last_us;
    }
}

/* The timeline of src, shifted to dst's start (the earlier one); the TIME_WAIT figures add up,
 * the queues' engines holding disjoint entries. */
static void cs_merge_seconds(struct cl_stats *dst, const struct cl_stats *src)
{
    for (size_t i = 0; i < src->nsecs; i++) {
        const struct cs_second *ss = &src->secs[i];
        struct cs_second *s = cs_second_at(dst, src->t0 + i * US_PER_S);
        if (s == NULL)
            continue;
        s->attempts += ss->attempts;
        s->established += ss->established;
        s->verified += ss->verified;
        s->failed += ss->failed;
        s->tw += ss->tw;
    }
}

int cs_merge(struct cl_stats *dst, const struct cl_stats *src)
{
    if (dst->nlat + src->nlat > dst->cap_lat) {
        uint32_t *l = realloc(dst->lat_us, (dst->nlat + src->nlat) * sizeof(*l));
        if (l == NULL)
            return -ENOMEM;
        dst->lat_us = l;
        dst->cap_lat = dst->nlat + src->nlat;
    }
    if (src->nlat > 0)
        memcpy(dst->lat_us + dst->nlat, src->lat_us, src->nlat * sizeof(*src->lat_us));
    dst->nlat += src->nlat;
    dst->attempts += src->attempts;
    dst->established += src->established;
    dst->verified += src->verified;
    dst->failed += src->failed;
    dst->tw_peak += src->tw_peak;
    dst->tw_bytes_peak += src->tw_bytes_peak;
    dst->incomplete |= src->incomplete;
    cs_merge_kinds(dst, src);
    cs_merge_seconds(dst, src);
    return 0;
}

const char *cs_errno_name(int err)
{
    static const struct {
        int e;
        const char *name;
    } names[] = {
        {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
        {ECONNREFUSED, "ECONNREFUSED"},
        {ETIMEDOUT, "ETIMEDOUT"},
        {ECONNRESET, "ECONNRESET"},
        {ECONNABORTED, "ECONNABORTED"},
        {EPIPE, "EPIPE"},
        {ENOTCONN, "ENOTCONN"},
        {ENOMEM, "ENOMEM"},
        {EBUSY, "EBUSY"},
        {EINVAL, "EINVAL"},
        {EHOSTUNREACH, "EHOSTUNREACH"},
        {ENETUNREACH, "ENETUNREACH"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (-err == names[i].e)
            return names[i].name;
    return "EIO";
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest latency at or above fraction p of them (n > 0). */
static double pct_ms(const uint32_t *sorted, size_t n, unsigned pct)
{
    size_t rank = (n * pct + 99) / 100;

    return sorted[rank > 0 ? rank - 1 : 0] / 1000.0;
}

static double secs(const struct cl_stats *cs, uint64_t t)
{
    return (t > cs->t0 ? t - cs->t0 : 0) / (double)US_PER_S;
}

static void json_latency(struct cl_stats *cs, FILE *f)
{
    size_t n = cs->nlat;

    if (n == 0) {
        fputs("\"connect_latency_ms\":null", f);
        return;
    }
    qsort(cs->lat_us, n, sizeof(*cs->lat_us), cmp_u32);
    fprintf(f,
            "\"connect_latency_ms\":{\"count\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
            "\"max\":%.3f}",
            n, pct_ms(cs->lat_us, n, 50), pct_ms(cs->lat_us, n, 90), pct_ms(cs->lat_us, n, 99),
            cs->lat_us[n - 1] / 1000.0);
}

static void json_failures(const struct cl_stats *cs, FILE *f)
{
    fputs("\"failures\":{", f);
    for (size_t i = 0; i < cs->nkinds; i++) {
        const struct cs_kind *k = &cs->kinds[i];
        fprintf(f, "%s\"%s\":{\"count\":%llu,\"first_s\":%.6f,\"last_s\":%.6f}", i ? "," : "",
                k->name, (unsigned long long)k->count, secs(cs, k->first_us), secs(cs, k->last_us));
    }
    fputc('}', f);
}

static void json_timeline(const struct cl_stats *cs, FILE *f)
{
    fputs("\"timeline\":[", f);
    for (size_t i = 0; i < cs->nsecs; i++) {
        const struct cs_second *s = &cs->secs[i];
        fprintf(f,
                "%s{\"t\":%zu,\"attempts\":%llu,\"established\":%llu,\"verified\":%llu,"
                "\"failed\":%llu,\"tw\":%zu}",
                i ? "," : "", i, (unsigned long long)s->attempts,
                (unsigned long long)s->established, (unsigned long long)s->verified,
                (unsigned long long)s->failed, s->tw);
    }
    fputc(']', f);
}

/* Per second of the opening period; null when it lasted no time. */
static void json_rate(FILE *f, const char *name, uint64_t n, double open_s)
{
    if (open_s > 0)
        fprintf(f, ",\"%s\":%.3f", name, n / open_s);
    else
        fprintf(f, ",\"%s\":null", name);
}

int cs_write_json(struct cl_stats *cs, const struct cs_run *run, FILE *f)
{
    double open_s = secs(cs, run->open_end_us);

    fprintf(f, "{\"attempts\":%llu,\"established\":%llu,\"verified\":%llu,\"failed\":%llu,",
            (unsigned long long)cs->attempts, (unsigned long long)cs->established,
            (unsigned long long)cs->verified, (unsigned long long)cs->failed);
    json_failures(cs, f);
    fputc(',', f);
    json_latency(cs, f);
    fprintf(f, ",\"duration_s\":%.6f,\"open_s\":%.6f", secs(cs, run->end_us), open_s);
    if (run->rate != 0)
        fprintf(f, ",\"rate\":%llu", (unsigned long long)run->rate);
    else
        fputs(",\"rate\":null", f);
    json_rate(f, "attempts_per_s", cs->attempts, open_s);
    json_rate(f, "verified_per_s", cs->verified, open_s);
    fprintf(f, ",\"timewait_peak\":{\"entries\":%zu,\"bytes\":%zu},\"exit_status\":%d,",
            cs->tw_peak, cs->tw_bytes_peak, run->exit_status);
    fprintf(f, "\"incomplete\":%s,", cs->incomplete ? "true" : "false");
    json_timeline(cs, f);
    fputs("}\n", f);
    return ferror(f) ? -EIO : 0;
}
