"""A server from Python's `websockets` that records what it receives.

Usage: record_server.py PORT
Listens on 127.0.0.1:PORT, prints "listening", then prints every text message it receives, one
per line, flushed before the next is read. Pings are answered by `websockets` itself. Runs until
killed: the outbox test kills it with SIGKILL and starts another on the same port. Loopback only.
"""
import asyncio
import sys

from websockets.asyncio.server import serve


async def record(ws):
    async for message in ws:
        print(message, flush=True)


async def main():
    port = int(sys.argv[1])
    async with serve(record, "127.0.0.1", port, compression=None):
        print("listening", flush=True)
        await asyncio.Future()


asyncio.run(main())
