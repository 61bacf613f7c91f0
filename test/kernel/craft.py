#!/usr/bin/python3
# Hostile packets for test/kernel/hostile.test.ts. Built with scapy
# (python3-scapy) and written straight onto the TUN device through an AF_PACKET
# socket, so they reach the stack byte for byte: the kernel's own IP output
# would fix a bad header or refuse to send it.
#
#   craft.py IFACE < JSON list of packet specs      (IFACE "-": print them as hex instead)
#
# A spec is one of:
#   {"kind": "tcp", "src", "dst", "sport", "dport", "seq", "ack", "flags", "data"?, "tsval"?, "tsecr"?}
#     (with tsval: a timestamp option, RFC 7323, as a connection that negotiated it must carry)
#   {"kind": "icmp-error", "src", "dst", "type", "code", "mtu"?, "quote": <a tcp spec>}
#   {"kind": "garbage", "name", "src", "dst", "dport"}: one malformed packet, by name (GARBAGE below)
#   {"kind": "random", "seed", "count", "src", "dst"}: random bytes, some dressed as IPv4 to reach further
# Prints one line: how many packets were written.

import json
import random
import socket
import sys

from scapy.all import ICMP, IP, TCP, Raw  # noqa: E402 (scapy is slow to import; keep it at the top)

ETH_P_IP = 0x0800


def tcp(s):
    options = []
    if s.get("tsval") is not None:
        options = [("NOP", None), ("NOP", None), ("Timestamp", (s["tsval"] % 2**32, s.get("tsecr", 0) % 2**32))]
    p = IP(src=s["src"], dst=s["dst"]) / TCP(
        sport=s["sport"], dport=s["dport"], seq=s["seq"] % 2**32, ack=s.get("ack", 0) % 2**32,
        flags=s["flags"], window=s.get("window", 65535), options=options)
    if s.get("data"):
        p = p / Raw(load=s["data"].encode())
    return bytes(p)


def icmp_error(s):
    quoted = tcp(s["quote"])[:28]  # RFC 792: the IP header and the first 8 bytes of its payload
    icmp = ICMP(type=s["type"], code=s["code"])
    if s.get("mtu") is not None:
        icmp = ICMP(type=s["type"], code=s["code"], nexthopmtu=s["mtu"])
    return bytes(IP(src=s["src"], dst=s["dst"]) / icmp / Raw(load=quoted))


def fix_ip_checksum(b):
    b = bytearray(b)
    ihl = (b[0] & 0x0F) * 4
    b[10:12] = b"\0\0"
    total = 0
    for i in range(0, ihl, 2):
        total += (b[i] << 8) | b[i + 1]
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    c = ~total & 0xFFFF
    b[10], b[11] = c >> 8, c & 0xFF
    return bytes(b)


def garbage(s):
    """One malformed packet; each is refused by a different check in the stack's parsers."""
    src, dst, dport = s["src"], s["dst"], s["dport"]
    syn = IP(src=src, dst=dst) / TCP(sport=40999, dport=dport, flags="S", seq=1)
    good = bytes(syn)
    name = s["name"]
    if name == "ihl-too-small":  # IHL 3: a header shorter than 20 bytes
        return fix_ip_checksum(bytes([0x43]) + good[1:])
    if name == "ihl-past-end":  # IHL 15 (60 bytes) on a 40-byte packet
        b = bytearray(good)
        b[0] = 0x4F
        b[2:4] = (40).to_bytes(2, "big")
        return bytes(b)
    if name == "ip-version-5":  # neither IPv4 nor IPv6 (IPv6 is ignored apart, not dropped)
        return bytes([0x55]) + good[1:]
    if name == "ip-bad-checksum":
        b = bytearray(good)
        b[10] ^= 0x5A
        return bytes(b)
    if name == "ip-total-length-past-end":
        b = bytearray(good)
        b[2:4] = (1400).to_bytes(2, "big")
        return fix_ip_checksum(b)
    if name == "ip-fragment":
        return bytes(IP(src=src, dst=dst, flags="MF", frag=0) / TCP(sport=40999, dport=dport, flags="S"))
    if name == "tcp-bad-checksum":
        b = bytearray(good)
        b[36] ^= 0xFF
        return bytes(b)
    if name == "tcp-truncated":  # 10 bytes of TCP header: ports and half a sequence number
        return bytes(IP(src=src, dst=dst, proto=6) / Raw(load=good[20:30]))
    if name == "tcp-data-offset-small":  # data offset 3 words
        return bytes(IP(src=src, dst=dst) / TCP(sport=40999, dport=dport, flags="S", dataofs=3))
    if name == "tcp-data-offset-past-end":  # data offset 15 words (60 bytes) on a 20-byte header
        return bytes(IP(src=src, dst=dst) / TCP(sport=40999, dport=dport, flags="S", dataofs=15))
    if name == "tcp-bad-options":  # an MSS option whose length byte runs past the header
        return bytes(IP(src=src, dst=dst) / TCP(sport=40999, dport=dport, flags="S", dataofs=6)
                     / Raw(load=b"\x02\x09\x05\xb4"))
    if name == "icmp-truncated":
        return bytes(IP(src=src, dst=dst, proto=1) / Raw(load=b"\x03\x03"))
    if name == "icmp-bad-checksum":
        b = bytearray(bytes(IP(src=src, dst=dst) / ICMP(type=8) / Raw(load=b"ping")))
        b[22] ^= 0xFF
        return bytes(b)
    if name == "icmp-quote-truncated":  # destination unreachable quoting 6 bytes
        return bytes(IP(src=src, dst=dst) / ICMP(type=3, code=1) / Raw(load=good[:6]))
    if name == "xmas":  # every flag set, to the live port at a random sequence number
        return bytes(IP(src=src, dst=dst) / TCP(sport=40999, dport=dport, flags="FSRPAUEC", seq=7))
    raise SystemExit(f"craft.py: unknown garbage {name}")


def random_packets(s):
    rng = random.Random(s["seed"])
    out = []
    for i in range(s["count"]):
        n = rng.randrange(0, 120)
        b = bytearray(rng.getrandbits(8) for _ in range(n))
        if i % 2 == 1 and n >= 20:
            # Dress half of them as IPv4 to us, so they get past the first checks and into the later ones.
            b[0] = 0x45
            b[9] = rng.choice([1, 6, 17])
            b[12:16] = socket.inet_aton(s["src"])
            b[16:20] = socket.inet_aton(s["dst"])
            if i % 4 == 1:
                b[2:4] = n.to_bytes(2, "big")
                b = bytearray(fix_ip_checksum(bytes(b)))
        out.append(bytes(b))
    return out


def build(spec):
    kind = spec["kind"]
    if kind == "tcp":
        return [tcp(spec)]
    if kind == "icmp-error":
        return [icmp_error(spec)]
    if kind == "garbage":
        return [garbage(spec)]
    if kind == "random":
        return random_packets(spec)
    raise SystemExit(f"craft.py: unknown kind {kind}")


def main():
    iface = sys.argv[1]
    specs = json.load(sys.stdin)
    packets = [p for spec in specs for p in build(spec)]
    if iface == "-":  # print them instead (hex, one a line), to look at
        for p in packets:
            print(p.hex())
        return
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sock.bind((iface, ETH_P_IP))
    sent = 0
    for p in packets:
        if len(p) == 0:
            continue  # nothing to write
        sock.send(p)
        sent += 1
    print(sent)


main()
