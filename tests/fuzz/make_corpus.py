#!/usr/bin/env python3
"""Writes the seed corpus of the engine fuzzer (tests/fuzz/corpus/).

Each seed is a program in the byte code that fuzz_engine.c interprets (the
encoding is in tests/fuzz/README.md): a configuration header, then opcodes
and operands. Sequence numbers are offsets from what the engine last sent, so
the seeds hold whatever ISS the engine picks, and they are reproducible:
    python3 tests/fuzz/make_corpus.py [OUTDIR]
    python3 tests/fuzz/make_corpus.py --crashes [OUTDIR]   (the bug reproducers)
Run with TT_FUZZ_TRACE=1 ./fuzz_engine corpus/<seed> to watch one play out.
"""
import os
import struct
import sys

# Opcodes, in the order of enum op in fuzz_engine.c.
(PEER, ADVANCE, ADVANCE_NEXT, INPUT, LISTEN, CONNECT, ACCEPT, WRITE, SHUTDOWN,
 CLOSE, CLOSE_RESET, LINGER, READ, LISTENER_CLOSE, LOOP, MANGLE, PING) = range(17)

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# Sequence number bases (PEER's `sel` byte, bits 0-1 for SEQ, 2-3 for ACK).
SEQ_ISN, SEQ_RCV_NXT, SEQ_PEER_HI, SEQ_ABS = 0, 1, 2, 3
ACK_ISS, ACK_SND_NXT, ACK_LAST_SEQ, ACK_ABS = 0, 1, 2, 3
OPT_TS, OPT_MSS, OPT_WS_SACKOK, OPT_SACK = 0x10, 0x20, 0x40, 0x80

# pick_flow(): bit 7 set names a tuple; our_ports index in bits 3-4.
NEW_FLOW_PORT7 = 0x80      # 10.7.0.1:41234 -> our port 7
FLOW_0 = 0x00              # the first flow the harness knows


def config(ts=False, sack=False, ws=False, rfc1337=False, tw_reuse=False,
           delack=False, ratelimit=False, manual_accept=False, msl_ms=100,
           sndbuf=2, rcvbuf=2, mtu=0, close_on_eof=False, echo=False,
           tw_cap=0, two_ports=False, retries=3, fin_timeout=0, secret=1,
           start=0):
    b0 = (ts | sack << 1 | ws << 2 | rfc1337 << 3 | tw_reuse << 4 |
          delack << 5 | ratelimit << 6 | manual_accept << 7)
    b3 = sndbuf | rcvbuf << 2 | mtu << 4 | close_on_eof << 6 | echo << 7
    b4 = tw_cap | two_ports << 2 | (retries - 1) << 3 | fin_timeout << 6
    return (bytes([b0]) + struct.pack(">H", msl_ms - 1) + bytes([b3, b4, secret]) +
            struct.pack(">H", start))


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def op(code, *operands):
    return bytes([code]) + b"".join(operands)


def u8(v):
    return bytes([v & 0xff])


def s16(v):
    return struct.pack(">h", v)


def seq_operand(base, off):
    return struct.pack(">I", off & 0xffffffff) if base == 3 else s16(off)


def peer(flow, flags, seq_base=SEQ_RCV_NXT, seq_off=0, ack_base=ACK_SND_NXT,
         ack_off=0, wnd=65535, length=0, opts=0, ts_delta=0, mss=1460, ws=7,
         sack=()):
    """PEER: flow, flags, sel, SEQ, ACK, window, length code, options."""
    sel = seq_base | ack_base << 2 | opts
    out = bytes([PEER, flow, flags, sel])
    out += seq_operand(seq_base, seq_off) + seq_operand(ack_base, ack_off)
    out += struct.pack(">H", wnd) + u8(length)
    if opts & OPT_TS:
        out += u8(ts_delta)
    if opts & OPT_MSS:
        out += struct.pack(">H", mss)
    if opts & OPT_WS_SACKOK:
        out += u8(ws)
    if opts & OPT_SACK:
        out += u8(len(sack) - 1)
        for left, right in sack:
            out += s16(left) + s16(right)
    return out


def advance(us):
    return op(ADVANCE, varint(us))


def syn_opts(cfg_ts, cfg_ws_sack):
    return (OPT_MSS | (OPT_TS if cfg_ts else 0) |
            (OPT_WS_SACKOK if cfg_ws_sack else 0))


def data_opts(cfg_ts):
    return OPT_TS if cfg_ts else 0


# ---- building blocks: the peer's side of each exchange ----

def passive_syn(ts=False, ws=False):
    """LISTEN on 7, then the peer's SYN (SEQ = its ISN, no ACK)."""
    return (op(LISTEN, u8(0x10)) +  # listener 0, port 7, backlog 2
            peer(NEW_FLOW_PORT7, SYN, SEQ_ISN, 0, ACK_ABS, 0, opts=syn_opts(ts, ws)))


def passive_established(ts=False, ws=False):
    return passive_syn(ts, ws) + peer(FLOW_0, ACK, opts=data_opts(ts))


def active_syn_ack(ts=False, ws=False):
    """CONNECT to 10.7.0.1:80; the peer answers SYN-ACK acking our SYN."""
    return (op(CONNECT, u8(0x08)) +  # 10.7.0.1, port 80
            peer(FLOW_0, SYN | ACK, SEQ_ISN, 0, ACK_SND_NXT, 0,
                 opts=syn_opts(ts, ws), mss=1460))


def exchange_data(ts=False, n=10):
    """The peer sends n bytes; we echo n bytes; the peer ACKs them."""
    return (peer(FLOW_0, ACK | PSH, length=n, opts=data_opts(ts)) +
            op(WRITE, u8(0), struct.pack(">H", n)) +
            peer(FLOW_0, ACK, opts=data_opts(ts)))


def expire_timewait(msl_ms):
    return advance(2 * msl_ms * 1000 - 1) + advance(1)


# ---- the seeds ----

def seed_active_close_fw2(ts):
    """ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> CLOSED."""
    return (config(ts=ts, msl_ms=50) + passive_established(ts) + exchange_data(ts) +
            op(CLOSE, u8(0)) +
            peer(FLOW_0, ACK, opts=data_opts(ts)) +             # ACK of our FIN
            peer(FLOW_0, FIN | ACK, opts=data_opts(ts)) +       # its FIN
            expire_timewait(50))


def seed_active_close_finack():
    """FIN_WAIT_1 -> TIME_WAIT: the peer's FIN and ACK arrive together."""
    return (config(msl_ms=20) + active_syn_ack() + exchange_data() +
            op(SHUTDOWN, u8(0)) + peer(FLOW_0, FIN | ACK) +
            expire_timewait(20) + op(CLOSE, u8(0)))


def seed_simultaneous_close():
    """FIN_WAIT_1 -> CLOSING -> TIME_WAIT: the FINs cross."""
    return (config(msl_ms=10) + passive_established() + op(CLOSE, u8(0)) +
            peer(FLOW_0, FIN | ACK, ack_off=-1) +  # its FIN, not acking ours
            peer(FLOW_0, ACK) +                     # then the ACK of our FIN
            expire_timewait(10))


def seed_passive_close():
    """ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED."""
    return (config(msl_ms=10) + passive_established() + exchange_data() +
            peer(FLOW_0, FIN | ACK) + op(CLOSE, u8(0)) + peer(FLOW_0, ACK) +
            advance(1000000))


def seed_passive_close_in_callback():
    """The application closes from inside read_cb on EOF (re-entrancy)."""
    return (config(msl_ms=10, close_on_eof=True, echo=True) + passive_established() +
            peer(FLOW_0, ACK | PSH, length=20) + peer(FLOW_0, ACK) +
            peer(FLOW_0, FIN | ACK) + peer(FLOW_0, ACK) + advance(1000000))


def seed_listen_syn():
    return config(ts=True, ws=True, sack=True) + passive_syn(True, True)


def seed_connect_synack():
    return config(ts=True, ws=True, sack=True) + active_syn_ack(True, True) + advance(100000)


def seed_linger0():
    """SO_LINGER {on, 0}: RST, no FIN, no TIME_WAIT."""
    return (config() + passive_established() + op(WRITE, u8(0), struct.pack(">H", 3000)) +
            op(LINGER, u8(0), u8(1)) + op(CLOSE, u8(0)) + advance(5000000))


def seed_close_reset():
    return (config() + active_syn_ack() + exchange_data() + op(CLOSE_RESET, u8(0)) +
            peer(FLOW_0, ACK))


def seed_linger_timeout():
    """SO_LINGER {on, 1}: the peer never ACKs our FIN; close_cb(-ETIMEDOUT)."""
    return (config(retries=8) + passive_established() + op(LINGER, u8(0), u8(0x03)) +
            op(CLOSE, u8(0)) + advance(1500000) + advance(60000000))


def seed_rst_in_timewait(rfc1337):
    """TIME_WAIT killed by a RST at RCV.NXT (tcp_rfc1337=0), or not (=1)."""
    return (config(msl_ms=500, rfc1337=rfc1337) + passive_established() +
            op(CLOSE, u8(0)) + peer(FLOW_0, ACK) + peer(FLOW_0, FIN | ACK) +
            advance(1000) + peer(FLOW_0, RST, SEQ_RCV_NXT, 0, ACK_ABS, 0, wnd=0) +
            expire_timewait(500))


def seed_dup_fin_in_timewait(ts):
    """RFC 9293 3.10.7.4 eighth step: the FIN again restarts 2MSL."""
    return (config(ts=ts, msl_ms=100) + passive_established(ts) + op(CLOSE, u8(0)) +
            peer(FLOW_0, ACK, opts=data_opts(ts)) + peer(FLOW_0, FIN | ACK, opts=data_opts(ts)) +
            advance(150000) +
            peer(FLOW_0, FIN | ACK, seq_off=-1, opts=data_opts(ts)) +  # SEG.SEQ = RCV.NXT-1
            advance(199999) + advance(1))


def seed_syn_in_timewait():
    """RFC 1122 4.2.2.13: a SYN beyond RCV.NXT reopens the 4-tuple."""
    syn = peer(FLOW_0, SYN, SEQ_RCV_NXT, 1000, ACK_ABS, 0, opts=OPT_MSS)
    return (config(msl_ms=1000) + passive_established() + op(CLOSE, u8(0)) +
            peer(FLOW_0, ACK) + peer(FLOW_0, FIN | ACK) + advance(1000) + syn +
            peer(FLOW_0, ACK) + advance(3000000))


def seed_tw_overflow():
    """tcp_max_tw_buckets = 0: TIME_WAIT skipped and counted."""
    return (config(tw_cap=1, msl_ms=100) + passive_established() + op(CLOSE, u8(0)) +
            peer(FLOW_0, ACK) + peer(FLOW_0, FIN | ACK) + advance(300000))


def seed_half_close():
    """shutdown(): FIN out, reading goes on, then the peer's data and FIN."""
    return (config(msl_ms=10) + passive_established() + op(SHUTDOWN, u8(0)) +
            peer(FLOW_0, ACK) + peer(FLOW_0, ACK | PSH, length=50) +
            peer(FLOW_0, FIN | ACK) + op(CLOSE, u8(0)) + expire_timewait(10))


def seed_ooo_and_sack():
    """Out of order data, SACK blocks, retransmission by RTO."""
    return (config(ts=True, sack=True, ws=True, msl_ms=10) + passive_established(True, True) +
            peer(FLOW_0, ACK, seq_off=100, length=100, opts=OPT_TS) +
            peer(FLOW_0, ACK, length=100, opts=OPT_TS) +
            op(WRITE, u8(0), struct.pack(">H", 20000)) +
            peer(FLOW_0, ACK, ack_base=ACK_ISS, ack_off=1 + 1460, opts=OPT_TS | OPT_SACK,
                 sack=((-4000, -2000),)) +
            op(ADVANCE_NEXT, u8(0)) + op(ADVANCE_NEXT, u8(0)) + advance(3000000))


def seed_self_connect():
    """A connection to the engine's own address, through LOOP."""
    return (config(msl_ms=10) + op(LISTEN, u8(0x04)) +  # port 80
            op(CONNECT, u8(0x0b)) +  # ENGINE_ADDR:80
            op(LOOP, u8(3), struct.pack(">H", 0)) * 3 +
            op(WRITE, u8(0), struct.pack(">H", 100)) + op(LOOP, u8(3), struct.pack(">H", 0)) * 2 +
            op(CLOSE, u8(0)) + op(LOOP, u8(7), struct.pack(">H", 0)) * 2 +
            op(CLOSE, u8(1)) + op(LOOP, u8(7), struct.pack(">H", 0)) * 3 + advance(100000))


def seed_zero_window():
    """The peer's window closes: the persist timer probes."""
    return (config() + passive_established() +
            peer(FLOW_0, ACK, wnd=0) + op(WRITE, u8(0), struct.pack(">H", 100)) +
            op(ADVANCE_NEXT, u8(0)) + op(ADVANCE_NEXT, u8(0)) + peer(FLOW_0, ACK) +
            advance(500000))


def seed_malformed():
    """A valid segment, then mangled copies and a ping."""
    return (config() + passive_established() + peer(FLOW_0, ACK | PSH, length=10) +
            op(MANGLE, struct.pack(">H", 30), u8(0x40), u8(0)) +
            op(MANGLE, struct.pack(">H", 33), u8(0xf0), u8(6)) +
            op(MANGLE, struct.pack(">H", 25), u8(0), u8(1)) +
            op(PING, u8(32)) + op(INPUT, struct.pack(">H", 4), b"\x45\x00\x00\x14"))


# ---- seeds cut from the captures in pcap/ (Linux's own segments) ----

ENGINE_ADDR = 0x0a070002  # 10.7.0.2, as in fuzz.h and the captures


def pcap_records(path):
    """(seconds, datagram) of each record of a LINKTYPE_RAW capture."""
    with open(path, "rb") as f:
        data = f.read()
    endian = "<" if struct.unpack_from("<I", data)[0] in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    nano = struct.unpack_from(endian + "I", data)[0] == 0xa1b23c4d
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(endian + "IIII", data, off)
        off += 16
        yield sec + frac / (1e9 if nano else 1e6), data[off:off + incl]
        off += incl


def seed_from_pcap(path):
    """The datagrams Linux sent to the stack in one capture, fed as INPUT with
    the capture's gaps between them (capped at 1 s). The engine listens on 7
    when the capture opens with a SYN to it, else connects to 10.7.0.1:7. Its
    ISS and port differ from the capture's, so Linux's later segments meet
    the engine's RST and challenge-ACK paths: real bytes, from the start."""
    inbound = [(t, d) for t, d in pcap_records(path)
               if len(d) >= 40 and struct.unpack_from(">I", d, 16)[0] == ENGINE_ADDR]
    if not inbound:
        return None
    first = inbound[0][1]
    ihl = (first[0] & 0x0f) * 4
    passive = first[9] == 6 and first[ihl + 13] & SYN and not first[ihl + 13] & ACK
    prog = config(ts=True, sack=True, ws=True)
    prog += op(LISTEN, u8(0x10)) if passive else op(CONNECT, u8(0x0c))
    last = inbound[0][0]
    for t, d in inbound:
        prog += advance(int(min(max(t - last, 0), 1.0) * 1e6))
        prog += op(INPUT, struct.pack(">H", len(d)), d)
        last = t
    return prog


def pcap_seeds():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pcap")
    out = {}
    for name in sorted(os.listdir(root)):
        if name.endswith(".pcap"):
            prog = seed_from_pcap(os.path.join(root, name))
            if prog:
                out["pcap_" + name[:-5].replace("-", "_")] = prog
    return out


def seeds():
    return {
        **pcap_seeds(),
        "active_close_fin_wait_2": seed_active_close_fw2(False),
        "active_close_fin_wait_2_ts": seed_active_close_fw2(True),
        "active_close_fin_ack_together": seed_active_close_finack(),
        "simultaneous_close_closing": seed_simultaneous_close(),
        "passive_close_last_ack": seed_passive_close(),
        "passive_close_in_callback": seed_passive_close_in_callback(),
        "listen_syn": seed_listen_syn(),
        "connect_syn_ack": seed_connect_synack(),
        "linger0": seed_linger0(),
        "close_reset": seed_close_reset(),
        "linger_timeout": seed_linger_timeout(),
        "rst_in_time_wait": seed_rst_in_timewait(False),
        "rst_in_time_wait_rfc1337": seed_rst_in_timewait(True),
        "dup_fin_in_time_wait": seed_dup_fin_in_timewait(False),
        "dup_fin_in_time_wait_ts": seed_dup_fin_in_timewait(True),
        "syn_in_time_wait": seed_syn_in_timewait(),
        "tw_overflow": seed_tw_overflow(),
        "half_close": seed_half_close(),
        "ooo_and_sack": seed_ooo_and_sack(),
        "self_connect": seed_self_connect(),
        "zero_window": seed_zero_window(),
        "malformed": seed_malformed(),
    }


# ---- reproducers of engine bugs found by the fuzzer (tests/fuzz/crashes/) ----
# Each is the smallest readable program that breaks one invariant; README.md
# in crashes/ gives the analysis. They become regression tests once fixed.

def crash_fin_then_ooo_data():
    """Data held out of order beyond the peer's FIN is drained into the stream,
    and the FIN is then ACKed at the end of that data: SEG.ACK beyond all the
    peer sent."""
    return (config() + passive_established() +
            peer(FLOW_0, ACK, seq_off=5, length=20) +       # held: IRS+[6, 26)
            peer(FLOW_0, FIN | ACK, length=10))             # IRS+[1, 11), FIN at 11


def crash_synrcvd_shutdown_rtx():
    """Simultaneous open, then shutdown() in SYN_RECEIVED: FIN_WAIT_1 with the
    SYN unacknowledged; the RTO retransmits 1 byte read from the send ring at
    offset -1 (UBSan: offset on a NULL pointer) instead of the SYN."""
    return (config() + op(CONNECT, u8(0x08)) +
            peer(FLOW_0, SYN, SEQ_ISN, 0, ACK_ABS, 0, opts=OPT_MSS) +
            op(SHUTDOWN, u8(0)) + op(ADVANCE_NEXT, u8(0)))


def crash_linger_close_cb_econnreset():
    """SO_LINGER {on, 1}: close, then the peer's RST (SEG.SEQ = RCV.NXT) in
    FIN_WAIT_1: close_cb gets -ECONNRESET; tuntcp.h promises 0 or -ETIMEDOUT."""
    return (config() + passive_established() + op(LINGER, u8(0), u8(0x03)) +
            op(CLOSE, u8(0)) + peer(FLOW_0, RST | ACK))


def crash_rst_with_data_before_rcv_nxt():
    """RFC 5961 3.2: a RST must carry SEG.SEQ = RCV.NXT exactly. A RST whose
    SEG.SEQ is 100 bytes old but whose payload reaches RCV.NXT is trimmed to
    RCV.NXT first, then accepted: the connection is reset."""
    return (config() + passive_established() + exchange_data() +
            peer(FLOW_0, RST | ACK, seq_off=-100, length=120))


def crash_syn_rst_before_rcv_nxt():
    """The same with SYN|FIN|RST at RCV.NXT - 1 (SEG.LEN 2 makes it
    acceptable): the SYN is trimmed away and the RST taken as exact."""
    return (config() + passive_established() +
            peer(FLOW_0, SYN | FIN | RST | ACK, seq_off=-1))


def crash_rtx_sends_unsent_data():
    """The peer offers 27 bytes; we write 100 and send 27. The RTO then
    "retransmits" 100 bytes: 73 never sent, beyond the window and beyond
    SND.NXT, which does not move. The peer's ACK of all 100 is then refused
    as acking beyond SND.NXT, and the connection times out."""
    return (config(retries=3) + passive_syn() + peer(FLOW_0, ACK, wnd=27) +
            op(WRITE, u8(0), struct.pack(">H", 100)) + op(ADVANCE_NEXT, u8(0)) +
            peer(FLOW_0, ACK, ack_base=ACK_ISS, ack_off=101) +
            op(ADVANCE_NEXT, u8(0)) * 4)


def crash_sack_blocks_overflow_mtu():
    """Timestamps and SACK agreed, MTU 1500 (MSS 1448 with timestamps). With
    out-of-order data held, every data segment also carries SACK blocks, but
    its payload is still a full MSS: a 1520-byte datagram."""
    return (config(ts=True, sack=True, ws=True) + passive_established(True, True) +
            peer(FLOW_0, ACK, seq_off=100, length=100, opts=OPT_TS) +
            peer(FLOW_0, ACK, seq_off=300, length=100, opts=OPT_TS) +
            op(WRITE, u8(0), struct.pack(">H", 20000)))


def crashes():
    return {
        "sack_blocks_overflow_mtu": crash_sack_blocks_overflow_mtu(),
        "rtx_sends_unsent_data_beyond_snd_nxt": crash_rtx_sends_unsent_data(),
        "fin_then_ooo_data_acked_beyond": crash_fin_then_ooo_data(),
        "synrcvd_shutdown_rtx_ring_offset": crash_synrcvd_shutdown_rtx(),
        "linger_close_cb_econnreset": crash_linger_close_cb_econnreset(),
        "rst_with_data_before_rcv_nxt_accepted": crash_rst_with_data_before_rcv_nxt(),
        "syn_fin_rst_before_rcv_nxt_accepted": crash_syn_rst_before_rcv_nxt(),
    }


def write_all(out, progs, suffix=""):
    os.makedirs(out, exist_ok=True)
    for name, prog in sorted(progs.items()):
        with open(os.path.join(out, name + suffix), "wb") as f:
            f.write(prog)
    print(f"{len(progs)} programs in {out}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    if len(sys.argv) > 1 and sys.argv[1] == "--crashes":
        out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "crashes")
        write_all(out, crashes(), ".bin")
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    write_all(out, seeds())


if __name__ == "__main__":
    main()
