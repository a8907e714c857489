// Browser end-to-end test of the sandbox's hosted page (/s/{id}), run by run.sh with `node --test`.
//
// Needs: UIP_SANDBOX_URL (a running sandbox), Debian's /usr/bin/chromium (or CHROMIUM_PATH) and
// playwright-core (no browser download: the system chromium is driven over CDP).
// Optional: UIP_API_KEY (default uip_test_sandbox), UIP_SCREENSHOT_DIR (default
// <workspace>/target/browser-screenshots).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import { BASE, DEFAULT_KEY as KEY, ORIGIN, eventually, launchBrowser, request, shot } from "./support.mjs";

const VIEWPORT = { width: 390, height: 844 };
const RETURN_URL = "https://shop.example.com/done";
const TERMS =
  "1. You agree to pay for the items in your basket.\n" +
  "2. Returns are accepted within 30 days.\n" +
  "3. These terms are governed by the laws of the State of Delaware.";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
});

// ---- helpers ---------------------------------------------------------------------------------

function api(method, p, { body, auth = true, form } = {}) {
  return request(method, p, { key: auth ? KEY : undefined, body, form });
}

async function createSession(body) {
  const res = await api("POST", "/v1/sessions", { body });
  assert.equal(res.status, 200, `create session: ${res.text}`);
  return res.json;
}

const text = (page, id) => page.getByTestId(id).first().textContent();

async function waitStatus(page, status, timeout = 10_000) {
  await eventually(async () => (await text(page, "status")) === status, {
    timeout,
    what: `status ${status} (page shows ${await text(page, "status").catch(() => "?")})`,
  });
}

async function waitText(page, id, expected, timeout = 10_000) {
  await eventually(
    async () => {
      const t = (await text(page, id)) || "";
      return expected instanceof RegExp ? expected.test(t) : t.includes(expected);
    },
    { timeout, what: `[data-testid=${id}] to show ${expected}` },
  );
}

/** A context as a phone would have it, that refuses (and records) any request off the sandbox. */
async function phoneContext() {
  const ctx = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, hasTouch: true });
  const offsite = [];
  await ctx.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(ORIGIN + "/") || u.startsWith("data:")) return route.continue();
    offsite.push(u);
    return route.abort();
  });
  return { ctx, offsite };
}

function watchConsole(page) {
  const lines = [];
  page.on("console", (m) => lines.push(m.text()));
  page.on("pageerror", (e) => lines.push("pageerror: " + e.message));
  return lines;
}

/** Every answer the page gets (its documents, script and transport calls), with its text. */
function watchAnswers(page) {
  const answers = [];
  page.on("response", async (r) => {
    const entry = { url: r.url(), status: r.status(), text: "" };
    answers.push(entry);
    try {
      entry.text = await r.text();
    } catch {
      // A redirect or an aborted request has no body.
    }
  });
  return answers;
}

const sha256hex = (buf) => createHash("sha256").update(buf).digest("hex");

// ---- tests -----------------------------------------------------------------------------------

test("3-step session with a gate: share, wait, continue, decline, share, completed, webhooks", async () => {
  const session = await createSession({
    steps: [
      { primitive: "identify", gate: true, params: { blocks: ["first_name", "last_name", "dob"] } },
      { primitive: "age_verify", params: { min_age: 21 } },
      { primitive: "light_sign", params: { title: "Store terms", terms: TERMS } },
    ],
    return_url: RETURN_URL,
    client_reference_id: "browser-test-order-1",
  });
  const id = session.id;
  assert.match(id, /^sess_[0-9A-Za-z]{24}$/);
  assert.equal(session.url, `${BASE}/s/${id}`);

  const { ctx, offsite } = await phoneContext();
  const page = await ctx.newPage();
  const consoleLines = watchConsole(page);
  const answers = watchAnswers(page);

  // -- open: binds this browser (HttpOnly cookie scoped to /s/{id}) and shows step 1.
  const resp = await page.goto(session.url);
  assert.equal(resp.status(), 200);
  const csp = resp.headers()["content-security-policy"] || "";
  assert.match(csp, /script-src 'self'/, "the page has a restrictive CSP");

  const cookies = await ctx.cookies(BASE + `/s/${id}`);
  const bind = cookies.find((c) => c.name === "uip_bind");
  assert.ok(bind, "the GET set the uip_bind cookie");
  assert.equal(bind.httpOnly, true);
  assert.equal(bind.sameSite, "Strict");
  assert.equal(bind.path, `/s/${id}`);
  const token = bind.value;
  assert.ok(token.length >= 16);

  await waitStatus(page, "in_progress");
  assert.equal(await text(page, "step-title"), "Share your details");
  assert.equal(await text(page, "progress"), "Step 1 of 3");
  assert.ok(((await text(page, "business-name")) || "").trim().length > 0, "business name shown");
  const blocks = await page.getByTestId("blocks").locator("li .label").allTextContents();
  assert.deepEqual(blocks, ["First name", "Last name", "Date of birth"]);

  // Selects are labelled; default persona jane-doe; both wallets can identify.
  assert.equal(await page.getByLabel("Wallet", { exact: true }).getAttribute("data-testid"), "wallet-select");
  assert.equal(await page.getByLabel("Test persona", { exact: true }).getAttribute("data-testid"), "persona-select");
  assert.equal(await page.getByTestId("persona-select").inputValue(), "jane-doe");
  const personaOptions = await page.getByTestId("persona-select").locator("option").evaluateAll((os) =>
    os.map((o) => o.value),
  );
  for (const p of ["jane-doe", "minor", "no-portrait", "expired-credential", "tampered", "untrusted-issuer"]) {
    assert.ok(personaOptions.includes(p), `persona ${p} offered`);
  }
  const walletOptions = await page.getByTestId("wallet-select").locator("option").evaluateAll((os) =>
    os.map((o) => ({ value: o.value, disabled: o.disabled, text: o.textContent })),
  );
  assert.deepEqual(
    walletOptions.map((o) => [o.value, o.disabled]),
    [
      ["apple-wallet", false],
      ["google-wallet", false],
    ],
  );
  assert.ok(walletOptions[0].text.includes("Apple Wallet") && walletOptions[1].text.includes("Google Wallet"));

  // Logical keyboard order: wallet → persona → Share → Decline.
  await page.getByTestId("wallet-select").focus();
  const order = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => document.activeElement && document.activeElement.dataset.testid));
  }
  assert.deepEqual(order, ["persona-select", "share", "decline"]);

  // The binding token never reaches the DOM or the page's script: the cookie is HttpOnly, and
  // no answer the script reads carries it (checked over the whole flow, at the end).
  assert.ok(!(await page.content()).includes(token), "token not in the DOM");
  assert.equal(await page.evaluate(() => document.cookie), "", "the cookie is HttpOnly");
  await shot(page, "01-step1-identify.png");

  // -- step 1 (gate): Share → awaiting_decision, "Waiting for the business".
  await page.getByTestId("share").click();
  await waitStatus(page, "awaiting_decision");
  await waitText(page, "step-title", "Waiting for the business");
  assert.equal(await text(page, "progress"), "Step 1 of 3 done");
  assert.equal(await page.getByTestId("share").isVisible(), false, "no wallet while waiting");
  assert.equal(await page.getByTestId("return-link").isVisible(), false, "no return link while waiting");
  assert.equal((await api("GET", `/v1/sessions/${id}`)).json.status, "awaiting_decision");
  await shot(page, "02-waiting-for-business.png");

  // -- the business continues: the page (polling /state) moves to step 2 by itself.
  const cont = await api("POST", `/v1/sessions/${id}/continue`);
  assert.equal(cont.status, 200, cont.text);
  await waitStatus(page, "in_progress", 5_000);
  await waitText(page, "step-title", "Confirm you are 21 or older");
  assert.equal(await text(page, "progress"), "Step 2 of 3");
  assert.equal(await text(page, "min-age"), "21 or older");
  assert.match((await text(page, "notice")) || "", /continued the verification/);
  await shot(page, "03-step2-age.png");

  // -- Decline: nothing shared, the step stays active and can be retried.
  await page.getByTestId("decline").click();
  await waitText(page, "notice", "You declined");
  await waitText(page, "announce", "You declined"); // and said to screen readers
  assert.equal(await text(page, "status"), "in_progress");
  assert.equal(await text(page, "progress"), "Step 2 of 3");
  assert.equal(await text(page, "step-title"), "Confirm you are 21 or older");
  await shot(page, "04-step2-declined.png");

  // -- Share with Google Wallet this time → step 3, the terms in full.
  await page.getByTestId("wallet-select").selectOption("google-wallet");
  await page.getByTestId("share").click();
  await waitText(page, "step-title", "Sign: Store terms");
  assert.equal(await text(page, "status"), "in_progress");
  assert.equal(await text(page, "progress"), "Step 3 of 3");
  assert.equal(await text(page, "terms-title"), "Store terms");
  assert.equal(await text(page, "terms"), TERMS);
  assert.equal(await page.getByTestId("wallet-select").inputValue(), "google-wallet", "wallet choice kept");
  await shot(page, "05-step3-light-sign.png");

  // -- Share → completed, with a plain "Return to" link and no redirect.
  await page.getByTestId("share").click();
  await waitStatus(page, "completed");
  await waitText(page, "step-title", "All done");
  const link = page.getByTestId("return-link");
  assert.equal(await link.isVisible(), true);
  assert.equal(await link.getAttribute("href"), RETURN_URL);
  // The docs' wording: "Return to {business name}".
  assert.equal((await link.textContent()) || "", `Return to ${await text(page, "business-name")}`);
  // Every step done: the progress bar is full.
  assert.equal(await text(page, "progress"), "All 3 steps done");
  await page.waitForFunction(
    () => {
      const fill = document.getElementById("progress-fill").getBoundingClientRect().width;
      const bar = document.querySelector(".progress-bar").getBoundingClientRect().width;
      return bar > 0 && Math.abs(fill - bar) < 0.5;
    },
    null,
    { timeout: 5_000 },
  );
  await page.waitForTimeout(2_000); // anything automatic would have happened by now
  assert.equal(page.url(), session.url, "no automatic redirect");
  assert.deepEqual(offsite, [], "the page made no request off the sandbox");
  await shot(page, "06-completed.png");

  const view = await api("GET", `/v1/sessions/${id}`);
  assert.equal(view.json.status, "completed");

  // -- webhooks: step.completed 0,1,2 then session.completed, all verified, in order.
  const received = await eventually(
    async () => {
      const inbox = await api("GET", "/_sandbox/inbox");
      assert.equal(inbox.status, 200, inbox.text);
      const mine = inbox.json.received.filter((e) => JSON.parse(e.body).data.session_id === id);
      return mine.length >= 4 ? mine : null;
    },
    { timeout: 20_000, interval: 250, what: "4 webhooks in the inbox" },
  );
  assert.deepEqual(
    received.map((e) => e.delivery_id),
    [`${id}:step.completed:0`, `${id}:step.completed:1`, `${id}:step.completed:2`, `${id}:session.completed`],
  );
  assert.deepEqual(
    received.map((e) => e.event),
    ["step.completed", "step.completed", "step.completed", "session.completed"],
  );
  received.forEach((e) => assert.equal(e.verified, true, `${e.delivery_id} verified (${e.error || ""})`));
  assert.deepEqual(
    received.slice(0, 3).map((e) => JSON.parse(e.body).data.stage),
    [0, 1, 2],
  );

  // -- a second browser (new cookie jar) is refused with the 409 page.
  const other = await phoneContext();
  const page2 = await other.ctx.newPage();
  const resp2 = await page2.goto(session.url);
  assert.equal(resp2.status(), 409);
  assert.equal(await page2.getByTestId("refusal").isVisible(), true);
  assert.match((await page2.getByTestId("refusal").textContent()) || "", /another device/);
  assert.equal((await other.ctx.cookies()).length, 0, "no binding cookie for the refused browser");
  await shot(page2, "07-refusal.png");
  await other.ctx.close();

  // -- the bound browser still sees its session after a reload.
  await page.reload();
  await waitStatus(page, "completed");

  // -- an unknown id: the 404 page.
  const resp3 = await page.goto(`${BASE}/s/sess_000000000000000000000000`);
  assert.equal(resp3.status(), 404);
  assert.equal(await page.getByTestId("not-found").isVisible(), true);
  await shot(page, "08-not-found.png");

  assert.ok(!consoleLines.some((l) => l.includes(token)), "token never logged");
  const transport = answers.filter((a) => a.url.startsWith(`${BASE}/s/${id}/`));
  for (const route of ["/state", "/request", "/response"]) {
    assert.ok(transport.some((a) => a.url.includes(route)), `the page's script called ${route}`);
  }
  const leaking = answers.filter((a) => a.text.includes(token)).map((a) => a.url);
  assert.deepEqual(leaking, [], "no answer to the page carries the binding token");
  assert.deepEqual(consoleLines.filter((l) => l.startsWith("pageerror")), [], "no script errors");
  await ctx.close();
});

test("sign step: capability matrix hides Google Wallet, documents with size, SHA-256 and exact bytes", async () => {
  const docs = [
    { name: "contract.txt", type: "text/plain", bytes: Buffer.from("I, the undersigned, agree.\n") },
    { name: "annex.json", type: "application/json", bytes: Buffer.from(JSON.stringify({ price_cents: 1999 })) },
  ];
  const form = new FormData();
  form.append(
    "session",
    new Blob([JSON.stringify({ steps: [{ primitive: "sign" }], client_reference_id: "browser-test-sign" })], {
      type: "application/json",
    }),
  );
  for (const d of docs) form.append("document", new Blob([d.bytes], { type: d.type }), d.name);
  const created = await api("POST", "/v1/sessions", { form });
  assert.equal(created.status, 200, created.text);
  const session = created.json;

  const { ctx, offsite } = await phoneContext();
  const page = await ctx.newPage();
  const consoleLines = watchConsole(page);
  assert.equal((await page.goto(session.url)).status(), 200);
  await waitStatus(page, "in_progress");
  await waitText(page, "step-title", "Sign 2 documents");
  assert.equal(await text(page, "progress"), "Step 1 of 1");

  // The capability matrix (GET /v1/wallets): Google Wallet cannot sign, so it is disabled.
  const wallets = (await api("GET", "/v1/wallets", { auth: false })).json.wallets;
  const google = wallets.find((w) => w.id === "google-wallet");
  assert.ok(google && !google.primitives.includes("sign"));
  const options = await page.getByTestId("wallet-select").locator("option").evaluateAll((os) =>
    os.map((o) => [o.value, o.disabled]),
  );
  assert.deepEqual(options, [
    ["apple-wallet", false],
    ["google-wallet", true],
  ]);
  assert.equal(await page.getByTestId("wallet-select").inputValue(), "apple-wallet");

  // Each document: name, size, SHA-256 and a link to the exact bytes.
  const items = page.getByTestId("documents").locator("li");
  assert.equal(await items.count(), docs.length);
  for (let i = 0; i < docs.length; i++) {
    const item = items.nth(i);
    const t = (await item.textContent()) || "";
    assert.ok(t.includes(docs[i].name), `document ${i} name`);
    assert.ok(t.includes(`${docs[i].bytes.length} bytes`), `document ${i} size`);
    assert.ok(t.includes(`sha256:${sha256hex(docs[i].bytes)}`), `document ${i} hash`);
    const href = await item.getByTestId("document-link").getAttribute("href");
    assert.equal(href, `/s/${session.id}/documents/${i}`);
    const got = await ctx.request.get(BASE + href); // same cookie jar as the page
    assert.equal(got.status(), 200);
    assert.deepEqual(Buffer.from(await got.body()), docs[i].bytes, `document ${i} exact bytes`);
  }
  // The link opens the bytes in a new tab, for the bound browser.
  const [popup] = await Promise.all([
    page.waitForEvent("popup"),
    items.nth(0).getByTestId("document-link").click(),
  ]);
  await popup.waitForLoadState();
  assert.equal(((await popup.textContent("body")) || "").trim(), docs[0].bytes.toString().trim());
  await popup.close();
  await shot(page, "09-sign-documents.png");

  await page.getByTestId("share").click();
  await waitStatus(page, "completed");
  assert.equal(await page.getByTestId("return-link").isVisible(), false, "no return_url, no link");
  assert.deepEqual(offsite, []);
  assert.deepEqual(consoleLines.filter((l) => l.startsWith("pageerror")), []);
  await ctx.close();
});

test("failed verification shows the reason; a stop at the gate shows stopped", async () => {
  // Failure: the expired-credential persona.
  const failing = await createSession({
    steps: [{ primitive: "identify", params: { blocks: ["first_name", "portrait", "full_name"] } }],
    return_url: RETURN_URL,
  });
  const { ctx, offsite } = await phoneContext();
  const page = await ctx.newPage();
  await page.goto(failing.url);
  await waitStatus(page, "in_progress");
  // Human labels; an unknown block is shown as such; the persona's portrait renders (CSP allows data: images).
  const labels = await page.getByTestId("blocks").locator("li .label").allTextContents();
  assert.deepEqual(labels, ["First name", "Portrait photo", "full_name (not a known detail)"]);
  const portrait = page.locator('[data-block="portrait"] img');
  await eventually(() => portrait.evaluate((img) => img.complete && img.naturalWidth > 0), {
    what: "the portrait image to load",
  });
  await page.getByTestId("persona-select").selectOption("no-portrait");
  await waitText(page, "blocks", "not on this ID");
  await page.getByTestId("persona-select").selectOption("expired-credential");
  await page.getByTestId("share").click();
  await waitStatus(page, "failed");
  await waitText(page, "step-title", "Verification failed");
  assert.match((await page.locator("#result-reason").textContent()) || "", /credential_expired/);
  assert.equal(await page.getByTestId("return-link").getAttribute("href"), RETURN_URL);
  await shot(page, "10-failed.png");

  // Stop at a gate: the waiting page notices by polling.
  const gated = await createSession({
    steps: [{ primitive: "identify", gate: true }, { primitive: "age_verify" }],
  });
  await page.goto(gated.url);
  await waitStatus(page, "in_progress");
  await page.getByTestId("share").click();
  await waitStatus(page, "awaiting_decision");
  const stop = await api("POST", `/v1/sessions/${gated.id}/stop`);
  assert.equal(stop.status, 200, stop.text);
  await waitStatus(page, "stopped", 5_000);
  await waitText(page, "step-title", "Verification ended");
  assert.equal(await page.getByTestId("return-link").isVisible(), false);
  await shot(page, "11-stopped.png");
  assert.deepEqual(offsite, []);
  await ctx.close();
});

test("the business's own name; an expired session shows the expired screen", async () => {
  // A separate business, so that advancing its clock touches no other test's sessions.
  const biz = await api("POST", "/_sandbox/businesses", {
    auth: false,
    body: { name: "Corner Bakery", webhook_url: `${BASE}/_sandbox/inbox` },
  });
  assert.equal(biz.status, 200, biz.text);
  const key = biz.json.api_key;
  const res = await fetch(`${BASE}/v1/sessions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ steps: [{ primitive: "age_verify", params: { min_age: 18 } }], expires_in: 600 }),
  });
  assert.equal(res.status, 200);
  const session = await res.json();

  const { ctx, offsite } = await phoneContext();
  const page = await ctx.newPage();
  await page.goto(session.url);
  await waitStatus(page, "in_progress");
  assert.equal(await text(page, "business-name"), "Corner Bakery");
  await waitText(page, "step-title", "Confirm you are 18 or older");

  // Time runs out: the page notices on its next /state poll (every ~5 s while a step is active).
  const adv = await fetch(`${BASE}/_sandbox/clock/advance`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ seconds: 3600 }),
  });
  assert.equal(adv.status, 200);
  await waitStatus(page, "expired", 10_000);
  await waitText(page, "step-title", "This link has expired");
  assert.equal(await page.getByTestId("share").isVisible(), false);
  await shot(page, "12-expired.png");
  assert.deepEqual(offsite, []);
  await ctx.close();
});
