/*
 * setsockopt() and getsockopt() on the script's sockets, with Linux's
 * answers: SOL_SOCKET (SO_LINGER, SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF,
 * SO_RCVBUF, SO_ERROR, SO_TYPE, SO_MEMINFO), SOL_TCP (TCP_NODELAY,
 * TCP_CORK, TCP_USER_TIMEOUT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
 * TCP_INQ, TCP_MAXSEG, TCP_INFO, TCP_CC_INFO) and SOL_IP (IP_TOS,
 * IP_MTU_DISCOVER).
 *
 * A socket keeps what was set (struct pd_sock); pd_sockopt_apply() hands it
 * to the engine's connection once there is one (connect, accept), and a
 * setting on a connected socket reaches its connection at once. What the
 * handshake fixes (SO_RCVBUF, TCP_MAXSEG: pd_sockopt_conn_opts()) goes with
 * tt_connect_opts(), or to the listener for the SYNs to come.
 *
 * Every function returns 0 or -errno.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>

#include "pd_adapter.h"
#include "pd_tcpinfo.h"

#define PD_SOCK_MIN_SNDBUF 4608u  /* Linux SOCK_MIN_SNDBUF on x86-64 */
#define PD_SOCK_MIN_RCVBUF 2304u  /* Linux SOCK_MIN_RCVBUF on x86-64 */
#define PD_TCP_MIN_MSS 88         /* Linux TCP_MIN_MSS: least TCP_MAXSEG */
#define PD_MAX_TCP_WINDOW 32767   /* Linux MAX_TCP_WINDOW: largest TCP_MAXSEG */
#define PD_TCP_MSS_DEFAULT 536    /* Linux TCP_MSS_DEFAULT: mss_cache before a connection */
#define PD_INET_ECN_MASK 3        /* the ECN bits of the TOS byte: TCP's own */
#define PD_MAX_TCP_KEEPIDLE 32767 /* Linux MAX_TCP_KEEPIDLE, _KEEPINTVL */
#define PD_MAX_TCP_KEEPCNT 127

static int int_opt(const void *val, socklen_t len, int *out)
{
    if (len < (socklen_t)sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int put_opt(void *val, socklen_t *len, const void *v, size_t size)
{
    if (!len || (int)*len < 0)
        return -EINVAL;
    size_t n = *len < size ? (size_t)*len : size;
    memcpy(val, v, n);
    *len = (socklen_t)n;
    return 0;
}

static void apply_keepalive(struct pd_sock *s)
{
    if (s->conn)
        tt_conn_set_keepalive(s->conn, s->keepalive, s->ka_idle_s, s->ka_intvl_s, s->ka_cnt);
}

void pd_sockopt_apply(struct pd_sock *s)
{
    tt_conn_set_linger(s->conn, s->linger_on, s->linger_s);
    tt_conn_set_sndbuf(s->conn, s->sndbuf);
    tt_conn_set_nodelay(s->conn, s->nodelay);
    tt_conn_set_cork(s->conn, s->cork);
    tt_conn_set_user_timeout(s->conn, s->user_timeout_ms);
    tt_conn_set_notsent_lowat(s->conn, s->notsent_lowat);
    apply_keepalive(s);
}

/* ---- what the handshake fixes: SO_RCVBUF, TCP_MAXSEG ---- */

void pd_sockopt_conn_opts(const struct pd_sock *s, tt_conn_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->sndbuf = s->sndbuf;
    /* Linux offers about half of its doubled buffer as window (the rest is
     * its bookkeeping: tcp_win_from_space), so the engine gets what was set. */
    o->rcvbuf = s->rcvbuf / 2;
    o->maxseg = s->user_mss;
    o->tos = s->tos;
}

/* A listener's settings reach the SYNs that arrive from now on. */
static int conn_opts_changed(struct pd_sock *s)
{
    if (!s->listener)
        return 0;
    tt_conn_opts_t o;
    pd_sockopt_conn_opts(s, &o);
    return tt_listener_set_opts(s->listener, &o);
}

/* SO_RCVBUF: twice the value, at least SOCK_MIN_RCVBUF (Linux sk_setsockopt).
 * On a connected socket it is kept for getsockopt only: the engine fixes its
 * receive buffer at the handshake. */
static int set_rcvbuf(struct pd_sock *s, int v)
{
    s->rcvbuf = v > 0 && v < INT32_MAX / 2 ? 2u * (uint32_t)v : 0;
    if (s->rcvbuf && s->rcvbuf < PD_SOCK_MIN_RCVBUF)
        s->rcvbuf = PD_SOCK_MIN_RCVBUF;
    return conn_opts_changed(s);
}

/* TCP_MAXSEG: Linux user_mss, 0 or TCP_MIN_MSS .. MAX_TCP_WINDOW. It caps
 * the MSS of the handshakes to come; a connection keeps the MSS it has. */
static int set_maxseg(struct pd_sock *s, int v)
{
    if (v && (v < PD_TCP_MIN_MSS || v > PD_MAX_TCP_WINDOW))
        return -EINVAL;
    s->user_mss = (uint16_t)v;
    return conn_opts_changed(s);
}

/* Linux: user_mss while closed or listening, once set; else mss_cache. */
static int get_maxseg(const struct pd_sock *s)
{
    if (!s->conn)
        return s->user_mss ? s->user_mss : PD_TCP_MSS_DEFAULT;
    tt_conn_info_t info;
    tt_conn_get_info(s->conn, &info);
    return (int)info.mss;
}

/* ---- SOL_IP ---- */

/* Linux ip_setsockopt takes an int, or a single byte when optlen is 1. */
static int ip_int_opt(const void *val, socklen_t len, int *out)
{
    if (len >= (socklen_t)sizeof(int))
        return int_opt(val, len, out);
    if (len < 1)
        return -EINVAL;
    *out = *(const uint8_t *)val;
    return 0;
}

static int set_sol_ip(struct pd_sock *s, int name, const void *val, socklen_t len)
{
    int v, err = ip_int_opt(val, len, &v);
    if (err)
        return err;
    switch (name) {
    case IP_TOS: /* a TCP socket keeps its ECN bits (Linux __ip_sock_set_tos) */
        s->tos = (uint8_t)((v & ~PD_INET_ECN_MASK) | (s->tos & PD_INET_ECN_MASK));
        if (s->conn)
            tt_conn_set_tos(s->conn, s->tos);
        return conn_opts_changed(s);
    case IP_MTU_DISCOVER: /* accepted; the engine always sets DF */
        return v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT ? -EINVAL : 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int get_sol_ip(struct pd_sock *s, int name, void *val, socklen_t *len)
{
    int v;
    if (name != IP_TOS)
        return -ENOPROTOOPT;
    v = s->tos;
    return put_opt(val, len, &v, sizeof(v));
}

/* ---- SOL_SOCKET ---- */

static int set_linger(struct pd_sock *s, const void *val, socklen_t len)
{
    struct linger l;
    if (len < (socklen_t)sizeof(l))
        return -EINVAL;
    memcpy(&l, val, sizeof(l));
    s->linger_on = l.l_onoff != 0;
    s->linger_s = l.l_linger < 0 ? 0 : (unsigned)l.l_linger;
    if (s->conn)
        tt_conn_set_linger(s->conn, s->linger_on, s->linger_s);
    return 0;
}

static int set_sndbuf(struct pd_sock *s, int v)
{
    /* Linux keeps twice the value (the rest is its bookkeeping), at least
     * SOCK_MIN_SNDBUF; the engine holds that much payload. */
    s->sndbuf = v > 0 && v < INT32_MAX / 2 ? 2u * (uint32_t)v : 0;
    if (s->sndbuf && s->sndbuf < PD_SOCK_MIN_SNDBUF)
        s->sndbuf = PD_SOCK_MIN_SNDBUF;
    if (s->conn)
        tt_conn_set_sndbuf(s->conn, s->sndbuf);
    return 0;
}

static int set_sol_socket(struct pd_sock *s, int name, const void *val, socklen_t len)
{
    if (name == SO_LINGER)
        return set_linger(s, val, len);
    if (name == SO_TIMESTAMPING)
        return pd_tstamp_set(s, val, len);
    int v, err = int_opt(val, len, &v);
    if (err)
        return err;
    switch (name) {
    case SO_REUSEADDR:
    case SO_REUSEPORT:
        s->reuseaddr = v != 0;
        return 0;
    case SO_KEEPALIVE:
        s->keepalive = v != 0;
        apply_keepalive(s);
        return 0;
    case SO_SNDBUF:
        return set_sndbuf(s, v);
    case SO_RCVBUF:
        return set_rcvbuf(s, v);
    case SO_ZEROCOPY:
        return pd_zc_set(s, v);
    case SO_MARK: /* kept and read back: Linux routes and filters by it, the adapter has neither */
        s->mark = (uint32_t)v;
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int get_sol_socket(struct pd *pd, struct pd_sock *s, int name, void *val, socklen_t *len)
{
    const tt_config_t *cfg = tt_engine_config(pd->eng);
    int v;
    switch (name) {
    case SO_LINGER: {
        struct linger l = {.l_onoff = s->linger_on, .l_linger = (int)s->linger_s};
        return put_opt(val, len, &l, sizeof(l));
    }
    case SO_TIMESTAMPING:
        return pd_tstamp_get(s, val, len);
    case SO_ERROR:
        pd_sock_sync(s, 0);
        v = -pd_take_error(s);
        break;
    case SO_REUSEADDR:
    case SO_REUSEPORT:
        v = s->reuseaddr;
        break;
    case SO_KEEPALIVE:
        v = s->keepalive;
        break;
    case SO_TYPE:
        v = SOCK_STREAM;
        break;
    case SO_ZEROCOPY:
        v = s->zerocopy;
        break;
    case SO_MARK:
        v = (int)s->mark;
        break;
    case SO_SNDBUF: /* what the engine really uses: Linux sk_sndbuf, grown */
        v = (int)(s->sndbuf ? s->sndbuf : cfg->sndbuf);
        if (s->conn) {
            tt_conn_info_t info;
            tt_conn_get_info(s->conn, &info);
            v = (int)info.sndbuf;
        }
        break;
    case SO_RCVBUF:
        v = (int)(s->rcvbuf ? s->rcvbuf : cfg->rcvbuf);
        break;
    default:
        return -ENOPROTOOPT;
    }
    return put_opt(val, len, &v, sizeof(v));
}

/* ---- SOL_TCP ---- */

/* TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT: Linux's ranges (do_tcp_setsockopt). */
static int set_keepalive_param(struct pd_sock *s, int name, int v)
{
    int max = name == TCP_KEEPCNT ? PD_MAX_TCP_KEEPCNT : PD_MAX_TCP_KEEPIDLE;
    if (v < 1 || v > max)
        return -EINVAL;
    if (name == TCP_KEEPIDLE)
        s->ka_idle_s = (unsigned)v;
    else if (name == TCP_KEEPINTVL)
        s->ka_intvl_s = (unsigned)v;
    else
        s->ka_cnt = (unsigned)v;
    apply_keepalive(s);
    return 0;
}

static int set_sol_tcp(struct pd_sock *s, int name, const void *val, socklen_t len)
{
    int v, err = int_opt(val, len, &v);
    if (err)
        return err;
    switch (name) {
    case TCP_NODELAY:
        s->nodelay = v != 0;
        if (s->conn) /* Linux takes it on a closed socket too: no error */
            tt_conn_set_nodelay(s->conn, s->nodelay);
        return 0;
    case TCP_CORK:
        s->cork = v != 0;
        if (s->conn)
            tt_conn_set_cork(s->conn, s->cork);
        return 0;
    case TCP_USER_TIMEOUT:
        if (v < 0)
            return -EINVAL;
        s->user_timeout_ms = (unsigned)v;
        return s->conn ? tt_conn_set_user_timeout(s->conn, s->user_timeout_ms) : 0;
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
    case TCP_KEEPCNT:
        return set_keepalive_param(s, name, v);
    case TCP_INQ:
        if (v < 0 || v > 1)
            return -EINVAL; /* Linux accepts 0 and 1 only */
        s->inq = v != 0;
        return 0;
    case TCP_NOTSENT_LOWAT:
        /* Linux keeps the int as a u32 (-1: 0xffffffff, off); 0: the sysctl */
        s->notsent_lowat = (uint32_t)v;
        return s->conn ? tt_conn_set_notsent_lowat(s->conn, s->notsent_lowat) : 0;
    case TCP_MAXSEG:
        return set_maxseg(s, v);
    default:
        return -ENOPROTOOPT;
    }
}

/* TCP_INFO (pd_tcpinfo.c); a listener or a closed socket reports its state only. */
static int get_tcp_info(struct pd *pd, struct pd_sock *s, void *val, socklen_t *len)
{
    struct pd_tcpinfo_src src = {.now_us = pd->now};
    const tt_config_t *cfg = tt_engine_config(pd->eng);
    src.ato_us = cfg->delack_us;
    src.mtu = cfg->mtu;
    if (s->conn)
        tt_conn_get_info(s->conn, &src.info);
    else
        src.info.state = s->listener ? TT_STATE_LISTEN : TT_STATE_CLOSED;
    return pd_tcpinfo_get(&src, val, len);
}

/* The keep-alive parameters as Linux reports them: the socket's own, else
 * the sysctl's (keepalive_time_when() and its kin). */
static int keepalive_param(const struct pd *pd, const struct pd_sock *s, int name)
{
    const tt_config_t *cfg = tt_engine_config(pd->eng);
    if (name == TCP_KEEPIDLE)
        return (int)(s->ka_idle_s ? s->ka_idle_s : cfg->keepalive_time_us / 1000000);
    if (name == TCP_KEEPINTVL)
        return (int)(s->ka_intvl_s ? s->ka_intvl_s : cfg->keepalive_intvl_us / 1000000);
    return s->ka_cnt ? (int)s->ka_cnt : cfg->keepalive_probes;
}

static int get_sol_tcp(struct pd *pd, struct pd_sock *s, int name, void *val, socklen_t *len)
{
    int v;
    switch (name) {
    case TCP_INFO:
        return get_tcp_info(pd, s, val, len);
    case TCP_CC_INFO:
        /* Linux: reno and cubic have no get_info; the answer is 0 bytes */
        if (!len || (int)*len < 0)
            return -EINVAL;
        *len = 0;
        return 0;
    case TCP_MAXSEG:
        v = get_maxseg(s);
        break;
    case TCP_NODELAY:
        v = s->nodelay;
        break;
    case TCP_CORK:
        v = s->cork;
        break;
    case TCP_USER_TIMEOUT:
        v = (int)s->user_timeout_ms;
        break;
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
    case TCP_KEEPCNT:
        v = keepalive_param(pd, s, name);
        break;
    case TCP_INQ:
        v = s->inq;
        break;
    case TCP_NOTSENT_LOWAT:
        v = (int)s->notsent_lowat;
        break;
    default:
        return -ENOPROTOOPT;
    }
    return put_opt(val, len, &v, sizeof(v));
}

/* SO_MEMINFO: Linux's sk_meminfo array (SK_MEMINFO_RMEM_ALLOC, RCVBUF,
 * WMEM_ALLOC, SNDBUF, FWD_ALLOC, WMEM_QUEUED, OPTMEM, BACKLOG, DROPS), with
 * the bytes the engine holds for what Linux counts in truesize. */
static int get_meminfo(struct pd *pd, struct pd_sock *s, void *val, socklen_t *len)
{
    const tt_config_t *cfg = tt_engine_config(pd->eng);
    uint32_t m[9] = {0};
    tt_conn_info_t info = {.send_q = 0};
    if (s->conn)
        tt_conn_get_info(s->conn, &info);
    m[0] = info.recv_q;
    m[1] = cfg->rcvbuf;
    m[2] = info.unacked < info.send_q ? info.unacked : info.send_q;
    m[3] = s->sndbuf ? s->sndbuf : cfg->sndbuf;
    m[5] = info.send_q;
    return put_opt(val, len, m, sizeof(m));
}

int pd_sockopt_set(struct pd_sock *s, int level, int name, const void *val, socklen_t len)
{
    if (!val && len > 0)
        return -EFAULT;
    if (level == SOL_SOCKET)
        return set_sol_socket(s, name, val, len);
    if (level == IPPROTO_TCP)
        return set_sol_tcp(s, name, val, len);
    if (level == IPPROTO_IP)
        return set_sol_ip(s, name, val, len);
    return -ENOPROTOOPT;
}

int pd_sockopt_get(struct pd *pd, struct pd_sock *s, int level, int name, void *val, socklen_t *len)
{
    if (level == SOL_SOCKET && name == SO_MEMINFO)
        return get_meminfo(pd, s, val, len);
    if (level == SOL_SOCKET)
        return get_sol_socket(pd, s, name, val, len);
    if (level == IPPROTO_TCP)
        return get_sol_tcp(pd, s, name, val, len);
    if (level == IPPROTO_IP)
        return get_sol_ip(s, name, val, len);
    return -ENOPROTOOPT;
}
