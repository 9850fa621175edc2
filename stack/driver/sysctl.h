/*
 * The live knobs under Linux's sysctl names (docs/contract.md §10.4): the
 * table that maps net.ipv4.* and tuntcp.* to fields of tt_config_t, with
 * the values parsed and printed as the apps' flags spell them
 * (docs/contract.md §3.1). Pure: no libuv, no system call.
 */
#ifndef TT_SYSCTL_H
#define TT_SYSCTL_H

#include <stddef.h>

#include "tuntcp/tuntcp.h"

/* Number of knobs; tt_sysctl_name(i) for i below it, in the order `sysctl -a` lists them. */
size_t tt_sysctl_count(void);
const char *tt_sysctl_name(size_t i);
/* The index of name, or -ENOENT. */
int tt_sysctl_find(const char *name);

/* Knob i's value in cfg, in the flag syntax ("60s", "0", "32768-60999"), into buf. */
void tt_sysctl_format(size_t i, const tt_config_t *cfg, char *buf, size_t cap);

/*
 * Parses value for knob i into cfg. On error writes the reason, naming
 * the knob and the value, into err and leaves cfg as it was. Errors: -EINVAL.
 */
int tt_sysctl_parse(size_t i, const char *value, tt_config_t *cfg, char *err, size_t errlen);

#endif
