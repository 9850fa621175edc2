/*
 * tun_hop: Linux's own TCP behind a userspace TUN hop, the benchmark's
 * "linux-tun" peer. It copies every datagram read from one TUN device into
 * the other, unchanged, both ways. run.py leaves the first device (the
 * client's side, 10.7.0.1) in the load generator's namespace and moves the
 * second into a namespace of its own where the kernel's TCP serves the echo
 * on 10.7.0.2, so every packet of a Linux-to-Linux connection crosses TUN
 * read() and write() once in each direction on its way.
 *
 * Why it is in the comparison: it is what a TCP through one TUN device costs
 * when the TCP is the kernel's, so a userspace stack on the same device can
 * be measured against Linux under the same per-packet cost, not only against
 * Linux over a veth pair (which has none).
 *
 * The I/O is the reflector's (bench_tun.h): poll both devices, up to 64
 * non-blocking read()s from each per wake-up, one write() per datagram at
 * once, no offloads.
 *
 *   tun_hop TUN_A TUN_B     prints "ready TUN_A TUN_B" once both are open;
 *                           exits 0 on SIGTERM/SIGINT with its counts on stderr.
 */
#define _GNU_SOURCE
#include <signal.h>
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

struct hop_counts {
    unsigned long long moved, errors;
};

/* Moves what `from` holds (up to RX_BATCH datagrams) into `to`. */
static void forward(int from, int to, unsigned char *buf, struct hop_counts *c)
{
    for (int i = 0; i < RX_BATCH; i++) {
        ssize_t n = read(from, buf, BUF_SIZE);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                c->errors++;
            return;
        }
        if (bench_tun_write(to, buf, (size_t)n) < 0)
            c->errors++;
        else
            c->moved++;
    }
}

int main(int argc, char **argv)
{
    static unsigned char buf[BUF_SIZE];
    struct hop_counts ab = {0}, ba = {0};
    struct sigaction sa;
    int fd[2];

    if (argc != 3) {
        fprintf(stderr, "usage: tun_hop TUN_A TUN_B\n");
        return 2;
    }
    if ((fd[0] = bench_tun_open(argv[1])) < 0)
        return 1;
    if ((fd[1] = bench_tun_open(argv[2])) < 0)
        return 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("ready %s %s\n", argv[1], argv[2]);
    fflush(stdout);
    while (!stop) {
        struct pollfd pfd[2] = {{.fd = fd[0], .events = POLLIN}, {.fd = fd[1], .events = POLLIN}};
        if (poll(pfd, 2, 1000) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents & POLLIN)
            forward(fd[0], fd[1], buf, &ab);
        if (pfd[1].revents & POLLIN)
            forward(fd[1], fd[0], buf, &ba);
    }
    fprintf(stderr, "tun_hop: %s->%s %llu, %s->%s %llu, errors %llu\n", argv[1], argv[2], ab.moved,
            argv[2], argv[1], ba.moved, ab.errors + ba.errors);
    close(fd[0]);
    close(fd[1]);
    return 0;
}
