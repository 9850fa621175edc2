/*
 * pcap writer: classic format in the host's byte order (readers detect it
 * from the magic), LINKTYPE_RAW. stdio does the buffering with one large
 * buffer, so a record costs two memcpy and no system call until a flush.
 * A failed write is remembered and reported at flush/close rather than per
 * packet: capture must never disturb the stack it observes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcap.h"

#define PCAP_BUF_SIZE (256 * 1024)

struct pcap_writer {
    pthread_mutex_t mu; /* several queues (--queues) write from their threads */
    FILE *f;
    char *buf;
    uint64_t count;
    bool failed;
};

static void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v)); /* host order, as the magic announces */
}

static void put_u16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void pcap_put(struct pcap_writer *pw, const void *p, size_t len)
{
    if (len > 0 && fwrite(p, 1, len, pw->f) != len)
        pw->failed = true;
}

static void write_global_header(struct pcap_writer *pw)
{
    uint8_t h[PCAP_GLOBAL_HDR_LEN];

    put_u32(h, PCAP_MAGIC_US);
    put_u16(h + 4, 2); /* version 2.4 */
    put_u16(h + 6, 4);
    put_u32(h + 8, 0);  /* thiszone: timestamps are UTC */
    put_u32(h + 12, 0); /* sigfigs */
    put_u32(h + 16, PCAP_SNAPLEN);
    put_u32(h + 20, PCAP_LINKTYPE_RAW);
    pcap_put(pw, h, sizeof(h));
}

int tt_pcap_open(struct pcap_writer **out, const char *path)
{
    struct pcap_writer *pw = calloc(1, sizeof(*pw));

    if (pw == NULL)
        return -ENOMEM;
    pw->buf = malloc(PCAP_BUF_SIZE);
    pw->f = fopen(path, "wb");
    if (pw->buf == NULL || pw->f == NULL) {
        int err = pw->buf == NULL ? -ENOMEM : -errno;
        if (pw->f != NULL)
            fclose(pw->f);
        free(pw->buf);
        free(pw);
        return err;
    }
    setvbuf(pw->f, pw->buf, _IOFBF, PCAP_BUF_SIZE);
    pthread_mutex_init(&pw->mu, NULL);
    write_global_header(pw);
    *out = pw;
    return tt_pcap_flush(pw);
}

void tt_pcap_write(struct pcap_writer *pw, uint64_t wall_us, const uint8_t *pkt, size_t len)
{
    uint8_t h[PCAP_RECORD_HDR_LEN];
    size_t incl = len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN;

    put_u32(h, (uint32_t)(wall_us / 1000000));
    put_u32(h + 4, (uint32_t)(wall_us % 1000000));
    put_u32(h + 8, (uint32_t)incl);
    put_u32(h + 12, (uint32_t)len);
    /* Several queues (--queues) write from their threads: the lock keeps
     * each record whole, header and bytes together. */
    pthread_mutex_lock(&pw->mu);
    pcap_put(pw, h, sizeof(h));
    pcap_put(pw, pkt, incl);
    pw->count++;
    pthread_mutex_unlock(&pw->mu);
}

int tt_pcap_flush(struct pcap_writer *pw)
{
    int rc;

    pthread_mutex_lock(&pw->mu);
    if (fflush(pw->f) != 0)
        pw->failed = true;
    rc = pw->failed ? -EIO : 0;
    pthread_mutex_unlock(&pw->mu);
    return rc;
}

int tt_pcap_close(struct pcap_writer *pw)
{
    int err = tt_pcap_flush(pw);

    if (fclose(pw->f) != 0 && err == 0)
        err = -errno;
    pthread_mutex_destroy(&pw->mu);
    free(pw->buf);
    free(pw);
    return err;
}

uint64_t tt_pcap_count(struct pcap_writer *pw)
{
    uint64_t n;

    pthread_mutex_lock(&pw->mu);
    n = pw->count;
    pthread_mutex_unlock(&pw->mu);
    return n;
}
