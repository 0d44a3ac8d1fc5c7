"""A minimal HTTP/1.1 load generator for the sandbox's own ceiling.

    python -m benchmarks._load BASE_URL PATH HEADER VALUE SECONDS

One kept-alive connection, plain blocking sockets, one request at a time: the client costs a
few tens of microseconds per request, so several of these in parallel find the sandbox's
limit rather than the client's. Prints one JSON line: requests answered, seconds.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from urllib.parse import urlsplit


def main() -> None:
    base, path, header, value, seconds = sys.argv[1:6]
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{header}: {value}\r\n\r\n").encode()
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = 0
    buffer = b""
    start = time.perf_counter()
    deadline = start + float(seconds)
    while time.perf_counter() < deadline:
        sock.sendall(request)
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                head = buffer[:end].lower()
                at = head.find(b"content-length:")
                length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
                if len(buffer) >= end + 4 + length:
                    if not head.startswith(b"http/1.1 200"):
                        sys.exit(f"unexpected answer: {head[:80]!r}")
                    buffer = buffer[end + 4 + length :]
                    break
            chunk = sock.recv(65536)
            if not chunk:
                sys.exit("the sandbox closed the connection")
            buffer += chunk
        done += 1
    elapsed = time.perf_counter() - start
    sock.close()
    print(json.dumps({"requests": done, "seconds": elapsed}))


if __name__ == "__main__":
    main()
