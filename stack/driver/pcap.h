/*
 * pcap writer (docs/contract.md §5): classic libpcap format, LINKTYPE_RAW (101), so each
 * record is a bare IPv4 datagram; microsecond timestamps from the wall clock
 * (the caller supplies them). Records are buffered; the driver flushes at
 * least once a second and at exit.
 */
#ifndef TT_PCAP_H
#define TT_PCAP_H

#include <stddef.h>
#include <stdint.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_LINKTYPE_RAW 101
#define PCAP_SNAPLEN 65535
#define PCAP_GLOBAL_HDR_LEN 24
#define PCAP_RECORD_HDR_LEN 16

struct pcap_writer;

/* Creates (truncates) path and writes the global header. Errors: -errno of fopen/fwrite. */
int tt_pcap_open(struct pcap_writer **pw, const char *path);

/* Appends one record; wall_us is microseconds since the Unix epoch. */
void tt_pcap_write(struct pcap_writer *pw, uint64_t wall_us, const uint8_t *pkt, size_t len);

/* Pushes buffered records to the file. Errors: -EIO once a write failed. */
int tt_pcap_flush(struct pcap_writer *pw);

/* Flushes, closes, frees. Errors as tt_pcap_flush, or -errno of fclose. */
int tt_pcap_close(struct pcap_writer *pw);

/* Records written so far. */
uint64_t tt_pcap_count(struct pcap_writer *pw);

#endif
