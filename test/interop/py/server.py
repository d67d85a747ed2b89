#!/usr/bin/python3
"""
Interop peer: a python-websockets server for the wshub client (test/interop/python.test.mjs).

Prints {"event": "listening", "port": N}, then serves on 127.0.0.1 until killed (or 90 s pass). Every data
message is reported (kind, size, SHA-256) and echoed, except these commands:
  cmd:fragments  send TEXT_FRAGMENTS (with a ping between fragments) and BINARY_FRAGMENTS as two fragmented
                 messages
  cmd:ping-me    ping the client, wait for its pong, then send "pong-seen"
  cmd:close-me   close the connection with 4003 "server-done"
"""
import asyncio

import websockets

from payloads import BINARY_FRAGMENTS, MAX_SIZE, TEXT_FRAGMENTS, describe, emit

STEP_TIMEOUT = 20


async def with_ping_between(ws, fragments):
    """Yields the fragments, sending a ping after the first one (RFC 6455 §5.4: control frames MAY be injected)."""
    for i, fragment in enumerate(fragments):
        yield fragment
        if i == 0:
            await ws.ping(b"mid-fragment")


async def handler(ws):
    emit("connection", path=ws.path)
    try:
        async for message in ws:
            if message == "cmd:fragments":
                await ws.send(with_ping_between(ws, TEXT_FRAGMENTS))
                await ws.send(iter(BINARY_FRAGMENTS))
            elif message == "cmd:ping-me":
                waiter = await ws.ping(b"py-srv-ping")
                await asyncio.wait_for(waiter, STEP_TIMEOUT)
                emit("pong", data="py-srv-ping")
                await ws.send("pong-seen")
            elif message == "cmd:close-me":
                await ws.close(4003, "server-done")
            else:
                emit("received", **describe(message))
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    # Both close frames present means a clean closing handshake (RFC 6455 §7.1.4).
    frames = {name: None if frame is None else {"code": frame.code, "reason": frame.reason}
              for name, frame in (("close_sent", ws.close_sent), ("close_rcvd", ws.close_rcvd))}
    emit("closed", path=ws.path, code=ws.close_code, reason=ws.close_reason, **frames)


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, compression=None, max_size=MAX_SIZE,
                                ping_interval=None, close_timeout=5) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        emit("listening", port=port)
        await asyncio.sleep(90)


if __name__ == "__main__":
    asyncio.run(main())
