/*
 * The device pump (pump.h): reads until the device is empty, holds what the
 * engine sends in a ring, and writes it in chunks between reads.
 *
 * Why hold the output: Linux's TUN device queues what the kernel sends us
 * (txqueuelen datagrams, 500 by default) and drops the excess. Writing each
 * answer as the engine produces it halves the rate at which that queue is
 * read during a burst, and a bulk sender overflows it; reading a chunk,
 * then writing a chunk, keeps the reads ahead while the answers still leave
 * within the same wake-up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pump.h"
#include "tun.h"

int tt_pump_init(struct pump *p, const struct pump_ops *ops, void *ctx, struct drv_counters *ctr,
                 size_t slots, size_t arena, size_t rxcap)
{
    memset(p, 0, sizeof(*p));
    p->ops = ops;
    p->ctx = ctx;
    p->ctr = ctr;
    p->ent = calloc(slots, sizeof(*p->ent));
    p->arena = malloc(arena);
    p->rxbuf = malloc(rxcap);
    if (p->ent == NULL || p->arena == NULL || p->rxbuf == NULL) {
        tt_pump_free(p);
        return -ENOMEM;
    }
    p->slots = slots;
    p->arena_cap = arena;
    p->rxcap = rxcap;
    return 0;
}

void tt_pump_free(struct pump *p)
{
    free(p->ent);
    free(p->arena);
    free(p->rxbuf);
    memset(p, 0, sizeof(*p));
}

/* ---- the ring ---- */

/*
 * Where len contiguous bytes fit after the newest entry: their offset, or
 * -1. Live bytes run from the oldest entry's offset to arena_tail, around
 * the end when they have wrapped.
 */
static long pump_place(const struct pump *p, size_t len)
{
    size_t head_off, tail = p->arena_tail;

    if (p->count == 0)
        return len <= p->arena_cap ? 0 : -1;
    if (p->count == p->slots)
        return -1;
    head_off = p->ent[p->head].off;
    if (tail > head_off) { /* not wrapped: room at the end, else at the start */
        if (p->arena_cap - tail >= len)
            return (long)tail;
        return len <= head_off ? 0 : -1;
    }
    return head_off - tail >= len ? (long)tail : -1; /* wrapped: the gap between */
}

bool tt_pump_pushv(struct pump *p, const struct iovec *iov, int n, bool super)
{
    size_t len = 0;
    long off;

    if (p->error != 0)
        return false; /* nowhere to write: the run is ending */
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    off = len > 0 && len <= UINT32_MAX ? pump_place(p, len) : -1;
    if (off < 0) {
        p->ctr->txq_drops++;
        return false;
    }
    struct pump_ent *e = &p->ent[(p->head + p->count) % p->slots];
    *e = (struct pump_ent){(uint32_t)off, (uint32_t)len, super};
    for (int i = 0; i < n; i++) {
        memcpy(p->arena + off, iov[i].iov_base, iov[i].iov_len);
        off += (long)iov[i].iov_len;
    }
    p->arena_tail = (size_t)off;
    p->count++;
    p->bytes += len;
    return true;
}

static void pump_pop(struct pump *p)
{
    p->bytes -= p->ent[p->head].len;
    p->head = (p->head + 1) % p->slots;
    p->count--;
}

/* ---- the device ---- */

/* The device is lost: what is held can never be written. */
static int pump_lose(struct pump *p, const char *op, int err)
{
    p->error = err;
    p->err_op = op;
    p->count = 0;
    p->bytes = 0;
    return err;
}

static void pump_block(struct pump *p, bool on)
{
    p->blocked = on;
    p->ops->want_writable(p->ctx, on);
}

/*
 * Writes up to max held datagrams, oldest first; *done counts those that
 * left (written, or lost to an error the datagram alone suffers). Stops at
 * EAGAIN, the datagram kept. Returns 0 or the errno that lost the device.
 */
static int pump_write(struct pump *p, size_t max, size_t *done)
{
    while (*done < max && p->count > 0 && !p->blocked) {
        const struct pump_ent *e = &p->ent[p->head];
        ssize_t n = p->ops->write(p->ctx, p->arena + e->off, e->len);

        if (n >= 0) {
            p->ctr->tun_out++;
            p->ctr->tun_out_super += e->super;
        } else if (tt_tun_err_kind((int)n) == TUN_ERR_RETRY) {
            p->ctr->txq_queued++;
            pump_block(p, true);
            return 0;
        } else {
            p->ctr->tun_write_errors++;
            if (tt_tun_err_kind((int)n) == TUN_ERR_FATAL)
                return pump_lose(p, "write", (int)n);
        }
        pump_pop(p);
        (*done)++;
    }
    return 0;
}

/* settle, then everything held up to EAGAIN; *done counts what left. */
static int pump_flush_all(struct pump *p, size_t *done)
{
    if (p->error != 0)
        return p->error;
    if (p->ops->settle != NULL)
        p->ops->settle(p->ctx);
    return pump_write(p, SIZE_MAX, done);
}

int tt_pump_flush(struct pump *p)
{
    size_t done = 0;

    return pump_flush_all(p, &done);
}

int tt_pump_writable(struct pump *p)
{
    int rc;

    p->blocked = false;
    rc = tt_pump_flush(p);
    if (rc == 0 && p->count == 0)
        p->ops->want_writable(p->ctx, false);
    return rc;
}

enum pump_read { PUMP_EMPTY, PUMP_FED, PUMP_LOST };

/* One read: a datagram fed to the engine (*len bytes), the device empty, or a datagram lost. */
static int pump_read_one(struct pump *p, size_t *len)
{
    ssize_t n = p->ops->read(p->ctx, p->rxbuf, p->rxcap);

    if (n > 0) {
        *len = (size_t)n;
        p->ctr->tun_in++; /* datagrams, as the device counts them: a super-segment is one */
        p->ops->input(p->ctx, p->rxbuf, (size_t)n);
        return PUMP_FED;
    }
    if (n == 0 || tt_tun_err_kind((int)n) == TUN_ERR_RETRY)
        return PUMP_EMPTY;
    p->ctr->tun_read_errors++;
    if (tt_tun_err_kind((int)n) == TUN_ERR_FATAL)
        return pump_lose(p, "read", (int)n);
    return PUMP_LOST;
}

int tt_pump_readable(struct pump *p)
{
    size_t eager = 0; /* answers written at once since the device was last found empty */

    for (size_t reads = 0; reads < PUMP_READ_BUDGET && p->error == 0; reads++) {
        size_t done = 0, len = 0;
        int rc = pump_read_one(p, &len);

        if (rc < 0)
            return rc;
        if (rc == PUMP_EMPTY) {
            /* Empty: the rest leaves now. Only if something did can the
             * kernel have answered, and only then is reading again useful. */
            if (pump_flush_all(p, &done) < 0 || done == 0 || p->count > 0)
                return p->error;
            eager = 0;
            continue;
        }
        /* A small request and its answer: the answer leaves before the next
         * read, as a reflector's would, instead of after a read that only
         * finds the device empty. A burst is answered so only for its first
         * PUMP_EAGER datagrams, then in chunks: its reads stay ahead. Bulk
         * data (full segments, super-segments) is not a request: it is read
         * on, so that the kernel's next super-segment and our echo of it
         * stay large. What waits in the caller's batch (a run that may
         * grow) is not settled. */
        if (rc == PUMP_FED && len <= PUMP_EAGER_LEN && p->count > 0 && eager < PUMP_EAGER) {
            eager++;
            if (pump_write(p, SIZE_MAX, &done) < 0)
                return p->error;
            continue;
        }
        if ((p->count >= PUMP_CHUNK || p->bytes >= PUMP_CHUNK_BYTES) &&
            pump_write(p, PUMP_CHUNK, &done) < 0)
            return p->error;
    }
    return tt_pump_flush(p);
}
