/*
 * The annotated capture (docs/contract.md §5.1, `--pcap FILE.pcapng` or
 * `--pcapng`): which record carries which comment. The driver reports each
 * packet, each engine event and each --fault action as it happens, and the
 * end of every engine call; this file ties an event to the packet that
 * caused it, and writes events that no packet carries on their own.
 *
 * Which packet an event belongs to (the engine raises events during an
 * engine call and lets the datagrams out at its end, §2.9 item 2):
 *   - in an input call, the inbound packet when it is of the event's
 *     connection; but a change that sends something (our SYN or FIN, the
 *     final ACK that enters TIME_WAIT, a RST) is told on the first outbound
 *     packet of its connection that the call sends, since that packet is
 *     the story, or on the inbound packet when the call sends none;
 *   - in a timer or application call, the first outbound packet of the
 *     event's connection that the call sends;
 *   - otherwise (TIME_WAIT expiry, FIN_WAIT_2 timeout, an orphan given up,
 *     a final ACK held by a delay fault) the event is written alone on the
 *     events interface, at its own time, when the call ends.
 * The inbound packet of an input call is therefore held until the call's
 * first outbound record, or its end, so that its comments are known.
 */
#ifndef TT_CAPTURE_H
#define TT_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "capnote.h"
#include "tuntcp/tuntcp.h"

struct capture;

struct capture_config {
    const char *path;
    const char *ifname;             /* names the packets' interface */
    struct capnote_ctx note;        /* clocks and timer lengths for the sentences */
    const char *const *fault_specs; /* the --fault specs, copied; rule i is fault_specs[i] */
    size_t fault_count;
    const char *const *inject_specs; /* the --inject specs, copied likewise */
    size_t inject_count;
};

/* Opens the pcapng file (pcapng.c). Errors: -ENOMEM, -errno of fopen, -EIO. */
int tt_capture_open(struct capture **c, const struct capture_config *cfg);

/*
 * A packet read from the device at now_us (monotonic), on its way to the
 * stack: held until the call that takes it ends or sends its first packet.
 * pkt must stay valid until then. A packet still held is written first.
 */
void tt_capture_in(struct capture *c, uint64_t now_us, const uint8_t *pkt, size_t len);

/* A packet the stack sent, written to the device (or dropped by a fault) at now_us. */
void tt_capture_out(struct capture *c, uint64_t now_us, const uint8_t *pkt, size_t len);

/* An engine event, as the event callback gets it. */
void tt_capture_event(struct capture *c, const tt_event_t *ev);

/*
 * A --fault action: on the held inbound packet when inbound, else on the
 * next outbound record (tt_capture_out), unless tt_capture_forget_out_note()
 * comes first. rule is 0-based.
 */
void tt_capture_fault(struct capture *c, int inbound, enum capnote_fault what, size_t rule,
                      uint64_t held_us);

/* The outbound packet the note was for was not written (queued, refused): drop the note. */
void tt_capture_forget_out_note(struct capture *c);

/* An engine call ended: writes the held packet and the events no packet took. */
void tt_capture_end_call(struct capture *c);

/* Errors: -EIO once a write failed. */
int tt_capture_flush(struct capture *c);

/* Ends the call under way, flushes, closes, frees. Errors as flush, or -errno of fclose. */
int tt_capture_close(struct capture *c);

/* Records written so far. */
uint64_t tt_capture_count(const struct capture *c);

#endif
