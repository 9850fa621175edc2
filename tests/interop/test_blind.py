#!/usr/bin/env python3
"""Interop: blind in-window attacks (RFC 5961) and unpredictable ISNs and
ephemeral ports (RFC 6528, RFC 6056), against tuntcp's apps inside the
test's own network namespace.

The attacker is a raw socket (IP_HDRINCL) in the namespace that forges
segments "from" the Linux peer 10.7.0.1 to the stack; an AF_PACKET socket on
the TUN device watches both directions, so the test knows the connection's
sequence numbers as an on-path observer would, and forges segments that are
in the window but not exact, which is what a blind attacker achieves by
guessing. Checked, each on the wire, in the stack's counters and trace, and
by what the Linux peer sees:

- an in-window RST that is not exact (SEG.SEQ != RCV.NXT) gets a challenge
  ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and the connection survives (the
  echo goes on); an out-of-window RST is dropped silently (RFC 5961 3.2);
- a SYN on an established connection, in the window (at RCV.NXT or beyond),
  gets a challenge ACK and the connection survives (RFC 5961 4.2); one out
  of the window gets the same ACK (RFC 9293 3.10.7.4 first check);
- an in-window data segment whose ACK is outside [SND.UNA - MAX.SND.WND,
  SND.NXT] is dropped (RFC 5961 5.2): silently when its ACK is beyond
  SND.NXT (Linux tcp_rcv_established), with a challenge ACK when it is too
  old; its bytes are never echoed, and its timestamp does not poison
  TS.Recent;
- the exact RST (SEG.SEQ == RCV.NXT) resets: rst_in in the trace,
  TcpEstabResets, and Linux's next segment meets a RST (ECONNRESET);
- the challenge ACKs are rate-limited per connection (--tcp-invalid-ratelimit);
- made by Linux itself: a half-open connection (Linux's RST lost, then
  Linux reconnects from the same port): Linux's SYN draws a challenge ACK,
  Linux answers it with an exact RST that clears the old connection, and its
  retransmitted SYN opens a new one (RFC 5961 4 recovery);
- ISNs of 200 SYN-ACKs of echo-server to a Linux client using ports
  50000..50199 in turn, and of 200 SYNs of echo-client: all distinct, their
  differences all distinct and not explained by the 4 us clock of RFC 6528
  (the keyed hash), bits and high nibbles spread over 2^32;
- echo-client's ephemeral ports towards one peer are not sequential.
"""
import collections
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

PORT = 7
SEQ_MOD = 1 << 32
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # sll_pkttype of what the kernel sends into the TUN (Linux's segments)


def sdiff(a, b):
    """a - b as a signed 32-bit sequence difference."""
    d = (a - b) % SEQ_MOD
    return d - SEQ_MOD if d >= 1 << 31 else d


# ---- raw segments -------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


FLAG = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}


def build_segment(src, sport, dst, dport, seq, ack, flags, wnd=65535, payload=b"",
                  tsval=None, tsecr=0):
    """An IPv4 datagram holding one TCP segment with correct checksums."""
    opts = b""
    if tsval is not None:
        opts = b"\x01\x01\x08\x0a" + struct.pack("!II", tsval, tsecr)
    fl = 0
    for c in flags:
        fl |= FLAG[c]
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq % SEQ_MOD, ack % SEQ_MOD, off << 4, fl,
                      wnd, 0, 0) + opts + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0x4242, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


class Injector:
    """Sends forged datagrams through the kernel's routing: to 10.7.0.2 they
    leave by the TUN device, i.e. they reach the stack."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

    def send(self, pkt):
        self.sock.sendto(pkt, (socket.inet_ntoa(pkt[16:20]), 0))

    def close(self):
        self.sock.close()


def tcp_options(pkt):
    """{'ts': (val, ecr), 'ws': n, 'mss': n, 'sackok': True} from a datagram's TCP options."""
    ihl = (pkt[0] & 0x0F) * 4
    doff = (pkt[ihl + 12] >> 4) * 4
    opts, out, i = pkt[ihl + 20:ihl + doff], {}, 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        ln = opts[i + 1]
        body = opts[i + 2:i + ln]
        if kind == 8 and ln == 10:
            out["ts"] = struct.unpack("!II", body)
        elif kind == 3 and ln == 3:
            out["ws"] = body[0]
        elif kind == 2 and ln == 4:
            out["mss"] = struct.unpack("!H", body)[0]
        elif kind == 4 and ln == 2:
            out["sackok"] = True
        i += ln
    return out


class Seg(ti.Tcp):
    """A segment seen on the TUN device, with its options and direction."""

    def __init__(self, ts, pkt, outgoing):
        super().__init__(ts, pkt)
        self.opts = tcp_options(pkt)
        self.wnd = struct.unpack("!H", pkt[(pkt[0] & 0x0F) * 4 + 14:(pkt[0] & 0x0F) * 4 + 16])[0]
        self.from_linux = outgoing
        self.payload = pkt[(pkt[0] & 0x0F) * 4 + (pkt[(pkt[0] & 0x0F) * 4 + 12] >> 4) * 4:
                           struct.unpack("!H", pkt[2:4])[0]]

    def end(self):
        """SEG.SEQ + SEG.LEN, SYN and FIN counted."""
        return (self.seq + self.len + (1 if self.has("S") else 0)
                + (1 if self.has("F") else 0)) % SEQ_MOD


class Sniffer:
    """Every IPv4/TCP datagram crossing the TUN device, both ways, live."""

    def __init__(self, ifname="tt0"):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))
        self.sock.setblocking(False)
        self.segs = []

    def poll(self, wait=0.0):
        deadline = time.monotonic() + wait
        while True:
            try:
                pkt, addr = self.sock.recvfrom(70000)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.005)
                continue
            if len(pkt) >= 40 and pkt[0] >> 4 == 4 and pkt[9] == 6:
                self.segs.append(Seg(time.monotonic(), pkt, addr[2] == PACKET_OUTGOING))

    def since(self, mark):
        return self.segs[mark:]

    def close(self):
        self.sock.close()


def flow(segs, lport):
    """Segments of 10.7.0.1:lport <-> 10.7.0.2:PORT."""
    return [s for s in segs if (s.from_linux and s.sport == lport and s.dport == PORT) or
            (not s.from_linux and s.dport == lport and s.sport == PORT)]


class ConnView:
    """What an observer of the flow knows: the stack's SND.NXT and RCV.NXT,
    the window it offers, Linux's latest TSval, the stack's window scale."""

    def __init__(self, sniffer, lport):
        segs = flow(sniffer.segs, lport)
        ours = [s for s in segs if not s.from_linux]
        theirs = [s for s in segs if s.from_linux]
        assert ours and theirs, f"no traffic seen on port {lport}"
        synack = [s for s in ours if s.has("SA")]
        assert synack, "no SYN-ACK seen"
        self.wscale = synack[0].opts.get("ws", 0)
        last = ours[-1]
        self.snd_nxt = max((s.end() for s in ours), key=lambda v: sdiff(v, ours[0].seq))
        self.rcv_nxt = last.ack
        self.rcv_wnd = last.wnd << self.wscale
        linux_nxt = max((s.end() for s in theirs), key=lambda v: sdiff(v, theirs[0].seq))
        assert linux_nxt == self.rcv_nxt, \
            f"not quiescent: Linux sent up to {linux_nxt}, the stack acks {self.rcv_nxt}"
        ts = [s.opts["ts"][0] for s in theirs if "ts" in s.opts]
        self.linux_tsval = ts[-1] if ts else None
        self.lport = lport

    def forge(self, flags, seq, ack=None, payload=b"", tsval=None):
        return build_segment(ti.HOST_ADDR, self.lport, ti.STACK_ADDR, PORT, seq,
                             self.snd_nxt if ack is None else ack, flags, payload=payload,
                             tsval=tsval)


def is_ack_of(s, view):
    """The challenge ACK (or dup ACK) of RFC 5961: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    return (not s.from_linux and s.flags == 0x10 and s.len == 0 and s.seq == view.snd_nxt
            and s.ack == view.rcv_nxt)


# ---- a connection to attack -----------------------------------------------------

def start_server(name, *extra, seed=True):
    args = ["--msl", "500ms", "--pcap", ti.out_path(name + ".pcap"),
            "--trace", ti.out_path(name + ".jsonl"), "-v"]
    if seed:
        args += ["--seed", "7"]
    srv = ti.LoggedApp(ti.SERVER, args + list(extra), name)
    srv.wait_line("listening on")
    return srv


def stop_server(srv):
    rc = srv.stop()
    assert rc == 0, f"echo-server exit {rc}: {srv.stderr[-2000:]}"


def echo_once(sock, data, timeout=5.0):
    sock.settimeout(timeout)
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def open_conn(bind_port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ti.HOST_ADDR, bind_port))
    s.settimeout(5)
    s.connect((ti.STACK_ADDR, PORT))
    return s


def settle(sniffer, secs=0.3):
    """Lets delayed ACKs go out, then takes everything seen."""
    sniffer.poll(secs)


def est_rows(srv, lport):
    _, rows = srv.stats()
    return [r for r in rows if r[4] == f"{ti.HOST_ADDR}:{lport}"]


def inject_and_watch(inj, sniffer, view, pkt, wait=0.3):
    """Sends pkt; returns what the stack sent on the flow within wait seconds."""
    mark = len(sniffer.segs)
    inj.send(pkt)
    sniffer.poll(wait)
    return [s for s in flow(sniffer.since(mark), view.lport) if not s.from_linux]


# ---- RFC 5961 3: RST ------------------------------------------------------------

def test_rst_in_window_not_exact_gets_challenge_ack():
    """RSTs at RCV.NXT+1, +window/2, at the window's last byte and at its
    right edge (RCV.NXT+RCV.WND, inside as in Linux's tcp_sequence,
    docs/contract.md 2.4 item 2): one challenge ACK each (rate limit off),
    nothing else; the connection stays ESTABLISHED and echoes. RSTs just
    outside (RCV.NXT-1, RCV.NXT+RCV.WND+1, +2^31) get no answer at all."""
    name = "blind_rst_window"
    srv = start_server(name, "--tcp-invalid-ratelimit", "0")
    sn, inj, sock = Sniffer(), Injector(), None
    try:
        sock = open_conn(47001)
        assert echo_once(sock, b"a" * 1000) == b"a" * 1000
        settle(sn)
        view = ConnView(sn, 47001)
        assert view.rcv_wnd > 4000, f"window {view.rcv_wnd}"
        c0, _ = srv.stats()
        for off in (1, view.rcv_wnd // 2, view.rcv_wnd - 1, view.rcv_wnd):
            for flags in ("R", "RA"):
                out = inject_and_watch(inj, sn, view, view.forge(flags, view.rcv_nxt + off))
                assert len(out) == 1 and is_ack_of(out[0], view), \
                    f"RST {flags} at RCV.NXT+{off}: the stack sent {out}"
        for off in (-1, view.rcv_wnd + 1, 1 << 31):
            out = inject_and_watch(inj, sn, view, view.forge("R", view.rcv_nxt + off))
            assert out == [], f"RST at RCV.NXT{off:+d} (out of window): the stack sent {out}"
        c1, _ = srv.stats()
        assert c1["TcpExtTCPChallengeACK"] - c0["TcpExtTCPChallengeACK"] == 8, (c0, c1)
        assert c1["TcpEstabResets"] == 0 and c1["TcpOutRsts"] == 0, c1
        rows = est_rows(srv, 47001)
        assert [r[0] for r in rows] == ["ESTABLISHED"], rows
        # The connection survives: the Linux peer echoes on.
        assert echo_once(sock, b"b" * 5000) == b"b" * 5000
        sock.close()
        sock = None
        time.sleep(0.3)
    finally:
        if sock is not None:
            sock.close()
        sn.close()
        inj.close()
        stop_server(srv)
    events = ti.read_trace(name)
    assert not [e for e in events if e.get("ev") == "rst_in"], "a RST was accepted"
    conn = f"{ti.STACK_ADDR}:{PORT}>{ti.HOST_ADDR}:47001"
    closes = [(e["from"], e.get("why")) for e in events
              if e.get("ev") == "state" and e["conn"] == conn and e["to"] == "CLOSED"]
    assert closes == [("LAST_ACK", "last_ack")], closes
    ti.tshark_check(name)


def test_exact_rst_resets():
    """The RST at exactly RCV.NXT resets the connection: no answer, rst_in
    in state ESTABLISHED, CLOSED why rst_in, TcpEstabResets 1; Linux's next
    segment meets a RST, its socket sees ECONNRESET."""
    name = "blind_rst_exact"
    srv = start_server(name, "--tcp-invalid-ratelimit", "0")
    sn, inj, sock = Sniffer(), Injector(), None
    try:
        sock = open_conn(47002)
        assert echo_once(sock, b"c" * 100) == b"c" * 100
        settle(sn)
        view = ConnView(sn, 47002)
        out = inject_and_watch(inj, sn, view, view.forge("R", view.rcv_nxt, ack=0))
        assert out == [], f"the stack answered the exact RST: {out}"
        counters, rows = srv.stats()
        assert counters["TcpEstabResets"] == 1 and counters["TcpExtTCPChallengeACK"] == 0, \
            counters
        assert not [r for r in rows if r[4] == f"{ti.HOST_ADDR}:47002"], rows
        mark = len(sn.segs)
        err = None
        try:
            sock.sendall(b"d" * 10)
            sock.recv(100)
        except OSError as e:
            err = e
        assert isinstance(err, ConnectionResetError), f"Linux saw {err!r}"
        sn.poll(0.1)
        rst = [s for s in flow(sn.since(mark), 47002) if not s.from_linux]
        assert len(rst) == 1 and rst[0].has("R"), rst
    finally:
        if sock is not None:
            sock.close()
        sn.close()
        inj.close()
        stop_server(srv)
    events = ti.read_trace(name)
    conn = f"{ti.STACK_ADDR}:{PORT}>{ti.HOST_ADDR}:47002"
    rst_in = [e for e in events if e.get("ev") == "rst_in"]
    assert [(e["conn"], e["state"]) for e in rst_in] == [(conn, "ESTABLISHED")], rst_in
    closes = [(e["from"], e.get("why")) for e in events
              if e.get("ev") == "state" and e["to"] == "CLOSED"]
    assert closes == [("ESTABLISHED", "rst_in")], closes


def test_challenge_acks_rate_limited():
    """With the default --tcp-invalid-ratelimit 500ms, ten non-exact RSTs
    within 100 ms draw one challenge ACK; one more after 600 ms draws the
    next."""
    name = "blind_rst_ratelimit"
    srv = start_server(name)
    sn, inj, sock = Sniffer(), Injector(), None
    try:
        sock = open_conn(47003)
        assert echo_once(sock, b"e" * 100) == b"e" * 100
        settle(sn, 0.6)
        view = ConnView(sn, 47003)
        mark = len(sn.segs)
        for i in range(10):
            inj.send(view.forge("R", view.rcv_nxt + 10 + i))
        sn.poll(0.1)
        out = [s for s in flow(sn.since(mark), 47003) if not s.from_linux]
        assert len(out) == 1 and is_ack_of(out[0], view), out
        time.sleep(0.5)
        out = inject_and_watch(inj, sn, view, view.forge("R", view.rcv_nxt + 99))
        assert len(out) == 1 and is_ack_of(out[0], view), out
        counters, _ = srv.stats()
        assert counters["TcpExtTCPChallengeACK"] == 2 and counters["TcpEstabResets"] == 0, \
            counters
        assert echo_once(sock, b"f" * 100) == b"f" * 100
    finally:
        if sock is not None:
            sock.close()
        sn.close()
        inj.close()
        stop_server(srv)


# ---- RFC 5961 4: SYN ------------------------------------------------------------

def test_syn_on_established_gets_challenge_ack():
    """SYNs at RCV.NXT, RCV.NXT+1000 and at the window's end, with and
    without a timestamp: a challenge ACK each; one out of the window
    (RCV.NXT+2^31) an ACK too. The connection stays ESTABLISHED and echoes."""
    name = "blind_syn"
    srv = start_server(name, "--tcp-invalid-ratelimit", "0")
    sn, inj, sock = Sniffer(), Injector(), None
    try:
        sock = open_conn(47004)
        assert echo_once(sock, b"g" * 2000) == b"g" * 2000
        settle(sn)
        view = ConnView(sn, 47004)
        assert view.linux_tsval is not None, "Linux sent no timestamps"
        c0, _ = srv.stats()
        for off in (0, 1000, view.rcv_wnd - 1):
            for tsval in (None, view.linux_tsval):
                out = inject_and_watch(inj, sn, view,
                                       view.forge("S", view.rcv_nxt + off, ack=0, tsval=tsval))
                assert len(out) == 1 and is_ack_of(out[0], view), \
                    f"SYN at RCV.NXT+{off} (TSval {tsval}): the stack sent {out}"
        c1, _ = srv.stats()
        assert c1["TcpExtTCPChallengeACK"] - c0["TcpExtTCPChallengeACK"] == 6, (c0, c1)
        out = inject_and_watch(inj, sn, view, view.forge("S", view.rcv_nxt + (1 << 31), ack=0))
        assert len(out) == 1 and is_ack_of(out[0], view), f"SYN out of window: {out}"
        c2, _ = srv.stats()
        assert c2["TcpEstabResets"] == 0 and c2["TcpOutRsts"] == 0, c2
        assert [r[0] for r in est_rows(srv, 47004)] == ["ESTABLISHED"]
        assert echo_once(sock, b"h" * 5000) == b"h" * 5000
    finally:
        if sock is not None:
            sock.close()
        sn.close()
        inj.close()
        stop_server(srv)
    events = ti.read_trace(name)
    states = [(e["from"], e["to"]) for e in events if e.get("ev") == "state"]
    assert states.count(("LISTEN", "SYN_RECEIVED")) == 1, states
    assert ("ESTABLISHED", "CLOSED") not in states, states


# ---- RFC 5961 5: blind data injection ---------------------------------------------

def test_data_with_unacceptable_ack_dropped():
    """Data in the window at RCV.NXT whose ACK is beyond SND.NXT is dropped
    silently (as Linux does in ESTABLISHED); one older than SND.UNA -
    MAX.SND.WND is dropped with a challenge ACK. Their bytes are never
    echoed, and their huge TSval does not become TS.Recent (else PAWS would
    drop Linux's next segments). Linux's next bytes echo exactly."""
    name = "blind_data"
    srv = start_server(name, "--tcp-invalid-ratelimit", "0")
    sn, inj, sock = Sniffer(), Injector(), None
    try:
        sock = open_conn(47005)
        assert echo_once(sock, b"i" * 500) == b"i" * 500
        settle(sn)
        view = ConnView(sn, 47005)
        assert view.linux_tsval is not None
        evil_ts = (view.linux_tsval + (1 << 30)) % SEQ_MOD
        for ack in (view.snd_nxt + 100000, view.snd_nxt - (1 << 30)):
            out = inject_and_watch(inj, sn, view, view.forge("PA", view.rcv_nxt, ack=ack,
                                                             payload=b"EVIL" * 50,
                                                             tsval=evil_ts))
            beyond = ack == view.snd_nxt + 100000
            ok = out == [] if beyond else len(out) == 1 and is_ack_of(out[0], view)
            assert ok, f"data with ACK {ack} (SND.NXT {view.snd_nxt}): the stack sent {out}"
        data = b"j" * 4000
        try:
            got = echo_once(sock, data, timeout=3.0)
        except socket.timeout:
            got = None
        counters, _ = srv.stats()
        assert got == data and counters["TcpExtPAWSEstab"] == 0, \
            (f"Linux's next {len(data)} bytes: " +
             ("no echo within 3 s" if got is None else f"echo of {len(got)} bytes") +
             f"; TcpExtPAWSEstab {counters['TcpExtPAWSEstab']} (the injected TSval "
             f"{evil_ts} became TS.Recent?)")
        assert [r[0] for r in est_rows(srv, 47005)] == ["ESTABLISHED"]
    finally:
        if sock is not None:
            sock.close()
        sn.close()
        inj.close()
        stop_server(srv)
    echoed = [s for s in sn.segs if not s.from_linux and b"EVIL" in s.payload]
    assert not echoed, f"injected bytes echoed: {echoed}"


# ---- made by Linux: a half-open connection ------------------------------------------

def test_half_open_recovery_with_linux():
    """Linux aborts (SO_LINGER 0) but its RST is lost (--fault
    drop:in:rst:count=1): the stack still holds ESTABLISHED. Linux
    reconnects from the same port: its SYN draws a challenge ACK
    <SEQ=SND.NXT><ACK=RCV.NXT>; Linux, in SYN_SENT, answers with a RST whose
    SEQ is that ACK, i.e. exactly RCV.NXT: it resets the old connection
    (rst_in); Linux's retransmitted SYN, sent at once, opens the new one,
    which echoes."""
    name = "blind_half_open"
    srv = start_server(name, "--fault", "drop:in:rst:count=1")
    sn, s1, s2 = Sniffer(), None, None
    try:
        s1 = open_conn(47006)
        assert echo_once(s1, b"k" * 300) == b"k" * 300
        settle(sn)
        view = ConnView(sn, 47006)
        s1.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s1.close()
        s1 = None
        time.sleep(0.2)
        assert [r[0] for r in est_rows(srv, 47006)] == ["ESTABLISHED"]
        mark = len(sn.segs)
        t0 = time.monotonic()
        s2 = open_conn(47006)
        took = time.monotonic() - t0
        assert echo_once(s2, b"l" * 300) == b"l" * 300
        s2.close()
        s2 = None
        sn.poll(0.3)
        segs = flow(sn.since(mark), 47006)
        syns = [s for s in segs if s.from_linux and s.has("S")]
        assert len(syns) == 2 and syns[0].seq == syns[1].seq, syns
        first = segs.index(syns[0])
        answer = segs[first + 1]
        assert is_ack_of(answer, view), f"the SYN got {answer}"
        rst = segs[first + 2]
        assert rst.from_linux and rst.has("R") and rst.seq == view.rcv_nxt, \
            f"Linux answered {rst}, RCV.NXT {view.rcv_nxt}"
        assert segs[first + 3] is syns[1], segs[first:first + 5]
        synack = segs[first + 4]
        assert synack.has("SA") and synack.ack == (syns[1].seq + 1) % SEQ_MOD, synack
        # Linux retransmits its SYN at once after such a RST (tcp_rcv_synsent_state_process
        # re-arms the timer at TCP_TIMEOUT_MIN), not after its 1 s RTO.
        assert took < 1.0, f"connect took {took:.2f} s"
        counters, _ = srv.stats()
        assert counters["TcpEstabResets"] == 1 and counters["TcpPassiveOpens"] == 2, counters
        assert counters["TtFaultDropped"] == 1, counters
    finally:
        for s in (s1, s2):
            if s is not None:
                s.close()
        sn.close()
        stop_server(srv)
    events = ti.read_trace(name)
    conn = f"{ti.STACK_ADDR}:{PORT}>{ti.HOST_ADDR}:47006"
    seq = [(e["from"], e["to"], e.get("why")) for e in events
           if e.get("ev") == "state" and e["conn"] == conn]
    assert seq[:3] == [("LISTEN", "SYN_RECEIVED", None), ("SYN_RECEIVED", "ESTABLISHED", None),
                       ("ESTABLISHED", "CLOSED", "rst_in")], seq
    assert seq[3:5] == [("LISTEN", "SYN_RECEIVED", None),
                        ("SYN_RECEIVED", "ESTABLISHED", None)], seq
    ti.tshark_check(name)


# ---- RFC 6528 ISNs, RFC 6056 ports ---------------------------------------------------

def check_unpredictable(isns, times, what):
    """isns in the order sent, times (seconds) when each was sent."""
    n = len(isns)
    assert len(set(isns)) == n, f"{what}: {n - len(set(isns))} repeated ISNs"
    diffs = [(isns[i + 1] - isns[i]) % SEQ_MOD for i in range(n - 1)]
    assert len(set(diffs)) == len(diffs), f"{what}: repeated ISN differences"
    second = [(diffs[i + 1] - diffs[i]) % SEQ_MOD for i in range(len(diffs) - 1)]
    assert len(set(second)) == len(second), f"{what}: repeated second differences"
    # RFC 6528: ISN = M + F(4-tuple, key), M a 4 us clock. The clock alone
    # would give differences of (t1 - t0) / 4 (+- the tick): with the keyed
    # hash they are nowhere near it.
    clocklike = [i for i in range(n - 1)
                 if abs(sdiff(diffs[i], round((times[i + 1] - times[i]) * 250000))) < 1 << 20]
    assert len(clocklike) <= 3, f"{what}: {len(clocklike)} differences follow the clock"
    # Spread over 2^32: each bit set in 30%..70% of the ISNs, the top nibble
    # roughly uniform (chi-square, 15 degrees of freedom, p < 1e-5 to fail).
    for bit in range(32):
        ones = sum((x >> bit) & 1 for x in isns)
        assert 0.3 * n <= ones <= 0.7 * n, f"{what}: bit {bit} set in {ones} of {n}"
    counts = collections.Counter(x >> 28 for x in isns)
    exp = n / 16
    chi2 = sum((counts.get(k, 0) - exp) ** 2 / exp for k in range(16))
    assert chi2 < 45, f"{what}: top nibbles {sorted(counts.items())}, chi2 {chi2:.1f}"
    return chi2


def test_server_isns_unpredictable():
    """200 Linux connections from ports 50000..50199 in turn (each aborted
    at once, no TIME_WAIT): the ISNs of the stack's 200 SYN-ACKs."""
    name = "blind_isn_server"
    srv = start_server(name, seed=False)
    try:
        for port in range(50000, 50200):
            s = open_conn(port)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        time.sleep(0.2)
    finally:
        stop_server(srv)
    seed = [line for line in srv.stderr.splitlines() if ", seed " in line]
    segs = ti.tcp_segments(name)
    synacks = [s for s in segs if s.src == ti.STACK_ADDR and s.has("SA")]
    assert [s.dport for s in synacks] == list(range(50000, 50200)), \
        [s.dport for s in synacks][:10]
    chi2 = check_unpredictable([s.seq for s in synacks], [s.ts for s in synacks],
                               "echo-server SYN-ACKs")
    print(f"server ISNs: 200 SYN-ACKs, chi2 of top nibbles {chi2:.1f} ({seed[0] if seed else ''})",
          flush=True)


def test_client_isns_and_ports_unpredictable():
    """echo-client, 200 connections to one Linux peer (10.7.0.1:7): ISNs of
    its SYNs as above; its ephemeral ports are not sequential: no difference
    between consecutive ports is taken by more than half of them; another
    seed starts elsewhere."""
    name = "blind_isn_client"
    lsrv = ti.LinuxEchoServer()
    try:
        cli = ti.App(ti.CLIENT, ["--msl", "30s", "--pcap", ti.out_path(name + ".pcap"),
                                 "--count", "200", "--bytes", "1", "-v"], "echo-client")
        cli.wait(60)
        cli2 = ti.App(ti.CLIENT, ["--msl", "30s", "--count", "20", "--bytes", "1",
                                  "--trace", ti.out_path(name + "_2.jsonl"), "-v"],
                      "echo-client")
        cli2.wait(30)
    finally:
        lsrv.close()
    assert cli.rc == 0 and cli2.rc == 0, (cli.stderr[-2000:], cli2.stderr[-2000:])
    syns = [s for s in ti.tcp_segments(name) if s.src == ti.STACK_ADDR and s.has("S")]
    assert len(syns) == 200, len(syns)
    check_unpredictable([s.seq for s in syns], [s.ts for s in syns], "echo-client SYNs")
    ports = [s.sport for s in syns]
    assert len(set(ports)) == 200, "a port used twice"
    lo, hi = 32768, 60999
    assert all(lo <= p <= hi for p in ports), (min(ports), max(ports))
    steps = collections.Counter((ports[i + 1] - ports[i]) % (hi - lo + 1) for i in range(199))
    step, times = steps.most_common(1)[0]
    assert times <= 100, \
        f"ephemeral ports are sequential: {times} of 199 steps are +{step} ({ports[:12]}...)"
    events = ti.read_trace(name + "_2")
    first2 = int(next(e["conn"] for e in events if e.get("to") == "SYN_SENT")
                 .split(">")[0].split(":")[1])
    assert first2 != ports[0], "two seeds started at the same port"


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_rst_in_window_not_exact_gets_challenge_ack,
                  test_exact_rst_resets,
                  test_challenge_acks_rate_limited,
                  test_syn_on_established_gets_challenge_ack,
                  test_data_with_unacceptable_ack_dropped,
                  test_half_open_recovery_with_linux,
                  test_server_isns_unpredictable,
                  test_client_isns_and_ports_unpredictable])
