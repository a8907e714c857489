"""A tiny shop backend that sells age-restricted goods and checks age with UIP (stdlib only).

POST /checkout          creates a UIP session (age 21+) for a new order -> {"order", "session_id", "url"}
POST /uip-webhook       receives UIP's signed webhooks and settles the order
GET  /orders/{order}    the order's state: awaiting_age_check | approved | refused | failed
"""

import hashlib
import hmac
import json
import os
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UIP_API_URL = os.environ["UIP_API_URL"]  # http://uip-sandbox:8787/v1 in docker-compose.yml
UIP_API_KEY = os.environ["UIP_API_KEY"]
UIP_WEBHOOK_SECRET = os.environ["UIP_WEBHOOK_SECRET"]

orders: dict[str, str] = {}
lock = threading.Lock()


def create_session(order: str) -> dict:
    body = {"steps": [{"primitive": "age_verify", "params": {"min_age": 21}}], "client_reference_id": order}
    req = urllib.request.Request(
        f"{UIP_API_URL}/sessions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {UIP_API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def verified(headers, body: bytes) -> bool:
    """HMAC-SHA256 over `{X-UIP-Timestamp}.{raw body}`, hex; timestamps older than 5 minutes are refused."""
    ts = headers.get("X-UIP-Timestamp", "")
    if not (ts.isascii() and ts.isdigit()) or abs(time.time() - int(ts)) > 300:
        return False
    expected = hmac.new(UIP_WEBHOOK_SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), headers.get("X-UIP-Signature", "").lower().encode())


class Shop(BaseHTTPRequestHandler):
    def reply(self, status: int, payload=None):
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/checkout":
            order = f"order_{uuid.uuid4().hex[:12]}"
            session = create_session(order)
            with lock:
                orders[order] = "awaiting_age_check"
            return self.reply(200, {"order": order, "session_id": session["id"], "url": session["url"]})
        if self.path == "/uip-webhook":
            if not verified(self.headers, body):
                return self.reply(401)
            event = json.loads(body)
            data = event["data"]
            order = data.get("client_reference_id")
            with lock:
                if order in orders and orders[order] == "awaiting_age_check":
                    if event["event"] == "step.completed" and data.get("primitive") == "age_verify":
                        orders[order] = "approved" if data["satisfied"] else "refused"
                    elif event["event"] in ("session.failed", "session.expired", "session.stopped"):
                        orders[order] = "failed"
            return self.reply(204)  # unknown events are acknowledged and ignored
        self.reply(404, {"error": "not found"})

    def do_GET(self):
        order = self.path.removeprefix("/orders/")
        with lock:
            state = orders.get(order)
        if state is None:
            return self.reply(404, {"error": "no such order"})
        self.reply(200, {"order": order, "state": state})


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    print(f"shop listening on 0.0.0.0:{port}, UIP at {UIP_API_URL}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Shop).serve_forever()
