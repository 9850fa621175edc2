/*
 * The fuzz harness's shared state (see fuzz_engine.c): the program being
 * read, the application's handles, the engine's output queue, and the model.
 * fuzz_engine.c plays the clock and the application; fuzz_peer.c the peer.
 */
#ifndef TT_FUZZ_H
#define TT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fuzz_model.h"
#include "tuntcp/tuntcp.h"

#define MS 1000ull
#define SEC 1000000ull

#define ENGINE_ADDR 0x0a070002u /* 10.7.0.2 */
#define N_SLOTS 8
#define N_LISTENERS 4
#define QUEUE_LEN 32
#define QUEUE_PKT 9100 /* the largest MTU offered, 9000, and change */
#define PKT_MAX 65536
#define ADVANCE_MAX_STEPS 1000000

enum op {
    OP_PEER,
    OP_ADVANCE,
    OP_ADVANCE_NEXT,
    OP_INPUT,
    OP_LISTEN,
    OP_CONNECT,
    OP_ACCEPT,
    OP_WRITE,
    OP_SHUTDOWN,
    OP_CLOSE,
    OP_CLOSE_RESET,
    OP_LINGER,
    OP_READ,
    OP_LISTENER_CLOSE,
    OP_LOOP,
    OP_MANGLE,
    OP_PING,
    OP_COUNT
};

/* The encoding's small tables (README.md): addresses and ports to pick from. */
extern const uint32_t peer_addrs[4];
extern const uint16_t peer_ports[4];
extern const uint16_t our_ports[4];

/* An application handle (a connection the app holds). */
struct slot {
    tt_conn_t *c;
    bool used, closing, active;
    bool connected, eof, failed, rx_have, wpure, linger_on;
    unsigned linger_s;
    uint64_t close_at; /* when the application closed it */
    uint8_t rx_next;   /* the byte the stream must carry next */
    uint8_t wbase;     /* (uint8_t)(ISS + 1): the pattern's start */
    uint32_t raddr;    /* the 4-tuple, for the model */
    uint16_t lport, rport;
    uint64_t wr_off; /* bytes written so far */
};

struct lslot {
    tt_listener_t *l;
    uint16_t port;
};

struct reader {
    const uint8_t *p;
    size_t len, pos;
};

struct pktq {
    uint8_t buf[QUEUE_LEN][QUEUE_PKT];
    uint16_t len[QUEUE_LEN];
    unsigned head, count;
};

struct fz {
    tt_engine_t *eng;
    tt_config_t cfg;
    uint64_t now, ops;
    struct reader in;
    bool auto_accept, cb_echo, cb_close_eof, trace;
    struct slot slots[N_SLOTS];
    struct lslot listeners[N_LISTENERS];
    struct model model;
    struct pktq outq;
    uint8_t last[PKT_MAX]; /* the last datagram PEER built, for MANGLE */
    size_t last_len;
    uint8_t pkt[PKT_MAX];
    uint16_t ip_id;
};

extern struct fz g_fz;                   /* libFuzzer runs one input at a time */
extern uint8_t g_pattern[PKT_MAX + 256]; /* g_pattern[i] == (uint8_t)i */

/* The length of buf's longest prefix that follows the pattern from first:
 * buf[i] == (uint8_t)(first + i). memcmp against g_pattern, a piece at a time,
 * rather than a loop per byte: it runs on every payload the fuzzer moves. */
size_t pattern_prefix(const uint8_t *buf, size_t n, uint8_t first);

/* ---- reading the program ---- */

static inline uint8_t rd_u8(struct reader *r)
{
    return r->pos < r->len ? r->p[r->pos++] : 0;
}

static inline uint16_t rd_u16(struct reader *r)
{
    uint16_t hi = rd_u8(r);
    return (uint16_t)(hi << 8 | rd_u8(r));
}

static inline uint32_t rd_u32(struct reader *r)
{
    uint32_t hi = rd_u16(r);
    return hi << 16 | rd_u16(r);
}

/* LEB128, at most 5 bytes (2^35 µs, about 9.5 hours). */
static inline uint64_t rd_varint(struct reader *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        uint8_t b = rd_u8(r);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    return v;
}

static inline bool rd_done(const struct reader *r)
{
    return r->pos >= r->len;
}

#define TRACE(f, ...)                                                                              \
    do {                                                                                           \
        if ((f)->trace)                                                                            \
            fprintf(stderr, __VA_ARGS__);                                                          \
    } while (0)

/* fuzz_engine.c: a datagram into the engine, the model told first. */
void feed(struct fz *f, const uint8_t *pkt, size_t len);

/* fuzz_peer.c: the operations of the peer and the network. */
void op_peer(struct fz *f);
void op_mangle(struct fz *f);
void op_input(struct fz *f);
void op_ping(struct fz *f);
void op_loop(struct fz *f);

#endif
