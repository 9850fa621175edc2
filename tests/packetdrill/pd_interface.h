/*
 * The binary interface between packetdrill and a TCP stack loaded as a
 * shared object (`packetdrill --so_filename=LIB --so_flags=FLAGS`).
 *
 * This is our own declaration of the layout that packetdrill documents in
 * its packetdrill.h (google/packetdrill, gtests/net/packetdrill): packetdrill
 * dlopen()s the library, calls pd_interface_init's exported name with the
 * --so_flags string, and from then on calls the function pointers below
 * instead of the kernel's system calls, its TUN device and its clock.
 *
 * The order and the types of the members are the ABI: they must not change.
 * Types that need feature macros (loff_t, struct timezone, struct
 * epoll_event) are written as their ABI equivalents so that this header
 * compiles under plain POSIX.
 *
 * Conventions, as for the system calls they replace: return -1 and set
 * errno on failure. netdev_send and netdev_receive return 0 or -1.
 */
#ifndef TT_PD_INTERFACE_H
#define TT_PD_INTERFACE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>

struct epoll_event; /* only passed through, as a pointer */

struct pd_interface {
    void *userdata; /* handed back as the first argument of every call */
    void (*free)(void *userdata);
    int (*socket)(void *userdata, int domain, int type, int protocol);
    int (*bind)(void *userdata, int sockfd, const struct sockaddr *addr, socklen_t addrlen);
    int (*listen)(void *userdata, int sockfd, int backlog);
    int (*accept)(void *userdata, int sockfd, struct sockaddr *addr, socklen_t *addrlen);
    int (*connect)(void *userdata, int sockfd, const struct sockaddr *addr, socklen_t addrlen);
    ssize_t (*read)(void *userdata, int fd, void *buf, size_t count);
    ssize_t (*readv)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
    ssize_t (*recv)(void *userdata, int sockfd, void *buf, size_t len, int flags);
    ssize_t (*recvfrom)(void *userdata, int sockfd, void *buf, size_t len, int flags,
                        struct sockaddr *src_addr, socklen_t *addrlen);
    ssize_t (*recvmsg)(void *userdata, int sockfd, struct msghdr *msg, int flags);
    ssize_t (*write)(void *userdata, int fd, const void *buf, size_t count);
    ssize_t (*writev)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
    ssize_t (*send)(void *userdata, int sockfd, const void *buf, size_t len, int flags);
    ssize_t (*sendto)(void *userdata, int sockfd, const void *buf, size_t len, int flags,
                      const struct sockaddr *dest_addr, socklen_t addrlen);
    ssize_t (*sendmsg)(void *userdata, int sockfd, const struct msghdr *msg, int flags);
    int (*fcntl)(void *userdata, int fd, int cmd, ...);               /* third argument: int */
    int (*ioctl)(void *userdata, int fd, unsigned long request, ...); /* third: int * */
    int (*close)(void *userdata, int fd);
    int (*shutdown)(void *userdata, int sockfd, int how);
    int (*getsockopt)(void *userdata, int sockfd, int level, int optname, void *optval,
                      socklen_t *optlen);
    int (*setsockopt)(void *userdata, int sockfd, int level, int optname, const void *optval,
                      socklen_t optlen);
    int (*poll)(void *userdata, struct pollfd *fds, nfds_t nfds, int timeout);
    /* A datagram (IPv4 here) into the stack. */
    int (*netdev_send)(void *userdata, const void *buf, size_t count);
    /*
     * The next datagram out of the stack into buf (*count is its size on
     * entry, the datagram's length on return, 0 for none) and the time it
     * left, in microseconds of the interface's own clock. packetdrill calls
     * it again and again until it returns a datagram.
     */
    int (*netdev_receive)(void *userdata, void *buf, size_t *count, long long *time_usecs);
    int (*usleep)(void *userdata, unsigned int usec);                  /* useconds_t */
    int (*gettimeofday)(void *userdata, struct timeval *tv, void *tz); /* struct timezone * */
    int (*epoll_create)(void *userdata, int size);
    int (*epoll_ctl)(void *userdata, int epfd, int op, int fd, struct epoll_event *event);
    int (*epoll_wait)(void *userdata, int epfd, struct epoll_event *events, int maxevents,
                      int timeout);
    int (*pipe)(void *userdata, int pipefd[2]);
    int (*splice)(void *userdata, int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                  size_t len, unsigned int flags); /* loff_t * */
};

/* The one symbol packetdrill looks up: fills ifc for the --so_flags string (may be NULL). */
void packetdrill_interface_init(const char *flags, struct pd_interface *ifc);

#endif
