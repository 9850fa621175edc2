/*
 * The TUN device: open or create it, and configure its kernel side.
 */
#ifndef TT_TUN_H
#define TT_TUN_H

#include <stdbool.h>
#include <stdint.h>

#define TUN_NAME_MAX 16 /* IFNAMSIZ, NUL included */

/* What tt_tun_open() is asked and did about segmentation offload (offload.h). */
struct tun_offload {
    bool want;        /* ask for IFF_VNET_HDR, TUN_F_CSUM and TUN_F_TSO4 */
    bool on;          /* granted: every read and write starts with a virtio_net_hdr */
    const char *step; /* when wanted but not granted: the call refused */
    int err;          /* and its negative errno */
};

/*
 * Attaches to the TUN interface name, creating it if absent (IFF_TUN,
 * IFF_NO_PI: each read or write is one bare IPv4 datagram, after a struct
 * virtio_net_hdr when ofl->on). With ofl->want it asks for the offloads
 * first and, when the device or the kernel refuses them (a persistent
 * device made without IFF_VNET_HDR by another user, an old kernel), falls
 * back to a plain attach, leaving the reason in ofl->step and ofl->err.
 * *fd is non-blocking and close-on-exec; ifname receives the kernel's name
 * for it. On error *step names the call that failed. Errors: -ENAMETOOLONG,
 * -errno of open(/dev/net/tun) or TUNSETIFF (-EPERM without CAP_NET_ADMIN,
 * -EBUSY when another process holds it, -EINVAL when name is not a TUN
 * device).
 *
 * With multi_queue the attach asks IFF_MULTI_QUEUE: each call gives one more
 * queue of the same interface, a descriptor of its own; the kernel refuses
 * (-EINVAL) a device made without the flag, and a multi-queue one attached
 * without it.
 */
int tt_tun_open(const char *name, bool multi_queue, char ifname[TUN_NAME_MAX], int *fd,
                struct tun_offload *ofl, const char **step);

/*
 * Sets the MTU, puts addr/prefix on the kernel side and brings the link up,
 * through ioctl on an AF_INET socket (no `ip` child process). On error
 * *step names the ioctl that failed. Errors: -errno of socket() or ioctl().
 */
int tt_tun_configure(const char *ifname, uint32_t addr, uint8_t prefix, uint32_t mtu,
                     const char **step);

/* What a failed read() or write() on the TUN file descriptor means. */
enum tt_tun_err_kind {
    TUN_ERR_RETRY, /* try again later: nothing is wrong with the device */
    TUN_ERR_DROP,  /* this datagram is lost (refused, or the link is down); go on */
    TUN_ERR_FATAL, /* the device is gone or unusable: no later call will work */
};

/*
 * Classifies err (a negative errno of read() or write() on the TUN fd).
 * Measured on Linux 6.x: once the interface is deleted (`ip link del`),
 * poll() reports POLLERR and read() and write() fail with EBADFD, for good.
 * With the link set down, write() fails with EIO until it is up again,
 * while read() still works: EIO only loses the datagram.
 */
enum tt_tun_err_kind tt_tun_err_kind(int err);

#endif
