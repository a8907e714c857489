// What the browser tests share: the environment run.sh sets, the headless Chromium they drive, and a
// small fetch helper for the sandbox's JSON APIs.
//
// Environment: UIP_SANDBOX_URL (a running sandbox; required), UIP_API_KEY (default uip_test_sandbox),
// UIP_SCREENSHOT_DIR (default <workspace>/target/browser-screenshots), CHROMIUM_PATH (default
// Debian's /usr/bin/chromium, driven over CDP by playwright-core: no browser download).

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const BASE = (process.env.UIP_SANDBOX_URL || "").replace(/\/+$/, "");
export const DEFAULT_KEY = process.env.UIP_API_KEY || "uip_test_sandbox";
export const SHOTS = process.env.UIP_SCREENSHOT_DIR || path.resolve(HERE, "../../target/browser-screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

assert.ok(BASE, "UIP_SANDBOX_URL must point at a running sandbox (run.sh sets it)");
export const ORIGIN = new URL(BASE).origin;

/** Headless Chromium with a fresh temporary profile (removed on close); the screenshot folder exists. */
export async function launchBrowser() {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 30_000,
  });
}

/** Sends a request to the sandbox; `{status, json (null when not JSON), text}`. */
export async function request(method, p, { key, body, form } = {}) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(BASE + p, { method, headers, body: payload });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text };
}

/**
 * Polls `fn` until it returns a truthy value (a throw counts as "not yet", so `fn` may assert);
 * generous bounds, no timing assertion.
 */
export async function eventually(fn, { timeout = 20_000, interval = 150, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = new Error(`${what}: got ${JSON.stringify(v)}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${last && last.message}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A full-page screenshot into the screenshot folder. */
export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}
