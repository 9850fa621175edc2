/*
 * TUN device setup (Linux). Everything here runs once at start-up, but
 * tt_tun_err_kind(), which loop.c asks when a read or write fails; the
 * per-packet reads and writes are in loop.c. Configuration uses the classic
 * SIOCSIF* ioctls, which need nothing but a datagram socket, rather than
 * netlink: we set one address, one netmask, the MTU and the up flag, and
 * the kernel derives the subnet route from them. IPv6 is turned off on the
 * link so that the kernel's own chatter stays out of the captures.
 */
#define _DEFAULT_SOURCE /* struct ifreq and the IFF_ flags of <net/if.h> */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

/* TUNSETIFF on a fresh descriptor with the given flags (IFF_TUN | IFF_NO_PI | extra). */
static int tun_attach(const char *name, short extra, char ifname[TUN_NAME_MAX], int *fd,
                      const char **step)
{
    struct ifreq ifr;
    int tfd, err;

    tfd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (tfd < 0) {
        *step = "open /dev/net/tun";
        return -errno;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | extra);
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(tfd, TUNSETIFF, &ifr) < 0) {
        err = -errno;
        close(tfd);
        *step = "TUNSETIFF";
        return err;
    }
    memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
    ifname[IFNAMSIZ - 1] = '\0';
    *fd = tfd;
    return 0;
}

/*
 * The offloads asked of the device: the kernel may leave TCP checksums
 * partial and pass TCP super-segments both ways (TSO4). Each read and write
 * then starts with a struct virtio_net_hdr of the default size.
 */
static int tun_set_offload(int fd, const char **why)
{
    int sz = (int)sizeof(struct virtio_net_hdr);

    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
        *why = "TUNSETVNETHDRSZ";
        return -errno;
    }
    if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0) {
        *why = "TUNSETOFFLOAD";
        return -errno;
    }
    return 0;
}

int tt_tun_open(const char *name, bool multi_queue, char ifname[TUN_NAME_MAX], int *fd,
                struct tun_offload *ofl, const char **step)
{
    short mq = multi_queue ? IFF_MULTI_QUEUE : 0;
    int rc;

    *step = "TUNSETIFF";
    if (strlen(name) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    if (ofl->want) {
        rc = tun_attach(name, (short)(IFF_VNET_HDR | mq), ifname, fd, step);
        if (rc < 0 && rc != -EINVAL)
            return rc; /* not about the header: attaching without it fails alike */
        if (rc == 0) {
            rc = tun_set_offload(*fd, &ofl->step);
            if (rc == 0) {
                ofl->on = true;
                return 0;
            }
            close(*fd); /* the device refused offloads: attach again without the header */
        } else {
            ofl->step = "TUNSETIFF IFF_VNET_HDR";
        }
        ofl->err = rc;
    }
    return tun_attach(name, mq, ifname, fd, step);
}

static void ifr_set_ipv4(struct ifreq *ifr, uint32_t addr)
{
    struct sockaddr_in sin;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    memcpy(&ifr->ifr_addr, &sin, sizeof(sin));
}

/* One SIOCSIF* call on a fresh ifreq; *step names it for the error message. */
static int tun_ioctl(int sock, const char *ifname, unsigned long req, const char *name,
                     struct ifreq *ifr, const char **step)
{
    memcpy(ifr->ifr_name, ifname, IFNAMSIZ);
    if (ioctl(sock, req, ifr) == 0)
        return 0;
    *step = name;
    return -errno;
}

static int tun_link_up(int sock, const char *ifname, const char **step)
{
    struct ifreq ifr;
    int rc;

    memset(&ifr, 0, sizeof(ifr));
    rc = tun_ioctl(sock, ifname, SIOCGIFFLAGS, "SIOCGIFFLAGS", &ifr, step);
    if (rc < 0)
        return rc;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return tun_ioctl(sock, ifname, SIOCSIFFLAGS, "SIOCSIFFLAGS", &ifr, step);
}

/*
 * The queue of packets the kernel holds for us to read. Its default (500)
 * is less than a few connections' windows (256 KiB each, about 180 full
 * segments): a bulk sender on the Linux side would see the excess dropped
 * at the device and retransmit. Best effort: a failure only means drops.
 */
#define TUN_TXQLEN 4096

static void tun_set_txqlen(int sock, const char *ifname)
{
    struct ifreq ifr;
    const char *ignored;

    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_qlen = TUN_TXQLEN;
    (void)tun_ioctl(sock, ifname, SIOCSIFTXQLEN, "SIOCSIFTXQLEN", &ifr, &ignored);
}

static int tun_set_all(int sock, const char *ifname, uint32_t addr, uint8_t prefix, uint32_t mtu,
                       const char **step)
{
    uint32_t mask = prefix == 0 ? 0 : ~(uint32_t)0 << (32 - prefix);
    struct ifreq ifr;
    int rc;

    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_mtu = (int)mtu;
    rc = tun_ioctl(sock, ifname, SIOCSIFMTU, "SIOCSIFMTU", &ifr, step);
    tun_set_txqlen(sock, ifname);
    if (rc == 0) {
        ifr_set_ipv4(&ifr, addr);
        rc = tun_ioctl(sock, ifname, SIOCSIFADDR, "SIOCSIFADDR", &ifr, step);
    }
    if (rc == 0) {
        ifr_set_ipv4(&ifr, mask);
        rc = tun_ioctl(sock, ifname, SIOCSIFNETMASK, "SIOCSIFNETMASK", &ifr, step);
    }
    return rc == 0 ? tun_link_up(sock, ifname, step) : rc;
}

/*
 * Best effort: without IPv6 the kernel sends nothing of its own (router
 * solicitations, MLD) on the link, so captures hold only the experiment.
 */
static void tun_disable_ipv6(const char *ifname)
{
    char path[96];
    int fd;

    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (write(fd, "1", 1) < 0) {
        /* IPv6 stays on: the engine drops what it sends, only captures are noisier */
    }
    close(fd);
}

int tt_tun_configure(const char *ifname, uint32_t addr, uint8_t prefix, uint32_t mtu,
                     const char **step)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc;

    if (sock < 0) {
        *step = "socket";
        return -errno;
    }
    tun_disable_ipv6(ifname);
    rc = tun_set_all(sock, ifname, addr, prefix, mtu, step);
    close(sock);
    return rc;
}

enum tt_tun_err_kind tt_tun_err_kind(int err)
{
    switch (-err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINTR:
    case ENOBUFS: /* the kernel is short of memory for a moment */
    case ENOMEM:
        return TUN_ERR_RETRY;
    case EIO:      /* the link is down (`ip link set down`): up again later, perhaps */
    case EINVAL:   /* a datagram the kernel refuses (empty, or not IP) */
    case EMSGSIZE: /* larger than the device takes */
        return TUN_ERR_DROP;
    default: /* EBADFD (the interface was deleted), EBADF, ENODEV, ENXIO, EFAULT, ... */
        return TUN_ERR_FATAL;
    }
}
