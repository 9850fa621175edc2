/*
 * tun_reflector: the raw TUN ceiling of this machine. It reads each IPv4
 * datagram from a TUN device and writes it straight back with the source
 * and destination swapped: UDP and TCP with their ports swapped too (the
 * checksums stay valid: a swap does not change a one's-complement sum),
 * ICMP echo requests as echo replies. Nothing else is done to a packet, so
 * what it reaches is what one process can move through TUN read()+write()
 * on this machine, the bound under any userspace stack on the same device.
 *
 * It reads and writes as tuntcp's driver did before its pump (now
 * stack/driver/pump.c reads until EAGAIN and writes in chunks): poll for
 * readable, then up to 64 non-blocking read()s into one buffer, one
 * write() per packet at once; see bench_tun.h for the device's set-up.
 *
 *   tun_reflector TUNNAME      prints "ready TUNNAME" once the device is open;
 *                              exits 0 on SIGTERM/SIGINT with its counts on stderr.
 * The benchmark (run.py) drives it from the Linux side with loadgen's UDP
 * modes: `blast` (packets/s of full-size datagrams, a window in flight) and
 * `rr` --udp (1-byte round trips).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench_tun.h"

#define RX_BATCH 64
#define BUF_SIZE 65536

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint16_t csum_fold_add(uint16_t csum, uint16_t old_word, uint16_t new_word)
{
    /* RFC 1624 incremental update: HC' = ~(~HC + ~m + m') */
    uint32_t s = (uint16_t)~csum;

    s += (uint16_t)~old_word;
    s += new_word;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Turns the datagram around in place; returns false when it should be dropped. */
static bool reflect(uint8_t *p, size_t n)
{
    uint8_t tmp[4];
    size_t ihl;

    if (n < 20 || (p[0] >> 4) != 4)
        return false;
    ihl = (size_t)(p[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > n)
        return false;
    memcpy(tmp, p + 12, 4);
    memcpy(p + 12, p + 16, 4);
    memcpy(p + 16, tmp, 4);
    switch (p[9]) {
    case 6:  /* TCP */
    case 17: /* UDP */
        if (n < ihl + 4)
            return false;
        memcpy(tmp, p + ihl, 2);
        memcpy(p + ihl, p + ihl + 2, 2);
        memcpy(p + ihl + 2, tmp, 2);
        return true;
    case 1: /* ICMP echo request -> reply */
        if (n < ihl + 4 || p[ihl] != 8)
            return false;
        {
            uint16_t old_word = (uint16_t)(p[ihl] << 8 | p[ihl + 1]);
            uint16_t c = (uint16_t)(p[ihl + 2] << 8 | p[ihl + 3]);
            p[ihl] = 0;
            c = csum_fold_add(c, old_word, (uint16_t)(p[ihl + 1]));
            p[ihl + 2] = (uint8_t)(c >> 8);
            p[ihl + 3] = (uint8_t)c;
        }
        return true;
    default:
        return false;
    }
}

int main(int argc, char **argv)
{
    static uint8_t buf[BUF_SIZE];
    unsigned long long in = 0, out = 0, dropped = 0, errors = 0;
    struct sigaction sa;
    int fd;

    if (argc != 2) {
        fprintf(stderr, "usage: tun_reflector TUNNAME\n");
        return 2;
    }
    if ((fd = bench_tun_open(argv[1])) < 0)
        return 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("ready %s\n", argv[1]);
    fflush(stdout);
    while (!stop) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < RX_BATCH; i++) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0) {
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                    errors++;
                break;
            }
            in++;
            if (!reflect(buf, (size_t)n)) {
                dropped++;
                continue;
            }
            if (bench_tun_write(fd, buf, (size_t)n) < 0)
                errors++;
            else
                out++;
        }
    }
    fprintf(stderr, "tun_reflector: in %llu out %llu dropped %llu errors %llu\n", in, out, dropped,
            errors);
    close(fd);
    return 0;
}
