/*
 * Spare blocks (issue 15). A short connection allocates its TCB, the first
 * buffer of its send ring and the first records of its skb, RTT-sample and
 * RACK logs, and frees the logs and the ring again once its data is
 * acknowledged, the TCB at its end: about a dozen malloc()/free() calls,
 * 2,500 instructions of a 22,000-instruction connection. Freed blocks of
 * those sizes wait here, per engine, for the next connection instead.
 *
 * Each kind keeps at most TT_SPARE_MAX blocks, so what an idle engine
 * holds is bounded (under 200 KiB) and an idle connection still holds no
 * buffer. A block keeps the link to the next spare in its first bytes.
 * Under AddressSanitizer a spare block is poisoned, so that a use after
 * "free" is still caught.
 */
#include "spare.h"

#include <stdlib.h>

#include "engine.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(TT_ASAN)
#define TT_ASAN 1
#endif

#ifdef TT_ASAN
#include <sanitizer/asan_interface.h>
#define poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define poison(p, n) ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

struct spare {
    struct spare *next;
};

void *tt_spare_take(tt_engine_t *eng, enum tt_spare_kind k, size_t size)
{
    struct tt_spares *s = &eng->spares;
    struct spare *b = s->head[k];
    if (!b)
        return malloc(size);
    unpoison(b, size);
    s->head[k] = b->next;
    s->len[k]--;
    return b;
}

void tt_spare_give(tt_engine_t *eng, enum tt_spare_kind k, void *p, size_t size)
{
    struct tt_spares *s = &eng->spares;
    if (!p)
        return;
    if (s->len[k] >= TT_SPARE_MAX || size < sizeof(struct spare)) {
        free(p);
        return;
    }
    struct spare *b = p;
    b->next = s->head[k];
    poison(b, size);
    s->head[k] = b;
    s->len[k]++;
}

void tt_spares_fini(struct tt_spares *s)
{
    for (int k = 0; k < TT_SPARE_KINDS; k++) {
        while (s->head[k]) {
            struct spare *b = s->head[k];
            unpoison(b, sizeof(*b));
            s->head[k] = b->next;
            free(b);
        }
        s->len[k] = 0;
    }
}
