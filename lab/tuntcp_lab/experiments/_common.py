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

