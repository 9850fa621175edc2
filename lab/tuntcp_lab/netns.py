"""Entering a network namespace of the experiment's own (docs/lab/README.md).

The runner checks once that an experiment can run here (a TUN device and the
right to make a namespace), then starts each experiment as a child process
under `unshare -n` (root) or `unshare -rn` (a user namespace otherwise).
Inside, setup() brings lo up and lets Linux peers bind 10.7.0.1 before the
TUN device exists. Nothing is ever sent outside that namespace: the stack is
10.7.0.2, the kernel side 10.7.0.1, both on the app's own TUN device.
"""
import os
import subprocess

STACK_ADDR = "10.7.0.2"
HOST_ADDR = "10.7.0.1"


def unshare_cmd():
    return ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]


def check():
    """None when experiments can run here, else the reason they cannot."""
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun does not exist (load the tun module: modprobe tun)"
    if os.geteuid() != 0 and not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        return "/dev/net/tun is not readable and writable by this user (run as root)"
    cmd = unshare_cmd()
    try:
        probe = subprocess.run(cmd + ["true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot run {' '.join(cmd)}: {e}"
    if probe.returncode != 0:
        return (f"no right to make a network namespace ({' '.join(cmd)} true: "
                f"{probe.stderr.strip() or 'exit ' + str(probe.returncode)})")
    return None


def setup():
    """Inside the new namespace: lo up; Linux peers may bind 10.7.0.1 early."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with open("/proc/sys/net/ipv4/ip_nonlocal_bind", "w") as f:
        f.write("1")


def sysctl(name, value=None):
    """Reads (and with value, first writes) a sysctl of this namespace."""
    path = "/proc/sys/" + name.replace(".", "/")
    if value is not None:
        with open(path, "w") as f:
            f.write(str(value))
    with open(path) as f:
        return f.read().strip()
