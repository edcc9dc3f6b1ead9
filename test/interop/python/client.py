"""Python `websockets` client for interop tests: runs a script against a
socketeer echo server and prints one JSON line with what it observed."""
import asyncio
import json
import os
import ssl
import sys

import websockets


async def main(url, cafile):
    ctx = None
    if url.startswith("wss://"):
        ctx = ssl.create_default_context(cafile=cafile)
    results = {}
    async with websockets.connect(url, ssl=ctx, max_size=None, compression=os.environ.get("WS_COMPRESSION") or None) as ws:
        await ws.send("héllo from python")
        results["text"] = await ws.recv()
        await ws.send(bytes(range(256)))
        results["binary_ok"] = (await ws.recv()) == bytes(range(256))
        big = bytes((i * 7) & 0xFF for i in range(3 * 1024 * 1024))
        await ws.send(big)
        results["big_ok"] = (await ws.recv()) == big
        # A list of strings is sent as one fragmented message.
        await ws.send(["frag-", "ment", "ed"])
        results["fragmented"] = await ws.recv()
        pong = await ws.ping(b"py-ping")
        await asyncio.wait_for(pong, 5)
        results["pong"] = True
        await ws.close(code=4002, reason="python done")
        results["close_code"] = ws.close_code
        results["extensions"] = [e.name for e in ws.extensions]
    print(json.dumps(results), flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
