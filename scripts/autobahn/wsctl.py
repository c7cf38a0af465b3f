#!/usr/bin/env python3
"""Tiny stdlib-only WebSocket client for the fuzzing server's control endpoints.

    wsctl.py URL case-count            prints the number of cases the server will run
    wsctl.py URL update-reports AGENT  asks the server to (re)write its reports

Used by run.sh so that it does not depend on the client under test for these two
steps: the report is written even if a client crashed before calling
/updateReports itself, and report.py is told how many cases a complete run has.
"""

import base64
import os
import socket
import struct
import sys
import urllib.parse

TIMEOUT = 120.0  # /updateReports writes ~1000 files; give it time on a slow machine


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by server")
        buf += chunk
    return bytes(buf)


def _send_frame(sock, opcode, payload=b""):
    mask = os.urandom(4)
    header = bytearray([0x80 | opcode])
    n = len(payload)
    if n < 126:
        header.append(0x80 | n)
    elif n < 65536:
        header.append(0x80 | 126)
        header += struct.pack("!H", n)
    else:
        header.append(0x80 | 127)
        header += struct.pack("!Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes(header) + mask + masked)


def request(url, path_and_query):
    """Open a WebSocket to url + path_and_query; return the text messages received
    before the server closed the connection."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "ws":
        raise ValueError("only ws:// URLs are supported: %r" % url)
    host, port = u.hostname, u.port or 80
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        req = (
            "GET %s HTTP/1.1\r\n"
            "Host: %s:%d\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (path_and_query, host, port, key)
        )
        sock.sendall(req.encode("ascii"))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed during handshake")
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise ConnectionError("handshake failed: %s" % status.decode("latin-1"))

        messages = []
        buf = rest
        while True:
            while len(buf) < 2:
                buf += sock.recv(4096) or b""
                if len(buf) < 2:
                    raise ConnectionError("connection closed mid-frame")
            b0, b1 = buf[0], buf[1]
            opcode, n = b0 & 0x0F, b1 & 0x7F
            off = 2
            if n == 126:
                buf += _recv_exact(sock, max(0, 4 - len(buf)))
                n = struct.unpack("!H", buf[2:4])[0]
                off = 4
            elif n == 127:
                buf += _recv_exact(sock, max(0, 10 - len(buf)))
                n = struct.unpack("!Q", buf[2:10])[0]
                off = 10
            if b1 & 0x80:  # servers do not mask, but be lenient
                off += 4
            buf += _recv_exact(sock, max(0, off + n - len(buf)))
            payload, buf = buf[off:off + n], buf[off + n:]
            if opcode == 0x1:
                messages.append(payload.decode("utf-8"))
            elif opcode == 0x8:
                _send_frame(sock, 0x8, payload[:2])
                return messages
            elif opcode == 0x9:
                _send_frame(sock, 0xA, payload)
    finally:
        sock.close()


def main(argv):
    if len(argv) >= 3 and argv[2] == "case-count":
        msgs = request(argv[1], "/getCaseCount")
        print(int(msgs[0]))
        return 0
    if len(argv) == 4 and argv[2] == "update-reports":
        request(argv[1], "/updateReports?agent=" + urllib.parse.quote(argv[3], safe=""))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
