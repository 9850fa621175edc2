/*
 * The peer and the network of the fuzz harness (see fuzz_engine.c): PEER
 * builds well-formed segments from fields whose sequence numbers are offsets
 * from what the engine said last, MANGLE breaks the last of them on purpose,
 * INPUT feeds raw bytes, PING an ICMP echo request, and LOOP hands the
 * engine its own output back (a connection to itself, with losses).
 */
#include <inttypes.h>
#include <string.h>

#include "checksum.h"
#include "fuzz.h"
#include "ipv4.h"
#include "tcp_wire.h"

const uint32_t peer_addrs[4] = {0x0a070001u, 0x0a070003u, 0x0a070001u, ENGINE_ADDR};
const uint16_t peer_ports[4] = {41234, 41235, 80, 7};
const uint16_t our_ports[4] = {7, 80, 8080, 40000};

/* ---- the peer ---- */

static struct flow *pick_flow(struct fz *f)
{
    struct model *m = &f->model;
    uint8_t b = rd_u8(&f->in);
    unsigned n = 0;

    if (!(b & 0x80)) { /* the (b % in-use)-th flow known */
        for (unsigned i = 0; i < FZ_FLOWS; i++)
            n += m->flows[i].used;
        unsigned k = n ? b % n : 0;
        for (unsigned i = 0; n && i < FZ_FLOWS; i++) {
            if (m->flows[i].used && k-- == 0)
                return &m->flows[i];
        }
    }
    return model_flow(m, peer_addrs[b & 1], our_ports[(b >> 3) & 3], peer_ports[(b >> 1) & 3],
                      true);
}

/* Sequence numbers as offsets from what each side said last (the encoding's
 * "bases"), or absolute. */
static uint32_t peer_seq(struct fz *f, const struct flow *fl, unsigned base)
{
    switch (base & 3) {
    case 0:
        return fl->peer_isn + (uint32_t)(int16_t)rd_u16(&f->in);
    case 1:
        return fl->eng_ack + (uint32_t)(int16_t)rd_u16(&f->in); /* its RCV.NXT */
    case 2:
        return fl->peer_hi + (uint32_t)(int16_t)rd_u16(&f->in);
    default:
        return rd_u32(&f->in);
    }
}

static uint32_t peer_ack(struct fz *f, const struct flow *fl, unsigned base)
{
    switch (base & 3) {
    case 0:
        return fl->eng_iss + (uint32_t)(int16_t)rd_u16(&f->in);
    case 1:
        return fl->eng_nxt + (uint32_t)(int16_t)rd_u16(&f->in); /* its SND.NXT */
    case 2:
        return fl->eng_seq + (uint32_t)(int16_t)rd_u16(&f->in);
    default:
        return rd_u32(&f->in);
    }
}

static void peer_options(struct fz *f, const struct flow *fl, uint8_t sel, struct tcp_opts *o)
{
    memset(o, 0, sizeof(*o));
    if (sel & 0x10) { /* RFC 7323 3: TSval from the peer's clock, TSecr echoes ours */
        o->ts_ok = true;
        o->ts_val = (uint32_t)(f->now / MS) + fl->ts_base + (uint32_t)(int8_t)rd_u8(&f->in);
        o->ts_ecr = fl->eng_tsval;
    }
    if (sel & 0x20) {
        o->mss_ok = true;
        o->mss = rd_u16(&f->in);
    }
    if (sel & 0x40) {
        o->ws_ok = true;
        o->ws = rd_u8(&f->in);
        o->sack_ok = true;
    }
    if (sel & 0x80) { /* RFC 2018 3: blocks around the engine's SND.NXT */
        o->sack_count = (uint8_t)(1 + rd_u8(&f->in) % TCP_SACK_MAX);
        for (unsigned i = 0; i < o->sack_count; i++) {
            o->sack[i].left = fl->eng_nxt + (uint32_t)(int16_t)rd_u16(&f->in);
            o->sack[i].right = fl->eng_nxt + (uint32_t)(int16_t)rd_u16(&f->in);
        }
    }
}

/* 0..127 bytes, or a multiple of 64 up to 8192. */
static uint32_t payload_len(uint8_t code)
{
    return code < 128 ? code : (uint32_t)(code - 127) * 64;
}

void op_peer(struct fz *f)
{
    struct flow *fl = pick_flow(f);
    struct seg s;

    memset(&s, 0, sizeof(s));
    s.flags = rd_u8(&f->in);
    uint8_t sel = rd_u8(&f->in);
    s.seq = peer_seq(f, fl, sel);
    s.ack = peer_ack(f, fl, sel >> 2);
    s.wnd = rd_u16(&f->in);
    s.len = payload_len(rd_u8(&f->in));
    peer_options(f, fl, sel, &s.opt);
    s.saddr = fl->raddr;
    s.daddr = ENGINE_ADDR;
    s.sport = fl->rport;
    s.dport = fl->lport;
    s.data = &g_pattern[(uint8_t)(s.seq + ((s.flags & TCP_SYN) ? 1 : 0))];
    TRACE(f,
          "PEER %u>%u flags %02x seq %08" PRIx32 " ack %08" PRIx32 " wnd %u len %" PRIu32
          " ts %d/%08" PRIx32 "\n",
          s.sport, s.dport, s.flags, s.seq, s.ack, s.wnd, s.len, s.opt.ts_ok, s.opt.ts_val);
    f->last_len = tt_tcp_build(f->last, sizeof(f->last), &s, f->ip_id++);
    if (f->last_len)
        feed(f, f->last, f->last_len);
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 791 3.1: the header checksum again, when the header is whole. */
static void fix_ip_csum(uint8_t *p, size_t len)
{
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;

    if (ihl < IPV4_HDR_LEN || ihl > len)
        return;
    p[10] = p[11] = 0;
    uint16_t c = tt_csum_fold(tt_csum_add(0, p, ihl));
    p[10] = (uint8_t)(c >> 8);
    p[11] = (uint8_t)c;
}

/* RFC 9293 3.1: the TCP checksum again, over what follows a 20-byte header. */
static void fix_tcp_csum(uint8_t *p, size_t len)
{
    if (len < IPV4_HDR_LEN + TCP_HDR_LEN)
        return;
    size_t tlen = len - IPV4_HDR_LEN;
    uint8_t *t = p + IPV4_HDR_LEN;
    uint32_t sum =
        tt_csum_pseudo(load_be32(p + 12), load_be32(p + 16), IP_PROTO_TCP, (uint16_t)tlen);
    t[16] = t[17] = 0;
    uint16_t c = tt_csum_fold(tt_csum_add(sum, t, tlen));
    t[16] = (uint8_t)(c >> 8);
    t[17] = (uint8_t)c;
}

/* Malformed on purpose: a flipped byte or a cut in the last PEER datagram,
 * checksums fixed or not, so the parsers see near-valid input. */
void op_mangle(struct fz *f)
{
    uint16_t off = rd_u16(&f->in);
    uint8_t x = rd_u8(&f->in), mode = rd_u8(&f->in);
    size_t len = f->last_len;

    TRACE(f, "MANGLE off %u xor %02x mode %02x\n", off, x, mode);
    if (len < IPV4_HDR_LEN)
        return;
    memcpy(f->pkt, f->last, len);
    off = (uint16_t)(off % len);
    if (mode & 1)
        len = off; /* truncated */
    else
        f->pkt[off] ^= x;
    if (mode & 2)
        fix_ip_csum(f->pkt, len);
    if (mode & 4)
        fix_tcp_csum(f->pkt, len);
    feed(f, f->pkt, len);
}

void op_input(struct fz *f)
{
    size_t want = rd_u16(&f->in) % 2048;
    size_t have = f->in.len - f->in.pos;
    size_t n = want < have ? want : have;

    TRACE(f, "INPUT %zu bytes\n", n);
    memcpy(f->pkt, f->in.p + f->in.pos, n);
    f->in.pos += n;
    feed(f, f->pkt, n);
}

/* RFC 792 echo request from the peer: the engine must answer it well formed. */
void op_ping(struct fz *f)
{
    uint8_t n = rd_u8(&f->in);
    uint8_t *icmp = f->pkt + IPV4_HDR_LEN;
    size_t ilen = 8 + (size_t)n;

    TRACE(f, "PING %u\n", n);
    tt_ipv4_build(f->pkt, peer_addrs[0], ENGINE_ADDR, IP_PROTO_ICMP, (uint16_t)ilen, f->ip_id++);
    memset(icmp, 0, 8);
    icmp[0] = 8;
    icmp[5] = n;
    memcpy(icmp + 8, g_pattern, n);
    uint16_t c = tt_csum_fold(tt_csum_add(0, icmp, ilen));
    icmp[2] = (uint8_t)(c >> 8);
    icmp[3] = (uint8_t)c;
    feed(f, f->pkt, IPV4_HDR_LEN + ilen);
}

/* The engine's own output back to it, in order, some lost: a connection to
 * itself (CONNECT to its own address) runs through this. */
void op_loop(struct fz *f)
{
    unsigned n = 1 + rd_u8(&f->in) % 16;
    uint16_t lose = rd_u16(&f->in);
    struct pktq *q = &f->outq;

    TRACE(f, "LOOP %u lose %04x\n", n, lose);
    for (unsigned i = 0; i < n && q->count > 0; i++) {
        uint16_t len = q->len[q->head];
        memcpy(f->pkt, q->buf[q->head], len);
        q->head = (q->head + 1) % QUEUE_LEN;
        q->count--;
        if (!(lose & (1u << i)))
            feed(f, f->pkt, len);
    }
}
