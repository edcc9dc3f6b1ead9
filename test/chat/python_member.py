"""A chat member written with Python's `websockets`: joins a room over the
documented JSON protocol, waits for "ping python" from anyone, answers with
"pong from python", and prints every message it saw as JSON lines."""
import asyncio
import json
import sys

import websockets


async def main(url, room, nick):
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "join", "room": room, "nick": nick}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            print(json.dumps(message), flush=True)
            if message["type"] == "message" and message["text"] == "ping python":
                await ws.send(json.dumps({"type": "message", "text": "pong from python"}))
            if message["type"] == "message" and message["text"] == "pong from python":
                break
        await ws.close()


asyncio.run(main(*sys.argv[1:4]))
