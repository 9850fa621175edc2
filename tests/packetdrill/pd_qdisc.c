/*
 * tun0's qdisc, as the upstream scripts change it mid-run to emulate local
 * congestion (`tc qdisc replace dev tun0 root pfifo limit 0`: a queue that
 * drops every packet the stack sends). run.sh rewrites such a command into
 * one that writes a word into a FIFO named by --qdisc-fifo: "refuse" (a
 * pfifo of limit 0) or "accept" (any other root qdisc, or none). The
 * adapter reads what is there, without blocking, at the start of each call
 * packetdrill makes into it, so the word takes effect at the command's
 * time point, and tells the engine (tt_engine_set_local_congestion()):
 * the engine then sees its transmissions fail as Linux's do on
 * NET_XMIT_DROP, not a loss on the wire.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pd_adapter.h"

void pd_qdisc_open(struct pd *pd)
{
    pd->qdisc_fd = -1;
    if (pd->opts.qdisc_fifo[0] == '\0')
        return;
    /* O_NONBLOCK: opening a FIFO for reading does not wait for a writer,
     * and the writer's open() succeeds because this end is open. */
    pd->qdisc_fd = open(pd->opts.qdisc_fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (pd->qdisc_fd < 0)
        fprintf(stderr, "tt_packetdrill: --qdisc-fifo %s: %s\n", pd->opts.qdisc_fifo,
                strerror(errno));
}

/* The last word in buf: 1 refuse, 0 accept, -1 neither. */
static int last_word(char *buf)
{
    int v = -1;
    char *save = NULL;
    for (char *w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
        if (strcmp(w, "refuse") == 0)
            v = 1;
        else if (strcmp(w, "accept") == 0)
            v = 0;
        else
            fprintf(stderr, "tt_packetdrill: qdisc FIFO: unknown word '%s'\n", w);
    }
    return v;
}

void pd_qdisc_poll(struct pd *pd)
{
    if (pd->qdisc_fd < 0)
        return;
    char buf[256];
    ssize_t n;
    while ((n = read(pd->qdisc_fd, buf, sizeof(buf) - 1)) > 0) {
        buf[n] = '\0';
        int v = last_word(buf);
        if (v < 0)
            continue;
        tt_engine_set_local_congestion(pd->eng, v == 1);
        if (pd->opts.verbose)
            fprintf(stderr, "tt_packetdrill: %.6f tun0 qdisc %s the stack's packets\n",
                    (double)(pd->now - pd->start) / 1e6, v ? "refuses" : "accepts");
    }
}

void pd_qdisc_close(struct pd *pd)
{
    if (pd->qdisc_fd >= 0)
        close(pd->qdisc_fd);
    pd->qdisc_fd = -1;
}
