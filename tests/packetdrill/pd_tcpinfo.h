/*
 * getsockopt(TCP_INFO) for the adapter (pd_tcpinfo.c): Linux's struct
 * tcp_info filled from the engine's tt_conn_get_info().
 */
#ifndef TT_PD_TCPINFO_H
#define TT_PD_TCPINFO_H

#include <stdint.h>
#include <sys/socket.h>

#include "tuntcp/tuntcp.h"

struct pd_tcpinfo_src {
    tt_conn_info_t info;
    uint64_t now_us; /* the engine's clock, for the "time since" fields */
    uint64_t ato_us; /* the delayed-ACK timeout (--delack) */
    uint32_t mtu;
};

/* Copies up to *len bytes of struct tcp_info into val; 0 or -EINVAL. */
int pd_tcpinfo_get(const struct pd_tcpinfo_src *src, void *val, socklen_t *len);

#endif
