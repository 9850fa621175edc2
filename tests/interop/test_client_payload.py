#!/usr/bin/env python3
"""Interop: echo-client's --send STRING|@FILE and --expect STRING|@FILE
against Linux peers (docs/contract.md §3.4).

--send replaces the pattern of --bytes; --expect names the bytes that must
come back, exactly; --send without --expect checks nothing. The Linux peers
run in this process, in the test's own network namespace; every wait is
bounded.
"""
import os
import socket
import sys
import threading
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402


class ReplyServer:
    """Serves each connection on 10.7.0.1:7 with reply(received) once
    request_len bytes (or the client's EOF) arrived; then closes if close.
    Records what each connection received."""

    def __init__(self, request_len, reply=lambda data: b"", close=True):
        self.request_len, self.reply, self.close_after = request_len, reply, close
        self.received, self.errors = [], []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ti.HOST_ADDR, 7))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stop_flag = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _serve(self, c):
        data = b""
        try:
            while len(data) < self.request_len:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.received.append(data)
            c.sendall(self.reply(data))
            if not self.close_after:
                while c.recv(65536):  # until the client closes
                    pass
        except OSError as e:
            self.errors.append(e)
        finally:
            c.close()

    def _run(self):
        while not self.stop_flag:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            c.settimeout(5)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def close(self):
        self.stop_flag = True
        self.thread.join(2)
        self.sock.close()


def _client(name, *extra):
    # A seed of its own: with run_client's one, each test would reuse the
    # last one's port and meet Linux's TIME_WAIT on that 4-tuple.
    seed = str(zlib.crc32(name.encode()))
    return ti.run_client(name, "--connect", f"{ti.HOST_ADDR}:7", "--timeout", "5s", "--seed",
                         seed, *extra, timeout=15)


def test_send_and_expect_a_string():
    """ping -> pong: the reply is checked against --expect, exit 0."""
    srv = ReplyServer(4, lambda d: b"pong" if d == b"ping" else b"what?")
    try:
        cli = _client("client_send_expect", "--send", "ping", "--expect", "pong", "--count", "2",
                      "--close-wait")
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr}"
    assert srv.received == [b"ping", b"ping"], srv.received


def test_send_a_file_unchecked():
    """--send @FILE of 100 kB (every byte value) without --expect: the
    server receives exactly the file, its reply is not checked, exit 0."""
    data = bytes(range(256)) * 400
    path = ti.out_path("client_send_file.bin")
    with open(path, "wb") as f:
        f.write(data)
    srv = ReplyServer(len(data), lambda d: b"anything", close=False)
    try:
        cli = _client("client_send_file", "--send", "@" + path)
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr}"
    assert srv.received == [data], [len(r) for r in srv.received]


def test_expect_file_against_an_echo():
    """--send @FILE --expect @FILE against Linux's echo: the echo is compared byte for byte."""
    path = ti.out_path("client_expect_file.bin")
    with open(path, "wb") as f:
        f.write(b"\x00\r\nline two\xff" * 1000)
    srv = ti.LinuxEchoServer()
    try:
        cli = _client("client_expect_file", "--send", "@" + path, "--expect", "@" + path)
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr}"


def test_wrong_reply_fails():
    """A reply that differs from --expect: the failure line names the byte, exit 1."""
    srv = ReplyServer(4, lambda d: b"pang")
    try:
        cli = _client("client_expect_wrong", "--send", "ping", "--expect", "pong")
    finally:
        srv.close()
    assert cli.rc == 1, f"exit {cli.rc}: {cli.stderr}"
    line = "echo-client: connection 1: verify: reply differs from --expect at byte 1"
    assert line in cli.stderr, cli.stderr


def test_short_reply_fails():
    """The server closes after 4 of the 9 bytes expected, exit 1."""
    srv = ReplyServer(4, lambda d: b"pong")
    try:
        cli = _client("client_expect_short", "--send", "ping", "--expect", "pong pong")
    finally:
        srv.close()
    assert cli.rc == 1, f"exit {cli.rc}: {cli.stderr}"
    line = "echo-client: connection 1: read: connection closed by the server after 4 of 9 bytes"
    assert line in cli.stderr, cli.stderr


def test_missing_file_is_a_bad_command_line():
    cli = ti.run_client("client_send_missing", "--send", "@/nonexistent/payload", timeout=10)
    assert cli.rc == 2, f"exit {cli.rc}: {cli.stderr}"
    assert cli.stderr.startswith("echo-client: --send: cannot read '/nonexistent/payload': "
                                 "No such file or directory\n"), cli.stderr


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([
        test_send_and_expect_a_string,
        test_send_a_file_unchecked,
        test_expect_file_against_an_echo,
        test_wrong_reply_fails,
        test_short_reply_fails,
        test_missing_file_is_a_bad_command_line,
    ])
