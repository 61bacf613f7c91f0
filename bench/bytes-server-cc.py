#!/usr/bin/env python3
# The kernel side's `GET /bytes/N` for bench/lossy.mjs's kernel-CUBIC row, with a congestion
# control chosen per socket (TCP_CONGESTION). A network namespace may only make an algorithm
# its default if the host allows it (net.ipv4.tcp_allowed_congestion_control), but a process
# with CAP_NET_ADMIN may set any available one on its own sockets; Node has no setsockopt
# for it, so this small server does only that. Started inside the kernel server's namespace
# (never on the host):
#
#   python3 bench/bytes-server-cc.py ADDR PORT CC
#
# Prints READY once listening; answers each connection's one request with N bytes of the
# chargen-like pattern, Content-Length, then closes. SIGTERM ends it.

import signal
import socket
import sys
import threading

TCP_CONGESTION = getattr(socket, 'TCP_CONGESTION', 13)
CHUNK = bytes((33 + i % 94) for i in range(65536))


def serve(conn: socket.socket, cc: bytes) -> None:
    try:
        conn.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, cc)
        request = b''
        while b'\r\n\r\n' not in request and len(request) < 8192:
            piece = conn.recv(4096)
            if not piece:
                return
            request += piece
        path = request.split(b' ', 2)[1].decode() if request.count(b' ') >= 2 else ''
        if not path.startswith('/bytes/') or not path[7:].isdigit():
            conn.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
            return
        left = int(path[7:])
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n'
                     + b'Content-Length: %d\r\nConnection: close\r\n\r\n' % left)
        while left > 0:
            n = min(left, len(CHUNK))
            conn.sendall(CHUNK[:n])
            left -= n
    except OSError:
        pass
    finally:
        conn.close()


def main() -> None:
    if len(sys.argv) != 4 or not sys.argv[2].isdigit():
        print('usage: bytes-server-cc.py ADDR PORT CC', file=sys.stderr)
        sys.exit(2)
    addr, port, cc = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, cc)
    except OSError as err:
        print(f'bytes-server-cc.py: TCP_CONGESTION {cc.decode()}: {err.strerror}', file=sys.stderr)
        sys.exit(1)
    listener.bind((addr, port))
    listener.listen(16)
    print('READY {}', flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, cc), daemon=True).start()


if __name__ == '__main__':
    main()
