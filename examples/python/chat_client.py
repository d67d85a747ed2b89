#!/usr/bin/python3
"""A Python client for the wshub chat (docs/chat-protocol.md), on the `websockets` library.

It joins the chat, says hello, and prints everything it receives. Lines typed (or piped) on stdin are sent:
    some text            a message to everyone
    /pm <uuid> <text>    a private message to one connection
    /nick <name>         change the nickname
    /join <room>         join a room;  /leave <room> leaves it
    /room <room> <text>  a message to a room you are in

Run it against `npm start` (http://127.0.0.1:8080):
    /usr/bin/python3 examples/python/chat_client.py --nick py --duration 30
"""
import argparse
import asyncio
import json
import signal
import sys
import threading
import time

try:
    import websockets
except ImportError:  # pragma: no cover - told to the user, not tested
    sys.exit("chat_client.py needs the websockets package: apt install python3-websockets (or pip install websockets)")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Join the wshub chat, say hello, print what arrives.")
    p.add_argument("--url", default="ws://127.0.0.1:8080/chat", help="chat endpoint (default %(default)s)")
    p.add_argument("--nick", default="python", help="nickname (default %(default)s)")
    p.add_argument("--hello", default="hello from Python", help="first message sent (default %(default)r; '' for none)")
    p.add_argument("--room", action="append", default=[], help="join this room after the welcome (repeatable)")
    p.add_argument("--duration", type=float, default=0, help="leave after this many seconds (default 0: stay until Ctrl-C or the server closes)")
    p.add_argument("--json", action="store_true", help="print each received message as its JSON line, nothing else")
    p.add_argument("--no-stdin", action="store_true", help="do not read messages to send from stdin")
    return p.parse_args(argv)


def stamp(ts=None):
    t = time.localtime(ts / 1000 if ts else None)
    return time.strftime("%H:%M:%S", t)


def describe(m, nicks):
    """One human-readable line for a server message."""
    t = m.get("type")
    when = stamp(m.get("ts"))
    if t == "welcome":
        others = ", ".join(u["nick"] for u in m["online"] if u["id"] != m["id"]) or "nobody else"
        return f"{when} welcome: you are {m['nick']} ({m['id']}); online: {others}"
    if t == "message":
        where = f" #{m['room']}" if m.get("room") else ""
        return f"{when}{where} <{m['nick']}> {m['text']}"
    if t == "private":
        to = nicks.get(m["to"], m["to"])
        return f"{when} [private {m['nick']} -> {to}] {m['text']}"
    if t == "user-joined":
        return f"{when} * {m['nick']} joined ({m['id']})"
    if t == "user-left":
        return f"{when} * {m['nick']} left"
    if t == "nick":
        return f"{when} * {m['previous']} is now {m['nick']}"
    if t in ("room-joined", "room-left"):
        verb = "joined" if t == "room-joined" else "left"
        return f"{when} * {m['nick']} {verb} #{m['room']} ({m['size']} there)"
    if t == "rooms":
        return f"{when} * rooms: " + (", ".join(f"#{r['name']} ({r['size']})" for r in m["rooms"]) or "none")
    if t == "error":
        return f"{when} ! error {m['code']}: {m['reason']}"
    return f"{when} {json.dumps(m)}"


def command_to_message(line):
    """Turns a typed line into a chat protocol message (or None to skip it)."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if line.startswith("/"):
        name, _, rest = line[1:].partition(" ")
        if name == "pm":
            to, _, text = rest.partition(" ")
            return {"type": "private", "to": to, "text": text}
        if name == "nick":
            return {"type": "nick", "nick": rest}
        if name in ("join", "leave"):
            return {"type": name, "room": rest.strip()}
        if name == "room":
            room, _, text = rest.partition(" ")
            return {"type": "message", "room": room, "text": text}
        if name == "who":
            return {"type": "who"}
    return {"type": "message", "text": line}


def start_stdin_reader(loop, queue):
    """Reads stdin in a daemon thread (it never keeps the program alive) and feeds the lines to asyncio."""
    def run():
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)
    threading.Thread(target=run, name="stdin", daemon=True).start()


async def main(args):
    url = args.url
    sep = "&" if "?" in url else "?"
    from urllib.parse import quote
    url = f"{url}{sep}nick={quote(args.nick)}"
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result("signal"))
    if args.duration > 0:
        loop.call_later(args.duration, lambda: stop.done() or stop.set_result("duration"))

    nicks = {}
    async with websockets.connect(url, open_timeout=10, close_timeout=5, max_size=1 << 20) as ws:
        async def receive():
            async for raw in ws:
                if isinstance(raw, bytes):
                    print(f"{stamp()} (binary message of {len(raw)} bytes)", flush=True)
                    continue
                try:
                    m = json.loads(raw)
                except ValueError:
                    print(f"{stamp()} (not JSON) {raw}", flush=True)
                    continue
                if m.get("type") in ("welcome", "who"):
                    nicks.update({u["id"]: u["nick"] for u in m["online"]})
                elif m.get("type") in ("user-joined", "nick"):
                    nicks[m["id"]] = m["nick"]
                print(raw if args.json else describe(m, nicks), flush=True)
                if m.get("type") == "welcome":
                    for room in args.room:
                        await ws.send(json.dumps({"type": "join", "room": room}))
                    if args.hello:
                        await ws.send(json.dumps({"type": "message", "text": args.hello}))

        async def send_lines():
            queue = asyncio.Queue()
            start_stdin_reader(loop, queue)
            while True:
                line = await queue.get()
                if line is None:
                    return  # stdin ended: keep listening
                m = command_to_message(line)
                if m is not None:
                    await ws.send(json.dumps(m))

        tasks = [asyncio.ensure_future(receive())]
        if not args.no_stdin:
            tasks.append(asyncio.ensure_future(send_lines()))
        done, _ = await asyncio.wait([tasks[0], stop], return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        if stop in done:
            await ws.close(1000, "bye")
        code, reason = ws.close_code, ws.close_reason
    # With --json, stdout holds only the server's messages; the close goes to stderr.
    print(f"{stamp()} closed: code {code}{' ' + repr(reason) if reason else ''}", file=sys.stderr if args.json else sys.stdout, flush=True)
    return 0 if code in (1000, 1001) else 1


if __name__ == "__main__":
    arguments = parse_args()
    try:
        sys.exit(asyncio.run(main(arguments)))
    except (OSError, websockets.exceptions.InvalidHandshake, asyncio.TimeoutError) as err:
        sys.exit(f"chat_client.py: cannot connect to {arguments.url}: {err}")
