/*
 * lwip_echo: an echo server on lwIP (Debian's liblwip-dev, lwIP 2.1) on a
 * TUN device, set up exactly as tuntcp's (bench_tun.h), for the benchmark's
 * side-by-side comparison (run.py).
 *
 * What Debian ships: liblwip.so built NO_SYS=0 with the sockets and
 * netconn APIs, libc malloc for every pool (MEM_LIBC_MALLOC,
 * MEMP_MEM_MALLOC: no fixed limit on connections), TCP_MSS 1460, TCP_WND
 * 65535 with window scaling, and the unix port's tapif (a TAP, i.e.
 * Ethernet, device; not a TUN). So this program uses neither tapif nor the
 * tcpip thread: it calls lwip_init() and drives the stack the way an
 * lwIP port without an OS does, in one thread, from its own loop:
 *
 *   poll(TUN) -> up to 64 read()s, each straight into a fresh pbuf
 *   (no copy) -> ip_input(); lwIP's output -> one write() per packet;
 *   sys_check_timeouts() after each batch and when poll times out at
 *   lwIP's next timer.
 *
 * That is the same I/O as the reflector's (one read and one write a
 * packet, batches of 64), and as tuntcp's driver with --offload off but
 * for its batching (stack/driver/pump.c: reads until EAGAIN, up to 256,
 * answers written 32 at a time between reads). Without tcpip_init() there
 * is no tcpip thread, hence no core-lock checks and no hand-off between
 * threads per packet: lwIP at its fastest, in one thread, as tuntcp runs.
 *
 * The echo uses lwIP's raw API: data is copied into the send buffer
 * (tcp_write with TCP_WRITE_FLAG_COPY) as far as tcp_sndbuf() allows and
 * only then acknowledged to the window (tcp_recved), so a slow reader
 * back-pressures the writer as in tuntcp's echo-server; Nagle is off (tuntcp
 * has none). At the peer's FIN the server closes once everything is queued.
 *
 *   lwip_echo TUNNAME [PORT]   address 10.7.0.2/24; prints "ready TUNNAME"
 *                              when the device is open and
 *                              "listening on 10.7.0.2:PORT" once it listens;
 *                              exits 0 on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#include "bench_tun.h"

#define RX_BATCH 64
#define RX_BUF 2048 /* the MTU is 1500; without offloads the kernel sends no more */

struct echo {
    struct tcp_pcb *pcb;
    struct pbuf *pend; /* received, not yet in the send buffer */
    bool eof;
};

static int tun_fd = -1;
static volatile sig_atomic_t stop;
static unsigned long long n_in, n_out, n_out_err, n_accepted, n_closed;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void echo_free(struct echo *e)
{
    if (e->pend != NULL)
        pbuf_free(e->pend);
    free(e);
    n_closed++;
}

static void echo_close(struct echo *e)
{
    struct tcp_pcb *pcb = e->pcb;

    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    if (tcp_close(pcb) != ERR_OK)
        tcp_abort(pcb);
    echo_free(e);
}

/* Moves pending data into the send buffer as far as it goes. */
static void echo_pump(struct echo *e)
{
    while (e->pend != NULL) {
        u16_t len = e->pend->len;
        u16_t room = tcp_sndbuf(e->pcb);
        u16_t n = len < room ? len : room;

        if (n == 0)
            break;
        if (tcp_write(e->pcb, e->pend->payload, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
            break; /* the segment queue is full: on_sent comes back */
        tcp_recved(e->pcb, n);
        if (n < len) {
            pbuf_remove_header(e->pend, n);
            break;
        }
        struct pbuf *head = e->pend;
        e->pend = head->next;
        if (e->pend != NULL)
            pbuf_ref(e->pend);
        pbuf_free(head); /* head alone: the rest keeps the reference just taken */
    }
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct echo *e = arg;

    (void)pcb;
    if (e == NULL) {
        if (p != NULL)
            pbuf_free(p);
        return ERR_OK;
    }
    if (p == NULL || err != ERR_OK) {
        if (p != NULL)
            pbuf_free(p);
        e->eof = true;
        if (e->pend == NULL) {
            echo_close(e);
            return ERR_OK;
        }
        return ERR_OK;
    }
    if (e->pend == NULL)
        e->pend = p;
    else
        pbuf_cat(e->pend, p);
    echo_pump(e);
    return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct echo *e = arg;

    (void)pcb;
    (void)len;
    if (e == NULL)
        return ERR_OK;
    echo_pump(e);
    if (e->eof && e->pend == NULL)
        echo_close(e);
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    (void)err;
    if (arg != NULL)
        echo_free(arg); /* lwIP has freed the pcb already */
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct echo *e;

    (void)arg;
    if (err != ERR_OK || pcb == NULL)
        return ERR_VAL;
    if ((e = calloc(1, sizeof(*e))) == NULL) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    e->pcb = pcb;
    n_accepted++;
    tcp_nagle_disable(pcb);
    tcp_arg(pcb, e);
    tcp_recv(pcb, on_recv);
    tcp_sent(pcb, on_sent);
    tcp_err(pcb, on_err);
    return ERR_OK;
}

static err_t nif_output(struct netif *nif, struct pbuf *p, const ip4_addr_t *dst)
{
    static uint8_t flat[65536];
    const void *pkt = p->payload;

    (void)nif;
    (void)dst;
    if (p->next != NULL) { /* rare with LWIP_NETIF_TX_SINGLE_PBUF */
        pbuf_copy_partial(p, flat, p->tot_len, 0);
        pkt = flat;
    }
    if (bench_tun_write(tun_fd, pkt, p->tot_len) < 0) {
        n_out_err++;
        return ERR_IF;
    }
    n_out++;
    return ERR_OK;
}

static err_t nif_init(struct netif *nif)
{
    nif->name[0] = 't';
    nif->name[1] = 'u';
    nif->mtu = 1500;
    nif->output = nif_output;
    return ERR_OK;
}

int main(int argc, char **argv)
{
    struct netif nif;
    ip4_addr_t addr, mask, gw;
    struct tcp_pcb *pcb;
    struct pbuf *rx = NULL;
    struct sigaction sa;
    int port = argc > 2 ? atoi(argv[2]) : 7;

    if (argc < 2 || argc > 3 || port <= 0 || port > 65535) {
        fprintf(stderr, "usage: lwip_echo TUNNAME [PORT]\n");
        return 2;
    }
    if ((tun_fd = bench_tun_open(argv[1])) < 0)
        return 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("ready %s\n", argv[1]);
    fflush(stdout);

    lwip_init();
    IP4_ADDR(&addr, 10, 7, 0, 2);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gw, 10, 7, 0, 1);
    memset(&nif, 0, sizeof(nif));
    if (netif_add(&nif, &addr, &mask, &gw, NULL, nif_init, ip_input) == NULL) {
        fprintf(stderr, "lwip_echo: netif_add failed\n");
        return 1;
    }
    netif_set_default(&nif);
    netif_set_link_up(&nif);
    netif_set_up(&nif);
    pcb = tcp_new();
    if (pcb == NULL || tcp_bind(pcb, IP_ADDR_ANY, (u16_t)port) != ERR_OK ||
        (pcb = tcp_listen_with_backlog(pcb, 255)) == NULL) {
        fprintf(stderr, "lwip_echo: cannot listen on port %d\n", port);
        return 1;
    }
    tcp_accept(pcb, on_accept);
    printf("listening on 10.7.0.2:%d\n", port);
    fflush(stdout);

    while (!stop) {
        u32_t sleep_ms = sys_timeouts_sleeptime();
        int timeout = sleep_ms > 1000 ? 1000 : (int)sleep_ms;
        struct pollfd pfd = {.fd = tun_fd, .events = POLLIN};

        if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < RX_BATCH; i++) {
            ssize_t n;
            if (rx == NULL && (rx = pbuf_alloc(PBUF_RAW, RX_BUF, PBUF_RAM)) == NULL)
                break;
            n = read(tun_fd, rx->payload, RX_BUF);
            if (n <= 0)
                break;
            n_in++;
            pbuf_realloc(rx, (u16_t)n);
            if (nif.input(rx, &nif) != ERR_OK)
                pbuf_free(rx);
            rx = NULL;
        }
        sys_check_timeouts();
    }
    if (rx != NULL)
        pbuf_free(rx);
    fprintf(stderr, "lwip_echo: in %llu out %llu out_errors %llu accepted %llu closed %llu\n", n_in,
            n_out, n_out_err, n_accepted, n_closed);
    close(tun_fd);
    return 0;
}
