/*
 * SYN cookies (RFC 4987 3.6; Linux tcp_syncookies=1): when a listener's
 * half-open queue is full, its SYN-ACK carries all the state of the
 * handshake in its ISN, and no TCB is kept. The peer's ACK brings the ISN
 * back (SEG.ACK - 1); if it verifies, the connection is built then.
 *
 * The cookie (our own layout, in the spirit of Linux's):
 *   bits 31-29  a 64-second counter, mod 8: a cookie lives two periods;
 *   bits 28-26  the index of the peer's MSS in a small table;
 *   bits 25-0   a keyed MAC of the 4-tuple, the peer's ISN and the counter.
 * With timestamps, the low 6 bits of our TSval carry the peer's window
 * scale, SACK-permitted and the ECN agreement (RFC 3168; Linux's
 * TS_OPT_ECN), which the ACK echoes in TSecr; without them a cookie
 * SYN-ACK offers only MSS and no ECN, as Linux does.
 */
#include <string.h>

#include "engine.h"
#include "siphash.h"

#define COOKIE_PERIOD (64 * SEC)
#define COOKIE_MAC_MASK 0x03ffffffu
#define TS_OPT_BITS 6
#define TS_OPT_MASK 0x3fu
#define TS_NO_WSCALE 0x0fu
#define TS_SACK 0x10u
#define TS_ECN 0x20u

static const uint16_t cookie_mss[8] = {536, 1200, 1300, 1360, 1400, 1440, 1460, 8960};

static uint32_t cookie_mac(const tt_engine_t *eng, const struct seg *s, uint32_t irs,
                           uint32_t count)
{
    uint8_t b[24];
    uint32_t w[6] = {s->saddr, s->daddr, (uint32_t)s->sport << 16 | s->dport,
                     irs,      count,    0x636f6f6b};
    memcpy(b, w, sizeof(b));
    return (uint32_t)tt_siphash24(eng->cfg.isn_secret, b, sizeof(b)) & COOKIE_MAC_MASK;
}

static uint32_t cookie_count(const tt_engine_t *eng)
{
    return (uint32_t)(eng->now / COOKIE_PERIOD);
}

/* The largest table MSS not above the peer's, so we never send more than it
 * said; below 536 the peer gets 536, as Linux's table gives (every host
 * takes 576-byte datagrams, RFC 9293 3.7.1). Our own MTU bounds it again
 * when the connection is made (tt_tcb_syn_options). */
static uint32_t mss_index(uint16_t mss)
{
    uint32_t i = 0;
    while (i + 1 < 8 && cookie_mss[i + 1] <= mss)
        i++;
    return i;
}

uint32_t tt_syncookie_isn(const tt_engine_t *eng, const struct seg *syn)
{
    uint16_t mss = syn->opt.mss_ok ? syn->opt.mss : TT_MSS_DEFAULT;
    uint32_t count = cookie_count(eng);
    return (count & 7u) << 29 | mss_index(mss) << 26 | cookie_mac(eng, syn, syn->seq, count);
}

/* The options the SYN asked for, in the low bits of a TSval not above now's. */
uint32_t tt_syncookie_tsval(const tt_engine_t *eng, const struct seg *syn, uint32_t ts_now)
{
    uint32_t opts = syn->opt.ws_ok && eng->cfg.tcp_window_scaling ? syn->opt.ws : TS_NO_WSCALE;
    if (syn->opt.sack_ok && eng->cfg.tcp_sack)
        opts |= TS_SACK;
    if (tt_ecn_syn_asks(eng, syn))
        opts |= TS_ECN;
    uint32_t ts = (ts_now & ~TS_OPT_MASK) | opts;
    if ((int32_t)(ts - ts_now) > 0)
        ts -= TS_OPT_MASK + 1;
    return ts;
}

/* Checks the cookie an ACK returns; on success fills what the SYN said. */
bool tt_syncookie_check(const tt_engine_t *eng, const struct seg *ack, struct syncookie *out)
{
    uint32_t cookie = ack->ack - 1;
    uint32_t now = cookie_count(eng);
    for (uint32_t age = 0; age < 2; age++) {
        uint32_t count = now - age;
        if ((cookie >> 29) != (count & 7u))
            continue;
        if ((cookie & COOKIE_MAC_MASK) != cookie_mac(eng, ack, ack->seq - 1, count))
            return false;
        memset(out, 0, sizeof(*out));
        out->mss = cookie_mss[(cookie >> 26) & 7u];
        if (ack->opt.ts_ok && ack->opt.ts_ecr) {
            uint32_t opts = ack->opt.ts_ecr & TS_OPT_MASK;
            out->ts_ok = true;
            out->ws_ok = (opts & TS_NO_WSCALE) != TS_NO_WSCALE;
            out->ws = (uint8_t)(opts & TS_NO_WSCALE);
            out->sack_ok = opts & TS_SACK;
            /* Linux cookie_ecn_ok(): only while tcp_ecn still agrees */
            out->ecn_ok = (opts & TS_ECN) && eng->cfg.tcp_ecn != 0;
        }
        return true;
    }
    return false;
}
