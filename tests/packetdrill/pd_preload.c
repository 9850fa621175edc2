/*
 * getsockopt() for packetdrill's `%{ ... }%` blocks. Before running such a
 * block packetdrill reads TCP_INFO, TCP_CC_INFO and SO_MEMINFO with the C
 * library's getsockopt() on the socket's descriptor, not through the
 * shared-object interface (packetdrill code.c, get_data()); the descriptor
 * is ours (a /dev/null), so the kernel would answer ENOTSOCK. run.sh
 * therefore preloads this same object (LD_PRELOAD): packetdrill's call lands
 * here, a descriptor of the adapter's sockets is answered by the adapter,
 * any other goes on to the C library. Loaded by dlopen() alone, as
 * packetdrill does without the preload, this function is never called.
 *
 * The one adapter instance is found through `current`, set when
 * packetdrill creates it and cleared when it frees it (the engine itself
 * keeps no global state; this is the test adapter's only one).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "pd_adapter.h"

static _Atomic(struct pd *) current;

void pd_preload_set(struct pd *pd)
{
    atomic_store(&current, pd);
}

typedef int (*getsockopt_fn)(int, int, int, void *, socklen_t *);

__attribute__((visibility("default"))) int getsockopt(int fd, int level, int name, void *val,
                                                      socklen_t *len)
{
    struct pd *pd = atomic_load(&current);
    if (pd && pd_owns_fd(pd, fd))
        return pd_getsockopt(pd, fd, level, name, val, len);
    getsockopt_fn next;
    *(void **)&next = dlsym(RTLD_NEXT, "getsockopt");
    if (!next) {
        errno = ENOSYS;
        return -1;
    }
    return next(fd, level, name, val, len);
}
