#!/usr/bin/python3
"""A Python server for the wshub chat protocol (docs/chat-protocol.md), on the `websockets` library.

It speaks the same JSON messages as `wshub serve --mode chat` at /chat: a welcome with the connection's UUID,
who is online and the rooms; user-joined/user-left; messages to everyone or to a room, stamped with the
sender's UUID, nickname and the server's clock; private messages by UUID; nick; join/leave; who; and the same
`error` codes. It also serves the chat page (public/) over plain HTTP on the same port, so

    /usr/bin/python3 examples/python/chat_server.py --port 8765

and http://127.0.0.1:8765/ is the chat, on a Python server. The page served by wshub can talk to it too:
http://127.0.0.1:8080/?server=ws://127.0.0.1:8765/chat (start this server with
--allow-origin http://127.0.0.1:8080 so that it accepts that page's Origin).

Written for websockets 10.x (Debian 12's python3-websockets is 10.4): the asyncio "legacy" server, its
`process_request` hook for HTTP, and `websockets.broadcast`.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import sys
import time
import uuid
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

try:
    import websockets
except ImportError:  # pragma: no cover - told to the user, not tested
    sys.exit("chat_server.py needs the websockets package: apt install python3-websockets (or pip install websockets)")

# The same limits as wshub's CHAT_LIMITS (src/chat/protocol.ts), in the same order (they go out in the welcome).
LIMITS = {
    "maxTextLength": 2000,  # UTF-16 code units, as JavaScript counts a string's length
    "maxMessageBytes": 8192,  # bytes of UTF-8
    "maxNickLength": 32,  # characters (code points)
    "maxRoomLength": 32,
    "maxRoomsPerConnection": 16,
}
CHAT_PATH = "/chat"
PUBLIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "public")

# \Z, not $: JavaScript's $ does not match before a trailing newline.
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.IGNORECASE)
ROOM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
# C0/C1 controls, and the bidi overrides that would let a nickname disguise itself (as in protocol.ts).
CONTROL_RE = re.compile("[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")
# What JavaScript's String.prototype.trim() removes (WhiteSpace and LineTerminator), not Python's idea of it.
JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

# The page's headers, as wshub sends them (src/chat/static-files.ts PAGE_HEADERS).
PAGE_HEADERS = [
    ("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-cache"),
]
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".json": "application/json; charset=utf-8"}


class ChatError(Exception):
    """A message the server cannot take: answered with an `error` message; the connection stays open."""

    def __init__(self, code, reason, ref=None):
        super().__init__(reason)
        self.code, self.reason, self.ref = code, reason, ref


def now():
    return int(time.time() * 1000)


def js_length(s):
    """A string's length as JavaScript counts it (UTF-16 code units)."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def js_slice(s, n):
    """JavaScript's s.slice(0, n)."""
    return s.encode("utf-16-le", "surrogatepass")[: 2 * n].decode("utf-16-le", "surrogatepass")


def encode(message):
    """JSON as JavaScript's JSON.stringify writes it (no spaces); lone surrogates escaped as \\uXXXX."""
    try:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return json.dumps(message, ensure_ascii=True, separators=(",", ":"))


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def check_nick(value, ref="nick"):
    if not isinstance(value, str):
        raise ChatError("bad-field", "nick must be a string", ref)
    nick = value.strip(JS_WHITESPACE)
    if nick == "":
        raise ChatError("bad-field", "nick must not be empty", ref)
    if len(nick) > LIMITS["maxNickLength"]:
        raise ChatError("bad-field", f"nick must be at most {LIMITS['maxNickLength']} characters", ref)
    if CONTROL_RE.search(nick):
        raise ChatError("bad-field", "nick must not contain control characters", ref)
    return nick


def check_room(value, ref):
    if not isinstance(value, str):
        raise ChatError("bad-field", "room must be a string", ref)
    if value == "" or js_length(value) > LIMITS["maxRoomLength"] or not ROOM_RE.match(value):
        raise ChatError("bad-field", f"room must be 1-{LIMITS['maxRoomLength']} characters of letters, digits, '_', '.', '-', starting with a letter or digit", ref)
    return value


def check_text(value, ref):
    if not isinstance(value, str):
        raise ChatError("bad-field", "text must be a string", ref)
    if value.strip(JS_WHITESPACE) == "":
        raise ChatError("bad-field", "text must not be empty", ref)
    n = js_length(value)
    if n > LIMITS["maxTextLength"]:
        raise ChatError("too-long", f"text is {n} characters, the limit is {LIMITS['maxTextLength']}", ref)
    return value


def parse_client_message(data):
    """One client message (a WebSocket text message) as a dict, or ChatError: parseClientMessage in protocol.ts."""
    size = len(data.encode("utf-8", "surrogatepass"))
    if size > LIMITS["maxMessageBytes"]:
        raise ChatError("too-long", f"message is {size} bytes, the limit is {LIMITS['maxMessageBytes']}")
    try:
        # Numbers as floats: no field of the protocol is a number, and a 5,000-digit integer must not fail here.
        value = json.loads(data, parse_constant=_no_constant, parse_int=float)
    except (ValueError, RecursionError) as err:
        raise ChatError("bad-json", f"not valid JSON: {err}")
    if not isinstance(value, dict):
        raise ChatError("bad-json", 'a message must be a JSON object with a "type"')
    kind = value.get("type")
    if not isinstance(kind, str):
        raise ChatError("unknown-type", 'the field "type" is missing or not a string')
    if kind == "message":
        text = check_text(value.get("text"), kind)
        if value.get("room") is None:
            return {"type": kind, "text": text}
        return {"type": kind, "text": text, "room": check_room(value["room"], kind)}
    if kind == "private":
        to = value.get("to")
        if not isinstance(to, str) or not UUID_RE.match(to):
            raise ChatError("bad-field", "to must be a connection UUID", kind)
        return {"type": kind, "to": to.lower(), "text": check_text(value.get("text"), kind)}
    if kind == "nick":
        return {"type": kind, "nick": check_nick(value.get("nick"))}
    if kind in ("join", "leave"):
        return {"type": kind, "room": check_room(value.get("room"), kind)}
    if kind == "who":
        return {"type": kind}
    short = js_slice(kind, 40)
    raise ChatError("unknown-type", f"unknown message type {json.dumps(short, ensure_ascii=False)}", short)


class Client:
    """One connection: its UUID, nickname and rooms."""

    __slots__ = ("ws", "id", "nick", "rooms")

    def __init__(self, ws, nick):
        self.ws = ws
        self.id = str(uuid.uuid4())
        self.nick = nick or f"guest-{self.id[:4]}"
        self.rooms = set()


class Chat:
    """The pool (connections by UUID, in order of arrival) and the rooms: what wshub's hub and ChatServer do."""

    def __init__(self):
        self.clients = {}  # id -> Client
        self.rooms = {}  # name -> {id: Client}; an empty room is deleted

    # ---- sending: websockets.broadcast writes without waiting, so one slow client holds up nobody ----
    def send(self, client, message):
        websockets.broadcast([client.ws], encode(message))

    def broadcast(self, message, except_client=None):
        data = encode(message)  # serialized once: everyone gets the same text, order and timestamp
        websockets.broadcast([c.ws for c in self.clients.values() if c is not except_client], data)

    def publish(self, room, message):
        websockets.broadcast([c.ws for c in self.rooms.get(room, {}).values()], encode(message))

    def online(self):
        return [{"id": c.id, "nick": c.nick} for c in self.clients.values() if c.ws.open]

    def room_list(self):
        return [{"name": name, "size": len(self.rooms[name])} for name in sorted(self.rooms)]

    def size(self, room):
        return len(self.rooms.get(room, {}))

    # ---- a connection's life ----
    def opened(self, client):
        self.clients[client.id] = client
        ts = now()
        self.send(client, {"type": "welcome", "id": client.id, "nick": client.nick, "online": self.online(),
                           "rooms": self.room_list(), "limits": dict(LIMITS), "ts": ts})
        self.broadcast({"type": "user-joined", "id": client.id, "nick": client.nick, "ts": ts}, except_client=client)

    def closed(self, client):
        ts = now()
        self.clients.pop(client.id, None)
        for room in client.rooms:
            self._remove(client, room)
        for room in client.rooms:
            self.publish(room, {"type": "room-left", "room": room, "id": client.id, "nick": client.nick, "size": self.size(room), "ts": ts})
        self.broadcast({"type": "user-left", "id": client.id, "nick": client.nick, "ts": ts})
        if client.rooms:
            client.rooms.clear()
            self.broadcast({"type": "rooms", "rooms": self.room_list(), "ts": ts})

    def received(self, client, data):
        try:
            if not isinstance(data, str):
                raise ChatError("binary-not-supported", "chat messages are JSON text; binary messages are not supported")
            self.handle(client, parse_client_message(data))
        except ChatError as err:
            reply = {"type": "error", "code": err.code, "reason": err.reason, "ts": now()}
            if err.ref is not None:
                reply["ref"] = err.ref  # after ts, as wshub writes it
            self.send(client, reply)

    def handle(self, client, msg):
        ts = now()
        kind = msg["type"]
        if kind == "message":
            room = msg.get("room")
            if room is None:
                self.broadcast({"type": "message", "from": client.id, "nick": client.nick, "text": msg["text"], "ts": ts})
            else:
                if room not in client.rooms:
                    raise ChatError("not-in-room", f"join the room {room} before writing to it", kind)
                self.publish(room, {"type": "message", "from": client.id, "nick": client.nick, "text": msg["text"], "room": room, "ts": ts})
        elif kind == "private":
            target = self.clients.get(msg["to"])
            if target is None or not target.ws.open:
                raise ChatError("unknown-user", f"no one is online with the id {msg['to']}", kind)
            out = {"type": "private", "from": client.id, "nick": client.nick, "to": target.id, "text": msg["text"], "ts": ts}
            self.send(target, out)  # only the target and the sender get it
            if target is not client:
                self.send(client, out)
        elif kind == "nick":
            previous, client.nick = client.nick, msg["nick"]
            self.broadcast({"type": "nick", "id": client.id, "nick": client.nick, "previous": previous, "ts": ts})
        elif kind == "join":
            room = msg["room"]
            if room in client.rooms:
                self.send(client, {"type": "room-joined", "room": room, "id": client.id, "nick": client.nick, "size": self.size(room), "ts": ts})
                return
            if len(client.rooms) >= LIMITS["maxRoomsPerConnection"]:
                raise ChatError("too-many-rooms", f"one connection may be in at most {LIMITS['maxRoomsPerConnection']} rooms", kind)
            self.rooms.setdefault(room, {})[client.id] = client
            client.rooms.add(room)
            self.publish(room, {"type": "room-joined", "room": room, "id": client.id, "nick": client.nick, "size": self.size(room), "ts": ts})
            self.broadcast({"type": "rooms", "rooms": self.room_list(), "ts": ts})
        elif kind == "leave":
            room = msg["room"]
            if room not in client.rooms:
                raise ChatError("not-in-room", f"you are not in the room {room}", kind)
            # The leaver gets the notice too, so its page can drop the room.
            self.publish(room, {"type": "room-left", "room": room, "id": client.id, "nick": client.nick, "size": self.size(room) - 1, "ts": ts})
            self._remove(client, room)
            client.rooms.discard(room)
            self.broadcast({"type": "rooms", "rooms": self.room_list(), "ts": ts})
        elif kind == "who":
            self.send(client, {"type": "who", "online": self.online(), "rooms": self.room_list(), "ts": ts})

    def _remove(self, client, room):
        members = self.rooms.get(room)
        if members is not None:
            members.pop(client.id, None)
            if not members:
                del self.rooms[room]


def load_public(directory):
    """The page's files, read once into memory: only these paths can ever be answered."""
    files = {}
    if not os.path.isdir(directory):
        return files
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            path = os.path.join(root, name)
            if name.startswith(".") or os.path.getsize(path) > 1024 * 1024:
                continue
            rel = "/" + os.path.relpath(path, directory).replace(os.sep, "/")
            with open(path, "rb") as f:
                body = f.read()
            files[rel] = (TYPES.get(os.path.splitext(name)[1].lower(), "application/octet-stream"), body)
    if "/index.html" in files:
        files["/"] = files["/index.html"]
    return files


def make_process_request(chat, files, allowed_origins):
    """The HTTP side (websockets' process_request hook): answers everything that is not an upgrade at /chat."""

    def plain(status, body, content_type="text/plain; charset=utf-8", extra=()):
        return status, [("Content-Type", content_type), ("Cache-Control", "no-store"), *extra], body

    async def process_request(path, headers):
        pathname = urlsplit(path).path
        upgrade = "websocket" in headers.get("Upgrade", "").lower()
        if pathname == CHAT_PATH:
            if not upgrade:
                # RFC 6455 §4.2.2: a non-upgrade request at the endpoint gets 426 with the version.
                return plain(HTTPStatus.UPGRADE_REQUIRED, b"this is a WebSocket endpoint: connect with a WebSocket client\n",
                             extra=[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")])
            origin = headers.get("Origin")
            if origin is not None and origin != "null" and origin not in allowed_origins:
                # As wshub: a browser page on another host may not open the chat in its visitor's name.
                if urlsplit(origin).netloc.lower() != headers.get("Host", "").lower():
                    return plain(HTTPStatus.FORBIDDEN, f"origin {origin} may not use this chat\n".encode())
            return None  # go on with the WebSocket handshake
        if pathname == "/healthz":
            return plain(HTTPStatus.OK, (json.dumps({"status": "ok", "connections": len(chat.clients)}, separators=(",", ":")) + "\n").encode(), "application/json")
        if pathname in files and not upgrade:
            content_type, body = files[pathname]
            return HTTPStatus.OK, [*PAGE_HEADERS, ("Content-Type", content_type)], body
        return plain(HTTPStatus.NOT_FOUND, b"not found\n")

    return process_request


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="A chat server speaking wshub's chat protocol at /chat; serves the page at /.")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="port, 0 for any free one (default %(default)s)")
    p.add_argument("--max-payload", type=int, default=65536, help="largest WebSocket message; beyond it close 1009 (default %(default)s)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="also accept browser pages from ORIGIN, e.g. http://127.0.0.1:8080 (repeatable)")
    p.add_argument("--public", default=PUBLIC_DIR, help="directory of the chat page (default: the repository's public/)")
    args = p.parse_args(argv)
    if not 0 <= args.port <= 65535:
        p.error(f"--port must be 0-65535, not {args.port}")
    if args.max_payload < 1:
        p.error(f"--max-payload must be at least 1, not {args.max_payload}")
    return args


async def main(args):
    chat = Chat()

    async def handler(ws):
        # ?nick= asks for a nickname (the first one, as URLSearchParams.get); a missing or bad one gets guest-xxxx.
        wanted = [v for k, v in parse_qsl(urlsplit(ws.path).query, keep_blank_values=True) if k == "nick"]
        nick = ""
        if wanted:
            try:
                nick = check_nick(wanted[0])
            except ChatError:
                nick = ""
        client = Client(ws, nick)
        chat.opened(client)
        try:
            async for data in ws:
                try:
                    chat.received(client, data)
                except Exception as err:  # a bug here must not take the server down: report it, go on
                    print(f"chat_server.py: message from {client.id} failed: {err!r}", file=sys.stderr, flush=True)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            chat.closed(client)

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    server = await websockets.serve(
        handler, args.host, args.port,
        process_request=make_process_request(chat, load_public(args.public), set(args.allow_origin)),
        max_size=args.max_payload,
        ping_interval=30, ping_timeout=30, close_timeout=2,
    )
    host, port = server.sockets[0].getsockname()[:2]
    h = f"[{host}]" if ":" in host else host
    print(f"chat_server.py listening on http://{h}:{port}/ (WebSocket endpoint ws://{h}:{port}{CHAT_PATH})", flush=True)

    await stop
    # Shutdown as wshub does it: 1001 Going Away to everyone, a bounded wait for their close, exit 0.
    server.server.close()  # stop listening first (the asyncio server under websockets' own)
    closing = [asyncio.ensure_future(c.ws.close(1001, "server shutting down")) for c in list(chat.clients.values())]
    if closing:
        await asyncio.wait(closing, timeout=3)
    server.close()  # anything left (a handshake in progress) gets 1001 from websockets itself
    await asyncio.wait_for(server.wait_closed(), timeout=3)
    return 0


if __name__ == "__main__":
    arguments = parse_args()
    try:
        sys.exit(asyncio.run(main(arguments)))
    except OSError as err:
        sys.exit(f"chat_server.py: cannot listen on {arguments.host}:{arguments.port}: {err}")
