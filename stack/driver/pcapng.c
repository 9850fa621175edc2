/*
 * pcapng writer: the block layout of the pcapng specification (IETF draft
 * "PCAP Next Generation (pcapng) Capture File Format": section header 4.1,
 * interface description 4.2, enhanced packet 4.3, options 3.5). Every block
 * and option is padded to 32 bits. Buffered by stdio in one large buffer,
 * as the classic writer (pcap.c): a record is a few memcpy, and a failed
 * write is remembered and reported at flush/close, never per packet.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"
#include "tuntcp/tuntcp.h"

#define PCAPNG_BUF_SIZE (256 * 1024)
#define BLOCK_OVERHEAD 12 /* type, total length, total length again */
#define EPB_FIXED 20      /* interface, timestamp high and low, captured and original length */
#define OPT_HDR 4

/* Exported PDU tags (Wireshark's "exported_pdu" format): big-endian type and length. */
#define EXP_PDU_TAG_END 0
#define EXP_PDU_TAG_PROTO_NAME 12
#define EXP_PDU_DISSECTOR "syslog\0" /* padded to 8 bytes with the NULs */
#define EXP_PDU_DISSECTOR_LEN 8
#define SYSLOG_PRI "<14>" /* facility user (1), severity informational (6): RFC 5424 6.2.1 */

struct pcapng_writer {
    FILE *f;
    char *buf;
    uint64_t count;
    bool failed;
};

static const uint8_t zeros[4];

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

static void ng_put(struct pcapng_writer *w, const void *p, size_t len)
{
    if (len > 0 && fwrite(p, 1, len, w->f) != len)
        w->failed = true;
}

/* Host order, as the byte-order magic announces. */
static void ng_u32(struct pcapng_writer *w, uint32_t v)
{
    ng_put(w, &v, sizeof(v));
}

static void ng_u16(struct pcapng_writer *w, uint16_t v)
{
    ng_put(w, &v, sizeof(v));
}

static void ng_pad(struct pcapng_writer *w, size_t len)
{
    ng_put(w, zeros, pad4(len) - len);
}

static size_t opt_size(size_t len)
{
    return OPT_HDR + pad4(len);
}

static void ng_opt(struct pcapng_writer *w, uint16_t code, const void *val, size_t len)
{
    ng_u16(w, code);
    ng_u16(w, (uint16_t)len);
    ng_put(w, val, len);
    ng_pad(w, len);
}

static size_t comment_len(const char *s)
{
    size_t n = strlen(s);

    return n < PCAPNG_COMMENT_MAX ? n : PCAPNG_COMMENT_MAX;
}

static void write_shb(struct pcapng_writer *w)
{
    static const char app[] = "tuntcp " TT_VERSION_STRING;
    size_t total = BLOCK_OVERHEAD + 16 + opt_size(sizeof(app) - 1) + OPT_HDR;

    ng_u32(w, PCAPNG_BT_SHB);
    ng_u32(w, (uint32_t)total);
    ng_u32(w, PCAPNG_BYTE_ORDER_MAGIC);
    ng_u16(w, 1); /* version 1.0 */
    ng_u16(w, 0);
    ng_u32(w, 0xffffffffu); /* section length: not given (-1, 64 bits) */
    ng_u32(w, 0xffffffffu);
    ng_opt(w, PCAPNG_OPT_SHB_USERAPPL, app, sizeof(app) - 1);
    ng_opt(w, PCAPNG_OPT_END, NULL, 0);
    ng_u32(w, (uint32_t)total);
}

static void write_idb(struct pcapng_writer *w, uint16_t linktype, const char *name,
                      const char *descr)
{
    size_t total = BLOCK_OVERHEAD + 8 + opt_size(strlen(name)) + opt_size(strlen(descr)) + OPT_HDR;

    ng_u32(w, PCAPNG_BT_IDB);
    ng_u32(w, (uint32_t)total);
    ng_u16(w, linktype);
    ng_u16(w, 0); /* reserved */
    ng_u32(w, PCAPNG_SNAPLEN);
    ng_opt(w, PCAPNG_OPT_IF_NAME, name, strlen(name));
    ng_opt(w, PCAPNG_OPT_IF_DESCRIPTION, descr, strlen(descr));
    ng_opt(w, PCAPNG_OPT_END, NULL, 0);
    ng_u32(w, (uint32_t)total);
}

int tt_pcapng_open(struct pcapng_writer **out, const char *path, const char *ifname)
{
    struct pcapng_writer *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return -ENOMEM;
    w->buf = malloc(PCAPNG_BUF_SIZE);
    w->f = fopen(path, "wb");
    if (w->buf == NULL || w->f == NULL) {
        int err = w->buf == NULL ? -ENOMEM : -errno;
        if (w->f != NULL)
            fclose(w->f);
        free(w->buf);
        free(w);
        return err;
    }
    setvbuf(w->f, w->buf, _IOFBF, PCAPNG_BUF_SIZE);
    write_shb(w);
    write_idb(w, PCAPNG_LINKTYPE_RAW, ifname,
              "IPv4 through the TUN device; inbound: to the stack, outbound: from it");
    write_idb(w, PCAPNG_LINKTYPE_UPPER_PDU, "tuntcp-events",
              "engine events that no packet carries, as syslog text");
    *out = w;
    return tt_pcapng_flush(w);
}

/* The EPB's fixed part: interface, 64-bit microsecond timestamp, lengths; one write. */
static void write_epb_head(struct pcapng_writer *w, size_t total, uint32_t iface, uint64_t wall_us,
                           size_t incl, size_t len)
{
    uint32_t h[7] = {PCAPNG_BT_EPB,     (uint32_t)total, iface,        (uint32_t)(wall_us >> 32),
                     (uint32_t)wall_us, (uint32_t)incl,  (uint32_t)len};

    ng_put(w, h, sizeof(h));
}

/*
 * A record is three writes when it has no comment (stdio's per-call cost
 * is most of a record's): the head, the datagram, and this tail, which
 * holds the data's padding, the flags option, the end of options and the
 * trailing length.
 */
static void write_epb_tail(struct pcapng_writer *w, size_t pad, uint32_t flags, bool opts,
                           size_t total)
{
    uint8_t t[3 + 8 + 4 + 4] = {0};
    size_t k = pad;
    uint16_t code = PCAPNG_OPT_EPB_FLAGS, four = 4;
    uint32_t tot = (uint32_t)total;

    if (flags != 0) {
        memcpy(t + k, &code, 2);
        memcpy(t + k + 2, &four, 2);
        memcpy(t + k + 4, &flags, 4);
        k += 8;
    }
    if (opts)
        k += OPT_HDR; /* opt_endofopt: code 0, length 0, already zeros */
    memcpy(t + k, &tot, 4);
    ng_put(w, t, k + 4);
}

void tt_pcapng_packet(struct pcapng_writer *w, uint64_t wall_us, uint32_t flags, const uint8_t *pkt,
                      size_t len, const char *const *comments, size_t n)
{
    size_t incl = len < PCAPNG_SNAPLEN ? len : PCAPNG_SNAPLEN;
    size_t opts = flags != 0 ? opt_size(4) : 0;
    size_t pad = pad4(incl) - incl;

    for (size_t i = 0; i < n; i++)
        opts += opt_size(comment_len(comments[i]));
    if (opts > 0)
        opts += OPT_HDR; /* opt_endofopt */
    size_t total = BLOCK_OVERHEAD + EPB_FIXED + incl + pad + opts;
    write_epb_head(w, total, PCAPNG_IF_TUN, wall_us, incl, len);
    ng_put(w, pkt, incl);
    if (n > 0) {
        ng_put(w, zeros, pad);
        pad = 0;
    }
    for (size_t i = 0; i < n; i++)
        ng_opt(w, PCAPNG_OPT_COMMENT, comments[i], comment_len(comments[i]));
    write_epb_tail(w, pad, flags, opts > 0, total);
    w->count++;
}

/* An exported PDU's tag header: type and length, big-endian. */
static void ng_tag(struct pcapng_writer *w, uint16_t type, uint16_t len)
{
    uint8_t h[4] = {(uint8_t)(type >> 8), (uint8_t)type, (uint8_t)(len >> 8), (uint8_t)len};

    ng_put(w, h, sizeof(h));
}

void tt_pcapng_event(struct pcapng_writer *w, uint64_t wall_us, const char *text)
{
    size_t tlen = comment_len(text);
    size_t pdu = OPT_HDR + EXP_PDU_DISSECTOR_LEN + OPT_HDR + strlen(SYSLOG_PRI) + tlen;
    size_t total = BLOCK_OVERHEAD + EPB_FIXED + pad4(pdu) + opt_size(tlen) + OPT_HDR;

    write_epb_head(w, total, PCAPNG_IF_EVENTS, wall_us, pdu, pdu);
    ng_tag(w, EXP_PDU_TAG_PROTO_NAME, EXP_PDU_DISSECTOR_LEN);
    ng_put(w, EXP_PDU_DISSECTOR, EXP_PDU_DISSECTOR_LEN);
    ng_tag(w, EXP_PDU_TAG_END, 0);
    ng_put(w, SYSLOG_PRI, strlen(SYSLOG_PRI));
    ng_put(w, text, tlen);
    ng_pad(w, pdu);
    ng_opt(w, PCAPNG_OPT_COMMENT, text, tlen);
    ng_opt(w, PCAPNG_OPT_END, NULL, 0);
    ng_u32(w, (uint32_t)total);
    w->count++;
}

int tt_pcapng_flush(struct pcapng_writer *w)
{
    if (fflush(w->f) != 0)
        w->failed = true;
    return w->failed ? -EIO : 0;
}

int tt_pcapng_close(struct pcapng_writer *w)
{
    int err = tt_pcapng_flush(w);

    if (fclose(w->f) != 0 && err == 0)
        err = -errno;
    free(w->buf);
    free(w);
    return err;
}

uint64_t tt_pcapng_count(const struct pcapng_writer *w)
{
    return w->count;
}
