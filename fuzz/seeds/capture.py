"""Captures real server traffic as fuzz seeds.

Starts a Python `websockets` server on loopback that sends one frame of every kind, connects to
it with a raw socket (so the bytes are exactly what the server wrote), and writes:
  seeds/handshake/*: the 101 response head, a 400 rejection, and the head with the first frames;
  seeds/frames/*:    the frames that follow the 101, one seed per frame and one with all of them.
Run with a Python that has `websockets` installed, from the fuzz/ directory. libFuzzer writes
what it finds to corpus/ (ignored by git); these seeds stay as captured.
"""
import asyncio
import base64
import os
import socket

from websockets.asyncio.server import serve
from websockets.frames import Frame, Opcode

KEY = base64.b64encode(b"0123456789abcdef").decode()
REQUEST = (
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
).encode()


async def handler(ws):
    await ws.send("Hello, κόσμε")
    await ws.send(b"\x00\x01\x02\xff")
    await ws.send(["frag", "mented"])
    await ws.ping(b"ping-data")
    await ws.send("x" * 300)
    await ws.send(b"y" * 65536)
    await ws.close(4000, "bye")


def read_all(sock):
    chunks = []
    sock.settimeout(2)
    while True:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


async def main():
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()

        def talk(request):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(request)
                return read_all(s)

        accepted = await loop.run_in_executor(None, talk, REQUEST)
        rejected = await loop.run_in_executor(None, talk, REQUEST.replace(b"Version: 13", b"Version: 8"))
    head, _, frames = accepted.partition(b"\r\n\r\n")
    head += b"\r\n\r\n"
    os.makedirs("seeds/handshake", exist_ok=True)
    os.makedirs("seeds/frames", exist_ok=True)
    write("seeds/handshake/websockets-101", head)
    write("seeds/handshake/websockets-101-with-frames", head + frames[:64])
    write("seeds/handshake/websockets-400", rejected)
    # The frames target takes one flag byte (bit 0: end of stream after the input).
    write("seeds/frames/all", b"\x01" + frames)
    at, n = 0, 0
    while at < len(frames):
        b1 = frames[at + 1] & 0x7F
        start = at + 2 + {126: 2, 127: 8}.get(b1, 0)
        length = b1 if b1 < 126 else int.from_bytes(frames[at + 2:start], "big")
        end = start + length
        if length <= 4096:
            write(f"seeds/frames/frame-{n}", b"\x00" + frames[at:end])
        at, n = end, n + 1


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    print(path, len(data))


asyncio.run(main())
