/*
 * loadgen: the benchmark's load, generated from the Linux side with the
 * kernel's sockets and epoll, the same binary against every peer (run.py).
 * Every mode is bounded by --timeout and prints one JSON line on stdout;
 * exit 0 when every byte came back as sent, 1 otherwise (the reason on
 * stderr), 2 on a bad command line.
 *
 *   loadgen bulk  --to IP:PORT --conns C --bytes B
 *        C connections at once each send B bytes of a known pattern and read
 *        the echo back, verifying every byte; then shutdown(SHUT_WR) and wait
 *        for the server's FIN. Throughput = C*B / wall time, each way.
 *   loadgen crr   --to IP:PORT --conns N --concurrency K [--bytes 64]
 *        N short connections, K at a time: connect, write 64 B, read and
 *        verify the echo, close (Linux closes first, as netperf's TCP_CRR).
 *   loadgen rr    --to IP:PORT --count N [--bytes 1] [--warmup W] [--udp]
 *        ping-pong on one connection (TCP_NODELAY; or one UDP socket):
 *        write 1 byte, wait for it to come back; p50/p99 of N round trips.
 *   loadgen hold  --to IP:PORT --conns N --concurrency K [--bytes 64]
 *        opens N connections (K connects at a time), each echoes 64 B once
 *        and then stays open; prints {"held":N,...} and waits for a line or
 *        EOF on stdin (or --timeout), then closes them all.
 *   loadgen blast --to IP:PORT --size S --window W --duration T
 *        UDP datagrams of S bytes, at most W in flight, to a reflector;
 *        packets/s of those that came back. A datagram counts as lost after
 *        20 ms without any reply.
 *   loadgen serve [--addr IP] [--port N]
 *        a Linux epoll echo server (one thread, TCP_NODELAY, back-pressure
 *        like tuntcp's echo-server): the kernel's TCP as a peer. Runs until
 *        SIGTERM/SIGINT.
 *
 * Common: --timeout SECONDS (default 60).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAT_PERIOD 65521u /* prime: connections start at different phases */
#define CHUNK 65536u

static uint8_t pat[PAT_PERIOD + CHUNK];
static uint8_t iobuf[CHUNK];

struct opts {
    const char *mode;
    struct sockaddr_in to;
    bool to_set;
    const char *addr;
    int port;
    long conns, concurrency, count, warmup, window, size;
    long long bytes;
    double duration, timeout;
    bool udp;
};

/* Run-long allocations, freed at exit whatever path returns (LeakSanitizer). */
static void *allocs[8];
static size_t nallocs;

static void free_allocs(void)
{
    while (nallocs > 0)
        free(allocs[--nallocs]);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p;

    if (nallocs == sizeof(allocs) / sizeof(allocs[0]) || (p = calloc(n ? n : 1, size)) == NULL)
        return NULL;
    if (nallocs == 0)
        atexit(free_allocs);
    allocs[nallocs++] = p;
    return p;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pat_init(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;

    for (size_t i = 0; i < PAT_PERIOD; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pat[i] = (uint8_t)(x >> 24);
    }
    for (size_t i = PAT_PERIOD; i < sizeof(pat); i++)
        pat[i] = pat[i - PAT_PERIOD]; /* pat[i] == pat[i % PERIOD] over the whole buffer */
}

static const uint8_t *pat_at(uint32_t start, uint64_t off)
{
    return pat + (uint32_t)((start + off) % PAT_PERIOD);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static void raise_nofile(rlim_t want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want;
    if (rl.rlim_max < want)
        rl.rlim_max = want; /* root may raise the hard limit */
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void set_nodelay(int fd)
{
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int tcp_socket_nb(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd >= 0)
        set_nodelay(fd);
    return fd;
}

static int ep_ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};

    return epoll_ctl(ep, op, fd, &ev);
}

/* ---- bulk ------------------------------------------------------------------ */

struct bconn {
    int fd;
    uint32_t start;
    uint64_t sent, recvd;
    bool wr_done, done;
};

static int run_bulk(const struct opts *o)
{
    long n = o->conns;
    uint64_t want = (uint64_t)o->bytes;
    struct bconn *c = xcalloc((size_t)n, sizeof(*c));
    struct epoll_event evs[64];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long done = 0;
    unsigned long long retrans = 0;
    double t0, deadline;

    if (c == NULL || ep < 0)
        return perror("bulk"), 1;
    t0 = now_s();
    deadline = t0 + o->timeout;
    for (long i = 0; i < n; i++) {
        c[i].start = (uint32_t)((uint64_t)i * 7919u % PAT_PERIOD);
        c[i].fd = tcp_socket_nb();
        if (c[i].fd < 0 || (connect(c[i].fd, (const struct sockaddr *)&o->to, sizeof(o->to)) < 0 &&
                            errno != EINPROGRESS))
            return perror("bulk: connect"), 1;
        ep_ctl(ep, EPOLL_CTL_ADD, c[i].fd, EPOLLIN | EPOLLOUT, (uint64_t)i);
    }
    while (done < n) {
        double left = deadline - now_s();
        if (left <= 0) {
            fprintf(stderr, "bulk: timeout after %.1f s: %ld of %ld connections done\n", o->timeout,
                    done, n);
            for (long i = 0; i < n; i++)
                if (!c[i].done)
                    fprintf(stderr, "  conn %ld: sent %llu recvd %llu\n", i,
                            (unsigned long long)c[i].sent, (unsigned long long)c[i].recvd);
            return 1;
        }
        int k = epoll_wait(ep, evs, 64, (int)(left * 1000) + 1);
        for (int e = 0; e < k; e++) {
            long i = (long)evs[e].data.u64;
            struct bconn *b = &c[i];
            if (b->done)
                continue;
            if ((evs[e].events & EPOLLOUT) && !b->wr_done) {
                while (b->sent < want) {
                    size_t len = want - b->sent < CHUNK ? (size_t)(want - b->sent) : CHUNK;
                    ssize_t w = send(b->fd, pat_at(b->start, b->sent), len, MSG_NOSIGNAL);
                    if (w < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                            break;
                        fprintf(stderr, "bulk: conn %ld: send: %s\n", i, strerror(errno));
                        return 1;
                    }
                    b->sent += (uint64_t)w;
                }
                if (b->sent == want) {
                    b->wr_done = true;
                    shutdown(b->fd, SHUT_WR);
                    ep_ctl(ep, EPOLL_CTL_MOD, b->fd, EPOLLIN, (uint64_t)i);
                }
            }
            if (!(evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            for (;;) {
                ssize_t r = recv(b->fd, iobuf, CHUNK, 0);
                if (r < 0) {
                    if (errno == EAGAIN || errno == EINTR)
                        break;
                    fprintf(stderr, "bulk: conn %ld: recv: %s (after %llu of %llu bytes)\n", i,
                            strerror(errno), (unsigned long long)b->recvd,
                            (unsigned long long)want);
                    return 1;
                }
                if (r == 0) {
                    if (b->recvd != want) {
                        fprintf(stderr, "bulk: conn %ld: EOF after %llu of %llu bytes\n", i,
                                (unsigned long long)b->recvd, (unsigned long long)want);
                        return 1;
                    }
                    struct tcp_info ti;
                    socklen_t tl = sizeof(ti);
                    if (getsockopt(b->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0)
                        retrans += ti.tcpi_total_retrans;
                    close(b->fd);
                    b->done = true;
                    done++;
                    break;
                }
                if (b->recvd + (uint64_t)r > want ||
                    memcmp(iobuf, pat_at(b->start, b->recvd), (size_t)r) != 0) {
                    fprintf(stderr, "bulk: conn %ld: echo differs at or after byte %llu\n", i,
                            (unsigned long long)b->recvd);
                    return 1;
                }
                b->recvd += (uint64_t)r;
            }
        }
    }
    double secs = now_s() - t0;
    double total = (double)want * (double)n;
    printf("{\"mode\":\"bulk\",\"conns\":%ld,\"bytes_each_way\":%.0f,\"secs\":%.6f,"
           "\"MBps\":%.3f,\"Mbitps\":%.3f,\"linux_retrans\":%llu}\n",
           n, total, secs, total / secs / 1e6, total * 8 / secs / 1e6, retrans);
    close(ep);
    return 0;
}

/* ---- crr and hold ------------------------------------------------------------ */

enum { S_IDLE, S_CONNECTING, S_WAIT_ECHO, S_HELD };

struct slot {
    int fd, state;
    uint32_t start;
    size_t got;
    double t0;
};

static int slot_start(int ep, struct slot *s, long idx, long seq, const struct opts *o)
{
    s->fd = tcp_socket_nb();
    if (s->fd < 0)
        return -errno;
    s->start = (uint32_t)((uint64_t)seq * 131u % PAT_PERIOD);
    s->got = 0;
    s->t0 = now_s();
    if (connect(s->fd, (const struct sockaddr *)&o->to, sizeof(o->to)) < 0 &&
        errno != EINPROGRESS) {
        int err = -errno;
        close(s->fd);
        s->fd = -1;
        return err;
    }
    s->state = S_CONNECTING;
    ep_ctl(ep, EPOLL_CTL_ADD, s->fd, EPOLLOUT, (uint64_t)idx);
    return 0;
}

/* One event on a slot: returns 1 when its echo is complete and verified,
 * 0 when more is to come, -errno on failure (the slot is then closed). */
static int slot_event(int ep, struct slot *s, long idx, uint32_t events, size_t bytes)
{
    if (s->state == S_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0)
            goto fail_err;
        if (send(s->fd, pat_at(s->start, 0), bytes, MSG_NOSIGNAL) != (ssize_t)bytes) {
            err = errno ? errno : EIO;
            goto fail_err;
        }
        s->state = S_WAIT_ECHO;
        ep_ctl(ep, EPOLL_CTL_MOD, s->fd, EPOLLIN, (uint64_t)idx);
        return 0;
    fail_err:
        close(s->fd);
        s->fd = -1;
        s->state = S_IDLE;
        return -err;
    }
    if (s->state == S_WAIT_ECHO && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        ssize_t r = recv(s->fd, iobuf, bytes - s->got, 0);
        int err;
        if (r > 0) {
            if (memcmp(iobuf, pat_at(s->start, s->got), (size_t)r) != 0) {
                err = EBADMSG;
                goto fail;
            }
            s->got += (size_t)r;
            return s->got == bytes;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        err = r == 0 ? EPIPE : errno;
    fail:
        close(s->fd);
        s->fd = -1;
        s->state = S_IDLE;
        return -err;
    }
    return 0;
}

static int run_crr(const struct opts *o, bool hold)
{
    long n = o->conns, k = o->concurrency < o->conns ? o->concurrency : o->conns;
    size_t bytes = (size_t)o->bytes;
    struct slot *slots = xcalloc((size_t)(hold ? n : k), sizeof(*slots));
    double *lat = xcalloc((size_t)n, sizeof(double));
    struct epoll_event evs[256];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long started = 0, completed = 0, failed = 0, active = 0, nslots = hold ? n : k;
    long *free_slots = xcalloc((size_t)nslots, sizeof(long)), nfree = 0;
    double t0 = now_s(), deadline = t0 + o->timeout;

    if (slots == NULL || lat == NULL || free_slots == NULL || ep < 0 || bytes == 0 || bytes > CHUNK)
        return fprintf(stderr, "crr: set-up failed\n"), 1;
    if (hold)
        raise_nofile((rlim_t)n + 256);
    for (long i = nslots - 1; i >= 0; i--)
        free_slots[nfree++] = i;
    while (completed + failed < n) {
        while (active < k && started < n && nfree > 0) {
            long idx = free_slots[--nfree];
            int rc = slot_start(ep, &slots[idx], idx, started, o);
            started++;
            if (rc < 0) {
                if (failed++ < 5)
                    fprintf(stderr, "%s: connect: %s\n", o->mode, strerror(-rc));
                free_slots[nfree++] = idx;
                continue;
            }
            active++;
        }
        double left = deadline - now_s();
        if (left <= 0) {
            fprintf(stderr, "%s: timeout after %.1f s: %ld of %ld done, %ld failed\n", o->mode,
                    o->timeout, completed, n, failed);
            return 1;
        }
        int m = epoll_wait(ep, evs, 256, (int)(left * 1000) + 1);
        for (int e = 0; e < m; e++) {
            long idx = (long)evs[e].data.u64;
            struct slot *s = &slots[idx];
            int rc = slot_event(ep, s, idx, evs[e].events, bytes);
            if (rc == 0)
                continue;
            active--;
            if (rc < 0) {
                if (failed++ < 5)
                    fprintf(stderr, "%s: connection: %s\n", o->mode, strerror(-rc));
                free_slots[nfree++] = idx;
                continue;
            }
            lat[completed++] = now_s() - s->t0;
            if (hold) {
                s->state = S_HELD;
                ep_ctl(ep, EPOLL_CTL_DEL, s->fd, 0, 0);
            } else {
                close(s->fd); /* Linux closes first */
                s->fd = -1;
                s->state = S_IDLE;
                free_slots[nfree++] = idx;
            }
        }
    }
    double secs = now_s() - t0;
    qsort(lat, (size_t)completed, sizeof(double), cmp_double);
    if (!hold) {
        printf("{\"mode\":\"crr\",\"conns\":%ld,\"failed\":%ld,\"concurrency\":%ld,\"secs\":%.6f,"
               "\"conns_per_s\":%.1f,\"conn_p50_us\":%.1f,\"conn_p99_us\":%.1f}\n",
               completed, failed, k, secs, (double)completed / secs,
               pct(lat, (size_t)completed, .5) * 1e6, pct(lat, (size_t)completed, .99) * 1e6);
        return failed ? 1 : 0;
    }
    printf("{\"mode\":\"hold\",\"held\":%ld,\"failed\":%ld,\"secs\":%.6f}\n", completed, failed,
           secs);
    fflush(stdout);
    /* Wait for the go-ahead (a line or EOF on stdin), bounded by the timeout. */
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    double left = deadline - now_s();
    if (left > 0 && poll(&pfd, 1, (int)(left * 1000)) > 0)
        (void)read(0, iobuf, sizeof(iobuf));
    for (long i = 0; i < n; i++)
        if (slots[i].state == S_HELD)
            close(slots[i].fd);
    return failed ? 1 : 0;
}

/* ---- rr ---------------------------------------------------------------------- */

static int run_rr(const struct opts *o)
{
    long total = o->warmup + o->count, lost = 0, got_n = 0;
    size_t bytes = (size_t)o->bytes;
    double *rtt = xcalloc((size_t)o->count, sizeof(double));
    double deadline = now_s() + o->timeout;
    struct timeval tv = {.tv_sec = 0, .tv_usec = o->udp ? 200000 : 0};
    int fd = socket(AF_INET, (o->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

    if (rtt == NULL || fd < 0 || bytes == 0 || bytes > CHUNK)
        return fprintf(stderr, "rr: set-up failed\n"), 1;
    if (!o->udp) {
        set_nodelay(fd);
        tv.tv_sec = 2;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (const struct sockaddr *)&o->to, sizeof(o->to)) < 0)
        return perror("rr: connect"), 1;
    for (long i = 0; i < total; i++) {
        const uint8_t *msg = pat_at((uint32_t)i, 0);
        size_t got = 0;
        if (now_s() > deadline) {
            fprintf(stderr, "rr: timeout after %ld round trips\n", i);
            return 1;
        }
        if (o->udp) /* a late reply of a lost round must not pass for this one */
            while (recv(fd, iobuf, CHUNK, MSG_DONTWAIT) > 0)
                ;
        double t = now_s();
        if (send(fd, msg, bytes, MSG_NOSIGNAL) != (ssize_t)bytes)
            return perror("rr: send"), 1;
        while (got < bytes) {
            ssize_t r = recv(fd, iobuf + got, CHUNK - got, 0);
            if (r < 0 && o->udp && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (r <= 0) {
                fprintf(stderr, "rr: recv: %s\n", r == 0 ? "EOF" : strerror(errno));
                return 1;
            }
            got += (size_t)r;
        }
        double dt = now_s() - t;
        if (got < bytes) {
            lost++;
            continue;
        }
        if (got != bytes || memcmp(iobuf, msg, bytes) != 0) {
            fprintf(stderr, "rr: echo differs in round trip %ld\n", i);
            return 1;
        }
        if (i >= o->warmup)
            rtt[got_n++] = dt;
    }
    close(fd);
    qsort(rtt, (size_t)got_n, sizeof(double), cmp_double);
    double sum = 0;
    for (long i = 0; i < got_n; i++)
        sum += rtt[i];
    printf("{\"mode\":\"rr\",\"proto\":\"%s\",\"count\":%ld,\"lost\":%ld,\"p50_us\":%.2f,"
           "\"p99_us\":%.2f,\"min_us\":%.2f,\"mean_us\":%.2f}\n",
           o->udp ? "udp" : "tcp", got_n, lost, pct(rtt, (size_t)got_n, .5) * 1e6,
           pct(rtt, (size_t)got_n, .99) * 1e6, got_n ? rtt[0] * 1e6 : 0,
           got_n ? sum / (double)got_n * 1e6 : 0);
    return got_n > 0 ? 0 : 1;
}

/* ---- blast ------------------------------------------------------------------- */

#define BATCH 64

static int run_blast(const struct opts *o)
{
    static uint8_t rxb[BATCH][2048];
    struct mmsghdr tx[BATCH], rx[BATCH];
    struct iovec txv[BATCH], rxv[BATCH];
    size_t size = (size_t)o->size;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int bufsz = 4 << 20;
    long window = o->window;
    unsigned long long sent = 0, recvd = 0, lost = 0, counted = 0;
    long inflight = 0;
    double t0, t_start, t_end, last_rx;
    bool measuring = false;
    const double warmup = 0.2;

    if (fd < 0 || size < 1 || size > 2000 || window < 1)
        return fprintf(stderr, "blast: set-up failed\n"), 1;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
    if (connect(fd, (const struct sockaddr *)&o->to, sizeof(o->to)) < 0)
        return perror("blast: connect"), 1;
    for (int i = 0; i < BATCH; i++) {
        txv[i] = (struct iovec){.iov_base = (void *)pat_at((uint32_t)i, 0), .iov_len = size};
        tx[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &txv[i], .msg_iovlen = 1}};
        rxv[i] = (struct iovec){.iov_base = rxb[i], .iov_len = sizeof(rxb[i])};
        rx[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &rxv[i], .msg_iovlen = 1}};
    }
    t0 = last_rx = now_s();
    t_start = t0 + warmup;
    t_end = t_start + o->duration;
    for (;;) {
        double t = now_s();
        if (!measuring && t >= t_start) {
            measuring = true;
            counted = 0;
            t_start = t;
            t_end = t + o->duration;
        }
        if (t >= t_end)
            break;
        if (t - t0 > o->timeout) {
            fprintf(stderr, "blast: timeout\n");
            return 1;
        }
        long room = window - inflight;
        if (room > BATCH)
            room = BATCH;
        if (room > 0) {
            int s = sendmmsg(fd, tx, (unsigned)room, 0);
            if (s > 0) {
                sent += (unsigned long long)s;
                inflight += s;
            }
        }
        int r = recvmmsg(fd, rx, BATCH, MSG_DONTWAIT, NULL);
        if (r > 0) {
            recvd += (unsigned long long)r;
            counted += (unsigned long long)r;
            inflight -= r;
            if (inflight < 0)
                inflight = 0;
            last_rx = t;
            continue;
        }
        if (inflight >= window) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 2) == 0 && now_s() - last_rx > 0.02) {
                lost += (unsigned long long)inflight; /* no reply for 20 ms: gone */
                inflight = 0;
                last_rx = now_s();
            }
        }
    }
    double secs = now_s() - t_start;
    printf("{\"mode\":\"blast\",\"size\":%zu,\"ip_bytes\":%zu,\"window\":%ld,\"secs\":%.6f,"
           "\"pps\":%.1f,\"sent\":%llu,\"received\":%llu,\"lost\":%llu}\n",
           size, size + 28, window, secs, (double)counted / secs, sent, recvd, lost);
    return recvd > 0 ? 0 : 1;
}

/* ---- serve ------------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

struct sconn {
    uint8_t *pend;
    size_t off, len;
};

static void serve_close(int ep, struct sconn *cs, int fd)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    free(cs[fd].pend);
    memset(&cs[fd], 0, sizeof(cs[fd]));
    close(fd);
}

static void serve_readable(int ep, struct sconn *cs, int fd)
{
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t r = recv(fd, iobuf, CHUNK, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (r <= 0) { /* the client's FIN (or an error): close in turn */
            serve_close(ep, cs, fd);
            return;
        }
        ssize_t w = send(fd, iobuf, (size_t)r, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
            serve_close(ep, cs, fd);
            return;
        }
        if (w < 0)
            w = 0;
        if (w < r) { /* back-pressure: keep the rest, stop reading until it is out */
            struct sconn *c = &cs[fd];
            c->pend = malloc(CHUNK);
            if (c->pend == NULL) {
                serve_close(ep, cs, fd);
                return;
            }
            memcpy(c->pend, iobuf + w, (size_t)(r - w));
            c->off = 0;
            c->len = (size_t)(r - w);
            ep_ctl(ep, EPOLL_CTL_MOD, fd, EPOLLOUT, (uint64_t)fd);
            return;
        }
    }
}

static void serve_writable(int ep, struct sconn *cs, int fd)
{
    struct sconn *c = &cs[fd];
    ssize_t w = send(fd, c->pend + c->off, c->len - c->off, MSG_NOSIGNAL);

    if (w < 0) {
        if (errno != EAGAIN)
            serve_close(ep, cs, fd);
        return;
    }
    c->off += (size_t)w;
    if (c->off < c->len)
        return;
    free(c->pend);
    c->pend = NULL;
    c->off = c->len = 0;
    ep_ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN, (uint64_t)fd);
}

static int run_serve(const struct opts *o)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    struct epoll_event evs[256];
    struct sigaction sig;
    struct rlimit rl;
    int one = 1, lfd, ep;
    struct sconn *cs;

    raise_nofile(65536);
    getrlimit(RLIMIT_NOFILE, &rl);
    cs = xcalloc((size_t)rl.rlim_cur, sizeof(*cs));
    if (cs == NULL || inet_pton(AF_INET, o->addr, &sa.sin_addr) != 1)
        return fprintf(stderr, "serve: bad --addr\n"), 2;
    memset(&sig, 0, sizeof(sig));
    sig.sa_handler = on_signal;
    sigaction(SIGTERM, &sig, NULL);
    sigaction(SIGINT, &sig, NULL);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0)
        return perror("serve: bind/listen"), 1;
    ep = epoll_create1(EPOLL_CLOEXEC);
    ep_ctl(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, (uint64_t)lfd);
    printf("listening on %s:%d\n", o->addr, o->port);
    fflush(stdout);
    while (!stop) {
        int m = epoll_wait(ep, evs, 256, 1000);
        for (int e = 0; e < m; e++) {
            int fd = (int)evs[e].data.u64;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if ((rlim_t)c >= rl.rlim_cur) {
                        close(c);
                        continue;
                    }
                    set_nodelay(c);
                    ep_ctl(ep, EPOLL_CTL_ADD, c, EPOLLIN, (uint64_t)c);
                }
                continue;
            }
            if (cs[fd].pend != NULL)
                serve_writable(ep, cs, fd);
            else
                serve_readable(ep, cs, fd);
        }
    }
    for (rlim_t fd = 0; fd < rl.rlim_cur; fd++)
        free(cs[fd].pend);
    return 0;
}

/* ---- command line -------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: loadgen bulk|crr|rr|hold|blast --to IP:PORT [--conns N] [--concurrency K]\n"
            "               [--bytes N] [--count N] [--warmup N] [--udp] [--size S]\n"
            "               [--window W] [--duration SEC] [--timeout SEC]\n"
            "       loadgen serve [--addr IP] [--port N]\n");
    return 2;
}

static bool parse_to(struct opts *o, const char *s)
{
    char host[64];
    const char *colon = strrchr(s, ':');

    if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
        return false;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    o->to.sin_family = AF_INET;
    o->to.sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &o->to.sin_addr) == 1;
}

int main(int argc, char **argv)
{
    struct opts o = {.addr = "0.0.0.0",
                     .port = 7,
                     .conns = 1,
                     .concurrency = 1,
                     .count = 1000,
                     .warmup = 100,
                     .window = 64,
                     .size = 1472,
                     .bytes = -1,
                     .duration = 1,
                     .timeout = 60};

    if (argc < 2)
        return usage();
    o.mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--udp") == 0) {
            o.udp = true;
            continue;
        }
        if (v == NULL)
            return usage();
        i++;
        if (strcmp(a, "--to") == 0)
            o.to_set = parse_to(&o, v);
        else if (strcmp(a, "--addr") == 0)
            o.addr = v;
        else if (strcmp(a, "--port") == 0)
            o.port = atoi(v);
        else if (strcmp(a, "--conns") == 0)
            o.conns = atol(v);
        else if (strcmp(a, "--concurrency") == 0)
            o.concurrency = atol(v);
        else if (strcmp(a, "--bytes") == 0)
            o.bytes = atoll(v);
        else if (strcmp(a, "--count") == 0)
            o.count = atol(v);
        else if (strcmp(a, "--warmup") == 0)
            o.warmup = atol(v);
        else if (strcmp(a, "--window") == 0)
            o.window = atol(v);
        else if (strcmp(a, "--size") == 0)
            o.size = atol(v);
        else if (strcmp(a, "--duration") == 0)
            o.duration = atof(v);
        else if (strcmp(a, "--timeout") == 0)
            o.timeout = atof(v);
        else
            return usage();
    }
    pat_init();
    if (strcmp(o.mode, "serve") == 0)
        return run_serve(&o);
    if (!o.to_set || o.conns < 1 || o.concurrency < 1 || o.count < 1 || o.warmup < 0 ||
        o.timeout <= 0)
        return usage();
    if (strcmp(o.mode, "bulk") == 0)
        return o.bytes > 0 ? run_bulk(&o) : usage();
    if (o.bytes < 0)
        o.bytes = strcmp(o.mode, "rr") == 0 ? 1 : 64;
    if (strcmp(o.mode, "crr") == 0)
        return run_crr(&o, false);
    if (strcmp(o.mode, "hold") == 0)
        return run_crr(&o, true);
    if (strcmp(o.mode, "rr") == 0)
        return run_rr(&o);
    if (strcmp(o.mode, "blast") == 0)
        return run_blast(&o);
    return usage();
}
