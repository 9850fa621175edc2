/*
 * The device pump: moves datagrams between the TUN device and the engine in
 * bursts, so that the device's receive queue (the kernel's transmit queue,
 * txqueuelen long) is emptied faster than the kernel fills it.
 *
 * On a readable wake-up it reads until the device says EAGAIN (at most
 * PUMP_READ_BUDGET datagrams, so timers and the control socket still get
 * their turn), handing each datagram to the engine at once. What the engine
 * sends is not written at once but held in a ring, and written
 * PUMP_CHUNK at a time between reads (sooner once they hold
 * PUMP_CHUNK_BYTES: with offloads one datagram may be 64 KB): the transmit side progresses while
 * the receive queue is still being drained. Except after a small datagram
 * (at most PUMP_EAGER_LEN bytes: a request, not bulk data) among the first
 * PUMP_EAGER read since the device was last found empty: its answer leaves
 * before the next read, so that a round trip costs one read and one write,
 * as the raw reflector's does, not a second read that finds the device
 * empty; a burst of small datagrams is chunked after them. Once the device is empty the
 * rest is written; since a write to the device runs the kernel's receive
 * path, which may answer at once, the device is read again after writes,
 * but never twice in a row only to hear EAGAIN again.
 *
 * A write refused for a moment (EAGAIN) keeps its datagram and everything
 * after it, in order, and asks for UV_WRITABLE; a datagram that finds the
 * ring full is lost and counted (TtTunTxDrops), never silently.
 *
 * The pump knows no file descriptor: its reads and writes go through
 * pump_ops, so that tests can drive it with a fake device.
 */
#ifndef TT_PUMP_H
#define TT_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "report.h"

#define PUMP_READ_BUDGET 256   /* datagrams read per wake-up */
#define PUMP_CHUNK 32          /* held datagrams written between two reads */
#define PUMP_CHUNK_BYTES 65536 /* or fewer, once they hold this much (super-segments) */
#define PUMP_EAGER 16       /* answers written before the next read, after the device was empty */
#define PUMP_EAGER_LEN 1024 /* to datagrams of at most this many bytes (requests, not bulk) */

struct pump_ops {
    /* One datagram into buf (cap bytes): its length, or a negative errno (-EAGAIN: empty). */
    ssize_t (*read)(void *ctx, uint8_t *buf, size_t cap);
    /* One datagram to the device: its length, or a negative errno. */
    ssize_t (*write)(void *ctx, const uint8_t *pkt, size_t len);
    /* A datagram read: to the engine, whose output comes back through tt_pump_pushv(). */
    void (*input)(void *ctx, uint8_t *pkt, size_t len);
    /* Before the held datagrams are written: what the caller still holds
     * (an offload batch waiting for more) joins the ring. May be NULL. */
    void (*settle)(void *ctx);
    /* Poll (or stop polling) the device for writability. */
    void (*want_writable)(void *ctx, bool on);
};

/* One held datagram: where it is in the arena, and whether it is a super-segment. */
struct pump_ent {
    uint32_t off, len;
    bool super;
};

struct pump {
    const struct pump_ops *ops;
    void *ctx;
    struct drv_counters *ctr; /* tun_in/out, errors, txq_queued/drops, tun_out_super */
    uint8_t *rxbuf;           /* one datagram read */
    size_t rxcap;
    /* The ring: entries in order, their bytes in an arena; each entry is
     * contiguous, so the arena may leave its end unused when one wraps. */
    struct pump_ent *ent;
    size_t slots, head, count;
    uint8_t *arena;
    size_t arena_cap;
    size_t arena_tail;  /* where the next entry's bytes go */
    size_t bytes;       /* held in all entries */
    bool blocked;       /* a write met EAGAIN: waiting for UV_WRITABLE */
    int error;          /* 0, or the negative errno that lost the device */
    const char *err_op; /* "read" or "write": the call that failed */
};

/*
 * slots datagrams and arena bytes held at most; rxcap: the largest
 * datagram read (with its virtio header). Errors: -ENOMEM.
 */
int tt_pump_init(struct pump *p, const struct pump_ops *ops, void *ctx, struct drv_counters *ctr,
                 size_t slots, size_t arena, size_t rxcap);
void tt_pump_free(struct pump *p);

/*
 * Holds a copy of one datagram, given in pieces (a virtio header, then the
 * datagram or a super-segment's header and payloads). false when it found
 * no room (counted in txq_drops) or the device is lost (not counted: the
 * run is ending).
 */
bool tt_pump_pushv(struct pump *p, const struct iovec *iov, int n, bool super);

/*
 * The device is readable: reads, feeds, and writes as described above.
 * Returns 0, or the negative errno that lost the device (p->err_op says
 * which call); nothing is read or written after that.
 */
int tt_pump_readable(struct pump *p);

/*
 * Writes what is held (after ops->settle), up to EAGAIN: for the end of a
 * loop iteration. While a write waits for UV_WRITABLE it writes nothing:
 * asking again would only hear EAGAIN again. Returns 0 or the negative
 * errno that lost the device.
 */
int tt_pump_flush(struct pump *p);

/* The device is writable again: writes what is held, and stops polling
 * for writability once all is written. Returns as tt_pump_flush(). */
int tt_pump_writable(struct pump *p);

#endif
