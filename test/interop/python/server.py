"""Python `websockets` echo server for interop tests. Prints its port, then
serves until stdin closes. "close me" makes it close with 4003."""
import asyncio
import os
import ssl
import sys

import websockets


async def handler(ws, path=None):
    async for message in ws:
        if message == "close me":
            await ws.close(code=4003, reason="python closes")
            return
        if message == "fragment me":
            await ws.send(["one ", "two ", "three"])
            continue
        await ws.send(message)


async def main():
    ctx = None
    if len(sys.argv) > 2:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    async with websockets.serve(handler, "127.0.0.1", 0, ssl=ctx, max_size=None, compression=os.environ.get("WS_COMPRESSION") or None) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
