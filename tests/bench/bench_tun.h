/*
 * The TUN device as the benchmark's own peers (tun_reflector, lwip_echo)
 * open it: exactly as tuntcp's driver does (stack/driver/tun.c): IFF_TUN |
 * IFF_NO_PI, non-blocking, one queue, no offloads (no IFF_VNET_HDR), so the
 * kernel hands over and takes back plain IPv4 datagrams with full
 * checksums, one read() or write() each. The benchmark (run.py) puts the
 * address on the kernel's side and sets the link up with `ip`, inside the
 * namespace it made; tuntcp's echo-server does the same itself with ioctls.
 * Both leave the device at the kernel's defaults (MTU 1500 set explicitly,
 * txqueuelen 500).
 */
#ifndef TT_BENCH_TUN_H
#define TT_BENCH_TUN_H

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Returns the TUN fd (non-blocking), or -1 with a message on stderr. */
static inline int bench_tun_open(const char *name)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        perror("open /dev/net/tun");
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        perror("TUNSETIFF");
        close(fd);
        return -1;
    }
    return fd;
}

/* A write to the TUN device; on EAGAIN (the kernel's backlog is full, rare)
 * it waits for POLLOUT and tries again, so that no stack loses a packet on
 * the way out that another keeps. Returns 0, or -1 on a hard error. */
static inline int bench_tun_write(int fd, const void *pkt, size_t len)
{
    for (;;) {
        if (write(fd, pkt, len) >= 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        (void)poll(&p, 1, 10);
    }
}

static inline double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
