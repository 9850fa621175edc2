/*
 * Value parsers of the tuntcp command line (docs/contract.md §3.1): addresses, ports,
 * ranges, integers and 0|1 switches, as the apps' flags and the packetdrill
 * adapter's --so_flags spell them. Pure: they need nothing but libc, so the
 * packetdrill shared object builds them without the driver or libuv.
 * DURATION values are tt_duration_parse() (tuntcp/driver.h, stack/driver/duration.c).
 */
#ifndef TT_APPS_CLI_VALUES_H
#define TT_APPS_CLI_VALUES_H

#include <stdint.h>

/* Value parsers, 0 or -EINVAL (-ERANGE for a number out of [min, max]). Addresses in host order. */
int cli_parse_ipv4(const char *s, uint32_t *addr);
int cli_parse_prefix(const char *s, uint32_t *addr, uint8_t *len);     /* IPV4/LEN */
int cli_parse_hostport(const char *s, uint32_t *addr, uint16_t *port); /* IPV4:PORT */
int cli_parse_range(const char *s, uint16_t *lo, uint16_t *hi);        /* LO-HI */
int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v);
int cli_parse_bool01(const char *s, int *v);

/* "10.7.0.2" into buf of at least 16 bytes. */
const char *cli_ipv4_str(uint32_t addr, char *buf);

#endif
