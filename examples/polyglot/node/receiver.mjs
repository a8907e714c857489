// A UIP webhook receiver, written from the public docs (docs/UIP-API.md §6).
//
// Every delivery is a POST with X-UIP-Event, X-UIP-Timestamp, X-UIP-Signature and X-UIP-Delivery-Id.
// The signature is lowercase hex HMAC-SHA256, keyed with the whole webhook secret (UTF-8), over
// `${X-UIP-Timestamp}.${raw body}`. Verify the raw bytes before parsing, reject stale timestamps,
// and dedupe on the delivery id (delivery is at-least-once).
import crypto from "node:crypto";
import http from "node:http";
import { once } from "node:events";

const TOLERANCE_S = 300;

export function verify(secret, timestamp, body, signature, now = Date.now() / 1000) {
  if (!/^\d+$/.test(timestamp ?? "") || Math.abs(now - Number(timestamp)) > TOLERANCE_S) return false;
  const expected = crypto.createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest();
  const given = Buffer.from(signature ?? "", "hex");
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

export class Receiver {
  secret = "";
  events = []; // verified, deduplicated: {delivery_id, event, data}
  rejected = 0;
  #seen = new Set();
  #waiters = new Set();

  async listen(host = "0.0.0.0") {
    this.server = http.createServer(async (req, res) => {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      const id = req.headers["x-uip-delivery-id"];
      if (!id || !verify(this.secret, req.headers["x-uip-timestamp"], body, req.headers["x-uip-signature"])) {
        this.rejected += 1;
        res.writeHead(401).end();
      } else {
        if (!this.#seen.has(id)) { // a retry or duplicate: acknowledge only
          this.#seen.add(id);
          this.events.push({ delivery_id: id, ...JSON.parse(body) });
        }
        res.writeHead(204).end();
      }
      for (const wake of this.#waiters) wake();
    });
    this.server.listen(0, host);
    await once(this.server, "listening");
    this.port = this.server.address().port;
    return this;
  }

  /** Resolves when `ready()` holds, checking after every delivery; rejects after `timeoutMs`. */
  async until(ready, what, timeoutMs = 30_000) {
    if (ready()) return;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.#waiters.delete(wake); reject(new Error(`timed out: ${what}`)); }, timeoutMs);
      const wake = () => { if (ready()) { clearTimeout(timer); this.#waiters.delete(wake); resolve(); } };
      this.#waiters.add(wake);
    });
  }

  /** The first `count` events of one session, waiting for them to arrive. */
  async waitFor(sessionId, count) {
    const mine = () => this.events.filter((e) => e.data.session_id === sessionId);
    await this.until(() => mine().length >= count, `${count} events for ${sessionId}`);
    return mine().slice(0, count);
  }

  close() {
    this.server.closeAllConnections();
    this.server.close();
  }
}
