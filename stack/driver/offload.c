/*
 * Converting between the kernel's TCP super-segments and wire segments at
 * the TUN device's edge (offload.h). The rules for cutting follow what the
 * kernel's own TCP segmentation does to a TSO packet, so that the engine,
 * the capture and --fault see what a wire would have carried.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "offload.h"

#define IP_PROTO_TCP 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)(v >> 16));
    wr16(p + 2, (uint16_t)v);
}

/* IPv4 header bytes of a TCP datagram without IP options, or 0 when pkt is not one. */
static size_t ip_tcp_hlen(const uint8_t *pkt, size_t len)
{
    size_t doff;

    if (len < 40 || pkt[0] != 0x45 || pkt[9] != IP_PROTO_TCP || rd16(pkt + 2) != len)
        return 0;
    if ((rd16(pkt + 6) & 0x3fff) != 0) /* a fragment: never joined or cut */
        return 0;
    doff = (size_t)(pkt[20 + 12] >> 4) * 4;
    return doff >= 20 && 20 + doff <= len ? 20 + doff : 0;
}

static void ip_fix(uint8_t *ip, size_t total, uint16_t id)
{
    wr16(ip + 2, (uint16_t)total);
    wr16(ip + 4, id);
    wr16(ip + 10, 0);
    wr16(ip + 10, tt_csum_fold(tt_csum_add(0, ip, 20)));
}

static uint32_t pseudo_sum(const uint8_t *ip, size_t tcp_len)
{
    return tt_csum_pseudo(rd32(ip + 12), rd32(ip + 16), IP_PROTO_TCP, (uint16_t)tcp_len);
}

/* ---- input ---- */

/*
 * A partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field at
 * csum_start + csum_offset already holds the pseudo-header sum, so the sum
 * from csum_start to the end, folded and complemented, is the checksum.
 */
static int complete_csum(const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len)
{
    size_t start = vh->csum_start, at = start + vh->csum_offset;

    if (start >= len || at + 2 > len)
        return -EINVAL;
    wr16(pkt + at, tt_csum_fold(tt_csum_add(0, pkt + start, len - start)));
    return 0;
}

bool tt_ofl_csum_vouched(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len)
{
    if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE || ip_tcp_hlen(pkt, len) == 0)
        return false;
    if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID)
        return true;
    return (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && vh->csum_start == 20 &&
           vh->csum_offset == 16;
}

int tt_ofl_split_start(struct ofl_split *s, const struct virtio_net_hdr *vh, uint8_t *pkt,
                       size_t len)
{
    memset(s, 0, sizeof(*s));
    if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
        if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
            return complete_csum(vh, pkt, len);
        return 0;
    }
    if (vh->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || vh->gso_size == 0)
        return -EINVAL; /* only TSO4 is offered to the kernel (tun.c) */
    s->hlen = ip_tcp_hlen(pkt, len);
    if (s->hlen == 0)
        return -EINVAL;
    s->pkt = pkt;
    s->len = len;
    if (s->hlen > sizeof(s->hdr))
        return -EINVAL;
    s->mss = vh->gso_size;
    return 1;
}

/* Payload bytes of the next segment, or 0 when all are cut. */
static size_t next_len(const struct ofl_split *s)
{
    size_t data = s->len - s->hlen;

    if (s->pkt == NULL || s->off >= data)
        return 0;
    return data - s->off > s->mss ? s->mss : data - s->off;
}

/*
 * The header at out (a copy of orig, the super-segment's) made the next
 * segment's, seg payload bytes following it; then the cut moves on.
 */
static size_t cut(struct ofl_split *s, const uint8_t *orig, uint8_t *out, size_t seg)
{
    size_t data = s->len - s->hlen, i = s->off / s->mss, total = s->hlen + seg;
    uint8_t *tcp = out + 20, flags;

    ip_fix(out, total, (uint16_t)(rd16(orig + 4) + i));
    wr32(tcp + 4, rd32(orig + 20 + 4) + (uint32_t)s->off);
    flags = tcp[13];
    if (s->off + seg < data)
        flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
    if (i > 0)
        flags &= (uint8_t)~TCP_CWR;
    tcp[13] = flags;
    wr16(tcp + 16, 0);
    if (s->partial_csum)
        wr16(tcp + 16, (uint16_t)~tt_csum_fold(pseudo_sum(out, total - 20)));
    else if (!s->no_tcp_csum)
        wr16(tcp + 16, tt_csum_fold(tt_csum_add(pseudo_sum(out, total - 20), tcp, total - 20)));
    s->off += seg;
    return total;
}

uint16_t tt_ofl_split_gso_size(const struct ofl_split *s)
{
    return s->pkt != NULL ? (uint16_t)s->mss : 0;
}

size_t tt_ofl_split_next(struct ofl_split *s, uint8_t *out, size_t cap)
{
    size_t seg = next_len(s);

    if (seg == 0 || s->hlen + seg > cap)
        return 0;
    memcpy(out, s->pkt, s->hlen);
    memcpy(out + s->hlen, s->pkt + s->hlen + s->off, seg);
    return cut(s, s->pkt, out, seg);
}

size_t tt_ofl_split_next_in_place(struct ofl_split *s, uint8_t **out)
{
    size_t seg = next_len(s);

    if (seg == 0)
        return 0;
    if (s->off == 0)
        memcpy(s->hdr, s->pkt, s->hlen);
    *out = s->pkt + s->off; /* the hlen bytes before this segment's payload */
    memcpy(*out, s->hdr, s->hlen);
    return cut(s, s->hdr, *out, seg);
}

/* ---- output ---- */

bool tt_ofl_is_tcp(const uint8_t *pkt, size_t len)
{
    return len >= 40 && pkt[0] == 0x45 && pkt[9] == IP_PROTO_TCP;
}

void tt_ofl_complete_tcp(uint8_t *pkt, size_t len)
{
    struct virtio_net_hdr vh;

    tt_ofl_partial_header(&vh);
    complete_csum(&vh, pkt, len);
}

void tt_ofl_partial_header(struct virtio_net_hdr *vh)
{
    memset(vh, 0, sizeof(*vh));
    vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh->csum_start = 20;
    vh->csum_offset = 16;
}

int tt_ofl_batch_init(struct ofl_batch *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->own = malloc(OFL_VNET_LEN + cap);
    if (b->own == NULL)
        return -ENOMEM;
    b->own_cap = cap;
    tt_ofl_batch_reset(b);
    return 0;
}

void tt_ofl_batch_free(struct ofl_batch *b)
{
    free(b->own);
    b->own = b->buf = NULL;
}

void tt_ofl_batch_reset(struct ofl_batch *b)
{
    b->used = b->n = b->hlen = b->mss = b->payload = 0;
    b->flags = 0;
    b->closed = false;
    b->buf = b->own;
    b->cap = b->own_cap;
}

void tt_ofl_batch_place(struct ofl_batch *b, uint8_t *mem, size_t cap)
{
    if (b->n == 0) {
        b->buf = mem;
        b->cap = cap;
    }
}

/* Same addresses, TOS, DF, TTL; same ports, ACK, window and options. */
static bool same_flow(const uint8_t *f, const uint8_t *p, size_t hlen)
{
    return f[1] == p[1] && f[6] == p[6] && f[8] == p[8] && memcmp(f + 12, p + 12, 8) == 0 &&
           memcmp(f + 20, p + 20, 4) == 0 && memcmp(f + 28, p + 28, 4) == 0 &&
           memcmp(f + 34, p + 34, 2) == 0 && memcmp(f + 40, p + 40, hlen - 40) == 0 &&
           rd16(p + 38) == 0;
}

/* Whether pkt (hlen header bytes, a valid TCP datagram) continues b's run. */
static bool joins(const struct ofl_batch *b, const uint8_t *pkt, size_t len, size_t hlen)
{
    const uint8_t *f = b->buf + OFL_VNET_LEN;
    size_t seg = len - hlen;

    if (b->closed || b->n >= OFL_MAX_SEGS || b->used + seg > b->cap)
        return false;
    if (hlen != b->hlen || seg == 0 || seg > b->mss || b->hlen + b->payload + seg > OFL_MAX_DGRAM)
        return false;
    if ((pkt[33] & (uint8_t)~TCP_PSH) != TCP_ACK)
        return false;
    return rd32(pkt + 24) == rd32(f + 24) + (uint32_t)b->payload && same_flow(f, pkt, hlen);
}

/* Appends len bytes to the joined datagram. */
static void take(struct ofl_batch *b, const uint8_t *bytes, size_t len)
{
    memcpy(b->buf + OFL_VNET_LEN + b->used, bytes, len);
    b->used += len;
}

bool tt_ofl_batch_add(struct ofl_batch *b, const uint8_t *pkt, size_t len)
{
    size_t hlen = ip_tcp_hlen(pkt, len);

    if (b->n == 0) {
        if (len > b->cap)
            return false;
        take(b, pkt, len);
        b->n = 1;
        b->hlen = hlen;
        b->mss = hlen != 0 ? len - hlen : 0;
        b->payload = b->mss;
        b->flags = hlen != 0 ? pkt[33] : 0;
        /* Only a run of bare ACK segments with data can grow. */
        b->closed = hlen == 0 || b->mss == 0 || pkt[33] != TCP_ACK;
        return true;
    }
    if (hlen == 0 || !joins(b, pkt, len, hlen))
        return false;
    take(b, pkt + hlen, len - hlen);
    b->n++;
    b->payload += len - hlen;
    b->flags = pkt[33];
    b->closed = len - hlen < b->mss || pkt[33] != TCP_ACK;
    return true;
}

/* hdr (hlen bytes) made the header of a super-segment of total bytes,
 * and the virtio header asking the kernel to cut it into mss-byte segments. */
static void gso_header(uint8_t *hdr, size_t hlen, size_t total, size_t mss,
                       struct virtio_net_hdr *vh)
{
    ip_fix(hdr, total, rd16(hdr + 4));
    /* RFC 9293 3.1's pseudo-header sum, not complemented: the kernel adds the rest. */
    wr16(hdr + 36, (uint16_t)~tt_csum_fold(pseudo_sum(hdr, total - 20)));
    memset(vh, 0, sizeof(*vh));
    vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    vh->hdr_len = (uint16_t)hlen;
    vh->gso_size = (uint16_t)mss;
    vh->csum_start = 20;
    vh->csum_offset = 16;
}

/* The joined header made the super-segment's, and the virtio header asking the kernel to cut it. */
static void super_header(const struct ofl_batch *b, uint8_t *hdr, struct virtio_net_hdr *vh)
{
    hdr[33] = b->flags;
    gso_header(hdr, b->hlen, b->hlen + b->payload, b->mss, vh);
}

/* pkt's IPv4 + TCP header length when it can head a super-segment of mss-byte segments; else 0. */
static size_t gso_hlen(const uint8_t *pkt, size_t len, uint16_t mss)
{
    size_t hlen = ip_tcp_hlen(pkt, len);

    return hlen == 0 || hlen > 80 || mss == 0 ? 0 : hlen;
}

size_t tt_ofl_gso_header(const uint8_t *pkt, size_t len, uint16_t mss, uint8_t *hdr,
                         struct virtio_net_hdr *vh)
{
    size_t hlen = gso_hlen(pkt, len, mss);

    if (hlen == 0)
        return 0;
    memcpy(hdr, pkt, hlen);
    gso_header(hdr, hlen, len, mss, vh);
    return hlen;
}

size_t tt_ofl_gso_finish(uint8_t *pkt, size_t len, uint16_t mss, struct virtio_net_hdr *vh)
{
    size_t hlen = gso_hlen(pkt, len, mss);

    if (hlen == 0)
        return 0;
    gso_header(pkt, hlen, len, mss, vh);
    return hlen;
}

size_t tt_ofl_batch_finish(struct ofl_batch *b)
{
    struct virtio_net_hdr vh = {0};
    uint8_t *pkt = b->buf + OFL_VNET_LEN;

    if (b->n == 0)
        return 0;
    if (b->n > 1)
        super_header(b, pkt, &vh);
    else if (tt_ofl_is_tcp(pkt, b->used))
        tt_ofl_partial_header(&vh);
    memcpy(b->buf, &vh, OFL_VNET_LEN);
    b->closed = true;
    return OFL_VNET_LEN + b->used;
}
