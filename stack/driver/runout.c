/*
 * The engine's GSO runs built in the pump's ring (runout.h).
 */
#include <string.h>

#include "offload.h"
#include "runout.h"

uint8_t *tt_runout_reserve(struct pump *p, size_t max, size_t *cap)
{
    uint8_t *at = tt_pump_reserve(p, OFL_VNET_LEN + max);

    if (at == NULL)
        return NULL;
    *cap = max;
    return at + OFL_VNET_LEN;
}

bool tt_runout_commit(struct pump *p, uint8_t *dgram, size_t len, uint16_t mss)
{
    struct virtio_net_hdr vh;

    if (tt_ofl_gso_finish(dgram, len, mss, &vh) == 0)
        return false; /* dropped as the copying path drops it (drv_output_gso()) */
    memcpy(dgram - OFL_VNET_LEN, &vh, OFL_VNET_LEN);
    return tt_pump_commit(p, OFL_VNET_LEN + len, true);
}
