"""A server from Python's `websockets` that sends and receives messages of any size in pieces.

Usage: stream_server.py DEFLATE (0 or 1: offer permessage-deflate)
Prints the port, then serves until killed. Loopback only. On each connection the client's first
message is a command:

- "send SIZE text|binary": the server sends one message of SIZE bytes of the pattern, in
  fragments of 64 KiB (`send` of an iterator), then waits for the client to close.
- "recv": the server receives one message with `recv_streaming`, checks it against the
  pattern fragment by fragment, and answers "ok LENGTH" or "bad OFFSET".

The pattern, shared with the Rust tests: 64 KiB blocks, block K being K in eight hex digits
followed by ASCII letters that are the same in every block, so it is text as well as bytes,
compresses, and a block out of place or a byte changed is found.
"""
import asyncio
import sys

from websockets.asyncio.server import serve

BLOCK = 65536
BASE = bytes(97 + (i * i + i // 7) % 26 for i in range(BLOCK))


def block(k):
    return b"%08x" % k + BASE[8:]


async def send(ws, size, text):
    async def parts():
        sent, k = 0, 0
        while sent < size:
            piece = block(k)[: size - sent]
            yield piece.decode() if text else piece
            sent += len(piece)
            k += 1

    await ws.send(parts())
    await ws.wait_closed()


async def recv(ws):
    buf, got, k, bad = bytearray(), 0, 0, None
    async for fragment in ws.recv_streaming():
        if isinstance(fragment, str):
            fragment = fragment.encode()
        got += len(fragment)
        buf += fragment
        while bad is None and len(buf) >= BLOCK:
            if buf[:BLOCK] != block(k):
                bad = k * BLOCK
            del buf[:BLOCK]
            k += 1
        if bad is not None:
            buf.clear()
    if bad is None and buf and buf != block(k)[: len(buf)]:
        bad = k * BLOCK
    await ws.send("ok %d" % got if bad is None else "bad %d" % bad)
    await ws.wait_closed()


async def handler(ws):
    command = (await ws.recv()).split()
    if command[0] == "send":
        await send(ws, int(command[1]), command[2] == "text")
    else:
        await recv(ws)


async def main():
    deflate = sys.argv[1] == "1"
    options = {} if deflate else {"compression": None}
    async with serve(handler, "127.0.0.1", 0, max_size=None, **options) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


asyncio.run(main())
