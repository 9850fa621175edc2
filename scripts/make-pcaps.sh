#!/usr/bin/env bash
# Regenerates the reference captures in pcap/ and their guide, pcap/README.md:
#
#   bash scripts/make-pcaps.sh
#
# One capture per close scenario, each a single connection between tuntcp's
# echo-server (10.7.0.2:7) and a Linux client (python3 socket, 10.7.0.1), on
# a TUN device in a private network namespace this script makes (`unshare -n`
# as root, `unshare -rn` otherwise); nothing is sent outside it.
#
#   passive-close       Linux closes first; tuntcp: CLOSE_WAIT -> LAST_ACK
#   active-close        tuntcp closes first (--close-after) and holds TIME_WAIT
#   simultaneous-close  both FINs cross (made with --fault delays on tuntcp's side)
#   linger0             tuntcp aborts (--linger0): RST, no FIN, no TIME_WAIT
#   lost-final-ack      tuntcp's final ACK is lost once: Linux resends its FIN,
#                       tuntcp ACKs it again and restarts 2*MSL
#
# Each run is checked (the trace, the wire, Linux's `ss`, tshark: nothing
# malformed, checksums right) before anything in pcap/ is replaced. Needs the
# apps (built here in build/ if absent; BUILD_DIR=... to use another build),
# python3 and tshark. Takes about 15 s; bounded to 120 s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

if [ "${1:-}" != "--in-netns" ]; then
    for tool in python3 tshark ip ss; do
        command -v $tool >/dev/null || {
            echo "make-pcaps: $tool is missing (apt-get install python3 tshark iproute2)" >&2
            exit 1
        }
    done
    mkdir -p "$BUILD"
    if ! { if [ ! -f "$BUILD/CMakeCache.txt" ]; then
        cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTT_SANITIZE=OFF; fi &&
        cmake --build "$BUILD" -j"$(nproc)" --target echo-server echo-client; } \
        >"$BUILD/make-pcaps-build.log" 2>&1; then
        tail -n 30 "$BUILD/make-pcaps-build.log"
        echo "make-pcaps: the build failed (log: $BUILD/make-pcaps-build.log)" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then ns=(unshare -n); else ns=(unshare -rn); fi
    "${ns[@]}" true || {
        echo "make-pcaps: cannot create a network namespace with '${ns[*]}'" >&2
        exit 1
    }
    exec timeout -k 5 120 "${ns[@]}" bash "$0" --in-netns
fi

ip link set lo up
exec python3 - "$ROOT" "$BUILD" <<'PY'
import json, os, shutil, subprocess, sys, tempfile, time

ROOT, BUILD = sys.argv[1:3]
TMP = tempfile.mkdtemp(prefix="tt-pcaps-")
os.environ["TT_BUILD_DIR"] = BUILD
os.environ["TT_OUT_DIR"] = TMP
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))
import ttinterop as ti  # noqa: E402  the interop tests' helpers

PCAP_DIR = os.path.join(ROOT, "pcap")
MSL = 1.0
DATA = b"tuntcp " * 14 + b"!\n"  # 100 bytes


COMMANDS = {}


def server(name, *extra):
    args = ["--max-conns", "1"] + list(extra)
    COMMANDS[name] = " ".join(["echo-server", "--msl", "1s", "--seed", "7"] + args +
                              ["--pcap", name + ".pcap", "--trace", name + ".jsonl"])
    return ti.start_server(name, *args, msl="1s")


def finish(srv, timeout=10):
    """echo-server --max-conns 1 exits by itself once the connection is gone."""
    rc = srv.wait(timeout)
    assert rc == 0, f"echo-server exit {rc}: {srv.stderr}"


# ---- reading one capture --------------------------------------------------------

class Capture:
    def __init__(self, name):
        self.name = name
        self.frames = []  # (number, Tcp)
        _, pkts = ti.read_pcap(ti.out_path(name + ".pcap"))
        self.t0 = pkts[0][0]
        for n, (ts, p) in enumerate(pkts, 1):
            assert len(p) >= 40 and p[9] == 6, f"{name}: frame {n} is not TCP"
            self.frames.append((n, ti.Tcp(ts, p)))
        self.isn = {}
        for _, s in self.frames:
            if s.has("S"):
                self.isn.setdefault(s.src, s.seq)
        self.events = ti.read_trace(name)

    def who(self, s):
        return "tuntcp" if s.src == ti.STACK_ADDR else "Linux"

    def rel(self, s):
        return s.ts - self.t0

    def rseq(self, s):
        return (s.seq - self.isn[s.src]) % 2**32

    def rack(self, s):
        return (s.ack - self.isn[s.dst]) % 2**32 if s.has("A") else 0

    def find(self, pred):
        return [(n, s) for n, s in self.frames if pred(s)]

    def fins(self, src):
        return self.find(lambda s: s.has("F") and s.src == src)

    def states(self):
        return [(e["t"], e["from"], e["to"], e.get("why")) for e in self.events
                if e.get("ev") == "state"]

    def at(self, frm, to):
        hits = [t for t, f, tt, _ in self.states() if f == frm and tt == to]
        assert hits, f"{self.name}: no {frm} -> {to} in the trace"
        return hits[0]

    def listing(self, roles):
        rows = []
        for n, s in self.frames:
            flags = ", ".join(name for c, name in (("S", "SYN"), ("F", "FIN"), ("R", "RST"),
                                                   ("P", "PSH"), ("A", "ACK")) if s.has(c))
            arrow = "tuntcp -> Linux " if s.src == ti.STACK_ADDR else "Linux  -> tuntcp"
            row = (f"{n:>3}  {self.rel(s):9.6f}  {arrow}  [{flags}] seq={self.rseq(s)} "
                   f"ack={self.rack(s)} len={s.len}")
            if n in roles:
                row = f"{row:<72} <- {roles[n]}"
            rows.append(row.rstrip())
        return rows

    def trace_lines(self):
        out = []
        for e in self.events:
            if e.get("ev") == "start":
                continue  # the run's start; the listing counts from it already
            if e.get("ev") == "state":
                why = f' ({e["why"]})' if e.get("why") else ""
                out.append(f'{e["t"]:>9.6f}  {e["from"]} -> {e["to"]}{why}')
            elif e.get("ev") == "timewait_restart":
                out.append(f'{e["t"]:>9.6f}  timewait_restart, expires at {e["expires"]}')
            else:
                rest = {k: v for k, v in e.items() if k not in ("t", "ts", "ev", "conn")}
                out.append(f'{e["t"]:>9.6f}  {e["ev"]} {json.dumps(rest)}')
        return out


# ---- the scenarios: each runs, checks, and returns its guide ------------------------

def passive_close():
    """Linux closes first: tuntcp is the passive closer, Linux holds TIME_WAIT."""
    name = "passive-close"
    srv = server(name)
    got, err, local = ti.linux_echo(DATA, close_first=True)
    assert err is None and got == DATA, (got, err)
    time.sleep(0.2)
    linux_tw = [r for r in ti.ss_states("time-wait") if r[0] == local]
    finish(srv)
    c = Capture(name)
    (lf_n, lf), = c.fins(ti.HOST_ADDR)
    (sf_n, sf), = c.fins(ti.STACK_ADDR)
    assert lf_n < sf_n
    # Linux tcp_fin() only schedules the ACK of a FIN that ends ESTABLISHED;
    # echo-server closes at once on EOF, so its FIN carries that ACK.
    assert sf.ack == lf.seq + 1, "tuntcp's FIN does not ACK Linux's FIN"
    alone = c.find(lambda s: s.src == ti.STACK_ADDR and not s.has("F") and
                   s.ack == lf.seq + 1)
    assert not alone, f"tuntcp ACKed Linux's FIN alone (frame {alone[0][0]}): four segments"
    (fin_ack_n, fa), = c.find(lambda s: s.src == ti.HOST_ADDR and not s.has("F") and
                              s.ack == sf.seq + 1)
    assert linux_tw, "Linux holds no TIME_WAIT"
    t_cw = c.at("ESTABLISHED", "CLOSE_WAIT")
    t_la = c.at("CLOSE_WAIT", "LAST_ACK")
    t_cl = c.at("LAST_ACK", "CLOSED")
    roles = {lf_n: "Linux's FIN: Linux closes first (FIN_WAIT_1)",
             sf_n: "tuntcp's FIN, with the ACK of Linux's: LAST_ACK",
             fin_ack_n: "final ACK, from Linux: Linux in TIME_WAIT, tuntcp CLOSED"}
    guide = [
        "Linux closes first; tuntcp is the passive closer and never enters TIME_WAIT.",
        "Three segments close the connection, as between two Linux hosts: the ACK of",
        "Linux's FIN waits (Linux `tcp_fin()`: a delayed ACK, docs/contract.md §2.1",
        "item 6), the application closes at once on EOF, and its FIN carries that ACK.",
        "",
        f"- frame {lf_n}: Linux's FIN (Linux: FIN_WAIT_1); tuntcp goes to CLOSE_WAIT",
        f"  (trace t={t_cw:.6f}) and schedules its ACK; the app reads EOF and closes;",
        f"- frame {sf_n}: tuntcp's FIN, which ACKs Linux's, sent in LAST_ACK "
        f"(trace t={t_la:.6f});",
        f"- frame {fin_ack_n}: the final ACK, from Linux: tuntcp goes LAST_ACK -> CLOSED "
        f"(why `last_ack`, t={t_cl:.6f}).",
        "- TIME_WAIT is Linux's: `ss -tan state time-wait` in the namespace showed "
        f"{linux_tw[0][0]} -> {linux_tw[0][1]}, for Linux's fixed 60 s.",
    ]
    return name, "Passive close (tuntcp closes second)", roles, c, guide


def active_close():
    """tuntcp closes first (--close-after) and holds TIME_WAIT for 2*MSL."""
    name = "active-close"
    srv = server(name, "--close-after", str(len(DATA)))
    got, err, local = ti.linux_echo(DATA, close_first=False)
    assert err is None and got == DATA, (got, err)
    time.sleep(0.2)
    assert not [r for r in ti.ss_states("time-wait") if r[0] == local], "Linux holds TIME_WAIT"
    finish(srv)
    c = Capture(name)
    (sf_n, sf), = c.fins(ti.STACK_ADDR)
    (lf_n, lf), = c.fins(ti.HOST_ADDR)
    assert sf_n < lf_n
    (fa_n, fa), = c.find(lambda s: s.src == ti.STACK_ADDR and not s.has("F") and
                         s.ack == lf.seq + 1)
    t_fw1 = c.at("ESTABLISHED", "FIN_WAIT_1")
    via_fw2 = any(f == "FIN_WAIT_2" for _, f, _, _ in c.states())
    t_tw = c.at("FIN_WAIT_2" if via_fw2 else "FIN_WAIT_1", "TIME_WAIT")
    t_end = c.at("TIME_WAIT", "CLOSED")
    lasted = t_end - t_tw
    assert 2 * MSL <= lasted < 2 * MSL + 0.050, lasted
    roles = {sf_n: "tuntcp's FIN: tuntcp closes first (FIN_WAIT_1)",
             lf_n: "Linux's FIN" + ("" if via_fw2 else ", with the ACK of tuntcp's FIN"),
             fa_n: "final ACK: tuntcp in TIME_WAIT, 2*MSL starts"}
    ack_of_ours = c.find(lambda s: s.src == ti.HOST_ADDR and not s.has("F") and
                         s.ack == sf.seq + 1)
    if ack_of_ours:
        roles[ack_of_ours[0][0]] = "Linux ACKs tuntcp's FIN: CLOSE_WAIT"
    guide = [
        "echo-server --close-after 100: tuntcp closes first and holds TIME_WAIT for 2*MSL",
        "(--msl 1s: 2 s); Linux, the passive closer, holds none.",
        "",
        f"- frame {sf_n}: tuntcp's FIN (ESTABLISHED -> FIN_WAIT_1, trace t={t_fw1:.6f});",
        f"- frame {lf_n}: Linux's FIN, " + (
            f"after its ACK of ours in frame {ack_of_ours[0][0]} (tuntcp: FIN_WAIT_2)"
            if ack_of_ours else f"which also ACKs ours (ack={c.rack(lf)})") + ":",
        f"  tuntcp goes {'FIN_WAIT_2' if via_fw2 else 'FIN_WAIT_1'} -> TIME_WAIT "
        f"(t={t_tw:.6f});",
        f"- frame {fa_n}, at {c.rel(fa):.6f} s: the final ACK, sent in TIME_WAIT; 2*MSL counts "
        "from here;",
        f"- TIME_WAIT ends with no packet at all: the trace's TIME_WAIT -> CLOSED "
        f"(timewait_expired) at t={t_end:.6f}, {lasted:.6f} s after it began,",
        f"  i.e. near {c.rel(fa) + lasted:.3f} s on the capture's clock. A segment for this "
        "4-tuple after that would meet a RST.",
    ]
    return name, "Active close (tuntcp closes first, holds TIME_WAIT)", roles, c, guide


def simultaneous_close():
    """Both FINs cross. tuntcp's FIN is held 100 ms on its way out (a slow wire);
    the Linux client closes as soon as it has the echo, so its FIN leaves before
    tuntcp's arrives. tuntcp's ACK of Linux's FIN, sent in CLOSING, is held
    150 ms so that it too arrives after tuntcp's FIN: each side gets the
    other's FIN without the ACK of its own, and both go through CLOSING."""
    name = "simultaneous-close"
    srv = server(name, "--close-after", str(len(DATA)),
                 "--fault", "delay=100ms:out:fin",
                 "--fault", "delay=150ms:out:ack:state=CLOSING")
    got, err, local = ti.linux_echo(DATA, close_first=True)
    assert err is None and got == DATA, (got, err)
    linux_closing = False
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.4 and not linux_closing:
        linux_closing = any(r[0] == local for r in ti.ss_states("closing"))
    time.sleep(0.2)
    linux_tw = [r for r in ti.ss_states("time-wait") if r[0] == local]
    finish(srv)
    c = Capture(name)
    (lf_n, lf), = c.fins(ti.HOST_ADDR)
    (sf_n, sf), = c.fins(ti.STACK_ADDR)
    # crossed: neither FIN acknowledges the other
    assert lf.ack == sf.seq and sf.ack == lf.seq, (lf, sf)
    (la_n, la), = c.find(lambda s: s.src == ti.HOST_ADDR and not s.has("F") and
                         s.ack == sf.seq + 1)
    (sa_n, sa), = c.find(lambda s: s.src == ti.STACK_ADDR and not s.has("F") and
                         s.ack == lf.seq + 1)
    t_fw1 = c.at("ESTABLISHED", "FIN_WAIT_1")
    t_cl = c.at("FIN_WAIT_1", "CLOSING")
    t_tw = c.at("CLOSING", "TIME_WAIT")
    t_end = c.at("TIME_WAIT", "CLOSED")
    assert linux_tw, "Linux holds no TIME_WAIT: not a simultaneous close"
    assert linux_closing, "ss never saw Linux in CLOSING"
    roles = {lf_n: "Linux's FIN (Linux: FIN_WAIT_1); tuntcp's is already on its way",
             sf_n: "tuntcp's FIN, sent before Linux's arrived (held 100 ms)",
             la_n: "Linux ACKs tuntcp's FIN from CLOSING: tuntcp -> TIME_WAIT",
             sa_n: "tuntcp's ACK of Linux's FIN (sent in CLOSING): Linux -> TIME_WAIT"}
    guide = [
        "Both sides close at once and both FINs are in flight together: neither FIN",
        "acknowledges the other, both sides go FIN_WAIT_1 -> CLOSING -> TIME_WAIT, and",
        "both hold TIME_WAIT. On a fast link two closes rarely cross, so the wire is",
        "slowed on tuntcp's side: `--fault delay=100ms:out:fin` holds tuntcp's FIN for",
        "100 ms, and `--fault delay=150ms:out:ack:state=CLOSING` holds its ACK of Linux's",
        "FIN (that ACK is sent in CLOSING) so it arrives after the FIN. The Linux client",
        "closes as soon as it has read the echo, while tuntcp's FIN is still held.",
        "The capture is taken at the TUN device, i.e. at Linux's end of the slow wire:",
        "tuntcp's FIN shows when it reaches Linux.",
        "",
        f"- tuntcp closes first: ESTABLISHED -> FIN_WAIT_1 at t={t_fw1:.6f}; its FIN is held;",
        f"- frame {lf_n}: Linux's FIN; its ack is tuntcp's FIN's sequence number, not one "
        "more: Linux has not seen that FIN;",
        f"  tuntcp: FIN_WAIT_1 -> CLOSING (t={t_cl:.6f}): a FIN that does not ACK its own;",
        f"- frame {sf_n}: tuntcp's FIN, released 100 ms after it was sent; it does not ACK "
        "Linux's FIN either (ack = Linux's FIN's seq);",
        "  Linux goes to CLOSING (ss showed the socket in CLOSING);",
        f"- frame {la_n}: Linux ACKs tuntcp's FIN: tuntcp CLOSING -> TIME_WAIT (t={t_tw:.6f});",
        f"- frame {sa_n}: tuntcp's ACK of Linux's FIN: Linux CLOSING -> TIME_WAIT;",
        f"- tuntcp's TIME_WAIT ends at t={t_end:.6f} ({t_end - t_tw:.6f} s: 2*MSL); Linux's "
        "(ss: " + f"{linux_tw[0][0]} -> {linux_tw[0][1]}" + ") would last 60 s.",
    ]
    return name, "Simultaneous close (both FINs cross, both sides hold TIME_WAIT)", roles, c, guide


def linger0():
    """SO_LINGER {on, 0}: tuntcp aborts with RST|ACK: no FIN, no TIME_WAIT."""
    name = "linger0"
    srv = server(name, "--close-after", str(len(DATA)), "--linger0")
    got, err, local = ti.linux_echo(DATA, close_first=False)
    assert isinstance(err, ConnectionResetError), repr(err)
    time.sleep(0.2)
    assert not [r for r in ti.ss_states("time-wait") if r[0] == local], "Linux holds TIME_WAIT"
    finish(srv)
    c = Capture(name)
    assert not c.find(lambda s: s.has("F") and s.src == ti.STACK_ADDR), "tuntcp sent a FIN"
    rsts = c.find(lambda s: s.has("R"))
    assert rsts and rsts[0][1].src == ti.STACK_ADDR and rsts[0][1].has("A"), rsts
    rn, r = rsts[0]
    data_out = c.find(lambda s: s.src == ti.STACK_ADDR and s.len > 0)
    t_rst = [e["t"] for e in c.events if e.get("ev") == "rst_out"][0]
    roles = {rn: "RST|ACK from tuntcp: the abort (seq = SND.NXT, ack = RCV.NXT)"}
    for n, s in rsts[1:]:
        roles[n] = f"RST from {c.who(s)}"
    guide = [
        "echo-server --close-after 100 --linger0: after the echo the app closes with",
        "SO_LINGER {on, 0}: an abortive close. No FIN, no TIME_WAIT on either side; the",
        "Linux client's read fails with ECONNRESET (Connection reset by peer).",
        "",
        f"- frame {data_out[-1][0]}: the echo, the last data tuntcp sends;",
        f"- frame {rn}: the RST, with ACK: seq = SND.NXT ({c.rseq(r)}), ack = RCV.NXT "
        f"({c.rack(r)}), as Linux sends it;",
        f"  the trace: rst_out (why `linger0`) and ESTABLISHED -> CLOSED (why `rst_out`) at "
        f"t={t_rst:.6f};",
        "- no frame after it carries a FIN, and `ss -tan state time-wait` was empty.",
    ]
    if len(rsts) > 1:
        guide.append(f"- frame {rsts[1][0]}: a later segment for the freed 4-tuple gets a "
                     "bare RST, as for any closed port.")
    return name, "Abortive close (SO_LINGER {on, 0}: RST)", roles, c, guide


def lost_final_ack():
    """tuntcp's final ACK is dropped once; Linux retransmits its FIN; tuntcp ACKs
    it again from TIME_WAIT and restarts 2*MSL (RFC 9293 3.10.7.4)."""
    name = "lost-final-ack"
    srv = server(name, "--close-after", str(len(DATA)),
                 "--fault", "drop:out:ack:state=TIME_WAIT:nth=1")
    got, err, local = ti.linux_echo(DATA, close_first=False)
    assert err is None and got == DATA, (got, err)
    finish(srv)
    assert not ti.ss_states("last-ack"), "Linux still in LAST_ACK"
    c = Capture(name)
    (sf_n, sf), = c.fins(ti.STACK_ADDR)
    lfins = c.fins(ti.HOST_ADDR)
    assert len(lfins) == 2 and lfins[0][1].seq == lfins[1][1].seq, lfins
    (lf1_n, lf1), (lf2_n, lf2) = lfins
    acks = c.find(lambda s: s.src == ti.STACK_ADDR and not s.has("F") and
                  s.ack == lf1.seq + 1)
    assert len(acks) == 1 and acks[0][0] > lf2_n, acks  # the first one was dropped
    (ack_n, ack), = acks
    assert not c.find(lambda s: s.has("R")), "a RST"
    t_tw = c.at("FIN_WAIT_2", "TIME_WAIT") if any(
        f == "FIN_WAIT_2" for _, f, _, _ in c.states()) else c.at("FIN_WAIT_1", "TIME_WAIT")
    (rs,) = [e for e in c.events if e.get("ev") == "timewait_restart"]
    t_end = c.at("TIME_WAIT", "CLOSED")
    assert 2 * MSL <= t_end - rs["t"] < 2 * MSL + 0.050
    roles = {sf_n: "tuntcp's FIN: tuntcp closes first",
             lf1_n: "Linux's FIN; tuntcp's final ACK to it is dropped (not captured)",
             lf2_n: "Linux's FIN again: its retransmission timer fired",
             ack_n: "tuntcp ACKs it from TIME_WAIT and restarts 2*MSL"}
    guide = [
        "The classic case TIME_WAIT exists for. echo-server --close-after 100 --fault",
        "drop:out:ack:state=TIME_WAIT:nth=1: tuntcp closes first and its final ACK is lost",
        "once. Linux, in LAST_ACK, retransmits its FIN; tuntcp, still in TIME_WAIT, ACKs it",
        "again and restarts 2*MSL. Without TIME_WAIT that FIN would have met a RST and",
        "Linux's close would have ended in an error.",
        "",
        f"- frame {sf_n}: tuntcp's FIN; frame {lf1_n}: Linux's FIN at {c.rel(lf1):.6f} s;",
        f"- the final ACK is sent (trace: TIME_WAIT at t={t_tw:.6f}) and dropped by the fault:",
        "  it is not in the capture, which records outgoing packets after the faults;",
        f"- frame {lf2_n}: Linux's FIN again, same seq, {c.rel(lf2) - c.rel(lf1):.3f} s later "
        "(Linux's retransmission timeout);",
        f"- frame {ack_n}: tuntcp ACKs it; the trace's timewait_restart at t={rs['t']:.6f} "
        f"sets expires={rs['expires']};",
        f"- TIME_WAIT ends at t={t_end:.6f} (timewait_expired): 2*MSL after the restart "
        f"({t_end - rs['t']:.6f} s), {t_end - t_tw:.6f} s after it began.",
    ]
    return name, "Lost final ACK: the FIN comes again, 2*MSL restarts", roles, c, guide


# ---- run them all, then replace pcap/ -----------------------------------------------

SCENES = [passive_close, active_close, simultaneous_close, linger0, lost_final_ack]
results = []
for scene in SCENES:
    t = time.monotonic()
    r = scene()
    frames = ti.tshark_check(r[0])
    assert len(frames) == len(r[3].frames)
    print(f"ok   {r[0]:<20} {len(frames)} frames ({time.monotonic() - t:.1f} s)", flush=True)
    results.append(r)

README_HEAD = """\
# Reference captures

One capture per close scenario, each a single TCP connection between tuntcp's
echo-server (10.7.0.2:7) and the Linux kernel's TCP (a python3 client,
10.7.0.1), on a TUN device in a private network namespace, with `--msl 1s`
(TIME_WAIT = 2 s). Open them in Wireshark, or `tshark -r pcap/FILE.pcap`.
Beside each `.pcap` is the stack's `--trace` of the same run (`.jsonl`: JSON
Lines, `t` in seconds since echo-server started; times on the capture's clock
are seconds since its first frame, Wireshark's default "Time" column).

Regenerate them all (about 15 s; each run is checked first: the trace, the
wire, Linux's `ss`, tshark):

```
bash scripts/make-pcaps.sh
```

Frame numbers and times below are those of the committed files; the script
rewrites this file with the new ones. Sequence numbers are relative, as
Wireshark shows them.

What a capture holds: every packet read from the TUN device (before any
`--fault ... in` rule acts on it) and every packet written to it (after the
`--fault ... out` rules: a dropped packet is absent, a delayed one shows when it
is written). So a packet the stack "sent" into a drop rule is not on the wire:
the trace tells when it was sent.

| file | scenario |
| --- | --- |
"""

with open(os.path.join(TMP, "README.md"), "w") as f:
    f.write(README_HEAD)
    for name, title, _, _, _ in results:
        f.write(f"| [{name}.pcap]({name}.pcap) | {title} |\n")
    for name, title, roles, c, guide in results:
        f.write(f"\n## {name}.pcap: {title}\n\n")
        f.write(f"```\n{COMMANDS[name]}\n```\n\n")
        f.write("\n".join(guide) + "\n\n")
        f.write("```\n" + "\n".join(c.listing(roles)) + "\n```\n\n")
        f.write(f"The trace, {name}.jsonl:\n\n```\n" + "\n".join(c.trace_lines()) + "\n```\n")

os.makedirs(PCAP_DIR, exist_ok=True)
for name, *_ in results:
    for ext in (".pcap", ".jsonl"):
        shutil.copyfile(ti.out_path(name + ext), os.path.join(PCAP_DIR, name + ext))
shutil.copyfile(os.path.join(TMP, "README.md"), os.path.join(PCAP_DIR, "README.md"))
shutil.rmtree(TMP)
print(f"wrote {len(results)} captures, their traces and README.md to {PCAP_DIR}")
PY
