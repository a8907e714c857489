// Browser end-to-end test of the sandbox's dashboard (GET /_sandbox/ui), run by run.sh with `node --test`.
//
// Needs: UIP_SANDBOX_URL (a running sandbox, started by run.sh on loopback), Debian's /usr/bin/chromium
// (or CHROMIUM_PATH) and playwright-core. Optional: UIP_API_KEY (the default business's key, default
// uip_test_sandbox), UIP_SCREENSHOT_DIR (default <workspace>/target/browser-screenshots).
//
// The scenario works in a business of its own (created here), so that rotating its secret or advancing
// its clock cannot disturb another test running against the same sandbox.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { BASE, DEFAULT_KEY, ORIGIN, eventually, launchBrowser, request, shot } from "./support.mjs";

const DESKTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
});

// ---- helpers ---------------------------------------------------------------------------------

function call(key, method, p, body) {
  return request(method, p, { key, body });
}

const row = (page, id) => page.locator(`[data-testid="session-row"][data-session-id="${id}"]`);

async function rowStatus(page, id) {
  return (await row(page, id).getByTestId("session-status").textContent()) || "";
}

async function waitRowStatus(page, id, status) {
  await eventually(async () => (await rowStatus(page, id)) === status, {
    what: `session ${id} row to show ${status} (shows ${await rowStatus(page, id).catch(() => "?")})`,
  });
}

/** The attempts the timeline shows for one delivery: their data-status, in order. */
async function attempts(page, deliveryId) {
  return page
    .getByTestId("timeline")
    .locator(`[data-testid="delivery-attempt"][data-delivery-id="${deliveryId}"]`)
    .evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
}

const is2xx = (s) => /^2\d\d$/.test(s);

/** A page that records console errors (CSP violations included) and refuses any request off the sandbox. */
async function dashboardPage(viewport) {
  const ctx = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const offsite = [];
  await ctx.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(ORIGIN + "/") || u.startsWith("data:")) return route.continue();
    offsite.push(u);
    return route.abort();
  });
  const page = await ctx.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.on("dialog", (d) => d.accept());
  return { ctx, page, offsite, problems };
}

// ---- the scenario ----------------------------------------------------------------------------

test("dashboard: see a session, simulate it to completion, watch deliveries, redeliver with a fault, stop at a gate", async () => {
  // A business of this test's own, delivering to the built-in inbox (which verifies signatures).
  const created = await call(null, "POST", "/_sandbox/businesses", {
    name: "Dashboard test shop",
    webhook_url: `${BASE}/_sandbox/inbox`,
  });
  assert.equal(created.status, 200, created.text);
  const KEY = created.json.api_key;

  const { ctx, page, offsite, problems } = await dashboardPage(DESKTOP);
  try {
    // 1. The page, from loopback: the default business's key is prefilled.
    const res = await page.goto(`${BASE}/_sandbox/ui`);
    assert.equal(res.status(), 200);
    assert.match(res.headers()["content-security-policy"], /script-src 'self'/);
    assert.equal(await page.getByTestId("api-key").inputValue(), DEFAULT_KEY);

    // Use this test's business instead.
    await page.getByTestId("api-key").fill(KEY);
    await page.getByTestId("api-key-use").click();
    await eventually(async () => (await page.getByTestId("business-name").textContent()) === "Dashboard test shop", {
      what: "the business view",
    });
    assert.equal(await page.getByTestId("business-webhook-url").textContent(), `${BASE}/_sandbox/inbox`);
    assert.match(await page.getByTestId("business-balance").textContent(), /\(100000 cents\)/);
    assert.equal(await page.getByTestId("business-trust").textContent(), "demo");
    assert.match(await page.getByTestId("business-clock").textContent(), /^0 s/);

    // 2. A session created by API shows up without a reload.
    const ref = `order-${Date.now()}`;
    const s1 = await call(KEY, "POST", "/v1/sessions", {
      steps: [{ primitive: "identify" }, { primitive: "age_verify", params: { min_age: 18 } }],
      client_reference_id: ref,
    });
    assert.equal(s1.status, 200, s1.text);
    const id1 = s1.json.id;
    await waitRowStatus(page, id1, "created");
    await shot(page, "dashboard-1-sessions-desktop.png");

    // Filter by client_reference_id: only that session; by a status it does not have: none.
    const other = await call(KEY, "POST", "/v1/sessions", { steps: [{ primitive: "identify" }] });
    assert.equal(other.status, 200, other.text);
    await eventually(async () => (await row(page, other.json.id).count()) === 1, { what: "the second session's row" });
    await page.getByTestId("filter-reference").fill(ref);
    await page.getByTestId("filter-reference").press("Enter");
    await eventually(async () => (await page.getByTestId("session-row").count()) === 1, { what: "filtered list" });
    assert.equal(await row(page, id1).count(), 1);
    await page.getByTestId("filter-status").selectOption("completed");
    await eventually(async () => (await page.getByTestId("session-row").count()) === 0, { what: "empty filtered list" });
    await page.getByTestId("filter-status").selectOption("");
    await page.getByTestId("filter-reference").fill("");
    await page.getByTestId("filter-reference").press("Enter");
    await eventually(async () => (await page.getByTestId("session-row").count()) === 2, { what: "unfiltered list" });

    // 3. Open it: the timeline shows the create request from the journal.
    await row(page, id1).click();
    const timeline = page.getByTestId("timeline");
    await eventually(async () => /POST \/v1\/sessions/.test(await timeline.textContent()), {
      what: "the create request in the timeline",
    });

    // 4. Simulate as jane-doe from the dashboard: completed; the deliveries arrive, each 2xx.
    await page.getByTestId("simulate-persona").selectOption("jane-doe");
    await page.getByTestId("simulate").click();
    await waitRowStatus(page, id1, "completed");
    const ids = [`${id1}:step.completed:0`, `${id1}:step.completed:1`, `${id1}:session.completed`];
    for (const d of ids) {
      await eventually(async () => (await attempts(page, d)).some(is2xx), { what: `a 2xx attempt of ${d}` });
    }
    assert.deepEqual(await attempts(page, ids[2]), ["204"]);
    await eventually(async () => /session completed/.test(await timeline.textContent()), { what: "the state change" });
    // Over: nothing left to simulate, no gate to decide, no hosted page to open.
    await eventually(async () => !(await page.getByTestId("simulate").isEnabled()), { what: "simulate off once completed" });
    assert.ok(!(await page.getByTestId("continue").isEnabled()));
    assert.ok(!(await page.getByTestId("stop").isEnabled()));
    assert.ok(!(await page.getByTestId("open-hosted-page").isVisible()));
    await shot(page, "dashboard-2-timeline-completed-desktop.png");

    // 5. Redeliver session.completed with bad_signature: the receiver refuses that attempt, the
    //    retry (signed right) is accepted.
    const delivery = page.locator(`[data-testid="timeline-delivery"][data-delivery-id="${ids[2]}"]`);
    await delivery.getByTestId("redeliver-fault").selectOption("bad_signature");
    await delivery.getByTestId("redeliver").click();
    await eventually(async () => (await attempts(page, ids[2])).length >= 3, { what: "the failed attempt and the retry" });
    const seen = await attempts(page, ids[2]);
    assert.equal(seen[0], "204");
    assert.ok(!is2xx(seen[1]), `the bad_signature attempt is refused, got ${seen[1]}`);
    assert.equal(seen[2], "204", "the clean retry is accepted");
    // The API agrees with what the page shows.
    const log = await call(KEY, "GET", `/_sandbox/deliveries?session_id=${id1}`);
    const entry = log.json.deliveries.find((d) => d.delivery_id === ids[2]);
    assert.deepEqual(entry.attempts.map((a) => String(a.status_code ?? "error")), seen);
    // A body is viewable.
    await delivery.locator("details.body summary").click();
    assert.match(await delivery.locator("details.body pre").textContent(), /"event": "session.completed"/);
    await shot(page, "dashboard-3-timeline-redelivered-desktop.png");

    // The same timeline at phone width.
    await page.setViewportSize(PHONE);
    await delivery.scrollIntoViewIfNeeded();
    await shot(page, "dashboard-4-timeline-phone.png");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no sideways scrolling at phone width (overflow ${overflow}px)`);
    await page.setViewportSize(DESKTOP);

    // 6. A gated session: simulate pauses it at the gate; stop ends it there.
    const s2 = await call(KEY, "POST", "/v1/sessions", {
      steps: [{ primitive: "identify", gate: true }, { primitive: "age_verify" }],
    });
    assert.equal(s2.status, 200, s2.text);
    const id2 = s2.json.id;
    await waitRowStatus(page, id2, "created");
    await row(page, id2).click();
    await eventually(async () => (await page.getByTestId("session-id").textContent()) === id2, { what: "session 2 open" });
    // Not started yet: the hosted page can be opened in a new tab (it would bind the session to it).
    await eventually(async () => await page.getByTestId("open-hosted-page").isVisible(), { what: "the hosted-page link" });
    assert.equal(await page.getByTestId("open-hosted-page").getAttribute("href"), `${BASE}/s/${id2}`);
    assert.equal(await page.getByTestId("open-hosted-page").getAttribute("target"), "_blank");
    await page.getByTestId("simulate").click();
    await waitRowStatus(page, id2, "awaiting_decision");
    await eventually(async () => await page.getByTestId("stop").isEnabled(), { what: "stop enabled at the gate" });
    assert.ok(await page.getByTestId("continue").isEnabled());
    await shot(page, "dashboard-5-gate-desktop.png");
    await page.getByTestId("stop").click();
    await waitRowStatus(page, id2, "stopped");
    await eventually(async () => (await attempts(page, `${id2}:session.stopped`)).some(is2xx), {
      what: "session.stopped delivered",
    });
    await eventually(async () => new RegExp(`POST /v1/sessions/${id2}/stop`).test(await timeline.textContent()), {
      what: "the stop request in the timeline",
    });
    assert.ok(!(await page.getByTestId("continue").isEnabled()), "continue is off once stopped");
    const view = await call(KEY, "GET", `/v1/sessions/${id2}`);
    assert.equal(view.json.status, "stopped");
    await shot(page, "dashboard-6-stopped-desktop.png");

    // 7. Advance the clock and rotate the secret from the business panel.
    await page.getByTestId("clock-seconds").fill("90");
    await page.getByTestId("clock-advance").click();
    await eventually(async () => /^\+1 min 30 s/.test(await page.getByTestId("business-clock").textContent()), {
      what: "the clock offset",
    });
    const before = (await call(KEY, "GET", "/_sandbox/business")).json.webhook_secret;
    await page.getByTestId("rotate-secret").click();
    await eventually(async () => (await call(KEY, "GET", "/_sandbox/business")).json.webhook_secret !== before, {
      what: "a new secret",
    });
    await shot(page, "dashboard-7-business-desktop.png");

    assert.deepEqual(offsite, [], "the dashboard requested nothing off the sandbox");
    assert.deepEqual(problems, [], "no console error, no CSP violation");
  } finally {
    await ctx.close();
  }
});

test("dashboard: without the key, a wrong key says so and shows no business", async () => {
  const { ctx, page } = await dashboardPage(PHONE);
  try {
    await page.goto(`${BASE}/_sandbox/ui`);
    await page.getByTestId("api-key").fill("uip_test_wrong");
    await page.getByTestId("api-key-use").click();
    await eventually(async () => /auth\/invalid-api-key/.test(await page.getByTestId("live").textContent()), {
      what: "the invalid-key message",
    });
    assert.equal(await page.getByTestId("business-name").textContent(), "—");
    await shot(page, "dashboard-8-wrong-key-phone.png");
  } finally {
    await ctx.close();
  }
});
