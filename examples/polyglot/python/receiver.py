"""A UIP webhook receiver, written from the public docs (docs/UIP-API.md §6).

Every delivery is a POST with X-UIP-Event, X-UIP-Timestamp, X-UIP-Signature and X-UIP-Delivery-Id.
The signature is lowercase hex HMAC-SHA256, keyed with the whole webhook secret (UTF-8), over
`{X-UIP-Timestamp}.{raw body}`. Verify the raw bytes before parsing, reject stale timestamps,
and dedupe on the delivery id (delivery is at-least-once).
"""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None) -> bool:
    """True when `signature` is the HMAC of `{timestamp}.{body}` and the timestamp is fresh."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_S:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


class Receiver:
    """An HTTP server on a free port that keeps the verified events, in arrival order."""

    def __init__(self, secret: str = "", host: str = "0.0.0.0"):
        self.secret = secret
        self.events: list[dict] = []  # verified, deduplicated: {"delivery_id", "event", "data"}
        self.rejected = 0
        self._seen: set[str] = set()
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ts = self.headers.get("X-UIP-Timestamp", "")
                sig = self.headers.get("X-UIP-Signature", "")
                delivery_id = self.headers.get("X-UIP-Delivery-Id", "")
                if not delivery_id or not verify(receiver.secret, ts, body, sig):
                    with receiver._cond:
                        receiver.rejected += 1
                        receiver._cond.notify_all()
                    self.send_response(401)
                    self.end_headers()
                    return
                envelope = json.loads(body)
                with receiver._cond:
                    if delivery_id not in receiver._seen:  # a retry or duplicate: acknowledge only
                        receiver._seen.add(delivery_id)
                        receiver.events.append({"delivery_id": delivery_id, **envelope})
                    receiver._cond.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def wait_for(self, session_id: str, count: int, timeout: float = 30) -> list[dict]:
        """The first `count` events of one session, waiting for them to arrive."""

        def mine():
            return [e for e in self.events if e["data"]["session_id"] == session_id]

        with self._cond:
            if not self._cond.wait_for(lambda: len(mine()) >= count, timeout):
                raise AssertionError(f"{len(mine())} of {count} events for {session_id} after {timeout}s")
            return mine()[:count]

    def wait_rejected(self, count: int, timeout: float = 30) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.rejected >= count, timeout):
                raise AssertionError(f"{self.rejected} of {count} rejections after {timeout}s")

    def close(self):
        self._server.shutdown()
        self._server.server_close()
