/*
 * TUN segmentation offload (IFF_VNET_HDR): every read and write on the
 * device starts with a struct virtio_net_hdr. The kernel may hand us a TCP
 * super-segment of up to 64 KB whose checksum it left partial, and takes
 * one from us that it cuts into MSS-sized segments itself.
 *
 * The engine and the taps (capture, --fault, trace) work in wire units, so
 * this file converts at the device's edge: ofl_split cuts what the kernel
 * gives into the segments the wire would have carried, each with complete
 * checksums; ofl_batch collects the wire segments the engine sends and
 * joins the consecutive ones of a flow into one super-segment. Pure: no
 * system call, no allocation but the batch's buffer.
 */
#ifndef TT_OFFLOAD_H
#define TT_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFL_VNET_LEN sizeof(struct virtio_net_hdr) /* 10: no num_buffers */
#define OFL_MAX_SEGS 64                            /* wire segments joined at most */
#define OFL_MAX_DGRAM 65535                        /* IPv4's total length */

/* ---- input: a super-segment cut into wire segments ---- */

struct ofl_split {
    uint8_t *pkt; /* the super-segment as read */
    size_t len;
    size_t hlen; /* its IPv4 + TCP header bytes */
    size_t mss;  /* payload bytes per segment (gso_size); the last may be shorter */
    size_t off;  /* payload bytes already cut */
    /* Set by the caller: segments for the engine alone, their TCP checksum left 0. */
    bool no_tcp_csum;
    /* Set by the caller: the TCP checksum left partial (the pseudo-header's sum) for the device. */
    bool partial_csum;
    uint8_t hdr[80]; /* tt_ofl_split_next_in_place(): the super-segment's headers */
};

/*
 * Looks at what one read gave: vh and the datagram pkt (len bytes).
 * Returns 1 when pkt is a TCPv4 super-segment to cut with
 * tt_ofl_split_next(); 0 when pkt is one wire datagram, its checksum
 * completed in place if the kernel left it partial; -EINVAL when vh does
 * not fit pkt (the datagram is to be dropped).
 */
/*
 * Whether vh and pkt are one TCP segment (not a super-segment) whose TCP
 * checksum the kernel vouches for: left partial at the TCP checksum
 * (NEEDS_CSUM, csum_start 20, csum_offset 16: its own TCP sent it) or
 * checked already (DATA_VALID), so that the engine need not sum it
 * (tt_rx_info_t's csum_known). Its checksum field is left as it came.
 */
bool tt_ofl_csum_vouched(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len);

int tt_ofl_split_start(struct ofl_split *s, const struct virtio_net_hdr *vh, uint8_t *pkt,
                       size_t len);

/*
 * Writes the next wire segment into out (cap bytes): the super-segment's
 * headers with its sequence number, IP identification and total length,
 * FIN and PSH on the last segment only and CWR on the first only (as the
 * kernel's own segmentation does), and complete checksums (but the TCP
 * checksum, 0, with s->no_tcp_csum: tt_rx_info_t's csum_known). Returns its
 * length, or 0 when all are cut (or out is too small).
 */
size_t tt_ofl_split_next(struct ofl_split *s, uint8_t *out, size_t cap);

/*
 * The segment size the cut segments stand for (the virtio header's
 * gso_size), to hand to the engine with each (tt_engine_input_rx): its
 * receiver's MSS estimate takes it as Linux's GRO receive path does. 0
 * when pkt was one wire datagram.
 */
uint16_t tt_ofl_split_gso_size(const struct ofl_split *s);

/*
 * The same without a copy of the payload: the segment is made where it
 * lies, its headers written over the hlen bytes before its payload (the
 * tail of the segment before, which must be done with: the engine copies
 * what it keeps). *out: where it starts. For the fast path alone, where
 * nothing else holds the segments (loop.c).
 */
size_t tt_ofl_split_next_in_place(struct ofl_split *s, uint8_t **out);

/* ---- output: the engine's partial TCP checksums (tt_engine_set_csum_partial()) ---- */

/* Whether pkt is a TCP datagram with a 20-byte IPv4 header (the engine's kind). */
bool tt_ofl_is_tcp(const uint8_t *pkt, size_t len);
/* The virtio header of one datagram whose TCP checksum the kernel completes. */
void tt_ofl_partial_header(struct virtio_net_hdr *vh);
/* Completes in place the partial TCP checksum of such a datagram (for a capture). */
void tt_ofl_complete_tcp(uint8_t *pkt, size_t len);

/*
 * The engine's GSO datagram pkt (tt_engine_output_gso_size(): mss) made
 * the super-segment the device cuts: its headers copied into hdr (80
 * bytes) with IP checksum and the TCP pseudo-header sum for its length,
 * and vh asking the kernel to cut it. Returns the header bytes, or 0 when
 * pkt is not such a datagram.
 */
size_t tt_ofl_gso_header(const uint8_t *pkt, size_t len, uint16_t mss, uint8_t *hdr,
                         struct virtio_net_hdr *vh);
/* The same made in place: pkt's own header becomes the super-segment's
 * (its bytes then are what tt_ofl_gso_header() puts in hdr). */
size_t tt_ofl_gso_finish(uint8_t *pkt, size_t len, uint16_t mss, struct virtio_net_hdr *vh);

/* ---- output: wire segments joined into one super-segment ---- */

/*
 * The run is kept joined as it will be written: OFL_VNET_LEN bytes left
 * for the virtio header, the first segment whole, then each later one's
 * payload alone. So the engine's bytes are copied once on their way to
 * the device: the memory may be the pump's ring itself
 * (tt_ofl_batch_place()), and the finished datagram is held where it lies.
 */
struct ofl_batch {
    uint8_t *buf;     /* where the run is joined: the virtio header's room, then the datagram */
    uint8_t *own;     /* the batch's own memory, buf unless placed elsewhere */
    size_t own_cap;   /* the datagram bytes own holds */
    size_t cap, used; /* datagram bytes buf holds at most, and holds */
    size_t n;         /* segments in it */
    size_t hlen;      /* the first segment's IPv4 + TCP header bytes */
    size_t mss;       /* the first segment's payload bytes: every one but the last has it */
    size_t payload;   /* payload bytes of all */
    uint8_t flags;    /* the last segment's TCP flags, which the joined header carries */
    bool closed;      /* the last one ends the run (short, PSH, or not joinable) */
};

/* cap: datagram bytes held at most (at least the MTU). -ENOMEM. */
int tt_ofl_batch_init(struct ofl_batch *b, size_t cap);
void tt_ofl_batch_free(struct ofl_batch *b);

/*
 * For an empty batch: join the next run in mem (OFL_VNET_LEN + cap bytes,
 * e.g. room reserved in the pump's ring) instead of the batch's own
 * memory, until tt_ofl_batch_reset().
 */
void tt_ofl_batch_place(struct ofl_batch *b, uint8_t *mem, size_t cap);

/*
 * Adds the wire datagram pkt (copied: header and payload for the first,
 * the payload alone after). An empty batch takes any datagram
 * that fits; a non-empty one only a TCP segment that continues the run:
 * same addresses, ports, IP header fields, ACK, window and options,
 * sequence number right after the run, payload at most the first one's, no
 * flag but ACK and PSH, and the run's total within 64 KB and OFL_MAX_SEGS.
 * false: pkt did not join; send the batch, reset it, and add pkt again.
 */
bool tt_ofl_batch_add(struct ofl_batch *b, const uint8_t *pkt, size_t len);

/*
 * Makes the batch (one datagram or more) the datagram the device takes,
 * in place at b->buf, and returns its length with the virtio header.
 * One datagram: itself, after a virtio header asking the kernel to
 * complete a TCP checksum the engine left partial. Two or more segments:
 * the super-segment, whose header is the first segment's IPv4 + TCP
 * headers with the total length of the whole, the last one's flags, and
 * the TCP checksum field holding the pseudo-header sum (RFC 9293 3.1)
 * that the kernel completes per segment; and the virtio header that asks
 * for that (NEEDS_CSUM, GSO_TCPV4, gso_size = the first payload). Then
 * nothing more joins: write it, and reset the batch.
 */
size_t tt_ofl_batch_finish(struct ofl_batch *b);

void tt_ofl_batch_reset(struct ofl_batch *b);

#endif
