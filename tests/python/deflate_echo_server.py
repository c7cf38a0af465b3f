"""An echo server from Python's `websockets`, with permessage-deflate configured from argv.

Usage: deflate_echo_server.py SERVER_NO_CONTEXT_TAKEOVER CLIENT_NO_CONTEXT_TAKEOVER
                              SERVER_MAX_WINDOW_BITS CLIENT_MAX_WINDOW_BITS
(0/1 flags, window bits 8-15 or "-" for none). Prints the port, then echoes every message on
every connection until killed. Loopback only.
"""
import asyncio
import sys

from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory


def bits(arg):
    return None if arg == "-" else int(arg)


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    snct, cnct, smwb, cmwb = sys.argv[1:5]
    factory = ServerPerMessageDeflateFactory(
        server_no_context_takeover=snct == "1",
        client_no_context_takeover=cnct == "1",
        server_max_window_bits=bits(smwb),
        client_max_window_bits=bits(cmwb),
    )
    async with serve(echo, "127.0.0.1", 0, extensions=[factory], compression=None,
                     max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


asyncio.run(main())
