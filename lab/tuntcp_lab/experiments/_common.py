"""Small helpers the experiments share (not an experiment: the name starts
with an underscore)."""


def ms(text):
    """Seconds in a duration flag value: "100ms" -> 0.1, "2s" -> 2.0."""
    if text.endswith("ms"):
        return int(text[:-2]) / 1000.0
    if text.endswith("s"):
        return float(text[:-1])
    return float(text)


def late_ok(measured, want, slack):
    """Never early, at most slack seconds (plus 2 %) late (docs/contract.md §2.6)."""
    return want <= measured <= want * 1.02 + slack


def final_ack(segs):
    """The last bare ACK tuntcp sent: its final ACK of the peer's FIN."""
    acks = [s for s in segs if s.out and s.only("A") and s.len == 0]
    return acks[-1] if acks else None



def counters(stderr):
    """The last statistics block an app printed with -v: {name: int}, and the
    gauge line's values ({"tw": .., "tw_bytes": ..})."""
    stats, gauges = {}, {}
    for line in stderr.splitlines():
        parts = line.split()
        if line.startswith("TCP: tw "):
            gauges = {parts[i]: int(parts[i + 1]) for i in range(1, len(parts) - 1, 2)}
        elif len(parts) == 2 and parts[0][:1].isupper() and parts[1].isdigit():
            stats[parts[0]] = int(parts[1])
    return stats, gauges


def port_of(conn):
    """The stack's port in a trace conn "10.7.0.2:PORT>10.7.0.1:PORT"."""
    return int(conn.split(">")[0].split(":")[1])


def peer_port(conn):
    return int(conn.split(">")[1].split(":")[1])


def linux_netstat(name):
    """A counter of the namespace's /proc/net/netstat (TcpExt) or snmp (Tcp)."""
    for path in ("/proc/net/netstat", "/proc/net/snmp"):
        with open(path) as f:
            lines = f.read().splitlines()
        for head, vals in zip(lines[::2], lines[1::2]):
            keys, values = head.split(), vals.split()
            prefix = keys[0].rstrip(":")
            for k, v in zip(keys[1:], values[1:]):
                if prefix + k == name:
                    return int(v)
    return None
