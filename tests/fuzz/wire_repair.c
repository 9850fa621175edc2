/* Repairs of a fuzzed datagram (wire_repair.h). */
#include "wire_repair.h"

#include "bytes.h"
#include "checksum.h"
#include "ipv4.h"
#include "tcp_wire.h"

static void repair_l4(uint8_t *p, size_t ihl, size_t total)
{
    uint8_t *l4 = p + ihl;
    size_t l4_len = total - ihl;

    if (p[9] == IP_PROTO_TCP && l4_len >= TCP_HDR_LEN) {
        store_be16(l4 + 16, 0);
        uint32_t sum =
            tt_csum_pseudo(load_be32(p + 12), load_be32(p + 16), IP_PROTO_TCP, (uint16_t)l4_len);
        store_be16(l4 + 16, tt_csum_fold(tt_csum_add(sum, l4, l4_len)));
    } else if (p[9] == IP_PROTO_ICMP && l4_len >= 4) {
        store_be16(l4 + 2, 0);
        store_be16(l4 + 2, tt_csum_fold(tt_csum_add(0, l4, l4_len)));
    }
}

void wire_repair(uint8_t *p, size_t len, uint8_t mode)
{
    if (len < IPV4_HDR_LEN)
        return;
    if (mode & WIRE_REPAIR_TOTLEN)
        store_be16(p + 2, (uint16_t)len);
    if (mode & WIRE_REPAIR_VERSION) {
        p[0] = (uint8_t)(0x40 | (p[0] & 0x0f));
        store_be16(p + 6, load_be16(p + 6) & 0x4000); /* DF may stay */
    }
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    if ((mode & WIRE_REPAIR_IPCSUM) && ihl >= IPV4_HDR_LEN && ihl <= len) {
        store_be16(p + 10, 0);
        store_be16(p + 10, tt_csum_fold(tt_csum_add(0, p, ihl)));
    }
    size_t total = load_be16(p + 2);
    if ((mode & WIRE_REPAIR_L4CSUM) && ihl >= IPV4_HDR_LEN && total <= len && ihl <= total)
        repair_l4(p, ihl, total);
}
