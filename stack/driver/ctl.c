/*
 * The control socket (docs/contract.md §10.1). A client sends one request per
 * line and gets one JSON line back per request, in order. Nothing a client
 * does can stall the stack: reads are taken as they come, a request is
 * answered at once inside the loop, and replies leave through libuv's
 * non-blocking writes; a client that leaves more than CTL_OUT_MAX bytes
 * unread is dropped. Only the stack's own user and root may talk to it:
 * the socket is 0600, and each peer's SO_PEERCRED is checked as well.
 */
#define _GNU_SOURCE /* struct ucred */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "ctl.h"
#include "ctl_cmd.h"

#define CTL_READ_BUF 65536

struct ctl_client {
    uv_pipe_t pipe;
    struct tt_ctl *ctl;
    struct ctl_client *prev, *next;
    char in[CTL_REQ_MAX + 1];
    size_t inlen;
    bool discarding; /* the current line is too long: dropped up to its newline */
    bool closing;
    size_t unsent; /* reply bytes handed to libuv and not yet written */
};

struct ctl_write {
    uv_write_t req;
    struct ctl_client *client;
    size_t len;
    char data[];
};

struct tt_ctl {
    uv_pipe_t server;
    bool server_open, unlink_at_close;
    dev_t dev; /* the socket file we made: only that one is removed at close */
    ino_t ino;
    struct tt_driver *drv;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct ctl_client *clients;
    size_t nclients;
    char rbuf[CTL_READ_BUF]; /* one loop, one read at a time */
    char pool[CTL_REQ_MAX + 1];
    struct ctl_req req;
    struct ctl_buf reply;
    struct ctl_nstat_history nstat;
};

/* ---- clients ---- */

static void client_on_close(uv_handle_t *h)
{
    struct ctl_client *cl = h->data;
    struct tt_ctl *ctl = cl->ctl;

    if (cl->prev != NULL)
        cl->prev->next = cl->next;
    else
        ctl->clients = cl->next;
    if (cl->next != NULL)
        cl->next->prev = cl->prev;
    ctl->nclients--;
    free(cl);
}

static void client_drop(struct ctl_client *cl)
{
    if (cl->closing)
        return;
    cl->closing = true;
    uv_close((uv_handle_t *)&cl->pipe, client_on_close);
}

static void client_on_write(uv_write_t *req, int status)
{
    struct ctl_write *w = (struct ctl_write *)req;

    w->client->unsent -= w->len;
    if (status < 0)
        client_drop(w->client);
    free(w);
}

/* Queues buf and a newline; a client with too much unread is dropped instead. */
static void client_send(struct ctl_client *cl, const char *buf, size_t len)
{
    struct ctl_write *w;
    uv_buf_t b;

    if (cl->closing)
        return;
    if (cl->unsent + len + 1 > CTL_OUT_MAX || (w = malloc(sizeof(*w) + len + 1)) == NULL) {
        client_drop(cl);
        return;
    }
    memcpy(w->data, buf, len);
    w->data[len] = '\n';
    w->client = cl;
    w->len = len + 1;
    b = uv_buf_init(w->data, (unsigned)(len + 1));
    cl->unsent += w->len;
    if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &b, 1, client_on_write) < 0) {
        cl->unsent -= w->len;
        free(w);
        client_drop(cl);
    }
}

static void client_send_error(struct ctl_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void client_send_error(struct ctl_client *cl, const char *fmt, ...)
{
    struct ctl_buf *out = &cl->ctl->reply;
    va_list ap;
    char msg[256];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tt_ctl_buf_reset(out);
    tt_ctl_reply_error(out, "%s", msg);
    client_send(cl, out->p, out->len);
}

static void client_request(struct ctl_client *cl, const char *line, size_t len)
{
    struct tt_ctl *ctl = cl->ctl;
    char err[160];

    if (len > 0 && line[len - 1] == '\r')
        len--;
    ctl->req.pool = ctl->pool;
    ctl->req.poolcap = sizeof(ctl->pool);
    if (tt_ctl_parse(line, len, &ctl->req, err, sizeof(err)) < 0) {
        client_send_error(cl, "%s", err);
        return;
    }
    tt_ctl_buf_reset(&ctl->reply);
    tt_ctl_run(ctl->drv, &ctl->nstat, &ctl->req, &ctl->reply);
    if (ctl->reply.overflow) {
        client_send_error(cl,
                          "reply larger than %u MiB: narrow the request (a state or a port, "
                          "or the summary)",
                          CTL_OUT_MAX >> 20);
        return;
    }
    client_send(cl, ctl->reply.p, ctl->reply.len);
}

/* Splits what arrived into lines; a line longer than CTL_REQ_MAX is refused whole. */
static void client_input(struct ctl_client *cl, const char *data, size_t n)
{
    for (size_t i = 0; i < n && !cl->closing; i++) {
        char ch = data[i];
        if (ch == '\n') {
            if (!cl->discarding)
                client_request(cl, cl->in, cl->inlen);
            cl->discarding = false;
            cl->inlen = 0;
        } else if (cl->discarding) {
            continue;
        } else if (cl->inlen == CTL_REQ_MAX) {
            client_send_error(cl, "request too large (more than %d bytes)", CTL_REQ_MAX);
            cl->discarding = true;
        } else {
            cl->in[cl->inlen++] = ch;
        }
    }
}

static void client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ctl_client *cl = h->data;

    (void)suggested;
    *buf = uv_buf_init(cl->ctl->rbuf, sizeof(cl->ctl->rbuf));
}

static void client_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct ctl_client *cl = s->data;

    if (n < 0) {
        client_drop(cl); /* EOF or an error: its pending replies have nowhere to go */
        return;
    }
    client_input(cl, buf->base, (size_t)n);
}

/* ---- accepting ---- */

/* The stack's own user, or root (docs/contract.md §10.1). */
static bool peer_allowed(uv_pipe_t *p, uid_t *uid)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    uv_os_fd_t fd;

    if (uv_fileno((uv_handle_t *)p, &fd) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr))
        return false;
    *uid = cr.uid;
    return cr.uid == 0 || cr.uid == geteuid();
}

static void ctl_on_connection(uv_stream_t *server, int status)
{
    struct tt_ctl *ctl = server->data;
    struct ctl_client *cl;
    uid_t uid = (uid_t)-1;

    if (status < 0 || (cl = calloc(1, sizeof(*cl))) == NULL)
        return;
    cl->ctl = ctl;
    if (uv_pipe_init(server->loop, &cl->pipe, 0) < 0) {
        free(cl);
        return;
    }
    cl->pipe.data = cl;
    cl->next = ctl->clients;
    if (ctl->clients != NULL)
        ctl->clients->prev = cl;
    ctl->clients = cl;
    ctl->nclients++;
    if (uv_accept(server, (uv_stream_t *)&cl->pipe) < 0) {
        client_drop(cl);
        return;
    }
    if (!peer_allowed(&cl->pipe, &uid)) {
        client_send_error(cl, "permission denied: uid %ld is neither the stack's (%ld) nor root",
                          (long)uid, (long)geteuid());
        client_drop(cl);
        return;
    }
    if (ctl->nclients > CTL_CLIENTS_MAX) {
        client_send_error(cl, "too many clients (at most %d)", CTL_CLIENTS_MAX);
        client_drop(cl);
        return;
    }
    if (uv_read_start((uv_stream_t *)&cl->pipe, client_alloc, client_on_read) < 0)
        client_drop(cl);
}

/* ---- the socket ---- */

static int ctl_fail(char *err, size_t errlen, const char *path, const char *what, int rc)
{
    snprintf(err, errlen, "--ctl %s: %s%s%s", path, what, rc != 0 ? ": " : "",
             rc != 0 ? strerror(-rc) : "");
    return rc != 0 ? rc : -EINVAL;
}

/* A socket at path that no stack answers on is left from one that died: remove it. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, rc;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : ctl_fail(err, errlen, path, "stat", -errno);
    if (!S_ISSOCK(st.st_mode))
        return ctl_fail(err, errlen, path, "exists and is not a socket", -EEXIST);
    strcpy(sa.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return ctl_fail(err, errlen, path, "socket", -errno);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? -EADDRINUSE : -errno;
    close(fd);
    if (rc == -EADDRINUSE)
        return ctl_fail(err, errlen, path, "a running stack answers on it", rc);
    if (rc != -ECONNREFUSED)
        return ctl_fail(err, errlen, path, "connect", rc);
    return unlink(path) < 0 ? ctl_fail(err, errlen, path, "unlink", -errno) : 0;
}

/* Bound under umask 0177, so that the socket is never, even briefly, open to others. */
static int ctl_bind(struct tt_ctl *ctl, bool chown_it, uid_t owner, gid_t group, char *err,
                    size_t errlen)
{
    mode_t old = umask(0177);
    int rc = uv_pipe_bind(&ctl->server, ctl->path);

    umask(old);
    if (rc < 0)
        return ctl_fail(err, errlen, ctl->path, "bind", rc);
    struct stat st;
    if (lstat(ctl->path, &st) < 0)
        return ctl_fail(err, errlen, ctl->path, "stat", -errno);
    ctl->unlink_at_close = true;
    ctl->dev = st.st_dev;
    ctl->ino = st.st_ino;
    if (chmod(ctl->path, 0600) < 0)
        return ctl_fail(err, errlen, ctl->path, "chmod", -errno);
    if (chown_it && chown(ctl->path, owner, group) < 0)
        return ctl_fail(err, errlen, ctl->path, "chown", -errno);
    rc = uv_listen((uv_stream_t *)&ctl->server, 8, ctl_on_connection);
    return rc < 0 ? ctl_fail(err, errlen, ctl->path, "listen", rc) : 0;
}

int tt_ctl_open(struct tt_ctl **out, struct uv_loop_s *loop, struct tt_driver *drv,
                const char *path, bool chown_it, uid_t owner, gid_t group, char *err, size_t errlen)
{
    struct tt_ctl *ctl;
    int rc;

    *out = NULL;
    if (path[0] == '\0' || strlen(path) >= sizeof(ctl->path))
        return ctl_fail(err, errlen, path, "path empty or too long (at most 107 bytes)", 0);
    if ((ctl = calloc(1, sizeof(*ctl))) == NULL)
        return ctl_fail(err, errlen, path, "out of memory", -ENOMEM);
    *out = ctl;
    ctl->drv = drv;
    strcpy(ctl->path, path);
    tt_ctl_buf_init(&ctl->reply, CTL_OUT_MAX);
    if ((rc = clear_stale(path, err, errlen)) < 0)
        return rc;
    if ((rc = uv_pipe_init(loop, &ctl->server, 0)) < 0)
        return ctl_fail(err, errlen, path, "uv_pipe_init", rc);
    ctl->server_open = true;
    ctl->server.data = ctl;
    return ctl_bind(ctl, chown_it, owner, group, err, errlen);
}

const char *tt_ctl_path(const struct tt_ctl *c)
{
    return c->path;
}

void tt_ctl_close(struct tt_ctl *c)
{
    if (c == NULL)
        return;
    for (struct ctl_client *cl = c->clients; cl != NULL; cl = cl->next)
        client_drop(cl);
    if (c->server_open)
        uv_close((uv_handle_t *)&c->server, NULL);
    c->server_open = false;
    /* Only our own file: a stack that found ours stale (we were stopped, say)
     * may have put its socket in its place. Removal may fail after --user in a
     * root-only directory; the next stack then finds it stale and replaces it. */
    struct stat st;
    if (c->unlink_at_close && lstat(c->path, &st) == 0 && st.st_dev == c->dev &&
        st.st_ino == c->ino)
        unlink(c->path);
    c->unlink_at_close = false;
}

void tt_ctl_free(struct tt_ctl *c)
{
    if (c == NULL)
        return;
    tt_ctl_buf_free(&c->reply);
    free(c->nstat.values);
    free(c);
}

int tt_ctl_default_path(const char *ifname, char *path, size_t len)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char dir[4096];
    int n;

    if (geteuid() == 0)
        n = snprintf(dir, sizeof(dir), "/run/tuntcp");
    else if (xdg != NULL && xdg[0] == '/')
        n = snprintf(dir, sizeof(dir), "%s/tuntcp", xdg);
    else
        return -ENOENT;
    if (n < 0 || (size_t)n >= sizeof(dir))
        return -ENAMETOOLONG;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) /* an existing one keeps its mode */
        return -errno;
    n = snprintf(path, len, "%s/%s.ctl", dir, ifname);
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}
