"""Payloads and reporting shared by the python-websockets interop peers (mirrors test/helpers/index.mjs)."""
import hashlib
import json
import sys

# The sizes of issue 2: 0 B, 1 B, 64 KiB and 8 MiB.
SIZES = [0, 1, 64 * 1024, 8 * 1024 * 1024]
MAX_SIZE = 16 * 1024 * 1024

# A fragmented message, fragment by fragment, and what the receiver must see as one message.
TEXT_FRAGMENTS = ["frag", "mént", "", "ed ✓"]
BINARY_FRAGMENTS = [b"\x00\x01", b"", b"\x02\x03\x04"]


def text_payload(n):
    """Exactly n UTF-8 bytes mixing 1-, 2-, 3- and 4-byte code points."""
    return "aé✓😀" * (n // 10) + "x" * (n % 10)


def binary_payload(n):
    """n pseudo-random bytes: SHAKE-256 of "wshub-<n>"."""
    return hashlib.shake_256(b"wshub-%d" % n).digest(n) if n else b""


def payload(kind, n):
    return text_payload(n) if kind == "text" else binary_payload(n)


def describe(message):
    """kind, byte size and SHA-256 of a received message."""
    raw = message.encode("utf-8") if isinstance(message, str) else bytes(message)
    kind = "text" if isinstance(message, str) else "binary"
    return {"kind": kind, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}


def emit(event, **fields):
    """One JSON line on stdout per observation; the Node test asserts on them."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()
