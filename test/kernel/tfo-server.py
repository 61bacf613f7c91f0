#!/usr/bin/env python3
# A kernel TCP listener with TCP Fast Open (RFC 7413) for fast-open-client.test.ts: it binds
# HOST:PORT, sets TCP_FASTOPEN (queue length 5) before listen(), prints "listening", then for
# each of COUNT connections reads until the peer's FIN, prints one JSON line with what it
# read, answers "got N bytes" and closes. It gives up after 20 seconds without a connection.
import json
import socket
import sys

TCP_FASTOPEN = 23  # include/uapi/linux/tcp.h

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 5)
srv.bind((host, port))
srv.listen(5)
srv.settimeout(20)
print("listening", flush=True)
for _ in range(count):
    conn, _addr = srv.accept()
    conn.settimeout(10)
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    print(json.dumps({"data": data.decode("latin-1")}), flush=True)
    conn.sendall(b"got %d bytes" % len(data))
    conn.close()
srv.close()
