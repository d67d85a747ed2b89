#!/usr/bin/python3
"""
Interop peer: a python-websockets client talking to a wshub server (test/interop/python.test.mjs).

Usage: client.py URL SCENARIO
  matrix        echo text and binary of every size, send fragmented messages, ping the server, ask the server
                to ping us, then close with 4001 "done".
  server-close  ask the server to close the connection and report the close code and reason seen.
"""
import asyncio
import sys

import websockets

from payloads import BINARY_FRAGMENTS, MAX_SIZE, SIZES, TEXT_FRAGMENTS, describe, emit, payload

STEP_TIMEOUT = 20


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)


async def with_ping_between(ws, fragments):
    """Yields the fragments, sending a ping after the first one."""
    for i, fragment in enumerate(fragments):
        yield fragment
        if i == 0:
            await ws.ping(b"mid-fragment")


async def matrix(ws):
    for kind in ("text", "binary"):
        for n in SIZES:
            data = payload(kind, n)
            await ws.send(data)
            echo = await recv(ws)
            emit("echo", sent=describe(data), received=describe(echo), equal=echo == data)
    # A str or bytes (async) iterable is sent as one fragmented message, one frame per item (RFC 6455 §5.4);
    # the text message has a ping between its fragments (§5.4: control frames MAY be injected).
    await ws.send(with_ping_between(ws, TEXT_FRAGMENTS))
    echo = await recv(ws)
    emit("echo-fragmented", received=describe(echo), equal=echo == "".join(TEXT_FRAGMENTS))
    await ws.send(iter(BINARY_FRAGMENTS))
    echo = await recv(ws)
    emit("echo-fragmented", received=describe(echo), equal=echo == b"".join(BINARY_FRAGMENTS))
    # Our ping; the waiter resolves when the pong with the same payload arrives.
    waiter = await ws.ping(b"py-ping")
    await asyncio.wait_for(waiter, STEP_TIMEOUT)
    emit("pong", data="py-ping")
    # The server pings us (websockets answers by itself) and reports the pong it saw.
    await ws.send("cmd:ping-me")
    emit("server-says", text=await recv(ws))
    await ws.close(4001, "done")
    emit("closed", code=ws.close_code, reason=ws.close_reason, **close_frames(ws))


async def server_close(ws):
    await ws.send("cmd:close-me")
    try:
        message = await recv(ws)
        emit("unexpected-message", received=describe(message))
    except websockets.ConnectionClosed as exc:
        emit("connection-closed", code=exc.code, reason=exc.reason)
    await asyncio.wait_for(ws.wait_closed(), STEP_TIMEOUT)
    emit("closed", code=ws.close_code, reason=ws.close_reason, **close_frames(ws))


def close_frames(ws):
    """The close frames sent and received: both present means a clean closing handshake (RFC 6455 §7.1.4)."""
    return {name: None if frame is None else {"code": frame.code, "reason": frame.reason}
            for name, frame in (("close_sent", ws.close_sent), ("close_rcvd", ws.close_rcvd))}


async def main(url, scenario):
    ws = await websockets.connect(url, compression=None, max_size=MAX_SIZE, ping_interval=None, close_timeout=5)
    emit("open", path=ws.path)
    await {"matrix": matrix, "server-close": server_close}[scenario](ws)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 50))
