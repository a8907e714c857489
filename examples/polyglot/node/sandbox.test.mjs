// The sandbox in a container, driven from Node: create a session, play the user, receive the
// signed webhooks and check what they claim. `node --test` (Node 20+, no dependencies).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import net from "node:net";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Receiver } from "./receiver.mjs";

const IMAGE = process.env.UIP_SANDBOX_IMAGE ?? "uip-sandbox:dev";
let base; // the sandbox's URL
let container; // the container's name, when this file started it
let apiKey;
const receiver = new Receiver();

async function freePort() {
  const server = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitHealthy(url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return;
    } catch {} // not listening yet
    if (Date.now() > deadline) throw new Error(`the sandbox at ${url} is not healthy`);
    await sleep(200);
  }
}

async function call(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
  });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  let webhookHost;
  if (process.env.UIP_SANDBOX_URL) {
    base = process.env.UIP_SANDBOX_URL.replace(/\/$/, "");
    webhookHost = process.env.UIP_WEBHOOK_HOST ?? "127.0.0.1";
  } else {
    const port = await freePort();
    container = `uip-sandbox-node-${process.pid}`;
    execFileSync("docker", [
      "run", "-d", "--rm", "--name", container,
      "-p", `127.0.0.1:${port}:8787`,
      // Hosted-page links in create responses point where a browser on this host finds them.
      "-e", `UIP_SANDBOX_PUBLIC_URL=http://127.0.0.1:${port}`,
      // A rejected webhook is retried after 200 ms instead of 1 s.
      "-e", "UIP_SANDBOX_RETRY_BASE_MS=200",
      // The container reaches this host (and the receiver below) as host.docker.internal.
      "--add-host", "host.docker.internal:host-gateway",
      IMAGE,
    ]);
    base = `http://127.0.0.1:${port}`;
    webhookHost = process.env.UIP_WEBHOOK_HOST ?? "host.docker.internal";
  }
  await waitHealthy(base);
  await receiver.listen();
  // A fresh business whose webhooks go to the receiver.
  const res = await fetch(`${base}/_sandbox/businesses`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ webhook_url: `http://${webhookHost}:${receiver.port}/uip-webhook`, name: "node" }),
  });
  assert.equal(res.status, 200);
  const business = await res.json();
  apiKey = business.api_key;
  receiver.secret = business.webhook_secret;
});

after(() => {
  receiver.close();
  if (container) execFileSync("docker", ["stop", container]);
});

async function create(body) {
  const { status, body: session } = await call("POST", "/v1/sessions", body);
  assert.equal(status, 200, JSON.stringify(session));
  assert.equal(session.status, "created");
  assert.ok(session.url.endsWith(`/s/${session.id}`), session.url);
  return session.id;
}

async function simulate(sessionId, user = {}) {
  const { status, body } = await call("POST", `/_sandbox/sessions/${sessionId}/simulate`, user);
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

const identifyThenAge = {
  steps: [
    { primitive: "identify", params: { blocks: ["first_name", "last_name", "dob"] } },
    { primitive: "age_verify", params: { min_age: 21 } },
  ],
  client_reference_id: "order_4815",
};

test("an adult is identified and passes the age check", async () => {
  const sid = await create(identifyThenAge);
  assert.equal((await simulate(sid, { persona: "jane-doe" })).status, "completed");

  const events = await receiver.waitFor(sid, 3);
  assert.deepEqual(events.map((e) => e.event), ["step.completed", "step.completed", "session.completed"]);
  assert.deepEqual(events.map((e) => e.delivery_id), [
    `${sid}:step.completed:0`, `${sid}:step.completed:1`, `${sid}:session.completed`,
  ]);
  const [identify, age, done] = events.map((e) => e.data);
  assert.equal(identify.primitive, "identify");
  assert.deepEqual(identify.claims, { first_name: "Jane", last_name: "Doe", dob: "1990-04-01" });
  assert.equal(identify.client_reference_id, "order_4815");
  assert.deepEqual([age.stage, age.primitive, age.satisfied, age.min_age], [1, "age_verify", true, 21]);
  assert.equal(done.status, "completed");
  assert.equal((await call("GET", `/v1/sessions/${sid}`)).body.status, "completed");
});

test("a minor completes but does not satisfy the age check", async () => {
  const sid = await create({ steps: [{ primitive: "age_verify", params: { min_age: 18 } }] });
  await simulate(sid, { persona: "minor" });

  const [step, done] = await receiver.waitFor(sid, 2);
  assert.deepEqual([step.event, step.data.satisfied, step.data.min_age], ["step.completed", false, 18]);
  assert.equal(step.data.dob, undefined); // an age check never discloses the birth date
  assert.equal(done.event, "session.completed");
});

test("a tampered credential fails the session", async () => {
  const sid = await create(identifyThenAge);
  assert.equal((await simulate(sid, { persona: "tampered" })).status, "failed");

  const [failed] = await receiver.waitFor(sid, 1);
  assert.equal(failed.event, "session.failed");
  assert.equal(failed.data.status, "failed");
  assert.equal(failed.data.reason, "integrity_check_failed");
});

test("the receiver rejects forged and stale deliveries", async () => {
  const sid = await create({ steps: [{ primitive: "age_verify" }] });
  await simulate(sid);
  await receiver.waitFor(sid, 2);
  const deliveryId = `${sid}:session.completed`;

  for (const [n, fault] of [[1, "bad_signature"], [2, "stale_timestamp"]]) {
    const rejected = receiver.rejected;
    const res = await call("POST", `/_sandbox/deliveries/${encodeURIComponent(deliveryId)}/redeliver`, { fault });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await receiver.until(() => receiver.rejected > rejected, `the ${fault} delivery`);
    // The sandbox retries the refused attempt, correctly signed: the receiver acknowledges it
    // and keeps one event per delivery id.
    const entry = await waitDelivered(sid, deliveryId, 1 + 2 * n);
    assert.deepEqual(entry.attempts.map((a) => a.status_code), [204, ...Array(n).fill([401, 204]).flat()]);
  }
  assert.equal(receiver.events.filter((e) => e.data.session_id === sid).length, 2);
});

async function waitDelivered(sessionId, deliveryId, attempts, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await call("GET", `/_sandbox/deliveries?session_id=${sessionId}`);
    const entry = body.deliveries.find((d) => d.delivery_id === deliveryId);
    if (entry.status === "delivered" && entry.attempts.length >= attempts) return entry;
    assert.ok(Date.now() < deadline, JSON.stringify(entry));
    await sleep(100);
  }
}
