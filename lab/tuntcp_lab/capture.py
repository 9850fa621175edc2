"""Reading what the apps wrote: the trace (JSON Lines, docs/contract.md §4)
and the capture (docs/contract.md §5; classic pcap or pcapng, LINKTYPE_RAW).
"""
import json
import socket
import struct

from .netns import STACK_ADDR


def read_trace(path):
    """Every event of a trace file, in order."""
    events = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                events.append(json.loads(line))
    return events


def states(events):
    """The state changes: dicts with t, conn, from, to, why (docs/contract.md §4.2)."""
    return [e for e in events if e.get("ev") == "state"]


def timewait_spans(events):
    """One dict per TIME_WAIT: conn, start (t of entry), end (t of leaving, or
    None), why it ended, restarts (the t of each timewait_restart)."""
    spans, open_ = [], {}
    for e in events:
        conn = e.get("conn")
        if e.get("ev") == "state" and e.get("to") == "TIME_WAIT":
            open_[conn] = {"conn": conn, "start": e["t"], "end": None, "why": None,
                           "restarts": []}
            spans.append(open_[conn])
        elif e.get("ev") == "timewait_restart" and conn in open_:
            open_[conn]["restarts"].append(e["t"])
        elif e.get("ev") == "state" and e.get("from") == "TIME_WAIT" and conn in open_:
            span = open_.pop(conn)
            span["end"], span["why"] = e["t"], e.get("why")
    return spans


def _packets_pcap(blob):
    endian = "<" if struct.unpack("<I", blob[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = struct.unpack(endian + "I", blob[:4])[0] == 0xA1B23C4D
    linktype = struct.unpack(endian + "I", blob[20:24])[0]
    off, pkts = 24, []
    while off + 16 <= len(blob):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", blob[off:off + 16])
        off += 16
        pkts.append((sec + frac / (1e9 if nano else 1e6), blob[off:off + incl],
                     {"direction": None, "comments": []}))
        off += incl
    return linktype, pkts


def _packets_pcapng(blob):
    """Enhanced packet blocks of a pcapng file: (ts, data, direction or None)."""
    endian = "<" if blob[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    off, pkts, linktype, tsres = 0, [], None, 1e-6
    while off + 12 <= len(blob):
        btype, blen = struct.unpack(endian + "II", blob[off:off + 8])
        if blen < 12:
            break
        body = blob[off + 8:off + blen - 4]
        if btype == 1:  # interface description
            linktype = struct.unpack(endian + "H", body[:2])[0]
            opts = body[8:]
            while len(opts) >= 4:
                code, olen = struct.unpack(endian + "HH", opts[:4])
                if code == 0:
                    break
                if code == 9 and olen >= 1:  # if_tsresol
                    v = opts[4]
                    tsres = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
                opts = opts[4 + ((olen + 3) & ~3):]
        elif btype == 6:  # enhanced packet
            _, hi, lo, caplen, _ = struct.unpack(endian + "IIIII", body[:20])
            data = body[20:20 + caplen]
            meta = {"direction": None, "comments": []}
            opts = body[20 + ((caplen + 3) & ~3):]
            while len(opts) >= 4:
                code, olen = struct.unpack(endian + "HH", opts[:4])
                if code == 0:
                    break
                if code == 1:  # opt_comment
                    meta["comments"].append(opts[4:4 + olen].decode("utf-8", "replace"))
                if code == 2 and olen == 4:  # epb_flags: bits 0-1 direction
                    d = struct.unpack(endian + "I", opts[4:8])[0] & 3
                    meta["direction"] = {1: "in", 2: "out"}.get(d)
                opts = opts[4 + ((olen + 3) & ~3):]
            pkts.append((((hi << 32) | lo) * tsres, data, meta))
        off += blen
    return linktype, pkts


def read_packets(path):
    """(linktype, [(ts seconds, IPv4 datagram bytes, meta)]); meta is
    {"direction": "in"/"out"/None, "comments": [str]} (pcapng only)."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:4] == b"\x0a\x0d\x0d\x0a":
        return _packets_pcapng(blob)
    return _packets_pcap(blob)


class Tcp:
    """One TCP segment of a capture; frame is its 1-based frame number."""
    FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}

    def __init__(self, frame, ts, pkt, comments=()):
        ihl = (pkt[0] & 0x0F) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        seg = pkt[ihl:total]
        self.frame = frame
        self.ts = ts
        self.src = socket.inet_ntoa(pkt[12:16])
        self.dst = socket.inet_ntoa(pkt[16:20])
        self.out = self.src == STACK_ADDR  # sent by tuntcp
        self.comments = list(comments)  # pcapng frame comments
        self.sport, self.dport, self.seq, self.ack = struct.unpack("!HHII", seg[:12])
        self.flags = seg[13]
        self.len = len(seg) - (seg[12] >> 4) * 4

    def has(self, letters):
        return all(self.flags & self.FLAGS[c] for c in letters)

    def only(self, letters):
        """Exactly these flags among F, S, R, A (P ignored)."""
        want = sum(self.FLAGS[c] for c in letters)
        return self.flags & 0x17 == want

    def __repr__(self):
        names = "".join(c for c, b in self.FLAGS.items() if self.flags & b)
        return (f"frame {self.frame} {self.src}:{self.sport}>{self.dst}:{self.dport} "
                f"[{names}] seq={self.seq} ack={self.ack} len={self.len}")


def _off_the_wire(meta):
    """A pcapng record that the wire between Linux and the stack never
    carried as such: an outbound packet a --fault rule dropped, or the second
    record of an inbound packet a rule held or copied (its arrival is the
    first). Skipping them gives the classic capture's view."""
    notes = " ".join(meta.get("comments") or [])
    if meta.get("direction") == "out":
        return "dropped by --fault" in notes
    return "released after" in notes or "copy made by --fault" in notes


def segments(path, wire=True):
    """The TCP segments of a capture, in frame order (frame numbers are the
    file's). wire=False keeps the records of docs/contract.md §5.1 item 5
    that never crossed the wire (see _off_the_wire)."""
    _, pkts = read_packets(path)
    segs = []
    for i, (ts, pkt, meta) in enumerate(pkts):
        if wire and _off_the_wire(meta):
            continue
        if len(pkt) >= 40 and pkt[0] >> 4 == 4 and pkt[9] == 6:
            segs.append(Tcp(i + 1, ts, pkt, meta["comments"]))
    return segs
