#!/usr/bin/env python3
"""Writes the seed corpora of the wire and fault fuzzers (tests/fuzz/corpus_wire/,
tests/fuzz/corpus_fault/).

Each seed is fuzz_wire's input: a mode byte and one IPv4 datagram. The mode
is 0x0f: the harness repairs the total length, version and both checksums
after each mutation, so that mutants of a seed still reach the TCP and ICMP
parsers (the fuzzer flips those bits itself to try broken ones). The datagrams are every distinct
packet of the captures in pcap/ (both directions of each close scenario, with
MSS, window scale, SACK-permitted and timestamps), plus an ICMP echo request
and a segment carrying SACK blocks, which those captures lack.

fuzz_fault's seeds are the same datagrams, each with a state byte and one
of the --fault specs of the README and docs/contract.md §3.5 in turn (direction bit set for
the stack's own packets).
    python3 tests/fuzz/make_wire_corpus.py [WIRE_OUTDIR [FAULT_OUTDIR]]
"""
import glob
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def pcap_packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack_from('<I', data)[0]
    endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack_from(endian + 'IIII', data, off)
        off += 16
        yield data[off:off + incl]
        off += incl


def checksum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4(proto, payload, src=0x0a070001, dst=0x0a070002):
    hdr = bytearray(struct.pack('!BBHHHBBHII', 0x45, 0, 20 + len(payload), 1, 0x4000, 64,
                                proto, 0, src, dst))
    struct.pack_into('!H', hdr, 10, checksum(bytes(hdr)))
    return bytes(hdr) + payload


def echo_request():
    icmp = bytearray(struct.pack('!BBHHH', 8, 0, 0, 0x1234, 1) + bytes(range(56)))
    struct.pack_into('!H', icmp, 2, checksum(bytes(icmp)))
    return ipv4(1, bytes(icmp))


def tcp_with_sack():
    src, dst = 0x0a070001, 0x0a070002
    opts = (b'\x01\x01\x08\x0a' + struct.pack('!II', 1000, 2000) +
            b'\x01\x01\x05\x12' + struct.pack('!IIII', 5000, 6000, 7000, 8000))
    hdr = bytearray(struct.pack('!HHIIBBHHH', 41234, 7, 100, 200, (5 + len(opts) // 4) << 4,
                                0x10, 512, 0, 0) + opts)
    seg = bytes(hdr) + b'hello'
    pseudo = struct.pack('!IIBBH', src, dst, 0, 6, len(seg))
    struct.pack_into('!H', hdr, 16, checksum(pseudo + seg))
    return ipv4(6, bytes(hdr) + b'hello', src, dst)


FAULT_SPECS = [b'drop:out:ack:state=TIME_WAIT:nth=1', b'dup:in:fin', b'drop:in:any:p=0.02',
               b'delay=200ms:out:fin', b'drop:in:synack:count=2', b'drop:out:rst',
               b'dup:in:data:nth=2:count=3', b'drop:in:syn:state=listen']
STACK_ADDR = 0x0a070002  # 10.7.0.2, the stack's side in the captures


def write_seeds(out, seeds):
    os.makedirs(out, exist_ok=True)
    names = set()
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()[:16]
        if name in names:
            continue
        names.add(name)
        with open(os.path.join(out, name), 'wb') as f:
            f.write(seed)
    print('%d seeds in %s' % (len(names), out))


def fault_seed(i, p):
    """mode (repairs; bit 4 when the stack sent it), state byte, spec."""
    out = len(p) >= 20 and struct.unpack_from('!I', p, 12)[0] == STACK_ADDR
    spec = FAULT_SPECS[i % len(FAULT_SPECS)]
    return bytes([0x0f | (0x10 if out else 0), i % 12, len(spec)]) + spec + p


def main():
    wire_out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'corpus_wire')
    fault_out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, 'corpus_fault')
    pkts = [p for path in sorted(glob.glob(os.path.join(ROOT, 'pcap', '*.pcap')))
            for p in pcap_packets(path)]
    pkts += [echo_request(), tcp_with_sack()]
    write_seeds(wire_out, [b'\x0f' + p for p in pkts])
    uniq = list(dict.fromkeys(pkts))
    write_seeds(fault_out, [fault_seed(i, p) for i, p in enumerate(uniq)])


if __name__ == '__main__':
    main()
