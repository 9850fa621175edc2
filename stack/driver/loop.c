/*
 * The driver: one tt_engine on one TUN device, run by a private libuv loop.
 *
 *   TUN readable -> the pump reads until EAGAIN -> pcap(in) -> fault(in)
 *                -> tt_engine_input(now)
 *   engine output -> fault(out) -> pcap(out) -> the pump's ring -> write(TUN),
 *                    in chunks between reads and at the end of each iteration
 *
 * Each packet meets the fault rules when the engine emits it. The engine
 * changes a connection's state before it sends what the change calls for
 * (the final ACK goes out in TIME_WAIT, or in FIN_WAIT_1/2 when
 * --tcp-max-tw-buckets leaves no room; a FIN in FIN_WAIT_1 or LAST_ACK), so
 * a rule's state= is simply the connection's state at send time.
 *
 * Time: now is uv_hrtime() in microseconds, read for each packet and timer,
 * and never allowed to go backwards (the engine asserts it). The engine's
 * timers share ONE uv_timer_t, re-armed at tt_engine_next_deadline() in a
 * prepare callback, i.e. after everything the engine did in an iteration,
 * application calls included. libuv timers count whole milliseconds on the
 * loop's cached clock (uv_now: the same monotonic clock as uv_hrtime, in
 * ms), so the deadline is rounded up to the next millisecond on that
 * clock: the timer cannot fire before the deadline, and
 * if it ever did, tt_engine_timers() with the real now would simply find
 * nothing due and the timer would be re-armed.
 *
 * With --pcapng (or a .pcapng name) capture.c takes the place of the
 * classic writer at the same taps, and also hears the engine's events, the
 * fault actions (drv_cap_fault) and the end of each engine call
 * (drv_cap_end), so that each comment lands on the packet that caused it
 * (docs/contract.md §5.1).
 *
 * Packets are never allocated: the pump's receive buffer and ring
 * (pump.h), and the pool for delayed faults, are preallocated.
 *
 * Losing the device (deleted under us: POLLERR, then EBADFD on read and
 * write, see tt_tun_err_kind()) ends the run: the loop stops at once and
 * tt_driver_run() returns that negative errno, with a one-line reason in
 * tt_driver_error(); the pcap and trace are flushed as at any other end.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include "boot_key.h"
#include "capture.h"
#include "ctl.h"
#include "drv_ctl.h"
#include "fault.h"
#include "inject.h"
#include "offload.h"
#include "pcap.h"
#include "pktq.h"
#include "pump.h"
#include "queues.h"
#include "report.h"
#include "runout.h"
#include "tcp_wire.h"
#include "trace.h"
#include "tun.h"
#include "tuntcp/driver.h"

#define RX_BUF_SIZE 65536           /* any IPv4 datagram, whatever the interface's MTU */
#define TX_BATCH_SIZE OFL_MAX_DGRAM /* a super-segment, joined */
#define PUMP_SLOTS 1024             /* datagrams held for the device (pump.h) */
#define DELAY_SLOTS 256    /* datagrams held by delay= and dup= faults (docs/contract.md §3.5) */
#define PCAP_FLUSH_MS 1000 /* docs/contract.md §5: a capture is readable within 1 s */
#define HANDLES_MAX 12

struct tt_driver {
    uv_loop_t loop;
    uv_poll_t poll;
    uv_timer_t timer;        /* the engine's next deadline */
    uv_timer_t delay_timer;  /* the earliest delayed packet */
    uv_timer_t flush_timer;  /* pcap, once a second */
    uv_timer_t wake_timer;   /* the application's deadline: tt_driver_wake_at() */
    uv_timer_t inject_timer; /* the earliest armed --inject */
    uv_prepare_t prepare;
    uv_signal_t sig[3];
    uv_handle_t *handles[HANDLES_MAX]; /* initialised handles, to close at free */
    size_t nhandles;
    bool loop_ready, want_writable;
    bool in_output; /* drv_output() runs: state= asks the packet's own state */

    tt_engine_t *eng;
    int fd;
    char ifname[TUN_NAME_MAX];
    uint8_t *segbuf;          /* one wire segment cut from a super-segment read */
    uint16_t rx_gso;          /* its gso_size while it is being cut, else 0 */
    uint8_t *capbuf;          /* with offloads: an outbound segment completed for a capture */
    struct tun_offload ofl;   /* ofl.on: offloads granted (offload.h) */
    struct ofl_batch batch;   /* with offloads: what waits to be joined and written */
    struct pump pump;         /* the device's reads and writes, and the held output */
    uint8_t *run_dgram;       /* the engine's run being built in the pump's ring (runout.h) */
    struct fault_set *faults; /* NULL: no rule, no cost */
    struct delayq delays;
    struct pcap_writer *pcap; /* NULL: no classic capture */
    struct capture *cap;      /* NULL: no annotated pcapng capture (capture.h) */
    struct trace_writer *trace;
    struct inject_spec *injects;    /* NULL: no --inject */
    const char *const *inject_text; /* their specs as given, for the annotated capture */
    size_t ninjects;
    uint8_t *injbuf; /* one crafted segment, inject_cap (the MTU) bytes */
    size_t inject_cap;

    uint64_t seed, start_us, wall_start_us, last_now, armed;
    char isn_key[256]; /* the boot key's path, or "" for a key of this run */
    int status;
    int signum;       /* SIGINT or SIGTERM that ended the run, or 0 */
    int error;        /* 0, or the negative errno that lost the device */
    char errmsg[160]; /* its one-line reason */
    tt_driver_check_cb check_cb;
    void *check_ctx;
    struct drv_counters ctr;

    /* The control socket (docs/contract.md §10): NULL when there is none. */
    struct tt_ctl *ctl;
    struct tt_ctl *ctl_failed;      /* the default path's, that could not listen */
    char ctl_none[200];             /* why there is none, for -v */
    char *pcap_path, *trace_path;   /* what is being written, for `pcap`/`trace` */
    char *fault_spec[TT_FAULT_MAX]; /* the rules as given, for `fault list` */
    uint64_t fault_seed;            /* a set made by `fault add` draws from it */
    uint32_t mtu;

    /* --queues (queues.h); with one queue group is NULL and lead is the driver itself. */
    struct drv_group *group;   /* the lead's, shared by every queue */
    struct drv_queue dq;       /* this queue's side of the group */
    struct tt_driver *lead;    /* queue 0: the control socket, the signals, the files */
    struct tt_driver **queues; /* the lead's: every queue, [0] the lead itself */
    size_t nqueues, qindex;
    pthread_t thread;
    bool in_run;      /* inside uv_run(): a stop from the group ends the loop */
    bool thread_live; /* thread was created and not yet joined */
};

/* ---- clock ---- */

static uint64_t drv_clock(struct tt_driver *d)
{
    uint64_t now = uv_hrtime() / 1000;

    if (now < d->last_now)
        now = d->last_now;
    d->last_now = now;
    return now;
}

/*
 * pcap wants wall-clock time; derive it from the monotonic clock, read once
 * at start. The trace's `ts` is the same sum (struct trace_clock), so the two join.
 */
static uint64_t drv_wall(struct tt_driver *d)
{
    return d->wall_start_us + (drv_clock(d) - d->start_us);
}

/* Milliseconds from the loop's clock until due (µs), rounded up: never early. */
static uint64_t drv_ms_until(struct tt_driver *d, uint64_t due_us)
{
    uint64_t due_ms = due_us / 1000 + (due_us % 1000 != 0);
    uint64_t now_ms;

    uv_update_time(&d->loop);
    now_ms = uv_now(&d->loop);
    return due_ms > now_ms ? due_ms - now_ms : 0;
}

/* ---- annotated capture (capture.h) ---- */

/* An engine call ended: its held inbound packet and unclaimed events go to the capture. */
static void drv_cap_end(struct tt_driver *d)
{
    if (d->cap != NULL)
        tt_capture_end_call(d->cap);
}

/*
 * The one seam between --fault and the capture: the action the last
 * tt_fault_decide() took, by the rule that took it, told on the packet
 * (docs/contract.md §5.1 item 5).
 */
static void drv_cap_fault(struct tt_driver *d, enum fault_dir dir, enum capnote_fault what,
                          size_t rule)
{
    if (d->cap != NULL)
        tt_capture_fault(d->cap, dir == FAULT_IN, what, rule, d->faults->rule[rule].delay_us);
}

/* ---- engine timer ---- */

static void drv_on_timer(uv_timer_t *t)
{
    struct tt_driver *d = t->data;

    d->armed = TT_TIME_NEVER; /* a one-shot timer that fired is disarmed */
    tt_engine_timers(d->eng, drv_clock(d));
    drv_cap_end(d);
}

static void drv_arm(struct tt_driver *d)
{
    uint64_t dl = tt_engine_next_deadline(d->eng);

    if (dl == d->armed)
        return;
    d->armed = dl;
    if (dl == TT_TIME_NEVER)
        uv_timer_stop(&d->timer);
    else
        uv_timer_start(&d->timer, drv_on_timer, drv_ms_until(d, dl), 0);
}

static void drv_flush(struct tt_driver *d);

/* Runs after every iteration's callbacks, before the loop sleeps. */
static void drv_on_prepare(uv_prepare_t *h)
{
    struct tt_driver *d = h->data;

    /* What the iteration's callbacks sent leaves before the application's
     * check runs, as it did when every segment was written at once. */
    drv_flush(d);
    if (d->check_cb != NULL) {
        tt_engine_set_now(d->eng, drv_clock(d));
        d->check_cb(d, d->check_ctx);
        drv_cap_end(d);
    }
    drv_flush(d); /* and what the check sent, before the loop sleeps */
    drv_arm(d);
}

/* ---- losing the device ---- */

/*
 * The device is gone (or unusable for good): stop polling it and end the
 * run with err, whatever status the application gives tt_driver_stop()
 * later in this iteration. Only the first error is kept.
 */
static void drv_fail(struct tt_driver *d, const char *op, int err)
{
    if (d->error != 0)
        return;
    d->error = err;
    snprintf(d->errmsg, sizeof(d->errmsg), "TUN %s: %s: %s%s", d->ifname, op, strerror(-err),
             err == -EBADFD ? " (the interface was deleted)" : "");
    uv_poll_stop(&d->poll);
    d->status = err;
    uv_stop(&d->loop);
    if (d->group != NULL)
        tt_dq_stop_all(d->group, d->qindex, err);
}

/* ---- TUN output: into the pump's ring (pump.h), written by the pump ---- */

/*
 * With offloads the engine leaves its TCP checksums partial for the kernel
 * to complete (tt_engine_set_csum_partial()); a capture holds them
 * complete, as the wire carries them: a copy completed in capbuf.
 */
static const uint8_t *drv_complete(struct tt_driver *d, const uint8_t *pkt, size_t len)
{
    if (!d->ofl.on || !tt_ofl_is_tcp(pkt, len) || len > RX_BUF_SIZE)
        return pkt;
    memcpy(d->capbuf, pkt, len);
    tt_ofl_complete_tcp(d->capbuf, len);
    return d->capbuf;
}

/* The capture's outbound tap: each wire segment, once, when the engine sends it. */
static void drv_tap_out(struct tt_driver *d, const uint8_t *pkt, size_t len)
{
    if (d->pcap == NULL && d->cap == NULL)
        return;
    pkt = drv_complete(d, pkt, len);
    if (d->pcap != NULL)
        tt_pcap_write(d->pcap, drv_wall(d), pkt, len);
    else if (d->cap != NULL)
        tt_capture_out(d->cap, drv_clock(d), pkt, len);
}

/*
 * One datagram for the device: with offloads after a virtio header saying
 * "nothing to do", or for a TCP segment "complete the checksum" (NEEDS_CSUM:
 * the engine left it partial, tt_engine_set_csum_partial()).
 */
static void drv_push(struct tt_driver *d, const uint8_t *pkt, size_t len)
{
    struct virtio_net_hdr vh = {0};
    struct iovec iov[2] = {{&vh, OFL_VNET_LEN}, {(void *)pkt, len}};

    if (d->ofl.on && tt_ofl_is_tcp(pkt, len))
        tt_ofl_partial_header(&vh);

    if (d->ofl.on)
        tt_pump_pushv(&d->pump, iov, 2, false);
    else
        tt_pump_pushv(&d->pump, iov + 1, 1, false);
}

/*
 * The pump's settle: what the offload batch holds, one datagram alone or
 * two or more wire segments of one run as one super-segment (offload.h;
 * the kernel cuts it back into these segments), joins the ring: held where
 * it was joined when the batch was placed in the ring, copied otherwise.
 */
static void drv_settle(void *ctx)
{
    struct tt_driver *d = ctx;
    struct ofl_batch *b = &d->batch;
    size_t len = tt_ofl_batch_finish(b);

    if (len > 0 && b->buf == b->own) {
        struct iovec iov = {b->buf, len};
        tt_pump_pushv(&d->pump, &iov, 1, b->n > 1);
    } else if (len > 0) {
        tt_pump_commit(&d->pump, len, b->n > 1);
    }
    tt_ofl_batch_reset(b);
}

/*
 * An empty batch is joined in the ring itself when the ring has room for
 * the largest super-segment there: one copy of each byte the engine sends
 * fewer. Without such room, in the batch's own memory.
 */
static void drv_batch_place(struct tt_driver *d)
{
    uint8_t *at;

    if (d->batch.n > 0)
        return;
    at = tt_pump_reserve(&d->pump, OFL_VNET_LEN + OFL_MAX_DGRAM);
    if (at != NULL)
        tt_ofl_batch_place(&d->batch, at, OFL_MAX_DGRAM);
}

/* With offloads, a segment waits in the batch for the next of its run (settled by drv_settle()). */
static void drv_batch(struct tt_driver *d, const uint8_t *pkt, size_t len)
{
    drv_batch_place(d);
    if (!tt_ofl_batch_add(&d->batch, pkt, len)) {
        drv_settle(d);
        drv_batch_place(d);
        if (!tt_ofl_batch_add(&d->batch, pkt, len))
            d->ctr.txq_drops++; /* larger than any datagram: cannot happen below the MTU */
    }
    /* A run that cannot grow (a FIN, an ACK, a short or PSH segment) goes to
     * the ring at once, as without offloads: only a run of full segments
     * waits for more. */
    if (d->batch.closed)
        drv_settle(d);
}

/* A fault note is for the record of this very packet: written now, or never. */
static void drv_send(struct tt_driver *d, const uint8_t *pkt, size_t len)
{
    drv_tap_out(d, pkt, len);
    if (d->ofl.on)
        drv_batch(d, pkt, len);
    else
        drv_push(d, pkt, len);
    if (d->cap != NULL)
        tt_capture_forget_out_note(d->cap);
}

/* What the pump says after a read or write: a negative errno lost the device. */
static void drv_pumped(struct tt_driver *d, int rc)
{
    if (rc < 0)
        drv_fail(d, d->pump.err_op, rc);
}

/* Writes what the iteration sent (the pump settles the offload batch first). */
static void drv_flush(struct tt_driver *d)
{
    drv_pumped(d, tt_pump_flush(&d->pump));
}

/* ---- faults ---- */

static void drv_on_delay(uv_timer_t *t);

static void drv_arm_delay(struct tt_driver *d)
{
    uint64_t next = tt_delayq_next(&d->delays);

    if (next == UINT64_MAX)
        uv_timer_stop(&d->delay_timer);
    else
        uv_timer_start(&d->delay_timer, drv_on_delay, drv_ms_until(d, next), 0);
}

/* A fault's line in the trace (docs/contract.md §4.2 `fault`); nothing without a trace. */
static void drv_trace_fault(struct tt_driver *d, struct trace_fault *f, const uint8_t *pkt,
                            size_t len)
{
    struct fault_pkt p;

    if (d->trace == NULL)
        return;
    tt_fault_classify(pkt, len, &p);
    f->pkt = &p;
    tt_trace_fault(d->trace, f);
}

/*
 * Holds a copy of pkt until now + v->delay_us: the packet of a delay= rule,
 * or the copy of a dup= one. The pool is bounded (DELAY_SLOTS); a packet
 * that finds it full is lost and counted. Returns false then.
 */
static bool drv_hold(struct tt_driver *d, enum fault_dir dir, const struct fault_verdict *v,
                     const uint8_t *pkt, size_t len, uint64_t now)
{
    struct delay_tag tag = {now, v->rule, v->action == FAULT_DUP};

    if (!tt_delayq_add_tagged(&d->delays, now + v->delay_us, (uint8_t)dir, &tag, pkt, len)) {
        d->ctr.fault_delay_drops++;
        return false;
    }
    drv_arm_delay(d);
    return true;
}

/*
 * What a rule did to pkt, in the trace: done before the packet goes on, so
 * the line comes before the events the packet causes. A dup= copy or a
 * delayed packet is held here; the result says whether it found room.
 */
static bool drv_act(struct tt_driver *d, enum fault_dir dir, const struct fault_verdict *v,
                    const uint8_t *pkt, size_t len, uint64_t now)
{
    const struct fault_rule *r = &d->faults->rule[v->rule];
    struct trace_fault f = {.now_us = now,
                            .action = tt_fault_action_name(v->action),
                            .rule = v->rule,
                            .dir_in = dir == FAULT_IN,
                            .match = tt_fault_match_name(r->match)};
    bool held = true;

    if (v->action == FAULT_DELAY || v->delay_us > 0) {
        held = drv_hold(d, dir, v, pkt, len, now);
        f.after_key = v->action == FAULT_DUP ? "copy_after" : "hold";
        f.after_us = v->delay_us;
        f.note = held ? NULL : "held_full";
    }
    drv_trace_fault(d, &f, pkt, len);
    return held;
}

/*
 * A held packet goes on its way without meeting the rules again. An inbound
 * one is handed to the engine like any packet read now, so whatever
 * connection owns its 4-tuple at release takes it, however long it was held:
 * a later incarnation, a TIME_WAIT entry, or nothing (docs/contract.md §3.5).
 */
static void drv_on_delay(uv_timer_t *t)
{
    struct tt_driver *d = t->data;
    uint64_t now = drv_clock(d);
    const uint8_t *pkt;
    size_t len;
    uint8_t dir;
    int idx;

    while ((idx = tt_delayq_take(&d->delays, now, &pkt, &len, &dir)) >= 0) {
        const struct delay_tag *tag = &d->delays.slot[idx].tag;
        struct trace_fault f = {.now_us = now,
                                .action = "release",
                                .rule = tag->rule,
                                .dir_in = dir == FAULT_IN,
                                .after_key = "held",
                                .after_us = now - tag->since,
                                .copy = tag->copy};
        d->ctr.fault_released++;
        drv_trace_fault(d, &f, pkt, len);
        if (dir == FAULT_IN && d->cap != NULL)
            tt_capture_in(d->cap, now, pkt, len);
        drv_cap_fault(d, dir, CAPNOTE_RELEASED, (size_t)tag->rule);
        if (dir == FAULT_IN)
            tt_engine_input(d->eng, pkt, len, now);
        else
            drv_send(d, pkt, len);
        drv_cap_end(d);
        tt_delayq_release(&d->delays, idx);
    }
    drv_arm_delay(d);
}

/* A datagram to the engine with what the device told of it: the gso_size
 * of the super-segment being cut (d->rx_gso), and whether the kernel
 * vouched for its TCP checksum. */
static void drv_engine_in(struct tt_driver *d, const uint8_t *pkt, size_t len, bool csum_known,
                          uint64_t now)
{
    tt_rx_info_t rx = {.gso_size = d->rx_gso, .csum_known = csum_known};
    tt_engine_input_rx(d->eng, pkt, len, &rx, now);
}

static void drv_fault_in(struct tt_driver *d, const uint8_t *pkt, size_t len, uint64_t now)
{
    struct fault_verdict v;
    enum fault_action a = tt_fault_decide(d->faults, FAULT_IN, pkt, len, &v);
    size_t rule = (size_t)v.rule;

    if (a != FAULT_PASS)
        drv_act(d, FAULT_IN, &v, pkt, len, now); /* the trace line; holds a delay= or dup= copy */
    switch (a) {
    case FAULT_PASS:
        drv_engine_in(d, pkt, len, false, now);
        break;
    case FAULT_DROP:
        drv_cap_fault(d, FAULT_IN, CAPNOTE_DROPPED, rule);
        break;
    case FAULT_DUP:
        drv_cap_fault(d, FAULT_IN, CAPNOTE_DUPLICATED, rule);
        drv_engine_in(d, pkt, len, false, now);
        if (v.delay_us > 0)
            break; /* dup=DURATION: the copy is held, released by drv_on_delay() */
        drv_cap_end(d);
        /* The copy arrives after the original's call: a packet of its own, on its own time. */
        now = drv_clock(d);
        if (d->cap != NULL)
            tt_capture_in(d->cap, now, pkt, len);
        drv_cap_fault(d, FAULT_IN, CAPNOTE_COPY, rule);
        drv_engine_in(d, pkt, len, false, now);
        break;
    case FAULT_DELAY:
        drv_cap_fault(d, FAULT_IN, CAPNOTE_HELD, rule);
        break;
    }
}

static void drv_fault_out(struct tt_driver *d, const uint8_t *pkt, size_t len)
{
    struct fault_verdict v;
    enum fault_action a = tt_fault_decide(d->faults, FAULT_OUT, pkt, len, &v);
    size_t rule = (size_t)v.rule;

    if (a != FAULT_PASS)
        drv_act(d, FAULT_OUT, &v, pkt, len, tt_engine_now(d->eng));
    switch (a) {
    case FAULT_PASS:
        drv_send(d, pkt, len);
        break;
    case FAULT_DROP:
        if (d->cap != NULL) { /* present in the annotated capture, never written to the device */
            drv_cap_fault(d, FAULT_OUT, CAPNOTE_DROPPED, rule);
            tt_capture_out(d->cap, drv_clock(d), drv_complete(d, pkt, len), len);
        }
        break;
    case FAULT_DUP:
        drv_cap_fault(d, FAULT_OUT, CAPNOTE_DUPLICATED, rule);
        drv_send(d, pkt, len);
        if (v.delay_us > 0)
            break; /* dup=DURATION: the copy is held, released by drv_on_delay() */
        drv_cap_fault(d, FAULT_OUT, CAPNOTE_COPY, rule);
        drv_send(d, pkt, len);
        break;
    case FAULT_DELAY:
        break; /* held by drv_act(); noted when it leaves */
    }
}

/*
 * The engine's output callback, at the end of the engine call that sent the
 * packet. state= rules judge it in the state its connection was in when the
 * engine sent it (tt_engine_output_state()), not the state at the call's end.
 */
static void drv_output_one(struct tt_driver *d, const uint8_t *pkt, size_t len);
static bool drv_engine_alone(const struct tt_driver *d);

/*
 * A GSO datagram of the engine (tt_engine_output_gso_size(): a run of new
 * data): to the device whole when nothing but the device looks at it,
 * after what the batch holds; else cut here as the kernel would cut it,
 * so that the capture and --fault see each wire segment.
 */
static void drv_output_gso(struct tt_driver *d, const uint8_t *pkt, size_t len, uint16_t mss)
{
    struct virtio_net_hdr vh;
    struct ofl_split sp;
    uint8_t hdr[80];
    size_t hlen = tt_ofl_gso_header(pkt, len, mss, hdr, &vh);

    if (hlen == 0)
        return;
    if (drv_engine_alone(d)) {
        struct iovec iov[3] = {
            {&vh, OFL_VNET_LEN}, {hdr, hlen}, {(void *)(pkt + hlen), len - hlen}};
        if (d->batch.n > 0)
            drv_settle(d);
        tt_pump_pushv(&d->pump, iov, 3, true);
        return;
    }
    /* split reads pkt and never writes it */
    if (tt_ofl_split_start(&sp, &vh, (uint8_t *)(uintptr_t)pkt, len) != 1)
        return;
    sp.partial_csum = true;
    while ((len = tt_ofl_split_next(&sp, d->segbuf, RX_BUF_SIZE)) > 0)
        drv_output_one(d, d->segbuf, len);
}

/*
 * The engine's runs built in the pump's ring (runout.h): only when nothing
 * but the device looks at them, and the offload batch is empty (what it
 * holds was sent before the run; and a run of one segment, which the
 * engine then hands to drv_output(), may yet join it).
 */
static uint8_t *drv_run_reserve(void *ctx, size_t min, size_t max, size_t *cap)
{
    struct tt_driver *d = ctx;

    (void)min; /* max is reserved, or nothing */
    if (!drv_engine_alone(d) || d->batch.n > 0)
        return NULL;
    d->run_dgram = tt_runout_reserve(&d->pump, max, cap);
    return d->run_dgram;
}

static void drv_run_commit(void *ctx, size_t len, uint16_t gso_size)
{
    struct tt_driver *d = ctx;

    if (len > 0 && d->run_dgram != NULL)
        tt_runout_commit(&d->pump, d->run_dgram, len, gso_size);
    d->run_dgram = NULL;
}

static const tt_run_out_t drv_run_out = {drv_run_reserve, drv_run_commit};

static void drv_output(void *ctx, const uint8_t *pkt, size_t len)
{
    struct tt_driver *d = ctx;
    uint16_t gso = tt_engine_output_gso_size(d->eng);

    if (gso > 0)
        drv_output_gso(d, pkt, len, gso);
    else
        drv_output_one(d, pkt, len);
}

static void drv_output_one(struct tt_driver *d, const uint8_t *pkt, size_t len)
{
    if (d->faults == NULL) {
        drv_send(d, pkt, len);
        return;
    }
    d->in_output = true;
    drv_fault_out(d, pkt, len);
    d->in_output = false;
}

static int drv_conn_state(void *ctx, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
    struct tt_driver *d = ctx;

    if (d->in_output) /* the packet being sent: its 4-tuple, its state at send time */
        return tt_engine_output_state(d->eng);
    return tt_engine_conn_state(d->eng, laddr, lport, raddr, rport);
}

/* ---- TUN input ---- */

/* Each packet is stamped when it is read (a vDSO clock read, no system
 * call), so that the trace, the pcap and TIME_WAIT's start are exact to the
 * packet rather than to the batch. */
static void drv_deliver(struct tt_driver *d, const uint8_t *pkt, size_t len, uint64_t now)
{
    if (d->faults != NULL)
        drv_fault_in(d, pkt, len, now);
    else
        drv_engine_in(d, pkt, len, false, now);
    drv_cap_end(d);
}

/*
 * With several queues: whether this queue's engine knows pkt's connection
 * (a connection or TIME_WAIT entry of its 4-tuple), or would make it (a
 * bare SYN to a port it listens on: every queue listens alike). Not TCP:
 * the engine's, whatever it is.
 */
static bool drv_owns(struct tt_driver *d, const uint8_t *pkt, size_t len)
{
    struct fault_pkt p;
    int st;

    tt_fault_classify(pkt, len, &p);
    if (!p.tcp)
        return true;
    st = tt_engine_conn_state(d->eng, p.daddr, p.dport, p.saddr, p.sport);
    if (st == TT_STATE_LISTEN)
        return (p.flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
    return st >= 0;
}

/* To the next queue's inbox (queues.h); hops: the queues that did not know it, this one included.
 */
static void drv_hand(struct tt_driver *d, const uint8_t *pkt, size_t len, uint8_t hops)
{
    if (tt_dq_hand(d->group, (d->qindex + 1) % d->group->n, pkt, len, hops))
        d->ctr.queue_handed++;
    else
        d->ctr.queue_hand_drops++;
}

/*
 * A packet another queue handed over: this engine's if it knows the
 * connection; else on to the next queue, until every queue has seen it and
 * the last takes it as unknown (its engine answers as it would alone: a RST).
 * Captured already, by the queue that read it.
 */
static void drv_dq_packet(void *ctx, struct dq_packet *p)
{
    struct tt_driver *d = ctx;

    if (drv_owns(d, p->data, p->len)) {
        drv_deliver(d, p->data, p->len, drv_clock(d));
    } else if ((size_t)p->hops + 1 < d->group->n) {
        drv_hand(d, p->data, p->len, (uint8_t)(p->hops + 1));
    } else {
        d->ctr.queue_unowned++;
        drv_deliver(d, p->data, p->len, drv_clock(d));
    }
    free(p);
}

static void drv_input(struct tt_driver *d, const uint8_t *pkt, size_t len, uint64_t now)
{
    if (d->pcap != NULL)
        tt_pcap_write(d->pcap, d->wall_start_us + (now - d->start_us), pkt, len);
    else if (d->cap != NULL)
        tt_capture_in(d->cap, now, pkt, len);
    if (d->group != NULL && !drv_owns(d, pkt, len)) {
        drv_hand(d, pkt, len, 1);
        return;
    }
    drv_deliver(d, pkt, len, now);
}

/* Nothing but the engine looks at what is read: no capture, no --fault, one queue. */
static bool drv_engine_alone(const struct tt_driver *d)
{
    return d->pcap == NULL && d->cap == NULL && d->faults == NULL && d->group == NULL;
}

/*
 * A super-segment's wire segments when nothing but the engine looks at
 * them (no capture, no --fault, one queue): taken whole by the engine
 * when it continues a stream in order with nothing odd; else one engine call (see below),
 * one time stamp (no fault reads the clock between them), each segment
 * made where its payload lies in the read buffer (no copy), and no TCP
 * checksum computed only for the engine to sum it again: the kernel left
 * it partial, so it vouches for the bytes (tt_rx_info_t's csum_known).
 */
static void drv_input_super_fast(struct tt_driver *d, struct ofl_split *sp, uint64_t now)
{
    tt_rx_info_t rx = {.gso_size = d->rx_gso, .csum_known = true};
    uint8_t *seg;
    size_t len;

    /* Whole when the engine can take it so (tt_engine_input_super()): one
     * parse, one ACK step and one copy of the payload for all the segments. */
    if (tt_engine_input_super(d->eng, sp->pkt, sp->len, &rx, now) == 0)
        return;
    sp->no_tcp_csum = true;
    tt_engine_batch_begin(d->eng);
    while ((len = tt_ofl_split_next_in_place(sp, &seg)) > 0)
        drv_engine_in(d, seg, len, true, now);
    tt_engine_batch_end(d->eng);
}

/*
 * What one read gave with offloads (buf, n bytes): a wire datagram (its
 * checksum completed if the kernel left it partial), or a super-segment
 * cut into the wire segments it stands for, each handed on as if read alone.
 * A lone TCP segment whose checksum the kernel left partial or checked
 * goes to the engine as it is when nothing else looks at it.
 */
static void drv_input_vnet(struct tt_driver *d, uint8_t *buf, size_t n, uint64_t now)
{
    struct virtio_net_hdr vh;
    struct ofl_split sp;
    uint8_t *pkt = buf + OFL_VNET_LEN;
    size_t len = n - OFL_VNET_LEN, seg;
    int rc;

    memcpy(&vh, buf, n < OFL_VNET_LEN ? 0 : OFL_VNET_LEN);
    if (n >= OFL_VNET_LEN && drv_engine_alone(d) && tt_ofl_csum_vouched(&vh, pkt, len)) {
        drv_engine_in(d, pkt, len, true, now);
        return;
    }
    rc = n < OFL_VNET_LEN ? -EINVAL : tt_ofl_split_start(&sp, &vh, pkt, len);
    if (rc < 0) {
        d->ctr.tun_read_errors++;
        return;
    }
    if (rc == 0) {
        drv_input(d, pkt, len, now);
        return;
    }
    d->ctr.tun_in_super++;
    /* Each segment goes to the engine with the packet's gso_size (its
     * receiver's MSS estimate, tt_rx_info_t), but for one held by a
     * fault or handed to another queue: those go without. */
    d->rx_gso = tt_ofl_split_gso_size(&sp);
    if (drv_engine_alone(d)) {
        drv_input_super_fast(d, &sp, now);
        d->rx_gso = 0;
        return;
    }
    /* The segments of one super-segment are one engine call, as Linux's TCP
     * takes a GRO packet: one read callback and one ACK for the whole, and
     * the echo written back as one run the batch can join (tuntcp.h). The
     * annotated capture notes each engine call on its packet: there, one
     * call per segment. */
    bool one_call = d->cap == NULL;
    if (one_call)
        tt_engine_batch_begin(d->eng);
    /* A fault may have read the clock for a copy: each segment is stamped anew. */
    while ((seg = tt_ofl_split_next(&sp, d->segbuf, RX_BUF_SIZE)) > 0) {
        drv_input(d, d->segbuf, seg, now);
        now = drv_clock(d);
    }
    d->rx_gso = 0;
    if (one_call)
        tt_engine_batch_end(d->eng);
}

/* ---- the pump's device (pump_ops) ---- */

static ssize_t drv_dev_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct tt_driver *d = ctx;
    ssize_t n = read(d->fd, buf, cap);

    return n < 0 ? -errno : n;
}

static ssize_t drv_dev_write(void *ctx, const uint8_t *pkt, size_t len)
{
    struct tt_driver *d = ctx;
    ssize_t n = write(d->fd, pkt, len);

    return n < 0 ? -errno : n;
}

/* A datagram the pump read: to the engine, through the taps and the fault rules. */
static void drv_dev_input(void *ctx, uint8_t *buf, size_t n)
{
    struct tt_driver *d = ctx;
    uint64_t now = drv_clock(d);

    if (d->ofl.on)
        drv_input_vnet(d, buf, n, now);
    else
        drv_input(d, buf, n, now);
}

static void drv_set_writable(struct tt_driver *d, bool on);

static void drv_dev_want_writable(void *ctx, bool on)
{
    drv_set_writable(ctx, on);
}

static const struct pump_ops drv_pump_ops = {
    .read = drv_dev_read,
    .write = drv_dev_write,
    .input = drv_dev_input,
    .settle = drv_settle,
    .want_writable = drv_dev_want_writable,
};

static void drv_on_poll(uv_poll_t *h, int status, int events)
{
    struct tt_driver *d = h->data;

    if (status < 0) {
        /* libuv stopped the handle on POLLERR and says only UV_EBADF; a
         * read tells the device's own error (EBADFD once it is deleted). */
        drv_pumped(d, tt_pump_readable(&d->pump));
        drv_fail(d, "poll", status);
        return;
    }
    if (events & UV_WRITABLE)
        drv_pumped(d, tt_pump_writable(&d->pump));
    if ((events & UV_READABLE) && d->error == 0)
        drv_pumped(d, tt_pump_readable(&d->pump));
}

static void drv_set_writable(struct tt_driver *d, bool on)
{
    if (d->want_writable == on || d->error != 0)
        return;
    d->want_writable = on;
    uv_poll_start(&d->poll, UV_READABLE | (on ? UV_WRITABLE : 0), drv_on_poll);
}

/* ---- injected segments (docs/contract.md §3.7) ---- */

static void drv_on_inject(uv_timer_t *t);

static void drv_arm_inject(struct tt_driver *d)
{
    uint64_t next = UINT64_MAX;

    for (size_t i = 0; i < d->ninjects; i++) {
        const struct inject_spec *s = &d->injects[i];
        if (s->armed && !s->done && s->due < next)
            next = s->due;
    }
    if (next == UINT64_MAX)
        uv_timer_stop(&d->inject_timer);
    else
        uv_timer_start(&d->inject_timer, drv_on_inject, drv_ms_until(d, next), 0);
}

/* The connection a spec injects into, found among the engine's connections and TIME_WAIT entries.
 */
struct inject_find {
    const struct inject_spec *s;
    struct inject_conn c;
    bool found;
};

static void drv_inject_find(void *ctx, const tt_conn_info_t *info)
{
    struct inject_find *f = ctx;
    const struct inject_spec *s = f->s;

    if (f->found)
        return;
    if (s->have_tuple ? (info->laddr != s->laddr || info->lport != s->lport ||
                         info->raddr != s->raddr || info->rport != s->rport)
                      : !tt_inject_port_ok(s, info->lport, info->rport))
        return;
    f->found = true;
    f->c = (struct inject_conn){info->laddr, info->raddr,   info->lport,  info->rport,
                                true,        info->rcv_nxt, info->snd_nxt};
}

/* A spec that found nothing to inject into: counted, and a line with what it looked for. */
static void drv_inject_skip(struct tt_driver *d, size_t i, const struct inject_conn *c,
                            uint64_t now)
{
    struct fault_pkt p = {
        .tcp = false, .saddr = c->raddr, .daddr = c->laddr, .sport = c->rport, .dport = c->lport};
    struct trace_fault f = {.now_us = now,
                            .action = "inject",
                            .rule = (int)i,
                            .dir_in = true,
                            .pkt = &p,
                            .note = "no_connection"};

    d->ctr.inject_no_conn++;
    if (d->trace != NULL)
        tt_trace_fault(d->trace, &f);
}

/*
 * Makes spec i's segment from the connection's numbers as they are now and
 * hands it to the engine as if read from the TUN device: in the capture as
 * an inbound packet, past the --fault rules.
 */
static void drv_inject_one(struct tt_driver *d, size_t i, uint64_t now)
{
    struct inject_spec *s = &d->injects[i];
    struct inject_find f = {s, {0, 0, 0, 0, false, 0, 0}, false};
    int len;

    s->done = true;
    tt_engine_foreach_conn(d->eng, drv_inject_find, &f);
    if (!f.found && s->have_tuple)
        f.c = (struct inject_conn){s->laddr, s->raddr, s->lport, s->rport, false, 0, 0};
    len = (f.found || s->have_tuple) ? tt_inject_build(s, &f.c, d->injbuf, d->inject_cap) : -EINVAL;
    if (len < 0) {
        drv_inject_skip(d, i, &f.c, now);
        return;
    }
    struct trace_fault tf = {.now_us = now, .action = "inject", .rule = (int)i, .dir_in = true};
    drv_trace_fault(d, &tf, d->injbuf, (size_t)len);
    d->ctr.injected++;
    if (d->pcap != NULL)
        tt_pcap_write(d->pcap, d->wall_start_us + (now - d->start_us), d->injbuf, (size_t)len);
    if (d->cap != NULL) {
        tt_capture_in(d->cap, now, d->injbuf, (size_t)len);
        tt_capture_fault(d->cap, 1, CAPNOTE_INJECTED, i, 0);
    }
    tt_engine_input(d->eng, d->injbuf, (size_t)len, now);
    drv_cap_end(d);
}

static void drv_on_inject(uv_timer_t *t)
{
    struct tt_driver *d = t->data;
    uint64_t now = drv_clock(d);

    for (size_t i = 0; i < d->ninjects; i++) {
        const struct inject_spec *s = &d->injects[i];
        if (s->armed && !s->done && s->due <= now)
            drv_inject_one(d, i, now);
    }
    drv_arm_inject(d);
}

/* A state change may start a STATE+DURATION spec's clock. */
static void drv_inject_event(struct tt_driver *d, const tt_event_t *ev)
{
    bool armed = false;

    for (size_t i = 0; i < d->ninjects; i++)
        armed |= tt_inject_on_event(&d->injects[i], ev);
    if (armed)
        drv_arm_inject(d);
}

/* ---- events, signals, flushing ---- */

static void drv_event(void *ctx, const tt_event_t *ev)
{
    struct tt_driver *d = ctx;

    if (d->trace != NULL)
        tt_trace_event(d->trace, ev);
    if (d->injects != NULL)
        drv_inject_event(d, ev);
    if (d->cap != NULL)
        tt_capture_event(d->cap, ev);
}

static void drv_on_signal(uv_signal_t *h, int signum)
{
    struct tt_driver *d = h->data;

    if (signum == SIGUSR1)
        tt_driver_print_stats(d, stderr);
    else {
        d->signum = signum;
        tt_driver_stop(d, 0);
    }
}

static void drv_on_flush(uv_timer_t *t)
{
    struct tt_driver *d = t->data;

    if (d->pcap != NULL)
        tt_pcap_flush(d->pcap);
    else
        tt_capture_flush(d->cap);
}

/* ---- set-up ---- */

static int fmt_err(char *err, size_t errlen, const char *what, const char *detail, int rc)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s%s: %s", what, detail, strerror(-rc));
    return rc;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* One --seed drives everything random: the ISN key, port choice, fault draws. */
static void drv_derive_seeds(uint64_t seed, tt_config_t *ecfg, uint64_t *fault_seed)
{
    uint64_t s = seed;

    for (size_t i = 0; i < sizeof(ecfg->isn_secret); i += 8) {
        uint64_t v = splitmix64(&s);
        memcpy(ecfg->isn_secret + i, &v, 8);
    }
    ecfg->seed = splitmix64(&s);
    *fault_seed = splitmix64(&s);
}

static int drv_open_tun(struct tt_driver *d, const tt_driver_config_t *cfg, char *err,
                        size_t errlen)
{
    const char *step = "";
    int rc;

    const char *name = d->qindex > 0 ? d->lead->ifname : cfg->tun_name;

    d->ofl.want = !cfg->no_offload;
    rc = tt_tun_open(name, d->group != NULL, d->ifname, &d->fd, &d->ofl, &step);

    if (rc < 0) {
        snprintf(err, errlen, "TUN %s: %s: %s%s%s", name, step, strerror(-rc),
                 rc == -EPERM ? " (needs CAP_NET_ADMIN: root, or inside `unshare -rn`)" : "",
                 rc == -EINVAL && d->group != NULL
                     ? " (--queues: a device made without IFF_MULTI_QUEUE takes one queue)"
                     : "");
        return rc;
    }
    if (cfg->no_config || d->qindex > 0) /* the lead configured the interface */
        return 0;
    rc = tt_tun_configure(d->ifname, cfg->host_addr, cfg->host_prefix, cfg->engine.mtu, &step);
    if (rc < 0)
        snprintf(err, errlen, "TUN %s: %s: %s", d->ifname, step, strerror(-rc));
    return rc;
}

static int drv_open_faults(struct tt_driver *d, const tt_driver_config_t *cfg, uint64_t seed,
                           char *err, size_t errlen)
{
    char why[160];
    int rc;

    d->fault_seed = seed;
    if (cfg->fault_count == 0)
        return 0;
    d->faults = malloc(sizeof(*d->faults));
    if (d->faults == NULL)
        return fmt_err(err, errlen, "--fault", "", -ENOMEM);
    tt_fault_set_init(d->faults, seed, drv_conn_state, d);
    for (size_t i = 0; i < cfg->fault_count; i++) {
        rc = tt_fault_set_add(d->faults, cfg->faults[i], why, sizeof(why));
        if (rc < 0) {
            snprintf(err, errlen, "--fault %s: %s", cfg->faults[i], why);
            return rc;
        }
        if ((d->fault_spec[i] = strdup(cfg->faults[i])) == NULL)
            return fmt_err(err, errlen, "--fault", "", -ENOMEM);
    }
    rc = tt_delayq_init(&d->delays, DELAY_SLOTS, cfg->engine.mtu);
    return rc < 0 ? fmt_err(err, errlen, "--fault", "", rc) : 0;
}

/* The specs of --inject; their segments must fit the MTU. */
static int drv_open_injects(struct tt_driver *d, const tt_driver_config_t *cfg, char *err,
                            size_t errlen)
{
    char why[160];
    int rc;

    if (cfg->inject_count == 0)
        return 0;
    d->injects = calloc(cfg->inject_count, sizeof(*d->injects));
    d->injbuf = malloc(cfg->engine.mtu);
    if (d->injects == NULL || d->injbuf == NULL)
        return fmt_err(err, errlen, "--inject", "", -ENOMEM);
    d->ninjects = cfg->inject_count;
    d->inject_text = cfg->injects;
    d->inject_cap = cfg->engine.mtu;
    for (size_t i = 0; i < cfg->inject_count; i++) {
        rc = tt_inject_parse(cfg->injects[i], &d->injects[i], why, sizeof(why));
        if (rc == 0)
            rc = tt_inject_check_mtu(cfg->injects[i], cfg->engine.mtu, why, sizeof(why));
        if (rc < 0) {
            snprintf(err, errlen, "--inject %s: %s", cfg->injects[i], why);
            return rc;
        }
    }
    return 0;
}

/* --pcapng, or a name ending in .pcapng, asks for the annotated capture (docs/contract.md §5.1). */
static bool drv_is_pcapng_name(const char *path)
{
    size_t n = strlen(path);

    return n >= 7 && strcmp(path + n - 7, ".pcapng") == 0;
}

static bool drv_wants_pcapng(const tt_driver_config_t *cfg)
{
    return cfg->pcapng || drv_is_pcapng_name(cfg->pcap_path);
}

/* The annotated capture started by `tuntcp-ctl pcap start F.pcapng`: the rules
 * and injections as they are now, the MSL and fin_timeout the engine has now. */
static int drv_open_capture_live(struct tt_driver *d, const char *path)
{
    const tt_config_t *ec = tt_engine_config(d->eng);
    struct capture_config cc = {
        .path = path,
        .ifname = d->ifname,
        .note = {{d->start_us, d->wall_start_us}, ec->msl_us, ec->fin_timeout_us},
        .fault_specs = (const char *const *)d->fault_spec,
        .fault_count = d->faults != NULL ? d->faults->n : 0,
        .inject_specs = d->inject_text,
        .inject_count = d->ninjects,
    };

    return tt_capture_open(&d->cap, &cc);
}

static int drv_open_capture(struct tt_driver *d, const tt_driver_config_t *cfg)
{
    struct capture_config cc = {
        .path = cfg->pcap_path,
        .ifname = d->ifname,
        .note = {{d->start_us, d->wall_start_us}, cfg->engine.msl_us, cfg->engine.fin_timeout_us},
        .fault_specs = cfg->faults,
        .fault_count = cfg->fault_count,
        .inject_specs = cfg->injects,
        .inject_count = cfg->inject_count,
    };

    if (!drv_wants_pcapng(cfg))
        return tt_pcap_open(&d->pcap, cfg->pcap_path);
    return tt_capture_open(&d->cap, &cc);
}

static int drv_open_files(struct tt_driver *d, const tt_driver_config_t *cfg, char *err,
                          size_t errlen)
{
    struct trace_clock clk = {d->start_us, d->wall_start_us};
    int rc;

    if (cfg->pcap_path != NULL && (rc = drv_open_capture(d, cfg)) < 0)
        return fmt_err(err, errlen, "--pcap ", cfg->pcap_path, rc);
    if (cfg->trace_path != NULL && (rc = tt_trace_open(&d->trace, cfg->trace_path, &clk)) < 0)
        return fmt_err(err, errlen, "--trace ", cfg->trace_path, rc);
    if ((cfg->pcap_path != NULL && (d->pcap_path = strdup(cfg->pcap_path)) == NULL) ||
        (cfg->trace_path != NULL && (d->trace_path = strdup(cfg->trace_path)) == NULL))
        return fmt_err(err, errlen, "paths", "", -ENOMEM);
    return 0;
}

static int drv_add_handle(struct tt_driver *d, int rc, void *handle)
{
    if (rc == 0) {
        ((uv_handle_t *)handle)->data = d;
        d->handles[d->nhandles++] = handle;
    }
    return rc;
}

static int drv_start_signals(struct tt_driver *d)
{
    static const int signums[3] = {SIGINT, SIGTERM, SIGUSR1};
    int rc = 0;

    for (size_t i = 0; i < 3 && rc == 0; i++) {
        rc = drv_add_handle(d, uv_signal_init(&d->loop, &d->sig[i]), &d->sig[i]);
        if (rc == 0)
            rc = uv_signal_start(&d->sig[i], drv_on_signal, signums[i]);
    }
    return rc;
}

static void drv_dq_stop(void *ctx)
{
    struct tt_driver *d = ctx;

    if (d->in_run)
        uv_stop(&d->loop);
}

static const struct dq_ops drv_dq_ops = {.stop = drv_dq_stop, .packet = drv_dq_packet};

/* The queue's async handle (queues.h); its data is the drv_queue, not the driver. */
static int drv_init_queue(struct tt_driver *d)
{
    int rc = tt_dq_init(d->group, d->qindex, &d->dq, &d->loop, &drv_dq_ops, d);

    if (rc == 0)
        d->handles[d->nhandles++] = (uv_handle_t *)&d->dq.async;
    return rc;
}

static int drv_init_handles(struct tt_driver *d)
{
    int rc = drv_add_handle(d, uv_poll_init(&d->loop, &d->poll, d->fd), &d->poll);

    if (rc == 0)
        rc = uv_poll_start(&d->poll, UV_READABLE, drv_on_poll);
    if (rc == 0)
        rc = drv_add_handle(d, uv_timer_init(&d->loop, &d->timer), &d->timer);
    if (rc == 0)
        rc = drv_add_handle(d, uv_timer_init(&d->loop, &d->delay_timer), &d->delay_timer);
    if (rc == 0)
        rc = drv_add_handle(d, uv_timer_init(&d->loop, &d->flush_timer), &d->flush_timer);
    if (rc == 0)
        rc = drv_add_handle(d, uv_timer_init(&d->loop, &d->wake_timer), &d->wake_timer);
    if (rc == 0)
        rc = drv_add_handle(d, uv_timer_init(&d->loop, &d->inject_timer), &d->inject_timer);
    if (rc == 0)
        rc = drv_add_handle(d, uv_prepare_init(&d->loop, &d->prepare), &d->prepare);
    if (rc == 0)
        rc = uv_prepare_start(&d->prepare, drv_on_prepare);
    if (rc == 0 && d->qindex == 0) /* the lead's: signals are for the whole stack */
        rc = drv_start_signals(d);
    if (rc == 0 && d->group != NULL)
        rc = drv_init_queue(d);
    if (rc == 0 && d->qindex == 0 && (d->pcap != NULL || d->cap != NULL))
        rc = uv_timer_start(&d->flush_timer, drv_on_flush, PCAP_FLUSH_MS, PCAP_FLUSH_MS);
    return rc;
}

static int drv_open_loop(struct tt_driver *d, char *err, size_t errlen)
{
    int rc = uv_loop_init(&d->loop);

    if (rc < 0)
        return fmt_err(err, errlen, "uv_loop_init", "", rc);
    d->loop_ready = true;
    rc = drv_init_handles(d);
    if (rc < 0)
        return fmt_err(err, errlen, "libuv", "", rc);
    uv_unref((uv_handle_t *)&d->prepare); /* only the TUN poll keeps the loop alive */
    uv_unref((uv_handle_t *)&d->flush_timer);
    uv_unref((uv_handle_t *)&d->wake_timer);
    drv_arm_inject(d);
    return 0;
}

/*
 * Queue i of n gets the i-th of n disjoint slices of ip_local_port_range,
 * so that two engines never pick the same 4-tuple for a connection (each
 * checks only its own table), and the i-th share of tcp_max_tw_buckets, so
 * that the stack as a whole keeps Linux's bound. Slices rather than one
 * shared allocator: no lock on the connect path, and a port's queue is
 * known from the port alone.
 */
void tt_drv_queue_slice(tt_config_t *ecfg, size_t i, size_t n)
{
    uint32_t lo = ecfg->port_lo, num = (uint32_t)ecfg->port_hi - lo + 1;
    uint32_t per = num / (uint32_t)n;

    if (per > 0) {
        ecfg->port_lo = (uint16_t)(lo + per * i);
        ecfg->port_hi = (uint16_t)(i + 1 == n ? ecfg->port_hi : lo + per * (i + 1) - 1);
    }
    ecfg->tcp_max_tw_buckets =
        ecfg->tcp_max_tw_buckets / (uint32_t)n + (i < ecfg->tcp_max_tw_buckets % n ? 1 : 0);
}

static int drv_open_engine(struct tt_driver *d, const tt_driver_config_t *cfg, char *err,
                           size_t errlen)
{
    tt_config_t ecfg = cfg->engine;
    uint64_t fault_seed;
    uv_timeval64_t tv;
    int rc;

    drv_derive_seeds(d->seed, &ecfg, &fault_seed);
    if (d->qindex > 0) /* one ISN and cookie key for the stack: any queue checks a cookie */
        memcpy(ecfg.isn_secret, tt_engine_config(d->lead->eng)->isn_secret,
               sizeof(ecfg.isn_secret));
    else if (!cfg->seed_set &&
             tt_boot_key_load(ecfg.isn_secret, d->isn_key, sizeof(d->isn_key)) < 0)
        d->isn_key[0] = '\0';
    if (d->group != NULL)
        tt_drv_queue_slice(&ecfg, d->qindex, d->group->n);
    if ((rc = drv_open_faults(d, cfg, fault_seed, err, errlen)) < 0)
        return rc;
    if ((rc = drv_open_injects(d, cfg, err, errlen)) < 0)
        return rc;
    d->start_us = drv_clock(d);
    if ((rc = uv_gettimeofday(&tv)) < 0)
        return fmt_err(err, errlen, "gettimeofday", "", rc);
    d->wall_start_us = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
    if (d->qindex > 0) { /* the lead's files and time base: one capture, one trace */
        d->start_us = d->lead->start_us;
        d->wall_start_us = d->lead->wall_start_us;
        d->pcap = d->lead->pcap;
        d->trace = d->lead->trace;
    } else if ((rc = drv_open_files(d, cfg, err, errlen)) < 0) {
        return rc;
    }
    rc = tt_engine_new(&d->eng, &ecfg, drv_output, d, d->start_us);
    if (rc < 0)
        return fmt_err(err, errlen, "engine", " (check --mtu, --msl, --ip-local-port-range)", rc);
    if (d->trace != NULL || d->injects != NULL || d->cap != NULL)
        tt_engine_set_event_cb(d->eng, drv_event, d);
    for (size_t i = 0; i < d->ninjects; i++)
        tt_inject_start(&d->injects[i], d->start_us);
    return 0;
}

static int drv_check_config(const tt_driver_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->queues > TT_QUEUES_MAX) {
        snprintf(err, errlen, "--queues %u: at most %d", cfg->queues, TT_QUEUES_MAX);
        return -EINVAL;
    }
    if (cfg->queues > 1 && (cfg->inject_count > 0 || (cfg->pcap_path && drv_wants_pcapng(cfg)))) {
        snprintf(err, errlen, "--queues %u: not with %s (one queue only)", cfg->queues,
                 cfg->inject_count > 0 ? "--inject" : "the annotated pcapng capture");
        return -EINVAL;
    }
    if (cfg->tun_name == NULL || cfg->engine.mtu < 68 || cfg->engine.mtu > 65535 ||
        cfg->host_prefix > 32 || cfg->fault_count > TT_FAULT_MAX ||
        cfg->inject_count > TT_INJECT_MAX)
        return fmt_err(err, errlen, "driver config", "", -EINVAL);
    return 0;
}

static int drv_draw_seed(struct tt_driver *d, const tt_driver_config_t *cfg, char *err,
                         size_t errlen)
{
    int rc = 0;

    if (cfg->seed_set)
        d->seed = cfg->seed;
    else if ((rc = uv_random(NULL, NULL, &d->seed, sizeof(d->seed), 0, NULL)) < 0)
        return fmt_err(err, errlen, "random seed", "", rc);
    return 0;
}

/*
 * The control socket (docs/contract.md §10.1): at --ctl PATH, a failure
 * ends the start; at the default path, it only means no socket (another
 * stack on a TUN of the same name holds it, or there is no runtime
 * directory), which -v reports.
 */
static int drv_open_ctl(struct tt_driver *d, const tt_driver_config_t *cfg, char *err,
                        size_t errlen)
{
    char path[4096];
    int rc;

    if (cfg->no_ctl) {
        snprintf(d->ctl_none, sizeof(d->ctl_none), "--no-ctl");
        return 0;
    }
    if (cfg->ctl_path != NULL)
        return tt_ctl_open(&d->ctl, &d->loop, d, cfg->ctl_path, cfg->ctl_chown, cfg->ctl_uid,
                           cfg->ctl_gid, err, errlen);
    if ((rc = tt_ctl_default_path(d->ifname, path, sizeof(path))) < 0) {
        snprintf(d->ctl_none, sizeof(d->ctl_none), "no runtime directory: %s", strerror(-rc));
        return 0;
    }
    rc = tt_ctl_open(&d->ctl, &d->loop, d, path, cfg->ctl_chown, cfg->ctl_uid, cfg->ctl_gid,
                     d->ctl_none, sizeof(d->ctl_none));
    if (rc < 0) { /* closed with the other handles, at tt_driver_free() */
        d->ctl_failed = d->ctl;
        d->ctl = NULL;
    }
    return 0;
}

/* The ring holds PUMP_SLOTS datagrams of the MTU, and at least a few super-segments. */
static int drv_open_pump(struct tt_driver *d, uint32_t mtu)
{
    size_t arena = PUMP_SLOTS * (mtu + OFL_VNET_LEN);

    if (arena < 4 * (OFL_VNET_LEN + OFL_MAX_DGRAM))
        arena = 4 * (OFL_VNET_LEN + OFL_MAX_DGRAM);
    return tt_pump_init(&d->pump, &drv_pump_ops, d, &d->ctr, PUMP_SLOTS, arena,
                        RX_BUF_SIZE + OFL_VNET_LEN);
}

static int drv_open(struct tt_driver *d, const tt_driver_config_t *cfg, char *err, size_t errlen)
{
    int rc;

    if (d->qindex > 0) /* each queue its own port choices and fault draws */
        d->seed = d->lead->seed + d->qindex * 0x9e3779b97f4a7c15ULL;
    else if ((rc = drv_draw_seed(d, cfg, err, errlen)) < 0)
        return rc;
    d->segbuf = malloc(RX_BUF_SIZE);
    if (d->segbuf == NULL || tt_ofl_batch_init(&d->batch, TX_BATCH_SIZE) < 0 ||
        drv_open_pump(d, cfg->engine.mtu) < 0)
        return fmt_err(err, errlen, "buffers", "", -ENOMEM);
    if ((rc = drv_open_tun(d, cfg, err, errlen)) < 0)
        return rc;
    if ((rc = drv_open_engine(d, cfg, err, errlen)) < 0)
        return rc;
    if (d->ofl.on) { /* TUN_F_CSUM: the kernel completes our TCP checksums */
        d->capbuf = malloc(RX_BUF_SIZE);
        if (d->capbuf == NULL)
            return fmt_err(err, errlen, "buffers", "", -ENOMEM);
        tt_engine_set_csum_partial(d->eng, true);
        tt_engine_set_gso_out(d->eng, true);            /* runs of new data as one GSO datagram */
        tt_engine_set_run_out(d->eng, &drv_run_out, d); /* built in the pump's ring */
    }
    d->mtu = cfg->engine.mtu;
    if ((rc = drv_open_loop(d, err, errlen)) < 0)
        return rc;
    return d->qindex == 0 ? drv_open_ctl(d, cfg, err, errlen) : 0;
}

static struct tt_driver *drv_alloc(void)
{
    struct tt_driver *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->fd = -1;
    d->armed = TT_TIME_NEVER;
    d->lead = d;
    d->nqueues = 1;
    return d;
}

/* --queues N > 1: the group the queues share (queues.h); the lead is queue 0. */
static int drv_new_group(struct tt_driver *d, size_t n, char *err, size_t errlen)
{
    d->group = malloc(sizeof(*d->group));
    if (d->group == NULL || tt_dq_group_init(d->group, n) < 0) {
        free(d->group);
        d->group = NULL;
        return fmt_err(err, errlen, "queues", "", -ENOMEM);
    }
    d->queues = calloc(n, sizeof(*d->queues));
    if (d->queues == NULL)
        return fmt_err(err, errlen, "queues", "", -ENOMEM);
    d->queues[0] = d;
    d->nqueues = n;
    return 0;
}

/* Queue i: another IFF_MULTI_QUEUE attach of the lead's interface, with its own engine and loop. */
static int drv_open_queue(struct tt_driver *lead, size_t i, const tt_driver_config_t *cfg,
                          char *err, size_t errlen)
{
    struct tt_driver *q = drv_alloc();

    if (q == NULL)
        return fmt_err(err, errlen, "queues", "", -ENOMEM);
    q->lead = lead;
    q->group = lead->group;
    q->qindex = i;
    lead->queues[i] = q;
    return drv_open(q, cfg, err, errlen);
}

/* ---- public API ---- */

void tt_driver_config_init(tt_driver_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    tt_config_init(&cfg->engine); /* 10.7.0.2 and Linux's TCP defaults */
    cfg->tun_name = "tt0";
    cfg->host_addr = 0x0a070001; /* 10.7.0.1/24 */
    cfg->host_prefix = 24;
}

int tt_driver_new(tt_driver_t **out, const tt_driver_config_t *cfg, char *err, size_t errlen)
{
    struct tt_driver *d = drv_alloc();
    int rc;

    if (d == NULL)
        return fmt_err(err, errlen, "driver", "", -ENOMEM);
    rc = drv_check_config(cfg, err, errlen);
    if (rc == 0 && cfg->queues > 1)
        rc = drv_new_group(d, cfg->queues, err, errlen);
    if (rc == 0)
        rc = drv_open(d, cfg, err, errlen);
    for (size_t i = 1; rc == 0 && i < d->nqueues; i++)
        rc = drv_open_queue(d, i, cfg, err, errlen);
    if (rc < 0) {
        tt_driver_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

static void drv_close_files(struct tt_driver *d)
{
    int rc;

    if (d->pcap != NULL && (rc = tt_pcap_close(d->pcap)) < 0)
        fprintf(stderr, "pcap: %s\n", strerror(-rc));
    if (d->cap != NULL && (rc = tt_capture_close(d->cap)) < 0)
        fprintf(stderr, "pcap: %s\n", strerror(-rc));
    d->cap = NULL;
    if (d->trace != NULL && (rc = tt_trace_close(d->trace)) < 0)
        fprintf(stderr, "trace: %s\n", strerror(-rc));
    d->pcap = NULL;
    d->trace = NULL;
}

static void drv_free_one(struct tt_driver *d);

void tt_driver_free(tt_driver_t *d)
{
    if (d == NULL || d->qindex > 0) /* a queue goes with its lead */
        return;
    for (size_t i = d->nqueues; i-- > 1;) {
        if (d->queues[i] == NULL)
            continue;
        d->queues[i]->pcap = NULL; /* the lead's, closed with it */
        d->queues[i]->trace = NULL;
        drv_free_one(d->queues[i]);
    }
    drv_free_one(d);
}

static void drv_free_one(struct tt_driver *d)
{
    struct drv_group *g = d->qindex == 0 ? d->group : NULL;

    drv_close_files(d);
    /* Once libuv lets go of SIGUSR1 its default action would kill the
     * process; a statistics request this late has nothing left to report. */
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGUSR1, &ign, NULL);
    tt_ctl_close(d->ctl);
    tt_ctl_close(d->ctl_failed);
    for (size_t i = 0; i < d->nhandles; i++)
        uv_close(d->handles[i], NULL);
    if (d->loop_ready) {
        uv_run(&d->loop, UV_RUN_DEFAULT); /* lets the close callbacks run */
        uv_loop_close(&d->loop);
    }
    tt_ctl_free(d->ctl);
    tt_ctl_free(d->ctl_failed);
    free(d->pcap_path);
    free(d->trace_path);
    for (size_t i = 0; i < TT_FAULT_MAX; i++)
        free(d->fault_spec[i]);
    if (d->eng != NULL)
        tt_engine_free(d->eng);
    if (d->fd >= 0)
        close(d->fd);
    if (d->faults != NULL)
        tt_delayq_free(&d->delays);
    free(d->faults);
    free(d->injects);
    free(d->injbuf);
    tt_pump_free(&d->pump);
    free(d->segbuf);
    free(d->capbuf);
    tt_ofl_batch_free(&d->batch);
    free(d->queues);
    if (d->group != NULL)
        tt_dq_free_inbox(&d->dq);
    if (g != NULL) {
        tt_dq_group_destroy(g);
        free(g);
    }
    free(d);
}

tt_engine_t *tt_driver_engine(const tt_driver_t *d)
{
    return d->eng;
}

const char *tt_driver_ifname(const tt_driver_t *d)
{
    return d->ifname;
}

uint64_t tt_driver_seed(const tt_driver_t *d)
{
    return d->seed;
}

const char *tt_driver_isn_key(const tt_driver_t *d)
{
    return d->isn_key[0] != '\0' ? d->isn_key : NULL;
}

void tt_driver_set_check_cb(tt_driver_t *d, tt_driver_check_cb cb, void *ctx)
{
    d->check_cb = cb;
    d->check_ctx = ctx;
}

/* Nothing to do: the iteration the timer ends runs the prepare callback, hence the check. */
static void drv_on_wake(uv_timer_t *t)
{
    (void)t;
}

void tt_driver_wake_at(tt_driver_t *d, uint64_t at_us)
{
    if (at_us == TT_TIME_NEVER)
        uv_timer_stop(&d->wake_timer);
    else
        uv_timer_start(&d->wake_timer, drv_on_wake, drv_ms_until(d, at_us), 0);
}

bool tt_driver_offload(const tt_driver_t *d, char *why_off, size_t cap)
{
    if (!d->ofl.on && cap > 0)
        snprintf(why_off, cap, "%s%s%s", d->ofl.want ? d->ofl.step : "--offload off",
                 d->ofl.want ? ": " : "", d->ofl.want ? strerror(-d->ofl.err) : "");
    return d->ofl.on;
}

int tt_driver_signal(const tt_driver_t *d)
{
    return d->lead->signum;
}

size_t tt_driver_queue_count(const tt_driver_t *d)
{
    return d->lead->nqueues;
}

tt_driver_t *tt_driver_queue(tt_driver_t *d, size_t i)
{
    struct tt_driver *lead = d->lead;

    if (lead->queues == NULL || i >= lead->nqueues)
        return i == 0 ? lead : NULL;
    return lead->queues[i];
}

/* One queue's loop, on the thread that runs it, and what its last callbacks sent. */
static void drv_run_one(struct tt_driver *d)
{
    d->in_run = true;
    uv_run(&d->loop, UV_RUN_DEFAULT);
    d->in_run = false;
    drv_flush(d);
    if (d->group != NULL)
        tt_dq_end(d->group, d->qindex);
}

static void *drv_thread(void *arg)
{
    drv_run_one(arg);
    return NULL;
}

/*
 * Several queues: queues 1..N-1 each on a thread of its own, the lead on
 * the caller's; once the lead's loop ends every loop is told to end, and
 * the run is over when all have. A queue's lost device is the outcome.
 */
static int drv_run_group(struct tt_driver *d)
{
    int rc = 0;

    tt_dq_begin(d->group);
    for (size_t i = 1; i < d->nqueues && rc == 0; i++) {
        struct tt_driver *q = d->queues[i];
        rc = -pthread_create(&q->thread, NULL, drv_thread, q);
        q->thread_live = rc == 0;
        if (rc < 0)
            tt_dq_end(d->group, i);
    }
    if (rc == 0)
        drv_run_one(d);
    else
        tt_dq_end(d->group, 0);
    tt_dq_stop_all(d->group, 0, rc);
    for (size_t i = 1; i < d->nqueues; i++) {
        struct tt_driver *q = d->queues[i];
        if (q->thread_live)
            pthread_join(q->thread, NULL);
        q->thread_live = false;
        if (q->error != 0 && rc == 0)
            rc = q->error;
    }
    if (d->error != 0)
        rc = d->error;
    return rc != 0 ? rc : tt_dq_status(d->group);
}

int tt_driver_run(tt_driver_t *d)
{
    d = d->lead;
    d->status = 0;
    if (d->group != NULL) {
        d->status = drv_run_group(d);
    } else {
        uv_run(&d->loop, UV_RUN_DEFAULT);
        drv_flush(d); /* what the last callbacks sent */
    }
    if (d->pcap != NULL)
        tt_pcap_flush(d->pcap);
    if (d->cap != NULL)
        tt_capture_flush(d->cap);
    return d->status;
}

void tt_driver_stop(tt_driver_t *d, int status)
{
    if (d->error == 0) /* a lost device is the run's outcome, whatever else ended */
        d->status = status;
    uv_stop(&d->loop);
    if (d->group != NULL)
        tt_dq_stop_all(d->group, d->qindex, status);
}

const char *tt_driver_error(const tt_driver_t *d)
{
    for (size_t i = 0; i < d->nqueues && d->queues != NULL; i++)
        if (d->queues[i]->error != 0)
            return d->queues[i]->errmsg;
    return d->error != 0 ? d->errmsg : NULL;
}

/* ---- several queues: the stack's figures are the sums of the queues' ---- */

#define DRV_SUM_MAX 192 /* counters, the engine's and the driver's */

/* The counters a per-queue line shows (-v, SIGUSR1): how the kernel spread the work. */
static const char *const drv_queue_shown[] = {
    "TtTunInPackets", "TtTunOutPackets", "TcpPassiveOpens", "TcpActiveOpens", "TtQueueHandedOver"};
#define DRV_QSHOWN (sizeof(drv_queue_shown) / sizeof(drv_queue_shown[0]))

struct drv_sum {
    const char *names[DRV_SUM_MAX];
    uint64_t values[DRV_SUM_MAX];
    size_t n, tw, tw_bytes;
    size_t q; /* the queue being added */
    uint64_t per_queue[TT_QUEUES_MAX][DRV_QSHOWN];
};

static void drv_sync_fault_counters(struct tt_driver *d)
{
    if (d->faults != NULL) {
        d->ctr.fault_dropped = d->faults->dropped;
        d->ctr.fault_duplicated = d->faults->duplicated;
        d->ctr.fault_delayed = d->faults->delayed;
    }
}

/* On queue d's thread (tt_dq_call): adds its counters and TIME_WAIT gauge to the sum. */
static void drv_sum_one(void *ctx, void *arg)
{
    struct tt_driver *d = ctx;
    struct drv_sum *s = arg;
    const char *names[DRV_SUM_MAX];
    uint64_t v[DRV_SUM_MAX];
    size_t n;

    drv_sync_fault_counters(d);
    /* one capture for the stack: the lead counts its records */
    d->ctr.pcap_records = d->qindex == 0 && d->pcap != NULL ? tt_pcap_count(d->pcap) : 0;
    n = tt_report_counters(d->eng, &d->ctr, names, v, DRV_SUM_MAX);
    if (n > DRV_SUM_MAX)
        n = DRV_SUM_MAX;
    for (size_t i = 0; i < n; i++) {
        s->names[i] = names[i];
        s->values[i] += v[i];
        for (size_t k = 0; k < DRV_QSHOWN; k++)
            if (strcmp(names[i], drv_queue_shown[k]) == 0)
                s->per_queue[d->qindex][k] = v[i];
    }
    s->n = n;
    s->tw += tt_engine_timewait_count(d->eng);
    s->tw_bytes += tt_engine_timewait_bytes(d->eng);
}

/* From the lead's thread (the control socket, SIGUSR1, or after the run). */
static void drv_sum(struct tt_driver *lead, struct drv_sum *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < lead->nqueues; i++)
        tt_dq_call(lead->group, 0, i, drv_sum_one, s);
}

struct drv_print {
    FILE *f;
    uint64_t now;
};

static void drv_print_conns_one(void *ctx, void *arg)
{
    struct tt_driver *d = ctx;
    struct drv_print *p = arg;

    tt_report_print_conns(p->f, d->eng, p->now);
}

static void drv_print_group(struct tt_driver *d, FILE *f)
{
    struct drv_sum *s = malloc(sizeof(*s));
    struct drv_print p = {f, drv_clock(d)};
    char sockstat[96];

    if (s == NULL)
        return;
    drv_sum(d, s);
    tt_report_print_values(f, s->names, s->values, s->n);
    for (size_t i = 0; i < d->nqueues; i++) {
        fprintf(f, "# queue %zu:", i);
        for (size_t k = 0; k < DRV_QSHOWN; k++)
            fprintf(f, " %s %" PRIu64, drv_queue_shown[k], s->per_queue[i][k]);
        fputc('\n', f);
    }
    tt_report_sockstat_values(sockstat, sizeof(sockstat), s->tw, s->tw_bytes);
    fputs(sockstat, f);
    tt_report_print_conn_header(f);
    for (size_t i = 0; i < d->nqueues; i++)
        tt_dq_call(d->group, 0, i, drv_print_conns_one, &p);
    fflush(f);
    free(s);
}

void tt_driver_print_stats(tt_driver_t *d, FILE *f)
{
    if (d->lead->group != NULL) {
        drv_print_group(d->lead, f);
        return;
    }
    if (d->faults != NULL) {
        d->ctr.fault_dropped = d->faults->dropped;
        d->ctr.fault_duplicated = d->faults->duplicated;
        d->ctr.fault_delayed = d->faults->delayed;
    }
    d->ctr.pcap_records = d->pcap != NULL  ? tt_pcap_count(d->pcap)
                          : d->cap != NULL ? tt_capture_count(d->cap)
                                           : 0;
    tt_report_print(f, d->eng, &d->ctr, drv_clock(d));
}

const char *tt_driver_ctl_path(const tt_driver_t *d, const char **why_none)
{
    if (why_none != NULL)
        *why_none = d->ctl != NULL ? NULL : d->ctl_none;
    return d->ctl != NULL ? tt_ctl_path(d->ctl) : NULL;
}

/* ---- for the control commands (drv_ctl.h) ---- */

uint64_t tt_drv_ctl_now(struct tt_driver *d)
{
    return drv_clock(d);
}

size_t tt_drv_ctl_counters(struct tt_driver *d, const char **names, uint64_t *values, size_t cap)
{
    if (d->group != NULL) {
        struct drv_sum *s = malloc(sizeof(*s));
        size_t n;
        if (s == NULL)
            return 0;
        drv_sum(d, s);
        n = s->n < cap ? s->n : cap;
        memcpy(names, s->names, n * sizeof(*names));
        memcpy(values, s->values, n * sizeof(*values));
        n = s->n;
        free(s);
        return n;
    }
    if (d->faults != NULL) {
        d->ctr.fault_dropped = d->faults->dropped;
        d->ctr.fault_duplicated = d->faults->duplicated;
        d->ctr.fault_delayed = d->faults->delayed;
    }
    d->ctr.pcap_records = d->pcap != NULL ? tt_pcap_count(d->pcap) : 0;
    return tt_report_counters(d->eng, &d->ctr, names, values, cap);
}

struct drv_each {
    void (*fn)(tt_engine_t *eng, void *ctx);
    void *ctx;
};

static void drv_each_one(void *ctx, void *arg)
{
    struct tt_driver *d = ctx;
    struct drv_each *e = arg;

    e->fn(d->eng, e->ctx);
}

void tt_drv_ctl_each_engine(struct tt_driver *d, void (*fn)(tt_engine_t *eng, void *ctx), void *ctx)
{
    struct drv_each e = {fn, ctx};

    if (d->group == NULL) {
        fn(d->eng, ctx);
        return;
    }
    for (size_t i = 0; i < d->nqueues; i++)
        tt_dq_call(d->group, 0, i, drv_each_one, &e);
}

size_t tt_drv_ctl_queues(const struct tt_driver *d)
{
    return d->nqueues;
}

/*
 * Runs fn(queue's driver, arg) for every queue in turn, each on its own
 * thread (queues.h), so that what it changes is never changed under a
 * running engine; with one queue, at once on d.
 */
static void drv_ctl_each_queue(struct tt_driver *d, void (*fn)(void *ctx, void *arg), void *arg)
{
    if (d->group == NULL) {
        fn(d, arg);
        return;
    }
    for (size_t i = 0; i < d->nqueues; i++)
        tt_dq_call(d->group, 0, i, fn, arg);
}

static int drv_ctl_fail(char *err, size_t errlen, const char *what, const char *path, int rc)
{
    snprintf(err, errlen, "%s%s: %s", what, path, strerror(-rc));
    return rc;
}

/* Queue q takes up (or drops) the lead's classic capture and trace. */
static void drv_queue_files(void *ctx, void *arg)
{
    struct tt_driver *q = ctx;

    (void)arg;
    if (q->qindex == 0)
        return;
    q->pcap = q->lead->pcap;
    q->trace = q->lead->trace;
    if (q->trace != NULL)
        tt_engine_set_event_cb(q->eng, drv_event, q); /* drv_event skips what is not running */
}

int tt_drv_ctl_pcap(struct tt_driver *d, const char *path, char *err, size_t errlen)
{
    int rc;

    if (path == NULL) {
        if (d->pcap == NULL && d->cap == NULL)
            return drv_ctl_fail(err, errlen, "pcap stop", ": no capture running", -ENOENT);
        struct pcap_writer *old = d->pcap;
        d->pcap = NULL;
        drv_ctl_each_queue(d, drv_queue_files, NULL); /* no queue writes to it any more */
        d->pcap = old;
        uv_timer_stop(&d->flush_timer);
        rc = d->pcap != NULL ? tt_pcap_close(d->pcap) : tt_capture_close(d->cap);
        d->pcap = NULL;
        d->cap = NULL;
        free(d->pcap_path);
        d->pcap_path = NULL;
        return rc < 0 ? drv_ctl_fail(err, errlen, "pcap stop", "", rc) : 0;
    }
    if (d->pcap != NULL || d->cap != NULL) {
        snprintf(err, errlen, "pcap start: a capture is running (%s): stop it first",
                 d->pcap_path != NULL ? d->pcap_path : "given at start");
        return -EBUSY;
    }
    if (d->group != NULL && drv_is_pcapng_name(path)) {
        snprintf(err, errlen,
                 "pcap start %s: the annotated pcapng capture: not with --queues %zu "
                 "(a classic .pcap holds every queue's packets)",
                 path, d->nqueues);
        return -EOPNOTSUPP;
    }
    char *copy = strdup(path);
    if (copy == NULL)
        return drv_ctl_fail(err, errlen, "pcap start ", path, -ENOMEM);
    rc = drv_is_pcapng_name(path) ? drv_open_capture_live(d, path) : tt_pcap_open(&d->pcap, path);
    if (rc < 0) {
        free(copy);
        return drv_ctl_fail(err, errlen, "pcap start ", path, rc);
    }
    d->pcap_path = copy;
    if (d->cap != NULL)
        tt_engine_set_event_cb(d->eng, drv_event, d); /* comments come from the events */
    drv_ctl_each_queue(d, drv_queue_files, NULL);
    uv_timer_start(&d->flush_timer, drv_on_flush, PCAP_FLUSH_MS, PCAP_FLUSH_MS);
    return 0;
}

int tt_drv_ctl_trace(struct tt_driver *d, const char *path, char *err, size_t errlen)
{
    struct trace_clock clk = {d->start_us, d->wall_start_us};
    int rc;

    if (path == NULL) {
        if (d->trace == NULL)
            return drv_ctl_fail(err, errlen, "trace stop", ": no trace running", -ENOENT);
        struct trace_writer *old = d->trace;
        d->trace = NULL;
        drv_ctl_each_queue(d, drv_queue_files, NULL); /* no queue writes to it any more */
        rc = tt_trace_close(old);
        d->trace = NULL;
        free(d->trace_path);
        d->trace_path = NULL;
        return rc < 0 ? drv_ctl_fail(err, errlen, "trace stop", "", rc) : 0;
    }
    if (d->trace != NULL) {
        snprintf(err, errlen, "trace start: a trace is running (%s): stop it first", d->trace_path);
        return -EBUSY;
    }
    char *copy = strdup(path);
    if (copy == NULL)
        return drv_ctl_fail(err, errlen, "trace start ", path, -ENOMEM);
    if ((rc = tt_trace_open(&d->trace, path, &clk)) < 0) {
        free(copy);
        return drv_ctl_fail(err, errlen, "trace start ", path, rc);
    }
    d->trace_path = copy;
    tt_engine_set_event_cb(d->eng, drv_event, d); /* drv_event skips what is not running */
    drv_ctl_each_queue(d, drv_queue_files, NULL);
    return 0;
}

const char *tt_drv_ctl_pcap_path(const struct tt_driver *d)
{
    return d->pcap_path;
}

const char *tt_drv_ctl_trace_path(const struct tt_driver *d)
{
    return d->trace_path;
}

/* The first rule added to a stack started without --fault makes the set and its delay pool. */
static int drv_ctl_fault_set(struct tt_driver *d, char *err, size_t errlen)
{
    if (d->faults != NULL)
        return 0;
    if ((d->faults = malloc(sizeof(*d->faults))) == NULL)
        return drv_ctl_fail(err, errlen, "fault add", "", -ENOMEM);
    tt_fault_set_init(d->faults, d->fault_seed, drv_conn_state, d);
    if (tt_delayq_init(&d->delays, DELAY_SLOTS, d->mtu) < 0) {
        free(d->faults);
        d->faults = NULL;
        return drv_ctl_fail(err, errlen, "fault add", "", -ENOMEM);
    }
    return 0;
}

static int drv_fault_add_here(struct tt_driver *d, const char *spec, size_t *idx, char *err,
                              size_t errlen)
{
    char why[200];
    char *copy;
    int rc;

    if (tt_fault_check(spec, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "fault add '%s': %s", spec, why);
        return -EINVAL;
    }
    if (d->faults != NULL && d->faults->n == TT_FAULT_MAX) {
        snprintf(err, errlen, "fault add: too many rules (at most %d)", TT_FAULT_MAX);
        return -ENOSPC;
    }
    if ((copy = strdup(spec)) == NULL)
        return drv_ctl_fail(err, errlen, "fault add", "", -ENOMEM);
    if ((rc = drv_ctl_fault_set(d, err, errlen)) < 0 ||
        (rc = tt_fault_set_add(d->faults, spec, why, sizeof(why))) < 0) {
        if (rc != -ENOMEM)
            snprintf(err, errlen, "fault add '%s': %s", spec, why);
        free(copy);
        return rc;
    }
    *idx = d->faults->n - 1;
    d->fault_spec[*idx] = copy;
    return 0;
}

static void drv_fault_del_here(struct tt_driver *d, size_t idx)
{
    size_t n = d->faults->n;

    free(d->fault_spec[idx]);
    memmove(&d->fault_spec[idx], &d->fault_spec[idx + 1], (n - idx - 1) * sizeof(char *));
    memmove(&d->faults->rule[idx], &d->faults->rule[idx + 1],
            (n - idx - 1) * sizeof(d->faults->rule[0]));
    d->fault_spec[n - 1] = NULL;
    d->faults->n--;
}

/* A rule added to (or taken from) every queue: the queues' lists stay the same. */
struct drv_fault_op {
    const char *spec; /* NULL: delete rule idx */
    size_t idx, added;
    int rc;
    bool undo; /* take the rule back from the queues that added it */
    char *err;
    size_t errlen;
};

static void drv_fault_one(void *ctx, void *arg)
{
    struct tt_driver *q = ctx;
    struct drv_fault_op *op = arg;

    if (op->undo || op->spec == NULL) {
        if (op->spec == NULL || q->qindex < op->added)
            drv_fault_del_here(q, op->idx);
        return;
    }
    if (op->rc == 0 &&
        (op->rc = drv_fault_add_here(q, op->spec, &op->idx, op->err, op->errlen)) == 0)
        op->added = q->qindex + 1;
}

int tt_drv_ctl_fault_add(struct tt_driver *d, const char *spec, size_t *idx, char *err,
                         size_t errlen)
{
    struct drv_fault_op op = {.spec = spec, .err = err, .errlen = errlen};

    drv_ctl_each_queue(d, drv_fault_one, &op);
    if (op.rc < 0 && op.added > 0) { /* only memory runs short on a later queue */
        op.undo = true;
        drv_ctl_each_queue(d, drv_fault_one, &op);
    }
    *idx = op.idx;
    return op.rc;
}

int tt_drv_ctl_fault_del(struct tt_driver *d, size_t idx, char *err, size_t errlen)
{
    size_t n = d->faults != NULL ? d->faults->n : 0;
    struct drv_fault_op op = {.spec = NULL, .idx = idx};

    if (idx >= n) {
        snprintf(err, errlen, "fault del: no rule %zu (%zu rules)", idx, n);
        return -ENOENT;
    }
    drv_ctl_each_queue(d, drv_fault_one, &op);
    return 0;
}

const char *const *tt_drv_ctl_fault_list(const struct tt_driver *d, size_t *n)
{
    *n = d->faults != NULL ? d->faults->n : 0;
    return (const char *const *)d->fault_spec;
}
