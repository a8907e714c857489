#!/usr/bin/env python3
"""A UIP webhook receiver in Python, standard library only, written from the public docs
(docs/UIP-API.md §6): it verifies every delivery before it trusts it.

    message   = X-UIP-Timestamp (as sent) + "." + raw request body
    signature = hex(HMAC-SHA256(key = the whole uip_whsec_... secret, message))

For each POST it checks, in order: the four X-UIP-* headers are present; the timestamp is decimal
Unix seconds within TOLERANCE_S of this machine's clock (bounds replays); the signature is 64 hex
characters and equals the HMAC over the raw bytes (constant-time compare); the body is a JSON
object whose "event" is X-UIP-Event. Anything else is refused (400/401) and not looked at further.
A delivery id already handled is acknowledged (200) without handling it twice: deliveries are
at least once. An event type it does not know is acknowledged and ignored, so a new event type
cannot break it. Any 2xx tells UIP the delivery succeeded; anything else is retried.

Run it, then check it with the sandbox:

    UIP_WEBHOOK_SECRET=uip_whsec_sandbox python3 examples/receivers/python/receiver.py --port 4000
    uip-sandbox check-receiver http://127.0.0.1:4000/uip-webhook
    uip-sandbox trigger step.completed --to http://127.0.0.1:4000/uip-webhook

The secret comes from UIP_WEBHOOK_SECRET (default: the sandbox's uip_whsec_sandbox); it is never
printed. --port 0 picks a free port; the first line printed is the URL to deliver to.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = "/uip-webhook"
TOLERANCE_S = 300  # both directions, as the kit's Rust verifier does
MAX_BODY = 1024 * 1024
DEDUPE_FOR_S = 72 * 3600  # UIP retries a delivery for up to 72 h
DEDUPE_MAX = 100_000
HEX = frozenset("0123456789abcdefABCDEF")


class Seen:
    """Delivery ids already handled, forgotten after DEDUPE_FOR_S (and beyond DEDUPE_MAX ids)."""

    def __init__(self):
        self._ids = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, delivery_id):
        """True the first time an id is seen (the caller handles it); False for a repeat."""
        with self._lock:
            self._expire()
            if delivery_id in self._ids:
                return False
            self._ids[delivery_id] = time.monotonic()
            return True

    def forget(self, delivery_id):
        """Handling failed: let the retry handle it."""
        with self._lock:
            self._ids.pop(delivery_id, None)

    def _expire(self):
        now = time.monotonic()
        while self._ids:
            oldest, at = next(iter(self._ids.items()))
            if now - at <= DEDUPE_FOR_S and len(self._ids) <= DEDUPE_MAX:
                break
            self._ids.pop(oldest)


class Refused(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify(secret, headers, body, now):
    """Returns (event name, delivery id, parsed body) of a genuine delivery, or raises Refused."""
    values = {}
    for name in ("X-UIP-Event", "X-UIP-Timestamp", "X-UIP-Signature", "X-UIP-Delivery-Id"):
        value = headers.get(name)
        if not value:
            raise Refused(400, f"missing {name}")
        values[name] = value
    timestamp = values["X-UIP-Timestamp"]
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise Refused(400, "X-UIP-Timestamp is not decimal Unix seconds")
    if abs(now - int(timestamp)) > TOLERANCE_S:
        raise Refused(401, "X-UIP-Timestamp is outside the tolerance")
    signature = values["X-UIP-Signature"]
    if len(signature) != 64 or not set(signature) <= HEX:
        raise Refused(401, "X-UIP-Signature is not 64 hex characters")
    expected = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise Refused(401, "signature mismatch")
    try:
        payload = json.loads(body)
    except ValueError:
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(payload, dict) or payload.get("event") != values["X-UIP-Event"]:
        raise Refused(400, "the body's event differs from X-UIP-Event")
    return values["X-UIP-Event"], values["X-UIP-Delivery-Id"], payload


def handle(event, payload):
    """Your business logic. Known events are handled; unknown ones are ignored."""
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    session = data.get("session_id")
    if event == "step.completed":
        log(f"handled step.completed: session {session}, stage {data.get('stage')}, {data.get('primitive')}")
    elif event in ("session.completed", "session.stopped", "session.failed", "session.expired"):
        reason = f" ({data['reason']})" if "reason" in data else ""
        log(f"handled {event}: session {session}{reason}")
    else:
        log(f"ignored unknown event {event}")


def log(line):
    print(line, file=sys.stderr, flush=True)


def make_handler(secret, seen):
    class Handler(BaseHTTPRequestHandler):
        server_version = "uip-python-receiver"

        def do_POST(self):
            if self.path != PATH:
                return self.answer(404, "not found")
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self.answer(411, "Content-Length required")
            if length < 0 or length > MAX_BODY:
                return self.answer(413, "body too large")
            body = self.rfile.read(length)
            try:
                event, delivery_id, payload = verify(secret, self.headers, body, int(time.time()))
            except Refused as refused:
                log(f"refused a delivery: {refused.reason}")
                return self.answer(refused.status, refused.reason)
            if not seen.claim(delivery_id):
                return self.answer(200, "already handled")
            try:
                handle(event, payload)
            except Exception as error:  # noqa: BLE001 (any failure: let UIP retry the delivery)
                seen.forget(delivery_id)
                log(f"could not handle {event}: {error}")
                return self.answer(500, "could not handle it, retry later")
            return self.answer(200, "ok")

        def answer(self, status, text):
            data = json.dumps({"status": text}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
            pass  # one line per delivery is logged by do_POST/handle instead

    return Handler


def main():
    parser = argparse.ArgumentParser(description="A verifying UIP webhook receiver (stdlib only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4000, help="0 picks a free port")
    args = parser.parse_args()
    secret = os.environ.get("UIP_WEBHOOK_SECRET", "uip_whsec_sandbox").encode("utf-8")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(secret, Seen()))
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}{PATH}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
