/*
 * The ISN key for the life of the boot. Linux keys its ISNs and timestamp
 * offsets with a secret drawn once per boot (net_secret), so every
 * connection a host makes, whichever process makes it, draws its ISN from
 * one clock-driven sequence per 4-tuple: a new incarnation starts beyond
 * the old one's sequence space (RFC 6528 section 3, RFC 6191). tuntcp's
 * stacks are processes, so the key lives in a private file in the runtime
 * directory, a tmpfs that the next boot empties, and each stack started
 * without --seed reads it. The file must be a regular file of ours that no
 * one else can read; anything else is refused and the run keeps a key of
 * its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "boot_key.h"

static int key_dir(char *dir, size_t len)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;

    if (geteuid() == 0)
        n = snprintf(dir, len, "/run/tuntcp");
    else if (xdg != NULL && xdg[0] == '/')
        n = snprintf(dir, len, "%s/tuntcp", xdg);
    else
        return -ENOENT;
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* Ours and private: no one else may read the key, or ISNs are guessable. */
static int private_to_us(const struct stat *st, mode_t type)
{
    if ((st->st_mode & S_IFMT) != type || st->st_uid != geteuid() || (st->st_mode & 077) != 0)
        return -EPERM;
    return 0;
}

static int open_dir(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (lstat(dir, &st) < 0)
        return -errno;
    return private_to_us(&st, S_IFDIR);
}

static int read_key(const char *path, uint8_t *key)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else if ((rc = private_to_us(&st, S_IFREG)) == 0 && st.st_size != TT_BOOT_KEY_LEN)
        rc = -EINVAL;
    else if (rc == 0 && read(fd, key, TT_BOOT_KEY_LEN) != TT_BOOT_KEY_LEN)
        rc = -EIO;
    close(fd);
    return rc;
}

/* Written under a temporary name and linked into place, so that a reader
 * never sees half a key and two stacks starting at once agree on one. */
static int make_key(const char *path, uint8_t *key)
{
    char tmp[4200];
    int fd, rc;

    if (snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    if ((rc = uv_random(NULL, NULL, key, TT_BOOT_KEY_LEN, 0, NULL)) < 0)
        return rc;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    rc = write(fd, key, TT_BOOT_KEY_LEN) == TT_BOOT_KEY_LEN ? 0 : -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && link(tmp, path) < 0)
        rc = -errno;
    unlink(tmp);
    return rc;
}

int tt_boot_key_load(uint8_t key[TT_BOOT_KEY_LEN], char *path, size_t pathlen)
{
    char dir[4096];
    int rc = key_dir(dir, sizeof(dir));

    return rc < 0 ? rc : tt_boot_key_load_dir(dir, key, path, pathlen);
}

int tt_boot_key_load_dir(const char *dir, uint8_t key[TT_BOOT_KEY_LEN], char *path, size_t pathlen)
{
    int rc;

    if ((rc = open_dir(dir)) < 0)
        return rc;
    if (snprintf(path, pathlen, "%s/isn-key", dir) >= (int)pathlen)
        return -ENAMETOOLONG;
    rc = read_key(path, key);
    if (rc != -ENOENT)
        return rc;
    rc = make_key(path, key);
    if (rc == -EEXIST) /* another stack made it first: take theirs */
        rc = read_key(path, key);
    return rc;
}
