/*
 * pcapng writer (docs/contract.md §5.1): one Section Header Block, two
 * Interface Description Blocks and Enhanced Packet Blocks, in the host's
 * byte order (the byte-order magic tells readers which). Interface 0 is the
 * TUN device (LINKTYPE_RAW, a bare IPv4 datagram a record); interface 1
 * carries events that have no packet, as Wireshark "exported PDUs"
 * (LINKTYPE_WIRESHARK_UPPER_PDU) handed to its syslog dissector, so the
 * event reads as text in the packet list. Timestamps are microseconds (the
 * default if_tsresol). Only the format lives here; which record carries
 * which comment is capture.c's business.
 */
#ifndef TT_PCAPNG_H
#define TT_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#define PCAPNG_BT_SHB 0x0A0D0D0Au
#define PCAPNG_BT_IDB 1u
#define PCAPNG_BT_EPB 6u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define PCAPNG_LINKTYPE_RAW 101
#define PCAPNG_LINKTYPE_UPPER_PDU 252 /* LINKTYPE_WIRESHARK_UPPER_PDU */
#define PCAPNG_SNAPLEN 65535
#define PCAPNG_IF_TUN 0
#define PCAPNG_IF_EVENTS 1

/* Option codes (pcapng draft, section 3.5 and 4.3). */
#define PCAPNG_OPT_END 0
#define PCAPNG_OPT_COMMENT 1
#define PCAPNG_OPT_EPB_FLAGS 2 /* also if_name for an IDB */
#define PCAPNG_OPT_IF_NAME 2
#define PCAPNG_OPT_IF_DESCRIPTION 3
#define PCAPNG_OPT_SHB_USERAPPL 4

/* epb_flags bits 0-1: the packet's direction. */
#define PCAPNG_FLAG_INBOUND 1u  /* read from the TUN device, towards the stack */
#define PCAPNG_FLAG_OUTBOUND 2u /* sent by the stack, towards the TUN device */

/* Longest comment kept; a longer one is cut (never expected: notes are short). */
#define PCAPNG_COMMENT_MAX 240

struct pcapng_writer;

/*
 * Creates (truncates) path and writes the section header and both interface
 * descriptions; ifname names interface 0. Errors: -ENOMEM, -errno of fopen,
 * -EIO when the header could not be written.
 */
int tt_pcapng_open(struct pcapng_writer **w, const char *path, const char *ifname);

/*
 * Appends one Enhanced Packet Block on interface 0: the datagram, its
 * direction (PCAPNG_FLAG_*, or 0 for none) and n comments (may be 0).
 */
void tt_pcapng_packet(struct pcapng_writer *w, uint64_t wall_us, uint32_t flags, const uint8_t *pkt,
                      size_t len, const char *const *comments, size_t n);

/*
 * Appends an event with no packet on interface 1: text both as the record's
 * syslog message and as its comment, so `tshark -Y frame.comment` lists it.
 */
void tt_pcapng_event(struct pcapng_writer *w, uint64_t wall_us, const char *text);

/* Pushes buffered records to the file. Errors: -EIO once a write failed. */
int tt_pcapng_flush(struct pcapng_writer *w);

/* Flushes, closes, frees. Errors as tt_pcapng_flush, or -errno of fclose. */
int tt_pcapng_close(struct pcapng_writer *w);

/* Records (Enhanced Packet Blocks, of both interfaces) written so far. */
uint64_t tt_pcapng_count(const struct pcapng_writer *w);

#endif
