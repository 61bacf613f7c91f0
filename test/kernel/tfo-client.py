#!/usr/bin/python3
# A kernel TCP Fast Open client (RFC 7413) for test/kernel/fast-open-server.test.ts: Node's
# net cannot send MSG_FASTOPEN, Python's socket can. Each connection sends its message with
# sendto(..., MSG_FASTOPEN, addr), which connects and, when the kernel holds a cookie for
# the server (net.ipv4.tcp_fastopen bit 0x1), puts the data in the SYN; without one the SYN
# asks for a cookie and the data follows the handshake. Reads the reply until the server
# closes and prints it, one line per connection.
#
#   tfo-client.py HOST PORT MESSAGE [COUNT]

import socket
import sys


def once(host, port, message):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # Blocking: with a timeout Python makes the socket non-blocking, and sendto() then
        # returns EINPROGRESS for a SYN without a cookie, as connect() would.
        s.sendto(message, socket.MSG_FASTOPEN, (host, port))
        s.settimeout(10)
        reply = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply
    finally:
        s.close()


def main():
    host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    for _ in range(count):
        print(once(host, port, message).decode(), flush=True)


main()
