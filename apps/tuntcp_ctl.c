/*
 * tuntcp-ctl: reads and changes a running tuntcp stack through its control
 * socket (docs/contract.md §10), with subcommands spelled as the Linux tools
 * they mirror: ss, nstat, sysctl; and pcap, trace and fault for the
 * driver. Each run sends one request line and prints the one reply: the
 * stack's text (what ss, nstat and sysctl print), or with --json the JSON
 * reply itself. Exit 0 on success, 1 when the stack refused the request or
 * could not be reached, 2 for a bad command line.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_json.h"
#include "tuntcp/tuntcp.h"

#define REPLY_MAX (64u << 20) /* above the stack's own per-reply limit */

static const char usage[] =
    "Usage: tuntcp-ctl [--tun NAME | --ctl PATH] [--json] COMMAND [ARG]...\n"
    "Reads and changes a running tuntcp stack (echo-server, echo-client) through its\n"
    "control socket.\n"
    "\n"
    "  --tun NAME    the stack on TUN device NAME (default tt0): its socket is NAME.ctl\n"
    "                in /run/tuntcp as root, else in $XDG_RUNTIME_DIR/tuntcp\n"
    "  --ctl PATH    the socket the stack was given with --ctl PATH\n"
    "  --json        print the stack's JSON reply (one line) instead of text\n"
    "\n"
    "Commands:\n"
    "  ss [-t] [-a] [-l] [-n] [-o] [-s] [state STATE] [sport = N] [dport = N]\n"
    "                listeners, connections and TIME_WAIT entries as `ss -tan` lists\n"
    "                them; -a all states (default: connected, without TIME-WAIT and\n"
    "                SYN-RECV), -l listeners only (state listening), -o\n"
    "                the timer, e.g. timer:(timewait,1.498s,0); -s the summary: counts\n"
    "                per state, TIME_WAIT entries and bytes. -t and -n are accepted\n"
    "  nstat [-a] [-z] [-n] [-r]\n"
    "                counters under Linux's names, as deltas since the last nstat on\n"
    "                this stack (the history lives in the stack); -a absolute values,\n"
    "                -z zeros too, -n leave the history alone, -r reset it\n"
    "  sysctl [-a] [NAME...] [-w NAME=VALUE]...\n"
    "                read knobs (-a: every one) or write them, all or nothing; values\n"
    "                as the apps' flags take them (DURATION: 30s, 500ms); names:\n"
    "                net.ipv4.ip_local_port_range, tcp_early_retrans, tcp_ecn, tcp_fin_timeout,\n"
    "                tcp_invalid_ratelimit, tcp_max_syn_backlog, tcp_max_tw_buckets,\n"
    "                tcp_min_tso_segs, tcp_notsent_lowat, tcp_orphan_retries,\n"
    "                tcp_pacing_ss_ratio, tcp_pacing_ca_ratio,\n"
    "                tcp_recovery, tcp_rfc1337, tcp_slow_start_after_idle,\n"
    "                tcp_syncookies, tcp_timestamps, tcp_tw_reuse,\n"
    "                tcp_tw_reuse_delay (each net.ipv4.NAME), and tuntcp.msl\n"
    "  pcap start FILE | stop | status     a capture on the running stack\n"
    "  trace start FILE | stop | status    a trace (JSON Lines) on the running stack\n"
    "  fault add SPEC | del N | list       fault rules, as --fault takes them\n"
    "  qdisc refuse | accept | status      the device drops every packet the stack\n"
    "                sends (local congestion, as a Linux qdisc pfifo limit 0), or not\n"
    "  version                             the stack's version and interface\n"
    "\n"
    "Exit status: 0 success, 1 refused or unreachable, 2 bad command line.\n";

/* ---- the request ---- */

struct req {
    struct cj_buf b;
    bool json;
    const char *tun, *ctl;
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "tuntcp-ctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'tuntcp-ctl --help' for more information.\n");
    return 2;
}

static void add_str(struct req *q, const char *key, const char *v)
{
    cj_printf(&q->b, ",\"%s\":", key);
    cj_str(&q->b, v);
}

static void add_true(struct req *q, const char *key)
{
    cj_printf(&q->b, ",\"%s\":true", key);
}

/* A port of `sport = N`, `sport = :N` or `sport :N`, as ss(8) takes them. */
static int ss_port(struct req *q, const char *key, int argc, char **argv, int *i)
{
    const char *v;
    char *end;
    unsigned long p;

    if (*i + 1 < argc && strcmp(argv[*i + 1], "=") == 0)
        (*i)++;
    if (*i + 1 >= argc)
        return bad("ss: %s: a port is required (%s = N)", key, key);
    v = argv[++*i];
    if (v[0] == ':')
        v++;
    errno = 0;
    p = strtoul(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || p > 65535)
        return bad("ss: %s: invalid port '%s' (0 to 65535)", key, argv[*i]);
    cj_printf(&q->b, ",\"%s\":%lu", key, p);
    return 0;
}

/* -tan, -o, -s, -l: ss's letters, each alone or together. */
static int ss_letters(struct req *q, const char *arg, const char **state)
{
    for (const char *c = arg + 1; *c != '\0'; c++) {
        if (*c == 'l')
            *state = "listening";
        else if (*c == 'a')
            add_true(q, "all");
        else if (*c == 'o')
            add_true(q, "timers");
        else if (*c == 's')
            add_true(q, "summary");
        else if (*c != 't' && *c != 'n')
            return bad("ss: unknown option '-%c' (-t -a -l -n -o -s)", *c);
    }
    return 0;
}

static int cmd_ss(struct req *q, int argc, char **argv)
{
    const char *state = NULL;
    int rc = 0;

    cj_printf(&q->b, ",\"cmd\":\"ss\"");
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0' && argv[i][1] != '-')
            rc = ss_letters(q, argv[i], &state);
        else if (strcmp(argv[i], "state") == 0 && i + 1 < argc)
            state = argv[++i]; /* the last one given, as ss(8) */
        else if (strcmp(argv[i], "sport") == 0 || strcmp(argv[i], "dport") == 0)
            rc = ss_port(q, argv[i], argc, argv, &i);
        else
            rc = bad("ss: unexpected argument '%s'", argv[i]);
        if (rc != 0)
            return rc;
    }
    if (state != NULL)
        add_str(q, "state", state);
    return 0;
}

static int cmd_nstat(struct req *q, int argc, char **argv)
{
    static const char *const keys[] = {
        ['a'] = "absolute", ['z'] = "zeros", ['n'] = "noupdate", ['r'] = "reset"};

    cj_printf(&q->b, ",\"cmd\":\"nstat\"");
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] != '-' || argv[i][1] == '\0')
            return bad("nstat: unexpected argument '%s' (no counter patterns)", argv[i]);
        for (const char *c = argv[i] + 1; *c != '\0'; c++) {
            unsigned char ch = (unsigned char)*c;
            if (ch >= sizeof(keys) / sizeof(keys[0]) || keys[ch] == NULL)
                return bad("nstat: unknown option '-%c' (-a -z -n -r)", *c);
            add_true(q, keys[ch]);
        }
    }
    return 0;
}

static void add_array(struct req *q, const char *key, char **v, int n)
{
    cj_printf(&q->b, ",\"%s\":[", key);
    for (int i = 0; i < n; i++) {
        cj_printf(&q->b, "%s", i > 0 ? "," : "");
        cj_str(&q->b, v[i]);
    }
    cj_printf(&q->b, "]");
}

/* sysctl(8)'s -a, NAME (read), -w NAME=VALUE and NAME=VALUE (write). */
static int cmd_sysctl(struct req *q, int argc, char **argv)
{
    char *names[CJ_ARR_MAX], *sets[CJ_ARR_MAX];
    int nn = 0, ns = 0;

    cj_printf(&q->b, ",\"cmd\":\"sysctl\"");
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "-a") == 0) {
            add_true(q, "all");
            continue;
        }
        if (strcmp(a, "-w") == 0) {
            if (++i >= argc || strchr(argv[i], '=') == NULL)
                return bad("sysctl: -w: NAME=VALUE is required");
            a = argv[i];
        } else if (a[0] == '-') {
            return bad("sysctl: unknown option '%s' (-a, -w NAME=VALUE)", a);
        }
        if (nn == CJ_ARR_MAX || ns == CJ_ARR_MAX)
            return bad("sysctl: too many names (at most %d)", CJ_ARR_MAX);
        if (strchr(a, '=') != NULL)
            sets[ns++] = a;
        else
            names[nn++] = a;
    }
    if (nn > 0)
        add_array(q, "names", names, nn);
    if (ns > 0)
        add_array(q, "set", sets, ns);
    if (nn == 0 && ns == 0 && strstr(q->b.p, "\"all\"") == NULL)
        return bad("sysctl: give -a, a NAME or -w NAME=VALUE");
    return 0;
}

/* The stack opens FILE from its own working directory: send it absolute. */
static int file_arg(struct req *q, const char *file)
{
    char cwd[PATH_MAX], path[PATH_MAX * 2];

    if (file[0] == '/' || file[0] == '\0') {
        add_str(q, "file", file);
        return 0;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        fprintf(stderr, "tuntcp-ctl: getcwd: %s\n", strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/%s", cwd, file);
    add_str(q, "file", path);
    return 0;
}

static int cmd_file(struct req *q, const char *cmd, int argc, char **argv)
{
    cj_printf(&q->b, ",\"cmd\":\"%s\"", cmd);
    if (argc == 2 && strcmp(argv[0], "start") == 0) {
        add_str(q, "action", "start");
        return file_arg(q, argv[1]);
    }
    if (argc == 1 && (strcmp(argv[0], "stop") == 0 || strcmp(argv[0], "status") == 0)) {
        add_str(q, "action", argv[0]);
        return 0;
    }
    return bad("%s: expected 'start FILE', 'stop' or 'status'", cmd);
}

static int cmd_fault(struct req *q, int argc, char **argv)
{
    char *end;
    unsigned long n;

    cj_printf(&q->b, ",\"cmd\":\"fault\"");
    if (argc == 2 && strcmp(argv[0], "add") == 0) {
        add_str(q, "action", "add");
        add_str(q, "spec", argv[1]);
        return 0;
    }
    if (argc == 2 && strcmp(argv[0], "del") == 0) {
        errno = 0;
        n = strtoul(argv[1], &end, 10);
        if (argv[1][0] < '0' || argv[1][0] > '9' || *end != '\0' || errno != 0 || n > UINT32_MAX)
            return bad("fault del: invalid rule number '%s'", argv[1]);
        cj_printf(&q->b, ",\"action\":\"del\",\"index\":%lu", n);
        return 0;
    }
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        add_str(q, "action", "list");
        return 0;
    }
    return bad("fault: expected 'add SPEC', 'del N' or 'list'");
}

/* qdisc refuse | accept | status: the device refusing the stack's packets */
static int cmd_qdisc(struct req *q, int argc, char **argv)
{
    cj_printf(&q->b, ",\"cmd\":\"qdisc\"");
    if (argc == 1 && (strcmp(argv[0], "refuse") == 0 || strcmp(argv[0], "accept") == 0 ||
                      strcmp(argv[0], "status") == 0)) {
        add_str(q, "action", argv[0]);
        return 0;
    }
    return bad("qdisc: expected 'refuse', 'accept' or 'status'");
}

static int build(struct req *q, const char *cmd, int argc, char **argv)
{
    cj_printf(&q->b, "{\"v\":%d", CJ_VERSION);
    if (!q->json)
        cj_printf(&q->b, ",\"format\":\"text\"");
    int rc;
    if (strcmp(cmd, "ss") == 0)
        rc = cmd_ss(q, argc, argv);
    else if (strcmp(cmd, "nstat") == 0)
        rc = cmd_nstat(q, argc, argv);
    else if (strcmp(cmd, "sysctl") == 0)
        rc = cmd_sysctl(q, argc, argv);
    else if (strcmp(cmd, "pcap") == 0 || strcmp(cmd, "trace") == 0)
        rc = cmd_file(q, cmd, argc, argv);
    else if (strcmp(cmd, "fault") == 0)
        rc = cmd_fault(q, argc, argv);
    else if (strcmp(cmd, "qdisc") == 0)
        rc = cmd_qdisc(q, argc, argv);
    else if (strcmp(cmd, "version") == 0 && argc == 0)
        rc = (cj_printf(&q->b, ",\"cmd\":\"version\""), 0);
    else
        rc = bad("unknown command '%s' (ss, nstat, sysctl, pcap, trace, fault, qdisc, version)",
                 cmd);
    cj_printf(&q->b, "}");
    if (rc == 0 && (q->b.overflow || q->b.len > CJ_REQ_MAX))
        rc = bad("request too large (at most %d bytes)", CJ_REQ_MAX);
    return rc;
}

/* ---- the socket ---- */

static int default_path(const char *tun, char *path, size_t len)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;

    if (geteuid() == 0)
        n = snprintf(path, len, "/run/tuntcp/%s.ctl", tun);
    else if (xdg != NULL && xdg[0] == '/')
        n = snprintf(path, len, "%s/tuntcp/%s.ctl", xdg, tun);
    else
        return -ENOENT;
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL); /* a closed socket is an error, not a signal */
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One line: the reply, newline excluded, into a malloc'd *out. */
static int read_line(int fd, char **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);

    while (b != NULL) {
        if (n == cap) {
            char *nb = cap < REPLY_MAX ? realloc(b, cap *= 2) : NULL;
            if (nb == NULL)
                break;
            b = nb;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        char *nl = memchr(b + n, '\n', (size_t)r);
        n += (size_t)r;
        if (nl != NULL) {
            *nl = '\0';
            *out = b;
            *len = (size_t)(nl - b);
            return 0;
        }
    }
    free(b);
    return -EPROTO;
}

static int show(const struct req *q, const char *reply)
{
    char *text = NULL, *err = NULL;
    bool ok = false;
    int rc;

    if (cj_get_bool(reply, "ok", &ok) < 0) {
        fprintf(stderr, "tuntcp-ctl: unreadable reply\n");
        return 1;
    }
    rc = ok ? 0 : 1;
    if (q->json)
        puts(reply);
    else if (ok && cj_get_str(reply, "text", &text) == 0)
        fputs(text, stdout);
    if (!ok && cj_get_str(reply, "error", &err) == 0)
        fprintf(stderr, "tuntcp-ctl: %s\n", err);
    free(text);
    free(err);
    return rc;
}

static int run(struct req *q)
{
    char path[4200], *reply = NULL;
    size_t len;
    int fd, rc;

    if (q->ctl != NULL)
        snprintf(path, sizeof(path), "%s", q->ctl);
    else if ((rc = default_path(q->tun, path, sizeof(path))) < 0) {
        fprintf(stderr,
                "tuntcp-ctl: no runtime directory ($XDG_RUNTIME_DIR unset): give --ctl PATH\n");
        return 1;
    }
    if ((fd = connect_to(path)) < 0) {
        fprintf(stderr,
                "tuntcp-ctl: connect %s: %s (is a stack running on %s? --tun NAME or --ctl PATH)\n",
                path, strerror(-fd), q->ctl != NULL ? "that socket" : q->tun);
        return 1;
    }
    cj_printf(&q->b, "\n");
    rc = send_all(fd, q->b.p, q->b.len);
    /* a refused peer is told why before the stack hangs up: read it even if the send failed */
    if (rc == 0 || rc == -EPIPE || rc == -ECONNRESET)
        rc = read_line(fd, &reply, &len);
    close(fd);
    if (rc < 0) {
        fprintf(stderr, "tuntcp-ctl: %s: %s\n", path,
                rc == -EPROTO ? "no reply (the stack closed the connection)" : strerror(-rc));
        return 1;
    }
    (void)len;
    rc = show(q, reply);
    free(reply);
    return rc;
}

int main(int argc, char **argv)
{
    struct req q = {.tun = "tt0"};
    int i = 1, rc;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("tuntcp-ctl (tuntcp) %s\n", TT_VERSION_STRING);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            q.json = true;
        } else if ((strcmp(argv[i], "--tun") == 0 || strcmp(argv[i], "--ctl") == 0) &&
                   i + 1 < argc && argv[i + 1][0] != '\0') {
            *(argv[i][2] == 't' ? &q.tun : &q.ctl) = argv[i + 1];
            i++;
        } else {
            return bad("unknown option '%s' or a missing value", argv[i]);
        }
    }
    if (i == argc)
        return bad("a command is required (ss, nstat, sysctl, pcap, trace, fault, qdisc, version)");
    if (strlen(q.tun) > 15)
        return bad("--tun: interface name '%s' too long (at most 15 characters)", q.tun);
    /* --json after the command too, as nstat --json takes it */
    int n = 0;
    for (int k = i + 1; k < argc; k++) {
        if (strcmp(argv[k], "--json") == 0)
            q.json = true;
        else
            argv[i + 1 + n++] = argv[k];
    }
    rc = build(&q, argv[i], n, argv + i + 1);
    if (rc == 0)
        rc = run(&q);
    return rc;
}
