/*
 * The engine's GSO runs built in the pump's ring (tt_engine_set_run_out()):
 * a run of new data is written by the engine where the pump will write it
 * to the device from, after room for its virtio header, and held there
 * when it closes. Without this the run is built in the engine's output
 * queue and copied into the ring at the end of the engine call: one copy
 * of every byte sent in bulk fewer.
 *
 * The driver uses it only when nothing but the device looks at what the
 * engine sends (no capture, no --fault, one queue): a capture or a fault
 * rule needs each wire segment, which the copying path cuts.
 */
#ifndef TT_RUNOUT_H
#define TT_RUNOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pump.h"

/*
 * Room in the ring for a datagram of up to max bytes (after its virtio
 * header): where the datagram starts, *cap = max; NULL when the ring has
 * no such room or the device is lost (nothing counted: the engine builds
 * the run in its output queue, which the copying path pushes and counts).
 */
uint8_t *tt_runout_reserve(struct pump *p, size_t max, size_t *cap);

/*
 * The datagram of len bytes built at dgram (tt_runout_reserve()'s) made a
 * super-segment cut into mss-byte segments, in place, and held: the same
 * bytes the copying path (tt_ofl_gso_header(), tt_pump_pushv()) holds.
 * false when it is no such datagram or the device was lost since.
 */
bool tt_runout_commit(struct pump *p, uint8_t *dgram, size_t len, uint16_t mss);

#endif
