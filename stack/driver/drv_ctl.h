/*
 * What the driver (loop.c) offers the control commands (ctl_cmd.c): its
 * clock, its counters, and starting and stopping its capture, trace and
 * fault rules while it runs. Private to the driver.
 */
#ifndef TT_DRV_CTL_H
#define TT_DRV_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "tuntcp/tuntcp.h"

struct tt_driver;
struct ctl_buf;

/* The driver's clock, the engine's time base (µs). */
uint64_t tt_drv_ctl_now(struct tt_driver *d);

/*
 * Every counter, the engine's then the driver's, as tt_driver_print_stats()
 * prints them: up to cap names and values; returns how many there are.
 */
size_t tt_drv_ctl_counters(struct tt_driver *d, const char **names, uint64_t *values, size_t cap);

/*
 * Calls fn with each queue's engine in turn, on that queue's thread
 * (queues.h): with one queue, the engine, at once. Counters above are the
 * sums over the queues.
 */
void tt_drv_ctl_each_engine(struct tt_driver *d, void (*fn)(tt_engine_t *eng, void *ctx),
                            void *ctx);
/* How many queues the stack runs (--queues). */
size_t tt_drv_ctl_queues(const struct tt_driver *d);
/*
 * Queue i of n's share of a whole-stack configuration (loop.c): its slice of
 * ip_local_port_range and of tcp_max_tw_buckets; every other knob as given.
 */
void tt_drv_queue_slice(tt_config_t *ecfg, size_t i, size_t n);

/* Starts (path) or stops (NULL) the capture or the trace. On error writes the reason into err. */
int tt_drv_ctl_pcap(struct tt_driver *d, const char *path, char *err, size_t errlen);
int tt_drv_ctl_trace(struct tt_driver *d, const char *path, char *err, size_t errlen);
/* The file being written, or NULL. */
const char *tt_drv_ctl_pcap_path(const struct tt_driver *d);
const char *tt_drv_ctl_trace_path(const struct tt_driver *d);

/* With several queues the four below refuse (-EOPNOTSUPP): the capture,
 * trace and rules of such a stack are set at start only. */
/* Fault rules: add one (its index in *idx), delete rule idx (the later ones move down), list. */
int tt_drv_ctl_fault_add(struct tt_driver *d, const char *spec, size_t *idx, char *err,
                         size_t errlen);
int tt_drv_ctl_fault_del(struct tt_driver *d, size_t idx, char *err, size_t errlen);
/* The specs as given, in order: *n of them. */
const char *const *tt_drv_ctl_fault_list(const struct tt_driver *d, size_t *n);

#endif
