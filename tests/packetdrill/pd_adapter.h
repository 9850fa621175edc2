/*
 * The packetdrill adapter's shared state: one tuntcp engine behind the
 * socket calls of packetdrill's shared-object interface (pd_interface.h).
 *
 * Threads. packetdrill calls us from two threads: its main thread (packets,
 * clock, and the system calls a script does not expect to block) and a
 * system-call thread (calls written with a time range, `+0...0.5 read(...)`,
 * which packetdrill expects to block while its main thread goes on). One
 * mutex guards everything; a blocked call sleeps on the condition variable
 * (so packetdrill sees the thread asleep, as it would in the kernel).
 *
 * Time is virtual (pd->now, microseconds). It moves only when packetdrill
 * sleeps (usleep), reads the clock (gettimeofday: 1 us a call, because
 * packetdrill spins on it for the last few microseconds before an event),
 * waits for an outbound packet, or a call blocks on the main thread. Each
 * move fires the engine's timers at their exact deadlines on the way.
 *
 * Hand-off: when a blocked call can complete, no other thread may move the
 * clock or change the engine until that call has returned and packetdrill
 * has read its end time (its next gettimeofday). So the call returns at the
 * virtual instant it became possible, as a woken kernel thread would.
 */
#ifndef TT_PD_ADAPTER_H
#define TT_PD_ADAPTER_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "pd_interface.h"
#include "tuntcp/tuntcp.h"

/* The adapter's knobs: the engine's config plus socket defaults (--so_flags). */
struct pd_opts {
    tt_config_t cfg;
    bool linger_on; /* --linger0 / --linger N: SO_LINGER of every new socket */
    unsigned linger_s;
    int verbose; /* -v: engine events on stderr */
    /* --gso-size N: packetdrill's --mss as its tun writes have it (the
     * virtio header's gso_size); 0 none */
    uint16_t gso_size;
    char qdisc_fifo[512]; /* --qdisc-fifo: tun0's emulated qdisc (pd_qdisc.c); "" none */
};

/* One datagram the engine sent, waiting for packetdrill's netdev_receive. */
struct pd_pkt {
    struct pd_pkt *next;
    uint64_t t; /* virtual time it left */
    size_t len;
    uint8_t data[];
};

enum pd_wait_kind {
    PD_WAIT_ACCEPT,
    PD_WAIT_CONNECT,
    PD_WAIT_READ,
    PD_WAIT_WRITE,
    PD_WAIT_CLOSE,
    PD_WAIT_POLL,
    PD_WAIT_EPOLL
};

struct pd_epoll;

/* What a blocked call waits for (one at a time: packetdrill runs one blocking call). */
struct pd_blocker {
    bool active;
    pthread_t thread;
    enum pd_wait_kind kind;
    struct pd_sock *sock;
    struct pollfd *fds; /* PD_WAIT_POLL */
    nfds_t nfds;
    struct pd_epoll *ep; /* PD_WAIT_EPOLL */
    uint64_t deadline;   /* virtual time it gives up; TT_TIME_NEVER for none */
};

/* A socket as the script sees it. */
struct pd_sock {
    struct pd_sock *next;
    int fd; /* a real descriptor (of /dev/null): packetdrill may close() it */
    bool nonblock, reuseaddr, nodelay, keepalive;
    bool cork;                              /* TCP_CORK */
    bool inq;                               /* TCP_INQ: recvmsg() adds TCP_CM_INQ */
    unsigned user_timeout_ms;               /* TCP_USER_TIMEOUT */
    unsigned ka_idle_s, ka_intvl_s, ka_cnt; /* TCP_KEEPIDLE, _KEEPINTVL, _KEEPCNT; 0: sysctl */
    bool linger_on;
    unsigned linger_s;
    uint32_t sndbuf; /* SO_SNDBUF as Linux reports it (twice what was set); 0: unset */
    /* Fixed by the handshake (tt_conn_opts_t): set before connect() or on the listener */
    uint32_t rcvbuf;   /* SO_RCVBUF as Linux reports it (twice what was set); 0: unset */
    uint16_t user_mss; /* TCP_MAXSEG; 0: unset */
    uint8_t tos;       /* IP_TOS */
    uint16_t port;     /* bound local port; 0 = none */
    tt_listener_t *listener;
    unsigned ready;  /* connections announced by the listener, not yet accepted */
    tt_conn_t *conn; /* NULL before connect/accept and after close */
    bool connecting, connected;
    int so_error;    /* pending error (SO_ERROR), a positive errno */
    bool eof;        /* nothing more will come after carry */
    bool rd_shut;    /* shutdown(SHUT_RD) */
    bool close_done; /* the engine called the close callback */
    uint8_t *carry;  /* bytes taken from the engine, not yet read */
    size_t carry_len, carry_cap, pull_want;

    /* TCP_NOTSENT_LOWAT as set (0: the sysctl's). Linux SOCK_NOSPACE: a
     * write was cut short or poll found no room; the ACK that then makes
     * room wakes the writer once (sk_stream_write_space), counted in
     * wspace_wakes, an EPOLLOUT edge (pd_epoll.c). wspace_una: SND.UNA when
     * last looked at. */
    uint32_t notsent_lowat;
    bool nospace;
    uint32_t wspace_una;
    unsigned wspace_wakes;
    struct pd_tstamp *ts; /* SO_TIMESTAMPING (pd_timestamping.c); NULL: never set */
    bool zerocopy;        /* SO_ZEROCOPY */
    uint32_t mark;        /* SO_MARK */
    struct pd_zc *zc;     /* MSG_ZEROCOPY sends not yet acknowledged (pd_zerocopy.c) */
    struct pd_errq *errq; /* the error queue (pd_errqueue.c); NULL: never used */
    unsigned err_reports; /* reports queued or joined to the tail: epoll edges */
};

struct pd {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t main_thread;
    struct pd_opts opts;
    tt_engine_t *eng;
    uint64_t now, start;
    struct pd_pkt *out_head, *out_tail;
    struct pd_sock *socks;
    struct pd_epoll *epolls; /* pd_epoll.c */
    struct pd_blocker blk;
    bool stamp_pending; /* a system-call thread returned; its end time not yet read */
    pthread_t stamp_thread;
    uint16_t next_port;
    bool warned_addr, warned_bind;
    int qdisc_fd; /* the --qdisc-fifo FIFO, -1 none (pd_qdisc.c) */
};

#define PD_VCLOCK_START (1700000000ull * 1000000ull) /* looks like a wall clock in logs */

/* pd_qdisc.c: tun0's emulated qdisc; poll at the start of every call. */
void pd_qdisc_open(struct pd *pd);
void pd_qdisc_poll(struct pd *pd);
void pd_qdisc_close(struct pd *pd);

/* tt_packetdrill.c: lock, clock and blocking. */
void pd_begin(struct pd *pd);
long pd_end(struct pd *pd, long ret); /* ret < 0 is -errno: sets errno, returns -1 */
/* Blocks until b's condition holds: 0, or -EAGAIN when it never can (main thread). */
int pd_wait(struct pd *pd, const struct pd_blocker *b);

/* pd_socket.c: the socket calls of ifc; whether a blocked call can complete
 * now; the sockets' memory (after the engine is freed). */
void pd_socket_fill(struct pd_interface *ifc);
bool pd_blocker_ready(struct pd *pd, const struct pd_blocker *b);
void pd_sockets_free(struct pd *pd);

/* pd_socket.c, for pd_preload.c: whether fd is one of the script's sockets,
 * and getsockopt() on it (-1 and errno, as the C library's). */
bool pd_owns_fd(struct pd *pd, int fd);
int pd_getsockopt(struct pd *pd, int fd, int level, int name, void *val, socklen_t *len);
/* pd_preload.c: the adapter instance its getsockopt() answers for (NULL: none). */
void pd_preload_set(struct pd *pd);

/* pd_socket.c, for pd_sockopt.c: the engine's news for s (want: bytes a
 * read wants), the pending error taken (-errno), bytes in the engine's
 * receive buffer. */
void pd_sock_sync(struct pd_sock *s, size_t want);
struct pd_sock *pd_sock_find(struct pd *pd, int fd);
short pd_sock_poll_mask(struct pd *pd, struct pd_sock *s); /* Linux tcp_poll */
int pd_take_error(struct pd_sock *s);
uint32_t pd_recv_q(const struct pd_sock *s);

/* pd_sockopt.c: socket options (0 or -errno), and those set before the
 * connection existed handed to it. */
int pd_sockopt_set(struct pd_sock *s, int level, int name, const void *val, socklen_t len);
int pd_sockopt_get(struct pd *pd, struct pd_sock *s, int level, int name, void *val,
                   socklen_t *len);
void pd_sockopt_apply(struct pd_sock *s);
/* The settings the handshake fixes: for tt_connect_opts() and a listener. */
void pd_sockopt_conn_opts(const struct pd_sock *s, tt_conn_opts_t *o);

/* pd_errqueue.c: a socket's error queue. One report (struct
 * sock_extended_err's fields; t: when, for timestamps); push (false when
 * full or out of memory), the newest report (NULL: none), whether reports
 * wait (POLLERR), recvmsg(MSG_ERRQUEUE) (0 or -errno), free; one control
 * message appended (false when it does not fit in room). */
struct pd_errmsg {
    uint64_t t;
    uint32_t info, data;
    uint8_t ee_errno, origin, code;
};
bool pd_errq_push(struct pd_sock *s, const struct pd_errmsg *m);
struct pd_errmsg *pd_errq_tail(struct pd_sock *s);
bool pd_errq_queued(const struct pd_sock *s);
ssize_t pd_errq_recv(struct pd_sock *s, struct msghdr *msg);
void pd_errq_free(struct pd_sock *s);
bool pd_put_cmsg(struct msghdr *msg, size_t room, int level, int type, const void *data,
                 size_t len);

/* pd_timestamping.c: SO_TIMESTAMPING's transmit timestamps. Set and get
 * the option (0 or -errno); mark a write's last byte; queue what the
 * engine's progress earned (after every engine call); a report's
 * SCM_TIMESTAMPING message (false when it does not fit); free. */
int pd_tstamp_set(struct pd_sock *s, const void *val, socklen_t len);
int pd_tstamp_get(struct pd_sock *s, void *val, socklen_t *len);
void pd_tstamp_wrote(struct pd_sock *s);
void pd_tstamp_poll(struct pd *pd);
bool pd_tstamp_cmsg(struct pd_sock *s, const struct pd_errmsg *m, struct msghdr *msg, size_t room);
void pd_tstamp_free(struct pd_sock *s);

/* pd_zerocopy.c: MSG_ZEROCOPY. SO_ZEROCOPY set (0 or -errno); a send with
 * flags queued bytes; queue the completions the engine's progress earned
 * (after every engine call); free. */
int pd_zc_set(struct pd_sock *s, int v);
void pd_zc_wrote(struct pd_sock *s, int flags);
void pd_zc_poll(struct pd *pd);
void pd_zc_free(struct pd_sock *s);

/* pd_epoll.c: epoll on the script's sockets (-errno on failure). */
int pd_epoll_create(struct pd *pd, int size);
int pd_epoll_ctl(struct pd *pd, int epfd, int op, int fd, const struct epoll_event *ev);
int pd_epoll_wait(struct pd *pd, int epfd, struct epoll_event *evs, int max, int timeout_ms);
int pd_epoll_close(struct pd *pd, int fd); /* -EBADF: not an epoll descriptor */
bool pd_epoll_ready(struct pd *pd, struct pd_epoll *ep);
void pd_epolls_free(struct pd *pd);

/* pd_flags.c: --so_flags. Returns 0, or -1 after a message on err. */
int pd_flags_parse(const char *flags, struct pd_opts *o, FILE *err);

#endif
