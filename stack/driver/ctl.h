/*
 * The control socket (docs/contract.md §10): a Unix stream socket on the
 * driver's loop through which tuntcp-ctl reads and changes a running stack.
 * The socket and its clients live here; what a request does is ctl_cmd.c,
 * how it is spelled is ctl_proto.c.
 */
#ifndef TT_CTL_H
#define TT_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CTL_CLIENTS_MAX 16      /* clients at once; one more is told so and closed */
#define CTL_OUT_MAX (32u << 20) /* bytes of replies a client may leave unread */

struct tt_driver;
struct tt_ctl;
struct uv_loop_s; /* libuv's uv_loop_t: only ctl.c and loop.c include <uv.h> */

/*
 * Creates the socket at path, mode 0600, owned by owner:group when chown is
 * set (--user), and listens on loop. A socket left by a stack that is gone
 * is replaced; one a running stack answers on is not (-EADDRINUSE), nor is
 * anything that is not a socket (-EEXIST). On failure writes the reason
 * into err. Errors: negative errno.
 */
int tt_ctl_open(struct tt_ctl **out, struct uv_loop_s *loop, struct tt_driver *drv,
                const char *path, bool chown_it, uid_t owner, gid_t group, char *err,
                size_t errlen);

const char *tt_ctl_path(const struct tt_ctl *c);

/* Closes the socket and every client and removes the path; the loop must then run
 * once more for the close callbacks, and tt_ctl_free() follows. */
void tt_ctl_close(struct tt_ctl *c);
void tt_ctl_free(struct tt_ctl *c);

/*
 * The default path (docs/contract.md §10.1): NAME.ctl in the runtime
 * directory, /run/tuntcp for root, $XDG_RUNTIME_DIR/tuntcp otherwise.
 * The directory is made 0700 if absent. Errors: -ENOENT (no runtime
 * directory), -ENAMETOOLONG, or the failing mkdir's.
 */
int tt_ctl_default_path(const char *ifname, char *path, size_t len);

#endif
