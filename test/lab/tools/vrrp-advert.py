#!/usr/bin/env python3
"""Sends VRRPv3 adverts (RFC 5798) for one virtual router id to unicast peers: a stranger on the
LAN claiming a VIP with the highest priority. The VIP pair's nftables filter must drop them.

    vrrp-advert.py <source address> <vrid> <priority> <vip> <count> <interval s> <peer>...
"""
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def advert(source: str, peer: str, vrid: int, priority: int, vip: str) -> bytes:
    # Version 3, type 1 (advertisement); max advert interval in centiseconds (12 bits).
    header = struct.pack("!BBBBH", 0x31, vrid, priority, 1, 10)
    body = socket.inet_aton(vip)
    # VRRPv3 over IPv4 sums a pseudo-header, as TCP and UDP do.
    pseudo = socket.inet_aton(source) + socket.inet_aton(peer) + struct.pack("!BBH", 0, 112, 8 + len(body))
    packet = header + b"\0\0" + body
    return header + struct.pack("!H", checksum(pseudo + packet)) + body


def main() -> None:
    source, vrid, priority, vip, count, interval, *peers = sys.argv[1:]
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    # RFC 5798: adverts go out with TTL 255, and receivers drop any other.
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
    sock.bind((source, 0))
    for _ in range(int(count)):
        for peer in peers:
            sock.sendto(advert(source, peer, int(vrid), int(priority), vip), (peer, 0))
        time.sleep(float(interval))


if __name__ == "__main__":
    main()
